/*
 * validate.c - names, labels, known fields, prefixes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "spiffe.h"
#include "validate.h"

static int
validate_name_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return !first && (c == '.' || c == '_' || c == '-');
}

int
validate_name(const char *name, int allow_domain, const char *field,
    struct nsreg_error *err)
{
	const char	*at = NULL, *s;
	size_t		 n;

	if (name == NULL || name[0] == '\0')
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: empty name", field);
	if (allow_domain)
		at = strchr(name, '@');
	n = at != NULL ? (size_t)(at - name) : strlen(name);
	if (n == 0 || n > VALIDATE_NAME_MAX)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: a name has 1 to %d characters", field,
		    VALIDATE_NAME_MAX);
	for (s = name; s < name + n; s++)
		if (!validate_name_char(*s, s == name))
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    field, "%s: invalid name (use [a-z0-9] then "
			    "[a-z0-9._-])", field);
	if (at == NULL)
		return 0;
	s = at + 1;
	if (*s == '\0' || strlen(s) > 255)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: empty or over-long trust domain after '@'", field);
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '.' || *s == '_' || *s == '-'))
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    field, "%s: invalid trust domain after '@'",
			    field);
	return 0;
}

int
validate_labels(const json_t *labels, const char *field,
    struct nsreg_error *err)
{
	const char	*k, *s;
	json_t		*v;
	size_t		 n;

	if (!json_is_object(labels))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: must be an object of strings", field);
	if (json_object_size(labels) > VALIDATE_LABELS_MAX)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: at most %d labels", field, VALIDATE_LABELS_MAX);
	json_object_foreach((json_t *)labels, k, v) {
		n = strlen(k);
		if (n == 0 || n > VALIDATE_LABEL_KEY_MAX)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    field, "%s: label keys have 1 to %d characters",
			    field, VALIDATE_LABEL_KEY_MAX);
		for (s = k; *s != '\0'; s++)
			if (!((*s >= 'a' && *s <= 'z') ||
			    (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || *s == '.' ||
			    *s == '_' || *s == '/' || *s == '-'))
				return nsreg_error_set(err,
				    NSREG_INVALID_ARGUMENT, field,
				    "%s.%s: label key has a character outside "
				    "[A-Za-z0-9._/-]", field, k);
		if (!json_is_string(v))
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    field, "%s.%s: label values are strings", field,
			    k);
		if (json_string_length(v) > VALIDATE_LABEL_VALUE_MAX)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    field, "%s.%s: label value longer than %d bytes",
			    field, k, VALIDATE_LABEL_VALUE_MAX);
	}
	return 0;
}

int
validate_fields(const json_t *obj, const char *const *allowed,
    const char *prefix, struct nsreg_error *err)
{
	const char	*k;
	json_t		*v;
	size_t		 i;
	char		 field[NSREG_ERROR_FIELD_MAX];

	json_object_foreach((json_t *)obj, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], k) == 0)
				break;
		if (allowed[i] == NULL) {
			snprintf(field, sizeof(field), "%s%s", prefix, k);
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    field, "%s: unknown field", field);
		}
	}
	return 0;
}

static const char *
validate_type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

int
validate_member(const json_t *obj, const char *key, json_type type,
    const char *prefix, const json_t **out, struct nsreg_error *err)
{
	const json_t	*v;
	char		 field[NSREG_ERROR_FIELD_MAX];
	int		 ok;

	*out = NULL;
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (type == JSON_TRUE || type == JSON_FALSE)
		ok = json_is_boolean(v);
	else
		ok = json_typeof(v) == type;
	if (!ok) {
		snprintf(field, sizeof(field), "%s%s", prefix, key);
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: must be %s", field, validate_type_name(type));
	}
	*out = v;
	return 0;
}

int
validate_selector_matches(const json_t *selector, const json_t *labels)
{
	const char	*k;
	json_t		*v, *have;

	json_object_foreach((json_t *)selector, k, v) {
		have = json_object_get(labels, k);
		if (!json_is_string(have) || !json_is_string(v) ||
		    strcmp(json_string_value(have), json_string_value(v)) != 0)
			return 0;
	}
	return 1;
}

int
validate_prefix(const char *s, int *family, int *len, const char *field,
    struct nsreg_error *err)
{
	unsigned char	 addr[16];
	char		 host[INET6_ADDRSTRLEN];
	const char	*slash;
	long		 bits = 0;
	int		 i, max, fam;
	size_t		 n;

	if ((slash = strchr(s, '/')) == NULL ||
	    (n = (size_t)(slash - s)) == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	fam = strchr(host, ':') != NULL ? 6 : 4;
	if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, host, addr) != 1)
		goto bad;
	max = fam == 6 ? 128 : 32;
	if (slash[1] == '\0' || strlen(slash + 1) > 3)
		goto bad;
	for (i = 1; slash[i] != '\0'; i++) {
		if (slash[i] < '0' || slash[i] > '9' ||
		    (i == 1 && slash[i] == '0' && slash[2] != '\0'))
			goto bad;
		bits = bits * 10 + (slash[i] - '0');
	}
	if (bits > max)
		goto bad;
	for (i = (int)bits; i < max; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    field, "%s: %s has host bits set", field, s);
	*family = fam;
	*len = (int)bits;
	return 0;
bad:
	return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
	    "%s: \"%s\" is not an IPv4 or IPv6 prefix (ADDR/LEN)", field, s);
}

int
validate_page_token(const char *s, char *out, size_t len,
    struct nsreg_error *err)
{
	unsigned char	*dec = NULL;
	size_t		 slen = strlen(s);
	int		 n, rc = -1;

	out[0] = '\0';
	if (len == 0 || slen > (len / 3) * 4 || slen % 4 != 0 ||
	    (dec = malloc(len + 4)) == NULL ||
	    (n = EVP_DecodeBlock(dec, (const unsigned char *)s,
	    (int)slen)) < 0)
		goto out;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (slen > 0 && s[slen - 1] == '=') {
		slen--;
		n--;
	}
	if (n <= 0 || (size_t)n >= len)
		goto out;
	memcpy(out, dec, (size_t)n);
	out[n] = '\0';
	/* A record name or a trust domain name; err only for neither. */
	if (validate_name(out, 0, "page_token", err) == 0 ||
	    spiffe_td_check(out, (size_t)n, NULL) == SPIFFE_OK) {
		nsreg_error_clear(err);
		rc = 0;
	}
out:
	free(dec);
	if (rc == -1) {
		out[0] = '\0';
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "page_token",
		    "page_token: not a token this server issued");
	}
	return rc;
}
