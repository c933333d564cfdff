/*
 * store_pg_int.h - what the files of the PostgreSQL backend share, and
 * nobody else sees (with them, the only files that include libpq-fe.h).
 *
 *	store_pg.c		connections and their pool, statements,
 *				migrations, the write transaction, object
 *				writes and their events, the backend table
 *	store_pg_grants.c	grant rows, vL3 pools and leases, cascades,
 *				grant keys (the choices of store_lease.c)
 *	store_pg_reads.c	fetch, lists, counts, watch, the decision log
 *	store_pg_follow.c	the events of every instance to the listener
 *	store_pg_cache.c	the endpoints in memory, kept by those events,
 *				for ?service= lists without a query each
 *
 * Revisions: the row meta('revision') is the global counter.  A write
 * transaction locks it first (SELECT ... FOR UPDATE), numbers its events
 * from it and stores the last one before COMMIT, so writers of every
 * instance are serialised by that row lock, commit order is revision
 * order, revisions have no gaps (a rolled-back transaction never wrote
 * the counter) and a snapshot that holds revision N holds every revision
 * below it.  A transaction failing with SQLSTATE 40001 or 40P01 is run
 * again from the start.
 */
#ifndef NSREG_STORE_PG_INT_H
#define NSREG_STORE_PG_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "store.h"
#include "store_backend.h"

/*
 * Connections in the pool: threads + STORE_PG_CONNS_EXTRA (one for each
 * thread that serves requests, plus the writer, the sweeper, the
 * decision log's writer and the watch reader), within STORE_PG_CONNS_MIN
 * and STORE_PG_CONNS_MAX.  A thread finding none free waits for one.
 */
#define STORE_PG_CONNS_EXTRA	4
#define STORE_PG_CONNS_MIN	6
#define STORE_PG_CONNS_MAX	64
/* Reconnection backoff while the database is unreachable (ms). */
#define STORE_PG_BACKOFF_MIN	100
#define STORE_PG_BACKOFF_MAX	2000
/* What a connection waits for the server at most (seconds, libpq). */
#define STORE_PG_CONNECT_TIMEOUT "5"
/*
 * Run on every new connection: the planner plans each execution of a
 * prepared statement for its parameters (a generic plan of the ?service=
 * list walks every endpoint in name order instead of the GIN index).
 * Engines without the setting ignore it.  The EXPLAIN test runs it too.
 */
#define STORE_PG_SESSION_SQL	"SET plan_cache_mode = force_custom_plan"
/*
 * The write transaction's statements are planned once and kept (each
 * finds its row or rows by a key): planning each run cost more than
 * running it.  Sent only where STORE_PG_SESSION_SQL worked.
 */
#define STORE_PG_WRITE_SQL	"SET LOCAL plan_cache_mode = auto"
/* Runs of a transaction that keeps failing to serialise. */
#define STORE_PG_TRIES		10
/* Expired objects one prune transaction deletes at most. */
#define STORE_PG_PRUNE_BATCH	1000
/* Decision log rows one prune transaction deletes at most. */
#define STORE_PG_DECISION_BATCH	10000
/* Rows a filtered list reads at a time. */
#define STORE_PG_LIST_CHUNK	256

