/*
 * test_federation.c - the bundle endpoint client through a real nsregd:
 * fetches from a local HTTPS server (tests/integration/fedfix.c) under
 * both profiles (SPIFFE_Federation.md section 5.2) and every way a fetch
 * fails - bad TLS, a wrong endpoint ID, an older sequence, an oversized or
 * malformed document, HTTP 500, redirects, a timeout - with last_error,
 * the metrics and POST /v1/trust-domains/{name}/refresh; the scheduler on
 * its own (refresh hint, retry after a failure, settings changed, trust
 * domain deleted); allowed_claims.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fedfix.h"
#include "idfix.h"
#include "util.h"

#define PEER_TD		"peer.test"
#define PEER_ENDPOINT	"spiffe://peer.test/bundle-server"

static struct nsregd	srv;
static struct fedfix	fix;
static struct svid_ca	*peer_ca;

static void
setup(void)
{
	nsregd_start(&srv, "federation-refresh-min 1s\n"
	    "federation-timeout 1500ms\n"
	    "federation-ca-file webca.pem\n");
	peer_ca = idfix_ca(PEER_TD);
}

static void
teardown(void)
{
	fedfix_stop(&fix);
	svid_ca_free(peer_ca);
	nsregd_cleanup(&srv);
}

TestSuite(federation, .init = setup, .fini = teardown, .timeout = 60);

static const char *
str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(not a string)";
}

/* The SPIFFE bundle of ca with sequence seq and refresh hint (new). */
static json_t *
bundle_of(const struct svid_ca *ca, long long seq, long long hint)
{
	json_t	*b = svid_ca_bundle_json(ca, seq, hint);

	cr_assert_not_null(b);
	return b;
}

/* fedfix answers path with ca's bundle. */
static void
serve_bundle(const char *path, const struct svid_ca *ca, long long seq,
    long long hint)
{
	fedfix_set_json(&fix, path, 200, bundle_of(ca, seq, hint));
}

static double	metric(const char *);

/* The fetches of PEER_TD done (either result), as /metrics counts them. */
static double
refreshes_done(void)
{
	double	ok, error;

	ok = metric("nsreg_bundle_refresh_total{trust_domain="
	    "\"peer.test\",result=\"ok\"}");
	error = metric("nsreg_bundle_refresh_total{trust_domain="
	    "\"peer.test\",result=\"error\"}");
	return (ok > 0 ? ok : 0) + (error > 0 ? error : 0);
}

/*
 * PUT trust domain PEER_TD federated per profile from fix's path, with
 * static (may be NULL) as the bundle to start from.  New settings are
 * fetched at once by the scheduler: wait until that fetch has recorded
 * its outcome (it is counted after it wrote last_error or the bundle), so
 * that it cannot overwrite what a test's own refresh records after this.
 */
static void
put_federated(const char *path, const char *profile, const char *eid,
    json_t *static_bundle, long want)
{
	char	url[256];
	json_t	*body;
	double	before = refreshes_done();
	int	ms;

	snprintf(url, sizeof(url), "%s%s", fix.url, path);
	body = json_pack("{s:{s:s, s:s}}", "federation",
	    "bundle_endpoint_url", url, "profile", profile);
	if (eid != NULL)
		json_object_set_new(json_object_get(body, "federation"),
		    "endpoint_spiffe_id", json_string(eid));
	if (static_bundle != NULL)
		json_object_set_new(body, "bundle", static_bundle);
	idfix_td_put(&srv, PEER_TD, body, want);
	for (ms = 0; ms < 10000 && refreshes_done() <= before; ms += 50)
		usleep(50 * 1000);
	cr_assert_gt(refreshes_done(), before,
	    "the fetch of the new settings did not come");
}

static void
refresh(const char *td, struct hresp *r)
{
	struct hcred	admin;
	char		path[256];

	hcred_admin(&srv, &admin);
	snprintf(path, sizeof(path), "/v1/trust-domains/%s/refresh", td);
	cr_assert_eq(hreq(&srv, &admin, "POST", path, NULL, NULL, NULL, r),
	    0);
}

