/*
 * cel_strings.c - the strings extension (cel-go's ext.Strings): charAt,
 * indexOf, lastIndexOf, lowerAscii, upperAscii, replace, split,
 * substring, trim, join, reverse, strings.quote and format.  Indices
 * count code points, as size() does.  Results that are slices of the
 * receiver (substring, split, trim, charAt) are not copied; the others
 * are built in the evaluation's arena.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel_ast.h"

static struct cel_value
no_overload(const struct cel_node *n)
{
	return cel_err_at(n, "no such overload");
}

/* An error whose message is formatted into the arena. */
static struct cel_value
err_msg(struct cel_ctx *c, const struct cel_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static struct cel_value
err_msg(struct cel_ctx *c, const struct cel_node *n, const char *fmt, ...)
{
	char buf[192], *p;
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	len = strlen(buf);
	p = cel_arena_alloc(c->arena, len + 1);
	if (p == NULL)
		return cel_err_at(n, "out of memory");
	memcpy(p, buf, len + 1);
	return cel_err_at(n, p);
}

/* Byte offset of code point i of s (n when i is past the end). */
static size_t
cp_offset(const char *s, size_t n, int64_t i)
{
	size_t b;

	for (b = 0; b < n && i > 0; i--) {
		b++;
		while (b < n && ((unsigned char)s[b] & 0xC0) == 0x80)
			b++;
	}
	return b;
}

static size_t
str_len(const struct cel_value *v)
{
	return (size_t)v->aux;
}

/* ------------------------------------------------------------ slices */

struct cel_value
cel_fn_char_at(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	size_t len, b, e;

	(void)argc;
	if (v[0].kind != CEL_STRING || v[1].kind != CEL_INT)
		return no_overload(n);
	c->cost += str_len(&v[0]) / 16;
	len = cel_utf8_count(v[0].s, str_len(&v[0]));
	if (v[1].i < 0 || (uint64_t)v[1].i > len)
		return err_msg(c, n, "index out of range: %lld",
		    (long long)v[1].i);
	b = cp_offset(v[0].s, str_len(&v[0]), v[1].i);
	e = cp_offset(v[0].s, str_len(&v[0]), v[1].i + 1);
	return cel_string(v[0].s + b, e - b);
}

struct cel_value
cel_fn_substring(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	int64_t start, end, len;
	size_t b, e;

	if (v[0].kind != CEL_STRING || v[1].kind != CEL_INT ||
	    (argc == 3 && v[2].kind != CEL_INT))
		return no_overload(n);
	c->cost += str_len(&v[0]) / 16;
	len = (int64_t)cel_utf8_count(v[0].s, str_len(&v[0]));
	start = v[1].i;
	end = argc == 3 ? v[2].i : len;
	if (argc == 3 && start > end)
		return err_msg(c, n, "invalid substring range. start: %lld, "
		    "end: %lld", (long long)start, (long long)end);
	if (start < 0 || start > len)
		return err_msg(c, n, "index out of range: %lld",
		    (long long)start);
	if (end < 0 || end > len)
		return err_msg(c, n, "index out of range: %lld",
		    (long long)end);
	b = cp_offset(v[0].s, str_len(&v[0]), start);
	e = b + cp_offset(v[0].s + b, str_len(&v[0]) - b, end - start);
	return cel_string(v[0].s + b, e - b);
}

/* Go's unicode.IsSpace. */
static int
is_space(uint32_t cp)
{
	switch (cp) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return 1;
	default:
		return cp >= 0x2000 && cp <= 0x200A;
	}
}

struct cel_value
cel_fn_trim(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	const char *s = v[0].s;
	size_t b = 0, e, k;
	uint32_t cp;

	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	e = str_len(&v[0]);
	c->cost += e / 16;
	while (b < e) {
		k = cel_utf8_decode(s + b, e - b, &cp);
		if (!is_space(cp))
			break;
		b += k;
	}
	while (e > b) {
		size_t p = e - 1;

		while (p > b && ((unsigned char)s[p] & 0xC0) == 0x80)
			p--;
		cel_utf8_decode(s + p, e - p, &cp);
		if (!is_space(cp))
			break;
		e = p;
	}
	return cel_string(s + b, e - b);
}

