/*
 * peer_watch.h - watches of another trust domain's records, proxied from
 * its registry (DESIGN section 4, "Interdomain"; nsreg-api(7)).
 *
 * An upstream is one watch stream from a peer registry (peer.h, a call
 * with a data callback), shared by every local watcher of the same query
 * (its key) that came without since=.  It reads the peer's NDJSON events,
 * gives each object's names their "@domain" suffix (the caller's qualify
 * function) and passes the events on in the local watch format with the
 * peer's revisions; a BOOKMARK carries the peer's revision.  It keeps
 * the current objects, so a watcher that joins later gets them as ADDED
 * and a BOOKMARK at the revision they are of, then the changes.
 *
 * When the connection to the peer drops or the peer ends the stream (a
 * restart), the upstream asks again with since= the last revision it
 * passed on, after a short pause (PEER_WATCH_RETRY_MS, doubling up to
 * PEER_WATCH_RETRY_MAX_MS while the peer cannot be reached): the peer
 * replays what happened meanwhile, so watchers see every change once.
 * When the peer answers otherwise (410: its history no longer reaches
 * back; 403; ...) the watchers' streams end and they list again.  The
 * upstream ends when its last watcher leaves.
 *
 * A watcher that comes with since= has an upstream of its own that
 * starts there (the peer's revision).
 *
 * Thread-safe.  No thread per watcher: one retry thread for the module.
 */
#ifndef NSREG_PEER_WATCH_H
#define NSREG_PEER_WATCH_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

#define PEER_WATCH_RETRY_MS	250
#define PEER_WATCH_RETRY_MAX_MS	4000
#define PEER_WATCH_LINE_MAX	(1024 * 1024)	/* bytes of one event */
#define PEER_WATCH_IDLE_S	60	/* silence that ends a connection */

struct peer;
struct peer_watch;
struct peer_watcher;

/* What an upstream asks for; strings are copied. */
struct peer_watch_query {
	const char	*key;		/* equal keys share an upstream */
	const char	*trust_domain;
	const char	*base;		/* its registry_url */
	uint64_t	 bundle_id;	/* peer_request's */
	const char	*url;		/* the list's URL, with its query */
	const char	*client_cert;
	const char	*client_key;
	int64_t		 timeout_ms;	/* connection and head */
	int64_t		 backoff_ms;
	const char	*what;		/* "registry of X" */
	const char	*header;	/* an extra "Name: value", or NULL */
	/* Give object's names their suffix: 0, or -1 with err. */
	int		(*qualify)(json_t *object, const char *td,
			    struct nsreg_error *err);
};

/* A new module calling through p (borrowed).  NULL when out of memory. */
struct peer_watch	*peer_watch_new(struct peer *p);

/* End every upstream and free; the watchers' streams have ended. */
void			 peer_watch_free(struct peer_watch *w);

/*
 * A watcher of q, from the peer's revision since (< 0: the current
 * objects first).  NULL with err: NSREG_BAD_GATEWAY when the peer is in
 * its backoff, NSREG_UNAVAILABLE when stopping, NSREG_INTERNAL.
 */
struct peer_watcher	*peer_watch_open(struct peer_watch *w,
			    const struct peer_watch_query *q, int64_t since,
			    struct nsreg_error *err);

/* wake(arg) whenever peer_watch_read may have more (lock held: quick). */
void			 peer_watch_attach(struct peer_watcher *wt,
			    void (*wake)(void *), void *arg);

/* At most max bytes of the stream: the count, 0 (wait), -1 (ended). */
ssize_t			 peer_watch_read(struct peer_watcher *wt, char *buf,
			    size_t max);

/* The stream ended: free wt (its upstream ends with its last watcher). */
void			 peer_watch_close(struct peer_watcher *wt);

#endif
