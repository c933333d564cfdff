/*
 * test_cluster_ops.c - a cluster of nsregd on PostgreSQL when things go
 * wrong (DESIGN section 6): an instance killed (kill -9) under write load
 * loses no acknowledged write and the others go on; the expiry sweep is
 * taken over within seconds when its instance dies, and an expired
 * endpoint is deleted once; PostgreSQL stopped and started again under
 * load: 503 unavailable and /readyz 503 meanwhile, then service again
 * without restarting nsregd.
 *
 * The first two run on the database at NSREG_TEST_PG and are skipped
 * without it; the last starts (and stops, and starts) a private
 * PostgreSQL of its own with tests/pg/pg-start.sh, skipped when no
 * PostgreSQL server is installed.  tests/pg/store.sh runs them.
 */
#include "config.h"

#include <sys/wait.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define WRITERS		3
#define ACKS_MAX	4096

static struct nsregd	a, b;
static char		pgdir[PATH_MAX];

static void
teardown(void)
{
	char	cmd[PATH_MAX * 2];
	char	*src = getenv("NSREG_SRCDIR");

	if (a.dir[0] != '\0')
		nsregd_cleanup(&a);
	if (b.dir[0] != '\0')
		nsregd_cleanup(&b);
	if (pgdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "sh '%s/tests/pg/pg-stop.sh' '%s'",
		    src != NULL ? src : ".", pgdir);
		if (system(cmd) != 0)
			cr_log_warn("could not stop PostgreSQL in %s", pgdir);
		pgdir[0] = '\0';
	}
}

TestSuite(cluster_ops, .fini = teardown, .timeout = 120);

/* A new schema of the database at base, as a database URL. */
static void
schema_url(const char *base, const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "%s%soptions=-csearch_path%%3D%s_%d_%ld", base,
	    strchr(base, '?') != NULL ? "&" : "?", what, (int)getpid(),
	    (long)time(NULL));
}

static const char *
shared_pg(void)
{
	const char	*pg = getenv("NSREG_TEST_PG");

	if (pg == NULL || pg[0] == '\0')
		cr_skip_test("NSREG_TEST_PG is not set");
	return pg;
}

/* PUT /v1/services/name as admin on s: the status, 0 without answer. */
static long
put_service(const struct nsregd *s, const char *name, char *code,
    size_t codelen)
{
	struct hcred	adm;
	struct hresp	r;
	char		path[128];
	long		status;

	hcred_admin(s, &adm);
	snprintf(path, sizeof(path), "/v1/services/%s", name);
	if (hreq(s, &adm, "PUT", path, "{}", NULL, NULL, &r) == -1) {
		hresp_free(&r);		/* hreq fills r even when it fails */
		return 0;
	}
	status = r.status;
	if (code != NULL)
		snprintf(code, codelen, "%s", hresp_error(&r));
	hresp_free(&r);
	return status;
}

/* ---- kill -9 under write load ------------------------------------------ */

struct writer {
	int		 id;
	int		 stop;
	const struct nsregd *to[2];	/* alternated */
	int		 dead;		/* to[0] was killed */
	char		 acked[ACKS_MAX][32];
	size_t		 nacked;
	size_t		 after_kill;	/* acknowledged by the survivor */
	pthread_mutex_t	 lock;
};

static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	char		 name[32];
	long		 st;
	int		 i, stop, dead, pick;

	for (i = 0; w->nacked < ACKS_MAX; i++) {
		pthread_mutex_lock(&w->lock);
		stop = w->stop;
		dead = w->dead;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			break;
		snprintf(name, sizeof(name), "w%d-%d", w->id, i);
		/* Like a client behind a balancer, which leaves a dead one. */
		pick = dead ? 1 : i % 2;
		st = put_service(w->to[pick], name, NULL, 0);
		if (st == 201) {
			snprintf(w->acked[w->nacked], sizeof(w->acked[0]), "%s",
			    name);
			w->nacked++;
			if (dead)
				w->after_kill++;
		}
	}
	return NULL;
}

