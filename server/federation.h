/*
 * federation.h - SPIFFE Federation (spiffe/spiffe standards
 * SPIFFE_Federation.md): the bundle endpoint client, the refresh
 * scheduler, and the HTTPS client the interdomain queries use.
 *
 * federation.c and peer.c (the pooled client of interdomain calls,
 * peer.h) are the only files that call libcurl.  Every request
 * federation_get makes is an HTTPS GET on a fresh connection (no
 * connection or TLS session is ever reused, so no request is carried by
 * a connection that was authenticated for another peer or under an older
 * bundle), with a bounded response body and a deadline that covers
 * connection, TLS, transfer and any redirects.
 *
 * Server authentication (enum federation_verify):
 *   - FEDERATION_VERIFY_WEB (profile https_web): Web PKI as RFC 6125 says,
 *     with the CA certificates of federation-ca-file or else the system
 *     store, and the host name of the URL checked against the certificate.
 *   - FEDERATION_VERIFY_SPIFFE_ID (profile https_spiffe): the server's
 *     certificate chain must be an X.509-SVID (x509svid.h, purpose
 *     serverAuth) verified with the bundle that the trust set holds for the
 *     trust domain of the expected SPIFFE ID at the time of the handshake,
 *     and its ID must be exactly the expected one.  No host name check:
 *     the SPIFFE ID is the server's identity.
 *   - FEDERATION_VERIFY_SPIFFE_TD (interdomain): the same with any SPIFFE
 *     ID of the expected trust domain.
 * The SPIFFE checks run inside the TLS handshake (an OpenSSL certificate
 * verification callback installed through CURLOPT_SSL_CTX_FUNCTION), so no
 * byte of the request is sent to a server that failed them.
 *
 * The scheduler keeps one entry per stored trust domain (it follows the
 * store's events); those with a "federation" block are fetched by a few
 * worker threads at the bundle's spiffe_refresh_hint (federation-refresh-
 * default when it has none; never more often than federation-refresh-min
 * nor less often than once a day), right away when the settings change,
 * and again at the next interval when a fetch fails.  A fetched bundle is
 * written into the stored trust domain (bundle, sequence, refreshed_at,
 * last_error null) in one store transaction that first checks that the
 * settings are still those fetched for and that the bundle's
 * spiffe_sequence is not older than the stored one; a failure is written
 * as last_error, keeping the bundle held.  The trust set follows the store
 * (auth_store_event), so a fetched bundle authenticates that trust domain
 * once written.  A fetched bundle replaces only its own trust domain's.
 */
#ifndef NSREG_FEDERATION_H
#define NSREG_FEDERATION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "error.h"
#include "store.h"

struct federation;
struct metrics;
struct principal;
struct trust;

#define FEDERATION_BUNDLE_MAX	(1024 * 1024)	/* bytes of a fetched bundle */
#define FEDERATION_REDIRECTS	5		/* redirects followed */
#define FEDERATION_REFRESH_MAX	(86400LL * 1000) /* longest interval, ms */
#define FEDERATION_CLAIMS_MAX	64		/* names in allowed_claims */
#define FEDERATION_CLAIM_MAX	256		/* bytes of one claim name */

/* ---- the HTTPS client --------------------------------------------------- */

enum federation_verify {
	FEDERATION_VERIFY_WEB = 0,	/* Web PKI: https_web */
	FEDERATION_VERIFY_SPIFFE_ID,	/* exactly this SPIFFE ID */
	FEDERATION_VERIFY_SPIFFE_TD	/* any SPIFFE ID of this trust domain */
};

struct federation_get {
	const char		*url;		/* https:// */
	enum federation_verify	 verify;
	const char		*expect;	/* SPIFFE ID or trust domain */
	struct trust		*trust;		/* SPIFFE: bundles (borrowed) */
	const char		*ca_file;	/* WEB: NULL = system store */
	const char		*client_cert;	/* PEM chain file, or NULL */
	const char		*client_key;	/* its key file */
	int64_t			 timeout_ms;	/* the whole exchange */
	size_t			 max_body;	/* bytes */
	int			 max_redirects;	/* 0: answered as they come */
	const char		*what;		/* for messages */
};

struct federation_reply {
	long	 status;	/* the final HTTP status */
	char	*body;		/* owned, NUL-terminated */
	size_t	 len;
	char	*etag;		/* owned ETag header value, or NULL */
};

/* The SPIFFE check of a server's certificate in a TLS handshake. */
struct federation_tls {
	enum federation_verify	 verify;	/* SPIFFE_ID or SPIFFE_TD */
	const char		*expect;	/* SPIFFE ID or trust domain */
	struct trust		*trust;		/* bundles (borrowed) */
	char			 error[NSREG_ERROR_MESSAGE_MAX]; /* last no */
};

