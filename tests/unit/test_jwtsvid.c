/*
 * test_jwtsvid.c - JWT-SVID verification: each rule of JWT-SVID and RFC
 * 7519 broken once on tokens minted in the fixture, every allowed
 * algorithm, algorithm confusion, keys of another trust domain, and the
 * verified-token cache.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <string.h>

#include "identity_int.h"
#include "jose.h"
#include "jwtsvid.h"
#include "principal.h"
#include "svid.h"
#include "tokcache.h"
#include "trust.h"
#include "util.h"

#define AUD	"spiffe://a.test/nsregd"

static struct svid_ca	*ca_a;		/* a.test */
static struct svid_ca	*ca_b;		/* b.test */
static struct svid_key	*k_rsa;		/* k.test: rsa, p384, p521 */
static struct svid_key	*k_p384;
static struct svid_key	*k_p521;
static struct trust	*trust;
static int64_t		 now;		/* ms */
static int64_t		 now_s;

static void
setup(void)
{
	struct nsreg_error	 err;
	struct bundle		*b;
	json_t			*doc;

	now = util_now_ms();
	now_s = now / 1000;
	ca_a = svid_ca_generate("a.test", now, 0, &err);
	ca_b = svid_ca_generate("b.test", now, 0, &err);
	k_rsa = svid_key_generate(SVID_KEY_RSA_2048, &err);
	k_p384 = svid_key_generate(SVID_KEY_EC_P384, &err);
	k_p521 = svid_key_generate(SVID_KEY_EC_P521, &err);
	cr_assert(ca_a && ca_b && k_rsa && k_p384 && k_p521);
	trust = trust_new("a.test", &err);
	b = svid_ca_bundle(ca_a, &err);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	bundle_unref(b);
	b = svid_ca_bundle(ca_b, &err);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	bundle_unref(b);
	doc = json_pack("{s:[o,o,o]}", "keys",
	    svid_key_jwk(k_rsa, "jwt-svid", "rsa"),
	    svid_key_jwk(k_p384, "jwt-svid", "p384"),
	    svid_key_jwk(k_p521, "jwt-svid", "p521"));
	b = bundle_from_json("k.test", doc, &err);
	cr_assert_not_null(b, "%s", err.message);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	bundle_unref(b);
	json_decref(doc);
}

static void
teardown(void)
{
	trust_free(trust);
	svid_ca_free(ca_a);
	svid_ca_free(ca_b);
	svid_key_free(k_rsa);
	svid_key_free(k_p384);
	svid_key_free(k_p521);
}

TestSuite(jwtsvid, .init = setup, .fini = teardown);

/* The header and claims of a good a.test token (new references). */
static json_t *
good_header(void)
{
	return json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid",
	    svid_ca_jwt_kid(ca_a), "typ", "JWT");
}

static json_t *
good_claims(void)
{
	return json_pack("{s:s, s:s, s:I, s:I}", "sub", "spiffe://a.test/w",
	    "aud", AUD, "exp", (json_int_t)(now_s + 300), "iat",
	    (json_int_t)now_s);
}

/* Sign header and claims (both stolen) with key under alg. */
static char *
sign(const struct svid_key *k, const char *alg, json_t *header,
    json_t *claims)
{
	struct nsreg_error	 err;
	char			*tok;

	cr_assert_eq(svid_jws_sign(k, alg, header, claims, &tok, &err), 0,
	    "%s", err.message);
	json_decref(header);
	json_decref(claims);
	return tok;
}

static char *
sign_a(json_t *header, json_t *claims)
{
	return sign(svid_ca_jwt_key(ca_a), "ES256", header, claims);
}

/* Verify (no cache) and expect the message, NULL for success. */
static void
expect_with(struct tokcache *c, const char *tok, int64_t at,
    const char *message)
{
	struct nsreg_error	 err;
	struct principal	 p;
	int			 rc;

	memset(&p, 0, sizeof(p));
	nsreg_error_clear(&err);
	rc = jwtsvid_verify(c, trust, AUD, tok, strlen(tok), at, &p, &err);
	if (message == NULL) {
		cr_assert_eq(rc, 0, "rejected: %s", err.message);
		cr_assert_eq(p.auth, PRINCIPAL_JWT);
		cr_assert_not_null(p.claims);
	} else {
		cr_assert_eq(rc, -1, "accepted, want \"%s\"", message);
		cr_assert_eq(err.code, NSREG_UNAUTHENTICATED);
		cr_assert_str_eq(err.message, message);
		cr_assert_eq(p.auth, PRINCIPAL_ANONYMOUS);
		cr_assert_null(p.claims);
	}
	principal_clear(&p);
}

