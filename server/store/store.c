/*
 * store.c - the storage interface: picks a backend by the database URL,
 * checks arguments once for every backend, and renders objects.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_backend.h"
#include "util.h"

struct store {
	const struct store_backend	*backend;
	void				*b;
};

/* What a kind adds to its rendered objects besides the common metadata. */
static const struct store_kind_info {
	const char	*name;
	const char	*expiry;	/* rendered expiry key, NULL: none */
	int		 owner;		/* 1: renders "owner" */
} store_kinds[STORE_KIND_MAX] = {
	[STORE_SERVICE] =	{ .name = "service" },
	[STORE_ENDPOINT] =	{ .name = "endpoint",
				  .expiry = "expiration_time", .owner = 1 },
	[STORE_POLICY] =	{ .name = "policy" },
	[STORE_TRUST_DOMAIN] =	{ .name = "trust-domain" },
	[STORE_GRANT] =		{ .name = "grant",
				  .expiry = "expires_at", .owner = 1 },
};

static const char *const store_event_types[] = {
	[STORE_ADDED] = "ADDED",
	[STORE_MODIFIED] = "MODIFIED",
	[STORE_DELETED] = "DELETED",
	[STORE_BOOKMARK] = "BOOKMARK",
};

static const struct store_backend *const store_backends[] = {
	&store_backend_sqlite,
	&store_backend_postgres,
};

static int
store_kind_valid(enum store_kind kind)
{
	return (int)kind >= 0 && kind < STORE_KIND_MAX;
}

static int
store_name_check(enum store_kind kind, const char *name,
    struct nsreg_error *err)
{
	if (!store_kind_valid(kind))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "unknown object kind %d", (int)kind);
	if (name == NULL || name[0] == '\0')
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "empty name");
	if (!util_utf8_valid(name, strlen(name)))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "name is not valid UTF-8");
	return 0;
}

const char *
store_kind_name(enum store_kind kind)
{
	if (!store_kind_valid(kind))
		return "unknown";
	return store_kinds[kind].name;
}

const char *
store_event_type_name(enum store_event_type type)
{
	if ((int)type < 0 || type > STORE_BOOKMARK)
		return "UNKNOWN";
	return store_event_types[type];
}

const struct store_backend *
store_backend_find(const char *url, struct nsreg_error *err)
{
	size_t	i;

	if (url == NULL || url[0] == '\0') {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "database",
		    "no database URL");
		return NULL;
	}
	for (i = 0; i < sizeof(store_backends) / sizeof(store_backends[0]);
	    i++) {
		if (strncmp(url, store_backends[i]->scheme,
		    strlen(store_backends[i]->scheme)) == 0 ||
		    (store_backends[i]->alias != NULL && strncmp(url,
		    store_backends[i]->alias,
		    strlen(store_backends[i]->alias)) == 0))
			return store_backends[i];
	}
	nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "database",
	    "database %s: unknown scheme (want sqlite:PATH or "
	    "postgresql://...)", url);
	return NULL;
}

struct store *
store_open_migrations(const struct store_options *opt,
    const struct store_migration *migrations, struct nsreg_error *err)
{
	const struct store_backend	*be;
	struct store			*s = NULL;

	if (opt == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "database",
		    "no store options");
		goto fail;
	}
	if ((be = store_backend_find(opt->url, err)) == NULL)
		goto fail;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	s->backend = be;
	s->b = be->open(opt->url, opt,
	    migrations != NULL ? migrations : be->migrations, err);
	if (s->b == NULL)
		goto fail;
	return s;
fail:
	free(s);
	return NULL;
}

struct store *
store_open(const struct store_options *opt, struct nsreg_error *err)
{
	return store_open_migrations(opt, NULL, err);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->backend->close(s->b);
	free(s);
}

void
store_set_listener(struct store *s, store_listener_fn fn, void *arg)
{
	s->backend->set_listener(s->b, fn, arg);
}

int
store_ping(struct store *s)
{
	return s->backend->ping(s->b);
}

