/*
 * server.h - the running daemon: its parts, request dispatch, the access
 * log, and authorisation of registry actions.
 */
#ifndef NSREG_SERVER_H
#define NSREG_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "error.h"
#include "http.h"

struct store;
struct watch;
struct metrics;
struct auth;
struct admission;
struct decision_log;
struct grants;
struct federation;

struct server {
	struct conf		*conf;
	struct store		*store;
	struct http_server	*http;
	struct watch		*watch;
	struct metrics		*metrics;
	struct auth		*auth;
	struct admission	*admission;	/* admission.h */
	struct decision_log	*decisions;	/* decision_log.h */
	struct grants		*grants;	/* api_grants.c */
	struct federation	*federation;	/* federation.c */
	int			 dev;		/* --dev */
	int64_t			 started;	/* ms */
	pthread_t		 sweeper;
	int			 sweeper_running;
	pthread_mutex_t		 lock;		/* stopping, sweeper wait */
	pthread_cond_t		 cond;
	int			 stopping;
};

/* The registry actions of DESIGN section 5. */
enum server_action {
	SERVER_ACTION_FIND = 0,
	SERVER_ACTION_REGISTER,
	SERVER_ACTION_UNREGISTER,
	SERVER_ACTION_PUBLISH,
	SERVER_ACTION_CONNECT
};

/*
 * What an action is about, for the admission decision (DESIGN section 5:
 * the condition sees the service and endpoint records).  Objects are
 * rendered records (borrowed); an endpoint being registered is the one
 * the caller sent, with its owner.  A service named without service_obj
 * is looked up among the stored services ({name} alone when there is
 * none).  With no service but an endpoint_obj that offers services, there
 * is one decision per offered service: "find" needs one of them allowed,
 * the other actions every one.
 */
struct server_subject {
	const char	*service;	/* service name or NULL */
	const json_t	*service_obj;	/* its record, NULL when unknown */
	const char	*endpoint;	/* endpoint name or NULL */
	const json_t	*endpoint_obj;	/* its record or NULL */
	const json_t	*labels;	/* request labels (connect) or NULL */
	const char	*grant;		/* grant id, for the decision log */
};

/*
 * Open the store, load identities and start serving per srv->conf.
 * Returns 0 or -1 (err filled).
 */
int	server_start(struct server *srv, struct nsreg_error *err);

/* Reload certificates, bundles and keys (SIGHUP). */
int	server_reload(struct server *srv, struct conf *newconf,
	    struct nsreg_error *err);

/* Drain and stop (SIGTERM). */
void	server_stop(struct server *srv);

/*
 * May the request's principal take action on subject?  The rule set
 * decides (admission.c); admins bypass it.  Every decision is counted and
 * logged.  When decision is not NULL it receives the decision as a new
 * reference ({"decision","reasons","errors","audit"}, plus "bypass":true
 * for an admin), for an answer that embeds it (admission_reply_denied()
 * answers a 403 with it).  Returns 0 (allowed) or -1 with err
 * NSREG_PERMISSION_DENIED naming the rules that forbade, or saying that
 * none permitted.
 */
int	server_authorize(struct server *srv, struct http_request *req,
	    enum server_action action, const struct server_subject *subject,
	    json_t **decision, struct nsreg_error *err);

#endif
