/*
 * test_registry.c - network services and endpoints through a real
 * nsregd: CRUD, validation, revisions, owners, expiry, queries.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct nsregd	srv;

static void
setup(void)
{
	nsregd_start(&srv, "endpoint-default-ttl 60s\nendpoint-max-ttl 1h\n");
	nsregd_allow_local(&srv);
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(registry, .init = setup, .fini = teardown, .timeout = 90);

static json_t *
ok_json(struct hresp *r, long status)
{
	cr_assert_eq(r->status, status, "status %ld, want %ld: %s", r->status,
	    status, r->body);
	return r->json;
}

static void
put_endpoint(const struct hcred *c, const char *name, const char *svcs,
    long want)
{
	struct hresp	r;
	char		path[256], body[1024];

	snprintf(path, sizeof(path), "/v1/endpoints/%s", name);
	snprintf(body, sizeof(body), "{\"url\":\"tcp://10.0.0.1:5002\","
	    "\"network_service_names\":%s}", svcs);
	hreq(&srv, c, "PUT", path, body, NULL, NULL, &r);
	cr_expect_eq(r.status, want, "PUT %s: %ld %s", name, r.status,
	    r.body);
	hresp_free(&r);
}

Test(registry, service_create_get_replace_delete)
{
	struct hcred	 admin;
	struct hresp	 r;
	json_t		*o;
	long long	 rev;
	char		 etag[64];

	hcred_admin(&srv, &admin);
	hreq(&srv, &admin, "PUT", "/v1/services/db",
	    "{\"labels\":{\"tier\":\"data\"},\"vl3\":{\"prefix\":"
	    "\"10.60.0.0/16\"}}", NULL, NULL, &r);
	o = ok_json(&r, 201);
	cr_expect_str_eq(json_string_value(json_object_get(o, "name")), "db");
	cr_expect_str_eq(json_string_value(json_object_get(o, "payload")),
	    "IP");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(o,
	    "vl3"), "client_prefix_len")), 32);
	cr_expect(json_is_string(json_object_get(o, "created_at")));
	cr_expect(json_is_string(json_object_get(o, "updated_at")));
	rev = json_integer_value(json_object_get(o, "revision"));
	cr_expect_gt(rev, 0);
	cr_expect_str_eq(hresp_header(&r, "Location"), "/v1/services/db");
	hresp_free(&r);

	hreq(&srv, &admin, "GET", "/v1/services/db", NULL, NULL, NULL, &r);
	ok_json(&r, 200);
	snprintf(etag, sizeof(etag), "\"%lld\"", rev);
	cr_expect_str_eq(hresp_header(&r, "ETag"), etag);
	hresp_free(&r);

	/* If-Match with a moved revision is 412; with the right one, 200. */
	hreq(&srv, &admin, "PUT", "/v1/services/db", "{\"payload\":"
	    "\"ETHERNET\"}", NULL, "If-Match: \"999999\"", &r);
	cr_expect_eq(r.status, 412);
	cr_expect_str_eq(hresp_error(&r), "failed_precondition");
	hresp_free(&r);
	snprintf(etag, sizeof(etag), "If-Match: \"%lld\"", rev);
	hreq(&srv, &admin, "PUT", "/v1/services/db", "{\"payload\":"
	    "\"ETHERNET\"}", NULL, etag, &r);
	o = ok_json(&r, 200);
	cr_expect_gt(json_integer_value(json_object_get(o, "revision")), rev);
	cr_expect_str_eq(json_string_value(json_object_get(o, "payload")),
	    "ETHERNET");
	hresp_free(&r);

	hreq(&srv, &admin, "DELETE", "/v1/services/db", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 204);
	hresp_free(&r);
	hreq(&srv, &admin, "GET", "/v1/services/db", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(hresp_error(&r), "not_found");
	hresp_free(&r);
	hreq(&srv, &admin, "DELETE", "/v1/services/db", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 404);
	hresp_free(&r);
}

