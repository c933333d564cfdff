/*
 * jwtsvid.h - verify a JWT-SVID (spiffe/spiffe standards/JWT-SVID.md,
 * RFC 7515, 7518, 7519) into a principal, with a cache of verified tokens.
 *
 * Verification, in this order (the first failure is reported):
 *   1. compact serialization only: three base64url parts (no padding)
 *      separated by '.', at most JWTSVID_TOKEN_MAX bytes;
 *   2. the header is a JSON object without duplicate members whose "alg"
 *      is one of RS256 RS384 RS512 ES256 ES384 ES512 PS256 PS384 PS512 --
 *      checked before anything else is looked at ("none", HS*, EdDSA and
 *      anything else are rejected);
 *   3. "typ" absent, "JWT" or "JOSE"; "kid" absent or a string; no other
 *      header parameter (JWT-SVID section 2: any other header MUST NOT be
 *      included);
 *   4. the claims are a JSON object without duplicate members; "sub" is a
 *      valid SPIFFE ID (spiffe.h);
 *   5. the key: among the jwt-svid keys of the bundle of sub's trust
 *      domain only, the one with the token's "kid" (without a kid, each
 *      key of that bundle fitting alg is tried); its type must fit alg
 *      (RSA for RS and PS, the alg's curve for ES);
 *   6. the signature (OpenSSL, ES signatures are JWS raw r||s);
 *   7. "aud" (a string or a non-empty array of strings) contains the
 *      audience; "exp" present, numeric and now < exp + 60 s; "nbf" (if
 *      present) <= now + 60 s; "iat" (if present) <= now + 60 s.
 * A verified token is cached, keyed by SHA-256(audience, token), until
 * exp + leeway; a hit costs one hash and a lookup, and is taken only while
 * the trust domain's bundle is the one the token was verified with.
 *
 * Every failure is NSREG_UNAUTHENTICATED with a message that starts
 * "jwt: " and says only why: "jwt: malformed token", "jwt: algorithm none
 * not allowed", "jwt: unknown kid", "jwt: bad signature", "jwt: audience
 * mismatch", "jwt: token expired", ...
 */
#ifndef NSREG_JWTSVID_H
#define NSREG_JWTSVID_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "principal.h"
#include "trust.h"

#define JWTSVID_TOKEN_MAX	(16 * 1024)	/* bytes */
#define JWTSVID_LEEWAY_MS	60000		/* clock skew allowed */

struct tokcache;

/*
 * Verify token[0..len) (the credential after "Bearer ") for audience at
 * now_ms (ms since the epoch), looking keys up in trust.  cache
 * (tokcache.h) may be NULL (no caching).  On success returns 0 and fills
 * p (first cleared with principal_clear): auth PRINCIPAL_JWT, id
 * (normalised sub),
 * trust_domain, path_off, expires_at = exp in ms, claims = the token's
 * claims (a reference owned by p; it may be shared with the cache and
 * other principals: never modify it), admin 0.  On failure returns -1
 * with err (NSREG_UNAUTHENTICATED, NSREG_INTERNAL when memory runs out)
 * and p is left anonymous.  Thread-safe.
 */
int		 jwtsvid_verify(struct tokcache *cache,
		    struct trust *trust, const char *audience,
		    const char *token, size_t len, int64_t now_ms,
		    struct principal *p, struct nsreg_error *err);

#endif
