/*
 * rawtls.h - send bytes exactly as written over TLS and read what comes
 * back, for tests of HTTP framing that libcurl would normalise away.
 */
#ifndef NSREG_RAWTLS_H
#define NSREG_RAWTLS_H

#include <stddef.h>

struct rawresp {
	int	 status;	/* 0: no status line came */
	char	*head;		/* status line and headers (new) */
	char	*body;		/* body bytes (new), NUL-terminated */
	size_t	 body_len;
	int	 closed;	/* the server closed after this response */
	long	 elapsed_ms;	/* from the first byte sent */
	int	 interim;	/* a 1xx response came first */
};

/*
 * Connect to 127.0.0.1:port over TLS (no verification), write len bytes
 * of req, read one final response (skipping 1xx ones), then wait up to
 * 300 ms to see whether the server closes.  Gives up after timeout_ms.
 * Returns 0 when a status line came, -1 otherwise; r is filled either way.
 */
int	 rawtls_exchange(unsigned short port, const char *req, size_t len,
	    long timeout_ms, struct rawresp *r);
/* Like rawtls_exchange, with req sent in two parts: head, then after
 * the first response or pause_ms, the rest. */
int	 rawtls_exchange_split(unsigned short port, const char *head,
	    size_t headlen, const char *rest, size_t restlen, long pause_ms,
	    long timeout_ms, struct rawresp *r);
/* A TLS connection driven step by step (NULL when it cannot connect). */
struct rawconn;
struct rawconn	*rawtls_open(unsigned short port);
/* With a receive buffer of rcvbuf bytes: the server's sends often block. */
struct rawconn	*rawtls_open_rcvbuf(unsigned short port, int rcvbuf);
int		 rawtls_send(struct rawconn *c, const char *p, size_t len);
/*
 * Send p on c as nrec TLS records of lens[i] bytes each (one after the
 * other in p), the records' bytes written to the socket in pieces of at
 * most segment bytes, pause_ms apart (each piece its own TCP segment).
 */
int		 rawtls_send_records(struct rawconn *c, const char *p,
		    const size_t *lens, size_t nrec, size_t segment,
		    long pause_ms);
/*
 * The next final response on c (a kept-alive connection), its bytes
 * taken off: 0, or -1 when none came within timeout_ms.  elapsed_ms
 * counts from this call.
 */
int		 rawtls_next(struct rawconn *c, long timeout_ms, int head_only,
		    struct rawresp *r);
/* 1 when the server ended the connection within ms, 0 otherwise. */
int		 rawtls_ended(struct rawconn *c, long ms);
void		 rawtls_free(struct rawconn *c);

/* A response header's value (case-insensitive) in a static buffer. */
const char *rawresp_header(const struct rawresp *r, const char *name);
void	 rawresp_free(struct rawresp *r);

#endif
