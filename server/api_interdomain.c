/*
 * api_interdomain.c - answer reads of "x@domain" from that trust domain's
 * registry (api_interdomain.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "api.h"
#include "auth.h"
#include "federation.h"
#include "api_interdomain.h"
#include "log.h"
#include "origin.h"
#include "peer.h"
#include "peer_watch.h"
#include "server.h"
#include "spiffe.h"
#include "store.h"
#include "trust.h"
#include "util.h"
#include "validate.h"

#define INTERDOMAIN_URL_MAX	(VALIDATE_URL_MAX + INTERDOMAIN_QUERY_MAX + 64)
#define INTERDOMAIN_PEER_MSG	300	/* bytes of a peer's message shown */

/*
 * Split "x@domain" into local (at least VALIDATE_NAME_MAX + 1 bytes) and
 * td (SPIFFE_TD_MAX + 1).  The name was validated with its domain.
 */
static int
interdomain_split(const char *name, char *local, char *td,
    struct nsreg_error *err)
{
	const char	*at = strchr(name, '@');
	size_t		 n;

	if (at == NULL || (n = (size_t)(at - name)) > VALIDATE_NAME_MAX ||
	    spiffe_td_check(at + 1, strlen(at + 1), td) != SPIFFE_OK)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "%s: not a name of another registry (x@domain)", name);
	memcpy(local, name, n);
	local[n] = '\0';
	return 0;
}

/* The "message" of a peer's error body, bounded, or a stand-in. */
static void
interdomain_peer_message(const char *body, size_t blen, char *buf,
    size_t len)
{
	const char	*m = NULL;
	json_t		*j;

	j = json_loadb(body, blen, 0, NULL);
	m = json_string_value(json_object_get(json_object_get(j, "error"),
	    "message"));
	snprintf(buf, len, "%.*s", INTERDOMAIN_PEER_MSG,
	    m != NULL ? m : "no error message");
	json_decref(j);
}

/*
 * A digest (FNV-1a) of the authorities of a stored trust domain's bundle:
 * the peer client opens new connections when it changes (peer.h), and
 * only then, not at every refresh that fetched the same keys.
 */
