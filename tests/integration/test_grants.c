/*
 * test_grants.c - connection grants through a real nsregd: POST
 * /v1/grants (selection, admission, vL3 address, token), the token
 * checked offline against /v1/jwks with OpenSSL alone, every lifecycle
 * transition and its watch event, visibility, introspection of good,
 * revoked, expired and tampered tokens, grants capped by a short-lived
 * SVID, revocation when an endpoint expires, key rotation, restarts and
 * 2 x 500 racing requests.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "harness.h"
#include "util.h"

#define CLIENT	"spiffe://example.org/ns/default/sa/client"
#define SERVER	"spiffe://example.org/nsregd"

static struct nsregd	srv;
/* 1 when this nsregd has admission rules (/v1/policies). */
static int		rules;

/* PUT an admission rule; 0 when the server has no /v1/policies. */
static int
policy(const char *name, const char *body)
{
	struct hcred	admin;
	struct hresp	r;
	char		path[256];
	long		status;

	hcred_admin(&srv, &admin);
	snprintf(path, sizeof(path), "/v1/policies/%s", name);
	hreq(&srv, &admin, "PUT", path, body, NULL, NULL, &r);
	status = r.status;
	cr_assert(status == 200 || status == 201 || status == 404,
	    "PUT %s: %ld %s", path, status, r.body);
	hresp_free(&r);
	return status != 404;
}

static void
setup(void)
{
	nsregd_start(&srv, "endpoint-default-ttl 1h\nendpoint-max-ttl 2h\n"
	    "grant-ttl 10m\n");
	/* The local trust domain may use the registry and connect. */
	rules = policy("local", "{\"effect\":\"permit\",\"actions\":"
	    "[\"find\",\"register\",\"unregister\",\"publish\",\"connect\"],"
	    "\"condition\":\"principal.trust_domain == 'example.org'\"}");
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(grants, .init = setup, .fini = teardown, .timeout = 240);

/* ---- helpers ------------------------------------------------------------- */

static json_t *
want(struct hresp *r, long status)
{
	cr_assert_eq(r->status, status, "status %ld, want %ld: %s", r->status,
	    status, r->body != NULL ? r->body : "");
	return r->json;
}

static void
call(const struct hcred *c, const char *method, const char *path,
    const char *body, long status)
{
	struct hresp	r;

	hreq(&srv, c, method, path, body, NULL, NULL, &r);
	want(&r, status);
	hresp_free(&r);
}

static void
service(const char *name, const char *body)
{
	struct hcred	admin;
	struct hresp	r;
	char		path[256];

	hcred_admin(&srv, &admin);
	snprintf(path, sizeof(path), "/v1/services/%s", name);
	hreq(&srv, &admin, "PUT", path, body, NULL, NULL, &r);
	cr_assert(r.status == 200 || r.status == 201, "PUT %s: %ld %s", name,
	    r.status, r.body);
	hresp_free(&r);
}

static void
endpoint(const struct hcred *c, const char *name, const char *body)
{
	struct hresp	r;
	char		path[256];

	snprintf(path, sizeof(path), "/v1/endpoints/%s", name);
	hreq(&srv, c, "PUT", path, body, NULL, NULL, &r);
	cr_assert(r.status == 200 || r.status == 201, "PUT %s: %ld %s", name,
	    r.status, r.body);
	hresp_free(&r);
}

/* The db-replication example: a vL3 service and two endpoints. */
static void
db_setup(const struct hcred *owner)
{
	service("db-replication", "{\"vl3\":{\"prefix\":\"10.60.0.0/16\"}}");
	endpoint(owner, "db-east", "{\"url\":\"tcp://10.1.0.5:5432\","
	    "\"network_service_names\":[\"db-replication\"],"
	    "\"network_service_labels\":{\"db-replication\":"
	    "{\"cluster\":\"east\"}}}");
	endpoint(owner, "db-west", "{\"url\":\"tcp://10.2.0.5:5432\","
	    "\"network_service_names\":[\"db-replication\"],"
	    "\"network_service_labels\":{\"db-replication\":"
	    "{\"cluster\":\"west\"}}}");
}

/* POST /v1/grants; the answer's JSON (new reference). */
static json_t *
grant(const struct hcred *c, const char *body, long status)
{
	struct hresp	 r;
	json_t		*o;

	hreq(&srv, c, "POST", "/v1/grants", body, NULL, NULL, &r);
	o = json_incref(want(&r, status));
	hresp_free(&r);
	return o;
}

static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* POST /v1/grants/introspect: the answer (new reference). */
static json_t *
introspect(const char *token)
{
	struct hcred	 c;
	struct hresp	 r;
	json_t		*o;

	hcred_x509(&srv, &c);
	hreq_json(&srv, &c, "POST", "/v1/grants/introspect",
	    json_pack("{s:s}", "token", token), &r);
	o = json_incref(want(&r, 200));
	hresp_free(&r);
	cr_assert(json_is_boolean(json_object_get(o, "active")));
	return o;
}

static int
active(const char *token)
{
	json_t	*o = introspect(token);
	int	 a = json_is_true(json_object_get(o, "active"));

	if (!a)
		cr_expect_eq(json_object_size(o), 1,
		    "an inactive answer tells nothing more");
	json_decref(o);
	return a;
}

/* ---- an offline verifier: /v1/jwks and OpenSSL, nothing of nsregd -------- */

static unsigned char *
ub64(const char *s, size_t n, size_t *outlen)
{
	char		*b = malloc(n + 4);
	unsigned char	*out = malloc(n + 4);
	size_t		 i, m = n;
	int		 len;

	for (i = 0; i < n; i++)
		b[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (m % 4 != 0)
		b[m++] = '=';
	len = EVP_DecodeBlock(out, (unsigned char *)b, (int)m);
	cr_assert_geq(len, 0);
	*outlen = (size_t)len - (m - n);
	free(b);
	return out;
}

static EVP_PKEY *
jwk_key(const json_t *jwk)
{
	OSSL_PARAM_BLD	*bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM	*params;
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pk = NULL;
	unsigned char	 pt[65], *x, *y;
	size_t		 xl, yl;

	cr_assert_str_eq(str(jwk, "kty"), "EC");
	cr_assert_str_eq(str(jwk, "crv"), "P-256");
	x = ub64(str(jwk, "x"), strlen(str(jwk, "x")), &xl);
	y = ub64(str(jwk, "y"), strlen(str(jwk, "y")), &yl);
	cr_assert_eq(xl, 32);
	cr_assert_eq(yl, 32);
	pt[0] = 4;
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 65);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	cr_assert_eq(EVP_PKEY_fromdata_init(ctx), 1);
	cr_assert_eq(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params),
	    1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pk;
}

static json_t *
jwks(void)
{
	struct hcred	 none;
	struct hresp	 r;
	json_t		*o;

	hcred_none(&none);
	hreq(&srv, &none, "GET", "/v1/jwks", NULL, NULL, NULL, &r);
	o = json_incref(want(&r, 200));
	cr_assert(json_is_array(json_object_get(o, "keys")));
	hresp_free(&r);
	return o;
}

/*
 * Verify token offline as a forwarder does: the kid's key from /v1/jwks,
 * ES256 over "header.payload".  Returns the claims (new) or NULL.
 */
static json_t *
offline(const char *token, char *kid_out)
{
	const char	*d1 = strchr(token, '.'), *d2;
	unsigned char	*h, *p, *sig, *der = NULL;
	size_t		 hl, pl, sl, i;
	json_t		*hdr, *claims, *keys, *k;
	EVP_PKEY	*pk = NULL;
	EVP_MD_CTX	*ctx;
	ECDSA_SIG	*es;
	int		 derlen, ok;

	cr_assert_not_null(d1);
	cr_assert_not_null(d2 = strchr(d1 + 1, '.'));
	h = ub64(token, (size_t)(d1 - token), &hl);
	p = ub64(d1 + 1, (size_t)(d2 - d1 - 1), &pl);
	sig = ub64(d2 + 1, strlen(d2 + 1), &sl);
	hdr = json_loadb((char *)h, hl, 0, NULL);
	claims = json_loadb((char *)p, pl, 0, NULL);
	cr_assert_not_null(hdr);
	cr_assert_not_null(claims);
	cr_assert_str_eq(str(hdr, "alg"), "ES256");
	cr_assert_str_eq(str(hdr, "typ"), "JWT");
	if (kid_out != NULL)
		snprintf(kid_out, 64, "%s", str(hdr, "kid"));
	keys = jwks();
	json_array_foreach(json_object_get(keys, "keys"), i, k)
		if (strcmp(str(k, "kid"), str(hdr, "kid")) == 0) {
			cr_expect_str_eq(str(k, "alg"), "ES256");
			cr_expect_str_eq(str(k, "use"), "sig");
			pk = jwk_key(k);
		}
	json_decref(keys);
	ok = 0;
	if (pk != NULL && sl == 64) {
		es = ECDSA_SIG_new();
		ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
		    BN_bin2bn(sig + 32, 32, NULL));
		derlen = i2d_ECDSA_SIG(es, &der);
		ctx = EVP_MD_CTX_new();
		EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk);
		ok = EVP_DigestVerify(ctx, der, (size_t)derlen,
		    (const unsigned char *)token, (size_t)(d2 - token)) == 1;
		EVP_MD_CTX_free(ctx);
		ECDSA_SIG_free(es);
		OPENSSL_free(der);
	}
	EVP_PKEY_free(pk);
	json_decref(hdr);
	free(h);
	free(p);
	free(sig);
	if (!ok) {
		json_decref(claims);
		return NULL;
	}
	return claims;
}

