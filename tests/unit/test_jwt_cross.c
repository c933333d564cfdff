/*
 * test_jwt_cross.c - our JWS code against an independent implementation,
 * libjwt 1.10 (DESIGN section 7): JWT-SVIDs and grant tokens we sign,
 * libjwt verifies; tokens libjwt signs, we verify; a token changed in
 * one character, neither accepts.  libjwt is only a second opinion, never
 * the server's verifier: it needs the key as PEM, refuses typ JOSE,
 * checks no exp and no aud (checked here by hand), and accepts HS256
 * keyed with a public key's PEM -- the cases below pin each of those.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "bundle.h"
#include "grant.h"
#include "jose.h"
#include "jwtsvid.h"
#include "principal.h"
#include "trust.h"
#include "util.h"

#define AUD	"spiffe://example.org/nsreg"
#define SUB	"spiffe://example.org/ns/default/sa/web"
#define NOW_S	INT64_C(1800000000)

/* One kind of key and the algorithm both sides sign it with. */
static const struct cross_case {
	const char	*alg;
	jwt_alg_t	 jalg;
	const char	*crv;		/* NULL: RSA 2048 */
} cross_cases[] = {
	{ .alg = "ES256", .jalg = JWT_ALG_ES256, .crv = "P-256" },
	{ .alg = "ES384", .jalg = JWT_ALG_ES384, .crv = "P-384" },
	{ .alg = "ES512", .jalg = JWT_ALG_ES512, .crv = "P-521" },
	{ .alg = "RS256", .jalg = JWT_ALG_RS256 },
	{ .alg = "RS384", .jalg = JWT_ALG_RS384 },
	{ .alg = "RS512", .jalg = JWT_ALG_RS512 },
};

#define NCASES	(sizeof(cross_cases) / sizeof(cross_cases[0]))

/* A key, its PEMs, its kid, and a trust set holding it as a jwt-svid key
 * of example.org. */
struct cross_key {
	EVP_PKEY	*pk;
	char		*pub_pem;
	char		*priv_pem;
	char		 kid[64];
	struct trust	*trust;
};

static char *
pem_of(EVP_PKEY *pk, int private)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*mem, *out;
	long	 len;

	cr_assert(private ? PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0,
	    NULL, NULL) : PEM_write_bio_PUBKEY(bio, pk));
	len = BIO_get_mem_data(bio, &mem);
	out = calloc(1, (size_t)len + 1);
	memcpy(out, mem, (size_t)len);
	BIO_free(bio);
	return out;
}

static void
key_make(struct cross_key *k, const struct cross_case *c)
{
	struct nsreg_error	 err;
	struct bundle		*b;
	json_t			*jwk, *doc;
	char			*text;

	k->pk = c->crv != NULL ? EVP_EC_gen(c->crv) : EVP_RSA_gen(2048);
	cr_assert_not_null(k->pk);
	k->pub_pem = pem_of(k->pk, 0);
	k->priv_pem = pem_of(k->pk, 1);
	cr_assert_eq(jose_pkey_thumbprint(k->pk, k->kid, sizeof(k->kid)), 0);
	jwk = json_pack("{s:s, s:s}", "use", "jwt-svid", "kid", k->kid);
	cr_assert_eq(jose_jwk_params(k->pk, jwk), 0);
	doc = json_pack("{s:[o]}", "keys", jwk);
	text = json_dumps(doc, JSON_COMPACT);
	cr_assert_not_null(b = bundle_parse("example.org", text, strlen(text),
	    BUNDLE_FORMAT_SPIFFE, &err), "%s", err.message);
	cr_assert_not_null(k->trust = trust_new("example.org", &err));
	cr_assert_eq(trust_set(k->trust, b, &err), 0);
	bundle_unref(b);
	free(text);
	json_decref(doc);
}

static void
key_free(struct cross_key *k)
{
	EVP_PKEY_free(k->pk);
	free(k->pub_pem);
	free(k->priv_pem);
	trust_free(k->trust);
}

