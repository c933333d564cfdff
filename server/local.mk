# server/: nsregd and the libraries it is made of.

# Core helpers shared by the daemon, the identity library, tools and tests.
noinst_LIBRARIES += server/libnsregcore.a
server_libnsregcore_a_SOURCES = \
	server/error.c server/error.h \
	server/log.c server/log.h \
	server/util.c server/util.h
server_libnsregcore_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)

# Everything of the daemon but main(), so tests can link it.
noinst_LIBRARIES += server/libnsregd.a
server_libnsregd_a_SOURCES = \
	server/admission.c server/admission.h \
	server/api.c server/api.h \
	server/api_decisions.c \
	server/api_endpoints.c \
	server/api_policies.c \
	server/api_services.c \
	server/api_system.c \
	server/api_trust_domains.c \
	server/auth.c server/auth.h \
	server/conf.c server/conf.h \
	server/decision_log.c server/decision_log.h \
	server/dev.c server/dev.h \
	server/http.c server/http.h \
	server/metrics.c server/metrics.h \
	server/route.c server/route.h \
	server/server.c server/server.h \
	server/validate.c server/validate.h \
	server/watch.c server/watch.h
server_libnsregd_a_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(GNUTLS_CFLAGS) \
	$(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(JWT_CFLAGS)

NSREGD_LIBS = server/libnsregd.a server/libnsregstore.a server/libidentity.a \
	policy/libnsregpolicytz.a policy/libnsregpolicy.a -lm \
	server/libnsregcore.a $(MHD_LIBS) $(GNUTLS_LIBS) $(SQLITE_LIBS) \
	$(JANSSON_LIBS) $(JWT_LIBS) $(OPENSSL_LIBS) $(CURL_LIBS) $(LIBS)

sbin_PROGRAMS += server/nsregd
server_nsregd_SOURCES = server/nsregd.c
server_nsregd_CFLAGS = $(server_libnsregd_a_CFLAGS)
server_nsregd_LDADD = $(NSREGD_LIBS)

EXTRA_DIST += build-aux/embed-sql.sh
