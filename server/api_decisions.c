/*
 * api_decisions.c - /v1/decisions: the decision log, and what-if
 * evaluation (DESIGN section 4, "Decisions"; section 5), admin only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "api.h"
#include "auth.h"
#include "decision_log.h"
#include "policy.h"
#include "server.h"
#include "spiffe.h"
#include "util.h"
#include "validate.h"

#define DECISIONS_LIMIT_DEFAULT	100
#define DECISIONS_LIMIT_MAX	1000
/* How long a reader waits for entries still on their way to the store. */
#define DECISIONS_FLUSH_MS	2000

struct decisions_query {
	struct store_decision_query	 q;
	struct nsreg_error		*err;
};

static int
decisions_query_arg(const char *key, const char *value, void *arg)
{
	struct decisions_query	*dq = arg;
	long long		 v;

	if (strcmp(key, "principal") == 0) {
		if (value[0] == '\0' || strlen(value) > 2048)
			return nsreg_error_set(dq->err, NSREG_INVALID_ARGUMENT,
			    "principal", "principal: a SPIFFE ID");
		dq->q.principal = value;
	} else if (strcmp(key, "action") == 0) {
		if (policy_action_parse(value) == -1)
			return nsreg_error_set(dq->err, NSREG_INVALID_ARGUMENT,
			    "action", "action: must be find, register, "
			    "unregister, publish or connect");
		dq->q.action = value;
	} else if (strcmp(key, "decision") == 0) {
		if (strcmp(value, "allow") != 0 && strcmp(value, "deny") != 0)
			return nsreg_error_set(dq->err, NSREG_INVALID_ARGUMENT,
			    "decision", "decision: must be allow or deny");
		dq->q.decision = value;
	} else if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
		/* A '+' of an offset arrives as a space unless sent as %2B. */
		if (util_rfc3339_parse(value, key[0] == 's' ? &dq->q.since :
		    &dq->q.until) == -1)
			return nsreg_error_set(dq->err, NSREG_INVALID_ARGUMENT,
			    key, "%s: not an RFC 3339 date-time (e.g. "
			    "2026-11-27T16:31:14Z; a + offset written %%2B)",
			    key);
		if (key[0] == 's')
			dq->q.has_since = 1;
		else
			dq->q.has_until = 1;
	} else if (strcmp(key, "limit") == 0) {
		if (util_number_parse(value, 1, DECISIONS_LIMIT_MAX, &v) == -1)
			return nsreg_error_set(dq->err, NSREG_INVALID_ARGUMENT,
			    "limit", "limit: must be a number from 1 to %d",
			    DECISIONS_LIMIT_MAX);
		dq->q.limit = (size_t)v;
	} else if (strcmp(key, "page_token") == 0) {
		/* The token is the id the next page starts before. */
		if (value[0] != '\0') {
			if (util_number_parse(value, 1, INT64_MAX, &v) == -1)
				return nsreg_error_set(dq->err,
				    NSREG_INVALID_ARGUMENT, "page_token",
				    "page_token: not a token this server "
				    "issued");
			dq->q.before_id = v;
		}
	} else
		return nsreg_error_set(dq->err, NSREG_INVALID_ARGUMENT, key,
		    "%s: unknown query parameter", key);
	return 0;
}

void
api_decisions_list(struct server *srv, struct http_request *req)
{
	struct decisions_query	 dq;
	struct nsreg_error	 err;
	json_t			*items = NULL;
	int64_t			 next = 0;
	char			 tok[24];

	nsreg_error_clear(&err);
	memset(&dq, 0, sizeof(dq));
	dq.q.limit = DECISIONS_LIMIT_DEFAULT;
	dq.err = &err;
	if (http_query_each(req, decisions_query_arg, &dq) == -1)
		goto fail;
	/* Let the reader see the decisions made before it asked. */
	decision_log_flush(srv->decisions, DECISIONS_FLUSH_MS);
	if (store_decision_list(srv->store, &dq.q, &items, &next, &err) == -1)
		goto fail;
	tok[0] = '\0';
	if (next > 0)
		snprintf(tok, sizeof(tok), "%lld", (long long)next);
	http_reply_json(req, HTTP_OK, json_pack("{s:o, s:s}", "items", items,
	    "next_page_token", tok));
	return;
fail:
	http_reply_error(req, &err);
}

