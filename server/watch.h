/*
 * watch.h - watch streams (DESIGN section 4, "Watch").
 *
 * The store's listener feeds every committed event into a ring of recent
 * events; each watcher is read by a suspended stream of its transport
 * (the handlers make it an HTTP stream) that is woken when an event of
 * its kind arrives, copies the events after its revision that pass its
 * filter as NDJSON lines, and sleeps again.  A watcher that falls behind the ring reads
 * the store's event history; past that it ends (the client resumes with
 * since= and gets 410).  A BOOKMARK is sent to every stream that has been
 * quiet for the bookmark interval.  No thread per watcher.
 */
#ifndef NSREG_WATCH_H
#define NSREG_WATCH_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "store.h"

struct watch;
struct watcher;

/*
 * ring: events kept in memory, at most; ring_bytes: what they may cost
 * in memory, at most (the oldest go first; an event bigger than that is
 * not kept at all: streams read it from the store's history);
 * bookmark_ms: the quiet-stream interval.
 */
struct watch	*watch_new(struct store *store, size_t ring,
		    size_t ring_bytes, int64_t bookmark_ms);

/* Events and bytes the ring holds now (tests, metrics). */
void		 watch_ring_usage(struct watch *w, size_t *events,
		    size_t *bytes);
/* End all streams' delivery and free (after their transport stopped). */
void		 watch_free(struct watch *w);

/* The store listener (pass w as arg). */
void		 watch_publish(const struct store_event *ev, void *w);

/*
 * The store missed events (store_set_gap_handler): forget the ring, so
 * that every stream reads on from the store's history, which ends (GONE)
 * each stream whose events were trimmed before it read them.
 */
void		 watch_gap(struct watch *w);

/*
 * A watcher of the objects q describes, as of now.  since < 0: the
 * current matching objects as ADDED, a BOOKMARK, then changes; else every
 * change after since (NSREG_GONE when history no longer reaches back
 * there).  The filter q->match/q->match_arg stays in use for the
 * watcher's life; match_free (may be NULL) releases match_arg at
 * watch_close, or at once on error.  Returns the watcher, or NULL with
 * err.
 */
struct watcher	*watch_open(struct watch *w, const struct store_query *q,
		    void (*match_free)(void *), int64_t since, int64_t now,
		    struct nsreg_error *err);

/*
 * Deliver: wake(arg) is called (quickly, from any thread, with the
 * watch's lock held) whenever watch_read may have something new.
 */
void		 watch_attach(struct watcher *wt, void (*wake)(void *),
		    void *arg);

/*
 * How the timer learns, about once a second, that the client of a quiet
 * stream went away: peer_gone(arg of watch_attach) returns 1 then, and
 * the stream ends at its next read instead of at the next write that
 * fails.  Optional.
 */
void		 watch_attach_probe(struct watcher *wt,
		    int (*peer_gone)(void *));

/*
 * Copy at most max bytes of the stream into buf.  Returns the count, 0
 * when nothing is ready (wait for the wake) or -1 to end the stream.
 */
ssize_t		 watch_read(struct watcher *wt, char *buf, size_t max);

/* The stream ended, for any reason: free wt. */
void		 watch_close(struct watcher *wt);

/* Open watch streams. */
int64_t		 watch_count(struct watch *w);

/* One NDJSON event line (new buffer, with the newline). */
char		*watch_line(enum store_event_type type, int64_t revision,
		    const json_t *object, const char *reason, size_t *len);

#endif
