/*
 * http_tls_io.c - GnuTLS transport for MHD's TLS connections: reads
 * ahead, sends a reply's head with its body (http_tls_io.h).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "http_tls_io.h"

#define HTTP_TLS_IOV	16	/* iovecs of one push sent at once */

ssize_t
http_tls_io_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct http_tls_io	*io = ptr;
	struct iovec		 v[HTTP_TLS_IOV + 1];
	struct msghdr		 m;
	size_t			 total = 0, n = 0;
	ssize_t			 r;
	int			 i, flags = MSG_NOSIGNAL;

	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (io->head_then_body) {
		io->head_then_body = 0;
		if (io->hlen == 0 && total <= sizeof(io->held)) {
			for (i = 0; i < iovcnt; i++) {
				memcpy(io->held + n, iov[i].iov_base,
				    iov[i].iov_len);
				n += iov[i].iov_len;
			}
			io->hoff = 0;
			io->hlen = total;
			return (ssize_t)total;
		}
		flags |= MSG_MORE;
	}
	if (io->hlen > 0) {
		v[n].iov_base = io->held + io->hoff;
		v[n++].iov_len = io->hlen;
	}
	/* giovec_t is struct iovec's layout (gnutls.h). */
	for (i = 0; i < iovcnt && n < HTTP_TLS_IOV + 1; i++) {
		v[n].iov_base = iov[i].iov_base;
		v[n++].iov_len = iov[i].iov_len;
	}
	memset(&m, 0, sizeof(m));
	m.msg_iov = v;
	m.msg_iovlen = n;
	if ((r = sendmsg(io->fd, &m, flags)) < 0 || io->hlen == 0)
		return r;
	/* r counts the kept bytes first; GnuTLS hears of its own only. */
	if ((size_t)r < io->hlen) {
		io->hoff += (size_t)r;
		io->hlen -= (size_t)r;
		errno = EAGAIN;
		return -1;
	}
	r -= (ssize_t)io->hlen;
	io->hlen = 0;
	if (r == 0 && total > 0) {
		errno = EAGAIN;
		return -1;
	}
	return r;
}

ssize_t
http_tls_io_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct http_tls_io	*io = ptr;
	ssize_t			 r;
	size_t			 n;

	if (io->alen == 0) {
		/* A long ask (a record's body) is read straight into place. */
		if (len >= sizeof(io->ahead))
			return recv(io->fd, data, len, 0);
		if ((r = recv(io->fd, io->ahead, sizeof(io->ahead), 0)) <= 0)
			return r;
		io->aoff = 0;
		io->alen = (size_t)r;
	}
	n = len < io->alen ? len : io->alen;
	memcpy(data, io->ahead + io->aoff, n);
	io->aoff += n;
	io->alen -= n;
	return (ssize_t)n;
}

int
http_tls_io_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct http_tls_io	*io = ptr;
	struct pollfd		 p;

	if (io->alen > 0)
		return 1;
	p.fd = io->fd;
	p.events = POLLIN;
	p.revents = 0;
	return poll(&p, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

void
http_tls_io_attach(struct http_tls_io *io, gnutls_session_t session)
{
	gnutls_transport_set_ptr(session, io);
	gnutls_transport_set_vec_push_function(session, http_tls_io_push);
	gnutls_transport_set_pull_function(session, http_tls_io_pull);
	gnutls_transport_set_pull_timeout_function(session,
	    http_tls_io_pull_timeout);
}
