/*
 * cel_value.c - CEL values: the arena, UTF-8, JSON views, equality and
 * ordering, list and map access.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cel_ast.h"

/* ------------------------------------------------------------ arena */

struct cel_arena_chunk {
	struct cel_arena_chunk	*next;
	_Alignas(16) char	 data[];
};

void
cel_arena_init(struct cel_arena *a, void *buf, size_t cap)
{
	a->buf = buf;
	a->len = 0;
	a->cap = buf != NULL ? cap : 0;
	a->spilled = 0;
	a->chunks = NULL;
}

void *
cel_arena_alloc(struct cel_arena *a, size_t n)
{
	void *r;

	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (a->cap - a->len < n) {
		struct cel_arena_chunk *c;
		size_t cap = a->cap * 2;

		if (cap < 4096)
			cap = 4096;
		while (cap < n)
			cap *= 2;
		if (a->spilled + cap > CEL_ARENA_MAX)
			return NULL;
		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->next = a->chunks;
		a->chunks = c;
		a->spilled += cap;
		a->buf = c->data;
		a->cap = cap;
		a->len = 0;
	}
	r = a->buf + a->len;
	a->len += n;
	return r;
}

void
cel_arena_release(struct cel_arena *a)
{
	struct cel_arena_chunk *c, *next;

	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->chunks = NULL;
	a->buf = NULL;
	a->cap = a->len = 0;
	a->spilled = 0;
}

/* ------------------------------------------------------------ UTF-8 */

size_t
cel_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c;
	size_t len, i;

	if (n == 0) {
		*cp = 0xFFFD;
		return 1;
	}
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		c &= 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		c &= 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		c &= 0x07;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	if (n < len) {
		*cp = 0xFFFD;
		return 1;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10FFFF))) {
		*cp = 0xFFFD;
		return 1;
	}
	*cp = c;
	return len;
}

int
cel_utf8_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k;

		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		k = cel_utf8_decode(s + i, n - i, &cp);
		if (cp == 0xFFFD && k == 1)
			return 0;
		i += k;
	}
	return 1;
}

size_t
cel_utf8_count(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

size_t
cel_utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* ------------------------------------------------------------ names */

static const char *const kind_names[CEL_KIND_COUNT + 1] = {
	[CEL_NULL] = "null_type",
	[CEL_BOOL] = "bool",
	[CEL_INT] = "int",
	[CEL_UINT] = "uint",
	[CEL_DOUBLE] = "double",
	[CEL_STRING] = "string",
	[CEL_BYTES] = "bytes",
	[CEL_LIST] = "list",
	[CEL_MAP] = "map",
	[CEL_TYPE] = "type",
	[CEL_TIMESTAMP] = "google.protobuf.Timestamp",
	[CEL_DURATION] = "google.protobuf.Duration",
	[CEL_IP] = "net.IP",
	[CEL_CIDR] = "net.CIDR",
	[CEL_URL] = "kubernetes.URL",
	[CEL_OPTIONAL] = "optional_type",
	[CEL_ERROR] = "error",
	[CEL_KIND_COUNT] = "dyn",
};

const char *
cel_kind_name(int kind)
{
	if (kind < 0 || kind > CEL_KIND_COUNT)
		return "?";
	return kind_names[kind];
}

static const char *const type_names[CEL_T_COUNT] = {
	[CEL_T_NULL] = "null_type",
	[CEL_T_BOOL] = "bool",
	[CEL_T_INT] = "int",
	[CEL_T_UINT] = "uint",
	[CEL_T_DOUBLE] = "double",
	[CEL_T_STRING] = "string",
	[CEL_T_BYTES] = "bytes",
	[CEL_T_LIST] = "list",
	[CEL_T_MAP] = "map",
	[CEL_T_TYPE] = "type",
	[CEL_T_TIMESTAMP] = "google.protobuf.Timestamp",
	[CEL_T_DURATION] = "google.protobuf.Duration",
	[CEL_T_IP] = "net.IP",
	[CEL_T_CIDR] = "net.CIDR",
	[CEL_T_URL] = "kubernetes.URL",
	[CEL_T_OPTIONAL] = "optional_type",
};

const char *
cel_type_name(enum cel_type t)
{
	if ((int)t < 0 || t >= CEL_T_COUNT)
		return "?";
	return type_names[t];
}

enum cel_type
cel_type_of(const struct cel_value *v)
{
	switch (v->kind) {
	case CEL_NULL: return CEL_T_NULL;
	case CEL_BOOL: return CEL_T_BOOL;
	case CEL_INT: return CEL_T_INT;
	case CEL_UINT: return CEL_T_UINT;
	case CEL_DOUBLE: return CEL_T_DOUBLE;
	case CEL_STRING: return CEL_T_STRING;
	case CEL_BYTES: return CEL_T_BYTES;
	case CEL_LIST: return CEL_T_LIST;
	case CEL_MAP: return CEL_T_MAP;
	case CEL_TYPE: return CEL_T_TYPE;
	case CEL_TIMESTAMP: return CEL_T_TIMESTAMP;
	case CEL_DURATION: return CEL_T_DURATION;
	case CEL_IP: return CEL_T_IP;
	case CEL_CIDR: return CEL_T_CIDR;
	case CEL_URL: return CEL_T_URL;
	case CEL_OPTIONAL: return CEL_T_OPTIONAL;
	default: return CEL_T_NULL;
	}
}

/* ------------------------------------------------------------ JSON */

struct cel_value
cel_from_json(const json_t *j)
{
	if (j == NULL)
		return cel_null();
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return cel_json(j, CEL_MAP);
	case JSON_ARRAY:
		return cel_json(j, CEL_LIST);
	case JSON_STRING:
		return cel_string(json_string_value(j), json_string_length(j));
	case JSON_INTEGER:
		return cel_int((int64_t)json_integer_value(j));
	case JSON_REAL:
		return cel_double(json_real_value(j));
	case JSON_TRUE:
		return cel_bool(1);
	case JSON_FALSE:
		return cel_bool(0);
	case JSON_NULL:
	default:
		return cel_null();
	}
}

