/*
 * store_sqlite_objects.c - the SQLite backend's object writes: create,
 * update, put, delete and the expiry sweep, each with its event, and the
 * changes they make to the service index once committed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

/*
 * Write one event row and keep it for the listener.  object (stolen) is
 * the rendered object of text.
 */
static int
store_sqlite_event_put(struct store_sqlite *s, int64_t rev,
    enum store_kind kind, enum store_event_type type, const char *name,
    const char *reason, const char *text, size_t len, json_t *object,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_sqlite_event	*ev, *nv;
	sqlite3_stmt			*st;
	size_t				 cap;
	int				 ret = -1;

	if ((st = store_sqlite_stmt(c, SQL_EVENT_INSERT, err)) == NULL)
		goto done;
	sqlite3_bind_int64(st, 1, rev);
	sqlite3_bind_int(st, 2, (int)kind);
	sqlite3_bind_int(st, 3, (int)type);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, text, (int)len, SQLITE_STATIC);
	if (store_sqlite_step_done(c, st, "write event", err) == -1)
		goto done;
	if (!s->keep_events) {
		ret = 0;
		goto done;
	}
	if (s->nevents == s->events_cap) {
		cap = s->events_cap != 0 ? s->events_cap * 2 : 64;
		if ((nv = realloc(s->events, cap * sizeof(*nv))) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto done;
		}
		s->events = nv;
		s->events_cap = cap;
	}
	ev = &s->events[s->nevents];
	if ((ev->name = strdup(name)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	ev->revision = rev;
	ev->kind = kind;
	ev->type = type;
	ev->reason = reason;
	ev->object = object;
	object = NULL;
	s->nevents++;
	ret = 0;
done:
	json_decref(object);
	return ret;
}

/* Forget the kept events from index from on. */
void
store_sqlite_events_drop(struct store_sqlite *s, size_t from)
{
	size_t	i;

	for (i = from; i < s->nevents; i++) {
		free(s->events[i].name);
		json_decref(s->events[i].object);
	}
	s->nevents = from;
}

/*
 * Record, for the index once the batch commits, that name stops offering
 * the services in the stored text old (NULL: none), starts offering those
 * of add (NULL: none) and is now stored at row with revision (0: is
 * gone) and expires_at.
 */
static int
store_sqlite_index_change(struct store_sqlite *s, const char *name,
    const char *old, const json_t *add, int64_t row, int64_t revision,
    int64_t expires_at, struct nsreg_error *err)
{
	struct store_sqlite_ichange	*ic, *nv;
	json_t				*del = NULL;
	size_t				 cap;

	if (old != NULL && (del = store_sqlite_parse(old, strlen(old))) ==
	    NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "endpoint %s: unreadable stored services", name);
	if (s->nichanges == s->ichanges_cap) {
		cap = s->ichanges_cap != 0 ? s->ichanges_cap * 2 : 64;
		if ((nv = realloc(s->ichanges, cap * sizeof(*nv))) == NULL)
			goto oom;
		s->ichanges = nv;
		s->ichanges_cap = cap;
	}
	ic = &s->ichanges[s->nichanges];
	if ((ic->name = strdup(name)) == NULL)
		goto oom;
	ic->del = del;
	ic->add = json_incref((json_t *)add);
	ic->row = row;
	ic->revision = revision;
	ic->expires_at = expires_at;
	s->nichanges++;
	return 0;
oom:
	json_decref(del);
	return nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
}

/* Forget the recorded index changes from index from on. */
void
store_sqlite_ichanges_drop(struct store_sqlite *s, size_t from)
{
	size_t	i;

	for (i = from; i < s->nichanges; i++) {
		free(s->ichanges[i].name);
		json_decref(s->ichanges[i].del);
		json_decref(s->ichanges[i].add);
	}
	s->nichanges = from;
}

/* Apply the committed batch's index changes; -1 when out of memory. */
int
store_sqlite_ichanges_apply(struct store_sqlite *s)
{
	struct store_sqlite_ichange	*ic;
	const json_t			*v;
	size_t				 i, j;
	int				 ret = 0;

	for (i = 0; i < s->nichanges; i++) {
		ic = &s->ichanges[i];
		json_array_foreach(ic->del, j, v)
			store_svcidx_remove(s->svcidx, json_string_value(v),
			    ic->name);
		json_array_foreach(ic->add, j, v) {
			if (store_svcidx_add(s->svcidx, json_string_value(v),
			    ic->name) == -1)
				ret = -1;
		}
		if (ic->revision != 0)
			store_svcidx_set(s->svcidx, ic->name, ic->row,
			    ic->revision, ic->expires_at);
	}
	return ret;
}

static int
store_sqlite_object_delete(struct store_sqlite *s, enum store_kind kind,
    const char *name, struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_OBJECT_DELETE, err)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return store_sqlite_step_done(c, st, "delete", err);
}

