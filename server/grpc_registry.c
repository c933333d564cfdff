/*
 * grpc_registry.c - NSM's registry services over gRPC (DESIGN section 4,
 * "NSM registry protocol (gRPC)"): registry.NetworkServiceRegistry and
 * registry.NetworkServiceEndpointRegistry, each method mapped onto what
 * the REST handlers call (api.h), so that one record, one rule and one
 * decision log serve both protocols.  Messages are turned into the REST
 * documents on the way in and the stored records into messages on the
 * way out.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "api.h"
#include "grpc.h"
#include "registry.pb-c.h"
#include "server.h"
#include "store.h"
#include "util.h"
#include "watch.h"

#define REG_PAGE	1000	/* records a Find reads at a time */

/*
 * What one outgoing message is made of: every piece allocated here and
 * freed at once; strings are borrowed from the JSON record it renders.
 */
struct reg_arena {
	void	**p;
	size_t	  n;
	size_t	  cap;
	int	  failed;
};

static void *
reg_alloc(struct reg_arena *a, size_t size)
{
	void	**np, *v;
	size_t	  cap;

	if (a->failed)
		return NULL;
	if (a->n == a->cap) {
		cap = a->cap > 0 ? a->cap * 2 : 32;
		if ((np = realloc(a->p, cap * sizeof(*np))) == NULL)
			goto fail;
		a->p = np;
		a->cap = cap;
	}
	if ((v = calloc(1, size > 0 ? size : 1)) == NULL)
		goto fail;
	a->p[a->n++] = v;
	return v;
fail:
	a->failed = 1;
	return NULL;
}

static void
reg_arena_free(struct reg_arena *a)
{
	size_t	i;

	for (i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
	memset(a, 0, sizeof(*a));
}

/* A JSON string member, borrowed, or "" (proto3's absent string). */
static char *
reg_str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return (char *)(s != NULL ? s : "");
}

/* An RFC 3339 member as a Timestamp, NULL when absent. */
static Google__Protobuf__Timestamp *
reg_time(struct reg_arena *a, const json_t *o, const char *key)
{
	Google__Protobuf__Timestamp	*t;
	int64_t				 ms;

	if (util_rfc3339_parse(json_string_value(json_object_get(o, key)),
	    &ms) == -1)
		return NULL;
	if ((t = reg_alloc(a, sizeof(*t))) == NULL)
		return NULL;
	google__protobuf__timestamp__init(t);
	t->seconds = ms / 1000;
	t->nanos = (int32_t)(ms % 1000) * 1000000;
	if (t->nanos < 0) {
		t->nanos += 1000000000;
		t->seconds--;
	}
	return t;
}

/*
 * The map<string,string> fields all have the same layout: base, key,
 * value.  One helper builds any of them from a JSON object of strings.
 */
struct reg_entry {
	ProtobufCMessage	 base;
	char			*key;
	char			*value;
};

static struct reg_entry **
reg_map(struct reg_arena *a, const json_t *o,
    void (*init)(struct reg_entry *), size_t *n)
{
	struct reg_entry	**v;
	const char		 *k;
	json_t			 *s;
	size_t			  i = 0;

	*n = 0;
	if (!json_is_object(o) || json_object_size(o) == 0)
		return NULL;
	if ((v = reg_alloc(a, json_object_size(o) * sizeof(*v))) == NULL)
		return NULL;
	json_object_foreach((json_t *)o, k, s) {
		if (!json_is_string(s))
			continue;
		if ((v[i] = reg_alloc(a, sizeof(*v[i]))) == NULL)
			return NULL;
		init(v[i]);
		v[i]->key = (char *)k;
		v[i]->value = (char *)json_string_value(s);
		i++;
	}
	*n = i;
	return v;
}

#define REG_MAP_INIT(fn, type)						\
static void								\
fn(struct reg_entry *e)							\
{									\
	type##__init((void *)e);					\
}
REG_MAP_INIT(reg_init_src, registry__match__source_selector_entry)
REG_MAP_INIT(reg_init_dst, registry__destination__destination_selector_entry)
REG_MAP_INIT(reg_init_nsl, registry__network_service_labels__labels_entry)

