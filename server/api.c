/*
 * api.c - pieces shared by the resource handlers: object replies, ETag
 * and If-Match, pagination, list-or-watch, admission of a request.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "admission.h"
#include "api.h"
#include "grpc.h"
#include "log.h"
#include "server.h"
#include "spiffe.h"
#include "util.h"
#include "validate.h"
#include "watch.h"

#define API_LIMIT_DEFAULT	100
#define API_LIMIT_MAX		1000

void
api_caller(const struct http_request *req, struct admission_caller *c)
{
	c->principal = &req->principal;
	c->remote_addr = req->remote_addr;
	c->now = req->now;
	c->nsm_path = NULL;
	if (req->proto != HTTP_PROTO_2)
		c->protocol = "http/1.1";
	else if (grpc_content_type(http_header(req, "Content-Type"), NULL)) {
		/* grpc_dispatch keeps NSM's path metadata in req->json. */
		c->protocol = "grpc";
		c->nsm_path = json_object_get(req->json, "nsm_path");
	} else
		c->protocol = "h2";
}

int
api_authorize(struct server *srv, struct http_request *req,
    enum admission_action action, const struct admission_subject *subject,
    json_t **decision, struct nsreg_error *err)
{
	struct admission_caller	c;

	api_caller(req, &c);
	return admission_authorize(srv->admission, &c, action, subject,
	    decision, err);
}

void
api_reply_denied(struct http_request *req, const struct nsreg_error *err,
    json_t *decision)
{
	json_t	*body;

	if ((body = nsreg_error_json(err)) != NULL && decision != NULL)
		json_object_set_new(body, "decision", decision);
	else
		json_decref(decision);
	req->error_code = nsreg_code_name(err->code);
	http_reply_json(req, nsreg_code_status(err->code), body);
}

void
api_reply_object(struct http_request *req, unsigned int status,
    const struct store_object *obj)
{
	char	etag[32];

	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)obj->revision);
	http_add_header(req, "ETag", etag);
	if (obj->text != NULL)
		/* The stored rendering: no need to render it again. */
		http_reply_text(req, status, "application/json", obj->text,
		    obj->text_len);
	else
		http_reply_json(req, status, store_object_render(obj));
}

/*
 * Walk the If-Match list (RFC 9110 section 13.1.1): calls fn for each
 * strong tag's revision; weak tags (W/"...") are skipped, as the strong
 * comparison If-Match uses never matches them.  Returns the number of
 * strong tags, or -1 when the field is not a list of entity tags.
 */
static int
api_if_match_walk(const char *h, int (*fn)(int64_t, void *), void *arg)
{
	char		 num[24];
	long long	 v;
	size_t		 n;
	int		 strong = 0, weak;

	for (;;) {
		while (*h == ' ' || *h == '\t')
			h++;
		weak = strncmp(h, "W/", 2) == 0;
		if (weak)
			h += 2;
		if (*h != '"')
			return -1;
		for (n = 1; h[n] != '\0' && h[n] != '"'; n++)
			;
		if (h[n] != '"')
			return -1;
		if (!weak) {
			if (n - 1 == 0 || n - 1 >= sizeof(num))
				return -1;
			memcpy(num, h + 1, n - 1);
			num[n - 1] = '\0';
			if (util_number_parse(num, 1, INT64_MAX, &v) == -1)
				return -1;
			strong++;
			if (fn != NULL && fn(v, arg) == 1)
				return strong;
		}
		h += n + 1;
		while (*h == ' ' || *h == '\t')
			h++;
		if (*h == '\0')
			return strong;
		if (*h++ != ',')
			return -1;
		while (*h == ' ' || *h == '\t' || *h == ',')
			h++;
		if (*h == '\0')
			return strong;
	}
}

static int
api_if_match_first(int64_t rev, void *arg)
{
	*(int64_t *)arg = rev;
	return 1;
}

int
api_if_match(struct http_request *req, int64_t *rev, struct nsreg_error *err)
{
	const char	*h;
	int		 n;

	*rev = 0;
	if ((h = http_header(req, "If-Match")) == NULL)
		return 0;
	while (*h == ' ')
		h++;
	if (strcmp(h, "*") == 0) {
		*rev = -1;
		return 0;
	}
	if ((n = api_if_match_walk(h, NULL, NULL)) == -1)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "If-Match",
		    "If-Match: expected a list of revision ETags such as "
		    "\"42\", or *");
	if (n == 0)
		return nsreg_error_set(err, NSREG_FAILED_PRECONDITION,
		    "If-Match", "If-Match: weak entity tags never match "
		    "(RFC 9110 section 13.1.1)");
	if (n == 1)
		(void)api_if_match_walk(h, api_if_match_first, rev);
	else
		*rev = API_IF_MATCH_LIST;
	return 0;
}

