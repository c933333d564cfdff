/*
 * test_policy_parse.c - the lexer and parser: what compiles, and errors
 * with their line:column.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "policy_testlib.h"

static struct cel_program *
compile(const char *src, int strict, struct policy_error *err)
{
	struct cel_env env;

	memset(&env, 0, sizeof(env));
	env.strict = strict;
	env.admission = 1;
	return cel_compile(src, strlen(src), &env, err);
}

Test(policy_parse, literals_of_every_kind_compile)
{
	static const char *const ok[] = {
		"0", "-9223372036854775808", "0x1F", "18446744073709551615u",
		"0x10U", "1.5", ".5", "1e3", "1.5e-3", "'a'", "\"b\"",
		"'''tri\nple'''", "\"\"\"x\"\"\"", "r'\\d'", "b'\\xff'",
		"br'raw'", "true", "false", "null", "[]", "[1, 2,]", "{}",
		"{'a': 1,}", "'\\u00e9\\U0001F600\\101\\x41'",
		"a.b // a comment\n", "principal.claims.`x-y`",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct policy_error err;
		struct cel_program *p = compile(ok[i], 0, &err);

		cr_expect_not_null(p, "%s: %s", ok[i], err.message);
		cel_program_free(p);
	}
}

Test(policy_parse, operators_bind_as_the_grammar_says)
{
	static const struct {
		const char *expr;
		const char *same_as;
	} cases[] = {
		{ "1 + 2 * 3", "7" },
		{ "(1 + 2) * 3", "9" },
		{ "10 - 4 - 3", "3" },
		{ "2 * 3 % 4", "2" },
		{ "true || false && false", "true" },
		{ "!false && false", "false" },
		{ "1 < 2 == true", "true" },
		{ "false ? 1 : true ? 2 : 3", "2" },
		{ "-2 * -3", "6" },
		{ "--5", "5" },
		{ "2 in [1, 2] && !(3 in [1])", "true" },
		{ "[1, [2, 3]][1][0]", "2" },
		{ "{'a': {'b': 7}}.a.b", "7" },
		{ "'abc'.size() + size('de')", "5" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tl_result a, b;

		cr_assert_eq(tl_eval(&a, cases[i].expr, 0, NULL), 0, "%s: %s",
		    cases[i].expr, a.err.message);
		cr_assert_eq(tl_eval(&b, cases[i].same_as, 0, NULL), 0);
		cr_expect_eq(a.v.kind, b.v.kind, "%s", cases[i].expr);
		cr_expect_eq(cel_equal(&a.v, &b.v), 1, "%s", cases[i].expr);
		tl_done(&a);
		tl_done(&b);
	}
}

Test(policy_parse, syntax_errors_carry_line_and_column)
{
	static const struct {
		const char *src;
		int line, column;
		const char *text;
	} cases[] = {
		{ "", 1, 1, "empty expression" },
		{ "1 +", 1, 4, "unexpected end of expression" },
		{ "(1 + 2", 1, 7, "expected ')'" },
		{ "a.b.", 1, 5, "expected field name" },
		{ "1 2", 1, 3, "unexpected number" },
		{ "'abc", 1, 1, "unterminated string" },
		{ "'a\nb'", 1, 3, "newline in string" },
		{ "x == \n  @", 2, 3, "unexpected character '@'" },
		{ "1 = 2", 1, 3, "unexpected character '='" },
		{ "'\\q'", 1, 2, "invalid escape" },
		{ "'\\uD800'", 1, 8, "invalid code point" },
		{ "99999999999999999999", 1, 1, "out of range" },
		{ "9223372036854775808", 1, 1, "out of range" },
		{ "[1, 2", 1, 6, "expected ',' or ']'" },
		{ "{'a' 1}", 1, 6, "expected ':'" },
		{ "if", 1, 1, "reserved identifier" },
		{ "[].all(1, true)", 1, 8, "not an identifier" },
		{ "has(a)", 1, 5, "invalid argument to has()" },
		{ "a.`b", 1, 3, "invalid quoted identifier" },
		{ "'é' +\n'ü' +\n  )", 3, 3, "unexpected ')'" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_error err;
		struct cel_program *p = compile(cases[i].src, 0, &err);
		char want[32];

		cr_expect_null(p, "%s compiled", cases[i].src);
		cel_program_free(p);
		if (p != NULL)
			continue;
		cr_expect_eq(err.line, cases[i].line, "%s: line %d, want %d "
		    "(%s)", cases[i].src, err.line, cases[i].line,
		    err.message);
		cr_expect_eq(err.column, cases[i].column, "%s: column %d, "
		    "want %d (%s)", cases[i].src, err.column, cases[i].column,
		    err.message);
		snprintf(want, sizeof(want), "%d:%d: ", cases[i].line,
		    cases[i].column);
		cr_expect(strncmp(err.message, want, strlen(want)) == 0,
		    "%s: message %s", cases[i].src, err.message);
		cr_expect(strstr(err.message, cases[i].text) != NULL,
		    "%s: message '%s' lacks '%s'", cases[i].src, err.message,
		    cases[i].text);
	}
}

Test(policy_parse, nesting_is_bounded_not_a_crash)
{
	char buf[4096];
	struct policy_error err;
	struct cel_program *p;
	size_t i;

	for (i = 0; i < 1000; i++)
		buf[i] = '(';
	buf[i] = '\0';
	p = compile(buf, 0, &err);
	cr_assert_null(p);
	cr_expect(strstr(err.message, "nests too deeply") != NULL, "%s",
	    err.message);
	/* A long left-leaning chain is bounded too. */
	for (i = 0; i < 600; i++)
		memcpy(buf + 2 * i, "1+", 2);
	memcpy(buf + 2 * i, "1", 2);
	p = compile(buf, 0, &err);
	cr_assert_null(p);
	cr_expect(strstr(err.message, "nests too deeply") != NULL, "%s",
	    err.message);
}

