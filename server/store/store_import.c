/*
 * store_import.c - copy a whole registry from one database to another
 * (nsregd --import): SQLite to PostgreSQL, the reverse, or either to one
 * of its kind.
 *
 * Both databases are first opened through their backends (store_open),
 * which brings each schema to this code's version or refuses a newer
 * one, so the two have the same tables with the same columns (the twins
 * of schema/sqlite and schema/postgres).  Then the rows are copied as
 * text, table by table, from one read transaction of the source (a
 * consistent snapshot while another nsregd may serve it) into one write
 * transaction of the target, which holds the revision row and must be
 * empty: nothing is written unless everything is.  What is copied keeps
 * its numbers: revisions, the revision counter, the event history and
 * its trim marks, decision ids, vL3 slots and lease numbers (the revision
 * counter is a row of PostgreSQL's meta, and SQLite's last event).  Not
 * copied:
 * the migrations table (each database has its own) and the housekeeping
 * leases (they belong to running instances).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store.h"
#include "store_backend.h"

#define IMPORT_COLS_MAX		9
#define IMPORT_BUSY_MS		10000

/* The tables copied, in an order their contents never contradict. */
static const struct import_table {
	const char	*name;
	const char	*cols;
	int		 ncols;
} import_tables[] = {
	{ "meta", "key, value", 2 },
	{ "objects", "kind, name, revision, created_at, updated_at, "
	  "expires_at, owner, object, services", 9 },
	{ "events", "revision, kind, type, name, reason, object", 6 },
	{ "decisions", "id, time, principal, action, decision, entry", 6 },
	{ "grants", "id, service, endpoint, kid, slot, lease, expires_at",
	  7 },
	{ "ipam_pools", "service, prefix, client_len, low", 4 },
	{ "ipam_leases", "service, slot, principal, lease, grants, "
	  "expires_at", 6 },
	{ "ipam_free", "service, slot", 2 },
	{ "grant_keys", "kid, jwk, created_at, retired_at, expires_at", 5 },
};
#define IMPORT_NTABLES	(sizeof(import_tables) / sizeof(import_tables[0]))

/* One end of the copy: a raw connection of either kind. */
struct import_db {
	const char	*url;
	sqlite3		*lite;
	PGconn		*pq;
};

/* A row as text: v[i] NULL for SQL NULL. */
typedef int (*import_row_fn)(void *arg, const char *const *v,
    struct nsreg_error *err);

static int
import_fail(struct import_db *d, const char *what, struct nsreg_error *err)
{
	const char	*msg;

	msg = d->lite != NULL ? sqlite3_errmsg(d->lite) :
	    d->pq != NULL ? PQerrorMessage(d->pq) : "cannot connect";
	return nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
	    "%s: %s: %.300s", d->url, what, msg);
}

static int
import_connect(struct import_db *d, const char *url,
    struct nsreg_error *err)
{
	memset(d, 0, sizeof(*d));
	d->url = url;
	if (strncmp(url, "sqlite:", 7) == 0) {
		if (sqlite3_open_v2(url + 7, &d->lite, SQLITE_OPEN_READWRITE,
		    NULL) != SQLITE_OK)
			return import_fail(d, "open", err);
		sqlite3_busy_timeout(d->lite, IMPORT_BUSY_MS);
		return 0;
	}
	d->pq = PQconnectdb(url);
	if (d->pq == NULL || PQstatus(d->pq) != CONNECTION_OK)
		return import_fail(d, "connect", err);
	return 0;
}

static void
import_disconnect(struct import_db *d)
{
	if (d->lite != NULL)
		sqlite3_close(d->lite);
	if (d->pq != NULL)
		PQfinish(d->pq);
	memset(d, 0, sizeof(*d));
}

static int
import_exec(struct import_db *d, const char *sql, struct nsreg_error *err)
{
	PGresult	*r;
	int		 ok;

	if (d->lite != NULL) {
		if (sqlite3_exec(d->lite, sql, NULL, NULL, NULL) != SQLITE_OK)
			return import_fail(d, sql, err);
		return 0;
	}
	r = PQexec(d->pq, sql);
	ok = r != NULL && (PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK);
	PQclear(r);
	return ok ? 0 : import_fail(d, sql, err);
}

