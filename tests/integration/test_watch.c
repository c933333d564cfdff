/*
 * test_watch.c - watch streams: snapshot, BOOKMARK, live changes in order,
 * since= resume, 410 past the history, DELETED "expired", filters.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct nsregd	srv;

static void
setup(void)
{
	nsregd_start(&srv, "watch-history 16\nwatch-bookmark 1s\n");
	nsregd_allow_local(&srv);
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(watch, .init = setup, .fini = teardown, .timeout = 90);

static void
put(const struct hcred *c, const char *name, const char *svc,
    const char *extra)
{
	struct hresp	r;
	char		path[128], body[512];

	snprintf(path, sizeof(path), "/v1/endpoints/%s", name);
	snprintf(body, sizeof(body), "{\"url\":\"tcp://10.0.0.1:1\","
	    "\"network_service_names\":[\"%s\"]%s}", svc, extra);
	hreq(&srv, c, "PUT", path, body, NULL, NULL, &r);
	cr_assert(r.status == 200 || r.status == 201, "%ld %s", r.status,
	    r.body);
	hresp_free(&r);
}

static const char *
ev_type(json_t *e)
{
	return json_string_value(json_object_get(e, "type"));
}

static const char *
ev_name(json_t *e)
{
	return json_string_value(json_object_get(json_object_get(e, "object"),
	    "name"));
}

Test(watch, snapshot_bookmark_then_live_changes_in_order)
{
	struct hcred	 c;
	struct hwatch	 w;
	struct hresp	 r;
	json_t		*e;
	long long	 rev, prev = 0;
	size_t		 i;

	hcred_x509(&srv, &c);
	put(&c, "w1", "db", "");
	put(&c, "w2", "db", "");
	put(&c, "other", "web", "");
	hwatch_start(&w, &srv, &c, "/v1/endpoints?service=db&watch=true");
	cr_assert_eq(hwatch_wait(&w, 3, 5000), 3);
	cr_expect_str_eq(ev_type(hwatch_event(&w, 0)), "ADDED");
	cr_expect_str_eq(ev_type(hwatch_event(&w, 1)), "ADDED");
	cr_expect_str_eq(ev_type(hwatch_event(&w, 2)), "BOOKMARK");
	rev = json_integer_value(json_object_get(hwatch_event(&w, 2),
	    "revision"));
	cr_expect_gt(rev, 0);

	put(&c, "w3", "db", "");		/* ADDED */
	put(&c, "w1", "db", "");		/* MODIFIED */
	put(&c, "skip", "web", "");		/* filtered out */
	hreq(&srv, &c, "DELETE", "/v1/endpoints/w2", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 204);
	hresp_free(&r);
	cr_assert_geq(hwatch_wait(&w, 6, 5000), 6);
	for (i = 3; i < 6; i++) {
		e = hwatch_event(&w, i);
		if (strcmp(ev_type(e), "BOOKMARK") == 0)
			continue;
		cr_expect_gt(json_integer_value(json_object_get(e,
		    "revision")), prev);
		prev = json_integer_value(json_object_get(e, "revision"));
	}
	cr_expect_str_eq(ev_type(hwatch_event(&w, 3)), "ADDED");
	cr_expect_str_eq(ev_name(hwatch_event(&w, 3)), "w3");
	cr_expect_str_eq(ev_type(hwatch_event(&w, 4)), "MODIFIED");
	cr_expect_str_eq(ev_name(hwatch_event(&w, 4)), "w1");
	cr_expect_str_eq(ev_type(hwatch_event(&w, 5)), "DELETED");
	cr_expect_str_eq(ev_name(hwatch_event(&w, 5)), "w2");
	hwatch_stop(&w);
}

Test(watch, idle_stream_gets_bookmarks)
{
	struct hcred	c;
	struct hwatch	w;

	hcred_x509(&srv, &c);
	hwatch_start(&w, &srv, &c, "/v1/services?watch=true");
	cr_assert_eq(hwatch_wait(&w, 1, 5000), 1);
	cr_expect_str_eq(ev_type(hwatch_event(&w, 0)), "BOOKMARK");
	cr_assert_eq(hwatch_wait(&w, 2, 5000), 2, "no second BOOKMARK");
	cr_expect_str_eq(ev_type(hwatch_event(&w, 1)), "BOOKMARK");
	hwatch_stop(&w);
}

