/*
 * svid.c - a development CA that mints X.509-SVIDs and JWT-SVIDs
 * (svid.h): for nsregd --dev, nsreg-svid and the tests.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "identity_int.h"
#include "jose.h"
#include "jwtsvid.h"
#include "principal.h"
#include "spiffe.h"
#include "svid.h"
#include "trust.h"
#include "util.h"

#define SVID_PEM_MAX	(1024 * 1024)	/* bytes of a PEM file we read */
#define SVID_KID_MAX	64

struct svid_key {
	EVP_PKEY	*pkey;
};

struct svid_ca {
	char		 td[SPIFFE_TD_MAX + 1];
	X509		*cert;
	struct svid_key	 key;		/* signs certificates */
	struct svid_key	 jwt;		/* signs JWT-SVIDs */
	char		 kid[SVID_KID_MAX];
};

/* What a certificate says, for svid_cert_make. */
struct svid_cert_spec {
	const char		 *cn;
	int64_t			  not_before_ms;
	int64_t			  not_after_ms;
	const char		 *bc;	/* basicConstraints, NULL: none */
	const char		 *ku;	/* keyUsage, NULL: none */
	const char		 *eku;	/* extendedKeyUsage, NULL: none */
	const char		 *uri[2];
	size_t			  nuri;
	const char *const	 *dns;
	size_t			  ndns;
	const char *const	 *ip;
	size_t			  nip;
};

static int
svid_oom(struct nsreg_error *err)
{
	ERR_clear_error();
	return nsreg_error_set(err, NSREG_INTERNAL, NULL,
	    "svid: out of memory or crypto failure");
}

/* ---- small I/O helpers ------------------------------------------------- */

/* The contents of a memory BIO as a new NUL-terminated string. */
static char *
svid_bio_string(BIO *bio)
{
	char	*mem, *out;
	long	 len;

	len = BIO_get_mem_data(bio, &mem);
	if (len < 0 || (out = malloc((size_t)len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(out, mem, (size_t)len);
	out[len] = '\0';
	return out;
}

static char *
svid_cert_pem(X509 *const *certs, size_t n)
{
	BIO	*bio;
	char	*out = NULL;
	size_t	 i;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (!PEM_write_bio_X509(bio, certs[i]))
			goto out;
	out = svid_bio_string(bio);
out:
	BIO_free(bio);
	return out;
}

static char *
svid_key_pem(EVP_PKEY *pk)
{
	BIO	*bio;
	char	*out = NULL;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL))
		out = svid_bio_string(bio);
	BIO_free(bio);
	return out;
}

static int
svid_path(char *buf, size_t len, const char *dir, const char *file,
    struct nsreg_error *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, file) >= len)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "svid: %s: path too long", dir);
	return 0;
}

static int
svid_write(const char *dir, const char *file, const char *data, int mode,
    struct nsreg_error *err)
{
	char	path[PATH_MAX];

	if (svid_path(path, sizeof(path), dir, file, err) == -1)
		return -1;
	if (util_file_write(path, data, strlen(data), mode) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s",
		    path, strerror(errno));
	return 0;
}

/* Read dir/file: a new string, or NULL (errno kept for ENOENT). */
static char *
svid_read(const char *dir, const char *file, struct nsreg_error *err)
{
	char	 path[PATH_MAX], *data;
	int	 e;

	if (svid_path(path, sizeof(path), dir, file, err) == -1)
		return NULL;
	if ((data = util_file_read(path, SVID_PEM_MAX, NULL)) == NULL) {
		e = errno;
		nsreg_error_set(err, e == ENOENT ? NSREG_NOT_FOUND :
		    NSREG_INTERNAL, NULL, "%s: %s", path, strerror(e));
		errno = e;
	}
	return data;
}

static int
svid_exists(const char *dir, const char *file)
{
	char		path[PATH_MAX];
	struct stat	st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path))
		return 0;
	return stat(path, &st) == 0;
}

/* mkdir -p with mode for the directories it creates. */
static int
svid_mkdir(const char *dir, struct nsreg_error *err)
{
	char	path[PATH_MAX], *p;

	if ((size_t)snprintf(path, sizeof(path), "%s", dir) >= sizeof(path))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "svid: %s: path too long", dir);
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0700) == -1 && errno != EEXIST)
				return nsreg_error_set(err, NSREG_INTERNAL,
				    NULL, "%s: %s", path, strerror(errno));
			*p = '/';
			continue;
		}
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s: %s", path, strerror(errno));
		return 0;
	}
}

/* ---- keys -------------------------------------------------------------- */

