/*
 * api_interdomain_grant.c - POST /v1/grants for a service "x@domain":
 * this registry's rules decide "connect" to "x@domain" first, then the
 * registry of "domain" is asked for the grant on the caller's behalf
 * (api_interdomain.h, origin.h) and its rules decide again; its grant,
 * signed with its key and verifiable with its /v1/jwks, is the answer.
 *
 * The answer is the peer's grant with its names suffixed ("service":
 * "db@a.test", "endpoint":{"name":"db-1@a.test",...}), "decision" the
 * peer's decision and "local_decision" this registry's; no Location (the
 * grant lives at the peer).  A refusal by the peer is 403 with
 * "decision" the peer's decision (its rules named) and "local_decision";
 * a peer that cannot be reached is 502, one that does not answer in
 * interdomain-timeout 504.  A peer that grants to someone else than the
 * caller (it does not accept this registry's statement of origin, so it
 * granted to this registry) is 502 and that grant is given back.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_interdomain.h"
#include "grants.h"
#include "log.h"
#include "peer.h"
#include "server.h"
#include "spiffe.h"
#include "validate.h"

/* "x@td" into local; td checked against the service's. */
static int
interdomain_grant_strip(const char *name, const char *td, const char *field,
    char *local, size_t len, struct nsreg_error *err)
{
	const char	*at = strchr(name, '@');
	size_t		 n;

	if (at == NULL || strcmp(at + 1, td) != 0 ||
	    (n = (size_t)(at - name)) >= len || n == 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: %s is not a name of trust domain %s (x@%s): the "
		    "grant is asked of one registry", field, name, td, td);
	memcpy(local, name, n);
	local[n] = '\0';
	return 0;
}

/* o[key] = "o[key]@td" when it is a string. */
static int
interdomain_grant_suffix(json_t *o, const char *key, const char *td)
{
	const char	*v = json_string_value(json_object_get(o, key));
	char		 buf[VALIDATE_NAME_MAX + SPIFFE_TD_MAX + 2];

	if (v == NULL)
		return 0;
	if (strchr(v, '@') != NULL ||
	    (size_t)snprintf(buf, sizeof(buf), "%s@%s", v, td) >=
	    sizeof(buf))
		return -1;
	return json_object_set_new(o, key, json_string(buf));
}

/* A grant asked of a peer, in flight: the request sleeps until done. */
struct interdomain_grant {
	struct server		*srv;
	struct http_request	*req;
	struct http_deferred	*def;
	json_t			*local;		/* this registry's decision */
	char			 td[SPIFFE_TD_MAX + 1];
	char			 service[VALIDATE_NAME_MAX + 1];  /* local */
	char			 caller[PRINCIPAL_ID_MAX + 1];
};

/* The give-back's answer: only logged. */
static void
interdomain_grant_given_back(void *arg, const struct peer_answer *a)
{
	char	*id = arg;

	if (a->err != NULL || a->status != 204)
		log_warnx("msg=\"cannot give back a grant made out to this "
		    "registry\" grant=%s status=%ld error=\"%s\"", id,
		    a->status, a->err != NULL ? a->err->message : "");
	free(id);
}

/* Give back a grant the peer made out to this registry itself. */
static void
interdomain_grant_give_back(struct server *srv, const char *td,
    const char *id)
{
	struct interdomain_peer_call	 call;
	struct nsreg_error		 err;
	char				 path[128];
	char				*copy;

	if (id == NULL || strlen(id) > 64 || strchr(id, '/') != NULL ||
	    (copy = strdup(id)) == NULL)
		return;
	snprintf(path, sizeof(path), "/v1/grants/%s", id);
	memset(&call, 0, sizeof(call));
	call.method = "DELETE";
	call.path_query = path;
	nsreg_error_clear(&err);
	if (api_interdomain_peer(srv, NULL, id, td, &call,
	    interdomain_grant_given_back, copy, &err) == -1) {
		log_warnx("msg=\"cannot give back a grant made out to this "
		    "registry\" trust_domain=%s grant=%s error=\"%s\"", td, id,
		    err.message);
		free(copy);
	}
}

/* The peer's refusal: its status, its decision and this registry's. */
static void
interdomain_grant_denied(struct interdomain_grant *g,
    const struct peer_answer *a, const struct nsreg_error *err)
{
	json_error_t	 jerr;
	json_t		*o, *body;

	o = json_loadb(a->body, a->len, 0, &jerr);
	body = nsreg_error_json(err);
	if (body != NULL) {
		if (json_is_object(json_object_get(o, "decision")))
			json_object_set(body, "decision",
			    json_object_get(o, "decision"));
		json_object_set(body, "local_decision", g->local);
	}
	json_decref(o);
	g->req->error_code = nsreg_code_name(err->code);
	http_reply_json(g->req, nsreg_code_status(err->code), body);
}

/* Wipe the token of a grant answer: it is a credential. */
static void
interdomain_grant_wipe(json_t *o)
{
	json_t	*t = json_object_get(o, "token");

	if (json_is_string(t))
		explicit_bzero((char *)(uintptr_t)json_string_value(t),
		    json_string_length(t));
}

