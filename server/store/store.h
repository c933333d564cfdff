/*
 * store.h - the one storage interface every handler uses (DESIGN
 * section 6).  Verbs: create, fetch, list, update, delete, prune, count,
 * watch (events).  Backends are const tables of function pointers
 * (struct store_backend in store_backend.h); store.c picks one by the URL
 * of the "database" directive: "sqlite:PATH" or "postgresql://...".
 *
 * Objects are JSON documents with metadata columns.  Every write is one
 * transaction that takes the next value of a global, strictly increasing
 * revision counter, stores the object with that revision, appends one
 * event per change to the event history and, once committed, hands the
 * events to the listener in revision order.
 *
 * All functions are safe to call from any thread at the same time.
 * Times are milliseconds since the epoch.  Errors fill a caller's
 * struct nsreg_error; codes are NSREG_NOT_FOUND, NSREG_ALREADY_EXISTS,
 * NSREG_FAILED_PRECONDITION (revision moved), NSREG_GONE (history too old),
 * NSREG_UNAVAILABLE (database busy or unreachable), NSREG_INTERNAL.
 */
#ifndef NSREG_STORE_H
#define NSREG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

struct store;

enum store_kind {
	STORE_SERVICE = 0,	/* /v1/services */
	STORE_ENDPOINT,		/* /v1/endpoints (expires, owner) */
	STORE_POLICY,		/* /v1/policies */
	STORE_TRUST_DOMAIN,	/* /v1/trust-domains */
	STORE_GRANT,		/* /v1/grants (expires, owner) */
	STORE_KIND_MAX
};

enum store_event_type {
	STORE_ADDED = 0,
	STORE_MODIFIED,
	STORE_DELETED,
	STORE_BOOKMARK		/* never stored; used by watch streams */
};

/*
 * A stored object.  doc holds the resource's own fields; the metadata
 * below is kept in columns and never inside doc.  The rendered form
 * (what clients see) is doc plus "name", "revision", "created_at",
 * "updated_at" and, for kinds that have them, the expiry field
 * ("expiration_time" for endpoints, "expires_at" for grants) and
 * "owner" - see store_object_render().
 */
struct store_object {
	enum store_kind	 kind;
	char		*name;		/* owned */
	json_t		*doc;		/* owned reference */
	int64_t		 revision;	/* set by the store */
	int64_t		 created_at;	/* set by the store on create */
	int64_t		 updated_at;	/* set by the store on every write */
	int64_t		 expires_at;	/* 0 = never */
	char		*owner;		/* owned, NULL when none */
	char		*text;		/* owned: the rendered object as stored,
					   set by writes and fetch, or NULL */
	size_t		 text_len;
};

struct store_event {
	int64_t			 revision;
	enum store_kind		 kind;
	enum store_event_type	 type;
	const char		*name;
	const char		*reason;	/* NULL or STORE_REASON_* */
	json_t			*object;	/* rendered object, borrowed */
};

/*
 * Called after each commit, once per event, in revision order, from the
 * writing thread while the store still serialises writers: keep it short
 * (copy or incref what you keep).
 */
typedef void	(*store_listener_fn)(const struct store_event *ev, void *arg);

/*
 * List filters.  Rows are visited in name order starting after
 * after_name; expired rows are skipped.  services (when nservices > 0)
 * keeps endpoints that offer every one of them (uses an index); match
 * (when not NULL) is called with the rendered object and keeps it when it
 * returns 1.  At most limit objects are returned; *more is set when
 * further matching rows may follow.
 */
struct store_query {
	enum store_kind	  kind;
	const char	 *after_name;	/* NULL: from the start */
	size_t		  limit;	/* 0: no limit */
	const char	**services;	/* endpoints only */
	size_t		  nservices;
	int		(*match)(const json_t *object, void *arg);
	void		 *match_arg;
};

struct store_options {
	const char	*url;		/* "sqlite:PATH" or "postgresql://..." */
	size_t		 history;	/* events kept for watch resume
					   (0: 10000) */
	int		 threads;	/* the server's threads: a pooled
					   backend sizes its pool by them
					   (0: as for 4) */
};

/* Open (creating and migrating as needed).  NULL on error. */
struct store	*store_open(const struct store_options *opt,
		    struct nsreg_error *err);
void		 store_close(struct store *s);

/* What store_import copied. */
struct store_import_info {
	int64_t		 revision;	/* the revision counter copied */
	int64_t		 objects[STORE_KIND_MAX];	/* by kind */
	int64_t		 events;	/* the watch history */
	int64_t		 decisions;	/* decision log entries */
	int64_t		 leases;	/* vL3 address leases */
	int64_t		 keys;		/* grant signing keys */
};

