/*
 * admission.c - the admission engine (admission.h): rules and services
 * followed from the store, the variables of DESIGN section 5, decisions,
 * list filtering and what goes to the decision log.
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
#include "decision_log.h"
#include "log.h"
#include "metrics.h"
#include "policy_tz.h"
#include "spiffe.h"
#include "util.h"
#include "validate.h"

#define ADM_HIDDEN_LOG_MAX	16	/* hidden items logged per list */
#define ADM_SUMMARY_MAX		8	/* names a list summary keeps */
#define ADM_ADDR_MAX		64	/* a numeric address and a port */

static const char *const adm_action_names[] = {
	[ADMISSION_ACTION_FIND] = "find",
	[ADMISSION_ACTION_REGISTER] = "register",
	[ADMISSION_ACTION_UNREGISTER] = "unregister",
	[ADMISSION_ACTION_PUBLISH] = "publish",
	[ADMISSION_ACTION_CONNECT] = "connect",
};

/* A stored object kept in memory, by name. */
struct adm_obj {
	char		*name;
	int64_t		 rev;
	json_t		*obj;		/* rendered; NULL: deleted (loading) */
	struct adm_obj	*next;
};

struct adm_map {
	struct adm_obj	**b;
	size_t		  nb;		/* power of two */
	size_t		  n;
};

/*
 * What the rules for "find" look at, so that a list whose items cannot
 * change the decision is decided once instead of item by item.  Found
 * by scanning the rules' text: a mention anywhere counts (conservative).
 */
struct adm_shape {
	int	find_scoped;	/* a find rule names services */
	int	find_service;	/* a find condition mentions "service" */
	int	find_endpoint;	/* ... "endpoint" */
};

struct admission {
	struct store		*store;
	struct metrics		*metrics;
	struct decision_log	*log;
	struct policy_tzdb	*tzdb;
	struct policy_options	 popt;

	pthread_rwlock_t	 lock;		/* set, shape, services */
	struct policy_set	*set;
	struct adm_shape	 shape;
	struct adm_map		 services;

	pthread_mutex_t		 rules_lock;	/* rules */
	struct adm_map		 rules;
	pthread_mutex_t		 build_lock;
	atomic_uint_fast64_t	 rules_gen;	/* bumped by every change */
	atomic_uint_fast64_t	 built_gen;	/* what set was built from */
	atomic_int		 loading;	/* keep tombstones */
};

/* The map. */