static void
expect(const char *tok, const char *message)
{
	expect_with(NULL, tok, now, message);
}

/* Sign and expect, freeing the token. */
static void
expect_signed(json_t *header, json_t *claims, const char *message)
{
	char	*tok = sign_a(header, claims);

	expect(tok, message);
	free(tok);
}

/* A token from raw JSON texts and a raw signature part. */
static char *
raw_token(const char *header, const char *claims, const char *sig)
{
	char	*h, *c, *tok;
	size_t	 n;

	h = jose_b64_encode((const unsigned char *)header, strlen(header),
	    1);
	c = jose_b64_encode((const unsigned char *)claims, strlen(claims),
	    1);
	n = strlen(h) + strlen(c) + strlen(sig) + 3;
	tok = malloc(n);
	snprintf(tok, n, "%s.%s.%s", h, c, sig);
	free(h);
	free(c);
	return tok;
}

/* ---- accepted ---------------------------------------------------------- */

Test(jwtsvid, valid_token)
{
	struct nsreg_error	 err;
	struct principal	 p;
	json_t			*claims = good_claims();
	char			*tok;

	json_object_set_new(claims, "tenant", json_string("blue"));
	tok = sign_a(good_header(), claims);
	memset(&p, 0, sizeof(p));
	cr_assert_eq(jwtsvid_verify(NULL, trust, AUD, tok, strlen(tok), now,
	    &p, &err), 0, "%s", err.message);
	cr_assert_eq(p.auth, PRINCIPAL_JWT);
	cr_assert_str_eq(p.id, "spiffe://a.test/w");
	cr_assert_str_eq(p.trust_domain, "a.test");
	cr_assert_str_eq(principal_path(&p), "/w");
	cr_assert_eq(p.expires_at, (now_s + 300) * 1000);
	cr_assert_eq(p.admin, 0);
	cr_assert_str_eq(json_string_value(json_object_get(p.claims,
	    "tenant")), "blue");
	cr_assert_str_eq(json_string_value(json_object_get(p.claims,
	    "sub")), "spiffe://a.test/w");
	principal_clear(&p);
	free(tok);
}

Test(jwtsvid, minted_by_svid_jwt_issue)
{
	struct nsreg_error	 err;
	struct svid_jwt_req	 req;
	const char		*aud[] = { "other", AUD };
	char			*tok;

	memset(&req, 0, sizeof(req));
	req.id = "spiffe://a.test/ns/default/sa/client";
	req.aud = aud;
	req.naud = 2;
	cr_assert_eq(svid_jwt_issue(ca_a, &req, now, &tok, &err), 0);
	expect(tok, NULL);
	free(tok);
}

Test(jwtsvid, every_allowed_algorithm)
{
	static const struct {
		const char	*alg;
		const char	*kid;
	} v[] = {
		{ "RS256", "rsa" }, { "RS384", "rsa" }, { "RS512", "rsa" },
		{ "PS256", "rsa" }, { "PS384", "rsa" }, { "PS512", "rsa" },
		{ "ES384", "p384" }, { "ES512", "p521" },
	};
	size_t	 i;
	char	*tok;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const struct svid_key	*k;
		json_t			*claims = good_claims();

		k = v[i].kid[0] == 'r' ? k_rsa : v[i].kid[1] == '3' ? k_p384 :
		    k_p521;
		json_object_set_new(claims, "sub",
		    json_string("spiffe://k.test/w"));
		tok = sign(k, v[i].alg, json_pack("{s:s, s:s}", "alg",
		    v[i].alg, "kid", v[i].kid), claims);
		expect(tok, NULL);
		free(tok);
	}
}

Test(jwtsvid, typ_jose_and_no_typ_accepted)
{
	json_t	*h = good_header();

	json_object_set_new(h, "typ", json_string("JOSE"));
	expect_signed(h, good_claims(), NULL);
	h = good_header();
	json_object_del(h, "typ");
	expect_signed(h, good_claims(), NULL);
}

/*
 * RFC 7515 allows a JWS without kid; the SPIFFE SDKs refuse a JWT-SVID
 * without one, and so do we (nsregd(8)): no trying every key.
 */
