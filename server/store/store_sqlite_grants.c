/*
 * store_sqlite_grants.c - the SQLite backend's grant rows, vL3 pools and
 * address leases, the cascades that revoke grants when what they were
 * made for goes, and the grant signing keys.  Which block a lease takes
 * and whether a service write keeps its pool are store_lease.c's choices;
 * this file reads and writes the rows.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_lease.h"
#include "store_sqlite_int.h"

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
store_sqlite_leases_live(void *conn, const char *service, int64_t now,
    int64_t *live, struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = conn;
	sqlite3_stmt			*st;
	int				 found;

	if ((st = store_sqlite_stmt(c, SQL_LEASES_LIVE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return store_sqlite_one_int(c, st, live, &found, "read leases", err);
}

/* Forget service's pool and every lease of it. */
static int
store_sqlite_pool_drop(void *conn, const char *service,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = conn;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_POOL_DELETE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	if (store_sqlite_step_done(c, st, "drop pool", err) == -1)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_LEASES_DELETE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	if (store_sqlite_step_done(c, st, "drop leases", err) == -1)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_FREES_DELETE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	return store_sqlite_step_done(c, st, "drop leases", err);
}

static int
store_sqlite_pool_get(void *conn, const char *service,
    struct store_lease_pool *p, struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = conn;
	sqlite3_stmt			*st;
	const char			*t;
	int				 rc, ret = 0;

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
	} else if (rc != SQLITE_DONE)
		ret = store_sqlite_error(c->db, rc, "read pool", err);
	sqlite3_reset(st);
	return ret;
}

static int
store_sqlite_pool_put(void *conn, const struct store_grant *g,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = conn;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_POOL_PUT, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, g->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, g->pool, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, g->client_len);
	sqlite3_bind_int64(st, 4, g->first);
	return store_sqlite_step_done(c, st, "write pool", err);
}

