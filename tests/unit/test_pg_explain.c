/*
 * test_pg_explain.c - the plan of every statement the PostgreSQL backend
 * prepares (store_pg_statement), on tables filled with enough rows that
 * the planner prefers a sequential scan wherever no index serves: each
 * statement reading one of the big tables reads it through an index, and
 * none scans a big table whole.  The few statements that read every row
 * of a kind on purpose say why in the table below; a statement the table
 * does not know fails the test, so a new one is planned here too.
 *
 * Runs when NSREG_TEST_PG names a database (tests/pg/store.sh runs it),
 * skipped otherwise.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_pg_int.h"

/* The tables that grow with the registry. */
static const char *const big_tables[] = {
	"objects", "events", "decisions", "grants", "ipam_leases",
	"ipam_free", NULL
};

/* What fills them: tens of thousands of rows, several kinds and owners. */
static const char *const fill_sql[] = {
	"INSERT INTO objects SELECT 1, 'ep-' || g, g, 1, 1, "
	"CASE WHEN g % 10 = 0 THEN 1000 + g ELSE 0 END, 'o', "
	"'{\"name\":\"x\"}', jsonb_build_array('svc-' || (g % 500)) "
	"FROM generate_series(1, 40000) g",
	"INSERT INTO objects SELECT 0, 'svc-' || g, g, 1, 1, 0, 'o', '{}', "
	"NULL FROM generate_series(1, 500) g",
	"INSERT INTO objects SELECT 4, 'g' || g, g, 1, 1, 100000 + g, 'o', "
	"'{}', NULL FROM generate_series(1, 20000) g",
	"INSERT INTO events SELECT g, g % 5, 0, 'ep-' || g, NULL, '{}' "
	"FROM generate_series(1, 40000) g",
	"UPDATE meta SET value = 40000 WHERE key = 'revision'",
	"INSERT INTO decisions (time, principal, action, decision, entry) "
	"SELECT g, 'spiffe://x/p' || (g % 1000), CASE WHEN g % 2 = 0 THEN "
	"'find' ELSE 'register' END, CASE WHEN g % 50 = 0 THEN 'deny' ELSE "
	"'allow' END, '{}' FROM generate_series(1, 40000) g",
	"INSERT INTO grants SELECT 'g' || g, 'svc-' || (g % 500), "
	"'ep-' || (g % 5000), 'k' || (g % 3), g, g, 100000 + g "
	"FROM generate_series(1, 20000) g",
	"INSERT INTO ipam_leases SELECT 'svc-' || (g % 500), g, 'p' || g, g, "
	"1, 100000 + g FROM generate_series(1, 20000) g",
	"INSERT INTO ipam_free SELECT 'svc-' || (g % 500), g "
	"FROM generate_series(20001, 40000) g",
	"INSERT INTO grant_keys SELECT 'k' || g, '{}', g, NULL, NULL "
	"FROM generate_series(0, 2) g",
	"ANALYZE",
	NULL
};

#define NP	9
/* Decision list statements: PG_DECISIONS + mask, one per filter set. */
#define NDECISIONS	(PG_SQL_MAX - PG_DECISIONS)

struct plan_case {
	enum store_pg_sql	 id;
	const char		*params[NP];	/* NULL: SQL NULL */
	int			 nparams;
	const char		*reads;		/* a big table read, or NULL */
	const char		*whole;		/* why it reads all: skip */
};

#define PC(i, t, n, ...)	{ .id = (i), .reads = (t), .nparams = (n), \
				  .params = { __VA_ARGS__ } }
#define ALL_OF			"9223372036854775807"

