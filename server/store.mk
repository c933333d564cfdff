# server/ storage: store.h and its backends.
noinst_LIBRARIES += server/libnsregstore.a
server_libnsregstore_a_SOURCES =
server_libnsregstore_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS)
