# server/: nsregd and the libraries it is made of.

# Core helpers shared by the daemon, the identity library, tools and tests.
noinst_LIBRARIES += server/libnsregcore.a
server_libnsregcore_a_SOURCES = \
	server/error.c server/error.h \
	server/hashmap.c server/hashmap.h \
	server/log.c server/log.h \
	server/util.c server/util.h
server_libnsregcore_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)

# Everything of the daemon but main(), so tests can link it.
noinst_LIBRARIES += server/libnsregd.a
server_libnsregd_a_SOURCES = \
	server/admission.c server/admission.h server/admission_int.h \
	server/admission_filter.c \
	server/api.c server/api.h \
	server/api_decisions.c \
	server/api_endpoints.c \
	server/api_policies.c \
	server/api_services.c \
	server/api_ui.c server/ui_files.h \
	server/api_system.c \
	server/api_trust_domains.c \
	server/auth.c server/auth.h \
	server/conf.c server/conf.h \
	server/decision_log.c server/decision_log.h \
	server/dev.c server/dev.h \
	server/h2.c server/h2.h \
	server/http.c server/http.h server/http_int.h \
	server/http_tls_io.c server/http_tls_io.h \
	server/http_req.c \
	server/metrics.c server/metrics.h server/metrics_http.h \
	server/notify.c server/notify.h \
	server/origin.c server/origin.h \
	server/route.c server/route.h \
	server/server.c server/server.h \
	server/validate.c server/validate.h \
	server/watch.c server/watch.h \
	server/api_grants.c \
	server/grant.c server/grant.h \
	server/grants.c server/grants.h \
	server/ipam.c server/ipam.h \
	server/select.c server/select.h \
	server/federation.c server/federation.h \
	server/federation_curl.c server/federation_curl.h \
	server/peer.c server/peer.h \
	server/peer_watch.c server/peer_watch.h \
	server/api_interdomain.c server/api_interdomain.h \
	server/api_interdomain_grant.c \
	server/h2_guard.c server/h2_guard.h
server_libnsregd_a_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(GNUTLS_CFLAGS) \
	$(NGHTTP2_CFLAGS) \
	$(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
# The NSM registry protocol over gRPC (proto/ generates its messages).
server_libnsregd_a_SOURCES += server/grpc.c server/grpc.h \
	server/grpc_registry.c
server_libnsregd_a_CFLAGS += $(PROTOBUF_C_CFLAGS)

# The development CA and SVID minting (--dev, nsreg-svid, tests): apart
# from verification (server/identity/).
noinst_LIBRARIES += server/libnsregsvid.a
server_libnsregsvid_a_SOURCES = server/svid.c server/svid.h
server_libnsregsvid_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS)

IDENTITY_LIBS = server/libnsregsvid.a server/identity/libidentity.a \
	server/libnsregcore.a $(JANSSON_LIBS) $(OPENSSL_LIBS) $(LIBS)

NSREGD_LIBS = server/libnsregd.a server/store/libnsregstore.a \
	server/libnsregsvid.a server/identity/libidentity.a \
	policy/libnsregpolicytz.a policy/libnsregpolicy.a -lm \
	server/libnsregcore.a $(MHD_LIBS) $(GNUTLS_LIBS) $(NGHTTP2_LIBS) \
	$(SQLITE_LIBS) \
	$(LIBPQ_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(CURL_LIBS) $(LIBS)
NSREGD_LIBS += proto/libnsregproto.a $(PROTOBUF_C_LIBS)

sbin_PROGRAMS += server/nsregd
server_nsregd_SOURCES = server/nsregd.c
server_nsregd_CFLAGS = $(server_libnsregd_a_CFLAGS)
server_nsregd_LDADD = $(NSREGD_LIBS)

# nsreg-svid: mint SVIDs and bundles from a development CA.
bin_PROGRAMS += server/nsreg-svid
server_nsreg_svid_SOURCES = server/svid_tool.c
server_nsreg_svid_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
server_nsreg_svid_LDADD = $(IDENTITY_LIBS)
dist_man_MANS += man/nsreg-svid.1

# The console (DESIGN section 4 "Console"): ui/ compiled in as a table,
# served by api_ui.c.
UI_FILES = $(top_srcdir)/ui/index.html $(top_srcdir)/ui/app.js \
	$(top_srcdir)/ui/app.css
EXTRA_DIST += $(UI_FILES) build-aux/embed-files.sh
nodist_server_libnsregd_a_SOURCES = server/ui_files.c
BUILT_SOURCES += server/ui_files.c
CLEANFILES += server/ui_files.c
server/ui_files.c: $(UI_FILES) $(top_srcdir)/build-aux/embed-files.sh
	$(AM_V_GEN)$(MKDIR_P) server && \
	$(SHELL) $(top_srcdir)/build-aux/embed-files.sh ui_files \
	    $(UI_FILES) > $@.tmp && mv $@.tmp $@
