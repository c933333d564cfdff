/*
 * peer.c - pooled, non-blocking interdomain calls on one libcurl multi
 * handle driven by one thread (peer.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "federation.h"
#include "federation_curl.h"
#include "metrics.h"
#include "peer.h"
#include "spiffe.h"
#include "trust.h"
#include "util.h"

#define PEER_POLL_MAX_MS	1000	/* longest sleep of the thread */

struct peer_domain;

/* One generation of a trust domain's connections. */
struct peer_pool {
	struct peer_pool	*next;		/* p->retired */
	struct peer_domain	*dom;
	CURLSH			*sh;		/* its connection cache */
	uint64_t		 bundle_id;	/* of the bundle it was made for */
	char			*base;		/* registry_url at creation */
	size_t			 users;		/* transfers on it */
	struct federation_tls	 tls;		/* the handshakes' check */
};

/* What is known of one peer. */
struct peer_domain {
	struct peer_domain	*next;
	char			 td[SPIFFE_TD_MAX + 1];
	struct peer_pool	*pool;		/* current, peer thread only */
	/* Under p->lock: */
	int64_t			 down_until;	/* monotonic ms, 0: up */
	int64_t			 down_since;
	uint64_t		 down_bundle;	/* the bundle it failed with */
	char			*down_base;	/* the URL it failed at */
	char			 down_msg[NSREG_ERROR_MESSAGE_MAX];
};

/* One call. */
struct peer_xfer {
	struct peer_xfer	*next;		/* queue or active list */
	struct peer_xfer	*prev;
	struct peer		*p;
	struct peer_domain	*dom;
	struct peer_pool	*pool;
	CURL			*h;
	struct curl_slist	*hdrs;
	char			*url;
	char			*base;
	uint64_t		 bundle_id;
	char			*method;
	char			*body;
	size_t			 body_len;
	char			*cert;
	char			*key;
	char			*what;
	int64_t			 deadline;	/* monotonic ms */
	int64_t			 timeout_ms;
	int64_t			 backoff_ms;
	struct federation_curl_body answer;	/* bounded */
	char			 cerr[CURL_ERROR_SIZE];
	void			(*done)(void *, const struct peer_answer *);
	void			*arg;
	int			(*data)(void *, const char *, size_t);
	int64_t			 idle_s;
};

/* A peer_cancel waiting for the peer thread. */
struct peer_cancel {
	struct peer_cancel	*next;
	void			*arg;
};

struct peer {
	struct trust		*trust;
	struct metrics		*metrics;
	CURLM			*multi;
	pthread_t		 thread;
	int			 running;
	pthread_mutex_t		 lock;		/* below */
	pthread_cond_t		 cond;		/* stopped */
	struct peer_domain	*domains;
	struct peer_xfer	*queue;		/* queued, newest first */
	struct peer_cancel	*cancels;
	int			 stopping;
	int			 stopped;	/* the thread ended every call */
	/* Peer thread only: */
	struct peer_xfer	*active;
	struct peer_pool	*retired;
};

static void
peer_xfer_free(struct peer_xfer *x)
{
	if (x == NULL)
		return;
	if (x->h != NULL)
		curl_easy_cleanup(x->h);
	curl_slist_free_all(x->hdrs);
	free(x->url);
	free(x->base);
	free(x->method);
	free(x->body);
	if (x->key != NULL)
		explicit_bzero(x->key, strlen(x->key));
	free(x->cert);
	free(x->key);
	free(x->what);
	free(x->answer.buf);
	free(x);
}

static void
peer_pool_free(struct peer_pool *pl)
{
	if (pl == NULL)
		return;
	/* Closes the pool's connections. */
	if (pl->sh != NULL)
		curl_share_cleanup(pl->sh);
	free(pl->base);
	free(pl);
}

/* A new pool of dom for bundle_id and the URL base.  NULL: no memory. */
static struct peer_pool *
peer_pool_new(struct peer *p, struct peer_domain *dom, uint64_t bundle_id,
    const char *base)
{
	struct peer_pool	*pl;

	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		goto fail;
	pl->dom = dom;
	pl->bundle_id = bundle_id;
	pl->tls.verify = FEDERATION_VERIFY_SPIFFE_TD;
	pl->tls.expect = dom->td;
	pl->tls.trust = p->trust;
	if ((pl->base = strdup(base)) == NULL ||
	    (pl->sh = curl_share_init()) == NULL ||
	    curl_share_setopt(pl->sh, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)
		goto fail;
	return pl;
fail:
	peer_pool_free(pl);
	return NULL;
}

/* Peer thread: free retired pools no transfer uses any more. */
static void
peer_pools_prune(struct peer *p)
{
	struct peer_pool	**pp = &p->retired, *pl;

	while ((pl = *pp) != NULL) {
		if (pl->users > 0) {
			pp = &pl->next;
			continue;
		}
		*pp = pl->next;
		peer_pool_free(pl);
	}
}

static size_t
peer_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct peer_xfer	*x = arg;
	size_t			 n = size * nmemb;
	long			 status = 0;

	if (x->data != NULL) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200)
			return x->data(x->arg, data, n) == -1 ? 0 : n;
	}
	return federation_curl_body_add(&x->answer, 4096, data, n);
}

