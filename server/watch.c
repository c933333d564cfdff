/*
 * watch.c - the event ring and watch streams.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"
#include "watch.h"

#define WATCH_FILL_BYTES	(64 * 1024)	/* per refill */
#define WATCH_HISTORY_BATCH	256		/* events read from the store */
#define WATCH_LINE_KEEP		4096		/* kept rendered */

struct watch_event {
	int64_t			 rev;
	enum store_kind		 kind;
	enum store_event_type	 type;
	const char		*reason;	/* static string or NULL */
	json_t			*object;
	char			*line;		/* when small */
	size_t			 len;
	size_t			 cost;		/* bytes, estimated */
};

struct watcher {
	struct watch		*w;
	void			(*wake)(void *);	/* NULL: not attached */
	void			*wake_arg;
	int			(*peer_gone)(void *);	/* wake_arg's */
	atomic_int		 hung_up;	/* the client went away */
	enum store_kind		 kind;
	int			(*match)(const json_t *, void *);
	void			*match_arg;
	void			(*match_free)(void *);
	int64_t			 last;		/* revision considered */
	json_t			*snapshot;	/* ADDED still to send */
	size_t			 snap_i;
	atomic_int		 bookmark_due;	/* set by the timer */
	int64_t			 replay_to;	/* since=: BOOKMARK */
	int			 gone;		/* history lost: end */
	_Atomic int64_t		 last_write;	/* ms */
	char			*out;
	size_t			 out_len;
	size_t			 out_off;
	size_t			 out_cap;
	struct watcher		*prev, *next;
};

struct watch {
	struct store		*store;
	pthread_mutex_t		 lock;
	struct watch_event	*ring;
	size_t			 ring_cap;
	size_t			 ring_start;	/* index of the oldest */
	size_t			 ring_len;
	size_t			 ring_bytes;	/* events' cost */
	size_t			 ring_bytes_max;
	struct watcher		*watchers;
	int64_t			 nwatchers;
	int64_t			 bookmark_ms;
	pthread_t		 timer;
	pthread_cond_t		 timer_cond;
	int			 stopping;
};

static void
watch_event_clear(struct watch *w, struct watch_event *e)
{
	w->ring_bytes -= e->cost;
	json_decref(e->object);
	free(e->line);
	memset(e, 0, sizeof(*e));
}

char *
watch_line(enum store_event_type type, int64_t revision, const json_t *object,
    const char *reason, size_t *len)
{
	json_t	*ev;
	char	*s, *line;
	size_t	 n;

	ev = json_pack("{s:s, s:I, s:O}", "type", store_event_type_name(type),
	    "revision", (json_int_t)revision, "object",
	    object != NULL ? (json_t *)object : json_object());
	if (ev == NULL)
		return NULL;
	if (reason != NULL)
		json_object_set_new(ev, "reason", json_string(reason));
	s = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((line = realloc(s, n + 2)) == NULL) {
		free(s);
		return NULL;
	}
	line[n++] = '\n';
	line[n] = '\0';
	*len = n;
	return line;
}

static int
watcher_append(struct watcher *wt, const char *s, size_t n)
{
	if (wt->out_len + n > wt->out_cap) {
		size_t	 cap = wt->out_cap ? wt->out_cap : 4096;
		char	*no;

		while (cap < wt->out_len + n)
			cap *= 2;
		if ((no = realloc(wt->out, cap)) == NULL)
			return -1;
		wt->out = no;
		wt->out_cap = cap;
	}
	memcpy(wt->out + wt->out_len, s, n);
	wt->out_len += n;
	return 0;
}

static int
watcher_append_event(struct watcher *wt, enum store_event_type type,
    int64_t rev, const json_t *object, const char *reason)
{
	char	*line;
	size_t	 n;
	int	 rc;

	if ((line = watch_line(type, rev, object, reason, &n)) == NULL)
		return -1;
	rc = watcher_append(wt, line, n);
	free(line);
	return rc;
}

static int
watcher_matches(struct watcher *wt, const json_t *object)
{
	return wt->match == NULL || object == NULL ||
	    wt->match(object, wt->match_arg) == 1;
}

