/*
 * test_console.c - the console's files through a real nsregd (/ui/,
 * DESIGN section 4 "Console"): types, the Content-Security-Policy and
 * the other security headers, ETag revalidation, the /ui redirect; and
 * POST /v1/policies/check, which validates a rule without storing it.
 * The browser drives the console itself in tests/ui/console.sh.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define UI_CSP	"default-src 'self'; script-src 'self'; " \
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

static struct nsregd	srv;

static void
setup(void)
{
	nsregd_start(&srv, NULL);
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

Test(console, files_types_and_headers)
{
	struct hcred	none;
	struct hresp	r;
	size_t		i;

	hcred_none(&none);
	for (i = 0; i < sizeof(ui_cases) / sizeof(ui_cases[0]); i++) {
		const struct ui_case	*c = &ui_cases[i];

		cr_assert_eq(hreq(&srv, &none, "GET", c->path, NULL, NULL,
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

Test(console, etag_revalidates)
{
	struct hcred	none;
	struct hresp	r;
	char		etag[128], inm[192];

	hcred_none(&none);
	cr_assert_eq(hreq(&srv, &none, "GET", "/ui/app.js", NULL, NULL, NULL,
	    &r), 0);
	cr_assert_eq(r.status, 200);
	snprintf(etag, sizeof(etag), "%s", hresp_header(&r, "ETag"));
	cr_expect_str_eq(hresp_header(&r, "Cache-Control"), "no-cache");
	hresp_free(&r);
	cr_assert(etag[0] == '"', "ETag %s is not quoted", etag);

	snprintf(inm, sizeof(inm), "If-None-Match: \"other\", %s", etag);
	cr_assert_eq(hreq(&srv, &none, "GET", "/ui/app.js", NULL, NULL, inm,
	    &r), 0);
	cr_expect_eq(r.status, 304);
	cr_expect_str_eq(hresp_header(&r, "ETag"), etag);
	hresp_free(&r);

	cr_assert_eq(hreq(&srv, &none, "GET", "/ui/app.js", NULL, NULL,
	    "If-None-Match: \"stale-1\"", &r), 0);
	cr_expect_eq(r.status, 200);
	hresp_free(&r);

	/* Everything else is still never cached. */
	cr_assert_eq(hreq(&srv, &none, "GET", "/healthz", NULL, NULL, NULL,
	    &r), 0);
	cr_expect_str_eq(hresp_header(&r, "Cache-Control"), "no-store");
	cr_expect_null(hresp_header(&r, "Content-Security-Policy"));
	hresp_free(&r);
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