Test(registry, service_validation_names_the_field)
{
	static const struct {
		const char	*path;
		const char	*body;
		const char	*field;
	} cases[] = {
		{ "/v1/services/db", "{\"bogus\":1}", "bogus" },
		{ "/v1/services/db", "{\"payload\":\"TCP\"}", "payload" },
		{ "/v1/services/db", "{\"payload\":7}", "payload" },
		{ "/v1/services/db", "{\"name\":\"other\"}", "name" },
		{ "/v1/services/Db", "{}", "name" },
		{ "/v1/services/db", "{\"labels\":{\"k\":1}}", "labels" },
		{ "/v1/services/db", "{\"vl3\":{\"prefix\":\"10.0.0.1/8\"}}",
		    "vl3.prefix" },
		{ "/v1/services/db", "{\"vl3\":{\"prefix\":\"10.0.0.0/8\","
		    "\"client_prefix_len\":4}}", "vl3.client_prefix_len" },
		{ "/v1/services/db", "{\"vl3\":{}}", "vl3.prefix" },
		{ "/v1/services/db", "{\"matches\":[{\"routes\":[{\"x\":1}]}]}",
		    "matches[0].routes[0].x" },
		{ "/v1/services/db", "{\"matches\":[{\"fallthrough\":\"y\"}]}",
		    "matches[0].fallthrough" },
		{ "/v1/services/db@b.test", "{}", "name" },
	};
	struct hcred	admin;
	struct hresp	r;
	size_t		i;

	hcred_admin(&srv, &admin);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hreq(&srv, &admin, "PUT", cases[i].path, cases[i].body, NULL,
		    NULL, &r);
		cr_expect_eq(r.status, 400, "%s: %ld", cases[i].body,
		    r.status);
		cr_expect_str_eq(hresp_error(&r), "invalid_argument");
		cr_expect_str_eq(json_string_value(json_object_get(
		    json_object_get(r.json, "error"), "field")),
		    cases[i].field, "%s", cases[i].body);
		hresp_free(&r);
	}
	hreq(&srv, &admin, "GET", "/v1/services", NULL, NULL, NULL, &r);
	cr_expect_eq(json_array_size(json_object_get(r.json, "items")), 0);
	hresp_free(&r);
}

Test(registry, endpoint_owner_is_kept_and_enforced_across_restart)
{
	struct hcred	 client, other, admin;
	struct hresp	 r;
	json_t		*o;
	char		 irt[64];

	hcred_x509(&srv, &client);
	hcred_admin(&srv, &admin);
	hcred_issue_x509(&srv, "spiffe://example.org/ns/other/sa/x", 0,
	    &other);
	hreq(&srv, &client, "PUT", "/v1/endpoints/db-1",
	    "{\"url\":\"tcp://10.0.0.1:5002\",\"network_service_names\":"
	    "[\"db\"],\"network_service_labels\":{\"db\":{\"app\":\"pg\"}}}",
	    NULL, NULL, &r);
	o = ok_json(&r, 201);
	cr_expect_str_eq(json_string_value(json_object_get(o, "owner")),
	    "spiffe://example.org/ns/default/sa/client");
	snprintf(irt, sizeof(irt), "%s", json_string_value(json_object_get(o,
	    "initial_registration_time")));
	cr_expect(json_is_string(json_object_get(o, "expiration_time")));
	hresp_free(&r);

	put_endpoint(&other, "db-1", "[\"db\"]", 403);
	nsregd_restart(&srv);
	put_endpoint(&other, "db-1", "[\"db\"]", 403);
	hreq(&srv, &other, "DELETE", "/v1/endpoints/db-1", NULL, NULL, NULL,
	    &r);
	cr_expect_eq(r.status, 403);
	cr_expect_str_eq(hresp_error(&r), "permission_denied");
	hresp_free(&r);

	/* The owner refreshes: initial_registration_time is kept. */
	sleep(1);
	hreq(&srv, &client, "PUT", "/v1/endpoints/db-1",
	    "{\"url\":\"tcp://10.0.0.1:5003\",\"network_service_names\":"
	    "[\"db\"]}", NULL, NULL, &r);
	o = ok_json(&r, 200);
	cr_expect_str_eq(json_string_value(json_object_get(o,
	    "initial_registration_time")), irt);
	cr_expect_str_eq(json_string_value(json_object_get(o, "url")),
	    "tcp://10.0.0.1:5003");
	hresp_free(&r);

	/* An admin may delete it. */
	hreq(&srv, &admin, "DELETE", "/v1/endpoints/db-1", NULL, NULL, NULL,
	    &r);
	cr_expect_eq(r.status, 204);
	hresp_free(&r);
}

