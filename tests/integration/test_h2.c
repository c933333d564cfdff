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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <nghttp2/nghttp2.h>

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

/* Many requests at once: one connection, streams side by side. */
Test(h2, concurrent_streams_share_one_connection)
{
	enum { N = 40 };
	struct nsregd	 s, h2;
	struct hcred	 c;
	CURLM		*m;
	CURL		*h[N];
	CURLMsg		*msg;
	char		 url[128], ca[PATH_MAX];
	struct hresp	 r;
	const char	*p;
	char		*log;
	long		 status, conns, total = 0;
	int		 running, left, i, ok = 0;

	h2_start(&s, &h2, NULL, NULL);
	hcred_x509(&s, &c);
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
	nsregd_path(&s, "bundle.pem", ca, sizeof(ca));
	snprintf(url, sizeof(url), "%s/v1/whoami", h2.url);
	for (i = 0; i < N; i++) {
		h[i] = curl_easy_init();
		curl_easy_setopt(h[i], CURLOPT_URL, url);
		curl_easy_setopt(h[i], CURLOPT_CAINFO, ca);
		curl_easy_setopt(h[i], CURLOPT_SSLCERT, c.cert);
		curl_easy_setopt(h[i], CURLOPT_SSLKEY, c.key);
		curl_easy_setopt(h[i], CURLOPT_HTTP_VERSION,
		    CURL_HTTP_VERSION_2TLS);
		curl_easy_setopt(h[i], CURLOPT_PIPEWAIT, 1L);
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, h2_discard);
		curl_easy_setopt(h[i], CURLOPT_TIMEOUT_MS, 30000L);
		curl_multi_add_handle(m, h[i]);
	}
	do {
		curl_multi_perform(m, &running);
		if (running > 0)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	} while (running > 0);
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->data.result == CURLE_OK)
			ok++;
	cr_expect_eq(ok, N, "%d of %d transfers completed", ok, N);
	for (i = 0; i < N; i++) {
		status = conns = 0;
		curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h[i], CURLINFO_NUM_CONNECTS, &conns);
		cr_expect_eq(status, 200, "transfer %d: %ld", i, status);
		total += conns;
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
	}
	curl_multi_cleanup(m);
	cr_expect_eq(total, 1, "%ld connections for %d requests", total, N);
	/* Metrics and the access log carry the protocol. */
	hcred_admin(&s, &c);
	cr_assert_eq(hreq(&s, &c, "GET", "/metrics", NULL, NULL, NULL, &r),
	    0);
	cr_assert_eq(r.status, 200);
	p = strstr(r.body, "nsreg_http_protocol_requests_total{proto="
	    "\"HTTP/2\"} ");
	cr_assert_not_null(p, "no HTTP/2 request count");
	cr_expect_geq(strtol(strchr(p, '}') + 2, NULL, 10), N);
	cr_expect_not_null(strstr(r.body, "nsreg_http_protocol_requests_total"
	    "{proto=\"HTTP/1.1\"} "), "%s", r.body);
	hresp_free(&r);
	log = util_file_read(nsregd_path(&s, "nsregd.log", ca, sizeof(ca)),
	    1 << 24, NULL);
	cr_assert_not_null(log);
	cr_expect_not_null(strstr(log, "proto=HTTP/2 method=GET "
	    "path=/v1/whoami status=200"));
	free(log);
	nsregd_cleanup(&s);
}

struct h2_upload {
	size_t	left;
};

static size_t
h2_upload_read(char *buf, size_t size, size_t n, void *arg)
{
	struct h2_upload	*u = arg;
	size_t			 k = size * n < u->left ? size * n : u->left;

	memset(buf, ' ', k);
	u->left -= k;
	return k;
}

/*
 * Past max-body: 413 with HTTP/1.1's body, announced (content-length) or
 * not; the connection serves the next request.
 */
