/*
 * decision_log.h - the decision log's writer (DESIGN section 4,
 * "Decisions"): admission decisions go to the store off the request path.
 *
 * A request thread formats its entry as compact JSON into a bounded
 * in-memory queue (one lock, one copy, no allocation unless the entry is
 * unusually long) and returns.  One writer thread takes the whole queue
 * at once and appends it with store_decision_append(): one transaction
 * per batch of at most DECISION_LOG_CHUNK entries, never one per request.
 * A batch is written when it holds DECISION_LOG_BATCH entries, when the
 * oldest entry has waited flush_ms, when someone asks for a flush, and
 * when the log is freed.  A full queue drops the entry and counts it:
 * the log never slows a request down or grows without bound.
 *
 * Find decisions (single reads, a list's summary, its hidden items) are
 * marked coalesce: one that repeats an entry still queued (the same
 * principal, action, records and decision; only the time differs) is
 * folded into it, which then carries "count" (the number of requests it
 * stands for, when more than one), the earliest time and the summed list
 * counters.  A client that polls a list thousands of times a second then
 * costs the database a few rows a second, not thousands.
 *
 * An entry is
 *   {"time","principal","action","service","endpoint","grant",
 *    "protocol","decision":{"decision","reasons","errors","audit"}}
 * with null for what the decision was not about ("protocol", the
 * request's "http/1.1", "h2" or "grpc", is left out when unknown); an admin's bypass has
 * "decision":{"decision":"allow","reasons":["admin"],...,"bypass":true};
 * the summary of a filtered list adds "list":{"found","hidden"}, a
 * coalesced entry "count", and a request a peer registry made on a
 * workload's behalf "origin" (that workload's SPIFFE ID, after
 * "principal", the registry's).
 *
 * All functions are thread-safe.
 */
#ifndef NSREG_DECISION_LOG_H
#define NSREG_DECISION_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "policy.h"

struct store;
struct decision_log;

/* Entries one writer batch (one transaction) carries at most. */
#define DECISION_LOG_CHUNK	512
/* Queued entries that wake the writer before flush_ms is up. */
#define DECISION_LOG_BATCH	2048

struct decision_log_options {
	size_t		queue_bytes;	/* per buffer; 0: 4 MiB */
	int64_t		flush_ms;	/* 0: 1 s */
};

/*
 * One entry.  Strings are borrowed for the call (NULL: JSON null);
 * decision is borrowed too and must stay valid during the call (rule
 * names point into a live rule set).  With bypass set, decision is
 * ignored and the admin bypass is written.  With list set, the entry
 * summarises a filtered list or watch.
 */
struct decision_log_entry {
	int64_t				 time;		/* ms since the epoch */
	const char			*principal;
	const char			*origin;	/* NULL: none */
	const char			*action;
	const char			*service;
	const char			*endpoint;
	const char			*grant;
	const char			*protocol;	/* NULL: left out */
	const struct policy_decision	*decision;
	int				 bypass;
	int				 list;
	int64_t				 list_found;
	int64_t				 list_hidden;
	int				 coalesce;	/* may fold into a twin */
};

struct decision_log_stats {
	uint64_t	queued;		/* entries accepted */
	uint64_t	written;	/* entries committed */
	uint64_t	dropped;	/* queue full or unformattable */
	uint64_t	failed;		/* lost to a store error */
	uint64_t	coalesced;	/* folded into a queued twin */
	uint64_t	rows;		/* rows written (entries - coalesced) */
	uint64_t	batches;	/* store_decision_append calls */
};

/*
 * Start the writer for store (borrowed: it must outlive the log).
 * opt may be NULL.  Returns NULL with err on failure.
 */
struct decision_log	*decision_log_new(struct store *store,
			    const struct decision_log_options *opt,
			    struct nsreg_error *err);

/*
 * Queue one entry.  Returns 0, or -1 when it was dropped (queue full;
 * counted in the stats).  Never blocks on the store.
 */
int			 decision_log_add(struct decision_log *log,
			    const struct decision_log_entry *e);

/*
 * Wait until every entry queued before the call is in the store (or was
 * lost to a store error), at most timeout_ms.  Returns 0, or -1 on
 * timeout.  GET /v1/decisions calls it so a reader sees its own past.
 */
int			 decision_log_flush(struct decision_log *log,
			    int64_t timeout_ms);

void			 decision_log_stats(struct decision_log *log,
			    struct decision_log_stats *st);

/*
 * 1 while the store takes the log's batches; 0 from a batch lost to a
 * store error (a full disk) until one is written again, with the store's
 * reason copied into why (len bytes, may be NULL).  /readyz asks.
 */
int			 decision_log_healthy(struct decision_log *log,
			    char *why, size_t len);

/*
 * Format e as its JSON text into buf (cap bytes, NUL-terminated).
 * Returns the length, or the length needed (>= cap) when buf is too
 * small, like snprintf.  Exposed for tests.
 */
size_t			 decision_log_format(const struct decision_log_entry *e,
			    char *buf, size_t cap);

/* Write everything queued, stop the writer and free.  NULL is a no-op. */
void			 decision_log_free(struct decision_log *log);

#endif
