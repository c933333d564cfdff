/*
 * server.c - request dispatch (route, authenticate, check the body, call
 * the handler), the access log, and authorisation of registry actions.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "api.h"
#include "auth.h"
#include "decision_log.h"
#include "dev.h"
#include "federation.h"
#include "peer.h"
#include "peer_watch.h"
#include "grant.h"
#include "grants.h"
#include "grpc.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "origin.h"
#include "route.h"
#include "server.h"
#include "store.h"
#include "util.h"
#include "watch.h"

/* Content-Type must be application/json, parameters allowed. */
static int
server_is_json(const char *ct)
{
	size_t	n = strlen("application/json");

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/*
 * The largest document each kind of record may be, below max-body: a
 * registration with a megabyte of labels is not a registration, and the
 * watch history and the database keep every version of it.  Every list
 * and map inside is bounded as well (validate.h, each handler).
 */
static const struct server_doc_limit {
	enum http_method	 method;
	const char		*pattern;
	size_t			 max;
} server_doc_limits[] = {
	{ .method = HTTP_PUT, .pattern = "/v1/endpoints/{name}",
	    .max = 64 * 1024 },
	{ .method = HTTP_PUT, .pattern = "/v1/services/{name}",
	    .max = 256 * 1024 },
	{ .method = HTTP_PUT, .pattern = "/v1/policies/{name}",
	    .max = 64 * 1024 },
	{ .method = HTTP_POST, .pattern = "/v1/grants", .max = 16 * 1024 },
	{ .method = HTTP_POST, .pattern = "/v1/grants/introspect",
	    .max = 16 * 1024 },
	{ .method = HTTP_POST, .pattern = "/v1/decisions/evaluate",
	    .max = 64 * 1024 },
};

size_t
server_doc_max(enum http_method method, const char *pattern)
{
	size_t	i;

	for (i = 0; i < sizeof(server_doc_limits) /
	    sizeof(server_doc_limits[0]); i++)
		if (server_doc_limits[i].method == method &&
		    strcmp(server_doc_limits[i].pattern, pattern) == 0)
			return server_doc_limits[i].max;
	return 0;
}

static int
server_parse_body(struct http_request *req, struct nsreg_error *err)
{
	json_error_t	jerr;
	size_t		max;

	if (!server_is_json(http_header(req, "Content-Type")))
		return nsreg_error_set(err, NSREG_UNSUPPORTED_MEDIA_TYPE,
		    NULL, "the request body must be application/json");
	max = server_doc_max(req->method, req->route->pattern);
	if (max > 0 && req->body_len > max)
		return nsreg_error_set(err, NSREG_PAYLOAD_TOO_LARGE, NULL,
		    "%s %s takes a document of at most %zu bytes, not %zu",
		    req->method_name, req->route->pattern, max,
		    req->body_len);
	if (req->body_len == 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "a JSON object body is required");
	if (!util_utf8_valid(req->body, req->body_len))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "the request body is not valid UTF-8");
	req->json = json_loadb(req->body, req->body_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (req->json == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "malformed JSON at line %d, column %d: %s", jerr.line,
		    jerr.column, jerr.text);
	if (!json_is_object(req->json))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "the request body must be a JSON object");
	return 0;
}

/*
 * Everything before the body: the route, the query, the credential and
 * the role.  Returns the route, or NULL after replying (an OPTIONS
 * request is answered here too).
 */
