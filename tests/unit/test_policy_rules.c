/*
 * test_policy_rules.c - rule validation, the decision function (as data:
 * tests/policy/NAME.json), decisions as JSON, cost limits, and one rule set
 * shared by many threads.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_tz.h"

static json_t *
load_data(const char *name)
{
	const char *src = getenv("NSREG_SRCDIR");
	char path[4096];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/tests/policy/%s",
	    src != NULL ? src : ".", name);
	j = json_load_file(path, 0, &jerr);
	cr_assert_not_null(j, "%s: %d: %s", path, jerr.line, jerr.text);
	return j;
}

static int
names_equal(const json_t *want, const char *const *got, size_t n)
{
	size_t i, j;

	if (json_array_size(want) != n)
		return 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(json_string_value(json_array_get(want, j)),
			    got[i]) == 0)
				break;
		if (j == n)
			return 0;
	}
	return 1;
}

static void
run_table(const char *file)
{
	json_t *doc = load_data(file);
	const json_t *c;
	struct policy_error err;
	struct policy_set *set;
	size_t i, k;

	struct policy_tzdb *db = policy_tzdb_new(NULL);
	struct policy_options o = { .tz = policy_tzdb_tz(db) };

	set = policy_set_build(json_object_get(doc, "rules"), &o, &err);
	cr_assert_not_null(set, "%s: %s", file, err.message);
	json_array_foreach(json_object_get(doc, "cases"), i, c) {
		const char *name = json_string_value(json_object_get(c,
		    "name"));
		const json_t *exp = json_object_get(c, "expect");
		const json_t *w;
		struct policy_input in;
		struct policy_input_storage st;
		struct policy_decision d;

		cr_assert_eq(policy_input_from_json(json_object_get(c,
		    "input"), &in, &st, &err), 0, "%s: %s: %s", file, name,
		    err.message);
		cr_assert_eq(policy_set_decide(set, &in, &d), 0);
		cr_expect_eq(d.allow, strcmp(json_string_value(
		    json_object_get(exp, "decision")), "allow") == 0,
		    "%s: %s: decision", file, name);
		w = json_object_get(exp, "reasons");
		if (w != NULL)
			cr_expect(names_equal(w, d.reasons, d.n_reasons),
			    "%s: %s: reasons", file, name);
		w = json_object_get(exp, "errors");
		if (w != NULL) {
			cr_expect_eq(json_array_size(w), d.n_errors,
			    "%s: %s: %zu errors", file, name, d.n_errors);
			for (k = 0; k < json_array_size(w) && k < d.n_errors;
			    k++) {
				const json_t *e = json_array_get(w, k);
				const char *m = json_string_value(
				    json_object_get(e, "message"));

				cr_expect_str_eq(d.errors[k].policy,
				    json_string_value(json_object_get(e,
				    "policy")), "%s: %s", file, name);
				if (m != NULL)
					cr_expect(strstr(d.errors[k].message,
					    m) != NULL, "%s: %s: '%s'", file,
					    name, d.errors[k].message);
			}
		}
		w = json_object_get(exp, "audit");
		if (w != NULL) {
			cr_expect_eq(json_array_size(w), d.n_audit,
			    "%s: %s: audit", file, name);
			for (k = 0; k < json_array_size(w) && k < d.n_audit;
			    k++) {
				const json_t *e = json_array_get(w, k);

				cr_expect_str_eq(d.audit[k].policy,
				    json_string_value(json_object_get(e,
				    "policy")));
				cr_expect_eq(d.audit[k].matched,
				    json_is_true(json_object_get(e,
				    "matched")), "%s: %s: audit %s", file,
				    name, d.audit[k].policy);
			}
		}
	}
	policy_set_free(set);
	policy_tzdb_free(db);
	json_decref(doc);
}

Test(policy_rules, decision_tables_as_data)
{
	const char *src = getenv("NSREG_SRCDIR");
	char dir[4096];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/policy", src != NULL ? src :
	    ".");
	d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		json_t *doc;

		if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		doc = load_data(de->d_name);
		if (json_object_get(doc, "cases") != NULL) {
			run_table(de->d_name);
			n++;
		}
		json_decref(doc);
	}
	closedir(d);
	cr_expect_geq(n, 2, "only %d decision tables", n);
}

Test(policy_rules, invalid_rules_are_refused_precisely)
{
	json_t *doc = load_data("invalid-rules.json");
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(doc, "invalid"), i, c) {
		const json_t *rule = json_object_get(c, "rule");
		const char *field = json_string_value(json_object_get(c,
		    "field"));
		const char *msg = json_string_value(json_object_get(c,
		    "message"));
		struct policy_error err;
		json_t *set;
		struct policy_set *ps;
		char want[128];

		cr_expect_eq(policy_rule_check(rule, NULL, &err), -1,
		    "[%zu] accepted", i);
		cr_expect_str_eq(err.field, field, "[%zu] field '%s'", i,
		    err.field);
		cr_expect(strstr(err.message, msg) != NULL,
		    "[%zu] '%s' lacks '%s'", i, err.message, msg);
		if (json_object_get(c, "line") != NULL) {
			cr_expect_eq(err.line, json_integer_value(
			    json_object_get(c, "line")), "[%zu] line", i);
			cr_expect_eq(err.column, json_integer_value(
			    json_object_get(c, "column")), "[%zu] column %d",
			    i, err.column);
		}
		/* In a set, the field is prefixed with the index. */
		set = json_pack("[{s:s,s:s,s:[s]},O]", "name", "ok", "effect",
		    "permit", "actions", "find", rule);
		ps = policy_set_build(set, NULL, &err);
		cr_expect_null(ps);
		snprintf(want, sizeof(want), "[1].%s", field);
		if (*field == '\0')
			want[3] = '\0';
		cr_expect_str_eq(err.field, want, "[%zu] set field '%s'", i,
		    err.field);
		policy_set_free(ps);
		json_decref(set);
	}
	json_decref(doc);
}

