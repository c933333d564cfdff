/*
 * grant.c - the grant signing key, ES256 compact JWS tokens, key sets.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include "grant.h"
#include "jose.h"
#include "util.h"

#define GRANT_PEM_MAX	(64 * 1024)
#define GRANT_KEYS_MAX	64		/* keys in a set */

/* Grants are ES256 and nothing else (DESIGN section 7): alg exactly
 * ES256, no crit, typ absent or JWT, a kid. */
static const struct jose_header_rules grant_header_rules = {
	.algs = JOSE_ALG_ES256,
	.typ = { "JWT", NULL },
	.kid_max = 0,
	.kid_required = 1,
	.closed = 0,
};

struct grant_key {
	atomic_int	 refs;
	uint64_t	 gen;		/* unique per loaded key */
	EVP_PKEY	*pkey;
	char		 kid[GRANT_KID_MAX];
	char		 x[48], y[48];	/* base64url coordinates */
};

struct grant_pub {
	char		 kid[GRANT_KID_MAX];
	EVP_PKEY	*pkey;
};

struct grant_keyset {
	atomic_int	 refs;
	struct grant_pub v[GRANT_KEYS_MAX];
	size_t		 n;
};

/*
 * Each thread keeps a signing context initialised for the key it last
 * signed with, and copies it for each token: initialising one per token
 * looks the algorithm up in OpenSSL's provider store under a lock that
 * signing threads contend on.  The template holds its own reference to
 * the key, so a key rotated away stays valid until the thread moves on.
 */
struct grant_tls {
	uint64_t	 gen;
	EVP_MD_CTX	*tmpl;		/* initialised for key gen */
	EVP_MD_CTX	*work;		/* a copy per token */
};

static pthread_once_t		grant_tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t		grant_tls_key;
static int			grant_tls_ok;
static atomic_uint_fast64_t	grant_key_gen;

static void
grant_tls_free(void *arg)
{
	struct grant_tls	*t = arg;

	EVP_MD_CTX_free(t->tmpl);
	EVP_MD_CTX_free(t->work);
	free(t);
}

static void
grant_tls_init(void)
{
	grant_tls_ok = pthread_key_create(&grant_tls_key, grant_tls_free) ==
	    0;
}

/*
 * A context ready for one EVP_DigestSign with k: this thread's copy of
 * its template (borrowed, *own 0), or a new one (*own 1, free it) when
 * thread-local storage is not to be had.  NULL on failure.
 */
static EVP_MD_CTX *
grant_sign_ctx(const struct grant_key *k, int *own)
{
	struct grant_tls	*t;
	EVP_MD_CTX		*ctx;

	*own = 0;
	pthread_once(&grant_tls_once, grant_tls_init);
	t = grant_tls_ok ? pthread_getspecific(grant_tls_key) : NULL;
	if (t == NULL && grant_tls_ok && (t = calloc(1, sizeof(*t))) != NULL &&
	    pthread_setspecific(grant_tls_key, t) != 0) {
		free(t);
		t = NULL;
	}
	if (t == NULL) {
		*own = 1;
		if ((ctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit(ctx, NULL, jose_md(256), NULL,
		    k->pkey) != 1) {
			EVP_MD_CTX_free(ctx);
			ctx = NULL;
		}
		return ctx;
	}
	if (t->tmpl == NULL || t->gen != k->gen) {
		EVP_MD_CTX_free(t->tmpl);
		t->gen = 0;
		if ((t->tmpl = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(t->tmpl, NULL, jose_md(256), NULL,
		    k->pkey) != 1) {
			EVP_MD_CTX_free(t->tmpl);
			t->tmpl = NULL;
			return NULL;
		}
		t->gen = k->gen;
	}
	if (t->work == NULL && (t->work = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (EVP_MD_CTX_copy_ex(t->work, t->tmpl) != 1)
		return NULL;
	return t->work;
}

/* 1 when pk is an EC key on P-256. */
static int
grant_is_p256(EVP_PKEY *pk)
{
	char	name[64];
	size_t	n = 0;

	if (!EVP_PKEY_is_a(pk, "EC"))
		return 0;
	if (!EVP_PKEY_get_group_name(pk, name, sizeof(name), &n))
		return 0;
	return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0;
}

/* A coordinate of a public JWK (borrowed) into buf[0..len). */
static int
grant_coord(const json_t *jwk, const char *name, char *buf, size_t len)
{
	const char	*v = json_string_value(json_object_get(jwk, name));

	if (v == NULL || strlen(v) >= len)
		return -1;
	memcpy(buf, v, strlen(v) + 1);
	return 0;
}

/* A new P-256 key written to path, mode 0600, as PKCS#8 PEM. */
static int
grant_key_create(const char *path, struct nsreg_error *err)
{
	EVP_PKEY	*pk = NULL;
	BIO		*bio = NULL;
	char		*mem;
	long		 len;
	int		 rc = -1;

	if ((pk = EVP_EC_gen("P-256")) == NULL ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) ||
	    (len = BIO_get_mem_data(bio, &mem)) <= 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "grant-key %s: cannot generate a key", path);
		goto out;
	}
	if (util_file_write(path, mem, (size_t)len, 0600) == -1) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "grant-key",
		    "grant-key %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (bio != NULL) {
		if ((len = BIO_get_mem_data(bio, &mem)) > 0)
			OPENSSL_cleanse(mem, (size_t)len);
		BIO_free(bio);
	}
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return rc;
}

struct grant_key *
grant_key_load(const char *path, int create, struct nsreg_error *err)
{
	struct grant_key	*k = NULL;
	struct stat		 sb;
	json_t			*jwk = NULL;
	BIO			*bio = NULL;
	char			*pem = NULL;
	size_t			 len = 0;

	if (path == NULL || path[0] == '\0') {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "grant-key",
		    "grant-key: no file");
		return NULL;
	}
	if (stat(path, &sb) == -1 && errno == ENOENT && create &&
	    grant_key_create(path, err) == -1)
		return NULL;
	if (stat(path, &sb) == -1) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "grant-key",
		    "grant-key %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "grant-key",
		    "grant-key %s: not a regular file", path);
		return NULL;
	}
	if ((sb.st_mode & 077) != 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "grant-key",
		    "grant-key %s: mode %04o lets group or others at the "
		    "private key; chmod 600 %s", path,
		    (unsigned int)(sb.st_mode & 07777), path);
		return NULL;
	}
	if ((pem = util_file_read(path, GRANT_PEM_MAX, &len)) == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "grant-key",
		    "grant-key %s: %s", path, util_file_strerror(errno));
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	atomic_init(&k->refs, 1);
	k->gen = atomic_fetch_add(&grant_key_gen, 1) + 1;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		k->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (k->pkey == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "grant-key",
		    "grant-key %s: not a PEM private key", path);
		goto fail;
	}
	if (!grant_is_p256(k->pkey)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "grant-key",
		    "grant-key %s: not an EC P-256 key (grants are ES256)",
		    path);
		goto fail;
	}
	if ((jwk = json_object()) == NULL ||
	    jose_jwk_params(k->pkey, jwk) == -1 ||
	    grant_coord(jwk, "x", k->x, sizeof(k->x)) == -1 ||
	    grant_coord(jwk, "y", k->y, sizeof(k->y)) == -1 ||
	    jose_jwk_thumbprint(jwk, k->kid, sizeof(k->kid)) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "grant-key %s: cannot read the public key", path);
		goto fail;
	}
	goto out;