static const struct route *
server_admit_route(struct server *srv, struct http_request *req)
{
	const struct route	*r;
	struct nsreg_error	 err;
	char			 allow[128];

	nsreg_error_clear(&err);
	if (req->method == HTTP_OPTIONS && strcmp(req->path, "*") == 0) {
		route_allow_all(allow, sizeof(allow));
		goto options;
	}
	if ((r = route_find(req, req->params_buf, req->params_len, allow,
	    sizeof(allow), &err)) == NULL) {
		if (err.code == NSREG_METHOD_NOT_ALLOWED &&
		    req->method == HTTP_OPTIONS)
			goto options;
		if (err.code == NSREG_METHOD_NOT_ALLOWED)
			http_add_header(req, "Allow", allow);
		goto fail;
	}
	req->route = r;
	if (route_query_check(req, &err) == -1)
		goto fail;
	if (auth_request(srv->auth, req, &err) == -1)
		goto fail;
	/* Another trust domain's JWT claims: those it lets rules see. */
	if (auth_principal_claims(srv->auth, &req->principal, &err) == -1)
		goto fail;
	/* A peer registry's word on whose behalf it calls. */
	if (auth_origin(srv->auth, &req->principal, http_header(req,
	    ORIGIN_HEADER), &err) == -1)
		goto fail;
	if (!(r->flags & ROUTE_ANONYMOUS) &&
	    req->principal.auth == PRINCIPAL_ANONYMOUS) {
		nsreg_error_set(&err, NSREG_UNAUTHENTICATED, NULL,
		    "no credential: present an X.509-SVID client certificate "
		    "or an Authorization: Bearer token");
		goto fail;
	}
	if ((r->flags & ROUTE_ADMIN) && !req->principal.admin) {
		nsreg_error_set(&err, NSREG_PERMISSION_DENIED, NULL,
		    "%s %s needs the admin role", req->method_name,
		    r->pattern);
		goto fail;
	}
	return r;
options:
	/* OPTIONS: what the path takes, for anyone (no state revealed). */
	http_add_header(req, "Allow", allow);
	http_reply_json(req, HTTP_NO_CONTENT, NULL);
	return NULL;
fail:
	req->route = NULL;
	if (err.code == NSREG_UNAUTHENTICATED)
		http_add_header(req, "WWW-Authenticate", "Bearer");
	http_reply_error(req, &err);
	return NULL;
}

static void
server_run(struct http_request *req, void *arg)
{
	req->route->handler(arg, req);
}

/* A request waiting for the store to be fresh (store_when_fresh). */
struct server_fresh {
	struct server		*srv;
	struct http_request	*req;
	struct http_deferred	*def;
};

/*
 * A ?service= list of endpoints: a cluster instance answers it from
 * memory once it holds what the database committed before it began.
 */
static int
server_from_memory(struct http_request *req)
{
	return req->route->handler == api_endpoints_list &&
	    http_query(req, "service") != NULL && !api_is_watch(req);
}

/*
 * The store is fresh (on its thread): the list answers from memory,
 * cheap enough to run here.  It is not (the database did not answer):
 * the request goes the usual way, to the work pool.
 */
static void
server_fresh_run(void *arg, int fresh)
{
	struct server_fresh	*f = arg;

	if (fresh)
		server_run(f->req, f->srv);
	else
		http_offload(f->req, server_run, f->srv);
	http_deferred_done(f->def);
	free(f);
}

/*
 * Wait for the store without holding a thread, then run the handler.  0,
 * or -1 when the store never waits (run it the usual way).
 */