void
store_set_gap_handler(struct store *s, store_gap_fn fn, void *arg)
{
	if (s->backend->set_gap_handler != NULL)
		s->backend->set_gap_handler(s->b, fn, arg);
}

int64_t
store_revision(struct store *s)
{
	return s->backend->revision(s->b);
}

void
store_stats(struct store *s, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	s->backend->stats(s->b, out);
}

int
store_when_fresh(struct store *s, void (*fn)(void *, int), void *arg)
{
	if (s->backend->when_fresh == NULL)
		return 1;
	return s->backend->when_fresh(s->b, fn, arg);
}

int
store_may_wait(struct store *s)
{
	return s->backend->when_fresh != NULL;
}

int
store_create(struct store *s, struct store_object *obj, int64_t now,
    struct nsreg_error *err)
{
	if (store_object_check(obj, err) == -1)
		return -1;
	return s->backend->create(s->b, obj, now, err);
}

int
store_update(struct store *s, struct store_object *obj, int64_t expect_rev,
    int64_t now, struct nsreg_error *err)
{
	if (store_object_check(obj, err) == -1)
		return -1;
	if (expect_rev < 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "revision",
		    "negative revision");
	return s->backend->update(s->b, obj, expect_rev, now, err);
}

int
store_put(struct store *s, struct store_object *obj, int64_t if_match,
    store_check_fn check, void *arg, int64_t now, int *created,
    struct nsreg_error *err)
{
	if (store_object_check(obj, err) == -1)
		return -1;
	if (if_match < -1)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "revision",
		    "bad revision");
	return s->backend->put(s->b, obj, if_match, check, arg, now, created,
	    err);
}

int
store_put_async(struct store *s, struct store_object *obj, int64_t if_match,
    store_check_fn check, void *arg, int64_t now, store_done_fn done,
    void *done_arg, struct nsreg_error *err)
{
	struct nsreg_error	e;
	int			created = 0, rc;

	if (store_object_check(obj, err) == -1)
		return -1;
	if (if_match < -1)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "revision",
		    "bad revision");
	if (s->backend->put_async != NULL)
		return s->backend->put_async(s->b, obj, if_match, check, arg,
		    now, done, done_arg, err);
	nsreg_error_clear(&e);
	rc = s->backend->put(s->b, obj, if_match, check, arg, now, &created,
	    &e);
	done(rc, obj, created, &e, done_arg);
	return 0;
}

int
store_fetch(struct store *s, enum store_kind kind, const char *name,
    int64_t now, struct store_object *out, struct nsreg_error *err)
{
	memset(out, 0, sizeof(*out));
	if (store_name_check(kind, name, err) == -1)
		return -1;
	return s->backend->fetch(s->b, kind, name, now, out, err);
}

int
store_delete(struct store *s, enum store_kind kind, const char *name,
    int64_t expect_rev, int64_t now, struct store_object *old,
    struct nsreg_error *err)
{
	if (old != NULL)
		memset(old, 0, sizeof(*old));
	if (store_name_check(kind, name, err) == -1)
		return -1;
	if (expect_rev < 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "revision",
		    "negative revision");
	if (kind == STORE_GRANT)
		return s->backend->grant_delete(s->b, name, expect_rev,
		    STORE_REASON_REVOKED, now, old, err);
	return s->backend->delete(s->b, kind, name, expect_rev, now, old,
	    err);
}

static const char *const store_reasons[] = {
	STORE_REASON_EXPIRED,
	STORE_REASON_REVOKED,
	STORE_REASON_DENIED,
	STORE_REASON_ENDPOINT_GONE,
	STORE_REASON_SERVICE_GONE,
};

const char *
store_reason(const char *reason)
{
	size_t	i;

	if (reason == NULL)
		return NULL;
	for (i = 0; i < sizeof(store_reasons) / sizeof(store_reasons[0]);
	    i++)
		if (strcmp(reason, store_reasons[i]) == 0)
			return store_reasons[i];
	return NULL;
}

