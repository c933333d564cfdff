/*
 * hashmap.c - strings to pointers (hashmap.h): linear probing in a
 * power-of-two table at most half full; each slot keeps its key's hash,
 * so that a probe compares strings only when the hashes agree.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

#define HASHMAP_MIN	16

struct hashmap_slot {
	const char	*key;		/* NULL: empty */
	void		*value;
	uint64_t	 hash;
};

struct hashmap {
	struct hashmap_slot	*slots;
	size_t			 cap;	/* 0 or a power of two */
	size_t			 n;
};

uint64_t
hashmap_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

struct hashmap *
hashmap_new(void)
{
	return calloc(1, sizeof(struct hashmap));
}

void
hashmap_free(struct hashmap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m);
}

size_t
hashmap_count(const struct hashmap *m)
{
	return m->n;
}

/* The slot of key, or of the empty slot where it would go (cap > 0). */
static size_t
hashmap_find(const struct hashmap *m, const char *key, uint64_t h)
{
	size_t	mask = m->cap - 1, i;

	for (i = (size_t)h & mask; m->slots[i].key != NULL; i = (i + 1) & mask)
		if (m->slots[i].hash == h && strcmp(m->slots[i].key, key) == 0)
			break;
	return i;
}

void *
hashmap_get(const struct hashmap *m, const char *key)
{
	size_t	i;

	if (m->n == 0)
		return NULL;
	i = hashmap_find(m, key, hashmap_hash(key));
	return m->slots[i].key != NULL ? m->slots[i].value : NULL;
}

static int
hashmap_grow(struct hashmap *m)
{
	struct hashmap_slot	*old = m->slots, *s;
	size_t			 ocap = m->cap, cap, i, j;

	cap = ocap != 0 ? ocap * 2 : HASHMAP_MIN;
	if (cap < ocap || (s = calloc(cap, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i < ocap; i++) {
		if (old[i].key == NULL)
			continue;
		for (j = (size_t)old[i].hash & (cap - 1); s[j].key != NULL;
		    j = (j + 1) & (cap - 1))
			;
		s[j] = old[i];
	}
	free(old);
	m->slots = s;
	m->cap = cap;
	return 0;
}

int
hashmap_put(struct hashmap *m, const char *key, void *value, void **old)
{
	uint64_t	h = hashmap_hash(key);
	size_t		i;

	if (old != NULL)
		*old = NULL;
	if (m->cap != 0) {
		i = hashmap_find(m, key, h);
		if (m->slots[i].key != NULL) {
			if (old != NULL)
				*old = m->slots[i].value;
			m->slots[i].key = key;
			m->slots[i].value = value;
			return 0;
		}
	}
	if ((m->n + 1) * 2 > m->cap && hashmap_grow(m) == -1)
		return -1;
	i = hashmap_find(m, key, h);
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->slots[i].hash = h;
	m->n++;
	return 0;
}

/* Empty slot i, shifting back the entries of its run that may move. */
static void
hashmap_delete_at(struct hashmap *m, size_t i)
{
	size_t	mask = m->cap - 1, j = i, k;

	for (;;) {
		j = (j + 1) & mask;
		if (m->slots[j].key == NULL)
			break;
		k = (size_t)m->slots[j].hash & mask;
		/* Leave it when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i].key = NULL;
	m->slots[i].value = NULL;
	m->n--;
}

void *
hashmap_remove(struct hashmap *m, const char *key)
{
	void	*v;
	size_t	 i;

	if (m->n == 0)
		return NULL;
	i = hashmap_find(m, key, hashmap_hash(key));
	if (m->slots[i].key == NULL)
		return NULL;
	v = m->slots[i].value;
	hashmap_delete_at(m, i);
	return v;
}

int
hashmap_next(const struct hashmap *m, size_t *pos, const char **key,
    void **value)
{
	size_t	i;

	for (i = *pos; i < m->cap; i++)
		if (m->slots[i].key != NULL) {
			*key = m->slots[i].key;
			*value = m->slots[i].value;
			*pos = i + 1;
			return 1;
		}
	*pos = m->cap;
	return 0;
}

void
hashmap_filter(struct hashmap *m,
    int (*keep)(const char *key, void *value, void *arg), void *arg)
{
	size_t	i = 0;

	/*
	 * After a deletion slot i holds what shifted back into it: look at
	 * it again.  Only entries already seen wrap around from the start
	 * to the end, so every entry is seen.
	 */
	while (i < m->cap) {
		if (m->slots[i].key != NULL &&
		    !keep(m->slots[i].key, m->slots[i].value, arg))
			hashmap_delete_at(m, i);
		else
			i++;
	}
}
