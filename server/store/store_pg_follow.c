/*
 * store_pg_follow.c - every instance's events to the listener: each
 * event once, in revision order, whichever instance wrote it (DESIGN
 * section 6).
 *
 * The events table is the one source.  s->delivered is the last
 * revision the listener was given; two paths move it on, under dlock:
 *
 *   - a local write, once committed, first hands over what other
 *     instances committed before it (events in (delivered, first],
 *     read on its own connection), then its own events, so that the
 *     caches of this instance hold the write when it is acknowledged;
 *   - the follower thread reads events after delivered on a connection
 *     of its own that LISTENs on the schema's channel: writers send a
 *     pg_notify() with their commit, which wakes it at once, and it
 *     reads at least every STORE_PG_FOLLOW_MS anyway, so that a lost
 *     notification (or an engine without them) costs latency, never an
 *     event.
 *
 * Either path skips what the other already delivered (revision <=
 * delivered), so a local write's events are never given twice.  Reading
 * "revision > delivered" is enough because a snapshot that holds
 * revision N holds every revision below N (store_pg_int.h: the revision
 * row is locked until commit, so commit order is revision order).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_pg_int.h"

/* Longest wait between two reads of the events table, ms. */
#define STORE_PG_FOLLOW_MS	250
/* Events one read hands over at most. */
#define STORE_PG_FOLLOW_BATCH	512

/*
 * Events before rev were trimmed before this instance read them (it was
 * cut off from the database longer than the history lasts): what it
 * holds in memory may miss them.  The endpoint cache is loaded again,
 * and the gap handler told, before the event at rev is delivered.
 */
static void
store_pg_follow_gap(struct store_pg *s, int64_t rev)
{
	log_warnx("msg=\"events trimmed before this instance read them: "
	    "loading again what was built from them\" from=%lld to=%lld",
	    (long long)s->delivered + 1, (long long)rev - 1);
	store_pg_cache_drop(&s->cache);
	if (s->gap != NULL)
		s->gap(s->delivered, rev, s->gap_arg);
}

/*
 * Hand the listener the committed events after s->delivered up to upto,
 * at most one batch, read on c (dlock held).  The number of rows read or
 * -1.
 */
static int
store_pg_follow_read(struct store_pg *s, struct store_pg_conn *c,
    int64_t upto, struct nsreg_error *err)
{
	struct store_pg_params	 p;
	struct store_event	 ev;
	PGresult		*r;
	int64_t			 rev, kind, type;
	int			 i, n;

	store_pg_param_int(&p, 0, s->delivered);
	store_pg_param_int(&p, 1, upto);
	store_pg_param_int(&p, 2, STORE_PG_FOLLOW_BATCH);
	if ((r = store_pg_run(c, PG_EVENTS_AFTER, 3, p.v, "follow events",
	    err)) == NULL)
		return -1;
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		if ((rev = store_pg_int(r, i, 0)) <= s->delivered)
			continue;
		if (rev != s->delivered + 1)
			store_pg_follow_gap(s, rev);
		s->delivered = rev;
		kind = store_pg_int(r, i, 1);
		type = store_pg_int(r, i, 2);
		if (s->listener == NULL)
			continue;
		memset(&ev, 0, sizeof(ev));
		if (kind < 0 || kind >= STORE_KIND_MAX || type < 0 ||
		    type > STORE_DELETED || (ev.object = store_pg_parse(
		    PQgetvalue(r, i, 5), (size_t)PQgetlength(r, i, 5))) ==
		    NULL) {
			log_warnx("msg=\"unreadable event skipped\" "
			    "revision=%lld", (long long)rev);
			store_pg_cache_drop(&s->cache);
			continue;
		}
		ev.revision = rev;
		ev.kind = (enum store_kind)kind;
		ev.type = (enum store_event_type)type;
		ev.name = PQgetvalue(r, i, 3);
		ev.reason = PQgetisnull(r, i, 4) ? NULL :
		    store_reason(PQgetvalue(r, i, 4));
		store_pg_cache_apply(&s->cache, &ev, PQgetvalue(r, i, 5),
		    (size_t)PQgetlength(r, i, 5));
		s->listener(&ev, s->listener_arg);
		json_decref(ev.object);
	}
	PQclear(r);
	return n;
}

void
store_pg_follow_local(struct store_pg *s, int64_t first)
{
	struct store_pg_event	*e;
	struct store_event	 ev;
	struct nsreg_error	 err;
	size_t			 i;
	int			 n;

	pthread_mutex_lock(&s->dlock);
	/*
	 * Other instances' events come first.  When they cannot be read
	 * now, this write's events are left to the follower too: never
	 * out of order.
	 */
	while (s->delivered < first) {
		if ((n = store_pg_follow_read(s, s->wc, first, &err)) == -1) {
			log_warnx("msg=\"events of other instances not read: "
			    "the follower hands them over\" detail=\"%.*s\"",
			    (int)strcspn(err.message, "\n\""), err.message);
			goto out;
		}
		if (n < STORE_PG_FOLLOW_BATCH)
			break;
	}
	if (s->delivered < first)
		goto out;
	for (i = 0; i < s->nevents; i++) {
		e = &s->events[i];
		if (e->revision <= s->delivered)
			continue;
		ev.revision = e->revision;
		ev.kind = e->kind;
		ev.type = e->type;
		ev.name = e->name;
		ev.reason = e->reason;
		ev.object = e->object;
		store_pg_cache_apply(&s->cache, &ev, e->text, e->text_len);
		s->listener(&ev, s->listener_arg);
		s->delivered = e->revision;
	}
out:
	pthread_mutex_unlock(&s->dlock);
}