static int
server_when_fresh(struct server *srv, struct http_request *req)
{
	struct server_fresh	*f;

	if (!store_may_wait(srv->store) ||
	    (f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	f->srv = srv;
	f->req = req;
	f->def = http_defer(req);
	/* Nothing to wait for after all (no cache): the usual way. */
	if (store_when_fresh(srv->store, server_fresh_run, f) == 1)
		server_fresh_run(f, 0);
	return 0;
}

/* A request with a body, before the body is read (http.h). */
static int
server_admit(struct http_request *req, void *arg)
{
	/* gRPC is routed by grpc_dispatch once the message is in. */
	if (grpc_content_type(http_header(req, "Content-Type"), NULL))
		return 0;
	return server_admit_route(arg, req) != NULL ? 0 : -1;
}

static void
server_dispatch(struct http_request *req, void *arg)
{
	struct server		*srv = arg;
	const struct route	*r = req->route;
	struct nsreg_error	 err;

	nsreg_error_clear(&err);
	/* NSM's registry protocol, before any REST routing (grpc.h). */
	if (r == NULL && grpc_content_type(http_header(req, "Content-Type"),
	    NULL)) {
		grpc_dispatch(srv, req);
		return;
	}
	/* Admitted already when the request had a body. */
	if (r == NULL && (r = server_admit_route(srv, req)) == NULL)
		return;
	if ((r->flags & ROUTE_BODY) && server_parse_body(req, &err) == -1) {
		http_reply_error(req, &err);
		return;
	}
	if (server_from_memory(req) && server_when_fresh(srv, req) == 0)
		return;
	/*
	 * What rules decide (lists item by item, grants candidate by
	 * candidate) runs on the work pool, so that probes and cheap
	 * requests never wait behind policy work.  Admins bypass the rules.
	 */
	if ((r->flags & ROUTE_POLICY) && !req->principal.admin &&
	    !api_is_watch(req)) {
		http_offload(req, server_run, srv);
		return;
	}
	r->handler(srv, req);
}

static void
server_completed(struct http_request *req, void *arg)
{
	struct server	*srv = arg;
	char		 path[300], principal[300];
	int64_t		 dur_us;

	dur_us = util_mono_us() - req->start_us;
	/* 405s and requests refused before routing (413) count under the
	 * route their path names. */
	metrics_request_proto(srv->metrics, req->proto);
	metrics_request(srv->metrics, req->route != NULL ? req->route :
	    route_for_path(req->method, req->path), req->method, req->status,
	    dur_us);
	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	/* The target as received: what a decoded path hid shows here. */
	log_info("msg=request id=%s remote=%s proto=%s method=%s path=%s "
	    "status=%u bytes=%zu dur_ms=%.3f auth=%s principal=%s%s%s",
	    req->id, req->remote_addr[0] ? req->remote_addr : "-",
	    http_proto_name(req), req->method_name, log_quote(path, sizeof(path), req->target),
	    req->status, req->bytes_out, (double)dur_us / 1000.0,
	    principal_auth_name(req->principal.auth),
	    log_quote(principal, sizeof(principal),
	    req->principal.id[0] ? req->principal.id : "-"),
	    req->error_code ? " error=" : "",
	    req->error_code ? req->error_code : "");
}

static void
server_conn_free(void *slot, void *arg)
{
	(void)arg;
	auth_conn_free(slot);
}

static void
server_conn_opened(void *arg)
{
	struct server	*srv = arg;

	metrics_connection(srv->metrics);
}

static void
server_conn_goaway(int reason, void *arg)
{
	struct server	*srv = arg;

	metrics_h2_goaway(srv->metrics, (enum h2_guard_reason)reason);
}

static const struct http_hooks server_http_hooks = {
	.admit = server_admit,
	.dispatch = server_dispatch,
	.completed = server_completed,
	.conn_free = server_conn_free,
	.conn_opened = server_conn_opened,
	.conn_goaway = server_conn_goaway,
};

/*
 * The store's one listener fans each committed event out to every module
 * that keeps state derived from the store, before watchers see it: the
 * trust set (stored trust domains), the admission engine (policies and
 * services), the grant loads and service records, the federation
 * scheduler, then the watch streams.
 */
static void
server_store_event(const struct store_event *ev, void *arg)
{
	struct server	*srv = arg;

	auth_store_event(ev, srv->auth);
	admission_store_event(ev, srv->admission);
	grants_store_event(ev, srv->grants);
	federation_store_event(ev, srv->federation);
	watch_publish(ev, srv->watch);
}

/*
 * The store missed events (a cluster instance cut off from the database
 * longer than the history lasts): watch streams go to the history (and
 * end when their events are gone), and the sweeper loads again what was
 * built from the events.
 */
static void
server_store_gap(int64_t from, int64_t to, void *arg)
{
	struct server	*srv = arg;

	(void)from;
	(void)to;
	watch_gap(srv->watch);
	__atomic_store_n(&srv->resync, 1, __ATOMIC_RELEASE);
}

/* Load again what was built from the events; 0, or -1 to try again. */
static int
server_resync(struct server *srv, int64_t now)
{
	struct nsreg_error	err;

	if (admission_load(srv->admission, now, &err) == -1 ||
	    auth_load_trust_domains(srv->auth, srv->store, now, &err) == -1 ||
	    grants_loads_reload(srv->grants, now, &err) == -1 ||
	    federation_resync(srv->federation, now, &err) == -1) {
		log_warnx("msg=\"loading again after missed events failed, "
		    "trying again\" error=%s detail=\"%.*s\"",
		    nsreg_code_name(err.code),
		    (int)strcspn(err.message, "\n\""), err.message);
		return -1;
	}
	log_info("msg=\"rules, services, trust domains, grant loads and "
	    "federation loaded again after missed events\"");
	return 0;
}

/*
 * Housekeeping, elected through the store (DESIGN section 6): each task
 * runs on the one instance of a cluster holding its lease, renewed every
 * SERVER_TASK_RENEW while it lives and taken over by another instance
 * once SERVER_TASK_TTL passed unrenewed.  On SQLite every claim is
 * granted at once: one database, one nsregd.
 */
enum server_task {
	SERVER_TASK_SWEEP = 0,		/* expiry sweep, event history */
	SERVER_TASK_DECISIONS,		/* decision-log retention */
	SERVER_TASK_FEDERATION,		/* scheduled bundle refreshes */
	SERVER_TASK_MAX
};

static const char *const server_task_names[SERVER_TASK_MAX] = {
	[SERVER_TASK_SWEEP] = "sweep",
	[SERVER_TASK_DECISIONS] = "decisions",
	[SERVER_TASK_FEDERATION] = "federation",
};

#define SERVER_TASK_TTL		5000	/* ms a lease runs unrenewed */
#define SERVER_TASK_RENEW	1000	/* ms between claims */

struct server_tasks {
	int	held[SERVER_TASK_MAX];
	int64_t	until[SERVER_TASK_MAX];	/* monotonic ms: held until */
	int64_t	next[SERVER_TASK_MAX];	/* monotonic ms: claim again */
};

/* 1 when this instance holds task t now (claiming when due). */
static int
server_task_held(struct server *srv, struct server_tasks *st,
    enum server_task t)
{
	struct nsreg_error	err;
	int64_t			mono;
	int			rc;

	mono = util_mono_us() / 1000;
	if (mono >= st->next[t]) {
		rc = store_task_claim(srv->store, server_task_names[t],
		    srv->holder, SERVER_TASK_TTL, &err);
		if (rc == 1 && !st->held[t])
			log_info("msg=\"housekeeping taken\" task=%s "
			    "holder=%s", server_task_names[t], srv->holder);
		else if (rc != 1 && st->held[t])
			log_info("msg=\"housekeeping left\" task=%s "
			    "holder=%s%s%s", server_task_names[t],
			    srv->holder, rc == -1 ? " error=" : "",
			    rc == -1 ? nsreg_code_name(err.code) : "");
		st->held[t] = rc == 1;
		/* Counted from before the claim: the lease runs longer. */
		st->until[t] = rc == 1 ? mono + SERVER_TASK_TTL : 0;
		st->next[t] = mono + SERVER_TASK_RENEW;
		if (t == SERVER_TASK_FEDERATION)
			federation_set_active(srv->federation, st->held[t]);
	}
	return st->held[t] && mono < st->until[t];
}

static void *
server_sweeper(void *arg)
{
	struct server		*srv = arg;
	struct server_tasks	 st;
	struct nsreg_error	 err;
	struct timespec		 ts;
	int64_t			 now, n, last_log_prune = 0;
	int			 t;

	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->cond, &srv->lock, &ts);
		if (srv->stopping)
			break;
		pthread_mutex_unlock(&srv->lock);
		now = util_now_ms();
		if (__atomic_exchange_n(&srv->resync, 0, __ATOMIC_ACQ_REL) &&
		    server_resync(srv, now) == -1)
			__atomic_store_n(&srv->resync, 1, __ATOMIC_RELEASE);
		server_task_held(srv, &st, SERVER_TASK_FEDERATION);
		if (server_task_held(srv, &st, SERVER_TASK_SWEEP)) {
			if ((n = store_prune(srv->store, now, &err)) < 0)
				log_warnx("msg=\"sweep failed\" error=%s",
				    nsreg_code_name(err.code));
			else if (n > 0)
				log_debug("msg=swept expired=%lld",
				    (long long)n);
		}
		if (server_task_held(srv, &st, SERVER_TASK_DECISIONS) &&
		    now - last_log_prune > 60 * 1000) {
			last_log_prune = now;
			if (store_decision_prune(srv->store,
			    now - srv->conf->decision_log_retention, &err) < 0)
				log_warnx("msg=\"decision log prune failed\" "
				    "error=%s", nsreg_code_name(err.code));
		}
		pthread_mutex_lock(&srv->lock);
	}
	pthread_mutex_unlock(&srv->lock);
	/* A clean stop hands the tasks over at once. */
	for (t = 0; t < SERVER_TASK_MAX; t++) {
		if (st.held[t])
			store_task_release(srv->store, server_task_names[t],
			    srv->holder);
	}
	return NULL;
}

