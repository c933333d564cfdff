/*
 * grpc.h - gRPC over the HTTP/2 stream layer (DESIGN section 4, "NSM
 * registry protocol (gRPC)"; the wire format of gRPC's PROTOCOL-HTTP2).
 *
 * A gRPC request is an HTTP/2 POST of content type application/grpc
 * (or application/grpc+proto) with "te: trailers", whose body is one
 * length-prefixed message (unary and server-streaming methods take one
 * request message).  grpc_dispatch() authenticates it, finds the method
 * in the method table (unknown: UNIMPLEMENTED), unframes the message and
 * calls the handler, which answers with messages (grpc_call_send), a
 * watch (grpc_call_watch) and one status (grpc_call_fail /
 * grpc_call_status; OK when it set none).  The answer is an HTTP/2
 * stream: HEADERS, DATA frames of framed messages, then trailers
 * carrying grpc-status and grpc-message (percent-encoded).  An early
 * error is HEADERS and trailers with no message.
 *
 * grpc-timeout is honoured: a call whose deadline passed ends with
 * DEADLINE_EXCEEDED, a watch too (checked about once a second).  A client
 * that resets its stream ends the call and frees its watcher.
 *
 * The parsing functions below are pure, for the unit tests.
 */
#ifndef NSREG_GRPC_H
#define NSREG_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "http.h"

struct server;
struct grpc_call;
struct watcher;

/* gRPC status codes (grpc's doc/statuscodes.md). */
enum grpc_status {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
	GRPC_STATUS_MAX
};

/* The gRPC status of an nsreg error code (one table, nsreg-api(7)). */
enum grpc_status	 grpc_status_of(enum nsreg_code code);
/* "OK", "PERMISSION_DENIED", ...; "UNKNOWN" out of range. */
const char		*grpc_status_name(enum grpc_status st);

/*
 * 1 when content_type is one of gRPC's (application/grpc, optionally
 * "+subtype" and parameters), else 0.  *proto is set to 1 when it is
 * protobuf (no subtype or "+proto").  proto may be NULL.
 */
int	grpc_content_type(const char *content_type, int *proto);

/*
 * The one message of a request body (len bytes): *msg and *msglen point
 * into body.  A message longer than max, a truncated one, a body of
 * other than exactly one message, or a compressed one (flag 1: nsreg
 * negotiates no grpc-encoding) is refused: -1, *st the status
 * (RESOURCE_EXHAUSTED, INVALID_ARGUMENT, UNIMPLEMENTED) and why the
 * message.  0 otherwise.
 */
int	grpc_message_parse(const void *body, size_t len, size_t max,
	    const uint8_t **msg, size_t *msglen, enum grpc_status *st,
	    char *why, size_t whylen);

/*
 * Percent-encode s as grpc-message wants (bytes outside 0x20-0x7e and
 * '%' become %XX), into out (outlen bytes, NUL-terminated; a character
 * that does not fit whole is left out with everything after it).
 * Returns the length written.
 */
size_t	grpc_percent_encode(const char *s, char *out, size_t outlen);

/*
 * A grpc-timeout value ("1-8 digits" and a unit of H, M, S, m, u, n) in
 * microseconds (nanoseconds rounded up).  0 or -1 when malformed.
 */
int	grpc_timeout_parse(const char *s, int64_t *us);

/* A method: its path ("/registry.NetworkServiceRegistry/Find"). */
struct grpc_method {
	const char	*path;
	/*
	 * Handle the call's request message (msg, len bytes, borrowed for
	 * the call).  Answer with grpc_call_* before returning.
	 */
	void		(*handler)(struct server *, struct grpc_call *,
			    const uint8_t *msg, size_t len);
};

/* The methods nsregd serves (grpc_registry.c); *n gets the count. */
const struct grpc_method	*grpc_registry_methods(size_t *n);

/*
 * Serve a gRPC request (content type application/grpc*) from
 * server_dispatch.  An HTTP/1.1 request gets a 415 naming HTTP/2.
 */
void	grpc_dispatch(struct server *srv, struct http_request *req);

/* The HTTP request of a call (borrowed; valid during the handler). */
struct http_request	*grpc_call_request(struct grpc_call *c);

/* Append one response message (packed and framed).  0 or -1. */
int	grpc_call_send(struct grpc_call *c, const ProtobufCMessage *msg);

/* End the call with err's gRPC status and message. */
void	grpc_call_fail(struct grpc_call *c, const struct nsreg_error *err);
void	grpc_call_status(struct grpc_call *c, enum grpc_status st,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Answer later (a write joining the store's group commit): the handler
 * returns without answering; grpc_call_done() then sends what the call
 * made, from any thread, once.
 */
void	grpc_call_defer(struct grpc_call *c);
void	grpc_call_done(struct grpc_call *c);

/* 1 when the call's deadline (grpc-timeout) has passed, else 0. */
int	grpc_call_expired(struct grpc_call *c);

/*
 * Turn one watch event ({"type","revision","object","reason"}, borrowed)
 * into messages with grpc_call_send.  0, or -1 to end the stream.
 */
typedef int	grpc_event_fn(struct grpc_call *, const json_t *event);

/*
 * Answer with the watcher's events (wt is stolen: the call closes it
 * when the stream ends), each turned into messages by fn; messages
 * already sent go first.  BOOKMARK events are for fn to skip.
 */
void	grpc_call_watch(struct grpc_call *c, struct watcher *wt,
	    grpc_event_fn *fn);

#endif
