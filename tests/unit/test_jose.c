/*
 * test_jose.c - the JOSE module against the RFC examples: RFC 4648
 * section 10 and RFC 7515 appendix C (base64url), RFC 7517 (JWK <-> key
 * round trips), RFC 7638 section 3.1 (thumbprint), RFC 7515 appendix A.3
 * (an ES256 signature made elsewhere), and the algorithm allow-list.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "jose.h"

/* ---- base64 -------------------------------------------------------------- */

/* RFC 4648 section 10, both alphabets: lengths 0 to 3 mod 4 of output. */
Test(jose, base64_rfc4648_vectors)
{
	static const struct {
		const char	*plain;
		const char	*b64;
		const char	*b64url;
	} v[] = {
		{ .plain = "", .b64 = "", .b64url = "" },
		{ .plain = "f", .b64 = "Zg==", .b64url = "Zg" },
		{ .plain = "fo", .b64 = "Zm8=", .b64url = "Zm8" },
		{ .plain = "foo", .b64 = "Zm9v", .b64url = "Zm9v" },
		{ .plain = "foob", .b64 = "Zm9vYg==", .b64url = "Zm9vYg" },
		{ .plain = "fooba", .b64 = "Zm9vYmE=", .b64url = "Zm9vYmE" },
		{ .plain = "foobar", .b64 = "Zm9vYmFy", .b64url = "Zm9vYmFy" },
	};
	unsigned char	*out;
	char		*enc;
	size_t		 i, len;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		enc = jose_b64_encode((const unsigned char *)v[i].plain,
		    strlen(v[i].plain), 0);
		cr_assert_str_eq(enc, v[i].b64);
		free(enc);
		enc = jose_b64_encode((const unsigned char *)v[i].plain,
		    strlen(v[i].plain), 1);
		cr_assert_str_eq(enc, v[i].b64url);
		free(enc);
		cr_assert_eq(jose_b64_decode(v[i].b64, strlen(v[i].b64), 0,
		    &out, &len), 0);
		cr_assert_eq(len, strlen(v[i].plain));
		cr_assert_eq(memcmp(out, v[i].plain, len), 0);
		free(out);
		cr_assert_eq(jose_b64_decode(v[i].b64url,
		    strlen(v[i].b64url), 1, &out, &len), 0);
		cr_assert_eq(len, strlen(v[i].plain));
		cr_assert_eq(memcmp(out, v[i].plain, len), 0);
		free(out);
	}
}

/* RFC 7515 appendix C: the octets 3 236 255 224 193 are "A-z_4ME". */
Test(jose, base64url_rfc7515_appendix_c)
{
	static const unsigned char	 octets[] = { 3, 236, 255, 224, 193 };
	unsigned char			*out;
	char				*enc;
	size_t				 len;

	enc = jose_b64_encode(octets, sizeof(octets), 1);
	cr_assert_str_eq(enc, "A-z_4ME");
	free(enc);
	cr_assert_eq(jose_b64_decode("A-z_4ME", 7, 1, &out, &len), 0);
	cr_assert_eq(len, sizeof(octets));
	cr_assert_eq(memcmp(out, octets, len), 0);
	free(out);
	/* The same octets in the other alphabet are not base64url. */
	cr_assert_eq(jose_b64_decode("A+z/4ME", 7, 1, &out, &len), -1);
	cr_assert_null(out);
}

/* What base64url refuses: padding, foreign bytes, a length of 1 mod 4,
 * stray bits after the last byte. */
