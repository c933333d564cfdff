/*
 * x509svid.c - X.509-SVID verification (x509svid.h): one function per
 * MUST of X509-SVID sections 2, 3.1, 4.3 and 5, then RFC 5280 path
 * validation by OpenSSL against the roots of the leaf's trust domain.
 */
#include "config.h"

#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "identity_int.h"
#include "jose.h"
#include "tokcache.h"
#include "principal.h"
#include "spiffe.h"
#include "trust.h"
#include "x509svid.h"

int
x509svid_check_one_uri(X509 *leaf, char *uri, size_t size,
    struct nsreg_error *err)
{
	GENERAL_NAMES		*sans;
	const GENERAL_NAME	*gn;
	const ASN1_IA5STRING	*found = NULL;
	int			 crit = -1, i, nuri = 0, rc = -1;

	sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
	if (sans == NULL) {
		if (crit == -1)
			return nsreg_error_set(err, NSREG_UNAUTHENTICATED,
			    NULL, "x509: no URI SAN");
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: malformed subject alternative name");
	}
	for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type == GEN_URI) {
			nuri++;
			found = gn->d.uniformResourceIdentifier;
		}
	}
	if (nuri == 0) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: no URI SAN");
		goto out;
	}
	if (nuri > 1) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: more than one URI SAN");
		goto out;
	}
	if (found->length < 0 || (size_t)found->length >= size) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: URI SAN is not a valid SPIFFE ID: %s",
		    spiffe_rule_message(SPIFFE_TOO_LONG));
		goto out;
	}
	/* NUL bytes are kept: the SPIFFE ID check refuses them. */
	memcpy(uri, found->data, (size_t)found->length);
	uri[found->length] = '\0';
	rc = found->length;
out:
	GENERAL_NAMES_free(sans);
	return rc;
}

int
x509svid_check_spiffe_id(const char *uri, size_t len, struct spiffe_id *id,
    struct nsreg_error *err)
{
	enum spiffe_rule	rule;

	/* X509-SVID 5.2: the scheme is spiffe; SPIFFE-ID 2: all the rest. */
	rule = spiffe_id_check(uri, len, id);
	if (rule != SPIFFE_OK)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: URI SAN is not a valid SPIFFE ID: %s",
		    spiffe_rule_message(rule));
	return 0;
}

int
x509svid_check_non_root(const struct spiffe_id *id, struct nsreg_error *err)
{
	/* X509-SVID 3.1: leaf SPIFFE IDs MUST have a non-root path. */
	if (!spiffe_id_has_path(id))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: leaf SPIFFE ID has no path");
	return 0;
}

int
x509svid_check_not_ca(X509 *leaf, struct nsreg_error *err)
{
	/* X509-SVID 4.1, 5.2: leaf certificates have cA false. */
	if (X509_get_extension_flags(leaf) & EXFLAG_CA)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: leaf is a CA");
	return 0;
}

int
x509svid_check_digital_signature(X509 *leaf, struct nsreg_error *err)
{
	/* X509-SVID 4.3: key usage is set on all SVIDs; leaves MUST set
	 * digitalSignature. */
	if (!(X509_get_extension_flags(leaf) & EXFLAG_KUSAGE))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: leaf has no key usage");
	if (!(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: leaf lacks digitalSignature");
	return 0;
}

int
x509svid_check_no_key_cert_sign(X509 *leaf, struct nsreg_error *err)
{
	/* X509-SVID 4.3, 5.2. */
	if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) &&
	    (X509_get_key_usage(leaf) & KU_KEY_CERT_SIGN))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: leaf has keyCertSign");
	return 0;
}

int
x509svid_check_no_crl_sign(X509 *leaf, struct nsreg_error *err)
{
	/* X509-SVID 4.3, 5.2. */
	if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) &&
	    (X509_get_key_usage(leaf) & KU_CRL_SIGN))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: leaf has cRLSign");
	return 0;
}

int
x509svid_check_purpose(X509 *leaf, int purpose, struct nsreg_error *err)
{
	uint32_t	xku;

	/* RFC 5280 4.2.1.12: when present, the EKU restricts the key. */
	if (purpose == X509SVID_PURPOSE_ANY ||
	    !(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE))
		return 0;
	xku = X509_get_extended_key_usage(leaf);
	if (xku & XKU_ANYEKU)
		return 0;
	if (purpose == X509SVID_PURPOSE_CLIENT && !(xku & XKU_SSL_CLIENT))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: leaf extended key usage lacks clientAuth");
	if (purpose == X509SVID_PURPOSE_SERVER && !(xku & XKU_SSL_SERVER))
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: leaf extended key usage lacks serverAuth");
	return 0;
}

