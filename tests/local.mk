# tests/: Criterion unit and integration tests of server/.
TEST_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(MHD_CFLAGS) \
	$(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
TEST_LIBS = $(CRITERION_LIBS) $(NSREGD_LIBS) $(CURL_LIBS)

EXTRA_DIST += tests/config

unit_tests = \
	tests/unit/test_util \
	tests/unit/test_conf \
	tests/unit/test_validate \
	tests/unit/test_decision_log
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_util_LDADD = $(TEST_LIBS)
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_conf_LDADD = $(TEST_LIBS)
tests_unit_test_validate_SOURCES = tests/unit/test_validate.c
tests_unit_test_validate_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_validate_LDADD = $(TEST_LIBS)
tests_unit_test_decision_log_SOURCES = tests/unit/test_decision_log.c
tests_unit_test_decision_log_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_decision_log_LDADD = $(TEST_LIBS)

# Integration tests: a real nsregd on loopback (tests/integration/harness.c).
check_LIBRARIES += tests/integration/libharness.a
tests_integration_libharness_a_SOURCES = tests/integration/harness.c \
	tests/integration/harness.h
tests_integration_libharness_a_CFLAGS = $(TEST_CFLAGS)
HARNESS_LIBS = tests/integration/libharness.a $(TEST_LIBS)

integration_tests = \
	tests/integration/test_http \
	tests/integration/test_registry \
	tests/integration/test_watch \
	tests/integration/test_policy \
	tests/integration/test_dev_policy
check_PROGRAMS += $(integration_tests)
TESTS += $(integration_tests)
tests_integration_test_http_SOURCES = tests/integration/test_http.c
tests_integration_test_http_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_http_LDADD = $(HARNESS_LIBS)
tests_integration_test_registry_SOURCES = tests/integration/test_registry.c
tests_integration_test_registry_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_registry_LDADD = $(HARNESS_LIBS)
tests_integration_test_watch_SOURCES = tests/integration/test_watch.c
tests_integration_test_watch_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_watch_LDADD = $(HARNESS_LIBS)
tests_integration_test_policy_SOURCES = tests/integration/test_policy.c
tests_integration_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_policy_LDADD = $(HARNESS_LIBS)
tests_integration_test_dev_policy_SOURCES = \
	tests/integration/test_dev_policy.c $(IDFIX_SOURCES)
tests_integration_test_dev_policy_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_dev_policy_LDADD = $(HARNESS_LIBS)

# Identity: credentials and trust domains (tests/integration/idfix.c mints).
integration_id_tests = \
	tests/integration/test_identity \
	tests/integration/test_trust_domains
check_PROGRAMS += $(integration_id_tests)
TESTS += $(integration_id_tests)
IDFIX_SOURCES = tests/integration/idfix.c tests/integration/idfix.h
tests_integration_test_identity_SOURCES = \
	tests/integration/test_identity.c $(IDFIX_SOURCES)
tests_integration_test_identity_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_identity_LDADD = $(HARNESS_LIBS)
tests_integration_test_trust_domains_SOURCES = \
	tests/integration/test_trust_domains.c $(IDFIX_SOURCES)
tests_integration_test_trust_domains_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_trust_domains_LDADD = $(HARNESS_LIBS)

# Documentation checks (TAP scripts).
TESTS += tests/man-lint.sh tests/docs-sync.sh
EXTRA_DIST += tests/man-lint.sh tests/docs-sync.sh
# nsregd(8) lists every 401 reason of the authentication code.
TESTS += tests/auth-reasons.sh
EXTRA_DIST += tests/auth-reasons.sh

# Benchmarks (tests/bench/run; not part of make check).
noinst_PROGRAMS += tests/bench/loadgen tests/bench/bare_mhd
tests_bench_loadgen_SOURCES = tests/bench/loadgen.c
tests_bench_loadgen_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_loadgen_LDADD = $(OPENSSL_LIBS)
tests_bench_bare_mhd_SOURCES = tests/bench/bare_mhd.c
tests_bench_bare_mhd_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
tests_bench_bare_mhd_LDADD = $(MHD_LIBS)
EXTRA_DIST += tests/bench/run tests/bench/registry.sh tests/bench/lib.sh

# tests/bench/whoami.sh: JWT-SVID against admin-token requests/s over HTTPS.
noinst_PROGRAMS += tests/bench/whoami_tokens
tests_bench_whoami_tokens_SOURCES = tests/bench/whoami_tokens.c
tests_bench_whoami_tokens_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS)
tests_bench_whoami_tokens_LDADD = $(IDENTITY_LIBS)
EXTRA_DIST += tests/bench/whoami.sh

# Admission inside the server, without HTTP (tests/bench/admission.sh
# adds the HTTP measurement against bare_mhd).
noinst_PROGRAMS += tests/bench/admission
tests_bench_admission_SOURCES = tests/bench/admission.c
tests_bench_admission_CFLAGS = $(TEST_CFLAGS)
tests_bench_admission_LDADD = $(NSREGD_LIBS)
EXTRA_DIST += tests/bench/admission.sh
