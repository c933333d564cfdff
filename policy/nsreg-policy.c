/*
 * nsreg-policy - check, evaluate and test admission rules offline, the way
 * operators test policies in their own CI (see nsreg-policy(1)).
 *
 * Exit codes: 0 success (valid, allowed, every case passed); 1 the answer
 * is no (check: invalid rule set; eval: denied; test: a case failed); 2
 * the job could not be done (usage, unreadable or malformed file, for
 * eval and test an invalid rule set or input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy_tz.h"

#define EXIT_NO		1
#define EXIT_TROUBLE	2

static void
usage(void)
{
	fprintf(stderr,
	    "usage: nsreg-policy check FILE\n"
	    "       nsreg-policy eval FILE INPUT\n"
	    "       nsreg-policy test FILE CASES\n"
	    "       nsreg-policy conformance\n");
}

/* Load a JSON file ("-" is stdin); NULL with a message on stderr. */
static json_t *
load(const char *path)
{
	json_error_t jerr;
	json_t *j;

	if (strcmp(path, "-") == 0)
		j = json_loadf(stdin, 0, &jerr);
	else
		j = json_load_file(path, 0, &jerr);
	if (j == NULL) {
		if (jerr.line > 0)
			fprintf(stderr, "nsreg-policy: %s:%d:%d: %s\n", path,
			    jerr.line, jerr.column, jerr.text);
		else
			fprintf(stderr, "nsreg-policy: %s: %s\n", path,
			    jerr.text);
	}
	return j;
}

/* The rules of a file: an array, or an object with "rules". Borrowed. */
static const json_t *
rules_of(const json_t *doc)
{
	if (json_is_object(doc) && json_object_get(doc, "rules") != NULL)
		return json_object_get(doc, "rules");
	return doc;
}

static struct policy_set *
build(const char *path, const json_t *doc, const struct policy_options *o)
{
	struct policy_error err;
	struct policy_set *set;

	set = policy_set_build(rules_of(doc), o, &err);
	if (set == NULL)
		fprintf(stderr, "%s: %s\n", path, err.message);
	return set;
}

static int
cmd_check(const char *path, const struct policy_options *o)
{
	json_t *doc;
	struct policy_set *set;
	int rc = EXIT_TROUBLE;

	doc = load(path);
	if (doc == NULL)
		return EXIT_TROUBLE;
	set = build(path, doc, o);
	if (set == NULL)
		rc = EXIT_NO;
	else {
		printf("%s: %zu rule%s OK\n", path, policy_set_count(set),
		    policy_set_count(set) == 1 ? "" : "s");
		rc = 0;
	}
	policy_set_free(set);
	json_decref(doc);
	return rc;
}

static int
cmd_eval(const char *path, const char *inpath, const struct policy_options *o)
{
	json_t *doc = NULL, *input = NULL, *out = NULL;
	struct policy_set *set = NULL;
	struct policy_input in;
	struct policy_input_storage st;
	struct policy_decision d;
	struct policy_error err;
	char *s;
	int rc = EXIT_TROUBLE;

	doc = load(path);
	if (doc == NULL)
		goto done;
	set = build(path, doc, o);
	if (set == NULL)
		goto done;
	input = load(inpath);
	if (input == NULL)
		goto done;
	if (policy_input_from_json(input, &in, &st, &err) == -1) {
		fprintf(stderr, "%s: %s\n", inpath, err.message);
		goto done;
	}
	if (policy_set_decide(set, &in, &d) == -1) {
		fprintf(stderr, "%s: %s\n", inpath, d.errors[0].message);
		goto done;
	}
	out = policy_decision_json(&d);
	s = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
	if (s == NULL) {
		fprintf(stderr, "nsreg-policy: out of memory\n");
		goto done;
	}
	printf("%s\n", s);
	free(s);
	rc = d.allow ? 0 : EXIT_NO;
done:
	json_decref(out);
	json_decref(input);
	policy_set_free(set);
	json_decref(doc);
	return rc;
}

