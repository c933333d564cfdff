/*
 * http_req.c - what HTTP/1.1 and HTTP/2 share: the public http_*
 * functions (each dispatches to the request's transport), request ids,
 * the request-target checks, query arguments, reply headers and the work
 * pool (http_int.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "http.h"
#include "http_int.h"
#include "util.h"

static const struct {
	const char		*name;
	enum http_method	 method;
} http_methods[] = {
	{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "PUT", HTTP_PUT },
	{ "POST", HTTP_POST }, { "DELETE", HTTP_DELETE },
	{ "PATCH", HTTP_PATCH }, { "OPTIONS", HTTP_OPTIONS },
};

enum http_method
http_method_of(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
		if (strcmp(name, http_methods[i].name) == 0)
			return http_methods[i].method;
	return HTTP_OTHER;
}

const char *
http_proto_name(const struct http_request *req)
{
	return req->proto == HTTP_PROTO_2 ? "HTTP/2" : "HTTP/1.1";
}

int
http_ids_init(struct http_ids *ids)
{
	unsigned char	rnd[8];
	size_t		i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(ids->prefix + 2 * i, 3, "%02x", rnd[i]);
	atomic_store(&ids->next, 0);
	return 0;
}

void
http_req_id(struct http_request *req, const char *given, struct http_ids *ids)
{
	size_t	i, n;

	if (given != NULL && (n = strlen(given)) > 0 && n < sizeof(req->id)) {
		for (i = 0; i < n; i++)
			if (given[i] <= ' ' || given[i] > '~' ||
			    given[i] == '"' || given[i] == '\\')
				break;
		if (i == n) {
			memcpy(req->id, given, n + 1);
			return;
		}
	}
	/*
	 * A random prefix drawn once per server and a counter: unique,
	 * unguessable enough for correlation, and no DRBG per request.
	 */
	snprintf(req->id, sizeof(req->id), "%s%016llx", ids->prefix,
	    (unsigned long long)atomic_fetch_add(&ids->next, 1));
}

static int
http_hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Percent-decode s[0..len) once into out (len + 1 bytes), '+' as a space
 * when plus is set.  Returns the decoded length, or -1 for a '%' not
 * followed by two hex digits (lenient: then kept as is).
 */
static ssize_t
http_decode(const char *s, size_t len, int plus, int lenient, char *out)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3 || (hi = http_hex(s[i + 1])) < 0 ||
			    (lo = http_hex(s[i + 2])) < 0) {
				if (!lenient)
					return -1;
				out[o++] = s[i];
				continue;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus)
			out[o++] = ' ';
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return (ssize_t)o;
}

/* Decoded text: UTF-8 (no overlong forms), no NUL, no control. */
static int
http_text_ok(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return util_utf8_valid(s, len);
}

/*
 * Decode the path s[0..len) segment by segment into *path.  Every
 * segment is decoded once and must be text without '/', and neither "."
 * nor "..": the decoded path then has the segments the client sent, and
 * a {name} is exactly one of them.  An empty segment ("//", a trailing
 * '/') names no route: the route table answers 404.
 */
static int
http_check_path(char **path, const char *s, size_t len,
    struct nsreg_error *err)
{
	size_t	 i = 1, j, o = 1, nseg = 0;
	ssize_t	 n;
	char	*out;

	if ((out = *path = malloc(len + 1)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	out[0] = '/';
	out[1] = '\0';
	if (len == 1)
		return 0;
	while (i <= len) {
		for (j = i; j < len && s[j] != '/'; j++)
			;
		if (++nseg > HTTP_SEGMENTS_MAX)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    NULL, "path: more than %d segments",
			    HTTP_SEGMENTS_MAX);
		if ((n = http_decode(s + i, j - i, 0, 0, out + o)) < 0)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    NULL, "path: '%%' not followed by two hex digits");
		if (memchr(out + o, '/', (size_t)n) != NULL)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    NULL, "path: an encoded '/' (%%2F) inside a "
			    "segment");
		if (!http_text_ok(out + o, (size_t)n))
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    NULL, "path: NUL, a control character or "
			    "invalid UTF-8 after decoding");
		if ((n == 1 && out[o] == '.') ||
		    (n == 2 && out[o] == '.' && out[o + 1] == '.'))
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    NULL, "path: \".\" and \"..\" segments are not "
			    "allowed");
		o += (size_t)n;
		if (j < len)
			out[o++] = '/';
		out[o] = '\0';
		i = j + 1;
	}
	return 0;
}