/* What every grant write needs: an owner (the principal) and an expiry. */
static int
store_grant_check(const struct store_object *obj, struct nsreg_error *err)
{
	if (store_object_check(obj, err) == -1)
		return -1;
	if (obj->kind != STORE_GRANT)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s %s is not a grant", store_kind_name(obj->kind),
		    obj->name);
	if (obj->owner == NULL || obj->owner[0] == '\0')
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "principal",
		    "grant %s has no principal", obj->name);
	if (obj->expires_at <= 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "expires_at", "grant %s has no expiry", obj->name);
	return 0;
}

int
store_grant_create(struct store *s, struct store_object *obj,
    struct store_grant *g, int64_t now, struct nsreg_error *err)
{
	g->block = -1;
	if (store_grant_check(obj, err) == -1)
		return -1;
	if (g->service == NULL || g->endpoint == NULL || g->kid == NULL ||
	    g->service[0] == '\0' || g->endpoint[0] == '\0' ||
	    g->kid[0] == '\0')
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "grant %s: service, endpoint and key are required",
		    obj->name);
	if (g->pool != NULL && (g->assign == NULL || g->first < 0 ||
	    g->client_len <= 0))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "vl3",
		    "grant %s: a pool needs blocks and an assign function",
		    obj->name);
	return s->backend->grant_create(s->b, obj, g, now, err);
}

int
store_grant_update(struct store *s, struct store_object *obj,
    const char *kid, int64_t expect_rev, int64_t now,
    struct nsreg_error *err)
{
	if (store_grant_check(obj, err) == -1)
		return -1;
	if (kid == NULL || kid[0] == '\0')
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "grant %s: no key", obj->name);
	if (expect_rev < 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "revision",
		    "negative revision");
	return s->backend->grant_update(s->b, obj, kid, expect_rev, now,
	    err);
}

int
store_grant_delete(struct store *s, const char *id, int64_t expect_rev,
    const char *reason, int64_t now, struct store_object *old,
    struct nsreg_error *err)
{
	const char	*r = store_reason(reason);

	if (old != NULL)
		memset(old, 0, sizeof(*old));
	if (store_name_check(STORE_GRANT, id, err) == -1)
		return -1;
	if (r == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "reason",
		    "unknown reason \"%s\"", reason != NULL ? reason : "");
	if (expect_rev < 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "revision",
		    "negative revision");
	return s->backend->grant_delete(s->b, id, expect_rev, r, now, old,
	    err);
}

int
store_grant_loads(struct store *s, int64_t now,
    void (*fn)(const char *endpoint, int64_t n, void *arg), void *arg,
    struct nsreg_error *err)
{
	if (fn == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "no callback");
	return s->backend->grant_loads(s->b, now, fn, arg, err);
}

int
store_ipam_usage(struct store *s, const char *service, int64_t now,
    char *pool, size_t len, int *client_len, int64_t *live,
    struct nsreg_error *err)
{
	if (len > 0)
		pool[0] = '\0';
	*client_len = 0;
	*live = 0;
	if (store_name_check(STORE_SERVICE, service, err) == -1)
		return -1;
	return s->backend->ipam_usage(s->b, service, now, pool, len,
	    client_len, live, err);
}

int
store_grant_key_use(struct store *s, const char *kid, const char *jwk,
    int64_t now, struct nsreg_error *err)
{
	if (kid != NULL && (kid[0] == '\0' || jwk == NULL ||
	    !util_utf8_valid(kid, strlen(kid))))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "kid",
		    "a key needs a kid and a JWK");
	return s->backend->grant_key_use(s->b, kid, jwk, now, err);
}

int
store_grant_keys(struct store *s, int64_t now, json_t **keys,
    struct nsreg_error *err)
{
	*keys = NULL;
	return s->backend->grant_keys(s->b, now, keys, err);
}