enum store_pg_sql {
	PG_REVISION_LOCK = 0,
	PG_REVISION_SET,
	PG_REVISION,
	PG_META_GET,
	PG_META_SET,
	PG_OBJECT_GET,
	PG_OBJECT_INSERT,
	PG_OBJECT_UPDATE,
	PG_OBJECT_DELETE,
	PG_EVENT_INSERT,
	PG_LIST,
	PG_LIST_SERVICES,
	PG_COUNT,
	PG_EXPIRED,
	PG_WATCH,
	PG_TRIM_MARKS,
	PG_TRIM_DELETE,
	PG_DECISION_INSERT,
	PG_DECISION_PRUNE,
	PG_OBJECT_REV,
	PG_GRANT_INSERT,
	PG_GRANT_GET,
	PG_GRANT_DELETE,
	PG_GRANT_REFRESH,
	PG_GRANTS_OF_ENDPOINT,
	PG_GRANTS_OF_ENDPOINT_SERVICE,
	PG_GRANTS_OF_SERVICE,
	PG_GRANT_LOADS,
	PG_POOL_GET,
	PG_POOL_PUT,
	PG_POOL_DELETE,
	PG_LEASES_DELETE,
	PG_LEASE_HOLD,
	PG_LEASE_EXTEND,
	PG_LEASE_TOP,
	PG_FREE_FIRST,
	PG_FREE_TAKE,
	PG_FREE_PUT,
	PG_FREES_DELETE,
	PG_LEASE_INSERT,
	PG_LEASE_FREE,
	PG_LEASE_DROP,
	PG_LEASES_LIVE,
	PG_KEY_GET,
	PG_KEY_CURRENT,
	PG_KEY_RETIRE,
	PG_KEY_INSERT,
	PG_KEYS_LIST,
	PG_KEYS_PRUNE,
	PG_REVISION_SET_NOTIFY,
	PG_EVENTS_AFTER,
	PG_TASK_CLAIM,
	PG_TASK_RELEASE,
	PG_DECISIONS,		/* 32 of them, by filter mask */
	PG_SQL_MAX = PG_DECISIONS + 32
};

/* Writes one group commit takes at most (store_pg_write). */
#define STORE_PG_GROUP_MAX	64

struct store_pg;
struct hashmap;
struct store_svcidx;

/*
 * A wait for the cache to hold every write committed before it began
 * (store_pg_when_fresh): fn(arg, fresh) on the checker thread, or, with
 * fn NULL, a thread waiting on dcond for done.
 */
struct store_pg_fresh {
	void			(*fn)(void *, int);
	void			*arg;
	int			 done;
	int64_t			 rev;		/* -1: the check failed */
	struct store_pg_fresh	*next;
};

/* The endpoint cache's maps, apart from its lock: a load fills new ones. */
struct store_pg_cmaps {
	struct hashmap		*eps;		/* struct store_pg_centry */
	struct store_svcidx	*idx;
};

/*
 * A write waiting for its group commit (store_pg_write): name, when not
 * NULL, the one object of kind it reads and writes (its row may be read
 * ahead, in pre, with the other jobs' rows).
 */
struct store_pg_job {
	int			(*fn)(struct store_pg *, void *);
	void			*arg;
	struct nsreg_error	*err;
	enum store_kind		 kind;
	const char		*name;
	PGresult		*pre;
	int			 ret;
	int			 done;
	pthread_cond_t		 cond;		/* done, or lead (qlock) */
	/* Without a waiting thread (store_pg_put_async): called once run. */
	void			(*complete)(struct store_pg_job *);
	struct store_pg_job	*next;
};

/*
 * Pipeline mode (the write transaction): statements sent whose results
 * are read later, all at once, at the next statement whose result is
 * needed (store_pg_run), or when STORE_PG_PIPE_MAX are waiting.
 */
#define STORE_PG_PIPE_MAX	64

struct store_pg_pending {
	const char		*what;		/* static: for the error */
	int			 one;		/* must change one row */
	PGresult		**keep;		/* the result, when wanted */
};

/* A pooled connection. */
struct store_pg_conn {
	PGconn			*db;
	int			 prepared;	/* statements are ready */
	int			 retry;		/* failed to serialise */
	int			 notify;	/* has pg_notify() */
	int			 plans;		/* has plan_cache_mode */
	int			 keep_plans;	/* no STORE_PG_SESSION_SQL */
	struct store_pg_conn	*next;		/* free list */
	/*
	 * In pipeline mode (store_pg_pipe_begin): failed is 1 once a
	 * statement failed (the rest of the pipeline is skipped by the
	 * server), 2 once the connection is out of step (it is closed).
	 */
	int			 pipe;
	int			 pipe_failed;
	size_t			 npend;
	struct store_pg_pending	 pend[STORE_PG_PIPE_MAX];
};

