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