static int
store_query_check(const struct store_query *q, struct nsreg_error *err)
{
	size_t	i;

	if (!store_kind_valid(q->kind))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "unknown object kind %d", (int)q->kind);
	if (q->nservices > 0 && q->kind != STORE_ENDPOINT)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "service",
		    "only endpoints can be listed by service");
	for (i = 0; i < q->nservices; i++) {
		if (q->services == NULL || q->services[i] == NULL)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    "service", "missing service name");
	}
	return 0;
}

/* Grow k->buf to hold more bytes (and a NUL). */
static int
store_list_sink_grow(struct store_list_sink *k, size_t more)
{
	char	*nb;
	size_t	 cap = k->cap != 0 ? k->cap : 4096;

	while (cap < k->len + more + 1)
		cap *= 2;
	if (cap == k->cap)
		return 0;
	if ((nb = realloc(k->buf, cap)) == NULL)
		return -1;
	k->buf = nb;
	k->cap = cap;
	return 0;
}

int
store_list_sink_add(struct store_list_sink *k, const char *name,
    const char *text, size_t len, json_t *object, struct nsreg_error *err)
{
	size_t	nlen;
	char	*nl;

	if (!k->text) {
		if (object == NULL &&
		    (object = json_loadb(text, len, JSON_ALLOW_NUL, NULL)) ==
		    NULL)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s: unreadable stored object", name);
		if (json_array_append_new(k->items, object) == -1)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
		k->n++;
		return 0;
	}
	json_decref(object);
	nlen = strlen(name) + 1;
	if (store_list_sink_grow(k, len + 1) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	if (nlen > k->lastcap) {
		if ((nl = realloc(k->last, nlen)) == NULL)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
		k->last = nl;
		k->lastcap = nlen;
	}
	if (k->n > 0)
		k->buf[k->len++] = ',';
	memcpy(k->buf + k->len, text, len);
	k->len += len;
	k->buf[k->len] = '\0';
	memcpy(k->last, name, nlen);
	k->n++;
	return 0;
}

int
store_list_sink_put(struct store_list_sink *k, const char *text, size_t len,
    size_t n, const char *last)
{
	size_t	nlen = last != NULL ? strlen(last) + 1 : 0;
	char	*nl;

	if (!k->text || k->n != 0 || store_list_sink_grow(k, len) == -1)
		return -1;
	if (nlen > k->lastcap) {
		if ((nl = realloc(k->last, nlen)) == NULL)
			return -1;
		k->last = nl;
		k->lastcap = nlen;
	}
	memcpy(k->buf + k->len, text, len);
	k->len += len;
	k->buf[k->len] = '\0';
	if (nlen > 0)
		memcpy(k->last, last, nlen);
	k->n = n;
	return 0;
}

void
store_list_sink_reset(struct store_list_sink *k)
{
	if (k->text)
		k->len = k->len > 0 ? 1 : 0;	/* keep the "[" */
	else
		json_array_clear(k->items);
	k->n = 0;
}

int
store_list(struct store *s, const struct store_query *q, int64_t now,
    json_t **items, int64_t *revision, int *more, struct nsreg_error *err)
{
	struct store_list_sink	k = { .text = 0 };

	*items = NULL;
	*revision = 0;
	*more = 0;
	if (store_query_check(q, err) == -1)
		return -1;
	if ((k.items = json_array()) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	if (s->backend->list(s->b, q, now, &k, revision, more, err) == -1) {
		json_decref(k.items);
		*revision = 0;
		*more = 0;
		return -1;
	}
	*items = k.items;
	return 0;
}

int
store_list_text(struct store *s, const struct store_query *q, int64_t now,
    char **body, size_t *len, char **last, int64_t *revision, int *more,
    struct nsreg_error *err)
{
	struct store_list_sink	k = { .text = 1 };
	int			ret = -1;

	*body = NULL;
	*len = 0;
	*last = NULL;
	*revision = 0;
	*more = 0;
	if (store_query_check(q, err) == -1)
		return -1;
	if (store_list_sink_grow(&k, 1) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	k.buf[k.len++] = '[';
	if (s->backend->list(s->b, q, now, &k, revision, more, err) == -1)
		goto done;
	if (store_list_sink_grow(&k, 1) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	k.buf[k.len++] = ']';
	k.buf[k.len] = '\0';
	*body = k.buf;
	*len = k.len;
	k.buf = NULL;
	if (k.n > 0) {
		*last = k.last;
		k.last = NULL;
	}
	ret = 0;
done:
	if (ret == -1) {
		*revision = 0;
		*more = 0;
	}
	free(k.buf);
	free(k.last);
	return ret;
}

int64_t
store_count(struct store *s, enum store_kind kind, int64_t now)
{
	if (!store_kind_valid(kind))
		return -1;
	return s->backend->count(s->b, kind, now);
}

int64_t
store_prune(struct store *s, int64_t now, struct nsreg_error *err)
{
	return s->backend->prune(s->b, now, err);
}

int64_t
store_watch(struct store *s, enum store_kind kind, int64_t after,
    size_t limit, store_listener_fn fn, void *arg, struct nsreg_error *err)
{
	if (!store_kind_valid(kind))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "unknown object kind %d", (int)kind);
	if (fn == NULL || after < 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "since",
		    "bad watch arguments");
	return s->backend->watch(s->b, kind, after, limit, fn, arg, err);
}

int
store_decision_append(struct store *s, const struct store_decision *v,
    size_t n, struct nsreg_error *err)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (v[i].text != NULL ? v[i].len < 2 || v[i].text[0] != '{' ||
		    v[i].action == NULL || v[i].decision == NULL :
		    !json_is_object(v[i].entry))
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    NULL, "decision entry %zu is not an object", i);
	}
	if (n == 0)
		return 0;
	return s->backend->decision_append(s->b, v, n, err);
}

