/*
 * federation.c - the SPIFFE bundle endpoint client, its refresh
 * scheduler, and the HTTPS client of interdomain queries (federation.h).
 * The only file that calls libcurl.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "federation.h"
#include "federation_curl.h"
#include "log.h"
#include "metrics.h"
#include "principal.h"
#include "spiffe.h"
#include "trust.h"
#include "util.h"
#include "x509svid.h"

#define FEDERATION_WORKERS	4
#define FEDERATION_URL_MAX	2048
#define FEDERATION_PAGE		256	/* trust domains per store_list page */
#define FEDERATION_STANDBY	1000	/* ms: not active, look again */

/* ---- the HTTPS client --------------------------------------------------- */

static pthread_once_t	federation_once = PTHREAD_ONCE_INIT;
static int		federation_init_rc;
static char		federation_init_error[NSREG_ERROR_MESSAGE_MAX];

static void
federation_init_once(void)
{
	const curl_version_info_data	*v;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(federation_init_error, sizeof(federation_init_error),
		    "libcurl: curl_global_init failed");
		federation_init_rc = -1;
		return;
	}
	v = curl_version_info(CURLVERSION_NOW);
	/* The SPIFFE profile verifies inside OpenSSL's handshake. */
	if (v == NULL || v->ssl_version == NULL ||
	    strncmp(v->ssl_version, "OpenSSL/", 8) != 0) {
		snprintf(federation_init_error, sizeof(federation_init_error),
		    "libcurl %s uses %s, not OpenSSL: the https_spiffe "
		    "profile needs libcurl built with OpenSSL",
		    v != NULL ? v->version : "?", v != NULL &&
		    v->ssl_version != NULL ? v->ssl_version : "no TLS");
		federation_init_rc = -1;
	}
}

int
federation_global_init(struct nsreg_error *err)
{
	pthread_once(&federation_once, federation_init_once);
	if (federation_init_rc == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s",
		    federation_init_error);
	return 0;
}

/* One exchange: what the callbacks see. */
struct federation_xfer {
	const struct federation_get	*g;
	const atomic_int		*cancel;
	struct federation_curl_body	 body;
	struct federation_tls		 tls;
};

static size_t
federation_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct federation_xfer	*x = arg;

	return federation_curl_body_add(&x->body, 16384, data, size * nmemb);
}

static int
federation_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct federation_xfer	*x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x->cancel != NULL && atomic_load(x->cancel) ? 1 : 0;
}

/* DER of c into a new OpenSSL buffer held by *der, described by *d. */
static int
federation_der(X509 *c, unsigned char **der, struct x509svid_der *d)
{
	int	len;

	*der = NULL;
	if ((len = i2d_X509(c, der)) <= 0)
		return -1;
	d->data = *der;
	d->len = (size_t)len;
	return 0;
}

/*
 * The certificate verification of the SPIFFE profiles, in place of
 * OpenSSL's: the peer's chain (leaf first, then whatever else it sent) is
 * an X.509-SVID of the expected ID or trust domain, verified with that
 * trust domain's bundle only.  Returns 1 to go on with the handshake.
 */
static int
federation_verify_chain(X509_STORE_CTX *sctx, void *arg)
{
	struct federation_tls		*g = arg;
	struct x509svid_der		 chain[X509SVID_CHAIN_MAX];
	unsigned char			*der[X509SVID_CHAIN_MAX];
	struct principal		 p;
	struct nsreg_error		 err;
	STACK_OF(X509)			*sk;
	X509				*leaf, *c;
	size_t				 n = 0, i;
	int				 k, ok = 0;

	memset(&p, 0, sizeof(p));
	leaf = X509_STORE_CTX_get0_cert(sctx);
	sk = X509_STORE_CTX_get0_untrusted(sctx);
	if (leaf == NULL) {
		snprintf(g->error, sizeof(g->error),
		    "the server sent no certificate");
		goto out;
	}
	if (federation_der(leaf, &der[n], &chain[n]) == -1)
		goto oom;
	n++;
	for (k = 0; sk != NULL && k < sk_X509_num(sk); k++) {
		c = sk_X509_value(sk, k);
		if (X509_cmp(c, leaf) == 0)
			continue;
		if (n == X509SVID_CHAIN_MAX) {
			snprintf(g->error, sizeof(g->error),
			    "the server's chain has more than %d certificates",
			    X509SVID_CHAIN_MAX);
			goto out;
		}
		if (federation_der(c, &der[n], &chain[n]) == -1)
			goto oom;
		n++;
	}
	if (x509svid_verify(g->trust, chain, n, util_now_ms(),
	    X509SVID_PURPOSE_SERVER, &p, &err) == -1) {
		snprintf(g->error, sizeof(g->error), "%s",
		    err.message);
		goto out;
	}
	if (g->verify == FEDERATION_VERIFY_SPIFFE_ID &&
	    strcmp(p.id, g->expect) != 0) {
		snprintf(g->error, sizeof(g->error),
		    "the server is %s, not %s", p.id, g->expect);
		goto out;
	}
	if (g->verify == FEDERATION_VERIFY_SPIFFE_TD &&
	    strcmp(p.trust_domain, g->expect) != 0) {
		snprintf(g->error, sizeof(g->error),
		    "the server is %s, not of trust domain %s", p.id,
		    g->expect);
		goto out;
	}
	ok = 1;
	goto out;
oom:
	snprintf(g->error, sizeof(g->error), "out of memory");
out:
	if (!ok)
		X509_STORE_CTX_set_error(sctx,
		    X509_V_ERR_APPLICATION_VERIFICATION);
	for (i = 0; i < n; i++)
		OPENSSL_free(der[i]);
	principal_clear(&p);
	return ok;
}

