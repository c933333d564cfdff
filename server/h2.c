/*
 * h2.c - HTTP/2 on nghttp2 and OpenSSL (see h2.h).
 *
 * Thread model.  One loop thread owns every connection: the sockets, the
 * TLS sessions and the nghttp2 sessions, none of which is touched from
 * another thread.  A request complete (END_STREAM, body within max-body)
 * goes to the dispatch workers; the handler replies into the request
 * (status, headers, body or stream ops), and when the last reference is
 * dropped (the handler returned and every http_defer is done) the
 * request is queued back to the loop, woken through an eventfd, which
 * submits the response.  Streams are pulled through ops->read from
 * nghttp2's data callback, only as far as flow control and the socket
 * allow; a read with nothing ready defers the stream until
 * http_stream_wake, from any thread, queues it for the loop to resume.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "h2.h"
#include "h2_guard.h"
#include "hashmap.h"
#include "http.h"
#include "http_int.h"
#include "log.h"
#include "util.h"

#define H2_LISTEN_MAX		8
#define H2_EVENTS		64
#define H2_READ_BUF		(16 * 1024)
#define H2_TICK_MS		250
#define H2_HEADERS_MAX		8	/* a handler's response headers */
#define H2_TRAILERS_MAX		8
#define H2_STOP_WAIT_MS		10000
#define H2_RATELOG_MS		10000
#define H2_OUT_MAX		(64 * 1024)	/* written at once */
#define H2_DISCARD_MAX		(64ULL * 1024 * 1024)	/* read, dropped */

enum h2_kind {
	H2_LISTENER = 1,
	H2_CONN,
	H2_WAKE
};

struct h2_tls {
	SSL_CTX		*ctx;
};

struct h2_listener {
	enum h2_kind	 kind;	/* first */
	int		 fd;
	int		 tls;
	unsigned short	 port;
};

struct h2_addr {
	char		 addr[HTTP_ADDR_MAX];
	unsigned int	 n;
};

struct h2_server {
	struct h2_listener	 l[H2_LISTEN_MAX];
	size_t			 nl;
	struct http_hooks	 hooks;
	struct http_ids		*ids;
	struct http_pool	*pool;		/* shared: http_offload */
	struct http_pool	*workers;	/* dispatch */
	size_t			 max_body;
	unsigned int		 max_streams;
	size_t			 max_header_list;
	int64_t			 header_timeout_ms;
	int64_t			 idle_timeout_ms;
	int64_t			 body_timeout_ms;	/* head to END_STREAM */
	unsigned int		 max_connections;
	unsigned int		 max_per_address;
	int			 epfd;
	int			 evfd;
	enum h2_kind		 wake_kind;	/* the eventfd's epoll tag */
	pthread_t		 loop;
	int			 loop_running;
	atomic_int		 stop;
	atomic_int		 inflight;	/* dispatched, not back */
	pthread_mutex_t		 lock;	/* tls and the two queues */
	struct h2_tls		*tls;
	struct h2_req		*done, *done_tail;
	struct h2_stream	*woken;
	/* The loop thread's own. */
	struct h2_conn		*conns;
	unsigned int		 nconns;
	struct hashmap		*per_addr;
	int64_t			 next_tick;
	int64_t			 log_full_ms, log_slow_ms;
	struct h2_guard_limits	 guard;		/* abuse: h2_guard.h */
	int64_t			 log_abuse_ms;
};

struct h2_conn {
	enum h2_kind		 kind;	/* first */
	struct h2_server	*srv;
	int			 fd;
	SSL			*ssl;
	int			 handshaking;
	nghttp2_session		*ng;
	unsigned char		*out;	/* written in part: the rest */
	size_t			 out_len, out_off, out_cap;
	int			 dirty;		/* h2_drain: to flush */
	struct h2_conn		*dirty_next;
	uint32_t		 events;
	int64_t			 deadline;	/* ms: first request head */
	int64_t			 idle_since;	/* ms: no stream since */
	int			 closing;	/* close once flushed */
	int			 dead;		/* closed, requests in flight */
	unsigned int		 refs;		/* requests dispatched */
	struct h2_addr		*addr;
	/* One more than a chain may have: auth.c tells "too long". */
	unsigned char		*der[HTTP_PEER_CHAIN_MAX + 1];
	size_t			 derlen[HTTP_PEER_CHAIN_MAX + 1];
	size_t			 nder;
	void			**slots;	/* free per-request slots */
	size_t			 nslots;
	struct h2_req		*reqs;		/* open streams */
	char			 remote[HTTP_ADDR_MAX];
	struct h2_guard		*guard;
	size_t			 sent;	/* DATA, HEADERS since the tick */
	struct h2_conn		*prev, *next;
};

struct h2_stream {
	struct http_stream		 base;	/* first */
	struct h2_server		*srv;
	struct h2_req			*r;
	const struct http_stream_ops	*ops;
	void				*ctx;
	int				 deferred;	/* loop: waits */
	int				 ended;
	int				 queued;	/* srv->lock */
	atomic_int			 gone;
	struct h2_stream		*wprev, *wnext;
	struct http_field		 tr[H2_TRAILERS_MAX];
};

struct h2_req {
	struct http_request	 req;
	struct http_deferred	 dbase;
	struct h2_conn		*conn;
	int32_t			 sid;
	int			 headers_in;	/* the head is complete */
	int			 complete;	/* END_STREAM received */
	int			 dispatched;
	int			 closed;	/* stream gone while away */
	int			 submitted;
	int			 rst_when_sent;	/* after an early reply */
	int			 rst_sent;
	int			 await_end;	/* reply sent but END_STREAM */
	unsigned long long	 discarded;	/* body after an early reply */
	atomic_int		 refs;
	/* The head as received. */
	char			*fbuf;	/* name NUL value NUL ... */
	size_t			 flen, fcap;
	size_t			 foff[HTTP_FIELDS_MAX][2];
	struct http_field	 fields[HTTP_FIELDS_MAX];
	size_t			 nfields, nseen, fbytes, listbytes;
	char			*method, *target, *authority;
	int			 target_long, bad_pseudo;
	long long		 clen;
	char			*path;
	char			*qbuf;
	struct http_arg		 args[HTTP_QUERY_MAX];
	size_t			 nargs;
	char			*body;
	size_t			 body_len, body_cap;
	/* The reply. */
	int			 replied;
	struct http_field	 rh[H2_HEADERS_MAX];	/* strings new */
	size_t			 nrh;
	char			*ctype;
	char			*rbody;
	size_t			 rlen, roff;
	struct h2_stream	*stream;
	void			*slot;
	struct h2_req		*prev, *next;	/* conn's */
	struct h2_req		*dnext;		/* srv->done */
};

static const struct http_transport h2_transport;

static void	h2_conn_close(struct h2_conn *);
static int	h2_conn_flush(struct h2_conn *);
static void	h2_req_respond(struct h2_req *);
static int	h2_ratelog_ok(int64_t *);

/* TLS */

/* ALPN: exactly "h2"; anything else ends the handshake. */
static int
h2_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int	i;

	(void)ssl;
	(void)arg;
	for (i = 0; i < inlen; i += 1 + in[i])
		if (in[i] == 2 && i + 2 < inlen && memcmp(in + i + 1, "h2",
		    2) == 0) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/*
 * A ClientHello without ALPN would complete a handshake the client then
 * could not use: refuse it with the same alert as a list without h2.
 */
static int
h2_client_hello(SSL *ssl, int *al, void *arg)
{
	const unsigned char	*ext;
	size_t			 len;

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl,
	    TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
	    &len) == 1)
		return SSL_CLIENT_HELLO_SUCCESS;
	*al = SSL_AD_NO_APPLICATION_PROTOCOL;
	return SSL_CLIENT_HELLO_ERROR;
}

