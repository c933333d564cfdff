/*
 * store_lease.c - which block a new vL3 lease takes and whether a
 * service write keeps its pool, for every storage backend.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store_lease.h"

int
store_lease_pick(const struct store_grant *g, int has_freed, int64_t freed,
    int has_top, int64_t top, int64_t *block, struct nsreg_error *err)
{
	int64_t	next = -1;	/* after the highest leased; -1: none */

	*block = -1;
	if (!has_top || top < g->first)
		next = g->first;
	else if (top < g->last)
		next = top + 1;	/* never past INT64_MAX: top < last */
	if (has_freed && freed >= g->first && freed <= g->last &&
	    (next == -1 || freed < next))
		next = freed;
	if (next == -1 || next > g->last)
		return nsreg_error_set(err, NSREG_RESOURCE_EXHAUSTED, "vl3",
		    "the vL3 pool %s of service %s is exhausted: all %llu "
		    "usable /%d blocks are leased", g->pool, g->service,
		    (unsigned long long)(g->last - g->first) + 1,
		    g->client_len);
	*block = next;
	return 0;
}

int
store_lease_pool_same(const json_t *doc, const char *prefix, int client_len)
{
	const json_t	*vl3 = json_object_get(doc, "vl3");
	const char	*p;

	p = json_string_value(json_object_get(vl3, "prefix"));
	return p != NULL && strcmp(p, prefix) == 0 &&
	    json_integer_value(json_object_get(vl3, "client_prefix_len")) ==
	    client_len;
}

int
store_lease_pool_busy(const char *service, const char *prefix,
    int client_len, int64_t live, struct nsreg_error *err)
{
	return nsreg_error_set(err, NSREG_CONFLICT, "vl3",
	    "service %s: vl3 cannot change from %s (client_prefix_len %d) "
	    "while %lld live grant%s hold%s addresses from it; revoke %s "
	    "(DELETE /v1/grants/{id}) or wait until %s expire%s", service,
	    prefix, client_len, (long long)live, live == 1 ? "" : "s",
	    live == 1 ? "s" : "", live == 1 ? "it" : "them",
	    live == 1 ? "it" : "they", live == 1 ? "s" : "");
}

int
store_lease_pool_moved(const struct store_grant *g, const char *prefix,
    int client_len, int64_t live, struct nsreg_error *err)
{
	return nsreg_error_set(err, NSREG_CONFLICT, "vl3",
	    "service %s: %lld live grants hold addresses of %s "
	    "(client_prefix_len %d), not of %s", g->service, (long long)live,
	    prefix, client_len, g->pool);
}

int
store_lease_pool_check(const struct store_lease_rows *rows, void *conn,
    const struct store_object *obj, int64_t now, struct nsreg_error *err)
{
	struct store_lease_pool	p;
	int64_t			live;

	if (rows->pool_get(conn, obj->name, &p, err) == -1)
		return -1;
	if (!p.found || store_lease_pool_same(obj->doc, p.prefix,
	    p.client_len))
		return 0;
	if (rows->leases_live(conn, obj->name, now, &live, err) == -1)
		return -1;
	if (live > 0)
		return store_lease_pool_busy(obj->name, p.prefix,
		    p.client_len, live, err);
	return rows->pool_drop(conn, obj->name, err);
}

int
store_lease_take(const struct store_lease_rows *rows, void *conn,
    const struct store_grant *g, const char *principal, int64_t gen,
    int64_t expires, int64_t now, int64_t *block, int64_t *lease,
    struct nsreg_error *err)
{
	struct store_lease_pool	p;
	int64_t			live, cand, freed, top;
	int			has_freed, has_top;

	/*
	 * The block the principal holds already, one holder more.  A
	 * service's leases are always of its current pool: a vl3 change
	 * drops them (store_lease_pool_check).
	 */
	if (rows->lease_hold(conn, g->service, principal, expires, block,
	    lease, err) == -1)
		return -1;
	if (*block >= 0)
		return 0;

	/* A new lease: the pool, as the grant was made from it. */
	if (rows->pool_get(conn, g->service, &p, err) == -1)
		return -1;
	if (p.found && (strcmp(p.prefix, g->pool) != 0 ||
	    p.client_len != g->client_len)) {
		if (rows->leases_live(conn, g->service, now, &live, err) == -1)
			return -1;
		if (live > 0)
			return store_lease_pool_moved(g, p.prefix,
			    p.client_len, live, err);
		if (rows->pool_drop(conn, g->service, err) == -1)
			return -1;
		p.found = 0;
	}
	if (!p.found && rows->pool_put(conn, g, err) == -1)
		return -1;

