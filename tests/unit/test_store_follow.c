/*
 * test_store_follow.c - several stores on one PostgreSQL database, as
 * several nsregd instances use it (DESIGN section 6): every listener
 * gets every instance's events once, in revision order, within a
 * second, and a snapshot never shows a revision without those below it.
 * Skipped unless NSREG_TEST_PG names a database (tests/pg/store.sh).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "util.h"

#define SEEN_MAX	2048
#define WRITES		150	/* per writer */

struct seen {
	pthread_mutex_t	 lock;
	size_t		 n;
	int64_t		 rev[SEEN_MAX];
	char		*name[SEEN_MAX];
	int64_t		 at[SEEN_MAX];	/* ms */
};

static char		 url[1200];
static struct store	*st[3];
static struct seen	 seen[3];
static int		 up;

static void
record(const struct store_event *ev, void *arg)
{
	struct seen	*s = arg;

	pthread_mutex_lock(&s->lock);
	if (s->n < SEEN_MAX) {
		s->rev[s->n] = ev->revision;
		s->name[s->n] = strdup(ev->name);
		s->at[s->n] = util_now_ms();
		s->n++;
	}
	pthread_mutex_unlock(&s->lock);
}

static size_t
seen_count(struct seen *s)
{
	size_t	n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Wait until s saw n events or ms passed; the count seen. */
static size_t
seen_wait(struct seen *s, size_t n, int64_t ms)
{
	int64_t	end = util_now_ms() + ms;
	size_t	got;

	while ((got = seen_count(s)) < n && util_now_ms() < end)
		usleep(5 * 1000);
	return got;
}

static struct store *
open_one(int i, int listen)
{
	struct store_options	 opt;
	struct nsreg_error	 err;
	struct store		*s;

	memset(&opt, 0, sizeof(opt));
	opt.url = url;
	s = store_open(&opt, &err);
	cr_assert_not_null(s, "open %s: %s", url, err.message);
	if (listen)
		store_set_listener(s, record, &seen[i]);
	return s;
}

static void
setup(void)
{
	const char	*pg = getenv("NSREG_TEST_PG");
	int		 i;

	if (pg == NULL || pg[0] == '\0')
		return;
	/* The application name finds this test's connections. */
	snprintf(url, sizeof(url),
	    "%s%soptions=-csearch_path%%3Dfollow_%d_%ld"
	    "&application_name=nsreg-follow-%d", pg,
	    strchr(pg, '?') != NULL ? "&" : "?", (int)getpid(),
	    (long)time(NULL), (int)getpid());
	for (i = 0; i < 3; i++) {
		memset(&seen[i], 0, sizeof(seen[i]));
		pthread_mutex_init(&seen[i].lock, NULL);
	}
	up = 1;
}

static void
teardown(void)
{
	size_t	i, j;

	for (i = 0; i < 3; i++) {
		store_close(st[i]);
		st[i] = NULL;
		for (j = 0; j < seen[i].n; j++)
			free(seen[i].name[j]);
		seen[i].n = 0;
	}
}

TestSuite(follow, .init = setup, .fini = teardown, .timeout = 120);

static void
need_pg(void)
{
	if (!up)
		cr_skip_test("NSREG_TEST_PG is not set");
}

static void
put_service(struct store *s, const char *name, int64_t *rev)
{
	struct store_object	 o;
	struct nsreg_error	 err;

	memset(&o, 0, sizeof(o));
	o.kind = STORE_SERVICE;
	o.name = strdup(name);
	o.doc = json_object();
	cr_assert_eq(store_create(s, &o, util_now_ms(), &err), 0, "%s: %s",
	    name, err.message);
	if (rev != NULL)
		*rev = o.revision;
	store_object_clear(&o);
}

struct writer {
	int		 i;
	int		 failed;	/* own write not yet delivered */
	int		 errors;	/* writes refused */
	char		 detail[128];
};

static void *
writer_main(void *arg)
{
	struct writer		*w = arg;
	struct seen		*s = &seen[w->i];
	struct store_object	 o;
	struct nsreg_error	 err;
	char			 name[64];
	int64_t			 rev;
	size_t			 k;
	int			 n, found;

	/* No cr_assert here: not the test's thread. */
	for (n = 0; n < WRITES; n++) {
		snprintf(name, sizeof(name), "w%d-%03d", w->i, n);
		memset(&o, 0, sizeof(o));
		o.kind = STORE_SERVICE;
		o.name = strdup(name);
		o.doc = json_object();
		if (store_create(st[w->i], &o, util_now_ms(), &err) == -1) {
			if (w->errors++ == 0)
				snprintf(w->detail, sizeof(w->detail), "%s",
				    err.message);
			store_object_clear(&o);
			continue;
		}
		rev = o.revision;
		store_object_clear(&o);
		/* The write's own listener has it once it returns. */
		found = 0;
		pthread_mutex_lock(&s->lock);
		for (k = s->n; k > 0 && !found; k--)
			found = s->rev[k - 1] == rev;
		pthread_mutex_unlock(&s->lock);
		if (!found)
			w->failed++;
	}
	return NULL;
}

/* Every event once, revisions consecutive, each name once. */
static void
check_seen(struct seen *s, size_t want, const char *who)
{
	size_t	i, j;

	cr_assert_eq(s->n, want, "%s saw %zu events, want %zu", who, s->n,
	    want);
	for (i = 1; i < s->n; i++)
		cr_assert_eq(s->rev[i], s->rev[i - 1] + 1,
		    "%s: revision %lld after %lld", who,
		    (long long)s->rev[i], (long long)s->rev[i - 1]);
	for (i = 0; i < s->n; i++)
		for (j = i + 1; j < s->n; j++)
			cr_assert_str_neq(s->name[i], s->name[j],
			    "%s: %s twice", who, s->name[i]);
}

Test(follow, two_writers_reach_every_listener_once_in_order)
{
	struct writer	w[2] = { { .i = 0 }, { .i = 1 } };
	pthread_t	t[2];
	int		i;

	need_pg();
	for (i = 0; i < 3; i++)
		st[i] = open_one(i, 1);
	for (i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, writer_main, &w[i]),
		    0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++)
		cr_assert_eq(w[i].errors, 0, "writer %d: %s", i, w[i].detail);
	for (i = 0; i < 2; i++)
		cr_expect_eq(w[i].failed, 0, "writer %d: %d writes returned "
		    "before their listener had them", i, w[i].failed);
	/* The store that only listens follows within a second. */
	for (i = 0; i < 3; i++)
		seen_wait(&seen[i], 2 * WRITES, 1000);
	check_seen(&seen[0], 2 * WRITES, "writer 0");
	check_seen(&seen[1], 2 * WRITES, "writer 1");
	check_seen(&seen[2], 2 * WRITES, "listener");
	cr_expect_eq(seen[2].rev[0], seen[0].rev[0]);
}