struct svid_key *
svid_key_generate(enum svid_key_type type, struct nsreg_error *err)
{
	struct svid_key	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		svid_oom(err);
		return NULL;
	}
	switch (type) {
	case SVID_KEY_EC_P256:
		k->pkey = EVP_EC_gen("P-256");
		break;
	case SVID_KEY_EC_P384:
		k->pkey = EVP_EC_gen("P-384");
		break;
	case SVID_KEY_EC_P521:
		k->pkey = EVP_EC_gen("P-521");
		break;
	case SVID_KEY_RSA_2048:
		k->pkey = EVP_RSA_gen(2048);
		break;
	case SVID_KEY_RSA_1024:
		k->pkey = EVP_RSA_gen(1024);
		break;
	}
	if (k->pkey == NULL) {
		free(k);
		svid_oom(err);
		return NULL;
	}
	return k;
}

void
svid_key_free(struct svid_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

json_t *
svid_key_jwk(const struct svid_key *k, const char *use, const char *kid)
{
	json_t	*jwk;

	if ((jwk = json_object()) == NULL)
		return NULL;
	if (jose_jwk_params(k->pkey, jwk) == -1 ||
	    (use != NULL &&
	    json_object_set_new(jwk, "use", json_string(use)) == -1) ||
	    (kid != NULL &&
	    json_object_set_new(jwk, "kid", json_string(kid)) == -1)) {
		json_decref(jwk);
		return NULL;
	}
	return jwk;
}

char *
svid_key_public_pem(const struct svid_key *k, struct nsreg_error *err)
{
	BIO	*bio;
	char	*out = NULL;

	if ((bio = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_PUBKEY(bio, k->pkey))
		out = svid_bio_string(bio);
	BIO_free(bio);
	if (out == NULL)
		svid_oom(err);
	return out;
}

/* ---- JWS --------------------------------------------------------------- */

int
svid_jws_sign(const struct svid_key *k, const char *alg,
    const json_t *header, const json_t *claims, char **token,
    struct nsreg_error *err)
{
	const struct jose_alg	*a;
	struct bundle_key	 kd;
	EVP_MD_CTX		*ctx;

	*token = NULL;
	if (alg == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "svid: unsupported alg");
	if ((a = jose_alg_lookup(alg, JOSE_ALGS_JWTSVID)) == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "svid: unsupported alg %s", alg);
	/* OpenSSL would sign with whatever the key is: check it fits. */
	memset(&kd, 0, sizeof(kd));
	kd.pkey = k->pkey;
	if (bundle_key_describe(&kd) == -1 ||
	    !jose_alg_fits(a, kd.type, kd.curve) ||
	    (ctx = jose_sign_init(k->pkey, a)) == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "svid: cannot sign %s with this key", alg);
	*token = jose_sign(ctx, a, header, claims, err);
	EVP_MD_CTX_free(ctx);
	return *token == NULL ? -1 : 0;
}

/* ---- certificates ------------------------------------------------------ */

static int
svid_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	int		 ok;

	if (value == NULL)
		return 0;
	if ((ext = X509V3_EXT_nconf_nid(NULL, v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int
svid_add_name(GENERAL_NAMES *gens, int type, const char *value)
{
	GENERAL_NAME	*gn;
	ASN1_STRING	*s;

	if ((gn = GENERAL_NAME_new()) == NULL)
		return -1;
	if (type == GEN_IPADD)
		s = a2i_IPADDRESS(value);
	else if ((s = ASN1_IA5STRING_new()) != NULL &&
	    !ASN1_STRING_set(s, value, (int)strlen(value))) {
		ASN1_STRING_free(s);
		s = NULL;
	}
	if (s == NULL) {
		GENERAL_NAME_free(gn);
		return -1;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		GENERAL_NAME_free(gn);
		return -1;
	}
	return 0;
}

static int
svid_add_san(X509 *x, const struct svid_cert_spec *spec,
    struct nsreg_error *err)
{
	GENERAL_NAMES	*gens;
	size_t		 i;
	int		 rc = -1;

	if (spec->nuri + spec->ndns + spec->nip == 0)
		return 0;
	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		return svid_oom(err);
	for (i = 0; i < spec->nuri; i++)
		if (svid_add_name(gens, GEN_URI, spec->uri[i]) == -1)
			goto oom;
	for (i = 0; i < spec->ndns; i++)
		if (svid_add_name(gens, GEN_DNS, spec->dns[i]) == -1)
			goto oom;
	for (i = 0; i < spec->nip; i++)
		if (svid_add_name(gens, GEN_IPADD, spec->ip[i]) == -1) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "svid: invalid IP address %s", spec->ip[i]);
			goto out;
		}
	/* A subject is always set, so the SAN need not be critical. */
	if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT))
		goto oom;
	rc = 0;
	goto out;
oom:
	svid_oom(err);
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* A certificate for key subject signed by issuer (NULL: self-signed). */
static X509 *
svid_cert_make(const struct svid_cert_spec *spec, EVP_PKEY *subject,
    X509 *issuer, EVP_PKEY *issuer_key, struct nsreg_error *err)
{
	X509		*x;
	X509_NAME	*name = NULL;
	X509V3_CTX	 v3;
	BIGNUM		*serial = NULL;
	char		 cn[65];

	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3))
		goto oom;
	/* 127 random bits: positive and unique (RFC 5280 4.1.2.2). */
	if ((serial = BN_new()) == NULL ||
	    !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL)
		goto oom;
	snprintf(cn, sizeof(cn), "%s", spec->cn);
	if ((name = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"nsreg", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, name))
		goto oom;
	if (!X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name))
		goto oom;
	if (ASN1_TIME_set(X509_getm_notBefore(x),
	    (time_t)(spec->not_before_ms / 1000)) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x),
	    (time_t)(spec->not_after_ms / 1000)) == NULL)
		goto oom;
	if (!X509_set_pubkey(x, subject))
		goto oom;

	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (svid_add_ext(x, &v3, NID_basic_constraints, spec->bc) == -1 ||
	    svid_add_ext(x, &v3, NID_key_usage, spec->ku) == -1 ||
	    svid_add_ext(x, &v3, NID_ext_key_usage, spec->eku) == -1 ||
	    svid_add_ext(x, &v3, NID_subject_key_identifier, "hash") == -1 ||
	    (issuer != NULL && svid_add_ext(x, &v3,
	    NID_authority_key_identifier, "keyid:always") == -1))
		goto oom;
	if (svid_add_san(x, spec, err) == -1)
		goto fail;
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		goto oom;
	BN_free(serial);
	X509_NAME_free(name);
	ERR_clear_error();
	return x;
