/*
 * http.c - libmicrohttpd front end: TLS, bounded bodies, replies, streams.
 *
 * Thread model: one MHD daemon per listener, each with an internal epoll
 * thread pool of `threads` workers.  Idle keep-alive connections cost a
 * socket and MHD's per-connection memory, not a thread.  Watch streams
 * are MHD callback responses whose connection is suspended while there is
 * nothing to send and resumed by http_stream_wake().
 *
 * Over TLS, GnuTLS's transport is http_tls_io.c's: it reads ahead and
 * sends a reply's head with its body, so a request costs fewer system
 * calls and a reply leaves as one TCP segment, not two.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "http.h"
#include "http_int.h"
#include "http_tls_io.h"
#include "h2.h"
#include "log.h"
#include "util.h"

#define HTTP_LISTEN_MAX		8
#define HTTP_TLS_CHAIN_MAX	8
#define HTTP_HEADERS_MAX	8
#define HTTP_STREAM_BLOCK	(16 * 1024)
#define HTTP_CONN_MEMORY	(32 * 1024)	/* MHD per connection: headers */
#define HTTP_DISCARD_MAX	(64ULL * 1024 * 1024)	/* read and dropped */

/* A server identity for TLS handshakes; old ones live until http_stop. */
struct http_tls_id {
	gnutls_pcert_st		 pcert[HTTP_TLS_CHAIN_MAX];
	unsigned int		 npcert;
	gnutls_privkey_t	 key;
	struct h2_tls		*h2;		/* OpenSSL's, for HTTP/2 */
	struct http_tls_id	*older;
};

struct http_mhd_stream {
	struct http_stream		 base;	/* first */
	struct http_server		*server;
	struct MHD_Connection		*mhd;
	const struct http_stream_ops	*ops;
	void				*ctx;
	pthread_mutex_t			 lock;
	int				 suspended;
	int				 woken;
	int				 ended;
	int				 fd;	/* the client's socket */
	struct http_mhd_stream		*prev, *next;	/* server's list */
};

struct http_conn {
	struct MHD_Connection	*mhd;
	void			*slot;
	int64_t			 deadline;	/* ms monotonic; 0: none */
	/*
	 * io.fd is the socket (set before the connection is listed, read
	 * by the watchdog too); the rest of io, GnuTLS's transport over
	 * TLS, is MHD's thread's only.
	 */
	struct http_tls_io	 io;
	struct http_conn	*prev, *next;	/* server's list */
};

/* At most one line per period for a limit that keeps biting. */
struct http_ratelog {
	atomic_llong	last_ms;
	atomic_uint	suppressed;
};

#define HTTP_RATELOG_MS		10000
#define HTTP_POOL_MAX		16
#define HTTP_H2_TLS(id)		((id) != NULL ? (id)->h2 : NULL)
#define HTTP_WATCHDOG_MS	250

struct http_header {
	char	*name;
	char	*value;
};

/* Per-request state, from the first access-handler call to completion. */
struct http_ctx {
	struct http_request	 req;
	struct http_deferred	 dbase;
	struct http_server	*server;
	struct MHD_Connection	*mhd;
	char			*body;
	size_t			 body_len;
	size_t			 body_cap;
	int			 too_large;
	int			 replied;
	int			 begun;		/* access handler called */
	int			 target_long;	/* over HTTP_TARGET_MAX */
	int			 expect_continue;
	char			*target;	/* as received, bounded */
	char			*path;		/* decoded once */
	struct MHD_Response	*resp;
	struct http_header	 headers[HTTP_HEADERS_MAX];
	size_t			 nheaders;
	struct http_mhd_stream	*stream;
	int			 queued;	/* the reply is with MHD */
	/* A deferred reply (http_defer): dlock guards the two flags. */
	int			 deferred;
	pthread_mutex_t		 dlock;
	int			 def_refs;	/* http_defer calls not done */
	int			 def_done;
	int			 def_suspended;
};

struct http_server {
	struct MHD_Daemon	*daemons[HTTP_LISTEN_MAX];
	size_t			 ndaemons;
	struct http_hooks	 hooks;
	size_t			 max_body;
	pthread_mutex_t		 lock;		/* tls, streams */
	struct http_tls_id	*tls;
	struct http_mhd_stream	*streams;
	int			 stopping;
	char			*trust_pem;
	struct http_ids		 ids;
	/* Listener i: daemons[where[i]], or the HTTP/2 server's. */
	struct {
		int	h2;
		size_t	index;
	}			 where[HTTP_LISTEN_MAX];
	size_t			 nlisten;
	struct h2_server	*h2;
	atomic_int		 deferred;	/* replies still to come */
	/* Connections and their head deadlines (http_watchdog). */
	pthread_mutex_t		 conns_lock;
	pthread_cond_t		 conns_cond;
	struct http_conn	*conns;
	unsigned int		 nconns;
	unsigned int		 max_connections;
	int64_t			 header_timeout_ms;
	int64_t			 idle_timeout_ms;
	pthread_t		 watchdog;
	int			 watchdog_running;
	int			 watchdog_stop;
	struct http_ratelog	 log_full, log_refused, log_slow;
	struct http_pool	*pool;		/* http_offload */
};

static void	http_conn_deadline(struct http_server *, struct http_conn *,
		    int64_t);

static void
http_tls_id_free(struct http_tls_id *id)
{
	unsigned int	i;

	for (i = 0; i < id->npcert; i++)
		gnutls_pcert_deinit(&id->pcert[i]);
	if (id->key != NULL)
		gnutls_privkey_deinit(id->key);
	h2_tls_free(id->h2);
	free(id);
}

/*
 * The key must be the leaf certificate's: a mismatched pair would make
 * every handshake fail.  Compares the public key derived from the
 * private key with the leaf's.
 */