Test(h2, max_body_is_413_and_the_connection_goes_on)
{
	struct nsregd		 s, h2;
	struct hcred		 c;
	struct hresp		 a, b;
	struct h2_upload	 up;
	struct curl_slist	*hdrs = NULL;
	char			 big[8193], url[128], ca[PATH_MAX], auth[300];
	CURL			*h;
	long			 status = 0, conns = -1;

	h2_start(&s, &h2, NULL, "max-body 4k\n");
	hcred_admin(&s, &c);
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(hreq(&s, &c, "PUT", "/v1/services/big", big, NULL, NULL,
	    &a), 0);
	cr_assert_eq(hreq(&h2, &c, "PUT", "/v1/services/big", big, NULL,
	    NULL, &b), 0);
	cr_expect_eq(a.status, 413);
	cr_expect_eq(b.status, 413);
	cr_expect_str_eq(b.body, a.body);
	hresp_free(&a);
	hresp_free(&b);
	/* No content-length: counted as it comes. */
	h = curl_easy_init();
	snprintf(url, sizeof(url), "%s/v1/services/big", h2.url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c.bearer);
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, nsregd_path(&s, "bundle.pem", ca,
	    sizeof(ca)));
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, h2_upload_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, h2_discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
	up.left = 64 * 1024;
	cr_expect_eq(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	cr_expect_eq(status, 413);
	/* The same connection goes on. */
	curl_easy_setopt(h, CURLOPT_UPLOAD, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	snprintf(url, sizeof(url), "%s/healthz", h2.url);
	curl_easy_setopt(h, CURLOPT_URL, url);
	cr_expect_eq(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
	cr_expect_eq(status, 200);
	cr_expect_eq(conns, 0, "a new connection after the 413");
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	/* Nothing was written. */
	cr_assert_eq(hreq(&h2, &c, "GET", "/v1/services/big", NULL, NULL,
	    NULL, &b), 0);
	cr_expect_eq(b.status, 404);
	hresp_free(&b);
	nsregd_cleanup(&s);
}

/* The serial number of the certificate a new connection gets. */
static void
h2_server_serial(const struct nsregd *h2, char *out, size_t len)
{
	struct curl_certinfo	*ci = NULL;
	struct curl_slist	*sl;
	char			 url[128], ca[PATH_MAX];
	CURL			*h;

	out[0] = '\0';
	h = curl_easy_init();
	snprintf(url, sizeof(url), "%s/healthz", h2->url);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, nsregd_path(h2, "bundle.pem", ca,
	    sizeof(ca)));
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, h2_discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	if (curl_easy_perform(h) == CURLE_OK &&
	    curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) == CURLE_OK &&
	    ci != NULL && ci->num_of_certs > 0)
		for (sl = ci->certinfo[0]; sl != NULL; sl = sl->next)
			if (strncmp(sl->data, "Serial Number:", 14) == 0)
				snprintf(out, len, "%s", sl->data + 14);
	curl_easy_cleanup(h);
}

/*
 * SIGHUP with a new server certificate: new connections get it, an open
 * HTTP/2 connection goes on.
 */
Test(h2, sighup_reloads_the_certificate_and_keeps_connections)
{
	struct nsregd		 s, h2;
	struct hcred		 c;
	struct svid_dev		 dev;
	struct nsreg_error	 err;
	char			 before[256], after[256], url[128];
	char			 ca[PATH_MAX], path[PATH_MAX];
	CURL			*h;
	long			 status = 0, conns = -1;
	int			 i;

	h2_start(&s, &h2, NULL, NULL);
	hcred_x509(&s, &c);
	h = curl_easy_init();
	snprintf(url, sizeof(url), "%s/v1/whoami", h2.url);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, nsregd_path(&s, "bundle.pem", ca,
	    sizeof(ca)));
	curl_easy_setopt(h, CURLOPT_SSLCERT, c.cert);
	curl_easy_setopt(h, CURLOPT_SSLKEY, c.key);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, h2_discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	cr_assert_eq(curl_easy_perform(h), CURLE_OK);
	h2_server_serial(&h2, before, sizeof(before));
	cr_assert(before[0] != '\0', "no certificate information");
	/* A new server certificate from the same CA. */
	unlink(nsregd_path(&s, "server.pem", path, sizeof(path)));
	unlink(nsregd_path(&s, "server.key", path, sizeof(path)));
	memset(&dev, 0, sizeof(dev));
	dev.dir = s.dir;
	dev.trust_domain = "example.org";
	dev.server_id = "spiffe://example.org/nsregd";
	dev.client_id = "spiffe://example.org/ns/default/sa/client";
	dev.audience = "spiffe://example.org/nsregd";
	cr_assert_eq(svid_dev_ensure(&dev, util_now_ms(), &err), 0, "%s",
	    err.message);
	nsregd_signal(&s, SIGHUP);
	for (i = 0; i < 100; i++) {
		h2_server_serial(&h2, after, sizeof(after));
		if (after[0] != '\0' && strcmp(after, before) != 0)
			break;
		usleep(100 * 1000);
	}
	cr_expect(after[0] != '\0' && strcmp(after, before) != 0,
	    "still serial %s after SIGHUP", before);
	/* The connection opened before the reload answers on. */
	cr_expect_eq(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
	cr_expect_eq(status, 200);
	cr_expect_eq(conns, 0, "the open connection was dropped");
	curl_easy_cleanup(h);
	nsregd_cleanup(&s);
}

