/*
 * test_identity.c - every kind of credential presented to a running
 * nsregd (DESIGN section 3): X.509-SVIDs good and broken, JWT-SVIDs good
 * and broken, the admin token, garbage, a second trust domain admitted
 * and removed through /v1/trust-domains, and trust-bundle reloaded on
 * SIGHUP.  Each 401 is checked for its exact reason.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idfix.h"
#include "util.h"

#define CLIENT_ID	"spiffe://example.org/ns/default/sa/client"

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

TestSuite(identity, .init = setup, .fini = teardown, .timeout = 90);

static const char *
str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(not a string)";
}

static const char *
rfc3339(int64_t ms, char *buf)
{
	return util_rfc3339_format(ms, buf, UTIL_RFC3339_MAX);
}

/* An X.509-SVID of our CA for id lasting until not_after_ms. */
static void
x509_until(struct svid_ca *ca, const char *id, int64_t not_after_ms,
    unsigned int flags, struct hcred *c)
{
	struct svid_x509_req	req;

	memset(&req, 0, sizeof(req));
	req.id = id;
	req.not_before_ms = util_now_ms() - 60000;
	req.not_after_ms = not_after_ms;
	req.flags = flags;
	idfix_x509(&srv, ca, &req, c);
}

static void
x509_flags(unsigned int flags, const char *id, const char *reason)
{
	struct svid_x509_req	 req;
	struct svid_ca		*ca = idfix_server_ca(&srv);
	struct hcred		 c;

	memset(&req, 0, sizeof(req));
	req.id = id;
	req.flags = flags;
	idfix_x509(&srv, ca, &req, &c);
	idfix_whoami(&srv, &c, 401, reason);
	svid_ca_free(ca);
}

Test(identity, x509_svid_is_the_principal_until_its_not_after)
{
	struct svid_ca	*ca = idfix_server_ca(&srv);
	struct hcred	 c;
	json_t		*o;
	char		 ts[UTIL_RFC3339_MAX];
	int64_t		 until;

	until = (util_now_ms() / 1000 + 7200) * 1000;
	x509_until(ca, CLIENT_ID, until, 0, &c);
	o = idfix_whoami(&srv, &c, 200, NULL);
	cr_expect_str_eq(str(o, "id"), CLIENT_ID);
	cr_expect_str_eq(str(o, "trust_domain"), "example.org");
	cr_expect_str_eq(str(o, "path"), "/ns/default/sa/client");
	cr_expect_str_eq(str(o, "auth"), "x509");
	cr_expect(json_is_false(json_object_get(o, "admin")));
	cr_expect(json_is_null(json_object_get(o, "claims")));
	cr_expect_str_eq(str(o, "expires_at"), rfc3339(until, ts));
	json_decref(o);
	svid_ca_free(ca);
}

Test(identity, x509_svid_through_an_intermediate_is_accepted)
{
	struct svid_x509_req	 req;
	struct svid_ca		*ca = idfix_server_ca(&srv);
	struct hcred		 c;
	json_t			*o;

	memset(&req, 0, sizeof(req));
	req.id = "spiffe://example.org/via/intermediate";
	req.flags = SVID_X509_INTERMEDIATE;
	idfix_x509(&srv, ca, &req, &c);
	o = idfix_whoami(&srv, &c, 200, NULL);
	cr_expect_str_eq(str(o, "id"), "spiffe://example.org/via/intermediate");
	json_decref(o);
	svid_ca_free(ca);
}

Test(identity, x509_expired_is_401)
{
	struct svid_x509_req	 req;
	struct svid_ca		*ca = idfix_server_ca(&srv);
	struct hcred		 c;

	memset(&req, 0, sizeof(req));
	req.id = CLIENT_ID;
	req.not_before_ms = util_now_ms() - 7200 * 1000;
	req.not_after_ms = util_now_ms() - 3600 * 1000;
	idfix_x509(&srv, ca, &req, &c);
	idfix_whoami(&srv, &c, 401, "x509: certificate expired");
	svid_ca_free(ca);
}

