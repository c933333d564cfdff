/*
 * store_svcidx.c - the service index: endpoints by the services they
 * offer, shared by the storage backends.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "store_svcidx.h"

/*
 * The service index.  Each endpoint listed under some service has one
 * record (found by name through a hash map) holding where it is stored
 * and at which revision; each service has a hash-map entry with its
 * endpoints' records sorted by name (byte order, as SQL's BINARY
 * collation).  The maps' keys are the records' own names.
 */
struct store_svcidx_ep {
	char			*name;
	int64_t			 row;
	int64_t			 revision;
	int64_t			 expires_at;
	unsigned int		 refs;		/* services listing it */
};

struct store_svcidx_svc {
	char			 *service;
	struct store_svcidx_ep	**eps;
	size_t			  n, cap;
};

struct store_svcidx {
	struct hashmap	*svcs;		/* struct store_svcidx_svc */
	struct hashmap	*eps;		/* struct store_svcidx_ep */
};

struct store_svcidx *
store_svcidx_new(void)
{
	struct store_svcidx	*idx;

	if ((idx = calloc(1, sizeof(*idx))) == NULL)
		return NULL;
	idx->svcs = hashmap_new();
	idx->eps = hashmap_new();
	if (idx->svcs == NULL || idx->eps == NULL) {
		store_svcidx_free(idx);
		return NULL;
	}
	return idx;
}

/* hashmap_filter: free a service's entry. */
static int
store_svcidx_svc_drop(const char *key, void *v, void *arg)
{
	struct store_svcidx_svc	*sv = v;

	(void)key;
	(void)arg;
	free(sv->eps);
	free(sv->service);
	free(sv);
	return 0;
}

/* hashmap_filter: free an endpoint's record. */
static int
store_svcidx_ep_drop(const char *key, void *v, void *arg)
{
	struct store_svcidx_ep	*ep = v;

	(void)key;
	(void)arg;
	free(ep->name);
	free(ep);
	return 0;
}

void
store_svcidx_free(struct store_svcidx *idx)
{
	if (idx == NULL)
		return;
	if (idx->svcs != NULL)
		hashmap_filter(idx->svcs, store_svcidx_svc_drop, NULL);
	if (idx->eps != NULL)
		hashmap_filter(idx->eps, store_svcidx_ep_drop, NULL);
	hashmap_free(idx->svcs);
	hashmap_free(idx->eps);
	free(idx);
}

