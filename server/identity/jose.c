/*
 * jose.c - base64url, JWK <-> key, thumbprints, compact JWS, ES256 and
 * friends, the algorithm allow-list (jose.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "jose.h"

/* The EC curves a JWK may name (RFC 7518 6.2.1.1). */
static const struct jose_curve {
	const char	*crv;		/* JWK name */
	const char	*group;		/* OpenSSL group name */
	int		 nid;
	size_t		 size;		/* bytes of a coordinate */
} jose_curves[] = {
	{ .crv = "P-256", .group = "prime256v1",
	  .nid = NID_X9_62_prime256v1, .size = 32 },
	{ .crv = "P-384", .group = "secp384r1", .nid = NID_secp384r1,
	  .size = 48 },
	{ .crv = "P-521", .group = "secp521r1", .nid = NID_secp521r1,
	  .size = 66 },
};

#define JOSE_NCURVES	(sizeof(jose_curves) / sizeof(jose_curves[0]))

/* JWT-SVID 2.1 and RFC 7518 3.1: the only algorithms there are. */
static const struct jose_alg jose_algs[] = {
	{ .name = "RS256", .bit = JOSE_ALG_RS256, .family = JOSE_RS,
	  .md = 256 },
	{ .name = "RS384", .bit = JOSE_ALG_RS384, .family = JOSE_RS,
	  .md = 384 },
	{ .name = "RS512", .bit = JOSE_ALG_RS512, .family = JOSE_RS,
	  .md = 512 },
	{ .name = "ES256", .bit = JOSE_ALG_ES256, .family = JOSE_ES,
	  .md = 256, .curve = NID_X9_62_prime256v1, .half = 32 },
	{ .name = "ES384", .bit = JOSE_ALG_ES384, .family = JOSE_ES,
	  .md = 384, .curve = NID_secp384r1, .half = 48 },
	{ .name = "ES512", .bit = JOSE_ALG_ES512, .family = JOSE_ES,
	  .md = 512, .curve = NID_secp521r1, .half = 66 },
	{ .name = "PS256", .bit = JOSE_ALG_PS256, .family = JOSE_PS,
	  .md = 256 },
	{ .name = "PS384", .bit = JOSE_ALG_PS384, .family = JOSE_PS,
	  .md = 384 },
	{ .name = "PS512", .bit = JOSE_ALG_PS512, .family = JOSE_PS,
	  .md = 512 },
};

#define JOSE_NALGS	(sizeof(jose_algs) / sizeof(jose_algs[0]))

static const char *const jose_md_names[3] = {
	"SHA256", "SHA384", "SHA512"
};
static EVP_MD		*jose_mds[3];
static pthread_once_t	 jose_once = PTHREAD_ONCE_INIT;

static void
jose_init(void)
{
	size_t	i;

	/* Fetched once: an implicit fetch per call costs a lock or two. */
	for (i = 0; i < 3; i++)
		jose_mds[i] = EVP_MD_fetch(NULL, jose_md_names[i], NULL);
}

const EVP_MD *
jose_md(int bits)
{
	pthread_once(&jose_once, jose_init);
	return jose_mds[bits == 512 ? 2 : bits == 384 ? 1 : 0];
}

/* ---- base64 ------------------------------------------------------------ */

