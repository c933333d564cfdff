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

#endif