oom:
	svid_oom(err);
fail:
	BN_free(serial);
	X509_NAME_free(name);
	X509_free(x);
	ERR_clear_error();
	return NULL;
}

/* ---- the CA ------------------------------------------------------------ */

static int
svid_ca_finish(struct svid_ca *ca, struct nsreg_error *err)
{
	if (jose_pkey_thumbprint(ca->jwt.pkey, ca->kid, sizeof(ca->kid)) == -1)
		return svid_oom(err);
	return 0;
}

struct svid_ca *
svid_ca_generate(const char *td, int64_t now_ms, int64_t ttl_ms,
    struct nsreg_error *err)
{
	struct svid_ca		*ca;
	struct svid_key		*k = NULL, *j = NULL;
	struct svid_cert_spec	 spec;
	char			 uri[SPIFFE_SCHEME_LEN + SPIFFE_TD_MAX + 1];

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		svid_oom(err);
		return NULL;
	}
	if (spiffe_td_parse(td, ca->td, err) == -1)
		goto fail;
	if ((k = svid_key_generate(SVID_KEY_EC_P256, err)) == NULL ||
	    (j = svid_key_generate(SVID_KEY_EC_P256, err)) == NULL)
		goto fail;
	ca->key = *k;
	ca->jwt = *j;
	free(k);
	free(j);
	k = j = NULL;

	snprintf(uri, sizeof(uri), "%s%s", SPIFFE_SCHEME, ca->td);
	memset(&spec, 0, sizeof(spec));
	spec.cn = ca->td;
	spec.not_before_ms = now_ms - SVID_BACKDATE_MS;
	spec.not_after_ms = now_ms + (ttl_ms > 0 ? ttl_ms :
	    SVID_CA_TTL_DEFAULT);
	spec.bc = "critical,CA:TRUE";
	spec.ku = "critical,keyCertSign,cRLSign";
	spec.uri[0] = uri;
	spec.nuri = 1;
	if ((ca->cert = svid_cert_make(&spec, ca->key.pkey, NULL,
	    ca->key.pkey, err)) == NULL)
		goto fail;
	if (svid_ca_finish(ca, err) == -1)
		goto fail;
	return ca;
fail:
	svid_key_free(k);
	svid_key_free(j);
	svid_ca_free(ca);
	return NULL;
}

void
svid_ca_free(struct svid_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key.pkey);
	EVP_PKEY_free(ca->jwt.pkey);
	free(ca);
}

