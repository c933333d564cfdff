/*
 * test_peer_pool.c - interdomain reads on pooled connections (peer.h),
 * between two real registries on loopback: b.test's workloads read
 * db@a.test through b.test's registry.  Many reads share one connection
 * (one handshake, counted by a.test's nsreg_http_connections_total and
 * b.test's nsreg_peer_connections_total); a restarted peer is reached
 * again on a new connection; a peer that is down is left alone for
 * interdomain-backoff (502 at once, with the last error), then asked
 * again; a peer's rotated CA makes new connections, verified with the
 * new bundle.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regfix.h"
#include "util.h"

static struct registry	a, b;

static void
policy(struct registry *r, const char *name, json_t *rule)
{
	struct hresp	resp;
	char		path[256];

	snprintf(path, sizeof(path), "/v1/policies/%s", name);
	registry_req(r, NULL, "PUT", path, rule, &resp);
	cr_assert(resp.status == 200 || resp.status == 201, "%s: %ld %s",
	    path, resp.status, resp.body);
	hresp_free(&resp);
}

static void
setup(void)
{
	struct hresp	r;
	struct hcred	c;

	registry_start(&a, "a.test", NULL);
	registry_start(&b, "b.test", "interdomain-backoff 1500ms\n");
	policy(&b, "local", json_pack("{s:s, s:[s], s:s}", "effect",
	    "permit", "actions", "find", "condition",
	    "principal.trust_domain == 'b.test'"));
	policy(&a, "b-finds-db", json_pack("{s:s, s:[s], s:[s], s:s}",
	    "effect", "permit", "actions", "find", "services", "db",
	    "condition", "principal.trust_domain == 'b.test'"));
	policy(&a, "local", json_pack("{s:s, s:[s, s], s:s}", "effect",
	    "permit", "actions", "find", "register", "condition",
	    "principal.trust_domain == 'a.test'"));
	registry_federate(&a, &b, 1);
	registry_federate(&b, &a, 1);
	registry_req(&b, NULL, "POST", "/v1/trust-domains/a.test/refresh",
	    NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);
	registry_req(&a, NULL, "PUT", "/v1/services/db", json_pack("{s:{}}",
	    "labels"), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	hresp_free(&r);
	registry_client(&a, &c);
	registry_req(&a, &c, "PUT", "/v1/endpoints/db-1", json_pack(
	    "{s:s, s:[s]}", "url", "tcp://10.0.0.1:5432",
	    "network_service_names", "db"), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	hresp_free(&r);
}

static void
teardown(void)
{
	registry_cleanup(&a);
	registry_cleanup(&b);
}

TestSuite(peer_pool, .init = setup, .fini = teardown, .timeout = 120);

/* The value of the series named exactly so in r's /metrics, 0 if none. */
static long long
metric(struct registry *r, const char *series)
{
	struct hresp	 resp;
	const char	*p;
	size_t		 n = strlen(series);
	long long	 v = 0;

	registry_req(r, NULL, "GET", "/metrics", NULL, &resp);
	cr_assert_eq(resp.status, 200, "%s", resp.body);
	for (p = resp.body; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			v = strtoll(p + n + 1, NULL, 10);
			break;
		}
	}
	hresp_free(&resp);
	return v;
}

#define CONNS_TO_A	"nsreg_peer_connections_total{trust_domain=\"a.test\"}"
#define OK_TO_A		"nsreg_peer_requests_total{trust_domain=\"a.test\"," \
			    "result=\"ok\"}"
#define BACKOFF_TO_A	"nsreg_peer_requests_total{trust_domain=\"a.test\"," \
			    "result=\"backoff\"}"
#define REFRESH_OF_A	"nsreg_bundle_refresh_total{trust_domain=\"a.test\"," \
			    "result=\"ok\"}"

/* GET path at b.test as its client: the status (the body into msg). */
static long
read_b(const char *path, char *msg, size_t len)
{
	struct hcred	c;
	struct hresp	r;
	long		status;

	registry_client(&b, &c);
	registry_req(&b, &c, "GET", path, NULL, &r);
	status = r.status;
	if (msg != NULL)
		snprintf(msg, len, "%s", r.body != NULL ? r.body : "");
	hresp_free(&r);
	return status;
}

