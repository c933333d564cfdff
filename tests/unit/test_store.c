/*
 * test_store.c - the storage suite, written against store.h only, so it
 * runs against every backend: a fresh SQLite file per test, or, when
 * NSREG_TEST_STORE is "postgresql", the PostgreSQL database at the URL
 * NSREG_TEST_PG (each test then gets its own schema through the libpq
 * "options" parameter, which the backend creates).  make check runs it
 * both ways: tests/pg/store.sh is the PostgreSQL run.
 *
 * The one exception is the newer-schema test, which needs
 * store_backend.h to write a database with a migration the code lacks.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "store_backend.h"

#define T0	1700000000000LL		/* a fixed "now" */

static char			 test_dir[256];
static char			 test_url[512];
static struct store_options	 test_opt;
static struct store		*st;

/* Events the listener saw. */
#define EVENTS_MAX	4096
struct seen {
	pthread_mutex_t	 lock;
	size_t		 n;
	int64_t		 rev[EVENTS_MAX];
	int		 type[EVENTS_MAX];
	int		 kind[EVENTS_MAX];
	char		 name[EVENTS_MAX][32];
	int		 expired[EVENTS_MAX];
	int64_t		 object_rev[EVENTS_MAX];
};
static struct seen	seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
record(const struct store_event *ev, void *arg)
{
	struct seen	*s = arg;

	pthread_mutex_lock(&s->lock);
	if (s->n < EVENTS_MAX) {
		s->rev[s->n] = ev->revision;
		s->type[s->n] = ev->type;
		s->kind[s->n] = ev->kind;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", ev->name);
		s->expired[s->n] = ev->reason != NULL &&
		    strcmp(ev->reason, "expired") == 0;
		s->object_rev[s->n] = json_integer_value(
		    json_object_get(ev->object, "revision"));
		s->n++;
	}
	pthread_mutex_unlock(&s->lock);
}

static void
suite_url(void)
{
	static int	 n;
	const char	*be = getenv("NSREG_TEST_STORE");
	const char	*pg = getenv("NSREG_TEST_PG");

	if (be != NULL && strcmp(be, "postgresql") == 0) {
		cr_assert(pg != NULL && pg[0] != '\0',
		    "NSREG_TEST_STORE=postgresql without NSREG_TEST_PG");
		snprintf(test_url, sizeof(test_url),
		    "%s%soptions=-csearch_path%%3Dnsreg_test_%d_%ld_%d", pg,
		    strchr(pg, '?') != NULL ? "&" : "?", (int)getpid(),
		    (long)time(NULL), n++);
		return;
	}
	snprintf(test_url, sizeof(test_url), "sqlite:%s/nsreg.db", test_dir);
}

static struct store *
reopen(void)
{
	struct nsreg_error	err;

	store_close(st);
	st = store_open(&test_opt, &err);
	cr_assert_not_null(st, "reopen: %s", err.message);
	store_set_listener(st, record, &seen);
	return st;
}