/* A rendered endpoint record as a NetworkServiceEndpoint. */
static Registry__NetworkServiceEndpoint *
reg_nse_of(struct reg_arena *a, const json_t *o)
{
	Registry__NetworkServiceEndpoint	*e;
	Registry__NetworkServiceEndpoint__NetworkServiceLabelsEntry *le;
	Registry__NetworkServiceLabels		*l;
	const json_t				*names, *labels, *v;
	const char				*k;
	size_t					 i;

	if ((e = reg_alloc(a, sizeof(*e))) == NULL)
		return NULL;
	registry__network_service_endpoint__init(e);
	e->name = reg_str(o, "name");
	e->url = reg_str(o, "url");
	names = json_object_get(o, "network_service_names");
	if (json_array_size(names) > 0) {
		e->network_service_names = reg_alloc(a,
		    json_array_size(names) * sizeof(char *));
		if (e->network_service_names == NULL)
			return NULL;
		json_array_foreach(names, i, v)
			e->network_service_names[e->n_network_service_names++] =
			    (char *)(json_string_value(v) != NULL ?
			    json_string_value(v) : "");
	}
	labels = json_object_get(o, "network_service_labels");
	if (json_object_size(labels) > 0) {
		e->network_service_labels = reg_alloc(a,
		    json_object_size(labels) * sizeof(le));
		if (e->network_service_labels == NULL)
			return NULL;
		json_object_foreach((json_t *)labels, k, v) {
			if ((le = reg_alloc(a, sizeof(*le))) == NULL ||
			    (l = reg_alloc(a, sizeof(*l))) == NULL)
				return NULL;
			registry__network_service_endpoint__network_service_labels_entry__init(
			    le);
			registry__network_service_labels__init(l);
			l->labels = (void *)reg_map(a, v, reg_init_nsl,
			    &l->n_labels);
			le->key = (char *)k;
			le->value = l;
			e->network_service_labels[
			    e->n_network_service_labels++] = le;
		}
	}
	e->expiration_time = reg_time(a, o, "expiration_time");
	e->initial_registration_time = reg_time(a, o,
	    "initial_registration_time");
	return a->failed ? NULL : e;
}

/* A rendered service record as a NetworkService. */
static Registry__NetworkService *
reg_ns_of(struct reg_arena *a, const json_t *o)
{
	Registry__NetworkService	*s;
	Registry__Match			*m;
	Registry__Destination		*d;
	const json_t			*matches, *jm, *routes, *jr;
	size_t				 i, j;

	if ((s = reg_alloc(a, sizeof(*s))) == NULL)
		return NULL;
	registry__network_service__init(s);
	s->name = reg_str(o, "name");
	s->payload = reg_str(o, "payload");
	matches = json_object_get(o, "matches");
	if (json_array_size(matches) > 0 && (s->matches = reg_alloc(a,
	    json_array_size(matches) * sizeof(m))) == NULL)
		return NULL;
	json_array_foreach(matches, i, jm) {
		if ((m = reg_alloc(a, sizeof(*m))) == NULL)
			return NULL;
		registry__match__init(m);
		m->source_selector = (void *)reg_map(a, json_object_get(jm,
		    "source_selector"), reg_init_src, &m->n_source_selector);
		m->fallthrough = json_is_true(json_object_get(jm,
		    "fallthrough"));
		routes = json_object_get(jm, "routes");
		if (json_array_size(routes) > 0 && (m->routes = reg_alloc(a,
		    json_array_size(routes) * sizeof(d))) == NULL)
			return NULL;
		json_array_foreach(routes, j, jr) {
			if ((d = reg_alloc(a, sizeof(*d))) == NULL)
				return NULL;
			registry__destination__init(d);
			d->destination_selector = (void *)reg_map(a,
			    json_object_get(jr, "destination_selector"),
			    reg_init_dst, &d->n_destination_selector);
			m->routes[m->n_routes++] = d;
		}
		s->matches[s->n_matches++] = m;
	}
	return a->failed ? NULL : s;
}

