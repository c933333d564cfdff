/*
 * ipam.c - vL3 pools: block numbers to addresses and back.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ipam.h"
#include "validate.h"

/*
 * Block numbers are int64 (the store's and JSON's integers): a pool of
 * 2^63 blocks or more leases from its first 2^63 - 1 blocks only.
 */
#define IPAM_BLOCK_BITS_LEASED	63

/* An address as two 64-bit halves (IPv4 in the low half). */
struct ipam_u128 {
	uint64_t	hi, lo;
};

static struct ipam_u128
ipam_load(const unsigned char *a, int family)
{
	struct ipam_u128	v = { 0, 0 };
	int			i;

	if (family == 4) {
		for (i = 0; i < 4; i++)
			v.lo = (v.lo << 8) | a[i];
		return v;
	}
	for (i = 0; i < 8; i++)
		v.hi = (v.hi << 8) | a[i];
	for (i = 8; i < 16; i++)
		v.lo = (v.lo << 8) | a[i];
	return v;
}

static void
ipam_store(struct ipam_u128 v, int family, unsigned char *a)
{
	int	i;

	if (family == 4) {
		for (i = 3; i >= 0; i--) {
			a[i] = (unsigned char)(v.lo & 0xff);
			v.lo >>= 8;
		}
		return;
	}
	for (i = 15; i >= 8; i--) {
		a[i] = (unsigned char)(v.lo & 0xff);
		v.lo >>= 8;
	}
	for (i = 7; i >= 0; i--) {
		a[i] = (unsigned char)(v.hi & 0xff);
		v.hi >>= 8;
	}
}

/* v shifted right by n bits (0 <= n <= 128). */
static struct ipam_u128
ipam_shr(struct ipam_u128 v, int n)
{
	struct ipam_u128	r;

	if (n == 0)
		return v;
	if (n >= 128) {
		r.hi = r.lo = 0;
	} else if (n >= 64) {
		r.lo = v.hi >> (n - 64);
		r.hi = 0;
	} else {
		r.lo = (v.lo >> n) | (v.hi << (64 - n));
		r.hi = v.hi >> n;
	}
	return r;
}

/* v shifted left by n bits (0 <= n <= 128). */
static struct ipam_u128
ipam_shl(struct ipam_u128 v, int n)
{
	struct ipam_u128	r;

	if (n == 0)
		return v;
	if (n >= 128) {
		r.hi = r.lo = 0;
	} else if (n >= 64) {
		r.hi = v.lo << (n - 64);
		r.lo = 0;
	} else {
		r.hi = (v.hi << n) | (v.lo >> (64 - n));
		r.lo = v.lo << n;
	}
	return r;
}

int
ipam_pool_init(struct ipam_pool *p, const char *prefix, int client_len,
    const char *field, struct nsreg_error *err)
{
	char	host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN];
	int64_t	nblocks;
	int	family, plen, max;
	size_t	n;

	memset(p, 0, sizeof(*p));
	if (prefix == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: missing prefix", field);
	if (validate_prefix(prefix, &family, &plen, field, err) == -1)
		return -1;
	n = (size_t)(strchr(prefix, '/') - prefix);
	memcpy(host, prefix, n);
	host[n] = '\0';
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, host, p->base) != 1)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: \"%s\" is not an address", field, host);
	max = family == 6 ? 128 : 32;
	if (client_len < plen || client_len > max)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: client_prefix_len %d is not from %d to %d", field,
		    client_len, plen, max);
	if (client_len - plen > IPAM_BLOCK_BITS_MAX)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: /%d blocks of %s are more than 2^%d", field,
		    client_len, prefix, IPAM_BLOCK_BITS_MAX);
	p->family = family;
	p->prefix_len = plen;
	p->client_len = client_len;
	p->first = 0;
	if (client_len - plen >= IPAM_BLOCK_BITS_LEASED) {
		/* Lowest free first never gets this far. */
		p->last = INT64_MAX;
		nblocks = 0;
	} else {
		nblocks = (int64_t)1 << (client_len - plen);
		p->last = nblocks - 1;
	}
	if (family == 4 && plen < 31) {
		p->first = 1;		/* the network address */
		p->last = nblocks - 2;	/* the broadcast address */
	} else if (family == 6 && plen < 127)
		p->first = 1;		/* the Subnet-Router anycast address */
	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, p->base, text,
	    sizeof(text)) == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: \"%s\" cannot be written back", field, prefix);
	snprintf(p->prefix, sizeof(p->prefix), "%s/%d", text, plen);
	return 0;
}

