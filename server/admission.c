/*
 * admission.c - the admission engine (admission.h): rules and services
 * followed from the store, the variables of DESIGN section 5, decisions
 * and what goes to the decision log.  List filtering is in
 * admission_filter.c, the shared pieces in admission_int.h.
 *
 * Locks, outermost first: build_lock (one rebuild at a time), rules_lock
 * (the rule documents), lock (a read-write lock over the compiled set and
 * the service records).  A decision holds lock for reading while it
 * builds its input, evaluates and formats its log entry, so the rule
 * names a decision points to stay valid; writers hold it only to swap a
 * pointer or update one service.  The rwlock prefers writers, so no
 * code path takes it for reading twice.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "admission_int.h"
#include "decision_log.h"
#include "hashmap.h"
#include "log.h"
#include "metrics.h"
#include "policy_tz.h"
#include "util.h"

static const char *const adm_action_names[] = {
	[ADMISSION_ACTION_FIND] = "find",
	[ADMISSION_ACTION_REGISTER] = "register",
	[ADMISSION_ACTION_UNREGISTER] = "unregister",
	[ADMISSION_ACTION_PUBLISH] = "publish",
	[ADMISSION_ACTION_CONNECT] = "connect",
};

/* The records, by name (hashmap.h; each key is its record's name). */

static struct adm_obj *
adm_map_get(const struct hashmap *m, const char *name)
{
	return hashmap_get(m, name);
}

static void
adm_obj_free(struct adm_obj *e)
{
	json_decref(e->obj);
	free(e->name);
	free(e);
}

/*
 * Record that name is obj (a borrowed rendered object, or NULL when
 * deleted) as of revision rev.  An older revision than the one known is
 * ignored, so a listing and the events that raced it agree.  Deletions
 * are kept as tombstones while loading.  Returns 0 or -1 (out of memory).
 */
static int
adm_map_put(struct hashmap *m, const char *name, int64_t rev, json_t *obj,
    int tombstones)
{
	struct adm_obj	*e;

	if ((e = hashmap_get(m, name)) != NULL) {
		if (e->rev >= rev)
			return 0;
		if (obj == NULL && !tombstones) {
			adm_obj_free(hashmap_remove(m, name));
			return 0;
		}
		json_decref(e->obj);
		e->obj = json_incref(obj);
		e->rev = rev;
		return 0;
	}
	if (obj == NULL && !tombstones)
		return 0;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	if ((e->name = strdup(name)) == NULL ||
	    hashmap_put(m, e->name, e, NULL) == -1) {
		free(e->name);
		free(e);
		return -1;
	}
	e->rev = rev;
	e->obj = json_incref(obj);
	return 0;
}

/* hashmap_filter: drop tombstones (arg NULL) or everything. */
static int
adm_map_keep(const char *name, void *v, void *all)
{
	struct adm_obj	*e = v;

	(void)name;
	if (all == NULL && e->obj != NULL)
		return 1;
	adm_obj_free(e);
	return 0;
}

static void
adm_map_purge(struct hashmap *m, int all)
{
	if (m != NULL)
		hashmap_filter(m, adm_map_keep, all ? m : NULL);
}

/* What a load listed: its mark, and the revision of its snapshot. */
struct adm_listed {
	uint64_t	mark;
	int64_t		rev;
};

/*
 * hashmap_filter: drop what a load did not list though it was known
 * before its snapshot (deleted while events were missed); what events
 * wrote after the snapshot stays.
 */
static int
adm_map_listed(const char *name, void *v, void *arg)
{
	struct adm_obj		*e = v;
	const struct adm_listed	*l = arg;

	(void)name;
	if (e->mark == l->mark || e->rev > l->rev)
		return 1;
	adm_obj_free(e);
	return 0;
}

/* The rule set. */

static int
adm_name_cmp(const void *a, const void *b)
{
	const struct adm_obj	*x = *(const struct adm_obj *const *)a;
	const struct adm_obj	*y = *(const struct adm_obj *const *)b;

	return strcmp(x->name, y->name);
}

/*
 * The stored rules failed to compile together (a rule stored by another
 * version, say).  Leave out the rules that do not check; but if one of
 * them is an enforcing forbid, deny everything: failing open is not an
 * option.
 */
