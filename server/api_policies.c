/*
 * api_policies.c - /v1/policies: admission rules (DESIGN sections 4 and
 * 5), admin only.  A rule is checked with policy_rule_check() before it
 * is stored; the admission engine follows the store's events and compiles
 * the new rule set (admission.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "api.h"
#include "server.h"
#include "validate.h"

/* Members the server keeps outside the stored document. */
static const char *const policies_meta[] = {
	"name", "revision", "created_at", "updated_at", NULL
};

/* The stored document of a PUT body for name, or NULL with err. */
static json_t *
policies_doc(struct server *srv, const char *name, const json_t *body,
    struct nsreg_error *err)
{
	struct policy_error	 perr;
	const json_t		*v;
	json_t			*rule = NULL, *doc = NULL;
	size_t			 i;

	v = json_object_get(body, "name");
	if (v != NULL && (!json_is_string(v) ||
	    strcmp(json_string_value(v), name) != 0)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "name: \"%s\" does not match the path's \"%s\"",
		    json_is_string(v) ? json_string_value(v) : "?", name);
		goto out;
	}
	if ((rule = json_copy((json_t *)body)) == NULL ||
	    json_object_set_new(rule, "name", json_string(name)) == -1)
		goto oom;
	if (policy_rule_check(rule, admission_policy_options(srv->admission),
	    &perr) == -1) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    perr.field[0] != '\0' ? perr.field : NULL, "%s",
		    perr.message);
		goto out;
	}
	if ((doc = json_copy(rule)) == NULL)
		goto oom;
	for (i = 0; policies_meta[i] != NULL; i++)
		json_object_del(doc, policies_meta[i]);
	if (json_object_get(doc, "mode") == NULL &&
	    json_object_set_new(doc, "mode", json_string("enforce")) == -1) {
		json_decref(doc);
		doc = NULL;
		goto oom;
	}
	goto out;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
out:
	json_decref(rule);
	return doc;
}

void
api_policies_put(struct server *srv, struct http_request *req)
{
	struct store_object	 obj;
	struct nsreg_error	 err;
	const char		*name = req->params[0];
	int64_t			 if_match;

	memset(&obj, 0, sizeof(obj));
	if (validate_name(name, 0, "name", &err) == -1 ||
	    api_if_match(req, &if_match, &err) == -1)
		goto fail;
	obj.kind = STORE_POLICY;
	if ((obj.doc = policies_doc(srv, name, req->json, &err)) == NULL)
		goto fail;
	if ((obj.name = strdup(name)) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	api_put_object(srv, req, &obj, if_match, NULL, NULL);
	/* The answer leaves after the new rule set is in place. */
	admission_sync(srv->admission);
	return;
fail:
	store_object_clear(&obj);
	http_reply_error(req, &err);
}

void
api_policies_get(struct server *srv, struct http_request *req)
{
	struct nsreg_error	err;

	if (validate_name(req->params[0], 0, "name", &err) == -1)
		http_reply_error(req, &err);
	else
		api_get_object(srv, req, STORE_POLICY, req->params[0]);
}

void
api_policies_delete(struct server *srv, struct http_request *req)
{
	struct nsreg_error	err;

	if (validate_name(req->params[0], 0, "name", &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	api_delete_object(srv, req, STORE_POLICY, req->params[0], NULL, NULL);
	admission_sync(srv->admission);
}

/*
 * POST /v1/policies/check: the checks of PUT (parse, type check, fields)
 * on a rule that is not stored; 200 {"ok":true} or the same 400.
 */
void
api_policies_check(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	const json_t		*v;
	const char		*name = "check";
	json_t			*doc;

	v = json_object_get(req->json, "name");
	if (json_is_string(v))
		name = json_string_value(v);
	if ((doc = policies_doc(srv, name, req->json, &err)) == NULL)
		http_reply_error(req, &err);
	else
		http_reply_json(req, HTTP_OK, json_pack("{s:b}", "ok", 1));
	json_decref(doc);
}

static int
policies_query_check(const char *key, const char *value, void *arg)
{
	static const char *const known[] = { "limit", "page_token", "watch",
	    "since", NULL };
	struct nsreg_error	*err = arg;
	size_t			 i;

	(void)value;
	for (i = 0; known[i] != NULL; i++)
		if (strcmp(key, known[i]) == 0)
			return 0;
	return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, key,
	    "%s: unknown query parameter", key);
}

void
api_policies_list(struct server *srv, struct http_request *req)
{
	struct store_query	q;
	struct nsreg_error	err;

	nsreg_error_clear(&err);
	if (http_query_each(req, policies_query_check, &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	memset(&q, 0, sizeof(q));
	q.kind = STORE_POLICY;
	api_list_or_watch(srv, req, &q, NULL);
}