static void
setup(void)
{
	struct nsreg_error	 err;
	const char		*tmp = getenv("TMPDIR");

	snprintf(test_dir, sizeof(test_dir), "%s/nsreg-store-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(test_dir));
	suite_url();
	test_opt.url = test_url;
	test_opt.history = 0;
	seen.n = 0;
	st = store_open(&test_opt, &err);
	cr_assert_not_null(st, "open %s: %s", test_url, err.message);
	store_set_listener(st, record, &seen);
}

static void
teardown(void)
{
	char	cmd[300];

	store_close(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", test_dir);
}

TestSuite(store, .init = setup, .fini = teardown);

/* An endpoint document offering services (a NULL-terminated list). */
static json_t *
endpoint_doc(const char *url, const char **services)
{
	json_t	*doc, *a;

	doc = json_pack("{s:s, s:[], s:{}}", "url", url,
	    "network_service_names", "network_service_labels");
	a = json_object_get(doc, "network_service_names");
	for (; services != NULL && *services != NULL; services++) {
		json_array_append_new(a, json_string(*services));
		json_object_set_new(json_object_get(doc,
		    "network_service_labels"), *services,
		    json_pack("{s:s}", "app", "x"));
	}
	return doc;
}

/* Create kind/name with doc (stolen); returns the revision. */
static int64_t
put(enum store_kind kind, const char *name, json_t *doc, int64_t now,
    int64_t expires_at, const char *owner)
{
	struct store_object	obj = {
		.kind = kind, .doc = doc, .expires_at = expires_at,
	};
	struct nsreg_error	err;

	obj.name = strdup(name);
	obj.owner = owner != NULL ? strdup(owner) : NULL;
	cr_assert_eq(store_create(st, &obj, now, &err), 0, "create %s: %s",
	    name, err.message);
	int64_t rev = obj.revision;
	store_object_clear(&obj);
	return rev;
}

static int64_t
put_endpoint(const char *name, const char **services, int64_t expires_at)
{
	return put(STORE_ENDPOINT, name, endpoint_doc("tcp://1.2.3.4:5",
	    services), T0, expires_at, "spiffe://example.org/nse");
}

/* The names of a list result, comma separated. */
static void
names(json_t *items, char *buf, size_t len)
{
	size_t	 i, off = 0;
	json_t	*o;

	buf[0] = '\0';
	json_array_foreach(items, i, o) {
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i > 0 ? "," : "",
		    json_string_value(json_object_get(o, "name")));
		if (off >= len)
			break;
	}
}

static void
list_names(const struct store_query *q, int64_t now, char *buf, size_t len,
    int *more)
{
	struct nsreg_error	 err;
	json_t			*items;
	int64_t			 rev;

	cr_assert_eq(store_list(st, q, now, &items, &rev, more, &err), 0,
	    "list: %s", err.message);
	names(items, buf, len);
	json_decref(items);
}

Test(store, create_then_fetch_returns_the_document)
{
	struct store_object	 obj = { .kind = STORE_SERVICE }, out;
	struct nsreg_error	 err;
	json_t			*doc;

	doc = json_pack("{s:s, s:{s:s}}", "payload", "IP", "labels", "a",
	    "b");
	obj.name = strdup("db");
	obj.doc = json_incref(doc);
	cr_assert_eq(store_create(st, &obj, T0, &err), 0, "%s", err.message);
	cr_assert_eq(obj.revision, 1);
	cr_assert_eq(obj.created_at, T0);
	cr_assert_eq(obj.updated_at, T0);
	cr_assert_eq(store_revision(st), 1);

	cr_assert_eq(store_fetch(st, STORE_SERVICE, "db", T0 + 1, &out, &err),
	    0, "%s", err.message);
	cr_assert_str_eq(out.name, "db");
	cr_assert_eq(out.kind, STORE_SERVICE);
	cr_assert(json_equal(out.doc, doc), "doc changed: %s",
	    json_dumps(out.doc, 0));
	cr_assert_eq(out.revision, 1);
	cr_assert_eq(out.created_at, T0);
	cr_assert_eq(out.updated_at, T0);
	cr_assert_eq(out.expires_at, 0);
	cr_assert_null(out.owner);
	store_object_clear(&out);
	store_object_clear(&obj);
	json_decref(doc);
}

Test(store, render_adds_metadata_in_order)
{
	struct store_object	 obj = {
		.kind = STORE_ENDPOINT,
		.name = (char *)"nse-1",
		.revision = 7,
		.created_at = 1795796474000LL,
		.updated_at = 1795796474123LL,
		.expires_at = 1795796534000LL,
		.owner = (char *)"spiffe://example.org/nse",
	};
	json_t			*r;
	char			*text;

	/* Metadata keys in the document never win over the columns. */
	obj.doc = json_pack("{s:s, s:s, s:i, s:s}", "url", "tcp://a:1",
	    "name", "other", "revision", 99, "owner", "spiffe://x/y");
	r = store_object_render(&obj);
	cr_assert_not_null(r);
	text = json_dumps(r, JSON_COMPACT);
	cr_assert_str_eq(text, "{\"name\":\"nse-1\",\"url\":\"tcp://a:1\","
	    "\"revision\":7,\"created_at\":\"2026-11-27T16:21:14Z\","
	    "\"updated_at\":\"2026-11-27T16:21:14.123Z\","
	    "\"expiration_time\":\"2026-11-27T16:22:14Z\","
	    "\"owner\":\"spiffe://example.org/nse\"}");
	free(text);
	json_decref(r);

	/* Services have neither expiry nor owner in their rendering. */
	obj.kind = STORE_SERVICE;
	r = store_object_render(&obj);
	cr_assert_null(json_object_get(r, "expiration_time"));
	cr_assert_str_eq(json_string_value(json_object_get(r, "owner")),
	    "spiffe://x/y");
	json_decref(r);
	json_decref(obj.doc);

	cr_assert_str_eq(store_kind_name(STORE_ENDPOINT), "endpoint");
	cr_assert_str_eq(store_kind_name(STORE_TRUST_DOMAIN), "trust-domain");
	cr_assert_str_eq(store_event_type_name(STORE_DELETED), "DELETED");
	cr_assert_str_eq(store_event_type_name(STORE_BOOKMARK), "BOOKMARK");
}

Test(store, create_twice_is_already_exists)
{
	struct store_object	obj = { .kind = STORE_POLICY };
	struct nsreg_error	err;

	put(STORE_POLICY, "p", json_object(), T0, 0, NULL);
	obj.name = strdup("p");
	obj.doc = json_object();
	cr_assert_eq(store_create(st, &obj, T0, &err), -1);
	cr_assert_eq(err.code, NSREG_ALREADY_EXISTS);
	cr_assert_eq(store_revision(st), 1);
	/* The same name of another kind is another object. */
	obj.kind = STORE_SERVICE;
	cr_assert_eq(store_create(st, &obj, T0, &err), 0, "%s", err.message);
	store_object_clear(&obj);
}

Test(store, absent_objects_are_not_found)
{
	struct store_object	obj = { .kind = STORE_SERVICE }, out;
	struct nsreg_error	err;

	cr_assert_eq(store_fetch(st, STORE_SERVICE, "nope", T0, &out, &err),
	    -1);
	cr_assert_eq(err.code, NSREG_NOT_FOUND);
	cr_assert_null(out.name);
	cr_assert_eq(store_delete(st, STORE_SERVICE, "nope", 0, T0, NULL,
	    &err), -1);
	cr_assert_eq(err.code, NSREG_NOT_FOUND);
	obj.name = strdup("nope");
	obj.doc = json_object();
	cr_assert_eq(store_update(st, &obj, 0, T0, &err), -1);
	cr_assert_eq(err.code, NSREG_NOT_FOUND);
	store_object_clear(&obj);
	cr_assert_eq(store_revision(st), 0);
	cr_assert_eq(seen.n, 0);
}

Test(store, update_checks_revision_and_keeps_created_at)
{
	struct store_object	obj = { .kind = STORE_SERVICE }, out;
	struct nsreg_error	err;
	int64_t			rev;

	rev = put(STORE_SERVICE, "db", json_pack("{s:s}", "payload", "IP"),
	    T0, 0, NULL);
	obj.name = strdup("db");
	obj.doc = json_pack("{s:s}", "payload", "ETHERNET");
	cr_assert_eq(store_update(st, &obj, rev + 5, T0 + 10, &err), -1);
	cr_assert_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_assert_eq(store_update(st, &obj, rev, T0 + 10, &err), 0, "%s",
	    err.message);
	cr_assert_eq(obj.revision, rev + 1);
	cr_assert_eq(obj.created_at, T0);
	cr_assert_eq(obj.updated_at, T0 + 10);
	/* The old revision moved: a second conditional update fails. */
	cr_assert_eq(store_update(st, &obj, rev, T0 + 20, &err), -1);
	cr_assert_eq(err.code, NSREG_FAILED_PRECONDITION);
	/* 0 replaces whatever is there. */
	cr_assert_eq(store_update(st, &obj, 0, T0 + 30, &err), 0, "%s",
	    err.message);
	cr_assert_eq(obj.revision, rev + 2);
	store_object_clear(&obj);

	cr_assert_eq(store_fetch(st, STORE_SERVICE, "db", T0 + 40, &out,
	    &err), 0);
	cr_assert_str_eq(json_string_value(json_object_get(out.doc,
	    "payload")), "ETHERNET");
	cr_assert_eq(out.created_at, T0);
	cr_assert_eq(out.updated_at, T0 + 30);
	cr_assert_eq(out.revision, rev + 2);
	store_object_clear(&out);

	cr_assert_eq(seen.n, 3);
	cr_assert_eq(seen.type[0], STORE_ADDED);
	cr_assert_eq(seen.type[1], STORE_MODIFIED);
	cr_assert_eq(seen.type[2], STORE_MODIFIED);
	cr_assert_eq(seen.object_rev[2], rev + 2);
}

Test(store, update_without_owner_keeps_the_recorded_owner)
{
	struct store_object	obj = { .kind = STORE_ENDPOINT }, out;
	struct nsreg_error	err;

	put_endpoint("nse", NULL, 0);
	obj.name = strdup("nse");
	obj.doc = endpoint_doc("tcp://b:2", NULL);
	cr_assert_eq(store_update(st, &obj, 0, T0 + 1, &err), 0, "%s",
	    err.message);
	cr_assert_str_eq(obj.owner, "spiffe://example.org/nse");
	store_object_clear(&obj);
	cr_assert_eq(store_fetch(st, STORE_ENDPOINT, "nse", T0 + 2, &out,
	    &err), 0);
	cr_assert_str_eq(out.owner, "spiffe://example.org/nse");
	store_object_clear(&out);

	obj.kind = STORE_ENDPOINT;
	obj.name = strdup("nse");
	obj.doc = endpoint_doc("tcp://b:2", NULL);
	obj.owner = strdup("spiffe://example.org/other");
	cr_assert_eq(store_update(st, &obj, 0, T0 + 3, &err), 0, "%s",
	    err.message);
	store_object_clear(&obj);
	cr_assert_eq(store_fetch(st, STORE_ENDPOINT, "nse", T0 + 4, &out,
	    &err), 0);
	cr_assert_str_eq(out.owner, "spiffe://example.org/other");
	store_object_clear(&out);
}

Test(store, delete_checks_revision_and_returns_the_old_object)
{
	struct store_object	old;
	struct nsreg_error	err;
	int64_t			rev;

	rev = put(STORE_GRANT, "g1", json_pack("{s:s}", "service", "db"), T0,
	    T0 + 1000, "spiffe://example.org/client");
	cr_assert_eq(store_delete(st, STORE_GRANT, "g1", rev + 1, T0, &old,
	    &err), -1);
	cr_assert_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_assert_eq(store_delete(st, STORE_GRANT, "g1", rev, T0 + 1, &old,
	    &err), 0, "%s", err.message);
	cr_assert_str_eq(old.name, "g1");
	cr_assert_eq(old.kind, STORE_GRANT);
	cr_assert_eq(old.revision, rev);
	cr_assert_eq(old.expires_at, T0 + 1000);
	cr_assert_str_eq(old.owner, "spiffe://example.org/client");
	cr_assert_str_eq(json_string_value(json_object_get(old.doc,
	    "service")), "db");
	cr_assert_null(json_object_get(old.doc, "revision"));
	cr_assert_null(json_object_get(old.doc, "expires_at"));
	store_object_clear(&old);
	cr_assert_eq(store_fetch(st, STORE_GRANT, "g1", T0 + 2, &old, &err),
	    -1);
	cr_assert_eq(err.code, NSREG_NOT_FOUND);
	cr_assert_eq(store_revision(st), rev + 1);
	cr_assert_eq(seen.n, 2);
	cr_assert_eq(seen.type[1], STORE_DELETED);
	cr_assert_eq(seen.rev[1], rev + 1);
	cr_assert_eq(seen.expired[1], 0);
	/* Without old, and with expect_rev 0 meaning any revision. */
	put(STORE_GRANT, "g2", json_object(), T0, 0, NULL);
	cr_assert_eq(store_delete(st, STORE_GRANT, "g2", 0, T0, NULL, &err),
	    0, "%s", err.message);
}

Test(store, revisions_increase_across_kinds)
{
	int64_t	last = 0, rev;
	int	i;

	for (i = 0; i < 20; i++) {
		char	name[16];

		snprintf(name, sizeof(name), "o%d", i);
		rev = put((enum store_kind)(i % STORE_KIND_MAX), name,
		    json_object(), T0, 0, NULL);
		cr_assert_eq(rev, last + 1);
		last = rev;
	}
	cr_assert_eq(store_revision(st), 20);
}

Test(store, list_in_name_order_with_pages)
{
	static const char *const order[] = {
		"m", "c", "x", "a", "b", "z", "k", "e", "d", "y", "f", "aa",
	};
	struct store_query	q = { .kind = STORE_SERVICE };
	struct nsreg_error	err;
	json_t			*items;
	char			buf[256];
	int64_t			rev;
	int			more;
	size_t			i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		put(STORE_SERVICE, order[i], json_object(), T0, 0, NULL);
	put(STORE_POLICY, "b", json_object(), T0, 0, NULL);

	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "a,aa,b,c,d,e,f,k,m,x,y,z");
	cr_assert_eq(more, 0);

	q.limit = 5;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "a,aa,b,c,d");
	cr_assert_eq(more, 1);
	q.after_name = "d";
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "e,f,k,m,x");
	cr_assert_eq(more, 1);
	q.after_name = "x";
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "y,z");
	cr_assert_eq(more, 0);
	/* Exactly the limit left: no next page. */
	q.after_name = "m";
	q.limit = 3;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "x,y,z");
	cr_assert_eq(more, 0);
	q.after_name = "zz";
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "");

	q.kind = STORE_POLICY;
	q.after_name = NULL;
	cr_assert_eq(store_list(st, &q, T0, &items, &rev, &more, &err), 0);
	cr_assert_eq(json_array_size(items), 1);
	cr_assert_eq(rev, store_revision(st));
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(items,
	    0), "revision")), 13);
	cr_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(items, 0), "created_at")), "2023-11-14T22:13:20Z");
	json_decref(items);
}

