/*
 * h2_guard.c - per-connection accounting of HTTP/2 abuse (h2_guard.h):
 * a reader of the peer's frame headers, two token buckets (resets and
 * control frames), header block bounds and the timeouts.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "h2_guard.h"

#define H2_GUARD_PREFACE_LEN	24	/* "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" */
#define H2_GUARD_FRAME_HD_LEN	9
#define H2_GUARD_CREDIT_MAX	(1u << 20)

/* Frame types and flags (RFC 9113 section 6). */
enum h2_guard_frame {
	H2_GUARD_DATA = 0x0,
	H2_GUARD_HEADERS = 0x1,
	H2_GUARD_PRIORITY = 0x2,
	H2_GUARD_RST_STREAM = 0x3,
	H2_GUARD_SETTINGS = 0x4,
	H2_GUARD_PUSH_PROMISE = 0x5,
	H2_GUARD_PING = 0x6,
	H2_GUARD_GOAWAY = 0x7,
	H2_GUARD_WINDOW_UPDATE = 0x8,
	H2_GUARD_CONTINUATION = 0x9
};
#define H2_GUARD_END_STREAM	0x1
#define H2_GUARD_END_HEADERS	0x4
#define H2_GUARD_PADDED		0x8

static const struct {
	const char	*name;
	uint32_t	 code;
} h2_guard_reasons[H2_GUARD_NREASONS] = {
	[H2_GUARD_NONE] = { .name = "none", .code = H2_GUARD_NO_ERROR },
	[H2_GUARD_RAPID_RESET] = { .name = "rapid_reset",
	    .code = H2_GUARD_ENHANCE_YOUR_CALM },
	[H2_GUARD_CONTROL_FLOOD] = { .name = "control_flood",
	    .code = H2_GUARD_ENHANCE_YOUR_CALM },
	[H2_GUARD_CONTINUATION_FLOOD] = { .name = "continuation_flood",
	    .code = H2_GUARD_ENHANCE_YOUR_CALM },
	[H2_GUARD_HEADER_LIST] = { .name = "header_list",
	    .code = H2_GUARD_ENHANCE_YOUR_CALM },
	[H2_GUARD_SLOW_READ] = { .name = "slow_read",
	    .code = H2_GUARD_FLOW_CONTROL_ERROR },
	[H2_GUARD_HEADER_TIMEOUT] = { .name = "header_timeout",
	    .code = H2_GUARD_PROTOCOL_ERROR },
};

static const char *const h2_guard_codes[] = {
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR",
	"REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR",
	"ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"
};

/* Events per second on average, twice that at once: milli-tokens. */
struct h2_guard_bucket {
	uint64_t	milli;
	int64_t		last;
};

struct h2_guard {
	struct h2_guard_limits	 lim;
	unsigned int		 max_continuations;
	enum h2_guard_reason	 verdict;
	int64_t			 created;
	struct h2_guard_bucket	 resets;
	struct h2_guard_bucket	 control;
	uint64_t		 credit;	/* free PING, WINDOW_UPDATE */

	/* The reader: preface, then frame header, then payload. */
	size_t			 preface_left;
	uint8_t			 hd[H2_GUARD_FRAME_HD_LEN];
	size_t			 hdlen;
	size_t			 payload_left;
	size_t			 length;	/* the current frame's */
	uint8_t			 type;
	uint8_t			 flags;
	int64_t			 frame_start;
	int			 preface_done;	/* first frame complete */
	int			 requested;	/* a request head came */

	/* The header block being received. */
	int			 in_block;
	int64_t			 block_start;
	unsigned int		 continuations;
	size_t			 block_bytes;
	size_t			 decoded;

	/* Output waiting without progress since stall_since. */
	int			 stalled;
	int64_t			 stall_since;
};

static void
h2_guard_bucket_init(struct h2_guard_bucket *b, unsigned int rate,
    int64_t now)
{
	b->milli = (uint64_t)rate * 2000;
	b->last = now;
}

/* Take one token; returns -1 when there is none left. */
static int
h2_guard_bucket_take(struct h2_guard_bucket *b, unsigned int rate,
    int64_t now)
{
	uint64_t	cap = (uint64_t)rate * 2000;
	int		rv = 0;

	if (now > b->last) {
		b->milli += (uint64_t)(now - b->last) * rate;
		if (b->milli > cap)
			b->milli = cap;
		b->last = now;
	}
	if (b->milli < 1000)
		rv = -1;
	else
		b->milli -= 1000;
	return rv;
}

static void
h2_guard_judge(struct h2_guard *g, enum h2_guard_reason r)
{
	if (g->verdict == H2_GUARD_NONE)
		g->verdict = r;
}

