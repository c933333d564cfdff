/*
 * admission.c - what admission costs inside nsregd, without HTTP: one
 * admission_authorize() decision (input built from the request and the
 * stored service, rule set evaluated, metrics counted, log entry
 * formatted and queued), the same without the log, the per-item filter
 * of a list, and the decision log writer's throughput into SQLite.
 * Timings belong here, never in unit tests.
 *
 * usage: tests/bench/admission [-n DECISIONS] [-r RULES]
 * Prints one line of key=value pairs.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "decision_log.h"
#include "metrics.h"
#include "store.h"
#include "util.h"

#define BENCH_ID	"spiffe://example.org/ns/db/sa/client"

static double
mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const struct nsreg_error *err)
{
	fprintf(stderr, "admission bench: %s: %s\n", what,
	    err != NULL ? err->message : "failed");
	exit(1);
}

static void
put(struct store *st, enum store_kind kind, const char *name, json_t *doc)
{
	struct store_object	obj;
	struct nsreg_error	err;

	memset(&obj, 0, sizeof(obj));
	obj.kind = kind;
	obj.name = strdup(name);
	obj.doc = doc;
	if (kind == STORE_ENDPOINT) {
		obj.expires_at = util_now_ms() + 3600 * 1000;
		obj.owner = strdup(BENCH_ID);
	}
	if (store_create(st, &obj, util_now_ms(), &err) == -1)
		die(name, &err);
	store_object_clear(&obj);
}

/*
 * rules - 1 permits of three or four clauses over the principal, the
 * service and the endpoint (none of which hold for the benchmark's
 * caller), one forbid for every ten rules, and last the rule that allows:
 * the decision evaluates every applicable rule, the worst case.
 */
static void
rules(struct store *st, int n)
{
	char	name[32], cond[512];
	int	i;

	for (i = 0; i < n - 1; i++) {
		snprintf(name, sizeof(name), "r%03d", i);
		if (i % 10 == 9)
			snprintf(cond, sizeof(cond), "principal.segments[1] == "
			    "'quarantine%d' || (has(service.labels.state) && "
			    "service.labels.state == 'bad')",
			    i);
		else
			snprintf(cond, sizeof(cond), "principal.trust_domain "
			    "== 'example.org' && principal.path.startsWith("
			    "'/ns/team%d/') && service.labels.tier == 'data' "
			    "&& principal.expires_at > request.time", i);
		put(st, STORE_POLICY, name, json_pack("{s:s, s:[s,s], s:s}",
		    "effect", i % 10 == 9 ? "forbid" : "permit", "actions",
		    "find", "connect", "condition", cond));
	}
	put(st, STORE_POLICY, "zz-allow", json_pack("{s:s, s:[s], s:s}",
	    "effect", "permit", "actions", "find", "condition",
	    "principal.trust_domain == 'example.org' && "
	    "principal.segments[1] == 'db' && service.labels.tier == 'data'"));
}

static struct principal bench_principal;

static void
request(struct admission_caller *req)
{
	struct principal	*p = &bench_principal;

	memset(req, 0, sizeof(*req));
	memset(p, 0, sizeof(*p));
	p->auth = PRINCIPAL_X509;
	snprintf(p->id, sizeof(p->id), "%s", BENCH_ID);
	snprintf(p->trust_domain, sizeof(p->trust_domain), "example.org");
	p->path_off = strlen("spiffe://example.org");
	p->expires_at = util_now_ms() + 3600 * 1000;
	req->principal = p;
	req->remote_addr = "127.0.0.1";
	req->now = util_now_ms();
}

/* Nanoseconds per admission_authorize call. */
static double
time_authorize(struct admission *a, struct admission_caller *req, long n)
{
	struct admission_subject subj;
	struct nsreg_error	 err;
	double			 t0;
	long			 i;

	memset(&subj, 0, sizeof(subj));
	subj.service = "db";
	t0 = mono();
	for (i = 0; i < n; i++)
		if (admission_authorize(a, req, ADMISSION_ACTION_FIND, &subj,
		    NULL, &err) == -1)
			die("authorize", &err);
	return (mono() - t0) * 1e9 / (double)n;
}

static int
count_match(const json_t *o, void *arg)
{
	(void)o;
	(void)arg;
	return 1;
}

