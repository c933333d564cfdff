/*
 * test_h2.c - the HTTP/2 listeners (listen h2, listen h2c) against a real
 * nsregd: ALPN, the same answers as HTTP/1.1 for the same requests,
 * credentials, watches, multiplexing, limits, reload and resets.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "harness.h"
#include "svid.h"
#include "util.h"

/* Start s with an https listener and h2 (and h2c when h2c) beside it. */
static void
h2_start(struct nsregd *s, struct nsregd *h2, struct nsregd *h2c,
    const char *extra)
{
	char		conf[2048];
	unsigned short	p2, p3;

	p2 = harness_free_port();
	p3 = harness_free_port();
	snprintf(conf, sizeof(conf), "listen h2 127.0.0.1:%u\n"
	    "listen h2c 127.0.0.1:%u\n%s", p2, p3, extra != NULL ? extra : "");
	nsregd_start(s, conf);
	*h2 = *s;
	snprintf(h2->url, sizeof(h2->url), "https://127.0.0.1:%u", p2);
	h2->port = p2;
	h2->http2 = 1;
	if (h2c != NULL) {
		*h2c = *s;
		snprintf(h2c->url, sizeof(h2c->url), "http://127.0.0.1:%u", p3);
		h2c->port = p3;
		h2c->http2 = 1;
	}
}

enum h2_who {
	WHO_NONE = 0,
	WHO_ADMIN,
	WHO_X509,
	WHO_JWT
};

static void
h2_cred(const struct nsregd *s, enum h2_who who, struct hcred *c)
{
	switch (who) {
	case WHO_ADMIN:
		hcred_admin(s, c);
		break;
	case WHO_X509:
		hcred_x509(s, c);
		break;
	case WHO_JWT:
		hcred_jwt(s, c);
		break;
	default:
		hcred_none(c);
		break;
	}
}

/* Headers whose value must be the same on both protocols when present. */
static const char *const h2_same_headers[] = {
	"Content-Type", "ETag", "Location", "Allow", "WWW-Authenticate",
	"Cache-Control", "X-Content-Type-Options", "Content-Length",
};

static const struct h2_case {
	const char	*method;
	const char	*path;
	enum h2_who	 who;
	const char	*body;
	const char	*ctype;
	const char	*header;
	long		 status;
} h2_cases[] = {
	{ "GET", "/healthz", WHO_NONE, NULL, NULL, NULL, 200 },
	{ "GET", "/v1/whoami", WHO_X509, NULL, NULL, NULL, 200 },
	{ "GET", "/v1/whoami", WHO_JWT, NULL, NULL, NULL, 200 },
	{ "GET", "/v1/whoami", WHO_ADMIN, NULL, NULL, NULL, 200 },
	{ "GET", "/v1/whoami", WHO_NONE, NULL, NULL, NULL, 401 },
	{ "GET", "/v1/nothing/here", WHO_ADMIN, NULL, NULL, NULL, 404 },
	{ "DELETE", "/healthz", WHO_NONE, NULL, NULL, NULL, 405 },
	{ "GET", "/v1/services/db", WHO_ADMIN, NULL, NULL, NULL, 200 },
	{ "HEAD", "/v1/services/db", WHO_ADMIN, NULL, NULL, NULL, 200 },
	{ "OPTIONS", "/v1/services/db", WHO_ADMIN, NULL, NULL, NULL, 204 },
	{ "GET", "/v1/services/none", WHO_ADMIN, NULL, NULL, NULL, 404 },
	{ "PUT", "/v1/services/db", WHO_ADMIN, "{\"payload\":\"IP\"}", NULL,
	    "If-Match: \"999\"", 412 },
	{ "PUT", "/v1/services/db", WHO_ADMIN, "{", NULL, NULL, 400 },
	{ "PUT", "/v1/services/db", WHO_ADMIN, "payload", "text/plain", NULL,
	    415 },
	{ "PUT", "/v1/services/db", WHO_ADMIN, "{\"payload\":\"IP\"}", NULL,
	    "Content-Encoding: gzip", 415 },
	{ "GET", "/v1/policies", WHO_X509, NULL, NULL, NULL, 403 },
	{ "PUT", "/v1/trust-domains/example.org", WHO_ADMIN,
	    "{\"bundle_endpoint_url\":\"https://example.org/b\"}", NULL, NULL,
	    409 },
	{ "GET", "/v1/endpoints?service=db", WHO_X509, NULL, NULL, NULL, 200 },
	{ "GET", "/v1/endpoints?service=db&service=x", WHO_JWT, NULL, NULL,
	    NULL, 0 },
	{ "GET", "/v1/services/a%2Fb", WHO_ADMIN, NULL, NULL, NULL, 400 },
	{ "GET", "/v1/services/%zz", WHO_ADMIN, NULL, NULL, NULL, 400 },
	{ "GET", "/v1/%2e%2e/healthz", WHO_NONE, NULL, NULL, NULL, 400 },
	{ "GET", "/v1/endpoints?x=%ff", WHO_X509, NULL, NULL, NULL, 400 },
};