/* The first position in sv whose name sorts at or after name. */
static size_t
store_svcidx_search(const struct store_svcidx_svc *sv, const char *name,
    int *found)
{
	size_t	lo = 0, hi = sv->n, mid;
	int	c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(sv->eps[mid]->name, name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
store_svcidx_add(struct store_svcidx *idx, const char *service,
    const char *name)
{
	struct store_svcidx_svc	 *sv;
	struct store_svcidx_ep	 *ep, **nv;
	size_t			  pos, cap;
	int			  found;

	if ((sv = hashmap_get(idx->svcs, service)) == NULL) {
		if ((sv = calloc(1, sizeof(*sv))) == NULL ||
		    (sv->service = strdup(service)) == NULL ||
		    hashmap_put(idx->svcs, sv->service, sv, NULL) == -1) {
			if (sv != NULL)
				free(sv->service);
			free(sv);
			return -1;
		}
	}
	pos = store_svcidx_search(sv, name, &found);
	if (found)
		return 0;
	if (sv->n == sv->cap) {
		cap = sv->cap != 0 ? sv->cap * 2 : 4;
		if ((nv = realloc(sv->eps, cap * sizeof(*nv))) == NULL)
			return -1;
		sv->eps = nv;
		sv->cap = cap;
	}
	if ((ep = hashmap_get(idx->eps, name)) == NULL) {
		if ((ep = calloc(1, sizeof(*ep))) == NULL ||
		    (ep->name = strdup(name)) == NULL ||
		    hashmap_put(idx->eps, ep->name, ep, NULL) == -1) {
			if (ep != NULL)
				free(ep->name);
			free(ep);
			return -1;
		}
	}
	memmove(&sv->eps[pos + 1], &sv->eps[pos],
	    (sv->n - pos) * sizeof(*sv->eps));
	sv->eps[pos] = ep;
	sv->n++;
	ep->refs++;
	return 0;
}

void
store_svcidx_remove(struct store_svcidx *idx, const char *service,
    const char *name)
{
	struct store_svcidx_svc	*sv;
	struct store_svcidx_ep	*ep;
	size_t			 pos;
	int			 found;

	if ((sv = hashmap_get(idx->svcs, service)) == NULL)
		return;
	pos = store_svcidx_search(sv, name, &found);
	if (!found)
		return;
	ep = sv->eps[pos];
	memmove(&sv->eps[pos], &sv->eps[pos + 1],
	    (sv->n - pos - 1) * sizeof(*sv->eps));
	if (--sv->n == 0) {
		hashmap_remove(idx->svcs, sv->service);
		store_svcidx_svc_drop(NULL, sv, NULL);
	}
	if (--ep->refs == 0) {
		hashmap_remove(idx->eps, ep->name);
		store_svcidx_ep_drop(NULL, ep, NULL);
	}
}

void
store_svcidx_set(struct store_svcidx *idx, const char *name, int64_t row,
    int64_t revision, int64_t expires_at)
{
	struct store_svcidx_ep	*ep;

	if ((ep = hashmap_get(idx->eps, name)) == NULL)
		return;
	ep->row = row;
	ep->revision = revision;
	ep->expires_at = expires_at;
}

struct store_svcidx_hit *
store_svcidx_find(struct store_svcidx *idx, const char **services,
    size_t nservices, const char *after, size_t max, size_t *np)
{
	struct store_svcidx_svc	 *drive = NULL, *sv;
	struct store_svcidx_svc	**others = NULL;
	struct store_svcidx_hit	 *v = NULL, *nv;
	struct store_svcidx_ep	 *ep;
	size_t			  i, j, k, n = 0, cap = 0, first = 0;
	int			  found, ok;

	*np = 0;
	if (nservices == 0)
		return NULL;
	/* Walk the rarest service, look the others up. */
	if ((others = calloc(nservices, sizeof(*others))) == NULL)
		return NULL;
	for (i = 0; i < nservices; i++) {
		sv = hashmap_get(idx->svcs, services[i]);
		if (sv == NULL) {
			drive = NULL;
			break;
		}
		others[i] = sv;
		if (drive == NULL || sv->n < drive->n)
			drive = sv;
	}
	if ((v = malloc(sizeof(*v))) == NULL)
		goto fail;
	cap = 1;
	if (drive != NULL && after != NULL) {
		first = store_svcidx_search(drive, after, &found);
		if (found)
			first++;
	}
	for (i = first; drive != NULL && i < drive->n; i++) {
		if (max != 0 && n == max)
			break;
		ep = drive->eps[i];
		for (j = 0, ok = 1; j < nservices && ok; j++) {
			if (others[j] == drive)
				continue;
			store_svcidx_search(others[j], ep->name, &found);
			ok = found;
		}
		if (!ok)
			continue;
		if (n + 1 == cap) {
			cap *= 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto fail;
			v = nv;
		}
		v[n].name = ep->name;
		v[n].row = ep->row;
		v[n].revision = ep->revision;
		v[n].expires_at = ep->expires_at;
		n++;
	}
	/* The names are copied: the caller reads them without the lock. */
	for (k = 0; k < n; k++) {
		if ((v[k].name = strdup(v[k].name)) == NULL) {
			while (k-- > 0)
				free((char *)v[k].name);
			n = 0;
			goto fail;
		}
	}
	v[n].name = NULL;
	*np = n;
	free(others);
	return v;
fail:
	free(v);
	free(others);
	return NULL;
}

void
store_svcidx_hits_free(struct store_svcidx_hit *v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i].name != NULL; i++)
		free((char *)v[i].name);
	free(v);
}
