/*
 * store_sqlite_writer.c - the SQLite backend's group-commit writer and
 * its checkpointer (how they work: store_sqlite.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

/* Undo what a failed or uncommitted operation kept for its caller. */
static void
store_sqlite_op_forget(struct store_sqlite_op *op)
{
	free(op->owner);
	op->owner = NULL;
	store_object_clear(&op->old);
}

/* Hand a write's results to the caller's object. */
static void
store_sqlite_written(struct store_object *obj, struct store_sqlite_op *op)
{
	obj->revision = op->revision;
	obj->created_at = op->created_at;
	obj->updated_at = op->now;
	if (op->owner != NULL) {
		free(obj->owner);
		obj->owner = op->owner;
	}
	free(obj->text);
	obj->text = op->text;
	obj->text_len = op->text_len;
}

/* Run a write of op->obj and hand its results over. */
int
store_sqlite_write_object(struct store_sqlite *s, struct store_sqlite_op *op)
{
	if (store_sqlite_write(s, op) == -1) {
		free(op->text);
		op->text = NULL;
		return -1;
	}
	store_sqlite_written(op->obj, op);
	return 0;
}

/* Finish an async put: hand the results over, call back, free. */
static void
store_sqlite_complete(struct store_sqlite_op *op)
{
	if (op->rc == 0)
		store_sqlite_written(op->obj, op);
	else
		free(op->text);
	op->complete(op->rc == 0 ? 0 : -1, op->obj, op->created,
	    &op->errbuf, op->complete_arg);
	free(op);
}

/*
 * Run ops[0..n) in one transaction, each in a savepoint when there are
 * several; commit; publish the revision; call the listener.
 */
static void
store_sqlite_batch(struct store_sqlite *s, struct store_sqlite_op **ops,
    size_t n, store_listener_fn listener, void *listener_arg)
{
	struct store_sqlite_conn	*c = s->writer;
	struct store_sqlite_event	*ev;
	struct store_event		 e;
	struct nsreg_error		 err;
	int64_t				 start_rev, mark_rev;
	size_t				 i, mark_ev, mark_ic, ok = 0;
	int				 broken = 0, sp = n > 1;

	nsreg_error_clear(&err);
	s->keep_events = listener != NULL;
	/* rc 1: not run yet. */
	for (i = 0; i < n; i++)
		ops[i]->rc = 1;
	if (store_sqlite_exec(c, SQL_BEGIN_IMMEDIATE, &err) == -1)
		goto fail;
	/* Read, not trust, the counter: another process may share the file. */
	if (store_sqlite_revision_get(c, &start_rev, &err) == -1)
		goto fail;
	s->next_rev = start_rev;
	if (start_rev != s->committed && s->index_ok) {
		/* Somebody else wrote: the index no longer tells the truth. */
		pthread_rwlock_wrlock(&s->ilock);
		s->index_ok = 0;
		pthread_rwlock_unlock(&s->ilock);
	}
	for (i = 0; i < n; i++) {
		mark_rev = s->next_rev;
		mark_ev = s->nevents;
		mark_ic = s->nichanges;
		if (sp && store_sqlite_exec(c, SQL_SAVEPOINT, ops[i]->err) ==
		    -1) {
			ops[i]->rc = -1;
			continue;
		}
		ops[i]->rc = ops[i]->run(s, ops[i]);
		if (ops[i]->rc == 0) {
			ok++;
			if (sp && store_sqlite_exec(c, SQL_RELEASE, &err) == -1)
				goto fail;
			continue;
		}
		store_sqlite_op_forget(ops[i]);
		s->next_rev = mark_rev;
		store_sqlite_events_drop(s, mark_ev);
		store_sqlite_ichanges_drop(s, mark_ic);
		if (sp && (store_sqlite_exec(c, SQL_ROLLBACK_TO, &err) == -1 ||
		    store_sqlite_exec(c, SQL_RELEASE, &err) == -1))
			goto fail;
	}
	if (ok == 0) {
		store_sqlite_exec(c, SQL_ROLLBACK, &err);
		goto done;
	}
	if (store_sqlite_exec(c, SQL_COMMIT, &err) == -1)
		goto fail;
	__atomic_store_n(&s->committed, s->next_rev, __ATOMIC_RELEASE);
	if (s->next_rev != start_rev || s->nichanges > 0) {
		pthread_rwlock_wrlock(&s->ilock);
		if (s->index_ok && store_sqlite_ichanges_apply(s) == -1)
			s->index_ok = 0;
		s->index_rev = s->next_rev;
		pthread_rwlock_unlock(&s->ilock);
	}
	for (i = 0; i < s->nevents && listener != NULL; i++) {
		ev = &s->events[i];
		e.revision = ev->revision;
		e.kind = ev->kind;
		e.type = ev->type;
		e.name = ev->name;
		e.reason = ev->reason;
		e.object = ev->object;
		listener(&e, listener_arg);
	}
	goto done;
fail:
	broken = 1;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
done:
	store_sqlite_events_drop(s, 0);
	store_sqlite_ichanges_drop(s, 0);
	for (i = 0; broken && i < n; i++) {
		if (ops[i]->rc != -1) {
			store_sqlite_op_forget(ops[i]);
			ops[i]->rc = -1;
			if (ops[i]->err != NULL)
				*ops[i]->err = err;
		}
	}
}

