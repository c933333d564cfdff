# server/ grants: endpoint selection, vL3 IPAM, grant tokens and the
# /v1/grants API (DESIGN section 4, "Grants").
server_libnsregd_a_SOURCES += \
	server/api_grants.c \
	server/grant.c server/grant.h \
	server/ipam.c server/ipam.h \
	server/select.c server/select.h

# Unit tests (Criterion): selection as a table, pools and leases.
GRANTS_TEST_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
check_PROGRAMS += tests/unit/test_select tests/unit/test_ipam \
	tests/unit/test_grant
TESTS += tests/unit/test_select tests/unit/test_ipam tests/unit/test_grant
tests_unit_test_select_SOURCES = tests/unit/test_select.c
tests_unit_test_select_CFLAGS = $(GRANTS_TEST_CFLAGS)
tests_unit_test_select_LDADD = $(TEST_LIBS)
tests_unit_test_ipam_SOURCES = tests/unit/test_ipam.c
tests_unit_test_ipam_CFLAGS = $(GRANTS_TEST_CFLAGS)
tests_unit_test_ipam_LDADD = $(TEST_LIBS)
tests_unit_test_grant_SOURCES = tests/unit/test_grant.c
tests_unit_test_grant_CFLAGS = $(GRANTS_TEST_CFLAGS)
tests_unit_test_grant_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/select/cases.json tests/integration/verify-grant.sh \
	tests/bench/grants.sh

# Integration tests: a real nsregd (tests/integration/harness.c).
check_PROGRAMS += tests/integration/test_grants
TESTS += tests/integration/test_grants
tests_integration_test_grants_SOURCES = tests/integration/test_grants.c
tests_integration_test_grants_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_grants_LDADD = $(HARNESS_LIBS)
