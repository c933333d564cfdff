/*
 * test_two_registries.c - two companies, two registries: nsregd for
 * trust domain a.test and nsregd for b.test, each with its own CA, on
 * loopback, federated through each other's /v1/bundle (https_spiffe,
 * self-serving, refreshed every second).  The README's cross-company use
 * case, checked: each recognises the other's workloads; a CA rotated in
 * b.test is picked up by a.test at the next refresh and the old one stops
 * working once b.test removes it.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "regfix.h"
#include "util.h"

static struct registry	a, b, third;	/* third: c.test, when started */

/* PUT /v1/policies/name on r (aborts unless stored). */
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

/* Each company's own workloads may use its registry. */
static void
local_rule(struct registry *r)
{
	char	cond[128];

	snprintf(cond, sizeof(cond), "principal.trust_domain == '%s'", r->td);
	policy(r, "local", json_pack("{s:s, s:[s, s, s, s], s:s}", "effect",
	    "permit", "actions", "find", "register", "unregister", "publish",
	    "condition", cond));
}

static void
setup(void)
{
	struct hresp	r;

	registry_start(&a, "a.test", NULL);
	registry_start(&b, "b.test", NULL);
	local_rule(&a);
	local_rule(&b);
	/* Exchanging nothing but bundle endpoint addresses (and a first
	 * bundle each, out of band). */
	registry_federate(&a, &b, 1);
	registry_federate(&b, &a, 1);
	registry_req(&a, NULL, "POST", "/v1/trust-domains/b.test/refresh",
	    NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);
	registry_req(&b, NULL, "POST", "/v1/trust-domains/a.test/refresh",
	    NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);
}

static void
teardown(void)
{
	registry_cleanup(&a);
	registry_cleanup(&b);
	registry_cleanup(&third);
}

TestSuite(two_registries, .init = setup, .fini = teardown, .timeout = 90);

static const char *
str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(not a string)";
}

/* whoami at r as c: the status, and the message of an error. */
static long
whoami(struct registry *r, const struct hcred *c, char *msg, size_t len)
{
	struct hresp	 resp;
	const char	*m;
	long		 status;

	registry_req(r, c, "GET", "/v1/whoami", NULL, &resp);
	status = resp.status;
	m = json_string_value(json_object_get(json_object_get(resp.json,
	    "error"), "message"));
	if (msg != NULL)
		snprintf(msg, len, "%s", m != NULL ? m : "");
	if (status == 200)
		cr_expect_str_eq(str(resp.json, "trust_domain"), "b.test");
	hresp_free(&resp);
	return status;
}

Test(two_registries, each_recognises_the_others_workloads)
{
	struct hcred	c;
	struct hresp	r;

	registry_client(&b, &c);
	cr_expect_eq(whoami(&a, &c, NULL, 0), 200);
	registry_client(&a, &c);
	registry_req(&b, &c, "GET", "/v1/whoami", NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "trust_domain"), "a.test");
	hresp_free(&r);
	/* The peer's trust domain as a.test holds it, fetched. */
	registry_req(&a, NULL, "GET", "/v1/trust-domains/b.test", NULL, &r);
	cr_expect(json_is_null(json_object_get(r.json, "last_error")), "%s",
	    r.body);
	cr_expect_str_eq(str(json_object_get(r.json, "federation"),
	    "profile"), "https_spiffe");
	hresp_free(&r);
}

