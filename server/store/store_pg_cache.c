/*
 * store_pg_cache.c - the PostgreSQL backend's endpoints in memory, for
 * ?service= lists that read no rows (DESIGN section 6, issue 11).
 *
 * The cache is loaded from one REPEATABLE READ snapshot (every endpoint
 * and the revision the snapshot holds) and then moved on by every event
 * the follower or a local write delivers (store_pg_follow.c), in
 * revision order: the state it holds is the database's at k->rev,
 * exactly.  An event it cannot apply (out of memory, an unreadable
 * object) unloads it; the follower loads it again from a new snapshot.
 *
 * Freshness across instances: a write acknowledged by another instance
 * may not have reached this one's follower yet.  A read therefore first
 * asks the database for its committed revision and makes the cache
 * reach it (reading the missing events itself when the follower has
 * not), so that it holds every write acknowledged before the read
 * started.  That question is shared: one thread (checker) asks it, one
 * query at a time, for every read queued before the query went (a read
 * needs a question asked after it arrived), so under load the database
 * sees one small query per round of reads, not one list query per read.
 * A read waits without holding a thread: store_pg_when_fresh queues a
 * call, which the checker makes once the cache holds the answer (the
 * server parks the request meanwhile); a read that comes by
 * store_pg_cache_list on its own thread queues itself and sleeps.
 *
 * Locks: dlock (held by whoever delivers events) before k->lock; readers
 * take k->lock alone, shared; k->slock guards the queue of waiters.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "log.h"
#include "store_pg_int.h"
#include "store_svcidx.h"
#include "util.h"

/*
 * Lists kept (struct store_pg_cresp), and their bytes: past either, they
 * are all dropped.  A longer list is not kept.
 */
#define STORE_PG_CACHE_RESP	4096
#define STORE_PG_CACHE_RBYTES	(64 * 1024 * 1024)
#define STORE_PG_CACHE_RLEN	(1024 * 1024)
/* A list's key: its query, at most this long (longer ones are made). */
#define STORE_PG_CRESP_KEY	1024

/* Endpoints one query of the load reads. */
#define STORE_PG_CACHE_CHUNK	1000
/* Index hits a list takes at a time. */
#define STORE_PG_CACHE_HITS	256

/* One endpoint: its stored text and the services it offers. */
struct store_pg_centry {
	char	*name;		/* the map's key */
	char	*text;
	size_t	 len;
	json_t	*services;	/* array of strings (own copy), or NULL */
};

/* A list made from memory (store_pg_cache_list), kept for its query. */
struct store_pg_cresp {
	char	*key;		/* the map's key */
	int64_t	 rev;		/* the cache's revision it holds */
	int64_t	 at;		/* the time it was made for */
	int64_t	 until;		/* its first expiry (0: none) */
	char	*text;		/* what the sink held after "[" */
	size_t	 len, n;
	char	*last;
	int	 more;
};

static void
store_pg_cresp_free(struct store_pg_cresp *c)
{
	if (c == NULL)
		return;
	free(c->key);
	free(c->text);
	free(c->last);
	free(c);
}

/* hashmap_filter: drop every kept list. */
static int
store_pg_cresp_drop(const char *key, void *v, void *arg)
{
	(void)key;
	(void)arg;
	store_pg_cresp_free(v);
	return 0;
}

/* Drop every kept list (rlock held, or the cache going). */
static void
store_pg_cresp_clear(struct store_pg_cache *k)
{
	if (k->resp != NULL) {
		hashmap_filter(k->resp, store_pg_cresp_drop, NULL);
		hashmap_free(k->resp);
	}
	k->resp = NULL;
	k->rbytes = 0;
}

void
store_pg_cache_init(struct store_pg_cache *k)
{
	pthread_rwlockattr_t	ra;

	memset(k, 0, sizeof(*k));
	/* Lists must not starve the deliverer (it holds dlock). */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&k->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&k->slock, NULL);
	pthread_cond_init(&k->scond, NULL);
	pthread_cond_init(&k->dcond, NULL);
	pthread_mutex_init(&k->rlock, NULL);
	k->wtail = &k->waiters;
	/* The revision and the events after one: by key, planned once. */
	k->sconn.keep_plans = 1;
	k->uconn.keep_plans = 1;
}