/* A JWT-SVID signed by our code (jose_sign) with header typ. */
static char *
our_token(const struct cross_key *k, const char *alg, const char *typ,
    int64_t exp_s, const char *aud)
{
	const struct jose_alg	*a = jose_alg_lookup(alg, JOSE_ALGS_JWTSVID);
	struct nsreg_error	 err;
	EVP_MD_CTX		*ctx;
	json_t			*hdr, *claims;
	char			*tok;

	cr_assert_not_null(a);
	hdr = json_pack("{s:s, s:s, s:s}", "alg", alg, "kid", k->kid, "typ",
	    typ);
	claims = json_pack("{s:s, s:s, s:I, s:I}", "sub", SUB, "aud", aud,
	    "exp", (json_int_t)exp_s, "iat", (json_int_t)(NOW_S - 10));
	cr_assert_not_null(ctx = jose_sign_init(k->pk, a));
	tok = jose_sign(ctx, a, hdr, claims, &err);
	cr_assert_not_null(tok, "%s", err.message);
	EVP_MD_CTX_free(ctx);
	json_decref(hdr);
	json_decref(claims);
	return tok;
}

/* Our verdict on a JWT-SVID: 0 accepted, -1 refused. */
static int
our_verify(const struct cross_key *k, const char *tok)
{
	struct nsreg_error	 err;
	struct principal	 p;
	int			 rc;

	memset(&p, 0, sizeof(p));
	rc = jwtsvid_verify(NULL, k->trust, AUD, tok, strlen(tok),
	    NOW_S * 1000, &p, &err);
	if (rc == 0)
		cr_expect_str_eq(p.id, SUB);
	principal_clear(&p);
	return rc;
}

/*
 * libjwt's verdict: 0 when it verifies the signature with pem AND the
 * checks libjwt does not make (exp in the future, aud ours, the alg we
 * expect) hold; -1 when libjwt refuses; -2 when only our extra checks
 * fail.
 */
static int
libjwt_verify(const char *pem, const char *tok, jwt_alg_t want)
{
	jwt_t		*j = NULL;
	const char	*aud;
	int		 rc = -1;

	if (jwt_decode(&j, tok, (const unsigned char *)pem,
	    (int)strlen(pem)) != 0 || j == NULL)
		goto out;
	rc = -2;
	if (jwt_get_alg(j) != want)
		goto out;
	if (jwt_get_grant_int(j, "exp") <= NOW_S)
		goto out;
	aud = jwt_get_grant(j, "aud");
	if (aud == NULL || strcmp(aud, AUD) != 0)
		goto out;
	rc = 0;
out:
	jwt_free(j);
	return rc;
}

/* tok with one character of its payload changed (a new string). */
static char *
tampered(const char *tok)
{
	char	*t = strdup(tok), *d = strchr(t, '.');

	d[3] = d[3] == 'A' ? 'B' : 'A';
	return t;
}

Test(jwt_cross, jwtsvids_we_sign_libjwt_verifies)
{
	struct cross_key	 k;
	char			*tok, *bad;
	size_t			 i;

	for (i = 0; i < NCASES; i++) {
		key_make(&k, &cross_cases[i]);
		tok = our_token(&k, cross_cases[i].alg, "JWT", NOW_S + 300,
		    AUD);
		cr_expect_eq(our_verify(&k, tok), 0, "%s", cross_cases[i].alg);
		cr_expect_eq(libjwt_verify(k.pub_pem, tok,
		    cross_cases[i].jalg), 0, "%s", cross_cases[i].alg);
		bad = tampered(tok);
		cr_expect_eq(our_verify(&k, bad), -1, "%s", cross_cases[i].alg);
		cr_expect_eq(libjwt_verify(k.pub_pem, bad,
		    cross_cases[i].jalg), -1, "%s", cross_cases[i].alg);
		free(bad);
		free(tok);
		key_free(&k);
	}
}