Test(cluster_ops, kill_9_under_write_load_loses_no_acknowledged_write)
{
	static struct writer	 w[WRITERS];
	pthread_t		 t[WRITERS];
	struct hcred		 adm;
	struct hresp		 r;
	char			 db[1024], path[128];
	size_t			 j, total = 0, after = 0;
	int			 k;

	schema_url(shared_pg(), "ops_kill", db, sizeof(db));
	nsregd_start_on(&a, NULL, db);
	nsregd_start_on(&b, NULL, db);
	for (k = 0; k < WRITERS; k++) {
		memset(&w[k], 0, sizeof(w[k]));
		w[k].id = k;
		w[k].to[0] = &a;
		w[k].to[1] = &b;
		pthread_mutex_init(&w[k].lock, NULL);
		cr_assert_eq(pthread_create(&t[k], NULL, writer_main, &w[k]),
		    0);
	}
	usleep(1500 * 1000);
	nsregd_kill(&a);
	for (k = 0; k < WRITERS; k++) {
		pthread_mutex_lock(&w[k].lock);
		w[k].dead = 1;
		pthread_mutex_unlock(&w[k].lock);
	}
	usleep(1500 * 1000);
	for (k = 0; k < WRITERS; k++) {
		pthread_mutex_lock(&w[k].lock);
		w[k].stop = 1;
		pthread_mutex_unlock(&w[k].lock);
	}
	for (k = 0; k < WRITERS; k++)
		pthread_join(t[k], NULL);
	/* Every write either instance acknowledged is there. */
	hcred_admin(&b, &adm);
	for (k = 0; k < WRITERS; k++) {
		for (j = 0; j < w[k].nacked; j++) {
			snprintf(path, sizeof(path), "/v1/services/%s",
			    w[k].acked[j]);
			hreq(&b, &adm, "GET", path, NULL, NULL, NULL, &r);
			cr_expect_eq(r.status, 200, "acknowledged %s: %ld %s",
			    w[k].acked[j], r.status, r.body);
			hresp_free(&r);
		}
		total += w[k].nacked;
		after += w[k].after_kill;
	}
	cr_log_info("%zu writes acknowledged, %zu by the survivor after the "
	    "kill", total, after);
	cr_expect_gt(total, after, "the killed instance acknowledged none");
	/* The survivor went on. */
	cr_expect_gt(after, 0, "no write acknowledged after the kill");
	cr_expect_eq(put_service(&b, "after-kill", NULL, 0), 201);
}

/* ---- the sweeper taken over -------------------------------------------- */

/* The pid in the live holder of task in db (name/pid/start), or 0. */
static long
task_holder(const char *db, const char *task)
{
	PGconn		*c;
	PGresult	*r;
	const char	*params[1] = { task };
	const char	*h, *slash;
	long		 pid = 0;

	c = PQconnectdb(db);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexecParams(c, "SELECT holder FROM task_leases WHERE task = $1 "
	    "AND expires_at > (extract(epoch FROM clock_timestamp()) * 1000)"
	    "::bigint", 1, NULL, params, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s",
	    PQerrorMessage(c));
	if (PQntuples(r) == 1) {
		h = PQgetvalue(r, 0, 0);
		if ((slash = strchr(h, '/')) != NULL)
			pid = strtol(slash + 1, NULL, 10);
		cr_log_info("%s held by %s", task, h);
	}
	PQclear(r);
	PQfinish(c);
	return pid;
}

/* The DELETED events of name in w's stream. */
static size_t
deleted_of(struct hwatch *w, const char *name)
{
	json_t	*e;
	size_t	 i, n = 0;

	for (i = 0; (e = hwatch_event(w, i)) != NULL; i++) {
		if (strcmp(json_string_value(json_object_get(e, "type")) !=
		    NULL ? json_string_value(json_object_get(e, "type")) : "",
		    "DELETED") == 0 && strcmp(json_string_value(
		    json_object_get(json_object_get(e, "object"), "name")) !=
		    NULL ? json_string_value(json_object_get(json_object_get(e,
		    "object"), "name")) : "", name) == 0)
			n++;
	}
	return n;
}