/* ------------------------------------------------------------ search */

/* First byte offset >= from where t occurs in s, or -1. */
static int64_t
find(const char *s, size_t n, const char *t, size_t m, size_t from)
{
	size_t i;

	for (i = from; i + m <= n; i++)
		if (memcmp(s + i, t, m) == 0)
			return (int64_t)i;
	return -1;
}

struct cel_value
cel_fn_index_of(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	int64_t off = 0, len, at;
	size_t b;

	if (v[0].kind != CEL_STRING || v[1].kind != CEL_STRING ||
	    (argc == 3 && v[2].kind != CEL_INT))
		return no_overload(n);
	c->cost += str_len(&v[0]) / 16;
	len = (int64_t)cel_utf8_count(v[0].s, str_len(&v[0]));
	if (argc == 3)
		off = v[2].i;
	if (off < 0 || off > len)
		return err_msg(c, n, "index out of range: %lld",
		    (long long)off);
	if (v[1].aux == 0)
		return cel_int(off);
	b = cp_offset(v[0].s, str_len(&v[0]), off);
	at = find(v[0].s, str_len(&v[0]), v[1].s, str_len(&v[1]), b);
	if (at < 0)
		return cel_int(-1);
	return cel_int(off + (int64_t)cel_utf8_count(v[0].s + b,
	    (size_t)at - b));
}

struct cel_value
cel_fn_last_index_of(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	int64_t off, len, m;
	size_t b;

	if (v[0].kind != CEL_STRING || v[1].kind != CEL_STRING ||
	    (argc == 3 && v[2].kind != CEL_INT))
		return no_overload(n);
	c->cost += str_len(&v[0]) / 16;
	len = (int64_t)cel_utf8_count(v[0].s, str_len(&v[0]));
	off = argc == 3 ? v[2].i : len;
	if (off < 0 || off > len)
		return err_msg(c, n, "index out of range: %lld",
		    (long long)off);
	if (v[1].aux == 0)
		return cel_int(off);
	m = (int64_t)cel_utf8_count(v[1].s, str_len(&v[1]));
	if (off > len - m)
		off = len - m;
	if (off < 0)
		return cel_int(-1);
	b = cp_offset(v[0].s, str_len(&v[0]), off);
	for (;;) {
		if (b + str_len(&v[1]) <= str_len(&v[0]) &&
		    memcmp(v[0].s + b, v[1].s, str_len(&v[1])) == 0)
			return cel_int(off);
		if (b == 0)
			break;
		b--;
		while (b > 0 && ((unsigned char)v[0].s[b] & 0xC0) == 0x80)
			b--;
		off--;
	}
	return cel_int(-1);
}

/* ------------------------------------------------------------ building */

/* A string under construction, malloc'ed, copied to the arena at the end. */
struct sbuf {
	char	*s;
	size_t	 n;
	size_t	 cap;
	int	 failed;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *t;