/* 1 when token verifies offline; its kid into kid (may be NULL). */
static int
offline_ok(const char *token, char *kid)
{
	json_t	*c = offline(token, kid);

	json_decref(c);
	return c != NULL;
}

/* ---- POST /v1/grants ----------------------------------------------------- */

Test(grants, a_grant_has_the_designed_fields_and_verifies_offline)
{
	struct hcred	 owner, client, none;
	struct hresp	 r;
	json_t		*g, *claims, *n, *again;
	int64_t		 iat, exp, now_s = util_now_ms() / 1000;
	char		 loc[128];

	hcred_x509(&srv, &owner);
	hcred_jwt(&srv, &client);
	db_setup(&owner);
	hreq(&srv, &client, "POST", "/v1/grants", "{\"service\":"
	    "\"db-replication\",\"labels\":{\"app\":\"postgres\"}}", NULL,
	    NULL, &r);
	g = json_incref(want(&r, 201));
	snprintf(loc, sizeof(loc), "/v1/grants/%s", str(g, "id"));
	cr_expect_str_eq(hresp_header(&r, "Location"), loc);
	cr_expect_str_eq(hresp_header(&r, "Content-Type"), "application/json");
	hresp_free(&r);
	cr_expect_eq(strlen(str(g, "id")), 26);
	cr_expect_str_eq(str(g, "principal"), CLIENT);
	cr_expect_str_eq(str(g, "service"), "db-replication");
	cr_expect_str_eq(str(json_object_get(g, "endpoint"), "name"),
	    "db-east");
	cr_expect_str_eq(str(json_object_get(g, "endpoint"), "url"),
	    "tcp://10.1.0.5:5432");
	cr_expect_str_eq(str(g, "address"), "10.60.0.1/32");
	cr_expect_str_eq(str(g, "network"), "10.60.0.0/16");
	cr_expect_str_eq(str(json_object_get(g, "decision"), "decision"),
	    "allow");
	cr_expect(json_is_array(json_object_get(json_object_get(g,
	    "decision"), "reasons")));
	cr_assert_eq(util_rfc3339_parse(str(g, "issued_at"), &iat), 0);
	cr_assert_eq(util_rfc3339_parse(str(g, "expires_at"), &exp), 0);
	cr_expect_leq(iat / 1000 - now_s, 2);
	cr_expect_eq(exp - iat, 600 * 1000);

	/* A forwarder checks it with the JWKS and OpenSSL, offline. */
	cr_assert_not_null(claims = offline(str(g, "token"), NULL),
	    "the token does not verify against /v1/jwks");
	cr_expect_str_eq(str(claims, "iss"), SERVER);
	cr_expect_str_eq(str(claims, "sub"), CLIENT);
	/* The audience is the endpoint's owner. */
	cr_expect_str_eq(str(claims, "aud"), CLIENT);
	cr_expect_eq(json_integer_value(json_object_get(claims, "iat")),
	    iat / 1000);
	cr_expect_eq(json_integer_value(json_object_get(claims, "nbf")),
	    iat / 1000);
	cr_expect_eq(json_integer_value(json_object_get(claims, "exp")),
	    exp / 1000);
	cr_expect_str_eq(str(claims, "jti"), str(g, "id"));
	n = json_object_get(claims, "nsreg");
	cr_expect_str_eq(str(n, "service"), "db-replication");
	cr_expect_str_eq(str(n, "endpoint"), "db-east");
	cr_expect_str_eq(str(n, "url"), "tcp://10.1.0.5:5432");
	cr_expect_str_eq(str(n, "address"), "10.60.0.1/32");
	cr_expect_str_eq(str(n, "network"), "10.60.0.0/16");
	json_decref(claims);

	/* Readable again, without the token. */
	hreq(&srv, &client, "GET", loc, NULL, NULL, NULL, &r);
	cr_expect_str_eq(str(want(&r, 200), "address"), "10.60.0.1/32");
	cr_expect_null(json_object_get(r.json, "token"));
	cr_expect_str_eq(str(r.json, "audience"), CLIENT);
	hresp_free(&r);

	/* The same principal again: the same address, the other endpoint. */
	again = grant(&client, "{\"service\":\"db-replication\"}", 201);
	cr_expect_str_eq(str(again, "address"), "10.60.0.1/32");
	cr_expect_str_eq(str(json_object_get(again, "endpoint"), "name"),
	    "db-west");
	cr_expect_str_neq(str(again, "id"), str(g, "id"));
	json_decref(again);

	/* The keys need no credential; grants do. */
	hcred_none(&none);
	call(&none, "POST", "/v1/grants", "{\"service\":\"db-replication\"}",
	    401);
	json_decref(g);
}