int
store_decision_list(struct store *s, const struct store_decision_query *q,
    json_t **items, int64_t *next_id, struct nsreg_error *err)
{
	*items = NULL;
	*next_id = 0;
	if (q->decision != NULL && strcmp(q->decision, "allow") != 0 &&
	    strcmp(q->decision, "deny") != 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "decision", "decision must be allow or deny");
	if (q->before_id < 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "page_token", "negative decision id");
	if (q->has_since && q->has_until && q->since > q->until)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "until",
		    "until is before since");
	return s->backend->decision_list(s->b, q, items, next_id, err);
}

int64_t
store_decision_prune(struct store *s, int64_t before,
    struct nsreg_error *err)
{
	return s->backend->decision_prune(s->b, before, err);
}

int
store_task_claim(struct store *s, const char *task, const char *holder,
    int64_t ttl_ms, struct nsreg_error *err)
{
	if (s->backend->task_claim == NULL)
		return 1;
	return s->backend->task_claim(s->b, task, holder, ttl_ms, err);
}

void
store_task_release(struct store *s, const char *task, const char *holder)
{
	if (s->backend->task_release != NULL)
		s->backend->task_release(s->b, task, holder);
}

/* 1 when key is one the renderer writes for kind (never taken from doc). */
static int
store_key_reserved(enum store_kind kind, const char *key)
{
	const struct store_kind_info	*ki = &store_kinds[kind];

	switch (key[0]) {
	case 'c':
		return strcmp(key, "created_at") == 0;
	case 'n':
		return strcmp(key, "name") == 0;
	case 'o':
		return ki->owner && strcmp(key, "owner") == 0;
	case 'r':
		return strcmp(key, "revision") == 0;
	case 'u':
		return strcmp(key, "updated_at") == 0;
	}
	return ki->expiry != NULL && strcmp(key, ki->expiry) == 0;
}

static int
store_set_time(json_t *o, const char *key, int64_t ms)
{
	char	buf[UTIL_RFC3339_MAX];

	return json_object_set_new(o, key,
	    json_string(util_rfc3339_format(ms, buf, sizeof(buf))));
}

