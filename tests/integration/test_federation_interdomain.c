/*
 * test_federation_interdomain.c - reads of "x@peer.test" through a real
 * nsregd, answered by peer.test's registry (a local HTTPS server,
 * tests/integration/fedfix.c, that plays it): mutual TLS with this
 * server's SVID, the peer authenticated as an X.509-SVID of peer.test,
 * names qualified again, the query passed on; the peer up, down, slow,
 * refusing, lying; nothing cached.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fedfix.h"
#include "idfix.h"
#include "util.h"

#define PEER_TD		"peer.test"
#define PEER_ID		"spiffe://peer.test/nsregd"

static struct nsregd	srv;
static struct fedfix	fix;
static struct svid_ca	*peer_ca;

static void
setup(void)
{
	nsregd_start(&srv, "interdomain-timeout 700ms\n");
	/* This server's rules: its own workloads may find anything. */
	nsregd_allow_local(&srv);
	peer_ca = idfix_ca(PEER_TD);
}

static void
teardown(void)
{
	fedfix_stop(&fix);
	svid_ca_free(peer_ca);
	nsregd_cleanup(&srv);
}

TestSuite(interdomain, .init = setup, .fini = teardown, .timeout = 60);

static const char *
str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(not a string)";
}

/* The peer registry as fedfix, and peer.test stored with its URL. */
static void
peer_up(const struct svid_ca *ca, const char *id)
{
	json_t	*body;

	fedfix_start(&fix, ca, id, NULL, 0);
	body = idfix_td_body(peer_ca);
	json_object_set_new(body, "registry_url", json_string(fix.url));
	idfix_td_put(&srv, PEER_TD, body, 201);
}

static void
get(const char *path, struct hresp *r)
{
	struct hcred	c;

	hcred_x509(&srv, &c);
	cr_assert_eq(hreq(&srv, &c, "GET", path, NULL, NULL, NULL, r), 0);
}

static void
expect_error(const char *path, long status, const char *code,
    const char *want)
{
	struct hresp	r;
	const char	*msg;

	get(path, &r);
	cr_expect_eq(r.status, status, "%s: %s", path, r.body);
	cr_expect_str_eq(hresp_error(&r), code, "%s: %s", path, r.body);
	msg = idfix_message(&r);
	cr_expect(strstr(msg, want) != NULL, "%s: \"%s\" lacks \"%s\"", path,
	    msg, want);
	hresp_free(&r);
}

static void
set_text(const char *path, long status, const char *text)
{
	fedfix_set(&fix, path, status, text, strlen(text));
}

static json_t *
peer_service(const char *name, long long rev)
{
	return json_pack("{s:s, s:s, s:[], s:{s:s}, s:I, s:s, s:s}", "name",
	    name, "payload", "IP", "matches", "labels", "team", "db",
	    "revision", (json_int_t)rev, "created_at", "2024-01-01T00:00:00Z",
	    "updated_at", "2024-01-01T00:00:00Z");
}

static json_t *
peer_endpoint(const char *name)
{
	return json_pack("{s:s, s:s, s:[s, s], s:{s:{s:s}, s:{}}, s:s, s:I}",
	    "name", name, "url", "tcp://10.0.0.1:5432",
	    "network_service_names", "db", "db-replica",
	    "network_service_labels", "db", "app", "pg", "db-replica",
	    "owner", "spiffe://peer.test/db", "revision", (json_int_t)12);
}

Test(interdomain, a_service_is_asked_of_the_peer_over_mutual_tls)
{
	struct hresp	r;
	char		target[1024], client[512];

	peer_up(peer_ca, PEER_ID);
	fedfix_set_json(&fix, "/v1/services/db", 200, peer_service("db", 41));
	get("/v1/services/db@peer.test", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "name"), "db@peer.test");
	cr_expect_str_eq(str(json_object_get(r.json, "labels"), "team"),
	    "db");
	cr_expect_eq(json_integer_value(json_object_get(r.json, "revision")),
	    41);
	cr_expect_str_eq(hresp_header(&r, "ETag"), "\"41\"");
	hresp_free(&r);
	fedfix_last(&fix, target, sizeof(target), client, sizeof(client));
	cr_expect_str_eq(target, "/v1/services/db");
	/* This server's own SVID, presented as the client certificate. */
	cr_expect_str_eq(client, "spiffe://example.org/nsregd");
}

