/*
 * store_lease.h - the part of vL3 address leasing that is not SQL, for
 * every storage backend (DESIGN section 4, "IPAM"): which block a new
 * lease takes, and whether a service write keeps its pool.  A backend
 * reads and writes the rows (pools, leases) and asks these functions
 * what to do with them.  Pure functions: no allocation, no I/O.
 *
 * Blocks are numbered as in ipam.h.  A backend keeps, beside the leases,
 * the blocks returned to each pool (when a lease is released; taken out
 * when leased again).  Every free block below the highest leased one is
 * a returned block and every returned block is free, so the lowest free
 * block is the lower of the lowest returned block and the block after
 * the highest leased: two index probes, however large the pool and
 * however many its leases.
 */
#ifndef NSREG_STORE_LEASE_H
#define NSREG_STORE_LEASE_H

#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "store.h"

/*
 * The block a new lease of g's pool takes into *block: the lower of
 * freed, the lowest returned block (has_freed: there is one), and the
 * block after top, the highest leased one (has_top: there is one; else
 * the pool's first usable block).  0, or -1 with
 * NSREG_RESOURCE_EXHAUSTED when every usable block of the pool is
 * leased.
 */
int	store_lease_pick(const struct store_grant *g, int has_freed,
	    int64_t freed, int has_top, int64_t top, int64_t *block,
	    struct nsreg_error *err);

/*
 * 1 when the service document doc (its vl3 member, maybe absent) names
 * the pool stored as prefix and client_len, 0 when a write of doc
 * changes or removes the pool.
 */
int	store_lease_pool_same(const json_t *doc, const char *prefix,
	    int client_len);
/*
 * The error of a vl3 change of service refused because live (> 0) live
 * grants hold addresses of its pool prefix/client_len: NSREG_CONFLICT on
 * "vl3".  Returns -1.
 */
int	store_lease_pool_busy(const char *service, const char *prefix,
	    int client_len, int64_t live, struct nsreg_error *err);
/*
 * The error of a grant made from the pool g->pool while live (> 0) live
 * grants hold addresses of the stored pool prefix/client_len (the
 * service changed its vl3 meanwhile).  Returns -1.
 */
int	store_lease_pool_moved(const struct store_grant *g, const char *prefix,
	    int client_len, int64_t live, struct nsreg_error *err);

/* A service's pool as a backend stored it: found 0 when it has none. */
struct store_lease_pool {
	int		 found;
	char		 prefix[128];
	int		 client_len;
};

/*
 * The rows of pools and leases as one backend reads and writes them, on
 * the connection conn (borrowed; the backend's own type) and inside the
 * caller's transaction.  Each returns 0, or -1 with err.  A backend has
 * one const table of these, with designated initializers.
 */
struct store_lease_rows {
	/* service's pool into *p (p->found 0: none). */
	int	(*pool_get)(void *conn, const char *service,
		    struct store_lease_pool *p, struct nsreg_error *err);
	/* Store g's pool (g->pool, g->client_len, g->first) for g->service. */
	int	(*pool_put)(void *conn, const struct store_grant *g,
		    struct nsreg_error *err);
	/* Forget service's pool, its leases and its returned blocks. */
	int	(*pool_drop)(void *conn, const char *service,
		    struct nsreg_error *err);
	/* How many leases of service's pool are live at now. */
	int	(*leases_live)(void *conn, const char *service, int64_t now,
		    int64_t *live, struct nsreg_error *err);
	/*
	 * The block principal holds in service's pool, one holder more and
	 * live until at least expires: *block and its generation *lease;
	 * *block -1 when it holds none.
	 */
	int	(*lease_hold)(void *conn, const char *service,
		    const char *principal, int64_t expires, int64_t *block,
		    int64_t *lease, struct nsreg_error *err);
	/*
	 * The lowest returned block (*has_freed 1: there is one) and the
	 * highest leased one (*has_top 1: there is one) of service's pool.
	 */
	int	(*lease_bounds)(void *conn, const char *service,
		    int *has_freed, int64_t *freed, int *has_top,
		    int64_t *top, struct nsreg_error *err);
	/*
	 * A new lease of block to principal, generation gen, until expires;
	 * taken, when was_freed, out of the returned blocks.
	 */
	int	(*lease_insert)(void *conn, const char *service, int64_t block,
		    const char *principal, int64_t gen, int64_t expires,
		    int was_freed, struct nsreg_error *err);
};

