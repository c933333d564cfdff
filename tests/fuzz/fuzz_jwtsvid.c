/*
 * fuzz_jwtsvid.c - libFuzzer target: a JWT-SVID as a stranger presents it
 * ("Authorization: Bearer <input>"), parsed and verified against the
 * fixture's trust set (fuzz_fixture.h), with and without the cache.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_fixture.h"
#include "jwtsvid.h"
#include "principal.h"
#include "tokcache.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tokcache	*cache;
	struct trust		*trust = fuzz_fixture_trust();
	struct principal	 p, q;
	struct nsreg_error	 err;
	int			 r1, r2;

	if (cache == NULL && (cache = tokcache_new(64)) == NULL)
		abort();
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	r1 = jwtsvid_verify(NULL, trust, FUZZ_AUDIENCE, (const char *)data,
	    size, FUZZ_NOW_MS, &p, &err);
	/* The cache never changes a verdict, nor the principal. */
	r2 = jwtsvid_verify(cache, trust, FUZZ_AUDIENCE, (const char *)data,
	    size, FUZZ_NOW_MS, &q, &err);
	if (r1 != r2 || (r1 == 0 && strcmp(p.id, q.id) != 0))
		abort();
	principal_clear(&p);
	principal_clear(&q);
	return 0;
}