static const json_t *
json_getn(const json_t *obj, const char *key, size_t len)
{
#if JANSSON_VERSION_HEX >= 0x020e00
	return json_object_getn(obj, key, len);
#else
	char buf[256];

	if (len >= sizeof(buf) || memchr(key, '\0', len) != NULL)
		return NULL;
	memcpy(buf, key, len);
	buf[len] = '\0';
	return json_object_get(obj, buf);
#endif
}

/* ------------------------------------------------------------ numbers */

/* -1, 0, 1; 2 when unordered (NaN). */
static int
num_cmp(const struct cel_value *a, const struct cel_value *b)
{
	double x, y;

	if (a->kind == CEL_INT && b->kind == CEL_INT)
		return a->i < b->i ? -1 : a->i > b->i;
	if (a->kind == CEL_UINT && b->kind == CEL_UINT)
		return a->u < b->u ? -1 : a->u > b->u;
	if (a->kind == CEL_INT && b->kind == CEL_UINT) {
		if (a->i < 0)
			return -1;
		return (uint64_t)a->i < b->u ? -1 : (uint64_t)a->i > b->u;
	}
	if (a->kind == CEL_UINT && b->kind == CEL_INT) {
		if (b->i < 0)
			return 1;
		return a->u < (uint64_t)b->i ? -1 : a->u > (uint64_t)b->i;
	}
	x = a->kind == CEL_INT ? (double)a->i : a->kind == CEL_UINT ?
	    (double)a->u : a->d;
	y = b->kind == CEL_INT ? (double)b->i : b->kind == CEL_UINT ?
	    (double)b->u : b->d;
	if (isnan(x) || isnan(y))
		return 2;
	return x < y ? -1 : x > y;
}

static int
is_num(int k)
{
	return k == CEL_INT || k == CEL_UINT || k == CEL_DOUBLE;
}

static int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int r = n ? memcmp(a, b, n) : 0;

	if (r != 0)
		return r < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

/* ------------------------------------------------------------ lists */

size_t
cel_list_size(const struct cel_value *l)
{
	if (l->rep == CEL_REP_JSON)
		return json_array_size(l->json);
	return l->list != NULL ? l->list->n : 0;
}

