/*
 * test_policy.c - admission rules through a real nsregd: /v1/policies,
 * how each registry action is decided, list and watch filtering, the
 * decision log and what-if evaluation.  The server starts with no rules:
 * every non-admin request is denied until a test adds some.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CLIENT_ID	"spiffe://example.org/ns/default/sa/client"

static struct nsregd	srv;

static void
setup(void)
{
	/* Short bookmarks: a snapshot's BOOKMARK may wait for the timer. */
	nsregd_start(&srv, "watch-bookmark 1s\n");
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(policy, .init = setup, .fini = teardown, .timeout = 120);

/* One request; returns its status. */
static long
call(const struct hcred *c, const char *method, const char *path,
    const char *body)
{
	struct hresp	r;
	long		status;

	cr_assert_eq(hreq(&srv, c, method, path, body, NULL, NULL, &r), 0,
	    "%s %s: no answer", method, path);
	status = r.status;
	hresp_free(&r);
	return status;
}

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

static void
rule(const char *name, const char *json)
{
	nsregd_put_policy(&srv, name, json);
}

static void
unrule(const char *name)
{
	struct hcred	admin;
	char		path[256];

	hcred_admin(&srv, &admin);
	snprintf(path, sizeof(path), "/v1/policies/%s", name);
	cr_assert_eq(call(&admin, "DELETE", path, NULL), 204);
}

/* The decision log page for query (new reference to the items). */
static json_t *
decisions(const char *query)
{
	struct hcred	 admin;
	json_t		*o, *items;
	char		 path[1024];

	hcred_admin(&srv, &admin);
	snprintf(path, sizeof(path), "/v1/decisions%s", query);
	o = call_json(&admin, "GET", path, NULL, 200);
	items = json_incref(json_object_get(o, "items"));
	cr_assert(json_is_array(items));
	json_decref(o);
	return items;
}

static const char *
str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(null)";
}

/* The reasons of a decision as "a,b" in buf. */
static const char *
reasons(const json_t *decision, char *buf, size_t len)
{
	const json_t	*v;
	size_t		 i, o = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(decision, "reasons"), i, v)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "",
		    json_string_value(v));
	return buf;
}

static void
publish(const char *name, const char *body)
{
	struct hcred	admin;
	char		path[256];
	long		st;

	hcred_admin(&srv, &admin);
	snprintf(path, sizeof(path), "/v1/services/%s", name);
	st = call(&admin, "PUT", path, body);
	cr_assert(st == 201 || st == 200, "publish %s: %ld", name, st);
}

