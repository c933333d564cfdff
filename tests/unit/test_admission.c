/*
 * test_admission.c - the admission engine decides without HTTP: a caller
 * ({principal, remote_addr, now}), an action and a subject go in, a
 * decision comes out.  Rules and services are written to a real SQLite
 * store and reach the engine by loading and by the store's events; the
 * decisions are a table.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "store.h"

#define T0	1700000000000LL		/* 2023-11-14T22:13:20Z */

static char		 dir[64];
static struct store	*st;
static struct admission	*adm;

static void
put(enum store_kind kind, const char *name, json_t *doc)
{
	struct store_object	obj;
	struct nsreg_error	err;

	memset(&obj, 0, sizeof(obj));
	obj.kind = kind;
	obj.name = strdup(name);
	obj.doc = doc;
	cr_assert_not_null(obj.name);
	cr_assert_not_null(doc);
	cr_assert_eq(store_create(st, &obj, T0, &err), 0, "%s: %s", name,
	    err.message);
	store_object_clear(&obj);
}

static void
rule(const char *name, const char *effect, const char *action,
    const char *cond)
{
	put(STORE_POLICY, name, json_pack("{s:s, s:[s], s:s}", "effect",
	    effect, "actions", action, "condition", cond));
}

static void
setup(void)
{
	struct store_options	opt;
	struct nsreg_error	err;
	char			url[128];

	snprintf(dir, sizeof(dir), "/tmp/nsreg-adm-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/nsreg.db", dir);
	memset(&opt, 0, sizeof(opt));
	opt.url = url;
	opt.history = 1000;
	st = store_open(&opt, &err);
	cr_assert_not_null(st, "%s", err.message);
	adm = admission_new(st, NULL, NULL, &err);
	cr_assert_not_null(adm, "%s", err.message);
	store_set_listener(st, admission_store_event, adm);
}

static void
teardown(void)
{
	char	cmd[128];

	store_set_listener(st, NULL, NULL);
	admission_free(adm);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(admission, .init = setup, .fini = teardown, .timeout = 60);

/* A workload of example.org, or an admin when id is NULL. */
static void
principal(struct principal *p, const char *id)
{
	memset(p, 0, sizeof(*p));
	if (id == NULL) {
		p->auth = PRINCIPAL_ADMIN_TOKEN;
		p->admin = 1;
		return;
	}
	p->auth = PRINCIPAL_X509;
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->trust_domain, sizeof(p->trust_domain), "example.org");
	p->path_off = strlen("spiffe://example.org");
	p->expires_at = T0 + 3600 * 1000;
}

static void
load(void)
{
	struct nsreg_error	err;

	cr_assert_eq(admission_load(adm, T0, &err), 0, "%s", err.message);
}

/* The stored world of the decision table. */
static void
world(void)
{
	rule("db-clients", "permit", "connect",
	    "principal.segments[1] == 'db' && service.labels.tier == 'data'");
	rule("finders", "permit", "find", "principal.trust_domain == "
	    "'example.org'");
	rule("no-quarantine", "forbid", "connect",
	    "principal.path.startsWith('/ns/quarantine/')");
	rule("office-hours", "permit", "publish",
	    "request.remote_addr == '10.1.2.3' && "
	    "request.time < timestamp('2030-01-01T00:00:00Z')");
	rule("registrars", "permit", "register",
	    "endpoint.url.startsWith('tcp://10.')");
	put(STORE_SERVICE, "db", json_pack("{s:{s:s}}", "labels", "tier",
	    "data"));
	put(STORE_SERVICE, "web", json_pack("{s:{s:s}}", "labels", "tier",
	    "front"));
	load();
}

struct decision_case {
	const char		*name;
	const char		*id;		/* NULL: admin */
	const char		*addr;
	int64_t			 now;
	enum admission_action	 action;
	const char		*service;
	const char		*ep_url;	/* an endpoint record's url */
	int			 allow;
	const char		*message;	/* in a denial, or NULL */
};

