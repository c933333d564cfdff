# tests/: Criterion unit and integration tests of server/.
TEST_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(MHD_CFLAGS) \
	$(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
TEST_LIBS = $(CRITERION_LIBS) $(NSREGD_LIBS) $(CURL_LIBS)

EXTRA_DIST += tests/config

unit_tests = \
	tests/unit/test_util \
	tests/unit/test_conf \
	tests/unit/test_validate \
	tests/unit/test_decision_log \
	tests/unit/test_origin \
	tests/unit/test_admission \
	tests/unit/test_hashmap \
	tests/unit/test_http_tls_io
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
tests_unit_test_origin_SOURCES = tests/unit/test_origin.c
tests_unit_test_origin_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_origin_LDADD = $(TEST_LIBS)
tests_unit_test_admission_SOURCES = tests/unit/test_admission.c
tests_unit_test_admission_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_admission_LDADD = $(TEST_LIBS)
tests_unit_test_hashmap_SOURCES = tests/unit/test_hashmap.c
tests_unit_test_hashmap_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_hashmap_LDADD = $(TEST_LIBS)
tests_unit_test_http_tls_io_SOURCES = tests/unit/test_http_tls_io.c
tests_unit_test_http_tls_io_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_http_tls_io_LDADD = $(TEST_LIBS)

# gRPC framing, grpc-message, grpc-timeout, the status table (issue 13).
check_PROGRAMS += tests/unit/test_grpc
TESTS += tests/unit/test_grpc
tests_unit_test_grpc_SOURCES = tests/unit/test_grpc.c
tests_unit_test_grpc_CFLAGS = $(TEST_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_grpc_LDADD = $(TEST_LIBS)

# The watch ring's memory bound (issue 18 item 1).
check_PROGRAMS += tests/unit/test_watch_ring
TESTS += tests/unit/test_watch_ring
tests_unit_test_watch_ring_SOURCES = tests/unit/test_watch_ring.c
tests_unit_test_watch_ring_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_watch_ring_LDADD = $(TEST_LIBS)

# HTTP/2 abuse accounting, as scripts on a fake clock (issue 12 item 3).
check_PROGRAMS += tests/unit/test_h2_guard
TESTS += tests/unit/test_h2_guard
tests_unit_test_h2_guard_SOURCES = tests/unit/test_h2_guard.c
tests_unit_test_h2_guard_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_h2_guard_LDADD = $(TEST_LIBS)

# The known attacks on HTTP/2 against a live h2 listener, each while a
# well-behaved client keeps asking (tests/h2/attack.py, python3-h2), and
# 1,000 watch streams on 10 connections (tests/h2/fanout.py).
check_PROGRAMS += tests/integration/test_h2_abuse
TESTS += tests/integration/test_h2_abuse
tests_integration_test_h2_abuse_SOURCES = \
	tests/integration/test_h2_abuse.c tests/integration/onejob.c
tests_integration_test_h2_abuse_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_h2_abuse_LDADD = $(HARNESS_LIBS)
EXTRA_DIST += tests/h2/attack.py tests/h2/fanout.py
# The REST suites again over HTTP/2 (NSREG_TEST_PROTO=h2, harness.c).
TESTS += tests/h2/rest.sh
EXTRA_DIST += tests/h2/rest.sh

# nsregd -n and the start check every file alike (issue 18 item 6).
check_PROGRAMS += tests/unit/test_check
TESTS += tests/unit/test_check
tests_unit_test_check_SOURCES = tests/unit/test_check.c
tests_unit_test_check_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_check_LDADD = $(TEST_LIBS)

# Integration tests: a real nsregd on loopback (tests/integration/harness.c).
check_LIBRARIES += tests/integration/libharness.a
tests_integration_libharness_a_SOURCES = tests/integration/harness.c \
	tests/integration/harness.h
tests_integration_libharness_a_CFLAGS = $(TEST_CFLAGS)
HARNESS_LIBS = tests/integration/libharness.a $(TEST_LIBS)

integration_tests = \
	tests/integration/test_http \
	tests/integration/test_http_framing \
	tests/integration/test_http_budget \
	tests/integration/test_registry \
	tests/integration/test_watch \
	tests/integration/test_policy \
	tests/integration/test_console \
	tests/integration/test_policy_net \
	tests/integration/test_dev_policy \
	tests/integration/test_limits \
	tests/integration/test_h2
check_PROGRAMS += $(integration_tests)
TESTS += $(integration_tests)
tests_integration_test_h2_SOURCES = tests/integration/test_h2.c
tests_integration_test_h2_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_h2_LDADD = $(HARNESS_LIBS)
tests_integration_test_http_SOURCES = tests/integration/test_http.c
tests_integration_test_http_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_http_LDADD = $(HARNESS_LIBS)
tests_integration_test_http_framing_SOURCES = \
	tests/integration/test_http_framing.c tests/integration/rawtls.c \
	tests/integration/rawtls.h tests/integration/onejob.c
tests_integration_test_http_framing_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_http_framing_LDADD = $(HARNESS_LIBS)
tests_integration_test_http_budget_SOURCES = \
	tests/integration/test_http_budget.c
tests_integration_test_http_budget_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_http_budget_LDADD = $(HARNESS_LIBS)
check_PROGRAMS += tests/integration/test_cluster
tests_integration_test_cluster_SOURCES = tests/integration/test_cluster.c
tests_integration_test_cluster_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_cluster_LDADD = $(HARNESS_LIBS)
# nsregd --import between SQLite and PostgreSQL (run by tests/pg/store.sh).
check_PROGRAMS += tests/integration/test_import
tests_integration_test_import_SOURCES = tests/integration/test_import.c
tests_integration_test_import_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_import_LDADD = $(HARNESS_LIBS)
# kill -9, the sweep taken over, PostgreSQL restarted (tests/pg/store.sh).
check_PROGRAMS += tests/integration/test_cluster_ops
tests_integration_test_cluster_ops_SOURCES = \
	tests/integration/test_cluster_ops.c
tests_integration_test_cluster_ops_CFLAGS = $(TEST_CFLAGS) $(LIBPQ_CFLAGS)
tests_integration_test_cluster_ops_LDADD = $(HARNESS_LIBS) $(LIBPQ_LIBS)
tests_integration_test_registry_SOURCES = tests/integration/test_registry.c
tests_integration_test_registry_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_registry_LDADD = $(HARNESS_LIBS)
tests_integration_test_watch_SOURCES = tests/integration/test_watch.c
tests_integration_test_watch_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_watch_LDADD = $(HARNESS_LIBS)
tests_integration_test_console_SOURCES = tests/integration/test_console.c
tests_integration_test_console_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_console_LDADD = $(HARNESS_LIBS)
tests_integration_test_policy_SOURCES = tests/integration/test_policy.c
tests_integration_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_policy_LDADD = $(HARNESS_LIBS)
tests_integration_test_policy_net_SOURCES = \
	tests/integration/test_policy_net.c
tests_integration_test_policy_net_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_policy_net_LDADD = $(HARNESS_LIBS)
tests_integration_test_limits_SOURCES = tests/integration/test_limits.c
tests_integration_test_limits_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_limits_LDADD = $(HARNESS_LIBS)
tests_integration_test_dev_policy_SOURCES = \
	tests/integration/test_dev_policy.c $(IDFIX_SOURCES)
tests_integration_test_dev_policy_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_dev_policy_LDADD = $(HARNESS_LIBS)

# instance-name in /readyz, /metrics and the log (DESIGN section 2).
check_PROGRAMS += tests/integration/test_instance
TESTS += tests/integration/test_instance
tests_integration_test_instance_SOURCES = tests/integration/test_instance.c
tests_integration_test_instance_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_instance_LDADD = $(HARNESS_LIBS)

# /metrics: readers, exposition, process series (issue 18 item 13).
check_PROGRAMS += tests/integration/test_metrics
TESTS += tests/integration/test_metrics
tests_integration_test_metrics_SOURCES = tests/integration/test_metrics.c
tests_integration_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_metrics_LDADD = $(HARNESS_LIBS)

# SIGHUP is all or nothing (issue 18 item 5).
check_PROGRAMS += tests/integration/test_reload
TESTS += tests/integration/test_reload
tests_integration_test_reload_SOURCES = \
	tests/integration/test_reload.c $(IDFIX_SOURCES)
tests_integration_test_reload_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_reload_LDADD = $(HARNESS_LIBS)

# A full disk under the decision log (issue 18 item 14).
check_PROGRAMS += tests/integration/test_diskfull
TESTS += tests/integration/test_diskfull
tests_integration_test_diskfull_SOURCES = \
	tests/integration/test_diskfull.c
tests_integration_test_diskfull_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_diskfull_LDADD = $(HARNESS_LIBS)

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
# Three nsregd on one PostgreSQL database (run by tests/pg/cluster.sh).
check_PROGRAMS += tests/integration/test_cluster_pg
tests_integration_test_cluster_pg_SOURCES = \
	tests/integration/test_cluster_pg.c $(IDFIX_SOURCES)
tests_integration_test_cluster_pg_CFLAGS = $(TEST_CFLAGS) $(LIBPQ_CFLAGS)
tests_integration_test_cluster_pg_LDADD = $(HARNESS_LIBS) $(LIBPQ_LIBS)

# Checks of the tracked sources and pages alone (TAP scripts that run no
# program of the build): the pages lint clean under mandoc and document
# what the code has; engines never include http.h or server.h (STYLE
# rule 7a); nsregd(8) lists every 401 reason of the authentication code.
# .ci/run runs them in the plain build only ("make check SOURCE_CHECKS="
# in the sanitizer build, which would check the same files again).
SOURCE_CHECKS = tests/man-lint.sh tests/docs-sync.sh tests/include-rule.sh \
	tests/auth-reasons.sh
TESTS += $(SOURCE_CHECKS)
EXTRA_DIST += $(SOURCE_CHECKS)
# The console (/ui/) in headless Chromium with puppeteer-core, against a
# live nsregd --dev; screenshots in tests/ui.run/shots/.
TESTS += tests/ui/console.sh
EXTRA_DIST += tests/ui/console.sh tests/ui/console.mjs \
	tests/ui/package.json tests/ui/package-lock.json
clean-local: clean-local-ui
clean-local-ui:
	rm -rf tests/ui.run
.PHONY: clean-local-ui
# NSM's registry protocol over gRPC, driven by @grpc/grpc-js against a
# live nsregd --dev (issue 13).
TESTS += tests/grpc/registry.sh
EXTRA_DIST += tests/npm-ci.sh tests/nsregd-lib.sh
EXTRA_DIST += tests/grpc/registry.sh tests/grpc/registry.mjs \
	tests/grpc/package.json tests/grpc/package-lock.json
clean-local: clean-local-grpc
clean-local-grpc:
	rm -rf tests/grpc.run
.PHONY: clean-local-grpc
# Its benchmark (tests/bench/run): gRPC against REST over one h2 listener.
EXTRA_DIST += tests/bench/grpc.sh tests/bench/h2load.mjs

# The admission-rule language (policy/): its library, CLI and the CEL
# conformance suite.
# Unit tests (Criterion), one binary per part of the library.
POLICY_TEST_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JANSSON_CFLAGS) \
	-I$(top_srcdir)/tests/unit
POLICY_TEST_LIBS = $(CRITERION_LIBS) $(POLICY_LIBS) $(LIBS)
EXTRA_DIST += tests/unit/policy_testlib.h

check_PROGRAMS += tests/unit/test_policy_parse
tests_unit_test_policy_parse_SOURCES = tests/unit/test_policy_parse.c
tests_unit_test_policy_parse_CFLAGS = $(POLICY_TEST_CFLAGS)
tests_unit_test_policy_parse_LDADD = $(POLICY_TEST_LIBS)
TESTS += tests/unit/test_policy_parse

check_PROGRAMS += tests/unit/test_policy_eval
tests_unit_test_policy_eval_SOURCES = tests/unit/test_policy_eval.c
tests_unit_test_policy_eval_CFLAGS = $(POLICY_TEST_CFLAGS)
tests_unit_test_policy_eval_LDADD = $(POLICY_TEST_LIBS)
TESTS += tests/unit/test_policy_eval

check_PROGRAMS += tests/unit/test_policy_rules
tests_unit_test_policy_rules_SOURCES = tests/unit/test_policy_rules.c
tests_unit_test_policy_rules_CFLAGS = $(POLICY_TEST_CFLAGS)
tests_unit_test_policy_rules_LDADD = $(POLICY_TEST_LIBS)
TESTS += tests/unit/test_policy_rules
EXTRA_DIST += tests/policy/combining.json tests/policy/usecases.json \
	tests/policy/extensions.json tests/policy/origin.json \
	tests/policy/invalid-rules.json

check_PROGRAMS += tests/unit/test_policy_net
tests_unit_test_policy_net_SOURCES = tests/unit/test_policy_net.c
tests_unit_test_policy_net_CFLAGS = $(POLICY_TEST_CFLAGS)
tests_unit_test_policy_net_LDADD = $(POLICY_TEST_LIBS)
TESTS += tests/unit/test_policy_net
EXTRA_DIST += tests/policy/net.json tests/policy/net-rules.json

# The CLI as operators use it, and the CEL conformance suite (one TAP line
# per case; tests/cel-known-failures lists the accepted failures).
TESTS += tests/policy/cli.sh tests/policy/man-examples.sh \
	tests/cel-conformance/conformance.sh
EXTRA_DIST += tests/policy/cli.sh tests/policy/man-examples.sh \
	tests/cel-known-failures \
	tests/cel-conformance/README.md tests/cel-conformance/package.json \
	tests/cel-conformance/run.mjs tests/cel-conformance/count.mjs \
	tests/cel-conformance/tap.mjs tests/cel-conformance/conformance.sh \
	tests/cel-conformance/lib/suite.mjs \
	tests/cel-conformance/lib/values.mjs \
	tests/cel-conformance/adapters/bufbuild-cel.mjs \
	tests/cel-conformance/adapters/c-skeleton/cel_stub.c
clean-local: clean-local-policy
clean-local-policy:
	rm -rf tests/cel-conformance.run
.PHONY: clean-local-policy

# Identity (server/identity/, server/svid.c).
# Unit tests (Criterion), one binary per module.
IDENTITY_TEST_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS)
IDENTITY_TEST_LIBS = $(CRITERION_LIBS) $(IDENTITY_LIBS)