/* Any client chain passes the handshake: auth.c verifies it. */
static int
h2_verify_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

struct h2_tls *
h2_tls_new(const char *cert_pem, const char *key_pem, struct nsreg_error *err)
{
	struct h2_tls	*t = NULL;
	BIO		*bio = NULL;
	X509		*x = NULL;
	EVP_PKEY	*key = NULL;
	int		 n = 0, ok = 0;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot make a TLS context");
		goto out;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if ((bio = BIO_new_mem_buf(cert_pem, -1)) == NULL)
		goto nomem;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (n == 0 ? SSL_CTX_use_certificate(t->ctx, x) != 1 :
		    SSL_CTX_add1_chain_cert(t->ctx, x) != 1) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "tls-cert: certificate %d refused by OpenSSL",
			    n + 1);
			goto out;
		}
		X509_free(x);
		x = NULL;
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (n == 0) {
		bio = NULL;
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "tls-cert: no certificate");
		goto out;
	}
	if ((bio = BIO_new_mem_buf(key_pem, -1)) == NULL)
		goto nomem;
	if ((key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_PrivateKey(t->ctx, key) != 1 ||
	    SSL_CTX_check_private_key(t->ctx) != 1) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "tls-key: not a key for the tls-cert certificate");
		goto out;
	}
	SSL_CTX_set_alpn_select_cb(t->ctx, h2_alpn_select, NULL);
	SSL_CTX_set_client_hello_cb(t->ctx, h2_client_hello, NULL);
	/* Request a certificate (naming no CA), require none. */
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, h2_verify_any);
	SSL_CTX_set_session_id_context(t->ctx, (const unsigned char *)"nsregd",
	    6);
	ok = 1;
	goto out;
nomem:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(key);
	BIO_free(bio);
	if (!ok) {
		h2_tls_free(t);
		t = NULL;
	}
	return t;
}

void
h2_tls_free(struct h2_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

void
h2_set_tls(struct h2_server *s, struct h2_tls *tls)
{
	pthread_mutex_lock(&s->lock);
	s->tls = tls;
	pthread_mutex_unlock(&s->lock);
}

/* The client's chain as DER, kept for the connection's life. */
static void
h2_conn_peer_chain(struct h2_conn *c)
{
	STACK_OF(X509)	*sk;
	X509		*leaf;
	int		 i, len;
	unsigned char	*p;

	if ((leaf = SSL_get0_peer_certificate(c->ssl)) == NULL)
		return;
	/* On a server the peer chain leaves the leaf out. */
	sk = SSL_get_peer_cert_chain(c->ssl);
	for (i = -1; c->nder < HTTP_PEER_CHAIN_MAX + 1; i++) {
		X509	*x;

		if (i == -1)
			x = leaf;
		else if (sk != NULL && i < sk_X509_num(sk))
			x = sk_X509_value(sk, i);
		else
			break;
		if (i >= 0 && X509_cmp(x, leaf) == 0)
			continue;
		if ((len = i2d_X509(x, NULL)) <= 0 ||
		    (c->der[c->nder] = malloc((size_t)len)) == NULL)
			break;
		p = c->der[c->nder];
		i2d_X509(x, &p);
		c->derlen[c->nder++] = (size_t)len;
	}
}

/* Socket I/O: TLS or not.  >0 bytes, 0 would block, -1 closed/error. */
static ssize_t
h2_io_read(struct h2_conn *c, unsigned char *buf, size_t len)
{
	ssize_t	n;
	int	rc;

	if (c->ssl == NULL) {
		n = read(c->fd, buf, len);
		if (n > 0)
			return n;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	ERR_clear_error();
	rc = SSL_read(c->ssl, buf, (int)len);
	if (rc > 0)
		return rc;
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		return -1;
	}
}

static ssize_t
h2_io_write(struct h2_conn *c, const unsigned char *buf, size_t len)
{
	ssize_t	n;
	int	rc;

	if (c->ssl == NULL) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return -1;
	}
	ERR_clear_error();
	rc = SSL_write(c->ssl, buf, (int)len);
	if (rc > 0)
		return rc;
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		return -1;
	}
}

static void
h2_conn_events(struct h2_conn *c, uint32_t ev)
{
	struct epoll_event	e;

	if (c->events == ev || c->fd < 0)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

/* Requests */

static struct h2_req *
h2_req_of(struct http_request *req)
{
	return (struct h2_req *)((char *)req - offsetof(struct h2_req, req));
}

static struct h2_req *
h2_req_new(struct h2_conn *c, int32_t sid)
{
	struct h2_req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->conn = c;
	r->sid = sid;
	r->clen = -1;
	r->req.proto = HTTP_PROTO_2;
	r->req.transport = &h2_transport;
	r->dbase.transport = &h2_transport;
	r->req.now = util_now_ms();
	r->req.start_us = util_mono_us();
	r->req.method = HTTP_OTHER;
	r->req.method_name = "-";
	r->req.path = "-";
	r->req.target = "-";
	r->req.tls = c->ssl != NULL;
	memcpy(r->req.remote_addr, c->remote, sizeof(r->req.remote_addr));
	r->next = c->reqs;
	if (c->reqs != NULL)
		c->reqs->prev = r;
	c->reqs = r;
	return r;
}

/* Unlink a stream from the wake queue; ops->free was called. */
static void
h2_stream_free(struct h2_stream *s)
{
	struct h2_server	*srv = s->srv;

	pthread_mutex_lock(&srv->lock);
	if (s->queued) {
		if (s->wprev != NULL)
			s->wprev->wnext = s->wnext;
		else
			srv->woken = s->wnext;
		if (s->wnext != NULL)
			s->wnext->wprev = s->wprev;
	}
	pthread_mutex_unlock(&srv->lock);
	free(s);
}

/* The request is over: log it, end its stream, free it. */
static void
h2_req_free(struct h2_req *r)
{
	struct h2_server	*srv;
	struct h2_conn		*c = r->conn;
	size_t			 i;

	srv = c->srv;
	if (r->headers_in) {
		if (!r->submitted || r->req.status == 0)
			r->req.status = 499;
		if (srv->hooks.completed != NULL)
			srv->hooks.completed(&r->req, srv->hooks.arg);
	}
	if (r->stream != NULL) {
		atomic_store(&r->stream->gone, 1);
		r->stream->ops->free(r->stream->ctx);
		h2_stream_free(r->stream);
	}
	if (r->prev != NULL)
		r->prev->next = r->next;
	else if (c->reqs == r)
		c->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (c->reqs == NULL)
		c->idle_since = util_mono_us() / 1000;
	if (r->slot != NULL && srv->hooks.conn_free != NULL)
		srv->hooks.conn_free(r->slot, srv->hooks.arg);
	for (i = 0; i < r->nrh; i++) {
		free((char *)r->rh[i].name);
		free((char *)r->rh[i].value);
	}
	json_decref(r->req.json);
	principal_clear(&r->req.principal);
	free(r->req.params_buf);
	free(r->fbuf);
	free(r->method);
	free(r->target);
	free(r->authority);
	free(r->path);
	free(r->qbuf);
	free(r->body);
	free(r->ctype);
	free(r->rbody);
	free(r);
}

/* Transport: accessors */

static const char *
h2_query(const struct http_request *req, const char *key)
{
	const struct h2_req	*r = h2_req_of((struct http_request *)req);

	return http_args_get(r->args, r->nargs, key);
}

static size_t
h2_query_values(const struct http_request *req, const char *key,
    const char **out, size_t max)
{
	const struct h2_req	*r = h2_req_of((struct http_request *)req);

	return http_args_values(r->args, r->nargs, key, out, max);
}

static int
h2_query_each(const struct http_request *req,
    int (*fn)(const char *, const char *, void *), void *arg)
{
	const struct h2_req	*r = h2_req_of((struct http_request *)req);

	return http_args_each(r->args, r->nargs, fn, arg);
}

static const char *
h2_header(const struct http_request *req, const char *name)
{
	const struct h2_req	*r = h2_req_of((struct http_request *)req);
	size_t			 i;

	for (i = 0; i < r->nfields; i++)
		if (strcasecmp(r->fields[i].name, name) == 0)
			return r->fields[i].value;
	if (strcasecmp(name, "Host") == 0)
		return r->authority;
	return NULL;
}

static size_t
h2_peer_chain(const struct http_request *req, const unsigned char **der,
    size_t *len, size_t max)
{
	const struct h2_req	*r = h2_req_of((struct http_request *)req);
	const struct h2_conn	*c = r->conn;
	size_t			 i;

	for (i = 0; i < c->nder && i < max; i++) {
		der[i] = c->der[i];
		len[i] = c->derlen[i];
	}
	return i;
}

/*
 * Streams of one connection run at once on several workers: each
 * request holds a slot of its own, taken from the connection's free
 * ones, so a cache is shared by the connection's requests in turn and
 * never by two at a time.
 */
static void **
h2_conn_slot(struct http_request *req)
{
	return &h2_req_of(req)->slot;
}

static void
h2_add_header(struct http_request *req, const char *name, const char *value)
{
	struct h2_req	*r = h2_req_of(req);
	char		*n, *v;

	if (r->nrh == H2_HEADERS_MAX)
		return;
	if ((n = strdup(name)) == NULL)
		return;
	if ((v = strdup(value)) == NULL) {
		free(n);
		return;
	}
	r->rh[r->nrh].name = n;
	r->rh[r->nrh++].value = v;
}

static void
h2_reply(struct http_request *req, unsigned int status,
    const char *content_type, char *body, size_t len)
{
	struct h2_req	*r = h2_req_of(req);

	free(r->rbody);
	free(r->ctype);
	r->ctype = NULL;
	if (content_type != NULL && (r->ctype = strdup(content_type)) ==
	    NULL)
		log_warnx("msg=\"cannot create response\" id=%s", req->id);
	r->rbody = body;
	r->rlen = body != NULL ? len : 0;
	r->roff = 0;
	r->replied = 1;
	req->status = status;
	req->bytes_out = r->rlen;
}

static struct http_stream *
h2_reply_stream(struct http_request *req, const char *content_type,
    const struct http_stream_ops *ops, void *ctx)
{
	struct h2_req		*r = h2_req_of(req);
	struct h2_stream	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ops->free(ctx);
		return NULL;
	}
	s->base.transport = &h2_transport;
	s->srv = r->conn->srv;
	s->r = r;
	s->ops = ops;
	s->ctx = ctx;
	if (atomic_load(&s->srv->stop))
		s->ended = 1;
	h2_reply(req, HTTP_OK, content_type, NULL, 0);
	r->stream = s;
	return &s->base;
}

