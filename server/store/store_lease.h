/*
 * store_lease.h - the part of vL3 address leasing that is not SQL, for
 * every storage backend (DESIGN section 4, "IPAM"): which block a new
 * lease takes, and whether a service write keeps its pool.  A backend
 * reads and writes the rows (pools, leases) and asks these functions
 * what to do with them.  Pure functions: no allocation, no I/O.
 *
 * Blocks are numbered as in ipam.h.  A pool remembers low, a block below
 * which every usable block is leased; a new lease takes the lowest free
 * usable block at or above it: the backend feeds the blocks leased at
 * or above low, in ascending order, to a scan until the scan says it
 * has found a gap.
 */
#ifndef NSREG_STORE_LEASE_H
#define NSREG_STORE_LEASE_H

#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "store.h"

struct store_lease_scan {
	int64_t		next;		/* lowest block not known leased */
	int64_t		last;		/* last usable block */
	int		full;		/* every block up to last is */
};

/* Start a scan for g's pool whose stored low is low. */
void	store_lease_scan_start(struct store_lease_scan *sc,
	    const struct store_grant *g, int64_t low);
/*
 * Feed the next leased block (ascending, at or above where the scan
 * started).  1 when the scan has found its block (feed no more), 0 to
 * go on.
 */
int	store_lease_scan_feed(struct store_lease_scan *sc, int64_t leased);
/*
 * The lowest free usable block once every leased block was fed (or the
 * feed said stop) into *block.  0, or -1 with NSREG_RESOURCE_EXHAUSTED
 * when every usable block of g's pool is leased.
 */
int	store_lease_scan_end(const struct store_lease_scan *sc,
	    const struct store_grant *g, int64_t *block,
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
