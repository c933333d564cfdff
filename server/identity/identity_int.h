/*
 * identity_int.h - what the identity modules (bundle, trust, x509svid,
 * jwtsvid, svid) and their tests share, OpenSSL types included.  No other
 * module includes this header: the public headers keep OpenSSL out.
 */
#ifndef NSREG_IDENTITY_INT_H
#define NSREG_IDENTITY_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "error.h"
#include "spiffe.h"

/* ---- bundles (bundle.c) ------------------------------------------------ */

struct bundle_key {
	char		 kid[BUNDLE_KID_MAX + 1];	/* jwt-svid; x509 "" */
	EVP_PKEY	*pkey;		/* owned (a reference) */
	X509		*cert;		/* x509-svid root, owned; else NULL */
	int		 type;		/* EVP_PKEY_EC, _RSA, _ED25519... */
	int		 curve;		/* EC: NID of the curve, else 0 */
	int		 bits;
};

struct bundle {
	int			 refs;		/* atomic */
	uint64_t		 serial;
	char			 td[SPIFFE_TD_MAX + 1];
	int			 has_sequence;
	int			 has_refresh_hint;
	int64_t			 sequence;
	int64_t			 refresh_hint;
	struct bundle_key	*x509;
	size_t			 nx509;
	struct bundle_key	*jwt;
	size_t			 njwt;
	size_t			 ignored;
	X509_STORE		*store;		/* the x509 roots; NULL: none */
};

/* The jwt-svid key with this kid, NULL when none.  Borrowed from b. */
const struct bundle_key *bundle_jwt_key(const struct bundle *b,
		    const char *kid);

/* Fill type, curve and bits of k from k->pkey; 0, or -1 for a type this
 * server does not use. */
int		 bundle_key_describe(struct bundle_key *k);

/* ---- X509-SVID rules (x509svid.c), one function per MUST --------------- */

/* Exactly one URI SAN: its value (NUL-terminated, possibly holding NUL
 * bytes) into uri[0..size); returns its length, or -1 with err. */
int		 x509svid_check_one_uri(X509 *leaf, char *uri, size_t size,
		    struct nsreg_error *err);
/* uri[0..len) is a SPIFFE ID (scheme spiffe, every SPIFFE-ID rule). */
int		 x509svid_check_spiffe_id(const char *uri, size_t len,
		    struct spiffe_id *id, struct nsreg_error *err);
/* A leaf's SPIFFE ID has a non-root path. */
int		 x509svid_check_non_root(const struct spiffe_id *id,
		    struct nsreg_error *err);
/* Basic constraints cA is false (or absent). */
int		 x509svid_check_not_ca(X509 *leaf, struct nsreg_error *err);
/* Key usage present with digitalSignature. */
int		 x509svid_check_digital_signature(X509 *leaf,
		    struct nsreg_error *err);
/* No keyCertSign. */
int		 x509svid_check_no_key_cert_sign(X509 *leaf,
		    struct nsreg_error *err);
/* No cRLSign. */
int		 x509svid_check_no_crl_sign(X509 *leaf,
		    struct nsreg_error *err);
/* The extended key usage, when present, allows purpose. */
int		 x509svid_check_purpose(X509 *leaf, int purpose,
		    struct nsreg_error *err);
/* now (seconds) within notBefore..notAfter of cert (the leaf when
 * leaf is set, else a CA certificate, as the message says). */
int		 x509svid_check_validity(X509 *cert, int leaf, int64_t now_s,
		    struct nsreg_error *err);

#endif