/* A small nghttp2 client over h2c, to send what curl will not. */
struct h2_raw {
	int		 fd;
	nghttp2_session	*ng;
	const char	*body;
	size_t		 off, len;
	int		 hold;		/* stop after off bytes */
	char		 status[8];
	int		 closed;
	size_t		 window;	/* 0: default, auto updates */
	int		 consume;	/* give the window back */
	size_t		 got;		/* DATA bytes received */
	size_t		 unconsumed;
	char		 data[256 * 1024];
};

static int
h2_raw_data(nghttp2_session *ng, uint8_t flags, int32_t sid,
    const uint8_t *data, size_t len, void *arg)
{
	struct h2_raw	*r = arg;

	(void)flags;
	if (r->got + len < sizeof(r->data)) {
		memcpy(r->data + r->got, data, len);
		r->data[r->got + len] = '\0';
	}
	r->got += len;
	r->unconsumed += len;
	if (r->window > 0 && r->consume) {
		nghttp2_session_consume(ng, sid, r->unconsumed);
		r->unconsumed = 0;
	}
	return 0;
}

static ssize_t
h2_raw_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
    void *arg)
{
	struct h2_raw	*r = arg;
	ssize_t		 n;

	(void)ng;
	(void)flags;
	n = send(r->fd, data, len, MSG_NOSIGNAL);
	return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int
h2_raw_header(nghttp2_session *ng, const nghttp2_frame *f,
    const uint8_t *name, size_t namelen, const uint8_t *value,
    size_t valuelen, uint8_t flags, void *arg)
{
	struct h2_raw	*r = arg;

	(void)ng;
	(void)f;
	(void)flags;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0 &&
	    valuelen < sizeof(r->status)) {
		memcpy(r->status, value, valuelen);
		r->status[valuelen] = '\0';
	}
	return 0;
}

static int
h2_raw_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *arg)
{
	(void)ng;
	(void)sid;
	(void)code;
	((struct h2_raw *)arg)->closed = 1;
	return 0;
}

static ssize_t
h2_raw_body(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct h2_raw	*r = arg;
	size_t		 n = r->len - r->off;

	(void)ng;
	(void)sid;
	(void)src;
	if (r->hold > 0 && r->off >= (size_t)r->hold)
		return NGHTTP2_ERR_DEFERRED;
	if (r->hold > 0 && n > (size_t)r->hold - r->off)
		n = (size_t)r->hold - r->off;
	if (n > len)
		n = len;
	memcpy(buf, r->body + r->off, n);
	r->off += n;
	if (r->off == r->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* Read and send until ms pass or the stream closes. */
static void
h2_raw_pump(struct h2_raw *r, int ms)
{
	struct pollfd	pfd;
	uint8_t		buf[16384];
	ssize_t		n;
	int64_t		end = util_mono_us() / 1000 + ms;

	while (!r->closed && util_mono_us() / 1000 < end) {
		cr_assert_eq(nghttp2_session_send(r->ng), 0);
		pfd.fd = r->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) != 1)
			continue;
		if ((n = recv(r->fd, buf, sizeof(buf), 0)) <= 0)
			break;
		cr_assert_geq(nghttp2_session_mem_recv(r->ng, buf, (size_t)n),
		    0);
	}
}

