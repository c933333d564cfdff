/*
 * store_svcidx.h - endpoints by the services they offer, in memory, for
 * any storage backend (store_sqlite_*.c today).
 */
#ifndef NSREG_STORE_SVCIDX_H
#define NSREG_STORE_SVCIDX_H

#include <stddef.h>
#include <stdint.h>

/*
 * An in-memory index of endpoints by the services they offer, for
 * backends whose own index would cost more than it saves: each service
 * maps to its endpoints sorted by name, each endpoint to where and at
 * which revision the backend stores it.  Not locked: the backend
 * serialises writers against readers.
 */
struct store_svcidx;

struct store_svcidx_hit {
	const char	*name;		/* owned by the hit array */
	int64_t		 row;
	int64_t		 revision;
	int64_t		 expires_at;
};

struct store_svcidx *store_svcidx_new(void);
void		 store_svcidx_free(struct store_svcidx *idx);
/* Record that name offers service.  0, or -1 when out of memory. */
int		 store_svcidx_add(struct store_svcidx *idx, const char *service,
		    const char *name);
void		 store_svcidx_remove(struct store_svcidx *idx,
		    const char *service, const char *name);
/* Where and at which revision name (offering some service) is stored. */
void		 store_svcidx_set(struct store_svcidx *idx, const char *name,
		    int64_t row, int64_t revision, int64_t expires_at);
/*
 * At most max (0: all) of the endpoints offering every one of services,
 * whose names sort after after (NULL: from the first), in name order, as
 * a new array ending with a NULL name (store_svcidx_hits_free); *np is
 * their number.  NULL when out of memory.
 */
struct store_svcidx_hit *store_svcidx_find(struct store_svcidx *idx,
		    const char **services, size_t nservices, const char *after,
		    size_t max, size_t *np);
void		 store_svcidx_hits_free(struct store_svcidx_hit *v);

#endif
