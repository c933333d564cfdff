/*
 * test_trust_domains.c - /v1/trust-domains through a real nsregd: the
 * object, validation field by field, the local trust domain, listing and
 * pages, revisions, restarts, replacing a bundle, federation-only trust
 * domains, watch, and the admin role.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idfix.h"
#include "util.h"

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

TestSuite(trust_domains, .init = setup, .fini = teardown, .timeout = 90);

static const char *
str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(not a string)";
}

static void
get(const char *path, struct hresp *r)
{
	struct hcred	admin;

	hcred_admin(&srv, &admin);
	cr_assert_eq(hreq(&srv, &admin, "GET", path, NULL, NULL, NULL, r), 0);
}

Test(trust_domains, put_get_replace_delete)
{
	struct svid_ca	*b = idfix_ca("b.test");
	struct hcred	 admin;
	struct hresp	 r;
	json_t		*body, *want;
	char		 created[64], refreshed[64];

	hcred_admin(&srv, &admin);
	body = idfix_td_body(b);
	want = json_deep_copy(json_object_get(body, "bundle"));
	cr_assert_eq(hreq_json(&srv, &admin, "PUT", "/v1/trust-domains/b.test",
	    body, &r), 0);
	cr_expect_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(hresp_header(&r, "Location"),
	    "/v1/trust-domains/b.test");
	cr_expect_not_null(hresp_header(&r, "ETag"));
	cr_expect_str_eq(str(r.json, "name"), "b.test");
	cr_expect(json_equal(json_object_get(r.json, "bundle"), want));
	cr_expect(json_is_null(json_object_get(r.json, "federation")));
	cr_expect(json_is_null(json_object_get(r.json, "registry_url")));
	cr_expect(json_is_null(json_object_get(r.json, "last_error")));
	cr_expect_eq(json_integer_value(json_object_get(r.json, "sequence")),
	    7);
	cr_expect(json_is_string(json_object_get(r.json, "refreshed_at")));
	cr_expect(json_is_integer(json_object_get(r.json, "revision")));
	snprintf(created, sizeof(created), "%s", str(r.json, "created_at"));
	snprintf(refreshed, sizeof(refreshed), "%s", str(r.json,
	    "refreshed_at"));
	hresp_free(&r);

	get("/v1/trust-domains/b.test", &r);
	cr_expect_eq(r.status, 200);
	cr_expect(json_equal(json_object_get(r.json, "bundle"), want));
	hresp_free(&r);

	/* The same bundle again (a GET's body sent back): refreshed_at
	 * stays, registry_url is added. */
	usleep(20 * 1000);
	body = json_pack("{s:O, s:s, s:I, s:s}", "bundle", want,
	    "registry_url", "https://registry.b.test:8443", "sequence",
	    (json_int_t)99, "refreshed_at", "2000-01-01T00:00:00Z");
	cr_assert_eq(hreq_json(&srv, &admin, "PUT", "/v1/trust-domains/b.test",
	    body, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "registry_url"),
	    "https://registry.b.test:8443");
	cr_expect_str_eq(str(r.json, "refreshed_at"), refreshed);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "sequence")),
	    7, "sequence is the server's, not the client's");
	cr_expect_str_eq(str(r.json, "created_at"), created);
	hresp_free(&r);

	idfix_td_delete(&srv, "b.test", 204);
	get("/v1/trust-domains/b.test", &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(hresp_error(&r), "not_found");
	hresp_free(&r);
	idfix_td_delete(&srv, "b.test", 404);
	json_decref(want);
	svid_ca_free(b);
}