/*
 * A service write of obj (kind STORE_SERVICE) keeps the service's pool
 * when its vl3 stays the same; another vl3 (or none) is refused while
 * live grants hold addresses of the pool (NSREG_CONFLICT), and otherwise
 * drops it.  0, or -1 with err.
 */
int	store_lease_pool_check(const struct store_lease_rows *rows,
	    void *conn, const struct store_object *obj, int64_t now,
	    struct nsreg_error *err);

/*
 * Lease principal a block of g's pool: the one it holds (one holder
 * more), else the lowest free usable one (a new lease of generation
 * gen, until expires).  The pool is stored as the grant was made from
 * it; a pool the service has changed meanwhile is refused while its
 * leases live, and otherwise replaced.  *block and *lease, 0; or -1 with
 * err.
 */
int	store_lease_take(const struct store_lease_rows *rows, void *conn,
	    const struct store_grant *g, const char *principal, int64_t gen,
	    int64_t expires, int64_t now, int64_t *block, int64_t *lease,
	    struct nsreg_error *err);

/*
 * service's pool into pool (len bytes) and *client_len, and its live
 * leases at now into *live; all three untouched when it has none.
 * 0, or -1 with err.
 */
int	store_lease_usage(const struct store_lease_rows *rows, void *conn,
	    const char *service, int64_t now, char *pool, size_t len,
	    int *client_len, int64_t *live, struct nsreg_error *err);

/*
 * The reason recorded for the grants revoked when an object of kind
 * (STORE_ENDPOINT or STORE_SERVICE) is deleted.  A static string.
 */
const char	*store_lease_cascade_reason(enum store_kind kind);

/*
 * An endpoint write that drops services: old is the JSON text of the
 * services endpoint offered as stored (NULL: none), read with the
 * backend's parse; revoke(arg, endpoint, service, err) revokes the
 * endpoint's grants for each service name that now_offered (borrowed)
 * no longer holds, stopping at the first that returns -1.  0, or -1 with
 * err (NSREG_INTERNAL when old is unreadable).
 */
int	store_lease_dropped(const char *endpoint, const char *old,
	    const json_t *now_offered, json_t *(*parse)(const char *, size_t),
	    int (*revoke)(void *, const char *, const char *,
	    struct nsreg_error *), void *arg, struct nsreg_error *err);

/*
 * Whether the record of kind and name a grant was made from is as the
 * grant read it: live (found and not expired) and at revision rev_read
 * (rev is the stored one).  0; or -1 with NSREG_NOT_FOUND or
 * NSREG_FAILED_PRECONDITION.
 */
int	store_lease_source(enum store_kind kind, const char *name, int live,
	    int64_t rev, int64_t rev_read, struct nsreg_error *err);

/*
 * Whether grant name may be refreshed: live (found and not expired) and,
 * when expect_rev is not 0, at revision expect_rev (rev is the stored
 * one).  0; or -1 with NSREG_NOT_FOUND or NSREG_FAILED_PRECONDITION.
 */
int	store_lease_grant_check(const char *name, int live, int64_t rev,
	    int64_t expect_rev, struct nsreg_error *err);

/*
 * Whether kid is the current signing key, from the read of its row:
 * found 0 no row, 1 a retired key, 2 a row without retired_at.  0, or -1
 * with NSREG_FAILED_PRECONDITION.
 */
int	store_lease_key_current(const char *kid, int found,
	    struct nsreg_error *err);

/*
 * A new grant key entry {kid, jwk, created_at, retired_at, expires_at}:
 * jwk is stolen (NULL makes the entry fail), t[] the three times in
 * that order, null[i] 1 where t[i] is NULL.  New reference, or NULL.
 */
json_t	*store_lease_key_steal(const char *kid, json_t *jwk,
	    const int64_t t[3], const int null[3]);

#endif
