/*
 * store_sqlite_int.h - what the files of the SQLite backend share, and
 * nobody else sees: the connection with its statement cache, the
 * backend's state, a queued write, and the functions one file of the
 * backend calls in another.
 *
 *	store_sqlite.c		connections, statements, migrations, readers,
 *				open and close, the backend table
 *	store_sqlite_writer.c	the group-commit writer and the checkpointer
 *	store_sqlite_objects.c	object writes, their events, index upkeep
 *	store_sqlite_grants.c	grant rows, vL3 pools and leases, cascades,
 *				grant keys
 *	store_sqlite_reads.c	reads, lists, watch and the decision log
 *
 * The service index, the text cache and the choices of leasing that are
 * not SQL (which block a lease takes, whether a service write keeps its
 * pool) are shared with every backend (store_svcidx.c, store_textcache.c,
 * store_lease.c).  The verbs of store_backend.h
 * (void *b) are listed with the file that implements them; the backend
 * table itself is in store_sqlite.c.
 */
#ifndef NSREG_STORE_SQLITE_INT_H
#define NSREG_STORE_SQLITE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store.h"
#include "store_backend.h"
#include "store_svcidx.h"
#include "store_textcache.h"

/* Reader connections at most; a reader beyond waits for a free one. */
#define STORE_SQLITE_READERS		8
/* Page cache per connection (KiB): bounded, the objects stay on disk. */
#define STORE_SQLITE_WRITER_CACHE	8192
#define STORE_SQLITE_READER_CACHE	1024
#define STORE_SQLITE_BUSY_MS		5000
/* Operations one commit carries at most. */
#define STORE_SQLITE_BATCH		256
/* Expired objects one prune transaction deletes at most. */
#define STORE_SQLITE_PRUNE_BATCH	1000
/* Events one trim transaction deletes at most. */
#define STORE_SQLITE_TRIM_BATCH		2000
/* Decision log rows one prune transaction deletes at most. */
#define STORE_SQLITE_DECISION_BATCH	10000
/*
 * Rendered endpoint texts kept in memory for ?service lists (bytes).
 * SQLite's own page caches are per connection and emptied by every
 * commit; this one is shared and keyed by revision, so only the objects
 * that changed miss.
 */
#define STORE_SQLITE_TEXT_CACHE		(12 * 1024 * 1024)
/* Waits for the service index to reach a reader's snapshot. */
#define STORE_SQLITE_INDEX_TRIES	10000
/*
 * WAL frames after which the checkpointer copies the log into the
 * database (about 32 MiB): rarer checkpoints write each hot page once for
 * many commits.
 */
#define STORE_SQLITE_CHECKPOINT		8192
/*
 * The checkpointer copies the log while writers go on until at most this
 * many frames are left, then holds them off to copy the rest.
 */
#define STORE_SQLITE_CHECKPOINT_TAIL	256
/* Decision log filters: principal, action, decision, since, until. */
#define STORE_SQLITE_DECISION_FILTERS	32

enum store_sqlite_sql {
	SQL_BEGIN = 0,
	SQL_BEGIN_IMMEDIATE,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_SAVEPOINT,
	SQL_RELEASE,
	SQL_ROLLBACK_TO,
	SQL_PING,
	SQL_REVISION,
	SQL_META_GET,
	SQL_META_SET,
	SQL_OBJECT_GET,
	SQL_OBJECT_INSERT,
	SQL_OBJECT_UPDATE,
	SQL_OBJECT_DELETE,
	SQL_ENDPOINT_SERVICES,
	SQL_OBJECT_ROW,
	SQL_EVENT_INSERT,
	SQL_LIST,
	SQL_COUNT,
	SQL_EXPIRED,
	SQL_WATCH,
	SQL_FIRST_EVENT,
	SQL_TRIM_MARKS,
	SQL_TRIM_DELETE,
	SQL_DECISION_INSERT,
	SQL_DECISION_PRUNE,
	SQL_OBJECT_REV,
	SQL_GRANT_INSERT,
	SQL_GRANT_GET,
	SQL_GRANT_DELETE,
	SQL_GRANT_REFRESH,
	SQL_GRANTS_OF_ENDPOINT,
	SQL_GRANTS_OF_ENDPOINT_SERVICE,
	SQL_GRANTS_OF_SERVICE,
	SQL_GRANT_LOADS,
	SQL_POOL_GET,
	SQL_POOL_PUT,
	SQL_POOL_DELETE,
	SQL_LEASES_DELETE,
	SQL_LEASE_HOLD,
	SQL_LEASE_EXTEND,
	SQL_LEASE_TOP,
	SQL_FREE_FIRST,
	SQL_FREE_TAKE,
	SQL_FREE_PUT,
	SQL_FREES_DELETE,
	SQL_LEASE_INSERT,
	SQL_LEASE_FREE,
	SQL_LEASE_DROP,
	SQL_LEASES_LIVE,
	SQL_KEY_GET,
	SQL_KEY_CURRENT,
	SQL_KEY_RETIRE,
	SQL_KEY_INSERT,
	SQL_KEYS_LIST,
	SQL_KEYS_PRUNE,
	SQL_MAX
};


