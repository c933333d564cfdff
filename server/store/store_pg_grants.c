/*
 * store_pg_grants.c - the PostgreSQL backend's grant rows, vL3 pools and
 * address leases, the cascades that revoke grants when what they were
 * made for goes, and the grant signing keys: the rules of
 * store_sqlite_grants.c in SQL of PostgreSQL.  Which block a lease takes
 * and whether a service write keeps its pool are store_lease.c's choices.
 *
 * Every write here runs inside store_pg_write, which holds the revision
 * row: grants of all instances are serialised by the database, and the
 * keys of ipam_leases (a block once per service, a principal once per
 * service) back that up, so leases stay unique across instances.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_lease.h"
#include "store_pg_int.h"

/*
 * The first column of the first row of statement id: *found 0 when no
 * row, 1 when a value, 2 when NULL.
 */
static int
store_pg_one_int(struct store_pg_conn *c, enum store_pg_sql id, int n,
    const char *const *params, int64_t *v, int *found, const char *what,
    struct nsreg_error *err)
{
	PGresult	*r;

	*v = 0;
	*found = 0;
	if ((r = store_pg_run(c, id, n, params, what, err)) == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		*found = PQgetisnull(r, 0, 0) ? 2 : 1;
		*v = store_pg_int(r, 0, 0);
	}
	PQclear(r);
	return 0;
}