static void
store_pg_centry_free(struct store_pg_centry *e)
{
	if (e == NULL)
		return;
	free(e->name);
	free(e->text);
	json_decref(e->services);
	free(e);
}

/* hashmap_filter: free every entry. */
static int
store_pg_centry_drop(const char *key, void *v, void *arg)
{
	(void)key;
	(void)arg;
	store_pg_centry_free(v);
	return 0;
}

static void
store_pg_cmaps_free(struct store_pg_cmaps *m)
{
	if (m->eps != NULL) {
		hashmap_filter(m->eps, store_pg_centry_drop, NULL);
		hashmap_free(m->eps);
	}
	store_svcidx_free(m->idx);
	m->eps = NULL;
	m->idx = NULL;
}

static int
store_pg_cmaps_new(struct store_pg_cmaps *m)
{
	m->eps = hashmap_new();
	m->idx = store_svcidx_new();
	if (m->eps == NULL || m->idx == NULL) {
		store_pg_cmaps_free(m);
		return -1;
	}
	return 0;
}

/* Unload (k->lock held for writing). */
static void
store_pg_cache_clear(struct store_pg_cache *k)
{
	store_pg_cmaps_free(&k->maps);
	k->ok = 0;
}

void
store_pg_cache_free(struct store_pg_cache *k)
{
	store_pg_cache_clear(k);
	pthread_rwlock_destroy(&k->lock);
	pthread_mutex_destroy(&k->slock);
	pthread_cond_destroy(&k->scond);
	pthread_cond_destroy(&k->dcond);
	store_pg_cresp_clear(k);
	pthread_mutex_destroy(&k->rlock);
	if (k->sconn.db != NULL)
		PQfinish(k->sconn.db);
	if (k->uconn.db != NULL)
		PQfinish(k->uconn.db);
	k->sconn.db = NULL;
	k->uconn.db = NULL;
}

void
store_pg_cache_drop(struct store_pg_cache *k)
{
	pthread_rwlock_wrlock(&k->lock);
	store_pg_cache_clear(k);
	pthread_rwlock_unlock(&k->lock);
}

/* 1 when the array a holds the string s. */
static int
store_pg_cache_offers(const json_t *a, const char *s)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(a, i, v) {
		if (strcmp(json_string_value(v), s) == 0)
			return 1;
	}
	return 0;
}

/* Forget the endpoint name. */
static void
store_pg_cache_remove(struct store_pg_cmaps *m, const char *name)
{
	struct store_pg_centry	*e;
	const json_t		*v;
	size_t			 i;

	if ((e = hashmap_remove(m->eps, name)) == NULL)
		return;
	json_array_foreach(e->services, i, v)
		store_svcidx_remove(m->idx, json_string_value(v), e->name);
	store_pg_centry_free(e);
}

/*
 * Hold the endpoint name, stored as text (len bytes) at revision rev,
 * object its parsed text.  0, or -1 when it cannot (the maps then may
 * be half changed: the caller unloads them).
 */
static int
store_pg_cache_set(struct store_pg_cmaps *m, const char *name,
    const json_t *object, const char *text, size_t len, int64_t rev)
{
	struct store_pg_centry	*e, *old = NULL;
	const json_t		*a, *t, *v;
	int64_t			 expires = 0;
	size_t			 i;
	int			 ret = -1;

	t = json_object_get(object, "expiration_time");
	if (t != NULL && (!json_is_string(t) ||
	    util_rfc3339_parse(json_string_value(t), &expires) == -1))
		return -1;
	a = json_object_get(object, "network_service_names");
	if (a != NULL && !json_is_array(a))
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return -1;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->name = strdup(name)) == NULL ||
	    (e->text = malloc(len + 1)) == NULL ||
	    (a != NULL && (e->services = json_deep_copy(a)) == NULL))
		goto done;
	memcpy(e->text, text, len);
	e->text[len] = '\0';
	e->len = len;
	json_array_foreach(e->services, i, v) {
		if (store_svcidx_add(m->idx, json_string_value(v),
		    e->name) == -1)
			goto done;
	}
	if (hashmap_put(m->eps, e->name, e, (void **)&old) == -1)
		goto done;
	e = NULL;
	if (old != NULL) {
		json_array_foreach(old->services, i, v) {
			if (a == NULL ||
			    !store_pg_cache_offers(a, json_string_value(v)))
				store_svcidx_remove(m->idx,
				    json_string_value(v), name);
		}
	}
	store_svcidx_set(m->idx, name, 0, rev, expires);
	ret = 0;
