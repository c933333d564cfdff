/*
 * peer_watch.c - interdomain watches: one upstream stream per query,
 * shared, resumed with since= (peer_watch.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "peer_watch.h"
#include "util.h"
#include "watch.h"

struct pw_up;

struct peer_watcher {
	struct peer_watcher	*next;
	struct pw_up		*up;
	char			*out;
	size_t			 len;
	size_t			 off;
	size_t			 cap;
	void			(*wake)(void *);
	void			*arg;
};

/* One stream from a peer. */
struct pw_up {
	struct pw_up		*next;
	struct peer_watch	*w;
	char			*key;
	char			*td;
	char			*base;
	char			*url;
	char			*cert;
	char			*ckey;
	char			*what;
	char			*header;
	uint64_t		 bundle_id;
	int64_t			 timeout_ms;
	int64_t			 backoff_ms;
	int			(*qualify)(json_t *, const char *,
				    struct nsreg_error *);
	int			 shared;	/* found by its key */
	int64_t			 rev;		/* last passed on, -1: none */
	int			 synced;	/* a BOOKMARK came */
	json_t			*view;		/* name -> [rev, object] */
	char			*line;		/* a partial NDJSON line */
	size_t			 line_len;
	size_t			 line_cap;
	struct peer_watcher	*subs;
	int			 running;	/* a peer call in flight */
	int64_t			 retry_at;	/* monotonic ms, 0: none */
	int64_t			 retry_ms;
	int			 ended;		/* the watchers' streams end */
	int			 closing;	/* cancelled: done frees it */
};

struct peer_watch {
	struct peer		*peer;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct pw_up		*ups;
	pthread_t		 thread;
	int			 running;
	int			 stopping;
};

static int	pw_start(struct pw_up *up, struct nsreg_error *err);

static void
pw_up_free(struct pw_up *up)
{
	if (up == NULL)
		return;
	free(up->key);
	free(up->td);
	free(up->base);
	free(up->url);
	free(up->cert);
	if (up->ckey != NULL)
		explicit_bzero(up->ckey, strlen(up->ckey));
	free(up->ckey);
	free(up->what);
	free(up->header);
	free(up->line);
	json_decref(up->view);
	free(up);
}

/* Unlink up from w->ups; w->lock held. */
static void
pw_up_unlink(struct peer_watch *w, struct pw_up *up)
{
	struct pw_up	**pp;

	for (pp = &w->ups; *pp != NULL; pp = &(*pp)->next)
		if (*pp == up) {
			*pp = up->next;
			break;
		}
}

/* Append s to wt's output; w->lock held.  -1: out of memory. */
static int
pw_append(struct peer_watcher *wt, const char *s, size_t n)
{
	size_t	 cap;
	char	*no;

	if (wt->off > 0 && wt->off == wt->len)
		wt->off = wt->len = 0;
	if (wt->len + n > wt->cap) {
		cap = wt->cap ? wt->cap : 4096;
		while (cap < wt->len + n)
			cap *= 2;
		if ((no = realloc(wt->out, cap)) == NULL)
			return -1;
		wt->out = no;
		wt->cap = cap;
	}
	memcpy(wt->out + wt->len, s, n);
	wt->len += n;
	return 0;
}

/* One line to every watcher of up, woken; w->lock held. */
static void
pw_broadcast(struct pw_up *up, const char *line, size_t n)
{
	struct peer_watcher	*wt;

	for (wt = up->subs; wt != NULL; wt = wt->next) {
		if (pw_append(wt, line, n) == -1)
			up->ended = 1;
		if (wt->wake != NULL)
			wt->wake(wt->arg);
	}
}

static void
pw_wake_all(struct pw_up *up)
{
	struct peer_watcher	*wt;

	for (wt = up->subs; wt != NULL; wt = wt->next)
		if (wt->wake != NULL)
			wt->wake(wt->arg);
}

static char *
pw_bookmark(int64_t rev, size_t *n)
{
	json_t	*o = json_pack("{s:I}", "revision", (json_int_t)rev);
	char	*s = watch_line(STORE_BOOKMARK, rev, o, NULL, n);

	json_decref(o);
	return s;
}

