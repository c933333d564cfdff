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
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "grant.h"
#include "svid.h"
#include "util.h"

#define GRANT_PEM_MAX	(64 * 1024)
#define GRANT_COORD	32		/* P-256 coordinate and r, s bytes */
#define GRANT_KEYS_MAX	64		/* keys in a set */

struct grant_key {
	atomic_int	 refs;
	uint64_t	 gen;		/* unique per loaded key */
	EVP_PKEY	*pkey;
	EVP_MD		*md;		/* SHA-256, fetched once */
	char		 kid[GRANT_KID_MAX];
	char		 x[48], y[48];	/* base64url coordinates */
};

struct grant_pub {
	char		 kid[GRANT_KID_MAX];
	EVP_PKEY	*pkey;
};

struct grant_keyset {
	atomic_int	 refs;
	EVP_MD		*md;
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
		    EVP_DigestSignInit(ctx, NULL, k->md, NULL, k->pkey) != 1) {
			EVP_MD_CTX_free(ctx);
			ctx = NULL;
		}
		return ctx;
	}
	if (t->tmpl == NULL || t->gen != k->gen) {
		EVP_MD_CTX_free(t->tmpl);
		t->gen = 0;
		if ((t->tmpl = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(t->tmpl, NULL, k->md, NULL, k->pkey) !=
		    1) {
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

static const char grant_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
grant_b64url_encode(const unsigned char *data, size_t len)
{
	char		*out, *o;
	size_t		 i;
	uint32_t	 v;

	if ((out = malloc(len / 3 * 4 + 5)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 |
		    data[i + 2];
		*o++ = grant_b64url_alphabet[v >> 18];
		*o++ = grant_b64url_alphabet[(v >> 12) & 63];
		*o++ = grant_b64url_alphabet[(v >> 6) & 63];
		*o++ = grant_b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)data[i] << 16;
		*o++ = grant_b64url_alphabet[v >> 18];
		*o++ = grant_b64url_alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
		*o++ = grant_b64url_alphabet[v >> 18];
		*o++ = grant_b64url_alphabet[(v >> 12) & 63];
		*o++ = grant_b64url_alphabet[(v >> 6) & 63];
	}
	*o = '\0';
	return out;
}

static int
grant_b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
grant_b64url_decode(const char *s, size_t len, unsigned char *out,
    size_t *outlen)
{
	uint32_t	v = 0;
	size_t		i, o = 0;
	int		d, bits = 0;

	*outlen = 0;
	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((d = grant_b64url_value(s[i])) < 0)
			return -1;
		v = (v << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
			v &= (1U << bits) - 1;
		}
	}
	/* What is left are padding bits: they must be zero (canonical). */
	if (v != 0)
		return -1;
	*outlen = o;
	return 0;
}

/* Coordinates of an EC key as base64url, each GRANT_COORD bytes. */
static int
grant_coords(EVP_PKEY *pk, char *x, char *y, size_t len)
{
	BIGNUM		*bx = NULL, *by = NULL;
	unsigned char	 bx_raw[GRANT_COORD], by_raw[GRANT_COORD];
	char		*ex = NULL, *ey = NULL;
	int		 rc = -1;

	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) ||
	    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) ||
	    BN_bn2binpad(bx, bx_raw, GRANT_COORD) != GRANT_COORD ||
	    BN_bn2binpad(by, by_raw, GRANT_COORD) != GRANT_COORD)
		goto out;
	if ((ex = grant_b64url_encode(bx_raw, GRANT_COORD)) == NULL ||
	    (ey = grant_b64url_encode(by_raw, GRANT_COORD)) == NULL ||
	    strlen(ex) >= len || strlen(ey) >= len)
		goto out;
	memcpy(x, ex, strlen(ex) + 1);
	memcpy(y, ey, strlen(ey) + 1);
	rc = 0;