check_PROGRAMS += tests/unit/test_spiffe
tests_unit_test_spiffe_SOURCES = tests/unit/test_spiffe.c
tests_unit_test_spiffe_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_spiffe_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_spiffe

check_PROGRAMS += tests/unit/test_jose
tests_unit_test_jose_SOURCES = tests/unit/test_jose.c
tests_unit_test_jose_CFLAGS = $(IDENTITY_TEST_CFLAGS)
tests_unit_test_jose_LDADD = $(IDENTITY_TEST_LIBS)
TESTS += tests/unit/test_jose

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
EXTRA_PROGRAMS += tests/bench/identity_bench
tests_bench_identity_bench_SOURCES = tests/bench/identity_bench.c
tests_bench_identity_bench_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS)
tests_bench_identity_bench_LDADD = $(IDENTITY_LIBS)
EXTRA_DIST += tests/bench/identity.sh

# Storage (server/store/).
STORE_TEST_LIBS = server/store/libnsregstore.a server/libnsregcore.a \
	$(SQLITE_LIBS) $(LIBPQ_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(LIBS)

# The storage suite: SQLite always; PostgreSQL (tests/pg/store.sh) on the
# database at NSREG_TEST_PG when set, else on a private one when the
# PostgreSQL server is installed (skipped when not).
check_PROGRAMS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) \
	$(SQLITE_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_store_LDADD = $(CRITERION_LIBS) $(STORE_TEST_LIBS)
TESTS += tests/unit/test_store tests/pg/store.sh tests/pg/cluster.sh
# Several stores on one PostgreSQL database (run by tests/pg/cluster.sh).
check_PROGRAMS += tests/unit/test_store_follow
tests_unit_test_store_follow_SOURCES = tests/unit/test_store_follow.c
tests_unit_test_store_follow_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) \
	$(LIBPQ_CFLAGS) $(JANSSON_CFLAGS) -I$(top_srcdir)/server/store