/* The peer thread: the peer's answer becomes the reply. */
static void
interdomain_grant_done(void *arg, const struct peer_answer *a)
{
	struct interdomain_grant *g = arg;
	struct nsreg_error	 err;
	json_error_t		 jerr;
	const char		*who;
	json_t			*o = NULL;

	nsreg_error_clear(&err);
	if (api_interdomain_status(a, g->td, &err) == -1) {
		if (a->err == NULL && a->status == 403) {
			interdomain_grant_denied(g, a, &err);
			goto out;
		}
		goto fail;
	}
	if ((o = json_loadb(a->body, a->len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(o) || a->status != 201) {
		nsreg_error_set(&err, NSREG_BAD_GATEWAY, NULL,
		    "registry of %s answered HTTP %ld without a grant", g->td,
		    a->status);
		goto fail;
	}
	who = json_string_value(json_object_get(o, "principal"));
	if (who == NULL || strcmp(who, g->caller) != 0) {
		interdomain_grant_give_back(g->srv, g->td, json_string_value(
		    json_object_get(o, "id")));
		nsreg_error_set(&err, NSREG_BAD_GATEWAY, NULL,
		    "registry of %s granted %s to %s, not to %s: it does not "
		    "accept this registry's statement of origin "
		    "(accept_origin on its trust-domain object for this "
		    "registry's trust domain)", g->td, g->service,
		    who != NULL ? who : "nobody", g->caller);
		goto fail;
	}
	if (interdomain_grant_suffix(o, "service", g->td) == -1 ||
	    interdomain_grant_suffix(json_object_get(o, "endpoint"), "name",
	    g->td) == -1) {
		nsreg_error_set(&err, NSREG_BAD_GATEWAY, NULL,
		    "registry of %s answered a grant with names that are not "
		    "its own", g->td);
		goto fail;
	}
	json_object_set(o, "local_decision", g->local);
	/* The reply takes its own copy of the text. */
	http_reply_json(g->req, HTTP_CREATED, json_incref(o));
	goto out;
fail:
	http_reply_error(g->req, &err);
out:
	if (o != NULL) {
		interdomain_grant_wipe(o);
		json_decref(o);
	}
	http_deferred_done(g->def);
	json_decref(g->local);
	free(g);
}

void
api_interdomain_grant(struct server *srv, struct http_request *req,
    const char *service, const char *endpoint, const json_t *labels)
{
	struct admission_subject	 subj;
	struct interdomain_peer_call	 call;
	struct interdomain_grant	*g = NULL;
	struct nsreg_error		 err;
	const char			*at;
	char				 td[SPIFFE_TD_MAX + 1];
	char				 lsvc[VALIDATE_NAME_MAX + 1];
	char				 lep[VALIDATE_NAME_MAX + 1];
	json_t				*local = NULL, *body = NULL;

	nsreg_error_clear(&err);
	at = strchr(service, '@');
	if (at == NULL || spiffe_td_check(at + 1, strlen(at + 1), td) !=
	    SPIFFE_OK) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "service",
		    "service: %s is not a name of another registry "
		    "(x@domain)", service);
		goto fail;
	}
	if (interdomain_grant_strip(service, td, "service", lsvc,
	    sizeof(lsvc), &err) == -1 || (endpoint != NULL &&
	    interdomain_grant_strip(endpoint, td, "endpoint", lep,
	    sizeof(lep), &err) == -1))
		goto fail;
	if (grants_issuable(&req->principal, &err) == -1)
		goto fail;
	/* This registry's rules first, about the full names. */
	memset(&subj, 0, sizeof(subj));
	subj.service = service;
	subj.endpoint = endpoint;
	subj.labels = labels;
	if (api_authorize(srv, req, ADMISSION_ACTION_CONNECT, &subj, &local,
	    &err) == -1) {
		api_reply_denied(req, &err, local);
		local = NULL;
		goto done;
	}
	if ((body = json_pack("{s:s, s:O?}", "service", lsvc, "labels",
	    labels)) == NULL || (endpoint != NULL && json_object_set_new(body,
	    "endpoint", json_string(lep)) == -1) ||
	    (g = calloc(1, sizeof(*g))) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	g->srv = srv;
	g->req = req;
	g->local = local;
	local = NULL;
	snprintf(g->td, sizeof(g->td), "%s", td);
	snprintf(g->service, sizeof(g->service), "%s", lsvc);
	snprintf(g->caller, sizeof(g->caller), "%s", req->principal.id);
	memset(&call, 0, sizeof(call));
	call.method = "POST";
	call.path_query = "/v1/grants";
	call.body = body;
	/* Deferred first: the answer may come before the call returns. */
	g->def = http_defer(req);
	if (api_interdomain_peer(srv, &req->principal, service, td, &call,
	    interdomain_grant_done, g, &err) == -1) {
		http_reply_error(req, &err);
		http_deferred_done(g->def);
		json_decref(g->local);
		free(g);
	}
	goto done;
fail:
	http_reply_error(req, &err);
done:
	json_decref(body);
	json_decref(local);
}