/*
 * The endpoints in memory (store_pg_cache.c), as of revision rev: every
 * endpoint's text by name and the service index over them, loaded from
 * one snapshot and then kept by every delivered event, so that a
 * ?service= list reads no rows.  A read first learns the revision the
 * database has committed (one query shared by every read waiting for it:
 * sync) and makes the cache reach it, so a read on any instance holds
 * every write acknowledged before it started (DESIGN section 6).
 */
struct store_pg_cache {
	/* wanted to maps: changed under dlock and lock, read under either */
	pthread_rwlock_t	 lock;
	int			 wanted;	/* the listener is set */
	int			 ok;		/* loaded and kept */
	int			 warned;	/* a failed load was logged */
	int64_t			 rev;
	struct store_pg_cmaps	 maps;

	/*
	 * The revision checks, run by the thread checker on sconn, one
	 * at a time: each takes every waiter queued before it started,
	 * asks the database for its committed revision, makes the cache
	 * reach it and then calls the waiters (store_pg_fresh.c's
	 * comment).  Under slock: the queue, and the thread's state.
	 */
	pthread_mutex_t		 slock;
	pthread_cond_t		 scond;		/* the checker: work */
	pthread_cond_t		 dcond;		/* waiters in threads: done */
	struct store_pg_fresh	*waiters, **wtail;
	pthread_t		 checker;
	int			 checking;	/* the thread runs */
	int			 sstop;
	struct store_pg_conn	 sconn;
	/* The catching up of a check (store_pg_follow_upto), under dlock. */
	struct store_pg_conn	 uconn;

	/*
	 * Lists answered from memory, by query (struct store_pg_cresp),
	 * each kept while the cache stays at the revision it was made at
	 * and none of its endpoints has expired: the same list asked
	 * again is copied, not made again.  Under rlock.
	 */
	pthread_mutex_t		 rlock;
	struct hashmap		*resp;
	size_t			 rbytes;	/* their texts' */

	/* ?service= lists answered, atomic (store_stats). */
	uint64_t		 lists_memory, lists_database;
};

/* An event written by the running transaction, for the listener. */
struct store_pg_event {
	int64_t			 revision;
	enum store_kind		 kind;
	enum store_event_type	 type;
	char			*name;
	const char		*reason;	/* static */
	json_t			*object;	/* owned */
	char			*text;		/* owned, NULL for DELETED */
	size_t			 text_len;
};

struct store_pg {
	char			*url;
	size_t			 history;

	pthread_mutex_t		 plock;		/* the pool */
	pthread_cond_t		 pcond;
	struct store_pg_conn	*free;
	struct store_pg_conn	*conns;
	size_t			 nconns;
	/*
	 * Reconnecting (under plock): once a connection failed (backoff
	 * not 0), one thread at a time tries again, no sooner than
	 * down_until (monotonic ms), waiting twice as long after each
	 * failure; the others fail at once with why.
	 */
	int			 connecting;	/* threads connecting */
	int64_t			 down_until;
	int64_t			 backoff;
	char			 why[200];

	/*
	 * Local writers one at a time: the database serialises them
	 * anyway (the revision row), and holding this across commit and
	 * listener calls hands this instance's events to the listener in
	 * revision order.
	 */
	pthread_mutex_t		 wlock;
	/*
	 * Group commit: writers queue their jobs under qlock; one of them
	 * at a time (leading) takes what is queued, and what queued while
	 * it waited for the revision row, and runs it in one transaction
	 * (store_pg_write_batch), so that one commit (one flush of the log)
	 * acknowledges them all.  Each waits on its own condition: the
	 * leader wakes those it ran and the next to lead, nobody else.
	 */
	pthread_mutex_t		 qlock;
	struct store_pg_job	*queue, **qtail;
	int			 leading;
	/*
	 * Writes queued without a thread waiting (store_pg_put_async) are
	 * led by the thread writer when no writer is leading.
	 */
	pthread_cond_t		 wcond;
	pthread_t		 writer;
	int			 writing;	/* the thread runs */
	int			 wstop;
	store_listener_fn	 listener;
	void			*listener_arg;
	store_gap_fn		 gap;		/* under dlock */
	void			*gap_arg;