Test(jwtsvid, no_kid_is_refused)
{
	json_t	*h = good_header();

	json_object_del(h, "kid");
	expect_signed(h, good_claims(), "jwt: missing kid");
	/* Whatever else the header says, and before the claims are read. */
	h = json_pack("{s:s}", "alg", "ES256");
	expect_signed(h, json_pack("{s:s}", "sub", "not an id"),
	    "jwt: missing kid");
	h = json_pack("{s:s, s:s}", "alg", "ES256", "typ", "JOSE");
	expect_signed(h, good_claims(), "jwt: missing kid");
	h = json_pack("{s:s, s:n}", "alg", "ES256", "kid");
	expect_signed(h, good_claims(),
	    "jwt: kid is not a string of 1 to 128 bytes");
}

Test(jwtsvid, second_trust_domain)
{
	json_t	*c = good_claims();
	char	*tok;

	json_object_set_new(c, "sub", json_string("spiffe://B.TEST/partner"));
	tok = sign(svid_ca_jwt_key(ca_b), "ES256", json_pack("{s:s, s:s}",
	    "alg", "ES256", "kid", svid_ca_jwt_kid(ca_b)), c);
	expect(tok, NULL);
	free(tok);
}

/* ---- the header -------------------------------------------------------- */

Test(jwtsvid, alg_none)
{
	char	*tok;

	tok = raw_token("{\"alg\":\"none\"}",
	    "{\"sub\":\"spiffe://a.test/w\",\"aud\":\"" AUD "\","
	    "\"exp\":99999999999}", "");
	expect(tok, "jwt: algorithm none not allowed");
	free(tok);
	/* Even with a signature part. */
	tok = raw_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", "{}", "AAAA");
	expect(tok, "jwt: algorithm none not allowed");
	free(tok);
}

Test(jwtsvid, hs256_keyed_with_the_public_key_pem)
{
	struct nsreg_error	 err;
	unsigned char		 mac[EVP_MAX_MD_SIZE];
	unsigned int		 maclen = 0;
	char			*pem, *tok, *input, *sig, *dot;
	size_t			 n;

	/* The classic confusion: HMAC with the verifier's public key. */
	pem = svid_key_public_pem(svid_ca_jwt_key(ca_a), &err);
	cr_assert_not_null(pem);
	tok = raw_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    "{\"sub\":\"spiffe://a.test/w\",\"aud\":\"" AUD "\","
	    "\"exp\":99999999999}", "");
	dot = strrchr(tok, '.');
	input = strndup(tok, (size_t)(dot - tok));
	cr_assert_not_null(HMAC(EVP_sha256(), pem, (int)strlen(pem),
	    (const unsigned char *)input, strlen(input), mac, &maclen));
	sig = jose_b64_encode(mac, maclen, 1);
	n = strlen(input) + strlen(sig) + 2;
	free(tok);
	tok = malloc(n);
	snprintf(tok, n, "%s.%s", input, sig);
	expect(tok, "jwt: algorithm HS256 not allowed");
	free(tok);
	free(input);
	free(sig);
	free(pem);
}

Test(jwtsvid, other_algorithms_refused)
{
	static const char *const algs[] = { "HS384", "HS512", "EdDSA",
	    "ES256K", "RS1", "es256", "" };
	size_t	 i;
	char	 hdr[64], want[64], *tok;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", algs[i]);
		tok = raw_token(hdr, "{}", "AAAA");
		if (algs[i][0] != '\0')
			snprintf(want, sizeof(want),
			    "jwt: algorithm %s not allowed", algs[i]);
		else
			snprintf(want, sizeof(want),
			    "jwt: algorithm not allowed");
		expect(tok, want);
		free(tok);
	}
	tok = raw_token("{\"typ\":\"JWT\"}", "{}", "AAAA");
	expect(tok, "jwt: missing alg");
	free(tok);
	tok = raw_token("{\"alg\":256}", "{}", "AAAA");
	expect(tok, "jwt: alg is not a string");
	free(tok);
	/* The alg is judged before the rest of the header. */
	tok = raw_token("{\"crit\":[\"x\"],\"alg\":\"HS256\"}", "{}", "AAAA");
	expect(tok, "jwt: algorithm HS256 not allowed");
	free(tok);
}

