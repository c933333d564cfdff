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