Test(cluster_ops, the_sweep_is_taken_over_when_its_instance_dies)
{
	struct nsregd	*holder, *other;
	struct hcred	 owner, adm;
	struct hresp	 r;
	struct hwatch	 wt;
	char		 db[1024], body[256], ts[UTIL_RFC3339_MAX];
	int64_t		 t0, end;
	long		 pid = 0;

	schema_url(shared_pg(), "ops_sweep", db, sizeof(db));
	nsregd_start_on(&a, NULL, db);
	nsregd_start_on(&b, NULL, db);
	/* One of the two holds the sweep. */
	end = util_now_ms() + 10000;
	while ((pid = task_holder(db, "sweep")) == 0 && util_now_ms() < end)
		usleep(100 * 1000);
	cr_assert(pid == a.pid || pid == b.pid, "sweep held by pid %ld, not "
	    "%d or %d", pid, (int)a.pid, (int)b.pid);
	holder = pid == a.pid ? &a : &b;
	other = holder == &a ? &b : &a;
	nsregd_allow_local(other);
	hcred_admin(other, &adm);
	hwatch_start(&wt, other, &adm, "/v1/endpoints?watch=true");
	cr_assert_eq(put_service(other, "db", NULL, 0), 201);

	/* The holder dies without giving the lease up. */
	nsregd_kill(holder);
	t0 = util_now_ms();
	hcred_x509(other, &owner);
	snprintf(body, sizeof(body), "{\"url\":\"tcp://10.1.0.9:1\","
	    "\"network_service_names\":[\"db\"],\"expiration_time\":\"%s\"}",
	    util_rfc3339_format(util_now_ms() + 1000, ts, sizeof(ts)));
	hreq(other, &owner, "PUT", "/v1/endpoints/brief", body, NULL, NULL,
	    &r);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	hresp_free(&r);
	/* The survivor takes the sweep over and deletes it, once. */
	end = t0 + 20000;
	while (deleted_of(&wt, "brief") == 0 && util_now_ms() < end)
		hwatch_wait(&wt, hwatch_wait(&wt, 0, 0) + 1, 100);
	cr_assert_eq(deleted_of(&wt, "brief"), 1, "no DELETED within 20 s");
	cr_log_info("swept %lld ms after the holder's kill",
	    (long long)(util_now_ms() - t0));
	cr_expect_eq(task_holder(db, "sweep"), (long)other->pid);
	usleep(1500 * 1000);
	cr_expect_eq(deleted_of(&wt, "brief"), 1, "deleted more than once");
	hwatch_stop(&wt);
}

/* ---- PostgreSQL stopped and started under load ------------------------- */