Test(jwtsvid, alg_confusion_between_key_types)
{
	json_t	*h;
	char	*tok;

	/* An RSA alg naming a's EC key: refused before any signature. */
	h = good_header();
	json_object_set_new(h, "alg", json_string("RS256"));
	tok = sign(k_rsa, "RS256", h, good_claims());
	expect(tok, "jwt: key type does not fit RS256");
	free(tok);
	/* ES256 naming the P-384 key. */
	h = json_pack("{s:s, s:s}", "alg", "ES256", "kid", "p384");
	tok = sign(k_p384, "ES384", h, json_pack("{s:s, s:s, s:I}", "sub",
	    "spiffe://k.test/w", "aud", AUD, "exp",
	    (json_int_t)(now_s + 300)));
	expect(tok, "jwt: key type does not fit ES256");
	free(tok);
	/* PS256 signature presented as RS256, and the reverse. */
	h = json_pack("{s:s, s:s}", "alg", "RS256", "kid", "rsa");
	tok = sign(k_rsa, "PS256", h, json_pack("{s:s, s:s, s:I}", "sub",
	    "spiffe://k.test/w", "aud", AUD, "exp",
	    (json_int_t)(now_s + 300)));
	expect(tok, "jwt: bad signature");
	free(tok);
	h = json_pack("{s:s, s:s}", "alg", "PS256", "kid", "rsa");
	tok = sign(k_rsa, "RS256", h, json_pack("{s:s, s:s, s:I}", "sub",
	    "spiffe://k.test/w", "aud", AUD, "exp",
	    (json_int_t)(now_s + 300)));
	expect(tok, "jwt: bad signature");
	free(tok);
}

Test(jwtsvid, typ_other_than_jwt_or_jose)
{
	json_t	*h = good_header();

	json_object_set_new(h, "typ", json_string("jwt"));
	expect_signed(h, good_claims(), "jwt: typ must be JWT or JOSE");
	h = good_header();
	json_object_set_new(h, "typ", json_string("at+jwt"));
	expect_signed(h, good_claims(), "jwt: typ must be JWT or JOSE");
	h = good_header();
	json_object_set_new(h, "typ", json_integer(1));
	expect_signed(h, good_claims(), "jwt: typ must be JWT or JOSE");
}

Test(jwtsvid, header_parameters_beyond_alg_kid_typ)
{
	json_t	*h = good_header();

	json_object_set_new(h, "crit", json_pack("[s]", "exp"));
	expect_signed(h, good_claims(), "jwt: header parameter crit not "
	    "allowed");
	h = good_header();
	json_object_set_new(h, "jku", json_string("https://evil/jwks"));
	expect_signed(h, good_claims(), "jwt: header parameter jku not "
	    "allowed");
	h = good_header();
	json_object_set_new(h, "jwk", json_object());
	expect_signed(h, good_claims(), "jwt: header parameter jwk not "
	    "allowed");
}

Test(jwtsvid, kid_malformed)
{
	json_t	*h = good_header();

	json_object_set_new(h, "kid", json_integer(7));
	expect_signed(h, good_claims(),
	    "jwt: kid is not a string of 1 to 128 bytes");
	h = good_header();
	json_object_set_new(h, "kid", json_string(""));
	expect_signed(h, good_claims(),
	    "jwt: kid is not a string of 1 to 128 bytes");
}

/* ---- keys -------------------------------------------------------------- */

Test(jwtsvid, unknown_kid)
{
	json_t	*h = good_header();

	json_object_set_new(h, "kid", json_string("no-such-kid"));
	expect_signed(h, good_claims(), "jwt: unknown kid");
}

Test(jwtsvid, key_from_the_other_trust_domain)
{
	json_t	*h;
	char	*tok;

	/* sub in a.test, signed with b.test's key and kid. */
	h = json_pack("{s:s, s:s}", "alg", "ES256", "kid",
	    svid_ca_jwt_kid(ca_b));
	tok = sign(svid_ca_jwt_key(ca_b), "ES256", h, good_claims());
	expect(tok, "jwt: unknown kid");
	free(tok);
	/* With a.test's kid: a.test's key does not verify it. */
	h = json_pack("{s:s, s:s}", "alg", "ES256", "kid",
	    svid_ca_jwt_kid(ca_a));
	tok = sign(svid_ca_jwt_key(ca_b), "ES256", h, good_claims());
	expect(tok, "jwt: bad signature");
	free(tok);
	/* sub in b.test, signed with a.test's key and kid. */
	h = good_header();
	tok = sign(svid_ca_jwt_key(ca_a), "ES256", h, json_pack(
	    "{s:s, s:s, s:I}", "sub", "spiffe://b.test/w", "aud", AUD, "exp",
	    (json_int_t)(now_s + 300)));
	expect(tok, "jwt: unknown kid");
	free(tok);
}

