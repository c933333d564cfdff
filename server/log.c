/*
 * log.c - logfmt lines, one per event, to stderr or syslog.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int		log_foreground = 1;
static enum log_level	log_min = LOG_LEVEL_INFO;
static char		log_instance[256];

static const char *const log_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

static const int log_prio[] = {
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_WARN] = LOG_WARNING,
	[LOG_LEVEL_ERROR] = LOG_ERR,
};

void
log_init(int foreground, enum log_level level)
{
	log_foreground = foreground;
	log_min = level;
	if (!foreground)
		openlog("nsregd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

void
log_set_instance(const char *name)
{
	snprintf(log_instance, sizeof(log_instance), "%s",
	    name != NULL ? name : "");
}

int
log_enabled(enum log_level level)
{
	return level >= log_min;
}

static void
log_vwrite(enum log_level level, const char *suffix, const char *fmt,
    va_list ap)
{
	char		 line[4096];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n;

	if (level < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s %s%s%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_names[level],
	    log_instance[0] != '\0' ? "instance=" : "", log_instance,
	    log_instance[0] != '\0' ? " " : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (suffix != NULL) {
		n = strlen(line);
		snprintf(line + n, sizeof(line) - n, "%s", suffix);
	}
	if (log_foreground) {
		/* One write per line so that lines never interleave. */
		n = strlen(line);
		if ((size_t)n < sizeof(line) - 1) {
			line[n++] = '\n';
			line[n] = '\0';
		}
		fputs(line, stderr);
		fflush(stderr);
	} else
		syslog(log_prio[level], "%s", line + 0);
}

#define LOG_FUNC(name, level)						\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	ap;							\
									\
	va_start(ap, fmt);						\
	log_vwrite(level, NULL, fmt, ap);				\
	va_end(ap);							\
}

LOG_FUNC(log_debug, LOG_LEVEL_DEBUG)
LOG_FUNC(log_info, LOG_LEVEL_INFO)
LOG_FUNC(log_warnx, LOG_LEVEL_WARN)

void
log_warn(const char *fmt, ...)
{
	char	suffix[256], q[200];
	va_list	ap;

	snprintf(suffix, sizeof(suffix), " err=%s",
	    log_quote(q, sizeof(q), strerror(errno)));
	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, suffix, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	char	suffix[256], q[200];
	va_list	ap;

	snprintf(suffix, sizeof(suffix), " err=%s",
	    log_quote(q, sizeof(q), strerror(errno)));
	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, suffix, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_quote(char *buf, size_t len, const char *s)
{
	const unsigned char	*p;
	size_t			 o = 0;
	int			 bare = (*s != '\0');

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    *p == 0x7f) {
			bare = 0;
			break;
		}
	if (bare) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	if (len < 3) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (p = (const unsigned char *)s; *p != '\0' && o + 5 < len; p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = *p;
		} else if (*p < ' ' || *p == 0x7f) {
			o += snprintf(buf + o, len - o, "\\x%02x", *p);
		} else
			buf[o++] = *p;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
