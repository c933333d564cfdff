/*
 * cel_net.c - Kubernetes' network functions for conditions: its CEL IP,
 * CIDR and URL libraries (k8s.io/apiserver/pkg/cel/library ip.go,
 * cidr.go, urls.go), with the same names, overloads and semantics.
 *
 * Addresses follow Go's net/netip: IPv4 in dotted decimal without leading
 * zeros, IPv6 with "::" and an embedded IPv4 tail, no zones, and no
 * IPv4-mapped IPv6 addresses; the canonical form is RFC 5952's.  URLs
 * follow Go's net/url: url() accepts what url.ParseRequestURI accepts (an
 * absolute URI or an absolute path) and reads the parts as url.Parse does.
 *
 * One const table; a call resolves to an entry by name, call style and
 * argument count (cel_func.c falls back to this table), and
 * cel_net_check() checks operand kinds and folds literal operands when
 * the rule is compiled, so cidr('10.0.0.0/8') is parsed once.
 */
#include <stdio.h>
#include <string.h>

#include "cel_ast.h"

/* ------------------------------------------------------------ memory */

/* Where parsed values live: the program (folding) or the arena. */
struct net_mem {
	struct cel_program	*p;
	struct cel_arena	*a;
};

static void *
net_alloc(const struct net_mem *m, size_t n)
{
	if (m->p != NULL)
		return cel_pool_alloc(m->p, n);
	return cel_arena_alloc(m->a, n);
}

static struct cel_value
addr_value(int kind, const struct cel_net_addr *x)
{
	struct cel_value v = { .kind = (uint8_t)kind, .obj = x };

	return v;
}

static struct cel_value
new_addr(const struct net_mem *m, int kind, const struct cel_net_addr *x,
    const struct cel_node *n)
{
	struct cel_net_addr *c;

	c = net_alloc(m, sizeof(*c));
	if (c == NULL)
		return cel_err_at(n, "out of memory");
	*c = *x;
	return addr_value(kind, c);
}

static const struct cel_net_addr *
addr_of(const struct cel_value *v)
{
	return v->obj;
}

/* ------------------------------------------------------------ errors */

/* Why a string is not an address (Go's messages, without the input). */
enum ip_err {
	IPE_OK = 0,
	IPE_UNPARSABLE,
	IPE_NO_V6,
	IPE_V4_LONG,
	IPE_V4_SHORT,
	IPE_V4_EMPTY,
	IPE_V4_ZERO,
	IPE_V4_BIG,
	IPE_CHAR,
	IPE_V6_EMPTY,
	IPE_V6_DIGITS,
	IPE_V6_BIG,
	IPE_V6_COLON,
	IPE_V6_END,
	IPE_V6_TWICE,
	IPE_V6_GARBAGE,
	IPE_V6_SHORT,
	IPE_V6_ELLIPSIS,
	IPE_V6_V4POS,
	IPE_V6_V4ROOM,
	IPE_ZONE_EMPTY,
	IPE_ZONE,
	IPE_MAPPED,
	IPE_NO_SLASH,
	IPE_BITS,
	IPE_BITS_RANGE,
	IPE_PREFIX_ZONE,
	IPE_COUNT
};

#define IP_REASONS(X)							\
	X(IPE_UNPARSABLE, "unable to parse IP")				\
	X(IPE_NO_V6, "missing IPv6 address")				\
	X(IPE_V4_LONG, "IPv4 address too long")				\
	X(IPE_V4_SHORT, "IPv4 address too short")			\
	X(IPE_V4_EMPTY, "IPv4 field must have at least one digit")	\
	X(IPE_V4_ZERO, "IPv4 field has octet with leading zero")	\
	X(IPE_V4_BIG, "IPv4 field has value >255")			\
	X(IPE_CHAR, "unexpected character")				\
	X(IPE_V6_EMPTY, "each colon-separated field must have at least "\
	    "one digit")						\
	X(IPE_V6_DIGITS, "each group must have 4 or less digits")	\
	X(IPE_V6_BIG, "IPv6 field has value >=2^16")			\
	X(IPE_V6_COLON, "unexpected character, want colon")		\
	X(IPE_V6_END, "colon must be followed by more characters")	\
	X(IPE_V6_TWICE, "multiple :: in address")			\
	X(IPE_V6_GARBAGE, "trailing garbage after address")		\
	X(IPE_V6_SHORT, "address string too short")			\
	X(IPE_V6_ELLIPSIS, "the :: must expand to at least one field of "\
	    "zeros")							\
	X(IPE_V6_V4POS, "embedded IPv4 address must replace the final 2 "\
	    "fields of the address")					\
	X(IPE_V6_V4ROOM, "too many hex fields to fit an embedded IPv4 at "\
	    "the end of the address")					\
	X(IPE_ZONE_EMPTY, "zone must be a non-empty string")		\
	X(IPE_NO_SLASH, "no '/'")					\
	X(IPE_BITS, "bad bits after slash")				\
	X(IPE_BITS_RANGE, "prefix length out of range")			\
	X(IPE_PREFIX_ZONE, "IPv6 zones cannot be present in a prefix")

#define IP_MSG(e, text)	[e] = "IP Address parse error during conversion "\
	"from string: " text,
#define CIDR_MSG(e, text) [e] = "network address parse error during "	\
	"conversion from string: " text,

static const char *const ip_msgs[IPE_COUNT] = {
	IP_REASONS(IP_MSG)
	[IPE_ZONE] = "IP address with zone value is not allowed",
	[IPE_MAPPED] = "IPv4-mapped IPv6 address is not allowed",
};

static const char *const cidr_msgs[IPE_COUNT] = {
	IP_REASONS(CIDR_MSG)
	[IPE_MAPPED] = "network address parse error during conversion from "
	    "string: IPv4-mapped IPv6 address is not allowed",
};

enum url_err {
	URE_OK = 0,
	URE_CTL,
	URE_EMPTY,
	URE_SCHEME,
	URE_REQUEST,
	URE_COLON,
	URE_BRACKET,
	URE_PORT,
	URE_ESCAPE,
	URE_HOST,
	URE_USERINFO,
	URE_COUNT
};

#define URL_MSG(text)	"URL parse error during conversion from string: " text