Test(jwtsvid, unknown_trust_domain)
{
	json_t	*c = good_claims();

	json_object_set_new(c, "sub", json_string("spiffe://c.test/w"));
	expect_signed(good_header(), c, "jwt: no bundle for trust domain "
	    "c.test");
}

Test(jwtsvid, no_key_for_the_alg)
{
	json_t	*h = json_pack("{s:s, s:s}", "alg", "ES384", "kid",
	    svid_ca_jwt_kid(ca_a));
	char	*tok;

	/* a.test's only key is P-256: the kid names a key that cannot. */
	tok = sign(k_p384, "ES384", h, good_claims());
	expect(tok, "jwt: key type does not fit ES384");
	free(tok);
}

/* ---- signature --------------------------------------------------------- */

Test(jwtsvid, tampered_payload)
{
	char	*tok = sign_a(good_header(), good_claims());
	const char *claims = "{\"sub\":\"spiffe://a.test/admin\","
	    "\"aud\":\"" AUD "\",\"exp\":99999999999}";
	char	*forged, *dot1, *dot2, *c;
	size_t	 n;

	/* Same header and signature, claims for another workload. */
	dot1 = strchr(tok, '.');
	dot2 = strrchr(tok, '.');
	c = jose_b64_encode((const unsigned char *)claims, strlen(claims),
	    1);
	n = strlen(tok) + strlen(c) + 2;
	forged = malloc(n);
	snprintf(forged, n, "%.*s.%s%s", (int)(dot1 - tok), tok, c, dot2);
	expect(forged, "jwt: bad signature");
	free(forged);
	free(c);
	free(tok);
}

Test(jwtsvid, tampered_signature)
{
	char		*tok = sign_a(good_header(), good_claims());
	char		*sig = strrchr(tok, '.') + 1, *shorter, *forged;
	unsigned char	*raw;
	size_t		 rawlen, n;

	/* Flip one character in the middle (still base64url). */
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	expect(tok, "jwt: bad signature");
	/* A signature one byte short of ES256's 64. */
	cr_assert_eq(jose_b64_decode(sig, strlen(sig), 1, &raw, &rawlen),
	    0);
	cr_assert_eq(rawlen, 64);
	shorter = jose_b64_encode(raw, 63, 1);
	*sig = '\0';
	n = strlen(tok) + strlen(shorter) + 1;
	forged = malloc(n);
	snprintf(forged, n, "%s%s", tok, shorter);
	expect(forged, "jwt: bad signature");
	free(forged);
	free(shorter);
	free(raw);
	free(tok);
}

Test(jwtsvid, missing_signature)
{
	char	*tok = sign_a(good_header(), good_claims());

	strrchr(tok, '.')[1] = '\0';
	expect(tok, "jwt: missing signature");
	free(tok);
}

/* ---- claims ------------------------------------------------------------ */

Test(jwtsvid, expired)
{
	json_t	*c = good_claims();

	json_object_set_new(c, "exp", json_integer(now_s - 120));
	expect_signed(good_header(), c, "jwt: token expired");
	/* Within the 60 s leeway: still good. */
	c = good_claims();
	json_object_set_new(c, "exp", json_integer(now_s - 30));
	expect_signed(good_header(), c, NULL);
}

Test(jwtsvid, expiry_is_exact_at_the_leeway)
{
	json_t	*c = good_claims();
	char	*tok;

	json_object_set_new(c, "exp", json_integer(now_s + 10));
	tok = sign_a(good_header(), c);
	expect_with(NULL, tok, (now_s + 10) * 1000 + JWTSVID_LEEWAY_MS - 1,
	    NULL);
	expect_with(NULL, tok, (now_s + 10) * 1000 + JWTSVID_LEEWAY_MS,
	    "jwt: token expired");
	free(tok);
}

Test(jwtsvid, exp_missing_or_not_a_date)
{
	json_t	*c = good_claims();

	json_object_del(c, "exp");
	expect_signed(good_header(), c, "jwt: missing exp");
	c = good_claims();
	json_object_set_new(c, "exp", json_string("tomorrow"));
	expect_signed(good_header(), c, "jwt: exp is not a NumericDate");
	/* A NumericDate may have a fraction. */
	c = good_claims();
	json_object_set_new(c, "exp", json_real((double)now_s + 300.5));
	expect_signed(good_header(), c, NULL);
}

