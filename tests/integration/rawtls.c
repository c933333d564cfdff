/*
 * rawtls.c - a byte-exact HTTP/1.1 client over TLS for framing tests.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "rawtls.h"

struct rawconn {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	char		*buf;
	size_t		 len;
	size_t		 cap;
	struct timespec	 t0;
};

static long
rawtls_ms_since(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Read more bytes within wait_ms: 1 data, 0 closed, -1 timeout/error. */
static int
rawtls_fill(struct rawconn *c, long wait_ms)
{
	struct pollfd	pfd;
	int		n, e;

	if (c->cap - c->len < 4096) {
		size_t	 cap = c->cap ? c->cap * 2 : 16384;
		char	*nb = realloc(c->buf, cap + 1);

		if (nb == NULL)
			return -1;
		c->buf = nb;
		c->cap = cap;
	}
	for (;;) {
		n = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len));
		if (n > 0) {
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
			return 1;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL)
			return 0;	/* reset or EOF without close_notify */
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		pfd.fd = c->fd;
		pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		if (wait_ms <= 0 || poll(&pfd, 1, (int)wait_ms) <= 0)
			return -1;
		if (pfd.revents & (POLLHUP | POLLERR) &&
		    !(pfd.revents & POLLIN))
			return 0;
	}
}

static int
rawtls_write(struct rawconn *c, const char *p, size_t len)
{
	struct pollfd	pfd;
	int		n, e;

	while (len > 0) {
		n = SSL_write(c->ssl, p, (int)(len > 16384 ? 16384 : len));
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;	/* the server may have answered */
		pfd.fd = c->fd;
		pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, 5000) <= 0)
			return -1;
	}
	return 0;
}

static int
rawtls_connect(struct rawconn *c, unsigned short port, int rcvbuf)
{
	struct sockaddr_in	sa;
	struct pollfd		pfd;
	int			n, e;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (rcvbuf > 0 && setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 &&
	    errno != EINPROGRESS)
		return -1;
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (c->ssl = SSL_new(c->ctx)) == NULL)
		return -1;
	SSL_set_fd(c->ssl, c->fd);
	for (;;) {
		if ((n = SSL_connect(c->ssl)) == 1)
			break;
		e = SSL_get_error(c->ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		pfd.fd = c->fd;
		pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, 5000) <= 0)
			return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	return 0;
}

static void
rawtls_close(struct rawconn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	free(c->buf);
}

/*
 * Read one response from c into r.  Returns 1 for a final response, 2
 * for an interim (1xx) one (consumed), -1 when none came in time.
 */
static int
rawtls_read_response(struct rawconn *c, long deadline_ms, int head_only,
    struct rawresp *r)
{
	char		*end, *cl, *te;
	size_t		 hlen, need;
	long		 left;
	int		 rc;

	while ((end = c->len ? strstr(c->buf, "\r\n\r\n") : NULL) == NULL) {
		left = deadline_ms - rawtls_ms_since(&c->t0);
		if ((rc = rawtls_fill(c, left)) <= 0) {
			if (rc == 0)
				r->closed = 1;
			return -1;
		}
	}
	hlen = (size_t)(end - c->buf) + 4;
	if (hlen < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0)
		return -1;
	r->status = (int)strtol(c->buf + 9, NULL, 10);
	if (r->status >= 100 && r->status < 200) {
		memmove(c->buf, c->buf + hlen, c->len - hlen);
		c->len -= hlen;
		c->buf[c->len] = '\0';
		r->interim = 1;
		r->status = 0;
		return 2;
	}
	free(r->head);
	r->head = strndup(c->buf, hlen);
	cl = NULL;
	te = NULL;
	if (rawresp_header(r, "Content-Length") != NULL)
		cl = strdup(rawresp_header(r, "Content-Length"));
	if (rawresp_header(r, "Transfer-Encoding") != NULL)
		te = strdup(rawresp_header(r, "Transfer-Encoding"));
	for (;;) {
		if (head_only || r->status == 204 || r->status == 304)
			break;
		if (cl != NULL) {
			need = hlen + strtoul(cl, NULL, 10);
			if (c->len >= need)
				break;
		} else if (te != NULL) {
			if (strstr(c->buf + hlen, "\r\n0\r\n\r\n") != NULL ||
			    strncmp(c->buf + hlen, "0\r\n\r\n", 5) == 0)
				break;
		}
		left = deadline_ms - rawtls_ms_since(&c->t0);
		if ((rc = rawtls_fill(c, left)) <= 0) {
			if (rc == 0)
				r->closed = 1;
			break;
		}
	}
	free(cl);
	free(te);
	r->body_len = c->len - hlen;
	r->body = malloc(r->body_len + 1);
	if (r->body != NULL) {
		memcpy(r->body, c->buf + hlen, r->body_len);
		r->body[r->body_len] = '\0';
	}
	r->elapsed_ms = rawtls_ms_since(&c->t0);
	return 1;
}

int
rawtls_exchange_split(unsigned short port, const char *head, size_t headlen,
    const char *rest, size_t restlen, long pause_ms, long timeout_ms,
    struct rawresp *r)
{
	struct rawconn	c;
	int		rc = -1, k, head_only;

