/*
 * api_endpoints.c - /v1/endpoints: network service endpoints (DESIGN
 * section 4): registration with owner and expiry, NSM query-by-example.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "api.h"
#include "api_interdomain.h"
#include "server.h"
#include "util.h"
#include "validate.h"

#define ENDPOINTS_SERVICES_MAX	64
#define ENDPOINTS_FILTERS_MAX	32

static const char *const endpoints_fields[] = {
	"name", "url", "network_service_names", "network_service_labels",
	"expiration_time",
	/* Read-only fields a client may send back from a GET. */
	"initial_registration_time", "owner", "revision", "created_at",
	"updated_at", NULL
};

static int
endpoints_url(const char *url, struct nsreg_error *err)
{
	const char	*p;
	size_t		 n = strlen(url);

	if (n == 0 || n > VALIDATE_URL_MAX)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "url",
		    "url: must have 1 to %d bytes", VALIDATE_URL_MAX);
	for (p = url; *p != '\0' && *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (p > url && ((*p >= '0' && *p <= '9') || *p == '+' ||
		    *p == '-' || *p == '.'))))
			break;
	if (p == url || strncmp(p, "://", 3) != 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "url",
		    "url: expected scheme://address (e.g. tcp://10.0.0.1:5002)");
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    "url", "url: spaces and control characters are "
			    "not allowed");
	return 0;
}

static json_t *
endpoints_doc(const char *name, const json_t *body, int64_t now,
    int64_t *expires, struct nsreg_error *err)
{
	const json_t	*v, *url, *names, *labels, *exp, *e;
	const char	*k;
	json_t		*l;
	char		 field[NSREG_ERROR_FIELD_MAX];
	size_t		 i, j;

	*expires = 0;
	if (validate_fields(body, endpoints_fields, "", err) == -1 ||
	    validate_member(body, "name", JSON_STRING, "", &v, err) == -1 ||
	    validate_member(body, "url", JSON_STRING, "", &url, err) == -1 ||
	    validate_member(body, "network_service_names", JSON_ARRAY, "",
	    &names, err) == -1 ||
	    validate_member(body, "network_service_labels", JSON_OBJECT, "",
	    &labels, err) == -1 ||
	    validate_member(body, "expiration_time", JSON_STRING, "", &exp,
	    err) == -1)
		return NULL;
	if (v != NULL && strcmp(json_string_value(v), name) != 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "name: \"%s\" does not match the path's \"%s\"",
		    json_string_value(v), name);
		return NULL;
	}
	if (url == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "url",
		    "url: required");
		return NULL;
	}
	if (endpoints_url(json_string_value(url), err) == -1)
		return NULL;
	if (names == NULL || json_array_size(names) == 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "network_service_names", "network_service_names: at least "
		    "one network service is required");
		return NULL;
	}
	if (json_array_size(names) > ENDPOINTS_SERVICES_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "network_service_names", "network_service_names: at most "
		    "%d", ENDPOINTS_SERVICES_MAX);
		return NULL;
	}
	json_array_foreach(names, i, e) {
		snprintf(field, sizeof(field), "network_service_names[%zu]",
		    i);
		if (!json_is_string(e)) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
			    "%s: must be a string", field);
			return NULL;
		}
		if (validate_name(json_string_value(e), 0, field, err) == -1)
			return NULL;
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(names, j)),
			    json_string_value(e)) == 0) {
				nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
				    field, "%s: %s is listed twice", field,
				    json_string_value(e));
				return NULL;
			}
	}
	json_object_foreach((json_t *)labels, k, l) {
		snprintf(field, sizeof(field), "network_service_labels.%s", k);
		json_array_foreach(names, i, e)
			if (strcmp(json_string_value(e), k) == 0)
				break;
		if (i == json_array_size(names)) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
			    "%s: %s is not in network_service_names", field, k);
			return NULL;
		}
		if (validate_labels(l, field, err) == -1)
			return NULL;
	}
	if (exp != NULL) {
		if (util_rfc3339_parse(json_string_value(exp), expires) == -1) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    "expiration_time", "expiration_time: not an RFC "
			    "3339 time");
			return NULL;
		}
		if (*expires <= now) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    "expiration_time", "expiration_time: in the past");
			return NULL;
		}
	}
	return json_pack("{s:O, s:O, s:o}", "url", url,
	    "network_service_names", names, "network_service_labels",
	    labels != NULL ? json_deep_copy(labels) : json_object());
}

