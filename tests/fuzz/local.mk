# tests/fuzz/: libFuzzer targets for what an unauthenticated or foreign
# peer reaches (issue 10 item 7), with seed corpora in tests/fuzz/corpus/.
# "make fuzz" builds them with clang (not the configured compiler, which
# may be gcc), from the sources, instrumented, not from the gcc-built
# archives; .ci/run runs each for a few seconds on its seeds.  By hand:
#   tests/fuzz/fuzz-jwtsvid -max_total_time=300 /tmp/new \
#       $(srcdir)/tests/fuzz/corpus/jwtsvid
# (new inputs go to the first directory).  A crash found becomes a seed.
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-I$(abs_top_builddir) -I$(abs_top_srcdir)/server \
	-I$(abs_top_srcdir)/server/identity $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS)
FUZZ_LIBS = $(JANSSON_LIBS) $(OPENSSL_LIBS) -pthread -lm
FUZZ_LIB_C = server/error.c server/log.c server/util.c server/validate.c \
	server/conf.c server/identity/principal.c server/identity/spiffe.c \
	server/identity/jose.c server/identity/bundle.c \
	server/identity/trust.c server/identity/x509svid.c \
	server/identity/tokcache.c server/identity/jwtsvid.c
FUZZ_TARGET_C = tests/fuzz/fuzz_jwtsvid.c tests/fuzz/fuzz_bundle.c \
	tests/fuzz/fuzz_x509svid.c tests/fuzz/fuzz_spiffe.c \
	tests/fuzz/fuzz_conf.c tests/fuzz/fuzz_body.c tests/fuzz/fuzz_query.c \
	tests/fuzz/fuzz_watch.c
FUZZ_TARGETS = tests/fuzz/fuzz-jwtsvid tests/fuzz/fuzz-bundle \
	tests/fuzz/fuzz-x509svid tests/fuzz/fuzz-spiffe tests/fuzz/fuzz-conf \
	tests/fuzz/fuzz-body tests/fuzz/fuzz-query tests/fuzz/fuzz-watch

EXTRA_DIST += tests/fuzz/fuzz_fixture.h tests/fuzz/run-smoke \
	$(FUZZ_TARGET_C) tests/fuzz/corpus

fuzz: $(FUZZ_TARGETS)

# The library sources once, instrumented for coverage, in one archive.
tests/fuzz/libfuzzsrc.a: $(FUZZ_LIB_C) config.h
	@rm -rf tests/fuzz/obj && mkdir -p tests/fuzz/obj
	cd $(srcdir) && for f in $(FUZZ_LIB_C); do \
	    o=$(abs_builddir)/tests/fuzz/obj/`echo $$f | tr / _`.o; \
	    $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $$f \
	    -o $$o || exit 1; done
	rm -f $@ && $(AR) cr $@ tests/fuzz/obj/*.o && $(RANLIB) $@

$(FUZZ_TARGETS): tests/fuzz/libfuzzsrc.a tests/fuzz/fuzz_fixture.h \
    $(FUZZ_TARGET_C)
	n=`echo $@ | sed 's,.*/fuzz-,,'`; \
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    $(srcdir)/tests/fuzz/fuzz_$$n.c tests/fuzz/libfuzzsrc.a $(FUZZ_LIBS)

CLEANFILES += $(FUZZ_TARGETS) tests/fuzz/libfuzzsrc.a
clean-local: clean-local-fuzz
clean-local-fuzz:
	rm -rf tests/fuzz/obj tests/fuzz/run
.PHONY: clean-local-fuzz