out:
	BN_free(bx);
	BN_free(by);
	free(ex);
	free(ey);
	return rc;
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
		    "grant-key %s: %s", path, strerror(errno));
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
	if ((k->md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    grant_coords(k->pkey, k->x, k->y, sizeof(k->x)) == -1 ||
	    (jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
	    "P-256", "x", k->x, "y", k->y)) == NULL ||
	    svid_jwk_thumbprint(jwk, k->kid, sizeof(k->kid)) == -1) {
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
	EVP_MD_free(k->md);
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

/* base64url of a JSON value's compact text (new string). */
static char *
grant_b64url_json(const json_t *v)
{
	char	*text, *out;

	if ((text = json_dumps(v, JSON_COMPACT)) == NULL)
		return NULL;
	out = grant_b64url_encode((const unsigned char *)text, strlen(text));
	free(text);
	return out;
}

char *
grant_sign(const struct grant_key *k, const json_t *claims,
    struct nsreg_error *err)
{
	EVP_MD_CTX		*ctx = NULL;
	ECDSA_SIG		*es = NULL;
	const BIGNUM		*r, *s;
	const unsigned char	*p;
	json_t			*hdr = NULL;
	char			*h = NULL, *c = NULL, *sig64 = NULL;
	char			*token = NULL;
	unsigned char		 der[128], raw[2 * GRANT_COORD];
	size_t			 derlen = sizeof(der), hl, cl, sl;
	int			 own = 0;

	if ((hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid",
	    k->kid, "typ", "JWT")) == NULL ||
	    (h = grant_b64url_json(hdr)) == NULL ||
	    (c = grant_b64url_json(claims)) == NULL)
		goto oom;
	hl = strlen(h);
	cl = strlen(c);
	/* The signing input "h.c" is built in place of the token. */
	if ((token = malloc(hl + 1 + cl + 1 + 86 + 1)) == NULL)
		goto oom;
	memcpy(token, h, hl);
	token[hl] = '.';
	memcpy(token + hl + 1, c, cl);
	token[hl + 1 + cl] = '\0';
	if ((ctx = grant_sign_ctx(k, &own)) == NULL ||
	    EVP_DigestSign(ctx, der, &derlen, (unsigned char *)token,
	    hl + 1 + cl) != 1)
		goto bad;
	p = der;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto bad;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, GRANT_COORD) != GRANT_COORD ||
	    BN_bn2binpad(s, raw + GRANT_COORD, GRANT_COORD) != GRANT_COORD)
		goto bad;
	if ((sig64 = grant_b64url_encode(raw, sizeof(raw))) == NULL)
		goto oom;
	sl = strlen(sig64);
	token[hl + 1 + cl] = '.';
	memcpy(token + hl + 1 + cl + 1, sig64, sl + 1);
	goto out;
bad:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "grant: signing failed");
	goto fail;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
fail:
	free(token);
	token = NULL;
out:
	ERR_clear_error();
	ECDSA_SIG_free(es);
	if (own)
		EVP_MD_CTX_free(ctx);
	json_decref(hdr);
	free(h);
	free(c);
	free(sig64);
	return token;
}

/* An EC P-256 public key from base64url coordinates. */
static EVP_PKEY *
grant_pub_from_jwk(const json_t *jwk)
{
	EVP_PKEY_CTX	*pctx = NULL;
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY	*pk = NULL;
	const char	*x, *y;
	unsigned char	 pt[1 + 2 * GRANT_COORD], buf[64];
	size_t		 n;

	if (!json_is_object(jwk) ||
	    strcmp(json_string_value(json_object_get(jwk, "kty")) != NULL ?
	    json_string_value(json_object_get(jwk, "kty")) : "", "EC") != 0 ||
	    strcmp(json_string_value(json_object_get(jwk, "crv")) != NULL ?
	    json_string_value(json_object_get(jwk, "crv")) : "", "P-256") !=
	    0)
		return NULL;
	x = json_string_value(json_object_get(jwk, "x"));
	y = json_string_value(json_object_get(jwk, "y"));
	if (x == NULL || y == NULL || strlen(x) != 43 || strlen(y) != 43)
		return NULL;
	pt[0] = 0x04;
	if (grant_b64url_decode(x, 43, buf, &n) == -1 || n != GRANT_COORD)
		return NULL;
	memcpy(pt + 1, buf, GRANT_COORD);
	if (grant_b64url_decode(y, 43, buf, &n) == -1 || n != GRANT_COORD)
		return NULL;
	memcpy(pt + 1 + GRANT_COORD, buf, GRANT_COORD);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt, sizeof(pt)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	ERR_clear_error();
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
	if ((ks->md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "no SHA-256");
		goto fail;
	}
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
	EVP_MD_free(ks->md);
	free(ks);
}