static int
http_tls_id_check_pair(struct http_tls_id *id, struct nsreg_error *err)
{
	gnutls_pubkey_t	pub = NULL;
	gnutls_datum_t	a = { NULL, 0 }, b = { NULL, 0 };
	int		rc = -1;

	if (gnutls_pubkey_init(&pub) < 0 ||
	    gnutls_pubkey_import_privkey(pub, id->key, 0, 0) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) < 0 ||
	    gnutls_pubkey_export2(id->pcert[0].pubkey, GNUTLS_X509_FMT_DER,
	    &b) < 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "tls-key: cannot compare with the certificate's key");
		goto out;
	}
	if (a.size != b.size || memcmp(a.data, b.data, a.size) != 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "tls-key does not match the tls-cert certificate");
		goto out;
	}
	rc = 0;
out:
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

static struct http_tls_id *
http_tls_id_new(const char *cert_pem, const char *key_pem,
    struct nsreg_error *err)
{
	struct http_tls_id	*id;
	gnutls_datum_t		 d;
	int			 rc;

	if ((id = calloc(1, sizeof(*id))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	d.data = (unsigned char *)cert_pem;
	d.size = strlen(cert_pem);
	id->npcert = HTTP_TLS_CHAIN_MAX;
	if ((rc = gnutls_pcert_list_import_x509_raw(id->pcert, &id->npcert,
	    &d, GNUTLS_X509_FMT_PEM, 0)) < 0) {
		id->npcert = 0;
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "tls-cert: %s", gnutls_strerror(rc));
		goto fail;
	}
	if ((rc = gnutls_privkey_init(&id->key)) < 0)
		goto tls_fail;
	d.data = (unsigned char *)key_pem;
	d.size = strlen(key_pem);
	if ((rc = gnutls_privkey_import_x509_raw(id->key, &d,
	    GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		goto tls_fail;
	if (http_tls_id_check_pair(id, err) == -1)
		goto fail;
	if ((id->h2 = h2_tls_new(cert_pem, key_pem, err)) == NULL)
		goto fail;
	return id;
tls_fail:
	nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL, "tls-key: %s",
	    gnutls_strerror(rc));
fail:
	http_tls_id_free(id);
	return NULL;
}

/*
 * MHD stores its connection as the GnuTLS session pointer, so the
 * certificate callback cannot reach the server through it.  One server
 * per process is the daemon's shape, so the callback reads this.
 */
static struct http_server *http_current;

static int
http_cert_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca,
    int nreqs, const gnutls_pk_algorithm_t *algos, int nalgos,
    gnutls_pcert_st **pcert, unsigned int *npcert, gnutls_privkey_t *key)
{
	struct http_server	*h = http_current;
	int			 rc = -1;

	/*
	 * Name no authority in the CertificateRequest: workloads of every
	 * federated trust domain, and of a rotated CA, must send theirs.
	 */
	gnutls_certificate_send_x509_rdn_sequence(session, 1);
	(void)req_ca;
	(void)nreqs;
	(void)algos;
	(void)nalgos;
	if (h == NULL)
		return -1;
	pthread_mutex_lock(&h->lock);
	if (h->tls != NULL) {
		*pcert = h->tls->pcert;
		*npcert = h->tls->npcert;
		*key = h->tls->key;
		rc = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

struct http_tls_id *
http_tls_id_load(const char *cert_pem, const char *key_pem,
    struct nsreg_error *err)
{
	return http_tls_id_new(cert_pem, key_pem, err);
}

void
http_tls_id_discard(struct http_tls_id *id)
{
	if (id != NULL)
		http_tls_id_free(id);
}

void
http_set_tls_id(struct http_server *h, struct http_tls_id *id)
{
	pthread_mutex_lock(&h->lock);
	/* Handshakes in flight may still use the old one: keep it. */
	id->older = h->tls;
	h->tls = id;
	pthread_mutex_unlock(&h->lock);
	if (h->h2 != NULL)
		h2_set_tls(h->h2, id->h2);
}

int
http_set_certificate(struct http_server *h, const char *cert_pem,
    const char *key_pem, struct nsreg_error *err)
{
	struct http_tls_id	*id;

	if ((id = http_tls_id_new(cert_pem, key_pem, err)) == NULL)
		return -1;
	http_set_tls_id(h, id);
	return 0;
}

static void
http_remote_addr(struct http_ctx *c)
{
	const union MHD_ConnectionInfo	*ci;
	const struct sockaddr		*sa;
	char				 a[INET6_ADDRSTRLEN];

	c->req.remote_addr[0] = '\0';
	ci = MHD_get_connection_info(c->mhd,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
	} else
		return;
	snprintf(c->req.remote_addr, sizeof(c->req.remote_addr), "%s", a);
}

static const struct http_transport http_mhd_transport;

static struct http_ctx *
http_ctx_alloc(struct http_server *h, struct MHD_Connection *mhd)
{
	const union MHD_ConnectionInfo	*ci;
	struct http_ctx			*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->server = h;
	c->mhd = mhd;
	c->req.proto = HTTP_PROTO_1_1;
	c->req.transport = &http_mhd_transport;
	c->dbase.transport = &http_mhd_transport;
	c->req.now = util_now_ms();
	c->req.start_us = util_mono_us();
	c->req.method = HTTP_OTHER;
	c->req.method_name = "-";
	c->req.path = "-";
	c->req.target = "-";
	ci = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL)
		c->req.conn = ci->socket_context;
	ci = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	c->req.tls = ci != NULL && ci->tls_session != NULL;
	http_remote_addr(c);
	return c;
}

/* The first access-handler call: the request line and headers are in. */
static void
http_ctx_begin(struct http_ctx *c, const char *method)
{
	c->begun = 1;
	c->req.method_name = method;
	c->req.method = http_method_of(method);
	http_req_id(&c->req, MHD_lookup_connection_value(c->mhd,
	    MHD_HEADER_KIND, "X-Request-Id"), &c->server->ids);
}

static void
http_ctx_free(struct http_ctx *c)
{
	size_t	i;

	if (c->resp != NULL)
		MHD_destroy_response(c->resp);
	for (i = 0; i < c->nheaders; i++) {
		free(c->headers[i].name);
		free(c->headers[i].value);
	}
	json_decref(c->req.json);
	principal_clear(&c->req.principal);
	free(c->body);
	free(c->target);
	free(c->path);
	free(c->req.params_buf);
	if (c->deferred)
		pthread_mutex_destroy(&c->dlock);
	free(c);
}

static struct http_ctx *
http_ctx_of(struct http_request *req)
{
	return (struct http_ctx *)((char *)req - offsetof(struct http_ctx,
	    req));
}

static const char *
http_mhd_query(const struct http_request *req, const char *key)
{
	struct http_ctx	*c = http_ctx_of((struct http_request *)req);

	return MHD_lookup_connection_value(c->mhd, MHD_GET_ARGUMENT_KIND,
	    key);
}

struct http_query_iter {
	const char	 *key;
	const char	**out;
	size_t		  max;
	size_t		  n;
	int		(*fn)(const char *, const char *, void *);
	void		 *arg;
	int		  rc;
};

static enum MHD_Result
http_query_collect(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct http_query_iter	*it = cls;

	(void)kind;
	if (strcmp(key, it->key) != 0)
		return MHD_YES;
	if (it->n < it->max)
		it->out[it->n] = value != NULL ? value : "";
	it->n++;
	return MHD_YES;
}

static size_t
http_mhd_query_values(const struct http_request *req, const char *key,
    const char **out, size_t max)
{
	struct http_ctx		*c = http_ctx_of((struct http_request *)req);
	struct http_query_iter	 it;

	memset(&it, 0, sizeof(it));
	it.key = key;
	it.out = out;
	it.max = max;
	MHD_get_connection_values(c->mhd, MHD_GET_ARGUMENT_KIND,
	    http_query_collect, &it);
	return it.n;
}

static enum MHD_Result
http_query_call(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct http_query_iter	*it = cls;

	(void)kind;
	if (it->fn(key, value != NULL ? value : "", it->arg) == -1) {
		it->rc = -1;
		return MHD_NO;
	}
	return MHD_YES;
}

static int
http_mhd_query_each(const struct http_request *req,
    int (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	struct http_ctx		*c = http_ctx_of((struct http_request *)req);
	struct http_query_iter	 it;

	memset(&it, 0, sizeof(it));
	it.fn = fn;
	it.arg = arg;
	MHD_get_connection_values(c->mhd, MHD_GET_ARGUMENT_KIND,
	    http_query_call, &it);
	return it.rc;
}

static const char *
http_mhd_header(const struct http_request *req, const char *name)
{
	struct http_ctx	*c = http_ctx_of((struct http_request *)req);

	return MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, name);
}

static size_t
http_mhd_peer_chain(const struct http_request *req, const unsigned char **der,
    size_t *len, size_t max)
{
	struct http_ctx			*c;
	const union MHD_ConnectionInfo	*ci;
	const gnutls_datum_t		*peers;
	unsigned int			 n = 0, i;

	c = http_ctx_of((struct http_request *)req);
	ci = MHD_get_connection_info(c->mhd,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return 0;
	peers = gnutls_certificate_get_peers(ci->tls_session, &n);
	if (peers == NULL)
		return 0;
	for (i = 0; i < n && i < max; i++) {
		der[i] = peers[i].data;
		len[i] = peers[i].size;
	}
	return n < max ? n : max;
}

static void **
http_mhd_conn_slot(struct http_request *req)
{
	static void	*none;

	if (req->conn == NULL) {
		none = NULL;
		return &none;
	}
	return &req->conn->slot;
}

static void
http_mhd_add_header(struct http_request *req, const char *name,
    const char *value)
{
	struct http_ctx		*c = http_ctx_of(req);
	struct http_header	*hd;

	if (c->nheaders == HTTP_HEADERS_MAX)
		return;
	hd = &c->headers[c->nheaders];
	if ((hd->name = strdup(name)) == NULL)
		return;
	if ((hd->value = strdup(value)) == NULL) {
		free(hd->name);
		return;
	}
	c->nheaders++;
}

static void
http_mhd_field(const char *name, const char *value, void *arg)
{
	MHD_add_response_header(arg, name, value);
}

static void
http_finish_response(struct http_ctx *c, struct MHD_Response *resp,
    unsigned int status, const char *content_type)
{
	struct http_field	extra[HTTP_HEADERS_MAX];
	size_t			i;

	if (resp == NULL) {
		log_warnx("msg=\"cannot create response\" id=%s", c->req.id);
		return;
	}
	for (i = 0; i < c->nheaders; i++) {
		extra[i].name = c->headers[i].name;
		extra[i].value = c->headers[i].value;
	}
	http_reply_fields(&c->req, content_type, extra, c->nheaders,
	    http_mhd_field, resp);
	if (c->resp != NULL)
		MHD_destroy_response(c->resp);
	c->resp = resp;
	c->req.status = status;
	c->replied = 1;
}

static void
http_mhd_reply(struct http_request *req, unsigned int status,
    const char *content_type, char *text, size_t len)
{
	struct http_ctx		*c = http_ctx_of(req);
	struct MHD_Response	*resp;

	resp = MHD_create_response_from_buffer(len, text != NULL ? text : "",
	    text != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		free(text);
	http_finish_response(c, resp, status, content_type);
	req->bytes_out = len;
}

static ssize_t
http_stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_mhd_stream	*s = cls;
	ssize_t			 n;

	(void)pos;
	if (s->ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = s->ops->read(s->ctx, buf, max);
	if (n < 0) {
		s->ended = 1;
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (n > 0)
		return n;
	pthread_mutex_lock(&s->lock);
	if (s->woken)
		s->woken = 0;	/* data arrived meanwhile: ask again */
	else {
		s->suspended = 1;
		MHD_suspend_connection(s->mhd);
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void
http_stream_free(void *cls)
{
	struct http_mhd_stream	*s = cls;
	struct http_server	*h = s->server;

	/* The watcher unregisters here, so no wake can follow. */
	s->ops->free(s->ctx);
	pthread_mutex_lock(&h->lock);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void
http_mhd_stream_wake(struct http_stream *base)
{
	struct http_mhd_stream	*s = (struct http_mhd_stream *)base;

	pthread_mutex_lock(&s->lock);
	if (s->suspended) {
		s->suspended = 0;
		MHD_resume_connection(s->mhd);
	} else
		s->woken = 1;
	pthread_mutex_unlock(&s->lock);
}

static int
http_mhd_stream_peer_gone(struct http_stream *base)
{
	struct http_mhd_stream	*s = (struct http_mhd_stream *)base;
	struct pollfd		 pfd;

	if (s->fd < 0)
		return 0;
	pfd.fd = s->fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 1)
		return 0;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) !=
	    0;
}

static struct http_stream *
http_mhd_reply_stream(struct http_request *req, const char *content_type,
    const struct http_stream_ops *ops, void *ctx)
{
	struct http_ctx			*c = http_ctx_of(req);
	struct http_server		*h;
	struct http_mhd_stream		*s;
	struct MHD_Response		*resp;
	const union MHD_ConnectionInfo	*ci;

	h = c->server;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ops->free(ctx);
		return NULL;
	}
	s->base.transport = &http_mhd_transport;
	s->server = h;
	s->mhd = c->mhd;
	ci = MHD_get_connection_info(c->mhd,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	s->fd = ci != NULL ? ci->connect_fd : -1;
	s->ops = ops;
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
	    HTTP_STREAM_BLOCK, http_stream_reader, s, http_stream_free);
	if (resp == NULL) {
		ops->free(ctx);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	pthread_mutex_lock(&h->lock);
	s->next = h->streams;
	if (h->streams != NULL)
		h->streams->prev = s;
	h->streams = s;
	if (h->stopping)
		s->ended = 1;
	pthread_mutex_unlock(&h->lock);
	http_finish_response(c, resp, HTTP_OK, content_type);
	c->stream = s;
	return &s->base;
}

static enum MHD_Result
http_queue(struct http_ctx *c)
{
	enum MHD_Result	rc;

	if (c->resp == NULL) {
		struct nsreg_error	err;

		nsreg_error_set(&err, NSREG_INTERNAL, NULL,
		    "the handler gave no reply");
		http_reply_error(&c->req, &err);
		if (c->resp == NULL)
			return MHD_NO;
	}
	/*
	 * MHD sends a body from memory right after its head (in the same
	 * call), and none after a HEAD or with 1xx, 204 and 304.  A head
	 * kept (http_tls_io.h) with no body after it would never leave.
	 */
	if (c->req.tls && c->req.conn != NULL && c->stream == NULL &&
	    c->req.bytes_out > 0 && c->req.method != HTTP_HEAD &&
	    c->req.status >= 200 && c->req.status != 204 &&
	    c->req.status != 304)
		c->req.conn->io.head_then_body = 1;
	rc = MHD_queue_response(c->mhd, c->req.status, c->resp);
	if (rc != MHD_YES && c->req.conn != NULL)
		c->req.conn->io.head_then_body = 0;
	MHD_destroy_response(c->resp);
	c->resp = NULL;
	c->queued = 1;
	return rc;
}

static struct http_deferred *
http_mhd_defer(struct http_request *req)
{
	struct http_ctx	*c = http_ctx_of(req);

	if (!c->deferred) {
		pthread_mutex_init(&c->dlock, NULL);
		c->deferred = 1;
		atomic_fetch_add(&c->server->deferred, 1);
	}
	pthread_mutex_lock(&c->dlock);
	c->def_refs++;
	pthread_mutex_unlock(&c->dlock);
	return &c->dbase;
}

static void
http_mhd_deferred_done(struct http_deferred *d)
{
	struct http_ctx		*c = (struct http_ctx *)((char *)d -
				    offsetof(struct http_ctx, dbase));
	struct http_server	*h = c->server;
	struct MHD_Connection	*mhd = c->mhd;
	int			 resume;

	pthread_mutex_lock(&c->dlock);
	if (--c->def_refs > 0) {
		/* An offloaded handler deferred its reply again. */
		pthread_mutex_unlock(&c->dlock);
		return;
	}
	atomic_fetch_sub(&h->deferred, 1);
	c->def_done = 1;
	resume = c->def_suspended;
	c->def_suspended = 0;
	pthread_mutex_unlock(&c->dlock);
	/*
	 * Not suspended: the access handler finds def_done and replies, and
	 * c may be gone by now.  Suspended: c lives until resumed, and MHD
	 * then calls the access handler again, which queues the reply.
	 */
	if (resume)
		MHD_resume_connection(mhd);
}

static void
http_mhd_offload(struct http_request *req,
    void (*fn)(struct http_request *, void *), void *arg)
{
	http_pool_offload(http_ctx_of(req)->server->pool, req, fn, arg);
}

static const struct http_transport http_mhd_transport = {
	.query = http_mhd_query,
	.query_values = http_mhd_query_values,
	.query_each = http_mhd_query_each,
	.header = http_mhd_header,
	.peer_chain = http_mhd_peer_chain,
	.conn_slot = http_mhd_conn_slot,
	.add_header = http_mhd_add_header,
	.reply = http_mhd_reply,
	.reply_stream = http_mhd_reply_stream,
	.stream_wake = http_mhd_stream_wake,
	.stream_peer_gone = http_mhd_stream_peer_gone,
	.defer = http_mhd_defer,
	.deferred_done = http_mhd_deferred_done,
	.offload = http_mhd_offload,
};

/* After the handler: sleep until a deferred reply is ready. */
static enum MHD_Result
http_wait_deferred(struct http_ctx *c)
{
	pthread_mutex_lock(&c->dlock);
	if (c->def_done) {
		pthread_mutex_unlock(&c->dlock);
		return http_queue(c);
	}
	c->def_suspended = 1;
	MHD_suspend_connection(c->mhd);
	pthread_mutex_unlock(&c->dlock);
	return MHD_YES;
}

/* Answer 413. */
static enum MHD_Result
http_reject(struct http_ctx *c, enum nsreg_code code, size_t max)
{
	struct nsreg_error	err;

	nsreg_error_set(&err, code, NULL,
	    "request body larger than max-body (%zu bytes)", max);
	http_reply_error(&c->req, &err);
	return http_queue(c);
}

/*
 * The request-target as received, kept for the checks and the log.
 * MHD calls this before it splits the query into arguments: when the
 * query is over the bounds the request is refused anyway, so the query
 * is cut here and MHD never spends memory on it (440 arguments used to
 * exhaust its pool and leave the connection hanging until the timeout).
 */
static void *
http_uri_log(void *cls, const char *uri, struct MHD_Connection *mhd)
{
	struct http_server	*h = cls;
	struct http_ctx		*c;
	const char		*q;
	size_t			 len, n = 0;

	if ((c = http_ctx_alloc(h, mhd)) == NULL)
		return NULL;
	if (uri == NULL)
		uri = "";
	len = strlen(uri);
	if (len > HTTP_TARGET_MAX) {
		c->target_long = 1;
		len = HTTP_TARGET_MAX;
	}
	if ((c->target = strndup(uri, len)) != NULL)
		c->req.target = c->target;
	if ((q = strchr(uri, '?')) != NULL) {
		for (n = 1; *q != '\0'; q++)
			if (*q == '&')
				n++;
		if (c->target_long || n > HTTP_QUERY_MAX) {
			/* The buffer is MHD's own and writable: see above. */
			((char *)(uintptr_t)strchr(uri, '?'))[1] = '\0';
		}
	}
	return c;
}

struct http_fields {
	size_t		 n;
	size_t		 bytes;
	size_t		 host, clen, te, auth;
	const char	*host_v, *te_v, *ce_v, *expect_v;
};

static enum MHD_Result
http_field_count(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct http_fields	*f = cls;

	(void)kind;
	if (value == NULL)
		value = "";
	f->n++;
	f->bytes += strlen(key) + strlen(value);
	if (strcasecmp(key, "Host") == 0) {
		f->host++;
		f->host_v = value;
	} else if (strcasecmp(key, "Content-Length") == 0)
		f->clen++;
	else if (strcasecmp(key, "Transfer-Encoding") == 0) {
		f->te++;
		f->te_v = value;
	} else if (strcasecmp(key, "Authorization") == 0)
		f->auth++;
	else if (strcasecmp(key, "Content-Encoding") == 0) {
		if (f->ce_v == NULL || strcasecmp(value, "identity") != 0)
			f->ce_v = value;
	} else if (strcasecmp(key, "Expect") == 0)
		f->expect_v = value;
	return MHD_YES;
}

/*
 * The header fields (RFC 9112 section 6, RFC 9110): one framing, one
 * Host, one credential, a body we can read.  *framing is set when the
 * connection cannot be trusted for another request.
 */
static int
http_check_fields(struct http_ctx *c, const char *version, int *framing,
    struct nsreg_error *err)
{
	struct http_fields	f;

	memset(&f, 0, sizeof(f));
	*framing = 0;
	MHD_get_connection_values(c->mhd, MHD_HEADER_KIND, http_field_count,
	    &f);
	if (f.clen > 1) {
		*framing = 1;
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "more than one Content-Length header");
	}
	if (f.te > 0 && f.clen > 0) {
		*framing = 1;
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "Transfer-Encoding and Content-Length together");
	}
	if (f.te > 1 || (f.te == 1 && strcasecmp(f.te_v, "chunked") != 0)) {
		*framing = 1;
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "Transfer-Encoding: only a single \"chunked\" is "
		    "supported");
	}
	if (f.n > HTTP_FIELDS_MAX)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "more than %d header fields", HTTP_FIELDS_MAX);
	if (f.bytes > HTTP_FIELD_BYTES_MAX)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "header fields larger than %d bytes",
		    HTTP_FIELD_BYTES_MAX);
	if (f.host > 1)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "Host",
		    "more than one Host header");
	if (f.host == 0 && strcmp(version, "HTTP/1.0") != 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "Host",
		    "an HTTP/1.1 request needs a Host header");
	if (f.host == 1 && !http_host_ok(f.host_v))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "Host",
		    "Host: not a host name or address");
	if (f.auth > 1)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "Authorization", "more than one Authorization header");
	if (f.expect_v != NULL) {
		if (strcasecmp(f.expect_v, "100-continue") != 0)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    "Expect", "Expect: only 100-continue is "
			    "supported");
		c->expect_continue = 1;
	}
	if (f.ce_v != NULL && strcasecmp(f.ce_v, "identity") != 0)
		return nsreg_error_set(err, NSREG_UNSUPPORTED_MEDIA_TYPE,
		    "Content-Encoding", "Content-Encoding %.64s is not "
		    "supported: send the body uncompressed", f.ce_v);
	return 0;
}