const char *
svid_ca_trust_domain(const struct svid_ca *ca)
{
	return ca->td;
}

const char *
svid_ca_jwt_kid(const struct svid_ca *ca)
{
	return ca->kid;
}

const struct svid_key *
svid_ca_jwt_key(const struct svid_ca *ca)
{
	return &ca->jwt;
}

json_t *
svid_ca_bundle_json(const struct svid_ca *ca, int64_t sequence,
    int64_t refresh_hint)
{
	json_t		*doc = NULL, *keys, *x509, *x5c, *jwt;
	unsigned char	*der = NULL;
	char		*b64 = NULL;
	int		 len;

	if ((len = i2d_X509(ca->cert, &der)) <= 0 ||
	    (b64 = jose_b64_encode(der, (size_t)len, 0)) == NULL)
		goto fail;
	if ((doc = json_object()) == NULL ||
	    (keys = json_array()) == NULL ||
	    json_object_set_new(doc, "keys", keys) == -1)
		goto fail;
	if ((x509 = svid_key_jwk(&ca->key, "x509-svid", NULL)) == NULL ||
	    json_array_append_new(keys, x509) == -1 ||
	    (x5c = json_array()) == NULL ||
	    json_object_set_new(x509, "x5c", x5c) == -1 ||
	    json_array_append_new(x5c, json_string(b64)) == -1)
		goto fail;
	if ((jwt = svid_key_jwk(&ca->jwt, "jwt-svid", ca->kid)) == NULL ||
	    json_array_append_new(keys, jwt) == -1)
		goto fail;
	if (sequence >= 0 && json_object_set_new(doc, "spiffe_sequence",
	    json_integer(sequence)) == -1)
		goto fail;
	if (refresh_hint >= 0 && json_object_set_new(doc,
	    "spiffe_refresh_hint", json_integer(refresh_hint)) == -1)
		goto fail;
	OPENSSL_free(der);
	free(b64);
	return doc;
fail:
	OPENSSL_free(der);
	free(b64);
	json_decref(doc);
	return NULL;
}

char *
svid_ca_bundle_pem(const struct svid_ca *ca)
{
	return svid_cert_pem(&ca->cert, 1);
}

struct bundle *
svid_ca_bundle(const struct svid_ca *ca, struct nsreg_error *err)
{
	json_t		*doc;
	struct bundle	*b;

	if ((doc = svid_ca_bundle_json(ca, 1, SVID_REFRESH_HINT_DEFAULT)) ==
	    NULL) {
		svid_oom(err);
		return NULL;
	}
	b = bundle_from_json(ca->td, doc, err);
	json_decref(doc);
	return b;
}

int
svid_ca_write_bundle(const struct svid_ca *ca, const char *dir,
    struct nsreg_error *err)
{
	json_t	*doc;
	char	*pem = NULL, *json = NULL, *text = NULL;
	size_t	 n;
	int	 rc = -1;

	doc = svid_ca_bundle_json(ca, 1, SVID_REFRESH_HINT_DEFAULT);
	if (doc == NULL || (json = json_dumps(doc, JSON_INDENT(2))) == NULL ||
	    (pem = svid_ca_bundle_pem(ca)) == NULL) {
		svid_oom(err);
		goto out;
	}
	n = strlen(json) + 2;
	if ((text = malloc(n)) == NULL) {
		svid_oom(err);
		goto out;
	}
	snprintf(text, n, "%s\n", json);
	if (svid_write(dir, "bundle.pem", pem, 0644, err) == -1 ||
	    svid_write(dir, "bundle.json", text, 0644, err) == -1)
		goto out;
	rc = 0;
out:
	json_decref(doc);
	free(pem);
	free(json);
	free(text);
	return rc;
}

int
svid_ca_save(const struct svid_ca *ca, const char *dir,
    struct nsreg_error *err)
{
	char	*cert = NULL, *key = NULL, *jwt = NULL;
	int	 rc = -1;

