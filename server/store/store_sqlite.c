/*
 * store_sqlite.c - the SQLite storage backend ("sqlite:PATH"), the only
 * file that calls sqlite3_*.
 *
 * One database file in WAL mode with synchronous=NORMAL: a committed
 * transaction is in the WAL, written to the kernel, before the writer
 * returns, so it survives the death of the process (not a power cut
 * between checkpoints, which do fsync).
 *
 * Writes go through one writer connection with group commit: a writing
 * thread queues its operation; whoever finds no batch running becomes the
 * leader, takes every queued operation, runs each inside its own
 * savepoint of one transaction, commits once, hands the events to the
 * listener in revision order and only then wakes the callers whose
 * operations that commit carried, passing the writer to the next queued
 * one.  Uncontended, a batch is one operation.  A failed operation rolls
 * back to its savepoint and gives back the revisions it took, so
 * revisions stay gap-free.  A checkpointer thread copies the log into
 * the database off the commit path.
 *
 * Reads use a small pool of reader connections, each in its own WAL
 * snapshot, so they never wait for the writer.  Every connection caches
 * its prepared statements.
 *
 * Endpoints by service are indexed in memory (see struct store_sqlite),
 * with a bounded cache of their rendered texts: a ?service list is
 * usually answered without the database.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_backend.h"

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
/* Decision log filters: principal, action, decision. */
#define STORE_SQLITE_DECISION_FILTERS	8

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
	SQL_POOL_LOW,
	SQL_POOL_LOWER,
	SQL_POOL_DELETE,
	SQL_LEASES_DELETE,
	SQL_LEASE_HOLD,
	SQL_LEASE_EXTEND,
	SQL_LEASE_SCAN,
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

static const char *const store_sqlite_sql[SQL_MAX] = {
	[SQL_BEGIN] = "BEGIN",
	[SQL_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_SAVEPOINT] = "SAVEPOINT op",
	[SQL_RELEASE] = "RELEASE op",
	[SQL_ROLLBACK_TO] = "ROLLBACK TO op",
	[SQL_PING] = "SELECT 1",
	[SQL_REVISION] = "SELECT max(revision) FROM events",
	[SQL_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[SQL_META_SET] =
	    "INSERT INTO meta (key, value) VALUES (?1, ?2) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[SQL_OBJECT_GET] =
	    "SELECT revision, created_at, updated_at, expires_at, owner, "
	    "object, services, rowid FROM objects "
	    "WHERE kind = ?1 AND name = ?2",
	[SQL_OBJECT_INSERT] =
	    "INSERT INTO objects (kind, name, revision, created_at, "
	    "updated_at, expires_at, owner, object, services) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQL_OBJECT_UPDATE] =
	    "UPDATE objects SET revision = ?3, updated_at = ?5, "
	    "expires_at = ?6, owner = ?7, object = ?8, services = ?9 "
	    "WHERE kind = ?1 AND name = ?2",
	[SQL_OBJECT_DELETE] =
	    "DELETE FROM objects WHERE kind = ?1 AND name = ?2",
	[SQL_ENDPOINT_SERVICES] =
	    "SELECT name, services, rowid, revision, expires_at FROM objects "
	    "WHERE kind = ?1 AND services IS NOT NULL ORDER BY name",
	[SQL_OBJECT_ROW] =
	    "SELECT name, revision, object FROM objects WHERE rowid = ?1",
	[SQL_EVENT_INSERT] =
	    "INSERT INTO events (revision, kind, type, name, reason, object) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQL_LIST] =
	    "SELECT name, object, services FROM objects "
	    "WHERE kind = ?1 AND name > ?2 "
	    "AND (expires_at = 0 OR expires_at > ?3) ORDER BY name",
	[SQL_COUNT] =
	    "SELECT (SELECT count(*) FROM objects WHERE kind = ?1) - "
	    "(SELECT count(*) FROM objects WHERE kind = ?1 "
	    "AND expires_at BETWEEN 1 AND ?2)",
	[SQL_EXPIRED] =
	    "SELECT name, object, services FROM objects "
	    "WHERE kind = ?1 AND expires_at BETWEEN 1 AND ?2 "
	    "ORDER BY expires_at LIMIT ?3",
	[SQL_WATCH] =
	    "SELECT revision, type, name, reason, object FROM events "
	    "WHERE revision > ?2 AND kind = ?1 ORDER BY revision LIMIT ?3",
	[SQL_FIRST_EVENT] = "SELECT min(revision) FROM events",
	[SQL_TRIM_MARKS] =
	    "SELECT kind, max(revision) FROM events WHERE revision <= ?1 "
	    "GROUP BY kind",
	[SQL_TRIM_DELETE] = "DELETE FROM events WHERE revision <= ?1",
	[SQL_DECISION_INSERT] =
	    "INSERT INTO decisions (time, principal, action, decision, entry) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_DECISION_PRUNE] =
	    "DELETE FROM decisions WHERE id IN (SELECT id FROM decisions "
	    "WHERE time < ?1 LIMIT ?2)",
	[SQL_OBJECT_REV] =
	    "SELECT revision, expires_at FROM objects "
	    "WHERE kind = ?1 AND name = ?2",
	[SQL_GRANT_INSERT] =
	    "INSERT INTO grants (id, service, endpoint, kid, slot, lease, "
	    "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SQL_GRANT_GET] =
	    "SELECT service, slot, lease FROM grants WHERE id = ?1",
	[SQL_GRANT_DELETE] = "DELETE FROM grants WHERE id = ?1",
	[SQL_GRANT_REFRESH] =
	    "UPDATE grants SET kid = ?2, expires_at = ?3 WHERE id = ?1",
	[SQL_GRANTS_OF_ENDPOINT] = "SELECT id FROM grants WHERE endpoint = ?1",
	[SQL_GRANTS_OF_ENDPOINT_SERVICE] =
	    "SELECT id FROM grants WHERE endpoint = ?1 AND service = ?2",
	[SQL_GRANTS_OF_SERVICE] = "SELECT id FROM grants WHERE service = ?1",
	[SQL_GRANT_LOADS] =
	    "SELECT endpoint, count(*) FROM grants WHERE expires_at > ?1 "
	    "GROUP BY endpoint",
	[SQL_POOL_GET] =
	    "SELECT prefix, client_len, low FROM ipam_pools WHERE service = ?1",
	[SQL_POOL_PUT] =
	    "INSERT INTO ipam_pools (service, prefix, client_len, low) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (service) DO UPDATE SET "
	    "prefix = excluded.prefix, client_len = excluded.client_len, "
	    "low = excluded.low",
	[SQL_POOL_LOW] = "UPDATE ipam_pools SET low = ?2 WHERE service = ?1",
	[SQL_POOL_LOWER] =
	    "UPDATE ipam_pools SET low = min(low, ?2) WHERE service = ?1",
	[SQL_POOL_DELETE] = "DELETE FROM ipam_pools WHERE service = ?1",
	[SQL_LEASES_DELETE] = "DELETE FROM ipam_leases WHERE service = ?1",
	[SQL_LEASE_HOLD] =
	    "UPDATE ipam_leases SET grants = grants + 1, "
	    "expires_at = max(expires_at, ?3) "
	    "WHERE service = ?1 AND principal = ?2 RETURNING slot, lease",
	[SQL_LEASE_EXTEND] =
	    "UPDATE ipam_leases SET expires_at = max(expires_at, ?4) "
	    "WHERE service = ?1 AND slot = ?2 AND lease = ?3",
	[SQL_LEASE_SCAN] =
	    "SELECT slot FROM ipam_leases WHERE service = ?1 AND slot >= ?2 "
	    "ORDER BY slot",
	[SQL_LEASE_INSERT] =
	    "INSERT INTO ipam_leases (service, slot, principal, lease, grants, "
	    "expires_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
	[SQL_LEASE_FREE] =
	    "DELETE FROM ipam_leases WHERE service = ?1 AND slot = ?2 "
	    "AND lease = ?3 AND grants <= 1",
	[SQL_LEASE_DROP] =
	    "UPDATE ipam_leases SET grants = grants - 1 "
	    "WHERE service = ?1 AND slot = ?2 AND lease = ?3",
	[SQL_LEASES_LIVE] =
	    "SELECT count(*) FROM ipam_leases "
	    "WHERE service = ?1 AND expires_at > ?2",
	[SQL_KEY_GET] = "SELECT retired_at FROM grant_keys WHERE kid = ?1",
	[SQL_KEY_CURRENT] =
	    "SELECT kid FROM grant_keys WHERE retired_at IS NULL",
	[SQL_KEY_RETIRE] =
	    "UPDATE grant_keys SET retired_at = ?2, expires_at = "
	    "max(?2, coalesce((SELECT max(expires_at) FROM grants "
	    "WHERE kid = ?1), 0)) WHERE kid = ?1",
	[SQL_KEY_INSERT] =
	    "INSERT INTO grant_keys (kid, jwk, created_at) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (kid) DO UPDATE SET jwk = excluded.jwk, "
	    "retired_at = NULL, expires_at = NULL",
	[SQL_KEYS_LIST] =
	    "SELECT kid, jwk, created_at, retired_at, expires_at "
	    "FROM grant_keys WHERE retired_at IS NULL OR expires_at > ?1 "
	    "ORDER BY retired_at IS NOT NULL, created_at DESC, kid",
	[SQL_KEYS_PRUNE] =
	    "DELETE FROM grant_keys "
	    "WHERE retired_at IS NOT NULL AND expires_at <= ?1",
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

static int
store_sqlite_error(sqlite3 *db, int rc, const char *what,
    struct nsreg_error *err)
{
	enum nsreg_code	code;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PROTOCOL:
		code = NSREG_UNAVAILABLE;
		break;
	default:
		code = NSREG_INTERNAL;
		break;
	}
	return nsreg_error_set(err, code, NULL, "database: %s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static sqlite3_stmt *
store_sqlite_prepare(struct store_sqlite_conn *c, sqlite3_stmt **slot,
    const char *sql, struct nsreg_error *err)
{
	int	rc;

	if (*slot != NULL)
		return *slot;
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    slot, NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_error(c->db, rc, "prepare", err);
		*slot = NULL;
	}
	return *slot;
}

static sqlite3_stmt *
store_sqlite_stmt(struct store_sqlite_conn *c, enum store_sqlite_sql id,
    struct nsreg_error *err)
{
	return store_sqlite_prepare(c, &c->stmt[id], store_sqlite_sql[id],
	    err);
}

/* Run a statement that returns no rows (bindings already made). */
static int
store_sqlite_step_done(struct store_sqlite_conn *c, sqlite3_stmt *st,
    const char *what, struct nsreg_error *err)
{
	int	rc, ret = 0;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_sqlite_error(c->db, rc, what, err);
	sqlite3_reset(st);
	return ret;
}

static int
store_sqlite_exec(struct store_sqlite_conn *c, enum store_sqlite_sql id,
    struct nsreg_error *err)
{
	sqlite3_stmt	*st;

	if ((st = store_sqlite_stmt(c, id, err)) == NULL)
		return -1;
	return store_sqlite_step_done(c, st, store_sqlite_sql[id], err);
}

static void
store_sqlite_conn_close(struct store_sqlite_conn *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < SQL_MAX; i++)
		sqlite3_finalize(c->stmt[i]);
	for (i = 0; i < STORE_SQLITE_DECISION_FILTERS; i++)
		sqlite3_finalize(c->decisions[i]);
	sqlite3_close(c->db);
	free(c);
}

static int
store_sqlite_wal_cb(void *arg, int ncols, char **vals, char **names)
{
	int	*wal = arg;

	(void)names;
	*wal = ncols == 1 && vals[0] != NULL && strcmp(vals[0], "wal") == 0;
	return 0;
}

/* What a connection is for. */
enum store_sqlite_role {
	STORE_SQLITE_READER = 0,
	STORE_SQLITE_WRITER,
	STORE_SQLITE_CHECKPOINTER
};

static struct store_sqlite_conn *
store_sqlite_conn_open(const char *path, enum store_sqlite_role role,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c;
	char				 pragmas[512];
	char				*msg = NULL;
	int				 rc, wal = 0, flags;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	    (role == STORE_SQLITE_WRITER ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "database %s: %s", path, c->db != NULL ?
		    sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, STORE_SQLITE_BUSY_MS);
	/*
	 * The page cache is per connection and bounded: the server keeps
	 * objects on disk (and in the kernel's cache), not in its heap.
	 * No mmap, whose pages would count against the process.
	 */
	snprintf(pragmas, sizeof(pragmas),
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;"
	    "PRAGMA mmap_size = 0;"
	    "PRAGMA cache_size = -%d;"
	    "%s",
	    role == STORE_SQLITE_WRITER ? STORE_SQLITE_WRITER_CACHE :
	    STORE_SQLITE_READER_CACHE,
	    role == STORE_SQLITE_READER ? "PRAGMA query_only = ON;" :
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA journal_size_limit = 67108864;");
	if ((rc = sqlite3_exec(c->db, pragmas, NULL, NULL, &msg)) !=
	    SQLITE_OK) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "database %s: %s", path, msg != NULL ? msg :
		    sqlite3_errstr(rc));
		goto fail;
	}
	if (role == STORE_SQLITE_WRITER) {
		rc = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL",
		    store_sqlite_wal_cb, &wal, &msg);
		if (rc != SQLITE_OK || !wal) {
			nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
			    "database %s: cannot use write-ahead logging%s%s",
			    path, msg != NULL ? ": " : "",
			    msg != NULL ? msg : "");
			goto fail;
		}
	}
	return c;
fail:
	sqlite3_free(msg);
	store_sqlite_conn_close(c);
	return NULL;
}

