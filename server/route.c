/*
 * route.c - the route table and path matching.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "route.h"
#include "validate.h"

static const struct route route_table_v[] = {
	{ HTTP_GET, "/healthz", api_healthz, ROUTE_ANONYMOUS },
	{ HTTP_GET, "/readyz", api_readyz, ROUTE_ANONYMOUS },
	{ HTTP_GET, "/metrics", api_metrics, 0 },
	{ HTTP_GET, "/v1/whoami", api_whoami, 0 },
	{ HTTP_GET, "/v1/bundle", api_bundle, ROUTE_ANONYMOUS },
	{ HTTP_GET, "/v1/services", api_services_list,
	    ROUTE_STREAM | ROUTE_POLICY },
	{ HTTP_GET, "/v1/services/{name}", api_services_get, 0 },
	{ HTTP_PUT, "/v1/services/{name}", api_services_put, ROUTE_BODY },
	{ HTTP_DELETE, "/v1/services/{name}", api_services_delete, 0 },
	{ HTTP_GET, "/v1/endpoints", api_endpoints_list,
	    ROUTE_STREAM | ROUTE_POLICY },
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
	{ HTTP_POST, "/v1/policies/check", api_policies_check,
	    ROUTE_ADMIN | ROUTE_BODY },
	{ HTTP_GET, "/v1/decisions", api_decisions_list, ROUTE_ADMIN },
	{ HTTP_POST, "/v1/decisions/evaluate", api_decisions_evaluate,
	    ROUTE_ADMIN | ROUTE_BODY },
	{ HTTP_POST, "/v1/grants", api_grants_create,
	    ROUTE_BODY | ROUTE_POLICY },
	{ HTTP_GET, "/v1/grants", api_grants_list, ROUTE_STREAM },
	{ HTTP_POST, "/v1/grants/introspect", api_grants_introspect,
	    ROUTE_BODY },
	{ HTTP_GET, "/v1/grants/{id}", api_grants_get, 0 },
	{ HTTP_DELETE, "/v1/grants/{id}", api_grants_delete, 0 },
	{ HTTP_POST, "/v1/grants/{id}/refresh", api_grants_refresh,
	    ROUTE_POLICY },
	{ HTTP_GET, "/v1/jwks", api_jwks, ROUTE_ANONYMOUS },
	{ HTTP_POST, "/v1/trust-domains/{name}/refresh",
	    api_trust_domains_refresh, ROUTE_ADMIN },
	{ HTTP_GET, "/ui", api_ui_redirect, ROUTE_ANONYMOUS },
	{ HTTP_GET, "/ui/", api_ui_index, ROUTE_ANONYMOUS },
	{ HTTP_GET, "/ui/{file}", api_ui_file, ROUTE_ANONYMOUS },
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

/* Methods in the order Allow lists them. */
static const enum http_method route_allow_order[] = {
	HTTP_GET, HTTP_HEAD, HTTP_PUT, HTTP_POST, HTTP_DELETE, HTTP_PATCH,
	HTTP_OPTIONS,
};

/* Render the methods of mask as "GET, HEAD, ..." into allow. */
static void
route_allow(unsigned int mask, char *allow, size_t allowlen)
{
	size_t	i, o = 0;
	int	n;

	allow[0] = '\0';
	for (i = 0; i < sizeof(route_allow_order) /
	    sizeof(route_allow_order[0]); i++) {
		if (!(mask & (1U << route_allow_order[i])))
			continue;
		n = snprintf(allow + o, allowlen - o, "%s%s", o ? ", " : "",
		    route_method_names[route_allow_order[i]]);
		if (n < 0 || (size_t)n >= allowlen - o)
			break;
		o += (size_t)n;
	}
}

void
route_allow_all(char *allow, size_t allowlen)
{
	unsigned int	mask = 1U << HTTP_OPTIONS;
	size_t		i;

	for (i = 0; i < ROUTE_COUNT; i++)
		mask |= 1U << route_table_v[i].method;
	if (mask & (1U << HTTP_GET))
		mask |= 1U << HTTP_HEAD;
	route_allow(mask, allow, allowlen);
}

/*
 * A captured {name} must be a record name: the path was decoded once, so
 * whatever else it holds ('%', a space, upper case) is refused here and
 * never reaches a handler as another name.  Trust domain names and grant
 * ids are checked by their handlers (a malformed grant id is simply not
 * found); NUL, controls and '/' never get this far (http.c).
 */
