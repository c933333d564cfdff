/*
 * jose.h - the JOSE pieces every token path shares (RFC 7515 JWS, 7517
 * JWK, 7518 JWA, 7638 thumbprints): base64 and base64url, JWK <-> key,
 * thumbprints, compact serialisation, signing and verifying with raw
 * r||s ECDSA signatures, and the algorithm allow-list.
 *
 * The algorithm-confusion defence (DESIGN section 7) lives here: a
 * token's "alg" is looked up in one const table before anything else of
 * the token is used, the caller says which entries it allows, and a key
 * is used only with an algorithm whose family (and, for ECDSA, curve) it
 * fits.  There is no "none", no HMAC, no EdDSA.  Everything is
 * stateless except the digests fetched once; any thread may call it.
 *
 * OpenSSL types appear here: only the identity library, the development
 * CA (svid.c) and the grant signer (grant.c) include this header.
 */
#ifndef NSREG_JOSE_H
#define NSREG_JOSE_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "error.h"

#define JOSE_THUMBPRINT_LEN	43	/* base64url of SHA-256, no NUL */

/* ---- base64 (RFC 4648) --------------------------------------------------- */

/*
 * Decode base64 (section 4, padding optional but correct when present)
 * or, with url set, base64url (section 5, no padding at all) from
 * s[0..len) into a new buffer (*out, free(3) it; *outlen its length).
 * Anything outside the alphabet, an impossible length (1 mod 4) and
 * non-zero unused bits fail.  Returns 0 or -1 (*out NULL).
 */
int		 jose_b64_decode(const char *s, size_t len, int url,
		    unsigned char **out, size_t *outlen);

/* Encode into a new NUL-terminated string (base64 padded, or base64url
 * unpadded); NULL when memory runs out. */
char		*jose_b64_encode(const unsigned char *data, size_t len,
		    int url);

/* base64url of v's compact JSON text (borrowed): a new string, or NULL
 * when memory runs out. */
char		*jose_b64url_json(const json_t *v);

/* A base64url part s[0..len) decoded and parsed as a JSON object,
 * duplicate members refused: a new reference, or NULL. */
json_t		*jose_b64url_object(const char *s, size_t len);

/* ---- algorithms (RFC 7518 section 3) ------------------------------------- */

enum jose_family {
	JOSE_RS = 0,		/* RSASSA-PKCS1-v1_5 */
	JOSE_PS,		/* RSASSA-PSS, salt the size of the digest */
	JOSE_ES			/* ECDSA, JWS raw r||s signatures */
};

/* Bits naming the table's entries, for an allow-list. */
#define JOSE_ALG_RS256		0x001
#define JOSE_ALG_RS384		0x002
#define JOSE_ALG_RS512		0x004
#define JOSE_ALG_ES256		0x008
#define JOSE_ALG_ES384		0x010
#define JOSE_ALG_ES512		0x020
#define JOSE_ALG_PS256		0x040
#define JOSE_ALG_PS384		0x080
#define JOSE_ALG_PS512		0x100
/* JWT-SVID section 2.1: every algorithm the table has. */
#define JOSE_ALGS_JWTSVID	0x1ff

struct jose_alg {
	const char		*name;	/* "ES256" */
	unsigned int		 bit;	/* JOSE_ALG_* */
	enum jose_family	 family;
	int			 md;	/* 256, 384 or 512 (SHA-2) */
	int			 curve;	/* ES: NID of the one curve, else 0 */
	size_t			 half;	/* ES: bytes of r (and of s) */
};

/* The entry for name among those allowed (JOSE_ALG_* bits), or NULL: a
 * name not in the table, or not allowed.  Borrowed, static. */
const struct jose_alg *jose_alg_lookup(const char *name,
		    unsigned int allowed);

/* 1 when a key of this EVP_PKEY base type (and EC curve NID) can check
 * or make signatures of a, else 0. */
int		 jose_alg_fits(const struct jose_alg *a, int type,
		    int curve);

/* SHA-256, SHA-384, SHA-512 by bits, fetched once (borrowed). */
const EVP_MD	*jose_md(int bits);

/* ---- headers ------------------------------------------------------------- */

/* What a protected header may say. */
struct jose_header_rules {
	unsigned int	 algs;		/* JOSE_ALG_* allowed */
	const char	*typ[3];	/* typ values allowed, NULL-ended */
	size_t		 kid_max;	/* bytes of a kid (1..max); 0: any */
	int		 kid_required;
	int		 closed;	/* members other than alg, typ, kid
					 * refused (crit with them) */
};

/* Why jose_header_check refused a header; the caller words it. */
enum jose_header_fault {
	JOSE_HEADER_OK = 0,
	JOSE_HEADER_ALG_MISSING,
	JOSE_HEADER_ALG_TYPE,		/* alg not a string */
	JOSE_HEADER_ALG_REFUSED,	/* not in the allow-list */
	JOSE_HEADER_CRIT,		/* crit present (open headers) */
	JOSE_HEADER_TYP,
	JOSE_HEADER_KID,		/* not a string of the right size */
	JOSE_HEADER_KID_MISSING,
	JOSE_HEADER_MEMBER		/* another member (closed headers) */
};