Test(jose, base64url_refusals)
{
	static const struct {
		const char	*in;
		int		 url;
		int		 ok;
	} v[] = {
		{ .in = "Zm9vYg", .url = 1, .ok = 1 },
		{ .in = "Zg==", .url = 1, .ok = 0 },	/* padding */
		{ .in = "Zg=", .url = 1, .ok = 0 },
		{ .in = "Zm9vYg==", .url = 1, .ok = 0 },
		{ .in = "Zm9v+g", .url = 1, .ok = 0 },	/* base64 only */
		{ .in = "Zm9v/g", .url = 1, .ok = 0 },
		{ .in = "Zm 9", .url = 1, .ok = 0 },	/* whitespace */
		{ .in = "Zm9v\n", .url = 0, .ok = 0 },
		{ .in = "Zm.9", .url = 1, .ok = 0 },
		{ .in = "Z", .url = 1, .ok = 0 },	/* 1 mod 4 */
		{ .in = "Zm9vY", .url = 1, .ok = 0 },
		{ .in = "Zh", .url = 1, .ok = 0 },	/* stray bits */
		{ .in = "Zm9vYh", .url = 1, .ok = 0 },
		{ .in = "Zm8", .url = 1, .ok = 1 },	/* 3 mod 4 */
		{ .in = "Zm8=", .url = 1, .ok = 0 },
		{ .in = "-_8", .url = 1, .ok = 1 },
		{ .in = "-_8", .url = 0, .ok = 0 },
		{ .in = "+/8", .url = 0, .ok = 1 },
		{ .in = "Zg=", .url = 0, .ok = 0 },	/* short padding */
		{ .in = "Zm9v=", .url = 0, .ok = 0 },
		{ .in = "Zg==", .url = 0, .ok = 1 },
	};
	unsigned char	*out;
	size_t		 i, len;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_expect_eq(jose_b64_decode(v[i].in, strlen(v[i].in),
		    v[i].url, &out, &len), v[i].ok ? 0 : -1, "%s (url %d)",
		    v[i].in, v[i].url);
		free(out);
	}
	cr_assert_eq(jose_b64_decode("_-8", 3, 1, &out, &len), 0);
	cr_assert_eq(len, 2);
	cr_assert(out[0] == 0xff && out[1] == 0xef);
	free(out);
}

Test(jose, b64url_object_takes_json_objects_only)
{
	json_t	*j;

	/* {"a":1} and [1] and {"a":1,"a":2}. */
	cr_assert_not_null(j = jose_b64url_object("eyJhIjoxfQ", 10));
	cr_assert_eq(json_integer_value(json_object_get(j, "a")), 1);
	json_decref(j);
	cr_assert_null(jose_b64url_object("WzFd", 4));
	cr_assert_null(jose_b64url_object("eyJhIjoxLCJhIjoyfQ", 18));
	cr_assert_null(jose_b64url_object("", 0));
	cr_assert_null(jose_b64url_object("eyJhIjoxfQ==", 12));
}

/* ---- JWK ----------------------------------------------------------------- */

static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86z"
    "wu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5Js"
    "GY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMic"
    "AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
    "Cur-kEgU8awapJzKnqDKgw";

