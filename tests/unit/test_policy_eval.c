/*
 * test_policy_eval.c - the evaluator: every operator and macro, every
 * error rule, the admission variables, regular expressions, time, and
 * the run-time cost limit.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "policy_testlib.h"
#include "policy_tz.h"

/* expr must evaluate to the same kind and value as want. */
struct same {
	const char	*expr;
	const char	*want;
};

/* expr must fail at run time with an error containing text. */
struct fails {
	const char	*expr;
	const char	*text;
};

static json_t *claims, *svc_labels, *ep_labels, *nsn, *req_labels;
static struct policy_principal principal;
static struct policy_service service;
static struct policy_endpoint endpoint;
static struct policy_request request;
static struct policy_input input;

static void
setup(void)
{
	claims = json_pack("{s:[s,s],s:s,s:i,s:{s:b}}", "groups", "dba",
	    "ops", "email", "a@example.org", "level", 3, "nested", "ok", 1);
	svc_labels = json_pack("{s:s,s:s}", "tier", "db", "region", "eu");
	ep_labels = json_pack("{s:s}", "zone", "eu-1");
	nsn = json_pack("[s,s]", "db", "cache");
	req_labels = json_pack("{s:s}", "app", "pg");
	principal.id = "spiffe://example.org/ns/prod/sa/pg";
	principal.trust_domain = "example.org";
	principal.path = "/ns/prod/sa/pg";
	principal.auth = "x509";
	principal.claims = claims;
	principal.expires_at = 1735693200000LL;	/* 2025-01-01T01:00Z */
	service.name = "db";
	service.payload = "IP";
	service.labels = svc_labels;
	endpoint.name = "db-1";
	endpoint.url = "tcp://10.0.0.1:5432";
	endpoint.labels = ep_labels;
	endpoint.network_service_names = nsn;
	endpoint.owner = "spiffe://example.org/ns/prod/sa/db";
	endpoint.expiration_time = 0;
	request.labels = req_labels;
	request.time = 1735689600000LL;		/* 2025-01-01T00:00Z */
	request.remote_addr = "192.0.2.7";
	input.principal = &principal;
	input.action = "connect";
	input.service = &service;
	input.endpoint = &endpoint;
	input.request = &request;
}

static void
teardown(void)
{
	json_decref(claims);
	json_decref(svc_labels);
	json_decref(ep_labels);
	json_decref(nsn);
	json_decref(req_labels);
}

TestSuite(policy_eval, .init = setup, .fini = teardown);

static void
run_same(const struct same *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct tl_result a, b;

		if (tl_eval(&a, cases[i].expr, 0, &input) == -1) {
			cr_expect_fail("%s: %s", cases[i].expr,
			    a.err.message);
			continue;
		}
		cr_assert_eq(tl_eval(&b, cases[i].want, 0, &input), 0,
		    "%s: %s", cases[i].want, b.err.message);
		cr_expect_neq(a.v.kind, CEL_ERROR, "%s: error %s",
		    cases[i].expr, a.v.kind == CEL_ERROR ? a.v.err : "");
		cr_expect_eq(a.v.kind, b.v.kind, "%s: kind %s, want %s",
		    cases[i].expr, cel_kind_name(a.v.kind),
		    cel_kind_name(b.v.kind));
		cr_expect_eq(cel_equal(&a.v, &b.v), 1, "%s != %s",
		    cases[i].expr, cases[i].want);
		tl_done(&a);
		tl_done(&b);
	}
}

static void
run_fails(const struct fails *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct tl_result a;

		if (tl_eval(&a, cases[i].expr, 0, &input) == -1) {
			cr_expect_fail("%s: %s", cases[i].expr,
			    a.err.message);
			continue;
		}
		cr_expect_eq(a.v.kind, CEL_ERROR, "%s: not an error",
		    cases[i].expr);
		if (a.v.kind == CEL_ERROR)
			cr_expect(strstr(a.v.err, cases[i].text) != NULL,
			    "%s: '%s' lacks '%s'", cases[i].expr, a.v.err,
			    cases[i].text);
		tl_done(&a);
	}
}

#define RUN(f, t)	f(t, sizeof(t) / sizeof(t[0]))

Test(policy_eval, arithmetic)
{
	static const struct same t[] = {
		{ "1 + 2", "3" }, { "7 - 10", "-3" }, { "6 * 7", "42" },
		{ "7 / 2", "3" }, { "-7 / 2", "-3" }, { "7 % 3", "1" },
		{ "-7 % 3", "-1" }, { "3u + 4u", "7u" }, { "10u - 4u", "6u" },
		{ "6u * 7u", "42u" }, { "7u / 2u", "3u" }, { "7u % 4u", "3u" },
		{ "1.5 + 1.0", "2.5" }, { "1.0 / 0.0 > 1e308", "true" },
		{ "-(3)", "-3" }, { "-(1.5)", "-1.5" },
		{ "'ab' + 'cd'", "'abcd'" }, { "b'a' + b'b'", "b'ab'" },
		{ "[1] + [2, 3]", "[1, 2, 3]" },
		{ "9223372036854775807 - 1", "9223372036854775806" },
	};
	RUN(run_same, t);
}