Test(h2, alpn_is_h2_and_every_answer_matches_http1)
{
	struct nsregd	s, h2;
	struct hcred	c;
	struct hresp	a, b;
	size_t		i, k;
	const char	*ha, *hb;
	char		 va[1024];

	h2_start(&s, &h2, NULL, NULL);
	nsregd_allow_local(&s);
	hcred_admin(&s, &c);
	cr_assert_eq(hreq(&s, &c, "PUT", "/v1/services/db",
	    "{\"payload\":\"IP\"}", NULL, NULL, &a), 0);
	cr_assert_eq(a.status, 201, "%s", a.body);
	hresp_free(&a);
	for (i = 0; i < sizeof(h2_cases) / sizeof(h2_cases[0]); i++) {
		const struct h2_case	*t = &h2_cases[i];

		h2_cred(&s, t->who, &c);
		cr_assert_eq(hreq(&s, &c, t->method, t->path, t->body,
		    t->ctype, t->header, &a), 0, "%s %s", t->method, t->path);
		cr_assert_eq(hreq(&h2, &c, t->method, t->path, t->body,
		    t->ctype, t->header, &b), 0, "%s %s over h2", t->method,
		    t->path);
		cr_expect_eq(a.version, CURL_HTTP_VERSION_1_1);
		cr_expect_eq(b.version, CURL_HTTP_VERSION_2_0,
		    "%s %s: ALPN did not give h2", t->method, t->path);
		if (t->status != 0)
			cr_expect_eq(a.status, t->status, "%s %s: %ld %s",
			    t->method, t->path, a.status, a.body);
		cr_expect_eq(b.status, a.status, "%s %s: h2 %ld, http/1.1 %ld",
		    t->method, t->path, b.status, a.status);
		cr_expect_eq(b.len, a.len, "%s %s: %s vs %s", t->method,
		    t->path, b.body, a.body);
		cr_expect_str_eq(b.body, a.body, "%s %s", t->method, t->path);
		for (k = 0; k < sizeof(h2_same_headers) /
		    sizeof(h2_same_headers[0]); k++) {
			ha = hresp_header(&a, h2_same_headers[k]);
			if (ha != NULL)
				snprintf(va, sizeof(va), "%s", ha);
			hb = hresp_header(&b, h2_same_headers[k]);
			if (ha == NULL) {
				cr_expect_null(hb, "%s %s: %s only on h2",
				    t->method, t->path, h2_same_headers[k]);
				continue;
			}
			cr_expect_not_null(hb, "%s %s: no %s on h2", t->method,
			    t->path, h2_same_headers[k]);
			if (hb != NULL)
				cr_expect_str_eq(hb, va, "%s %s: %s",
				    t->method, t->path, h2_same_headers[k]);
		}
		cr_expect_not_null(hresp_header(&b, "X-Request-Id"));
		hresp_free(&a);
		hresp_free(&b);
	}
	nsregd_cleanup(&s);
}