static void
get_td(const char *td, struct hresp *r)
{
	struct hcred	admin;
	char		path[256];

	hcred_admin(&srv, &admin);
	snprintf(path, sizeof(path), "/v1/trust-domains/%s", td);
	cr_assert_eq(hreq(&srv, &admin, "GET", path, NULL, NULL, NULL, r), 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
}

/* A failed refresh: status, code, and last_error containing want. */
static void
expect_refresh_error(long status, const char *code, const char *want)
{
	struct hresp	 r;
	const json_t	*td;
	char		 msg[1024];

	refresh(PEER_TD, &r);
	cr_expect_eq(r.status, status, "%s", r.body);
	cr_expect_str_eq(hresp_error(&r), code, "%s", r.body);
	snprintf(msg, sizeof(msg), "%s", idfix_message(&r));
	cr_expect(strstr(msg, want) != NULL, "message \"%s\" lacks \"%s\"",
	    msg, want);
	td = json_object_get(r.json, "trust_domain");
	cr_expect(json_is_object(td), "no trust_domain beside the error: %s",
	    r.body);
	cr_expect_str_eq(str(td, "last_error"), msg);
	hresp_free(&r);
	get_td(PEER_TD, &r);
	cr_expect_str_eq(str(r.json, "last_error"), msg);
	hresp_free(&r);
}

/* The value of a metric line "name{labels} value", -1 when absent. */
static double
metric(const char *series)
{
	struct hcred	 none;
	struct hresp	 r;
	const char	*p;
	double		 v = -1;
	size_t		 n = strlen(series);

	hcred_admin(&srv, &none);	/* /metrics needs a reader */
	cr_assert_eq(hreq(&srv, &none, "GET", "/metrics", NULL, NULL, NULL,
	    &r), 0);
	for (p = r.body; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			v = strtod(p + n + 1, NULL);
			break;
		}
	}
	hresp_free(&r);
	return v;
}

/* Wait up to ms for GET PEER_TD's sequence to become seq. */
static int
wait_sequence(long long seq, int ms)
{
	struct hresp	r;
	long long	have = -1;

	for (; ms > 0; ms -= 100) {
		get_td(PEER_TD, &r);
		have = json_integer_value(json_object_get(r.json, "sequence"));
		hresp_free(&r);
		if (have == seq)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

Test(federation, https_spiffe_fetch_replaces_the_bundle_by_the_served_one)
{
	struct svid_ca	*next = idfix_ca(PEER_TD);
	struct hcred	 old_w, new_w;
	struct hresp	 r;
	json_t		*served, *more;

	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	idfix_x509_id(&srv, peer_ca, "spiffe://peer.test/w", &old_w);
	idfix_x509_id(&srv, next, "spiffe://peer.test/w", &new_w);
	/* The endpoint serves a bundle with both authorities. */
	served = bundle_of(peer_ca, 8, 300);
	more = bundle_of(next, 8, 300);
	json_array_extend(json_object_get(served, "keys"), json_object_get(
	    more, "keys"));
	json_decref(more);
	fedfix_set_json(&fix, "/bundle", 200, json_deep_copy(served));
	/* Self-serving: the static bundle authenticates the first fetch. */
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 300), 201);
	refresh(PEER_TD, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "sequence")),
	    8);
	cr_expect(json_is_null(json_object_get(r.json, "last_error")));
	cr_expect(json_is_string(json_object_get(r.json, "refreshed_at")));
	cr_expect_eq(json_array_size(json_object_get(json_object_get(r.json,
	    "bundle"), "keys")), 4, "%s", r.body);
	cr_expect_not_null(hresp_header(&r, "ETag"));
	hresp_free(&r);
	json_decref(idfix_whoami(&srv, &old_w, 200, NULL));
	json_decref(idfix_whoami(&srv, &new_w, 200, NULL));
	json_decref(served);

	/* The next bundle drops the old authority: replaced, not merged. */
	serve_bundle("/bundle", next, 9, 300);
	refresh(PEER_TD, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);
	idfix_whoami(&srv, &old_w, 401, NULL);
	json_decref(idfix_whoami(&srv, &new_w, 200, NULL));

	/*
	 * The endpoint's certificate came from the old authority: with the
	 * latest bundle (section 5.2.2.4) it no longer authenticates.
	 */
	expect_refresh_error(502, "bad_gateway", "TLS: x509:");
	cr_expect_gt(metric("nsreg_bundle_refresh_total{trust_domain="
	    "\"peer.test\",result=\"ok\"}"), 1.5);
	cr_expect_gt(metric("nsreg_bundle_refresh_total{trust_domain="
	    "\"peer.test\",result=\"error\"}"), 0.5);
	cr_expect_geq(metric("nsreg_bundle_age_seconds{trust_domain="
	    "\"peer.test\"}"), 0);
	svid_ca_free(next);
}

