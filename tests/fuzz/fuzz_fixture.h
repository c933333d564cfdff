/*
 * fuzz_fixture.h - what the identity fuzz targets trust: the SPIFFE
 * bundle of a development CA for example.org (nsreg-svid ca, valid until
 * 2036), whose X.509-SVIDs and JWT-SVIDs are the seeds of
 * tests/fuzz/corpus/x509svid and tests/fuzz/corpus/jwtsvid.  The targets
 * verify at FUZZ_NOW_MS, within every seed's validity.
 */
#ifndef NSREG_FUZZ_FIXTURE_H
#define NSREG_FUZZ_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>

#include "bundle.h"
#include "error.h"
#include "trust.h"

#define FUZZ_TD		"example.org"
#define FUZZ_AUDIENCE	"spiffe://example.org/nsreg"
#define FUZZ_NOW_MS	INT64_C(1796166534000)

static const char fuzz_bundle_json[] =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"2m-bHmAjXEc_R1GGFkui"
    "sMIOIOzIbiTbVkID5wdtmCE\",\"y\":\"4UCQyOUX-5iESZ06IVG4W-iYfWWnsV"
    "K1tp2jbT3c7T0\",\"use\":\"x509-svid\",\"x5c\":[\"MIIBqzCCAVOgAwIBAgI"
    "QEt2LTlr0xXiRidps5HwRejAKBggqhkjOPQQDAjAmMQ4wDAYDVQQKDAVuc3J"
    "lZzEUMBIGA1UEAwwLZXhhbXBsZS5vcmcwHhcNMjYxMjAxMjIwNzUzWhcNMzY"
    "xMTI4MjIwODUzWjAmMQ4wDAYDVQQKDAVuc3JlZzEUMBIGA1UEAwwLZXhhbXB"
    "sZS5vcmcwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATab5seYCNcRz9HUYY"
    "WS6Kwwg4g7MhuJNtWQgPnB22YIeFAkMjlF/uYhEmdOiFRuFvomH1lp7FStba"
    "do2093O09o2MwYTAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjA"
    "dBgNVHQ4EFgQUfGPLsPuu9ShPrAwxKfcty9QR4SEwHwYDVR0RBBgwFoYUc3B"
    "pZmZlOi8vZXhhbXBsZS5vcmcwCgYIKoZIzj0EAwIDRgAwQwIgJ8O64hKhOyO"
    "+MF7MB9ZpVIwXv8lbuRadEEFIkB5Ko40CH3wb8ZG241Fbv1kiTDr4v/+Ngpi"
    "JS2DsBOUNRkjZdVM=\"]},{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"Kqps2tjH"
    "ZAKaXDhZk8o68UKT3vscU806qprbRd0ORvw\",\"y\":\"thszX1BTbN42_bQJJm"
    "PxOkfQ-cJTGi7hfCRNHzzBhZo\",\"use\":\"jwt-svid\",\"kid\":\"XfPCoNZl1"
    "Dkge2t2Mu_HLZf981GLB9hXSN15QYAZ0EE\"}],\"spiffe_sequence\":1,\"s"
    "piffe_refresh_hint\":300}";

/* The trust set of the fixture, made once; the process keeps it. */
static struct trust *
fuzz_fixture_trust(void)
{
	static struct trust	*trust;
	struct nsreg_error	 err;
	struct bundle		*b;

	if (trust != NULL)
		return trust;
	if ((trust = trust_new(FUZZ_TD, &err)) == NULL ||
	    (b = bundle_parse(FUZZ_TD, fuzz_bundle_json,
	    sizeof(fuzz_bundle_json) - 1, BUNDLE_FORMAT_SPIFFE, &err)) ==
	    NULL || trust_set(trust, b, &err) == -1)
		abort();
	bundle_unref(b);
	return trust;
}

#endif