struct snapshots {
	int		 stop;
	long		 reads;
	long		 holes;
	char		 detail[128];
};

/*
 * Read the revisions of the events table over and over: each snapshot
 * must hold 1..max without a hole.  A revision committed before a lower
 * one would show as a hole.
 */
static void *
snapshot_main(void *arg)
{
	struct snapshots	*sn = arg;
	PGconn			*db;
	PGresult		*r;
	int			 i, n;

	/* libpq takes the "options" of the URL too: the same schema. */
	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		snprintf(sn->detail, sizeof(sn->detail), "connect: %s",
		    PQerrorMessage(db));
		sn->holes = -1;
		PQfinish(db);
		return NULL;
	}
	while (!__atomic_load_n(&sn->stop, __ATOMIC_ACQUIRE)) {
		r = PQexec(db, "SELECT revision FROM events ORDER BY revision");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			snprintf(sn->detail, sizeof(sn->detail), "%s",
			    PQresultErrorMessage(r));
			sn->holes = -1;
			PQclear(r);
			break;
		}
		n = PQntuples(r);
		for (i = 0; i < n; i++)
			if (strtoll(PQgetvalue(r, i, 0), NULL, 10) != i + 1) {
				if (sn->holes++ == 0)
					snprintf(sn->detail,
					    sizeof(sn->detail), "row %d holds "
					    "revision %s", i,
					    PQgetvalue(r, i, 0));
				break;
			}
		PQclear(r);
		sn->reads++;
	}
	PQfinish(db);
	return NULL;
}