Test(trust_domains, names_are_trust_domain_names_in_any_case)
{
	struct svid_ca	*b = idfix_ca("b.test");
	struct hcred	 admin, x;
	struct hresp	 r;

	hcred_admin(&srv, &admin);
	cr_assert_eq(hreq_json(&srv, &admin, "PUT", "/v1/trust-domains/B.Test",
	    idfix_td_body(b), &r), 0);
	cr_expect_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(hresp_header(&r, "Location"),
	    "/v1/trust-domains/b.test");
	cr_expect_str_eq(str(r.json, "name"), "b.test");
	hresp_free(&r);
	idfix_x509_id(&srv, b, "spiffe://b.test/w", &x);
	json_decref(idfix_whoami(&srv, &x, 200, NULL));
	get("/v1/trust-domains/B.TEST", &r);
	cr_expect_eq(r.status, 200);
	hresp_free(&r);
	/* Odd but valid trust domain names. */
	idfix_td_put(&srv, "_x-1.y_", idfix_td_body(b), 201);
	get("/v1/trust-domains/bad!name", &r);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(idfix_message(&r), "name: invalid trust domain "
	    "name: trust domain has a character outside [a-z0-9._-]");
	hresp_free(&r);
	idfix_td_delete(&srv, "B.TEST", 204);
	idfix_whoami(&srv, &x, 401, "x509: no bundle for trust domain b.test");
	svid_ca_free(b);
}

struct bad_case {
	const char	*body;
	const char	*field;
	const char	*message;
};

static const struct bad_case bad_cases[] = {
	{ "{}", "bundle",
	  "bundle: required (a SPIFFE bundle) unless federation is given" },
	{ "{\"bundle\":null}", "bundle",
	  "bundle: required (a SPIFFE bundle) unless federation is given" },
	{ "{\"bundle\":\"keys\"}", "bundle", NULL },
	{ "{\"bundle\":{\"keys\":{}}}", "bundle",
	  "bundle: keys is not an array" },
	{ "{\"bundle\":{}}", "bundle", NULL },
	{ "{\"bundle\":{\"keys\":[1]}}", "bundle", NULL },
	{ "{\"bundle\":{\"keys\":[],\"spiffe_sequence\":-1}}", "bundle",
	  NULL },
	{ "{\"bundle\":{\"keys\":[{\"use\":\"x509-svid\",\"kty\":\"EC\","
	  "\"crv\":\"P-256\",\"x\":\"!!\",\"y\":\"AA\",\"x5c\":[\"AA\"]}]}}",
	  "bundle", NULL },
	{ "{\"bundle\":{\"keys\":[]},\"color\":\"red\"}", "color", NULL },
	{ "{\"name\":\"c.test\",\"bundle\":{\"keys\":[]}}", "name",
	  "name: \"c.test\" does not match the path's \"b.test\"" },
	{ "{\"name\":7,\"bundle\":{\"keys\":[]}}", "name", NULL },
	{ "{\"federation\":\"https://b.test\"}", "federation", NULL },
	{ "{\"federation\":{\"profile\":\"https_web\"}}",
	  "federation.bundle_endpoint_url",
	  "federation.bundle_endpoint_url: required" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"http://b.test/b\","
	  "\"profile\":\"https_web\"}}", "federation.bundle_endpoint_url",
	  "federation.bundle_endpoint_url: must be an https:// URL" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://\","
	  "\"profile\":\"https_web\"}}", "federation.bundle_endpoint_url",
	  "federation.bundle_endpoint_url: no host" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://u:p@b.test/\","
	  "\"profile\":\"https_web\"}}", "federation.bundle_endpoint_url",
	  "federation.bundle_endpoint_url: userinfo is not allowed" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b.test:0/\","
	  "\"profile\":\"https_web\"}}", "federation.bundle_endpoint_url",
	  "federation.bundle_endpoint_url: the port must be a number from 1 "
	  "to 65535" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b.test:99999\","
	  "\"profile\":\"https_web\"}}", "federation.bundle_endpoint_url",
	  NULL },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b.test/#x\","
	  "\"profile\":\"https_web\"}}", "federation.bundle_endpoint_url",
	  "federation.bundle_endpoint_url: a fragment is not allowed" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b .test/\","
	  "\"profile\":\"https_web\"}}", "federation.bundle_endpoint_url",
	  NULL },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b.test/\"}}",
	  "federation.profile",
	  "federation.profile: required (https_web or https_spiffe)" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b.test/\","
	  "\"profile\":\"spiffe\"}}", "federation.profile",
	  "federation.profile: must be https_web or https_spiffe" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b.test/\","
	  "\"profile\":\"https_spiffe\"}}", "federation.endpoint_spiffe_id",
	  "federation.endpoint_spiffe_id: required with profile "
	  "https_spiffe" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b.test/\","
	  "\"profile\":\"https_spiffe\","
	  "\"endpoint_spiffe_id\":\"spiffe://b.test/a/\"}}",
	  "federation.endpoint_spiffe_id", NULL },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b.test/\","
	  "\"profile\":\"https_web\","
	  "\"endpoint_spiffe_id\":\"spiffe://b.test/bundle\"}}",
	  "federation.endpoint_spiffe_id",
	  "federation.endpoint_spiffe_id: only with profile https_spiffe" },
	{ "{\"federation\":{\"bundle_endpoint_url\":\"https://b.test/\","
	  "\"profile\":\"https_web\",\"refresh\":5}}", "federation.refresh",
	  NULL },
	{ "{\"bundle\":{\"keys\":[]},\"registry_url\":\"ftp://b.test\"}",
	  "registry_url", "registry_url: must be an https:// URL" },
	{ "{\"bundle\":{\"keys\":[]},\"registry_url\":5}", "registry_url",
	  NULL },
};

