/*
 * cel_func.c - the functions a condition may call: size, the string
 * predicates, matches, the conversions and the timestamp and duration
 * accessors.  One const table; the checker resolves a call to an entry
 * by name, call style and argument count, and the entry's function
 * dispatches on the kinds of its arguments.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel_ast.h"

static struct cel_value
no_overload(const struct cel_node *n)
{
	return cel_err_at(n, "no such overload");
}

/* ------------------------------------------------------------ strings */

static struct cel_value
fn_size(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	(void)c;
	(void)argc;
	switch (v[0].kind) {
	case CEL_STRING:
		c->cost += (uint64_t)v[0].aux / 16;
		return cel_int((int64_t)cel_utf8_count(v[0].s,
		    (size_t)v[0].aux));
	case CEL_BYTES:
		return cel_int(v[0].aux);
	case CEL_LIST:
		return cel_int((int64_t)cel_list_size(&v[0]));
	case CEL_MAP:
		return cel_int((int64_t)cel_map_size(&v[0]));
	default:
		return no_overload(n);
	}
}

static int
both_strings(const struct cel_value *v)
{
	return v[0].kind == CEL_STRING && v[1].kind == CEL_STRING;
}

static struct cel_value
fn_contains(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	size_t hn, nn, i;

	(void)argc;
	if (!both_strings(v))
		return no_overload(n);
	hn = (size_t)v[0].aux;
	nn = (size_t)v[1].aux;
	c->cost += hn / 16;
	if (nn == 0)
		return cel_bool(1);
	for (i = 0; i + nn <= hn; i++)
		if (v[0].s[i] == v[1].s[0] &&
		    memcmp(v[0].s + i, v[1].s, nn) == 0)
			return cel_bool(1);
	return cel_bool(0);
}

static struct cel_value
fn_starts(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	(void)c;
	(void)argc;
	if (!both_strings(v))
		return no_overload(n);
	return cel_bool(v[1].aux <= v[0].aux && memcmp(v[0].s, v[1].s,
	    (size_t)v[1].aux) == 0);
}

static struct cel_value
fn_ends(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	(void)c;
	(void)argc;
	if (!both_strings(v))
		return no_overload(n);
	return cel_bool(v[1].aux <= v[0].aux && memcmp(v[0].s + v[0].aux -
	    v[1].aux, v[1].s, (size_t)v[1].aux) == 0);
}

static struct cel_value
fn_matches(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct regex *re = n->re;
	char msg[128];
	int r;

	(void)argc;
	if (!both_strings(v))
		return no_overload(n);
	if (re == NULL) {
		c->cost += (uint64_t)v[1].aux * 4;
		re = regex_compile(v[1].s, (size_t)v[1].aux, msg, sizeof(msg));
		if (re == NULL)
			return cel_err_at(n, "invalid regular expression");
	}
	r = regex_search(re, v[0].s, (size_t)v[0].aux, c->arena, &c->cost);
	if (re != n->re)
		regex_free(re);
	if (r == -1)
		return cel_err_at(n, "out of memory");
	return cel_bool(r);
}

/* ------------------------------------------------------------ conversions */