/* Call fn for each row sql (ncols columns) reads. */
static int
import_select(struct import_db *d, const char *sql, int ncols,
    import_row_fn fn, void *arg, struct nsreg_error *err)
{
	sqlite3_stmt	*st = NULL;
	PGresult	*r = NULL;
	const char	*v[IMPORT_COLS_MAX];
	int		 i, rc, ret = -1;

	if (d->lite != NULL) {
		if (sqlite3_prepare_v2(d->lite, sql, -1, &st, NULL) !=
		    SQLITE_OK) {
			import_fail(d, sql, err);
			goto done;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (i = 0; i < ncols; i++)
				v[i] = (const char *)sqlite3_column_text(st,
				    i);
			if (fn(arg, v, err) == -1)
				goto done;
		}
		if (rc != SQLITE_DONE) {
			import_fail(d, sql, err);
			goto done;
		}
		ret = 0;
		goto done;
	}
	/* Row by row: a decision log may not fit in memory at once. */
	if (!PQsendQuery(d->pq, sql) || !PQsetSingleRowMode(d->pq)) {
		import_fail(d, sql, err);
		goto done;
	}
	rc = 0;
	while ((r = PQgetResult(d->pq)) != NULL) {
		if (rc == 0 && PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
			for (i = 0; i < ncols; i++)
				v[i] = PQgetisnull(r, 0, i) ? NULL :
				    PQgetvalue(r, 0, i);
			if (fn(arg, v, err) == -1)
				rc = -1;
		} else if (rc == 0 && PQresultStatus(r) != PGRES_TUPLES_OK) {
			import_fail(d, sql, err);
			rc = -1;
		}
		/* After a failure, the rest is read and dropped. */
		PQclear(r);
	}
	r = NULL;
	if (rc == -1)
		goto done;
	ret = 0;
done:
	sqlite3_finalize(st);
	PQclear(r);
	return ret;
}

/* Rows being written into one table of the target. */
struct import_sink {
	struct import_db		*d;
	const struct import_table	*t;
	sqlite3_stmt			*st;
	int64_t				 rows;
	int64_t				 kinds[STORE_KIND_MAX];
};

static int
import_sink_open(struct import_sink *k, struct import_db *d,
    const struct import_table *t, struct nsreg_error *err)
{
	PGresult	*r;
	char		 sql[512];
	size_t		 len;
	int		 i;

	memset(k, 0, sizeof(*k));
	k->d = d;
	k->t = t;
	len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (",
	    t->name, t->cols);
	for (i = 0; i < t->ncols && len < sizeof(sql); i++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s$%d",
		    i > 0 ? ", " : "", i + 1);
	if (len >= sizeof(sql) - 2)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s: statement too long", t->name);
	snprintf(sql + len, sizeof(sql) - len, ")");
	if (d->lite != NULL) {
		/* SQLite takes $N as a numbered parameter too. */
		if (sqlite3_prepare_v2(d->lite, sql, -1, &k->st, NULL) !=
		    SQLITE_OK)
			return import_fail(d, sql, err);
		return 0;
	}
	r = PQprepare(d->pq, t->name, sql, 0, NULL);
	i = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return i ? 0 : import_fail(d, sql, err);
}

static void
import_sink_close(struct import_sink *k)
{
	sqlite3_finalize(k->st);
	k->st = NULL;
}

static int
import_sink_row(void *arg, const char *const *v, struct nsreg_error *err)
{
	struct import_sink	*k = arg;
	PGresult		*r;
	long			 kind;
	int			 i, ok;

	if (k->d->lite != NULL) {
		sqlite3_reset(k->st);
		for (i = 0; i < k->t->ncols; i++) {
			if (v[i] == NULL)
				ok = sqlite3_bind_null(k->st, i + 1);
			else
				ok = sqlite3_bind_text(k->st, i + 1, v[i], -1,
				    SQLITE_TRANSIENT);
			if (ok != SQLITE_OK)
				return import_fail(k->d, k->t->name, err);
		}
		if (sqlite3_step(k->st) != SQLITE_DONE)
			return import_fail(k->d, k->t->name, err);
	} else {
		r = PQexecPrepared(k->d->pq, k->t->name, k->t->ncols, v,
		    NULL, NULL, 0);
		ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok)
			return import_fail(k->d, k->t->name, err);
	}
	k->rows++;
	if (strcmp(k->t->name, "objects") == 0 && v[0] != NULL) {
		kind = strtol(v[0], NULL, 10);
		if (kind >= 0 && kind < STORE_KIND_MAX)
			k->kinds[kind]++;
	}
	return 0;
}

/* A count of rows (one integer column). */
static int
import_count_row(void *arg, const char *const *v, struct nsreg_error *err)
{
	(void)err;
	*(int64_t *)arg = v[0] != NULL ? strtoll(v[0], NULL, 10) : 0;
	return 0;
}

/*
 * Refuse a target holding anything: a revision taken, a trim mark, or
 * a row in any copied table.
 */