/*
 * A request over h2c: body NULL for none, hold > 0 sends only hold bytes
 * of it, window > 0 a stream window of that size given back only when
 * r->consume is set.
 */
static int32_t
h2_raw_request(struct h2_raw *r, unsigned short port, const char *method,
    const char *path, const char *bearer, const char *body, int hold,
    size_t window)
{
	nghttp2_session_callbacks	*cb;
	nghttp2_option			*opt;
	nghttp2_settings_entry		 iv;
	struct sockaddr_in		 sin;
	nghttp2_data_provider		 prd;
	char				 auth[8300], clen[24];
	int32_t				 sid;
	nghttp2_nv			 nv[7];
	const char			*nvs[7][2];
	size_t				 i, n;

	memset(r, 0, sizeof(*r));
	r->body = body != NULL ? body : "";
	r->len = strlen(r->body);
	r->hold = hold;
	r->window = window;
	cr_assert_geq(r->fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(r->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_send_callback(cb, h2_raw_send);
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_raw_header);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    h2_raw_close);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    h2_raw_data);
	cr_assert_eq(nghttp2_option_new(&opt), 0);
	/* A small window given back only when the test says. */
	if (window > 0)
		nghttp2_option_set_no_auto_window_update(opt, 1);
	cr_assert_eq(nghttp2_session_client_new2(&r->ng, cb, r, opt), 0);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	iv.settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
	iv.value = (uint32_t)window;
	cr_assert_eq(nghttp2_submit_settings(r->ng, NGHTTP2_FLAG_NONE, &iv,
	    window > 0 ? 1 : 0), 0);
	snprintf(auth, sizeof(auth), "Bearer %s", bearer);
	snprintf(clen, sizeof(clen), "%zu", r->len);
	nvs[0][0] = ":method"; nvs[0][1] = method;
	nvs[1][0] = ":path"; nvs[1][1] = path;
	nvs[2][0] = ":scheme"; nvs[2][1] = "http";
	nvs[3][0] = ":authority"; nvs[3][1] = "127.0.0.1";
	nvs[4][0] = "authorization"; nvs[4][1] = auth;
	nvs[5][0] = "content-type"; nvs[5][1] = "application/json";
	nvs[6][0] = "content-length"; nvs[6][1] = clen;
	n = body != NULL ? 7 : 5;
	for (i = 0; i < n; i++) {
		nv[i].name = (uint8_t *)(uintptr_t)nvs[i][0];
		nv[i].namelen = strlen(nvs[i][0]);
		nv[i].value = (uint8_t *)(uintptr_t)nvs[i][1];
		nv[i].valuelen = strlen(nvs[i][1]);
		nv[i].flags = NGHTTP2_NV_FLAG_NONE;
	}
	prd.source.ptr = r;
	prd.read_callback = h2_raw_body;
	sid = nghttp2_submit_request(r->ng, NULL, nv, n,
	    body != NULL ? &prd : NULL, r);
	cr_assert_gt(sid, 0);
	return sid;
}

/* PUT path with body over h2c; hold > 0 sends only hold bytes. */
static int32_t
h2_raw_put(struct h2_raw *r, unsigned short port, const char *path,
    const char *bearer, const char *body, int hold)
{
	return h2_raw_request(r, port, "PUT", path, bearer, body, hold, 0);
}

static void
h2_raw_end(struct h2_raw *r)
{
	nghttp2_session_del(r->ng);
	close(r->fd);
}

/*
 * A client that resets its stream halfway through the body: nothing is
 * written, the connection and the server go on.  The same client
 * sending the whole body creates the record (so the first one is not a
 * request that could never have succeeded).
 */