/* Go's strconv.FormatFloat(d, 'g', -1, 64), as CEL's string(double). */
size_t
cel_format_double(double d, char *buf, size_t cap)
{
	char e[40], digs[24];
	int prec, exp, nd = 0, i;
	size_t len = 0;
	const char *p;

	if (isnan(d))
		return (size_t)snprintf(buf, cap, "NaN");
	if (isinf(d))
		return (size_t)snprintf(buf, cap, d > 0 ? "+Inf" : "-Inf");
	if (d == 0)
		return (size_t)snprintf(buf, cap, signbit(d) ? "-0" : "0");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	/* e is [-]D[.DDD]e[+-]XX */
	p = e;
	if (*p == '-') {
		buf[len++] = '-';
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p != '.')
			digs[nd++] = *p;
	exp = (int)strtol(p + 1, NULL, 10);
	while (nd > 1 && digs[nd - 1] == '0')
		nd--;
	if (exp < -4 || exp >= 21) {
		buf[len++] = digs[0];
		if (nd > 1) {
			buf[len++] = '.';
			for (i = 1; i < nd; i++)
				buf[len++] = digs[i];
		}
		len += (size_t)snprintf(buf + len, cap - len, "e%c%02d",
		    exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return len;
	}
	if (exp < 0) {
		buf[len++] = '0';
		buf[len++] = '.';
		for (i = 0; i < -exp - 1; i++)
			buf[len++] = '0';
		for (i = 0; i < nd; i++)
			buf[len++] = digs[i];
	} else {
		for (i = 0; i <= exp; i++)
			buf[len++] = i < nd ? digs[i] : '0';
		if (nd > exp + 1) {
			buf[len++] = '.';
			for (i = exp + 1; i < nd; i++)
				buf[len++] = digs[i];
		}
	}
	buf[len] = '\0';
	return len;
}

static struct cel_value
fn_string(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	char buf[64];
	size_t len;

	(void)argc;
	switch (v[0].kind) {
	case CEL_STRING:
		return v[0];
	case CEL_BYTES:
		if (!cel_utf8_valid(v[0].s, (size_t)v[0].aux))
			return cel_err_at(n, "invalid UTF-8 in bytes");
		return cel_string(v[0].s, (size_t)v[0].aux);
	case CEL_INT:
		len = (size_t)snprintf(buf, sizeof(buf), "%lld",
		    (long long)v[0].i);
		break;
	case CEL_UINT:
		len = (size_t)snprintf(buf, sizeof(buf), "%llu",
		    (unsigned long long)v[0].u);
		break;
	case CEL_DOUBLE:
		len = cel_format_double(v[0].d, buf, sizeof(buf));
		break;
	case CEL_BOOL:
		len = (size_t)snprintf(buf, sizeof(buf), "%s",
		    v[0].b ? "true" : "false");
		break;
	case CEL_TIMESTAMP:
		len = cel_ts_format(v[0].i, v[0].aux, buf, sizeof(buf));
		break;
	case CEL_DURATION:
		len = cel_dur_format(v[0].i, v[0].aux, buf, sizeof(buf));
		break;
	case CEL_IP:
	case CEL_CIDR:
		return cel_net_string(c, n, &v[0]);
	default:
		return no_overload(n);
	}
	return cel_arena_string(c, CEL_STRING, buf, len);
}

static struct cel_value
fn_bytes(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	(void)c;
	(void)argc;
	if (v[0].kind == CEL_BYTES)
		return v[0];
	if (v[0].kind == CEL_STRING)
		return cel_bytes(v[0].s, (size_t)v[0].aux);
	return no_overload(n);
}

/* Copy a string argument into buf for strto*(); -1 when too long. */
static int
cstr(const struct cel_value *v, char *buf, size_t cap)
{
	if ((size_t)v->aux >= cap || memchr(v->s, '\0', (size_t)v->aux))
		return -1;
	memcpy(buf, v->s, (size_t)v->aux);
	buf[v->aux] = '\0';
	return 0;
}

static struct cel_value
fn_int(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	char buf[64], *end;
	long long x;

	(void)c;
	(void)argc;
	switch (v[0].kind) {
	case CEL_INT:
		return v[0];
	case CEL_UINT:
		if (v[0].u > (uint64_t)INT64_MAX)
			return cel_err_at(n, "range error: uint too large "
			    "for int");
		return cel_int((int64_t)v[0].u);
	case CEL_DOUBLE:
		/* The open interval (-2^63, 2^63), as cel-go. */
		if (!(v[0].d > -9223372036854775808.0 &&
		    v[0].d < 9223372036854775808.0))
			return cel_err_at(n, "range error: double out of "
			    "int range");
		return cel_int((int64_t)v[0].d);
	case CEL_STRING:
		if (cstr(&v[0], buf, sizeof(buf)) == -1 || buf[0] == '\0' ||
		    buf[0] == ' ' || buf[0] == '+')
			return cel_err_at(n, "type conversion error: not an "
			    "int");
		errno = 0;
		x = strtoll(buf, &end, 10);
		if (*end != '\0')
			return cel_err_at(n, "type conversion error: not an "
			    "int");
		if (errno == ERANGE)
			return cel_err_at(n, "range error: int out of "
			    "range");
		return cel_int(x);
	case CEL_TIMESTAMP:
		return cel_int(v[0].i);
	default:
		return no_overload(n);
	}
}

static struct cel_value
fn_uint(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	char buf[64], *end;
	unsigned long long x;

	(void)c;
	(void)argc;
	switch (v[0].kind) {
	case CEL_UINT:
		return v[0];
	case CEL_INT:
		if (v[0].i < 0)
			return cel_err_at(n, "range error: negative int to "
			    "uint");
		return cel_uint((uint64_t)v[0].i);
	case CEL_DOUBLE:
		if (!(v[0].d > -1.0 && v[0].d < 18446744073709551616.0))
			return cel_err_at(n, "range error: double out of "
			    "uint range");
		return cel_uint((uint64_t)v[0].d);
	case CEL_STRING:
		if (cstr(&v[0], buf, sizeof(buf)) == -1 || buf[0] < '0' ||
		    buf[0] > '9')
			return cel_err_at(n, "type conversion error: not a "
			    "uint");
		errno = 0;
		x = strtoull(buf, &end, 10);
		if (*end != '\0')
			return cel_err_at(n, "type conversion error: not a "
			    "uint");
		if (errno == ERANGE)
			return cel_err_at(n, "range error: uint out of "
			    "range");
		return cel_uint(x);
	default:
		return no_overload(n);
	}
}

static struct cel_value
fn_double(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	char buf[128], *end;
	double x;

	(void)c;
	(void)argc;
	switch (v[0].kind) {
	case CEL_DOUBLE:
		return v[0];
	case CEL_INT:
		return cel_double((double)v[0].i);
	case CEL_UINT:
		return cel_double((double)v[0].u);
	case CEL_STRING:
		if (cstr(&v[0], buf, sizeof(buf)) == -1 || buf[0] == '\0' ||
		    buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n')
			return cel_err_at(n, "type conversion error: not a "
			    "double");
		x = strtod(buf, &end);
		if (*end != '\0')
			return cel_err_at(n, "type conversion error: not a "
			    "double");
		return cel_double(x);
	default:
		return no_overload(n);
	}
}

static struct cel_value
fn_bool(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	static const char *const yes[] = { "1", "t", "true", "TRUE", "True" };
	static const char *const no[] = { "0", "f", "false", "FALSE",
	    "False" };
	size_t i, len;

	(void)c;
	(void)argc;
	if (v[0].kind == CEL_BOOL)
		return v[0];
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	len = (size_t)v[0].aux;
	for (i = 0; i < 5; i++) {
		if (strlen(yes[i]) == len && memcmp(yes[i], v[0].s, len) == 0)
			return cel_bool(1);
		if (strlen(no[i]) == len && memcmp(no[i], v[0].s, len) == 0)
			return cel_bool(0);
	}
	return cel_err_at(n, "type conversion error: not a bool");
}

static struct cel_value
fn_type(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	(void)c;
	(void)n;
	(void)argc;
	return cel_type_value(cel_type_of(&v[0]));
}

static struct cel_value
fn_dyn(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	(void)c;
	(void)n;
	(void)argc;
	return v[0];
}

static struct cel_value
fn_timestamp(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	int64_t sec;
	int32_t nsec;
	int r;

	(void)c;
	(void)argc;
	switch (v[0].kind) {
	case CEL_TIMESTAMP:
		return v[0];
	case CEL_INT:
		if (v[0].i < CEL_TS_MIN || v[0].i > CEL_TS_MAX)
			return cel_err_at(n, "timestamp out of range");
		return cel_timestamp(v[0].i, 0);
	case CEL_STRING:
		r = cel_ts_parse(v[0].s, (size_t)v[0].aux, &sec, &nsec);
		if (r == -2)
			return cel_err_at(n, "timestamp out of range");
		if (r == -1)
			return cel_err_at(n, "invalid timestamp: want "
			    "RFC 3339");
		return cel_timestamp(sec, nsec);
	default:
		return no_overload(n);
	}
}

static struct cel_value
fn_duration(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	int64_t sec;
	int32_t nsec;
	int r;

	(void)c;
	(void)argc;
	switch (v[0].kind) {
	case CEL_DURATION:
		return v[0];
	case CEL_STRING:
		r = cel_dur_parse(v[0].s, (size_t)v[0].aux, &sec, &nsec);
		if (r == -2)
			return cel_err_at(n, "duration out of range");
		if (r == -1)
			return cel_err_at(n, "invalid duration");
		return cel_duration(sec, nsec);
	default:
		return no_overload(n);
	}
}

/* ------------------------------------------------------------ accessors */

enum acc {
	ACC_YEAR, ACC_MONTH, ACC_DATE, ACC_MDAY0, ACC_WDAY, ACC_YDAY,
	ACC_HOURS, ACC_MINUTES, ACC_SECONDS, ACC_MILLIS
};

static struct cel_value
accessor(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc, enum acc which)
{
	struct cel_tm tm;

	if (v[0].kind == CEL_DURATION && argc == 1) {
		int64_t s = v[0].i;

		switch (which) {
		case ACC_HOURS: return cel_int(s / 3600);
		case ACC_MINUTES: return cel_int(s / 60);
		case ACC_SECONDS: return cel_int(s);
		case ACC_MILLIS: return cel_int(v[0].aux / 1000000);
		default: return no_overload(n);
		}
	}
	if (v[0].kind != CEL_TIMESTAMP)
		return no_overload(n);
	if (argc == 2 && v[1].kind != CEL_STRING)
		return no_overload(n);
	if (cel_ts_fields(v[0].i, v[0].aux, argc == 2 ? v[1].s : NULL,
	    argc == 2 ? (size_t)v[1].aux : 0, c->prog->tz, &tm) == -1)
		return cel_err_at(n, "unknown time zone");
	switch (which) {
	case ACC_YEAR: return cel_int(tm.year);
	case ACC_MONTH: return cel_int(tm.month);
	case ACC_DATE: return cel_int(tm.mday);
	case ACC_MDAY0: return cel_int(tm.mday - 1);
	case ACC_WDAY: return cel_int(tm.wday);
	case ACC_YDAY: return cel_int(tm.yday);
	case ACC_HOURS: return cel_int(tm.hour);
	case ACC_MINUTES: return cel_int(tm.min);
	case ACC_SECONDS: return cel_int(tm.sec);
	case ACC_MILLIS: return cel_int(tm.msec);
	}
	return no_overload(n);
}

#define ACCESSOR(fname, which)						\
static struct cel_value							\
fname(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,	\
    int argc)								\
{									\
	return accessor(c, n, v, argc, which);				\
}
ACCESSOR(fn_year, ACC_YEAR)
ACCESSOR(fn_month, ACC_MONTH)
ACCESSOR(fn_date, ACC_DATE)
ACCESSOR(fn_mday0, ACC_MDAY0)
ACCESSOR(fn_wday, ACC_WDAY)
ACCESSOR(fn_yday, ACC_YDAY)
ACCESSOR(fn_hours, ACC_HOURS)
ACCESSOR(fn_minutes, ACC_MINUTES)
ACCESSOR(fn_seconds, ACC_SECONDS)
ACCESSOR(fn_millis, ACC_MILLIS)

/* ------------------------------------------------------------ the table */

#define DYN	CEL_DYN

const struct cel_func cel_funcs[] = {
	{ .name = "size", .receiver = 2, .min_args = 1, .max_args = 1,
	    .result = CEL_INT, .cost = 2, .fn = fn_size },
	{ .name = "contains", .receiver = 1, .min_args = 2, .max_args = 2,
	    .result = CEL_BOOL, .cost = 16, .fn = fn_contains },
	{ .name = "startsWith", .receiver = 1, .min_args = 2, .max_args = 2,
	    .result = CEL_BOOL, .cost = 2, .fn = fn_starts },
	{ .name = "endsWith", .receiver = 1, .min_args = 2, .max_args = 2,
	    .result = CEL_BOOL, .cost = 2, .fn = fn_ends },
	{ .name = "matches", .receiver = 2, .min_args = 2, .max_args = 2,
	    .result = CEL_BOOL, .cost = 0, .fn = fn_matches },
	{ .name = "string", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_STRING, .cost = 4, .fn = fn_string },
	{ .name = "bytes", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_BYTES, .cost = 1, .fn = fn_bytes },
	{ .name = "int", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_INT, .cost = 2, .fn = fn_int },
	{ .name = "uint", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_UINT, .cost = 2, .fn = fn_uint },
	{ .name = "double", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_DOUBLE, .cost = 2, .fn = fn_double },
	{ .name = "bool", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_BOOL, .cost = 1, .fn = fn_bool },
	{ .name = "type", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_TYPE, .cost = 1, .fn = fn_type },
	{ .name = "dyn", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = DYN, .cost = 0, .fn = fn_dyn },
	{ .name = "timestamp", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_TIMESTAMP, .cost = 4, .fn = fn_timestamp },
	{ .name = "duration", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_DURATION, .cost = 4, .fn = fn_duration },
	{ .name = "getFullYear", .receiver = 1, .min_args = 1, .max_args = 2,
	    .result = CEL_INT, .cost = 4, .fn = fn_year },
	{ .name = "getMonth", .receiver = 1, .min_args = 1, .max_args = 2,
	    .result = CEL_INT, .cost = 4, .fn = fn_month },
	{ .name = "getDate", .receiver = 1, .min_args = 1, .max_args = 2,
	    .result = CEL_INT, .cost = 4, .fn = fn_date },
	{ .name = "getDayOfMonth", .receiver = 1, .min_args = 1,
	    .max_args = 2, .result = CEL_INT, .cost = 4, .fn = fn_mday0 },
	{ .name = "getDayOfWeek", .receiver = 1, .min_args = 1,
	    .max_args = 2, .result = CEL_INT, .cost = 4, .fn = fn_wday },
	{ .name = "getDayOfYear", .receiver = 1, .min_args = 1,
	    .max_args = 2, .result = CEL_INT, .cost = 4, .fn = fn_yday },
	{ .name = "getHours", .receiver = 1, .min_args = 1, .max_args = 2,
	    .result = CEL_INT, .cost = 4, .fn = fn_hours },
	{ .name = "getMinutes", .receiver = 1, .min_args = 1, .max_args = 2,
	    .result = CEL_INT, .cost = 4, .fn = fn_minutes },
	{ .name = "getSeconds", .receiver = 1, .min_args = 1, .max_args = 2,
	    .result = CEL_INT, .cost = 4, .fn = fn_seconds },
	{ .name = "getMilliseconds", .receiver = 1, .min_args = 1,
	    .max_args = 2, .result = CEL_INT, .cost = 4, .fn = fn_millis },

	/*
	 * The strings extension (cel_strings.c).  From here on, every function
	 * is documented in nsreg-policy(7) (tests/docs-sync.sh checks).
	 */
	{ .name = "charAt", .receiver = 1, .min_args = 2, .max_args = 2,
	    .result = CEL_STRING, .cost = 4, .fn = cel_fn_char_at,
	    .first = CEL_STRING },
	{ .name = "indexOf", .receiver = 1, .min_args = 2, .max_args = 3,
	    .result = CEL_INT, .cost = 16, .fn = cel_fn_index_of,
	    .first = CEL_STRING },
	{ .name = "lastIndexOf", .receiver = 1, .min_args = 2,
	    .max_args = 3, .result = CEL_INT, .cost = 16,
	    .fn = cel_fn_last_index_of, .first = CEL_STRING },
	{ .name = "lowerAscii", .receiver = 1, .min_args = 1, .max_args = 1,
	    .result = CEL_STRING, .cost = 16, .fn = cel_fn_lower_ascii,
	    .first = CEL_STRING },
	{ .name = "upperAscii", .receiver = 1, .min_args = 1, .max_args = 1,
	    .result = CEL_STRING, .cost = 16, .fn = cel_fn_upper_ascii,
	    .first = CEL_STRING },
	{ .name = "replace", .receiver = 1, .min_args = 3, .max_args = 4,
	    .result = CEL_STRING, .cost = 32, .fn = cel_fn_replace,
	    .first = CEL_STRING },
	{ .name = "split", .receiver = 1, .min_args = 2, .max_args = 3,
	    .result = CEL_LIST, .cost = 32, .fn = cel_fn_split,
	    .first = CEL_STRING },
	{ .name = "substring", .receiver = 1, .min_args = 2, .max_args = 3,
	    .result = CEL_STRING, .cost = 4, .fn = cel_fn_substring,
	    .first = CEL_STRING },
	{ .name = "trim", .receiver = 1, .min_args = 1, .max_args = 1,
	    .result = CEL_STRING, .cost = 4, .fn = cel_fn_trim,
	    .first = CEL_STRING },
	{ .name = "join", .receiver = 1, .min_args = 1, .max_args = 2,
	    .result = CEL_STRING, .cost = 32, .fn = cel_fn_join,
	    .first = CEL_LIST },
	{ .name = "reverse", .receiver = 1, .min_args = 1, .max_args = 1,
	    .result = CEL_STRING, .cost = 16, .fn = cel_fn_reverse,
	    .first = CEL_STRING },
	{ .name = "format", .receiver = 1, .min_args = 2, .max_args = 2,
	    .result = CEL_STRING, .cost = 64, .fn = cel_fn_format,
	    .first = CEL_STRING },
	{ .name = "strings.quote", .receiver = 0, .min_args = 1,
	    .max_args = 1, .result = CEL_STRING, .cost = 16,
	    .fn = cel_fn_quote, .first = CEL_STRING },

	/* The math extension (cel_math.c). */
	{ .name = "math.greatest", .receiver = 0, .min_args = 1,
	    .max_args = 1000, .result = DYN, .cost = 4,
	    .fn = cel_fn_math_greatest, .lazy = 1 },
	{ .name = "math.least", .receiver = 0, .min_args = 1,
	    .max_args = 1000, .result = DYN, .cost = 4,
	    .fn = cel_fn_math_least, .lazy = 1 },
	{ .name = "math.abs", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = DYN, .cost = 1, .fn = cel_fn_math_abs },
	{ .name = "math.sign", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = DYN, .cost = 1, .fn = cel_fn_math_sign },
	{ .name = "math.ceil", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_DOUBLE, .cost = 1, .fn = cel_fn_math_ceil,
	    .first = CEL_DOUBLE },
	{ .name = "math.floor", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_DOUBLE, .cost = 1, .fn = cel_fn_math_floor,
	    .first = CEL_DOUBLE },
	{ .name = "math.round", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_DOUBLE, .cost = 1, .fn = cel_fn_math_round,
	    .first = CEL_DOUBLE },
	{ .name = "math.trunc", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_DOUBLE, .cost = 1, .fn = cel_fn_math_trunc,
	    .first = CEL_DOUBLE },
	{ .name = "math.isNaN", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_BOOL, .cost = 1, .fn = cel_fn_math_is_nan,
	    .first = CEL_DOUBLE },
	{ .name = "math.isInf", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_BOOL, .cost = 1, .fn = cel_fn_math_is_inf,
	    .first = CEL_DOUBLE },
	{ .name = "math.isFinite", .receiver = 0, .min_args = 1,
	    .max_args = 1, .result = CEL_BOOL, .cost = 1,
	    .fn = cel_fn_math_is_finite, .first = CEL_DOUBLE },
	{ .name = "math.bitAnd", .receiver = 0, .min_args = 2, .max_args = 2,
	    .result = DYN, .cost = 1, .fn = cel_fn_math_bit_and },
	{ .name = "math.bitOr", .receiver = 0, .min_args = 2, .max_args = 2,
	    .result = DYN, .cost = 1, .fn = cel_fn_math_bit_or },
	{ .name = "math.bitXor", .receiver = 0, .min_args = 2, .max_args = 2,
	    .result = DYN, .cost = 1, .fn = cel_fn_math_bit_xor },
	{ .name = "math.bitNot", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = DYN, .cost = 1, .fn = cel_fn_math_bit_not },
	{ .name = "math.bitShiftLeft", .receiver = 0, .min_args = 2,
	    .max_args = 2, .result = DYN, .cost = 1,
	    .fn = cel_fn_math_shift_left },
	{ .name = "math.bitShiftRight", .receiver = 0, .min_args = 2,
	    .max_args = 2, .result = DYN, .cost = 1,
	    .fn = cel_fn_math_shift_right },

	/* Optional values (cel_optional.c). */
	{ .name = "optional.of", .receiver = 0, .min_args = 1, .max_args = 1,
	    .result = CEL_OPTIONAL, .cost = 1, .fn = cel_fn_opt_of },
	{ .name = "optional.none", .receiver = 0, .min_args = 0,
	    .max_args = 0, .result = CEL_OPTIONAL, .cost = 1,
	    .fn = cel_fn_opt_none },
	{ .name = "optional.ofNonZeroValue", .receiver = 0, .min_args = 1,
	    .max_args = 1, .result = CEL_OPTIONAL, .cost = 2,
	    .fn = cel_fn_opt_of_non_zero },
	{ .name = "hasValue", .receiver = 1, .min_args = 1, .max_args = 1,
	    .result = CEL_BOOL, .cost = 1, .fn = cel_fn_opt_has_value,
	    .first = CEL_OPTIONAL },
	{ .name = "value", .receiver = 1, .min_args = 1, .max_args = 1,
	    .result = DYN, .cost = 1, .fn = cel_fn_opt_value,
	    .first = CEL_OPTIONAL },
	{ .name = "or", .receiver = 1, .min_args = 2, .max_args = 2,
	    .result = CEL_OPTIONAL, .cost = 1, .fn = cel_fn_opt_or,
	    .first = CEL_OPTIONAL, .lazy = 1 },
	{ .name = "orValue", .receiver = 1, .min_args = 2, .max_args = 2,
	    .result = DYN, .cost = 1, .fn = cel_fn_opt_or_value,
	    .first = CEL_OPTIONAL, .lazy = 1 },
};
const size_t cel_nfuncs = sizeof(cel_funcs) / sizeof(cel_funcs[0]);

int
cel_func_exists(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < cel_nfuncs; i++)
		if (strlen(cel_funcs[i].name) == len &&
		    memcmp(cel_funcs[i].name, name, len) == 0)
			return 1;
	return cel_net_exists(name, len);
}

int
cel_func_lookup(const char *name, size_t len, int receiver, int argc)
{
	size_t i;
	int r;

	for (i = 0; i < cel_nfuncs; i++) {
		const struct cel_func *f = &cel_funcs[i];

		if (strlen(f->name) != len || memcmp(f->name, name, len) != 0)
			continue;
		if (f->receiver != 2 && f->receiver != receiver)
			continue;
		if (argc < f->min_args || argc > f->max_args)
			continue;
		return (int)i;
	}
	r = cel_net_lookup(name, len, receiver, argc);
	return r < 0 ? -1 : CEL_NET_FUNC_BASE + r;
}

const struct cel_func *
cel_func_get(int id)
{
	if (id >= CEL_NET_FUNC_BASE)
		return cel_net_func(id - CEL_NET_FUNC_BASE);
	if (id < 0 || (size_t)id >= cel_nfuncs)
		return NULL;
	return &cel_funcs[id];
}