Test(identity, x509_not_yet_valid_is_401)
{
	struct svid_x509_req	 req;
	struct svid_ca		*ca = idfix_server_ca(&srv);
	struct hcred		 c;

	memset(&req, 0, sizeof(req));
	req.id = CLIENT_ID;
	req.not_before_ms = util_now_ms() + 3600 * 1000;
	req.not_after_ms = util_now_ms() + 7200 * 1000;
	idfix_x509(&srv, ca, &req, &c);
	idfix_whoami(&srv, &c, 401, "x509: certificate not yet valid");
	svid_ca_free(ca);
}

Test(identity, x509_ca_leaf_is_401)
{
	x509_flags(SVID_X509_CA, CLIENT_ID, "x509: leaf is a CA");
}

Test(identity, x509_without_uri_san_is_401)
{
	x509_flags(SVID_X509_NO_URI, CLIENT_ID, "x509: no URI SAN");
}

Test(identity, x509_key_usage_rules_are_401)
{
	x509_flags(SVID_X509_KEY_CERT_SIGN, CLIENT_ID,
	    "x509: leaf has keyCertSign");
	x509_flags(SVID_X509_CRL_SIGN, CLIENT_ID, "x509: leaf has cRLSign");
	x509_flags(SVID_X509_NO_KEY_USAGE, CLIENT_ID,
	    "x509: leaf has no key usage");
	x509_flags(SVID_X509_SERVER_ONLY, CLIENT_ID,
	    "x509: leaf extended key usage lacks clientAuth");
}

/*
 * A leaf without digitalSignature cannot sign the TLS CertificateVerify:
 * GnuTLS ends the handshake before any request is read, so there is no
 * HTTP answer to carry the reason - but it never authenticates.
 */
Test(identity, x509_without_digital_signature_never_gets_in)
{
	struct svid_x509_req	 req;
	struct svid_ca		*ca = idfix_server_ca(&srv);
	struct hcred		 c;
	struct hresp		 r;
	int			 rc;

	memset(&req, 0, sizeof(req));
	req.id = CLIENT_ID;
	req.flags = SVID_X509_NO_DIGITAL_SIGNATURE;
	idfix_x509(&srv, ca, &req, &c);
	rc = hreq(&srv, &c, "GET", "/v1/whoami", NULL, NULL, NULL, &r);
	cr_expect(rc == -1 || r.status == 401, "rc %d status %ld: %s", rc,
	    r.status, r.body);
	if (rc == 0)
		cr_expect_str_eq(idfix_message(&r),
		    "x509: leaf lacks digitalSignature");
	hresp_free(&r);
	svid_ca_free(ca);
}

Test(identity, x509_root_id_and_two_uris_are_401)
{
	struct svid_x509_req	 req;
	struct svid_ca		*ca = idfix_server_ca(&srv);
	struct hcred		 c;

	x509_flags(0, "spiffe://example.org",
	    "x509: leaf SPIFFE ID has no path");
	memset(&req, 0, sizeof(req));
	req.id = CLIENT_ID;
	req.extra_uri = "spiffe://example.org/other";
	idfix_x509(&srv, ca, &req, &c);
	idfix_whoami(&srv, &c, 401, "x509: more than one URI SAN");
	svid_ca_free(ca);
}

Test(identity, x509_of_another_trust_domain_signed_by_our_ca_is_401)
{
	struct svid_ca	*ca = idfix_server_ca(&srv), *b = idfix_ca("b.test");
	struct hcred	 c;

	idfix_x509_id(&srv, ca, "spiffe://b.test/forged", &c);
	idfix_whoami(&srv, &c, 401, "x509: no bundle for trust domain b.test");
	/* With b.test's bundle known, our CA still is not b.test's. */
	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	idfix_whoami(&srv, &c, 401,
	    "x509: not signed by an authority of trust domain b.test");
	svid_ca_free(ca);
	svid_ca_free(b);
}

Test(identity, x509_of_an_unknown_trust_domain_is_401)
{
	struct svid_ca	*c_ca = idfix_ca("c.test");
	struct hcred	 c;

	idfix_x509_id(&srv, c_ca, "spiffe://c.test/w", &c);
	idfix_whoami(&srv, &c, 401, "x509: no bundle for trust domain c.test");
	svid_ca_free(c_ca);
}

