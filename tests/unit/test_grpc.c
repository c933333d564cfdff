/*
 * test_grpc.c - gRPC framing, grpc-message encoding, grpc-timeout and the
 * status table (server/grpc.h), as tables of cases.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "error.h"
#include "grpc.h"

struct frame_case {
	const char		*name;
	const char		*body;
	size_t			 len;
	size_t			 max;
	int			 rc;
	enum grpc_status	 st;
	size_t			 msglen;	/* when rc is 0 */
	const char		*why;		/* substring, when rc is -1 */
};

static const struct frame_case frame_cases[] = {
	{ "one message", "\0\0\0\0\3abc", 8, 100, 0, GRPC_OK, 3, NULL },
	{ "empty message", "\0\0\0\0\0", 5, 100, 0, GRPC_OK, 0, NULL },
	{ "message at the limit", "\0\0\0\0\3abc", 8, 3, 0, GRPC_OK, 3,
	    NULL },
	{ "no body", "", 0, 100, -1, GRPC_INVALID_ARGUMENT, 0,
	    "no request message" },
	{ "truncated prefix", "\0\0\0", 3, 100, -1, GRPC_INVALID_ARGUMENT,
	    0, "truncated message prefix (3 of 5" },
	{ "truncated message", "\0\0\0\0\5abc", 8, 100, -1,
	    GRPC_INVALID_ARGUMENT, 0, "truncated message (3 of 5" },
	{ "two messages", "\0\0\0\0\1a\0\0\0\0\1b", 12, 100, -1,
	    GRPC_INVALID_ARGUMENT, 0, "the method takes one" },
	{ "oversized", "\0\0\0\0\4abcd", 9, 3, -1, GRPC_RESOURCE_EXHAUSTED,
	    0, "more than max-body 3" },
	{ "huge declared length", "\0\xff\xff\xff\xff", 5, 1 << 20, -1,
	    GRPC_RESOURCE_EXHAUSTED, 0, "4294967295 bytes" },
	{ "compressed", "\1\0\0\0\3abc", 8, 100, -1, GRPC_UNIMPLEMENTED, 0,
	    "compressed" },
	{ "bad flag", "\2\0\0\0\3abc", 8, 100, -1, GRPC_INVALID_ARGUMENT, 0,
	    "bad compressed flag 2" },
};

Test(grpc, message_framing)
{
	const struct frame_case	*c;
	const uint8_t		*msg;
	enum grpc_status	 st;
	size_t			 i, len;
	char			 why[160];
	int			 rc;

	for (i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		c = &frame_cases[i];
		why[0] = '\0';
		rc = grpc_message_parse(c->body, c->len, c->max, &msg, &len,
		    &st, why, sizeof(why));
		cr_expect_eq(rc, c->rc, "%s: rc %d", c->name, rc);
		cr_expect_eq(st, c->st, "%s: status %d", c->name, (int)st);
		if (c->rc == 0) {
			cr_expect_eq(len, c->msglen, "%s: length %zu",
			    c->name, len);
			cr_expect_eq((const char *)msg, c->body + 5, "%s",
			    c->name);
		} else {
			cr_expect_null(msg, "%s", c->name);
			cr_expect(strstr(why, c->why) != NULL, "%s: \"%s\"",
			    c->name, why);
		}
	}
}

static const struct {
	const char	*in;
	size_t		 outlen;
	const char	*out;
} pct_cases[] = {
	{ "plain text", 64, "plain text" },
	{ "100% sure", 64, "100%25 sure" },
	{ "line\nbreak\ttab", 64, "line%0Abreak%09tab" },
	{ "caf\xc3\xa9", 64, "caf%C3%A9" },
	{ "tilde~ and del\x7f", 64, "tilde~ and del%7F" },
	{ "", 64, "" },
	/* An escape that does not fit whole is left out. */
	{ "ab%", 5, "ab" },
	{ "abcdef", 4, "abc" },
};

Test(grpc, percent_encoding)
{
	char	out[64];
	size_t	i, n;

	for (i = 0; i < sizeof(pct_cases) / sizeof(pct_cases[0]); i++) {
		memset(out, 'x', sizeof(out));
		n = grpc_percent_encode(pct_cases[i].in, out,
		    pct_cases[i].outlen);
		cr_expect_str_eq(out, pct_cases[i].out, "case %zu: \"%s\"",
		    i, out);
		cr_expect_eq(n, strlen(pct_cases[i].out), "case %zu", i);
	}
}

static const struct {
	const char	*in;
	int		 rc;
	int64_t		 us;
} timeout_cases[] = {
	{ "1H", 0, 3600LL * 1000000 },
	{ "2M", 0, 120LL * 1000000 },
	{ "3S", 0, 3000000 },
	{ "250m", 0, 250000 },
	{ "7u", 0, 7 },
	{ "1500n", 0, 2 },
	{ "1n", 0, 1 },
	{ "0m", 0, 0 },
	{ "99999999S", 0, 99999999LL * 1000000 },
	{ "99999999H", 0, 99999999LL * 3600 * 1000000 },
	{ "123456789S", -1, 0 },	/* nine digits */
	{ "", -1, 0 },
	{ "S", -1, 0 },
	{ "10", -1, 0 },
	{ "10s", -1, 0 },
	{ "10 S", -1, 0 },
	{ "-1S", -1, 0 },
	{ "1SS", -1, 0 },
};