struct cel_value
cel_list_at(const struct cel_value *l, size_t i, struct cel_arena *a)
{
	(void)a;
	if (l->rep == CEL_REP_JSON)
		return cel_from_json(json_array_get(l->json, i));
	return l->list->v[i];
}

/* ------------------------------------------------------------ maps */

size_t
cel_map_size(const struct cel_value *m)
{
	if (m->rep == CEL_REP_JSON)
		return json_object_size(m->json);
	if (m->rep == CEL_REP_HOST) {
		struct cel_map_iter it;
		struct cel_value k;
		size_t n = 0;

		cel_map_iter_init(&it, m);
		while (cel_map_iter_next(&it, &k, NULL))
			n++;
		return n;
	}
	return m->map != NULL ? m->map->n : 0;
}

/* Keys equal as map keys: numbers across types, strings, bools. */
static int
key_equal(const struct cel_value *a, const struct cel_value *b)
{
	if (is_num(a->kind) && is_num(b->kind))
		return num_cmp(a, b) == 0;
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case CEL_BOOL:
		return a->b == b->b;
	case CEL_STRING:
		return a->aux == b->aux && memcmp(a->s, b->s,
		    (size_t)a->aux) == 0;
	default:
		return 0;
	}
}

int
cel_map_field(const struct cel_value *m, const char *name, size_t len,
    struct cel_value *out, struct cel_arena *a)
{
	struct cel_value k;
	size_t i;

	if (m->rep == CEL_REP_JSON) {
		const json_t *j = json_getn(m->json, name, len);

		if (j == NULL)
			return 0;
		*out = cel_from_json(j);
		return 1;
	}
	if (m->rep == CEL_REP_HOST)
		return cel_host_field(m, name, len, out, a);
	k = cel_string(name, len);
	for (i = 0; m->map != NULL && i < m->map->n; i++)
		if (key_equal(&m->map->keys[i], &k)) {
			*out = m->map->vals[i];
			return 1;
		}
	return 0;
}

int
cel_map_get(const struct cel_value *m, const struct cel_value *key,
    struct cel_value *out, struct cel_arena *a)
{
	size_t i;

	if (m->rep != CEL_REP_ARENA) {
		if (key->kind != CEL_STRING)
			return 0;
		return cel_map_field(m, key->s, (size_t)key->aux, out, a);
	}
	if (key->kind == CEL_DOUBLE) {
		/* A double finds a numeric key only when integral. */
		if (key->d != floor(key->d))
			return 0;
	} else if (key->kind != CEL_INT && key->kind != CEL_UINT &&
	    key->kind != CEL_STRING && key->kind != CEL_BOOL)
		return 0;
	for (i = 0; m->map != NULL && i < m->map->n; i++)
		if (key_equal(&m->map->keys[i], key)) {
			*out = m->map->vals[i];
			return 1;
		}
	return 0;
}

void
cel_map_iter_init(struct cel_map_iter *it, const struct cel_value *m)
{
	it->map = m;
	it->i = 0;
	it->jit = NULL;
	if (m->rep == CEL_REP_JSON)
		it->jit = json_object_iter((json_t *)(uintptr_t)m->json);
}

int
cel_map_iter_next(struct cel_map_iter *it, struct cel_value *key,
    struct cel_arena *a)
{
	const struct cel_value *m = it->map;

	(void)a;
	if (m->rep == CEL_REP_JSON) {
		const char *k;

		if (it->jit == NULL)
			return 0;
		k = json_object_iter_key(it->jit);
#if JANSSON_VERSION_HEX >= 0x020e00
		*key = cel_string(k, json_object_iter_key_len(it->jit));
#else
		*key = cel_string(k, strlen(k));
#endif
		it->jit = json_object_iter_next((json_t *)(uintptr_t)m->json,
		    it->jit);
		return 1;
	}
	if (m->rep == CEL_REP_HOST) {
		int n = cel_host_field_count((enum cel_host)m->host);

		while ((int)it->i < n) {
			struct cel_value v;
			int id = (int)it->i++;

			if (cel_host_field_by_id(m, id, &v, NULL) == 1) {
				const char *name = cel_host_field_name(
				    (enum cel_host)m->host, id);

				*key = cel_string(name, strlen(name));
				return 1;
			}
		}
		return 0;
	}
	if (m->map == NULL || it->i >= m->map->n)
		return 0;
	*key = m->map->keys[it->i++];
	return 1;
}