/* a.test publishes db and registers db-1. */
static void
publish_db(void)
{
	struct hcred	c;
	struct hresp	r;

	registry_req(&a, NULL, "PUT", "/v1/services/db", json_pack("{s:{s:s}}",
	    "labels", "tier", "data"), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	hresp_free(&r);
	registry_client(&a, &c);
	registry_req(&a, &c, "PUT", "/v1/endpoints/db-1", json_pack(
	    "{s:s, s:[s], s:{s:{s:s}}}", "url", "tcp://10.0.0.1:5432",
	    "network_service_names", "db", "network_service_labels", "db",
	    "app", "pg"), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	hresp_free(&r);
}

Test(two_registries, a_workload_finds_the_other_companys_service)
{
	struct hcred	 c;
	struct hresp	 r;
	const json_t	*e;

	publish_db();
	/* a.test lets b.test (its registry, asking) find db. */
	policy(&a, "b-finds-db", json_pack("{s:s, s:[s], s:[s], s:s}",
	    "effect", "permit", "actions", "find", "services", "db",
	    "condition", "principal.trust_domain == 'b.test'"));
	registry_client(&b, &c);
	registry_req(&b, &c, "GET", "/v1/endpoints?service=db@a.test", NULL,
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_array_size(json_object_get(r.json, "items")), 1,
	    "%s", r.body);
	e = json_array_get(json_object_get(r.json, "items"), 0);
	cr_expect_str_eq(str(e, "name"), "db-1@a.test");
	cr_expect_str_eq(str(e, "url"), "tcp://10.0.0.1:5432");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(e,
	    "network_service_names"), 0)), "db@a.test");
	cr_expect_str_eq(str(e, "owner"),
	    "spiffe://a.test/ns/default/sa/client");
	hresp_free(&r);
	registry_req(&b, &c, "GET", "/v1/services/db@a.test", NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "name"), "db@a.test");
	hresp_free(&r);
	registry_req(&b, &c, "GET", "/v1/endpoints/db-1@a.test", NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);

	/* Without a.test's rule, its refusal comes back explained. */
	registry_req(&a, NULL, "DELETE", "/v1/policies/b-finds-db", NULL, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	hresp_free(&r);
	registry_req(&b, &c, "GET", "/v1/services/db@a.test", NULL, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect(strstr(r.body, "registry of a.test refused: find denied") !=
	    NULL, "%s", r.body);
	hresp_free(&r);
}

Test(two_registries, a_grant_is_given_when_the_rules_admit_the_partner)
{
	struct hcred	 c;
	struct hresp	 r;
	const char	*why;

	publish_db();
	registry_client(&b, &c);
	/* No rule of a.test admits b.test: refused, with the decision. */
	registry_req(&a, &c, "POST", "/v1/grants", json_pack("{s:s}",
	    "service", "db"), &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect_str_eq(str(json_object_get(r.json, "decision"), "decision"),
	    "deny", "%s", r.body);
	why = json_string_value(json_object_get(json_object_get(r.json,
	    "error"), "message"));
	cr_expect(why != NULL && strstr(why, "connect denied") != NULL, "%s",
	    r.body);
	hresp_free(&r);

	/* a.test's rule for its partner. */
	policy(&a, "partner-b", json_pack("{s:s, s:[s, s], s:[s], s:s}",
	    "effect", "permit", "actions", "find", "connect", "services",
	    "db", "condition", "principal.trust_domain == 'b.test'"));
	registry_req(&a, &c, "POST", "/v1/grants", json_pack("{s:s}",
	    "service", "db"), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(str(r.json, "principal"), b.client_id);
	cr_expect_str_eq(str(json_object_get(r.json, "endpoint"), "name"),
	    "db-1");
	cr_expect(json_is_string(json_object_get(r.json, "token")));
	cr_expect_str_eq(str(json_object_get(r.json, "decision"), "decision"),
	    "allow");
	hresp_free(&r);

	/* A forbid for b.test's other workloads: explained again. */
	policy(&a, "not-b-batch", json_pack("{s:s, s:[s], s:s}", "effect",
	    "forbid", "actions", "connect", "condition",
	    "principal.path.startsWith('/ns/default/')"));
	registry_req(&a, &c, "POST", "/v1/grants", json_pack("{s:s}",
	    "service", "db"), &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(r.json, "decision"), "reasons"), 0)),
	    "not-b-batch", "%s", r.body);
	hresp_free(&r);
}

