# server/ federation: SPIFFE bundle endpoints (the only libcurl user) and
# interdomain registry queries (DESIGN section 4).
server_libnsregd_a_SOURCES += \
	server/federation.c server/federation.h \
	server/interdomain.c server/interdomain.h
server_libnsregd_a_CFLAGS += $(CURL_CFLAGS)
