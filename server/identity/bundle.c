/*
 * bundle.c - SPIFFE trust bundles: parse (JWK Set or PEM), keep parsed
 * keys, render (bundle.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "bundle.h"
#include "identity_int.h"
#include "jose.h"
#include "spiffe.h"
#include "util.h"

#define BUNDLE_RSA_MIN_BITS	2048	/* RFC 7518 3.3, 3.5 */

static uint64_t	bundle_serial_next;	/* atomic */

/* ---- keys -------------------------------------------------------------- */

int
bundle_key_describe(struct bundle_key *k)
{
	k->type = EVP_PKEY_get_base_id(k->pkey);
	k->bits = EVP_PKEY_get_bits(k->pkey);
	k->curve = 0;
	switch (k->type) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return 0;
	case EVP_PKEY_EC:
		k->curve = jose_pkey_curve(k->pkey);
		return k->curve == 0 ? -1 : 0;
	default:
		return -1;
	}
}

/* 1 when jose_jwk_params can render k's key (so the bundle can be
 * served as a SPIFFE bundle), else 0. */
static int
bundle_key_expressible(const struct bundle_key *k)
{
	json_t	*tmp = json_object();
	int	 ok;

	ok = tmp != NULL && jose_jwk_params(k->pkey, tmp) == 0;
	json_decref(tmp);
	return ok;
}

/* ---- the bundle object ------------------------------------------------- */

static void
bundle_key_release(struct bundle_key *k)
{
	EVP_PKEY_free(k->pkey);
	X509_free(k->cert);
	k->pkey = NULL;
	k->cert = NULL;
}

static void
bundle_free(struct bundle *b)
{
	size_t	i;

	for (i = 0; i < b->nx509; i++)
		bundle_key_release(&b->x509[i]);
	for (i = 0; i < b->njwt; i++)
		bundle_key_release(&b->jwt[i]);
	free(b->x509);
	free(b->jwt);
	X509_STORE_free(b->store);
	free(b);
}

static struct bundle *
bundle_new(const char *td, struct nsreg_error *err)
{
	struct bundle		*b;
	enum spiffe_rule	 rule;

	if (td == NULL)
		td = "";
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "bundle: out of memory");
		return NULL;
	}
	rule = spiffe_td_check(td, strlen(td), b->td);
	if (rule != SPIFFE_OK) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: invalid trust domain name: %s",
		    spiffe_rule_message(rule));
		free(b);
		return NULL;
	}
	b->refs = 1;
	b->serial = __atomic_add_fetch(&bundle_serial_next, 1,
	    __ATOMIC_RELAXED);
	return b;
}

/* Append k (its references move into b) to the x509 or jwt array. */
static int
bundle_add_key(struct bundle *b, int jwt, struct bundle_key *k)
{
	struct bundle_key	**arr = jwt ? &b->jwt : &b->x509;
	size_t			 *n = jwt ? &b->njwt : &b->nx509;
	struct bundle_key	 *na;

	na = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (na == NULL)
		return -1;
	na[*n] = *k;
	*arr = na;
	(*n)++;
	memset(k, 0, sizeof(*k));
	return 0;
}

/* Build the verification store once, from the roots. */
static int
bundle_build_store(struct bundle *b)
{
	size_t	i;

	if (b->nx509 == 0)
		return 0;
	if ((b->store = X509_STORE_new()) == NULL)
		return -1;
	for (i = 0; i < b->nx509; i++) {
		/* A root listed twice is not an error. */
		if (!X509_STORE_add_cert(b->store, b->x509[i].cert))
			ERR_clear_error();
	}
	return 0;
}

/* ---- JWK parsing ------------------------------------------------------- */

/* An x509-svid JWK: 1 added, 0 ignored, -1 rejected. */
static int
bundle_parse_x509_key(struct bundle *b, const json_t *jwk, const char *where,
    struct nsreg_error *err)
{
	const json_t		*x5c;
	const char		*s;
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 derlen;
	EVP_PKEY		*params = NULL;
	struct bundle_key	 k;
	int			 rc = -1, r;

