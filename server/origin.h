/*
 * origin.h - the statement a registry adds when it calls a peer registry
 * on a caller's behalf (DESIGN section 5, request.origin; nsreg-api(7),
 * "On behalf of").
 *
 * The statement travels in one request header, ORIGIN_HEADER, whose
 * value is the base64url (no padding) of a compact JSON object
 *   {"id":"spiffe://b.test/ns/db/sa/pg","auth":"x509|jwt",
 *    "expires_at":"RFC 3339","claims":{...}}
 * ("expires_at" and "claims" optional).  It is not signed: the mutual
 * TLS connection already authenticates the registry that sends it, and
 * the statement is worth exactly that registry's word, which the
 * receiver takes only from a trust domain whose stored object says
 * "accept_origin": true, and only about that trust domain's own
 * workloads (auth.h, auth_origin).  A signature by the sending
 * registry's key would prove nothing more to the one receiver, and the
 * caller's own JWT-SVID cannot be passed on: its audience is the
 * sending registry, and a token that works elsewhere is a token that
 * can be replayed.
 *
 * Pure functions: no I/O, no clock.
 */
#ifndef NSREG_ORIGIN_H
#define NSREG_ORIGIN_H

#include "error.h"
#include "principal.h"

#define ORIGIN_HEADER		"NSReg-Origin"
#define ORIGIN_HEADER_MAX	8192	/* bytes of the header's value */

/*
 * The header value stating p (a caller of this registry authenticated
 * by X.509-SVID or JWT-SVID, with a SPIFFE ID): a new string (free(3)
 * it), or NULL when p cannot be stated (anonymous, the admin token, no
 * ID), when the statement would pass ORIGIN_HEADER_MAX, or when memory
 * runs out.  The claims stated are p's claims as this server sees them.
 */
char	*origin_encode(const struct principal *p);

/*
 * Read a header value into out (cleared first; out->origin stays
 * NULL): the ID checked and normalised as every SPIFFE ID, its trust
 * domain and path set, auth PRINCIPAL_X509 or PRINCIPAL_JWT, never
 * admin, claims a new reference (NULL when none).  Returns 0, or -1
 * with err NSREG_INVALID_ARGUMENT (field ORIGIN_HEADER) saying what is
 * wrong.
 */
int	 origin_decode(const char *value, struct principal *out,
	    struct nsreg_error *err);

#endif