Test(federation, https_spiffe_wrong_endpoint_id_sends_no_request)
{
	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	serve_bundle("/bundle", peer_ca, 2, 300);
	put_federated("/bundle", "https_spiffe", "spiffe://peer.test/other",
	    bundle_of(peer_ca, 1, 300), 201);
	expect_refresh_error(502, "bad_gateway", "TLS: the server is "
	    "spiffe://peer.test/bundle-server, not spiffe://peer.test/other");
	cr_expect_eq(fedfix_requests(&fix), 0);
}

Test(federation, https_spiffe_chain_of_another_authority_is_refused)
{
	struct svid_ca	*evil = idfix_ca(PEER_TD);
	struct hresp	 r;

	fedfix_start(&fix, evil, PEER_ENDPOINT, NULL, 0);
	serve_bundle("/bundle", evil, 2, 300);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 300), 201);
	expect_refresh_error(502, "bad_gateway", "TLS: x509: ");
	cr_expect_eq(fedfix_requests(&fix), 0);
	/* The bundle held is unchanged. */
	get_td(PEER_TD, &r);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "sequence")),
	    1);
	hresp_free(&r);
	svid_ca_free(evil);
}

Test(federation, https_spiffe_without_a_bundle_for_the_endpoint)
{
	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	serve_bundle("/bundle", peer_ca, 2, 300);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT, NULL, 201);
	expect_refresh_error(502, "bad_gateway",
	    "TLS: x509: no bundle for trust domain peer.test");
	cr_expect_eq(fedfix_requests(&fix), 0);
}

Test(federation, https_spiffe_endpoint_of_another_trust_domain)
{
	struct svid_ca	*host = idfix_ca("host.test");
	struct hresp	 r;

	/* Not self-serving: host.test serves peer.test's bundle. */
	fedfix_start(&fix, host, "spiffe://host.test/bundles", NULL, 0);
	serve_bundle("/peer", peer_ca, 3, 300);
	put_federated("/peer", "https_spiffe", "spiffe://host.test/bundles",
	    NULL, 201);
	expect_refresh_error(502, "bad_gateway",
	    "x509: no bundle for trust domain host.test");
	idfix_td_put(&srv, "host.test", idfix_td_body(host), 201);
	refresh(PEER_TD, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "sequence")),
	    3);
	hresp_free(&r);
	svid_ca_free(host);
}

/* Write ca's certificate as the Web PKI roots nsregd trusts. */
static void
web_roots(const struct svid_ca *ca)
{
	char	path[PATH_MAX], *pem;

	pem = svid_ca_bundle_pem(ca);
	cr_assert_not_null(pem);
	cr_assert_eq(util_file_write(nsregd_path(&srv, "webca.pem", path,
	    sizeof(path)), pem, strlen(pem), 0644), 0);
	free(pem);
}

Test(federation, https_web_with_the_configured_ca_file)
{
	struct svid_ca	*web = idfix_ca("web.test");
	struct hresp	 r;

	web_roots(web);
	fedfix_start(&fix, web, NULL, "bundles.example", 0);
	serve_bundle("/b.json", peer_ca, 4, 300);
	put_federated("/b.json", "https_web", NULL, NULL, 201);
	refresh(PEER_TD, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "sequence")),
	    4);
	hresp_free(&r);
	svid_ca_free(web);
}

Test(federation, https_web_untrusted_or_wrong_host_is_refused)
{
	struct svid_ca	*web = idfix_ca("web.test");
	struct svid_ca	*other = idfix_ca("other.test");
	struct hresp	 r;
	char		 url[256];

	/* Roots of another CA: the chain does not verify. */
	web_roots(other);
	fedfix_start(&fix, web, NULL, NULL, 0);
	serve_bundle("/b.json", peer_ca, 4, 300);
	put_federated("/b.json", "https_web", NULL, NULL, 201);
	expect_refresh_error(502, "bad_gateway", "TLS: ");
	cr_expect_eq(fedfix_requests(&fix), 0);
	/* Trusted, but the URL's host is not in the certificate. */
	web_roots(web);
	snprintf(url, sizeof(url), "https://localhost:%u/b.json", fix.port);
	idfix_td_put(&srv, PEER_TD, json_pack("{s:{s:s, s:s}}", "federation",
	    "bundle_endpoint_url", url, "profile", "https_web"), 200);
	expect_refresh_error(502, "bad_gateway", "TLS: ");
	cr_expect_eq(fedfix_requests(&fix), 0);
	/* And the URL that is. */
	put_federated("/b.json", "https_web", NULL, NULL, 200);
	refresh(PEER_TD, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);
	svid_ca_free(web);
	svid_ca_free(other);
}

