/*
 * test_http_framing.c - requests as bytes on the wire (over TLS, no
 * client library to tidy them up): framing (RFC 9112), request-target
 * decoding, parse bounds, If-Match, OPTIONS and Allow.  Every row is a
 * raw request and the status, error code and connection fate it must
 * get, at once.
 */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rawtls.h"
#include "util.h"

#define CLOSES		1	/* the server must close after answering */

struct frame_case {
	const char	*name;
	const char	*req;	/* @TOK@ admin token, @REV@ db's revision */
	int		 status;
	const char	*code;	/* error code, NULL for a success */
	int		 closes;
	const char	*allow;	/* expected Allow, or NULL */
};

static struct nsregd	srv;

static void
setup(void)
{
	struct hcred	admin;
	struct hresp	r;

	nsregd_start(&srv, "max-body 64k\n");
	hcred_admin(&srv, &admin);
	hreq(&srv, &admin, "PUT", "/v1/services/db", "{\"payload\":\"IP\"}",
	    NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	hresp_free(&r);
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(framing, .init = setup, .fini = teardown, .timeout = 240);

/* db's current revision, from its ETag. */
static long long
db_revision(void)
{
	struct hcred	 admin;
	struct hresp	 r;
	const char	*etag;
	long long	 rev;

	hcred_admin(&srv, &admin);
	hreq(&srv, &admin, "GET", "/v1/services/db", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	etag = hresp_header(&r, "ETag");
	cr_assert(etag != NULL && etag[0] == '"');
	rev = strtoll(etag + 1, NULL, 10);
	hresp_free(&r);
	return rev;
}

/* Replace every @TOK@ and @REV@ in in. */
static char *
expand(const char *in)
{
	char		*out, rev[32];
	const char	*p;
	size_t		 o = 0, cap;

	snprintf(rev, sizeof(rev), "%lld", strstr(in, "@REV@") != NULL ?
	    db_revision() : 0LL);
	cap = strlen(in) * 2 + 4096;
	cr_assert((out = malloc(cap)) != NULL);
	for (p = in; *p != '\0'; ) {
		if (strncmp(p, "@TOK@", 5) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s",
			    srv.admin_token);
			p += 5;
		} else if (strncmp(p, "@REV@", 5) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", rev);
			p += 5;
		} else
			out[o++] = *p++;
	}
	out[o] = '\0';
	return out;
}

static void
run_table(const struct frame_case *t, size_t n)
{
	struct rawresp	 r;
	json_t		*j;
	json_error_t	 je;
	const char	*code, *allow;
	char		*req;
	size_t		 i;

	for (i = 0; i < n; i++) {
		req = expand(t[i].req);
		rawtls_exchange(srv.port, req, strlen(req), 10000, &r);
		free(req);
		cr_expect_eq(r.status, t[i].status, "%s: status %d, want %d: "
		    "%s", t[i].name, r.status, t[i].status,
		    r.body != NULL ? r.body : "");
		cr_expect_lt(r.elapsed_ms, 3000, "%s: answered after %ld ms",
		    t[i].name, r.elapsed_ms);
		cr_expect(!r.interim, "%s: an interim response came",
		    t[i].name);
		if (t[i].code != NULL) {
			/* Every error is the JSON error body. */
			j = r.body != NULL ? json_loads(r.body, 0, &je) : NULL;
			code = json_string_value(json_object_get(
			    json_object_get(j, "error"), "code"));
			cr_expect(code != NULL && strcmp(code, t[i].code) == 0,
			    "%s: code %s, want %s (%s)", t[i].name,
			    code ? code : "none", t[i].code,
			    r.body != NULL ? r.body : "");
			cr_expect(rawresp_header(&r, "Content-Type") != NULL &&
			    strncmp(rawresp_header(&r, "Content-Type"),
			    "application/json", 16) == 0, "%s: not JSON",
			    t[i].name);
			json_decref(j);
		}
		if (t[i].closes)
			cr_expect(r.closed, "%s: the connection stayed open",
			    t[i].name);
		if (t[i].allow != NULL) {
			allow = rawresp_header(&r, "Allow");
			cr_expect(allow != NULL &&
			    strcmp(allow, t[i].allow) == 0,
			    "%s: Allow %s, want %s", t[i].name,
			    allow ? allow : "none", t[i].allow);
		}
		rawresp_free(&r);
	}
}

#define GET_DB_H(extra) "GET /v1/services/db HTTP/1.1\r\nHost: 127.0.0.1\r\n" \
	"Authorization: Bearer @TOK@\r\n" extra "\r\n"
#define PUT_DB(extra, body) "PUT /v1/services/db HTTP/1.1\r\n" \
	"Host: 127.0.0.1\r\nAuthorization: Bearer @TOK@\r\n" \
	"Content-Type: application/json\r\n" extra "\r\n" body

/* Item 10: one framing, one Host, one credential, one of each query. */
static const struct frame_case framing_cases[] = {
	{ "two different Content-Length", PUT_DB("Content-Length: 16\r\n"
	    "Content-Length: 2\r\n", "{\"payload\":\"IP\"}"), 400,
	    "invalid_argument", CLOSES, NULL },
	{ "two equal Content-Length", PUT_DB("Content-Length: 16\r\n"
	    "Content-Length: 16\r\n", "{\"payload\":\"IP\"}"), 400,
	    "invalid_argument", CLOSES, NULL },
	{ "Transfer-Encoding with Content-Length", PUT_DB(
	    "Transfer-Encoding: chunked\r\nContent-Length: 16\r\n",
	    "10\r\n{\"payload\":\"IP\"}\r\n0\r\n\r\n"), 400,
	    "invalid_argument", CLOSES, NULL },
	{ "Content-Length then Transfer-Encoding", PUT_DB(
	    "Content-Length: 16\r\nTransfer-Encoding: chunked\r\n",
	    "10\r\n{\"payload\":\"IP\"}\r\n0\r\n\r\n"), 400,
	    "invalid_argument", CLOSES, NULL },
	{ "Transfer-Encoding gzip", PUT_DB("Transfer-Encoding: gzip\r\n",
	    ""), 400, "invalid_argument", CLOSES, NULL },
	{ "Transfer-Encoding chunked twice in one field", PUT_DB(
	    "Transfer-Encoding: chunked, chunked\r\n", ""), 400,
	    "invalid_argument", CLOSES, NULL },
	{ "two Transfer-Encoding fields", PUT_DB(
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
	    ""), 400, "invalid_argument", CLOSES, NULL },
	{ "chunked alone is fine", PUT_DB("Transfer-Encoding: chunked\r\n",
	    "10\r\n{\"payload\":\"IP\"}\r\n0\r\n\r\n"), 200, NULL, 0, NULL },
	{ "no Host in HTTP/1.1", "GET /healthz HTTP/1.1\r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "no Host in HTTP/1.0 is allowed", "GET /healthz HTTP/1.0\r\n\r\n",
	    200, NULL, 0, NULL },
	{ "two Host fields", "GET /healthz HTTP/1.1\r\nHost: a\r\n"
	    "Host: b\r\n\r\n", 400, "invalid_argument", 0, NULL },
	{ "two equal Host fields", "GET /healthz HTTP/1.1\r\nHost: a\r\n"
	    "Host: a\r\n\r\n", 400, "invalid_argument", 0, NULL },
	{ "empty Host", "GET /healthz HTTP/1.1\r\nHost: \r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "Host with a path", "GET /healthz HTTP/1.1\r\nHost: a/b\r\n\r\n",
	    400, "invalid_argument", 0, NULL },
	{ "Host with userinfo", "GET /healthz HTTP/1.1\r\nHost: u@a\r\n\r\n",
	    400, "invalid_argument", 0, NULL },
	{ "two Authorization fields", GET_DB_H("Authorization: Bearer x\r\n"),
	    400, "invalid_argument", 0, NULL },
	{ "two equal Authorization fields",
	    GET_DB_H("Authorization: Bearer @TOK@\r\n"), 400,
	    "invalid_argument", 0, NULL },
	{ "absolute-form target", "GET https://127.0.0.1/healthz HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n\r\n", 400, "invalid_argument", 0, NULL },
	{ "absolute-form http target", "GET http://x/v1/services/db "
	    "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "authority-form target", "CONNECT 127.0.0.1:443 HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n\r\n", 400, "invalid_argument", 0, NULL },
	{ "asterisk-form with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "duplicate limit", "GET /v1/services?limit=1&limit=x HTTP/1.1\r\n"
	    "Host: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "duplicate equal limit", "GET /v1/services?limit=1&limit=1 "
	    "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "duplicate page_token", "GET /v1/services?page_token=&page_token= "
	    "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "duplicate watch", "GET /v1/endpoints?watch=false&watch=true "
	    "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "duplicate principal on grants", "GET /v1/grants?principal=a&"
	    "principal=b HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @TOK@"
	    "\r\n\r\n", 400, "invalid_argument", 0, NULL },
	{ "repeatable service", "GET /v1/endpoints?service=a&service=b "
	    "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 200,
	    NULL, 0, NULL },
	{ "repeatable label", "GET /v1/services?label=a=b&label=c=d "
	    "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 200,
	    NULL, 0, NULL },
	{ "Content-Encoding gzip", PUT_DB("Content-Length: 16\r\n"
	    "Content-Encoding: gzip\r\n", "{\"payload\":\"IP\"}"), 415,
	    "unsupported_media_type", 0, NULL },
	{ "Content-Encoding br", PUT_DB("Content-Length: 16\r\n"
	    "Content-Encoding: br\r\n", "{\"payload\":\"IP\"}"), 415,
	    "unsupported_media_type", 0, NULL },
	{ "Content-Encoding identity then gzip", PUT_DB("Content-Length: 16"
	    "\r\nContent-Encoding: identity\r\nContent-Encoding: gzip\r\n",
	    "{\"payload\":\"IP\"}"), 415, "unsupported_media_type", 0, NULL },
	{ "Content-Encoding identity", PUT_DB("Content-Length: 16\r\n"
	    "Content-Encoding: identity\r\n", "{\"payload\":\"IP\"}"), 200,
	    NULL, 0, NULL },
	{ "Expect 100-continue over max-body", PUT_DB(
	    "Content-Length: 1000000\r\nExpect: 100-continue\r\n", ""), 413,
	    "payload_too_large", CLOSES, NULL },
	{ "Expect 100-continue with a bad credential",
	    "PUT /v1/services/db HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
	    "nope\r\nContent-Type: application/json\r\nContent-Length: 16\r\n"
	    "Expect: 100-continue\r\n\r\n", 401, "unauthenticated", CLOSES,
	    NULL },
	{ "Expect 100-continue without a credential",
	    "PUT /v1/services/db HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 16\r\n"
	    "Expect: 100-continue\r\n\r\n", 401, "unauthenticated", CLOSES,
	    NULL },
	{ "Expect 100-continue on an unknown path",
	    "PUT /v1/nothing HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
	    "@TOK@\r\nContent-Length: 16\r\nExpect: 100-continue\r\n\r\n",
	    404, "not_found", CLOSES, NULL },
	{ "Expect 100-continue, not admin",
	    "PUT /v1/policies/p HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 16\r\n"
	    "Expect: 100-continue\r\n\r\n", 401, "unauthenticated", CLOSES,
	    NULL },
	{ "an unknown expectation", PUT_DB("Content-Length: 16\r\n"
	    "Expect: teapot\r\n", "{\"payload\":\"IP\"}"), 400,
	    "invalid_argument", 0, NULL },
};

Test(framing, framing_and_fields_table)
{
	run_table(framing_cases, sizeof(framing_cases) /
	    sizeof(framing_cases[0]));
}

Test(framing, expect_continue_gets_100_when_admitted)
{
	struct rawresp	r;
	char		*head, *body = "{\"payload\":\"IP\"}";

	head = expand("PUT /v1/services/db HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer @TOK@\r\nContent-Type: application/json\r\n"
	    "Content-Length: 16\r\nExpect: 100-continue\r\n\r\n");
	rawtls_exchange_split(srv.port, head, strlen(head), body,
	    strlen(body), 2000, 10000, &r);
	free(head);
	cr_expect(r.interim, "no 100 Continue");
	cr_expect_eq(r.status, 200, "%d %s", r.status, r.body);
	rawresp_free(&r);
}

#define GET_Q(q) "GET /healthz?" q " HTTP/1.1\r\nHost: x\r\n\r\n"

static char *
repeat(const char *fmt, int n, const char *sep)
{
	char	*out, one[64];
	size_t	 o = 0, cap = (size_t)n * 64 + 1;
	int	 i;

	cr_assert((out = malloc(cap)) != NULL);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(one, sizeof(one), fmt, i);
		o += (size_t)snprintf(out + o, cap - o, "%s%s",
		    i ? sep : "", one);
	}
	return out;
}

/*
 * Item 4: whatever grows the parsing work (parameters, target length,
 * fields, field bytes, segments) is bounded and answered at once, as
 * JSON.
 */
Test(framing, parse_bounds_answer_at_once)
{
	struct {
		const char	*what;
		char		*req;
		int		 status;
	} t[10];
	struct rawresp	 r;
	char		*part, *big;
	size_t		 n = 0, i;

	part = repeat("a%d=1", 64, "&");
	cr_assert(asprintf(&t[n].req, GET_Q("%s"), part) > 0);
	t[n].what = "64 parameters";
	t[n++].status = 200;
	free(part);
	part = repeat("a%d=1", 65, "&");
	cr_assert(asprintf(&t[n].req, GET_Q("%s"), part) > 0);
	t[n].what = "65 parameters";
	t[n++].status = 400;
	free(part);
	part = repeat("a=%d", 440, "&");
	cr_assert(asprintf(&t[n].req, GET_Q("%s"), part) > 0);
	t[n].what = "440 parameters";
	t[n++].status = 400;
	free(part);
	part = repeat("a", 3000, "&");
	cr_assert(asprintf(&t[n].req, GET_Q("%s"), part) > 0);
	t[n].what = "3000 empty parameters in 6 KB";
	t[n++].status = 400;
	free(part);
	cr_assert((big = malloc(9001)) != NULL);
	memset(big, 'a', 9000);
	big[9000] = '\0';
	cr_assert(asprintf(&t[n].req, "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n",
	    big) > 0);
	t[n].what = "a 9000-byte path";
	t[n++].status = 400;
	part = repeat("X-F%d: v\r\n", 70, "");
	cr_assert(asprintf(&t[n].req, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	    "%s\r\n", part) > 0);
	t[n].what = "70 header fields";
	t[n++].status = 400;
	free(part);
	cr_assert(asprintf(&t[n].req, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	    "X-Big: %s\r\n\r\n", big) > 0 && strlen(big) == 9000);
	t[n].what = "one 9000-byte field";
	t[n++].status = 200;
	cr_assert(asprintf(&t[n].req, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	    "X-A: %.5000s\r\nX-B: %.5000s\r\nX-C: %.5000s\r\n\r\n", big, big,
	    big) > 0);
	t[n].what = "15000 bytes of fields";
	t[n++].status = 400;
	part = repeat("s%d", 40, "/");
	cr_assert(asprintf(&t[n].req, "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n",
	    part) > 0);
	t[n].what = "40 path segments";
	t[n++].status = 400;
	free(part);
	free(big);
	for (i = 0; i < n; i++) {
		rawtls_exchange(srv.port, t[i].req, strlen(t[i].req), 10000,
		    &r);
		cr_expect_eq(r.status, t[i].status, "%s: %d %s", t[i].what,
		    r.status, r.body ? r.body : "");
		cr_expect_lt(r.elapsed_ms, 3000, "%s: %ld ms", t[i].what,
		    r.elapsed_ms);
		if (t[i].status == 400)
			cr_expect(r.body != NULL && strstr(r.body,
			    "\"invalid_argument\"") != NULL, "%s: %s",
			    t[i].what, r.body ? r.body : "");
		rawresp_free(&r);
		free(t[i].req);
	}
}

#define GET_P(path) "GET " path " HTTP/1.1\r\nHost: x\r\n" \
	"Authorization: Bearer @TOK@\r\n\r\n"
#define DEL_P(path) "DELETE " path " HTTP/1.1\r\nHost: x\r\n" \
	"Authorization: Bearer @TOK@\r\n\r\n"

/*
 * Item 7: the target is decoded once; NUL, controls, an encoded '/',
 * dot segments, empty segments and names outside the grammar are 400 in
 * every route with a {name}, and in query values.
 */
static const struct frame_case path_cases[] = {
	{ "NUL in a name", DEL_P("/v1/endpoints/victim%00x"), 400,
	    "invalid_argument", 0, NULL },
	{ "NUL at the end", GET_P("/v1/services/db%00"), 400,
	    "invalid_argument", 0, NULL },
	{ "NUL in a literal segment", GET_P("/v1/serv%00ices/db"), 400,
	    "invalid_argument", 0, NULL },
	{ "encoded slash", GET_P("/v1/services/a%2Fb"), 400,
	    "invalid_argument", 0, NULL },
	{ "encoded slash, lower case", GET_P("/v1/services/a%2fb"), 400,
	    "invalid_argument", 0, NULL },
	{ "encoded slash in a trust domain",
	    GET_P("/v1/trust-domains/a%2Fb.org"), 400, "invalid_argument", 0,
	    NULL },
	{ "encoded slash in a grant id", DEL_P("/v1/grants/a%2Fb"), 400,
	    "invalid_argument", 0, NULL },
	{ "NUL in a grant id", GET_P("/v1/grants/g%00"), 400,
	    "invalid_argument", 0, NULL },
	{ "NUL in a policy name", DEL_P("/v1/policies/p%00x"), 400,
	    "invalid_argument", 0, NULL },
	{ "NUL in a trust domain", DEL_P("/v1/trust-domains/a.org%00x"),
	    400, "invalid_argument", 0, NULL },
	{ "NUL before refresh", "POST /v1/grants/g%00/refresh HTTP/1.1\r\n"
	    "Host: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "double encoding", GET_P("/v1/services/db%2500"), 400,
	    "invalid_argument", 0, NULL },
	{ "double-encoded slash", GET_P("/v1/services/a%252Fb"), 400,
	    "invalid_argument", 0, NULL },
	{ "overlong dot dot", GET_P("/v1/services/%C0%AE%C0%AE"), 400,
	    "invalid_argument", 0, NULL },
	{ "overlong slash", GET_P("/v1/services/a%C0%AFb"), 400,
	    "invalid_argument", 0, NULL },
	{ "raw byte that is not ASCII", GET_P("/v1/services/d\xc3\xa9"), 400,
	    "invalid_argument", 0, NULL },
	{ "encoded UTF-8 outside the grammar", GET_P("/v1/services/d%C3%A9"),
	    400, "invalid_argument", 0, NULL },
	{ "dot dot segment", GET_P("/v1/services/.."), 400,
	    "invalid_argument", 0, NULL },
	{ "encoded dot dot", GET_P("/v1/services/%2e%2e"), 400,
	    "invalid_argument", 0, NULL },
	{ "dot dot in the middle", GET_P("/v1/x/../services/db"), 400,
	    "invalid_argument", 0, NULL },
	{ "dot segment", GET_P("/v1/services/./db"), 400,
	    "invalid_argument", 0, NULL },
	{ "trailing slash", GET_P("/v1/services/db/"), 404,
	    "not_found", 0, NULL },
	{ "trailing slash on a list", GET_P("/v1/services/"), 404,
	    "not_found", 0, NULL },
	{ "empty segment", GET_P("/v1//services/db"), 404,
	    "not_found", 0, NULL },
	{ "control character", GET_P("/v1/services/db%01"), 400,
	    "invalid_argument", 0, NULL },
	{ "DEL character", GET_P("/v1/services/db%7F"), 400,
	    "invalid_argument", 0, NULL },
	{ "encoded space", GET_P("/v1/services/d%20b"), 400,
	    "invalid_argument", 0, NULL },
	{ "upper case name", GET_P("/v1/services/DB"), 400,
	    "invalid_argument", 0, NULL },
	{ "bad escape", GET_P("/v1/services/%zz"), 400, "invalid_argument",
	    0, NULL },
	{ "truncated escape", GET_P("/v1/services/db%"), 400,
	    "invalid_argument", 0, NULL },
	{ "truncated escape, one digit", GET_P("/v1/services/db%4"), 400,
	    "invalid_argument", 0, NULL },
	{ "fragment", GET_P("/v1/services/db#x"), 400, "invalid_argument", 0,
	    NULL },
	{ "raw space in the target", "GET /v1/services/d b HTTP/1.1\r\n"
	    "Host: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 400,
	    "invalid_argument", 0, NULL },
	{ "NUL in a query value", GET_P("/v1/services?label=a%00b"), 400,
	    "invalid_argument", 0, NULL },
	{ "NUL in a limit", GET_P("/v1/services?limit=1%00x"), 400,
	    "invalid_argument", 0, NULL },
	{ "NUL in a query key", GET_P("/v1/endpoints?na%00me=x"), 400,
	    "invalid_argument", 0, NULL },
	{ "control in a query value", GET_P("/v1/endpoints?name=a%0Ab"),
	    400, "invalid_argument", 0, NULL },
	{ "bad escape in a query value", GET_P("/v1/endpoints?name=%zz"),
	    400, "invalid_argument", 0, NULL },
	{ "overlong UTF-8 in a query value",
	    GET_P("/v1/endpoints?name=%C0%AE"), 400, "invalid_argument", 0,
	    NULL },
	{ "NUL on anonymous healthz", "GET /healthz?x=%00 HTTP/1.1\r\n"
	    "Host: x\r\n\r\n", 400, "invalid_argument", 0, NULL },
	{ "decoded once: d%62 is db", GET_P("/v1/services/d%62"), 200, NULL,
	    0, NULL },
	{ "plain name", GET_P("/v1/services/db"), 200, NULL, 0, NULL },
	{ "encoded query value", GET_P("/v1/endpoints?name=a%2Fb"), 200,
	    NULL, 0, NULL },
};

Test(framing, path_decoding_table)
{
	run_table(path_cases, sizeof(path_cases) / sizeof(path_cases[0]));
}

Test(framing, nul_in_a_name_deletes_nothing)
{
	struct hcred	 admin;
	struct hresp	 r;
	struct rawresp	 rr;
	char		*req;

	hcred_admin(&srv, &admin);
	hreq(&srv, &admin, "PUT", "/v1/services/victim",
	    "{\"payload\":\"IP\"}", NULL, NULL, &r);
	cr_assert_eq(r.status, 201);
	hresp_free(&r);
	req = expand(DEL_P("/v1/services/victim%00x"));
	rawtls_exchange(srv.port, req, strlen(req), 10000, &rr);
	free(req);
	cr_expect_eq(rr.status, 400);
	rawresp_free(&rr);
	hreq(&srv, &admin, "GET", "/v1/services/victim", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200, "victim was deleted");
	hresp_free(&r);
}

/* Items 10 (If-Match, RFC 9110 section 13.1.1) and 17 (OPTIONS, Allow). */
static const struct frame_case match_cases[] = {
	{ "weak tag of the current revision", PUT_DB("Content-Length: 16\r\n"
	    "If-Match: W/\"@REV@\"\r\n", "{\"payload\":\"IP\"}"), 412,
	    "failed_precondition", 0, NULL },
	{ "weak tags only", PUT_DB("Content-Length: 16\r\n"
	    "If-Match: W/\"@REV@\", W/\"999999\"\r\n",
	    "{\"payload\":\"IP\"}"), 412,
	    "failed_precondition", 0, NULL },
	{ "a list without the revision", PUT_DB("Content-Length: 16\r\n"
	    "If-Match: \"999998\", \"999999\"\r\n",
	    "{\"payload\":\"IP\"}"), 412,
	    "failed_precondition", 0, NULL },
	{ "a list with the revision weak", PUT_DB("Content-Length: 16\r\n"
	    "If-Match: \"999999\", W/\"@REV@\"\r\n",
	    "{\"payload\":\"IP\"}"), 412,
	    "failed_precondition", 0, NULL },
	{ "a list with the revision", PUT_DB("Content-Length: 16\r\n"
	    "If-Match: \"999999\", \"@REV@\"\r\n", "{\"payload\":\"IP\"}"), 200,
	    NULL, 0, NULL },
	{ "a list with the revision first", PUT_DB("Content-Length: 16\r\n"
	    "If-Match: \"@REV@\",\"999999\"\r\n", "{\"payload\":\"IP\"}"), 200,
	    NULL, 0, NULL },
	{ "the revision", PUT_DB("Content-Length: 16\r\n"
	    "If-Match: \"@REV@\"\r\n", "{\"payload\":\"IP\"}"), 200, NULL, 0,
	    NULL },
	{ "star", PUT_DB("Content-Length: 16\r\nIf-Match: *\r\n",
	    "{\"payload\":\"IP\"}"), 200, NULL, 0, NULL },
	{ "star on a missing record", "PUT /v1/services/nosuch HTTP/1.1\r\n"
	    "Host: x\r\nAuthorization: Bearer @TOK@\r\nContent-Type: "
	    "application/json\r\nContent-Length: 16\r\nIf-Match: *\r\n\r\n"
	    "{\"payload\":\"IP\"}", 412, "failed_precondition", 0, NULL },
	{ "not a tag", PUT_DB("Content-Length: 16\r\nIf-Match: 7\r\n",
	    "{\"payload\":\"IP\"}"), 400, "invalid_argument", 0, NULL },
	{ "OPTIONS on a record", "OPTIONS /v1/services/db HTTP/1.1\r\n"
	    "Host: x\r\n\r\n", 204, NULL, 0,
	    "GET, HEAD, PUT, DELETE, OPTIONS" },
	{ "OPTIONS on grants", "OPTIONS /v1/grants HTTP/1.1\r\nHost: x\r\n\r\n",
	    204, NULL, 0, "GET, HEAD, POST, OPTIONS" },
	{ "OPTIONS on refresh", "OPTIONS /v1/grants/g/refresh HTTP/1.1\r\n"
	    "Host: x\r\n\r\n", 204, NULL, 0, "POST, OPTIONS" },
	{ "OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 204, NULL, 0,
	    "GET, HEAD, PUT, POST, DELETE, OPTIONS" },
	{ "OPTIONS on nothing", "OPTIONS /v1/nothing HTTP/1.1\r\nHost: x\r\n"
	    "\r\n", 404, "not_found", 0, NULL },
	{ "405 lists HEAD and OPTIONS", "POST /healthz HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 0\r\n\r\n", 405, "method_not_allowed", 0,
	    "GET, HEAD, OPTIONS" },
	{ "405 on a record", "PATCH /v1/services/db HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer @TOK@\r\n\r\n", 405, "method_not_allowed",
	    0, "GET, HEAD, PUT, DELETE, OPTIONS" },
	{ "HEAD works where Allow says so", "HEAD /v1/services/db HTTP/1.1\r\n"
	    "Host: x\r\nAuthorization: Bearer @TOK@\r\n\r\n", 200, NULL, 0,
	    NULL },
};

Test(framing, if_match_options_and_allow_table)
{
	run_table(match_cases, sizeof(match_cases) / sizeof(match_cases[0]));
}

/*
 * Replies of every shape, one after another on one kept-alive TLS
 * connection, each whole and at once: over 1400 bytes nsregd holds a
 * reply's head for its body (http_tls_push), and a head held when no
 * body follows would wait about 200 ms for the client's next ACK.
 */
static const struct kept_case {
	const char	*name;
	const char	*req;
	int		 status;
	int		 head_only;
	size_t		 min_body;
} kept_cases[] = {
	{ "small GET", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200, 0,
	    2 },
	{ "small HEAD", "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1,
	    0 },
	{ "large GET", "GET /ui/ HTTP/1.1\r\nHost: x\r\n\r\n", 200, 0,
	    1401 },
	{ "large HEAD", "HEAD /ui/ HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1, 0 },
	{ "many records", "GET /ui/app.js HTTP/1.1\r\nHost: x\r\n\r\n", 200,
	    0, 16385 },
	{ "304", "GET /ui/ HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n",
	    304, 0, 0 },
	{ "204", "OPTIONS /v1/services/db HTTP/1.1\r\nHost: x\r\n\r\n", 204,
	    0, 0 },
	{ "error", "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405, 0,
	    20 },
	{ "record", "GET /v1/services/db HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer @TOK@\r\n\r\n", 200, 0, 10 },
};

/* Send kept_cases[i] on c and read its reply: how long it took. */
static long
kept_exchange(struct rawconn *c, size_t i)
{
	const struct kept_case	*k = &kept_cases[i];
	struct rawresp		 r;
	const char		*cl;
	char			*req;
	long			 ms;

	req = expand(k->req);
	cr_assert_eq(rawtls_send(c, req, strlen(req)), 0);
	free(req);
	cr_assert_eq(rawtls_next(c, 5000, k->head_only, &r), 0,
	    "%s: no reply", k->name);
	cr_expect_eq(r.status, k->status, "%s: status %d", k->name, r.status);
	cr_expect_geq(r.body_len, k->min_body, "%s: %zu body bytes", k->name,
	    r.body_len);
	cl = rawresp_header(&r, "Content-Length");
	if (!k->head_only && cl != NULL)
		cr_expect_eq(r.body_len, strtoul(cl, NULL, 10),
		    "%s: %zu bytes of %s", k->name, r.body_len, cl);
	cr_expect(!r.closed, "%s: closed", k->name);
	ms = r.elapsed_ms;
	rawresp_free(&r);
	return ms;
}

Test(framing, kept_alive_replies_come_whole_and_at_once)
{
	const size_t	 n = sizeof(kept_cases) / sizeof(kept_cases[0]);
	struct rawconn	*c;
	long		 ms;
	size_t		 i, j;

	/*
	 * Each shape alone on a connection, four times: after a small
	 * body MHD pushes every reply itself, so only a connection that
	 * never had one shows a head held for nothing (600 ms or more).
	 */
	for (i = 0; i < n; i++) {
		cr_assert((c = rawtls_open(srv.port)) != NULL);
		for (j = 0, ms = 0; j < 4; j++)
			ms += kept_exchange(c, i);
		cr_expect_lt(ms, 400, "%s: 4 replies took %ld ms",
		    kept_cases[i].name, ms);
		rawtls_free(c);
	}
	/* Then every shape after every other one. */
	cr_assert((c = rawtls_open(srv.port)) != NULL);
	for (j = 0; j < 2; j++)
		for (i = 0; i < n; i++)
			(void)kept_exchange(c, i);
	rawtls_free(c);
}

/*
 * Requests arriving in every shape of TLS records and TCP segments, on
 * kept-alive connections.  nsregd reads TLS bytes ahead of the record
 * GnuTLS asks for (http_tls_pull): what it read and GnuTLS has not taken
 * is no longer in the socket, so no readiness event will come for it,
 * and a request left there would get no reply.
 */
#define HZ	"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
#define HZPAD	"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: @PAD@\r\n\r\n"
#define PUTBIG	"PUT /v1/services/db HTTP/1.1\r\nHost: x\r\n" \
	"Authorization: Bearer @TOK@\r\nContent-Type: application/json\r\n" \
	"Content-Length: 40016\r\n\r\n{\"payload\":\"IP\"}@BODY@"
/* A list a caller's rules decide: it waits for the work pool. */
#define LISTJWT	"GET /v1/services HTTP/1.1\r\nHost: x\r\n" \
	"Authorization: Bearer @JWT@\r\n\r\n"
static const struct shape_case {
	const char	*name;
	const char	*reqs[4];	/* @PAD@: 1000 bytes, @BODY@: 40k */
	size_t		 record;	/* 0: one record per request */
	size_t		 segment;
	long		 pause_ms;
} shape_cases[] = {
	{ "two requests in one record", { HZ, HZ }, 16384, 65536, 0 },
	{ "two records in one segment", { HZ, HZ }, 0, 65536, 0 },
	{ "three records past the read-ahead in one segment",
	    { HZPAD, HZPAD, HZPAD }, 0, 65536, 0 },
	{ "a record per byte", { HZ }, 1, 65536, 0 },
	{ "a record per byte in 7-byte segments", { HZ }, 1, 7, 1 },
	{ "a record in 20-byte segments", { HZ }, 16384, 20, 5 },
	{ "two records in 40-byte segments", { HZ, HZ }, 0, 40, 5 },
	{ "two records in 61-byte segments", { HZ, HZ }, 0, 61, 5 },
	{ "a body in 16k records", { PUTBIG }, 16384, 65536, 0 },
	{ "a body in 16k records, 1000-byte segments", { PUTBIG }, 16384,
	    1000, 1 },
	/* The second waits, read, while the first is parked. */
	{ "a request after one that waits, in one segment",
	    { LISTJWT, HZ }, 0, 65536, 0 },
	{ "a request after one that waits, in one record",
	    { LISTJWT, HZ }, 16384, 65536, 0 },
};

/* t with @TOK@, @REV@, @JWT@, @PAD@ and @BODY@ made. */
static char *
shape_request(const char *t)
{
	struct hcred	 jwt;
	const char	*p;
	char		*tok, *out;
	size_t		 o = 0;

	hcred_jwt(&srv, &jwt);
	tok = expand(t);
	cr_assert((out = malloc(strlen(tok) + 3 * 1000 + 40000 +
	    strlen(jwt.bearer) + 1)) != NULL);
	for (p = tok; *p != '\0'; ) {
		if (strncmp(p, "@PAD@", 5) == 0) {
			memset(out + o, 'p', 1000);
			o += 1000;
			p += 5;
		} else if (strncmp(p, "@BODY@", 6) == 0) {
			memset(out + o, ' ', 40000);
			o += 40000;
			p += 6;
		} else if (strncmp(p, "@JWT@", 5) == 0) {
			memcpy(out + o, jwt.bearer, strlen(jwt.bearer));
			o += strlen(jwt.bearer);
			p += 5;
		} else
			out[o++] = *p++;
	}
	out[o] = '\0';
	free(tok);
	return out;
}

Test(framing, requests_in_any_records_and_segments_are_answered)
{
	const size_t		 n = sizeof(shape_cases) / sizeof(shape_cases[0]);
	const struct shape_case	*k;
	struct rawconn		*c;
	struct rawresp		 r;
	char			*all, *one;
	size_t			 i, j, len, lens[64], nrec, nreq;
	int			 round;

	for (i = 0; i < n; i++) {
		k = &shape_cases[i];
		cr_assert((all = calloc(1, 1)) != NULL);
		len = 0;
		for (nreq = 0; nreq < 4 && k->reqs[nreq] != NULL; nreq++) {
			one = shape_request(k->reqs[nreq]);
			lens[nreq] = strlen(one);
			cr_assert((all = realloc(all, len + lens[nreq] + 1)) !=
			    NULL);
			memcpy(all + len, one, lens[nreq] + 1);
			len += lens[nreq];
			free(one);
		}
		/* The records: the requests' own, or cut every k->record. */
		nrec = nreq;
		if (k->record > 0)
			for (nrec = 0; nrec * k->record < len; nrec++) {
				cr_assert_lt(nrec, sizeof(lens) /
				    sizeof(lens[0]));
				lens[nrec] = len - nrec * k->record <
				    k->record ? len - nrec * k->record :
				    k->record;
			}
		cr_assert((c = rawtls_open(srv.port)) != NULL);
		/* Twice: on a new connection, then on a used one. */
		for (round = 0; round < 2; round++) {
			cr_assert_eq(rawtls_send_records(c, all, lens, nrec,
			    k->segment, k->pause_ms), 0, "%s: send", k->name);
			for (j = 0; j < nreq; j++) {
				cr_assert_eq(rawtls_next(c, 5000, 0, &r), 0,
				    "%s: reply %zu of %zu did not come",
				    k->name, j + 1, nreq);
				cr_expect_eq(r.status, 200, "%s: reply %zu: %d "
				    "%s", k->name, j + 1, r.status,
				    r.body != NULL ? r.body : "");
				cr_expect(!r.closed, "%s: closed", k->name);
				rawresp_free(&r);
			}
		}
		rawtls_free(c);
		free(all);
	}
}

/*
 * Replies held up by a client that does not read, then reads through a
 * small window: the heads nsregd keeps for their bodies (http_tls_push)
 * meet a full socket, partly sent or not at all, and must still go out
 * whole and in order.
 */
Test(framing, replies_to_a_reader_that_waits_come_whole_and_in_order)
{
	static const char	*reqs[] = {
		"GET /ui/app.js HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /ui/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	const size_t		 nreq = sizeof(reqs) / sizeof(reqs[0]);
	const int		 rounds = 120;
	struct rawconn		*c;
	struct rawresp		 r;
	const char		*cl;
	size_t			 lens[3], body[3], i;
	char			*all;
	size_t			 o = 0;
	int			 j;

	/* Each reply's length, alone. */
	cr_assert((c = rawtls_open(srv.port)) != NULL);
	for (i = 0; i < nreq; i++) {
		lens[i] = strlen(reqs[i]);
		cr_assert_eq(rawtls_send(c, reqs[i], lens[i]), 0);
		cr_assert_eq(rawtls_next(c, 5000, 0, &r), 0);
		cr_assert_eq(r.status, 200);
		body[i] = r.body_len;
		rawresp_free(&r);
	}
	rawtls_free(c);
	cr_assert_gt(body[0], 16384);

	cr_assert((all = malloc((lens[0] + lens[1] + lens[2]) *
	    (size_t)rounds)) != NULL);
	for (j = 0; j < rounds; j++)
		for (i = 0; i < nreq; i++) {
			memcpy(all + o, reqs[i], lens[i]);
			o += lens[i];
		}
	cr_assert((c = rawtls_open_rcvbuf(srv.port, 2048)) != NULL);
	cr_assert_eq(rawtls_send(c, all, o), 0);
	usleep(300 * 1000);	/* the server fills the socket meanwhile */
	for (j = 0; j < rounds; j++)
		for (i = 0; i < nreq; i++) {
			cr_assert_eq(rawtls_next(c, 5000, 0, &r), 0,
			    "reply %d.%zu did not come", j, i);
			cr_assert_eq(r.status, 200, "reply %d.%zu: %d", j, i,
			    r.status);
			cl = rawresp_header(&r, "Content-Length");
			cr_assert(cl != NULL && strtoul(cl, NULL, 10) ==
			    body[i] && r.body_len == body[i],
			    "reply %d.%zu: %zu bytes, Content-Length %s, "
			    "%zu alone", j, i, r.body_len, cl != NULL ? cl :
			    "none", body[i]);
			rawresp_free(&r);
		}
	rawtls_free(c);
	free(all);
}

Test(framing, delete_if_match_lists)
{
	struct frame_case	t[] = {
		{ "delete, weak tag", "DELETE /v1/services/db HTTP/1.1\r\n"
		    "Host: x\r\nAuthorization: Bearer @TOK@\r\n"
		    "If-Match: W/\"@REV@\"\r\n\r\n", 412,
		    "failed_precondition", 0, NULL },
		{ "delete, list without it", "DELETE /v1/services/db "
		    "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @TOK@\r\n"
		    "If-Match: \"999998\", \"999999\"\r\n\r\n", 412,
		    "failed_precondition", 0, NULL },
		{ "delete, list with it", "DELETE /v1/services/db HTTP/1.1\r\n"
		    "Host: x\r\nAuthorization: Bearer @TOK@\r\n"
		    "If-Match: \"999999\", \"@REV@\"\r\n\r\n", 204, NULL, 0,
		    NULL },
	};

	run_table(t, sizeof(t) / sizeof(t[0]));
}

/*
 * Item 11: what libmicrohttpd refuses before nsregd sees the request
 * (nsreg-api(7) lists it): the status is right and the connection ends.
 * Everything it leaves to nsregd is JSON (the tables above).
 */
static const struct frame_case mhd_cases[] = {
	{ "HTTP/2.0 on HTTP/1.1", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n",
	    505, NULL, CLOSES, NULL },
	{ "HTTP/0.9 version", "GET /healthz HTTP/0.9\r\nHost: x\r\n\r\n",
	    505, NULL, CLOSES, NULL },
	{ "Content-Length not a number", "PUT /v1/services/db HTTP/1.1\r\n"
	    "Host: x\r\nContent-Length: 1x\r\n\r\n", 400, NULL, CLOSES, NULL },
	{ "a header line without a colon", "GET /healthz HTTP/1.1\r\n"
	    "Host: x\r\nnocolon\r\n\r\n", 400, NULL, CLOSES, NULL },
};

Test(framing, what_libmicrohttpd_refuses_itself)
{
	struct rawresp	 r;
	char		*req, *big;

	run_table(mhd_cases, sizeof(mhd_cases) / sizeof(mhd_cases[0]));
	/* A request line past MHD's buffer (32 KiB per connection). */
	cr_assert((big = malloc(40001)) != NULL);
	memset(big, 'a', 40000);
	big[40000] = '\0';
	cr_assert(asprintf(&req, "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n",
	    big) > 0);
	rawtls_exchange(srv.port, req, strlen(req), 10000, &r);
	cr_expect_eq(r.status, 414, "%d", r.status);
	cr_expect(r.closed);
	rawresp_free(&r);
	free(req);
	free(big);
}

/*
 * Item 2: descriptors.  A short head deadline and a small per-address
 * limit, so that the rules show within a test's time.
 */
static struct nsregd	lim;

static void
limits_setup(void)
{
	struct rlimit	rl;

	/* Start low: nsregd must raise its soft limit to the hard one. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max > 512) {
		rl.rlim_cur = 256;
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	nsregd_start(&lim, "max-connections-per-address 8\n"
	    "header-timeout 3s\nconnection-timeout 3s\n");
}

static void
limits_teardown(void)
{
	nsregd_cleanup(&lim);
}

TestSuite(limits, .init = limits_setup, .fini = limits_teardown,
    .timeout = 60);

/* A TCP connection to the server from src (NULL: any), or -1. */
static int
tcp_connect(unsigned short port, const char *src)
{
	struct sockaddr_in	sa;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (src != NULL) {
		inet_pton(AF_INET, src, &sa.sin_addr);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
			close(fd);
			return -1;
		}
	}
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 when the server ended the connection within ms, 0 if it is open. */
static int
ends_within(int fd, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		buf[256];
	ssize_t		n;

	for (;;) {
		if (poll(&pfd, 1, ms) <= 0)
			return 0;
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			return 1;
	}
}

Test(limits, soft_fd_limit_is_raised_to_the_hard_one)
{
	char		 path[64], line[256];
	FILE		*f;
	unsigned long	 soft = 0, hard = 1;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)lim.pid);
	cr_assert((f = fopen(path, "r")) != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Max open files", 14) == 0)
			sscanf(line + 14, "%lu %lu", &soft, &hard);
	fclose(f);
	cr_expect_eq(soft, hard, "soft %lu, hard %lu", soft, hard);
}

Test(limits, max_connections_leaves_descriptors_for_the_rest)
{
	char		 log[PATH_MAX], *text, *p;
	unsigned long	 nofile = 0, max = 0, per = 0;
	size_t		 len;

	nsregd_path(&lim, "nsregd.log", log, sizeof(log));
	cr_assert((text = util_file_read(log, 1 << 20, &len)) != NULL);
	p = strstr(text, "msg=\"connection limits\"");
	cr_assert(p != NULL, "no connection limits line");
	cr_assert_eq(sscanf(p, "msg=\"connection limits\" nofile=%lu "
	    "max_connections=%lu per_address=%lu", &nofile, &max, &per), 3);
	free(text);
	/* auto: below the limit by the headroom, at most 10000. */
	cr_expect_gt(max, 0);
	cr_expect_leq(max + 64 + nofile / 10, nofile, "%lu of %lu", max,
	    nofile);
	cr_expect_leq(max, 10000);
	cr_expect_eq(per, 8);
}

Test(limits, a_dribbled_handshake_is_closed_at_the_head_deadline)
{
	struct timespec	t0, t1;
	int		fd, i, ended = 0;
	long		ms;

	cr_assert((fd = tcp_connect(lim.port, NULL)) >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A TLS record header, then one byte every 200 ms: never idle. */
	cr_assert_eq(write(fd, "\x16\x03\x01\x02\x00", 5), 5);
	for (i = 0; i < 50 && !ended; i++) {
		if (write(fd, "\x01", 1) != 1)
			ended = 1;
		else
			ended = ends_within(fd, 200);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	cr_expect(ended, "the dribbling connection is still open");
	cr_expect_lt(ms, 6000, "closed after %ld ms", ms);
	close(fd);
}

Test(limits, a_dribbled_body_is_closed_at_the_idle_deadline)
{
	struct rawconn	*c;
	const char	*head = "PUT /v1/services/db HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n";
	int		 i, ended = 0;

	cr_assert((c = rawtls_open(lim.port)) != NULL);
	cr_assert_eq(rawtls_send(c, head, strlen(head)), 0);
	/* One body byte every 200 ms: never idle, never done. */
	for (i = 0; i < 40 && !ended; i++) {
		if (rawtls_send(c, " ", 1) == -1)
			ended = 1;
		else
			ended = rawtls_ended(c, 200);
	}
	cr_expect(ended, "the dribbling body is still being read after "
	    "%d ms", i * 200);
	cr_expect_lt(i, 30, "closed after %d ms", i * 200);
	rawtls_free(c);
}

Test(limits, a_silent_connection_is_closed_at_the_head_deadline)
{
	int	fd;

	cr_assert((fd = tcp_connect(lim.port, NULL)) >= 0);
	cr_expect(ends_within(fd, 5500), "the silent connection is open");
	close(fd);
}

Test(limits, one_address_cannot_take_every_connection)
{
	int	fds[8], fd, other, i;
	char	log[PATH_MAX], *text;
	size_t	len;

	for (i = 0; i < 8; i++)
		cr_assert((fds[i] = tcp_connect(lim.port, NULL)) >= 0);
	usleep(100 * 1000);
	/* The ninth from the same address is closed as it arrives. */
	cr_assert((fd = tcp_connect(lim.port, NULL)) >= 0);
	cr_expect(ends_within(fd, 2000), "a ninth connection was kept");
	close(fd);
	/* Another address still gets in. */
	other = tcp_connect(lim.port, "127.0.0.2");
	if (other >= 0) {
		cr_expect(!ends_within(other, 300),
		    "another address was refused");
		close(other);
	}
	for (i = 0; i < 8; i++)
		close(fds[i]);
	usleep(200 * 1000);
	nsregd_path(&lim, "nsregd.log", log, sizeof(log));
	text = util_file_read(log, 1 << 20, &len);
	cr_assert(text != NULL);
	cr_expect(strstr(text, "connection refused: limit reached") != NULL,
	    "the refusal was not logged");
	free(text);
}
