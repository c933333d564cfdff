/*
 * test_conf.c - nsregd.conf parsing: every bad-*.conf in tests/config is
 * rejected with the message its first line expects; a full good file
 * sets every directive.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"

static const char *
srcdir(void)
{
	const char	*s = getenv("NSREG_SRCDIR");

	return s != NULL ? s : ".";
}

Test(conf, every_bad_config_is_rejected_with_its_own_message)
{
	char		 dir[PATH_MAX], path[PATH_MAX], err[CONF_ERROR_MAX];
	char		 want[CONF_ERROR_MAX], *text, *nl;
	struct dirent	*de;
	struct conf	*c;
	DIR		*d;
	int		 n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/config", srcdir());
	cr_assert_not_null(d = opendir(dir), "opendir %s", dir);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "bad-", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		cr_assert_not_null(text = util_file_read(path, 65536, NULL));
		cr_assert(strncmp(text, "# expect: ", 10) == 0,
		    "%s: first line must be '# expect: LINE: message'", path);
		nl = strchr(text, '\n');
		cr_assert_not_null(nl);
		snprintf(want, sizeof(want), "%s:%.*s", path,
		    (int)(nl - text - 10), text + 10);
		c = conf_load(path, err, sizeof(err));
		cr_expect_null(c, "%s was accepted", path);
		cr_expect_str_eq(err, want, "%s", de->d_name);
		conf_free(c);
		free(text);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 20, "only %d bad configs", n);
}

Test(conf, full_config_sets_every_directive)
{
	char		 path[PATH_MAX], err[CONF_ERROR_MAX];
	struct conf	*c;

	snprintf(path, sizeof(path), "%s/tests/config/good-full.conf",
	    srcdir());
	c = conf_load(path, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->nlisten, 2);
	cr_expect_str_eq(c->listen[1].addr, "::1");
	cr_expect_eq(c->listen[1].port, 8080);
	cr_expect_eq(c->listen[1].scheme, CONF_HTTP);
	cr_expect_str_eq(c->trust_domain, "example.org");
	cr_expect_str_eq(c->jwt_audience, "nsreg");
	cr_expect_str_eq(c->instance_name, "nsreg-1.eu");
	/* Relative paths are relative to the file's folder. */
	cr_expect(strstr(c->tls_cert, "/tests/config/certs/server.pem") !=
	    NULL, "%s", c->tls_cert);
	cr_expect_str_eq(c->trust_bundle, "/etc/nsreg/bundle.json");
	cr_expect_eq(c->grant_ttl, 5 * 60 * 1000);
	cr_expect_eq(c->endpoint_default_ttl, 30 * 1000);
	cr_expect_eq(c->endpoint_max_ttl, 2 * 3600 * 1000);
	cr_expect(strncmp(c->database, "sqlite:/", 8) == 0, "%s",
	    c->database);
	cr_expect_eq(c->nadmins, 2);
	cr_expect_str_eq(c->admins[1], "spiffe://example.org/ops2");
	cr_expect_eq(c->max_body, 2 * 1024 * 1024);
	cr_expect_eq(c->decision_log_retention, 30LL * 86400 * 1000);
	cr_expect_eq(c->threads, 4);
	cr_expect_eq(c->watch_history, 5000);
	cr_expect_eq(c->watch_bookmark, 5000);
	cr_expect_eq(c->connection_timeout, 30000);
	cr_expect_eq(c->max_connections, 20000);
	cr_expect_eq(c->max_connections_per_address, 500);
	cr_expect_eq(c->h2_max_resets, 50);
	cr_expect_eq(c->h2_max_control_frames, 1000);
	cr_expect_eq(c->header_timeout, 5000);
	cr_expect_eq(c->policy_budget, 250);
	cr_expect_eq(c->log_level, 0);
	conf_free(c);
}

Test(conf, defaults_when_unset)
{
	char		 err[CONF_ERROR_MAX];
	struct conf	*c;

	c = conf_parse("mem", "trust-domain example.org\n"
	    "tls-cert /c.pem\ntls-key /c.key\ntrust-bundle /b.json\n", NULL,
	    err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->server_id, "spiffe://example.org/nsregd");
	cr_expect_str_eq(c->jwt_audience, "spiffe://example.org/nsregd");
	cr_expect_eq(c->nlisten, 1);
	cr_expect_eq(c->listen[0].port, 8443);
	cr_expect_eq(c->max_body, 1024 * 1024);
	cr_expect_eq(c->endpoint_default_ttl, 60 * 1000);
	cr_expect_eq(c->endpoint_max_ttl, 3600 * 1000);
	cr_expect_eq(c->grant_ttl, 600 * 1000);
	cr_expect_eq(c->h2_max_resets, 100);
	cr_expect_eq(c->h2_max_control_frames, 200);
	cr_expect_str_eq(c->database, "sqlite:/var/lib/nsreg/nsreg.db");
	conf_free(c);
}

