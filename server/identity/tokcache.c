/*
 * tokcache.c - the cache of verified credentials (tokcache.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "principal.h"
#include "spiffe.h"
#include "tokcache.h"
#include "trust.h"

#define TOKCACHE_WAYS		16	/* entries per cache set */
#define TOKCACHE_STRIPES	64	/* locks */

/* A verified credential: what its principal needs, and until when. */
struct tokcache_entry {
	unsigned char	 digest[TOKCACHE_DIGEST_LEN];
	int		 used;
	int64_t		 until_ms;	/* unusable from then */
	uint64_t	 serial;	/* of the bundle that verified it */
	enum principal_auth auth;
	char		*id;		/* normalised SPIFFE ID */
	size_t		 td_len;
	size_t		 path_off;
	int64_t		 expires_at;
	json_t		*claims;
};

struct tokcache {
	size_t			 nsets;		/* a power of two, or 0 */
	struct tokcache_entry	*entries;	/* nsets * TOKCACHE_WAYS */
	pthread_mutex_t		 locks[TOKCACHE_STRIPES];
	uint64_t		 hits;		/* atomic */
	uint64_t		 misses;	/* atomic */
};

struct tokcache *
tokcache_new(size_t max)
{
	struct tokcache	*c;
	size_t		 sets = 0, i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (max > 0) {
		/*
		 * Twice the slots asked for, so that max credentials hashed
		 * into sets of 16 almost never overflow one.
		 */
		sets = 1;
		while (sets * TOKCACHE_WAYS < 2 * max &&
		    sets < ((size_t)1 << 24))
			sets <<= 1;
		c->entries = calloc(sets * TOKCACHE_WAYS, sizeof(*c->entries));
		if (c->entries == NULL) {
			free(c);
			return NULL;
		}
	}
	c->nsets = sets;
	for (i = 0; i < TOKCACHE_STRIPES; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	return c;
}

static void
tokcache_entry_clear(struct tokcache_entry *e)
{
	free(e->id);
	json_decref(e->claims);
	memset(e, 0, sizeof(*e));
}

void
tokcache_flush(struct tokcache *c)
{
	size_t	s, w;

	if (c == NULL)
		return;
	for (s = 0; s < c->nsets; s++) {
		pthread_mutex_lock(&c->locks[s % TOKCACHE_STRIPES]);
		for (w = 0; w < TOKCACHE_WAYS; w++)
			tokcache_entry_clear(&c->entries[s * TOKCACHE_WAYS +
			    w]);
		pthread_mutex_unlock(&c->locks[s % TOKCACHE_STRIPES]);
	}
}

void
tokcache_free(struct tokcache *c)
{
	size_t	i;

	if (c == NULL)
		return;
	tokcache_flush(c);
	for (i = 0; i < TOKCACHE_STRIPES; i++)
		pthread_mutex_destroy(&c->locks[i]);
	free(c->entries);
	free(c);
}

void
tokcache_stats(struct tokcache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = c == NULL ? 0 : __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
	*misses = c == NULL ? 0 :
	    __atomic_load_n(&c->misses, __ATOMIC_RELAXED);
}

static size_t
tokcache_set(const struct tokcache *c, const unsigned char *digest)
{
	uint64_t	h;

	memcpy(&h, digest, sizeof(h));
	return (size_t)h & (c->nsets - 1);
}

int
tokcache_lookup(struct tokcache *c, const unsigned char *digest,
    int64_t now_ms, struct principal *p, uint64_t *serial)
{
	struct tokcache_entry	*e;
	size_t			 set, w;
	int			 hit = 0;

	if (c == NULL || c->nsets == 0)
		return 0;
	set = tokcache_set(c, digest);
	pthread_mutex_lock(&c->locks[set % TOKCACHE_STRIPES]);
	for (w = 0; w < TOKCACHE_WAYS; w++) {
		e = &c->entries[set * TOKCACHE_WAYS + w];
		if (!e->used ||
		    memcmp(e->digest, digest, TOKCACHE_DIGEST_LEN) != 0)
			continue;
		if (now_ms >= e->until_ms) {
			tokcache_entry_clear(e);
			break;
		}
		p->auth = e->auth;
		snprintf(p->id, sizeof(p->id), "%s", e->id);
		memcpy(p->trust_domain, e->id + SPIFFE_SCHEME_LEN, e->td_len);
		p->trust_domain[e->td_len] = '\0';
		p->path_off = e->path_off;
		p->expires_at = e->expires_at;
		p->claims = json_incref(e->claims);
		*serial = e->serial;
		hit = 1;
		break;
	}
	pthread_mutex_unlock(&c->locks[set % TOKCACHE_STRIPES]);
	return hit;
}

int
tokcache_get(struct tokcache *c, struct trust *trust,
    const unsigned char *digest, int64_t now_ms, struct principal *p)
{
	uint64_t	serial = 0;
	int		hit = 0;

	if (digest != NULL && tokcache_lookup(c, digest, now_ms, p, &serial)) {
		/* Only while the bundle that verified it is still current. */
		if (trust_serial(trust, p->trust_domain) == serial)
			hit = 1;
		else
			principal_clear(p);
	}
	if (c != NULL)
		__atomic_add_fetch(hit ? &c->hits : &c->misses, 1,
		    __ATOMIC_RELAXED);
	return hit;
}

void
tokcache_put(struct tokcache *c, const unsigned char *digest,
    int64_t now_ms, int64_t until_ms, const struct principal *p,
    uint64_t serial)
{
	struct tokcache_entry	*e, *victim = NULL;
	size_t			 set, w;
	char			*id;

	if (c == NULL || c->nsets == 0 || until_ms <= now_ms)
		return;
	if ((id = strdup(p->id)) == NULL)
		return;
	set = tokcache_set(c, digest);
	pthread_mutex_lock(&c->locks[set % TOKCACHE_STRIPES]);
	/* The same credential, a free way, an expired one, else the one
	 * that expires first (it would leave first anyway). */
	for (w = 0; w < TOKCACHE_WAYS; w++) {
		e = &c->entries[set * TOKCACHE_WAYS + w];
		if (e->used &&
		    memcmp(e->digest, digest, TOKCACHE_DIGEST_LEN) == 0) {
			victim = e;
			break;
		}
		if (!e->used || now_ms >= e->until_ms) {
			if (victim == NULL || victim->used)
				victim = e;
		} else if (victim == NULL ||
		    (victim->used && e->until_ms < victim->until_ms))
			victim = e;
	}
	tokcache_entry_clear(victim);
	memcpy(victim->digest, digest, TOKCACHE_DIGEST_LEN);
	victim->used = 1;
	victim->until_ms = until_ms;
	victim->serial = serial;
	victim->auth = p->auth;
	victim->id = id;
	victim->td_len = strlen(p->trust_domain);
	victim->path_off = p->path_off;
	victim->expires_at = p->expires_at;
	victim->claims = json_incref(p->claims);
	pthread_mutex_unlock(&c->locks[set % TOKCACHE_STRIPES]);
}
