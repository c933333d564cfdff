/*
 * http.c - libmicrohttpd front end: TLS, bounded bodies, replies, streams.
 *
 * Thread model: one MHD daemon per listener, each with an internal epoll
 * thread pool of `threads` workers.  Idle keep-alive connections cost a
 * socket and MHD's per-connection memory, not a thread.  Watch streams
 * are MHD callback responses whose connection is suspended while there is
 * nothing to send and resumed by http_stream_wake().
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <openssl/rand.h>

#include "http.h"
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
	struct http_tls_id	*older;
};

struct http_stream {
	struct http_server		*server;
	struct MHD_Connection		*mhd;
	const struct http_stream_ops	*ops;
	void				*ctx;
	pthread_mutex_t			 lock;
	int				 suspended;
	int				 woken;
	int				 ended;
	struct http_stream		*prev, *next;	/* server's list */
};

struct http_conn {
	struct MHD_Connection	*mhd;
	void			*slot;
};

struct http_header {
	char	*name;
	char	*value;
};

/* Per-request state, from the first access-handler call to completion. */
struct http_ctx {
	struct http_request	 req;
	struct http_server	*server;
	struct MHD_Connection	*mhd;
	char			*body;
	size_t			 body_len;
	size_t			 body_cap;
	int			 too_large;
	int			 replied;
	struct MHD_Response	*resp;
	struct http_header	 headers[HTTP_HEADERS_MAX];
	size_t			 nheaders;
	struct http_stream	*stream;
	int			 queued;	/* the reply is with MHD */
	/* A deferred reply (http_defer): dlock guards the two flags. */
	int			 deferred;
	pthread_mutex_t		 dlock;
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
	struct http_stream	*streams;
	int			 stopping;
	char			*trust_pem;
	char			 id_prefix[17];	/* request ids */
	atomic_ullong		 id_next;
	atomic_int		 deferred;	/* replies still to come */
};

static const struct {
	const char		*name;
	enum http_method	 method;
} http_methods[] = {
	{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "PUT", HTTP_PUT },
	{ "POST", HTTP_POST }, { "DELETE", HTTP_DELETE },
	{ "PATCH", HTTP_PATCH }, { "OPTIONS", HTTP_OPTIONS },
};