Test(policy, crud_validation_and_admin_only)
{
	struct hcred	 admin, client;
	struct hresp	 r;
	json_t		*o;
	const char	*tok;
	char		 path[256];
	size_t		 i;
	static const struct {
		const char	*path;
		const char	*body;
		const char	*field;
		const char	*message;	/* exact, or NULL */
	} bad[] = {
		{ "/v1/policies/p", "{\"effect\":\"permit\",\"actions\":"
		    "[\"find\"],\"condition\":\"principal.id == )\"}",
		    "condition",
		    "condition: 1:17: syntax error: unexpected ')'" },
		{ "/v1/policies/p", "{\"effect\":\"permit\",\"actions\":"
		    "[\"find\"],\"condition\":\"principal.id == 'x' &&\\n  "
		    "nosuch.var == 1\"}", "condition",
		    "condition: 2:3: undeclared reference to 'nosuch'" },
		{ "/v1/policies/p", "{\"effect\":\"permit\",\"actions\":"
		    "[\"find\"],\"condition\":\"1 + 2\"}", "condition",
		    "condition: 1:3: a condition must be a bool, this "
		    "expression is 'int'" },
		{ "/v1/policies/p", "{\"effect\":\"allow\",\"actions\":"
		    "[\"find\"]}", "effect", NULL },
		{ "/v1/policies/p", "{\"effect\":\"permit\",\"actions\":"
		    "[\"find\",\"fly\"]}", "actions[1]", NULL },
		{ "/v1/policies/p", "{\"effect\":\"permit\",\"actions\":[]}",
		    "actions", NULL },
		{ "/v1/policies/p", "{\"effect\":\"permit\",\"actions\":"
		    "[\"find\"],\"colour\":1}", "colour", NULL },
		{ "/v1/policies/p", "{\"name\":\"q\",\"effect\":\"permit\","
		    "\"actions\":[\"find\"]}", "name", NULL },
		{ "/v1/policies/p", "{\"effect\":\"permit\",\"actions\":"
		    "[\"find\"],\"mode\":\"dry-run\"}", "mode", NULL },
		{ "/v1/policies/Bad", "{\"effect\":\"permit\",\"actions\":"
		    "[\"find\"]}", "name", NULL },
	};

	hcred_admin(&srv, &admin);
	hcred_x509(&srv, &client);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hreq(&srv, &admin, "PUT", bad[i].path, bad[i].body, NULL, NULL,
		    &r);
		cr_expect_eq(r.status, 400, "%s: %ld", bad[i].body, r.status);
		cr_expect_str_eq(hresp_error(&r), "invalid_argument");
		o = json_object_get(r.json, "error");
		cr_expect_str_eq(str(o, "field"), bad[i].field, "%s: %s",
		    bad[i].body, r.body);
		if (bad[i].message != NULL)
			cr_expect_str_eq(str(o, "message"), bad[i].message);
		hresp_free(&r);
	}

	/* Create: defaults filled, metadata added, Location and ETag. */
	hreq(&srv, &admin, "PUT", "/v1/policies/p1", "{\"name\":\"p1\","
	    "\"effect\":\"permit\",\"actions\":[\"find\"],\"services\":"
	    "[\"db\"],\"condition\":\"principal.trust_domain == "
	    "'example.org'\",\"description\":\"d\"}", NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(hresp_header(&r, "Location"), "/v1/policies/p1");
	cr_expect_str_eq(str(r.json, "name"), "p1");
	cr_expect_str_eq(str(r.json, "effect"), "permit");
	cr_expect_str_eq(str(r.json, "mode"), "enforce");
	cr_expect_str_eq(str(r.json, "description"), "d");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    r.json, "services"), 0)), "db");
	cr_expect_gt(json_integer_value(json_object_get(r.json, "revision")),
	    0);
	hresp_free(&r);

	/* Replace (read-only fields sent back are accepted). */
	o = call_json(&admin, "GET", "/v1/policies/p1", NULL, 200);
	json_object_set_new(o, "mode", json_string("audit"));
	hreq_json(&srv, &admin, "PUT", "/v1/policies/p1", o, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "mode"), "audit");
	hresp_free(&r);

	/* Admin only: a workload can neither read nor write rules. */
	cr_expect_eq(call(&client, "GET", "/v1/policies", NULL), 403);
	cr_expect_eq(call(&client, "GET", "/v1/policies/p1", NULL), 403);
	cr_expect_eq(call(&client, "PUT", "/v1/policies/p2",
	    "{\"effect\":\"permit\",\"actions\":[\"find\"]}"), 403);
	cr_expect_eq(call(&client, "DELETE", "/v1/policies/p1", NULL), 403);
	cr_expect_eq(call(&client, "GET", "/v1/decisions", NULL), 403);
	cr_expect_eq(call(&client, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"" CLIENT_ID "\",\"action\":\"find\"}"), 403);

	/* A list in pages, in name order. */
	for (i = 2; i <= 5; i++) {
		snprintf(path, sizeof(path), "p%zu", i);
		rule(path, "{\"effect\":\"forbid\",\"actions\":[\"connect\"],"
		    "\"mode\":\"audit\"}");
	}
	o = call_json(&admin, "GET", "/v1/policies?limit=3", NULL, 200);
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 3);
	cr_expect_str_eq(str(json_array_get(json_object_get(o, "items"), 0),
	    "name"), "p1");
	tok = str(o, "next_page_token");
	cr_assert_neq(tok[0], '\0');
	snprintf(path, sizeof(path), "/v1/policies?limit=3&page_token=%s",
	    tok);
	json_decref(o);
	o = call_json(&admin, "GET", path, NULL, 200);
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 2);
	cr_expect_str_eq(str(o, "next_page_token"), "");
	json_decref(o);
	cr_expect_eq(call(&admin, "GET", "/v1/policies?colour=red", NULL),
	    400);

	/* Delete. */
	cr_expect_eq(call(&admin, "DELETE", "/v1/policies/p1", NULL), 204);
	cr_expect_eq(call(&admin, "GET", "/v1/policies/p1", NULL), 404);
	cr_expect_eq(call(&admin, "DELETE", "/v1/policies/p1", NULL), 404);
}

Test(policy, watch_of_policies)
{
	struct hcred	 admin;
	struct hwatch	 w;
	json_t		*ev;

	hcred_admin(&srv, &admin);
	rule("w1", "{\"effect\":\"permit\",\"actions\":[\"find\"]}");
	hwatch_start(&w, &srv, &admin, "/v1/policies?watch=true");
	cr_assert_eq(hwatch_wait(&w, 2, 5000), 2);
	ev = hwatch_event(&w, 0);
	cr_expect_str_eq(str(ev, "type"), "ADDED");
	cr_expect_str_eq(str(json_object_get(ev, "object"), "name"), "w1");
	cr_expect_str_eq(str(hwatch_event(&w, 1), "type"), "BOOKMARK");
	rule("w2", "{\"effect\":\"permit\",\"actions\":[\"find\"]}");
	unrule("w1");
	cr_assert_eq(hwatch_wait(&w, 4, 5000), 4);
	cr_expect_str_eq(str(hwatch_event(&w, 2), "type"), "ADDED");
	cr_expect_str_eq(str(hwatch_event(&w, 3), "type"), "DELETED");
	hwatch_stop(&w);
}