/* Answer err now and close the connection. */
static enum MHD_Result
http_refuse(struct http_ctx *c, const struct nsreg_error *err)
{
	http_add_header(&c->req, "Connection", "close");
	http_reply_error(&c->req, err);
	return http_queue(c);
}

/*
 * The first call: check the request line and fields, then (for a
 * request with a body) let the server refuse it before the body is read.
 */
static enum MHD_Result
http_begin(struct http_server *h, struct http_ctx *c, const char *method,
    const char *version)
{
	struct nsreg_error	 err;
	const char		*cl, *te;
	long long		 clen = 0;
	int			 framing;

	nsreg_error_clear(&err);
	http_ctx_begin(c, method);
	http_conn_deadline(h, c->req.conn, 0);
	if (http_check_fields(c, version, &framing, &err) == -1 ||
	    http_target_check(&c->req, c->target, c->target_long,
	    &c->path, &err) == -1)
		return http_refuse(c, &err);
	c->req.params_len = strlen(c->req.path) + HTTP_PARAMS_MAX + 1;
	if ((c->req.params_buf = malloc(c->req.params_len)) == NULL)
		return MHD_NO;
	cl = MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (cl != NULL && util_number_parse(cl, 0, INT64_MAX, &clen) == 0 &&
	    (unsigned long long)clen > h->max_body) {
		c->too_large = 1;
		/*
		 * A body up to HTTP_DISCARD_MAX is read and dropped so that
		 * the client sees the 413 (closing with unread data makes
		 * the kernel reset the connection).  Past that, or when the
		 * client waits for 100 Continue, answer now.
		 */
		if ((unsigned long long)clen > HTTP_DISCARD_MAX ||
		    c->expect_continue)
			return http_reject(c, NSREG_PAYLOAD_TOO_LARGE,
			    h->max_body);
		return MHD_YES;
	}
	/*
	 * A body must be in within the idle timeout of its head, however
	 * slowly it trickles (MHD's timeout counts idleness only).
	 */
	if (clen > 0 || te != NULL)
		http_conn_deadline(h, c->req.conn, h->idle_timeout_ms);
	if ((clen > 0 || te != NULL) && h->hooks.admit != NULL &&
	    h->hooks.admit(&c->req, h->hooks.arg) == -1) {
		/* Refused: answer now if the client waits, else after the
		 * body has been read and dropped. */
		if (c->expect_continue)
			return http_queue(c);
	}
	return MHD_YES;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *mhd, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server	*h = cls;
	struct http_ctx		*c = *con_cls;

	(void)url;
	if (c == NULL) {
		/* No request-target reached the log callback. */
		if ((c = http_uri_log(h, NULL, mhd)) == NULL)
			return MHD_NO;
		*con_cls = c;
	}
	if (!c->begun)
		return http_begin(h, c, method, version);
	if (*upload_data_size > 0) {
		size_t	n = *upload_data_size;

		*upload_data_size = 0;
		if (c->too_large || c->replied)
			return MHD_YES;
		if (c->body_len + n > h->max_body) {
			/* Chunked and too large: drop the rest, answer 413. */
			c->too_large = 1;
			free(c->body);
			c->body = NULL;
			c->body_len = c->body_cap = 0;
			return MHD_YES;
		}
		if (c->body_len + n + 1 > c->body_cap) {
			size_t	 cap = c->body_cap ? c->body_cap : 1024;
			char	*nb;

			while (cap < c->body_len + n + 1)
				cap *= 2;
			if ((nb = realloc(c->body, cap)) == NULL)
				return MHD_NO;
			c->body = nb;
			c->body_cap = cap;
		}
		memcpy(c->body + c->body_len, upload_data, n);
		c->body_len += n;
		c->body[c->body_len] = '\0';
		return MHD_YES;
	}
	if (c->too_large && !c->replied)
		return http_reject(c, NSREG_PAYLOAD_TOO_LARGE, h->max_body);
	if (c->queued)
		return MHD_YES;
	if (c->replied && !c->deferred)	/* refused before the body */
		return http_queue(c);
	if (c->deferred)	/* resumed: the reply is ready */
		return http_queue(c);
	c->req.body = c->body != NULL ? c->body : "";
	c->req.body_len = c->body_len;
	http_conn_deadline(h, c->req.conn, 0);
	h->hooks.dispatch(&c->req, h->hooks.arg);
	if (c->deferred)
		return http_wait_deferred(c);
	return http_queue(c);
}