void
federation_tls_install(void *sslctx, struct federation_tls *t)
{
	SSL_CTX	*ctx = sslctx;

	/* Fail the handshake when federation_verify_chain says no. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, federation_verify_chain, t);
}

static CURLcode
federation_ssl_ctx(CURL *h, void *sslctx, void *arg)
{
	struct federation_xfer	*x = arg;

	(void)h;
	federation_tls_install(sslctx, &x->tls);
	return CURLE_OK;
}

/*
 * A redirect target a bundle endpoint client may follow (standard section
 * 5.2.1.4): an https URL with a host and no userinfo.
 */
static int
federation_redirect_ok(const char *url)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *user = NULL, *pw = NULL;
	int	 ok = 0;

	if (strlen(url) > FEDERATION_URL_MAX || (u = curl_url()) == NULL)
		return 0;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (strcasecmp(scheme, "https") != 0 || host[0] == '\0')
		goto out;
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK)
		goto out;
	ok = 1;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(pw);
	curl_url_cleanup(u);
	return ok;
}

/* Set every option of one hop; 0 or -1. */
static int
federation_setopt(CURL *h, const struct federation_get *g, const char *url,
    int64_t left_ms, struct federation_xfer *x, char *cerr,
    struct curl_slist *hdrs)
{
	int				 web, cert, ok;
	struct federation_curl_opts	 o = {
		.url = url,
		.hdrs = hdrs,
		.cerr = cerr,
		.write = federation_write,
		.write_arg = x,
		.max_body = g->max_body,
		.connect_ms = (long)left_ms,
		.ssl_ctx_arg = x,
	};

	web = g->verify == FEDERATION_VERIFY_WEB;
	cert = g->client_cert != NULL && g->client_key != NULL;
	/*
	 * Web PKI: OpenSSL's verification.  Else the SPIFFE one
	 * (federation_ssl_ctx), which fails the handshake itself.
	 */
	o.ssl_ctx = web ? NULL : federation_ssl_ctx;
	o.cert = cert ? g->client_cert : NULL;
	o.key = cert ? g->client_key : NULL;
	ok = federation_curl_setopt(h, &o) == 0;
#define FEDERATION_OPT(o, v)	ok &= curl_easy_setopt(h, o, v) == CURLE_OK
	FEDERATION_OPT(CURLOPT_TIMEOUT_MS, (long)left_ms);
	/* Each request is authenticated on a connection of its own. */
	FEDERATION_OPT(CURLOPT_FORBID_REUSE, 1L);
	FEDERATION_OPT(CURLOPT_FRESH_CONNECT, 1L);
	FEDERATION_OPT(CURLOPT_NOPROGRESS, 0L);
	FEDERATION_OPT(CURLOPT_XFERINFOFUNCTION, federation_progress);
	FEDERATION_OPT(CURLOPT_XFERINFODATA, x);
	if (web) {
		FEDERATION_OPT(CURLOPT_SSL_VERIFYPEER, 1L);
		FEDERATION_OPT(CURLOPT_SSL_VERIFYHOST, 2L);
		if (g->ca_file != NULL)
			FEDERATION_OPT(CURLOPT_CAINFO, g->ca_file);
	}
#undef FEDERATION_OPT
	return ok ? 0 : -1;
}

/* The error of a failed transfer. */
static int
federation_xfer_error(const struct federation_get *g, const char *url,
    CURLcode rc, const struct federation_xfer *x, const char *cerr,
    struct nsreg_error *err)
{
	const char	*why = cerr[0] != '\0' ? cerr : curl_easy_strerror(rc);

	if (federation_curl_error(rc, g->what, url, g->timeout_ms,
	    g->max_body, x->body.too_large, err))
		return -1;
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
		    "%s %s: cancelled: the server is stopping", g->what, url);
	default:
		break;
	}
	if (x->tls.error[0] != '\0')
		return nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "%s %s: TLS: %s", g->what, url, x->tls.error);
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "%s %s: TLS: %s", g->what, url, why);
	default:
		return nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "%s %s: %s", g->what, url, why);
	}
}

