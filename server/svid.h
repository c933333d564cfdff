/*
 * svid.h - mint SVIDs from a development CA: for `nsregd --dev', for the
 * nsreg-svid tool and for tests.  Production identities come from SPIRE;
 * this module is what lets everything else be tried and tested without
 * one, including certificates that break each X509-SVID rule on purpose.
 *
 * A CA directory holds:
 *   ca.pem    the root certificate (EC P-256, cA true, keyCertSign and
 *             cRLSign, URI SAN spiffe://TD), PEM;
 *   ca.key    its private key, PKCS#8 PEM, mode 0600;
 *   jwt.key   the JWT-SVID signing key (EC P-256), PKCS#8 PEM, mode 0600
 *             (a separate key, so X.509 and JWT signatures never share
 *             one; when absent, ca.key signs JWT-SVIDs);
 *   bundle.pem, bundle.json
 *             the trust bundle as PEM and as a SPIFFE bundle with the
 *             x509-svid root and the jwt-svid key.
 * The JWT key's kid is its RFC 7638 JWK thumbprint (SHA-256, base64url).
 *
 * Errors: functions return 0/-1 or NULL and fill err (NSREG_INVALID_ARGUMENT
 * for bad input, NSREG_NOT_FOUND for a missing CA, NSREG_ALREADY_EXISTS
 * when a CA would be overwritten, NSREG_INTERNAL for I/O and crypto).
 * Returned strings are new NUL-terminated buffers for free(3).
 */
#ifndef NSREG_SVID_H
#define NSREG_SVID_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bundle.h"
#include "error.h"
#include "x509svid.h"

#define SVID_CA_TTL_DEFAULT	(10LL * 365 * 86400 * 1000)	/* 10 years */
#define SVID_X509_TTL_DEFAULT	(3600LL * 1000)			/* 1 hour */
#define SVID_JWT_TTL_DEFAULT	(300LL * 1000)			/* 5 minutes */
#define SVID_BACKDATE_MS	(60LL * 1000)	/* notBefore = now - 1 min */
#define SVID_REFRESH_HINT_DEFAULT 300		/* seconds, in bundle.json */

/* ---- keys -------------------------------------------------------------- */

enum svid_key_type {
	SVID_KEY_EC_P256 = 0,
	SVID_KEY_EC_P384,
	SVID_KEY_EC_P521,
	SVID_KEY_RSA_2048,
	SVID_KEY_RSA_1024	/* too weak on purpose: tests only */
};

/* An opaque private key. */
struct svid_key;

/* A new key of the type, or NULL with err. */
struct svid_key	*svid_key_generate(enum svid_key_type type,
		    struct nsreg_error *err);
void		 svid_key_free(struct svid_key *k);

/* The public key as a JWK with "use" (e.g. "jwt-svid") and, when kid is
 * not NULL, "kid".  New reference, NULL when memory runs out. */
json_t		*svid_key_jwk(const struct svid_key *k, const char *use,
		    const char *kid);

/* The public key as PEM (SubjectPublicKeyInfo) in a new buffer. */
char		*svid_key_public_pem(const struct svid_key *k,
		    struct nsreg_error *err);

/*
 * Sign a compact JWS: base64url(JSON of header) "." base64url(JSON of
 * claims) "." signature with alg ("RS256".."PS512", "ES256".."ES512";
 * the key must fit it).  header and claims are borrowed and serialised as
 * they are: alg is NOT inserted into header, so tests can make tokens
 * whose header lies.  *token gets a new string.
 */
int		 svid_jws_sign(const struct svid_key *k, const char *alg,
		    const json_t *header, const json_t *claims, char **token,
		    struct nsreg_error *err);

/* ---- the CA ------------------------------------------------------------ */

struct svid_ca;

/* A new CA for trust domain td valid from now_ms - SVID_BACKDATE_MS for
 * ttl_ms (0: SVID_CA_TTL_DEFAULT), in memory. */
struct svid_ca	*svid_ca_generate(const char *td, int64_t now_ms,
		    int64_t ttl_ms, struct nsreg_error *err);

/* Write ca.pem, ca.key, jwt.key, bundle.pem and bundle.json into dir
 * (created 0700 when missing).  Refuses (NSREG_ALREADY_EXISTS) when
 * dir/ca.key exists. */
int		 svid_ca_save(const struct svid_ca *ca, const char *dir,
		    struct nsreg_error *err);

/* Load a CA from dir (ca.pem, ca.key, jwt.key if present); its trust
 * domain comes from the URI SAN of ca.pem. */
struct svid_ca	*svid_ca_load(const char *dir, struct nsreg_error *err);

void		 svid_ca_free(struct svid_ca *ca);

/* Borrowed from ca: the trust domain, the JWT key's kid, the JWT key. */
const char	*svid_ca_trust_domain(const struct svid_ca *ca);
const char	*svid_ca_jwt_kid(const struct svid_ca *ca);
const struct svid_key *svid_ca_jwt_key(const struct svid_ca *ca);

/* The CA's SPIFFE bundle (x509-svid root and jwt-svid key), with
 * spiffe_sequence and spiffe_refresh_hint when >= 0.  New reference. */
json_t		*svid_ca_bundle_json(const struct svid_ca *ca,
		    int64_t sequence, int64_t refresh_hint);