static const char *const url_msgs[URE_COUNT] = {
	[URE_CTL] = URL_MSG("net/url: invalid control character in URL"),
	[URE_EMPTY] = URL_MSG("empty url"),
	[URE_SCHEME] = URL_MSG("missing protocol scheme"),
	[URE_REQUEST] = URL_MSG("invalid URI for request"),
	[URE_COLON] = URL_MSG("first path segment in URL cannot contain "
	    "colon"),
	[URE_BRACKET] = URL_MSG("missing ']' in host"),
	[URE_PORT] = URL_MSG("invalid port after host"),
	[URE_ESCAPE] = URL_MSG("invalid URL escape"),
	[URE_HOST] = URL_MSG("invalid character in host name"),
	[URE_USERINFO] = URL_MSG("net/url: invalid userinfo"),
};

/* ------------------------------------------------------------ parsing */

/* The last c in s[0..n), or NULL. */
static const char *
memrchr_(const char *s, int c, size_t n)
{
	while (n > 0)
		if (s[--n] == c)
			return s + n;
	return NULL;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four dotted decimal fields into out[0..3] (Go's parseIPv4Fields). */
static enum ip_err
parse_v4(const char *s, size_t n, uint8_t *out)
{
	unsigned int val = 0, pos = 0, digits = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && val == 0)
				return IPE_V4_ZERO;
			val = val * 10 + (unsigned int)(s[i] - '0');
			digits++;
			if (val > 255)
				return IPE_V4_BIG;
		} else if (s[i] == '.') {
			if (i == 0 || i == n - 1 || s[i - 1] == '.')
				return IPE_V4_EMPTY;
			if (pos == 3)
				return IPE_V4_LONG;
			out[pos++] = (uint8_t)val;
			val = 0;
			digits = 0;
		} else
			return IPE_CHAR;
	}
	if (pos < 3)
		return IPE_V4_SHORT;
	out[3] = (uint8_t)val;
	return IPE_OK;
}

/* Go's parseIPv6; *zoned is set when a non-empty zone followed. */
static enum ip_err
parse_v6(const char *s, size_t n, uint8_t *ip, int *zoned)
{
	const char *pct;
	size_t off;
	int i = 0, ellipsis = -1, j, k;
	unsigned int acc;

	*zoned = 0;
	memset(ip, 0, 16);
	pct = memchr(s, '%', n);
	if (pct != NULL) {
		if (pct == s + n - 1)
			return IPE_ZONE_EMPTY;
		*zoned = 1;
		n = (size_t)(pct - s);
	}
	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		ellipsis = 0;
		s += 2;
		n -= 2;
		if (n == 0)
			return IPE_OK;
	}
	while (i < 16) {
		acc = 0;
		for (off = 0; off < n; off++) {
			int h = hexval((unsigned char)s[off]);

			if (h < 0)
				break;
			acc = (acc << 4) + (unsigned int)h;
			if (off > 3)
				return IPE_V6_DIGITS;
			if (acc > 0xffff)
				return IPE_V6_BIG;
		}
		if (off == 0)
			return IPE_V6_EMPTY;
		if (off < n && s[off] == '.') {
			enum ip_err e;

			if (ellipsis < 0 && i != 12)
				return IPE_V6_V4POS;
			if (i + 4 > 16)
				return IPE_V6_V4ROOM;
			e = parse_v4(s, n, ip + i);
			if (e != IPE_OK)
				return e;
			i += 4;
			n = 0;
			break;
		}
		ip[i] = (uint8_t)(acc >> 8);
		ip[i + 1] = (uint8_t)acc;
		i += 2;
		s += off;
		n -= off;
		if (n == 0)
			break;
		if (s[0] != ':')
			return IPE_V6_COLON;
		if (n == 1)
			return IPE_V6_END;
		s++;
		n--;
		if (s[0] == ':') {
			if (ellipsis >= 0)
				return IPE_V6_TWICE;
			ellipsis = i;
			s++;
			n--;
			if (n == 0)
				break;
		}
	}
	if (n != 0)
		return IPE_V6_GARBAGE;
	if (i < 16) {
		if (ellipsis < 0)
			return IPE_V6_SHORT;
		k = 16 - i;
		for (j = i - 1; j >= ellipsis; j--)
			ip[j + k] = ip[j];
		memset(ip + ellipsis, 0, (size_t)k);
	} else if (ellipsis >= 0)
		return IPE_V6_ELLIPSIS;
	return IPE_OK;
}

static int
is_4in6(const struct cel_net_addr *x)
{
	static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	return x->family == 6 && memcmp(x->a, pre, sizeof(pre)) == 0;
}

/*
 * An address as Kubernetes' ip() accepts it: netip.ParseAddr, then no
 * zone and no IPv4-mapped IPv6 address.
 */
static enum ip_err
ip_parse(const char *s, size_t n, struct cel_net_addr *x)
{
	enum ip_err e = IPE_UNPARSABLE;
	size_t i;
	int zoned;

	memset(x, 0, sizeof(*x));
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			x->family = 4;
			x->bits = 32;
			e = parse_v4(s, n, x->a);
			break;
		}
		if (s[i] == ':') {
			x->family = 6;
			x->bits = 128;
			e = parse_v6(s, n, x->a, &zoned);
			if (e == IPE_OK && zoned)
				e = IPE_ZONE;
			break;
		}
		if (s[i] == '%') {
			e = IPE_NO_V6;
			break;
		}
	}
	if (e == IPE_OK && is_4in6(x))
		e = IPE_MAPPED;
	return e;
}

/* netip.ParsePrefix, then no IPv4-mapped address (Kubernetes' cidr()). */
static enum ip_err
cidr_parse(const char *s, size_t n, struct cel_net_addr *x)
{
	const char *slash;
	size_t i, bn;
	unsigned int bits = 0;
	enum ip_err e;

	slash = memrchr_(s, '/', n);
	if (slash == NULL)
		return IPE_NO_SLASH;
	e = ip_parse(s, (size_t)(slash - s), x);
	if (e == IPE_ZONE)
		return IPE_PREFIX_ZONE;
	if (e != IPE_OK)
		return e;
	/* Digits only, no sign, no leading zero (Go's ParsePrefix). */
	bn = (size_t)(s + n - slash - 1);
	if (bn == 0 || (bn > 1 && slash[1] == '0'))
		return IPE_BITS;
	for (i = 1; i <= bn; i++) {
		if (slash[i] < '0' || slash[i] > '9')
			return IPE_BITS;
		if (bits < 1000)
			bits = bits * 10 + (unsigned int)(slash[i] - '0');
	}
	if (bits > (x->family == 4 ? 32u : 128u))
		return IPE_BITS_RANGE;
	x->bits = (uint8_t)bits;
	return IPE_OK;
}