/*
 * Give the writer up (s->wlock held): to the first queued operation's
 * thread when there is one and no checkpoint waits (the writer thread
 * for an async put), else to nobody.
 */
static void
store_sqlite_writer_pass(struct store_sqlite *s)
{
	if (s->queue != NULL && !s->ckpt_wanted) {
		if (s->queue->async) {
			/* Nobody waits on an async put: the thread leads. */
			s->wlead = 1;
			pthread_cond_signal(&s->wtcond);
			return;
		}
		s->queue->lead = 1;
		pthread_cond_signal(&s->queue->cond);
		return;
	}
	s->writing = 0;
	if (s->wstop)
		pthread_cond_signal(&s->wtcond);
	if (s->ckpt_wanted)
		pthread_cond_signal(&s->wcond);
	else if (s->queue != NULL && !s->queue->async)
		pthread_cond_signal(&s->queue->cond);
}

/*
 * Run one batch of everything queued (s->wlock held, s->writing set by
 * the caller, the lock released while the batch runs).  Async puts are
 * completed and freed outside the lock; waiting threads are woken.
 */
static void
store_sqlite_lead(struct store_sqlite *s, struct store_sqlite_op *self)
{
	struct store_sqlite_op	*batch[STORE_SQLITE_BATCH], *o;
	store_listener_fn	 fn;
	void			*arg;
	size_t			 n, i;

	for (n = 0; n < STORE_SQLITE_BATCH && s->queue != NULL; n++) {
		o = s->queue;
		s->queue = o->next;
		batch[n] = o;
	}
	if (s->queue == NULL)
		s->queue_tail = &s->queue;
	fn = s->listener;
	arg = s->listener_arg;
	pthread_mutex_unlock(&s->wlock);
	store_sqlite_batch(s, batch, n, fn, arg);
	/* Completing an async put frees it: forget it here. */
	for (i = 0; i < n; i++)
		if (batch[i]->async) {
			store_sqlite_complete(batch[i]);
			batch[i] = NULL;
		}
	pthread_mutex_lock(&s->wlock);
	for (i = 0; i < n; i++) {
		if (batch[i] == NULL)
			continue;
		batch[i]->done = 1;
		if (batch[i] != self)
			pthread_cond_signal(&batch[i]->cond);
	}
	if (s->wal_frames >= s->ckpt_next && s->ckthread_started) {
		s->ckpt_signal = 1;
		pthread_cond_signal(&s->ckcond);
	}
}

/* The writer thread: leads when handed a queue that starts async. */
static void *
store_sqlite_writer_thread(void *arg)
{
	struct store_sqlite	*s = arg;

	pthread_mutex_lock(&s->wlock);
	for (;;) {
		while (!s->wlead && !s->wstop)
			pthread_cond_wait(&s->wtcond, &s->wlock);
		if (!s->wlead) {
			/* Stopping: drain what is queued first. */
			if (s->queue == NULL && !s->writing)
				break;
			if (s->writing || s->ckpt_wanted) {
				pthread_cond_wait(&s->wtcond, &s->wlock);
				continue;
			}
			s->writing = 1;
		}
		s->wlead = 0;
		store_sqlite_lead(s, NULL);
		store_sqlite_writer_pass(s);
	}
	pthread_mutex_unlock(&s->wlock);
	return NULL;
}

/*
 * Queue op and return once a commit carried it (or it failed).  The
 * thread that finds no batch running leads one: it takes every queued
 * operation.  A leader that leaves operations queued hands the writer to
 * the first of them, so that its own thread, back with its next write,
 * queues behind instead of running a batch of one: under load, batches
 * grow to the number of writers.  Each waiting thread has its own
 * condition, woken only when its operation is done or it is to lead.
 */
int
store_sqlite_write(struct store_sqlite *s, struct store_sqlite_op *op)
{
	op->done = 0;
	op->lead = 0;
	op->next = NULL;
	pthread_cond_init(&op->cond, NULL);
	pthread_mutex_lock(&s->wlock);
	*s->queue_tail = op;
	s->queue_tail = &op->next;
	while (!op->done) {
		/* A wanted checkpoint goes before the next batch. */
		if (!op->lead && (s->writing || s->ckpt_wanted)) {
			pthread_cond_wait(&op->cond, &s->wlock);
			continue;
		}
		op->lead = 0;
		s->writing = 1;
		store_sqlite_lead(s, op);
		store_sqlite_writer_pass(s);
	}
	pthread_mutex_unlock(&s->wlock);
	pthread_cond_destroy(&op->cond);
	return op->rc;
}