static CURLcode
peer_ssl_ctx(CURL *h, void *sslctx, void *arg)
{
	struct peer_pool	*pl = arg;

	(void)h;
	pl->tls.error[0] = '\0';
	federation_tls_install(sslctx, &pl->tls);
	return CURLE_OK;
}

/* Set up x's easy handle on its pool; 0 or -1. */
static int
peer_xfer_setopt(struct peer_xfer *x)
{
	int64_t	left = x->deadline - util_mono_us() / 1000;
	int	ok;

	if (left < 1)
		left = 1;
	if ((x->h = curl_easy_init()) == NULL)
		return -1;
	ok = federation_curl_setopt(x->h, &(const struct federation_curl_opts) {
	    .url = x->url, .hdrs = x->hdrs, .cerr = x->cerr,
	    .write = peer_write, .write_arg = x, .max_body = x->answer.max,
	    .connect_ms = (long)left,
	    .ssl_ctx = peer_ssl_ctx, .ssl_ctx_arg = x->pool,
	    .cert = x->cert, .key = x->key }) == 0;
#define PEER_OPT(o, v)	ok &= curl_easy_setopt(x->h, o, v) == CURLE_OK
	PEER_OPT(CURLOPT_SHARE, x->pool->sh);
	PEER_OPT(CURLOPT_PRIVATE, x);
	if (x->data == NULL)
		PEER_OPT(CURLOPT_TIMEOUT_MS, (long)left);
	else if (x->idle_s > 0) {
		PEER_OPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
		PEER_OPT(CURLOPT_LOW_SPEED_TIME, (long)x->idle_s);
	}
	PEER_OPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	PEER_OPT(CURLOPT_PIPEWAIT, 1L);
	PEER_OPT(CURLOPT_TCP_KEEPALIVE, 1L);
	if (x->method != NULL && strcmp(x->method, "GET") != 0) {
		PEER_OPT(CURLOPT_CUSTOMREQUEST, x->method);
		if (x->body != NULL) {
			PEER_OPT(CURLOPT_POSTFIELDS, x->body);
			PEER_OPT(CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)x->body_len);
		}
	}
#undef PEER_OPT
	return ok ? 0 : -1;
}

/* Was the peer unreachable (remembered for the backoff)? */
static int
peer_unreachable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return 1;
	default:
		return 0;
	}
}

/* The error of a failed transfer x. */
static void
peer_xfer_error(struct peer_xfer *x, CURLcode rc, struct nsreg_error *err)
{
	const char	*why = x->cerr[0] != '\0' ? x->cerr :
			    curl_easy_strerror(rc);
	int		 tls;

	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_USE_SSL_FAILED:
		tls = 1;
		break;
	default:
		tls = 0;
		break;
	}
	/* The transfer's own failures first, then the peer's. */
	if (federation_curl_error(rc, x->what, x->url, x->timeout_ms,
	    x->answer.max, x->answer.too_large, err) == 0)
		nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL, "%s %s: %s%s",
		    x->what, x->url, tls ? "TLS: " : "", tls &&
		    x->pool->tls.error[0] != '\0' ? x->pool->tls.error : why);
}

/*
 * Peer thread: end x with rc (CURLE_OK: answered) or, when err is not
 * NULL, with err; x is freed.
 */