static struct policy_set *
adm_build_fallback(struct admission *a, const json_t *rules)
{
	struct policy_error	 perr;
	const json_t		*r;
	json_t			*ok;
	struct policy_set	*set;
	const char		*effect, *mode, *name;
	size_t			 i;

	if ((ok = json_array()) == NULL)
		return NULL;
	json_array_foreach(rules, i, r) {
		if (policy_rule_check(r, &a->popt, &perr) == 0) {
			json_array_append(ok, (json_t *)r);
			continue;
		}
		name = json_string_value(json_object_get(r, "name"));
		effect = json_string_value(json_object_get(r, "effect"));
		mode = json_string_value(json_object_get(r, "mode"));
		log_warnx("msg=\"stored policy does not compile\" policy=%s "
		    "detail=\"%s\"", name != NULL ? name : "-", perr.message);
		if ((effect == NULL || strcmp(effect, "permit") != 0) &&
		    (mode == NULL || strcmp(mode, "audit") != 0)) {
			log_warnx("msg=\"a forbid rule cannot be compiled: "
			    "denying every request until it is fixed\" "
			    "policy=%s", name != NULL ? name : "-");
			json_array_clear(ok);
			break;
		}
	}
	set = policy_set_build(ok, &a->popt, NULL);
	json_decref(ok);
	return set;
}

static void
adm_shape_of(const json_t *rules, struct adm_shape *sh)
{
	const json_t	*r, *v;
	const char	*cond;
	size_t		 i, j;
	int		 find;

	memset(sh, 0, sizeof(*sh));
	json_array_foreach(rules, i, r) {
		find = 0;
		json_array_foreach(json_object_get(r, "actions"), j, v)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), "find") == 0)
				find = 1;
		if (!find)
			continue;
		if (json_object_get(r, "services") != NULL)
			sh->find_scoped = 1;
		cond = json_string_value(json_object_get(r, "condition"));
		if (cond == NULL)
			continue;
		if (strstr(cond, "service") != NULL)
			sh->find_service = 1;
		if (strstr(cond, "endpoint") != NULL)
			sh->find_endpoint = 1;
	}
}

void
adm_rebuild(struct admission *a)
{
	struct policy_error	  perr;
	struct adm_obj		**v = NULL, *e;
	struct policy_set	 *set, *old;
	struct adm_shape	  shape;
	json_t			 *rules = NULL;
	const char		 *name;
	void			 *ev;
	uint_fast64_t		  gen;
	size_t			  i, n = 0, pos;

	pthread_mutex_lock(&a->build_lock);
	gen = atomic_load(&a->rules_gen);
	if (gen == atomic_load(&a->built_gen))
		goto out;
	if ((rules = json_array()) == NULL)
		goto oom;
	pthread_mutex_lock(&a->rules_lock);
	if (hashmap_count(a->rules) > 0 && (v = calloc(hashmap_count(
	    a->rules), sizeof(*v))) == NULL) {
		pthread_mutex_unlock(&a->rules_lock);
		goto oom;
	}
	pos = 0;
	while (hashmap_next(a->rules, &pos, &name, &ev))
		if ((e = ev)->obj != NULL)
			v[n++] = e;
	if (n > 1)
		qsort(v, n, sizeof(*v), adm_name_cmp);
	for (i = 0; i < n; i++)
		json_array_append(rules, v[i]->obj);
	pthread_mutex_unlock(&a->rules_lock);
	if ((set = policy_set_build(rules, &a->popt, &perr)) == NULL) {
		log_warnx("msg=\"stored policies do not compile together\" "
		    "field=%s detail=\"%s\"", perr.field[0] ? perr.field : "-",
		    perr.message);
		set = adm_build_fallback(a, rules);
	}
	if (set == NULL)
		goto oom;
	adm_shape_of(rules, &shape);
	pthread_rwlock_wrlock(&a->lock);
	old = a->set;
	a->set = set;
	a->shape = shape;
	pthread_rwlock_unlock(&a->lock);
	atomic_store(&a->built_gen, gen);
	policy_set_free(old);
	log_info("msg=\"policies loaded\" rules=%zu", policy_set_count(set));
	goto out;
oom:
	/* The old set stays; the next decision tries again. */
	log_warnx("msg=\"cannot rebuild the rule set\" error=\"out of "
	    "memory\"");
out:
	pthread_mutex_unlock(&a->build_lock);
	free(v);
	json_decref(rules);
}


void
admission_sync(struct admission *a)
{
	adm_refresh(a);
}