static void
h2_wake_loop(struct h2_server *srv)
{
	uint64_t	one = 1;
	ssize_t		n;

	n = write(srv->evfd, &one, sizeof(one));
	(void)n;	/* EAGAIN: the counter is set, the loop wakes */
}

static void
h2_stream_wake(struct http_stream *base)
{
	struct h2_stream	*s = (struct h2_stream *)base;
	struct h2_server	*srv = s->srv;
	int			 kick = 0;

	pthread_mutex_lock(&srv->lock);
	if (!s->queued) {
		s->queued = 1;
		s->wprev = NULL;
		s->wnext = srv->woken;
		if (srv->woken != NULL)
			srv->woken->wprev = s;
		srv->woken = s;
		kick = 1;
	}
	pthread_mutex_unlock(&srv->lock);
	if (kick)
		h2_wake_loop(srv);
}

static int
h2_stream_peer_gone(struct http_stream *base)
{
	return atomic_load(&((struct h2_stream *)base)->gone);
}

/* The last reference to a dispatched request: back to the loop. */
static void
h2_req_unref(struct h2_req *r)
{
	struct h2_server	*srv = r->conn->srv;

	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	pthread_mutex_lock(&srv->lock);
	r->dnext = NULL;
	if (srv->done_tail != NULL)
		srv->done_tail->dnext = r;
	else
		srv->done = r;
	srv->done_tail = r;
	pthread_mutex_unlock(&srv->lock);
	h2_wake_loop(srv);
}

static struct http_deferred *
h2_defer(struct http_request *req)
{
	struct h2_req	*r = h2_req_of(req);

	atomic_fetch_add(&r->refs, 1);
	return &r->dbase;
}

static void
h2_deferred_done(struct http_deferred *d)
{
	h2_req_unref((struct h2_req *)((char *)d - offsetof(struct h2_req,
	    dbase)));
}

static void
h2_offload(struct http_request *req,
    void (*fn)(struct http_request *, void *), void *arg)
{
	http_pool_offload(h2_req_of(req)->conn->srv->pool, req, fn, arg);
}

static const struct http_transport h2_transport = {
	.query = h2_query,
	.query_values = h2_query_values,
	.query_each = h2_query_each,
	.header = h2_header,
	.peer_chain = h2_peer_chain,
	.conn_slot = h2_conn_slot,
	.add_header = h2_add_header,
	.reply = h2_reply,
	.reply_stream = h2_reply_stream,
	.stream_wake = h2_stream_wake,
	.stream_peer_gone = h2_stream_peer_gone,
	.defer = h2_defer,
	.deferred_done = h2_deferred_done,
	.offload = h2_offload,
};

/* Dispatch */

static void
h2_run(void *arg)
{
	struct h2_req		*r = arg;
	struct h2_server	*srv = r->conn->srv;

	srv->hooks.dispatch(&r->req, srv->hooks.arg);
	h2_req_unref(r);
}

static void
h2_dispatch(struct h2_req *r)
{
	struct h2_conn		*c = r->conn;
	struct h2_server	*srv = c->srv;

	r->dispatched = 1;
	r->req.body = r->body != NULL ? r->body : "";
	r->req.body_len = r->body_len;
	if (c->nslots > 0)
		r->slot = c->slots[--c->nslots];
	c->refs++;
	atomic_fetch_add(&srv->inflight, 1);
	atomic_store(&r->refs, 1);
	if (http_pool_submit(srv->workers, h2_run, r) == -1)
		h2_run(r);
}

/* Reply err now, before any handler: a bad head or a body too large. */
static void
h2_req_refuse(struct h2_req *r, const struct nsreg_error *err)
{
	http_reply_error(&r->req, err);
	h2_req_respond(r);
}

