# server/ storage: store.h and its backends.
noinst_LIBRARIES += server/libnsregstore.a
server_libnsregstore_a_SOURCES = \
	server/store.c server/store.h \
	server/store_backend.h server/store_migration.h \
	server/store_sqlite.c
nodist_server_libnsregstore_a_SOURCES = server/schema_sqlite.c
server_libnsregstore_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS)

# Migrations are compiled in: the daemon needs no data files.
STORE_SQLITE_SCHEMA = \
	$(top_srcdir)/schema/sqlite/0001_initial.sql \
	$(top_srcdir)/schema/sqlite/0002_grants.sql
EXTRA_DIST += $(STORE_SQLITE_SCHEMA) schema/postgres/README
BUILT_SOURCES += server/schema_sqlite.c
CLEANFILES += server/schema_sqlite.c
server/schema_sqlite.c: $(STORE_SQLITE_SCHEMA) \
    $(top_srcdir)/build-aux/embed-sql.sh
	$(AM_V_GEN)$(MKDIR_P) server && \
	$(SHELL) $(top_srcdir)/build-aux/embed-sql.sh schema_sqlite \
	    $(STORE_SQLITE_SCHEMA) > $@.tmp && mv $@.tmp $@

STORE_TEST_LIBS = server/libnsregstore.a server/libnsregcore.a \
	$(SQLITE_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(LIBS)

# The storage suite: SQLite always, PostgreSQL when NSREG_TEST_PG is set.
check_PROGRAMS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) \
	$(SQLITE_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_store_LDADD = $(CRITERION_LIBS) $(STORE_TEST_LIBS)
TESTS += tests/unit/test_store

# Storage benchmark (tests/bench/store runs it; not part of make check).
noinst_PROGRAMS += tests/bench/store_bench
tests_bench_store_bench_SOURCES = tests/bench/store_bench.c
tests_bench_store_bench_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) \
	$(JANSSON_CFLAGS)
tests_bench_store_bench_LDADD = $(STORE_TEST_LIBS)
EXTRA_DIST += tests/bench/store