Test(federation, an_older_sequence_is_refused_and_the_bundle_kept)
{
	struct hresp	r;
	json_t		*held;

	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	serve_bundle("/bundle", peer_ca, 3, 300);
	held = bundle_of(peer_ca, 5, 300);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    json_deep_copy(held), 201);
	expect_refresh_error(502, "bad_gateway", "the bundle's "
	    "spiffe_sequence 3 is older than the 5 held: the held bundle is "
	    "kept");
	get_td(PEER_TD, &r);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "sequence")),
	    5);
	cr_expect(json_equal(json_object_get(r.json, "bundle"), held));
	hresp_free(&r);
	/* The same sequence is not older; nor is a bundle without one. */
	serve_bundle("/bundle", peer_ca, 5, 300);
	refresh(PEER_TD, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect(json_is_null(json_object_get(r.json, "last_error")));
	hresp_free(&r);
	serve_bundle("/bundle", peer_ca, -1, 300);
	refresh(PEER_TD, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect(json_is_null(json_object_get(r.json, "sequence")));
	hresp_free(&r);
	json_decref(held);
}

Test(federation, oversized_documents_are_refused)
{
	char	*big;
	size_t	 n = 1024 * 1024 + 1;

	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 300), 201);
	big = malloc(n);
	cr_assert_not_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	/* With a Content-Length: refused before the body comes. */
	fedfix_set(&fix, "/bundle", 200, big, n);
	expect_refresh_error(502, "bad_gateway",
	    "the answer is larger than 1048576 bytes");
	/* Without one: refused once the limit is passed. */
	fedfix_set_no_length(&fix, "/bundle");
	expect_refresh_error(502, "bad_gateway",
	    "the answer is larger than 1048576 bytes");
	free(big);
}

Test(federation, malformed_documents_are_refused_with_the_reason)
{
	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 300), 201);
	fedfix_set(&fix, "/bundle", 200, "<html>hello</html>", 18);
	expect_refresh_error(502, "bad_gateway", "bundle endpoint "
	    "https://127.0.0.1:");
	expect_refresh_error(502, "bad_gateway", "bundle: ");
	fedfix_set(&fix, "/bundle", 200, "{\"keys\":[1]}", 12);
	expect_refresh_error(502, "bad_gateway", "keys[0]");
	fedfix_set(&fix, "/bundle", 200, "{\"keys\":[],\"keys\":[]}", 21);
	expect_refresh_error(502, "bad_gateway", "bundle: ");
	fedfix_set(&fix, "/bundle", 200,
	    "{\"keys\":[],\"spiffe_sequence\":-1}", 32);
	expect_refresh_error(502, "bad_gateway", "spiffe_sequence");
}

Test(federation, http_errors_are_bad_gateway)
{
	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 300), 201);
	fedfix_set(&fix, "/bundle", 500, "oops", 4);
	expect_refresh_error(502, "bad_gateway", "answered HTTP 500");
	fedfix_set(&fix, "/bundle", 404, "", 0);
	expect_refresh_error(502, "bad_gateway", "answered HTTP 404");
}