Test(conf, instance_name_is_the_host_name_by_default)
{
	char		 err[CONF_ERROR_MAX], host[256];
	struct conf	*c;

	memset(host, 0, sizeof(host));
	cr_assert_eq(gethostname(host, sizeof(host) - 1), 0);
	c = conf_parse("mem", "trust-domain example.org\n"
	    "tls-cert /c.pem\ntls-key /c.key\ntrust-bundle /b.json\n", NULL,
	    err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->instance_name, host);
	conf_free(c);
}

Test(conf, instance_name_bounds)
{
	static const struct {
		const char	*name;
		int		 ok;
	} cases[] = {
		{ "a", 1 },
		{ "Node-1.eu_west", 1 },
		{ "", 0 },
		{ "a b", 0 },
		{ "a=b", 0 },
		{ "a\"b", 0 },
		{ "caf\xc3\xa9", 0 },
		{ "x/y", 0 },
	};
	char		 text[1024], err[CONF_ERROR_MAX], longname[300];
	struct conf	*c;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "trust-domain example.org\n"
		    "tls-cert /c\ntls-key /k\ntrust-bundle /b\n"
		    "instance-name \"%s\"\n",
		    strcmp(cases[i].name, "a\"b") == 0 ? "a\\\"b" :
		    cases[i].name);
		c = conf_parse("mem", text, NULL, err, sizeof(err));
		cr_expect_eq(c != NULL, cases[i].ok, "%s: %s", cases[i].name,
		    err);
		if (c != NULL)
			cr_expect_str_eq(c->instance_name, cases[i].name);
		conf_free(c);
	}
	/* 253 bytes, as a DNS name; 254 is too long. */
	memset(longname, 'n', sizeof(longname));
	for (i = 253; i <= 254; i++) {
		snprintf(text, sizeof(text), "trust-domain example.org\n"
		    "tls-cert /c\ntls-key /k\ntrust-bundle /b\n"
		    "instance-name %.*s\n", (int)i, longname);
		c = conf_parse("mem", text, NULL, err, sizeof(err));
		cr_expect_eq(c != NULL, i == 253, "%zu: %s", i, err);
		conf_free(c);
	}
}

Test(conf, h2_listeners_and_their_settings)
{
	char		 err[CONF_ERROR_MAX];
	struct conf	*c;

	c = conf_parse("mem", "trust-domain example.org\n"
	    "tls-cert /c.pem\ntls-key /c.key\ntrust-bundle /b.json\n"
	    "listen h2 0.0.0.0:8444\nlisten h2c [::1]:8081\n", NULL, err,
	    sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->nlisten, 2);
	cr_expect_eq(c->listen[0].scheme, CONF_H2);
	cr_expect_eq(c->listen[0].port, 8444);
	cr_expect_eq(c->listen[1].scheme, CONF_H2C);
	cr_expect_str_eq(c->listen[1].addr, "::1");
	/* The defaults nsregd.conf(5) states. */
	cr_expect_eq(c->h2_max_streams, 128);
	cr_expect_eq(c->h2_max_header_list, 16384);
	cr_expect_eq(c->h2_idle_timeout, 120 * 1000);
	conf_free(c);
	/* h2c alone needs no certificate; a bare number is seconds. */
	c = conf_parse("mem", "trust-domain example.org\n"
	    "trust-bundle /b.json\nlisten h2c 127.0.0.1:8081\n"
	    "h2-max-streams 1000\nh2-max-header-list 64k\n"
	    "h2-idle-timeout 30\n", NULL, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->h2_max_streams, 1000);
	cr_expect_eq(c->h2_max_header_list, 64 * 1024);
	cr_expect_eq(c->h2_idle_timeout, 30 * 1000);
	conf_free(c);
	c = conf_parse("mem", "trust-domain example.org\n"
	    "trust-bundle /b.json\nlisten h2c 127.0.0.1:8081\n"
	    "h2-idle-timeout 2m\n", NULL, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->h2_idle_timeout, 120 * 1000);
	conf_free(c);
}

Test(conf, quoted_arguments_and_comments)
{
	char		 err[CONF_ERROR_MAX];
	struct conf	*c;

	c = conf_parse("mem", "  # leading comment\n\n"
	    "trust-domain example.org # trailing\n"
	    "tls-cert \"/path with spaces/c.pem\"\n"
	    "tls-key \"/k\\\"ey\"\ntrust-bundle /b.json\n", NULL, err,
	    sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->tls_cert, "/path with spaces/c.pem");
	cr_expect_str_eq(c->tls_key, "/k\"ey");
	conf_free(c);
}

Test(conf, missing_file_is_an_error_with_the_path)
{
	char		 err[CONF_ERROR_MAX];
	struct conf	*c;

	c = conf_load("/nonexistent/nsregd.conf", err, sizeof(err));
	cr_expect_null(c);
	cr_expect(strncmp(err, "/nonexistent/nsregd.conf:0: ", 28) == 0,
	    "%s", err);
}
