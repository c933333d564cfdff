/*
 * test_reload.c - SIGHUP changes everything or nothing (issue 18 item 5):
 * a reload with any bad file keeps every running credential (admin
 * token, trust bundle, jwt-audience, server certificate) and says which
 * file and why; a good reload changes them all.  A start with a special
 * file fails at once and never hangs.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "idfix.h"
#include "util.h"

#define CLIENT_ID	"spiffe://example.org/ns/default/sa/client"
#define NEW_TOKEN	"reloaded-admin-token-0123456789"
#define NEW_AUD		"spiffe://example.org/other-audience"

static struct nsregd	srv;

static void
setup(void)
{
	nsregd_start(&srv, NULL);
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(reload, .init = setup, .fini = teardown, .timeout = 120);

/* The files a configuration names; NULL: the harness's own. */
struct files {
	const char	*cert;
	const char	*key;
	const char	*bundle;
	const char	*grant;
	const char	*token;
	const char	*aud;
};

static void
write_conf(const struct files *f)
{
	char	text[4096], path[PATH_MAX];

	snprintf(text, sizeof(text),
	    "listen https 127.0.0.1:%u\n"
	    "trust-domain example.org\n"
	    "server-id spiffe://example.org/nsregd\n"
	    "tls-cert \"%s\"\ntls-key \"%s\"\ntrust-bundle \"%s\"\n"
	    "grant-key \"%s\"\nadmin-token-file \"%s\"\n"
	    "jwt-audience %s\n"
	    "database sqlite:nsreg.db\nthreads 2\nlog-level debug\n",
	    srv.port, f->cert ? f->cert : "server.pem",
	    f->key ? f->key : "server.key",
	    f->bundle ? f->bundle : "bundle.json",
	    f->grant ? f->grant : "grant.key",
	    f->token ? f->token : "admin.token",
	    f->aud ? f->aud : IDFIX_AUDIENCE);
	harness_write(nsregd_path(&srv, "nsregd.conf", path, sizeof(path)),
	    text, 0644);
}

/* Lines of the log holding s. */
static int
log_count(const char *s)
{
	char	 path[PATH_MAX], *text, *p;
	int	 n = 0;

	text = util_file_read(nsregd_path(&srv, "nsregd.log", path,
	    sizeof(path)), 64 * 1024 * 1024, NULL);
	if (text == NULL)
		return 0;
	for (p = text; (p = strstr(p, s)) != NULL; p++)
		n++;
	free(text);
	return n;
}

/* SIGHUP and wait for the outcome's log line; returns that line. */
static char *
sighup(const char *outcome)
{
	char	 path[PATH_MAX], *text, *p, *e, *line = NULL;
	int	 before = log_count(outcome), i;

	nsregd_signal(&srv, SIGHUP);
	for (i = 0; i < 100 && log_count(outcome) == before; i++)
		usleep(50 * 1000);
	cr_assert_gt(log_count(outcome), before, "no \"%s\" in the log",
	    outcome);
	text = util_file_read(nsregd_path(&srv, "nsregd.log", path,
	    sizeof(path)), 64 * 1024 * 1024, NULL);
	for (p = text; (p = strstr(p, outcome)) != NULL; p++) {
		while (p > text && p[-1] != '\n')
			p--;
		e = strchr(p, '\n');
		free(line);
		line = strndup(p, e != NULL ? (size_t)(e - p) : strlen(p));
		p = e != NULL ? e : p + strlen(p) - 1;
	}
	free(text);
	return line;
}

static long
status_of(const struct hcred *c, const char *path)
{
	struct hresp	r;
	long		st;

	if (hreq(&srv, c, "GET", path, NULL, NULL, NULL, &r) == -1) {
		hresp_free(&r);		/* hreq fills r even when it fails */
		return -1;
	}
	st = r.status;
	hresp_free(&r);
	return st;
}

/* Everything the first configuration gave still holds, nothing new. */
static void
expect_old_state(const char *why, const struct hcred *old_x,
    const struct hcred *old_j, const struct hcred *new_x)
{
	struct hcred	c;

	hcred_admin(&srv, &c);
	cr_expect_eq(status_of(&c, "/v1/policies"), 200,
	    "%s: the old admin token no longer works", why);
	hcred_none(&c);
	snprintf(c.bearer, sizeof(c.bearer), "%s", NEW_TOKEN);
	cr_expect_eq(status_of(&c, "/v1/policies"), 401,
	    "%s: the new admin token works", why);
	cr_expect_eq(status_of(old_x, "/v1/whoami"), 200,
	    "%s: the old bundle's certificate is refused (or TLS broke)", why);
	cr_expect_eq(status_of(old_j, "/v1/whoami"), 200,
	    "%s: the old audience's token is refused", why);
	cr_expect_eq(status_of(new_x, "/v1/whoami"), 401,
	    "%s: the new bundle is live", why);
}

