/*
 * store_pg.c - the PostgreSQL backend: a pool of libpq connections with
 * their prepared statements, migrations, the write transaction (the
 * revision counter, retries on serialisation failures, events handed to
 * the listener after commit) and the object writes.  Reads are in
 * store_pg_reads.c; store_pg_int.h says how revisions stay in commit
 * order.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_pg_int.h"

static const char *const store_pg_sql[PG_SQL_MAX] = {
	[PG_REVISION_LOCK] =
	    "SELECT value FROM meta WHERE key = 'revision' FOR UPDATE",
	[PG_REVISION_SET] =
	    "UPDATE meta SET value = $1 WHERE key = 'revision'",
	[PG_REVISION] = "SELECT value FROM meta WHERE key = 'revision'",
	[PG_META_GET] = "SELECT value FROM meta WHERE key = $1",
	[PG_META_SET] =
	    "INSERT INTO meta (key, value) VALUES ($1, $2) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[PG_OBJECT_GET] =
	    "SELECT revision, created_at, updated_at, expires_at, owner, "
	    "object, services FROM objects WHERE kind = $1 AND name = $2",
	[PG_OBJECT_INSERT] =
	    "INSERT INTO objects (kind, name, revision, created_at, "
	    "updated_at, expires_at, owner, object, services) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	[PG_OBJECT_UPDATE] =
	    "UPDATE objects SET revision = $3, updated_at = $5, "
	    "expires_at = $6, owner = $7, object = $8, services = $9 "
	    "WHERE kind = $1 AND name = $2 AND created_at = $4",
	[PG_OBJECT_DELETE] =
	    "DELETE FROM objects WHERE kind = $1 AND name = $2",
	[PG_EVENT_INSERT] =
	    "INSERT INTO events (revision, kind, type, name, reason, object) "
	    "VALUES ($1, $2, $3, $4, $5, $6)",
	[PG_LIST] =
	    "SELECT name, object FROM objects WHERE kind = $1 AND name > $2 "
	    "AND (expires_at = 0 OR expires_at > $3) "
	    "ORDER BY name LIMIT $4",
	[PG_LIST_SERVICES] =
	    "SELECT name, object FROM objects WHERE kind = $1 AND name > $2 "
	    "AND (expires_at = 0 OR expires_at > $3) "
	    "AND services @> $5::jsonb ORDER BY name LIMIT $4",
	[PG_COUNT] =
	    "SELECT count(*) FROM objects WHERE kind = $1 "
	    "AND (expires_at = 0 OR expires_at > $2)",
	[PG_EXPIRED] =
	    "SELECT name, object FROM objects "
	    "WHERE kind = $1 AND expires_at BETWEEN 1 AND $2 "
	    "ORDER BY expires_at LIMIT $3",
	[PG_WATCH] =
	    "SELECT revision, type, name, reason, object FROM events "
	    "WHERE kind = $1 AND revision > $2 ORDER BY revision LIMIT $3",
	[PG_TRIM_MARKS] =
	    "SELECT kind, max(revision) FROM events WHERE revision <= $1 "
	    "GROUP BY kind",
	[PG_TRIM_DELETE] = "DELETE FROM events WHERE revision <= $1",
	[PG_DECISION_INSERT] =
	    "INSERT INTO decisions (time, principal, action, decision, entry) "
	    "VALUES ($1, $2, $3, $4, $5)",
	[PG_DECISION_PRUNE] =
	    "DELETE FROM decisions WHERE id IN (SELECT id FROM decisions "
	    "WHERE time < $1 ORDER BY time LIMIT $2)",
	[PG_OBJECT_REV] =
	    "SELECT revision, expires_at FROM objects "
	    "WHERE kind = $1 AND name = $2",
	[PG_GRANT_INSERT] =
	    "INSERT INTO grants (id, service, endpoint, kid, slot, lease, "
	    "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	[PG_GRANT_GET] =
	    "SELECT service, slot, lease FROM grants WHERE id = $1",
	[PG_GRANT_DELETE] = "DELETE FROM grants WHERE id = $1",
	[PG_GRANT_REFRESH] =
	    "UPDATE grants SET kid = $2, expires_at = $3 WHERE id = $1",
	[PG_GRANTS_OF_ENDPOINT] = "SELECT id FROM grants WHERE endpoint = $1",
	[PG_GRANTS_OF_ENDPOINT_SERVICE] =
	    "SELECT id FROM grants WHERE endpoint = $1 AND service = $2",
	[PG_GRANTS_OF_SERVICE] = "SELECT id FROM grants WHERE service = $1",
	[PG_GRANT_LOADS] =
	    "SELECT endpoint, count(*) FROM grants WHERE expires_at > $1 "
	    "GROUP BY endpoint",
	[PG_POOL_GET] =
	    "SELECT prefix, client_len, low FROM ipam_pools WHERE service = $1",
	[PG_POOL_PUT] =
	    "INSERT INTO ipam_pools (service, prefix, client_len, low) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT (service) DO UPDATE SET "
	    "prefix = excluded.prefix, client_len = excluded.client_len, "
	    "low = excluded.low",
	[PG_POOL_DELETE] = "DELETE FROM ipam_pools WHERE service = $1",
	[PG_LEASES_DELETE] = "DELETE FROM ipam_leases WHERE service = $1",
	[PG_LEASE_HOLD] =
	    "UPDATE ipam_leases SET grants = grants + 1, "
	    "expires_at = GREATEST(expires_at, $3) "
	    "WHERE service = $1 AND principal = $2 RETURNING slot, lease",
	[PG_LEASE_EXTEND] =
	    "UPDATE ipam_leases SET expires_at = GREATEST(expires_at, $4) "
	    "WHERE service = $1 AND slot = $2 AND lease = $3",
	[PG_LEASE_TOP] =
	    "SELECT slot FROM ipam_leases WHERE service = $1 "
	    "ORDER BY slot DESC LIMIT 1",
	[PG_FREE_FIRST] =
	    "SELECT slot FROM ipam_free WHERE service = $1 "
	    "ORDER BY slot LIMIT 1",
	[PG_FREE_TAKE] =
	    "DELETE FROM ipam_free WHERE service = $1 AND slot = $2",
	[PG_FREE_PUT] =
	    "INSERT INTO ipam_free (service, slot) VALUES ($1, $2) "
	    "ON CONFLICT DO NOTHING",
	[PG_FREES_DELETE] = "DELETE FROM ipam_free WHERE service = $1",
	[PG_LEASE_INSERT] =
	    "INSERT INTO ipam_leases (service, slot, principal, lease, grants, "
	    "expires_at) VALUES ($1, $2, $3, $4, 1, $5)",
	[PG_LEASE_FREE] =
	    "DELETE FROM ipam_leases WHERE service = $1 AND slot = $2 "
	    "AND lease = $3 AND grants <= 1",
	[PG_LEASE_DROP] =
	    "UPDATE ipam_leases SET grants = grants - 1 "
	    "WHERE service = $1 AND slot = $2 AND lease = $3",
	[PG_LEASES_LIVE] =
	    "SELECT count(*) FROM ipam_leases "
	    "WHERE service = $1 AND expires_at > $2",
	[PG_KEY_GET] = "SELECT retired_at FROM grant_keys WHERE kid = $1",
	[PG_KEY_CURRENT] =
	    "SELECT kid FROM grant_keys WHERE retired_at IS NULL",
	[PG_KEY_RETIRE] =
	    "UPDATE grant_keys SET retired_at = $2, expires_at = "
	    "GREATEST($2, coalesce((SELECT max(expires_at) FROM grants "
	    "WHERE kid = $1), 0)) WHERE kid = $1",
	[PG_KEY_INSERT] =
	    "INSERT INTO grant_keys (kid, jwk, created_at) VALUES ($1, $2, $3) "
	    "ON CONFLICT (kid) DO UPDATE SET jwk = excluded.jwk, "
	    "retired_at = NULL, expires_at = NULL",
	[PG_KEYS_LIST] =
	    "SELECT kid, jwk, created_at, retired_at, expires_at "
	    "FROM grant_keys WHERE retired_at IS NULL OR expires_at > $1 "
	    "ORDER BY retired_at IS NOT NULL, created_at DESC, kid",
	[PG_KEYS_PRUNE] =
	    "DELETE FROM grant_keys "
	    "WHERE retired_at IS NOT NULL AND expires_at <= $1",
	/* The wake-up sent with the commit, in the same round trip. */
	[PG_REVISION_SET_NOTIFY] =
	    "UPDATE meta SET value = $1::bigint WHERE key = 'revision' "
	    "AND pg_notify($2::text, $1::bigint::text) IS NOT NULL",
	[PG_EVENTS_AFTER] =
	    "SELECT revision, kind, type, name, reason, object FROM events "
	    "WHERE revision > $1 AND revision <= $2 ORDER BY revision "
	    "LIMIT $3",
	/* Times by the database's clock: instances' clocks may differ. */
	[PG_TASK_CLAIM] =
	    "INSERT INTO task_leases AS t (task, holder, expires_at) "
	    "VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)"
	    "::bigint + $3::bigint) ON CONFLICT (task) DO UPDATE SET "
	    "holder = excluded.holder, expires_at = excluded.expires_at "
	    "WHERE t.holder = excluded.holder OR t.expires_at < "
	    "(extract(epoch FROM clock_timestamp()) * 1000)::bigint "
	    "RETURNING holder",
	[PG_TASK_RELEASE] =
	    "DELETE FROM task_leases WHERE task = $1 AND holder = $2",
};