size_t
admission_rule_count(struct admission *a)
{
	size_t	n;

	adm_refresh(a);
	pthread_rwlock_rdlock(&a->lock);
	n = policy_set_count(a->set);
	pthread_rwlock_unlock(&a->lock);
	return n;
}

const struct policy_options *
admission_policy_options(struct admission *a)
{
	return &a->popt;
}

/* Following the store. */

void
admission_store_event(const struct store_event *ev, void *arg)
{
	struct admission	*a = arg;
	json_t			*obj;
	int			 rc, tomb;

	obj = ev->type == STORE_DELETED ? NULL : ev->object;
	tomb = atomic_load(&a->loading);
	switch (ev->kind) {
	case STORE_SERVICE:
		pthread_rwlock_wrlock(&a->lock);
		rc = adm_map_put(a->services, ev->name, ev->revision, obj,
		    tomb);
		pthread_rwlock_unlock(&a->lock);
		break;
	case STORE_POLICY:
		pthread_mutex_lock(&a->rules_lock);
		rc = adm_map_put(a->rules, ev->name, ev->revision, obj, tomb);
		pthread_mutex_unlock(&a->rules_lock);
		atomic_fetch_add(&a->rules_gen, 1);
		break;
	default:
		return;
	}
	if (rc == -1)
		log_warnx("msg=\"admission: out of memory following the "
		    "store\" kind=%s name=%s", store_kind_name(ev->kind),
		    ev->name);
}

static int
adm_load_kind(struct admission *a, enum store_kind kind, int64_t now,
    struct nsreg_error *err)
{
	struct store_query	 q;
	struct adm_listed	 l;
	struct adm_obj		*e;
	struct hashmap		*m;
	json_t			*items = NULL, *o;
	const char		*name;
	int64_t			 rev;
	size_t			 i;
	int			 more = 0, rc = 0;

	memset(&q, 0, sizeof(q));
	q.kind = kind;
	if (store_list(a->store, &q, now, &items, &l.rev, &more, err) == -1)
		return -1;
	l.mark = ++a->load_mark;
	m = kind == STORE_SERVICE ? a->services : a->rules;
	if (kind == STORE_SERVICE)
		pthread_rwlock_wrlock(&a->lock);
	else
		pthread_mutex_lock(&a->rules_lock);
	json_array_foreach(items, i, o) {
		name = json_string_value(json_object_get(o, "name"));
		rev = json_integer_value(json_object_get(o, "revision"));
		if (name == NULL)
			continue;
		if ((rc = adm_map_put(m, name, rev, o, 1)) == -1)
			break;
		if ((e = adm_map_get(m, name)) != NULL)
			e->mark = l.mark;
	}
	/* A load again after missed events forgets what was deleted. */
	if (rc == 0)
		hashmap_filter(m, adm_map_listed, &l);
	if (kind == STORE_SERVICE)
		pthread_rwlock_unlock(&a->lock);
	else
		pthread_mutex_unlock(&a->rules_lock);
	json_decref(items);
	if (rc == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	return 0;
}

int
admission_load(struct admission *a, int64_t now, struct nsreg_error *err)
{
	int	rc;

	atomic_store(&a->loading, 1);
	rc = adm_load_kind(a, STORE_POLICY, now, err);
	if (rc == 0)
		rc = adm_load_kind(a, STORE_SERVICE, now, err);
	pthread_rwlock_wrlock(&a->lock);
	pthread_mutex_lock(&a->rules_lock);
	atomic_store(&a->loading, 0);
	adm_map_purge(a->services, 0);
	adm_map_purge(a->rules, 0);
	pthread_mutex_unlock(&a->rules_lock);
	pthread_rwlock_unlock(&a->lock);
	atomic_fetch_add(&a->rules_gen, 1);
	adm_refresh(a);
	return rc;
}

struct admission *
admission_new(struct store *store, struct metrics *metrics,
    struct decision_log *log, struct nsreg_error *err)
{
	struct admission	*a;
	pthread_rwlockattr_t	 ra;
	json_t			*none;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto oom;
	a->store = store;
	a->metrics = metrics;
	a->log = log;
	if ((a->tzdb = policy_tzdb_new(NULL)) == NULL) {
		free(a);
		goto oom;
	}
	a->popt.tz = policy_tzdb_tz(a->tzdb);
	none = json_array();
	a->set = none != NULL ? policy_set_build(none, &a->popt, NULL) : NULL;
	json_decref(none);
	a->services = hashmap_new();
	a->rules = hashmap_new();
	if (a->set == NULL || a->services == NULL || a->rules == NULL) {
		policy_set_free(a->set);
		hashmap_free(a->services);
		hashmap_free(a->rules);
		policy_tzdb_free(a->tzdb);
		free(a);
		goto oom;
	}
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&a->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&a->rules_lock, NULL);
	pthread_mutex_init(&a->build_lock, NULL);
	return a;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
	return NULL;
}