Test(policy_rules, valid_rules_and_server_metadata_pass)
{
	struct policy_error err;
	json_t *r = json_pack("{s:s,s:s,s:[s,s],s:[s],s:s,s:s,s:s,s:i,s:s}",
	    "name", "db.replication_1", "effect", "forbid", "actions",
	    "connect", "find", "services", "db@eu.example", "condition",
	    "principal.trust_domain != 'eu.example'", "description",
	    "only EU replicas", "mode", "audit", "revision", 12,
	    "created_at", "2025-01-01T00:00:00Z");

	cr_expect_eq(policy_rule_check(r, NULL, &err), 0, "%s", err.message);
	json_decref(r);
}

Test(policy_rules, duplicate_names_and_non_arrays_are_refused)
{
	struct policy_error err;
	json_t *set = json_pack("[{s:s,s:s,s:[s]},{s:s,s:s,s:[s]}]", "name",
	    "a", "effect", "permit", "actions", "find", "name", "a",
	    "effect", "forbid", "actions", "find");

	cr_expect_null(policy_set_build(set, NULL, &err));
	cr_expect_str_eq(err.field, "[1].name");
	cr_expect(strstr(err.message, "duplicate rule name 'a'") != NULL);
	json_decref(set);
	set = json_object();
	cr_expect_null(policy_set_build(set, NULL, &err));
	cr_expect(strstr(err.message, "JSON array") != NULL);
	json_decref(set);
}

Test(policy_rules, empty_set_denies_everything)
{
	json_t *rules = json_array();
	struct policy_set *set = policy_set_build(rules, NULL, NULL);
	struct policy_input in = { .action = "find" };
	struct policy_decision d;

	cr_assert_not_null(set);
	cr_expect_eq(policy_set_count(set), 0);
	cr_expect_eq(policy_set_decide(set, &in, &d), 0);
	cr_expect_eq(d.allow, 0);
	cr_expect_eq(d.n_reasons, 0);
	policy_set_free(set);
	json_decref(rules);
}