Test(identity, second_trust_domain_is_recognised_after_put_until_delete)
{
	struct svid_ca	*b = idfix_ca("b.test");
	struct hcred	 x, j;
	struct hresp	 r;
	json_t		*o;

	idfix_x509_id(&srv, b, "spiffe://b.test/ns/web/sa/frontend", &x);
	idfix_jwt(b, "spiffe://b.test/ns/web/sa/frontend", IDFIX_AUDIENCE,
	    util_now_ms(), 0, &j);
	idfix_whoami(&srv, &x, 401, "x509: no bundle for trust domain b.test");
	idfix_whoami(&srv, &j, 401, "jwt: no bundle for trust domain b.test");

	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	o = idfix_whoami(&srv, &x, 200, NULL);
	cr_expect_str_eq(str(o, "id"), "spiffe://b.test/ns/web/sa/frontend");
	cr_expect_str_eq(str(o, "trust_domain"), "b.test");
	cr_expect_str_eq(str(o, "path"), "/ns/web/sa/frontend");
	cr_expect_str_eq(str(o, "auth"), "x509");
	json_decref(o);
	o = idfix_whoami(&srv, &j, 200, NULL);
	cr_expect_str_eq(str(o, "trust_domain"), "b.test");
	cr_expect_str_eq(str(o, "auth"), "jwt");
	json_decref(o);

	/*
	 * Authenticated, but not admitted to the registry (no rule admits
	 * anyone): a record is 403, a list shows nothing.
	 */
	hreq(&srv, &x, "GET", "/v1/services/db", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect_str_eq(hresp_error(&r), "permission_denied");
	hresp_free(&r);
	hreq(&srv, &x, "GET", "/v1/services", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(json_array_size(json_object_get(r.json, "items")), 0);
	hresp_free(&r);

	idfix_td_delete(&srv, "b.test", 204);
	idfix_whoami(&srv, &x, 401, "x509: no bundle for trust domain b.test");
	idfix_whoami(&srv, &j, 401, "jwt: no bundle for trust domain b.test");
	svid_ca_free(b);
}

Test(identity, kept_alive_connection_loses_its_principal_on_delete)
{
	struct svid_ca		*b = idfix_ca("b.test");
	struct idfix_conn	 k;
	struct hcred		 x;
	char			 msg[512];
	int			 reused;

	idfix_x509_id(&srv, b, "spiffe://b.test/kept", &x);
	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	idfix_conn_open(&k, &srv, &x);
	cr_expect_eq(idfix_conn_whoami(&k, msg, sizeof(msg), &reused), 200,
	    "%s", msg);
	cr_expect_eq(idfix_conn_whoami(&k, msg, sizeof(msg), &reused), 200,
	    "%s", msg);
	cr_expect(reused, "the second request made a new connection");
	idfix_td_delete(&srv, "b.test", 204);
	cr_expect_eq(idfix_conn_whoami(&k, msg, sizeof(msg), &reused), 401);
	cr_expect(reused, "the third request made a new connection");
	cr_expect_str_eq(msg, "x509: no bundle for trust domain b.test");
	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	cr_expect_eq(idfix_conn_whoami(&k, msg, sizeof(msg), &reused), 200,
	    "%s", msg);
	idfix_conn_close(&k);
	svid_ca_free(b);
}

Test(identity, jwt_svid_is_the_principal_with_its_claims)
{
	struct svid_ca	*ca = idfix_server_ca(&srv);
	struct hcred	 c;
	json_t		*o, *claims;
	char		 ts[UTIL_RFC3339_MAX];
	int64_t		 now = util_now_ms();
	json_int_t	 exp;

	idfix_jwt(ca, CLIENT_ID, IDFIX_AUDIENCE, now, 600 * 1000, &c);
	o = idfix_whoami(&srv, &c, 200, NULL);
	cr_expect_str_eq(str(o, "id"), CLIENT_ID);
	cr_expect_str_eq(str(o, "trust_domain"), "example.org");
	cr_expect_str_eq(str(o, "path"), "/ns/default/sa/client");
	cr_expect_str_eq(str(o, "auth"), "jwt");
	cr_expect(json_is_false(json_object_get(o, "admin")));
	claims = json_object_get(o, "claims");
	cr_expect_str_eq(str(claims, "sub"), CLIENT_ID);
	cr_expect_str_eq(str(claims, "aud"), IDFIX_AUDIENCE);
	exp = json_integer_value(json_object_get(claims, "exp"));
	cr_expect_eq(exp, (now + 600 * 1000) / 1000);
	cr_expect_str_eq(str(o, "expires_at"), rfc3339(exp * 1000, ts));
	json_decref(o);
	svid_ca_free(ca);
}

Test(identity, jwt_expired_is_401)
{
	struct svid_ca	*ca = idfix_server_ca(&srv);
	struct hcred	 c;

	/* Expired five minutes ago: past the 60 s leeway. */
	idfix_jwt(ca, CLIENT_ID, IDFIX_AUDIENCE, util_now_ms() - 600 * 1000,
	    300 * 1000, &c);
	idfix_whoami(&srv, &c, 401, "jwt: token expired");
	svid_ca_free(ca);
}

Test(identity, jwt_for_another_audience_is_401)
{
	struct svid_ca	*ca = idfix_server_ca(&srv);
	struct hcred	 c;

	idfix_jwt(ca, CLIENT_ID, "spiffe://example.org/someone-else",
	    util_now_ms(), 0, &c);
	idfix_whoami(&srv, &c, 401, "jwt: audience mismatch");
	svid_ca_free(ca);
}

Test(identity, jwt_tampered_payload_or_signature_is_401)
{
	struct svid_ca	*ca = idfix_server_ca(&srv);
	struct hcred	 c, t;
	json_t		*claims;
	char		*dot1, *dot2, *cb, *c64;
	size_t		 n;

	idfix_jwt(ca, CLIENT_ID, IDFIX_AUDIENCE, util_now_ms(), 0, &c);
	json_decref(idfix_whoami(&srv, &c, 200, NULL));
	/* The same signature over claims naming another workload. */
	dot1 = strchr(c.bearer, '.');
	dot2 = strchr(dot1 + 1, '.');
	claims = json_pack("{s:s, s:s, s:I}", "sub",
	    "spiffe://example.org/ns/kube-system/sa/admin", "aud",
	    IDFIX_AUDIENCE, "exp", (json_int_t)(util_now_ms() / 1000 + 300));
	cb = json_dumps(claims, JSON_COMPACT);
	c64 = idfix_b64url(cb, strlen(cb));
	hcred_none(&t);
	n = (size_t)(dot1 - c.bearer) + 1;
	memcpy(t.bearer, c.bearer, n);
	snprintf(t.bearer + n, sizeof(t.bearer) - n, "%s%s", c64, dot2);
	idfix_whoami(&srv, &t, 401, "jwt: bad signature");
	/* One signature character changed. */
	t = c;
	n = strlen(t.bearer);
	t.bearer[n - 3] = t.bearer[n - 3] == 'A' ? 'B' : 'A';
	idfix_whoami(&srv, &t, 401, "jwt: bad signature");
	free(cb);
	free(c64);
	json_decref(claims);
	svid_ca_free(ca);
}

Test(identity, jwt_alg_none_and_hs256_are_401)
{
	struct hcred	 c;
	json_t		*h, *claims;
	char		*tok;

	claims = json_pack("{s:s, s:s, s:I}", "sub", CLIENT_ID, "aud",
	    IDFIX_AUDIENCE, "exp", (json_int_t)(util_now_ms() / 1000 + 300));
	h = json_pack("{s:s, s:s}", "alg", "none", "typ", "JWT");
	tok = idfix_jws_raw(h, claims, "");
	hcred_none(&c);
	snprintf(c.bearer, sizeof(c.bearer), "%s", tok);
	idfix_whoami(&srv, &c, 401, "jwt: algorithm none not allowed");
	free(tok);
	json_decref(h);
	h = json_pack("{s:s, s:s}", "alg", "HS256", "typ", "JWT");
	tok = idfix_jws_raw(h, claims, "c2lnbmF0dXJl");
	snprintf(c.bearer, sizeof(c.bearer), "%s", tok);
	idfix_whoami(&srv, &c, 401, "jwt: algorithm HS256 not allowed");
	free(tok);
	json_decref(h);
	json_decref(claims);
}

Test(identity, jwt_with_an_unknown_kid_is_401)
{
	struct svid_ca		*ca = idfix_server_ca(&srv);
	struct nsreg_error	 err;
	struct hcred		 c;
	json_t			*h, *claims;
	char			*tok = NULL;

	claims = json_pack("{s:s, s:s, s:I}", "sub", CLIENT_ID, "aud",
	    IDFIX_AUDIENCE, "exp", (json_int_t)(util_now_ms() / 1000 + 300));
	h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid", "no-such-key",
	    "typ", "JWT");
	cr_assert_eq(svid_jws_sign(svid_ca_jwt_key(ca), "ES256", h, claims,
	    &tok, &err), 0, "%s", err.message);
	hcred_none(&c);
	snprintf(c.bearer, sizeof(c.bearer), "%s", tok);
	idfix_whoami(&srv, &c, 401, "jwt: unknown kid");
	free(tok);
	json_decref(h);
	json_decref(claims);
	svid_ca_free(ca);
}

Test(identity, jwt_signed_with_another_trust_domains_key_is_401)
{
	struct svid_ca	*ca = idfix_server_ca(&srv), *b = idfix_ca("b.test");
	struct hcred	 c;

	idfix_td_put(&srv, "b.test", idfix_td_body(b), 201);
	/* Our key, a b.test subject: looked up in b.test's keys only. */
	idfix_jwt(ca, "spiffe://b.test/forged", IDFIX_AUDIENCE,
	    util_now_ms(), 0, &c);
	idfix_whoami(&srv, &c, 401, "jwt: unknown kid");
	svid_ca_free(ca);
	svid_ca_free(b);
}

Test(identity, admin_token_is_the_admin_role)
{
	struct hcred	 c;
	json_t		*o;

	hcred_admin(&srv, &c);
	o = idfix_whoami(&srv, &c, 200, NULL);
	cr_expect_str_eq(str(o, "auth"), "admin");
	cr_expect(json_is_true(json_object_get(o, "admin")));
	cr_expect(json_is_null(json_object_get(o, "id")));
	cr_expect(json_is_null(json_object_get(o, "trust_domain")));
	cr_expect(json_is_null(json_object_get(o, "expires_at")));
	cr_expect(json_is_null(json_object_get(o, "claims")));
	json_decref(o);
}

static void
raw_auth(const char *header, const char *reason)
{
	struct hcred	none;
	struct hresp	r;

	hcred_none(&none);
	cr_assert_eq(hreq(&srv, &none, "GET", "/v1/whoami", NULL, NULL,
	    header, &r), 0);
	cr_expect_eq(r.status, 401, "%s: %ld %s", header, r.status, r.body);
	cr_expect_str_eq(hresp_error(&r), "unauthenticated");
	cr_expect_str_eq(idfix_message(&r), reason, "%s: got \"%s\"", header,
	    idfix_message(&r));
	hresp_free(&r);
}

Test(identity, garbage_authorization_is_401_with_the_reason)
{
	raw_auth("Authorization: Basic Zm9vOmJhcg==",
	    "authorization: expected \"Bearer <token>\"");
	raw_auth("Authorization: Bearertoken",
	    "authorization: expected \"Bearer <token>\"");
	raw_auth("Authorization: Bearer not-the-admin-token",
	    "authorization: the bearer token is neither the admin token "
	    "nor a JWT-SVID");
	raw_auth("Authorization: Bearer a.b.c", "jwt: malformed header");
	raw_auth("Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.e30",
	    "jwt: malformed token");
}

Test(identity, no_credential_is_401_but_health_and_bundle_are_open)
{
	struct hcred	none;
	struct hresp	r;

	hcred_none(&none);
	idfix_whoami(&srv, &none, 401, "no credential: present an X.509-SVID "
	    "client certificate or an Authorization: Bearer token");
	hreq(&srv, &none, "GET", "/v1/bundle", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	hresp_free(&r);
}

Test(identity, certificate_and_token_both_count)
{
	struct svid_ca	*ca = idfix_server_ca(&srv);
	struct hcred	 cert, tok, both;
	json_t		*o;
	char		 ts[UTIL_RFC3339_MAX];
	int64_t		 now = util_now_ms(), soon;

	/* The token names the principal and expires first. */
	x509_until(ca, "spiffe://example.org/proxy",
	    (now / 1000 + 3600) * 1000, 0, &cert);
	idfix_jwt(ca, CLIENT_ID, IDFIX_AUDIENCE, now, 300 * 1000, &tok);
	both = cert;
	snprintf(both.bearer, sizeof(both.bearer), "%s", tok.bearer);
	o = idfix_whoami(&srv, &both, 200, NULL);
	cr_expect_str_eq(str(o, "id"), CLIENT_ID);
	cr_expect_str_eq(str(o, "auth"), "jwt");
	cr_expect_str_eq(str(o, "expires_at"),
	    rfc3339((now + 300 * 1000) / 1000 * 1000, ts));
	json_decref(o);

	/* The certificate expires first: it caps the principal. */
	soon = (now / 1000 + 120) * 1000;
	x509_until(ca, "spiffe://example.org/proxy", soon, 0, &cert);
	both = cert;
	snprintf(both.bearer, sizeof(both.bearer), "%s", tok.bearer);
	o = idfix_whoami(&srv, &both, 200, NULL);
	cr_expect_str_eq(str(o, "expires_at"), rfc3339(soon, ts));
	json_decref(o);
	hcred_admin(&srv, &tok);
	snprintf(cert.bearer, sizeof(cert.bearer), "%s", tok.bearer);
	o = idfix_whoami(&srv, &cert, 200, NULL);
	cr_expect_str_eq(str(o, "auth"), "admin");
	cr_expect_str_eq(str(o, "expires_at"), rfc3339(soon, ts));
	json_decref(o);

	/* A bad certificate is refused even with a good token. */
	x509_until(ca, "spiffe://example.org/proxy", soon, SVID_X509_CA,
	    &cert);
	snprintf(cert.bearer, sizeof(cert.bearer), "%s", tok.bearer);
	idfix_whoami(&srv, &cert, 401, "x509: leaf is a CA");
	svid_ca_free(ca);
}

Test(identity, sighup_reloads_the_trust_bundle)
{
	struct svid_ca	*old = idfix_server_ca(&srv), *fresh;
	struct hcred	 old_x, old_j, new_x, new_j, probe;
	struct hresp	 r;
	json_t		*doc;
	char		 path[PATH_MAX], *text;
	int		 i;

	hcred_x509(&srv, &old_x);
	hcred_jwt(&srv, &old_j);
	json_decref(idfix_whoami(&srv, &old_x, 200, NULL));
	json_decref(idfix_whoami(&srv, &old_j, 200, NULL));

	/* A new CA for the same trust domain replaces the bundle file. */
	fresh = idfix_ca("example.org");
	idfix_x509_id(&srv, fresh, CLIENT_ID, &new_x);
	idfix_jwt(fresh, CLIENT_ID, IDFIX_AUDIENCE, util_now_ms(), 0, &new_j);
	idfix_whoami(&srv, &new_x, 401,
	    "x509: not signed by an authority of trust domain example.org");
	doc = svid_ca_bundle_json(fresh, 2, 300);
	text = json_dumps(doc, JSON_COMPACT);
	cr_assert_eq(util_file_write(nsregd_path(&srv, "bundle.json", path,
	    sizeof(path)), text, strlen(text), 0644), 0);
	free(text);
	json_decref(doc);
	nsregd_signal(&srv, SIGHUP);
	for (i = 0; i < 100; i++) {
		probe = new_x;
		hreq(&srv, &probe, "GET", "/v1/whoami", NULL, NULL, NULL, &r);
		if (r.status == 200) {
			hresp_free(&r);
			break;
		}
		hresp_free(&r);
		usleep(50 * 1000);
	}
	cr_assert_lt(i, 100, "the new bundle was not loaded");
	json_decref(idfix_whoami(&srv, &new_x, 200, NULL));
	json_decref(idfix_whoami(&srv, &new_j, 200, NULL));
	idfix_whoami(&srv, &old_x, 401,
	    "x509: not signed by an authority of trust domain example.org");
	idfix_whoami(&srv, &old_j, 401, "jwt: unknown kid");
	/* /v1/bundle serves what was loaded. */
	hcred_none(&probe);
	hreq(&srv, &probe, "GET", "/v1/bundle", NULL, NULL, NULL, &r);
	cr_expect_eq(json_integer_value(json_object_get(r.json,
	    "spiffe_sequence")), 2);
	hresp_free(&r);
	svid_ca_free(old);
	svid_ca_free(fresh);
}

/* Principals listed with "admin" get the role whatever credential. */
Test(identity, listed_spiffe_id_is_admin_by_certificate_or_token)
{
	struct nsregd	*s = &srv;
	struct hcred	 c;
	json_t		*o;

	/* One suite per file: Criterion 2.4 leaks with several. */
	nsregd_cleanup(&srv);
	nsregd_start(&srv, "admin " CLIENT_ID "\n");
	hcred_x509(s, &c);
	o = idfix_whoami(s, &c, 200, NULL);
	cr_expect_str_eq(str(o, "auth"), "x509");
	cr_expect(json_is_true(json_object_get(o, "admin")));
	json_decref(o);
	hcred_jwt(s, &c);
	o = idfix_whoami(s, &c, 200, NULL);
	cr_expect_str_eq(str(o, "auth"), "jwt");
	cr_expect(json_is_true(json_object_get(o, "admin")));
	json_decref(o);
	hcred_issue_x509(s, "spiffe://example.org/not-listed", 0, &c);
	o = idfix_whoami(s, &c, 200, NULL);
	cr_expect(json_is_false(json_object_get(o, "admin")));
	json_decref(o);
}

/*
 * Chains longer than a client may send are refused for their length,
 * whatever else they hold: the server never judges a cut-down chain.
 * The leaf comes through an intermediate; copies of the root pad it.
 */
Test(identity, x509_chain_length_limit_has_its_own_reason)
{
	static const struct {
		int		 padding;	/* root copies after leaf+int. */
		long		 status;
		const char	*reason;
	} v[] = {
		{ 0, 200, NULL },
		{ 6, 200, NULL },		/* 8 certificates */
		{ 7, 401, "x509: chain longer than 8 certificates" },
		{ 8, 401, "x509: chain longer than 8 certificates" },
		{ 12, 401, "x509: chain longer than 8 certificates" },
	};
	struct svid_x509_req	 req;
	struct svid_ca		*ca = idfix_server_ca(&srv);
	struct hcred		 c;
	char			*root, path[PATH_MAX];
	FILE			*fp;
	size_t			 i;
	int			 k;
	json_t			*o;

	root = svid_ca_bundle_pem(ca);
	cr_assert_not_null(root);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(&req, 0, sizeof(req));
		req.id = "spiffe://example.org/long/chain";
		req.flags = SVID_X509_INTERMEDIATE;
		idfix_x509(&srv, ca, &req, &c);
		/* Append the padding to the chain file. */
		snprintf(path, sizeof(path), "%s", c.cert);
		fp = fopen(path, "a");
		cr_assert_not_null(fp);
		for (k = 0; k < v[i].padding; k++)
			fputs(root, fp);
		fclose(fp);
		o = idfix_whoami(&srv, &c, v[i].status, v[i].reason);
		if (v[i].status == 200)
			cr_expect_str_eq(str(o, "id"),
			    "spiffe://example.org/long/chain");
		json_decref(o);
	}
	free(root);
	svid_ca_free(ca);
}

/*
 * SPIFFE IDs are taken case-insensitively in the scheme and trust domain
 * and used in their canonical form only: the admin list, the principal,
 * the JWT claim sub rules see, and the owner stored with a record.
 */
Test(identity, spiffe_ids_are_used_in_their_canonical_form_only)
{
	struct svid_ca		*ca;
	struct nsreg_error	 err;
	struct hcred		 c;
	struct hresp		 r;
	json_t			*h, *cl, *o;
	char			*tok = NULL;
	int64_t			 now = util_now_ms();

	nsregd_cleanup(&srv);
	memset(&srv, 0, sizeof(srv));
	nsregd_start(&srv, "admin SPIFFE://Example.ORG/Ops\n");
	ca = idfix_server_ca(&srv);
	h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid",
	    svid_ca_jwt_kid(ca), "typ", "JWT");
	cl = json_pack("{s:s, s:s, s:I}", "sub", "spiffe://EXAMPLE.org/Ops",
	    "aud", IDFIX_AUDIENCE, "exp", (json_int_t)(now / 1000 + 300));
	cr_assert_eq(svid_jws_sign(svid_ca_jwt_key(ca), "ES256", h, cl, &tok,
	    &err), 0, "%s", err.message);
	json_decref(h);
	json_decref(cl);
	hcred_none(&c);
	snprintf(c.bearer, sizeof(c.bearer), "%s", tok);
	free(tok);

	o = idfix_whoami(&srv, &c, 200, NULL);
	cr_expect_str_eq(str(o, "id"), "spiffe://example.org/Ops");
	cr_expect_str_eq(str(o, "trust_domain"), "example.org");
	cr_expect(json_is_true(json_object_get(o, "admin")),
	    "the admin list holds the canonical form");
	cr_expect_str_eq(str(json_object_get(o, "claims"), "sub"),
	    "spiffe://example.org/Ops");
	json_decref(o);

	/* The owner of a record is the canonical ID. */
	cr_assert_eq(hreq_json(&srv, &c, "PUT", "/v1/endpoints/case-1",
	    json_pack("{s:s, s:[s]}", "url", "tcp://10.0.0.1:5000",
	    "network_service_names", "svc"), &r), 0);
	cr_expect_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(str(r.json, "owner"), "spiffe://example.org/Ops");
	hresp_free(&r);
	svid_ca_free(ca);
}