Test(interdomain, endpoints_carry_the_suffix_again)
{
	struct hresp	 r;
	const json_t	*nsl;

	peer_up(peer_ca, PEER_ID);
	fedfix_set_json(&fix, "/v1/endpoints/db-1", 200, peer_endpoint(
	    "db-1"));
	get("/v1/endpoints/db-1@peer.test", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "name"), "db-1@peer.test");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    r.json, "network_service_names"), 0)), "db@peer.test");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    r.json, "network_service_names"), 1)), "db-replica@peer.test");
	nsl = json_object_get(r.json, "network_service_labels");
	cr_expect_str_eq(str(json_object_get(nsl, "db@peer.test"), "app"),
	    "pg");
	cr_expect(json_is_object(json_object_get(nsl,
	    "db-replica@peer.test")));
	cr_expect_null(json_object_get(nsl, "db"));
	cr_expect_str_eq(str(r.json, "owner"), "spiffe://peer.test/db");
	hresp_free(&r);
}

Test(interdomain, an_endpoint_query_is_passed_on_without_suffixes)
{
	struct hresp	r;
	char		target[1024];
	json_t		*list;

	peer_up(peer_ca, PEER_ID);
	list = json_pack("{s:[o, o], s:I, s:s}", "items",
	    peer_endpoint("db-1"), peer_endpoint("db-2"), "revision",
	    (json_int_t)99, "next_page_token", "ZGItMg");
	fedfix_set_json(&fix, "/v1/endpoints?service=db&label.db.app=pg&"
	    "limit=2", 200, list);
	get("/v1/endpoints?service=db@peer.test&label.db@peer.test.app=pg&"
	    "limit=2", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(json_array_size(json_object_get(r.json, "items")), 2);
	cr_expect_str_eq(str(json_array_get(json_object_get(r.json, "items"),
	    1), "name"), "db-2@peer.test");
	cr_expect_str_eq(str(r.json, "next_page_token"), "ZGItMg");
	cr_expect_eq(json_integer_value(json_object_get(r.json, "revision")),
	    99);
	hresp_free(&r);
	fedfix_last(&fix, target, sizeof(target), NULL, 0);
	cr_expect_str_eq(target, "/v1/endpoints?service=db&label.db.app=pg&"
	    "limit=2");

	/* Filters go to one registry. */
	expect_error("/v1/endpoints?service=db@peer.test&service=web", 400,
	    "invalid_argument", "the filters of one query go to one registry");
	expect_error("/v1/endpoints?service=db@peer.test&service=x@other.test",
	    400, "invalid_argument", "not of trust domain peer.test");
	expect_error("/v1/endpoints?service=db@peer.test&label.db.app=pg",
	    400, "invalid_argument", "must be one of trust domain peer.test");
	expect_error("/v1/endpoints?service=db@peer.test&watch=true&since=-1",
	    400, "invalid_argument", "since: must be a revision number");
}

Test(interdomain, answers_are_never_cached)
{
	struct hresp	r;

	peer_up(peer_ca, PEER_ID);
	fedfix_set_json(&fix, "/v1/services/db", 200, peer_service("db", 1));
	get("/v1/services/db@peer.test", &r);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "revision")),
	    1);
	hresp_free(&r);
	fedfix_set_json(&fix, "/v1/services/db", 200, peer_service("db", 2));
	get("/v1/services/db@peer.test", &r);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "revision")),
	    2);
	hresp_free(&r);
	set_text("/v1/services/db", 404,
	    "{\"error\":{\"code\":\"not_found\",\"message\":\"service db not "
	    "found\"}}");
	expect_error("/v1/services/db@peer.test", 404, "not_found",
	    "registry of peer.test: service db not found");
	cr_expect_eq(fedfix_hits(&fix, "/v1/services/db"), 3);
}

Test(interdomain, a_peer_that_is_down_is_bad_gateway)
{
	int64_t	t0;

	peer_up(peer_ca, PEER_ID);
	fedfix_stop(&fix);
	t0 = util_now_ms();
	expect_error("/v1/services/db@peer.test", 502, "bad_gateway",
	    "registry of peer.test https://127.0.0.1:");
	cr_expect_lt(util_now_ms() - t0, 700);
}

