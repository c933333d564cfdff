/*
 * fedfix.h - a small HTTPS server for the federation tests: a bundle
 * endpoint or a peer registry on 127.0.0.1 whose answers the test sets
 * per path (status, body, Location, delay, no answer at all), which
 * records what it was asked and who asked (the client certificate's URI
 * SAN).  OpenSSL, one thread, one connection at a time.
 */
#ifndef NSREG_FEDFIX_H
#define NSREG_FEDFIX_H

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>

#include "svid.h"

#define FEDFIX_ROUTES	8

struct fedfix_route {
	char	 path[256];	/* exact, query included when present */
	long	 status;
	char	*body;		/* owned */
	size_t	 len;
	char	 location[512];	/* Location header, "" for none */
	int	 delay_ms;	/* before answering */
	int	 hang;		/* never answer */
	int	 no_length;	/* no Content-Length: the end is the close */
	int	 hits;
};

struct fedfix {
	unsigned short		 port;
	char			 url[64];	/* https://127.0.0.1:PORT */
	void			*ctx;		/* SSL_CTX */
	int			 fd;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	struct fedfix_route	 routes[FEDFIX_ROUTES];
	size_t			 nroutes;
	int			 requests;	/* every request read */
	int			 handshakes;	/* TLS handshakes completed */
	char			 last_target[1024];
	char			 client_id[512];  /* "" when none */
	volatile int		 stop;
};

/*
 * Start on a free port with a server certificate minted by ca for id
 * (may be NULL: no URI SAN) with IP SAN 127.0.0.1 and DNS SAN dns (may be
 * NULL); flags are SVID_X509_* (e.g. SVID_X509_INTERMEDIATE).
 */
void	fedfix_start(struct fedfix *f, const struct svid_ca *ca,
	    const char *id, const char *dns, unsigned int flags);
void	fedfix_stop(struct fedfix *f);

/* Set what path answers (replacing an earlier setting). */
void	fedfix_set(struct fedfix *f, const char *path, long status,
	    const char *body, size_t len);
/* The same with the JSON of v (stolen), compact. */
void	fedfix_set_json(struct fedfix *f, const char *path, long status,
	    json_t *v);
void	fedfix_set_redirect(struct fedfix *f, const char *path, long status,
	    const char *location);
void	fedfix_set_delay(struct fedfix *f, const char *path, int delay_ms,
	    int hang);
void	fedfix_set_no_length(struct fedfix *f, const char *path);

/* How many requests path got. */
int	fedfix_hits(struct fedfix *f, const char *path);
int	fedfix_requests(struct fedfix *f);
int	fedfix_handshakes(struct fedfix *f);
/* Copy of the last request target and client SPIFFE ID. */
void	fedfix_last(struct fedfix *f, char *target, size_t tlen, char *client,
	    size_t clen);

#endif
