/*
 * test_store_follow.c - several stores on one PostgreSQL database, as
 * several nsregd instances use it (DESIGN section 6): every listener
 * gets every instance's events once, in revision order, within a
 * second, and a snapshot never shows a revision without those below it.
 * ?service= lists from the endpoint cache equal the database's, and a
 * gap in the events reloads that cache; a wait for freshness
 * (store_when_fresh) holds every acknowledged write.
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

/*
 * The endpoint cache (store_pg_cache.c): ?service= lists answered from
 * memory on the instances that listen must equal, to the byte, what the
 * database answers (an instance that does not listen reads it), right
 * after each write acknowledged by either instance.
 */

#define CACHE_NAMES	24
#define CACHE_OPS	160

static const char *const cache_services[] = {
	"svc-a", "svc-b", "svc-c", "svc-d", "svc-e"
};

/* The service lists compared after each write. */
static const struct cache_query {
	const char	*services[3];
	size_t		 nservices;
	const char	*after;
	size_t		 limit;
	int64_t		 later;		/* ms after the writes' time */
} cache_queries[] = {
	{ { "svc-a" }, 1, NULL, 0, 0 },
	{ { "svc-e" }, 1, NULL, 0, 0 },
	{ { "svc-a", "svc-b" }, 2, NULL, 0, 0 },
	{ { "svc-b", "svc-c", "svc-d" }, 3, NULL, 0, 0 },
	{ { "svc-c" }, 1, "ep-10", 0, 0 },
	{ { "svc-d" }, 1, NULL, 3, 0 },
	{ { "svc-b" }, 1, "ep-05", 2, 0 },
	{ { "svc-a" }, 1, NULL, 0, 5000 },	/* some expired by then */
	{ { "svc-none" }, 1, NULL, 0, 0 },
};

#define CACHE_QN	(sizeof(cache_queries) / sizeof(cache_queries[0]))