/*
 * Decision lists by filter mask: principal 1, action 2, decision 4,
 * since 8, until 16.
 */
static int
store_pg_decisions_sql(unsigned int mask, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "SELECT id, entry FROM decisions "
	    "WHERE id < $1%s%s%s%s%s ORDER BY id DESC LIMIT $5",
	    mask & 1 ? " AND principal = $2" : " AND $2::text IS NULL",
	    mask & 2 ? " AND action = $3" : " AND $3::text IS NULL",
	    mask & 4 ? " AND decision = $4" : " AND $4::text IS NULL",
	    mask & 8 ? " AND time >= $6" : " AND $6::bigint IS NULL",
	    mask & 16 ? " AND time < $7" : " AND $7::bigint IS NULL");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A connection's failure as an nsreg error; sets c's retry flag. */
int
store_pg_fail(struct store_pg_conn *c, const PGresult *r, const char *what,
    struct nsreg_error *err)
{
	const char	*state, *msg;

	state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	msg = r != NULL ? PQresultErrorMessage(r) : NULL;
	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(c->db);
	if (state != NULL && (strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0)) {
		c->retry = 1;
		return nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
		    "%s: serialisation failure, try again", what);
	}
	if (PQstatus(c->db) != CONNECTION_OK || state == NULL ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "%s: database unavailable: %.200s", what, msg);
	return nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %.300s", what,
	    msg);
}

/*
 * Pipeline mode.  Statements sent with store_pg_later are read in the
 * order sent: each result, then the NULL that ends it.  Once one fails,
 * the server skips the rest up to the sync (PGRES_PIPELINE_ABORTED); a
 * connection whose results are not in step is closed by
 * store_pg_pipe_end.
 */

/* The connection is out of step: nothing more is read from it. */
static int
store_pg_pipe_lost(struct store_pg_conn *c, const char *what,
    struct nsreg_error *err)
{
	if (c->pipe_failed == 0)
		store_pg_fail(c, NULL, what, err);
	c->pipe_failed = 2;
	return -1;
}

/* Read the result of one statement sent (p: what it must do). */
static int
store_pg_pipe_read(struct store_pg_conn *c, const struct store_pg_pending *p,
    struct nsreg_error *err)
{
	PGresult	*r, *end;
	int		 ret = 0;

	if ((r = PQgetResult(c->db)) == NULL)
		return store_pg_pipe_lost(c, p->what, err);
	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		if (p->one && strcmp(PQcmdTuples(r), "1") != 0) {
			if (c->pipe_failed == 0)
				nsreg_error_set(err, NSREG_INTERNAL, NULL,
				    "%s: the row vanished", p->what);
			ret = -1;
		}
		break;
	case PGRES_PIPELINE_ABORTED:	/* after a failure, told already */
		ret = -1;
		break;
	default:
		if (c->pipe_failed == 0)
			store_pg_fail(c, r, p->what, err);
		ret = -1;
		break;
	}
	if (ret == 0 && p->keep != NULL)
		*p->keep = r;
	else
		PQclear(r);
	if ((end = PQgetResult(c->db)) != NULL) {
		PQclear(end);
		return store_pg_pipe_lost(c, p->what, err);
	}
	if (ret == -1 && c->pipe_failed == 0)
		c->pipe_failed = 1;
	return ret;
}

/* Read every result still pending; 0, or -1 when a statement failed. */
static int
store_pg_pipe_collect(struct store_pg_conn *c, struct nsreg_error *err)
{
	size_t	i, n = c->npend;

	c->npend = 0;
	if (c->pipe_failed == 2)
		return -1;
	if (n > 0 && (PQsendFlushRequest(c->db) != 1 || PQflush(c->db) != 0))
		return store_pg_pipe_lost(c, c->pend[0].what, err);
	for (i = 0; i < n; i++)
		if (store_pg_pipe_read(c, &c->pend[i], err) == -1 &&
		    c->pipe_failed == 2)
			return -1;
	return c->pipe_failed != 0 ? -1 : 0;
}

/* After a statement sent in pipeline mode: wait for its result. */
static PGresult *
store_pg_pipe_wait(struct store_pg_conn *c, int sent, const char *what,
    struct nsreg_error *err)
{
	PGresult	*r, *end;

	if (sent != 1 || PQsendFlushRequest(c->db) != 1 ||
	    PQflush(c->db) != 0 || (r = PQgetResult(c->db)) == NULL) {
		store_pg_pipe_lost(c, what, err);
		return NULL;
	}
	if ((end = PQgetResult(c->db)) != NULL) {
		PQclear(end);
		PQclear(r);
		store_pg_pipe_lost(c, what, err);
		return NULL;
	}
	return r;
}

/* Enter pipeline mode on c (idle, outside a transaction). */
static int
store_pg_pipe_begin(struct store_pg_conn *c, struct nsreg_error *err)
{
	if (PQenterPipelineMode(c->db) != 1)
		return store_pg_fail(c, NULL, "pipeline", err);
	c->pipe = 1;
	c->pipe_failed = 0;
	c->npend = 0;
	return 0;
}

/*
 * Leave pipeline mode: a sync, then every result pending and the
 * sync's.  0, or -1 with err when a statement failed; a connection out
 * of step is closed (the pool connects it again).
 */
static int
store_pg_pipe_end(struct store_pg_conn *c, struct nsreg_error *err)
{
	PGresult	*r;
	int		 ret;

	if (!c->pipe)
		return 0;
	c->pipe = 0;
	if (c->pipe_failed != 2 && PQpipelineSync(c->db) != 1)
		store_pg_pipe_lost(c, "sync", err);
	ret = store_pg_pipe_collect(c, err);
	if (c->pipe_failed != 2) {
		if ((r = PQgetResult(c->db)) == NULL ||
		    PQresultStatus(r) != PGRES_PIPELINE_SYNC ||
		    PQexitPipelineMode(c->db) != 1)
			store_pg_pipe_lost(c, "sync", err);
		PQclear(r);
	}
	if (c->pipe_failed == 2) {
		PQfinish(c->db);
		c->db = NULL;
		c->prepared = 0;
		return -1;
	}
	return ret;
}

int
store_pg_exec(struct store_pg_conn *c, const char *sql, const char *what,
    struct nsreg_error *err)
{
	PGresult	*r;
	int		 ret = 0;

	if (c->pipe) {
		if (store_pg_pipe_collect(c, err) == -1)
			return -1;
		r = store_pg_pipe_wait(c, PQsendQueryParams(c->db, sql, 0,
		    NULL, NULL, NULL, NULL, 0), what, err);
		if (r == NULL)
			return -1;
	} else
		r = PQexec(c->db, sql);
	if (r == NULL || (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)) {
		ret = store_pg_fail(c, r, what, err);
		if (c->pipe)
			c->pipe_failed = 1;
	}
	PQclear(r);
	return ret;
}

PGresult *
store_pg_run(struct store_pg_conn *c, enum store_pg_sql id, int nparams,
    const char *const *params, const char *what, struct nsreg_error *err)
{
	PGresult	*r;
	char		 name[16];

	snprintf(name, sizeof(name), "s%d", (int)id);
	if (c->pipe) {
		if (store_pg_pipe_collect(c, err) == -1)
			return NULL;
		r = store_pg_pipe_wait(c, PQsendQueryPrepared(c->db, name,
		    nparams, params, NULL, NULL, 0), what, err);
		if (r == NULL)
			return NULL;
	} else
		r = PQexecPrepared(c->db, name, nparams, params, NULL, NULL,
		    0);
	if (r == NULL || (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)) {
		store_pg_fail(c, r, what, err);
		if (c->pipe)
			c->pipe_failed = 1;
		PQclear(r);
		return NULL;
	}
	return r;
}

/* Queue the result of a statement just sent (or its failure to go). */
static int
store_pg_pend(struct store_pg_conn *c, int sent, const char *what, int one,
    PGresult **keep, struct nsreg_error *err)
{
	if (sent != 1)
		return store_pg_pipe_lost(c, what, err);
	c->pend[c->npend].what = what;
	c->pend[c->npend].one = one;
	c->pend[c->npend].keep = keep;
	c->npend++;
	return 0;
}

/*
 * In pipeline mode, send a prepared statement whose result goes to
 * *keep when it is read (store_pg_pipe_collect), NULL until then or if
 * it failed.  0 or -1.
 */
static int
store_pg_send(struct store_pg_conn *c, enum store_pg_sql id, int nparams,
    const char *const *params, const char *what, PGresult **keep,
    struct nsreg_error *err)
{
	char	name[16];

	*keep = NULL;
	if (c->pipe_failed != 0 || (c->npend == STORE_PG_PIPE_MAX &&
	    store_pg_pipe_collect(c, err) == -1))
		return -1;
	snprintf(name, sizeof(name), "s%d", (int)id);
	return store_pg_pend(c, PQsendQueryPrepared(c->db, name, nparams,
	    params, NULL, NULL, 0), what, 0, keep, err);
}

