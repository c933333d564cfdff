/*
 * auth.h - caller authentication (DESIGN section 3): resolves every
 * request to a principal before any handler runs.
 *
 * Credentials: "Authorization: Bearer" with the admin token
 * (constant-time compare) or a JWT-SVID, and the TLS client certificate
 * (an X.509-SVID).  The bearer token, when there is one, names the
 * principal; else the certificate does; neither: anonymous.  Every
 * credential presented must verify (a client certificate too when a token
 * comes with it): one that fails is 401 with the reason.  The principal
 * expires with the earliest of the credentials presented.
 *
 * The trust set holds the local trust domain's bundle (trust-bundle) and
 * the bundles of the trust domains stored through /v1/trust-domains
 * (auth_load_trust_domains at start-up, then auth_store_event on every
 * change), and with them which claims of another trust domain's
 * JWT-SVIDs rules may see ("allowed_claims").
 */
#ifndef NSREG_AUTH_H
#define NSREG_AUTH_H

#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "error.h"
#include "http.h"

struct auth;
struct store;
struct store_event;
struct trust;

/* Load the admin token, admins and the local trust bundle. NULL on error. */
struct auth	*auth_new(const struct conf *conf, struct nsreg_error *err);

/*
 * Reload the admin token, admins, audience and local bundle (SIGHUP);
 * keeps the old on error.  The trust domain cannot change (error).
 */
int		 auth_reload(struct auth *a, const struct conf *conf,
		    struct nsreg_error *err);

void		 auth_free(struct auth *a);

/*
 * A reload in two steps, so that a reload changes everything or nothing:
 * auth_stage reads and checks what conf names (admin token file, trust
 * bundle, audience, admins, metrics readers) without touching a running
 * auth (new, or NULL with err naming the file and the reason; also what
 * nsregd -n runs); auth_check_reload says whether conf may replace a's
 * (the trust domain cannot change); auth_commit installs st (stolen,
 * always) and fails only when memory runs out.
 */
struct auth_staged;
struct auth_staged *auth_stage(const struct conf *conf,
		    struct nsreg_error *err);
void		 auth_staged_free(struct auth_staged *st);
int		 auth_check_reload(struct auth *a, const struct conf *conf,
		    struct nsreg_error *err);
int		 auth_commit(struct auth *a, struct auth_staged *st,
		    struct nsreg_error *err);

/*
 * Fill req->principal.  Returns 0 (authenticated, or anonymous when no
 * credential was presented) or -1 with err NSREG_UNAUTHENTICATED.
 */
int		 auth_request(struct auth *a, struct http_request *req,
		    struct nsreg_error *err);

/*
 * 1 when p may read /metrics: an admin, or a principal listed with
 * metrics-reader (compared in the canonical form of both); else 0.
 */
int		 auth_may_read_metrics(struct auth *a,
		    const struct principal *p);

/* Free a connection's cached verification (http hooks conn_free). */
void		 auth_conn_free(void *slot);

/* The trust set (borrowed) for the bundle and trust-domain APIs. */
struct trust	*auth_trust(struct auth *a);

/* The local trust bundle as PEM (borrowed), for TLS CertificateRequest. */
const char	*auth_trust_pem(struct auth *a);

/* When the local bundle was last loaded (ms since the epoch). */
int64_t		 auth_local_loaded_at(struct auth *a);

/*
 * Load the bundle of every trust domain stored in s (kind
 * STORE_TRUST_DOMAIN) into the trust set.  A stored bundle that does not
 * load is logged and skipped; the local trust domain is never taken from
 * the store.  Returns 0, or -1 with err when the store fails.
 */
int		 auth_load_trust_domains(struct auth *a, struct store *s,
		    int64_t now, struct nsreg_error *err);

/*
 * The claims a rule may see of a principal of trust domain td (DESIGN
 * section 5 over section 4): claims itself (a new reference) for the
 * local trust domain; for another one a new object with only sub, aud,
 * exp, iat, nbf and the names td's stored "allowed_claims" lists.  NULL
 * when claims is NULL or memory runs out.
 */
json_t		*auth_claims(struct auth *a, const char *td,
		    const json_t *claims);

/*
 * Make p's claims what rules may see (auth_claims), once per request,
 * right after authentication: a principal of another trust domain with
 * JWT claims gets the filtered copy in place of its own.  Returns 0, or
 * -1 with err (NSREG_INTERNAL) when memory runs out.
 */
int		 auth_principal_claims(struct auth *a, struct principal *p,
		    struct nsreg_error *err);

/*
 * The statement of origin a peer registry sent with its request
 * (value: the ORIGIN_HEADER's value, origin.h; NULL when none), right
 * after auth_principal_claims.  It is taken, as p->origin, only when p
 * authenticated with an X.509-SVID (the mutual TLS connection is what
 * vouches for the sender) of another trust domain whose stored object
 * says "accept_origin": true, and p is that trust domain's registry (its
 * "registry_id", else its federation's endpoint_spiffe_id: no workload
 * speaks for another); otherwise it is ignored (and p->origin
 * stays NULL), so rules see request.origin absent.  An accepted
 * statement must be about a workload of p's own trust domain: one about
 * another trust domain is -1 with err NSREG_PERMISSION_DENIED, a
 * malformed one -1 with NSREG_INVALID_ARGUMENT.  The origin's claims
 * are filtered as p's would be (auth_claims).  Returns 0 or -1 with err.
 */
int		 auth_origin(struct auth *a, struct principal *p,
		    const char *value, struct nsreg_error *err);

/* 1 when p's statements of origin are taken (above), else 0. */
int		 auth_accepts_origin(struct auth *a, const struct principal *p);

/*
 * The same for the hypothetical request of POST /v1/decisions/evaluate
 * (body borrowed, changed in place): when "principal" is a SPIFFE ID of
 * another, stored trust domain, its "claims" object is replaced by what
 * rules would see.  A trust domain this server does not store could not
 * authenticate at all: its claims are left as given, like anything else
 * the evaluation judges.  Returns 0, or -1 with err when memory runs out.
 */
int		 auth_evaluate_claims(struct auth *a, json_t *body,
		    struct nsreg_error *err);

/*
 * A store listener (arg: the struct auth): keeps the trust set and the
 * claims rules may see in step with stored trust domains - ADDED/MODIFIED
 * load the object's "bundle" (none: the trust domain is dropped) and
 * "allowed_claims", DELETED drops them.  Other kinds are ignored.  Runs in the writer's thread, so a PUT or DELETE has taken
 * effect by the time it is answered.
 */
void		 auth_store_event(const struct store_event *ev, void *arg);

#endif