/*
 * Who holds this instance's housekeeping leases: its instance-name,
 * process and start time, unique among the instances of a cluster
 * (several may share a host, and a name).
 */
static void
server_holder_name(struct server *srv)
{
	snprintf(srv->holder, sizeof(srv->holder), "%s/%ld/%lld",
	    srv->conf->instance_name != NULL ? srv->conf->instance_name :
	    "nsregd", (long)getpid(), (long long)srv->started);
}

/* Read cert and key files into memory (new buffers). */
static int
server_read_tls(const struct conf *conf, char **cert, char **key,
    struct nsreg_error *err)
{
	size_t	len;

	*cert = *key = NULL;
	if ((*cert = util_file_read(conf->tls_cert, 1024 * 1024, &len)) ==
	    NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "tls-cert %s: %s", conf->tls_cert,
		    util_file_strerror(errno));
	if ((*key = util_file_read(conf->tls_key, 1024 * 1024, &len)) ==
	    NULL) {
		free(*cert);
		*cert = NULL;
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "tls-key %s: %s", conf->tls_key,
		    util_file_strerror(errno));
	}
	return 0;
}

static void
server_free_tls(char *cert, char *key)
{
	free(cert);
	if (key != NULL) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
}

/*
 * Everything the configuration names, read and checked as the running
 * server will need it, but not in use yet: the start, nsregd -n and a
 * reload all go through server_stage, so -n checks what the start would
 * and a reload changes everything or nothing.
 */