Test(grants, bad_requests_get_the_designed_errors)
{
	struct hcred	 owner, client, admin;
	struct hresp	 r;

	hcred_x509(&srv, &owner);
	hcred_jwt(&srv, &client);
	hcred_admin(&srv, &admin);
	hreq(&srv, &client, "POST", "/v1/grants", "{\"service\":\"nope\"}",
	    NULL, NULL, &r);
	want(&r, 404);
	cr_expect_str_eq(hresp_error(&r), "not_found");
	hresp_free(&r);
	service("lonely", "{\"vl3\":{\"prefix\":\"10.61.0.0/16\"}}");
	hreq(&srv, &client, "POST", "/v1/grants", "{\"service\":\"lonely\"}",
	    NULL, NULL, &r);
	want(&r, 409);
	cr_expect_str_eq(hresp_error(&r), "conflict");
	cr_expect(strstr(r.body, "no live endpoint") != NULL, "%s", r.body);
	hresp_free(&r);
	db_setup(&owner);
	call(&client, "POST", "/v1/grants", "{}", 400);
	call(&client, "POST", "/v1/grants", "{\"service\":7}", 400);
	call(&client, "POST", "/v1/grants", "{\"service\":\"db-replication\","
	    "\"color\":\"red\"}", 400);
	call(&client, "POST", "/v1/grants", "{\"service\":\"db-replication\","
	    "\"labels\":{\"k\":1}}", 400);
	call(&client, "POST", "/v1/grants", "{\"service\":\"Bad Name\"}", 400);
	/* Another registry's service, but none is known for other.org. */
	call(&client, "POST", "/v1/grants", "{\"service\":\"db@other.org\"}",
	    404);
	call(&client, "POST", "/v1/grants", "[]", 400);
	call(&client, "POST", "/v1/grants", "{\"service\":\"db-replication\","
	    "\"endpoint\":\"db-north\"}", 404);
	/* The admin token is nobody's workload. */
	hreq(&srv, &admin, "POST", "/v1/grants",
	    "{\"service\":\"db-replication\"}", NULL, NULL, &r);
	want(&r, 403);
	cr_expect(strstr(r.body, "SPIFFE ID") != NULL, "%s", r.body);
	hresp_free(&r);
	call(&client, "GET", "/v1/grants/01zzzzzzzzzzzzzzzzzzzzzzzz", NULL,
	    404);
	call(&client, "GET", "/v1/grants/NOT-AN-ID", NULL, 404);
	call(&client, "DELETE", "/v1/grants/01zzzzzzzzzzzzzzzzzzzzzzzz", NULL,
	    404);
	call(&client, "POST", "/v1/grants/01zzzzzzzzzzzzzzzzzzzzzzzz/refresh",
	    NULL, 404);
	call(&client, "PUT", "/v1/grants/x", "{}", 405);
	call(&client, "GET", "/v1/grants?color=red", NULL, 400);
}

Test(grants, selection_follows_matches_and_load)
{
	struct hcred	 owner, c;
	json_t		*g;
	char		 id[128];
	int		 i, east = 0, west = 0;

	hcred_x509(&srv, &owner);
	db_setup(&owner);
	service("db-replication", "{\"vl3\":{\"prefix\":\"10.60.0.0/16\"},"
	    "\"matches\":[{\"source_selector\":{\"app\":\"postgres\"},"
	    "\"routes\":[{\"destination_selector\":{\"cluster\":\"west\"}}]},"
	    "{\"source_selector\":{\"app\":\"mysql\"},"
	    "\"routes\":[{\"destination_selector\":{\"cluster\":\"north\"}}],"
	    "\"fallthrough\":true}]}");
	/* app=postgres: the west cluster only. */
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "spiffe://example.org/ns/db/sa/p%d",
		    i);
		hcred_issue_jwt(&srv, id, 0, &c);
		g = grant(&c, "{\"service\":\"db-replication\",\"labels\":"
		    "{\"app\":\"postgres\"}}", 201);
		cr_expect_str_eq(str(json_object_get(g, "endpoint"), "name"),
		    "db-west");
		json_decref(g);
	}
	/*
	 * No match applies, or the one that does falls through: any
	 * endpoint, least-loaded first (east has none yet, ties go by
	 * name).
	 */
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "spiffe://example.org/ns/db/sa/m%d",
		    i);
		hcred_issue_jwt(&srv, id, 0, &c);
		g = grant(&c, i % 2 ? "{\"service\":\"db-replication\"}" :
		    "{\"service\":\"db-replication\",\"labels\":"
		    "{\"app\":\"mysql\"}}", 201);
		if (strcmp(str(json_object_get(g, "endpoint"), "name"),
		    "db-east") == 0)
			east++;
		else
			west++;
		json_decref(g);
	}
	cr_expect_eq(east, 4, "east %d west %d", east, west);
	cr_expect_eq(west, 1, "east %d west %d", east, west);
	/* A pinned endpoint is taken as named. */
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/db/sa/pin", 0, &c);
	g = grant(&c, "{\"service\":\"db-replication\",\"endpoint\":"
	    "\"db-west\",\"labels\":{\"app\":\"mysql\"}}", 201);
	cr_expect_str_eq(str(json_object_get(g, "endpoint"), "name"),
	    "db-west");
	json_decref(g);
	/* A match that selects nothing, without fallthrough. */
	service("db-replication", "{\"vl3\":{\"prefix\":\"10.60.0.0/16\"},"
	    "\"matches\":[{\"source_selector\":{\"app\":\"postgres\"},"
	    "\"routes\":[{\"destination_selector\":{\"cluster\":\"south\"}}]}"
	    "]}");
	g = grant(&c, "{\"service\":\"db-replication\",\"labels\":"
	    "{\"app\":\"postgres\"}}", 409);
	cr_expect_str_eq(str(json_object_get(g, "error"), "code"), "conflict");
	json_decref(g);
}