/* ------------------------------------------------------------ test */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Compare a list of names as sets; 1 equal. */
static int
same_names(const json_t *want, const char *const *got, size_t ngot)
{
	const char *w[POLICY_DECISION_ITEMS], *g[POLICY_DECISION_ITEMS];
	size_t i;

	if (json_array_size(want) != ngot || ngot > POLICY_DECISION_ITEMS)
		return 0;
	for (i = 0; i < ngot; i++) {
		w[i] = json_string_value(json_array_get(want, i));
		if (w[i] == NULL)
			return 0;
		g[i] = got[i];
	}
	qsort(w, ngot, sizeof(w[0]), cmp_str);
	qsort(g, ngot, sizeof(g[0]), cmp_str);
	for (i = 0; i < ngot; i++)
		if (strcmp(w[i], g[i]) != 0)
			return 0;
	return 1;
}

/* Expected errors: names, or {"policy", "message" (substring)}. */
static int
same_errors(const json_t *want, const struct policy_decision *d)
{
	size_t i, j, n = d->n_errors;
	int used[POLICY_DECISION_ITEMS] = { 0 };

	if (json_array_size(want) != n || n > POLICY_DECISION_ITEMS)
		return 0;
	for (i = 0; i < n; i++) {
		const json_t *w = json_array_get(want, i);
		const char *pol = json_is_string(w) ? json_string_value(w) :
		    json_string_value(json_object_get(w, "policy"));
		const char *msg = json_string_value(json_object_get(w,
		    "message"));

		if (pol == NULL)
			return 0;
		for (j = 0; j < n; j++) {
			if (used[j] || strcmp(d->errors[j].policy, pol) != 0)
				continue;
			if (msg != NULL && strstr(d->errors[j].message,
			    msg) == NULL)
				continue;
			used[j] = 1;
			break;
		}
		if (j == n)
			return 0;
	}
	return 1;
}

static int
same_audit(const json_t *want, const struct policy_decision *d)
{
	size_t i, j, n = d->n_audit;
	int used[POLICY_DECISION_ITEMS] = { 0 };

	if (json_array_size(want) != n || n > POLICY_DECISION_ITEMS)
		return 0;
	for (i = 0; i < n; i++) {
		const json_t *w = json_array_get(want, i);
		const char *pol = json_string_value(json_object_get(w,
		    "policy"));
		const char *eff = json_string_value(json_object_get(w,
		    "effect"));
		const json_t *m = json_object_get(w, "matched");

		if (pol == NULL)
			return 0;
		for (j = 0; j < n; j++) {
			if (used[j] || strcmp(d->audit[j].policy, pol) != 0)
				continue;
			if (eff != NULL && strcmp(eff, d->audit[j].forbid ?
			    "forbid" : "permit") != 0)
				continue;
			if (m != NULL && json_is_true(m) != d->audit[j].matched)
				continue;
			used[j] = 1;
			break;
		}
		if (j == n)
			return 0;
	}
	return 1;
}

static void
show(const char *label, const json_t *want, const json_t *got)
{
	char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
	char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);

	printf("#   %-9s want %s\n#   %-9s got  %s\n", label,
	    w != NULL ? w : "?", "", g != NULL ? g : "?");
	free(w);
	free(g);
}