/*
 * Delete the stored object kind/name whose rendered text and services
 * are given, with a DELETED event.  The deleted object (new reference)
 * goes to *oldp when oldp is not NULL.  A grant releases what it holds;
 * an endpoint or service revokes its grants after its own event.
 */
int
store_sqlite_remove(struct store_sqlite *s, enum store_kind kind,
    const char *name, const char *text, size_t len, const char *services,
    const char *reason, json_t **oldp, struct nsreg_error *err)
{
	json_t	*old = NULL;
	int64_t	 rev;
	int	 ret = -1;

	if (s->keep_events || oldp != NULL) {
		if ((old = store_sqlite_parse(text, len)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s %s: unreadable stored object",
			    store_kind_name(kind), name);
			goto done;
		}
	}
	rev = ++s->next_rev;
	if (store_sqlite_object_delete(s, kind, name, err) == -1 ||
	    (services != NULL && store_sqlite_index_change(s, name, services,
	    NULL, 0, 0, 0, err) == -1))
		goto done;
	if (kind == STORE_GRANT && store_sqlite_grant_release(s, name,
	    err) == -1)
		goto done;
	if (oldp != NULL)
		*oldp = json_incref(old);
	ret = store_sqlite_event_put(s, rev, kind, STORE_DELETED, name,
	    reason, text, len, old, err);
	old = NULL;
	if (ret == 0 && (kind == STORE_ENDPOINT || kind == STORE_SERVICE))
		ret = store_sqlite_cascade(s, kind, name, err);
	if (ret == -1 && oldp != NULL) {
		json_decref(*oldp);
		*oldp = NULL;
	}
done:
	json_decref(old);
	return ret;
}

void
store_sqlite_row_clear(struct store_sqlite_row *row)
{
	free(row->owner);
	free(row->object);
	free(row->services);
	memset(row, 0, sizeof(*row));
}

int
store_sqlite_row_get(struct store_sqlite_conn *c, enum store_kind kind,
    const char *name, struct store_sqlite_row *row, struct nsreg_error *err)
{
	sqlite3_stmt	*st;
	int		 rc, ret = -1;

	memset(row, 0, sizeof(*row));
	if ((st = store_sqlite_stmt(c, SQL_OBJECT_GET, err)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto done;
	}
	if (rc != SQLITE_ROW) {
		store_sqlite_error(c->db, rc, "read", err);
		goto done;
	}
	row->found = 1;
	row->revision = sqlite3_column_int64(st, 0);
	row->created_at = sqlite3_column_int64(st, 1);
	row->updated_at = sqlite3_column_int64(st, 2);
	row->expires_at = sqlite3_column_int64(st, 3);
	row->rowid = sqlite3_column_int64(st, 7);
	row->object_len = (size_t)sqlite3_column_bytes(st, 5);
	if ((sqlite3_column_type(st, 4) != SQLITE_NULL &&
	    (row->owner = store_sqlite_column_dup(st, 4)) == NULL) ||
	    (row->object = store_sqlite_column_dup(st, 5)) == NULL ||
	    (sqlite3_column_type(st, 6) != SQLITE_NULL &&
	    (row->services = store_sqlite_column_dup(st, 6)) == NULL)) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		store_sqlite_row_clear(row);
		goto done;
	}
	ret = 0;
done:
	sqlite3_reset(st);
	return ret;
}

/* The compact text of an endpoint's services (new string) or NULL. */
static int
store_sqlite_services_text(const json_t *services, char **text,
    struct nsreg_error *err)
{
	*text = NULL;
	if (services == NULL)
		return 0;
	if ((*text = json_dumps(services, JSON_COMPACT)) == NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "network_service_names", "network_service_names "
		    "cannot be stored");
	return 0;
}

/*
 * Insert or update (at rowid) the row of obj, whose revision and times
 * are set.
 */