int
store_pg_follow_upto(struct store_pg *s, int64_t upto,
    struct nsreg_error *err)
{
	struct store_pg_conn	*c = &s->cache.uconn;
	int			 n, ret = 0;

	pthread_mutex_lock(&s->dlock);
	if (s->delivered < upto && store_pg_conn_ready(s, c, err) == -1)
		ret = -1;
	while (ret == 0 && s->delivered < upto) {
		if ((n = store_pg_follow_read(s, c, upto, err)) == -1) {
			ret = -1;
			break;
		}
		if (n < STORE_PG_FOLLOW_BATCH)
			break;
	}
	pthread_mutex_unlock(&s->dlock);
	return ret;
}

static void
store_pg_follow_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * Open c->db without blocking the thread's stop: a database host that
 * does not answer leaves the thread free to end.  0 or -1.
 */
static int
store_pg_follow_dial(struct store_pg *s, struct store_pg_conn *c,
    struct nsreg_error *err)
{
	const char *const	 kw[] = { "dbname", NULL };
	const char *const	 val[] = { s->url, NULL };
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	struct pollfd		 pfd[2];
	PGconn			*db;
	int			 ret = -1;

	if ((db = PQconnectStartParams(kw, val, 1)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	while (PQstatus(db) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
	    st != PGRES_POLLING_FAILED) {
		pfd[0].fd = s->stop[0];
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = PQsocket(db);
		pfd[1].events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		pfd[1].revents = 0;
		if (poll(pfd, 2, 1000) == -1 && errno != EINTR)
			break;
		if (pfd[0].revents != 0) {
			nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
			    "stopping");
			goto done;
		}
		if (pfd[1].revents != 0)
			st = PQconnectPoll(db);
	}
	if (PQstatus(db) != CONNECTION_OK) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "database unavailable: %.200s", PQerrorMessage(db));
		goto done;
	}
	PQsetNoticeProcessor(db, store_pg_follow_notice, NULL);
	c->db = db;
	c->prepared = 0;
	db = NULL;
	ret = 0;
done:
	if (db != NULL)
		PQfinish(db);
	return ret;
}

/* Connect the follower's connection and LISTEN.  0 or -1. */
static int
store_pg_follow_connect(struct store_pg *s, struct nsreg_error *err)
{
	struct store_pg_conn	*c = &s->fconn;
	char			 sql[64];

	if (c->db == NULL && store_pg_follow_dial(s, c, err) == -1)
		return -1;
	if (store_pg_conn_ready(s, c, err) == -1)
		return -1;
	snprintf(sql, sizeof(sql), "LISTEN \"%s\"", s->channel);
	return store_pg_exec(c, sql, "listen", err);
}

/* Everything committed after delivered to the listener.  0 or -1. */
static int
store_pg_follow_catch_up(struct store_pg *s, struct nsreg_error *err)
{
	struct nsreg_error	e;
	int64_t			rev;
	int			n;

	/* The endpoint cache, unloaded by a gap or a failure: again. */
	pthread_mutex_lock(&s->dlock);
	if (s->cache.wanted && !s->cache.ok) {
		if (store_pg_cache_load(&s->cache, &s->fconn, &rev, &e) ==
		    0) {
			log_info("msg=\"endpoint cache loaded\" "
			    "revision=%lld", (long long)rev);
			s->cache.warned = 0;
		} else if (!s->cache.warned) {
			log_warnx("msg=\"endpoint cache not loaded, lists "
			    "read the database\" detail=\"%.*s\"",
			    (int)strcspn(e.message, "\n\""), e.message);
			s->cache.warned = 1;
		}
	}
	pthread_mutex_unlock(&s->dlock);
	do {
		pthread_mutex_lock(&s->dlock);
		n = s->listener == NULL ? 0 :
		    store_pg_follow_read(s, &s->fconn, INT64_MAX, err);
		pthread_mutex_unlock(&s->dlock);
	} while (n == STORE_PG_FOLLOW_BATCH);
	return n < 0 ? -1 : 0;
}

/* Drop the notifications libpq holds; 1 when there were some. */
static int
store_pg_follow_drain(struct store_pg_conn *c)
{
	PGnotify	*nt;
	int		 any = 0;

	while ((nt = PQnotifies(c->db)) != NULL) {
		PQfreemem(nt);
		any = 1;
	}
	return any;
}