/* One event line from the peer; w->lock held.  -1 ends the stream. */
static int
pw_event(struct pw_up *up, const char *s, size_t n)
{
	struct nsreg_error	 err;
	json_t			*ev, *obj;
	const char		*type, *name, *reason;
	enum store_event_type	 t;
	int64_t			 rev;
	char			*line = NULL;
	size_t			 len;
	int			 rc = -1;

	if ((ev = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto bad;
	type = json_string_value(json_object_get(ev, "type"));
	rev = json_integer_value(json_object_get(ev, "revision"));
	obj = json_object_get(ev, "object");
	reason = json_string_value(json_object_get(ev, "reason"));
	if (type == NULL || !json_is_integer(json_object_get(ev,
	    "revision")) || rev < 0 || !json_is_object(obj))
		goto bad;
	if (strcmp(type, "BOOKMARK") == 0) {
		up->rev = rev;
		up->synced = 1;
		if ((line = pw_bookmark(rev, &len)) != NULL)
			pw_broadcast(up, line, len);
		rc = 0;
		goto out;
	}
	if (strcmp(type, "ADDED") == 0)
		t = STORE_ADDED;
	else if (strcmp(type, "MODIFIED") == 0)
		t = STORE_MODIFIED;
	else if (strcmp(type, "DELETED") == 0)
		t = STORE_DELETED;
	else
		goto bad;
	/* A replay after a reconnection repeats nothing already passed. */
	if (up->synced && rev <= up->rev) {
		rc = 0;
		goto out;
	}
	nsreg_error_clear(&err);
	if (up->qualify(obj, up->td, &err) == -1) {
		log_warnx("msg=\"interdomain watch: a bad event, the stream "
		    "ends\" trust_domain=%s error=\"%s\"", up->td,
		    err.message);
		goto out;
	}
	name = json_string_value(json_object_get(obj, "name"));
	if (up->shared && name != NULL) {
		if (t == STORE_DELETED)
			json_object_del(up->view, name);
		else
			json_object_set_new(up->view, name, json_pack("[I, O]",
			    (json_int_t)rev, obj));
	}
	if (rev > up->rev)
		up->rev = rev;
	if ((line = watch_line(t, rev, obj, reason, &len)) == NULL)
		goto out;
	pw_broadcast(up, line, len);
	rc = 0;
	goto out;
bad:
	log_warnx("msg=\"interdomain watch: the peer sent something that is "
	    "not an event, the stream ends\" trust_domain=%s", up->td);
out:
	free(line);
	json_decref(ev);
	return rc;
}

/* peer.h data callback: bytes of the peer's stream (peer thread). */
static int
pw_data(void *arg, const char *buf, size_t n)
{
	struct pw_up		*up = arg;
	struct peer_watch	*w = up->w;
	size_t			 cap, i, start = 0;
	char			*nl;
	int			 rc = 0;

	pthread_mutex_lock(&w->lock);
	up->retry_ms = 0;
	if (up->line_len + n > PEER_WATCH_LINE_MAX) {
		rc = -1;
		goto out;
	}
	if (up->line_len + n > up->line_cap) {
		cap = up->line_cap ? up->line_cap : 8192;
		while (cap < up->line_len + n)
			cap *= 2;
		if ((nl = realloc(up->line, cap)) == NULL) {
			rc = -1;
			goto out;
		}
		up->line = nl;
		up->line_cap = cap;
	}
	memcpy(up->line + up->line_len, buf, n);
	up->line_len += n;
	for (i = 0; i < up->line_len; i++) {
		if (up->line[i] != '\n')
			continue;
		if (i > start && pw_event(up, up->line + start,
		    i - start) == -1) {
			rc = -1;
			goto out;
		}
		start = i + 1;
	}
	memmove(up->line, up->line + start, up->line_len - start);
	up->line_len -= start;
out:
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* peer.h done callback (peer thread): the stream ended. */
static void
pw_done(void *arg, const struct peer_answer *a)
{
	struct pw_up		*up = arg;
	struct peer_watch	*w = up->w;

	pthread_mutex_lock(&w->lock);
	up->running = 0;
	up->line_len = 0;
	if (up->closing || up->subs == NULL) {
		pw_up_unlink(w, up);
		pthread_mutex_unlock(&w->lock);
		pw_up_free(up);
		return;
	}
	if (a->err == NULL && a->status != 200) {
		/* 410, 403, 404...: the watchers list again. */
		log_info("msg=\"interdomain watch ended by the peer\" "
		    "trust_domain=%s status=%ld", up->td, a->status);
		up->ended = 1;
		up->shared = 0;
		pw_wake_all(up);
	} else {
		/* Dropped or ended: ask again from where it was. */
		up->retry_ms = up->retry_ms == 0 ? PEER_WATCH_RETRY_MS :
		    up->retry_ms * 2 > PEER_WATCH_RETRY_MAX_MS ?
		    PEER_WATCH_RETRY_MAX_MS : up->retry_ms * 2;
		up->retry_at = util_mono_us() / 1000 + up->retry_ms;
		log_info("msg=\"interdomain watch interrupted, resuming\" "
		    "trust_domain=%s since=%lld error=\"%s\"", up->td,
		    (long long)up->rev, a->err != NULL ? a->err->message :
		    "the peer ended the stream");
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
}

/* Start up's call (since its last revision); w->lock held.  0 or -1. */
static int
pw_start(struct pw_up *up, struct nsreg_error *err)
{
	struct peer_request	 r;
	char			*url;
	size_t			 n;
	int			 rc = -1;

	n = strlen(up->url) + 64;
	if ((url = malloc(n)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	if (up->rev >= 0)
		snprintf(url, n, "%s%swatch=true&since=%lld", up->url,
		    strchr(up->url, '?') != NULL ? "&" : "?",
		    (long long)up->rev);
	else
		snprintf(url, n, "%s%swatch=true", up->url,
		    strchr(up->url, '?') != NULL ? "&" : "?");
	memset(&r, 0, sizeof(r));
	r.trust_domain = up->td;
	r.base = up->base;
	r.bundle_id = up->bundle_id;
	r.url = url;
	r.client_cert = up->cert;
	r.client_key = up->ckey;
	r.timeout_ms = up->timeout_ms;
	r.backoff_ms = up->backoff_ms;
	r.max_body = 64 * 1024;
	r.what = up->what;
	if (up->header != NULL)
		r.headers[r.nheaders++] = up->header;
	r.data = pw_data;
	r.idle_s = PEER_WATCH_IDLE_S;
	up->retry_at = 0;
	if (peer_call(up->w->peer, &r, pw_done, up, err) == 0) {
		up->running = 1;
		rc = 0;
	}
	free(url);
	return rc;
}

/* The retry thread: restart the upstreams whose pause is over. */
static void *
pw_thread(void *arg)
{
	struct peer_watch	*w = arg;
	struct pw_up		*up;
	struct nsreg_error	 err;
	struct timespec		 ts;
	int64_t			 now, due;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		now = util_mono_us() / 1000;
		due = now + 1000;
		for (up = w->ups; up != NULL; up = up->next) {
			if (up->retry_at == 0 || up->running || up->closing)
				continue;
			if (up->retry_at > now) {
				if (up->retry_at < due)
					due = up->retry_at;
				continue;
			}
			if (pw_start(up, &err) == -1) {
				/* In the backoff, or stopping: later. */
				up->retry_at = now + (up->retry_ms > 0 ?
				    up->retry_ms : PEER_WATCH_RETRY_MS);
				if (up->retry_at < due)
					due = up->retry_at;
			}
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		due -= now;
		ts.tv_sec += due / 1000;
		ts.tv_nsec += (due % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct peer_watch *
peer_watch_new(struct peer *p)
{
	struct peer_watch	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->peer = p;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, pw_thread, w) != 0) {
		peer_watch_free(w);
		return NULL;
	}
	w->running = 1;
	return w;
}

void
peer_watch_free(struct peer_watch *w)
{
	struct pw_up	*up;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->running)
		pthread_join(w->thread, NULL);
	/* The peer client has stopped: no callback runs any more. */
	while ((up = w->ups) != NULL) {
		w->ups = up->next;
		pw_up_free(up);
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static char *
pw_strdup(const char *s, int *ok)
{
	char	*c = NULL;

	if (s != NULL && (c = strdup(s)) == NULL)
		*ok = 0;
	return c;
}

static struct pw_up *
pw_up_new(struct peer_watch *w, const struct peer_watch_query *q,
    int64_t since)
{
	struct pw_up	*up;
	int		 ok = 1;

	if ((up = calloc(1, sizeof(*up))) == NULL)
		return NULL;
	up->w = w;
	up->key = pw_strdup(q->key, &ok);
	up->td = pw_strdup(q->trust_domain, &ok);
	up->base = pw_strdup(q->base, &ok);
	up->url = pw_strdup(q->url, &ok);
	up->cert = pw_strdup(q->client_cert, &ok);
	up->ckey = pw_strdup(q->client_key, &ok);
	up->what = pw_strdup(q->what, &ok);
	up->header = pw_strdup(q->header, &ok);
	up->bundle_id = q->bundle_id;
	up->timeout_ms = q->timeout_ms;
	up->backoff_ms = q->backoff_ms;
	up->qualify = q->qualify;
	up->shared = since < 0;
	up->rev = since;
	/* Resumed from since: what came before is the watcher's. */
	up->synced = since >= 0;
	if (!ok || up->key == NULL || up->url == NULL ||
	    (up->view = json_object()) == NULL) {
		pw_up_free(up);
		up = NULL;
	}
	return up;
}

/* Give a watcher joining up what it holds; w->lock held. */
static int
pw_join(struct pw_up *up, struct peer_watcher *wt)
{
	const char	*k;
	json_t		*v;
	char		*line;
	size_t		 n;
	int		 rc = 0;

	json_object_foreach(up->view, k, v) {
		line = watch_line(STORE_ADDED, json_integer_value(
		    json_array_get(v, 0)), json_array_get(v, 1), NULL, &n);
		if (line == NULL || pw_append(wt, line, n) == -1)
			rc = -1;
		free(line);
	}
	if (up->synced && rc == 0) {
		if ((line = pw_bookmark(up->rev, &n)) == NULL ||
		    pw_append(wt, line, n) == -1)
			rc = -1;
		free(line);
	}
	return rc;
}

struct peer_watcher *
peer_watch_open(struct peer_watch *w, const struct peer_watch_query *q,
    int64_t since, struct nsreg_error *err)
{
	struct peer_watcher	*wt;
	struct pw_up		*up = NULL;
	int			 fresh = 0;

	if ((wt = calloc(1, sizeof(*wt))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_lock(&w->lock);
	if (since < 0)
		for (up = w->ups; up != NULL; up = up->next)
			if (up->shared && !up->closing && !up->ended &&
			    strcmp(up->key, q->key) == 0 &&
			    up->bundle_id == q->bundle_id)
				break;
	if (up == NULL) {
		if ((up = pw_up_new(w, q, since)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto fail;
		}
		if (pw_start(up, err) == -1) {
			pw_up_free(up);
			goto fail;
		}
		fresh = 1;
		up->next = w->ups;
		w->ups = up;
	}
	wt->up = up;
	if (!fresh && pw_join(up, wt) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	wt->next = up->subs;
	up->subs = wt;
	pthread_mutex_unlock(&w->lock);
	return wt;
fail:
	pthread_mutex_unlock(&w->lock);
	free(wt->out);
	free(wt);
	return NULL;
}

void
peer_watch_attach(struct peer_watcher *wt, void (*wake)(void *), void *arg)
{
	struct peer_watch	*w = wt->up->w;

	pthread_mutex_lock(&w->lock);
	wt->wake = wake;
	wt->arg = arg;
	if (wt->len > wt->off || wt->up->ended)
		wake(arg);
	pthread_mutex_unlock(&w->lock);
}

ssize_t
peer_watch_read(struct peer_watcher *wt, char *buf, size_t max)
{
	struct peer_watch	*w = wt->up->w;
	ssize_t			 n = 0;
	size_t			 k;

	pthread_mutex_lock(&w->lock);
	if (wt->len > wt->off) {
		k = wt->len - wt->off < max ? wt->len - wt->off : max;
		memcpy(buf, wt->out + wt->off, k);
		wt->off += k;
		n = (ssize_t)k;
	} else if (wt->up->ended)
		n = -1;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void
peer_watch_close(struct peer_watcher *wt)
{
	struct pw_up		*up = wt->up;
	struct peer_watch	*w = up->w;
	struct peer_watcher	**pp;
	int			 release = 0;

	pthread_mutex_lock(&w->lock);
	for (pp = &up->subs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == wt) {
			*pp = wt->next;
			break;
		}
	if (up->subs == NULL) {
		if (up->running) {
			/* pw_done frees it once the call has ended. */
			up->closing = 1;
			peer_cancel(w->peer, up);
		} else {
			pw_up_unlink(w, up);
			release = 1;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (release)
		pw_up_free(up);
	free(wt->out);
	free(wt);
}