/* Index in the ring of the first event with rev > after (ring_len if none). */
static size_t
watch_ring_find(struct watch *w, int64_t after)
{
	size_t	lo = 0, hi = w->ring_len, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (w->ring[(w->ring_start + mid) % w->ring_cap].rev <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct watch_history {
	struct watcher	*wt;
	int		 failed;
	int64_t		 last;
};

static void
watch_history_event(const struct store_event *ev, void *arg)
{
	struct watch_history	*h = arg;

	h->last = ev->revision;
	if (!watcher_matches(h->wt, ev->object))
		return;
	if (watcher_append_event(h->wt, ev->type, ev->revision, ev->object,
	    ev->reason) == -1)
		h->failed = 1;
}

/*
 * Move new events into the watcher's buffer.  Returns -1 when the stream
 * must end.  Called without the lock.
 */
static int
watcher_fill(struct watcher *wt)
{
	struct watch		*w = wt->w;
	struct watch_event	*e;
	struct watch_history	 h;
	struct nsreg_error	 err;
	char			*line;
	size_t			 i, len;
	int64_t			 oldest, n;
	int			 behind, rc;

	/*
	 * An empty ring (just started, or every event dropped) holds
	 * nothing the store has not: what lies before the store's
	 * revision comes from its history.
	 */
	pthread_mutex_lock(&w->lock);
	oldest = w->ring_len > 0 ? w->ring[w->ring_start].rev :
	    store_revision(w->store) + 1;
	behind = wt->last < oldest - 1;
	pthread_mutex_unlock(&w->lock);

	if (behind) {
		/* Fell out of the ring: read the store's history. */
		memset(&h, 0, sizeof(h));
		h.wt = wt;
		h.last = wt->last;
		n = store_watch(w->store, wt->kind, wt->last,
		    WATCH_HISTORY_BATCH, watch_history_event, &h, &err);
		if (n < 0 || h.failed) {
			log_info("msg=\"watch ends: history lost\" "
			    "detail=\"%s\"", n < 0 ? nsreg_code_name(err.code) :
			    "out of memory");
			return -1;
		}
		/*
		 * A short batch means the store had nothing more of this
		 * kind, and it holds every event before the ring's oldest.
		 */
		if (n < WATCH_HISTORY_BATCH && h.last < oldest - 1)
			h.last = oldest - 1;
		wt->last = h.last;
		return 0;
	}
	pthread_mutex_lock(&w->lock);
	for (i = watch_ring_find(w, wt->last); i < w->ring_len &&
	    wt->out_len < WATCH_FILL_BYTES; i++) {
		e = &w->ring[(w->ring_start + i) % w->ring_cap];
		wt->last = e->rev;
		if (e->kind != wt->kind || !watcher_matches(wt, e->object))
			continue;
		if (e->line != NULL)
			rc = watcher_append(wt, e->line, e->len);
		else {
			/* A big event is rendered for each stream, not kept
			 * twice (object and text) in the ring. */
			if ((line = watch_line(e->type, e->rev, e->object,
			    e->reason, &len)) == NULL)
				rc = -1;
			else
				rc = watcher_append(wt, line, len);
			free(line);
		}
		if (rc == -1) {
			pthread_mutex_unlock(&w->lock);
			return -1;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return 0;
}

static int
watcher_append_bookmark(struct watcher *wt)
{
	json_t	*b;
	int	 rc;

	if ((b = json_pack("{s:I}", "revision", (json_int_t)wt->last)) ==
	    NULL)
		return -1;
	rc = watcher_append_event(wt, STORE_BOOKMARK, wt->last, b, NULL);
	json_decref(b);
	return rc;
}

ssize_t
watch_read(struct watcher *wt, char *buf, size_t max)
{
	json_t		*o;
	size_t		 n;

	if (wt->hung_up)
		return -1;
	if (wt->out_off == wt->out_len) {
		wt->out_off = wt->out_len = 0;
		if (wt->gone)
			return -1;
		/* The snapshot first, then its BOOKMARK. */
		while (wt->snapshot != NULL && wt->out_len < WATCH_FILL_BYTES &&
		    wt->snap_i < json_array_size(wt->snapshot)) {
			o = json_array_get(wt->snapshot, wt->snap_i++);
			if (watcher_append_event(wt, STORE_ADDED,
			    json_integer_value(json_object_get(o, "revision")),
			    o, NULL) == -1)
				return -1;
		}
		if (wt->snapshot != NULL &&
		    wt->snap_i == json_array_size(wt->snapshot)) {
			/* The snapshot ends with its BOOKMARK, at once. */
			json_decref(wt->snapshot);
			wt->snapshot = NULL;
			if (watcher_append_bookmark(wt) == -1)
				return -1;
		}
		if (wt->out_len == 0 && watcher_fill(wt) == -1)
			return -1;
		/*
		 * A since= replay ends with a BOOKMARK at once, as the
		 * snapshot does: the client knows it has caught up.
		 */
		if (wt->replay_to >= 0 && wt->last >= wt->replay_to) {
			wt->replay_to = -1;
			if (watcher_append_bookmark(wt) == -1)
				return -1;
		}
		if (wt->out_len == 0 && wt->bookmark_due &&
		    watcher_append_bookmark(wt) == -1)
			return -1;
		if (wt->out_len > 0)
			wt->bookmark_due = 0;
	}
	if (wt->out_len == 0)
		return 0;
	n = wt->out_len - wt->out_off;
	if (n > max)
		n = max;
	memcpy(buf, wt->out + wt->out_off, n);
	wt->out_off += n;
	wt->last_write = util_now_ms();
	return (ssize_t)n;
}

void
watch_close(struct watcher *wt)
{
	struct watch	*w = wt->w;

	pthread_mutex_lock(&w->lock);
	if (wt->prev != NULL)
		wt->prev->next = wt->next;
	else if (w->watchers == wt)
		w->watchers = wt->next;
	if (wt->next != NULL)
		wt->next->prev = wt->prev;
	w->nwatchers--;
	pthread_mutex_unlock(&w->lock);
	if (wt->match_free != NULL)
		wt->match_free(wt->match_arg);
	json_decref(wt->snapshot);
	free(wt->out);
	free(wt);
}

static void
watch_ignore_event(const struct store_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
}

struct watcher *
watch_open(struct watch *w, const struct store_query *q,
    void (*match_free)(void *), int64_t since, int64_t now,
    struct nsreg_error *err)
{
	struct watcher		*wt;
	struct store_query	 all;
	int64_t			 rev = 0;
	int			 more;

	if ((wt = calloc(1, sizeof(*wt))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	wt->w = w;
	wt->kind = q->kind;
	wt->match = q->match;
	wt->match_arg = q->match_arg;
	wt->match_free = match_free;
	wt->last_write = util_now_ms();
	wt->replay_to = -1;
	if (since >= 0) {
		/*
		 * A revision this store has not reached (a database restored
		 * from a backup, a client of another registry) has no events
		 * to resume from: 410, so the client lists again, as for a
		 * revision older than the history.
		 */
		rev = store_revision(w->store);
		if (since > rev) {
			nsreg_error_set(err, NSREG_GONE, "since",
			    "since: revision %lld is newer than the current "
			    "revision %lld: list again", (long long)since,
			    (long long)rev);
			goto fail;
		}
		/* NSREG_GONE when the history no longer reaches since. */
		if (store_watch(w->store, q->kind, since, 1,
		    watch_ignore_event, NULL, err) < 0)
			goto fail;
		wt->last = since;
		wt->replay_to = rev;
	} else {
		all = *q;
		all.after_name = NULL;
		all.limit = 0;
		if (store_list(w->store, &all, now, &wt->snapshot, &rev,
		    &more, err) == -1)
			goto fail;
		wt->last = rev;
	}
	pthread_mutex_lock(&w->lock);
	wt->next = w->watchers;
	if (w->watchers != NULL)
		w->watchers->prev = wt;
	w->watchers = wt;
	w->nwatchers++;
	pthread_mutex_unlock(&w->lock);
	return wt;
fail:
	if (wt != NULL) {
		json_decref(wt->snapshot);
		free(wt);
	}
	if (match_free != NULL)
		match_free(q->match_arg);
	return NULL;
}

void
watch_attach(struct watcher *wt, void (*wake)(void *), void *arg)
{
	pthread_mutex_lock(&wt->w->lock);
	wt->wake = wake;
	wt->wake_arg = arg;
	pthread_mutex_unlock(&wt->w->lock);
}

void
watch_attach_probe(struct watcher *wt, int (*peer_gone)(void *))
{
	pthread_mutex_lock(&wt->w->lock);
	wt->peer_gone = peer_gone;
	pthread_mutex_unlock(&wt->w->lock);
}

/* Drop every event of the ring (with the lock held). */
static void
watch_ring_clear(struct watch *w)
{
	while (w->ring_len > 0) {
		watch_event_clear(w, &w->ring[w->ring_start]);
		w->ring_start = (w->ring_start + 1) % w->ring_cap;
		w->ring_len--;
	}
}

void
watch_gap(struct watch *w)
{
	pthread_mutex_lock(&w->lock);
	watch_ring_clear(w);
	pthread_mutex_unlock(&w->lock);
}

void
watch_publish(const struct store_event *ev, void *arg)
{
	struct watch		*w = arg;
	struct watch_event	*e;
	struct watcher		*wt;
	char			*line;
	size_t			 len = 0, cost;

	/*
	 * The rendered text tells the event's size; it is kept only when
	 * small.  The object (filters read it) costs about twice its text
	 * in jansson's nodes.
	 */
	line = watch_line(ev->type, ev->revision, ev->object,
	    store_reason(ev->reason), &len);
	cost = sizeof(*e) + 2 * len;
	if (line != NULL && len > WATCH_LINE_KEEP) {
		free(line);
		line = NULL;
	}
	if (line != NULL)
		cost += len;

	pthread_mutex_lock(&w->lock);
	if (cost > w->ring_bytes_max) {
		/*
		 * Too big for the ring: keep none, so the ring stays one run
		 * of consecutive events; streams read this one from the
		 * store's history.
		 */
		watch_ring_clear(w);
		free(line);
		goto wake;
	}
	while (w->ring_len > 0 && (w->ring_len == w->ring_cap ||
	    w->ring_bytes + cost > w->ring_bytes_max)) {
		watch_event_clear(w, &w->ring[w->ring_start]);
		w->ring_start = (w->ring_start + 1) % w->ring_cap;
		w->ring_len--;
	}
	e = &w->ring[(w->ring_start + w->ring_len) % w->ring_cap];
	e->rev = ev->revision;
	e->kind = ev->kind;
	e->type = ev->type;
	e->reason = store_reason(ev->reason);
	e->object = json_incref(ev->object);
	e->line = line;
	e->len = line != NULL ? len : 0;
	e->cost = cost;
	w->ring_bytes += cost;
	w->ring_len++;
wake:
	for (wt = w->watchers; wt != NULL; wt = wt->next)
		if (wt->kind == ev->kind && wt->wake != NULL)
			wt->wake(wt->wake_arg);
	pthread_mutex_unlock(&w->lock);
}

void
watch_ring_usage(struct watch *w, size_t *events, size_t *bytes)
{
	pthread_mutex_lock(&w->lock);
	*events = w->ring_len;
	*bytes = w->ring_bytes;
	pthread_mutex_unlock(&w->lock);
}

static void *
watch_timer(void *arg)
{
	struct watch	*w = arg;
	struct watcher	*wt;
	struct timespec	 ts;
	int64_t		 now;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&w->timer_cond, &w->lock, &ts);
		now = util_now_ms();
		for (wt = w->watchers; wt != NULL; wt = wt->next) {
			if (wt->wake == NULL)
				continue;
			/*
			 * A client that left is noticed within a second, not
			 * at the next write that fails: the stream ends and
			 * nsreg_watchers is current.
			 */
			if (!wt->hung_up && wt->peer_gone != NULL &&
			    wt->peer_gone(wt->wake_arg)) {
				wt->hung_up = 1;
				wt->wake(wt->wake_arg);
			} else if (now - wt->last_write >= w->bookmark_ms) {
				wt->bookmark_due = 1;
				wt->wake(wt->wake_arg);
			}
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct watch *
watch_new(struct store *store, size_t ring, size_t ring_bytes,
    int64_t bookmark_ms)
{
	struct watch	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->ring = calloc(ring, sizeof(*w->ring))) == NULL) {
		free(w);
		return NULL;
	}
	w->store = store;
	w->ring_cap = ring;
	w->ring_bytes_max = ring_bytes;
	w->bookmark_ms = bookmark_ms;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->timer_cond, NULL);
	if (pthread_create(&w->timer, NULL, watch_timer, w) != 0) {
		pthread_cond_destroy(&w->timer_cond);
		pthread_mutex_destroy(&w->lock);
		free(w->ring);
		free(w);
		return NULL;
	}
	return w;
}

void
watch_free(struct watch *w)
{
	size_t	i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->timer_cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->timer, NULL);
	for (i = 0; i < w->ring_len; i++)
		watch_event_clear(w,
		    &w->ring[(w->ring_start + i) % w->ring_cap]);
	pthread_cond_destroy(&w->timer_cond);
	pthread_mutex_destroy(&w->lock);
	free(w->ring);
	free(w);
}

int64_t
watch_count(struct watch *w)
{
	struct watcher	*wt;
	int64_t		 n = 0;

	/* Streams whose client left are ending: not counted. */
	pthread_mutex_lock(&w->lock);
	for (wt = w->watchers; wt != NULL; wt = wt->next)
		if (!wt->hung_up)
			n++;
	pthread_mutex_unlock(&w->lock);
	return n;
}