struct server_staged {
	struct auth_staged	*auth;
	struct grant_key	*grant_key;	/* NULL: no grant-key */
	struct http_tls_id	*tls;		/* NULL: no tls-cert */
};

static void
server_staged_clear(struct server_staged *st)
{
	auth_staged_free(st->auth);
	grant_key_unref(st->grant_key);
	http_tls_id_discard(st->tls);
	memset(st, 0, sizeof(*st));
}

static int
server_stage(const struct conf *conf, int dev, struct server_staged *st,
    struct nsreg_error *err)
{
	struct nsreg_error	 e;
	char			*cert = NULL, *key = NULL;
	int			 rc = -1;

	memset(st, 0, sizeof(*st));
	if ((st->auth = auth_stage(conf, err)) == NULL)
		goto out;
	if (conf->grant_key != NULL && (st->grant_key =
	    grant_key_load(conf->grant_key, dev, err)) == NULL)
		goto out;
	if (conf->tls_cert != NULL && conf->tls_key != NULL) {
		if (server_read_tls(conf, &cert, &key, err) == -1)
			goto out;
		if ((st->tls = http_tls_id_load(cert, key, &e)) == NULL) {
			/* Name both files: which one is at fault may be
			 * either (a mismatched pair). */
			nsreg_error_set(err, e.code, NULL, "%s (tls-cert %s, "
			    "tls-key %s)", e.message, conf->tls_cert,
			    conf->tls_key);
			goto out;
		}
	}
	rc = 0;
out:
	server_free_tls(cert, key);
	if (rc == -1)
		server_staged_clear(st);
	return rc;
}

int
server_check(const struct conf *conf, int dev, struct nsreg_error *err)
{
	struct server_staged	st;

	if (server_stage(conf, dev, &st, err) == -1)
		return -1;
	server_staged_clear(&st);
	return 0;
}

#define SERVER_CONN_AUTO_MAX	10000
#define SERVER_FD_HEADROOM(n)	(64 + (n) / 10)

/*
 * Raise the soft open-file limit to the hard one (idle clients must not
 * be what runs the process out of descriptors) and return the soft limit.
 */
static rlim_t
server_fd_limit(void)
{
	struct rlimit	rl, want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
		want.rlim_max = rl.rlim_max;
		want.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 :
		    rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = want.rlim_cur;
		else
			log_warn("msg=\"cannot raise the open-file limit\" "
			    "soft=%llu hard=%llu",
			    (unsigned long long)rl.rlim_cur,
			    (unsigned long long)rl.rlim_max);
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1048576 : rl.rlim_cur;
}

/*
 * Connections to serve: max-connections, or what the fd limit leaves
 * after the database, federation, logs and listeners (auto).
 */