done:
	store_pg_centry_free(e);
	store_pg_centry_free(old);
	return ret;
}

void
store_pg_cache_apply(struct store_pg_cache *k, const struct store_event *ev,
    const char *text, size_t len)
{
	pthread_rwlock_wrlock(&k->lock);
	if (!k->ok || ev->revision <= k->rev)
		goto out;
	if (ev->kind == STORE_ENDPOINT) {
		if (ev->type == STORE_DELETED)
			store_pg_cache_remove(&k->maps, ev->name);
		else if (text == NULL || store_pg_cache_set(&k->maps, ev->name,
		    ev->object, text, len, ev->revision) == -1) {
			log_warnx("msg=\"endpoint cache unloaded: cannot "
			    "apply an event, loading it again\" "
			    "revision=%lld", (long long)ev->revision);
			store_pg_cache_clear(k);
			goto out;
		}
	}
	k->rev = ev->revision;
out:
	pthread_rwlock_unlock(&k->lock);
}

int
store_pg_cache_load(struct store_pg_cache *k, struct store_pg_conn *c,
    int64_t *rev, struct nsreg_error *err)
{
	struct store_pg_cmaps	 m = { NULL, NULL }, old;
	struct store_pg_params	 p;
	PGresult		*r = NULL;
	json_t			*o;
	char			*after = NULL;
	int			 i, n, ret = -1;

	if (store_pg_cmaps_new(&m) == -1 || (after = strdup("")) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	if (store_pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ "
	    "READ ONLY", "load endpoints", err) == -1)
		goto done;
	if ((r = store_pg_run(c, PG_REVISION, 0, NULL, "load endpoints",
	    err)) == NULL)
		goto done;
	*rev = PQntuples(r) == 1 ? store_pg_int(r, 0, 0) : 0;
	do {
		PQclear(r);
		/* now 0: expired rows too, a list skips them by its time. */
		store_pg_param_int(&p, 0, (int64_t)STORE_ENDPOINT);
		p.v[1] = after;
		store_pg_param_int(&p, 2, 0);
		store_pg_param_int(&p, 3, STORE_PG_CACHE_CHUNK);
		if ((r = store_pg_run(c, PG_LIST, 4, p.v, "load endpoints",
		    err)) == NULL)
			goto done;
		n = PQntuples(r);
		for (i = 0; i < n; i++) {
			o = store_pg_parse(PQgetvalue(r, i, 1),
			    (size_t)PQgetlength(r, i, 1));
			if (o == NULL || store_pg_cache_set(&m,
			    PQgetvalue(r, i, 0), o, PQgetvalue(r, i, 1),
			    (size_t)PQgetlength(r, i, 1), *rev) == -1) {
				json_decref(o);
				nsreg_error_set(err, NSREG_INTERNAL, NULL,
				    "endpoint %s: cannot be cached",
				    PQgetvalue(r, i, 0));
				goto done;
			}
			json_decref(o);
		}
		if (n > 0) {
			free(after);
			if ((after = strdup(PQgetvalue(r, n - 1, 0))) ==
			    NULL) {
				nsreg_error_set(err, NSREG_INTERNAL, NULL,
				    "out of memory");
				goto done;
			}
		}
	} while (n == STORE_PG_CACHE_CHUNK);
	if (store_pg_exec(c, "COMMIT", "load endpoints", err) == -1)
		goto done;
	pthread_rwlock_wrlock(&k->lock);
	old = k->maps;
	k->maps = m;
	k->rev = *rev;
	k->ok = 1;
	pthread_rwlock_unlock(&k->lock);
	m = old;
	ret = 0;
done:
	PQclear(r);
	if (ret == -1 && c->db != NULL &&
	    PQtransactionStatus(c->db) != PQTRANS_IDLE)
		store_pg_exec(c, "ROLLBACK", "load endpoints", NULL);
	store_pg_cmaps_free(&m);
	free(after);
	return ret;
}

