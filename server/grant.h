/*
 * grant.h - grant tokens (DESIGN section 4, "Grants"): the signing key
 * named by grant-key, compact JWS ES256 tokens, their verification, and
 * the published keys (GET /v1/jwks).
 *
 * A signing key is an EC P-256 private key in a PEM file that neither
 * group nor others may access (mode 0600 or stricter).  It is parsed once
 * into an OpenSSL key and signs every token from memory; its kid is its
 * RFC 7638 JWK thumbprint (SHA-256, base64url).  A token is
 *   base64url({"alg":"ES256","kid":KID,"typ":"JWT"}) "."
 *   base64url(claims) "." base64url(r || s)
 * (RFC 7515 compact serialisation, RFC 7518 section 3.4 signature).
 *
 * Verification (grant_verify) is strict: three parts of unpadded
 * base64url with no stray bits, a header object with alg exactly ES256,
 * a kid of the key set, no "crit", typ absent or "JWT", a payload that
 * is a JSON object without duplicate members, and a signature of 64
 * bytes that verifies.  Time and audience checks are the caller's.
 *
 * Errors fill a struct nsreg_error: NSREG_INVALID_ARGUMENT for a bad key
 * file (with the path), NSREG_INTERNAL for crypto and memory failures.
 * Keys and key sets are immutable and reference counted: any thread may
 * use them.
 */
#ifndef NSREG_GRANT_H
#define NSREG_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

#define GRANT_KID_MAX		64	/* a thumbprint is 43 characters */
#define GRANT_TOKEN_MAX		8192	/* longest token verified */

struct grant_key;
struct grant_keyset;

/*
 * Load the signing key from path.  With create, a missing file is first
 * written with a new key, mode 0600 (nsregd --dev).  The file is refused
 * when it is not a regular file, when group or others have any access to
 * it, or when it does not hold an EC P-256 private key.  Returns a key
 * with one reference, or NULL with err.
 */
struct grant_key	*grant_key_load(const char *path, int create,
			    struct nsreg_error *err);

/* Another reference to k (returned), or drop one (NULL: no-op). */
struct grant_key	*grant_key_ref(struct grant_key *k);
void			 grant_key_unref(struct grant_key *k);

/* The key's kid (borrowed). */
const char		*grant_key_kid(const struct grant_key *k);

/*
 * The public key as a JWK {"kty","crv","x","y","kid","use":"sig",
 * "alg":"ES256"}.  New reference, NULL when out of memory.
 */
json_t			*grant_key_jwk(const struct grant_key *k);

/*
 * Sign claims (borrowed) as a compact JWS with header {"alg":"ES256",
 * "kid","typ":"JWT"}.  Returns a new string, or NULL with err.
 */
char			*grant_sign(const struct grant_key *k,
			    const json_t *claims, struct nsreg_error *err);

/*
 * A key set from public JWKs (an array, borrowed): EC P-256 keys with a
 * kid; other entries are refused.  Returns a set with one reference, or
 * NULL with err.
 */
struct grant_keyset	*grant_keyset_new(const json_t *jwks,
			    struct nsreg_error *err);
struct grant_keyset	*grant_keyset_ref(struct grant_keyset *ks);
void			 grant_keyset_unref(struct grant_keyset *ks);

/* Keys in the set. */
size_t			 grant_keyset_size(const struct grant_keyset *ks);

/*
 * Verify token's form and signature against ks.  Returns its claims (a
 * new reference) and the kid that verified it into kid (GRANT_KID_MAX
 * bytes, may be NULL), or NULL with a short reason in why (e.g. "bad
 * signature", "unknown kid").
 */
json_t			*grant_verify(const struct grant_keyset *ks,
			    const char *token, char *kid, char *why,
			    size_t whylen);

#endif
