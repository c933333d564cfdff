/*
 * store_lease.c - which block a new vL3 lease takes and whether a
 * service write keeps its pool, for every storage backend.
 */
#include "config.h"

#include <string.h>

#include "store_lease.h"

void
store_lease_scan_start(struct store_lease_scan *sc,
    const struct store_grant *g, int64_t low)
{
	sc->next = low > g->first ? low : g->first;
	sc->last = g->last;
	sc->full = sc->next > sc->last;
}

int
store_lease_scan_feed(struct store_lease_scan *sc, int64_t leased)
{
	if (sc->full || leased > sc->next)
		return 1;	/* a gap before leased */
	if (leased == sc->next) {
		/* Never past last: it may be INT64_MAX. */
		if (sc->next == sc->last)
			sc->full = 1;
		else
			sc->next++;
	}
	return sc->full;
}

int
store_lease_scan_end(const struct store_lease_scan *sc,
    const struct store_grant *g, int64_t *block, struct nsreg_error *err)
{
	*block = -1;
	if (sc->full)
		return nsreg_error_set(err, NSREG_RESOURCE_EXHAUSTED, "vl3",
		    "the vL3 pool %s of service %s is exhausted: all %llu "
		    "usable /%d blocks are leased", g->pool, g->service,
		    (unsigned long long)(g->last - g->first) + 1,
		    g->client_len);
	*block = sc->next;
	return 0;
}

int
store_lease_pool_same(const json_t *doc, const char *prefix, int client_len)
{
	const json_t	*vl3 = json_object_get(doc, "vl3");
	const char	*p;

	p = json_string_value(json_object_get(vl3, "prefix"));
	return p != NULL && strcmp(p, prefix) == 0 &&
	    json_integer_value(json_object_get(vl3, "client_prefix_len")) ==
	    client_len;
}

int
store_lease_pool_busy(const char *service, const char *prefix,
    int client_len, int64_t live, struct nsreg_error *err)
{
	return nsreg_error_set(err, NSREG_CONFLICT, "vl3",
	    "service %s: vl3 cannot change from %s (client_prefix_len %d) "
	    "while %lld live grant%s hold%s addresses from it; revoke %s "
	    "(DELETE /v1/grants/{id}) or wait until %s expire%s", service,
	    prefix, client_len, (long long)live, live == 1 ? "" : "s",
	    live == 1 ? "s" : "", live == 1 ? "it" : "them",
	    live == 1 ? "it" : "they", live == 1 ? "s" : "");
}

int
store_lease_pool_moved(const struct store_grant *g, const char *prefix,
    int client_len, int64_t live, struct nsreg_error *err)
{
	return nsreg_error_set(err, NSREG_CONFLICT, "vl3",
	    "service %s: %lld live grants hold addresses of %s "
	    "(client_prefix_len %d), not of %s", g->service, (long long)live,
	    prefix, client_len, g->pool);
}
