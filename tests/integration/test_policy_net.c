/*
 * test_policy_net.c - Kubernetes' network functions in rules, through a
 * real nsregd: each function in a rule stored with PUT /v1/policies and
 * decided by POST /v1/decisions/evaluate (audit rules report each
 * condition's outcome), endpoint.address deciding a real registration,
 * and literals that cannot parse refused when the rule is written.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static struct nsregd	srv;

static void
setup(void)
{
	nsregd_start(&srv, NULL);
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(policy_net, .init = setup, .fini = teardown, .timeout = 120);

/* One request that must answer want; returns the body (new reference). */
static json_t *
call_json(const struct hcred *c, const char *method, const char *path,
    const char *body, long want)
{
	struct hresp	 r;
	json_t		*j;

	cr_assert_eq(hreq(&srv, c, method, path, body, NULL, NULL, &r), 0,
	    "%s %s: no answer", method, path);
	cr_assert_eq(r.status, want, "%s %s: %ld, want %ld: %s", method, path,
	    r.status, want, r.body);
	j = json_incref(r.json);
	hresp_free(&r);
	return j;
}

/*
 * One audit rule per function (or overload); each condition holds for
 * the request of rules_decide_with_every_network_function.
 */
static const struct {
	const char	*name;
	const char	*condition;
} audits[] = {
	{ "ip", "ip(endpoint.address) == ip('10.0.0.1')" },
	{ "is-ip", "isIP(request.labels.peer) && !isIP('10.0.0.01')" },
	{ "is-canonical", "ip.isCanonical(request.labels.peer) && "
	    "!ip.isCanonical('2001:DB8::1')" },
	{ "family", "ip(request.labels.peer).family() == 4 && "
	    "ip('fd00::1').family() == 6" },
	{ "unspecified", "!ip(request.labels.peer).isUnspecified() && "
	    "ip('::').isUnspecified()" },
	{ "loopback", "!ip(endpoint.address).isLoopback() && "
	    "ip('::1').isLoopback()" },
	{ "ll-multicast", "ip('224.0.0.251').isLinkLocalMulticast()" },
	{ "ll-unicast", "!ip(endpoint.address).isLinkLocalUnicast() && "
	    "ip('fe80::1').isLinkLocalUnicast()" },
	{ "global-unicast", "ip(endpoint.address).isGlobalUnicast()" },
	{ "contains-ip-string", "cidr('10.0.0.0/8').containsIP("
	    "endpoint.address)" },
	{ "contains-ip-ip", "cidr(service.vl3.prefix).containsIP("
	    "ip(request.labels.peer))" },
	{ "is-cidr", "isCIDR(request.labels.net) && !isCIDR('10.0.0.0/33')" },
	{ "contains-cidr-string", "cidr(service.vl3.prefix).containsCIDR("
	    "request.labels.net)" },
	{ "contains-cidr-cidr", "cidr(service.vl3.prefix).containsCIDR("
	    "cidr(request.labels.net))" },
	{ "cidr-ip", "cidr(request.labels.net).ip() == ip('10.60.1.0')" },
	{ "masked", "cidr('10.60.1.7/24').masked() == "
	    "cidr(request.labels.net)" },
	{ "prefix-length", "cidr(service.vl3.prefix).prefixLength() == 16" },
	{ "strings", "string(ip(endpoint.address)) == '10.0.0.1' && "
	    "string(cidr(service.vl3.prefix)) == '10.60.0.0/16'" },
	{ "url", "isURL(request.labels.callback) && "
	    "url(endpoint.url).getScheme() == 'tcp'" },
	{ "get-host", "url(request.labels.callback).getHost() == "
	    "'hooks.example.org:8443'" },
	{ "get-hostname", "url(request.labels.callback).getHostname() == "
	    "'hooks.example.org'" },
	{ "get-port", "url(endpoint.url).getPort() == '5002'" },
	{ "get-escaped-path", "url(request.labels.callback).getEscapedPath() "
	    "== '/a%20b'" },
	{ "get-query", "url(request.labels.callback).getQuery().x == "
	    "['1', '2']" },
	{ "equality-and-types", "ip('10.0.0.1') != ip('::1') && "
	    "type(cidr('10.0.0.0/8')) == net.CIDR" },
};
#define NAUDITS	(sizeof(audits) / sizeof(audits[0]))

/* The audit entry of decision d for rule name, or NULL. */
static const json_t *
audit_of(const json_t *d, const char *name)
{
	const json_t	*a;
	size_t		 i;

	json_array_foreach(json_object_get(d, "audit"), i, a)
		if (strcmp(json_string_value(json_object_get(a, "policy")),
		    name) == 0)
			return a;
	return NULL;
}