/* A JWT-SVID of ca for id with a.test's audience, as c's token. */
static void
jwt_for_a(const struct svid_ca *ca, const char *id, struct hcred *c)
{
	struct svid_jwt_req	 req;
	struct nsreg_error	 err;
	const char		*aud[] = { "spiffe://a.test/nsregd" };
	char			*tok = NULL;

	memset(&req, 0, sizeof(req));
	req.id = id;
	req.aud = aud;
	req.naud = 1;
	cr_assert_eq(svid_jwt_issue(ca, &req, util_now_ms(), &tok, &err), 0,
	    "%s", err.message);
	hcred_none(c);
	snprintf(c->bearer, sizeof(c->bearer), "%s", tok);
	free(tok);
}

Test(two_registries, a_rotated_ca_is_picked_up_and_the_old_one_retired)
{
	struct nsreg_error	 err;
	struct svid_ca		*next, *cas[2];
	struct hcred		 old_w, new_w, old_j, new_j;
	struct hresp		 r;
	char			 msg[512];

	next = svid_ca_generate("b.test", util_now_ms(), 0, &err);
	cr_assert_not_null(next, "%s", err.message);
	registry_x509(&b, b.ca, "spiffe://b.test/ns/db/sa/client", &old_w);
	registry_x509(&b, next, "spiffe://b.test/ns/db/sa/client", &new_w);
	jwt_for_a(b.ca, "spiffe://b.test/ns/db/sa/client", &old_j);
	jwt_for_a(next, "spiffe://b.test/ns/db/sa/client", &new_j);
	cr_expect_eq(whoami(&a, &old_w, NULL, 0), 200);
	cr_expect_eq(whoami(&a, &old_j, NULL, 0), 200);
	cr_expect_eq(whoami(&a, &new_w, msg, sizeof(msg)), 401);
	cr_expect_eq(whoami(&a, &new_j, msg, sizeof(msg)), 401);

	/* b.test publishes the new authority beside the old one. */
	cas[0] = b.ca;
	cas[1] = next;
	registry_write_bundle(&b, cas, 2, 2);
	nsregd_signal(&b.s, SIGHUP);
	cr_assert(registry_wait_sequence(&a, "b.test", 2, 6000),
	    "a.test did not pick up b.test's bundle 2");
	cr_expect_eq(whoami(&a, &new_w, msg, sizeof(msg)), 200, "%s", msg);
	cr_expect_eq(whoami(&a, &new_j, msg, sizeof(msg)), 200, "%s", msg);
	cr_expect_eq(whoami(&a, &old_w, NULL, 0), 200);

	/* Everything of b.test moves to it, and the old one is removed. */
	registry_issue_server(&b, next);
	registry_write_bundle(&b, &cas[1], 1, 3);
	nsregd_signal(&b.s, SIGHUP);
	cr_assert(registry_wait_sequence(&a, "b.test", 3, 6000),
	    "a.test did not pick up b.test's bundle 3");
	cr_expect_eq(whoami(&a, &old_w, msg, sizeof(msg)), 401);
	cr_expect(strncmp(msg, "x509: ", 6) == 0, "%s", msg);
	cr_expect_eq(whoami(&a, &old_j, msg, sizeof(msg)), 401);
	cr_expect(strncmp(msg, "jwt: ", 5) == 0, "%s", msg);
	cr_expect_eq(whoami(&a, &new_w, msg, sizeof(msg)), 200, "%s", msg);
	cr_expect_eq(whoami(&a, &new_j, msg, sizeof(msg)), 200, "%s", msg);
	/* The federation goes on: b.test's endpoint has the new one. */
	registry_req(&a, NULL, "POST", "/v1/trust-domains/b.test/refresh",
	    NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);
	svid_ca_free(next);
}

/* ---- on behalf of: request.origin and interdomain grants ---------------- */

/* Statements of origin, base64url of compact JSON (origin.h). */
#define ORIGIN_B_DB	"eyJpZCI6InNwaWZmZTovL2IudGVzdC9ucy9kYi9zYS9wZyIsImF1" \
			"dGgiOiJ4NTA5In0"	/* spiffe://b.test/ns/db/sa/pg */
