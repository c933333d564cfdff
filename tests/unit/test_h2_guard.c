/*
 * test_h2_guard.c - the HTTP/2 abuse accounting (server/h2_guard.c) as a
 * table of scripts on a fake clock: each step feeds the guard bytes or
 * callbacks at a given millisecond and states the verdict it must have
 * reached after it, so every limit is checked on both sides of its edge.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h2_guard.h"

static const char magic[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum op {
	OP_END = 0,	/* the rest of the table */
	OP_PREFACE,	/* the client magic and an empty SETTINGS frame */
	OP_MAGIC_BYTE,	/* the next byte of the client magic */
	OP_FRAME,	/* a whole frame of type, flags, len */
	OP_PART,	/* a frame's first a bytes (header and payload) */
	OP_REQUEST,	/* a request head complete (on_frame_recv) */
	OP_BEGIN,	/* on_begin_headers */
	OP_HEADER,	/* on_header with name a and value b bytes */
	OP_RESET_SENT,	/* the server sent RST_STREAM */
	OP_OUTPUT,	/* a frames sent, b pending */
	OP_TICK
};

struct step {
	enum op			op;
	int64_t			at;	/* ms of the first repetition */
	int64_t			every;	/* ms between repetitions */
	unsigned int		n;	/* repetitions; 0 is 1 */
	uint8_t			type;
	uint8_t			flags;
	uint32_t		len;
	size_t			a;	/* OP_FRAME: DATA's padding */
	size_t			b;
	enum h2_guard_reason	expect;	/* the verdict after the step */
};

#define STEPS_MAX	10

struct script {
	const char		*name;
	struct h2_guard_limits	 lim;	/* zero: the defaults below */
	struct step		 steps[STEPS_MAX];
};

#define DATA	0x0
#define HEADERS	0x1
#define PRIO	0x2
#define RST	0x3
#define SETTINGS 0x4
#define PING	0x6
#define GOAWAY	0x7
#define WU	0x8
#define CONT	0x9
#define END_STREAM	0x1
#define END_HEADERS	0x4
#define PADDED		0x8

/* The preface and a first request: what most scripts start with. */
#define PREFACE	{ .op = OP_PREFACE, .at = 0 }, { .op = OP_REQUEST }

static const struct h2_guard_limits defaults = {
	.max_resets = 100,
	.max_control = 200,
	.max_header_list = 16384,
	.header_timeout = 10000,
	.stall_timeout = 60000,
};

