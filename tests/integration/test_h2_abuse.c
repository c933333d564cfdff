/*
 * test_h2_abuse.c - the known attacks on HTTP/2 servers against a live
 * nsregd's h2 listener (issue 12 item 3), each while a well-behaved
 * client on another connection keeps asking: the attacker gets GOAWAY
 * with the right error code and is closed, the other client is answered
 * within a second throughout, and nsreg_h2_goaway_total counts the one
 * reason.  The attacks are tests/h2/attack.py (python3-h2's hyperframe
 * and hpack); skipped with the reason when python3-h2 is missing.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static struct nsregd	srv;
static unsigned short	h2port;

static const char *
srcdir(void)
{
	const char	*s = getenv("NSREG_SRCDIR");

	return s != NULL ? s : ".";
}

/*
 * A Python 3 that has python3-h2: NSREG_PYTHON, else python3 on the
 * PATH, else Debian's own (the PATH may hold another Python).
 */
static const char *
python(void)
{
	static const char *const v[] = { "python3", "/usr/bin/python3" };
	static char	 found[PATH_MAX];
	const char	*env = getenv("NSREG_PYTHON");
	char		 cmd[PATH_MAX + 64];
	size_t		 i;

	if (found[0] != '\0')
		return found;
	if (env != NULL && env[0] != '\0') {
		snprintf(found, sizeof(found), "%s", env);
		return found;
	}
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s -c 'import h2, hyperframe, "
		    "hpack' >/dev/null 2>&1", v[i]);
		if (system(cmd) == 0) {
			snprintf(found, sizeof(found), "%s", v[i]);
			return found;
		}
	}
	return NULL;
}

static void
setup(void)
{
	char	extra[512];

	if (python() == NULL)
		return;
	h2port = harness_free_port();
	snprintf(extra, sizeof(extra), "listen h2 127.0.0.1:%u\n"
	    "header-timeout 2s\nconnection-timeout 2s\n"
	    "h2-max-resets 100\nh2-max-control-frames 200\n", h2port);
	nsregd_start(&srv, extra);
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(h2_abuse, .init = setup, .fini = teardown, .timeout = 120);

/*
 * Run tests/h2/SCRIPT.py ARGS against the h2 listener as the admin and
 * fail the test unless it exits 0.
 */
static void
python_run(const char *script, const char *args)
{
	char	cmd[4 * PATH_MAX], ca[PATH_MAX], tok[PATH_MAX];
	int	rc;

	if (python() == NULL)
		cr_skip_test("python3-h2 is not installed (apt-get install "
		    "python3-h2, or ./bootstrap.sh)");
	snprintf(cmd, sizeof(cmd), "%s %s/tests/h2/%s.py %s --port %u "
	    "--ca %s --token-file %s", python(), srcdir(), script, args,
	    h2port, nsregd_path(&srv, "bundle.pem", ca, sizeof(ca)),
	    nsregd_path(&srv, "admin.token", tok, sizeof(tok)));
	rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "%s.py %s failed (status %d); see the log above and %s/"
	    "nsregd.log", script, args, rc, srv.dir);
}

static void
attack(const char *name)
{
	char	args[256];

	snprintf(args, sizeof(args), "%s --max-resets 100 --max-control 200 "
	    "--header-timeout 2 --stall-timeout 2", name);
	python_run("attack", args);
}

/* CVE-2023-44487: HEADERS and RST_STREAM at once, 250 times. */
Test(h2_abuse, rapid_reset_gets_enhance_your_calm)
{
	attack("rapid_reset");
}

/* CVE-2019-9512. */
Test(h2_abuse, ping_flood_gets_enhance_your_calm)
{
	attack("ping_flood");
}

/* CVE-2019-9515. */
Test(h2_abuse, settings_flood_gets_enhance_your_calm)
{
	attack("settings_flood");
}

/* CVE-2019-9518: a body of endless empty DATA frames. */
Test(h2_abuse, empty_data_flood_gets_enhance_your_calm)
{
	attack("empty_data_flood");
}

/* CVE-2024-27316 and kin: a header block that never ends. */
Test(h2_abuse, continuation_flood_gets_enhance_your_calm)
{
	attack("continuation_flood");
}

/* One dynamic-table entry of 3.6 kB referenced 400 times. */
Test(h2_abuse, hpack_bomb_gets_enhance_your_calm)
{
	attack("hpack_bomb");
}

/* A stream window of zero kept shut past connection-timeout. */
Test(h2_abuse, zero_window_gets_flow_control_error)
{
	attack("zero_window");
}

/* The client preface a byte every 200 ms, past header-timeout. */
Test(h2_abuse, slowloris_preface_gets_protocol_error)
{
	attack("slowloris_preface");
}

/* A request's header block left open past header-timeout. */
Test(h2_abuse, slowloris_headers_gets_protocol_error)
{
	attack("slowloris_headers");
}

/*
 * Not an attack, the load the listener is for: 1,000 watch streams
 * multiplexed on 10 connections (tests/h2/fanout.py, python3-h2) all
 * deliver one endpoint's ADDED event, none reset or ended.
 */
Test(h2_abuse, a_thousand_watch_streams_on_ten_connections_get_the_event,
    .timeout = 180)
{
	python_run("fanout", "--connections 10 --streams 100 --timeout 60");
}