	if (svid_mkdir(dir, err) == -1)
		return -1;
	if (svid_exists(dir, "ca.key"))
		return nsreg_error_set(err, NSREG_ALREADY_EXISTS, NULL,
		    "%s/ca.key exists: not overwriting a CA", dir);
	if ((cert = svid_cert_pem(&ca->cert, 1)) == NULL ||
	    (key = svid_key_pem(ca->key.pkey)) == NULL ||
	    (jwt = svid_key_pem(ca->jwt.pkey)) == NULL) {
		svid_oom(err);
		goto out;
	}
	/* Keys first, so a crash never leaves a certificate without one. */
	if (svid_write(dir, "jwt.key", jwt, 0600, err) == -1 ||
	    svid_write(dir, "ca.key", key, 0600, err) == -1 ||
	    svid_write(dir, "ca.pem", cert, 0644, err) == -1 ||
	    svid_ca_write_bundle(ca, dir, err) == -1)
		goto out;
	rc = 0;
out:
	free(cert);
	if (key != NULL)
		OPENSSL_cleanse(key, strlen(key));
	if (jwt != NULL)
		OPENSSL_cleanse(jwt, strlen(jwt));
	free(key);
	free(jwt);
	return rc;
}

static EVP_PKEY *
svid_parse_key(const char *pem, const char *what, struct nsreg_error *err)
{
	BIO		*bio;
	EVP_PKEY	*pk = NULL;

	if ((bio = BIO_new_mem_buf(pem, -1)) != NULL)
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pk == NULL)
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: not a PEM private key", what);
	return pk;
}

static X509 *
svid_parse_cert(const char *pem, const char *what, struct nsreg_error *err)
{
	BIO	*bio;
	X509	*x = NULL;

	if ((bio = BIO_new_mem_buf(pem, -1)) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (x == NULL)
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: not a PEM certificate", what);
	return x;
}

struct svid_ca *
svid_ca_load(const char *dir, struct nsreg_error *err)
{
	struct svid_ca		*ca;
	struct spiffe_id	 id;
	struct nsreg_error	 e2;
	char			*cert = NULL, *key = NULL, *jwt = NULL;
	char			 uri[SPIFFE_ID_MAX + 1];
	int			 n;

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		svid_oom(err);
		return NULL;
	}
	if ((cert = svid_read(dir, "ca.pem", err)) == NULL ||
	    (key = svid_read(dir, "ca.key", err)) == NULL)
		goto fail;
	if ((ca->cert = svid_parse_cert(cert, "ca.pem", err)) == NULL ||
	    (ca->key.pkey = svid_parse_key(key, "ca.key", err)) == NULL)
		goto fail;
	if (X509_check_private_key(ca->cert, ca->key.pkey) != 1) {
		ERR_clear_error();
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: ca.key is not the key of ca.pem", dir);
		goto fail;
	}
	/* The trust domain is the CA's own SPIFFE ID. */
	if ((n = x509svid_check_one_uri(ca->cert, uri, sizeof(uri),
	    &e2)) == -1 ||
	    spiffe_id_check(uri, (size_t)n, &id) != SPIFFE_OK) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: ca.pem has no SPIFFE ID", dir);
		goto fail;
	}
	spiffe_id_trust_domain(&id, ca->td);

	if ((jwt = svid_read(dir, "jwt.key", err)) != NULL) {
		if ((ca->jwt.pkey = svid_parse_key(jwt, "jwt.key", err)) ==
		    NULL)
			goto fail;
	} else if (errno == ENOENT) {
		/* No separate key: the CA key signs JWT-SVIDs too. */
		if (!EVP_PKEY_up_ref(ca->key.pkey)) {
			svid_oom(err);
			goto fail;
		}
		ca->jwt.pkey = ca->key.pkey;
	} else
		goto fail;
	if (svid_ca_finish(ca, err) == -1)
		goto fail;
	nsreg_error_clear(err);
	goto out;
fail:
	svid_ca_free(ca);
	ca = NULL;
out:
	free(cert);
	if (key != NULL)
		OPENSSL_cleanse(key, strlen(key));
	if (jwt != NULL)
		OPENSSL_cleanse(jwt, strlen(jwt));
	free(key);
	free(jwt);
	return ca;
}

/* ---- X.509-SVIDs ------------------------------------------------------- */

int
svid_x509_issue(const struct svid_ca *ca, const struct svid_x509_req *req,
    int64_t now_ms, char **chain_pem, char **key_pem,
    struct nsreg_error *err)
{
	struct svid_key		*leaf_key = NULL, *mid_key = NULL;
	struct svid_cert_spec	 spec, mid;
	X509			*certs[2] = { NULL, NULL };
	X509			*issuer = ca->cert;
	EVP_PKEY		*issuer_key = ca->key.pkey;
	char			 uri[SPIFFE_SCHEME_LEN + SPIFFE_TD_MAX + 1];
	char			 mcn[SPIFFE_TD_MAX + 16];
	unsigned int		 f = req->flags;
	int			 rc = -1;