Test(trust_domains, validation_names_the_field_and_writes_nothing)
{
	struct hcred	admin;
	struct hresp	r;
	size_t		i;

	hcred_admin(&srv, &admin);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case	*c = &bad_cases[i];

		hreq(&srv, &admin, "PUT", "/v1/trust-domains/b.test", c->body,
		    NULL, NULL, &r);
		cr_expect_eq(r.status, 400, "%s: %ld %s", c->body, r.status,
		    r.body);
		cr_expect_str_eq(hresp_error(&r), "invalid_argument", "%s",
		    c->body);
		cr_expect_str_eq(str(json_object_get(r.json, "error"),
		    "field"), c->field, "%s: %s", c->body, r.body);
		if (c->message != NULL)
			cr_expect_str_eq(idfix_message(&r), c->message, "%s",
			    c->body);
		hresp_free(&r);
	}
	/* Duplicate members, in the bundle too, are refused. */
	hreq(&srv, &admin, "PUT", "/v1/trust-domains/b.test",
	    "{\"bundle\":{\"keys\":[],\"keys\":[]}}", NULL, NULL, &r);
	cr_expect_eq(r.status, 400);
	hresp_free(&r);
	get("/v1/trust-domains/b.test", &r);
	cr_expect_eq(r.status, 404, "a refused PUT wrote: %s", r.body);
	hresp_free(&r);
}

Test(trust_domains, the_local_trust_domain_is_shown_but_read_only)
{
	struct svid_ca	*b = idfix_ca("example.org");
	struct hcred	 admin, none;
	struct hresp	 r, bundle;

	hcred_admin(&srv, &admin);
	hcred_none(&none);
	hreq(&srv, &none, "GET", "/v1/bundle", NULL, NULL, NULL, &bundle);
	cr_assert_eq(bundle.status, 200);
	get("/v1/trust-domains/example.org", &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "name"), "example.org");
	cr_expect(json_equal(json_object_get(r.json, "bundle"), bundle.json));
	cr_expect(json_is_null(json_object_get(r.json, "federation")));
	cr_expect(json_is_string(json_object_get(r.json, "refreshed_at")));
	cr_expect_eq(json_integer_value(json_object_get(r.json, "sequence")),
	    json_integer_value(json_object_get(bundle.json,
	    "spiffe_sequence")));
	/* The ETag the contract declares: not a revision, stable. */
	{
		char		 tag[64];
		const char	*h = hresp_header(&r, "ETag");
		long long	 ms;
		char		 end;

		cr_assert_not_null(h, "no ETag on the local trust domain");
		snprintf(tag, sizeof(tag), "%s", h);
		cr_expect_eq(sscanf(tag, "\"local-%lld%c", &ms, &end), 2, "%s",
		    tag);
		cr_expect_eq(end, '"', "%s", tag);
		cr_expect_gt(ms, 0);
		hresp_free(&r);
		get("/v1/trust-domains/example.org", &r);
		h = hresp_header(&r, "ETag");
		cr_expect(h != NULL && strcmp(h, tag) == 0, "%s then %s", tag,
		    h != NULL ? h : "none");
	}
	hresp_free(&r);
	hresp_free(&bundle);

	/* Another CA's bundle may not replace ours through the API. */
	cr_assert_eq(hreq_json(&srv, &admin, "PUT",
	    "/v1/trust-domains/Example.Org", idfix_td_body(b), &r), 0);
	cr_expect_eq(r.status, 409, "%s", r.body);
	cr_expect_str_eq(hresp_error(&r), "conflict");
	hresp_free(&r);
	hreq(&srv, &admin, "DELETE", "/v1/trust-domains/example.org", NULL,
	    NULL, NULL, &r);
	cr_expect_eq(r.status, 409, "%s", r.body);
	cr_expect_str_eq(hresp_error(&r), "conflict");
	hresp_free(&r);
	/* Our own client still works. */
	hcred_x509(&srv, &none);
	json_decref(idfix_whoami(&srv, &none, 200, NULL));
	svid_ca_free(b);
}