Test(policy, default_deny_without_rules)
{
	struct hcred	 admin, client;
	json_t		*o, *d;
	char		 buf[256];

	hcred_admin(&srv, &admin);
	hcred_x509(&srv, &client);
	publish("db", "{}");

	o = call_json(&client, "GET", "/v1/services/db", NULL, 403);
	cr_expect_str_eq(str(json_object_get(o, "error"), "code"),
	    "permission_denied");
	cr_expect_str_eq(str(json_object_get(o, "error"), "message"),
	    "find denied (service db): no policy permits it");
	d = json_object_get(o, "decision");
	cr_expect_str_eq(str(d, "decision"), "deny");
	cr_expect_str_eq(reasons(d, buf, sizeof(buf)), "");
	cr_expect_eq(json_array_size(json_object_get(d, "errors")), 0);
	json_decref(o);
	cr_expect_eq(call(&client, "PUT", "/v1/endpoints/e1",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":"
	    "[\"db\"]}"), 403);
	cr_expect_eq(call(&client, "PUT", "/v1/services/web", "{}"), 403);
	cr_expect_eq(call(&client, "DELETE", "/v1/services/db", NULL), 403);

	/* A list is answered, with nothing the caller may not find. */
	o = call_json(&client, "GET", "/v1/services", NULL, 200);
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 0);
	json_decref(o);

	/* Admins bypass the rules. */
	cr_expect_eq(call(&admin, "GET", "/v1/services/db", NULL), 200);
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/e1",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":"
	    "[\"db\"]}"), 201);
}

Test(policy, publish_decides_on_the_record_written)
{
	struct hcred	 client;
	json_t		*o;
	char		 buf[256];

	hcred_x509(&srv, &client);
	rule("publish-dev", "{\"effect\":\"permit\",\"actions\":"
	    "[\"publish\"],\"condition\":\"service.labels.tier == 'dev' && "
	    "service.payload == 'IP' && principal.path.startsWith("
	    "'/ns/default/')\"}");
	cr_expect_eq(call(&client, "PUT", "/v1/services/a",
	    "{\"labels\":{\"tier\":\"dev\"}}"), 201);
	o = call_json(&client, "PUT", "/v1/services/b",
	    "{\"labels\":{\"tier\":\"prod\"}}", 403);
	cr_expect_str_eq(str(json_object_get(o, "decision"), "decision"),
	    "deny");
	json_decref(o);
	cr_expect_eq(call(&client, "PUT", "/v1/services/c",
	    "{\"payload\":\"ETHERNET\",\"labels\":{\"tier\":\"dev\"}}"), 403);
	/* Moving a's record out of the rule's reach is a publish too. */
	cr_expect_eq(call(&client, "PUT", "/v1/services/a",
	    "{\"labels\":{\"tier\":\"prod\"}}"), 403);
	/* DELETE decides on the stored record. */
	publish("p", "{\"labels\":{\"tier\":\"prod\"}}");
	cr_expect_eq(call(&client, "DELETE", "/v1/services/p", NULL), 403);
	cr_expect_eq(call(&client, "DELETE", "/v1/services/a", NULL), 204);
	/* An absent record: 404 only for a caller that may act on it. */
	cr_expect_eq(call(&client, "DELETE", "/v1/services/a", NULL), 403);

	/* A forbid overrides the permit, and is named. */
	rule("no-a", "{\"effect\":\"forbid\",\"actions\":[\"publish\"],"
	    "\"services\":[\"a\"]}");
	o = call_json(&client, "PUT", "/v1/services/a",
	    "{\"labels\":{\"tier\":\"dev\"}}", 403);
	cr_expect_str_eq(reasons(json_object_get(o, "decision"), buf,
	    sizeof(buf)), "no-a");
	cr_expect_str_eq(str(json_object_get(o, "error"), "message"),
	    "publish denied (service a): forbidden by no-a");
	json_decref(o);
	cr_expect_eq(call(&client, "PUT", "/v1/services/d",
	    "{\"labels\":{\"tier\":\"dev\"}}"), 201);
}