/*
 * Copy the whole registry at url from into the database at url to, of
 * either backend (store_import.c): objects with their revisions and
 * times, the event history, the decision log, grants with their vL3
 * pools and leases, grant keys and the revision counter, from one
 * snapshot of from (which another nsregd may be serving) in one
 * transaction of to.  Both schemas are first brought to this code's (a
 * newer one is refused); to must hold nothing yet (FAILED_PRECONDITION).
 * 0 with *info filled, or -1 with err set and to unchanged.
 */
int		 store_import(const char *from, const char *to,
		    struct store_import_info *info, struct nsreg_error *err);

/* What a backup holds. */
struct store_backup_info {
	int64_t		 revision;	/* the last revision in the copy */
	int		 schema;	/* its schema version */
};

/*
 * Copy the database at url, which another process may be serving, to the
 * file dest as one consistent snapshot (store_backup.c): dest appears,
 * replaced whole, only once the copy is complete, checked and synced, mode
 * 0600.  A database whose schema is newer than this code's is refused.
 * 0 with *info filled, or -1 with err set (INVALID_ARGUMENT for a backend
 * without backups: PostgreSQL has pg_dump).
 */
int		 store_backup(const char *url, const char *dest,
		    struct store_backup_info *info, struct nsreg_error *err);

void		 store_set_listener(struct store *s, store_listener_fn fn,
		    void *arg);

/*
 * Called when the listener could not be given every event: the events
 * after from up to before to were trimmed from the history before this
 * process read them (a cluster instance cut off from the database for
 * longer than watch-history lasts).  What was built from the events may
 * miss them: load it again.  Called from the store's thread before the
 * event at to reaches the listener: keep it short.  Backends whose
 * listener cannot miss events never call it.
 */
typedef void	(*store_gap_fn)(int64_t from, int64_t to, void *arg);
void		 store_set_gap_handler(struct store *s, store_gap_fn fn,
		    void *arg);

/* 1 when the database answers, 0 when not (for /readyz). */
int		 store_ping(struct store *s);

/* The revision of the last committed write (0 for an empty store). */
int64_t		 store_revision(struct store *s);

/*
 * Where the ?service= lists of endpoints were answered since the store
 * opened: from memory alone, or reading the database (the metric
 * nsreg_store_service_lists_total{source}).
 */
struct store_stats {
	uint64_t	lists_memory;
	uint64_t	lists_database;
};
void		 store_stats(struct store *s, struct store_stats *out);

/*
 * Lists a store answers from memory must first hold every write
 * committed anywhere before the list began (DESIGN section 6: a cluster
 * instance asks the database what it committed).  store_when_fresh lets
 * a caller wait for that without holding a thread: 0 when fn(arg,
 * fresh) will be called, on a thread of the store's, once it is done
 * (fresh 1: lists made during the call answer from memory without
 * asking again; 0: the check failed, lists read the database); 1 when
 * there is nothing to wait for (read now; fn is not called).  fn must
 * not block on the database: it holds up every list waiting after it.
 */
int		 store_when_fresh(struct store *s, void (*fn)(void *, int),
		    void *arg);
/* 0 when store_when_fresh never waits (a single process's store). */
int		 store_may_wait(struct store *s);

/*
 * Create obj; NSREG_ALREADY_EXISTS when a live object of that kind and
 * name exists (an expired one is replaced after a DELETED "expired"
 * event).  Sets obj->revision, created_at, updated_at.  Event ADDED.
 * A grant written here (or with store_update or store_put) is its object
 * alone: no address, key or cascade; the grant API uses store_grant_*.
 */
int		 store_create(struct store *s, struct store_object *obj,
		    int64_t now, struct nsreg_error *err);

/*
 * Replace the live object obj->name when its revision is expect_rev
 * (0: any; NSREG_FAILED_PRECONDITION otherwise, NSREG_NOT_FOUND when
 * absent or expired).  created_at is kept; sets obj->revision,
 * created_at, updated_at.  The owner is recorded once: when obj->owner
 * is NULL the stored owner is kept and obj->owner set to a copy of it.
 * Event MODIFIED.
 */
int		 store_update(struct store *s, struct store_object *obj,
		    int64_t expect_rev, int64_t now, struct nsreg_error *err);

/*
 * Runs inside the write transaction of store_put with the current live
 * object (NULL when there is none): refuse with -1 and err, or adjust obj
 * (carry fields over from cur) and return 0.  It must be quick and must
 * not call the store.
 */