Test(federation, redirects_are_followed_from_the_configured_url_each_time)
{
	struct hresp	r;
	char		loc[256];

	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	snprintf(loc, sizeof(loc), "%s/moved", fix.url);
	/* Even a permanent redirect is taken as temporary (7.5.1). */
	fedfix_set_redirect(&fix, "/bundle", 301, loc);
	serve_bundle("/moved", peer_ca, 2, 300);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 300), 201);
	refresh(PEER_TD, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(str(json_object_get(r.json, "federation"),
	    "bundle_endpoint_url"), "/bundle") != NULL);
	hresp_free(&r);
	fedfix_set_redirect(&fix, "/bundle", 307, "/moved");
	refresh(PEER_TD, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);
	cr_expect_geq(fedfix_hits(&fix, "/bundle"), 2);
	cr_expect_geq(fedfix_hits(&fix, "/moved"), 2);

	/* Only to https URLs without userinfo, at most 5 times. */
	snprintf(loc, sizeof(loc), "http://127.0.0.1:%u/moved", fix.port);
	fedfix_set_redirect(&fix, "/bundle", 302, loc);
	expect_refresh_error(502, "bad_gateway", "which is not an https URL "
	    "without userinfo");
	snprintf(loc, sizeof(loc), "https://user:pw@127.0.0.1:%u/moved",
	    fix.port);
	fedfix_set_redirect(&fix, "/bundle", 302, loc);
	expect_refresh_error(502, "bad_gateway", "which is not an https URL "
	    "without userinfo");
	fedfix_set_redirect(&fix, "/bundle", 302, "/bundle");
	expect_refresh_error(502, "bad_gateway", "more than 5 redirects");
	/* A redirect without a Location is an answer like another. */
	fedfix_set(&fix, "/bundle", 302, "", 0);
	expect_refresh_error(502, "bad_gateway", "answered HTTP 302");
}

Test(federation, a_redirect_target_must_authenticate_as_the_endpoint)
{
	struct fedfix	 second;
	char		 loc[256];

	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	fedfix_start(&second, peer_ca, "spiffe://peer.test/cdn", NULL, 0);
	serve_bundle("/b", peer_ca, 2, 300);
	fedfix_set_json(&second, "/b", 200, bundle_of(peer_ca, 2, 300));
	snprintf(loc, sizeof(loc), "%s/b", second.url);
	fedfix_set_redirect(&fix, "/bundle", 302, loc);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 300), 201);
	expect_refresh_error(502, "bad_gateway", "TLS: the server is "
	    "spiffe://peer.test/cdn, not " PEER_ENDPOINT);
	cr_expect_eq(fedfix_requests(&second), 0);
	fedfix_stop(&second);
}

Test(federation, a_slow_endpoint_times_out_with_deadline_exceeded)
{
	int64_t	t0;

	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	serve_bundle("/bundle", peer_ca, 2, 300);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 300), 201);
	/* After the scheduler's first fetch: it need not time out too. */
	fedfix_set_delay(&fix, "/bundle", 0, 1);
	t0 = util_now_ms();
	expect_refresh_error(504, "deadline_exceeded",
	    "no answer within 1500 ms");
	cr_expect_lt(util_now_ms() - t0, 5000);
}

Test(federation, an_endpoint_that_is_down_is_bad_gateway)
{
	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 300), 201);
	fedfix_stop(&fix);
	expect_refresh_error(502, "bad_gateway", "bundle endpoint https://");
}

Test(federation, the_scheduler_fetches_at_the_refresh_hint)
{
	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	serve_bundle("/bundle", peer_ca, 2, 1);
	/* Settings stored: fetched at once, without a POST. */
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 1), 201);
	cr_assert(wait_sequence(2, 5000), "the first fetch did not come");
	/* A new bundle at the endpoint is picked up by the next refresh. */
	serve_bundle("/bundle", peer_ca, 3, 1);
	cr_assert(wait_sequence(3, 5000), "no refresh after the hint");
}

Test(federation, a_failed_fetch_is_retried_at_the_next_interval)
{
	struct hresp	r;
	int		i;

	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	fedfix_set(&fix, "/bundle", 500, "down", 4);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 1), 201);
	for (i = 0; i < 50 && fedfix_hits(&fix, "/bundle") < 1; i++)
		usleep(100 * 1000);
	usleep(300 * 1000);
	get_td(PEER_TD, &r);
	cr_expect(strstr(str(r.json, "last_error"), "answered HTTP 500") !=
	    NULL, "%s", r.body);
	hresp_free(&r);
	/* Not retried at once: at the interval (1 s here). */
	cr_expect_leq(fedfix_hits(&fix, "/bundle"), 1);
	serve_bundle("/bundle", peer_ca, 6, 1);
	cr_assert(wait_sequence(6, 5000), "no retry");
	get_td(PEER_TD, &r);
	cr_expect(json_is_null(json_object_get(r.json, "last_error")));
	hresp_free(&r);
}

