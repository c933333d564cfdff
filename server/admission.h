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
 * An engine: no HTTP.  A decision is about a caller (struct
 * admission_caller: who, from where, when), an action and a subject;
 * handlers build the caller from their request (api_authorize() in
 * api.h).  All functions are thread-safe.
 */
#ifndef NSREG_ADMISSION_H
#define NSREG_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "policy.h"
#include "principal.h"
#include "store.h"

struct admission;
struct decision_log;
struct metrics;

/* The registry actions of DESIGN section 5. */
enum admission_action {
	ADMISSION_ACTION_FIND = 0,
	ADMISSION_ACTION_REGISTER,
	ADMISSION_ACTION_UNREGISTER,
	ADMISSION_ACTION_PUBLISH,
	ADMISSION_ACTION_CONNECT
};

/* Who asks (all borrowed): what a decision needs of a request. */
struct admission_caller {
	const struct principal	*principal;
	const char		*remote_addr;	/* numeric, or NULL */
	int64_t			 now;		/* ms, "now" for the rules */
	const char		*protocol;	/* static: "http/1.1", "h2",
						   "grpc"; or NULL */
	const json_t		*nsm_path;	/* request.nsm_path or NULL */
};

/*
 * What an action is about, for the admission decision (DESIGN section 5:
 * the condition sees the service and endpoint records).  Objects are
 * rendered records (borrowed); an endpoint being registered is the one
 * the caller sent, with its owner.  A service named without service_obj
 * is looked up among the stored services ({name} alone when there is
 * none).  With no service but an endpoint_obj that offers services, there
 * is one decision per offered service: "find" needs one of them allowed,
 * the other actions every one.
 */
struct admission_subject {
	const char	*service;	/* service name or NULL */
	const json_t	*service_obj;	/* its record, NULL when unknown */
	const char	*endpoint;	/* endpoint name or NULL */
	const json_t	*endpoint_obj;	/* its record or NULL */
	const json_t	*labels;	/* request labels (connect) or NULL */
	const char	*grant;		/* grant id, for the decision log */
};

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

/*
 * Read every policy and service from the store and build the rule set;
 * again after the store missed events (store_set_gap_handler), it also
 * forgets what the store no longer holds.
 */
int			 admission_load(struct admission *a, int64_t now,
			    struct nsreg_error *err);

/* Rebuild the rule set now if a policy changed (PUT/DELETE call it). */
void			 admission_sync(struct admission *a);

/* Rules in the current set. */
size_t			 admission_rule_count(struct admission *a);

/* The options rules are checked and compiled with (borrowed). */
const struct policy_options *admission_policy_options(struct admission *a);

/*
 * May the caller take action on subject?  The rule set decides; admins
 * bypass it.  Every decision is counted and logged.  When decision is not
 * NULL it receives the decision as a new reference ({"decision",
 * "reasons","errors","audit"}, plus "bypass":true for an admin), for an
 * answer that embeds it.  Returns 0 (allowed) or -1 with err
 * NSREG_PERMISSION_DENIED naming the rules that forbade, or saying that
 * none permitted.
 */
int			 admission_authorize(struct admission *a,
			    const struct admission_caller *caller,
			    enum admission_action action,
			    const struct admission_subject *subject,
			    json_t **decision, struct nsreg_error *err);

/*
 * The stored service name as the "service" variable sees it: its
 * rendered record (a new reference) and revision, or -1 with err
 * NSREG_NOT_FOUND when the engine knows no such service.  The records
 * follow the store's events; a caller that needs the database's latest
 * reads the store instead.
 */
int			 admission_service(struct admission *a,
			    const char *name, json_t **rendered,
			    int64_t *revision, struct nsreg_error *err);

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
			    const struct admission_caller *caller,
			    const char *const *services, size_t nservices,
			    int watch, struct store_query *q,
			    void (**match_free)(void *),
			    struct nsreg_error *err);

/*
 * The policy time one list request may spend deciding its items (0: no
 * bound).  Past it the list stops deciding: admission_filter_cut() then
 * says where the page ends, so that a heavy rule set slows one caller's
 * page, not the server.
 */
void			 admission_set_budget(struct admission *a,
			    int64_t budget_us);

/*
 * After a list filtered by admission_filter_list (before its match_free):
 * 1 when the budget ran out, *last then names the last record decided
 * (borrowed from q->match_arg; later records were not decided, so the
 * page ends there and the next one starts after it).  0 otherwise.
 */
int			 admission_filter_cut(const struct store_query *q,
			    const char **last);

/*
 * A hypothetical request (POST /v1/decisions/evaluate): the variables of
 * DESIGN section 5 as given, all borrowed.
 */
struct admission_query {
	const struct policy_principal	*principal;
	const char			*action;	/* required */
	const struct policy_request	*request;
	const char			*service;	/* NULL: null */
	const json_t			*service_obj;	/* NULL: stored */
	const char			*endpoint;	/* its name */
	const json_t			*endpoint_obj;	/* NULL: null */
};

/*
 * Decide q without side effects (not logged, not counted).  A service
 * named without service_obj is the stored one, null when there is none.
 * *decision gets a new reference.  Returns 0 or -1 with err.
 */
int			 admission_evaluate(struct admission *a,
			    const struct admission_query *q, json_t **decision,
			    struct nsreg_error *err);

#endif