static void *
store_pg_follow_main(void *arg)
{
	struct store_pg		*s = arg;
	struct store_pg_conn	*c = &s->fconn;
	struct nsreg_error	 err;
	struct pollfd		 pfd[2];
	int			 up = 0, failing = 0, again;

	for (;;) {
		again = 0;
		if (!up && store_pg_follow_connect(s, &err) == 0)
			up = 1;
		if (up && store_pg_follow_catch_up(s, &err) == -1)
			up = 0;
		if (up) {
			/* Notifications that came with the reads may be of
			 * commits after their snapshot: read again. */
			again = store_pg_follow_drain(c);
			if (failing)
				log_info("msg=\"following the events table "
				    "again\"");
			failing = 0;
		} else {
			if (!failing && strcmp(err.message, "stopping") != 0)
				log_warnx("msg=\"cannot follow the events "
				    "table, trying again\" detail=\"%.*s\"",
				    (int)strcspn(err.message, "\n\""),
				    err.message);
			failing = 1;
			if (c->db != NULL)
				PQfinish(c->db);
			c->db = NULL;
			c->prepared = 0;
		}
		pfd[0].fd = s->stop[0];
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = up ? PQsocket(c->db) : -1;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		if (poll(pfd, 2, again ? 0 : STORE_PG_FOLLOW_MS) == -1 &&
		    errno != EINTR)
			break;
		if (pfd[0].revents != 0)
			break;
		if (up && pfd[1].revents != 0) {
			if (!PQconsumeInput(c->db))
				up = 0;
			else
				store_pg_follow_drain(c);
		}
	}
	return NULL;
}

/* The channel of the schema: a hash of its name, a valid identifier. */
static int
store_pg_follow_channel(struct store_pg *s, struct nsreg_error *err)
{
	struct store_pg_conn	*c = &s->conns[0];
	PGresult		*r;
	const unsigned char	*p;
	uint64_t		 h = 14695981039346656037ULL;	/* FNV-1a */

	r = PQexec(c->db, "SELECT current_schema()");
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    PQntuples(r) != 1) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "current_schema: %.200s", PQerrorMessage(c->db));
		PQclear(r);
		return -1;
	}
	for (p = (const unsigned char *)PQgetvalue(r, 0, 0); *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	PQclear(r);
	snprintf(s->channel, sizeof(s->channel), "nsreg_%016llx",
	    (unsigned long long)h);
	return 0;
}

int
store_pg_follow_start(struct store_pg *s, struct nsreg_error *err)
{
	if (store_pg_follow_channel(s, err) == -1)
		return -1;
	if (pipe2(s->stop, O_CLOEXEC) == -1) {
		s->stop[0] = s->stop[1] = -1;
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "pipe: %s", strerror(errno));
	}
	if (pthread_create(&s->follower, NULL, store_pg_follow_main, s) !=
	    0)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the events follower");
	s->following = 1;
	return 0;
}

void
store_pg_follow_stop(struct store_pg *s)
{
	char	b = 0;

	if (s->following) {
		while (write(s->stop[1], &b, 1) == -1 && errno == EINTR)
			;
		pthread_join(s->follower, NULL);
		s->following = 0;
	}
	if (s->stop[0] != -1)
		close(s->stop[0]);
	if (s->stop[1] != -1)
		close(s->stop[1]);
	s->stop[0] = s->stop[1] = -1;
	if (s->fconn.db != NULL)
		PQfinish(s->fconn.db);
	s->fconn.db = NULL;
}

void
store_pg_follow_listen(struct store_pg *s, store_listener_fn fn, void *arg)
{
	struct nsreg_error	 err;
	struct store_pg_conn	*c = NULL;
	PGresult		*r;
	int64_t			 rev = -1;

	/*
	 * From the revision now committed on (0 when it cannot be read:
	 * the follower then hands over the whole history kept), with the
	 * endpoint cache loaded at that revision.  The connection is taken
	 * before dlock, as everywhere.
	 */
	if (fn != NULL)
		c = store_pg_conn_get(s, &err);
	pthread_mutex_lock(&s->dlock);
	s->listener = fn;
	s->listener_arg = arg;
	s->cache.wanted = fn != NULL;
	if (fn == NULL)
		store_pg_cache_drop(&s->cache);
	else if (c != NULL &&
	    store_pg_cache_load(&s->cache, c, &rev, &err) == -1) {
		log_warnx("msg=\"endpoint cache not loaded, the follower "
		    "tries again\" detail=\"%.*s\"",
		    (int)strcspn(err.message, "\n\""), err.message);
		s->cache.warned = 1;
		rev = -1;
		if ((r = store_pg_run(c, PG_REVISION, 0, NULL, "revision",
		    &err)) != NULL && PQntuples(r) == 1)
			rev = store_pg_int(r, 0, 0);
		PQclear(r);
	}
	if (rev >= 0 && rev > s->delivered)
		s->delivered = rev;
	pthread_mutex_unlock(&s->dlock);
	if (c != NULL)
		store_pg_conn_put(s, c);
}