typedef int	(*store_check_fn)(const struct store_object *cur,
		    struct store_object *obj, void *arg,
		    struct nsreg_error *err);

/*
 * Create or replace obj in one transaction: if_match 0 takes whatever is
 * there, a revision requires the live object to be at it and -1 requires
 * one to exist (NSREG_FAILED_PRECONDITION otherwise).  check (may be
 * NULL) sees the current object first.  *created is 1 when the object was
 * created (event ADDED), 0 when replaced (MODIFIED; created_at kept, and
 * the owner too when obj->owner is NULL).  Sets obj's metadata and text.
 */
int		 store_put(struct store *s, struct store_object *obj,
		    int64_t if_match, store_check_fn check, void *arg,
		    int64_t now, int *created, struct nsreg_error *err);

/*
 * Called once when an asynchronous put is done (rc 0 or -1 with err),
 * from the store's writer thread: keep it short, never call the store.
 * obj is the caller's object with its metadata and text set on success.
 */
typedef void	(*store_done_fn)(int rc, struct store_object *obj,
		    int created, const struct nsreg_error *err, void *arg);

/*
 * store_put without waiting: the write joins the next group commit and
 * done(arg) reports it once committed (or failed).  obj, check's and
 * done's arguments must stay valid until then.  Returns 0 when queued
 * (done will be called exactly once), -1 with err when not (done is not
 * called).  Many puts in flight commit together: the way to write fast.
 */
int		 store_put_async(struct store *s, struct store_object *obj,
		    int64_t if_match, store_check_fn check, void *arg,
		    int64_t now, store_done_fn done, void *done_arg,
		    struct nsreg_error *err);

/*
 * Fetch the live object kind/name into out (which the caller later
 * releases with store_object_clear).  NSREG_NOT_FOUND when absent or
 * expired at now.
 */
int		 store_fetch(struct store *s, enum store_kind kind,
		    const char *name, int64_t now, struct store_object *out,
		    struct nsreg_error *err);

/*
 * Delete kind/name when its revision is expect_rev (0: any).  The deleted
 * object goes to old (may be NULL).  Event DELETED.  A grant deleted here
 * is revoked as by store_grant_delete with STORE_REASON_REVOKED.
 */
int		 store_delete(struct store *s, enum store_kind kind,
		    const char *name, int64_t expect_rev, int64_t now,
		    struct store_object *old, struct nsreg_error *err);

/*
 * List: *items becomes a new JSON array of rendered objects, *revision the
 * store revision the listing reflects (one consistent snapshot).
 * *more is 1 when a next page may exist.
 */
int		 store_list(struct store *s, const struct store_query *q,
		    int64_t now, json_t **items, int64_t *revision, int *more,
		    struct nsreg_error *err);

/*
 * store_list answering with text: *body becomes a new string holding the
 * JSON array of the rendered objects ("[{...},{...}]", free it), *len its
 * length and *last a new copy of the last object's name (NULL when the
 * array is empty) for the next page token.  Stored objects are copied as
 * they are, never parsed unless q->match needs them: the cheap way to
 * answer a list.
 */
int		 store_list_text(struct store *s, const struct store_query *q,
		    int64_t now, char **body, size_t *len, char **last,
		    int64_t *revision, int *more, struct nsreg_error *err);

/* Number of live objects of kind at now, or -1. */
int64_t		 store_count(struct store *s, enum store_kind kind,
		    int64_t now);

/*
 * Delete every object whose expires_at <= now (events DELETED with reason
 * "expired"; grants released and cascades as for deletes), drop retired
 * grant keys no longer needed, and trim the event history to the
 * configured size.  Returns the number of objects deleted or -1.
 */
int64_t		 store_prune(struct store *s, int64_t now,
		    struct nsreg_error *err);

/*
 * Watch history: call fn for each stored event of kind with revision >
 * after, in order, at most limit of them (0: all).  NSREG_GONE when
 * events after `after` were already trimmed.  Returns the number of
 * events delivered or -1.
 */
int64_t		 store_watch(struct store *s, enum store_kind kind,
		    int64_t after, size_t limit, store_listener_fn fn,
		    void *arg, struct nsreg_error *err);