Test(policy, register_decides_per_offered_service)
{
	struct hcred	 client, other;
	json_t		*items, *e;
	size_t		 i;
	int		 seen_web = 0;

	hcred_x509(&srv, &client);
	hcred_issue_x509(&srv, "spiffe://example.org/ns/other/sa/x", 0,
	    &other);
	publish("db", "{\"labels\":{\"tier\":\"data\"}}");
	/* endpoint.labels are the endpoint's labels for that service. */
	rule("pg-only", "{\"effect\":\"permit\",\"actions\":[\"register\"],"
	    "\"condition\":\"endpoint.labels.app == 'pg' && "
	    "endpoint.owner == principal.id && "
	    "endpoint.url.startsWith('tcp://10.') && "
	    "'db' in endpoint.network_service_names\"}");
	cr_expect_eq(call(&client, "PUT", "/v1/endpoints/e1",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"db\"],"
	    "\"network_service_labels\":{\"db\":{\"app\":\"pg\"}}}"), 201);
	cr_expect_eq(call(&client, "PUT", "/v1/endpoints/e2",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"db\"],"
	    "\"network_service_labels\":{\"db\":{\"app\":\"mysql\"}}}"), 403);
	/* Every offered service must be allowed: web has no app=pg. */
	cr_expect_eq(call(&client, "PUT", "/v1/endpoints/e3",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"db\","
	    "\"web\"],\"network_service_labels\":{\"db\":{\"app\":\"pg\"}}}"),
	    403);
	/* The owner stays the first registrant: another may not refresh. */
	rule("any-register", "{\"effect\":\"permit\",\"actions\":"
	    "[\"register\"],\"condition\":\"endpoint.owner != principal.id\"}");
	cr_expect_eq(call(&other, "PUT", "/v1/endpoints/e1",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"db\"],"
	    "\"network_service_labels\":{\"db\":{\"app\":\"pg\"}}}"), 403);
	unrule("any-register");
	cr_expect_eq(call(&client, "PUT", "/v1/endpoints/e3",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"db\","
	    "\"web\"],\"network_service_labels\":{\"db\":{\"app\":\"pg\"},"
	    "\"web\":{\"app\":\"pg\"}}}"), 201);

	/* Each service's decision is logged. */
	items = decisions("?action=register&limit=10");
	json_array_foreach(items, i, e)
		if (strcmp(str(e, "endpoint"), "e3") == 0 &&
		    strcmp(str(e, "service"), "web") == 0 &&
		    strcmp(str(json_object_get(e, "decision"), "decision"),
		    "allow") == 0)
			seen_web = 1;
	cr_expect(seen_web, "no allow for e3/web in the log");
	json_decref(items);
}

Test(policy, unregister_decides_on_the_stored_record)
{
	struct hcred	client;

	hcred_x509(&srv, &client);
	rule("reg", "{\"effect\":\"permit\",\"actions\":[\"register\"]}");
	rule("unreg", "{\"effect\":\"permit\",\"actions\":[\"unregister\"],"
	    "\"condition\":\"endpoint.owner == principal.id\"}");
	rule("keep-10-9", "{\"effect\":\"forbid\",\"actions\":"
	    "[\"unregister\"],\"condition\":\"endpoint.url.startsWith("
	    "'tcp://10.9.')\"}");
	cr_expect_eq(call(&client, "PUT", "/v1/endpoints/a",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":"
	    "[\"db\"]}"), 201);
	cr_expect_eq(call(&client, "PUT", "/v1/endpoints/b",
	    "{\"url\":\"tcp://10.9.0.1:1\",\"network_service_names\":"
	    "[\"db\"]}"), 201);
	cr_expect_eq(call(&client, "DELETE", "/v1/endpoints/b", NULL), 403);
	cr_expect_eq(call(&client, "DELETE", "/v1/endpoints/a", NULL), 204);
	/* Absent: the name alone is decided (no owner: denied). */
	cr_expect_eq(call(&client, "DELETE", "/v1/endpoints/a", NULL), 403);
}

Test(policy, find_one_record)
{
	struct hcred	 client, admin;
	json_t		*o;

	hcred_x509(&srv, &client);
	hcred_admin(&srv, &admin);
	publish("db", "{\"labels\":{\"visible\":\"yes\"}}");
	publish("web", "{}");
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/e1",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"web\","
	    "\"db\"]}"), 201);
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/e2",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":"
	    "[\"web\"]}"), 201);
	rule("find-visible", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"condition\":\"has(service.labels.visible)\"}");
	cr_expect_eq(call(&client, "GET", "/v1/services/db", NULL), 200);
	cr_expect_eq(call(&client, "GET", "/v1/services/web", NULL), 403);
	/* Denied or absent look the same; absent and allowed is 404. */
	cr_expect_eq(call(&client, "GET", "/v1/services/nope", NULL), 403);
	rule("find-nope", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"services\":[\"nope\"]}");
	cr_expect_eq(call(&client, "GET", "/v1/services/nope", NULL), 404);
	/* An endpoint is found when one of its services may be. */
	o = call_json(&client, "GET", "/v1/endpoints/e1", NULL, 200);
	cr_expect_str_eq(str(o, "name"), "e1");
	json_decref(o);
	o = call_json(&client, "GET", "/v1/endpoints/e2", NULL, 403);
	cr_expect_str_eq(str(json_object_get(o, "error"), "message"),
	    "find denied (service web, endpoint e2): no policy permits it");
	json_decref(o);
}

