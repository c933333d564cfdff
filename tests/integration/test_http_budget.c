/*
 * test_http_budget.c - issue 18 item 3: a list decided rule by rule
 * spends at most the request's policy budget (policy-budget), the page
 * then ends with a next_page_token that resumes after the last record
 * decided, and probes are answered while such lists run.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define N_ENDPOINTS	1000
#define N_RULES		30

static struct nsregd	srv;

/* Endpoints e000.. and rules for find that look at every endpoint. */
static void
populate(void)
{
	struct hcred	 admin;
	struct hresp	 r;
	char		 path[64], name[32], rule[512];
	int		 i;

	nsregd_allow_local(&srv);
	for (i = 0; i < N_RULES; i++) {
		snprintf(name, sizeof(name), "find-%d", i);
		/* Forbids that never hold: every item evaluates them all. */
		snprintf(rule, sizeof(rule), "{\"effect\":\"forbid\","
		    "\"actions\":[\"find\"],\"condition\":\"[1, 2, 3, 4, 5]"
		    ".exists(x, endpoint.name.matches('^q%d' + "
		    "string(x) + '$'))\"}", i);
		nsregd_put_policy(&srv, name, rule);
	}
	hcred_admin(&srv, &admin);
	for (i = 0; i < N_ENDPOINTS; i++) {
		snprintf(path, sizeof(path), "/v1/endpoints/e%04d", i);
		hreq(&srv, &admin, "PUT", path, "{\"url\":\"tcp://10.0.1.1:5\","
		    "\"network_service_names\":[\"db\"]}", NULL, NULL, &r);
		cr_assert_eq(r.status, 201, "%s: %ld %s", path, r.status,
		    r.body);
		hresp_free(&r);
	}
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

/*
 * The endpoints outlive the slowest run: a list of 1,000 one-record
 * pages takes close to a minute under ASan on a loaded machine, and the
 * default lifetime (60s) expired the last records before their page.
 */
static void
setup_tight(void)
{
	nsregd_start(&srv, "policy-budget 1ms\nendpoint-default-ttl 1h\n");
	populate();
}

TestSuite(budget, .init = setup_tight, .fini = teardown, .timeout = 240);

Test(budget, a_list_is_cut_at_the_budget_and_resumes_after_it)
{
	struct hcred	 client;
	struct hresp	 r;
	json_t		*items;
	const char	*tok, *name;
	char		 path[2048], last[64] = "";
	size_t		 i, total = 0, pages = 0, first = 0;

	hcred_x509(&srv, &client);
	snprintf(path, sizeof(path), "/v1/endpoints?limit=1000");
	for (;;) {
		hreq(&srv, &client, "GET", path, NULL, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		items = json_object_get(r.json, "items");
		if (pages == 0)
			first = json_array_size(items);
		for (i = 0; i < json_array_size(items); i++) {
			name = json_string_value(json_object_get(
			    json_array_get(items, i), "name"));
			cr_assert(name != NULL);
			/* In order, each once. */
			cr_expect(strcmp(name, last) > 0, "%s after %s", name,
			    last);
			snprintf(last, sizeof(last), "%s", name);
			total++;
		}
		pages++;
		tok = json_string_value(json_object_get(r.json,
		    "next_page_token"));
		if (tok == NULL || tok[0] == '\0' || pages > N_ENDPOINTS) {
			hresp_free(&r);
			break;
		}
		snprintf(path, sizeof(path), "/v1/endpoints?limit=1000&"
		    "page_token=%s", tok);
		hresp_free(&r);
	}
	cr_expect_lt(first, N_ENDPOINTS, "the first page was not cut");
	cr_expect_gt(pages, 1);
	cr_expect_eq(total, N_ENDPOINTS, "%zu records over %zu pages", total,
	    pages);
}

/* ---- probes while lists run --------------------------------------- */

static atomic_int	stop;

static void *
lister(void *arg)
{
	struct hcred	*client = arg;
	struct hresp	 r;

	while (!atomic_load(&stop)) {
		hreq(&srv, client, "GET", "/v1/endpoints?limit=1000", NULL,
		    NULL, NULL, &r);
		hresp_free(&r);
	}
	return NULL;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec	t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
setup_wide(void)
{
	/* Lists that each take their time: the probes must not wait. */
	nsregd_start(&srv, "policy-budget 10s\n");
	populate();
}

TestSuite(probes, .init = setup_wide, .fini = teardown, .timeout = 240);

Test(probes, healthz_is_answered_while_lists_decide_rules)
{
	struct hcred	 client, none;
	struct hresp	 r;
	struct timespec	 t0;
	pthread_t	 th[4];
	long		 ms, one, worst = 0;
	int		 i;

	hcred_x509(&srv, &client);
	hcred_none(&none);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	hreq(&srv, &client, "GET", "/v1/endpoints?limit=1000", NULL, NULL,
	    NULL, &r);
	one = ms_since(&t0);
	cr_assert_eq(r.status, 200);
	hresp_free(&r);
	atomic_store(&stop, 0);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, lister, &client);
	for (i = 0; i < 20; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		hreq(&srv, &none, "GET", "/healthz", NULL, NULL, NULL, &r);
		ms = ms_since(&t0);
		cr_expect_eq(r.status, 200);
		hresp_free(&r);
		if (ms > worst)
			worst = ms;
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	cr_log_info("worst probe %ld ms, one list %ld ms", worst, one);
	/* A probe never waits for a whole list (one took one ms). */
	cr_expect_lt(worst, one, "a probe took %ld ms, a list %ld ms", worst,
	    one);
}