static void
http_completed(void *cls, struct MHD_Connection *mhd, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server	*h = cls;
	struct http_ctx		*c = *con_cls;

	(void)mhd;
	if (c == NULL)
		return;
	if (!c->begun) {
		char	q[300];

		/*
		 * MHD answered by itself (a head over its buffer, a bad
		 * version or framing: nsreg-api(7)) or the client left
		 * before its head was complete.
		 */
		log_info("msg=\"request ended before its head was handled\" "
		    "id=%s remote=%s target=%s mhd_code=%d",
		    c->req.id[0] ? c->req.id : "-",
		    c->req.remote_addr[0] ? c->req.remote_addr : "-",
		    log_quote(q, sizeof(q), c->req.target), (int)toe);
		http_ctx_free(c);
		*con_cls = NULL;
		return;
	}
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && c->req.status == 0)
		c->req.status = 499;	/* client went away before a reply */
	if (h->hooks.completed != NULL)
		h->hooks.completed(&c->req, h->hooks.arg);
	/* Kept alive: the next head must come within the idle timeout. */
	http_conn_deadline(h, c->req.conn, h->idle_timeout_ms);
	http_ctx_free(c);
	*con_cls = NULL;
}

/*
 * 1 when a limit's log line may go out now; *suppressed gets how many
 * were held back since the last one.
 */
