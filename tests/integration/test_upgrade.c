/*
 * test_upgrade.c - upgrades and downgrades of the database, through the
 * daemon.  tests/store/fixtures/v2.db was written by nsregd 0.1.0
 * (schema version 2, tests/store/fixtures/make-v2.sh): nsregd starts on
 * a copy of it, migrates it and serves every record as it was written.
 * A database newer than the code is refused with a message that says
 * so, and left as it was.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "store.h"
#include "store_backend.h"

static struct nsregd	srv;

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(upgrade, .fini = teardown, .timeout = 120);

static void
copy_file(const char *from, const char *to)
{
	char	buf[65536];
	ssize_t	n;
	int	in, out;

	in = open(from, O_RDONLY);
	cr_assert_neq(in, -1, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_neq(out, -1, "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	cr_assert_eq(n, 0);
	close(in);
	cr_assert_eq(close(out), 0);
}

/* Stop the server and put a copy of fixture in place of its database. */
static void
use_database(const char *fixture)
{
	char		 db[PATH_MAX], side[PATH_MAX], from[PATH_MAX];
	const char	*src = getenv("NSREG_SRCDIR");

	nsregd_stop(&srv);
	nsregd_path(&srv, "nsreg.db", db, sizeof(db));
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	snprintf(from, sizeof(from), "%s/tests/store/fixtures/%s",
	    src != NULL ? src : ".", fixture);
	copy_file(from, db);
}

static json_t *
get_ok(const char *path)
{
	struct hcred	 admin;
	struct hresp	 r;
	json_t		*o;

	hcred_admin(&srv, &admin);
	cr_assert_eq(hreq(&srv, &admin, "GET", path, NULL, NULL, NULL, &r),
	    0);
	cr_assert_eq(r.status, 200, "%s: %ld %s", path, r.status, r.body);
	o = json_incref(r.json);
	hresp_free(&r);
	return o;
}

static const char *
str_at(json_t *o, const char *a, const char *b)
{
	json_t	*v = json_object_get(o, a);

	if (b != NULL)
		v = json_object_get(v, b);
	return json_is_string(v) ? json_string_value(v) : "(absent)";
}

Test(upgrade, a_v2_database_migrates_and_keeps_every_record)
{
	struct hcred	 admin;
	struct hresp	 r;
	json_t		*o;

	nsregd_start(&srv, NULL);
	use_database("v2.db");
	nsregd_spawn(&srv);

	o = get_ok("/v1/services/db");
	cr_expect_str_eq(str_at(o, "labels", "tier"), "data");
	cr_expect_str_eq(str_at(o, "payload", NULL), "IP");
	cr_expect_str_eq(str_at(o, "vl3", "prefix"), "10.60.0.0/16");
	cr_expect_eq(json_integer_value(json_object_get(o, "revision")), 1);
	json_decref(o);
	o = get_ok("/v1/services/web");
	cr_expect_str_eq(str_at(o, "labels", "app"), "shop");
	cr_expect_str_eq(str_at(o, "labels", "tier"), "front");
	cr_expect_eq(json_integer_value(json_object_get(o, "revision")), 2);
	json_decref(o);
	o = get_ok("/v1/policies/web-may-find-db");
	cr_expect_str_eq(str_at(o, "effect", NULL), "permit");
	cr_expect_str_eq(str_at(o, "condition", NULL),
	    "principal.path.startsWith(\"/ns/web/\")");
	cr_expect_str_eq(str_at(o, "description", NULL), "v2 fixture");
	cr_expect_eq(json_integer_value(json_object_get(o, "revision")), 3);
	json_decref(o);
	o = get_ok("/v1/trust-domains/b.test");
	cr_expect_gt(json_array_size(json_object_get(json_object_get(o,
	    "bundle"), "keys")), 0);
	cr_expect_eq(json_integer_value(json_object_get(o, "revision")), 4);
	json_decref(o);
	o = get_ok("/v1/services");
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 2);
	json_decref(o);

	/* Writes go on from the fixture's last revision. */
	hcred_admin(&srv, &admin);
	cr_assert_eq(hreq(&srv, &admin, "PUT", "/v1/services/after-upgrade",
	    "{\"labels\":{\"x\":\"y\"}}", NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 201, "%s", r.body);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "revision")),
	    5, "%s", r.body);
	hresp_free(&r);
	/* And the migrated database opens again as it is. */
	nsregd_restart(&srv);
	o = get_ok("/v1/services/after-upgrade");
	json_decref(o);
}

Test(upgrade, a_database_newer_than_the_code_is_refused_and_kept)
{
	struct store_options	 opt;
	struct store_migration	*mig;
	struct nsreg_error	 err;
	struct store		*st;
	struct stat		 before, after;
	char			 db[PATH_MAX], url[PATH_MAX + 8], conf[PATH_MAX];
	char			 cmd[PATH_MAX * 3], out[PATH_MAX], text[4096];
	const char		*b = getenv("NSREG_BUILDDIR");
	size_t			 n, i;
	FILE			*f;
	int			 rc;

	nsregd_start(&srv, NULL);
	use_database("v2.db");
	/* A newer nsregd (one more migration) opens it first. */
	for (n = 0; schema_sqlite[n].name != NULL; n++)
		;
	mig = calloc(n + 2, sizeof(*mig));
	cr_assert_not_null(mig);
	for (i = 0; i < n; i++)
		mig[i] = schema_sqlite[i];
	mig[n].version = schema_sqlite[n - 1].version + 1;
	mig[n].name = "9999_from_the_future";
	mig[n].sql = "CREATE TABLE from_the_future (x INTEGER);";
	nsregd_path(&srv, "nsreg.db", db, sizeof(db));
	snprintf(url, sizeof(url), "sqlite:%s", db);
	memset(&opt, 0, sizeof(opt));
	opt.url = url;
	st = store_open_migrations(&opt, mig, &err);
	cr_assert_not_null(st, "%s", err.message);
	store_close(st);
	free(mig);
	cr_assert_eq(stat(db, &before), 0);

	/* This one refuses it, and says why. */
	nsregd_path(&srv, "nsregd.conf", conf, sizeof(conf));
	nsregd_path(&srv, "refused.out", out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "timeout 30 '%s/server/nsregd' -d -f '%s' "
	    ">'%s' 2>&1", b != NULL ? b : ".", conf, out);
	rc = system(cmd);
	cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 1,
	    "nsregd started on a newer database (status %d)", rc);
	f = fopen(out, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	snprintf(cmd, sizeof(cmd), "newer than the %d this nsregd knows",
	    schema_sqlite[i - 1].version);
	cr_expect_not_null(strstr(text, cmd), "%s", text);
	cr_expect_not_null(strstr(text, "run a newer nsregd"), "%s", text);
	cr_assert_eq(stat(db, &after), 0);
	cr_expect_eq(before.st_size, after.st_size);
	cr_expect_eq(before.st_mtime, after.st_mtime, "the refused database "
	    "was written");
}