static uint64_t
adm_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct adm_obj *
adm_map_get(const struct adm_map *m, const char *name)
{
	struct adm_obj	*e;

	if (m->nb == 0)
		return NULL;
	for (e = m->b[adm_hash(name) & (m->nb - 1)]; e != NULL; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static int
adm_map_grow(struct adm_map *m)
{
	struct adm_obj	**nb, *e, *next;
	size_t		  n = m->nb != 0 ? m->nb * 2 : 64, i, h;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e != NULL; e = next) {
			next = e->next;
			h = adm_hash(e->name) & (n - 1);
			e->next = nb[h];
			nb[h] = e;
		}
	free(m->b);
	m->b = nb;
	m->nb = n;
	return 0;
}

static void
adm_map_remove(struct adm_map *m, const char *name)
{
	struct adm_obj	**pp, *e;

	if (m->nb == 0)
		return;
	for (pp = &m->b[adm_hash(name) & (m->nb - 1)]; (e = *pp) != NULL;
	    pp = &e->next)
		if (strcmp(e->name, name) == 0) {
			*pp = e->next;
			json_decref(e->obj);
			free(e->name);
			free(e);
			m->n--;
			return;
		}
}

/*
 * Record that name is obj (a borrowed rendered object, or NULL when
 * deleted) as of revision rev.  An older revision than the one known is
 * ignored, so a listing and the events that raced it agree.  Deletions
 * are kept as tombstones while loading.  Returns 0 or -1 (out of memory).
 */
static int
adm_map_put(struct adm_map *m, const char *name, int64_t rev, json_t *obj,
    int tombstones)
{
	struct adm_obj	*e;
	size_t		 h;

	if ((e = adm_map_get(m, name)) != NULL) {
		if (e->rev >= rev)
			return 0;
		if (obj == NULL && !tombstones) {
			adm_map_remove(m, name);
			return 0;
		}
		json_decref(e->obj);
		e->obj = json_incref(obj);
		e->rev = rev;
		return 0;
	}
	if (obj == NULL && !tombstones)
		return 0;
	if ((m->n + 1) * 2 > m->nb && adm_map_grow(m) == -1)
		return -1;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	if ((e->name = strdup(name)) == NULL) {
		free(e);
		return -1;
	}
	e->rev = rev;
	e->obj = json_incref(obj);
	h = adm_hash(name) & (m->nb - 1);
	e->next = m->b[h];
	m->b[h] = e;
	m->n++;
	return 0;
}

static void
adm_map_purge(struct adm_map *m, int all)
{
	struct adm_obj	**pp, *e;
	size_t		  i;

	for (i = 0; i < m->nb; i++)
		for (pp = &m->b[i]; (e = *pp) != NULL;) {
			if (!all && e->obj != NULL) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			json_decref(e->obj);
			free(e->name);
			free(e);
			m->n--;
		}
	if (all) {
		free(m->b);
		m->b = NULL;
		m->nb = 0;
	}
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

static void
adm_rebuild(struct admission *a)
{
	struct policy_error	  perr;
	struct adm_obj		**v = NULL, *e;
	struct policy_set	 *set, *old;
	struct adm_shape	  shape;
	json_t			 *rules = NULL;
	uint_fast64_t		  gen;
	size_t			  i, n = 0;

	pthread_mutex_lock(&a->build_lock);
	gen = atomic_load(&a->rules_gen);
	if (gen == atomic_load(&a->built_gen))
		goto out;
	if ((rules = json_array()) == NULL)
		goto oom;
	pthread_mutex_lock(&a->rules_lock);
	if (a->rules.n > 0 && (v = calloc(a->rules.n, sizeof(*v))) == NULL) {
		pthread_mutex_unlock(&a->rules_lock);
		goto oom;
	}
	for (i = 0; i < a->rules.nb; i++)
		for (e = a->rules.b[i]; e != NULL; e = e->next)
			if (e->obj != NULL)
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

/* Rebuild when a policy changed since the set was built. */
static void
adm_refresh(struct admission *a)
{
	if (atomic_load_explicit(&a->rules_gen, memory_order_acquire) !=
	    atomic_load_explicit(&a->built_gen, memory_order_acquire))
		adm_rebuild(a);
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
		rc = adm_map_put(&a->services, ev->name, ev->revision, obj,
		    tomb);
		pthread_rwlock_unlock(&a->lock);
		break;
	case STORE_POLICY:
		pthread_mutex_lock(&a->rules_lock);
		rc = adm_map_put(&a->rules, ev->name, ev->revision, obj, tomb);
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
	json_t			*items = NULL, *o;
	const char		*name;
	int64_t			 rev;
	size_t			 i;
	int			 more = 0, rc = 0;

	memset(&q, 0, sizeof(q));
	q.kind = kind;
	if (store_list(a->store, &q, now, &items, &rev, &more, err) == -1)
		return -1;
	json_array_foreach(items, i, o) {
		name = json_string_value(json_object_get(o, "name"));
		rev = json_integer_value(json_object_get(o, "revision"));
		if (name == NULL)
			continue;
		if (kind == STORE_SERVICE) {
			pthread_rwlock_wrlock(&a->lock);
			rc = adm_map_put(&a->services, name, rev, o, 1);
			pthread_rwlock_unlock(&a->lock);
		} else {
			pthread_mutex_lock(&a->rules_lock);
			rc = adm_map_put(&a->rules, name, rev, o, 1);
			pthread_mutex_unlock(&a->rules_lock);
		}
		if (rc == -1)
			break;
	}
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
	adm_map_purge(&a->services, 0);
	adm_map_purge(&a->rules, 0);
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
	if (a->set == NULL) {
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
	adm_map_purge(&a->services, 1);
	adm_map_purge(&a->rules, 1);
	policy_tzdb_free(a->tzdb);
	pthread_rwlock_destroy(&a->lock);
	pthread_mutex_destroy(&a->rules_lock);
	pthread_mutex_destroy(&a->build_lock);
	free(a);
}

/* The variables of a condition. */

/* What stays the same for every decision of one request. */
struct adm_ctx {
	struct policy_principal	 principal;
	struct policy_request	 request;
	const char		*action;
	const char		*principal_id;	/* for the log, NULL: none */
	int64_t			 time;
};

static void
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

	if (obj == NULL && (e = adm_map_get(&a->services, name)) != NULL)
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
static int
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

#define ADM_LOG_BYPASS		0x01
#define ADM_LOG_COALESCE	0x02	/* made by a list or watch */

static void
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
	e.action = c->action;
	e.service = svc;
	e.endpoint = ep;
	e.grant = grant;
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
static const json_t *
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
	if ((e = adm_map_get(&a->services, name)) != NULL && e->obj != NULL) {
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

/* List filtering. */

/* What a list's summary entry reports, copied out of the rule set. */
struct adm_summary {
	size_t	n_reasons;
	char	reasons[ADM_SUMMARY_MAX][POLICY_NAME_MAX + 1];
	size_t	n_errors;
	struct {
		char	policy[POLICY_NAME_MAX + 1];
		char	message[POLICY_DECISION_MESSAGE_MAX];
	} errors[ADM_SUMMARY_MAX];
	size_t	n_audit;
	struct {
		char	policy[POLICY_NAME_MAX + 1];
		int	forbid;
		int	matched;
	} audit[ADM_SUMMARY_MAX];
};

struct adm_filter {
	struct admission	*a;
	enum store_kind		 kind;
	int			(*inner)(const json_t *, void *);
	void			*inner_arg;
	void			(*inner_free)(void *);
	struct principal	 principal;
	char			 remote_addr[ADM_ADDR_MAX];
	int64_t			 time;
	char			*services[64];
	size_t			 nservices;
	int64_t			 found;
	int64_t			 hidden;
	struct adm_summary	 sum;
};

static void
adm_copy_name(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static void
adm_summary_add(struct adm_summary *s, const struct policy_decision *d)
{
	size_t	i, j, n;

	n = d->n_reasons < POLICY_DECISION_ITEMS ? d->n_reasons :
	    POLICY_DECISION_ITEMS;
	for (i = 0; i < n; i++) {
		for (j = 0; j < s->n_reasons; j++)
			if (strcmp(s->reasons[j], d->reasons[i]) == 0)
				break;
		if (j == s->n_reasons && j < ADM_SUMMARY_MAX)
			adm_copy_name(s->reasons[s->n_reasons++],
			    sizeof(s->reasons[0]), d->reasons[i]);
	}
	n = d->n_errors < POLICY_DECISION_ITEMS ? d->n_errors :
	    POLICY_DECISION_ITEMS;
	for (i = 0; i < n; i++) {
		for (j = 0; j < s->n_errors; j++)
			if (d->errors[i].policy != NULL &&
			    strcmp(s->errors[j].policy,
			    d->errors[i].policy) == 0)
				break;
		if (j == s->n_errors && j < ADM_SUMMARY_MAX) {
			adm_copy_name(s->errors[j].policy,
			    sizeof(s->errors[j].policy), d->errors[i].policy);
			adm_copy_name(s->errors[j].message,
			    sizeof(s->errors[j].message),
			    d->errors[i].message);
			s->n_errors++;
		}
	}
	n = d->n_audit < POLICY_DECISION_ITEMS ? d->n_audit :
	    POLICY_DECISION_ITEMS;
	for (i = 0; i < n; i++) {
		for (j = 0; j < s->n_audit; j++)
			if (strcmp(s->audit[j].policy, d->audit[i].policy) == 0)
				break;
		if (j == s->n_audit) {
			if (j == ADM_SUMMARY_MAX)
				continue;
			adm_copy_name(s->audit[j].policy,
			    sizeof(s->audit[j].policy), d->audit[i].policy);
			s->audit[j].forbid = d->audit[i].forbid;
			s->n_audit++;
		}
		s->audit[j].matched |= d->audit[i].matched;
	}
}

static int
adm_filter_match(const json_t *o, void *arg)
{
	struct adm_filter	*f = arg;
	struct admission	*a = f->a;
	struct policy_decision	 d;
	struct adm_ctx		 c;
	const json_t		*offered = NULL;
	const char		*name, *svc = NULL, *first = NULL;
	size_t			 i, n;
	int			 allow = 0;

	if (f->inner != NULL && f->inner(o, f->inner_arg) != 1)
		return 0;
	if ((name = json_string_value(json_object_get(o, "name"))) == NULL)
		return 0;
	adm_refresh(a);
	adm_ctx_init(&c, &f->principal, f->remote_addr, util_now_ms(), NULL,
	    "find");
	c.time = f->time;
	pthread_rwlock_rdlock(&a->lock);
	if (f->kind == STORE_SERVICE) {
		svc = name;
		allow = adm_decide(a, &c, name, o, NULL, NULL, &d);
		metrics_decision(a->metrics, "find", allow);
	} else {
		n = f->nservices;
		if (n == 0 && (offered = adm_offered(o)) != NULL)
			n = json_array_size(offered);
		if (n == 0) {
			allow = adm_decide(a, &c, NULL, NULL, name, o, &d);
			metrics_decision(a->metrics, "find", allow);
		}
		for (i = 0; i < n && !allow; i++) {
			svc = offered != NULL ? json_string_value(
			    json_array_get(offered, i)) : f->services[i];
			if (svc == NULL)
				continue;
			if (first == NULL)
				first = svc;
			allow = adm_decide(a, &c, svc, NULL, name, o, &d);
			metrics_decision(a->metrics, "find", allow);
		}
		if (!allow && first != NULL && n > 1) {
			/* Report the first service's decision. */
			svc = first;
			adm_decide(a, &c, svc, NULL, name, o, &d);
		}
	}
	if (allow) {
		f->found++;
		adm_summary_add(&f->sum, &d);
	} else {
		f->hidden++;
		if (f->hidden <= ADM_HIDDEN_LOG_MAX)
			adm_log(a, &c, svc, f->kind == STORE_ENDPOINT ? name :
			    NULL, NULL, &d, ADM_LOG_COALESCE);
	}
	pthread_rwlock_unlock(&a->lock);
	return allow;
}

static void
adm_filter_free(void *arg)
{
	struct adm_filter		*f = arg;
	struct adm_summary		*s = &f->sum;
	struct decision_log_entry	 e;
	struct policy_decision		 d;
	size_t				 i;

	if (f->a->log != NULL) {
		memset(&d, 0, sizeof(d));
		d.allow = 1;
		d.n_reasons = s->n_reasons;
		for (i = 0; i < s->n_reasons; i++)
			d.reasons[i] = s->reasons[i];
		d.n_errors = s->n_errors;
		for (i = 0; i < s->n_errors; i++) {
			d.errors[i].policy = s->errors[i].policy;
			adm_copy_name(d.errors[i].message,
			    sizeof(d.errors[i].message), s->errors[i].message);
		}
		d.n_audit = s->n_audit;
		for (i = 0; i < s->n_audit; i++) {
			d.audit[i].policy = s->audit[i].policy;
			d.audit[i].forbid = s->audit[i].forbid;
			d.audit[i].matched = s->audit[i].matched;
		}
		memset(&e, 0, sizeof(e));
		e.time = f->time;
		e.principal = f->principal.id[0] != '\0' ? f->principal.id :
		    NULL;
		e.action = "find";
		e.service = f->nservices > 0 ? f->services[0] : NULL;
		e.decision = &d;
		e.list = 1;
		e.list_found = f->found;
		e.list_hidden = f->hidden;
		e.coalesce = 1;
		decision_log_add(f->a->log, &e);
	}
	if (f->inner_free != NULL)
		f->inner_free(f->inner_arg);
	for (i = 0; i < f->nservices; i++)
		free(f->services[i]);
	principal_clear(&f->principal);
	free(f);
}

/*
 * A list no item of which can change the decision (the find rules look
 * at neither the records nor, when the items differ there, the
 * services) is decided once; returns 1 when that allowed it, 0 when the
 * items must be decided one by one.  Watches always go item by item, so
 * that they follow rule changes.
 */
static int
adm_list_once(struct admission *a, const struct admission_caller *cl,
    const char *const *services, size_t nservices, enum store_kind kind)
{
	struct policy_decision	 d;
	struct adm_ctx		 c;
	const char		*svc = NULL;
	size_t			 i;
	int			 allow = 0;

	adm_refresh(a);
	adm_ctx_init(&c, cl->principal, cl->remote_addr, cl->now, NULL,
	    "find");
	pthread_rwlock_rdlock(&a->lock);
	if (a->shape.find_endpoint || ((a->shape.find_service ||
	    a->shape.find_scoped) && (kind == STORE_SERVICE ||
	    nservices == 0)))
		goto out;
	if (kind == STORE_SERVICE || nservices == 0)
		allow = adm_decide(a, &c, NULL, NULL, NULL, NULL, &d);
	for (i = 0; i < nservices && kind == STORE_ENDPOINT && !allow; i++) {
		svc = services[i];
		allow = adm_decide(a, &c, svc, NULL, NULL, NULL, &d);
	}
	if (allow) {
		metrics_decision(a->metrics, "find", 1);
		adm_log(a, &c, svc, NULL, NULL, &d, ADM_LOG_COALESCE);
	}
out:
	pthread_rwlock_unlock(&a->lock);
	return allow;
}

int
admission_filter_list(struct admission *a, const struct admission_caller *cl,
    const char *const *services, size_t nservices, int watch,
    struct store_query *q, void (**match_free)(void *),
    struct nsreg_error *err)
{
	struct adm_filter	*f;
	struct adm_ctx		 c;
	size_t			 i;

	if (cl->principal->admin) {
		adm_ctx_init(&c, cl->principal, cl->remote_addr, cl->now, NULL,
		    "find");
		metrics_decision(a->metrics, "find", 1);
		adm_log(a, &c, nservices > 0 ? services[0] : NULL, NULL, NULL,
		    NULL, ADM_LOG_BYPASS | ADM_LOG_COALESCE);
		return 0;
	}
	if (!watch && adm_list_once(a, cl, services, nservices, q->kind))
		return 0;
	if (nservices > sizeof(f->services) / sizeof(f->services[0]))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "service",
		    "service: too many filters");
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto oom;
	for (i = 0; i < nservices; i++) {
		if ((f->services[i] = strdup(services[i])) == NULL) {
			while (i > 0)
				free(f->services[--i]);
			free(f);
			goto oom;
		}
	}
	f->nservices = nservices;
	f->a = a;
	f->kind = q->kind;
	principal_copy(&f->principal, cl->principal);
	snprintf(f->remote_addr, sizeof(f->remote_addr), "%s",
	    cl->remote_addr != NULL ? cl->remote_addr : "");
	f->time = cl->now;
	f->inner = q->match;
	f->inner_arg = q->match_arg;
	f->inner_free = *match_free;
	q->match = adm_filter_match;
	q->match_arg = f;
	*match_free = adm_filter_free;
	return 0;
oom:
	return nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
}

/* POST /v1/decisions/evaluate. */

static const char *const adm_eval_fields[] = {
	"principal", "claims", "action", "service", "endpoint", "labels",
	"auth", "remote_addr", "time", NULL
};
static const char *const adm_eval_service_fields[] = {
	"name", "payload", "labels", NULL
};
static const char *const adm_eval_endpoint_fields[] = {
	"name", "url", "network_service_names", "network_service_labels",
	"owner", "expiration_time", "initial_registration_time", "revision",
	"created_at", "updated_at", NULL
};

/* A hypothetical service or endpoint given as an object. */
static int
adm_eval_object(const json_t *o, const char *field, int service,
    struct nsreg_error *err)
{
	const json_t	*v;
	char		 prefix[32], f[64];
	const char	*const *allowed = service ? adm_eval_service_fields :
			    adm_eval_endpoint_fields;

	snprintf(prefix, sizeof(prefix), "%s.", field);
	if (validate_fields(o, allowed, prefix, err) == -1 ||
	    validate_member(o, "name", JSON_STRING, prefix, &v, err) == -1)
		return -1;
	snprintf(f, sizeof(f), "%sname", prefix);
	if (v == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, f,
		    "%s: required", f);
	if (validate_name(json_string_value(v), 1, f, err) == -1)
		return -1;
	if (service) {
		if (validate_member(o, "payload", JSON_STRING, prefix, &v,
		    err) == -1 || validate_member(o, "labels", JSON_OBJECT,
		    prefix, &v, err) == -1)
			return -1;
		snprintf(f, sizeof(f), "%slabels", prefix);
		if (v != NULL && validate_labels(v, f, err) == -1)
			return -1;
		return 0;
	}
	if (validate_member(o, "url", JSON_STRING, prefix, &v, err) == -1 ||
	    validate_member(o, "network_service_names", JSON_ARRAY, prefix,
	    &v, err) == -1 ||
	    validate_member(o, "network_service_labels", JSON_OBJECT, prefix,
	    &v, err) == -1 ||
	    validate_member(o, "owner", JSON_STRING, prefix, &v, err) == -1 ||
	    validate_member(o, "expiration_time", JSON_STRING, prefix, &v,
	    err) == -1)
		return -1;
	return 0;
}

int
admission_evaluate(struct admission *a, struct store *store,
    const json_t *body, int64_t now, json_t **decision,
    struct nsreg_error *err)
{
	struct spiffe_id	 sid;
	struct policy_principal	 pp;
	struct policy_request	 rq;
	struct policy_service	 ps;
	struct policy_endpoint	 pe;
	struct policy_input	 in;
	struct policy_decision	 d;
	struct store_object	 stored;
	const json_t		*jp, *claims, *action, *service, *endpoint;
	const json_t		*labels, *auth, *addr, *tm, *svc_obj = NULL;
	json_t			*ep_obj = NULL;
	const char		*svc_name = NULL, *ep_name = NULL;
	char			 td[SPIFFE_TD_MAX + 1];
	enum spiffe_rule	 rule;
	int			 rc = -1, locked = 0;

	*decision = NULL;
	memset(&stored, 0, sizeof(stored));
	if (validate_fields(body, adm_eval_fields, "", err) == -1 ||
	    validate_member(body, "principal", JSON_STRING, "", &jp,
	    err) == -1 ||
	    validate_member(body, "claims", JSON_OBJECT, "", &claims,
	    err) == -1 ||
	    validate_member(body, "action", JSON_STRING, "", &action,
	    err) == -1 ||
	    validate_member(body, "labels", JSON_OBJECT, "", &labels,
	    err) == -1 ||
	    validate_member(body, "auth", JSON_STRING, "", &auth, err) == -1 ||
	    validate_member(body, "remote_addr", JSON_STRING, "", &addr,
	    err) == -1 ||
	    validate_member(body, "time", JSON_STRING, "", &tm, err) == -1)
		goto out;
	if (jp == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "principal",
		    "principal: required (a SPIFFE ID)");
		goto out;
	}
	rule = spiffe_id_check(json_string_value(jp),
	    strlen(json_string_value(jp)), &sid);
	if (rule != SPIFFE_OK) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "principal",
		    "principal: not a SPIFFE ID: %s",
		    spiffe_rule_message(rule));
		goto out;
	}
	if (action == NULL || policy_action_parse(json_string_value(action))
	    == -1) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "action",
		    "action: must be find, register, unregister, publish or "
		    "connect");
		goto out;
	}
	if (labels != NULL && validate_labels(labels, "labels", err) == -1)
		goto out;
	if (auth != NULL && strcmp(json_string_value(auth), "x509") != 0 &&
	    strcmp(json_string_value(auth), "jwt") != 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "auth",
		    "auth: must be x509 or jwt");
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.time = now;
	if (tm != NULL && policy_time_parse(json_string_value(tm),
	    &rq.time) == -1) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "time",
		    "time: not an RFC 3339 time");
		goto out;
	}
	rq.labels = labels;
	rq.remote_addr = addr != NULL ? json_string_value(addr) : NULL;

	service = json_object_get(body, "service");
	if (json_is_string(service)) {
		svc_name = json_string_value(service);
		if (validate_name(svc_name, 1, "service", err) == -1)
			goto out;
	} else if (json_is_object(service)) {
		if (adm_eval_object(service, "service", 1, err) == -1)
			goto out;
		svc_obj = service;
		svc_name = json_string_value(json_object_get(service, "name"));
	} else if (service != NULL && !json_is_null(service)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "service",
		    "service: a stored service's name, a service object or "
		    "null");
		goto out;
	}
	endpoint = json_object_get(body, "endpoint");
	if (json_is_string(endpoint)) {
		ep_name = json_string_value(endpoint);
		if (validate_name(ep_name, 1, "endpoint", err) == -1)
			goto out;
		if (store_fetch(store, STORE_ENDPOINT, ep_name, now, &stored,
		    err) == 0) {
			if ((ep_obj = store_object_render(&stored)) == NULL) {
				nsreg_error_set(err, NSREG_INTERNAL, NULL,
				    "out of memory");
				goto out;
			}
		} else if (err->code != NSREG_NOT_FOUND)
			goto out;
		nsreg_error_clear(err);
		if (ep_obj == NULL)
			ep_name = NULL;	/* absent: null */
	} else if (json_is_object(endpoint)) {
		if (adm_eval_object(endpoint, "endpoint", 0, err) == -1)
			goto out;
		ep_obj = json_incref((json_t *)endpoint);
	} else if (endpoint != NULL && !json_is_null(endpoint)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "endpoint",
		    "endpoint: a stored endpoint's name, an endpoint object "
		    "or null");
		goto out;
	}

	memset(&pp, 0, sizeof(pp));
	memcpy(td, sid.id + SPIFFE_SCHEME_LEN, sid.td_len);
	td[sid.td_len] = '\0';
	pp.id = sid.id;
	pp.trust_domain = td;
	pp.path = sid.id + sid.path_off;
	pp.auth = auth != NULL ? json_string_value(auth) :
	    json_object_size(claims) > 0 ? "jwt" : "x509";
	pp.claims = claims;
	in.principal = &pp;
	in.action = json_string_value(action);
	in.request = &rq;
	in.service = NULL;
	in.endpoint = NULL;

	adm_refresh(a);
	pthread_rwlock_rdlock(&a->lock);
	locked = 1;
	if (svc_name != NULL) {
		/* A stored service by name: absent, it is null. */
		if (svc_obj == NULL) {
			const struct adm_obj	*e;

			e = adm_map_get(&a->services, svc_name);
			if (e != NULL && e->obj != NULL)
				svc_obj = e->obj;
		}
		if (svc_obj != NULL) {
			adm_service(a, svc_name, svc_obj, &ps);
			in.service = &ps;
		} else
			svc_name = NULL;
	}
	if (ep_obj != NULL) {
		adm_endpoint(ep_name, ep_obj, svc_name, &pe);
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
	if (locked)
		pthread_rwlock_unlock(&a->lock);
	json_decref(ep_obj);
	store_object_clear(&stored);
	return rc;
}