	*chain_pem = *key_pem = NULL;
	if (req->id == NULL && !(f & SVID_X509_NO_URI))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "svid: no SPIFFE ID");
	memset(&spec, 0, sizeof(spec));
	spec.cn = req->id != NULL ? req->id : "no URI";
	spec.not_before_ms = req->not_before_ms != 0 ? req->not_before_ms :
	    now_ms - SVID_BACKDATE_MS;
	spec.not_after_ms = req->not_after_ms != 0 ? req->not_after_ms :
	    spec.not_before_ms + SVID_BACKDATE_MS +
	    (req->ttl_ms > 0 ? req->ttl_ms : SVID_X509_TTL_DEFAULT);
	spec.bc = f & SVID_X509_CA ? "critical,CA:TRUE" : "critical,CA:FALSE";
	if (f & SVID_X509_NO_KEY_USAGE)
		spec.ku = NULL;
	else if (f & SVID_X509_NO_DIGITAL_SIGNATURE)
		spec.ku = "critical,keyAgreement";
	else if ((f & SVID_X509_KEY_CERT_SIGN) && (f & SVID_X509_CRL_SIGN))
		spec.ku = "critical,digitalSignature,keyCertSign,cRLSign";
	else if (f & SVID_X509_KEY_CERT_SIGN)
		spec.ku = "critical,digitalSignature,keyCertSign";
	else if (f & SVID_X509_CRL_SIGN)
		spec.ku = "critical,digitalSignature,cRLSign";
	else
		spec.ku = "critical,digitalSignature";
	spec.eku = f & SVID_X509_NO_EKU ? NULL :
	    f & SVID_X509_SERVER_ONLY ? "serverAuth" : "serverAuth,clientAuth";
	if (!(f & SVID_X509_NO_URI)) {
		spec.uri[spec.nuri++] = req->id;
		if (req->extra_uri != NULL)
			spec.uri[spec.nuri++] = req->extra_uri;
	}
	spec.dns = req->dns;
	spec.ndns = req->ndns;
	spec.ip = req->ip;
	spec.nip = req->nip;

	if ((leaf_key = svid_key_generate(req->key_type, err)) == NULL)
		goto out;
	if (f & SVID_X509_INTERMEDIATE) {
		/* An intermediate that covers the leaf's validity. */
		if ((mid_key = svid_key_generate(SVID_KEY_EC_P256, err)) ==
		    NULL)
			goto out;
		snprintf(uri, sizeof(uri), "%s%s", SPIFFE_SCHEME, ca->td);
		snprintf(mcn, sizeof(mcn), "%s intermediate", ca->td);
		memset(&mid, 0, sizeof(mid));
		mid.cn = mcn;
		mid.not_before_ms = now_ms - SVID_BACKDATE_MS;
		if (spec.not_before_ms < mid.not_before_ms)
			mid.not_before_ms = spec.not_before_ms;
		mid.not_after_ms = now_ms + SVID_X509_TTL_DEFAULT;
		if (spec.not_after_ms > mid.not_after_ms)
			mid.not_after_ms = spec.not_after_ms;
		mid.bc = "critical,CA:TRUE,pathlen:0";
		mid.ku = "critical,keyCertSign,cRLSign";
		mid.uri[0] = uri;
		mid.nuri = 1;
		if ((certs[1] = svid_cert_make(&mid, mid_key->pkey, ca->cert,
		    ca->key.pkey, err)) == NULL)
			goto out;
		issuer = certs[1];
		issuer_key = mid_key->pkey;
	}
	if ((certs[0] = svid_cert_make(&spec, leaf_key->pkey, issuer,
	    issuer_key, err)) == NULL)
		goto out;
	if ((*chain_pem = svid_cert_pem(certs, certs[1] != NULL ? 2 : 1)) ==
	    NULL || (*key_pem = svid_key_pem(leaf_key->pkey)) == NULL) {
		svid_oom(err);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		free(*chain_pem);
		free(*key_pem);
		*chain_pem = *key_pem = NULL;
	}
	X509_free(certs[0]);
	X509_free(certs[1]);
	svid_key_free(leaf_key);
	svid_key_free(mid_key);
	return rc;
}

int
svid_chain_from_pem(const char *pem, size_t len, struct svid_chain *out,
    struct nsreg_error *err)
{
	BIO		*bio;
	X509		*x;
	unsigned char	*der;
	int		 n, rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return svid_oom(err);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (out->n == X509SVID_CHAIN_MAX) {
			X509_free(x);
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "svid: more than %d certificates",
			    X509SVID_CHAIN_MAX);
			goto out;
		}
		der = NULL;
		n = i2d_X509(x, &der);
		X509_free(x);
		if (n <= 0) {
			svid_oom(err);
			goto out;
		}
		out->certs[out->n].data = der;
		out->certs[out->n].len = (size_t)n;
		out->n++;
	}
	if (out->n == 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "svid: no PEM certificate");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	if (rc == -1)
		svid_chain_free(out);
	return rc;
}

