/*
 * store_lease.c - which block a new vL3 lease takes and whether a
 * service write keeps its pool, for every storage backend.
 */
#include "config.h"

#include <string.h>

#include "store_lease.h"

int
store_lease_pick(const struct store_grant *g, int has_freed, int64_t freed,
    int has_top, int64_t top, int64_t *block, struct nsreg_error *err)
{
	int64_t	next = -1;	/* after the highest leased; -1: none */

	*block = -1;
	if (!has_top || top < g->first)
		next = g->first;
	else if (top < g->last)
		next = top + 1;	/* never past INT64_MAX: top < last */
	if (has_freed && freed >= g->first && freed <= g->last &&
	    (next == -1 || freed < next))
		next = freed;
	if (next == -1 || next > g->last)
		return nsreg_error_set(err, NSREG_RESOURCE_EXHAUSTED, "vl3",
		    "the vL3 pool %s of service %s is exhausted: all %llu "
		    "usable /%d blocks are leased", g->pool, g->service,
		    (unsigned long long)(g->last - g->first) + 1,
		    g->client_len);
	*block = next;
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