static int
addr_len(const struct cel_net_addr *x)
{
	return x->family == 4 ? 4 : 16;
}

/* Does network p (any host bits ignored) contain address a? */
static int
prefix_contains(const struct cel_net_addr *p, const struct cel_net_addr *a,
    unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;

	if (p->family != a->family)
		return 0;
	if (memcmp(p->a, a->a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((p->a[full] ^ a->a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static void
mask_addr(struct cel_net_addr *x)
{
	int i, len = addr_len(x);

	for (i = 0; i < len; i++) {
		int keep = (int)x->bits - 8 * i;

		if (keep <= 0)
			x->a[i] = 0;
		else if (keep < 8)
			x->a[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

/* The canonical text of an address (netip.Addr.String); returns length. */
static size_t
ip_format(const struct cel_net_addr *x, char *buf, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	int zs = -1, ze = -1, i, j;
	size_t len = 0;

	if (x->family == 4)
		return (size_t)snprintf(buf, cap, "%u.%u.%u.%u", x->a[0],
		    x->a[1], x->a[2], x->a[3]);
	if (is_4in6(x))
		return (size_t)snprintf(buf, cap, "::ffff:%u.%u.%u.%u",
		    x->a[12], x->a[13], x->a[14], x->a[15]);
	/* The first longest run of two or more zero groups becomes "::". */
	for (i = 0; i < 8; i++) {
		for (j = i; j < 8 && x->a[2 * j] == 0 && x->a[2 * j + 1] == 0;
		    j++)
			;
		if (j - i >= 2 && j - i > ze - zs) {
			zs = i;
			ze = j;
		}
	}
	for (i = 0; i < 8 && len + 6 < cap; i++) {
		unsigned int g = (unsigned int)x->a[2 * i] << 8 |
		    x->a[2 * i + 1];
		int started = 0, sh;

		if (i == zs) {
			buf[len++] = ':';
			buf[len++] = ':';
			i = ze - 1;
			continue;
		}
		if (i > 0 && i != ze)
			buf[len++] = ':';
		for (sh = 12; sh >= 0; sh -= 4) {
			unsigned int d = (g >> sh) & 0xf;

			if (d != 0 || started || sh == 0) {
				buf[len++] = hex[d];
				started = 1;
			}
		}
	}
	buf[len] = '\0';
	return len;
}

/* ------------------------------------------------------------ URLs */

enum url_mode { ENC_PATH, ENC_HOST, ENC_QUERY, ENC_USER, ENC_FRAGMENT };

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Go's shouldEscape for the modes used here. */
static int
should_escape(int c, enum url_mode m)
{
	if (is_alnum(c))
		return 0;
	if (m == ENC_HOST && c != 0 && strchr("!$&'()*+,;=:[]<>\"", c) !=
	    NULL)
		return 0;
	switch (c) {
	case '-': case '_': case '.': case '~':
		return 0;
	case '$': case '&': case '+': case ',': case '/': case ':': case ';':
	case '=': case '?': case '@':
		switch (m) {
		case ENC_PATH:
			return c == '?';
		case ENC_USER:
			return c == '@' || c == '/' || c == '?' || c == ':';
		case ENC_QUERY:
			return 1;
		case ENC_FRAGMENT:
			return 0;
		default:
			break;
		}
		break;
	default:
		break;
	}
	if (m == ENC_FRAGMENT && (c == '!' || c == '(' || c == ')' ||
	    c == '*'))
		return 0;
	return 1;
}

/* Go's unescape, checking only (no output): 0 or an error. */
static enum url_err
unescape_check(const char *s, size_t n, enum url_mode m)
{
	size_t i = 0;

	while (i < n) {
		if (s[i] == '%') {
			if (i + 2 >= n || hexval((unsigned char)s[i + 1]) < 0 ||
			    hexval((unsigned char)s[i + 2]) < 0)
				return URE_ESCAPE;
			if (m == ENC_HOST && hexval((unsigned char)s[i + 1]) <
			    8 && memcmp(s + i, "%25", 3) != 0)
				return URE_ESCAPE;
			i += 3;
			continue;
		}
		if (m == ENC_HOST && (unsigned char)s[i] < 0x80 &&
		    should_escape((unsigned char)s[i], m))
			return URE_HOST;
		i++;
	}
	return URE_OK;
}

/* Decode a checked escaped string into out (n bytes at most). */
static size_t
unescape(const char *s, size_t n, enum url_mode m, char *out)
{
	size_t i = 0, len = 0;

	while (i < n) {
		if (s[i] == '%' && i + 2 < n) {
			out[len++] = (char)(hexval((unsigned char)s[i + 1]) <<
			    4 | hexval((unsigned char)s[i + 2]));
			i += 3;
		} else if (s[i] == '+' && m == ENC_QUERY) {
			out[len++] = ' ';
			i++;
		} else
			out[len++] = s[i++];
	}
	return len;
}

/* Go's validEncoded for paths. */
static int
valid_encoded(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strchr("!$&'()*+,;=:@[]%", s[i]) != NULL && s[i] != '\0')
			continue;
		if (should_escape((unsigned char)s[i], ENC_PATH))
			return 0;
	}
	return 1;
}

static int
valid_port(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 1;
	if (s[0] != ':')
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
valid_userinfo(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) &&
		    strchr("-._:~!$&'()*+,;=%@", s[i]) == NULL)
			return 0;
	return 1;
}

/* The parts of a URL, as slices of the input. */
struct url_parts {
	const char	*scheme, *host, *path, *query;
	size_t		 nscheme, nhost, npath, nquery;
};

/* Go's parseHost: checks host; 0 or an error. */
static enum url_err
check_host(const char *h, size_t n)
{
	const char *c;

	if (n > 0 && h[0] == '[') {
		c = memrchr_(h, ']', n);
		if (c == NULL)
			return URE_BRACKET;
		if (!valid_port(c + 1, (size_t)(h + n - c - 1)))
			return URE_PORT;
	} else if ((c = memrchr_(h, ':', n)) != NULL) {
		if (!valid_port(c, (size_t)(h + n - c)))
			return URE_PORT;
	}
	return unescape_check(h, n, ENC_HOST);
}

/* Go's url.parse (via_request: ParseRequestURI's rules). */
static enum url_err
url_parse_parts(const char *s, size_t n, int via_request,
    struct url_parts *u)
{
	const char *rest, *q, *slash, *at;
	size_t nrest, i, nq = 0;
	enum url_err e;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return URE_CTL;
	if (n == 0 && via_request)
		return URE_EMPTY;
	if (n == 1 && s[0] == '*') {
		u->path = s;
		u->npath = 1;
		return URE_OK;
	}
	/* The scheme: letters, then letters, digits, + - . up to ':'. */
	rest = s;
	nrest = n;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			continue;
		if ((c >= '0' && c <= '9') || c == '+' || c == '-' ||
		    c == '.') {
			if (i == 0)
				break;
			continue;
		}
		if (c == ':') {
			if (i == 0)
				return URE_SCHEME;
			u->scheme = s;
			u->nscheme = i;
			rest = s + i + 1;
			nrest = n - i - 1;
		}
		break;
	}
	for (i = 0; i < nrest; i++)
		nq += rest[i] == '?';
	if (nrest > 0 && rest[nrest - 1] == '?' && nq == 1)
		nrest--;
	else if ((q = memchr(rest, '?', nrest)) != NULL) {
		u->query = q + 1;
		u->nquery = (size_t)(rest + nrest - q - 1);
		nrest = (size_t)(q - rest);
	}
	if (nrest == 0 || rest[0] != '/') {
		if (u->nscheme > 0)
			return URE_OK;	/* opaque: mailto:x@y */
		if (via_request)
			return URE_REQUEST;
		slash = memchr(rest, '/', nrest);
		if (memchr(rest, ':', slash != NULL ? (size_t)(slash - rest) :
		    nrest) != NULL)
			return URE_COLON;
	}
	if ((u->nscheme > 0 || (!via_request && !(nrest >= 3 &&
	    memcmp(rest, "///", 3) == 0))) && nrest >= 2 &&
	    memcmp(rest, "//", 2) == 0) {
		const char *auth = rest + 2;
		size_t nauth = nrest - 2;

		slash = memchr(auth, '/', nauth);
		if (slash != NULL)
			nauth = (size_t)(slash - auth);
		rest = auth + nauth;
		nrest -= nauth + 2;
		at = memrchr_(auth, '@', nauth);
		if (at != NULL) {
			size_t nu = (size_t)(at - auth);

			if (!valid_userinfo(auth, nu))
				return URE_USERINFO;
			if (unescape_check(auth, nu, ENC_USER) != URE_OK)
				return URE_ESCAPE;
			nauth -= nu + 1;
			auth = at + 1;
		}
		e = check_host(auth, nauth);
		if (e != URE_OK)
			return e;
		u->host = auth;
		u->nhost = nauth;
	}
	e = unescape_check(rest, nrest, ENC_PATH);
	if (e != URE_OK)
		return e;
	u->path = rest;
	u->npath = nrest;
	return URE_OK;
}

/* A string value: a slice of the input, or a copy when it must change. */
static struct cel_value
slice(const char *s, size_t n)
{
	return cel_string(n > 0 ? s : "", n);
}

static enum url_err
url_parse(const struct net_mem *m, const char *s, size_t n,
    struct cel_net_url **out)
{
	struct url_parts u;
	struct cel_net_url *r;
	const char *hash;
	enum url_err e;
	size_t i, len;
	char *b;

	*out = NULL;
	/*
	 * ParseRequestURI decides; then Parse reads the parts, with the
	 * fragment cut off (it may still fail: url('//a:b:c/') does).
	 */
	e = url_parse_parts(s, n, 1, &u);
	if (e != URE_OK)
		return e;
	hash = memchr(s, '#', n);
	if (hash != NULL) {
		e = unescape_check(hash + 1, (size_t)(s + n - hash - 1),
		    ENC_FRAGMENT);
		if (e != URE_OK)
			return e;
	}
	e = url_parse_parts(s, hash != NULL ? (size_t)(hash - s) : n, 0, &u);
	if (e != URE_OK)
		return e;
	r = net_alloc(m, sizeof(*r));
	if (r == NULL)
		return URE_COUNT;
	r->raw = slice(s, n);
	r->scheme = slice(u.scheme, u.nscheme);
	for (i = 0; i < u.nscheme; i++)
		if (u.scheme[i] >= 'A' && u.scheme[i] <= 'Z')
			break;
	if (i < u.nscheme) {
		b = net_alloc(m, u.nscheme + 1);
		if (b == NULL)
			return URE_COUNT;
		for (i = 0; i < u.nscheme; i++)
			b[i] = (char)(u.scheme[i] >= 'A' && u.scheme[i] <= 'Z' ?
			    u.scheme[i] - 'A' + 'a' : u.scheme[i]);
		r->scheme = cel_string(b, u.nscheme);
	}
	r->host = slice(u.host, u.nhost);
	if (u.nhost > 0 && memchr(u.host, '%', u.nhost) != NULL) {
		b = net_alloc(m, u.nhost + 1);
		if (b == NULL)
			return URE_COUNT;
		r->host = cel_string(b, unescape(u.host, u.nhost, ENC_HOST, b));
	}
	/* EscapedPath: the raw path when validly encoded, else escaped. */
	r->path = slice(u.path, u.npath);
	if (!valid_encoded(u.path, u.npath)) {
		char *d = net_alloc(m, u.npath + 1);

		b = net_alloc(m, 3 * u.npath + 1);
		if (b == NULL || d == NULL)
			return URE_COUNT;
		len = unescape(u.path, u.npath, ENC_PATH, d);
		r->path = cel_string(b, 0);
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)d[i];

			if (should_escape(c, ENC_PATH)) {
				b[r->path.aux++] = '%';
				b[r->path.aux++] = "0123456789ABCDEF"[c >> 4];
				b[r->path.aux++] = "0123456789ABCDEF"[c & 15];
			} else
				b[r->path.aux++] = (char)c;
		}
	}
	r->query = slice(u.query, u.nquery);
	*out = r;
	return URE_OK;
}

/* url.Values of the raw query, as a map of lists (Go's parseQuery). */
static struct cel_value
url_query(struct cel_ctx *c, const struct cel_node *n,
    const struct cel_value *q)
{
	struct pair { struct cel_value k, v; } *pairs;
	struct cel_map *m;
	struct cel_value out = { .kind = CEL_MAP };
	const char *s = q->s, *end = q->s + q->aux;
	size_t np = 0, cap = 1, i, j, nk = 0;
	int32_t k;

	c->cost += (uint64_t)q->aux / 8;
	for (k = 0; k < q->aux; k++)
		cap += s[k] == '&';
	pairs = cel_arena_alloc(c->arena, cap * sizeof(*pairs));
	m = cel_arena_alloc(c->arena, sizeof(*m));
	if (pairs == NULL || m == NULL)
		return cel_err_at(n, "out of memory");
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *e = amp != NULL ? amp : end, *eq;
		size_t nkey, nval;
		char *kb, *vb;

		if (memchr(s, ';', (size_t)(e - s)) != NULL || e == s)
			goto next;
		eq = memchr(s, '=', (size_t)(e - s));
		nkey = eq != NULL ? (size_t)(eq - s) : (size_t)(e - s);
		nval = eq != NULL ? (size_t)(e - eq - 1) : 0;
		if (unescape_check(s, nkey, ENC_QUERY) != URE_OK ||
		    (eq != NULL && unescape_check(eq + 1, nval,
		    ENC_QUERY) != URE_OK))
			goto next;
		kb = cel_arena_alloc(c->arena, nkey + nval + 2);
		if (kb == NULL)
			return cel_err_at(n, "out of memory");
		vb = kb + nkey + 1;
		pairs[np].k = cel_string(kb, unescape(s, nkey, ENC_QUERY, kb));
		pairs[np].v = cel_string(vb, eq != NULL ? unescape(eq + 1,
		    nval, ENC_QUERY, vb) : 0);
		np++;
next:
		s = amp != NULL ? amp + 1 : end;
	}
	m->keys = cel_arena_alloc(c->arena, (np + 1) * sizeof(*m->keys));
	m->vals = cel_arena_alloc(c->arena, (np + 1) * sizeof(*m->vals));
	if (m->keys == NULL || m->vals == NULL)
		return cel_err_at(n, "out of memory");
	/* Keys in order of first appearance, each with all its values. */
	for (i = 0; i < np; i++) {
		struct cel_list *l;
		size_t cnt = 0;

		for (j = 0; j < nk; j++)
			if (cel_equal(&m->keys[j], &pairs[i].k) == 1)
				break;
		if (j < nk)
			continue;
		for (j = i; j < np; j++)
			cnt += cel_equal(&pairs[j].k, &pairs[i].k) == 1;
		l = cel_arena_alloc(c->arena, sizeof(*l) + cnt *
		    sizeof(l->v[0]));
		if (l == NULL)
			return cel_err_at(n, "out of memory");
		l->n = 0;
		for (j = i; j < np; j++)
			if (cel_equal(&pairs[j].k, &pairs[i].k) == 1)
				l->v[l->n++] = pairs[j].v;
		m->keys[nk] = pairs[i].k;
		m->vals[nk].kind = CEL_LIST;
		m->vals[nk].rep = CEL_REP_ARENA;
		m->vals[nk].list = l;
		nk++;
	}
	c->cost += (uint64_t)(np * np) / 4;
	m->n = nk;
	out.map = m;
	return out;
}

/* host and port of a URL's host (Go's splitHostPort). */
static void
split_host_port(const struct cel_value *h, struct cel_value *host,
    struct cel_value *port)
{
	const char *s = h->s, *colon;
	size_t n = (size_t)h->aux;

	*port = cel_string("", 0);
	colon = memrchr_(s, ':', n);
	if (colon != NULL && valid_port(colon, (size_t)(s + n - colon))) {
		*port = cel_string(colon + 1, (size_t)(s + n - colon - 1));
		n = (size_t)(colon - s);
	}
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	*host = slice(s, n);
}

int
cel_net_url_address(const char *url, size_t len, const char **host,
    size_t *hlen)
{
	struct cel_net_addr x;
	const char *s, *e, *at, *colon;
	size_t i;

	/* scheme "://" authority: the hostname of Go's url.Parse. */
	s = NULL;
	for (i = 0; i + 2 < len; i++) {
		if (url[i] == ':') {
			if (url[i + 1] == '/' && url[i + 2] == '/')
				s = url + i + 3;
			break;
		}
		if (url[i] == '/' || url[i] == '?' || url[i] == '#')
			break;
	}
	if (s == NULL)
		return 0;
	for (e = s; e < url + len && *e != '/' && *e != '?' && *e != '#'; e++)
		;
	at = memrchr_(s, '@', (size_t)(e - s));
	if (at != NULL)
		s = at + 1;
	colon = memrchr_(s, ':', (size_t)(e - s));
	if (colon != NULL && valid_port(colon, (size_t)(e - colon)))
		e = colon;
	if (e - s >= 2 && s[0] == '[' && e[-1] == ']') {
		s++;
		e--;
	}
	if (ip_parse(s, (size_t)(e - s), &x) != IPE_OK)
		return 0;
	*host = s;
	*hlen = (size_t)(e - s);
	return 1;
}

/* ------------------------------------------------------------ functions */

static struct cel_value
no_overload(const struct cel_node *n)
{
	return cel_err_at(n, "no such overload");
}

static struct cel_value
to_ip(const struct net_mem *m, const struct cel_node *n, const char *s,
    size_t len)
{
	struct cel_net_addr x;
	enum ip_err e;

	e = ip_parse(s, len, &x);
	if (e != IPE_OK)
		return cel_err_at(n, ip_msgs[e]);
	return new_addr(m, CEL_IP, &x, n);
}

static struct cel_value
to_cidr(const struct net_mem *m, const struct cel_node *n, const char *s,
    size_t len)
{
	struct cel_net_addr x;
	enum ip_err e;

	e = cidr_parse(s, len, &x);
	if (e != IPE_OK)
		return cel_err_at(n, cidr_msgs[e]);
	return new_addr(m, CEL_CIDR, &x, n);
}

static struct cel_value
to_url(const struct net_mem *m, const struct cel_node *n, const char *s,
    size_t len)
{
	struct cel_net_url *u;
	struct cel_value v = { .kind = CEL_URL };
	enum url_err e;

	e = url_parse(m, s, len, &u);
	if (e == URE_COUNT)
		return cel_err_at(n, "out of memory");
	if (e != URE_OK)
		return cel_err_at(n, url_msgs[e]);
	v.obj = u;
	return v;
}

static struct cel_value
fn_ip(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct net_mem m = { NULL, c->arena };
	struct cel_net_addr x;

	(void)argc;
	if (v[0].kind == CEL_STRING)
		return to_ip(&m, n, v[0].s, (size_t)v[0].aux);
	if (v[0].kind == CEL_CIDR) {
		x = *addr_of(&v[0]);
		x.bits = x.family == 4 ? 32 : 128;
		return new_addr(&m, CEL_IP, &x, n);
	}
	return no_overload(n);
}

static struct cel_value
fn_is_ip(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct cel_net_addr x;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	return cel_bool(ip_parse(v[0].s, (size_t)v[0].aux, &x) == IPE_OK);
}

static struct cel_value
fn_is_canonical(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	struct cel_net_addr x;
	enum ip_err e;
	char buf[64];
	size_t len;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	e = ip_parse(v[0].s, (size_t)v[0].aux, &x);
	if (e != IPE_OK)
		return cel_err_at(n, ip_msgs[e]);
	len = ip_format(&x, buf, sizeof(buf));
	return cel_bool(len == (size_t)v[0].aux && memcmp(buf, v[0].s,
	    len) == 0);
}

enum ip_pred {
	IP_FAMILY, IP_UNSPECIFIED, IP_LOOPBACK, IP_LL_MULTICAST,
	IP_LL_UNICAST, IP_GLOBAL_UNICAST
};

static int
all_zero(const uint8_t *a, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (a[i] != 0)
			return 0;
	return 1;
}

/* netip.Addr's predicates. */
static int
ip_is(const struct cel_net_addr *x, enum ip_pred p)
{
	const uint8_t *a = x->a;
	int v4 = x->family == 4, len = addr_len(x);

	switch (p) {
	case IP_UNSPECIFIED:
		return all_zero(a, len);
	case IP_LOOPBACK:
		return v4 ? a[0] == 127 : all_zero(a, 15) && a[15] == 1;
	case IP_LL_MULTICAST:
		return v4 ? a[0] == 224 && a[1] == 0 && a[2] == 0 :
		    a[0] == 0xff && (a[1] & 0x0f) == 0x02;
	case IP_LL_UNICAST:
		return v4 ? a[0] == 169 && a[1] == 254 :
		    a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
	case IP_GLOBAL_UNICAST:
		if (v4 && (all_zero(a, 4) || (a[0] == 255 && a[1] == 255 &&
		    a[2] == 255 && a[3] == 255)))
			return 0;
		return !ip_is(x, IP_UNSPECIFIED) && !ip_is(x, IP_LOOPBACK) &&
		    !(v4 ? (a[0] & 0xf0) == 0xe0 : a[0] == 0xff) &&
		    !ip_is(x, IP_LL_UNICAST);
	default:
		return 0;
	}
}

static struct cel_value
ip_pred_call(const struct cel_node *n, const struct cel_value *v,
    enum ip_pred p)
{
	if (v[0].kind != CEL_IP)
		return no_overload(n);
	if (p == IP_FAMILY)
		return cel_int(addr_of(&v[0])->family);
	return cel_bool(ip_is(addr_of(&v[0]), p));
}

#define IP_PRED(fname, which)						\
static struct cel_value							\
fname(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,	\
    int argc)								\
{									\
	(void)c;							\
	(void)argc;							\
	return ip_pred_call(n, v, which);				\
}
IP_PRED(fn_family, IP_FAMILY)
IP_PRED(fn_is_unspecified, IP_UNSPECIFIED)
IP_PRED(fn_is_loopback, IP_LOOPBACK)
IP_PRED(fn_is_ll_multicast, IP_LL_MULTICAST)
IP_PRED(fn_is_ll_unicast, IP_LL_UNICAST)
IP_PRED(fn_is_global_unicast, IP_GLOBAL_UNICAST)

static struct cel_value
fn_cidr(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct net_mem m = { NULL, c->arena };

	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	return to_cidr(&m, n, v[0].s, (size_t)v[0].aux);
}

static struct cel_value
fn_is_cidr(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct cel_net_addr x;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	return cel_bool(cidr_parse(v[0].s, (size_t)v[0].aux, &x) == IPE_OK);
}

/* The hot path: no allocation, a string argument parsed on the stack. */
static struct cel_value
fn_contains_ip(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	const struct cel_net_addr *p;
	struct cel_net_addr x;
	enum ip_err e;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_CIDR)
		return no_overload(n);
	p = addr_of(&v[0]);
	if (v[1].kind == CEL_IP)
		return cel_bool(prefix_contains(p, addr_of(&v[1]), p->bits));
	if (v[1].kind != CEL_STRING)
		return no_overload(n);
	e = ip_parse(v[1].s, (size_t)v[1].aux, &x);
	if (e != IPE_OK)
		return cel_err_at(n, ip_msgs[e]);
	return cel_bool(prefix_contains(p, &x, p->bits));
}