void
federation_reply_clear(struct federation_reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int
federation_get_cancellable(const struct federation_get *g,
    const atomic_int *cancel, struct federation_reply *r,
    struct nsreg_error *err)
{
	struct federation_xfer	 x;
	struct curl_slist	*hdrs = NULL;
	CURL			*h = NULL;
	CURLcode		 rc;
	char			 url[FEDERATION_URL_MAX + 1];
	char			 cerr[CURL_ERROR_SIZE];
	char			*loc;
	int64_t			 deadline, left;
	long			 status;
	int			 hops = 0, ret = -1;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	if (federation_global_init(err) == -1)
		goto out;
	if ((size_t)snprintf(url, sizeof(url), "%s", g->url) >= sizeof(url)) {
		nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "%s: the URL is longer than %d bytes", g->what,
		    FEDERATION_URL_MAX);
		goto out;
	}
	if ((hdrs = curl_slist_append(NULL, "Accept: application/json")) ==
	    NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	deadline = util_mono_us() / 1000 + g->timeout_ms;
	for (;;) {
		left = deadline - util_mono_us() / 1000;
		if (left <= 0) {
			nsreg_error_set(err, NSREG_DEADLINE_EXCEEDED, NULL,
			    "%s %s: no answer within %lld ms", g->what, url,
			    (long long)g->timeout_ms);
			goto out;
		}
		free(x.body.buf);
		memset(&x, 0, sizeof(x));
		x.g = g;
		x.body.max = g->max_body;
		x.tls.verify = g->verify;
		x.tls.expect = g->expect;
		x.tls.trust = g->trust;
		x.cancel = cancel;
		cerr[0] = '\0';
		if ((h = curl_easy_init()) == NULL ||
		    federation_setopt(h, g, url, left, &x, cerr, hdrs) == -1) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s: cannot set up libcurl", g->what);
			goto out;
		}
		if ((rc = curl_easy_perform(h)) != CURLE_OK) {
			federation_xfer_error(g, url, rc, &x, cerr, err);
			goto out;
		}
		status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		loc = NULL;
		if (status >= 300 && status < 400 && g->max_redirects > 0)
			curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
		if (loc == NULL)
			break;
		/* Every redirect is taken as temporary (section 7.5.1). */
		if (hops == g->max_redirects) {
			nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
			    "%s %s: more than %d redirects", g->what, g->url,
			    g->max_redirects);
			goto out;
		}
		if (!federation_redirect_ok(loc)) {
			nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
			    "%s %s: redirected to %.256s, which is not an "
			    "https URL without userinfo", g->what, url, loc);
			goto out;
		}
		snprintf(url, sizeof(url), "%s", loc);
		hops++;
		curl_easy_cleanup(h);
		h = NULL;
	}
	r->status = status;
	if (x.body.buf == NULL && (x.body.buf = strdup("")) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	r->body = x.body.buf;
	r->len = x.body.len;
	x.body.buf = NULL;
	ret = 0;
out:
	free(x.body.buf);
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	return ret;
}

int
federation_get(const struct federation_get *g, struct federation_reply *r,
    struct nsreg_error *err)
{
	return federation_get_cancellable(g, NULL, r, err);
}

/* ---- the scheduler ------------------------------------------------------ */

/* One stored trust domain. */
struct federation_entry {
	char	 name[SPIFFE_TD_MAX + 1];
	json_t	*federation;	/* the stored block (own copy), NULL: none */
	int64_t	 due;		/* next fetch, ms since the epoch */
	int	 busy;		/* a worker fetches it */
	int	 dirty;		/* settings changed during the fetch */
};

/* What the configuration says (copied: SIGHUP replaces it). */
struct federation_opts {
	char	*ca_file;
	char	*tls_cert;
	char	*tls_key;
	int64_t	 timeout;
	int64_t	 refresh_min;
	int64_t	 refresh_default;
	int64_t	 interdomain_timeout;
};

struct federation {
	struct store		 *store;
	struct trust		 *trust;	/* the trust set, borrowed */
	struct metrics		 *metrics;
	pthread_mutex_t		  lock;		/* everything below */
	pthread_cond_t		  cond;
	struct federation_opts	  opts;
	struct federation_entry	**entries;
	size_t			  n;
	size_t			  cap;
	pthread_t		  workers[FEDERATION_WORKERS];
	size_t			  nworkers;
	int			  stopping;
	int			  active;	/* this instance refreshes */
	atomic_int		  cancel;	/* fetches in flight stop */
};

static void
federation_opts_clear(struct federation_opts *o)
{
	free(o->ca_file);
	free(o->tls_cert);
	free(o->tls_key);
	memset(o, 0, sizeof(*o));
}