tests_unit_test_store_follow_LDADD = $(CRITERION_LIBS) $(STORE_TEST_LIBS)
# The plans of the PostgreSQL backend's statements (run by tests/pg/store.sh).
check_PROGRAMS += tests/unit/test_pg_explain
tests_unit_test_pg_explain_SOURCES = tests/unit/test_pg_explain.c
tests_unit_test_pg_explain_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) \
	$(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_pg_explain_LDADD = $(CRITERION_LIBS) $(STORE_TEST_LIBS)
EXTRA_DIST += tests/pg/store.sh tests/pg/pg-start.sh tests/pg/pg-stop.sh \
	tests/pg/cluster.sh

# Storage benchmark (tests/bench/store runs it; not part of make check).
EXTRA_PROGRAMS += tests/bench/store_bench
tests_bench_store_bench_SOURCES = tests/bench/store_bench.c
tests_bench_store_bench_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) \
	$(JANSSON_CFLAGS)
tests_bench_store_bench_LDADD = $(STORE_TEST_LIBS)
EXTRA_DIST += tests/bench/store

# Grants: selection, pools and leases, tokens.
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

# JWT-SVIDs and grant tokens checked by an independent implementation,
# libjwt (a test dependency only: the server does not link it).
check_PROGRAMS += tests/unit/test_jwt_cross
TESTS += tests/unit/test_jwt_cross
tests_unit_test_jwt_cross_SOURCES = tests/unit/test_jwt_cross.c
tests_unit_test_jwt_cross_CFLAGS = $(TEST_CFLAGS) $(JWT_CFLAGS)
tests_unit_test_jwt_cross_LDADD = $(TEST_LIBS) $(JWT_LIBS)