static struct cel_value
fn_contains_cidr(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	const struct cel_net_addr *p, *q;
	struct cel_net_addr x;
	enum ip_err e;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_CIDR)
		return no_overload(n);
	p = addr_of(&v[0]);
	if (v[1].kind == CEL_CIDR)
		q = addr_of(&v[1]);
	else if (v[1].kind == CEL_STRING) {
		e = cidr_parse(v[1].s, (size_t)v[1].aux, &x);
		if (e != IPE_OK)
			return cel_err_at(n, cidr_msgs[e]);
		q = &x;
	} else
		return no_overload(n);
	/* Kubernetes 1.33 (PR 130450): both masked to p's length. */
	return cel_bool(p->bits <= q->bits && prefix_contains(p, q, p->bits));
}

static struct cel_value
fn_masked(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct net_mem m = { NULL, c->arena };
	struct cel_net_addr x;

	(void)argc;
	if (v[0].kind != CEL_CIDR)
		return no_overload(n);
	x = *addr_of(&v[0]);
	mask_addr(&x);
	if (memcmp(&x, addr_of(&v[0]), sizeof(x)) == 0)
		return v[0];
	return new_addr(&m, CEL_CIDR, &x, n);
}

static struct cel_value
fn_prefix_length(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	if (v[0].kind != CEL_CIDR)
		return no_overload(n);
	return cel_int(addr_of(&v[0])->bits);
}

