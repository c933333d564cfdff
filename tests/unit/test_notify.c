/*
 * test_notify.c - sd_notify's datagram protocol: what reaches a socket
 * named by $NOTIFY_SOCKET, and what is refused.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

/*
 * A datagram socket bound to name ('@' first: abstract), as systemd's;
 * receives time out after a second.
 */
static int
bind_notify(const char *name)
{
	struct sockaddr_un	sun;
	struct timeval		tv = { .tv_sec = 1 };
	socklen_t		len;
	size_t			n = strlen(name);
	int			fd;

	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	cr_assert_neq(fd, -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_lt(n, sizeof(sun.sun_path));
	memcpy(sun.sun_path, name, n);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, len), 0, "bind %s: %s",
	    name, strerror(errno));
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	return fd;
}

/* The next datagram on fd as a string (static buffer). */
static const char *
recv_notify(int fd)
{
	static char	buf[NOTIFY_MAX + 1];
	ssize_t		n;

	n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_geq(n, 0, "no datagram: %s", strerror(errno));
	buf[n] = '\0';
	return buf;
}

Test(notify, abstract_socket_receives_each_message_whole)
{
	char	name[64];
	int	fd;

	snprintf(name, sizeof(name), "@nsreg-test-notify-%ld", (long)getpid());
	fd = bind_notify(name);
	cr_assert_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	cr_assert_eq(notify_send("READY=1\nSTATUS=serving %d", 3), 1);
	cr_expect_str_eq(recv_notify(fd), "READY=1\nSTATUS=serving 3");
	cr_assert_eq(notify_send("STOPPING=1"), 1);
	cr_expect_str_eq(recv_notify(fd), "STOPPING=1");
	close(fd);
}

Test(notify, path_socket_receives)
{
	char	dir[] = "/tmp/nsreg-notify-XXXXXX", path[128];
	int	fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bind_notify(path);
	cr_assert_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
	cr_assert_eq(notify_send("READY=1"), 1);
	cr_expect_str_eq(recv_notify(fd), "READY=1");
	close(fd);
	unlink(path);
	rmdir(dir);
}

Test(notify, reloading_carries_the_monotonic_time)
{
	char			 name[64];
	const char		*m;
	struct timespec		 ts;
	unsigned long long	 usec, now;
	int			 fd;

	snprintf(name, sizeof(name), "@nsreg-test-reload-%ld", (long)getpid());
	fd = bind_notify(name);
	cr_assert_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	cr_assert_eq(notify_reloading(), 1);
	m = recv_notify(fd);
	cr_assert_eq(sscanf(m, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1,
	    "%s", m);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000;
	cr_expect_leq(usec, now);
	cr_expect_gt(usec + 5000000, now);
	close(fd);
}

Test(notify, without_notify_socket_nothing_is_sent)
{
	cr_assert_eq(unsetenv("NOTIFY_SOCKET"), 0);
	cr_expect_eq(notify_send("READY=1"), 0);
	cr_assert_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
	cr_expect_eq(notify_send("READY=1"), 0);
}

Test(notify, unusable_socket_names_are_errors)
{
	static const struct {
		const char	*name;
		int		 err;
	} cases[] = {
		{ "relative/socket", EAFNOSUPPORT },
		{ "@", EAFNOSUPPORT },
		{ "vsock:2:1234", EAFNOSUPPORT },
		{ "/nonexistent/nsreg/notify", ENOENT },
		{ "@nsreg-nobody-listens-here-0", ECONNREFUSED },
	};
	char	longname[200];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(setenv("NOTIFY_SOCKET", cases[i].name, 1), 0);
		errno = 0;
		cr_expect_eq(notify_send("READY=1"), -1, "%s", cases[i].name);
		cr_expect_eq(errno, cases[i].err, "%s: %s", cases[i].name,
		    strerror(errno));
	}
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(setenv("NOTIFY_SOCKET", longname, 1), 0);
	errno = 0;
	cr_expect_eq(notify_send("READY=1"), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
}

Test(notify, a_message_longer_than_the_maximum_is_refused)
{
	char	name[64], big[NOTIFY_MAX + 8];
	int	fd;

	snprintf(name, sizeof(name), "@nsreg-test-big-%ld", (long)getpid());
	fd = bind_notify(name);
	cr_assert_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	errno = 0;
	cr_expect_eq(notify_send("STATUS=%s", big), -1);
	cr_expect_eq(errno, EMSGSIZE);
	close(fd);
}