/* RFC 7638 section 3.1: the RSA key whose thumbprint is given. */
Test(jose, thumbprint_rfc7638_example)
{
	struct nsreg_error	 err;
	EVP_PKEY		*pk;
	json_t			*jwk;
	char			 tp[64];

	jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n",
	    rfc7638_n, "e", "AQAB", "alg", "RS256", "kid", "2011-04-29");
	cr_assert_eq(jose_jwk_thumbprint(jwk, tp, sizeof(tp)), 0);
	cr_assert_str_eq(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* The key read from the JWK gives the same thumbprint back. */
	cr_assert_eq(jose_jwk_to_pkey(jwk, "k", 0, &pk, &err), 1, "%s",
	    err.message);
	memset(tp, 0, sizeof(tp));
	cr_assert_eq(jose_pkey_thumbprint(pk, tp, sizeof(tp)), 0);
	cr_assert_str_eq(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	EVP_PKEY_free(pk);
	/* Too small a buffer, an unknown kty, a missing member. */
	cr_assert_eq(jose_jwk_thumbprint(jwk, tp, JOSE_THUMBPRINT_LEN), -1);
	json_object_set_new(jwk, "kty", json_string("oct"));
	cr_assert_eq(jose_jwk_thumbprint(jwk, tp, sizeof(tp)), -1);
	json_object_set_new(jwk, "kty", json_string("RSA"));
	json_object_del(jwk, "e");
	cr_assert_eq(jose_jwk_thumbprint(jwk, tp, sizeof(tp)), -1);
	json_decref(jwk);
}

/* RFC 7517: a key written as a JWK and read back is the same key, for
 * each key type and curve the module speaks. */
Test(jose, jwk_round_trips)
{
	static const struct {
		const char	*what;
		const char	*crv;		/* NULL: RSA */
		int		 nid;
		size_t		 coord;		/* base64url characters */
	} v[] = {
		{ .what = "P-256", .crv = "P-256", .nid = NID_X9_62_prime256v1,
		  .coord = 43 },
		{ .what = "P-384", .crv = "P-384", .nid = NID_secp384r1,
		  .coord = 64 },
		{ .what = "P-521", .crv = "P-521", .nid = NID_secp521r1,
		  .coord = 88 },
		{ .what = "RSA 2048", .crv = NULL },
	};
	struct nsreg_error	 err;
	EVP_PKEY		*pk, *back;
	json_t			*jwk;
	char			 tp1[64], tp2[64];
	size_t			 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		pk = v[i].crv != NULL ? EVP_EC_gen(v[i].crv) :
		    EVP_RSA_gen(2048);
		cr_assert_not_null(pk);
		jwk = json_object();
		cr_assert_eq(jose_jwk_params(pk, jwk), 0, "%s", v[i].what);
		if (v[i].crv != NULL) {
			cr_expect_str_eq(json_string_value(json_object_get(jwk,
			    "kty")), "EC");
			cr_expect_str_eq(json_string_value(json_object_get(jwk,
			    "crv")), v[i].crv);
			/* Full-size coordinates, leading zeros kept. */
			cr_expect_eq(json_string_length(json_object_get(jwk,
			    "x")), v[i].coord, "%s", v[i].what);
			cr_expect_eq(json_string_length(json_object_get(jwk,
			    "y")), v[i].coord, "%s", v[i].what);
			cr_expect_eq(jose_pkey_curve(pk), v[i].nid);
		} else {
			cr_expect_str_eq(json_string_value(json_object_get(jwk,
			    "kty")), "RSA");
			cr_expect_str_eq(json_string_value(json_object_get(jwk,
			    "e")), "AQAB");
			cr_expect_eq(jose_pkey_curve(pk), 0);
		}
		cr_assert_eq(jose_jwk_to_pkey(jwk, "k", 0, &back, &err), 1,
		    "%s: %s", v[i].what, err.message);
		cr_expect_eq(EVP_PKEY_eq(pk, back), 1, "%s", v[i].what);
		cr_assert_eq(jose_pkey_thumbprint(pk, tp1, sizeof(tp1)), 0);
		cr_assert_eq(jose_jwk_thumbprint(jwk, tp2, sizeof(tp2)), 0);
		cr_expect_str_eq(tp1, tp2);
		cr_expect_eq(strlen(tp1), JOSE_THUMBPRINT_LEN);
		EVP_PKEY_free(back);
		EVP_PKEY_free(pk);
		json_decref(jwk);
	}
}

/* RFC 7515 A.3.1's public key. */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

Test(jose, jwk_refusals)
{
	static const struct {
		const char	*json;
		int		 rc;
		const char	*message;	/* for -1 */
	} v[] = {
		/* Unknown: ignored, not refused. */
		{ .json = "{\"kty\":\"oct\",\"k\":\"AAAA\"}", .rc = 0 },
		{ .json = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"}",
		  .rc = 0 },
		{ .json = "{\"kty\":\"EC\",\"crv\":\"secp256k1\"}", .rc = 0 },
		{ .json = "{\"n\":\"AQAB\"}", .rc = 0 },
		/* Known and malformed. */
		{ .json = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\"}",
		  .rc = -1, .message = "k: y missing or not a string" },
		{ .json = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\","
		  "\"y\":\"AA==\"}", .rc = -1,
		  .message = "k: y: not base64url" },
		{ .json = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\","
		  "\"y\":\"AAAA\"}", .rc = -1,
		  .message = "k: coordinates are not 32 bytes for P-256" },
		{ .json = "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"\"}",
		  .rc = -1, .message = "k: e: not base64url" },
		/* The A.3 key with y's last bit flipped: off its curve. */
		{ .json = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2x"
		  "F1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HL"
		  "N_tue659LNpXW6pCyStikYjKIWI5aw\"}", .rc = -1,
		  .message = "k: not a valid EC public key" },
	};
	struct nsreg_error	 err;
	EVP_PKEY		*pk;
	json_t			*jwk;
	size_t			 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_assert_not_null(jwk = json_loads(v[i].json, 0, NULL));
		memset(&err, 0, sizeof(err));
		cr_expect_eq(jose_jwk_to_pkey(jwk, "k", 0, &pk, &err),
		    v[i].rc, "%s", v[i].json);
		cr_expect_null(pk);
		if (v[i].message != NULL)
			cr_expect_str_eq(err.message, v[i].message);
		json_decref(jwk);
	}
}

