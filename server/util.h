/*
 * util.h - small pure helpers: clocks, RFC 3339, durations, numbers,
 * UTF-8.  No allocation unless stated.
 */
#ifndef NSREG_UTIL_H
#define NSREG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UTIL_RFC3339_MAX	32

/* Wall clock in milliseconds since the epoch. */
int64_t	 util_now_ms(void);
/* Monotonic clock in microseconds. */
int64_t	 util_mono_us(void);

/*
 * Format ms since the epoch as RFC 3339 UTC ("2026-11-27T16:31:14Z", with
 * ".123" when the milliseconds are not zero).  buf holds at least
 * UTIL_RFC3339_MAX bytes.  Returns buf.
 */
char	*util_rfc3339_format(int64_t ms, char *buf, size_t len);

/*
 * Parse an RFC 3339 date-time (section 5.6: full-date "T" full-time, "T"
 * and "Z" in either case, any fraction, "Z" or a numeric offset) into ms
 * since the epoch (fractions below a millisecond are truncated).
 * Returns 0 or -1 when s is not RFC 3339 or out of range.
 */
int	 util_rfc3339_parse(const char *s, int64_t *ms);

/*
 * Parse a duration "N[unit]..." with units ms, s, m, h, d (e.g. "90s",
 * "1h30m", "7d"); a bare number is seconds.  Returns 0 or -1.
 */
int	 util_duration_parse(const char *s, int64_t *ms);

/* Render ms as the shortest "7d", "1h30m", "45s", "250ms". */
char	*util_duration_format(int64_t ms, char *buf, size_t len);

/*
 * Parse a decimal integer in [min, max] with nothing after it.
 * Returns 0 or -1.
 */
int	 util_number_parse(const char *s, long long min, long long max,
	    long long *out);

/* Parse a byte size "1048576", "512k", "1M", "1MiB", "2G".  0 or -1. */
int	 util_size_parse(const char *s, size_t *out);

/* 1 when s[0..len) is valid UTF-8 without NUL, else 0. */
int	 util_utf8_valid(const char *s, size_t len);

/* Constant-time equality of two byte strings (lengths may differ). */
int	 util_secret_equal(const void *a, size_t alen, const void *b,
	    size_t blen);

/*
 * Read a whole regular file (at most max bytes) into a new NUL-terminated
 * buffer.  Never blocks on a special file: a FIFO, device or socket is
 * refused with errno ENODEV, a directory with EISDIR, a file over max
 * with EFBIG.  NULL with errno on failure.
 */
char	*util_file_read(const char *path, size_t max, size_t *lenp);

/* What util_file_read's errno means, as a message (static string). */
const char *util_file_strerror(int e);

/* Write data to path atomically (temp file + rename) with the given mode. */
int	 util_file_write(const char *path, const void *data, size_t len,
	    int mode);

#endif