void
svid_chain_free(struct svid_chain *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		OPENSSL_free((void *)c->certs[i].data);
	memset(c, 0, sizeof(*c));
}

/* ---- JWT-SVIDs --------------------------------------------------------- */

int
svid_jwt_issue(const struct svid_ca *ca, const struct svid_jwt_req *req,
    int64_t now_ms, char **token, struct nsreg_error *err)
{
	json_t	*header = NULL, *claims = NULL, *aud;
	size_t	 i;
	int64_t	 ttl = req->ttl_ms > 0 ? req->ttl_ms : SVID_JWT_TTL_DEFAULT;
	int	 rc = -1;

	*token = NULL;
	if (req->id == NULL || req->naud == 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "svid: a JWT-SVID needs a subject and an audience");
	if ((header = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid",
	    req->kid != NULL ? req->kid : ca->kid, "typ", "JWT")) == NULL)
		goto oom;
	if (req->naud == 1)
		aud = json_string(req->aud[0]);
	else if ((aud = json_array()) != NULL)
		for (i = 0; i < req->naud; i++)
			if (json_array_append_new(aud,
			    json_string(req->aud[i])) == -1) {
				json_decref(aud);
				aud = NULL;
				break;
			}
	if (aud == NULL)
		goto oom;
	/* "o" steals aud on every path. */
	if ((claims = json_pack("{s:s, s:o, s:I, s:I}", "sub", req->id,
	    "aud", aud, "exp", (json_int_t)((now_ms + ttl) / 1000), "iat",
	    (json_int_t)(now_ms / 1000))) == NULL)
		goto oom;
	rc = svid_jws_sign(&ca->jwt, "ES256", header, claims, token, err);
	goto out;
oom:
	svid_oom(err);
out:
	json_decref(header);
	json_decref(claims);
	return rc;
}

/* ---- development directory --------------------------------------------- */

/*
 * 1 when dir/certfile + dir/keyfile hold a certificate for id, issued by
 * ca, whose key is keyfile, with at least min_left_ms of life left.
 */
static int
svid_dev_cert_ok(const struct svid_ca *ca, const char *dir,
    const char *certfile, const char *keyfile, const char *id,
    int64_t now_ms, int64_t min_left_ms)
{
	struct nsreg_error	 e;
	char			*cert, *key = NULL, uri[SPIFFE_ID_MAX + 1];
	X509			*x = NULL;
	EVP_PKEY		*pk = NULL, *capub;
	int			 ok = 0, n;

	if ((cert = svid_read(dir, certfile, &e)) == NULL ||
	    (key = svid_read(dir, keyfile, &e)) == NULL)
		goto out;
	if ((x = svid_parse_cert(cert, certfile, &e)) == NULL ||
	    (pk = svid_parse_key(key, keyfile, &e)) == NULL)
		goto out;
	capub = X509_get0_pubkey(ca->cert);
	if (capub == NULL || X509_verify(x, capub) != 1 ||
	    X509_check_private_key(x, pk) != 1)
		goto out;
	if ((n = x509svid_check_one_uri(x, uri, sizeof(uri), &e)) == -1 ||
	    (size_t)n != strlen(id) || strcmp(uri, id) != 0)
		goto out;
	if (x509svid_check_validity(x, 1, (now_ms + min_left_ms) / 1000,
	    &e) == -1)
		goto out;
	ok = 1;
out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(pk);
	free(cert);
	if (key != NULL)
		OPENSSL_cleanse(key, strlen(key));
	free(key);
	return ok;
}

static int
svid_dev_issue(const struct svid_ca *ca, const char *dir,
    const char *certfile, const char *keyfile,
    const struct svid_x509_req *req, int64_t now_ms,
    struct nsreg_error *err)
{
	char	*chain = NULL, *key = NULL;
	int	 rc = -1;

	if (svid_x509_issue(ca, req, now_ms, &chain, &key, err) == -1)
		return -1;
	if (svid_write(dir, keyfile, key, 0600, err) == 0 &&
	    svid_write(dir, certfile, chain, 0644, err) == 0)
		rc = 0;
	OPENSSL_cleanse(key, strlen(key));
	free(key);
	free(chain);
	return rc;
}

/* 1 when dir/client.jwt is ca's token for id and audience, with at least
 * an hour left. */