/* ---- signatures ---------------------------------------------------------- */

/* RFC 7515 A.3: an ES256 JWS made by someone else verifies, so the r||s
 * handling is the standard's. */
Test(jose, es256_rfc7515_appendix_a3)
{
	static const char	 token[] =
	    "eyJhbGciOiJFUzI1NiJ9"
	    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
	    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
	    "pmWQxfKTUJqPP3-Kg6NU1Q";
	const struct jose_alg	*alg;
	struct nsreg_error	 err;
	EVP_PKEY		*pk;
	json_t			*jwk, *hdr, *claims;
	unsigned char		*sig, *der, raw[64];
	size_t			 d1, d2, siglen, derlen;

	jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
	    "x", a3_x, "y", a3_y);
	cr_assert_eq(jose_jwk_to_pkey(jwk, "a3", 0, &pk, &err), 1, "%s",
	    err.message);
	cr_assert_eq(jose_compact_split(token, strlen(token), &d1, &d2),
	    JOSE_SPLIT_OK);
	cr_assert_not_null(hdr = jose_b64url_object(token, d1));
	cr_assert_str_eq(json_string_value(json_object_get(hdr, "alg")),
	    "ES256");
	cr_assert_not_null(claims = jose_b64url_object(token + d1 + 1,
	    d2 - d1 - 1));
	cr_assert_str_eq(json_string_value(json_object_get(claims, "iss")),
	    "joe");
	cr_assert_eq(json_integer_value(json_object_get(claims, "exp")),
	    1300819380);
	cr_assert_not_null(alg = jose_alg_lookup("ES256", JOSE_ALG_ES256));
	cr_assert(jose_alg_fits(alg, EVP_PKEY_EC, jose_pkey_curve(pk)));
	cr_assert_eq(jose_b64_decode(token + d2 + 1, strlen(token) - d2 - 1,
	    1, &sig, &siglen), 0);
	cr_assert_eq(siglen, 64);
	cr_assert_eq(jose_verify(pk, alg, token, d2, sig, siglen), 1);
	/* r||s to DER and back is the identity. */
	cr_assert_eq(jose_es_raw_to_der(sig, siglen, 32, &der, &derlen), 0);
	cr_assert_eq(jose_es_der_to_raw(der, derlen, 32, raw), 0);
	cr_assert_eq(memcmp(raw, sig, 64), 0);
	OPENSSL_free(der);
	/* One bit of the input, or of the signature, and it fails. */
	cr_assert_eq(jose_verify(pk, alg, token, d2 - 1, sig, siglen), 0);
	sig[10] ^= 1;
	cr_assert_eq(jose_verify(pk, alg, token, d2, sig, siglen), 0);
	sig[10] ^= 1;
	/* A signature one byte short is bad, not an error. */
	cr_assert_eq(jose_verify(pk, alg, token, d2, sig, siglen - 1), 0);
	cr_assert_eq(jose_es_raw_to_der(sig, siglen - 1, 32, &der, &derlen),
	    -1);
	free(sig);
	json_decref(hdr);
	json_decref(claims);
	json_decref(jwk);
	EVP_PKEY_free(pk);
}