int
store_sqlite_object_put(struct store_sqlite *s, const struct store_object *obj,
    enum store_sqlite_sql id, int64_t rowid, enum store_event_type type,
    const char *old_services, struct store_sqlite_op *op,
    struct nsreg_error *err)
{
	struct store_sqlite_conn	*c = s->writer;
	const json_t			*services;
	sqlite3_stmt			*st;
	json_t				*rendered = NULL;
	char				*text = NULL, *stext = NULL;
	size_t				 len;
	int				 ret = -1, same;

	if ((text = store_object_text(obj, s->keep_events ? &rendered : NULL,
	    &len, err)) == NULL)
		goto done;
	services = store_object_services(obj);
	if (store_sqlite_services_text(services, &stext, err) == -1)
		goto done;
	if ((st = store_sqlite_stmt(c, id, err)) == NULL)
		goto done;
	sqlite3_bind_int(st, 1, (int)obj->kind);
	sqlite3_bind_text(st, 2, obj->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, obj->revision);
	sqlite3_bind_int64(st, 4, obj->created_at);
	sqlite3_bind_int64(st, 5, obj->updated_at);
	sqlite3_bind_int64(st, 6, obj->expires_at);
	sqlite3_bind_text(st, 7, obj->owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, stext, -1, SQLITE_STATIC);
	if (store_sqlite_step_done(c, st, "write", err) == -1)
		goto done;
	if (id == SQL_OBJECT_UPDATE && sqlite3_changes(c->db) != 1) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s %s: row vanished", store_kind_name(obj->kind),
		    obj->name);
		goto done;
	}
	if (id == SQL_OBJECT_INSERT)
		rowid = sqlite3_last_insert_rowid(c->db);
	/*
	 * The index learns the new revision; unchanged services (a
	 * refresh) leave its lists alone.
	 */
	if (obj->kind == STORE_ENDPOINT && (old_services != NULL ||
	    stext != NULL)) {
		same = old_services != NULL && stext != NULL &&
		    strcmp(old_services, stext) == 0;
		if (store_sqlite_index_change(s, obj->name,
		    same ? NULL : old_services, same ? NULL : services, rowid,
		    obj->revision, obj->expires_at, err) == -1)
			goto done;
	}
	ret = store_sqlite_event_put(s, obj->revision, obj->kind, type,
	    obj->name, NULL, text, len, rendered, err);
	rendered = NULL;
	if (ret == 0 && op != NULL) {
		/* The writer's caller answers with the stored text. */
		free(op->text);
		op->text = text;
		op->text_len = len;
		text = NULL;
	}
done:
	json_decref(rendered);
	free(text);
	free(stext);
	return ret;
}

/* Insert op->obj where row (maybe an expired object) stands. */
static int
store_sqlite_insert_at(struct store_sqlite *s, struct store_sqlite_op *op,
    struct store_sqlite_row *row)
{
	struct store_object	tmp = *op->obj;

	/* An expired object still stored goes first, as the sweep would. */
	if (row->found && store_sqlite_remove(s, tmp.kind, tmp.name,
	    row->object, row->object_len, row->services, STORE_REASON_EXPIRED,
	    NULL, op->err) == -1)
		return -1;
	if (tmp.kind == STORE_SERVICE && store_sqlite_pool_check(s, &tmp,
	    op->now, op->err) == -1)
		return -1;
	tmp.revision = ++s->next_rev;
	tmp.created_at = op->now;
	tmp.updated_at = op->now;
	if (store_sqlite_object_put(s, &tmp, SQL_OBJECT_INSERT, 0, STORE_ADDED,
	    NULL, op, op->err) == -1)
		return -1;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	return 0;
}

/* Replace the live object of row with op->obj. */
static int
store_sqlite_replace_at(struct store_sqlite *s, struct store_sqlite_op *op,
    struct store_sqlite_row *row)
{
	struct store_object	tmp = *op->obj;

