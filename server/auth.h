/*
 * auth.h - caller authentication (DESIGN section 3): resolves every
 * request to a principal before any handler runs.
 *
 * Credentials, in order: "Authorization: Bearer" with the admin token
 * (constant-time compare) or a JWT-SVID; else the TLS client certificate
 * (an X.509-SVID).  None: anonymous.  A presented credential that fails
 * verification is 401 with the reason.
 */
#ifndef NSREG_AUTH_H
#define NSREG_AUTH_H

#include "conf.h"
#include "error.h"
#include "http.h"

struct auth;
struct trust;

/* Load the admin token, admins and the local trust bundle. NULL on error. */
struct auth	*auth_new(const struct conf *conf, struct nsreg_error *err);

/* Reload the admin token and local bundle (SIGHUP); keeps the old on error. */
int		 auth_reload(struct auth *a, const struct conf *conf,
		    struct nsreg_error *err);

void		 auth_free(struct auth *a);

/*
 * Fill req->principal.  Returns 0 (authenticated, or anonymous when no
 * credential was presented) or -1 with err NSREG_UNAUTHENTICATED.
 */
int		 auth_request(struct auth *a, struct http_request *req,
		    struct nsreg_error *err);

/* Free a connection's cached verification (http hooks conn_free). */
void		 auth_conn_free(void *slot);

/* The trust set (borrowed) for the bundle and trust-domain APIs. */
struct trust	*auth_trust(struct auth *a);

/* The local trust bundle as PEM (borrowed), for TLS CertificateRequest. */
const char	*auth_trust_pem(struct auth *a);

#endif