static int
store_sqlite_meta_get(struct store_sqlite_conn *c, const char *key,
    int64_t *value, struct nsreg_error *err)
{
	sqlite3_stmt	*st;
	int		 rc, ret = 0;

	if ((st = store_sqlite_stmt(c, SQL_META_GET, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*value = 0;
	else
		ret = store_sqlite_error(c->db, rc, "read meta", err);
	sqlite3_reset(st);
	return ret;
}

/* The last revision: the newest event's (0 without any). */
static int
store_sqlite_revision_get(struct store_sqlite_conn *c, int64_t *rev,
    struct nsreg_error *err)
{
	sqlite3_stmt	*st;
	int		 rc, ret = 0;

	if ((st = store_sqlite_stmt(c, SQL_REVISION, err)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*rev = sqlite3_column_int64(st, 0);
	else
		ret = store_sqlite_error(c->db, rc, "read revision", err);
	sqlite3_reset(st);
	return ret;
}

static int
store_sqlite_meta_set(struct store_sqlite_conn *c, const char *key,
    int64_t value, struct nsreg_error *err)
{
	sqlite3_stmt	*st;

	if ((st = store_sqlite_stmt(c, SQL_META_SET, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return store_sqlite_step_done(c, st, "write meta", err);
}

/*
 * Migrations: each in its own immediate transaction that first reads the
 * version again, so two processes opening one file at once cannot both
 * apply the same migration.
 */
static int
store_sqlite_migrate(struct store_sqlite_conn *c, const char *path,
    const struct store_migration *mig, struct nsreg_error *err)
{
	const struct store_migration	*m, *last = NULL;
	sqlite3_stmt			*st = NULL, *rec = NULL;
	char				*msg = NULL;
	int64_t				 current;
	int				 rc, ret = -1, intx = 0;

	for (m = mig; m->name != NULL; m++) {
		if (m->version <= 0 || (last != NULL &&
		    m->version <= last->version)) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "migration %s: versions out of order", m->name);
			goto done;
		}
		last = m;
	}
	rc = sqlite3_exec(c->db, "CREATE TABLE IF NOT EXISTS "
	    "schema_migrations (version INTEGER PRIMARY KEY, "
	    "name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
	    NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_error(c->db, rc, "schema_migrations", err);
		goto done;
	}
	rc = sqlite3_prepare_v2(c->db, "SELECT version, name FROM "
	    "schema_migrations ORDER BY version DESC LIMIT 1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "INSERT INTO schema_migrations "
		    "(version, name, applied_at) VALUES (?1, ?2, "
		    "CAST((julianday('now') - 2440587.5) * 86400000 "
		    "AS INTEGER))", -1, &rec, NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_error(c->db, rc, "schema_migrations", err);
		goto done;
	}
	for (;;) {
		if (store_sqlite_exec(c, SQL_BEGIN_IMMEDIATE, err) == -1)
			goto done;
		intx = 1;
		current = 0;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			current = sqlite3_column_int64(st, 0);
		else if (rc != SQLITE_DONE) {
			store_sqlite_error(c->db, rc, "schema_migrations",
			    err);
			goto done;
		}
		if (current > (last != NULL ? last->version : 0)) {
			nsreg_error_set(err, NSREG_FAILED_PRECONDITION,
			    "database", "database %s has schema version "
			    "%lld (%s), newer than the %d this nsregd knows: "
			    "run a newer nsregd", path, (long long)current,
			    (const char *)sqlite3_column_text(st, 1),
			    last != NULL ? last->version : 0);
			goto done;
		}
		sqlite3_reset(st);
		for (m = mig; m->name != NULL && m->version <= current; m++)
			;
		if (m->name == NULL)
			break;
		if ((rc = sqlite3_exec(c->db, m->sql, NULL, NULL, &msg)) !=
		    SQLITE_OK) {
			nsreg_error_set(err, NSREG_INTERNAL, "database",
			    "database %s: migration %s: %s", path, m->name,
			    msg != NULL ? msg : sqlite3_errstr(rc));
			goto done;
		}
		sqlite3_bind_int(rec, 1, m->version);
		sqlite3_bind_text(rec, 2, m->name, -1, SQLITE_STATIC);
		if (store_sqlite_step_done(c, rec, "schema_migrations",
		    err) == -1)
			goto done;
		if (store_sqlite_exec(c, SQL_COMMIT, err) == -1)
			goto done;
		intx = 0;
	}
	if (store_sqlite_exec(c, SQL_COMMIT, err) == -1)
		goto done;
	intx = 0;
	ret = 0;
done:
	if (st != NULL)
		sqlite3_reset(st);
	sqlite3_finalize(st);
	sqlite3_finalize(rec);
	sqlite3_free(msg);
	if (intx)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* Readers. */

static struct store_sqlite_conn *
store_sqlite_reader_get(struct store_sqlite *s, struct nsreg_error *err)
{
	struct store_sqlite_conn	*c;

	pthread_mutex_lock(&s->rlock);
	while (s->readers == NULL && s->nreaders >= STORE_SQLITE_READERS)
		pthread_cond_wait(&s->rcond, &s->rlock);
	if ((c = s->readers) != NULL) {
		s->readers = c->next;
		pthread_mutex_unlock(&s->rlock);
		return c;
	}
	s->nreaders++;
	pthread_mutex_unlock(&s->rlock);
	if ((c = store_sqlite_conn_open(s->path, STORE_SQLITE_READER,
	    err)) == NULL) {
		pthread_mutex_lock(&s->rlock);
		s->nreaders--;
		pthread_cond_signal(&s->rcond);
		pthread_mutex_unlock(&s->rlock);
	}
	return c;
}

static void
store_sqlite_reader_put(struct store_sqlite *s, struct store_sqlite_conn *c)
{
	if (c == NULL)
		return;
	/* A reader goes back without a transaction, whatever happened. */
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&s->rlock);
	c->next = s->readers;
	s->readers = c;
	pthread_cond_signal(&s->rcond);
	pthread_mutex_unlock(&s->rlock);
}

/* The writer: events, operations and batches. */

/*
 * Write one event row and keep it for the listener.  object (stolen) is
 * the rendered object of text.
 */
static int
store_sqlite_event_put(struct store_sqlite *s, int64_t rev,
    enum store_kind kind, enum store_event_type type, const char *name,
    const char *reason, const char *text, size_t len, json_t *object,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_sqlite_event	*ev, *nv;
	sqlite3_stmt			*st;
	size_t				 cap;
	int				 ret = -1;

	if ((st = store_sqlite_stmt(c, SQL_EVENT_INSERT, err)) == NULL)
		goto done;
	sqlite3_bind_int64(st, 1, rev);
	sqlite3_bind_int(st, 2, (int)kind);
	sqlite3_bind_int(st, 3, (int)type);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, text, (int)len, SQLITE_STATIC);
	if (store_sqlite_step_done(c, st, "write event", err) == -1)
		goto done;
	if (!s->keep_events) {
		ret = 0;
		goto done;
	}
	if (s->nevents == s->events_cap) {
		cap = s->events_cap != 0 ? s->events_cap * 2 : 64;
		if ((nv = realloc(s->events, cap * sizeof(*nv))) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto done;
		}
		s->events = nv;
		s->events_cap = cap;
	}
	ev = &s->events[s->nevents];
	if ((ev->name = strdup(name)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	ev->revision = rev;
	ev->kind = kind;
	ev->type = type;
	ev->reason = reason;
	ev->object = object;
	object = NULL;
	s->nevents++;
	ret = 0;
done:
	json_decref(object);
	return ret;
}

/* Forget the kept events from index from on. */
static void
store_sqlite_events_drop(struct store_sqlite *s, size_t from)
{
	size_t	i;

	for (i = from; i < s->nevents; i++) {
		free(s->events[i].name);
		json_decref(s->events[i].object);
	}
	s->nevents = from;
}

static json_t *
store_sqlite_parse(const char *text, size_t len)
{
	return json_loadb(text, len, JSON_ALLOW_NUL, NULL);
}

/*
 * Record, for the index once the batch commits, that name stops offering
 * the services in the stored text old (NULL: none), starts offering those
 * of add (NULL: none) and is now stored at row with revision (0: is
 * gone) and expires_at.
 */
static int
store_sqlite_index_change(struct store_sqlite *s, const char *name,
    const char *old, const json_t *add, int64_t row, int64_t revision,
    int64_t expires_at, struct nsreg_error *err)
{
	struct store_sqlite_ichange	*ic, *nv;
	json_t				*del = NULL;
	size_t				 cap;

	if (old != NULL && (del = store_sqlite_parse(old, strlen(old))) ==
	    NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "endpoint %s: unreadable stored services", name);
	if (s->nichanges == s->ichanges_cap) {
		cap = s->ichanges_cap != 0 ? s->ichanges_cap * 2 : 64;
		if ((nv = realloc(s->ichanges, cap * sizeof(*nv))) == NULL)
			goto oom;
		s->ichanges = nv;
		s->ichanges_cap = cap;
	}
	ic = &s->ichanges[s->nichanges];
	if ((ic->name = strdup(name)) == NULL)
		goto oom;
	ic->del = del;
	ic->add = json_incref((json_t *)add);
	ic->row = row;
	ic->revision = revision;
	ic->expires_at = expires_at;
	s->nichanges++;
	return 0;
oom:
	json_decref(del);
	return nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
}

/* Forget the recorded index changes from index from on. */
static void
store_sqlite_ichanges_drop(struct store_sqlite *s, size_t from)
{
	size_t	i;

	for (i = from; i < s->nichanges; i++) {
		free(s->ichanges[i].name);
		json_decref(s->ichanges[i].del);
		json_decref(s->ichanges[i].add);
	}
	s->nichanges = from;
}

/* Apply the committed batch's index changes; -1 when out of memory. */
static int
store_sqlite_ichanges_apply(struct store_sqlite *s)
{
	struct store_sqlite_ichange	*ic;
	const json_t			*v;
	size_t				 i, j;
	int				 ret = 0;

	for (i = 0; i < s->nichanges; i++) {
		ic = &s->ichanges[i];
		json_array_foreach(ic->del, j, v)
			store_svcidx_remove(s->svcidx, json_string_value(v),
			    ic->name);
		json_array_foreach(ic->add, j, v) {
			if (store_svcidx_add(s->svcidx, json_string_value(v),
			    ic->name) == -1)
				ret = -1;
		}
		if (ic->revision != 0)
			store_svcidx_set(s->svcidx, ic->name, ic->row,
			    ic->revision, ic->expires_at);
	}
	return ret;
}

static int
store_sqlite_object_delete(struct store_sqlite *s, enum store_kind kind,
    const char *name, struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_OBJECT_DELETE, err)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return store_sqlite_step_done(c, st, "delete", err);
}

static int	store_sqlite_grant_release(struct store_sqlite *,
		    const char *, struct nsreg_error *);
static int	store_sqlite_cascade(struct store_sqlite *, enum store_kind,
		    const char *, struct nsreg_error *);

/*
 * Delete the stored object kind/name whose rendered text and services
 * are given, with a DELETED event.  The deleted object (new reference)
 * goes to *oldp when oldp is not NULL.  A grant releases what it holds;
 * an endpoint or service revokes its grants after its own event.
 */
static int
store_sqlite_remove(struct store_sqlite *s, enum store_kind kind,
    const char *name, const char *text, size_t len, const char *services,
    const char *reason, json_t **oldp, struct nsreg_error *err)
{
	json_t	*old = NULL;
	int64_t	 rev;
	int	 ret = -1;

	if (s->keep_events || oldp != NULL) {
		if ((old = store_sqlite_parse(text, len)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s %s: unreadable stored object",
			    store_kind_name(kind), name);
			goto done;
		}
	}
	rev = ++s->next_rev;
	if (store_sqlite_object_delete(s, kind, name, err) == -1 ||
	    (services != NULL && store_sqlite_index_change(s, name, services,
	    NULL, 0, 0, 0, err) == -1))
		goto done;
	if (kind == STORE_GRANT && store_sqlite_grant_release(s, name,
	    err) == -1)
		goto done;
	if (oldp != NULL)
		*oldp = json_incref(old);
	ret = store_sqlite_event_put(s, rev, kind, STORE_DELETED, name,
	    reason, text, len, old, err);
	old = NULL;
	if (ret == 0 && (kind == STORE_ENDPOINT || kind == STORE_SERVICE))
		ret = store_sqlite_cascade(s, kind, name, err);
	if (ret == -1 && oldp != NULL) {
		json_decref(*oldp);
		*oldp = NULL;
	}
done:
	json_decref(old);
	return ret;
}

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

static void
store_sqlite_row_clear(struct store_sqlite_row *row)
{
	free(row->owner);
	free(row->object);
	free(row->services);
	memset(row, 0, sizeof(*row));
}

static char *
store_sqlite_column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char	*t;
	char			*d;
	size_t			 n;

	if ((t = sqlite3_column_text(st, col)) == NULL)
		return NULL;
	n = (size_t)sqlite3_column_bytes(st, col);
	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, t, n);
	d[n] = '\0';
	return d;
}

static int
store_sqlite_row_get(struct store_sqlite_conn *c, enum store_kind kind,
    const char *name, struct store_sqlite_row *row, struct nsreg_error *err)
{
	sqlite3_stmt	*st;
	int		 rc, ret = -1;

	memset(row, 0, sizeof(*row));
	if ((st = store_sqlite_stmt(c, SQL_OBJECT_GET, err)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto done;
	}
	if (rc != SQLITE_ROW) {
		store_sqlite_error(c->db, rc, "read", err);
		goto done;
	}
	row->found = 1;
	row->revision = sqlite3_column_int64(st, 0);
	row->created_at = sqlite3_column_int64(st, 1);
	row->updated_at = sqlite3_column_int64(st, 2);
	row->expires_at = sqlite3_column_int64(st, 3);
	row->rowid = sqlite3_column_int64(st, 7);
	row->object_len = (size_t)sqlite3_column_bytes(st, 5);
	if ((sqlite3_column_type(st, 4) != SQLITE_NULL &&
	    (row->owner = store_sqlite_column_dup(st, 4)) == NULL) ||
	    (row->object = store_sqlite_column_dup(st, 5)) == NULL ||
	    (sqlite3_column_type(st, 6) != SQLITE_NULL &&
	    (row->services = store_sqlite_column_dup(st, 6)) == NULL)) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		store_sqlite_row_clear(row);
		goto done;
	}
	ret = 0;
done:
	sqlite3_reset(st);
	return ret;
}

static int
store_sqlite_live(int64_t expires_at, int64_t now)
{
	return expires_at == 0 || expires_at > now;
}

/* ---- grants: their rows, leases, cascades and keys ------------------- */

/* The revision and expiry of kind/name; *found 0 when there is no row. */
static int
store_sqlite_object_rev(struct store_sqlite_conn *c, enum store_kind kind,
    const char *name, int *found, int64_t *rev, int64_t *expires,
    struct nsreg_error *err)
{
	sqlite3_stmt	*st;
	int		 rc, ret = 0;

	*found = 0;
	*rev = *expires = 0;
	if ((st = store_sqlite_stmt(c, SQL_OBJECT_REV, err)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = 1;
		*rev = sqlite3_column_int64(st, 0);
		*expires = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE)
		ret = store_sqlite_error(c->db, rc, "read", err);
	sqlite3_reset(st);
	return ret;
}

/* The first column of the first row of st (bound); *found 0: no row. */
static int
store_sqlite_one_int(struct store_sqlite_conn *c, sqlite3_stmt *st,
    int64_t *v, int *found, const char *what, struct nsreg_error *err)
{
	int	rc, ret = 0;

	*v = 0;
	*found = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = sqlite3_column_type(st, 0) != SQLITE_NULL ? 1 : 2;
		*v = sqlite3_column_int64(st, 0);
	} else if (rc != SQLITE_DONE)
		ret = store_sqlite_error(c->db, rc, what, err);
	sqlite3_reset(st);
	return ret;
}

/* Live leases of service's pool at now. */
static int
store_sqlite_leases_live(struct store_sqlite_conn *c, const char *service,
    int64_t now, int64_t *live, struct nsreg_error *err)
{
	sqlite3_stmt	*st;
	int		 found;

	if ((st = store_sqlite_stmt(c, SQL_LEASES_LIVE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return store_sqlite_one_int(c, st, live, &found, "read leases", err);
}

/* Forget service's pool and every lease of it. */
static int
store_sqlite_pool_drop(struct store_sqlite *s, const char *service,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_POOL_DELETE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	if (store_sqlite_step_done(c, st, "drop pool", err) == -1)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_LEASES_DELETE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	return store_sqlite_step_done(c, st, "drop leases", err);
}

/* A service's pool as stored: *found 0 when it has none. */
struct store_sqlite_pool {
	int		 found;
	char		 prefix[128];
	int		 client_len;
	int64_t		 low;
};

static int
store_sqlite_pool_get(struct store_sqlite_conn *c, const char *service,
    struct store_sqlite_pool *p, struct nsreg_error *err)
{
	sqlite3_stmt	*st;
	const char	*t;
	int		 rc, ret = 0;

	memset(p, 0, sizeof(*p));
	if ((st = store_sqlite_stmt(c, SQL_POOL_GET, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		p->found = 1;
		t = (const char *)sqlite3_column_text(st, 0);
		snprintf(p->prefix, sizeof(p->prefix), "%s", t != NULL ? t :
		    "");
		p->client_len = sqlite3_column_int(st, 1);
		p->low = sqlite3_column_int64(st, 2);
	} else if (rc != SQLITE_DONE)
		ret = store_sqlite_error(c->db, rc, "read pool", err);
	sqlite3_reset(st);
	return ret;
}

/*
 * A service write keeps the service's pool when its vl3 stays the same;
 * another vl3 (or none) is refused while live grants hold addresses of
 * the pool, and otherwise drops it.
 */
static int
store_sqlite_pool_check(struct store_sqlite *s, const struct store_object *obj,
    int64_t now, struct nsreg_error *err)
{
	struct store_sqlite_pool	 p;
	const json_t			*vl3;
	const char			*prefix;
	int64_t				 live;
	int				 cpl;

	vl3 = json_object_get(obj->doc, "vl3");
	prefix = json_string_value(json_object_get(vl3, "prefix"));
	cpl = (int)json_integer_value(json_object_get(vl3,
	    "client_prefix_len"));
	if (store_sqlite_pool_get(s->writer, obj->name, &p, err) == -1)
		return -1;
	if (!p.found || (prefix != NULL && strcmp(prefix, p.prefix) == 0 &&
	    cpl == p.client_len))
		return 0;
	if (store_sqlite_leases_live(s->writer, obj->name, now, &live,
	    err) == -1)
		return -1;
	if (live > 0)
		return nsreg_error_set(err, NSREG_CONFLICT, "vl3",
		    "service %s: vl3 cannot change from %s (client_prefix_len "
		    "%d) while %lld live grant%s hold%s addresses from it; "
		    "revoke %s (DELETE /v1/grants/{id}) or wait until %s "
		    "expire%s", obj->name, p.prefix, p.client_len,
		    (long long)live, live == 1 ? "" : "s", live == 1 ? "s" : "",
		    live == 1 ? "it" : "them", live == 1 ? "it" : "they",
		    live == 1 ? "s" : "");
	return store_sqlite_pool_drop(s, obj->name, err);
}

/*
 * Release what grant id holds (one holder less on its lease; the last
 * returns the block to the pool) and delete its row.
 */
static int
store_sqlite_grant_release(struct store_sqlite *s, const char *id,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;
	char				*service = NULL;
	int64_t				 slot = 0, lease = 0;
	int				 rc, held = 0, ret = -1;

	if ((st = store_sqlite_stmt(c, SQL_GRANT_GET, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL) {
		held = 1;
		slot = sqlite3_column_int64(st, 1);
		lease = sqlite3_column_int64(st, 2);
		service = store_sqlite_column_dup(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlite_error(c->db, rc, "read grant", err);
	if (rc == SQLITE_DONE)
		return 0;	/* nothing held */
	if (held && service == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	if (held) {
		if ((st = store_sqlite_stmt(c, SQL_LEASE_FREE, err)) == NULL)
			goto done;
		sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, slot);
		sqlite3_bind_int64(st, 3, lease);
		if (store_sqlite_step_done(c, st, "release lease", err) == -1)
			goto done;
		st = store_sqlite_stmt(c, sqlite3_changes(c->db) == 1 ?
		    SQL_POOL_LOWER : SQL_LEASE_DROP, err);
		if (st == NULL)
			goto done;
		sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, slot);
		if (sqlite3_bind_parameter_count(st) >= 3)
			sqlite3_bind_int64(st, 3, lease);
		if (store_sqlite_step_done(c, st, "release lease", err) == -1)
			goto done;
	}
	if ((st = store_sqlite_stmt(c, SQL_GRANT_DELETE, err)) == NULL)
		goto done;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	ret = store_sqlite_step_done(c, st, "delete grant", err);
done:
	free(service);
	return ret;
}

/* Revoke every grant whose id the bound statement st lists. */
static int
store_sqlite_revoke_listed(struct store_sqlite *s, sqlite3_stmt *st,
    const char *reason, struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_sqlite_row		 row;
	char				**ids = NULL, **nv;
	size_t				 n = 0, cap = 0, i;
	int				 rc, ret = -1;

	/* Listed first: the rows go while the list is read otherwise. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap != 0 ? cap * 2 : 16;
			if ((nv = realloc(ids, cap * sizeof(*ids))) == NULL)
				break;
			ids = nv;
		}
		if ((ids[n] = store_sqlite_column_dup(st, 0)) == NULL)
			break;
		n++;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "list grants", err);
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (store_sqlite_row_get(c, STORE_GRANT, ids[i], &row,
		    err) == -1)
			goto done;
		rc = 0;
		if (row.found)
			rc = store_sqlite_remove(s, STORE_GRANT, ids[i],
			    row.object, row.object_len, NULL, reason, NULL,
			    err);
		else
			rc = store_sqlite_grant_release(s, ids[i], err);
		store_sqlite_row_clear(&row);
		if (rc == -1)
			goto done;
	}
	ret = 0;
done:
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return ret;
}

/*
 * What goes with a deleted endpoint (its grants) or service (its grants
 * and its pool).
 */
static int
store_sqlite_cascade(struct store_sqlite *s, enum store_kind kind,
    const char *name, struct nsreg_error *err)
{
	sqlite3_stmt	*st;

	st = store_sqlite_stmt(s->writer, kind == STORE_ENDPOINT ?
	    SQL_GRANTS_OF_ENDPOINT : SQL_GRANTS_OF_SERVICE, err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (store_sqlite_revoke_listed(s, st, kind == STORE_ENDPOINT ?
	    STORE_REASON_ENDPOINT_GONE : STORE_REASON_SERVICE_GONE, err) ==
	    -1)
		return -1;
	if (kind == STORE_SERVICE)
		return store_sqlite_pool_drop(s, name, err);
	return 0;
}

/*
 * An endpoint that no longer offers some of the services in the stored
 * text old revokes its grants for them.
 */
static int
store_sqlite_endpoint_dropped(struct store_sqlite *s, const char *name,
    const char *old, const json_t *now_offered, struct nsreg_error *err)
{
	const json_t	*v, *w;
	sqlite3_stmt	*st;
	json_t		*was;
	size_t		 i, j;
	int		 ret = 0, kept;

	if (old == NULL)
		return 0;
	if ((was = store_sqlite_parse(old, strlen(old))) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "endpoint %s: unreadable stored services", name);
	json_array_foreach(was, i, v) {
		kept = 0;
		json_array_foreach(now_offered, j, w)
			if (json_equal(v, w)) {
				kept = 1;
				break;
			}
		if (kept || !json_is_string(v))
			continue;
		if ((st = store_sqlite_stmt(s->writer,
		    SQL_GRANTS_OF_ENDPOINT_SERVICE, err)) == NULL) {
			ret = -1;
			break;
		}
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, json_string_value(v), -1,
		    SQLITE_TRANSIENT);
		if ((ret = store_sqlite_revoke_listed(s, st,
		    STORE_REASON_ENDPOINT_GONE, err)) == -1)
			break;
	}
	json_decref(was);
	return ret;
}

/* NSREG_FAILED_PRECONDITION unless kid is the current signing key. */
static int
store_sqlite_key_current(struct store_sqlite_conn *c, const char *kid,
    struct nsreg_error *err)
{
	sqlite3_stmt	*st;
	int64_t		 v;
	int		 found;

	if ((st = store_sqlite_stmt(c, SQL_KEY_GET, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, kid, -1, SQLITE_STATIC);
	if (store_sqlite_one_int(c, st, &v, &found, "read keys", err) == -1)
		return -1;
	/* found 2: a row whose retired_at is NULL. */
	if (found != 2)
		return nsreg_error_set(err, NSREG_FAILED_PRECONDITION, "kid",
		    "grant key %s is not the current signing key", kid);
	return 0;
}

/*
 * Lease g's principal a block of the service's pool: the one it holds
 * (one holder more), else the lowest free usable one (a new lease of
 * generation gen).
 */
static int
store_sqlite_lease(struct store_sqlite *s, const struct store_grant *g,
    const char *principal, int64_t gen, int64_t expires, int64_t now,
    int64_t *slot, int64_t *lease, struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_sqlite_pool	 p;
	sqlite3_stmt			*st;
	int64_t				 live, low, cand, v;
	int				 rc;

	*slot = -1;

	/*
	 * The block the principal holds already, one holder more.  A
	 * service's leases are always of its current pool: a vl3 change
	 * drops them (store_sqlite_pool_check).
	 */
	if ((st = store_sqlite_stmt(c, SQL_LEASE_HOLD, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, g->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, principal, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*slot = sqlite3_column_int64(st, 0);
		*lease = sqlite3_column_int64(st, 1);
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(c->db, rc, "hold lease", err);
	if (*slot >= 0)
		return 0;

	/* A new lease: the pool, as the grant was made from it. */
	if (store_sqlite_pool_get(c, g->service, &p, err) == -1)
		return -1;
	if (p.found && (strcmp(p.prefix, g->pool) != 0 ||
	    p.client_len != g->client_len)) {
		if (store_sqlite_leases_live(c, g->service, now, &live,
		    err) == -1)
			return -1;
		if (live > 0)
			return nsreg_error_set(err, NSREG_CONFLICT, "vl3",
			    "service %s: %lld live grants hold addresses of "
			    "%s (client_prefix_len %d), not of %s",
			    g->service, (long long)live, p.prefix,
			    p.client_len, g->pool);
		if (store_sqlite_pool_drop(s, g->service, err) == -1)
			return -1;
		p.found = 0;
	}
	if (!p.found) {
		if ((st = store_sqlite_stmt(c, SQL_POOL_PUT, err)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, g->service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, g->pool, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, g->client_len);
		sqlite3_bind_int64(st, 4, g->first);
		if (store_sqlite_step_done(c, st, "write pool", err) == -1)
			return -1;
		p.low = g->first;
	}
	low = p.low > g->first ? p.low : g->first;

	/* The lowest free block at or above low. */
	if ((st = store_sqlite_stmt(c, SQL_LEASE_SCAN, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, g->service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, low);
	cand = low;
	while (cand <= g->last && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		if (v > cand)
			break;
		if (v == cand)
			cand++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlite_error(c->db, rc, "scan leases", err);
	if (cand > g->last)
		return nsreg_error_set(err, NSREG_RESOURCE_EXHAUSTED, "vl3",
		    "the vL3 pool %s of service %s is exhausted: all %lld "
		    "usable /%d blocks are leased", g->pool, g->service,
		    (long long)(g->last - g->first + 1), g->client_len);
	if ((st = store_sqlite_stmt(c, SQL_LEASE_INSERT, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, g->service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cand);
	sqlite3_bind_text(st, 3, principal, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, gen);
	sqlite3_bind_int64(st, 5, expires);
	if (store_sqlite_step_done(c, st, "write lease", err) == -1)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_POOL_LOW, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, g->service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cand + 1);
	if (store_sqlite_step_done(c, st, "write pool", err) == -1)
		return -1;
	*slot = cand;
	*lease = gen;
	return 0;
}

/* The compact text of an endpoint's services (new string) or NULL. */
static int
store_sqlite_services_text(const json_t *services, char **text,
    struct nsreg_error *err)
{
	*text = NULL;
	if (services == NULL)
		return 0;
	if ((*text = json_dumps(services, JSON_COMPACT)) == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "network_service_names", "network_service_names "
		    "cannot be stored");
	return 0;
}

/*
 * Insert or update (at rowid) the row of obj, whose revision and times
 * are set.
 */
static int
store_sqlite_object_put(struct store_sqlite *s, const struct store_object *obj,
    enum store_sqlite_sql id, int64_t rowid, enum store_event_type type,
    const char *old_services, struct store_sqlite_op *op,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	const json_t			*services;
	sqlite3_stmt			*st;
	json_t				*rendered = NULL;
	char				*text = NULL, *stext = NULL;
	size_t				 len;
	int				 ret = -1, same;

	if ((text = store_object_text(obj, s->keep_events ? &rendered : NULL,
	    &len, err)) == NULL)
		goto done;
	services = store_object_services(obj);
	if (store_sqlite_services_text(services, &stext, err) == -1)
		goto done;
	if ((st = store_sqlite_stmt(c, id, err)) == NULL)
		goto done;
	sqlite3_bind_int(st, 1, (int)obj->kind);
	sqlite3_bind_text(st, 2, obj->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, obj->revision);
	sqlite3_bind_int64(st, 4, obj->created_at);
	sqlite3_bind_int64(st, 5, obj->updated_at);
	sqlite3_bind_int64(st, 6, obj->expires_at);
	sqlite3_bind_text(st, 7, obj->owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, stext, -1, SQLITE_STATIC);
	if (store_sqlite_step_done(c, st, "write", err) == -1)
		goto done;
	if (id == SQL_OBJECT_UPDATE && sqlite3_changes(c->db) != 1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s %s: row vanished", store_kind_name(obj->kind),
		    obj->name);
		goto done;
	}
	if (id == SQL_OBJECT_INSERT)
		rowid = sqlite3_last_insert_rowid(c->db);
	/*
	 * The index learns the new revision; unchanged services (a
	 * refresh) leave its lists alone.
	 */
	if (obj->kind == STORE_ENDPOINT && (old_services != NULL ||
	    stext != NULL)) {
		same = old_services != NULL && stext != NULL &&
		    strcmp(old_services, stext) == 0;
		if (store_sqlite_index_change(s, obj->name,
		    same ? NULL : old_services, same ? NULL : services, rowid,
		    obj->revision, obj->expires_at, err) == -1)
			goto done;
	}
	ret = store_sqlite_event_put(s, obj->revision, obj->kind, type,
	    obj->name, NULL, text, len, rendered, err);
	rendered = NULL;
	if (ret == 0 && op != NULL) {
		/* The writer's caller answers with the stored text. */
		free(op->text);
		op->text = text;
		op->text_len = len;
		text = NULL;
	}
done:
	json_decref(rendered);
	free(text);
	free(stext);
	return ret;
}

/* Insert op->obj where row (maybe an expired object) stands. */
static int
store_sqlite_insert_at(struct store_sqlite *s, struct store_sqlite_op *op,
    struct store_sqlite_row *row)
{
	struct store_object	tmp = *op->obj;

	/* An expired object still stored goes first, as the sweep would. */
	if (row->found && store_sqlite_remove(s, tmp.kind, tmp.name,
	    row->object, row->object_len, row->services, STORE_REASON_EXPIRED,
	    NULL, op->err) == -1)
		return -1;
	if (tmp.kind == STORE_SERVICE && store_sqlite_pool_check(s, &tmp,
	    op->now, op->err) == -1)
		return -1;
	tmp.revision = ++s->next_rev;
	tmp.created_at = op->now;
	tmp.updated_at = op->now;
	if (store_sqlite_object_put(s, &tmp, SQL_OBJECT_INSERT, 0, STORE_ADDED,
	    NULL, op, op->err) == -1)
		return -1;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	return 0;
}

/* Replace the live object of row with op->obj. */
static int
store_sqlite_replace_at(struct store_sqlite *s, struct store_sqlite_op *op,
    struct store_sqlite_row *row)
{
	struct store_object	tmp = *op->obj;

	if (tmp.kind == STORE_SERVICE && store_sqlite_pool_check(s, &tmp,
	    op->now, op->err) == -1)
		return -1;
	tmp.revision = ++s->next_rev;
	tmp.created_at = row->created_at;
	tmp.updated_at = op->now;
	/* The owner is recorded once: an update without one keeps it. */
	if (tmp.owner == NULL)
		tmp.owner = row->owner;
	if (store_sqlite_object_put(s, &tmp, SQL_OBJECT_UPDATE, row->rowid,
	    STORE_MODIFIED, row->services, op, op->err) == -1)
		return -1;
	/* After its event: the grants of services it no longer offers. */
	if (tmp.kind == STORE_ENDPOINT && store_sqlite_endpoint_dropped(s,
	    tmp.name, row->services, store_object_services(&tmp),
	    op->err) == -1)
		return -1;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	if (op->obj->owner == NULL) {
		op->owner = row->owner;
		row->owner = NULL;
	}
	return 0;
}

static int
store_sqlite_run_create(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_row	 row;
	int			 ret = -1;

	if (store_sqlite_row_get(s->writer, op->obj->kind, op->obj->name,
	    &row, op->err) == -1)
		return -1;
	if (row.found && store_sqlite_live(row.expires_at, op->now))
		nsreg_error_set(op->err, NSREG_ALREADY_EXISTS, "name",
		    "%s %s already exists", store_kind_name(op->obj->kind),
		    op->obj->name);
	else
		ret = store_sqlite_insert_at(s, op, &row);
	store_sqlite_row_clear(&row);
	return ret;
}

static int
store_sqlite_run_update(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_row	 row;
	int			 ret = -1;

	if (store_sqlite_row_get(s->writer, op->obj->kind, op->obj->name,
	    &row, op->err) == -1)
		return -1;
	if (!row.found || !store_sqlite_live(row.expires_at, op->now))
		nsreg_error_set(op->err, NSREG_NOT_FOUND, "name",
		    "%s %s not found", store_kind_name(op->obj->kind),
		    op->obj->name);
	else if (op->expect_rev != 0 && row.revision != op->expect_rev)
		nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
		    "revision", "%s %s is at revision %lld, not %lld",
		    store_kind_name(op->obj->kind), op->obj->name,
		    (long long)row.revision, (long long)op->expect_rev);
	else
		ret = store_sqlite_replace_at(s, op, &row);
	store_sqlite_row_clear(&row);
	return ret;
}

/* The check of store_put on the current object held by row. */
static int
store_sqlite_put_check(struct store_sqlite_op *op,
    struct store_sqlite_row *row, int live)
{
	struct store_object	cur;
	int			rc;

	if (op->check == NULL)
		return 0;
	if (!live)
		return op->check(NULL, op->obj, op->check_arg, op->err);
	memset(&cur, 0, sizeof(cur));
	cur.kind = op->obj->kind;
	cur.name = op->obj->name;
	cur.revision = row->revision;
	cur.created_at = row->created_at;
	cur.updated_at = row->updated_at;
	cur.expires_at = row->expires_at;
	cur.owner = row->owner;
	if ((cur.doc = store_sqlite_parse(row->object, row->object_len)) ==
	    NULL)
		return nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
		    "%s %s: unreadable stored object",
		    store_kind_name(cur.kind), cur.name);
	store_object_strip(cur.doc, cur.kind);
	rc = op->check(&cur, op->obj, op->check_arg, op->err);
	json_decref(cur.doc);
	return rc;
}

static int
store_sqlite_run_put(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_row	 row;
	int			 ret = -1, live;

	if (store_sqlite_row_get(s->writer, op->obj->kind, op->obj->name,
	    &row, op->err) == -1)
		return -1;
	live = row.found && store_sqlite_live(row.expires_at, op->now);
	if (op->expect_rev != 0 && (!live ||
	    (op->expect_rev > 0 && row.revision != op->expect_rev))) {
		if (live)
			nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
			    "If-Match", "%s is at revision %lld, not %lld",
			    op->obj->name, (long long)row.revision,
			    (long long)op->expect_rev);
		else
			nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
			    "If-Match", "%s does not exist", op->obj->name);
		goto done;
	}
	if (store_sqlite_put_check(op, &row, live) == -1)
		goto done;
	op->created = !live;
	ret = live ? store_sqlite_replace_at(s, op, &row) :
	    store_sqlite_insert_at(s, op, &row);
done:
	store_sqlite_row_clear(&row);
	return ret;
}

static int
store_sqlite_run_delete(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_row	 row;
	json_t			*old = NULL;
	int			 ret = -1;

	if (store_sqlite_row_get(s->writer, op->kind, op->name, &row,
	    op->err) == -1)
		return -1;
	if (!row.found || !store_sqlite_live(row.expires_at, op->now)) {
		nsreg_error_set(op->err, NSREG_NOT_FOUND, "name",
		    "%s %s not found", store_kind_name(op->kind), op->name);
		goto done;
	}
	if (op->expect_rev != 0 && row.revision != op->expect_rev) {
		nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
		    "revision", "%s %s is at revision %lld, not %lld",
		    store_kind_name(op->kind), op->name,
		    (long long)row.revision, (long long)op->expect_rev);
		goto done;
	}
	if (store_sqlite_remove(s, op->kind, op->name, row.object,
	    row.object_len, row.services, op->reason,
	    op->want_old ? &old : NULL, op->err) == -1)
		goto done;
	if (op->want_old) {
		op->old.kind = op->kind;
		op->old.name = strdup(op->name);
		op->old.doc = json_deep_copy(old);
		if (op->old.name == NULL || op->old.doc == NULL) {
			nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto done;
		}
		store_object_strip(op->old.doc, op->kind);
		op->old.revision = row.revision;
		op->old.created_at = row.created_at;
		op->old.updated_at = row.updated_at;
		op->old.expires_at = row.expires_at;
		op->old.owner = row.owner;
		row.owner = NULL;
	}
	ret = 0;
done:
	json_decref(old);
	store_sqlite_row_clear(&row);
	return ret;
}

/* Delete up to STORE_SQLITE_PRUNE_BATCH expired objects of op->kind. */
static int
store_sqlite_run_expire(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_sqlite_row		*rows = NULL;
	sqlite3_stmt			*st;
	char				*name;
	size_t				 n = 0, i;
	int				 rc, ret = -1;

	op->count = 0;
	if ((rows = calloc(STORE_SQLITE_PRUNE_BATCH, sizeof(*rows))) ==
	    NULL) {
		nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
		    "out of memory");
		goto done;
	}
	if ((st = store_sqlite_stmt(c, SQL_EXPIRED, op->err)) == NULL)
		goto done;
	sqlite3_bind_int(st, 1, (int)op->kind);
	sqlite3_bind_int64(st, 2, op->now);
	sqlite3_bind_int(st, 3, STORE_SQLITE_PRUNE_BATCH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* The row's owner slot carries the name here. */
		rows[n].owner = store_sqlite_column_dup(st, 0);
		rows[n].object = store_sqlite_column_dup(st, 1);
		rows[n].object_len = (size_t)sqlite3_column_bytes(st, 1);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			rows[n].services = store_sqlite_column_dup(st, 2);
		n++;
		if (rows[n - 1].owner == NULL || rows[n - 1].object == NULL ||
		    (sqlite3_column_type(st, 2) != SQLITE_NULL &&
		    rows[n - 1].services == NULL)) {
			sqlite3_reset(st);
			nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto done;
		}
		if (n == STORE_SQLITE_PRUNE_BATCH)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "read expired", op->err);
		sqlite3_reset(st);
		goto done;
	}
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		name = rows[i].owner;
		if (store_sqlite_remove(s, op->kind, name, rows[i].object,
		    rows[i].object_len, rows[i].services,
		    STORE_REASON_EXPIRED, NULL, op->err) == -1)
			goto done;
	}
	op->count = (int64_t)n;
	ret = 0;
done:
	if (rows != NULL) {
		for (i = 0; i < n; i++)
			store_sqlite_row_clear(&rows[i]);
	}
	free(rows);
	return ret;
}

/*
 * Trim the event history to s->history events, recording per kind the
 * newest event that went.  Revisions are gap-free (each is one event), so
 * the cut is simply the last revision minus the history.
 */
static int
store_sqlite_run_trim(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;
	char				 key[32];
	int64_t				 last, first = 0, cutoff;
	int64_t				 marks[STORE_KIND_MAX];
	int				 rc, kind;
	size_t				 i;

	op->count = 0;
	if (store_sqlite_revision_get(c, &last, op->err) == -1)
		return -1;
	if ((cutoff = last - (int64_t)s->history) <= 0)
		return 0;
	/* A bounded bite, so that writers interleave with a long trim. */
	if ((st = store_sqlite_stmt(c, SQL_FIRST_EVENT, op->err)) == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		first = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_sqlite_error(c->db, rc, "trim events", op->err);
	if (cutoff >= first + STORE_SQLITE_TRIM_BATCH)
		cutoff = first + STORE_SQLITE_TRIM_BATCH - 1;
	for (i = 0; i < STORE_KIND_MAX; i++)
		marks[i] = 0;
	if ((st = store_sqlite_stmt(c, SQL_TRIM_MARKS, op->err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, cutoff);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		kind = sqlite3_column_int(st, 0);
		if (kind >= 0 && kind < STORE_KIND_MAX)
			marks[kind] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(c->db, rc, "trim events", op->err);
	for (i = 0; i < STORE_KIND_MAX; i++) {
		if (marks[i] == 0)
			continue;
		snprintf(key, sizeof(key), "trimmed.%zu", i);
		if (store_sqlite_meta_set(c, key, marks[i], op->err) == -1)
			return -1;
	}
	if ((st = store_sqlite_stmt(c, SQL_TRIM_DELETE, op->err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, cutoff);
	if (store_sqlite_step_done(c, st, "trim events", op->err) == -1)
		return -1;
	op->count = sqlite3_changes(c->db);
	return 0;
}

static const char *
store_sqlite_entry_string(const json_t *entry, const char *key)
{
	return json_string_value(json_object_get(entry, key));
}

static int
store_sqlite_run_decisions(struct store_sqlite *s,
    struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	const struct store_decision	*d;
	sqlite3_stmt			*st;
	char				*text = NULL;
	size_t				 i;
	int				 ret = -1;

	if ((st = store_sqlite_stmt(c, SQL_DECISION_INSERT, op->err)) == NULL)
		return -1;
	for (i = 0; i < op->ndecisions; i++) {
		d = &op->decisions[i];
		sqlite3_bind_int64(st, 1, d->time);
		if (d->text != NULL) {
			sqlite3_bind_text(st, 2, d->principal, -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(st, 3, d->action, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, d->decision, -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(st, 5, d->text, (int)d->len,
			    SQLITE_STATIC);
			if (store_sqlite_step_done(c, st, "write decision",
			    op->err) == -1)
				goto done;
			continue;
		}
		if ((text = json_dumps(d->entry, JSON_COMPACT)) == NULL) {
			nsreg_error_set(op->err, NSREG_INVALID_ARGUMENT, NULL,
			    "decision entry %zu cannot be stored", i);
			goto done;
		}
		sqlite3_bind_text(st, 2, store_sqlite_entry_string(d->entry,
		    "principal"), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, store_sqlite_entry_string(d->entry,
		    "action"), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, store_sqlite_entry_string(
		    json_object_get(d->entry, "decision"), "decision"), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
		if (store_sqlite_step_done(c, st, "write decision",
		    op->err) == -1)
			goto done;
		free(text);
		text = NULL;
	}
	ret = 0;
done:
	free(text);
	return ret;
}

static int
store_sqlite_run_decision_prune(struct store_sqlite *s,
    struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_DECISION_PRUNE, op->err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, op->before);
	sqlite3_bind_int(st, 2, STORE_SQLITE_DECISION_BATCH);
	if (store_sqlite_step_done(c, st, "prune decisions", op->err) == -1)
		return -1;
	op->count = sqlite3_changes(c->db);
	return 0;
}

static int
store_sqlite_run_grant_create(struct store_sqlite *s,
    struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_grant		*g = op->grant;
	struct store_object		 tmp = *op->obj;
	struct store_sqlite_row		 row;
	sqlite3_stmt			*st;
	int64_t				 rev, exp, slot = -1, lease = 0;
	int				 found, ret = -1;

	memset(&row, 0, sizeof(row));
	/* The records the grant was chosen from, as they were read. */
	if (store_sqlite_object_rev(c, STORE_SERVICE, g->service, &found,
	    &rev, &exp, op->err) == -1)
		goto done;
	if (!found || !store_sqlite_live(exp, op->now)) {
		nsreg_error_set(op->err, NSREG_NOT_FOUND, "service",
		    "service %s not found", g->service);
		goto done;
	}
	if (rev != g->service_rev) {
		nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION, "service",
		    "service %s changed while the grant was made",
		    g->service);
		goto done;
	}
	if (store_sqlite_object_rev(c, STORE_ENDPOINT, g->endpoint, &found,
	    &rev, &exp, op->err) == -1)
		goto done;
	if (!found || !store_sqlite_live(exp, op->now)) {
		nsreg_error_set(op->err, NSREG_NOT_FOUND, "endpoint",
		    "endpoint %s not found", g->endpoint);
		goto done;
	}
	if (rev != g->endpoint_rev) {
		nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
		    "endpoint", "endpoint %s changed while the grant was made",
		    g->endpoint);
		goto done;
	}
	if (store_sqlite_key_current(c, g->kid, op->err) == -1)
		goto done;
	/* Ids are unique: the full row is read only when there is one. */
	if (store_sqlite_object_rev(c, STORE_GRANT, tmp.name, &found, &rev,
	    &exp, op->err) == -1 || (found && store_sqlite_row_get(c,
	    STORE_GRANT, tmp.name, &row, op->err) == -1))
		goto done;
	if (row.found && store_sqlite_live(row.expires_at, op->now)) {
		nsreg_error_set(op->err, NSREG_ALREADY_EXISTS, "id",
		    "grant %s already exists", tmp.name);
		goto done;
	}
	if (row.found && store_sqlite_remove(s, STORE_GRANT, tmp.name,
	    row.object, row.object_len, NULL, STORE_REASON_EXPIRED, NULL,
	    op->err) == -1)
		goto done;
	if (g->pool != NULL) {
		/* A new lease's generation is the grant's revision. */
		if (store_sqlite_lease(s, g, tmp.owner, s->next_rev + 1,
		    tmp.expires_at, op->now, &slot, &lease, op->err) == -1)
			goto done;
		if (g->assign(op->obj, slot, g->assign_arg, op->err) == -1)
			goto done;
		tmp.doc = op->obj->doc;
	}
	tmp.revision = ++s->next_rev;
	tmp.created_at = op->now;
	tmp.updated_at = op->now;
	if (store_sqlite_object_put(s, &tmp, SQL_OBJECT_INSERT, 0, STORE_ADDED,
	    NULL, op, op->err) == -1)
		goto done;
	if ((st = store_sqlite_stmt(c, SQL_GRANT_INSERT, op->err)) == NULL)
		goto done;
	sqlite3_bind_text(st, 1, tmp.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, g->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, g->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, g->kid, -1, SQLITE_STATIC);
	if (slot >= 0) {
		sqlite3_bind_int64(st, 5, slot);
		sqlite3_bind_int64(st, 6, lease);
	} else {
		sqlite3_bind_null(st, 5);
		sqlite3_bind_null(st, 6);
	}
	sqlite3_bind_int64(st, 7, tmp.expires_at);
	if (store_sqlite_step_done(c, st, "write grant", op->err) == -1)
		goto done;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	op->count = slot;
	ret = 0;
done:
	store_sqlite_row_clear(&row);
	return ret;
}

static int
store_sqlite_run_grant_update(struct store_sqlite *s,
    struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_object		 tmp = *op->obj;
	struct store_sqlite_row		 row;
	sqlite3_stmt			*st;
	char				*service = NULL;
	int64_t				 slot = -1, lease = 0;
	int				 rc, ret = -1;

	if (store_sqlite_row_get(c, STORE_GRANT, tmp.name, &row,
	    op->err) == -1)
		return -1;
	if (!row.found || !store_sqlite_live(row.expires_at, op->now)) {
		nsreg_error_set(op->err, NSREG_NOT_FOUND, "id",
		    "grant %s not found", tmp.name);
		goto done;
	}
	if (op->expect_rev != 0 && row.revision != op->expect_rev) {
		nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
		    "revision", "grant %s is at revision %lld, not %lld",
		    tmp.name, (long long)row.revision,
		    (long long)op->expect_rev);
		goto done;
	}
	if (store_sqlite_key_current(c, op->kid, op->err) == -1)
		goto done;
	tmp.revision = ++s->next_rev;
	tmp.created_at = row.created_at;
	tmp.updated_at = op->now;
	if (tmp.owner == NULL)
		tmp.owner = row.owner;
	if (store_sqlite_object_put(s, &tmp, SQL_OBJECT_UPDATE, row.rowid,
	    STORE_MODIFIED, NULL, op, op->err) == -1)
		goto done;
	if ((st = store_sqlite_stmt(c, SQL_GRANT_GET, op->err)) == NULL)
		goto done;
	sqlite3_bind_text(st, 1, tmp.name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL) {
		slot = sqlite3_column_int64(st, 1);
		lease = sqlite3_column_int64(st, 2);
		if ((service = store_sqlite_column_dup(st, 0)) == NULL)
			rc = SQLITE_NOMEM;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
		    "grant %s: its row is missing or unreadable", tmp.name);
		goto done;
	}
	if (slot >= 0) {
		if ((st = store_sqlite_stmt(c, SQL_LEASE_EXTEND,
		    op->err)) == NULL)
			goto done;
		sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, slot);
		sqlite3_bind_int64(st, 3, lease);
		sqlite3_bind_int64(st, 4, tmp.expires_at);
		if (store_sqlite_step_done(c, st, "extend lease",
		    op->err) == -1)
			goto done;
	}
	if ((st = store_sqlite_stmt(c, SQL_GRANT_REFRESH, op->err)) == NULL)
		goto done;
	sqlite3_bind_text(st, 1, tmp.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, op->kid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, tmp.expires_at);
	if (store_sqlite_step_done(c, st, "refresh grant", op->err) == -1)
		goto done;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	if (op->obj->owner == NULL) {
		op->owner = row.owner;
		row.owner = NULL;
	}
	ret = 0;
done:
	free(service);
	store_sqlite_row_clear(&row);
	return ret;
}

/* Make op->kid the signing key (NULL: none); retire the others. */
static int
store_sqlite_run_key_use(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;
	char				*kids[16];
	size_t				 n = 0, i;
	int				 rc, ret = -1;

	if ((st = store_sqlite_stmt(c, SQL_KEY_CURRENT, op->err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 16)
		if ((kids[n] = store_sqlite_column_dup(st, 0)) != NULL)
			n++;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "read keys", op->err);
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (op->kid != NULL && strcmp(kids[i], op->kid) == 0)
			continue;
		if ((st = store_sqlite_stmt(c, SQL_KEY_RETIRE,
		    op->err)) == NULL)
			goto done;
		sqlite3_bind_text(st, 1, kids[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, op->now);
		if (store_sqlite_step_done(c, st, "retire key",
		    op->err) == -1)
			goto done;
	}
	if (op->kid != NULL) {
		if ((st = store_sqlite_stmt(c, SQL_KEY_INSERT,
		    op->err)) == NULL)
			goto done;
		sqlite3_bind_text(st, 1, op->kid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, op->jwk, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, op->now);
		if (store_sqlite_step_done(c, st, "write key", op->err) == -1)
			goto done;
	}
	ret = 0;
done:
	for (i = 0; i < n; i++)
		free(kids[i]);
	return ret;
}

/* Forget retired keys no grant needs any more. */
static int
store_sqlite_run_keys_prune(struct store_sqlite *s,
    struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_KEYS_PRUNE, op->err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, op->now);
	if (store_sqlite_step_done(c, st, "prune keys", op->err) == -1)
		return -1;
	op->count = sqlite3_changes(c->db);
	return 0;
}

/* Undo what a failed or uncommitted operation kept for its caller. */
static void
store_sqlite_op_forget(struct store_sqlite_op *op)
{
	free(op->owner);
	op->owner = NULL;
	store_object_clear(&op->old);
}

/*
 * Run ops[0..n) in one transaction, each in a savepoint when there are
 * several; commit; publish the revision; call the listener.
 */
static void
store_sqlite_batch(struct store_sqlite *s, struct store_sqlite_op **ops,
    size_t n, store_listener_fn listener, void *listener_arg)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_sqlite_event	*ev;
	struct store_event		 e;
	struct nsreg_error		 err;
	int64_t				 start_rev, mark_rev;
	size_t				 i, mark_ev, mark_ic, ok = 0;
	int				 broken = 0, sp = n > 1;

	nsreg_error_clear(&err);
	s->keep_events = listener != NULL;
	/* rc 1: not run yet. */
	for (i = 0; i < n; i++)
		ops[i]->rc = 1;
	if (store_sqlite_exec(c, SQL_BEGIN_IMMEDIATE, &err) == -1)
		goto fail;
	/* Read, not trust, the counter: another process may share the file. */
	if (store_sqlite_revision_get(c, &start_rev, &err) == -1)
		goto fail;
	s->next_rev = start_rev;
	if (start_rev != s->committed && s->index_ok) {
		/* Somebody else wrote: the index no longer tells the truth. */
		pthread_rwlock_wrlock(&s->ilock);
		s->index_ok = 0;
		pthread_rwlock_unlock(&s->ilock);
	}
	for (i = 0; i < n; i++) {
		mark_rev = s->next_rev;
		mark_ev = s->nevents;
		mark_ic = s->nichanges;
		if (sp && store_sqlite_exec(c, SQL_SAVEPOINT, ops[i]->err) ==
		    -1) {
			ops[i]->rc = -1;
			continue;
		}
		ops[i]->rc = ops[i]->run(s, ops[i]);
		if (ops[i]->rc == 0) {
			ok++;
			if (sp && store_sqlite_exec(c, SQL_RELEASE, &err) == -1)
				goto fail;
			continue;
		}
		store_sqlite_op_forget(ops[i]);
		s->next_rev = mark_rev;
		store_sqlite_events_drop(s, mark_ev);
		store_sqlite_ichanges_drop(s, mark_ic);
		if (sp && (store_sqlite_exec(c, SQL_ROLLBACK_TO, &err) == -1 ||
		    store_sqlite_exec(c, SQL_RELEASE, &err) == -1))
			goto fail;
	}
	if (ok == 0) {
		store_sqlite_exec(c, SQL_ROLLBACK, &err);
		goto done;
	}
	if (store_sqlite_exec(c, SQL_COMMIT, &err) == -1)
		goto fail;
	__atomic_store_n(&s->committed, s->next_rev, __ATOMIC_RELEASE);
	if (s->next_rev != start_rev || s->nichanges > 0) {
		pthread_rwlock_wrlock(&s->ilock);
		if (s->index_ok && store_sqlite_ichanges_apply(s) == -1)
			s->index_ok = 0;
		s->index_rev = s->next_rev;
		pthread_rwlock_unlock(&s->ilock);
	}
	for (i = 0; i < s->nevents && listener != NULL; i++) {
		ev = &s->events[i];
		e.revision = ev->revision;
		e.kind = ev->kind;
		e.type = ev->type;
		e.name = ev->name;
		e.reason = ev->reason;
		e.object = ev->object;
		listener(&e, listener_arg);
	}
	goto done;
fail:
	broken = 1;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
done:
	store_sqlite_events_drop(s, 0);
	store_sqlite_ichanges_drop(s, 0);
	for (i = 0; broken && i < n; i++) {
		if (ops[i]->rc != -1) {
			store_sqlite_op_forget(ops[i]);
			ops[i]->rc = -1;
			if (ops[i]->err != NULL)
				*ops[i]->err = err;
		}
	}
}

static void	store_sqlite_complete(struct store_sqlite_op *);

/*
 * Give the writer up (s->wlock held): to the first queued operation's
 * thread when there is one and no checkpoint waits (the writer thread
 * for an async put), else to nobody.
 */
static void
store_sqlite_writer_pass(struct store_sqlite *s)
{
	if (s->queue != NULL && !s->ckpt_wanted) {
		if (s->queue->async) {
			/* Nobody waits on an async put: the thread leads. */
			s->wlead = 1;
			pthread_cond_signal(&s->wtcond);
			return;
		}
		s->queue->lead = 1;
		pthread_cond_signal(&s->queue->cond);
		return;
	}
	s->writing = 0;
	if (s->wstop)
		pthread_cond_signal(&s->wtcond);
	if (s->ckpt_wanted)
		pthread_cond_signal(&s->wcond);
	else if (s->queue != NULL && !s->queue->async)
		pthread_cond_signal(&s->queue->cond);
}

/*
 * Run one batch of everything queued (s->wlock held, s->writing set by
 * the caller, the lock released while the batch runs).  Async puts are
 * completed and freed outside the lock; waiting threads are woken.
 */
static void
store_sqlite_lead(struct store_sqlite *s, struct store_sqlite_op *self)
{
	struct store_sqlite_op	*batch[STORE_SQLITE_BATCH], *o;
	store_listener_fn	 fn;
	void			*arg;
	size_t			 n, i;

	for (n = 0; n < STORE_SQLITE_BATCH && s->queue != NULL; n++) {
		o = s->queue;
		s->queue = o->next;
		batch[n] = o;
	}
	if (s->queue == NULL)
		s->queue_tail = &s->queue;
	fn = s->listener;
	arg = s->listener_arg;
	pthread_mutex_unlock(&s->wlock);
	store_sqlite_batch(s, batch, n, fn, arg);
	/* Completing an async put frees it: forget it here. */
	for (i = 0; i < n; i++)
		if (batch[i]->async) {
			store_sqlite_complete(batch[i]);
			batch[i] = NULL;
		}
	pthread_mutex_lock(&s->wlock);
	for (i = 0; i < n; i++) {
		if (batch[i] == NULL)
			continue;
		batch[i]->done = 1;
		if (batch[i] != self)
			pthread_cond_signal(&batch[i]->cond);
	}
	if (s->wal_frames >= s->ckpt_next && s->ckthread_started) {
		s->ckpt_signal = 1;
		pthread_cond_signal(&s->ckcond);
	}
}

/* The writer thread: leads when handed a queue that starts async. */
static void *
store_sqlite_writer_thread(void *arg)
{
	struct store_sqlite	*s = arg;

	pthread_mutex_lock(&s->wlock);
	for (;;) {
		while (!s->wlead && !s->wstop)
			pthread_cond_wait(&s->wtcond, &s->wlock);
		if (!s->wlead) {
			/* Stopping: drain what is queued first. */
			if (s->queue == NULL && !s->writing)
				break;
			if (s->writing || s->ckpt_wanted) {
				pthread_cond_wait(&s->wtcond, &s->wlock);
				continue;
			}
			s->writing = 1;
		}
		s->wlead = 0;
		store_sqlite_lead(s, NULL);
		store_sqlite_writer_pass(s);
	}
	pthread_mutex_unlock(&s->wlock);
	return NULL;
}

/*
 * Queue op and return once a commit carried it (or it failed).  The
 * thread that finds no batch running leads one: it takes every queued
 * operation.  A leader that leaves operations queued hands the writer to
 * the first of them, so that its own thread, back with its next write,
 * queues behind instead of running a batch of one: under load, batches
 * grow to the number of writers.  Each waiting thread has its own
 * condition, woken only when its operation is done or it is to lead.
 */
static int
store_sqlite_write(struct store_sqlite *s, struct store_sqlite_op *op)
{
	op->done = 0;
	op->lead = 0;
	op->next = NULL;
	pthread_cond_init(&op->cond, NULL);
	pthread_mutex_lock(&s->wlock);
	*s->queue_tail = op;
	s->queue_tail = &op->next;
	while (!op->done) {
		/* A wanted checkpoint goes before the next batch. */
		if (!op->lead && (s->writing || s->ckpt_wanted)) {
			pthread_cond_wait(&op->cond, &s->wlock);
			continue;
		}
		op->lead = 0;
		s->writing = 1;
		store_sqlite_lead(s, op);
		store_sqlite_writer_pass(s);
	}
	pthread_mutex_unlock(&s->wlock);
	pthread_cond_destroy(&op->cond);
	return op->rc;
}

static int
store_sqlite_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_sqlite	*s = arg;

	(void)db;
	(void)name;
	s->wal_frames = frames;
	return SQLITE_OK;
}

/*
 * The checkpointer copies the log into the database when it is long, on
 * its own connection: first while writers go on (the bulk, with the
 * log's fsync), then, with writers held off, what they added meanwhile,
 * so the log is complete in the database and the next commit starts it
 * over.  The callers of the batch that made the log long were answered
 * before; writers arriving during the short final copy queue and go out
 * together in the next batch.
 */
static void *
store_sqlite_checkpointer(void *arg)
{
	struct store_sqlite		*s = arg;
	struct store_sqlite_conn	*c = NULL;
	int				 frames = 0, done = 0, i, rc;

	pthread_mutex_lock(&s->wlock);
	for (;;) {
		while (!s->ckpt_signal && !s->stopping)
			pthread_cond_wait(&s->ckcond, &s->wlock);
		if (s->stopping)
			break;
		s->ckpt_signal = 0;
		pthread_mutex_unlock(&s->wlock);
		if (c == NULL)
			c = store_sqlite_conn_open(s->path,
			    STORE_SQLITE_CHECKPOINTER, NULL);
		rc = SQLITE_ERROR;
		for (i = 0; c != NULL && i < 4; i++) {
			rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
			    SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
			if (rc != SQLITE_OK ||
			    frames - done <= STORE_SQLITE_CHECKPOINT_TAIL)
				break;
		}
		pthread_mutex_lock(&s->wlock);
		s->ckpt_wanted = 1;
		while (s->writing)
			pthread_cond_wait(&s->wcond, &s->wlock);
		s->writing = 1;
		s->ckpt_wanted = 0;
		pthread_mutex_unlock(&s->wlock);
		if (c != NULL)
			rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
			    SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
		pthread_mutex_lock(&s->wlock);
		/*
		 * Complete, the next commit starts the log over (unless a
		 * reader still uses its end: look again a little later);
		 * incomplete, try again once as much more was written.
		 */
		if (rc == SQLITE_OK && frames == done)
			s->ckpt_next = s->wal_frames +
			    STORE_SQLITE_CHECKPOINT / 8;
		else
			s->ckpt_next = s->wal_frames + STORE_SQLITE_CHECKPOINT;
		store_sqlite_writer_pass(s);
	}
	pthread_mutex_unlock(&s->wlock);
	store_sqlite_conn_close(c);
	return NULL;
}

/* Writes. */

/* Hand a write's results to the caller's object. */
static void
store_sqlite_written(struct store_object *obj, struct store_sqlite_op *op)
{
	obj->revision = op->revision;
	obj->created_at = op->created_at;
	obj->updated_at = op->now;
	if (op->owner != NULL) {
		free(obj->owner);
		obj->owner = op->owner;
	}
	free(obj->text);
	obj->text = op->text;
	obj->text_len = op->text_len;
}

/* Run a write of op->obj and hand its results over. */
static int
store_sqlite_write_object(struct store_sqlite *s, struct store_sqlite_op *op)
{
	if (store_sqlite_write(s, op) == -1) {
		free(op->text);
		op->text = NULL;
		return -1;
	}
	store_sqlite_written(op->obj, op);
	return 0;
}

static int
store_sqlite_create(void *b, struct store_object *obj, int64_t now,
    struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_create,
		.err = err,
		.now = now,
		.obj = obj,
	};

	if (store_sqlite_write_object(b, &op) == -1)
		return -1;
	return 0;
}

static int
store_sqlite_put(void *b, struct store_object *obj, int64_t if_match,
    store_check_fn check, void *arg, int64_t now, int *created,
    struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_put,
		.err = err,
		.now = now,
		.obj = obj,
		.expect_rev = if_match,
		.check = check,
		.check_arg = arg,
	};

	if (store_sqlite_write_object(b, &op) == -1)
		return -1;
	*created = op.created;
	return 0;
}

/* Finish an async put: hand the results over, call back, free. */
static void
store_sqlite_complete(struct store_sqlite_op *op)
{
	if (op->rc == 0)
		store_sqlite_written(op->obj, op);
	else
		free(op->text);
	op->complete(op->rc == 0 ? 0 : -1, op->obj, op->created,
	    &op->errbuf, op->complete_arg);
	free(op);
}

static int
store_sqlite_put_async(void *b, struct store_object *obj, int64_t if_match,
    store_check_fn check, void *arg, int64_t now, store_done_fn done,
    void *done_arg, struct nsreg_error *err)
{
	struct store_sqlite	*s = b;
	struct store_sqlite_op	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	op->run = store_sqlite_run_put;
	op->err = &op->errbuf;
	op->now = now;
	op->obj = obj;
	op->expect_rev = if_match;
	op->check = check;
	op->check_arg = arg;
	op->async = 1;
	op->complete = done;
	op->complete_arg = done_arg;
	pthread_mutex_lock(&s->wlock);
	*s->queue_tail = op;
	s->queue_tail = &op->next;
	if (!s->writing && !s->ckpt_wanted) {
		s->writing = 1;
		s->wlead = 1;
		pthread_cond_signal(&s->wtcond);
	}
	pthread_mutex_unlock(&s->wlock);
	return 0;
}

static int
store_sqlite_update(void *b, struct store_object *obj, int64_t expect_rev,
    int64_t now, struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_update,
		.err = err,
		.now = now,
		.obj = obj,
		.expect_rev = expect_rev,
	};

	if (store_sqlite_write_object(b, &op) == -1)
		return -1;
	return 0;
}

static int
store_sqlite_delete(void *b, enum store_kind kind, const char *name,
    int64_t expect_rev, int64_t now, struct store_object *old,
    struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_delete,
		.err = err,
		.now = now,
		.kind = kind,
		.name = name,
		.expect_rev = expect_rev,
		.want_old = old != NULL,
	};

	if (store_sqlite_write(b, &op) == -1)
		return -1;
	if (old != NULL)
		*old = op.old;
	return 0;
}

static int
store_sqlite_grant_create(void *b, struct store_object *obj,
    struct store_grant *g, int64_t now, struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_grant_create,
		.err = err,
		.now = now,
		.obj = obj,
		.grant = g,
	};

	if (store_sqlite_write_object(b, &op) == -1)
		return -1;
	g->block = op.count;
	return 0;
}

static int
store_sqlite_grant_update(void *b, struct store_object *obj, const char *kid,
    int64_t expect_rev, int64_t now, struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_grant_update,
		.err = err,
		.now = now,
		.obj = obj,
		.expect_rev = expect_rev,
		.kid = kid,
	};

	if (store_sqlite_write_object(b, &op) == -1)
		return -1;
	return 0;
}

static int
store_sqlite_grant_delete(void *b, const char *id, int64_t expect_rev,
    const char *reason, int64_t now, struct store_object *old,
    struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_delete,
		.err = err,
		.now = now,
		.kind = STORE_GRANT,
		.name = id,
		.expect_rev = expect_rev,
		.want_old = old != NULL,
		.reason = reason,
	};

	if (store_sqlite_write(b, &op) == -1)
		return -1;
	if (old != NULL)
		*old = op.old;
	return 0;
}

static int
store_sqlite_grant_key_use(void *b, const char *kid, const char *jwk,
    int64_t now, struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_key_use,
		.err = err,
		.now = now,
		.kid = kid,
		.jwk = jwk,
	};

	return store_sqlite_write(b, &op);
}

static int64_t
store_sqlite_prune(void *b, int64_t now, struct nsreg_error *err)
{
	struct store_sqlite_op	op;
	int64_t			total = 0;
	int			kind;

	/* Bounded transactions, so writers interleave with a big sweep. */
	for (kind = 0; kind < STORE_KIND_MAX; kind++) {
		do {
			memset(&op, 0, sizeof(op));
			op.run = store_sqlite_run_expire;
			op.err = err;
			op.now = now;
			op.kind = (enum store_kind)kind;
			if (store_sqlite_write(b, &op) == -1)
				return -1;
			total += op.count;
		} while (op.count == STORE_SQLITE_PRUNE_BATCH);
	}
	do {
		memset(&op, 0, sizeof(op));
		op.run = store_sqlite_run_trim;
		op.err = err;
		op.now = now;
		if (store_sqlite_write(b, &op) == -1)
			return -1;
	} while (op.count == STORE_SQLITE_TRIM_BATCH);
	memset(&op, 0, sizeof(op));
	op.run = store_sqlite_run_keys_prune;
	op.err = err;
	op.now = now;
	if (store_sqlite_write(b, &op) == -1)
		return -1;
	return total;
}

static int
store_sqlite_decision_append(void *b, const struct store_decision *v,
    size_t n, struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_decisions,
		.err = err,
		.decisions = v,
		.ndecisions = n,
	};

	return store_sqlite_write(b, &op);
}

static int64_t
store_sqlite_decision_prune(void *b, int64_t before, struct nsreg_error *err)
{
	struct store_sqlite_op	op;
	int64_t			total = 0;

	do {
		memset(&op, 0, sizeof(op));
		op.run = store_sqlite_run_decision_prune;
		op.err = err;
		op.before = before;
		if (store_sqlite_write(b, &op) == -1)
			return -1;
		total += op.count;
	} while (op.count == STORE_SQLITE_DECISION_BATCH);
	return total;
}

/* Reads. */

static int
store_sqlite_fetch(void *b, enum store_kind kind, const char *name,
    int64_t now, struct store_object *out, struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st = NULL;
	int				 rc, ret = -1;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_OBJECT_GET, err)) == NULL)
		goto done;
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || (rc == SQLITE_ROW &&
	    !store_sqlite_live(sqlite3_column_int64(st, 3), now))) {
		nsreg_error_set(err, NSREG_NOT_FOUND, "name",
		    "%s %s not found", store_kind_name(kind), name);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		store_sqlite_error(c->db, rc, "read", err);
		goto done;
	}
	out->kind = kind;
	out->revision = sqlite3_column_int64(st, 0);
	out->created_at = sqlite3_column_int64(st, 1);
	out->updated_at = sqlite3_column_int64(st, 2);
	out->expires_at = sqlite3_column_int64(st, 3);
	out->text_len = (size_t)sqlite3_column_bytes(st, 5);
	out->text = store_sqlite_column_dup(st, 5);
	out->doc = out->text != NULL ? store_sqlite_parse(out->text,
	    out->text_len) : NULL;
	out->name = strdup(name);
	if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		out->owner = store_sqlite_column_dup(st, 4);
	if (out->doc == NULL || out->name == NULL ||
	    (sqlite3_column_type(st, 4) != SQLITE_NULL && out->owner == NULL)) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s %s: unreadable stored object", store_kind_name(kind),
		    name);
		store_object_clear(out);
		goto done;
	}
	store_object_strip(out->doc, kind);
	ret = 0;