static const struct script scripts[] = {
	/* Rapid reset (CVE-2023-44487): a burst of twice the rate. */
	{ "resets: a burst of 200 passes, the 201st is too many", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1000, .n = 200, .type = RST, .len = 4 },
	    { .op = OP_FRAME, .at = 1000, .type = RST, .len = 4,
		.expect = H2_GUARD_RAPID_RESET } } },
	{ "resets: 100/s for 20 s passes", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 0, .every = 10, .n = 2000, .type = RST,
		.len = 4 } } },
	{ "resets: 125/s drains the burst at the 997th", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 0, .every = 8, .n = 996, .type = RST,
		.len = 4 },
	    { .op = OP_FRAME, .at = 996 * 8, .type = RST, .len = 4,
		.expect = H2_GUARD_RAPID_RESET } } },
	{ "resets: the server's own count as well", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 5, .n = 150, .type = RST, .len = 4 },
	    { .op = OP_RESET_SENT, .at = 5, .n = 50 },
	    { .op = OP_RESET_SENT, .at = 5,
		.expect = H2_GUARD_RAPID_RESET } } },
	{ "resets: h2-max-resets 10 allows 20 at once", { .max_resets = 10 }, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 5, .n = 20, .type = RST, .len = 4 },
	    { .op = OP_FRAME, .at = 5, .type = RST, .len = 4,
		.expect = H2_GUARD_RAPID_RESET } } },
	{ "resets: the bucket refills after a quiet second", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 0, .n = 200, .type = RST, .len = 4 },
	    { .op = OP_FRAME, .at = 2000, .n = 200, .type = RST, .len = 4 },
	    { .op = OP_FRAME, .at = 2000, .type = RST, .len = 4,
		.expect = H2_GUARD_RAPID_RESET } } },

	/* Control frames (CVE-2019-9512, -9515, -9518). */
	{ "control: 400 at once pass (the preface's SETTINGS is one), "
	    "the 401st floods", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = PING, .len = 8 },
	    { .op = OP_FRAME, .at = 1, .type = PING, .len = 8,
		.expect = H2_GUARD_CONTROL_FLOOD } } },
	{ "control: SETTINGS flood (the first one counts too)", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = SETTINGS, .len = 6 },
	    { .op = OP_FRAME, .at = 1, .type = SETTINGS, .len = 6,
		.expect = H2_GUARD_CONTROL_FLOOD } } },
	{ "control: PRIORITY flood", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = PRIO, .len = 5 },
	    { .op = OP_FRAME, .at = 1, .type = PRIO, .len = 5,
		.expect = H2_GUARD_CONTROL_FLOOD } } },
	{ "control: WINDOW_UPDATE flood", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = WU, .len = 4 },
	    { .op = OP_FRAME, .at = 1, .type = WU, .len = 4,
		.expect = H2_GUARD_CONTROL_FLOOD } } },
	{ "control: empty DATA flood", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = DATA },
	    { .op = OP_FRAME, .at = 1, .type = DATA,
		.expect = H2_GUARD_CONTROL_FLOOD } } },
	{ "control: DATA of padding only is empty", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = DATA,
		.flags = PADDED, .len = 9, .a = 8 },
	    { .op = OP_FRAME, .at = 1, .type = DATA, .flags = PADDED,
		.len = 9, .a = 8, .expect = H2_GUARD_CONTROL_FLOOD } } },
	{ "control: unknown frame types flood", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = 0xee, .len = 3 },
	    { .op = OP_FRAME, .at = 1, .type = 0xee, .len = 3,
		.expect = H2_GUARD_CONTROL_FLOOD } } },
	{ "control: GOAWAY repeated floods", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = GOAWAY, .len = 8 },
	    { .op = OP_FRAME, .at = 1, .type = GOAWAY, .len = 8,
		.expect = H2_GUARD_CONTROL_FLOOD } } },
	{ "control: DATA with a payload, or ending a body, is not", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 5000, .type = DATA, .len = 10 },
	    { .op = OP_FRAME, .at = 1, .n = 5000, .type = DATA,
		.flags = END_STREAM },
	    { .op = OP_FRAME, .at = 1, .n = 5000, .type = DATA,
		.flags = PADDED | END_STREAM, .len = 9, .a = 8 },
	    { .op = OP_FRAME, .at = 1, .n = 5000, .type = DATA,
		.flags = PADDED, .len = 10, .a = 4 } } },
	{ "control: 200/s for 10 s passes", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 0, .every = 5, .n = 2000, .type = PING,
		.len = 8 } } },
	{ "control: what the server sends pays for PINGs and updates", {}, {
	    PREFACE,
	    { .op = OP_OUTPUT, .at = 1, .a = 300 },
	    { .op = OP_FRAME, .at = 1, .n = 600, .type = WU, .len = 4 },
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = PING, .len = 8 },
	    { .op = OP_FRAME, .at = 1, .type = PING, .len = 8,
		.expect = H2_GUARD_CONTROL_FLOOD } } },
	{ "control: ... but not for SETTINGS", {}, {
	    PREFACE,
	    { .op = OP_OUTPUT, .at = 1, .a = 300 },
	    { .op = OP_FRAME, .at = 1, .n = 399, .type = SETTINGS, .len = 0 },
	    { .op = OP_FRAME, .at = 1, .type = SETTINGS,
		.expect = H2_GUARD_CONTROL_FLOOD } } },

	/* Header blocks: CONTINUATION floods and HPACK bombs. */
	{ "continuation: 8 pass, the 9th floods", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .type = HEADERS, .len = 10 },
	    { .op = OP_FRAME, .at = 1, .n = 8, .type = CONT, .len = 10 },
	    { .op = OP_FRAME, .at = 1, .type = CONT, .len = 10,
		.expect = H2_GUARD_CONTINUATION_FLOOD } } },
	{ "continuation: empty ones count", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .type = HEADERS },
	    { .op = OP_FRAME, .at = 1, .n = 8, .type = CONT },
	    { .op = OP_FRAME, .at = 1, .type = CONT,
		.expect = H2_GUARD_CONTINUATION_FLOOD } } },
	{ "continuation: a 1M header list allows 65",
	    { .max_header_list = 1 << 20 }, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .type = HEADERS, .len = 10 },
	    { .op = OP_FRAME, .at = 1, .n = 65, .type = CONT, .len = 10 },
	    { .op = OP_FRAME, .at = 1, .type = CONT, .len = 10,
		.expect = H2_GUARD_CONTINUATION_FLOOD } } },
	{ "continuation: a block's bytes are bounded", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .type = HEADERS, .len = 16000 },
	    { .op = OP_FRAME, .at = 1, .type = CONT, .len = 384 },
	    { .op = OP_FRAME, .at = 1, .type = CONT, .len = 1,
		.flags = END_HEADERS,
		.expect = H2_GUARD_CONTINUATION_FLOOD } } },
	{ "continuation: each block is counted afresh", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 100, .type = HEADERS,
		.flags = END_HEADERS, .len = 8000 },
	    { .op = OP_FRAME, .at = 1, .type = HEADERS, .len = 8000 },
	    { .op = OP_FRAME, .at = 1, .n = 7, .type = CONT, .len = 1000 },
	    { .op = OP_FRAME, .at = 1, .type = CONT, .len = 10,
		.flags = END_HEADERS },
	    { .op = OP_FRAME, .at = 1, .type = HEADERS, .len = 10 },
	    { .op = OP_FRAME, .at = 1, .n = 8, .type = CONT, .len = 10 } } },
	{ "header list: one HEADERS frame over the limit",
	    { .max_header_list = 4096 }, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .type = HEADERS, .flags = END_HEADERS,
		.len = 4096 },
	    { .op = OP_FRAME, .at = 1, .type = HEADERS, .flags = END_HEADERS,
		.len = 4097, .expect = H2_GUARD_HEADER_LIST } } },
	{ "header list: the HPACK bomb's decoded size", {}, {
	    PREFACE,
	    { .op = OP_BEGIN },
	    { .op = OP_HEADER, .n = 4, .a = 10, .b = 4000 },
	    { .op = OP_HEADER, .a = 1, .b = 183 },
	    { .op = OP_HEADER, .a = 1, .b = 1,
		.expect = H2_GUARD_HEADER_LIST } } },
	{ "header list: each block is counted afresh", {}, {
	    PREFACE,
	    { .op = OP_BEGIN },
	    { .op = OP_HEADER, .n = 4, .a = 10, .b = 4000 },
	    { .op = OP_BEGIN },
	    { .op = OP_HEADER, .n = 4, .a = 10, .b = 4000 } } },

	/* Slowloris: the preface, frames and header blocks. */
	{ "timeout: no preface within header-timeout", {}, {
	    { .op = OP_TICK, .at = 9999 },
	    { .op = OP_TICK, .at = 10000,
		.expect = H2_GUARD_HEADER_TIMEOUT } } },
	{ "timeout: a preface dribbled a byte at a time", {}, {
	    { .op = OP_MAGIC_BYTE, .at = 0, .every = 500, .n = 20 },
	    { .op = OP_MAGIC_BYTE, .at = 10000,
		.expect = H2_GUARD_HEADER_TIMEOUT } } },
	{ "timeout: the magic without SETTINGS is no preface", {}, {
	    { .op = OP_MAGIC_BYTE, .at = 0, .n = 24 },
	    { .op = OP_TICK, .at = 9999 },
	    { .op = OP_TICK, .at = 10000,
		.expect = H2_GUARD_HEADER_TIMEOUT } } },
	{ "timeout: a preface and a request, then idle for a day", {}, {
	    { .op = OP_PREFACE, .at = 9000 },
	    { .op = OP_FRAME, .at = 9999, .type = HEADERS,
		.flags = END_HEADERS | END_STREAM, .len = 30 },
	    { .op = OP_REQUEST },
	    { .op = OP_TICK, .at = 86400000 } } },
	{ "timeout: a preface but no request head in time", {}, {
	    { .op = OP_PREFACE, .at = 100 },
	    { .op = OP_FRAME, .at = 5000, .type = PING, .len = 8 },
	    { .op = OP_FRAME, .at = 9000, .type = HEADERS, .len = 30 },
	    { .op = OP_TICK, .at = 9999 },
	    { .op = OP_TICK, .at = 10000,
		.expect = H2_GUARD_HEADER_TIMEOUT } } },
	{ "timeout: a header block left open", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1000, .type = HEADERS, .len = 10 },
	    { .op = OP_FRAME, .at = 5000, .type = CONT, .len = 10 },
	    { .op = OP_TICK, .at = 10999 },
	    { .op = OP_TICK, .at = 11000,
		.expect = H2_GUARD_HEADER_TIMEOUT } } },
	{ "timeout: a header block completed in time", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1000, .type = HEADERS, .len = 10 },
	    { .op = OP_FRAME, .at = 10999, .type = CONT, .len = 10,
		.flags = END_HEADERS },
	    { .op = OP_TICK, .at = 86400000 } } },
	{ "timeout: part of a frame header", {}, {
	    PREFACE,
	    { .op = OP_PART, .at = 1000, .type = PING, .len = 8, .a = 5 },
	    { .op = OP_TICK, .at = 10999 },
	    { .op = OP_TICK, .at = 11000,
		.expect = H2_GUARD_HEADER_TIMEOUT } } },
	{ "timeout: part of a PING's payload", {}, {
	    PREFACE,
	    { .op = OP_PART, .at = 1000, .type = PING, .len = 8, .a = 12 },
	    { .op = OP_TICK, .at = 11000,
		.expect = H2_GUARD_HEADER_TIMEOUT } } },
	{ "timeout: part of a DATA frame has connection-timeout", {}, {
	    PREFACE,
	    { .op = OP_PART, .at = 1000, .type = DATA, .len = 16384,
		.a = 1000 },
	    { .op = OP_TICK, .at = 60999 },
	    { .op = OP_TICK, .at = 61000,
		.expect = H2_GUARD_HEADER_TIMEOUT } } },
	{ "timeout: none when header-timeout is 0",
	    { .header_timeout = -1 }, {
	    { .op = OP_TICK, .at = 86400000 } } },

	/* Slow reads: output waiting without progress. */
	{ "slow read: blocked for connection-timeout", {}, {
	    PREFACE,
	    { .op = OP_OUTPUT, .at = 1000, .b = 1 },
	    { .op = OP_OUTPUT, .at = 30000, .b = 1 },
	    { .op = OP_TICK, .at = 60999 },
	    { .op = OP_TICK, .at = 61000, .expect = H2_GUARD_SLOW_READ } } },
	{ "slow read: a sent frame is progress", {}, {
	    PREFACE,
	    { .op = OP_OUTPUT, .at = 1000, .b = 1 },
	    { .op = OP_OUTPUT, .at = 50000, .a = 1, .b = 1 },
	    { .op = OP_OUTPUT, .at = 50001, .b = 1 },
	    { .op = OP_TICK, .at = 110000 },
	    { .op = OP_TICK, .at = 110001,
		.expect = H2_GUARD_SLOW_READ } } },
	{ "slow read: nothing waiting is no stall", {}, {
	    PREFACE,
	    { .op = OP_OUTPUT, .at = 1000, .b = 1 },
	    { .op = OP_OUTPUT, .at = 2000 },
	    { .op = OP_TICK, .at = 86400000 } } },
	{ "slow read: none when connection-timeout is 0",
	    { .stall_timeout = -1 }, {
	    PREFACE,
	    { .op = OP_OUTPUT, .at = 1000, .b = 1 },
	    { .op = OP_TICK, .at = 86400000 } } },

	/* A verdict is final. */
	{ "verdict: the first one stays", {}, {
	    PREFACE,
	    { .op = OP_FRAME, .at = 1, .n = 201, .type = RST, .len = 4,
		.expect = H2_GUARD_RAPID_RESET },
	    { .op = OP_FRAME, .at = 1, .n = 500, .type = PING, .len = 8,
		.expect = H2_GUARD_RAPID_RESET },
	    { .op = OP_OUTPUT, .at = 2, .b = 1,
		.expect = H2_GUARD_RAPID_RESET },
	    { .op = OP_TICK, .at = 86400000,
		.expect = H2_GUARD_RAPID_RESET } } },
};

