/*
 * test_cluster_pg.c - two and three nsregd instances on one PostgreSQL
 * database behave as one registry (DESIGN section 6): a watcher on one
 * sees every instance's writes once, in revision order, within a
 * second, and resumes (since=) on another; rules and trust domains
 * written on one take effect on the others within a second; grants
 * spread over the instances get distinct addresses, are balanced by
 * loads that count every instance's grants and are signed with one key;
 * an expired endpoint is deleted once; a ?service= list on any instance
 * holds every write acknowledged by another before it, from memory; an
 * instance that missed events loads again.
 * Runs when NSREG_TEST_PG names a database (tests/pg/store.sh runs it),
 * skipped otherwise.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "harness.h"
#include "idfix.h"
#include "store.h"
#include "svid.h"
#include "util.h"

#define NODES		3
#define ALL_ACTIONS	"[\"find\",\"register\",\"unregister\",\"publish\"," \
			"\"connect\"]"
/* Endpoints outlive the slowest run (sanitizers, a loaded machine). */
#define GRANT_CONF	"grant-ttl 10m\nendpoint-default-ttl 1h\n" \
			"endpoint-max-ttl 2h\n"
/* What DESIGN section 6 promises: other instances within a second. */
#define WITHIN_MS	1000

static struct nsregd	node[NODES];
static int		nnodes;
static char		db[1200];

static void
setup(void)
{
	const char	*pg = getenv("NSREG_TEST_PG");

	nnodes = 0;
	if (pg == NULL || pg[0] == '\0')
		return;
	snprintf(db, sizeof(db),
	    "%s%soptions=-csearch_path%%3Dclusterpg_%d_%ld", pg,
	    strchr(pg, '?') != NULL ? "&" : "?", (int)getpid(),
	    (long)time(NULL));
}

static void
teardown(void)
{
	int	i;

	for (i = 0; i < nnodes; i++)
		nsregd_cleanup(&node[i]);
	nnodes = 0;
}

TestSuite(cluster_pg, .init = setup, .fini = teardown, .timeout = 300);

/* Start n instances of one cluster (skip without PostgreSQL). */
static void
start(int n, const char *extra)
{
	char	conf[1024];
	int	i;

	if (db[0] == '\0')
		cr_skip_test("NSREG_TEST_PG is not set");
	for (i = 0; i < n; i++) {
		/* Each names itself in its log lines. */
		snprintf(conf, sizeof(conf), "instance-name node%d\n%s", i,
		    extra != NULL ? extra : "");
		if (i == 0)
			nsregd_start_on(&node[0], conf, db);
		else
			nsregd_start_like(&node[i], &node[0], conf, db);
		nnodes++;
	}
}

static void
want_status(const struct nsregd *s, const struct hcred *c,
    const char *method, const char *path, const char *body, long status,
    struct hresp *r)
{
	hreq(s, c, method, path, body, NULL, NULL, r);
	cr_assert_eq(r->status, status, "%s %s on %s: %ld, want %ld: %s",
	    method, path, s->url, r->status, status,
	    r->body != NULL ? r->body : "");
}

static void
admin_put(const struct nsregd *s, const char *path, const char *body)
{
	struct hcred	adm;
	struct hresp	r;

	hcred_admin(s, &adm);
	hreq(s, &adm, "PUT", path, body, NULL, NULL, &r);
	cr_assert(r.status == 200 || r.status == 201, "PUT %s: %ld %s", path,
	    r.status, r.body);
	hresp_free(&r);
}

static void
allow_all(const struct nsregd *s)
{
	admin_put(s, "/v1/policies/local", "{\"effect\":\"permit\","
	    "\"actions\":" ALL_ACTIONS ",\"condition\":"
	    "\"principal.trust_domain == 'example.org'\"}");
}

static const char *
ev_type(const json_t *e)
{
	return json_string_value(json_object_get(e, "type"));
}

static int64_t
ev_rev(const json_t *e)
{
	return json_integer_value(json_object_get(e, "revision"));
}

static const char *
ev_name(const json_t *e)
{
	return json_string_value(json_object_get(json_object_get(e, "object"),
	    "name"));
}

/* Wait for the stream's first BOOKMARK (the end of its snapshot). */
static void
wait_bookmark(struct hwatch *w, size_t n)
{
	cr_assert_eq(hwatch_wait(w, n, 10000), n, "no snapshot");
	cr_assert_str_eq(ev_type(hwatch_event(w, n - 1)), "BOOKMARK");
}

