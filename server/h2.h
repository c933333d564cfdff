/*
 * h2.h - the HTTP/2 front end (inside the HTTP layer; see http.h).
 *
 * h2.c is the only file that includes <nghttp2/nghttp2.h> and the only
 * one that speaks TLS through OpenSSL's SSL API.  One epoll thread runs
 * every HTTP/2 connection (TLS, framing, flow control); complete
 * requests go to a pool of dispatch workers as many as the listeners'
 * threads, and http_offload sends slow handlers on to the server's
 * shared work pool, exactly as for HTTP/1.1.  No thread per connection
 * or stream.
 */
#ifndef NSREG_H2_H
#define NSREG_H2_H

#include <stddef.h>

#include "error.h"
#include "http.h"

struct h2_server;
struct h2_tls;
struct http_ids;
struct http_pool;

/*
 * The OpenSSL context for a server identity (PEM chain, leaf first, and
 * key): TLS 1.2+, ALPN exactly "h2", client certificates requested and
 * left to auth.c to verify.  New, or NULL with err.  h2_tls_free drops
 * the caller's reference (connections keep theirs); NULL is fine.
 */
struct h2_tls	*h2_tls_new(const char *cert_pem, const char *key_pem,
		    struct nsreg_error *err);
void		 h2_tls_free(struct h2_tls *t);

/*
 * Serve HTTP/2 on the n listeners (tls: h2, else h2c), answering with
 * hooks (copied) through the same accessors as HTTP/1.1.  ids, pool and
 * tls are borrowed and must outlive the server (tls may be NULL when no
 * listener has tls).  New, or NULL with err.
 */
struct h2_server *h2_start(const struct http_listen *l, size_t n,
		    const struct http_options *opt,
		    const struct http_hooks *hooks, struct http_ids *ids,
		    struct http_pool *pool, struct h2_tls *tls,
		    struct nsreg_error *err);

/* The port of listener i. */
unsigned short	 h2_port(struct h2_server *s, size_t i);

/* Use tls (borrowed, kept alive by the caller) for new handshakes. */
void		 h2_set_tls(struct h2_server *s, struct h2_tls *tls);

/*
 * Stop accepting, wait (bounded) for requests in flight, end every
 * stream and connection, free.  NULL is fine.
 */
void		 h2_stop(struct h2_server *s);

#endif /* NSREG_H2_H */
