/*
 * cel_net_ip.c - addresses and CIDRs as Kubernetes' ip() and cidr() read
 * them: Go's net/netip parsers (IPv4 in dotted decimal without leading
 * zeros, IPv6 with "::" and an embedded IPv4 tail), then no zone and no
 * IPv4-mapped IPv6 address; the canonical text (RFC 5952) and netip's
 * predicates.  Error messages are Go's, prefixed as Kubernetes does,
 * without the input.
 */
#include <stdio.h>
#include <string.h>

#include "cel_net.h"

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

const char *
cel_net_memrchr(const char *s, int c, size_t n)
{
	while (n > 0)
		if (s[--n] == c)
			return s + n;
	return NULL;
}

int
cel_net_hexval(int c)
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
			int h = cel_net_hexval((unsigned char)s[off]);

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

	slash = cel_net_memrchr(s, '/', n);
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

int
cel_net_addr_len(const struct cel_net_addr *x)
{
	return x->family == 4 ? 4 : 16;
}

/* Does network p (any host bits ignored) contain address a? */
int
cel_net_prefix_contains(const struct cel_net_addr *p,
    const struct cel_net_addr *a, unsigned int bits)
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

void
cel_net_mask(struct cel_net_addr *x)
{
	int i, len = cel_net_addr_len(x);

	for (i = 0; i < len; i++) {
		int keep = (int)x->bits - 8 * i;

		if (keep <= 0)
			x->a[i] = 0;
		else if (keep < 8)
			x->a[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

/* The canonical text of an address (netip.Addr.String); returns length. */
size_t
cel_net_ip_format(const struct cel_net_addr *x, char *buf, size_t cap)
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
int
cel_net_ip_is(const struct cel_net_addr *x, enum cel_net_pred p)
{
	const uint8_t *a = x->a;
	int v4 = x->family == 4, len = cel_net_addr_len(x);

	switch (p) {
	case CEL_NET_UNSPECIFIED:
		return all_zero(a, len);
	case CEL_NET_LOOPBACK:
		return v4 ? a[0] == 127 : all_zero(a, 15) && a[15] == 1;
	case CEL_NET_LL_MULTICAST:
		return v4 ? a[0] == 224 && a[1] == 0 && a[2] == 0 :
		    a[0] == 0xff && (a[1] & 0x0f) == 0x02;
	case CEL_NET_LL_UNICAST:
		return v4 ? a[0] == 169 && a[1] == 254 :
		    a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
	case CEL_NET_GLOBAL_UNICAST:
		if (v4 && (all_zero(a, 4) || (a[0] == 255 && a[1] == 255 &&
		    a[2] == 255 && a[3] == 255)))
			return 0;
		return !cel_net_ip_is(x, CEL_NET_UNSPECIFIED) &&
		    !cel_net_ip_is(x, CEL_NET_LOOPBACK) &&
		    !(v4 ? (a[0] & 0xf0) == 0xe0 : a[0] == 0xff) &&
		    !cel_net_ip_is(x, CEL_NET_LL_UNICAST);
	default:
		return 0;
	}
}

const char *
cel_net_ip_parse(const char *s, size_t n, struct cel_net_addr *x)
{
	enum ip_err e = ip_parse(s, n, x);

	return e == IPE_OK ? NULL : ip_msgs[e];
}

const char *
cel_net_cidr_parse(const char *s, size_t n, struct cel_net_addr *x)
{
	enum ip_err e = cidr_parse(s, n, x);

	return e == IPE_OK ? NULL : cidr_msgs[e];
}
