/*
 * store_backend.h - what a storage backend provides to store.c.
 *
 * A backend is a const struct store_backend of function pointers (smtpd's
 * table_backend, SPIRE's datastore plugins).  store.c picks one by the
 * scheme of the "database" URL, checks the arguments every backend would
 * check (kinds, names, documents) and then calls it: a backend may assume
 * that what it receives passed store_object_check().  Each function has
 * the contract of its store_* counterpart in store.h and gets the opaque
 * handle its open() returned.
 *
 * Only store.c, the backends and the storage tests include this header.
 */
#ifndef NSREG_STORE_BACKEND_H
#define NSREG_STORE_BACKEND_H

#include "store.h"
#include "store_migration.h"

/*
 * Where a backend's list puts the objects it keeps: a JSON array
 * (store_list) or the JSON array text (store_list_text).
 */
struct store_list_sink {
	int		 text;		/* 1: buf, 0: items */
	json_t		*items;
	char		*buf;		/* "[a,b" so far */
	size_t		 len, cap;
	char		*last;		/* text: name of the last kept */
	size_t		 lastcap;
	size_t		 n;		/* objects kept */
};

/*
 * Keep one stored object given by its name and rendered text; object is
 * the text already parsed by the backend (stolen) or NULL.  0, or -1 when
 * out of memory or the text is not JSON.
 */
int		 store_list_sink_add(struct store_list_sink *k,
		    const char *name, const char *text, size_t len,
		    json_t *object, struct nsreg_error *err);
/* Forget what k kept (a backend starting over). */
void		 store_list_sink_reset(struct store_list_sink *k);
/*
 * Keep, in a text sink that holds nothing yet, n objects given as the
 * text such a sink held after them (len bytes after its "["), last the
 * name of the last.  0 or -1 (out of memory).
 */
int		 store_list_sink_put(struct store_list_sink *k,
		    const char *text, size_t len, size_t n, const char *last);

struct store_backend {
	const char	*name;		/* "sqlite" */
	const char	*scheme;	/* URL prefix: "sqlite:" */
	const char	*alias;		/* another prefix, or NULL */
	const struct store_migration *migrations;	/* built in */

	/*
	 * Open the database at url (the whole URL, scheme included) and
	 * bring its schema to the last of migrations, refusing a database
	 * that already has a newer version than that.  NULL on error.
	 */
	void		*(*open)(const char *url,
			    const struct store_options *opt,
			    const struct store_migration *migrations,
			    struct nsreg_error *err);
	void		 (*close)(void *b);
	void		 (*set_listener)(void *b, store_listener_fn fn,
			    void *arg);
	/* Optional (NULL: no gaps): store_set_gap_handler. */
	void		 (*set_gap_handler)(void *b, store_gap_fn fn,
			    void *arg);
	int		 (*ping)(void *b);
	int64_t		 (*revision)(void *b);
	int		 (*create)(void *b, struct store_object *obj,
			    int64_t now, struct nsreg_error *err);
	int		 (*update)(void *b, struct store_object *obj,
			    int64_t expect_rev, int64_t now,
			    struct nsreg_error *err);
	int		 (*put)(void *b, struct store_object *obj,
			    int64_t if_match, store_check_fn check, void *arg,
			    int64_t now, int *created,
			    struct nsreg_error *err);
	/* Optional: NULL makes store_put_async a put followed by done. */
	int		 (*put_async)(void *b, struct store_object *obj,
			    int64_t if_match, store_check_fn check, void *arg,
			    int64_t now, store_done_fn done, void *done_arg,
			    struct nsreg_error *err);
	int		 (*fetch)(void *b, enum store_kind kind,
			    const char *name, int64_t now,
			    struct store_object *out, struct nsreg_error *err);
	int		 (*delete)(void *b, enum store_kind kind,
			    const char *name, int64_t expect_rev, int64_t now,
			    struct store_object *old, struct nsreg_error *err);
	int		 (*list)(void *b, const struct store_query *q,
			    int64_t now, struct store_list_sink *sink,
			    int64_t *revision, int *more,
			    struct nsreg_error *err);
	int64_t		 (*count)(void *b, enum store_kind kind, int64_t now);
	int64_t		 (*prune)(void *b, int64_t now,
			    struct nsreg_error *err);
	int64_t		 (*watch)(void *b, enum store_kind kind,
			    int64_t after, size_t limit, store_listener_fn fn,
			    void *arg, struct nsreg_error *err);
	int		 (*decision_append)(void *b,
			    const struct store_decision *v, size_t n,
			    struct nsreg_error *err);
	int		 (*decision_list)(void *b,
			    const struct store_decision_query *q,
			    json_t **items, int64_t *next_id,
			    struct nsreg_error *err);
	int64_t		 (*decision_prune)(void *b, int64_t before,
			    struct nsreg_error *err);

