/*
 * store_pg_reads.c - the PostgreSQL backend's reads: fetch, lists (one
 * REPEATABLE READ snapshot each), counts, watch, and the decision log.
 * ?service= lists of endpoints are answered from memory when the cache
 * can (store_pg_cache.c); the other reads go to the database.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg_int.h"

#define STORE_PG_SNAPSHOT \
	"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

/* Numbers as text parameters. */
struct store_pg_rparams {
	const char	*v[8];
	char		 num[8][24];
};

static void
store_pg_rint(struct store_pg_rparams *p, int i, int64_t v)
{
	snprintf(p->num[i], sizeof(p->num[i]), "%lld", (long long)v);
	p->v[i] = p->num[i];
}

int
store_pg_fetch(void *b, enum store_kind kind, const char *name, int64_t now,
    struct store_object *out, struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_rparams	 p;
	PGresult		*r = NULL;
	int			 ret = -1;

	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	store_pg_rint(&p, 0, (int64_t)kind);
	p.v[1] = name;
	if ((r = store_pg_run(c, PG_OBJECT_GET, 2, p.v, "read", err)) == NULL)
		goto done;
	if (PQntuples(r) == 0 || !store_pg_live(store_pg_int(r, 0, 3), now)) {
		nsreg_error_set(err, NSREG_NOT_FOUND, "name",
		    "%s %s not found", store_kind_name(kind), name);
		goto done;
	}
	out->kind = kind;
	out->revision = store_pg_int(r, 0, 0);
	out->created_at = store_pg_int(r, 0, 1);
	out->updated_at = store_pg_int(r, 0, 2);
	out->expires_at = store_pg_int(r, 0, 3);
	out->text_len = (size_t)PQgetlength(r, 0, 5);
	out->text = strdup(PQgetvalue(r, 0, 5));
	out->doc = out->text != NULL ? store_pg_parse(out->text,
	    out->text_len) : NULL;
	out->name = strdup(name);
	if (!PQgetisnull(r, 0, 4))
		out->owner = strdup(PQgetvalue(r, 0, 4));
	if (out->doc == NULL || out->name == NULL ||
	    (!PQgetisnull(r, 0, 4) && out->owner == NULL)) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s %s: unreadable stored object", store_kind_name(kind),
		    name);
		store_object_clear(out);
		goto done;
	}
	store_object_strip(out->doc, kind);
	ret = 0;
done:
	PQclear(r);
	store_pg_conn_put(s, c);
	return ret;
}

/* The services of a list query as a JSON array text (new string). */
static char *
store_pg_services_json(const struct store_query *q, struct nsreg_error *err)
{
	json_t	*a;
	char	*text = NULL;
	size_t	 i;

	if ((a = json_array()) == NULL)
		goto done;
	for (i = 0; i < q->nservices; i++) {
		if (json_array_append_new(a, json_string(q->services[i])) ==
		    -1)
			goto done;
	}
	text = json_dumps(a, JSON_COMPACT);
done:
	json_decref(a);
	if (text == NULL)
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "service",
		    "services cannot be matched");
	return text;
}

int
store_pg_list_row(const struct store_query *q, struct store_list_sink *sink,
    const char *name, const char *text, size_t len, int *more,
    struct nsreg_error *err)
{
	json_t	*o = NULL;

	if (q->match != NULL) {
		if ((o = store_pg_parse(text, len)) == NULL)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s %s: unreadable stored object",
			    store_kind_name(q->kind), name);
		if (q->match(o, q->match_arg) != 1) {
			json_decref(o);
			return 1;
		}
	}
	if (q->limit != 0 && sink->n == q->limit) {
		json_decref(o);
		*more = 1;
		return 0;
	}
	if (store_list_sink_add(sink, name, text, len, o, err) == -1)
		return -1;
	return 1;
}

