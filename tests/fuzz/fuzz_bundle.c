/*
 * fuzz_bundle.c - libFuzzer target: a SPIFFE bundle document as a
 * federated peer serves it (JSON) or an operator writes it (PEM).  What
 * parses must render, and what it renders must parse again to the same
 * counts.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "bundle.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nsreg_error	 err;
	struct bundle		*b, *again;
	json_t			*doc;
	char			*pem;

	b = bundle_parse("example.org", (const char *)data, size,
	    BUNDLE_FORMAT_AUTO, &err);
	if (b == NULL)
		return 0;
	if ((doc = bundle_to_json(b)) == NULL ||
	    (pem = bundle_to_pem(b, NULL)) == NULL)
		abort();
	if ((again = bundle_from_json("example.org", doc, &err)) == NULL ||
	    bundle_x509_count(again) != bundle_x509_count(b) ||
	    bundle_jwt_count(again) != bundle_jwt_count(b))
		abort();
	bundle_unref(again);
	json_decref(doc);
	free(pem);
	bundle_unref(b);
	return 0;
}