/* Wait for the next event of a watch that is not a BOOKMARK. */
static json_t *
next_event(struct hwatch *w, size_t *i)
{
	json_t	*e;

	for (;;) {
		cr_assert_gt(hwatch_wait(w, *i + 1, 10000), *i,
		    "no event %zu", *i);
		e = hwatch_event(w, (*i)++);
		if (strcmp(str(e, "type"), "BOOKMARK") != 0)
			return e;
	}
}

Test(grants, every_transition_is_a_watch_event)
{
	struct hcred	 owner, client, short_lived;
	struct hwatch	 w;
	struct hresp	 r;
	json_t		*g, *e, *rf;
	size_t		 i = 0;
	char		 path[128], tok[4096];
	int64_t		 exp1, exp2;

	hcred_x509(&srv, &owner);
	hcred_jwt(&srv, &client);
	db_setup(&owner);
	/* The forwarder of db-east watches its grants. */
	hwatch_start(&w, &srv, &owner,
	    "/v1/grants?endpoint=db-east&watch=true");
	cr_assert_eq(hwatch_wait(&w, 1, 10000), 1);
	cr_expect_str_eq(str(hwatch_event(&w, i++), "type"), "BOOKMARK");

	/* ADDED */
	g = grant(&client, "{\"service\":\"db-replication\",\"endpoint\":"
	    "\"db-east\"}", 201);
	snprintf(tok, sizeof(tok), "%s", str(g, "token"));
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "ADDED");
	cr_expect_str_eq(str(json_object_get(e, "object"), "id"), str(g, "id"));
	cr_expect_str_eq(str(json_object_get(e, "object"), "address"),
	    "10.60.0.1/32");
	cr_expect_null(json_object_get(json_object_get(e, "object"), "token"));

	/* MODIFIED: refresh keeps the address, re-signs. */
	snprintf(path, sizeof(path), "/v1/grants/%s/refresh", str(g, "id"));
	sleep(1);
	hreq(&srv, &client, "POST", path, NULL, NULL, NULL, &r);
	rf = json_incref(want(&r, 200));
	hresp_free(&r);
	cr_expect_str_eq(str(rf, "id"), str(g, "id"));
	cr_expect_str_eq(str(rf, "address"), "10.60.0.1/32");
	cr_expect_str_neq(str(rf, "token"), tok);
	util_rfc3339_parse(str(g, "expires_at"), &exp1);
	util_rfc3339_parse(str(rf, "expires_at"), &exp2);
	cr_expect_gt(exp2, exp1);
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "MODIFIED");
	cr_expect_str_eq(str(json_object_get(e, "object"), "expires_at"),
	    str(rf, "expires_at"));
	cr_expect(active(str(rf, "token")));

	/* DELETED, revoked by its principal. */
	snprintf(path, sizeof(path), "/v1/grants/%s", str(g, "id"));
	call(&client, "DELETE", path, NULL, 204);
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "DELETED");
	cr_expect_str_eq(str(e, "reason"), "revoked");
	cr_expect_str_eq(str(json_object_get(e, "object"), "id"), str(g, "id"));
	cr_expect(!active(tok));
	cr_expect(!active(str(rf, "token")));
	call(&client, "GET", path, NULL, 404);
	call(&client, "DELETE", path, NULL, 404);
	json_decref(g);
	json_decref(rf);

	/* DELETED, expired: a 3-second SVID caps the grant. */
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/db/sa/brief", 3000,
	    &short_lived);
	g = grant(&short_lived, "{\"service\":\"db-replication\","
	    "\"endpoint\":\"db-east\"}", 201);
	util_rfc3339_parse(str(g, "expires_at"), &exp1);
	cr_expect_leq(exp1, util_now_ms() + 3000);
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "ADDED");
	cr_expect(active(str(g, "token")));
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "DELETED");
	cr_expect_str_eq(str(e, "reason"), "expired");
	cr_expect(!active(str(g, "token")));
	json_decref(g);

	/* DELETED, endpoint_gone: the endpoint unregisters. */
	g = grant(&client, "{\"service\":\"db-replication\",\"endpoint\":"
	    "\"db-east\"}", 201);
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "ADDED");
	call(&owner, "DELETE", "/v1/endpoints/db-east", NULL, 204);
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "DELETED");
	cr_expect_str_eq(str(e, "reason"), "endpoint_gone");
	cr_expect(!active(str(g, "token")));
	json_decref(g);
	hwatch_stop(&w);
}

Test(grants, an_expiring_endpoint_takes_its_grants_along)
{
	struct hcred	 owner, client;
	struct hwatch	 w;
	json_t		*g, *e;
	char		 body[512], ts[40];
	size_t		 i = 0;

	hcred_x509(&srv, &owner);
	hcred_jwt(&srv, &client);
	service("db-replication", "{\"vl3\":{\"prefix\":\"10.60.0.0/16\"}}");
	snprintf(body, sizeof(body), "{\"url\":\"tcp://10.9.0.1:1\","
	    "\"network_service_names\":[\"db-replication\"],"
	    "\"expiration_time\":\"%s\"}",
	    util_rfc3339_format(util_now_ms() + 2500, ts, sizeof(ts)));
	endpoint(&owner, "db-brief", body);
	hwatch_start(&w, &srv, &client,
	    "/v1/grants?service=db-replication&watch=true");
	g = grant(&client, "{\"service\":\"db-replication\"}", 201);
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "ADDED");
	cr_expect(active(str(g, "token")));
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "DELETED");
	cr_expect_str_eq(str(e, "reason"), "endpoint_gone");
	cr_expect(!active(str(g, "token")));
	/* The address went back to the pool. */
	json_decref(g);
	endpoint(&owner, "db-east", "{\"url\":\"tcp://10.1.0.5:5432\","
	    "\"network_service_names\":[\"db-replication\"]}");
	g = grant(&owner, "{\"service\":\"db-replication\"}", 201);
	cr_expect_str_eq(str(g, "address"), "10.60.0.1/32");
	json_decref(g);
	hwatch_stop(&w);
}