Test(policy, combining_errors_and_audit)
{
	struct hcred	 client, jwt;
	json_t		*o, *d, *items, *e;
	char		 buf[256];

	hcred_x509(&srv, &client);
	publish("db", "{}");

	/* A permit whose condition errors does not hold. */
	rule("team", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"condition\":\"principal.claims.team == 'db'\"}");
	o = call_json(&client, "GET", "/v1/services/db", NULL, 403);
	d = json_object_get(o, "decision");
	cr_expect_str_eq(str(d, "decision"), "deny");
	cr_expect_str_eq(reasons(d, buf, sizeof(buf)), "");
	cr_assert_eq(json_array_size(json_object_get(d, "errors")), 1);
	e = json_array_get(json_object_get(d, "errors"), 0);
	cr_expect_str_eq(str(e, "policy"), "team");
	cr_expect_neq(str(e, "message")[0], '\0');
	json_decref(o);

	/* A JWT-SVID's claims are there for the condition. */
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/db/sa/pg", 0, &jwt);
	rule("jwt-sub", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"condition\":\"principal.auth == 'jwt' && "
	    "principal.claims.sub == principal.id && "
	    "principal.segments[1] == 'db' && "
	    "principal.expires_at > request.time\"}");
	cr_expect_eq(call(&jwt, "GET", "/v1/services/db", NULL), 200);
	cr_expect_eq(call(&client, "GET", "/v1/services/db", NULL), 403);
	unrule("jwt-sub");

	/* A forbid whose condition errors holds (fail closed). */
	rule("everyone", "{\"effect\":\"permit\",\"actions\":[\"find\"]}");
	cr_expect_eq(call(&client, "GET", "/v1/services/db", NULL), 200);
	rule("zone", "{\"effect\":\"forbid\",\"actions\":[\"find\"],"
	    "\"condition\":\"request.labels.zone == 'a'\"}");
	o = call_json(&client, "GET", "/v1/services/db", NULL, 403);
	d = json_object_get(o, "decision");
	cr_expect_str_eq(reasons(d, buf, sizeof(buf)), "zone");
	cr_expect_eq(json_array_size(json_object_get(d, "errors")), 1);
	json_decref(o);
	unrule("zone");

	/* Audit rules are reported, never enforced. */
	rule("would-forbid", "{\"effect\":\"forbid\",\"actions\":[\"find\"],"
	    "\"mode\":\"audit\"}");
	cr_expect_eq(call(&client, "GET", "/v1/services/db", NULL), 200);
	items = decisions("?action=find&limit=1");
	cr_assert_eq(json_array_size(items), 1);
	d = json_object_get(json_array_get(items, 0), "decision");
	cr_expect_str_eq(str(d, "decision"), "allow");
	cr_expect_str_eq(reasons(d, buf, sizeof(buf)), "everyone");
	cr_assert_eq(json_array_size(json_object_get(d, "audit")), 1);
	e = json_array_get(json_object_get(d, "audit"), 0);
	cr_expect_str_eq(str(e, "policy"), "would-forbid");
	cr_expect_str_eq(str(e, "effect"), "forbid");
	cr_expect(json_is_true(json_object_get(e, "matched")));
	json_decref(items);
}

/* The names of a list's items, "a,b,c". */
static const char *
names(const json_t *list, char *buf, size_t len)
{
	const json_t	*v;
	size_t		 i, o = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(list, "items"), i, v)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "",
		    str(v, "name"));
	return buf;
}

Test(policy, lists_show_only_what_the_caller_may_find)
{
	struct hcred	 client, admin;
	json_t		*o, *items, *e, *l;
	char		 buf[512], path[256];
	const char	*tok;
	size_t		 i;
	int64_t		 summary = 0, found = 0, hidden = 0;
	int		 hidden_logged = 0;

	hcred_x509(&srv, &client);
	hcred_admin(&srv, &admin);
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "s%zu", i);
		publish(path, i % 2 == 0 ? "{\"labels\":{\"visible\":\"yes\"}}" :
		    "{}");
	}
	rule("visible", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"condition\":\"has(service.labels.visible)\"}");
	o = call_json(&client, "GET", "/v1/services", NULL, 200);
	cr_expect_str_eq(names(o, buf, sizeof(buf)), "s0,s2,s4");
	json_decref(o);
	/* Pages count what the caller sees. */
	o = call_json(&client, "GET", "/v1/services?limit=2", NULL, 200);
	cr_expect_str_eq(names(o, buf, sizeof(buf)), "s0,s2");
	tok = str(o, "next_page_token");
	snprintf(path, sizeof(path), "/v1/services?limit=2&page_token=%s",
	    tok);
	json_decref(o);
	o = call_json(&client, "GET", path, NULL, 200);
	cr_expect_str_eq(names(o, buf, sizeof(buf)), "s4");
	json_decref(o);
	o = call_json(&admin, "GET", "/v1/services", NULL, 200);
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 6);
	json_decref(o);

	/*
	 * A summary entry per list (repeats folded into one with "count"),
	 * hidden items logged as denials.
	 */
	items = decisions("?principal=" CLIENT_ID "&action=find&limit=50");
	json_array_foreach(items, i, e) {
		if ((l = json_object_get(e, "list")) != NULL) {
			summary += json_object_get(e, "count") != NULL ?
			    json_integer_value(json_object_get(e, "count")) : 1;
			found += json_integer_value(json_object_get(l,
			    "found"));
			hidden += json_integer_value(json_object_get(l,
			    "hidden"));
			cr_expect_str_eq(str(json_object_get(e, "decision"),
			    "decision"), "allow");
		}
		if (strcmp(str(json_object_get(e, "decision"), "decision"),
		    "deny") == 0 && strcmp(str(e, "service"), "s1") == 0)
			hidden_logged++;
	}
	/* Three lists: 3+3, then pages of 3+2 and 1+2 decided items. */
	cr_expect_eq(summary, 3);
	cr_expect_eq(found, 7);
	cr_expect_eq(hidden, 7);
	cr_expect_geq(hidden_logged, 1);
	json_decref(items);

	/* Endpoints: one of the offered (or asked-for) services suffices. */
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/e-a",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":"
	    "[\"s0\"]}"), 201);
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/e-b",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":"
	    "[\"s1\"]}"), 201);
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/e-c",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"s1\","
	    "\"s2\"]}"), 201);
	o = call_json(&client, "GET", "/v1/endpoints", NULL, 200);
	cr_expect_str_eq(names(o, buf, sizeof(buf)), "e-a,e-c");
	json_decref(o);
	o = call_json(&client, "GET", "/v1/endpoints?service=s1", NULL, 200);
	cr_expect_str_eq(names(o, buf, sizeof(buf)), "");
	json_decref(o);
	o = call_json(&client, "GET", "/v1/endpoints?service=s2", NULL, 200);
	cr_expect_str_eq(names(o, buf, sizeof(buf)), "e-c");
	json_decref(o);
}

