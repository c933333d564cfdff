/*
 * api_services.c - /v1/services: network services (DESIGN section 4).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "api.h"
#include "grants.h"
#include "api_interdomain.h"
#include "ipam.h"
#include "server.h"
#include "validate.h"

#define SERVICES_MATCHES_MAX	64
#define SERVICES_ROUTES_MAX	64
#define SERVICES_LABEL_FILTERS	16

static const char *const services_fields[] = {
	"name", "payload", "matches", "labels", "vl3",
	/* Read-only fields a client may send back from a GET. */
	"revision", "created_at", "updated_at", NULL
};
static const char *const services_match_fields[] = {
	"source_selector", "routes", "fallthrough", NULL
};
static const char *const services_route_fields[] = {
	"destination_selector", NULL
};
static const char *const services_vl3_fields[] = {
	"prefix", "client_prefix_len", NULL
};

static int
services_check_selector(const json_t *parent, const char *key,
    const char *prefix, json_t *out, struct nsreg_error *err)
{
	const json_t	*sel;
	char		 field[NSREG_ERROR_FIELD_MAX];

	if (validate_member(parent, key, JSON_OBJECT, prefix, &sel, err) == -1)
		return -1;
	snprintf(field, sizeof(field), "%s%s", prefix, key);
	if (sel != NULL && validate_labels(sel, field, err) == -1)
		return -1;
	return json_object_set_new(out, key, sel != NULL ? json_deep_copy(sel) :
	    json_object());
}

/* matches: [{source_selector, routes:[{destination_selector}], fallthrough}] */
static json_t *
services_matches(const json_t *matches, struct nsreg_error *err)
{
	const json_t	*m, *routes, *r, *ft;
	json_t		*out, *om, *oroutes, *or;
	char		 prefix[NSREG_ERROR_FIELD_MAX];
	size_t		 i, j;

	if ((out = json_array()) == NULL)
		goto oom;
	if (json_array_size(matches) > SERVICES_MATCHES_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "matches",
		    "matches: at most %d", SERVICES_MATCHES_MAX);
		goto fail;
	}
	json_array_foreach(matches, i, m) {
		snprintf(prefix, sizeof(prefix), "matches[%zu]", i);
		if (!json_is_object(m)) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, prefix,
			    "%s: must be an object", prefix);
			goto fail;
		}
		snprintf(prefix, sizeof(prefix), "matches[%zu].", i);
		if (validate_fields(m, services_match_fields, prefix,
		    err) == -1)
			goto fail;
		if ((om = json_object()) == NULL ||
		    json_array_append_new(out, om) == -1)
			goto oom;
		if (services_check_selector(m, "source_selector", prefix, om,
		    err) == -1)
			goto fail;
		if (validate_member(m, "routes", JSON_ARRAY, prefix, &routes,
		    err) == -1 || validate_member(m, "fallthrough", JSON_TRUE,
		    prefix, &ft, err) == -1)
			goto fail;
		if (json_array_size(routes) > SERVICES_ROUTES_MAX) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, prefix,
			    "%sroutes: at most %d", prefix,
			    SERVICES_ROUTES_MAX);
			goto fail;
		}
		if ((oroutes = json_array()) == NULL ||
		    json_object_set_new(om, "routes", oroutes) == -1)
			goto oom;
		json_array_foreach(routes, j, r) {
			snprintf(prefix, sizeof(prefix),
			    "matches[%zu].routes[%zu]", i, j);
			if (!json_is_object(r)) {
				nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
				    prefix, "%s: must be an object", prefix);
				goto fail;
			}
			snprintf(prefix, sizeof(prefix),
			    "matches[%zu].routes[%zu].", i, j);
			if (validate_fields(r, services_route_fields, prefix,
			    err) == -1)
				goto fail;
			if ((or = json_object()) == NULL ||
			    json_array_append_new(oroutes, or) == -1)
				goto oom;
			if (services_check_selector(r, "destination_selector",
			    prefix, or, err) == -1)
				goto fail;
		}
		json_object_set_new(om, "fallthrough",
		    json_boolean(json_is_true(ft)));
	}
	return out;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
fail:
	json_decref(out);
	return NULL;
}