static uint64_t
interdomain_bundle_id(const json_t *tdo)
{
	const unsigned char	*c;
	uint64_t		 h = 14695981039346656037ULL;
	char			*s;

	s = json_dumps(json_object_get(json_object_get(tdo, "bundle"), "keys"),
	    JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	for (c = (const unsigned char *)(s != NULL ? s : ""); *c != '\0'; c++)
		h = (h ^ *c) * 1099511628211ULL;
	free(s);
	return h;
}

/* What an interdomain read is (how its answer becomes the reply). */
enum interdomain_kind {
	INTERDOMAIN_SERVICE = 0,
	INTERDOMAIN_ENDPOINT,
	INTERDOMAIN_LIST
};

/* A read in flight: the request sleeps (http_defer) until the answer. */
struct interdomain_call {
	struct http_request	*req;
	struct http_deferred	*def;
	enum interdomain_kind	 kind;
	char			 name[VALIDATE_NAME_MAX + SPIFFE_TD_MAX + 2];
	char			 td[SPIFFE_TD_MAX + 1];
	int64_t			 t0;	/* monotonic us */
};

static void	interdomain_done(void *arg, const struct peer_answer *a);

int
api_interdomain_peer(struct server *srv, const struct principal *caller,
    const char *name, const char *td,
    const struct interdomain_peer_call *call,
    void (*done)(void *arg, const struct peer_answer *a), void *arg,
    struct nsreg_error *err)
{
	struct store_object	 tdo;
	struct peer_request	 pr;
	const char		*base;
	char			*cert = NULL, *key = NULL, *origin = NULL;
	char			*hdr = NULL, *body = NULL;
	char			 url[INTERDOMAIN_URL_MAX];
	char			 what[SPIFFE_TD_MAX + 16];
	size_t			 n;
	int64_t			 timeout;
	int			 rc = -1;

	memset(&tdo, 0, sizeof(tdo));
	memset(&pr, 0, sizeof(pr));
	if (trust_is_local(auth_trust(srv->auth), td)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "%s: %s is this registry's own trust domain: name the "
		    "record without @%s", name, td, td);
		goto out;
	}
	if (store_fetch(srv->store, STORE_TRUST_DOMAIN, td, util_now_ms(),
	    &tdo, err) == -1) {
		if (err->code == NSREG_NOT_FOUND)
			nsreg_error_set(err, NSREG_NOT_FOUND, NULL,
			    "%s: no registry is configured for its trust "
			    "domain", name);
		goto out;
	}
	base = json_string_value(json_object_get(tdo.doc, "registry_url"));
	if (base == NULL) {
		nsreg_error_set(err, NSREG_NOT_FOUND, NULL,
		    "%s: no registry is configured for its trust domain",
		    name);
		goto out;
	}
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)n, base,
	    call->path_query) >= sizeof(url)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: the query is too long", name);
		goto out;
	}
	if (federation_client(srv->federation, &cert, &key, &timeout,
	    err) == -1)
		goto out;
	if (cert == NULL) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
		    "%s: asking the registry of %s needs tls-cert and tls-key "
		    "(this server's SVID)", name, td);
		goto out;
	}
	/* On whose behalf: the peer decides whether it believes it. */
	if (caller != NULL && (origin = origin_encode(caller)) != NULL) {
		n = strlen(ORIGIN_HEADER) + strlen(origin) + 3;
		if ((hdr = malloc(n)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		snprintf(hdr, n, "%s: %s", ORIGIN_HEADER, origin);
		pr.headers[pr.nheaders++] = hdr;
	}
	if (call->body != NULL) {
		if ((body = json_dumps(call->body, JSON_COMPACT)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		pr.headers[pr.nheaders++] = "Content-Type: application/json";
		pr.body = body;
		pr.body_len = strlen(body);
	}
	snprintf(what, sizeof(what), "registry of %s", td);
	pr.trust_domain = td;
	pr.base = base;
	pr.bundle_id = interdomain_bundle_id(tdo.doc);
	pr.url = url;
	pr.method = call->method;
	pr.client_cert = cert;
	pr.client_key = key;
	pr.timeout_ms = timeout;
	pr.backoff_ms = srv->conf->interdomain_backoff;
	pr.max_body = INTERDOMAIN_BODY_MAX;
	pr.what = what;
	rc = peer_call(srv->peer, &pr, done, arg, err);
out:
	free(body);
	free(hdr);
	free(origin);
	free(cert);
	free(key);
	store_object_clear(&tdo);
	return rc;
}

/*
 * Ask td's registry for path_query (starting with "/v1/") on the
 * caller's behalf without holding this thread: the reply is made by
 * interdomain_done when the answer comes (peer.h), or here at once on an
 * error.  name is the name asked about, for messages and the check of
 * the answer.
 */
static void
interdomain_call(struct server *srv, struct http_request *req,
    enum interdomain_kind kind, const char *name, const char *td,
    const char *path_query)
{
	struct interdomain_peer_call	 call;
	struct interdomain_call		*c;
	struct nsreg_error		 err;

	nsreg_error_clear(&err);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		http_reply_error(req, &err);
		return;
	}
	c->req = req;
	c->kind = kind;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->td, sizeof(c->td), "%s", td);
	c->t0 = util_mono_us();
	memset(&call, 0, sizeof(call));
	call.path_query = path_query;
	/* Deferred first: the answer may come before the call returns. */
	c->def = http_defer(req);
	if (api_interdomain_peer(srv, &req->principal, name, td, &call,
	    interdomain_done, c, &err) == -1) {
		http_reply_error(req, &err);
		http_deferred_done(c->def);
		free(c);
	}
}

int
api_interdomain_status(const struct peer_answer *a, const char *td,
    struct nsreg_error *err)
{
	char	msg[INTERDOMAIN_PEER_MSG + 1];

	if (a->err != NULL) {
		*err = *a->err;
		return -1;
	}
	if (a->status >= 200 && a->status < 300)
		return 0;
	interdomain_peer_message(a->body, a->len, msg, sizeof(msg));
	switch (a->status) {
	case 400:
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "registry of %s: %s", td, msg);
	case 401:
		return nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "registry of %s did not accept this server's credential: "
		    "%s", td, msg);
	case 403:
		return nsreg_error_set(err, NSREG_PERMISSION_DENIED, NULL,
		    "registry of %s refused: %s", td, msg);
	case 404:
		return nsreg_error_set(err, NSREG_NOT_FOUND, NULL,
		    "registry of %s: %s", td, msg);
	case 409:
		return nsreg_error_set(err, NSREG_RESOURCE_EXHAUSTED, NULL,
		    "registry of %s: %s", td, msg);
	default:
		return nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "registry of %s answered HTTP %ld: %s", td, a->status,
		    msg);
	}
}

