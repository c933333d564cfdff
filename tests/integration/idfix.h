/*
 * idfix.h - identity fixtures for the integration tests: CAs of other
 * trust domains, SVIDs minted on purpose (good and broken), hand-made
 * JWS, and the checks of an authentication answer.
 */
#ifndef NSREG_IDFIX_H
#define NSREG_IDFIX_H

#include <stdint.h>

#include <jansson.h>

#include "harness.h"
#include "svid.h"

#define IDFIX_AUDIENCE	"spiffe://example.org/nsregd"

/* The server's own CA (from its directory); svid_ca_free it. */
struct svid_ca	*idfix_server_ca(const struct nsregd *s);

/* A new CA for td, in memory. */
struct svid_ca	*idfix_ca(const char *td);

/*
 * Mint an X.509-SVID from ca per req (req->id etc.), write it into the
 * server's directory and point c at it.
 */
void	idfix_x509(const struct nsregd *s, const struct svid_ca *ca,
	    const struct svid_x509_req *req, struct hcred *c);

/* The same for a plain leaf for id valid now for the default ttl. */
void	idfix_x509_id(const struct nsregd *s, const struct svid_ca *ca,
	    const char *id, struct hcred *c);

/*
 * A JWT-SVID from ca for id with audience aud, issued at now_ms lasting
 * ttl_ms (0: default), as c's bearer token.
 */
void	idfix_jwt(const struct svid_ca *ca, const char *id, const char *aud,
	    int64_t now_ms, int64_t ttl_ms, struct hcred *c);

/* base64url without padding of data[0..len) into a new string. */
char	*idfix_b64url(const void *data, size_t len);

/*
 * "b64url(header).b64url(claims).sig" where sig is given as is (may be
 * ""): a token whose signature is whatever the test says.
 */
char	*idfix_jws_raw(const json_t *header, const json_t *claims,
	    const char *sig);

/* The SPIFFE bundle of ca as a PUT /v1/trust-domains body (new). */
json_t	*idfix_td_body(const struct svid_ca *ca);

/* PUT /v1/trust-domains/td with body (stolen) as admin; want status. */
void	idfix_td_put(const struct nsregd *s, const char *td, json_t *body,
	    long want);

/* DELETE /v1/trust-domains/td as admin; want status. */
void	idfix_td_delete(const struct nsregd *s, const char *td, long want);

/*
 * GET /v1/whoami with c: with want 200 returns the parsed answer (new
 * reference); with want 401 checks the error code, the message (exactly
 * reason) and WWW-Authenticate, and returns NULL.
 */
json_t	*idfix_whoami(const struct nsregd *s, const struct hcred *c,
	    long want, const char *reason);

/*
 * A kept-alive connection presenting c's certificate: requests reuse one
 * TLS connection, as workloads do, so the server's per-connection cache
 * is what answers.
 */
struct idfix_conn {
	const struct nsregd	*s;
	void			*curl;
};

void	idfix_conn_open(struct idfix_conn *k, const struct nsregd *s,
	    const struct hcred *c);
/*
 * GET /v1/whoami on the connection: returns the status, copies the error
 * message (or "") into msg and sets *reused to 1 when no new connection
 * was made for it.
 */
long	idfix_conn_whoami(struct idfix_conn *k, char *msg, size_t len,
	    int *reused);
void	idfix_conn_close(struct idfix_conn *k);

/* The message of an error answer, or "". */
const char *idfix_message(const struct hresp *r);

#endif