static const struct decision_case decision_cases[] = {
	{ .name = "a db workload connects to the data service",
	    .id = "spiffe://example.org/ns/db/sa/x",
	    .action = ADMISSION_ACTION_CONNECT, .service = "db",
	    .allow = 1 },
	{ .name = "the stored service's labels decide",
	    .id = "spiffe://example.org/ns/db/sa/x",
	    .action = ADMISSION_ACTION_CONNECT, .service = "web",
	    .allow = 0, .message = "connect denied (service web): no "
	    "policy permits it" },
	{ .name = "another namespace is not permitted",
	    .id = "spiffe://example.org/ns/web/sa/x",
	    .action = ADMISSION_ACTION_CONNECT, .service = "db",
	    .allow = 0, .message = "no policy permits it" },
	{ .name = "a forbid names itself",
	    .id = "spiffe://example.org/ns/quarantine/sa/x",
	    .action = ADMISSION_ACTION_CONNECT, .service = "db",
	    .allow = 0, .message = "forbidden by no-quarantine" },
	{ .name = "find is permitted in the trust domain",
	    .id = "spiffe://example.org/ns/web/sa/x",
	    .action = ADMISSION_ACTION_FIND, .service = "web", .allow = 1 },
	{ .name = "the caller's address reaches request.remote_addr",
	    .id = "spiffe://example.org/ns/web/sa/x", .addr = "10.1.2.3",
	    .action = ADMISSION_ACTION_PUBLISH, .service = "web",
	    .allow = 1 },
	{ .name = "another address does not",
	    .id = "spiffe://example.org/ns/web/sa/x", .addr = "10.9.9.9",
	    .action = ADMISSION_ACTION_PUBLISH, .service = "web",
	    .allow = 0, .message = "publish denied (service web)" },
	{ .name = "no address at all does not",
	    .id = "spiffe://example.org/ns/web/sa/x",
	    .action = ADMISSION_ACTION_PUBLISH, .service = "web",
	    .allow = 0 },
	{ .name = "the caller's clock reaches request.time",
	    .id = "spiffe://example.org/ns/web/sa/x", .addr = "10.1.2.3",
	    .now = 1900000000000LL, .action = ADMISSION_ACTION_PUBLISH,
	    .service = "web", .allow = 0 },
	{ .name = "the endpoint record reaches the rule",
	    .id = "spiffe://example.org/ns/web/sa/x",
	    .action = ADMISSION_ACTION_REGISTER, .ep_url = "tcp://10.0.0.1:80",
	    .allow = 1 },
	{ .name = "a record the rule refuses",
	    .id = "spiffe://example.org/ns/web/sa/x",
	    .action = ADMISSION_ACTION_REGISTER,
	    .ep_url = "tcp://192.168.0.1:80", .allow = 0,
	    .message = "register denied (endpoint e)" },
	{ .name = "an admin bypasses the rules",
	    .action = ADMISSION_ACTION_CONNECT, .service = "web",
	    .allow = 1 },
};