/* ------------------------------------------------------------ equality */

static int
map_equal(const struct cel_value *a, const struct cel_value *b)
{
	struct cel_map_iter it;
	struct cel_value k, va, vb;

	if (cel_map_size(a) != cel_map_size(b))
		return 0;
	cel_map_iter_init(&it, a);
	while (cel_map_iter_next(&it, &k, NULL)) {
		if (cel_map_get(a, &k, &va, NULL) != 1)
			return 0;
		if (cel_map_get(b, &k, &vb, NULL) != 1)
			return 0;
		if (cel_equal(&va, &vb) != 1)
			return 0;
	}
	return 1;
}

int
cel_equal(const struct cel_value *a, const struct cel_value *b)
{
	size_t i, n;

	if (is_num(a->kind) && is_num(b->kind))
		return num_cmp(a, b) == 0;
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case CEL_NULL:
		return 1;
	case CEL_BOOL:
		return a->b == b->b;
	case CEL_STRING:
	case CEL_BYTES:
		return a->aux == b->aux && (a->aux == 0 || memcmp(a->s, b->s,
		    (size_t)a->aux) == 0);
	case CEL_TYPE:
		return a->i == b->i;
	case CEL_TIMESTAMP:
	case CEL_DURATION:
		return a->i == b->i && a->aux == b->aux;
	case CEL_LIST:
		n = cel_list_size(a);
		if (n != cel_list_size(b))
			return 0;
		for (i = 0; i < n; i++) {
			struct cel_value x = cel_list_at(a, i, NULL);
			struct cel_value y = cel_list_at(b, i, NULL);

			if (cel_equal(&x, &y) != 1)
				return 0;
		}
		return 1;
	case CEL_MAP:
		return map_equal(a, b);
	case CEL_IP:
	case CEL_CIDR:
	case CEL_URL:
		return cel_net_equal(a, b);
	case CEL_OPTIONAL:
		if (a->opt == NULL || b->opt == NULL)
			return a->opt == b->opt;
		return cel_equal(a->opt, b->opt);
	default:
		return 0;
	}
}

struct cel_value
cel_optional_of(const struct cel_value *v, struct cel_arena *a)
{
	struct cel_value *copy, r = { .kind = CEL_OPTIONAL };

	copy = cel_arena_alloc(a, sizeof(*copy));
	if (copy == NULL)
		return cel_error("out of memory");
	*copy = *v;
	r.opt = copy;
	return r;
}

int
cel_is_zero(const struct cel_value *v)
{
	switch (v->kind) {
	case CEL_NULL:
		return 1;
	case CEL_BOOL:
		return !v->b;
	case CEL_INT:
		return v->i == 0;
	case CEL_UINT:
		return v->u == 0;
	case CEL_DOUBLE:
		return v->d == 0;
	case CEL_STRING:
	case CEL_BYTES:
		return v->aux == 0;
	case CEL_LIST:
		return cel_list_size(v) == 0;
	case CEL_MAP:
		return cel_map_size(v) == 0;
	case CEL_TIMESTAMP:
	case CEL_DURATION:
		return v->i == 0 && v->aux == 0;
	case CEL_OPTIONAL:
		return v->opt == NULL;
	default:
		return 0;
	}
}

int
cel_compare(const struct cel_value *a, const struct cel_value *b, int *cmp)
{
	if (is_num(a->kind) && is_num(b->kind)) {
		*cmp = num_cmp(a, b);
		return 0;
	}
	if (a->kind != b->kind)
		return -1;
	switch (a->kind) {
	case CEL_BOOL:
		*cmp = a->b < b->b ? -1 : a->b > b->b;
		return 0;
	case CEL_STRING:
	case CEL_BYTES:
		*cmp = bytes_cmp(a->s, (size_t)a->aux, b->s, (size_t)b->aux);
		return 0;
	case CEL_TIMESTAMP:
	case CEL_DURATION:
		if (a->i != b->i)
			*cmp = a->i < b->i ? -1 : 1;
		else
			*cmp = a->aux < b->aux ? -1 : a->aux > b->aux;
		return 0;
	default:
		return -1;
	}
}