done:
	if (st != NULL)
		sqlite3_reset(st);
	store_sqlite_reader_put(s, c);
	return ret;
}

/* 1 when the array a offers every one of services[0..n). */
static int
store_sqlite_offers_json(const json_t *a, const char **services, size_t n)
{
	const json_t	*v;
	size_t		 i, j;
	int		 found;

	for (i = 0; i < n; i++) {
		found = 0;
		json_array_foreach(a, j, v) {
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), services[i]) == 0) {
				found = 1;
				break;
			}
		}
		if (!found)
			return 0;
	}
	return 1;
}

/* 1 when the stored services text offers every one of services[0..n). */
static int
store_sqlite_offers(const char *text, size_t len, const char **services,
    size_t n)
{
	json_t	*a;
	int	 ret;

	if (text == NULL)
		return n == 0;
	if ((a = store_sqlite_parse(text, len)) == NULL)
		return 0;
	ret = store_sqlite_offers_json(a, services, n);
	json_decref(a);
	return ret;
}

/* A list being built. */
struct store_sqlite_lister {
	const struct store_query	*q;
	struct store_list_sink		*sink;
	int				*more;
	int				 check;	/* services to check */
};

/*
 * Keep the stored object when it passes the filters.  1: go on, 0: the
 * page is full (and *more set when this one would have been kept), -1:
 * error.
 */
