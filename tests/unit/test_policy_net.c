/*
 * test_policy_net.c - Kubernetes' network functions (ip, cidr, url and
 * their methods) and the variables that use them, as data:
 * tests/policy/net.json.  Also: literal arguments are parsed once, when
 * the rule is compiled; every function has a cost; rules using each
 * function are accepted by the strict checker that nsreg-policy check and
 * PUT /v1/policies run.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "cel_ast.h"

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

struct run {
	struct cel_program	*p;
	struct cel_value	 v;
	struct cel_arena	 arena;
	struct policy_error	 err;
	char			 buf[4096];
};

static int
run(struct run *r, const char *src, int strict, const struct policy_input *in)
{
	struct cel_env env;
	struct cel_activation act = { .input = in };

	memset(&env, 0, sizeof(env));
	env.strict = strict;
	env.admission = 1;
	memset(r, 0, sizeof(*r));
	r->p = cel_compile(src, strlen(src), &env, &r->err);
	if (r->p == NULL)
		return -1;
	cel_arena_init(&r->arena, r->buf, sizeof(r->buf));
	r->v = cel_eval(r->p, &act, &r->arena, NULL);
	return 0;
}

static void
done(struct run *r)
{
	cel_arena_release(&r->arena);
	cel_program_free(r->p);
}

/*
 * A value as text, for failure messages; strings are quoted.  Other
 * kinds print their kind's name.
 */
static const char *
show(const struct cel_value *v, char *buf, size_t cap)
{
	switch (v->kind) {
	case CEL_ERROR:
		snprintf(buf, cap, "error(%s)", v->err);
		break;
	case CEL_STRING:
		snprintf(buf, cap, "'%.*s'", (int)v->aux, v->s);
		break;
	case CEL_BOOL:
		snprintf(buf, cap, "%s", v->b ? "true" : "false");
		break;
	case CEL_INT:
		snprintf(buf, cap, "%lld", (long long)v->i);
		break;
	default:
		snprintf(buf, cap, "<%s>", cel_kind_name(v->kind));
		break;
	}
	return buf;
}

/*
 * expr equals want: evaluated with the lenient checker and compared, and
 * as "(expr) == (want)" with the strict one (which wants a bool).
 */
static void
expect_want(const char *expr, const char *want, const struct policy_input *in)
{
	struct run a, b;
	char s1[256], s2[256], both[1024];

	cr_assert_eq(run(&b, want, 0, NULL), 0, "%s: %s", want,
	    b.err.message);
	if (run(&a, expr, 0, in) == -1)
		cr_expect_fail("%s: %s", expr, a.err.message);
	else {
		cr_expect(a.v.kind == b.v.kind && cel_equal(&a.v, &b.v) == 1,
		    "%s: %s, want %s", expr, show(&a.v, s1, sizeof(s1)),
		    show(&b.v, s2, sizeof(s2)));
		done(&a);
	}
	done(&b);
	snprintf(both, sizeof(both), "(%s) == (%s)", expr, want);
	if (run(&a, both, 1, in) == -1) {
		cr_expect_fail("%s (strict): %s", both, a.err.message);
		return;
	}
	cr_expect(a.v.kind == CEL_BOOL && a.v.b, "%s (strict): %s", both,
	    show(&a.v, s1, sizeof(s1)));
	done(&a);
}

static void
expect_error(const char *expr, const char *text,
    const struct policy_input *in)
{
	struct run a;
	char s1[256];

	if (run(&a, expr, 0, in) == -1) {
		cr_expect_fail("%s: %s", expr, a.err.message);
		return;
	}
	cr_expect(a.v.kind == CEL_ERROR && strstr(a.v.err, text) != NULL,
	    "%s: %s, want an error with '%s'", expr,
	    show(&a.v, s1, sizeof(s1)), text);
	done(&a);
	/* Strict: refused when written, or the same error when run. */
	if (run(&a, expr, 1, in) == -1) {
		cr_expect(strstr(a.err.message, text) != NULL,
		    "%s (strict): '%s', want '%s'", expr, a.err.message,
		    text);
		return;
	}
	cr_expect(a.v.kind == CEL_ERROR && strstr(a.v.err, text) != NULL,
	    "%s (strict): %s, want an error with '%s'", expr,
	    show(&a.v, s1, sizeof(s1)), text);
	done(&a);
}

static void
expect_compile_error(const char *expr, const char *text)
{
	struct run a;

	if (run(&a, expr, 1, NULL) == 0) {
		cr_expect_fail("%s: compiled, want '%s'", expr, text);
		done(&a);
		return;
	}
	cr_expect(strstr(a.err.message, text) != NULL, "%s: '%s', want '%s'",
	    expr, a.err.message, text);
}

Test(policy_net, table)
{
	json_t *doc = load_data("net.json");
	const json_t *c, *inputs = json_object_get(doc, "inputs");
	struct policy_input in, alt;
	struct policy_input_storage st, ast;
	struct policy_error err;
	size_t i, n = 0;

	cr_assert_eq(policy_input_from_json(json_object_get(doc, "input"),
	    &in, &st, &err), 0, "input: %s", err.message);
	json_array_foreach(json_object_get(doc, "expressions"), i, c) {
		const char *expr = json_string_value(json_object_get(c,
		    "expr"));
		const char *want = json_string_value(json_object_get(c,
		    "want"));
		const char *error = json_string_value(json_object_get(c,
		    "error"));
		const char *cerr = json_string_value(json_object_get(c,
		    "compile_error"));
		const char *iname = json_string_value(json_object_get(c,
		    "input"));
		const struct policy_input *use = &in;

		cr_assert_not_null(expr, "case %zu: no expr", i);
		if (iname != NULL) {
			cr_assert_eq(policy_input_from_json(json_object_get(
			    inputs, iname), &alt, &ast, &err), 0, "%s: %s",
			    iname, err.message);
			use = &alt;
		}
		if (want != NULL)
			expect_want(expr, want, use);
		else if (error != NULL)
			expect_error(expr, error, use);
		else if (cerr != NULL)
			expect_compile_error(expr, cerr);
		else
			cr_assert_fail("case %zu: %s: no expectation", i,
			    expr);
		n++;
	}
	cr_expect_gt(n, 200);
	json_decref(doc);
}

