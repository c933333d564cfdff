/*
 * store_migration.h - one schema migration of a storage backend.
 *
 * Migrations live in schema/<backend>/NNNN_what.sql and are compiled into
 * the daemon by build-aux/embed-sql.sh as a table ending with an entry
 * whose name is NULL.  Versions are strictly increasing; a released
 * migration is never edited.
 */
#ifndef NSREG_STORE_MIGRATION_H
#define NSREG_STORE_MIGRATION_H

struct store_migration {
	int		 version;	/* NNNN of the file name */
	const char	*name;		/* "0001_initial"; NULL ends the table */
	const char	*sql;		/* the whole file */
};

/* Generated from schema/sqlite/ (server/schema_sqlite.c). */
extern const struct store_migration schema_sqlite[];
/* Generated from schema/postgres/ (server/schema_postgres.c). */
extern const struct store_migration schema_postgres[];

#endif
