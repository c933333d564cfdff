/*
 * hashmap.h - a small map from strings to pointers, for the tables the
 * daemon keeps in memory (admission's records, the grants per endpoint,
 * the store's service index).  Open addressing with linear probing over
 * the 64-bit FNV-1a hash, at most half full, deleting by shifting back
 * (no tombstones).
 *
 * Keys are borrowed: a key must stay valid and unchanged while it is in
 * the map; point it into the value.  Values are the caller's.  The order
 * of iteration is the table's and means nothing; nothing may depend on
 * it or on a hash value.  Not thread-safe: the caller locks.
 */
#ifndef NSREG_HASHMAP_H
#define NSREG_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

struct hashmap;

/* 64-bit FNV-1a of s (offset basis 14695981039346656037). */
uint64_t	 hashmap_hash(const char *s);

/* An empty map; NULL when memory runs out. */
struct hashmap	*hashmap_new(void);

/* Free the map (not the keys or values).  NULL is fine. */
void		 hashmap_free(struct hashmap *m);

/* Entries in the map. */
size_t		 hashmap_count(const struct hashmap *m);

/* The value of key, or NULL when key is absent. */
void		*hashmap_get(const struct hashmap *m, const char *key);

/*
 * Map key to value (not NULL).  When key was present its value is
 * replaced (and the key pointer with the one given) and *old, when old is
 * not NULL, receives the previous value; else *old is NULL.  Returns 0,
 * or -1 when memory runs out (the map unchanged).
 */
int		 hashmap_put(struct hashmap *m, const char *key, void *value,
		    void **old);

/* Remove key; returns its value, or NULL when it was absent. */
void		*hashmap_remove(struct hashmap *m, const char *key);

/*
 * Iterate: start with *pos = 0; each call returns 1 with the next entry
 * in *key and *value, or 0 at the end.  The map must not change meanwhile
 * (use hashmap_filter to remove while walking).
 */
int		 hashmap_next(const struct hashmap *m, size_t *pos,
		    const char **key, void **value);

/*
 * Keep the entries for which keep(key, value, arg) returns 1 and remove
 * the others; keep may free a value it removes (the map no longer reads
 * its key).  keep may be called more than once for an entry it keeps.
 */
void		 hashmap_filter(struct hashmap *m,
		    int (*keep)(const char *key, void *value, void *arg),
		    void *arg);

#endif
