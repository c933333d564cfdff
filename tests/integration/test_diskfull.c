/*
 * test_diskfull.c - when the decision log cannot be written (the disk is
 * full: emulated with a file size limit on the running nsregd, which
 * fails writes with EFBIG as ENOSPC would), decisions lost are counted in
 * /metrics and logged, /readyz answers 503 with the reason, and all of it
 * recovers by itself once writes succeed again (issue 18 item 14).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

static struct nsregd	srv;

static void
setup(void)
{
	nsregd_start(&srv, NULL);
	nsregd_allow_local(&srv);
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(diskfull, .init = setup, .fini = teardown, .timeout = 90);

/* Set the daemon's soft file size limit (the hard one stays). */
static void
fsize_limit(rlim_t soft)
{
	struct rlimit	rl;

	cr_assert_eq(prlimit(srv.pid, RLIMIT_FSIZE, NULL, &rl), 0);
	rl.rlim_cur = soft;
	cr_assert_eq(prlimit(srv.pid, RLIMIT_FSIZE, &rl, NULL), 0);
}

/* Requests that each make an admission decision. */
static void
decide(const struct hcred *c, int from, int n)
{
	struct hresp	r;
	char		path[64];
	int		i;

	for (i = from; i < from + n; i++) {
		snprintf(path, sizeof(path), "/v1/endpoints/d-%d", i);
		hreq(&srv, c, "PUT", path, "{\"url\":\"tcp://10.0.0.1:1\","
		    "\"network_service_names\":[\"db\"]}", NULL, NULL, &r);
		hresp_free(&r);
	}
}

/* /readyz's status, and its message into msg. */
static long
readyz(char *msg, size_t len)
{
	struct hcred	c;
	struct hresp	r;
	long		st;

	hcred_none(&c);
	cr_assert_eq(hreq(&srv, &c, "GET", "/readyz", NULL, NULL, NULL, &r),
	    0);
	st = r.status;
	msg[0] = '\0';
	if (r.json != NULL)
		snprintf(msg, len, "%s", json_string_value(json_object_get(
		    json_object_get(r.json, "error"), "message")) ?
		    json_string_value(json_object_get(json_object_get(r.json,
		    "error"), "message")) : "");
	hresp_free(&r);
	return st;
}

static double
dropped(void)
{
	struct hcred	 c;
	struct hresp	 r;
	const char	*p;
	double		 v = -1;

	hcred_admin(&srv, &c);
	cr_assert_eq(hreq(&srv, &c, "GET", "/metrics", NULL, NULL, NULL, &r),
	    0);
	if ((p = strstr(r.body, "\nnsreg_decisions_dropped_total ")) != NULL)
		v = strtod(p + 31, NULL);
	hresp_free(&r);
	return v;
}

static int
log_has(const char *s)
{
	char	 path[PATH_MAX], *text;
	int	 yes;

	text = util_file_read(nsregd_path(&srv, "nsregd.log", path,
	    sizeof(path)), 64 * 1024 * 1024, NULL);
	yes = text != NULL && strstr(text, s) != NULL;
	free(text);
	return yes;
}

Test(diskfull, lost_decisions_are_counted_logged_and_fail_readyz)
{
	struct hcred	c;
	char		msg[512];
	long		st = 0;
	int		i;

	hcred_x509(&srv, &c);
	decide(&c, 0, 3);
	cr_assert_eq(readyz(msg, sizeof(msg)), 200, "%s", msg);
	cr_assert_eq(dropped(), 0);

	/* The disk is "full". */
	fsize_limit(1);
	for (i = 0; i < 60; i++) {
		decide(&c, 100 + i * 5, 5);
		if ((st = readyz(msg, sizeof(msg))) == 503)
			break;
		usleep(100 * 1000);
	}
	cr_expect_eq(st, 503, "/readyz stayed %ld while writes fail", st);
	cr_expect(strstr(msg, "decision log cannot be written") != NULL,
	    "%s", msg);
	cr_expect_gt(dropped(), 0, "nsreg_decisions_dropped_total");

	/* Space again: it recovers without help. */
	fsize_limit(RLIM_INFINITY);
	for (i = 0; i < 60; i++) {
		decide(&c, 1000 + i, 1);
		if ((st = readyz(msg, sizeof(msg))) == 200)
			break;
		usleep(100 * 1000);
	}
	cr_expect_eq(st, 200, "/readyz stayed %ld: %s", st, msg);
	/*
	 * The failure is logged as it happens (rate-limited), but the log
	 * file is on the full disk too: the recovery line says it again.
	 */
	cr_expect(log_has("msg=\"decision log writes again\" "
	    "dropped_while_failing="), "no recovery line");
	cr_expect(!log_has("dropped_while_failing=0"));
}