Test(store, list_by_services_needs_all_of_them)
{
	static const char	*ab[] = { "a", "b", NULL };
	static const char	*a[] = { "a", NULL };
	static const char	*bcdef[] = { "b", "c", "d", "e", "f", NULL };
	static const char	*abcdef[] = {
		"a", "b", "c", "d", "e", "f", NULL,
	};
	struct store_query	 q = { .kind = STORE_ENDPOINT };
	struct store_object	 obj = { .kind = STORE_ENDPOINT };
	struct nsreg_error	 err;
	char			 buf[256];
	int			 more;

	put_endpoint("e1", ab, 0);
	put_endpoint("e2", a, 0);
	put_endpoint("e3", bcdef, 0);
	put_endpoint("e4", abcdef, 0);
	put_endpoint("e5", NULL, 0);

	q.services = (const char *[]){ "a" };
	q.nservices = 1;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "e1,e2,e4");
	q.services = (const char *[]){ "b", "a" };
	q.nservices = 2;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "e1,e4");
	/* More services than the SQL filter takes: the rest filter in C. */
	q.services = (const char *[]){ "b", "c", "d", "e", "f" };
	q.nservices = 5;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "e3,e4");
	q.services = (const char *[]){ "b", "c", "d", "e", "a", "f" };
	q.nservices = 6;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "e4");
	q.services = (const char *[]){ "zz" };
	q.nservices = 1;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "");
	/* Pages over a service. */
	q.services = (const char *[]){ "a" };
	q.limit = 2;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "e1,e2");
	cr_assert_eq(more, 1);
	q.after_name = "e2";
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "e4");
	cr_assert_eq(more, 0);

	/* The index follows updates and deletes. */
	obj.name = strdup("e2");
	obj.doc = endpoint_doc("tcp://c:3", (const char *[]){ "z", NULL });
	cr_assert_eq(store_update(st, &obj, 0, T0, &err), 0, "%s",
	    err.message);
	store_object_clear(&obj);
	cr_assert_eq(store_delete(st, STORE_ENDPOINT, "e4", 0, T0, NULL,
	    &err), 0);
	q.limit = 0;
	q.after_name = NULL;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "e1");
	q.services = (const char *[]){ "z" };
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "e2");

	/* Only endpoints have services. */
	q.kind = STORE_SERVICE;
	{
		json_t	*items;
		int64_t	 rev;

		cr_assert_eq(store_list(st, &q, T0, &items, &rev, &more,
		    &err), -1);
		cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	}
}

static int
match_label(const json_t *o, void *arg)
{
	const char	*want = arg;
	const char	*v;

	v = json_string_value(json_object_get(json_object_get(o, "labels"),
	    "tier"));
	return v != NULL && strcmp(v, want) == 0;
}

Test(store, list_keeps_what_match_accepts)
{
	struct store_query	q = {
		.kind = STORE_SERVICE,
		.match = match_label,
		.match_arg = (void *)"gold",
	};
	char			buf[256];
	int			more, i;

	for (i = 0; i < 10; i++) {
		char	name[8];

		snprintf(name, sizeof(name), "s%d", i);
		put(STORE_SERVICE, name, json_pack("{s:{s:s}}", "labels",
		    "tier", i % 3 == 0 ? "gold" : "lead"), T0, 0, NULL);
	}
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "s0,s3,s6,s9");
	cr_assert_eq(more, 0);
	q.limit = 2;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "s0,s3");
	cr_assert_eq(more, 1);
	q.after_name = "s3";
	q.limit = 2;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "s6,s9");
	/* No further match after s9 although rows follow: no next page. */
	cr_assert_eq(more, 0);
}

Test(store, expired_objects_vanish_at_once)
{
	struct store_query	q = { .kind = STORE_ENDPOINT };
	struct store_object	out, obj = { .kind = STORE_ENDPOINT };
	struct nsreg_error	err;
	char			buf[64];
	int			more;

	put_endpoint("a", NULL, T0 + 100);
	put_endpoint("b", NULL, 0);
	cr_assert_eq(store_fetch(st, STORE_ENDPOINT, "a", T0 + 99, &out,
	    &err), 0);
	store_object_clear(&out);
	cr_assert_eq(store_count(st, STORE_ENDPOINT, T0 + 99), 2);
	list_names(&q, T0 + 99, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "a,b");

	cr_assert_eq(store_fetch(st, STORE_ENDPOINT, "a", T0 + 100, &out,
	    &err), -1);
	cr_assert_eq(err.code, NSREG_NOT_FOUND);
	cr_assert_eq(store_count(st, STORE_ENDPOINT, T0 + 100), 1);
	list_names(&q, T0 + 100, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "b");
	q.services = (const char *[]){ "x" };
	q.nservices = 1;
	list_names(&q, T0 + 100, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "");

	/* Neither updated nor deleted once expired. */
	obj.name = strdup("a");
	obj.doc = endpoint_doc("tcp://x:1", NULL);
	cr_assert_eq(store_update(st, &obj, 0, T0 + 100, &err), -1);
	cr_assert_eq(err.code, NSREG_NOT_FOUND);
	store_object_clear(&obj);
	cr_assert_eq(store_delete(st, STORE_ENDPOINT, "a", 0, T0 + 100, NULL,
	    &err), -1);
	cr_assert_eq(err.code, NSREG_NOT_FOUND);
	cr_assert_eq(store_count(st, STORE_SERVICE, T0), 0);
}

Test(store, prune_deletes_expired_with_events)
{
	static const char	*svc[] = { "s", NULL };
	struct store_query	 q = {
		.kind = STORE_ENDPOINT, .services = svc, .nservices = 1,
	};
	struct nsreg_error	 err;
	char			 buf[64];
	int			 more;

	put_endpoint("a", svc, T0 + 100);
	put_endpoint("b", svc, T0 + 200);
	put_endpoint("c", svc, 0);
	put(STORE_GRANT, "g", json_object(), T0, T0 + 50, "spiffe://e.org/c");
	cr_assert_eq(store_prune(st, T0 + 10, &err), 0);
	cr_assert_eq(store_revision(st), 4);
	cr_assert_eq(store_prune(st, T0 + 150, &err), 2, "%s", err.message);
	cr_assert_eq(store_revision(st), 6);
	cr_assert_eq(seen.n, 6);
	/* Expiry order: the grant (T0+50) went before endpoint a. */
	cr_assert_eq(seen.type[4], STORE_DELETED);
	cr_assert_eq(seen.expired[4], 1);
	cr_assert_eq(seen.type[5], STORE_DELETED);
	cr_assert_eq(seen.expired[5], 1);
	cr_assert_eq(seen.rev[5], 6);
	cr_assert(strcmp(seen.name[4], "a") == 0 ||
	    strcmp(seen.name[5], "a") == 0);
	cr_assert(strcmp(seen.name[4], "g") == 0 ||
	    strcmp(seen.name[5], "g") == 0);
	/* Gone from the index too, even read at an earlier time. */
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "b,c");
	cr_assert_eq(store_count(st, STORE_ENDPOINT, T0), 2);
	cr_assert_eq(store_prune(st, T0 + 150, &err), 0);
}

Test(store, create_over_expired_emits_deleted_then_added)
{
	struct store_object	out;
	struct nsreg_error	err;
	int64_t			rev;

	put_endpoint("a", (const char *[]){ "s", NULL }, T0 + 100);
	rev = put(STORE_ENDPOINT, "a", endpoint_doc("tcp://new:1", NULL),
	    T0 + 100, 0, "spiffe://example.org/new");
	cr_assert_eq(rev, 3);
	cr_assert_eq(seen.n, 3);
	cr_assert_eq(seen.type[1], STORE_DELETED);
	cr_assert_eq(seen.expired[1], 1);
	cr_assert_eq(seen.rev[1], 2);
	cr_assert_eq(seen.type[2], STORE_ADDED);
	cr_assert_eq(seen.rev[2], 3);
	cr_assert_eq(store_fetch(st, STORE_ENDPOINT, "a", T0 + 100, &out,
	    &err), 0);
	cr_assert_eq(out.created_at, T0 + 100);
	cr_assert_str_eq(out.owner, "spiffe://example.org/new");
	cr_assert_eq(json_array_size(json_object_get(out.doc,
	    "network_service_names")), 0);
	store_object_clear(&out);
	/* And the old services are out of the index. */
	{
		struct store_query	q = {
			.kind = STORE_ENDPOINT,
			.services = (const char *[]){ "s" },
			.nservices = 1,
		};
		char			buf[32];
		int			more;

		list_names(&q, T0, buf, sizeof(buf), &more);
		cr_assert_str_eq(buf, "");
	}
}

Test(store, reopen_keeps_everything)
{
	struct store_object	out;
	struct nsreg_error	err;
	json_t			*items;
	int64_t			rev;
	int			more;
	struct store_query	q = {
		.kind = STORE_ENDPOINT,
		.services = (const char *[]){ "s" },
		.nservices = 1,
	};

	put_endpoint("a", (const char *[]){ "s", NULL }, T0 + 1000);
	put(STORE_SERVICE, "s", json_pack("{s:s}", "payload", "IP"), T0, 0,
	    NULL);
	reopen();
	cr_assert_eq(store_revision(st), 2);
	cr_assert_eq(store_fetch(st, STORE_ENDPOINT, "a", T0, &out, &err), 0,
	    "%s", err.message);
	cr_assert_str_eq(out.owner, "spiffe://example.org/nse");
	cr_assert_eq(out.expires_at, T0 + 1000);
	cr_assert_eq(out.revision, 1);
	store_object_clear(&out);
	cr_assert_eq(store_list(st, &q, T0, &items, &rev, &more, &err), 0);
	cr_assert_eq(json_array_size(items), 1);
	cr_assert_eq(rev, 2);
	json_decref(items);
	/* The counter continues where it was. */
	cr_assert_eq(put(STORE_POLICY, "p", json_object(), T0, 0, NULL), 3);
	cr_assert_eq(store_watch(st, STORE_ENDPOINT, 0, 0, record, &seen,
	    &err), 1);
	cr_assert_eq(store_ping(st), 1);
}