struct api_if_match_want {
	int64_t	rev;
	int	hit;
};

static int
api_if_match_equal(int64_t rev, void *arg)
{
	struct api_if_match_want	*w = arg;

	if (rev != w->rev)
		return 0;
	w->hit = 1;
	return 1;
}

int
api_if_match_holds(struct http_request *req, int64_t current)
{
	struct api_if_match_want	 w;
	const char			*h;

	if ((h = http_header(req, "If-Match")) == NULL)
		return 1;
	while (*h == ' ')
		h++;
	if (strcmp(h, "*") == 0)
		return current > 0;
	w.rev = current;
	w.hit = 0;
	if (current > 0)
		(void)api_if_match_walk(h, api_if_match_equal, &w);
	return w.hit;
}

/* A list of tags: CAS against the current revision when it is listed. */
static int
api_if_match_resolve(struct server *srv, struct http_request *req,
    enum store_kind kind, const char *name, int64_t *if_match,
    struct nsreg_error *err)
{
	struct store_object	cur;
	int			rc = 0;

	if (*if_match != API_IF_MATCH_LIST)
		return 0;
	memset(&cur, 0, sizeof(cur));
	if (store_fetch(srv->store, kind, name, req->now, &cur, err) == -1) {
		if (err->code != NSREG_NOT_FOUND)
			return -1;
		cur.revision = 0;
	}
	if (!api_if_match_holds(req, cur.revision))
		rc = nsreg_error_set(err, NSREG_FAILED_PRECONDITION,
		    "If-Match", "%s is at revision %lld, not one of If-Match",
		    name, (long long)cur.revision);
	else
		*if_match = cur.revision;
	store_object_clear(&cur);
	return rc;
}

int
api_page_parse(struct http_request *req, struct api_page *pg,
    struct nsreg_error *err)
{
	const char	*s;
	long long	 v;

	pg->limit = API_LIMIT_DEFAULT;
	pg->after[0] = '\0';
	if ((s = http_query(req, "limit")) != NULL) {
		if (util_number_parse(s, 1, API_LIMIT_MAX, &v) == -1)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    "limit", "limit: must be a number from 1 to %d",
			    API_LIMIT_MAX);
		pg->limit = (size_t)v;
	}
	if ((s = http_query(req, "page_token")) != NULL && s[0] != '\0' &&
	    validate_page_token(s, pg->after, sizeof(pg->after), err) == -1)
		return -1;
	return 0;
}

static void	api_page_token(const char *, int, char *, size_t);

void
api_reply_list(struct http_request *req, json_t *items, int64_t revision,
    int more)
{
	const char	*name;
	char		 tok[1024];
	size_t		 n;

	n = json_array_size(items);
	name = n > 0 ? json_string_value(json_object_get(json_array_get(items,
	    n - 1), "name")) : NULL;
	api_page_token(name, more, tok, sizeof(tok));
	http_reply_json(req, HTTP_OK, json_pack("{s:o, s:I, s:s}", "items",
	    items, "revision", (json_int_t)revision, "next_page_token", tok));
}

/* The page token of a last name (base64 of it), "" when none. */
static void
api_page_token(const char *last, int more, char *tok, size_t len)
{
	tok[0] = '\0';
	if (more && last != NULL && strlen(last) < 700 && len >= 1024)
		EVP_EncodeBlock((unsigned char *)tok,
		    (const unsigned char *)last, (int)strlen(last));
}

/* A list page answered from the stored texts, never parsed. */
static int
api_list_text(struct server *srv, struct http_request *req,
    const struct store_query *q, struct nsreg_error *err)
{
	char	*body = NULL, *last = NULL, *out, tok[1024];
	size_t	 len, olen;
	int64_t	 rev;
	int	 more, n;

	if (store_list_text(srv->store, q, req->now, &body, &len, &last,
	    &rev, &more, err) == -1)
		return -1;
	api_page_token(last, more, tok, sizeof(tok));
	olen = len + strlen(tok) + 96;
	if ((out = malloc(olen)) == NULL) {
		free(body);
		free(last);
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	}
	/* Pieces copied, not formatted: the body is most of the answer. */
	memcpy(out, "{\"items\":", 9);
	memcpy(out + 9, body, len);
	n = (int)(9 + len);
	n += snprintf(out + n, olen - (size_t)n, ",\"revision\":%lld,"
	    "\"next_page_token\":\"%s\"}\n", (long long)rev, tok);
	http_reply_text(req, HTTP_OK, "application/json", out, (size_t)n);
	free(out);
	free(body);
	free(last);
	return 0;
}

