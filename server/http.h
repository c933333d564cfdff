/*
 * http.h - the HTTP front ends: HTTP/1.1 + TLS on libmicrohttpd (http.c)
 * and HTTP/2 over TLS (ALPN h2) or cleartext on nghttp2 (h2.c).
 *
 * Both read requests (bounded bodies), hand each complete request to the
 * same dispatch hook, send what the handler replied, stream watch
 * responses without a thread per watcher, and report each finished
 * request to the completion hook for the access log and metrics.  Every
 * function below works for a request of either protocol: a handler never
 * knows which one carried its request (req->proto is there for the log).
 */
#ifndef NSREG_HTTP_H
#define NSREG_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "error.h"
#include "principal.h"

#define HTTP_PARAMS_MAX		4
#define HTTP_REQID_MAX		72
#define HTTP_ADDR_MAX		64
#define HTTP_PEER_CHAIN_MAX	8

/*
 * Bounds on what a request may make the server parse.  Past them the
 * answer is 400 at once, before any handler (see nsreg-api(7)).
 */
#define HTTP_TARGET_MAX		8192	/* request-target bytes */
#define HTTP_QUERY_MAX		64	/* query parameters */
#define HTTP_SEGMENTS_MAX	32	/* path segments */
#define HTTP_FIELDS_MAX		64	/* header fields */
#define HTTP_FIELD_BYTES_MAX	12288	/* header names and values */

/* Success statuses; errors go through struct nsreg_error. */
#define HTTP_OK			200
#define HTTP_CREATED		201
#define HTTP_NO_CONTENT		204

enum http_proto {
	HTTP_PROTO_1_1 = 0,
	HTTP_PROTO_2
};

/* A header or trailer field (strings borrowed). */
struct http_field {
	const char	*name;
	const char	*value;
};

enum http_method {
	HTTP_GET = 0,
	HTTP_HEAD,
	HTTP_PUT,
	HTTP_POST,
	HTTP_DELETE,
	HTTP_PATCH,
	HTTP_OPTIONS,
	HTTP_OTHER
};

struct http_server;
struct http_conn;
struct http_stream;
struct http_deferred;
struct http_transport;
struct route;

struct http_request {
	enum http_proto		 proto;
	enum http_method	 method;
	const char		*method_name;
	const char		*path;		/* decoded, no query */
	const char		*target;	/* request-target as received */
	const char		*params[HTTP_PARAMS_MAX];  /* route captures */
	size_t			 nparams;
	char			*params_buf;	/* room for the captures */
	size_t			 params_len;
	const char		*body;		/* raw body, NUL-terminated */
	size_t			 body_len;
	json_t			*json;		/* parsed body (owned) or NULL */
	struct principal	 principal;
	char			 id[HTTP_REQID_MAX];
	char			 remote_addr[HTTP_ADDR_MAX];
	int			 tls;		/* arrived over TLS */
	int64_t			 now;		/* wall clock ms at arrival */
	int64_t			 start_us;	/* monotonic */
	const struct route	*route;		/* set by dispatch */
	unsigned int		 status;	/* reply status */
	size_t			 bytes_out;	/* body bytes sent */
	const char		*error_code;	/* set by http_reply_error */
	struct http_conn	*conn;		/* internal */
	const struct http_transport *transport;	/* internal */
};

struct http_stream_ops {
	/*
	 * Copy at most max bytes of stream data into buf.  Returns the
	 * count, 0 when nothing is ready (the connection sleeps until
	 * http_stream_wake) or -1 to end the stream.
	 */
	ssize_t	(*read)(void *ctx, char *buf, size_t max);
	/* Called once when the stream ends for any reason. */
	void	(*free)(void *ctx);
	/*
	 * HTTP/2 only, may be NULL: called once after read returned -1;
	 * fills at most max trailer fields (strings valid until free) and
	 * returns their count.  Sent as a HEADERS frame with END_STREAM.
	 */
	size_t	(*trailers)(void *ctx, struct http_field *out, size_t max);
};

struct http_hooks {
	/*
	 * A request with a body, once its headers are in (may be NULL):
	 * return 0 to read the body, or reply with http_reply_error and
	 * return -1 to answer at once (no 100 Continue, no body read).
	 */
	int	(*admit)(struct http_request *req, void *arg);
	/* Handle a complete request: reply with one of http_reply_*. */
	void	(*dispatch)(struct http_request *req, void *arg);
	/* The request finished (sent or failed): log and count it. */
	void	(*completed)(struct http_request *req, void *arg);
	/* Free a connection's slot value (see http_conn_slot). */
	void	(*conn_free)(void *slot, void *arg);
	/* A connection was accepted (may be NULL): count it. */
	void	(*conn_opened)(void *arg);
	/*
	 * An HTTP/2 connection is closed with GOAWAY for abuse (may be
	 * NULL): reason is an enum h2_guard_reason.
	 */
	void	(*conn_goaway)(int reason, void *arg);
	void	 *arg;
};

struct http_listen {
	const char	*addr;		/* numeric IPv4 or IPv6 */
	unsigned short	 port;		/* 0: pick a free port */
	int		 tls;
	enum http_proto	 proto;		/* HTTP/2: h2 (tls) or h2c */
};