static void
expect_read_ok(void)
{
	char	msg[1024];

	cr_assert_eq(read_b("/v1/services/db@a.test", msg, sizeof(msg)), 200,
	    "%s", msg);
}

Test(peer_pool, many_reads_share_one_connection)
{
	static const char *const paths[] = {
		"/v1/services/db@a.test",
		"/v1/endpoints?service=db@a.test",
		"/v1/endpoints/db-1@a.test"
	};
	char		msg[1024];
	long long	c0, c1, r0, r1;
	int		i;

	expect_read_ok();
	cr_expect_eq(metric(&b, CONNS_TO_A), 1);
	c0 = metric(&a, "nsreg_http_connections_total");
	r0 = metric(&b, REFRESH_OF_A);
	for (i = 0; i < 60; i++)
		cr_assert_eq(read_b(paths[i % 3], msg, sizeof(msg)), 200,
		    "%s: %s", paths[i % 3], msg);
	r1 = metric(&b, REFRESH_OF_A);
	c1 = metric(&a, "nsreg_http_connections_total");
	/* b.test opened no other connection to a.test ... */
	cr_expect_eq(metric(&b, CONNS_TO_A), 1);
	cr_expect_eq(metric(&b, OK_TO_A), 61);
	/*
	 * ... and a.test saw none but b.test's bundle fetches (each on a
	 * connection of its own, one maybe in flight at either end) and
	 * this test's last /metrics.
	 */
	cr_expect_leq(c1 - c0, (r1 - r0) + 3, "a.test accepted %lld "
	    "connections during 60 reads (%lld bundle fetches)", c1 - c0,
	    r1 - r0);
}

Test(peer_pool, a_restarted_peer_is_reached_on_a_new_connection)
{
	expect_read_ok();
	nsregd_stop(&a.s);
	nsregd_restart(&a.s);
	/* The pooled connection died with the old process. */
	expect_read_ok();
	cr_expect_eq(metric(&b, CONNS_TO_A), 2);
	expect_read_ok();
	cr_expect_eq(metric(&b, CONNS_TO_A), 2);
}

Test(peer_pool, a_peer_down_is_left_alone_then_asked_again)
{
	char	msg[2048];
	int64_t	t0, t1, dt;
	long	status = 0;
	int	i;

	expect_read_ok();
	nsregd_stop(&a.s);
	t0 = util_mono_us() / 1000;
	cr_expect_eq(read_b("/v1/services/db@a.test", msg, sizeof(msg)), 502,
	    "%s", msg);
	cr_expect(strstr(msg, "registry of a.test https://127.0.0.1:") !=
	    NULL, "%s", msg);
	/* Within the backoff: no new try, the last error at once. */
	for (i = 0; i < 5; i++) {
		t1 = util_mono_us() / 1000;
		cr_expect_eq(read_b("/v1/endpoints?service=db@a.test", msg,
		    sizeof(msg)), 502, "%s", msg);
		dt = util_mono_us() / 1000 - t1;
		cr_expect_lt(dt, 1000, "a read in the backoff took %lld ms",
		    (long long)dt);
		cr_expect(strstr(msg, "registry of a.test https://127.0.0.1:")
		    != NULL && strstr(msg, "unreachable for") != NULL, "%s",
		    msg);
	}
	cr_expect_eq(metric(&b, BACKOFF_TO_A), 5);
	nsregd_restart(&a.s);
	/* Asked again once the backoff (1.5 s) is over. */
	for (i = 0; i < 100; i++) {
		status = read_b("/v1/services/db@a.test", msg, sizeof(msg));
		if (status == 200)
			break;
		cr_expect_eq(status, 502, "%s", msg);
		usleep(100 * 1000);
	}
	cr_expect_eq(status, 200, "%s", msg);
	cr_expect_geq(util_mono_us() / 1000 - t0, 1400);
}

