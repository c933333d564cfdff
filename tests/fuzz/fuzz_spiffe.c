/*
 * fuzz_spiffe.c - libFuzzer target: SPIFFE IDs and trust domain names as
 * they come in certificates, tokens and requests.  An accepted ID's
 * canonical form must be accepted again, unchanged.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spiffe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spiffe_id	id, again;
	char			td[SPIFFE_TD_MAX + 1];

	if (spiffe_id_check((const char *)data, size, &id) == SPIFFE_OK) {
		if (spiffe_id_check(id.id, id.len, &again) != SPIFFE_OK ||
		    again.len != id.len || memcmp(again.id, id.id, id.len) != 0)
			abort();
		spiffe_id_trust_domain(&id, td);
		if (spiffe_td_check(td, strlen(td), NULL) != SPIFFE_OK)
			abort();
	}
	(void)spiffe_td_check((const char *)data, size, td);
	return 0;
}
