/*
 * jwtsvid.c - JWT-SVID verification and the verified-token cache
 * (jwtsvid.h).
 *
 * The token is parsed with jansson and our own base64url, not libjwt:
 * libjwt 1.10 re-parses PEM keys on every call, accepts HS256 keyed with a
 * public key, rejects typ JOSE and checks no claim (DESIGN section 7).
 * Signatures are checked by OpenSSL with the EVP_PKEYs the bundle parsed
 * once.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "identity_int.h"
#include "jwtsvid.h"
#include "principal.h"
#include "spiffe.h"
#include "trust.h"

#define JWTSVID_WAYS		16	/* entries per cache set */
#define JWTSVID_STRIPES		64	/* locks */
#define JWTSVID_DIGEST		IDENTITY_DIGEST_LEN
#define JWTSVID_NUM_MAX		1e15	/* seconds: far beyond any date */

enum jwtsvid_family {
	JWTSVID_RS = 0,		/* RSASSA-PKCS1-v1_5 */
	JWTSVID_PS,		/* RSASSA-PSS */
	JWTSVID_ES		/* ECDSA, raw r||s signatures */
};

/* JWT-SVID 2.1: the only algorithms there are. */
static const struct jwtsvid_alg {
	const char		*name;
	enum jwtsvid_family	 family;
	int			 md;	/* index into jwtsvid_mds */
	int			 curve;	/* ES: the one curve allowed */
	size_t			 half;	/* ES: bytes of r (and of s) */
} jwtsvid_algs[] = {
	{ "RS256", JWTSVID_RS, 0, 0, 0 },
	{ "RS384", JWTSVID_RS, 1, 0, 0 },
	{ "RS512", JWTSVID_RS, 2, 0, 0 },
	{ "ES256", JWTSVID_ES, 0, NID_X9_62_prime256v1, 32 },
	{ "ES384", JWTSVID_ES, 1, NID_secp384r1, 48 },
	{ "ES512", JWTSVID_ES, 2, NID_secp521r1, 66 },
	{ "PS256", JWTSVID_PS, 0, 0, 0 },
	{ "PS384", JWTSVID_PS, 1, 0, 0 },
	{ "PS512", JWTSVID_PS, 2, 0, 0 },
};

#define JWTSVID_NALGS	(sizeof(jwtsvid_algs) / sizeof(jwtsvid_algs[0]))

static const char *const jwtsvid_md_names[3] = {
	"SHA256", "SHA384", "SHA512"
};
static EVP_MD		*jwtsvid_mds[3];
static pthread_once_t	 jwtsvid_once = PTHREAD_ONCE_INIT;

/* A verified credential: what its principal needs, and until when. */
struct jwtsvid_entry {
	unsigned char	 digest[JWTSVID_DIGEST];
	int		 used;
	int64_t		 until_ms;	/* unusable from then */
	uint64_t	 serial;	/* of the bundle that verified it */
	enum principal_auth auth;
	char		*id;		/* normalised SPIFFE ID */
	size_t		 td_len;
	size_t		 path_off;
	int64_t		 expires_at;
	json_t		*claims;
};

struct jwtsvid_cache {
	size_t			 nsets;		/* a power of two, or 0 */
	struct jwtsvid_entry	*entries;	/* nsets * JWTSVID_WAYS */
	pthread_mutex_t		 locks[JWTSVID_STRIPES];
	uint64_t		 hits;		/* atomic */
	uint64_t		 misses;	/* atomic */
};

/* What a parsed, verified token says. */
struct jwtsvid_token {
	json_t			*header;
	json_t			*claims;
	const struct jwtsvid_alg *alg;
	const char		*kid;		/* borrowed from header */
	struct spiffe_id	 sub;
	unsigned char		*sig;
	size_t			 siglen;
	int64_t			 exp_ms;
};

static void
jwtsvid_init(void)
{
	size_t	i;

	/* Fetched once: an implicit fetch per call costs a lock or two. */
	for (i = 0; i < 3; i++)
		jwtsvid_mds[i] = EVP_MD_fetch(NULL, jwtsvid_md_names[i], NULL);
}

static const EVP_MD *
jwtsvid_md(int i)
{
	pthread_once(&jwtsvid_once, jwtsvid_init);
	return jwtsvid_mds[i];
}

/* ---- cache ------------------------------------------------------------- */