Test(watch, since_resumes_and_old_revisions_are_gone)
{
	struct hcred	 c;
	struct hwatch	 w;
	struct hresp	 r;
	char		 path[128], name[16];
	long long	 rev;
	int		 i;

	hcred_x509(&srv, &c);
	put(&c, "s1", "db", "");
	hreq(&srv, &c, "GET", "/v1/endpoints/s1", NULL, NULL, NULL, &r);
	rev = json_integer_value(json_object_get(r.json, "revision"));
	hresp_free(&r);
	put(&c, "s2", "db", "");
	put(&c, "s1", "db", "");
	snprintf(path, sizeof(path), "/v1/endpoints?watch=true&since=%lld",
	    rev);
	hwatch_start(&w, &srv, &c, path);
	cr_assert_geq(hwatch_wait(&w, 2, 5000), 2);
	cr_expect_str_eq(ev_type(hwatch_event(&w, 0)), "ADDED");
	cr_expect_str_eq(ev_name(hwatch_event(&w, 0)), "s2");
	cr_expect_str_eq(ev_type(hwatch_event(&w, 1)), "MODIFIED");
	cr_expect_str_eq(ev_name(hwatch_event(&w, 1)), "s1");
	hwatch_stop(&w);

	/* 16 events of history: push rev out of it. */
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "x%d", i);
		put(&c, name, "db", "");
	}
	usleep(600 * 1000);	/* the sweeper trims the history */
	hreq(&srv, &c, "GET", path, NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 410, "%ld %s", r.status, r.body);
	cr_expect_str_eq(hresp_error(&r), "gone");
	hresp_free(&r);
}

Test(watch, expiry_is_a_deleted_event_with_reason)
{
	struct hcred	 c;
	struct hwatch	 w;
	json_t		*e = NULL;
	size_t		 i, n;

	hcred_x509(&srv, &c);
	hwatch_start(&w, &srv, &c, "/v1/endpoints?watch=true");
	cr_assert_eq(hwatch_wait(&w, 1, 5000), 1);
	put(&c, "soon", "db", "");
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/brief", 2000, &c);
	put(&c, "brief", "db", "");
	n = hwatch_wait(&w, 10, 6000);
	for (i = 0; i < n; i++) {
		json_t	*x = hwatch_event(&w, i);

		if (strcmp(ev_type(x), "DELETED") == 0) {
			e = x;
			break;
		}
	}
	cr_assert_not_null(e, "no DELETED event");
	cr_expect_str_eq(ev_name(e), "brief");
	cr_expect_str_eq(json_string_value(json_object_get(e, "reason")),
	    "expired");
	hwatch_stop(&w);
}

/* The store's revision, as a list reports it. */
static long long
current_revision(const struct hcred *c)
{
	struct hresp	r;
	long long	rev;

	hreq(&srv, c, "GET", "/v1/endpoints", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	rev = json_integer_value(json_object_get(r.json, "revision"));
	hresp_free(&r);
	return rev;
}

/* Every since= that is not a plain revision number: 400 at once. */
Test(watch, since_that_is_not_a_revision_is_400)
{
	static const char *const bad[] = {
		"", "-1", "-0", "abc", "1a", "0x10", "+5", "%205", "5%20",
		"%095", "%0A5", "1.0", "1e3", "99999999999999999999",
		"9223372036854775808", "-9223372036854775808", "5,6",
	};
	struct hcred	c;
	struct hresp	r;
	char		path[128];
	size_t		i;

	hcred_x509(&srv, &c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path),
		    "/v1/endpoints?watch=true&since=%s", bad[i]);
		cr_assert_eq(hreq(&srv, &c, "GET", path, NULL, NULL, NULL,
		    &r), 0, "%s: no answer", bad[i]);
		cr_expect_eq(r.status, 400, "since=%s: %ld %s", bad[i],
		    r.status, r.body);
		cr_expect_str_eq(hresp_error(&r), "invalid_argument",
		    "since=%s", bad[i]);
		hresp_free(&r);
	}
}

/*
 * A revision the store has not reached is 410 (list again), never a
 * BOOKMARK at a revision that does not exist followed by silence.
 */