Test(jwt_cross, jwtsvids_libjwt_signs_we_verify)
{
	struct cross_key	 k;
	jwt_t			*j;
	char			*tok, *bad;
	size_t			 i;

	for (i = 0; i < NCASES; i++) {
		key_make(&k, &cross_cases[i]);
		cr_assert_eq(jwt_new(&j), 0);
		cr_assert_eq(jwt_add_header(j, "kid", k.kid), 0);
		cr_assert_eq(jwt_add_grant(j, "sub", SUB), 0);
		cr_assert_eq(jwt_add_grant(j, "aud", AUD), 0);
		cr_assert_eq(jwt_add_grant_int(j, "exp", NOW_S + 300), 0);
		cr_assert_eq(jwt_add_grant_int(j, "iat", NOW_S - 10), 0);
		cr_assert_eq(jwt_set_alg(j, cross_cases[i].jalg,
		    (const unsigned char *)k.priv_pem,
		    (int)strlen(k.priv_pem)), 0);
		cr_assert_not_null(tok = jwt_encode_str(j));
		cr_expect_eq(our_verify(&k, tok), 0, "%s: %s",
		    cross_cases[i].alg, tok);
		bad = tampered(tok);
		cr_expect_eq(our_verify(&k, bad), -1, "%s", cross_cases[i].alg);
		free(bad);
		free(tok);
		jwt_free(j);
		key_free(&k);
	}
}

/* What libjwt does not check, we do: exp and aud. */
Test(jwt_cross, expiry_and_audience_are_ours_to_check)
{
	struct cross_key	 k;
	char			*tok;

	key_make(&k, &cross_cases[0]);
	tok = our_token(&k, "ES256", "JWT", NOW_S - 120, AUD);
	cr_expect_eq(libjwt_verify(k.pub_pem, tok, JWT_ALG_ES256), -2,
	    "libjwt verified the signature; exp is checked by hand");
	cr_expect_eq(our_verify(&k, tok), -1);
	free(tok);
	tok = our_token(&k, "ES256", "JWT", NOW_S + 300,
	    "spiffe://example.org/other");
	cr_expect_eq(libjwt_verify(k.pub_pem, tok, JWT_ALG_ES256), -2);
	cr_expect_eq(our_verify(&k, tok), -1);
	free(tok);
	key_free(&k);
}

/* JWT-SVID 2.3 allows typ JOSE; libjwt 1.10 refuses it, we do not. */
Test(jwt_cross, typ_jose_is_a_jwt_svid)
{
	struct cross_key	 k;
	char			*tok;

	key_make(&k, &cross_cases[0]);
	tok = our_token(&k, "ES256", "JOSE", NOW_S + 300, AUD);
	cr_expect_eq(our_verify(&k, tok), 0);
	cr_expect_eq(libjwt_verify(k.pub_pem, tok, JWT_ALG_ES256), -1);
	free(tok);
	key_free(&k);
}

/* Algorithm confusion: HS256 keyed with the public key's PEM, which
 * libjwt 1.10 accepts and we refuse before looking at the key. */
Test(jwt_cross, hs256_keyed_with_the_public_pem)
{
	struct cross_key	 k;
	jwt_t			*j, *d = NULL;
	char			*tok;

	key_make(&k, &cross_cases[0]);
	cr_assert_eq(jwt_new(&j), 0);
	cr_assert_eq(jwt_add_header(j, "kid", k.kid), 0);
	cr_assert_eq(jwt_add_grant(j, "sub", SUB), 0);
	cr_assert_eq(jwt_add_grant(j, "aud", AUD), 0);
	cr_assert_eq(jwt_add_grant_int(j, "exp", NOW_S + 300), 0);
	cr_assert_eq(jwt_set_alg(j, JWT_ALG_HS256,
	    (const unsigned char *)k.pub_pem, (int)strlen(k.pub_pem)), 0);
	cr_assert_not_null(tok = jwt_encode_str(j));
	cr_expect_eq(jwt_decode(&d, tok, (const unsigned char *)k.pub_pem,
	    (int)strlen(k.pub_pem)), 0, "libjwt 1.10 takes the forgery");
	jwt_free(d);
	cr_expect_eq(our_verify(&k, tok), -1);
	free(tok);
	jwt_free(j);
	key_free(&k);
}

/* RFC 7515 A.3, somebody else's ES256 token: libjwt verifies it with the
 * PEM our JWK reader made of the RFC's key. */
Test(jwt_cross, rfc7515_a3_with_our_key)
{
	static const char	 token[] =
	    "eyJhbGciOiJFUzI1NiJ9"
	    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
	    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
	    "pmWQxfKTUJqPP3-Kg6NU1Q";
	struct nsreg_error	 err;
	EVP_PKEY		*pk;
	json_t			*jwk;
	jwt_t			*j = NULL;
	char			*pem;

	jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
	    "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y",
	    "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
	cr_assert_eq(jose_jwk_to_pkey(jwk, "a3", 0, &pk, &err), 1);
	pem = pem_of(pk, 0);
	cr_expect_eq(jwt_decode(&j, token, (const unsigned char *)pem,
	    (int)strlen(pem)), 0);
	cr_expect_str_eq(jwt_get_grant(j, "iss"), "joe");
	jwt_free(j);
	free(pem);
	EVP_PKEY_free(pk);
	json_decref(jwk);
}

