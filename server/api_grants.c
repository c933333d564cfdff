/*
 * api_grants.c - /v1/grants and /v1/jwks: connection grants (DESIGN
 * section 4, "Grants"): the handlers.  The grant engine (grants.h) makes,
 * refreshes, revokes and introspects them; here requests are checked and
 * answered.
 *
 * Lists and watches show each caller only the grants it may read: its
 * own, those whose audience it is, and every one to an admin.
 * Introspection is open to every authenticated caller: forwarders hold
 * no grant themselves.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_interdomain.h"
#include "grants.h"
#include "server.h"
#include "util.h"
#include "validate.h"

#define GRANTS_FILTER_MAX	PRINCIPAL_ID_MAX

static const char *const grants_fields[] = {
	"service", "labels", "endpoint", NULL
};

/*
 * Reply status with the grant made and its token: Location (when
 * created) and ETag, the stored object plus "token".  A grant created
 * that cannot be answered is withdrawn.
 */
static void
grants_reply_issued(struct server *srv, struct http_request *req,
    unsigned int status, struct grants_issued *gi)
{
	const struct store_object *obj = &gi->obj;
	struct nsreg_error	 err;
	json_t			*body = NULL;
	char			*text = NULL;
	char			 loc[64], etag[32];
	size_t			 tl, n = 0;

	snprintf(loc, sizeof(loc), "/v1/grants/%s", obj->name);
	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)obj->revision);
	if (status == HTTP_CREATED)
		http_add_header(req, "Location", loc);
	http_add_header(req, "ETag", etag);
	/*
	 * The stored text plus the token (base64url and dots: nothing to
	 * escape), rather than rendering the object again.
	 */
	if (obj->text != NULL && obj->text_len > 2 &&
	    obj->text[obj->text_len - 1] == '}') {
		tl = strlen(gi->token);
		n = obj->text_len - 1 + strlen(",\"token\":\"\"}") + tl;
		if ((text = malloc(n + 1)) == NULL)
			goto oom;
		memcpy(text, obj->text, obj->text_len - 1);
		snprintf(text + obj->text_len - 1, n + 1 - (obj->text_len - 1),
		    ",\"token\":\"%s\"}", gi->token);
		http_reply_text(req, status, "application/json", text, n);
		goto out;
	}
	if ((body = store_object_render(obj)) == NULL ||
	    json_object_set_new(body, "token", json_string(gi->token)) == -1)
		goto oom;
	http_reply_json(req, status, body);
	body = NULL;
	goto out;
oom:
	nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
	if (status == HTTP_CREATED)
		grants_withdraw(srv->grants, obj->name, req->now);
	http_reply_error(req, &err);
out:
	json_decref(body);
	if (text != NULL) {
		explicit_bzero(text, n);
		free(text);
	}
}

/* ---- POST /v1/grants ----------------------------------------------------- */

void
api_grants_create(struct server *srv, struct http_request *req)
{
	struct admission_caller	 c;
	struct grants_issued	 gi;
	struct nsreg_error	 err;
	const json_t		*svc, *ep, *labels;
	int			 remote;

	memset(&gi, 0, sizeof(gi));
	nsreg_error_clear(&err);
	if (grants_issuable(&req->principal, &err) == -1)
		goto fail;
	if (validate_fields(req->json, grants_fields, "", &err) == -1 ||
	    validate_member(req->json, "service", JSON_STRING, "", &svc,
	    &err) == -1 ||
	    validate_member(req->json, "endpoint", JSON_STRING, "", &ep,
	    &err) == -1 ||
	    validate_member(req->json, "labels", JSON_OBJECT, "", &labels,
	    &err) == -1)
		goto fail;
	if (svc == NULL) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "service",
		    "service: required");
		goto fail;
	}
	remote = api_name_is_remote(json_string_value(svc));
	if (validate_name(json_string_value(svc), 1, "service", &err) == -1 ||
	    (ep != NULL && validate_name(json_string_value(ep), remote,
	    "endpoint", &err) == -1) ||
	    (labels != NULL && validate_labels(labels, "labels", &err) == -1))
		goto fail;
	if (remote) {
		/* Asked of the registry of its trust domain, for the caller. */
		api_interdomain_grant(srv, req, json_string_value(svc),
		    ep != NULL ? json_string_value(ep) : NULL, labels);
		goto done;
	}
	api_caller(req, &c);
	if (grants_issue(srv->grants, &c, json_string_value(svc),
	    ep != NULL ? json_string_value(ep) : NULL, labels, &gi,
	    &err) == -1) {
		if (gi.decision != NULL) {
			api_reply_denied(req, &err, gi.decision);
			gi.decision = NULL;
			goto done;
		}
		goto fail;
	}
	grants_reply_issued(srv, req, HTTP_CREATED, &gi);
	goto done;