/* The head is in: check it as HTTP/1.1 heads are checked. */
static void
h2_req_begin(struct h2_req *r)
{
	struct h2_server	*srv = r->conn->srv;
	struct nsreg_error	 err;
	const char		*q, *ce;
	size_t			 i, nauth = 0;
	ssize_t			 n;

	nsreg_error_clear(&err);
	r->headers_in = 1;
	for (i = 0; i < r->nfields; i++) {
		r->fields[i].name = r->fbuf + r->foff[i][0];
		r->fields[i].value = r->fbuf + r->foff[i][1];
	}
	if (r->method != NULL) {
		r->req.method_name = r->method;
		r->req.method = http_method_of(r->method);
	}
	if (r->target != NULL)
		r->req.target = r->target;
	http_req_id(&r->req, h2_header(&r->req, "X-Request-Id"), srv->ids);
	if (r->method == NULL || r->target == NULL || r->bad_pseudo) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, NULL,
		    "a request needs :method and :path and no other "
		    "pseudo-header");
		goto refuse;
	}
	if (r->nseen > HTTP_FIELDS_MAX) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, NULL,
		    "more than %d header fields", HTTP_FIELDS_MAX);
		goto refuse;
	}
	if (r->fbytes > HTTP_FIELD_BYTES_MAX) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, NULL,
		    "header fields larger than %d bytes",
		    HTTP_FIELD_BYTES_MAX);
		goto refuse;
	}
	if (r->listbytes > srv->max_header_list) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, NULL,
		    "header list larger than h2-max-header-list (%zu bytes)",
		    srv->max_header_list);
		goto refuse;
	}
	if (r->authority != NULL && !http_host_ok(r->authority)) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "Host",
		    "Host: not a host name or address");
		goto refuse;
	}
	for (i = 0; i < r->nfields; i++)
		if (strcasecmp(r->fields[i].name, "authorization") == 0)
			nauth++;
	if (nauth > 1) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "Authorization",
		    "more than one Authorization header");
		goto refuse;
	}
	if ((ce = h2_header(&r->req, "Content-Encoding")) != NULL &&
	    strcasecmp(ce, "identity") != 0) {
		nsreg_error_set(&err, NSREG_UNSUPPORTED_MEDIA_TYPE,
		    "Content-Encoding", "Content-Encoding %.64s is not "
		    "supported: send the body uncompressed", ce);
		goto refuse;
	}
	if (http_target_check(&r->req, r->target, r->target_long, &r->path,
	    &err) == -1)
		goto refuse;
	if ((q = strchr(r->target, '?')) != NULL) {
		n = http_query_split(q + 1, strlen(q + 1), r->args,
		    HTTP_QUERY_MAX, &r->qbuf);
		if (n < 0) {
			nsreg_error_set(&err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto refuse;
		}
		r->nargs = (size_t)n;
	}
	r->req.params_len = strlen(r->req.path) + HTTP_PARAMS_MAX + 1;
	if ((r->req.params_buf = malloc(r->req.params_len)) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto refuse;
	}
	if (r->clen >= 0 && (unsigned long long)r->clen > srv->max_body) {
		nsreg_error_set(&err, NSREG_PAYLOAD_TOO_LARGE, NULL,
		    "request body larger than max-body (%zu bytes)",
		    srv->max_body);
		/* Too much even to drop: reset once answered. */
		if ((unsigned long long)r->clen > H2_DISCARD_MAX)
			r->rst_when_sent = 1;
		goto refuse;
	}
	return;
refuse:
	h2_req_refuse(r, &err);
}

/* nghttp2 callbacks (loop thread) */

static int
h2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2_conn	*c = arg;
	struct h2_req	*r;

	if (f->hd.type == NGHTTP2_HEADERS)
		h2_guard_headers_begin(c->guard);
	if (f->hd.type != NGHTTP2_HEADERS ||
	    f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if ((r = h2_req_new(c, f->hd.stream_id)) == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, r);
	return 0;
}

static char *
h2_strndup(const uint8_t *s, size_t n)
{
	char	*d;

	if ((d = malloc(n + 1)) != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int
h2_on_header(nghttp2_session *ng, const nghttp2_frame *f,
    const uint8_t *name, size_t namelen, const uint8_t *value,
    size_t valuelen, uint8_t flags, void *arg)
{
	struct h2_conn	*c = arg;
	struct h2_req	*r;
	size_t		 need;

	(void)flags;
	/* An HPACK bomb: stop reading, h2_conn_io sends GOAWAY. */
	if (h2_guard_header(c->guard, namelen, valuelen) != H2_GUARD_NONE)
		return NGHTTP2_ERR_PAUSE;
	if (f->hd.type != NGHTTP2_HEADERS ||
	    (r = nghttp2_session_get_stream_user_data(ng,
	    f->hd.stream_id)) == NULL || r->headers_in)
		return 0;	/* trailers: not kept */
	r->listbytes += namelen + valuelen + 32;
	if (r->listbytes > r->conn->srv->max_header_list)
		return 0;	/* counted, not kept: 400 at the end */
	if (namelen > 0 && name[0] == ':') {
		char	**dst = NULL;

		if (namelen == 7 && memcmp(name, ":method", 7) == 0)
			dst = &r->method;
		else if (namelen == 5 && memcmp(name, ":path", 5) == 0)
			dst = &r->target;
		else if (namelen == 10 && memcmp(name, ":authority", 10) == 0)
			dst = &r->authority;
		else if (namelen == 7 && memcmp(name, ":scheme", 7) == 0)
			return 0;
		else {
			r->bad_pseudo = 1;
			return 0;
		}
		if (dst == &r->target && valuelen > HTTP_TARGET_MAX) {
			r->target_long = 1;
			valuelen = HTTP_TARGET_MAX;
		}
		if (*dst == NULL && (*dst = h2_strndup(value, valuelen)) ==
		    NULL)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		return 0;
	}
	r->nseen++;
	r->fbytes += namelen + valuelen;
	if (r->nseen > HTTP_FIELDS_MAX || r->fbytes > HTTP_FIELD_BYTES_MAX)
		return 0;
	if (namelen == 14 && memcmp(name, "content-length", 14) == 0) {
		char		 v[24];
		long long	 n;

		if (valuelen < sizeof(v)) {
			memcpy(v, value, valuelen);
			v[valuelen] = '\0';
			if (util_number_parse(v, 0, INT64_MAX, &n) == 0)
				r->clen = n;
		}
	}
	need = r->flen + namelen + valuelen + 2;
	if (need > r->fcap) {
		size_t	 cap = r->fcap ? r->fcap : 512;
		char	*nb;

		while (cap < need)
			cap *= 2;
		if ((nb = realloc(r->fbuf, cap)) == NULL)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		r->fbuf = nb;
		r->fcap = cap;
	}
	r->foff[r->nfields][0] = r->flen;
	memcpy(r->fbuf + r->flen, name, namelen);
	r->flen += namelen;
	r->fbuf[r->flen++] = '\0';
	r->foff[r->nfields][1] = r->flen;
	memcpy(r->fbuf + r->flen, value, valuelen);
	r->flen += valuelen;
	r->fbuf[r->flen++] = '\0';
	r->nfields++;
	return 0;
}

static int
h2_on_data(nghttp2_session *ng, uint8_t flags, int32_t sid,
    const uint8_t *data, size_t len, void *arg)
{
	struct h2_conn		*c = arg;
	struct h2_server	*srv = c->srv;
	struct h2_req		*r;
	struct nsreg_error	 err;

	(void)flags;
	if ((r = nghttp2_session_get_stream_user_data(ng, sid)) == NULL ||
	    r->dispatched)
		return 0;
	if (r->replied) {
		/*
		 * Answered before the end of its body (413, a bad head):
		 * the rest is read and dropped, as on HTTP/1.1, so that
		 * clients still sending see the answer (a reset at once
		 * makes some report an error instead), up to a bound past
		 * which the stream is reset.
		 */
		r->discarded += len;
		if (r->discarded > H2_DISCARD_MAX && r->submitted &&
		    !r->rst_sent) {
			r->rst_sent = 1;
			nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, sid,
			    NGHTTP2_NO_ERROR);
		}
		return 0;
	}
	if (r->body_len + len > srv->max_body) {
		free(r->body);
		r->body = NULL;
		r->body_len = r->body_cap = 0;
		nsreg_error_set(&err, NSREG_PAYLOAD_TOO_LARGE, NULL,
		    "request body larger than max-body (%zu bytes)",
		    srv->max_body);
		h2_req_refuse(r, &err);
		return 0;
	}
	if (r->body_len + len + 1 > r->body_cap) {
		size_t	 cap = r->body_cap ? r->body_cap : 1024;
		char	*nb;

		while (cap < r->body_len + len + 1)
			cap *= 2;
		if ((nb = realloc(r->body, cap)) == NULL)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

static int
h2_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2_conn	*c = arg;
	struct h2_req	*r;

	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	if ((r = nghttp2_session_get_stream_user_data(ng,
	    f->hd.stream_id)) == NULL)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && !r->headers_in) {
		c->deadline = 0;	/* a head came in time */
		h2_guard_request_head(c->guard);
		h2_req_begin(r);
	}
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
		r->complete = 1;
		if (!r->replied && !r->dispatched)
			h2_dispatch(r);
		else if (r->await_end) {
			/* The early answer may end its stream now. */
			r->await_end = 0;
			nghttp2_session_resume_data(ng, f->hd.stream_id);
		}
	}
	return 0;
}