/* ---- grant tokens -------------------------------------------------------- */

static char	grant_dir[] = "/tmp/nsreg-jwt-cross.XXXXXX";

static void
grant_setup(void)
{
	cr_assert_not_null(mkdtemp(grant_dir));
}

static void
grant_teardown(void)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/grant.key", grant_dir);
	unlink(path);
	rmdir(grant_dir);
}

Test(jwt_cross, grant_tokens_both_ways, .init = grant_setup,
    .fini = grant_teardown)
{
	struct nsreg_error	 err;
	struct grant_key	*k;
	struct grant_keyset	*ks;
	EVP_PKEY		*pub;
	json_t			*jwk, *keys, *claims, *c;
	jwt_t			*j = NULL;
	char			 path[512], why[128], kid[GRANT_KID_MAX];
	char			*tok, *pem, *priv, *bad, *text;
	size_t			 len;

	snprintf(path, sizeof(path), "%s/grant.key", grant_dir);
	cr_assert_not_null(k = grant_key_load(path, 1, &err), "%s",
	    err.message);
	jwk = grant_key_jwk(k);
	cr_assert_eq(jose_jwk_to_pkey(jwk, "grant", 0, &pub, &err), 1);
	pem = pem_of(pub, 0);
	keys = json_pack("[O]", jwk);
	cr_assert_not_null(ks = grant_keyset_new(keys, &err));
	claims = json_pack("{s:s, s:s, s:I, s:s}", "iss", "nsreg-a", "sub",
	    SUB, "exp", (json_int_t)(NOW_S + 300), "jti", "g-1");

	/* Ours signs; libjwt verifies, reads the same claims and kid. */
	cr_assert_not_null(tok = grant_sign(k, claims, &err));
	cr_assert_eq(jwt_decode(&j, tok, (const unsigned char *)pem,
	    (int)strlen(pem)), 0);
	cr_expect_eq(jwt_get_alg(j), JWT_ALG_ES256);
	cr_expect_str_eq(jwt_get_header(j, "kid"), grant_key_kid(k));
	cr_expect_str_eq(jwt_get_grant(j, "sub"), SUB);
	cr_expect_str_eq(jwt_get_grant(j, "jti"), "g-1");
	cr_expect_eq(jwt_get_grant_int(j, "exp"), NOW_S + 300);
	jwt_free(j);
	j = NULL;
	bad = tampered(tok);
	cr_expect_neq(jwt_decode(&j, bad, (const unsigned char *)pem,
	    (int)strlen(pem)), 0);
	jwt_free(j);
	j = NULL;
	cr_expect_null(grant_verify(ks, bad, NULL, why, sizeof(why)));
	free(bad);
	free(tok);

	/* libjwt signs with the grant key file; ours verifies. */
	cr_assert_not_null(priv = util_file_read(path, 65536, &len));
	cr_assert_eq(jwt_new(&j), 0);
	cr_assert_eq(jwt_add_header(j, "kid", grant_key_kid(k)), 0);
	text = json_dumps(claims, JSON_COMPACT);
	cr_assert_eq(jwt_add_grants_json(j, text), 0);
	cr_assert_eq(jwt_set_alg(j, JWT_ALG_ES256, (unsigned char *)priv,
	    (int)len), 0);
	cr_assert_not_null(tok = jwt_encode_str(j));
	c = grant_verify(ks, tok, kid, why, sizeof(why));
	cr_assert_not_null(c, "%s: %s", why, tok);
	cr_expect(json_equal(c, claims));
	cr_expect_str_eq(kid, grant_key_kid(k));
	json_decref(c);
	free(tok);
	jwt_free(j);

	explicit_bzero(priv, len);
	free(priv);
	free(text);
	free(pem);
	EVP_PKEY_free(pub);
	json_decref(claims);
	json_decref(keys);
	json_decref(jwk);
	grant_keyset_unref(ks);
	grant_key_unref(k);
}