	if (tmp.kind == STORE_SERVICE && store_sqlite_pool_check(s, &tmp,
	    op->now, op->err) == -1)
		return -1;
	tmp.revision = ++s->next_rev;
	tmp.created_at = row->created_at;
	tmp.updated_at = op->now;
	/* The owner is recorded once: an update without one keeps it. */
	if (tmp.owner == NULL)
		tmp.owner = row->owner;
	if (store_sqlite_object_put(s, &tmp, SQL_OBJECT_UPDATE, row->rowid,
	    STORE_MODIFIED, row->services, op, op->err) == -1)
		return -1;
	/* After its event: the grants of services it no longer offers. */
	if (tmp.kind == STORE_ENDPOINT && store_sqlite_endpoint_dropped(s,
	    tmp.name, row->services, store_object_services(&tmp),
	    op->err) == -1)
		return -1;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	if (op->obj->owner == NULL) {
		op->owner = row->owner;
		row->owner = NULL;
	}
	return 0;
}

static int
store_sqlite_run_create(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_row	 row;
	int			 ret = -1;

	if (store_sqlite_row_get(s->writer, op->obj->kind, op->obj->name,
	    &row, op->err) == -1)
		return -1;
	if (row.found && store_sqlite_live(row.expires_at, op->now))
		nsreg_error_set(op->err, NSREG_ALREADY_EXISTS, "name",
		    "%s %s already exists", store_kind_name(op->obj->kind),
		    op->obj->name);
	else
		ret = store_sqlite_insert_at(s, op, &row);
	store_sqlite_row_clear(&row);
	return ret;
}

static int
store_sqlite_run_update(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_row	 row;
	int			 ret = -1;

	if (store_sqlite_row_get(s->writer, op->obj->kind, op->obj->name,
	    &row, op->err) == -1)
		return -1;
	if (!row.found || !store_sqlite_live(row.expires_at, op->now))
		nsreg_error_set(op->err, NSREG_NOT_FOUND, "name",
		    "%s %s not found", store_kind_name(op->obj->kind),
		    op->obj->name);
	else if (op->expect_rev != 0 && row.revision != op->expect_rev)
		nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
		    "revision", "%s %s is at revision %lld, not %lld",
		    store_kind_name(op->obj->kind), op->obj->name,
		    (long long)row.revision, (long long)op->expect_rev);
	else
		ret = store_sqlite_replace_at(s, op, &row);
	store_sqlite_row_clear(&row);
	return ret;
}

/* The check of store_put on the current object held by row. */
static int
store_sqlite_put_check(struct store_sqlite_op *op,
    struct store_sqlite_row *row, int live)
{
	struct store_object	cur;
	int			rc;

	if (op->check == NULL)
		return 0;
	if (!live)
		return op->check(NULL, op->obj, op->check_arg, op->err);
	memset(&cur, 0, sizeof(cur));
	cur.kind = op->obj->kind;
	cur.name = op->obj->name;
	cur.revision = row->revision;
	cur.created_at = row->created_at;
	cur.updated_at = row->updated_at;
	cur.expires_at = row->expires_at;
	cur.owner = row->owner;
	if ((cur.doc = store_sqlite_parse(row->object, row->object_len)) ==
	    NULL)
		return nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
		    "%s %s: unreadable stored object",
		    store_kind_name(cur.kind), cur.name);
	store_object_strip(cur.doc, cur.kind);
	rc = op->check(&cur, op->obj, op->check_arg, op->err);
	json_decref(cur.doc);
	return rc;
}

static int
store_sqlite_run_put(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_row	 row;
	int			 ret = -1, live;

	if (store_sqlite_row_get(s->writer, op->obj->kind, op->obj->name,
	    &row, op->err) == -1)
		return -1;
	live = row.found && store_sqlite_live(row.expires_at, op->now);
	if (op->expect_rev != 0 && (!live ||
	    (op->expect_rev > 0 && row.revision != op->expect_rev))) {
		if (live)
			nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
			    "If-Match", "%s is at revision %lld, not %lld",
			    op->obj->name, (long long)row.revision,
			    (long long)op->expect_rev);
		else
			nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
			    "If-Match", "%s does not exist", op->obj->name);
		goto done;
	}
	if (store_sqlite_put_check(op, &row, live) == -1)
		goto done;
	op->created = !live;
	ret = live ? store_sqlite_replace_at(s, op, &row) :
	    store_sqlite_insert_at(s, op, &row);
done:
	store_sqlite_row_clear(&row);
	return ret;
}