static int
route_param_check(const struct route *r, const char *v,
    struct nsreg_error *err)
{
	if (strncmp(r->pattern, "/v1/trust-domains/", 18) == 0 ||
	    strstr(r->pattern, "{name}") == NULL)
		return 0;
	return validate_name(v, 1, "name", err);
}

const struct route *
route_find(struct http_request *req, char *buf, size_t buflen, char *allow,
    size_t allowlen, struct nsreg_error *err)
{
	const struct route	*found = NULL;
	const char		*caps[HTTP_PARAMS_MAX];
	size_t			 caplen[HTTP_PARAMS_MAX], i, off = 0;
	unsigned int		 mask = 0;
	int			 n, k, fn = 0;
	enum http_method	 m;

	allow[0] = '\0';
	/* HEAD is answered as GET (MHD drops the body). */
	m = req->method == HTTP_HEAD ? HTTP_GET : req->method;
	for (i = 0; i < ROUTE_COUNT; i++) {
		const struct route	*r = &route_table_v[i];

		if ((n = route_match(r->pattern, req->path, caps,
		    caplen)) < 0)
			continue;
		mask |= 1U << r->method;
		if (r->method == m && found == NULL) {
			found = r;
			fn = n;
			for (k = 0; k < n; k++) {
				if (off + caplen[k] + 1 > buflen) {
					nsreg_error_set(err,
					    NSREG_INVALID_ARGUMENT, NULL,
					    "path too long");
					return NULL;
				}
				memcpy(buf + off, caps[k], caplen[k]);
				buf[off + caplen[k]] = '\0';
				req->params[k] = buf + off;
				off += caplen[k] + 1;
				if (route_param_check(r, req->params[k],
				    err) == -1)
					return NULL;
			}
		}
	}
	if (mask & (1U << HTTP_GET))
		mask |= 1U << HTTP_HEAD;
	if (mask != 0)
		mask |= 1U << HTTP_OPTIONS;
	route_allow(mask, allow, allowlen);
	if (found != NULL) {
		req->nparams = (size_t)fn;
		return found;
	}
	if (mask != 0)
		nsreg_error_set(err, NSREG_METHOD_NOT_ALLOWED, NULL,
		    "%s is not allowed on %s (allowed: %s)", req->method_name,
		    req->path, allow);
	else
		nsreg_error_set(err, NSREG_NOT_FOUND, NULL, "no such path: %s",
		    req->path);
	return NULL;
}

/* Query keys that may repeat; every other one names one value. */
static int
route_query_repeatable(const char *key)
{
	return strcmp(key, "service") == 0 || strcmp(key, "label") == 0 ||
	    strncmp(key, "label.", 6) == 0;
}

struct route_query_seen {
	const char		*keys[HTTP_QUERY_MAX];
	size_t			 n;
	struct nsreg_error	*err;
};

static int
route_query_one(const char *key, const char *value, void *arg)
{
	struct route_query_seen	*s = arg;
	char			 field[NSREG_ERROR_FIELD_MAX];
	size_t			 i;

	(void)value;
	if (route_query_repeatable(key))
		return 0;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->keys[i], key) == 0) {
			snprintf(field, sizeof(field), "%s", key);
			return nsreg_error_set(s->err, NSREG_INVALID_ARGUMENT,
			    field, "%s: given more than once", field);
		}
	if (s->n < HTTP_QUERY_MAX)
		s->keys[s->n++] = key;
	return 0;
}

int
route_query_check(const struct http_request *req, struct nsreg_error *err)
{
	struct route_query_seen	s;

	s.n = 0;
	s.err = err;
	return http_query_each(req, route_query_one, &s);
}

const struct route *
route_for_path(enum http_method method, const char *path)
{
	const struct route	*any = NULL;
	const char		*caps[HTTP_PARAMS_MAX];
	size_t			 caplen[HTTP_PARAMS_MAX], i;

	if (path == NULL)
		return NULL;
	if (method == HTTP_HEAD)
		method = HTTP_GET;
	for (i = 0; i < ROUTE_COUNT; i++) {
		if (route_match(route_table_v[i].pattern, path, caps,
		    caplen) < 0)
			continue;
		if (route_table_v[i].method == method)
			return &route_table_v[i];
		if (any == NULL)
			any = &route_table_v[i];
	}
	return any;
}