static int
store_sqlite_list_row(struct store_sqlite_lister *l, const char *name,
    const char *text, size_t len, const char *services, size_t slen,
    struct nsreg_error *err)
{
	const struct store_query	*q = l->q;
	json_t				*o = NULL;

	if (name == NULL || text == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s list: unreadable stored object",
		    store_kind_name(q->kind));
	if (l->check && !store_sqlite_offers(services, slen, q->services,
	    q->nservices))
		return 1;
	if (q->match != NULL) {
		if ((o = store_sqlite_parse(text, len)) == NULL)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s %s: unreadable stored object",
			    store_kind_name(q->kind), name);
		if (q->match(o, q->match_arg) != 1) {
			json_decref(o);
			return 1;
		}
	}
	/* One matching row past the limit: there is a next page. */
	if (q->limit != 0 && l->sink->n == q->limit) {
		json_decref(o);
		*l->more = 1;
		return 0;
	}
	if (store_list_sink_add(l->sink, name, text, len, o, err) == -1)
		return -1;
	return 1;
}

/* The size of a chunk of index hits for a list of q. */
static size_t
store_sqlite_chunk(const struct store_query *q)
{
	size_t	chunk = q->limit != 0 ? q->limit + 1 : 256;

	return chunk < 16 ? 16 : chunk;
}

