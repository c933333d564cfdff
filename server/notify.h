/*
 * notify.h - tell the service manager how nsregd is doing, with
 * sd_notify(3)'s datagram protocol and without libsystemd.
 *
 * The manager names a datagram socket in $NOTIFY_SOCKET: an absolute
 * path, or an abstract socket name written with a leading '@'.  Each
 * message is one datagram of newline-separated VARIABLE=value lines
 * ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...").  Without
 * $NOTIFY_SOCKET nothing is sent, so the daemon runs the same outside
 * systemd.
 */
#ifndef NSREG_NOTIFY_H
#define NSREG_NOTIFY_H

#include <stddef.h>

/* Longest message notify_send() sends. */
#define NOTIFY_MAX	1024

/*
 * Send the message printf(fmt, ...) to $NOTIFY_SOCKET.  1 when sent, 0
 * when $NOTIFY_SOCKET is unset or empty, -1 when the message is too long,
 * the variable names no usable socket or the send failed (errno says
 * why).  Thread-safe; never blocks on a slow manager (MSG_DONTWAIT).
 */
int	notify_send(const char *fmt, ...)
	    __attribute__((__format__(__printf__, 1, 2)));

/*
 * Send "RELOADING=1" with MONOTONIC_USEC= the current CLOCK_MONOTONIC
 * time, as systemd (Type=notify-reload) wants it.  As notify_send().
 */
int	notify_reloading(void);

#endif
