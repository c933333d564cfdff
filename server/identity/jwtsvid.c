/*
 * jwtsvid.c - JWT-SVID verification (jwtsvid.h), through the JOSE
 * module (jose.h) and the verified-credential cache (tokcache.h).
 *
 * The token is parsed with jansson and our own base64url, not libjwt:
 * libjwt 1.10 re-parses PEM keys on every call, accepts HS256 keyed with a
 * public key, rejects typ JOSE and checks no claim (DESIGN section 7).
 * Signatures are checked by OpenSSL with the EVP_PKEYs the bundle parsed
 * once.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "identity_int.h"
#include "jose.h"
#include "jwtsvid.h"
#include "principal.h"
#include "spiffe.h"
#include "tokcache.h"
#include "trust.h"

#define JWTSVID_NUM_MAX		1e15	/* seconds: far beyond any date */

/*
 * JWT-SVID 2.1-2.3: the algorithms there are, typ JWT or JOSE, a kid of
 * at most BUNDLE_KID_MAX bytes, and "any header not described here MUST
 * NOT be included".  RFC 7515 makes kid optional, JWT-SVID 2.2 says it
 * SHOULD be set, and the SPIFFE SDKs refuse a token without one: so do
 * we, rather than try every key of the trust domain.
 */
static const struct jose_header_rules jwtsvid_header_rules = {
	.algs = JOSE_ALGS_JWTSVID,
	.typ = { "JWT", "JOSE", NULL },
	.kid_max = BUNDLE_KID_MAX,
	.kid_required = 1,
	.closed = 1,
};

/* What a parsed, verified token says. */
struct jwtsvid_token {
	json_t			*header;
	json_t			*claims;
	const struct jose_alg	*alg;
	const char		*kid;		/* borrowed from header */
	struct spiffe_id	 sub;
	unsigned char		*sig;
	size_t			 siglen;
	int64_t			 exp_ms;
};

/* SHA-256("jwt", NUL, audience, NUL, token): the cache key. */
static int
jwtsvid_digest(const char *audience, const char *token, size_t len,
    unsigned char *out)
{
	EVP_MD_CTX	*ctx;
	unsigned int	 n;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex2(ctx, jose_md(256), NULL) &&
	    EVP_DigestUpdate(ctx, "jwt", 4) &&
	    EVP_DigestUpdate(ctx, audience, strlen(audience) + 1) &&
	    EVP_DigestUpdate(ctx, token, len) &&
	    EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* 1 when s is short and tame enough to repeat in an error message. */
static int
jwtsvid_printable(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= 16 || !((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '+' || s[i] == '.'))
			return 0;
	return i > 0;
}

/* JWT-SVID 2.1-2.3 (jose_header_check), worded for the caller. */
static int
jwtsvid_check_header(struct jwtsvid_token *t, struct nsreg_error *err)
{
	const char	*alg, *member;

	switch (jose_header_check(t->header, &jwtsvid_header_rules, &t->alg,
	    &t->kid, &member)) {
	case JOSE_HEADER_OK:
		return 0;
	case JOSE_HEADER_ALG_MISSING:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: missing alg");
	case JOSE_HEADER_ALG_TYPE:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: alg is not a string");
	case JOSE_HEADER_ALG_REFUSED:
		alg = json_string_value(json_object_get(t->header, "alg"));
		if (jwtsvid_printable(alg))
			return nsreg_error_set(err, NSREG_UNAUTHENTICATED,
			    NULL, "jwt: algorithm %s not allowed", alg);
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: algorithm not allowed");
	case JOSE_HEADER_TYP:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: typ must be JWT or JOSE");
	case JOSE_HEADER_KID:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: kid is not a string of 1 to %d bytes",
		    BUNDLE_KID_MAX);
	case JOSE_HEADER_KID_MISSING:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: missing kid");
	case JOSE_HEADER_CRIT:
	case JOSE_HEADER_MEMBER:
	default:
		if (member != NULL && jwtsvid_printable(member))
			return nsreg_error_set(err, NSREG_UNAUTHENTICATED,
			    NULL, "jwt: header parameter %s not allowed",
			    member);
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: header parameter not allowed");
	}
}

