/*
 * ipam.h - vL3 address pools (DESIGN section 4, "IPAM").
 *
 * A service's vl3.prefix is cut into client blocks of client_prefix_len
 * bits, numbered from 0 (the block at the prefix's first address).  A
 * grant leases one block; the store keeps which blocks are leased, to
 * whom and until when (store_grant_create in store.h), and this module
 * turns block numbers into addresses and back.  Pure functions: no
 * allocation, no I/O.
 *
 * Blocks that are never leased:
 *   - IPv4 prefixes shorter than /31: the first block (it holds the
 *     network address) and the last block (it holds the broadcast
 *     address).  /31 prefixes use both addresses (RFC 3021).
 *   - IPv6 prefixes shorter than /127: the first block (it holds the
 *     Subnet-Router anycast address, RFC 4291 section 2.6.1).  IPv6 has
 *     no broadcast address.
 * A pool whose usable range is empty is refused where the service is
 * written.
 *
 * Pools have at most 2^IPAM_BLOCK_BITS_MAX blocks (a /48 of /128
 * clients; the usual /64 of /128 clients is well inside).  Block numbers
 * are int64: a pool of 2^63 blocks or more has last = INT64_MAX, and its
 * blocks above are never leased.  No store holds the 2^63 - 1 live
 * leases that lowest-free-first would need to get there, so this costs
 * no address a grant could ever get.
 */
#ifndef NSREG_IPAM_H
#define NSREG_IPAM_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" and a NUL. */
#define IPAM_TEXT_MAX	52

/* Client blocks a pool may have at most: 2^80 (a /48 of /128s). */
#define IPAM_BLOCK_BITS_MAX	80

struct ipam_pool {
	int		family;		/* 4 or 6 */
	unsigned char	base[16];	/* network address (4 or 16 bytes) */
	int		prefix_len;
	int		client_len;	/* client_prefix_len */
	int64_t		first;		/* first usable block */
	int64_t		last;		/* last usable block (< first: none) */
	char		prefix[IPAM_TEXT_MAX];	/* canonical "10.60.0.0/16" */
};

/*
 * Describe the pool of prefix ("10.60.0.0/16", "fd00::/64"; no host
 * bits) cut into /client_len blocks (from the prefix length to 32 or 128,
 * at most 2^IPAM_BLOCK_BITS_MAX blocks).  Returns 0, or -1 with
 * NSREG_INVALID_ARGUMENT naming field.
 */
int	ipam_pool_init(struct ipam_pool *p, const char *prefix,
	    int client_len, const char *field, struct nsreg_error *err);

/* Usable blocks, at most INT64_MAX (0 when none). */
int64_t	ipam_pool_size(const struct ipam_pool *p);

/*
 * The address of block as "10.60.0.7/32" (the block's first address and
 * client_len) into buf of len bytes (IPAM_TEXT_MAX is enough).  Returns
 * 0, or -1 when block is outside the prefix or buf is too small.
 */
int	ipam_block_address(const struct ipam_pool *p, int64_t block,
	    char *buf, size_t len);

/*
 * The block of an address text "10.60.0.7/32" (the length must be
 * client_len and the address the block's first).  Returns 0, or -1 when
 * it is not one of the pool's blocks (or one above INT64_MAX).
 */
int	ipam_address_block(const struct ipam_pool *p, const char *addr,
	    int64_t *block);

#endif