struct buf {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* A frame of type, flags and len bytes (pad of them padding). */
static void
buf_frame(struct buf *b, uint8_t type, uint8_t flags, uint32_t len,
    size_t pad)
{
	uint8_t	hd[9] = { len >> 16, len >> 8, len, type, flags, 0, 0, 0,
	    type == PING || type == SETTINGS ? 0 : 1 };
	uint8_t	zero[256];

	buf_add(b, hd, sizeof(hd));
	memset(zero, 0, sizeof(zero));
	if (type == DATA && (flags & PADDED) && len > 0) {
		uint8_t	padlen = (uint8_t)pad;

		buf_add(b, &padlen, 1);
		len--;
	}
	while (len > 0) {
		uint32_t	n = len < sizeof(zero) ? len : sizeof(zero);

		buf_add(b, zero, n);
		len -= n;
	}
}

static void
run_step(struct h2_guard *g, const struct step *s, int64_t t,
    size_t *magic_off)
{
	struct buf	b = { 0 };

	switch (s->op) {
	case OP_END:
		break;
	case OP_PREFACE:
		buf_add(&b, magic, 24);
		buf_frame(&b, SETTINGS, 0, 0, 0);
		h2_guard_recv(g, t, b.p, b.len);
		break;
	case OP_MAGIC_BYTE:
		h2_guard_recv(g, t, (const uint8_t *)magic + *magic_off, 1);
		(*magic_off)++;
		break;
	case OP_FRAME:
		buf_frame(&b, s->type, s->flags, s->len, s->a);
		h2_guard_recv(g, t, b.p, b.len);
		break;
	case OP_PART:
		buf_frame(&b, s->type, s->flags, s->len, s->a);
		cr_assert_lt(s->a, b.len);
		h2_guard_recv(g, t, b.p, s->a);
		break;
	case OP_REQUEST:
		h2_guard_request_head(g);
		break;
	case OP_BEGIN:
		h2_guard_headers_begin(g);
		break;
	case OP_HEADER:
		h2_guard_header(g, s->a, s->b);
		break;
	case OP_RESET_SENT:
		h2_guard_reset_sent(g, t);
		break;
	case OP_OUTPUT:
		h2_guard_output(g, t, s->a, (int)s->b);
		break;
	case OP_TICK:
		h2_guard_tick(g, t);
		break;
	}
	free(b.p);
}

Test(h2_guard, scripts)
{
	size_t	i, k, magic_off;

	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		const struct script	*sc = &scripts[i];
		struct h2_guard_limits	 lim = defaults;
		struct h2_guard		*g;

		if (sc->lim.max_resets != 0)
			lim.max_resets = sc->lim.max_resets;
		if (sc->lim.max_header_list != 0)
			lim.max_header_list = sc->lim.max_header_list;
		if (sc->lim.header_timeout != 0)
			lim.header_timeout = sc->lim.header_timeout < 0 ? 0 :
			    sc->lim.header_timeout;
		if (sc->lim.stall_timeout != 0)
			lim.stall_timeout = sc->lim.stall_timeout < 0 ? 0 :
			    sc->lim.stall_timeout;
		g = h2_guard_new(&lim, 0);
		cr_assert_not_null(g);
		magic_off = 0;
		for (k = 0; k < STEPS_MAX; k++) {
			const struct step	*s = &sc->steps[k];
			unsigned int		 r, n = s->n ? s->n : 1;

			if (s->op == OP_END)
				break;
			for (r = 0; r < n; r++)
				run_step(g, s, s->at + (int64_t)r * s->every,
				    &magic_off);
			cr_expect_eq(h2_guard_verdict(g), s->expect,
			    "%s: step %zu: verdict %s, expected %s",
			    sc->name, k + 1,
			    h2_guard_reason_name(h2_guard_verdict(g)),
			    h2_guard_reason_name(s->expect));
		}
		h2_guard_free(g);
	}
}