static struct cel_value
fn_url(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct net_mem m = { NULL, c->arena };

	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	c->cost += (uint64_t)v[0].aux / 16;
	return to_url(&m, n, v[0].s, (size_t)v[0].aux);
}

static struct cel_value
fn_is_url(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct url_parts u;

	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	c->cost += (uint64_t)v[0].aux / 16;
	return cel_bool(url_parse_parts(v[0].s, (size_t)v[0].aux, 1, &u) ==
	    URE_OK);
}

enum url_part { UP_SCHEME, UP_HOST, UP_HOSTNAME, UP_PORT, UP_PATH,
    UP_QUERY };

static struct cel_value
url_part(struct cel_ctx *c, const struct cel_node *n, const struct cel_value *v,
    enum url_part which)
{
	const struct cel_net_url *u;
	struct cel_value host, port;

	if (v[0].kind != CEL_URL)
		return no_overload(n);
	u = v[0].obj;
	switch (which) {
	case UP_SCHEME:
		return u->scheme;
	case UP_HOST:
		return u->host;
	case UP_HOSTNAME:
	case UP_PORT:
		split_host_port(&u->host, &host, &port);
		return which == UP_HOSTNAME ? host : port;
	case UP_PATH:
		return u->path;
	case UP_QUERY:
		return url_query(c, n, &u->query);
	}
	return no_overload(n);
}