static int
federation_opts_copy(struct federation_opts *dst,
    const struct federation_opts *src)
{
	memset(dst, 0, sizeof(*dst));
	*dst = *src;
	dst->ca_file = dst->tls_cert = dst->tls_key = NULL;
	if ((src->ca_file != NULL &&
	    (dst->ca_file = strdup(src->ca_file)) == NULL) ||
	    (src->tls_cert != NULL &&
	    (dst->tls_cert = strdup(src->tls_cert)) == NULL) ||
	    (src->tls_key != NULL &&
	    (dst->tls_key = strdup(src->tls_key)) == NULL)) {
		federation_opts_clear(dst);
		return -1;
	}
	return 0;
}

static int
federation_opts_from_conf(struct federation_opts *o, const struct conf *c)
{
	struct federation_opts	t;

	memset(&t, 0, sizeof(t));
	t.ca_file = c->federation_ca_file;
	t.tls_cert = c->tls_cert;
	t.tls_key = c->tls_key;
	t.timeout = c->federation_timeout;
	t.refresh_min = c->federation_refresh_min;
	t.refresh_default = c->federation_refresh_default;
	t.interdomain_timeout = c->interdomain_timeout;
	return federation_opts_copy(o, &t);
}

/* Lock held. */
static struct federation_entry *
federation_find(struct federation *f, const char *name, size_t *at)
{
	size_t	i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->entries[i]->name, name) == 0) {
			if (at != NULL)
				*at = i;
			return f->entries[i];
		}
	return NULL;
}

static void
federation_entry_free(struct federation_entry *e)
{
	if (e == NULL)
		return;
	json_decref(e->federation);
	free(e);
}