/* POST /v1/decisions/evaluate. */

static const char *const decisions_eval_fields[] = {
	"principal", "claims", "action", "service", "endpoint", "labels",
	"auth", "remote_addr", "time", "protocol", "nsm_path", NULL
};
static const char *const decisions_eval_service_fields[] = {
	"name", "payload", "labels", NULL
};
static const char *const decisions_eval_endpoint_fields[] = {
	"name", "url", "network_service_names", "network_service_labels",
	"owner", "expiration_time", "initial_registration_time", "revision",
	"created_at", "updated_at", NULL
};

/* A hypothetical service or endpoint given as an object. */
static int
decisions_eval_object(const json_t *o, const char *field, int service,
    struct nsreg_error *err)
{
	const json_t	*v;
	char		 prefix[32], f[64];
	const char	*const *allowed = service ? decisions_eval_service_fields :
			    decisions_eval_endpoint_fields;

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

/*
 * Parse the hypothetical request body (borrowed) and decide it.
 * *decision gets a new reference.  Returns 0 or -1 with err (400 naming
 * the field).
 */
static int
decisions_evaluate(struct server *srv, const json_t *body, int64_t now,
    json_t **decision, struct nsreg_error *err)
{
	struct admission_query	 aq;
	struct spiffe_id	 sid;
	struct policy_principal	 pp;
	struct policy_request	 rq;
	struct store_object	 stored;
	const json_t		*jp, *claims, *action, *service, *endpoint;
	const json_t		*labels, *auth, *addr, *tm, *svc_obj = NULL;
	const json_t		*proto, *nsm_path;
	json_t			*ep_obj = NULL;
	const char		*svc_name = NULL, *ep_name = NULL;
	char			 td[SPIFFE_TD_MAX + 1];
	enum spiffe_rule	 rule;
	int			 rc = -1;

	*decision = NULL;
	memset(&stored, 0, sizeof(stored));
	if (validate_fields(body, decisions_eval_fields, "", err) == -1 ||
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
	    validate_member(body, "time", JSON_STRING, "", &tm, err) == -1 ||
	    validate_member(body, "protocol", JSON_STRING, "", &proto,
	    err) == -1 ||
	    validate_member(body, "nsm_path", JSON_ARRAY, "", &nsm_path,
	    err) == -1)
		goto out;
	if (proto != NULL && strcmp(json_string_value(proto), "http/1.1") != 0 &&
	    strcmp(json_string_value(proto), "h2") != 0 &&
	    strcmp(json_string_value(proto), "grpc") != 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "protocol",
		    "protocol: must be http/1.1, h2 or grpc");
		goto out;
	}
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
	rq.protocol = proto != NULL ? json_string_value(proto) : NULL;
	rq.nsm_path = nsm_path;

	service = json_object_get(body, "service");
	if (json_is_string(service)) {
		svc_name = json_string_value(service);
		if (validate_name(svc_name, 1, "service", err) == -1)
			goto out;
	} else if (json_is_object(service)) {
		if (decisions_eval_object(service, "service", 1, err) == -1)
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
		if (store_fetch(srv->store, STORE_ENDPOINT, ep_name, now, &stored,
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
		if (decisions_eval_object(endpoint, "endpoint", 0, err) == -1)
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
	memset(&aq, 0, sizeof(aq));
	aq.principal = &pp;
	aq.action = json_string_value(action);
	aq.request = &rq;
	aq.service = svc_name;
	aq.service_obj = svc_obj;
	aq.endpoint = ep_name;
	aq.endpoint_obj = ep_obj;
	rc = admission_evaluate(srv->admission, &aq, decision, err);
out:
	json_decref(ep_obj);
	store_object_clear(&stored);
	return rc;
}

void
api_decisions_evaluate(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	json_t			*decision;

	nsreg_error_clear(&err);
	/* Another trust domain's claims: those it lets rules see. */
	if (auth_evaluate_claims(srv->auth, req->json, &err) == -1 || decisions_evaluate(srv, req->json, req->now,
	    &decision, &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	http_reply_json(req, HTTP_OK, decision);
}
