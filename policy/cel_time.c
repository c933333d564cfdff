/*
 * cel_time.c - timestamps (RFC 3339, years 0001..9999) and durations
 * (Go syntax, int64 nanoseconds) and the calendar arithmetic of the
 * timestamp accessors.  The civil-date algorithms are Howard Hinnant's
 * (public domain), proleptic Gregorian.
 */
#include <stdio.h>
#include <string.h>

#include "cel_ast.h"

struct cel_value
cel_timestamp(int64_t sec, int32_t nsec)
{
	struct cel_value v = { .kind = CEL_TIMESTAMP, .aux = nsec, .i = sec };

	return v;
}

struct cel_value
cel_duration(int64_t sec, int32_t nsec)
{
	struct cel_value v = { .kind = CEL_DURATION, .aux = nsec, .i = sec };

	return v;
}

int64_t
cel_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
cel_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
digits(const char *s, size_t n, size_t at, int count, int *out)
{
	int v = 0, i;

	if (at + (size_t)count > n)
		return -1;
	for (i = 0; i < count; i++) {
		char c = s[at + (size_t)i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* 0 ok, -1 syntax, -2 out of range. */
int
cel_ts_parse(const char *s, size_t n, int64_t *secp, int32_t *nsecp)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0;
	int32_t nsec = 0;
	size_t i = 19;
	int64_t sec;

	if (n < 20)
		return -1;
	if (digits(s, n, 0, 4, &y) == -1 || s[4] != '-' ||
	    digits(s, n, 5, 2, &mo) == -1 || s[7] != '-' ||
	    digits(s, n, 8, 2, &d) == -1 ||
	    (s[10] != 'T' && s[10] != 't') ||
	    digits(s, n, 11, 2, &h) == -1 || s[13] != ':' ||
	    digits(s, n, 14, 2, &mi) == -1 || s[16] != ':' ||
	    digits(s, n, 17, 2, &se) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || se > 59)
		return -1;
	if (i < n && s[i] == '.') {
		int nd = 0;

		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (nd < 9) {
				nsec = nsec * 10 + (s[i] - '0');
				nd++;
			}
			i++;
		}
		if (nd == 0)
			return -1;
		while (nd++ < 9)
			nsec *= 10;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z'))
		i++;
	else if (i < n && (s[i] == '+' || s[i] == '-')) {
		int sign = s[i] == '-' ? -1 : 1;

		if (digits(s, n, i + 1, 2, &oh) == -1 || i + 3 >= n ||
		    s[i + 3] != ':' || digits(s, n, i + 4, 2, &om) == -1 ||
		    oh > 23 || om > 59)
			return -1;
		oh *= sign;
		om *= sign;
		i += 6;
	} else
		return -1;
	if (i != n)
		return -1;
	sec = cel_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    se - (int64_t)oh * 3600 - (int64_t)om * 60;
	if (sec < CEL_TS_MIN || sec > CEL_TS_MAX)
		return -2;
	*secp = sec;
	*nsecp = nsec;
	return 0;
}

/* Append ".ddd" trimmed of trailing zeros (nothing for 0). */
static size_t
frac(int32_t nsec, char *buf, size_t cap)
{
	char f[16];
	int k = 9;

	if (nsec == 0 || cap < 11)
		return 0;
	snprintf(f, sizeof(f), ".%09d", (int)nsec);
	while (f[k] == '0')
		k--;
	memcpy(buf, f, (size_t)k + 1);
	return (size_t)k + 1;
}

size_t
cel_ts_format(int64_t sec, int32_t nsec, char *buf, size_t cap)
{
	int64_t days = sec / 86400, rem = sec % 86400, y;
	int m, d, n;
	size_t len;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	cel_civil_from_days(days, &y, &m, &d);
	n = snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02d",
	    (long long)y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
	    (int)(rem % 60));
	if (n < 0 || (size_t)n >= cap)
		return 0;
	len = (size_t)n;
	len += frac(nsec, buf + len, cap - len);
	if (len + 2 > cap)
		return 0;
	buf[len++] = 'Z';
	buf[len] = '\0';
	return len;
}

/*
 * Go's time.ParseDuration syntax ("1h2m3.5s", "-999999999ns") with
 * cel-go's range (int64 nanoseconds).  0 ok, -1 syntax, -2 out of range.
 */
int
cel_dur_parse(const char *s, size_t n, int64_t *secp, int32_t *nsecp)
{
	__int128 total = 0;	/* nanoseconds */
	const __int128 limit = (__int128)CEL_DUR_MAX_NS;
	size_t i = 0;
	int neg = 0;

	if (i < n && (s[i] == '-' || s[i] == '+')) {
		neg = s[i] == '-';
		i++;
	}
	if (i == n - 1 && s[i] == '0') {
		*secp = 0;
		*nsecp = 0;
		return 0;
	}
	if (i >= n)
		return -1;
	while (i < n) {
		__int128 whole = 0, fnum = 0, fden = 1, unit;
		int any = 0;
		size_t u;

		while (i < n && s[i] >= '0' && s[i] <= '9') {
			whole = whole * 10 + (s[i] - '0');
			if (whole > limit)
				return -2;
			i++;
			any = 1;
		}
		if (i < n && s[i] == '.') {
			i++;
			while (i < n && s[i] >= '0' && s[i] <= '9') {
				if (fden < (__int128)1000000000000000000) {
					fnum = fnum * 10 + (s[i] - '0');
					fden *= 10;
				}
				i++;
				any = 1;
			}
		}
		if (!any)
			return -1;
		u = i;
		while (i < n && ((s[i] >= 'a' && s[i] <= 'z') ||
		    (unsigned char)s[i] >= 0x80))
			i++;
		if (i - u == 1 && s[u] == 'h')
			unit = (__int128)3600 * 1000000000;
		else if (i - u == 1 && s[u] == 'm')
			unit = (__int128)60 * 1000000000;
		else if (i - u == 1 && s[u] == 's')
			unit = 1000000000;
		else if (i - u == 2 && memcmp(s + u, "ms", 2) == 0)
			unit = 1000000;
		else if ((i - u == 2 && memcmp(s + u, "us", 2) == 0) ||
		    (i - u == 3 && memcmp(s + u, "\xc2\xb5s", 3) == 0) ||
		    (i - u == 3 && memcmp(s + u, "\xce\xbcs", 3) == 0))
			unit = 1000;
		else if (i - u == 2 && memcmp(s + u, "ns", 2) == 0)
			unit = 1;
		else
			return -1;
		total += whole * unit + fnum * unit / fden;
		if (total > limit)
			return -2;
	}
	if (neg)
		total = -total;
	*secp = (int64_t)(total / 1000000000);
	*nsecp = (int32_t)(total % 1000000000);
	return 0;
}

size_t
cel_dur_format(int64_t sec, int32_t nsec, char *buf, size_t cap)
{
	int n;
	size_t len;
	int neg = sec < 0 || nsec < 0;
	uint64_t s = sec < 0 ? (uint64_t)0 - (uint64_t)sec : (uint64_t)sec;

	n = snprintf(buf, cap, "%s%llu", neg ? "-" : "",
	    (unsigned long long)s);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	len = (size_t)n;
	len += frac(nsec < 0 ? -nsec : nsec, buf + len, cap - len);
	if (len + 2 > cap)
		return 0;
	buf[len++] = 's';
	buf[len] = '\0';
	return len;
}

/* A fixed offset "+05:30", "-02:00", "02:00"; 1 parsed, 0 not one. */
static int
tz_fixed(const char *s, size_t n, int32_t *off)
{
	int sign = 1, h, m;
	size_t i = 0;

	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		sign = s[0] == '-' ? -1 : 1;
		i = 1;
	}
	if (n - i != 5 || s[i + 2] != ':' ||
	    digits(s, n, i, 2, &h) == -1 || digits(s, n, i + 3, 2, &m) == -1)
		return 0;
	if (h > 23 || m > 59)
		return -1;
	*off = sign * (h * 3600 + m * 60);
	return 1;
}