Test(interdomain, a_slow_peer_is_deadline_exceeded)
{
	int64_t	t0, dt;

	peer_up(peer_ca, PEER_ID);
	fedfix_set_json(&fix, "/v1/services/db", 200, peer_service("db", 1));
	fedfix_set_delay(&fix, "/v1/services/db", 3000, 0);
	t0 = util_now_ms();
	expect_error("/v1/services/db@peer.test", 504, "deadline_exceeded",
	    "no answer within 700 ms");
	dt = util_now_ms() - t0;
	cr_expect(dt >= 650 && dt < 2500, "took %lld ms", (long long)dt);
}

Test(interdomain, the_peer_must_be_an_svid_of_its_trust_domain)
{
	struct svid_ca	*other = idfix_ca("other.test");
	struct svid_ca	*evil = idfix_ca(PEER_TD);

	/* An SVID of another trust domain. */
	peer_up(other, "spiffe://other.test/nsregd");
	fedfix_set_json(&fix, "/v1/services/db", 200, peer_service("db", 1));
	idfix_td_put(&srv, "other.test", idfix_td_body(other), 201);
	expect_error("/v1/services/db@peer.test", 502, "bad_gateway",
	    "TLS: the server is spiffe://other.test/nsregd, not of trust "
	    "domain peer.test");
	cr_expect_eq(fedfix_requests(&fix), 0);
	fedfix_stop(&fix);
	idfix_td_delete(&srv, PEER_TD, 204);
	/* peer.test's name, another authority. */
	peer_up(evil, PEER_ID);
	expect_error("/v1/services/db@peer.test", 502, "bad_gateway",
	    "TLS: x509: not signed by an authority of trust domain "
	    "peer.test");
	cr_expect_eq(fedfix_requests(&fix), 0);
	svid_ca_free(other);
	svid_ca_free(evil);
}

Test(interdomain, the_peers_refusals_are_reported)
{
	peer_up(peer_ca, PEER_ID);
	set_text("/v1/services/a", 403, "{\"error\":{\"code\":"
	    "\"permission_denied\",\"message\":\"find: denied\"}}");
	expect_error("/v1/services/a@peer.test", 403, "permission_denied",
	    "registry of peer.test refused: find: denied");
	set_text("/v1/services/b", 401, "{\"error\":{\"code\":"
	    "\"unauthenticated\",\"message\":\"x509: no bundle for trust "
	    "domain example.org\"}}");
	expect_error("/v1/services/b@peer.test", 502, "bad_gateway",
	    "did not accept this server's credential: x509: no bundle for "
	    "trust domain example.org");
	set_text("/v1/services/c", 500, "boom");
	expect_error("/v1/services/c@peer.test", 502, "bad_gateway",
	    "answered HTTP 500");
	set_text("/v1/services/d", 200, "[1,2]");
	expect_error("/v1/services/d@peer.test", 502, "bad_gateway",
	    "not a JSON object");
}

Test(interdomain, a_peer_may_only_answer_its_own_records)
{
	json_t	*e;

	peer_up(peer_ca, PEER_ID);
	fedfix_set_json(&fix, "/v1/services/db", 200,
	    peer_service("db@other.test", 1));
	expect_error("/v1/services/db@peer.test", 502, "bad_gateway",
	    "a name that is not one of its own");
	fedfix_set_json(&fix, "/v1/services/db2", 200, peer_service("web",
	    1));
	expect_error("/v1/services/db2@peer.test", 502, "bad_gateway",
	    "another record than the one asked for");
	e = peer_endpoint("db-1");
	json_array_append_new(json_object_get(e, "network_service_names"),
	    json_string("x@elsewhere.test"));
	fedfix_set_json(&fix, "/v1/endpoints/db-1", 200, e);
	expect_error("/v1/endpoints/db-1@peer.test", 502, "bad_gateway",
	    "a name that is not one of its own");
}

Test(interdomain, names_without_a_registry)
{
	/* Unknown trust domain, or one without registry_url. */
	expect_error("/v1/services/db@nowhere.test", 404, "not_found",
	    "db@nowhere.test: no registry is configured for its trust "
	    "domain");
	idfix_td_put(&srv, PEER_TD, idfix_td_body(peer_ca), 201);
	expect_error("/v1/endpoints?service=db@peer.test", 404, "not_found",
	    "no registry is configured");
	expect_error("/v1/services/db@example.org", 400, "invalid_argument",
	    "this registry's own trust domain");
}