	/*
	 * What the listener was given (store_pg_follow.c): every event up
	 * to delivered, in revision order, each once, whichever instance
	 * wrote it.  dlock is taken after wlock, never before.
	 */
	pthread_mutex_t		 dlock;
	int64_t			 delivered;
	char			 channel[32];	/* LISTEN/NOTIFY wake-up */
	pthread_t		 follower;
	int			 following;	/* the thread runs */
	int			 stop[2];	/* pipe: the thread ends */
	struct store_pg_conn	 fconn;		/* the thread's own */
	struct store_pg_cache	 cache;		/* under dlock to change */

	/* The running write transaction (under wlock). */
	struct store_pg_conn	*wc;
	struct store_pg_job	*job;		/* the one running */
	int64_t			 next_rev;	/* last taken */
	struct store_pg_event	*events;
	size_t			 nevents, events_cap;
};

/* A stored row of kind/name. */
struct store_pg_row {
	int		 found;
	int64_t		 revision;
	int64_t		 created_at;
	int64_t		 updated_at;
	int64_t		 expires_at;
	char		*owner;
	char		*object;
	size_t		 object_len;
	char		*services;
};

/* Numbers as text parameters. */
struct store_pg_params {
	const char	*v[10];
	char		 num[10][24];
};

/* One object write: what store_backend's verbs ask and get back. */
struct store_pg_op {
	struct nsreg_error	*err;
	int64_t			 now;
	struct store_object	*obj;
	int64_t			 expect_rev;
	store_check_fn		 check;
	void			*check_arg;
	enum store_kind		 kind;
	const char		*name;
	int			 want_old;
	const char		*reason;	/* delete: event reason */
	struct store_grant	*grant;		/* grant create */
	const char		*kid;		/* grant update, key use */
	const char		*jwk;		/* key use */

	int64_t			 revision;
	int64_t			 created_at;
	char			*owner;
	char			*text;
	size_t			 text_len;
	int			 created;
	struct store_object	 old;
	int64_t			 count;
};

/* store_pg.c */
/* The SQL text of statement id (for the EXPLAIN test). */
const char *store_pg_statement(enum store_pg_sql id, char *buf, size_t len);
/*
 * Run a prepared statement with nparams text parameters (NULL: SQL
 * NULL).  The result (PQclear it) or NULL with err set.
 */
PGresult *store_pg_run(struct store_pg_conn *c, enum store_pg_sql id,
	    int nparams, const char *const *params, const char *what,
	    struct nsreg_error *err);
/*
 * Set err from a failed statement's result r (NULL: the connection's
 * message): UNAVAILABLE for a lost database or a serialisation failure
 * (then c->retry is set), INTERNAL otherwise.  Returns -1.
 */
int	store_pg_fail(struct store_pg_conn *c, const PGresult *r,
	    const char *what, struct nsreg_error *err);
/* Run SQL text without parameters; 0 or -1. */
int	store_pg_exec(struct store_pg_conn *c, const char *sql,
	    const char *what, struct nsreg_error *err);
/*
 * Like store_pg_run and store_pg_exec for a statement whose result only
 * tells whether it worked (one: it changed exactly one row): in
 * pipeline mode it is only sent, and a failure shows at the next
 * statement waited for, or at store_pg_pipe_end.  0 or -1.
 */
int	store_pg_later(struct store_pg_conn *c, enum store_pg_sql id,
	    int nparams, const char *const *params, const char *what, int one,
	    struct nsreg_error *err);
int	store_pg_later_sql(struct store_pg_conn *c, const char *sql,
	    const char *what, struct nsreg_error *err);
struct store_pg_conn *store_pg_conn_get(struct store_pg *s,
	    struct nsreg_error *err);
/* Connect c (not a pooled one) and prepare its statements when needed. */
int	store_pg_conn_ready(struct store_pg *s, struct store_pg_conn *c,
	    struct nsreg_error *err);
