# server/ identity: SPIFFE IDs, X.509-SVIDs, JWT-SVIDs, trust bundles.
noinst_LIBRARIES += server/libidentity.a
server_libidentity_a_SOURCES =
server_libidentity_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS) $(JWT_CFLAGS)