int
store_pg_later(struct store_pg_conn *c, enum store_pg_sql id, int nparams,
    const char *const *params, const char *what, int one,
    struct nsreg_error *err)
{
	PGresult	*r;
	char		 name[16];
	int		 ret = 0;

	if (!c->pipe) {
		if ((r = store_pg_run(c, id, nparams, params, what,
		    err)) == NULL)
			return -1;
		if (one && strcmp(PQcmdTuples(r), "1") != 0)
			ret = nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "%s: the row vanished", what);
		PQclear(r);
		return ret;
	}
	if (c->pipe_failed != 0 || (c->npend == STORE_PG_PIPE_MAX &&
	    store_pg_pipe_collect(c, err) == -1))
		return -1;
	snprintf(name, sizeof(name), "s%d", (int)id);
	return store_pg_pend(c, PQsendQueryPrepared(c->db, name, nparams,
	    params, NULL, NULL, 0), what, one, NULL, err);
}

int
store_pg_later_sql(struct store_pg_conn *c, const char *sql,
    const char *what, struct nsreg_error *err)
{
	if (!c->pipe)
		return store_pg_exec(c, sql, what, err);
	if (c->pipe_failed != 0 || (c->npend == STORE_PG_PIPE_MAX &&
	    store_pg_pipe_collect(c, err) == -1))
		return -1;
	return store_pg_pend(c, PQsendQueryParams(c->db, sql, 0, NULL, NULL,
	    NULL, NULL, 0), what, 0, NULL, err);
}

int64_t
store_pg_int(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

json_t *
store_pg_parse(const char *text, size_t len)
{
	return json_loadb(text, len, JSON_DECODE_ANY, NULL);
}

const char *
store_pg_statement(enum store_pg_sql id, char *buf, size_t len)
{
	if ((int)id < 0 || id >= PG_SQL_MAX)
		return NULL;
	if (id < PG_DECISIONS)
		return store_pg_sql[id];
	if (store_pg_decisions_sql((unsigned int)(id - PG_DECISIONS), buf,
	    len) == -1)
		return NULL;
	return buf;
}

/* Prepare every statement on c. */
static int
store_pg_prepare(struct store_pg_conn *c, struct nsreg_error *err)
{
	PGresult	*r;
	char		 name[16], sql[256];
	const char	*text, *state;
	int		 i;

	for (i = 0; i < PG_SQL_MAX; i++) {
		if ((text = store_pg_statement((enum store_pg_sql)i, sql,
		    sizeof(sql))) == NULL)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "statement %d too long", i);
		snprintf(name, sizeof(name), "s%d", i);
		r = PQprepare(c->db, name, text, 0, NULL);
		/* An engine without pg_notify() (LISTEN/NOTIFY is only a
		 * hint): writers then commit without a wake-up. */
		if (i == PG_REVISION_SET_NOTIFY) {
			c->notify = r != NULL &&
			    PQresultStatus(r) == PGRES_COMMAND_OK;
			state = r != NULL ? PQresultErrorField(r,
			    PG_DIAG_SQLSTATE) : NULL;
			if (!c->notify && state != NULL &&
			    strcmp(state, "42883") == 0) {
				PQclear(r);
				continue;
			}
		}
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			store_pg_fail(c, r, "prepare", err);
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	c->prepared = 1;
	return 0;
}

/* Server notices ("already exists, skipping") are not errors. */
static void
store_pg_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int64_t
store_pg_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * 1 when c holds a connection that still works as far as can be told
 * without a round trip: a server that went away (restarted, or ended
 * its session) left an end of file or an error to read.
 */
static int
store_pg_alive(struct store_pg_conn *c)
{
	if (c->db == NULL || PQstatus(c->db) != CONNECTION_OK)
		return 0;
	if (PQconsumeInput(c->db) == 0 || PQstatus(c->db) != CONNECTION_OK)
		return 0;
	return 1;
}

/*
 * (Re)connect c when it has no working connection.  While the database
 * is unreachable, one thread at a time tries, with a growing pause
 * between tries; the others fail at once (503 unavailable) with the
 * reason of the last failure.
 */
static int
store_pg_connect(struct store_pg *s, struct store_pg_conn *c,
    struct nsreg_error *err)
{
	static const char *const keys[] = {
		"connect_timeout", "keepalives_idle", "keepalives_interval",
		"keepalives_count", "application_name", "dbname", NULL
	};
	const char	*values[7], *msg;
	PGresult	*r;
	int64_t		 now;
	int		 ok;

	if (store_pg_alive(c))
		return 0;
	now = store_pg_mono_ms();
	pthread_mutex_lock(&s->plock);
	if (s->backoff != 0 && (s->connecting || now < s->down_until)) {
		pthread_mutex_unlock(&s->plock);
		return nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "database unavailable: %s", s->why[0] != '\0' ? s->why :
		    "reconnecting");
	}
	s->connecting++;
	pthread_mutex_unlock(&s->plock);

	if (c->db != NULL)
		PQfinish(c->db);
	c->prepared = 0;
	/* The URL's own settings, given last, win over these defaults. */
	values[0] = STORE_PG_CONNECT_TIMEOUT;
	values[1] = "10";
	values[2] = "5";
	values[3] = "3";
	values[4] = "nsregd";
	values[5] = s->url;
	values[6] = NULL;
	c->db = PQconnectdbParams(keys, values, 1);
	ok = c->db != NULL && PQstatus(c->db) == CONNECTION_OK;
	if (ok) {
		PQsetNoticeProcessor(c->db, store_pg_notice, NULL);
		/* Best effort: engines without the setting refuse it. */
		r = c->keep_plans ? NULL : PQexec(c->db,
		    STORE_PG_SESSION_SQL);
		c->plans = r != NULL &&
		    PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		ok = PQstatus(c->db) == CONNECTION_OK;
	}

	pthread_mutex_lock(&s->plock);
	s->connecting--;
	if (ok) {
		s->backoff = 0;
		s->down_until = 0;
		s->why[0] = '\0';
	} else {
		s->backoff = s->backoff == 0 ? STORE_PG_BACKOFF_MIN :
		    s->backoff * 2;
		if (s->backoff > STORE_PG_BACKOFF_MAX)
			s->backoff = STORE_PG_BACKOFF_MAX;
		s->down_until = store_pg_mono_ms() + s->backoff;
		/* libpq's first line says it all. */
		msg = c->db != NULL ? PQerrorMessage(c->db) : "out of memory";
		snprintf(s->why, sizeof(s->why), "%.*s",
		    (int)strcspn(msg, "\n"), msg);
		nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "database unavailable: %s", s->why);
	}
	pthread_mutex_unlock(&s->plock);
	return ok ? 0 : -1;
}

struct store_pg_conn *
store_pg_conn_get(struct store_pg *s, struct nsreg_error *err)
{
	struct store_pg_conn	*c;

	pthread_mutex_lock(&s->plock);
	while ((c = s->free) == NULL)
		pthread_cond_wait(&s->pcond, &s->plock);
	s->free = c->next;
	pthread_mutex_unlock(&s->plock);
	c->retry = 0;
	if (store_pg_conn_ready(s, c, err) == -1) {
		store_pg_conn_put(s, c);
		return NULL;
	}
	return c;
}

int
store_pg_conn_ready(struct store_pg *s, struct store_pg_conn *c,
    struct nsreg_error *err)
{
	if (store_pg_connect(s, c, err) == -1 ||
	    (!c->prepared && store_pg_prepare(c, err) == -1))
		return -1;
	return 0;
}

void
store_pg_conn_put(struct store_pg *s, struct store_pg_conn *c)
{
	/* A connection left inside a transaction is of no use to others. */
	if (c->db != NULL && PQstatus(c->db) == CONNECTION_OK &&
	    PQtransactionStatus(c->db) != PQTRANS_IDLE)
		store_pg_exec(c, "ROLLBACK", "rollback", NULL);
	pthread_mutex_lock(&s->plock);
	c->next = s->free;
	s->free = c;
	pthread_cond_signal(&s->pcond);
	pthread_mutex_unlock(&s->plock);
}

void
store_pg_param_int(struct store_pg_params *p, int i, int64_t v)
{
	snprintf(p->num[i], sizeof(p->num[i]), "%lld", (long long)v);
	p->v[i] = p->num[i];
}

/*
 * The schema named first in the URL's search_path: created when missing,
 * so that one database can hold several registries (and each test its
 * own).
 */