/* Run one case; 1 pass, 0 fail, -1 invalid case. */
static int
run_case(const struct policy_set *set, const json_t *c, size_t num,
    const char *cpath)
{
	const json_t *input = json_object_get(c, "input");
	const json_t *expect = json_object_get(c, "expect");
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *want;
	struct policy_input in;
	struct policy_input_storage st;
	struct policy_decision d;
	struct policy_error err;
	json_t *got;
	int ok = 1;

	if (name == NULL)
		name = "";
	if (input == NULL || !json_is_object(expect)) {
		fprintf(stderr, "%s: case %zu (%s): needs \"input\" and an "
		    "\"expect\" object\n", cpath, num, name);
		return -1;
	}
	want = json_string_value(json_object_get(expect, "decision"));
	if (want == NULL || (strcmp(want, "allow") != 0 &&
	    strcmp(want, "deny") != 0)) {
		fprintf(stderr, "%s: case %zu (%s): expect.decision must be "
		    "\"allow\" or \"deny\"\n", cpath, num, name);
		return -1;
	}
	if (policy_input_from_json(input, &in, &st, &err) == -1) {
		fprintf(stderr, "%s: case %zu (%s): input.%s\n", cpath, num,
		    name, err.message);
		return -1;
	}
	policy_set_decide(set, &in, &d);
	got = policy_decision_json(&d);
	if (got == NULL)
		return -1;
	if ((strcmp(want, "allow") == 0) != d.allow)
		ok = 0;
	if (json_object_get(expect, "reasons") != NULL &&
	    !same_names(json_object_get(expect, "reasons"), d.reasons,
	    d.n_reasons))
		ok = 0;
	if (json_object_get(expect, "errors") != NULL &&
	    !same_errors(json_object_get(expect, "errors"), &d))
		ok = 0;
	if (json_object_get(expect, "audit") != NULL &&
	    !same_audit(json_object_get(expect, "audit"), &d))
		ok = 0;
	printf("%sok %zu - %s\n", ok ? "" : "not ", num, name);
	if (!ok) {
		static const char *const keys[] = { "decision", "reasons",
		    "errors", "audit" };
		size_t k;

		for (k = 0; k < 4; k++) {
			const json_t *w = json_object_get(expect, keys[k]);
			const json_t *g = json_object_get(got, keys[k]);

			if (w != NULL && !json_equal(w, g))
				show(keys[k], w, g);
		}
	}
	json_decref(got);
	return ok;
}

static int
cmd_test(const char *path, const char *cpath, const struct policy_options *o)
{
	json_t *doc = NULL, *cdoc = NULL;
	const json_t *cases, *c;
	struct policy_set *set = NULL;
	size_t i, pass = 0, fail = 0;
	int rc = EXIT_TROUBLE;

	doc = load(path);
	if (doc == NULL)
		goto done;
	set = build(path, doc, o);
	if (set == NULL)
		goto done;
	cdoc = load(cpath);
	if (cdoc == NULL)
		goto done;
	cases = json_is_object(cdoc) ? json_object_get(cdoc, "cases") : cdoc;
	if (!json_is_array(cases)) {
		fprintf(stderr, "%s: want an array of cases (or an object "
		    "with \"cases\")\n", cpath);
		goto done;
	}
	printf("1..%zu\n", json_array_size(cases));
	json_array_foreach(cases, i, c) {
		int r = run_case(set, c, i + 1, cpath);

		if (r == -1)
			goto done;
		if (r)
			pass++;
		else
			fail++;
	}
	printf("# %zu passed, %zu failed\n", pass, fail);
	rc = fail > 0 ? EXIT_NO : 0;
done:
	json_decref(cdoc);
	policy_set_free(set);
	json_decref(doc);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct policy_tzdb *db;
	struct policy_options o;
	int rc = EXIT_TROUBLE;

	if (argc < 2) {
		usage();
		return EXIT_TROUBLE;
	}
	db = policy_tzdb_new(NULL);
	memset(&o, 0, sizeof(o));
	o.tz = db != NULL ? policy_tzdb_tz(db) : NULL;
	if (strcmp(argv[1], "check") == 0 && argc == 3)
		rc = cmd_check(argv[2], &o);
	else if (strcmp(argv[1], "eval") == 0 && argc == 4)
		rc = cmd_eval(argv[2], argv[3], &o);
	else if (strcmp(argv[1], "test") == 0 && argc == 4)
		rc = cmd_test(argv[2], argv[3], &o);
	else if (strcmp(argv[1], "conformance") == 0 && argc == 2)
		rc = cli_conformance(o.tz);
	else
		usage();
	policy_tzdb_free(db);
	return rc;
}