Test(jwtsvid, not_before)
{
	json_t	*c = good_claims();

	json_object_set_new(c, "nbf", json_integer(now_s + 120));
	expect_signed(good_header(), c, "jwt: token not yet valid");
	c = good_claims();
	json_object_set_new(c, "nbf", json_integer(now_s + 30));
	expect_signed(good_header(), c, NULL);
	c = good_claims();
	json_object_set_new(c, "nbf", json_string("now"));
	expect_signed(good_header(), c, "jwt: nbf is not a NumericDate");
}

Test(jwtsvid, issued_in_the_future)
{
	json_t	*c = good_claims();

	json_object_set_new(c, "iat", json_integer(now_s + 120));
	expect_signed(good_header(), c, "jwt: token issued in the future");
	c = good_claims();
	json_object_set_new(c, "iat", json_true());
	expect_signed(good_header(), c, "jwt: iat is not a NumericDate");
}

Test(jwtsvid, audience)
{
	json_t	*c = good_claims();

	json_object_del(c, "aud");
	expect_signed(good_header(), c, "jwt: missing aud");
	c = good_claims();
	json_object_set_new(c, "aud", json_string("spiffe://a.test/other"));
	expect_signed(good_header(), c, "jwt: audience mismatch");
	c = good_claims();
	json_object_set_new(c, "aud", json_pack("[s,s]", "x", AUD));
	expect_signed(good_header(), c, NULL);
	c = good_claims();
	json_object_set_new(c, "aud", json_pack("[s,s]", "x", "y"));
	expect_signed(good_header(), c, "jwt: audience mismatch");
	c = good_claims();
	json_object_set_new(c, "aud", json_array());
	expect_signed(good_header(), c, "jwt: missing aud");
	c = good_claims();
	json_object_set_new(c, "aud", json_integer(1));
	expect_signed(good_header(), c,
	    "jwt: aud is not a string or an array of strings");
	c = good_claims();
	json_object_set_new(c, "aud", json_pack("[s,i]", AUD, 1));
	expect_signed(good_header(), c,
	    "jwt: aud is not a string or an array of strings");
	/* Case matters: audiences are compared exactly. */
	c = good_claims();
	json_object_set_new(c, "aud", json_string("SPIFFE://a.test/nsregd"));
	expect_signed(good_header(), c, "jwt: audience mismatch");
}

Test(jwtsvid, subject)
{
	json_t	*c = good_claims();

	json_object_del(c, "sub");
	expect_signed(good_header(), c, "jwt: missing sub");
	c = good_claims();
	json_object_set_new(c, "sub", json_integer(5));
	expect_signed(good_header(), c, "jwt: sub is not a string");
	c = good_claims();
	json_object_set_new(c, "sub", json_string("spiffe://a.test/a/../b"));
	expect_signed(good_header(), c,
	    "jwt: sub is not a valid SPIFFE ID: path has a . or .. segment");
	c = good_claims();
	json_object_set_new(c, "sub", json_string("https://a.test/w"));
	expect_signed(good_header(), c, "jwt: sub is not a valid SPIFFE ID: "
	    "scheme must be spiffe followed by //");
	c = good_claims();
	json_object_set_new(c, "sub", json_string("spiffe://a.test"));
	expect_signed(good_header(), c, "jwt: sub has no path");
	c = good_claims();
	json_object_set_new(c, "sub", json_string("SPIFFE://A.TEST"));
	expect_signed(good_header(), c, "jwt: sub has no path");
	c = good_claims();
	json_object_set_new(c, "sub", json_string("spiffe://a.test/w?x=1"));
	expect_signed(good_header(), c,
	    "jwt: sub is not a valid SPIFFE ID: query is not allowed");
}

/* ---- serialization ----------------------------------------------------- */