# Integration tests: a real nsregd (tests/integration/harness.c).
check_PROGRAMS += tests/integration/test_grants
TESTS += tests/integration/test_grants
tests_integration_test_grants_SOURCES = tests/integration/test_grants.c
tests_integration_test_grants_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_grants_LDADD = $(HARNESS_LIBS)

# Federation.
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

# Interdomain reads on pooled connections between two registries.
check_PROGRAMS += tests/federation/test_peer_pool
TESTS += tests/federation/test_peer_pool
tests_federation_test_peer_pool_SOURCES = \
	tests/federation/test_peer_pool.c \
	tests/federation/regfix.c tests/federation/regfix.h
tests_federation_test_peer_pool_CFLAGS = $(TEST_CFLAGS) \
	-I$(top_srcdir)/tests/integration
tests_federation_test_peer_pool_LDADD = $(HARNESS_LIBS)

check_PROGRAMS += tests/unit/test_federation
TESTS += tests/unit/test_federation
tests_unit_test_federation_SOURCES = tests/unit/test_federation.c
tests_unit_test_federation_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_federation_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/federation/two-companies.sh
TESTS += tests/federation/two-companies.sh

# Benchmarks (tests/bench/run; not part of make check).
EXTRA_PROGRAMS += tests/bench/loadgen tests/bench/bare_mhd
tests_bench_loadgen_SOURCES = tests/bench/loadgen.c
tests_bench_loadgen_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_loadgen_LDADD = $(OPENSSL_LIBS)
tests_bench_bare_mhd_SOURCES = tests/bench/bare_mhd.c
tests_bench_bare_mhd_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
tests_bench_bare_mhd_LDADD = $(MHD_LIBS)
EXTRA_DIST += tests/bench/run tests/bench/registry.sh tests/bench/lib.sh
# tests/bench/cluster.sh: event propagation between two instances.
EXTRA_PROGRAMS += tests/bench/watch_lat
tests_bench_watch_lat_SOURCES = tests/bench/watch_lat.c
tests_bench_watch_lat_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_bench_watch_lat_LDADD = server/libnsregcore.a $(CURL_LIBS) \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) $(LIBS)
EXTRA_DIST += tests/bench/cluster.sh tests/bench/cluster_pg.sh
# tests/bench/interdomain.sh: interdomain reads against local ones.
EXTRA_DIST += tests/bench/interdomain.sh

