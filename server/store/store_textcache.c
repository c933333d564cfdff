/*
 * store_textcache.c - a bounded cache of rendered texts by backend row,
 * shared by the storage backends.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_textcache.h"

/*
 * The text cache: rendered texts by row, each valid for one revision, in
 * least-recently-used order, at most max bytes.
 */
struct store_textcache_entry {
	int64_t				 row;
	int64_t				 revision;
	size_t				 len;
	struct store_textcache_entry	*prev, *next;	/* LRU, newest first */
	struct store_textcache_entry	*hnext;
	char				 text[];
};

struct store_textcache {
	pthread_mutex_t			 lock;
	struct store_textcache_entry	**buckets;
	size_t				 nbuckets;
	struct store_textcache_entry	*head, *tail;
	size_t				 bytes, max;
};

struct store_textcache *
store_textcache_new(size_t max)
{
	struct store_textcache	*tc;

	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return NULL;
	/* About one bucket per 512 bytes cached. */
	tc->nbuckets = max / 512 > 64 ? max / 512 : 64;
	if ((tc->buckets = calloc(tc->nbuckets, sizeof(*tc->buckets))) ==
	    NULL) {
		free(tc);
		return NULL;
	}
	tc->max = max;
	pthread_mutex_init(&tc->lock, NULL);
	return tc;
}

void
store_textcache_free(struct store_textcache *tc)
{
	struct store_textcache_entry	*e, *next;

	if (tc == NULL)
		return;
	for (e = tc->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	pthread_mutex_destroy(&tc->lock);
	free(tc->buckets);
	free(tc);
}

static struct store_textcache_entry **
store_textcache_slot(struct store_textcache *tc, int64_t row)
{
	struct store_textcache_entry	**ep;

	ep = &tc->buckets[(uint64_t)row % tc->nbuckets];
	while (*ep != NULL && (*ep)->row != row)
		ep = &(*ep)->hnext;
	return ep;
}

static void
store_textcache_unlink(struct store_textcache *tc,
    struct store_textcache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		tc->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		tc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
store_textcache_push(struct store_textcache *tc,
    struct store_textcache_entry *e)
{
	e->prev = NULL;
	e->next = tc->head;
	if (tc->head != NULL)
		tc->head->prev = e;
	tc->head = e;
	if (tc->tail == NULL)
		tc->tail = e;
}

/* Drop e, which is in the table and the LRU list. */
static void
store_textcache_drop(struct store_textcache *tc,
    struct store_textcache_entry *e)
{
	struct store_textcache_entry	**ep;

	ep = store_textcache_slot(tc, e->row);
	*ep = e->hnext;
	store_textcache_unlink(tc, e);
	tc->bytes -= sizeof(*e) + e->len;
	free(e);
}

int
store_textcache_get(struct store_textcache *tc, int64_t row,
    int64_t revision, char **buf, size_t *cap, size_t *len)
{
	struct store_textcache_entry	*e;
	char				*nb;
	size_t				 ncap;
	int				 ret = 0;

	pthread_mutex_lock(&tc->lock);
	e = *store_textcache_slot(tc, row);
	if (e == NULL || e->revision != revision)
		goto done;
	if (e->len + 1 > *cap) {
		ncap = *cap != 0 ? *cap : 1024;
		while (ncap < e->len + 1)
			ncap *= 2;
		if ((nb = realloc(*buf, ncap)) == NULL)
			goto done;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf, e->text, e->len);
	(*buf)[e->len] = '\0';
	*len = e->len;
	store_textcache_unlink(tc, e);
	store_textcache_push(tc, e);
	ret = 1;
done:
	pthread_mutex_unlock(&tc->lock);
	return ret;
}

void
store_textcache_put(struct store_textcache *tc, int64_t row,
    int64_t revision, const char *text, size_t len)
{
	struct store_textcache_entry	**ep, *e;

	/* One text may take at most an eighth of the cache. */
	if (sizeof(*e) + len > tc->max / 8)
		return;
	if ((e = malloc(sizeof(*e) + len)) == NULL)
		return;
	e->row = row;
	e->revision = revision;
	e->len = len;
	memcpy(e->text, text, len);
	pthread_mutex_lock(&tc->lock);
	ep = store_textcache_slot(tc, row);
	if (*ep != NULL) {
		if ((*ep)->revision >= revision) {
			/* A newer text is already there. */
			pthread_mutex_unlock(&tc->lock);
			free(e);
			return;
		}
		store_textcache_drop(tc, *ep);
		ep = store_textcache_slot(tc, row);
	}
	e->hnext = NULL;
	*ep = e;
	store_textcache_push(tc, e);
	tc->bytes += sizeof(*e) + len;
	while (tc->bytes > tc->max && tc->tail != NULL)
		store_textcache_drop(tc, tc->tail);
	pthread_mutex_unlock(&tc->lock);
}