static int
store_pg_schema(struct store_pg_conn *c, struct nsreg_error *err)
{
	PGresult	*r;
	char		*id = NULL, *sql = NULL, *first, *end;
	size_t		 len;
	int		 ret = -1;

	r = PQexec(c->db, "SELECT current_schema() IS NULL, "
	    "current_setting('search_path')");
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		store_pg_fail(c, r, "search_path", err);
		goto done;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		ret = 0;
		goto done;
	}
	first = PQgetvalue(r, 0, 1);
	first += strspn(first, " ");
	end = first + strcspn(first, ",");
	while (end > first && end[-1] == ' ')
		end--;
	if (end - first >= 2 && first[0] == '"' && end[-1] == '"') {
		first++;
		end--;
	}
	if (end == first || memchr(first, '"', (size_t)(end - first)) !=
	    NULL || strncmp(first, "$user", 5) == 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "database",
		    "the database has no schema to use (set search_path)");
		goto done;
	}
	if ((id = PQescapeIdentifier(c->db, first, (size_t)(end - first))) ==
	    NULL) {
		store_pg_fail(c, NULL, "search_path", err);
		goto done;
	}
	len = strlen(id) + 64;
	if ((sql = malloc(len)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	snprintf(sql, len, "CREATE SCHEMA IF NOT EXISTS %s", id);
	ret = store_pg_exec(c, sql, "create schema", err);
done:
	PQclear(r);
	PQfreemem(id);
	free(sql);
	return ret;
}

/*
 * Bring the schema to the last of mig, one transaction per migration,
 * under a lock on schema_migrations so that instances starting together
 * migrate once.  A database newer than mig is refused.
 */
static int
store_pg_migrate(struct store_pg_conn *c, const char *url,
    const struct store_migration *mig, struct nsreg_error *err)
{
	const struct store_migration	*m, *last = NULL;
	PGresult			*r = NULL;
	const char			*params[2];
	char				 num[24];
	int64_t				 current;
	int				 ret = -1;

	for (m = mig; m->name != NULL; m++) {
		if (m->version <= 0 || (last != NULL &&
		    m->version <= last->version)) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "migration %s: versions out of order", m->name);
			goto done;
		}
		last = m;
	}
	if (store_pg_schema(c, err) == -1 ||
	    store_pg_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations "
	    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
	    "applied_at BIGINT NOT NULL)", "schema_migrations", err) == -1)
		goto done;
	for (;;) {
		if (store_pg_exec(c, "BEGIN", "migrate", err) == -1 ||
		    store_pg_exec(c, "LOCK TABLE schema_migrations IN "
		    "EXCLUSIVE MODE", "migrate", err) == -1)
			goto done;
		r = PQexec(c->db, "SELECT version, name FROM "
		    "schema_migrations ORDER BY version DESC LIMIT 1");
		if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
			store_pg_fail(c, r, "schema_migrations", err);
			goto done;
		}
		current = PQntuples(r) > 0 ? store_pg_int(r, 0, 0) : 0;
		if (current > (last != NULL ? last->version : 0)) {
			nsreg_error_set(err, NSREG_FAILED_PRECONDITION,
			    "database", "database %s has schema version "
			    "%lld (%s), newer than the %d this nsregd knows: "
			    "run a newer nsregd", url, (long long)current,
			    PQgetvalue(r, 0, 1),
			    last != NULL ? last->version : 0);
			goto done;
		}
		PQclear(r);
		r = NULL;
		for (m = mig; m->name != NULL && m->version <= current; m++)
			;
		if (m->name == NULL)
			break;
		r = PQexec(c->db, m->sql);
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			nsreg_error_set(err, NSREG_INTERNAL, "database",
			    "database %s: migration %s: %.300s", url, m->name,
			    r != NULL ? PQresultErrorMessage(r) :
			    PQerrorMessage(c->db));
			goto done;
		}
		PQclear(r);
		snprintf(num, sizeof(num), "%d", m->version);
		params[0] = num;
		params[1] = m->name;
		r = PQexecParams(c->db, "INSERT INTO schema_migrations "
		    "(version, name, applied_at) VALUES ($1, $2, "
		    "(extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
		    2, NULL, params, NULL, NULL, 0);
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			store_pg_fail(c, r, "schema_migrations", err);
			goto done;
		}
		PQclear(r);
		r = NULL;
		if (store_pg_exec(c, "COMMIT", "migrate", err) == -1)
			goto done;
	}
	if (store_pg_exec(c, "COMMIT", "migrate", err) == -1)
		goto done;
	ret = 0;
done:
	PQclear(r);
	if (PQtransactionStatus(c->db) != PQTRANS_IDLE)
		store_pg_exec(c, "ROLLBACK", "rollback", NULL);
	return ret;
}

/* The write transaction. */

static void
store_pg_events_drop(struct store_pg *s)
{
	size_t	i;

	for (i = 0; i < s->nevents; i++) {
		free(s->events[i].name);
		free(s->events[i].text);
		json_decref(s->events[i].object);
	}
	s->nevents = 0;
}

/* Forget the events written after the first n (a job rolled back). */
static void
store_pg_events_cut(struct store_pg *s, size_t n)
{
	size_t	i;

	for (i = n; i < s->nevents; i++) {
		free(s->events[i].name);
		free(s->events[i].text);
		json_decref(s->events[i].object);
	}
	if (n < s->nevents)
		s->nevents = n;
}

/*
 * 1 when the rows of batch's jobs may be read ahead, all together before
 * any of them runs: each job writes one endpoint of its own, and no job
 * (nor its cascades, which touch grants) changes an endpoint it does not
 * name.
 */
static int
store_pg_ahead(const struct store_pg_job *batch)
{
	const struct store_pg_job	*j, *k;

	for (j = batch; j != NULL; j = j->next) {
		if (j->name == NULL || j->kind != STORE_ENDPOINT)
			return 0;
		for (k = batch; k != j; k = k->next)
			if (strcmp(k->name, j->name) == 0)
				return 0;
	}
	return 1;
}

static void
store_pg_ahead_clear(struct store_pg_job *batch)
{
	struct store_pg_job	*j;

	for (j = batch; j != NULL; j = j->next) {
		PQclear(j->pre);
		j->pre = NULL;
	}
}

/*
 * Send the row read of each job from j on (into its pre), then read
 * every result pending: one round trip.  0 or -1.
 */
static int
store_pg_read_ahead(struct store_pg *s, struct store_pg_job *j,
    struct nsreg_error *err)
{
	struct store_pg_params	 p;

	for (; j != NULL; j = j->next) {
		store_pg_param_int(&p, 0, (int64_t)j->kind);
		p.v[1] = j->name;
		if (store_pg_send(s->wc, PG_OBJECT_GET, 2, p.v, "read",
		    &j->pre, err) == -1)
			return -1;
	}
	return store_pg_pipe_collect(s->wc, err);
}

/*
 * Holding the revision row (another instance may have held it a while):
 * take the writes queued meanwhile into batch, up to STORE_PG_GROUP_MAX,
 * and, with ahead, read their rows, one round trip.  Only writes that
 * keep the batch as it is (ahead or not) come.  0 or -1.
 */
static int
store_pg_batch_grow(struct store_pg *s, struct store_pg_job *batch,
    int ahead, struct nsreg_error *err)
{
	struct store_pg_job	*tail, *j, *added;
	size_t			 n;

	for (tail = batch, n = 1; tail->next != NULL; tail = tail->next)
		n++;
	pthread_mutex_lock(&s->qlock);
	while (s->queue != NULL && n < STORE_PG_GROUP_MAX) {
		j = s->queue;
		tail->next = j;
		if (ahead && !store_pg_ahead(batch)) {
			tail->next = NULL;
			break;
		}
		s->queue = j->next;
		if (s->queue == NULL)
			s->qtail = &s->queue;
		j->next = NULL;
		tail = j;
		n++;
	}
	pthread_mutex_unlock(&s->qlock);
	if (!ahead)
		return 0;
	for (added = batch; added != NULL && added->pre != NULL;
	    added = added->next)
		;
	return added == NULL ? 0 : store_pg_read_ahead(s, added, err);
}

/*
 * Lock the revision row; with ahead, the rows of batch's jobs are read
 * in the same round trip.  The lock's result, or NULL.
 */
static PGresult *
store_pg_lock(struct store_pg *s, struct store_pg_job *batch, int ahead,
    struct nsreg_error *err)
{
	PGresult		*r;

	if (!ahead)
		return store_pg_run(s->wc, PG_REVISION_LOCK, 0, NULL,
		    "revision", err);
	if (store_pg_send(s->wc, PG_REVISION_LOCK, 0, NULL, "revision", &r,
	    err) == -1)
		return NULL;
	if (store_pg_read_ahead(s, batch, err) == -1) {
		PQclear(r);
		store_pg_ahead_clear(batch);
		return NULL;
	}
	return r;
}

/*
 * Run the jobs of batch in one write transaction on s->wc, which holds
 * the revision row when it starts; again from the start on a
 * serialisation failure.  With several jobs, each runs in a savepoint:
 * one that fails is rolled back alone (its revisions given back) and
 * fails alone.  Once committed, the events go to the listener in
 * order.  Sets each job's ret (and err when it failed).
 *
 * The transaction runs in pipeline mode: what only has to work (the
 * savepoints, object and event rows, the counter, COMMIT) is sent
 * without waiting, so a job costs the round trip of its row read and
 * the batch one more for its commit.  When a statement fails in the
 * pipeline, the server skips the rest and the failure cannot be told
 * apart from the jobs after it: the batch is run again without a
 * pipeline, where each job's statements are waited for and a job that
 * fails goes alone.  When each job writes an endpoint of its own, their
 * rows are read with the lock of the revision row, in one round trip:
 * the batch then costs two whatever its size.
 */