		while (cap < b->n + n)
			cap *= 2;
		if (cap > CEL_ARENA_MAX) {
			b->failed = 1;
			return;
		}
		t = realloc(b->s, cap);
		if (t == NULL) {
			b->failed = 1;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->s + b->n, s, n);
	b->n += n;
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* The finished string as a value in the arena; frees the buffer. */
static struct cel_value
sb_finish(struct cel_ctx *c, const struct cel_node *n, struct sbuf *b)
{
	struct cel_value r;

	if (b->failed)
		r = cel_err_at(n, "string too long");
	else {
		c->cost += b->n / 16;
		r = cel_arena_string(c, CEL_STRING, b->s != NULL ? b->s : "",
		    b->n);
		if (r.kind == CEL_ERROR)
			r = cel_err_at(n, r.err);
	}
	free(b->s);
	b->s = NULL;
	return r;
}

static struct cel_value
ascii_case(struct cel_ctx *c, const struct cel_node *n,
    const struct cel_value *v, int upper)
{
	struct cel_value r;
	char *p;
	size_t i;

	if (v->kind != CEL_STRING)
		return no_overload(n);
	r = cel_arena_string(c, CEL_STRING, v->s, str_len(v));
	if (r.kind == CEL_ERROR)
		return cel_err_at(n, r.err);
	c->cost += str_len(v) / 16;
	p = (char *)(uintptr_t)r.s;
	for (i = 0; i < str_len(v); i++) {
		if (upper && p[i] >= 'a' && p[i] <= 'z')
			p[i] = (char)(p[i] - 'a' + 'A');
		else if (!upper && p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (char)(p[i] - 'A' + 'a');
	}
	return r;
}

struct cel_value
cel_fn_lower_ascii(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)argc;
	return ascii_case(c, n, &v[0], 0);
}

struct cel_value
cel_fn_upper_ascii(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)argc;
	return ascii_case(c, n, &v[0], 1);
}

struct cel_value
cel_fn_reverse(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	struct cel_value r;
	char *p;
	size_t len, i = 0;

	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	len = str_len(&v[0]);
	r = cel_arena_string(c, CEL_STRING, v[0].s, len);
	if (r.kind == CEL_ERROR)
		return cel_err_at(n, r.err);
	c->cost += len / 16;
	p = (char *)(uintptr_t)r.s;
	while (i < len) {
		size_t k = 1;

		while (i + k < len && ((unsigned char)v[0].s[i + k] &
		    0xC0) == 0x80)
			k++;
		memcpy(p + len - i - k, v[0].s + i, k);
		i += k;
	}
	return r;
}

/* Go's strings.Replace: at most limit replacements, all when negative. */
struct cel_value
cel_fn_replace(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	const char *s = v[0].s;
	size_t len, olen, start = 0;
	int64_t limit = -1, done;

	if (v[0].kind != CEL_STRING || v[1].kind != CEL_STRING ||
	    v[2].kind != CEL_STRING || (argc == 4 && v[3].kind != CEL_INT))
		return no_overload(n);
	if (argc == 4)
		limit = v[3].i;
	len = str_len(&v[0]);
	olen = str_len(&v[1]);
	c->cost += len / 16;
	if (limit == 0 || (olen == str_len(&v[2]) &&
	    memcmp(v[1].s, v[2].s, olen) == 0))
		return v[0];
	for (done = 0; limit < 0 || done < limit; done++) {
		size_t j;

		if (olen == 0) {
			/* Before the first code point and after each. */
			j = start;
			if (done > 0) {
				if (start >= len)
					break;
				j = start + cp_offset(s + start, len - start,
				    1);
			}
		} else {
			int64_t at = find(s, len, v[1].s, olen, start);

			if (at < 0)
				break;
			j = (size_t)at;
		}
		sb_put(&b, s + start, j - start);
		sb_put(&b, v[2].s, str_len(&v[2]));
		start = j + olen;
	}
	if (done == 0)
		return v[0];
	sb_put(&b, s + start, len - start);
	return sb_finish(c, n, &b);
}

/* Go's strings.SplitN: at most limit parts, all when negative. */
struct cel_value
cel_fn_split(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	const char *s = v[0].s;
	size_t len, slen, start = 0, cap, k;
	int64_t limit = -1;
	struct cel_list *l;
	struct cel_value r = { .kind = CEL_LIST };

	if (v[0].kind != CEL_STRING || v[1].kind != CEL_STRING ||
	    (argc == 3 && v[2].kind != CEL_INT))
		return no_overload(n);
	if (argc == 3)
		limit = v[2].i;
	len = str_len(&v[0]);
	slen = str_len(&v[1]);
	c->cost += len / 16;
	cap = slen == 0 ? cel_utf8_count(s, len) : len / slen + 1;
	if (limit >= 0 && (uint64_t)limit < cap)
		cap = (size_t)limit;
	l = cel_arena_alloc(c->arena, sizeof(*l) + (cap + 1) *
	    sizeof(l->v[0]));
	if (l == NULL)
		return cel_err_at(n, "out of memory");
	l->n = 0;
	while (l->n < cap) {
		if (l->n + 1 == cap && limit >= 0) {
			k = len;	/* the last part holds the rest */
		} else if (slen == 0) {
			k = start + cp_offset(s + start, len - start, 1);
		} else {
			int64_t at = find(s, len, v[1].s, slen, start);

			k = at < 0 ? len : (size_t)at;
		}
		l->v[l->n++] = cel_string(s + start, k - start);
		if (k >= len)
			break;
		start = k + slen;
		if (slen > 0 && start == len && l->n < cap) {
			l->v[l->n++] = cel_string(s + len, 0);
			break;
		}
	}
	if (len == 0 && slen == 0)
		l->n = 0;
	c->cost += l->n;
	r.list = l;
	return r;
}

