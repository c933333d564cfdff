/*
 * store_sqlite_reads.c - the SQLite backend's reads: fetch, lists (from
 * the service index when it can), counts, watch, and the decision log.
 */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

static const char *
store_sqlite_entry_string(const json_t *entry, const char *key)
{
	return json_string_value(json_object_get(entry, key));
}

static int
store_sqlite_run_decisions(struct store_sqlite *s,
    struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	const struct store_decision	*d;
	sqlite3_stmt			*st;
	char				*text = NULL;
	size_t				 i;
	int				 ret = -1;

	if ((st = store_sqlite_stmt(c, SQL_DECISION_INSERT, op->err)) == NULL)
		return -1;
	for (i = 0; i < op->ndecisions; i++) {
		d = &op->decisions[i];
		sqlite3_bind_int64(st, 1, d->time);
		if (d->text != NULL) {
			sqlite3_bind_text(st, 2, d->principal, -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(st, 3, d->action, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, d->decision, -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(st, 5, d->text, (int)d->len,
			    SQLITE_STATIC);
			if (store_sqlite_step_done(c, st, "write decision",
			    op->err) == -1)
				goto done;
			continue;
		}
		if ((text = json_dumps(d->entry, JSON_COMPACT)) == NULL) {
			nsreg_error_set(op->err, NSREG_INVALID_ARGUMENT, NULL,
			    "decision entry %zu cannot be stored", i);
			goto done;
		}
		sqlite3_bind_text(st, 2, store_sqlite_entry_string(d->entry,
		    "principal"), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, store_sqlite_entry_string(d->entry,
		    "action"), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, store_sqlite_entry_string(
		    json_object_get(d->entry, "decision"), "decision"), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
		if (store_sqlite_step_done(c, st, "write decision",
		    op->err) == -1)
			goto done;
		free(text);
		text = NULL;
	}
	ret = 0;
done:
	free(text);
	return ret;
}

static int
store_sqlite_run_decision_prune(struct store_sqlite *s,
    struct store_sqlite_op *op)
{
	struct store_sqlite_conn	*c = s->writer;
	sqlite3_stmt			*st;

	if ((st = store_sqlite_stmt(c, SQL_DECISION_PRUNE, op->err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, op->before);
	sqlite3_bind_int(st, 2, STORE_SQLITE_DECISION_BATCH);
	if (store_sqlite_step_done(c, st, "prune decisions", op->err) == -1)
		return -1;
	op->count = sqlite3_changes(c->db);
	return 0;
}

int
store_sqlite_decision_append(void *b, const struct store_decision *v,
    size_t n, struct nsreg_error *err)
{
	struct store_sqlite_op	op = {
		.run = store_sqlite_run_decisions,
		.err = err,
		.decisions = v,
		.ndecisions = n,
	};

	return store_sqlite_write(b, &op);
}

int64_t
store_sqlite_decision_prune(void *b, int64_t before, struct nsreg_error *err)
{
	struct store_sqlite_op	op;
	int64_t			total = 0;

	do {
		memset(&op, 0, sizeof(op));
		op.run = store_sqlite_run_decision_prune;
		op.err = err;
		op.before = before;
		if (store_sqlite_write(b, &op) == -1)
			return -1;
		total += op.count;
	} while (op.count == STORE_SQLITE_DECISION_BATCH);
	return total;
}

int
store_sqlite_fetch(void *b, enum store_kind kind, const char *name,
    int64_t now, struct store_object *out, struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st = NULL;
	int				 rc, ret = -1;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_OBJECT_GET, err)) == NULL)
		goto done;
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || (rc == SQLITE_ROW &&
	    !store_sqlite_live(sqlite3_column_int64(st, 3), now))) {
		nsreg_error_set(err, NSREG_NOT_FOUND, "name",
		    "%s %s not found", store_kind_name(kind), name);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		store_sqlite_error(c->db, rc, "read", err);
		goto done;
	}
	out->kind = kind;
	out->revision = sqlite3_column_int64(st, 0);
	out->created_at = sqlite3_column_int64(st, 1);
	out->updated_at = sqlite3_column_int64(st, 2);
	out->expires_at = sqlite3_column_int64(st, 3);
	out->text_len = (size_t)sqlite3_column_bytes(st, 5);
	out->text = store_sqlite_column_dup(st, 5);
	out->doc = out->text != NULL ? store_sqlite_parse(out->text,
	    out->text_len) : NULL;
	out->name = strdup(name);
	if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		out->owner = store_sqlite_column_dup(st, 4);
	if (out->doc == NULL || out->name == NULL ||
	    (sqlite3_column_type(st, 4) != SQLITE_NULL && out->owner == NULL)) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s %s: unreadable stored object", store_kind_name(kind),
		    name);
		store_object_clear(out);
		goto done;
	}
	store_object_strip(out->doc, kind);
	ret = 0;