static void
peer_xfer_end(struct peer *p, struct peer_xfer *x, CURLcode rc,
    const struct nsreg_error *err)
{
	struct peer_answer	 a;
	struct nsreg_error	 e;
	struct peer_domain	*d = x->dom;
	long			 conns = 0, status = 0;
	int64_t			 now = util_mono_us() / 1000;

	memset(&a, 0, sizeof(a));
	nsreg_error_clear(&e);
	if (x->h != NULL) {
		curl_easy_getinfo(x->h, CURLINFO_NUM_CONNECTS, &conns);
		metrics_peer_connections(p->metrics, d->td, (uint64_t)
		    (conns > 0 ? conns : 0));
		if (err == NULL && rc == CURLE_OK)
			curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE,
			    &status);
		/* Its connection goes back to the pool at once. */
		if (x->pool != NULL)
			curl_multi_remove_handle(p->multi, x->h);
	}
	if (err != NULL) {
		e = *err;
		a.err = &e;
	} else if (rc != CURLE_OK) {
		peer_xfer_error(x, rc, &e);
		a.err = &e;
	} else {
		a.status = status;
		a.body = x->answer.buf != NULL ? x->answer.buf : "";
		a.len = x->answer.len;
	}
	pthread_mutex_lock(&p->lock);
	if (a.err == NULL)
		d->down_until = 0;
	else if (err == NULL && peer_unreachable(rc) && x->backoff_ms > 0 &&
	    x->pool != NULL) {
		if (d->down_until == 0)
			d->down_since = now;
		d->down_until = now + x->backoff_ms;
		d->down_bundle = x->pool->bundle_id;
		free(d->down_base);
		d->down_base = strdup(x->base);
		snprintf(d->down_msg, sizeof(d->down_msg), "%s", e.message);
	}
	pthread_mutex_unlock(&p->lock);
	metrics_peer_request(p->metrics, d->td, a.err == NULL ?
	    METRICS_PEER_OK : METRICS_PEER_ERROR);
	x->done(x->arg, &a);
	if (x->pool != NULL)
		x->pool->users--;
	peer_xfer_free(x);
}

static void
peer_active_unlink(struct peer *p, struct peer_xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		p->active = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->next = x->prev = NULL;
}

/* Peer thread: the pool for x, a new one when the bundle or URL moved. */
static struct peer_pool *
peer_pool_for(struct peer *p, struct peer_xfer *x)
{
	struct peer_domain	*d = x->dom;

	if (d->pool != NULL && (d->pool->bundle_id != x->bundle_id ||
	    strcmp(d->pool->base, x->base) != 0)) {
		/* Rotated: no new request rides an old connection. */
		d->pool->next = p->retired;
		p->retired = d->pool;
		d->pool = NULL;
	}
	if (d->pool == NULL)
		d->pool = peer_pool_new(p, d, x->bundle_id, x->base);
	return d->pool;
}

/* Peer thread: start the queued calls. */
static void
peer_start_queued(struct peer *p)
{
	struct peer_xfer	*q, *x, *rev = NULL;
	struct nsreg_error	 err;

	pthread_mutex_lock(&p->lock);
	q = p->queue;
	p->queue = NULL;
	pthread_mutex_unlock(&p->lock);
	/* Oldest first. */
	while ((x = q) != NULL) {
		q = x->next;
		x->next = rev;
		rev = x;
	}
	while ((x = rev) != NULL) {
		rev = x->next;
		x->next = NULL;
		if ((x->pool = peer_pool_for(p, x)) == NULL) {
			nsreg_error_set(&err, NSREG_INTERNAL, NULL,
			    "%s: out of memory", x->what);
			peer_xfer_end(p, x, CURLE_OK, &err);
			continue;
		}
		x->pool->users++;
		if (peer_xfer_setopt(x) == -1 ||
		    curl_multi_add_handle(p->multi, x->h) != CURLM_OK) {
			nsreg_error_set(&err, NSREG_INTERNAL, NULL,
			    "%s: cannot set up libcurl", x->what);
			curl_easy_cleanup(x->h);
			x->h = NULL;
			peer_xfer_end(p, x, CURLE_OK, &err);
			continue;
		}
		x->next = p->active;
		if (p->active != NULL)
			p->active->prev = x;
		p->active = x;
	}
}

/* Peer thread: end every call with err. */
static void
peer_end_all(struct peer *p, const struct nsreg_error *err)
{
	struct peer_xfer	*x, *q;

	while ((x = p->active) != NULL) {
		peer_active_unlink(p, x);
		peer_xfer_end(p, x, CURLE_OK, err);
	}
	pthread_mutex_lock(&p->lock);
	q = p->queue;
	p->queue = NULL;
	pthread_mutex_unlock(&p->lock);
	while ((x = q) != NULL) {
		q = x->next;
		peer_xfer_end(p, x, CURLE_OK, err);
	}
}