# tests/bench/whoami.sh: JWT-SVID against admin-token requests/s over HTTPS.
EXTRA_PROGRAMS += tests/bench/whoami_tokens
tests_bench_whoami_tokens_SOURCES = tests/bench/whoami_tokens.c
tests_bench_whoami_tokens_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS)
tests_bench_whoami_tokens_LDADD = $(IDENTITY_LIBS)
EXTRA_DIST += tests/bench/whoami.sh

# Admission inside the server, without HTTP (tests/bench/admission.sh
# adds the HTTP measurement against bare_mhd).
EXTRA_PROGRAMS += tests/bench/admission
tests_bench_admission_SOURCES = tests/bench/admission.c
tests_bench_admission_CFLAGS = $(TEST_CFLAGS)
tests_bench_admission_LDADD = $(NSREGD_LIBS)
EXTRA_DIST += tests/bench/admission.sh

# sd_notify (server/notify.c) and nsregd's readiness, for Type=notify.
check_PROGRAMS += tests/unit/test_notify tests/integration/test_notify
TESTS += tests/unit/test_notify tests/integration/test_notify
tests_unit_test_notify_SOURCES = tests/unit/test_notify.c
tests_unit_test_notify_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_notify_LDADD = $(TEST_LIBS)
tests_integration_test_notify_SOURCES = tests/integration/test_notify.c
tests_integration_test_notify_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_notify_LDADD = $(HARNESS_LIBS)