Test(registry, endpoint_expiry_is_capped_and_expired_endpoints_vanish)
{
	struct hcred	 client, shortlived;
	struct hresp	 r;
	json_t		*o;
	int		 i;

	hcred_x509(&srv, &client);
	/* Asked for a day: capped at endpoint-max-ttl (1h). */
	hreq(&srv, &client, "PUT", "/v1/endpoints/e1",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"s\"],"
	    "\"expiration_time\":\"2999-01-01T00:00:00Z\"}", NULL, NULL, &r);
	o = ok_json(&r, 201);
	cr_expect(strncmp(json_string_value(json_object_get(o,
	    "expiration_time")), "2999", 4) != 0);
	hresp_free(&r);

	/* In the past: refused. */
	hreq(&srv, &client, "PUT", "/v1/endpoints/e2",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":[\"s\"],"
	    "\"expiration_time\":\"2001-01-01T00:00:00Z\"}", NULL, NULL, &r);
	cr_expect_eq(r.status, 400);
	hresp_free(&r);

	/* A credential that expires in 3 s caps the registration. */
	hcred_issue_jwt(&srv, "spiffe://example.org/ns/short", 3000,
	    &shortlived);
	put_endpoint(&shortlived, "e3", "[\"s\"]", 201);
	hreq(&srv, &client, "GET", "/v1/endpoints/e3", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	hresp_free(&r);
	for (i = 0; i < 60; i++) {
		usleep(100 * 1000);
		hreq(&srv, &client, "GET", "/v1/endpoints/e3", NULL, NULL,
		    NULL, &r);
		if (r.status == 404) {
			hresp_free(&r);
			break;
		}
		hresp_free(&r);
	}
	cr_expect_lt(i, 60, "e3 did not expire");
	hreq(&srv, &client, "GET", "/v1/endpoints?service=s", NULL, NULL,
	    NULL, &r);
	o = ok_json(&r, 200);
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 1);
	hresp_free(&r);
}

