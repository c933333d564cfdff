# server/ federation: SPIFFE bundle endpoints (the only libcurl user) and
# interdomain registry queries (DESIGN section 4).
server_libnsregd_a_SOURCES += \
	server/federation.c server/federation.h \
	server/interdomain.c server/interdomain.h
server_libnsregd_a_CFLAGS += $(CURL_CFLAGS)

# Tests: the bundle endpoint client and interdomain reads through a real
# nsregd, against a local HTTPS server (tests/integration/fedfix.c).
FEDFIX_SOURCES = tests/integration/fedfix.c tests/integration/fedfix.h \
	$(IDFIX_SOURCES)
federation_tests = \
	tests/integration/test_federation
check_PROGRAMS += $(federation_tests)
TESTS += $(federation_tests)
tests_integration_test_federation_SOURCES = \
	tests/integration/test_federation.c $(FEDFIX_SOURCES)
tests_integration_test_federation_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_federation_LDADD = $(HARNESS_LIBS)

check_PROGRAMS += tests/integration/test_federation_interdomain
TESTS += tests/integration/test_federation_interdomain
tests_integration_test_federation_interdomain_SOURCES = \
	tests/integration/test_federation_interdomain.c $(FEDFIX_SOURCES)
tests_integration_test_federation_interdomain_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_federation_interdomain_LDADD = $(HARNESS_LIBS)

# The two-registry scenario (tests/federation/): two nsregd of two trust
# domains federated with each other.
check_PROGRAMS += tests/federation/test_two_registries
TESTS += tests/federation/test_two_registries
tests_federation_test_two_registries_SOURCES = \
	tests/federation/test_two_registries.c \
	tests/federation/regfix.c tests/federation/regfix.h
tests_federation_test_two_registries_CFLAGS = $(TEST_CFLAGS) \
	-I$(top_srcdir)/tests/integration
tests_federation_test_two_registries_LDADD = $(HARNESS_LIBS)

check_PROGRAMS += tests/unit/test_federation
TESTS += tests/unit/test_federation
tests_unit_test_federation_SOURCES = tests/unit/test_federation.c
tests_unit_test_federation_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_federation_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/federation/two-companies.sh
TESTS += tests/federation/two-companies.sh
