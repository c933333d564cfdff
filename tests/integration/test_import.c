/*
 * test_import.c - nsregd --import: a live SQLite registry copied into an
 * empty PostgreSQL database and back into a new SQLite file, each copy
 * served by a new nsregd that finds the same objects at the same
 * revisions, the same rules, the same vL3 leases, the old grant keys and
 * the decision log, and numbers its next write after the last copied.
 * Targets that hold anything are refused.  Runs when NSREG_TEST_PG names
 * a database (tests/pg/store.sh runs it), skipped otherwise.
 */
#include "config.h"

#include <sys/wait.h>

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define EXTRA	"endpoint-default-ttl 1h\nendpoint-max-ttl 2h\n" \
		"grant-ttl 10m\n"
#define OTHER	"spiffe://example.org/ns/default/sa/other"

static struct nsregd	a, b, c;
static char		pgdb[1024];

static void
setup(void)
{
	const char	*pg = getenv("NSREG_TEST_PG");

	pgdb[0] = '\0';
	if (pg == NULL || pg[0] == '\0')
		return;
	snprintf(pgdb, sizeof(pgdb), "%s%soptions=-csearch_path%%3D"
	    "import_%d_%ld", pg, strchr(pg, '?') != NULL ? "&" : "?",
	    (int)getpid(), (long)time(NULL));
}

static void
teardown(void)
{
	if (a.pid != 0 || a.dir[0] != '\0')
		nsregd_cleanup(&a);
	if (b.pid != 0 || b.dir[0] != '\0')
		nsregd_cleanup(&b);
	if (c.pid != 0 || c.dir[0] != '\0')
		nsregd_cleanup(&c);
}

TestSuite(import, .init = setup, .fini = teardown, .timeout = 180);

/*
 * Write s's configuration with database db at path: the configuration an
 * operator points at the new database before importing into it.
 */
static void
conf_on(const struct nsregd *s, const char *db, const char *path)
{
	char	 src[PATH_MAX], line[8192], text[16384];
	size_t	 len = 0;
	FILE	*f;

	f = fopen(nsregd_path(s, "nsregd.conf", src, sizeof(src)), "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "database ", 9) == 0)
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "database %s\n", db);
		else
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%s", line);
		cr_assert_lt(len, sizeof(text));
	}
	fclose(f);
	harness_write(path, text, 0600);
}

