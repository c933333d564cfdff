/*
 * api.h - request handlers, one file per resource (api_<resource>.c),
 * and the helpers they share (api.c).
 */
#ifndef NSREG_API_H
#define NSREG_API_H

#include <jansson.h>

#include "admission.h"
#include "error.h"
#include "http.h"
#include "store.h"

struct server;

/* api_system.c */
void	api_healthz(struct server *, struct http_request *);
void	api_readyz(struct server *, struct http_request *);
void	api_metrics(struct server *, struct http_request *);
void	api_whoami(struct server *, struct http_request *);
void	api_bundle(struct server *, struct http_request *);

/* api_services.c */
void	api_services_list(struct server *, struct http_request *);
void	api_services_get(struct server *, struct http_request *);
void	api_services_put(struct server *, struct http_request *);
void	api_services_delete(struct server *, struct http_request *);

/* api_endpoints.c */
void	api_endpoints_list(struct server *, struct http_request *);
void	api_endpoints_get(struct server *, struct http_request *);
void	api_endpoints_put(struct server *, struct http_request *);
void	api_endpoints_delete(struct server *, struct http_request *);

/*
 * What REST and gRPC (grpc_registry.c) share: one rule each.
 *
 * api_services_prepare and api_endpoints_prepare check body (borrowed,
 * the REST document of the record) as a write of name, decide it
 * (publish, register: the decision as a new reference in *decision when
 * denied) and fill obj (cleared first) with the record to store: 0, or -1
 * with err (obj released).  An endpoint's expiry and owner follow DESIGN
 * section 4; the write goes through api_endpoints_check with a struct
 * api_write (owner enforcement, kept initial_registration_time).
 */
int	api_services_prepare(struct server *, struct http_request *,
	    const char *name, const json_t *body, struct store_object *obj,
	    json_t **decision, struct nsreg_error *err);
/* A service's delete, decided again when it moved (api_write). */
int	api_services_delete_check(const struct store_object *cur,
	    struct store_object *obj, void *arg, struct nsreg_error *err);
int	api_endpoints_prepare(struct server *, struct http_request *,
	    const char *name, const json_t *body, struct store_object *obj,
	    json_t **decision, struct nsreg_error *err);
int	api_endpoints_check(const struct store_object *cur,
	    struct store_object *obj, void *arg, struct nsreg_error *err);

/*
 * Endpoint query by example (NSM's matching): a new empty filter, then
 * conditions added as REST's query parameters ("service", "label.S.k",
 * "name", "url"; 0 or -1 with err) and an expiration_time in whole
 * seconds (0: any).  api_endpoints_query turns it into q for a list or
 * a watch (watch 1), filtered by "find" for req's caller: 0 with f owned
 * by q->match_arg and released by *match_free, or -1 with err and f
 * still the caller's (api_endpoints_filter_free).
 */
struct endpoints_filter;
struct endpoints_filter *api_endpoints_filter_new(void);
void	api_endpoints_filter_free(void *f);
int	api_endpoints_filter_add(struct endpoints_filter *f, const char *key,
	    const char *value, struct nsreg_error *err);
void	api_endpoints_filter_expiration(struct endpoints_filter *f,
	    int64_t seconds);
int	api_endpoints_query(struct server *, struct http_request *,
	    struct endpoints_filter *f, int watch, struct store_query *q,
	    void (**match_free)(void *), struct nsreg_error *err);

/* api_trust_domains.c (admin) */
void	api_trust_domains_list(struct server *, struct http_request *);
void	api_trust_domains_get(struct server *, struct http_request *);
void	api_trust_domains_put(struct server *, struct http_request *);
void	api_trust_domains_delete(struct server *, struct http_request *);
void	api_trust_domains_refresh(struct server *, struct http_request *);

/* api_policies.c */
void	api_policies_list(struct server *, struct http_request *);
void	api_policies_get(struct server *, struct http_request *);
void	api_policies_put(struct server *, struct http_request *);
void	api_policies_delete(struct server *, struct http_request *);
void	api_policies_check(struct server *, struct http_request *);

/* api_decisions.c */
void	api_decisions_list(struct server *, struct http_request *);
void	api_decisions_evaluate(struct server *, struct http_request *);

/* api_grants.c: /v1/grants and /v1/jwks (the engine: grants.h). */
void	api_grants_create(struct server *, struct http_request *);
void	api_grants_list(struct server *, struct http_request *);
void	api_grants_get(struct server *, struct http_request *);
void	api_grants_delete(struct server *, struct http_request *);
void	api_grants_refresh(struct server *, struct http_request *);
void	api_grants_introspect(struct server *, struct http_request *);
void	api_jwks(struct server *, struct http_request *);

/* api_ui.c: the console's static files (ui_files.h). */
void	api_ui_redirect(struct server *, struct http_request *);
void	api_ui_index(struct server *, struct http_request *);
void	api_ui_file(struct server *, struct http_request *);

/* api.c: shared pieces of the resource handlers. */

/*
 * The caller of req, for admission (borrows from req): its principal,
 * address, time, protocol ("http/1.1", "h2", "grpc") and, for a gRPC
 * call that sent NSM's path metadata, request.nsm_path.
 */
void	api_caller(const struct http_request *req,
	    struct admission_caller *caller);