/*
 * Grants (DESIGN section 4, "Grants" and "IPAM").  A grant is a
 * STORE_GRANT object - name: its id, owner: its principal, expires_at:
 * its exp - written by the verbs below: the store keeps beside it,
 * in the same transaction, the service, endpoint and signing key it was
 * issued for and the vL3 address block it holds, and keeps them true:
 *
 *   - a grant's object goes away (revoked, expired and swept, or by a
 *     cascade) together with its row, and its address lease loses a
 *     holder; the last holder to go returns the block to the pool;
 *   - an endpoint that is deleted or expires revokes its grants, and one
 *     that stops offering a service revokes its grants for that service
 *     (events DELETED with reason STORE_REASON_ENDPOINT_GONE);
 *   - a deleted service revokes its grants and drops its pool
 *     (STORE_REASON_SERVICE_GONE);
 *   - a service write that changes vl3 (prefix or client_prefix_len, or
 *     removes it) while live grants hold addresses of its pool is
 *     refused with NSREG_CONFLICT; without live holders the old pool is
 *     dropped and the next grant starts the new one.
 * Cascaded events follow the event of the write that caused them, in
 * the same commit.
 *
 * Addresses: a principal holds at most one block of a service's pool,
 * shared by all its grants there (a second grant gets the same address);
 * a block is never leased to two principals (the database's keys enforce
 * both).  A new lease takes the lowest free usable block.
 */

/* The reason of a grant's DELETED event (static strings). */
#define STORE_REASON_EXPIRED		"expired"	/* swept at exp */
#define STORE_REASON_REVOKED		"revoked"	/* DELETE */
#define STORE_REASON_DENIED		"denied"	/* refresh denied */
#define STORE_REASON_ENDPOINT_GONE	"endpoint_gone"
#define STORE_REASON_SERVICE_GONE	"service_gone"

/*
 * The static string equal to reason (one of STORE_REASON_*), or NULL when
 * reason is NULL or unknown.
 */
const char	*store_reason(const char *reason);

struct store_grant {
	const char	*service;	/* the service's name */
	int64_t		 service_rev;	/* its revision as the caller read it */
	const char	*endpoint;	/* the chosen endpoint's name */
	int64_t		 endpoint_rev;	/* its revision as read */
	const char	*kid;		/* the key that signs the token */

	/* The service's vL3 pool (ipam.h); pool NULL when it has none. */
	const char	*pool;		/* canonical prefix "10.60.0.0/16" */
	int		 client_len;
	int64_t		 first;		/* usable blocks first..last */
	int64_t		 last;
	/*
	 * Called inside the transaction with the block leased to the grant
	 * (before its object is written) to put the address into obj->doc.
	 * 0, or -1 with err (the grant is not written).
	 */
	int		(*assign)(struct store_object *obj, int64_t block,
			    void *arg, struct nsreg_error *err);
	void		*assign_arg;

	int64_t		 block;		/* out: the block, -1 without pool */
};

/*
 * Write a new grant: obj (kind STORE_GRANT, name the id, owner the
 * principal, expires_at set) and, with a pool, lease its principal's
 * block of the service (the one it holds, else the lowest free one) and
 * call g->assign.  Sets obj->revision and times, g->block.  Errors:
 * NSREG_NOT_FOUND (the service or endpoint is gone),
 * NSREG_FAILED_PRECONDITION (the service or endpoint is no longer at the
 * revision read, or g->kid is not the current signing key: read again
 * and retry), NSREG_RESOURCE_EXHAUSTED (no free block),
 * NSREG_ALREADY_EXISTS (the id is taken).  Event ADDED.
 */
int		 store_grant_create(struct store *s, struct store_object *obj,
		    struct store_grant *g, int64_t now,
		    struct nsreg_error *err);

/*
 * Refresh the live grant obj->name at revision expect_rev (0: any): its
 * object becomes obj (the same service, endpoint, principal and address;
 * a new expiry and kid), its lease lasts at least until the new expiry.
 * NSREG_NOT_FOUND when it is gone, NSREG_FAILED_PRECONDITION when it
 * moved or kid is not current.  Event MODIFIED.
 */
int		 store_grant_update(struct store *s, struct store_object *obj,
		    const char *kid, int64_t expect_rev, int64_t now,
		    struct nsreg_error *err);

/*
 * Revoke the live grant id (at revision expect_rev, 0: any) with reason
 * (STORE_REASON_REVOKED or _DENIED), releasing its address.  The object
 * goes to old when not NULL.  Event DELETED with the reason.
 */
int		 store_grant_delete(struct store *s, const char *id,
		    int64_t expect_rev, const char *reason, int64_t now,
		    struct store_object *old, struct nsreg_error *err);

/*
 * Call fn(endpoint, n, arg) for each endpoint holding n > 0 live grants
 * at now.  0 or -1.
 */