done:
	if (st != NULL)
		sqlite3_reset(st);
	store_sqlite_reader_put(s, c);
	return ret;
}

/* 1 when the array a offers every one of services[0..n). */
static int
store_sqlite_offers_json(const json_t *a, const char **services, size_t n)
{
	const json_t	*v;
	size_t		 i, j;
	int		 found;

	for (i = 0; i < n; i++) {
		found = 0;
		json_array_foreach(a, j, v) {
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), services[i]) == 0) {
				found = 1;
				break;
			}
		}
		if (!found)
			return 0;
	}
	return 1;
}

/* 1 when the stored services text offers every one of services[0..n). */
static int
store_sqlite_offers(const char *text, size_t len, const char **services,
    size_t n)
{
	json_t	*a;
	int	 ret;

	if (text == NULL)
		return n == 0;
	if ((a = store_sqlite_parse(text, len)) == NULL)
		return 0;
	ret = store_sqlite_offers_json(a, services, n);
	json_decref(a);
	return ret;
}

/* A list being built. */
struct store_sqlite_lister {
	const struct store_query	*q;
	struct store_list_sink		*sink;
	int				*more;
	int				 check;	/* services to check */
};

/*
 * Keep the stored object when it passes the filters.  1: go on, 0: the
 * page is full (and *more set when this one would have been kept), -1:
 * error.
 */
static int
store_sqlite_list_row(struct store_sqlite_lister *l, const char *name,
    const char *text, size_t len, const char *services, size_t slen,
    struct nsreg_error *err)
{
	const struct store_query	*q = l->q;
	json_t				*o = NULL;

	if (name == NULL || text == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s list: unreadable stored object",
		    store_kind_name(q->kind));
	if (l->check && !store_sqlite_offers(services, slen, q->services,
	    q->nservices))
		return 1;
	if (q->match != NULL) {
		if ((o = store_sqlite_parse(text, len)) == NULL)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s %s: unreadable stored object",
			    store_kind_name(q->kind), name);
		if (q->match(o, q->match_arg) != 1) {
			json_decref(o);
			return 1;
		}
	}
	/* One matching row past the limit: there is a next page. */
	if (q->limit != 0 && l->sink->n == q->limit) {
		json_decref(o);
		*l->more = 1;
		return 0;
	}
	if (store_list_sink_add(l->sink, name, text, len, o, err) == -1)
		return -1;
	return 1;
}

/* The size of a chunk of index hits for a list of q. */
static size_t
store_sqlite_chunk(const struct store_query *q)
{
	size_t	chunk = q->limit != 0 ? q->limit + 1 : 256;

	return chunk < 16 ? 16 : chunk;
}

/*
 * A ?service list served from memory alone: the index gives the
 * endpoints with their revisions as of index_rev, the text cache their
 * texts at those revisions, so the answer is the state at index_rev
 * without touching the database.  *done stays 0 when a text is not
 * cached or the index moves on between chunks: the caller starts over
 * the slow way.
 */