/* A watch (watch.h) read through an HTTP stream. */
static ssize_t
api_watch_read(void *ctx, char *buf, size_t max)
{
	return watch_read(ctx, buf, max);
}

static void
api_watch_free(void *ctx)
{
	watch_close(ctx);
}

static void
api_watch_wake(void *stream)
{
	http_stream_wake(stream);
}

static int
api_watch_peer_gone(void *stream)
{
	return http_stream_peer_gone(stream);
}

static const struct http_stream_ops api_watch_ops = {
	.read = api_watch_read,
	.free = api_watch_free,
};

/* Start a watch stream on req; arguments as watch_open's.  0 or -1. */
static int
api_watch_start(struct server *srv, struct http_request *req,
    const struct store_query *q, void (*match_free)(void *), int64_t since,
    struct nsreg_error *err)
{
	struct watcher		*wt;
	struct http_stream	*stream;

	if ((wt = watch_open(srv->watch, q, match_free, since, req->now,
	    err)) == NULL)
		return -1;
	/* From here on the stream owns wt and frees it. */
	stream = http_reply_stream(req, "application/x-ndjson",
	    &api_watch_ops, wt);
	if (stream == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the stream");
	watch_attach(wt, api_watch_wake, stream);
	watch_attach_probe(wt, api_watch_peer_gone);
	return 0;
}

void
api_list_or_watch(struct server *srv, struct http_request *req,
    struct store_query *q, void (*match_free)(void *))
{
	struct nsreg_error	 err;
	struct api_page		 pg;
	const char		*w, *s, *last;
	char			 tok[1024];
	json_t			*items = NULL;
	int64_t			 rev, since = -1;
	long long		 v;
	int			 more = 0;

	nsreg_error_clear(&err);
	w = http_query(req, "watch");
	if (w != NULL && strcmp(w, "true") != 0 && strcmp(w, "false") != 0 &&
	    strcmp(w, "1") != 0 && strcmp(w, "0") != 0) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "watch",
		    "watch: must be true or false");
		goto fail;
	}
	if (api_is_watch(req)) {
		if ((s = http_query(req, "since")) != NULL) {
			if (util_number_parse(s, 0, INT64_MAX, &v) == -1) {
				nsreg_error_set(&err, NSREG_INVALID_ARGUMENT,
				    "since", "since: must be a revision "
				    "number");
				goto fail;
			}
			since = v;
		}
		if (api_watch_start(srv, req, q, match_free, since,
		    &err) == -1)
			http_reply_error(req, &err);
		return;
	}
	if (http_query(req, "since") != NULL) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "since",
		    "since: only with watch=true");
		goto fail;
	}
	if (api_page_parse(req, &pg, &err) == -1)
		goto fail;
	q->after_name = pg.after[0] != '\0' ? pg.after : NULL;
	q->limit = pg.limit;
	if (q->match == NULL) {
		/* No filter to run on objects: copy the stored texts. */
		if (api_list_text(srv, req, q, &err) == -1)
			goto fail;
		if (match_free != NULL)
			match_free(q->match_arg);
		return;
	}
	if (store_list(srv->store, q, req->now, &items, &rev, &more,
	    &err) == -1)
		goto fail;
	if (admission_filter_cut(q, &last)) {
		/*
		 * The rules spent the request's policy budget: the page ends
		 * at the last record decided, the token resumes after it.
		 */
		log_info("msg=\"list cut at the policy budget\" id=%s "
		    "items=%zu", req->id, json_array_size(items));
		api_page_token(last, 1, tok, sizeof(tok));
		http_reply_json(req, HTTP_OK, json_pack("{s:o, s:I, s:s}",
		    "items", items, "revision", (json_int_t)rev,
		    "next_page_token", tok));
	} else
		api_reply_list(req, items, rev, more);
	if (match_free != NULL)
		match_free(q->match_arg);
	return;
fail:
	if (match_free != NULL)
		match_free(q->match_arg);
	http_reply_error(req, &err);
}

