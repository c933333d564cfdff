/*
 * metrics_http.h - what the HTTP front end counts: requests by route,
 * method and status.  Apart from metrics.h so that engines, which count
 * decisions and refreshes, never see HTTP (STYLE rule 7a).
 */
#ifndef NSREG_METRICS_HTTP_H
#define NSREG_METRICS_HTTP_H

#include <stdint.h>

#include "h2_guard.h"
#include "http.h"
#include "metrics.h"

struct route;

/* Count a finished request (r NULL when no route matched). */
void		 metrics_request(struct metrics *m, const struct route *r,
		    enum http_method method, unsigned int status,
		    int64_t dur_us);

/*
 * Count an HTTP/2 connection closed with GOAWAY by the abuse limits
 * (h2_guard.h), exposed as nsreg_h2_goaway_total{reason}.
 */
void		 metrics_h2_goaway(struct metrics *m, enum h2_guard_reason r);

/* Count a finished request under its protocol. */
void		 metrics_request_proto(struct metrics *m, enum http_proto proto);

#endif /* NSREG_METRICS_HTTP_H */