/* A connection and its prepared statements. */
struct store_sqlite_conn {
	sqlite3				*db;
	sqlite3_stmt			*stmt[SQL_MAX];
	/* Decision lists by their filters. */
	sqlite3_stmt	*decisions[STORE_SQLITE_DECISION_FILTERS];
	struct store_sqlite_conn	*next;		/* free readers */
};

/* An event written in the running batch, for the listener. */
struct store_sqlite_event {
	int64_t			 revision;
	enum store_kind		 kind;
	enum store_event_type	 type;
	char			*name;
	const char		*reason;	/* static */
	json_t			*object;	/* owned, NULL: no listener */
};

/* A change to the service index made by the running batch. */
struct store_sqlite_ichange {
	char		*name;
	json_t		*del;		/* services name leaves, or NULL */
	json_t		*add;		/* services name joins, or NULL */
	int64_t		 row;		/* where name is stored, */
	int64_t		 revision;	/* at which revision (0: gone) */
	int64_t		 expires_at;
};

struct store_sqlite;

/* One queued write. */
struct store_sqlite_op {
	int			(*run)(struct store_sqlite *,
				    struct store_sqlite_op *);
	struct nsreg_error	*err;
	int64_t			 now;

	struct store_object	*obj;		/* create, update, put */
	int64_t			 expect_rev;	/* update, delete, put */
	store_check_fn		 check;		/* put */
	void			*check_arg;
	enum store_kind		 kind;		/* delete, prune */
	const char		*name;		/* delete */
	int			 want_old;	/* delete */
	const struct store_decision *decisions;	/* decision append */
	size_t			 ndecisions;
	int64_t			 before;	/* decision prune */
	const char		*reason;	/* delete: event reason */
	struct store_grant	*grant;		/* grant create */
	const char		*kid;		/* grant update, key use */
	const char		*jwk;		/* key use */

	/* Results, valid when rc is 0 once done. */
	int			 rc;
	int64_t			 revision;
	int64_t			 created_at;
	char			*owner;		/* update: the kept owner */
	char			*text;		/* create, update: stored text */
	size_t			 text_len;
	int			 created;	/* put */
	struct store_object	 old;		/* delete */
	int64_t			 count;		/* prune */

	int			 done;
	int			 lead;		/* handed the writer */
	pthread_cond_t		 cond;		/* its thread waits here */
	struct store_sqlite_op	*next;

	/*
	 * An asynchronous put: nobody waits; the writer thread completes it
	 * (outside the writer lock) and frees it.
	 */
	int			 async;
	store_done_fn		 complete;
	void			*complete_arg;
	struct nsreg_error	 errbuf;
};

struct store_sqlite {
	char				*path;
	size_t				 history;

	/* The writer: its connection is the batch leader's alone. */
	struct store_sqlite_conn	*writer;
	pthread_mutex_t			 wlock;
	pthread_cond_t			 wcond;		/* checkpointer */
	/* The writer thread leads batches that start with async puts. */
	pthread_t			 wthread;
	pthread_cond_t			 wtcond;
	int				 wthread_started;
	int				 wlead;		/* it is to lead */
	int				 wstop;
	struct store_sqlite_op		*queue, **queue_tail;
	int				 writing;	/* a leader runs */
	int				 ckpt_wanted;	/* hold writers */
	int				 ckpt_signal;	/* log is long */
	int				 ckpt_next;	/* signal at */
	int				 stopping;
	pthread_cond_t			 ckcond;
	pthread_t			 ckthread;
	int				 ckthread_started;
	int				 wal_frames;	/* leader only */
	store_listener_fn		 listener;
	void				*listener_arg;

	/* Leader-only state of the running batch. */
	int64_t				 next_rev;	/* last taken */
	struct store_sqlite_event	*events;
	size_t				 nevents, events_cap;
	int				 keep_events;
	struct store_sqlite_ichange	*ichanges;
	size_t				 nichanges, ichanges_cap;