Test(policy_rules, unknown_action_is_an_error_and_a_deny)
{
	json_t *rules = json_pack("[{s:s,s:s,s:[s]}]", "name", "a",
	    "effect", "permit", "actions", "find");
	struct policy_set *set = policy_set_build(rules, NULL, NULL);
	struct policy_input in = { .action = "delete" };
	struct policy_decision d;

	cr_expect_eq(policy_set_decide(set, &in, &d), -1);
	cr_expect_eq(d.allow, 0);
	cr_expect_eq(d.n_errors, 1);
	in.action = NULL;
	cr_expect_eq(policy_set_decide(set, &in, &d), -1);
	policy_set_free(set);
	json_decref(rules);
}

Test(policy_rules, decision_json_is_exactly_the_contract)
{
	json_t *rules = json_pack("[{s:s,s:s,s:[s],s:s},{s:s,s:s,s:[s]},"
	    "{s:s,s:s,s:[s],s:s,s:s}]",
	    "name", "e", "effect", "permit", "actions", "find", "condition",
	    "principal.claims.x == 1",
	    "name", "p", "effect", "permit", "actions", "find",
	    "name", "au", "effect", "forbid", "actions", "find", "mode",
	    "audit", "condition", "true");
	struct policy_set *set = policy_set_build(rules, NULL, NULL);
	struct policy_principal pr = { .id = "spiffe://a/b" };
	struct policy_input in = { .principal = &pr, .action = "find" };
	struct policy_decision d;
	json_t *j;
	char *s;

	cr_assert_not_null(set);
	cr_assert_eq(policy_set_decide(set, &in, &d), 0);
	j = policy_decision_json(&d);
	s = json_dumps(j, JSON_COMPACT);
	cr_expect_str_eq(s, "{\"decision\":\"allow\",\"reasons\":[\"p\"],"
	    "\"errors\":[{\"policy\":\"e\",\"message\":\"1:17: no such "
	    "key\"}],\"audit\":[{\"policy\":\"au\",\"effect\":\"forbid\","
	    "\"matched\":true}]}");
	free(s);
	json_decref(j);
	cr_expect_eq(d.n_evaluated, 3);
	policy_set_free(set);
	json_decref(rules);
}

Test(policy_rules, cost_limit_is_per_expression_and_configurable)
{
	struct policy_options o = { .max_cost = 10 };
	struct policy_error err;
	json_t *r = json_pack("{s:s,s:s,s:[s],s:s}", "name", "a", "effect",
	    "permit", "actions", "find", "condition",
	    "principal.claims.groups.exists(g, g == 'x')");

	cr_expect_eq(policy_rule_check(r, &o, &err), -1);
	cr_expect_str_eq(err.field, "condition");
	cr_expect(strstr(err.message, "exceeds the limit of 10") != NULL,
	    "%s", err.message);
	o.max_cost = 0;		/* the default */
	cr_expect_eq(policy_rule_check(r, &o, &err), 0, "%s", err.message);
	json_decref(r);
}

Test(policy_rules, runtime_cost_overrun_is_an_error_of_that_rule)
{
	/*
	 * The estimate assumes lists of 64 entries; a principal with
	 * thousands of groups makes the nested loop overrun at run time.
	 */
	json_t *rules = json_pack("[{s:s,s:s,s:[s],s:s},{s:s,s:s,s:[s]}]",
	    "name", "loop", "effect", "forbid", "actions", "find",
	    "condition", "principal.claims.g.exists(a, "
	    "principal.claims.g.exists(b, a + b == 'never'))",
	    "name", "ok", "effect", "permit", "actions", "find");
	json_t *claims = json_object(), *g = json_array();
	struct policy_options o = { .max_cost = 200000 };
	struct policy_set *set;
	struct policy_principal pr = { .id = "spiffe://a/b" };
	struct policy_input in = { .principal = &pr, .action = "find" };
	struct policy_decision d;
	struct policy_error err;
	int i;

	for (i = 0; i < 2000; i++)
		json_array_append_new(g, json_sprintf("g%d", i));
	json_object_set_new(claims, "g", g);
	pr.claims = claims;
	set = policy_set_build(rules, &o, &err);
	cr_assert_not_null(set, "%s", err.message);
	cr_assert_eq(policy_set_decide(set, &in, &d), 0);
	cr_expect_eq(d.allow, 0);	/* the forbid errored: it holds */
	cr_expect_eq(d.n_errors, 1);
	cr_expect_str_eq(d.errors[0].policy, "loop");
	cr_expect(strstr(d.errors[0].message, "cost limit exceeded") != NULL,
	    "%s", d.errors[0].message);
	policy_set_free(set);
	json_decref(rules);
	json_decref(claims);
}