/* After a reply sent before the request's end, past H2_DISCARD_MAX. */
static int
h2_on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2_conn	*c = arg;
	struct h2_req	*r;

	/* What the client may answer for free; resets it caused. */
	if (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA)
		c->sent++;
	else if (f->hd.type == NGHTTP2_RST_STREAM)
		(void)h2_guard_reset_sent(c->guard,
		    util_mono_us() / 1000);
	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	if ((r = nghttp2_session_get_stream_user_data(ng,
	    f->hd.stream_id)) != NULL && !r->complete && r->rst_when_sent &&
	    !r->rst_sent) {
		r->rst_sent = 1;
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE,
		    f->hd.stream_id, NGHTTP2_NO_ERROR);
	}
	return 0;
}

static int
h2_on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t code,
    void *arg)
{
	struct h2_req	*r;

	(void)code;
	(void)arg;
	if ((r = nghttp2_session_get_stream_user_data(ng, sid)) == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(ng, sid, NULL);
	if (r->stream != NULL)
		atomic_store(&r->stream->gone, 1);
	if (r->dispatched && !r->submitted) {
		/* Still with a handler: freed when it comes back. */
		r->closed = 1;
		return 0;
	}
	h2_req_free(r);
	return 0;
}

/* Data providers */

static ssize_t
h2_body_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct h2_req	*r = src->ptr;
	size_t		 n;

	(void)ng;
	(void)sid;
	(void)arg;
	n = r->rlen - r->roff;
	if (n > len)
		n = len;
	if (r->req.method == HTTP_HEAD)
		n = 0;
	if (n > 0)
		memcpy(buf, r->rbody + r->roff, n);
	r->roff += n;
	if (r->roff < r->rlen && r->req.method != HTTP_HEAD)
		return (ssize_t)n;
	/*
	 * An early answer (413, a bad head) while the client still sends
	 * its body: END_STREAM waits for the client's, as nghttp2 would
	 * otherwise reset the stream and some clients (curl 7.88) then
	 * report an error instead of the answer.
	 */
	if (!r->complete && !r->rst_when_sent && !r->rst_sent) {
		r->await_end = 1;
		return n > 0 ? (ssize_t)n : NGHTTP2_ERR_DEFERRED;
	}
	*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static ssize_t
h2_stream_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct h2_req		*r = src->ptr;
	struct h2_stream	*s = r->stream;
	nghttp2_nv		 nv[H2_TRAILERS_MAX];
	ssize_t			 n = -1;
	size_t			 i, ntr;

	(void)arg;
	if (!s->ended && (n = s->ops->read(s->ctx, (char *)buf, len)) > 0) {
		r->req.bytes_out += (size_t)n;
		return n;
	}
	if (n == 0) {
		s->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	s->ended = 1;
	*flags |= NGHTTP2_DATA_FLAG_EOF;
	if (s->ops->trailers != NULL && (ntr = s->ops->trailers(s->ctx, s->tr,
	    H2_TRAILERS_MAX)) > 0) {
		for (i = 0; i < ntr && i < H2_TRAILERS_MAX; i++) {
			nv[i].name = (uint8_t *)(uintptr_t)s->tr[i].name;
			nv[i].namelen = strlen(s->tr[i].name);
			nv[i].value = (uint8_t *)(uintptr_t)s->tr[i].value;
			nv[i].valuelen = strlen(s->tr[i].value);
			nv[i].flags = NGHTTP2_NV_FLAG_NONE;
		}
		if (nghttp2_submit_trailer(ng, sid, nv, i) == 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return 0;
}

/* Submit the reply of r */

#define H2_NV_MAX	(H2_HEADERS_MAX + 8)

struct h2_nvs {
	nghttp2_nv	 nv[H2_NV_MAX];
	char		 names[H2_NV_MAX][64];
	size_t		 n;
};

/* Names lower-cased (RFC 9113 8.2.1); connection fields dropped. */
static void
h2_nv_add(const char *name, const char *value, void *arg)
{
	static const char *const hop[] = { "connection", "keep-alive",
	    "proxy-connection", "transfer-encoding", "upgrade" };
	struct h2_nvs	*v = arg;
	size_t		 i, len = strlen(name);

	if (v->n == H2_NV_MAX || len >= sizeof(v->names[0]))
		return;
	for (i = 0; i < len; i++)
		v->names[v->n][i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ?
		    name[i] - 'A' + 'a' : name[i]);
	v->names[v->n][len] = '\0';
	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strcmp(v->names[v->n], hop[i]) == 0)
			return;
	v->nv[v->n].name = (uint8_t *)v->names[v->n];
	v->nv[v->n].namelen = len;
	v->nv[v->n].value = (uint8_t *)(uintptr_t)value;
	v->nv[v->n].valuelen = strlen(value);
	v->nv[v->n].flags = NGHTTP2_NV_FLAG_NONE;
	v->n++;
}

static void
h2_req_respond(struct h2_req *r)
{
	struct h2_conn		*c = r->conn;
	struct h2_nvs		 v;
	nghttp2_data_provider	 prd, *p = NULL;
	struct nsreg_error	 err;
	char			 status[8], clen[24];

	if (!r->replied) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL,
		    "the handler gave no reply");
		http_reply_error(&r->req, &err);
	}
	memset(&v, 0, sizeof(v));
	snprintf(status, sizeof(status), "%u", r->req.status);
	h2_nv_add(":status", status, &v);
	http_reply_fields(&r->req, r->ctype, r->rh, r->nrh, h2_nv_add, &v);
	if (r->stream != NULL) {
		prd.source.ptr = r;
		prd.read_callback = h2_stream_read;
		p = &prd;
	} else {
		if (r->req.status != HTTP_NO_CONTENT &&
		    r->req.status != 304) {
			snprintf(clen, sizeof(clen), "%zu", r->rlen);
			h2_nv_add("content-length", clen, &v);
		}
		if ((r->rlen > 0 && r->req.method != HTTP_HEAD) ||
		    (!r->complete && !r->rst_when_sent)) {
			prd.source.ptr = r;
			prd.read_callback = h2_body_read;
			p = &prd;
		}
	}
	r->submitted = 1;
	if (nghttp2_submit_response(c->ng, r->sid, v.nv, v.n, p) != 0)
		nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, r->sid,
		    NGHTTP2_INTERNAL_ERROR);
}

/* Connections */

static ssize_t
h2_send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
    void *arg)
{
	(void)ng;
	(void)data;
	(void)len;
	(void)flags;
	(void)arg;
	return NGHTTP2_ERR_CALLBACK_FAILURE;	/* mem_send only */
}