static int
jwtsvid_check_sub(struct jwtsvid_token *t, struct nsreg_error *err)
{
	const json_t		*v = json_object_get(t->claims, "sub");
	const char		*sub = json_string_value(v);
	enum spiffe_rule	 rule;

	if (v == NULL)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: missing sub");
	if (sub == NULL)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: sub is not a string");
	rule = spiffe_id_check(sub, json_string_length(v), &t->sub);
	if (rule != SPIFFE_OK)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: sub is not a valid SPIFFE ID: %s",
		    spiffe_rule_message(rule));
	/* One rule for both SVIDs (X509-SVID 3.1): a workload has a path. */
	if (!spiffe_id_has_path(&t->sub))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: sub has no path");
	/* Rules and whoami see claims.sub in the canonical form only. */
	if (json_object_set_new(t->claims, "sub",
	    json_stringn(t->sub.id, t->sub.len)) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "jwt: out of memory");
	return 0;
}

/* ---- claims ------------------------------------------------------------ */

/* A NumericDate (RFC 7519 2) in ms: 1 present, 0 absent, -1 not one. */
static int
jwtsvid_date(const json_t *claims, const char *name, int64_t *ms)
{
	const json_t	*v = json_object_get(claims, name);
	double		 d;

	if (v == NULL)
		return 0;
	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	if (!isfinite(d) || d < -JWTSVID_NUM_MAX || d > JWTSVID_NUM_MAX)
		return -1;
	*ms = (int64_t)floor(d * 1000.0);
	return 1;
}

static int
jwtsvid_check_aud(const struct jwtsvid_token *t, const char *audience,
    struct nsreg_error *err)
{
	const json_t	*aud = json_object_get(t->claims, "aud"), *v;
	size_t		 i;
	int		 found = 0;

	if (aud == NULL || (json_is_array(aud) && json_array_size(aud) == 0))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: missing aud");
	if (json_is_string(aud))
		found = strcmp(json_string_value(aud), audience) == 0;
	else if (json_is_array(aud)) {
		json_array_foreach(aud, i, v) {
			if (!json_is_string(v))
				return nsreg_error_set(err,
				    NSREG_UNAUTHENTICATED, NULL,
				    "jwt: aud is not a string or an array "
				    "of strings");
			if (strcmp(json_string_value(v), audience) == 0)
				found = 1;
		}
	} else
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: aud is not a string or an array of strings");
	if (!found)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: audience mismatch");
	return 0;
}

static int
jwtsvid_check_times(struct jwtsvid_token *t, int64_t now_ms,
    struct nsreg_error *err)
{
	int64_t	nbf, iat;
	int	r;

	r = jwtsvid_date(t->claims, "exp", &t->exp_ms);
	if (r == 0)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: missing exp");
	if (r == -1)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: exp is not a NumericDate");
	/* RFC 7519 4.1.4: valid only before exp (plus the leeway). */
	if (now_ms >= t->exp_ms + JWTSVID_LEEWAY_MS)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: token expired");
	r = jwtsvid_date(t->claims, "nbf", &nbf);
	if (r == -1)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: nbf is not a NumericDate");
	if (r == 1 && now_ms + JWTSVID_LEEWAY_MS < nbf)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: token not yet valid");
	r = jwtsvid_date(t->claims, "iat", &iat);
	if (r == -1)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: iat is not a NumericDate");
	if (r == 1 && iat > now_ms + JWTSVID_LEEWAY_MS)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: token issued in the future");
	return 0;
}

/* ---- verification ------------------------------------------------------ */

/* Find the key and check the signature; *serial gets the bundle's. */
static int
jwtsvid_check_signature(struct trust *trust, struct jwtsvid_token *t,
    const char *input, size_t inlen, uint64_t *serial,
    struct nsreg_error *err)
{
	struct bundle		*b;
	const struct bundle_key	*k;
	char			 td[SPIFFE_TD_MAX + 1];
	int			 rc = -1, r;

