/*
 * spiffe.c - SPIFFE ID and trust domain name parsing (SPIFFE-ID standard
 * sections 2.1 to 2.4).
 */
#include "config.h"

#include <string.h>

#include "spiffe.h"

static const struct {
	const char	*name;
	const char	*message;
} spiffe_rules[SPIFFE_RULE_MAX] = {
	[SPIFFE_OK] =		 { "ok", "valid" },
	[SPIFFE_EMPTY] =	 { "empty", "empty" },
	[SPIFFE_TOO_LONG] =	 { "too-long", "longer than 2048 bytes" },
	[SPIFFE_SCHEME_BAD] =	 { "scheme",
	    "scheme must be spiffe followed by //" },
	[SPIFFE_TD_EMPTY] =	 { "td-empty", "trust domain is empty" },
	[SPIFFE_TD_TOO_LONG] =	 { "td-too-long",
	    "trust domain is longer than 255 bytes" },
	[SPIFFE_TD_CHAR] =	 { "td-char",
	    "trust domain has a character outside [a-z0-9._-]" },
	[SPIFFE_USERINFO] =	 { "userinfo", "userinfo is not allowed" },
	[SPIFFE_PORT] =		 { "port", "port is not allowed" },
	[SPIFFE_PERCENT] =	 { "percent",
	    "percent-encoding is not allowed" },
	[SPIFFE_QUERY] =	 { "query", "query is not allowed" },
	[SPIFFE_FRAGMENT] =	 { "fragment", "fragment is not allowed" },
	[SPIFFE_SEGMENT_EMPTY] = { "segment-empty",
	    "path has an empty segment" },
	[SPIFFE_SEGMENT_DOT] =	 { "segment-dot",
	    "path has a . or .. segment" },
	[SPIFFE_TRAILING_SLASH] = { "trailing-slash",
	    "path has a trailing slash" },
	[SPIFFE_PATH_CHAR] =	 { "path-char",
	    "path has a character outside [A-Za-z0-9._-]" },
};

/* [a-z0-9._-] once lower-cased (the caller lower-cases). */
static int
spiffe_td_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '-';
}

/* [A-Za-z0-9._-] */
static int
spiffe_path_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static unsigned char
spiffe_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/*
 * Check an authority (a trust domain) a[0..len); write it lower-cased to
 * out when not NULL.  RFC 3986 3.2: authority = [userinfo "@"] host
 * [":" port], so any '@' is userinfo; a host in brackets is an IP literal
 * (IPv6, excluded by the standard: its characters are outside the set);
 * otherwise any ':' starts a port.
 */
static enum spiffe_rule
spiffe_authority_check(const char *a, size_t len, char *out)
{
	size_t	i;

	if (memchr(a, '@', len) != NULL)
		return SPIFFE_USERINFO;
	if (len > 0 && a[0] == '[')
		return SPIFFE_TD_CHAR;
	if (memchr(a, ':', len) != NULL)
		return SPIFFE_PORT;
	if (memchr(a, '%', len) != NULL)
		return SPIFFE_PERCENT;
	if (len == 0)
		return SPIFFE_TD_EMPTY;
	for (i = 0; i < len; i++) {
		unsigned char	c = spiffe_lower((unsigned char)a[i]);

		if (!spiffe_td_char(c))
			return SPIFFE_TD_CHAR;
		if (out != NULL && i < SPIFFE_TD_MAX)
			out[i] = (char)c;
	}
	if (len > SPIFFE_TD_MAX)
		return SPIFFE_TD_TOO_LONG;
	if (out != NULL)
		out[len] = '\0';
	return SPIFFE_OK;
}

/*
 * Check a path p[0..len) that is empty or starts with '/'.  Segments are
 * checked left to right; within a segment, characters first, then "." and
 * "..".  An empty last segment is a trailing slash.
 */
