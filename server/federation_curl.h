/*
 * federation_curl.h - what every HTTPS client transfer of nsregd has in
 * common, whether one GET of a bundle endpoint (federation.c) or a call
 * to a peer registry on a shared connection pool (peer.c): the options
 * that confine libcurl to https without redirects, proxies or resumed
 * TLS sessions; the bounded answer body; the errors of a failed
 * transfer that are not the peer's.
 *
 * The caller owns the easy handle and everything the options point to;
 * they must outlive the transfer.
 */
#ifndef NSREG_FEDERATION_CURL_H
#define NSREG_FEDERATION_CURL_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "error.h"

/* An answer body of at most max bytes, kept NUL-terminated. */
struct federation_curl_body {
	char	*buf;		/* owned; NULL until the first byte */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* the largest body taken */
	int	 too_large;	/* set when an answer went past max */
};

/*
 * Append n bytes of data to b, growing it from first bytes on; a
 * libcurl write callback's answer: n, or 0 (out of memory, or past
 * b->max with b->too_large set) to fail the transfer.
 */
size_t	federation_curl_body_add(struct federation_curl_body *b,
	    size_t first, const char *data, size_t n);

/* The options of federation_curl_setopt. */
struct federation_curl_opts {
	const char		*url;
	struct curl_slist	*hdrs;		/* request headers */
	char			*cerr;		/* CURL_ERROR_SIZE bytes */
	curl_write_callback	 write;		/* the answer's bytes */
	void			*write_arg;
	size_t			 max_body;	/* CURLOPT_MAXFILESIZE */
	long			 connect_ms;	/* connect timeout */
	/*
	 * Not NULL: OpenSSL's verification of the server is off and
	 * ssl_ctx installs the SPIFFE one (federation_tls_install), which
	 * fails the handshake itself.  NULL: the caller sets verification.
	 */
	curl_ssl_ctx_callback	 ssl_ctx;
	void			*ssl_ctx_arg;
	/* The client certificate and key files (PEM); NULL: unset. */
	const char		*cert;
	const char		*key;
};

/*
 * Set o's options on h: https only, no redirects, no proxy, TLS 1.2 or
 * later without session resumption, nsregd's User-Agent.  0, or -1 when
 * libcurl refused one.
 */
int	federation_curl_setopt(CURL *h, const struct federation_curl_opts *o);

/*
 * The error of a transfer of url (what says whose, for messages) that
 * failed with rc, when rc is one the transfer made itself: its deadline
 * of timeout_ms passed, its answer was larger than max_body (too_large:
 * the write callback said so), or memory ran out.  1 with err filled,
 * or 0 for any other rc (the peer's failure; the caller says which).
 */
int	federation_curl_error(CURLcode rc, const char *what, const char *url,
	    int64_t timeout_ms, size_t max_body, int too_large,
	    struct nsreg_error *err);

#endif
