/*
 * route.h - the static route table: {method, pattern, handler, flags}.
 * A path that matches no pattern is 404; one that matches a pattern of
 * another method is 405 with the methods that would have worked.
 */
#ifndef NSREG_ROUTE_H
#define NSREG_ROUTE_H

#include <stddef.h>

#include "error.h"
#include "http.h"

struct server;

#define ROUTE_ANONYMOUS	0x01	/* no credential needed */
#define ROUTE_ADMIN	0x02	/* admin role required */
#define ROUTE_BODY	0x04	/* takes a JSON object body */
#define ROUTE_STREAM	0x08	/* may answer with a watch stream */
#define ROUTE_POLICY	0x10	/* rules decide it: runs on the work pool */

struct route {
	enum http_method	 method;
	const char		*pattern;	/* "/v1/services/{name}" */
	void			(*handler)(struct server *,
				    struct http_request *);
	unsigned int		 flags;
};

/*
 * Find the route for method and path.  Captured {param} segments are
 * stored in req->params (pointing into buf) and must be names of their
 * kind (400 otherwise).  allow gets the methods the path takes ("GET,
 * HEAD, PUT, OPTIONS"; HEAD wherever GET works).  Returns the route, or
 * NULL with err set to NSREG_INVALID_ARGUMENT, NSREG_NOT_FOUND or
 * NSREG_METHOD_NOT_ALLOWED.
 */
const struct route	*route_find(struct http_request *req, char *buf,
			    size_t buflen, char *allow, size_t allowlen,
			    struct nsreg_error *err);

/* Every method some route takes, as an Allow value (OPTIONS *). */
void			 route_allow_all(char *allow, size_t allowlen);

/*
 * Query parameters: only service, label and label.* may repeat; any
 * other key given twice is 400 (limit=1&limit=x).  0 or -1.
 */
int			 route_query_check(const struct http_request *req,
			    struct nsreg_error *err);

/*
 * The route a request for (method, path) belongs to, for metrics and
 * logs: the one of that method, else the first with the same pattern
 * (a 405, or a request refused before routing, e.g. 413), else NULL.
 */
const struct route	*route_for_path(enum http_method method,
			    const char *path);

/* The table (for metrics labels); *n gets its size. */
const struct route	*route_table(size_t *n);
size_t			 route_index(const struct route *r);

const char		*route_method_name(enum http_method m);

#endif
