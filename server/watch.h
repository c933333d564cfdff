/*
 * watch.h - watch streams (DESIGN section 4, "Watch").
 *
 * The store's listener feeds every committed event into a ring of recent
 * events; each watcher is a suspended HTTP stream that wakes when an event
 * of its kind arrives, copies the events after its revision that pass its
 * filter, and sleeps again.  A watcher that falls behind the ring reads
 * the store's event history; past that it ends (the client resumes with
 * since= and gets 410).  A BOOKMARK is sent to every stream that has been
 * quiet for the bookmark interval.  No thread per watcher.
 */
#ifndef NSREG_WATCH_H
#define NSREG_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "http.h"
#include "store.h"

struct watch;

/* ring: events kept in memory; bookmark_ms: the quiet-stream interval. */
struct watch	*watch_new(struct store *store, size_t ring,
		    int64_t bookmark_ms);
/* End all streams' delivery and free (after http_stop). */
void		 watch_free(struct watch *w);

/* The store listener (pass w as arg). */
void		 watch_publish(const struct store_event *ev, void *w);

/*
 * Start a watch stream on req for the objects q describes.  since < 0:
 * the current matching objects as ADDED, a BOOKMARK, then changes; else
 * every change after since (NSREG_GONE when history no longer reaches
 * back there).  The filter q->match/q->match_arg stays in use for the
 * stream's life; match_free (may be NULL) releases match_arg when the
 * stream ends, or at once on error.  Returns 0 (the reply is made) or -1.
 */
int		 watch_start(struct watch *w, struct http_request *req,
		    const struct store_query *q, void (*match_free)(void *),
		    int64_t since, struct nsreg_error *err);

/* Open watch streams. */
int64_t		 watch_count(struct watch *w);

/* One NDJSON event line (new buffer, with the newline). */
char		*watch_line(enum store_event_type type, int64_t revision,
		    const json_t *object, const char *reason, size_t *len);

#endif