Test(grants, who_may_read_revoke_and_refresh)
{
	struct hcred	 owner, client, other, admin;
	struct hresp	 r;
	json_t		*g, *items;
	char		 path[128], rpath[160];

	hcred_x509(&srv, &owner);
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/db/sa/pg", 0, &client);
	hcred_issue_x509(&srv, "spiffe://example.org/ns/web/sa/x", 0, &other);
	hcred_admin(&srv, &admin);
	db_setup(&owner);
	g = grant(&client, "{\"service\":\"db-replication\"}", 201);
	snprintf(path, sizeof(path), "/v1/grants/%s", str(g, "id"));
	snprintf(rpath, sizeof(rpath), "%s/refresh", path);
	/* The principal, the endpoint's owner and admins read it. */
	call(&client, "GET", path, NULL, 200);
	call(&owner, "GET", path, NULL, 200);
	call(&admin, "GET", path, NULL, 200);
	call(&other, "GET", path, NULL, 403);
	/* Lists show each caller what it may read. */
	hreq(&srv, &other, "GET", "/v1/grants", NULL, NULL, NULL, &r);
	cr_expect_eq(json_array_size(json_object_get(want(&r, 200), "items")),
	    0);
	hresp_free(&r);
	hreq(&srv, &owner, "GET", "/v1/grants?service=db-replication", NULL,
	    NULL, NULL, &r);
	items = json_object_get(want(&r, 200), "items");
	cr_expect_eq(json_array_size(items), 1);
	hresp_free(&r);
	hreq(&srv, &admin, "GET",
	    "/v1/grants?principal=spiffe://example.org/ns/db/sa/pg", NULL,
	    NULL, NULL, &r);
	cr_expect_eq(json_array_size(json_object_get(want(&r, 200), "items")),
	    1);
	hresp_free(&r);
	hreq(&srv, &admin, "GET", "/v1/grants?endpoint=nowhere", NULL, NULL,
	    NULL, &r);
	cr_expect_eq(json_array_size(json_object_get(want(&r, 200), "items")),
	    0);
	hresp_free(&r);
	/* Only the principal refreshes; the principal or an admin revokes. */
	call(&other, "POST", rpath, NULL, 403);
	call(&owner, "POST", rpath, NULL, 403);
	call(&admin, "POST", rpath, NULL, 403);
	call(&client, "POST", rpath, NULL, 200);
	call(&other, "DELETE", path, NULL, 403);
	call(&owner, "DELETE", path, NULL, 403);
	call(&admin, "DELETE", path, NULL, 204);
	call(&client, "GET", path, NULL, 404);
	json_decref(g);
}

Test(grants, introspection_answers_for_good_and_bad_tokens)
{
	struct hcred	 owner, client, none;
	struct hresp	 r;
	json_t		*g, *o;
	char		*t;
	size_t		 n;

	hcred_x509(&srv, &owner);
	hcred_jwt(&srv, &client);
	db_setup(&owner);
	g = grant(&client, "{\"service\":\"db-replication\"}", 201);
	o = introspect(str(g, "token"));
	cr_expect(json_is_true(json_object_get(o, "active")));
	cr_expect_str_eq(str(o, "jti"), str(g, "id"));
	cr_expect_str_eq(str(o, "sub"), CLIENT);
	cr_expect_str_eq(str(o, "iss"), SERVER);
	cr_expect_str_eq(str(json_object_get(o, "nsreg"), "address"),
	    "10.60.0.1/32");
	json_decref(o);
	/* Tampered: payload, signature, header; garbage. */
	t = strdup(str(g, "token"));
	n = strlen(t);
	strchr(t, '.')[3] ^= 1;
	cr_expect(!active(t));
	free(t);
	t = strdup(str(g, "token"));
	t[n - 5] = t[n - 5] == 'A' ? 'B' : 'A';
	cr_expect(!active(t));
	t[n - 5] = str(g, "token")[n - 5];
	t[2] ^= 1;
	cr_expect(!active(t));
	free(t);
	cr_expect(!active("not.a.token"));
	cr_expect(!active(""));
	cr_expect(!active("eyJhbGciOiJub25lIn0.e30."));
	/* Introspection needs a caller, and a token. */
	hcred_none(&none);
	call(&none, "POST", "/v1/grants/introspect", "{\"token\":\"x\"}", 401);
	call(&client, "POST", "/v1/grants/introspect", "{}", 400);
	call(&client, "POST", "/v1/grants/introspect", "{\"token\":1}", 400);
	hreq(&srv, &client, "POST", "/v1/grants/introspect",
	    "{\"token\":\"x\",\"extra\":1}", NULL, NULL, &r);
	want(&r, 400);
	hresp_free(&r);
	json_decref(g);
}

Test(grants, vl3_cannot_change_under_live_grants)
{
	struct hcred	 owner, client, admin;
	struct hresp	 r;
	json_t		*g;
	char		 path[128];

	hcred_x509(&srv, &owner);
	hcred_jwt(&srv, &client);
	hcred_admin(&srv, &admin);
	db_setup(&owner);
	g = grant(&client, "{\"service\":\"db-replication\"}", 201);
	hreq(&srv, &admin, "PUT", "/v1/services/db-replication",
	    "{\"vl3\":{\"prefix\":\"10.70.0.0/16\"}}", NULL, NULL, &r);
	want(&r, 409);
	cr_expect_str_eq(hresp_error(&r), "conflict");
	cr_expect(strstr(r.body, "10.60.0.0/16") != NULL, "%s", r.body);
	hresp_free(&r);
	/* The same vl3, written differently, is the same pool. */
	service("db-replication", "{\"vl3\":{\"prefix\":\"10.60.0.0/16\","
	    "\"client_prefix_len\":32},\"labels\":{\"tier\":\"data\"}}");
	snprintf(path, sizeof(path), "/v1/grants/%s", str(g, "id"));
	call(&client, "DELETE", path, NULL, 204);
	service("db-replication", "{\"vl3\":{\"prefix\":\"10.70.0.0/16\"}}");
	json_decref(g);
	g = grant(&client, "{\"service\":\"db-replication\"}", 201);
	cr_expect_str_eq(str(g, "address"), "10.70.0.1/32");
	json_decref(g);
	/* An empty pool is refused where the service is written. */
	hreq(&srv, &admin, "PUT", "/v1/services/tiny",
	    "{\"vl3\":{\"prefix\":\"10.0.0.0/24\",\"client_prefix_len\":25}}",
	    NULL, NULL, &r);
	want(&r, 400);
	hresp_free(&r);
}

/*
 * The normal IPv6 subnet, a /64 of /128 clients, and a /48 of them:
 * accepted (they were refused as "larger than 2^62"), leased lowest
 * free first from ::1, the same address again for the same principal,
 * a revoked one first to go again; beyond a /48 of /128s is refused.
 */