static void
store_pg_write_batch(struct store_pg *s, struct store_pg_job *batch)
{
	struct store_pg_params	 p;
	struct store_pg_job	*j;
	struct nsreg_error	 e;
	PGresult		*r;
	int64_t			 first = 0, rev0;
	size_t			 ev0;
	int			 tries, multi, redo, pipelined = 1;
	int			 ahead = 0, alone = 0, committed = 0;

	multi = batch->next != NULL;
	memset(&e, 0, sizeof(e));
	pthread_mutex_lock(&s->wlock);
	if ((s->wc = store_pg_conn_get(s, &e)) == NULL)
		goto unlock;
	for (tries = 0; tries < STORE_PG_TRIES; tries++) {
		s->wc->retry = 0;
		alone = 0;
		store_pg_events_drop(s);
		for (j = batch; j != NULL; j = j->next)
			j->ret = 0;
		if (pipelined && store_pg_pipe_begin(s->wc, &e) == -1)
			break;
		if (store_pg_later_sql(s->wc, "BEGIN", "begin", &e) == -1 ||
		    (s->wc->plans && store_pg_later_sql(s->wc,
		    STORE_PG_WRITE_SQL, "begin", &e) == -1))
			goto again;
		/*
		 * Jobs whose rows are read ahead check them before they
		 * write: one that fails wrote nothing, so they share the
		 * transaction without savepoints; one failing otherwise
		 * has the batch run again with them (alone).
		 */
		ahead = pipelined && store_pg_ahead(batch);
		if ((r = store_pg_lock(s, batch, ahead, &e)) == NULL)
			goto again;
		if (PQntuples(r) != 1) {
			PQclear(r);
			nsreg_error_set(&e, NSREG_INTERNAL, NULL,
			    "the revision counter is missing");
			goto again;
		}
		first = s->next_rev = store_pg_int(r, 0, 0);
		PQclear(r);
		if (tries == 0 && store_pg_batch_grow(s, batch, ahead,
		    &e) == -1)
			goto again;
		multi = batch->next != NULL;
		for (j = batch; j != NULL; j = j->next) {
			if (multi && !ahead && store_pg_later_sql(s->wc,
			    "SAVEPOINT w", "savepoint", &e) == -1)
				goto again;
			rev0 = s->next_rev;
			ev0 = s->nevents;
			s->job = j;
			j->ret = j->fn(s, j->arg);
			s->job = NULL;
			if (j->ret == 0)
				continue;
			if (!multi || s->wc->retry || s->wc->pipe_failed)
				goto again;
			if (ahead) {
				alone = 1;
				goto again;
			}
			/* This job alone goes; its error stays its own. */
			if (store_pg_exec(s->wc, "ROLLBACK TO SAVEPOINT w",
			    "savepoint", &e) == -1)
				goto again;
			s->next_rev = rev0;
			store_pg_events_cut(s, ev0);
		}
		if (s->next_rev != first) {
			store_pg_param_int(&p, 0, s->next_rev);
			p.v[1] = s->channel;
			if (store_pg_later(s->wc, s->wc->notify ?
			    PG_REVISION_SET_NOTIFY : PG_REVISION_SET,
			    s->wc->notify ? 2 : 1, p.v, "revision", 1,
			    &e) == -1)
				goto again;
		}
		if (store_pg_later_sql(s->wc, "COMMIT", "commit", &e) == -1 ||
		    store_pg_pipe_end(s->wc, &e) == -1)
			goto again;
		committed = 1;
		store_pg_ahead_clear(batch);
		break;
again:
		store_pg_ahead_clear(batch);
		/*
		 * Not after a lost connection: its COMMIT may have been
		 * done.  A statement that failed was followed by nothing.
		 */
		redo = s->wc->retry || alone || (s->wc->pipe_failed == 1 &&
		    PQstatus(s->wc->db) == CONNECTION_OK);
		if (s->wc->pipe_failed || alone)
			pipelined = 0;
		store_pg_pipe_end(s->wc, NULL);
		s->wc->pipe_failed = 0;
		if (s->wc->db != NULL &&
		    PQtransactionStatus(s->wc->db) != PQTRANS_IDLE)
			store_pg_exec(s->wc, "ROLLBACK", "rollback", NULL);
		/* A connection closed out of step is connected again. */
		if (!redo || store_pg_conn_ready(s, s->wc, &e) == -1)
			break;
	}
	if (committed && s->listener != NULL && s->nevents > 0)
		store_pg_follow_local(s, first);
	store_pg_conn_put(s, s->wc);
	s->wc = NULL;
	store_pg_events_drop(s);
unlock:
	pthread_mutex_unlock(&s->wlock);
	for (j = batch; j != NULL; j = j->next) {
		if (committed)
			continue;
		/* A job that failed by itself keeps its own error. */
		if (j->ret == 0 && j->err != NULL)
			*j->err = e;
		j->ret = -1;
	}
}

/*
 * Run fn(s, arg) in a write transaction on s->wc holding the revision
 * row, together with the writes queued meanwhile by other threads
 * (group commit): the first writer to find nobody leading runs what is
 * queued, the others wait for it.
 */
int
store_pg_write(struct store_pg *s, int (*fn)(struct store_pg *, void *),
    void *arg, struct nsreg_error *err)
{
	return store_pg_write_one(s, fn, arg, STORE_KIND_MAX, NULL, err);
}

/*
 * Take what is queued (qlock held, leading set by the caller): up to
 * STORE_PG_GROUP_MAX jobs.
 */
static struct store_pg_job *
store_pg_batch_take(struct store_pg *s)
{
	struct store_pg_job	*batch, *j;
	size_t			 n;

	batch = s->queue;
	for (j = batch, n = 1; j->next != NULL && n < STORE_PG_GROUP_MAX;
	    j = j->next, n++)
		;
	s->queue = j->next;
	if (s->queue == NULL)
		s->qtail = &s->queue;
	j->next = NULL;
	return batch;
}

/*
 * After a batch (qlock held): mark its jobs done and wake their writers,
 * but self's; the next to lead is the first queued, or the writer thread
 * when nobody waits for it.  The jobs without a writer are returned, to
 * complete once qlock is let go.
 */
static struct store_pg_job *
store_pg_batch_end(struct store_pg *s, struct store_pg_job *batch,
    struct store_pg_job *self)
{
	struct store_pg_job	*j, *next, *lone = NULL, **tail = &lone;

	for (j = batch; j != NULL; j = next) {
		next = j->next;
		j->done = 1;
		if (j->complete != NULL) {
			j->next = NULL;
			*tail = j;
			tail = &j->next;
		} else if (j != self)
			pthread_cond_signal(&j->cond);
	}
	s->leading = 0;
	if (s->queue != NULL && s->queue->complete == NULL)
		pthread_cond_signal(&s->queue->cond);
	else if (s->queue != NULL || s->wstop)
		pthread_cond_signal(&s->wcond);
	return lone;
}

static void
store_pg_complete(struct store_pg_job *lone)
{
	struct store_pg_job	*j, *next;

	for (j = lone; j != NULL; j = next) {
		next = j->next;
		j->complete(j);
	}
}

int
store_pg_write_one(struct store_pg *s, int (*fn)(struct store_pg *, void *),
    void *arg, enum store_kind kind, const char *name,
    struct nsreg_error *err)
{
	struct store_pg_job	 job, *batch, *lone = NULL;

	memset(&job, 0, sizeof(job));
	job.fn = fn;
	job.arg = arg;
	job.err = err;
	job.kind = kind;
	job.name = name;
	job.ret = -1;
	pthread_cond_init(&job.cond, NULL);
	pthread_mutex_lock(&s->qlock);
	*s->qtail = &job;
	s->qtail = &job.next;
	while (!job.done) {
		if (s->leading) {
			pthread_cond_wait(&job.cond, &s->qlock);
			continue;
		}
		s->leading = 1;
		batch = store_pg_batch_take(s);
		pthread_mutex_unlock(&s->qlock);
		store_pg_write_batch(s, batch);
		pthread_mutex_lock(&s->qlock);
		lone = store_pg_batch_end(s, batch, &job);
	}
	pthread_mutex_unlock(&s->qlock);
	pthread_cond_destroy(&job.cond);
	store_pg_complete(lone);
	return job.ret;
}

/* Leads the writes queued without a thread waiting, while nobody does. */
static void *
store_pg_writer(void *arg)
{
	struct store_pg		*s = arg;
	struct store_pg_job	*batch, *lone;

	pthread_setname_np(pthread_self(), "nsreg-writer");
	pthread_mutex_lock(&s->qlock);
	for (;;) {
		while ((s->queue == NULL || s->leading) && !(s->wstop &&
		    s->queue == NULL && !s->leading))
			pthread_cond_wait(&s->wcond, &s->qlock);
		if (s->queue == NULL)
			break;
		s->leading = 1;
		batch = store_pg_batch_take(s);
		pthread_mutex_unlock(&s->qlock);
		store_pg_write_batch(s, batch);
		pthread_mutex_lock(&s->qlock);
		lone = store_pg_batch_end(s, batch, NULL);
		pthread_mutex_unlock(&s->qlock);
		store_pg_complete(lone);
		pthread_mutex_lock(&s->qlock);
	}
	pthread_mutex_unlock(&s->qlock);
	return NULL;
}