/* nsregd -f conf --import from: its exit status, its output in out. */
static int
import(const char *conf, const char *from, char *out, size_t outlen)
{
	char	 cmd[PATH_MAX * 4], log[PATH_MAX];
	char	*bd = getenv("NSREG_BUILDDIR");
	FILE	*f;
	size_t	 n;
	int	 rc;

	snprintf(log, sizeof(log), "%s.out", conf);
	snprintf(cmd, sizeof(cmd), "'%s/server/nsregd' -f '%s' --import '%s' "
	    ">'%s' 2>&1", bd != NULL ? bd : ".", conf, from, log);
	rc = system(cmd);
	out[0] = '\0';
	if ((f = fopen(log, "r")) != NULL) {
		n = fread(out, 1, outlen - 1, f);
		out[n] = '\0';
		fclose(f);
	}
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static json_t *
get(const struct nsregd *s, const char *path)
{
	struct hcred	 adm;
	struct hresp	 r;
	json_t		*o;

	hcred_admin(s, &adm);
	hreq(s, &adm, "GET", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "GET %s: %ld %s", path, r.status, r.body);
	o = json_incref(r.json);
	hresp_free(&r);
	return o;
}

static void
put(const struct nsregd *s, const struct hcred *cr, const char *path,
    const char *body)
{
	struct hresp	r;

	hreq(s, cr, "PUT", path, body, NULL, NULL, &r);
	cr_assert(r.status == 200 || r.status == 201, "PUT %s: %ld %s", path,
	    r.status, r.body);
	hresp_free(&r);
}

/* A grant of db-replication for the principal id; its address. */
static void
grant_address(const struct nsregd *s, const char *id, char *addr,
    size_t len)
{
	struct hcred	cr;
	struct hresp	r;

	hcred_issue_x509(s, id, 0, &cr);
	hreq(s, &cr, "POST", "/v1/grants", "{\"service\":\"db-replication\"}",
	    NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "grant for %s: %ld %s", id, r.status,
	    r.body);
	snprintf(addr, len, "%s", json_string_value(json_object_get(r.json,
	    "address")));
	hresp_free(&r);
}

/*
 * The decision log is written behind the answers (a queue flushed by
 * its own thread): wait up to 5 s for at least n entries of principal
 * on s, and give the last page read (owned).
 */
static json_t *
decisions_of(const struct nsregd *s, const char *principal, size_t n)
{
	char	 path[512];
	json_t	*o;
	int	 i;

	snprintf(path, sizeof(path), "/v1/decisions?principal=%s&limit=50",
	    principal);
	o = get(s, path);
	for (i = 0; i < 50 &&
	    json_array_size(json_object_get(o, "items")) < n; i++) {
		json_decref(o);
		usleep(100 * 1000);
		o = get(s, path);
	}
	return o;
}

/* What a copy must hold: the objects as a's GETs showed them. */
static void
same_object(const struct nsregd *s, const char *path, const json_t *want)
{
	json_t	*o;

	o = get(s, path);
	cr_expect(json_equal(json_object_get(o, "revision"),
	    json_object_get(want, "revision")), "%s: revision", path);
	cr_expect(json_equal(json_object_get(o, "created_at"),
	    json_object_get(want, "created_at")), "%s: created_at", path);
	cr_expect(json_equal(o, want), "%s differs after the import", path);
	json_decref(o);
}

Test(import, sqlite_to_postgresql_and_back)
{
	struct hcred	 adm, cl;
	struct hresp	 r;
	json_t		*svc, *ep, *pol, *jwks, *o;
	char		 conf[PATH_MAX], back[PATH_MAX + 16], out[4096];
	char		 addr[64], addr2[64], *p, *text;
	long long	 rev;

	if (pgdb[0] == '\0')
		cr_skip_test("NSREG_TEST_PG is not set");

	/* A SQLite registry with rules, records, grants and leases. */
	nsregd_start_on(&a, EXTRA, "sqlite:nsreg.db");
	nsregd_allow_local(&a);
	nsregd_put_policy(&a, "connect-local", "{\"effect\":\"permit\","
	    "\"actions\":[\"connect\"],\"condition\":"
	    "\"principal.trust_domain == 'example.org'\"}");
	hcred_admin(&a, &adm);
	hcred_x509(&a, &cl);
	put(&a, &adm, "/v1/services/db-replication",
	    "{\"vl3\":{\"prefix\":\"10.60.0.0/16\"}}");
	put(&a, &cl, "/v1/endpoints/db-east", "{\"url\":\"tcp://10.1.0.5:5432\","
	    "\"network_service_names\":[\"db-replication\"]}");
	grant_address(&a, "spiffe://example.org/ns/default/sa/client", addr,
	    sizeof(addr));
	cr_assert_str_eq(addr, "10.60.0.1/32");
	grant_address(&a, OTHER, addr2, sizeof(addr2));
	cr_assert_str_eq(addr2, "10.60.0.2/32");
	svc = get(&a, "/v1/services/db-replication");
	ep = get(&a, "/v1/endpoints/db-east");
	pol = get(&a, "/v1/policies/connect-local");
	jwks = get(&a, "/v1/jwks");

	/* a's decisions are in its database before it is copied. */
	o = decisions_of(&a, OTHER, 1);
	cr_assert_geq(json_array_size(json_object_get(o, "items")), 1, "%s",
	    json_dumps(o, 0));
	json_decref(o);

	/* Into PostgreSQL, while a serves. */
	nsregd_path(&a, "pg.conf", conf, sizeof(conf));
	conf_on(&a, pgdb, conf);
	snprintf(back, sizeof(back), "sqlite:%s/nsreg.db", a.dir);
	cr_assert_eq(import(conf, back, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "1 services, 1 endpoints"), "%s", out);
	cr_assert_not_null(strstr(out, "2 grants, 2 vL3 leases"), "%s", out);
	p = strstr(out, "at revision ");
	cr_assert_not_null(p, "%s", out);
	rev = strtoll(p + 12, NULL, 10);
	cr_assert_geq(rev, json_integer_value(json_object_get(ep,
	    "revision")), "%s", out);
	/* Not twice: the target is no longer empty. */
	cr_assert_eq(import(conf, back, out, sizeof(out)), 1, "%s", out);
	cr_assert_not_null(strstr(out, "not empty"), "%s", out);

	/* A new instance on the copy serves what a served. */
	nsregd_start_on(&b, EXTRA, pgdb);
	same_object(&b, "/v1/services/db-replication", svc);
	same_object(&b, "/v1/endpoints/db-east", ep);
	same_object(&b, "/v1/policies/connect-local", pol);
	/* a's grant key still verifies a's grants: its JWKS went along. */
	o = get(&b, "/v1/jwks");
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	cr_expect_not_null(strstr(text, json_string_value(json_object_get(
	    json_array_get(json_object_get(jwks, "keys"), 0), "kid"))),
	    "a's key is not in b's JWKS");
	free(text);
	json_decref(o);
	/* Leases held: the same principal gets its address again. */
	grant_address(&b, OTHER, addr, sizeof(addr));
	cr_expect_str_eq(addr, "10.60.0.2/32");
	/* The decision log went along. */
	o = decisions_of(&b, OTHER, 2);
	cr_expect_gt(json_array_size(json_object_get(o, "items")), 1, "%s",
	    json_dumps(o, 0));
	json_decref(o);
	/* The next write takes the revision after the last copied. */
	hcred_admin(&b, &adm);
	hreq(&b, &adm, "PUT", "/v1/services/after-import", "{}", NULL, NULL,
	    &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_expect_gt(json_integer_value(json_object_get(r.json, "revision")),
	    rev);
	hresp_free(&r);

	/* And back into a new SQLite file, while b serves. */
	nsregd_path(&a, "back.conf", conf, sizeof(conf));
	snprintf(back, sizeof(back), "sqlite:%s/back.db", a.dir);
	conf_on(&a, back, conf);
	cr_assert_eq(import(conf, pgdb, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "2 services, 1 endpoints"), "%s", out);
	nsregd_start_on(&c, EXTRA, back);
	same_object(&c, "/v1/services/db-replication", svc);
	same_object(&c, "/v1/endpoints/db-east", ep);
	o = get(&b, "/v1/services/after-import");
	same_object(&c, "/v1/services/after-import", o);
	json_decref(o);
	grant_address(&c, OTHER, addr, sizeof(addr));
	cr_expect_str_eq(addr, "10.60.0.2/32");
	grant_address(&c, "spiffe://example.org/ns/default/sa/third", addr,
	    sizeof(addr));
	cr_expect_str_eq(addr, "10.60.0.3/32");
	json_decref(svc);
	json_decref(ep);
	json_decref(pol);
	json_decref(jwks);
}

Test(import, bad_sources_are_refused)
{
	char	conf[PATH_MAX], out[4096];

	if (pgdb[0] == '\0')
		cr_skip_test("NSREG_TEST_PG is not set");
	nsregd_start_on(&a, EXTRA, "sqlite:nsreg.db");
	nsregd_path(&a, "pg.conf", conf, sizeof(conf));
	conf_on(&a, pgdb, conf);
	cr_expect_eq(import(conf, "mysql://x/y", out, sizeof(out)), 1, "%s",
	    out);
	cr_expect_not_null(strstr(out, "unknown scheme"), "%s", out);
	cr_expect_eq(import(conf, pgdb, out, sizeof(out)), 1, "%s", out);
	cr_expect_not_null(strstr(out, "into itself"), "%s", out);
	/* a's own database, which its nsregd wrote to at start: not empty. */
	nsregd_path(&a, "nsregd.conf", conf, sizeof(conf));
	cr_expect_eq(import(conf, pgdb, out, sizeof(out)), 1, "%s", out);
	cr_expect_not_null(strstr(out, "not empty"), "%s", out);
}
