/*
 * validate.h - checks of client JSON against DESIGN section 4's limits.
 * Each returns 0 or -1 with err NSREG_INVALID_ARGUMENT naming the field.
 */
#ifndef NSREG_VALIDATE_H
#define NSREG_VALIDATE_H

#include <jansson.h>

#include "error.h"

#define VALIDATE_NAME_MAX	253
#define VALIDATE_LABELS_MAX	64
#define VALIDATE_LABEL_KEY_MAX	63
#define VALIDATE_LABEL_VALUE_MAX 253
#define VALIDATE_URL_MAX	2048

/*
 * A record name [a-z0-9][a-z0-9._-]{0,252}; with allow_domain an
 * "@domain" suffix (a trust domain name) is accepted too.
 */
int	validate_name(const char *name, int allow_domain, const char *field,
	    struct nsreg_error *err);

/* Labels: an object of at most 64 string values with valid keys. */
int	validate_labels(const json_t *labels, const char *field,
	    struct nsreg_error *err);

/*
 * Every member of obj is one of allowed (NULL-terminated); the first
 * other one is rejected as "unknown field".  prefix ("matches[0].") is
 * prepended to field names.
 */
int	validate_fields(const json_t *obj, const char *const *allowed,
	    const char *prefix, struct nsreg_error *err);

/*
 * Optional member key of obj: absent or null -> *out NULL and 0; else it
 * must have the JSON type (JSON_STRING, JSON_OBJECT, ...).
 */
int	validate_member(const json_t *obj, const char *key, json_type type,
	    const char *prefix, const json_t **out, struct nsreg_error *err);

/* A label selector (object of strings) is a subset of labels. */
int	validate_selector_matches(const json_t *selector,
	    const json_t *labels);

/*
 * A CIDR prefix "10.60.0.0/16" or "fd00::/64" with no host bits set.
 * *family gets 4 or 6 and *len the prefix length.
 */
int	validate_prefix(const char *s, int *family, int *len,
	    const char *field, struct nsreg_error *err);

/*
 * A page token (?page_token=, api.h): standard base64 of the last name
 * of the previous page, a record name or a trust domain name, decoded
 * into out (a NUL-terminated string of less than len bytes).  Returns 0,
 * or -1 with err "page_token: not a token this server issued".
 */
int	validate_page_token(const char *s, char *out, size_t len,
	    struct nsreg_error *err);

#endif
