/*
 * test_decision_log.c - the decision log's writer against a real SQLite
 * store: entry text, batching (far fewer transactions than entries),
 * the bounded queue, flush on demand and on free, concurrent producers.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decision_log.h"
#include "store.h"

#define T0	1700000000000LL

static char		 dir[64];
static struct store	*st;

static struct store *
open_store(void)
{
	struct store_options	 opt;
	struct nsreg_error	 err;
	struct store		*s;
	char			 url[128];

	snprintf(url, sizeof(url), "sqlite:%s/nsreg.db", dir);
	memset(&opt, 0, sizeof(opt));
	opt.url = url;
	opt.history = 1000;
	s = store_open(&opt, &err);
	cr_assert_not_null(s, "%s", err.message);
	return s;
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nsreg-dlog-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	st = open_store();
}

static void
teardown(void)
{
	char	cmd[128];

	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(decision_log, .init = setup, .fini = teardown, .timeout = 60);

/* A decision naming two rules, one error and one audit entry. */
static void
sample_decision(struct policy_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->allow = 0;
	d->n_reasons = 2;
	d->reasons[0] = "no-foreign";
	d->reasons[1] = "zone";
	d->n_errors = 1;
	d->errors[0].policy = "zone";
	snprintf(d->errors[0].message, sizeof(d->errors[0].message),
	    "1:15: no such key: \"zone\"\n\tthen\x01");
	d->n_audit = 1;
	d->audit[0].policy = "try";
	d->audit[0].forbid = 0;
	d->audit[0].matched = 1;
}

static void
sample_entry(struct decision_log_entry *e, const struct policy_decision *d,
    int64_t t)
{
	memset(e, 0, sizeof(*e));
	e->time = t;
	e->principal = "spiffe://example.org/ns/a/sa/b";
	e->action = "connect";
	e->service = "db";
	e->endpoint = "db-1";
	e->decision = d;
}

/* Entries in the store, all pages. */
static size_t
stored_count(const char *decision)
{
	struct store_decision_query	 q;
	struct nsreg_error		 err;
	json_t				*items;
	int64_t				 next = 0;
	size_t				 n = 0;

	memset(&q, 0, sizeof(q));
	q.limit = 1000;
	q.decision = decision;
	do {
		q.before_id = next;
		next = 0;
		cr_assert_eq(store_decision_list(st, &q, &items, &next, &err),
		    0, "%s", err.message);
		n += json_array_size(items);
		json_decref(items);
	} while (next != 0);
	return n;
}

Test(decision_log, entry_text_is_exact_json)
{
	struct policy_decision		 d;
	struct decision_log_entry	 e;
	char				 buf[2048], small[16];
	size_t				 n;
	json_t				*j;

	sample_decision(&d);
	sample_entry(&e, &d, T0 + 5);
	n = decision_log_format(&e, buf, sizeof(buf));
	cr_assert_lt(n, sizeof(buf));
	cr_expect_str_eq(buf, "{\"time\":\"2023-11-14T22:13:20.005Z\","
	    "\"principal\":\"spiffe://example.org/ns/a/sa/b\","
	    "\"action\":\"connect\",\"service\":\"db\",\"endpoint\":\"db-1\","
	    "\"grant\":null,\"decision\":{\"decision\":\"deny\","
	    "\"reasons\":[\"no-foreign\",\"zone\"],\"errors\":[{\"policy\":"
	    "\"zone\",\"message\":\"1:15: no such key: \\\"zone\\\"\\n\\tthen"
	    "\\u0001\"}],\"audit\":[{\"policy\":\"try\",\"effect\":\"permit\","
	    "\"matched\":true}]}}");
	cr_expect_eq(n, strlen(buf));
	j = json_loads(buf, 0, NULL);
	cr_assert_not_null(j);
	json_decref(j);

	/* Too small: the length needed, and a terminated prefix. */
	cr_expect_eq(decision_log_format(&e, small, sizeof(small)), n);
	cr_expect_eq(strlen(small), sizeof(small) - 1);

	/* The admin bypass, a list summary, nulls, bad UTF-8. */
	memset(&e, 0, sizeof(e));
	e.time = T0;
	e.action = "find";
	e.bypass = 1;
	e.service = "caf\xc3\xa9\xff";
	decision_log_format(&e, buf, sizeof(buf));
	cr_expect_str_eq(buf, "{\"time\":\"2023-11-14T22:13:20Z\","
	    "\"principal\":null,\"action\":\"find\",\"service\":"
	    "\"caf\xc3\xa9\\ufffd\",\"endpoint\":null,\"grant\":null,"
	    "\"decision\":{\"decision\":\"allow\",\"reasons\":[\"admin\"],"
	    "\"errors\":[],\"audit\":[],\"bypass\":true}}");
	e.bypass = 0;
	e.service = NULL;
	memset(&d, 0, sizeof(d));
	d.allow = 1;
	e.decision = &d;
	e.list = 1;
	e.list_found = 12;
	e.list_hidden = 3;
	decision_log_format(&e, buf, sizeof(buf));
	cr_expect_str_eq(buf, "{\"time\":\"2023-11-14T22:13:20Z\","
	    "\"principal\":null,\"action\":\"find\",\"service\":null,"
	    "\"endpoint\":null,\"grant\":null,\"decision\":{\"decision\":"
	    "\"allow\",\"reasons\":[],\"errors\":[],\"audit\":[]},"
	    "\"list\":{\"found\":12,\"hidden\":3}}");
}