static int
jose_b64_value(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

int
jose_b64_decode(const char *s, size_t len, int url, unsigned char **out,
    size_t *outlen)
{
	unsigned char	*buf;
	size_t		 i, n = 0, pad = 0;
	uint32_t	 acc = 0;
	int		 bits = 0, v;

	*out = NULL;
	*outlen = 0;
	if (!url) {
		while (pad < 2 && len > 0 && s[len - 1] == '=') {
			len--;
			pad++;
		}
		/* Padding, when present, must complete a 4-character group. */
		if (pad > 0 && (len + pad) % 4 != 0)
			return -1;
	}
	if (len % 4 == 1)
		return -1;
	if ((buf = malloc(len / 4 * 3 + 3)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = jose_b64_value((unsigned char)s[i], url)) < 0)
			goto fail;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	/* The unused low bits of the last character must be zero. */
	if (acc != 0)
		goto fail;
	*out = buf;
	*outlen = n;
	return 0;
fail:
	free(buf);
	return -1;
}

char *
jose_b64_encode(const unsigned char *data, size_t len, int url)
{
	static const char	 std[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char	 safe[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char		*alpha = url ? safe : std;
	char			*out, *p;
	size_t			 i;

	if ((out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	p = out;
	for (i = 0; i + 2 < len; i += 3) {
		*p++ = alpha[data[i] >> 2];
		*p++ = alpha[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
		*p++ = alpha[((data[i + 1] & 15) << 2) | (data[i + 2] >> 6)];
		*p++ = alpha[data[i + 2] & 63];
	}
	if (len - i == 1) {
		*p++ = alpha[data[i] >> 2];
		*p++ = alpha[(data[i] & 3) << 4];
		if (!url) {
			*p++ = '=';
			*p++ = '=';
		}
	} else if (len - i == 2) {
		*p++ = alpha[data[i] >> 2];
		*p++ = alpha[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
		*p++ = alpha[(data[i + 1] & 15) << 2];
		if (!url)
			*p++ = '=';
	}
	*p = '\0';
	return out;
}

char *
jose_b64url_json(const json_t *v)
{
	char	*text, *out;

	if ((text = json_dumps(v, JSON_COMPACT)) == NULL)
		return NULL;
	out = jose_b64_encode((const unsigned char *)text, strlen(text), 1);
	free(text);
	return out;
}

json_t *
jose_b64url_object(const char *s, size_t len)
{
	unsigned char	*raw;
	size_t		 rawlen;
	json_t		*j;

	if (len == 0 || jose_b64_decode(s, len, 1, &raw, &rawlen) == -1)
		return NULL;
	j = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES,
	    NULL);
	free(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* ---- algorithms and headers -------------------------------------------- */

const struct jose_alg *
jose_alg_lookup(const char *name, unsigned int allowed)
{
	size_t	i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < JOSE_NALGS; i++)
		if (strcmp(jose_algs[i].name, name) == 0)
			return (jose_algs[i].bit & allowed) != 0 ?
			    &jose_algs[i] : NULL;
	return NULL;
}

int
jose_alg_fits(const struct jose_alg *a, int type, int curve)
{
	if (a->family == JOSE_ES)
		return type == EVP_PKEY_EC && curve == a->curve;
	return type == EVP_PKEY_RSA;
}

/* 1 when typ is one of the values rules allow. */
static int
jose_typ_allowed(const struct jose_header_rules *rules, const json_t *v)
{
	const char	*typ = json_string_value(v);
	size_t		 i;

	for (i = 0; typ != NULL && i < 3 && rules->typ[i] != NULL; i++)
		if (strcmp(rules->typ[i], typ) == 0)
			return 1;
	return 0;
}

static int
jose_kid_ok(const struct jose_header_rules *rules, const json_t *v,
    const char **kid)
{
	*kid = json_string_value(v);
	if (*kid == NULL)
		return 0;
	return rules->kid_max == 0 || ((*kid)[0] != '\0' &&
	    strlen(*kid) <= rules->kid_max);
}

enum jose_header_fault
jose_header_check(const json_t *hdr, const struct jose_header_rules *rules,
    const struct jose_alg **alg, const char **kid, const char **member)
{
	const json_t	*v = json_object_get(hdr, "alg");
	const char	*key;
	json_t		*m;

	*alg = NULL;
	*kid = NULL;
	*member = NULL;
	/* The algorithm is checked before anything else (no confusion). */
	if (v == NULL)
		return JOSE_HEADER_ALG_MISSING;
	if (!json_is_string(v))
		return JOSE_HEADER_ALG_TYPE;
	if ((*alg = jose_alg_lookup(json_string_value(v), rules->algs)) ==
	    NULL)
		return JOSE_HEADER_ALG_REFUSED;
	if (rules->closed) {
		json_object_foreach((json_t *)hdr, key, m) {
			if (strcmp(key, "alg") == 0)
				continue;
			if (strcmp(key, "typ") == 0) {
				if (!jose_typ_allowed(rules, m))
					return JOSE_HEADER_TYP;
			} else if (strcmp(key, "kid") == 0) {
				if (!jose_kid_ok(rules, m, kid))
					return JOSE_HEADER_KID;
			} else {
				*member = key;
				return JOSE_HEADER_MEMBER;
			}
		}
	} else {
		if (json_object_get(hdr, "crit") != NULL)
			return JOSE_HEADER_CRIT;
		if ((v = json_object_get(hdr, "typ")) != NULL &&
		    !jose_typ_allowed(rules, v))
			return JOSE_HEADER_TYP;
		if ((v = json_object_get(hdr, "kid")) != NULL &&
		    !jose_kid_ok(rules, v, kid))
			return JOSE_HEADER_KID;
	}
	if (rules->kid_required && *kid == NULL)
		return JOSE_HEADER_KID_MISSING;
	return JOSE_HEADER_OK;
}

/* ---- compact serialisation --------------------------------------------- */

enum jose_split_fault
jose_compact_split(const char *token, size_t len, size_t *dot1,
    size_t *dot2)
{
	size_t	i, dots = 0;
	int	stray = 0;

	*dot1 = *dot2 = 0;
	for (i = 0; i < len; i++) {
		char	c = token[i];

		if (c == '.') {
			if (dots == 0)
				*dot1 = i;
			else if (dots == 1)
				*dot2 = i;
			dots++;
		} else if (!((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			stray = 1;
	}
	if (dots != 2)
		return JOSE_SPLIT_PARTS;
	return stray ? JOSE_SPLIT_CHARS : JOSE_SPLIT_OK;
}

/* ---- signatures -------------------------------------------------------- */

int
jose_es_raw_to_der(const unsigned char *sig, size_t len, size_t half,
    unsigned char **der, size_t *derlen)
{
	ECDSA_SIG	*es;
	BIGNUM		*r, *s;
	int		 n;

	*der = NULL;
	if (len != 2 * half || (es = ECDSA_SIG_new()) == NULL)
		return -1;
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	if (r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	n = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	if (n <= 0) {
		*der = NULL;
		return -1;
	}
	*derlen = (size_t)n;
	return 0;
}

int
jose_es_der_to_raw(const unsigned char *der, size_t derlen, size_t half,
    unsigned char *out)
{
	ECDSA_SIG		*es;
	const BIGNUM		*r, *s;
	const unsigned char	*p = der;
	int			 rc = -1;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, out, (int)half) == (int)half &&
	    BN_bn2binpad(s, out + half, (int)half) == (int)half)
		rc = 0;
	ECDSA_SIG_free(es);
	return rc;
}

EVP_MD_CTX *
jose_sign_init(EVP_PKEY *pk, const struct jose_alg *a)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx = NULL;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (EVP_DigestSignInit(ctx, &pctx, jose_md(a->md), NULL, pk) != 1 ||
	    (a->family == JOSE_PS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	    RSA_PSS_SALTLEN_DIGEST) <= 0))) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	return ctx;
}

char *
jose_sign(EVP_MD_CTX *ctx, const struct jose_alg *a, const json_t *header,
    const json_t *claims, struct nsreg_error *err)
{
	char		*h = NULL, *c = NULL, *sb = NULL, *token = NULL, *t;
	unsigned char	*sig = NULL, raw[2 * 66];
	size_t		 hl, cl, inlen, siglen = 0;

	if ((h = jose_b64url_json(header)) == NULL ||
	    (c = jose_b64url_json(claims)) == NULL)
		goto oom;
	hl = strlen(h);
	cl = strlen(c);
	inlen = hl + 1 + cl;
	/* The signing input "h.c" is built in place of the token. */
	if ((token = malloc(inlen + 1)) == NULL)
		goto oom;
	memcpy(token, h, hl);
	token[hl] = '.';
	memcpy(token + hl + 1, c, cl + 1);
	if (EVP_DigestSign(ctx, NULL, &siglen, (unsigned char *)token,
	    inlen) != 1 || (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)token,
	    inlen) != 1)
		goto bad;
	if (a->family == JOSE_ES) {
		if (jose_es_der_to_raw(sig, siglen, a->half, raw) == -1)
			goto bad;
		sb = jose_b64_encode(raw, 2 * a->half, 1);
	} else
		sb = jose_b64_encode(sig, siglen, 1);
	if (sb == NULL)
		goto oom;
	if ((t = realloc(token, inlen + 1 + strlen(sb) + 1)) == NULL)
		goto oom;
	token = t;
	token[inlen] = '.';
	memcpy(token + inlen + 1, sb, strlen(sb) + 1);
	goto out;
bad:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "jose: signing failed");
	goto fail;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "jose: out of memory");
fail:
	free(token);
	token = NULL;
out:
	ERR_clear_error();
	free(h);
	free(c);
	free(sig);
	free(sb);
	return token;
}

int
jose_verify(EVP_PKEY *pk, const struct jose_alg *a, const char *input,
    size_t inlen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX		*ctx;
	EVP_PKEY_CTX		*pctx = NULL;
	unsigned char		*der = NULL;
	const unsigned char	*s = sig;
	size_t			 slen = siglen;
	int			 rc = -1;

	if (a->family == JOSE_ES) {
		/* A wrong length is a bad signature; else out of memory. */
		if (jose_es_raw_to_der(sig, siglen, a->half, &der, &slen) ==
		    -1)
			return siglen != 2 * a->half ? 0 : -1;
		s = der;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, &pctx, jose_md(a->md), NULL, pk) != 1)
		goto out;
	if (a->family == JOSE_PS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	    RSA_PSS_SALTLEN_DIGEST) <= 0))
		goto out;
	rc = EVP_DigestVerify(ctx, s, slen, (const unsigned char *)input,
	    inlen) == 1 ? 1 : 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return rc;
}