void	store_pg_conn_put(struct store_pg *s, struct store_pg_conn *c);
json_t	*store_pg_parse(const char *text, size_t len);
int64_t	store_pg_int(const PGresult *r, int row, int col);
void	store_pg_param_int(struct store_pg_params *p, int i, int64_t v);
char	*store_pg_dup(const PGresult *r, int row, int col);
/*
 * Run fn(s, arg) in a write transaction on s->wc holding the revision
 * row (s->next_rev: the last revision taken), in a savepoint of its own
 * when other threads' writes share the transaction (group commit); the
 * listener gets its events once committed.  fn may run more than once
 * (serialisation failures) and on another thread than the caller's; it
 * reports failures in err, the caller's.  0 or -1.
 */
int	store_pg_write(struct store_pg *s, int (*fn)(struct store_pg *,
	    void *), void *arg, struct nsreg_error *err);
/* store_pg_write for fn that reads and writes the one object kind/name. */
int	store_pg_write_one(struct store_pg *s, int (*fn)(struct store_pg *,
	    void *), void *arg, enum store_kind kind, const char *name,
	    struct nsreg_error *err);
/* store_backend's put_async. */
int	store_pg_put_async(void *b, struct store_object *obj,
	    int64_t if_match, store_check_fn check, void *arg, int64_t now,
	    store_done_fn done, void *done_arg, struct nsreg_error *err);
/* End the writer thread, once the writes queued are done. */
void	store_pg_writer_stop(struct store_pg *s);
/* store_pg_write, then hand op's results to op->obj. */
int	store_pg_write_object(struct store_pg *s,
	    int (*fn)(struct store_pg *, void *), struct store_pg_op *op);
void	store_pg_row_clear(struct store_pg_row *row);
int	store_pg_row_get(struct store_pg *s, enum store_kind kind,
	    const char *name, struct store_pg_row *row,
	    struct nsreg_error *err);
int	store_pg_remove(struct store_pg *s, enum store_kind kind,
	    const char *name, const char *text, const char *reason,
	    json_t **oldp, struct nsreg_error *err);
int	store_pg_object_put(struct store_pg *s, const struct store_object *obj,
	    enum store_pg_sql id, enum store_event_type type, char **textp,
	    size_t *lenp, struct nsreg_error *err);
int	store_pg_run_delete(struct store_pg *s, void *arg);
static inline int
store_pg_live(int64_t expires_at, int64_t now)
{
	return expires_at == 0 || expires_at > now;
}

/* store_pg_reads.c */
int	store_pg_fetch(void *b, enum store_kind kind, const char *name,
	    int64_t now, struct store_object *out, struct nsreg_error *err);
int	store_pg_list(void *b, const struct store_query *q, int64_t now,
	    struct store_list_sink *sink, int64_t *revision, int *more,
	    struct nsreg_error *err);
int64_t	store_pg_count(void *b, enum store_kind kind, int64_t now);
int64_t	store_pg_watch(void *b, enum store_kind kind, int64_t after,
	    size_t limit, store_listener_fn fn, void *arg,
	    struct nsreg_error *err);
int	store_pg_decision_append(void *b, const struct store_decision *v,
	    size_t n, struct nsreg_error *err);
int	store_pg_decision_list(void *b, const struct store_decision_query *q,
	    json_t **items, int64_t *next_id, struct nsreg_error *err);
int64_t	store_pg_decision_prune(void *b, int64_t before,
	    struct nsreg_error *err);

/*
 * Keep one listed row when it passes q's match.  1: go on, 0: the page
 * is full (and *more set, this one would have been kept), -1: error.
 */
int	store_pg_list_row(const struct store_query *q,
	    struct store_list_sink *sink, const char *name, const char *text,
	    size_t len, int *more, struct nsreg_error *err);

/* store_pg_follow.c */
/*
 * Derive the wake-up channel of the database's schema and start the
 * thread that hands other instances' events to the listener.  0 or -1.
 */
int	store_pg_follow_start(struct store_pg *s, struct nsreg_error *err);
void	store_pg_follow_stop(struct store_pg *s);
/*
 * Set the listener (wlock held): from now on it gets every event after
 * the current revision.
 */