	/*
	 * The lowest free block: the lowest returned one or the one after
	 * the highest leased, whichever is lower.
	 */
	if (rows->lease_bounds(conn, g->service, &has_freed, &freed,
	    &has_top, &top, err) == -1)
		return -1;
	if (store_lease_pick(g, has_freed, freed, has_top, top, &cand,
	    err) == -1)
		return -1;
	if (rows->lease_insert(conn, g->service, cand, principal, gen,
	    expires, has_freed, err) == -1)
		return -1;
	*block = cand;
	*lease = gen;
	return 0;
}

int
store_lease_usage(const struct store_lease_rows *rows, void *conn,
    const char *service, int64_t now, char *pool, size_t len,
    int *client_len, int64_t *live, struct nsreg_error *err)
{
	struct store_lease_pool	p;

	if (rows->pool_get(conn, service, &p, err) == -1)
		return -1;
	if (!p.found)
		return 0;
	if (rows->leases_live(conn, service, now, live, err) == -1)
		return -1;
	snprintf(pool, len, "%s", p.prefix);
	*client_len = p.client_len;
	return 0;
}

const char *
store_lease_cascade_reason(enum store_kind kind)
{
	return kind == STORE_ENDPOINT ? STORE_REASON_ENDPOINT_GONE :
	    STORE_REASON_SERVICE_GONE;
}

int
store_lease_dropped(const char *endpoint, const char *old,
    const json_t *now_offered, json_t *(*parse)(const char *, size_t),
    int (*revoke)(void *, const char *, const char *, struct nsreg_error *),
    void *arg, struct nsreg_error *err)
{
	const json_t	*v, *w;
	json_t		*was;
	size_t		 i, j;
	int		 kept, ret = 0;

	if (old == NULL)
		return 0;
	if ((was = parse(old, strlen(old))) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "endpoint %s: unreadable stored services", endpoint);
	json_array_foreach(was, i, v) {
		kept = 0;
		json_array_foreach(now_offered, j, w)
			if (json_equal(v, w)) {
				kept = 1;
				break;
			}
		if (kept || !json_is_string(v))
			continue;
		if ((ret = revoke(arg, endpoint, json_string_value(v),
		    err)) == -1)
			break;
	}
	json_decref(was);
	return ret;
}

int
store_lease_source(enum store_kind kind, const char *name, int live,
    int64_t rev, int64_t rev_read, struct nsreg_error *err)
{
	if (!live)
		return nsreg_error_set(err, NSREG_NOT_FOUND,
		    store_kind_name(kind), "%s %s not found",
		    store_kind_name(kind), name);
	if (rev != rev_read)
		return nsreg_error_set(err, NSREG_FAILED_PRECONDITION,
		    store_kind_name(kind), "%s %s changed while the grant was "
		    "made", store_kind_name(kind), name);
	return 0;
}

int
store_lease_grant_check(const char *name, int live, int64_t rev,
    int64_t expect_rev, struct nsreg_error *err)
{
	if (!live)
		return nsreg_error_set(err, NSREG_NOT_FOUND, "id",
		    "grant %s not found", name);
	if (expect_rev != 0 && rev != expect_rev)
		return nsreg_error_set(err, NSREG_FAILED_PRECONDITION,
		    "revision", "grant %s is at revision %lld, not %lld",
		    name, (long long)rev, (long long)expect_rev);
	return 0;
}

int
store_lease_key_current(const char *kid, int found, struct nsreg_error *err)
{
	/* found 2: a row whose retired_at is NULL. */
	if (found != 2)
		return nsreg_error_set(err, NSREG_FAILED_PRECONDITION, "kid",
		    "grant key %s is not the current signing key", kid);
	return 0;
}

json_t *
store_lease_key_steal(const char *kid, json_t *jwk, const int64_t t[3],
    const int null[3])
{
	static const char *const	 names[3] = {
		"created_at", "retired_at", "expires_at"
	};
	json_t				*k;
	int				 i;

	k = json_pack("{s:s, s:o}", "kid", kid, "jwk", jwk);
	for (i = 0; k != NULL && i < 3; i++)
		json_object_set_new(k, names[i], null[i] ? json_null() :
		    json_integer(t[i]));
	return k;
}