Test(grpc, timeout_parsing)
{
	int64_t	us;
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(timeout_cases) / sizeof(timeout_cases[0]);
	    i++) {
		rc = grpc_timeout_parse(timeout_cases[i].in, &us);
		cr_expect_eq(rc, timeout_cases[i].rc, "\"%s\": rc %d",
		    timeout_cases[i].in, rc);
		if (rc == 0)
			cr_expect_eq(us, timeout_cases[i].us, "\"%s\": %lld",
			    timeout_cases[i].in, (long long)us);
	}
}

/* DESIGN section 4 names the statuses a client sees; nsreg-api(7) too. */
static const struct {
	enum nsreg_code		 code;
	enum grpc_status	 st;
	const char		*name;
} status_cases[] = {
	{ NSREG_OK, GRPC_OK, "OK" },
	{ NSREG_INVALID_ARGUMENT, GRPC_INVALID_ARGUMENT, "INVALID_ARGUMENT" },
	{ NSREG_UNAUTHENTICATED, GRPC_UNAUTHENTICATED, "UNAUTHENTICATED" },
	{ NSREG_PERMISSION_DENIED, GRPC_PERMISSION_DENIED,
	    "PERMISSION_DENIED" },
	{ NSREG_NOT_FOUND, GRPC_NOT_FOUND, "NOT_FOUND" },
	{ NSREG_METHOD_NOT_ALLOWED, GRPC_UNIMPLEMENTED, "UNIMPLEMENTED" },
	{ NSREG_ALREADY_EXISTS, GRPC_ALREADY_EXISTS, "ALREADY_EXISTS" },
	{ NSREG_RESOURCE_EXHAUSTED, GRPC_RESOURCE_EXHAUSTED,
	    "RESOURCE_EXHAUSTED" },
	{ NSREG_CONFLICT, GRPC_ABORTED, "ABORTED" },
	{ NSREG_GONE, GRPC_OUT_OF_RANGE, "OUT_OF_RANGE" },
	{ NSREG_FAILED_PRECONDITION, GRPC_FAILED_PRECONDITION,
	    "FAILED_PRECONDITION" },
	{ NSREG_PAYLOAD_TOO_LARGE, GRPC_RESOURCE_EXHAUSTED,
	    "RESOURCE_EXHAUSTED" },
	{ NSREG_UNSUPPORTED_MEDIA_TYPE, GRPC_INVALID_ARGUMENT,
	    "INVALID_ARGUMENT" },
	{ NSREG_INTERNAL, GRPC_INTERNAL, "INTERNAL" },
	{ NSREG_BAD_GATEWAY, GRPC_UNAVAILABLE, "UNAVAILABLE" },
	{ NSREG_UNAVAILABLE, GRPC_UNAVAILABLE, "UNAVAILABLE" },
	{ NSREG_DEADLINE_EXCEEDED, GRPC_DEADLINE_EXCEEDED,
	    "DEADLINE_EXCEEDED" },
};

Test(grpc, status_table)
{
	size_t	i;

	cr_assert_eq(sizeof(status_cases) / sizeof(status_cases[0]),
	    (size_t)NSREG_CODE_MAX, "every nsreg code has a case");
	for (i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
		cr_expect_eq(grpc_status_of(status_cases[i].code),
		    status_cases[i].st, "%s", nsreg_code_name(
		    status_cases[i].code));
		cr_expect_str_eq(grpc_status_name(status_cases[i].st),
		    status_cases[i].name);
	}
	cr_expect_eq(grpc_status_of(NSREG_CODE_MAX), GRPC_UNKNOWN);
	cr_expect_str_eq(grpc_status_name(GRPC_STATUS_MAX), "UNKNOWN");
	cr_expect_str_eq(grpc_status_name(GRPC_CANCELLED), "CANCELLED");
}

static const struct {
	const char	*ct;
	int		 grpc;
	int		 proto;
} ct_cases[] = {
	{ "application/grpc", 1, 1 },
	{ "application/grpc+proto", 1, 1 },
	{ "application/GRPC+Proto", 1, 1 },
	{ "application/grpc;charset=utf-8", 1, 1 },
	{ "application/grpc+json", 1, 0 },
	{ "application/grpc+", 0, 0 },
	{ "application/grpcx", 0, 0 },
	{ "application/grpc-web", 0, 0 },
	{ "application/json", 0, 0 },
	{ "", 0, 0 },
	{ NULL, 0, 0 },
};

Test(grpc, content_type)
{
	size_t	i;
	int	proto;

	for (i = 0; i < sizeof(ct_cases) / sizeof(ct_cases[0]); i++) {
		proto = -1;
		cr_expect_eq(grpc_content_type(ct_cases[i].ct, &proto),
		    ct_cases[i].grpc, "\"%s\"", ct_cases[i].ct ?
		    ct_cases[i].ct : "(null)");
		cr_expect_eq(proto, ct_cases[i].proto, "\"%s\" proto",
		    ct_cases[i].ct ? ct_cases[i].ct : "(null)");
	}
}