int
store_sqlite_run_delete(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_row	 row;
	json_t			*old = NULL;
	int			 ret = -1;

	if (store_sqlite_row_get(s->writer, op->kind, op->name, &row,
	    op->err) == -1)
		return -1;
	if (!row.found || !store_sqlite_live(row.expires_at, op->now)) {
		nsreg_error_set(op->err, NSREG_NOT_FOUND, "name",
		    "%s %s not found", store_kind_name(op->kind), op->name);
		goto done;
	}
	if (op->expect_rev != 0 && row.revision != op->expect_rev) {
		nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
		    "revision", "%s %s is at revision %lld, not %lld",
		    store_kind_name(op->kind), op->name,
		    (long long)row.revision, (long long)op->expect_rev);
		goto done;
	}
	if (store_sqlite_remove(s, op->kind, op->name, row.object,
	    row.object_len, row.services, op->reason,
	    op->want_old ? &old : NULL, op->err) == -1)
		goto done;
	if (op->want_old) {
		op->old.kind = op->kind;
		op->old.name = strdup(op->name);
		op->old.doc = json_deep_copy(old);
		if (op->old.name == NULL || op->old.doc == NULL) {
			nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto done;
		}
		store_object_strip(op->old.doc, op->kind);
		op->old.revision = row.revision;
		op->old.created_at = row.created_at;
		op->old.updated_at = row.updated_at;
		op->old.expires_at = row.expires_at;
		op->old.owner = row.owner;
		row.owner = NULL;
	}
	ret = 0;
done:
	json_decref(old);
	store_sqlite_row_clear(&row);
	return ret;
}

/* Delete up to STORE_SQLITE_PRUNE_BATCH expired objects of op->kind. */
static int
store_sqlite_run_expire(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_sqlite_row		*rows = NULL;
	sqlite3_stmt			*st;
	char				*name;
	size_t				 n = 0, i;
	int				 rc, ret = -1;

	op->count = 0;
	if ((rows = calloc(STORE_SQLITE_PRUNE_BATCH, sizeof(*rows))) ==
	    NULL) {
		nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
		    "out of memory");
		goto done;
	}
	if ((st = store_sqlite_stmt(c, SQL_EXPIRED, op->err)) == NULL)
		goto done;
	sqlite3_bind_int(st, 1, (int)op->kind);
	sqlite3_bind_int64(st, 2, op->now);
	sqlite3_bind_int(st, 3, STORE_SQLITE_PRUNE_BATCH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* The row's owner slot carries the name here. */
		rows[n].owner = store_sqlite_column_dup(st, 0);
		rows[n].object = store_sqlite_column_dup(st, 1);
		rows[n].object_len = (size_t)sqlite3_column_bytes(st, 1);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			rows[n].services = store_sqlite_column_dup(st, 2);
		n++;
		if (rows[n - 1].owner == NULL || rows[n - 1].object == NULL ||
		    (sqlite3_column_type(st, 2) != SQLITE_NULL &&
		    rows[n - 1].services == NULL)) {
			sqlite3_reset(st);
			nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto done;
		}
		if (n == STORE_SQLITE_PRUNE_BATCH)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "read expired", op->err);
		sqlite3_reset(st);
		goto done;
	}
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		name = rows[i].owner;
		if (store_sqlite_remove(s, op->kind, name, rows[i].object,
		    rows[i].object_len, rows[i].services,
		    STORE_REASON_EXPIRED, NULL, op->err) == -1)
			goto done;
	}
	op->count = (int64_t)n;
	ret = 0;
done:
	if (rows != NULL) {
		for (i = 0; i < n; i++)
			store_sqlite_row_clear(&rows[i]);
	}
	free(rows);
	return ret;
}

/*
 * Trim the event history to s->history events, recording per kind the
 * newest event that went.  Revisions are gap-free (each is one event), so
 * the cut is simply the last revision minus the history.
 */