static uint32_t
cache_rand(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

/* Put endpoint name offering the services of mask, expiring at exp. */
static void
cache_put(struct store *s, const char *name, unsigned int mask,
    int64_t now, int64_t exp)
{
	struct store_object	 o;
	struct nsreg_error	 err;
	json_t			*a;
	size_t			 i;
	int			 created;

	a = json_array();
	for (i = 0; i < 5; i++) {
		if (mask & (1u << i))
			json_array_append_new(a, json_string(
			    cache_services[i]));
	}
	memset(&o, 0, sizeof(o));
	o.kind = STORE_ENDPOINT;
	o.name = strdup(name);
	o.owner = strdup("spiffe://example.org/nse");
	o.expires_at = exp;
	o.doc = json_pack("{s:s,s:o}", "url", "tcp://10.0.0.1:5000",
	    "network_service_names", a);
	cr_assert_eq(store_put(s, &o, 0, NULL, NULL, now, &created, &err), 0,
	    "put %s: %s", name, err.message);
	store_object_clear(&o);
}

/* The text of a list; "" for none, the caller frees. */
static char *
cache_list(struct store *s, const struct cache_query *cq, int64_t now)
{
	struct store_query	 q;
	struct nsreg_error	 err;
	char			*body = NULL, *last = NULL;
	size_t			 len;
	int64_t			 rev;
	int			 more;

	memset(&q, 0, sizeof(q));
	q.kind = STORE_ENDPOINT;
	q.services = (const char **)cq->services;
	q.nservices = cq->nservices;
	q.after_name = cq->after;
	q.limit = cq->limit;
	cr_assert_eq(store_list_text(s, &q, now + cq->later, &body, &len,
	    &last, &rev, &more, &err), 0, "list: %s", err.message);
	free(last);
	return body;
}

Test(follow, service_lists_from_memory_equal_the_database)
{
	struct store_stats	 ss[3];
	struct nsreg_error	 err;
	char			 name[32], *want, *got;
	uint32_t		 x = 20261202;
	int64_t			 now, exp;
	size_t			 a, i, q, r, lists = 0;
	int			 op, w;

	need_pg();
	st[0] = open_one(0, 1);
	st[1] = open_one(1, 1);
	st[2] = open_one(2, 0);		/* no listener: the database */
	now = util_now_ms();
	for (op = 0; op < CACHE_OPS; op++) {
		w = op % 2;
		snprintf(name, sizeof(name), "ep-%02u",
		    (unsigned int)(cache_rand(&x) % CACHE_NAMES));
		r = cache_rand(&x) % 10;
		if (r < 2) {
			if (store_delete(st[w], STORE_ENDPOINT, name, 0, now,
			    NULL, &err) == -1)
				cr_assert_eq(err.code, NSREG_NOT_FOUND, "%s",
				    err.message);
		} else {
			exp = r == 9 ? now + 2000 : r == 8 ? now + 600000 : 0;
			cache_put(st[w], name, 1u + cache_rand(&x) % 31, now,
			    exp);
		}
		/*
		 * Right after the acknowledgement, on both instances; then
		 * each again (a list kept from the first ask), the later
		 * ones before the earlier (what expired by then did not at
		 * first).
		 */
		for (a = 0; a < 2 * CACHE_QN; a++) {
			q = a < CACHE_QN ? a : 2 * CACHE_QN - 1 - a;
			want = cache_list(st[2], &cache_queries[q], now);
			for (i = 0; i < 2; i++) {
				got = cache_list(st[(w + 1 + i) % 2],
				    &cache_queries[q], now);
				cr_assert_str_eq(got, want, "op %d, query %zu "
				    "(%s), %s instance", op, q, a < CACHE_QN ?
				    "first" : "again", i == 0 ? "other" :
				    "writing");
				free(got);
				lists++;
			}
			free(want);
		}
	}
	for (i = 0; i < 3; i++)
		store_stats(st[i], &ss[i]);
	/* The listening instances never read the database for them. */
	cr_assert_eq(ss[0].lists_memory + ss[1].lists_memory, lists);
	cr_assert_eq(ss[0].lists_database + ss[1].lists_database, 0);
	cr_assert_eq(ss[2].lists_memory, 0);
	cr_assert_eq(ss[2].lists_database, lists / 2);
}

/*
 * Events trimmed before an instance read them (cut off longer than the
 * history lasts): the gap unloads its endpoint cache, lists read the
 * database meanwhile, and the follower loads the cache again, holding
 * what the lost events wrote.  The lost writes are made by hand: two
 * endpoints and their events in one transaction that then deletes
 * those events, as the trim would.
 */
Test(follow, a_gap_in_the_events_reloads_the_endpoint_cache)
{
	static const struct cache_query	 cq = { { "svc-a" }, 1, NULL, 0, 0 };
	struct store_stats		 before, after;
	PGconn				*db;
	PGresult			*r;
	char				 sql[2048], *got;
	int64_t				 rev, now, end;

	need_pg();
	st[0] = open_one(0, 0);
	st[1] = open_one(1, 1);
	now = util_now_ms();
	cache_put(st[0], "ep-kept", 1, now, 0);
	got = cache_list(st[1], &cq, now);
	cr_assert(strstr(got, "\"ep-kept\"") != NULL, "%s", got);
	free(got);
	rev = store_revision(st[0]);
	db = PQconnectdb(url);
	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
	snprintf(sql, sizeof(sql),
	    "BEGIN;"
	    "SELECT value FROM meta WHERE key = 'revision' FOR UPDATE;"
	    "INSERT INTO objects (kind, name, revision, created_at, "
	    "updated_at, expires_at, owner, object, services) VALUES "
	    "(%d, 'ep-lost-1', %lld, %lld, %lld, 0, NULL, "
	    "'{\"name\":\"ep-lost-1\",\"network_service_names\":[\"svc-a\"],"
	    "\"revision\":%lld}', '[\"svc-a\"]'),"
	    "(%d, 'ep-lost-2', %lld, %lld, %lld, 0, NULL, "
	    "'{\"name\":\"ep-lost-2\",\"network_service_names\":[\"svc-a\"],"
	    "\"revision\":%lld}', '[\"svc-a\"]');"
	    "INSERT INTO events (revision, kind, type, name, object) VALUES "
	    "(%lld, %d, %d, 'ep-lost-1', '{}'),"
	    "(%lld, %d, %d, 'ep-lost-2', '{}'),"
	    "(%lld, %d, %d, 'svc-x', '{\"name\":\"svc-x\"}');"
	    "INSERT INTO objects (kind, name, revision, created_at, "
	    "updated_at, expires_at, object) VALUES "
	    "(%d, 'svc-x', %lld, %lld, %lld, 0, '{\"name\":\"svc-x\"}');"
	    "DELETE FROM events WHERE revision IN (%lld, %lld);"
	    "UPDATE meta SET value = %lld WHERE key = 'revision';"
	    "COMMIT",
	    (int)STORE_ENDPOINT, (long long)rev + 1, (long long)now,
	    (long long)now, (long long)rev + 1,
	    (int)STORE_ENDPOINT, (long long)rev + 2, (long long)now,
	    (long long)now, (long long)rev + 2,
	    (long long)rev + 1, (int)STORE_ENDPOINT, (int)STORE_ADDED,
	    (long long)rev + 2, (int)STORE_ENDPOINT, (int)STORE_ADDED,
	    (long long)rev + 3, (int)STORE_SERVICE, (int)STORE_ADDED,
	    (int)STORE_SERVICE, (long long)rev + 3, (long long)now,
	    (long long)now,
	    (long long)rev + 1, (long long)rev + 2, (long long)rev + 3);
	r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s",
	    PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(db);
	store_stats(st[1], &before);
	/* At once: the lost endpoints are listed (from the database). */
	got = cache_list(st[1], &cq, now);
	cr_assert(strstr(got, "\"ep-lost-1\"") != NULL &&
	    strstr(got, "\"ep-lost-2\"") != NULL &&
	    strstr(got, "\"ep-kept\"") != NULL, "%s", got);
	free(got);
	/* Within a second: from memory again, holding them. */
	end = util_now_ms() + 2000;
	do {
		usleep(50 * 1000);
		store_stats(st[1], &before);
		got = cache_list(st[1], &cq, now);
		store_stats(st[1], &after);
		if (after.lists_memory > before.lists_memory)
			break;
		free(got);
		got = NULL;
	} while (util_now_ms() < end);
	cr_assert_not_null(got, "the endpoint cache was not loaded again");
	cr_assert(strstr(got, "\"ep-lost-1\"") != NULL &&
	    strstr(got, "\"ep-lost-2\"") != NULL &&
	    strstr(got, "\"ep-kept\"") != NULL, "%s", got);
	free(got);
}

/*
 * store_when_fresh: a list waits for the database's committed revision
 * without holding a thread.  Right after each write acknowledged by
 * another instance, several waits are queued at once; each is called
 * once, on the store's thread, where a list answers from memory (no
 * query of its own) and holds the write.
 */
#define FRESH_WRITES	40
#define FRESH_WAITS	3

struct fresh_wait {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct store	*s;
	const char	*want;
	int64_t		 now;
	pthread_t	 caller;
	int		 calls, fresh, held, elsewhere;
};

static void
fresh_called(void *arg, int fresh)
{
	static const struct cache_query	 cq = { { "svc-a" }, 1, NULL, 0, 0 };
	struct fresh_wait		*fw = arg;
	char				*got;
	int				 held = 0;

	if (fresh) {
		got = cache_list(fw->s, &cq, fw->now);
		held = strstr(got, fw->want) != NULL;
		free(got);
	}
	pthread_mutex_lock(&fw->lock);
	fw->calls++;
	fw->fresh += fresh;
	fw->held += held;
	fw->elsewhere += !pthread_equal(pthread_self(), fw->caller);
	pthread_cond_broadcast(&fw->cond);
	pthread_mutex_unlock(&fw->lock);
}

Test(follow, a_wait_for_freshness_holds_every_acknowledged_write)
{
	struct fresh_wait	 fw;
	struct store_stats	 before, after;
	struct timespec		 ts;
	char			 name[32], want[40];
	int			 i, j, queued = 0;

	need_pg();
	st[0] = open_one(0, 0);
	st[1] = open_one(1, 1);
	memset(&fw, 0, sizeof(fw));
	pthread_mutex_init(&fw.lock, NULL);
	pthread_cond_init(&fw.cond, NULL);
	fw.s = st[1];
	fw.now = util_now_ms();
	fw.caller = pthread_self();
	fw.want = want;
	store_stats(st[1], &before);
	for (i = 0; i < FRESH_WRITES; i++) {
		snprintf(name, sizeof(name), "ep-fresh-%02d", i);
		snprintf(want, sizeof(want), "\"%s\"", name);
		cache_put(st[0], name, 1, fw.now, 0);
		for (j = 0; j < FRESH_WAITS; j++) {
			cr_assert_eq(store_when_fresh(st[1], fresh_called,
			    &fw), 0, "write %d: nothing to wait for", i);
			queued++;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		pthread_mutex_lock(&fw.lock);
		while (fw.calls < queued && pthread_cond_timedwait(&fw.cond,
		    &fw.lock, &ts) == 0)
			;
		pthread_mutex_unlock(&fw.lock);
		cr_assert_eq(fw.calls, queued, "write %d: %d calls of %d", i,
		    fw.calls, queued);
	}
	store_stats(st[1], &after);
	cr_assert_eq(fw.fresh, queued, "%d fresh of %d", fw.fresh, queued);
	cr_assert_eq(fw.held, queued, "%d lists held the write, of %d",
	    fw.held, queued);
	cr_assert_eq(fw.elsewhere, queued);
	cr_assert_eq(after.lists_memory - before.lists_memory,
	    (uint64_t)queued);
	cr_assert_eq(after.lists_database, before.lists_database);
	/* Without a cache (no listener): nothing to wait for. */
	cr_assert_eq(store_when_fresh(st[0], fresh_called, &fw), 1);
	pthread_cond_destroy(&fw.cond);
	pthread_mutex_destroy(&fw.lock);
}