Test(federation, deleting_the_trust_domain_stops_its_fetches)
{
	struct hcred	admin;
	struct hresp	r;
	int		n;

	fedfix_start(&fix, peer_ca, PEER_ENDPOINT, NULL, 0);
	serve_bundle("/bundle", peer_ca, 2, 1);
	put_federated("/bundle", "https_spiffe", PEER_ENDPOINT,
	    bundle_of(peer_ca, 1, 1), 201);
	cr_assert(wait_sequence(2, 5000));
	idfix_td_delete(&srv, PEER_TD, 204);
	usleep(200 * 1000);
	n = fedfix_hits(&fix, "/bundle");
	usleep(2500 * 1000);
	cr_expect_eq(fedfix_hits(&fix, "/bundle"), n);
	hcred_admin(&srv, &admin);
	cr_assert_eq(hreq(&srv, &admin, "POST",
	    "/v1/trust-domains/peer.test/refresh", NULL, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 404, "%s", r.body);
	hresp_free(&r);
	cr_expect_lt(metric("nsreg_bundle_age_seconds{trust_domain="
	    "\"peer.test\"}"), 0);
}

Test(federation, refresh_needs_a_federated_trust_domain_and_the_admin_role)
{
	struct hcred	x;
	struct hresp	r;

	idfix_td_put(&srv, "static.test", idfix_td_body(peer_ca), 201);
	refresh("static.test", &r);
	cr_expect_eq(r.status, 409, "%s", r.body);
	cr_expect_str_eq(hresp_error(&r), "conflict");
	hresp_free(&r);
	refresh("example.org", &r);
	cr_expect_eq(r.status, 409, "%s", r.body);
	hresp_free(&r);
	refresh("absent.test", &r);
	cr_expect_eq(r.status, 404, "%s", r.body);
	hresp_free(&r);
	refresh("Not_A_Name!", &r);
	cr_expect_eq(r.status, 400, "%s", r.body);
	hresp_free(&r);
	hcred_x509(&srv, &x);
	cr_assert_eq(hreq(&srv, &x, "POST",
	    "/v1/trust-domains/static.test/refresh", NULL, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 403, "%s", r.body);
	hresp_free(&r);
}

Test(federation, allowed_claims_are_validated_and_stored)
{
	struct hcred	admin;
	struct hresp	r;
	json_t		*body;
	int		i;
	static const struct {
		const char	*json;
		const char	*field;
	} bad[] = {
		{ "\"team\"", "allowed_claims" },
		{ "[1]", "allowed_claims[0]" },
		{ "[\"\"]", "allowed_claims[0]" },
		{ "[\"a\",\"b\",\"a\"]", "allowed_claims[2]" },
		{ "[\"a\\u0001\"]", "allowed_claims[0]" },
	};

	hcred_admin(&srv, &admin);
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		body = idfix_td_body(peer_ca);
		json_object_set_new(body, "allowed_claims", json_loads(
		    bad[i].json, JSON_DECODE_ANY, NULL));
		cr_assert_eq(hreq_json(&srv, &admin, "PUT",
		    "/v1/trust-domains/peer.test", body, &r), 0);
		cr_expect_eq(r.status, 400, "%s: %s", bad[i].json, r.body);
		cr_expect_str_eq(str(json_object_get(r.json, "error"),
		    "field"), bad[i].field, "%s", bad[i].json);
		hresp_free(&r);
	}
	body = idfix_td_body(peer_ca);
	json_object_set_new(body, "allowed_claims", json_pack("[s, s]",
	    "team", "https://example.org/role"));
	idfix_td_put(&srv, PEER_TD, body, 201);
	get_td(PEER_TD, &r);
	cr_expect_eq(json_array_size(json_object_get(r.json,
	    "allowed_claims")), 2, "%s", r.body);
	hresp_free(&r);
	get_td("example.org", &r);
	cr_expect(json_is_null(json_object_get(r.json, "allowed_claims")));
	hresp_free(&r);
}

/* A JWT-SVID of ca for id with extra claims (stolen), as c's token. */
static void
jwt_with_claims(const struct svid_ca *ca, const char *id, json_t *extra,
    struct hcred *c)
{
	struct nsreg_error	 err;
	json_t			*hdr, *claims;
	char			*tok = NULL;
	int64_t			 now = util_now_ms() / 1000;

	hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid",
	    svid_ca_jwt_kid(ca), "typ", "JWT");
	claims = json_pack("{s:s, s:s, s:I, s:I}", "sub", id, "aud",
	    IDFIX_AUDIENCE, "exp", (json_int_t)(now + 300), "iat",
	    (json_int_t)now);
	json_object_update(claims, extra);
	json_decref(extra);
	cr_assert_eq(svid_jws_sign(svid_ca_jwt_key(ca), "ES256", hdr, claims,
	    &tok, &err), 0, "%s", err.message);
	hcred_none(c);
	snprintf(c->bearer, sizeof(c->bearer), "%s", tok);
	free(tok);
	json_decref(hdr);
	json_decref(claims);
}