static enum spiffe_rule
spiffe_path_check(const char *p, size_t len)
{
	size_t	i, start;

	if (memchr(p, '%', len) != NULL)
		return SPIFFE_PERCENT;
	i = 0;
	while (i < len) {
		/* p[i] == '/' here. */
		start = ++i;
		while (i < len && p[i] != '/') {
			if (!spiffe_path_char((unsigned char)p[i]))
				return SPIFFE_PATH_CHAR;
			i++;
		}
		if (i == start)
			return i == len ? SPIFFE_TRAILING_SLASH :
			    SPIFFE_SEGMENT_EMPTY;
		if ((i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return SPIFFE_SEGMENT_DOT;
	}
	return SPIFFE_OK;
}

enum spiffe_rule
spiffe_id_check(const char *s, size_t len, struct spiffe_id *out)
{
	const char		*auth, *rest, *q, *f;
	size_t			 i, auth_len, rest_len;
	enum spiffe_rule	 rule;

	if (len == 0)
		return SPIFFE_EMPTY;
	if (len > SPIFFE_ID_MAX)
		return SPIFFE_TOO_LONG;
	if (len < SPIFFE_SCHEME_LEN)
		return SPIFFE_SCHEME_BAD;
	for (i = 0; i < SPIFFE_SCHEME_LEN; i++)
		if (spiffe_lower((unsigned char)s[i]) !=
		    (unsigned char)SPIFFE_SCHEME[i])
			return SPIFFE_SCHEME_BAD;

	/* The authority ends at the first '/', '?' or '#' (RFC 3986 3.2). */
	auth = s + SPIFFE_SCHEME_LEN;
	for (auth_len = 0; auth + auth_len < s + len; auth_len++) {
		char	c = auth[auth_len];

		if (c == '/' || c == '?' || c == '#')
			break;
	}
	rule = spiffe_authority_check(auth, auth_len,
	    out != NULL ? out->id + SPIFFE_SCHEME_LEN : NULL);
	if (rule != SPIFFE_OK)
		return rule;

	/* Query and fragment are refused whatever the path holds. */
	rest = auth + auth_len;
	rest_len = (size_t)(s + len - rest);
	q = memchr(rest, '?', rest_len);
	f = memchr(rest, '#', rest_len);
	if (q != NULL && (f == NULL || q < f))
		return SPIFFE_QUERY;
	if (f != NULL)
		return SPIFFE_FRAGMENT;

	rule = spiffe_path_check(rest, rest_len);
	if (rule != SPIFFE_OK)
		return rule;

	if (out != NULL) {
		memcpy(out->id, SPIFFE_SCHEME, SPIFFE_SCHEME_LEN);
		memcpy(out->id + SPIFFE_SCHEME_LEN + auth_len, rest, rest_len);
		out->len = len;
		out->id[len] = '\0';
		out->td_len = auth_len;
		out->path_off = SPIFFE_SCHEME_LEN + auth_len;
	}
	return SPIFFE_OK;
}

int
spiffe_id_parse(const char *s, struct spiffe_id *out, struct nsreg_error *err)
{
	enum spiffe_rule	 rule;

	if (s == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "invalid SPIFFE ID: %s", spiffe_rule_message(SPIFFE_EMPTY));
	rule = spiffe_id_check(s, strlen(s), out);
	if (rule != SPIFFE_OK)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "invalid SPIFFE ID: %s", spiffe_rule_message(rule));
	return 0;
}

enum spiffe_rule
spiffe_td_check(const char *s, size_t len, char *out)
{
	size_t	i;

	/*
	 * A bare name is a host alone: what would end an authority in an ID
	 * ('/', '?', '#') is just a character outside the set here, so
	 * "spiffe://name" given where a bare name belongs is a "td-char".
	 */
	for (i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == '?' || s[i] == '#')
			return SPIFFE_TD_CHAR;
	return spiffe_authority_check(s, len, out);
}

int
spiffe_td_parse(const char *s, char *out, struct nsreg_error *err)
{
	enum spiffe_rule	 rule;

	rule = s == NULL ? SPIFFE_TD_EMPTY : spiffe_td_check(s, strlen(s), out);
	if (rule != SPIFFE_OK)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "invalid trust domain name: %s",
		    spiffe_rule_message(rule));
	return 0;
}

void
spiffe_id_trust_domain(const struct spiffe_id *id, char *td)
{
	memcpy(td, id->id + SPIFFE_SCHEME_LEN, id->td_len);
	td[id->td_len] = '\0';
}

int
spiffe_id_has_path(const struct spiffe_id *id)
{
	return id->path_off < id->len;
}

const char *
spiffe_id_path(const struct spiffe_id *id)
{
	return id->id + id->path_off;
}

const char *
spiffe_rule_name(enum spiffe_rule rule)
{
	if ((int)rule < 0 || rule >= SPIFFE_RULE_MAX)
		return NULL;
	return spiffe_rules[rule].name;
}

enum spiffe_rule
spiffe_rule_from_name(const char *name)
{
	int	i;

	for (i = 0; i < SPIFFE_RULE_MAX; i++)
		if (strcmp(spiffe_rules[i].name, name) == 0)
			return (enum spiffe_rule)i;
	return SPIFFE_RULE_MAX;
}

const char *
spiffe_rule_message(enum spiffe_rule rule)
{
	if ((int)rule < 0 || rule >= SPIFFE_RULE_MAX)
		return "unknown rule";
	return spiffe_rules[rule].message;
}