int
x509svid_check_validity(X509 *cert, int leaf, int64_t now_s,
    struct nsreg_error *err)
{
	time_t		 t = (time_t)now_s;
	const char	*who = leaf ? "certificate" : "CA certificate";

	/* RFC 5280 4.1.2.5: valid from notBefore through notAfter. */
	if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert), t) > 0)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: %s not yet valid", who);
	if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert), t) < 0)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: %s expired", who);
	return 0;
}

/* notAfter in ms since the epoch; -1 when unreadable. */
static int64_t
x509svid_not_after_ms(X509 *cert)
{
	struct tm	tm;

	if (!ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
		return -1;
	return (int64_t)timegm(&tm) * 1000;
}

/* The reason for an X509_verify_cert failure, as an error message. */
static int
x509svid_path_error(X509_STORE_CTX *ctx, const char *td,
    struct nsreg_error *err)
{
	int		 e = X509_STORE_CTX_get_error(ctx);
	int		 depth = X509_STORE_CTX_get_error_depth(ctx);
	const char	*who = depth == 0 ? "certificate" : "CA certificate";

	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_CERT_UNTRUSTED:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: not signed by an authority of trust domain %s", td);
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: bad %s signature", who);
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: %s expired", who);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: %s not yet valid", who);
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: chain longer than a CA's path length constraint "
		    "allows");
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: chain longer than %d certificates",
		    X509SVID_CHAIN_MAX);
	case X509_V_ERR_INVALID_CA:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: issuer is not a CA");
	default:
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: invalid chain: %s",
		    X509_verify_cert_error_string(e));
	}
}

/* x509svid_verify, telling the serial of the bundle used. */
static int
x509svid_verify_serial(struct trust *trust, const struct x509svid_der *chain,
    size_t n, int64_t now_ms, enum x509svid_purpose purpose,
    struct principal *p, uint64_t *serial, struct nsreg_error *err)
{
	X509			*certs[X509SVID_CHAIN_MAX] = { NULL };
	STACK_OF(X509)		*untrusted = NULL;
	STACK_OF(X509)		*verified;
	X509_STORE_CTX		*ctx = NULL;
	struct bundle		*b = NULL;
	struct spiffe_id	 id;
	char			 uri[SPIFFE_ID_MAX + 1];
	char			 td[SPIFFE_TD_MAX + 1];
	const unsigned char	*d;
	int64_t			 now_s, exp_ms = 0, na;
	size_t			 i;
	int			 rc = -1, ulen;

