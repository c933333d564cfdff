/*
 * admission.h - the admission engine of nsregd (DESIGN section 5): the
 * compiled rule set, the variables a condition sees, the decision of each
 * registry action, list filtering, and the decision log.
 *
 * The rules are the STORE_POLICY objects.  The engine follows the store's
 * events (admission_store_event, called by the server's store listener),
 * so a change made through any nsregd sharing the database reaches every
 * instance; a change marks the rule set stale and the next decision (or
 * admission_sync) compiles a new, immutable set and swaps it in while
 * decisions in flight finish with the old one.  The engine also keeps the
 * network service records in memory, for the "service" variable.
 *
 * Decisions follow Cedar's combining rules through policy_set_decide();
 * an admin's request bypasses the rules and is logged as a bypass.  Every
 * decision is counted (metrics_decision) and written to the decision log
 * (decision_log.h) without waiting for the database.
 *
 * server_authorize() (server.h) is implemented here and is what handlers
 * call for one action on one subject.  All functions are thread-safe.
 */
#ifndef NSREG_ADMISSION_H
#define NSREG_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "http.h"
#include "policy.h"
#include "server.h"
#include "store.h"

struct admission;
struct decision_log;
struct metrics;

/*
 * A new engine that denies everything until admission_load().  store,
 * metrics and log are borrowed and must outlive it; log and metrics may
 * be NULL.  Returns NULL with err.
 */
struct admission	*admission_new(struct store *store,
			    struct metrics *metrics, struct decision_log *log,
			    struct nsreg_error *err);
void			 admission_free(struct admission *a);

/*
 * Follow the store (pass a as arg): policy and service events update the
 * engine.  Call it from the store listener, before admission_load, so
 * that nothing written meanwhile is missed.
 */
void			 admission_store_event(const struct store_event *ev,
			    void *a);

/* Read every policy and service from the store and build the rule set. */
int			 admission_load(struct admission *a, int64_t now,
			    struct nsreg_error *err);

/* Rebuild the rule set now if a policy changed (PUT/DELETE call it). */
void			 admission_sync(struct admission *a);

/* Rules in the current set. */
size_t			 admission_rule_count(struct admission *a);

/* The options rules are checked and compiled with (borrowed). */
const struct policy_options *admission_policy_options(struct admission *a);

/* One admission decision; see server_authorize() in server.h. */
int			 admission_authorize(struct admission *a,
			    const struct http_request *req,
			    enum server_action action,
			    const struct server_subject *subject,
			    json_t **decision, struct nsreg_error *err);

/*
 * Filter a list or watch of services or endpoints by the action "find",
 * item by item, so that a caller never learns of a record it may not
 * find.  Wraps q->match/q->match_arg and *match_free (the resource's own
 * filter, which runs first); the caller then passes q and *match_free to
 * api_list_or_watch() as usual.  For endpoints, services (nservices
 * entries, copied) are the ?service= filters: an endpoint is found when
 * one of them, or without them one of the services it offers, is
 * allowed.  watch is 1 for a watch stream.  One log entry summarises the
 * list (or the watch, when it ends); up to 16 hidden items are logged as
 * denials.  A list (not a watch) whose items cannot change the decision, because no rule for
 * find looks at them, is decided once and, when allowed, left unwrapped.
 * Admins are not filtered; their bypass is logged.  Returns 0, or -1
 * with err (nothing changed: the caller still owns its filter).
 */
int			 admission_filter_list(struct admission *a,
			    const struct http_request *req,
			    const char *const *services, size_t nservices,
			    int watch, struct store_query *q,
			    void (**match_free)(void *),
			    struct nsreg_error *err);

/*
 * POST /v1/decisions/evaluate: decide the hypothetical request body
 * (borrowed) without side effects (not logged, not counted).  *decision
 * gets a new reference.  Returns 0 or -1 with err (400 naming the field).
 */
int			 admission_evaluate(struct admission *a,
			    struct store *store, const json_t *body,
			    int64_t now, json_t **decision,
			    struct nsreg_error *err);

/*
 * Reply with err's status and {"error":{...},"decision":{...}}; decision
 * (stolen) may be NULL, then it is a plain error reply.
 */
void			 admission_reply_denied(struct http_request *req,
			    const struct nsreg_error *err, json_t *decision);

#endif