/*
 * Check a protected header (a JSON object, borrowed) against rules: the
 * algorithm first (nothing else of the token is looked at before), then,
 * for a closed header, each member in the order written; for an open
 * one, crit, typ and kid in that order.  Fills *alg (the table entry),
 * *kid (borrowed from hdr, NULL when absent) and, for JOSE_HEADER_MEMBER,
 * *member (the member's name, borrowed).  Returns the first fault.
 */
enum jose_header_fault jose_header_check(const json_t *hdr,
		    const struct jose_header_rules *rules,
		    const struct jose_alg **alg, const char **kid,
		    const char **member);

/* ---- compact serialisation (RFC 7515 section 7.1) ------------------------ */

enum jose_split_fault {
	JOSE_SPLIT_OK = 0,
	JOSE_SPLIT_PARTS,		/* not exactly three parts */
	JOSE_SPLIT_CHARS		/* a byte outside base64url and '.' */
};

/* Find the two dots of token[0..len): *dot1 and *dot2 their offsets.
 * A wrong count of parts is reported before a stray byte. */
enum jose_split_fault jose_compact_split(const char *token, size_t len,
		    size_t *dot1, size_t *dot2);

/*
 * Sign header and claims (borrowed, serialised compactly as they are:
 * alg is not inserted, so tests can make tokens whose header lies) with
 * ctx, a context initialised by jose_sign_init (or the caller's copy of
 * one) for a: returns the new token
 * base64url(header) "." base64url(claims) "." base64url(signature),
 * ECDSA signatures as r||s.  NULL with err (NSREG_INTERNAL) on failure.
 */
char		*jose_sign(EVP_MD_CTX *ctx, const struct jose_alg *a,
		    const json_t *header, const json_t *claims,
		    struct nsreg_error *err);

/* A new context ready for one EVP_DigestSign of a with pk (PSS padding
 * set for PS), or NULL.  The caller checks the key fits a. */
EVP_MD_CTX	*jose_sign_init(EVP_PKEY *pk, const struct jose_alg *a);

/*
 * Check sig[0..siglen) over input[0..inlen) with pk for a (pk must fit
 * a; ES signatures are raw r||s of 2 * a->half bytes).  1 good, 0 bad,
 * -1 when memory runs out.
 */
int		 jose_verify(EVP_PKEY *pk, const struct jose_alg *a,
		    const char *input, size_t inlen, const unsigned char *sig,
		    size_t siglen);

/* JWS r||s (len == 2 * half) as a new DER ECDSA-Sig-Value (*der, free
 * with OPENSSL_free): 0, or -1 for a bad length or no memory. */
int		 jose_es_raw_to_der(const unsigned char *sig, size_t len,
		    size_t half, unsigned char **der, size_t *derlen);

/* A DER ECDSA signature as r||s into out (2 * half bytes): 0 or -1. */
int		 jose_es_der_to_raw(const unsigned char *der, size_t derlen,
		    size_t half, unsigned char *out);

/* ---- JWK (RFC 7517, 7518 section 6, RFC 8037) ---------------------------- */

/*
 * The public parameters of pk as JWK members into obj (borrowed, added
 * to): "kty" and "crv"/"x"/"y" (EC P-256/384/521 with full-size
 * coordinates, OKP) or "n"/"e" (RSA).  Returns 0, or -1 for a key type
 * JWK cannot say or when memory runs out.
 */
int		 jose_jwk_params(EVP_PKEY *pk, json_t *obj);

/*
 * The public key of a JWK (borrowed): EC (P-256, P-384, P-521, full-size
 * coordinates, a point on its curve) or RSA (n, e).  Returns 1 with *pkp
 * a new key; 0 when kty or crv is one this module does not know (the key
 * is to be ignored); -1 with err for malformed material, messages
 * "WHERE: x: not base64url", "WHERE: not a valid EC public key"...  With
 * params_optional, a JWK whose parameters are all absent gives 1 and
 * *pkp NULL.
 */
int		 jose_jwk_to_pkey(const json_t *jwk, const char *where,
		    int params_optional, EVP_PKEY **pkp,
		    struct nsreg_error *err);

/* The curve NID of an EC key (0 for other keys or an unnamed curve). */
int		 jose_pkey_curve(EVP_PKEY *pk);

/*
 * The RFC 7638 thumbprint of a public JWK (borrowed): its required
 * members (EC crv kty x y; RSA e kty n; OKP crv kty x), sorted, compact,
 * SHA-256, base64url, into buf (at least JOSE_THUMBPRINT_LEN + 1 bytes).
 * Returns 0, or -1 for another kty, a missing member or a short buf.
 */
int		 jose_jwk_thumbprint(const json_t *jwk, char *buf,
		    size_t len);

/* The thumbprint of pk's public JWK, as jose_jwk_thumbprint. */
int		 jose_pkey_thumbprint(EVP_PKEY *pk, char *buf, size_t len);

#endif
