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
 * what this server, as a principal of its own trust domain, may see.  The
 * answer's names (services' names, endpoints' names, their
 * network_service_names and network_service_labels keys) carry
 * "@domain" again; a peer that answers a name with an '@' of its own is
 * refused.  Nothing is cached: every read asks the peer.
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

#include "http.h"

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
 * passed on with the suffixes taken off.  No watch.
 */
void	api_interdomain_endpoints_list(struct server *srv,
	    struct http_request *req, const char *service);

#endif