/* Each query parameter decodes once to text. */
static int
http_check_query(const char *q, struct nsreg_error *err)
{
	const char	*p, *amp;
	char		 buf[HTTP_TARGET_MAX + 1];
	size_t		 len, n = 0;
	ssize_t		 dn;

	for (p = q; *p != '\0'; p = *amp != '\0' ? amp + 1 : amp) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = p + strlen(p);
		len = (size_t)(amp - p);
		if (len == 0)
			continue;
		if (++n > HTTP_QUERY_MAX)
			break;
		if ((dn = http_decode(p, len, 1, 0, buf)) < 0)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    NULL, "query parameter %zu: '%%' not followed by "
			    "two hex digits", n);
		if (!http_text_ok(buf, (size_t)dn))
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    NULL, "query parameter %zu: NUL, a control "
			    "character or invalid UTF-8 after decoding", n);
	}
	if (n > HTTP_QUERY_MAX)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "more than %d query parameters", HTTP_QUERY_MAX);
	return 0;
}

int
http_target_check(struct http_request *req, const char *t, int target_long,
    char **path, struct nsreg_error *err)
{
	const char	*q;
	size_t		 i;

	*path = NULL;
	if (t == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	if (target_long)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "the request target is longer than %d bytes",
		    HTTP_TARGET_MAX);
	for (i = 0; t[i] != '\0'; i++)
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f ||
		    t[i] == '#')
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    NULL, "the request target has a space, a control "
			    "character, '#' or a byte that is not ASCII at "
			    "offset %zu", i);
	if (strcmp(t, "*") == 0 && req->method == HTTP_OPTIONS) {
		req->path = "*";
		return 0;
	}
	if (t[0] != '/')
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s request targets are not accepted: send the path "
		    "(origin-form, RFC 9112 section 3.2.1)",
		    strstr(t, "://") != NULL ? "absolute-form" :
		    "authority-form and other");
	q = strchr(t, '?');
	if (http_check_path(path, t, q != NULL ? (size_t)(q - t) : strlen(t),
	    err) == -1)
		return -1;
	req->path = *path;
	if (q != NULL && http_check_query(q + 1, err) == -1)
		return -1;
	return 0;
}

int
http_host_ok(const char *v)
{
	size_t	i;

	if (v[0] == '\0')
		return 0;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f ||
		    strchr("/?#@\\\"<>{}|^`", v[i]) != NULL)
			return 0;
	return 1;
}

ssize_t
http_query_split(const char *q, size_t len, struct http_arg *out,
    size_t max, char **buf)
{
	const char	*p, *end = q + len, *amp, *eq;
	char		*b;
	size_t		 n = 0, o = 0;
	ssize_t		 dn;

	/* Decoding never grows: room for every byte and a NUL each. */
	if ((b = *buf = malloc(2 * len + 2)) == NULL)
		return -1;
	for (p = q; p < end && n < max; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;
		eq = memchr(p, '=', (size_t)(amp - p));
		dn = http_decode(p, (size_t)((eq != NULL ? eq : amp) - p), 1,
		    1, b + o);
		out[n].key = b + o;
		o += (size_t)dn + 1;
		out[n].value = NULL;
		if (eq != NULL) {
			dn = http_decode(eq + 1, (size_t)(amp - eq - 1), 1, 1,
			    b + o);
			out[n].value = b + o;
			o += (size_t)dn + 1;
		}
		n++;
		if (amp == end)
			break;
	}
	return (ssize_t)n;
}

const char *
http_args_get(const struct http_arg *a, size_t n, const char *key)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].key, key) == 0)
			return a[i].value;
	return NULL;
}

size_t
http_args_values(const struct http_arg *a, size_t n, const char *key,
    const char **out, size_t max)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(a[i].key, key) != 0)
			continue;
		if (k < max)
			out[k] = a[i].value != NULL ? a[i].value : "";
		k++;
	}
	return k;
}