#define ORIGIN_C_DB	"eyJpZCI6InNwaWZmZTovL2MudGVzdC9ucy9kYi9zYS9wZyIsImF1" \
			"dGgiOiJ4NTA5In0"	/* spiffe://c.test/ns/db/sa/pg */
#define ORIGIN_BAD	"eyJpZCI6MX0"		/* {"id":1} */

/* a.test lets b.test's registry act for b.test's /ns/db/ workloads. */
static void
origin_rule(int connect)
{
	policy(&a, "b-db-workloads", json_pack("{s:s, s:[s, s*], s:[s], s:s}",
	    "effect", "permit", "actions", "find", connect ? "connect" : NULL,
	    "services", "db",
	    "condition", "principal.trust_domain == 'b.test' && "
	    "has(request.origin) && request.origin.path.startsWith('/ns/db/')"));
}

/* GET path at r as c: the status (the body into buf when given). */
static long
status_of(struct registry *r, const struct hcred *c, const char *method,
    const char *path, json_t *body, char *buf, size_t len)
{
	struct hresp	resp;
	long		status;

	registry_req(r, c, method, path, body, &resp);
	status = resp.status;
	if (buf != NULL)
		snprintf(buf, len, "%s", resp.body != NULL ? resp.body : "");
	hresp_free(&resp);
	return status;
}