/* The DESIGN's performance rule: the CIDR literal is parsed once. */
Test(policy_net, literal_arguments_are_parsed_when_compiled)
{
	struct cel_env env = { .strict = 1, .admission = 1 };
	struct policy_error err;
	struct cel_program *p;
	const char *src;

	src = "cidr('10.0.0.0/8').containsIP(endpoint.address)";
	p = cel_compile(src, strlen(src), &env, &err);
	cr_assert_not_null(p, "%s", err.message);
	cr_expect_eq(p->root->op, CEL_OP_CALL);
	cr_expect_eq(p->root->a->op, CEL_OP_LIT);
	cr_expect_eq(p->root->a->lit.kind, CEL_CIDR);
	cel_program_free(p);
	src = "url('https://x/').getHost() == endpoint.address";
	p = cel_compile(src, strlen(src), &env, &err);
	cr_assert_not_null(p, "%s", err.message);
	cr_expect_eq(p->root->a->a->op, CEL_OP_LIT);
	cr_expect_eq(p->root->a->a->lit.kind, CEL_URL);
	cel_program_free(p);
	/* The string argument of containsIP too, and whole constant calls. */
	src = "cidr(endpoint.address + '/8').containsIP('1.2.3.4')";
	p = cel_compile(src, strlen(src), &env, &err);
	cr_assert_not_null(p, "%s", err.message);
	cr_expect_eq(p->root->args[0]->op, CEL_OP_LIT);
	cr_expect_eq(p->root->args[0]->kind, CEL_IP);
	cel_program_free(p);
	src = "cidr('10.0.0.0/8').containsIP('10.1.2.3')";
	p = cel_compile(src, strlen(src), &env, &err);
	cr_assert_not_null(p, "%s", err.message);
	cr_expect_eq(p->root->op, CEL_OP_LIT);
	cr_expect_eq(p->root->lit.kind, CEL_BOOL);
	cr_expect_eq(p->root->lit.b, 1);
	cel_program_free(p);
}

Test(policy_net, every_function_has_a_cost)
{
	const struct cel_func *f;
	int i;

	for (i = 0; (f = cel_net_func(i)) != NULL; i++) {
		cr_expect_gt(f->cost, 0, "%s", f->name);
		cr_expect_eq(cel_func_get(CEL_NET_FUNC_BASE + i), f);
	}
	cr_expect_geq(i, 23);
}

/* A literal that can never parse is refused when the rule is written. */
Test(policy_net, bad_literals_are_refused_by_the_strict_checker)
{
	static const struct {
		const char *expr, *text;
	} bad[] = {
		{ "cidr('10.0.0.0/33').containsIP(endpoint.address)",
		    "1:1: invalid argument to cidr: network address parse "
		    "error during conversion from string: prefix length out "
		    "of range" },
		{ "cidr('10.0.0.0/8').containsIP('10.0.0.300')",
		    "1:19: invalid argument to containsIP: IP Address parse "
		    "error during conversion from string: IPv4 field has "
		    "value >255" },
		{ "url('a:b:c').getHost() == ''", "" },
		{ "ip('::ffff:10.0.0.1').isLoopback()",
		    "IPv4-mapped IPv6 address is not allowed" },
	};
	struct cel_env env = { .strict = 1, .admission = 1 };
	struct policy_error err;
	struct cel_program *p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = cel_compile(bad[i].expr, strlen(bad[i].expr), &env, &err);
		if (bad[i].text[0] == '\0') {
			/* An opaque URL parses: nothing to refuse. */
			cr_expect_not_null(p, "%s: %s", bad[i].expr,
			    err.message);
			cel_program_free(p);
			continue;
		}
		cr_expect_null(p, "%s: compiled", bad[i].expr);
		cr_expect(strstr(err.message, bad[i].text) != NULL,
		    "%s: '%s'", bad[i].expr, err.message);
		cel_program_free(p);
	}
}

/* What nsreg-policy check and PUT /v1/policies run: policy_set_build. */
Test(policy_net, rules_using_every_function_check_and_decide)
{
	json_t *doc = load_data("net-rules.json");
	struct policy_set *set;
	struct policy_error err;
	struct policy_input in;
	struct policy_input_storage st;
	struct policy_decision d;
	const json_t *c;
	size_t i;

	set = policy_set_build(json_object_get(doc, "rules"), NULL, &err);
	cr_assert_not_null(set, "%s", err.message);
	json_array_foreach(json_object_get(doc, "cases"), i, c) {
		const char *name = json_string_value(json_object_get(c,
		    "name"));
		const char *want = json_string_value(json_object_get(
		    json_object_get(c, "expect"), "decision"));

		cr_assert_eq(policy_input_from_json(json_object_get(c,
		    "input"), &in, &st, &err), 0, "%s: %s", name,
		    err.message);
		cr_assert_eq(policy_set_decide(set, &in, &d), 0);
		cr_expect_eq(d.allow, strcmp(want, "allow") == 0,
		    "%s: decision", name);
		cr_expect_eq(d.n_errors, 0, "%s: %zu errors (%s)", name,
		    d.n_errors, d.n_errors ? d.errors[0].message : "");
	}
	policy_set_free(set);
	json_decref(doc);
}
