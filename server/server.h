/*
 * server.h - the running daemon: its parts, request dispatch and the
 * access log.
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
struct peer;
struct peer_watch;

struct server {
	struct conf		*conf;
	struct store		*store;
	struct http_server	*http;
	struct watch		*watch;
	struct metrics		*metrics;
	struct auth		*auth;
	struct admission	*admission;	/* admission.h */
	struct decision_log	*decisions;	/* decision_log.h */
	struct grants		*grants;	/* grants.h */
	struct federation	*federation;	/* federation.c */
	struct peer		*peer;		/* peer.h */
	struct peer_watch	*peer_watch;	/* peer_watch.h */
	int			 dev;		/* --dev */
	int64_t			 started;	/* ms */
	char			 holder[320];	/* housekeeping leases */
	pthread_t		 sweeper;
	int			 sweeper_running;
	pthread_mutex_t		 lock;		/* stopping, sweeper wait */
	pthread_cond_t		 cond;
	int			 stopping;
	/* The store missed events: the sweeper loads again (atomic). */
	int			 resync;
};

/*
 * Open the store, load identities and start serving per srv->conf.
 * Returns 0 or -1 (err filled).
 */
int	server_start(struct server *srv, struct nsreg_error *err);

/*
 * Read and check every file conf names (tls-cert and tls-key as a
 * matching pair, trust-bundle, admin-token-file, grant-key; none may be
 * a special file) as the start would, without starting: nsregd -n.
 * 0, or -1 with err naming the file and the reason.
 */
int	server_check(const struct conf *conf, int dev,
	    struct nsreg_error *err);

/*
 * Reload certificates, bundles and keys (SIGHUP): everything newconf
 * names is read and checked first, then installed, so that a failed
 * reload (-1, err naming the file and the reason) changes nothing.
 */
int	server_reload(struct server *srv, struct conf *newconf,
	    struct nsreg_error *err);

/*
 * The largest JSON document the route (method, pattern) takes, below
 * max-body; 0 when only max-body bounds it.
 */
size_t	server_doc_max(enum http_method method, const char *pattern);

/* Drain and stop (SIGTERM). */
void	server_stop(struct server *srv);

#endif