int
api_is_watch(const struct http_request *req)
{
	const char	*w = http_query(req, "watch");

	return w != NULL && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0);
}

int
api_name_is_remote(const char *name)
{
	return strchr(name, '@') != NULL;
}

#define API_WRITE_ATTEMPTS	8	/* deletes that lose a race */

static const char *const api_collection[STORE_KIND_MAX] = {
	[STORE_SERVICE] = "/v1/services/",
	[STORE_ENDPOINT] = "/v1/endpoints/",
	[STORE_POLICY] = "/v1/policies/",
	[STORE_TRUST_DOMAIN] = "/v1/trust-domains/",
	[STORE_GRANT] = "/v1/grants/",
};

void
api_put_object(struct server *srv, struct http_request *req,
    struct store_object *obj, int64_t if_match, api_check_fn check,
    void *arg)
{
	struct nsreg_error	 err;
	char			 loc[600];
	int			 created;

	nsreg_error_clear(&err);
	if (api_if_match_resolve(srv, req, obj->kind, obj->name, &if_match,
	    &err) == -1 || store_put(srv->store, obj, if_match, check, arg,
	    req->now, &created, &err) == -1) {
		http_reply_error(req, &err);
		goto done;
	}
	if (created) {
		snprintf(loc, sizeof(loc), "%s%s", api_collection[obj->kind],
		    obj->name);
		http_add_header(req, "Location", loc);
	}
	api_reply_object(req, created ? HTTP_CREATED : HTTP_OK, obj);
done:
	store_object_clear(obj);
}

#define API_PUT_ARG_MAX	64

/* A put in flight: what its check and its reply need. */
struct api_put {
	struct http_request	*req;
	struct http_deferred	*def;
	struct store_object	 obj;
	api_check_fn		 check;
	size_t			 arg_len;
	char			 arg[API_PUT_ARG_MAX];
};

static int
api_put_check(const struct store_object *cur, struct store_object *obj,
    void *arg, struct nsreg_error *err)
{
	struct api_put	*p = arg;

	return p->check(cur, obj, p->arg_len > 0 ? p->arg : NULL, err);
}

/* Called by the store once the write is committed (or failed). */
static void
api_put_done(int rc, struct store_object *obj, int created,
    const struct nsreg_error *err, void *arg)
{
	struct api_put	*p = arg;
	char		 loc[600];

	if (rc == -1)
		http_reply_error(p->req, err);
	else {
		if (created) {
			snprintf(loc, sizeof(loc), "%s%s",
			    api_collection[obj->kind], obj->name);
			http_add_header(p->req, "Location", loc);
		}
		api_reply_object(p->req, created ? HTTP_CREATED : HTTP_OK,
		    obj);
	}
	store_object_clear(obj);
	http_deferred_done(p->def);
	free(p);
}

void
api_put_object_async(struct server *srv, struct http_request *req,
    struct store_object *obj, int64_t if_match, api_check_fn check,
    const void *arg, size_t arg_len)
{
	struct api_put		*p;
	struct nsreg_error	 err;

	nsreg_error_clear(&err);
	if (api_if_match_resolve(srv, req, obj->kind, obj->name, &if_match,
	    &err) == -1) {
		http_reply_error(req, &err);
		store_object_clear(obj);
		return;
	}
	if (arg_len > API_PUT_ARG_MAX || (p = calloc(1, sizeof(*p))) ==
	    NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		http_reply_error(req, &err);
		store_object_clear(obj);
		return;
	}
	p->req = req;
	p->obj = *obj;
	memset(obj, 0, sizeof(*obj));
	p->check = check;
	p->arg_len = arg_len;
	if (arg_len > 0)
		memcpy(p->arg, arg, arg_len);
	p->def = http_defer(req);
	if (store_put_async(srv->store, &p->obj, if_match,
	    check != NULL ? api_put_check : NULL, p, req->now, api_put_done, p,
	    &err) == -1) {
		http_reply_error(req, &err);
		store_object_clear(&p->obj);
		http_deferred_done(p->def);
		free(p);
	}
}

int
api_delete_run(struct server *srv, struct http_request *req,
    enum store_kind kind, const char *name, api_check_fn check, void *arg,
    struct nsreg_error *err)
{
	struct store_object	 cur;
	int64_t			 if_match;
	int			 attempt, rc = -1;

