/*
 * peer.h - the client of interdomain calls: persistent mutual TLS
 * connections to other trust domains' registries, pooled per trust
 * domain, driven by one thread, never holding the caller's.
 *
 * One libcurl multi handle, run by the peer thread (curl_multi_poll, woken
 * by curl_multi_wakeup when a call is queued), carries every call.  Each
 * trust domain has a pool of its own (a libcurl share holding its
 * connection cache), so a connection authenticated for one trust domain
 * never carries another's request, even at the same address.  A new
 * connection's server certificate must be an X.509-SVID of that trust
 * domain verified with its bundle during the handshake
 * (federation_tls_install); TLS sessions are never resumed, so every new
 * connection is verified in full.  When the authorities of a trust
 * domain's bundle change (bundle_id), or its registry_url does, its pool
 * is retired: new calls go to a new pool, so new connections, verified
 * with the new bundle, and the old pool's connections are closed once the
 * calls they carry are done.  HTTP/2 is offered by ALPN, so a peer's
 * `listen h2` multiplexes the calls on one connection; HTTP/1.1
 * connections are kept alive (at most PEER_HOST_CONNECTIONS per peer).
 *
 * A call never blocks its caller: peer_call queues it and its done
 * callback runs once, on the peer thread, with the answer or an error.
 * A peer that could not be reached (connection refused, no route, failed
 * handshake, connection lost before an answer) is remembered for the
 * call's backoff_ms: calls in that window fail at once with 502
 * bad_gateway and the last error (until its bundle or registry_url
 * changes).  Every call is bounded by its timeout_ms from the moment it
 * is queued (504 deadline_exceeded).
 *
 * Thread-safe: peer_call from any thread.
 */
#ifndef NSREG_PEER_H
#define NSREG_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PEER_HOST_CONNECTIONS	16	/* HTTP/1.1 connections per peer */
#define PEER_IDLE_CONNECTIONS	256	/* kept open while idle, in all */
#define PEER_HEADERS_MAX	16	/* extra request header lines */

struct metrics;
struct peer;
struct trust;

/* One call; every string is copied by peer_call. */
struct peer_request {
	const char		*trust_domain;	/* the peer's */
	const char		*base;		/* its registry_url, stored */
	uint64_t		 bundle_id;	/* digest of its authorities */
	const char		*url;		/* https://, the whole URL */
	const char		*method;	/* NULL: GET */
	const char		*body;		/* NULL: none */
	size_t			 body_len;
	const char		*headers[PEER_HEADERS_MAX]; /* "Name: value" */
	size_t			 nheaders;
	const char		*client_cert;	/* PEM chain file */
	const char		*client_key;	/* its key file */
	int64_t			 timeout_ms;	/* the whole call */
	int64_t			 backoff_ms;	/* 0: none */
	size_t			 max_body;	/* bytes of the answer */
	const char		*what;		/* messages: "registry of X" */
	/*
	 * A stream (may be NULL): the bytes of a 200 answer go to
	 * data(arg, buf, len) as they come, on the peer thread (-1 ends
	 * the call), instead of into the answer; timeout_ms bounds only
	 * the connection and the answer's head, idle_s the silence after
	 * it (0: none).  Another status is answered as usual.
	 */
	int			(*data)(void *arg, const char *buf,
				    size_t len);
	int64_t			 idle_s;
};

/* What the done callback is handed (borrowed for the call). */
struct peer_answer {
	long				 status;  /* HTTP status, 0: none */
	const char			*body;	  /* NUL-terminated */
	size_t				 len;
	const struct nsreg_error	*err;	  /* NULL when answered */
};

/*
 * A new client verifying peers with trust, counting in m (both borrowed:
 * they outlive it), its thread started.  NULL with err.
 */
struct peer	*peer_new(struct trust *trust, struct metrics *m,
		    struct nsreg_error *err);

/*
 * Queue r.  Returns 0 and done(arg, answer) will be called exactly once,
 * on the peer thread (it must not block), or -1 with err and done is
 * never called: NSREG_BAD_GATEWAY while the peer is in its backoff (the
 * message is its last error), NSREG_UNAVAILABLE once stopping,
 * NSREG_INTERNAL.  Errors given to done: NSREG_BAD_GATEWAY (unreachable,
 * failed authentication, answer over max_body), NSREG_DEADLINE_EXCEEDED,
 * NSREG_UNAVAILABLE (stopping), NSREG_INTERNAL; messages start with
 * r->what and the URL.
 */
int		 peer_call(struct peer *p, const struct peer_request *r,
		    void (*done)(void *arg, const struct peer_answer *a),
		    void *arg, struct nsreg_error *err);

/*
 * End the stream whose done argument is arg (a call with data), as if
 * data had returned -1: done follows soon on the peer thread, unless it
 * has run already.  Any thread.
 */
void		 peer_cancel(struct peer *p, void *arg);

/*
 * Refuse new calls and end those queued or in flight with 503
 * unavailable (their done callbacks have run when this returns).  Call
 * before the HTTP server drains.  NULL is fine.
 */
void		 peer_stop(struct peer *p);

/* Stop (as peer_stop), join the thread, close every connection, free. */
void		 peer_free(struct peer *p);

#endif
