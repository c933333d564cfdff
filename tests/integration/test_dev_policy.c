/*
 * test_dev_policy.c - the starter rule set of "nsregd --dev DIR --port P"
 * (DESIGN section 2): principals of the dev trust domain may find,
 * register, unregister and connect; nobody else may, a trusted partner
 * trust domain's workloads included; publishing stays with admins; the
 * rule is written once, when the database holds no policy.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "idfix.h"
#include "util.h"

#define DEV_CLIENT	"spiffe://example.org/ns/default/sa/client"

static struct nsregd	srv;

/* Start "nsregd --dev srv.dir --port srv.port" and wait until healthy. */
static void
dev_spawn(void)
{
	const char	*bd = getenv("NSREG_BUILDDIR");
	char		 bin[PATH_MAX], log[PATH_MAX], port[16], tok[PATH_MAX];
	char		*t;
	struct hcred	 none;
	struct hresp	 r;
	size_t		 n;
	int		 i, fd, status;

	snprintf(bin, sizeof(bin), "%s/server/nsregd", bd != NULL ? bd : ".");
	snprintf(log, sizeof(log), "%s.log", srv.dir);
	snprintf(port, sizeof(port), "%u", srv.port);
	srv.pid = fork();
	cr_assert_geq(srv.pid, 0);
	if (srv.pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, "nsregd", "--dev", srv.dir, "--port", port,
		    (char *)NULL);
		_exit(127);
	}
	hcred_none(&none);
	for (i = 0; i < 300; i++) {
		if (waitpid(srv.pid, &status, WNOHANG) == srv.pid) {
			srv.pid = 0;
			cr_assert_fail("nsregd --dev exited (status %d); see %s",
			    status, log);
		}
		if (access(nsregd_path(&srv, "bundle.pem", tok, sizeof(tok)),
		    R_OK) == 0 && hreq(&srv, &none, "GET", "/healthz", NULL,
		    NULL, NULL, &r) == 0 && r.status == 200) {
			hresp_free(&r);
			break;
		}
		hresp_free(&r);
		usleep(50 * 1000);
	}
	cr_assert_lt(i, 300, "nsregd --dev did not become healthy; see %s",
	    log);
	t = util_file_read(nsregd_path(&srv, "admin.token", tok, sizeof(tok)),
	    sizeof(srv.admin_token) - 1, &n);
	cr_assert_not_null(t);
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r'))
		t[--n] = '\0';
	snprintf(srv.admin_token, sizeof(srv.admin_token), "%s", t);
	free(t);
}

static void
setup(void)
{
	char	tmp[] = "/tmp/nsreg-dev-XXXXXX";

	memset(&srv, 0, sizeof(srv));
	cr_assert_not_null(mkdtemp(tmp));
	/* --dev creates its folder: a fresh path inside the temp one. */
	snprintf(srv.dir, sizeof(srv.dir), "%s/dev", tmp);
	srv.port = harness_free_port();
	snprintf(srv.url, sizeof(srv.url), "https://127.0.0.1:%u", srv.port);
	dev_spawn();
}

static void
teardown(void)
{
	char	cmd[PATH_MAX + 32], *slash;

	nsregd_cleanup(&srv);
	if ((slash = strrchr(srv.dir, '/')) != NULL) {
		*slash = '\0';
		if (getenv("NSREG_KEEP_TEST_DIRS") == NULL) {
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", srv.dir);
			if (system(cmd) != 0)
				fprintf(stderr, "cannot remove %s\n", srv.dir);
		}
	}
}

TestSuite(dev_policy, .init = setup, .fini = teardown, .timeout = 120);

static long
call(const struct hcred *c, const char *method, const char *path,
    const char *body, json_t **out)
{
	struct hresp	r;
	long		st;

	cr_assert_eq(hreq(&srv, c, method, path, body, NULL, NULL, &r), 0,
	    "%s %s: no answer", method, path);
	st = r.status;
	if (out != NULL)
		*out = json_incref(r.json);
	hresp_free(&r);
	return st;
}