	spiffe_id_trust_domain(&t->sub, td);
	if ((b = trust_get(trust, td)) == NULL)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: no bundle for trust domain %s", td);
	*serial = bundle_serial(b);
	/* jwtsvid_check_header made sure there is a kid. */
	if ((k = bundle_jwt_key(b, t->kid)) == NULL) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: unknown kid");
		goto out;
	}
	if (!jose_alg_fits(t->alg, k->type, k->curve)) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: key type does not fit %s", t->alg->name);
		goto out;
	}
	r = jose_verify(k->pkey, t->alg, input, inlen, t->sig, t->siglen);
	if (r == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "jwt: out of memory");
		goto out;
	}
	if (r == 0) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: bad signature");
		goto out;
	}
	rc = 0;
out:
	bundle_unref(b);
	return rc;
}

/* Split a compact JWS into its three parts; 0 or -1. */
static int
jwtsvid_split(const char *token, size_t len, size_t *dot1, size_t *dot2,
    struct nsreg_error *err)
{
	if (len > 0 && token[0] == '{')
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: not a compact JWS");
	if (jose_compact_split(token, len, dot1, dot2) != JOSE_SPLIT_OK)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: malformed token");
	return 0;
}

int
jwtsvid_verify(struct tokcache *cache, struct trust *trust,
    const char *audience, const char *token, size_t len, int64_t now_ms,
    struct principal *p, struct nsreg_error *err)
{
	struct jwtsvid_token	 t;
	unsigned char		 digest[TOKCACHE_DIGEST_LEN];
	uint64_t		 serial = 0;
	size_t			 dot1 = 0, dot2 = 0;
	int			 rc = -1, cacheable;

	memset(&t, 0, sizeof(t));
	principal_clear(p);
	if (audience == NULL || token == NULL) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: no token");
		return -1;
	}
	if (len > JWTSVID_TOKEN_MAX) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: token longer than %d bytes", JWTSVID_TOKEN_MAX);
		return -1;
	}

	cacheable = cache != NULL &&
	    jwtsvid_digest(audience, token, len, digest) == 0;
	if (tokcache_get(cache, trust, cacheable ? digest : NULL, now_ms, p))
		return 0;

	if (jwtsvid_split(token, len, &dot1, &dot2, err) == -1)
		goto out;
	if ((t.header = jose_b64url_object(token, dot1)) == NULL) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: malformed header");
		goto out;
	}
	if (jwtsvid_check_header(&t, err) == -1)
		goto out;
	if ((t.claims = jose_b64url_object(token + dot1 + 1,
	    dot2 - dot1 - 1)) == NULL) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: malformed claims");
		goto out;
	}
	if (dot2 + 1 == len) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: missing signature");
		goto out;
	}
	if (jose_b64_decode(token + dot2 + 1, len - dot2 - 1, 1, &t.sig,
	    &t.siglen) == -1) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: malformed signature");
		goto out;
	}
	if (jwtsvid_check_sub(&t, err) == -1 ||
	    jwtsvid_check_signature(trust, &t, token, dot2, &serial,
	    err) == -1 ||
	    jwtsvid_check_aud(&t, audience, err) == -1 ||
	    jwtsvid_check_times(&t, now_ms, err) == -1)
		goto out;

	p->auth = PRINCIPAL_JWT;
	memcpy(p->id, t.sub.id, t.sub.len + 1);
	spiffe_id_trust_domain(&t.sub, p->trust_domain);
	p->path_off = t.sub.path_off;
	p->expires_at = t.exp_ms;
	p->claims = json_incref(t.claims);
	if (cacheable)
		tokcache_put(cache, digest, now_ms,
		    t.exp_ms + JWTSVID_LEEWAY_MS, p, serial);
	rc = 0;
out:
	json_decref(t.header);
	json_decref(t.claims);
	free(t.sig);
	return rc;
}