Test(h2, a_stream_reset_mid_request_writes_nothing)
{
	static const char	 body[] = "{\"payload\":\"IP\","
	    "\"labels\":{\"a\":\"b\"}}";
	struct nsregd		 s, h2, h2c;
	struct hcred		 c;
	struct hresp		 r;
	struct h2_raw		 raw;
	int32_t			 sid;

	h2_start(&s, &h2, &h2c, NULL);
	hcred_admin(&s, &c);
	sid = h2_raw_put(&raw, h2c.port, "/v1/services/half", c.bearer,
	    body, 10);
	h2_raw_pump(&raw, 500);
	cr_expect_eq(raw.status[0], '\0', "answered before the body: %s",
	    raw.status);
	cr_assert_eq(nghttp2_submit_rst_stream(raw.ng, NGHTTP2_FLAG_NONE, sid,
	    NGHTTP2_CANCEL), 0);
	h2_raw_pump(&raw, 500);
	/* Nothing was written; the server answers on. */
	cr_assert_eq(hreq(&h2, &c, "GET", "/v1/services/half", NULL, NULL,
	    NULL, &r), 0);
	cr_expect_eq(r.status, 404, "%s", r.body);
	hresp_free(&r);
	h2_raw_end(&raw);
	sid = h2_raw_put(&raw, h2c.port, "/v1/services/whole", c.bearer,
	    body, 0);
	h2_raw_pump(&raw, 5000);
	cr_expect_str_eq(raw.status, "201");
	h2_raw_end(&raw);
	cr_assert_eq(hreq(&h2, &c, "GET", "/v1/services/whole", NULL, NULL,
	    NULL, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);
	nsregd_cleanup(&s);
}

/* A body still unfinished connection-timeout after its head: reset. */
Test(h2, a_body_that_never_ends_is_reset)
{
	static const char	 body[] = "{\"payload\":\"IP\"}";
	struct nsregd		 s, h2, h2c;
	struct hcred		 c;
	struct hresp		 r;
	struct h2_raw		 raw;

	h2_start(&s, &h2, &h2c, "connection-timeout 1s\n");
	hcred_admin(&s, &c);
	(void)h2_raw_put(&raw, h2c.port, "/v1/services/slow", c.bearer, body,
	    5);
	h2_raw_pump(&raw, 10000);
	cr_expect_eq(raw.closed, 1, "the stream was left open");
	cr_expect_eq(raw.status[0], '\0', "answered: %s", raw.status);
	h2_raw_end(&raw);
	cr_assert_eq(hreq(&h2, &c, "GET", "/v1/services/slow", NULL, NULL,
	    NULL, &r), 0);
	cr_expect_eq(r.status, 404, "%s", r.body);
	hresp_free(&r);
	nsregd_cleanup(&s);
}

static size_t
h2_count(const char *s, const char *what)
{
	size_t	n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s++;
	}
	return n;
}

/*
 * A watch reader that gives no window back gets no more than its window:
 * the events wait with the server's watch, and all of them arrive, in
 * order, once the reader reads again.
 */
Test(h2, a_watch_respects_flow_control)
{
	enum { N = 60 };
	struct nsregd	s, h2, h2c;
	struct hcred	c, admin;
	struct hresp	r;
	struct h2_raw	raw;
	char		path[64], body[256];
	int		i;

	h2_start(&s, &h2, &h2c, NULL);
	nsregd_allow_local(&s);
	hcred_admin(&s, &admin);
	cr_assert_eq(hreq(&s, &admin, "PUT", "/v1/services/db",
	    "{\"payload\":\"IP\"}", NULL, NULL, &r), 0);
	hresp_free(&r);
	hcred_jwt(&s, &c);
	(void)h2_raw_request(&raw, h2c.port, "GET",
	    "/v1/endpoints?service=db&watch=true", c.bearer, NULL, 0, 1024);
	h2_raw_pump(&raw, 1000);
	cr_assert_str_eq(raw.status, "200");
	for (i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/v1/endpoints/ep-%03d", i);
		snprintf(body, sizeof(body), "{\"url\":\"tcp://10.0.0.%d:5000\","
		    "\"network_service_names\":[\"db\"]}", i + 1);
		cr_assert_eq(hreq(&s, &c, "PUT", path, body, NULL, NULL, &r),
		    0);
		cr_assert_eq(r.status, 201, "%s", r.body);
		hresp_free(&r);
	}
	h2_raw_pump(&raw, 1500);
	cr_expect_leq(raw.got, 1024, "%zu bytes past a 1024-byte window",
	    raw.got);
	cr_expect_lt(h2_count(raw.data, "\"ADDED\""), N);
	/* Reading again: everything, in order. */
	raw.consume = 1;
	nghttp2_session_consume(raw.ng, 1, raw.unconsumed);
	raw.unconsumed = 0;
	for (i = 0; i < 100 && h2_count(raw.data, "\"ADDED\"") < N; i++)
		h2_raw_pump(&raw, 100);
	cr_expect_eq(h2_count(raw.data, "\"ADDED\""), N, "%zu events",
	    h2_count(raw.data, "\"ADDED\""));
	cr_expect_lt(strstr(raw.data, "ep-000"), strstr(raw.data, "ep-059"));
	cr_expect_eq(raw.closed, 0, "the watch ended");
	h2_raw_end(&raw);
	nsregd_cleanup(&s);
}

