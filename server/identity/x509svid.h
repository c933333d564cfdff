/*
 * x509svid.h - verify an X.509-SVID certificate chain (spiffe/spiffe
 * standards/X509-SVID.md sections 2 to 5) into a principal.
 *
 * The chain is the peer's DER certificates, leaf first, as TLS delivers
 * them (gnutls_certificate_get_peers).  Verification:
 *   1. every certificate parses as DER, the chain has 1 to
 *      X509SVID_CHAIN_MAX certificates;
 *   2. the leaf: exactly one URI SAN, a valid SPIFFE ID (spiffe.h) with a
 *      non-root path, basic constraints cA false, a key usage extension
 *      with digitalSignature and without keyCertSign and cRLSign, and,
 *      when it has an extended key usage, the purpose asked for;
 *   3. the bundle of the leaf's trust domain ONLY is looked up in the
 *      trust set (never a pool of every trust domain's roots);
 *   4. every certificate is within its validity period at `now';
 *   5. RFC 5280 path validation (OpenSSL X509_verify_cert) from the leaf
 *      through the other certificates given (untrusted intermediates) to
 *      one of that bundle's X.509 roots, at time `now'.
 * The principal's expires_at is the earliest notAfter of the verified
 * chain (root included).
 *
 * Every failure is NSREG_UNAUTHENTICATED with a message that starts
 * "x509: " and says only why ("x509: leaf is a CA", "x509: certificate
 * expired", "x509: no bundle for trust domain b.test").
 */
#ifndef NSREG_X509SVID_H
#define NSREG_X509SVID_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tokcache.h"
#include "principal.h"
#include "trust.h"

#define X509SVID_CHAIN_MAX	8	/* certificates, leaf included */
#define X509SVID_CERT_MAX	(64 * 1024)	/* bytes of one DER cert */

/* One DER certificate (gnutls_datum_t converts field by field). */
struct x509svid_der {
	const void	*data;
	size_t		 len;
};

/* What the leaf is presented for (its extended key usage, if any, must
 * allow it; anyExtendedKeyUsage allows everything). */
enum x509svid_purpose {
	X509SVID_PURPOSE_CLIENT = 0,	/* id-kp-clientAuth: TLS clients */
	X509SVID_PURPOSE_SERVER,	/* id-kp-serverAuth: TLS servers */
	X509SVID_PURPOSE_ANY		/* no extended key usage check */
};

/*
 * Verify chain[0..n) (leaf first) against trust at now_ms (ms since the
 * epoch).  On success returns 0 and fills p (first cleared with
 * principal_clear): auth PRINCIPAL_X509, id, trust_domain, path_off,
 * expires_at, claims NULL, admin 0.  On failure returns -1, err is set
 * (NSREG_UNAUTHENTICATED, or NSREG_INTERNAL when memory runs out) and p
 * is left anonymous.  Thread-safe; trust is only read.
 */
int		 x509svid_verify(struct trust *trust,
		    const struct x509svid_der *chain, size_t n, int64_t now_ms,
		    enum x509svid_purpose purpose, struct principal *p,
		    struct nsreg_error *err);

/*
 * As x509svid_verify, remembering verified chains in cache (tokcache.h:
 * one cache serves JWT-SVIDs and chains, their keys never collide; NULL:
 * no cache).  A chain verified before for the same
 * purpose costs one SHA-256 of its DER and a lookup, while the bundle
 * that verified it is still its trust domain's and until the chain's
 * earliest notAfter.  Parsing a certificate alone costs OpenSSL 3.0 some
 * 300 us, a chain verification about 0.9 ms: the server should use this.
 */
int		 x509svid_verify_cached(struct tokcache *cache,
		    struct trust *trust, const struct x509svid_der *chain,
		    size_t n, int64_t now_ms, enum x509svid_purpose purpose,
		    struct principal *p, struct nsreg_error *err);

#endif
