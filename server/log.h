/*
 * log.h - logfmt logging to stderr (foreground) or syslog.
 *
 * Messages are logfmt fragments: the caller writes "msg=... key=value"
 * and log.c prefixes "ts=... level=...".  Values that may hold spaces or
 * quotes go through log_quote().
 */
#ifndef NSREG_LOG_H
#define NSREG_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR
};

/* foreground: log to stderr, else syslog (facility daemon). */
void	log_init(int foreground, enum log_level level);
void	log_set_level(enum log_level level);
int	log_enabled(enum log_level level);
/*
 * Every later line carries instance=name after its level (names are
 * checked by conf.c: no character needs quoting).  Call before threads
 * start; NULL or "" drops the field.  The name is copied.
 */
void	log_set_instance(const char *name);

void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends err="strerror(errno)". */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Write s into buf as a logfmt value: bare when it has no space, quote,
 * '=' or control character, else double-quoted with escapes.  Truncates
 * to fit; returns buf.
 */
char	*log_quote(char *buf, size_t len, const char *s);

#endif
