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
#include "decision_log.h"
#include "federation.h"
#include "policy.h"
#include "server.h"
#include "util.h"

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

void
api_decisions_evaluate(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	json_t			*decision;

	nsreg_error_clear(&err);
	/* Another trust domain's claims: those it lets rules see. */
	if (federation_evaluate_claims(srv->federation, req->json,
	    &err) == -1 || admission_evaluate(srv->admission, srv->store,
	    req->json, req->now, &decision, &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	http_reply_json(req, HTTP_OK, decision);
}