	int64_t				 committed;	/* atomic */
	/* ?service= lists answered, atomic (store_stats). */
	uint64_t			 lists_memory, lists_database;

	/*
	 * Endpoints by service, in memory: three random index pages per
	 * registration cost more than the whole rest of the write.  Built
	 * at open from objects.services, changed after each commit under
	 * ilock together with index_rev, the revision it reflects, so a
	 * reader takes it only when it matches its snapshot.
	 */
	struct store_svcidx		*svcidx;
	struct store_textcache		*texts;		/* endpoints' */
	pthread_rwlock_t		 ilock;
	int64_t				 index_rev;
	int				 index_ok;	/* 0: lists scan */

	/* Reader pool. */
	pthread_mutex_t			 rlock;
	pthread_cond_t			 rcond;
	struct store_sqlite_conn	*readers;
	size_t				 nreaders;
};

/* What a connection is for. */
enum store_sqlite_role {
	STORE_SQLITE_READER = 0,
	STORE_SQLITE_WRITER,
	STORE_SQLITE_CHECKPOINTER
};

/* The stored row of kind/name, for the writer's checks. */
struct store_sqlite_row {
	int		 found;
	int64_t		 revision;
	int64_t		 created_at;
	int64_t		 updated_at;
	int64_t		 expires_at;
	char		*owner;
	char		*object;
	size_t		 object_len;
	char		*services;
	int64_t		 rowid;
};

/* store_sqlite.c: errors, statements, connections, meta, readers. */
int	store_sqlite_error(sqlite3 *db, int rc, const char *what,
	    struct nsreg_error *err);
sqlite3_stmt *store_sqlite_prepare(struct store_sqlite_conn *c,
	    sqlite3_stmt **slot, const char *sql, struct nsreg_error *err);
sqlite3_stmt *store_sqlite_stmt(struct store_sqlite_conn *c,
	    enum store_sqlite_sql id, struct nsreg_error *err);
int	store_sqlite_step_done(struct store_sqlite_conn *c, sqlite3_stmt *st,
	    const char *what, struct nsreg_error *err);
int	store_sqlite_exec(struct store_sqlite_conn *c,
	    enum store_sqlite_sql id, struct nsreg_error *err);
void	store_sqlite_conn_close(struct store_sqlite_conn *c);
struct store_sqlite_conn *store_sqlite_conn_open(const char *path,
	    enum store_sqlite_role role, struct nsreg_error *err);
int	store_sqlite_meta_get(struct store_sqlite_conn *c, const char *key,
	    int64_t *value, struct nsreg_error *err);
int	store_sqlite_revision_get(struct store_sqlite_conn *c, int64_t *rev,
	    struct nsreg_error *err);
int	store_sqlite_meta_set(struct store_sqlite_conn *c, const char *key,
	    int64_t value, struct nsreg_error *err);
struct store_sqlite_conn *store_sqlite_reader_get(struct store_sqlite *s,
	    struct nsreg_error *err);
void	store_sqlite_reader_put(struct store_sqlite *s,
	    struct store_sqlite_conn *c);
json_t *store_sqlite_parse(const char *text, size_t len);
char *store_sqlite_column_dup(sqlite3_stmt *st, int col);
/* 1 when an object expiring at expires_at (0: never) is live at now. */
static inline int
store_sqlite_live(int64_t expires_at, int64_t now)
{
	return expires_at == 0 || expires_at > now;
}

/* store_sqlite_writer.c: queue a write and wait for its commit. */
int	store_sqlite_write(struct store_sqlite *s, struct store_sqlite_op *op);
/* store_sqlite_write, then hand the results to op->obj. */
int	store_sqlite_write_object(struct store_sqlite *s,
	    struct store_sqlite_op *op);
void	store_sqlite_write_async(struct store_sqlite *s,
	    struct store_sqlite_op *op);
/* Start the writer thread and the checkpointer; stop and join them. */
int	store_sqlite_writer_start(struct store_sqlite *s,
	    struct nsreg_error *err);
void	store_sqlite_writer_stop(struct store_sqlite *s);

/* store_sqlite_objects.c: rows, object writes and their events. */
void	store_sqlite_events_drop(struct store_sqlite *s, size_t from);
void	store_sqlite_ichanges_drop(struct store_sqlite *s, size_t from);
int	store_sqlite_ichanges_apply(struct store_sqlite *s);
int	store_sqlite_remove(struct store_sqlite *s, enum store_kind kind,
	    const char *name, const char *text, size_t len,
	    const char *services, const char *reason, json_t **oldp,
	    struct nsreg_error *err);