Test(policy_net, rules_decide_with_every_network_function)
{
	struct hcred	 admin;
	json_t		*d;
	char		 body[1024];
	size_t		 i;

	hcred_admin(&srv, &admin);
	json_decref(call_json(&admin, "PUT", "/v1/services/db",
	    "{\"vl3\":{\"prefix\":\"10.60.0.0/16\"}}", 201));
	json_decref(call_json(&admin, "PUT", "/v1/endpoints/db-1",
	    "{\"url\":\"tcp://10.0.0.1:5002\",\"network_service_names\":"
	    "[\"db\"]}", 201));
	for (i = 0; i < NAUDITS; i++) {
		snprintf(body, sizeof(body), "{\"effect\":\"permit\","
		    "\"actions\":[\"connect\"],\"services\":[\"db\"],"
		    "\"mode\":\"audit\",\"condition\":\"%s\"}",
		    audits[i].condition);
		nsregd_put_policy(&srv, audits[i].name, body);
	}
	d = call_json(&admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"spiffe://example.org/ns/db/sa/pg\","
	    "\"action\":\"connect\",\"service\":\"db\",\"endpoint\":\"db-1\","
	    "\"labels\":{\"peer\":\"10.60.0.9\",\"net\":\"10.60.1.0/24\","
	    "\"callback\":\"https://hooks.example.org:8443/a%20b?x=1&x=2\"}}",
	    200);
	cr_expect_eq(json_array_size(json_object_get(d, "errors")), 0, "%s",
	    json_dumps(d, 0));
	cr_expect_eq(json_array_size(json_object_get(d, "audit")), NAUDITS);
	for (i = 0; i < NAUDITS; i++) {
		const json_t *a = audit_of(d, audits[i].name);

		cr_expect_not_null(a, "%s: not evaluated", audits[i].name);
		if (a != NULL)
			cr_expect(json_is_true(json_object_get(a, "matched")),
			    "%s: %s does not hold", audits[i].name,
			    audits[i].condition);
	}
	json_decref(d);

	/* A hypothetical endpoint and peer outside the networks. */
	d = call_json(&admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"spiffe://example.org/ns/db/sa/pg\","
	    "\"action\":\"connect\",\"service\":\"db\",\"endpoint\":"
	    "{\"name\":\"db-9\",\"url\":\"tcp://[fd00::9]:5002\"},"
	    "\"labels\":{\"peer\":\"10.61.0.9\",\"net\":\"10.61.1.0/24\","
	    "\"callback\":\"https://hooks.example.org:8443/a%20b?x=1&x=2\"}}",
	    200);
	cr_expect(json_is_false(json_object_get(audit_of(d,
	    "contains-ip-string"), "matched")));
	cr_expect(json_is_false(json_object_get(audit_of(d,
	    "contains-ip-ip"), "matched")));
	cr_expect(json_is_false(json_object_get(audit_of(d,
	    "contains-cidr-cidr"), "matched")));
	cr_expect(json_is_true(json_object_get(audit_of(d,
	    "global-unicast"), "matched")), "fd00::9 is global unicast");
	json_decref(d);
}

/* The README's rule: db endpoints register only inside 10.0.0.0/8. */
Test(policy_net, endpoint_address_decides_a_registration)
{
	struct hcred	 admin, client;
	json_t		*d;

	hcred_admin(&srv, &admin);
	hcred_x509(&srv, &client);
	nsregd_allow_local(&srv);
	nsregd_put_policy(&srv, "db-on-the-private-network",
	    "{\"effect\":\"forbid\",\"actions\":[\"register\"],"
	    "\"services\":[\"db\"],\"condition\":"
	    "\"!cidr('10.0.0.0/8').containsIP(endpoint.address)\"}");
	json_decref(call_json(&admin, "PUT", "/v1/services/db", "{}", 201));
	json_decref(call_json(&client, "PUT", "/v1/endpoints/db-1",
	    "{\"url\":\"tcp://10.0.0.1:5002\",\"network_service_names\":"
	    "[\"db\"]}", 201));
	d = call_json(&client, "PUT", "/v1/endpoints/db-2",
	    "{\"url\":\"tcp://192.0.2.1:5002\",\"network_service_names\":"
	    "[\"db\"]}", 403);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(d, "decision"), "reasons"), 0)),
	    "db-on-the-private-network");
	json_decref(d);
	/* No IP literal, no address: the forbid fails closed. */
	d = call_json(&client, "PUT", "/v1/endpoints/db-3",
	    "{\"url\":\"tcp://db.example.org:5002\",\"network_service_names\":"
	    "[\"db\"]}", 403);
	cr_expect_eq(json_array_size(json_object_get(json_object_get(d,
	    "decision"), "errors")), 1);
	json_decref(d);
}

Test(policy_net, conditions_that_cannot_work_are_400_when_written)
{
	static const struct {
		const char *condition, *message;
	} bad[] = {
		{ "cidr('10.0.0.0/33').containsIP(endpoint.address)",
		    "condition: 1:1: invalid argument to cidr: network "
		    "address parse error during conversion from string: "
		    "prefix length out of range" },
		{ "isIP(cidr('10.0.0.0/8'))",
		    "condition: 1:1: found no matching overload for 'isIP' "
		    "applied to '(net.CIDR)'" },
		{ "ip('10.0.0.1').getHost() == ''",
		    "condition: 1:15: found no matching overload for "
		    "'getHost' applied to 'net.IP.()'" },
	};
	struct hcred	 admin;
	json_t		*r;
	char		 body[512];
	size_t		 i;

	hcred_admin(&srv, &admin);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const json_t *e;

		snprintf(body, sizeof(body), "{\"effect\":\"permit\","
		    "\"actions\":[\"find\"],\"condition\":\"%s\"}",
		    bad[i].condition);
		r = call_json(&admin, "PUT", "/v1/policies/bad", body, 400);
		e = json_object_get(r, "error");
		cr_expect_str_eq(json_string_value(json_object_get(e,
		    "field")), "condition");
		cr_expect_str_eq(json_string_value(json_object_get(e,
		    "message")), bad[i].message);
		json_decref(r);
	}
}