# What make install installs besides programs and pages: the systemd
# unit (systemd-analyze security and verify) and the example
# configuration (nsregd -n).
TESTS += tests/pkg/unit.sh
EXTRA_DIST += tests/pkg/unit.sh

# schema/openapi.yaml: valid for two standard validators, and nsregd's
# real answers valid against it (tests/openapi/check.sh, Node).
TESTS += tests/openapi/check.sh
EXTRA_DIST += tests/openapi/check.sh tests/openapi/package.json \
	tests/openapi/package-lock.json tests/openapi/validate.mjs \
	tests/openapi/responses.mjs

# nsregd --backup under write load, restored by copy (nsregd(8)).
check_PROGRAMS += tests/integration/test_backup
TESTS += tests/integration/test_backup
tests_integration_test_backup_SOURCES = tests/integration/test_backup.c
tests_integration_test_backup_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_backup_LDADD = $(HARNESS_LIBS)

# Upgrades: nsregd on a database of an earlier schema (the fixture
# tests/store/fixtures/v2.db), and a downgrade refused.
check_PROGRAMS += tests/integration/test_upgrade
TESTS += tests/integration/test_upgrade
tests_integration_test_upgrade_SOURCES = tests/integration/test_upgrade.c
tests_integration_test_upgrade_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_upgrade_LDADD = $(HARNESS_LIBS)
EXTRA_DIST += tests/store/fixtures/v2.db tests/store/fixtures/make-v2.sh

# Every sh block of README.md runs against live servers (tests/readme.sh).
TESTS += tests/readme.sh
EXTRA_DIST += tests/readme.sh tests/readme-blocks.awk tests/readme-expect.awk \
	tests/federation/companies.sh
clean-local: clean-local-openapi
clean-local-openapi:
	rm -rf tests/openapi.run
.PHONY: clean-local-openapi

# policy/'s benchmark
EXTRA_PROGRAMS += tests/bench/policy
tests_bench_policy_SOURCES = tests/bench/policy.c
tests_bench_policy_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_bench_policy_LDADD = $(POLICY_LIBS) $(LIBS)
EXTRA_DIST += tests/bench/policy.sh tests/bench/policy-js.mjs
