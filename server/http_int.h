/*
 * http_int.h - what the two HTTP front ends share, inside the HTTP layer.
 *
 * http.h is transport-neutral: every public http_* function dispatches
 * through req->transport to the implementation of the protocol that
 * carried the request, libmicrohttpd's (http.c, HTTP/1.1) or nghttp2's
 * (h2.c, HTTP/2).  What does not depend on the wire is written once here
 * (http_req.c): request ids, the request-target checks and decoding, the
 * query arguments, the work pool.  Handlers and the server never include
 * this header.
 */
#ifndef NSREG_HTTP_INT_H
#define NSREG_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "http.h"

/*
 * One protocol's implementation of the public accessors and replies.
 * Each member has the contract of the http.h function of the same name;
 * reply takes a body in a new buffer (stolen, NULL for none).
 */
struct http_transport {
	const char	*(*query)(const struct http_request *, const char *);
	size_t		 (*query_values)(const struct http_request *,
			    const char *, const char **, size_t);
	int		 (*query_each)(const struct http_request *,
			    int (*)(const char *, const char *, void *),
			    void *);
	const char	*(*header)(const struct http_request *, const char *);
	size_t		 (*peer_chain)(const struct http_request *,
			    const unsigned char **, size_t *, size_t);
	void		**(*conn_slot)(struct http_request *);
	void		 (*add_header)(struct http_request *, const char *,
			    const char *);
	void		 (*reply)(struct http_request *, unsigned int,
			    const char *, char *, size_t);
	struct http_stream *(*reply_stream)(struct http_request *,
			    const char *, const struct http_stream_ops *,
			    void *);
	void		 (*stream_wake)(struct http_stream *);
	int		 (*stream_peer_gone)(struct http_stream *);
	struct http_deferred *(*defer)(struct http_request *);
	void		 (*deferred_done)(struct http_deferred *);
	void		 (*offload)(struct http_request *,
			    void (*)(struct http_request *, void *), void *);
};

/* The first member of each transport's stream and deferred reply. */
struct http_stream {
	const struct http_transport	*transport;
};

struct http_deferred {
	const struct http_transport	*transport;
};

/* Request ids: a random prefix drawn once per server and a counter. */
struct http_ids {
	char		prefix[17];
	atomic_ullong	next;
};

/* Draw the prefix.  0, or -1 without randomness. */
int		 http_ids_init(struct http_ids *ids);

/*
 * Fill req->id: the client's X-Request-Id (given, may be NULL) when it is
 * a short printable token, else a new id from ids.
 */
void		 http_req_id(struct http_request *req, const char *given,
		    struct http_ids *ids);

/* The method from its name (HTTP_OTHER when unknown). */
enum http_method http_method_of(const char *name);

/*
 * Check a request-target (target_long: it was cut at HTTP_TARGET_MAX)
 * and decode its path once into *path (new; also on error, NULL when
 * memory ran out).  req->path is then *path, or "*" for OPTIONS *.
 * 0, or -1 with err (400 for every fault of the client).
 */
int		 http_target_check(struct http_request *req, const char *target,
		    int target_long, char **path, struct nsreg_error *err);

/* A Host or :authority value: a host name or literal, optional port. */
int		 http_host_ok(const char *v);

/*
 * A query string (after '?', not NUL-terminated: len bytes) split into
 * decoded arguments as libmicrohttpd splits them: '+' is a space, an
 * argument without '=' has a NULL value.  Returns the count (at most
 * max), fills keys and values pointing into *buf (new).  -1 when memory
 * runs out.
 */
struct http_arg {
	const char	*key;
	const char	*value;
};
ssize_t		 http_query_split(const char *q, size_t len,
		    struct http_arg *out, size_t max, char **buf);

/* The query accessors over a split query (both transports' own). */
const char	*http_args_get(const struct http_arg *a, size_t n,
		    const char *key);
size_t		 http_args_values(const struct http_arg *a, size_t n,
		    const char *key, const char **out, size_t max);
int		 http_args_each(const struct http_arg *a, size_t n,
		    int (*fn)(const char *, const char *, void *), void *arg);

/*
 * A pool of worker threads running jobs in order of submission.  New,
 * or NULL.  http_pool_submit returns -1 when memory runs out or the pool
 * has no thread (the caller then runs fn itself).  http_pool_free runs
 * what is queued, joins the threads and frees the pool (NULL is fine).
 */
struct http_pool;
struct http_pool *http_pool_new(size_t nthreads);
int		 http_pool_submit(struct http_pool *p, void (*fn)(void *),
		    void *arg);
void		 http_pool_free(struct http_pool *p);

/* 1 when the calling thread is one of p's workers. */
int		 http_pool_current(const struct http_pool *p);

/*
 * Run fn(req, arg) on pool p and call http_deferred_done when it returns
 * (the offload contract of http.h), or run it here when p cannot take it.
 */
void		 http_pool_offload(struct http_pool *p,
		    struct http_request *req,
		    void (*fn)(struct http_request *, void *), void *arg);

/*
 * The response headers every reply carries, beside the handler's: call
 * fn for Content-Type (when content_type is not NULL), X-Request-Id,
 * X-Content-Type-Options, then the handler's, then Cache-Control:
 * no-store unless the handler gave one.
 */
void		 http_reply_fields(const struct http_request *req,
		    const char *content_type, const struct http_field *extra,
		    size_t nextra,
		    void (*fn)(const char *, const char *, void *), void *arg);

/* The text of a JSON reply (new, newline-terminated) and its length. */
char		*http_reply_json_text(json_t *body, size_t *len);

#endif /* NSREG_HTTP_INT_H */
