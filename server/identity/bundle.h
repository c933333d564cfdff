/*
 * bundle.h - SPIFFE trust bundles (spiffe/spiffe standards
 * SPIFFE_Trust_Domain_and_Bundle.md section 4, X509-SVID.md section 6,
 * JWT-SVID.md section 6).
 *
 * A bundle is the set of keys of ONE trust domain: X.509 roots (JWKs with
 * "use":"x509-svid", the certificate in x5c[0]) and JWT-SVID signing keys
 * (JWKs with "use":"jwt-svid" and a "kid").  Keys are parsed once, when
 * the bundle is made, and kept ready for verification; a bundle never
 * changes afterwards (except through bundle_set_sequence and
 * bundle_set_refresh_hint before it is shared), so any number of threads
 * may use it at once.  Bundles are reference counted: whoever holds a
 * reference may keep using the bundle after a reload replaced it.
 *
 * Parsing is lenient per key, as the standard demands, and strict about
 * the document:
 *   - ignored (counted by bundle_ignored_count): a key with no "use", an
 *     unknown "use", an unknown "kty" (or an EC "crv" this server does not
 *     support), an x509-svid key with no or an empty "x5c", a jwt-svid key
 *     with no "kid" (it could never be selected), an RSA key under 2048
 *     bits;
 *   - rejected with a reason (NSREG_INVALID_ARGUMENT): not JSON, a
 *     duplicate member anywhere, not an object, "keys" missing or not an
 *     array, a key that is not an object, "spiffe_sequence" or
 *     "spiffe_refresh_hint" not a non-negative integer, a key of a known
 *     type and use whose material is malformed (bad base64, a point not on
 *     its curve, x5c[0] not a DER certificate, key parameters that do not
 *     match x5c[0]), two jwt-svid keys with the same kid.
 * Messages look like "bundle: keys[2]: x: not base64url".
 *
 * A PEM bundle (one or more CERTIFICATE blocks) gives X.509 roots only; it
 * is meant for the local trust domain's "trust-bundle".
 */
#ifndef NSREG_BUNDLE_H
#define NSREG_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

#define BUNDLE_KID_MAX		128	/* bytes of a "kid" */
#define BUNDLE_KEYS_MAX		1024	/* JWKs per document */
#define BUNDLE_DOC_MAX		(4 * 1024 * 1024)	/* bytes */

/* Opaque; see identity_int.h for the identity modules' view. */
struct bundle;

enum bundle_format {
	BUNDLE_FORMAT_AUTO = 0,	/* JSON when the first non-space is '{' */
	BUNDLE_FORMAT_SPIFFE,	/* SPIFFE bundle (JWK Set) JSON */
	BUNDLE_FORMAT_PEM	/* PEM certificates: X.509 roots only */
};

/*
 * Parse a bundle for trust domain td (a valid trust domain name, stored
 * lower-case) from data[0..len) (at most BUNDLE_DOC_MAX bytes; need not
 * be NUL-terminated).  Returns a new bundle with one reference, or NULL
 * with err set (NSREG_INVALID_ARGUMENT for a bad document or name,
 * NSREG_INTERNAL when memory runs out).
 */
struct bundle	*bundle_parse(const char *td, const char *data, size_t len,
		    enum bundle_format format, struct nsreg_error *err);

/* As bundle_parse on an already decoded SPIFFE bundle (borrowed: doc is
 * not modified or kept).  Duplicate members cannot be detected here:
 * decode with JSON_REJECT_DUPLICATES. */
struct bundle	*bundle_from_json(const char *td, const json_t *doc,
		    struct nsreg_error *err);

/* As bundle_parse on the contents of a file (err message names it). */
struct bundle	*bundle_load_file(const char *td, const char *path,
		    enum bundle_format format, struct nsreg_error *err);

/* Take one more reference (returns b) / drop one (NULL is ignored).  Both
 * are atomic and may be called from any thread. */
struct bundle	*bundle_ref(struct bundle *b);
void		 bundle_unref(struct bundle *b);

/* The trust domain name, lower-case.  Borrowed from b. */
const char	*bundle_trust_domain(const struct bundle *b);

/*
 * A number unique to this bundle object in the process (never reused), so
 * caches can tell that a trust domain's bundle was replaced.
 */
uint64_t	 bundle_serial(const struct bundle *b);

/* spiffe_sequence / spiffe_refresh_hint (seconds): 1 and *out set when the
 * document had it (or it was set), else 0. */
int		 bundle_sequence(const struct bundle *b, int64_t *out);
int		 bundle_refresh_hint(const struct bundle *b, int64_t *out);

/* Set them (a PEM bundle has neither).  Only while the caller holds the
 * only reference, before the bundle is shared; a negative value unsets. */
void		 bundle_set_sequence(struct bundle *b, int64_t seq);
void		 bundle_set_refresh_hint(struct bundle *b, int64_t secs);

/* Usable X.509 roots, usable JWT keys, keys ignored while parsing. */
size_t		 bundle_x509_count(const struct bundle *b);
size_t		 bundle_jwt_count(const struct bundle *b);
size_t		 bundle_ignored_count(const struct bundle *b);

/* 1 when a jwt-svid key with this kid is in b, else 0. */
int		 bundle_has_kid(const struct bundle *b, const char *kid);

/*
 * Render b as a SPIFFE bundle: {"keys":[...] [, "spiffe_sequence": N]
 * [, "spiffe_refresh_hint": S]}, x509-svid keys first (kty, crv/x/y or
 * n/e, x5c with the one root), then jwt-svid keys (kty, kid, key
 * parameters), from the parsed keys (ignored keys are not rendered).
 * Returns a new reference, or NULL when memory runs out.
 */
json_t		*bundle_to_json(const struct bundle *b);

/*
 * Render the X.509 roots of b as PEM certificates into a new
 * NUL-terminated buffer (free(3) it); *lenp (if not NULL) gets its
 * length.  NULL when memory runs out.  A bundle without roots gives "".
 */
char		*bundle_to_pem(const struct bundle *b, size_t *lenp);

#endif