/* The reader sees the same frames however the bytes are cut. */
Test(h2_guard, any_split_of_the_bytes)
{
	static const size_t	cuts[] = { 1, 2, 7, 9, 10, 17, 4096, 1 << 20 };
	struct buf		b = { 0 };
	size_t			c, off, n, i, total;

	for (total = 400; total <= 401; total++) {
		b.len = 0;
		buf_add(&b, magic, 24);
		buf_frame(&b, SETTINGS, 0, 12, 0);
		buf_frame(&b, HEADERS, END_HEADERS | END_STREAM, 300, 0);
		buf_frame(&b, DATA, 0, 1000, 0);
		for (i = 1; i < total; i++)	/* the SETTINGS was one */
			buf_frame(&b, PING, 0, 8, 0);
		for (c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
			struct h2_guard	*g = h2_guard_new(&defaults, 0);

			cr_assert_not_null(g);
			h2_guard_request_head(g);
			for (off = 0; off < b.len; off += n) {
				n = b.len - off < cuts[c] ? b.len - off :
				    cuts[c];
				h2_guard_recv(g, 1, b.p + off, n);
			}
			cr_expect_eq(h2_guard_verdict(g), total == 400 ?
			    H2_GUARD_NONE : H2_GUARD_CONTROL_FLOOD,
			    "%zu control frames cut every %zu bytes: %s",
			    total, cuts[c],
			    h2_guard_reason_name(h2_guard_verdict(g)));
			/* Whole frames only: nothing left half-read. */
			if (total == 400)
				cr_expect_eq(h2_guard_deadline(g), INT64_MAX);
			h2_guard_free(g);
		}
	}
	free(b.p);
}

