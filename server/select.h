/*
 * select.h - NSM endpoint selection for a connect request (DESIGN
 * section 4, POST /v1/grants step 2): which of a network service's live
 * endpoints a request may use, in the order they are tried.
 *
 * The rules are those of Network Service Mesh's matchEndpoint (sdk,
 * pkg/networkservice/common/discover): the service's matches are taken in
 * order; the first whose source_selector is a subset of the request's
 * labels chooses the endpoints for which one of its routes has a
 * destination_selector that is a subset of the endpoint's labels for
 * this service (network_service_labels[service]).  When that leaves no
 * endpoint and the match has fallthrough, the next match is tried; a
 * match without fallthrough decides even when it leaves none.  When no
 * match decides (none applies, or every applicable one fell through),
 * every endpoint is a candidate - so is it when the service has no
 * matches at all.  An empty selector is a subset of anything.  Label
 * templates are not supported.
 *
 * Candidates are then tried least-loaded first: fewest active grants,
 * ties by name.  Pure functions: no store, no clock, no allocation
 * besides the result.
 */
#ifndef NSREG_SELECT_H
#define NSREG_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

struct select_candidate {
	const json_t	*endpoint;	/* rendered endpoint, borrowed */
	const char	*name;		/* its name, borrowed from it */
	int64_t		 load;		/* active grants (select_order) */
};

struct select_result {
	struct select_candidate	*v;	/* in the order to try */
	size_t			 n;
	/*
	 * The match that chose (its index in the service's matches), or -1
	 * when every endpoint was taken (no match decided).
	 */
	int			 match;
};

/*
 * Choose among endpoints (a JSON array of rendered endpoint records that
 * offer service, all live; borrowed, must outlive out) for a request
 * with labels (an object of strings, or NULL for none) to service (the
 * rendered service record, borrowed).  The same endpoint listed twice is
 * kept once.  out->v is a new array (select_result_free).  Returns 0 (out
 * may hold no candidate), or -1 with err when out of memory.
 */
int	select_endpoints(const json_t *service, const json_t *labels,
	    const json_t *endpoints, struct select_result *out,
	    struct nsreg_error *err);

/*
 * Order r least-loaded first: load(name, arg) gives each candidate's
 * active grants; ties go by name (byte order).
 */
void	select_order(struct select_result *r,
	    int64_t (*load)(const char *name, void *arg), void *arg);

void	select_result_free(struct select_result *r);

#endif