Test(grants, ipv6_slash_64_and_slash_48_pools_of_slash_128_clients)
{
	static const struct {
		const char	*name, *body, *network, *addr[3];
	} pools[] = {
		{ "v6-64", "{\"vl3\":{\"prefix\":\"2001:db8:7:1::/64\","
		    "\"client_prefix_len\":128}}", "2001:db8:7:1::/64",
		    { "2001:db8:7:1::1/128", "2001:db8:7:1::2/128",
		    "2001:db8:7:1::3/128" } },
		{ "v6-48", "{\"vl3\":{\"prefix\":\"fd00:48:48::/48\"}}",
		    "fd00:48:48::/48", { "fd00:48:48::1/128",
		    "fd00:48:48::2/128", "fd00:48:48::3/128" } },
	};
	struct hcred	 owner, admin, c[3];
	struct hresp	 r;
	json_t		*g[3], *again;
	char		 id[128], path[128], body[256];
	size_t		 p;
	int		 i;

	hcred_x509(&srv, &owner);
	hcred_admin(&srv, &admin);
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "spiffe://example.org/v6/%d", i);
		hcred_issue_jwt(&srv, id, 0, &c[i]);
	}
	for (p = 0; p < sizeof(pools) / sizeof(pools[0]); p++) {
		service(pools[p].name, pools[p].body);
		snprintf(path, sizeof(path), "%s-ep", pools[p].name);
		snprintf(body, sizeof(body), "{\"url\":\"tcp://[fd00::1]:1\","
		    "\"network_service_names\":[\"%s\"]}", pools[p].name);
		endpoint(&owner, path, body);
		snprintf(body, sizeof(body), "{\"service\":\"%s\"}",
		    pools[p].name);
		for (i = 0; i < 3; i++) {
			g[i] = grant(&c[i], body, 201);
			cr_expect_str_eq(str(g[i], "address"),
			    pools[p].addr[i]);
			cr_expect_str_eq(str(g[i], "network"),
			    pools[p].network);
		}
		again = grant(&c[1], body, 201);
		cr_expect_str_eq(str(again, "address"), pools[p].addr[1]);
		snprintf(path, sizeof(path), "/v1/grants/%s", str(g[1], "id"));
		call(&c[1], "DELETE", path, NULL, 204);
		snprintf(path, sizeof(path), "/v1/grants/%s",
		    str(again, "id"));
		call(&c[1], "DELETE", path, NULL, 204);
		json_decref(again);
		json_decref(g[1]);
		g[1] = grant(&c[1], body, 201);
		cr_expect_str_eq(str(g[1], "address"), pools[p].addr[1]);
		for (i = 0; i < 3; i++)
			json_decref(g[i]);
	}
	hreq(&srv, &admin, "PUT", "/v1/services/v6-huge",
	    "{\"vl3\":{\"prefix\":\"fd00::/32\",\"client_prefix_len\":128}}",
	    NULL, NULL, &r);
	want(&r, 400);
	cr_expect_str_eq(hresp_error(&r), "invalid_argument");
	cr_expect(strstr(r.body, "2^80") != NULL, "%s", r.body);
	hresp_free(&r);
}

Test(grants, the_pool_runs_out_and_refills)
{
	struct hcred	 owner, c[4];
	struct hresp	 r;
	json_t		*g[3];
	char		 id[128], path[128];
	int		 i;

	hcred_x509(&srv, &owner);
	service("tiny", "{\"vl3\":{\"prefix\":\"fd00:60::/126\"}}");
	endpoint(&owner, "tiny-1", "{\"url\":\"tcp://[fd00::1]:1\","
	    "\"network_service_names\":[\"tiny\"]}");
	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "spiffe://example.org/t/%d", i);
		hcred_issue_jwt(&srv, id, 0, &c[i]);
	}
	for (i = 0; i < 3; i++) {
		g[i] = grant(&c[i], "{\"service\":\"tiny\"}", 201);
		snprintf(id, sizeof(id), "fd00:60::%d/128", i + 1);
		cr_expect_str_eq(str(g[i], "address"), id);
		cr_expect_str_eq(str(g[i], "network"), "fd00:60::/126");
	}
	hreq(&srv, &c[3], "POST", "/v1/grants", "{\"service\":\"tiny\"}",
	    NULL, NULL, &r);
	want(&r, 409);
	cr_expect_str_eq(hresp_error(&r), "resource_exhausted");
	hresp_free(&r);
	snprintf(path, sizeof(path), "/v1/grants/%s", str(g[1], "id"));
	call(&c[1], "DELETE", path, NULL, 204);
	json_decref(g[1]);
	g[1] = grant(&c[3], "{\"service\":\"tiny\"}", 201);
	cr_expect_str_eq(str(g[1], "address"), "fd00:60::2/128");
	for (i = 0; i < 3; i++)
		json_decref(g[i]);
}

Test(grants, grants_and_addresses_survive_kill_and_restart)
{
	struct hcred	 owner, a, b;
	json_t		*g1, *g2, *g3;
	char		 path[128];

	hcred_x509(&srv, &owner);
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/db/sa/a", 0, &a);
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/db/sa/b", 0, &b);
	db_setup(&owner);
	g1 = grant(&a, "{\"service\":\"db-replication\"}", 201);
	nsregd_kill(&srv);
	nsregd_restart(&srv);
	snprintf(path, sizeof(path), "/v1/grants/%s", str(g1, "id"));
	call(&a, "GET", path, NULL, 200);
	cr_expect(active(str(g1, "token")));
	cr_expect(offline_ok(str(g1, "token"), NULL));
	g2 = grant(&b, "{\"service\":\"db-replication\"}", 201);
	cr_expect_str_eq(str(g2, "address"), "10.60.0.2/32");
	nsregd_restart(&srv);
	g3 = grant(&a, "{\"service\":\"db-replication\"}", 201);
	cr_expect_str_eq(str(g3, "address"), "10.60.0.1/32");
	json_decref(g1);
	json_decref(g2);
	json_decref(g3);
}