/* When the event loop must call h2_guard_tick next. */
Test(h2_guard, deadline)
{
	struct h2_guard	*g;
	struct buf	 b = { 0 };

	g = h2_guard_new(&defaults, 500);
	cr_assert_not_null(g);
	cr_expect_eq(h2_guard_deadline(g), 10500, "preface: %lld",
	    (long long)h2_guard_deadline(g));
	buf_add(&b, magic, 24);
	buf_frame(&b, SETTINGS, 0, 0, 0);
	h2_guard_recv(g, 600, b.p, b.len);
	cr_expect_eq(h2_guard_deadline(g), 10500, "no request yet: %lld",
	    (long long)h2_guard_deadline(g));
	h2_guard_request_head(g);
	cr_expect_eq(h2_guard_deadline(g), INT64_MAX);
	b.len = 0;
	buf_frame(&b, HEADERS, 0, 20, 0);
	h2_guard_recv(g, 700, b.p, b.len);
	cr_expect_eq(h2_guard_deadline(g), 10700, "block: %lld",
	    (long long)h2_guard_deadline(g));
	b.len = 0;
	buf_frame(&b, CONT, END_HEADERS, 20, 0);
	h2_guard_recv(g, 800, b.p, 12);
	cr_expect_eq(h2_guard_deadline(g), 10700, "block still: %lld",
	    (long long)h2_guard_deadline(g));
	h2_guard_recv(g, 900, b.p + 12, b.len - 12);
	cr_expect_eq(h2_guard_deadline(g), INT64_MAX);
	h2_guard_output(g, 1000, 0, 1);
	cr_expect_eq(h2_guard_deadline(g), 61000, "stall: %lld",
	    (long long)h2_guard_deadline(g));
	b.len = 0;
	buf_frame(&b, DATA, 0, 100, 0);
	h2_guard_recv(g, 2000, b.p, 50);
	cr_expect_eq(h2_guard_deadline(g), 61000, "stall first: %lld",
	    (long long)h2_guard_deadline(g));
	h2_guard_output(g, 3000, 1, 0);
	cr_expect_eq(h2_guard_deadline(g), 62000, "DATA frame: %lld",
	    (long long)h2_guard_deadline(g));
	cr_expect_eq(h2_guard_tick(g, 62000), H2_GUARD_HEADER_TIMEOUT);
	cr_expect_eq(h2_guard_deadline(g), INT64_MAX, "after a verdict");
	h2_guard_free(g);
	free(b.p);
}