/* Writes answer alike: 201 with Location and ETag, then 204. */
Test(h2, writes_create_and_delete_as_on_http1)
{
	struct nsregd	s, h2;
	struct hcred	c;
	struct hresp	r;

	h2_start(&s, &h2, NULL, NULL);
	nsregd_allow_local(&s);
	hcred_admin(&s, &c);
	cr_assert_eq(hreq(&h2, &c, "PUT", "/v1/services/over-h2",
	    "{\"payload\":\"IP\"}", NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(hresp_header(&r, "Location"), "/v1/services/over-h2");
	cr_expect_not_null(hresp_header(&r, "ETag"));
	hresp_free(&r);
	/* What HTTP/2 wrote, HTTP/1.1 reads. */
	cr_assert_eq(hreq(&s, &c, "GET", "/v1/services/over-h2", NULL, NULL,
	    NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	hresp_free(&r);
	hcred_x509(&s, &c);
	cr_assert_eq(hreq(&h2, &c, "PUT", "/v1/endpoints/ep-h2",
	    "{\"url\":\"tcp://10.0.0.1:5002\","
	    "\"network_service_names\":[\"over-h2\"]}", NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "owner")),
	    "spiffe://example.org/ns/default/sa/client");
	hresp_free(&r);
	cr_assert_eq(hreq(&h2, &c, "DELETE", "/v1/endpoints/ep-h2", NULL,
	    NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 204, "%s", r.body);
	cr_expect_eq(r.len, 0);
	hresp_free(&r);
	nsregd_cleanup(&s);
}

Test(h2, watch_stream_receives_events)
{
	struct nsregd	s, h2;
	struct hcred	c, admin;
	struct hwatch	w;
	struct hresp	r;
	json_t		*e;

	h2_start(&s, &h2, NULL, NULL);
	nsregd_allow_local(&s);
	hcred_admin(&s, &admin);
	cr_assert_eq(hreq(&s, &admin, "PUT", "/v1/services/db",
	    "{\"payload\":\"IP\"}", NULL, NULL, &r), 0);
	hresp_free(&r);
	hcred_x509(&s, &c);
	hwatch_start(&w, &h2, &c, "/v1/endpoints?service=db&watch=true");
	cr_assert_geq(hwatch_wait(&w, 1, 10000), 1, "no bookmark");
	e = hwatch_event(&w, 0);
	cr_expect_str_eq(json_string_value(json_object_get(e, "type")),
	    "BOOKMARK");
	cr_assert_eq(hreq(&s, &c, "PUT", "/v1/endpoints/ep-1",
	    "{\"url\":\"tcp://10.0.0.1:5002\","
	    "\"network_service_names\":[\"db\"]}", NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 201, "%s", r.body);
	hresp_free(&r);
	cr_assert_geq(hwatch_wait(&w, 2, 10000), 2, "no event");
	e = hwatch_event(&w, 1);
	cr_expect_str_eq(json_string_value(json_object_get(e, "type")),
	    "ADDED");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(e,
	    "object"), "name")), "ep-1");
	hwatch_stop(&w);
	/* The reset stream is gone; the server answers on. */
	cr_assert_eq(hreq(&h2, &c, "GET", "/v1/endpoints/ep-1", NULL, NULL,
	    NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	hresp_free(&r);
	nsregd_cleanup(&s);
}

Test(h2, h2c_on_loopback_with_prior_knowledge)
{
	struct nsregd	s, h2, h2c;
	struct hcred	c;
	struct hresp	r;

	h2_start(&s, &h2, &h2c, NULL);
	hcred_jwt(&s, &c);
	cr_assert_eq(hreq(&h2c, &c, "GET", "/v1/whoami", NULL, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.version, CURL_HTTP_VERSION_2_0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "auth")),
	    "jwt");
	hresp_free(&r);
	hcred_admin(&s, &c);
	cr_assert_eq(hreq(&h2c, &c, "GET", "/v1/whoami", NULL, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(json_is_true(json_object_get(r.json, "admin")), 1);
	hresp_free(&r);
	nsregd_cleanup(&s);
}

static size_t
h2_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* ALPN without h2, or no ALPN: the handshake ends with an alert. */
Test(h2, a_client_without_h2_is_refused)
{
	struct nsregd	s, h2;
	char		url[128], ca[PATH_MAX], msg[CURL_ERROR_SIZE];
	CURL		*h;
	CURLcode	 rc;

	h2_start(&s, &h2, NULL, NULL);
	snprintf(url, sizeof(url), "%s/healthz", h2.url);
	h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, nsregd_path(&s, "bundle.pem", ca,
	    sizeof(ca)));
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, msg);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, h2_discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	msg[0] = '\0';
	rc = curl_easy_perform(h);
	cr_expect_eq(rc, CURLE_SSL_CONNECT_ERROR, "%d %s", rc, msg);
	cr_expect(strstr(msg, "no application protocol") != NULL, "%s", msg);
	/* No ALPN at all. */
	curl_easy_setopt(h, CURLOPT_SSL_ENABLE_ALPN, 0L);
	msg[0] = '\0';
	rc = curl_easy_perform(h);
	cr_expect_eq(rc, CURLE_SSL_CONNECT_ERROR, "%d %s", rc, msg);
	cr_expect(strstr(msg, "no application protocol") != NULL, "%s", msg);
	curl_easy_cleanup(h);
	nsregd_cleanup(&s);
}