Test(policy, watches_filter_events)
{
	struct hcred	 client, admin;
	struct hwatch	 w;
	json_t		*ev;
	size_t		 n;

	hcred_x509(&srv, &client);
	hcred_admin(&srv, &admin);
	rule("find-own", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"condition\":\"has(endpoint.labels.team) && "
	    "endpoint.labels.team == 'blue'\"}");
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/blue-1",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"db\"],"
	    "\"network_service_labels\":{\"db\":{\"team\":\"blue\"}}}"), 201);
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/red-1",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"db\"],"
	    "\"network_service_labels\":{\"db\":{\"team\":\"red\"}}}"), 201);
	hwatch_start(&w, &srv, &client, "/v1/endpoints?service=db&watch=true");
	cr_assert_eq(hwatch_wait(&w, 2, 5000), 2);
	ev = hwatch_event(&w, 0);
	cr_expect_str_eq(str(ev, "type"), "ADDED");
	cr_expect_str_eq(str(json_object_get(ev, "object"), "name"), "blue-1");
	cr_expect_str_eq(str(hwatch_event(&w, 1), "type"), "BOOKMARK");
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/red-2",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"db\"],"
	    "\"network_service_labels\":{\"db\":{\"team\":\"red\"}}}"), 201);
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/blue-2",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"db\"],"
	    "\"network_service_labels\":{\"db\":{\"team\":\"blue\"}}}"), 201);
	cr_expect_eq(call(&admin, "DELETE", "/v1/endpoints/red-1", NULL), 204);
	cr_expect_eq(call(&admin, "DELETE", "/v1/endpoints/blue-1", NULL),
	    204);
	n = hwatch_wait(&w, 4, 5000);
	usleep(300 * 1000);
	cr_assert_eq(hwatch_wait(&w, 5, 100), 4, "red events leaked");
	cr_expect_eq(n, 4);
	ev = hwatch_event(&w, 2);
	cr_expect_str_eq(str(ev, "type"), "ADDED");
	cr_expect_str_eq(str(json_object_get(ev, "object"), "name"), "blue-2");
	ev = hwatch_event(&w, 3);
	cr_expect_str_eq(str(ev, "type"), "DELETED");
	cr_expect_str_eq(str(json_object_get(ev, "object"), "name"), "blue-1");
	hwatch_stop(&w);
}