/*
 * A principal whose SVID spells its scheme and trust domain in upper
 * case is the canonical ID everywhere downstream: the rule variables
 * (principal.id, principal.trust_domain, principal.claims.sub), the
 * stored owner, the decision log and the grant's sub.
 */
Test(identity, canonical_form_reaches_rules_decisions_and_grants)
{
	struct svid_ca		*ca;
	struct nsreg_error	 err;
	struct hcred		 user, admin;
	struct hresp		 r;
	json_t			*h, *cl, *it;
	char			*tok = NULL;
	const char		*want = "spiffe://example.org/ns/Upper";
	size_t			 i;

	nsregd_put_policy(&srv, "upper", "{\"effect\":\"permit\","
	    "\"actions\":[\"register\",\"connect\",\"find\"],\"condition\":"
	    "\"principal.id == 'spiffe://example.org/ns/Upper' && "
	    "principal.trust_domain == 'example.org' && "
	    "principal.claims.sub == principal.id\"}");
	ca = idfix_server_ca(&srv);
	h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid",
	    svid_ca_jwt_kid(ca), "typ", "JWT");
	cl = json_pack("{s:s, s:s, s:I}", "sub",
	    "SPIFFE://EXAMPLE.ORG/ns/Upper", "aud", IDFIX_AUDIENCE, "exp",
	    (json_int_t)(util_now_ms() / 1000 + 600));
	cr_assert_eq(svid_jws_sign(svid_ca_jwt_key(ca), "ES256", h, cl, &tok,
	    &err), 0, "%s", err.message);
	json_decref(h);
	json_decref(cl);
	hcred_none(&user);
	snprintf(user.bearer, sizeof(user.bearer), "%s", tok);
	free(tok);
	hcred_admin(&srv, &admin);

	cr_assert_eq(hreq_json(&srv, &admin, "PUT", "/v1/services/db",
	    json_pack("{s:s}", "payload", "IP"), &r), 0);
	cr_assert(r.status == 201 || r.status == 200, "%ld %s", r.status,
	    r.body);
	hresp_free(&r);
	/* The rule matched the canonical form: the request is allowed. */
	cr_assert_eq(hreq_json(&srv, &user, "PUT", "/v1/endpoints/up-1",
	    json_pack("{s:s, s:[s]}", "url", "tcp://10.0.0.9:5000",
	    "network_service_names", "db"), &r), 0);
	cr_expect_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(str(r.json, "owner"), want);
	hresp_free(&r);
	cr_assert_eq(hreq_json(&srv, &user, "POST", "/v1/grants",
	    json_pack("{s:s}", "service", "db"), &r), 0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_expect_str_eq(str(r.json, "principal"), want);
	tok = strdup(str(r.json, "token"));
	hresp_free(&r);
	cr_assert_eq(hreq_json(&srv, &user, "POST", "/v1/grants/introspect",
	    json_pack("{s:s}", "token", tok), &r), 0);
	cr_expect(json_is_true(json_object_get(r.json, "active")), "%s",
	    r.body);
	cr_expect_str_eq(str(r.json, "sub"), want);
	hresp_free(&r);
	free(tok);
	/* The decision log holds the canonical principal only. */
	cr_assert_eq(hreq(&srv, &admin, "GET", "/v1/decisions?principal="
	    "spiffe://example.org/ns/Upper", NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_gt(json_array_size(json_object_get(r.json, "items")), 0,
	    "%s", r.body);
	json_array_foreach(json_object_get(r.json, "items"), i, it)
		cr_expect_str_eq(str(it, "principal"), want);
	hresp_free(&r);
	svid_ca_free(ca);
}
