/*
 * admission_int.h - what the files of the admission engine share
 * (admission.c: the rule set, the records and decisions;
 * admission_filter.c: list filtering).  Not for other modules: they use
 * admission.h.  Private names carry the prefix adm_.
 */
#ifndef NSREG_ADMISSION_INT_H
#define NSREG_ADMISSION_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "admission.h"
#include "policy.h"
#include "principal.h"

struct decision_log;
struct hashmap;
struct metrics;
struct policy_tzdb;

/* A stored object kept in memory, by name. */
struct adm_obj {
	char		*name;
	int64_t		 rev;
	json_t		*obj;		/* rendered; NULL: deleted (loading) */
	uint64_t	 mark;		/* the last load that listed it */
};

/*
 * What the rules for "find" look at, so that a list whose items cannot
 * change the decision is decided once instead of item by item.  Found
 * by scanning the rules' text: a mention anywhere counts (conservative).
 */
struct adm_shape {
	int	find_scoped;	/* a find rule names services */
	int	find_service;	/* a find condition mentions "service" */
	int	find_endpoint;	/* ... "endpoint" */
};

struct admission {
	struct store		*store;
	struct metrics		*metrics;
	struct decision_log	*log;
	struct policy_tzdb	*tzdb;
	struct policy_options	 popt;

	pthread_rwlock_t	 lock;		/* set, shape, services */
	struct policy_set	*set;
	struct adm_shape	 shape;
	struct hashmap		*services;	/* struct adm_obj */

	pthread_mutex_t		 rules_lock;	/* rules */
	struct hashmap		*rules;		/* struct adm_obj */
	pthread_mutex_t		 build_lock;
	atomic_uint_fast64_t	 rules_gen;	/* bumped by every change */
	atomic_uint_fast64_t	 built_gen;	/* what set was built from */
	atomic_int		 loading;	/* keep tombstones */
	uint64_t		 load_mark;	/* loads so far (one at a time) */
	atomic_llong		 budget_us;	/* a list's policy time */
};

/* What stays the same for every decision of one request. */
struct adm_ctx {
	struct policy_principal	 principal;
	struct policy_request	 request;
	struct policy_principal	 origin;	/* request.origin when set */
	const char		*action;
	const char		*principal_id;	/* for the log, NULL: none */
	const char		*origin_id;	/* for the log, NULL: none */
	int64_t			 time;
};


/* adm_log flags. */
#define ADM_LOG_BYPASS		0x01
#define ADM_LOG_COALESCE	0x02	/* made by a list or watch */

/* Compile the rule set again from the rules known (admission.c). */
void		 adm_rebuild(struct admission *a);

/* Rebuild when a policy changed since the set was built. */
static inline void
adm_refresh(struct admission *a)
{
	if (atomic_load_explicit(&a->rules_gen, memory_order_acquire) !=
	    atomic_load_explicit(&a->built_gen, memory_order_acquire))
		adm_rebuild(a);
}

/* The parts of a decision that one request shares (all borrowed). */
void		 adm_ctx_init(struct adm_ctx *c, const struct principal *p,
		    const char *remote_addr, int64_t now, const json_t *labels,
		    const char *action);

/*
 * Decide one (service, endpoint) pair with a->lock held for reading; svc
 * and ep may be NULL, svc_obj NULL for the stored record.  Returns 1
 * allow, 0 deny, and the decision in d.
 */
int		 adm_decide(struct admission *a, const struct adm_ctx *c,
		    const char *svc, const json_t *svc_obj, const char *ep,
		    const json_t *ep_obj, struct policy_decision *d);

/* Queue a decision (d NULL for an admin's bypass) for the decision log. */
void		 adm_log(struct admission *a, const struct adm_ctx *c,
		    const char *svc, const char *ep, const char *grant,
		    const struct policy_decision *d, int flags);

/* The services an endpoint record offers (a JSON array, borrowed) or NULL. */
const json_t	*adm_offered(const json_t *ep_obj);

#endif