int
store_pg_list(void *b, const struct store_query *q, int64_t now,
    struct store_list_sink *sink, int64_t *revision, int *more,
    struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_rparams	 p;
	PGresult		*r = NULL;
	char			*after = NULL, *svc = NULL;
	size_t			 chunk;
	int			 i, n, rc, ret = -1;

	*more = 0;
	rc = store_pg_cache_list(s, q, now, sink, revision, more, err);
	if (q->kind == STORE_ENDPOINT && q->nservices > 0)
		__atomic_add_fetch(rc == 1 ? &s->cache.lists_memory :
		    &s->cache.lists_database, 1, __ATOMIC_RELAXED);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	if ((after = strdup(q->after_name != NULL ? q->after_name : "")) ==
	    NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	if (q->nservices > 0 && (svc = store_pg_services_json(q, err)) ==
	    NULL)
		goto done;
	if (store_pg_exec(c, STORE_PG_SNAPSHOT, "list", err) == -1)
		goto done;
	if ((r = store_pg_run(c, PG_REVISION, 0, NULL, "list", err)) == NULL)
		goto done;
	*revision = PQntuples(r) == 1 ? store_pg_int(r, 0, 0) : 0;
	PQclear(r);
	r = NULL;
	/* Without match, one more row than asked tells of a next page. */
	chunk = q->limit != 0 ? q->limit + 1 : 0;
	if (q->match != NULL && (chunk == 0 || chunk < STORE_PG_LIST_CHUNK))
		chunk = STORE_PG_LIST_CHUNK;
	for (;;) {
		store_pg_rint(&p, 0, (int64_t)q->kind);
		p.v[1] = after;
		store_pg_rint(&p, 2, now);
		if (chunk != 0)
			store_pg_rint(&p, 3, (int64_t)chunk);
		else
			p.v[3] = NULL;
		p.v[4] = svc;
		if ((r = store_pg_run(c, svc != NULL ? PG_LIST_SERVICES :
		    PG_LIST, svc != NULL ? 5 : 4, p.v, "list", err)) == NULL)
			goto done;
		n = PQntuples(r);
		for (i = 0; i < n; i++) {
			rc = store_pg_list_row(q, sink, PQgetvalue(r, i, 0),
			    PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1),
			    more, err);
			if (rc == -1)
				goto done;
			if (rc == 0)
				break;
		}
		if (i < n || chunk == 0 || (size_t)n < chunk)
			break;
		free(after);
		if ((after = strdup(PQgetvalue(r, n - 1, 0))) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto done;
		}
		PQclear(r);
		r = NULL;
	}
	if (store_pg_exec(c, "COMMIT", "list", err) == -1)
		goto done;
	ret = 0;
done:
	PQclear(r);
	store_pg_conn_put(s, c);
	free(after);
	free(svc);
	return ret;
}

int64_t
store_pg_count(void *b, enum store_kind kind, int64_t now)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_rparams	 p;
	struct nsreg_error	 err;
	PGresult		*r;
	int64_t			 n = -1;

	if ((c = store_pg_conn_get(s, &err)) == NULL)
		return -1;
	store_pg_rint(&p, 0, (int64_t)kind);
	store_pg_rint(&p, 1, now);
	if ((r = store_pg_run(c, PG_COUNT, 2, p.v, "count", &err)) != NULL &&
	    PQntuples(r) == 1)
		n = store_pg_int(r, 0, 0);
	PQclear(r);
	store_pg_conn_put(s, c);
	return n;
}