static const struct plan_case cases[] = {
	PC(PG_REVISION_LOCK, NULL, 0, NULL),
	PC(PG_REVISION_SET, NULL, 1, "5"),
	PC(PG_REVISION, NULL, 0, NULL),
	PC(PG_META_GET, NULL, 1, "revision"),
	PC(PG_META_SET, NULL, 2, "trimmed.1", "5"),
	PC(PG_OBJECT_GET, "objects", 2, "1", "ep-77"),
	PC(PG_OBJECT_INSERT, NULL, 9, "1", "new", "5", "5", "5", "0", "o",
	    "{}", "[\"svc-7\"]"),
	PC(PG_OBJECT_UPDATE, "objects", 9, "1", "ep-77", "5", "1", "5", "0",
	    "o", "{}", "[\"svc-7\"]"),
	PC(PG_OBJECT_DELETE, "objects", 2, "1", "ep-77"),
	PC(PG_EVENT_INSERT, NULL, 6, "40001", "1", "0", "ep-77", NULL, "{}"),
	/* A page of endpoints, and of one service's endpoints. */
	PC(PG_LIST, "objects", 4, "1", "ep-1", "5000", "257"),
	PC(PG_LIST_SERVICES, "objects", 5, "1", "", "5000", "257",
	    "[\"svc-7\"]"),
	{ .id = PG_COUNT, .nparams = 2, .params = { "1", "5000" },
	  .whole = "counts every live object of a kind (the /metrics "
	  "gauges): each one is read, whichever way" },
	PC(PG_EXPIRED, "objects", 3, "1", "2000", "1000"),
	/* A watch resuming near the head of the history. */
	PC(PG_WATCH, "events", 3, "1", "39000", "1000"),
	/* The trim cuts the oldest few events. */
	PC(PG_TRIM_MARKS, "events", 1, "100"),
	PC(PG_TRIM_DELETE, "events", 1, "100"),
	PC(PG_DECISION_INSERT, NULL, 5, "5", "p", "find", "allow", "{}"),
	PC(PG_DECISION_PRUNE, "decisions", 2, "100", "10000"),
	PC(PG_OBJECT_REV, "objects", 2, "1", "ep-77"),
	PC(PG_GRANT_INSERT, NULL, 7, "gnew", "svc-7", "ep-7", "k1", "1", "1",
	    "5"),
	PC(PG_GRANT_GET, "grants", 1, "g77"),
	PC(PG_GRANT_DELETE, "grants", 1, "g77"),
	PC(PG_GRANT_REFRESH, "grants", 3, "g77", "k1", "5"),
	PC(PG_GRANTS_OF_ENDPOINT, "grants", 1, "ep-7"),
	PC(PG_GRANTS_OF_ENDPOINT_SERVICE, "grants", 2, "ep-7", "svc-7"),
	PC(PG_GRANTS_OF_SERVICE, "grants", 1, "svc-7"),
	{ .id = PG_GRANT_LOADS, .nparams = 1, .params = { "0" },
	  .whole = "counts every live grant per endpoint, once at start-up "
	  "(grants_new)" },
	PC(PG_POOL_GET, NULL, 1, "svc-7"),
	PC(PG_POOL_PUT, NULL, 4, "svc-7", "10.0.0.0/8", "24", "0"),
	PC(PG_POOL_DELETE, NULL, 1, "svc-7"),
	PC(PG_LEASES_DELETE, "ipam_leases", 1, "svc-7"),
	PC(PG_LEASE_HOLD, "ipam_leases", 3, "svc-7", "p7", "5"),
	PC(PG_LEASE_EXTEND, "ipam_leases", 4, "svc-7", "7", "7", "5"),
	PC(PG_LEASE_TOP, "ipam_leases", 1, "svc-7"),
	PC(PG_FREE_FIRST, "ipam_free", 1, "svc-7"),
	PC(PG_FREE_TAKE, "ipam_free", 2, "svc-7", "20007"),
	PC(PG_FREE_PUT, NULL, 2, "svc-7", "7"),
	PC(PG_FREES_DELETE, "ipam_free", 1, "svc-7"),
	PC(PG_LEASE_INSERT, NULL, 5, "svc-7", "99999", "pnew", "1", "5"),
	PC(PG_LEASE_FREE, "ipam_leases", 3, "svc-7", "7", "7"),
	PC(PG_LEASE_DROP, "ipam_leases", 3, "svc-7", "7", "7"),
	PC(PG_LEASES_LIVE, "ipam_leases", 2, "svc-7", "5"),
	PC(PG_KEY_GET, NULL, 1, "k1"),
	PC(PG_KEY_CURRENT, NULL, 0, NULL),
	/* The last expiry of a key's grants: one index entry. */
	PC(PG_KEY_RETIRE, "grants", 2, "k1", "5"),
	PC(PG_KEY_INSERT, NULL, 3, "k9", "{}", "5"),
	PC(PG_KEYS_LIST, NULL, 1, "5"),
	PC(PG_KEYS_PRUNE, NULL, 1, "5"),
	PC(PG_TASK_CLAIM, NULL, 3, "sweep", "me", "5000"),
	PC(PG_TASK_RELEASE, NULL, 2, "sweep", "me"),
	PC(PG_REVISION_SET_NOTIFY, NULL, 2, "5", "nsreg_x"),
	/* What other instances committed since this one last read. */
	PC(PG_EVENTS_AFTER, "events", 3, "39000", "40000", "512"),
};

static PGconn	*db;
static char	 url[1024];

/*
 * The decision log by each set of filters (store_pg.c): principal 1,
 * action 2, decision 4, since 8, until 16; newest first from an id.
 */
static void
decision_case(int mask, struct plan_case *c)
{
	memset(c, 0, sizeof(*c));
	c->id = (enum store_pg_sql)(PG_DECISIONS + mask);
	c->reads = "decisions";
	c->nparams = 7;
	c->params[0] = ALL_OF;
	c->params[1] = mask & 1 ? "spiffe://x/p7" : NULL;
	c->params[2] = mask & 2 ? "find" : NULL;
	c->params[3] = mask & 4 ? "deny" : NULL;
	c->params[4] = "50";
	c->params[5] = mask & 8 ? "39000" : NULL;
	c->params[6] = mask & 16 ? "39500" : NULL;
}