/* Run a tests/pg script with args; its exit status, its output in out. */
static int
pg_script(const char *script, const char *args, char *out, size_t outlen)
{
	char	 cmd[PATH_MAX * 2];
	char	*src = getenv("NSREG_SRCDIR");
	FILE	*f;
	size_t	 n;
	int	 rc;

	snprintf(cmd, sizeof(cmd), "sh '%s/tests/pg/%s' %s",
	    src != NULL ? src : ".", script, args);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	rc = pclose(f);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

struct load {
	const struct nsregd	*s;
	int			 stop;
	long			 ok, unavailable, other, none;
	char			 other_what[256];
	pthread_mutex_t		 lock;
};

static void *
load_main(void *arg)
{
	struct load	*l = arg;
	char		 name[32], code[64];
	long		 st;
	int		 i, stop;

	for (i = 0;; i++) {
		pthread_mutex_lock(&l->lock);
		stop = l->stop;
		pthread_mutex_unlock(&l->lock);
		if (stop)
			break;
		snprintf(name, sizeof(name), "load-%d", i);
		st = put_service(l->s, name, code, sizeof(code));
		pthread_mutex_lock(&l->lock);
		if (st == 201)
			l->ok++;
		else if (st == 503 && strcmp(code, "unavailable") == 0)
			l->unavailable++;
		else if (st == 0)
			l->none++;
		else {
			l->other++;
			snprintf(l->other_what, sizeof(l->other_what),
			    "%ld %s", st, code);
		}
		pthread_mutex_unlock(&l->lock);
		usleep(20 * 1000);
	}
	return NULL;
}

/* GET /readyz: its status; the error body's code and message. */
static long
readyz(const struct nsregd *s, char *msg, size_t len)
{
	struct hcred	c;
	struct hresp	r;
	long		st;

	hcred_none(&c);
	if (hreq(s, &c, "GET", "/readyz", NULL, NULL, NULL, &r) == -1) {
		hresp_free(&r);
		return 0;
	}
	st = r.status;
	if (msg != NULL)
		snprintf(msg, len, "%s: %s", hresp_error(&r), json_string_value(
		    json_object_get(json_object_get(r.json, "error"),
		    "message")) != NULL ? json_string_value(json_object_get(
		    json_object_get(r.json, "error"), "message")) : "");
	hresp_free(&r);
	return st;
}

Test(cluster_ops, postgresql_stopped_and_started_under_load)
{
	struct load	 l;
	pthread_t	 t;
	char		 url[1024], db[1024], msg[512], args[PATH_MAX + 16];
	char		*p;
	int64_t		 end, t0;
	long		 st, ok_before;
	int		 rc;

	rc = pg_script("pg-start.sh", "", url, sizeof(url));
	if (rc == 77)
		cr_skip_test("no PostgreSQL server installed");
	cr_assert_eq(rc, 0, "pg-start.sh: %s", url);
	p = strstr(url, "host=");
	cr_assert_not_null(p, "%s", url);
	snprintf(pgdir, sizeof(pgdir), "%.*s", (int)strcspn(p + 5, "&"),
	    p + 5);
	schema_url(url, "ops_restart", db, sizeof(db));
	nsregd_start_on(&a, NULL, db);
	cr_assert_eq(readyz(&a, NULL, 0), 200);

	memset(&l, 0, sizeof(l));
	l.s = &a;
	pthread_mutex_init(&l.lock, NULL);
	cr_assert_eq(pthread_create(&t, NULL, load_main, &l), 0);
	usleep(700 * 1000);

	/* PostgreSQL goes away. */
	snprintf(args, sizeof(args), "--keep '%s'", pgdir);
	cr_assert_eq(pg_script("pg-stop.sh", args, msg, sizeof(msg)), 0);
	end = util_now_ms() + 10000;
	while ((st = readyz(&a, msg, sizeof(msg))) == 200 &&
	    util_now_ms() < end)
		usleep(50 * 1000);
	cr_assert_eq(st, 503, "/readyz %ld with PostgreSQL down", st);
	cr_expect_not_null(strstr(msg, "unavailable: "), "%s", msg);
	cr_expect_not_null(strstr(msg, "database"), "%s", msg);
	cr_expect_eq(put_service(&a, "while-down", msg, sizeof(msg)), 503);
	cr_expect_str_eq(msg, "unavailable");
	usleep(1000 * 1000);
	pthread_mutex_lock(&l.lock);
	ok_before = l.ok;
	pthread_mutex_unlock(&l.lock);

	/* It comes back: so does nsregd, by itself. */
	snprintf(args, sizeof(args), "'%s'", pgdir);
	cr_assert_eq(pg_script("pg-start.sh", args, msg, sizeof(msg)), 0,
	    "%s", msg);
	t0 = util_now_ms();
	end = t0 + 15000;
	while ((st = readyz(&a, NULL, 0)) != 200 && util_now_ms() < end)
		usleep(50 * 1000);
	cr_assert_eq(st, 200, "/readyz %ld after PostgreSQL came back", st);
	cr_log_info("ready again %lld ms after PostgreSQL",
	    (long long)(util_now_ms() - t0));
	cr_expect_eq(put_service(&a, "after-restart", NULL, 0), 201);
	usleep(500 * 1000);
	pthread_mutex_lock(&l.lock);
	l.stop = 1;
	pthread_mutex_unlock(&l.lock);
	pthread_join(t, NULL);
	cr_log_info("load: %ld acknowledged, %ld unavailable, %ld other, "
	    "%ld without answer", l.ok, l.unavailable, l.other, l.none);
	cr_expect_gt(l.unavailable, 0, "no 503 while PostgreSQL was down");
	cr_expect_gt(l.ok, ok_before, "no write acknowledged after");
	cr_expect_eq(l.other, 0, "other answers, last: %s", l.other_what);
	cr_expect_eq(l.none, 0, "requests without an answer");
	/* The same process all along. */
	cr_expect_eq(kill(a.pid, 0), 0);
}