/*
 * On the checker thread, while it calls its waiters: the revision the
 * cache holds every write up to (-1: the check failed, read the
 * database).  Elsewhere STORE_PG_NOT_CHECKER.
 */
#define STORE_PG_NOT_CHECKER	INT64_MIN
static _Thread_local int64_t store_pg_checked = STORE_PG_NOT_CHECKER;

/* The cache's revision, or -1 when it is not loaded. */
static int64_t
store_pg_cache_rev(struct store_pg_cache *k)
{
	int64_t	rev;

	pthread_rwlock_rdlock(&k->lock);
	rev = k->ok ? k->rev : -1;
	pthread_rwlock_unlock(&k->lock);
	return rev;
}

/*
 * One check: the revision the database has committed, and the cache
 * made to reach it (reading the missing events itself when the
 * follower has not); -1 when either failed.
 */
static int64_t
store_pg_cache_check(struct store_pg *s)
{
	struct store_pg_cache	*k = &s->cache;
	struct nsreg_error	 err;
	PGresult		*r;
	int64_t			 rev = -1;

	if (store_pg_conn_ready(s, &k->sconn, &err) == 0 &&
	    (r = store_pg_run(&k->sconn, PG_REVISION, 0, NULL, "revision",
	    &err)) != NULL) {
		if (PQntuples(r) == 1)
			rev = store_pg_int(r, 0, 0);
		PQclear(r);
	}
	if (rev >= 0 && store_pg_cache_rev(k) < rev &&
	    store_pg_follow_upto(s, rev, &err) == -1)
		rev = -1;
	return rev;
}

/* Call (or wake) the waiters of list, checked at rev. */
static void
store_pg_fresh_done(struct store_pg_cache *k, struct store_pg_fresh *list,
    int64_t rev)
{
	struct store_pg_fresh	*w, *next, *sleepers = NULL;

	store_pg_checked = rev;
	for (w = list; w != NULL; w = next) {
		next = w->next;
		if (w->fn == NULL) {
			w->next = sleepers;
			sleepers = w;
			continue;
		}
		w->fn(w->arg, rev >= 0);
		free(w);
	}
	store_pg_checked = STORE_PG_NOT_CHECKER;
	if (sleepers == NULL)
		return;
	/* Each returns once done is set (and slock let go). */
	pthread_mutex_lock(&k->slock);
	for (w = sleepers; w != NULL; w = next) {
		next = w->next;
		w->rev = rev;
		w->done = 1;
	}
	pthread_cond_broadcast(&k->dcond);
	pthread_mutex_unlock(&k->slock);
}

static void *
store_pg_checker(void *arg)
{
	struct store_pg		*s = arg;
	struct store_pg_cache	*k = &s->cache;
	struct store_pg_fresh	*list;
	int64_t			 rev;

	pthread_setname_np(pthread_self(), "nsreg-fresh");
	pthread_mutex_lock(&k->slock);
	for (;;) {
		while (k->waiters == NULL && !k->sstop)
			pthread_cond_wait(&k->scond, &k->slock);
		if (k->waiters == NULL)
			break;
		list = k->waiters;
		k->waiters = NULL;
		k->wtail = &k->waiters;
		pthread_mutex_unlock(&k->slock);
		rev = k->sstop ? -1 : store_pg_cache_check(s);
		store_pg_fresh_done(k, list, rev);
		pthread_mutex_lock(&k->slock);
	}
	pthread_mutex_unlock(&k->slock);
	return NULL;
}

/*
 * Queue w for the next check (k->slock held); -1 when stopping.  The
 * caller signals k->scond, after letting k->slock go where it can: the
 * checker, woken, would otherwise wait for the lock at once.
 */
static int
store_pg_fresh_queue(struct store_pg *s, struct store_pg_fresh *w)
{
	struct store_pg_cache	*k = &s->cache;

	if (k->sstop)
		return -1;
	if (!k->checking) {
		if (pthread_create(&k->checker, NULL, store_pg_checker,
		    s) != 0)
			return -1;
		k->checking = 1;
	}
	w->next = NULL;
	*k->wtail = w;
	k->wtail = &w->next;
	return 0;
}