void
admission_free(struct admission *a)
{
	if (a == NULL)
		return;
	policy_set_free(a->set);
	adm_map_purge(a->services, 1);
	adm_map_purge(a->rules, 1);
	hashmap_free(a->services);
	hashmap_free(a->rules);
	policy_tzdb_free(a->tzdb);
	pthread_rwlock_destroy(&a->lock);
	pthread_mutex_destroy(&a->rules_lock);
	pthread_mutex_destroy(&a->build_lock);
	free(a);
}

/* The variables of a condition. */

void
adm_ctx_init(struct adm_ctx *c, const struct principal *p,
    const char *remote_addr, int64_t now, const json_t *labels,
    const char *action)
{
	memset(c, 0, sizeof(*c));
	c->principal.id = p->id[0] != '\0' ? p->id : NULL;
	c->principal.trust_domain = p->trust_domain[0] != '\0' ?
	    p->trust_domain : NULL;
	c->principal.path = p->id[0] != '\0' ? principal_path(p) : NULL;
	c->principal.auth = principal_auth_name(p->auth);
	c->principal.claims = p->claims;
	c->principal.expires_at = p->expires_at;
	c->request.labels = labels;
	c->request.time = now;
	c->request.remote_addr = remote_addr != NULL && remote_addr[0] !=
	    '\0' ? remote_addr : NULL;
	if (p->origin != NULL && p->origin->id[0] != '\0') {
		c->origin.id = p->origin->id;
		c->origin.trust_domain = p->origin->trust_domain;
		c->origin.path = principal_path(p->origin);
		c->origin.auth = principal_auth_name(p->origin->auth);
		c->origin.claims = p->origin->claims;
		c->origin.expires_at = p->origin->expires_at;
		c->request.origin = &c->origin;
		c->origin_id = c->origin.id;
	}
	c->action = action;
	c->principal_id = c->principal.id;
	c->time = now;
}

/*
 * The "service" variable: the record given, else the stored one (lock
 * held), else only the name.
 */
static void
adm_service(struct admission *a, const char *name, const json_t *obj,
    struct policy_service *out)
{
	const struct adm_obj	*e;

	if (obj == NULL && (e = adm_map_get(a->services, name)) != NULL)
		obj = e->obj;
	out->name = name;
	out->payload = json_string_value(json_object_get(obj, "payload"));
	out->labels = json_object_get(obj, "labels");
	out->vl3 = json_object_get(obj, "vl3");
}

/* The "endpoint" variable from a rendered record (or only a name). */
static void
adm_endpoint(const char *name, const json_t *obj, const char *service,
    struct policy_endpoint *out)
{
	const char	*s;
	int64_t		 t;

	memset(out, 0, sizeof(*out));
	s = json_string_value(json_object_get(obj, "name"));
	out->name = s != NULL ? s : name;
	out->url = json_string_value(json_object_get(obj, "url"));
	out->network_service_names = json_object_get(obj,
	    "network_service_names");
	out->owner = json_string_value(json_object_get(obj, "owner"));
	if (service != NULL)
		out->labels = json_object_get(json_object_get(obj,
		    "network_service_labels"), service);
	s = json_string_value(json_object_get(obj, "expiration_time"));
	if (s != NULL && util_rfc3339_parse(s, &t) == 0)
		out->expiration_time = t;
}

/*
 * Decide one (service, endpoint) pair with the lock held.  Returns 1
 * allow, 0 deny.
 */
int
adm_decide(struct admission *a, const struct adm_ctx *c, const char *svc,
    const json_t *svc_obj, const char *ep, const json_t *ep_obj,
    struct policy_decision *d)
{
	struct policy_service	s;
	struct policy_endpoint	e;
	struct policy_input	in;