/* Run a statement whose rows do not matter. */
static int
store_pg_do(struct store_pg_conn *c, enum store_pg_sql id, int n,
    const char *const *params, const char *what, struct nsreg_error *err)
{
	PGresult	*r;

	if ((r = store_pg_run(c, id, n, params, what, err)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* The revision and expiry of kind/name; *found 0 when there is no row. */
static int
store_pg_object_rev(struct store_pg_conn *c, enum store_kind kind,
    const char *name, int *found, int64_t *rev, int64_t *expires,
    struct nsreg_error *err)
{
	struct store_pg_params	 p;
	PGresult		*r;

	*found = 0;
	*rev = *expires = 0;
	store_pg_param_int(&p, 0, (int64_t)kind);
	p.v[1] = name;
	if ((r = store_pg_run(c, PG_OBJECT_REV, 2, p.v, "read", err)) == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		*found = 1;
		*rev = store_pg_int(r, 0, 0);
		*expires = store_pg_int(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

static int
store_pg_leases_live(void *conn, const char *service, int64_t now,
    int64_t *live, struct nsreg_error *err)
{
	struct store_pg_params	p;
	int			found;

	p.v[0] = service;
	store_pg_param_int(&p, 1, now);
	return store_pg_one_int(conn, PG_LEASES_LIVE, 2, p.v, live, &found,
	    "read leases", err);
}

/* Forget service's pool and every lease of it. */
static int
store_pg_pool_drop(void *conn, const char *service, struct nsreg_error *err)
{
	const char	*v[1] = { service };

	if (store_pg_do(conn, PG_POOL_DELETE, 1, v, "drop pool", err) ==
	    -1 || store_pg_do(conn, PG_LEASES_DELETE, 1, v, "drop leases",
	    err) == -1)
		return -1;
	return store_pg_do(conn, PG_FREES_DELETE, 1, v, "drop leases", err);
}

static int
store_pg_pool_get(void *conn, const char *service,
    struct store_lease_pool *p, struct nsreg_error *err)
{
	const char	*v[1] = { service };
	PGresult	*r;

	memset(p, 0, sizeof(*p));
	if ((r = store_pg_run(conn, PG_POOL_GET, 1, v, "read pool", err)) ==
	    NULL)
		return -1;
	if (PQntuples(r) > 0) {
		p->found = 1;
		snprintf(p->prefix, sizeof(p->prefix), "%s",
		    PQgetvalue(r, 0, 0));
		p->client_len = (int)store_pg_int(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

static int
store_pg_pool_put(void *conn, const struct store_grant *g,
    struct nsreg_error *err)
{
	struct store_pg_params	p;

	p.v[0] = g->service;
	p.v[1] = g->pool;
	store_pg_param_int(&p, 2, g->client_len);
	store_pg_param_int(&p, 3, g->first);
	return store_pg_do(conn, PG_POOL_PUT, 4, p.v, "write pool", err);
}

static int
store_pg_lease_hold(void *conn, const char *service, const char *principal,
    int64_t expires, int64_t *block, int64_t *lease, struct nsreg_error *err)
{
	struct store_pg_params	 p;
	PGresult		*r;

	*block = -1;
	p.v[0] = service;
	p.v[1] = principal;
	store_pg_param_int(&p, 2, expires);
	if ((r = store_pg_run(conn, PG_LEASE_HOLD, 3, p.v, "hold lease",
	    err)) == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		*block = store_pg_int(r, 0, 0);
		*lease = store_pg_int(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

static int
store_pg_lease_bounds(void *conn, const char *service, int *has_freed,
    int64_t *freed, int *has_top, int64_t *top, struct nsreg_error *err)
{
	const char	*v[1] = { service };

	if (store_pg_one_int(conn, PG_FREE_FIRST, 1, v, freed, has_freed,
	    "read pool", err) == -1)
		return -1;
	return store_pg_one_int(conn, PG_LEASE_TOP, 1, v, top, has_top,
	    "read leases", err);
}

static int
store_pg_lease_insert(void *conn, const char *service, int64_t block,
    const char *principal, int64_t gen, int64_t expires, int was_freed,
    struct nsreg_error *err)
{
	struct store_pg_params	p;

	p.v[0] = service;
	store_pg_param_int(&p, 1, block);
	p.v[2] = principal;
	store_pg_param_int(&p, 3, gen);
	store_pg_param_int(&p, 4, expires);
	if (store_pg_do(conn, PG_LEASE_INSERT, 5, p.v, "write lease",
	    err) == -1)
		return -1;
	if (was_freed && store_pg_do(conn, PG_FREE_TAKE, 2, p.v,
	    "write pool", err) == -1)
		return -1;
	return 0;
}

/* The pool and lease rows, for store_lease.c's choices. */
static const struct store_lease_rows store_pg_lease_rows = {
	.pool_get = store_pg_pool_get,
	.pool_put = store_pg_pool_put,
	.pool_drop = store_pg_pool_drop,
	.leases_live = store_pg_leases_live,
	.lease_hold = store_pg_lease_hold,
	.lease_bounds = store_pg_lease_bounds,
	.lease_insert = store_pg_lease_insert,
};

/* A service write keeps or drops the service's pool (store_lease.c). */
int
store_pg_pool_check(struct store_pg *s, const struct store_object *obj,
    int64_t now, struct nsreg_error *err)
{
	return store_lease_pool_check(&store_pg_lease_rows, s->wc, obj, now,
	    err);
}

/*
 * Release what grant id holds (one holder less on its lease; the last
 * returns the block to the pool) and delete its row.
 */
int
store_pg_grant_release(struct store_pg *s, const char *id,
    struct nsreg_error *err)
{
	struct store_pg_params	 p;
	PGresult		*r, *f = NULL;
	const char		*v[1] = { id };
	int			 ret = -1;

	if ((r = store_pg_run(s->wc, PG_GRANT_GET, 1, v, "read grant",
	    err)) == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		ret = 0;	/* nothing held */
		goto done;
	}
	if (!PQgetisnull(r, 0, 1)) {
		p.v[0] = PQgetvalue(r, 0, 0);
		p.v[1] = PQgetvalue(r, 0, 1);
		p.v[2] = PQgetvalue(r, 0, 2);
		if ((f = store_pg_run(s->wc, PG_LEASE_FREE, 3, p.v,
		    "release lease", err)) == NULL)
			goto done;
		/* The last holder returns the block; others drop one. */
		if (strcmp(PQcmdTuples(f), "1") == 0) {
			if (store_pg_do(s->wc, PG_FREE_PUT, 2, p.v,
			    "release lease", err) == -1)
				goto done;
		} else if (store_pg_do(s->wc, PG_LEASE_DROP, 3, p.v,
		    "release lease", err) == -1)
			goto done;
	}
	ret = store_pg_do(s->wc, PG_GRANT_DELETE, 1, v, "delete grant", err);
done:
	PQclear(f);
	PQclear(r);
	return ret;
}

/* Revoke every grant whose id the result r lists. */
static int
store_pg_revoke_listed(struct store_pg *s, PGresult *r, const char *reason,
    struct nsreg_error *err)
{
	struct store_pg_row	row;
	const char		*id;
	int			i, rc;

	for (i = 0; i < PQntuples(r); i++) {
		id = PQgetvalue(r, i, 0);
		if (store_pg_row_get(s, STORE_GRANT, id, &row, err) == -1)
			return -1;
		if (row.found)
			rc = store_pg_remove(s, STORE_GRANT, id, row.object,
			    reason, NULL, err);
		else
			rc = store_pg_grant_release(s, id, err);
		store_pg_row_clear(&row);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * What goes with a deleted endpoint (its grants) or service (its grants
 * and its pool).
 */
int
store_pg_cascade(struct store_pg *s, enum store_kind kind, const char *name,
    struct nsreg_error *err)
{
	const char	*v[1] = { name };
	PGresult	*r;
	int		 rc;

	if ((r = store_pg_run(s->wc, kind == STORE_ENDPOINT ?
	    PG_GRANTS_OF_ENDPOINT : PG_GRANTS_OF_SERVICE, 1, v, "list grants",
	    err)) == NULL)
		return -1;
	rc = store_pg_revoke_listed(s, r, store_lease_cascade_reason(kind),
	    err);
	PQclear(r);
	if (rc == -1)
		return -1;
	if (kind == STORE_SERVICE)
		return store_pg_pool_drop(s->wc, name, err);
	return 0;
}

/* Revoke endpoint's grants for service, a service it no longer offers. */
static int
store_pg_dropped_revoke(void *arg, const char *endpoint, const char *service,
    struct nsreg_error *err)
{
	struct store_pg	*s = arg;
	const char	*p[2] = { endpoint, service };
	PGresult	*r;
	int		 ret;

	if ((r = store_pg_run(s->wc, PG_GRANTS_OF_ENDPOINT_SERVICE, 2, p,
	    "list grants", err)) == NULL)
		return -1;
	ret = store_pg_revoke_listed(s, r, STORE_REASON_ENDPOINT_GONE, err);
	PQclear(r);
	return ret;
}

/*
 * An endpoint that no longer offers some of the services in the stored
 * JSON text old revokes its grants for them.
 */
int
store_pg_endpoint_dropped(struct store_pg *s, const char *name,
    const char *old, const json_t *now_offered, struct nsreg_error *err)
{
	return store_lease_dropped(name, old, now_offered, store_pg_parse,
	    store_pg_dropped_revoke, s, err);
}

/* NSREG_FAILED_PRECONDITION unless kid is the current signing key. */
static int
store_pg_key_current(struct store_pg_conn *c, const char *kid,
    struct nsreg_error *err)
{
	const char	*v[1] = { kid };
	int64_t		 x;
	int		 found;

	if (store_pg_one_int(c, PG_KEY_GET, 1, v, &x, &found, "read keys",
	    err) == -1)
		return -1;
	return store_lease_key_current(kid, found, err);
}

/* The record a grant was chosen from, still live at the revision read. */
static int
store_pg_grant_source(struct store_pg_conn *c, enum store_kind kind,
    const char *name, int64_t rev_read, int64_t now,
    struct nsreg_error *err)
{
	int64_t	rev, exp;
	int	found;

	if (store_pg_object_rev(c, kind, name, &found, &rev, &exp, err) == -1)
		return -1;
	return store_lease_source(kind, name, found && store_pg_live(exp,
	    now), rev, rev_read, err);
}

static int
store_pg_run_grant_create(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_grant	*g = op->grant;
	struct store_object	 tmp = *op->obj;
	struct store_pg_row	 row;
	struct store_pg_params	 p;
	int64_t			 slot = -1, lease = 0;
	int			 ret = -1;

	memset(&row, 0, sizeof(row));
	if (store_pg_grant_source(s->wc, STORE_SERVICE, g->service,
	    g->service_rev, op->now, op->err) == -1 ||
	    store_pg_grant_source(s->wc, STORE_ENDPOINT, g->endpoint,
	    g->endpoint_rev, op->now, op->err) == -1 ||
	    store_pg_key_current(s->wc, g->kid, op->err) == -1)
		goto done;
	if (store_pg_row_get(s, STORE_GRANT, tmp.name, &row, op->err) == -1)
		goto done;
	if (row.found && store_pg_live(row.expires_at, op->now)) {
		nsreg_error_set(op->err, NSREG_ALREADY_EXISTS, "id",
		    "grant %s already exists", tmp.name);
		goto done;
	}
	if (row.found && store_pg_remove(s, STORE_GRANT, tmp.name, row.object,
	    STORE_REASON_EXPIRED, NULL, op->err) == -1)
		goto done;
	if (g->pool != NULL) {
		/* A new lease's generation is the grant's revision. */
		if (store_lease_take(&store_pg_lease_rows, s->wc, g,
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
	if (store_pg_object_put(s, &tmp, PG_OBJECT_INSERT, STORE_ADDED,
	    &op->text, &op->text_len, op->err) == -1)
		goto done;
	p.v[0] = tmp.name;
	p.v[1] = g->service;
	p.v[2] = g->endpoint;
	p.v[3] = g->kid;
	if (slot >= 0) {
		store_pg_param_int(&p, 4, slot);
		store_pg_param_int(&p, 5, lease);
	} else
		p.v[4] = p.v[5] = NULL;
	store_pg_param_int(&p, 6, tmp.expires_at);
	if (store_pg_do(s->wc, PG_GRANT_INSERT, 7, p.v, "write grant",
	    op->err) == -1)
		goto done;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	op->count = slot;
	ret = 0;
done:
	store_pg_row_clear(&row);
	return ret;
}

static int
store_pg_run_grant_update(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_object	 tmp = *op->obj;
	struct store_pg_row	 row;
	struct store_pg_params	 p;
	const char		*v[1] = { tmp.name };
	PGresult		*r = NULL;
	int			 ret = -1;

	if (store_pg_row_get(s, STORE_GRANT, tmp.name, &row, op->err) == -1)
		return -1;
	if (store_lease_grant_check(tmp.name, row.found &&
	    store_pg_live(row.expires_at, op->now), row.revision,
	    op->expect_rev, op->err) == -1 ||
	    store_pg_key_current(s->wc, op->kid, op->err) == -1)
		goto done;
	tmp.revision = ++s->next_rev;
	tmp.created_at = row.created_at;
	tmp.updated_at = op->now;
	if (tmp.owner == NULL)
		tmp.owner = row.owner;
	if (store_pg_object_put(s, &tmp, PG_OBJECT_UPDATE, STORE_MODIFIED,
	    &op->text, &op->text_len, op->err) == -1)
		goto done;
	if ((r = store_pg_run(s->wc, PG_GRANT_GET, 1, v, "read grant",
	    op->err)) == NULL)
		goto done;
	if (PQntuples(r) != 1) {
		nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
		    "grant %s: its row is missing", tmp.name);
		goto done;
	}
	if (!PQgetisnull(r, 0, 1)) {
		p.v[0] = PQgetvalue(r, 0, 0);
		p.v[1] = PQgetvalue(r, 0, 1);
		p.v[2] = PQgetvalue(r, 0, 2);
		store_pg_param_int(&p, 3, tmp.expires_at);
		if (store_pg_do(s->wc, PG_LEASE_EXTEND, 4, p.v,
		    "extend lease", op->err) == -1)
			goto done;
	}
	p.v[0] = tmp.name;
	p.v[1] = op->kid;
	store_pg_param_int(&p, 2, tmp.expires_at);
	if (store_pg_do(s->wc, PG_GRANT_REFRESH, 3, p.v, "refresh grant",
	    op->err) == -1)
		goto done;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	if (op->obj->owner == NULL) {
		op->owner = row.owner;
		row.owner = NULL;
	}
	ret = 0;
done:
	PQclear(r);
	store_pg_row_clear(&row);
	return ret;
}

/* Make op->kid the signing key (NULL: none); retire the others. */
static int
store_pg_run_key_use(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_pg_params	 p;
	PGresult		*r;
	int			 i, ret = -1;

	if ((r = store_pg_run(s->wc, PG_KEY_CURRENT, 0, NULL, "read keys",
	    op->err)) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		if (op->kid != NULL && strcmp(PQgetvalue(r, i, 0),
		    op->kid) == 0)
			continue;
		p.v[0] = PQgetvalue(r, i, 0);
		store_pg_param_int(&p, 1, op->now);
		if (store_pg_do(s->wc, PG_KEY_RETIRE, 2, p.v, "retire key",
		    op->err) == -1)
			goto done;
	}
	if (op->kid != NULL) {
		p.v[0] = op->kid;
		p.v[1] = op->jwk;
		store_pg_param_int(&p, 2, op->now);
		if (store_pg_do(s->wc, PG_KEY_INSERT, 3, p.v, "write key",
		    op->err) == -1)
			goto done;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

/* Forget retired keys no grant needs any more. */
int
store_pg_run_keys_prune(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_pg_params	 p;

	store_pg_param_int(&p, 0, op->now);
	return store_pg_do(s->wc, PG_KEYS_PRUNE, 1, p.v, "prune keys",
	    op->err);
}

int
store_pg_grant_create(void *b, struct store_object *obj,
    struct store_grant *g, int64_t now, struct nsreg_error *err)
{
	struct store_pg_op	op = {
		.err = err,
		.now = now,
		.obj = obj,
		.grant = g,
	};

	if (store_pg_write_object(b, store_pg_run_grant_create, &op) == -1)
		return -1;
	g->block = op.count;
	return 0;
}

int
store_pg_grant_update(void *b, struct store_object *obj, const char *kid,
    int64_t expect_rev, int64_t now, struct nsreg_error *err)
{
	struct store_pg_op	op = {
		.err = err,
		.now = now,
		.obj = obj,
		.expect_rev = expect_rev,
		.kid = kid,
	};

	return store_pg_write_object(b, store_pg_run_grant_update, &op);
}

int
store_pg_grant_delete(void *b, const char *id, int64_t expect_rev,
    const char *reason, int64_t now, struct store_object *old,
    struct nsreg_error *err)
{
	struct store_pg_op	op = {
		.err = err,
		.now = now,
		.kind = STORE_GRANT,
		.name = id,
		.expect_rev = expect_rev,
		.want_old = old != NULL,
		.reason = store_reason(reason),
	};

	if (store_pg_write(b, store_pg_run_delete, &op, err) == -1) {
		store_object_clear(&op.old);
		return -1;
	}
	if (old != NULL)
		*old = op.old;
	return 0;
}

int
store_pg_grant_key_use(void *b, const char *kid, const char *jwk,
    int64_t now, struct nsreg_error *err)
{
	struct store_pg_op	op = {
		.err = err,
		.now = now,
		.kid = kid,
		.jwk = jwk,
	};

	return store_pg_write(b, store_pg_run_key_use, &op, err);
}

int
store_pg_grant_loads(void *b, int64_t now,
    void (*fn)(const char *, int64_t, void *), void *arg,
    struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_params	 p;
	PGresult		*r;
	int			 i;

	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	store_pg_param_int(&p, 0, now);
	r = store_pg_run(c, PG_GRANT_LOADS, 1, p.v, "grant loads", err);
	store_pg_conn_put(s, c);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++)
		fn(PQgetvalue(r, i, 0), store_pg_int(r, i, 1), arg);
	PQclear(r);
	return 0;
}

int
store_pg_ipam_usage(void *b, const char *service, int64_t now, char *pool,
    size_t len, int *client_len, int64_t *live, struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	int			 ret = -1;

	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	/* One snapshot for the pool and its leases. */
	if (store_pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ "
	    "READ ONLY", "ipam usage", err) == -1 ||
	    store_lease_usage(&store_pg_lease_rows, c, service, now, pool, len,
	    client_len, live, err) == -1)
		goto done;
	ret = store_pg_exec(c, "COMMIT", "ipam usage", err);
done:
	store_pg_conn_put(s, c);
	return ret;
}

int
store_pg_grant_keys(void *b, int64_t now, json_t **keys,
    struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_params	 p;
	PGresult		*r = NULL;
	json_t			*list = NULL, *k, *jwk;
	int64_t			 t[3];
	int			 null[3];
	int			 i, j, ret = -1;

	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	if ((list = json_array()) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	store_pg_param_int(&p, 0, now);
	if ((r = store_pg_run(c, PG_KEYS_LIST, 1, p.v, "grant keys",
	    err)) == NULL)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		jwk = store_pg_parse(PQgetvalue(r, i, 1),
		    (size_t)PQgetlength(r, i, 1));
		for (j = 0; j < 3; j++) {
			null[j] = PQgetisnull(r, i, j + 2);
			t[j] = store_pg_int(r, i, j + 2);
		}
		k = store_lease_key_steal(PQgetvalue(r, i, 0), jwk, t, null);
		if (k == NULL || json_array_append_new(list, k) == -1) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "grant keys: unreadable key");
			goto done;
		}
	}
	*keys = list;
	list = NULL;
	ret = 0;
done:
	PQclear(r);
	json_decref(list);
	store_pg_conn_put(s, c);
	return ret;
}