Test(reload, a_failed_reload_changes_nothing_and_says_why)
{
	struct svid_ca	*fresh;
	struct hcred	 old_x, old_j, new_x;
	struct files	 f;
	json_t		*doc;
	char		 path[PATH_MAX], *text, *line;
	char		 bad[PATH_MAX], fifo[PATH_MAX];
	size_t		 i;
	struct {
		const char	*what;
		const char	*file;		/* named in the log line */
		int		 which;		/* which field of files */
	} v[] = {
		{ "tls-key of another certificate", "client.key", 1 },
		{ "garbage tls-cert", "garbage.pem", 0 },
		{ "FIFO tls-cert", "fifo", 0 },
		{ "garbage trust-bundle", "garbage.pem", 2 },
		{ "garbage grant-key", "garbage.pem", 3 },
		{ "FIFO admin-token-file", "fifo", 4 },
		{ "missing admin-token-file", "no-such-file", 4 },
		{ "directory tls-key", "adir", 1 },
	};

	hcred_x509(&srv, &old_x);
	hcred_jwt(&srv, &old_j);
	fresh = idfix_ca("example.org");
	idfix_x509_id(&srv, fresh, CLIENT_ID, &new_x);
	/* The good changes that must not leak in with a bad one. */
	doc = svid_ca_bundle_json(fresh, 2, 300);
	text = json_dumps(doc, JSON_COMPACT);
	cr_assert_eq(util_file_write(nsregd_path(&srv, "bundle2.json", path,
	    sizeof(path)), text, strlen(text), 0644), 0);
	free(text);
	json_decref(doc);
	harness_write(nsregd_path(&srv, "admin2.token", path, sizeof(path)),
	    NEW_TOKEN "\n", 0600);
	harness_write(nsregd_path(&srv, "garbage.pem", path, sizeof(path)),
	    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
	    "-----END CERTIFICATE-----\n", 0600);
	cr_assert_eq(mkfifo(nsregd_path(&srv, "fifo", fifo, sizeof(fifo)),
	    0600), 0);
	cr_assert_eq(mkdir(nsregd_path(&srv, "adir", path, sizeof(path)),
	    0700), 0);
	expect_old_state("before", &old_x, &old_j, &new_x);

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char	**slot[] = { &f.cert, &f.key, &f.bundle,
				    &f.grant, &f.token };

		memset(&f, 0, sizeof(f));
		f.bundle = "bundle2.json";
		f.token = "admin2.token";
		f.aud = NEW_AUD;
		*slot[v[i].which] = v[i].file;
		write_conf(&f);
		line = sighup("reload failed");
		cr_expect(strstr(line, "keeping the running configuration") !=
		    NULL, "%s: %s", v[i].what, line);
		snprintf(bad, sizeof(bad), "%s", v[i].file);
		cr_expect(strstr(line, bad) != NULL,
		    "%s: the log line does not name %s: %s", v[i].what, bad,
		    line);
		free(line);
		expect_old_state(v[i].what, &old_x, &old_j, &new_x);
	}
	svid_ca_free(fresh);
}

Test(reload, a_good_reload_changes_everything)
{
	struct svid_ca	*fresh;
	struct hcred	 old_x, new_x, c;
	struct files	 f;
	json_t		*doc;
	char		 path[PATH_MAX], *text, *line;

	hcred_x509(&srv, &old_x);
	fresh = idfix_ca("example.org");
	idfix_x509_id(&srv, fresh, CLIENT_ID, &new_x);
	doc = svid_ca_bundle_json(fresh, 2, 300);
	text = json_dumps(doc, JSON_COMPACT);
	cr_assert_eq(util_file_write(nsregd_path(&srv, "bundle2.json", path,
	    sizeof(path)), text, strlen(text), 0644), 0);
	free(text);
	json_decref(doc);
	harness_write(nsregd_path(&srv, "admin2.token", path, sizeof(path)),
	    NEW_TOKEN "\n", 0600);
	memset(&f, 0, sizeof(f));
	f.bundle = "bundle2.json";
	f.token = "admin2.token";
	f.aud = NEW_AUD;
	write_conf(&f);
	line = sighup("msg=reloaded");
	free(line);

	hcred_admin(&srv, &c);
	cr_expect_eq(status_of(&c, "/v1/policies"), 401, "old token works");
	hcred_none(&c);
	snprintf(c.bearer, sizeof(c.bearer), "%s", NEW_TOKEN);
	cr_expect_eq(status_of(&c, "/v1/policies"), 200, "new token fails");
	cr_expect_eq(status_of(&new_x, "/v1/whoami"), 200);
	cr_expect_eq(status_of(&old_x, "/v1/whoami"), 401);
	idfix_jwt(fresh, CLIENT_ID, NEW_AUD, util_now_ms(), 0, &c);
	cr_expect_eq(status_of(&c, "/v1/whoami"), 200, "new audience");
	idfix_jwt(fresh, CLIENT_ID, IDFIX_AUDIENCE, util_now_ms(), 0, &c);
	cr_expect_eq(status_of(&c, "/v1/whoami"), 401, "old audience");
	svid_ca_free(fresh);
}

/* A start whose tls-cert is a FIFO fails at once, and so does -n. */
Test(reload, a_special_file_never_hangs_the_start)
{
	char	 fifo[PATH_MAX], conf[PATH_MAX], cmd[3 * PATH_MAX];
	struct files f;
	int	 st;
	int64_t	 t0;

	nsregd_stop(&srv);
	cr_assert_eq(mkfifo(nsregd_path(&srv, "cert.fifo", fifo,
	    sizeof(fifo)), 0600), 0);
	memset(&f, 0, sizeof(f));
	f.cert = "cert.fifo";
	write_conf(&f);
	nsregd_path(&srv, "nsregd.conf", conf, sizeof(conf));
	t0 = util_mono_us();
	snprintf(cmd, sizeof(cmd), "timeout -s KILL 10 %s/server/nsregd -d "
	    "-f '%s' >/dev/null 2>&1", getenv("NSREG_BUILDDIR") ?
	    getenv("NSREG_BUILDDIR") : ".", conf);
	st = system(cmd);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "start: status %d",
	    st);
	cr_expect_lt(util_mono_us() - t0, 5000000, "the start blocked");
	snprintf(cmd, sizeof(cmd), "timeout -s KILL 10 %s/server/nsregd -n "
	    "-f '%s' >/dev/null 2>&1", getenv("NSREG_BUILDDIR") ?
	    getenv("NSREG_BUILDDIR") : ".", conf);
	st = system(cmd);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "-n: status %d", st);
}
