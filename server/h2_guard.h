/*
 * h2_guard.h - per-connection accounting of HTTP/2 abuse: the known
 * attacks on HTTP/2 servers each reach a verdict here, which the
 * listener (server/h2.c) turns into GOAWAY with the verdict's error code
 * and a closed connection, counted in nsreg_h2_goaway_total{reason}.
 *
 * What is counted, and the verdict it brings (nsregd.conf(5)):
 *
 *  rapid_reset         more streams reset than max_resets per second on
 *                      average (a burst of twice that is allowed):
 *                      RST_STREAM frames from the peer, on any stream
 *                      (CVE-2023-44487), and RST_STREAM frames the server
 *                      had to send because of what the peer did (a
 *                      refused stream, a bad request, a body too big).
 *                      ENHANCE_YOUR_CALM.
 *  control_flood       more than max_control frames per second on average
 *                      (burst twice that) of the kinds that cost the
 *                      server work but carry no request: SETTINGS, PING,
 *                      PRIORITY, WINDOW_UPDATE, DATA that is empty and
 *                      does not end its stream, GOAWAY, PUSH_PROMISE and
 *                      unknown types (CVE-2019-9512, -9515, -9518).  Each
 *                      DATA or HEADERS frame the server sends lets the
 *                      peer answer with two PING or WINDOW_UPDATE frames
 *                      for free, so clients that acknowledge every
 *                      chunk they read, or estimate bandwidth with PINGs,
 *                      are not mistaken for floods.  ENHANCE_YOUR_CALM.
 *  continuation_flood  a header block in more CONTINUATION frames than
 *                      max(8, max_header_list / 16384 + 1), or whose
 *                      encoded size passes max_header_list
 *                      (CVE-2024-27316 and its kin).  ENHANCE_YOUR_CALM.
 *  header_list         a decoded header block (RFC 7541 section 4.1:
 *                      name + value + 32 per field) over max_header_list:
 *                      HPACK bombs, which reference one big dynamic-table
 *                      entry many times.  ENHANCE_YOUR_CALM.
 *  slow_read           response data waiting while not one frame of it
 *                      could be sent for stall_timeout: the peer keeps
 *                      its flow-control window at zero, or does not read
 *                      the socket.  FLOW_CONTROL_ERROR.
 *  header_timeout      the TLS handshake, the connection preface and the
 *                      first request's whole head not received within
 *                      header_timeout of the connection's start; after
 *                      it, a frame but DATA or a whole header block not
 *                      received within header_timeout of its first byte,
 *                      a DATA frame within stall_timeout (slowloris).
 *                      PROTOCOL_ERROR.
 *
 * Frames are counted from the bytes themselves: the guard reads the
 * 24-byte client preface and every 9-byte frame header of what the peer
 * sends, so it sees every frame, also those nghttp2 ignores without a
 * callback.  Header sizes and sent frames come from nghttp2's callbacks.
 *
 * Pure logic: no I/O, no clock (times are milliseconds on any monotonic
 * clock, given as arguments), no lock (one connection, one thread).  A
 * verdict is final: once reached, every function returns it.
 */
#ifndef NSREG_H2_GUARD_H
#define NSREG_H2_GUARD_H

#include <stddef.h>
#include <stdint.h>

enum h2_guard_reason {
	H2_GUARD_NONE = 0,
	H2_GUARD_RAPID_RESET,
	H2_GUARD_CONTROL_FLOOD,
	H2_GUARD_CONTINUATION_FLOOD,
	H2_GUARD_HEADER_LIST,
	H2_GUARD_SLOW_READ,
	H2_GUARD_HEADER_TIMEOUT,
	H2_GUARD_NREASONS
};

/* HTTP/2 error codes (RFC 9113 section 7), as sent in GOAWAY. */
#define H2_GUARD_NO_ERROR		0x0u
#define H2_GUARD_PROTOCOL_ERROR		0x1u
#define H2_GUARD_INTERNAL_ERROR		0x2u
#define H2_GUARD_FLOW_CONTROL_ERROR	0x3u
#define H2_GUARD_ENHANCE_YOUR_CALM	0xbu

/* The defaults of h2-max-resets and h2-max-control-frames. */
#define H2_GUARD_MAX_RESETS		100
#define H2_GUARD_MAX_CONTROL		200

struct h2_guard_limits {
	unsigned int	max_resets;	/* per second, >= 1 */
	unsigned int	max_control;	/* per second, >= 1 */
	size_t		max_header_list;	/* bytes, decoded */
	int64_t		header_timeout;	/* ms; 0: no bound */
	int64_t		stall_timeout;	/* ms; 0: no bound */
};

struct h2_guard;

/*
 * A new guard for a connection accepted at now (ms), with a copy of
 * limits.  Returns NULL when out of memory.  Free with h2_guard_free.
 */
struct h2_guard		*h2_guard_new(const struct h2_guard_limits *limits,
			    int64_t now);
void			 h2_guard_free(struct h2_guard *g);

/*
 * The bytes the peer sent, decrypted, in order, each byte once, at now:
 * call before handing them to nghttp2.  Counts the frames they hold.
 */
enum h2_guard_reason	 h2_guard_recv(struct h2_guard *g, int64_t now,
			    const uint8_t *buf, size_t len);

/*
 * A header block begins (nghttp2's on_begin_headers), and one of its
 * fields was decoded (on_header) with these lengths.
 */
void			 h2_guard_headers_begin(struct h2_guard *g);
enum h2_guard_reason	 h2_guard_header(struct h2_guard *g, size_t namelen,
			    size_t valuelen);

/* A request's header block is complete (on_frame_recv). */
void			 h2_guard_request_head(struct h2_guard *g);

/* The server sent RST_STREAM (on_frame_send) at now. */
enum h2_guard_reason	 h2_guard_reset_sent(struct h2_guard *g, int64_t now);

/*
 * After an attempt to send, at now: sent is how many DATA and HEADERS
 * frames went out since the last call, pending is nonzero while response
 * data waits that could not be sent (flow-control window at zero, or the
 * socket full).
 */
enum h2_guard_reason	 h2_guard_output(struct h2_guard *g, int64_t now,
			    size_t sent, int pending);

/* The timeouts, at now: call at h2_guard_deadline or later. */
enum h2_guard_reason	 h2_guard_tick(struct h2_guard *g, int64_t now);

/*
 * When h2_guard_tick may next reach a verdict (ms, same clock), or
 * INT64_MAX when no timeout runs.
 */
int64_t			 h2_guard_deadline(const struct h2_guard *g);

/* The verdict so far, H2_GUARD_NONE while none. */
enum h2_guard_reason	 h2_guard_verdict(const struct h2_guard *g);

/* "rapid_reset", ... (the metrics label); "none" for H2_GUARD_NONE. */
const char		*h2_guard_reason_name(enum h2_guard_reason r);

/* The HTTP/2 error code to send in GOAWAY for r. */
uint32_t		 h2_guard_reason_code(enum h2_guard_reason r);

/* "ENHANCE_YOUR_CALM", ... ; "UNKNOWN" for codes beyond RFC 9113. */
const char		*h2_guard_code_name(uint32_t code);

#endif /* NSREG_H2_GUARD_H */
