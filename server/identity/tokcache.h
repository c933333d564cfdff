/*
 * tokcache.h - the cache of verified credentials that JWT-SVIDs
 * (jwtsvid.c) and X.509-SVID chains (x509svid.c) share.
 *
 * A credential is keyed by a SHA-256 digest its verifier computes over
 * everything the verdict depends on (the token and audience, or the
 * chain's DER and the purpose); an entry holds the principal it gave,
 * until when it may be used, and the serial of the bundle that verified
 * it, so that a bundle replaced by a reload invalidates it.  Sets of 16
 * entries, 64 striped locks: any thread may use a cache.
 */
#ifndef NSREG_TOKCACHE_H
#define NSREG_TOKCACHE_H

#include <stddef.h>
#include <stdint.h>

#define TOKCACHE_DIGEST_LEN	32	/* SHA-256 */
#define TOKCACHE_DEFAULT	4096	/* verified credentials kept */

struct tokcache;
struct principal;
struct trust;

/*
 * A new cache with room for max verified credentials (0 disables
 * caching): 2 * max slots rounded up to a power of two times 16, in sets
 * of 16, so max credentials in use almost never evict each other; about
 * 100 bytes a slot plus the claims.  NULL when memory runs out.
 */
struct tokcache	*tokcache_new(size_t max);

/* Free the cache.  No other thread may be using it.  NULL is ignored. */
void		 tokcache_free(struct tokcache *c);

/* Forget every cached credential (e.g. when jwt-audience changed). */
void		 tokcache_flush(struct tokcache *c);

/* Statistics since creation: lookups that hit, lookups that missed. */
void		 tokcache_stats(struct tokcache *c, uint64_t *hits,
		    uint64_t *misses);

/*
 * Fill p (anonymous before) from the entry for digest when there is one
 * usable at now_ms, and *serial with the serial of the bundle that
 * verified it (the caller checks it is still current).  1 hit, 0 miss
 * (c may be NULL).  Not counted: see tokcache_get.
 */
int		 tokcache_lookup(struct tokcache *c,
		    const unsigned char *digest, int64_t now_ms,
		    struct principal *p, uint64_t *serial);

/*
 * tokcache_lookup, taken only while trust still holds the bundle that
 * verified the credential (else p is cleared again), and counted as a
 * hit or a miss (a NULL digest, for a credential that could not be
 * keyed, counts a miss).  1 hit, 0 miss.
 */
int		 tokcache_get(struct tokcache *c, struct trust *trust,
		    const unsigned char *digest, int64_t now_ms,
		    struct principal *p);

/* Remember p for digest until until_ms (a copy: claims counted); a
 * credential already expired is not kept.  c may be NULL. */
void		 tokcache_put(struct tokcache *c, const unsigned char *digest,
		    int64_t now_ms, int64_t until_ms, const struct principal *p,
		    uint64_t serial);

#endif
