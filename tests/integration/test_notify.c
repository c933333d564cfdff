/*
 * test_notify.c - nsregd tells systemd (Type=notify) when it serves,
 * reloads and stops, through the socket named by $NOTIFY_SOCKET.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct nsregd	srv;
static int		nfd = -1;

/* An abstract datagram socket, as systemd's; receives wait up to 20 s. */
static void
setup(void)
{
	struct sockaddr_un	sun;
	struct timeval		tv = { .tv_sec = 20 };
	char			name[64];
	size_t			n;

	n = (size_t)snprintf(name, sizeof(name), "@nsreg-itest-notify-%ld",
	    (long)getpid());
	nfd = socket(AF_UNIX, SOCK_DGRAM, 0);
	cr_assert_neq(nfd, -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, n);
	sun.sun_path[0] = '\0';
	cr_assert_eq(bind(nfd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
	cr_assert_eq(setsockopt(nfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	cr_assert_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
	if (nfd != -1)
		close(nfd);
	unsetenv("NOTIFY_SOCKET");
}

static const char *
next_message(void)
{
	static char	buf[2048];
	ssize_t		n;

	n = recv(nfd, buf, sizeof(buf) - 1, 0);
	cr_assert_geq(n, 0, "no notification: %s", strerror(errno));
	buf[n] = '\0';
	return buf;
}

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 90);

Test(notify, ready_reloading_and_stopping)
{
	const char	*m;

	nsregd_start(&srv, NULL);
	cr_expect_str_eq(next_message(), "READY=1\nSTATUS=serving");
	nsregd_signal(&srv, SIGHUP);
	m = next_message();
	cr_expect_eq(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27), 0,
	    "%s", m);
	cr_expect_str_eq(next_message(), "READY=1\nSTATUS=serving");
	nsregd_stop(&srv);
	cr_expect_str_eq(next_message(), "STOPPING=1");
}

Test(notify, ready_comes_once_the_server_answers)
{
	struct hcred	 none;
	struct hresp	 r;
	char		 bin[PATH_MAX], conf[PATH_MAX], log[PATH_MAX];
	const char	*b;
	int		 fd;

	/* Set up (and drain) through the harness, then start by hand. */
	nsregd_start(&srv, NULL);
	cr_assert_str_eq(next_message(), "READY=1\nSTATUS=serving");
	nsregd_stop(&srv);
	cr_assert_str_eq(next_message(), "STOPPING=1");
	b = getenv("NSREG_BUILDDIR");
	snprintf(bin, sizeof(bin), "%s/server/nsregd", b != NULL ? b : ".");
	nsregd_path(&srv, "nsregd.conf", conf, sizeof(conf));
	nsregd_path(&srv, "nsregd.log", log, sizeof(log));
	srv.pid = fork();
	cr_assert_geq(srv.pid, 0);
	if (srv.pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		execl(bin, "nsregd", "-d", "-f", conf, (char *)NULL);
		_exit(127);
	}
	cr_assert_str_eq(next_message(), "READY=1\nSTATUS=serving");
	/* Once, no retry: ready means serving. */
	hcred_none(&none);
	cr_assert_eq(hreq(&srv, &none, "GET", "/healthz", NULL, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	hresp_free(&r);
}

Test(notify, a_failed_start_never_says_ready)
{
	struct timeval	tv = { .tv_sec = 3 };
	char		buf[256];

	cr_assert_eq(setsockopt(nfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	/* A port taken by another listener: nsregd exits, silent. */
	nsregd_start(&srv, NULL);
	cr_assert_str_eq(next_message(), "READY=1\nSTATUS=serving");
	{
		struct nsregd	second = srv;
		char		conf[PATH_MAX], cmd[PATH_MAX * 2 + 64];
		const char	*b = getenv("NSREG_BUILDDIR");
		int		rc;

		nsregd_path(&second, "nsregd.conf", conf, sizeof(conf));
		snprintf(cmd, sizeof(cmd), "'%s/server/nsregd' -d -f '%s' "
		    ">/dev/null 2>&1", b != NULL ? b : ".", conf);
		rc = system(cmd);
		cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) != 0,
		    "a second nsregd on the same port started");
	}
	errno = 0;
	cr_expect_eq(recv(nfd, buf, sizeof(buf), 0), -1,
	    "a failed start sent a notification");
}