Test(registry, endpoint_queries_by_example_and_pagination)
{
	struct hcred	 client;
	struct hresp	 r;
	json_t		*o;
	char		 path[512], name[32];
	const char	*tok;
	int		 i, seen = 0;

	hcred_x509(&srv, &client);
	hreq(&srv, &client, "PUT", "/v1/endpoints/a1",
	    "{\"url\":\"tcp://10.0.0.1:1\",\"network_service_names\":"
	    "[\"db\",\"web\"],\"network_service_labels\":{\"db\":{\"app\":"
	    "\"pg\",\"zone\":\"a\"}}}", NULL, NULL, &r);
	ok_json(&r, 201);
	hresp_free(&r);
	hreq(&srv, &client, "PUT", "/v1/endpoints/a2",
	    "{\"url\":\"tcp://10.0.0.2:1\",\"network_service_names\":[\"db\"],"
	    "\"network_service_labels\":{\"db\":{\"app\":\"mysql\"}}}", NULL,
	    NULL, &r);
	ok_json(&r, 201);
	hresp_free(&r);
	put_endpoint(&client, "a3", "[\"web\"]", 201);

	hreq(&srv, &client, "GET", "/v1/endpoints?service=db", NULL, NULL,
	    NULL, &r);
	cr_expect_eq(json_array_size(json_object_get(ok_json(&r, 200),
	    "items")), 2);
	cr_expect_gt(json_integer_value(json_object_get(r.json, "revision")),
	    0);
	hresp_free(&r);
	hreq(&srv, &client, "GET", "/v1/endpoints?service=db&service=web",
	    NULL, NULL, NULL, &r);
	o = json_object_get(ok_json(&r, 200), "items");
	cr_expect_eq(json_array_size(o), 1);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(o,
	    0), "name")), "a1");
	hresp_free(&r);
	hreq(&srv, &client, "GET", "/v1/endpoints?label.db.app=pg", NULL,
	    NULL, NULL, &r);
	cr_expect_eq(json_array_size(json_object_get(ok_json(&r, 200),
	    "items")), 1);
	hresp_free(&r);
	hreq(&srv, &client, "GET", "/v1/endpoints?url=10.0.0.2", NULL, NULL,
	    NULL, &r);
	cr_expect_eq(json_array_size(json_object_get(ok_json(&r, 200),
	    "items")), 1);
	hresp_free(&r);
	hreq(&srv, &client, "GET", "/v1/endpoints?name=a3", NULL, NULL, NULL,
	    &r);
	cr_expect_eq(json_array_size(json_object_get(ok_json(&r, 200),
	    "items")), 1);
	hresp_free(&r);
	hreq(&srv, &client, "GET", "/v1/endpoints?colour=red", NULL, NULL,
	    NULL, &r);
	cr_expect_eq(r.status, 400);
	hresp_free(&r);

	for (i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "p%02d", i);
		put_endpoint(&client, name, "[\"pag\"]", 201);
	}
	snprintf(path, sizeof(path), "/v1/endpoints?service=pag&limit=10");
	for (i = 0; i < 5; i++) {
		hreq(&srv, &client, "GET", path, NULL, NULL, NULL, &r);
		o = ok_json(&r, 200);
		seen += (int)json_array_size(json_object_get(o, "items"));
		tok = json_string_value(json_object_get(o,
		    "next_page_token"));
		cr_assert_not_null(tok);
		if (tok[0] == '\0') {
			hresp_free(&r);
			break;
		}
		snprintf(path, sizeof(path),
		    "/v1/endpoints?service=pag&limit=10&page_token=%s", tok);
		hresp_free(&r);
	}
	cr_expect_eq(seen, 25);
	hreq(&srv, &client, "GET", "/v1/endpoints?limit=0", NULL, NULL, NULL,
	    &r);
	cr_expect_eq(r.status, 400);
	hresp_free(&r);
	hreq(&srv, &client, "GET", "/v1/endpoints?page_token=%%%", NULL, NULL,
	    NULL, &r);
	cr_expect_eq(r.status, 400);
	hresp_free(&r);
}