/* ---- JWK --------------------------------------------------------------- */

int
jose_pkey_curve(EVP_PKEY *pk)
{
	char	group[64];
	size_t	glen;
	int	nid;

	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &glen))
		return 0;
	nid = OBJ_sn2nid(group);
	return nid == NID_undef ? 0 : nid;
}

/* Big-endian bytes of a BIGNUM parameter, left-padded to size (0: its own
 * length), as base64url into obj[name]. */
static int
jose_jwk_bn(EVP_PKEY *pk, const char *param, size_t size, json_t *obj,
    const char *name)
{
	BIGNUM		*bn = NULL;
	unsigned char	*buf = NULL;
	char		*enc = NULL;
	int		 rc = -1, n;

	if (!EVP_PKEY_get_bn_param(pk, param, &bn))
		goto out;
	n = BN_num_bytes(bn);
	if (size == 0)
		size = n > 0 ? (size_t)n : 1;
	if ((size_t)n > size || (buf = malloc(size)) == NULL)
		goto out;
	if (BN_bn2binpad(bn, buf, (int)size) < 0)
		goto out;
	if ((enc = jose_b64_encode(buf, size, 1)) == NULL)
		goto out;
	if (json_object_set_new(obj, name, json_string(enc)) == -1)
		goto out;
	rc = 0;
out:
	BN_free(bn);
	free(buf);
	free(enc);
	return rc;
}