Test(decision_log, entries_reach_the_store_in_few_transactions)
{
	struct policy_decision		 d;
	struct decision_log_entry	 e;
	struct decision_log_stats	 s;
	struct nsreg_error		 err;
	struct decision_log		*log;
	struct store_decision_query	 q;
	json_t				*items, *first;
	int				 i;

	log = decision_log_new(st, NULL, &err);
	cr_assert_not_null(log, "%s", err.message);
	sample_decision(&d);
	for (i = 0; i < 3000; i++) {
		sample_entry(&e, &d, T0 + i);
		d.allow = i % 3 == 0;
		cr_assert_eq(decision_log_add(log, &e), 0);
	}
	cr_assert_eq(decision_log_flush(log, 10000), 0);
	decision_log_stats(log, &s);
	cr_expect_eq(s.queued, 3000);
	cr_expect_eq(s.written, 3000);
	cr_expect_eq(s.dropped, 0);
	cr_expect_eq(s.failed, 0);
	/* One transaction per batch of up to 512, never one per entry. */
	cr_expect_geq(s.batches, 3000 / DECISION_LOG_CHUNK);
	cr_expect_lt(s.batches, 60, "%llu batches for 3000 entries",
	    (unsigned long long)s.batches);
	cr_expect_eq(stored_count(NULL), 3000);
	cr_expect_eq(stored_count("allow"), 1000);
	cr_expect_eq(stored_count("deny"), 2000);

	/* Stored as given, newest first. */
	memset(&q, 0, sizeof(q));
	q.limit = 1;
	cr_assert_eq(store_decision_list(st, &q, &items, &(int64_t){ 0 },
	    &err), 0);
	first = json_array_get(items, 0);
	cr_expect_str_eq(json_string_value(json_object_get(first, "time")),
	    "2023-11-14T22:13:22.999Z");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(first, "decision"), "audit"), 0),
	    "policy")), "try");
	json_decref(items);
	decision_log_free(log);
}

Test(decision_log, a_full_queue_drops_and_counts)
{
	struct decision_log_options	 opt = { .queue_bytes = 4096,
					     .flush_ms = 60000 };
	struct policy_decision		 d;
	struct decision_log_entry	 e;
	struct decision_log_stats	 s;
	struct nsreg_error		 err;
	struct decision_log		*log;
	int				 i, ok = 0, dropped = 0;

	log = decision_log_new(st, &opt, &err);
	cr_assert_not_null(log);
	sample_decision(&d);
	sample_entry(&e, &d, T0);
	/* Fewer than a batch, a long wait: nothing leaves the queue. */
	for (i = 0; i < 100; i++) {
		if (decision_log_add(log, &e) == 0)
			ok++;
		else
			dropped++;
	}
	cr_expect_gt(ok, 0);
	cr_expect_gt(dropped, 0);
	decision_log_stats(log, &s);
	cr_expect_eq(s.queued, (uint64_t)ok);
	cr_expect_eq(s.dropped, (uint64_t)dropped);
	cr_assert_eq(decision_log_flush(log, 10000), 0);
	cr_expect_eq(stored_count(NULL), (size_t)ok);
	/* The queue is free again. */
	cr_expect_eq(decision_log_add(log, &e), 0);
	decision_log_free(log);
	cr_expect_eq(stored_count(NULL), (size_t)ok + 1);
}

Test(decision_log, free_writes_what_is_queued)
{
	struct decision_log_options	 opt = { .flush_ms = 60000 };
	struct policy_decision		 d;
	struct decision_log_entry	 e;
	struct nsreg_error		 err;
	struct decision_log		*log;
	int				 i;

	log = decision_log_new(st, &opt, &err);
	cr_assert_not_null(log);
	sample_decision(&d);
	for (i = 0; i < 10; i++) {
		sample_entry(&e, &d, T0 + i);
		cr_assert_eq(decision_log_add(log, &e), 0);
	}
	cr_expect_eq(stored_count(NULL), 0, "written before the batch was "
	    "due");
	decision_log_free(log);
	cr_expect_eq(stored_count(NULL), 10);
}

