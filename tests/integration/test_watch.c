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