Test(two_registries, request_origin_is_seen_only_when_accepted)
{
	struct hcred	 pg, web;
	struct hresp	 r;
	const json_t	*e;
	char		 body[4096];
	size_t		 i;
	int		 seen = 0;

	publish_db();
	origin_rule(0);
	registry_x509(&b, b.ca, "spiffe://b.test/ns/db/sa/pg", &pg);
	registry_x509(&b, b.ca, "spiffe://b.test/ns/web/sa/fe", &web);
	/* accept_origin false (the default): no origin, the rule fails. */
	registry_req(&a, NULL, "GET", "/v1/trust-domains/b.test", NULL, &r);
	cr_expect(json_is_false(json_object_get(r.json, "accept_origin")),
	    "%s", r.body);
	hresp_free(&r);
	cr_expect_eq(status_of(&b, &pg, "GET", "/v1/services/db@a.test", NULL,
	    body, sizeof(body)), 403, "%s", body);
	/* a.test trusts b.test's registry to say for whom it asks. */
	registry_federate(&a, &b, REGISTRY_URL | REGISTRY_ORIGIN);
	registry_req(&a, NULL, "GET", "/v1/trust-domains/b.test", NULL, &r);
	cr_expect(json_is_true(json_object_get(r.json, "accept_origin")),
	    "%s", r.body);
	hresp_free(&r);
	cr_expect_eq(status_of(&b, &pg, "GET", "/v1/services/db@a.test", NULL,
	    body, sizeof(body)), 200, "%s", body);
	cr_expect_eq(status_of(&b, &pg, "GET",
	    "/v1/endpoints?service=db@a.test", NULL, body, sizeof(body)), 200,
	    "%s", body);
	/* Another b.test workload, through the same registry: refused. */
	cr_expect_eq(status_of(&b, &web, "GET", "/v1/services/db@a.test",
	    NULL, body, sizeof(body)), 403, "%s", body);
	cr_expect(strstr(body, "registry of a.test refused") != NULL, "%s",
	    body);
	/* a.test's decision log names the workload beside the registry. */
	registry_req(&a, NULL, "GET",
	    "/v1/decisions?principal=spiffe://b.test/nsregd&limit=50", NULL,
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_array_foreach(json_object_get(r.json, "items"), i, e)
		if (strcmp(str(e, "origin"), "spiffe://b.test/ns/db/sa/pg") ==
		    0 && strcmp(str(json_object_get(e, "decision"),
		    "decision"), "allow") == 0)
			seen = 1;
	cr_expect(seen, "no allow with the origin in %s", r.body);
	hresp_free(&r);
	/* accept_origin must be a boolean. */
	registry_req(&a, NULL, "PUT", "/v1/trust-domains/b.test", json_pack(
	    "{s:{s:s, s:s, s:s}, s:s}", "federation", "bundle_endpoint_url",
	    "https://127.0.0.1:1/v1/bundle", "profile", "https_spiffe",
	    "endpoint_spiffe_id", "spiffe://b.test/nsregd", "accept_origin",
	    "yes"), &r);
	cr_expect_eq(r.status, 400, "%s", r.body);
	cr_expect_str_eq(str(json_object_get(r.json, "error"), "field"),
	    "accept_origin", "%s", r.body);
	hresp_free(&r);
}

Test(two_registries, a_peer_stating_an_origin_of_another_domain_is_refused)
{
	struct hcred	 reg, creg;
	struct hresp	 r;
	char		 path[PATH_MAX];

	publish_db();
	origin_rule(0);
	/* b.test's registry itself, as a lying (or broken) peer would. */
	hcred_none(&reg);
	snprintf(reg.cert, sizeof(reg.cert), "%s",
	    nsregd_path(&b.s, "server.pem", path, sizeof(path)));
	snprintf(reg.key, sizeof(reg.key), "%s",
	    nsregd_path(&b.s, "server.key", path, sizeof(path)));
	/* Not accepted: the statement is ignored, whatever it says. */
	hreq(&a.s, &reg, "GET", "/v1/services/db", NULL, NULL,
	    "NSReg-Origin: " ORIGIN_C_DB, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect(strstr(r.body, "NSReg-Origin") == NULL, "%s", r.body);
	hresp_free(&r);
	hreq(&a.s, &reg, "GET", "/v1/services/db", NULL, NULL,
	    "NSReg-Origin: " ORIGIN_BAD, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	hresp_free(&r);
	registry_federate(&a, &b, REGISTRY_URL | REGISTRY_ORIGIN);
	/* Accepted: about b.test's own workload, the rule sees it. */
	hreq(&a.s, &reg, "GET", "/v1/services/db", NULL, NULL,
	    "NSReg-Origin: " ORIGIN_B_DB, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	hresp_free(&r);
	/* About c.test's: b.test cannot speak for it, refused outright. */
	hreq(&a.s, &reg, "GET", "/v1/services/db", NULL, NULL,
	    "NSReg-Origin: " ORIGIN_C_DB, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect_str_eq(hresp_error(&r), "permission_denied");
	cr_expect(strstr(r.body, "may speak only for workloads of b.test") !=
	    NULL, "%s", r.body);
	hresp_free(&r);
	/* A third company, c.test, whose registry a.test believes too: b.test
	 * still cannot speak for c.test's workloads, nor c.test for b.test's. */
	registry_start(&third, "c.test", NULL);
	registry_federate(&a, &third, REGISTRY_URL | REGISTRY_ORIGIN);
	hreq(&a.s, &reg, "GET", "/v1/services/db", NULL, NULL,
	    "NSReg-Origin: " ORIGIN_C_DB, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect(strstr(r.body, "may speak only for workloads of b.test") !=
	    NULL, "%s", r.body);
	hresp_free(&r);
	hcred_none(&creg);
	snprintf(creg.cert, sizeof(creg.cert), "%s",
	    nsregd_path(&third.s, "server.pem", path, sizeof(path)));
	snprintf(creg.key, sizeof(creg.key), "%s",
	    nsregd_path(&third.s, "server.key", path, sizeof(path)));
	hreq(&a.s, &creg, "GET", "/v1/services/db", NULL, NULL,
	    "NSReg-Origin: " ORIGIN_B_DB, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect(strstr(r.body, "may speak only for workloads of c.test") !=
	    NULL, "%s", r.body);
	hresp_free(&r);
	/* About its own workload, c.test is believed (and a.test's rules,
	 * which admit b.test's db team only, refuse). */
	hreq(&a.s, &creg, "GET", "/v1/services/db", NULL, NULL,
	    "NSReg-Origin: " ORIGIN_C_DB, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect(strstr(r.body, "find denied") != NULL, "%s", r.body);
	hresp_free(&r);
	/* Malformed: 400, never a guess. */
	hreq(&a.s, &reg, "GET", "/v1/services/db", NULL, NULL,
	    "NSReg-Origin: " ORIGIN_BAD, &r);
	cr_expect_eq(r.status, 400, "%s", r.body);
	cr_expect(strstr(r.body, "id: required") != NULL, "%s", r.body);
	hresp_free(&r);
	/* A workload of b.test cannot speak for another: only b.test's
	 * registry (its endpoint_spiffe_id) is believed. */
	registry_client(&b, &reg);
	hreq(&a.s, &reg, "GET", "/v1/services/db", NULL, NULL,
	    "NSReg-Origin: " ORIGIN_B_DB, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect(strstr(r.body, "find denied") != NULL, "%s", r.body);
	hresp_free(&r);
}

/* Run tests/integration/verify-grant.sh on token with r's JWKS. */
static int
verify_with(struct registry *r, const char *token, const char *aud,
    char *out, size_t len)
{
	struct hcred	 none;
	struct hresp	 resp;
	const char	*src = getenv("NSREG_SRCDIR");
	char		 jwks[PATH_MAX], tok[PATH_MAX], cmd[3 * PATH_MAX];
	FILE		*p;
	size_t		 n;
	int		 st;

	hcred_none(&none);
	cr_assert_eq(hreq(&r->s, &none, "GET", "/v1/jwks", NULL, NULL, NULL,
	    &resp), 0);
	cr_assert_eq(resp.status, 200);
	nsregd_path(&r->s, "peer-jwks.json", jwks, sizeof(jwks));
	harness_write(jwks, resp.body, 0644);
	hresp_free(&resp);
	nsregd_path(&r->s, "peer-token", tok, sizeof(tok));
	harness_write(tok, token, 0600);
	snprintf(cmd, sizeof(cmd), "sh %s/tests/integration/verify-grant.sh "
	    "\"$(cat %s)\" %s %s 2>&1", src != NULL ? src : ".", tok, jwks,
	    aud);
	cr_assert_not_null(p = popen(cmd, "r"));
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(two_registries, a_grant_is_asked_through_ones_own_registry)
{
	struct hcred	 pg, web;
	struct hresp	 r;
	const json_t	*d;
	char		 out[4096], tok[2048];

	publish_db();
	origin_rule(1);
	registry_federate(&a, &b, REGISTRY_URL | REGISTRY_ORIGIN);
	registry_x509(&b, b.ca, "spiffe://b.test/ns/db/sa/pg", &pg);
	registry_x509(&b, b.ca, "spiffe://b.test/ns/web/sa/fe", &web);

	/* b.test's own rules first: none lets its workloads connect out. */
	registry_req(&b, &pg, "POST", "/v1/grants", json_pack("{s:s}",
	    "service", "db@a.test"), &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect(strstr(r.body, "registry of a.test") == NULL, "%s", r.body);
	hresp_free(&r);
	policy(&b, "to-a", json_pack("{s:s, s:[s], s:s}", "effect", "permit",
	    "actions", "connect", "condition",
	    "principal.trust_domain == 'b.test' && "
	    "service.name.endsWith('@a.test')"));

	/* Allowed by both: a.test's grant, made out to the workload. */
	registry_req(&b, &pg, "POST", "/v1/grants", json_pack(
	    "{s:s, s:{s:s}}", "service", "db@a.test", "labels", "app", "pg"),
	    &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(str(r.json, "principal"),
	    "spiffe://b.test/ns/db/sa/pg");
	cr_expect_str_eq(str(r.json, "actor"), "spiffe://b.test/nsregd");
	cr_expect_str_eq(str(r.json, "service"), "db@a.test");
	cr_expect_str_eq(str(json_object_get(r.json, "endpoint"), "name"),
	    "db-1@a.test");
	cr_expect_str_eq(str(json_object_get(r.json, "decision"), "decision"),
	    "allow");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(r.json, "decision"), "reasons"), 0)),
	    "b-db-workloads", "%s", r.body);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(r.json, "local_decision"), "reasons"), 0)),
	    "to-a", "%s", r.body);
	snprintf(tok, sizeof(tok), "%s", str(r.json, "token"));
	hresp_free(&r);
	/* Signed by a.test: verifies with a.test's JWKS, not b.test's. */
	cr_expect_eq(verify_with(&a, tok,
	    "spiffe://a.test/ns/default/sa/client", out, sizeof(out)), 0,
	    "%s", out);
	cr_expect(strstr(out, "\"sub\":\"spiffe://b.test/ns/db/sa/pg\"") !=
	    NULL, "%s", out);
	cr_expect_neq(verify_with(&b, tok,
	    "spiffe://a.test/ns/default/sa/client", out, sizeof(out)), 0,
	    "%s", out);

	/* a.test's rules deny another workload: its decision comes back. */
	registry_req(&b, &web, "POST", "/v1/grants", json_pack("{s:s}",
	    "service", "db@a.test"), &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect_str_eq(hresp_error(&r), "permission_denied");
	cr_expect(strstr(r.body, "registry of a.test refused: connect "
	    "denied") != NULL, "%s", r.body);
	d = json_object_get(r.json, "decision");
	cr_expect_str_eq(str(d, "decision"), "deny", "%s", r.body);
	cr_expect_str_eq(str(json_object_get(r.json, "local_decision"),
	    "decision"), "allow", "%s", r.body);
	hresp_free(&r);
	/* A forbid of a.test is named in the answer. */
	policy(&a, "no-pg", json_pack("{s:s, s:[s], s:s}", "effect", "forbid",
	    "actions", "connect", "condition",
	    "request.origin.path.endsWith('/pg')"));
	registry_req(&b, &pg, "POST", "/v1/grants", json_pack("{s:s}",
	    "service", "db@a.test"), &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(r.json, "decision"), "reasons"), 0)), "no-pg",
	    "%s", r.body);
	hresp_free(&r);
	registry_req(&a, NULL, "DELETE", "/v1/policies/no-pg", NULL, &r);
	hresp_free(&r);

	/* A pinned endpoint names the peer's record; others are refused. */
	cr_expect_eq(status_of(&b, &pg, "POST", "/v1/grants", json_pack(
	    "{s:s, s:s}", "service", "db@a.test", "endpoint", "db-1@c.test"),
	    out, sizeof(out)), 400, "%s", out);
	cr_expect_eq(status_of(&b, &pg, "POST", "/v1/grants", json_pack(
	    "{s:s, s:s}", "service", "db@a.test", "endpoint", "db-1@a.test"),
	    out, sizeof(out)), 201, "%s", out);

	/* a.test no longer accepts b.test's word: the grant would be the
	 * registry's own, so it is given back and the caller told why. */
	registry_federate(&a, &b, REGISTRY_URL);
	policy(&a, "b-registry", json_pack("{s:s, s:[s], s:s}", "effect",
	    "permit", "actions", "connect", "condition",
	    "principal.id == 'spiffe://b.test/nsregd'"));
	registry_req(&b, &pg, "POST", "/v1/grants", json_pack("{s:s}",
	    "service", "db@a.test"), &r);
	cr_expect_eq(r.status, 502, "%s", r.body);
	cr_expect(strstr(r.body, "accept_origin") != NULL, "%s", r.body);
	hresp_free(&r);
	registry_req(&a, NULL, "GET",
	    "/v1/grants?principal=spiffe://b.test/nsregd", NULL, &r);
	cr_expect_eq(json_array_size(json_object_get(r.json, "items")), 0,
	    "%s", r.body);
	hresp_free(&r);

	/* a.test's registry down: 502 at once. */
	nsregd_stop(&a.s);
	registry_req(&b, &pg, "POST", "/v1/grants", json_pack("{s:s}",
	    "service", "db@a.test"), &r);
	cr_expect_eq(r.status, 502, "%s", r.body);
	hresp_free(&r);
}