/*
 * A ?service list served from memory alone: the index gives the
 * endpoints with their revisions as of index_rev, the text cache their
 * texts at those revisions, so the answer is the state at index_rev
 * without touching the database.  *done stays 0 when a text is not
 * cached or the index moves on between chunks: the caller starts over
 * the slow way.
 */
static int
store_sqlite_list_cached(struct store_sqlite *s, struct store_sqlite_lister *l,
    int64_t now, int64_t *rev, int *done, struct nsreg_error *err)
{
	const struct store_query	*q = l->q;
	struct store_svcidx_hit		*hits = NULL;
	char				*after = NULL, *buf = NULL;
	size_t				 n, i, len, cap = 0, chunk;
	int				 go = 1, started = 0, ret = -1;

	*done = 0;
	l->check = 0;
	chunk = store_sqlite_chunk(q);
	for (;;) {
		pthread_rwlock_rdlock(&s->ilock);
		if (!s->index_ok || (started && s->index_rev != *rev)) {
			pthread_rwlock_unlock(&s->ilock);
			ret = 0;
			goto out;
		}
		*rev = s->index_rev;
		started = 1;
		hits = store_svcidx_find(s->svcidx, q->services, q->nservices,
		    after != NULL ? after : q->after_name, chunk, &n);
		pthread_rwlock_unlock(&s->ilock);
		if (hits == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		for (i = 0; i < n && go == 1; i++) {
			if (!store_sqlite_live(hits[i].expires_at, now))
				continue;
			if (!store_textcache_get(s->texts, hits[i].row,
			    hits[i].revision, &buf, &cap, &len)) {
				ret = 0;
				goto out;
			}
			go = store_sqlite_list_row(l, hits[i].name, buf, len,
			    NULL, 0, err);
		}
		if (go == -1)
			goto out;
		if (go == 0 || n < chunk) {
			*done = 1;
			ret = 0;
			goto out;
		}
		free(after);
		if ((after = strdup(hits[n - 1].name)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		store_svcidx_hits_free(hits);
		hits = NULL;
	}
out:
	store_svcidx_hits_free(hits);
	free(after);
	free(buf);
	return ret;
}

/*
 * The next at most max endpoints after `after` offering all of q's
 * services, from the index as it was at the snapshot of c's read
 * transaction (*rev): when the index is behind, wait for the writer to
 * finish applying; when it is ahead and moving is allowed, take a newer
 * snapshot (updating *rev).  *hits stays NULL when the index cannot serve
 * this snapshot: the caller scans instead.
 */
static int
store_sqlite_index_hits(struct store_sqlite *s, struct store_sqlite_conn *c,
    const struct store_query *q, const char *after, size_t max, int move,
    int64_t *rev, struct store_svcidx_hit **hits, size_t *np,
    struct nsreg_error *err)
{
	int64_t	irev;
	int	tries;

	*hits = NULL;
	*np = 0;
	for (tries = 0; tries < STORE_SQLITE_INDEX_TRIES; tries++) {
		pthread_rwlock_rdlock(&s->ilock);
		if (!s->index_ok) {
			pthread_rwlock_unlock(&s->ilock);
			return 0;
		}
		if ((irev = s->index_rev) == *rev) {
			*hits = store_svcidx_find(s->svcidx, q->services,
			    q->nservices, after, max, np);
			pthread_rwlock_unlock(&s->ilock);
			if (*hits == NULL)
				return nsreg_error_set(err, NSREG_INTERNAL,
				    NULL, "out of memory");
			return 0;
		}
		pthread_rwlock_unlock(&s->ilock);
		if (irev < *rev) {
			sched_yield();
			continue;
		}
		if (!move)
			return 0;
		if (store_sqlite_exec(c, SQL_COMMIT, err) == -1 ||
		    store_sqlite_exec(c, SQL_BEGIN, err) == -1 ||
		    store_sqlite_revision_get(c, rev, err) == -1)
			return -1;
	}
	return 0;
}

/*
 * A ?service list through the index in c's snapshot, in chunks, texts
 * from the cache or the database (and then cached).  Sets *done when it
 * answered; when the index moved past the snapshot between chunks,
 * *after is where the caller's scan goes on.
 */
static int
store_sqlite_list_index(struct store_sqlite *s, struct store_sqlite_conn *c,
    struct store_sqlite_lister *l, int64_t now, int64_t *rev,
    char **after, int *done, struct nsreg_error *err)
{
	const struct store_query	*q = l->q;
	struct store_svcidx_hit		*hits = NULL;
	sqlite3_stmt			*st;
	const char			*name, *text;
	char				*buf = NULL;
	size_t				 n, i, chunk, len, cap = 0;
	int				 rc, go = 1, ret = -1, first = 1;

	*done = 0;
	l->check = 0;
	chunk = store_sqlite_chunk(q);
	if ((st = store_sqlite_stmt(c, SQL_OBJECT_ROW, err)) == NULL)
		return -1;
	for (;;) {
		if (store_sqlite_index_hits(s, c, q, *after, chunk, first,
		    rev, &hits, &n, err) == -1)
			goto out;
		if (hits == NULL) {
			ret = 0;	/* scan from *after */
			goto out;
		}
		first = 0;
		for (i = 0; i < n && go == 1; i++) {
			if (!store_sqlite_live(hits[i].expires_at, now))
				continue;
			if (store_textcache_get(s->texts, hits[i].row,
			    hits[i].revision, &buf, &cap, &len)) {
				go = store_sqlite_list_row(l, hits[i].name,
				    buf, len, NULL, 0, err);
				continue;
			}
			sqlite3_bind_int64(st, 1, hits[i].row);
			rc = sqlite3_step(st);
			if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
				store_sqlite_error(c->db, rc, "list", err);
				sqlite3_reset(st);
				goto out;
			}
			name = (const char *)sqlite3_column_text(st, 0);
			text = (const char *)sqlite3_column_text(st, 2);
			len = (size_t)sqlite3_column_bytes(st, 2);
			/* The index and the snapshot agree, or it is a bug. */
			if (rc != SQLITE_ROW || name == NULL || text == NULL ||
			    strcmp(name, hits[i].name) != 0 ||
			    sqlite3_column_int64(st, 1) != hits[i].revision) {
				nsreg_error_set(err, NSREG_INTERNAL, NULL,
				    "endpoint %s: index and database disagree",
				    hits[i].name);
				sqlite3_reset(st);
				goto out;
			}
			store_textcache_put(s->texts, hits[i].row,
			    hits[i].revision, text, len);
			go = store_sqlite_list_row(l, name, text, len, NULL, 0,
			    err);
			sqlite3_reset(st);
		}
		if (go == -1)
			goto out;
		if (go == 0 || n < chunk) {
			*done = 1;
			ret = 0;
			goto out;
		}
		free(*after);
		if ((*after = strdup(hits[n - 1].name)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		store_svcidx_hits_free(hits);
		hits = NULL;
	}
out:
	store_svcidx_hits_free(hits);
	free(buf);
	return ret;
}

static int
store_sqlite_list(void *b, const struct store_query *q, int64_t now,
    struct store_list_sink *sink, int64_t *revision, int *more,
    struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c = NULL;
	struct store_sqlite_lister	 l = {
		.q = q, .sink = sink, .more = more,
	};
	sqlite3_stmt			*st = NULL;
	char				*after = NULL;
	int				 rc = SQLITE_DONE, go = 1, done = 0;
	int				 ret = -1;

	if (q->nservices > 0) {
		if (store_sqlite_list_cached(s, &l, now, revision, &done,
		    err) == -1)
			return -1;
		if (done)
			return 0;
		store_list_sink_reset(sink);
		*more = 0;
	}
	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	if (q->after_name != NULL && (after = strdup(q->after_name)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	/* One read transaction: the items and the revision agree. */
	if (store_sqlite_exec(c, SQL_BEGIN, err) == -1 ||
	    store_sqlite_revision_get(c, revision, err) == -1)
		goto done;
	if (q->nservices > 0 && store_sqlite_list_index(s, c, &l, now,
	    revision, &after, &done, err) == -1)
		goto done;
	if (!done) {
		l.check = q->nservices > 0;
		if ((st = store_sqlite_stmt(c, SQL_LIST, err)) == NULL)
			goto done;
		sqlite3_bind_int(st, 1, (int)q->kind);
		sqlite3_bind_text(st, 2, after != NULL ? after : "", -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		while (go == 1 && (rc = sqlite3_step(st)) == SQLITE_ROW)
			go = store_sqlite_list_row(&l,
			    (const char *)sqlite3_column_text(st, 0),
			    (const char *)sqlite3_column_text(st, 1),
			    (size_t)sqlite3_column_bytes(st, 1),
			    (const char *)sqlite3_column_text(st, 2),
			    (size_t)sqlite3_column_bytes(st, 2), err);
		if (go == -1)
			goto done;
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			store_sqlite_error(c->db, rc, "list", err);
			goto done;
		}
	}
	ret = 0;
done:
	if (st != NULL)
		sqlite3_reset(st);
	free(after);
	store_sqlite_reader_put(s, c);
	return ret;
}

static int64_t
store_sqlite_count(void *b, enum store_kind kind, int64_t now)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st;
	int64_t				 n = -1;

	if ((c = store_sqlite_reader_get(s, NULL)) == NULL)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_COUNT, NULL)) != NULL) {
		sqlite3_bind_int(st, 1, (int)kind);
		sqlite3_bind_int64(st, 2, now);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	store_sqlite_reader_put(s, c);
	return n;
}

static int
store_sqlite_grant_loads(void *b, int64_t now,
    void (*fn)(const char *, int64_t, void *), void *arg,
    struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st;
	const char			*name;
	int				 rc, ret = -1;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_GRANT_LOADS, err)) == NULL)
		goto done;
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((name = (const char *)sqlite3_column_text(st, 0)) != NULL)
			fn(name, sqlite3_column_int64(st, 1), arg);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "grant loads", err);
		goto done;
	}
	ret = 0;