Test(store, watch_replays_history_until_trimmed)
{
	struct nsreg_error	err;
	int			i;
	char			name[16];

	store_close(st);
	test_opt.history = 5;
	st = NULL;
	reopen();
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		put_endpoint(name, NULL, 0);
	}
	put(STORE_SERVICE, "s", json_object(), T0, 0, NULL);
	cr_assert_eq(store_delete(st, STORE_ENDPOINT, "e0", 0, T0, NULL,
	    &err), 0);

	seen.n = 0;
	cr_assert_eq(store_watch(st, STORE_ENDPOINT, 0, 0, record, &seen,
	    &err), 9, "%s", err.message);
	cr_assert_eq(seen.rev[0], 1);
	cr_assert_eq(seen.rev[8], 10);
	cr_assert_eq(seen.type[8], STORE_DELETED);
	seen.n = 0;
	cr_assert_eq(store_watch(st, STORE_ENDPOINT, 6, 2, record, &seen,
	    &err), 2);
	cr_assert_eq(seen.rev[0], 7);
	cr_assert_eq(seen.rev[1], 8);
	cr_assert_eq(store_watch(st, STORE_SERVICE, 0, 0, record, &seen,
	    &err), 1);

	/* Keep 5 events: revisions 6..10 remain. */
	cr_assert_eq(store_prune(st, T0, &err), 0);
	seen.n = 0;
	cr_assert_eq(store_watch(st, STORE_ENDPOINT, 4, 0, record, &seen,
	    &err), -1);
	cr_assert_eq(err.code, NSREG_GONE);
	cr_assert_eq(store_watch(st, STORE_ENDPOINT, 5, 0, record, &seen,
	    &err), 4, "%s", err.message);
	cr_assert_eq(seen.rev[0], 6);
	/* Services lost no event: resume from 0 still works. */
	cr_assert_eq(store_watch(st, STORE_SERVICE, 0, 0, record, &seen,
	    &err), 1, "%s", err.message);
	cr_assert_eq(store_watch(st, STORE_ENDPOINT, 10, 0, record, &seen,
	    &err), 0);
	/* Trimming survives a restart. */
	reopen();
	cr_assert_eq(store_watch(st, STORE_ENDPOINT, 4, 0, record, &seen,
	    &err), -1);
	cr_assert_eq(err.code, NSREG_GONE);
}

struct writer_arg {
	int		 id;
	int		 n;
	int64_t		 revs[200];
	int		 nrevs;
};

static void *
writer_main(void *p)
{
	struct writer_arg	*w = p;
	struct store_object	 obj;
	struct nsreg_error	 err;
	char			 name[32];
	int			 i;

	for (i = 0; i < w->n; i++) {
		memset(&obj, 0, sizeof(obj));
		obj.kind = (enum store_kind)(i % STORE_KIND_MAX);
		/* Every fourth name is shared: those creates collide. */
		if (i % 4 == 3)
			snprintf(name, sizeof(name), "shared-%d", i);
		else
			snprintf(name, sizeof(name), "w%d-%d", w->id, i);
		obj.name = strdup(name);
		obj.doc = json_pack("{s:i}", "i", i);
		if (store_create(st, &obj, T0, &err) == 0)
			w->revs[w->nrevs++] = obj.revision;
		else if (err.code != NSREG_ALREADY_EXISTS)
			return (void *)1;
		store_object_clear(&obj);
	}
	return NULL;
}

Test(store, listener_sees_every_revision_in_order_under_concurrency)
{
	struct writer_arg	w[6];
	pthread_t		t[6];
	size_t			i, total = 0;
	int			j;
	void			*rv;

	for (i = 0; i < 6; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = (int)i;
		w[i].n = 200;
		cr_assert_eq(pthread_create(&t[i], NULL, writer_main, &w[i]),
		    0);
	}
	for (i = 0; i < 6; i++) {
		cr_assert_eq(pthread_join(t[i], &rv), 0);
		cr_assert_null(rv);
		total += (size_t)w[i].nrevs;
		for (j = 1; j < w[i].nrevs; j++)
			cr_assert_gt(w[i].revs[j], w[i].revs[j - 1]);
	}
	/* 150 creates per writer collide on 50 shared names. */
	cr_assert_eq(total, 6 * 150 + 50);
	cr_assert_eq(seen.n, total);
	cr_assert_eq((size_t)store_revision(st), total);
	for (i = 0; i < seen.n; i++) {
		cr_assert_eq(seen.rev[i], (int64_t)i + 1,
		    "event %zu has revision %lld", i, (long long)seen.rev[i]);
		cr_assert_eq(seen.object_rev[i], seen.rev[i]);
	}
}

/*
 * A batch of decisions is written whole or not at all (one entry that
 * cannot be stored fails it), and the store goes on writing after it.
 */
Test(store, a_decision_batch_is_written_whole_or_not_at_all)
{
	struct store_decision		 v[3];
	struct store_decision_query	 q = { .limit = 0 };
	struct nsreg_error		 err;
	json_t				*items, *e[3];
	int64_t				 next;
	size_t				 i;

	memset(v, 0, sizeof(v));
	for (i = 0; i < 3; i++) {
		e[i] = json_pack("{s:s, s:s, s:{s:s}}", "principal",
		    "spiffe://e.org/a", "action", "find", "decision",
		    "decision", "allow");
		v[i].time = T0 + (int64_t)i;
		v[i].entry = e[i];
	}
	v[1].entry = NULL;		/* neither an entry nor its text */
	cr_assert_eq(store_decision_append(st, v, 3, &err), -1);
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 0, "%zu of a failed batch kept",
	    json_array_size(items));
	json_decref(items);
	v[1] = v[2];
	cr_assert_eq(store_decision_append(st, v, 2, &err), 0, "%s",
	    err.message);
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 2);
	json_decref(items);
	for (i = 0; i < 3; i++)
		json_decref(e[i]);
}

Test(store, decision_log_appends_lists_and_prunes)
{
	struct store_decision		 v[5];
	struct store_decision_query	 q = { .limit = 0 };
	struct nsreg_error		 err;
	json_t				*e[5], *items;
	int64_t				 next;
	size_t				 i;

	memset(v, 0, sizeof(v));
	for (i = 0; i < 5; i++) {
		e[i] = json_pack("{s:s, s:s, s:s, s:{s:s, s:[]}}",
		    "time", "2026-11-27T16:31:14Z",
		    "principal",
		    i % 2 ? "spiffe://e.org/a" : "spiffe://e.org/b",
		    "action", i < 3 ? "connect" : "register",
		    "decision", "decision", i == 4 ? "deny" : "allow",
		    "reasons");
		v[i].time = T0 + (int64_t)i * 1000;
		v[i].entry = e[i];
	}
	cr_assert_eq(store_decision_append(st, v, 3, &err), 0, "%s",
	    err.message);
	cr_assert_eq(store_decision_append(st, v + 3, 2, &err), 0);
	cr_assert_eq(store_decision_append(st, v, 0, &err), 0);

	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 5);
	cr_assert_eq(next, 0);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(items,
	    0), "id")), 5);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_array_get(items, 0), "decision"), "decision")), "deny");
	json_decref(items);

	q.limit = 2;
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 2);
	cr_assert_eq(next, 4);
	json_decref(items);
	q.before_id = next;
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(items,
	    0), "id")), 3);
	cr_assert_eq(next, 2);
	json_decref(items);
	q.before_id = next;
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 1);
	cr_assert_eq(next, 0);
	json_decref(items);

	q.before_id = 0;
	q.limit = 0;
	q.principal = "spiffe://e.org/a";
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 2);
	json_decref(items);
	q.action = "connect";
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(items,
	    0), "id")), 2);
	json_decref(items);
	q.principal = NULL;
	q.action = NULL;
	q.decision = "deny";
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 1);
	json_decref(items);
	q.decision = "maybe";
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);

	/* Entries strictly older than the cut go. */
	cr_assert_eq(store_decision_prune(st, T0 + 2000, &err), 2);
	q.decision = NULL;
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_assert_eq(json_array_size(items), 3);
	json_decref(items);
	cr_assert_eq(store_decision_prune(st, T0 + 2000, &err), 0);
	/* The decision log takes no object revision. */
	cr_assert_eq(store_revision(st), 0);
	for (i = 0; i < 5; i++)
		json_decref(e[i]);
}

