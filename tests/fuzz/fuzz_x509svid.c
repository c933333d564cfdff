/*
 * fuzz_x509svid.c - libFuzzer target: an X.509-SVID chain as a TLS client
 * presents it, DER certificates back to back (leaf first), verified
 * against the fixture's trust set for each purpose.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_fixture.h"
#include "principal.h"
#include "x509svid.h"

#define FUZZ_CHAIN_MAX	(X509SVID_CHAIN_MAX + 1)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The length of the DER element at p (tag, length, contents), 0 when the
 * header is not one; never more than left. */
static size_t
fuzz_der_len(const uint8_t *p, size_t left)
{
	size_t	len = 0, n, i;

	if (left < 2)
		return left;
	if ((p[1] & 0x80) == 0)
		len = 2 + p[1];
	else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 4 || left < 2 + n)
			return left;
		for (i = 0; i < n; i++)
			len = (len << 8) | p[2 + i];
		len += 2 + n;
	}
	return len > left || len == 0 ? left : len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum x509svid_purpose purposes[] = {
		X509SVID_PURPOSE_CLIENT, X509SVID_PURPOSE_SERVER,
		X509SVID_PURPOSE_ANY,
	};
	struct x509svid_der	 chain[FUZZ_CHAIN_MAX];
	struct trust		*trust = fuzz_fixture_trust();
	struct principal	 p;
	struct nsreg_error	 err;
	size_t			 n = 0, off = 0, len, i;

	while (off < size && n < FUZZ_CHAIN_MAX) {
		len = fuzz_der_len(data + off, size - off);
		chain[n].data = data + off;
		chain[n].len = len;
		n++;
		off += len;
	}
	for (i = 0; i < sizeof(purposes) / sizeof(purposes[0]); i++) {
		memset(&p, 0, sizeof(p));
		if (x509svid_verify(trust, chain, n, FUZZ_NOW_MS, purposes[i],
		    &p, &err) == 0 && p.id[0] == '\0')
			abort();
		principal_clear(&p);
	}
	return 0;
}