int
store_pg_when_fresh(void *b, void (*fn)(void *, int), void *arg)
{
	struct store_pg		*s = b;
	struct store_pg_cache	*k = &s->cache;
	struct store_pg_fresh	*w;
	int			 ret;

	/* Not loaded: reads go to the database, fresh by itself. */
	if (store_pg_cache_rev(k) < 0 || (w = calloc(1, sizeof(*w))) == NULL)
		return 1;
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_lock(&k->slock);
	ret = store_pg_fresh_queue(s, w);
	pthread_mutex_unlock(&k->slock);
	if (ret == -1) {
		free(w);
		return 1;
	}
	pthread_cond_signal(&k->scond);
	return 0;
}

/*
 * The revision the cache holds every write up to, committed anywhere
 * before this call began (waiting on this thread for a check), or -1.
 */
static int64_t
store_pg_cache_sync(struct store_pg *s)
{
	struct store_pg_cache	*k = &s->cache;
	struct store_pg_fresh	 w;

	if (store_pg_checked != STORE_PG_NOT_CHECKER)
		return store_pg_checked;
	memset(&w, 0, sizeof(w));
	pthread_mutex_lock(&k->slock);
	if (store_pg_fresh_queue(s, &w) == -1) {
		pthread_mutex_unlock(&k->slock);
		return -1;
	}
	pthread_cond_signal(&k->scond);
	while (!w.done)
		pthread_cond_wait(&k->dcond, &k->slock);
	pthread_mutex_unlock(&k->slock);
	return w.rev;
}

void
store_pg_cache_stop(struct store_pg *s)
{
	struct store_pg_cache	*k = &s->cache;
	int			 join;

	pthread_mutex_lock(&k->slock);
	k->sstop = 1;
	join = k->checking;
	k->checking = 0;
	pthread_cond_signal(&k->scond);
	pthread_mutex_unlock(&k->slock);
	if (join)
		pthread_join(k->checker, NULL);
}

/*
 * q's rows from the maps (k->lock held): 1 answered, 0 when the maps
 * disagree with themselves (a bug: the database answers instead), -1.
 */
static int
store_pg_cache_rows(struct store_pg_cache *k, const struct store_query *q,
    int64_t now, struct store_list_sink *sink, int *more, int64_t *until,
    struct nsreg_error *err)
{
	struct store_svcidx_hit	*hits = NULL;
	struct store_pg_centry	*e;
	char			*after = NULL;
	size_t			 i, n;
	int			 go = 1, ret = -1;

	for (;;) {
		hits = store_svcidx_find(k->maps.idx, q->services, q->nservices,
		    after != NULL ? after : q->after_name,
		    STORE_PG_CACHE_HITS, &n);
		if (hits == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto done;
		}
		for (i = 0; i < n && go == 1; i++) {
			if (!store_pg_live(hits[i].expires_at, now))
				continue;
			e = hashmap_get(k->maps.eps, hits[i].name);
			if (e == NULL) {
				log_warnx("msg=\"endpoint cache: %s indexed "
				    "but not held\"", hits[i].name);
				store_list_sink_reset(sink);
				*more = 0;
				ret = 0;
				goto done;
			}
			go = store_pg_list_row(q, sink, e->name, e->text,
			    e->len, more, err);
			/* Listed, or the one that tells more: until it goes. */
			if (hits[i].expires_at != 0 && (*until == 0 ||
			    hits[i].expires_at < *until))
				*until = hits[i].expires_at;
		}
		if (go == -1)
			goto done;
		if (go == 0 || n < STORE_PG_CACHE_HITS)
			break;
		/* The next chunk after this one's last name (taken). */
		free(after);
		after = (char *)hits[n - 1].name;
		hits[n - 1].name = NULL;
		store_svcidx_hits_free(hits);
		hits = NULL;
	}
	ret = 1;
done:
	store_svcidx_hits_free(hits);
	free(after);
	return ret;
}