static const char *
str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(null)";
}

Test(dev_policy, starter_rule_set_is_installed_and_decides)
{
	static const char *const actions[] = { "find", "register",
	    "unregister", "publish", "connect" };
	struct hcred	 admin, x509, jwt;
	json_t		*o, *p, *a;
	char		 acts[128], body[512];
	size_t		 i, n = 0;

	hcred_admin(&srv, &admin);
	hcred_x509(&srv, &x509);
	hcred_jwt(&srv, &jwt);

	cr_assert_eq(call(&admin, "GET", "/v1/policies", NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "items")), 1);
	p = json_array_get(json_object_get(o, "items"), 0);
	cr_expect_str_eq(str(p, "name"), "same-trust-domain");
	cr_expect_str_eq(str(p, "effect"), "permit");
	cr_expect_str_eq(str(p, "mode"), "enforce");
	cr_expect_str_eq(str(p, "condition"),
	    "principal.trust_domain == 'example.org'");
	acts[0] = '\0';
	json_array_foreach(json_object_get(p, "actions"), i, a)
		n += (size_t)snprintf(acts + n, sizeof(acts) - n, "%s%s",
		    i ? "," : "", json_string_value(a));
	cr_expect_str_eq(acts, "find,register,unregister,connect");
	json_decref(o);

	/* The dev client may register, find and unregister. */
	cr_expect_eq(call(&admin, "PUT", "/v1/services/db",
	    "{\"vl3\":{\"prefix\":\"10.60.0.0/16\"}}", NULL), 201);
	cr_expect_eq(call(&x509, "PUT", "/v1/endpoints/db-1",
	    "{\"url\":\"tcp://10.0.0.1:5002\",\"network_service_names\":"
	    "[\"db\"]}", NULL), 201);
	cr_expect_eq(call(&jwt, "GET", "/v1/endpoints/db-1", NULL, NULL), 200);
	cr_expect_eq(call(&x509, "GET", "/v1/endpoints?service=db", NULL, &o),
	    200);
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 1);
	json_decref(o);
	cr_expect_eq(call(&x509, "GET", "/v1/services/db", NULL, NULL), 200);
	/* Publishing stays with admins. */
	cr_expect_eq(call(&x509, "PUT", "/v1/services/web", "{}", &o), 403);
	cr_expect_str_eq(str(json_object_get(o, "decision"), "decision"),
	    "deny");
	json_decref(o);
	cr_expect_eq(call(&x509, "DELETE", "/v1/endpoints/db-1", NULL, NULL),
	    204);

	/* A principal of another trust domain is denied every action. */
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		snprintf(body, sizeof(body), "{\"principal\":"
		    "\"spiffe://partner.test/ns/db/sa/replica\",\"action\":"
		    "\"%s\",\"service\":\"db\"}", actions[i]);
		cr_expect_eq(call(&admin, "POST", "/v1/decisions/evaluate",
		    body, &o), 200);
		cr_expect_str_eq(str(o, "decision"), "deny", "%s", actions[i]);
		cr_expect_eq(json_array_size(json_object_get(o, "reasons")), 0);
		json_decref(o);
	}
	cr_expect_eq(call(&admin, "POST", "/v1/decisions/evaluate",
	    "{\"principal\":\"" DEV_CLIENT "\",\"action\":\"connect\","
	    "\"service\":\"db\"}", &o), 200);
	cr_expect_str_eq(str(o, "decision"), "allow");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(o,
	    "reasons"), 0)), "same-trust-domain");
	json_decref(o);

	/* The denial is in the log, with the rule set's answer. */
	cr_expect_eq(call(&admin, "GET", "/v1/decisions?decision=deny&action="
	    "publish", NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "items")), 1);
	cr_expect_str_eq(str(json_array_get(json_object_get(o, "items"), 0),
	    "principal"), DEV_CLIENT);
	json_decref(o);
}