#define URL_PART(fname, which)						\
static struct cel_value							\
fname(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,	\
    int argc)								\
{									\
	(void)argc;							\
	return url_part(c, n, v, which);				\
}
URL_PART(fn_get_scheme, UP_SCHEME)
URL_PART(fn_get_host, UP_HOST)
URL_PART(fn_get_hostname, UP_HOSTNAME)
URL_PART(fn_get_port, UP_PORT)
URL_PART(fn_get_path, UP_PATH)
URL_PART(fn_get_query, UP_QUERY)

/* ------------------------------------------------------------ the table */

/*
 * Each entry with the operand kinds it takes, as bit masks: first, the
 * kinds of the receiver (x.f()) or, for global calls, of the first
 * argument (glob); second, of the argument of a member call with one.
 */
#define KM(k)	(1u << (k))

struct net_func {
	struct cel_func	f;
	unsigned int	recv;		/* receiver kinds; 0: no member form */
	unsigned int	glob;		/* argument kinds; 0: no global form */
	unsigned int	arg;		/* kinds of a member call's argument */
};

#define PRED(nm, fun, k, res) { .f = { .name = nm, .receiver = 1,	\
	.min_args = 1, .max_args = 1, .result = res, .cost = 1,		\
	.fn = fun }, .recv = KM(k) }
