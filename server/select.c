/*
 * select.c - NSM endpoint selection: matches, selectors, fallthrough,
 * least-loaded order.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "validate.h"

/* The endpoint's labels for service (borrowed) or NULL. */
static const json_t *
select_endpoint_labels(const json_t *endpoint, const char *service)
{
	return json_object_get(json_object_get(endpoint,
	    "network_service_labels"), service);
}

/* 1 when selector (NULL: empty) is a subset of labels (NULL: empty). */
static int
select_subset(const json_t *selector, const json_t *labels)
{
	if (selector == NULL || json_object_size(selector) == 0)
		return 1;
	if (!json_is_object(labels))
		return 0;
	return validate_selector_matches(selector, labels);
}

/* Append endpoint to out unless it is there already. */
static int
select_add(struct select_result *out, size_t cap, const json_t *endpoint)
{
	const char	*name;
	size_t		 i;

	name = json_string_value(json_object_get(endpoint, "name"));
	if (name == NULL)
		return 0;	/* not a record: never a candidate */
	for (i = 0; i < out->n; i++)
		if (out->v[i].endpoint == endpoint ||
		    strcmp(out->v[i].name, name) == 0)
			return 0;
	if (out->n == cap)
		return -1;
	out->v[out->n].endpoint = endpoint;
	out->v[out->n].name = name;
	out->v[out->n].load = 0;
	out->n++;
	return 0;
}

/*
 * Candidates of one match: endpoints matched by one of its routes.
 * destination selectors.
 */
static void
select_match(const json_t *match, const char *service,
    const json_t *endpoints, struct select_result *out, size_t cap)
{
	const json_t	*routes, *route, *ep;
	size_t		 i, j;

	routes = json_object_get(match, "routes");
	json_array_foreach(routes, i, route) {
		json_array_foreach(endpoints, j, ep) {
			if (select_subset(json_object_get(route,
			    "destination_selector"),
			    select_endpoint_labels(ep, service)))
				(void)select_add(out, cap, ep);
		}
	}
}

int
select_endpoints(const json_t *service, const json_t *labels,
    const json_t *endpoints, struct select_result *out,
    struct nsreg_error *err)
{
	const json_t	*matches, *m, *ep;
	const char	*name;
	size_t		 cap, i;

	memset(out, 0, sizeof(*out));
	out->match = -1;
	cap = json_array_size(endpoints);
	if (cap == 0)
		return 0;
	if ((out->v = calloc(cap, sizeof(*out->v))) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	name = json_string_value(json_object_get(service, "name"));
	if (name == NULL)
		name = "";
	matches = json_object_get(service, "matches");
	json_array_foreach(matches, i, m) {
		if (!select_subset(json_object_get(m, "source_selector"),
		    labels))
			continue;
		out->n = 0;
		select_match(m, name, endpoints, out, cap);
		if (out->n == 0 && json_is_true(json_object_get(m,
		    "fallthrough")))
			continue;
		out->match = (int)i;
		return 0;
	}
	/* No match decided: every endpoint. */
	out->n = 0;
	json_array_foreach(endpoints, i, ep)
		(void)select_add(out, cap, ep);
	return 0;
}

static int
select_cmp(const void *a, const void *b)
{
	const struct select_candidate	*x = a, *y = b;

	if (x->load != y->load)
		return x->load < y->load ? -1 : 1;
	return strcmp(x->name, y->name);
}

void
select_order(struct select_result *r,
    int64_t (*load)(const char *name, void *arg), void *arg)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		r->v[i].load = load != NULL ? load(r->v[i].name, arg) : 0;
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(r->v[0]), select_cmp);
}

void
select_result_free(struct select_result *r)
{
	if (r == NULL)
		return;
	free(r->v);
	memset(r, 0, sizeof(*r));
	r->match = -1;
}