/* Peer thread: end the calls past their deadline; the next deadline. */
static int64_t
peer_expire(struct peer *p, int64_t now)
{
	struct peer_xfer	*x, *next;
	struct nsreg_error	 err;
	int64_t			 next_due = now + PEER_POLL_MAX_MS;
	long			 status;

	for (x = p->active; x != NULL; x = next) {
		next = x->next;
		if (x->data != NULL) {
			/* A stream: past its head, only idle_s bounds it. */
			status = 0;
			curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE,
			    &status);
			if (status != 0)
				continue;
		}
		if (x->deadline > now) {
			if (x->deadline < next_due)
				next_due = x->deadline;
			continue;
		}
		peer_active_unlink(p, x);
		nsreg_error_set(&err, NSREG_DEADLINE_EXCEEDED, NULL,
		    "%s %s: no answer within %lld ms", x->what, x->url,
		    (long long)x->timeout_ms);
		peer_xfer_end(p, x, CURLE_OK, &err);
	}
	return next_due;
}

void
peer_cancel(struct peer *p, void *arg)
{
	struct peer_cancel	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->arg = arg;
	pthread_mutex_lock(&p->lock);
	c->next = p->cancels;
	p->cancels = c;
	pthread_mutex_unlock(&p->lock);
	curl_multi_wakeup(p->multi);
}

/* Peer thread: end the streams peer_cancel named (once started). */
static void
peer_cancel_streams(struct peer *p)
{
	struct peer_cancel	*c, *q;
	struct peer_xfer	*x, *next;
	struct nsreg_error	 err;

	pthread_mutex_lock(&p->lock);
	q = p->cancels;
	p->cancels = NULL;
	pthread_mutex_unlock(&p->lock);
	while ((c = q) != NULL) {
		q = c->next;
		for (x = p->active; x != NULL; x = next) {
			next = x->next;
			if (x->arg != c->arg || x->data == NULL)
				continue;
			peer_active_unlink(p, x);
			nsreg_error_set(&err, NSREG_UNAVAILABLE, NULL,
			    "%s %s: cancelled", x->what, x->url);
			peer_xfer_end(p, x, CURLE_OK, &err);
		}
		free(c);
	}
}

static void *
peer_thread(void *arg)
{
	struct peer		*p = arg;
	struct peer_xfer	*x;
	struct nsreg_error	 err;
	CURLMsg			*msg;
	char			*priv;
	long			 ct;
	int			 running, left, stopping;
	int64_t			 now, due, wait;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		stopping = p->stopping;
		pthread_mutex_unlock(&p->lock);
		if (stopping)
			break;
		peer_start_queued(p);
		peer_cancel_streams(p);
		curl_multi_perform(p->multi, &running);
		while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			priv = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    &priv);
			if ((x = (struct peer_xfer *)(void *)priv) == NULL)
				continue;
			peer_active_unlink(p, x);
			peer_xfer_end(p, x, msg->data.result, NULL);
		}
		now = util_mono_us() / 1000;
		due = peer_expire(p, now);
		peer_pools_prune(p);
		wait = due - now;
		if (curl_multi_timeout(p->multi, &ct) == CURLM_OK && ct >= 0 &&
		    ct < wait)
			wait = ct;
		if (wait < 0)
			wait = 0;
		curl_multi_poll(p->multi, NULL, 0, (int)wait, NULL);
	}
	nsreg_error_set(&err, NSREG_UNAVAILABLE, NULL,
	    "interdomain call cancelled: the server is stopping");
	peer_end_all(p, &err);
	pthread_mutex_lock(&p->lock);
	p->stopped = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct peer *
peer_new(struct trust *trust, struct metrics *m, struct nsreg_error *err)
{
	struct peer	*p;

	if (federation_global_init(err) == -1)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	p->trust = trust;
	p->metrics = m;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if ((p->multi = curl_multi_init()) == NULL ||
	    curl_multi_setopt(p->multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
	    curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)PEER_HOST_CONNECTIONS) != CURLM_OK ||
	    curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS,
	    (long)PEER_IDLE_CONNECTIONS) != CURLM_OK) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot set up libcurl's multi handle");
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, peer_thread, p) != 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the interdomain client's thread");
		goto fail;
	}
	p->running = 1;
	return p;
fail:
	peer_free(p);
	return NULL;
}

/* The domain of td, added when missing; p->lock held.  NULL: no memory. */
static struct peer_domain *
peer_domain_get(struct peer *p, const char *td)
{
	struct peer_domain	*d;

	for (d = p->domains; d != NULL; d = d->next)
		if (strcmp(d->td, td) == 0)
			goto out;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto out;
	snprintf(d->td, sizeof(d->td), "%s", td);
	d->next = p->domains;
	p->domains = d;
out:
	return d;
}