int64_t
store_pg_watch(void *b, enum store_kind kind, int64_t after, size_t limit,
    store_listener_fn fn, void *arg, struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_rparams	 p;
	struct store_event	 ev;
	PGresult		*r = NULL;
	char			 key[32];
	int64_t			 trimmed = 0, ret = -1;
	int			 i, n;

	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	if (store_pg_exec(c, STORE_PG_SNAPSHOT, "watch", err) == -1)
		goto done;
	snprintf(key, sizeof(key), "trimmed.%d", (int)kind);
	p.v[0] = key;
	if ((r = store_pg_run(c, PG_META_GET, 1, p.v, "watch", err)) == NULL)
		goto done;
	if (PQntuples(r) == 1)
		trimmed = store_pg_int(r, 0, 0);
	PQclear(r);
	r = NULL;
	if (after < trimmed) {
		nsreg_error_set(err, NSREG_GONE, "since",
		    "revision %lld is older than the kept %s history "
		    "(from %lld)", (long long)after, store_kind_name(kind),
		    (long long)trimmed);
		goto done;
	}
	store_pg_rint(&p, 0, (int64_t)kind);
	store_pg_rint(&p, 1, after);
	if (limit != 0)
		store_pg_rint(&p, 2, (int64_t)limit);
	else
		p.v[2] = NULL;
	if ((r = store_pg_run(c, PG_WATCH, 3, p.v, "watch", err)) == NULL)
		goto done;
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		ev.revision = store_pg_int(r, i, 0);
		ev.kind = kind;
		ev.type = (enum store_event_type)store_pg_int(r, i, 1);
		ev.name = PQgetvalue(r, i, 2);
		ev.reason = PQgetisnull(r, i, 3) ? NULL :
		    store_reason(PQgetvalue(r, i, 3));
		ev.object = store_pg_parse(PQgetvalue(r, i, 4),
		    (size_t)PQgetlength(r, i, 4));
		if (ev.object == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "event %lld: unreadable", (long long)ev.revision);
			goto done;
		}
		fn(&ev, arg);
		json_decref(ev.object);
	}
	if (store_pg_exec(c, "COMMIT", "watch", err) == -1)
		goto done;
	ret = n;
done:
	PQclear(r);
	store_pg_conn_put(s, c);
	return ret;
}

static const char *
store_pg_entry_string(const json_t *entry, const char *key)
{
	return json_string_value(json_object_get(entry, key));
}

/*
 * Read the results of n inserts sent in a pipeline and of its sync: 0
 * when each inserted, or -1 with err (the first failure).
 */
static int
store_pg_pipeline_results(struct store_pg_conn *c, size_t n,
    struct nsreg_error *err)
{
	PGresult	*r;
	size_t		 i;
	int		 ret = 0;

	for (i = 0; i <= n; i++) {
		if ((r = PQgetResult(c->db)) == NULL) {
			if (ret == 0)
				store_pg_fail(c, NULL, "write decisions", err);
			return -1;
		}
		if (i == n ? PQresultStatus(r) != PGRES_PIPELINE_SYNC :
		    PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (ret == 0)
				store_pg_fail(c, r, "write decision", err);
			ret = -1;
		}
		PQclear(r);
		/* Each insert's results end with a NULL; the sync's not. */
		if (i < n && (r = PQgetResult(c->db)) != NULL) {
			PQclear(r);
			if (ret == 0)
				nsreg_error_set(err, NSREG_INTERNAL, NULL,
				    "write decisions: unexpected result");
			return -1;
		}
	}
	return ret;
}

/*
 * The batch in one round trip: its inserts sent in a pipeline, one
 * implicit transaction up to the sync (all or none).  A connection left
 * in an unknown state is closed (the pool connects it again).
 */
int
store_pg_decision_append(void *b, const struct store_decision *v, size_t n,
    struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_rparams	 p;
	const struct store_decision *d;
	char			*text = NULL, name[16];
	size_t			 i;
	int			 ret = -1;

	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	if (PQenterPipelineMode(c->db) != 1) {
		store_pg_fail(c, NULL, "write decisions", err);
		goto done;
	}
	snprintf(name, sizeof(name), "s%d", (int)PG_DECISION_INSERT);
	for (i = 0; i < n; i++) {
		d = &v[i];
		store_pg_rint(&p, 0, d->time);
		free(text);
		if (d->text != NULL) {
			p.v[1] = d->principal;
			p.v[2] = d->action;
			p.v[3] = d->decision;
			text = strndup(d->text, d->len);
		} else {
			p.v[1] = store_pg_entry_string(d->entry, "principal");
			p.v[2] = store_pg_entry_string(d->entry, "action");
			p.v[3] = store_pg_entry_string(json_object_get(
			    d->entry, "decision"), "decision");
			text = json_dumps(d->entry, JSON_COMPACT);
		}
		if (text == NULL) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
			    "decision entry %zu cannot be stored", i);
			goto done;
		}
		p.v[4] = text;
		/* libpq copies the parameters into its buffer here. */
		if (PQsendQueryPrepared(c->db, name, 5, p.v, NULL, NULL,
		    0) != 1) {
			store_pg_fail(c, NULL, "write decision", err);
			goto done;
		}
	}
	if (PQpipelineSync(c->db) != 1) {
		store_pg_fail(c, NULL, "write decisions", err);
		goto done;
	}
	ret = store_pg_pipeline_results(c, n, err);