struct cel_value
cel_fn_join(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	size_t i, sz;

	if (v[0].kind != CEL_LIST || (argc == 2 && v[1].kind != CEL_STRING))
		return no_overload(n);
	sz = cel_list_size(&v[0]);
	for (i = 0; i < sz; i++) {
		struct cel_value e = cel_list_at(&v[0], i, c->arena);

		if (e.kind != CEL_STRING) {
			free(b.s);
			return cel_err_at(n, "join: the list holds a value "
			    "that is not a string");
		}
		if (i > 0 && argc == 2)
			sb_put(&b, v[1].s, str_len(&v[1]));
		sb_put(&b, e.s, str_len(&e));
	}
	return sb_finish(c, n, &b);
}

/* strings.quote(s): a CEL string literal for s. */
struct cel_value
cel_fn_quote(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	size_t i = 0, len;

	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	len = str_len(&v[0]);
	sb_put(&b, "\"", 1);
	while (i < len) {
		unsigned char ch = (unsigned char)v[0].s[i];
		const char *esc = NULL;
		uint32_t cp;
		size_t k;
		char enc[4];

		switch (ch) {
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\v': esc = "\\v"; break;
		case '\\': esc = "\\\\"; break;
		case '"': esc = "\\\""; break;
		default: break;
		}
		if (esc != NULL) {
			sb_puts(&b, esc);
			i++;
			continue;
		}
		k = cel_utf8_decode(v[0].s + i, len - i, &cp);
		sb_put(&b, enc, cel_utf8_encode(cp, enc));
		i += k;
	}
	sb_put(&b, "\"", 1);
	return sb_finish(c, n, &b);
}

/* ------------------------------------------------------------ format */