/*
 * Make every handshake of sslctx (an OpenSSL SSL_CTX, as libcurl's
 * CURLOPT_SSL_CTX_FUNCTION gets it) verify the server with t instead of
 * OpenSSL's checks: a failed check fails the handshake and says why in
 * t->error.  t (borrowed) must outlive every handshake made with sslctx.
 */
void		 federation_tls_install(void *sslctx, struct federation_tls *t);

/*
 * Initialise libcurl (curl_global_init) and check that it uses OpenSSL,
 * which the SPIFFE verification needs.  Call once, before any thread
 * uses this module (federation_new does).  Returns 0, or -1 with err.
 */
int		 federation_global_init(struct nsreg_error *err);

/*
 * GET g->url.  Redirects (any 3xx with a Location, treated as temporary as
 * the standard asks) are followed up to g->max_redirects times to https://
 * URLs without userinfo, each hop authenticated as the first; the
 * configured URL is never changed.  On an answer (any HTTP status) fills
 * r (release with federation_reply_clear) and returns 0.  On failure
 * returns -1 with err: NSREG_DEADLINE_EXCEEDED when the deadline passed,
 * NSREG_BAD_GATEWAY when the peer could not be reached, failed
 * authentication, sent a body over max_body or a bad redirect,
 * NSREG_INTERNAL.  Messages start with g->what and the URL.
 */
int		 federation_get(const struct federation_get *g,
		    struct federation_reply *r, struct nsreg_error *err);

void		 federation_reply_clear(struct federation_reply *r);

/* ---- the bundle endpoint client ----------------------------------------- */

/*
 * What interdomain calls present and how long they may take: *cert and
 * *key become new copies of tls-cert and tls-key (NULL when not
 * configured), *timeout_ms interdomain-timeout.  Returns 0, or -1 with
 * err when memory runs out.
 */
int		 federation_client(struct federation *f, char **cert,
		    char **key, int64_t *timeout_ms, struct nsreg_error *err);


/*
 * A new federation module over store, following and filling the trust
 * set trust, counting in metrics (all borrowed: they outlive it), with
 * conf's timeouts, intervals and client credential (copied).  Nothing
 * runs until federation_start.  NULL with err.
 */
struct federation *federation_new(struct store *store, struct trust *trust,
		    struct metrics *metrics, const struct conf *conf,
		    struct nsreg_error *err);

/*
 * Load every stored trust domain (fetching the federated ones soon) and
 * start the workers.  Call after the store listener is installed, so no
 * change is missed.  Returns 0, or -1 with err.
 */
int		 federation_start(struct federation *f, int64_t now,
		    struct nsreg_error *err);

/*
 * Follow every stored trust domain again, forgetting those the store no
 * longer holds (after the store missed events).  0, or -1 with err.
 */
int		 federation_resync(struct federation *f, int64_t now,
		    struct nsreg_error *err);

/*
 * Whether this instance runs the scheduled refreshes (1, the default) or
 * leaves them to the instance of its cluster that holds the
 * "federation" housekeeping lease (0): refreshes come due again a second
 * later, so the instance taking the lease over fetches at once.  Refreshes
 * asked through the API run either way.
 */
void		 federation_set_active(struct federation *f, int active);

/* Take the timeouts, intervals and CA file of conf (SIGHUP). */
int		 federation_reload(struct federation *f,
		    const struct conf *conf, struct nsreg_error *err);

/* Stop the workers (waiting for fetches in flight) and free.  NULL ok. */
void		 federation_free(struct federation *f);

/*
 * A store listener (arg: the struct federation): follows stored trust
 * domains.  Quick; runs in the writer's thread.
 */
void		 federation_store_event(const struct store_event *ev,
		    void *arg);

/*
 * Fetch trust domain td's bundle now (POST /v1/trust-domains/{name}/
 * refresh) and move its next scheduled fetch one interval away.  Returns
 * 0 with *out the stored object as written, or -1 with err:
 * NSREG_NOT_FOUND (no such trust domain), NSREG_CONFLICT (it has no
 * federation block), or the fetch's error - then *out, when out->name is
 * not NULL, is the stored object with last_error as recorded.  Release
 * *out with store_object_clear either way.
 */
int		 federation_refresh(struct federation *f, const char *td,
		    int64_t now, struct store_object *out,
		    struct nsreg_error *err);

/*
 * Check and copy an "allowed_claims" value for storing (a new array of
 * distinct claim names, at most FEDERATION_CLAIMS_MAX of 1 to
 * FEDERATION_CLAIM_MAX bytes, no control characters).  NULL with err
 * (NSREG_INVALID_ARGUMENT, field "allowed_claims...").
 */
json_t		*federation_claims_check(const json_t *v,
		    struct nsreg_error *err);

#endif
