/*
 * http_tls_io.h - the transport under GnuTLS on MHD's TLS connections:
 * fewer system calls per request than GnuTLS's own.
 *
 * Reading: GnuTLS asks for a record's 5-byte header, then for the rest,
 * one recv(2) each.  The pull function reads up to HTTP_TLS_AHEAD bytes
 * at once and hands them out as asked.  What it read stays with it, not
 * in the socket, so no readiness event will come for those bytes: MHD
 * keeps reading a TLS connection until a read gives EAGAIN, and this
 * pull gives EAGAIN only when it holds nothing and the socket is empty.
 *
 * Sending: MHD sends a reply's head and body from memory as two records.
 * When the server says a body follows (head_then_body), the push function
 * keeps the head and sends it with the first body record in one
 * sendmsg(2): one system call and one TCP segment.  Kept bytes always go
 * before any later ones; when the socket takes only part of them the
 * push answers EAGAIN, and GnuTLS tries the record again once MHD sees
 * the socket writable.  A head too long to keep goes with MSG_MORE.
 */
#ifndef NSREG_HTTP_TLS_IO_H
#define NSREG_HTTP_TLS_IO_H

#include <stddef.h>
#include <sys/types.h>

#include <gnutls/gnutls.h>

#define HTTP_TLS_AHEAD	2048	/* bytes read at once, at least */
#define HTTP_TLS_HELD	1024	/* the longest head kept for its body */

struct http_tls_io {
	int		 fd;
	/* The next push is a reply's head, and its body comes next. */
	int		 head_then_body;
	size_t		 aoff, alen;	/* read, not yet taken by GnuTLS */
	size_t		 hoff, hlen;	/* kept, not yet sent */
	unsigned char	 ahead[HTTP_TLS_AHEAD];
	unsigned char	 held[HTTP_TLS_HELD];
};

/* GnuTLS's transport functions; the transport pointer is the io. */
ssize_t	 http_tls_io_push(gnutls_transport_ptr_t, const giovec_t *, int);
ssize_t	 http_tls_io_pull(gnutls_transport_ptr_t, void *, size_t);
int	 http_tls_io_pull_timeout(gnutls_transport_ptr_t, unsigned int);
/* Make io (its fd set) session's transport. */
void	 http_tls_io_attach(struct http_tls_io *io, gnutls_session_t session);

#endif