static json_t *
services_vl3(const json_t *vl3, struct nsreg_error *err)
{
	struct ipam_pool	 pool;
	const json_t		*prefix, *cpl;
	json_int_t		 len;
	int			 family, plen, max;

	if (validate_fields(vl3, services_vl3_fields, "vl3.", err) == -1 ||
	    validate_member(vl3, "prefix", JSON_STRING, "vl3.", &prefix,
	    err) == -1 || validate_member(vl3, "client_prefix_len",
	    JSON_INTEGER, "vl3.", &cpl, err) == -1)
		return NULL;
	if (prefix == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "vl3.prefix",
		    "vl3.prefix: required");
		return NULL;
	}
	if (validate_prefix(json_string_value(prefix), &family, &plen,
	    "vl3.prefix", err) == -1)
		return NULL;
	max = family == 6 ? 128 : 32;
	len = cpl != NULL ? json_integer_value(cpl) : max;
	if (len < plen || len > max) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "vl3.client_prefix_len", "vl3.client_prefix_len: must be "
		    "from %d (the prefix length) to %d", plen, max);
		return NULL;
	}
	if (plen == max) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "vl3.prefix",
		    "vl3.prefix: /%d with client_prefix_len %lld leaves no "
		    "room for clients", plen, (long long)len);
		return NULL;
	}
	if (len - plen > IPAM_BLOCK_BITS_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "vl3.prefix",
		    "vl3.prefix: /%d with client_prefix_len %lld is a pool "
		    "of more than 2^%d blocks (a /%lld at most)", plen,
		    (long long)len, IPAM_BLOCK_BITS_MAX,
		    (long long)len - IPAM_BLOCK_BITS_MAX);
		return NULL;
	}
	/* Stored in canonical form: the pool is known by this text. */
	if (ipam_pool_init(&pool, json_string_value(prefix), (int)len,
	    "vl3.prefix", err) == -1)
		return NULL;
	if (ipam_pool_size(&pool) == 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "vl3.client_prefix_len", "vl3: %s cut into /%lld blocks "
		    "leaves no usable block (the first and last hold the "
		    "network and broadcast addresses)", pool.prefix,
		    (long long)len);
		return NULL;
	}
	return json_pack("{s:s, s:I}", "prefix", pool.prefix,
	    "client_prefix_len", len);
}

/* The stored document of a PUT body, or NULL with err. */
static json_t *
services_doc(const char *name, const json_t *body, struct nsreg_error *err)
{
	const json_t	*v, *payload, *matches, *labels, *vl3;
	json_t		*doc, *m = NULL;
	const char	*p = "IP";

	if (validate_fields(body, services_fields, "", err) == -1 ||
	    validate_member(body, "name", JSON_STRING, "", &v, err) == -1 ||
	    validate_member(body, "payload", JSON_STRING, "", &payload,
	    err) == -1 ||
	    validate_member(body, "matches", JSON_ARRAY, "", &matches,
	    err) == -1 ||
	    validate_member(body, "labels", JSON_OBJECT, "", &labels,
	    err) == -1 ||
	    validate_member(body, "vl3", JSON_OBJECT, "", &vl3, err) == -1)
		return NULL;
	if (v != NULL && strcmp(json_string_value(v), name) != 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "name: \"%s\" does not match the path's \"%s\"",
		    json_string_value(v), name);
		return NULL;
	}
	if (payload != NULL) {
		p = json_string_value(payload);
		if (strcmp(p, "IP") != 0 && strcmp(p, "ETHERNET") != 0) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "payload",
			    "payload: must be IP or ETHERNET");
			return NULL;
		}
	}
	if (labels != NULL && validate_labels(labels, "labels", err) == -1)
		return NULL;
	if (matches != NULL && (m = services_matches(matches, err)) == NULL)
		return NULL;
	if ((doc = json_pack("{s:s, s:o, s:o}", "payload", p, "matches",
	    m != NULL ? m : json_array(), "labels", labels != NULL ?
	    json_deep_copy(labels) : json_object())) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	if (vl3 != NULL) {
		json_t	*v3 = services_vl3(vl3, err);

		if (v3 == NULL) {
			json_decref(doc);
			return NULL;
		}
		json_object_set_new(doc, "vl3", v3);
	}
	return doc;
}

static int
services_check_name(const char *name, struct nsreg_error *err)
{
	if (validate_name(name, 1, "name", err) == -1)
		return -1;
	return 0;
}

