/*
 * trust.c - the set of trust domains and their bundles (trust.h).
 *
 * A sorted array of counted bundle references under a read-write lock:
 * lookups (every authenticated request) take the read lock for a binary
 * search and one atomic increment; writers (reloads, the admin API) swap
 * one pointer under the write lock and drop the old reference after
 * unlocking, so a request that still holds the old bundle finishes with
 * it.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "spiffe.h"
#include "trust.h"

struct trust {
	pthread_rwlock_t	 lock;
	char			 local[SPIFFE_TD_MAX + 1];
	struct bundle		**bundles;	/* sorted by trust domain */
	size_t			 n;
	size_t			 cap;
};

/* Lower-case a name for lookup; 0, or -1 when it cannot be a name. */
static int
trust_key(const char *td, char *out)
{
	if (td == NULL)
		return -1;
	return spiffe_td_check(td, strlen(td), out) == SPIFFE_OK ? 0 : -1;
}

/* Index of td, or -(insertion point) - 1.  Lock held. */
static long
trust_find(const struct trust *t, const char *td)
{
	size_t	lo = 0, hi = t->n, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(bundle_trust_domain(t->bundles[mid]), td);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

struct trust *
trust_new(const char *local_td, struct nsreg_error *err)
{
	struct trust	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "trust: out of memory");
		return NULL;
	}
	if (spiffe_td_parse(local_td, t->local, err) == -1) {
		free(t);
		return NULL;
	}
	if (pthread_rwlock_init(&t->lock, NULL) != 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "trust: cannot create lock");
		free(t);
		return NULL;
	}
	return t;
}

void
trust_free(struct trust *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		bundle_unref(t->bundles[i]);
	free(t->bundles);
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

const char *
trust_local_domain(const struct trust *t)
{
	return t->local;
}

int
trust_is_local(const struct trust *t, const char *td)
{
	char	key[SPIFFE_TD_MAX + 1];

	if (trust_key(td, key) == -1)
		return 0;
	return strcmp(key, t->local) == 0;
}

int
trust_set(struct trust *t, struct bundle *b, struct nsreg_error *err)
{
	struct bundle	*old = NULL, **nb;
	long		 at;
	size_t		 pos;
	int		 rc = -1;

	bundle_ref(b);
	pthread_rwlock_wrlock(&t->lock);
	at = trust_find(t, bundle_trust_domain(b));
	if (at >= 0) {
		old = t->bundles[at];
		t->bundles[at] = b;
		rc = 0;
		goto out;
	}
	if (t->n >= TRUST_DOMAINS_MAX) {
		nsreg_error_set(err, NSREG_RESOURCE_EXHAUSTED, NULL,
		    "trust: more than %d trust domains", TRUST_DOMAINS_MAX);
		old = b;
		goto out;
	}
	if (t->n == t->cap) {
		size_t	cap = t->cap == 0 ? 8 : t->cap * 2;

		if ((nb = realloc(t->bundles, cap * sizeof(*nb))) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "trust: out of memory");
			old = b;
			goto out;
		}
		t->bundles = nb;
		t->cap = cap;
	}
	pos = (size_t)(-at - 1);
	memmove(t->bundles + pos + 1, t->bundles + pos,
	    (t->n - pos) * sizeof(*t->bundles));
	t->bundles[pos] = b;
	t->n++;
	rc = 0;
out:
	pthread_rwlock_unlock(&t->lock);
	/* Freeing a bundle is not done under the lock. */
	bundle_unref(old);
	return rc;
}

int
trust_remove(struct trust *t, const char *td, struct nsreg_error *err)
{
	char		 key[SPIFFE_TD_MAX + 1];
	struct bundle	*old = NULL;
	long		 at;
	int		 rc = -1;

	if (trust_key(td, key) == -1)
		return nsreg_error_set(err, NSREG_NOT_FOUND, NULL,
		    "trust: no trust domain %s", td != NULL ? td : "");
	if (strcmp(key, t->local) == 0)
		return nsreg_error_set(err, NSREG_FAILED_PRECONDITION, NULL,
		    "trust: %s is the local trust domain", key);
	pthread_rwlock_wrlock(&t->lock);
	at = trust_find(t, key);
	if (at < 0) {
		nsreg_error_set(err, NSREG_NOT_FOUND, NULL,
		    "trust: no trust domain %s", key);
		goto out;
	}
	old = t->bundles[at];
	memmove(t->bundles + at, t->bundles + at + 1,
	    (t->n - (size_t)at - 1) * sizeof(*t->bundles));
	t->n--;
	rc = 0;
out:
	pthread_rwlock_unlock(&t->lock);
	bundle_unref(old);
	return rc;
}

struct bundle *
trust_get(struct trust *t, const char *td)
{
	char		 key[SPIFFE_TD_MAX + 1];
	struct bundle	*b = NULL;
	long		 at;

	if (trust_key(td, key) == -1)
		return NULL;
	pthread_rwlock_rdlock(&t->lock);
	at = trust_find(t, key);
	if (at >= 0)
		b = bundle_ref(t->bundles[at]);
	pthread_rwlock_unlock(&t->lock);
	return b;
}

struct bundle *
trust_get_local(struct trust *t)
{
	return trust_get(t, t->local);
}

uint64_t
trust_serial(struct trust *t, const char *td)
{
	char		 key[SPIFFE_TD_MAX + 1];
	uint64_t	 serial = 0;
	long		 at;

	if (trust_key(td, key) == -1)
		return 0;
	pthread_rwlock_rdlock(&t->lock);
	at = trust_find(t, key);
	if (at >= 0)
		serial = bundle_serial(t->bundles[at]);
	pthread_rwlock_unlock(&t->lock);
	return serial;
}

size_t
trust_count(struct trust *t)
{
	size_t	n;

	pthread_rwlock_rdlock(&t->lock);
	n = t->n;
	pthread_rwlock_unlock(&t->lock);
	return n;
}

int
trust_foreach(struct trust *t, int (*fn)(struct bundle *, void *), void *arg)
{
	struct bundle	**snap = NULL;
	size_t		  n, i;
	int		  rc = 0;

	pthread_rwlock_rdlock(&t->lock);
	n = t->n;
	if (n > 0 && (snap = calloc(n, sizeof(*snap))) == NULL) {
		pthread_rwlock_unlock(&t->lock);
		return -1;
	}
	for (i = 0; i < n; i++)
		snap[i] = bundle_ref(t->bundles[i]);
	pthread_rwlock_unlock(&t->lock);

	for (i = 0; i < n && rc == 0; i++)
		rc = fn(snap[i], arg);
	for (i = 0; i < n; i++)
		bundle_unref(snap[i]);
	free(snap);
	return rc;
}