Test(follow, a_snapshot_never_shows_a_revision_without_those_below)
{
	struct writer		w[2] = { { .i = 0 }, { .i = 1 } };
	struct snapshots	sn;
	pthread_t		t[2], r;
	int			i;

	need_pg();
	/* Writers without listeners: only the database orders them. */
	for (i = 0; i < 2; i++)
		st[i] = open_one(i, 0);
	memset(&sn, 0, sizeof(sn));
	cr_assert_eq(pthread_create(&r, NULL, snapshot_main, &sn), 0);
	for (i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, writer_main, &w[i]),
		    0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++)
		cr_assert_eq(w[i].errors, 0, "writer %d: %s", i, w[i].detail);
	__atomic_store_n(&sn.stop, 1, __ATOMIC_RELEASE);
	pthread_join(r, NULL);
	cr_assert_eq(sn.holes, 0, "%ld snapshots with a hole: %s", sn.holes,
	    sn.detail);
	cr_assert_gt(sn.reads, 10, "only %ld snapshots read", sn.reads);
	cr_assert_eq(store_revision(st[0]), 2 * WRITES);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Within a second always (the follower reads every 250 ms); at once
 * mostly, as the commit's notification wakes it: a median near the
 * poll period would mean the wake-up is lost.
 */
Test(follow, remote_events_arrive_within_a_second)
{
	char	name[32];
	int64_t	rev, t0, lat[20];
	size_t	i;

	need_pg();
	st[0] = open_one(0, 0);
	st[1] = open_one(1, 1);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "s%zu", i);
		t0 = util_now_ms();
		put_service(st[0], name, &rev);
		cr_assert_eq(seen_wait(&seen[1], i + 1, 1000), i + 1,
		    "event %zu not there within a second", i);
		cr_assert_eq(seen[1].rev[i], rev);
		cr_assert_str_eq(seen[1].name[i], name);
		lat[i] = seen[1].at[i] - t0;
		cr_expect_leq(lat[i], 1000);
		/* Spread over the follower's poll period. */
		usleep((useconds_t)(i * 37 % 250) * 1000);
	}
	qsort(lat, 20, sizeof(lat[0]), cmp_i64);
	cr_expect_lt(lat[10], 60, "median %lld ms: no wake-up on commit?",
	    (long long)lat[10]);
}

Test(follow, a_listener_starts_at_the_current_revision)
{
	char	name[32];
	int64_t	rev;
	int	i;

	need_pg();
	st[0] = open_one(0, 0);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "before-%d", i);
		put_service(st[0], name, NULL);
	}
	st[1] = open_one(1, 1);
	put_service(st[0], "after", &rev);
	cr_assert_eq(seen_wait(&seen[1], 1, 1000), 1);
	/* Nothing older comes late. */
	usleep(600 * 1000);
	cr_assert_eq(seen_count(&seen[1]), 1);
	cr_assert_eq(seen[1].rev[0], rev);
	cr_assert_str_eq(seen[1].name[0], "after");
}

Test(follow, a_follower_cut_off_reconnects_and_catches_up)
{
	PGconn		*db;
	PGresult	*r;
	char		 sql[256], name[32];
	int		 i;

	need_pg();
	st[0] = open_one(0, 0);
	st[1] = open_one(1, 1);
	put_service(st[0], "first", NULL);
	cr_assert_eq(seen_wait(&seen[1], 1, 1000), 1);
	/* The database drops the followers' connections. */
	db = PQconnectdb(url);
	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
	snprintf(sql, sizeof(sql), "SELECT count(pg_terminate_backend(pid)) "
	    "FROM pg_stat_activity WHERE application_name = "
	    "'nsreg-follow-%d' AND pid <> pg_backend_pid() AND "
	    "(query LIKE 'LISTEN%%' OR query LIKE 'SELECT revision, kind%%')",
	    (int)getpid());
	r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s",
	    PQresultErrorMessage(r));
	cr_assert_eq(strtol(PQgetvalue(r, 0, 0), NULL, 10), 2,
	    "followers found: %s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(db);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "after-%d", i);
		put_service(st[0], name, NULL);
	}
	/* Reconnected (a read every 250 ms), nothing lost, nothing twice. */
	cr_assert_eq(seen_wait(&seen[1], 6, 3000), 6);
	usleep(500 * 1000);
	check_seen(&seen[1], 6, "listener");
}