static int
http_ratelog_ok(struct http_ratelog *r, unsigned int *suppressed)
{
	long long	now = (long long)(util_mono_us() / 1000), last;

	last = atomic_load(&r->last_ms);
	if ((last != 0 && now - last < HTTP_RATELOG_MS) ||
	    !atomic_compare_exchange_strong(&r->last_ms, &last, now)) {
		atomic_fetch_add(&r->suppressed, 1);
		return 0;
	}
	*suppressed = atomic_exchange(&r->suppressed, 0);
	return 1;
}

/* A connection's head deadline: now + ms, or none (0). */
static void
http_conn_deadline(struct http_server *h, struct http_conn *conn,
    int64_t ms)
{
	if (conn == NULL)
		return;
	pthread_mutex_lock(&h->conns_lock);
	conn->deadline = ms > 0 ? util_mono_us() / 1000 + ms : 0;
	pthread_mutex_unlock(&h->conns_lock);
}

/*
 * Close connections that did not send a complete request head in time:
 * MHD's timeout counts idleness, so a client dribbling a byte now and
 * then (or stalling in the TLS handshake) would keep its descriptor for
 * ever.  shutdown() makes MHD see the end and close the connection
 * itself; the descriptor stays MHD's until then.
 */
static void *
http_watchdog(void *arg)
{
	struct http_server	*h = arg;
	struct http_conn	*conn;
	struct timespec		 ts;
	int64_t			 now;
	unsigned int		 n, held;

	pthread_mutex_lock(&h->conns_lock);
	while (!h->watchdog_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += HTTP_WATCHDOG_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->conns_cond, &h->conns_lock, &ts);
		now = util_mono_us() / 1000;
		n = 0;
		for (conn = h->conns; conn != NULL; conn = conn->next)
			if (conn->deadline != 0 && now >= conn->deadline &&
			    conn->io.fd >= 0) {
				conn->deadline = 0;
				shutdown(conn->io.fd, SHUT_RDWR);
				n++;
			}
		if (n > 0 && http_ratelog_ok(&h->log_slow, &held))
			log_warn("msg=\"closed connections without a complete "
			    "request head in time\" closed=%u "
			    "header_timeout_ms=%lld suppressed=%u", n,
			    (long long)h->header_timeout_ms, held);
	}
	pthread_mutex_unlock(&h->conns_lock);
	return NULL;
}