	memset(&cur, 0, sizeof(cur));
	if (api_if_match(req, &if_match, err) == -1)
		goto out;
	for (attempt = 0; attempt < API_WRITE_ATTEMPTS; attempt++) {
		store_object_clear(&cur);
		if (store_fetch(srv->store, kind, name, req->now, &cur,
		    err) == -1)
			goto out;
		if ((if_match > 0 && cur.revision != if_match) ||
		    (if_match == API_IF_MATCH_LIST &&
		    !api_if_match_holds(req, cur.revision))) {
			nsreg_error_set(err, NSREG_FAILED_PRECONDITION,
			    "If-Match", "%s is at revision %lld, not the one "
			    "If-Match names", name, (long long)cur.revision);
			goto out;
		}
		if (check != NULL && check(&cur, NULL, arg, err) == -1)
			goto out;
		if (store_delete(srv->store, kind, name, cur.revision,
		    req->now, NULL, err) == 0) {
			rc = 0;
			goto out;
		}
		if (err->code != NSREG_FAILED_PRECONDITION)
			goto out;
	}
	nsreg_error_set(err, NSREG_CONFLICT, NULL,
	    "%s changed %d times while deleting; try again", name,
	    API_WRITE_ATTEMPTS);
out:
	store_object_clear(&cur);
	return rc;
}

void
api_delete_object(struct server *srv, struct http_request *req,
    enum store_kind kind, const char *name, api_check_fn check, void *arg)
{
	struct nsreg_error	 err;

	nsreg_error_clear(&err);
	if (api_delete_run(srv, req, kind, name, check, arg, &err) == -1)
		http_reply_error(req, &err);
	else
		http_reply_json(req, HTTP_NO_CONTENT, NULL);
}

void
api_get_object(struct server *srv, struct http_request *req,
    enum store_kind kind, const char *name)
{
	struct store_object	 obj;
	struct nsreg_error	 err;

	memset(&obj, 0, sizeof(obj));
	if (store_fetch(srv->store, kind, name, req->now, &obj, &err) == -1)
		http_reply_error(req, &err);
	else
		api_reply_object(req, HTTP_OK, &obj);
	store_object_clear(&obj);
}

int
api_find_or_delete_run(struct server *srv, struct http_request *req,
    enum store_kind kind, const char *name, enum admission_action action,
    api_check_fn delete_check, struct store_object *found_obj,
    json_t **decision, struct nsreg_error *err)
{
	struct store_object	 cur;
	struct admission_subject	 subj = { 0 };
	struct api_write	 w;
	json_t			*rendered = NULL;
	int			 found, rc = -1;

	memset(&cur, 0, sizeof(cur));
	*decision = NULL;
	found = store_fetch(srv->store, kind, name, req->now, &cur,
	    err) == 0;
	if (!found && err->code != NSREG_NOT_FOUND)
		goto out;
	if (found && (rendered = store_object_render(&cur)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (kind == STORE_ENDPOINT) {
		subj.endpoint = name;
		subj.endpoint_obj = rendered;
	} else {
		subj.service = name;
		subj.service_obj = rendered;
	}
	if (api_authorize(srv, req, action, &subj, decision, err) == -1)
		goto out;
	json_decref(*decision);
	*decision = NULL;
	if (!found) {
		nsreg_error_set(err, NSREG_NOT_FOUND, NULL, "%s %s not found",
		    store_kind_name(kind), name);
		goto out;
	}
	if (action == ADMISSION_ACTION_FIND) {
		if (found_obj != NULL) {
			*found_obj = cur;
			memset(&cur, 0, sizeof(cur));
		}
		rc = 0;
	} else {
		w.srv = srv;
		w.req = req;
		w.revision = cur.revision;
		rc = api_delete_run(srv, req, kind, name, delete_check, &w,
		    err);
	}
out:
	json_decref(rendered);
	store_object_clear(&cur);
	return rc;
}

void
api_find_or_delete(struct server *srv, struct http_request *req,
    enum store_kind kind, const char *name, enum admission_action action,
    api_check_fn delete_check)
{
	struct store_object	 obj;
	struct nsreg_error	 err;
	json_t			*decision = NULL;

	nsreg_error_clear(&err);
	memset(&obj, 0, sizeof(obj));
	if (api_find_or_delete_run(srv, req, kind, name, action,
	    delete_check, &obj, &decision, &err) == -1)
		api_reply_denied(req, &err, decision);
	else if (action == ADMISSION_ACTION_FIND)
		api_reply_object(req, HTTP_OK, &obj);
	else
		http_reply_json(req, HTTP_NO_CONTENT, NULL);
	store_object_clear(&obj);
}