static void
http_tls_id_free(struct http_tls_id *id)
{
	unsigned int	i;

	for (i = 0; i < id->npcert; i++)
		gnutls_pcert_deinit(&id->pcert[i]);
	if (id->key != NULL)
		gnutls_privkey_deinit(id->key);
	free(id);
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

int
http_set_certificate(struct http_server *h, const char *cert_pem,
    const char *key_pem, struct nsreg_error *err)
{
	struct http_tls_id	*id;

	if ((id = http_tls_id_new(cert_pem, key_pem, err)) == NULL)
		return -1;
	pthread_mutex_lock(&h->lock);
	/* Handshakes in flight may still use the old one: keep it. */
	id->older = h->tls;
	h->tls = id;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static void
http_request_id(struct http_ctx *c)
{
	const char		*given;
	size_t			 i, n;

	given = MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND,
	    "X-Request-Id");
	if (given != NULL && (n = strlen(given)) > 0 &&
	    n < sizeof(c->req.id)) {
		for (i = 0; i < n; i++)
			if (given[i] <= ' ' || given[i] > '~' ||
			    given[i] == '"' || given[i] == '\\')
				break;
		if (i == n) {
			memcpy(c->req.id, given, n + 1);
			return;
		}
	}
	/*
	 * A random prefix drawn once per server and a counter: unique,
	 * unguessable enough for correlation, and no DRBG per request.
	 */
	snprintf(c->req.id, sizeof(c->req.id), "%s%016llx",
	    c->server->id_prefix, (unsigned long long)atomic_fetch_add(
	    &c->server->id_next, 1));
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

static struct http_ctx *
http_ctx_new(struct http_server *h, struct MHD_Connection *mhd,
    const char *url, const char *method)
{
	const union MHD_ConnectionInfo	*ci;
	struct http_ctx			*c;
	size_t				 i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->server = h;
	c->mhd = mhd;
	c->req.now = util_now_ms();
	c->req.start_us = util_mono_us();
	c->req.method = HTTP_OTHER;
	c->req.method_name = method;
	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
		if (strcmp(method, http_methods[i].name) == 0)
			c->req.method = http_methods[i].method;
	c->req.path = url;
	ci = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL)
		c->req.conn = ci->socket_context;
	ci = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	c->req.tls = ci != NULL && ci->tls_session != NULL;
	http_request_id(c);
	http_remote_addr(c);
	return c;
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

const char *
http_query(const struct http_request *req, const char *key)
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

size_t
http_query_values(const struct http_request *req, const char *key,
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

int
http_query_each(const struct http_request *req,
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

const char *
http_header(const struct http_request *req, const char *name)
{
	struct http_ctx	*c = http_ctx_of((struct http_request *)req);

	return MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, name);
}

size_t
http_peer_chain(const struct http_request *req, const unsigned char **der,
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

void **
http_conn_slot(struct http_request *req)
{
	static void	*none;

	if (req->conn == NULL) {
		none = NULL;
		return &none;
	}
	return &req->conn->slot;
}

void
http_add_header(struct http_request *req, const char *name,
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
http_finish_response(struct http_ctx *c, struct MHD_Response *resp,
    unsigned int status, const char *content_type)
{
	size_t	i;

	if (resp == NULL) {
		log_warnx("msg=\"cannot create response\" id=%s", c->req.id);
		return;
	}
	if (content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    content_type);
	MHD_add_response_header(resp, "X-Request-Id", c->req.id);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	for (i = 0; i < c->nheaders; i++)
		MHD_add_response_header(resp, c->headers[i].name,
		    c->headers[i].value);
	if (c->resp != NULL)
		MHD_destroy_response(c->resp);
	c->resp = resp;
	c->req.status = status;
	c->replied = 1;
}

char *
http_json_dump(const json_t *v, size_t *len)
{
	char	*s;

	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL)
		s = strdup("{}");
	if (s != NULL && len != NULL)
		*len = strlen(s);
	return s;
}

void
http_reply_json(struct http_request *req, unsigned int status, json_t *body)
{
	struct http_ctx		*c = http_ctx_of(req);
	struct MHD_Response	*resp;
	char			*text = NULL;
	size_t			 len = 0;

	if (body != NULL) {
		text = http_json_dump(body, &len);
		json_decref(body);
		if (text == NULL)
			len = 0;
		else
			text[len++] = '\n';
	}
	resp = MHD_create_response_from_buffer(len, text != NULL ? text : "",
	    text != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		free(text);
	http_finish_response(c, resp, status,
	    body != NULL ? "application/json" : NULL);
	req->bytes_out = len;
}

void
http_reply_text(struct http_request *req, unsigned int status,
    const char *content_type, const char *text, size_t len)
{
	struct http_ctx		*c = http_ctx_of(req);
	struct MHD_Response	*resp;

	resp = MHD_create_response_from_buffer(len, (void *)text,
	    MHD_RESPMEM_MUST_COPY);
	http_finish_response(c, resp, status, content_type);
	req->bytes_out = len;
}

void
http_reply_error(struct http_request *req, const struct nsreg_error *err)
{
	req->error_code = nsreg_code_name(err->code);
	http_reply_json(req, nsreg_code_status(err->code),
	    nsreg_error_json(err));
}

static ssize_t
http_stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream	*s = cls;
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
	struct http_stream	*s = cls;
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

void
http_stream_wake(struct http_stream *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->suspended) {
		s->suspended = 0;
		MHD_resume_connection(s->mhd);
	} else
		s->woken = 1;
	pthread_mutex_unlock(&s->lock);
}

struct http_stream *
http_reply_stream(struct http_request *req, const char *content_type,
    const struct http_stream_ops *ops, void *ctx)
{
	struct http_ctx		*c = http_ctx_of(req);
	struct http_server	*h;
	struct http_stream	*s;
	struct MHD_Response	*resp;

	h = c->server;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ops->free(ctx);
		return NULL;
	}
	s->server = h;
	s->mhd = c->mhd;
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
	return s;
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
	rc = MHD_queue_response(c->mhd, c->req.status, c->resp);
	MHD_destroy_response(c->resp);
	c->resp = NULL;
	c->queued = 1;
	return rc;
}

struct http_deferred *
http_defer(struct http_request *req)
{
	struct http_ctx	*c = http_ctx_of(req);

	if (!c->deferred) {
		pthread_mutex_init(&c->dlock, NULL);
		c->deferred = 1;
		atomic_fetch_add(&c->server->deferred, 1);
	}
	return (struct http_deferred *)c;
}

void
http_deferred_done(struct http_deferred *d)
{
	struct http_ctx		*c = (struct http_ctx *)d;
	struct http_server	*h = c->server;
	struct MHD_Connection	*mhd = c->mhd;
	int			 resume;

	atomic_fetch_sub(&h->deferred, 1);
	pthread_mutex_lock(&c->dlock);
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

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *mhd, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server	*h = cls;
	struct http_ctx		*c = *con_cls;
	const char		*cl;
	long long		 clen;

	(void)version;
	if (c == NULL) {
		if ((c = http_ctx_new(h, mhd, url, method)) == NULL)
			return MHD_NO;
		*con_cls = c;
		cl = MHD_lookup_connection_value(mhd, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && util_number_parse(cl, 0, INT64_MAX,
		    &clen) == 0 && (unsigned long long)clen > h->max_body) {
			c->too_large = 1;
			/*
			 * A body up to HTTP_DISCARD_MAX is read and dropped so
			 * that the client sees the 413 (closing with unread
			 * data makes the kernel reset the connection).  Past
			 * that, answer now and let MHD close.
			 */
			if ((unsigned long long)clen > HTTP_DISCARD_MAX)
				return http_reject(c, NSREG_PAYLOAD_TOO_LARGE, h->max_body);
		}
		return MHD_YES;
	}
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
	if (c->deferred)	/* resumed: the reply is ready */
		return http_queue(c);
	c->req.body = c->body != NULL ? c->body : "";
	c->req.body_len = c->body_len;
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
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && c->req.status == 0)
		c->req.status = 499;	/* client went away before a reply */
	if (h->hooks.completed != NULL)
		h->hooks.completed(&c->req, h->hooks.arg);
	http_ctx_free(c);
	*con_cls = NULL;
}

static void
http_connection(void *cls, struct MHD_Connection *mhd, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server	*h = cls;
	struct http_conn	*conn;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((conn = calloc(1, sizeof(*conn))) == NULL)
			return;
		conn->mhd = mhd;
		*socket_ctx = conn;
		return;
	}
	if ((conn = *socket_ctx) == NULL)
		return;
	if (conn->slot != NULL && h->hooks.conn_free != NULL)
		h->hooks.conn_free(conn->slot, h->hooks.arg);
	free(conn);
	*socket_ctx = NULL;
}

static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	buf[512], q[600];
	size_t	n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_debug("msg=mhd detail=%s", log_quote(q, sizeof(q), buf));
}

