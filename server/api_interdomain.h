/*
 * api_interdomain.h - registry reads about another trust domain's records
 * (DESIGN section 4, "Interdomain").
 *
 * A name "x@domain" in GET /v1/services/x@domain, GET /v1/endpoints/
 * x@domain and GET /v1/endpoints?service=x@domain is answered by the
 * registry at trust domain "domain"'s registry_url (a stored trust
 * domain), called over mutual TLS: this server presents its own SVID
 * (tls-cert, tls-key) and the peer's server certificate must be an
 * X.509-SVID of "domain" verified with that trust domain's bundle
 * (federation.h, FEDERATION_VERIFY_SPIFFE_TD).  The peer's rules decide
 * what this server, as a principal of its own trust domain, may see; the
 * caller is stated as the origin (origin.h), which the peer's rules see
 * as request.origin when it accepts this trust domain's statements.  The
 * answer's names (services' names, endpoints' names, their
 * network_service_names and network_service_labels keys) carry
 * "@domain" again; a peer that answers a name with an '@' of its own is
 * refused.  Nothing is cached: every read asks the peer, on a pooled
 * connection (peer.h), while the request waits without a thread.
 *
 * Errors (as the reply): 404 not_found when no registry is configured for
 * the trust domain (or the peer has no such record), 400 invalid_argument
 * for this registry's own trust domain or filters of several registries,
 * 403 permission_denied when the peer's rules refuse, 502 bad_gateway
 * when the peer cannot be reached, fails authentication, refuses this
 * server's credential or answers something else, 504 deadline_exceeded
 * past interdomain-timeout, 503 unavailable without tls-cert.
 *
 * These functions authorise the caller's find first, with the full name
 * as the service (or endpoint) the rules see (403 with the decision when
 * denied), then make the reply.
 */
#ifndef NSREG_API_INTERDOMAIN_H
#define NSREG_API_INTERDOMAIN_H

#include <jansson.h>

#include "error.h"
#include "federation.h"
#include "http.h"
#include "principal.h"

struct server;

#define INTERDOMAIN_BODY_MAX	(16 * 1024 * 1024)	/* bytes of an answer */
#define INTERDOMAIN_QUERY_MAX	8192			/* bytes of a query */

/* GET /v1/services/{name} for a name "x@domain". */
void	api_interdomain_service_get(struct server *srv,
	    struct http_request *req, const char *name);

/* GET /v1/endpoints/{name} for a name "x@domain". */
void	api_interdomain_endpoint_get(struct server *srv,
	    struct http_request *req, const char *name);

/*
 * GET /v1/endpoints whose service filter (the first of them) is
 * "x@domain": every service filter must be of that domain; the query is
 * passed on with the suffixes taken off.  With watch=true, the peer's
 * watch stream passed on (peer_watch.h).
 */
void	api_interdomain_endpoints_list(struct server *srv,
	    struct http_request *req, const char *service);

/*
 * POST /v1/grants for service "x@domain" (endpoint, when pinned,
 * "y@domain"; labels may be NULL; all borrowed): this registry's rules
 * decide connect, then domain's registry decides and grants on the
 * caller's behalf (api_interdomain_grant.c says what is answered).
 */
void	api_interdomain_grant(struct server *srv, struct http_request *req,
	    const char *service, const char *endpoint, const json_t *labels);

struct peer_answer;

/* One call to a peer registry (api_interdomain_peer). */
struct interdomain_peer_call {
	const char	*method;	/* NULL: GET */
	const char	*path_query;	/* "/v1/...", required */
	const json_t	*body;		/* sent as JSON, or NULL (borrowed) */
};

/*
 * Queue a call to td's registry (its stored registry_url) as this
 * server, over the pooled mutual TLS connections of peer.h, stating
 * caller (may be NULL) as the origin (origin.h: the peer believes it or
 * not, as it is configured).  name is what the call is about, for
 * messages.  Returns 0 and done(arg, answer) runs once on the peer
 * thread, or -1 with err and done never runs: 400 for td being this
 * registry's own, 404 when no registry is configured for td, 503
 * without tls-cert, peer_call's errors.
 */
int	api_interdomain_peer(struct server *srv,
	    const struct principal *caller, const char *name, const char *td,
	    const struct interdomain_peer_call *call,
	    void (*done)(void *arg, const struct peer_answer *a), void *arg,
	    struct nsreg_error *err);

/*
 * 0 for an answer a with a 2xx status; else -1 with err saying what
 * td's registry answered (a's own error as it is): 400 as 400, 401 as
 * 502 (this server's credential refused), 403 as 403, 404 as 404, 409
 * as 409 resource_exhausted, anything else as 502, each with the peer's
 * message.
 */
int	api_interdomain_status(const struct peer_answer *a, const char *td,
	    struct nsreg_error *err);

#endif
