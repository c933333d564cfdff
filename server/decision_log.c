/*
 * decision_log.c - the asynchronous, batched writer of the decision log
 * (decision_log.h).
 *
 * Two byte buffers: request threads append formatted entries to the
 * filling one under the lock; the writer swaps them and writes the full
 * one without the lock, so requests never wait for the database.  Each
 * entry in a buffer is a struct dl_rec followed by its JSON text.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "decision_log.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define DL_QUEUE_BYTES_DEFAULT	(4 * 1024 * 1024)
#define DL_FLUSH_MS_DEFAULT	1000
#define DL_STACK_TEXT		4096
#define DL_RETRIES		3

/*
 * A queued record: this header, the entry's text and its NUL, then the
 * indexed columns principal, action and decision, each NUL-terminated
 * (cols bytes in all).
 */
struct dl_rec {
	int64_t		time;
	int64_t		found;		/* list counters, summed */
	int64_t		hidden;
	uint32_t	len;		/* text bytes, without the NUL */
	uint32_t	cols;		/* column bytes after the text */
	uint32_t	count;		/* entries it stands for */
	uint32_t	hash;		/* of the key, coalescable records */
	uint32_t	key_off;	/* the key: text from here on */
	uint8_t		coalesce;
	uint8_t		list;
};

/* Records are 8-byte aligned. */
#define DL_ALIGN(n)	(((n) + 7) & ~(size_t)7)
#define DL_REC_SIZE(len, cols) \
	DL_ALIGN(sizeof(struct dl_rec) + (len) + 1 + (cols))

/* Coalescable records of a buffer, by key hash (offset + 1; 0: free). */
#define DL_SLOTS	4096

struct dl_buf {
	char		*p;
	size_t		 len;
	size_t		 count;		/* records */
	uint64_t	 entries;	/* entries they stand for */
	uint32_t	 slots[DL_SLOTS];
	size_t		 nslots;
};

struct decision_log {
	struct store		*store;
	size_t			 cap;
	int64_t			 flush_ms;

	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* the writer waits here */
	pthread_cond_t		 done;		/* flushers wait here */
	struct dl_buf		 bufs[2];
	struct dl_buf		*fill;
	int64_t			 first_mono_ms;	/* oldest entry of fill */
	uint64_t		 seq;		/* entries queued so far */
	uint64_t		 written_seq;	/* entries handled so far */
	int			 flush_wanted;
	int			 stopping;
	int			 writer_done;	/* no more writes */
	struct decision_log_stats st;
	int64_t			 last_drop_log;	/* ms */
	/* The writer's state, read by /readyz (lock held). */
	int			 failing;	/* last batch lost */
	char			 fail_reason[160];
	int64_t			 last_fail_log;	/* ms */
	uint64_t		 failed_unlogged;
	uint64_t		 failed_outage;	/* since failing began */

	pthread_t		 thread;
	int			 running;
};

/* A formatting buffer that counts what it could not hold (snprintf). */
struct dl_out {
	char	*p;
	size_t	 cap;
	size_t	 len;
};