/* Events of w that are not BOOKMARKs, from index from (new array). */
static json_t *
changes(struct hwatch *w, size_t from)
{
	json_t	*out = json_array(), *e;
	size_t	 i;

	for (i = from; (e = hwatch_event(w, i)) != NULL; i++)
		if (strcmp(ev_type(e), "BOOKMARK") != 0)
			json_array_append(out, e);
	return out;
}

/* Wait until w holds n changes after from, or ms passed. */
static size_t
wait_changes(struct hwatch *w, size_t from, size_t n, int64_t ms)
{
	int64_t	 end = util_now_ms() + ms;
	json_t	*c;
	size_t	 got;

	for (;;) {
		c = changes(w, from);
		got = json_array_size(c);
		json_decref(c);
		if (got >= n || util_now_ms() >= end)
			return got;
		hwatch_wait(w, hwatch_wait(w, 0, 0) + 1, 20);
	}
}

Test(cluster_pg, a_watcher_sees_every_instance_s_writes_once_in_order)
{
	struct hcred	 adm[NODES];
	struct hresp	 r;
	struct hwatch	 w;
	json_t		*ch, *e;
	char		 path[64];
	int64_t		 rev[30];
	size_t		 i, base;

	start(3, NULL);
	for (i = 0; i < NODES; i++)
		hcred_admin(&node[i], &adm[i]);
	hwatch_start(&w, &node[1], &adm[1], "/v1/services?watch=true");
	wait_bookmark(&w, 1);
	base = 1;
	/* Round robin over the three, the watcher's own instance too. */
	for (i = 0; i < 30; i++) {
		snprintf(path, sizeof(path), "/v1/services/s%02zu", i);
		want_status(&node[i % NODES], &adm[i % NODES], "PUT", path,
		    "{}", 201, &r);
		rev[i] = json_integer_value(json_object_get(r.json,
		    "revision"));
		hresp_free(&r);
		cr_assert_eq(wait_changes(&w, base, i + 1, WITHIN_MS), i + 1,
		    "s%02zu (written on instance %zu) not seen on the "
		    "watcher within a second", i, i % NODES);
	}
	/* Nothing twice, nothing late. */
	usleep(700 * 1000);
	ch = changes(&w, base);
	cr_assert_eq(json_array_size(ch), 30, "%zu changes",
	    json_array_size(ch));
	json_array_foreach(ch, i, e) {
		snprintf(path, sizeof(path), "s%02zu", i);
		cr_expect_str_eq(ev_type(e), "ADDED");
		cr_expect_str_eq(ev_name(e), path);
		cr_expect_eq(ev_rev(e), rev[i]);
		if (i > 0)
			cr_expect_gt(rev[i], rev[i - 1]);
	}
	json_decref(ch);
	hwatch_stop(&w);
}

Test(cluster_pg, since_resumes_on_another_instance)
{
	struct hcred	 adm[NODES];
	struct hresp	 r;
	struct hwatch	 w;
	json_t		*ch, *e;
	char		 path[96];
	int64_t		 rev[5], last;
	size_t		 i;

	start(3, "watch-history 16\n");
	for (i = 0; i < NODES; i++)
		hcred_admin(&node[i], &adm[i]);
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "/v1/services/r%zu", i);
		want_status(&node[0], &adm[0], "PUT", path, "{}", 201, &r);
		rev[i] = json_integer_value(json_object_get(r.json,
		    "revision"));
		hresp_free(&r);
	}
	/* Written on node 0, resumed on node 1 after the second write. */
	snprintf(path, sizeof(path), "/v1/services?watch=true&since=%lld",
	    (long long)rev[1]);
	hwatch_start(&w, &node[1], &adm[1], path);
	cr_assert_eq(hwatch_wait(&w, 4, 5000), 4, "status %ld", w.status);
	for (i = 0; i < 3; i++) {
		e = hwatch_event(&w, i);
		cr_expect_str_eq(ev_type(e), "ADDED");
		cr_expect_eq(ev_rev(e), rev[i + 2]);
	}
	cr_expect_str_eq(ev_type(hwatch_event(&w, 3)), "BOOKMARK");
	/* Live writes of a third instance follow. */
	want_status(&node[2], &adm[2], "PUT", "/v1/services/live", "{}", 201,
	    &r);
	last = json_integer_value(json_object_get(r.json, "revision"));
	hresp_free(&r);
	cr_assert_eq(wait_changes(&w, 0, 4, WITHIN_MS), 4);
	ch = changes(&w, 0);
	cr_expect_eq(ev_rev(json_array_get(ch, 3)), last);
	json_decref(ch);
	hwatch_stop(&w);

	/* A revision no instance has reached: 410 on every one. */
	snprintf(path, sizeof(path), "/v1/services?watch=true&since=%lld",
	    (long long)last + 1000);
	want_status(&node[2], &adm[2], "GET", path, NULL, 410, &r);
	hresp_free(&r);
	/* Past the history (16 events), trimmed by a sweeper: 410. */
	for (i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/v1/services/t%02zu", i);
		want_status(&node[i % NODES], &adm[i % NODES], "PUT", path,
		    "{}", 201, &r);
		hresp_free(&r);
	}
	snprintf(path, sizeof(path), "/v1/services?watch=true&since=%lld",
	    (long long)rev[0]);
	for (i = 0; i < 100; i++) {
		hreq(&node[2], &adm[2], "GET", path, NULL, NULL, NULL, &r);
		if (r.status == 410)
			break;
		hresp_free(&r);
		usleep(100 * 1000);
	}
	cr_assert_eq(r.status, 410, "the history was never trimmed");
	cr_expect_str_eq(hresp_error(&r), "gone");
	hresp_free(&r);
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

