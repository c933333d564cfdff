/*
 * test_http_tls_io.c - GnuTLS's transport on MHD's TLS connections
 * (server/http_tls_io.c) on a real loopback TCP connection: bytes read
 * ahead are handed out in order and none is lost or repeated; a kept
 * head leaves before its body and after everything sent before it,
 * whole, also when the socket is full.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_tls_io.h"

/* A connected pair: *srv non-blocking (the server's side), *peer. */
static void
tcp_pair(int *srv, int *peer)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof(sa);
	int			l, one = 1;

	cr_assert((l = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(l, 1), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	cr_assert((*peer = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	cr_assert_eq(connect(*peer, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert((*srv = accept(l, NULL, NULL)) != -1);
	close(l);
	cr_assert_eq(fcntl(*srv, F_SETFL, O_NONBLOCK), 0);
	setsockopt(*peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static unsigned char
pat(size_t i)
{
	return (unsigned char)(i % 251);
}

/* Write n pattern bytes from offset *off on fd (blocking). */
static void
write_pat(int fd, size_t *off, size_t n)
{
	unsigned char	*b;
	size_t		 i;

	cr_assert((b = malloc(n)) != NULL);
	for (i = 0; i < n; i++)
		b[i] = pat(*off + i);
	cr_assert_eq(write(fd, b, n), (ssize_t)n);
	*off += n;
	free(b);
}

/* Wait until fd (non-blocking) has something to read. */
static void
wait_readable(int fd)
{
	struct pollfd	p = { .fd = fd, .events = POLLIN };

	cr_assert_eq(poll(&p, 1, 2000), 1);
}

/*
 * How the peer writes (sizes, 0-ended) and what GnuTLS asks for; every
 * byte handed out must be the next of the stream, and once the peer's
 * bytes are all out, the pull says EAGAIN (or 0 after the peer's end).
 */
static const struct pull_case {
	const char	*name;
	size_t		 writes[4];
	size_t		 asks[8];
	int		 shut;
} pull_cases[] = {
	{ "a header, then its record", { 100 }, { 5, 95 }, 0 },
	{ "two records in one read", { 200 }, { 5, 95, 5, 95 }, 0 },
	{ "a record cut in two writes", { 60, 40 }, { 5, 95 }, 0 },
	{ "past the read-ahead", { 5000 }, { 5, 4000, 1957, 5, 100 }, 0 },
	{ "a long ask, read in place", { 3000 }, { 2048, 2048 }, 0 },
	{ "a long ask after a short one", { 3000 }, { 5, 2900, 2900 }, 0 },
	{ "one byte at a time", { 3 }, { 1, 1, 1 }, 0 },
	{ "the peer's end", { 10 }, { 5, 5, 5 }, 1 },
};

Test(http_tls_io, pull_hands_out_every_byte_once_in_order)
{
	const size_t		 n = sizeof(pull_cases) / sizeof(pull_cases[0]);
	const struct pull_case	*k;
	struct http_tls_io	*io;
	unsigned char		 buf[8192];
	size_t			 i, j, w, off, got, total, ask, last;
	ssize_t			 r;
	int			 srv, peer;

	for (i = 0; i < n; i++) {
		k = &pull_cases[i];
		tcp_pair(&srv, &peer);
		cr_assert((io = calloc(1, sizeof(*io))) != NULL);
		io->fd = srv;
		for (w = 0, total = 0; w < 4 && k->writes[w] > 0; w++)
			write_pat(peer, &total, k->writes[w]);
		if (k->shut)
			shutdown(peer, SHUT_WR);
		for (last = 0; last < 7 && k->asks[last + 1] > 0; last++)
			;
		/* The asks, the last one again until every byte is out. */
		for (j = 0, got = 0; got < total && j < 64; j++) {
			ask = k->asks[j < last ? j : last];
			/* The next bytes may still be on their way. */
			do {
				if (io->alen == 0)
					wait_readable(srv);
				r = http_tls_io_pull(io, buf, ask);
			} while (r == -1 && errno == EAGAIN);
			cr_assert_gt(r, 0, "%s: ask %zu: %zd", k->name, j, r);
			cr_assert_leq((size_t)r, ask);
			for (off = 0; off < (size_t)r; off++)
				cr_assert_eq(buf[off], pat(got + off),
				    "%s: byte %zu", k->name, got + off);
			got += (size_t)r;
		}
		cr_assert_eq(got, total, "%s: %zu of %zu bytes", k->name, got,
		    total);
		cr_assert_eq(http_tls_io_pull_timeout(io, 0), k->shut,
		    "%s: pending after the last byte", k->name);
		r = http_tls_io_pull(io, buf, 5);
		if (k->shut)
			cr_assert_eq(r, 0, "%s: %zd at the end", k->name, r);
		else
			cr_assert(r == -1 && errno == EAGAIN, "%s: %zd",
			    k->name, r);
		free(io);
		close(srv);
		close(peer);
	}
}

Test(http_tls_io, pull_timeout_sees_bytes_read_ahead)
{
	struct http_tls_io	 io;
	unsigned char		 buf[8];
	size_t			 off = 0;
	int			 srv, peer;

	tcp_pair(&srv, &peer);
	memset(&io, 0, sizeof(io));
	io.fd = srv;
	cr_assert_eq(http_tls_io_pull_timeout(&io, 0), 0);
	write_pat(peer, &off, 10);
	cr_assert_eq(http_tls_io_pull_timeout(&io, 2000), 1);
	cr_assert_eq(http_tls_io_pull(&io, buf, 5), 5);
	/* The other 5 are read: the socket is empty, the pull is not. */
	cr_assert_eq(http_tls_io_pull_timeout(&io, 0), 1);
	cr_assert_eq(http_tls_io_pull(&io, buf, 8), 5);
	cr_assert_eq(buf[4], pat(9));
	cr_assert_eq(http_tls_io_pull_timeout(&io, 0), 0);
	close(srv);
	close(peer);
}

/* Push n pattern bytes from *off as iovcnt pieces; what the push said. */
static ssize_t
push_pat(struct http_tls_io *io, size_t off, size_t n, int iovcnt)
{
	giovec_t	 v[32];
	unsigned char	*b;
	size_t		 i, step;
	ssize_t		 r;
	int		 k;

	cr_assert((b = malloc(n)) != NULL);
	for (i = 0; i < n; i++)
		b[i] = pat(off + i);
	step = n / (size_t)iovcnt;
	for (k = 0; k < iovcnt; k++) {
		v[k].iov_base = b + (size_t)k * step;
		v[k].iov_len = k == iovcnt - 1 ? n - (size_t)k * step : step;
	}
	r = http_tls_io_push(io, v, iovcnt);
	free(b);
	return r;
}

/* Read everything the peer has within 300 ms; check it is the stream. */
static size_t
drain_pat(int peer, size_t *off)
{
	unsigned char	buf[65536];
	struct pollfd	p = { .fd = peer, .events = POLLIN };
	ssize_t		r;
	size_t		i, got = 0;

	while (poll(&p, 1, 300) == 1) {
		if ((r = read(peer, buf, sizeof(buf))) <= 0)
			break;
		for (i = 0; i < (size_t)r; i++)
			cr_assert_eq(buf[i], pat(*off + i), "byte %zu",
			    *off + i);
		*off += (size_t)r;
		got += (size_t)r;
	}
	return got;
}

/*
 * Pushes in a row (bytes, pieces, a head kept for what follows): each
 * is taken whole, and the peer reads the stream in order, a kept head
 * only once its body went.
 */
static const struct push_case {
	const char	*name;
	struct { size_t n; int iov, head; } push[4];
} push_cases[] = {
	{ "no head", { { 100, 1, 0 }, { 300, 2, 0 } } },
	{ "a head, then its body", { { 50, 1, 1 }, { 2000, 3, 0 } } },
	{ "a head, a body, a reply without one",
	    { { 50, 1, 1 }, { 16000, 1, 0 }, { 40, 1, 0 } } },
	{ "a head too long to keep", { { 1500, 1, 1 }, { 200, 1, 0 } } },
	{ "a head of one byte", { { 1, 1, 1 }, { 1, 1, 0 } } },
	{ "a head as many pieces", { { 600, 20, 1 }, { 700, 20, 0 } } },
};

Test(http_tls_io, push_sends_a_kept_head_with_its_body)
{
	const size_t		 n = sizeof(push_cases) / sizeof(push_cases[0]);
	const struct push_case	*k;
	struct http_tls_io	*io;
	size_t			 i, j, off, seen, sent;
	ssize_t			 r;
	int			 srv, peer;

	for (i = 0; i < n; i++) {
		k = &push_cases[i];
		tcp_pair(&srv, &peer);
		cr_assert((io = calloc(1, sizeof(*io))) != NULL);
		io->fd = srv;
		off = seen = 0;
		for (j = 0; j < 4 && k->push[j].n > 0; j++) {
			io->head_then_body = k->push[j].head;
			sent = 0;
			while (sent < k->push[j].n) {
				r = push_pat(io, off + sent,
				    k->push[j].n - sent, sent > 0 ? 1 :
				    k->push[j].iov);
				cr_assert_gt(r, 0, "%s: push %zu: %zd",
				    k->name, j, r);
				sent += (size_t)r;
			}
			off += sent;
			if (k->push[j].head && k->push[j].n <= HTTP_TLS_HELD)
				cr_assert_eq(drain_pat(peer, &seen), 0,
				    "%s: the head left alone", k->name);
		}
		(void)drain_pat(peer, &seen);
		cr_assert_eq(seen, off, "%s: %zu of %zu bytes", k->name, seen,
		    off);
		free(io);
		close(srv);
		close(peer);
	}
}

Test(http_tls_io, a_kept_head_waits_for_a_full_socket_and_goes_first)
{
	struct http_tls_io	*io;
	size_t			 off = 0, seen = 0, filled, sent;
	ssize_t			 r;
	int			 srv, peer, small = 4096;

	tcp_pair(&srv, &peer);
	setsockopt(srv, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	cr_assert((io = calloc(1, sizeof(*io))) != NULL);
	io->fd = srv;
	/* Fill the socket. */
	for (;;) {
		r = push_pat(io, off, 1000, 1);
		if (r == -1) {
			cr_assert_eq(errno, EAGAIN);
			break;
		}
		off += (size_t)r;
	}
	filled = off;
	io->head_then_body = 1;
	cr_assert_eq(push_pat(io, off, 300, 1), 300);
	off += 300;
	/* The body finds the socket full: the head stays, unsent. */
	errno = 0;
	cr_assert_eq(push_pat(io, off, 5000, 1), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(io->hlen, 300);
	cr_assert_eq(drain_pat(peer, &seen), filled);
	/* Now the head and then the body, in as many pushes as it takes. */
	for (sent = 0; sent < 5000; ) {
		r = push_pat(io, off + sent, 5000 - sent, 1);
		if (r == -1) {
			cr_assert_eq(errno, EAGAIN);
			(void)drain_pat(peer, &seen);
			continue;
		}
		sent += (size_t)r;
	}
	off += 5000;
	cr_assert_eq(io->hlen, 0);
	(void)drain_pat(peer, &seen);
	cr_assert_eq(seen, off, "%zu of %zu bytes", seen, off);
	free(io);
	close(srv);
	close(peer);
}
