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