Test(policy, decision_log_filters_and_pages)
{
	struct hcred	 client, admin;
	json_t		*items, *e, *o;
	char		 path[256];
	const char	*tok;
	size_t		 i;
	int64_t		 prev = INT64_MAX, id;

	hcred_x509(&srv, &client);
	hcred_admin(&srv, &admin);
	publish("db", "{}");
	rule("find-db", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"services\":[\"db\"]}");
	for (i = 0; i < 3; i++)
		cr_expect_eq(call(&client, "GET", "/v1/services/db", NULL),
		    200);
	cr_expect_eq(call(&client, "GET", "/v1/services/web", NULL), 403);

	/*
	 * The last request first, with every field; the three identical
	 * finds of db fold into one entry that counts them.
	 */
	items = decisions("?principal=" CLIENT_ID);
	cr_assert_geq(json_array_size(items), 2);
	e = json_array_get(items, 0);
	cr_expect_str_eq(str(e, "principal"), CLIENT_ID);
	cr_expect_str_eq(str(e, "action"), "find");
	cr_expect_str_eq(str(e, "service"), "web");
	cr_expect(json_is_null(json_object_get(e, "endpoint")));
	cr_expect(json_is_null(json_object_get(e, "grant")));
	cr_expect(json_is_string(json_object_get(e, "time")));
	cr_expect(json_is_integer(json_object_get(e, "id")));
	cr_expect_str_eq(str(json_object_get(e, "decision"), "decision"),
	    "deny");
	e = json_array_get(items, 1);
	cr_expect_str_eq(str(e, "service"), "db");
	cr_expect_eq(json_integer_value(json_object_get(e, "count")), 3);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(e, "decision"), "reasons"), 0)), "find-db");
	json_array_foreach(items, i, e) {
		id = json_integer_value(json_object_get(e, "id"));
		cr_expect_lt(id, prev, "not newest first");
		prev = id;
	}
	json_decref(items);

	items = decisions("?decision=deny&action=find");
	cr_expect_eq(json_array_size(items), 1);
	json_decref(items);
	items = decisions("?decision=allow&principal=" CLIENT_ID);
	cr_expect_eq(json_array_size(items), 1);
	json_decref(items);
	items = decisions("?action=register");
	cr_expect_eq(json_array_size(items), 0);
	json_decref(items);

	/* The admin's bypass is logged as such. */
	items = decisions("?action=publish");
	cr_assert_eq(json_array_size(items), 1);
	e = json_array_get(items, 0);
	cr_expect(json_is_null(json_object_get(e, "principal")));
	cr_expect(json_is_true(json_object_get(json_object_get(e,
	    "decision"), "bypass")));
	cr_expect_str_eq(str(json_object_get(e, "decision"), "decision"),
	    "allow");
	json_decref(items);

	/* Pages. */
	o = call_json(&admin, "GET", "/v1/decisions?limit=2", NULL, 200);
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 2);
	tok = str(o, "next_page_token");
	cr_assert_neq(tok[0], '\0');
	snprintf(path, sizeof(path), "/v1/decisions?limit=2&page_token=%s",
	    tok);
	json_decref(o);
	o = call_json(&admin, "GET", path, NULL, 200);
	/* publish (admin), the folded finds of db, the denied find. */
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 1);
	json_decref(o);

	cr_expect_eq(call(&admin, "GET", "/v1/decisions?decision=maybe",
	    NULL), 400);
	cr_expect_eq(call(&admin, "GET", "/v1/decisions?action=fly", NULL),
	    400);
	cr_expect_eq(call(&admin, "GET", "/v1/decisions?limit=0", NULL), 400);
	cr_expect_eq(call(&admin, "GET", "/v1/decisions?page_token=x", NULL),
	    400);
	cr_expect_eq(call(&admin, "GET", "/v1/decisions?colour=red", NULL),
	    400);
}

Test(policy, evaluate_without_side_effects)
{
	struct hcred	 admin, client;
	struct hresp	 r;
	json_t		*d, *items;
	size_t		 before;
	char		 buf[256];

	hcred_admin(&srv, &admin);
	hcred_x509(&srv, &client);
	publish("db", "{\"labels\":{\"tier\":\"data\"}}");
	cr_expect_eq(call(&client, "PUT", "/v1/endpoints/db-1",
	    "{\"url\":\"tcp://10.0.0.1:5002\",\"network_service_names\":"
	    "[\"db\"],\"network_service_labels\":{\"db\":{\"app\":\"pg\"}}}"),
	    403);
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/db-1",
	    "{\"url\":\"tcp://10.0.0.1:5002\",\"network_service_names\":"
	    "[\"db\"],\"network_service_labels\":{\"db\":{\"app\":\"pg\"}}}"),
	    201);
	rule("partner", "{\"effect\":\"permit\",\"actions\":[\"connect\"],"
	    "\"services\":[\"db\"],\"condition\":\""
	    "principal.trust_domain == 'partner.test' && "
	    "principal.claims.team == 'dba' && service.labels.tier == 'data' "
	    "&& endpoint.labels.app == 'pg' && request.labels.env == 'prod'\"}");
	rule("no-endpoint", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"condition\":\"endpoint == null && service == null\"}");
	items = decisions("");
	before = json_array_size(items);
	json_decref(items);

	d = call_json(&admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"spiffe://partner.test/ns/x/sa/y\",\"claims\":"
	    "{\"team\":\"dba\"},\"action\":\"connect\",\"service\":\"db\","
	    "\"endpoint\":\"db-1\",\"labels\":{\"env\":\"prod\"}}", 200);
	cr_expect_str_eq(str(d, "decision"), "allow");
	cr_expect_str_eq(reasons(d, buf, sizeof(buf)), "partner");
	cr_expect(json_is_array(json_object_get(d, "errors")));
	cr_expect(json_is_array(json_object_get(d, "audit")));
	json_decref(d);
	d = call_json(&admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"spiffe://partner.test/ns/x/sa/y\",\"claims\":"
	    "{\"team\":\"dba\"},\"action\":\"connect\",\"service\":\"db\","
	    "\"endpoint\":\"db-1\",\"labels\":{\"env\":\"dev\"}}", 200);
	cr_expect_str_eq(str(d, "decision"), "deny");
	json_decref(d);
	/* Absent records are null; hypothetical ones may be given. */
	d = call_json(&admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"spiffe://example.org/a\",\"action\":\"find\","
	    "\"service\":\"nosuch\",\"endpoint\":\"nosuch\"}", 200);
	cr_expect_str_eq(str(d, "decision"), "allow");
	json_decref(d);
	d = call_json(&admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"spiffe://partner.test/ns/x/sa/y\",\"claims\":"
	    "{\"team\":\"dba\"},\"action\":\"connect\",\"service\":{\"name\":"
	    "\"db\",\"labels\":{\"tier\":\"data\"}},\"endpoint\":{\"name\":"
	    "\"db-9\",\"network_service_names\":[\"db\"],"
	    "\"network_service_labels\":{\"db\":{\"app\":\"pg\"}}},"
	    "\"labels\":{\"env\":\"prod\"}}", 200);
	cr_expect_str_eq(str(d, "decision"), "allow");
	json_decref(d);

	/* Bad questions are 400 with the field. */
	hreq(&srv, &admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"spiffe://Example.org/a b\",\"action\":\"find\"}",
	    NULL, NULL, &r);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(str(json_object_get(r.json, "error"), "field"),
	    "principal");
	hresp_free(&r);
	hreq(&srv, &admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"spiffe://example.org/a\",\"action\":\"fly\"}",
	    NULL, NULL, &r);
	cr_expect_str_eq(str(json_object_get(r.json, "error"), "field"),
	    "action");
	hresp_free(&r);
	hreq(&srv, &admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"spiffe://example.org/a\",\"action\":\"find\","
	    "\"colour\":1}", NULL, NULL, &r);
	cr_expect_str_eq(str(json_object_get(r.json, "error"), "field"),
	    "colour");
	hresp_free(&r);

	/* Nothing was logged. */
	items = decisions("");
	cr_expect_eq(json_array_size(items), before);
	json_decref(items);
}