/* Send one record, as a Register answer or a Find response. */
static int
reg_send(struct grpc_call *c, enum store_kind kind, const json_t *o,
    int response, int deleted)
{
	Registry__NetworkServiceResponse		 nsr;
	Registry__NetworkServiceEndpointResponse	 nser;
	struct reg_arena				 a = { 0 };
	ProtobufCMessage				*msg = NULL;
	void						*rec;
	int						 rc = -1;

	rec = kind == STORE_ENDPOINT ? (void *)reg_nse_of(&a, o) :
	    (void *)reg_ns_of(&a, o);
	if (rec == NULL)
		goto out;
	if (!response)
		msg = rec;
	else if (kind == STORE_ENDPOINT) {
		registry__network_service_endpoint_response__init(&nser);
		nser.network_service_endpoint = rec;
		nser.deleted = deleted;
		msg = &nser.base;
	} else {
		registry__network_service_response__init(&nsr);
		nsr.network_service = rec;
		nsr.deleted = deleted;
		msg = &nsr.base;
	}
	rc = grpc_call_send(c, msg);
out:
	reg_arena_free(&a);
	return rc;
}

static int
reg_send_object(struct grpc_call *c, const struct store_object *obj)
{
	json_t	*o;
	int	 rc;

	if ((o = store_object_render(obj)) == NULL)
		return -1;
	rc = reg_send(c, obj->kind, o, 0, 0);
	json_decref(o);
	return rc;
}

/* A watch event as a Find response (grpc_event_fn). */
static int
reg_event(struct grpc_call *c, const json_t *ev, enum store_kind kind)
{
	const char	*type = json_string_value(json_object_get(ev, "type"));

	if (type == NULL || strcmp(type, "BOOKMARK") == 0)
		return 0;
	return reg_send(c, kind, json_object_get(ev, "object"), 1,
	    strcmp(type, "DELETED") == 0);
}

static int
reg_event_nse(struct grpc_call *c, const json_t *ev)
{
	return reg_event(c, ev, STORE_ENDPOINT);
}

static int
reg_event_ns(struct grpc_call *c, const json_t *ev)
{
	return reg_event(c, ev, STORE_SERVICE);
}

/* The JSON object of a map<string,string> field (new reference). */
static json_t *
reg_map_json(struct reg_entry **v, size_t n)
{
	json_t	*o;
	size_t	 i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_object_set_new(o, v[i]->key,
		    json_string(v[i]->value)) == -1) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* A NetworkServiceEndpoint as the REST document (new reference). */
static json_t *
reg_nse_json(const Registry__NetworkServiceEndpoint *e)
{
	json_t	*o, *names, *labels;
	char	 ts[UTIL_RFC3339_MAX];
	size_t	 i;
	int	 bad = 0;

	o = json_object();
	names = json_array();
	labels = json_object();
	if (o == NULL || names == NULL || labels == NULL)
		goto fail;
	for (i = 0; i < e->n_network_service_names; i++)
		bad |= json_array_append_new(names,
		    json_string(e->network_service_names[i]));
	for (i = 0; i < e->n_network_service_labels; i++)
		bad |= json_object_set_new(labels,
		    e->network_service_labels[i]->key,
		    e->network_service_labels[i]->value != NULL ?
		    reg_map_json((void *)e->network_service_labels[i]->value->
		    labels, e->network_service_labels[i]->value->n_labels) :
		    json_object());
	bad |= json_object_set_new(o, "name", json_string(e->name));
	if (e->url[0] != '\0')
		bad |= json_object_set_new(o, "url", json_string(e->url));
	bad |= json_object_set(o, "network_service_names", names);
	bad |= json_object_set(o, "network_service_labels", labels);
	if (e->expiration_time != NULL && (e->expiration_time->seconds != 0 ||
	    e->expiration_time->nanos != 0))
		bad |= json_object_set_new(o, "expiration_time",
		    json_string(util_rfc3339_format(
		    e->expiration_time->seconds * 1000 +
		    e->expiration_time->nanos / 1000000, ts, sizeof(ts))));
	if (bad)
		goto fail;
	json_decref(names);
	json_decref(labels);
	return o;
fail:
	json_decref(o);
	json_decref(names);
	json_decref(labels);
	return NULL;
}