int64_t
ipam_pool_size(const struct ipam_pool *p)
{
	return p->last >= p->first ? p->last - p->first + 1 : 0;
}

int
ipam_block_address(const struct ipam_pool *p, int64_t block, char *buf,
    size_t len)
{
	struct ipam_u128	base, off;
	unsigned char		a[16];
	char			text[INET6_ADDRSTRLEN];
	int			max = p->family == 6 ? 128 : 32;
	int			n;

	if (block < 0 || p->family == 0 ||
	    (p->client_len - p->prefix_len < IPAM_BLOCK_BITS_LEASED &&
	    (uint64_t)block >> (p->client_len - p->prefix_len) != 0))
		return -1;
	base = ipam_load(p->base, p->family);
	off.hi = 0;
	off.lo = (uint64_t)block;
	off = ipam_shl(off, max - p->client_len);
	/* The prefix has no host bits, so adding is or-ing. */
	base.hi |= off.hi;
	base.lo |= off.lo;
	ipam_store(base, p->family, a);
	if (inet_ntop(p->family == 6 ? AF_INET6 : AF_INET, a, text,
	    sizeof(text)) == NULL)
		return -1;
	n = snprintf(buf, len, "%s/%d", text, p->client_len);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
ipam_address_block(const struct ipam_pool *p, const char *addr,
    int64_t *block)
{
	struct ipam_u128	base, v, bn, vn, d, back;
	unsigned char		a[16];
	char			hostpart[INET6_ADDRSTRLEN];
	const char		*slash;
	int			max = p->family == 6 ? 128 : 32, i, len = 0;
	size_t			n;

	if (p->family == 0 || addr == NULL ||
	    (slash = strchr(addr, '/')) == NULL ||
	    (n = (size_t)(slash - addr)) == 0 || n >= sizeof(hostpart))
		return -1;
	memcpy(hostpart, addr, n);
	hostpart[n] = '\0';
	if (inet_pton(p->family == 6 ? AF_INET6 : AF_INET, hostpart, a) != 1)
		return -1;
	if (slash[1] == '\0' || strlen(slash + 1) > 3)
		return -1;
	for (i = 1; slash[i] != '\0'; i++) {
		if (slash[i] < '0' || slash[i] > '9')
			return -1;
		len = len * 10 + (slash[i] - '0');
	}
	if (len != p->client_len)
		return -1;
	base = ipam_load(p->base, p->family);
	v = ipam_load(a, p->family);
	/* Inside the prefix: the network bits are the prefix's. */
	bn = ipam_shr(base, max - p->prefix_len);
	vn = ipam_shr(v, max - p->prefix_len);
	if (bn.hi != vn.hi || bn.lo != vn.lo)
		return -1;
	/* The prefix has no host bits: this leaves v's host bits. */
	d.hi = v.hi ^ base.hi;
	d.lo = v.lo ^ base.lo;
	/* A block's first address: nothing below client_len. */
	back = ipam_shl(ipam_shr(d, max - p->client_len), max - p->client_len);
	if (back.hi != d.hi || back.lo != d.lo)
		return -1;
	d = ipam_shr(d, max - p->client_len);
	/* Beyond the blocks a lease can have (ipam_pool_init). */
	if (d.hi != 0 || d.lo > (uint64_t)INT64_MAX)
		return -1;
	*block = (int64_t)d.lo;
	return 0;
}