/* Lock held.  NULL when memory runs out. */
static struct federation_entry *
federation_add(struct federation *f, const char *name)
{
	struct federation_entry	**ne, *e;
	size_t			  cap;

	if (f->n == f->cap) {
		cap = f->cap == 0 ? 16 : f->cap * 2;
		if ((ne = reallocarray(f->entries, cap, sizeof(*ne))) == NULL)
			return NULL;
		f->entries = ne;
		f->cap = cap;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	snprintf(e->name, sizeof(e->name), "%s", name);
	f->entries[f->n++] = e;
	return e;
}

/*
 * Follow one stored trust domain (obj its rendered object, NULL when it
 * was deleted).  Lock held.
 */
static void
federation_follow(struct federation *f, const char *name, const json_t *obj,
    int64_t now)
{
	struct federation_entry	*e;
	const json_t		*fed, *ra;
	size_t			 at;
	int64_t			 t;

	if (name == NULL || trust_is_local(f->trust, name))
		return;
	e = federation_find(f, name, &at);
	if (obj == NULL) {
		if (e != NULL) {
			federation_entry_free(e);
			f->entries[at] = f->entries[--f->n];
		}
		metrics_bundle_age(f->metrics, name, 0);
		return;
	}
	if (e == NULL && (e = federation_add(f, name)) == NULL) {
		log_warnx("msg=\"out of memory: trust domain not followed\" "
		    "trust_domain=%s", name);
		return;
	}
	fed = json_object_get(obj, "federation");
	if (!json_is_object(fed)) {
		json_decref(e->federation);
		e->federation = NULL;
		e->due = 0;
		metrics_bundle_age(f->metrics, name, 0);
		return;
	}
	if (e->federation == NULL || !json_equal(e->federation, fed)) {
		/* New or changed settings: fetch now. */
		json_decref(e->federation);
		e->federation = json_deep_copy(fed);
		e->due = now;
		if (e->busy)
			e->dirty = 1;
	}
	ra = json_object_get(obj, "refreshed_at");
	if (json_is_string(ra) && util_rfc3339_parse(json_string_value(ra),
	    &t) == 0 && json_is_object(json_object_get(obj, "bundle")))
		metrics_bundle_age(f->metrics, name, t);
	else
		metrics_bundle_age(f->metrics, name, 0);
}

void
federation_store_event(const struct store_event *ev, void *arg)
{
	struct federation	*f = arg;

	if (f == NULL || ev->kind != STORE_TRUST_DOMAIN)
		return;
	pthread_mutex_lock(&f->lock);
	switch (ev->type) {
	case STORE_ADDED:
	case STORE_MODIFIED:
		federation_follow(f, ev->name, ev->object, util_now_ms());
		break;
	case STORE_DELETED:
		federation_follow(f, ev->name, NULL, util_now_ms());
		break;
	default:
		break;
	}
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* ---- one refresh -------------------------------------------------------- */

/* What a refresh writes into the stored trust domain (store_check_fn). */
struct federation_put {
	const json_t	*federation;	/* the settings fetched for */
	json_t		*bundle;	/* the fetched bundle, or NULL */
	int64_t		 sequence;
	int		 has_sequence;
	const char	*url;
	const char	*error;		/* with bundle NULL: last_error */
	int64_t		 now;
	int		 older;		/* out: bundle older than held */
	int64_t		 held;		/* out: the sequence held */
};

static int
federation_put_check(const struct store_object *cur, struct store_object *obj,
    void *arg, struct nsreg_error *err)
{
	struct federation_put	*p = arg;
	const json_t		*seq;
	char			 ts[UTIL_RFC3339_MAX];
	char			 msg[NSREG_ERROR_MESSAGE_MAX];
	int			 ok = 1;

	if (cur == NULL)
		return nsreg_error_set(err, NSREG_NOT_FOUND, NULL,
		    "trust domain %s was deleted during the fetch",
		    obj->name);
	if (!json_equal(json_object_get(cur->doc, "federation"),
	    p->federation))
		return nsreg_error_set(err, NSREG_CONFLICT, NULL,
		    "the federation settings of %s changed during the fetch",
		    obj->name);
	/* The stored object with what the server maintains replaced. */
	if (json_object_clear(obj->doc) == -1 ||
	    json_object_update(obj->doc, cur->doc) == -1)
		goto oom;
	if (p->bundle == NULL) {
		ok &= json_object_set_new(obj->doc, "last_error",
		    json_string(p->error)) == 0;
		goto done;
	}
	seq = json_object_get(cur->doc, "sequence");
	if (p->has_sequence && json_is_integer(seq) &&
	    p->sequence < json_integer_value(seq)) {
		p->older = 1;
		p->held = json_integer_value(seq);
		snprintf(msg, sizeof(msg), "bundle endpoint %s: the bundle's "
		    "spiffe_sequence %lld is older than the %lld held: the "
		    "held bundle is kept", p->url, (long long)p->sequence,
		    (long long)p->held);
		ok &= json_object_set_new(obj->doc, "last_error",
		    json_string(msg)) == 0;
		goto done;
	}
	ok &= json_object_set(obj->doc, "bundle", p->bundle) == 0;
	ok &= json_object_set_new(obj->doc, "sequence", p->has_sequence ?
	    json_integer(p->sequence) : json_null()) == 0;
	ok &= json_object_set_new(obj->doc, "refreshed_at",
	    json_string(util_rfc3339_format(p->now, ts, sizeof(ts)))) == 0;
	ok &= json_object_set_new(obj->doc, "last_error", json_null()) == 0;
done:
	if (ok)
		return 0;
oom:
	return nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
}

/* Write p into the stored td; out (may be NULL) gets the stored object. */
static int
federation_put(struct federation *f, const char *td,
    struct federation_put *p, struct store_object *out,
    struct nsreg_error *err)
{
	struct store_object	obj;
	int			created, rc = -1;

	memset(&obj, 0, sizeof(obj));
	obj.kind = STORE_TRUST_DOMAIN;
	if ((obj.name = strdup(td)) == NULL || (obj.doc = json_object()) ==
	    NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	/* if_match -1: the trust domain must still exist. */
	if (store_put(f->store, &obj, -1, federation_put_check, p,
	    p->now, &created, err) == -1)
		goto out;
	if (out != NULL) {
		*out = obj;
		memset(&obj, 0, sizeof(obj));
	}
	rc = 0;
out:
	store_object_clear(&obj);
	return rc;
}

/*
 * The refresh interval after a fetch (ms): the hint of the bundle fetched
 * (b), else of the bundle held, else refresh-default; within refresh-min
 * and FEDERATION_REFRESH_MAX.
 */
static int64_t
federation_interval(struct federation *f, const struct federation_opts *o,
    const char *td, struct bundle *b)
{
	struct bundle	*held = NULL;
	int64_t		 hint, ms = o->refresh_default;

	if (b == NULL)
		b = held = trust_get(f->trust, td);
	if (b != NULL && bundle_refresh_hint(b, &hint)) {
		if (hint > FEDERATION_REFRESH_MAX / 1000)
			hint = FEDERATION_REFRESH_MAX / 1000;
		ms = hint * 1000;
	}
	bundle_unref(held);
	if (ms < o->refresh_min)
		ms = o->refresh_min;
	if (ms > FEDERATION_REFRESH_MAX)
		ms = FEDERATION_REFRESH_MAX;
	return ms;
}

/*
 * Fetch td's bundle per fed (its stored federation block) and write the
 * outcome.  Returns 0 or -1 with err (the fetch's error); *interval gets
 * the time to the next fetch; out (may be NULL) the stored object as
 * written (also after a failure that was recorded).
 */
static int
federation_run(struct federation *f, const char *td, const json_t *fed,
    int64_t *interval, struct store_object *out, struct nsreg_error *err)
{
	struct federation_opts	 o;
	struct federation_get	 g;
	struct federation_reply	 r;
	struct federation_put	 p;
	struct nsreg_error	 werr;
	struct bundle		*b = NULL;
	const char		*url, *profile;
	char			 why[NSREG_ERROR_MESSAGE_MAX], q[600];
	int64_t			 t0, seq;
	int			 rc = -1, has_seq, stopping = 0;

	memset(&r, 0, sizeof(r));
	memset(&p, 0, sizeof(p));
	why[0] = '\0';
	t0 = util_mono_us();
	pthread_mutex_lock(&f->lock);
	rc = federation_opts_copy(&o, &f->opts);
	pthread_mutex_unlock(&f->lock);
	if (rc == -1) {
		/* Not even the settings: try again a minute later. */
		memset(&o, 0, sizeof(o));
		o.refresh_default = o.refresh_min = 60 * 1000;
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	rc = -1;
	url = json_string_value(json_object_get(fed, "bundle_endpoint_url"));
	profile = json_string_value(json_object_get(fed, "profile"));
	memset(&g, 0, sizeof(g));
	g.url = url != NULL ? url : "";
	g.what = "bundle endpoint";
	g.trust = f->trust;
	g.timeout_ms = o.timeout;
	g.max_body = FEDERATION_BUNDLE_MAX;
	g.max_redirects = FEDERATION_REDIRECTS;
	if (profile != NULL && strcmp(profile, "https_spiffe") == 0) {
		g.verify = FEDERATION_VERIFY_SPIFFE_ID;
		g.expect = json_string_value(json_object_get(fed,
		    "endpoint_spiffe_id"));
		if (g.expect == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "federation.endpoint_spiffe_id is missing");
			goto failed;
		}
	} else {
		g.verify = FEDERATION_VERIFY_WEB;
		g.ca_file = o.ca_file;
	}
	if (federation_get_cancellable(&g, &f->cancel, &r, err) == -1)
		goto failed;
	if (r.status != 200) {
		nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "bundle endpoint %s: answered HTTP %ld", g.url, r.status);
		goto failed;
	}
	if ((b = bundle_parse(td, r.body, r.len, BUNDLE_FORMAT_SPIFFE,
	    err)) == NULL) {
		snprintf(why, sizeof(why), "%s", err->message);
		nsreg_error_set(err, err->code == NSREG_INTERNAL ?
		    NSREG_INTERNAL : NSREG_BAD_GATEWAY, NULL,
		    "bundle endpoint %s: %s", g.url, why);
		goto failed;
	}
	has_seq = bundle_sequence(b, &seq);
	p.federation = fed;
	p.url = g.url;
	p.now = util_now_ms();
	p.has_sequence = has_seq;
	p.sequence = has_seq ? seq : 0;
	if ((p.bundle = bundle_to_json(b)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto failed;
	}
	if (federation_put(f, td, &p, out, err) == -1)
		goto done;	/* deleted or changed meanwhile: not recorded */
	if (p.older) {
		nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "bundle endpoint %s: the bundle's spiffe_sequence %lld is "
		    "older than the %lld held: the held bundle is kept",
		    g.url, (long long)p.sequence, (long long)p.held);
		goto done;
	}
	metrics_bundle_age(f->metrics, td, p.now);
	log_info("msg=\"bundle refreshed\" trust_domain=%s url=%s "
	    "sequence=%lld x509_authorities=%zu jwt_keys=%zu dur_ms=%.1f",
	    td, log_quote(q, sizeof(q), g.url), has_seq ? (long long)seq :
	    -1LL, bundle_x509_count(b), bundle_jwt_count(b),
	    (double)(util_mono_us() - t0) / 1000.0);
	rc = 0;
	goto done;
failed:
	/*
	 * Record the failure (a concurrent change or delete wins), unless
	 * the server is stopping: that is no failure of the peer.
	 */
	stopping = atomic_load(&f->cancel);
	p.federation = fed;
	p.now = util_now_ms();
	p.error = err->message;
	json_decref(p.bundle);
	p.bundle = NULL;
	if (out != NULL)
		store_object_clear(out);
	if (!stopping && federation_put(f, td, &p, out, &werr) == -1)
		log_debug("msg=\"refresh failure not recorded\" "
		    "trust_domain=%s error=\"%s\"", td, werr.message);
done:
	if (rc == -1 && !stopping)
		log_warnx("msg=\"bundle refresh failed\" trust_domain=%s "
		    "error=%s", td, log_quote(why, sizeof(why),
		    err->message));
	if (!stopping)
		metrics_bundle_refresh(f->metrics, td, rc == 0);
	*interval = federation_interval(f, &o, td, rc == 0 ? b : NULL);
	json_decref(p.bundle);
	bundle_unref(b);
	federation_reply_clear(&r);
	federation_opts_clear(&o);
	return rc;
}

/* Lock held: the federated entry due first that no worker holds. */
static struct federation_entry *
federation_next(struct federation *f)
{
	struct federation_entry	*e, *best = NULL;
	size_t			 i;

	for (i = 0; i < f->n; i++) {
		e = f->entries[i];
		if (e->federation == NULL || e->busy)
			continue;
		if (best == NULL || e->due < best->due)
			best = e;
	}
	return best;
}

static void *
federation_worker(void *arg)
{
	struct federation	*f = arg;
	struct federation_entry	*e;
	struct nsreg_error	 err;
	struct timespec		 ts;
	char			 name[SPIFFE_TD_MAX + 1];
	json_t			*fed;
	int64_t			 now, interval;

	pthread_mutex_lock(&f->lock);
	while (!f->stopping) {
		now = util_now_ms();
		e = federation_next(f);
		if (e != NULL && e->due <= now && !f->active) {
			/* Another instance refreshes: ask again later. */
			e->due = now + FEDERATION_STANDBY;
			continue;
		}
		if (e != NULL && e->due <= now) {
			e->busy = 1;
			e->dirty = 0;
			snprintf(name, sizeof(name), "%s", e->name);
			fed = json_deep_copy(e->federation);
			pthread_mutex_unlock(&f->lock);
			if (fed != NULL)
				federation_run(f, name, fed, &interval, NULL,
				    &err);
			else
				interval = 60 * 1000;
			json_decref(fed);
			pthread_mutex_lock(&f->lock);
			if ((e = federation_find(f, name, NULL)) != NULL) {
				e->busy = 0;
				e->due = e->dirty ? util_now_ms() :
				    util_now_ms() + interval;
				e->dirty = 0;
			}
			pthread_cond_broadcast(&f->cond);
			continue;
		}
		if (e == NULL) {
			pthread_cond_wait(&f->cond, &f->lock);
			continue;
		}
		ts.tv_sec = (time_t)(e->due / 1000);
		ts.tv_nsec = (long)(e->due % 1000) * 1000000L;
		pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

void
federation_set_active(struct federation *f, int active)
{
	pthread_mutex_lock(&f->lock);
	if (f->active != active) {
		f->active = active;
		pthread_cond_broadcast(&f->cond);
	}
	pthread_mutex_unlock(&f->lock);
}

struct federation *
federation_new(struct store *store, struct trust *trust,
    struct metrics *metrics, const struct conf *conf, struct nsreg_error *err)
{
	struct federation	*f;

	if (federation_global_init(err) == -1)
		return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	f->store = store;
	f->trust = trust;
	f->metrics = metrics;
	f->active = 1;
	atomic_init(&f->cancel, 0);
	if (federation_opts_from_conf(&f->opts, conf) == -1) {
		free(f);
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	return f;
}

/*
 * Follow every stored trust domain; with sweep, also forget the entries
 * the store no longer holds (after missed events).
 */
static int
federation_load(struct federation *f, int64_t now, int sweep,
    struct nsreg_error *err)
{
	struct store_query	 q;
	struct store_object	 o;
	struct nsreg_error	 e;
	json_t			*items = NULL, *o2, *listed = NULL, *gone = NULL;
	const char		*name;
	char			 after[SPIFFE_TD_MAX + 1];
	int64_t			 rev;
	size_t			 i;
	int			 more = 1, rc = -1;

	if (sweep && ((listed = json_object()) == NULL ||
	    (gone = json_array()) == NULL)) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	after[0] = '\0';
	while (more) {
		memset(&q, 0, sizeof(q));
		q.kind = STORE_TRUST_DOMAIN;
		q.after_name = after[0] != '\0' ? after : NULL;
		q.limit = FEDERATION_PAGE;
		if (store_list(f->store, &q, now, &items, &rev, &more,
		    err) == -1)
			goto out;
		if (json_array_size(items) == 0)
			more = 0;
		pthread_mutex_lock(&f->lock);
		json_array_foreach(items, i, o2) {
			name = json_string_value(json_object_get(o2, "name"));
			federation_follow(f, name, o2, now);
			if (name != NULL)
				snprintf(after, sizeof(after), "%s", name);
			if (name != NULL && listed != NULL)
				json_object_set(listed, name, json_true());
		}
		pthread_mutex_unlock(&f->lock);
		json_decref(items);
		items = NULL;
	}
	if (sweep) {
		pthread_mutex_lock(&f->lock);
		for (i = 0; i < f->n; i++) {
			if (json_object_get(listed, f->entries[i]->name) ==
			    NULL)
				json_array_append_new(gone,
				    json_string(f->entries[i]->name));
		}
		pthread_mutex_unlock(&f->lock);
		/* The store says which of them are gone for good. */
		json_array_foreach(gone, i, o2) {
			name = json_string_value(o2);
			memset(&o, 0, sizeof(o));
			if (store_fetch(f->store, STORE_TRUST_DOMAIN, name, now,
			    &o, &e) == 0) {
				store_object_clear(&o);
				continue;
			}
			if (e.code != NSREG_NOT_FOUND)
				continue;
			pthread_mutex_lock(&f->lock);
			federation_follow(f, name, NULL, now);
			pthread_mutex_unlock(&f->lock);
		}
	}
	rc = 0;
out:
	json_decref(items);
	json_decref(listed);
	json_decref(gone);
	return rc;
}

int
federation_resync(struct federation *f, int64_t now, struct nsreg_error *err)
{
	int	rc;

	rc = federation_load(f, now, 1, err);
	pthread_mutex_lock(&f->lock);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int
federation_start(struct federation *f, int64_t now, struct nsreg_error *err)
{
	size_t	i;
	int	rc = -1;

	if (federation_load(f, now, 0, err) == -1)
		goto out;
	for (i = 0; i < FEDERATION_WORKERS; i++) {
		if (pthread_create(&f->workers[i], NULL, federation_worker,
		    f) != 0) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "cannot start the federation workers");
			goto out;
		}
		f->nworkers++;
	}
	rc = 0;
out:
	return rc;
}

int
federation_reload(struct federation *f, const struct conf *conf,
    struct nsreg_error *err)
{
	struct federation_opts	o;

	if (federation_opts_from_conf(&o, conf) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	pthread_mutex_lock(&f->lock);
	federation_opts_clear(&f->opts);
	f->opts = o;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

void
federation_free(struct federation *f)
{
	size_t	i;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = 1;
	atomic_store(&f->cancel, 1);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (i = 0; i < f->nworkers; i++)
		pthread_join(f->workers[i], NULL);
	for (i = 0; i < f->n; i++)
		federation_entry_free(f->entries[i]);
	free(f->entries);
	federation_opts_clear(&f->opts);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int
federation_client(struct federation *f, char **cert, char **key,
    int64_t *timeout_ms, struct nsreg_error *err)
{
	int	rc = 0;

	*cert = *key = NULL;
	pthread_mutex_lock(&f->lock);
	*timeout_ms = f->opts.interdomain_timeout;
	if (f->opts.tls_cert != NULL && f->opts.tls_key != NULL &&
	    ((*cert = strdup(f->opts.tls_cert)) == NULL ||
	    (*key = strdup(f->opts.tls_key)) == NULL)) {
		free(*cert);
		*cert = NULL;
		rc = nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int
federation_refresh(struct federation *f, const char *td, int64_t now,
    struct store_object *out, struct nsreg_error *err)
{
	struct federation_entry	*e;
	struct store_object	 cur;
	const json_t		*fed;
	json_t			*copy = NULL;
	int64_t			 interval;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&cur, 0, sizeof(cur));
	if (store_fetch(f->store, STORE_TRUST_DOMAIN, td, now, &cur,
	    err) == -1)
		goto out;
	fed = json_object_get(cur.doc, "federation");
	if (!json_is_object(fed)) {
		nsreg_error_set(err, NSREG_CONFLICT, NULL,
		    "trust domain %s has no federation settings: its bundle "
		    "is the one given with PUT", td);
		goto out;
	}
	if ((copy = json_deep_copy(fed)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	rc = federation_run(f, td, copy, &interval, out, err);
	/* The next scheduled fetch is one interval from this one. */
	pthread_mutex_lock(&f->lock);
	if ((e = federation_find(f, td, NULL)) != NULL && !e->busy &&
	    e->federation != NULL && json_equal(e->federation, copy))
		e->due = util_now_ms() + interval;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
out:
	json_decref(copy);
	store_object_clear(&cur);
	return rc;
}

json_t *
federation_claims_check(const json_t *v, struct nsreg_error *err)
{
	const json_t	*e, *o;
	const char	*s, *c;
	json_t		*out = NULL;
	char		 field[NSREG_ERROR_FIELD_MAX];
	size_t		 i, j, n;

	if (!json_is_array(v)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "allowed_claims",
		    "allowed_claims: must be an array of claim names");
		return NULL;
	}
	if (json_array_size(v) > FEDERATION_CLAIMS_MAX) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "allowed_claims",
		    "allowed_claims: at most %d claim names",
		    FEDERATION_CLAIMS_MAX);
		return NULL;
	}
	json_array_foreach(v, i, e) {
		snprintf(field, sizeof(field), "allowed_claims[%zu]", i);
		if (!json_is_string(e)) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
			    "%s: must be a string", field);
			return NULL;
		}
		s = json_string_value(e);
		n = json_string_length(e);
		if (n == 0 || n > FEDERATION_CLAIM_MAX ||
		    strlen(s) != n) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
			    "%s: a claim name has 1 to %d bytes", field,
			    FEDERATION_CLAIM_MAX);
			return NULL;
		}
		for (c = s; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
				    field, "%s: control characters are not "
				    "allowed", field);
				return NULL;
			}
		for (j = 0; j < i; j++) {
			o = json_array_get(v, j);
			if (strcmp(json_string_value(o), s) == 0) {
				nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
				    field, "%s: \"%s\" is listed twice", field,
				    s);
				return NULL;
			}
		}
	}
	if ((out = json_deep_copy(v)) == NULL)
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
	return out;
}