static int
h2_conn_session(struct h2_conn *c)
{
	struct h2_server		*srv = c->srv;
	nghttp2_session_callbacks	*cb;
	nghttp2_option			*opt;
	nghttp2_settings_entry		 iv[2];
	int				 rc;

	if (nghttp2_session_callbacks_new(&cb) != 0)
		return -1;
	nghttp2_session_callbacks_set_send_callback(cb, h2_send_cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
	    h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    h2_on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb,
	    h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb,
	    h2_on_frame_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    h2_on_stream_close);
	if ((rc = nghttp2_option_new(&opt)) == 0) {
		/* nghttp2's own bounds above h2_guard.c's: ours speak. */
#if HAVE_DECL_NGHTTP2_OPTION_SET_MAX_CONTINUATIONS
		nghttp2_option_set_max_continuations(opt,
		    srv->guard.max_header_list / 16384 + 16);
#endif
#if HAVE_DECL_NGHTTP2_OPTION_SET_STREAM_RESET_RATE_LIMIT
		nghttp2_option_set_stream_reset_rate_limit(opt,
		    4 * (uint64_t)srv->guard.max_resets,
		    2 * (uint64_t)srv->guard.max_resets);
#endif
		rc = nghttp2_session_server_new2(&c->ng, cb, c, opt);
		nghttp2_option_del(opt);
	}
	nghttp2_session_callbacks_del(cb);
	if (rc != 0)
		return -1;
	iv[0].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
	iv[0].value = srv->max_streams;
	iv[1].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
	iv[1].value = (uint32_t)srv->max_header_list;
	if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, 2) != 0)
		return -1;
	return 0;
}

/*
 * Gather what nghttp2 has to send, up to H2_OUT_MAX, and write it at once
 * (one TLS record per 16 KiB, not one per frame), until nghttp2 has
 * nothing more or the socket is full: then wait for EPOLLOUT and pull
 * nothing more, so that the streams' data stays with their producers.
 * The buffer is freed once written (an idle connection holds none).
 * 0, or -1 when the connection is over.
 */
static int
h2_conn_flush(struct h2_conn *c)
{
	const uint8_t	*data;
	unsigned char	*nb;
	ssize_t		 n, w;
	size_t		 cap;

	if (c->ng == NULL || c->dead)
		return 0;
	for (;;) {
		while (c->out_len < H2_OUT_MAX) {
			if ((n = nghttp2_session_mem_send(c->ng, &data)) < 0)
				return -1;
			if (n == 0)
				break;
			if (c->out_len + (size_t)n > c->out_cap) {
				cap = c->out_len + (size_t)n;
				if (cap < H2_OUT_MAX)
					cap = H2_OUT_MAX;
				if ((nb = realloc(c->out, cap)) == NULL)
					return -1;
				c->out = nb;
				c->out_cap = cap;
			}
			memcpy(c->out + c->out_len, data, (size_t)n);
			c->out_len += (size_t)n;
		}
		if (c->out_off == c->out_len)
			break;
		w = h2_io_write(c, c->out + c->out_off,
		    c->out_len - c->out_off);
		if (w < 0)
			return -1;
		c->out_off += (size_t)w;
		if (c->out_off < c->out_len) {
			h2_conn_events(c, EPOLLIN | EPOLLOUT);
			return 0;
		}
		c->out_off = c->out_len = 0;
	}
	free(c->out);
	c->out = NULL;
	c->out_cap = 0;
	h2_conn_events(c, EPOLLIN);
	if (!nghttp2_session_want_read(c->ng) &&
	    !nghttp2_session_want_write(c->ng))
		return -1;
	return 0;
}

static int
h2_conn_handshake(struct h2_conn *c)
{
	const unsigned char	*alpn;
	unsigned int		 alpnlen;
	int			 rc;

	ERR_clear_error();
	rc = SSL_do_handshake(c->ssl);
	if (rc != 1) {
		switch (SSL_get_error(c->ssl, rc)) {
		case SSL_ERROR_WANT_READ:
			h2_conn_events(c, EPOLLIN);
			return 0;
		case SSL_ERROR_WANT_WRITE:
			h2_conn_events(c, EPOLLIN | EPOLLOUT);
			return 0;
		default:
			log_debug("msg=\"h2 handshake failed\" remote=%s",
			    c->remote);
			return -1;
		}
	}
	SSL_get0_alpn_selected(c->ssl, &alpn, &alpnlen);
	if (alpnlen != 2 || memcmp(alpn, "h2", 2) != 0)
		return -1;
	c->handshaking = 0;
	h2_conn_peer_chain(c);
	return h2_conn_session(c);
}

/*
 * The guard's verdict on c, if any: GOAWAY with its error code (when
 * the TLS handshake is over), counted, logged, and the connection
 * closed.  Returns 1 when c was closed (it may be freed), else 0.
 */
static int
h2_conn_abuse(struct h2_conn *c)
{
	struct h2_server	*srv = c->srv;
	enum h2_guard_reason	 r;
	uint32_t		 code;
	int			 closed = 0;

	if (c->guard == NULL || c->dead ||
	    (r = h2_guard_verdict(c->guard)) == H2_GUARD_NONE)
		goto out;
	code = h2_guard_reason_code(r);
	if (srv->hooks.conn_goaway != NULL)
		srv->hooks.conn_goaway((int)r, srv->hooks.arg);
	if (h2_ratelog_ok(&srv->log_abuse_ms))
		log_warn("msg=\"connection closed: HTTP/2 abuse\" "
		    "proto=HTTP/2 remote=%s reason=%s goaway=%s", c->remote,
		    h2_guard_reason_name(r), h2_guard_code_name(code));
	if (c->ng != NULL &&
	    nghttp2_session_terminate_session(c->ng, code) == 0)
		(void)h2_conn_flush(c);
	h2_conn_close(c);
	closed = 1;
out:
	return closed;
}

/*
 * Whether c holds response data it cannot send: the socket is full, or
 * a stream with data to give finds its window or the connection's shut.
 */
static int
h2_conn_pending(struct h2_conn *c)
{
	struct h2_req	*r;
	int		 shut;

	if (c->out_off < c->out_len)
		return 1;
	if (c->ng == NULL)
		return 0;
	shut = nghttp2_session_get_remote_window_size(c->ng) <= 0;
	for (r = c->reqs; r != NULL; r = r->next) {
		if (!r->submitted || (r->stream != NULL ?
		    r->stream->ended || r->stream->deferred :
		    r->roff >= r->rlen))
			continue;
		if (shut || nghttp2_session_get_stream_remote_window_size(
		    c->ng, r->sid) <= 0)
			return 1;
	}
	return 0;
}

static void
h2_conn_io(struct h2_conn *c, uint32_t ev)
{
	unsigned char	buf[H2_READ_BUF];
	ssize_t		n;

	if (ev & (EPOLLERR | EPOLLHUP)) {
		h2_conn_close(c);
		return;
	}
	if (c->handshaking) {
		if (h2_conn_handshake(c) == -1) {
			h2_conn_close(c);
			return;
		}
		if (c->handshaking)
			return;
	}
	for (;;) {
		if ((n = h2_io_read(c, buf, sizeof(buf))) < 0) {
			h2_conn_close(c);
			return;
		}
		if (n == 0)
			break;
		/* Counted before nghttp2 sees them: floods end here. */
		if (h2_guard_recv(c->guard, util_mono_us() / 1000, buf,
		    (size_t)n) != H2_GUARD_NONE) {
			(void)h2_conn_abuse(c);
			return;
		}
		if (nghttp2_session_mem_recv(c->ng, buf, (size_t)n) < 0) {
			(void)h2_conn_flush(c);	/* the GOAWAY, if any */
			h2_conn_close(c);
			return;
		}
		if (h2_conn_abuse(c))
			return;
	}
	if (h2_conn_flush(c) == -1)
		h2_conn_close(c);
	else
		(void)h2_conn_abuse(c);
}