int
cel_ts_fields(int64_t sec, int32_t nsec, const char *tz, size_t tzlen,
    const struct policy_tz *zones, struct cel_tm *tm)
{
	int32_t off = 0;
	int64_t local, days, rem, y;
	int r, m, d;

	if (tz != NULL && tzlen > 0 && !(tzlen == 3 &&
	    memcmp(tz, "UTC", 3) == 0)) {
		r = tz_fixed(tz, tzlen, &off);
		if (r == -1)
			return -1;
		if (r == 0) {
			char name[128];

			if (zones == NULL || zones->offset == NULL ||
			    tzlen >= sizeof(name) ||
			    memchr(tz, '\0', tzlen) != NULL)
				return -1;
			memcpy(name, tz, tzlen);
			name[tzlen] = '\0';
			if (zones->offset(zones->arg, name, sec, &off) == -1)
				return -1;
		}
	}
	local = sec + off;
	days = local / 86400;
	rem = local % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	cel_civil_from_days(days, &y, &m, &d);
	tm->year = y;
	tm->month = m - 1;
	tm->mday = d;
	tm->yday = (int)(days - cel_days_from_civil(y, 1, 1));
	tm->wday = (int)(((days % 7) + 11) % 7);	/* 1970-01-01: Thu */
	tm->hour = (int)(rem / 3600);
	tm->min = (int)(rem / 60 % 60);
	tm->sec = (int)(rem % 60);
	tm->msec = nsec / 1000000;
	return 0;
}