Test(interdomain, the_caller_is_authorised_here_first)
{
	struct svid_ca	*b = idfix_ca("b.test");
	struct hcred	 x;
	struct hresp	 r;

	peer_up(peer_ca, PEER_ID);
	fedfix_set_json(&fix, "/v1/services/db", 200, peer_service("db", 1));
	/* A foreign workload this server's rules do not admit. */
	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	idfix_x509_id(&srv, b, "spiffe://b.test/w", &x);
	cr_assert_eq(hreq(&srv, &x, "GET", "/v1/services/db@peer.test", NULL,
	    NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 403, "%s", r.body);
	hresp_free(&r);
	cr_expect_eq(fedfix_requests(&fix), 0);
	svid_ca_free(b);
}

Test(interdomain, this_servers_rules_see_the_full_name)
{
	struct hresp	r;

	peer_up(peer_ca, PEER_ID);
	fedfix_set_json(&fix, "/v1/services/db", 200, peer_service("db", 1));
	nsregd_put_policy(&srv, "no-peer", "{\"effect\":\"forbid\","
	    "\"actions\":[\"find\"],\"condition\":"
	    "\"(service != null && service.name.endsWith('@peer.test')) || "
	    "(endpoint != null && endpoint.name.endsWith('@peer.test'))\"}");
	get("/v1/services/db@peer.test", &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(r.json, "decision"), "reasons"), 0)), "no-peer",
	    "%s", r.body);
	hresp_free(&r);
	get("/v1/endpoints/db-1@peer.test", &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	hresp_free(&r);
	get("/v1/endpoints?service=db@peer.test", &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	hresp_free(&r);
	cr_expect_eq(fedfix_requests(&fix), 0);
	/* Local names are not concerned. */
	get("/v1/services/db", &r);
	cr_expect_eq(r.status, 404, "%s", r.body);
	hresp_free(&r);
}

struct slow_read {
	pthread_t	thread;
	long		status;
	int64_t		ms;
};

static void *
slow_read(void *arg)
{
	struct slow_read	*s = arg;
	struct hresp		 r;
	int64_t			 t0 = util_mono_us();

	get("/v1/services/db@peer.test", &r);
	s->status = r.status;
	s->ms = (util_mono_us() - t0) / 1000;
	hresp_free(&r);
	return NULL;
}

Test(interdomain, a_slow_peer_holds_no_thread)
{
	struct slow_read	 reads[12];
	struct hresp		 r;
	int64_t			 t0, dt, worst = 0;
	size_t			 i;

	/* Two worker threads (the harness), twelve reads on a peer that
	 * hangs. */
	nsregd_cleanup(&srv);
	nsregd_start(&srv, "interdomain-timeout 6s\n");
	nsregd_allow_local(&srv);
	peer_up(peer_ca, PEER_ID);
	fedfix_set_json(&fix, "/v1/services/db", 200, peer_service("db", 1));
	fedfix_set_delay(&fix, "/v1/services/db", 0, 1);
	for (i = 0; i < 12; i++)
		cr_assert_eq(pthread_create(&reads[i].thread, NULL, slow_read,
		    &reads[i]), 0);
	usleep(500 * 1000);
	/* Meanwhile this server's own records are served at once. */
	for (i = 0; i < 10; i++) {
		t0 = util_mono_us();
		get("/v1/services?limit=1", &r);
		dt = (util_mono_us() - t0) / 1000;
		cr_expect_eq(r.status, 200, "%s", r.body);
		hresp_free(&r);
		if (dt > worst)
			worst = dt;
	}
	/* Held threads would make it wait for the 6 s of the reads. */
	cr_expect_lt(worst, 3000, "a local read took %lld ms while the peer "
	    "hung", (long long)worst);
	for (i = 0; i < 12; i++) {
		pthread_join(reads[i].thread, NULL);
		cr_expect_eq(reads[i].status, 504);
		cr_expect(reads[i].ms >= 5500 && reads[i].ms < 15000,
		    "a read took %lld ms", (long long)reads[i].ms);
	}
}