done:
	store_sqlite_reader_put(s, c);
	return ret;
}

static int
store_sqlite_ipam_usage(void *b, const char *service, int64_t now,
    char *pool, size_t len, int *client_len, int64_t *live,
    struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	struct store_sqlite_pool	 p;
	int				 ret = -1;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	/* One snapshot for the pool and its leases. */
	if (store_sqlite_exec(c, SQL_BEGIN, err) == -1 ||
	    store_sqlite_pool_get(c, service, &p, err) == -1)
		goto done;
	if (p.found) {
		if (store_sqlite_leases_live(c, service, now, live,
		    err) == -1)
			goto done;
		snprintf(pool, len, "%s", p.prefix);
		*client_len = p.client_len;
	}
	ret = 0;
done:
	store_sqlite_reader_put(s, c);
	return ret;
}

static int
store_sqlite_grant_keys(void *b, int64_t now, json_t **keys,
    struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st;
	json_t				*list = NULL, *k, *jwk;
	int				 rc, ret = -1, i;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	if ((list = json_array()) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	if ((st = store_sqlite_stmt(c, SQL_KEYS_LIST, err)) == NULL)
		goto done;
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		jwk = store_sqlite_parse((const char *)sqlite3_column_text(st,
		    1), (size_t)sqlite3_column_bytes(st, 1));
		k = json_pack("{s:s, s:o}", "kid",
		    (const char *)sqlite3_column_text(st, 0), "jwk", jwk);
		for (i = 2; k != NULL && i <= 4; i++)
			json_object_set_new(k, i == 2 ? "created_at" : i == 3 ?
			    "retired_at" : "expires_at",
			    sqlite3_column_type(st, i) == SQLITE_NULL ?
			    json_null() :
			    json_integer(sqlite3_column_int64(st, i)));
		if (k == NULL || json_array_append_new(list, k) == -1) {
			sqlite3_reset(st);
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "grant keys: unreadable key");
			goto done;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "grant keys", err);
		goto done;
	}
	*keys = list;
	list = NULL;
	ret = 0;