static int
store_sqlite_lease_hold(void *conn, const char *service,
    const char *principal, int64_t expires, int64_t *block, int64_t *lease,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = conn;
	sqlite3_stmt			*st;
	int				 rc;

	*block = -1;
	if ((st = store_sqlite_stmt(c, SQL_LEASE_HOLD, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, principal, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*block = sqlite3_column_int64(st, 0);
		*lease = sqlite3_column_int64(st, 1);
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(c->db, rc, "hold lease", err);
	return 0;
}

static int
store_sqlite_lease_bounds(void *conn, const char *service, int *has_freed,
    int64_t *freed, int *has_top, int64_t *top, struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = conn;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_FREE_FIRST, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	if (store_sqlite_one_int(c, st, freed, has_freed, "read pool",
	    err) == -1)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_LEASE_TOP, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	return store_sqlite_one_int(c, st, top, has_top, "read leases", err);
}

static int
store_sqlite_lease_insert(void *conn, const char *service, int64_t block,
    const char *principal, int64_t gen, int64_t expires, int was_freed,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = conn;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_LEASE_INSERT, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, block);
	sqlite3_bind_text(st, 3, principal, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, gen);
	sqlite3_bind_int64(st, 5, expires);
	if (store_sqlite_step_done(c, st, "write lease", err) == -1)
		return -1;
	if (!was_freed)
		return 0;
	if ((st = store_sqlite_stmt(c, SQL_FREE_TAKE, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, block);
	return store_sqlite_step_done(c, st, "write pool", err);
}

/* The pool and lease rows, for store_lease.c's choices. */
static const struct store_lease_rows store_sqlite_lease_rows = {
	.pool_get = store_sqlite_pool_get,
	.pool_put = store_sqlite_pool_put,
	.pool_drop = store_sqlite_pool_drop,
	.leases_live = store_sqlite_leases_live,
	.lease_hold = store_sqlite_lease_hold,
	.lease_bounds = store_sqlite_lease_bounds,
	.lease_insert = store_sqlite_lease_insert,
};

/* A service write keeps or drops the service's pool (store_lease.c). */
int
store_sqlite_pool_check(struct store_sqlite *s, const struct store_object *obj,
    int64_t now, struct nsreg_error *err)
{
	return store_lease_pool_check(&store_sqlite_lease_rows, s->writer,
	    obj, now, err);
}

/*
 * Release what grant id holds (one holder less on its lease; the last
 * returns the block to the pool) and delete its row.
 */
int
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
		    SQL_FREE_PUT : SQL_LEASE_DROP, err);
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
int
store_sqlite_cascade(struct store_sqlite *s, enum store_kind kind,
    const char *name, struct nsreg_error *err)
{
	sqlite3_stmt	*st;

	st = store_sqlite_stmt(s->writer, kind == STORE_ENDPOINT ?
	    SQL_GRANTS_OF_ENDPOINT : SQL_GRANTS_OF_SERVICE, err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (store_sqlite_revoke_listed(s, st, store_lease_cascade_reason(kind),
	    err) == -1)
		return -1;
	if (kind == STORE_SERVICE)
		return store_sqlite_pool_drop(s->writer, name, err);
	return 0;
}

/* Revoke endpoint's grants for service, a service it no longer offers. */
static int
store_sqlite_dropped_revoke(void *arg, const char *endpoint,
    const char *service, struct nsreg_error *err)
{
	struct store_sqlite	*s = arg;
	sqlite3_stmt		*st;

	if ((st = store_sqlite_stmt(s->writer, SQL_GRANTS_OF_ENDPOINT_SERVICE,
	    err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, service, -1, SQLITE_TRANSIENT);
	return store_sqlite_revoke_listed(s, st, STORE_REASON_ENDPOINT_GONE,
	    err);
}

/*
 * An endpoint that no longer offers some of the services in the stored
 * text old revokes its grants for them.
 */
int
store_sqlite_endpoint_dropped(struct store_sqlite *s, const char *name,
    const char *old, const json_t *now_offered, struct nsreg_error *err)
{
	return store_lease_dropped(name, old, now_offered, store_sqlite_parse,
	    store_sqlite_dropped_revoke, s, err);
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
	return store_lease_key_current(kid, found, err);
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
	if (store_lease_source(STORE_SERVICE, g->service, found &&
	    store_sqlite_live(exp, op->now), rev, g->service_rev,
	    op->err) == -1)
		goto done;
	if (store_sqlite_object_rev(c, STORE_ENDPOINT, g->endpoint, &found,
	    &rev, &exp, op->err) == -1)
		goto done;
	if (store_lease_source(STORE_ENDPOINT, g->endpoint, found &&
	    store_sqlite_live(exp, op->now), rev, g->endpoint_rev,
	    op->err) == -1)
		goto done;
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
		if (store_lease_take(&store_sqlite_lease_rows, c, g,
		    tmp.owner, s->next_rev + 1, tmp.expires_at, op->now,
		    &slot, &lease, op->err) == -1)
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
	if (store_lease_grant_check(tmp.name, row.found &&
	    store_sqlite_live(row.expires_at, op->now), row.revision,
	    op->expect_rev, op->err) == -1 ||
	    store_sqlite_key_current(c, op->kid, op->err) == -1)
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
int
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

int
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

int
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

int
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

int
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

int
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

int
store_sqlite_ipam_usage(void *b, const char *service, int64_t now,
    char *pool, size_t len, int *client_len, int64_t *live,
    struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	int				 ret = -1;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	/* One snapshot for the pool and its leases. */
	if (store_sqlite_exec(c, SQL_BEGIN, err) == -1 ||
	    store_lease_usage(&store_sqlite_lease_rows, c, service, now, pool,
	    len, client_len, live, err) == -1)
		goto done;
	ret = 0;
done:
	store_sqlite_reader_put(s, c);
	return ret;
}

int
store_sqlite_grant_keys(void *b, int64_t now, json_t **keys,
    struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st;
	json_t				*list = NULL, *k, *jwk;
	int64_t				 t[3];
	int				 null[3];
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
		for (i = 0; i < 3; i++) {
			null[i] = sqlite3_column_type(st, i + 2) ==
			    SQLITE_NULL;
			t[i] = sqlite3_column_int64(st, i + 2);
		}
		k = store_lease_key_steal(
		    (const char *)sqlite3_column_text(st, 0), jwk, t, null);
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