	memset(&k, 0, sizeof(k));
	/* Unknown kty or curve: the whole entry is ignored. */
	r = jose_jwk_to_pkey(jwk, where, 1, &params, err);
	if (r <= 0) {
		rc = r;
		goto out;
	}
	/* X509-SVID 6.2: no x5c or an empty one, the entry is ignored. */
	x5c = json_object_get(jwk, "x5c");
	if (x5c == NULL) {
		rc = 0;
		goto out;
	}
	if (!json_is_array(x5c)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: x5c is not an array", where);
		goto out;
	}
	if (json_array_size(x5c) == 0) {
		rc = 0;
		goto out;
	}
	/* Only the first value counts (6.2); RFC 7517 4.7: base64 DER. */
	if ((s = json_string_value(json_array_get(x5c, 0))) == NULL ||
	    jose_b64_decode(s, strlen(s), 0, &der, &derlen) == -1 ||
	    derlen == 0 || derlen > LONG_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: x5c[0]: not base64", where);
		goto out;
	}
	p = der;
	k.cert = d2i_X509(NULL, &p, (long)derlen);
	if (k.cert == NULL || p != der + derlen) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: x5c[0]: not a DER certificate", where);
		goto out;
	}
	if ((k.pkey = X509_get_pubkey(k.cert)) == NULL ||
	    bundle_key_describe(&k) == -1) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: x5c[0]: unusable public key", where);
		goto out;
	}
	/* A curve JWK has no name for is an unknown key type: ignored. */
	if (!bundle_key_expressible(&k)) {
		rc = 0;
		goto out;
	}
	/* The JWK's own parameters, when given, must be the cert's key;
	 * without them its kty must still say the cert's key type. */
	if (params == NULL && (k.type == EVP_PKEY_EC) !=
	    (strcmp(json_string_value(json_object_get(jwk, "kty")),
	    "EC") == 0)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: kty does not match x5c[0]", where);
		goto out;
	}
	if (params != NULL && EVP_PKEY_eq(params, k.pkey) != 1) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: key parameters do not match x5c[0]", where);
		goto out;
	}
	if (bundle_add_key(b, 0, &k) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "bundle: out of memory");
		goto out;
	}
	rc = 1;
out:
	ERR_clear_error();
	bundle_key_release(&k);
	EVP_PKEY_free(params);
	free(der);
	return rc;
}

/* A jwt-svid JWK: 1 added, 0 ignored, -1 rejected. */
static int
bundle_parse_jwt_key(struct bundle *b, const json_t *jwk, const char *where,
    struct nsreg_error *err)
{
	const json_t		*kidv;
	const char		*kid;
	struct bundle_key	 k;
	int			 rc = -1, r;

	memset(&k, 0, sizeof(k));
	r = jose_jwk_to_pkey(jwk, where, 0, &k.pkey, err);
	if (r <= 0) {
		rc = r;
		goto out;
	}
	/* JWT-SVID 6.1: kid MUST be set; a key without one is unusable. */
	if ((kidv = json_object_get(jwk, "kid")) == NULL) {
		rc = 0;
		goto out;
	}
	if ((kid = json_string_value(kidv)) == NULL || kid[0] == '\0' ||
	    strlen(kid) > BUNDLE_KID_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: kid is not a string of 1 to %d bytes", where,
		    BUNDLE_KID_MAX);
		goto out;
	}
	if (bundle_jwt_key(b, kid) != NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: duplicate kid", where);
		goto out;
	}
	snprintf(k.kid, sizeof(k.kid), "%s", kid);
	if (bundle_key_describe(&k) == -1) {
		rc = 0;
		goto out;
	}
	/* RFC 7518 3.3: RSA keys of 2048 bits or more. */
	if (k.type == EVP_PKEY_RSA && k.bits < BUNDLE_RSA_MIN_BITS) {
		rc = 0;
		goto out;
	}
	if (bundle_add_key(b, 1, &k) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "bundle: out of memory");
		goto out;
	}
	rc = 1;
out:
	bundle_key_release(&k);
	return rc;
}

/* A member that must be a non-negative integer when present. */
static int
bundle_get_uint(const json_t *doc, const char *name, int *has, int64_t *out,
    struct nsreg_error *err)
{
	const json_t	*v = json_object_get(doc, name);

	*has = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: %s is not a non-negative integer", name);
	*has = 1;
	*out = json_integer_value(v);
	return 0;
}

struct bundle *
bundle_from_json(const char *td, const json_t *doc, struct nsreg_error *err)
{
	struct bundle	*b;
	const json_t	*keys, *jwk;
	const char	*use;
	char		 where[48];
	size_t		 i;
	int		 r;

	if ((b = bundle_new(td, err)) == NULL)
		return NULL;
	if (!json_is_object(doc)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: not a JSON object");
		goto fail;
	}
	if ((keys = json_object_get(doc, "keys")) == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: keys missing");
		goto fail;
	}
	if (!json_is_array(keys)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: keys is not an array");
		goto fail;
	}
	if (json_array_size(keys) > BUNDLE_KEYS_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: more than %d keys", BUNDLE_KEYS_MAX);
		goto fail;
	}
	if (bundle_get_uint(doc, "spiffe_sequence", &b->has_sequence,
	    &b->sequence, err) == -1 ||
	    bundle_get_uint(doc, "spiffe_refresh_hint", &b->has_refresh_hint,
	    &b->refresh_hint, err) == -1)
		goto fail;

	json_array_foreach(keys, i, jwk) {
		snprintf(where, sizeof(where), "bundle: keys[%zu]", i);
		if (!json_is_object(jwk)) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "%s: not an object", where);
			goto fail;
		}
		/* 4.2.2: a missing or unknown use: the key is ignored. */
		use = json_string_value(json_object_get(jwk, "use"));
		if (use != NULL && strcmp(use, "x509-svid") == 0)
			r = bundle_parse_x509_key(b, jwk, where, err);
		else if (use != NULL && strcmp(use, "jwt-svid") == 0)
			r = bundle_parse_jwt_key(b, jwk, where, err);
		else
			r = 0;
		if (r == -1)
			goto fail;
		if (r == 0)
			b->ignored++;
	}
	if (bundle_build_store(b) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "bundle: out of memory");
		goto fail;
	}
	return b;