Test(policy_rules, index_touches_only_rules_that_apply)
{
	json_t *rules = json_array();
	struct policy_set *set;
	struct policy_service svc = { .name = "s7" };
	struct policy_input in = { .action = "connect", .service = &svc };
	struct policy_decision d;
	int i;

	for (i = 0; i < 200; i++) {
		char name[16], s[16];

		snprintf(name, sizeof(name), "r%d", i);
		snprintf(s, sizeof(s), "s%d", i % 20);
		json_array_append_new(rules, json_pack("{s:s,s:s,s:[s],s:[s],"
		    "s:s}", "name", name, "effect", "permit", "actions",
		    i % 2 ? "connect" : "find", "services", s, "condition",
		    "true"));
	}
	json_array_append_new(rules, json_pack("{s:s,s:s,s:[s]}", "name",
	    "any", "effect", "forbid", "actions", "connect"));
	set = policy_set_build(rules, NULL, NULL);
	cr_assert_not_null(set);
	cr_assert_eq(policy_set_decide(set, &in, &d), 0);
	/* The forbid for any service, then nothing else is needed. */
	cr_expect_eq(d.n_evaluated, 1);
	cr_expect_eq(d.allow, 0);
	policy_set_free(set);
	json_array_remove(rules, json_array_size(rules) - 1);
	set = policy_set_build(rules, NULL, NULL);
	cr_assert_eq(policy_set_decide(set, &in, &d), 0);
	/*
	 * s7 is named by rules 7, 27, ..., 187, all connect rules: the
	 * first permit decides, the others are not evaluated.
	 */
	cr_expect_eq(d.n_evaluated, 1);
	cr_expect_eq(d.allow, 1);
	cr_expect_eq(d.n_reasons, 1);
	cr_expect_str_eq(d.reasons[0], "r7");
	in.action = "find";
	cr_assert_eq(policy_set_decide(set, &in, &d), 0);
	cr_expect_eq(d.n_evaluated, 0);	/* s7's rules are all connect */
	cr_expect_eq(d.allow, 0);
	policy_set_free(set);
	json_decref(rules);
}

Test(policy_rules, reasons_are_capped_but_counted)
{
	json_t *rules = json_array();
	struct policy_set *set;
	struct policy_input in = { .action = "find" };
	struct policy_decision d;
	json_t *j;
	int i;

	/* Every forbid that holds is a reason. */
	for (i = 0; i < 50; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r%d", i);
		json_array_append_new(rules, json_pack("{s:s,s:s,s:[s]}",
		    "name", name, "effect", "forbid", "actions", "find"));
	}
	set = policy_set_build(rules, NULL, NULL);
	cr_assert_eq(policy_set_decide(set, &in, &d), 0);
	cr_expect_eq(d.n_reasons, 50);
	j = policy_decision_json(&d);
	cr_expect_eq(json_array_size(json_object_get(j, "reasons")),
	    POLICY_DECISION_ITEMS);
	json_decref(j);
	policy_set_free(set);
	json_decref(rules);
}

struct worker {
	const struct policy_set	*set;
	int			 allowed;
	int			 denied;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	json_t *claims = json_pack("{s:[s]}", "groups", "dba");
	struct policy_principal pr = { .id = "spiffe://example.org/x",
	    .trust_domain = "example.org", .path = "/x", .claims = claims };
	struct policy_service svc = { .name = "db" };
	struct policy_input in = { .principal = &pr, .service = &svc };
	struct policy_decision d;
	int i;