#define CONV(nm, fun, res, c) { .f = { .name = nm, .receiver = 0,	\
	.min_args = 1, .max_args = 1, .result = res, .cost = c,		\
	.fn = fun }, .glob = KM(CEL_STRING) }

static const struct net_func net_funcs[] = {
	/* IP */
	{ .f = { .name = "ip", .receiver = 2, .min_args = 1, .max_args = 1,
	    .result = CEL_IP, .cost = 4, .fn = fn_ip },
	    .glob = KM(CEL_STRING), .recv = KM(CEL_CIDR) },
	CONV("isIP", fn_is_ip, CEL_BOOL, 4),
	CONV("ip.isCanonical", fn_is_canonical, CEL_BOOL, 6),
	PRED("family", fn_family, CEL_IP, CEL_INT),
	PRED("isUnspecified", fn_is_unspecified, CEL_IP, CEL_BOOL),
	PRED("isLoopback", fn_is_loopback, CEL_IP, CEL_BOOL),
	PRED("isLinkLocalMulticast", fn_is_ll_multicast, CEL_IP, CEL_BOOL),
	PRED("isLinkLocalUnicast", fn_is_ll_unicast, CEL_IP, CEL_BOOL),
	PRED("isGlobalUnicast", fn_is_global_unicast, CEL_IP, CEL_BOOL),
	/* CIDR */
	CONV("cidr", fn_cidr, CEL_CIDR, 4),
	CONV("isCIDR", fn_is_cidr, CEL_BOOL, 4),
	{ .f = { .name = "containsIP", .receiver = 1, .min_args = 2,
	    .max_args = 2, .result = CEL_BOOL, .cost = 4,
	    .fn = fn_contains_ip },
	    .recv = KM(CEL_CIDR), .arg = KM(CEL_STRING) | KM(CEL_IP) },
	{ .f = { .name = "containsCIDR", .receiver = 1, .min_args = 2,
	    .max_args = 2, .result = CEL_BOOL, .cost = 4,
	    .fn = fn_contains_cidr },
	    .recv = KM(CEL_CIDR), .arg = KM(CEL_STRING) | KM(CEL_CIDR) },
	PRED("masked", fn_masked, CEL_CIDR, CEL_CIDR),
	PRED("prefixLength", fn_prefix_length, CEL_CIDR, CEL_INT),
	/* URL: parsing costs by the string's length (16 bytes a unit). */
	CONV("url", fn_url, CEL_URL, 20),
	CONV("isURL", fn_is_url, CEL_BOOL, 20),
	PRED("getScheme", fn_get_scheme, CEL_URL, CEL_STRING),
	PRED("getHost", fn_get_host, CEL_URL, CEL_STRING),
	PRED("getHostname", fn_get_hostname, CEL_URL, CEL_STRING),
	PRED("getPort", fn_get_port, CEL_URL, CEL_STRING),
	PRED("getEscapedPath", fn_get_path, CEL_URL, CEL_STRING),
	{ .f = { .name = "getQuery", .receiver = 1, .min_args = 1,
	    .max_args = 1, .result = CEL_MAP, .cost = 40,
	    .fn = fn_get_query }, .recv = KM(CEL_URL) },
};
#define NET_NFUNCS	(sizeof(net_funcs) / sizeof(net_funcs[0]))

static int
name_is(const char *a, const char *name, size_t len)
{
	return strlen(a) == len && memcmp(a, name, len) == 0;
}

int
cel_net_exists(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NET_NFUNCS; i++)
		if (name_is(net_funcs[i].f.name, name, len))
			return 1;
	return 0;
}

int
cel_net_lookup(const char *name, size_t len, int receiver, int argc)
{
	size_t i;

	for (i = 0; i < NET_NFUNCS; i++) {
		const struct cel_func *f = &net_funcs[i].f;

		if (!name_is(f->name, name, len))
			continue;
		if (f->receiver != 2 && f->receiver != receiver)
			continue;
		if (argc < f->min_args || argc > f->max_args)
			continue;
		return (int)i;
	}
	return -1;
}

