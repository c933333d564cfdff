/*
 * metrics.h - Prometheus counters and histograms, lock-free to update.
 */
#ifndef NSREG_METRICS_H
#define NSREG_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* Values read at scrape time. */
struct metrics_gauges {
	int64_t		endpoints;	/* live endpoints, -1 unknown */
	int64_t		grants;		/* live grants, -1 unknown */
	int64_t		watchers;
	int64_t		revision;
	uint64_t	lists_memory;	/* ?service= lists (store_stats) */
	uint64_t	lists_database;
	int64_t		uptime_s;
	int64_t		started_ms;	/* process start, ms */
	uint64_t	decisions_dropped;	/* never written to the log */
	const char	*instance;	/* instance-name, borrowed; NULL none */
};

struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *m);

/* Count an admission decision. */
void		 metrics_decision(struct metrics *m, const char *action,
		    int allow);

/* Count a federation bundle refresh (result "ok" or "error"). */
void		 metrics_bundle_refresh(struct metrics *m,
		    const char *trust_domain, int ok);

/*
 * The time a federated trust domain's bundle was last fetched or set
 * (ms since the epoch), exposed as nsreg_bundle_age_seconds; 0 stops
 * exposing it (no bundle, or no longer federated).
 */
void		 metrics_bundle_age(struct metrics *m, const char *trust_domain,
		    int64_t refreshed_ms);

/* What became of an interdomain call (peer.h). */
enum metrics_peer_result {
	METRICS_PEER_OK = 0,		/* the peer answered */
	METRICS_PEER_ERROR,		/* it could not be reached in time */
	METRICS_PEER_BACKOFF		/* refused at once: it was down */
};

/* Count n connections opened to trust_domain's registry. */
void		 metrics_peer_connections(struct metrics *m,
		    const char *trust_domain, uint64_t n);

/* Count an interdomain call to trust_domain's registry. */
void		 metrics_peer_request(struct metrics *m,
		    const char *trust_domain, enum metrics_peer_result result);

/* Count a connection accepted by a listener. */
void		 metrics_connection(struct metrics *m);

/*
 * The exposition text (new buffer, caller frees), with the standard
 * process_* series of the calling process.
 */
char		*metrics_render(struct metrics *m,
		    const struct metrics_gauges *g, size_t *len);

#endif
