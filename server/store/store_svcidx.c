/*
 * store_svcidx.c - the service index: endpoints by the services they
 * offer, shared by the storage backends.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_svcidx.h"

/*
 * The service index.  Each endpoint listed under some service has one
 * record (found by name through a hash table) holding where it is stored
 * and at which revision; each service has a hash-table entry with its
 * endpoints' records sorted by name (byte order, as SQL's BINARY
 * collation).
 */
struct store_svcidx_ep {
	char			*name;
	int64_t			 row;
	int64_t			 revision;
	int64_t			 expires_at;
	unsigned int		 refs;		/* services listing it */
	struct store_svcidx_ep	*next;		/* hash chain */
};

struct store_svcidx_svc {
	char			 *service;
	struct store_svcidx_ep	**eps;
	size_t			  n, cap;
	struct store_svcidx_svc	 *next;		/* hash chain */
};

struct store_svcidx {
	struct store_svcidx_svc	**svcs;
	size_t			  nsvcs, svc_buckets;
	struct store_svcidx_ep	**eps;
	size_t			  neps, ep_buckets;
};

static size_t
store_hash(const char *s, size_t buckets)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)(h % buckets);
}

struct store_svcidx *
store_svcidx_new(void)
{
	struct store_svcidx	*idx;

	if ((idx = calloc(1, sizeof(*idx))) == NULL)
		return NULL;
	idx->svc_buckets = 256;
	idx->ep_buckets = 1024;
	idx->svcs = calloc(idx->svc_buckets, sizeof(*idx->svcs));
	idx->eps = calloc(idx->ep_buckets, sizeof(*idx->eps));
	if (idx->svcs == NULL || idx->eps == NULL) {
		store_svcidx_free(idx);
		return NULL;
	}
	return idx;
}

void
store_svcidx_free(struct store_svcidx *idx)
{
	struct store_svcidx_svc	*sv, *snext;
	struct store_svcidx_ep	*ep, *enext;
	size_t			 i;

	if (idx == NULL)
		return;
	for (i = 0; idx->svcs != NULL && i < idx->svc_buckets; i++) {
		for (sv = idx->svcs[i]; sv != NULL; sv = snext) {
			snext = sv->next;
			free(sv->eps);
			free(sv->service);
			free(sv);
		}
	}
	for (i = 0; idx->eps != NULL && i < idx->ep_buckets; i++) {
		for (ep = idx->eps[i]; ep != NULL; ep = enext) {
			enext = ep->next;
			free(ep->name);
			free(ep);
		}
	}
	free(idx->svcs);
	free(idx->eps);
	free(idx);
}

static struct store_svcidx_svc **
store_svcidx_svc_slot(struct store_svcidx *idx, const char *service)
{
	struct store_svcidx_svc	**sp;

	sp = &idx->svcs[store_hash(service, idx->svc_buckets)];
	while (*sp != NULL && strcmp((*sp)->service, service) != 0)
		sp = &(*sp)->next;
	return sp;
}

static struct store_svcidx_ep **
store_svcidx_ep_slot(struct store_svcidx *idx, const char *name)
{
	struct store_svcidx_ep	**ep;

	ep = &idx->eps[store_hash(name, idx->ep_buckets)];
	while (*ep != NULL && strcmp((*ep)->name, name) != 0)
		ep = &(*ep)->next;
	return ep;
}

/* Double the services' buckets; failure keeps the old ones. */
static void
store_svcidx_svc_grow(struct store_svcidx *idx)
{
	struct store_svcidx_svc	**nb, *sv, *next;
	size_t			  n = idx->svc_buckets * 2, i, h;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < idx->svc_buckets; i++) {
		for (sv = idx->svcs[i]; sv != NULL; sv = next) {
			next = sv->next;
			h = store_hash(sv->service, n);
			sv->next = nb[h];
			nb[h] = sv;
		}
	}
	free(idx->svcs);
	idx->svcs = nb;
	idx->svc_buckets = n;
}

/* Double the endpoints' buckets; failure keeps the old ones. */
static void
store_svcidx_ep_grow(struct store_svcidx *idx)
{
	struct store_svcidx_ep	**nb, *ep, *next;
	size_t			  n = idx->ep_buckets * 2, i, h;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < idx->ep_buckets; i++) {
		for (ep = idx->eps[i]; ep != NULL; ep = next) {
			next = ep->next;
			h = store_hash(ep->name, n);
			ep->next = nb[h];
			nb[h] = ep;
		}
	}
	free(idx->eps);
	idx->eps = nb;
	idx->ep_buckets = n;
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
	struct store_svcidx_svc	**sp, *sv;
	struct store_svcidx_ep	**epp, *ep, **nv;
	size_t			  pos, cap;
	int			  found;

	sp = store_svcidx_svc_slot(idx, service);
	if ((sv = *sp) == NULL) {
		if ((sv = calloc(1, sizeof(*sv))) == NULL ||
		    (sv->service = strdup(service)) == NULL) {
			free(sv);
			return -1;
		}
		*sp = sv;
		if (++idx->nsvcs > idx->svc_buckets * 2)
			store_svcidx_svc_grow(idx);
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
	epp = store_svcidx_ep_slot(idx, name);
	if ((ep = *epp) == NULL) {
		if ((ep = calloc(1, sizeof(*ep))) == NULL ||
		    (ep->name = strdup(name)) == NULL) {
			free(ep);
			return -1;
		}
		*epp = ep;
		if (++idx->neps > idx->ep_buckets * 2)
			store_svcidx_ep_grow(idx);
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
	struct store_svcidx_svc	**sp, *sv;
	struct store_svcidx_ep	**epp, *ep;
	size_t			  pos;
	int			  found;

	sp = store_svcidx_svc_slot(idx, service);
	if ((sv = *sp) == NULL)
		return;
	pos = store_svcidx_search(sv, name, &found);
	if (!found)
		return;
	ep = sv->eps[pos];
	memmove(&sv->eps[pos], &sv->eps[pos + 1],
	    (sv->n - pos - 1) * sizeof(*sv->eps));
	if (--sv->n == 0) {
		*sp = sv->next;
		free(sv->eps);
		free(sv->service);
		free(sv);
		idx->nsvcs--;
	}
	if (--ep->refs == 0) {
		epp = store_svcidx_ep_slot(idx, name);
		*epp = ep->next;
		free(ep->name);
		free(ep);
		idx->neps--;
	}
}

void
store_svcidx_set(struct store_svcidx *idx, const char *name, int64_t row,
    int64_t revision, int64_t expires_at)
{
	struct store_svcidx_ep	*ep;

	if ((ep = *store_svcidx_ep_slot(idx, name)) == NULL)
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
		sv = *store_svcidx_svc_slot(idx, services[i]);
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