const struct cel_func *
cel_net_func(int i)
{
	if (i < 0 || (size_t)i >= NET_NFUNCS)
		return NULL;
	return &net_funcs[i].f;
}

/* ------------------------------------------------------------ checking */

static int
kind_fits(int k, unsigned int mask)
{
	return k == CEL_DYN || (mask & KM(k)) != 0;
}

/* Parse a string literal operand into a net literal (folding). */
static int
fold_operand(struct cel_program *p, struct cel_node *o, int kind,
    int strict, const char *fname, char *msg, size_t cap)
{
	struct net_mem m = { p, NULL };
	struct cel_value v;

	if (o->op != CEL_OP_LIT || o->lit.kind != CEL_STRING)
		return 0;
	if (kind == CEL_IP)
		v = to_ip(&m, o, o->lit.s, (size_t)o->lit.aux);
	else if (kind == CEL_CIDR)
		v = to_cidr(&m, o, o->lit.s, (size_t)o->lit.aux);
	else
		v = to_url(&m, o, o->lit.s, (size_t)o->lit.aux);
	if (v.kind == CEL_ERROR) {
		if (strict) {
			snprintf(msg, cap, "invalid argument to %s: %s",
			    fname, v.err);
			return -1;
		}
		o->op = CEL_OP_ERROR;
		o->lit = v;
		o->kind = CEL_DYN;
		return 0;
	}
	o->op = CEL_OP_LIT;
	o->lit = v;
	o->kind = (uint8_t)kind;
	return 0;
}

/* Evaluate a call whose operands are all literals, when that is safe. */
static void
fold_call(struct cel_program *p, struct cel_node *n, const struct cel_func *f)
{
	struct cel_value argv[2], r;
	struct cel_ctx c;
	struct cel_arena arena;
	char buf[256];
	int argc = 0, i;

	if (f->result != CEL_BOOL && f->result != CEL_INT)
		return;
	if (n->a != NULL) {
		if (n->a->op != CEL_OP_LIT)
			return;
		argv[argc++] = n->a->lit;
	}
	for (i = 0; i < n->nargs && argc < 2; i++) {
		if (n->args[i]->op != CEL_OP_LIT)
			return;
		argv[argc++] = n->args[i]->lit;
	}
	memset(&c, 0, sizeof(c));
	cel_arena_init(&arena, buf, sizeof(buf));
	c.prog = p;
	c.arena = &arena;
	c.max_cost = UINT64_MAX;
	r = f->fn(&c, n, argv, argc);
	cel_arena_release(&arena);
	if (r.kind != CEL_BOOL && r.kind != CEL_INT)
		return;		/* errors stay run-time errors */
	n->op = CEL_OP_LIT;
	n->lit = r;
	n->kind = r.kind;
	n->a = NULL;
	n->nargs = 0;
}

int
cel_net_check(struct cel_program *p, struct cel_node *n, int strict,
    char *msg, size_t cap)
{
	const struct net_func *nf;
	struct cel_node *first, *second;
	unsigned int mask;
	int i = n->id - CEL_NET_FUNC_BASE;

	if (i < 0 || (size_t)i >= NET_NFUNCS)
		return 0;
	nf = &net_funcs[i];
	first = n->a != NULL ? n->a : n->args[0];
	second = n->a != NULL ? (n->nargs > 0 ? n->args[0] : NULL) :
	    (n->nargs > 1 ? n->args[1] : NULL);
	mask = n->a != NULL ? nf->recv : nf->glob;
	if (strict && (!kind_fits(first->kind, mask) || (second != NULL &&
	    !kind_fits(second->kind, nf->arg)))) {
		if (n->a != NULL)
			snprintf(msg, cap, "found no matching overload for "
			    "'%s' applied to '%s.(%s)'", nf->f.name,
			    cel_kind_name(first->kind), second != NULL ?
			    cel_kind_name(second->kind) : "");
		else
			snprintf(msg, cap, "found no matching overload for "
			    "'%s' applied to '(%s)'", nf->f.name,
			    cel_kind_name(first->kind));
		return -1;
	}
	/* ip('...'), cidr('...'), url('...'): parsed once, here. */
	if (n->a == NULL && (nf->f.result == CEL_IP ||
	    nf->f.result == CEL_CIDR || nf->f.result == CEL_URL)) {
		if (fold_operand(p, first, nf->f.result, strict, nf->f.name,
		    msg, cap) == -1)
			return -1;
		if (first->op == CEL_OP_LIT) {
			n->op = CEL_OP_LIT;
			n->lit = first->lit;
			n->kind = first->kind;
			n->nargs = 0;
		}
		return 0;
	}
	/* x.containsIP('10.0.0.1'): the literal argument parsed once. */
	if (second != NULL && (nf->arg & KM(CEL_IP)) != 0 &&
	    fold_operand(p, second, CEL_IP, strict, nf->f.name, msg,
	    cap) == -1)
		return -1;
	if (second != NULL && (nf->arg & KM(CEL_CIDR)) != 0 &&
	    fold_operand(p, second, CEL_CIDR, strict, nf->f.name, msg,
	    cap) == -1)
		return -1;
	fold_call(p, n, &nf->f);
	return 0;
}

/* ------------------------------------------------------------ values */

int
cel_net_equal(const struct cel_value *a, const struct cel_value *b)
{
	const struct cel_net_addr *x, *y;
	const struct cel_net_url *u, *w;

	if (a->kind != b->kind)
		return 0;
	if (a->kind == CEL_URL) {
		u = a->obj;
		w = b->obj;
		return cel_equal(&u->raw, &w->raw);
	}
	x = addr_of(a);
	y = addr_of(b);
	if (x->family != y->family)
		return 0;
	if (a->kind == CEL_CIDR && x->bits != y->bits)
		return 0;
	return memcmp(x->a, y->a, (size_t)addr_len(x)) == 0;
}

struct cel_value
cel_net_string(struct cel_ctx *c, const struct cel_node *n,
    const struct cel_value *v)
{
	const struct cel_net_addr *x;
	char buf[64];
	size_t len;

	if (v->kind != CEL_IP && v->kind != CEL_CIDR)
		return no_overload(n);
	x = addr_of(v);
	len = ip_format(x, buf, sizeof(buf));
	if (v->kind == CEL_CIDR)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "/%u",
		    x->bits);
	return cel_arena_string(c, CEL_STRING, buf, len);
}