void
store_pg_writer_stop(struct store_pg *s)
{
	int	join;

	pthread_mutex_lock(&s->qlock);
	s->wstop = 1;
	join = s->writing;
	s->writing = 0;
	pthread_cond_signal(&s->wcond);
	pthread_mutex_unlock(&s->qlock);
	if (join)
		pthread_join(s->writer, NULL);
}

static int	store_pg_run_put(struct store_pg *, void *);
static int	store_pg_object_done(struct store_pg_op *, int);

/* A put in flight without a thread waiting for it. */
struct store_pg_async {
	struct store_pg_job	 job;
	struct store_pg_op	 op;
	struct nsreg_error	 err;
	store_done_fn		 done;
	void			*done_arg;
};

static void
store_pg_async_complete(struct store_pg_job *j)
{
	struct store_pg_async	*a = (struct store_pg_async *)j;
	int			 rc;

	rc = store_pg_object_done(&a->op, j->ret);
	a->done(rc, a->op.obj, a->op.created, &a->err, a->done_arg);
	free(a);
}

int
store_pg_put_async(void *b, struct store_object *obj, int64_t if_match,
    store_check_fn check, void *arg, int64_t now, store_done_fn done,
    void *done_arg, struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_async	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	a->op.err = &a->err;
	a->op.now = now;
	a->op.obj = obj;
	a->op.expect_rev = if_match;
	a->op.check = check;
	a->op.check_arg = arg;
	a->done = done;
	a->done_arg = done_arg;
	a->job.fn = store_pg_run_put;
	a->job.arg = &a->op;
	a->job.err = &a->err;
	a->job.kind = obj->kind;
	a->job.name = obj->name;
	a->job.ret = -1;
	a->job.complete = store_pg_async_complete;
	pthread_mutex_lock(&s->qlock);
	if (s->wstop || (!s->writing && pthread_create(&s->writer, NULL,
	    store_pg_writer, s) != 0)) {
		pthread_mutex_unlock(&s->qlock);
		free(a);
		return nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
		    "the store is closing");
	}
	s->writing = 1;
	*s->qtail = &a->job;
	s->qtail = &a->job.next;
	if (!s->leading)
		pthread_cond_signal(&s->wcond);
	pthread_mutex_unlock(&s->qlock);
	return 0;
}

/*
 * Write one event row and keep it for the listener.  object (stolen) is
 * the rendered object of text, or NULL to parse text.
 */
static int
store_pg_event_put(struct store_pg *s, int64_t rev, enum store_kind kind,
    enum store_event_type type, const char *name, const char *reason,
    const char *text, json_t *object, struct nsreg_error *err)
{
	struct store_pg_params	 p;
	struct store_pg_event	*ev, *nv;
	size_t			 cap;
	int			 ret = -1;

	store_pg_param_int(&p, 0, rev);
	store_pg_param_int(&p, 1, (int64_t)kind);
	store_pg_param_int(&p, 2, (int64_t)type);
	p.v[3] = name;
	p.v[4] = reason;
	p.v[5] = text;
	if (store_pg_later(s->wc, PG_EVENT_INSERT, 6, p.v, "write event", 0,
	    err) == -1)
		goto done;
	if (s->listener == NULL) {
		ret = 0;
		goto done;
	}
	if (object == NULL && (object = store_pg_parse(text,
	    strlen(text))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s %s: unreadable stored object", store_kind_name(kind),
		    name);
		goto done;
	}
	if (s->nevents == s->events_cap) {
		cap = s->events_cap != 0 ? s->events_cap * 2 : 16;
		if ((nv = realloc(s->events, cap * sizeof(*nv))) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto done;
		}
		s->events = nv;
		s->events_cap = cap;
	}
	ev = &s->events[s->nevents];
	ev->text = NULL;
	ev->text_len = 0;
	/* The endpoint cache keeps the text of what stays stored. */
	if ((ev->name = strdup(name)) == NULL || (type != STORE_DELETED &&
	    kind == STORE_ENDPOINT && (ev->text = strdup(text)) == NULL)) {
		free(ev->name);
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	if (ev->text != NULL)
		ev->text_len = strlen(ev->text);
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

void
store_pg_row_clear(struct store_pg_row *row)
{
	free(row->owner);
	free(row->object);
	free(row->services);
	memset(row, 0, sizeof(*row));
}

char *
store_pg_dup(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return strdup(PQgetvalue(r, row, col));
}

int
store_pg_row_get(struct store_pg *s, enum store_kind kind, const char *name,
    struct store_pg_row *row, struct nsreg_error *err)
{
	struct store_pg_params	 p;
	PGresult		*r;
	int			 ret = -1;

	memset(row, 0, sizeof(*row));
	/* Read ahead with the batch's lock (store_pg_lock), once. */
	if (s->job != NULL && s->job->pre != NULL && s->job->kind == kind &&
	    strcmp(s->job->name, name) == 0) {
		r = s->job->pre;
		s->job->pre = NULL;
	} else {
		store_pg_param_int(&p, 0, (int64_t)kind);
		p.v[1] = name;
		if ((r = store_pg_run(s->wc, PG_OBJECT_GET, 2, p.v, "read",
		    err)) == NULL)
			return -1;
	}
	if (PQntuples(r) == 0) {
		ret = 0;
		goto done;
	}
	row->found = 1;
	row->revision = store_pg_int(r, 0, 0);
	row->created_at = store_pg_int(r, 0, 1);
	row->updated_at = store_pg_int(r, 0, 2);
	row->expires_at = store_pg_int(r, 0, 3);
	row->owner = store_pg_dup(r, 0, 4);
	row->object = store_pg_dup(r, 0, 5);
	row->services = store_pg_dup(r, 0, 6);
	if ((!PQgetisnull(r, 0, 4) && row->owner == NULL) ||
	    row->object == NULL ||
	    (!PQgetisnull(r, 0, 6) && row->services == NULL)) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		store_pg_row_clear(row);
		goto done;
	}
	row->object_len = strlen(row->object);
	ret = 0;
done:
	PQclear(r);
	return ret;
}

/*
 * Delete the stored object kind/name whose rendered text is given, with
 * a DELETED event.  The deleted object (new reference) goes to *oldp
 * when oldp is not NULL.
 */
int
store_pg_remove(struct store_pg *s, enum store_kind kind, const char *name,
    const char *text, const char *reason, json_t **oldp,
    struct nsreg_error *err)
{
	struct store_pg_params	 p;
	json_t			*old = NULL;
	int			 ret = -1;

	if (oldp != NULL && (old = store_pg_parse(text, strlen(text))) ==
	    NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "%s %s: unreadable stored object", store_kind_name(kind),
		    name);
		goto done;
	}
	store_pg_param_int(&p, 0, (int64_t)kind);
	p.v[1] = name;
	if (store_pg_later(s->wc, PG_OBJECT_DELETE, 2, p.v, "delete", 1,
	    err) == -1)
		goto done;
	if (kind == STORE_GRANT && store_pg_grant_release(s, name, err) == -1)
		goto done;
	if (store_pg_event_put(s, ++s->next_rev, kind, STORE_DELETED, name,
	    reason, text, json_incref(old), err) == -1)
		goto done;
	/* After its own event: what went with it. */
	if ((kind == STORE_ENDPOINT || kind == STORE_SERVICE) &&
	    store_pg_cascade(s, kind, name, err) == -1)
		goto done;
	if (oldp != NULL) {
		*oldp = old;
		old = NULL;
	}
	ret = 0;
done:
	json_decref(old);
	return ret;
}

/* Insert (or update) the row of obj, whose revision and times are set. */
int
store_pg_object_put(struct store_pg *s, const struct store_object *obj,
    enum store_pg_sql id, enum store_event_type type, char **textp,
    size_t *lenp, struct nsreg_error *err)
{
	struct store_pg_params	 p;
	const json_t		*services;
	json_t			*rendered = NULL;
	char			*text = NULL, *stext = NULL;
	size_t			 len;
	int			 ret = -1;

	if ((text = store_object_text(obj, s->listener != NULL ? &rendered :
	    NULL, &len, err)) == NULL)
		goto done;
	if ((services = store_object_services(obj)) != NULL &&
	    (stext = json_dumps(services, JSON_COMPACT)) == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "network_service_names", "network_service_names "
		    "cannot be stored");
		goto done;
	}
	store_pg_param_int(&p, 0, (int64_t)obj->kind);
	p.v[1] = obj->name;
	store_pg_param_int(&p, 2, obj->revision);
	store_pg_param_int(&p, 3, obj->created_at);
	store_pg_param_int(&p, 4, obj->updated_at);
	store_pg_param_int(&p, 5, obj->expires_at);
	p.v[6] = obj->owner;
	p.v[7] = text;
	p.v[8] = stext;
	/* Read in this transaction, which holds the revision row: the
	 * row is there, unless the database went wrong. */
	if (store_pg_later(s->wc, id, 9, p.v, "write", id == PG_OBJECT_UPDATE,
	    err) == -1)
		goto done;
	ret = store_pg_event_put(s, obj->revision, obj->kind, type, obj->name,
	    NULL, text, rendered, err);
	rendered = NULL;
	if (ret == 0 && textp != NULL) {
		free(*textp);
		*textp = text;
		*lenp = len;
		text = NULL;
	}