static void
dl_raw(struct dl_out *o, const char *s, size_t n)
{
	if (o->len < o->cap) {
		size_t	room = o->cap - o->len;

		memcpy(o->p + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void
dl_lit(struct dl_out *o, const char *s)
{
	dl_raw(o, s, strlen(s));
}

/* The length of the UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
dl_utf8_len(const unsigned char *s, size_t n)
{
	size_t		need, i;
	uint32_t	cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

/*
 * A JSON string (NULL: null).  Invalid UTF-8 becomes U+FFFD so the
 * entry always parses.
 */
static void
dl_str(struct dl_out *o, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s, *run;
	char			 esc[8];
	size_t			 n, k;

	if (s == NULL) {
		dl_lit(o, "null");
		return;
	}
	dl_raw(o, "\"", 1);
	n = strlen(s);
	run = p;
	while (n > 0) {
		if (*p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80) {
			p++;
			n--;
			continue;
		}
		if (*p >= 0x80 && (k = dl_utf8_len(p, n)) != 0) {
			p += k;
			n -= k;
			continue;
		}
		dl_raw(o, (const char *)run, (size_t)(p - run));
		if (*p == '"')
			dl_raw(o, "\\\"", 2);
		else if (*p == '\\')
			dl_raw(o, "\\\\", 2);
		else if (*p == '\n')
			dl_raw(o, "\\n", 2);
		else if (*p == '\t')
			dl_raw(o, "\\t", 2);
		else if (*p < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			dl_raw(o, esc, 6);
		} else
			dl_raw(o, "\\ufffd", 6);
		p++;
		n--;
		run = p;
	}
	dl_raw(o, (const char *)run, (size_t)(p - run));
	dl_raw(o, "\"", 1);
}

static void
dl_int(struct dl_out *o, int64_t v)
{
	char		 buf[24];
	size_t		 i = sizeof(buf);
	uint64_t	 u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[--i] = '-';
	dl_raw(o, buf + i, sizeof(buf) - i);
}

static size_t
dl_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The decision object, as policy_decision_json() renders it. */
static void
dl_decision(struct dl_out *o, const struct decision_log_entry *e)
{
	const struct policy_decision	*d = e->decision;
	size_t				 i, n;

	if (e->bypass) {
		dl_lit(o, "{\"decision\":\"allow\",\"reasons\":[\"admin\"],"
		    "\"errors\":[],\"audit\":[],\"bypass\":true}");
		return;
	}
	if (d == NULL) {
		dl_lit(o, "null");
		return;
	}
	dl_lit(o, d->allow ? "{\"decision\":\"allow\",\"reasons\":[" :
	    "{\"decision\":\"deny\",\"reasons\":[");
	n = dl_min(d->n_reasons, POLICY_DECISION_ITEMS);
	for (i = 0; i < n; i++) {
		if (i > 0)
			dl_raw(o, ",", 1);
		dl_str(o, d->reasons[i]);
	}
	dl_lit(o, "],\"errors\":[");
	n = dl_min(d->n_errors, POLICY_DECISION_ITEMS);
	for (i = 0; i < n; i++) {
		dl_lit(o, i > 0 ? ",{\"policy\":" : "{\"policy\":");
		dl_str(o, d->errors[i].policy != NULL ? d->errors[i].policy :
		    "");
		dl_lit(o, ",\"message\":");
		dl_str(o, d->errors[i].message);
		dl_raw(o, "}", 1);
	}
	dl_lit(o, "],\"audit\":[");
	n = dl_min(d->n_audit, POLICY_DECISION_ITEMS);
	for (i = 0; i < n; i++) {
		dl_lit(o, i > 0 ? ",{\"policy\":" : "{\"policy\":");
		dl_str(o, d->audit[i].policy);
		dl_lit(o, d->audit[i].forbid ? ",\"effect\":\"forbid\"" :
		    ",\"effect\":\"permit\"");
		dl_lit(o, d->audit[i].matched ? ",\"matched\":true}" :
		    ",\"matched\":false}");
	}
	dl_lit(o, "]}");
}

size_t
decision_log_format(const struct decision_log_entry *e, char *buf,
    size_t cap)
{
	struct dl_out	o;
	char		ts[UTIL_RFC3339_MAX];

	o.p = buf;
	o.cap = cap > 0 ? cap - 1 : 0;
	o.len = 0;
	dl_lit(&o, "{\"time\":");
	dl_str(&o, util_rfc3339_format(e->time, ts, sizeof(ts)));
	dl_lit(&o, ",\"principal\":");
	dl_str(&o, e->principal);
	if (e->origin != NULL) {
		dl_lit(&o, ",\"origin\":");
		dl_str(&o, e->origin);
	}
	dl_lit(&o, ",\"action\":");
	dl_str(&o, e->action);
	dl_lit(&o, ",\"service\":");
	dl_str(&o, e->service);
	dl_lit(&o, ",\"endpoint\":");
	dl_str(&o, e->endpoint);
	dl_lit(&o, ",\"grant\":");
	dl_str(&o, e->grant);
	if (e->protocol != NULL) {
		dl_lit(&o, ",\"protocol\":");
		dl_str(&o, e->protocol);
	}
	dl_lit(&o, ",\"decision\":");
	dl_decision(&o, e);
	if (e->list) {
		dl_lit(&o, ",\"list\":{\"found\":");
		dl_int(&o, e->list_found);
		dl_lit(&o, ",\"hidden\":");
		dl_int(&o, e->list_hidden);
		dl_raw(&o, "}", 1);
	}
	dl_raw(&o, "}", 1);
	if (cap > 0)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}

static int64_t
dl_mono_ms(void)
{
	return util_mono_us() / 1000;
}

/* Log drops at most once a second: the log must not flood either. */
static void
dl_note_drop(struct decision_log *l)
{
	int64_t	now = dl_mono_ms();

	l->st.dropped++;
	if (now - l->last_drop_log >= 1000) {
		l->last_drop_log = now;
		log_warnx("msg=\"decision log queue full, entries dropped\" "
		    "dropped_total=%llu", (unsigned long long)l->st.dropped);
	}
}

static uint32_t
dl_hash(const char *s, size_t n)
{
	uint32_t	h = 2166136261U;

	while (n-- > 0) {
		h ^= (unsigned char)*s++;
		h *= 16777619U;
	}
	return h != 0 ? h : 1;
}

/*
 * The queued twin of a coalescable record (lock held), or NULL; *slot
 * gets the slot where a new record would go (SIZE_MAX: table full).
 */
static struct dl_rec *
dl_twin(struct dl_buf *b, const struct dl_rec *rec, const char *text,
    size_t *slot)
{
	struct dl_rec	*t;
	size_t		 i, k;

	*slot = SIZE_MAX;
	for (k = 0; k < DL_SLOTS; k++) {
		i = (rec->hash + k) & (DL_SLOTS - 1);
		if (b->slots[i] == 0) {
			if (b->nslots < DL_SLOTS / 2)
				*slot = i;
			return NULL;
		}
		t = (struct dl_rec *)(void *)(b->p + b->slots[i] - 1);
		if (t->hash == rec->hash && t->list == rec->list &&
		    t->len - t->key_off ==
		    rec->len - rec->key_off && memcmp((char *)(t + 1) +
		    t->key_off, text + rec->key_off, rec->len - rec->key_off) ==
		    0)
			return t;
	}
	return NULL;
}

int
decision_log_add(struct decision_log *l, const struct decision_log_entry *e)
{
	struct decision_log_entry	 k;
	struct dl_rec			 rec;
	struct dl_rec			*twin;
	const char			*comma, *cols[3];
	char				 stack[DL_STACK_TEXT], *text = stack;
	char				*dst;
	size_t				 n, need, slot = SIZE_MAX, clen[3], i;
	int				 rc = -1;

	/*
	 * A coalescable entry's text leaves its list counters to the header
	 * (they are summed, then written at flush time).
	 */
	k = *e;
	if (e->coalesce)
		k.list = 0;
	n = decision_log_format(&k, stack, sizeof(stack));
	if (n >= sizeof(stack)) {
		if ((text = malloc(n + 1)) == NULL) {
			text = stack;
			pthread_mutex_lock(&l->lock);
			dl_note_drop(l);
			pthread_mutex_unlock(&l->lock);
			return -1;
		}
		n = decision_log_format(&k, text, n + 1);
	}
	memset(&rec, 0, sizeof(rec));
	rec.time = e->time;
	rec.len = (uint32_t)n;
	rec.count = 1;
	rec.found = e->list_found;
	rec.hidden = e->list_hidden;
	rec.list = e->coalesce && e->list != 0;
	if (e->coalesce && (comma = memchr(text, ',', n)) != NULL) {
		/* The key is everything after the time. */
		rec.coalesce = 1;
		rec.key_off = (uint32_t)(comma - text);
		rec.hash = dl_hash(comma, n - rec.key_off) ^ rec.list;
	}
	cols[0] = e->principal != NULL ? e->principal : "";
	cols[1] = e->action != NULL ? e->action : "";
	cols[2] = e->bypass || (e->decision != NULL && e->decision->allow) ?
	    "allow" : "deny";
	for (i = 0; i < 3; i++) {
		clen[i] = strlen(cols[i]) + 1;
		rec.cols += (uint32_t)clen[i];
	}
	need = DL_REC_SIZE(n, rec.cols);
	pthread_mutex_lock(&l->lock);
	if (l->writer_done) {
		dl_note_drop(l);
		goto out;
	}
	if (rec.coalesce &&
	    (twin = dl_twin(l->fill, &rec, text, &slot)) != NULL) {
		twin->count++;
		twin->found += rec.found;
		twin->hidden += rec.hidden;
		if (rec.time < twin->time)
			twin->time = rec.time;
		l->fill->entries++;
		l->st.coalesced++;
	} else if (l->fill->len + need > l->cap) {
		dl_note_drop(l);
		goto out;
	} else {
		if (slot != SIZE_MAX) {
			l->fill->slots[slot] = (uint32_t)l->fill->len + 1;
			l->fill->nslots++;
		}
		dst = l->fill->p + l->fill->len;
		memcpy(dst, &rec, sizeof(rec));
		dst += sizeof(rec);
		memcpy(dst, text, n + 1);
		dst += n + 1;
		for (i = 0; i < 3; i++) {
			memcpy(dst, cols[i], clen[i]);
			dst += clen[i];
		}
		l->fill->len += need;
		l->fill->entries++;
		if (l->fill->count++ == 0) {
			l->first_mono_ms = dl_mono_ms();
			pthread_cond_signal(&l->wake);
		} else if (l->fill->count == DECISION_LOG_BATCH)
			pthread_cond_signal(&l->wake);
	}
	l->seq++;
	l->st.queued++;
	rc = 0;
out:
	pthread_mutex_unlock(&l->lock);
	if (text != stack)
		free(text);
	return rc;
}

/*
 * A batch lost to the store (a full disk): remembered for /readyz, and
 * logged at most once every ten seconds with what was lost since.
 */
static void
dl_note_failure(struct decision_log *l, size_t n, const struct nsreg_error
    *err)
{
	int64_t		now = util_now_ms();
	uint64_t	lost;

	pthread_mutex_lock(&l->lock);
	l->failing = 1;
	snprintf(l->fail_reason, sizeof(l->fail_reason), "%s",
	    err->message);
	l->failed_unlogged += n;
	l->failed_outage += n;
	lost = 0;
	if (now - l->last_fail_log >= 10000) {
		l->last_fail_log = now;
		lost = l->failed_unlogged;
		l->failed_unlogged = 0;
	}
	pthread_mutex_unlock(&l->lock);
	if (lost > 0)
		log_warnx("msg=\"decision log write failed, decisions "
		    "dropped\" dropped=%llu error=%s detail=\"%s\"",
		    (unsigned long long)lost, nsreg_code_name(err->code),
		    err->message);
}

/* The store took a batch again: ready, and say so once. */
static void
dl_note_success(struct decision_log *l)
{
	uint64_t	lost;
	int		was;

	pthread_mutex_lock(&l->lock);
	was = l->failing;
	lost = l->failed_outage;
	l->failing = 0;
	l->failed_outage = l->failed_unlogged = 0;
	pthread_mutex_unlock(&l->lock);
	/* Said again now: the log itself may have been unwritable. */
	if (was)
		log_warnx("msg=\"decision log writes again\" "
		    "dropped_while_failing=%llu", (unsigned long long)lost);
}

int
decision_log_healthy(struct decision_log *l, char *why, size_t len)
{
	int	ok;

	pthread_mutex_lock(&l->lock);
	ok = !l->failing;
	if (!ok && why != NULL)
		snprintf(why, len, "%s", l->fail_reason);
	pthread_mutex_unlock(&l->lock);
	return ok;
}

/* Append entries [0, n) of v, retrying a busy database a few times. */
static int
dl_append(struct decision_log *l, const struct store_decision *v, size_t n)
{
	struct nsreg_error	err;
	int			attempt;

	for (attempt = 0; attempt < DL_RETRIES; attempt++) {
		nsreg_error_clear(&err);
		if (store_decision_append(l->store, v, n, &err) == 0) {
			dl_note_success(l);
			return 0;
		}
		if (err.code != NSREG_UNAVAILABLE)
			break;
		usleep(50 * 1000);
	}
	dl_note_failure(l, n, &err);
	return -1;
}

/* What the writer did with one buffer. */
struct dl_result {
	uint64_t	written;	/* entries */
	uint64_t	failed;
	uint64_t	rows;
	uint64_t	batches;
};

/* Append v[0, n) (standing for counts[0, n) entries) and release them. */
static void
dl_flush_chunk(struct decision_log *l, struct store_decision *v,
    const uint32_t *counts, char **owned, size_t n, struct dl_result *r)
{
	uint64_t	entries = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		entries += counts[i];
	r->batches++;
	if (dl_append(l, v, n) == 0) {
		r->written += entries;
		r->rows += n;
	} else
		r->failed += entries;
	for (i = 0; i < n; i++) {
		free(owned[i]);
		owned[i] = NULL;
	}
}

/*
 * The stored text of a record: its own, or for a folded one its text with
 * the earliest time, "count" and the summed "list" spliced in (a new
 * string in *owned).  NULL when memory runs out.
 */
static const char *
dl_text(const struct dl_rec *rec, const char *text, size_t *len,
    char **owned)
{
	char	ts[UTIL_RFC3339_MAX], *out;
	size_t	cap;
	int	n;

	*owned = NULL;
	*len = rec->len;
	if (!rec->coalesce || (rec->count == 1 && !rec->list))
		return text;
	/* text is {"time":"...",<key>} and the key starts at key_off. */
	cap = rec->len + 160;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	n = snprintf(out, cap, "{\"time\":\"%s\"%.*s",
	    util_rfc3339_format(rec->time, ts, sizeof(ts)),
	    (int)(rec->len - rec->key_off - 1), text + rec->key_off);
	if (rec->count > 1)
		n += snprintf(out + n, cap - n, ",\"count\":%u", rec->count);
	if (rec->list)
		n += snprintf(out + n, cap - n,
		    ",\"list\":{\"found\":%lld,\"hidden\":%lld}",
		    (long long)rec->found, (long long)rec->hidden);
	n += snprintf(out + n, cap - n, "}");
	*owned = out;
	*len = (size_t)n;
	return out;
}

/* Write one swapped-out buffer, chunk by chunk, never parsing JSON. */
static void
dl_write(struct decision_log *l, struct dl_buf *b, struct dl_result *r)
{
	struct store_decision	 v[DECISION_LOG_CHUNK];
	uint32_t		 counts[DECISION_LOG_CHUNK];
	char			*owned[DECISION_LOG_CHUNK];
	const struct dl_rec	*rec;
	const char		*text, *col;
	size_t			 off = 0, n = 0, len;

	memset(owned, 0, sizeof(owned));
	while (off < b->len) {
		rec = (const struct dl_rec *)(const void *)(b->p + off);
		text = b->p + off + sizeof(*rec);
		off += DL_REC_SIZE(rec->len, rec->cols);
		memset(&v[n], 0, sizeof(v[n]));
		if ((v[n].text = dl_text(rec, text, &len, &owned[n])) ==
		    NULL) {
			r->failed += rec->count;
			continue;
		}
		v[n].len = len;
		col = text + rec->len + 1;
		v[n].principal = col[0] != '\0' ? col : NULL;
		col += strlen(col) + 1;
		v[n].action = col;
		col += strlen(col) + 1;
		v[n].decision = col;
		v[n].time = rec->time;
		counts[n] = rec->count;
		if (++n == DECISION_LOG_CHUNK) {
			dl_flush_chunk(l, v, counts, owned, n, r);
			n = 0;
		}
	}
	if (n > 0)
		dl_flush_chunk(l, v, counts, owned, n, r);
	b->len = 0;
	b->count = 0;
	b->entries = 0;
	if (b->nslots > 0) {
		memset(b->slots, 0, sizeof(b->slots));
		b->nslots = 0;
	}
}

static void
dl_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
dl_writer(void *arg)
{
	struct decision_log	*l = arg;
	struct dl_buf		*full;
	struct dl_result	 r;
	struct timespec		 ts;
	uint64_t		 entries;
	int64_t			 wait;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (!l->stopping && !l->flush_wanted && l->fill->count == 0)
			pthread_cond_wait(&l->wake, &l->lock);
		/* Let a batch gather, unless asked to hurry. */
		while (!l->stopping && !l->flush_wanted &&
		    l->fill->count > 0 && l->fill->count < DECISION_LOG_BATCH &&
		    (wait = l->first_mono_ms + l->flush_ms - dl_mono_ms()) > 0) {
			dl_deadline(&ts, wait);
			pthread_cond_timedwait(&l->wake, &l->lock, &ts);
		}
		l->flush_wanted = 0;
		if (l->fill->count == 0) {
			pthread_cond_broadcast(&l->done);
			if (l->stopping) {
				l->writer_done = 1;
				break;
			}
			continue;
		}
		full = l->fill;
		l->fill = full == &l->bufs[0] ? &l->bufs[1] : &l->bufs[0];
		entries = full->entries;
		pthread_mutex_unlock(&l->lock);

		memset(&r, 0, sizeof(r));
		dl_write(l, full, &r);

		pthread_mutex_lock(&l->lock);
		l->written_seq += entries;
		l->st.written += r.written;
		l->st.failed += r.failed;
		l->st.rows += r.rows;
		l->st.batches += r.batches;
		pthread_cond_broadcast(&l->done);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

struct decision_log *
decision_log_new(struct store *store, const struct decision_log_options *opt,
    struct nsreg_error *err)
{
	struct decision_log	*l;
	pthread_condattr_t	 ca;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto oom;
	l->store = store;
	l->cap = opt != NULL && opt->queue_bytes != 0 ? opt->queue_bytes :
	    DL_QUEUE_BYTES_DEFAULT;
	l->flush_ms = opt != NULL && opt->flush_ms > 0 ? opt->flush_ms :
	    DL_FLUSH_MS_DEFAULT;
	if ((l->bufs[0].p = malloc(l->cap)) == NULL ||
	    (l->bufs[1].p = malloc(l->cap)) == NULL) {
		free(l->bufs[0].p);
		free(l);
		goto oom;
	}
	l->fill = &l->bufs[0];
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->wake, &ca);
	pthread_cond_init(&l->done, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&l->thread, NULL, dl_writer, l) != 0) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "cannot start the decision log writer: %s",
		    strerror(errno));
		l->running = 0;
		decision_log_free(l);
		return NULL;
	}
	l->running = 1;
	return l;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
	return NULL;
}

int
decision_log_flush(struct decision_log *l, int64_t timeout_ms)
{
	struct timespec	ts;
	uint64_t	target;
	int		rc = 0;

	dl_deadline(&ts, timeout_ms);
	pthread_mutex_lock(&l->lock);
	target = l->seq;
	if (l->written_seq < target) {
		l->flush_wanted = 1;
		pthread_cond_signal(&l->wake);
	}
	while (l->written_seq < target && rc == 0)
		if (pthread_cond_timedwait(&l->done, &l->lock, &ts) ==
		    ETIMEDOUT && l->written_seq < target)
			rc = -1;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void
decision_log_stats(struct decision_log *l, struct decision_log_stats *st)
{
	pthread_mutex_lock(&l->lock);
	*st = l->st;
	pthread_mutex_unlock(&l->lock);
}

void
decision_log_free(struct decision_log *l)
{
	if (l == NULL)
		return;
	if (l->running) {
		pthread_mutex_lock(&l->lock);
		l->stopping = 1;
		pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
		l->running = 0;
	}
	pthread_cond_destroy(&l->done);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l->bufs[0].p);
	free(l->bufs[1].p);
	free(l);
}