static char *
peer_strdup(const char *s, int *ok)
{
	char	*c;

	if (s == NULL)
		return NULL;
	if ((c = strdup(s)) == NULL)
		*ok = 0;
	return c;
}

/* A new transfer for r; NULL when memory ran out. */
static struct peer_xfer *
peer_xfer_new(struct peer *p, const struct peer_request *r)
{
	struct peer_xfer	*x;
	struct curl_slist	*l;
	size_t			 i;
	int			 ok = 1;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->p = p;
	x->url = peer_strdup(r->url, &ok);
	x->base = peer_strdup(r->base, &ok);
	x->bundle_id = r->bundle_id;
	x->method = peer_strdup(r->method, &ok);
	x->cert = peer_strdup(r->client_cert, &ok);
	x->key = peer_strdup(r->client_key, &ok);
	x->what = peer_strdup(r->what != NULL ? r->what : "peer", &ok);
	if (r->body != NULL) {
		if ((x->body = malloc(r->body_len + 1)) == NULL)
			ok = 0;
		else {
			memcpy(x->body, r->body, r->body_len);
			x->body[r->body_len] = '\0';
			x->body_len = r->body_len;
		}
	}
	if ((l = curl_slist_append(NULL, "Accept: application/json")) == NULL)
		ok = 0;
	x->hdrs = l;
	for (i = 0; ok && i < r->nheaders && i < PEER_HEADERS_MAX; i++) {
		if ((l = curl_slist_append(x->hdrs, r->headers[i])) == NULL)
			ok = 0;
		else
			x->hdrs = l;
	}
	x->timeout_ms = r->timeout_ms;
	x->deadline = util_mono_us() / 1000 + r->timeout_ms;
	x->backoff_ms = r->backoff_ms;
	x->answer.max = r->max_body;
	x->data = r->data;
	x->idle_s = r->idle_s;
	if (!ok || x->url == NULL || x->base == NULL) {
		peer_xfer_free(x);
		x = NULL;
	}
	return x;
}

int
peer_call(struct peer *p, const struct peer_request *r,
    void (*done)(void *arg, const struct peer_answer *a), void *arg,
    struct nsreg_error *err)
{
	struct peer_domain	*d;
	struct peer_xfer	*x = NULL;
	int64_t			 now = util_mono_us() / 1000;
	int			 rc = -1;

	if (r->client_cert == NULL || r->client_key == NULL ||
	    r->url == NULL || r->base == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "peer_call: incomplete request");
		return -1;
	}
	if ((x = peer_xfer_new(p, r)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return -1;
	}
	x->done = done;
	x->arg = arg;
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
		    "%s: the server is stopping", x->what);
		goto out;
	}
	if ((d = peer_domain_get(p, r->trust_domain)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (d->down_until > now && d->down_base != NULL &&
	    strcmp(d->down_base, r->base) == 0 &&
	    d->down_bundle == r->bundle_id) {
		nsreg_error_set(err, NSREG_BAD_GATEWAY, NULL,
		    "%s (unreachable for %lld ms: tried again in %lld ms)",
		    d->down_msg, (long long)(now - d->down_since),
		    (long long)(d->down_until - now));
		pthread_mutex_unlock(&p->lock);
		metrics_peer_request(p->metrics, r->trust_domain,
		    METRICS_PEER_BACKOFF);
		peer_xfer_free(x);
		return -1;
	}
	x->dom = d;
	x->next = p->queue;
	p->queue = x;
	x = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&p->lock);
	peer_xfer_free(x);
	if (rc == 0)
		curl_multi_wakeup(p->multi);
	return rc;
}

void
peer_stop(struct peer *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_mutex_unlock(&p->lock);
	if (!p->running)
		return;
	curl_multi_wakeup(p->multi);
	pthread_mutex_lock(&p->lock);
	while (!p->stopped)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void
peer_free(struct peer *p)
{
	struct peer_domain	*d;
	struct peer_pool	*pl;
	struct peer_cancel	*c;

	if (p == NULL)
		return;
	peer_stop(p);
	if (p->running)
		pthread_join(p->thread, NULL);
	while ((d = p->domains) != NULL) {
		p->domains = d->next;
		if (d->pool != NULL) {
			d->pool->next = p->retired;
			p->retired = d->pool;
		}
		free(d->down_base);
		free(d);
	}
	while ((pl = p->retired) != NULL) {
		p->retired = pl->next;
		peer_pool_free(pl);
	}
	while ((c = p->cancels) != NULL) {
		p->cancels = c->next;
		free(c);
	}
	if (p->multi != NULL)
		curl_multi_cleanup(p->multi);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