int
api_services_prepare(struct server *srv, struct http_request *req,
    const char *name, const json_t *body, struct store_object *obj,
    json_t **decision, struct nsreg_error *err)
{
	struct admission_subject	 subj = { 0 };
	json_t				*rendered = NULL;
	int				 rc = -1;

	memset(obj, 0, sizeof(*obj));
	*decision = NULL;
	if (services_check_name(name, err) == -1)
		goto out;
	if (api_name_is_remote(name)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "%s belongs to another registry and cannot be written "
		    "here", name);
		goto out;
	}
	obj->kind = STORE_SERVICE;
	if ((obj->doc = services_doc(name, body, err)) == NULL)
		goto out;
	if ((obj->name = strdup(name)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	/* publish: the condition sees the record being written. */
	if ((rendered = store_object_render(obj)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	subj.service = name;
	subj.service_obj = rendered;
	if (api_authorize(srv, req, ADMISSION_ACTION_PUBLISH, &subj,
	    decision, err) == -1)
		goto out;
	json_decref(*decision);
	*decision = NULL;
	/*
	 * The vl3 pool cannot change under live grants: answered here, and
	 * enforced by the store inside the write (a grant may come between).
	 */
	if (grants_check_service(srv->grants, name, obj->doc, req->now,
	    err) == -1)
		goto out;
	rc = 0;
out:
	json_decref(rendered);
	if (rc == -1)
		store_object_clear(obj);
	return rc;
}

void
api_services_put(struct server *srv, struct http_request *req)
{
	struct store_object		 obj;
	struct nsreg_error		 err;
	json_t				*decision = NULL;
	int64_t				 if_match;

	nsreg_error_clear(&err);
	if (services_check_name(req->params[0], &err) == -1 ||
	    api_if_match(req, &if_match, &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	if (api_services_prepare(srv, req, req->params[0], req->json, &obj,
	    &decision, &err) == -1) {
		api_reply_denied(req, &err, decision);
		return;
	}
	api_put_object(srv, req, &obj, if_match, NULL, NULL);
}

int
api_services_delete_check(const struct store_object *cur,
    struct store_object *obj, void *arg, struct nsreg_error *err)
{
	struct api_write	*d = arg;
	struct admission_subject	 subj = { 0 };
	json_t			*rendered;
	int			 rc;

	(void)obj;
	if (cur->revision == d->revision)
		return 0;
	if ((rendered = store_object_render(cur)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	subj.service = cur->name;
	subj.service_obj = rendered;
	rc = api_authorize(d->srv, d->req, ADMISSION_ACTION_PUBLISH, &subj,
	    NULL, err);
	json_decref(rendered);
	if (rc == 0)
		d->revision = cur->revision;
	return rc;
}

void
api_services_get(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	const char		*name = req->params[0];

	if (services_check_name(name, &err) == -1)
		goto fail;
	if (api_name_is_remote(name)) {
		/* Another registry's: it answers (api_interdomain.h). */
		api_interdomain_service_get(srv, req, name);
		return;
	}
	api_find_or_delete(srv, req, STORE_SERVICE, name,
	    ADMISSION_ACTION_FIND, api_services_delete_check);
	return;
fail:
	http_reply_error(req, &err);
}

void
api_services_delete(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	const char		*name = req->params[0];

	if (services_check_name(name, &err) == -1)
		goto fail;
	api_find_or_delete(srv, req, STORE_SERVICE, name,
	    ADMISSION_ACTION_PUBLISH, api_services_delete_check);
	return;
fail:
	http_reply_error(req, &err);
}

/* ?label=k=v filters, all of which must hold. */
struct services_filter {
	size_t		 n;
	char		*keys[SERVICES_LABEL_FILTERS];
	const char	*values[SERVICES_LABEL_FILTERS];
};

static void
services_filter_free(void *arg)
{
	struct services_filter	*f = arg;
	size_t			 i;

	for (i = 0; i < f->n; i++)
		free(f->keys[i]);
	free(f);
}

static int
services_match(const json_t *object, void *arg)
{
	struct services_filter	*f = arg;
	const json_t		*labels, *v;
	size_t			 i;

	labels = json_object_get(object, "labels");
	for (i = 0; i < f->n; i++) {
		v = json_object_get(labels, f->keys[i]);
		if (!json_is_string(v) ||
		    strcmp(json_string_value(v), f->values[i]) != 0)
			return 0;
	}
	return 1;
}

static int
services_query_check(const char *key, const char *value, void *arg)
{
	struct nsreg_error	*err = arg;
	static const char *const known[] = { "label", "limit", "page_token",
	    "watch", "since", NULL };
	size_t			 i;

	(void)value;
	for (i = 0; known[i] != NULL; i++)
		if (strcmp(key, known[i]) == 0)
			return 0;
	nsreg_error_set(err, NSREG_INVALID_ARGUMENT, key,
	    "%s: unknown query parameter", key);
	return -1;
}

void
api_services_list(struct server *srv, struct http_request *req)
{
	struct services_filter	*f = NULL;
	struct admission_caller	 caller;
	struct store_query	 q;
	struct nsreg_error	 err;
	void			(*match_free)(void *) = services_filter_free;
	const char		*vals[SERVICES_LABEL_FILTERS + 1], *eq;
	size_t			 n, i;

	nsreg_error_clear(&err);
	if (http_query_each(req, services_query_check, &err) == -1)
		goto fail;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	n = http_query_values(req, "label", vals, SERVICES_LABEL_FILTERS + 1);
	if (n > SERVICES_LABEL_FILTERS) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "label",
		    "label: at most %d filters", SERVICES_LABEL_FILTERS);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if ((eq = strchr(vals[i], '=')) == NULL || eq == vals[i]) {
			nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "label",
			    "label: expected key=value, got \"%s\"", vals[i]);
			goto fail;
		}
		/* Copied: a watch keeps its filter after the request. */
		if ((f->keys[i] = strdup(vals[i])) == NULL) {
			nsreg_error_set(&err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto fail;
		}
		f->keys[i][eq - vals[i]] = '\0';
		f->values[i] = f->keys[i] + (eq - vals[i]) + 1;
		f->n++;
	}
	memset(&q, 0, sizeof(q));
	q.kind = STORE_SERVICE;
	q.match = f->n > 0 ? services_match : NULL;
	q.match_arg = f;
	/* Only the services the caller may find (action find, per item). */
	api_caller(req, &caller);
	if (admission_filter_list(srv->admission, &caller, NULL, 0,
	    api_is_watch(req), &q, &match_free, &err) == -1)
		goto fail;
	api_list_or_watch(srv, req, &q, match_free);
	return;
fail:
	if (f != NULL)
		services_filter_free(f);
	http_reply_error(req, &err);
}
