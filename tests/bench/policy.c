/*
 * policy.c - decisions per second of the admission-rule engine, single
 * threaded, for generated rule sets of 20 and 1000 rules (about 90%
 * permits with 3 to 7 conditions over the principal, the service and
 * labels, 10% forbids), compiled once and indexed.
 *
 * usage: tests/bench/policy [-o DIR] [-t SECONDS]
 * With -o, writes DIR/rules-N.json and DIR/requests-N.json so that
 * tests/bench/policy-js.mjs can run the same work with @bufbuild/cel.
 * Last, one rule of network functions against a rule that is "true".
 * Timings belong here, never in unit tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"

/*
 * Requests cycled through.  A server decides a request whose JSON it has
 * just parsed, so the data is in cache; 256 requests keep the working set
 * near L2 size instead of measuring cache misses.
 */
#define NREQ	256

static uint64_t seed = 0x9E3779B97F4A7C15ULL;

static unsigned int
rnd(unsigned int n)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (unsigned int)(seed % n);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One clause of a permit: a condition over principal, service, labels. */
static void
clause(char *buf, size_t cap)
{
	switch (rnd(10)) {
	case 0:
		snprintf(buf, cap, "principal.trust_domain == 'td%u.example'",
		    rnd(2));
		break;
	case 1:
		snprintf(buf, cap, "principal.path.startsWith('/ns/ns%u/')",
		    rnd(3));
		break;
	case 2:
		snprintf(buf, cap, "principal.segments[1] != 'ns%u'", rnd(8));
		break;
	case 3:
		snprintf(buf, cap, "service.labels.tier == 'tier%u'", rnd(2));
		break;
	case 4:
		snprintf(buf, cap, "'group%u' in principal.claims.groups",
		    rnd(3));
		break;
	case 5:
		snprintf(buf, cap, "request.labels.app in ['app%u', 'app%u', "
		    "'app%u']", rnd(4), rnd(4), rnd(4));
		break;
	case 6:
		snprintf(buf, cap, "principal.auth == '%s'", rnd(2) ? "x509" :
		    "jwt");
		break;
	case 7:
		snprintf(buf, cap, "principal.expires_at > request.time");
		break;
	case 8:
		snprintf(buf, cap, "service.labels.region.startsWith('eu')");
		break;
	default:
		snprintf(buf, cap, "size(principal.claims.groups) < %u",
		    2 + rnd(3));
		break;
	}
}

static json_t *
make_rules(int n, int nsvc)
{
	json_t *rules = json_array();
	int i, k;

	for (i = 0; i < n; i++) {
		char name[32], cond[1024], c[200], svc[32];
		int forbid = i % 10 == 9, nclauses;
		size_t len = 0;
		json_t *r, *actions;

		snprintf(name, sizeof(name), "rule-%d", i);
		if (forbid)
			snprintf(cond, sizeof(cond), "principal.segments[1] == "
			    "'quarantine%u' || request.labels.env == 'bad%u'",
			    rnd(3), rnd(3));
		else {
			nclauses = 3 + (int)rnd(5);
			cond[0] = '\0';
			for (k = 0; k < nclauses; k++) {
				clause(c, sizeof(c));
				len += (size_t)snprintf(cond + len,
				    sizeof(cond) - len, "%s%s", k ? " && " : "",
				    c);
			}
		}
		actions = rnd(3) == 0 ? json_pack("[s,s]", "find", "connect") :
		    json_pack("[s]", "connect");
		r = json_pack("{s:s,s:s,s:o,s:s}", "name", name, "effect",
		    forbid ? "forbid" : "permit", "actions", actions,
		    "condition", cond);
		if (rnd(10) != 0) {
			snprintf(svc, sizeof(svc), "svc%u", rnd((unsigned)nsvc));
			json_object_set_new(r, "services", json_pack("[s]", svc));
		}
		json_array_append_new(rules, r);
	}
	return rules;
}

static json_t *
make_requests(int nsvc)
{
	json_t *reqs = json_array();
	int i;

	for (i = 0; i < NREQ; i++) {
		char id[128], svc[32], app[16], tier[16];
		json_t *groups = json_array();
		unsigned int g, ng = rnd(4);

		for (g = 0; g < ng; g++)
			json_array_append_new(groups, json_sprintf("group%u",
			    rnd(4)));
		snprintf(id, sizeof(id), "spiffe://td%u.example/ns/ns%u/sa/w%u",
		    rnd(2), rnd(3), rnd(50));
		snprintf(svc, sizeof(svc), "svc%u", rnd((unsigned)nsvc));
		snprintf(app, sizeof(app), "app%u", rnd(4));
		snprintf(tier, sizeof(tier), "tier%u", rnd(2));
		json_array_append_new(reqs, json_pack(
		    "{s:{s:s,s:s,s:{s:o},s:s},s:s,"
		    "s:{s:s,s:s,s:{s:s,s:s}},"
		    "s:{s:{s:s,s:s},s:s}}",
		    "principal", "id", id, "auth", rnd(2) ? "x509" : "jwt",
		    "claims", "groups", groups, "expires_at",
		    rnd(10) ? "2025-01-01T01:00:00Z" : "2024-12-31T23:00:00Z",
		    "action", rnd(4) ? "connect" : "find",
		    "service", "name", svc, "payload", "IP", "labels", "tier",
		    tier, "region", rnd(2) ? "eu-west" : "us-east",
		    "request", "labels", "app", app, "env",
		    rnd(20) ? "prod" : "bad1", "time",
		    "2025-01-01T00:00:00Z"));
	}
	return reqs;
}

static void
write_json(const char *dir, const char *name, const json_t *j)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (json_dump_file(j, path, JSON_COMPACT) == -1) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
}