done:
	json_decref(list);
	store_sqlite_reader_put(s, c);
	return ret;
}

static int64_t
store_sqlite_watch(void *b, enum store_kind kind, int64_t after,
    size_t limit, store_listener_fn fn, void *arg, struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st = NULL;
	struct store_event		 ev;
	char				 key[32];
	int64_t				 trimmed = 0, n = 0, ret = -1;
	int				 rc;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	snprintf(key, sizeof(key), "trimmed.%d", (int)kind);
	if (store_sqlite_exec(c, SQL_BEGIN, err) == -1 ||
	    store_sqlite_meta_get(c, key, &trimmed, err) == -1)
		goto done;
	if (after < trimmed) {
		nsreg_error_set(err, NSREG_GONE, "since",
		    "revision %lld is older than the kept %s history "
		    "(from %lld)", (long long)after, store_kind_name(kind),
		    (long long)trimmed);
		goto done;
	}
	if ((st = store_sqlite_stmt(c, SQL_WATCH, err)) == NULL)
		goto done;
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, limit != 0 ? (int64_t)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev.revision = sqlite3_column_int64(st, 0);
		ev.kind = kind;
		ev.type = (enum store_event_type)sqlite3_column_int(st, 1);
		ev.name = (const char *)sqlite3_column_text(st, 2);
		ev.reason = store_reason((const char *)sqlite3_column_text(st,
		    3));
		ev.object = store_sqlite_parse(
		    (const char *)sqlite3_column_text(st, 4),
		    (size_t)sqlite3_column_bytes(st, 4));
		if (ev.object == NULL || ev.name == NULL) {
			json_decref(ev.object);
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "event %lld: unreadable", (long long)ev.revision);
			goto done;
		}
		fn(&ev, arg);
		json_decref(ev.object);
		n++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "watch", err);
		goto done;
	}
	ret = n;