Test(trust_domains, admin_only)
{
	struct svid_ca	*b = idfix_ca("b.test");
	struct hcred	 x, j;
	struct hresp	 r;
	const char	*paths[] = { "/v1/trust-domains",
	    "/v1/trust-domains/b.test", "/v1/trust-domains/example.org" };
	size_t		 i;

	hcred_x509(&srv, &x);
	hcred_jwt(&srv, &j);
	for (i = 0; i < 3; i++) {
		hreq(&srv, &x, "GET", paths[i], NULL, NULL, NULL, &r);
		cr_expect_eq(r.status, 403, "%s: %ld", paths[i], r.status);
		cr_expect_str_eq(hresp_error(&r), "permission_denied");
		hresp_free(&r);
		hreq(&srv, &j, "GET", paths[i], NULL, NULL, NULL, &r);
		cr_expect_eq(r.status, 403, "%s: %ld", paths[i], r.status);
		hresp_free(&r);
	}
	hreq_json(&srv, &x, "PUT", "/v1/trust-domains/b.test",
	    idfix_td_body(b), &r);
	cr_expect_eq(r.status, 403);
	hresp_free(&r);
	hreq(&srv, &x, "DELETE", "/v1/trust-domains/b.test", NULL, NULL, NULL,
	    &r);
	cr_expect_eq(r.status, 403);
	hresp_free(&r);
	hcred_none(&x);
	hreq(&srv, &x, "GET", "/v1/trust-domains", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 401);
	hresp_free(&r);
	svid_ca_free(b);
}

