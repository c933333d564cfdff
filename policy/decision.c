/*
 * decision.c - decisions as JSON, and requests read from JSON (for
 * nsreg-policy and for tests).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cel.h"

json_t *
policy_decision_json(const struct policy_decision *d)
{
	json_t *o, *reasons, *errors, *audit;
	size_t i, n;

	o = json_object();
	reasons = json_array();
	errors = json_array();
	audit = json_array();
	if (o == NULL || reasons == NULL || errors == NULL || audit == NULL)
		goto fail;
	if (json_object_set_new(o, "decision", json_string(d->allow ?
	    "allow" : "deny")) == -1)
		goto fail;
	n = d->n_reasons < POLICY_DECISION_ITEMS ? d->n_reasons :
	    POLICY_DECISION_ITEMS;
	for (i = 0; i < n; i++)
		if (json_array_append_new(reasons,
		    json_string(d->reasons[i])) == -1)
			goto fail;
	n = d->n_errors < POLICY_DECISION_ITEMS ? d->n_errors :
	    POLICY_DECISION_ITEMS;
	for (i = 0; i < n; i++)
		if (json_array_append_new(errors, json_pack("{s:s,s:s}",
		    "policy", d->errors[i].policy != NULL ?
		    d->errors[i].policy : "", "message",
		    d->errors[i].message)) == -1)
			goto fail;
	n = d->n_audit < POLICY_DECISION_ITEMS ? d->n_audit :
	    POLICY_DECISION_ITEMS;
	for (i = 0; i < n; i++)
		if (json_array_append_new(audit, json_pack("{s:s,s:s,s:b}",
		    "policy", d->audit[i].policy, "effect",
		    d->audit[i].forbid ? "forbid" : "permit", "matched",
		    d->audit[i].matched)) == -1)
			goto fail;
	if (json_object_set_new(o, "reasons", reasons) == -1) {
		reasons = NULL;
		goto fail;
	}
	reasons = NULL;
	if (json_object_set_new(o, "errors", errors) == -1) {
		errors = NULL;
		goto fail;
	}
	errors = NULL;
	if (json_object_set_new(o, "audit", audit) == -1) {
		audit = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(o);
	json_decref(reasons);
	json_decref(errors);
	json_decref(audit);
	return NULL;
}

int
policy_time_parse(const char *s, int64_t *ms)
{
	int64_t sec;
	int32_t nsec;

	if (s == NULL || cel_ts_parse(s, strlen(s), &sec, &nsec) != 0)
		return -1;
	*ms = sec * 1000 + nsec / 1000000;
	return 0;
}

/* ------------------------------------------------------------ input */

static int
in_error(struct policy_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
in_error(struct policy_error *err, const char *field, const char *fmt, ...)
{
	char msg[POLICY_ERROR_MESSAGE_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), "%s: %s", field, msg);
	err->line = err->column = 0;
	return -1;
}

/* Check that obj has only the named members. */
static int
only(const json_t *obj, const char *where, const char *const *names,
    struct policy_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
		const char *const *n;
		char field[POLICY_ERROR_FIELD_MAX];

		for (n = names; *n != NULL; n++)
			if (strcmp(*n, key) == 0)
				break;
		if (*n == NULL) {
			snprintf(field, sizeof(field), "%s%s%s", where,
			    *where ? "." : "", key);
			return in_error(err, field, "unknown field");
		}
	}
	return 0;
}

static int
get_string(const json_t *obj, const char *where, const char *name,
    const char **out, struct policy_error *err)
{
	const json_t *v = json_object_get(obj, name);
	char field[POLICY_ERROR_FIELD_MAX];

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	snprintf(field, sizeof(field), "%s%s%s", where, *where ? "." : "",
	    name);
	if (!json_is_string(v))
		return in_error(err, field, "must be a string");
	*out = json_string_value(v);
	return 0;
}

static int
get_json(const json_t *obj, const char *where, const char *name, int array,
    const json_t **out, struct policy_error *err)
{
	const json_t *v = json_object_get(obj, name);
	char field[POLICY_ERROR_FIELD_MAX];

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	snprintf(field, sizeof(field), "%s%s%s", where, *where ? "." : "",
	    name);
	if (array ? !json_is_array(v) : !json_is_object(v))
		return in_error(err, field, "must be a JSON %s",
		    array ? "array" : "object");
	*out = v;
	return 0;
}

static int
get_time(const json_t *obj, const char *where, const char *name,
    int64_t *out, struct policy_error *err)
{
	const char *s;
	char field[POLICY_ERROR_FIELD_MAX];

	*out = 0;
	if (get_string(obj, where, name, &s, err) == -1)
		return -1;
	if (s == NULL)
		return 0;
	snprintf(field, sizeof(field), "%s%s%s", where, *where ? "." : "",
	    name);
	if (policy_time_parse(s, out) == -1)
		return in_error(err, field, "invalid RFC 3339 time '%s'", s);
	if (*out == 0)
		*out = 1;	/* 0 means "none" */
	return 0;
}

