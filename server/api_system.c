/*
 * api_system.c - /healthz, /readyz, /metrics, /v1/whoami, /v1/bundle.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "bundle.h"
#include "decision_log.h"
#include "metrics.h"
#include "server.h"
#include "store.h"
#include "trust.h"
#include "util.h"
#include "watch.h"

void
api_healthz(struct server *srv, struct http_request *req)
{
	(void)srv;
	http_reply_json(req, HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

void
api_readyz(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	struct bundle		*b;
	char			 why[160];

	if (!store_ping(srv->store)) {
		nsreg_error_set(&err, NSREG_UNAVAILABLE, NULL,
		    "instance %s: the database does not answer",
		    srv->conf->instance_name);
		http_reply_error(req, &err);
		return;
	}
	if ((b = trust_get_local(auth_trust(srv->auth))) == NULL) {
		nsreg_error_set(&err, NSREG_UNAVAILABLE, NULL,
		    "no trust bundle loaded");
		http_reply_error(req, &err);
		return;
	}
	bundle_unref(b);
	/*
	 * Decisions that cannot be written are decisions nobody can audit:
	 * not ready until the store takes them again (it recovers alone).
	 */
	if (!decision_log_healthy(srv->decisions, why, sizeof(why))) {
		nsreg_error_set(&err, NSREG_UNAVAILABLE, NULL,
		    "the decision log cannot be written: %s", why);
		http_reply_error(req, &err);
		return;
	}
	http_reply_json(req, HTTP_OK, json_pack("{s:s, s:s}", "status",
	    "ready", "instance", srv->conf->instance_name));
}

void
api_metrics(struct server *srv, struct http_request *req)
{
	struct metrics_gauges		 g;
	struct decision_log_stats	 ds;
	struct store_stats		 ss;
	struct nsreg_error		 err;
	char			*text;
	size_t			 len;

	/*
	 * The series name federation partners and rules: admins and the
	 * principals listed with metrics-reader only (DESIGN section 3).
	 */
	if (!auth_may_read_metrics(srv->auth, &req->principal)) {
		nsreg_error_set(&err, NSREG_PERMISSION_DENIED, NULL,
		    "GET /metrics needs the admin role or a principal listed "
		    "with metrics-reader");
		http_reply_error(req, &err);
		return;
	}
	memset(&g, 0, sizeof(g));
	g.endpoints = store_count(srv->store, STORE_ENDPOINT, req->now);
	g.grants = store_count(srv->store, STORE_GRANT, req->now);
	g.watchers = watch_count(srv->watch);
	g.revision = store_revision(srv->store);
	store_stats(srv->store, &ss);
	g.lists_memory = ss.lists_memory;
	g.lists_database = ss.lists_database;
	g.uptime_s = (req->now - srv->started) / 1000;
	g.started_ms = srv->started;
	decision_log_stats(srv->decisions, &ds);
	/* Lost in the queue (full) or to the store (a full disk). */
	g.decisions_dropped = ds.dropped + ds.failed;
	g.instance = srv->conf->instance_name;
	if ((text = metrics_render(srv->metrics, &g, &len)) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		http_reply_error(req, &err);
		return;
	}
	http_reply_text(req, HTTP_OK, "text/plain; version=0.0.4", text, len);
	free(text);
}

void
api_whoami(struct server *srv, struct http_request *req)
{
	const struct principal	*p = &req->principal;
	char			 ts[UTIL_RFC3339_MAX];
	json_t			*o;

	(void)srv;
	o = json_object();
	json_object_set_new(o, "id", p->id[0] ? json_string(p->id) :
	    json_null());
	json_object_set_new(o, "trust_domain", p->trust_domain[0] ?
	    json_string(p->trust_domain) : json_null());
	json_object_set_new(o, "path", p->id[0] ?
	    json_string(principal_path(p)) : json_null());
	json_object_set_new(o, "auth",
	    json_string(principal_auth_name(p->auth)));
	json_object_set_new(o, "admin", json_boolean(p->admin));
	json_object_set_new(o, "expires_at", p->expires_at != 0 ?
	    json_string(util_rfc3339_format(p->expires_at, ts, sizeof(ts))) :
	    json_null());
	json_object_set_new(o, "claims", p->claims != NULL ?
	    json_incref(p->claims) : json_null());
	http_reply_json(req, HTTP_OK, o);
}

void
api_bundle(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	struct bundle		*b;
	json_t			*doc;

	if ((b = trust_get_local(auth_trust(srv->auth))) == NULL) {
		nsreg_error_set(&err, NSREG_UNAVAILABLE, NULL,
		    "no trust bundle loaded");
		http_reply_error(req, &err);
		return;
	}
	doc = bundle_to_json(b);
	bundle_unref(b);
	if (doc == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		http_reply_error(req, &err);
		return;
	}
	http_reply_json(req, HTTP_OK, doc);
}