Test(dev_policy, starter_rule_is_written_only_into_an_empty_database)
{
	struct hcred	 admin;
	json_t		*o;

	hcred_admin(&srv, &admin);
	/* Restarting keeps the rules as they are. */
	cr_expect_eq(call(&admin, "PUT", "/v1/policies/mine",
	    "{\"effect\":\"permit\",\"actions\":[\"find\"]}", NULL), 201);
	cr_expect_eq(call(&admin, "DELETE", "/v1/policies/same-trust-domain",
	    NULL, NULL), 204);
	nsregd_stop(&srv);
	dev_spawn();
	cr_expect_eq(call(&admin, "GET", "/v1/policies", NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "items")), 1);
	cr_expect_str_eq(str(json_array_get(json_object_get(o, "items"), 0),
	    "name"), "mine");
	json_decref(o);
}

Test(dev_policy, a_workload_of_another_trust_domain_is_denied)
{
	struct hcred	 admin, partner;
	struct svid_ca	*ca;
	json_t		*o;

	hcred_admin(&srv, &admin);
	cr_expect_eq(call(&admin, "PUT", "/v1/services/db", "{}", NULL), 201);
	cr_expect_eq(call(&admin, "PUT", "/v1/endpoints/db-1",
	    "{\"url\":\"tcp://10.0.0.1:5002\",\"network_service_names\":"
	    "[\"db\"]}", NULL), 201);
	/* partner.test is trusted: its workloads authenticate... */
	cr_assert_not_null(ca = idfix_ca("partner.test"));
	idfix_td_put(&srv, "partner.test", idfix_td_body(ca), 201);
	idfix_x509_id(&srv, ca, "spiffe://partner.test/ns/db/sa/replica",
	    &partner);
	o = idfix_whoami(&srv, &partner, 200, NULL);
	cr_expect_str_eq(str(o, "trust_domain"), "partner.test");
	json_decref(o);

	/* ...but the starter rule admits example.org only. */
	cr_expect_eq(call(&partner, "GET", "/v1/services/db", NULL, &o), 403);
	cr_expect_str_eq(str(json_object_get(o, "decision"), "decision"),
	    "deny");
	cr_expect_eq(json_array_size(json_object_get(json_object_get(o,
	    "decision"), "reasons")), 0);
	json_decref(o);
	cr_expect_eq(call(&partner, "GET", "/v1/endpoints/db-1", NULL, NULL),
	    403);
	cr_expect_eq(call(&partner, "PUT", "/v1/endpoints/p-1",
	    "{\"url\":\"tcp://10.9.0.1:5002\",\"network_service_names\":"
	    "[\"db\"]}", NULL), 403);
	cr_expect_eq(call(&partner, "GET", "/v1/endpoints?service=db", NULL,
	    &o), 200);
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 0);
	json_decref(o);
	cr_expect_eq(call(&admin, "GET", "/v1/decisions?principal="
	    "spiffe://partner.test/ns/db/sa/replica&decision=deny", NULL, &o),
	    200);
	cr_expect_geq(json_array_size(json_object_get(o, "items")), 3);
	json_decref(o);

	/* A rule admits the partner's database replicas to find db. */
	cr_expect_eq(call(&admin, "PUT", "/v1/policies/partner-replicas",
	    "{\"effect\":\"permit\",\"actions\":[\"find\"],"
	    "\"services\":[\"db\"],\"condition\":\"principal.trust_domain "
	    "== 'partner.test' && principal.path.startsWith('/ns/db/')\"}",
	    NULL), 201);
	cr_expect_eq(call(&partner, "GET", "/v1/endpoints?service=db", NULL,
	    &o), 200);
	cr_expect_eq(json_array_size(json_object_get(o, "items")), 1);
	json_decref(o);
	cr_expect_eq(call(&partner, "GET", "/v1/services/db", NULL, NULL),
	    200);
	svid_ca_free(ca);
}
