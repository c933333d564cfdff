/*
 * store_backup.c - a consistent copy of a database while nsregd serves
 * it (nsregd --backup).
 *
 * The SQLite backend copies with SQLite's online backup API: one
 * sqlite3_backup_step() over every page, inside one read transaction of
 * the source, so the copy is the database as of one commit.  In WAL mode
 * that read holds no writer off: the running nsregd goes on committing
 * (into the WAL, past the snapshot being copied) while the copy is made.
 * The copy is written beside its destination, checked, synced, and
 * renamed over it only when complete: a failed backup leaves whatever
 * was there before.  The copy is a single file in rollback-journal mode,
 * so restoring it is copying it over a stopped nsregd's database.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_backend.h"

/* How long the copy waits for a lock held by the serving nsregd. */
#define STORE_BACKUP_BUSY_MS	10000

/* One integer of a query on db, or -1 with err set. */
static int
store_backup_int(sqlite3 *db, const char *path, const char *sql,
    int64_t *out, struct nsreg_error *err)
{
	sqlite3_stmt	*st = NULL;
	int		 rc, ret = -1;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "%s: %s", path, sqlite3_errmsg(db));
		goto done;
	}
	*out = sqlite3_column_int64(st, 0);
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

/* Run sql (no rows wanted) on db, or -1 with err set. */
static int
store_backup_exec(sqlite3 *db, const char *path, const char *sql,
    struct nsreg_error *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s",
		    path, sqlite3_errmsg(db));
	return 0;
}

/* fsync the folder of path, so a rename in it is durable. */
static int
store_backup_sync_dir(const char *path, struct nsreg_error *err)
{
	char		 dir[PATH_MAX];
	const char	*slash = strrchr(path, '/');
	int		 fd, ret = -1;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s", dir,
		    strerror(errno));
		goto done;
	}
	ret = 0;
done:
	if (fd != -1)
		close(fd);
	return ret;
}

int
store_sqlite_backup(const char *url, const char *dest,
    const struct store_migration *migrations, struct store_backup_info *info,
    struct nsreg_error *err)
{
	const char			*path = url + strlen("sqlite:");
	const struct store_migration	*m;
	sqlite3				*src = NULL, *dst = NULL;
	sqlite3_backup			*bk = NULL;
	char				 tmp[PATH_MAX];
	int64_t				 known = 0, schema, ok;
	int				 rc, ret = -1, made = 0;

	for (m = migrations; m->name != NULL; m++)
		known = m->version;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dest,
	    (long)getpid()) >= sizeof(tmp)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: name too long", dest);
		goto done;
	}
	/* Read only, and never created: a typo is an error, not a file. */
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "database %s: %s", path, src != NULL ?
		    sqlite3_errmsg(src) : "out of memory");
		goto done;
	}
	sqlite3_busy_timeout(src, STORE_BACKUP_BUSY_MS);
	if (store_backup_int(src, path, "SELECT max(version) FROM "
	    "schema_migrations", &schema, err) == -1)
		goto done;
	if (schema > known) {
		nsreg_error_set(err, NSREG_FAILED_PRECONDITION, "database",
		    "database %s has schema version %lld, newer than the %lld "
		    "this nsregd knows: back it up with a newer nsregd", path,
		    (long long)schema, (long long)known);
		goto done;
	}
	unlink(tmp);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s", tmp,
		    dst != NULL ? sqlite3_errmsg(dst) : "out of memory");
		goto done;
	}
	made = 1;
	if (chmod(tmp, 0600) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s", tmp,
		    strerror(errno));
		goto done;
	}
	if ((bk = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s", tmp,
		    sqlite3_errmsg(dst));
		goto done;
	}
	/* Every page in one step: one snapshot of the source. */
	while ((rc = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY ||
	    rc == SQLITE_LOCKED)
		sqlite3_sleep(50);
	sqlite3_backup_finish(bk);
	bk = NULL;
	if (rc != SQLITE_DONE) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "backup of %s: %s", path, sqlite3_errstr(rc));
		goto done;
	}
	/* One self-contained file, durable, and sound. */
	if (store_backup_exec(dst, tmp, "PRAGMA journal_mode=DELETE", err) ==
	    -1 ||
	    store_backup_exec(dst, tmp, "PRAGMA synchronous=FULL", err) ==
	    -1 ||
	    store_backup_int(dst, tmp, "SELECT count(*) FROM "
	    "pragma_quick_check WHERE quick_check <> 'ok'", &ok, err) == -1)
		goto done;
	if (ok != 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s: the copy fails its integrity check", tmp);
		goto done;
	}
	if (store_backup_int(dst, tmp, "SELECT coalesce(max(revision), 0) "
	    "FROM events", &info->revision, err) == -1)
		goto done;
	info->schema = (int)schema;
	if (sqlite3_close(dst) != SQLITE_OK) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s", tmp,
		    sqlite3_errmsg(dst));
		goto done;
	}
	dst = NULL;
	if (rename(tmp, dest) == -1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s", dest,
		    strerror(errno));
		goto done;
	}
	made = 0;
	if (store_backup_sync_dir(dest, err) == -1)
		goto done;
	ret = 0;
done:
	if (bk != NULL)
		sqlite3_backup_finish(bk);
	if (dst != NULL)
		sqlite3_close(dst);
	if (src != NULL)
		sqlite3_close(src);
	if (made) {
		char	journal[PATH_MAX + 16];

		unlink(tmp);
		/* What SQLite may have left beside it. */
		snprintf(journal, sizeof(journal), "%s-journal", tmp);
		unlink(journal);
	}
	return ret;
}

int
store_backup(const char *url, const char *dest,
    struct store_backup_info *info, struct nsreg_error *err)
{
	const struct store_backend	*be;

	memset(info, 0, sizeof(*info));
	if ((be = store_backend_find(url, err)) == NULL)
		return -1;
	if (be->backup == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "database",
		    "nsregd --backup copies SQLite databases; back up a %s "
		    "database with its own tools (pg_dump)", be->name);
	return be->backup(url, dest, be->migrations, info, err);
}