Test(grants, a_rotated_key_stays_published_until_its_grants_expire)
{
	struct hcred	 owner, client, brief;
	struct hresp	 r;
	json_t		*g1, *g2, *g3, *keys;
	char		 kid1[64], kid2[64], kid3[64], path[512], cmd[1200];
	int64_t		 t0;

	hcred_x509(&srv, &owner);
	hcred_jwt(&srv, &client);
	db_setup(&owner);
	/*
	 * The only grant of the first key lasts eight seconds: long enough
	 * for a SIGHUP and a restart under the sanitizer build on a busy
	 * machine.
	 */
	t0 = util_now_ms();
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/db/sa/brief", 8000,
	    &brief);
	g1 = grant(&brief, "{\"service\":\"db-replication\"}", 201);
	cr_assert(offline_ok(str(g1, "token"), kid1));
	/* A new key file, then SIGHUP. */
	nsregd_path(&srv, "grant.key", path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm EC -pkeyopt "
	    "ec_paramgen_curve:P-256 -out %s.new 2>/dev/null && "
	    "chmod 600 %s.new && mv %s.new %s", path, path, path, path);
	cr_assert_eq(system(cmd), 0);
	nsregd_signal(&srv, SIGHUP);
	usleep(500 * 1000);
	g2 = grant(&client, "{\"service\":\"db-replication\"}", 201);
	cr_assert(offline_ok(str(g2, "token"), kid2));
	cr_expect_str_neq(kid1, kid2);
	keys = jwks();
	cr_expect_eq(json_array_size(json_object_get(keys, "keys")), 2);
	json_decref(keys);
	cr_expect(active(str(g1, "token")));
	cr_expect(offline_ok(str(g1, "token"), NULL));
	/* A restart with the same file keeps both. */
	nsregd_restart(&srv);
	keys = jwks();
	cr_expect_eq(json_array_size(json_object_get(keys, "keys")), 2);
	json_decref(keys);
	/* Once the first key's last grant expired, it is gone. */
	while (util_now_ms() < t0 + 9000)
		usleep(100 * 1000);
	keys = jwks();
	cr_expect_eq(json_array_size(json_object_get(keys, "keys")), 1);
	cr_expect_str_eq(str(json_array_get(json_object_get(keys, "keys"), 0),
	    "kid"), kid2);
	json_decref(keys);
	/* A group-readable key file is refused at SIGHUP: the key stays. */
	snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm EC -pkeyopt "
	    "ec_paramgen_curve:P-256 -out %s.new 2>/dev/null && "
	    "chmod 640 %s.new && mv %s.new %s", path, path, path, path);
	cr_assert_eq(system(cmd), 0);
	nsregd_signal(&srv, SIGHUP);
	usleep(500 * 1000);
	g3 = grant(&client, "{\"service\":\"db-replication\"}", 201);
	cr_assert(offline_ok(str(g3, "token"), kid3));
	cr_expect_str_eq(kid3, kid2);
	nsregd_stop(&srv);
	snprintf(cmd, sizeof(cmd), "sed -i '/^grant-key/d' %s/nsregd.conf",
	    srv.dir);
	cr_assert_eq(system(cmd), 0);
	/* Without grant-key: no new grants, old ones still check out. */
	nsregd_restart(&srv);
	hreq(&srv, &client, "POST", "/v1/grants",
	    "{\"service\":\"db-replication\"}", NULL, NULL, &r);
	want(&r, 503);
	cr_expect_str_eq(hresp_error(&r), "unavailable");
	cr_expect(strstr(r.body, "grant-key") != NULL, "%s", r.body);
	hresp_free(&r);
	cr_expect(active(str(g3, "token")));
	cr_expect(offline_ok(str(g3, "token"), NULL));
	json_decref(g1);
	json_decref(g2);
	json_decref(g3);
}

struct racer {
	struct hcred	*creds;
	int		 n;
	json_t		*addrs;
	int		 failed;
};

static void *
racer_main(void *arg)
{
	struct racer	*r = arg;
	struct hresp	 resp;
	int		 i;

	for (i = 0; i < r->n; i++) {
		if (hreq(&srv, &r->creds[i], "POST", "/v1/grants",
		    "{\"service\":\"db-replication\"}", NULL, NULL,
		    &resp) == -1 || resp.status != 201)
			r->failed++;
		else
			json_array_append(r->addrs, json_object_get(resp.json,
			    "address"));
		hresp_free(&resp);
	}
	return NULL;
}

Test(grants, two_times_five_hundred_racing_requests_get_distinct_addresses)
{
	struct hcred	 owner, *creds;
	struct racer	 r[2];
	pthread_t	 t[2];
	json_t		*seen;
	const json_t	*a;
	char		 id[128];
	size_t		 i, j;

	hcred_x509(&srv, &owner);
	db_setup(&owner);
	creds = calloc(1000, sizeof(*creds));
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "spiffe://example.org/race/%zu", i);
		hcred_issue_jwt(&srv, id, 0, &creds[i]);
	}
	for (i = 0; i < 2; i++) {
		r[i].creds = creds + 500 * i;
		r[i].n = 500;
		r[i].addrs = json_array();
		r[i].failed = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, racer_main, &r[i]),
		    0);
	}
	seen = json_object();
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(r[i].failed, 0);
		json_array_foreach(r[i].addrs, j, a) {
			cr_expect_null(json_object_get(seen,
			    json_string_value(a)), "%s given twice",
			    json_string_value(a));
			json_object_set_new(seen, json_string_value(a),
			    json_true());
		}
		json_decref(r[i].addrs);
	}
	cr_expect_eq(json_object_size(seen), 1000);
	/* Lowest first: exactly 10.60.0.1 to 10.60.3.232. */
	cr_expect_not_null(json_object_get(seen, "10.60.0.1/32"));
	cr_expect_not_null(json_object_get(seen, "10.60.3.232/32"));
	cr_expect_null(json_object_get(seen, "10.60.3.233/32"));
	json_decref(seen);
	free(creds);
}

/* The text of file under the source tree (new buffer). */
static char *
source_file(const char *file)
{
	const char	*src = getenv("NSREG_SRCDIR");
	char		 path[1024], *text;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/%s", src != NULL ? src : ".", file);
	cr_assert_not_null(text = util_file_read(path, 1 << 20, &n), "%s",
	    path);
	return text;
}

