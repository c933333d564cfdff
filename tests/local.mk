# tests/: Criterion unit and integration tests of server/.
TEST_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(MHD_CFLAGS) \
	$(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
TEST_LIBS = $(CRITERION_LIBS) $(NSREGD_LIBS) $(CURL_LIBS)

check_PROGRAMS += tests/unit/test_util
tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_util_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_util