Test(admission, decides_a_table_of_callers_without_a_request)
{
	const struct decision_case	*c;
	struct admission_caller		 cl = { 0 };
	struct admission_subject	 subj;
	struct principal		 p;
	struct nsreg_error		 err;
	json_t				*ep = NULL, *d;
	const char			*verdict;
	size_t				 i;
	int				 rc;

	world();
	for (i = 0; i < sizeof(decision_cases) / sizeof(decision_cases[0]);
	    i++) {
		c = &decision_cases[i];
		principal(&p, c->id);
		cl.principal = &p;
		cl.remote_addr = c->addr;
		cl.now = c->now != 0 ? c->now : T0;
		memset(&subj, 0, sizeof(subj));
		subj.service = c->service;
		if (c->ep_url != NULL) {
			ep = json_pack("{s:s, s:s, s:[]}", "name", "e", "url",
			    c->ep_url, "network_service_names");
			subj.endpoint = "e";
			subj.endpoint_obj = ep;
		}
		d = NULL;
		nsreg_error_clear(&err);
		rc = admission_authorize(adm, &cl, c->action, &subj, &d, &err);
		cr_expect_eq(rc, c->allow ? 0 : -1, "%s: %s", c->name,
		    err.message);
		cr_assert_not_null(d, "%s: no decision", c->name);
		verdict = json_string_value(json_object_get(d, "decision"));
		cr_expect_str_eq(verdict, c->allow ? "allow" : "deny", "%s",
		    c->name);
		if (!c->allow)
			cr_expect_eq(err.code, NSREG_PERMISSION_DENIED, "%s",
			    c->name);
		if (c->message != NULL)
			cr_expect_not_null(strstr(err.message, c->message),
			    "%s: \"%s\" lacks \"%s\"", c->name, err.message,
			    c->message);
		cr_expect_eq(json_is_true(json_object_get(d, "bypass")),
		    c->id == NULL, "%s: bypass", c->name);
		json_decref(d);
		json_decref(ep);
		ep = NULL;
	}
}

Test(admission, an_endpoint_offering_services_is_found_by_one_and_registered_by_all)
{
	struct admission_caller		cl = { 0 };
	struct admission_subject	subj;
	struct principal		p;
	struct nsreg_error		err;
	json_t				*ep;

	rule("find-db", "permit", "find", "service.name == 'db'");
	rule("register-db", "permit", "register", "service.name == 'db'");
	load();
	principal(&p, "spiffe://example.org/ns/db/sa/x");
	cl.principal = &p;
	cl.remote_addr = NULL;
	cl.now = T0;
	ep = json_pack("{s:s, s:s, s:[s,s]}", "name", "e", "url",
	    "tcp://10.0.0.1:5432", "network_service_names", "web", "db");
	cr_assert_not_null(ep);
	memset(&subj, 0, sizeof(subj));
	subj.endpoint_obj = ep;
	cr_expect_eq(admission_authorize(adm, &cl, ADMISSION_ACTION_FIND,
	    &subj, NULL, &err), 0, "%s", err.message);
	cr_expect_eq(admission_authorize(adm, &cl, ADMISSION_ACTION_REGISTER,
	    &subj, NULL, &err), -1);
	cr_expect_not_null(strstr(err.message, "service web"), "%s",
	    err.message);
	json_decref(ep);
}

Test(admission, rules_and_services_follow_the_store)
{
	struct admission_caller		cl = { 0 };
	struct admission_subject	subj;
	struct principal		p;
	struct nsreg_error		err;
	json_t				*svc;
	int64_t				rev;

	load();
	cr_expect_eq(admission_rule_count(adm), 0);
	principal(&p, "spiffe://example.org/ns/db/sa/x");
	cl.principal = &p;
	cl.remote_addr = NULL;
	cl.now = T0;
	memset(&subj, 0, sizeof(subj));
	subj.service = "db";
	/* Nothing permits: default deny. */
	cr_expect_eq(admission_authorize(adm, &cl, ADMISSION_ACTION_FIND,
	    &subj, NULL, &err), -1);
	cr_expect_eq(admission_service(adm, "db", &svc, &rev, &err), -1);
	cr_expect_eq(err.code, NSREG_NOT_FOUND);
	/* Written after loading: the store's events bring them. */
	rule("finders", "permit", "find", "service.labels.tier == 'data'");
	put(STORE_SERVICE, "db", json_pack("{s:{s:s}}", "labels", "tier",
	    "data"));
	cr_expect_eq(admission_rule_count(adm), 1);
	cr_expect_eq(admission_authorize(adm, &cl, ADMISSION_ACTION_FIND,
	    &subj, NULL, &err), 0, "%s", err.message);
	cr_assert_eq(admission_service(adm, "db", &svc, &rev, &err), 0,
	    "%s", err.message);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(
	    svc, "labels"), "tier")), "data");
	cr_expect_eq(rev, json_integer_value(json_object_get(svc,
	    "revision")));
	cr_expect_gt(rev, 0);
	json_decref(svc);
}