done:
	if (st != NULL)
		sqlite3_reset(st);
	store_sqlite_reader_put(s, c);
	return ret;
}

/* The decision list statement for the filters in mask. */
static sqlite3_stmt *
store_sqlite_decisions_stmt(struct store_sqlite_conn *c, unsigned int mask,
    struct nsreg_error *err)
{
	char	sql[256];

	if (c->decisions[mask] != NULL)
		return c->decisions[mask];
	snprintf(sql, sizeof(sql), "SELECT id, entry FROM decisions "
	    "WHERE id < ?1%s%s%s ORDER BY id DESC LIMIT ?5",
	    mask & 1 ? " AND principal = ?2" : "",
	    mask & 2 ? " AND action = ?3" : "",
	    mask & 4 ? " AND decision = ?4" : "");
	return store_sqlite_prepare(c, &c->decisions[mask], sql, err);
}

static int
store_sqlite_decision_list(void *b, const struct store_decision_query *q,
    json_t **items, int64_t *next_id, struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st = NULL;
	json_t				*list = NULL, *e;
	size_t				 limit = q->limit != 0 ? q->limit : 100;
	unsigned int			 mask;
	int64_t				 id, last = 0;
	int				 rc, ret = -1;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	mask = (q->principal != NULL ? 1 : 0) | (q->action != NULL ? 2 : 0) |
	    (q->decision != NULL ? 4 : 0);
	if ((list = json_array()) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	if ((st = store_sqlite_decisions_stmt(c, mask, err)) == NULL)
		goto done;
	sqlite3_bind_int64(st, 1, q->before_id != 0 ? q->before_id :
	    INT64_MAX);
	sqlite3_bind_text(st, 2, q->principal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, q->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, q->decision, -1, SQLITE_STATIC);
	/* One more than asked tells whether a next page exists. */
	sqlite3_bind_int64(st, 5, (int64_t)limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (json_array_size(list) == limit) {
			*next_id = last;
			break;
		}
		e = store_sqlite_parse((const char *)sqlite3_column_text(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
		if (e == NULL || json_object_set_new(e, "id",
		    json_integer(id)) == -1 ||
		    json_array_append_new(list, e) == -1) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "decision %lld: unreadable", (long long)id);
			goto done;
		}
		last = id;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "decisions", err);
		goto done;
	}
	*items = list;
	list = NULL;
	ret = 0;
done:
	if (st != NULL)
		sqlite3_reset(st);
	if (ret == -1)
		*next_id = 0;
	json_decref(list);
	store_sqlite_reader_put(s, c);
	return ret;
}

static int
store_sqlite_ping(void *b)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	int				 up;

	if ((c = store_sqlite_reader_get(s, NULL)) == NULL)
		return 0;
	up = store_sqlite_exec(c, SQL_PING, NULL) == 0;
	store_sqlite_reader_put(s, c);
	return up;
}

static int64_t
store_sqlite_revision(void *b)
{
	struct store_sqlite	*s = b;

	return __atomic_load_n(&s->committed, __ATOMIC_ACQUIRE);
}

static void
store_sqlite_set_listener(void *b, store_listener_fn fn, void *arg)
{
	struct store_sqlite	*s = b;

	pthread_mutex_lock(&s->wlock);
	s->listener = fn;
	s->listener_arg = arg;
	pthread_mutex_unlock(&s->wlock);
}

/* Open and close. */

static void
store_sqlite_close(void *b)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;

	if (s == NULL)
		return;
	if (s->wthread_started) {
		pthread_mutex_lock(&s->wlock);
		s->wstop = 1;
		pthread_cond_signal(&s->wtcond);
		pthread_mutex_unlock(&s->wlock);
		pthread_join(s->wthread, NULL);
	}
	if (s->ckthread_started) {
		pthread_mutex_lock(&s->wlock);
		s->stopping = 1;
		pthread_cond_signal(&s->ckcond);
		pthread_mutex_unlock(&s->wlock);
		pthread_join(s->ckthread, NULL);
	}
	while ((c = s->readers) != NULL) {
		s->readers = c->next;
		store_sqlite_conn_close(c);
	}
	store_sqlite_conn_close(s->writer);
	store_sqlite_events_drop(s, 0);
	free(s->events);
	store_sqlite_ichanges_drop(s, 0);
	free(s->ichanges);
	store_svcidx_free(s->svcidx);
	store_textcache_free(s->texts);
	pthread_rwlock_destroy(&s->ilock);
	pthread_mutex_destroy(&s->wlock);
	pthread_cond_destroy(&s->wcond);
	pthread_cond_destroy(&s->ckcond);
	pthread_cond_destroy(&s->wtcond);
	pthread_mutex_destroy(&s->rlock);
	pthread_cond_destroy(&s->rcond);
	free(s->path);
	free(s);
}

/* Build the service index from the stored endpoints. */
static int
store_sqlite_index_load(struct store_sqlite *s, struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;
	const json_t			*v;
	const char			*name;
	json_t				*a;
	size_t				 i;
	int				 rc, ret = -1;

	if ((s->svcidx = store_svcidx_new()) == NULL ||
	    (s->texts = store_textcache_new(STORE_SQLITE_TEXT_CACHE)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	if ((st = store_sqlite_stmt(c, SQL_ENDPOINT_SERVICES, err)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, STORE_ENDPOINT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		a = store_sqlite_parse((const char *)sqlite3_column_text(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
		if (name == NULL || a == NULL) {
			json_decref(a);
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "endpoint %s: unreadable stored services",
			    name != NULL ? name : "?");
			goto done;
		}
		json_array_foreach(a, i, v) {
			if (json_is_string(v) && store_svcidx_add(s->svcidx,
			    json_string_value(v), name) == -1) {
				json_decref(a);
				nsreg_error_set(err, NSREG_INTERNAL, NULL,
				    "out of memory");
				goto done;
			}
		}
		json_decref(a);
		store_svcidx_set(s->svcidx, name, sqlite3_column_int64(st, 2),
		    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4));
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "load endpoints", err);
		goto done;
	}
	s->index_ok = 1;
	ret = 0;
done:
	sqlite3_reset(st);
	return ret;
}

static pthread_once_t	store_sqlite_once = PTHREAD_ONCE_INIT;

static void
store_sqlite_init(void)
{
	/*
	 * Memory statistics take a global mutex around every allocation,
	 * which every connection's thread would contend on.  This fails
	 * harmlessly when SQLite was already initialised.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void *
store_sqlite_open(const char *url, const struct store_options *opt,
    const struct store_migration *migrations, struct nsreg_error *err)
{
	struct store_sqlite	*s;
	const char		*path = url + strlen("sqlite:");
	int64_t			 rev;
	int			 rc;

	if (path[0] == '\0' || strcmp(path, ":memory:") == 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "database",
		    "database %s: want sqlite:PATH of a file", url);
		return NULL;
	}
	if (!sqlite3_threadsafe()) {
		nsreg_error_set(err, NSREG_INTERNAL, "database",
		    "SQLite was built without thread support");
		return NULL;
	}
	pthread_once(&store_sqlite_once, store_sqlite_init);
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		free(s);
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	s->history = opt->history != 0 ? opt->history : STORE_HISTORY_DEFAULT;
	s->ckpt_next = STORE_SQLITE_CHECKPOINT;
	s->queue_tail = &s->queue;
	pthread_mutex_init(&s->wlock, NULL);
	pthread_cond_init(&s->wcond, NULL);
	pthread_cond_init(&s->wtcond, NULL);
	pthread_cond_init(&s->ckcond, NULL);
	pthread_mutex_init(&s->rlock, NULL);
	pthread_cond_init(&s->rcond, NULL);
	pthread_rwlock_init(&s->ilock, NULL);
	if ((s->writer = store_sqlite_conn_open(path, STORE_SQLITE_WRITER,
	    err)) == NULL ||
	    store_sqlite_migrate(s->writer, path, migrations, err) == -1 ||
	    store_sqlite_revision_get(s->writer, &rev, err) == -1 ||
	    store_sqlite_index_load(s, err) == -1) {
		store_sqlite_close(s);
		return NULL;
	}
	s->committed = rev;
	s->index_rev = rev;
	/* Checkpoints move off the commit path (this replaces SQLite's). */
	sqlite3_wal_hook(s->writer->db, store_sqlite_wal_hook, s);
	if ((rc = pthread_create(&s->ckthread, NULL,
	    store_sqlite_checkpointer, s)) != 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the checkpointer: %s", strerror(rc));
		store_sqlite_close(s);
		return NULL;
	}
	s->ckthread_started = 1;
	if ((rc = pthread_create(&s->wthread, NULL,
	    store_sqlite_writer_thread, s)) != 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the writer: %s", strerror(rc));
		store_sqlite_close(s);
		return NULL;
	}
	s->wthread_started = 1;
	return s;
}

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.scheme = "sqlite:",
	.migrations = schema_sqlite,
	.open = store_sqlite_open,
	.close = store_sqlite_close,
	.set_listener = store_sqlite_set_listener,
	.ping = store_sqlite_ping,
	.revision = store_sqlite_revision,
	.create = store_sqlite_create,
	.update = store_sqlite_update,
	.put = store_sqlite_put,
	.put_async = store_sqlite_put_async,
	.fetch = store_sqlite_fetch,
	.delete = store_sqlite_delete,
	.list = store_sqlite_list,
	.count = store_sqlite_count,
	.prune = store_sqlite_prune,
	.watch = store_sqlite_watch,
	.decision_append = store_sqlite_decision_append,
	.decision_list = store_sqlite_decision_list,
	.decision_prune = store_sqlite_decision_prune,
	.grant_create = store_sqlite_grant_create,
	.grant_update = store_sqlite_grant_update,
	.grant_delete = store_sqlite_grant_delete,
	.grant_loads = store_sqlite_grant_loads,
	.ipam_usage = store_sqlite_ipam_usage,
	.grant_key_use = store_sqlite_grant_key_use,
	.grant_keys = store_sqlite_grant_keys,
};