static void
h2_guard_reset(struct h2_guard *g, int64_t now)
{
	if (h2_guard_bucket_take(&g->resets, g->lim.max_resets, now) == -1)
		h2_guard_judge(g, H2_GUARD_RAPID_RESET);
}

static void
h2_guard_control(struct h2_guard *g, int64_t now)
{
	if (h2_guard_bucket_take(&g->control, g->lim.max_control, now) == -1)
		h2_guard_judge(g, H2_GUARD_CONTROL_FLOOD);
}

/* A PING or WINDOW_UPDATE: free while the server's sends pay for it. */
static void
h2_guard_answer(struct h2_guard *g, int64_t now)
{
	if (g->credit > 0)
		g->credit--;
	else
		h2_guard_control(g, now);
}

/* A frame header was read: count the frame. */
static void
h2_guard_frame_begin(struct h2_guard *g, int64_t now)
{
	if (g->in_block && g->type != H2_GUARD_CONTINUATION)
		g->in_block = 0;	/* nghttp2 ends the connection */
	switch (g->type) {
	case H2_GUARD_DATA:
		/* Padded: empty when the padding is all (see the reader). */
		if (g->length == 0 && !(g->flags & H2_GUARD_END_STREAM))
			h2_guard_control(g, now);
		break;
	case H2_GUARD_HEADERS:
		g->in_block = 1;	/* until its END_HEADERS frame is read */
		g->block_start = now;
		g->continuations = 0;
		g->block_bytes = g->length;
		if (g->length == 0)
			h2_guard_control(g, now);
		if (g->block_bytes > g->lim.max_header_list)
			h2_guard_judge(g, H2_GUARD_HEADER_LIST);
		break;
	case H2_GUARD_CONTINUATION:
		if (!g->in_block) {
			h2_guard_control(g, now);
			break;
		}
		g->continuations++;
		g->block_bytes += g->length;
		if (g->continuations > g->max_continuations ||
		    g->block_bytes > g->lim.max_header_list)
			h2_guard_judge(g, H2_GUARD_CONTINUATION_FLOOD);
		break;
	case H2_GUARD_RST_STREAM:
		h2_guard_reset(g, now);
		break;
	case H2_GUARD_PING:
	case H2_GUARD_WINDOW_UPDATE:
		h2_guard_answer(g, now);
		break;
	default:
		/* SETTINGS, PRIORITY, PUSH_PROMISE, GOAWAY, unknown. */
		h2_guard_control(g, now);
		break;
	}
}

/* A frame was read to its end. */
static void
h2_guard_frame_end(struct h2_guard *g)
{
	g->preface_done = 1;
	if ((g->type == H2_GUARD_HEADERS || g->type == H2_GUARD_CONTINUATION) &&
	    (g->flags & H2_GUARD_END_HEADERS))
		g->in_block = 0;
}

/* The deadline of what is being received, INT64_MAX when nothing is. */
static int64_t
h2_guard_recv_deadline(const struct h2_guard *g)
{
	int64_t	start, bound;

	if (!g->preface_done || !g->requested) {
		start = g->created;
		bound = g->lim.header_timeout;
	} else if (g->in_block) {
		start = g->block_start;
		bound = g->lim.header_timeout;
	} else if (g->hdlen > 0 || g->payload_left > 0) {
		start = g->frame_start;
		bound = g->hdlen == 0 && g->type == H2_GUARD_DATA ?
		    g->lim.stall_timeout : g->lim.header_timeout;
	} else
		bound = 0;
	return bound > 0 ? start + bound : INT64_MAX;
}

struct h2_guard *
h2_guard_new(const struct h2_guard_limits *limits, int64_t now)
{
	struct h2_guard	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		goto out;
	g->lim = *limits;
	if (g->lim.max_resets == 0)
		g->lim.max_resets = 1;
	if (g->lim.max_control == 0)
		g->lim.max_control = 1;
	/* Enough 16 KiB frames (the smallest maximum) for the bound. */
	g->max_continuations = g->lim.max_header_list / 16384 + 1 > 8 ?
	    (unsigned int)(g->lim.max_header_list / 16384 + 1) : 8;
	g->created = now;
	h2_guard_bucket_init(&g->resets, g->lim.max_resets, now);
	h2_guard_bucket_init(&g->control, g->lim.max_control, now);
	g->preface_left = H2_GUARD_PREFACE_LEN;
out:
	return g;
}

void
h2_guard_free(struct h2_guard *g)
{
	free(g);
}

