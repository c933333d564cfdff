/*
 * store_bench.c - throughput of the storage layer (tests/bench/store runs
 * it; not part of make check).
 *
 *	store_bench [-q] [-p phase] [-t threads] DIR
 *
 * Measures, each on a fresh database under DIR: raw SQLite single-row
 * INSERT transactions per second in WAL + synchronous=NORMAL (the
 * ceiling, the only part that calls SQLite directly); store_create,
 * store_update (a refresh), store_fetch, store_list and store_list_text
 * ?service=S (10 of 10,000 endpoints over 1,000 services) per second and
 * the CPU time each costs, with 1, 2, 4 and 8
 * threads; then RSS and database size holding 100,000 endpoints.  -q runs
 * smaller counts (a smoke test); -p runs one phase: raw, write, create,
 * read, listtext or big; -t sets the threads of create and listtext
 * (1).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

#define NOW	1795796474000LL

static const char	*bench_dir;
static int		 bench_quick;

static void
bench_die(const char *what, const struct nsreg_error *err)
{
	fprintf(stderr, "store_bench: %s: %s\n", what,
	    err != NULL ? err->message : "failed");
	exit(1);
}

static void
bench_path(char *buf, size_t len, const char *name)
{
	char	cmd[600];

	snprintf(buf, len, "%s/%s", bench_dir, name);
	snprintf(cmd, sizeof(cmd), "rm -f '%s' '%s-wal' '%s-shm'", buf, buf,
	    buf);
	if (system(cmd) != 0)
		bench_die("rm", NULL);
}

static struct store *
bench_open(const char *name)
{
	struct store_options	 opt = { 0 };
	struct nsreg_error	 err;
	struct store		*s;
	char			 path[512], url[520];

	bench_path(path, sizeof(path), name);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	opt.url = url;
	if ((s = store_open(&opt, &err)) == NULL)
		bench_die("open", &err);
	return s;
}

/* The ceiling: one INSERT per transaction, no store code around it. */
static void
bench_raw(void)
{
	sqlite3		*db;
	sqlite3_stmt	*ins, *begin, *commit;
	char		 path[512], text[501];
	int64_t		 t0, t1;
	int		 i, n = bench_quick ? 5000 : 100000;

	bench_path(path, sizeof(path), "raw.db");
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
	    NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (?1)", -1, &ins,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "BEGIN", -1, &begin, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK)
		bench_die("raw sqlite", NULL);
	t0 = util_mono_us();
	for (i = 0; i < n; i++) {
		sqlite3_step(begin);
		sqlite3_reset(begin);
		sqlite3_bind_text(ins, 1, text, 500, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			bench_die("raw insert", NULL);
		sqlite3_reset(ins);
		if (sqlite3_step(commit) != SQLITE_DONE)
			bench_die("raw commit", NULL);
		sqlite3_reset(commit);
	}
	t1 = util_mono_us();
	printf("raw_sqlite_insert_tx threads=1 ops=%d per_sec=%.0f\n", n,
	    n * 1e6 / (double)(t1 - t0));
	sqlite3_finalize(ins);
	sqlite3_finalize(begin);
	sqlite3_finalize(commit);
	sqlite3_close(db);
}

/* An endpoint as the registry stores it: 3 services, a few labels. */
static json_t *
bench_endpoint(long i)
{
	char	 s0[32], s1[32], s2[32], url[64];

	snprintf(s0, sizeof(s0), "svc-%ld", i % 1000);
	snprintf(s1, sizeof(s1), "grp-%ld", i % 7);
	snprintf(s2, sizeof(s2), "zone-%ld", i % 3);
	snprintf(url, sizeof(url), "tcp://10.%ld.%ld.%ld:5000",
	    (i >> 16) & 255, (i >> 8) & 255, i & 255);
	return json_pack("{s:s, s:[s,s,s], s:{s:{s:s,s:s}, s:{s:s}, s:{s:s}},"
	    " s:s}",
	    "url", url,
	    "network_service_names", s0, s1, s2,
	    "network_service_labels",
	    s0, "app", "postgres", "tier", "gold",
	    s1, "app", "postgres",
	    s2, "zone", "eu-west-1a",
	    "initial_registration_time", "2026-11-27T16:21:14Z");
}

enum bench_op {
	BENCH_CREATE,
	BENCH_UPDATE,
	BENCH_FETCH,
	BENCH_LIST,
	BENCH_LIST_TEXT
};

static const char *const bench_op_names[] = {
	[BENCH_CREATE] = "store_create",
	[BENCH_UPDATE] = "store_update",
	[BENCH_FETCH] = "store_fetch",
	[BENCH_LIST] = "store_list_service",
	[BENCH_LIST_TEXT] = "store_list_text_service",
};

struct bench_thread {
	struct store	*s;
	enum bench_op	 op;
	int		 id;
	long		 first;		/* names first..first+n */
	long		 n;
	long		 space;		/* names to pick from (fetch) */
	int64_t		*lat;		/* per-op latency, us */
	pthread_t	 tid;
};

static void
bench_name(char *buf, size_t len, long i)
{
	snprintf(buf, len, "nse-%08ld", i);
}

static void *
bench_thread_main(void *arg)
{
	struct bench_thread	*t = arg;
	struct store_object	 obj, out;
	struct store_query	 q = { .kind = STORE_ENDPOINT, .limit = 100 };
	struct nsreg_error	 err;
	const char		*svc[1];
	char			 name[32], sname[32];
	json_t			*items;
	char			*body, *last;
	size_t			 len;
	int64_t			 rev, t0;
	unsigned int		 seed = (unsigned int)t->id * 7919u + 1;
	long			 i, k;
	int			 more;

	for (i = 0; i < t->n; i++) {
		k = t->first + i;
		t0 = util_mono_us();
		switch (t->op) {
		case BENCH_CREATE:
		case BENCH_UPDATE:
			memset(&obj, 0, sizeof(obj));
			obj.kind = STORE_ENDPOINT;
			bench_name(name, sizeof(name), k);
			obj.name = name;
			obj.doc = bench_endpoint(k);
			obj.owner =
			    (char *)"spiffe://example.org/ns/prod/sa/nse";
			obj.expires_at = NOW + 60000 + i;
			if ((t->op == BENCH_CREATE ? store_create(t->s, &obj,
			    NOW, &err) : store_update(t->s, &obj, 0, NOW + 1,
			    &err)) == -1)
				bench_die(bench_op_names[t->op], &err);
			json_decref(obj.doc);
			break;
		case BENCH_FETCH:
			bench_name(name, sizeof(name),
			    (long)(rand_r(&seed) % (unsigned int)t->space));
			if (store_fetch(t->s, STORE_ENDPOINT, name, NOW, &out,
			    &err) == -1)
				bench_die("store_fetch", &err);
			store_object_clear(&out);
			break;
		case BENCH_LIST:
			snprintf(sname, sizeof(sname), "svc-%u",
			    rand_r(&seed) % 1000u);
			svc[0] = sname;
			q.services = svc;
			q.nservices = 1;
			if (store_list(t->s, &q, NOW, &items, &rev, &more,
			    &err) == -1)
				bench_die("store_list", &err);
			if (json_array_size(items) != 10)
				bench_die("store_list: not 10 items", NULL);
			json_decref(items);
			break;
		case BENCH_LIST_TEXT:
			snprintf(sname, sizeof(sname), "svc-%u",
			    rand_r(&seed) % 1000u);
			svc[0] = sname;
			q.services = svc;
			q.nservices = 1;
			if (store_list_text(t->s, &q, NOW, &body, &len, &last,
			    &rev, &more, &err) == -1)
				bench_die("store_list_text", &err);
			if (last == NULL || len < 1000)
				bench_die("store_list_text: short", NULL);
			free(body);
			free(last);
			break;
		}
		t->lat[i] = util_mono_us() - t0;
	}
	return NULL;
}

static int
bench_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static long
bench_rss_kib(const char *field)
{
	FILE	*f;
	char	 line[256];
	long	 v = -1;
	size_t	 n = strlen(field);

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* CPU time (user + system) of the whole process so far, in us. */
static int64_t
bench_cpu_us(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* Run op over names [first, first + total) on nthreads threads. */
static void
bench_run(struct store *s, enum bench_op op, int nthreads, long first,
    long total, long space)
{
	struct bench_thread	 t[8];
	int64_t			*lat, t0, t1, c0, c1;
	long			 per = total / nthreads;
	int			 i;

	if ((lat = calloc((size_t)total, sizeof(*lat))) == NULL)
		bench_die("calloc", NULL);
	for (i = 0; i < nthreads; i++) {
		t[i].s = s;
		t[i].op = op;
		t[i].id = i;
		t[i].first = first + (long)i * per;
		t[i].n = per;
		t[i].space = space;
		t[i].lat = lat + (long)i * per;
	}
	t0 = util_mono_us();
	c0 = bench_cpu_us();
	for (i = 0; i < nthreads; i++)
		pthread_create(&t[i].tid, NULL, bench_thread_main, &t[i]);
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i].tid, NULL);
	t1 = util_mono_us();
	c1 = bench_cpu_us();
	qsort(lat, (size_t)(per * nthreads), sizeof(*lat), bench_cmp);
	printf("%s threads=%d ops=%ld per_sec=%.0f cpu_us_per_op=%.1f "
	    "p50_us=%lld p99_us=%lld rss_kib=%ld\n", bench_op_names[op],
	    nthreads, per * nthreads,
	    (double)(per * nthreads) * 1e6 / (double)(t1 - t0),
	    (double)(c1 - c0) / (double)(per * nthreads),
	    (long long)lat[per * nthreads / 2],
	    (long long)lat[per * nthreads * 99 / 100], bench_rss_kib("VmRSS"));
	fflush(stdout);
	free(lat);
}

static long long
bench_file_size(const char *name)
{
	struct stat	sb;
	char		path[512];

	snprintf(path, sizeof(path), "%s/%s", bench_dir, name);
	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

int
main(int argc, char **argv)
{
	static const int	 threads[] = { 1, 2, 4, 8 };
	struct store_options	 opt = { 0 };
	struct store		*s;
	struct nsreg_error	 err;
	char			 url[600];
	int64_t			 t0;
	long			 n, next;
	size_t			 i;
	const char		*phase = NULL;
	int			 ch, nthreads = 1;

	while ((ch = getopt(argc, argv, "p:qt:")) != -1) {
		switch (ch) {
		case 'p':
			phase = optarg;
			break;
		case 't':
			nthreads = (int)strtol(optarg, NULL, 10);
			if (nthreads < 1 || nthreads > 8)
				goto usage;
			break;
		case 'q':
			bench_quick = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || (phase != NULL &&
	    strcmp(phase, "raw") != 0 && strcmp(phase, "write") != 0 &&
	    strcmp(phase, "create") != 0 && strcmp(phase, "read") != 0 &&
	    strcmp(phase, "listtext") != 0 && strcmp(phase, "big") != 0))
		goto usage;
	bench_dir = argv[optind];
	n = bench_quick ? 2000 : 40000;
	printf("# sqlite %s\n", sqlite3_libversion());

	if (phase == NULL || strcmp(phase, "raw") == 0)
		bench_raw();
	if (phase != NULL && strcmp(phase, "create") == 0) {
		s = bench_open("write.db");
		bench_run(s, BENCH_CREATE, nthreads, 0, n, 0);
		store_close(s);
	}
	if (phase != NULL && strcmp(phase, "listtext") == 0) {
		s = bench_open("read.db");
		bench_run(s, BENCH_CREATE, 4, 0, 10000, 0);
		bench_run(s, BENCH_LIST_TEXT, nthreads, 0, n * 5, 10000);
		store_close(s);
	}
	if (phase != NULL && strcmp(phase, "write") != 0)
		goto read;

	/* Writes: each thread count on a fresh database. */
	for (i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		s = bench_open("write.db");
		bench_run(s, BENCH_CREATE, threads[i], 0, n, 0);
		bench_run(s, BENCH_UPDATE, threads[i], 0, n, 0);
		store_close(s);
	}

read:
	if (phase != NULL && strcmp(phase, "read") != 0)
		goto big;
	/* Reads: 10,000 endpoints over 1,000 services, 10 per service. */
	s = bench_open("read.db");
	bench_run(s, BENCH_CREATE, 4, 0, 10000, 0);
	for (i = 0; i < sizeof(threads) / sizeof(threads[0]); i++)
		bench_run(s, BENCH_FETCH, threads[i], 0, n * 2, 10000);
	for (i = 0; i < sizeof(threads) / sizeof(threads[0]); i++)
		bench_run(s, BENCH_LIST, threads[i], 0, n / 2, 10000);
	for (i = 0; i < sizeof(threads) / sizeof(threads[0]); i++)
		bench_run(s, BENCH_LIST_TEXT, threads[i], 0, n, 10000);
	store_close(s);

big:
	if (phase != NULL && strcmp(phase, "big") != 0)
		return 0;
	/* Memory and disk holding 100,000 endpoints. */
	s = bench_open("big.db");
	for (next = 0; next < 100000; next += 10000)
		bench_run(s, BENCH_CREATE, 4, next, 10000, 0);
	bench_run(s, BENCH_FETCH, 4, 0, 100000, 100000);
	/* Every service listed: the text cache fills up to its bound. */
	bench_run(s, BENCH_LIST_TEXT, 4, 0, 20000, 100000);
	t0 = util_mono_us();
	if (store_prune(s, NOW, &err) == -1)
		bench_die("store_prune", &err);
	printf("store_prune after_bulk_load_ms=%.2f (trims the history)\n",
	    (double)(util_mono_us() - t0) / 1000.0);
	t0 = util_mono_us();
	if (store_count(s, STORE_ENDPOINT, NOW) != 100000)
		bench_die("store_count", NULL);
	printf("store_count endpoints=100000 ms=%.2f\n",
	    (double)(util_mono_us() - t0) / 1000.0);
	printf("endpoints=%lld rss_kib=%ld hwm_kib=%ld db_bytes=%lld "
	    "wal_bytes=%lld\n", (long long)store_count(s, STORE_ENDPOINT,
	    NOW), bench_rss_kib("VmRSS"), bench_rss_kib("VmHWM"),
	    bench_file_size("big.db"), bench_file_size("big.db-wal"));
	store_close(s);
	/* Start-up: migrations checked, the service index rebuilt. */
	snprintf(url, sizeof(url), "sqlite:%s/big.db", bench_dir);
	opt.url = url;
	t0 = util_mono_us();
	if ((s = store_open(&opt, &err)) == NULL)
		bench_die("reopen", &err);
	printf("reopen_ms=%.1f endpoints=%lld rss_kib=%ld\n",
	    (double)(util_mono_us() - t0) / 1000.0,
	    (long long)store_count(s, STORE_ENDPOINT, NOW),
	    bench_rss_kib("VmRSS"));
	store_close(s);
	return 0;
usage:
	fprintf(stderr, "usage: store_bench [-q] [-p phase] [-t threads] "
	    "DIR\n");
	return 2;
}
