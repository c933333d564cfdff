/*
 * test_http.c - the HTTP core through a real nsregd: routing, limits,
 * content types, request ids, health, metrics, credentials.
 */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

static struct nsregd	srv;

static void
setup(void)
{
	nsregd_start(&srv, "max-body 64k\nconnection-timeout 2s\n");
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 60);

Test(http, healthz_readyz_and_bundle_need_no_credential)
{
	struct hcred	none;
	struct hresp	r;

	hcred_none(&none);
	cr_assert_eq(hreq(&srv, &none, "GET", "/healthz", NULL, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "status")),
	    "ok");
	hresp_free(&r);
	hreq(&srv, &none, "GET", "/readyz", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	hresp_free(&r);
	hreq(&srv, &none, "GET", "/v1/bundle", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect(json_is_array(json_object_get(r.json, "keys")));
	hresp_free(&r);
}

Test(http, unknown_path_is_404_and_wrong_method_is_405)
{
	struct hcred	admin;
	struct hresp	r;

	hcred_admin(&srv, &admin);
	hreq(&srv, &admin, "GET", "/v1/nothing", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(hresp_error(&r), "not_found");
	hresp_free(&r);
	hreq(&srv, &admin, "POST", "/v1/services/db", "{}", NULL, NULL, &r);
	cr_expect_eq(r.status, 405);
	cr_expect_str_eq(hresp_error(&r), "method_not_allowed");
	cr_expect_not_null(hresp_header(&r, "Allow"));
	cr_expect(strstr(hresp_header(&r, "Allow"), "PUT") != NULL);
	hresp_free(&r);
	hreq(&srv, &admin, "GET", "/v1/services/", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 404);
	hresp_free(&r);
}

Test(http, request_id_is_echoed_or_generated)
{
	struct hcred	none;
	struct hresp	r;

	hcred_none(&none);
	hreq(&srv, &none, "GET", "/healthz", NULL, NULL,
	    "X-Request-Id: abc-123", &r);
	cr_expect_str_eq(hresp_header(&r, "X-Request-Id"), "abc-123");
	hresp_free(&r);
	hreq(&srv, &none, "GET", "/healthz", NULL, NULL, NULL, &r);
	cr_assert_not_null(hresp_header(&r, "X-Request-Id"));
	cr_expect_eq(strlen(hresp_header(&r, "X-Request-Id")), 32);
	hresp_free(&r);
}

Test(http, body_limits_media_type_and_malformed_json)
{
	struct hcred	 admin;
	struct hresp	 r;
	char		*big;

	hcred_admin(&srv, &admin);
	big = malloc(10 * 1024 * 1024 + 1);
	memset(big, ' ', 10 * 1024 * 1024);
	big[0] = '{';
	big[10 * 1024 * 1024 - 1] = '}';
	big[10 * 1024 * 1024] = '\0';
	hreq(&srv, &admin, "PUT", "/v1/services/db", big, NULL, NULL, &r);
	cr_expect_eq(r.status, 413);
	cr_expect_str_eq(hresp_error(&r), "payload_too_large");
	hresp_free(&r);
	free(big);

	hreq(&srv, &admin, "PUT", "/v1/services/db", "payload=IP",
	    "application/x-www-form-urlencoded", NULL, &r);
	cr_expect_eq(r.status, 415);
	cr_expect_str_eq(hresp_error(&r), "unsupported_media_type");
	hresp_free(&r);

	hreq(&srv, &admin, "PUT", "/v1/services/db", "{\"payload\":", NULL,
	    NULL, &r);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(hresp_error(&r), "invalid_argument");
	hresp_free(&r);

	hreq(&srv, &admin, "PUT", "/v1/services/db", "[1,2]", NULL, NULL, &r);
	cr_expect_eq(r.status, 400);
	hresp_free(&r);

	hreq(&srv, &admin, "PUT", "/v1/services/db",
	    "{\"labels\":{\"a\":\"\xff\xfe\"}}", NULL, NULL, &r);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(hresp_error(&r), "invalid_argument");
	hresp_free(&r);

	hreq(&srv, &admin, "PUT", "/v1/services/db",
	    "{\"payload\":\"IP\",\"payload\":\"IP\"}", NULL, NULL, &r);
	cr_expect_eq(r.status, 400);
	hresp_free(&r);

	/* Nothing of the above was stored. */
	hreq(&srv, &admin, "GET", "/v1/services/db", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 404);
	hresp_free(&r);
}

Test(http, no_credential_is_401_with_a_reason)
{
	struct hcred	none, bad;
	struct hresp	r;

	hcred_none(&none);
	hreq(&srv, &none, "GET", "/v1/services", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 401);
	cr_expect_str_eq(hresp_error(&r), "unauthenticated");
	hresp_free(&r);
	hcred_none(&bad);
	snprintf(bad.bearer, sizeof(bad.bearer), "not-the-token");
	hreq(&srv, &bad, "GET", "/v1/services", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 401);
	hresp_free(&r);
}

Test(http, whoami_shows_each_credential)
{
	struct hcred	c;
	struct hresp	r;

	hcred_admin(&srv, &c);
	hreq(&srv, &c, "GET", "/v1/whoami", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "auth")),
	    "admin");
	hresp_free(&r);

	hcred_x509(&srv, &c);
	hreq(&srv, &c, "GET", "/v1/whoami", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "id")),
	    "spiffe://example.org/ns/default/sa/client");
	cr_expect_str_eq(json_string_value(json_object_get(r.json,
	    "trust_domain")), "example.org");
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "path")),
	    "/ns/default/sa/client");
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "auth")),
	    "x509");
	cr_expect(json_is_string(json_object_get(r.json, "expires_at")));
	hresp_free(&r);

	hcred_jwt(&srv, &c);
	hreq(&srv, &c, "GET", "/v1/whoami", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "auth")),
	    "jwt");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(
	    r.json, "claims"), "sub")),
	    "spiffe://example.org/ns/default/sa/client");
	hresp_free(&r);
}

Test(http, metrics_are_prometheus_text)
{
	struct hcred	none;
	struct hresp	r;

	hcred_none(&none);
	hreq(&srv, &none, "GET", "/healthz", NULL, NULL, NULL, &r);
	hresp_free(&r);
	hcred_admin(&srv, &none);	/* /metrics needs a reader */
	hreq(&srv, &none, "GET", "/metrics", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "nsreg_http_requests_total{route=\"/healthz\""
	    ",method=\"GET\",code=\"200\"}") != NULL, "%s", r.body);
	cr_expect(strstr(r.body,
	    "nsreg_http_request_duration_seconds_bucket") != NULL);
	cr_expect(strstr(r.body, "nsreg_endpoints ") != NULL);
	cr_expect(strstr(r.body, "nsreg_watchers ") != NULL);
	cr_expect(strstr(r.body, "nsreg_decisions_total") != NULL);
	hresp_free(&r);
}

Test(http, idle_connection_is_closed_after_the_timeout)
{
	struct sockaddr_in	sa;
	struct timeval		tv = { 10, 0 };
	char			buf[16];
	int			fd;
	ssize_t			n;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(srv.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Half a TLS record, then silence: the server must hang up. */
	cr_assert_eq(write(fd, "\x16\x03\x01", 3), 3);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* A TLS alert may come first; then the connection must end. */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	cr_expect(n == 0 || errno == ECONNRESET,
	    "the server kept the idle connection");
	close(fd);
}