enum h2_guard_reason
h2_guard_recv(struct h2_guard *g, int64_t now, const uint8_t *buf,
    size_t len)
{
	size_t	n;

	while (len > 0 && g->verdict == H2_GUARD_NONE) {
		if (g->preface_left > 0) {
			n = len < g->preface_left ? len : g->preface_left;
			g->preface_left -= n;
		} else if (g->payload_left > 0) {
			n = len < g->payload_left ? len : g->payload_left;
			/* A padded DATA frame of nothing but padding. */
			if (g->type == H2_GUARD_DATA &&
			    g->payload_left == g->length &&
			    (g->flags & H2_GUARD_PADDED) &&
			    !(g->flags & H2_GUARD_END_STREAM) &&
			    (size_t)buf[0] + 1 == g->length)
				h2_guard_control(g, now);
			g->payload_left -= n;
			if (g->payload_left == 0)
				h2_guard_frame_end(g);
		} else {
			if (g->hdlen == 0)
				g->frame_start = now;
			n = H2_GUARD_FRAME_HD_LEN - g->hdlen;
			if (n > len)
				n = len;
			memcpy(g->hd + g->hdlen, buf, n);
			g->hdlen += n;
			if (g->hdlen == H2_GUARD_FRAME_HD_LEN) {
				g->hdlen = 0;
				g->length = (size_t)g->hd[0] << 16 |
				    (size_t)g->hd[1] << 8 | g->hd[2];
				g->type = g->hd[3];
				g->flags = g->hd[4];
				g->payload_left = g->length;
				h2_guard_frame_begin(g, now);
				if (g->length == 0)
					h2_guard_frame_end(g);
			}
		}
		buf += n;
		len -= n;
	}
	return h2_guard_tick(g, now);
}

void
h2_guard_headers_begin(struct h2_guard *g)
{
	g->decoded = 0;
}

enum h2_guard_reason
h2_guard_header(struct h2_guard *g, size_t namelen, size_t valuelen)
{
	g->decoded += namelen + valuelen + 32;
	if (g->decoded > g->lim.max_header_list)
		h2_guard_judge(g, H2_GUARD_HEADER_LIST);
	return g->verdict;
}

void
h2_guard_request_head(struct h2_guard *g)
{
	g->requested = 1;
}

enum h2_guard_reason
h2_guard_reset_sent(struct h2_guard *g, int64_t now)
{
	h2_guard_reset(g, now);
	return g->verdict;
}

enum h2_guard_reason
h2_guard_output(struct h2_guard *g, int64_t now, size_t sent, int pending)
{
	if (sent > 0) {
		g->credit += 2 * (uint64_t)sent;
		if (g->credit > H2_GUARD_CREDIT_MAX)
			g->credit = H2_GUARD_CREDIT_MAX;
	}
	if (sent > 0 || !pending)
		g->stalled = 0;
	else if (!g->stalled) {
		g->stalled = 1;
		g->stall_since = now;
	}
	return h2_guard_tick(g, now);
}

enum h2_guard_reason
h2_guard_tick(struct h2_guard *g, int64_t now)
{
	if (g->verdict != H2_GUARD_NONE)
		goto out;
	if (now >= h2_guard_recv_deadline(g))
		h2_guard_judge(g, H2_GUARD_HEADER_TIMEOUT);
	else if (g->stalled && g->lim.stall_timeout > 0 &&
	    now - g->stall_since >= g->lim.stall_timeout)
		h2_guard_judge(g, H2_GUARD_SLOW_READ);
out:
	return g->verdict;
}

int64_t
h2_guard_deadline(const struct h2_guard *g)
{
	int64_t	d = INT64_MAX;

	if (g->verdict != H2_GUARD_NONE)
		goto out;
	d = h2_guard_recv_deadline(g);
	if (g->stalled && g->lim.stall_timeout > 0 &&
	    g->stall_since + g->lim.stall_timeout < d)
		d = g->stall_since + g->lim.stall_timeout;
out:
	return d;
}

enum h2_guard_reason
h2_guard_verdict(const struct h2_guard *g)
{
	return g->verdict;
}

const char *
h2_guard_reason_name(enum h2_guard_reason r)
{
	return (unsigned int)r < H2_GUARD_NREASONS ?
	    h2_guard_reasons[r].name : "unknown";
}

uint32_t
h2_guard_reason_code(enum h2_guard_reason r)
{
	return (unsigned int)r < H2_GUARD_NREASONS ?
	    h2_guard_reasons[r].code : H2_GUARD_INTERNAL_ERROR;
}

const char *
h2_guard_code_name(uint32_t code)
{
	return code < sizeof(h2_guard_codes) / sizeof(h2_guard_codes[0]) ?
	    h2_guard_codes[code] : "UNKNOWN";
}