int
main(int argc, char *argv[])
{
	struct store_options		 so;
	struct nsreg_error		 err;
	struct store			*st;
	struct metrics			*m;
	struct decision_log		*log;
	struct decision_log_stats	 ls;
	struct admission		*a, *nolog;
	struct admission_caller		 req;
	struct store_query		 q;
	void				(*mf)(void *);
	const char			*services[] = { "db" };
	json_t				*items[8];
	char				 dir[] = "/tmp/nsreg-bench-XXXXXX";
	char				 url[128], cmd[128], name[32];
	double				 ns_log, ns_nolog, t0, drain;
	double				 ns_item, ns_once;
	long				 n = 1000000, i, k;
	int				 nrules = 20, ch;

	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		switch (ch) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'r':
			nrules = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: admission [-n DECISIONS] "
			    "[-r RULES]\n");
			return 1;
		}
	}
	if (n < 1000 || nrules < 1)
		return 1;
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(url, sizeof(url), "sqlite:%s/nsreg.db", dir);
	memset(&so, 0, sizeof(so));
	so.url = url;
	so.history = 10000;
	if ((st = store_open(&so, &err)) == NULL)
		die("store", &err);
	m = metrics_new();
	if ((log = decision_log_new(st, NULL, &err)) == NULL ||
	    (a = admission_new(st, m, log, &err)) == NULL ||
	    (nolog = admission_new(st, m, NULL, &err)) == NULL)
		die("admission", &err);
	rules(st, nrules);
	put(st, STORE_SERVICE, "db", json_pack("{s:s, s:{s:s, s:s}}",
	    "payload", "IP", "labels", "tier", "data", "region", "eu-west"));
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "db-%ld", i);
		put(st, STORE_ENDPOINT, name, json_pack("{s:s, s:[s], s:{s:{s:s}}}",
		    "url", "tcp://10.0.0.1:5432", "network_service_names", "db",
		    "network_service_labels", "db", "app", "pg"));
	}
	if (admission_load(a, util_now_ms(), &err) == -1 ||
	    admission_load(nolog, util_now_ms(), &err) == -1)
		die("load", &err);
	request(&req);

	/* Warm up, then the decision with and without its log entry. */
	time_authorize(nolog, &req, n / 10);
	ns_nolog = time_authorize(nolog, &req, n);
	decision_log_flush(log, 60000);
	decision_log_stats(log, &ls);
	k = (long)ls.written;
	t0 = mono();
	ns_log = time_authorize(a, &req, n);
	/* The writer drains what the requests queued (dropped: counted). */
	decision_log_flush(log, 600000);
	drain = mono() - t0;
	decision_log_stats(log, &ls);
	k = (long)ls.written - k;

	/*
	 * A list of 8 endpoints filtered for the caller: the wrapper, eight
	 * decisions and the summary entry, per item.
	 */
	for (k = 0; k < 8; k++) {
		snprintf(name, sizeof(name), "db-%ld", k);
		items[k] = json_pack("{s:s, s:s, s:[s], s:{s:{s:s}}, s:s}",
		    "name", name, "url", "tcp://10.0.0.1:5432",
		    "network_service_names", "db", "network_service_labels",
		    "db", "app", "pg", "owner", BENCH_ID);
	}
	t0 = mono();
	for (i = 0; i < n / 100; i++) {
		memset(&q, 0, sizeof(q));
		q.kind = STORE_ENDPOINT;
		q.match = count_match;
		mf = NULL;
		/* As a watch: item by item, whatever the rules look at. */
		if (admission_filter_list(a, &req, services, 1, 1, &q, &mf,
		    &err) == -1)
			die("filter", &err);
		for (k = 0; k < 8; k++)
			if (q.match(items[k], q.match_arg) != 1)
				die("filter hid an endpoint", NULL);
		mf(q.match_arg);
	}
	ns_item = (mono() - t0) * 1e9 / (double)(n / 100 * 8);
	/* A plain list no rule looks into: one decision for the list. */
	t0 = mono();
	for (i = 0; i < n / 10; i++) {
		memset(&q, 0, sizeof(q));
		q.kind = STORE_ENDPOINT;
		mf = NULL;
		if (admission_filter_list(a, &req, services, 1, 0, &q, &mf,
		    &err) == -1)
			die("filter", &err);
		if (q.match != NULL)
			die("a list no rule looks into was wrapped", NULL);
	}
	ns_once = (mono() - t0) * 1e9 / (double)(n / 10);
	for (k = 0; k < 8; k++)
		json_decref(items[k]);
	decision_log_flush(log, 600000);

	printf("rules=%zu decisions=%ld ns_per_decision=%.0f "
	    "ns_per_decision_with_log=%.0f log_entries=%llu "
	    "log_dropped=%llu log_batches=%llu "
	    "log_drain_entries_per_s=%.0f "
	    "ns_per_list_item=%.0f ns_per_list_decided_once=%.0f\n",
	    admission_rule_count(a), n, ns_nolog,
	    ns_log, (unsigned long long)ls.written,
	    (unsigned long long)ls.dropped, (unsigned long long)ls.batches,
	    (double)ls.written / drain, ns_item, ns_once);
	admission_free(nolog);
	admission_free(a);
	decision_log_free(log);
	store_close(st);
	metrics_free(m);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