json_t *
store_object_render(const struct store_object *obj)
{
	const struct store_kind_info	*ki;
	const char			*key;
	json_t				*r, *v;

	if (!store_kind_valid(obj->kind) || obj->name == NULL)
		return NULL;
	ki = &store_kinds[obj->kind];
	if ((r = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(r, "name", json_string(obj->name)) == -1)
		goto fail;
	if (json_is_object(obj->doc)) {
		json_object_foreach(obj->doc, key, v) {
			if (store_key_reserved(obj->kind, key))
				continue;
			if (json_object_set(r, key, v) == -1)
				goto fail;
		}
	}
	if (json_object_set_new(r, "revision",
	    json_integer(obj->revision)) == -1 ||
	    store_set_time(r, "created_at", obj->created_at) == -1 ||
	    store_set_time(r, "updated_at", obj->updated_at) == -1)
		goto fail;
	if (ki->expiry != NULL && obj->expires_at != 0 &&
	    store_set_time(r, ki->expiry, obj->expires_at) == -1)
		goto fail;
	if (ki->owner && obj->owner != NULL &&
	    json_object_set_new(r, "owner", json_string(obj->owner)) == -1)
		goto fail;
	return r;
fail:
	json_decref(r);
	return NULL;
}

json_t *
store_object_strip(json_t *rendered, enum store_kind kind)
{
	const struct store_kind_info	*ki = &store_kinds[kind];

	json_object_del(rendered, "name");
	json_object_del(rendered, "revision");
	json_object_del(rendered, "created_at");
	json_object_del(rendered, "updated_at");
	if (ki->expiry != NULL)
		json_object_del(rendered, ki->expiry);
	if (ki->owner)
		json_object_del(rendered, "owner");
	return rendered;
}

char *
store_object_text(const struct store_object *obj, json_t **rendered,
    size_t *lenp, struct nsreg_error *err)
{
	json_t	*r;
	char	*text = NULL;

	if ((r = store_object_render(obj)) == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s %s cannot be rendered", store_kind_name(obj->kind),
		    obj->name);
		goto done;
	}
	/* jansson refuses to dump strings or keys that are not UTF-8. */
	if ((text = json_dumps(r, JSON_COMPACT)) == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s %s: document is not valid JSON text (UTF-8)",
		    store_kind_name(obj->kind), obj->name);
		goto done;
	}
	*lenp = strlen(text);
	if (rendered != NULL) {
		*rendered = r;
		r = NULL;
	}
done:
	json_decref(r);
	return text;
}

const json_t *
store_object_services(const struct store_object *obj)
{
	const json_t	*a;

	if (obj->kind != STORE_ENDPOINT)
		return NULL;
	a = json_object_get(obj->doc, "network_service_names");
	return json_is_array(a) ? a : NULL;
}

int
store_object_check(const struct store_object *obj, struct nsreg_error *err)
{
	const json_t	*a, *v;
	char		 field[NSREG_ERROR_FIELD_MAX];
	size_t		 i;

	if (obj == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "no object");
	if (store_name_check(obj->kind, obj->name, err) == -1)
		return -1;
	if (!json_is_object(obj->doc))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s %s: document is not a JSON object",
		    store_kind_name(obj->kind), obj->name);
	if (obj->expires_at < 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "negative expiry time");
	if (obj->owner != NULL &&
	    !util_utf8_valid(obj->owner, strlen(obj->owner)))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "owner",
		    "owner is not valid UTF-8");
	if (obj->kind != STORE_ENDPOINT)
		return 0;
	a = json_object_get(obj->doc, "network_service_names");
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "network_service_names",
		    "network_service_names: not an array");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(field, sizeof(field),
			    "network_service_names[%zu]", i);
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    field, "%s: not a service name", field);
		}
	}
	return 0;
}

void
store_object_clear(struct store_object *obj)
{
	if (obj == NULL)
		return;
	free(obj->name);
	json_decref(obj->doc);
	free(obj->owner);
	free(obj->text);
	memset(obj, 0, sizeof(*obj));
}
