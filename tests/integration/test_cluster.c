/*
 * test_cluster.c - two nsregd instances on one PostgreSQL database serve
 * one registry (DESIGN section 6): a write acknowledged by one is read
 * on the other, revisions are global, preconditions hold across them.
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

#include "harness.h"

static struct nsregd	a, b;
static int		up;

static void
setup(void)
{
	const char	*pg = getenv("NSREG_TEST_PG");
	char		 db[1024];

	if (pg == NULL || pg[0] == '\0')
		return;
	snprintf(db, sizeof(db), "%s%soptions=-csearch_path%%3Dcluster_%d_%ld",
	    pg, strchr(pg, '?') != NULL ? "&" : "?", (int)getpid(),
	    (long)time(NULL));
	nsregd_start_on(&a, NULL, db);
	nsregd_start_on(&b, NULL, db);
	up = 1;
}

static void
teardown(void)
{
	if (!up)
		return;
	nsregd_cleanup(&a);
	nsregd_cleanup(&b);
}

TestSuite(cluster, .init = setup, .fini = teardown, .timeout = 90);

static void
need_pg(void)
{
	if (!up)
		cr_skip_test("NSREG_TEST_PG is not set");
}

/* The revision of a 2xx JSON answer. */
static int64_t
revision_of(struct hresp *r, long want)
{
	cr_assert_eq(r->status, want, "status %ld, want %ld: %s", r->status,
	    want, r->body);
	cr_assert_not_null(r->json, "%s", r->body);
	return json_integer_value(json_object_get(r->json, "revision"));
}

Test(cluster, a_write_on_one_instance_is_read_on_the_other)
{
	struct hcred	 adm_a, adm_b;
	struct hresp	 r;
	int64_t		 rev;

	need_pg();
	hcred_admin(&a, &adm_a);
	hcred_admin(&b, &adm_b);
	hreq(&a, &adm_a, "PUT", "/v1/services/shared", "{\"payload\":"
	    "\"IP\"}", NULL, NULL, &r);
	rev = revision_of(&r, 201);
	hresp_free(&r);
	/* Read on the other instance right after the acknowledgement. */
	hreq(&b, &adm_b, "GET", "/v1/services/shared", NULL, NULL, NULL, &r);
	cr_assert_eq(revision_of(&r, 200), rev);
	cr_assert_str_eq(json_string_value(json_object_get(r.json,
	    "payload")), "IP");
	hresp_free(&r);
	/* Deleted on b: gone on a. */
	hreq(&b, &adm_b, "DELETE", "/v1/services/shared", NULL, NULL, NULL,
	    &r);
	cr_assert(r.status == 200 || r.status == 204, "%ld %s", r.status,
	    r.body);
	hresp_free(&r);
	hreq(&a, &adm_a, "GET", "/v1/services/shared", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 404, "%ld %s", r.status, r.body);
	hresp_free(&r);
}

Test(cluster, revisions_are_global_and_preconditions_hold_across)
{
	struct hcred	 adm_a, adm_b;
	struct hresp	 r;
	char		 hdr[64];
	int64_t		 r1, r2, r3;

	need_pg();
	hcred_admin(&a, &adm_a);
	hcred_admin(&b, &adm_b);
	hreq(&a, &adm_a, "PUT", "/v1/services/s1", "{}", NULL, NULL, &r);
	r1 = revision_of(&r, 201);
	hresp_free(&r);
	hreq(&b, &adm_b, "PUT", "/v1/services/s2", "{}", NULL, NULL, &r);
	r2 = revision_of(&r, 201);
	hresp_free(&r);
	hreq(&a, &adm_a, "PUT", "/v1/services/s1",
	    "{\"payload\":\"ETHERNET\"}", NULL, NULL, &r);
	r3 = revision_of(&r, 200);
	hresp_free(&r);
	cr_expect_lt(r1, r2);
	cr_expect_lt(r2, r3);
	/* b's If-Match at a's old revision fails; at the new one, passes. */
	snprintf(hdr, sizeof(hdr), "If-Match: \"%lld\"", (long long)r1);
	hreq(&b, &adm_b, "PUT", "/v1/services/s1", "{}", NULL, hdr, &r);
	cr_expect_eq(r.status, 412, "%ld %s", r.status, r.body);
	hresp_free(&r);
	snprintf(hdr, sizeof(hdr), "If-Match: \"%lld\"", (long long)r3);
	hreq(&b, &adm_b, "PUT", "/v1/services/s1", "{}", NULL, hdr, &r);
	cr_expect_gt(revision_of(&r, 200), r3);
	hresp_free(&r);
	/* Both list the same two services. */
	hreq(&a, &adm_a, "GET", "/v1/services", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_not_null(strstr(r.body, "\"s1\""));
	cr_expect_not_null(strstr(r.body, "\"s2\""));
	hresp_free(&r);
}