Test(registry, endpoint_validation)
{
	static const struct {
		const char	*body;
		const char	*field;
	} cases[] = {
		{ "{\"network_service_names\":[\"db\"]}", "url" },
		{ "{\"url\":\"nourl\",\"network_service_names\":[\"db\"]}",
		    "url" },
		{ "{\"url\":\"tcp://x\",\"network_service_names\":[\"\"]}",
		    "network_service_names[0]" },
		{ "{\"url\":\"tcp://x\",\"network_service_names\":[]}",
		    "network_service_names" },
		{ "{\"url\":\"tcp://x\",\"network_service_names\":[\"a\","
		    "\"a\"]}", "network_service_names[1]" },
		{ "{\"url\":\"tcp://x\",\"network_service_names\":[\"a\"],"
		    "\"network_service_labels\":{\"b\":{}}}",
		    "network_service_labels.b" },
		{ "{\"url\":\"tcp://x\",\"network_service_names\":[\"a\"],"
		    "\"expiration_time\":\"tomorrow\"}", "expiration_time" },
		{ "{\"url\":\"tcp://x\",\"network_service_names\":[\"a\"],"
		    "\"colour\":\"red\"}", "colour" },
		{ "{\"url\":5,\"network_service_names\":[\"a\"]}", "url" },
	};
	struct hcred	client;
	struct hresp	r;
	size_t		i;

	hcred_x509(&srv, &client);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hreq(&srv, &client, "PUT", "/v1/endpoints/v1", cases[i].body,
		    NULL, NULL, &r);
		cr_expect_eq(r.status, 400, "%s: %ld", cases[i].body,
		    r.status);
		cr_expect_str_eq(json_string_value(json_object_get(
		    json_object_get(r.json, "error"), "field")),
		    cases[i].field, "%s: %s", cases[i].body, r.body);
		hresp_free(&r);
	}
	hreq(&srv, &client, "GET", "/v1/endpoints/v1", NULL, NULL, NULL, &r);
	cr_expect_eq(r.status, 404);
	hresp_free(&r);
}

Test(registry, foreign_trust_domain_may_not_register)
{
	struct hcred	admin;
	struct hresp	r;

	hcred_admin(&srv, &admin);
	hreq(&srv, &admin, "GET", "/v1/endpoints/x@other.test", NULL, NULL,
	    NULL, &r);
	cr_expect_eq(r.status, 404);
	hresp_free(&r);
}

/* The snapshot's BOOKMARK comes right after it, not at the next tick. */
Test(registry, watch_snapshot_ends_with_a_bookmark_at_once)
{
	struct hcred	c;
	struct hwatch	w;

	hcred_x509(&srv, &c);
	put_endpoint(&c, "snap1", "[\"snap\"]", 201);
	hwatch_start(&w, &srv, &c, "/v1/endpoints?service=snap&watch=true");
	cr_assert_eq(hwatch_wait(&w, 2, 3000), 2, "no BOOKMARK within 3 s");
	cr_expect_str_eq(json_string_value(json_object_get(hwatch_event(&w,
	    0), "type")), "ADDED");
	cr_expect_str_eq(json_string_value(json_object_get(hwatch_event(&w,
	    1), "type")), "BOOKMARK");
	hwatch_stop(&w);
}

/* Writers racing, then kill -9: every acknowledged registration stays. */
struct racer {
	pthread_t	t;
	int		id;
	int		acked;
};

static void *
racer_main(void *arg)
{
	struct racer	*r = arg;
	struct hcred	 c;
	struct hresp	 resp;
	char		 path[64];
	int		 i;

	hcred_x509(&srv, &c);
	for (i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "/v1/endpoints/race-%d-%d", r->id,
		    i);
		if (hreq(&srv, &c, "PUT", path, "{\"url\":\"tcp://10.0.0.9:1\","
		    "\"network_service_names\":[\"race\"]}", NULL, NULL,
		    &resp) == 0 && resp.status == 201)
			r->acked++;
		hresp_free(&resp);
	}
	return NULL;
}

Test(registry, acknowledged_registrations_survive_kill_9)
{
	struct racer	 r[4];
	struct hcred	 c;
	struct hresp	 resp;
	int		 i, acked = 0;

	for (i = 0; i < 4; i++) {
		r[i].id = i;
		r[i].acked = 0;
		pthread_create(&r[i].t, NULL, racer_main, &r[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(r[i].t, NULL);
		acked += r[i].acked;
	}
	cr_expect_eq(acked, 200);
	nsregd_kill(&srv);
	nsregd_restart(&srv);
	hcred_x509(&srv, &c);
	hreq(&srv, &c, "GET", "/v1/endpoints?service=race&limit=1000", NULL,
	    NULL, NULL, &resp);
	cr_expect_eq(resp.status, 200);
	cr_expect_eq((int)json_array_size(json_object_get(resp.json, "items")),
	    acked);
	hresp_free(&resp);
}