static unsigned int
server_max_connections(const struct conf *conf)
{
	rlim_t		nofile = server_fd_limit();
	unsigned long long	room;
	unsigned int	n;

	room = nofile > SERVER_FD_HEADROOM(nofile) + 16 ?
	    (unsigned long long)(nofile - SERVER_FD_HEADROOM(nofile)) : 16;
	if (conf->max_connections == 0)
		n = room > SERVER_CONN_AUTO_MAX ? SERVER_CONN_AUTO_MAX :
		    (unsigned int)room;
	else if (conf->max_connections > room) {
		log_warn("msg=\"max-connections lowered to what the open-file "
		    "limit leaves\" max_connections=%u nofile=%llu used=%llu",
		    conf->max_connections, (unsigned long long)nofile, room);
		n = (unsigned int)room;
	} else
		n = conf->max_connections;
	log_info("msg=\"connection limits\" nofile=%llu max_connections=%u "
	    "per_address=%u", (unsigned long long)nofile, n,
	    conf->max_connections_per_address < n ?
	    conf->max_connections_per_address : n);
	return n;
}

int
server_start(struct server *srv, struct nsreg_error *err)
{
	struct http_listen	 listen[CONF_LISTEN_MAX];
	struct http_options	 opt;
	struct store_options	 so;
	struct http_hooks	 hooks = server_http_hooks;
	const struct conf	*conf = srv->conf;
	struct nsreg_error	 e;
	char			*cert = NULL, *key = NULL;
	size_t			 i;
	int			 rc = -1, tls = 0;

	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	srv->started = util_now_ms();
	server_holder_name(srv);
	/* What nsregd -n checks, before anything starts. */
	if (server_check(conf, srv->dev, err) == -1)
		goto out;
	if ((srv->metrics = metrics_new()) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if ((srv->auth = auth_new(conf, err)) == NULL)
		goto out;
	/* libcurl's global state, before any thread starts. */
	if (federation_global_init(err) == -1)
		goto out;
	memset(&so, 0, sizeof(so));
	so.url = conf->database;
	so.history = conf->watch_history;
	so.threads = conf->threads;
	if ((srv->store = store_open(&so, err)) == NULL)
		goto out;
	if ((srv->watch = watch_new(srv->store, conf->watch_history < 8192 ?
	    conf->watch_history : 8192, conf->watch_history_bytes,
	    conf->watch_bookmark)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if ((srv->federation = federation_new(srv->store,
	    auth_trust(srv->auth), srv->metrics, conf, err)) == NULL)
		goto out;
	if ((srv->peer = peer_new(auth_trust(srv->auth), srv->metrics,
	    err)) == NULL)
		goto out;
	if ((srv->peer_watch = peer_watch_new(srv->peer)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if ((srv->decisions = decision_log_new(srv->store, NULL, err)) ==
	    NULL || (srv->admission = admission_new(srv->store, srv->metrics,
	    srv->decisions, err)) == NULL)
		goto out;
	admission_set_budget(srv->admission, conf->policy_budget * 1000);
	store_set_listener(srv->store, server_store_event, srv);
	store_set_gap_handler(srv->store, server_store_gap, srv);
	if (auth_load_trust_domains(srv->auth, srv->store, util_now_ms(),
	    err) == -1)
		goto out;
	if (srv->dev && dev_install_policies(srv->store, conf->trust_domain,
	    util_now_ms(), err) == -1)
		goto out;
	if (admission_load(srv->admission, util_now_ms(), err) == -1)
		goto out;
	if ((srv->grants = grants_new(srv->store, srv->admission, conf,
	    srv->dev, err)) == NULL)
		goto out;
	/* In a cluster, one instance refreshes: ask before the first. */
	federation_set_active(srv->federation, store_task_claim(srv->store,
	    server_task_names[SERVER_TASK_FEDERATION], srv->holder,
	    SERVER_TASK_TTL, &e) == 1);
	if (federation_start(srv->federation, util_now_ms(), err) == -1)
		goto out;
	for (i = 0; i < conf->nlisten; i++) {
		listen[i].addr = conf->listen[i].addr;
		listen[i].port = conf->listen[i].port;
		listen[i].tls = conf->listen[i].scheme == CONF_HTTPS ||
		    conf->listen[i].scheme == CONF_H2;
		listen[i].proto = conf->listen[i].scheme == CONF_H2 ||
		    conf->listen[i].scheme == CONF_H2C ? HTTP_PROTO_2 :
		    HTTP_PROTO_1_1;
		tls |= listen[i].tls;
	}
	if (tls && server_read_tls(conf, &cert, &key, err) == -1)
		goto out;
	memset(&opt, 0, sizeof(opt));
	opt.threads = conf->threads;
	opt.max_body = conf->max_body;
	opt.max_connections = server_max_connections(conf);
	opt.max_per_address = conf->max_connections_per_address <
	    opt.max_connections ? conf->max_connections_per_address :
	    opt.max_connections;
	opt.timeout_s = (unsigned int)((conf->connection_timeout + 999) /
	    1000);
	opt.header_timeout_ms = conf->header_timeout;
	opt.idle_timeout_ms = conf->connection_timeout;
	opt.tls_cert_pem = cert;
	opt.tls_key_pem = key;
	opt.trust_pem = auth_trust_pem(srv->auth);
	opt.h2_max_streams = conf->h2_max_streams;
	opt.h2_max_header_list = conf->h2_max_header_list;
	opt.h2_idle_timeout_ms = conf->h2_idle_timeout;
	opt.h2_max_resets = conf->h2_max_resets;
	opt.h2_max_control_frames = conf->h2_max_control_frames;
	hooks.arg = srv;
	if ((srv->http = http_start(listen, conf->nlisten, &opt, &hooks,
	    err)) == NULL)
		goto out;
	if (pthread_create(&srv->sweeper, NULL, server_sweeper, srv) != 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the sweeper");
		goto out;
	}
	srv->sweeper_running = 1;
	rc = 0;
out:
	server_free_tls(cert, key);
	return rc;
}

int
server_reload(struct server *srv, struct conf *newconf,
    struct nsreg_error *err)
{
	struct server_staged	 st;
	struct auth_staged	*a;
	struct grant_key	*k;
	int			 rc = -1;

	if (auth_check_reload(srv->auth, newconf, err) == -1)
		return -1;
	if (server_stage(newconf, srv->dev, &st, err) == -1)
		return -1;
	/*
	 * Everything is read and checked: install it.  The grant key
	 * first, as the store may refuse it, and then nothing else has
	 * changed; the steps after it fail only when memory runs out.
	 */
	k = st.grant_key;
	st.grant_key = NULL;
	if (grants_reload_key(srv->grants, newconf, k, err) == -1)
		goto out;
	if (st.tls != NULL && srv->http != NULL) {
		http_set_tls_id(srv->http, st.tls);
		st.tls = NULL;
	}
	a = st.auth;
	st.auth = NULL;
	if (auth_commit(srv->auth, a, err) == -1 ||
	    federation_reload(srv->federation, newconf, err) == -1)
		goto out;
	rc = 0;
out:
	server_staged_clear(&st);
	return rc;
}

void
server_stop(struct server *srv)
{
	if (srv->sweeper_running) {
		pthread_mutex_lock(&srv->lock);
		srv->stopping = 1;
		pthread_cond_signal(&srv->cond);
		pthread_mutex_unlock(&srv->lock);
		pthread_join(srv->sweeper, NULL);
		srv->sweeper_running = 0;
	}
	/* Interdomain calls in flight end (503) so the drain is quick. */
	peer_stop(srv->peer);
	http_stop(srv->http);
	srv->http = NULL;
	peer_watch_free(srv->peer_watch);
	srv->peer_watch = NULL;
	peer_free(srv->peer);
	srv->peer = NULL;
	/* Its workers write to the store and read the trust set. */
	federation_free(srv->federation);
	srv->federation = NULL;
	if (srv->store != NULL) {
		store_set_gap_handler(srv->store, NULL, NULL);
		store_set_listener(srv->store, NULL, NULL);
	}
	watch_free(srv->watch);
	srv->watch = NULL;
	grants_free(srv->grants);
	srv->grants = NULL;
	/* Streams have ended: their last entries are queued. */
	decision_log_free(srv->decisions);
	srv->decisions = NULL;
	admission_free(srv->admission);
	srv->admission = NULL;
	store_close(srv->store);
	srv->store = NULL;
	auth_free(srv->auth);
	srv->auth = NULL;
	metrics_free(srv->metrics);
	srv->metrics = NULL;
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
}