/*
 * Poll until GET path answers status on s; the ms from from until the
 * answer that had it, or -1 past ms.  The polls share one kept-alive
 * connection, so what is measured is the server's propagation, not a TCP
 * connect and TLS handshake of the test's own per poll (under sanitizers
 * on a loaded machine those added hundreds of ms); a kept connection's
 * cached client certificate verdict must see the change too.  Once it
 * does, a request on a new connection is checked to agree (untimed).
 */
static int64_t
until_status(const struct nsregd *s, const struct hcred *c,
    const char *path, long status, int64_t from, int64_t ms)
{
	struct curl_slist	*hdrs = NULL;
	struct hresp		 r;
	CURL			*h;
	long			 got;
	int64_t			 took = -1;

	h = harness_curl(s, c, path, &hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	for (;;) {
		got = 0;
		if (curl_easy_perform(h) == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &got);
		if (got == status) {
			took = util_now_ms() - from;
			break;
		}
		if (util_now_ms() - from > ms)
			break;
		usleep(10 * 1000);
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	if (took >= 0) {
		hreq(s, c, "GET", path, NULL, NULL, NULL, &r);
		cr_expect_eq(r.status, status, "GET %s on a new connection to "
		    "%s: %ld, want %ld: %s", path, s->url, r.status, status,
		    r.body != NULL ? r.body : "");
		hresp_free(&r);
	}
	return took;
}

Test(cluster_pg, rules_written_on_one_instance_are_enforced_on_another)
{
	struct hcred	 adm, client;
	struct hresp	 r;
	int64_t		 t0, took;

	start(2, NULL);
	hcred_admin(&node[0], &adm);
	hcred_x509(&node[1], &client);
	admin_put(&node[0], "/v1/services/db", "{}");
	/* No rule: the client may not find db, on either instance. */
	want_status(&node[1], &client, "GET", "/v1/services/db", NULL, 403,
	    &r);
	hresp_free(&r);
	admin_put(&node[0], "/v1/policies/find-db", "{\"effect\":\"permit\","
	    "\"actions\":[\"find\"],\"services\":[\"db\"],"
	    "\"condition\":\"principal.trust_domain == 'example.org'\"}");
	t0 = util_now_ms();
	took = until_status(&node[1], &client, "/v1/services/db", 200, t0,
	    5000);
	cr_assert(took >= 0 && took <= WITHIN_MS, "the rule took effect on "
	    "the other instance after %lld ms", (long long)took);
	/* Deleted on the first: denied on the second again. */
	want_status(&node[0], &adm, "DELETE", "/v1/policies/find-db", NULL,
	    204, &r);
	hresp_free(&r);
	t0 = util_now_ms();
	took = until_status(&node[1], &client, "/v1/services/db", 403, t0,
	    5000);
	cr_assert(took >= 0 && took <= WITHIN_MS, "the deleted rule still "
	    "held on the other instance after %lld ms", (long long)took);
}

Test(cluster_pg, a_trust_domain_added_on_one_instance_is_used_by_another)
{
	struct svid_ca	*b;
	struct hcred	 x;
	int64_t		 t0, took;

	start(2, NULL);
	b = idfix_ca("b.test");
	idfix_x509_id(&node[1], b, "spiffe://b.test/w", &x);
	idfix_whoami(&node[1], &x, 401,
	    "x509: no bundle for trust domain b.test");
	idfix_td_put(&node[0], "b.test", idfix_td_body(b), 201);
	t0 = util_now_ms();
	took = until_status(&node[1], &x, "/v1/whoami", 200, t0, 5000);
	cr_assert(took >= 0 && took <= WITHIN_MS, "b.test known on the other "
	    "instance after %lld ms", (long long)took);
	idfix_td_delete(&node[0], "b.test", 204);
	t0 = util_now_ms();
	took = until_status(&node[1], &x, "/v1/whoami", 401, t0, 5000);
	cr_assert(took >= 0 && took <= WITHIN_MS, "b.test still trusted on "
	    "the other instance after %lld ms", (long long)took);
	svid_ca_free(b);
}

struct racer {
	const struct nsregd	*s;
	struct hcred		*creds;
	int			 n;
	json_t			*addrs;
	int			 failed;
	char			 detail[256];
};

static void *
racer_main(void *arg)
{
	struct racer	*r = arg;
	struct hresp	 resp;
	int		 i;

	for (i = 0; i < r->n; i++) {
		if (hreq(r->s, &r->creds[i], "POST", "/v1/grants",
		    "{\"service\":\"db\"}", NULL, NULL, &resp) == -1 ||
		    resp.status != 201) {
			if (r->failed++ == 0)
				snprintf(r->detail, sizeof(r->detail),
				    "%ld %s", resp.status, resp.body != NULL ?
				    resp.body : "");
		} else
			json_array_append(r->addrs, json_object_get(resp.json,
			    "address"));
		hresp_free(&resp);
	}
	return NULL;
}

/* Service db (vL3 when vl3) with endpoints db-1 and db-2 on node 0. */
static void
db_setup(int vl3)
{
	struct hcred	owner;
	struct hresp	r;
	int		i;
	char		path[64];

	allow_all(&node[0]);
	admin_put(&node[0], "/v1/services/db", vl3 ?
	    "{\"vl3\":{\"prefix\":\"10.60.0.0/16\"}}" : "{}");
	hcred_x509(&node[0], &owner);
	for (i = 1; i <= 2; i++) {
		snprintf(path, sizeof(path), "/v1/endpoints/db-%d", i);
		want_status(&node[0], &owner, "PUT", path,
		    "{\"url\":\"tcp://10.1.0.5:5432\","
		    "\"network_service_names\":[\"db\"]}", 201, &r);
		hresp_free(&r);
	}
}

Test(cluster_pg, grants_spread_over_instances_get_distinct_addresses)
{
	struct hcred	*creds;
	struct racer	 r[NODES];
	pthread_t	 t[NODES];
	json_t		*seen;
	const json_t	*a;
	char		 id[128];
	size_t		 i, j, total = 500;

	start(3, GRANT_CONF);
	db_setup(1);
	/* Everything written on node 0 is known to the others. */
	usleep(WITHIN_MS * 1000);
	creds = calloc(total, sizeof(*creds));
	cr_assert_not_null(creds);
	for (i = 0; i < total; i++) {
		snprintf(id, sizeof(id), "spiffe://example.org/race/%zu", i);
		hcred_issue_jwt(&node[0], id, 0, &creds[i]);
	}
	for (i = 0; i < NODES; i++) {
		r[i].s = &node[i];
		r[i].creds = creds + i * (total / NODES);
		r[i].n = (int)(i + 1 < NODES ? total / NODES :
		    total - i * (total / NODES));
		r[i].addrs = json_array();
		r[i].failed = 0;
		r[i].detail[0] = '\0';
		cr_assert_eq(pthread_create(&t[i], NULL, racer_main, &r[i]),
		    0);
	}
	seen = json_object();
	for (i = 0; i < NODES; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(r[i].failed, 0, "instance %zu: %d failed: %s", i,
		    r[i].failed, r[i].detail);
		json_array_foreach(r[i].addrs, j, a) {
			cr_expect_null(json_object_get(seen,
			    json_string_value(a)), "%s given twice",
			    json_string_value(a));
			json_object_set_new(seen, json_string_value(a),
			    json_true());
		}
		json_decref(r[i].addrs);
	}
	cr_expect_eq(json_object_size(seen), total);
	/* Lowest first across instances: 10.60.0.1 to 10.60.1.244. */
	cr_expect_not_null(json_object_get(seen, "10.60.0.1/32"));
	cr_expect_not_null(json_object_get(seen, "10.60.1.244/32"));
	cr_expect_null(json_object_get(seen, "10.60.1.245/32"));
	json_decref(seen);
	free(creds);
}

/* POST /v1/grants on s for a new principal id; the grant (new ref). */
static json_t *
grant(const struct nsregd *s, const char *id, const char *body)
{
	struct hcred	 c;
	struct hresp	 r;
	json_t		*g;

	hcred_issue_jwt(&node[0], id, 0, &c);
	want_status(s, &c, "POST", "/v1/grants", body, 201, &r);
	g = json_incref(r.json);
	hresp_free(&r);
	return g;
}

static const char *
grant_endpoint(const json_t *g)
{
	return json_string_value(json_object_get(json_object_get(g,
	    "endpoint"), "name"));
}

Test(cluster_pg, least_loaded_counts_every_instance_s_grants)
{
	json_t		*g[4];
	int		 i;

	start(2, GRANT_CONF);
	db_setup(0);
	usleep(WITHIN_MS * 1000);
	/* Two grants on node 0, pinned to db-1. */
	g[0] = grant(&node[0], "spiffe://example.org/p0",
	    "{\"service\":\"db\",\"endpoint\":\"db-1\"}");
	g[1] = grant(&node[0], "spiffe://example.org/p1",
	    "{\"service\":\"db\",\"endpoint\":\"db-1\"}");
	cr_assert_str_eq(grant_endpoint(g[0]), "db-1");
	usleep(WITHIN_MS * 1000);
	/* Node 1 knows db-1 carries two: its choices go to db-2. */
	g[2] = grant(&node[1], "spiffe://example.org/p2",
	    "{\"service\":\"db\"}");
	cr_expect_str_eq(grant_endpoint(g[2]), "db-2");
	g[3] = grant(&node[1], "spiffe://example.org/p3",
	    "{\"service\":\"db\"}");
	cr_expect_str_eq(grant_endpoint(g[3]), "db-2");
	for (i = 0; i < 4; i++)
		json_decref(g[i]);
}

Test(cluster_pg, every_instance_signs_with_one_key_and_publishes_it)
{
	struct hcred	 c;
	struct hresp	 ja, jb, r;
	json_t		*g;
	int		 i;

	start(2, GRANT_CONF);
	db_setup(0);
	usleep(WITHIN_MS * 1000);
	hcred_none(&c);
	want_status(&node[0], &c, "GET", "/v1/jwks", NULL, 200, &ja);
	want_status(&node[1], &c, "GET", "/v1/jwks", NULL, 200, &jb);
	cr_expect_str_eq(ja.body, jb.body, "the instances publish different "
	    "keys");
	cr_expect_eq(json_array_size(json_object_get(ja.json, "keys")), 1);
	hresp_free(&ja);
	hresp_free(&jb);
	/* A token of either instance is active on the other. */
	for (i = 0; i < 2; i++) {
		g = grant(&node[i], i == 0 ? "spiffe://example.org/k0" :
		    "spiffe://example.org/k1", "{\"service\":\"db\"}");
		hcred_x509(&node[1 - i], &c);
		hreq_json(&node[1 - i], &c, "POST", "/v1/grants/introspect",
		    json_pack("{s:s}", "token", json_string_value(
		    json_object_get(g, "token"))), &r);
		cr_expect_eq(r.status, 200, "%s", r.body);
		cr_expect(json_is_true(json_object_get(r.json, "active")),
		    "token of instance %d not active on the other: %s", i,
		    r.body);
		hresp_free(&r);
		json_decref(g);
	}
}

Test(cluster_pg, an_expired_endpoint_is_deleted_once)
{
	struct hcred	 owner, adm[NODES];
	struct hresp	 r;
	struct hwatch	 w[NODES];
	json_t		*ch, *e;
	char		 body[256], ts[UTIL_RFC3339_MAX];
	int64_t		 del_rev[NODES];
	size_t		 i, j, n;

	start(3, NULL);
	allow_all(&node[0]);
	admin_put(&node[0], "/v1/services/db", "{}");
	usleep(WITHIN_MS * 1000);
	for (i = 0; i < NODES; i++) {
		hcred_admin(&node[i], &adm[i]);
		hwatch_start(&w[i], &node[i], &adm[i],
		    "/v1/endpoints?watch=true");
		wait_bookmark(&w[i], 1);
	}
	hcred_x509(&node[0], &owner);
	snprintf(body, sizeof(body), "{\"url\":\"tcp://10.1.0.9:1\","
	    "\"network_service_names\":[\"db\"],\"expiration_time\":\"%s\"}",
	    util_rfc3339_format(util_now_ms() + 2000, ts, sizeof(ts)));
	want_status(&node[0], &owner, "PUT", "/v1/endpoints/brief", body, 201,
	    &r);
	hresp_free(&r);
	/* Every instance runs a sweeper; one DELETED reaches each. */
	for (i = 0; i < NODES; i++)
		cr_assert_eq(wait_changes(&w[i], 1, 2, 10000), 2,
		    "instance %zu saw no DELETED", i);
	usleep(1500 * 1000);
	for (i = 0; i < NODES; i++) {
		ch = changes(&w[i], 1);
		n = 0;
		json_array_foreach(ch, j, e) {
			if (strcmp(ev_type(e), "DELETED") == 0) {
				n++;
				del_rev[i] = ev_rev(e);
			}
		}
		cr_expect_eq(n, 1, "instance %zu saw %zu DELETED", i, n);
		cr_expect_eq(json_array_size(ch), 2);
		json_decref(ch);
		if (i > 0)
			cr_expect_eq(del_rev[i], del_rev[0]);
		hwatch_stop(&w[i]);
	}
}

/* The value of the counter line that starts with name in s's /metrics. */
static long long
metric(const struct nsregd *s, const char *name)
{
	struct hcred	 adm;
	struct hresp	 r;
	const char	*at;
	long long	 v = -1;

	hcred_admin(s, &adm);
	want_status(s, &adm, "GET", "/metrics", NULL, 200, &r);
	if ((at = strstr(r.body, name)) != NULL)
		v = strtoll(at + strlen(name), NULL, 10);
	hresp_free(&r);
	return v;
}

/*
 * Read after acknowledgement across instances (DESIGN section 6): a
 * ?service= list on any instance, started right after a write was
 * acknowledged by another, holds that write; the lists are answered
 * from memory (the endpoint cache), not by reading the database.
 */
Test(cluster_pg, a_service_list_holds_every_write_acknowledged_anywhere)
{
	struct hcred	 owner[NODES];
	struct hresp	 r;
	json_t		*items;
	char		 path[64], body[160];
	size_t		 i, j, k, n, live;
	int		 gone[40] = { 0 };
	long long	 mem0[NODES], mem, dbn;

	start(3, GRANT_CONF);
	allow_all(&node[0]);
	admin_put(&node[0], "/v1/services/db", "{}");
	for (i = 0; i < NODES; i++) {
		hcred_x509(&node[i], &owner[i]);
		cr_assert_geq(until_status(&node[i], &owner[i],
		    "/v1/endpoints?service=db", 200, util_now_ms(), 5000), 0,
		    "the rule never reached instance %zu", i);
		mem0[i] = metric(&node[i], "nsreg_store_service_lists_total"
		    "{source=\"memory\"} ");
	}
	n = 0;
	for (i = 0; i < 40; i++) {
		/* Every fifth write removes an earlier endpoint. */
		if (i % 5 == 4) {
			snprintf(path, sizeof(path), "/v1/endpoints/ep%02zu",
			    i - 3);
			want_status(&node[i % NODES], &owner[i % NODES],
			    "DELETE", path, NULL, 204, &r);
			gone[i - 3] = 1;
		} else {
			snprintf(path, sizeof(path), "/v1/endpoints/ep%02zu",
			    i);
			snprintf(body, sizeof(body), "{\"url\":\"tcp://10.2.0."
			    "%zu:1\",\"network_service_names\":[\"db\"]}", i);
			want_status(&node[i % NODES], &owner[i % NODES], "PUT",
			    path, body, 201, &r);
			n = i;
		}
		hresp_free(&r);
		/* At once, on the two other instances. */
		for (k = 1; k < NODES; k++) {
			want_status(&node[(i + k) % NODES],
			    &owner[(i + k) % NODES], "GET",
			    "/v1/endpoints?service=db", NULL, 200, &r);
			items = json_object_get(r.json, "items");
			live = 0;
			for (j = 0; j <= n; j++) {
				if (j % 5 == 4 || gone[j])
					continue;
				live++;
				snprintf(path, sizeof(path), "ep%02zu", j);
				cr_assert(strstr(r.body, path) != NULL, "after write %zu on instance "
				    "%zu, instance %zu lists no %s: %s", i,
				    i % NODES, (i + k) % NODES, path, r.body);
			}
			cr_assert_eq(json_array_size(items), live, "after "
			    "write %zu, instance %zu lists %zu, want %zu: %s",
			    i, (i + k) % NODES, json_array_size(items), live,
			    r.body);
			hresp_free(&r);
		}
	}
	for (i = 0; i < NODES; i++) {
		mem = metric(&node[i], "nsreg_store_service_lists_total"
		    "{source=\"memory\"} ");
		dbn = metric(&node[i], "nsreg_store_service_lists_total"
		    "{source=\"database\"} ");
		cr_expect_geq(mem - mem0[i], 26, "instance %zu answered %lld "
		    "lists from memory", i, mem - mem0[i]);
		cr_expect_eq(dbn, 0, "instance %zu read the database for %lld "
		    "lists", i, dbn);
	}
}

/* 1 once w's stream ended, waiting at most ms. */
static int
watch_ended(struct hwatch *w, int64_t ms)
{
	int64_t	end = util_now_ms() + ms;
	int	done;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		done = w->done;
		pthread_mutex_unlock(&w->lock);
		if (done || util_now_ms() >= end)
			return done;
		usleep(20 * 1000);
	}
}

/*
 * An instance that missed events (trimmed from the history before it
 * read them, as after a long cut-off from the database) loads again what
 * it built from them: a rule and a trust domain deleted in the lost
 * events stop being enforced and trusted, and its watch streams end
 * (their history is gone) so that clients list again.  The lost writes
 * are made by hand, as the trim would leave them: the rows deleted with
 * no event left for them, the trim marks past them, and one later event
 * that shows the gap.
 */
Test(cluster_pg, an_instance_that_missed_events_loads_again)
{
	struct svid_ca	*b;
	struct hcred	 adm, client, x;
	struct hwatch	 w;
	PGconn		*c;
	PGresult	*r;
	char		 sql[1536];
	int64_t		 t0, took;

	start(2, NULL);
	hcred_admin(&node[0], &adm);
	hcred_x509(&node[1], &client);
	b = idfix_ca("b.test");
	idfix_x509_id(&node[1], b, "spiffe://b.test/w", &x);
	idfix_td_put(&node[0], "b.test", idfix_td_body(b), 201);
	cr_assert_geq(until_status(&node[1], &x, "/v1/whoami", 200,
	    util_now_ms(), 5000), 0, "b.test never trusted on instance 1");
	admin_put(&node[0], "/v1/services/db", "{}");
	admin_put(&node[0], "/v1/policies/find-db", "{\"effect\":\"permit\","
	    "\"actions\":[\"find\"],\"services\":[\"db\"],"
	    "\"condition\":\"principal.trust_domain == 'example.org'\"}");
	cr_assert_geq(until_status(&node[1], &client, "/v1/services/db", 200,
	    util_now_ms(), 5000), 0, "the rule never reached instance 1");
	hcred_admin(&node[1], &adm);
	hwatch_start(&w, &node[1], &adm, "/v1/services?watch=true");
	wait_bookmark(&w, 2);
	snprintf(sql, sizeof(sql),
	    "DO $$ DECLARE r bigint; BEGIN "
	    "SELECT value INTO r FROM meta WHERE key = 'revision' FOR UPDATE; "
	    "DELETE FROM objects WHERE (kind = %d AND name = 'find-db') "
	    "OR (kind = %d AND name = 'b.test'); "
	    "INSERT INTO objects (kind, name, revision, created_at, "
	    "updated_at, expires_at, object) VALUES (%d, 'gap', r + 2, 0, 0, "
	    "0, '{\"name\":\"gap\",\"revision\":' || (r + 2) || '}'); "
	    "INSERT INTO events (revision, kind, type, name, object) VALUES "
	    "(r + 2, %d, %d, 'gap', '{\"name\":\"gap\",\"revision\":' || "
	    "(r + 2) || '}'); "
	    "INSERT INTO meta (key, value) VALUES ('trimmed.%d', r + 1), "
	    "('trimmed.%d', r + 1), ('trimmed.%d', r + 1) "
	    "ON CONFLICT (key) DO UPDATE "
	    "SET value = excluded.value; "
	    "UPDATE meta SET value = r + 2 WHERE key = 'revision'; END $$",
	    (int)STORE_POLICY, (int)STORE_TRUST_DOMAIN, (int)STORE_SERVICE,
	    (int)STORE_SERVICE, (int)STORE_ADDED, (int)STORE_POLICY,
	    (int)STORE_TRUST_DOMAIN, (int)STORE_SERVICE);
	c = PQconnectdb(db);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s",
	    PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	/* The lost deletion holds on instance 1 once it loaded again. */
	t0 = util_now_ms();
	took = until_status(&node[1], &client, "/v1/services/db", 403, t0,
	    5000);
	cr_assert(took >= 0 && took <= 2000, "the rule deleted in the missed "
	    "events still held after %lld ms", (long long)took);
	took = until_status(&node[1], &x, "/v1/whoami", 401, t0, 5000);
	cr_assert(took >= 0 && took <= 2000, "the trust domain deleted in the "
	    "missed events still trusted after %lld ms", (long long)took);
	cr_assert(watch_ended(&w, 3000), "a watch stream whose events were "
	    "missed goes on");
	hwatch_stop(&w);
	svid_ca_free(b);
}

/* The number of keys s publishes. */
static size_t
jwks_size(const struct nsregd *s)
{
	struct hcred	c;
	struct hresp	r;
	size_t		n;

	hcred_none(&c);
	want_status(s, &c, "GET", "/v1/jwks", NULL, 200, &r);
	n = json_array_size(json_object_get(r.json, "keys"));
	hresp_free(&r);
	return n;
}

Test(cluster_pg, a_grant_key_rotated_on_one_instance_is_published_by_all)
{
	char	path[PATH_MAX];
	int64_t	t0, end;
	int	i;

	start(2, GRANT_CONF);
	db_setup(0);
	usleep(WITHIN_MS * 1000);
	json_decref(grant(&node[0], "spiffe://example.org/old",
	    "{\"service\":\"db\"}"));
	cr_assert_eq(jwks_size(&node[1]), 1);
	/* Node 0 reloads with a new key: the old one stays published
	 * while its grant lives. */
	harness_grant_key(nsregd_path(&node[0], "grant.key", path,
	    sizeof(path)));
	nsregd_signal(&node[0], SIGHUP);
	end = util_now_ms() + 10000;
	while (jwks_size(&node[0]) != 2 && util_now_ms() < end)
		usleep(20 * 1000);
	cr_assert_eq(jwks_size(&node[0]), 2, "node 0 did not reload");
	t0 = util_now_ms();
	for (i = 0; jwks_size(&node[1]) != 2 &&
	    util_now_ms() - t0 <= WITHIN_MS; i++)
		usleep(20 * 1000);
	cr_assert_eq(jwks_size(&node[1]), 2, "the new key not published by "
	    "the other instance within a second");
}

Test(cluster_pg, an_instance_with_another_grant_key_says_so)
{
	struct hcred	 c;
	struct hresp	 r;
	char		 path[PATH_MAX];
	int64_t		 end;

	start(2, GRANT_CONF);
	db_setup(0);
	usleep(WITHIN_MS * 1000);
	/* A grant keeps the first key published once retired. */
	json_decref(grant(&node[0], "spiffe://example.org/early",
	    "{\"service\":\"db\"}"));
	/* Node 1 alone moves to another key: node 0's key is retired. */
	harness_grant_key(nsregd_path(&node[1], "grant.key", path,
	    sizeof(path)));
	nsregd_signal(&node[1], SIGHUP);
	end = util_now_ms() + 10000;
	while (jwks_size(&node[1]) != 2 && util_now_ms() < end)
		usleep(20 * 1000);
	cr_assert_eq(jwks_size(&node[1]), 2, "node 1 did not reload");
	hcred_issue_jwt(&node[0], "spiffe://example.org/late", 0, &c);
	want_status(&node[0], &c, "POST", "/v1/grants",
	    "{\"service\":\"db\"}", 503, &r);
	cr_expect_str_eq(hresp_error(&r), "unavailable");
	cr_expect(strstr(r.body, "another instance uses another grant-key")
	    != NULL, "%s", r.body);
	hresp_free(&r);
	/* Node 1 still grants. */
	json_decref(grant(&node[1], "spiffe://example.org/fine",
	    "{\"service\":\"db\"}"));
}