done:
	json_decref(rendered);
	free(text);
	free(stext);
	return ret;
}

static int
store_pg_insert_at(struct store_pg *s, struct store_pg_op *op,
    struct store_pg_row *row)
{
	struct store_object	tmp = *op->obj;

	/* An expired object still stored goes first, as the sweep would. */
	if (row->found && store_pg_remove(s, tmp.kind, tmp.name, row->object,
	    STORE_REASON_EXPIRED, NULL, op->err) == -1)
		return -1;
	if (tmp.kind == STORE_SERVICE && store_pg_pool_check(s, &tmp,
	    op->now, op->err) == -1)
		return -1;
	tmp.revision = ++s->next_rev;
	tmp.created_at = op->now;
	tmp.updated_at = op->now;
	if (store_pg_object_put(s, &tmp, PG_OBJECT_INSERT, STORE_ADDED,
	    &op->text, &op->text_len, op->err) == -1)
		return -1;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	return 0;
}

static int
store_pg_replace_at(struct store_pg *s, struct store_pg_op *op,
    struct store_pg_row *row)
{
	struct store_object	tmp = *op->obj;

	if (tmp.kind == STORE_SERVICE && store_pg_pool_check(s, &tmp,
	    op->now, op->err) == -1)
		return -1;
	tmp.revision = ++s->next_rev;
	tmp.created_at = row->created_at;
	tmp.updated_at = op->now;
	/* The owner is recorded once: an update without one keeps it. */
	if (tmp.owner == NULL)
		tmp.owner = row->owner;
	if (store_pg_object_put(s, &tmp, PG_OBJECT_UPDATE, STORE_MODIFIED,
	    &op->text, &op->text_len, op->err) == -1)
		return -1;
	/* After its event: the grants of services it no longer offers. */
	if (tmp.kind == STORE_ENDPOINT && store_pg_endpoint_dropped(s,
	    tmp.name, row->services, store_object_services(&tmp),
	    op->err) == -1)
		return -1;
	op->revision = tmp.revision;
	op->created_at = tmp.created_at;
	free(op->owner);
	op->owner = NULL;
	if (op->obj->owner == NULL) {
		op->owner = row->owner;
		row->owner = NULL;
	}
	return 0;
}

/* The check of store_put on the current object held by row. */
static int
store_pg_put_check(struct store_pg_op *op, struct store_pg_row *row,
    int live)
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
	if ((cur.doc = store_pg_parse(row->object, row->object_len)) == NULL)
		return nsreg_error_set(op->err, NSREG_INTERNAL, NULL,
		    "%s %s: unreadable stored object",
		    store_kind_name(cur.kind), cur.name);
	store_object_strip(cur.doc, cur.kind);
	rc = op->check(&cur, op->obj, op->check_arg, op->err);
	json_decref(cur.doc);
	return rc;
}

static int
store_pg_run_create(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_pg_row	 row;
	int			 ret = -1;

	if (store_pg_row_get(s, op->obj->kind, op->obj->name, &row,
	    op->err) == -1)
		return -1;
	if (row.found && store_pg_live(row.expires_at, op->now))
		nsreg_error_set(op->err, NSREG_ALREADY_EXISTS, "name",
		    "%s %s already exists", store_kind_name(op->obj->kind),
		    op->obj->name);
	else
		ret = store_pg_insert_at(s, op, &row);
	store_pg_row_clear(&row);
	return ret;
}

static int
store_pg_run_update(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_pg_row	 row;
	int			 ret = -1;

	if (store_pg_row_get(s, op->obj->kind, op->obj->name, &row,
	    op->err) == -1)
		return -1;
	if (!row.found || !store_pg_live(row.expires_at, op->now))
		nsreg_error_set(op->err, NSREG_NOT_FOUND, "name",
		    "%s %s not found", store_kind_name(op->obj->kind),
		    op->obj->name);
	else if (op->expect_rev != 0 && row.revision != op->expect_rev)
		nsreg_error_set(op->err, NSREG_FAILED_PRECONDITION,
		    "revision", "%s %s is at revision %lld, not %lld",
		    store_kind_name(op->obj->kind), op->obj->name,
		    (long long)row.revision, (long long)op->expect_rev);
	else
		ret = store_pg_replace_at(s, op, &row);
	store_pg_row_clear(&row);
	return ret;
}

static int
store_pg_run_put(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_pg_row	 row;
	int			 ret = -1, live;

	if (store_pg_row_get(s, op->obj->kind, op->obj->name, &row,
	    op->err) == -1)
		return -1;
	live = row.found && store_pg_live(row.expires_at, op->now);
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
	if (store_pg_put_check(op, &row, live) == -1)
		goto done;
	op->created = !live;
	ret = live ? store_pg_replace_at(s, op, &row) :
	    store_pg_insert_at(s, op, &row);
done:
	store_pg_row_clear(&row);
	return ret;
}

int
store_pg_run_delete(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_pg_row	 row;
	json_t			*old = NULL;
	int			 ret = -1;

	if (store_pg_row_get(s, op->kind, op->name, &row, op->err) == -1)
		return -1;
	if (!row.found || !store_pg_live(row.expires_at, op->now)) {
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
	if (store_pg_remove(s, op->kind, op->name, row.object, op->reason,
	    op->want_old ? &old : NULL, op->err) == -1)
		goto done;
	if (op->want_old) {
		store_object_clear(&op->old);
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
	store_pg_row_clear(&row);
	return ret;
}

/* Delete up to STORE_PG_PRUNE_BATCH expired objects of op->kind. */
static int
store_pg_run_expire(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_pg_params	 p;
	PGresult		*r;
	int			 i, n, ret = -1;

	op->count = 0;
	store_pg_param_int(&p, 0, (int64_t)op->kind);
	store_pg_param_int(&p, 1, op->now);
	store_pg_param_int(&p, 2, STORE_PG_PRUNE_BATCH);
	if ((r = store_pg_run(s->wc, PG_EXPIRED, 3, p.v, "read expired",
	    op->err)) == NULL)
		return -1;
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		if (store_pg_remove(s, op->kind, PQgetvalue(r, i, 0),
		    PQgetvalue(r, i, 1), STORE_REASON_EXPIRED, NULL,
		    op->err) == -1)
			goto done;
	}
	op->count = n;
	ret = 0;
done:
	PQclear(r);
	return ret;
}

/*
 * Trim the event history to s->history events, recording per kind the
 * newest event that went.  Revisions have no gaps (each is one event),
 * so the cut is the last revision minus the history.
 */
static int
store_pg_run_trim(struct store_pg *s, void *arg)
{
	struct store_pg_op	*op = arg;
	struct store_pg_params	 p, q;
	PGresult		*r, *m;
	char			 key[32];
	int64_t			 cutoff;
	int			 i, kind, ret = -1;

	op->count = 0;
	if ((cutoff = s->next_rev - (int64_t)s->history) <= 0)
		return 0;
	store_pg_param_int(&p, 0, cutoff);
	if ((r = store_pg_run(s->wc, PG_TRIM_MARKS, 1, p.v, "trim events",
	    op->err)) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		kind = (int)store_pg_int(r, i, 0);
		if (kind < 0 || kind >= STORE_KIND_MAX)
			continue;
		snprintf(key, sizeof(key), "trimmed.%d", kind);
		q.v[0] = key;
		store_pg_param_int(&q, 1, store_pg_int(r, i, 1));
		if ((m = store_pg_run(s->wc, PG_META_SET, 2, q.v,
		    "trim events", op->err)) == NULL)
			goto done;
		PQclear(m);
	}
	PQclear(r);
	store_pg_param_int(&p, 0, cutoff);
	if ((r = store_pg_run(s->wc, PG_TRIM_DELETE, 1, p.v, "trim events",
	    op->err)) == NULL)
		return -1;
	op->count = strtoll(PQcmdTuples(r), NULL, 10);
	ret = 0;
done:
	PQclear(r);
	return ret;
}

/* The verbs. */

/* Hand op's results to op->obj after its write (ret: its result). */
static int
store_pg_object_done(struct store_pg_op *op, int ret)
{
	struct store_object	*obj = op->obj;

	if (ret == 0) {
		obj->revision = op->revision;
		obj->created_at = op->created_at;
		obj->updated_at = op->now;
		if (op->owner != NULL) {
			free(obj->owner);
			obj->owner = op->owner;
			op->owner = NULL;
		}
		free(obj->text);
		obj->text = op->text;
		obj->text_len = op->text_len;
		op->text = NULL;
	}
	free(op->owner);
	free(op->text);
	op->owner = NULL;
	op->text = NULL;
	return ret;
}

int
store_pg_write_object(struct store_pg *s, int (*fn)(struct store_pg *,
    void *), struct store_pg_op *op)
{
	return store_pg_object_done(op, store_pg_write_one(s, fn, op,
	    op->obj->kind, op->obj->name, op->err));
}

static int
store_pg_create(void *b, struct store_object *obj, int64_t now,
    struct nsreg_error *err)
{
	struct store_pg_op	op = {
		.err = err,
		.now = now,
		.obj = obj,
	};

	return store_pg_write_object(b, store_pg_run_create, &op);
}

static int
store_pg_update(void *b, struct store_object *obj, int64_t expect_rev,
    int64_t now, struct nsreg_error *err)
{
	struct store_pg_op	op = {
		.err = err,
		.now = now,
		.obj = obj,
		.expect_rev = expect_rev,
	};

	return store_pg_write_object(b, store_pg_run_update, &op);
}

static int
store_pg_put(void *b, struct store_object *obj, int64_t if_match,
    store_check_fn check, void *arg, int64_t now, int *created,
    struct nsreg_error *err)
{
	struct store_pg_op	op = {
		.err = err,
		.now = now,
		.obj = obj,
		.expect_rev = if_match,
		.check = check,
		.check_arg = arg,
	};

	if (store_pg_write_object(b, store_pg_run_put, &op) == -1)
		return -1;
	*created = op.created;
	return 0;
}

static int
store_pg_delete(void *b, enum store_kind kind, const char *name,
    int64_t expect_rev, int64_t now, struct store_object *old,
    struct nsreg_error *err)
{
	struct store_pg_op	op = {
		.err = err,
		.now = now,
		.kind = kind,
		.name = name,
		.expect_rev = expect_rev,
		.want_old = old != NULL,
	};

	if (store_pg_write_one(b, store_pg_run_delete, &op, kind, name,
	    err) == -1) {
		store_object_clear(&op.old);
		return -1;
	}
	if (old != NULL)
		*old = op.old;
	return 0;
}

static int64_t
store_pg_prune(void *b, int64_t now, struct nsreg_error *err)
{
	struct store_pg_op	op;
	int64_t			total = 0;
	int			kind;

	/* Bounded transactions, so writers interleave with a big sweep. */
	for (kind = 0; kind < STORE_KIND_MAX; kind++) {
		do {
			memset(&op, 0, sizeof(op));
			op.err = err;
			op.now = now;
			op.kind = (enum store_kind)kind;
			if (store_pg_write(b, store_pg_run_expire, &op,
			    err) == -1)
				return -1;
			total += op.count;
		} while (op.count == STORE_PG_PRUNE_BATCH);
	}
	memset(&op, 0, sizeof(op));
	op.err = err;
	op.now = now;
	if (store_pg_write(b, store_pg_run_trim, &op, err) == -1)
		return -1;
	memset(&op, 0, sizeof(op));
	op.err = err;
	op.now = now;
	if (store_pg_write(b, store_pg_run_keys_prune, &op, err) == -1)
		return -1;
	return total;
}

static void
store_pg_set_listener(void *b, store_listener_fn fn, void *arg)
{
	struct store_pg	*s = b;

	pthread_mutex_lock(&s->wlock);
	store_pg_follow_listen(s, fn, arg);
	pthread_mutex_unlock(&s->wlock);
}

static void
store_pg_set_gap_handler(void *b, store_gap_fn fn, void *arg)
{
	struct store_pg	*s = b;

	pthread_mutex_lock(&s->dlock);
	s->gap = fn;
	s->gap_arg = arg;
	pthread_mutex_unlock(&s->dlock);
}

static int
store_pg_ping(void *b)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct nsreg_error	 err;
	int			 up;

	if ((c = store_pg_conn_get(s, &err)) == NULL)
		return 0;
	up = store_pg_exec(c, "SELECT 1", "ping", &err) == 0;
	store_pg_conn_put(s, c);
	return up;
}