static void
bench(int nrules, const char *dir, double seconds)
{
	int nsvc = nrules / 8 > 4 ? nrules / 8 : 4;
	json_t *rules, *reqs;
	struct policy_set *set;
	struct policy_error err;
	struct policy_input *in;
	struct policy_input_storage *st;
	struct policy_decision d;
	unsigned long long n = 0, allow = 0, evaluated = 0, errors = 0;
	double t0, t1;
	char name[64];
	size_t i;

	seed = 0x9E3779B97F4A7C15ULL + (uint64_t)nrules;
	rules = make_rules(nrules, nsvc);
	seed = 0x12345678ULL;
	reqs = make_requests(nsvc);
	set = policy_set_build(rules, NULL, &err);
	if (set == NULL) {
		fprintf(stderr, "rules: %s\n", err.message);
		exit(1);
	}
	in = calloc(NREQ, sizeof(*in));
	st = calloc(NREQ, sizeof(*st));
	if (in == NULL || st == NULL)
		exit(1);
	for (i = 0; i < NREQ; i++)
		if (policy_input_from_json(json_array_get(reqs, i), &in[i],
		    &st[i], &err) == -1) {
			fprintf(stderr, "request: %s\n", err.message);
			exit(1);
		}
	if (dir != NULL) {
		snprintf(name, sizeof(name), "rules-%d.json", nrules);
		write_json(dir, name, rules);
		snprintf(name, sizeof(name), "requests-%d.json", nrules);
		write_json(dir, name, reqs);
	}
	/* Warm up, then count whole passes over the requests. */
	for (i = 0; i < NREQ; i++)
		policy_set_decide(set, &in[i], &d);
	t0 = now();
	do {
		for (i = 0; i < NREQ; i++) {
			policy_set_decide(set, &in[i], &d);
			allow += (unsigned)d.allow;
			evaluated += d.n_evaluated;
			errors += d.n_errors;
		}
		n += NREQ;
		t1 = now();
	} while (t1 - t0 < seconds);
	printf("c rules=%d decisions=%llu seconds=%.3f us_per_decision=%.3f "
	    "decisions_per_s=%.0f allow=%.1f%% rules_evaluated=%.2f "
	    "errors=%.2f\n", nrules, n, t1 - t0, (t1 - t0) * 1e6 / (double)n,
	    (double)n / (t1 - t0), 100.0 * (double)allow / (double)n,
	    (double)evaluated / (double)n, (double)errors / (double)n);
	policy_set_free(set);
	free(in);
	free(st);
	json_decref(rules);
	json_decref(reqs);
}

/*
 * One rule of Kubernetes' network functions, the DESIGN's example:
 * cidr('10.0.0.0/8').containsIP(endpoint.address), against the same
 * decision with the condition "true", over endpoints inside and outside
 * the network.  The difference is what the condition costs.
 */
static double
net_decision_us(const char *cond, double seconds, int *allow_pct)
{
	static char urls[NREQ][64];
	struct policy_endpoint ep[NREQ];
	struct policy_service svc = { .name = "db" };
	struct policy_input in[NREQ];
	struct policy_decision d;
	struct policy_error err;
	struct policy_set *set;
	json_t *rules;
	unsigned long long n = 0, allow = 0;
	double t0, t1;
	size_t i;

	rules = json_pack("[{s:s,s:s,s:[s],s:[s],s:s}]", "name", "net",
	    "effect", "permit", "actions", "register", "services", "db",
	    "condition", cond);
	set = policy_set_build(rules, NULL, &err);
	if (set == NULL) {
		fprintf(stderr, "net rule: %s\n", err.message);
		exit(1);
	}
	seed = 0x5EEDULL;
	memset(ep, 0, sizeof(ep));
	memset(in, 0, sizeof(in));
	for (i = 0; i < NREQ; i++) {
		if (rnd(4) == 0)
			snprintf(urls[i], sizeof(urls[i]), "tcp://192.168.%u.%u"
			    ":5432", rnd(256), rnd(256));
		else
			snprintf(urls[i], sizeof(urls[i]), "tcp://10.%u.%u.%u:"
			    "%u", rnd(256), rnd(256), rnd(256),
			    1024 + rnd(60000));
		ep[i].name = "db-1";
		ep[i].url = urls[i];
		in[i].action = "register";
		in[i].service = &svc;
		in[i].endpoint = &ep[i];
	}
	for (i = 0; i < NREQ; i++)
		policy_set_decide(set, &in[i], &d);
	t0 = now();
	do {
		for (i = 0; i < NREQ; i++) {
			policy_set_decide(set, &in[i], &d);
			allow += (unsigned)d.allow;
		}
		n += NREQ;
		t1 = now();
	} while (t1 - t0 < seconds);
	*allow_pct = (int)(100 * allow / n);
	policy_set_free(set);
	json_decref(rules);
	return (t1 - t0) * 1e6 / (double)n;
}

static void
bench_net(double seconds)
{
	static const char cond[] =
	    "cidr('10.0.0.0/8').containsIP(endpoint.address)";
	double base, net;
	int pa, pb;

	base = net_decision_us("true", seconds, &pb);
	net = net_decision_us(cond, seconds, &pa);
	printf("c net rule=\"%s\" us_per_decision=%.3f "
	    "baseline_us_per_decision=%.3f us_per_condition=%.3f "
	    "allow=%d%%\n", cond, net, base, net - base, pa);
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL;
	double seconds = 2.0;
	int ch;

	while ((ch = getopt(argc, argv, "o:t:")) != -1) {
		switch (ch) {
		case 'o':
			dir = optarg;
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: policy [-o DIR] [-t SECONDS]\n");
			return 2;
		}
	}
	bench(20, dir, seconds);
	bench(1000, dir, seconds);
	bench_net(seconds);
	return 0;
}
