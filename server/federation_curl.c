/*
 * federation_curl.c - the options, answer body and own errors of every
 * HTTPS client transfer of nsregd (federation.c, peer.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "federation_curl.h"

size_t
federation_curl_body_add(struct federation_curl_body *b, size_t first,
    const char *data, size_t n)
{
	size_t	 cap;
	char	*nb;

	if (n > b->max || b->len > b->max - n) {
		b->too_large = 1;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? first : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		if ((nb = realloc(b->buf, cap)) == NULL)
			return 0;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

int
federation_curl_setopt(CURL *h, const struct federation_curl_opts *o)
{
	int	ok = 1;

#define FEDERATION_CURL_OPT(opt, v) \
	ok &= curl_easy_setopt(h, opt, v) == CURLE_OK
	FEDERATION_CURL_OPT(CURLOPT_URL, o->url);
	FEDERATION_CURL_OPT(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	FEDERATION_CURL_OPT(CURLOPT_PROTOCOLS_STR, "https");
#else
	FEDERATION_CURL_OPT(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	FEDERATION_CURL_OPT(CURLOPT_FOLLOWLOCATION, 0L);
	FEDERATION_CURL_OPT(CURLOPT_PROXY, "");
	FEDERATION_CURL_OPT(CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
	/* A resumed session would skip the SPIFFE check. */
	FEDERATION_CURL_OPT(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	FEDERATION_CURL_OPT(CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2);
	FEDERATION_CURL_OPT(CURLOPT_HTTPHEADER, o->hdrs);
	FEDERATION_CURL_OPT(CURLOPT_USERAGENT, "nsregd/" PACKAGE_VERSION);
	FEDERATION_CURL_OPT(CURLOPT_ERRORBUFFER, o->cerr);
	FEDERATION_CURL_OPT(CURLOPT_WRITEFUNCTION, o->write);
	FEDERATION_CURL_OPT(CURLOPT_WRITEDATA, o->write_arg);
	FEDERATION_CURL_OPT(CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)o->max_body);
	if (o->ssl_ctx != NULL) {
		FEDERATION_CURL_OPT(CURLOPT_SSL_VERIFYPEER, 0L);
		FEDERATION_CURL_OPT(CURLOPT_SSL_VERIFYHOST, 0L);
		FEDERATION_CURL_OPT(CURLOPT_SSL_CTX_FUNCTION, o->ssl_ctx);
		FEDERATION_CURL_OPT(CURLOPT_SSL_CTX_DATA, o->ssl_ctx_arg);
	}
	if (o->cert != NULL) {
		FEDERATION_CURL_OPT(CURLOPT_SSLCERT, o->cert);
		FEDERATION_CURL_OPT(CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (o->key != NULL) {
		FEDERATION_CURL_OPT(CURLOPT_SSLKEY, o->key);
		FEDERATION_CURL_OPT(CURLOPT_SSLKEYTYPE, "PEM");
	}
#undef FEDERATION_CURL_OPT
	return ok ? 0 : -1;
}

int
federation_curl_error(CURLcode rc, const char *what, const char *url,
    int64_t timeout_ms, size_t max_body, int too_large,
    struct nsreg_error *err)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		nsreg_error_set(err, NSREG_DEADLINE_EXCEEDED, NULL,
		    "%s %s: no answer within %lld ms", what, url,
		    (long long)timeout_ms);
		return 1;
	case CURLE_FILESIZE_EXCEEDED:
		nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "%s %s: the answer is larger than %zu bytes", what, url,
		    max_body);
		return 1;
	case CURLE_WRITE_ERROR:
		if (too_large)
			nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
			    "%s %s: the answer is larger than %zu bytes",
			    what, url, max_body);
		else
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s %s: out of memory", what, url);
		return 1;
	case CURLE_OUT_OF_MEMORY:
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s %s: out of memory", what, url);
		return 1;
	default:
		return 0;
	}
}