static int64_t
store_pg_revision(void *b)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct nsreg_error	 err;
	PGresult		*r;
	int64_t			 rev = -1;

	if ((c = store_pg_conn_get(s, &err)) == NULL)
		return -1;
	if ((r = store_pg_run(c, PG_REVISION, 0, NULL, "revision",
	    &err)) != NULL && PQntuples(r) == 1)
		rev = store_pg_int(r, 0, 0);
	PQclear(r);
	store_pg_conn_put(s, c);
	return rev;
}

static void
store_pg_close(void *b)
{
	struct store_pg	*s = b;
	size_t		 i;

	if (s == NULL)
		return;
	store_pg_writer_stop(s);
	store_pg_cache_stop(s);
	store_pg_follow_stop(s);
	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i].db != NULL)
			PQfinish(s->conns[i].db);
	}
	free(s->conns);
	store_pg_events_drop(s);
	free(s->events);
	pthread_mutex_destroy(&s->plock);
	pthread_cond_destroy(&s->pcond);
	pthread_mutex_destroy(&s->wlock);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->wcond);
	pthread_mutex_destroy(&s->dlock);
	store_pg_cache_free(&s->cache);
	free(s->url);
	free(s);
}

/* The pool's size for a server of threads threads (store_pg_int.h). */
static size_t
store_pg_pool_size(int threads)
{
	int	n;

	n = (threads > 0 ? threads : 4) + STORE_PG_CONNS_EXTRA;
	if (n < STORE_PG_CONNS_MIN)
		n = STORE_PG_CONNS_MIN;
	if (n > STORE_PG_CONNS_MAX)
		n = STORE_PG_CONNS_MAX;
	return (size_t)n;
}

static int
store_pg_task_claim(void *b, const char *task, const char *holder,
    int64_t ttl_ms, struct nsreg_error *err)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_params	 p;
	PGresult		*r;
	int			 ret = -1;

	if ((c = store_pg_conn_get(s, err)) == NULL)
		return -1;
	p.v[0] = task;
	p.v[1] = holder;
	store_pg_param_int(&p, 2, ttl_ms);
	if ((r = store_pg_run(c, PG_TASK_CLAIM, 3, p.v, "task lease",
	    err)) != NULL)
		ret = PQntuples(r) == 1;
	PQclear(r);
	store_pg_conn_put(s, c);
	return ret;
}

static void
store_pg_task_release(void *b, const char *task, const char *holder)
{
	struct store_pg		*s = b;
	struct store_pg_conn	*c;
	struct store_pg_params	 p;
	struct nsreg_error	 err;

	if ((c = store_pg_conn_get(s, &err)) == NULL)
		return;
	p.v[0] = task;
	p.v[1] = holder;
	PQclear(store_pg_run(c, PG_TASK_RELEASE, 2, p.v, "task lease", &err));
	store_pg_conn_put(s, c);
}

static void
store_pg_stats(void *b, struct store_stats *out)
{
	struct store_pg	*s = b;

	out->lists_memory = __atomic_load_n(&s->cache.lists_memory,
	    __ATOMIC_RELAXED);
	out->lists_database = __atomic_load_n(&s->cache.lists_database,
	    __ATOMIC_RELAXED);
}

static void *
store_pg_open(const char *url, const struct store_options *opt,
    const struct store_migration *migrations, struct nsreg_error *err)
{
	struct store_pg		*s;
	struct store_pg_conn	*c;
	size_t			 i;
	int			 ok = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->plock, NULL);
	pthread_cond_init(&s->pcond, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->wcond, NULL);
	s->qtail = &s->queue;
	pthread_mutex_init(&s->dlock, NULL);
	store_pg_cache_init(&s->cache);
	s->stop[0] = s->stop[1] = -1;
	s->history = opt->history != 0 ? opt->history : STORE_HISTORY_DEFAULT;
	s->nconns = store_pg_pool_size(opt->threads);
	if ((s->conns = calloc(s->nconns, sizeof(*s->conns))) == NULL ||
	    (s->url = strdup(url)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto done;
	}
	for (i = 0; i < s->nconns; i++) {
		s->conns[i].next = s->free;
		s->free = &s->conns[i];
	}
	/* Migrate before preparing: statements need the tables. */
	c = &s->conns[0];
	if (store_pg_connect(s, c, err) == -1 ||
	    store_pg_migrate(c, url, migrations, err) == -1 ||
	    store_pg_prepare(c, err) == -1 ||
	    store_pg_follow_start(s, err) == -1)
		goto done;
	ok = 1;
done:
	if (!ok) {
		store_pg_close(s);
		s = NULL;
	}
	return s;
}

const struct store_backend store_backend_postgres = {
	.name = "postgresql",
	.scheme = "postgresql://",
	.alias = "postgres://",
	.migrations = schema_postgres,
	.open = store_pg_open,
	.close = store_pg_close,
	.set_listener = store_pg_set_listener,
	.set_gap_handler = store_pg_set_gap_handler,
	.ping = store_pg_ping,
	.revision = store_pg_revision,
	.create = store_pg_create,
	.update = store_pg_update,
	.put = store_pg_put,
	.fetch = store_pg_fetch,
	.delete = store_pg_delete,
	.list = store_pg_list,
	.count = store_pg_count,
	.prune = store_pg_prune,
	.watch = store_pg_watch,
	.decision_append = store_pg_decision_append,
	.decision_list = store_pg_decision_list,
	.decision_prune = store_pg_decision_prune,
	.grant_create = store_pg_grant_create,
	.grant_update = store_pg_grant_update,
	.grant_delete = store_pg_grant_delete,
	.grant_loads = store_pg_grant_loads,
	.ipam_usage = store_pg_ipam_usage,
	.grant_key_use = store_pg_grant_key_use,
	.grant_keys = store_pg_grant_keys,
	.stats = store_pg_stats,
	.when_fresh = store_pg_when_fresh,
	.put_async = store_pg_put_async,
	.task_claim = store_pg_task_claim,
	.task_release = store_pg_task_release,
};
