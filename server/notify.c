/*
 * notify.c - sd_notify(3)'s datagram protocol (see notify.h).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

/*
 * Fill sun from the socket name of $NOTIFY_SOCKET; *lenp is the address
 * length to pass to sendto (an abstract name is not NUL-terminated).
 * 0, or -1 with errno set.
 */
static int
notify_address(const char *name, struct sockaddr_un *sun, socklen_t *lenp)
{
	size_t	n = strlen(name);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if ((name[0] != '/' && name[0] != '@') || n < 2) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (n >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, name, n);
	if (name[0] == '@') {
		sun->sun_path[0] = '\0';
		*lenp = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else
		*lenp = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    n + 1);
	return 0;
}

static int
notify_vsend(const char *fmt, va_list ap)
{
	struct sockaddr_un	 sun;
	socklen_t		 sunlen;
	const char		*name;
	char			 msg[NOTIFY_MAX];
	ssize_t			 w;
	int			 fd = -1, n, ret = -1, saved;

	name = getenv("NOTIFY_SOCKET");
	if (name == NULL || name[0] == '\0') {
		ret = 0;
		goto done;
	}
	if (notify_address(name, &sun, &sunlen) == -1)
		goto done;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		errno = EMSGSIZE;
		goto done;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		goto done;
	w = sendto(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sun, sunlen);
	if (w != (ssize_t)n) {
		if (w >= 0)
			errno = EMSGSIZE;
		goto done;
	}
	ret = 1;
done:
	if (fd != -1) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return ret;
}

int
notify_send(const char *fmt, ...)
{
	va_list	ap;
	int	ret;

	va_start(ap, fmt);
	ret = notify_vsend(fmt, ap);
	va_end(ap);
	return ret;
}

int
notify_reloading(void)
{
	struct timespec	ts;
	uint64_t	usec;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return -1;
	usec = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	return notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)usec);
}