Test(peer_pool, a_rotated_peer_ca_makes_new_verified_connections)
{
	struct nsreg_error	 err;
	struct svid_ca		*next, *cas[2];
	int			 i;

	for (i = 0; i < 3; i++)
		expect_read_ok();
	cr_expect_eq(metric(&b, CONNS_TO_A), 1);
	next = svid_ca_generate("a.test", util_now_ms(), 0, &err);
	cr_assert_not_null(next, "%s", err.message);
	/* a.test moves to a new CA: both, then the new one alone. */
	cas[0] = a.ca;
	cas[1] = next;
	registry_write_bundle(&a, cas, 2, 2);
	nsregd_signal(&a.s, SIGHUP);
	cr_assert(registry_wait_sequence(&b, "a.test", 2, 8000),
	    "b.test did not pick up a.test's bundle 2");
	registry_issue_server(&a, next);
	registry_write_bundle(&a, &cas[1], 1, 3);
	nsregd_signal(&a.s, SIGHUP);
	cr_assert(registry_wait_sequence(&b, "a.test", 3, 8000),
	    "b.test did not pick up a.test's bundle 3");
	/*
	 * The pooled connection (a.test's old certificate, of a CA b.test
	 * no longer trusts) carries nothing more: a new one, verified with
	 * bundle 3, does.
	 */
	expect_read_ok();
	cr_expect_eq(metric(&b, CONNS_TO_A), 2);
	for (i = 0; i < 3; i++)
		expect_read_ok();
	cr_expect_eq(metric(&b, CONNS_TO_A), 2);
	svid_ca_free(next);
}

/* How many events of w have type and object name (or any name: NULL). */
static int
count_events(struct hwatch *w, const char *type, const char *name)
{
	json_t		*ev;
	const char	*t, *n;
	size_t		 i;
	int		 k = 0;

	for (i = 0; (ev = hwatch_event(w, i)) != NULL; i++) {
		t = json_string_value(json_object_get(ev, "type"));
		n = json_string_value(json_object_get(json_object_get(ev,
		    "object"), "name"));
		if (t != NULL && strcmp(t, type) == 0 && (name == NULL ||
		    (n != NULL && strcmp(n, name) == 0)))
			k++;
	}
	return k;
}

/* Wait up to ms for w to hold an event of type about name. */
static int
wait_event(struct hwatch *w, const char *type, const char *name, int ms)
{
	size_t	n = 0;

	for (; ms > 0; ms -= 100) {
		if (count_events(w, type, name) > 0)
			return 1;
		n = hwatch_wait(w, n + 1, 100);
	}
	return count_events(w, type, name) > 0;
}