/* Free a closed connection once no request is away with a handler. */
static void
h2_conn_free(struct h2_conn *c)
{
	struct h2_server	*srv = c->srv;
	size_t			 i;

	for (i = 0; i < c->nslots; i++)
		if (srv->hooks.conn_free != NULL)
			srv->hooks.conn_free(c->slots[i], srv->hooks.arg);
	free(c->slots);
	for (i = 0; i < c->nder; i++)
		free(c->der[i]);
	free(c->out);
	h2_guard_free(c->guard);
	free(c);
}

static void
h2_conn_close(struct h2_conn *c)
{
	struct h2_server	*srv = c->srv;
	struct h2_req		*r, *next;

	if (c->dead)
		return;
	c->dead = 1;
	for (r = c->reqs; r != NULL; r = next) {
		next = r->next;
		if (r->stream != NULL)
			atomic_store(&r->stream->gone, 1);
		if (r->dispatched && !r->submitted)
			r->closed = 1;
		else
			h2_req_free(r);
	}
	if (c->ng != NULL)
		nghttp2_session_del(c->ng);
	c->ng = NULL;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0) {
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	if (c->addr != NULL && --c->addr->n == 0) {
		hashmap_remove(srv->per_addr, c->addr->addr);
		free(c->addr);
	}
	c->addr = NULL;
	if (c->refs == 0)
		h2_conn_free(c);
}

static int
h2_ratelog_ok(int64_t *last)
{
	int64_t	now = util_mono_us() / 1000;

	if (*last != 0 && now - *last < H2_RATELOG_MS)
		return 0;
	*last = now;
	return 1;
}

static void
h2_accept(struct h2_server *srv, struct h2_listener *l)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct epoll_event	 e;
	struct h2_conn		*c;
	struct h2_addr		*a;
	SSL_CTX			*ctx;
	char			 addr[HTTP_ADDR_MAX];
	int			 fd, one = 1;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		addr[0] = '\0';
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->
			    sin_addr, addr, sizeof(addr));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->
			    sin6_addr, addr, sizeof(addr));
		a = hashmap_get(srv->per_addr, addr);
		if (srv->nconns >= srv->max_connections ||
		    (a != NULL && a->n >= srv->max_per_address)) {
			if (h2_ratelog_ok(&srv->log_full_ms))
				log_warn("msg=\"connection refused: limit "
				    "reached\" proto=HTTP/2 "
				    "max_connections=%u per_address=%u",
				    srv->max_connections,
				    srv->max_per_address);
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		if (a == NULL) {
			if ((a = calloc(1, sizeof(*a))) == NULL) {
				free(c);
				close(fd);
				continue;
			}
			snprintf(a->addr, sizeof(a->addr), "%s", addr);
			if (hashmap_put(srv->per_addr, a->addr, a, NULL) ==
			    -1) {
				free(a);
				free(c);
				close(fd);
				continue;
			}
		}
		a->n++;
		c->addr = a;
		if (srv->hooks.conn_opened != NULL)
			srv->hooks.conn_opened(srv->hooks.arg);
		c->kind = H2_CONN;
		c->srv = srv;
		c->fd = fd;
		snprintf(c->remote, sizeof(c->remote), "%s", addr);
		c->deadline = srv->header_timeout_ms > 0 ?
		    util_mono_us() / 1000 + srv->header_timeout_ms : 0;
		c->idle_since = util_mono_us() / 1000;
		c->guard = h2_guard_new(&srv->guard, c->idle_since);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->next = srv->conns;
		if (srv->conns != NULL)
			srv->conns->prev = c;
		srv->conns = c;
		srv->nconns++;
		memset(&e, 0, sizeof(e));
		e.events = c->events = EPOLLIN;
		e.data.ptr = c;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &e) == -1 ||
		    c->guard == NULL) {
			h2_conn_close(c);
			continue;
		}
		if (l->tls) {
			pthread_mutex_lock(&srv->lock);
			ctx = srv->tls != NULL ? srv->tls->ctx : NULL;
			c->ssl = ctx != NULL ? SSL_new(ctx) : NULL;
			pthread_mutex_unlock(&srv->lock);
			if (c->ssl == NULL ||
			    SSL_set_fd(c->ssl, fd) != 1) {
				h2_conn_close(c);
				continue;
			}
			SSL_set_accept_state(c->ssl);
			c->handshaking = 1;
		} else if (h2_conn_session(c) == -1 ||
		    h2_conn_flush(c) == -1) {
			h2_conn_close(c);
			continue;
		}
	}
}

static void
h2_conn_dirty(struct h2_conn **list, struct h2_conn *c)
{
	if (c->dirty || c->dead)
		return;
	c->dirty = 1;
	c->dirty_next = *list;
	*list = c;
}

/* Replies back from the handlers, then streams with data. */
static void
h2_drain(struct h2_server *srv)
{
	struct h2_req		*r;
	struct h2_stream	*s;
	struct h2_conn		*c, *dirty = NULL;
	uint64_t		 v;
	ssize_t			 n;

	n = read(srv->evfd, &v, sizeof(v));
	(void)n;
	for (;;) {
		pthread_mutex_lock(&srv->lock);
		if ((r = srv->done) != NULL) {
			srv->done = r->dnext;
			if (srv->done == NULL)
				srv->done_tail = NULL;
		}
		pthread_mutex_unlock(&srv->lock);
		if (r == NULL)
			break;
		c = r->conn;
		atomic_fetch_sub(&srv->inflight, 1);
		c->refs--;
		if (r->closed) {
			h2_req_free(r);
			if (c->dead && c->refs == 0)
				h2_conn_free(c);
			continue;
		}
		h2_req_respond(r);
		h2_conn_dirty(&dirty, c);
	}
	for (;;) {
		pthread_mutex_lock(&srv->lock);
		if ((s = srv->woken) != NULL) {
			srv->woken = s->wnext;
			if (srv->woken != NULL)
				srv->woken->wprev = NULL;
			s->queued = 0;
		}
		pthread_mutex_unlock(&srv->lock);
		if (s == NULL)
			break;
		if (!s->deferred || !s->r->submitted || s->r->conn->dead)
			continue;
		s->deferred = 0;
		c = s->r->conn;
		nghttp2_session_resume_data(c->ng, s->r->sid);
		h2_conn_dirty(&dirty, c);
	}
	/* One write per connection for all its replies and streams. */
	while ((c = dirty) != NULL) {
		dirty = c->dirty_next;
		c->dirty = 0;
		if (h2_conn_flush(c) == -1)
			h2_conn_close(c);
	}
}

/*
 * A request body must be in within connection-timeout of its head, as on
 * HTTP/1.1, however slowly it trickles: else its stream is reset.
 */
static void
h2_conn_slow_bodies(struct h2_conn *c, int64_t now_us)
{
	struct h2_server	*srv = c->srv;
	struct h2_req		*r;
	int			 n = 0;

	if (srv->body_timeout_ms <= 0 || c->ng == NULL)
		return;
	for (r = c->reqs; r != NULL; r = r->next)
		if (!r->complete && !r->dispatched && !r->rst_sent &&
		    (!r->replied || r->submitted) &&
		    now_us - r->req.start_us >= srv->body_timeout_ms * 1000) {
			r->replied = 1;	/* nothing more is read */
			r->rst_sent = 1;
			nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE,
			    r->sid, NGHTTP2_CANCEL);
			n++;
		}
	if (n > 0 && h2_conn_flush(c) == -1)
		h2_conn_close(c);
}