/* trust_domain and path from "spiffe://td/path" into scratch. */
static void
derive_spiffe(struct policy_principal *p, char *scratch, size_t cap)
{
	const char *id = p->id, *slash;
	size_t tdlen;

	if (id == NULL || strncmp(id, "spiffe://", 9) != 0)
		return;
	id += 9;
	slash = strchr(id, '/');
	tdlen = slash != NULL ? (size_t)(slash - id) : strlen(id);
	if (p->trust_domain == NULL && tdlen + 1 <= cap) {
		memcpy(scratch, id, tdlen);
		scratch[tdlen] = '\0';
		p->trust_domain = scratch;
	}
	if (p->path == NULL)
		p->path = slash != NULL ? slash : "";
}

/* A principal (or request.origin) at where from the object v. */
static int
principal_from_json(const json_t *v, const char *where,
    struct policy_principal *p, char *scratch, size_t cap,
    struct policy_error *err)
{
	static const char *const pr[] = { "id", "trust_domain", "path",
	    "auth", "claims", "expires_at", NULL };

	if (!json_is_object(v))
		return in_error(err, where, "must be an object or null");
	if (only(v, where, pr, err) == -1 ||
	    get_string(v, where, "id", &p->id, err) == -1 ||
	    get_string(v, where, "trust_domain", &p->trust_domain,
	    err) == -1 ||
	    get_string(v, where, "path", &p->path, err) == -1 ||
	    get_string(v, where, "auth", &p->auth, err) == -1 ||
	    get_json(v, where, "claims", 0, &p->claims, err) == -1 ||
	    get_time(v, where, "expires_at", &p->expires_at, err) == -1)
		return -1;
	derive_spiffe(p, scratch, cap);
	return 0;
}

int
policy_input_from_json(const json_t *doc, struct policy_input *in,
    struct policy_input_storage *st, struct policy_error *err)
{
	static const char *const top[] = { "principal", "action", "service",
	    "endpoint", "request", "now", NULL };
	static const char *const sv[] = { "name", "payload", "labels", "vl3",
	    NULL };
	static const char *const ep[] = { "name", "url", "labels",
	    "network_service_names", "owner", "expiration_time", NULL };
	static const char *const rq[] = { "labels", "time", "remote_addr",
	    "origin", "protocol", "nsm_path", NULL };
	const json_t *v;
	int64_t now = 0;

	memset(in, 0, sizeof(*in));
	memset(st, 0, sizeof(*st));
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (!json_is_object(doc))
		return in_error(err, "", "the input must be a JSON object");
	if (only(doc, "", top, err) == -1)
		return -1;
	if (get_string(doc, "", "action", &in->action, err) == -1)
		return -1;
	if (in->action == NULL)
		return in_error(err, "action", "required");
	if (policy_action_parse(in->action) < 0)
		return in_error(err, "action", "unknown action '%s'",
		    in->action);
	if (get_time(doc, "", "now", &now, err) == -1)
		return -1;

	v = json_object_get(doc, "principal");
	if (v != NULL && !json_is_null(v)) {
		if (principal_from_json(v, "principal", &st->principal,
		    st->scratch, sizeof(st->scratch), err) == -1)
			return -1;
		in->principal = &st->principal;
	}
	v = json_object_get(doc, "service");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return in_error(err, "service", "must be an object "
			    "or null");
		if (only(v, "service", sv, err) == -1 ||
		    get_string(v, "service", "name", &st->service.name,
		    err) == -1 ||
		    get_string(v, "service", "payload", &st->service.payload,
		    err) == -1 ||
		    get_json(v, "service", "labels", 0, &st->service.labels,
		    err) == -1 ||
		    get_json(v, "service", "vl3", 0, &st->service.vl3,
		    err) == -1)
			return -1;
		in->service = &st->service;
	}
	v = json_object_get(doc, "endpoint");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return in_error(err, "endpoint", "must be an object "
			    "or null");
		if (only(v, "endpoint", ep, err) == -1 ||
		    get_string(v, "endpoint", "name", &st->endpoint.name,
		    err) == -1 ||
		    get_string(v, "endpoint", "url", &st->endpoint.url,
		    err) == -1 ||
		    get_json(v, "endpoint", "labels", 0,
		    &st->endpoint.labels, err) == -1 ||
		    get_json(v, "endpoint", "network_service_names", 1,
		    &st->endpoint.network_service_names, err) == -1 ||
		    get_string(v, "endpoint", "owner", &st->endpoint.owner,
		    err) == -1 ||
		    get_time(v, "endpoint", "expiration_time",
		    &st->endpoint.expiration_time, err) == -1)
			return -1;
		in->endpoint = &st->endpoint;
	}
	v = json_object_get(doc, "request");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return in_error(err, "request", "must be an object");
		if (only(v, "request", rq, err) == -1 ||
		    get_json(v, "request", "labels", 0, &st->request.labels,
		    err) == -1 ||
		    get_time(v, "request", "time", &st->request.time,
		    err) == -1 ||
		    get_string(v, "request", "remote_addr",
		    &st->request.remote_addr, err) == -1 ||
		    get_string(v, "request", "protocol",
		    &st->request.protocol, err) == -1 ||
		    get_json(v, "request", "nsm_path", 1,
		    &st->request.nsm_path, err) == -1)
			return -1;
		v = json_object_get(v, "origin");
		if (v != NULL && !json_is_null(v)) {
			if (principal_from_json(v, "request.origin",
			    &st->origin, st->origin_scratch,
			    sizeof(st->origin_scratch), err) == -1)
				return -1;
			st->request.origin = &st->origin;
		}
	}
	if (st->request.time == 0)
		st->request.time = now;
	in->request = &st->request;
	return 0;
}