size_t
grant_keyset_size(const struct grant_keyset *ks)
{
	return ks != NULL ? ks->n : 0;
}

/* A base64url part decoded into a new NUL-terminated buffer. */
static unsigned char *
grant_part(const char *s, size_t len, size_t *outlen)
{
	unsigned char	*out;

	if ((out = malloc(len * 3 / 4 + 2)) == NULL)
		return NULL;
	if (grant_b64url_decode(s, len, out, outlen) == -1) {
		free(out);
		return NULL;
	}
	out[*outlen] = '\0';
	return out;
}

/* The header's verdict: the public key to use, or NULL with why. */
static EVP_PKEY *
grant_header_check(const struct grant_keyset *ks, const unsigned char *h,
    size_t hlen, char *kid, char *why, size_t whylen)
{
	json_t		*hdr;
	const char	*alg, *k, *typ;
	EVP_PKEY	*pk = NULL;
	size_t		 i;

	if ((hdr = json_loadb((const char *)h, hlen, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || !json_is_object(hdr)) {
		snprintf(why, whylen, "header is not a JSON object");
		goto out;
	}
	/* The algorithm is checked before anything else (no confusion). */
	alg = json_string_value(json_object_get(hdr, "alg"));
	if (alg == NULL || strcmp(alg, "ES256") != 0) {
		snprintf(why, whylen, "alg is not ES256");
		goto out;
	}
	if (json_object_get(hdr, "crit") != NULL) {
		snprintf(why, whylen, "crit is not supported");
		goto out;
	}
	typ = json_string_value(json_object_get(hdr, "typ"));
	if (json_object_get(hdr, "typ") != NULL &&
	    (typ == NULL || strcmp(typ, "JWT") != 0)) {
		snprintf(why, whylen, "typ is not JWT");
		goto out;
	}
	if ((k = json_string_value(json_object_get(hdr, "kid"))) == NULL) {
		snprintf(why, whylen, "no kid");
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
	EVP_MD_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	EVP_PKEY	*pk;
	json_t		*claims = NULL;
	const char	*d1, *d2;
	unsigned char	*h = NULL, *c = NULL, *sig = NULL, *der = NULL;
	size_t		 len, hlen, clen, slen;
	int		 derlen;

	why[0] = '\0';
	if (kid != NULL)
		kid[0] = '\0';
	if (token == NULL || (len = strlen(token)) == 0 ||
	    len > GRANT_TOKEN_MAX) {
		snprintf(why, whylen, "no token or too long");
		goto out;
	}
	if ((d1 = strchr(token, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL) {
		snprintf(why, whylen, "not a compact JWS (three parts)");
		goto out;
	}
	if ((h = grant_part(token, (size_t)(d1 - token), &hlen)) == NULL ||
	    (c = grant_part(d1 + 1, (size_t)(d2 - d1 - 1), &clen)) == NULL ||
	    (sig = grant_part(d2 + 1, strlen(d2 + 1), &slen)) == NULL) {
		snprintf(why, whylen, "a part is not base64url");
		goto out;
	}
	if ((pk = grant_header_check(ks, h, hlen, kid, why, whylen)) == NULL)
		goto out;
	if (slen != 2 * GRANT_COORD) {
		snprintf(why, whylen, "signature is not 64 bytes");
		goto out;
	}
	/* JWS r || s to the DER that OpenSSL verifies. */
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, GRANT_COORD, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + GRANT_COORD, GRANT_COORD, NULL)) == NULL ||
	    !ECDSA_SIG_set0(es, r, s)) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	r = s = NULL;
	if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0 ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, ks->md, NULL, pk) != 1 ||
	    EVP_DigestVerify(ctx, der, (size_t)derlen,
	    (const unsigned char *)token, (size_t)(d2 - token)) != 1) {
		snprintf(why, whylen, "bad signature");
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
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	free(h);
	free(c);
	free(sig);
	if (claims == NULL && kid != NULL)
		kid[0] = '\0';
	return claims;
}