	in.principal = &c->principal;
	in.action = c->action;
	in.request = &c->request;
	in.service = NULL;
	in.endpoint = NULL;
	if (svc != NULL) {
		adm_service(a, svc, svc_obj, &s);
		in.service = &s;
	}
	if (ep != NULL || ep_obj != NULL) {
		adm_endpoint(ep, ep_obj, svc, &e);
		in.endpoint = &e;
	}
	if (policy_set_decide(a->set, &in, d) == -1)
		d->allow = 0;
	return d->allow;
}


void
adm_log(struct admission *a, const struct adm_ctx *c, const char *svc,
    const char *ep, const char *grant, const struct policy_decision *d,
    int flags)
{
	struct decision_log_entry	e;

	if (a->log == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.time = c->time;
	e.principal = c->principal_id;
	e.origin = c->origin_id;
	e.action = c->action;
	e.service = svc;
	e.endpoint = ep;
	e.grant = grant;
	e.protocol = c->request.protocol;
	e.decision = d;
	e.bypass = (flags & ADM_LOG_BYPASS) != 0;
	/* Reads repeat by the thousand: identical finds fold. */
	e.coalesce = (flags & ADM_LOG_COALESCE) != 0 ||
	    strcmp(c->action, "find") == 0;
	decision_log_add(a->log, &e);
}

static json_t *
adm_bypass_json(void)
{
	return json_pack("{s:s, s:[s], s:[], s:[], s:b}", "decision",
	    "allow", "reasons", "admin", "errors", "audit", "bypass", 1);
}

/* The 403 message: which rules forbade, or that none permitted. */
static int
adm_denied(struct nsreg_error *err, const struct adm_ctx *c,
    const char *svc, const char *ep, const struct policy_decision *d)
{
	char	why[256], what[600];
	size_t	i, n, o = 0;

	what[0] = '\0';
	if (svc != NULL || ep != NULL)
		snprintf(what, sizeof(what), " (%s%s%s%s%s)",
		    svc != NULL ? "service " : "", svc != NULL ? svc : "",
		    svc != NULL && ep != NULL ? ", " : "",
		    ep != NULL ? "endpoint " : "", ep != NULL ? ep : "");
	n = d->n_reasons < POLICY_DECISION_ITEMS ? d->n_reasons :
	    POLICY_DECISION_ITEMS;
	if (n > 0) {
		o = (size_t)snprintf(why, sizeof(why), "forbidden by");
		for (i = 0; i < n && o < sizeof(why); i++)
			o += (size_t)snprintf(why + o, sizeof(why) - o,
			    "%s %s", i > 0 ? "," : "", d->reasons[i]);
	} else
		snprintf(why, sizeof(why), "no policy permits it");
	return nsreg_error_set(err, NSREG_PERMISSION_DENIED, NULL,
	    "%s denied%s: %s%s%s%s%s", c->action, what, why,
	    d->n_errors > 0 ? "; policy " : "",
	    d->n_errors > 0 && d->errors[0].policy != NULL ?
	    d->errors[0].policy : "",
	    d->n_errors > 0 ? " failed: " : "",
	    d->n_errors > 0 ? d->errors[0].message : "");
}

/* The services an endpoint record offers (a JSON array or NULL). */
const json_t *
adm_offered(const json_t *ep_obj)
{
	const json_t	*names;

	names = json_object_get(ep_obj, "network_service_names");
	return json_array_size(names) > 0 ? names : NULL;
}

int
admission_authorize(struct admission *a, const struct admission_caller *cl,
    enum admission_action action, const struct admission_subject *subj,
    json_t **decision, struct nsreg_error *err)
{
	const struct principal	*p = cl->principal;
	struct policy_decision	 d, first;
	struct adm_ctx		 c;
	const json_t		*offered = NULL;
	const char		*svc, *ep, *svc_first = NULL;
	size_t			 i, n;
	int			 allow = 0, any, have_first = 0;

	if (decision != NULL)
		*decision = NULL;
	adm_ctx_init(&c, p, cl->remote_addr, cl->now, subj->labels,
	    adm_action_names[action]);
	c.request.protocol = cl->protocol;
	c.request.nsm_path = cl->nsm_path;
	ep = subj->endpoint;
	if (ep == NULL)
		ep = json_string_value(json_object_get(subj->endpoint_obj,
		    "name"));
	if (p->admin) {
		metrics_decision(a->metrics, c.action, 1);
		adm_log(a, &c, subj->service, ep, subj->grant, NULL,
		    ADM_LOG_BYPASS);
		if (decision != NULL)
			*decision = adm_bypass_json();
		return 0;
	}
	adm_refresh(a);
	if (subj->service == NULL)
		offered = adm_offered(subj->endpoint_obj);
	pthread_rwlock_rdlock(&a->lock);
	if (offered == NULL) {
		svc = subj->service;
		allow = adm_decide(a, &c, svc, subj->service_obj, ep,
		    subj->endpoint_obj, &d);
		metrics_decision(a->metrics, c.action, allow);
		adm_log(a, &c, svc, ep, subj->grant, &d, 0);
	} else {
		/*
		 * An endpoint offering several services: find it when one
		 * of them may be found; register or unregister it when
		 * every one of them may.
		 */
		any = action == ADMISSION_ACTION_FIND;
		n = json_array_size(offered);
		svc = NULL;
		for (i = 0; i < n; i++) {
			svc = json_string_value(json_array_get(offered, i));
			if (svc == NULL)
				continue;
			allow = adm_decide(a, &c, svc, NULL, ep,
			    subj->endpoint_obj, &d);
			metrics_decision(a->metrics, c.action, allow);
			if (any && allow)
				break;
			if (!any) {
				adm_log(a, &c, svc, ep, subj->grant, &d, 0);
				if (!allow)
					break;
			} else if (!have_first) {
				first = d;
				have_first = 1;
				svc_first = svc;
			}
		}
		if (any && !allow && have_first) {
			d = first;
			svc = svc_first;
		}
		if (any && (allow || have_first))
			adm_log(a, &c, svc, ep, subj->grant, &d, 0);
		if (svc == NULL) {
			/* No service named at all: decide about none. */
			allow = adm_decide(a, &c, NULL, NULL, ep,
			    subj->endpoint_obj, &d);
			metrics_decision(a->metrics, c.action, allow);
			adm_log(a, &c, NULL, ep, subj->grant, &d, 0);
		}
	}
	if (decision != NULL)
		*decision = policy_decision_json(&d);
	if (!allow)
		adm_denied(err, &c, svc, ep, &d);
	pthread_rwlock_unlock(&a->lock);
	return allow ? 0 : -1;
}

int
admission_service(struct admission *a, const char *name, json_t **rendered,
    int64_t *revision, struct nsreg_error *err)
{
	const struct adm_obj	*e;
	int			 rc = -1;

	*rendered = NULL;
	pthread_rwlock_rdlock(&a->lock);
	if ((e = adm_map_get(a->services, name)) != NULL && e->obj != NULL) {
		*rendered = json_incref(e->obj);
		*revision = e->rev;
		rc = 0;
	}
	pthread_rwlock_unlock(&a->lock);
	if (rc == -1)
		nsreg_error_set(err, NSREG_NOT_FOUND, "service",
		    "service %s not found", name);
	return rc;
}

int
admission_evaluate(struct admission *a, const struct admission_query *q,
    json_t **decision, struct nsreg_error *err)
{
	struct policy_service	 ps;
	struct policy_endpoint	 pe;
	struct policy_input	 in;
	struct policy_decision	 d;
	const struct adm_obj	*e;
	const json_t		*svc_obj = q->service_obj;
	const char		*svc_name = q->service;
	int			 rc = -1;

	*decision = NULL;
	in.principal = q->principal;
	in.action = q->action;
	in.request = q->request;
	in.service = NULL;
	in.endpoint = NULL;
	adm_refresh(a);
	pthread_rwlock_rdlock(&a->lock);
	if (svc_name != NULL) {
		/* A stored service by name: absent, it is null. */
		if (svc_obj == NULL &&
		    (e = adm_map_get(a->services, svc_name)) != NULL &&
		    e->obj != NULL)
			svc_obj = e->obj;
		if (svc_obj != NULL) {
			adm_service(a, svc_name, svc_obj, &ps);
			in.service = &ps;
		} else
			svc_name = NULL;
	}
	if (q->endpoint_obj != NULL) {
		adm_endpoint(q->endpoint, q->endpoint_obj, svc_name, &pe);
		in.endpoint = &pe;
	}
	if (policy_set_decide(a->set, &in, &d) == -1) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "the request cannot be decided");
		goto out;
	}
	if ((*decision = policy_decision_json(&d)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	pthread_rwlock_unlock(&a->lock);
	return rc;
}