static void
http_connection(void *cls, struct MHD_Connection *mhd, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server		*h = cls;
	struct http_conn		*conn;
	const union MHD_ConnectionInfo	*ci;
	unsigned int			 n, held;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((conn = calloc(1, sizeof(*conn))) == NULL)
			return;
		conn->mhd = mhd;
		ci = MHD_get_connection_info(mhd,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		conn->io.fd = ci != NULL ? (int)ci->connect_fd : -1;
		*socket_ctx = conn;
		/*
		 * MHD uses the session no more once it notifies the close
		 * (it only deinits it, before or after), so conn outlives
		 * every push and pull.
		 */
		ci = MHD_get_connection_info(mhd,
		    MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci != NULL && ci->tls_session != NULL && conn->io.fd >= 0)
			http_tls_io_attach(&conn->io, ci->tls_session);
		if (h->hooks.conn_opened != NULL)
			h->hooks.conn_opened(h->hooks.arg);
		pthread_mutex_lock(&h->conns_lock);
		if (h->header_timeout_ms > 0)
			conn->deadline = util_mono_us() / 1000 +
			    h->header_timeout_ms;
		conn->next = h->conns;
		if (h->conns != NULL)
			h->conns->prev = conn;
		h->conns = conn;
		n = ++h->nconns;
		pthread_mutex_unlock(&h->conns_lock);
		if (n >= h->max_connections &&
		    http_ratelog_ok(&h->log_full, &held))
			log_warn("msg=\"all connections in use: new ones wait "
			    "in the listen queue\" connections=%u "
			    "max_connections=%u suppressed=%u", n,
			    h->max_connections, held);
		return;
	}
	if ((conn = *socket_ctx) == NULL)
		return;
	pthread_mutex_lock(&h->conns_lock);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		h->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	h->nconns--;
	pthread_mutex_unlock(&h->conns_lock);
	if (conn->slot != NULL && h->hooks.conn_free != NULL)
		h->hooks.conn_free(conn->slot, h->hooks.arg);
	free(conn);
	*socket_ctx = NULL;
}