/* GET /v1/services/nothing as c: 404 when find is allowed, else 403. */
static long
find(const struct hcred *c)
{
	struct hresp	r;
	long		status;

	cr_assert_eq(hreq(&srv, c, "GET", "/v1/services/nothing", NULL, NULL,
	    NULL, &r), 0);
	status = r.status;
	if (status == 403)
		cr_expect(json_is_object(json_object_get(r.json, "decision")),
		    "%s", r.body);
	hresp_free(&r);
	return status;
}

Test(federation, a_federated_principal_is_admitted_only_by_rules_that_say_so)
{
	struct hcred	w;

	nsregd_allow_local(&srv);
	idfix_td_put(&srv, PEER_TD, idfix_td_body(peer_ca), 201);
	idfix_x509_id(&srv, peer_ca, "spiffe://peer.test/ns/db/sa/client", &w);
	/* Verified with peer.test's bundle, but no rule admits it. */
	json_decref(idfix_whoami(&srv, &w, 200, NULL));
	cr_expect_eq(find(&w), 403);
	nsregd_put_policy(&srv, "partners-find", "{\"effect\":\"permit\","
	    "\"actions\":[\"find\"],\"condition\":"
	    "\"principal.trust_domain == 'peer.test'\"}");
	cr_expect_eq(find(&w), 404);
}

Test(federation, foreign_claims_reach_rules_only_when_allowed)
{
	struct svid_ca	*local = idfix_server_ca(&srv);
	struct hcred	 w, l, admin;
	struct hresp	 r;
	json_t		*o, *body;

	nsregd_put_policy(&srv, "team-db", "{\"effect\":\"permit\","
	    "\"actions\":[\"find\"],\"condition\":"
	    "\"has(principal.claims.team) && principal.claims.team == 'db'\"}");
	idfix_td_put(&srv, PEER_TD, idfix_td_body(peer_ca), 201);
	jwt_with_claims(peer_ca, "spiffe://peer.test/w", json_pack("{s:s, s:s}",
	    "team", "db", "email", "w@peer.test"), &w);
	jwt_with_claims(local, "spiffe://example.org/w", json_pack("{s:s}",
	    "team", "db"), &l);
	/* Local claims are all shown; peer.test's only sub, aud, exp, iat. */
	cr_expect_eq(find(&l), 404);
	cr_expect_eq(find(&w), 403);
	o = idfix_whoami(&srv, &w, 200, NULL);
	cr_expect_null(json_object_get(json_object_get(o, "claims"), "team"));
	cr_expect_str_eq(str(json_object_get(o, "claims"), "sub"),
	    "spiffe://peer.test/w");
	cr_expect_not_null(json_object_get(json_object_get(o, "claims"),
	    "exp"));
	json_decref(o);
	hcred_admin(&srv, &admin);
	body = json_pack("{s:s, s:{s:s}, s:s}", "principal",
	    "spiffe://peer.test/w", "claims", "team", "db", "action", "find");
	cr_assert_eq(hreq_json(&srv, &admin, "POST", "/v1/decisions/evaluate",
	    json_deep_copy(body), &r), 0);
	cr_expect_str_eq(str(r.json, "decision"), "deny", "%s", r.body);
	hresp_free(&r);

	/* peer.test lists "team": rules see it (and still not "email"). */
	o = idfix_td_body(peer_ca);
	json_object_set_new(o, "allowed_claims", json_pack("[s]", "team"));
	idfix_td_put(&srv, PEER_TD, o, 200);
	cr_expect_eq(find(&w), 404);
	o = idfix_whoami(&srv, &w, 200, NULL);
	cr_expect_str_eq(str(json_object_get(o, "claims"), "team"), "db");
	cr_expect_null(json_object_get(json_object_get(o, "claims"), "email"));
	json_decref(o);
	cr_assert_eq(hreq_json(&srv, &admin, "POST", "/v1/decisions/evaluate",
	    body, &r), 0);
	cr_expect_str_eq(str(r.json, "decision"), "allow", "%s", r.body);
	hresp_free(&r);
	svid_ca_free(local);
}