/* Deadlines: the first head, request bodies, idleness. */
static void
h2_tick(struct h2_server *srv)
{
	struct h2_conn	*c, *next;
	int64_t		 now = util_mono_us() / 1000;
	unsigned int	 slow = 0;

	if (now < srv->next_tick)
		return;
	srv->next_tick = now + H2_TICK_MS;
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		/* Slow reads and slowloris, before the silent close below. */
		if (c->guard != NULL) {
			(void)h2_guard_output(c->guard, now, c->sent,
			    h2_conn_pending(c));
			c->sent = 0;
			(void)h2_guard_tick(c->guard, now);
			if (h2_conn_abuse(c))
				continue;
		}
		if (c->deadline != 0 && now >= c->deadline) {
			slow++;
			h2_conn_close(c);
			continue;
		}
		if (c->reqs != NULL) {
			h2_conn_slow_bodies(c, now * 1000);
			continue;
		}
		if (c->ng != NULL && c->reqs == NULL && c->refs == 0 &&
		    srv->idle_timeout_ms > 0 &&
		    now - c->idle_since >= srv->idle_timeout_ms) {
			nghttp2_session_terminate_session(c->ng,
			    NGHTTP2_NO_ERROR);
			(void)h2_conn_flush(c);
			h2_conn_close(c);
		}
	}
	if (slow > 0 && h2_ratelog_ok(&srv->log_slow_ms))
		log_warn("msg=\"closed connections without a complete "
		    "request head in time\" proto=HTTP/2 closed=%u "
		    "header_timeout_ms=%lld", slow,
		    (long long)srv->header_timeout_ms);
}

static void *
h2_loop(void *arg)
{
	struct h2_server	*srv = arg;
	struct epoll_event	 ev[H2_EVENTS];
	enum h2_kind		*k;
	int			 i, n;

	while (!atomic_load(&srv->stop)) {
		n = epoll_wait(srv->epfd, ev, H2_EVENTS, H2_TICK_MS);
		for (i = 0; i < n; i++) {
			k = ev[i].data.ptr;
			if (*k == H2_LISTENER)
				h2_accept(srv, ev[i].data.ptr);
			else if (*k == H2_WAKE)
				h2_drain(srv);
			else
				h2_conn_io(ev[i].data.ptr, ev[i].events);
		}
		h2_tick(srv);
	}
	return NULL;
}

static int
h2_listen(struct h2_server *srv, const struct http_listen *hl,
    struct nsreg_error *err)
{
	struct h2_listener	*l = &srv->l[srv->nl];
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct epoll_event	 e;
	int			 one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strchr(hl->addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(hl->port);
		inet_pton(AF_INET6, hl->addr, &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(hl->port);
		inet_pton(AF_INET, hl->addr, &s4->sin_addr);
		sl = sizeof(*s4);
	}
	l->kind = H2_LISTENER;
	l->tls = hl->tls;
	if ((l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(l->fd, 1024) == -1)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) == 0)
		l->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = l;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, l->fd, &e) == -1)
		goto fail;
	srv->nl++;
	return 0;
fail:
	nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
	    "cannot listen on %s%s%s:%u (%s)", strchr(hl->addr, ':') ? "[" :
	    "", hl->addr, strchr(hl->addr, ':') ? "]" : "", hl->port,
	    strerror(errno));
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	return -1;
}

struct h2_server *
h2_start(const struct http_listen *l, size_t n,
    const struct http_options *opt, const struct http_hooks *hooks,
    struct http_ids *ids, struct http_pool *pool, struct h2_tls *tls,
    struct nsreg_error *err)
{
	struct h2_server	*srv;
	struct epoll_event	 e;
	size_t			 i;

	if (n > H2_LISTEN_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "too many h2 listeners");
		return NULL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&srv->lock, NULL);
	srv->epfd = srv->evfd = -1;
	srv->hooks = *hooks;
	srv->ids = ids;
	srv->pool = pool;
	srv->tls = tls;
	srv->max_body = opt->max_body;
	srv->max_streams = opt->h2_max_streams > 0 ? opt->h2_max_streams :
	    128;
	srv->max_header_list = opt->h2_max_header_list > 0 ?
	    opt->h2_max_header_list : 16384;
	srv->header_timeout_ms = opt->header_timeout_ms;
	srv->idle_timeout_ms = opt->h2_idle_timeout_ms;
	srv->body_timeout_ms = opt->idle_timeout_ms;
	/*
	 * The abuse limits (h2_guard.h).  A header list over
	 * h2-max-header-list is answered 400; one four times over it is
	 * an HPACK bomb or a CONTINUATION flood and ends the connection.
	 */
	srv->guard.max_resets = opt->h2_max_resets > 0 ?
	    opt->h2_max_resets : H2_GUARD_MAX_RESETS;
	srv->guard.max_control = opt->h2_max_control_frames > 0 ?
	    opt->h2_max_control_frames : H2_GUARD_MAX_CONTROL;
	srv->guard.max_header_list = 4 * srv->max_header_list;
	srv->guard.header_timeout = opt->header_timeout_ms;
	srv->guard.stall_timeout = opt->idle_timeout_ms;
	srv->max_connections = opt->max_connections > 0 ?
	    opt->max_connections : 1024;
	srv->max_per_address = opt->max_per_address > 0 ?
	    opt->max_per_address : srv->max_connections;
	srv->wake_kind = H2_WAKE;
	if ((srv->per_addr = hashmap_new()) == NULL ||
	    (srv->workers = http_pool_new(opt->threads > 0 ?
	    (size_t)opt->threads : 1)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	if ((srv->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (srv->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot make the HTTP/2 event loop: %s",
		    strerror(errno));
		goto fail;
	}
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = &srv->wake_kind;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->evfd, &e) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot make the HTTP/2 event loop: %s",
		    strerror(errno));
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (l[i].tls && tls == NULL) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "h2 needs a certificate");
			goto fail;
		}
		if (h2_listen(srv, &l[i], err) == -1)
			goto fail;
	}
	if (pthread_create(&srv->loop, NULL, h2_loop, srv) != 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the HTTP/2 event loop");
		goto fail;
	}
	srv->loop_running = 1;
	return srv;
fail:
	h2_stop(srv);
	return NULL;
}

unsigned short
h2_port(struct h2_server *s, size_t i)
{
	return i < s->nl ? s->l[i].port : 0;
}

void
h2_stop(struct h2_server *srv)
{
	struct h2_conn	*c;
	size_t		 i;
	void		*key, *val;
	size_t		 pos = 0;

	if (srv == NULL)
		return;
	/* Stop accepting; let the handlers in flight come back. */
	for (i = 0; i < srv->nl; i++) {
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->l[i].fd, NULL);
		close(srv->l[i].fd);
	}
	srv->nl = 0;
	for (i = 0; i < H2_STOP_WAIT_MS / 10 &&
	    atomic_load(&srv->inflight) > 0; i++)
		usleep(10 * 1000);
	atomic_store(&srv->stop, 1);
	if (srv->loop_running) {
		h2_wake_loop(srv);
		pthread_join(srv->loop, NULL);
	}
	/* The dispatch workers finish what they hold. */
	http_pool_free(srv->workers);
	srv->workers = NULL;
	if (srv->evfd >= 0)
		h2_drain(srv);
	while ((c = srv->conns) != NULL) {
		h2_conn_close(c);
		if (c == srv->conns)	/* requests away: leak, not crash */
			break;
	}
	if (srv->per_addr != NULL) {
		while (hashmap_next(srv->per_addr, &pos, (const char **)&key,
		    &val) == 1)
			free(val);
		hashmap_free(srv->per_addr);
	}
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->evfd >= 0)
		close(srv->evfd);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