Test(trust_domains, list_pages_in_name_order_with_the_local_one)
{
	struct svid_ca	*b = idfix_ca("b.test");
	const char	*want[] = { "a.test", "b.test", "example.org",
	    "z.test" };
	struct hresp	 r;
	json_t		*items;
	char		 path[256], token[256];
	size_t		 i, n = 0;

	idfix_td_put(&srv, "z.test", idfix_td_body(b), 201);
	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	idfix_td_put(&srv, "a.test", idfix_td_body(b), 201);

	get("/v1/trust-domains", &r);
	cr_expect_eq(r.status, 200);
	items = json_object_get(r.json, "items");
	cr_assert_eq(json_array_size(items), 4, "%s", r.body);
	for (i = 0; i < 4; i++)
		cr_expect_str_eq(str(json_array_get(items, i), "name"),
		    want[i]);
	cr_expect_str_eq(str(r.json, "next_page_token"), "");
	cr_expect(json_is_integer(json_object_get(r.json, "revision")));
	hresp_free(&r);

	/* One at a time, and two at a time. */
	token[0] = '\0';
	for (;;) {
		snprintf(path, sizeof(path), "/v1/trust-domains?limit=1%s%s",
		    token[0] ? "&page_token=" : "", token);
		get(path, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		items = json_object_get(r.json, "items");
		cr_assert_leq(json_array_size(items), 1);
		if (json_array_size(items) == 1) {
			cr_assert_lt(n, 4);
			cr_expect_str_eq(str(json_array_get(items, 0),
			    "name"), want[n]);
			n++;
		}
		snprintf(token, sizeof(token), "%s", str(r.json,
		    "next_page_token"));
		hresp_free(&r);
		if (token[0] == '\0')
			break;
	}
	cr_expect_eq(n, 4);
	get("/v1/trust-domains?limit=2", &r);
	items = json_object_get(r.json, "items");
	cr_expect_eq(json_array_size(items), 2);
	snprintf(token, sizeof(token), "%s", str(r.json, "next_page_token"));
	hresp_free(&r);
	snprintf(path, sizeof(path), "/v1/trust-domains?limit=2&page_token=%s",
	    token);
	get(path, &r);
	items = json_object_get(r.json, "items");
	cr_assert_eq(json_array_size(items), 2, "%s", r.body);
	cr_expect_str_eq(str(json_array_get(items, 0), "name"), "example.org");
	cr_expect_str_eq(str(json_array_get(items, 1), "name"), "z.test");
	hresp_free(&r);

	get("/v1/trust-domains?color=red", &r);
	cr_expect_eq(r.status, 400);
	hresp_free(&r);
	get("/v1/trust-domains?since=1", &r);
	cr_expect_eq(r.status, 400);
	hresp_free(&r);
	svid_ca_free(b);
}

Test(trust_domains, if_match_guards_replace_and_delete)
{
	struct svid_ca	*b = idfix_ca("b.test");
	struct hcred	 admin;
	struct hresp	 r;
	char		*body;
	json_t		*j;

	hcred_admin(&srv, &admin);
	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	j = idfix_td_body(b);
	body = json_dumps(j, JSON_COMPACT);
	hreq(&srv, &admin, "PUT", "/v1/trust-domains/b.test", body, NULL,
	    "If-Match: \"999999\"", &r);
	cr_expect_eq(r.status, 412, "%s", r.body);
	cr_expect_str_eq(hresp_error(&r), "failed_precondition");
	hresp_free(&r);
	hreq(&srv, &admin, "DELETE", "/v1/trust-domains/b.test", NULL, NULL,
	    "If-Match: \"999999\"", &r);
	cr_expect_eq(r.status, 412);
	hresp_free(&r);
	hreq(&srv, &admin, "PUT", "/v1/trust-domains/c.test", body, NULL,
	    "If-Match: *", &r);
	cr_expect_eq(r.status, 412, "If-Match: * on a new name");
	hresp_free(&r);
	free(body);
	json_decref(j);
	svid_ca_free(b);
}

Test(trust_domains, replacing_a_bundle_switches_authorities)
{
	struct svid_ca	*b1 = idfix_ca("b.test"), *b2 = idfix_ca("b.test");
	struct hcred	 x1, x2, j1, j2;

	idfix_x509_id(&srv, b1, "spiffe://b.test/w", &x1);
	idfix_x509_id(&srv, b2, "spiffe://b.test/w", &x2);
	idfix_jwt(b1, "spiffe://b.test/w", IDFIX_AUDIENCE, util_now_ms(), 0,
	    &j1);
	idfix_jwt(b2, "spiffe://b.test/w", IDFIX_AUDIENCE, util_now_ms(), 0,
	    &j2);
	idfix_td_put(&srv, "b.test", idfix_td_body(b1), 201);
	json_decref(idfix_whoami(&srv, &x1, 200, NULL));
	json_decref(idfix_whoami(&srv, &j1, 200, NULL));
	idfix_whoami(&srv, &x2, 401,
	    "x509: not signed by an authority of trust domain b.test");
	idfix_td_put(&srv, "b.test", idfix_td_body(b2), 200);
	json_decref(idfix_whoami(&srv, &x2, 200, NULL));
	json_decref(idfix_whoami(&srv, &j2, 200, NULL));
	idfix_whoami(&srv, &x1, 401,
	    "x509: not signed by an authority of trust domain b.test");
	idfix_whoami(&srv, &j1, 401, "jwt: unknown kid");
	svid_ca_free(b1);
	svid_ca_free(b2);
}

Test(trust_domains, stored_bundles_are_loaded_at_start)
{
	struct svid_ca	*b = idfix_ca("b.test");
	struct hcred	 x;

	idfix_x509_id(&srv, b, "spiffe://b.test/w", &x);
	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	nsregd_restart(&srv);
	json_decref(idfix_whoami(&srv, &x, 200, NULL));
	idfix_td_delete(&srv, "b.test", 204);
	nsregd_restart(&srv);
	idfix_whoami(&srv, &x, 401, "x509: no bundle for trust domain b.test");
	svid_ca_free(b);
}

Test(trust_domains, federation_settings_are_stored_and_keep_the_bundle)
{
	struct svid_ca	*b = idfix_ca("b.test");
	struct hcred	 x;
	struct hresp	 r;
	json_t		*fed, *body, *o;
	char		 refreshed[64];

	idfix_x509_id(&srv, b, "spiffe://b.test/w", &x);
	fed = json_pack("{s:s, s:s, s:s}", "bundle_endpoint_url",
	    "https://b.test:8443/bundle", "profile", "https_spiffe",
	    "endpoint_spiffe_id", "spiffe://B.TEST/spire/server");
	/* Federation alone: stored, nothing to authenticate with yet. */
	idfix_td_put(&srv, "b.test", json_pack("{s:O}", "federation", fed),
	    201);
	get("/v1/trust-domains/b.test", &r);
	o = r.json;
	cr_expect(json_is_null(json_object_get(o, "bundle")));
	cr_expect(json_is_null(json_object_get(o, "sequence")));
	cr_expect(json_is_null(json_object_get(o, "refreshed_at")));
	cr_expect_str_eq(str(json_object_get(o, "federation"),
	    "endpoint_spiffe_id"), "spiffe://b.test/spire/server");
	cr_expect_str_eq(str(json_object_get(o, "federation"), "profile"),
	    "https_spiffe");
	hresp_free(&r);
	idfix_whoami(&srv, &x, 401, "x509: no bundle for trust domain b.test");

	/* A bundle with it. */
	body = idfix_td_body(b);
	json_object_set(body, "federation", fed);
	idfix_td_put(&srv, "b.test", body, 200);
	json_decref(idfix_whoami(&srv, &x, 200, NULL));
	get("/v1/trust-domains/b.test", &r);
	snprintf(refreshed, sizeof(refreshed), "%s", str(r.json,
	    "refreshed_at"));
	hresp_free(&r);

	/* Federation settings alone again: the bundle in force stays. */
	idfix_td_put(&srv, "b.test", json_pack("{s:O, s:s}", "federation",
	    fed, "registry_url", "https://registry.b.test"), 200);
	get("/v1/trust-domains/b.test", &r);
	cr_expect(json_is_object(json_object_get(r.json, "bundle")));
	cr_expect_str_eq(str(r.json, "refreshed_at"), refreshed);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "sequence")),
	    7);
	hresp_free(&r);
	json_decref(idfix_whoami(&srv, &x, 200, NULL));

	/* https_web needs no endpoint ID. */
	idfix_td_put(&srv, "c.test", json_pack("{s:{s:s, s:s}}", "federation",
	    "bundle_endpoint_url", "https://[::1]:8443/", "profile",
	    "https_web"), 201);
	json_decref(fed);
	svid_ca_free(b);
}

Test(trust_domains, watch_streams_changes)
{
	struct svid_ca	*b = idfix_ca("b.test");
	struct hcred	 admin;
	struct hwatch	 w;
	json_t		*ev;

	hcred_admin(&srv, &admin);
	hwatch_start(&w, &srv, &admin, "/v1/trust-domains?watch=true");
	cr_assert_geq(hwatch_wait(&w, 1, 5000), 1);
	cr_expect_str_eq(str(hwatch_event(&w, 0), "type"), "BOOKMARK");
	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	idfix_td_delete(&srv, "b.test", 204);
	cr_assert_geq(hwatch_wait(&w, 3, 5000), 3);
	ev = hwatch_event(&w, 1);
	cr_expect_str_eq(str(ev, "type"), "ADDED");
	cr_expect_str_eq(str(json_object_get(ev, "object"), "name"), "b.test");
	cr_expect_str_eq(str(hwatch_event(&w, 2), "type"), "DELETED");
	hwatch_stop(&w);
	svid_ca_free(b);
}
