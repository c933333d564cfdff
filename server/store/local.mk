# server/store/: store.h, the one storage interface, and its backends.
noinst_LIBRARIES += server/store/libnsregstore.a
server_store_libnsregstore_a_SOURCES = \
	server/store/store.c server/store/store.h \
	server/store/store_svcidx.c server/store/store_svcidx.h \
	server/store/store_textcache.c server/store/store_textcache.h \
	server/store/store_lease.c server/store/store_lease.h \
	server/store/store_backend.h server/store/store_migration.h \
	server/store/store_sqlite.c server/store/store_sqlite_int.h \
	server/store/store_sqlite_writer.c server/store/store_sqlite_objects.c \
	server/store/store_sqlite_grants.c server/store/store_sqlite_reads.c \
	server/store/store_backup.c server/store/store_import.c \
	server/store/store_pg.c server/store/store_pg_int.h \
	server/store/store_pg_reads.c server/store/store_pg_grants.c \
	server/store/store_pg_follow.c server/store/store_pg_cache.c
nodist_server_store_libnsregstore_a_SOURCES = server/store/schema_sqlite.c \
	server/store/schema_postgres.c
server_store_libnsregstore_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) \
	$(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)

# Migrations are compiled in: the daemon needs no data files.
STORE_SQLITE_SCHEMA = \
	$(top_srcdir)/schema/sqlite/0001_initial.sql \
	$(top_srcdir)/schema/sqlite/0002_grants.sql \
	$(top_srcdir)/schema/sqlite/0003_ipam_free.sql \
	$(top_srcdir)/schema/sqlite/0004_housekeeping.sql
STORE_POSTGRES_SCHEMA = \
	$(top_srcdir)/schema/postgres/0001_initial.sql \
	$(top_srcdir)/schema/postgres/0002_grants.sql \
	$(top_srcdir)/schema/postgres/0003_ipam_free.sql \
	$(top_srcdir)/schema/postgres/0004_housekeeping.sql
EXTRA_DIST += $(STORE_SQLITE_SCHEMA) $(STORE_POSTGRES_SCHEMA) \
	schema/postgres/README build-aux/embed-sql.sh
BUILT_SOURCES += server/store/schema_sqlite.c server/store/schema_postgres.c
CLEANFILES += server/store/schema_sqlite.c server/store/schema_postgres.c
server/store/schema_sqlite.c: $(STORE_SQLITE_SCHEMA) \
    $(top_srcdir)/build-aux/embed-sql.sh
	$(AM_V_GEN)$(MKDIR_P) server/store && \
	$(SHELL) $(top_srcdir)/build-aux/embed-sql.sh schema_sqlite \
	    $(STORE_SQLITE_SCHEMA) > $@.tmp && mv $@.tmp $@
server/store/schema_postgres.c: $(STORE_POSTGRES_SCHEMA) \
    $(top_srcdir)/build-aux/embed-sql.sh
	$(AM_V_GEN)$(MKDIR_P) server/store && \
	$(SHELL) $(top_srcdir)/build-aux/embed-sql.sh schema_postgres \
	    $(STORE_POSTGRES_SCHEMA) > $@.tmp && mv $@.tmp $@