static int
match_all(const json_t *o, void *arg)
{
	(void)o;
	(*(int *)arg)++;
	return 1;
}

Test(admission, lists_are_filtered_item_by_item)
{
	struct admission_caller	 cl = { 0 };
	struct principal	 p;
	struct nsreg_error	 err;
	struct store_query	 q;
	void			(*match_free)(void *) = NULL;
	json_t			*db, *web;
	int			 inner = 0;

	rule("data-only", "permit", "find", "service.labels.tier == 'data'");
	load();
	principal(&p, "spiffe://example.org/ns/db/sa/x");
	cl.principal = &p;
	cl.remote_addr = "127.0.0.1";
	cl.now = T0;
	memset(&q, 0, sizeof(q));
	q.kind = STORE_SERVICE;
	q.match = match_all;
	q.match_arg = &inner;
	cr_assert_eq(admission_filter_list(adm, &cl, NULL, 0, 0, &q,
	    &match_free, &err), 0, "%s", err.message);
	cr_assert(q.match != match_all, "a rule looks at the items: wrapped");
	cr_assert_not_null(match_free);
	db = json_pack("{s:s, s:{s:s}}", "name", "db", "labels", "tier",
	    "data");
	web = json_pack("{s:s, s:{s:s}}", "name", "web", "labels", "tier",
	    "front");
	cr_expect_eq(q.match(db, q.match_arg), 1);
	cr_expect_eq(q.match(web, q.match_arg), 0);
	cr_expect_eq(inner, 2, "the resource's own filter runs first");
	match_free(q.match_arg);
	json_decref(db);
	json_decref(web);

	/* An admin is not filtered. */
	principal(&p, NULL);
	memset(&q, 0, sizeof(q));
	q.kind = STORE_SERVICE;
	match_free = NULL;
	cr_assert_eq(admission_filter_list(adm, &cl, NULL, 0, 0, &q,
	    &match_free, &err), 0, "%s", err.message);
	cr_expect_null(q.match);
	cr_expect_null(match_free);
}

Test(admission, evaluates_a_hypothetical_request)
{
	struct admission_query	 aq;
	struct policy_principal	 pp;
	struct policy_request	 rq;
	struct nsreg_error	 err;
	json_t			*d, *svc;

	world();
	memset(&pp, 0, sizeof(pp));
	pp.id = "spiffe://example.org/ns/db/sa/x";
	pp.trust_domain = "example.org";
	pp.path = "/ns/db/sa/x";
	pp.auth = "x509";
	memset(&rq, 0, sizeof(rq));
	rq.time = T0;
	memset(&aq, 0, sizeof(aq));
	aq.principal = &pp;
	aq.action = "connect";
	aq.request = &rq;
	aq.service = "db";
	cr_assert_eq(admission_evaluate(adm, &aq, &d, &err), 0, "%s",
	    err.message);
	cr_expect_str_eq(json_string_value(json_object_get(d, "decision")),
	    "allow");
	json_decref(d);
	/* A service given as an object, not the stored one. */
	svc = json_pack("{s:s, s:{s:s}}", "name", "db", "labels", "tier",
	    "front");
	aq.service_obj = svc;
	cr_assert_eq(admission_evaluate(adm, &aq, &d, &err), 0, "%s",
	    err.message);
	cr_expect_str_eq(json_string_value(json_object_get(d, "decision")),
	    "deny");
	json_decref(d);
	json_decref(svc);
	/* A stored service that does not exist is null. */
	aq.service = "nosuch";
	aq.service_obj = NULL;
	cr_assert_eq(admission_evaluate(adm, &aq, &d, &err), 0, "%s",
	    err.message);
	cr_expect_str_eq(json_string_value(json_object_get(d, "decision")),
	    "deny");
	json_decref(d);
}