/* since and until bound the entries' time, alone or with other filters. */
Test(store, decision_log_time_bounds)
{
	static const struct {
		int	has_since, has_until;
		int64_t	since, until;
		int	deny;		/* filter decision=deny too */
		size_t	n;
		int64_t	first_id;	/* newest id listed */
	} cases[] = {
		{ 0, 0, 0, 0, 0, 6, 6 },
		{ 1, 0, T0 + 2000, 0, 0, 4, 6 },
		{ 1, 0, T0 + 1999, 0, 0, 4, 6 },
		{ 1, 0, T0 + 2001, 0, 0, 3, 6 },
		{ 0, 1, 0, T0 + 2000, 0, 2, 2 },
		{ 0, 1, 0, T0 + 2001, 0, 3, 3 },
		{ 1, 1, T0 + 1000, T0 + 4000, 0, 3, 4 },
		{ 1, 1, T0 + 1000, T0 + 4000, 1, 1, 4 },
		{ 1, 1, T0 + 3000, T0 + 3000, 0, 0, 0 },
		{ 1, 0, T0 + 9000, 0, 0, 0, 0 },
		{ 0, 1, 0, T0, 0, 0, 0 },
	};
	struct store_decision		 v[6];
	struct store_decision_query	 q;
	struct nsreg_error		 err;
	json_t				*e[6], *items;
	int64_t				 next;
	size_t				 i;

	memset(v, 0, sizeof(v));
	for (i = 0; i < 6; i++) {
		e[i] = json_pack("{s:s, s:s, s:{s:s}}", "time",
		    "2026-11-27T16:31:14Z", "action", "connect", "decision",
		    "decision", i == 3 ? "deny" : "allow");
		v[i].time = T0 + (int64_t)i * 1000;
		v[i].entry = e[i];
	}
	cr_assert_eq(store_decision_append(st, v, 6, &err), 0, "%s",
	    err.message);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&q, 0, sizeof(q));
		q.has_since = cases[i].has_since;
		q.has_until = cases[i].has_until;
		q.since = cases[i].since;
		q.until = cases[i].until;
		q.decision = cases[i].deny ? "deny" : NULL;
		cr_assert_eq(store_decision_list(st, &q, &items, &next, &err),
		    0, "case %zu: %s", i, err.message);
		cr_expect_eq(json_array_size(items), cases[i].n, "case %zu",
		    i);
		if (cases[i].n > 0)
			cr_expect_eq(json_integer_value(json_object_get(
			    json_array_get(items, 0), "id")),
			    cases[i].first_id, "case %zu", i);
		json_decref(items);
	}
	/* Pages within bounds: two of the three, then the last. */
	memset(&q, 0, sizeof(q));
	q.has_since = q.has_until = 1;
	q.since = T0 + 1000;
	q.until = T0 + 4000;
	q.limit = 2;
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_expect_eq(json_array_size(items), 2);
	cr_expect_eq(next, 3);
	json_decref(items);
	q.before_id = next;
	cr_assert_eq(store_decision_list(st, &q, &items, &next, &err), 0);
	cr_expect_eq(json_array_size(items), 1);
	cr_expect_eq(next, 0);
	json_decref(items);
	/* An empty range is a question; a reversed one an error. */
	q.before_id = 0;
	q.since = T0 + 4000;
	q.until = T0 + 3999;
	cr_expect_eq(store_decision_list(st, &q, &items, &next, &err), -1);
	cr_expect_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_expect_str_eq(err.field, "until");
	for (i = 0; i < 6; i++)
		json_decref(e[i]);
}

Test(store, newer_schema_is_refused)
{
	const struct store_backend	*be;
	struct store_migration		 mig[64];
	struct nsreg_error		 err;
	struct store			*s2;
	size_t				 n;

	be = store_backend_find(test_url, &err);
	cr_assert_not_null(be);
	for (n = 0; be->migrations[n].name != NULL; n++)
		mig[n] = be->migrations[n];
	cr_assert_lt(n, 60);
	mig[n].version = 9999;
	mig[n].name = "9999_future";
	mig[n].sql = "CREATE TABLE future_thing (x INTEGER);";
	mig[n + 1].version = 0;
	mig[n + 1].name = NULL;
	mig[n + 1].sql = NULL;

	/* A newer nsregd migrates the database ... */
	store_close(st);
	st = NULL;
	s2 = store_open_migrations(&test_opt, mig, &err);
	cr_assert_not_null(s2, "%s", err.message);
	store_close(s2);
	/* ... and this one refuses it, saying why. */
	st = store_open(&test_opt, &err);
	cr_assert_null(st);
	cr_assert_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_assert_not_null(strstr(err.message, "9999"), "%s", err.message);
	cr_assert_not_null(strstr(err.message, "newer"), "%s", err.message);
}