Test(policy_eval, arithmetic_errors)
{
	static const struct fails t[] = {
		{ "9223372036854775807 + 1", "overflow" },
		{ "-9223372036854775808 - 1", "overflow" },
		{ "4611686018427387904 * 2", "overflow" },
		{ "-(-9223372036854775808)", "overflow" },
		{ "-9223372036854775808 / -1", "overflow" },
		{ "1 / 0", "division by zero" },
		{ "1 % 0", "modulus by zero" },
		{ "0u - 1u", "overflow" },
		{ "18446744073709551615u + 1u", "overflow" },
		{ "1u / 0u", "division by zero" },
		{ "1 + 1u", "no such overload" },
		{ "1 + 1.0", "no such overload" },
		{ "'a' - 'b'", "no such overload" },
		{ "-'a'", "no such overload" },
		{ "1.0 % 1.0", "no such overload" },
	};
	RUN(run_fails, t);
}

Test(policy_eval, comparisons_across_numeric_kinds)
{
	static const struct same t[] = {
		{ "1 == 1.0", "true" }, { "1u == 1", "true" },
		{ "dyn(1) < 1.5", "true" }, { "-1 < 0u", "true" },
		{ "2u > 1.5", "true" }, { "0.0/0.0 == 0.0/0.0", "false" },
		{ "0.0/0.0 < 1.0", "false" }, { "'a' < 'b'", "true" },
		{ "b'a' < b'b'", "true" }, { "false < true", "true" },
		{ "1 == 'a'", "false" }, { "null == null", "true" },
		{ "[1, 2] == [1, 2.0]", "true" }, { "[1] != [1, 2]", "true" },
		{ "{'a': 1} == {'a': 1u}", "true" },
		{ "{'a': 1, 'b': 2} == {'b': 2, 'a': 1}", "true" },
		{ "timestamp(1) < timestamp(2)", "true" },
		{ "duration('1s') > duration('999ms')", "true" },
		{ "type(1) == int", "true" }, { "type('a') != int", "true" },
	};
	static const struct fails f[] = {
		{ "[1] < [2]", "no such overload" },
		{ "null < null", "no such overload" },
		{ "'a' < 1", "no such overload" },
		{ "{} < {}", "no such overload" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, logic_absorbs_errors_commutatively)
{
	static const struct same t[] = {
		{ "false && 1/0 == 1", "false" },
		{ "1/0 == 1 && false", "false" },
		{ "true || 1/0 == 1", "true" },
		{ "1/0 == 1 || true", "true" },
		{ "'x' && false", "false" },
		{ "true ? 'a' : 1/0", "'a'" },
		{ "false ? 1/0 : 'b'", "'b'" },
		{ "!false", "true" },
	};
	static const struct fails f[] = {
		{ "true && 1/0 == 1", "division by zero" },
		{ "1/0 == 1 || false", "division by zero" },
		{ "'x' && true", "no matching overload" },
		{ "1 ? 2 : 3", "no matching overload" },
		{ "!1", "no matching overload" },
		{ "1/0 == 1 ? 1 : 2", "division by zero" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, lists_maps_in_index_has)
{
	static const struct same t[] = {
		{ "2 in [1, 2, 3]", "true" }, { "4 in [1, 2, 3]", "false" },
		{ "2.0 in [1, 2]", "true" }, { "'a' in {'a': 1}", "true" },
		{ "'b' in {'a': 1}", "false" }, { "[1, 2, 3][1]", "2" },
		{ "[1, 2, 3][2u]", "3" }, { "[1, 2][dyn(1.0)]", "2" },
		{ "{'a': 1}['a']", "1" }, { "{1: 'x'}[1u]", "'x'" },
		{ "{'a': {'b': 1}}.a.b", "1" },
		{ "has({'a': 1}.a)", "true" }, { "has({'a': 1}.b)", "false" },
		{ "size([1, 2])", "2" }, { "size({'a': 1})", "1" },
		{ "size('héllo')", "5" }, { "size(b'h\\xff')", "2" },
		{ "[[1], [2]][1][0]", "2" },
	};
	static const struct fails f[] = {
		{ "[1, 2][2]", "index out of range" },
		{ "[1, 2][-1]", "index out of range" },
		{ "[1][dyn(0.5)]", "not an integer" },
		{ "[1]['a']", "no such overload" },
		{ "{'a': 1}['b']", "no such key" },
		{ "{'a': 1}.b", "no such key" },
		{ "{1.5: 1}", "unsupported key type" },
		{ "{'a': 1, 'a': 2}", "repeated key" },
		{ "{1: 1, 1u: 2}", "repeated key" },
		{ "1.a", "does not support field selection" },
		{ "has(1.a)", "does not support field selection" },
		{ "1 in 1", "no such overload" },
		{ "size(1)", "no such overload" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, macros)
{
	static const struct same t[] = {
		{ "[1, 2, 3].all(x, x > 0)", "true" },
		{ "[1, 2, 3].all(x, x > 1)", "false" },
		{ "[].all(x, false)", "true" },
		{ "[1, 2, 3].exists(x, x == 2)", "true" },
		{ "[].exists(x, true)", "false" },
		{ "[1, 2, 3].exists_one(x, x > 2)", "true" },
		{ "[1, 2, 3].exists_one(x, x > 1)", "false" },
		{ "[1, 2, 3].map(x, x * 2)", "[2, 4, 6]" },
		{ "[1, 2, 3].map(x, x > 1, x * 10)", "[20, 30]" },
		{ "[1, 2, 3].filter(x, x % 2 == 1)", "[1, 3]" },
		{ "{'a': 1, 'b': 2}.all(k, k in ['a', 'b'])", "true" },
		{ "{'a': 1}.map(k, k + '!')", "['a!']" },
		{ "[1, 2].all(x, [3, 4].exists(y, y > x))", "true" },
		{ "[1, 0].all(x, 1 / x > 5)", "false" },
		{ "[0, 1].exists(x, 1 / x == 1)", "true" },
		{ "[1, 2].map(x, [x].map(x, x + 1))", "[[2], [3]]" },
	};
	static const struct fails f[] = {
		{ "[1, 0].all(x, 1 / x > 0)", "division by zero" },
		{ "[0, 1].exists(x, 1 / x == 5)", "division by zero" },
		{ "[0, 1].exists_one(x, 1 / x == 1)", "division by zero" },
		{ "[0].map(x, 1 / x)", "division by zero" },
		{ "[0].filter(x, 1 / x == 1)", "division by zero" },
		{ "[1].filter(x, x)", "no matching overload" },
		{ "1.all(x, true)", "no such overload" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, strings_and_conversions)
{
	static const struct same t[] = {
		{ "'hello'.contains('ell')", "true" },
		{ "'hello'.startsWith('he')", "true" },
		{ "'hello'.endsWith('lo')", "true" },
		{ "'hello'.endsWith('he')", "false" },
		{ "string(42)", "'42'" }, { "string(42u)", "'42'" },
		{ "string(1.5)", "'1.5'" }, { "string(1e21)", "'1e+21'" },
		{ "string(0.0001)", "'0.0001'" }, { "string(true)", "'true'" },
		{ "string(b'ab')", "'ab'" },
		{ "string(duration('90s'))", "'90s'" },
		{ "string(timestamp('2025-01-02T03:04:05.5Z'))",
		    "'2025-01-02T03:04:05.5Z'" },
		{ "int('-12')", "-12" }, { "int(2.9)", "2" }, { "int(3u)", "3" },
		{ "int(timestamp('1970-01-01T00:01:00Z'))", "60" },
		{ "uint(3)", "3u" }, { "uint('7')", "7u" }, { "uint(2.5)", "2u" },
		{ "double(3)", "3.0" }, { "double('2.5')", "2.5" },
		{ "bytes('a')", "b'a'" }, { "bool('true')", "true" },
		{ "bool('f')", "false" }, { "dyn(1)", "1" },
		{ "type(type(1))", "type" },
		{ "type(timestamp(0)) == google.protobuf.Timestamp", "true" },
		{ "type(duration('1s')) == google.protobuf.Duration", "true" },
	};
	static const struct fails f[] = {
		{ "int('x')", "conversion" }, { "int('1.5')", "conversion" },
		{ "int(1e19)", "range" }, { "int(18446744073709551615u)",
		    "range" },
		{ "uint(-1)", "range" }, { "uint(-1.5)", "range" },
		{ "double('x')", "conversion" }, { "bool('yes')",
		    "conversion" },
		{ "string(b'\\xff')", "invalid UTF-8" },
		{ "'a'.contains(1)", "no such overload" },
		{ "timestamp('2025-13-01T00:00:00Z')", "invalid timestamp" },
		{ "timestamp('10000-01-01T00:00:00Z')", "invalid timestamp" },
		{ "duration('1x')", "invalid duration" },
		{ "duration('9999999999999s')", "out of range" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, strings_extension)
{
	static const struct same t[] = {
		{ "'hello'.charAt(1)", "'e'" }, { "'hello'.charAt(5)", "''" },
		{ "'ta©o'.charAt(2)", "'©'" },
		{ "'hello mellow'.indexOf('ello')", "1" },
		{ "'hello mellow'.indexOf('ello', 2)", "7" },
		{ "'hello mellow'.indexOf('jello')", "-1" },
		{ "'hello mellow'.indexOf('', 2)", "2" },
		{ "'ta©o©αT'.indexOf('©', 3)", "4" },
		{ "'hello mellow'.lastIndexOf('ello')", "7" },
		{ "'hello mellow'.lastIndexOf('ello', 6)", "1" },
		{ "'hello mellow'.lastIndexOf('')", "12" },
		{ "'ta©o©αT'.lastIndexOf('©α', 4)", "4" },
		{ "'TacoCÆt'.lowerAscii()", "'tacocÆt'" },
		{ "'tacoCαt'.upperAscii()", "'TACOCαT'" },
		{ "'hello hello'.replace('he', 'we')", "'wello wello'" },
		{ "'hello hello'.replace('he', 'we', 1)", "'wello hello'" },
		{ "'hello hello'.replace('he', 'we', 0)", "'hello hello'" },
		{ "'ab'.replace('', '-')", "'-a-b-'" },
		{ "'a b c'.split(' ')", "['a', 'b', 'c']" },
		{ "'a b c'.split(' ', 2)", "['a', 'b c']" },
		{ "'a b c'.split(' ', 0)", "[]" },
		{ "'a,'.split(',')", "['a', '']" },
		{ "'o©o'.split('')", "['o', '©', 'o']" },
		{ "'tacocat'.substring(4)", "'cat'" },
		{ "'tacocat'.substring(0, 4)", "'taco'" },
		{ "'ta©o©αT'.substring(2, 6)", "'©o©α'" },
		{ "' \\t trim\\n '.trim()", "'trim'" },
		{ "'\\u2000x\\u3000'.trim()", "'x'" },
		{ "'\\u200bx'.trim()", "'\\u200bx'" },
		{ "['a', 'b'].join()", "'ab'" },
		{ "['a', 'b'].join('/')", "'a/b'" }, { "[].join('/')", "''" },
		{ "'gums'.reverse()", "'smug'" }, { "'©αT'.reverse()", "'Tα©'" },
		{ "strings.quote('a\"b\\n')", "'\"a\\\\\"b\\\\n\"'" },
		{ "'%s=%d'.format(['a', 1])", "'a=1'" },
		{ "'%.2f %e'.format([3.14159, 1052.5])",
		    "'3.14 1.052500e+03'" },
		{ "'%b %o %x %X'.format([5, 8, 255, 255])", "'101 10 ff FF'" },
		{ "'%x'.format(['hi'])", "'6869'" },
		{ "'100%%'.format([])", "'100%'" },
		{ "'%s'.format([[1, 'a', null]])", "'[1, a, null]'" },
		{ "'%s'.format([{'b': 1, 'a': 2.5}])", "'{a: 2.5, b: 1}'" },
		{ "'%s'.format([duration('90s')])", "'90s'" },
		{ "principal.path.split('/')[2]", "'prod'" },
		{ "principal.id.substring(0, 6) == 'spiffe'", "true" },
	};
	static const struct fails f[] = {
		{ "'hello'.charAt(6)", "index out of range: 6" },
		{ "'hello'.charAt(-1)", "index out of range: -1" },
		{ "'hello'.indexOf('l', 9)", "index out of range: 9" },
		{ "'hello'.lastIndexOf('l', -1)", "index out of range" },
		{ "'tacocat'.substring(4, 3)", "invalid substring range" },
		{ "'tacocat'.substring(8)", "index out of range: 8" },
		{ "42.charAt(1)", "no such overload" },
		{ "['a', 1].join()", "not a string" },
		{ "'%a'.format([1])", "unrecognized formatting clause" },
		{ "'%d %d'.format([1])", "index 1 out of range" },
		{ "'%d'.format(['x'])", "decimal clause" },
		{ "'%b'.format([1.5])", "binary" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, optional_values)
{
	static const struct same t[] = {
		{ "optional.of(1).hasValue()", "true" },
		{ "optional.none().hasValue()", "false" },
		{ "optional.of(1).value()", "1" },
		{ "optional.ofNonZeroValue('').hasValue()", "false" },
		{ "optional.ofNonZeroValue([1]).hasValue()", "true" },
		{ "optional.none().or(optional.of(2)).value()", "2" },
		{ "optional.of(1).or(optional.of(2)).value()", "1" },
		{ "optional.none().orValue(3)", "3" },
		{ "optional.of(1).orValue(1 / 0)", "1" },
		{ "{'a': 1}.?a.orValue(0)", "1" },
		{ "{'a': 1}.?b.orValue(0)", "0" },
		{ "{'a': {'b': 2}}.?a.b.orValue(0)", "2" },
		{ "{'a': {}}.?a.b.orValue(0)", "0" },
		{ "[1, 2][?1].orValue(0)", "2" },
		{ "[1, 2][?5].orValue(0)", "0" },
		{ "{1: 'x'}[?1].value()", "'x'" },
		{ "optional.of([7])[0].value()", "7" },
		{ "optional.none()[0].hasValue()", "false" },
		{ "[1, ?optional.none(), ?optional.of(3)]", "[1, 3]" },
		{ "{'a': 1, ?'b': optional.none()}", "{'a': 1}" },
		{ "{?'b': optional.of(2)}", "{'b': 2}" },
		{ "optional.of(2).optMap(x, x * 10).value()", "20" },
		{ "optional.none().optMap(x, x * 10).hasValue()", "false" },
		{ "optional.of({'k': 1}).optFlatMap(m, m.?k).value()", "1" },
		{ "optional.of(1) == optional.of(1)", "true" },
		{ "optional.none() == optional.none()", "true" },
		{ "optional.of(1) != optional.none()", "true" },
		{ "type(optional.none()) == optional_type", "true" },
		{ "has({}.?a.b)", "false" },
		{ "principal.claims.?email.orValue('')", "'a@example.org'" },
		{ "principal.claims.?phone.orValue('none')", "'none'" },
		{ "request.labels[?'app'].hasValue()", "true" },
	};
	static const struct fails f[] = {
		{ "optional.none().value()", "optional.none() dereference" },
		{ "1.hasValue()", "no such overload" },
		{ "[?1]", "not an optional" },
		{ "{'a': 1}.?a.b", "does not support field selection" },
		{ "optional.of(1).optFlatMap(x, x)", "optFlatMap" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, bind_and_two_variable_comprehensions)
{
	static const struct same t[] = {
		{ "cel.bind(a, 'x', a + a)", "'xx'" },
		{ "cel.bind(a, 1, cel.bind(b, 2, a + b))", "3" },
		{ "cel.bind(a, 1 / 0, true)", "true" },
		{ "cel.bind(ok, ['a', 'b'], ['b', 'c'].exists(x, x in ok))",
		    "true" },
		{ "cel.bind(x, 1, [2].all(x, x == 2)) ", "true" },
		{ "[1, 2, 3].all(i, v, v == i + 1)", "true" },
		{ "[1, 2, 3].exists(i, v, i == 2 && v == 3)", "true" },
		{ "{'a': 'a', 'b': 'c'}.exists(k, v, k != v)", "true" },
		{ "{'a': 1, 'b': 2}.existsOne(k, v, v > 1)", "true" },
		{ "[1, 1].exists_one(i, v, v == 1)", "false" },
		{ "[1, 2, 3].transformList(i, v, i * v)", "[0, 2, 6]" },
		{ "[1, 2, 3].transformList(i, v, i > 0, v)", "[2, 3]" },
		{ "{'a': 1}.transformList(k, v, k)", "['a']" },
		{ "[1, 2].transformMap(i, v, v * 10)", "{0: 10, 1: 20}" },
		{ "{'a': 1, 'b': 2}.transformMap(k, v, v > 1, v)",
		    "{'b': 2}" },
		{ "{'a': 'x'}.transformMapEntry(k, v, {v: k})",
		    "{'x': 'a'}" },
		{ "[1, 2].transformMapEntry(i, v, {string(v): i})",
		    "{'1': 0, '2': 1}" },
		{ "service.labels.all(k, v, k.size() > 1 && v.size() > 1)",
		    "true" },
		{ "principal.segments.exists(i, s, i == 3 && s == 'pg')",
		    "true" },
	};
	static const struct fails f[] = {
		{ "cel.bind(a, 1 / 0, a + 1)", "division by zero" },
		{ "{'a': 'x', 'b': 'x'}.transformMapEntry(k, v, {v: k})",
		    "duplicate key" },
		{ "[1].transformMapEntry(i, v, v)", "wants a map" },
		{ "[0].transformList(i, v, 1 / v)", "division by zero" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, math_extension)
{
	static const struct same t[] = {
		{ "math.greatest(1)", "1" }, { "math.greatest(1, 5, 3)", "5" },
		{ "math.greatest(1u, 2u)", "2u" },
		{ "math.greatest(-42.0, -21.5, -100.0)", "-21.5" },
		{ "math.greatest([3, 9, 1])", "9" },
		{ "math.greatest(1, 2.5)", "2.5" },
		{ "math.least(1, 5, 3)", "1" }, { "math.least([3.5, 1.5])",
		    "1.5" },
		{ "math.abs(-3)", "3" }, { "math.abs(-1.5)", "1.5" },
		{ "math.abs(3u)", "3u" },
		{ "math.sign(-42)", "-1" }, { "math.sign(0)", "0" },
		{ "math.sign(7u)", "1u" }, { "math.sign(-0.5)", "-1.0" },
		{ "math.ceil(1.2)", "2.0" }, { "math.floor(-1.2)", "-2.0" },
		{ "math.round(1.5)", "2.0" }, { "math.round(-1.5)", "-2.0" },
		{ "math.trunc(-1.7)", "-1.0" },
		{ "math.isNaN(0.0 / 0.0)", "true" },
		{ "math.isInf(1.0 / 0.0)", "true" },
		{ "math.isFinite(1.2)", "true" },
		{ "math.isFinite(1.0 / 0.0)", "false" },
		{ "math.bitAnd(3, 5)", "1" }, { "math.bitOr(1u, 2u)", "3u" },
		{ "math.bitXor(1, 3)", "2" }, { "math.bitNot(1)", "-2" },
		{ "math.bitNot(0u)", "18446744073709551615u" },
		{ "math.bitShiftLeft(1, 2)", "4" },
		{ "math.bitShiftLeft(-1, 2)", "-4" },
		{ "math.bitShiftLeft(1u, 200)", "0u" },
		{ "math.bitShiftRight(1024, 2)", "256" },
		{ "math.bitShiftRight(-1, 63)", "1" },
		{ "principal.claims.level == math.greatest(1, 3, 2)", "true" },
	};
	static const struct fails f[] = {
		{ "math.greatest([])", "empty list" },
		{ "math.greatest(1, 'a')", "no such overload" },
		{ "math.abs(-9223372036854775808)", "overflow" },
		{ "math.ceil(1)", "no such overload" },
		{ "math.bitAnd(1, 1u)", "no such overload" },
		{ "math.bitShiftLeft(1, -1)", "negative" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, regular_expressions)
{
	static const struct same t[] = {
		{ "'abc'.matches('b')", "true" },
		{ "'abc'.matches('^b')", "false" },
		{ "'abc'.matches('^a.c$')", "true" },
		{ "'aaa'.matches('^a{2,3}$')", "true" },
		{ "'aaaa'.matches('^a{2,3}$')", "false" },
		{ "'a1_'.matches('^\\\\w+$')", "true" },
		{ "'a b'.matches('\\\\s')", "true" },
		{ "'x9'.matches('[[:digit:]]')", "true" },
		{ "'ABC'.matches('(?i)^abc$')", "true" },
		{ "'abc'.matches('^(?:ab|cd)c$')", "true" },
		{ "'a.b'.matches('a\\\\.b')", "true" },
		{ "'axb'.matches('a\\\\.b')", "false" },
		{ "'foo bar'.matches('\\\\bbar\\\\b')", "true" },
		{ "'foobar'.matches('\\\\bbar')", "false" },
		{ "'ñ'.matches('^.$')", "true" },
		{ "'a\\nb'.matches('a.b')", "false" },
		{ "'a\\nb'.matches('(?s)a.b')", "true" },
		{ "'x\\ny'.matches('(?m)^y$')", "true" },
		{ "'abc'.matches('[^a-b]')", "true" },
		{ "'ab'.matches('^[^a-b]+$')", "false" },
		{ "'\\u00e9'.matches('\\\\x{e9}')", "true" },
		{ "'a+b'.matches('\\\\Qa+b\\\\E')", "true" },
		{ "matches('spiffe://x/ns/a', '^spiffe://[^/]+/ns/')", "true" },
		{ "('a' + 'a').matches('a' + '+')", "true" },
		{ "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'"
		    ".matches('^(a+)+$')", "false" },
	};
	static const struct fails f[] = {
		{ "'a'.matches('(' + '')", "invalid regular expression" },
		{ "'a'.matches('\\\\1' + '')", "invalid regular expression" },
		{ "'a'.matches('\\\\pL' + '')", "invalid regular expression" },
		{ "'a'.matches('a{1001}' + '')", "invalid regular expression" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, time)
{
	static const struct same t[] = {
		{ "timestamp('2025-01-01T00:00:00Z') + duration('1h') == "
		    "timestamp('2025-01-01T01:00:00Z')", "true" },
		{ "timestamp('2025-01-01T01:00:00+01:00') == "
		    "timestamp('2025-01-01T00:00:00Z')", "true" },
		{ "timestamp('2025-01-01T00:00:10Z') - "
		    "timestamp('2025-01-01T00:00:00Z')", "duration('10s')" },
		{ "duration('1h30m').getMinutes()", "90" },
		{ "duration('1.5s').getMilliseconds()", "500" },
		{ "timestamp('2025-03-04T05:06:07.089Z').getFullYear()",
		    "2025" },
		{ "timestamp('2025-03-04T05:06:07Z').getMonth()", "2" },
		{ "timestamp('2025-03-04T05:06:07Z').getDate()", "4" },
		{ "timestamp('2025-03-04T05:06:07Z').getDayOfMonth()", "3" },
		{ "timestamp('2025-03-04T05:06:07Z').getDayOfWeek()", "2" },
		{ "timestamp('2025-03-04T05:06:07Z').getDayOfYear()", "62" },
		{ "timestamp('2025-03-04T05:06:07Z').getHours('+05:30')",
		    "10" },
		{ "timestamp('2025-03-04T05:06:07Z').getMinutes('-00:30')",
		    "36" },
		{ "timestamp('2025-03-04T05:06:07.089Z').getMilliseconds()",
		    "89" },
		{ "-duration('1s')", "duration('-1s')" },
	};
	static const struct fails f[] = {
		{ "timestamp('9999-12-31T23:59:59Z') + duration('1s')",
		    "out of range" },
		{ "timestamp(0).getHours('Mars/Base')", "unknown time zone" },
		{ "timestamp(0).getHours('+25:00')", "unknown time zone" },
		{ "duration('1s').getDayOfWeek()", "no such overload" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, admission_variables)
{
	static const struct same t[] = {
		{ "principal.id", "'spiffe://example.org/ns/prod/sa/pg'" },
		{ "principal.trust_domain", "'example.org'" },
		{ "principal.segments", "['ns', 'prod', 'sa', 'pg']" },
		{ "principal.segments[1]", "'prod'" },
		{ "principal.auth", "'x509'" },
		{ "'dba' in principal.claims.groups", "true" },
		{ "principal.claims.level", "3" },
		{ "principal.claims.nested.ok", "true" },
		{ "has(principal.claims.email)", "true" },
		{ "has(principal.claims.phone)", "false" },
		{ "principal.expires_at > request.time", "true" },
		{ "principal.expires_at - request.time", "duration('1h')" },
		{ "action", "'connect'" },
		{ "service.name", "'db'" }, { "service.payload", "'IP'" },
		{ "service.labels.tier", "'db'" },
		{ "service.labels['region']", "'eu'" },
		{ "endpoint.labels.zone.startsWith('eu')", "true" },
		{ "'cache' in endpoint.network_service_names", "true" },
		{ "endpoint.network_service_names.all(n, n.size() > 1)",
		    "true" },
		{ "endpoint.owner.endsWith('/sa/db')", "true" },
		{ "has(endpoint.expiration_time)", "false" },
		{ "request.labels.app", "'pg'" },
		{ "request.remote_addr", "'192.0.2.7'" },
		{ "request.time.getFullYear()", "2025" },
		{ "size(service.labels)", "2" },
		{ "service.labels.all(k, k in ['tier', 'region'])", "true" },
		{ "'name' in service", "true" },
		{ "service.labels == {'tier': 'db', 'region': 'eu'}", "true" },
	};
	static const struct fails f[] = {
		{ "endpoint.expiration_time", "no such key" },
		{ "service.labels.nope", "no such key" },
		{ "principal.claims.groups.x", "does not support" },
	};
	RUN(run_same, t);
	RUN(run_fails, f);
}

Test(policy_eval, null_variables_error_on_selection)
{
	struct tl_result r;

	input.service = NULL;
	input.endpoint = NULL;
	cr_assert_eq(tl_eval(&r, "service == null", 1, &input), 0);
	cr_expect(r.v.kind == CEL_BOOL && r.v.b);
	tl_done(&r);
	cr_assert_eq(tl_eval(&r, "service.name == 'db'", 1, &input), 0);
	cr_expect_eq(r.v.kind, CEL_ERROR);
	tl_done(&r);
	cr_assert_eq(tl_eval(&r, "has(endpoint.name)", 1, &input), 0);
	cr_expect_eq(r.v.kind, CEL_ERROR);
	tl_done(&r);
}

Test(policy_eval, cost_limit_stops_runaway_evaluation)
{
	struct cel_env env;
	struct policy_error err;
	struct cel_program *p;
	struct cel_activation act = { &input, NULL };
	struct cel_arena a;
	struct cel_value v;
	char buf[4096];
	uint64_t cost;
	const char *src = "principal.claims.groups.all(x, "
	    "principal.claims.groups.all(y, x != y || x == y))";

	memset(&env, 0, sizeof(env));
	env.strict = 1;
	env.admission = 1;
	env.max_cost = 20;
	/* Estimated over the limit: refused when compiled (strict). */
	p = cel_compile(src, strlen(src), &env, &err);
	cr_assert_null(p);
	cr_expect(strstr(err.message, "exceeds the limit") != NULL, "%s",
	    err.message);
	/* Lenient compile, then the limit bites at run time. */
	env.strict = 0;
	p = cel_compile(src, strlen(src), &env, &err);
	cr_assert_not_null(p);
	cr_expect_gt(cel_program_cost(p), 20);
	cel_arena_init(&a, buf, sizeof(buf));
	v = cel_eval(p, &act, &a, &cost);
	cr_expect_eq(v.kind, CEL_ERROR);
	cr_expect_str_eq(v.err, "cost limit exceeded");
	cel_arena_release(&a);
	cel_program_free(p);
	/* Under a generous limit the same program completes. */
	env.max_cost = 100000;
	p = cel_compile(src, strlen(src), &env, &err);
	cr_assert_not_null(p);
	cel_arena_init(&a, buf, sizeof(buf));
	v = cel_eval(p, &act, &a, &cost);
	cr_expect_eq(v.kind, CEL_BOOL);
	cr_expect_gt(cost, 5);
	cr_expect_leq(cost, cel_program_cost(p));
	cel_arena_release(&a);
	cel_program_free(p);
}

Test(policy_eval, large_intermediates_spill_and_are_freed)
{
	struct tl_result r;
	const char *src = "[1,2,3,4,5,6,7,8,9,10].map(x, [1,2,3,4,5,6,7,8,"
	    "9,10].map(y, string(x) + '-' + string(y))).size() == 10";

	cr_assert_eq(tl_eval(&r, src, 0, &input), 0);
	cr_expect(r.v.kind == CEL_BOOL && r.v.b);
	tl_done(&r);
}

Test(policy_eval, iana_time_zones_from_the_system)
{
	static const struct {
		const char *expr;
		int64_t want;
	} t[] = {
		/* CET in winter, CEST in summer (past any transition table:
		 * the TZif footer's rule). */
		{ "timestamp('2025-01-15T12:00:00Z').getHours('Europe/Paris')",
		    13 },
		{ "timestamp('2025-07-15T12:00:00Z').getHours('Europe/Paris')",
		    14 },
		{ "timestamp('2040-07-15T12:00:00Z').getHours('Europe/Paris')",
		    14 },
		{ "timestamp('2025-03-30T00:59:59Z').getHours('Europe/Paris')",
		    1 },
		{ "timestamp('2025-03-30T01:00:00Z').getHours('Europe/Paris')",
		    3 },
		/* Southern hemisphere: DST across the new year. */
		{ "timestamp('2025-01-15T00:00:00Z').getHours("
		    "'Australia/Sydney')", 11 },
		{ "timestamp('2025-07-15T00:00:00Z').getHours("
		    "'Australia/Sydney')", 10 },
		{ "timestamp('2025-01-15T00:00:00Z').getMinutes("
		    "'Asia/Kathmandu')", 45 },
		{ "timestamp('1900-01-01T00:00:00Z').getFullYear('UTC')",
		    1900 },
	};
	struct policy_tzdb *db = policy_tzdb_new(NULL);
	size_t i;

	cr_assert_not_null(db);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cel_env env;
		struct policy_error err;
		struct cel_program *p;
		struct cel_arena a;
		struct cel_value v;
		char buf[1024];

		memset(&env, 0, sizeof(env));
		env.admission = 1;
		env.tz = policy_tzdb_tz(db);
		p = cel_compile(t[i].expr, strlen(t[i].expr), &env, &err);
		cr_assert_not_null(p, "%s: %s", t[i].expr, err.message);
		cel_arena_init(&a, buf, sizeof(buf));
		v = cel_eval(p, NULL, &a, NULL);
		cr_expect_eq(v.kind, CEL_INT, "%s: %s", t[i].expr,
		    v.kind == CEL_ERROR ? v.err : "not an int");
		if (v.kind == CEL_INT)
			cr_expect_eq(v.i, t[i].want, "%s = %lld, want %lld",
			    t[i].expr, (long long)v.i, (long long)t[i].want);
		cel_arena_release(&a);
		cel_program_free(p);
	}
	/* Names that could escape the zoneinfo directory are refused. */
	{
		int32_t off;
		const struct policy_tz *tz = policy_tzdb_tz(db);

		cr_expect_eq(tz->offset(tz->arg, "../../etc/passwd", 0, &off),
		    -1);
		cr_expect_eq(tz->offset(tz->arg, "/etc/localtime", 0, &off),
		    -1);
		cr_expect_eq(tz->offset(tz->arg, "Europe/../../x", 0, &off),
		    -1);
		cr_expect_eq(policy_tzif_offset((const unsigned char *)"TZif",
		    4, 0, &off), -1);
	}
	policy_tzdb_free(db);
}