/* Connect to port on loopback; the socket. */
static int
h2_connect(unsigned short port)
{
	struct sockaddr_in	sin;
	int			fd;

	cr_assert_geq(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Milliseconds until the server closes fd (reading what it sends). */
static long
h2_closed_after(int fd, long max_ms)
{
	struct pollfd	pfd;
	char		buf[4096];
	int64_t		start = util_mono_us() / 1000, now;

	for (;;) {
		now = util_mono_us() / 1000;
		if (now - start >= max_ms)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) == 1 && recv(fd, buf, sizeof(buf), 0) <= 0)
			return (long)(util_mono_us() / 1000 - start);
	}
}

/*
 * Deadlines: the preface and first head within header-timeout (here a
 * silent TLS client and a silent h2c one), then h2-idle-timeout without
 * a stream; a connection with a live stream stays.
 */
Test(h2, silent_and_idle_connections_are_closed)
{
	struct nsregd	s, h2, h2c;
	struct hcred	c;
	struct h2_raw	raw;
	long		ms;
	int		fd;

	h2_start(&s, &h2, &h2c, "header-timeout 1s\nh2-idle-timeout 2\n");
	fd = h2_connect(h2.port);
	ms = h2_closed_after(fd, 8000);
	cr_expect(ms >= 500 && ms < 5000, "silent TLS client: %ld ms", ms);
	close(fd);
	fd = h2_connect(h2c.port);
	ms = h2_closed_after(fd, 8000);
	cr_expect(ms >= 500 && ms < 5000, "silent h2c client: %ld ms", ms);
	close(fd);
	/* One request, then nothing: GOAWAY and close after the idle time. */
	hcred_jwt(&s, &c);
	(void)h2_raw_request(&raw, h2c.port, "GET", "/v1/whoami", c.bearer,
	    NULL, 0, 0);
	h2_raw_pump(&raw, 3000);
	cr_expect_str_eq(raw.status, "200");
	ms = h2_closed_after(raw.fd, 10000);
	cr_expect(ms >= 0 && ms < 6000, "idle connection: %ld ms", ms);
	h2_raw_end(&raw);
	/* A watch keeps its connection past the idle time. */
	(void)h2_raw_request(&raw, h2c.port, "GET",
	    "/v1/services?watch=true", c.bearer, NULL, 0, 0);
	h2_raw_pump(&raw, 4000);
	cr_expect_str_eq(raw.status, "200");
	cr_expect_eq(raw.closed, 0, "the watch ended");
	h2_raw_end(&raw);
	nsregd_cleanup(&s);
}

/* max-connections-per-address holds on the h2 listener too. */
Test(h2, connections_per_address_are_bounded)
{
	struct nsregd	s, h2;
	int		fd[3], i;
	long		ms;

	h2_start(&s, &h2, NULL, "max-connections-per-address 2\n");
	for (i = 0; i < 3; i++)
		fd[i] = h2_connect(h2.port);
	ms = h2_closed_after(fd[2], 3000);
	cr_expect(ms >= 0 && ms < 1000, "a third connection: %ld ms", ms);
	for (i = 0; i < 3; i++)
		close(fd[i]);
	nsregd_cleanup(&s);
}