int
jose_jwk_params(EVP_PKEY *pk, json_t *obj)
{
	unsigned char	 raw[64];
	size_t		 rawlen = sizeof(raw), i;
	char		*enc;
	int		 rc, type = EVP_PKEY_get_base_id(pk), curve;

	switch (type) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		if (json_object_set_new(obj, "kty", json_string("RSA")) == -1)
			return -1;
		if (jose_jwk_bn(pk, OSSL_PKEY_PARAM_RSA_N, 0, obj, "n") == -1)
			return -1;
		return jose_jwk_bn(pk, OSSL_PKEY_PARAM_RSA_E, 0, obj, "e");
	case EVP_PKEY_EC:
		curve = jose_pkey_curve(pk);
		for (i = 0; i < JOSE_NCURVES; i++)
			if (jose_curves[i].nid == curve)
				break;
		if (i == JOSE_NCURVES)
			return -1;
		if (json_object_set_new(obj, "kty", json_string("EC")) == -1 ||
		    json_object_set_new(obj, "crv",
		    json_string(jose_curves[i].crv)) == -1)
			return -1;
		if (jose_jwk_bn(pk, OSSL_PKEY_PARAM_EC_PUB_X,
		    jose_curves[i].size, obj, "x") == -1)
			return -1;
		return jose_jwk_bn(pk, OSSL_PKEY_PARAM_EC_PUB_Y,
		    jose_curves[i].size, obj, "y");
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		/* RFC 8037: an OKP key is its raw public key. */
		if (!EVP_PKEY_get_raw_public_key(pk, raw, &rawlen))
			return -1;
		if ((enc = jose_b64_encode(raw, rawlen, 1)) == NULL)
			return -1;
		rc = json_object_set_new(obj, "kty", json_string("OKP"));
		if (rc == 0)
			rc = json_object_set_new(obj, "crv", json_string(
			    type == EVP_PKEY_ED25519 ? "Ed25519" : "Ed448"));
		if (rc == 0)
			rc = json_object_set_new(obj, "x", json_string(enc));
		free(enc);
		return rc;
	default:
		return -1;
	}
}