static int
svid_dev_jwt_ok(const struct svid_ca *ca, const char *dir, const char *id,
    const char *audience, int64_t now_ms)
{
	struct nsreg_error	 e;
	struct trust		*t = NULL;
	struct bundle		*b = NULL;
	struct principal	 p;
	char			*tok;
	size_t			 len;
	int			 ok = 0;

	memset(&p, 0, sizeof(p));
	if ((tok = svid_read(dir, "client.jwt", &e)) == NULL)
		return 0;
	len = strcspn(tok, "\r\n");
	/* The real verifier, an hour from now. */
	if ((t = trust_new(ca->td, &e)) == NULL ||
	    (b = svid_ca_bundle(ca, &e)) == NULL || trust_set(t, b, &e) == -1)
		goto out;
	if (jwtsvid_verify(NULL, t, audience, tok, len, now_ms + 3600 * 1000,
	    &p, &e) == -1 || strcmp(p.id, id) != 0)
		goto out;
	ok = 1;
out:
	principal_clear(&p);
	bundle_unref(b);
	trust_free(t);
	free(tok);
	return ok;
}

int
svid_dev_ensure(const struct svid_dev *dev, int64_t now_ms,
    struct nsreg_error *err)
{
	static const char *const localhost[] = { "localhost" };
	static const char *const loopback[] = { "127.0.0.1" };
	struct svid_ca		*ca = NULL;
	struct svid_x509_req	 req;
	struct svid_jwt_req	 jreq;
	char			 td[SPIFFE_TD_MAX + 1], *tok = NULL, *line;
	size_t			 n;
	int			 rc = -1;

	if (spiffe_td_parse(dev->trust_domain, td, err) == -1 ||
	    svid_mkdir(dev->dir, err) == -1)
		return -1;
	if (svid_exists(dev->dir, "ca.key")) {
		if ((ca = svid_ca_load(dev->dir, err)) == NULL)
			return -1;
		if (strcmp(ca->td, td) != 0) {
			nsreg_error_set(err, NSREG_FAILED_PRECONDITION, NULL,
			    "%s: the CA is for trust domain %s, not %s",
			    dev->dir, ca->td, td);
			goto out;
		}
	} else if ((ca = svid_ca_generate(td, now_ms, 0, err)) == NULL ||
	    svid_ca_save(ca, dev->dir, err) == -1)
		goto out;
	if ((!svid_exists(dev->dir, "bundle.pem") ||
	    !svid_exists(dev->dir, "bundle.json")) &&
	    svid_ca_write_bundle(ca, dev->dir, err) == -1)
		goto out;

	memset(&req, 0, sizeof(req));
	req.ttl_ms = SVID_DEV_X509_TTL;
	if (!svid_dev_cert_ok(ca, dev->dir, "server.pem", "server.key",
	    dev->server_id, now_ms, SVID_DEV_X509_TTL / 10)) {
		req.id = dev->server_id;
		req.dns = localhost;
		req.ndns = 1;
		req.ip = loopback;
		req.nip = 1;
		if (svid_dev_issue(ca, dev->dir, "server.pem", "server.key",
		    &req, now_ms, err) == -1)
			goto out;
	}
	if (!svid_dev_cert_ok(ca, dev->dir, "client.pem", "client.key",
	    dev->client_id, now_ms, SVID_DEV_X509_TTL / 10)) {
		memset(&req, 0, sizeof(req));
		req.ttl_ms = SVID_DEV_X509_TTL;
		req.id = dev->client_id;
		if (svid_dev_issue(ca, dev->dir, "client.pem", "client.key",
		    &req, now_ms, err) == -1)
			goto out;
	}
	if (!svid_dev_jwt_ok(ca, dev->dir, dev->client_id, dev->audience,
	    now_ms)) {
		memset(&jreq, 0, sizeof(jreq));
		jreq.id = dev->client_id;
		jreq.aud = &dev->audience;
		jreq.naud = 1;
		jreq.ttl_ms = SVID_DEV_JWT_TTL;
		if (svid_jwt_issue(ca, &jreq, now_ms, &tok, err) == -1)
			goto out;
		n = strlen(tok) + 2;
		if ((line = malloc(n)) == NULL) {
			svid_oom(err);
			goto out;
		}
		snprintf(line, n, "%s\n", tok);
		rc = svid_write(dev->dir, "client.jwt", line, 0600, err);
		free(line);
		if (rc == -1)
			goto out;
	}
	rc = 0;
out:
	free(tok);
	svid_ca_free(ca);
	return rc;
}