static int
store_sqlite_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_sqlite	*s = arg;

	(void)db;
	(void)name;
	s->wal_frames = frames;
	return SQLITE_OK;
}

/*
 * The checkpointer copies the log into the database when it is long, on
 * its own connection: first while writers go on (the bulk, with the
 * log's fsync), then, with writers held off, what they added meanwhile,
 * so the log is complete in the database and the next commit starts it
 * over.  The callers of the batch that made the log long were answered
 * before; writers arriving during the short final copy queue and go out
 * together in the next batch.
 */
static void *
store_sqlite_checkpointer(void *arg)
{
	struct store_sqlite		*s = arg;
	struct store_sqlite_conn	*c = NULL;
	int				 frames = 0, done = 0, i, rc;

	pthread_mutex_lock(&s->wlock);
	for (;;) {
		while (!s->ckpt_signal && !s->stopping)
			pthread_cond_wait(&s->ckcond, &s->wlock);
		if (s->stopping)
			break;
		s->ckpt_signal = 0;
		pthread_mutex_unlock(&s->wlock);
		if (c == NULL)
			c = store_sqlite_conn_open(s->path,
			    STORE_SQLITE_CHECKPOINTER, NULL);
		rc = SQLITE_ERROR;
		for (i = 0; c != NULL && i < 4; i++) {
			rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
			    SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
			if (rc != SQLITE_OK ||
			    frames - done <= STORE_SQLITE_CHECKPOINT_TAIL)
				break;
		}
		pthread_mutex_lock(&s->wlock);
		s->ckpt_wanted = 1;
		while (s->writing)
			pthread_cond_wait(&s->wcond, &s->wlock);
		s->writing = 1;
		s->ckpt_wanted = 0;
		pthread_mutex_unlock(&s->wlock);
		if (c != NULL)
			rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
			    SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
		pthread_mutex_lock(&s->wlock);
		/*
		 * Complete, the next commit starts the log over (unless a
		 * reader still uses its end: look again a little later);
		 * incomplete, try again once as much more was written.
		 */
		if (rc == SQLITE_OK && frames == done)
			s->ckpt_next = s->wal_frames +
			    STORE_SQLITE_CHECKPOINT / 8;
		else
			s->ckpt_next = s->wal_frames + STORE_SQLITE_CHECKPOINT;
		store_sqlite_writer_pass(s);
	}
	pthread_mutex_unlock(&s->wlock);
	store_sqlite_conn_close(c);
	return NULL;
}

/*
 * Queue an asynchronous op (allocated, its run, obj and complete set):
 * the writer thread runs it, completes it and frees it.
 */
void
store_sqlite_write_async(struct store_sqlite *s, struct store_sqlite_op *op)
{
	op->async = 1;
	op->err = &op->errbuf;
	pthread_mutex_lock(&s->wlock);
	*s->queue_tail = op;
	s->queue_tail = &op->next;
	if (!s->writing && !s->ckpt_wanted) {
		s->writing = 1;
		s->wlead = 1;
		pthread_cond_signal(&s->wtcond);
	}
	pthread_mutex_unlock(&s->wlock);
}

int
store_sqlite_writer_start(struct store_sqlite *s, struct nsreg_error *err)
{
	int	rc;

	/* Checkpoints move off the commit path (this replaces SQLite's). */
	sqlite3_wal_hook(s->writer->db, store_sqlite_wal_hook, s);
	if ((rc = pthread_create(&s->ckthread, NULL,
	    store_sqlite_checkpointer, s)) != 0)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the checkpointer: %s", strerror(rc));
	s->ckthread_started = 1;
	if ((rc = pthread_create(&s->wthread, NULL,
	    store_sqlite_writer_thread, s)) != 0)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the writer: %s", strerror(rc));
	s->wthread_started = 1;
	return 0;
}

void
store_sqlite_writer_stop(struct store_sqlite *s)
{
	if (s->wthread_started) {
		pthread_mutex_lock(&s->wlock);
		s->wstop = 1;
		pthread_cond_signal(&s->wtcond);
		pthread_mutex_unlock(&s->wlock);
		pthread_join(s->wthread, NULL);
		s->wthread_started = 0;
	}
	if (s->ckthread_started) {
		pthread_mutex_lock(&s->wlock);
		s->stopping = 1;
		pthread_cond_signal(&s->ckcond);
		pthread_mutex_unlock(&s->wlock);
		pthread_join(s->ckthread, NULL);
		s->ckthread_started = 0;
	}
}