Test(policy_parse, checker_rejects_what_cannot_work)
{
	static const struct {
		const char *src;
		const char *text;
		int column;
	} cases[] = {
		{ "principl.id == 'x'", "undeclared reference to 'principl'",
		    1 },
		{ "principal.idd == 'x'", "principal has no field 'idd'", 10 },
		{ "foo(1)", "undeclared reference to function 'foo'", 1 },
		{ "size(1, 2) == 1", "no overload of 'size' takes 2", 1 },
		{ "'a'.startsWith() ", "no overload of 'startsWith'", 4 },
		{ "1 + 'a' == 2", "no matching overload for '_+_' applied to "
		    "'(int, string)'", 3 },
		{ "!1", "'!_' applied to 'int'", 1 },
		{ "1 && true", "'_&&_'", 3 },
		{ "1 == 'a'", "always false", 3 },
		{ "'a' < 1", "'_<_'", 5 },
		{ "1 in 2", "'@in'", 3 },
		{ "1 ? true : false", "condition of '?:'", 3 },
		{ "'a'.size() + 1", "must be a bool", 12 },
		{ "1.0 % 2.0 == 0.0", "'_%_'", 5 },
		{ "size(1) == 1", "'size' applied to 'int'", 1 },
		{ "'x'.matches('(')", "invalid regular expression", 13 },
		{ "principal.id.foo == 1", "does not support field selection",
		    13 },
		{ "[1].all(x, x)", "", 0 },
		{ "action.size() > 0 && action.x == ''", "does not support",
		    28 },
		{ "42.charAt(1) == ''", "'charAt' applied to 'int'", 3 },
		{ "math.ceil(1) == 1.0", "'math.ceil' applied to 'int'", 5 },
		{ "1.hasValue()", "'hasValue' applied to 'int'", 2 },
		{ "'a'.charAt() == ''", "no overload of 'charAt'", 4 },
		{ "math.nope(1) == 1", "undeclared reference to 'math'", 1 },
		{ "[1].exists(i, v, 1)", "predicate must be a bool", 18 },
		{ "[1].transformMapEntry(i, v, 1).size() > 0",
		    "transformMapEntry wants a map", 29 },
		{ "[1].transformList(i, v, 1, v).size() > 0",
		    "filter must be a bool", 25 },
		{ "principal.claims.?email.orValue('') == ''", "", 0 },
		{ "cel.bind(x, principal.segments, x.size() > 2 && "
		    "x.exists(i, s, i == 0 && s == 'ns'))", "", 0 },
		{ "math.greatest(1, 2u, 3.0) > 2 && "
		    "'a%s'.format(['b']).upperAscii() == 'AB'", "", 0 },
		{ "{?'a': optional.none()}.size() == 0", "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_error err;
		struct cel_program *p = compile(cases[i].src, 1, &err);

		if (cases[i].column == 0) {
			cr_expect_not_null(p, "%s: %s", cases[i].src,
			    err.message);
			cel_program_free(p);
			continue;
		}
		cr_expect_null(p, "%s compiled", cases[i].src);
		cel_program_free(p);
		if (p != NULL)
			continue;
		cr_expect(strstr(err.message, cases[i].text) != NULL,
		    "%s: '%s' lacks '%s'", cases[i].src, err.message,
		    cases[i].text);
		cr_expect_eq(err.column, cases[i].column, "%s: column %d, "
		    "want %d", cases[i].src, err.column, cases[i].column);
	}
}

Test(policy_parse, extension_syntax_errors)
{
	static const char *const bad[] = {
		"[1].all(i, i, true)",		/* one name for both */
		"cel.bind(1, 2, 3)",		/* not a variable */
		"[1].transformList(1, v, v)",
		"a.?1",
		"a[?]",
		"f(?x)",			/* only in literals */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy_error err;
		struct cel_program *p = compile(bad[i], 0, &err);

		cr_expect_null(p, "%s compiled", bad[i]);
		cel_program_free(p);
	}
}

static uint64_t
cost_of(const char *src)
{
	struct policy_error err;
	struct cel_program *p = compile(src, 1, &err);
	uint64_t c;

	cr_assert_not_null(p, "%s: %s", src, err.message);
	c = cel_program_cost(p);
	cel_program_free(p);
	return c;
}

Test(policy_parse, extension_costs_are_estimated)
{
	struct policy_error err;
	struct cel_program *p;
	struct cel_env env;
	const char *nested = "request.labels.transformList(k, v, "
	    "request.labels.transformList(k2, v2, "
	    "'%s%s'.format([v, v2]))).size() > 0";

	cr_expect_gt(cost_of("principal.path.split('/').size() > 2"),
	    cost_of("principal.path.size() > 2"));
	cr_expect_gt(cost_of("'%s'.format([principal.id]) == ''"),
	    cost_of("string(principal.id) == ''"));
	/* A comprehension costs its body once per (assumed) element. */
	cr_expect_geq(cost_of("request.labels.transformList(k, v, "
	    "v.lowerAscii()).size() > 0"), 64 * 16);
	cr_expect_geq(cost_of("request.labels.exists(k, v, "
	    "v.upperAscii() == k)"), 64 * 16);
	cr_expect_geq(cost_of("cel.bind(x, principal.path.reverse(), "
	    "x == '')"), 16);
	memset(&env, 0, sizeof(env));
	env.strict = 1;
	env.admission = 1;
	env.max_cost = 100000;
	p = cel_compile(nested, strlen(nested), &env, &err);
	cr_expect_null(p, "nested transformList under the limit");
	cr_expect(strstr(err.message, "estimated cost") != NULL, "%s",
	    err.message);
	cel_program_free(p);
}

Test(policy_parse, lenient_mode_defers_unknown_names_to_run_time)
{
	struct tl_result r;

	cr_assert_eq(tl_eval(&r, "nobody || true", 0, NULL), 0);
	cr_expect_eq(r.v.kind, CEL_BOOL);
	tl_done(&r);
	cr_assert_eq(tl_eval(&r, "nobody", 0, NULL), 0);
	cr_expect_eq(r.v.kind, CEL_ERROR);
	tl_done(&r);
	cr_assert_eq(tl_eval(&r, "f_unknown(1) || true", 0, NULL), 0);
	cr_expect_eq(r.v.kind, CEL_BOOL);
	tl_done(&r);
}