Test(policy, rules_survive_a_restart)
{
	struct hcred	client;

	hcred_x509(&srv, &client);
	publish("db", "{}");
	rule("find-db", "{\"effect\":\"permit\",\"actions\":[\"find\"]}");
	cr_expect_eq(call(&client, "GET", "/v1/services/db", NULL), 200);
	nsregd_restart(&srv);
	cr_expect_eq(call(&client, "GET", "/v1/services/db", NULL), 200);
	unrule("find-db");
	cr_expect_eq(call(&client, "GET", "/v1/services/db", NULL), 403);
}

Test(policy, lists_are_decided_once_when_no_rule_looks_at_the_items)
{
	struct hcred	 client;
	json_t		*o, *items, *e;
	char		 buf[256];

	hcred_x509(&srv, &client);
	publish("a", "{}");
	publish("b", "{\"labels\":{\"hidden\":\"yes\"}}");
	rule("local", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"condition\":\"principal.trust_domain == 'example.org'\"}");
	o = call_json(&client, "GET", "/v1/services", NULL, 200);
	cr_expect_str_eq(names(o, buf, sizeof(buf)), "a,b");
	json_decref(o);
	/* One decision for the whole list, logged as such. */
	items = decisions("?action=find&limit=1");
	cr_assert_eq(json_array_size(items), 1);
	e = json_array_get(items, 0);
	cr_expect_null(json_object_get(e, "list"));
	cr_expect(json_is_null(json_object_get(e, "service")));
	cr_expect_str_eq(str(json_object_get(e, "decision"), "decision"),
	    "allow");
	json_decref(items);

	/* A rule that looks at the service: item by item again. */
	rule("not-hidden", "{\"effect\":\"forbid\",\"actions\":[\"find\"],"
	    "\"condition\":\"has(service.labels.hidden)\"}");
	o = call_json(&client, "GET", "/v1/services", NULL, 200);
	cr_expect_str_eq(names(o, buf, sizeof(buf)), "a");
	json_decref(o);
	unrule("not-hidden");
	/* Scoped to a service: per item for a list of services. */
	rule("only-a", "{\"effect\":\"forbid\",\"actions\":[\"find\"],"
	    "\"services\":[\"b\"]}");
	o = call_json(&client, "GET", "/v1/services", NULL, 200);
	cr_expect_str_eq(names(o, buf, sizeof(buf)), "a");
	json_decref(o);
}

Test(policy, conditions_use_named_time_zones)
{
	struct hcred	 client;
	json_t		*o, *e;

	hcred_x509(&srv, &client);
	publish("db", "{}");
	/* Paris is one or two hours ahead of UTC, never the same. */
	rule("paris", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"condition\":\"(request.time.getHours('Europe/Paris') - "
	    "request.time.getHours() + 24) % 24 in [1, 2]\"}");
	cr_expect_eq(call(&client, "GET", "/v1/services/db", NULL), 200);
	unrule("paris");
	/* An unknown zone is an evaluation error: the permit does not hold. */
	rule("atlantis", "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"condition\":\"request.time.getHours('Atlantis/Capital') >= 0\"}");
	o = call_json(&client, "GET", "/v1/services/db", NULL, 403);
	e = json_array_get(json_object_get(json_object_get(o, "decision"),
	    "errors"), 0);
	cr_expect_str_eq(str(e, "policy"), "atlantis");
	json_decref(o);
}
