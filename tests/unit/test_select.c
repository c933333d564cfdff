/*
 * test_select.c - NSM endpoint selection as a table
 * (tests/select/cases.json): matches, selectors, fallthrough, order.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"

static json_t *
load_cases(void)
{
	const char	*src = getenv("NSREG_SRCDIR");
	char		 path[1024];
	json_error_t	 jerr;
	json_t		*cases;

	snprintf(path, sizeof(path), "%s/tests/select/cases.json",
	    src != NULL ? src : ".");
	cases = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	cr_assert_not_null(cases, "%s:%d: %s", path, jerr.line, jerr.text);
	cr_assert(json_is_array(cases));
	return cases;
}

/* Rendered endpoint records of a case's {"name","labels","other"}. */
static json_t *
case_endpoints(const json_t *c)
{
	const json_t	*svc = json_object_get(c, "service"), *e, *l;
	const char	*sname;
	json_t		*out = json_array(), *nsl, *o;
	size_t		 i;

	sname = json_string_value(json_object_get(svc, "name"));
	json_array_foreach(json_object_get(c, "endpoints"), i, e) {
		nsl = json_object_get(e, "other") != NULL ?
		    json_deep_copy(json_object_get(e, "other")) : json_object();
		if ((l = json_object_get(e, "labels")) != NULL)
			json_object_set(nsl, sname, (json_t *)l);
		o = json_pack("{s:O, s:s, s:[s], s:o}", "name",
		    json_object_get(e, "name"), "url", "tcp://10.0.0.1:1",
		    "network_service_names", sname,
		    "network_service_labels", nsl);
		cr_assert_not_null(o);
		json_array_append_new(out, o);
	}
	return out;
}

static int64_t
case_load(const char *name, void *arg)
{
	return json_integer_value(json_object_get((const json_t *)arg, name));
}

Test(select, table_of_cases)
{
	struct select_result	 r;
	struct nsreg_error	 err;
	json_t			*cases, *c, *eps, *want;
	const char		*name;
	size_t			 i, j;

	cases = load_cases();
	cr_assert_gt(json_array_size(cases), 10);
	json_array_foreach(cases, i, c) {
		name = json_string_value(json_object_get(c, "name"));
		eps = case_endpoints(c);
		cr_assert_eq(select_endpoints(json_object_get(c, "service"),
		    json_is_object(json_object_get(c, "labels")) ?
		    json_object_get(c, "labels") : NULL, eps, &r, &err), 0,
		    "%s: %s", name, err.message);
		select_order(&r, case_load, json_object_get(c, "loads"));
		want = json_object_get(c, "want");
		cr_expect_eq(r.n, json_array_size(want),
		    "%s: %zu candidates, want %zu", name, r.n,
		    json_array_size(want));
		for (j = 0; j < r.n && j < json_array_size(want); j++)
			cr_expect_str_eq(r.v[j].name,
			    json_string_value(json_array_get(want, j)),
			    "%s: candidate %zu", name, j);
		for (j = 0; j < r.n; j++)
			cr_expect_str_eq(json_string_value(json_object_get(
			    r.v[j].endpoint, "name")), r.v[j].name, "%s",
			    name);
		cr_expect_eq(r.match, (int)json_integer_value(json_object_get(c,
		    "match")), "%s: match %d", name, r.match);
		select_result_free(&r);
		json_decref(eps);
	}
	json_decref(cases);
}

Test(select, candidates_are_the_callers_records)
{
	struct select_result	 r;
	struct nsreg_error	 err;
	json_t			*svc, *eps;

	svc = json_pack("{s:s, s:[]}", "name", "db", "matches");
	eps = json_pack("[{s:s}, {s:s}, {s:i}]", "name", "a", "name", "b",
	    "name", 3);
	cr_assert_eq(select_endpoints(svc, NULL, eps, &r, &err), 0);
	/* A record without a name is never a candidate. */
	cr_assert_eq(r.n, 2);
	cr_expect_eq(r.v[0].endpoint, json_array_get(eps, 0));
	cr_expect_eq(r.v[1].endpoint, json_array_get(eps, 1));
	select_order(&r, NULL, NULL);
	cr_expect_str_eq(r.v[0].name, "a");
	select_result_free(&r);
	cr_expect_null(r.v);
	cr_expect_eq(r.match, -1);
	json_decref(svc);
	json_decref(eps);
}

Test(select, nothing_to_choose_from_allocates_nothing)
{
	struct select_result	 r;
	struct nsreg_error	 err;
	json_t			*svc = json_pack("{s:s}", "name", "db");

	cr_assert_eq(select_endpoints(svc, NULL, NULL, &r, &err), 0);
	cr_expect_eq(r.n, 0);
	cr_expect_null(r.v);
	select_result_free(&r);
	json_decref(svc);
}