struct http_options {
	int		 threads;
	size_t		 max_body;
	unsigned int	 max_connections;
	unsigned int	 max_per_address;	/* connections per client */
	unsigned int	 timeout_s;	/* idle connection timeout */
	int64_t		 header_timeout_ms;	/* handshake and first head */
	int64_t		 idle_timeout_ms;	/* answer to the next head */
	const char	*tls_cert_pem;	/* chain, leaf first */
	const char	*tls_key_pem;
	const char	*trust_pem;	/* CAs named in CertificateRequest */
	unsigned int	 h2_max_streams;	/* per connection */
	size_t		 h2_max_header_list;	/* bytes */
	int64_t		 h2_idle_timeout_ms;	/* no stream open */
	unsigned int	 h2_max_resets;		/* per second, h2_guard.h */
	unsigned int	 h2_max_control_frames;	/* per second */
};

/* Start serving on every listener.  NULL on error (err filled). */
struct http_server	*http_start(const struct http_listen *listen,
			    size_t nlisten, const struct http_options *opt,
			    const struct http_hooks *hooks,
			    struct nsreg_error *err);

/* The port listener i is bound to (useful with port 0). */
unsigned short		 http_port(struct http_server *h, size_t i);

/*
 * A server identity from a certificate chain and its key (PEM), checked
 * as a handshake would need them: the chain parses (1 to 8
 * certificates), the key parses and is the leaf's.  New, or NULL with
 * err naming tls-cert or tls-key.  http_tls_id_discard frees one that
 * was not installed (NULL is fine).
 */
struct http_tls_id;
struct http_tls_id	*http_tls_id_load(const char *cert_pem,
			    const char *key_pem, struct nsreg_error *err);
void			 http_tls_id_discard(struct http_tls_id *id);

/* Use id (stolen) for new handshakes; connections keep theirs.  Cannot
 * fail: the step that makes a checked reload take effect. */
void			 http_set_tls_id(struct http_server *h,
			    struct http_tls_id *id);

/*
 * Swap the server certificate and key for new handshakes (SIGHUP).
 * Connections keep theirs.  0 or -1.
 */
int			 http_set_certificate(struct http_server *h,
			    const char *cert_pem, const char *key_pem,
			    struct nsreg_error *err);

/* Stop accepting; end streams; wait for requests in flight; free. */
void			 http_stop(struct http_server *h);

/* "HTTP/1.1" or "HTTP/2". */
const char	*http_proto_name(const struct http_request *req);

/* Request accessors (valid during dispatch). */
const char	*http_query(const struct http_request *req, const char *key);
size_t		 http_query_values(const struct http_request *req,
		    const char *key, const char **out, size_t max);
/* Call fn for each query argument in order; stops when fn returns -1. */
int		 http_query_each(const struct http_request *req,
		    int (*fn)(const char *key, const char *value, void *arg),
		    void *arg);
const char	*http_header(const struct http_request *req, const char *name);

/*
 * The TLS client's certificate chain as DER, leaf first.  Returns the
 * number of certificates (0 without TLS or without a certificate).
 * Pointers stay valid for the connection's lifetime.
 */
size_t		 http_peer_chain(const struct http_request *req,
		    const unsigned char **der, size_t *len, size_t max);

/* A per-connection pointer for caches (freed by hooks->conn_free). */
void		**http_conn_slot(struct http_request *req);

/* Add a response header (copied). */
void		 http_add_header(struct http_request *req, const char *name,
		    const char *value);

/* Reply with a JSON body (stolen; NULL for no body). */
void		 http_reply_json(struct http_request *req, unsigned int status,
		    json_t *body);
/* Reply with text (copied) and a content type. */
void		 http_reply_text(struct http_request *req, unsigned int status,
		    const char *content_type, const char *text, size_t len);
/* Reply with the error body and status of err->code. */
void		 http_reply_error(struct http_request *req,
		    const struct nsreg_error *err);
/*
 * Reply 200 with a stream of content_type, produced by ops on ctx.  The
 * returned handle wakes the stream when data is ready; it is valid until
 * ops->free(ctx) has been called.
 */
struct http_stream *http_reply_stream(struct http_request *req,
		    const char *content_type, const struct http_stream_ops *ops,
		    void *ctx);
void		 http_stream_wake(struct http_stream *s);
/*
 * 1 when the client of the stream has closed its side of the connection
 * (checked without blocking: a watch timer asks quiet streams), else 0.
 */
int		 http_stream_peer_gone(struct http_stream *s);

/*
 * Answer later: after the handler returns the connection sleeps (no
 * thread is held) until http_deferred_done().  Any thread may then reply
 * with http_reply_* on the request and call http_deferred_done() once;
 * the request stays valid until then.
 */
struct http_deferred *http_defer(struct http_request *req);
void		 http_deferred_done(struct http_deferred *d);

/*
 * Run fn(req, arg) on the server's work pool (as many threads as the
 * listeners' workers) instead of the connection's thread, so that slow
 * handlers (lists decided rule by rule) never hold the threads that
 * answer other connections, probes among them.  The reply goes out when
 * fn returns, or later when fn deferred it itself (http_defer nests).
 */
void		 http_offload(struct http_request *req,
		    void (*fn)(struct http_request *, void *), void *arg);

/* Dump a JSON value compactly into a new buffer (never fails on bad UTF-8). */
char		*http_json_dump(const json_t *v, size_t *len);

#endif
