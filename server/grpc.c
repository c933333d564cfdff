/*
 * grpc.c - gRPC framing, status and deadlines over the HTTP/2 stream
 * layer (grpc.h), and the dispatch of a gRPC request to its method.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "conf.h"
#include "grpc.h"
#include "log.h"
#include "principal.h"
#include "server.h"
#include "util.h"
#include "watch.h"

#define GRPC_PREFIX		5	/* compressed flag, 4-byte length */
#define GRPC_MESSAGE_MAX	1024	/* grpc-message, encoded */
#define GRPC_LINE_MAX		(4 * 1024 * 1024)	/* one watch event */
#define GRPC_OUT_FILL		(64 * 1024)	/* messages made per read */
#define GRPC_READ_CHUNK		16384

/*
 * nsreg's error codes as gRPC statuses (DESIGN section 4 lists the
 * ones a client sees; nsreg-api(7) documents the table).
 */
static const enum grpc_status grpc_status_table[NSREG_CODE_MAX] = {
	[NSREG_OK] = GRPC_OK,
	[NSREG_INVALID_ARGUMENT] = GRPC_INVALID_ARGUMENT,
	[NSREG_UNAUTHENTICATED] = GRPC_UNAUTHENTICATED,
	[NSREG_PERMISSION_DENIED] = GRPC_PERMISSION_DENIED,
	[NSREG_NOT_FOUND] = GRPC_NOT_FOUND,
	[NSREG_METHOD_NOT_ALLOWED] = GRPC_UNIMPLEMENTED,
	[NSREG_ALREADY_EXISTS] = GRPC_ALREADY_EXISTS,
	[NSREG_RESOURCE_EXHAUSTED] = GRPC_RESOURCE_EXHAUSTED,
	[NSREG_CONFLICT] = GRPC_ABORTED,
	[NSREG_GONE] = GRPC_OUT_OF_RANGE,
	[NSREG_FAILED_PRECONDITION] = GRPC_FAILED_PRECONDITION,
	[NSREG_PAYLOAD_TOO_LARGE] = GRPC_RESOURCE_EXHAUSTED,
	[NSREG_UNSUPPORTED_MEDIA_TYPE] = GRPC_INVALID_ARGUMENT,
	[NSREG_INTERNAL] = GRPC_INTERNAL,
	[NSREG_BAD_GATEWAY] = GRPC_UNAVAILABLE,
	[NSREG_UNAVAILABLE] = GRPC_UNAVAILABLE,
	[NSREG_DEADLINE_EXCEEDED] = GRPC_DEADLINE_EXCEEDED,
};