static void
register_a(const char *name)
{
	struct hcred	c;
	struct hresp	r;
	char		path[128];

	registry_client(&a, &c);
	snprintf(path, sizeof(path), "/v1/endpoints/%s", name);
	registry_req(&a, &c, "PUT", path, json_pack("{s:s, s:[s]}", "url",
	    "tcp://10.0.0.2:5432", "network_service_names", "db"), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	hresp_free(&r);
}

Test(peer_pool, a_watch_of_the_peer_is_shared_and_resumed_after_a_restart)
{
	static const char	*path = "/v1/endpoints?service=db@a.test&"
				    "watch=true";
	struct hwatch		 w1, w2;
	struct hcred		 c;
	json_t			*ev, *prev = NULL;
	const char		*t;
	long long		 rev, last = -1;
	size_t			 i;

	registry_client(&b, &c);
	hwatch_start(&w1, &b.s, &c, path);
	cr_assert_eq(hwatch_wait(&w1, 2, 10000), 2);
	ev = hwatch_event(&w1, 0);
	cr_expect_str_eq(json_string_value(json_object_get(ev, "type")),
	    "ADDED");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(
	    ev, "object"), "name")), "db-1@a.test");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(ev, "object"), "network_service_names"), 0)),
	    "db@a.test");
	ev = hwatch_event(&w1, 1);
	cr_expect_str_eq(json_string_value(json_object_get(ev, "type")),
	    "BOOKMARK");
	/* A second watcher of the same query joins the same upstream. */
	hwatch_start(&w2, &b.s, &c, path);
	cr_assert_eq(hwatch_wait(&w2, 2, 10000), 2);
	cr_expect_eq(count_events(&w2, "ADDED", "db-1@a.test"), 1);
	cr_expect_eq(json_integer_value(json_object_get(hwatch_event(&w2, 1),
	    "revision")), json_integer_value(json_object_get(
	    hwatch_event(&w1, 1), "revision")));
	sleep(2);
	cr_expect_eq(metric(&a, "nsreg_watchers"), 1,
	    "a.test serves one watch for b.test's two watchers");

	register_a("db-2");
	cr_expect(wait_event(&w1, "ADDED", "db-2@a.test", 10000));
	cr_expect(wait_event(&w2, "ADDED", "db-2@a.test", 10000));
	/* a.test restarts; db-3 comes before b.test is back. */
	nsregd_stop(&a.s);
	nsregd_restart(&a.s);
	register_a("db-3");
	cr_expect(wait_event(&w1, "ADDED", "db-3@a.test", 20000),
	    "the watch did not resume");
	cr_expect(wait_event(&w2, "ADDED", "db-3@a.test", 20000));
	/* Every change once, in revision order. */
	cr_expect_eq(count_events(&w1, "ADDED", "db-1@a.test"), 1);
	cr_expect_eq(count_events(&w1, "ADDED", "db-2@a.test"), 1);
	cr_expect_eq(count_events(&w1, "ADDED", "db-3@a.test"), 1);
	cr_expect_eq(count_events(&w1, "ADDED", NULL), 3);
	cr_expect_eq(count_events(&w1, "MODIFIED", NULL) +
	    count_events(&w1, "DELETED", NULL), 0);
	for (i = 0; (ev = hwatch_event(&w1, i)) != NULL; i++) {
		t = json_string_value(json_object_get(ev, "type"));
		rev = json_integer_value(json_object_get(ev, "revision"));
		if (t != NULL && strcmp(t, "ADDED") == 0 && prev != NULL)
			cr_expect_gt(rev, last, "event %zu goes back", i);
		if (t != NULL && strcmp(t, "ADDED") == 0) {
			prev = ev;
			last = rev;
		}
	}
	hwatch_stop(&w1);
	hwatch_stop(&w2);
}

static void *
h2_read(void *arg)
{
	long	*status = arg;

	*status = read_b("/v1/endpoints?service=db@a.test", NULL, 0);
	return NULL;
}

Test(peer_pool, reads_of_a_peers_h2_listener_share_one_connection)
{
	struct hresp	 resp;
	json_error_t	 jerr;
	json_t		*bundle;
	pthread_t	 th[24];
	long		 status[24];
	char		 path[PATH_MAX], line[64], url[64];
	unsigned short	 port = harness_free_port();
	long long	 c0;
	size_t		 i;
	FILE		*f;

	/* a.test listens for HTTP/2 too; b.test asks it there. */
	nsregd_stop(&a.s);
	f = fopen(nsregd_path(&a.s, "nsregd.conf", path, sizeof(path)), "a");
	cr_assert_not_null(f);
	snprintf(line, sizeof(line), "listen h2 127.0.0.1:%u\n", port);
	fputs(line, f);
	fclose(f);
	nsregd_restart(&a.s);
	bundle = json_load_file(nsregd_path(&a.s, "bundle.json", path,
	    sizeof(path)), 0, &jerr);
	cr_assert_not_null(bundle, "%s", jerr.text);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
	registry_req(&b, NULL, "PUT", "/v1/trust-domains/a.test", json_pack(
	    "{s:o, s:s}", "bundle", bundle, "registry_url", url), &resp);
	cr_assert_eq(resp.status, 200, "%s", resp.body);
	hresp_free(&resp);
	c0 = metric(&b, CONNS_TO_A);
	for (i = 0; i < 24; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, h2_read, &status[i]),
		    0);
	for (i = 0; i < 24; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(status[i], 200);
	}
	/* Twenty-four reads at once, multiplexed on one connection. */
	cr_expect_eq(metric(&b, CONNS_TO_A) - c0, 1);
	expect_read_ok();
	cr_expect_eq(metric(&b, CONNS_TO_A) - c0, 1);
}