static int
store_sqlite_run_trim(struct store_sqlite *s, struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;
	char				 key[32];
	int64_t				 last, first = 0, cutoff;
	int64_t				 marks[STORE_KIND_MAX];
	int				 rc, kind;
	size_t				 i;

	op->count = 0;
	if (store_sqlite_revision_get(c, &last, op->err) == -1)
		return -1;
	if ((cutoff = last - (int64_t)s->history) <= 0)
		return 0;
	/* A bounded bite, so that writers interleave with a long trim. */
	if ((st = store_sqlite_stmt(c, SQL_FIRST_EVENT, op->err)) == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		first = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_sqlite_error(c->db, rc, "trim events", op->err);
	if (cutoff >= first + STORE_SQLITE_TRIM_BATCH)
		cutoff = first + STORE_SQLITE_TRIM_BATCH - 1;
	for (i = 0; i < STORE_KIND_MAX; i++)
		marks[i] = 0;
	if ((st = store_sqlite_stmt(c, SQL_TRIM_MARKS, op->err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, cutoff);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		kind = sqlite3_column_int(st, 0);
		if (kind >= 0 && kind < STORE_KIND_MAX)
			marks[kind] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(c->db, rc, "trim events", op->err);
	for (i = 0; i < STORE_KIND_MAX; i++) {
		if (marks[i] == 0)
			continue;
		snprintf(key, sizeof(key), "trimmed.%zu", i);
		if (store_sqlite_meta_set(c, key, marks[i], op->err) == -1)
			return -1;
	}
	if ((st = store_sqlite_stmt(c, SQL_TRIM_DELETE, op->err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, cutoff);
	if (store_sqlite_step_done(c, st, "trim events", op->err) == -1)
		return -1;
	op->count = sqlite3_changes(c->db);
	return 0;
}

int
store_sqlite_create(void *b, struct store_object *obj, int64_t now,
    struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_create,
		.err = err,
		.now = now,
		.obj = obj,
	};

	if (store_sqlite_write_object(b, &op) == -1)
		return -1;
	return 0;
}

int
store_sqlite_put(void *b, struct store_object *obj, int64_t if_match,
    store_check_fn check, void *arg, int64_t now, int *created,
    struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_put,
		.err = err,
		.now = now,
		.obj = obj,
		.expect_rev = if_match,
		.check = check,
		.check_arg = arg,
	};

	if (store_sqlite_write_object(b, &op) == -1)
		return -1;
	*created = op.created;
	return 0;
}

int
store_sqlite_put_async(void *b, struct store_object *obj, int64_t if_match,
    store_check_fn check, void *arg, int64_t now, store_done_fn done,
    void *done_arg, struct nsreg_error *err)
{
	struct store_sqlite	*s = b;
	struct store_sqlite_op	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	op->run = store_sqlite_run_put;
	op->now = now;
	op->obj = obj;
	op->expect_rev = if_match;
	op->check = check;
	op->check_arg = arg;
	op->complete = done;
	op->complete_arg = done_arg;
	store_sqlite_write_async(s, op);
	return 0;
}

int
store_sqlite_update(void *b, struct store_object *obj, int64_t expect_rev,
    int64_t now, struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_update,
		.err = err,
		.now = now,
		.obj = obj,
		.expect_rev = expect_rev,
	};

	if (store_sqlite_write_object(b, &op) == -1)
		return -1;
	return 0;
}

int
store_sqlite_delete(void *b, enum store_kind kind, const char *name,
    int64_t expect_rev, int64_t now, struct store_object *old,
    struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_delete,
		.err = err,
		.now = now,
		.kind = kind,
		.name = name,
		.expect_rev = expect_rev,
		.want_old = old != NULL,
	};

	if (store_sqlite_write(b, &op) == -1)
		return -1;
	if (old != NULL)
		*old = op.old;
	return 0;
}

int64_t
store_sqlite_prune(void *b, int64_t now, struct nsreg_error *err)
{
	struct store_sqlite_op	op;
	int64_t			total = 0;
	int			kind;

	/* Bounded transactions, so writers interleave with a big sweep. */
	for (kind = 0; kind < STORE_KIND_MAX; kind++) {
		do {
			memset(&op, 0, sizeof(op));
			op.run = store_sqlite_run_expire;
			op.err = err;
			op.now = now;
			op.kind = (enum store_kind)kind;
			if (store_sqlite_write(b, &op) == -1)
				return -1;
			total += op.count;
		} while (op.count == STORE_SQLITE_PRUNE_BATCH);
	}
	do {
		memset(&op, 0, sizeof(op));
		op.run = store_sqlite_run_trim;
		op.err = err;
		op.now = now;
		if (store_sqlite_write(b, &op) == -1)
			return -1;
	} while (op.count == STORE_SQLITE_TRIM_BATCH);
	memset(&op, 0, sizeof(op));
	op.run = store_sqlite_run_keys_prune;
	op.err = err;
	op.now = now;
	if (store_sqlite_write(b, &op) == -1)
		return -1;
	return total;
}