static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server	*h = cls;
	char			 buf[512], q[600];
	size_t			 n;
	unsigned int		 held;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	/* MHD refused a connection: per address or in all (0.9.75 text). */
	if (strstr(buf, "reached connection limit") != NULL) {
		if (http_ratelog_ok(&h->log_refused, &held))
			log_warn("msg=\"connection refused: limit reached\" "
			    "max_connections=%u suppressed=%u",
			    h->max_connections, held);
		return;
	}
	log_debug("msg=mhd detail=%s", log_quote(q, sizeof(q), buf));
}

struct http_server *
http_start(const struct http_listen *listen, size_t nlisten,
    const struct http_options *opt, const struct http_hooks *hooks,
    struct nsreg_error *err)
{
	struct http_server	*h;
	struct sockaddr_storage	 ss;
	struct http_listen	 h2l[HTTP_LISTEN_MAX];
	size_t			 i, nh2 = 0;
	unsigned int		 flags;
	struct MHD_OptionItem	 plain_opts[] = {
		{ MHD_OPTION_END, 0, NULL }
	};
	struct MHD_OptionItem	 tls_opts[] = {
		{ MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
		    (void *)(uintptr_t)http_cert_retrieve },
		{ MHD_OPTION_HTTPS_MEM_TRUST, 0, NULL },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0,
		    (void *)"NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-DTLS-ALL" },
		{ MHD_OPTION_END, 0, NULL }
	};

	if (nlisten > HTTP_LISTEN_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "too many listeners");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->conns_lock, NULL);
	pthread_cond_init(&h->conns_cond, NULL);
	h->hooks = *hooks;
	h->max_connections = opt->max_connections;
	h->header_timeout_ms = opt->header_timeout_ms;
	h->idle_timeout_ms = opt->idle_timeout_ms;
	if (pthread_create(&h->watchdog, NULL, http_watchdog, h) != 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the connection watchdog");
		goto fail;
	}
	h->watchdog_running = 1;
	if ((h->pool = http_pool_new(opt->threads < HTTP_POOL_MAX ?
	    (size_t)opt->threads : HTTP_POOL_MAX)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the work pool");
		goto fail;
	}
	if (http_ids_init(&h->ids) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "no randomness");
		goto fail;
	}
	h->max_body = opt->max_body;
	if (opt->tls_cert_pem != NULL && (h->tls = http_tls_id_new(
	    opt->tls_cert_pem, opt->tls_key_pem, err)) == NULL)
		goto fail;
	if (opt->trust_pem != NULL &&
	    (h->trust_pem = strdup(opt->trust_pem)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	http_current = h;
	tls_opts[1].ptr_value = h->trust_pem;
	h->nlisten = nlisten;
	for (i = 0; i < nlisten; i++) {
		if (listen[i].proto == HTTP_PROTO_2) {
			if (listen[i].tls && h->tls == NULL) {
				nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
				    NULL, "h2 needs a certificate");
				goto fail;
			}
			h->where[i].h2 = 1;
			h->where[i].index = nh2;
			h2l[nh2++] = listen[i];
			continue;
		}
		h->where[i].index = h->ndaemons;
		memset(&ss, 0, sizeof(ss));
		if (strchr(listen[i].addr, ':') != NULL) {
			struct sockaddr_in6 *s6 = (void *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(listen[i].port);
			inet_pton(AF_INET6, listen[i].addr, &s6->sin6_addr);
		} else {
			struct sockaddr_in *s4 = (void *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons(listen[i].port);
			inet_pton(AF_INET, listen[i].addr, &s4->sin_addr);
		}
		flags = MHD_USE_EPOLL_INTERNAL_THREAD |
		    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
		if (ss.ss_family == AF_INET6)
			flags |= MHD_USE_IPv6;
		if (listen[i].tls) {
			if (h->tls == NULL) {
				nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
				    NULL, "https needs a certificate");
				goto fail;
			}
			flags |= MHD_USE_TLS;
		}
		/* The TLS options end the array for plain listeners. */
		h->daemons[i] = MHD_start_daemon(flags, 0, NULL, NULL,
		    http_access, h,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)opt->threads,
		    MHD_OPTION_CONNECTION_LIMIT, opt->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, opt->max_per_address,
		    MHD_OPTION_CONNECTION_TIMEOUT, opt->timeout_s,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
		    MHD_OPTION_NOTIFY_CONNECTION, http_connection, h,
		    MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, h,
		    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h,
		    MHD_OPTION_ARRAY, listen[i].tls ? tls_opts : plain_opts,
		    MHD_OPTION_END);
		if (h->daemons[i] == NULL) {
			nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
			    "cannot listen on %s%s%s:%u (%s)",
			    ss.ss_family == AF_INET6 ? "[" : "",
			    listen[i].addr,
			    ss.ss_family == AF_INET6 ? "]" : "",
			    listen[i].port, strerror(errno));
			goto fail;
		}
		h->ndaemons++;
	}
	if (nh2 > 0 && (h->h2 = h2_start(h2l, nh2, opt, &h->hooks, &h->ids,
	    h->pool, HTTP_H2_TLS(h->tls), err)) == NULL)
		goto fail;
	return h;