struct jwtsvid_cache *
jwtsvid_cache_new(size_t max)
{
	struct jwtsvid_cache	*c;
	size_t			 sets = 0, i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (max > 0) {
		/*
		 * Twice the slots asked for, so that max credentials hashed
		 * into sets of 16 almost never overflow one.
		 */
		sets = 1;
		while (sets * JWTSVID_WAYS < 2 * max &&
		    sets < ((size_t)1 << 24))
			sets <<= 1;
		c->entries = calloc(sets * JWTSVID_WAYS, sizeof(*c->entries));
		if (c->entries == NULL) {
			free(c);
			return NULL;
		}
	}
	c->nsets = sets;
	for (i = 0; i < JWTSVID_STRIPES; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	return c;
}

static void
jwtsvid_entry_clear(struct jwtsvid_entry *e)
{
	free(e->id);
	json_decref(e->claims);
	memset(e, 0, sizeof(*e));
}

void
jwtsvid_cache_flush(struct jwtsvid_cache *c)
{
	size_t	s, w;

	if (c == NULL)
		return;
	for (s = 0; s < c->nsets; s++) {
		pthread_mutex_lock(&c->locks[s % JWTSVID_STRIPES]);
		for (w = 0; w < JWTSVID_WAYS; w++)
			jwtsvid_entry_clear(&c->entries[s * JWTSVID_WAYS + w]);
		pthread_mutex_unlock(&c->locks[s % JWTSVID_STRIPES]);
	}
}

void
jwtsvid_cache_free(struct jwtsvid_cache *c)
{
	size_t	i;

	if (c == NULL)
		return;
	jwtsvid_cache_flush(c);
	for (i = 0; i < JWTSVID_STRIPES; i++)
		pthread_mutex_destroy(&c->locks[i]);
	free(c->entries);
	free(c);
}

void
jwtsvid_cache_stats(struct jwtsvid_cache *c, uint64_t *hits,
    uint64_t *misses)
{
	*hits = c == NULL ? 0 : __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
	*misses = c == NULL ? 0 :
	    __atomic_load_n(&c->misses, __ATOMIC_RELAXED);
}

static size_t
jwtsvid_set(const struct jwtsvid_cache *c, const unsigned char *digest)
{
	uint64_t	h;

	memcpy(&h, digest, sizeof(h));
	return (size_t)h & (c->nsets - 1);
}

int
jwtsvid_cache_lookup(struct jwtsvid_cache *c, const unsigned char *digest,
    int64_t now_ms, struct principal *p, uint64_t *serial)
{
	struct jwtsvid_entry	*e;
	size_t			 set, w;
	int			 hit = 0;

	if (c == NULL || c->nsets == 0)
		return 0;
	set = jwtsvid_set(c, digest);
	pthread_mutex_lock(&c->locks[set % JWTSVID_STRIPES]);
	for (w = 0; w < JWTSVID_WAYS; w++) {
		e = &c->entries[set * JWTSVID_WAYS + w];
		if (!e->used ||
		    memcmp(e->digest, digest, JWTSVID_DIGEST) != 0)
			continue;
		if (now_ms >= e->until_ms) {
			jwtsvid_entry_clear(e);
			break;
		}
		p->auth = e->auth;
		snprintf(p->id, sizeof(p->id), "%s", e->id);
		memcpy(p->trust_domain, e->id + SPIFFE_SCHEME_LEN, e->td_len);
		p->trust_domain[e->td_len] = '\0';
		p->path_off = e->path_off;
		p->expires_at = e->expires_at;
		p->claims = json_incref(e->claims);
		*serial = e->serial;
		hit = 1;
		break;
	}
	pthread_mutex_unlock(&c->locks[set % JWTSVID_STRIPES]);
	return hit;
}

void
jwtsvid_cache_insert(struct jwtsvid_cache *c, const unsigned char *digest,
    int64_t now_ms, int64_t until_ms, const struct principal *p,
    uint64_t serial)
{
	struct jwtsvid_entry	*e, *victim = NULL;
	size_t			 set, w;
	char			*id;

	if (c == NULL || c->nsets == 0 || until_ms <= now_ms)
		return;
	if ((id = strdup(p->id)) == NULL)
		return;
	set = jwtsvid_set(c, digest);
	pthread_mutex_lock(&c->locks[set % JWTSVID_STRIPES]);
	/* The same credential, a free way, an expired one, else the one
	 * that expires first (it would leave first anyway). */
	for (w = 0; w < JWTSVID_WAYS; w++) {
		e = &c->entries[set * JWTSVID_WAYS + w];
		if (e->used &&
		    memcmp(e->digest, digest, JWTSVID_DIGEST) == 0) {
			victim = e;
			break;
		}
		if (!e->used || now_ms >= e->until_ms) {
			if (victim == NULL || victim->used)
				victim = e;
		} else if (victim == NULL ||
		    (victim->used && e->until_ms < victim->until_ms))
			victim = e;
	}
	jwtsvid_entry_clear(victim);
	memcpy(victim->digest, digest, JWTSVID_DIGEST);
	victim->used = 1;
	victim->until_ms = until_ms;
	victim->serial = serial;
	victim->auth = p->auth;
	victim->id = id;
	victim->td_len = strlen(p->trust_domain);
	victim->path_off = p->path_off;
	victim->expires_at = p->expires_at;
	victim->claims = json_incref(p->claims);
	pthread_mutex_unlock(&c->locks[set % JWTSVID_STRIPES]);
}

void
jwtsvid_cache_count(struct jwtsvid_cache *c, int hit)
{
	if (c != NULL)
		__atomic_add_fetch(hit ? &c->hits : &c->misses, 1,
		    __ATOMIC_RELAXED);
}

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
	ok = EVP_DigestInit_ex2(ctx, jwtsvid_md(0), NULL) &&
	    EVP_DigestUpdate(ctx, "jwt", 4) &&
	    EVP_DigestUpdate(ctx, audience, strlen(audience) + 1) &&
	    EVP_DigestUpdate(ctx, token, len) &&
	    EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

const EVP_MD *
jwtsvid_sha256(void)
{
	return jwtsvid_md(0);
}

/* ---- parsing ----------------------------------------------------------- */

/* A base64url part decoded and parsed as a JSON object. */
static json_t *
jwtsvid_json_part(const char *s, size_t len)
{
	unsigned char	*raw;
	size_t		 rawlen;
	json_t		*j;

	if (len == 0 || bundle_b64_decode(s, len, 1, &raw, &rawlen) == -1)
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

/* JWT-SVID 2.1, checked before anything else in the token is used. */
static int
jwtsvid_check_alg(struct jwtsvid_token *t, struct nsreg_error *err)
{
	const json_t	*v = json_object_get(t->header, "alg");
	const char	*alg = json_string_value(v);
	size_t		 i;

	if (v == NULL)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: missing alg");
	if (alg == NULL)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: alg is not a string");
	for (i = 0; i < JWTSVID_NALGS; i++)
		if (strcmp(jwtsvid_algs[i].name, alg) == 0) {
			t->alg = &jwtsvid_algs[i];
			return 0;
		}
	if (jwtsvid_printable(alg))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: algorithm %s not allowed", alg);
	return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
	    "jwt: algorithm not allowed");
}

/* JWT-SVID 2.2, 2.3 and "any header not described here MUST NOT be
 * included". */
static int
jwtsvid_check_header(struct jwtsvid_token *t, struct nsreg_error *err)
{
	const char	*key, *typ;
	json_t		*v;

	json_object_foreach(t->header, key, v) {
		if (strcmp(key, "alg") == 0)
			continue;
		if (strcmp(key, "typ") == 0) {
			typ = json_string_value(v);
			if (typ == NULL || (strcmp(typ, "JWT") != 0 &&
			    strcmp(typ, "JOSE") != 0))
				return nsreg_error_set(err,
				    NSREG_UNAUTHENTICATED, NULL,
				    "jwt: typ must be JWT or JOSE");
		} else if (strcmp(key, "kid") == 0) {
			t->kid = json_string_value(v);
			if (t->kid == NULL || t->kid[0] == '\0' ||
			    strlen(t->kid) > BUNDLE_KID_MAX)
				return nsreg_error_set(err,
				    NSREG_UNAUTHENTICATED, NULL,
				    "jwt: kid is not a string of 1 to %d "
				    "bytes", BUNDLE_KID_MAX);
		} else if (jwtsvid_printable(key))
			return nsreg_error_set(err, NSREG_UNAUTHENTICATED,
			    NULL, "jwt: header parameter %s not allowed", key);
		else
			return nsreg_error_set(err, NSREG_UNAUTHENTICATED,
			    NULL, "jwt: header parameter not allowed");
	}
	/*
	 * RFC 7515 makes kid optional, JWT-SVID 2.2 says it SHOULD be set,
	 * and the SPIFFE SDKs refuse a token without one: so do we, rather
	 * than try every key of the trust domain.
	 */
	if (t->kid == NULL)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: missing kid");
	return 0;
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

/* ---- signatures -------------------------------------------------------- */

/* 1 when key k can check signatures of alg a. */
static int
jwtsvid_key_fits(const struct bundle_key *k, const struct jwtsvid_alg *a)
{
	if (a->family == JWTSVID_ES)
		return k->type == EVP_PKEY_EC && k->curve == a->curve;
	return k->type == EVP_PKEY_RSA;
}

/* JWS ECDSA signatures are r||s (RFC 7518 3.4); OpenSSL wants DER. */
static unsigned char *
jwtsvid_es_der(const unsigned char *sig, size_t len, size_t half,
    size_t *derlen)
{
	ECDSA_SIG	*es;
	BIGNUM		*r, *s;
	unsigned char	*der = NULL;
	int		 n;

	if (len != 2 * half || (es = ECDSA_SIG_new()) == NULL)
		return NULL;
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	if (r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return NULL;
	}
	n = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return NULL;
	*derlen = (size_t)n;
	return der;
}

/* 1 good signature, 0 bad, -1 out of memory. */
static int
jwtsvid_verify_sig(const struct bundle_key *k, const struct jwtsvid_alg *a,
    const char *input, size_t inlen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	*der = NULL;
	const unsigned char *s = sig;
	size_t		 slen = siglen;
	int		 rc = -1, r;

	if (a->family == JWTSVID_ES) {
		if ((der = jwtsvid_es_der(sig, siglen, a->half, &slen)) ==
		    NULL)
			return siglen != 2 * a->half ? 0 : -1;
		s = der;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, &pctx, jwtsvid_md(a->md), NULL,
	    k->pkey) != 1)
		goto out;
	if (a->family == JWTSVID_PS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	    RSA_PSS_SALTLEN_DIGEST) <= 0))
		goto out;
	r = EVP_DigestVerify(ctx, s, slen, (const unsigned char *)input,
	    inlen);
	rc = r == 1 ? 1 : 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return rc;
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
	if (!jwtsvid_key_fits(k, t->alg)) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: key type does not fit %s", t->alg->name);
		goto out;
	}
	r = jwtsvid_verify_sig(k, t->alg, input, inlen, t->sig, t->siglen);
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
	size_t	i, dots = 0;

	if (len > 0 && token[0] == '{')
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: not a compact JWS");
	for (i = 0; i < len; i++) {
		char	c = token[i];

		if (c == '.') {
			if (dots == 0)
				*dot1 = i;
			else
				*dot2 = i;
			if (++dots > 2)
				break;
		} else if (!((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return nsreg_error_set(err, NSREG_UNAUTHENTICATED,
			    NULL, "jwt: malformed token");
	}
	if (dots != 2)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: malformed token");
	return 0;
}

int
jwtsvid_verify(struct jwtsvid_cache *cache, struct trust *trust,
    const char *audience, const char *token, size_t len, int64_t now_ms,
    struct principal *p, struct nsreg_error *err)
{
	struct jwtsvid_token	 t;
	unsigned char		 digest[JWTSVID_DIGEST];
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
	if (cacheable && jwtsvid_cache_lookup(cache, digest, now_ms, p,
	    &serial)) {
		/* Only while the bundle that verified it is still current. */
		if (trust_serial(trust, p->trust_domain) == serial) {
			jwtsvid_cache_count(cache, 1);
			return 0;
		}
		principal_clear(p);
	}
	jwtsvid_cache_count(cache, 0);

	if (jwtsvid_split(token, len, &dot1, &dot2, err) == -1)
		goto out;
	if ((t.header = jwtsvid_json_part(token, dot1)) == NULL) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "jwt: malformed header");
		goto out;
	}
	if (jwtsvid_check_alg(&t, err) == -1 ||
	    jwtsvid_check_header(&t, err) == -1)
		goto out;
	if ((t.claims = jwtsvid_json_part(token + dot1 + 1,
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
	if (bundle_b64_decode(token + dot2 + 1, len - dot2 - 1, 1, &t.sig,
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
		jwtsvid_cache_insert(cache, digest, now_ms,
		    t.exp_ms + JWTSVID_LEEWAY_MS, p, serial);
	rc = 0;
out:
	json_decref(t.header);
	json_decref(t.claims);
	free(t.sig);
	return rc;
}