/* The key of q's list in k->resp, or -1 when it is not kept. */
static int
store_pg_cresp_key(const struct store_query *q,
    const struct store_list_sink *sink, char *key, size_t len)
{
	size_t	i, at;
	int	n;

	if (!sink->text || sink->n != 0 || q->match != NULL)
		return -1;
	n = snprintf(key, len, "%zu\n%s", q->limit, q->after_name != NULL ?
	    q->after_name : "");
	for (i = 0; n >= 0 && (size_t)n < len && i < q->nservices; i++) {
		at = (size_t)n;
		n = snprintf(key + at, len - at, "\n%s", q->services[i]);
		n = n < 0 ? -1 : n + (int)at;
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * The list kept for key, still true at now, into sink: 1, or 0.  What
 * had expired when it was made stays so later, not earlier.
 */
static int
store_pg_cresp_get(struct store_pg_cache *k, const char *key, int64_t now,
    struct store_list_sink *sink, int *more)
{
	struct store_pg_cresp	*c;
	int			 ret = 0;

	pthread_mutex_lock(&k->rlock);
	if (k->resp != NULL && (c = hashmap_get(k->resp, key)) != NULL &&
	    c->rev == k->rev && c->at <= now &&
	    (c->until == 0 || now < c->until) &&
	    store_list_sink_put(sink, c->text, c->len, c->n, c->last) == 0) {
		*more = c->more;
		ret = 1;
	}
	pthread_mutex_unlock(&k->rlock);
	return ret;
}

/* Keep the list sink holds (from its "[" on) for key. */
static void
store_pg_cresp_put(struct store_pg_cache *k, const char *key,
    const struct store_list_sink *sink, int more, int64_t at, int64_t until)
{
	struct store_pg_cresp	*c, *old = NULL;

	if (sink->len < 1 || sink->len > STORE_PG_CACHE_RLEN ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->rev = k->rev;
	c->at = at;
	c->until = until;
	c->len = sink->len - 1;
	c->n = sink->n;
	c->more = more;
	if ((c->key = strdup(key)) == NULL ||
	    (c->text = malloc(c->len + 1)) == NULL ||
	    (sink->n > 0 && (c->last = strdup(sink->last)) == NULL)) {
		store_pg_cresp_free(c);
		return;
	}
	memcpy(c->text, sink->buf + 1, c->len);
	c->text[c->len] = '\0';
	pthread_mutex_lock(&k->rlock);
	if (k->resp != NULL &&
	    (hashmap_count(k->resp) >= STORE_PG_CACHE_RESP ||
	    k->rbytes + c->len > STORE_PG_CACHE_RBYTES))
		store_pg_cresp_clear(k);
	if (k->resp == NULL)
		k->resp = hashmap_new();
	if (k->resp == NULL || hashmap_put(k->resp, c->key, c,
	    (void **)&old) == -1)
		old = c;
	else
		k->rbytes += c->len;
	if (old != NULL && old != c)
		k->rbytes -= old->len;
	pthread_mutex_unlock(&k->rlock);
	store_pg_cresp_free(old);
}

int
store_pg_cache_list(struct store_pg *s, const struct store_query *q,
    int64_t now, struct store_list_sink *sink, int64_t *revision, int *more,
    struct nsreg_error *err)
{
	struct store_pg_cache	*k = &s->cache;
	char			 key[STORE_PG_CRESP_KEY];
	int64_t			 target, until = 0;
	int			 keep, ret = 0;

	if (q->kind != STORE_ENDPOINT || q->nservices == 0 ||
	    store_pg_cache_rev(k) < 0)
		return 0;
	if ((target = store_pg_cache_sync(s)) < 0)
		return 0;
	keep = store_pg_cresp_key(q, sink, key, sizeof(key)) == 0;
	pthread_rwlock_rdlock(&k->lock);
	if (k->ok && k->rev >= target) {
		*revision = k->rev;
		if (keep && store_pg_cresp_get(k, key, now, sink, more))
			ret = 1;
		else if ((ret = store_pg_cache_rows(k, q, now, sink, more,
		    &until, err)) == 1 && keep)
			store_pg_cresp_put(k, key, sink, *more, now, until);
	} else
		ret = 0;
	pthread_rwlock_unlock(&k->lock);
	return ret;
}