int
jose_jwk_to_pkey(const json_t *jwk, const char *where, int params_optional,
    EVP_PKEY **pkp, struct nsreg_error *err)
{
	const char	*kty, *crv, *names[2];
	const json_t	*v[2];
	unsigned char	*raw[2] = { NULL, NULL }, *pt = NULL;
	size_t		 rawlen[2] = { 0, 0 }, i, c = 0;
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL, *chk = NULL;
	BIGNUM		*bn[2] = { NULL, NULL };
	int		 rc = -1, is_ec;

	*pkp = NULL;
	kty = json_string_value(json_object_get(jwk, "kty"));
	if (kty == NULL)
		return 0;
	if (strcmp(kty, "EC") == 0) {
		is_ec = 1;
		crv = json_string_value(json_object_get(jwk, "crv"));
		if (crv == NULL && params_optional &&
		    json_object_get(jwk, "crv") == NULL &&
		    json_object_get(jwk, "x") == NULL &&
		    json_object_get(jwk, "y") == NULL)
			return 1;
		if (crv == NULL)
			return 0;
		for (c = 0; c < JOSE_NCURVES; c++)
			if (strcmp(jose_curves[c].crv, crv) == 0)
				break;
		if (c == JOSE_NCURVES)
			return 0;
		names[0] = "x";
		names[1] = "y";
	} else if (strcmp(kty, "RSA") == 0) {
		is_ec = 0;
		names[0] = "n";
		names[1] = "e";
	} else
		return 0;

	for (i = 0; i < 2; i++)
		v[i] = json_object_get(jwk, names[i]);
	if (params_optional && v[0] == NULL && v[1] == NULL)
		return 1;
	for (i = 0; i < 2; i++) {
		const char	*s = json_string_value(v[i]);

		if (s == NULL) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "%s: %s missing or not a string", where, names[i]);
			goto out;
		}
		if (jose_b64_decode(s, strlen(s), 1, &raw[i],
		    &rawlen[i]) == -1 || rawlen[i] == 0) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "%s: %s: not base64url", where, names[i]);
			goto out;
		}
	}

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto oom;
	if (is_ec) {
		size_t	sz = jose_curves[c].size;

		/* RFC 7518 6.2.1.2-3: full-size coordinates. */
		if (rawlen[0] != sz || rawlen[1] != sz) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "%s: coordinates are not %zu bytes for %s",
			    where, sz, jose_curves[c].crv);
			goto out;
		}
		if ((pt = malloc(1 + 2 * sz)) == NULL)
			goto oom;
		pt[0] = 0x04;
		memcpy(pt + 1, raw[0], sz);
		memcpy(pt + 1 + sz, raw[1], sz);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, jose_curves[c].group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * sz))
			goto oom;
	} else {
		for (i = 0; i < 2; i++)
			if ((bn[i] = BN_bin2bn(raw[i], (int)rawlen[i],
			    NULL)) == NULL)
				goto oom;
		if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N,
		    bn[0]) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn[1]))
			goto oom;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto oom;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, is_ec ? "EC" : "RSA", NULL);
	if (ctx == NULL)
		goto oom;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, pkp, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto bad;
	/* A point off its curve, an even modulus... are refused here. */
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, *pkp, NULL)) == NULL)
		goto oom;
	if (EVP_PKEY_public_check(chk) <= 0)
		goto bad;
	rc = 1;
	goto out;