Test(h2_guard, reason_names_and_codes)
{
	static const struct {
		enum h2_guard_reason	 r;
		const char		*name;
		uint32_t		 code;
		const char		*code_name;
	} v[] = {
		{ H2_GUARD_NONE, "none", 0x0, "NO_ERROR" },
		{ H2_GUARD_RAPID_RESET, "rapid_reset", 0xb,
		    "ENHANCE_YOUR_CALM" },
		{ H2_GUARD_CONTROL_FLOOD, "control_flood", 0xb,
		    "ENHANCE_YOUR_CALM" },
		{ H2_GUARD_CONTINUATION_FLOOD, "continuation_flood", 0xb,
		    "ENHANCE_YOUR_CALM" },
		{ H2_GUARD_HEADER_LIST, "header_list", 0xb,
		    "ENHANCE_YOUR_CALM" },
		{ H2_GUARD_SLOW_READ, "slow_read", 0x3,
		    "FLOW_CONTROL_ERROR" },
		{ H2_GUARD_HEADER_TIMEOUT, "header_timeout", 0x1,
		    "PROTOCOL_ERROR" },
	};
	size_t	i;

	cr_assert_eq(sizeof(v) / sizeof(v[0]), H2_GUARD_NREASONS);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_expect_str_eq(h2_guard_reason_name(v[i].r), v[i].name);
		cr_expect_eq(h2_guard_reason_code(v[i].r), v[i].code);
		cr_expect_str_eq(h2_guard_code_name(v[i].code),
		    v[i].code_name);
	}
	cr_expect_str_eq(h2_guard_code_name(0xd), "HTTP_1_1_REQUIRED");
	cr_expect_str_eq(h2_guard_code_name(0xe), "UNKNOWN");
	cr_expect_str_eq(h2_guard_reason_name(H2_GUARD_NREASONS), "unknown");
}