static const char *const grpc_status_names[GRPC_STATUS_MAX] = {
	[GRPC_OK] = "OK",
	[GRPC_CANCELLED] = "CANCELLED",
	[GRPC_UNKNOWN] = "UNKNOWN",
	[GRPC_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
	[GRPC_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
	[GRPC_NOT_FOUND] = "NOT_FOUND",
	[GRPC_ALREADY_EXISTS] = "ALREADY_EXISTS",
	[GRPC_PERMISSION_DENIED] = "PERMISSION_DENIED",
	[GRPC_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
	[GRPC_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
	[GRPC_ABORTED] = "ABORTED",
	[GRPC_OUT_OF_RANGE] = "OUT_OF_RANGE",
	[GRPC_UNIMPLEMENTED] = "UNIMPLEMENTED",
	[GRPC_INTERNAL] = "INTERNAL",
	[GRPC_UNAVAILABLE] = "UNAVAILABLE",
	[GRPC_DATA_LOSS] = "DATA_LOSS",
	[GRPC_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

enum grpc_status
grpc_status_of(enum nsreg_code code)
{
	if ((int)code < 0 || code >= NSREG_CODE_MAX)
		return GRPC_UNKNOWN;
	return grpc_status_table[code];
}

const char *
grpc_status_name(enum grpc_status st)
{
	if ((int)st < 0 || st >= GRPC_STATUS_MAX)
		return "UNKNOWN";
	return grpc_status_names[st];
}

int
grpc_content_type(const char *ct, int *proto)
{
	size_t	n = strlen("application/grpc");
	int	rc = 0, pb = 0;

	if (ct == NULL || strncasecmp(ct, "application/grpc", n) != 0)
		goto out;
	ct += n;
	if (*ct == '\0' || *ct == ';')
		pb = 1;
	else if (*ct == '+') {
		ct++;
		n = strcspn(ct, ";");
		pb = n == 5 && strncasecmp(ct, "proto", 5) == 0;
		if (n == 0)
			goto out;
	} else
		goto out;
	rc = 1;
out:
	if (proto != NULL)
		*proto = rc && pb;
	return rc;
}

int
grpc_message_parse(const void *body, size_t len, size_t max,
    const uint8_t **msg, size_t *msglen, enum grpc_status *st, char *why,
    size_t whylen)
{
	const uint8_t	*p = body;
	uint32_t	 n;
	int		 rc = -1;

	*msg = NULL;
	*msglen = 0;
	*st = GRPC_INVALID_ARGUMENT;
	if (len < GRPC_PREFIX) {
		snprintf(why, whylen, len == 0 ? "no request message" :
		    "truncated message prefix (%zu of 5 bytes)", len);
		goto out;
	}
	if (p[0] > 1) {
		snprintf(why, whylen, "bad compressed flag %u", p[0]);
		goto out;
	}
	n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 8 | (uint32_t)p[4];
	if (n > max) {
		*st = GRPC_RESOURCE_EXHAUSTED;
		snprintf(why, whylen, "message of %u bytes, more than "
		    "max-body %zu", n, max);
		goto out;
	}
	if (n > len - GRPC_PREFIX) {
		snprintf(why, whylen, "truncated message (%zu of %u bytes)",
		    len - GRPC_PREFIX, n);
		goto out;
	}
	if (n < len - GRPC_PREFIX) {
		snprintf(why, whylen, "%zu bytes after the request message: "
		    "the method takes one", len - GRPC_PREFIX - n);
		goto out;
	}
	if (p[0] == 1) {
		*st = GRPC_UNIMPLEMENTED;
		snprintf(why, whylen, "compressed messages are not accepted "
		    "(grpc-accept-encoding: identity)");
		goto out;
	}
	*msg = p + GRPC_PREFIX;
	*msglen = n;
	*st = GRPC_OK;
	rc = 0;
out:
	return rc;
}

size_t
grpc_percent_encode(const char *s, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	size_t			 n = 0;

	if (outlen == 0)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
			if (n + 1 >= outlen)
				break;
			out[n++] = (char)*p;
		} else {
			if (n + 3 >= outlen)
				break;
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 0xf];
		}
	}
	out[n] = '\0';
	return n;
}

int
grpc_timeout_parse(const char *s, int64_t *us)
{
	int64_t	v = 0;
	size_t	i;
	int	rc = -1;

	*us = 0;
	/* Nine digits at most are read: one too many, never an overflow. */
	for (i = 0; i < 9 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0 || i > 8 || s[i] == '\0' || s[i + 1] != '\0')
		goto out;
	switch (s[i]) {
	case 'H':
		v *= 3600LL * 1000000;
		break;
	case 'M':
		v *= 60LL * 1000000;
		break;
	case 'S':
		v *= 1000000;
		break;
	case 'm':
		v *= 1000;
		break;
	case 'u':
		break;
	case 'n':
		v = (v + 999) / 1000;
		break;
	default:
		goto out;
	}
	*us = v;
	rc = 0;
out:
	return rc;
}

/* A call: its request, the answer being made, and its watch if any. */
struct grpc_call {
	struct server		*srv;
	struct http_request	*req;
	struct http_stream	*stream;
	int64_t			 deadline_us;	/* monotonic; 0: none */
	enum grpc_status	 status;
	int			 status_set;
	char			 status_text[8];
	char			 message[GRPC_MESSAGE_MAX];
	unsigned char		*out;		/* framed messages */
	size_t			 out_len;
	size_t			 out_off;
	size_t			 out_cap;
	struct watcher		*wt;		/* NULL: no watch */
	grpc_event_fn		*event;
	char			*line;		/* watch bytes not yet a line */
	size_t			 line_len;
	size_t			 line_cap;
	int			 ended;		/* the status is final */
	struct http_deferred	*def;		/* grpc_call_defer */
};

struct http_request *
grpc_call_request(struct grpc_call *c)
{
	return c->req;
}

int
grpc_call_expired(struct grpc_call *c)
{
	return c->deadline_us != 0 && util_mono_us() >= c->deadline_us;
}

static int
grpc_call_reserve(struct grpc_call *c, size_t more)
{
	unsigned char	*p;
	size_t		 cap;

	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + more <= c->out_cap)
		return 0;
	cap = c->out_cap > 0 ? c->out_cap : 256;
	while (cap < c->out_len + more)
		cap *= 2;
	if ((p = realloc(c->out, cap)) == NULL)
		return -1;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

int
grpc_call_send(struct grpc_call *c, const ProtobufCMessage *msg)
{
	unsigned char	*p;
	size_t		 n;

	n = protobuf_c_message_get_packed_size(msg);
	if (n > UINT32_MAX || grpc_call_reserve(c, GRPC_PREFIX + n) == -1)
		return -1;
	p = c->out + c->out_len;
	p[0] = 0;
	p[1] = (unsigned char)(n >> 24);
	p[2] = (unsigned char)(n >> 16);
	p[3] = (unsigned char)(n >> 8);
	p[4] = (unsigned char)n;
	protobuf_c_message_pack(msg, p + GRPC_PREFIX);
	c->out_len += GRPC_PREFIX + n;
	return 0;
}

static void
grpc_call_vstatus(struct grpc_call *c, enum grpc_status st,
    const char *fmt, va_list ap)
{
	char	text[NSREG_ERROR_MESSAGE_MAX];

	if (c->status_set)
		return;
	c->status_set = 1;
	c->status = st;
	vsnprintf(text, sizeof(text), fmt, ap);
	grpc_percent_encode(text, c->message, sizeof(c->message));
}

void
grpc_call_status(struct grpc_call *c, enum grpc_status st,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	grpc_call_vstatus(c, st, fmt, ap);
	va_end(ap);
}

void
grpc_call_fail(struct grpc_call *c, const struct nsreg_error *err)
{
	grpc_call_status(c, grpc_status_of(err->code), "%s", err->message);
	c->req->error_code = nsreg_code_name(err->code);
}

void
grpc_call_watch(struct grpc_call *c, struct watcher *wt, grpc_event_fn *fn)
{
	c->wt = wt;
	c->event = fn;
}

/* Complete lines of watch output become messages.  0 or -1. */
static int
grpc_call_lines(struct grpc_call *c)
{
	json_error_t	 jerr;
	json_t		*ev;
	char		*nl;
	size_t		 off = 0, n;
	int		 rc = 0;

	while (rc == 0 && (nl = memchr(c->line + off, '\n',
	    c->line_len - off)) != NULL) {
		n = (size_t)(nl - (c->line + off));
		if ((ev = json_loadb(c->line + off, n, 0, &jerr)) == NULL)
			rc = -1;
		else {
			rc = c->event(c, ev);
			json_decref(ev);
		}
		off += n + 1;
	}
	memmove(c->line, c->line + off, c->line_len - off);
	c->line_len -= off;
	return rc;
}

/* Pull the watcher until messages are ready or it has nothing more. */
static ssize_t
grpc_call_pull(struct grpc_call *c)
{
	ssize_t	 n;
	char	*p;

	while (c->out_len - c->out_off < GRPC_OUT_FILL) {
		if (c->line_cap - c->line_len < GRPC_READ_CHUNK) {
			if (c->line_cap + GRPC_READ_CHUNK > GRPC_LINE_MAX)
				return -1;
			if ((p = realloc(c->line, c->line_cap +
			    GRPC_READ_CHUNK)) == NULL)
				return -1;
			c->line = p;
			c->line_cap += GRPC_READ_CHUNK;
		}
		n = watch_read(c->wt, c->line + c->line_len,
		    c->line_cap - c->line_len);
		if (n <= 0)
			return n;
		c->line_len += (size_t)n;
		if (grpc_call_lines(c) == -1)
			return -1;
	}
	return 1;
}

static ssize_t
grpc_call_read(void *ctx, char *buf, size_t max)
{
	struct grpc_call	*c = ctx;
	ssize_t			 rc = -1;
	size_t			 n;

	if (c->wt != NULL && !c->ended && c->out_off == c->out_len) {
		if ((rc = grpc_call_pull(c)) == -1) {
			c->ended = 1;
			if (grpc_call_expired(c))
				grpc_call_status(c, GRPC_DEADLINE_EXCEEDED,
				    "deadline exceeded");
			else
				grpc_call_status(c, GRPC_UNAVAILABLE,
				    "the watch ended; find again");
		}
	}
	if (c->out_off < c->out_len) {
		n = c->out_len - c->out_off;
		if (n > max)
			n = max;
		memcpy(buf, c->out + c->out_off, n);
		c->out_off += n;
		return (ssize_t)n;
	}
	if (c->wt != NULL && !c->ended)
		return 0;
	return -1;
}

static size_t
grpc_call_trailers(void *ctx, struct http_field *out, size_t max)
{
	struct grpc_call	*c = ctx;
	size_t			 n = 0;

	snprintf(c->status_text, sizeof(c->status_text), "%d",
	    (int)c->status);
	if (n < max) {
		out[n].name = "grpc-status";
		out[n++].value = c->status_text;
	}
	if (n < max && c->message[0] != '\0') {
		out[n].name = "grpc-message";
		out[n++].value = c->message;
	}
	return n;
}

static void
grpc_call_free(void *ctx)
{
	struct grpc_call	*c = ctx;

	if (c->wt != NULL)
		watch_close(c->wt);
	free(c->line);
	free(c->out);
	free(c);
}

static const struct http_stream_ops grpc_call_ops = {
	.read = grpc_call_read,
	.free = grpc_call_free,
	.trailers = grpc_call_trailers,
};

static void
grpc_call_wake(void *arg)
{
	struct grpc_call	*c = arg;

	http_stream_wake(c->stream);
}

/* The watch timer asks about once a second: gone, or out of time. */
static int
grpc_call_gone(void *arg)
{
	struct grpc_call	*c = arg;

	return grpc_call_expired(c) || http_stream_peer_gone(c->stream);
}

/* Send what the call made: headers, messages, then the trailers. */
static void
grpc_call_start(struct grpc_call *c)
{
	struct watcher	*wt = c->wt;

	if (!c->status_set && c->wt == NULL)
		grpc_call_status(c, GRPC_OK, "%s", "");
	if (c->status != GRPC_OK && c->req->error_code == NULL)
		c->req->error_code = grpc_status_name(c->status);
	http_add_header(c->req, "grpc-accept-encoding", "identity");
	c->stream = http_reply_stream(c->req, "application/grpc",
	    &grpc_call_ops, c);
	if (c->stream == NULL) {
		/* The transport freed the call through its ops. */
		return;
	}
	if (wt != NULL) {
		watch_attach(wt, grpc_call_wake, c);
		watch_attach_probe(wt, grpc_call_gone);
	}
}

void
grpc_call_defer(struct grpc_call *c)
{
	c->def = http_defer(c->req);
}

void
grpc_call_done(struct grpc_call *c)
{
	struct http_deferred	*d = c->def;

	if (c->wt == NULL && grpc_call_expired(c) && !c->status_set) {
		c->out_len = c->out_off = 0;
		grpc_call_status(c, GRPC_DEADLINE_EXCEEDED,
		    "deadline exceeded");
	}
	grpc_call_start(c);
	http_deferred_done(d);
}

static const struct grpc_method *
grpc_method_find(const char *path)
{
	const struct grpc_method	*m;
	size_t				 i, n;

	m = grpc_registry_methods(&n);
	for (i = 0; i < n; i++)
		if (strcmp(m[i].path, path) == 0)
			return &m[i];
	return NULL;
}

#define GRPC_PATH_SEGMENTS_MAX	32
#define GRPC_PATH_FIELD_MAX	256

/*
 * NSM's "path" metadata (JSON: {"index", "path_segments":[{"name",
 * "id", "token", "expires"}]}) as request.nsm_path: the segments' names
 * and ids only, as sent (its tokens are not verified here, so rules are
 * not shown them).  Kept in req->json, which gRPC calls do not use
 * otherwise (api_caller reads it).  0, or -1 with a status.
 */
static int
grpc_call_nsm_path(struct grpc_call *c)
{
	struct http_request	*req = c->req;
	json_error_t		 jerr;
	json_t			*doc, *segs, *s, *out = NULL;
	const json_t		*name, *id;
	const char		*h;
	size_t			 i;
	int			 rc = -1;

	if ((h = http_header(req, "path")) == NULL)
		return 0;
	if ((doc = json_loads(h, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		grpc_call_status(c, GRPC_INVALID_ARGUMENT, "path metadata: "
		    "not JSON (%s)", jerr.text);
		return -1;
	}
	segs = json_object_get(doc, "path_segments");
	if (segs == NULL)
		segs = json_object_get(doc, "pathSegments");
	if (!json_is_array(segs) ||
	    json_array_size(segs) > GRPC_PATH_SEGMENTS_MAX) {
		grpc_call_status(c, GRPC_INVALID_ARGUMENT, "path metadata: "
		    "expected path_segments, at most %d",
		    GRPC_PATH_SEGMENTS_MAX);
		goto out;
	}
	if ((out = json_array()) == NULL)
		goto oom;
	json_array_foreach(segs, i, s) {
		name = json_object_get(s, "name");
		id = json_object_get(s, "id");
		if ((name != NULL && (!json_is_string(name) ||
		    json_string_length(name) > GRPC_PATH_FIELD_MAX)) ||
		    (id != NULL && (!json_is_string(id) ||
		    json_string_length(id) > GRPC_PATH_FIELD_MAX))) {
			grpc_call_status(c, GRPC_INVALID_ARGUMENT, "path "
			    "metadata: path_segments[%zu]: name and id must "
			    "be strings of at most %d bytes", i,
			    GRPC_PATH_FIELD_MAX);
			goto out;
		}
		if (json_array_append_new(out, json_pack("{s:s, s:s}", "name",
		    name != NULL ? json_string_value(name) : "", "id",
		    id != NULL ? json_string_value(id) : "")) == -1)
			goto oom;
	}
	json_decref(req->json);
	if ((req->json = json_pack("{s:O}", "nsm_path", out)) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	grpc_call_status(c, GRPC_INTERNAL, "out of memory");
out:
	json_decref(out);
	json_decref(doc);
	return rc;
}

/* The request's headers, deadline and credential.  0 or -1 (status). */
static int
grpc_call_admit(struct grpc_call *c, int proto)
{
	struct http_request	*req = c->req;
	struct nsreg_error	 err;
	const char		*te, *t;
	int64_t			 us;

	nsreg_error_clear(&err);
	if (!proto) {
		grpc_call_status(c, GRPC_UNIMPLEMENTED, "only protobuf "
		    "messages (application/grpc+proto) are served");
		return -1;
	}
	if (req->method != HTTP_POST) {
		grpc_call_status(c, GRPC_UNIMPLEMENTED, "gRPC calls are POST, "
		    "not %s", req->method_name);
		return -1;
	}
	if ((te = http_header(req, "te")) == NULL ||
	    strstr(te, "trailers") == NULL) {
		grpc_call_status(c, GRPC_INVALID_ARGUMENT, "a gRPC call "
		    "needs \"te: trailers\"");
		return -1;
	}
	if ((t = http_header(req, "grpc-timeout")) != NULL) {
		if (grpc_timeout_parse(t, &us) == -1) {
			grpc_call_status(c, GRPC_INVALID_ARGUMENT,
			    "grpc-timeout: expected 1 to 8 digits and a unit "
			    "(H, M, S, m, u, n)");
			return -1;
		}
		c->deadline_us = req->start_us + us;
		if (c->deadline_us == 0)
			c->deadline_us = 1;
	}
	if (auth_request(c->srv->auth, req, &err) == -1 ||
	    auth_principal_claims(c->srv->auth, &req->principal, &err) == -1) {
		grpc_call_fail(c, &err);
		return -1;
	}
	if (req->principal.auth == PRINCIPAL_ANONYMOUS) {
		nsreg_error_set(&err, NSREG_UNAUTHENTICATED, NULL,
		    "no credential: present an X.509-SVID client certificate "
		    "or authorization: Bearer metadata");
		grpc_call_fail(c, &err);
		return -1;
	}
	return grpc_call_nsm_path(c);
}

void
grpc_dispatch(struct server *srv, struct http_request *req)
{
	const struct grpc_method	*m;
	struct grpc_call		*c;
	struct nsreg_error		 err;
	enum grpc_status		 st;
	const uint8_t			*msg;
	size_t				 len;
	char				 why[160];
	int				 proto;

	if (req->proto != HTTP_PROTO_2) {
		nsreg_error_set(&err, NSREG_UNSUPPORTED_MEDIA_TYPE, NULL,
		    "gRPC needs HTTP/2: call the h2 listener (listen h2)");
		http_reply_error(req, &err);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		http_reply_error(req, &err);
		return;
	}
	c->srv = srv;
	c->req = req;
	(void)grpc_content_type(http_header(req, "content-type"), &proto);
	if (grpc_call_admit(c, proto) == -1)
		goto start;
	if ((m = grpc_method_find(req->path)) == NULL) {
		grpc_call_status(c, GRPC_UNIMPLEMENTED, "unknown method %s",
		    req->path);
		goto start;
	}
	if (grpc_call_expired(c)) {
		grpc_call_status(c, GRPC_DEADLINE_EXCEEDED,
		    "deadline exceeded");
		goto start;
	}
	if (grpc_message_parse(req->body, req->body_len,
	    srv->conf->max_body, &msg, &len, &st, why, sizeof(why)) == -1) {
		grpc_call_status(c, st, "%s", why);
		goto start;
	}
	m->handler(srv, c, msg, len);
	if (c->def != NULL)
		return;
	if (c->wt == NULL && grpc_call_expired(c) && !c->status_set) {
		/* Too late: what was made is not sent. */
		c->out_len = c->out_off = 0;
		grpc_call_status(c, GRPC_DEADLINE_EXCEEDED,
		    "deadline exceeded");
	}
start:
	grpc_call_start(c);
}