Test(jwtsvid, malformed_tokens)
{
	char	*good = sign_a(good_header(), good_claims());
	char	 buf[8192], *tok;

	expect("", "jwt: malformed token");
	expect("abc", "jwt: malformed token");
	expect("a.b", "jwt: malformed token");
	expect("a.b.c.d", "jwt: malformed token");
	expect("a.b.c.d.e", "jwt: malformed token");
	expect("{\"payload\":\"x\",\"signatures\":[]}",
	    "jwt: not a compact JWS");
	expect("eyJ=.eyJ.AAAA", "jwt: malformed token");
	expect("ey J.eyJ.AAAA", "jwt: malformed token");
	expect(".eyJ.AAAA", "jwt: malformed header");
	expect("AAAA.eyJ.AAAA", "jwt: malformed header");
	tok = raw_token("[\"alg\"]", "{}", "AAAA");
	expect(tok, "jwt: malformed header");
	free(tok);
	tok = raw_token("{\"alg\":\"ES256\",\"alg\":\"ES256\"}", "{}",
	    "AAAA");
	expect(tok, "jwt: malformed header");
	free(tok);
	tok = raw_token("{\"alg\":\"ES256\",\"kid\":\"k\"}", "not json", "AAAA");
	expect(tok, "jwt: malformed claims");
	free(tok);
	tok = raw_token("{\"alg\":\"ES256\",\"kid\":\"k\"}",
	    "{\"sub\":\"spiffe://a.test/w\",\"sub\":\"spiffe://a.test/x\"}",
	    "AAAA");
	expect(tok, "jwt: malformed claims");
	free(tok);
	tok = raw_token("{\"alg\":\"ES256\",\"kid\":\"k\"}",
	    "{\"sub\":\"spiffe://a.test/w\"}",
	    "A");
	expect(tok, "jwt: malformed signature");
	free(tok);
	/* Over the size limit. */
	memset(buf, 'A', sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	{
		struct nsreg_error	 err;
		struct principal	 p;

		memset(&p, 0, sizeof(p));
		cr_assert_eq(jwtsvid_verify(NULL, trust, AUD, buf,
		    JWTSVID_TOKEN_MAX + 1, now, &p, &err), -1);
		cr_assert_str_eq(err.message,
		    "jwt: token longer than 16384 bytes");
	}
	free(good);
}

/* ---- the cache --------------------------------------------------------- */

Test(jwtsvid, cache_hit_costs_no_verification)
{
	struct nsreg_error	 err;
	struct tokcache	*c = tokcache_new(16);
	struct principal	 p1, p2;
	uint64_t		 hits, misses;
	char			*tok = sign_a(good_header(), good_claims());

	memset(&p1, 0, sizeof(p1));
	memset(&p2, 0, sizeof(p2));
	cr_assert_eq(jwtsvid_verify(c, trust, AUD, tok, strlen(tok), now,
	    &p1, &err), 0, "%s", err.message);
	cr_assert_eq(jwtsvid_verify(c, trust, AUD, tok, strlen(tok), now,
	    &p2, &err), 0, "%s", err.message);
	tokcache_stats(c, &hits, &misses);
	cr_assert_eq(hits, 1);
	cr_assert_eq(misses, 1);
	cr_assert_str_eq(p1.id, p2.id);
	cr_assert_str_eq(p2.trust_domain, "a.test");
	cr_assert_eq(p1.path_off, p2.path_off);
	cr_assert_eq(p1.expires_at, p2.expires_at);
	cr_assert(json_equal(p1.claims, p2.claims));
	principal_clear(&p1);
	principal_clear(&p2);
	tokcache_free(c);
	free(tok);
}

Test(jwtsvid, cache_forgets_expired_tokens)
{
	struct tokcache	*c = tokcache_new(16);
	json_t			*claims = good_claims();
	char			*tok;

	json_object_set_new(claims, "exp", json_integer(now_s + 5));
	tok = sign_a(good_header(), claims);
	expect_with(c, tok, now, NULL);
	expect_with(c, tok, now + 5000 + JWTSVID_LEEWAY_MS,
	    "jwt: token expired");
	tokcache_free(c);
	free(tok);
}

Test(jwtsvid, cache_is_per_audience)
{
	struct nsreg_error	 err;
	struct tokcache	*c = tokcache_new(16);
	struct principal	 p;
	char			*tok = sign_a(good_header(), good_claims());

	memset(&p, 0, sizeof(p));
	expect_with(c, tok, now, NULL);
	cr_assert_eq(jwtsvid_verify(c, trust, "spiffe://a.test/other", tok,
	    strlen(tok), now, &p, &err), -1);
	cr_assert_str_eq(err.message, "jwt: audience mismatch");
	tokcache_free(c);
	free(tok);
}

Test(jwtsvid, cache_follows_bundle_replacement)
{
	struct nsreg_error	 err;
	struct tokcache	*c = tokcache_new(16);
	struct svid_ca		*rotated;
	struct bundle		*b;
	uint64_t		 hits, misses;
	char			*tok = sign_a(good_header(), good_claims());

	expect_with(c, tok, now, NULL);
	expect_with(c, tok, now, NULL);
	tokcache_stats(c, &hits, &misses);
	cr_assert_eq(hits, 1);
	/* a.test's keys rotate: the cached token is checked again. */
	rotated = svid_ca_generate("a.test", now, 0, &err);
	b = svid_ca_bundle(rotated, &err);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	expect_with(c, tok, now, "jwt: unknown kid");
	/* Rotated back (a new bundle object): verified again, then cached. */
	bundle_unref(b);
	b = svid_ca_bundle(ca_a, &err);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	expect_with(c, tok, now, NULL);
	expect_with(c, tok, now, NULL);
	tokcache_stats(c, &hits, &misses);
	cr_assert_eq(hits, 2);
	cr_assert_eq(misses, 3);
	bundle_unref(b);
	svid_ca_free(rotated);
	tokcache_free(c);
	free(tok);
}

Test(jwtsvid, cache_is_bounded)
{
	struct tokcache	*c = tokcache_new(8);
	uint64_t		 hits, misses;
	char			*toks[64];
	size_t			 i;

	for (i = 0; i < 64; i++) {
		json_t	*claims = good_claims();
		char	 sub[64];

		snprintf(sub, sizeof(sub), "spiffe://a.test/w%zu", i);
		json_object_set_new(claims, "sub", json_string(sub));
		toks[i] = sign_a(good_header(), claims);
		expect_with(c, toks[i], now, NULL);
	}
	/* Room for 8 is 16 slots (twice, in sets of 16): at most 16 of the
	 * 64 can still be there. */
	for (i = 0; i < 64; i++)
		expect_with(c, toks[i], now, NULL);
	tokcache_stats(c, &hits, &misses);
	cr_assert_leq(hits, 16);
	cr_assert_eq(hits + misses, 128);
	tokcache_flush(c);
	for (i = 0; i < 64; i++) {
		expect_with(c, toks[i], now, NULL);
		free(toks[i]);
	}
	tokcache_free(c);
}

Test(jwtsvid, cache_disabled_with_zero)
{
	struct tokcache	*c = tokcache_new(0);
	uint64_t		 hits, misses;
	char			*tok = sign_a(good_header(), good_claims());

	expect_with(c, tok, now, NULL);
	expect_with(c, tok, now, NULL);
	tokcache_stats(c, &hits, &misses);
	cr_assert_eq(hits, 0);
	cr_assert_eq(misses, 2);
	tokcache_free(c);
	free(tok);
}

Test(jwtsvid, failures_are_not_cached)
{
	struct tokcache	*c = tokcache_new(16);
	uint64_t		 hits, misses;
	json_t			*claims = good_claims();
	char			*tok;

	json_object_set_new(claims, "aud", json_string("elsewhere"));
	tok = sign_a(good_header(), claims);
	expect_with(c, tok, now, "jwt: audience mismatch");
	expect_with(c, tok, now, "jwt: audience mismatch");
	tokcache_stats(c, &hits, &misses);
	cr_assert_eq(hits, 0);
	tokcache_free(c);
	free(tok);
}

struct worker {
	struct tokcache	*cache;
	char			**toks;
	size_t			  n;
	int			  bad;
};

static void *
worker_run(void *arg)
{
	struct worker		*w = arg;
	struct nsreg_error	 err;
	struct principal	 p;
	size_t			 i;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < 2000; i++) {
		const char	*t = w->toks[i % w->n];

		if (jwtsvid_verify(w->cache, trust, AUD, t, strlen(t), now,
		    &p, &err) != 0 || p.claims == NULL)
			w->bad++;
		principal_clear(&p);
	}
	return NULL;
}

/* Threads share one small cache: hits, misses and evictions race. */
Test(jwtsvid, cache_shared_by_threads)
{
	struct tokcache	*c = tokcache_new(8);
	struct worker		 w[4];
	pthread_t		 th[4];
	char			*toks[24];
	size_t			 i;

	for (i = 0; i < 24; i++) {
		json_t	*claims = good_claims();
		char	 sub[64];

		snprintf(sub, sizeof(sub), "spiffe://a.test/t%zu", i);
		json_object_set_new(claims, "sub", json_string(sub));
		toks[i] = sign_a(good_header(), claims);
	}
	for (i = 0; i < 4; i++) {
		w[i].cache = c;
		w[i].toks = toks;
		w[i].n = 6 + i * 6;
		w[i].bad = 0;
		pthread_create(&th[i], NULL, worker_run, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].bad, 0);
	}
	for (i = 0; i < 24; i++)
		free(toks[i]);
	tokcache_free(c);
}
