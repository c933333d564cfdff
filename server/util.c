/*
 * util.c - clocks, RFC 3339, durations, numbers, UTF-8 and files.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util.h"

int64_t
util_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t
util_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

char *
util_rfc3339_format(int64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		secs;
	int64_t		frac;

	frac = ms % 1000;
	if (frac < 0)
		frac += 1000;
	secs = (time_t)((ms - frac) / 1000);
	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, len, "1970-01-01T00:00:00Z");
		return buf;
	}
	if (frac != 0)
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)frac);
	else
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
	return buf;
}

static int
util_digits(const char **sp, int n, int *out)
{
	const char	*s = *sp;
	int		 v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	*out = v;
	return 0;
}

int
util_rfc3339_parse(const char *s, int64_t *ms)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int	year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	int	leap, frac_ms = 0, nfrac = 0;
	int64_t	t;

	if (util_digits(&s, 4, &year) == -1 || *s++ != '-' ||
	    util_digits(&s, 2, &mon) == -1 || *s++ != '-' ||
	    util_digits(&s, 2, &day) == -1)
		return -1;
	if (*s != 'T' && *s != 't')
		return -1;
	s++;
	if (util_digits(&s, 2, &hour) == -1 || *s++ != ':' ||
	    util_digits(&s, 2, &min) == -1 || *s++ != ':' ||
	    util_digits(&s, 2, &sec) == -1)
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++, nfrac++) {
			if (nfrac < 3)
				frac_ms = frac_ms * 10 + (*s - '0');
			if (nfrac > 18)
				return -1;
		}
		for (; nfrac < 3; nfrac++)
			frac_ms *= 10;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (util_digits(&s, 2, &oh) == -1 || *s++ != ':' ||
		    util_digits(&s, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (*s != '\0')
		return -1;
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (mon < 1 || mon > 12 || day < 1 ||
	    day > mdays[mon - 1] + (mon == 2 && leap) ||
	    hour > 23 || min > 59 || sec > 60)
		return -1;
	/* A leap second is accepted and folded into the next second. */
	t = util_days_from_civil(year, mon, day) * 86400 + hour * 3600 +
	    min * 60 + sec;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*ms = t * 1000 + frac_ms;
	return 0;
}

int
util_duration_parse(const char *s, int64_t *ms)
{
	int64_t		 total = 0, mult;
	long long	 v;
	char		*end;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || v < 0)
			return -1;
		s = end;
		if (strncmp(s, "ms", 2) == 0) {
			mult = 1;
			s += 2;
		} else if (*s == 's') {
			mult = 1000;
			s++;
		} else if (*s == 'm') {
			mult = 60 * 1000;
			s++;
		} else if (*s == 'h') {
			mult = 3600 * 1000;
			s++;
		} else if (*s == 'd') {
			mult = 86400 * 1000;
			s++;
		} else if (*s == '\0' && total == 0) {
			mult = 1000;
		} else
			return -1;
		if (v > INT64_MAX / mult || total > INT64_MAX - v * mult)
			return -1;
		total += v * mult;
	}
	*ms = total;
	return 0;
}

char *
util_duration_format(int64_t ms, char *buf, size_t len)
{
	static const struct {
		const char	*unit;
		int64_t		 ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t	i, o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ms <= 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]) && o < len; i++) {
		if (ms / units[i].ms == 0)
			continue;
		o += snprintf(buf + o, len - o, "%lld%s",
		    (long long)(ms / units[i].ms), units[i].unit);
		ms %= units[i].ms;
	}
	return buf;
}

int
util_number_parse(const char *s, long long min, long long max,
    long long *out)
{
	long long	 v;
	char		*end;

	/*
	 * Digits, with a '-' only: strtoll would also take leading white
	 * space and a '+', which say something else than a plain number.
	 */
	if (s == NULL || !((*s >= '0' && *s <= '9') ||
	    (*s == '-' && min < 0 && s[1] >= '0' && s[1] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_size_parse(const char *s, size_t *out)
{
	unsigned long long	 v, mult = 1;
	char			*end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'k' || *end == 'K')
		mult = 1024;
	else if (*end == 'M')
		mult = 1024 * 1024;
	else if (*end == 'G')
		mult = 1024 * 1024 * 1024;
	else if (*end != '\0')
		return -1;
	if (*end != '\0') {
		end++;
		if (strcmp(end, "iB") != 0 && strcmp(end, "B") != 0 &&
		    *end != '\0')
			return -1;
	}
	if (v > SIZE_MAX / mult)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

int
util_utf8_valid(const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, n, k;
	uint32_t		 cp;

	while (i < len) {
		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Reject overlong forms, surrogates and values past U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
util_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen) {
		/* Still spend the time of a comparison. */
		(void)CRYPTO_memcmp(a, a, alen);
		return 0;
	}
	return CRYPTO_memcmp(a, b, alen) == 0;
}

char *
util_file_read(const char *path, size_t max, size_t *lenp)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0, cap;
	ssize_t		 n;
	int		 fd, saved;

	/*
	 * O_NONBLOCK: opening a FIFO must not wait for a writer.  Then only
	 * a regular file is read: a FIFO, a device (/dev/zero) or a socket
	 * could block or never end.
	 */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = ENODEV;
		goto fail;
	}
	if ((uintmax_t)st.st_size > (uintmax_t)max) {
		errno = EFBIG;
		goto fail;
	}
	cap = (size_t)st.st_size + 4096;
	if ((buf = malloc(cap)) == NULL)
		goto fail;
	for (;;) {
		if (len + 1 == cap) {
			char	*nb;

			if (cap > max + 1) {
				errno = EFBIG;
				goto fail;
			}
			if ((nb = realloc(buf, cap * 2)) == NULL)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
fail:
	saved = errno;
	close(fd);
	if (buf != NULL) {
		/* Key files pass through here. */
		explicit_bzero(buf, len);
		free(buf);
	}
	errno = saved;
	return NULL;
}

const char *
util_file_strerror(int e)
{
	switch (e) {
	case ENODEV:
		return "not a regular file (a FIFO, device or socket)";
	case EISDIR:
		return "is a directory";
	case EFBIG:
		return "larger than the limit for this file";
	default:
		return strerror(e);
	}
}

int
util_file_write(const char *path, const void *data, size_t len, int mode)
{
	char	 tmp[PATH_MAX];
	int	 fd, rc = -1;
	ssize_t	 w;
	size_t	 off = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		return -1;
	while (off < len) {
		w = write(fd, (const char *)data + off, len - off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1)
		unlink(tmp);
	return rc;
}