/*
 * May the request's principal take action on subject?  admission_authorize
 * (admission.h) for srv's engine and the request's caller.
 */
int	api_authorize(struct server *srv, struct http_request *req,
	    enum admission_action action,
	    const struct admission_subject *subject, json_t **decision,
	    struct nsreg_error *err);

/*
 * Reply with err's status and {"error":{...},"decision":{...}}; decision
 * (stolen) may be NULL, then it is a plain error reply.
 */
void	api_reply_denied(struct http_request *req,
	    const struct nsreg_error *err, json_t *decision);

/* Reply with a stored object: rendered body and ETag "<revision>". */
void	api_reply_object(struct http_request *req, unsigned int status,
	    const struct store_object *obj);

/*
 * Parse If-Match (RFC 9110 section 13.1.1): sets *rev to the revision
 * asked for, 0 when absent, -1 for "*" (any existing revision) and
 * API_IF_MATCH_LIST for a list of several (api_put_object* and
 * api_delete_object evaluate it; others call api_if_match_holds).
 * Returns 0, or -1 when malformed (400) or when it holds only weak tags,
 * which never match (412).
 */
#define API_IF_MATCH_LIST	(-2)
int	api_if_match(struct http_request *req, int64_t *rev,
	    struct nsreg_error *err);
/* 1 when If-Match (absent, "*" or a list) admits revision current. */
int	api_if_match_holds(struct http_request *req, int64_t current);

/*
 * Pagination: ?limit= (default 100, max 1000) and ?page_token= (the last
 * name of the previous page: a record name or a trust domain name).
 */
struct api_page {
	size_t	limit;
	char	after[512];	/* decoded page token, "" for the start */
};
int	api_page_parse(struct http_request *req, struct api_page *pg,
	    struct nsreg_error *err);

/*
 * Reply to a list: {"items":[...],"revision":N,"next_page_token":"..."}.
 * items is stolen.
 */
void	api_reply_list(struct http_request *req, json_t *items,
	    int64_t revision, int more);

/*
 * Answer a list or its watch: with ?watch=true starts a stream of q's
 * kind and filter (match_free releases match_arg either way); otherwise
 * one page.  Returns nothing: the reply is made.
 */
void	api_list_or_watch(struct server *srv, struct http_request *req,
	    struct store_query *q, void (*match_free)(void *));

/*
 * Checks run against the current object (NULL when there is none) before
 * a write: refuse with -1 and err, or adjust obj (carry fields over from
 * cur) and return 0.  For a put it runs inside the store's write
 * transaction (store_check_fn): quick, and no store calls.
 */
typedef store_check_fn	api_check_fn;

/*
 * Create or replace obj (kind, name, doc, expires_at, owner set by the
 * handler; obj is released here) in one store transaction.  if_match from
 * api_if_match().  Replies 201 with Location when created, 200 when
 * replaced, or the error.
 */
void	api_put_object(struct server *srv, struct http_request *req,
	    struct store_object *obj, int64_t if_match, api_check_fn check,
	    void *arg);

/*
 * api_put_object without holding the thread: the write joins the store's
 * next group commit and the reply leaves when it is committed.  arg
 * (arg_len bytes) is copied for check, which runs later.
 */
void	api_put_object_async(struct server *srv, struct http_request *req,
	    struct store_object *obj, int64_t if_match, api_check_fn check,
	    const void *arg, size_t arg_len);

/*
 * Delete kind/name after check (cur is never NULL there).  Replies 204 or
 * the error.
 */
void	api_delete_object(struct server *srv, struct http_request *req,
	    enum store_kind kind, const char *name, api_check_fn check,
	    void *arg);

/* What a check needs to decide a record again (see api_find_or_delete). */
struct api_write {
	struct server		*srv;
	struct http_request	*req;
	int64_t			 revision;	/* the record authorised */
};

/*
 * GET or DELETE one record of kind, decided first on the stored record
 * or, when there is none, on its name alone - a caller that may not find
 * a record gets 403 whether it exists or not.  Denied: 403 with the
 * decision.  Absent: 404.  Found: find replies with it; other actions
 * delete it through delete_check (given a struct api_write).
 */
void	api_find_or_delete(struct server *srv, struct http_request *req,
	    enum store_kind kind, const char *name,
	    enum admission_action action, api_check_fn delete_check);

/*
 * api_delete_object and api_find_or_delete without the reply: 0 (a find
 * moves the record into found_obj when not NULL), or -1 with err and,
 * when the rules denied it, *decision (new reference).
 */
int	api_delete_run(struct server *srv, struct http_request *req,
	    enum store_kind kind, const char *name, api_check_fn check,
	    void *arg, struct nsreg_error *err);
int	api_find_or_delete_run(struct server *srv, struct http_request *req,
	    enum store_kind kind, const char *name,
	    enum admission_action action, api_check_fn delete_check,
	    struct store_object *found_obj, json_t **decision,
	    struct nsreg_error *err);

/* Fetch kind/name and reply with it (ETag) or 404. */
void	api_get_object(struct server *srv, struct http_request *req,
	    enum store_kind kind, const char *name);

/* 1 when the request asks for a watch stream (?watch=true). */
int	api_is_watch(const struct http_request *req);

/* 1 when the name is of another registry ("x@domain"). */
int	api_name_is_remote(const char *name);

#endif
