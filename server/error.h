/*
 * error.h - the one error vocabulary of nsregd.
 *
 * Every fallible function returns 0/-1 (or NULL) and fills a caller's
 * struct nsreg_error.  The code decides the HTTP status and the stable
 * name clients see; handlers never write status numbers by hand.
 */
#ifndef NSREG_ERROR_H
#define NSREG_ERROR_H

#include <jansson.h>

enum nsreg_code {
	NSREG_OK = 0,
	NSREG_INVALID_ARGUMENT,
	NSREG_UNAUTHENTICATED,
	NSREG_PERMISSION_DENIED,
	NSREG_NOT_FOUND,
	NSREG_METHOD_NOT_ALLOWED,
	NSREG_ALREADY_EXISTS,
	NSREG_RESOURCE_EXHAUSTED,
	NSREG_CONFLICT,
	NSREG_GONE,
	NSREG_FAILED_PRECONDITION,
	NSREG_PAYLOAD_TOO_LARGE,
	NSREG_UNSUPPORTED_MEDIA_TYPE,
	NSREG_INTERNAL,
	NSREG_BAD_GATEWAY,
	NSREG_UNAVAILABLE,
	NSREG_DEADLINE_EXCEEDED,
	NSREG_CODE_MAX
};

#define NSREG_ERROR_MESSAGE_MAX	512
#define NSREG_ERROR_FIELD_MAX	128

struct nsreg_error {
	enum nsreg_code	code;
	char		message[NSREG_ERROR_MESSAGE_MAX];
	char		field[NSREG_ERROR_FIELD_MAX];	/* "" when none */
};

/*
 * Fill err (which may be NULL) with code, an optional field (NULL for none)
 * and a printf-style message.  Always returns -1 so that callers can
 * write "return nsreg_error_set(...)".
 */
int		 nsreg_error_set(struct nsreg_error *err, enum nsreg_code code,
		    const char *field, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/* Reset err to NSREG_OK with empty message and field. */
void		 nsreg_error_clear(struct nsreg_error *err);

/* Prefix the message with "prefix: " (used when a nested check fails). */
void		 nsreg_error_prefix(struct nsreg_error *err, const char *prefix);

/* The stable name ("invalid_argument") and HTTP status of a code. */
const char	*nsreg_code_name(enum nsreg_code code);
unsigned int	 nsreg_code_status(enum nsreg_code code);

/*
 * The error body {"error":{"code","message"[,"field"]}}.
 * Returns a new reference.
 */
json_t		*nsreg_error_json(const struct nsreg_error *err);

#endif