/* A NetworkService's matches as the REST document's (new reference). */
static json_t *
reg_matches_json(const Registry__NetworkService *s)
{
	const Registry__Match	*m;
	json_t			*a, *jm, *routes;
	size_t			 i, j;
	int			 bad = 0;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < s->n_matches && !bad; i++) {
		m = s->matches[i];
		jm = json_object();
		routes = json_array();
		for (j = 0; j < m->n_routes; j++)
			bad |= json_array_append_new(routes, json_pack("{s:o*}",
			    "destination_selector", reg_map_json((void *)
			    m->routes[j]->destination_selector,
			    m->routes[j]->n_destination_selector)));
		bad |= json_object_set_new(jm, "source_selector",
		    reg_map_json((void *)m->source_selector,
		    m->n_source_selector));
		bad |= json_object_set_new(jm, "routes", routes);
		bad |= json_object_set_new(jm, "fallthrough",
		    json_boolean(m->fallthrough));
		bad |= json_array_append_new(a, jm);
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* A NetworkService as the REST document (new reference). */
static json_t *
reg_ns_json(const Registry__NetworkService *s)
{
	json_t	*o, *m;

	if ((m = reg_matches_json(s)) == NULL)
		return NULL;
	if ((o = json_pack("{s:s, s:o}", "name", s->name, "matches", m)) ==
	    NULL)
		return NULL;
	if (s->payload[0] != '\0' && json_object_set_new(o, "payload",
	    json_string(s->payload)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
reg_fail_oom(struct grpc_call *c)
{
	grpc_call_status(c, GRPC_INTERNAL, "out of memory");
}

/*
 * The request message msg (len bytes) of type d, new (free with
 * protobuf_c_message_free_unpacked), or NULL with the call failed.
 */
static ProtobufCMessage *
reg_unpack(struct grpc_call *c, const ProtobufCMessageDescriptor *d,
    const uint8_t *msg, size_t len)
{
	ProtobufCMessage	*m;

	if ((m = protobuf_c_message_unpack(d, NULL, len, msg)) == NULL)
		grpc_call_status(c, GRPC_INVALID_ARGUMENT,
		    "malformed %s message", d->short_name);
	return m;
}

static const char *
reg_ns_name(const ProtobufCMessage *m)
{
	return ((const Registry__NetworkService *)m)->name;
}

static const char *
reg_nse_name(const ProtobufCMessage *m)
{
	return ((const Registry__NetworkServiceEndpoint *)m)->name;
}

/* What the two registries' Unregister methods differ in. */
struct reg_kind {
	enum store_kind			 kind;
	const ProtobufCMessageDescriptor *record;	/* its message */
	const char			*(*name)(const ProtobufCMessage *);
	enum admission_action		 unregister;	/* decided as */
	api_check_fn			 delete_check;
};

static const struct reg_kind reg_ns_kind = {
	.kind = STORE_SERVICE,
	.record = &registry__network_service__descriptor,
	.name = reg_ns_name,
	/* A service is withdrawn by whom may publish it. */
	.unregister = ADMISSION_ACTION_PUBLISH,
	.delete_check = api_services_delete_check,
};

static const struct reg_kind reg_nse_kind = {
	.kind = STORE_ENDPOINT,
	.record = &registry__network_service_endpoint__descriptor,
	.name = reg_nse_name,
	/* Its owner or an admin (api_endpoints_check). */
	.unregister = ADMISSION_ACTION_UNREGISTER,
	.delete_check = api_endpoints_check,
};

/*
 * Unregister: DELETE /v1/services/{name} or /v1/endpoints/{name}, as k
 * says, answered with an Empty.
 */
static void
reg_unregister(struct server *srv, struct grpc_call *c, const uint8_t *msg,
    size_t len, const struct reg_kind *k)
{
	ProtobufCMessage	*m;
	Google__Protobuf__Empty	 empty;
	struct nsreg_error	 err;
	json_t			*decision = NULL;

	nsreg_error_clear(&err);
	if ((m = reg_unpack(c, k->record, msg, len)) == NULL)
		return;
	if (api_find_or_delete_run(srv, grpc_call_request(c), k->kind,
	    k->name(m), k->unregister, k->delete_check, NULL, &decision,
	    &err) == -1)
		grpc_call_fail(c, &err);
	else {
		google__protobuf__empty__init(&empty);
		if (grpc_call_send(c, &empty.base) == -1)
			reg_fail_oom(c);
	}
	json_decref(decision);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* NetworkServiceRegistry.Register: publish, as PUT /v1/services/{name}. */
static void
reg_ns_register(struct server *srv, struct grpc_call *c, const uint8_t *msg,
    size_t len)
{
	struct http_request		*req = grpc_call_request(c);
	Registry__NetworkService	*s;
	struct store_object		 obj, cur;
	struct nsreg_error		 err;
	json_t				*body = NULL, *decision = NULL;
	int				 created;

	nsreg_error_clear(&err);
	memset(&obj, 0, sizeof(obj));
	memset(&cur, 0, sizeof(cur));
	if ((s = (Registry__NetworkService *)reg_unpack(c,
	    &registry__network_service__descriptor, msg, len)) == NULL)
		return;
	if ((body = reg_ns_json(s)) == NULL) {
		reg_fail_oom(c);
		goto out;
	}
	/*
	 * What NSM's message cannot say (labels, the vl3 pool) stays as the
	 * stored record has it: an endpoint that publishes its service at
	 * start must not wipe what an admin set.
	 */
	if (s->name[0] != '\0' && store_fetch(srv->store, STORE_SERVICE,
	    s->name, req->now, &cur, &err) == 0) {
		if (json_object_get(cur.doc, "labels") != NULL)
			json_object_set(body, "labels",
			    json_object_get(cur.doc, "labels"));
		if (json_object_get(cur.doc, "vl3") != NULL)
			json_object_set(body, "vl3",
			    json_object_get(cur.doc, "vl3"));
	}
	nsreg_error_clear(&err);
	if (api_services_prepare(srv, req, s->name, body, &obj, &decision,
	    &err) == -1 || store_put(srv->store, &obj, 0, NULL, NULL,
	    req->now, &created, &err) == -1) {
		grpc_call_fail(c, &err);
		goto out;
	}
	if (reg_send_object(c, &obj) == -1)
		reg_fail_oom(c);
out:
	json_decref(decision);
	json_decref(body);
	store_object_clear(&obj);
	store_object_clear(&cur);
	registry__network_service__free_unpacked(s, NULL);
}

/* NetworkServiceRegistry.Unregister (decided as publish). */
static void
reg_ns_unregister(struct server *srv, struct grpc_call *c,
    const uint8_t *msg, size_t len)
{
	reg_unregister(srv, c, msg, len, &reg_ns_kind);
}

/* A service Find's example: name and payload exact, matches equal. */
struct reg_ns_filter {
	char	*name;
	char	*payload;
	json_t	*matches;	/* NULL: any */
};

static void
reg_ns_filter_free(void *arg)
{
	struct reg_ns_filter	*f = arg;

	free(f->name);
	free(f->payload);
	json_decref(f->matches);
	free(f);
}

static int
reg_ns_match(const json_t *o, void *arg)
{
	struct reg_ns_filter	*f = arg;

	if (f->name != NULL && strcmp(f->name, reg_str(o, "name")) != 0)
		return 0;
	if (f->payload != NULL && strcmp(f->payload,
	    reg_str(o, "payload")) != 0)
		return 0;
	if (f->matches != NULL && !json_equal(f->matches,
	    json_object_get(o, "matches")))
		return 0;
	return 1;
}

/*
 * Answer a Find: the matching records (q, filtered by find), then either
 * the end of the stream or, with watch, every change.  match_free
 * releases q->match_arg.
 */
static void
reg_find(struct server *srv, struct grpc_call *c, struct store_query *q,
    void (*match_free)(void *), int watch, grpc_event_fn *event)
{
	struct http_request	*req = grpc_call_request(c);
	struct nsreg_error	 err;
	struct watcher		*wt;
	json_t			*items = NULL, *o;
	char			*after = NULL;
	const char		*last;
	int64_t			 rev;
	size_t			 i;
	int			 more = 1;

	nsreg_error_clear(&err);
	if (watch) {
		if ((wt = watch_open(srv->watch, q, match_free, -1, req->now,
		    &err)) == NULL)
			grpc_call_fail(c, &err);
		else
			grpc_call_watch(c, wt, event);
		return;
	}
	q->limit = REG_PAGE;
	while (more) {
		q->after_name = after;
		if (store_list(srv->store, q, req->now, &items, &rev, &more,
		    &err) == -1) {
			grpc_call_fail(c, &err);
			break;
		}
		json_array_foreach(items, i, o)
			if (event(c, o) == -1) {
				reg_fail_oom(c);
				more = 0;
				break;
			}
		if (admission_filter_cut(q, &last)) {
			grpc_call_status(c, GRPC_RESOURCE_EXHAUSTED, "the rules "
			    "spent this call's policy budget after %s: narrow "
			    "the query", last);
			more = 0;
		}
		o = json_array_get(items, json_array_size(items) - 1);
		free(after);
		after = NULL;
		if (more && (o == NULL || (after = strdup(reg_str(o,
		    "name"))) == NULL))
			more = 0;
		json_decref(items);
		items = NULL;
	}
	free(after);
	if (match_free != NULL)
		match_free(q->match_arg);
}

/* A listed record (not an event) as a Find response. */
static int
reg_item_ns(struct grpc_call *c, const json_t *o)
{
	return reg_send(c, STORE_SERVICE, o, 1, 0);
}

static int
reg_item_nse(struct grpc_call *c, const json_t *o)
{
	return reg_send(c, STORE_ENDPOINT, o, 1, 0);
}

static void
reg_ns_find(struct server *srv, struct grpc_call *c, const uint8_t *msg,
    size_t len)
{
	Registry__NetworkServiceQuery	*qm;
	const Registry__NetworkService	*s;
	struct reg_ns_filter		*f = NULL;
	struct admission_caller		 caller;
	struct store_query		 q;
	struct nsreg_error		 err;
	void				(*match_free)(void *) =
					    reg_ns_filter_free;

	nsreg_error_clear(&err);
	if ((qm = (Registry__NetworkServiceQuery *)reg_unpack(c,
	    &registry__network_service_query__descriptor, msg, len)) == NULL)
		return;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto oom;
	if ((s = qm->network_service) != NULL) {
		if (s->name[0] != '\0' && (f->name = strdup(s->name)) == NULL)
			goto oom;
		if (s->payload[0] != '\0' &&
		    (f->payload = strdup(s->payload)) == NULL)
			goto oom;
		if (s->n_matches > 0 &&
		    (f->matches = reg_matches_json(s)) == NULL)
			goto oom;
	}
	memset(&q, 0, sizeof(q));
	q.kind = STORE_SERVICE;
	q.match = reg_ns_match;
	q.match_arg = f;
	api_caller(grpc_call_request(c), &caller);
	if (admission_filter_list(srv->admission, &caller, NULL, 0,
	    qm->watch, &q, &match_free, &err) == -1) {
		grpc_call_fail(c, &err);
		reg_ns_filter_free(f);
		goto out;
	}
	reg_find(srv, c, &q, match_free, qm->watch, qm->watch ?
	    reg_event_ns : reg_item_ns);
	goto out;
oom:
	if (f != NULL)
		reg_ns_filter_free(f);
	reg_fail_oom(c);
out:
	registry__network_service_query__free_unpacked(qm, NULL);
}

/* NSM's query by example as REST's query parameters. */
static int
reg_nse_filter(const Registry__NetworkServiceEndpoint *e,
    struct endpoints_filter *f, struct nsreg_error *err)
{
	const Registry__NetworkServiceLabels	*l;
	char					 key[600];
	size_t					 i, j;

	if (e->name[0] != '\0' && api_endpoints_filter_add(f, "name",
	    e->name, err) == -1)
		return -1;
	if (e->url[0] != '\0' && api_endpoints_filter_add(f, "url", e->url,
	    err) == -1)
		return -1;
	for (i = 0; i < e->n_network_service_names; i++)
		if (api_endpoints_filter_add(f, "service",
		    e->network_service_names[i], err) == -1)
			return -1;
	for (i = 0; i < e->n_network_service_labels; i++) {
		if ((l = e->network_service_labels[i]->value) == NULL)
			continue;
		for (j = 0; j < l->n_labels; j++) {
			if ((size_t)snprintf(key, sizeof(key), "label.%s.%s",
			    e->network_service_labels[i]->key,
			    l->labels[j]->key) >= sizeof(key))
				return nsreg_error_set(err,
				    NSREG_INVALID_ARGUMENT,
				    "network_service_labels",
				    "network_service_labels: name too long");
			if (api_endpoints_filter_add(f, key,
			    l->labels[j]->value, err) == -1)
				return -1;
		}
	}
	if (e->expiration_time != NULL)
		api_endpoints_filter_expiration(f,
		    e->expiration_time->seconds);
	return 0;
}

static void
reg_nse_find(struct server *srv, struct grpc_call *c, const uint8_t *msg,
    size_t len)
{
	Registry__NetworkServiceEndpointQuery	*qm;
	struct endpoints_filter			*f;
	struct store_query			 q;
	struct nsreg_error			 err;
	void					(*match_free)(void *);

	nsreg_error_clear(&err);
	if ((qm = (Registry__NetworkServiceEndpointQuery *)reg_unpack(c,
	    &registry__network_service_endpoint_query__descriptor, msg,
	    len)) == NULL)
		return;
	if ((f = api_endpoints_filter_new()) == NULL) {
		reg_fail_oom(c);
		goto out;
	}
	if ((qm->network_service_endpoint != NULL &&
	    reg_nse_filter(qm->network_service_endpoint, f, &err) == -1) ||
	    api_endpoints_query(srv, grpc_call_request(c), f, qm->watch, &q,
	    &match_free, &err) == -1) {
		api_endpoints_filter_free(f);
		grpc_call_fail(c, &err);
		goto out;
	}
	reg_find(srv, c, &q, match_free, qm->watch, qm->watch ?
	    reg_event_nse : reg_item_nse);
out:
	registry__network_service_endpoint_query__free_unpacked(qm, NULL);
}

/* An endpoint write in flight: what its check and its answer need. */
struct reg_put {
	struct api_write	 w;
	struct grpc_call	*c;
	struct store_object	 obj;
};

static void
reg_nse_put_done(int rc, struct store_object *obj, int created,
    const struct nsreg_error *err, void *arg)
{
	struct reg_put	*p = arg;

	(void)created;
	if (rc == -1)
		grpc_call_fail(p->c, err);
	else if (reg_send_object(p->c, obj) == -1)
		reg_fail_oom(p->c);
	store_object_clear(obj);
	grpc_call_done(p->c);
	free(p);
}

/*
 * NetworkServiceEndpointRegistry.Register: PUT /v1/endpoints/{name}, the
 * caller the owner; the answer carries the expiry that was kept.
 */
static void
reg_nse_register(struct server *srv, struct grpc_call *c,
    const uint8_t *msg, size_t len)
{
	struct http_request			*req = grpc_call_request(c);
	Registry__NetworkServiceEndpoint	*e;
	struct reg_put				*p = NULL;
	struct nsreg_error			 err;
	json_t					*body = NULL;
	json_t					*decision = NULL;

	nsreg_error_clear(&err);
	if ((e = (Registry__NetworkServiceEndpoint *)reg_unpack(c,
	    &registry__network_service_endpoint__descriptor, msg,
	    len)) == NULL)
		return;
	if ((body = reg_nse_json(e)) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL) {
		reg_fail_oom(c);
		goto out;
	}
	if (api_endpoints_prepare(srv, req, e->name, body, &p->obj,
	    &decision, &err) == -1) {
		grpc_call_fail(c, &err);
		goto out;
	}
	p->w.srv = srv;
	p->w.req = req;
	p->c = c;
	grpc_call_defer(c);
	if (store_put_async(srv->store, &p->obj, 0, api_endpoints_check,
	    &p->w, req->now, reg_nse_put_done, p, &err) == -1) {
		grpc_call_fail(c, &err);
		store_object_clear(&p->obj);
		grpc_call_done(c);
		goto out;
	}
	p = NULL;
out:
	free(p);
	json_decref(decision);
	json_decref(body);
	registry__network_service_endpoint__free_unpacked(e, NULL);
}

/* NetworkServiceEndpointRegistry.Unregister (owner or admin). */
static void
reg_nse_unregister(struct server *srv, struct grpc_call *c,
    const uint8_t *msg, size_t len)
{
	reg_unregister(srv, c, msg, len, &reg_nse_kind);
}

static const struct grpc_method reg_methods[] = {
	{ .path = "/registry.NetworkServiceRegistry/Register",
	    .handler = reg_ns_register },
	{ .path = "/registry.NetworkServiceRegistry/Find",
	    .handler = reg_ns_find },
	{ .path = "/registry.NetworkServiceRegistry/Unregister",
	    .handler = reg_ns_unregister },
	{ .path = "/registry.NetworkServiceEndpointRegistry/Register",
	    .handler = reg_nse_register },
	{ .path = "/registry.NetworkServiceEndpointRegistry/Find",
	    .handler = reg_nse_find },
	{ .path = "/registry.NetworkServiceEndpointRegistry/Unregister",
	    .handler = reg_nse_unregister },
};

const struct grpc_method *
grpc_registry_methods(size_t *n)
{
	*n = sizeof(reg_methods) / sizeof(reg_methods[0]);
	return reg_methods;
}