	for (i = 0; i < 2000; i++) {
		in.action = i % 2 ? "connect" : "publish";
		policy_set_decide(w->set, &in, &d);
		if (d.allow)
			w->allowed++;
		else
			w->denied++;
	}
	json_decref(claims);
	return NULL;
}

Test(policy_rules, one_set_many_threads)
{
	json_t *rules = json_pack("[{s:s,s:s,s:[s],s:s}]", "name", "a",
	    "effect", "permit", "actions", "connect", "condition",
	    "principal.trust_domain == 'example.org' && 'dba' in "
	    "principal.claims.groups && principal.path.matches('^/x$') && "
	    "[1, 2, 3].map(x, string(x)).size() == 3");
	struct policy_set *set = policy_set_build(rules, NULL, NULL);
	pthread_t t[4];
	struct worker w[4];
	int i;

	cr_assert_not_null(set);
	for (i = 0; i < 4; i++) {
		w[i].set = policy_set_ref(set);
		w[i].allowed = w[i].denied = 0;
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	policy_set_free(set);	/* the workers still hold references */
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(w[i].allowed, 1000);
		cr_expect_eq(w[i].denied, 1000);
		policy_set_free((struct policy_set *)(uintptr_t)w[i].set);
	}
	json_decref(rules);
}

Test(policy_rules, input_from_json_refuses_unknown_fields)
{
	static const struct {
		const char *doc;
		const char *field;
	} bad[] = {
		{ "{}", "action" },
		{ "{\"action\":\"fly\"}", "action" },
		{ "{\"action\":\"find\",\"who\":1}", "who" },
		{ "{\"action\":\"find\",\"principal\":{\"name\":\"x\"}}",
		    "principal.name" },
		{ "{\"action\":\"find\",\"principal\":{\"expires_at\":\"x\"}}",
		    "principal.expires_at" },
		{ "{\"action\":\"find\",\"service\":{\"labels\":[]}}",
		    "service.labels" },
		{ "{\"action\":\"find\",\"endpoint\":{\"network_service_names"
		    "\":{}}}", "endpoint.network_service_names" },
		{ "{\"action\":\"find\",\"now\":\"yesterday\"}", "now" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = json_loads(bad[i].doc, 0, NULL);
		struct policy_input in;
		struct policy_input_storage st;
		struct policy_error err;

		cr_assert_not_null(doc);
		cr_expect_eq(policy_input_from_json(doc, &in, &st, &err), -1,
		    "%s accepted", bad[i].doc);
		cr_expect_str_eq(err.field, bad[i].field, "%s", bad[i].doc);
		json_decref(doc);
	}
}

Test(policy_rules, input_from_json_derives_spiffe_parts_and_times)
{
	json_t *doc = json_loads("{\"action\":\"connect\",\"principal\":"
	    "{\"id\":\"spiffe://td.example/ns/a\",\"expires_at\":"
	    "\"2025-01-01T00:00:01.5Z\"},\"now\":\"2025-01-01T00:00:00Z\"}",
	    0, NULL);
	struct policy_input in;
	struct policy_input_storage st;
	struct policy_error err;
	int64_t ms;

	cr_assert_eq(policy_input_from_json(doc, &in, &st, &err), 0, "%s",
	    err.message);
	cr_expect_str_eq(in.principal->trust_domain, "td.example");
	cr_expect_str_eq(in.principal->path, "/ns/a");
	cr_expect_eq(in.principal->expires_at, 1735689601500LL);
	cr_expect_eq(in.request->time, 1735689600000LL);
	cr_expect_null(in.service);
	cr_expect_eq(policy_time_parse("1970-01-01T01:00:00+01:00", &ms), 0);
	cr_expect_eq(ms, 0);
	cr_expect_eq(policy_time_parse("1970-01-01 01:00:00Z", &ms), -1);
	json_decref(doc);
}