Test(watch, since_beyond_the_current_revision_is_gone)
{
	static const long long ahead[] = { 1, 2, 1000, 4611686018427387904LL };
	struct hcred	c;
	struct hresp	r;
	char		path[128];
	long long	cur;
	size_t		i;

	hcred_x509(&srv, &c);
	put(&c, "f1", "db", "");
	cur = current_revision(&c);
	for (i = 0; i < sizeof(ahead) / sizeof(ahead[0]); i++) {
		snprintf(path, sizeof(path),
		    "/v1/endpoints?watch=true&since=%lld", cur + ahead[i]);
		cr_assert_eq(hreq(&srv, &c, "GET", path, NULL, NULL, NULL,
		    &r), 0);
		cr_expect_eq(r.status, 410, "since=cur+%lld: %ld %s",
		    ahead[i], r.status, r.body);
		cr_expect_str_eq(hresp_error(&r), "gone");
		hresp_free(&r);
	}
}

/*
 * since= equal to the current revision, since=0 and an older revision:
 * the replay (possibly empty), then a BOOKMARK at once (not after the
 * bookmark interval), then live changes.
 */
Test(watch, since_replay_ends_with_a_bookmark_at_once)
{
	struct hcred	 c;
	struct hwatch	 w;
	char		 path[128];
	long long	 cur, first;
	json_t		*e;

	hcred_x509(&srv, &c);
	put(&c, "b1", "db", "");
	first = current_revision(&c);
	put(&c, "b2", "db", "");
	put(&c, "b3", "db", "");
	cur = current_revision(&c);

	/* Equal to the current revision: nothing to replay. */
	snprintf(path, sizeof(path), "/v1/endpoints?watch=true&since=%lld",
	    cur);
	hwatch_start(&w, &srv, &c, path);
	cr_assert_eq(hwatch_wait(&w, 1, 800), 1, "no BOOKMARK at once");
	e = hwatch_event(&w, 0);
	cr_expect_str_eq(ev_type(e), "BOOKMARK");
	cr_expect_eq(json_integer_value(json_object_get(e, "revision")), cur);
	put(&c, "b4", "db", "");
	cr_assert_geq(hwatch_wait(&w, 2, 5000), 2);
	cr_expect_str_eq(ev_name(hwatch_event(&w, 1)), "b4");
	hwatch_stop(&w);

	/* An older revision: the two changes after it, then BOOKMARK. */
	snprintf(path, sizeof(path), "/v1/endpoints?watch=true&since=%lld",
	    first);
	hwatch_start(&w, &srv, &c, path);
	cr_assert_geq(hwatch_wait(&w, 4, 800), 4);
	cr_expect_str_eq(ev_name(hwatch_event(&w, 0)), "b2");
	cr_expect_str_eq(ev_name(hwatch_event(&w, 1)), "b3");
	cr_expect_str_eq(ev_name(hwatch_event(&w, 2)), "b4");
	e = hwatch_event(&w, 3);
	cr_expect_str_eq(ev_type(e), "BOOKMARK");
	cr_expect_geq(json_integer_value(json_object_get(e, "revision")),
	    cur + 1);
	hwatch_stop(&w);

	/* since=0: everything the history holds, then BOOKMARK. */
	hwatch_start(&w, &srv, &c, "/v1/endpoints?watch=true&since=0");
	cr_assert_geq(hwatch_wait(&w, 5, 800), 5);
	cr_expect_str_eq(ev_name(hwatch_event(&w, 0)), "b1");
	cr_expect_str_eq(ev_type(hwatch_event(&w, 4)), "BOOKMARK");
	hwatch_stop(&w);
}

/* After a restart the in-memory ring is empty: the store replays. */
Test(watch, since_after_a_restart_replays_from_the_store)
{
	struct hcred	 c;
	struct hwatch	 w;
	char		 path[128];
	long long	 first;

	hcred_x509(&srv, &c);
	put(&c, "r1", "db", "");
	first = current_revision(&c);
	put(&c, "r2", "db", "");
	put(&c, "r3", "web", "");
	nsregd_restart(&srv);
	snprintf(path, sizeof(path), "/v1/endpoints?watch=true&since=%lld",
	    first);
	hwatch_start(&w, &srv, &c, path);
	cr_assert_geq(hwatch_wait(&w, 3, 3000), 3);
	cr_expect_str_eq(ev_name(hwatch_event(&w, 0)), "r2");
	cr_expect_str_eq(ev_name(hwatch_event(&w, 1)), "r3");
	cr_expect_str_eq(ev_type(hwatch_event(&w, 2)), "BOOKMARK");
	hwatch_stop(&w);
}