	/*
	 * Grants, their vL3 leases and signing keys: the contracts of
	 * store_grant_* and store_ipam_usage in store.h.  create, update
	 * and delete of other kinds keep the grant rules too (cascades,
	 * the vl3 guard), as store.h describes.
	 */
	int		 (*grant_create)(void *b, struct store_object *obj,
			    struct store_grant *g, int64_t now,
			    struct nsreg_error *err);
	int		 (*grant_update)(void *b, struct store_object *obj,
			    const char *kid, int64_t expect_rev, int64_t now,
			    struct nsreg_error *err);
	int		 (*grant_delete)(void *b, const char *id,
			    int64_t expect_rev, const char *reason,
			    int64_t now, struct store_object *old,
			    struct nsreg_error *err);
	int		 (*grant_loads)(void *b, int64_t now,
			    void (*fn)(const char *, int64_t, void *),
			    void *arg, struct nsreg_error *err);
	int		 (*ipam_usage)(void *b, const char *service,
			    int64_t now, char *pool, size_t len,
			    int *client_len, int64_t *live,
			    struct nsreg_error *err);
	int		 (*grant_key_use)(void *b, const char *kid,
			    const char *jwk, int64_t now,
			    struct nsreg_error *err);
	int		 (*grant_keys)(void *b, int64_t now, json_t **keys,
			    struct nsreg_error *err);
	/* store_stats (out is zeroed). */
	void		 (*stats)(void *b, struct store_stats *out);
	/* Optional (NULL: reads are always fresh): store_when_fresh. */
	int		 (*when_fresh)(void *b, void (*fn)(void *, int),
			    void *arg);

	/*
	 * Optional (NULL: every claim is granted, the backend serves one
	 * process): store_task_claim and store_task_release.
	 */
	int		 (*task_claim)(void *b, const char *task,
			    const char *holder, int64_t ttl_ms,
			    struct nsreg_error *err);
	void		 (*task_release)(void *b, const char *task,
			    const char *holder);

	/*
	 * Optional (NULL: store_backup refuses): the contract of
	 * store_backup in store.h, without an open handle (another process
	 * serves the database); migrations tell which schema is known.
	 */
	int		 (*backup)(const char *url, const char *dest,
			    const struct store_migration *migrations,
			    struct store_backup_info *info,
			    struct nsreg_error *err);
};

extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_postgres;

/* The SQLite backend's backup (store_backup.c). */
int		 store_sqlite_backup(const char *url, const char *dest,
		    const struct store_migration *migrations,
		    struct store_backup_info *info, struct nsreg_error *err);

/* Events kept for watch resume when store_options.history is 0. */
#define STORE_HISTORY_DEFAULT	10000

/*
 * The backend serving url (by scheme), or NULL with err set when none
 * does.
 */
const struct store_backend *store_backend_find(const char *url,
		    struct nsreg_error *err);

/*
 * store_open() with another list of migrations than the backend's own
 * (tests use it to write a database newer than the code).
 */
struct store	*store_open_migrations(const struct store_options *opt,
		    const struct store_migration *migrations,
		    struct nsreg_error *err);

/*
 * Check what a write stores: a known kind, a non-empty UTF-8 name, a JSON
 * object as doc and, for endpoints, network_service_names absent or an
 * array of non-empty strings.  0 or -1 (NSREG_INVALID_ARGUMENT).
 */
int		 store_object_check(const struct store_object *obj,
		    struct nsreg_error *err);

/*
 * The rendered JSON text of obj (compact, keys in render order) in a new
 * malloc'd string, *lenp its length; *rendered (when not NULL) receives
 * the rendered object (new reference).  NULL with err set when doc holds
 * something that cannot be stored (invalid UTF-8 from a _nocheck
 * constructor).
 */
char		*store_object_text(const struct store_object *obj,
		    json_t **rendered, size_t *lenp, struct nsreg_error *err);

/*
 * Turn a rendered object back into its document: remove, in place, the
 * metadata keys render adds for kind.  Returns rendered (the same
 * reference, not a new one).
 */
json_t		*store_object_strip(json_t *rendered, enum store_kind kind);

/*
 * The endpoint's service names (borrowed array of strings) or NULL when
 * the object has none or is not an endpoint.
 */
const json_t	*store_object_services(const struct store_object *obj);

#endif
