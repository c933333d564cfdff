/*
 * store_textcache.h - rendered object texts by backend row, in memory,
 * for any storage backend (store_sqlite_*.c today).
 */
#ifndef NSREG_STORE_TEXTCACHE_H
#define NSREG_STORE_TEXTCACHE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A bounded cache of rendered texts by backend row, each good for one
 * revision, least recently used out first.  Locked inside: any thread.
 */
struct store_textcache;

struct store_textcache *store_textcache_new(size_t max_bytes);
void		 store_textcache_free(struct store_textcache *tc);
/*
 * Copy the text of row at revision into *buf (a malloc'd buffer of *cap
 * bytes, grown as needed) with a NUL after it; *len its length.  1 when
 * cached, 0 when not.
 */
int		 store_textcache_get(struct store_textcache *tc, int64_t row,
		    int64_t revision, char **buf, size_t *cap, size_t *len);
/* Remember the text of row at revision (best effort). */
void		 store_textcache_put(struct store_textcache *tc, int64_t row,
		    int64_t revision, const char *text, size_t len);

#endif