static int
store_sqlite_list_cached(struct store_sqlite *s, struct store_sqlite_lister *l,
    int64_t now, int64_t *rev, int *done, struct nsreg_error *err)
{
	const struct store_query	*q = l->q;
	struct store_svcidx_hit		*hits = NULL;
	char				*after = NULL, *buf = NULL;
	size_t				 n, i, len, cap = 0, chunk;
	int				 go = 1, started = 0, ret = -1;

	*done = 0;
	l->check = 0;
	chunk = store_sqlite_chunk(q);
	for (;;) {
		pthread_rwlock_rdlock(&s->ilock);
		if (!s->index_ok || (started && s->index_rev != *rev)) {
			pthread_rwlock_unlock(&s->ilock);
			ret = 0;
			goto out;
		}
		*rev = s->index_rev;
		started = 1;
		hits = store_svcidx_find(s->svcidx, q->services, q->nservices,
		    after != NULL ? after : q->after_name, chunk, &n);
		pthread_rwlock_unlock(&s->ilock);
		if (hits == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		for (i = 0; i < n && go == 1; i++) {
			if (!store_sqlite_live(hits[i].expires_at, now))
				continue;
			if (!store_textcache_get(s->texts, hits[i].row,
			    hits[i].revision, &buf, &cap, &len)) {
				ret = 0;
				goto out;
			}
			go = store_sqlite_list_row(l, hits[i].name, buf, len,
			    NULL, 0, err);
		}
		if (go == -1)
			goto out;
		if (go == 0 || n < chunk) {
			*done = 1;
			ret = 0;
			goto out;
		}
		free(after);
		if ((after = strdup(hits[n - 1].name)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		store_svcidx_hits_free(hits);
		hits = NULL;
	}
out:
	store_svcidx_hits_free(hits);
	free(after);
	free(buf);
	return ret;
}

/*
 * The next at most max endpoints after `after` offering all of q's
 * services, from the index as it was at the snapshot of c's read
 * transaction (*rev): when the index is behind, wait for the writer to
 * finish applying; when it is ahead and moving is allowed, take a newer
 * snapshot (updating *rev).  *hits stays NULL when the index cannot serve
 * this snapshot: the caller scans instead.
 */
static int
store_sqlite_index_hits(struct store_sqlite *s, struct store_sqlite_conn *c,
    const struct store_query *q, const char *after, size_t max, int move,
    int64_t *rev, struct store_svcidx_hit **hits, size_t *np,
    struct nsreg_error *err)
{
	int64_t	irev;
	int	tries;

	*hits = NULL;
	*np = 0;
	for (tries = 0; tries < STORE_SQLITE_INDEX_TRIES; tries++) {
		pthread_rwlock_rdlock(&s->ilock);
		if (!s->index_ok) {
			pthread_rwlock_unlock(&s->ilock);
			return 0;
		}
		if ((irev = s->index_rev) == *rev) {
			*hits = store_svcidx_find(s->svcidx, q->services,
			    q->nservices, after, max, np);
			pthread_rwlock_unlock(&s->ilock);
			if (*hits == NULL)
				return nsreg_error_set(err, NSREG_INTERNAL,
				    NULL, "out of memory");
			return 0;
		}
		pthread_rwlock_unlock(&s->ilock);
		if (irev < *rev) {
			sched_yield();
			continue;
		}
		if (!move)
			return 0;
		if (store_sqlite_exec(c, SQL_COMMIT, err) == -1 ||
		    store_sqlite_exec(c, SQL_BEGIN, err) == -1 ||
		    store_sqlite_revision_get(c, rev, err) == -1)
			return -1;
	}
	return 0;
}

/*
 * A ?service list through the index in c's snapshot, in chunks, texts
 * from the cache or the database (and then cached).  Sets *done when it
 * answered; when the index moved past the snapshot between chunks,
 * *after is where the caller's scan goes on.
 */
static int
store_sqlite_list_index(struct store_sqlite *s, struct store_sqlite_conn *c,
    struct store_sqlite_lister *l, int64_t now, int64_t *rev,
    char **after, int *done, struct nsreg_error *err)
{
	const struct store_query	*q = l->q;
	struct store_svcidx_hit		*hits = NULL;
	sqlite3_stmt			*st;
	const char			*name, *text;
	char				*buf = NULL;
	size_t				 n, i, chunk, len, cap = 0;
	int				 rc, go = 1, ret = -1, first = 1;

	*done = 0;
	l->check = 0;
	chunk = store_sqlite_chunk(q);
	if ((st = store_sqlite_stmt(c, SQL_OBJECT_ROW, err)) == NULL)
		return -1;
	for (;;) {
		if (store_sqlite_index_hits(s, c, q, *after, chunk, first,
		    rev, &hits, &n, err) == -1)
			goto out;
		if (hits == NULL) {
			ret = 0;	/* scan from *after */
			goto out;
		}
		first = 0;
		for (i = 0; i < n && go == 1; i++) {
			if (!store_sqlite_live(hits[i].expires_at, now))
				continue;
			if (store_textcache_get(s->texts, hits[i].row,
			    hits[i].revision, &buf, &cap, &len)) {
				go = store_sqlite_list_row(l, hits[i].name,
				    buf, len, NULL, 0, err);
				continue;
			}
			sqlite3_bind_int64(st, 1, hits[i].row);
			rc = sqlite3_step(st);
			if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
				store_sqlite_error(c->db, rc, "list", err);
				sqlite3_reset(st);
				goto out;
			}
			name = (const char *)sqlite3_column_text(st, 0);
			text = (const char *)sqlite3_column_text(st, 2);
			len = (size_t)sqlite3_column_bytes(st, 2);
			/* The index and the snapshot agree, or it is a bug. */
			if (rc != SQLITE_ROW || name == NULL || text == NULL ||
			    strcmp(name, hits[i].name) != 0 ||
			    sqlite3_column_int64(st, 1) != hits[i].revision) {
				nsreg_error_set(err, NSREG_INTERNAL, NULL,
				    "endpoint %s: index and database disagree",
				    hits[i].name);
				sqlite3_reset(st);
				goto out;
			}
			store_textcache_put(s->texts, hits[i].row,
			    hits[i].revision, text, len);
			go = store_sqlite_list_row(l, name, text, len, NULL, 0,
			    err);
			sqlite3_reset(st);
		}
		if (go == -1)
			goto out;
		if (go == 0 || n < chunk) {
			*done = 1;
			ret = 0;
			goto out;
		}
		free(*after);
		if ((*after = strdup(hits[n - 1].name)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		store_svcidx_hits_free(hits);
		hits = NULL;
	}
out:
	store_svcidx_hits_free(hits);
	free(buf);
	return ret;
}

int
store_sqlite_list(void *b, const struct store_query *q, int64_t now,
    struct store_list_sink *sink, int64_t *revision, int *more,
    struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c = NULL;
	struct store_sqlite_lister	 l = {
		.q = q, .sink = sink, .more = more,
	};
	sqlite3_stmt			*st = NULL;
	char				*after = NULL;
	int				 rc = SQLITE_DONE, go = 1, done = 0;
	int				 ret = -1;

	if (q->nservices > 0) {
		if (store_sqlite_list_cached(s, &l, now, revision, &done,
		    err) == -1)
			return -1;
		__atomic_add_fetch(done ? &s->lists_memory :
		    &s->lists_database, 1, __ATOMIC_RELAXED);
		if (done)
			return 0;
		store_list_sink_reset(sink);
		*more = 0;
	}
	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	if (q->after_name != NULL && (after = strdup(q->after_name)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	/* One read transaction: the items and the revision agree. */
	if (store_sqlite_exec(c, SQL_BEGIN, err) == -1 ||
	    store_sqlite_revision_get(c, revision, err) == -1)
		goto done;
	if (q->nservices > 0 && store_sqlite_list_index(s, c, &l, now,
	    revision, &after, &done, err) == -1)
		goto done;
	if (!done) {
		l.check = q->nservices > 0;
		if ((st = store_sqlite_stmt(c, SQL_LIST, err)) == NULL)
			goto done;
		sqlite3_bind_int(st, 1, (int)q->kind);
		sqlite3_bind_text(st, 2, after != NULL ? after : "", -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		while (go == 1 && (rc = sqlite3_step(st)) == SQLITE_ROW)
			go = store_sqlite_list_row(&l,
			    (const char *)sqlite3_column_text(st, 0),
			    (const char *)sqlite3_column_text(st, 1),
			    (size_t)sqlite3_column_bytes(st, 1),
			    (const char *)sqlite3_column_text(st, 2),
			    (size_t)sqlite3_column_bytes(st, 2), err);
		if (go == -1)
			goto done;
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			store_sqlite_error(c->db, rc, "list", err);
			goto done;
		}
	}
	ret = 0;
done:
	if (st != NULL)
		sqlite3_reset(st);
	free(after);
	store_sqlite_reader_put(s, c);
	return ret;
}

int64_t
store_sqlite_count(void *b, enum store_kind kind, int64_t now)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st;
	int64_t				 n = -1;

	if ((c = store_sqlite_reader_get(s, NULL)) == NULL)
		return -1;
	if ((st = store_sqlite_stmt(c, SQL_COUNT, NULL)) != NULL) {
		sqlite3_bind_int(st, 1, (int)kind);
		sqlite3_bind_int64(st, 2, now);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	store_sqlite_reader_put(s, c);
	return n;
}

int64_t
store_sqlite_watch(void *b, enum store_kind kind, int64_t after,
    size_t limit, store_listener_fn fn, void *arg, struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st = NULL;
	struct store_event		 ev;
	char				 key[32];
	int64_t				 trimmed = 0, n = 0, ret = -1;
	int				 rc;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	snprintf(key, sizeof(key), "trimmed.%d", (int)kind);
	if (store_sqlite_exec(c, SQL_BEGIN, err) == -1 ||
	    store_sqlite_meta_get(c, key, &trimmed, err) == -1)
		goto done;
	if (after < trimmed) {
		nsreg_error_set(err, NSREG_GONE, "since",
		    "revision %lld is older than the kept %s history "
		    "(from %lld)", (long long)after, store_kind_name(kind),
		    (long long)trimmed);
		goto done;
	}
	if ((st = store_sqlite_stmt(c, SQL_WATCH, err)) == NULL)
		goto done;
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, limit != 0 ? (int64_t)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev.revision = sqlite3_column_int64(st, 0);
		ev.kind = kind;
		ev.type = (enum store_event_type)sqlite3_column_int(st, 1);
		ev.name = (const char *)sqlite3_column_text(st, 2);
		ev.reason = store_reason((const char *)sqlite3_column_text(st,
		    3));
		ev.object = store_sqlite_parse(
		    (const char *)sqlite3_column_text(st, 4),
		    (size_t)sqlite3_column_bytes(st, 4));
		if (ev.object == NULL || ev.name == NULL) {
			json_decref(ev.object);
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "event %lld: unreadable", (long long)ev.revision);
			goto done;
		}
		fn(&ev, arg);
		json_decref(ev.object);
		n++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "watch", err);
		goto done;
	}
	ret = n;
done:
	if (st != NULL)
		sqlite3_reset(st);
	store_sqlite_reader_put(s, c);
	return ret;
}

/* The decision list statement for the filters in mask. */
static sqlite3_stmt *
store_sqlite_decisions_stmt(struct store_sqlite_conn *c, unsigned int mask,
    struct nsreg_error *err)
{
	char	sql[320];

	if (c->decisions[mask] != NULL)
		return c->decisions[mask];
	snprintf(sql, sizeof(sql), "SELECT id, entry FROM decisions "
	    "WHERE id < ?1%s%s%s%s%s ORDER BY id DESC LIMIT ?5",
	    mask & 1 ? " AND principal = ?2" : "",
	    mask & 2 ? " AND action = ?3" : "",
	    mask & 4 ? " AND decision = ?4" : "",
	    mask & 8 ? " AND time >= ?6" : "",
	    mask & 16 ? " AND time < ?7" : "");
	return store_sqlite_prepare(c, &c->decisions[mask], sql, err);
}

int
store_sqlite_decision_list(void *b, const struct store_decision_query *q,
    json_t **items, int64_t *next_id, struct nsreg_error *err)
{
	struct store_sqlite		*s = b;
	struct store_sqlite_conn	*c;
	sqlite3_stmt			*st = NULL;
	json_t				*list = NULL, *e;
	size_t				 limit = q->limit != 0 ? q->limit : 100;
	unsigned int			 mask;
	int64_t				 id, last = 0;
	int				 rc, ret = -1;

	if ((c = store_sqlite_reader_get(s, err)) == NULL)
		return -1;
	mask = (q->principal != NULL ? 1 : 0) | (q->action != NULL ? 2 : 0) |
	    (q->decision != NULL ? 4 : 0) | (q->has_since ? 8 : 0) |
	    (q->has_until ? 16 : 0);
	if ((list = json_array()) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	if ((st = store_sqlite_decisions_stmt(c, mask, err)) == NULL)
		goto done;
	if (mask & 8)
		sqlite3_bind_int64(st, 6, q->since);
	if (mask & 16)
		sqlite3_bind_int64(st, 7, q->until);
	sqlite3_bind_int64(st, 1, q->before_id != 0 ? q->before_id :
	    INT64_MAX);
	sqlite3_bind_text(st, 2, q->principal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, q->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, q->decision, -1, SQLITE_STATIC);
	/* One more than asked tells whether a next page exists. */
	sqlite3_bind_int64(st, 5, (int64_t)limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (json_array_size(list) == limit) {
			*next_id = last;
			break;
		}
		e = store_sqlite_parse((const char *)sqlite3_column_text(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
		if (e == NULL || json_object_set_new(e, "id",
		    json_integer(id)) == -1 ||
		    json_array_append_new(list, e) == -1) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "decision %lld: unreadable", (long long)id);
			goto done;
		}
		last = id;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_sqlite_error(c->db, rc, "decisions", err);
		goto done;
	}
	*items = list;
	list = NULL;
	ret = 0;
done:
	if (st != NULL)
		sqlite3_reset(st);
	if (ret == -1)
		*next_id = 0;
	json_decref(list);
	store_sqlite_reader_put(s, c);
	return ret;
}