fail:
	grant_key_unref(k);
	k = NULL;
out:
	json_decref(jwk);
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	ERR_clear_error();
	return k;
}

struct grant_key *
grant_key_ref(struct grant_key *k)
{
	if (k != NULL)
		atomic_fetch_add(&k->refs, 1);
	return k;
}

void
grant_key_unref(struct grant_key *k)
{
	if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *
grant_key_kid(const struct grant_key *k)
{
	return k->kid;
}

json_t *
grant_key_jwk(const struct grant_key *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
	    "crv", "P-256", "x", k->x, "y", k->y, "kid", k->kid, "use", "sig",
	    "alg", "ES256");
}

char *
grant_sign(const struct grant_key *k, const json_t *claims,
    struct nsreg_error *err)
{
	EVP_MD_CTX	*ctx = NULL;
	json_t		*hdr;
	char		*token = NULL;
	int		 own = 0;

	if ((hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid",
	    k->kid, "typ", "JWT")) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if ((ctx = grant_sign_ctx(k, &own)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "grant: signing failed");
		goto out;
	}
	token = jose_sign(ctx, jose_alg_lookup("ES256", JOSE_ALG_ES256), hdr,
	    claims, err);
out:
	ERR_clear_error();
	if (own)
		EVP_MD_CTX_free(ctx);
	json_decref(hdr);
	return token;
}

/* An EC P-256 public key from a JWK, or NULL. */
static EVP_PKEY *
grant_pub_from_jwk(const json_t *jwk)
{
	struct nsreg_error	 err;
	EVP_PKEY		*pk = NULL;

	if (jose_jwk_to_pkey(jwk, "keys", 0, &pk, &err) != 1)
		return NULL;
	if (jose_pkey_curve(pk) != NID_X9_62_prime256v1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

struct grant_keyset *
grant_keyset_new(const json_t *jwks, struct nsreg_error *err)
{
	struct grant_keyset	*ks;
	const json_t		*jwk;
	const char		*kid;
	size_t			 i;

	if (!json_is_array(jwks) || json_array_size(jwks) > GRANT_KEYS_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "keys",
		    "keys: an array of at most %d JWKs", GRANT_KEYS_MAX);
		return NULL;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	atomic_init(&ks->refs, 1);
	json_array_foreach(jwks, i, jwk) {
		kid = json_string_value(json_object_get(jwk, "kid"));
		if (kid == NULL || kid[0] == '\0' ||
		    strlen(kid) >= GRANT_KID_MAX) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "keys",
			    "keys[%zu]: no usable kid", i);
			goto fail;
		}
		if ((ks->v[ks->n].pkey = grant_pub_from_jwk(jwk)) == NULL) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "keys",
			    "keys[%zu]: not an EC P-256 public key", i);
			goto fail;
		}
		snprintf(ks->v[ks->n].kid, sizeof(ks->v[0].kid), "%s", kid);
		ks->n++;
	}
	return ks;