fail:
	http_reply_error(req, &err);
done:
	grants_issued_clear(&gi);
}

/* ---- GET, DELETE, refresh ------------------------------------------------ */

void
api_grants_get(struct server *srv, struct http_request *req)
{
	struct store_object	 obj;
	struct nsreg_error	 err;
	json_t			*r = NULL;

	memset(&obj, 0, sizeof(obj));
	if (grants_fetch(srv->grants, &req->principal, req->params[0],
	    req->now, &obj, &r, &err) == -1)
		http_reply_error(req, &err);
	else
		api_reply_object(req, HTTP_OK, &obj);
	json_decref(r);
	store_object_clear(&obj);
}

/* If-Match with several tags: the grant's revision when it is listed. */
static int
api_grants_if_match_list(struct server *srv, struct http_request *req,
    int64_t *if_match, struct nsreg_error *err)
{
	struct store_object	 obj;
	json_t			*r = NULL;
	int			 rc = 0;

	if (*if_match != API_IF_MATCH_LIST)
		return 0;
	memset(&obj, 0, sizeof(obj));
	if (grants_fetch(srv->grants, &req->principal, req->params[0],
	    req->now, &obj, &r, err) == -1)
		rc = -1;
	else if (!api_if_match_holds(req, obj.revision))
		rc = nsreg_error_set(err, NSREG_FAILED_PRECONDITION,
		    "If-Match", "grant %s is at revision %lld", obj.name,
		    (long long)obj.revision);
	else
		*if_match = obj.revision;
	json_decref(r);
	store_object_clear(&obj);
	return rc;
}

void
api_grants_delete(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	int64_t			 if_match;

	if (api_if_match(req, &if_match, &err) == -1 ||
	    api_grants_if_match_list(srv, req, &if_match, &err) == -1 ||
	    grants_revoke(srv->grants, &req->principal, req->params[0],
	    if_match, req->now, &err) == -1)
		http_reply_error(req, &err);
	else
		http_reply_json(req, HTTP_NO_CONTENT, NULL);
}

void
api_grants_refresh(struct server *srv, struct http_request *req)
{
	struct admission_caller	 c;
	struct grants_issued	 gi;
	struct nsreg_error	 err;

	nsreg_error_clear(&err);
	api_caller(req, &c);
	if (grants_refresh(srv->grants, &c, req->params[0], &gi,
	    &err) == 0)
		grants_reply_issued(srv, req, HTTP_OK, &gi);
	else if (gi.decision != NULL) {
		api_reply_denied(req, &err, gi.decision);
		gi.decision = NULL;
	} else
		http_reply_error(req, &err);
	grants_issued_clear(&gi);
}

/* ---- introspection and keys ---------------------------------------------- */

void
api_grants_introspect(struct server *srv, struct http_request *req)
{
	static const char *const fields[] = { "token", NULL };
	struct nsreg_error	 err;
	const json_t		*tok;
	json_t			*claims = NULL, *body;
	int			 active;

	if (validate_fields(req->json, fields, "", &err) == -1 ||
	    validate_member(req->json, "token", JSON_STRING, "", &tok,
	    &err) == -1)
		goto fail;
	if (tok == NULL) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "token",
		    "token: required");
		goto fail;
	}
	active = grants_introspect(srv->grants, json_string_value(tok),
	    req->now, &claims);
	/* RFC 7662: "active" first, the claims only when active. */
	if ((body = json_pack("{s:b}", "active", active)) == NULL ||
	    (active && json_object_update(body, claims) == -1)) {
		json_decref(body);
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	http_reply_json(req, HTTP_OK, body);
	goto done;
fail:
	http_reply_error(req, &err);
done:
	json_decref(claims);
}