struct http_server *
http_start(const struct http_listen *listen, size_t nlisten,
    const struct http_options *opt, const struct http_hooks *hooks,
    struct nsreg_error *err)
{
	struct http_server	*h;
	struct sockaddr_storage	 ss;
	size_t			 i;
	unsigned int		 flags;
	unsigned char		 rnd[8];
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
	h->hooks = *hooks;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "no randomness");
		goto fail;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(h->id_prefix + 2 * i, 3, "%02x", rnd[i]);
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
	for (i = 0; i < nlisten; i++) {
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
		    MHD_OPTION_CONNECTION_TIMEOUT, opt->timeout_s,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
		    MHD_OPTION_NOTIFY_CONNECTION, http_connection, h,
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
	return h;
fail:
	http_stop(h);
	return NULL;
}

unsigned short
http_port(struct http_server *h, size_t i)
{
	const union MHD_DaemonInfo	*di;

	if (i >= h->ndaemons)
		return 0;
	di = MHD_get_daemon_info(h->daemons[i], MHD_DAEMON_INFO_BIND_PORT);
	return di != NULL ? di->port : 0;
}

void
http_stop(struct http_server *h)
{
	struct http_stream	*s;
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
	for (id = h->tls; id != NULL; id = older) {
		older = id->older;
		http_tls_id_free(id);
	}
	if (http_current == h)
		http_current = NULL;
	free(h->trust_pem);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