	memset(r, 0, sizeof(*r));
	head_only = strncmp(head, "HEAD ", 5) == 0;
	if (rawtls_connect(&c, port, 0) == -1)
		goto out;
	if (rawtls_write(&c, head, headlen) == -1)
		goto read;
	if (rest != NULL) {
		k = rawtls_read_response(&c, pause_ms, head_only, r);
		if (k == 1) {
			rc = 0;
			goto closed;
		}
		if (r->closed)
			goto out;
		(void)rawtls_write(&c, rest, restlen);
	}
read:
	do
		k = rawtls_read_response(&c, timeout_ms, head_only, r);
	while (k == 2);
	if (k != 1)
		goto out;
	rc = 0;
closed:
	if (!r->closed) {
		/* Anything more, or the end, within 300 ms. */
		c.len = 0;
		if (rawtls_fill(&c, 300) == 0)
			r->closed = 1;
	}
out:
	if (r->elapsed_ms == 0)
		r->elapsed_ms = c.fd != -1 ? rawtls_ms_since(&c.t0) : 0;
	rawtls_close(&c);
	return rc;
}

int
rawtls_exchange(unsigned short port, const char *req, size_t len,
    long timeout_ms, struct rawresp *r)
{
	return rawtls_exchange_split(port, req, len, NULL, 0, 0, timeout_ms,
	    r);
}

const char *
rawresp_header(const struct rawresp *r, const char *name)
{
	static char	 val[1024];
	const char	*p, *eol;
	size_t		 n = strlen(name), v;

	if (r->head == NULL)
		return NULL;
	for (p = strstr(r->head, "\r\n"); p != NULL; p = strstr(p, "\r\n")) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			eol = strstr(p, "\r\n");
			v = eol != NULL ? (size_t)(eol - p) : strlen(p);
			if (v >= sizeof(val))
				v = sizeof(val) - 1;
			memcpy(val, p, v);
			val[v] = '\0';
			return val;
		}
	}
	return NULL;
}

void
rawresp_free(struct rawresp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

struct rawconn *
rawtls_open(unsigned short port)
{
	return rawtls_open_rcvbuf(port, 0);
}

struct rawconn *
rawtls_open_rcvbuf(unsigned short port, int rcvbuf)
{
	struct rawconn	*c;

	if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	if (rawtls_connect(c, port, rcvbuf) == -1) {
		rawtls_close(c);
		free(c);
		return NULL;
	}
	return c;
}

int
rawtls_send(struct rawconn *c, const char *p, size_t len)
{
	return rawtls_write(c, p, len);
}

/* Write all of p to c's socket (no TLS). */
static int
rawtls_write_raw(struct rawconn *c, const char *p, size_t len)
{
	struct pollfd	pfd;
	ssize_t		n;

	while (len > 0) {
		if ((n = send(c->fd, p, len, MSG_NOSIGNAL)) > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 5000) <= 0)
			return -1;
	}
	return 0;
}

int
rawtls_send_records(struct rawconn *c, const char *p, const size_t *lens,
    size_t nrec, size_t segment, long pause_ms)
{
	struct timespec	 ts;
	BIO		*sock, *mem;
	char		*out;
	long		 n;
	size_t		 off, k, i;
	int		 one = 1, rc = -1;

	/* The records are made into memory, then written as they are. */
	if ((mem = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	sock = SSL_get_wbio(c->ssl);
	BIO_up_ref(sock);
	SSL_set0_wbio(c->ssl, mem);
	for (i = 0; i < nrec; p += lens[i], i++)
		if (SSL_write(c->ssl, p, (int)lens[i]) != (int)lens[i])
			goto done;
	if ((n = BIO_get_mem_data(mem, &out)) <= 0 ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1)
		goto done;
	ts.tv_sec = pause_ms / 1000;
	ts.tv_nsec = (pause_ms % 1000) * 1000000;
	for (off = 0; off < (size_t)n; off += k) {
		k = (size_t)n - off < segment ? (size_t)n - off : segment;
		if (off > 0 && pause_ms > 0)
			nanosleep(&ts, NULL);
		if (rawtls_write_raw(c, out + off, k) == -1)
			goto done;
	}
	rc = 0;
done:
	SSL_set0_wbio(c->ssl, sock);	/* frees mem */
	return rc;
}

int
rawtls_next(struct rawconn *c, long timeout_ms, int head_only,
    struct rawresp *r)
{
	const char	*cl;
	size_t		 hlen, take;
	int		 k;

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	do
		k = rawtls_read_response(c, timeout_ms, head_only, r);
	while (k == 2);
	if (k != 1)
		return -1;
	/* What came after this response's body stays for the next. */
	hlen = strlen(r->head);
	take = r->body_len;
	if (head_only || r->status == 204 || r->status == 304)
		take = 0;
	else if ((cl = rawresp_header(r, "Content-Length")) != NULL &&
	    strtoul(cl, NULL, 10) < take)
		take = strtoul(cl, NULL, 10);
	r->body_len = take;
	if (r->body != NULL)
		r->body[take] = '\0';
	memmove(c->buf, c->buf + hlen + take, c->len - hlen - take);
	c->len -= hlen + take;
	c->buf[c->len] = '\0';
	return 0;
}

int
rawtls_ended(struct rawconn *c, long ms)
{
	long	t0 = rawtls_ms_since(&c->t0);
	int	rc;

	for (;;) {
		c->len = 0;
		rc = rawtls_fill(c, ms - (rawtls_ms_since(&c->t0) - t0));
		if (rc == 0)
			return 1;
		if (rc == -1)
			return 0;
	}
}

void
rawtls_free(struct rawconn *c)
{
	if (c == NULL)
		return;
	rawtls_close(c);
	free(c);
}