static void
put_double_word(struct sbuf *b, double d)
{
	sb_puts(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
}

static int fmt_string(struct cel_ctx *, struct sbuf *,
    const struct cel_value *);

/* Map entries, formatted, sorted by their formatted keys. */
struct fmt_entry {
	char	*key;
	char	*val;
};

static int
fmt_entry_cmp(const void *x, const void *y)
{
	const struct fmt_entry *a = x, *b = y;

	return strcmp(a->key, b->key);
}

/* A value formatted as %s into a malloc'ed NUL-terminated string. */
static char *
fmt_alloc(struct cel_ctx *c, const struct cel_value *v)
{
	struct sbuf b = { NULL, 0, 0, 0 };

	if (fmt_string(c, &b, v) == -1 || (sb_put(&b, "", 1), b.failed)) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

static int
fmt_map(struct cel_ctx *c, struct sbuf *b, const struct cel_value *m)
{
	struct cel_map_iter it;
	struct fmt_entry *e;
	struct cel_value k, val;
	size_t sz = cel_map_size(m), i, ne = 0;
	int rc = -1;

	e = calloc(sz + 1, sizeof(*e));
	if (e == NULL)
		return -1;
	cel_map_iter_init(&it, m);
	while (ne < sz && cel_map_iter_next(&it, &k, c->arena)) {
		if (cel_map_get(m, &k, &val, c->arena) != 1)
			continue;
		e[ne].key = fmt_alloc(c, &k);
		e[ne].val = fmt_alloc(c, &val);
		ne++;
		if (e[ne - 1].key == NULL || e[ne - 1].val == NULL)
			goto done;
	}
	qsort(e, ne, sizeof(*e), fmt_entry_cmp);
	sb_put(b, "{", 1);
	for (i = 0; i < ne; i++) {
		if (i > 0)
			sb_put(b, ", ", 2);
		sb_puts(b, e[i].key);
		sb_put(b, ": ", 2);
		sb_puts(b, e[i].val);
	}
	sb_put(b, "}", 1);
	rc = 0;
done:
	for (i = 0; i < ne; i++) {
		free(e[i].key);
		free(e[i].val);
	}
	free(e);
	return rc;
}

/* The %s form of a value; -1 when it has none. */
static int
fmt_string(struct cel_ctx *c, struct sbuf *b, const struct cel_value *v)
{
	char buf[64];
	size_t i, sz;

	c->cost++;
	switch (v->kind) {
	case CEL_NULL:
		sb_puts(b, "null");
		return 0;
	case CEL_BOOL:
		sb_puts(b, v->b ? "true" : "false");
		return 0;
	case CEL_INT:
		snprintf(buf, sizeof(buf), "%lld", (long long)v->i);
		break;
	case CEL_UINT:
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v->u);
		break;
	case CEL_DOUBLE:
		if (!isfinite(v->d)) {
			put_double_word(b, v->d);
			return 0;
		}
		cel_format_double(v->d, buf, sizeof(buf));
		break;
	case CEL_STRING:
	case CEL_BYTES:
		sb_put(b, v->s, str_len(v));
		return 0;
	case CEL_TYPE:
		sb_puts(b, cel_type_name((enum cel_type)v->i));
		return 0;
	case CEL_TIMESTAMP:
		cel_ts_format(v->i, v->aux, buf, sizeof(buf));
		break;
	case CEL_DURATION:
		cel_dur_format(v->i, v->aux, buf, sizeof(buf));
		break;
	case CEL_LIST:
		sz = cel_list_size(v);
		sb_put(b, "[", 1);
		for (i = 0; i < sz; i++) {
			struct cel_value e = cel_list_at(v, i, c->arena);

			if (i > 0)
				sb_put(b, ", ", 2);
			if (fmt_string(c, b, &e) == -1)
				return -1;
		}
		sb_put(b, "]", 1);
		return 0;
	case CEL_MAP:
		return fmt_map(c, b, v);
	default:
		return -1;
	}
	sb_puts(b, buf);
	return 0;
}

/* Digits of x in base 2, 8 or 16, with a minus sign when negative. */
static void
put_radix(struct sbuf *b, int neg, uint64_t x, unsigned base, int upper)
{
	const char *digs = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[72];
	size_t i = sizeof(buf);

	do {
		buf[--i] = digs[x % base];
		x /= base;
	} while (x > 0);
	if (neg)
		buf[--i] = '-';
	sb_put(b, buf + i, sizeof(buf) - i);
}

static void
put_integer(struct sbuf *b, const struct cel_value *v, unsigned base,
    int upper)
{
	if (v->kind == CEL_INT && v->i < 0)
		put_radix(b, 1, (uint64_t)0 - v->u, base, upper);
	else
		put_radix(b, 0, v->u, base, upper);
}

/* One clause; NULL, or the message of why the value does not fit it. */
static const char *
fmt_clause(struct cel_ctx *c, struct sbuf *b, char verb, int prec,
    const struct cel_value *v)
{
	char buf[400];
	double d;
	size_t i;

	switch (verb) {
	case 's':
		if (fmt_string(c, b, v) == -1)
			return "no formatting function for this type";
		return NULL;
	case 'd':
		if (v->kind == CEL_INT || v->kind == CEL_UINT) {
			put_integer(b, v, 10, 0);
			return NULL;
		}
		if (v->kind == CEL_DOUBLE && !isfinite(v->d)) {
			put_double_word(b, v->d);
			return NULL;
		}
		return "decimal clause can only be used on integers";
	case 'f':
	case 'e':
		if (v->kind == CEL_DOUBLE)
			d = v->d;
		else if (v->kind == CEL_INT)
			d = (double)v->i;
		else if (v->kind == CEL_UINT)
			d = (double)v->u;
		else
			return verb == 'f' ? "fixed-point clause can only be "
			    "used on doubles" : "scientific clause can only "
			    "be used on doubles";
		if (!isfinite(d)) {
			put_double_word(b, d);
			return NULL;
		}
		if (prec < 0)
			prec = 6;
		if (verb == 'f')
			snprintf(buf, sizeof(buf), "%.*f", prec, d);
		else
			snprintf(buf, sizeof(buf), "%.*e", prec, d);
		sb_puts(b, buf);
		return NULL;
	case 'b':
		if (v->kind == CEL_BOOL) {
			sb_puts(b, v->b ? "1" : "0");
			return NULL;
		}
		if (v->kind != CEL_INT && v->kind != CEL_UINT)
			return "only integers and bools can be formatted as "
			    "binary";
		put_integer(b, v, 2, 0);
		return NULL;
	case 'o':
		if (v->kind != CEL_INT && v->kind != CEL_UINT)
			return "octal clause can only be used on integers";
		put_integer(b, v, 8, 0);
		return NULL;
	case 'x':
	case 'X':
		if (v->kind == CEL_INT || v->kind == CEL_UINT) {
			put_integer(b, v, 16, verb == 'X');
			return NULL;
		}
		if (v->kind != CEL_STRING && v->kind != CEL_BYTES)
			return "only integers, byte buffers, and strings can "
			    "be formatted as hex";
		for (i = 0; i < str_len(v); i++) {
			snprintf(buf, sizeof(buf), verb == 'X' ? "%02X" :
			    "%02x", (unsigned char)v->s[i]);
			sb_put(b, buf, 2);
		}
		c->cost += str_len(v) / 8;
		return NULL;
	default:
		return NULL;
	}
}

/* s.format(list): printf-like clauses %s %d %f %e %b %o %x %X, %%. */
struct cel_value
cel_fn_format(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	const char *s = v[0].s, *why;
	size_t len, i = 0, argi = 0, nargs;

	(void)argc;
	if (v[0].kind != CEL_STRING || v[1].kind != CEL_LIST)
		return no_overload(n);
	len = str_len(&v[0]);
	nargs = cel_list_size(&v[1]);
	c->cost += len / 16;
	while (i < len) {
		struct cel_value arg;
		int prec = -1;
		char verb;

		if (s[i] != '%') {
			size_t j = i;

			while (j < len && s[j] != '%')
				j++;
			sb_put(&b, s + i, j - i);
			i = j;
			continue;
		}
		i++;
		if (i < len && s[i] == '%') {
			sb_put(&b, "%", 1);
			i++;
			continue;
		}
		if (i < len && s[i] == '.') {
			prec = 0;
			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				if (prec < 100)
					prec = prec * 10 + (s[i] - '0');
		}
		verb = i < len ? s[i] : '\0';
		if (strchr("sdfeboxX", verb) == NULL || verb == '\0') {
			free(b.s);
			return err_msg(c, n, "could not parse formatting "
			    "clause: unrecognized formatting clause \"%.*s\"",
			    i < len ? (int)cp_offset(s + i, len - i, 1) : 0,
			    s + i);
		}
		i++;
		if (argi >= nargs) {
			free(b.s);
			return err_msg(c, n, "index %zu out of range", argi);
		}
		arg = cel_list_at(&v[1], argi++, c->arena);
		why = fmt_clause(c, &b, verb, prec, &arg);
		if (why != NULL) {
			free(b.s);
			return err_msg(c, n, "error during formatting: %s, "
			    "was given %s", why, cel_kind_name(arg.kind));
		}
		if (c->cost > c->max_cost) {
			free(b.s);
			return cel_err_at(n, "cost limit exceeded");
		}
	}
	return sb_finish(c, n, &b);
}