fail:
	bundle_free(b);
	return NULL;
}

/* ---- PEM --------------------------------------------------------------- */

static struct bundle *
bundle_parse_pem(const char *td, const char *data, size_t len,
    struct nsreg_error *err)
{
	struct bundle		*b;
	struct bundle_key	 k;
	BIO			*bio = NULL;
	unsigned long		 e;

	memset(&k, 0, sizeof(k));
	if ((b = bundle_new(td, err)) == NULL)
		return NULL;
	if (len > INT_MAX ||
	    (bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "bundle: out of memory");
		goto fail;
	}
	ERR_clear_error();
	while ((k.cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if ((k.pkey = X509_get_pubkey(k.cert)) == NULL ||
		    bundle_key_describe(&k) == -1 ||
		    bundle_key_expressible(&k) == 0) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "bundle: certificate %zu: a key type a SPIFFE "
			    "bundle cannot carry", b->nx509 + 1);
			goto fail;
		}
		if (b->nx509 >= BUNDLE_KEYS_MAX) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "bundle: more than %d certificates",
			    BUNDLE_KEYS_MAX);
			goto fail;
		}
		if (bundle_add_key(b, 0, &k) == -1) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "bundle: out of memory");
			goto fail;
		}
	}
	/* The loop ends at the end of input, or at a broken block. */
	e = ERR_peek_last_error();
	if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: certificate %zu: malformed PEM", b->nx509 + 1);
		goto fail;
	}
	if (b->nx509 == 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: no PEM certificate");
		goto fail;
	}
	if (bundle_build_store(b) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "bundle: out of memory");
		goto fail;
	}
	ERR_clear_error();
	BIO_free(bio);
	return b;
fail:
	ERR_clear_error();
	bundle_key_release(&k);
	BIO_free(bio);
	bundle_free(b);
	return NULL;
}

/* ---- public ------------------------------------------------------------ */

struct bundle *
bundle_parse(const char *td, const char *data, size_t len,
    enum bundle_format format, struct nsreg_error *err)
{
	json_t		*doc;
	json_error_t	 jerr;
	struct bundle	*b;
	size_t		 i;

	if (len > BUNDLE_DOC_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: larger than %d bytes", BUNDLE_DOC_MAX);
		return NULL;
	}
	if (format == BUNDLE_FORMAT_AUTO) {
		for (i = 0; i < len && isspace((unsigned char)data[i]); i++)
			continue;
		format = i < len && data[i] == '{' ? BUNDLE_FORMAT_SPIFFE :
		    BUNDLE_FORMAT_PEM;
	}
	if (format == BUNDLE_FORMAT_PEM)
		return bundle_parse_pem(td, data, len, err);

	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "bundle: not JSON: %s at line %d column %d", jerr.text,
		    jerr.line, jerr.column);
		return NULL;
	}
	b = bundle_from_json(td, doc, err);
	json_decref(doc);
	return b;
}

struct bundle *
bundle_load_file(const char *td, const char *path, enum bundle_format format,
    struct nsreg_error *err)
{
	char		*data;
	size_t		 len;
	struct bundle	*b;

	if ((data = util_file_read(path, BUNDLE_DOC_MAX, &len)) == NULL) {
		nsreg_error_set(err, errno == ENOENT ? NSREG_NOT_FOUND :
		    NSREG_INVALID_ARGUMENT, NULL, "%s: %s", path,
		    util_file_strerror(errno));
		return NULL;
	}
	b = bundle_parse(td, data, len, format, err);
	if (b == NULL)
		nsreg_error_prefix(err, path);
	free(data);
	return b;
}

struct bundle *
bundle_ref(struct bundle *b)
{
	if (b != NULL)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}

void
bundle_unref(struct bundle *b)
{
	if (b != NULL && __atomic_sub_fetch(&b->refs, 1,
	    __ATOMIC_ACQ_REL) == 0)
		bundle_free(b);
}

const char *
bundle_trust_domain(const struct bundle *b)
{
	return b->td;
}