void
api_jwks(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	char			*text;
	size_t			 len;

	if (grants_jwks(srv->grants, req->now, &text, &len, &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	http_reply_text(req, HTTP_OK, "application/json", text, len);
	free(text);
}

/* ---- lists --------------------------------------------------------------- */

/* ?principal= &service= &endpoint= and who is asking (copied). */
struct grants_filter {
	char		*principal;
	char		*service;
	char		*endpoint;
	char		*caller;	/* NULL: an admin, sees all */
	struct nsreg_error *err;
};

static void
grants_filter_free(void *arg)
{
	struct grants_filter	*f = arg;

	if (f == NULL)
		return;
	free(f->principal);
	free(f->service);
	free(f->endpoint);
	free(f->caller);
	free(f);
}

static int
grants_str_is(const json_t *v, const char *want)
{
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static int
grants_match(const json_t *o, void *arg)
{
	struct grants_filter	*f = arg;

	if (f->caller != NULL &&
	    !grants_str_is(json_object_get(o, "principal"), f->caller) &&
	    !grants_str_is(json_object_get(o, "audience"), f->caller))
		return 0;
	if (f->principal != NULL &&
	    !grants_str_is(json_object_get(o, "principal"), f->principal))
		return 0;
	if (f->service != NULL &&
	    !grants_str_is(json_object_get(o, "service"), f->service))
		return 0;
	if (f->endpoint != NULL && !grants_str_is(json_object_get(
	    json_object_get(o, "endpoint"), "name"), f->endpoint))
		return 0;
	return 1;
}

static int
grants_query_arg(const char *key, const char *value, void *arg)
{
	struct grants_filter	*f = arg;
	char			**slot = NULL;
	char			 field[NSREG_ERROR_FIELD_MAX];

	if (strcmp(key, "principal") == 0)
		slot = &f->principal;
	else if (strcmp(key, "service") == 0)
		slot = &f->service;
	else if (strcmp(key, "endpoint") == 0)
		slot = &f->endpoint;
	else if (strcmp(key, "limit") == 0 || strcmp(key, "page_token") == 0 ||
	    strcmp(key, "watch") == 0 || strcmp(key, "since") == 0)
		return 0;
	else {
		snprintf(field, sizeof(field), "%s", key);
		return nsreg_error_set(f->err, NSREG_INVALID_ARGUMENT, field,
		    "%s: unknown query parameter", field);
	}
	if (strlen(value) > GRANTS_FILTER_MAX ||
	    !util_utf8_valid(value, strlen(value)))
		return nsreg_error_set(f->err, NSREG_INVALID_ARGUMENT, key,
		    "%s: too long or not UTF-8", key);
	free(*slot);
	if ((*slot = strdup(value)) == NULL)
		return nsreg_error_set(f->err, NSREG_INTERNAL, NULL,
		    "out of memory");
	return 0;
}

void
api_grants_list(struct server *srv, struct http_request *req)
{
	struct grants_filter	*f;
	struct store_query	 q;
	struct nsreg_error	 err;

	nsreg_error_clear(&err);
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	f->err = &err;
	if (http_query_each(req, grants_query_arg, f) == -1)
		goto fail;
	f->err = NULL;
	if (!req->principal.admin &&
	    (f->caller = strdup(req->principal.id)) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	memset(&q, 0, sizeof(q));
	q.kind = STORE_GRANT;
	q.match = f->caller != NULL || f->principal != NULL ||
	    f->service != NULL || f->endpoint != NULL ? grants_match : NULL;
	q.match_arg = f;
	api_list_or_watch(srv, req, &q, grants_filter_free);
	return;
fail:
	grants_filter_free(f);
	http_reply_error(req, &err);
}

