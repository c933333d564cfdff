/*
 * error.c - error codes, their HTTP statuses and the JSON error body.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "util.h"

static const struct {
	const char	*name;
	unsigned int	 status;
} error_table[NSREG_CODE_MAX] = {
	[NSREG_OK] =			{ "ok", 200 },
	[NSREG_INVALID_ARGUMENT] =	{ "invalid_argument", 400 },
	[NSREG_UNAUTHENTICATED] =	{ "unauthenticated", 401 },
	[NSREG_PERMISSION_DENIED] =	{ "permission_denied", 403 },
	[NSREG_NOT_FOUND] =		{ "not_found", 404 },
	[NSREG_METHOD_NOT_ALLOWED] =	{ "method_not_allowed", 405 },
	[NSREG_ALREADY_EXISTS] =	{ "already_exists", 409 },
	[NSREG_RESOURCE_EXHAUSTED] =	{ "resource_exhausted", 409 },
	[NSREG_CONFLICT] =		{ "conflict", 409 },
	[NSREG_GONE] =			{ "gone", 410 },
	[NSREG_FAILED_PRECONDITION] =	{ "failed_precondition", 412 },
	[NSREG_PAYLOAD_TOO_LARGE] =	{ "payload_too_large", 413 },
	[NSREG_UNSUPPORTED_MEDIA_TYPE] = { "unsupported_media_type", 415 },
	[NSREG_INTERNAL] =		{ "internal", 500 },
	[NSREG_BAD_GATEWAY] =		{ "bad_gateway", 502 },
	[NSREG_UNAVAILABLE] =		{ "unavailable", 503 },
	[NSREG_DEADLINE_EXCEEDED] =	{ "deadline_exceeded", 504 },
};

int
nsreg_error_set(struct nsreg_error *err, enum nsreg_code code,
    const char *field, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	snprintf(err->field, sizeof(err->field), "%s",
	    field != NULL ? field : "");
	return -1;
}

void
nsreg_error_clear(struct nsreg_error *err)
{
	err->code = NSREG_OK;
	err->message[0] = '\0';
	err->field[0] = '\0';
}

void
nsreg_error_prefix(struct nsreg_error *err, const char *prefix)
{
	char	buf[NSREG_ERROR_MESSAGE_MAX];

	if (err == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s: %s", prefix, err->message);
	memcpy(err->message, buf, sizeof(err->message));
}

const char *
nsreg_code_name(enum nsreg_code code)
{
	if (code < 0 || code >= NSREG_CODE_MAX)
		code = NSREG_INTERNAL;
	return error_table[code].name;
}

unsigned int
nsreg_code_status(enum nsreg_code code)
{
	if (code < 0 || code >= NSREG_CODE_MAX)
		code = NSREG_INTERNAL;
	return error_table[code].status;
}

/* A JSON string of s, with bytes that are not UTF-8 replaced by '?'. */
static json_t *
nsreg_error_string(const char *s)
{
	char	buf[NSREG_ERROR_MESSAGE_MAX];
	size_t	i, n;

	n = strlen(s);
	if (util_utf8_valid(s, n))
		return json_stringn(s, n);
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	return json_stringn(buf, n);
}

json_t *
nsreg_error_json(const struct nsreg_error *err)
{
	json_t	*e;

	e = json_pack("{s:s, s:o}", "code", nsreg_code_name(err->code),
	    "message", nsreg_error_string(err->message[0] != '\0' ?
	    err->message : nsreg_code_name(err->code)));
	if (e != NULL && err->field[0] != '\0')
		json_object_set_new(e, "field",
		    nsreg_error_string(err->field));
	return json_pack("{s:o}", "error", e);
}