done:
	if (PQpipelineStatus(c->db) != PQ_PIPELINE_OFF &&
	    (ret == -1 || PQexitPipelineMode(c->db) != 1)) {
		PQfinish(c->db);
		c->db = NULL;
		c->prepared = 0;
	}
	free(text);
	store_pg_conn_put(s, c);
	return ret;
}

int
store_pg_decision_list(void *b, const struct store_decision_query *q,
    json_t **items, int64_t *next_id, struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_rparams	 p;
	PGresult		*r = NULL;
	json_t			*list = NULL, *e;
	size_t			 limit = q->limit != 0 ? q->limit : 100;
	unsigned int		 mask;
	int64_t			 id, last = 0;
	int			 i, n, ret = -1;

	*next_id = 0;
	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	mask = (q->principal != NULL ? 1 : 0) | (q->action != NULL ? 2 : 0) |
	    (q->decision != NULL ? 4 : 0) | (q->has_since ? 8 : 0) |
	    (q->has_until ? 16 : 0);
	if ((list = json_array()) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	store_pg_rint(&p, 0, q->before_id != 0 ? q->before_id : INT64_MAX);
	p.v[1] = q->principal;
	p.v[2] = q->action;
	p.v[3] = q->decision;
	/* One more than asked tells whether a next page exists. */
	store_pg_rint(&p, 4, (int64_t)limit + 1);
	p.v[5] = NULL;
	p.v[6] = NULL;
	if (mask & 8)
		store_pg_rint(&p, 5, q->since);
	if (mask & 16)
		store_pg_rint(&p, 6, q->until);
	if ((r = store_pg_run(c, (enum store_pg_sql)(PG_DECISIONS + mask), 7,
	    p.v, "decisions", err)) == NULL)
		goto done;
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		id = store_pg_int(r, i, 0);
		if (json_array_size(list) == limit) {
			*next_id = last;
			break;
		}
		e = store_pg_parse(PQgetvalue(r, i, 1),
		    (size_t)PQgetlength(r, i, 1));
		if (e == NULL || json_object_set_new(e, "id",
		    json_integer(id)) == -1 ||
		    json_array_append_new(list, e) == -1) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "decision %lld: unreadable", (long long)id);
			goto done;
		}
		last = id;
	}
	*items = list;
	list = NULL;
	ret = 0;
done:
	PQclear(r);
	json_decref(list);
	store_pg_conn_put(s, c);
	return ret;
}

int64_t
store_pg_decision_prune(void *b, int64_t before, struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_rparams	 p;
	PGresult		*r;
	int64_t			 n, total = 0;

	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	/* Bounded statements, so that writers interleave. */
	do {
		store_pg_rint(&p, 0, before);
		store_pg_rint(&p, 1, STORE_PG_DECISION_BATCH);
		if ((r = store_pg_run(c, PG_DECISION_PRUNE, 2, p.v,
		    "prune decisions", err)) == NULL) {
			total = -1;
			break;
		}
		n = strtoll(PQcmdTuples(r), NULL, 10);
		PQclear(r);
		total += n;
	} while (n == STORE_PG_DECISION_BATCH);
	store_pg_conn_put(s, c);
	return total;
}