int		 store_grant_loads(struct store *s, int64_t now,
		    void (*fn)(const char *endpoint, int64_t n, void *arg),
		    void *arg, struct nsreg_error *err);

/*
 * The vL3 pool of service as the store has it: *pool gets the prefix
 * into buf (len bytes; "" when the service has no pool), *client_len its
 * block length, *live the blocks leased to live grants at now.  0 or -1.
 */
int		 store_ipam_usage(struct store *s, const char *service,
		    int64_t now, char *pool, size_t len, int *client_len,
		    int64_t *live, struct nsreg_error *err);

/*
 * Make kid (with its public JWK text jwk) the signing key, or with kid
 * NULL have none.  Every other current key is retired: it stays
 * published until the last expiry of the live grants it signed (now when
 * none).  A retired kid coming back becomes current again.  0 or -1.
 */
int		 store_grant_key_use(struct store *s, const char *kid,
		    const char *jwk, int64_t now, struct nsreg_error *err);

/*
 * The keys to publish at now: the current one and the retired ones still
 * needed, as a new array of {"kid","jwk":{...},"created_at","retired_at",
 * "expires_at"} (times in ms, null when unset), current first.  0 or -1.
 */
int		 store_grant_keys(struct store *s, int64_t now, json_t **keys,
		    struct nsreg_error *err);

/*
 * Decision log (DESIGN section 4, "Decisions").  An entry is a JSON object
 * {"time","principal","action","service","endpoint","grant","decision":{...}}
 * where decision.decision is "allow" or "deny"; the store keeps it as is
 * with indexed columns for the filters.  Entries get increasing ids.
 */
struct store_decision_query {
	const char	*principal;	/* NULL: any */
	const char	*action;	/* NULL: any */
	const char	*decision;	/* "allow", "deny" or NULL */
	int64_t		 before_id;	/* 0: newest first from the top */
	size_t		 limit;		/* 0: 100 */
	/* Entries with time >= since (has_since) and time < until
	 * (has_until), ms since the epoch. */
	int64_t		 since;
	int64_t		 until;
	int		 has_since;
	int		 has_until;
};

struct store_decision {
	int64_t		 time;		/* ms since the epoch */
	const json_t	*entry;		/* borrowed; NULL when text is set */
	/*
	 * Or the entry as compact JSON text with its indexed fields, all
	 * borrowed: a writer that formats entries itself need not build
	 * a json_t only for the store to print it again.
	 */
	const char	*text;
	size_t		 len;
	const char	*principal;	/* NULL: none */
	const char	*action;
	const char	*decision;	/* "allow" or "deny" */
};

/*
 * Append n entries in one transaction (the server batches the log off the
 * request path).  Returns 0 or -1.
 */
int		 store_decision_append(struct store *s,
		    const struct store_decision *v, size_t n,
		    struct nsreg_error *err);

/*
 * Newest first.  *items becomes a new JSON array of entries each with
 * "id" added; *next_id the id to pass as before_id for the next page
 * (0 when none).
 */
int		 store_decision_list(struct store *s,
		    const struct store_decision_query *q, json_t **items,
		    int64_t *next_id, struct nsreg_error *err);

/* Delete entries older than before.  Returns how many, or -1. */
int64_t		 store_decision_prune(struct store *s, int64_t before,
		    struct nsreg_error *err);

/*
 * Housekeeping elected through the database (DESIGN section 6): take or
 * renew, for holder (a string unique to this process), the lease of task
 * (a short name: "sweep", "decisions", "federation") for ttl_ms more by
 * the database's clock.  Returns 1 when holder holds it now, 0 when
 * another holder's lease is still running, -1 with err set when the
 * database cannot tell (then act as if not held).  A backend serving one
 * process (SQLite) always answers 1.
 */
int		 store_task_claim(struct store *s, const char *task,
		    const char *holder, int64_t ttl_ms,
		    struct nsreg_error *err);
/* Give task up if holder holds it (a clean stop): another takes it now. */
void		 store_task_release(struct store *s, const char *task,
		    const char *holder);

/*
 * The rendered object (new reference): "name", the document's own fields,
 * "revision", then "created_at", "updated_at" and the expiry field as
 * RFC 3339 strings, then "owner"; metadata keys found in doc are ignored.
 * NULL when out of memory.
 */
json_t		*store_object_render(const struct store_object *obj);

/* Release what obj owns and zero it. */
void		 store_object_clear(struct store_object *obj);

/* "service", "endpoint", ... */
const char	*store_kind_name(enum store_kind kind);
const char	*store_event_type_name(enum store_event_type type);

#endif