/* What jose_sign makes, jose_verify takes, for each family. */
Test(jose, sign_then_verify_each_family)
{
	static const struct {
		const char	*alg;
		const char	*crv;		/* NULL: RSA 2048 */
	} v[] = {
		{ .alg = "ES256", .crv = "P-256" },
		{ .alg = "ES384", .crv = "P-384" },
		{ .alg = "ES512", .crv = "P-521" },
		{ .alg = "RS256" },
		{ .alg = "PS384" },
	};
	const struct jose_alg	*a;
	struct nsreg_error	 err;
	EVP_PKEY		*pk;
	EVP_MD_CTX		*ctx;
	json_t			*hdr, *claims;
	unsigned char		*sig;
	char			*tok;
	size_t			 i, d1, d2, siglen;

	claims = json_pack("{s:s}", "sub", "spiffe://example.org/x");
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		pk = v[i].crv != NULL ? EVP_EC_gen(v[i].crv) :
		    EVP_RSA_gen(2048);
		a = jose_alg_lookup(v[i].alg, JOSE_ALGS_JWTSVID);
		cr_assert_not_null(a);
		hdr = json_pack("{s:s}", "alg", v[i].alg);
		cr_assert_not_null(ctx = jose_sign_init(pk, a));
		tok = jose_sign(ctx, a, hdr, claims, &err);
		cr_assert_not_null(tok, "%s", v[i].alg);
		cr_assert_eq(jose_compact_split(tok, strlen(tok), &d1, &d2),
		    JOSE_SPLIT_OK);
		cr_assert_eq(jose_b64_decode(tok + d2 + 1, strlen(tok) - d2 -
		    1, 1, &sig, &siglen), 0);
		if (a->family == JOSE_ES)
			cr_expect_eq(siglen, 2 * a->half, "%s", v[i].alg);
		cr_expect_eq(jose_verify(pk, a, tok, d2, sig, siglen), 1,
		    "%s", v[i].alg);
		free(sig);
		free(tok);
		EVP_MD_CTX_free(ctx);
		json_decref(hdr);
		EVP_PKEY_free(pk);
	}
	json_decref(claims);
}

/* ---- the allow-list and headers ------------------------------------------ */

/* The algorithm-confusion defence: only the table, only what is allowed,
 * only with a key of the right family and curve. */
Test(jose, algorithm_allow_list)
{
	static const char *const refused[] = {
		"none", "None", "HS256", "HS384", "HS512", "EdDSA", "es256",
		"ES256 ", "RSA1_5", "", "ES257",
	};
	const struct jose_alg	*a;
	size_t			 i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		cr_expect_null(jose_alg_lookup(refused[i], ~0U), "%s",
		    refused[i]);
	cr_expect_null(jose_alg_lookup(NULL, ~0U));
	/* In the table but not allowed by the caller. */
	cr_expect_null(jose_alg_lookup("RS256", JOSE_ALG_ES256));
	cr_expect_not_null(jose_alg_lookup("RS256", JOSE_ALGS_JWTSVID));
	cr_assert_not_null(a = jose_alg_lookup("ES256", JOSE_ALG_ES256));
	cr_expect_eq(a->half, 32);
	cr_expect(jose_alg_fits(a, EVP_PKEY_EC, NID_X9_62_prime256v1));
	cr_expect(!jose_alg_fits(a, EVP_PKEY_EC, NID_secp384r1));
	cr_expect(!jose_alg_fits(a, EVP_PKEY_RSA, 0));
	a = jose_alg_lookup("PS256", JOSE_ALGS_JWTSVID);
	cr_expect(jose_alg_fits(a, EVP_PKEY_RSA, 0));
	cr_expect(!jose_alg_fits(a, EVP_PKEY_EC, NID_X9_62_prime256v1));
	cr_expect(!jose_alg_fits(a, EVP_PKEY_ED25519, 0));
}

