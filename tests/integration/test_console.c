/*
 * test_console.c - the console's files through a real nsregd (/ui/,
 * DESIGN section 4 "Console"): types, the Content-Security-Policy and
 * the other security headers, ETag revalidation, the /ui redirect; and
 * POST /v1/policies/check, which validates a rule without storing it;
 * the decision log's filters the decisions view asks the server for
 * (since, until); the way in for a browser that presents an admin's
 * X.509-SVID.  The browser drives the console itself in
 * tests/ui/console.sh.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define OPS_ID		"spiffe://example.org/ops"
#define CLIENT_ID	"spiffe://example.org/ns/default/sa/client"

#define UI_CSP	"default-src 'self'; script-src 'self'; " \
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

static struct nsregd	srv;
static struct nsregd	srv_h2;		/* srv through its HTTP/2 listener */

static void
setup(void)
{
	char		conf[256];
	unsigned short	p2;

	p2 = harness_free_port();
	snprintf(conf, sizeof(conf), "admin " OPS_ID "\n"
	    "listen h2 127.0.0.1:%u\n", p2);
	nsregd_start(&srv, conf);
	srv_h2 = srv;
	snprintf(srv_h2.url, sizeof(srv_h2.url), "https://127.0.0.1:%u", p2);
	srv_h2.port = p2;
	srv_h2.http2 = 1;
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(console, .init = setup, .fini = teardown, .timeout = 60);

static const struct ui_case {
	const char	*path;
	long		 status;
	const char	*type;		/* Content-Type prefix, or NULL */
	const char	*body;		/* a substring of the body, or NULL */
} ui_cases[] = {
	{ .path = "/ui/", .status = 200, .type = "text/html",
	  .body = "name=\"token\"" },
	{ .path = "/ui/app.js", .status = 200, .type = "text/javascript",
	  .body = "sessionStorage" },
	{ .path = "/ui/app.css", .status = 200, .type = "text/css",
	  .body = "prefers-color-scheme" },
	{ .path = "/ui/index.html", .status = 200, .type = "text/html" },
	{ .path = "/ui/nope.js", .status = 404, .type = "application/json",
	  .body = "not_found" },
	{ .path = "/ui", .status = 301 },
};

static void	etag_revalidates(const struct nsregd *);

static void
files_types_and_headers(const struct nsregd *s)
{
	struct hcred	none;
	struct hresp	r;
	size_t		i;

	hcred_none(&none);
	for (i = 0; i < sizeof(ui_cases) / sizeof(ui_cases[0]); i++) {
		const struct ui_case	*c = &ui_cases[i];

		cr_assert_eq(hreq(s, &none, "GET", c->path, NULL, NULL,
		    NULL, &r), 0, "%s: no answer", c->path);
		cr_expect_eq(r.status, c->status, "%s: %ld, want %ld",
		    c->path, r.status, c->status);
		if (c->type != NULL)
			cr_expect(strncmp(hresp_header(&r, "Content-Type"),
			    c->type, strlen(c->type)) == 0, "%s: type %s",
			    c->path, hresp_header(&r, "Content-Type"));
		if (c->body != NULL)
			cr_expect(r.body != NULL && strstr(r.body, c->body) !=
			    NULL, "%s: body lacks %s", c->path, c->body);
		if (c->status != 404) {
			cr_expect_str_eq(hresp_header(&r,
			    "Content-Security-Policy"), UI_CSP, "%s", c->path);
			cr_expect_str_eq(hresp_header(&r, "Referrer-Policy"),
			    "no-referrer", "%s", c->path);
			cr_expect_str_eq(hresp_header(&r,
			    "X-Content-Type-Options"), "nosniff", "%s",
			    c->path);
		}
		if (c->status == 301)
			cr_expect_str_eq(hresp_header(&r, "Location"), "/ui/");
		hresp_free(&r);
	}
}

Test(console, files_types_and_headers)
{
	files_types_and_headers(&srv);
}

/* The same files, types and headers through listen h2. */
Test(console, files_over_http2)
{
	struct hcred	none;
	struct hresp	r;

	files_types_and_headers(&srv_h2);
	hcred_none(&none);
	cr_assert_eq(hreq(&srv_h2, &none, "GET", "/ui/", NULL, NULL, NULL,
	    &r), 0);
	cr_expect(strncmp(r.headers, "HTTP/2 200", 10) == 0, "%.40s",
	    r.headers);
	hresp_free(&r);
	etag_revalidates(&srv_h2);
}

static void
etag_revalidates(const struct nsregd *s)
{
	struct hcred	none;
	struct hresp	r;
	char		etag[128], inm[192];

	hcred_none(&none);
	cr_assert_eq(hreq(s, &none, "GET", "/ui/app.js", NULL, NULL, NULL,
	    &r), 0);
	cr_assert_eq(r.status, 200);
	snprintf(etag, sizeof(etag), "%s", hresp_header(&r, "ETag"));
	cr_expect_str_eq(hresp_header(&r, "Cache-Control"), "no-cache");
	hresp_free(&r);
	cr_assert(etag[0] == '"', "ETag %s is not quoted", etag);

	snprintf(inm, sizeof(inm), "If-None-Match: \"other\", %s", etag);
	cr_assert_eq(hreq(s, &none, "GET", "/ui/app.js", NULL, NULL, inm,
	    &r), 0);
	cr_expect_eq(r.status, 304);
	cr_expect_str_eq(hresp_header(&r, "ETag"), etag);
	hresp_free(&r);

	cr_assert_eq(hreq(s, &none, "GET", "/ui/app.js", NULL, NULL,
	    "If-None-Match: \"stale-1\"", &r), 0);
	cr_expect_eq(r.status, 200);
	hresp_free(&r);

	/* Everything else is still never cached. */
	cr_assert_eq(hreq(s, &none, "GET", "/healthz", NULL, NULL, NULL,
	    &r), 0);
	cr_expect_str_eq(hresp_header(&r, "Cache-Control"), "no-store");
	cr_expect_null(hresp_header(&r, "Content-Security-Policy"));
	hresp_free(&r);
}

Test(console, etag_revalidates)
{
	etag_revalidates(&srv);
}

static const struct check_case {
	const char	*body;
	long		 status;
	const char	*field;		/* of the 400, or NULL */
	const char	*message;	/* a substring of it */
} check_cases[] = {
	{ .body = "{\"effect\":\"permit\",\"actions\":[\"connect\"],"
	  "\"condition\":\"principal.trust_domain == 'example.org'\"}",
	  .status = 200 },
	{ .body = "{\"name\":\"try-1\",\"effect\":\"forbid\","
	  "\"actions\":[\"find\"],\"condition\":\"true\",\"mode\":\"audit\"}",
	  .status = 200 },
	{ .body = "{\"effect\":\"permit\",\"actions\":[\"connect\"],"
	  "\"condition\":\"principal.trust_domain == \"}",
	  .status = 400, .field = "condition", .message = "1:27:" },
	{ .body = "{\"effect\":\"permit\",\"actions\":[\"connect\"],"
	  "\"condition\":\"true &&\\n  (1 +\"}",
	  .status = 400, .field = "condition", .message = "2:" },
	{ .body = "{\"effect\":\"permit\",\"condition\":\"true\"}",
	  .status = 400, .field = "actions", .message = "required" },
	{ .body = "{\"effect\":\"maybe\",\"actions\":[\"connect\"]}",
	  .status = 400, .field = "effect" },
};

Test(console, policies_check)
{
	struct hcred	admin, x509;
	struct hresp	r;
	size_t		i;

	hcred_admin(&srv, &admin);
	hcred_x509(&srv, &x509);
	for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case	*c = &check_cases[i];
		json_t			*e;

		cr_assert_eq(hreq(&srv, &admin, "POST", "/v1/policies/check",
		    c->body, NULL, NULL, &r), 0);
		cr_expect_eq(r.status, c->status, "case %zu: %ld: %s", i,
		    r.status, r.body);
		if (c->status == 200)
			cr_expect(json_is_true(json_object_get(r.json, "ok")),
			    "case %zu: %s", i, r.body);
		e = json_object_get(r.json, "error");
		if (c->field != NULL)
			cr_expect_str_eq(json_string_value(json_object_get(e,
			    "field")), c->field, "case %zu: %s", i, r.body);
		if (c->message != NULL)
			cr_expect(strstr(json_string_value(json_object_get(e,
			    "message")), c->message) != NULL, "case %zu: %s",
			    i, r.body);
		hresp_free(&r);
	}
	/* Nothing was stored. */
	cr_assert_eq(hreq(&srv, &admin, "GET", "/v1/policies/try-1", NULL,
	    NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 404);
	hresp_free(&r);
	/* Admin only. */
	cr_assert_eq(hreq(&srv, &x509, "POST", "/v1/policies/check",
	    check_cases[0].body, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 403, "%ld: %s", r.status, r.body);
	hresp_free(&r);
}

/* The ids of the decisions listed at path (admin), newest first. */
static json_t *
decisions(const char *path, long want)
{
	struct hcred	 admin;
	struct hresp	 r;
	json_t		*items;

	hcred_admin(&srv, &admin);
	cr_assert_eq(hreq(&srv, &admin, "GET", path, NULL, NULL, NULL, &r),
	    0);
	cr_assert_eq(r.status, want, "%s: %ld %s", path, r.status, r.body);
	items = json_incref(want == 200 ? json_object_get(r.json, "items") :
	    json_object_get(r.json, "error"));
	hresp_free(&r);
	return items;
}

/* Whether the items name service svc (each a denied find of its own). */
static int
has_service(const json_t *items, const char *svc)
{
	const json_t	*e;
	size_t		 i;

	json_array_foreach(items, i, e)
		if (strcmp(json_string_value(json_object_get(e, "service")),
		    svc) == 0)
			return 1;
	return 0;
}

static void
stamp(int64_t ms, char *buf, size_t len)
{
	util_rfc3339_format(ms, buf, len);
}

static const struct time_case {
	const char	*query;
	const char	*field;
} bad_time_cases[] = {
	{ "?since=yesterday", "since" },
	{ "?since=", "since" },
	{ "?since=2026-11-27", "since" },
	{ "?since=2026-11-27T16:31:14", "since" },
	{ "?since=2026-02-30T00:00:00Z", "since" },
	{ "?since=2026-11-27T16:31:14.Z", "since" },
	{ "?since=1764259874", "since" },
	/* An unencoded '+' is a space in a query. */
	{ "?since=2026-11-27T16:31:14+01:00", "since" },
	{ "?until=2026-11-27%2016:31:14Z", "until" },
	{ "?until=2026-11-27T25:00:00Z", "until" },
	{ "?since=2026-11-27T16:31:14Z&until=2026-11-27T16:31:13Z",
	  "until" },
};

Test(console, decisions_filtered_by_time_on_the_server)
{
	struct hcred	 client;
	struct hresp	 r;
	json_t		*items;
	char		 t0[UTIL_RFC3339_MAX], mid[UTIL_RFC3339_MAX];
	char		 end[UTIL_RFC3339_MAX], path[512], off[64];
	int64_t		 start, m;
	size_t		 i;

	hcred_x509(&srv, &client);
	/* Without rules every find is denied: one entry per service. */
	start = util_now_ms() - 1000;
	cr_assert_eq(hreq(&srv, &client, "GET", "/v1/services/early", NULL,
	    NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 403);
	hresp_free(&r);
	usleep(600 * 1000);
	m = util_now_ms();
	usleep(600 * 1000);
	cr_assert_eq(hreq(&srv, &client, "GET", "/v1/services/late", NULL,
	    NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 403);
	hresp_free(&r);
	stamp(start, t0, sizeof(t0));
	stamp(m, mid, sizeof(mid));
	stamp(util_now_ms() + 1000, end, sizeof(end));

	snprintf(path, sizeof(path), "/v1/decisions?since=%s", mid);
	items = decisions(path, 200);
	cr_expect(has_service(items, "late") && !has_service(items, "early"),
	    "%s", path);
	json_decref(items);
	snprintf(path, sizeof(path), "/v1/decisions?until=%s", mid);
	items = decisions(path, 200);
	cr_expect(!has_service(items, "late") && has_service(items, "early"),
	    "%s", path);
	json_decref(items);
	snprintf(path, sizeof(path), "/v1/decisions?since=%s&until=%s", t0,
	    end);
	items = decisions(path, 200);
	cr_expect(has_service(items, "late") && has_service(items, "early"),
	    "%s", path);
	json_decref(items);
	/* With the other filters, all on the server. */
	snprintf(path, sizeof(path), "/v1/decisions?since=%s&until=%s"
	    "&decision=deny&action=find&principal=" CLIENT_ID "&limit=1", t0,
	    end);
	items = decisions(path, 200);
	cr_expect_eq(json_array_size(items), 1);
	cr_expect(has_service(items, "late"), "%s", path);
	json_decref(items);
	snprintf(path, sizeof(path), "/v1/decisions?since=%s&decision=allow",
	    t0);
	items = decisions(path, 200);
	cr_expect(!has_service(items, "late") && !has_service(items, "early"),
	    "%s", path);
	json_decref(items);
	/* The same instant one hour east, its '+' percent-encoded. */
	stamp(m + 3600 * 1000, off, sizeof(off));
	off[strlen(off) - 1] = '\0';
	snprintf(path, sizeof(path), "/v1/decisions?since=%s%%2B01:00", off);
	items = decisions(path, 200);
	cr_expect(has_service(items, "late") && !has_service(items, "early"),
	    "%s", path);
	json_decref(items);

	for (i = 0; i < sizeof(bad_time_cases) / sizeof(bad_time_cases[0]);
	    i++) {
		snprintf(path, sizeof(path), "/v1/decisions%s",
		    bad_time_cases[i].query);
		items = decisions(path, 400);
		cr_expect_str_eq(json_string_value(json_object_get(items,
		    "code")), "invalid_argument", "%s", path);
		cr_expect_str_eq(json_string_value(json_object_get(items,
		    "field")), bad_time_cases[i].field, "%s", path);
		json_decref(items);
	}
}

/*
 * A browser that presents an X.509-SVID listed with admin needs no
 * token: whoami says admin, and the calls of every view answer.  One
 * that presents another SVID sees what the API lets it see.
 */
Test(console, an_admin_certificate_needs_no_token)
{
	struct hcred	 ops, client;
	struct hresp	 r;
	static const char *const paths[] = { "/v1/decisions?limit=1",
	    "/v1/policies", "/v1/trust-domains", "/metrics" };
	size_t		 i;

	hcred_issue_x509(&srv, OPS_ID, 0, &ops);
	hcred_x509(&srv, &client);
	cr_assert_eq(hreq(&srv, &ops, "GET", "/v1/whoami", NULL, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect(json_is_true(json_object_get(r.json, "admin")), "%s",
	    r.body);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "auth")),
	    "x509");
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "id")),
	    OPS_ID);
	hresp_free(&r);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		cr_assert_eq(hreq(&srv, &ops, "GET", paths[i], NULL, NULL,
		    NULL, &r), 0);
		cr_expect_eq(r.status, 200, "%s: %ld", paths[i], r.status);
		hresp_free(&r);
		cr_assert_eq(hreq(&srv, &client, "GET", paths[i], NULL, NULL,
		    NULL, &r), 0);
		cr_expect_eq(r.status, 403, "%s as a workload: %ld", paths[i],
		    r.status);
		hresp_free(&r);
	}
	cr_assert_eq(hreq(&srv, &client, "GET", "/v1/whoami", NULL, NULL,
	    NULL, &r), 0);
	cr_expect(json_is_false(json_object_get(r.json, "admin")), "%s",
	    r.body);
	hresp_free(&r);
}