struct producer {
	struct decision_log	*log;
	int			 n;
	int			 ok;
};

static void *
produce(void *arg)
{
	struct producer			*p = arg;
	struct policy_decision		 d;
	struct decision_log_entry	 e;
	int				 i;

	sample_decision(&d);
	for (i = 0; i < p->n; i++) {
		sample_entry(&e, &d, T0 + i);
		if (decision_log_add(p->log, &e) == 0)
			p->ok++;
	}
	return NULL;
}

Test(decision_log, concurrent_producers_lose_nothing_they_were_told_kept)
{
	struct producer			 p[4];
	struct decision_log_stats	 s;
	struct nsreg_error		 err;
	struct decision_log		*log;
	pthread_t			 t[4];
	size_t				 i, total = 0;

	log = decision_log_new(st, NULL, &err);
	cr_assert_not_null(log);
	for (i = 0; i < 4; i++) {
		p[i].log = log;
		p[i].n = 5000;
		p[i].ok = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += (size_t)p[i].ok;
	}
	cr_assert_eq(decision_log_flush(log, 20000), 0);
	decision_log_stats(log, &s);
	cr_expect_eq(s.written, total);
	cr_expect_eq(s.written + s.dropped, 20000);
	cr_expect_eq(stored_count(NULL), total);
	decision_log_free(log);
}

Test(decision_log, list_repeats_fold_into_one_row)
{
	struct policy_decision		 d;
	struct decision_log_entry	 e;
	struct decision_log_stats	 s;
	struct store_decision_query	 q;
	struct nsreg_error		 err;
	struct decision_log		*log;
	json_t				*items, *row;
	int64_t				 next = 0;
	int				 i;

	log = decision_log_new(st, &(struct decision_log_options){
	    .flush_ms = 60000 }, &err);
	cr_assert_not_null(log);
	memset(&d, 0, sizeof(d));
	d.allow = 1;
	d.n_reasons = 1;
	d.reasons[0] = "local";
	for (i = 0; i < 100; i++) {
		memset(&e, 0, sizeof(e));
		e.time = T0 + 100 - i;
		e.principal = "spiffe://example.org/a";
		e.action = "find";
		e.service = "db";
		e.decision = &d;
		e.list = 1;
		e.list_found = 3;
		e.list_hidden = 1;
		e.coalesce = 1;
		cr_assert_eq(decision_log_add(log, &e), 0);
	}
	/* Another principal, and an entry that must not fold. */
	e.principal = "spiffe://example.org/b";
	cr_assert_eq(decision_log_add(log, &e), 0);
	e.coalesce = 0;
	cr_assert_eq(decision_log_add(log, &e), 0);
	cr_assert_eq(decision_log_add(log, &e), 0);
	cr_assert_eq(decision_log_flush(log, 10000), 0);
	decision_log_stats(log, &s);
	cr_expect_eq(s.queued, 103);
	cr_expect_eq(s.written, 103);
	cr_expect_eq(s.coalesced, 99);
	cr_expect_eq(s.rows, 4);
	cr_expect_eq(stored_count(NULL), 4);

	memset(&q, 0, sizeof(q));
	q.principal = "spiffe://example.org/a";
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 1);
	row = json_array_get(items, 0);
	cr_expect_eq(json_integer_value(json_object_get(row, "count")), 100);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(row,
	    "list"), "found")), 300);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(row,
	    "list"), "hidden")), 100);
	/* The earliest time of the folded requests. */
	cr_expect_str_eq(json_string_value(json_object_get(row, "time")),
	    "2023-11-14T22:13:20.001Z");
	json_decref(items);
	decision_log_free(log);
}

Test(decision_log, an_origin_follows_the_principal)
{
	struct policy_decision		 d;
	struct decision_log_entry	 e;
	char				 buf[2048];

	memset(&d, 0, sizeof(d));
	d.allow = 1;
	memset(&e, 0, sizeof(e));
	e.time = T0;
	e.principal = "spiffe://b.test/nsregd";
	e.origin = "spiffe://b.test/ns/db/sa/pg";
	e.action = "find";
	e.service = "db";
	e.decision = &d;
	decision_log_format(&e, buf, sizeof(buf));
	cr_expect_str_eq(buf, "{\"time\":\"2023-11-14T22:13:20Z\","
	    "\"principal\":\"spiffe://b.test/nsregd\","
	    "\"origin\":\"spiffe://b.test/ns/db/sa/pg\",\"action\":\"find\","
	    "\"service\":\"db\",\"endpoint\":null,\"grant\":null,"
	    "\"decision\":{\"decision\":\"allow\",\"reasons\":[],"
	    "\"errors\":[],\"audit\":[]}}");
}