	principal_clear(p);
	if (n == 0) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: no certificate");
		goto out;
	}
	if (n > X509SVID_CHAIN_MAX) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: chain longer than %d certificates",
		    X509SVID_CHAIN_MAX);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (chain[i].len == 0 || chain[i].len > X509SVID_CERT_MAX) {
			nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
			    "x509: malformed certificate");
			goto out;
		}
		d = chain[i].data;
		certs[i] = d2i_X509(NULL, &d, (long)chain[i].len);
		if (certs[i] == NULL ||
		    d != (const unsigned char *)chain[i].data + chain[i].len) {
			nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
			    "x509: malformed certificate");
			goto out;
		}
	}

	/* The leaf, alone: what makes it an X509-SVID for authentication. */
	if ((ulen = x509svid_check_one_uri(certs[0], uri, sizeof(uri),
	    err)) == -1 ||
	    x509svid_check_spiffe_id(uri, (size_t)ulen, &id, err) == -1 ||
	    x509svid_check_non_root(&id, err) == -1 ||
	    x509svid_check_not_ca(certs[0], err) == -1 ||
	    x509svid_check_no_key_cert_sign(certs[0], err) == -1 ||
	    x509svid_check_no_crl_sign(certs[0], err) == -1 ||
	    x509svid_check_digital_signature(certs[0], err) == -1 ||
	    x509svid_check_purpose(certs[0], (int)purpose, err) == -1)
		goto out;

	/* The roots of the leaf's trust domain, and no other. */
	spiffe_id_trust_domain(&id, td);
	if ((b = trust_get(trust, td)) == NULL) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: no bundle for trust domain %s", td);
		goto out;
	}
	if (b->store == NULL) {
		nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "x509: trust domain %s has no X.509 authorities", td);
		goto out;
	}
	*serial = bundle_serial(b);

	now_s = now_ms / 1000;
	for (i = 0; i < n; i++)
		if (x509svid_check_validity(certs[i], i == 0, now_s, err) ==
		    -1)
			goto out;

	if ((untrusted = sk_X509_new_null()) == NULL)
		goto oom;
	for (i = 1; i < n; i++)
		if (!sk_X509_push(untrusted, certs[i]))
			goto oom;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, b->store, certs[0], untrusted))
		goto oom;
	X509_STORE_CTX_set_time(ctx, 0, (time_t)now_s);
	/*
	 * Every certificate of the bundle is a trust anchor (the standard
	 * says they SHOULD, not MUST, be self-signed).
	 */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	/* The path, anchor excluded, no longer than a chain we accept. */
	X509_STORE_CTX_set_depth(ctx, X509SVID_CHAIN_MAX - 1);
	if (X509_verify_cert(ctx) != 1) {
		x509svid_path_error(ctx, td, err);
		goto out;
	}

	verified = X509_STORE_CTX_get0_chain(ctx);
	for (i = 0; i < (size_t)sk_X509_num(verified); i++) {
		na = x509svid_not_after_ms(sk_X509_value(verified, (int)i));
		if (na < 0) {
			nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
			    "x509: unreadable notAfter");
			goto out;
		}
		if (exp_ms == 0 || na < exp_ms)
			exp_ms = na;
	}

	p->auth = PRINCIPAL_X509;
	memcpy(p->id, id.id, id.len + 1);
	memcpy(p->trust_domain, td, strlen(td) + 1);
	p->path_off = id.path_off;
	p->expires_at = exp_ms;
	rc = 0;
	goto out;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "x509: out of memory");
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	for (i = 0; i < X509SVID_CHAIN_MAX; i++)
		X509_free(certs[i]);
	bundle_unref(b);
	return rc;
}

int
x509svid_verify(struct trust *trust, const struct x509svid_der *chain,
    size_t n, int64_t now_ms, enum x509svid_purpose purpose,
    struct principal *p, struct nsreg_error *err)
{
	uint64_t	serial;

	return x509svid_verify_serial(trust, chain, n, now_ms, purpose, p,
	    &serial, err);
}

/* SHA-256("x509", NUL, purpose, then each certificate's length and DER). */
static int
x509svid_digest(const struct x509svid_der *chain, size_t n,
    enum x509svid_purpose purpose, unsigned char *out)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 pb = (unsigned char)purpose, lb[8];
	unsigned int	 len;
	size_t		 i, j;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex2(ctx, jose_md(256), NULL) &&
	    EVP_DigestUpdate(ctx, "x509", 5) &&
	    EVP_DigestUpdate(ctx, &pb, 1);
	for (i = 0; ok && i < n; i++) {
		for (j = 0; j < 8; j++)
			lb[j] = (unsigned char)((uint64_t)chain[i].len >>
			    (56 - 8 * j));
		ok = EVP_DigestUpdate(ctx, lb, sizeof(lb)) &&
		    EVP_DigestUpdate(ctx, chain[i].data, chain[i].len);
	}
	ok = ok && EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
x509svid_verify_cached(struct tokcache *cache, struct trust *trust,
    const struct x509svid_der *chain, size_t n, int64_t now_ms,
    enum x509svid_purpose purpose, struct principal *p,
    struct nsreg_error *err)
{
	unsigned char	digest[TOKCACHE_DIGEST_LEN];
	uint64_t	serial = 0;
	size_t		i;
	int		cacheable;

	principal_clear(p);
	/* Only well-formed chains are worth a key; the rest fail below. */
	cacheable = cache != NULL && n > 0 && n <= X509SVID_CHAIN_MAX;
	for (i = 0; cacheable && i < n; i++) {
		if (chain[i].len == 0 || chain[i].len > X509SVID_CERT_MAX)
			cacheable = 0;
	}
	cacheable = cacheable && x509svid_digest(chain, n, purpose,
	    digest) == 0;
	if (tokcache_get(cache, trust, cacheable ? digest : NULL, now_ms, p))
		return 0;
	if (x509svid_verify_serial(trust, chain, n, now_ms, purpose, p,
	    &serial, err) == -1)
		return -1;
	if (cacheable)
		tokcache_put(cache, digest, now_ms, p->expires_at, p,
		    serial);
	return 0;
}