int
http_args_each(const struct http_arg *a, size_t n,
    int (*fn)(const char *, const char *, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (fn(a[i].key, a[i].value != NULL ? a[i].value : "", arg) ==
		    -1)
			return -1;
	return 0;
}

void
http_reply_fields(const struct http_request *req, const char *content_type,
    const struct http_field *extra, size_t nextra,
    void (*fn)(const char *, const char *, void *), void *arg)
{
	size_t	i;
	int	cached = 0;

	if (content_type != NULL)
		fn("Content-Type", content_type, arg);
	fn("X-Request-Id", req->id, arg);
	fn("X-Content-Type-Options", "nosniff", arg);
	for (i = 0; i < nextra; i++) {
		fn(extra[i].name, extra[i].value, arg);
		if (strcasecmp(extra[i].name, "Cache-Control") == 0)
			cached = 1;
	}
	/* API answers are never cached; a handler may say otherwise. */
	if (!cached)
		fn("Cache-Control", "no-store", arg);
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

char *
http_reply_json_text(json_t *body, size_t *len)
{
	char	*text;

	*len = 0;
	if (body == NULL)
		return NULL;
	/* json_dumps leaves room: the NUL becomes the newline. */
	text = http_json_dump(body, len);
	json_decref(body);
	if (text == NULL)
		*len = 0;
	else
		text[(*len)++] = '\n';
	return text;
}

/* The public functions: each goes to the request's transport. */

const char *
http_query(const struct http_request *req, const char *key)
{
	return req->transport->query(req, key);
}

size_t
http_query_values(const struct http_request *req, const char *key,
    const char **out, size_t max)
{
	return req->transport->query_values(req, key, out, max);
}

int
http_query_each(const struct http_request *req,
    int (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	return req->transport->query_each(req, fn, arg);
}

const char *
http_header(const struct http_request *req, const char *name)
{
	return req->transport->header(req, name);
}

size_t
http_peer_chain(const struct http_request *req, const unsigned char **der,
    size_t *len, size_t max)
{
	return req->transport->peer_chain(req, der, len, max);
}

void **
http_conn_slot(struct http_request *req)
{
	return req->transport->conn_slot(req);
}

void
http_add_header(struct http_request *req, const char *name,
    const char *value)
{
	req->transport->add_header(req, name, value);
}

void
http_reply_json(struct http_request *req, unsigned int status, json_t *body)
{
	char	*text;
	size_t	 len;
	int	 has = body != NULL;

	text = http_reply_json_text(body, &len);
	req->transport->reply(req, status, has ? "application/json" : NULL,
	    text, len);
}

void
http_reply_text(struct http_request *req, unsigned int status,
    const char *content_type, const char *text, size_t len)
{
	char	*copy;

	if ((copy = malloc(len + 1)) != NULL) {
		memcpy(copy, text, len);
		copy[len] = '\0';
	} else
		len = 0;
	req->transport->reply(req, status, content_type, copy, len);
}

void
http_reply_error(struct http_request *req, const struct nsreg_error *err)
{
	req->error_code = nsreg_code_name(err->code);
	http_reply_json(req, nsreg_code_status(err->code),
	    nsreg_error_json(err));
}

struct http_stream *
http_reply_stream(struct http_request *req, const char *content_type,
    const struct http_stream_ops *ops, void *ctx)
{
	return req->transport->reply_stream(req, content_type, ops, ctx);
}

void
http_stream_wake(struct http_stream *s)
{
	s->transport->stream_wake(s);
}

int
http_stream_peer_gone(struct http_stream *s)
{
	return s->transport->stream_peer_gone(s);
}

struct http_deferred *
http_defer(struct http_request *req)
{
	return req->transport->defer(req);
}

void
http_deferred_done(struct http_deferred *d)
{
	d->transport->deferred_done(d);
}

void
http_offload(struct http_request *req,
    void (*fn)(struct http_request *, void *), void *arg)
{
	req->transport->offload(req, fn, arg);
}

/* The work pool. */

struct http_job {
	void		(*fn)(void *);
	void		 *arg;
	struct http_job	 *next;
};

struct http_pool {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct http_job	*jobs, *tail;
	pthread_t	*threads;
	size_t		 nthreads;
	int		 stop;
};

static _Thread_local const struct http_pool *http_pool_self;

static void *
http_pool_run(void *arg)
{
	struct http_pool	*p = arg;
	struct http_job		*j;

	http_pool_self = p;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->jobs == NULL && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if ((j = p->jobs) == NULL)
			break;
		p->jobs = j->next;
		if (p->jobs == NULL)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct http_pool *
http_pool_new(size_t nthreads)
{
	struct http_pool	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (nthreads > 0 &&
	    (p->threads = calloc(nthreads, sizeof(*p->threads))) == NULL)
		goto fail;
	for (; p->nthreads < nthreads; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL,
		    http_pool_run, p) != 0)
			goto fail;
	return p;
fail:
	http_pool_free(p);
	return NULL;
}

int
http_pool_submit(struct http_pool *p, void (*fn)(void *), void *arg)
{
	struct http_job	*j;

	if (p == NULL || p->nthreads == 0 ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&p->lock);
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->jobs = j;
	p->tail = j;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int
http_pool_current(const struct http_pool *p)
{
	return p != NULL && http_pool_self == p;
}

void
http_pool_free(struct http_pool *p)
{
	size_t	i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

struct http_offload_job {
	struct http_request	*req;
	void			(*fn)(struct http_request *, void *);
	void			*arg;
	struct http_deferred	*def;
};

static void
http_offload_run(void *arg)
{
	struct http_offload_job	*j = arg;

	j->fn(j->req, j->arg);
	http_deferred_done(j->def);
	free(j);
}

void
http_pool_offload(struct http_pool *p, struct http_request *req,
    void (*fn)(struct http_request *, void *), void *arg)
{
	struct http_offload_job	*j;

	/* On the pool already: no point in queueing behind others. */
	if (p == NULL || p->nthreads == 0 || http_pool_current(p) ||
	    (j = calloc(1, sizeof(*j))) == NULL) {
		fn(req, arg);
		return;
	}
	j->req = req;
	j->fn = fn;
	j->arg = arg;
	j->def = http_defer(req);
	if (http_pool_submit(p, http_offload_run, j) == -1) {
		http_deferred_done(j->def);
		free(j);
		fn(req, arg);
	}
}