void	store_pg_follow_listen(struct store_pg *s, store_listener_fn fn,
	    void *arg);
/*
 * After the commit of a write transaction whose events follow revision
 * first (s->events, wlock held, s->wc still held): hand the listener
 * what other instances committed before it, then its own events.
 */
void	store_pg_follow_local(struct store_pg *s, int64_t first);
/*
 * Hand the listener (and the cache) every event up to upto at least,
 * read on a connection used only under dlock (s->cache.uconn): a thread
 * waiting for dlock holds no pooled connection.  0 or -1.
 */
int	store_pg_follow_upto(struct store_pg *s, int64_t upto,
	    struct nsreg_error *err);

/* store_pg_cache.c */
void	store_pg_cache_init(struct store_pg_cache *k);
void	store_pg_cache_free(struct store_pg_cache *k);
/*
 * Fill the cache from one snapshot read on c (dlock held): the
 * endpoints and the revision they are at, in *rev.  0 or -1 (the cache
 * is then left unloaded).
 */
int	store_pg_cache_load(struct store_pg_cache *k, struct store_pg_conn *c,
	    int64_t *rev, struct nsreg_error *err);
/*
 * One delivered event (dlock held), text its object's text (len bytes):
 * the cache moves to its revision.  An event it cannot apply unloads it
 * (the follower loads it again).
 */
void	store_pg_cache_apply(struct store_pg_cache *k,
	    const struct store_event *ev, const char *text, size_t len);
/* Forget everything (dlock held); the follower loads it again. */
void	store_pg_cache_drop(struct store_pg_cache *k);
/* End the checker thread (its waiters are called, not fresh). */
void	store_pg_cache_stop(struct store_pg *s);
/* store_backend's when_fresh. */
int	store_pg_when_fresh(void *b, void (*fn)(void *, int), void *arg);
/*
 * Answer q from memory when it is a ?service= list of endpoints and the
 * cache holds every write committed before the call.  1: answered, 0:
 * not (read the database), -1: error.
 */
int	store_pg_cache_list(struct store_pg *s, const struct store_query *q,
	    int64_t now, struct store_list_sink *sink, int64_t *revision,
	    int *more, struct nsreg_error *err);

/* store_pg_grants.c: grant rows, pools, leases, cascades, keys. */
int	store_pg_pool_check(struct store_pg *s, const struct store_object *obj,
	    int64_t now, struct nsreg_error *err);
int	store_pg_grant_release(struct store_pg *s, const char *id,
	    struct nsreg_error *err);
int	store_pg_cascade(struct store_pg *s, enum store_kind kind,
	    const char *name, struct nsreg_error *err);
int	store_pg_endpoint_dropped(struct store_pg *s, const char *name,
	    const char *old, const json_t *now_offered,
	    struct nsreg_error *err);
int	store_pg_run_keys_prune(struct store_pg *s, void *arg);
int	store_pg_grant_create(void *b, struct store_object *obj,
	    struct store_grant *g, int64_t now, struct nsreg_error *err);
int	store_pg_grant_update(void *b, struct store_object *obj,
	    const char *kid, int64_t expect_rev, int64_t now,
	    struct nsreg_error *err);
int	store_pg_grant_delete(void *b, const char *id, int64_t expect_rev,
	    const char *reason, int64_t now, struct store_object *old,
	    struct nsreg_error *err);
int	store_pg_grant_key_use(void *b, const char *kid, const char *jwk,
	    int64_t now, struct nsreg_error *err);
int	store_pg_grant_loads(void *b, int64_t now,
	    void (*fn)(const char *, int64_t, void *), void *arg,
	    struct nsreg_error *err);
int	store_pg_ipam_usage(void *b, const char *service, int64_t now,
	    char *pool, size_t len, int *client_len, int64_t *live,
	    struct nsreg_error *err);
int	store_pg_grant_keys(void *b, int64_t now, json_t **keys,
	    struct nsreg_error *err);

#endif
