# server/ identity: SPIFFE IDs, X.509-SVIDs, JWT-SVIDs, trust bundles.
# The only code that uses OpenSSL's X509 and JWS machinery (STYLE.md 1);
# identity_int.h is its private header.
noinst_LIBRARIES += server/libidentity.a
server_libidentity_a_SOURCES = \
	server/identity_int.h \
	server/principal.c server/principal.h \
	server/spiffe.c server/spiffe.h \
	server/bundle.c server/bundle.h \
	server/trust.c server/trust.h \
	server/x509svid.c server/x509svid.h \
	server/jwtsvid.c server/jwtsvid.h \
	server/svid.c server/svid.h
server_libidentity_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS) $(JWT_CFLAGS)

IDENTITY_LIBS = server/libidentity.a server/libnsregcore.a \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) $(LIBS)

# nsreg-svid: mint SVIDs and bundles from a development CA.
bin_PROGRAMS += server/nsreg-svid
server_nsreg_svid_SOURCES = server/svid_tool.c
server_nsreg_svid_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
server_nsreg_svid_LDADD = $(IDENTITY_LIBS)
dist_man_MANS += man/nsreg-svid.1

# Unit tests (Criterion), one binary per module.
IDENTITY_TEST_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS)
IDENTITY_TEST_LIBS = $(CRITERION_LIBS) $(IDENTITY_LIBS)

check_PROGRAMS += tests/unit/test_spiffe
tests_unit_test_spiffe_SOURCES = tests/unit/test_spiffe.c
tests_unit_test_spiffe_CFLAGS = $(IDENTITY_TEST_CFLAGS)
tests_unit_test_spiffe_LDADD = $(IDENTITY_TEST_LIBS)
TESTS += tests/unit/test_spiffe

EXTRA_DIST += tests/spiffe/ids.txt

check_PROGRAMS += tests/unit/test_bundle
tests_unit_test_bundle_SOURCES = tests/unit/test_bundle.c
tests_unit_test_bundle_CFLAGS = $(IDENTITY_TEST_CFLAGS)
tests_unit_test_bundle_LDADD = $(IDENTITY_TEST_LIBS)
TESTS += tests/unit/test_bundle

check_PROGRAMS += tests/unit/test_x509svid
tests_unit_test_x509svid_SOURCES = tests/unit/test_x509svid.c
tests_unit_test_x509svid_CFLAGS = $(IDENTITY_TEST_CFLAGS)
tests_unit_test_x509svid_LDADD = $(IDENTITY_TEST_LIBS)
TESTS += tests/unit/test_x509svid

check_PROGRAMS += tests/unit/test_jwtsvid
tests_unit_test_jwtsvid_SOURCES = tests/unit/test_jwtsvid.c
tests_unit_test_jwtsvid_CFLAGS = $(IDENTITY_TEST_CFLAGS)
tests_unit_test_jwtsvid_LDADD = $(IDENTITY_TEST_LIBS)
TESTS += tests/unit/test_jwtsvid

check_PROGRAMS += tests/unit/test_svid
tests_unit_test_svid_SOURCES = tests/unit/test_svid.c
tests_unit_test_svid_CFLAGS = $(IDENTITY_TEST_CFLAGS)
tests_unit_test_svid_LDADD = $(IDENTITY_TEST_LIBS)
TESTS += tests/unit/test_svid
# test_svid also runs server/nsreg-svid (built by "all", which "check"
# builds first).

EXTRA_DIST += \
	tests/spiffe/bundles/README \
	tests/spiffe/bundles/both-uses.json \
	tests/spiffe/bundles/broken.pem \
	tests/spiffe/bundles/cases.txt \
	tests/spiffe/bundles/duplicate-in-key.json \
	tests/spiffe/bundles/duplicate-kid.json \
	tests/spiffe/bundles/duplicate-member.json \
	tests/spiffe/bundles/ec-bad-base64.json \
	tests/spiffe/bundles/ec-missing-y.json \
	tests/spiffe/bundles/ec-off-curve.json \
	tests/spiffe/bundles/ec-padded.json \
	tests/spiffe/bundles/ec-short.json \
	tests/spiffe/bundles/empty-keys.json \
	tests/spiffe/bundles/extra-members.json \
	tests/spiffe/bundles/hint-negative.json \
	tests/spiffe/bundles/jwt-no-kid.json \
	tests/spiffe/bundles/jwt-weak-rsa.json \
	tests/spiffe/bundles/key-not-object.json \
	tests/spiffe/bundles/keys-missing.json \
	tests/spiffe/bundles/keys-not-array.json \
	tests/spiffe/bundles/keys-null.json \
	tests/spiffe/bundles/kid-empty.json \
	tests/spiffe/bundles/kid-not-string.json \
	tests/spiffe/bundles/no-sequence.json \
	tests/spiffe/bundles/not-json.txt \
	tests/spiffe/bundles/not-object.json \
	tests/spiffe/bundles/not-pem.txt \
	tests/spiffe/bundles/root.pem \
	tests/spiffe/bundles/rsa-missing-e.json \
	tests/spiffe/bundles/sequence-negative.json \
	tests/spiffe/bundles/sequence-real.json \
	tests/spiffe/bundles/sequence-string.json \
	tests/spiffe/bundles/spec-example.json \
	tests/spiffe/bundles/trailing-garbage.json \
	tests/spiffe/bundles/truncated.json \
	tests/spiffe/bundles/two-roots.pem \
	tests/spiffe/bundles/unknown-crv.json \
	tests/spiffe/bundles/unknown-kty.json \
	tests/spiffe/bundles/unknown-use.json \
	tests/spiffe/bundles/whitespace.json \
	tests/spiffe/bundles/x509-no-params.json \
	tests/spiffe/bundles/x509-no-x5c.json \
	tests/spiffe/bundles/x509-two-roots.json \
	tests/spiffe/bundles/x509-x5c-extra.json \
	tests/spiffe/bundles/x5c-bad-base64.json \
	tests/spiffe/bundles/x5c-mismatch.json \
	tests/spiffe/bundles/x5c-not-array.json \
	tests/spiffe/bundles/x5c-not-cert.json \
	tests/spiffe/bundles/x5c-wrong-kty.json

# Benchmark (not in make check): tests/bench/identity.sh runs it.
noinst_PROGRAMS += tests/bench/identity_bench
tests_bench_identity_bench_SOURCES = tests/bench/identity_bench.c
tests_bench_identity_bench_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS)
tests_bench_identity_bench_LDADD = $(IDENTITY_LIBS)
EXTRA_DIST += tests/bench/identity.sh