Test(jose, header_rules)
{
	static const struct jose_header_rules closed = {
		.algs = JOSE_ALGS_JWTSVID,
		.typ = { "JWT", "JOSE", NULL },
		.kid_max = 8,
		.closed = 1,
	};
	static const struct jose_header_rules open = {
		.algs = JOSE_ALG_ES256,
		.typ = { "JWT", NULL },
		.kid_required = 1,
	};
	static const struct {
		const struct jose_header_rules	*rules;
		const char			*json;
		enum jose_header_fault		 want;
	} v[] = {
		{ &closed, "{\"alg\":\"RS256\"}", JOSE_HEADER_OK },
		{ &closed, "{\"alg\":\"ES384\",\"typ\":\"JOSE\",\"kid\":\"k\"}",
		  JOSE_HEADER_OK },
		{ &closed, "{}", JOSE_HEADER_ALG_MISSING },
		{ &closed, "{\"alg\":1}", JOSE_HEADER_ALG_TYPE },
		{ &closed, "{\"alg\":\"none\"}", JOSE_HEADER_ALG_REFUSED },
		{ &closed, "{\"typ\":\"x\",\"alg\":\"HS256\"}",
		  JOSE_HEADER_ALG_REFUSED },
		{ &closed, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}",
		  JOSE_HEADER_TYP },
		{ &closed, "{\"alg\":\"ES256\",\"kid\":\"\"}",
		  JOSE_HEADER_KID },
		{ &closed, "{\"alg\":\"ES256\",\"kid\":\"123456789\"}",
		  JOSE_HEADER_KID },
		{ &closed, "{\"alg\":\"ES256\",\"jku\":\"https://x\"}",
		  JOSE_HEADER_MEMBER },
		{ &closed, "{\"alg\":\"ES256\",\"crit\":[\"exp\"]}",
		  JOSE_HEADER_MEMBER },
		/* Closed headers report the first fault as written. */
		{ &closed, "{\"alg\":\"ES256\",\"x5u\":1,\"typ\":2}",
		  JOSE_HEADER_MEMBER },
		{ &closed, "{\"alg\":\"ES256\",\"typ\":2,\"x5u\":1}",
		  JOSE_HEADER_TYP },
		{ &open, "{\"alg\":\"ES256\",\"kid\":\"k\",\"x\":1}",
		  JOSE_HEADER_OK },
		{ &open, "{\"alg\":\"RS256\",\"kid\":\"k\"}",
		  JOSE_HEADER_ALG_REFUSED },
		{ &open, "{\"alg\":\"ES256\"}", JOSE_HEADER_KID_MISSING },
		{ &open, "{\"alg\":\"ES256\",\"kid\":7}", JOSE_HEADER_KID },
		/* Open headers: crit, then typ, then kid. */
		{ &open, "{\"alg\":\"ES256\",\"kid\":7,\"typ\":\"x\","
		  "\"crit\":[]}", JOSE_HEADER_CRIT },
		{ &open, "{\"alg\":\"ES256\",\"kid\":7,\"typ\":\"x\"}",
		  JOSE_HEADER_TYP },
	};
	const struct jose_alg	*alg;
	const char		*kid, *member;
	json_t			*hdr;
	size_t			 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_assert_not_null(hdr = json_loads(v[i].json, 0, NULL));
		cr_expect_eq(jose_header_check(hdr, v[i].rules, &alg, &kid,
		    &member), v[i].want, "%s", v[i].json);
		json_decref(hdr);
	}
	hdr = json_pack("{s:s, s:s}", "alg", "ES256", "kid", "k1");
	cr_assert_eq(jose_header_check(hdr, &open, &alg, &kid, &member),
	    JOSE_HEADER_OK);
	cr_expect_str_eq(alg->name, "ES256");
	cr_expect_str_eq(kid, "k1");
	json_decref(hdr);
	hdr = json_pack("{s:s, s:i}", "alg", "ES256", "jwk", 1);
	cr_assert_eq(jose_header_check(hdr, &closed, &alg, &kid, &member),
	    JOSE_HEADER_MEMBER);
	cr_expect_str_eq(member, "jwk");
	json_decref(hdr);
}

Test(jose, compact_split)
{
	static const struct {
		const char		*in;
		enum jose_split_fault	 want;
		size_t			 dot1, dot2;
	} v[] = {
		{ "a.b.c", JOSE_SPLIT_OK, 1, 3 },
		{ "..", JOSE_SPLIT_OK, 0, 1 },
		{ "ab.-_.", JOSE_SPLIT_OK, 2, 5 },
		{ "", JOSE_SPLIT_PARTS, 0, 0 },
		{ "a.b", JOSE_SPLIT_PARTS, 0, 0 },
		{ "a.b.c.d", JOSE_SPLIT_PARTS, 0, 0 },
		{ "a.b.c.d=", JOSE_SPLIT_PARTS, 0, 0 },
		{ "a.b.c=", JOSE_SPLIT_CHARS, 0, 0 },
		{ "{\"a\".b.c", JOSE_SPLIT_CHARS, 0, 0 },
		{ "a+.b.c", JOSE_SPLIT_CHARS, 0, 0 },
		{ "a. b.c", JOSE_SPLIT_CHARS, 0, 0 },
	};
	size_t	i, d1, d2;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_expect_eq(jose_compact_split(v[i].in, strlen(v[i].in), &d1,
		    &d2), v[i].want, "%s", v[i].in);
		if (v[i].want == JOSE_SPLIT_OK) {
			cr_expect_eq(d1, v[i].dot1, "%s", v[i].in);
			cr_expect_eq(d2, v[i].dot2, "%s", v[i].in);
		}
	}
}