fail:
	http_stop(h);
	return NULL;
}

unsigned short
http_port(struct http_server *h, size_t i)
{
	const union MHD_DaemonInfo	*di;

	if (i >= h->nlisten)
		return 0;
	if (h->where[i].h2)
		return h2_port(h->h2, h->where[i].index);
	if (h->where[i].index >= h->ndaemons)
		return 0;
	di = MHD_get_daemon_info(h->daemons[h->where[i].index],
	    MHD_DAEMON_INFO_BIND_PORT);
	return di != NULL ? di->port : 0;
}

void
http_stop(struct http_server *h)
{
	struct http_mhd_stream	*s;
	struct http_tls_id	*id, *older;
	size_t			 i;

	if (h == NULL)
		return;
	for (i = 0; i < h->ndaemons; i++) {
		MHD_socket	fd = MHD_quiesce_daemon(h->daemons[i]);

		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	/*
	 * Deferred replies (writes waiting for their commit) come back on
	 * their own: wait for them (bounded) before stopping MHD.
	 */
	for (i = 0; i < 1000 && atomic_load(&h->deferred) > 0; i++)
		usleep(10 * 1000);
	/* End every stream and resume it so MHD can close it. */
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	for (s = h->streams; s != NULL; s = s->next) {
		s->ended = 1;
		pthread_mutex_lock(&s->lock);
		if (s->suspended) {
			s->suspended = 0;
			MHD_resume_connection(s->mhd);
		}
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&h->lock);
	for (i = 0; i < h->ndaemons; i++)
		MHD_stop_daemon(h->daemons[i]);
	/* Its requests may still be on the pool: stop it first. */
	h2_stop(h->h2);
	http_pool_free(h->pool);
	if (h->watchdog_running) {
		pthread_mutex_lock(&h->conns_lock);
		h->watchdog_stop = 1;
		pthread_cond_signal(&h->conns_cond);
		pthread_mutex_unlock(&h->conns_lock);
		pthread_join(h->watchdog, NULL);
	}
	for (id = h->tls; id != NULL; id = older) {
		older = id->older;
		http_tls_id_free(id);
	}
	if (http_current == h)
		http_current = NULL;
	free(h->trust_pem);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->conns_lock);
	pthread_cond_destroy(&h->conns_cond);
	free(h);
}
