/*
 * fuzz_parse.c - libFuzzer target for the CEL front end: the input is an
 * expression, compiled strictly (as a rule condition) and leniently (as
 * the conformance runner does), then evaluated against a fixed request
 * with a small cost limit; the input is also compiled and run as a
 * regular expression.  Build with "make fuzz" (clang).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cel.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *claims, *labels, *names;
	struct policy_principal pr = { .id = "spiffe://example.org/ns/a/sa/b",
	    .trust_domain = "example.org", .path = "/ns/a/sa/b",
	    .auth = "jwt", .expires_at = 1735689600000LL };
	struct policy_service svc = { .name = "db", .payload = "IP" };
	struct policy_endpoint ep = { .name = "db-1", .owner = "x" };
	struct policy_request rq = { .time = 1735689600000LL };
	struct policy_input in = { &pr, "connect", &svc, &ep, &rq };
	struct cel_activation act = { &in, NULL };
	struct cel_env env;
	struct policy_error err;
	struct cel_program *p;
	struct cel_arena a;
	struct regex *re;
	char buf[2048], msg[128];
	int strict;

	if (size > POLICY_CONDITION_MAX)
		return 0;
	if (claims == NULL) {
		claims = json_pack("{s:[s,s],s:{s:i}}", "groups", "a", "b",
		    "m", "k", 1);
		labels = json_pack("{s:s}", "app", "pg");
		names = json_pack("[s]", "db");
	}
	pr.claims = claims;
	svc.labels = labels;
	ep.labels = labels;
	ep.network_service_names = names;
	rq.labels = labels;
	for (strict = 0; strict <= 1; strict++) {
		memset(&env, 0, sizeof(env));
		env.strict = strict;
		env.admission = 1;
		env.max_cost = 20000;
		p = cel_compile((const char *)data, size, &env, &err);
		if (p == NULL) {
			if (err.line < 1 || err.column < 1)
				abort();	/* every error has a position */
			continue;
		}
		cel_arena_init(&a, buf, sizeof(buf));
		(void)cel_eval(p, &act, &a, NULL);
		cel_arena_release(&a);
		cel_program_free(p);
	}
	re = regex_compile((const char *)data, size, msg, sizeof(msg));
	if (re != NULL) {
		uint64_t cost = 0;

		cel_arena_init(&a, buf, sizeof(buf));
		(void)regex_search(re, "spiffe://example.org/ns/a\nb", 26, &a,
		    &cost);
		cel_arena_release(&a);
		regex_free(re);
	}
	return 0;
}