/* The CA certificate as PEM (the PEM bundle).  New buffer. */
char		*svid_ca_bundle_pem(const struct svid_ca *ca);

/* The CA's bundle, parsed (for tests and dev mode).  New reference. */
struct bundle	*svid_ca_bundle(const struct svid_ca *ca,
		    struct nsreg_error *err);

/* Write dir/bundle.pem and dir/bundle.json (sequence 1, refresh hint
 * SVID_REFRESH_HINT_DEFAULT). */
int		 svid_ca_write_bundle(const struct svid_ca *ca,
		    const char *dir, struct nsreg_error *err);

/* ---- X.509-SVIDs ------------------------------------------------------- */

/* Ways to break a certificate on purpose (tests), and the intermediate. */
#define SVID_X509_INTERMEDIATE		0x0001	/* via a new intermediate CA */
#define SVID_X509_CA			0x0002	/* leaf with cA true */
#define SVID_X509_NO_DIGITAL_SIGNATURE	0x0004
#define SVID_X509_KEY_CERT_SIGN		0x0008
#define SVID_X509_CRL_SIGN		0x0010
#define SVID_X509_NO_KEY_USAGE		0x0020	/* no key usage extension */
#define SVID_X509_NO_URI		0x0040	/* no URI SAN at all */
#define SVID_X509_NO_EKU		0x0080	/* no extended key usage */
#define SVID_X509_SERVER_ONLY		0x0100	/* EKU serverAuth only */

struct svid_x509_req {
	const char		 *id;		/* URI SAN; any trust domain */
	const char		 *extra_uri;	/* a second URI SAN, or NULL */
	const char *const	 *dns;		/* DNS SANs */
	size_t			  ndns;
	const char *const	 *ip;		/* IP SANs, v4 or v6 text */
	size_t			  nip;
	int64_t			  ttl_ms;	/* 0: SVID_X509_TTL_DEFAULT */
	int64_t			  not_before_ms; /* 0: now - backdate */
	int64_t			  not_after_ms;	/* 0: not_before + ttl */
	unsigned int		  flags;	/* SVID_X509_* */
	enum svid_key_type	  key_type;	/* the leaf's key */
};

/*
 * Issue an X.509-SVID signed by ca (or by a new intermediate that ca
 * signs, with SVID_X509_INTERMEDIATE).  *chain_pem gets the leaf and the
 * intermediate (if any) as PEM, leaf first; *key_pem the leaf's private
 * key, PKCS#8 PEM.  id is not checked: tests mint bad IDs too.
 */
int		 svid_x509_issue(const struct svid_ca *ca,
		    const struct svid_x509_req *req, int64_t now_ms,
		    char **chain_pem, char **key_pem, struct nsreg_error *err);

/* DER certificates decoded from PEM: certs[i].data is owned. */
struct svid_chain {
	size_t			n;
	struct x509svid_der	certs[X509SVID_CHAIN_MAX];
};

/* Decode every CERTIFICATE of pem[0..len) (1 to X509SVID_CHAIN_MAX). */
int		 svid_chain_from_pem(const char *pem, size_t len,
		    struct svid_chain *out, struct nsreg_error *err);
void		 svid_chain_free(struct svid_chain *c);

/* ---- JWT-SVIDs --------------------------------------------------------- */

struct svid_jwt_req {
	const char		 *id;		/* sub */
	const char *const	 *aud;		/* at least one */
	size_t			  naud;		/* 1: a string, else an array */
	int64_t			  ttl_ms;	/* 0: SVID_JWT_TTL_DEFAULT */
	const char		 *kid;		/* NULL: the CA's JWT kid */
};

/* Issue an ES256 JWT-SVID {"alg","kid","typ":"JWT"} {"sub","aud","exp",
 * "iat"} signed with the CA's JWT key.  *token gets a new string. */
int		 svid_jwt_issue(const struct svid_ca *ca,
		    const struct svid_jwt_req *req, int64_t now_ms,
		    char **token, struct nsreg_error *err);

/* ---- development directory --------------------------------------------- */

#define SVID_DEV_X509_TTL	(30LL * 86400 * 1000)	/* 30 days */
#define SVID_DEV_JWT_TTL	(24LL * 3600 * 1000)	/* 24 hours */

struct svid_dev {
	const char	*dir;		/* e.g. "./var/dev" */
	const char	*trust_domain;	/* "example.org" */
	const char	*server_id;	/* "spiffe://example.org/nsregd" */
	const char	*client_id;	/* ".../ns/default/sa/client" */
	const char	*audience;	/* the server's jwt-audience */
};

/*
 * Make sure dir holds a working development identity set, creating what
 * is missing and re-issuing what expired: ca.pem + ca.key + jwt.key (kept
 * when present; its trust domain must then be trust_domain), bundle.pem,
 * bundle.json, server.pem + server.key (DNS SAN localhost, IP SAN
 * 127.0.0.1), client.pem + client.key, client.jwt (aud = audience).  A
 * certificate is re-issued when missing, unreadable, not from this CA or
 * with less than a tenth of SVID_DEV_X509_TTL left; client.jwt when
 * missing, for another audience or subject, or with less than an hour
 * left.  Keys are 0600, dir 0700.  Other files are not touched.
 */
int		 svid_dev_ensure(const struct svid_dev *dev, int64_t now_ms,
		    struct nsreg_error *err);

#endif
