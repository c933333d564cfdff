# server/identity/: SPIFFE verification as a library (DESIGN section 1):
# IDs, JOSE (jose.c), bundles, the trust set, X.509-SVIDs and JWT-SVIDs,
# and the verified-credential cache both kinds of SVID share.  The only code
# that uses OpenSSL's X509 and JWS machinery (STYLE.md 1); identity_int.h
# is its private header.  Minting (the development CA) is server/svid.c.
noinst_LIBRARIES += server/identity/libidentity.a
server_identity_libidentity_a_SOURCES = \
	server/identity/identity_int.h \
	server/identity/principal.c server/identity/principal.h \
	server/identity/spiffe.c server/identity/spiffe.h \
	server/identity/jose.c server/identity/jose.h \
	server/identity/bundle.c server/identity/bundle.h \
	server/identity/trust.c server/identity/trust.h \
	server/identity/x509svid.c server/identity/x509svid.h \
	server/identity/tokcache.c server/identity/tokcache.h \
	server/identity/jwtsvid.c server/identity/jwtsvid.h
server_identity_libidentity_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(OPENSSL_CFLAGS)
