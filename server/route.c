/*
 * route.c - the route table and path matching.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "route.h"

static const struct route route_table_v[] = {
	{ HTTP_GET, "/healthz", api_healthz, ROUTE_ANONYMOUS },
	{ HTTP_GET, "/readyz", api_readyz, ROUTE_ANONYMOUS },
	{ HTTP_GET, "/metrics", api_metrics, ROUTE_ANONYMOUS },
	{ HTTP_GET, "/v1/whoami", api_whoami, 0 },
	{ HTTP_GET, "/v1/bundle", api_bundle, ROUTE_ANONYMOUS },
	{ HTTP_GET, "/v1/services", api_services_list, ROUTE_STREAM },
	{ HTTP_GET, "/v1/services/{name}", api_services_get, 0 },
	{ HTTP_PUT, "/v1/services/{name}", api_services_put, ROUTE_BODY },
	{ HTTP_DELETE, "/v1/services/{name}", api_services_delete, 0 },
	{ HTTP_GET, "/v1/endpoints", api_endpoints_list, ROUTE_STREAM },
	{ HTTP_GET, "/v1/endpoints/{name}", api_endpoints_get, 0 },
	{ HTTP_PUT, "/v1/endpoints/{name}", api_endpoints_put, ROUTE_BODY },
	{ HTTP_DELETE, "/v1/endpoints/{name}", api_endpoints_delete, 0 },
	{ HTTP_GET, "/v1/trust-domains", api_trust_domains_list,
	    ROUTE_ADMIN | ROUTE_STREAM },
	{ HTTP_GET, "/v1/trust-domains/{name}", api_trust_domains_get,
	    ROUTE_ADMIN },
	{ HTTP_PUT, "/v1/trust-domains/{name}", api_trust_domains_put,
	    ROUTE_ADMIN | ROUTE_BODY },
	{ HTTP_DELETE, "/v1/trust-domains/{name}", api_trust_domains_delete,
	    ROUTE_ADMIN },
	{ HTTP_GET, "/v1/policies", api_policies_list,
	    ROUTE_ADMIN | ROUTE_STREAM },
	{ HTTP_GET, "/v1/policies/{name}", api_policies_get, ROUTE_ADMIN },
	{ HTTP_PUT, "/v1/policies/{name}", api_policies_put,
	    ROUTE_ADMIN | ROUTE_BODY },
	{ HTTP_DELETE, "/v1/policies/{name}", api_policies_delete,
	    ROUTE_ADMIN },
	{ HTTP_GET, "/v1/decisions", api_decisions_list, ROUTE_ADMIN },
	{ HTTP_POST, "/v1/decisions/evaluate", api_decisions_evaluate,
	    ROUTE_ADMIN | ROUTE_BODY },
	{ HTTP_POST, "/v1/grants", api_grants_create, ROUTE_BODY },
	{ HTTP_GET, "/v1/grants", api_grants_list, ROUTE_STREAM },
	{ HTTP_POST, "/v1/grants/introspect", api_grants_introspect,
	    ROUTE_BODY },
	{ HTTP_GET, "/v1/grants/{id}", api_grants_get, 0 },
	{ HTTP_DELETE, "/v1/grants/{id}", api_grants_delete, 0 },
	{ HTTP_POST, "/v1/grants/{id}/refresh", api_grants_refresh, 0 },
	{ HTTP_GET, "/v1/jwks", api_jwks, ROUTE_ANONYMOUS },
	{ HTTP_POST, "/v1/trust-domains/{name}/refresh",
	    api_trust_domains_refresh, ROUTE_ADMIN },
};

#define ROUTE_COUNT	(sizeof(route_table_v) / sizeof(route_table_v[0]))

static const char *const route_method_names[] = {
	[HTTP_GET] = "GET", [HTTP_HEAD] = "HEAD", [HTTP_PUT] = "PUT",
	[HTTP_POST] = "POST", [HTTP_DELETE] = "DELETE",
	[HTTP_PATCH] = "PATCH", [HTTP_OPTIONS] = "OPTIONS",
	[HTTP_OTHER] = "OTHER",
};

const char *
route_method_name(enum http_method m)
{
	return route_method_names[m];
}

const struct route *
route_table(size_t *n)
{
	*n = ROUTE_COUNT;
	return route_table_v;
}

size_t
route_index(const struct route *r)
{
	return (size_t)(r - route_table_v);
}

/*
 * Match path against pattern; literal segments must be equal, {x} takes
 * one non-empty segment.  Returns the number of captures or -1.
 */
static int
route_match(const char *pattern, const char *path, const char **caps,
    size_t *caplen)
{
	const char	*p = pattern, *s = path;
	int		 n = 0;

	while (*p != '\0') {
		if (*p == '{') {
			const char	*seg = s;

			while (*s != '\0' && *s != '/')
				s++;
			if (s == seg || n == HTTP_PARAMS_MAX)
				return -1;
			caps[n] = seg;
			caplen[n] = (size_t)(s - seg);
			n++;
			while (*p != '}' && *p != '\0')
				p++;
			if (*p == '}')
				p++;
			continue;
		}
		if (*p != *s)
			return -1;
		p++;
		s++;
	}
	return *s == '\0' ? n : -1;
}

const struct route *
route_find(struct http_request *req, char *buf, size_t buflen, char *allow,
    size_t allowlen, struct nsreg_error *err)
{
	const struct route	*found = NULL;
	const char		*caps[HTTP_PARAMS_MAX];
	size_t			 caplen[HTTP_PARAMS_MAX], i, o = 0, off = 0;
	int			 n, k, fn = 0, any = 0;
	enum http_method	 m;

	allow[0] = '\0';
	/* HEAD is answered as GET (MHD drops the body). */
	m = req->method == HTTP_HEAD ? HTTP_GET : req->method;
	for (i = 0; i < ROUTE_COUNT; i++) {
		const struct route	*r = &route_table_v[i];

		if ((n = route_match(r->pattern, req->path, caps,
		    caplen)) < 0)
			continue;
		if (!any || strstr(allow, route_method_names[r->method]) ==
		    NULL)
			o += snprintf(allow + o, allowlen - o, "%s%s",
			    any ? ", " : "", route_method_names[r->method]);
		any = 1;
		if (o >= allowlen)
			o = allowlen - 1;
		if (r->method == m && found == NULL) {
			found = r;
			fn = n;
			for (k = 0; k < n; k++) {
				if (off + caplen[k] + 1 > buflen) {
					nsreg_error_set(err, NSREG_NOT_FOUND,
					    NULL, "path too long");
					return NULL;
				}
				memcpy(buf + off, caps[k], caplen[k]);
				buf[off + caplen[k]] = '\0';
				req->params[k] = buf + off;
				off += caplen[k] + 1;
			}
		}
	}
	if (found != NULL) {
		req->nparams = (size_t)fn;
		return found;
	}
	if (any)
		nsreg_error_set(err, NSREG_METHOD_NOT_ALLOWED, NULL,
		    "%s is not allowed on %s (allowed: %s)", req->method_name,
		    req->path, allow);
	else
		nsreg_error_set(err, NSREG_NOT_FOUND, NULL, "no such path: %s",
		    req->path);
	return NULL;
}
