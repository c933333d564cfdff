/*
 * store_sqlite.c - the SQLite storage backend ("sqlite:PATH"): its
 * connections, statements, migrations, readers, open and close, and the
 * backend table.  It and the other store_sqlite_*.c files (listed in
 * store_sqlite_int.h) are the only ones that call sqlite3_*, with
 * store_backup.c (nsregd --backup).
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

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
	    "SELECT prefix, client_len FROM ipam_pools WHERE service = ?1",
	[SQL_POOL_PUT] =
	    /* low: no longer read (0003_ipam_free), NOT NULL. */
	    "INSERT INTO ipam_pools (service, prefix, client_len, low) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (service) DO UPDATE SET "
	    "prefix = excluded.prefix, client_len = excluded.client_len, "
	    "low = excluded.low",
	[SQL_POOL_DELETE] = "DELETE FROM ipam_pools WHERE service = ?1",
	[SQL_LEASES_DELETE] = "DELETE FROM ipam_leases WHERE service = ?1",
	[SQL_LEASE_HOLD] =
	    "UPDATE ipam_leases SET grants = grants + 1, "
	    "expires_at = max(expires_at, ?3) "
	    "WHERE service = ?1 AND principal = ?2 RETURNING slot, lease",
	[SQL_LEASE_EXTEND] =
	    "UPDATE ipam_leases SET expires_at = max(expires_at, ?4) "
	    "WHERE service = ?1 AND slot = ?2 AND lease = ?3",
	[SQL_LEASE_TOP] =
	    "SELECT slot FROM ipam_leases WHERE service = ?1 "
	    "ORDER BY slot DESC LIMIT 1",
	[SQL_FREE_FIRST] =
	    "SELECT slot FROM ipam_free WHERE service = ?1 "
	    "ORDER BY slot LIMIT 1",
	[SQL_FREE_TAKE] = "DELETE FROM ipam_free WHERE service = ?1 AND slot = ?2",
	[SQL_FREE_PUT] =
	    "INSERT OR IGNORE INTO ipam_free (service, slot) VALUES (?1, ?2)",
	[SQL_FREES_DELETE] = "DELETE FROM ipam_free WHERE service = ?1",
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

int
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

sqlite3_stmt *
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

sqlite3_stmt *
store_sqlite_stmt(struct store_sqlite_conn *c, enum store_sqlite_sql id,
    struct nsreg_error *err)
{
	return store_sqlite_prepare(c, &c->stmt[id], store_sqlite_sql[id],
	    err);
}

/* Run a statement that returns no rows (bindings already made). */
int
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

int
store_sqlite_exec(struct store_sqlite_conn *c, enum store_sqlite_sql id,
    struct nsreg_error *err)
{
	sqlite3_stmt	*st;

	if ((st = store_sqlite_stmt(c, id, err)) == NULL)
		return -1;
	return store_sqlite_step_done(c, st, store_sqlite_sql[id], err);
}

void
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

struct store_sqlite_conn *
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

int
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
int
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

int
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

struct store_sqlite_conn *
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

void
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

json_t *
store_sqlite_parse(const char *text, size_t len)
{
	return json_loadb(text, len, JSON_ALLOW_NUL, NULL);
}

char *
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
store_sqlite_stats(void *b, struct store_stats *out)
{
	struct store_sqlite	*s = b;

	out->lists_memory = __atomic_load_n(&s->lists_memory,
	    __ATOMIC_RELAXED);
	out->lists_database = __atomic_load_n(&s->lists_database,
	    __ATOMIC_RELAXED);
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
	store_sqlite_writer_stop(s);
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
	if (store_sqlite_writer_start(s, err) == -1) {
		store_sqlite_close(s);
		return NULL;
	}
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
	.stats = store_sqlite_stats,
	.backup = store_sqlite_backup,
};