Test(store, bad_documents_are_never_half_written)
{
	struct store_object	 obj = { .kind = STORE_ENDPOINT }, out;
	struct nsreg_error	 err;
	json_t			*items;
	int64_t			 rev;
	int			 more;
	struct store_query	 q = { .kind = STORE_ENDPOINT };

	obj.name = strdup("bad");
	obj.doc = json_array();
	cr_assert_eq(store_create(st, &obj, T0, &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	json_decref(obj.doc);
	obj.doc = NULL;
	cr_assert_eq(store_create(st, &obj, T0, &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	/* A string that is not UTF-8 (built without jansson's check). */
	obj.doc = json_pack("{s:o}", "url",
	    json_stringn_nocheck("tcp://\xff\xfe", 8));
	cr_assert_eq(store_create(st, &obj, T0, &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	json_decref(obj.doc);
	obj.doc = json_pack("{s:[s,i]}", "network_service_names", "a", 3);
	cr_assert_eq(store_create(st, &obj, T0, &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_assert_str_eq(err.field, "network_service_names[1]");
	json_decref(obj.doc);
	obj.doc = json_object();
	free(obj.name);
	obj.name = strdup("");
	cr_assert_eq(store_create(st, &obj, T0, &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	free(obj.name);
	obj.name = strdup("\xc3");
	cr_assert_eq(store_create(st, &obj, T0, &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	store_object_clear(&obj);

	cr_assert_eq(store_revision(st), 0);
	cr_assert_eq(seen.n, 0);
	cr_assert_eq(store_list(st, &q, T0, &items, &rev, &more, &err), 0);
	cr_assert_eq(json_array_size(items), 0);
	cr_assert_eq(rev, 0);
	json_decref(items);
	cr_assert_eq(store_watch(st, STORE_ENDPOINT, 0, 0, record, &seen,
	    &err), 0);

	/* A bad update leaves the stored object as it was. */
	put_endpoint("good", (const char *[]){ "s", NULL }, 0);
	obj.kind = STORE_ENDPOINT;
	obj.name = strdup("good");
	obj.doc = json_pack("{s:o, s:[s]}", "url",
	    json_stringn_nocheck("\xc0\xaf", 2), "network_service_names",
	    "t");
	cr_assert_eq(store_update(st, &obj, 0, T0 + 5, &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	store_object_clear(&obj);
	cr_assert_eq(store_fetch(st, STORE_ENDPOINT, "good", T0 + 6, &out,
	    &err), 0);
	cr_assert_eq(out.revision, 1);
	cr_assert_str_eq(json_string_value(json_object_get(out.doc, "url")),
	    "tcp://1.2.3.4:5");
	store_object_clear(&out);
	cr_assert_eq(store_revision(st), 1);
	cr_assert_eq(seen.n, 1);
	q.services = (const char *[]){ "s" };
	q.nservices = 1;
	{
		char	buf[32];

		list_names(&q, T0, buf, sizeof(buf), &more);
		cr_assert_str_eq(buf, "good");
	}
}

Test(store, bad_urls_are_refused_clearly)
{
	struct store_options	opt = { 0 };
	struct nsreg_error	err;

	opt.url = "mysql://x";
	cr_assert_null(store_open(&opt, &err));
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_assert_not_null(strstr(err.message, "unknown scheme"));
	opt.url = "sqlite:";
	cr_assert_null(store_open(&opt, &err));
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	opt.url = "sqlite:/nonexistent-dir/x/y.db";
	cr_assert_null(store_open(&opt, &err));
	cr_assert_eq(err.code, NSREG_UNAVAILABLE);
	cr_assert_not_null(strstr(err.message, "/nonexistent-dir/x/y.db"),
	    "%s", err.message);
}

/*
 * An acknowledged create survives kill -9: a child writes and reports
 * each acknowledged revision through a pipe, the parent kills it in the
 * middle and checks every acknowledged object after reopening.
 */
Test(store, acknowledged_writes_survive_kill)
{
	struct store_object	 out;
	struct nsreg_error	 err;
	int			 fd[2], status;
	int64_t			 acked = 0, rev;
	char			 name[32];
	pid_t			 pid;
	int			 i;

	store_close(st);
	st = NULL;
	cr_assert_eq(pipe(fd), 0);
	if ((pid = fork()) == 0) {
		close(fd[0]);
		st = store_open(&test_opt, &err);
		for (i = 0; st != NULL; i++) {
			snprintf(name, sizeof(name), "e%d", i);
			rev = put(STORE_ENDPOINT, name, endpoint_doc("tcp://a",
			    (const char *[]){ "s", NULL }), T0, 0, "o");
			if (write(fd[1], &rev, sizeof(rev)) != sizeof(rev))
				_exit(1);
		}
		_exit(2);
	}
	close(fd[1]);
	while (acked < 300 && read(fd[0], &rev, sizeof(rev)) == sizeof(rev))
		acked = rev;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fd[0]);
	cr_assert(WIFSIGNALED(status));
	cr_assert_geq(acked, 300);
	reopen();
	cr_assert_geq(store_revision(st), acked);
	for (i = 0; i < acked; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		cr_assert_eq(store_fetch(st, STORE_ENDPOINT, name, T0, &out,
		    &err), 0, "%s lost: %s", name, err.message);
		store_object_clear(&out);
	}
	cr_assert_eq(store_count(st, STORE_ENDPOINT, T0),
	    store_revision(st));
}

/*
 * Lists by service are one snapshot even while a writer moves endpoints
 * between services: the k-th update toggles endpoint (k - 1) % N between
 * "a" and "b", so the set offering "a" at any revision is known.
 */
#define TOGGLE_N	20
#define TOGGLE_K	1500

static int64_t	toggle_base;
static int	toggle_done;

static void *
toggle_main(void *p)
{
	struct store_object	obj;
	struct nsreg_error	err;
	char			name[16];
	int			k, on_a[TOGGLE_N], j;

	(void)p;
	for (j = 0; j < TOGGLE_N; j++)
		on_a[j] = 1;
	for (k = 1; k <= TOGGLE_K; k++) {
		j = (k - 1) % TOGGLE_N;
		on_a[j] = !on_a[j];
		memset(&obj, 0, sizeof(obj));
		obj.kind = STORE_ENDPOINT;
		snprintf(name, sizeof(name), "e%02d", j);
		obj.name = strdup(name);
		obj.doc = endpoint_doc("tcp://t:1", (const char *[]){
		    on_a[j] ? "a" : "b", NULL });
		if (store_update(st, &obj, 0, T0, &err) == -1)
			return (void *)1;
		store_object_clear(&obj);
	}
	__atomic_store_n(&toggle_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Check one list of "a" at rev; 0 when it is the state at rev. */
static int
toggle_check(json_t *items, int64_t rev)
{
	json_t	*o;
	int64_t	 m, t, want;
	size_t	 i, off = 0;
	char	*dump;
	int	 j;
	char	 buf[TOGGLE_N * 4 + 1], exp[TOGGLE_N * 4 + 1];

	m = rev - toggle_base;
	exp[0] = '\0';
	for (j = 0; j < TOGGLE_N; j++) {
		t = m / TOGGLE_N + (j < m % TOGGLE_N ? 1 : 0);
		if (t % 2 == 0)
			off += (size_t)snprintf(exp + off, sizeof(exp) - off,
			    "%se%02d", off > 0 ? "," : "", j);
	}
	names(items, buf, sizeof(buf));
	if (strcmp(buf, exp) != 0) {
		fprintf(stderr, "at revision %lld: got %s, want %s\n",
		    (long long)rev, buf, exp);
		return -1;
	}
	/*
	 * Each object as it was then: e<j> was created at revision j + 1
	 * (toggle_base is TOGGLE_N) and last changed by its latest toggle.
	 */
	json_array_foreach(items, i, o) {
		j = (int)strtol(json_string_value(json_object_get(o,
		    "name")) + 1, NULL, 10);
		t = m / TOGGLE_N + (j < m % TOGGLE_N ? 1 : 0);
		want = t == 0 ? j + 1 :
		    toggle_base + j + 1 + (t - 1) * TOGGLE_N;
		if (json_integer_value(json_object_get(o,
		    "revision")) != want ||
		    strcmp(json_string_value(json_array_get(json_object_get(o,
		    "network_service_names"), 0)), "a") != 0) {
			dump = json_dumps(o, 0);
			fprintf(stderr, "at revision %lld: want revision %lld "
			    "of %s\n", (long long)rev, (long long)want, dump);
			free(dump);
			return -1;
		}
	}
	return 0;
}

static void *
toggle_reader(void *p)
{
	struct store_query	 q = {
		.kind = STORE_ENDPOINT,
		.services = (const char *[]){ "a" },
		.nservices = 1,
	};
	struct nsreg_error	 err;
	json_t			*items;
	char			*body, *last;
	size_t			 len;
	int64_t			 rev;
	long			 lists = 0;
	int			 more, bad;

	(void)p;
	while (!__atomic_load_n(&toggle_done, __ATOMIC_ACQUIRE)) {
		/* Both ways of listing, and the text cache in between. */
		if (lists % 2 == 0) {
			if (store_list(st, &q, T0, &items, &rev, &more,
			    &err) == -1)
				return (void *)1;
		} else {
			if (store_list_text(st, &q, T0, &body, &len, &last,
			    &rev, &more, &err) == -1)
				return (void *)1;
			items = json_loads(body, 0, NULL);
			free(body);
			free(last);
		}
		bad = items == NULL || toggle_check(items, rev) == -1;
		json_decref(items);
		if (bad)
			return (void *)2;
		lists++;
	}
	return lists > 0 ? NULL : (void *)3;
}

Test(store, service_lists_are_one_snapshot_under_writes)
{
	pthread_t	w, r[2];
	void		*rv;
	char		name[16];
	int		j;

	for (j = 0; j < TOGGLE_N; j++) {
		snprintf(name, sizeof(name), "e%02d", j);
		put_endpoint(name, (const char *[]){ "a", NULL }, 0);
	}
	toggle_base = store_revision(st);
	cr_assert_eq(pthread_create(&w, NULL, toggle_main, NULL), 0);
	cr_assert_eq(pthread_create(&r[0], NULL, toggle_reader, NULL), 0);
	cr_assert_eq(pthread_create(&r[1], NULL, toggle_reader, NULL), 0);
	cr_assert_eq(pthread_join(w, &rv), 0);
	cr_assert_null(rv, "writer failed");
	cr_assert_eq(pthread_join(r[0], &rv), 0);
	cr_assert_null(rv, "reader 0 saw an inconsistent list (%p)", rv);
	cr_assert_eq(pthread_join(r[1], &rv), 0);
	cr_assert_null(rv, "reader 1 saw an inconsistent list (%p)", rv);
}

/* Two handles on one file (as two processes would be) stay correct. */
Test(store, a_second_writer_on_the_file_does_not_fool_lists)
{
	struct store_query	 q = {
		.kind = STORE_ENDPOINT,
		.services = (const char *[]){ "s" },
		.nservices = 1,
	};
	struct store		*other, *mine;
	struct nsreg_error	 err;
	char			 buf[64];
	int			 more;

	put_endpoint("a", (const char *[]){ "s", NULL }, 0);
	other = store_open(&test_opt, &err);
	cr_assert_not_null(other, "%s", err.message);
	mine = st;
	st = other;
	put_endpoint("b", (const char *[]){ "s", NULL }, 0);
	st = mine;
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "a,b");
	/* Our next write notices the other writer. */
	put_endpoint("c", (const char *[]){ "s", NULL }, 0);
	cr_assert_eq(store_revision(st), 3);
	list_names(&q, T0, buf, sizeof(buf), &more);
	cr_assert_str_eq(buf, "a,b,c");
	store_close(other);
}

static int
match_even(const json_t *o, void *arg)
{
	const char	*name = json_string_value(json_object_get(o, "name"));

	(void)arg;
	return name != NULL && (name[strlen(name) - 1] - '0') % 2 == 0;
}

/* store_list_text answers what store_list answers, as text. */
static void
list_both(struct store_query *q, size_t want)
{
	struct nsreg_error	 err;
	json_t			*items, *parsed;
	char			*body, *last;
	size_t			 len;
	int64_t			 rev1, rev2;
	int			 more1, more2;

	cr_assert_eq(store_list(st, q, T0, &items, &rev1, &more1, &err), 0,
	    "%s", err.message);
	cr_assert_eq(store_list_text(st, q, T0, &body, &len, &last, &rev2,
	    &more2, &err), 0, "%s", err.message);
	cr_assert_eq(json_array_size(items), want);
	cr_assert_eq(strlen(body), len);
	parsed = json_loads(body, 0, NULL);
	cr_assert_not_null(parsed, "not JSON: %s", body);
	cr_assert(json_equal(parsed, items));
	cr_assert_eq(rev1, rev2);
	cr_assert_eq(more1, more2);
	if (want == 0) {
		cr_assert_null(last);
		cr_assert_str_eq(body, "[]");
	} else
		cr_assert_str_eq(last, json_string_value(json_object_get(
		    json_array_get(items, want - 1), "name")));
	json_decref(parsed);
	json_decref(items);
	free(body);
	free(last);
}

Test(store, list_text_answers_as_list_does)
{
	struct store_query	q = { .kind = STORE_ENDPOINT };
	char			name[16];
	int			i;

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "e%03d", i);
		put_endpoint(name, i % 2 == 0 ?
		    (const char *[]){ "big", "half", NULL } :
		    (const char *[]){ "big", NULL }, i == 7 ? T0 : 0);
	}
	list_both(&q, 299);
	q.services = (const char *[]){ "big" };
	q.nservices = 1;
	/* More than one chunk of the index, one expired on the way. */
	list_both(&q, 299);
	q.services = (const char *[]){ "big", "half" };
	q.nservices = 2;
	list_both(&q, 150);
	q.limit = 7;
	q.after_name = "e100";
	list_both(&q, 7);
	q.match = match_even;
	q.services = (const char *[]){ "big" };
	q.nservices = 1;
	q.after_name = "e250";
	q.limit = 100;
	list_both(&q, 24);
	q.after_name = "e299";
	list_both(&q, 0);
	q.services = (const char *[]){ "none" };
	q.after_name = NULL;
	list_both(&q, 0);
	q.kind = STORE_SERVICE;
	q.nservices = 0;
	q.match = NULL;
	list_both(&q, 0);
}

/*
 * SQLite only: a long log is copied into the database while the server
 * runs (not only at close) and starts over, so it stays bounded.
 */
Test(store, sqlite_log_is_checkpointed_while_writing)
{
	struct stat	sb;
	char		path[600], name[32];
	off_t		wal_max = 0;
	int		i;

	if (strncmp(test_url, "sqlite:", 7) != 0)
		cr_skip_test("not SQLite");
	for (i = 0; i < 6000; i++) {
		snprintf(name, sizeof(name), "nse-%05d", i);
		put_endpoint(name, (const char *[]){ "a", "b", "c", NULL }, 0);
		snprintf(path, sizeof(path), "%s/nsreg.db-wal", test_dir);
		if (i % 100 == 0 && stat(path, &sb) == 0 &&
		    sb.st_size > wal_max)
			wal_max = sb.st_size;
	}
	snprintf(path, sizeof(path), "%s/nsreg.db", test_dir);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_gt(sb.st_size, 2 * 1024 * 1024,
	    "database file still %lld bytes: no checkpoint ran",
	    (long long)sb.st_size);
	/* 6000 registrations write ~100 MiB of log without restarts. */
	cr_assert_lt(wal_max, 64 * 1024 * 1024, "log grew to %lld bytes",
	    (long long)wal_max);
	reopen();
	cr_assert_eq(store_count(st, STORE_ENDPOINT, T0), 6000);
}

Test(store, writes_without_a_listener_still_keep_history)
{
	struct nsreg_error	err;
	int64_t			rev;

	store_set_listener(st, NULL, NULL);
	rev = put(STORE_SERVICE, "s", json_object(), T0, 0, NULL);
	cr_assert_eq(store_delete(st, STORE_SERVICE, "s", rev, T0, NULL,
	    &err), 0, "%s", err.message);
	cr_assert_eq(seen.n, 0);
	cr_assert_eq(store_watch(st, STORE_SERVICE, 0, 0, record, &seen,
	    &err), 2);
	cr_assert_eq(seen.type[0], STORE_ADDED);
	cr_assert_eq(seen.type[1], STORE_DELETED);
	cr_assert_str_eq(seen.name[1], "s");
	cr_assert_eq(seen.object_rev[1], rev);
}

/* More expired objects than one prune transaction takes. */
Test(store, prune_takes_every_expired_object)
{
	struct nsreg_error	err;
	char			name[16];
	int			i;

	store_close(st);
	st = NULL;
	test_opt.history = 100;
	reopen();
	store_set_listener(st, NULL, NULL);
	for (i = 0; i < 2500; i++) {
		snprintf(name, sizeof(name), "g%04d", i);
		put(STORE_GRANT, name, json_object(), T0, T0 + 1 + i % 7,
		    "spiffe://e.org/c");
	}
	put(STORE_GRANT, "keep", json_object(), T0, T0 + 100, NULL);
	cr_assert_eq(store_count(st, STORE_GRANT, T0), 2501);
	cr_assert_eq(store_prune(st, T0 + 50, &err), 2500, "%s",
	    err.message);
	cr_assert_eq(store_count(st, STORE_GRANT, T0), 1);
	cr_assert_eq(store_revision(st), 2501 + 2500);
	cr_assert_eq(store_prune(st, T0 + 50, &err), 0);
	/* The history, trimmed in several transactions, keeps 100. */
	seen.n = 0;
	cr_assert_eq(store_watch(st, STORE_GRANT, 5001 - 101, 0, record,
	    &seen, &err), -1);
	cr_assert_eq(err.code, NSREG_GONE);
	cr_assert_eq(store_watch(st, STORE_GRANT, 5001 - 100, 0, record,
	    &seen, &err), 100, "%s", err.message);
	cr_assert_eq(seen.rev[0], 4902);
}

Test(store, a_failed_migration_changes_nothing)
{
	const struct store_backend	*be;
	struct store_migration		 mig[64];
	struct nsreg_error		 err;
	size_t				 n;

	be = store_backend_find(test_url, &err);
	cr_assert_not_null(be);
	for (n = 0; be->migrations[n].name != NULL; n++)
		mig[n] = be->migrations[n];
	mig[n].version = 9998;
	mig[n].name = "9998_broken";
	mig[n].sql = "CREATE TABLE half (x INTEGER); SELECT * FROM nothing;";
	mig[n + 1].version = 0;
	mig[n + 1].name = NULL;
	mig[n + 1].sql = NULL;
	put(STORE_SERVICE, "s", json_object(), T0, 0, NULL);
	store_close(st);
	st = store_open_migrations(&test_opt, mig, &err);
	cr_assert_null(st);
	cr_assert_not_null(strstr(err.message, "9998_broken"), "%s",
	    err.message);
	/* Still the version this code knows, with its data. */
	reopen();
	cr_assert_eq(store_count(st, STORE_SERVICE, T0), 1);
	/* And the half-made table is not there: the migration can rerun. */
	mig[n].sql = "CREATE TABLE half (x INTEGER);";
	store_close(st);
	st = store_open_migrations(&test_opt, mig, &err);
	cr_assert_not_null(st, "%s", err.message);
}

/* A store_check_fn that records what it saw and may refuse. */
struct put_seen {
	int	 calls;
	int	 had_cur;
	int64_t	 cur_rev;
	char	 cur_owner[64];
	char	 cur_url[64];
	int	 refuse;
};

static int
put_check(const struct store_object *cur, struct store_object *obj,
    void *arg, struct nsreg_error *err)
{
	struct put_seen	*ps = arg;

	(void)obj;
	ps->calls++;
	ps->had_cur = cur != NULL;
	if (cur != NULL) {
		ps->cur_rev = cur->revision;
		snprintf(ps->cur_owner, sizeof(ps->cur_owner), "%s",
		    cur->owner != NULL ? cur->owner : "");
		snprintf(ps->cur_url, sizeof(ps->cur_url), "%s",
		    json_string_value(json_object_get(cur->doc, "url")));
		/* Metadata never shows up inside the document. */
		cr_expect_null(json_object_get(cur->doc, "revision"));
	}
	if (ps->refuse)
		return nsreg_error_set(err, NSREG_PERMISSION_DENIED, NULL,
		    "refused");
	return 0;
}

static int
put_object(const char *name, const char *url, const char *owner,
    int64_t if_match, struct put_seen *ps, int *created, int64_t *rev,
    struct nsreg_error *err)
{
	const char		*svcs[] = { "db", NULL };
	struct store_object	 obj = {
		.kind = STORE_ENDPOINT, .expires_at = T0 + 60000,
	};
	int			 rc;

	obj.name = strdup(name);
	obj.doc = endpoint_doc(url, svcs);
	obj.owner = owner != NULL ? strdup(owner) : NULL;
	rc = store_put(st, &obj, if_match, put_check, ps, T0, created, err);
	if (rc == 0) {
		*rev = obj.revision;
		cr_expect_not_null(obj.text, "a write gives back its text");
		cr_expect(strstr(obj.text, url) != NULL);
		cr_expect_eq(strlen(obj.text), obj.text_len);
	}
	store_object_clear(&obj);
	return rc;
}

Test(store, put_creates_then_replaces_in_one_transaction)
{
	struct put_seen		 ps;
	struct nsreg_error	 err;
	struct store_object	 got;
	int64_t			 r1, r2;
	int			 created;

	memset(&ps, 0, sizeof(ps));
	cr_assert_eq(put_object("p1", "tcp://a", "spiffe://x/owner", 0, &ps,
	    &created, &r1, &err), 0, "%s", err.message);
	cr_expect_eq(created, 1);
	cr_expect_eq(ps.calls, 1);
	cr_expect_eq(ps.had_cur, 0);

	/* A replacement without an owner keeps the recorded one. */
	cr_assert_eq(put_object("p1", "tcp://b", NULL, 0, &ps, &created, &r2,
	    &err), 0, "%s", err.message);
	cr_expect_eq(created, 0);
	cr_expect_gt(r2, r1);
	cr_expect_eq(ps.had_cur, 1);
	cr_expect_eq(ps.cur_rev, r1);
	cr_expect_str_eq(ps.cur_owner, "spiffe://x/owner");
	cr_expect_str_eq(ps.cur_url, "tcp://a");
	cr_assert_eq(store_fetch(st, STORE_ENDPOINT, "p1", T0, &got, &err), 0);
	cr_expect_str_eq(got.owner, "spiffe://x/owner");
	cr_expect_not_null(got.text);
	store_object_clear(&got);

	/* The check refuses: nothing is written. */
	ps.refuse = 1;
	cr_expect_eq(put_object("p1", "tcp://c", NULL, 0, &ps, &created, &r2,
	    &err), -1);
	cr_expect_eq(err.code, NSREG_PERMISSION_DENIED);
	cr_assert_eq(store_fetch(st, STORE_ENDPOINT, "p1", T0, &got, &err), 0);
	cr_expect_str_eq(json_string_value(json_object_get(got.doc, "url")),
	    "tcp://b");
	store_object_clear(&got);
}

Test(store, put_honours_if_match)
{
	struct put_seen		 ps;
	struct nsreg_error	 err;
	int64_t			 r1, r2;
	int			 created;

	memset(&ps, 0, sizeof(ps));
	/* -1: must exist. */
	cr_expect_eq(put_object("q1", "tcp://a", NULL, -1, &ps, &created, &r1,
	    &err), -1);
	cr_expect_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_expect_eq(ps.calls, 0, "the check runs only when it may write");
	cr_assert_eq(put_object("q1", "tcp://a", NULL, 0, &ps, &created, &r1,
	    &err), 0);
	cr_expect_eq(put_object("q1", "tcp://b", NULL, r1 + 1000, &ps,
	    &created, &r2, &err), -1);
	cr_expect_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_expect_eq(put_object("q1", "tcp://b", NULL, r1, &ps, &created, &r2,
	    &err), 0);
	cr_expect_eq(created, 0);
	cr_expect_eq(put_object("q1", "tcp://c", NULL, -1, &ps, &created, &r2,
	    &err), 0);
}

/* Asynchronous puts: every one is called back once, after its commit. */
struct async_done {
	pthread_mutex_t		lock;
	pthread_cond_t		cond;
	int			calls;
	int			created;
	int			failed;
	int64_t			max_rev;
};

static void
async_cb(int rc, struct store_object *obj, int created,
    const struct nsreg_error *err, void *arg)
{
	struct async_done	*d = arg;

	(void)err;
	pthread_mutex_lock(&d->lock);
	d->calls++;
	if (rc == 0) {
		d->created += created;
		if (obj->revision > d->max_rev)
			d->max_rev = obj->revision;
		cr_expect_not_null(obj->text);
	} else
		d->failed++;
	store_object_clear(obj);
	free(obj);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

#define ASYNC_THREADS	4
#define ASYNC_EACH	200

static struct async_done	async_d = {
	.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
};

static void *
async_main(void *p)
{
	const char		*svcs[] = { "db", NULL };
	struct store_object	*obj;
	struct nsreg_error	 err;
	char			 name[32];
	int			 i, created, t = (int)(intptr_t)p;

	for (i = 0; i < ASYNC_EACH; i++) {
		obj = calloc(1, sizeof(*obj));
		obj->kind = STORE_ENDPOINT;
		snprintf(name, sizeof(name), "a%d-%d", t, i);
		obj->name = strdup(name);
		obj->doc = endpoint_doc("tcp://1.2.3.4:5", svcs);
		obj->expires_at = T0 + 60000;
		/* Some wait, mixed with the others in the same batches. */
		if (i % 10 == 9) {
			cr_assert_eq(store_put(st, obj, 0, NULL, NULL, T0,
			    &created, &err), 0, "%s", err.message);
			async_cb(0, obj, created, &err, &async_d);
			continue;
		}
		cr_assert_eq(store_put_async(st, obj, 0, NULL, NULL, T0,
		    async_cb, &async_d, &err), 0, "%s", err.message);
	}
	return NULL;
}

Test(store, async_puts_are_each_called_back_after_their_commit)
{
	pthread_t		 th[ASYNC_THREADS];
	struct nsreg_error	 err;
	int			 i, n;

	for (i = 0; i < ASYNC_THREADS; i++)
		pthread_create(&th[i], NULL, async_main, (void *)(intptr_t)i);
	for (i = 0; i < ASYNC_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_lock(&async_d.lock);
	while (async_d.calls < ASYNC_THREADS * ASYNC_EACH)
		pthread_cond_wait(&async_d.cond, &async_d.lock);
	pthread_mutex_unlock(&async_d.lock);
	cr_expect_eq(async_d.created, ASYNC_THREADS * ASYNC_EACH);
	cr_expect_eq(async_d.failed, 0);
	n = (int)store_count(st, STORE_ENDPOINT, T0);
	cr_expect_eq(n, ASYNC_THREADS * ASYNC_EACH);
	cr_expect_eq(async_d.max_rev, store_revision(st));
	/* The listener saw every revision, in order, without gaps. */
	for (i = 1; i < (int)seen.n; i++)
		cr_expect_eq(seen.rev[i], seen.rev[i - 1] + 1);
	(void)err;
}

Test(store, async_put_failures_are_reported_to_the_callback)
{
	struct store_object	*obj;
	struct nsreg_error	 err;
	const char		*svcs[] = { "db", NULL };

	obj = calloc(1, sizeof(*obj));
	obj->kind = STORE_ENDPOINT;
	obj->name = strdup("nope");
	obj->doc = endpoint_doc("tcp://1.2.3.4:5", svcs);
	/* -1: must exist, and it does not. */
	cr_assert_eq(store_put_async(st, obj, -1, NULL, NULL, T0, async_cb,
	    &async_d, &err), 0);
	pthread_mutex_lock(&async_d.lock);
	while (async_d.calls < 1)
		pthread_cond_wait(&async_d.cond, &async_d.lock);
	pthread_mutex_unlock(&async_d.lock);
	cr_expect_eq(async_d.failed, 1);
}

/*
 * Housekeeping leases: on PostgreSQL one holder at a time per task,
 * renewed by its holder, taken by another once expired or given up; on
 * SQLite (one process) every claim is granted.
 */
Test(store, housekeeping_leases_elect_one_holder)
{
	struct nsreg_error	err;
	int			pg;

	pg = strncmp(test_url, "postgres", 8) == 0;
	cr_assert_eq(store_task_claim(st, "sweep", "a", 60000, &err), 1,
	    "%s", err.message);
	/* Renewed by its holder. */
	cr_assert_eq(store_task_claim(st, "sweep", "a", 60000, &err), 1);
	if (!pg) {
		cr_assert_eq(store_task_claim(st, "sweep", "b", 60000, &err),
		    1);
		return;
	}
	cr_assert_eq(store_task_claim(st, "sweep", "b", 60000, &err), 0);
	/* Tasks are elected apart. */
	cr_assert_eq(store_task_claim(st, "decisions", "b", 60000, &err), 1);
	cr_assert_eq(store_task_claim(st, "decisions", "a", 60000, &err), 0);
	/* Only the holder gives a lease up. */
	store_task_release(st, "sweep", "b");
	cr_assert_eq(store_task_claim(st, "sweep", "b", 60000, &err), 0);
	store_task_release(st, "sweep", "a");
	cr_assert_eq(store_task_claim(st, "sweep", "b", 60000, &err), 1);
	cr_assert_eq(store_task_claim(st, "sweep", "a", 60000, &err), 0);
	/* An expired lease goes to the next claimant; its holder lost it. */
	cr_assert_eq(store_task_claim(st, "federation", "a", 200, &err), 1);
	cr_assert_eq(store_task_claim(st, "federation", "b", 60000, &err), 0);
	usleep(400 * 1000);
	cr_assert_eq(store_task_claim(st, "federation", "b", 60000, &err), 1);
	cr_assert_eq(store_task_claim(st, "federation", "a", 60000, &err), 0);
	/* Leases outlive the handle: they are the database's. */
	reopen();
	cr_assert_eq(store_task_claim(st, "federation", "a", 60000, &err), 0);
	cr_assert_eq(store_task_claim(st, "federation", "b", 60000, &err), 1);
}

/*
 * Concurrent writers (which the PostgreSQL backend commits together): a
 * write that fails fails alone, with its own error, and takes no
 * revision; the others succeed with gapless revisions and one event
 * each.  Services share a savepoint each; endpoints of distinct names
 * have their rows read ahead and share the transaction without one
 * (a failure runs the batch again, with savepoints).
 */
#define RACE_THREADS	8
#define RACE_EACH	25

struct race {
	enum store_kind	 kind;
	long		 t;
	const char	*taken;		/* %ld: the thread */
};

static json_t *
race_doc(enum store_kind kind)
{
	if (kind == STORE_ENDPOINT)
		return json_pack("{s:s,s:[s]}", "url", "tcp://10.0.0.1:5000",
		    "network_service_names", "svc");
	return json_object();
}

static void *
race_main(void *arg)
{
	const struct race	*r = arg;
	struct store_object	 obj;
	struct nsreg_error	 err;
	long			 bad = 0;
	char			 name[32];
	int			 i, rc;

	for (i = 0; i < RACE_EACH; i++) {
		memset(&obj, 0, sizeof(obj));
		obj.kind = r->kind;
		/* Every other write names an object that exists. */
		if (i % 2 == 0)
			snprintf(name, sizeof(name), "race-%ld-%d", r->t, i);
		else
			snprintf(name, sizeof(name), r->taken, r->t);
		obj.name = strdup(name);
		obj.doc = race_doc(r->kind);
		rc = store_create(st, &obj, T0, &err);
		if (i % 2 == 0 ? rc != 0 : (rc != -1 ||
		    err.code != NSREG_ALREADY_EXISTS))
			bad++;
		store_object_clear(&obj);
	}
	return (void *)(intptr_t)bad;
}

Test(store, concurrent_writes_fail_alone)
{
	static const struct race	 cases[] = {
		{ STORE_SERVICE, 0, "taken" },		/* one name for all */
		{ STORE_ENDPOINT, 0, "taken-%ld" },	/* one per thread */
	};
	struct race			 r[RACE_THREADS];
	pthread_t			 t[RACE_THREADS];
	char				 name[32];
	void				*rv;
	int64_t				 base;
	size_t				 c, i, added;
	long				 k;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (k = 0; k < RACE_THREADS; k++) {
			snprintf(name, sizeof(name), cases[c].taken, k);
			if (k == 0 || strchr(cases[c].taken, '%') != NULL)
				put(cases[c].kind, name,
				    race_doc(cases[c].kind), T0, 0, NULL);
		}
		base = store_revision(st);
		pthread_mutex_lock(&seen.lock);
		seen.n = 0;
		pthread_mutex_unlock(&seen.lock);
		for (k = 0; k < RACE_THREADS; k++) {
			r[k] = cases[c];
			r[k].t = k;
			cr_assert_eq(pthread_create(&t[k], NULL, race_main,
			    &r[k]), 0);
		}
		for (k = 0; k < RACE_THREADS; k++) {
			cr_assert_eq(pthread_join(t[k], &rv), 0);
			cr_expect_null(rv, "case %zu, thread %ld: %ld wrong "
			    "answers", c, k, (long)(intptr_t)rv);
		}
		/* 13 creates per thread succeeded, 12 failed and took
		 * nothing. */
		cr_expect_eq(store_revision(st), base + RACE_THREADS * 13,
		    "case %zu", c);
		added = 0;
		pthread_mutex_lock(&seen.lock);
		for (i = 0; i < seen.n; i++) {
			cr_expect_eq(seen.rev[i], base + 1 + (int64_t)i,
			    "case %zu: event %zu at %lld", c, i,
			    (long long)seen.rev[i]);
			cr_expect_eq(strncmp(seen.name[i], "taken", 5) != 0,
			    1, "case %zu: %s", c, seen.name[i]);
			added += seen.type[i] == STORE_ADDED;
		}
		pthread_mutex_unlock(&seen.lock);
		cr_expect_eq(added, RACE_THREADS * 13, "case %zu", c);
	}
}