Test(grants, the_documented_forwarder_script_checks_real_grants)
{
	struct hcred	 owner, client;
	json_t		*g, *keys;
	char		*script, *readme, *a, *b, cmd[8192], path[512];
	const char	*src = getenv("NSREG_SRCDIR");
	FILE		*f;
	size_t		 n;

	/* The README shows the script the tests run, to the byte. */
	script = source_file("tests/integration/verify-grant.sh");
	readme = source_file("README.md");
	cr_assert_not_null(a = strstr(readme, "<!-- verify-grant.sh -->\n"
	    "```sh\n"));
	a += strlen("<!-- verify-grant.sh -->\n```sh\n");
	cr_assert_not_null(b = strstr(a, "```\n<!-- /verify-grant.sh -->"));
	cr_expect_eq((size_t)(b - a), strlen(script));
	cr_expect_eq(strncmp(a, script, strlen(script)), 0,
	    "README.md and tests/integration/verify-grant.sh differ");
	free(script);
	free(readme);
	if (system("command -v jq >/dev/null && command -v xxd >/dev/null") !=
	    0)
		cr_skip_test("jq or xxd is not installed");

	hcred_x509(&srv, &owner);
	hcred_jwt(&srv, &client);
	db_setup(&owner);
	g = grant(&client, "{\"service\":\"db-replication\"}", 201);
	keys = jwks();
	nsregd_path(&srv, "jwks.json", path, sizeof(path));
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(json_dumpf(keys, f, 0), 0);
	fclose(f);
	json_decref(keys);
	snprintf(cmd, sizeof(cmd), "sh %s/tests/integration/verify-grant.sh "
	    "'%s' %s %s >/dev/null 2>&1", src != NULL ? src : ".",
	    str(g, "token"), path, CLIENT);
	cr_expect_eq(system(cmd), 0, "the script refuses a good grant");
	snprintf(cmd, sizeof(cmd), "sh %s/tests/integration/verify-grant.sh "
	    "'%s' %s spiffe://example.org/someone-else >/dev/null 2>&1",
	    src != NULL ? src : ".", str(g, "token"), path);
	cr_expect_neq(system(cmd), 0, "the script takes another audience");
	/* A signature character that carries bits (not the last one's). */
	n = strlen(str(g, "token"));
	snprintf(cmd, sizeof(cmd), "sh %s/tests/integration/verify-grant.sh "
	    "'%.*s%c%s' %s %s >/dev/null 2>&1", src != NULL ? src : ".",
	    (int)n - 10, str(g, "token"),
	    str(g, "token")[n - 10] == 'A' ? 'B' : 'A',
	    str(g, "token") + n - 9, path, CLIENT);
	cr_expect_neq(system(cmd), 0, "the script takes a changed signature");
	json_decref(g);
}

Test(grants, a_refresh_under_a_changed_rule_revokes_the_grant)
{
	struct hcred	 owner, replica;
	struct hwatch	 w;
	struct hresp	 r;
	json_t		*g, *e, *d;
	char		 path[160];
	size_t		 i = 0;

	if (!rules)
		cr_skip_test("this nsregd has no admission rules");
	hcred_x509(&srv, &owner);
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/db/sa/replica", 0,
	    &replica);
	db_setup(&owner);
	hwatch_start(&w, &srv, &owner,
	    "/v1/grants?service=db-replication&watch=true");
	g = grant(&replica, "{\"service\":\"db-replication\"}", 201);
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "ADDED");
	snprintf(path, sizeof(path), "/v1/grants/%s/refresh", str(g, "id"));
	/* Today's rules still allow it. */
	call(&replica, "POST", path, NULL, 200);
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "MODIFIED");
	/* A rule now forbids it: the refresh revokes it and says why. */
	cr_assert(policy("no-replica", "{\"effect\":\"forbid\",\"actions\":"
	    "[\"connect\"],\"services\":[\"db-replication\"],\"condition\":"
	    "\"principal.path == '/ns/db/sa/replica'\"}"));
	hreq(&srv, &replica, "POST", path, NULL, NULL, NULL, &r);
	want(&r, 403);
	cr_expect_str_eq(hresp_error(&r), "permission_denied");
	d = json_object_get(r.json, "decision");
	cr_expect_str_eq(str(d, "decision"), "deny");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(d,
	    "reasons"), 0)), "no-replica");
	hresp_free(&r);
	e = next_event(&w, &i);
	cr_expect_str_eq(str(e, "type"), "DELETED");
	cr_expect_str_eq(str(e, "reason"), "denied");
	snprintf(path, sizeof(path), "/v1/grants/%s", str(g, "id"));
	call(&replica, "GET", path, NULL, 404);
	cr_expect(!active(str(g, "token")));
	/* And no new grant either. */
	json_decref(g);
	g = grant(&replica, "{\"service\":\"db-replication\"}", 403);
	json_decref(g);
	hwatch_stop(&w);
}

Test(grants, denials_explain_and_the_decision_log_names_the_grant)
{
	struct hcred	 owner, replica, web, admin;
	struct hresp	 r;
	json_t		*g, *d, *items, *it;
	size_t		 i;
	int		 allowed = 0, denied = 0;

	if (!rules)
		cr_skip_test("this nsregd has no admission rules");
	hcred_x509(&srv, &owner);
	hcred_admin(&srv, &admin);
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/db/sa/replica", 0,
	    &replica);
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/web/sa/frontend", 0,
	    &web);
	db_setup(&owner);
	/* The README's rule. */
	cr_assert(policy("db-replication-postgres-only", "{\"effect\":"
	    "\"forbid\",\"actions\":[\"connect\"],\"services\":"
	    "[\"db-replication\"],\"condition\":\"!(principal.trust_domain == "
	    "'example.org' && principal.path.startsWith('/ns/db/') && "
	    "request.labels.app == 'postgres')\"}"));
	hreq(&srv, &web, "POST", "/v1/grants", "{\"service\":"
	    "\"db-replication\",\"labels\":{\"app\":\"postgres\"}}", NULL,
	    NULL, &r);
	want(&r, 403);
	d = json_object_get(r.json, "decision");
	cr_expect_str_eq(str(d, "decision"), "deny");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(d,
	    "reasons"), 0)), "db-replication-postgres-only");
	cr_expect(strstr(str(json_object_get(r.json, "error"), "message"),
	    "db-east") != NULL, "%s", r.body);
	hresp_free(&r);
	g = grant(&replica, "{\"service\":\"db-replication\"}", 403);
	json_decref(g);
	g = grant(&replica, "{\"service\":\"db-replication\",\"labels\":"
	    "{\"app\":\"postgres\"}}", 201);
	cr_expect_str_eq(str(json_object_get(g, "decision"), "decision"),
	    "allow");
	hreq(&srv, &admin, "GET", "/v1/decisions?action=connect&limit=100",
	    NULL, NULL, NULL, &r);
	items = json_object_get(want(&r, 200), "items");
	json_array_foreach(items, i, it) {
		cr_expect(json_is_string(json_object_get(it, "grant")),
		    "a connect decision without its grant id");
		if (strcmp(str(json_object_get(it, "decision"), "decision"),
		    "allow") == 0) {
			cr_expect_str_eq(str(it, "grant"), str(g, "id"));
			allowed++;
		} else
			denied++;
	}
	/* Two candidates each for the two denied requests. */
	cr_expect_eq(allowed, 1);
	cr_expect_eq(denied, 4);
	hresp_free(&r);
	json_decref(g);
}