uint64_t
bundle_serial(const struct bundle *b)
{
	return b->serial;
}

int
bundle_sequence(const struct bundle *b, int64_t *out)
{
	if (b->has_sequence && out != NULL)
		*out = b->sequence;
	return b->has_sequence;
}

int
bundle_refresh_hint(const struct bundle *b, int64_t *out)
{
	if (b->has_refresh_hint && out != NULL)
		*out = b->refresh_hint;
	return b->has_refresh_hint;
}

void
bundle_set_sequence(struct bundle *b, int64_t seq)
{
	b->has_sequence = seq >= 0;
	b->sequence = seq >= 0 ? seq : 0;
}

void
bundle_set_refresh_hint(struct bundle *b, int64_t secs)
{
	b->has_refresh_hint = secs >= 0;
	b->refresh_hint = secs >= 0 ? secs : 0;
}

size_t
bundle_x509_count(const struct bundle *b)
{
	return b->nx509;
}

size_t
bundle_jwt_count(const struct bundle *b)
{
	return b->njwt;
}

size_t
bundle_ignored_count(const struct bundle *b)
{
	return b->ignored;
}

const struct bundle_key *
bundle_jwt_key(const struct bundle *b, const char *kid)
{
	size_t	i;

	for (i = 0; i < b->njwt; i++)
		if (strcmp(b->jwt[i].kid, kid) == 0)
			return &b->jwt[i];
	return NULL;
}

int
bundle_has_kid(const struct bundle *b, const char *kid)
{
	return kid != NULL && bundle_jwt_key(b, kid) != NULL;
}

/* One x509-svid JWK: key parameters and x5c with the root. */
static json_t *
bundle_x509_jwk(const struct bundle_key *k)
{
	json_t		*jwk = NULL, *x5c;
	unsigned char	*der = NULL;
	char		*b64 = NULL;
	int		 len;

	if ((len = i2d_X509(k->cert, &der)) <= 0)
		goto fail;
	if ((b64 = jose_b64_encode(der, (size_t)len, 0)) == NULL)
		goto fail;
	if ((jwk = json_object()) == NULL ||
	    json_object_set_new(jwk, "use", json_string("x509-svid")) == -1 ||
	    jose_jwk_params(k->pkey, jwk) == -1)
		goto fail;
	if ((x5c = json_array()) == NULL ||
	    json_object_set_new(jwk, "x5c", x5c) == -1 ||
	    json_array_append_new(x5c, json_string(b64)) == -1)
		goto fail;
	OPENSSL_free(der);
	free(b64);
	return jwk;
fail:
	OPENSSL_free(der);
	free(b64);
	json_decref(jwk);
	return NULL;
}

static json_t *
bundle_jwt_jwk(const struct bundle_key *k)
{
	json_t	*jwk;

	if ((jwk = json_object()) == NULL ||
	    json_object_set_new(jwk, "use", json_string("jwt-svid")) == -1 ||
	    json_object_set_new(jwk, "kid", json_string(k->kid)) == -1 ||
	    jose_jwk_params(k->pkey, jwk) == -1) {
		json_decref(jwk);
		return NULL;
	}
	return jwk;
}

json_t *
bundle_to_json(const struct bundle *b)
{
	json_t	*doc, *keys;
	size_t	 i;

	if ((doc = json_object()) == NULL)
		return NULL;
	if ((keys = json_array()) == NULL ||
	    json_object_set_new(doc, "keys", keys) == -1)
		goto fail;
	for (i = 0; i < b->nx509; i++)
		if (json_array_append_new(keys, bundle_x509_jwk(&b->x509[i])) ==
		    -1)
			goto fail;
	for (i = 0; i < b->njwt; i++)
		if (json_array_append_new(keys, bundle_jwt_jwk(&b->jwt[i])) ==
		    -1)
			goto fail;
	if (b->has_sequence && json_object_set_new(doc, "spiffe_sequence",
	    json_integer(b->sequence)) == -1)
		goto fail;
	if (b->has_refresh_hint && json_object_set_new(doc,
	    "spiffe_refresh_hint", json_integer(b->refresh_hint)) == -1)
		goto fail;
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

char *
bundle_to_pem(const struct bundle *b, size_t *lenp)
{
	BIO	*bio;
	char	*mem, *out = NULL;
	long	 len;
	size_t	 i;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	for (i = 0; i < b->nx509; i++)
		if (!PEM_write_bio_X509(bio, b->x509[i].cert))
			goto out;
	len = BIO_get_mem_data(bio, &mem);
	if (len < 0 || (out = malloc((size_t)len + 1)) == NULL)
		goto out;
	if (len > 0)
		memcpy(out, mem, (size_t)len);
	out[len] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)len;
out:
	BIO_free(bio);
	return out;
}
