/*
 * spiffe.h - SPIFFE IDs and trust domain names, exactly as the SPIFFE-ID
 * standard (spiffe/spiffe standards/SPIFFE-ID.md, sections 2 to 2.4)
 * defines them.
 *
 * A SPIFFE ID is "spiffe://" trust-domain [path]:
 *   - the scheme is "spiffe", compared case-insensitively;
 *   - the trust domain (the URI host) is 1 to 255 bytes of [a-z0-9._-],
 *     compared case-insensitively and stored lower-case; no userinfo, no
 *     port, no percent-encoding;
 *   - the path is empty or "/" segment ("/" segment)*, each segment 1 or
 *     more bytes of [A-Za-z0-9._-], never "." or "..", no trailing "/";
 *     the path is case-sensitive;
 *   - no query, no fragment, at most 2048 bytes in all.
 *
 * Every rejected ID names the one rule it breaks (enum spiffe_rule), so
 * errors say why.  Nothing here allocates; nothing here is stateful.
 */
#ifndef NSREG_SPIFFE_H
#define NSREG_SPIFFE_H

#include <stddef.h>

#include "error.h"

#define SPIFFE_ID_MAX		2048	/* bytes, the whole URI */
#define SPIFFE_TD_MAX		255	/* bytes, the trust domain name */
#define SPIFFE_SCHEME		"spiffe://"
#define SPIFFE_SCHEME_LEN	9

/*
 * The rule a string breaks.  The stable names (spiffe_rule_name) are used
 * by tests/spiffe/ids.txt; the messages (spiffe_rule_message) by errors.
 * When an ID breaks several rules, the first in this order is reported:
 * length, scheme, authority (userinfo, a bracketed IP literal as
 * "td-char", port, percent, empty, characters, length), query, fragment,
 * then the path: percent, then segments from left to right (characters,
 * then empty, "." or "..", an empty last segment being a trailing slash).
 */
enum spiffe_rule {
	SPIFFE_OK = 0,
	SPIFFE_EMPTY,		/* "empty": the empty string */
	SPIFFE_TOO_LONG,	/* "too-long": over 2048 bytes */
	SPIFFE_SCHEME_BAD,	/* "scheme": does not start "spiffe://" */
	SPIFFE_TD_EMPTY,	/* "td-empty": no trust domain */
	SPIFFE_TD_TOO_LONG,	/* "td-too-long": over 255 bytes */
	SPIFFE_TD_CHAR,		/* "td-char": outside [a-z0-9._-] */
	SPIFFE_USERINFO,	/* "userinfo": '@' in the authority */
	SPIFFE_PORT,		/* "port": ':' in the authority */
	SPIFFE_PERCENT,		/* "percent": percent-encoding */
	SPIFFE_QUERY,		/* "query": a '?' component */
	SPIFFE_FRAGMENT,	/* "fragment": a '#' component */
	SPIFFE_SEGMENT_EMPTY,	/* "segment-empty": "//" in the path */
	SPIFFE_SEGMENT_DOT,	/* "segment-dot": a "." or ".." segment */
	SPIFFE_TRAILING_SLASH,	/* "trailing-slash": path ends in '/' */
	SPIFFE_PATH_CHAR,	/* "path-char": outside [A-Za-z0-9._-] */
	SPIFFE_RULE_MAX
};

/*
 * A parsed, normalised SPIFFE ID: id is NUL-terminated with the scheme and
 * trust domain lower-cased; the trust domain is id[SPIFFE_SCHEME_LEN ..
 * SPIFFE_SCHEME_LEN + td_len); the path (possibly "") starts at
 * id + path_off (== SPIFFE_SCHEME_LEN + td_len).
 */
struct spiffe_id {
	char	id[SPIFFE_ID_MAX + 1];
	size_t	len;		/* strlen(id) */
	size_t	td_len;
	size_t	path_off;
};

/*
 * Check s[0..len) (which need not be NUL-terminated and may hold NUL
 * bytes, which are rejected) and, when it is a SPIFFE ID and out is not
 * NULL, store its normal form in out.  Returns SPIFFE_OK or the rule
 * broken; out is left undefined on failure.
 */
enum spiffe_rule spiffe_id_check(const char *s, size_t len,
		    struct spiffe_id *out);

/*
 * As spiffe_id_check on a NUL-terminated string, house style: returns 0,
 * or -1 with err NSREG_INVALID_ARGUMENT and the message
 * "invalid SPIFFE ID: <rule message>".
 */
int		 spiffe_id_parse(const char *s, struct spiffe_id *out,
		    struct nsreg_error *err);

/*
 * Check a bare trust domain name s[0..len) ("example.org", no scheme):
 * 1 to 255 bytes of [a-z0-9._-] in any case, nothing else.  When out is
 * not NULL it receives the lower-cased, NUL-terminated name (out holds
 * SPIFFE_TD_MAX + 1 bytes).  Returns SPIFFE_OK, SPIFFE_TD_EMPTY,
 * SPIFFE_TD_TOO_LONG, SPIFFE_USERINFO, SPIFFE_PORT, SPIFFE_PERCENT or
 * SPIFFE_TD_CHAR (a '/' is a character outside the set).
 */
enum spiffe_rule spiffe_td_check(const char *s, size_t len, char *out);

/*
 * As spiffe_td_check on a NUL-terminated string: 0, or -1 with err
 * NSREG_INVALID_ARGUMENT "invalid trust domain name: <rule message>".
 */
int		 spiffe_td_parse(const char *s, char *out,
		    struct nsreg_error *err);

/*
 * Copy the trust domain of a parsed ID, NUL-terminated, into td (which
 * holds SPIFFE_TD_MAX + 1 bytes).
 */
void		 spiffe_id_trust_domain(const struct spiffe_id *id, char *td);

/*
 * 1 when a parsed ID has a path: what X509-SVID 3.1 demands of a leaf and
 * nsreg of every workload, whichever SVID carries it; 0 for the ID of a
 * trust domain itself ("spiffe://example.org").
 */
int		 spiffe_id_has_path(const struct spiffe_id *id);

/* The path of a parsed ID ("" when none).  Borrowed from id. */
const char	*spiffe_id_path(const struct spiffe_id *id);

/* "td-char" etc.; "ok" for SPIFFE_OK; NULL for an out-of-range value. */
const char	*spiffe_rule_name(enum spiffe_rule rule);

/* The rule back from its stable name; SPIFFE_RULE_MAX when unknown. */
enum spiffe_rule spiffe_rule_from_name(const char *name);

/* A sentence fragment saying what the rule demands, e.g.
 * "trust domain has a character outside [a-z0-9._-]". */
const char	*spiffe_rule_message(enum spiffe_rule rule);

#endif