static int
import_check_empty(struct import_db *d, struct nsreg_error *err)
{
	char	sql[128];
	int64_t	n;
	size_t	i;

	for (i = 0; i < IMPORT_NTABLES; i++) {
		if (strcmp(import_tables[i].name, "meta") == 0)
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM meta "
			    "WHERE key <> 'revision' OR value <> 0");
		else
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s",
			    import_tables[i].name);
		n = 0;
		if (import_select(d, sql, 1, import_count_row, &n, err) == -1)
			return -1;
		if (n != 0)
			return nsreg_error_set(err, NSREG_FAILED_PRECONDITION,
			    "database", "%s is not empty (%s has %lld rows): "
			    "import only into a new database", d->url,
			    import_tables[i].name, (long long)n);
	}
	return 0;
}

/* Bring url's schema to this code's (or refuse a newer one). */
static int
import_migrate(const char *url, struct nsreg_error *err)
{
	struct store_options	 opt;
	struct store		*s;

	memset(&opt, 0, sizeof(opt));
	opt.url = url;
	opt.threads = 1;
	if ((s = store_open(&opt, err)) == NULL)
		return -1;
	store_close(s);
	return 0;
}

int
store_import(const char *from, const char *to, struct store_import_info *info,
    struct nsreg_error *err)
{
	struct import_db	 src, dst;
	struct import_sink	 k;
	const struct import_table *t;
	char			 sql[512];
	size_t			 i;
	int			 kind, ret = -1;

	memset(info, 0, sizeof(*info));
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	memset(&k, 0, sizeof(k));
	if (store_backend_find(from, err) == NULL ||
	    store_backend_find(to, err) == NULL)
		goto done;
	if (strcmp(from, to) == 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "database",
		    "%s: cannot import a database into itself", from);
		goto done;
	}
	if (import_migrate(from, err) == -1 || import_migrate(to, err) == -1)
		goto done;
	if (import_connect(&src, from, err) == -1 ||
	    import_connect(&dst, to, err) == -1)
		goto done;
	/* One snapshot of the source; the target's revision row held. */
	if (import_exec(&src, src.lite != NULL ? "BEGIN" : "BEGIN ISOLATION "
	    "LEVEL REPEATABLE READ READ ONLY", err) == -1 ||
	    import_exec(&dst, dst.lite != NULL ? "BEGIN IMMEDIATE" : "BEGIN",
	    err) == -1 ||
	    (dst.pq != NULL && import_exec(&dst, "SELECT value FROM meta "
	    "WHERE key = 'revision' FOR UPDATE", err) == -1) ||
	    import_check_empty(&dst, err) == -1)
		goto rollback;
	/*
	 * The revision counter: PostgreSQL keeps it in meta('revision'),
	 * SQLite takes the last event's (its history keeps that one).
	 */
	if (import_select(&src, src.pq != NULL ? "SELECT value FROM meta "
	    "WHERE key = 'revision'" : "SELECT coalesce(max(revision), 0) "
	    "FROM events", 1, import_count_row, &info->revision, err) == -1)
		goto rollback;
	for (i = 0; i < IMPORT_NTABLES; i++) {
		t = &import_tables[i];
		if (import_sink_open(&k, &dst, t, err) == -1)
			goto rollback;
		snprintf(sql, sizeof(sql), "SELECT %s FROM %s%s", t->cols,
		    t->name, strcmp(t->name, "meta") == 0 ?
		    " WHERE key <> 'revision'" : "");
		if (import_select(&src, sql, t->ncols, import_sink_row, &k,
		    err) == -1)
			goto rollback;
		import_sink_close(&k);
		if (strcmp(t->name, "objects") == 0) {
			for (kind = 0; kind < STORE_KIND_MAX; kind++)
				info->objects[kind] = k.kinds[kind];
		} else if (strcmp(t->name, "events") == 0)
			info->events = k.rows;
		else if (strcmp(t->name, "decisions") == 0)
			info->decisions = k.rows;
		else if (strcmp(t->name, "ipam_leases") == 0)
			info->leases = k.rows;
		else if (strcmp(t->name, "grant_keys") == 0)
			info->keys = k.rows;
	}
	/* The decision log's ids go on after the last one copied. */
	if (dst.pq != NULL && import_exec(&dst, "SELECT setval("
	    "pg_get_serial_sequence('decisions', 'id'), "
	    "coalesce((SELECT max(id) FROM decisions), 0) + 1, false)",
	    err) == -1)
		goto rollback;
	if (dst.pq != NULL) {
		snprintf(sql, sizeof(sql), "UPDATE meta SET value = %lld "
		    "WHERE key = 'revision'", (long long)info->revision);
		if (import_exec(&dst, sql, err) == -1)
			goto rollback;
	}
	if (import_exec(&dst, "COMMIT", err) == -1)
		goto rollback;
	import_exec(&src, "COMMIT", NULL);
	ret = 0;
	goto done;
rollback:
	import_sink_close(&k);
	if (dst.lite != NULL || dst.pq != NULL)
		import_exec(&dst, "ROLLBACK", NULL);
done:
	import_disconnect(&src);
	import_disconnect(&dst);
	return ret;
}
