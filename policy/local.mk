# policy/: the admission-rule language and rule-set evaluator.
#
# libnsregpolicy.a is pure (no I/O, no clock, no globals) and depends on
# nothing of server/.  libnsregpolicytz.a reads the system's zoneinfo for
# IANA time-zone names; the CLI (and the server, when it wants named zones)
# link it too.
noinst_LIBRARIES += policy/libnsregpolicy.a
POLICY_LIB_C = \
	policy/cel_parse.c policy/cel_check.c policy/cel_eval.c \
	policy/cel_func.c policy/cel_value.c policy/cel_host.c \
	policy/cel_time.c policy/regex.c policy/rule.c policy/decision.c \
	policy/cel_net.c policy/cel_net_ip.c policy/cel_net_url.c \
	policy/cel_strings.c policy/cel_math.c \
	policy/cel_optional.c
policy_libnsregpolicy_a_SOURCES = \
	policy/policy.h policy/cel.h policy/cel_ast.h policy/cel_net.h \
	$(POLICY_LIB_C)
policy_libnsregpolicy_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)

noinst_LIBRARIES += policy/libnsregpolicytz.a
policy_libnsregpolicytz_a_SOURCES = policy/policy_tz.h policy/tzfile.c
policy_libnsregpolicytz_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)

POLICY_LIBS = policy/libnsregpolicytz.a policy/libnsregpolicy.a \
	$(JANSSON_LIBS) -lm

bin_PROGRAMS += policy/nsreg-policy
policy_nsreg_policy_SOURCES = policy/nsreg-policy.c policy/conformance.c \
	policy/cli.h
policy_nsreg_policy_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
policy_nsreg_policy_LDADD = $(POLICY_LIBS)

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
	tests/policy/extensions.json \
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

dist_man_MANS += man/nsreg-policy.1 man/nsreg-policy.7

# "make fuzz" builds a libFuzzer target for the parser with clang, from the
# library's sources (not the gcc-built archive).  Run it with
#   policy/fuzz-parse -max_total_time=300 policy/fuzz-corpus
POLICY_FUZZ_CC = clang
EXTRA_DIST += policy/fuzz_parse.c
fuzz: policy/fuzz-parse
policy/fuzz-parse: $(POLICY_LIB_C) policy/fuzz_parse.c
	cd $(srcdir) && $(POLICY_FUZZ_CC) -g -O1 \
	    -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -I$(abs_top_builddir) \
	    -Ipolicy $(JANSSON_CFLAGS) -o $(abs_builddir)/policy/fuzz-parse \
	    $(POLICY_LIB_C) policy/fuzz_parse.c $(JANSSON_LIBS) -lm
CLEANFILES += policy/fuzz-parse
.PHONY: fuzz

# Benchmark (not part of make check): tests/bench/policy.sh.
EXTRA_PROGRAMS += tests/bench/policy
tests_bench_policy_SOURCES = tests/bench/policy.c
tests_bench_policy_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_bench_policy_LDADD = $(POLICY_LIBS) $(LIBS)
EXTRA_DIST += tests/bench/policy.sh tests/bench/policy-js.mjs
