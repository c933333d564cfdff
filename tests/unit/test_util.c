#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "util.h"

Test(util, rfc3339_roundtrip)
{
	char	buf[UTIL_RFC3339_MAX];
	int64_t	ms;

	cr_assert_eq(util_rfc3339_parse("2026-11-27T16:31:14Z", &ms), 0);
	cr_assert_str_eq(util_rfc3339_format(ms, buf, sizeof(buf)),
	    "2026-11-27T16:31:14Z");
}

Test(util, rfc3339_accepts_offsets_fractions_and_lowercase)
{
	int64_t	ms;

	cr_assert_eq(util_rfc3339_parse("2026-11-27T18:31:14.5+02:00", &ms),
	    0);
	cr_expect_eq(ms, 1795797074500LL);
	cr_assert_eq(util_rfc3339_parse("2026-11-27t16:31:14.500123456z",
	    &ms), 0);
	cr_expect_eq(ms, 1795797074500LL);
	cr_expect_eq(util_rfc3339_parse("1970-01-01T00:00:00Z", &ms), 0);
	cr_expect_eq(ms, 0);
}

Test(util, rfc3339_rejects_what_the_grammar_does_not_allow)
{
	static const char *const bad[] = {
		"2026-11-27", "2026-11-27 16:31:14Z", "2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-11-27T24:00:00Z",
		"2026-11-27T16:31:14", "2026-11-27T16:31:14.Z",
		"2026-11-27T16:31:14+0200", "2026-11-27T16:31:14Zjunk",
		"26-11-27T16:31:14Z", "",
	};
	size_t	i;
	int64_t	ms;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(util_rfc3339_parse(bad[i], &ms), -1, "%s",
		    bad[i]);
	cr_expect_eq(util_rfc3339_parse("2024-02-29T00:00:00Z", &ms), 0);
}

Test(util, rfc3339_format_with_milliseconds)
{
	char	buf[UTIL_RFC3339_MAX];

	cr_expect_str_eq(util_rfc3339_format(1795797074500LL, buf,
	    sizeof(buf)), "2026-11-27T16:31:14.500Z");
}

Test(util, durations)
{
	int64_t	ms;
	char	buf[32];

	cr_expect_eq(util_duration_parse("90s", &ms), 0);
	cr_expect_eq(ms, 90000);
	cr_expect_eq(util_duration_parse("1h30m", &ms), 0);
	cr_expect_eq(ms, 5400000);
	cr_expect_eq(util_duration_parse("250ms", &ms), 0);
	cr_expect_eq(ms, 250);
	cr_expect_eq(util_duration_parse("7d", &ms), 0);
	cr_expect_eq(util_duration_parse("12", &ms), 0);
	cr_expect_eq(ms, 12000);
	cr_expect_eq(util_duration_parse("-1s", &ms), -1);
	cr_expect_eq(util_duration_parse("1x", &ms), -1);
	cr_expect_eq(util_duration_parse("", &ms), -1);
	cr_expect_eq(util_duration_parse("1s2", &ms), -1);
	cr_expect_str_eq(util_duration_format(5400000, buf, sizeof(buf)),
	    "1h30m");
}

Test(util, numbers_and_sizes)
{
	long long	v;
	size_t		n;

	cr_expect_eq(util_number_parse("42", 0, 100, &v), 0);
	cr_expect_eq(v, 42);
	cr_expect_eq(util_number_parse("101", 0, 100, &v), -1);
	cr_expect_eq(util_number_parse("4x", 0, 100, &v), -1);
	cr_expect_eq(util_number_parse(" 4", 0, 100, &v), -1);
	cr_expect_eq(util_number_parse("99999999999999999999", 0, 100, &v),
	    -1);
	cr_expect_eq(util_size_parse("1M", &n), 0);
	cr_expect_eq(n, 1048576);
	cr_expect_eq(util_size_parse("512k", &n), 0);
	cr_expect_eq(n, 524288);
	cr_expect_eq(util_size_parse("2MiB", &n), 0);
	cr_expect_eq(util_size_parse("2Q", &n), -1);
}

Test(util, utf8)
{
	cr_expect_eq(util_utf8_valid("h\xc3\xa9llo", 6), 1);
	cr_expect_eq(util_utf8_valid("\xc3", 1), 0);
	cr_expect_eq(util_utf8_valid("\xc0\xaf", 2), 0);	/* overlong */
	cr_expect_eq(util_utf8_valid("\xed\xa0\x80", 3), 0);	/* surrogate */
	cr_expect_eq(util_utf8_valid("\xf4\x90\x80\x80", 4), 0);
	cr_expect_eq(util_utf8_valid("\xf0\x9f\x98\x80", 4), 1);
	cr_expect_eq(util_utf8_valid("a\0b", 3), 0);
}

Test(util, secret_equal)
{
	cr_expect_eq(util_secret_equal("abc", 3, "abc", 3), 1);
	cr_expect_eq(util_secret_equal("abc", 3, "abd", 3), 0);
	cr_expect_eq(util_secret_equal("abc", 3, "abcd", 4), 0);
}

/* Numbers are digits with an optional '-' where negatives are allowed:
 * nothing strtoll would skip or take besides. */
Test(util, number_parse_takes_plain_digits_only)
{
	static const struct {
		const char	*s;
		long long	 min;
		int		 ok;
		long long	 v;
	} v[] = {
		{ "0", 0, 1, 0 }, { "7", 0, 1, 7 }, { "007", 0, 1, 7 },
		{ "-3", -10, 1, -3 }, { "-0", -10, 1, 0 },
		{ "-0", 0, 0, 0 }, { "-1", 0, 0, 0 }, { "+1", 0, 0, 0 },
		{ " 1", 0, 0, 0 }, { "\t1", 0, 0, 0 }, { "\n1", 0, 0, 0 },
		{ "1 ", 0, 0, 0 }, { "1\n", 0, 0, 0 }, { "", 0, 0, 0 },
		{ "-", -10, 0, 0 }, { "--1", -10, 0, 0 }, { "- 1", -10, 0, 0 },
		{ "0x10", 0, 0, 0 }, { "1e3", 0, 0, 0 }, { "1.0", 0, 0, 0 },
		{ "9223372036854775808", 0, 0, 0 },
	};
	long long	out;
	size_t		i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		out = 12345;
		cr_expect_eq(util_number_parse(v[i].s, v[i].min, INT64_MAX,
		    &out), v[i].ok ? 0 : -1, "\"%s\" (min %lld)", v[i].s,
		    v[i].min);
		if (v[i].ok)
			cr_expect_eq(out, v[i].v, "\"%s\"", v[i].s);
	}
}