/* A write to one endpoint, authorised for one revision of its record. */
/* A record deleted after it moved since it was authorised: again. */
static int
endpoints_reauthorize(struct api_write *w,
    const struct store_object *cur, struct nsreg_error *err)
{
	struct admission_subject	 subj = { 0 };
	json_t			*rendered;
	int			 rc;

	if ((rendered = store_object_render(cur)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	subj.endpoint = cur->name;
	subj.endpoint_obj = rendered;
	rc = api_authorize(w->srv, w->req, ADMISSION_ACTION_UNREGISTER, &subj,
	    NULL, err);
	json_decref(rendered);
	if (rc == 0)
		w->revision = cur->revision;
	return rc;
}

/* Owner enforcement and what a refresh keeps (api_check_fn). */
int
api_endpoints_check(const struct store_object *cur, struct store_object *obj,
    void *arg, struct nsreg_error *err)
{
	struct api_write	*w = arg;
	struct http_request	*req = w->req;
	const struct principal	*p = &req->principal;
	const json_t		*irt;
	char			 ts[UTIL_RFC3339_MAX];

	if (cur != NULL && !p->admin &&
	    (cur->owner == NULL || strcmp(cur->owner, p->id) != 0))
		return nsreg_error_set(err, NSREG_PERMISSION_DENIED, NULL,
		    "endpoint %s is owned by %s", cur->name,
		    cur->owner != NULL ? cur->owner : "an admin");
	if (obj == NULL) {
		/* A delete. */
		if (cur->revision != w->revision)
			return endpoints_reauthorize(w, cur, err);
		return 0;
	}
	free(obj->owner);
	obj->owner = NULL;
	if (cur != NULL) {
		if (cur->owner != NULL &&
		    (obj->owner = strdup(cur->owner)) == NULL)
			goto oom;
		irt = json_object_get(cur->doc, "initial_registration_time");
		if (irt != NULL && json_object_set(obj->doc,
		    "initial_registration_time", (json_t *)irt) == -1)
			goto oom;
		return 0;
	}
	if (p->id[0] != '\0' && (obj->owner = strdup(p->id)) == NULL)
		goto oom;
	if (json_object_set_new(obj->doc, "initial_registration_time",
	    json_string(util_rfc3339_format(req->now, ts,
	    sizeof(ts)))) == -1)
		goto oom;
	return 0;
oom:
	return nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
}

/*
 * The owner the condition sees: the caller.  No fetch is needed: a
 * caller that is not the owner cannot register the endpoint anyway
 * (endpoints_check refuses it inside the write), and admins bypass the
 * rules.
 */
static int
endpoints_owner(struct http_request *req, struct store_object *obj,
    struct nsreg_error *err)
{
	free(obj->owner);
	obj->owner = NULL;
	if (req->principal.id[0] != '\0' &&
	    (obj->owner = strdup(req->principal.id)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	return 0;
}

int
api_endpoints_prepare(struct server *srv, struct http_request *req,
    const char *name, const json_t *body, struct store_object *obj,
    json_t **decision, struct nsreg_error *err)
{
	struct admission_subject	 subj = { 0 };
	const struct principal	*p = &req->principal;
	json_t			*rendered = NULL;
	int64_t			 requested, cap;
	int			 rc = -1;

	memset(obj, 0, sizeof(*obj));
	*decision = NULL;
	if (validate_name(name, 1, "name", err) == -1)
		goto out;
	if (api_name_is_remote(name)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "%s belongs to another registry and cannot be written "
		    "here", name);
		goto out;
	}
	obj->kind = STORE_ENDPOINT;
	if ((obj->doc = endpoints_doc(name, body, req->now, &requested,
	    err)) == NULL)
		goto out;
	/* The earliest of the request, the maximum TTL and the credential. */
	obj->expires_at = requested != 0 ? requested :
	    req->now + srv->conf->endpoint_default_ttl;
	cap = req->now + srv->conf->endpoint_max_ttl;
	if (obj->expires_at > cap)
		obj->expires_at = cap;
	if (p->expires_at != 0 && obj->expires_at > p->expires_at)
		obj->expires_at = p->expires_at;
	if (obj->expires_at <= req->now) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "expiration_time", "the caller's credential has expired");
		goto out;
	}
	if ((obj->name = strdup(name)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	/*
	 * register: the condition sees the endpoint as sent, with its owner,
	 * once per offered service; every one must be allowed.
	 */
	if (endpoints_owner(req, obj, err) == -1 ||
	    (rendered = store_object_render(obj)) == NULL) {
		if (err->code == NSREG_OK)
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
		goto out;
	}
	subj.endpoint = name;
	subj.endpoint_obj = rendered;
	if (api_authorize(srv, req, ADMISSION_ACTION_REGISTER, &subj,
	    decision, err) == -1)
		goto out;
	json_decref(*decision);
	*decision = NULL;
	rc = 0;
out:
	json_decref(rendered);
	if (rc == -1)
		store_object_clear(obj);
	return rc;
}

void
api_endpoints_put(struct server *srv, struct http_request *req)
{
	struct store_object	 obj;
	struct nsreg_error	 err;
	struct api_write	 w = { 0 };
	json_t			*decision = NULL;
	int64_t			 if_match;

	nsreg_error_clear(&err);
	memset(&obj, 0, sizeof(obj));
	if (api_if_match(req, &if_match, &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	if (api_endpoints_prepare(srv, req, req->params[0], req->json, &obj,
	    &decision, &err) == -1) {
		api_reply_denied(req, &err, decision);
		return;
	}
	w.srv = srv;
	w.req = req;
	api_put_object_async(srv, req, &obj, if_match, api_endpoints_check,
	    &w, sizeof(w));
}

void
api_endpoints_get(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	const char		*name = req->params[0];

	if (validate_name(name, 1, "name", &err) == -1)
		goto fail;
	if (api_name_is_remote(name)) {
		/* Another registry's: it answers (api_interdomain.h). */
		api_interdomain_endpoint_get(srv, req, name);
		return;
	}
	api_find_or_delete(srv, req, STORE_ENDPOINT, name,
	    ADMISSION_ACTION_FIND, api_endpoints_check);
	return;
fail:
	http_reply_error(req, &err);
}

void
api_endpoints_delete(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	const char		*name = req->params[0];

	if (validate_name(name, 0, "name", &err) == -1)
		goto fail;
	api_find_or_delete(srv, req, STORE_ENDPOINT, name,
	    ADMISSION_ACTION_UNREGISTER, api_endpoints_check);
	return;
fail:
	http_reply_error(req, &err);
}

/*
 * Query by example.  Strings are copied: a watch keeps its filter after
 * the request.
 */
struct endpoints_filter {
	char		*services[ENDPOINTS_FILTERS_MAX];
	size_t		 nservices;
	char		*label_keys[ENDPOINTS_FILTERS_MAX];	/* "S.k" */
	char		*label_values[ENDPOINTS_FILTERS_MAX];
	size_t		 nlabels;
	char		*name;
	char		*url;
	int64_t		 expiration_s;	/* 0: any */
	struct nsreg_error *err;
};

struct endpoints_filter *
api_endpoints_filter_new(void)
{
	return calloc(1, sizeof(struct endpoints_filter));
}

void
api_endpoints_filter_expiration(struct endpoints_filter *f, int64_t seconds)
{
	f->expiration_s = seconds;
}

void
api_endpoints_filter_free(void *arg)
{
	struct endpoints_filter	*f = arg;
	size_t			 i;

	for (i = 0; i < f->nservices; i++)
		free(f->services[i]);
	for (i = 0; i < f->nlabels; i++) {
		free(f->label_keys[i]);
		free(f->label_values[i]);
	}
	free(f->name);
	free(f->url);
	free(f);
}

static int	endpoints_query_arg(const char *, const char *, void *);

/*
 * "S.k" = v: S and k may both hold dots, so every split is tried and
 * the filter holds when one of them does.
 */
static int
endpoints_label_match(const json_t *nsl, const char *sk, const char *v)
{
	const char	*dot;
	const json_t	*labels, *have;
	char		 svc[VALIDATE_NAME_MAX + 1];
	size_t		 n;

	for (dot = strchr(sk, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		n = (size_t)(dot - sk);
		if (n == 0 || n >= sizeof(svc))
			continue;
		memcpy(svc, sk, n);
		svc[n] = '\0';
		labels = json_object_get(nsl, svc);
		have = json_object_get(labels, dot + 1);
		if (json_is_string(have) &&
		    strcmp(json_string_value(have), v) == 0)
			return 1;
	}
	return 0;
}

static int
endpoints_match(const json_t *o, void *arg)
{
	struct endpoints_filter	*f = arg;
	const json_t		*names, *e, *url;
	int64_t			 exp;
	size_t			 i, j;

	if (f->name != NULL && strcmp(f->name, json_string_value(
	    json_object_get(o, "name"))) != 0)
		return 0;
	url = json_object_get(o, "url");
	if (f->url != NULL && (!json_is_string(url) ||
	    strstr(json_string_value(url), f->url) == NULL))
		return 0;
	names = json_object_get(o, "network_service_names");
	for (i = 0; i < f->nservices; i++) {
		json_array_foreach(names, j, e)
			if (strcmp(json_string_value(e), f->services[i]) == 0)
				break;
		if (j == json_array_size(names))
			return 0;
	}
	for (i = 0; i < f->nlabels; i++)
		if (!endpoints_label_match(json_object_get(o,
		    "network_service_labels"), f->label_keys[i],
		    f->label_values[i]))
			return 0;
	if (f->expiration_s != 0 && (util_rfc3339_parse(json_string_value(
	    json_object_get(o, "expiration_time")), &exp) == -1 ||
	    exp / 1000 != f->expiration_s))
		return 0;
	return 1;
}

int
api_endpoints_filter_add(struct endpoints_filter *f, const char *key,
    const char *value, struct nsreg_error *err)
{
	int	rc;

	f->err = err;
	rc = endpoints_query_arg(key, value, f);
	f->err = NULL;
	return rc;
}

static int
endpoints_query_arg(const char *key, const char *value, void *arg)
{
	struct endpoints_filter	*f = arg;
	char			 field[NSREG_ERROR_FIELD_MAX];

	if (strcmp(key, "service") == 0) {
		if (f->nservices == ENDPOINTS_FILTERS_MAX)
			return nsreg_error_set(f->err, NSREG_INVALID_ARGUMENT,
			    "service", "service: at most %d filters",
			    ENDPOINTS_FILTERS_MAX);
		if (validate_name(value, 1, "service", f->err) == -1)
			return -1;
		if ((f->services[f->nservices] = strdup(value)) == NULL)
			goto oom;
		f->nservices++;
	} else if (strncmp(key, "label.", 6) == 0) {
		if (f->nlabels == ENDPOINTS_FILTERS_MAX)
			return nsreg_error_set(f->err, NSREG_INVALID_ARGUMENT,
			    "label", "label.S.k: at most %d filters",
			    ENDPOINTS_FILTERS_MAX);
		if (strchr(key + 6, '.') == NULL || key[6] == '.') {
			snprintf(field, sizeof(field), "%s", key);
			return nsreg_error_set(f->err, NSREG_INVALID_ARGUMENT,
			    field, "%s: expected label.SERVICE.KEY=VALUE",
			    field);
		}
		if ((f->label_keys[f->nlabels] = strdup(key + 6)) == NULL)
			goto oom;
		if ((f->label_values[f->nlabels] = strdup(value)) == NULL) {
			free(f->label_keys[f->nlabels]);
			goto oom;
		}
		f->nlabels++;
	} else if (strcmp(key, "name") == 0) {
		free(f->name);
		if ((f->name = strdup(value)) == NULL)
			goto oom;
	} else if (strcmp(key, "url") == 0) {
		free(f->url);
		if ((f->url = strdup(value)) == NULL)
			goto oom;
	} else if (strcmp(key, "limit") != 0 &&
	    strcmp(key, "page_token") != 0 && strcmp(key, "watch") != 0 &&
	    strcmp(key, "since") != 0) {
		snprintf(field, sizeof(field), "%s", key);
		return nsreg_error_set(f->err, NSREG_INVALID_ARGUMENT, field,
		    "%s: unknown query parameter", field);
	}
	return 0;
oom:
	return nsreg_error_set(f->err, NSREG_INTERNAL, NULL, "out of memory");
}

int
api_endpoints_query(struct server *srv, struct http_request *req,
    struct endpoints_filter *f, int watch, struct store_query *q,
    void (**match_free)(void *), struct nsreg_error *err)
{
	struct admission_caller	 caller;

	*match_free = api_endpoints_filter_free;
	memset(q, 0, sizeof(*q));
	q->kind = STORE_ENDPOINT;
	q->services = (const char **)f->services;
	q->nservices = f->nservices;
	/*
	 * A list filters services on the index and needs the objects only
	 * for the other filters; a watch filters every event.
	 */
	q->match = watch || f->nlabels > 0 || f->name != NULL ||
	    f->url != NULL || f->expiration_s != 0 ? endpoints_match : NULL;
	q->match_arg = f;
	/* Only the endpoints the caller may find (action find, per item). */
	api_caller(req, &caller);
	return admission_filter_list(srv->admission, &caller,
	    (const char *const *)f->services, f->nservices, watch, q,
	    match_free, err);
}

void
api_endpoints_list(struct server *srv, struct http_request *req)
{
	struct endpoints_filter	*f;
	struct store_query	 q;
	struct nsreg_error	 err;
	void			(*match_free)(void *);
	const char		*remote = NULL;
	size_t			 i;

	nsreg_error_clear(&err);
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	f->err = &err;
	if (http_query_each(req, endpoints_query_arg, f) == -1)
		goto fail;
	f->err = NULL;
	for (i = 0; i < f->nservices && remote == NULL; i++)
		if (api_name_is_remote(f->services[i]))
			remote = f->services[i];
	if (remote != NULL) {
		/*
		 * Another registry's endpoints: it answers
		 * (api_interdomain.h).
		 */
		api_interdomain_endpoints_list(srv, req, remote);
		api_endpoints_filter_free(f);
		return;
	}
	if (api_endpoints_query(srv, req, f, api_is_watch(req), &q,
	    &match_free, &err) == -1)
		goto fail;
	api_list_or_watch(srv, req, &q, match_free);
	return;
fail:
	if (f != NULL)
		api_endpoints_filter_free(f);
	http_reply_error(req, &err);
}