static void
exec_ok(const char *sql)
{
	PGresult	*r;

	r = PQexec(db, sql);
	cr_assert(r != NULL && (PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK), "%s: %s", sql,
	    PQerrorMessage(db));
	PQclear(r);
}

static void
setup(void)
{
	const char		*pg = getenv("NSREG_TEST_PG");
	struct store_options	 opt;
	struct nsreg_error	 err;
	struct store		*st;
	size_t			 i;

	if (pg == NULL || pg[0] == '\0')
		return;
	snprintf(url, sizeof(url), "%s%soptions=-csearch_path%%3D"
	    "explain_%d_%ld", pg, strchr(pg, '?') != NULL ? "&" : "?",
	    (int)getpid(), (long)time(NULL));
	/* The backend creates the schema and migrates it. */
	memset(&opt, 0, sizeof(opt));
	opt.url = url;
	st = store_open(&opt, &err);
	cr_assert_not_null(st, "%s", err.message);
	store_close(st);
	db = PQconnectdb(url);
	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
	for (i = 0; fill_sql[i] != NULL; i++)
		exec_ok(fill_sql[i]);
	/* The backend's own session, planned as it plans. */
	exec_ok(STORE_PG_SESSION_SQL);
}

static void
teardown(void)
{
	if (db != NULL)
		PQfinish(db);
	db = NULL;
}

TestSuite(pg_explain, .init = setup, .fini = teardown, .timeout = 120);

/* The plan of c's statement as lines of text (a new string). */
static char *
plan_of(const struct plan_case *c)
{
	PGresult	*r;
	char		 sql[512], buf[4096], *text;
	const char	*stmt;
	size_t		 len = 0, cap = 8192;
	int		 i;

	stmt = store_pg_statement(c->id, sql, sizeof(sql));
	cr_assert_not_null(stmt, "statement %d", (int)c->id);
	r = PQprepare(db, "q", stmt, 0, NULL);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", stmt,
	    PQerrorMessage(db));
	PQclear(r);
	/* EXPLAIN EXECUTE plans with these values and runs nothing. */
	len = (size_t)snprintf(buf, sizeof(buf), "EXPLAIN EXECUTE q(");
	for (i = 0; i < c->nparams; i++) {
		if (c->params[i] == NULL) {
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "%sNULL", i > 0 ? ", " : "");
		} else {
			text = PQescapeLiteral(db, c->params[i],
			    strlen(c->params[i]));
			cr_assert_not_null(text);
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "%s%s", i > 0 ? ", " : "", text);
			PQfreemem(text);
		}
	}
	snprintf(buf + len, sizeof(buf) - len, ")");
	if (c->nparams == 0)
		snprintf(buf, sizeof(buf), "EXPLAIN EXECUTE q");
	r = PQexec(db, buf);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s (%s): %s", buf,
	    stmt, PQerrorMessage(db));
	text = calloc(1, cap);
	cr_assert_not_null(text);
	len = 0;
	for (i = 0; i < PQntuples(r); i++)
		len += (size_t)snprintf(text + len, cap - len, "%s\n",
		    PQgetvalue(r, i, 0));
	PQclear(r);
	exec_ok("DEALLOCATE q");
	return text;
}

Test(pg_explain, every_statement_is_known_here)
{
	int	seen[PG_SQL_MAX];
	size_t	i;
	int	id;

	if (db == NULL)
		cr_skip_test("NSREG_TEST_PG is not set");
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		seen[cases[i].id]++;
	for (id = 0; id < NDECISIONS; id++)
		seen[PG_DECISIONS + id]++;
	for (id = 0; id < PG_SQL_MAX; id++)
		cr_expect_eq(seen[id], 1, "statement %d is planned %d times "
		    "here: add it to the table", id, seen[id]);
}

Test(pg_explain, hot_paths_read_big_tables_through_indexes)
{
	const struct plan_case	*c;
	struct plan_case	 dc;
	char			 needle[64], *plan;
	size_t			 i, n, t;

	if (db == NULL)
		cr_skip_test("NSREG_TEST_PG is not set");
	n = sizeof(cases) / sizeof(cases[0]);
	for (i = 0; i < n + NDECISIONS; i++) {
		if (i < n)
			c = &cases[i];
		else {
			decision_case((int)(i - n), &dc);
			c = &dc;
		}
		plan = plan_of(c);
		if (c->whole != NULL) {
			cr_log_info("statement %d reads whole tables: %s",
			    (int)c->id, c->whole);
			free(plan);
			continue;
		}
		for (t = 0; big_tables[t] != NULL; t++) {
			snprintf(needle, sizeof(needle), "Seq Scan on %s ",
			    big_tables[t]);
			cr_expect_null(strstr(plan, needle), "statement %d "
			    "scans %s whole:\n%s", (int)c->id, big_tables[t],
			    plan);
		}
		if (c->reads != NULL)
			cr_expect_not_null(strstr(plan, "Index"), "statement "
			    "%d reads %s without an index:\n%s", (int)c->id,
			    c->reads, plan);
		free(plan);
	}
}