void	store_sqlite_row_clear(struct store_sqlite_row *row);
int	store_sqlite_row_get(struct store_sqlite_conn *c, enum store_kind kind,
	    const char *name, struct store_sqlite_row *row,
	    struct nsreg_error *err);
int	store_sqlite_object_put(struct store_sqlite *s,
	    const struct store_object *obj, enum store_sqlite_sql id,
	    int64_t rowid, enum store_event_type type,
	    const char *old_services, struct store_sqlite_op *op,
	    struct nsreg_error *err);
int	store_sqlite_run_delete(struct store_sqlite *s,
	    struct store_sqlite_op *op);
int	store_sqlite_create(void *b, struct store_object *obj, int64_t now,
	    struct nsreg_error *err);
int	store_sqlite_put(void *b, struct store_object *obj, int64_t if_match,
	    store_check_fn check, void *arg, int64_t now, int *created,
	    struct nsreg_error *err);
int	store_sqlite_put_async(void *b, struct store_object *obj,
	    int64_t if_match, store_check_fn check, void *arg, int64_t now,
	    store_done_fn done, void *done_arg, struct nsreg_error *err);
int	store_sqlite_update(void *b, struct store_object *obj,
	    int64_t expect_rev, int64_t now, struct nsreg_error *err);
int	store_sqlite_delete(void *b, enum store_kind kind, const char *name,
	    int64_t expect_rev, int64_t now, struct store_object *old,
	    struct nsreg_error *err);
int64_t	store_sqlite_prune(void *b, int64_t now, struct nsreg_error *err);

/* store_sqlite_grants.c: grants, leases, cascades and keys. */
int	store_sqlite_pool_check(struct store_sqlite *s,
	    const struct store_object *obj, int64_t now,
	    struct nsreg_error *err);
int	store_sqlite_grant_release(struct store_sqlite *s, const char *id,
	    struct nsreg_error *err);
int	store_sqlite_cascade(struct store_sqlite *s, enum store_kind kind,
	    const char *name, struct nsreg_error *err);
int	store_sqlite_endpoint_dropped(struct store_sqlite *s, const char *name,
	    const char *old, const json_t *now_offered,
	    struct nsreg_error *err);
int	store_sqlite_run_keys_prune(struct store_sqlite *s,
	    struct store_sqlite_op *op);
int	store_sqlite_grant_create(void *b, struct store_object *obj,
	    struct store_grant *g, int64_t now, struct nsreg_error *err);
int	store_sqlite_grant_update(void *b, struct store_object *obj,
	    const char *kid, int64_t expect_rev, int64_t now,
	    struct nsreg_error *err);
int	store_sqlite_grant_delete(void *b, const char *id, int64_t expect_rev,
	    const char *reason, int64_t now, struct store_object *old,
	    struct nsreg_error *err);
int	store_sqlite_grant_key_use(void *b, const char *kid, const char *jwk,
	    int64_t now, struct nsreg_error *err);
int	store_sqlite_grant_loads(void *b, int64_t now,
	    void (*fn)(const char *, int64_t, void *), void *arg,
	    struct nsreg_error *err);
int	store_sqlite_ipam_usage(void *b, const char *service, int64_t now,
	    char *pool, size_t len, int *client_len, int64_t *live,
	    struct nsreg_error *err);
int	store_sqlite_grant_keys(void *b, int64_t now, json_t **keys,
	    struct nsreg_error *err);

/* store_sqlite_reads.c: reads and the decision log. */
int	store_sqlite_decision_append(void *b, const struct store_decision *v,
	    size_t n, struct nsreg_error *err);
int64_t	store_sqlite_decision_prune(void *b, int64_t before,
	    struct nsreg_error *err);
int	store_sqlite_fetch(void *b, enum store_kind kind, const char *name,
	    int64_t now, struct store_object *out, struct nsreg_error *err);
int	store_sqlite_list(void *b, const struct store_query *q, int64_t now,
	    struct store_list_sink *sink, int64_t *revision, int *more,
	    struct nsreg_error *err);
int64_t	store_sqlite_count(void *b, enum store_kind kind, int64_t now);
int64_t	store_sqlite_watch(void *b, enum store_kind kind, int64_t after,
	    size_t limit, store_listener_fn fn, void *arg,
	    struct nsreg_error *err);
int	store_sqlite_decision_list(void *b,
	    const struct store_decision_query *q, json_t **items,
	    int64_t *next_id, struct nsreg_error *err);

#endif