/*
 * The peer's answer a as a JSON object (*out, new reference), or -1 with
 * err as the caller should see it.
 */
static int
interdomain_answer(const char *td, const struct peer_answer *a,
    json_t **out, struct nsreg_error *err)
{
	json_error_t		 jerr;
	int			 rc = -1;

	*out = NULL;
	if (api_interdomain_status(a, td, err) == -1)
		goto out;
	if (a->status != 200) {
		nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "registry of %s answered HTTP %ld", td, a->status);
		goto out;
	}
	if ((*out = json_loadb(a->body, a->len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "registry of %s answered something that is not a JSON "
		    "object", td);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

static int
interdomain_bad_answer(const char *td, const char *what,
    struct nsreg_error *err)
{
	return nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
	    "registry of %s answered %s", td, what);
}

/* "name@td" as a new JSON string from a peer's own name v. */
static json_t *
interdomain_qualify(const json_t *v, const char *td, struct nsreg_error *err)
{
	char	buf[VALIDATE_NAME_MAX + SPIFFE_TD_MAX + 2];
	json_t	*s;

	if (!json_is_string(v) || validate_name(json_string_value(v), 0,
	    "name", NULL) == -1) {
		interdomain_bad_answer(td, "a name that is not one of its own",
		    err);
		return NULL;
	}
	snprintf(buf, sizeof(buf), "%s@%s", json_string_value(v), td);
	if ((s = json_string(buf)) == NULL)
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
	return s;
}

/* o[key] (a peer's name) gets "@td". */
static int
interdomain_qualify_member(json_t *o, const char *key, const char *td,
    struct nsreg_error *err)
{
	json_t	*s;

	if ((s = interdomain_qualify(json_object_get(o, key), td,
	    err)) == NULL)
		return -1;
	if (json_object_set_new(o, key, s) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	return 0;
}

static int
interdomain_service(json_t *o, const char *td, struct nsreg_error *err)
{
	if (!json_is_object(o))
		return interdomain_bad_answer(td, "a service that is not an "
		    "object", err);
	return interdomain_qualify_member(o, "name", td, err);
}

static int
interdomain_endpoint(json_t *o, const char *td, struct nsreg_error *err)
{
	json_t		*names, *labels, *nl, *s, *v;
	const char	*k;
	size_t		 i;

	if (!json_is_object(o))
		return interdomain_bad_answer(td, "an endpoint that is not an "
		    "object", err);
	if (interdomain_qualify_member(o, "name", td, err) == -1)
		return -1;
	names = json_object_get(o, "network_service_names");
	if (names != NULL && !json_is_array(names))
		return interdomain_bad_answer(td, "network_service_names "
		    "that are not an array", err);
	json_array_foreach(names, i, v) {
		if ((s = interdomain_qualify(v, td, err)) == NULL)
			return -1;
		if (json_array_set_new(names, i, s) == -1)
			goto oom;
	}
	labels = json_object_get(o, "network_service_labels");
	if (labels == NULL)
		return 0;
	if (!json_is_object(labels))
		return interdomain_bad_answer(td, "network_service_labels "
		    "that are not an object", err);
	if ((nl = json_object()) == NULL)
		goto oom;
	json_object_foreach(labels, k, v) {
		json_t	*key = json_string(k);

		s = key != NULL ? interdomain_qualify(key, td, err) : NULL;
		json_decref(key);
		if (s == NULL) {
			json_decref(nl);
			return key == NULL ? nsreg_error_set(err,
			    NSREG_INTERNAL, NULL, "out of memory") : -1;
		}
		if (json_object_set(nl, json_string_value(s), v) == -1) {
			json_decref(s);
			json_decref(nl);
			goto oom;
		}
		json_decref(s);
	}
	if (json_object_set_new(o, "network_service_labels", nl) == -1)
		goto oom;
	return 0;
oom:
	return nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
}

/*
 * May the caller find name (x@domain) at all?  This server's rules decide
 * first, with the full name as the service or endpoint; denied, the
 * reply (403 with the decision) is made and -1 returned.
 */
static int
interdomain_authorize(struct server *srv, struct http_request *req,
    const char *service, const char *endpoint)
{
	struct admission_subject	 subj;
	struct nsreg_error	 err;
	json_t			*decision = NULL;

	memset(&subj, 0, sizeof(subj));
	subj.service = service;
	subj.endpoint = endpoint;
	nsreg_error_clear(&err);
	if (api_authorize(srv, req, ADMISSION_ACTION_FIND, &subj, &decision,
	    &err) == -1) {
		api_reply_denied(req, &err, decision);
		return -1;
	}
	json_decref(decision);
	return 0;
}

/* Reply with one remote object, checking it is the one asked for. */
static void
interdomain_reply_object(struct http_request *req, json_t *o,
    const char *name, const char *td)
{
	struct nsreg_error	 err;
	const json_t		*rev;
	char			 etag[32];

	if (!json_is_string(json_object_get(o, "name")) ||
	    strcmp(json_string_value(json_object_get(o, "name")), name) != 0) {
		interdomain_bad_answer(td, "another record than the one asked "
		    "for", &err);
		json_decref(o);
		http_reply_error(req, &err);
		return;
	}
	/* The peer's revision: its answers are versioned by it. */
	rev = json_object_get(o, "revision");
	if (json_is_integer(rev)) {
		snprintf(etag, sizeof(etag), "\"%lld\"",
		    (long long)json_integer_value(rev));
		http_add_header(req, "ETag", etag);
	}
	http_reply_json(req, HTTP_OK, o);
}

/* The list answer o: every endpoint qualified. */
static int
interdomain_list(json_t *o, const char *td, struct nsreg_error *err)
{
	json_t	*items, *e;
	size_t	 i;

	items = json_object_get(o, "items");
	if (!json_is_array(items))
		return interdomain_bad_answer(td, "a list without items", err);
	json_array_foreach(items, i, e)
		if (interdomain_endpoint(e, td, err) == -1)
			return -1;
	return 0;
}

/* The peer thread: the answer of c's call becomes its reply. */
static void
interdomain_done(void *arg, const struct peer_answer *a)
{
	struct interdomain_call	*c = arg;
	struct nsreg_error	 err;
	json_t			*o = NULL;

	nsreg_error_clear(&err);
	if (interdomain_answer(c->td, a, &o, &err) == -1)
		goto fail;
	log_debug("msg=interdomain trust_domain=%s status=%ld bytes=%zu "
	    "dur_ms=%.1f", c->td, a->status, a->len,
	    (double)(util_mono_us() - c->t0) / 1000.0);
	switch (c->kind) {
	case INTERDOMAIN_SERVICE:
		if (interdomain_service(o, c->td, &err) == -1)
			goto fail;
		interdomain_reply_object(c->req, o, c->name, c->td);
		break;
	case INTERDOMAIN_ENDPOINT:
		if (interdomain_endpoint(o, c->td, &err) == -1)
			goto fail;
		interdomain_reply_object(c->req, o, c->name, c->td);
		break;
	case INTERDOMAIN_LIST:
		if (interdomain_list(o, c->td, &err) == -1)
			goto fail;
		http_reply_json(c->req, HTTP_OK, o);
		break;
	}
	goto out;
fail:
	json_decref(o);
	http_reply_error(c->req, &err);
out:
	http_deferred_done(c->def);
	free(c);
}

void
api_interdomain_service_get(struct server *srv, struct http_request *req,
    const char *name)
{
	struct nsreg_error	 err;
	char			 local[VALIDATE_NAME_MAX + 1];
	char			 td[SPIFFE_TD_MAX + 1], path[512];

	if (interdomain_split(name, local, td, &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	if (interdomain_authorize(srv, req, name, NULL) == -1)
		return;
	snprintf(path, sizeof(path), "/v1/services/%s", local);
	interdomain_call(srv, req, INTERDOMAIN_SERVICE, name, td, path);
}

void
api_interdomain_endpoint_get(struct server *srv, struct http_request *req,
    const char *name)
{
	struct nsreg_error	 err;
	char			 local[VALIDATE_NAME_MAX + 1];
	char			 td[SPIFFE_TD_MAX + 1], path[512];

	if (interdomain_split(name, local, td, &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	if (interdomain_authorize(srv, req, NULL, name) == -1)
		return;
	snprintf(path, sizeof(path), "/v1/endpoints/%s", local);
	interdomain_call(srv, req, INTERDOMAIN_ENDPOINT, name, td, path);
}

/* The query passed on to the peer. */
struct interdomain_query {
	const char		*td;
	char			 buf[INTERDOMAIN_QUERY_MAX];
	size_t			 len;
	struct nsreg_error	*err;
};

static int
interdomain_append(struct interdomain_query *q, const char *s, int encode)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (q->len + 4 > sizeof(q->buf))
			return nsreg_error_set(q->err, NSREG_INVALID_ARGUMENT,
			    NULL, "the query is longer than %d bytes",
			    INTERDOMAIN_QUERY_MAX);
		if (!encode || (c >= 'a' && c <= 'z') || (c >= 'A' &&
		    c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~')
			q->buf[q->len++] = (char)c;
		else {
			q->buf[q->len++] = '%';
			q->buf[q->len++] = hex[c >> 4];
			q->buf[q->len++] = hex[c & 15];
		}
	}
	q->buf[q->len] = '\0';
	return 0;
}

/*
 * v without its "@td" suffix into out: -1 when it names another
 * registry's (or, with need, no registry's) record.
 */
static int
interdomain_strip(const char *v, const char *td, int need, char *out,
    size_t len)
{
	const char	*at = strchr(v, '@');
	size_t		 n;

	if (at == NULL) {
		if (need)
			return -1;
		snprintf(out, len, "%s", v);
		return 0;
	}
	if (strcmp(at + 1, td) != 0 || (n = (size_t)(at - v)) >= len)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

static int
interdomain_query_arg(const char *key, const char *value, void *arg)
{
	struct interdomain_query	*q = arg;
	char				 k[1024], v[1024], field[64];
	const char			*p;
	size_t				 tdl = strlen(q->td);

	if (strcmp(key, "watch") == 0 || strcmp(key, "since") == 0)
		return 0;
	snprintf(k, sizeof(k), "%s", key);
	snprintf(v, sizeof(v), "%s", value);
	if (strcmp(key, "service") == 0) {
		if (interdomain_strip(value, q->td, 1, v, sizeof(v)) == -1)
			return nsreg_error_set(q->err, NSREG_INVALID_ARGUMENT,
			    "service", "service: %s is not of trust domain "
			    "%s: the filters of one query go to one registry",
			    value, q->td);
	} else if (strcmp(key, "name") == 0) {
		if (interdomain_strip(value, q->td, 0, v, sizeof(v)) == -1)
			return nsreg_error_set(q->err, NSREG_INVALID_ARGUMENT,
			    "name", "name: %s is not of trust domain %s", value,
			    q->td);
	} else if (strncmp(key, "label.", 6) == 0) {
		/* label.S@td.k: the service part loses its suffix. */
		for (p = strchr(key, '@'); p != NULL; p = strchr(p + 1, '@'))
			if (strncmp(p + 1, q->td, tdl) == 0 &&
			    p[1 + tdl] == '.')
				break;
		if (p == NULL || (size_t)(p - key) >= sizeof(k)) {
			snprintf(field, sizeof(field), "%.60s", key);
			return nsreg_error_set(q->err, NSREG_INVALID_ARGUMENT,
			    field, "%s: the service must be one of trust "
			    "domain %s (label.S@%s.KEY)", field, q->td, q->td);
		}
		snprintf(k, sizeof(k), "%.*s%s", (int)(p - key), key,
		    p + 1 + tdl);
	}
	if ((q->len > 0 && interdomain_append(q, "&", 0) == -1) ||
	    interdomain_append(q, k, 1) == -1 ||
	    interdomain_append(q, "=", 0) == -1 ||
	    interdomain_append(q, v, 1) == -1)
		return -1;
	return 0;
}

/* Where and how to ask a trust domain's registry. */
struct interdomain_target {
	struct store_object	 tdo;		/* the stored trust domain */
	const char		*base;		/* its registry_url (tdo's) */
	uint64_t		 bundle_id;
	char			*cert;		/* tls-cert, owned */
	char			*key;		/* tls-key, owned */
	int64_t			 timeout;
	char			 url[INTERDOMAIN_URL_MAX];
	char			 what[SPIFFE_TD_MAX + 16];
};

static void
interdomain_target_clear(struct interdomain_target *t)
{
	free(t->cert);
	free(t->key);
	store_object_clear(&t->tdo);
	memset(t, 0, sizeof(*t));
}

/*
 * Fill t for asking td's registry for path_query (starting with "/v1/");
 * name is the name asked about, for messages.  0, or -1 with err (t
 * cleared either way by interdomain_target_clear).
 */
static int
interdomain_target(struct server *srv, const char *name, const char *td,
    const char *path_query, struct interdomain_target *t,
    struct nsreg_error *err)
{
	size_t	n;
	int	rc = -1;

	memset(t, 0, sizeof(*t));
	if (trust_is_local(auth_trust(srv->auth), td)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "%s: %s is this registry's own trust domain: name the "
		    "record without @%s", name, td, td);
		goto out;
	}
	if (store_fetch(srv->store, STORE_TRUST_DOMAIN, td, util_now_ms(),
	    &t->tdo, err) == -1) {
		if (err->code == NSREG_NOT_FOUND)
			nsreg_error_set(err, NSREG_NOT_FOUND, NULL,
			    "%s: no registry is configured for its trust "
			    "domain", name);
		goto out;
	}
	t->base = json_string_value(json_object_get(t->tdo.doc,
	    "registry_url"));
	if (t->base == NULL) {
		nsreg_error_set(err, NSREG_NOT_FOUND, NULL,
		    "%s: no registry is configured for its trust domain",
		    name);
		goto out;
	}
	n = strlen(t->base);
	while (n > 0 && t->base[n - 1] == '/')
		n--;
	if ((size_t)snprintf(t->url, sizeof(t->url), "%.*s%s", (int)n,
	    t->base, path_query) >= sizeof(t->url)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: the query is too long", name);
		goto out;
	}
	if (federation_client(srv->federation, &t->cert, &t->key,
	    &t->timeout, err) == -1)
		goto out;
	if (t->cert == NULL) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
		    "%s: asking the registry of %s needs tls-cert and tls-key "
		    "(this server's SVID)", name, td);
		goto out;
	}
	t->bundle_id = interdomain_bundle_id(t->tdo.doc);
	snprintf(t->what, sizeof(t->what), "registry of %s", td);
	rc = 0;
out:
	return rc;
}

static ssize_t
interdomain_watch_read(void *ctx, char *buf, size_t max)
{
	return peer_watch_read(ctx, buf, max);
}

static void
interdomain_watch_free(void *ctx)
{
	peer_watch_close(ctx);
}

static void
interdomain_watch_wake(void *stream)
{
	http_stream_wake(stream);
}

static const struct http_stream_ops interdomain_watch_ops = {
	.read = interdomain_watch_read,
	.free = interdomain_watch_free,
};

/*
 * GET path_query of td's registry as a watch (peer_watch.h): the events
 * of its stream, names suffixed, from the peer's revision since= when
 * given.
 */
static void
interdomain_watch(struct server *srv, struct http_request *req,
    const char *name, const char *td, const char *path_query)
{
	struct interdomain_target	 t;
	struct peer_watch_query		 wq;
	struct peer_watcher		*wt;
	struct http_stream		*stream;
	struct nsreg_error		 err;
	const char			*s;
	char				*origin = NULL, *hdr = NULL;
	char				*key = NULL;
	long long			 v;
	int64_t				 since = -1;
	size_t				 n;

	nsreg_error_clear(&err);
	memset(&t, 0, sizeof(t));
	if ((s = http_query(req, "since")) != NULL) {
		if (util_number_parse(s, 0, INT64_MAX, &v) == -1) {
			nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "since",
			    "since: must be a revision number");
			goto fail;
		}
		since = v;
	}
	if (interdomain_target(srv, name, td, path_query, &t, &err) == -1)
		goto fail;
	/*
	 * On whose behalf (origin.h): a stream is shared only by watchers
	 * the peer sees as the same caller.
	 */
	if ((origin = origin_encode(&req->principal)) != NULL) {
		n = strlen(ORIGIN_HEADER) + strlen(origin) + 3;
		if ((hdr = malloc(n)) == NULL) {
			nsreg_error_set(&err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto fail;
		}
		snprintf(hdr, n, "%s: %s", ORIGIN_HEADER, origin);
	}
	n = strlen(td) + strlen(path_query) + (origin != NULL ?
	    strlen(origin) : 1) + 3;
	if ((key = malloc(n)) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	snprintf(key, n, "%s %s %s", td, path_query, origin != NULL ?
	    origin : "-");
	memset(&wq, 0, sizeof(wq));
	wq.key = key;
	wq.trust_domain = td;
	wq.base = t.base;
	wq.bundle_id = t.bundle_id;
	wq.url = t.url;
	wq.client_cert = t.cert;
	wq.client_key = t.key;
	wq.timeout_ms = t.timeout;
	wq.backoff_ms = srv->conf->interdomain_backoff;
	wq.what = t.what;
	wq.header = hdr;
	wq.qualify = interdomain_endpoint;
	if ((wt = peer_watch_open(srv->peer_watch, &wq, since, &err)) == NULL)
		goto fail;
	/* From here on the stream owns wt and frees it. */
	if ((stream = http_reply_stream(req, "application/x-ndjson",
	    &interdomain_watch_ops, wt)) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL,
		    "cannot start the stream");
		goto fail;
	}
	peer_watch_attach(wt, interdomain_watch_wake, stream);
	goto out;
fail:
	http_reply_error(req, &err);
out:
	free(key);
	free(hdr);
	free(origin);
	interdomain_target_clear(&t);
}

void
api_interdomain_endpoints_list(struct server *srv, struct http_request *req,
    const char *service)
{
	struct interdomain_query	*q = NULL;
	struct nsreg_error		 err;
	char				 local[VALIDATE_NAME_MAX + 1];
	char				 td[SPIFFE_TD_MAX + 1];
	char				 path[INTERDOMAIN_QUERY_MAX + 32];

	nsreg_error_clear(&err);
	if (interdomain_split(service, local, td, &err) == -1)
		goto fail;
	if (interdomain_authorize(srv, req, service, NULL) == -1)
		return;
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	q->td = td;
	q->err = &err;
	if (http_query_each(req, interdomain_query_arg, q) == -1)
		goto fail;
	snprintf(path, sizeof(path), "/v1/endpoints?%s", q->buf);
	free(q);
	q = NULL;
	if (api_is_watch(req))
		interdomain_watch(srv, req, service, td, path);
	else
		interdomain_call(srv, req, INTERDOMAIN_LIST, service, td,
		    path);
	return;
fail:
	free(q);
	http_reply_error(req, &err);
}