bad:
	nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
	    "%s: not a valid %s public key", where, kty);
	goto out;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: out of memory", where);
out:
	if (rc != 1) {
		EVP_PKEY_free(*pkp);
		*pkp = NULL;
	}
	ERR_clear_error();
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn[0]);
	BN_free(bn[1]);
	free(pt);
	free(raw[0]);
	free(raw[1]);
	return rc;
}

int
jose_jwk_thumbprint(const json_t *jwk, char *buf, size_t len)
{
	static const struct {
		const char	*kty;
		const char	*members[4];
	} required[] = {
		{ .kty = "EC", .members = { "crv", "kty", "x", "y" } },
		{ .kty = "RSA", .members = { "e", "kty", "n", NULL } },
		{ .kty = "OKP", .members = { "crv", "kty", "x", NULL } },
	};
	const char	*kty = json_string_value(json_object_get(jwk, "kty"));
	json_t		*canon_obj = NULL, *v;
	char		*canon = NULL, *b64 = NULL;
	unsigned char	 md[32];
	unsigned int	 mdlen = 0;
	size_t		 i, m;
	int		 rc = -1;

	for (i = 0; kty != NULL && i < sizeof(required) / sizeof(required[0]);
	    i++)
		if (strcmp(required[i].kty, kty) == 0)
			break;
	if (kty == NULL || i == sizeof(required) / sizeof(required[0]))
		return -1;
	/* RFC 7638 3.2: the required members only, sorted, no whitespace. */
	if ((canon_obj = json_object()) == NULL)
		goto out;
	for (m = 0; m < 4 && required[i].members[m] != NULL; m++) {
		v = json_object_get(jwk, required[i].members[m]);
		if (!json_is_string(v) || json_object_set(canon_obj,
		    required[i].members[m], v) == -1)
			goto out;
	}
	canon = json_dumps(canon_obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (canon == NULL || !EVP_Digest(canon, strlen(canon), md, &mdlen,
	    jose_md(256), NULL))
		goto out;
	if ((b64 = jose_b64_encode(md, mdlen, 1)) == NULL ||
	    strlen(b64) >= len)
		goto out;
	memcpy(buf, b64, strlen(b64) + 1);
	rc = 0;
out:
	json_decref(canon_obj);
	free(canon);
	free(b64);
	return rc;
}

int
jose_pkey_thumbprint(EVP_PKEY *pk, char *buf, size_t len)
{
	json_t	*jwk;
	int	 rc = -1;

	if ((jwk = json_object()) != NULL && jose_jwk_params(pk, jwk) == 0)
		rc = jose_jwk_thumbprint(jwk, buf, len);
	json_decref(jwk);
	return rc;
}
