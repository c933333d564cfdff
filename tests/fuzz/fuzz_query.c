/*
 * fuzz_query.c - libFuzzer target: a query string of the registry API
 * ("limit=10&label=app%3Dweb&page_token=..."), split and percent-decoded
 * as libmicrohttpd hands it over, each value checked as the list
 * handlers check it: limit, since, watch, page_token, name and service
 * filters, label filters.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "validate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s in place ('+' is a space), as MHD_http_unescape. */
static void
fuzz_unescape(char *s)
{
	char	*w = s;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (*s == '%' && (hi = fuzz_hex(s[1])) >= 0 &&
		    (lo = fuzz_hex(s[2])) >= 0) {
			*w++ = (char)(hi * 16 + lo);
			s += 2;
		} else
			*w++ = *s == '+' ? ' ' : *s;
	}
	*w = '\0';
}

static void
fuzz_param(const char *key, const char *value)
{
	struct nsreg_error	 err;
	long long		 v;
	char			 after[512];
	const char		*eq;

	if (strcmp(key, "limit") == 0)
		(void)util_number_parse(value, 1, 1000, &v);
	else if (strcmp(key, "since") == 0)
		(void)util_number_parse(value, 0, INT64_MAX, &v);
	else if (strcmp(key, "page_token") == 0 && value[0] != '\0')
		(void)validate_page_token(value, after, sizeof(after), &err);
	else if (strcmp(key, "service") == 0)
		(void)validate_name(value, 1, "service", &err);
	else if (strcmp(key, "name") == 0)
		(void)validate_name(value, 0, "name", &err);
	else if (strcmp(key, "label") == 0 ||
	    strncmp(key, "label.", 6) == 0) {
		eq = strchr(value, '=');
		if (eq != NULL && eq != value)
			(void)util_utf8_valid(value, strlen(value));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*q, *pair, *next, *eq;

	if (size > 64 * 1024 || (q = malloc(size + 1)) == NULL)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	for (pair = q; pair != NULL; pair = next) {
		if ((next = strchr(pair, '&')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(pair, '=')) != NULL)
			*eq++ = '\0';
		fuzz_unescape(pair);
		if (eq != NULL)
			fuzz_unescape(eq);
		fuzz_param(pair, eq != NULL ? eq : "");
	}
	free(q);
	return 0;
}