fail:
	grant_keyset_unref(ks);
	return NULL;
}

struct grant_keyset *
grant_keyset_ref(struct grant_keyset *ks)
{
	if (ks != NULL)
		atomic_fetch_add(&ks->refs, 1);
	return ks;
}

void
grant_keyset_unref(struct grant_keyset *ks)
{
	size_t	i;

	if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (i = 0; i < ks->n; i++)
		EVP_PKEY_free(ks->v[i].pkey);
	free(ks);
}

size_t
grant_keyset_size(const struct grant_keyset *ks)
{
	return ks != NULL ? ks->n : 0;
}

/* The header's verdict: the public key to use, or NULL with why. */
static EVP_PKEY *
grant_header_check(const struct grant_keyset *ks, const unsigned char *h,
    size_t hlen, char *kid, char *why, size_t whylen)
{
	const struct jose_alg	*alg;
	const char		*k, *member;
	json_t			*hdr;
	EVP_PKEY		*pk = NULL;
	size_t			 i;

	if ((hdr = json_loadb((const char *)h, hlen, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || !json_is_object(hdr)) {
		snprintf(why, whylen, "header is not a JSON object");
		goto out;
	}
	switch (jose_header_check(hdr, &grant_header_rules, &alg, &k,
	    &member)) {
	case JOSE_HEADER_OK:
		break;
	case JOSE_HEADER_CRIT:
		snprintf(why, whylen, "crit is not supported");
		goto out;
	case JOSE_HEADER_TYP:
		snprintf(why, whylen, "typ is not JWT");
		goto out;
	case JOSE_HEADER_KID:
	case JOSE_HEADER_KID_MISSING:
		snprintf(why, whylen, "no kid");
		goto out;
	default:
		snprintf(why, whylen, "alg is not ES256");
		goto out;
	}
	for (i = 0; ks != NULL && i < ks->n; i++)
		if (strcmp(ks->v[i].kid, k) == 0) {
			pk = ks->v[i].pkey;
			if (kid != NULL)
				snprintf(kid, GRANT_KID_MAX, "%s", k);
			break;
		}
	if (pk == NULL)
		snprintf(why, whylen, "unknown kid");
out:
	json_decref(hdr);
	return pk;
}

json_t *
grant_verify(const struct grant_keyset *ks, const char *token, char *kid,
    char *why, size_t whylen)
{
	const struct jose_alg	*es256 = jose_alg_lookup("ES256",
				    JOSE_ALG_ES256);
	EVP_PKEY		*pk;
	json_t			*claims = NULL;
	unsigned char		*h = NULL, *c = NULL, *sig = NULL;
	size_t			 len, d1, d2, hlen, clen, slen;
	int			 r;

	why[0] = '\0';
	if (kid != NULL)
		kid[0] = '\0';
	if (token == NULL || (len = strlen(token)) == 0 ||
	    len > GRANT_TOKEN_MAX) {
		snprintf(why, whylen, "no token or too long");
		goto out;
	}
	switch (jose_compact_split(token, len, &d1, &d2)) {
	case JOSE_SPLIT_OK:
		break;
	case JOSE_SPLIT_PARTS:
		snprintf(why, whylen, "not a compact JWS (three parts)");
		goto out;
	default:
		snprintf(why, whylen, "a part is not base64url");
		goto out;
	}
	if (jose_b64_decode(token, d1, 1, &h, &hlen) == -1 ||
	    jose_b64_decode(token + d1 + 1, d2 - d1 - 1, 1, &c, &clen) == -1 ||
	    jose_b64_decode(token + d2 + 1, len - d2 - 1, 1, &sig,
	    &slen) == -1) {
		snprintf(why, whylen, "a part is not base64url");
		goto out;
	}
	if ((pk = grant_header_check(ks, h, hlen, kid, why, whylen)) == NULL)
		goto out;
	if (slen != 2 * es256->half) {
		snprintf(why, whylen, "signature is not 64 bytes");
		goto out;
	}
	if ((r = jose_verify(pk, es256, token, d2, sig, slen)) != 1) {
		snprintf(why, whylen, r == -1 ? "out of memory" :
		    "bad signature");
		goto out;
	}
	if ((claims = json_loadb((const char *)c, clen,
	    JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(claims)) {
		json_decref(claims);
		claims = NULL;
		snprintf(why, whylen, "claims are not a JSON object");
		goto out;
	}
out:
	free(h);
	free(c);
	free(sig);
	if (claims == NULL && kid != NULL)
		kid[0] = '\0';
	return claims;
}
