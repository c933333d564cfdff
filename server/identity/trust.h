/*
 * trust.h - the trust domains this server knows: trust domain name ->
 * bundle, one of them the local trust domain.
 *
 * Thread-safe: any number of threads look bundles up while another
 * replaces or removes one (SIGHUP reload, the trust-domain API,
 * federation refresh).  A lookup hands out a counted reference to the
 * bundle then current (an immutable snapshot), so a request keeps a
 * consistent view even if the trust domain is replaced meanwhile; a
 * replacement or removal is atomic for each trust domain.  Bundles are
 * never merged across trust domains.
 */
#ifndef NSREG_TRUST_H
#define NSREG_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "error.h"

#define TRUST_DOMAINS_MAX	4096

struct trust;

/*
 * A new, empty set whose local trust domain is local_td (a valid trust
 * domain name; the set has no bundle for it until trust_set).  NULL with
 * err set (NSREG_INVALID_ARGUMENT for a bad name, NSREG_INTERNAL).
 */
struct trust	*trust_new(const char *local_td, struct nsreg_error *err);

/* Free the set and drop its bundle references.  No other thread may be
 * using it.  NULL is ignored. */
void		 trust_free(struct trust *t);

/* The local trust domain name.  Borrowed from t (fixed for t's life). */
const char	*trust_local_domain(const struct trust *t);

/* 1 when td (any case) is the local trust domain, else 0. */
int		 trust_is_local(const struct trust *t, const char *td);

/*
 * Add or replace the bundle of bundle_trust_domain(b) (the local one
 * too: the caller, not the set, keeps the API from overwriting it).
 * Takes its own reference on b: the caller keeps (and drops) its own.
 * Returns 0, or -1 with err (NSREG_RESOURCE_EXHAUSTED past
 * TRUST_DOMAINS_MAX, NSREG_INTERNAL).
 */
int		 trust_set(struct trust *t, struct bundle *b,
		    struct nsreg_error *err);

/*
 * Remove trust domain td and drop the set's reference to its bundle.
 * Returns 0, or -1 with err: NSREG_NOT_FOUND when unknown,
 * NSREG_FAILED_PRECONDITION for the local trust domain.
 */
int		 trust_remove(struct trust *t, const char *td,
		    struct nsreg_error *err);

/* The bundle of td (any case): a new reference (bundle_unref it), or NULL
 * when the set has none. */
struct bundle	*trust_get(struct trust *t, const char *td);

/* The local trust domain's bundle: a new reference, or NULL. */
struct bundle	*trust_get_local(struct trust *t);

/* bundle_serial() of td's current bundle, 0 when none.  No reference is
 * taken: this is the cheap check caches use. */
uint64_t	 trust_serial(struct trust *t, const char *td);

/* The number of trust domains with a bundle. */
size_t		 trust_count(struct trust *t);

/*
 * Call fn(bundle, arg) for every bundle of a snapshot taken at the call,
 * in trust domain name order, without holding the set's lock (fn may call
 * trust_* functions).  The bundle is borrowed for the call.  Stops early
 * and returns fn's value when fn returns non-zero; returns 0 when every
 * call returned 0, -1 when memory runs out.
 */
int		 trust_foreach(struct trust *t,
		    int (*fn)(struct bundle *b, void *arg), void *arg);

#endif
