/*
 * cel_eval.c - the tree-walking evaluator and the compile entry points.
 *
 * Errors are values (CEL_ERROR) that propagate through strict operators
 * and are absorbed by && || ?: and the macros as the CEL spec says.  Every
 * node evaluated costs one unit; string, list and regex work cost more;
 * passing the program's limit turns the result into an error.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel_ast.h"

#define NS	1000000000

struct cel_value
cel_err_at(const struct cel_node *n, const char *msg)
{
	struct cel_value v = cel_error(msg);

	v.aux = n != NULL ? n->pos : -1;
	return v;
}

struct cel_value
cel_arena_string(struct cel_ctx *c, int kind, const char *s, size_t n)
{
	char *p;

	if (n > INT32_MAX)
		return cel_error("string too long");
	p = cel_arena_alloc(c->arena, n + 1);
	if (p == NULL)
		return cel_error("out of memory");
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return kind == CEL_STRING ? cel_string(p, n) : cel_bytes(p, n);
}

static struct cel_value
no_overload(const struct cel_node *n)
{
	return cel_err_at(n, "no such overload");
}

/* ------------------------------------------------------------ time math */

static __int128
to_ns(const struct cel_value *v)
{
	return (__int128)v->i * NS + v->aux;
}

static struct cel_value
ts_from_ns(const struct cel_node *n, __int128 t)
{
	__int128 s = t / NS, r = t % NS;

	if (r < 0) {
		r += NS;
		s--;
	}
	if (s < CEL_TS_MIN || s > CEL_TS_MAX)
		return cel_err_at(n, "timestamp out of range");
	return cel_timestamp((int64_t)s, (int32_t)r);
}

static struct cel_value
dur_from_ns(const struct cel_node *n, __int128 t)
{
	__int128 s = t / NS, r = t % NS;

	if (t < -(__int128)CEL_DUR_MAX_NS || t > (__int128)CEL_DUR_MAX_NS)
		return cel_err_at(n, "duration out of range");
	return cel_duration((int64_t)s, (int32_t)r);
}

/* ------------------------------------------------------------ operators */

static struct cel_value
concat(struct cel_ctx *c, const struct cel_node *n, struct cel_value a,
    struct cel_value b)
{
	if (a.kind == CEL_LIST) {
		size_t na = cel_list_size(&a), nb = cel_list_size(&b), i;
		struct cel_list *l;
		struct cel_value v = { .kind = CEL_LIST };

		if (nb == 0)
			return a;
		if (na == 0)
			return b;
		c->cost += (na + nb) / 8;
		l = cel_arena_alloc(c->arena, sizeof(*l) + (na + nb) *
		    sizeof(l->v[0]));
		if (l == NULL)
			return cel_err_at(n, "out of memory");
		for (i = 0; i < na; i++)
			l->v[i] = cel_list_at(&a, i, c->arena);
		for (i = 0; i < nb; i++)
			l->v[na + i] = cel_list_at(&b, i, c->arena);
		l->n = na + nb;
		v.list = l;
		return v;
	} else {
		size_t na = (size_t)a.aux, nb = (size_t)b.aux;
		char *p;

		if (na + nb > INT32_MAX)
			return cel_err_at(n, "string too long");
		c->cost += (na + nb) / 16;
		p = cel_arena_alloc(c->arena, na + nb + 1);
		if (p == NULL)
			return cel_err_at(n, "out of memory");
		if (na)
			memcpy(p, a.s, na);
		if (nb)
			memcpy(p + na, b.s, nb);
		p[na + nb] = '\0';
		return a.kind == CEL_STRING ? cel_string(p, na + nb) :
		    cel_bytes(p, na + nb);
	}
}

static struct cel_value
arith(struct cel_ctx *c, const struct cel_node *n, struct cel_value a,
    struct cel_value b)
{
	enum cel_op op = (enum cel_op)n->op;

	if (a.kind != b.kind) {
		if (op == CEL_OP_ADD && a.kind == CEL_TIMESTAMP &&
		    b.kind == CEL_DURATION)
			return ts_from_ns(n, to_ns(&a) + to_ns(&b));
		if (op == CEL_OP_ADD && a.kind == CEL_DURATION &&
		    b.kind == CEL_TIMESTAMP)
			return ts_from_ns(n, to_ns(&a) + to_ns(&b));
		if (op == CEL_OP_SUB && a.kind == CEL_TIMESTAMP &&
		    b.kind == CEL_DURATION)
			return ts_from_ns(n, to_ns(&a) - to_ns(&b));
		return no_overload(n);
	}
	switch (a.kind) {
	case CEL_INT: {
		int64_t r;

		switch (op) {
		case CEL_OP_ADD:
			if (__builtin_add_overflow(a.i, b.i, &r))
				return cel_err_at(n, "integer overflow");
			return cel_int(r);
		case CEL_OP_SUB:
			if (__builtin_sub_overflow(a.i, b.i, &r))
				return cel_err_at(n, "integer overflow");
			return cel_int(r);
		case CEL_OP_MUL:
			if (__builtin_mul_overflow(a.i, b.i, &r))
				return cel_err_at(n, "integer overflow");
			return cel_int(r);
		case CEL_OP_DIV:
			if (b.i == 0)
				return cel_err_at(n, "division by zero");
			if (a.i == INT64_MIN && b.i == -1)
				return cel_err_at(n, "integer overflow");
			return cel_int(a.i / b.i);
		case CEL_OP_MOD:
			if (b.i == 0)
				return cel_err_at(n, "modulus by zero");
			if (a.i == INT64_MIN && b.i == -1)
				return cel_err_at(n, "integer overflow");
			return cel_int(a.i % b.i);
		default:
			break;
		}
		break;
	}
	case CEL_UINT: {
		uint64_t r;

		switch (op) {
		case CEL_OP_ADD:
			if (__builtin_add_overflow(a.u, b.u, &r))
				return cel_err_at(n, "unsigned integer "
				    "overflow");
			return cel_uint(r);
		case CEL_OP_SUB:
			if (__builtin_sub_overflow(a.u, b.u, &r))
				return cel_err_at(n, "unsigned integer "
				    "overflow");
			return cel_uint(r);
		case CEL_OP_MUL:
			if (__builtin_mul_overflow(a.u, b.u, &r))
				return cel_err_at(n, "unsigned integer "
				    "overflow");
			return cel_uint(r);
		case CEL_OP_DIV:
			if (b.u == 0)
				return cel_err_at(n, "division by zero");
			return cel_uint(a.u / b.u);
		case CEL_OP_MOD:
			if (b.u == 0)
				return cel_err_at(n, "modulus by zero");
			return cel_uint(a.u % b.u);
		default:
			break;
		}
		break;
	}
	case CEL_DOUBLE:
		switch (op) {
		case CEL_OP_ADD: return cel_double(a.d + b.d);
		case CEL_OP_SUB: return cel_double(a.d - b.d);
		case CEL_OP_MUL: return cel_double(a.d * b.d);
		case CEL_OP_DIV: return cel_double(a.d / b.d);
		default: break;
		}
		break;
	case CEL_STRING:
	case CEL_BYTES:
	case CEL_LIST:
		if (op == CEL_OP_ADD)
			return concat(c, n, a, b);
		break;
	case CEL_DURATION:
		if (op == CEL_OP_ADD)
			return dur_from_ns(n, to_ns(&a) + to_ns(&b));
		if (op == CEL_OP_SUB)
			return dur_from_ns(n, to_ns(&a) - to_ns(&b));
		break;
	case CEL_TIMESTAMP:
		if (op == CEL_OP_SUB)
			return dur_from_ns(n, to_ns(&a) - to_ns(&b));
		break;
	default:
		break;
	}
	return no_overload(n);
}

static struct cel_value
logic(struct cel_ctx *c, const struct cel_node *n)
{
	int is_and = n->op == CEL_OP_AND;
	struct cel_value a, b;

	a = cel_eval_node(c, n->a);
	if (a.kind == CEL_BOOL && a.b != is_and)
		return a;	/* false && _, true || _ */
	b = cel_eval_node(c, n->b);
	if (b.kind == CEL_BOOL && b.b != is_and)
		return b;
	if (a.kind == CEL_ERROR)
		return a;
	if (b.kind == CEL_ERROR)
		return b;
	if (a.kind != CEL_BOOL || b.kind != CEL_BOOL)
		return cel_err_at(n, "no matching overload");
	return cel_bool(is_and);
}

/* ------------------------------------------------------------ optionals */

/*
 * a.?name, and a.name or has(a.name) when a is an optional: selecting
 * from none gives none, a missing field gives none.
 */
static struct cel_value
opt_select(struct cel_ctx *c, const struct cel_node *n, struct cel_value a)
{
	struct cel_value b;
	int r, opt = n->op == CEL_OP_OPTSELECT;

	if (a.kind == CEL_OPTIONAL) {
		if (a.opt == NULL)
			return n->op == CEL_OP_HAS ? cel_bool(0) : a;
		a = *a.opt;
		opt = 1;
	}
	if (a.kind != CEL_MAP)
		return cel_err_at(n, "type does not support field selection");
	r = cel_map_field(&a, n->name, n->len, &b, c->arena);
	if (n->op == CEL_OP_HAS)
		return cel_bool(r == 1);
	if (r == -1)
		return cel_err_at(n, b.err);
	if (r == 0)
		return opt ? cel_optional_none() : cel_err_at(n, "no such key");
	return opt ? cel_optional_of(&b, c->arena) : b;
}

/* a[?k], and a[k] when a is an optional. */
static struct cel_value
opt_index(struct cel_ctx *c, const struct cel_node *n, struct cel_value a,
    struct cel_value k)
{
	struct cel_value out;
	int r;

	if (a.kind == CEL_OPTIONAL) {
		if (a.opt == NULL)
			return a;
		a = *a.opt;
	}
	if (a.kind == CEL_LIST) {
		int64_t i;

		if (k.kind == CEL_INT)
			i = k.i;
		else if (k.kind == CEL_UINT)
			i = k.u > (uint64_t)INT64_MAX ? -1 : (int64_t)k.u;
		else if (k.kind == CEL_DOUBLE && k.d == floor(k.d) &&
		    fabs(k.d) < 9.2e18)
			i = (int64_t)k.d;
		else
			return cel_err_at(n, "invalid_argument: no such "
			    "overload for list index");
		if (i < 0 || (uint64_t)i >= cel_list_size(&a))
			return cel_optional_none();
		out = cel_list_at(&a, (size_t)i, c->arena);
		return cel_optional_of(&out, c->arena);
	}
	if (a.kind == CEL_MAP) {
		r = cel_map_get(&a, &k, &out, c->arena);
		if (r == -1)
			return out;
		if (r == 0)
			return cel_optional_none();
		return cel_optional_of(&out, c->arena);
	}
	return no_overload(n);
}

/*
 * The value of an optional element of a list or map literal: 1 with
 * *out set, 0 when it has none, -1 with *out the error.
 */
static int
opt_elem(struct cel_ctx *c, const struct cel_node *n, struct cel_value *out)
{
	struct cel_value v = cel_eval_node(c, n->a);

	if (v.kind == CEL_ERROR) {
		*out = v;
		return -1;
	}
	if (v.kind != CEL_OPTIONAL) {
		*out = cel_err_at(n, "no such overload: optional element "
		    "is not an optional");
		return -1;
	}
	if (v.opt == NULL)
		return 0;
	*out = *v.opt;
	return 1;
}

static struct cel_value
index_value(struct cel_ctx *c, const struct cel_node *n, struct cel_value a,
    struct cel_value k)
{
	if (a.kind == CEL_LIST) {
		size_t sz = cel_list_size(&a);
		int64_t i;

		if (k.kind == CEL_INT)
			i = k.i;
		else if (k.kind == CEL_UINT)
			i = k.u > (uint64_t)INT64_MAX ? -1 : (int64_t)k.u;
		else if (k.kind == CEL_DOUBLE) {
			if (k.d != floor(k.d) || !(fabs(k.d) < 9.2e18))
				return cel_err_at(n, "invalid_argument: "
				    "list index is not an integer");
			i = (int64_t)k.d;
		} else
			return cel_err_at(n, "invalid_argument: no such "
			    "overload for list index");
		if (i < 0 || (uint64_t)i >= sz)
			return cel_err_at(n, "invalid_argument: index out of "
			    "range");
		return cel_list_at(&a, (size_t)i, c->arena);
	}
	if (a.kind == CEL_MAP) {
		struct cel_value out;
		int r = cel_map_get(&a, &k, &out, c->arena);

		if (r == 1)
			return out;
		if (r == -1)
			return out;
		return cel_err_at(n, "no such key");
	}
	if (a.kind == CEL_OPTIONAL)
		return opt_index(c, n, a, k);
	return no_overload(n);
}

static int
valid_key(const struct cel_value *k)
{
	return k->kind == CEL_INT || k->kind == CEL_UINT ||
	    k->kind == CEL_STRING || k->kind == CEL_BOOL;
}

static struct cel_value
build_map(struct cel_ctx *c, const struct cel_node *n)
{
	struct cel_map *m;
	size_t np = (size_t)n->nargs / 2, i, j;
	struct cel_value v = { .kind = CEL_MAP };

	m = cel_arena_alloc(c->arena, sizeof(*m));
	if (m == NULL)
		return cel_err_at(n, "out of memory");
	m->keys = cel_arena_alloc(c->arena, (np + 1) * sizeof(*m->keys));
	m->vals = cel_arena_alloc(c->arena, (np + 1) * sizeof(*m->vals));
	if (m->keys == NULL || m->vals == NULL)
		return cel_err_at(n, "out of memory");
	for (i = 0, m->n = 0; i < np; i++) {
		struct cel_value k = cel_eval_node(c, n->args[2 * i]);
		const struct cel_node *vn = n->args[2 * i + 1];
		struct cel_value x;

		if (k.kind == CEL_ERROR)
			return k;
		if (vn->op == CEL_OP_OPTELEM) {
			int r = opt_elem(c, vn, &x);

			if (r == -1)
				return x;
			if (r == 0)
				continue;
		} else {
			x = cel_eval_node(c, vn);
			if (x.kind == CEL_ERROR)
				return x;
		}
		if (!valid_key(&k))
			return cel_err_at(n->args[2 * i],
			    "unsupported key type");
		for (j = 0; j < m->n; j++)
			if (cel_equal(&m->keys[j], &k) == 1)
				return cel_err_at(n->args[2 * i],
				    "Failed with repeated key");
		m->keys[m->n] = k;
		m->vals[m->n++] = x;
	}
	v.map = m;
	return v;
}

static struct cel_value
build_list(struct cel_ctx *c, const struct cel_node *n)
{
	struct cel_list *l;
	struct cel_value v = { .kind = CEL_LIST };
	int i;

	l = cel_arena_alloc(c->arena, sizeof(*l) + (size_t)n->nargs *
	    sizeof(l->v[0]));
	if (l == NULL)
		return cel_err_at(n, "out of memory");
	for (i = 0, l->n = 0; i < n->nargs; i++) {
		const struct cel_node *e = n->args[i];
		int r;

		if (e->op == CEL_OP_OPTELEM) {
			r = opt_elem(c, e, &l->v[l->n]);
			if (r == -1)
				return l->v[l->n];
			l->n += (size_t)r;
			continue;
		}
		l->v[l->n] = cel_eval_node(c, e);
		if (l->v[l->n].kind == CEL_ERROR)
			return l->v[l->n];
		l->n++;
	}
	v.list = l;
	return v;
}

static struct cel_value
in_value(struct cel_ctx *c, const struct cel_node *n, struct cel_value x,
    struct cel_value coll)
{
	if (coll.kind == CEL_LIST) {
		size_t sz = cel_list_size(&coll), i;

		c->cost += sz / 4;
		if (x.kind == CEL_STRING && coll.rep == CEL_REP_JSON) {
			/* The common case: a string in a JSON array. */
			for (i = 0; i < sz; i++) {
				const json_t *e = json_array_get(coll.json, i);

				if (json_is_string(e) &&
				    json_string_length(e) == (size_t)x.aux &&
				    memcmp(json_string_value(e), x.s,
				    (size_t)x.aux) == 0)
					return cel_bool(1);
			}
			return cel_bool(0);
		}
		if (x.kind == CEL_STRING && coll.rep == CEL_REP_ARENA) {
			for (i = 0; i < sz; i++) {
				const struct cel_value *e = &coll.list->v[i];

				if (e->kind == CEL_STRING && e->aux == x.aux &&
				    memcmp(e->s, x.s, (size_t)x.aux) == 0)
					return cel_bool(1);
				if (e->kind != CEL_STRING &&
				    cel_equal(&x, e) == 1)
					return cel_bool(1);
			}
			return cel_bool(0);
		}
		for (i = 0; i < sz; i++) {
			struct cel_value e = cel_list_at(&coll, i, c->arena);

			if (cel_equal(&x, &e) == 1)
				return cel_bool(1);
		}
		return cel_bool(0);
	}
	if (coll.kind == CEL_MAP) {
		struct cel_value out;

		return cel_bool(cel_map_get(&coll, &x, &out, c->arena) == 1);
	}
	return no_overload(n);
}

/* ------------------------------------------------------------ macros */

/* The output of transformMap and transformMapEntry. */
struct map_out {
	struct cel_map	*m;
	size_t		 cap;
};

/*
 * Add k: v to the output map; an error value, or kind CEL_NULL.  Keys
 * that come from the range (transformMap) are unique already; those of
 * transformMapEntry are checked, at a cost.
 */
static struct cel_value
map_out_put(struct cel_ctx *c, const struct cel_node *n, struct map_out *o,
    const struct cel_value *k, const struct cel_value *v, int check)
{
	size_t j;

	if (!valid_key(k))
		return cel_err_at(n, "unsupported key type");
	if (check) {
		c->cost += o->m->n / 8;
		for (j = 0; j < o->m->n; j++)
			if (cel_equal(&o->m->keys[j], k) == 1)
				return cel_err_at(n, "duplicate key in map");
	}
	if (o->m->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		struct cel_value *nk, *nv;

		nk = cel_arena_alloc(c->arena, cap * sizeof(*nk));
		nv = cel_arena_alloc(c->arena, cap * sizeof(*nv));
		if (nk == NULL || nv == NULL)
			return cel_err_at(n, "out of memory");
		if (o->m->n > 0) {
			memcpy(nk, o->m->keys, o->m->n * sizeof(*nk));
			memcpy(nv, o->m->vals, o->m->n * sizeof(*nv));
		}
		o->m->keys = nk;
		o->m->vals = nv;
		o->cap = cap;
	}
	o->m->keys[o->m->n] = *k;
	o->m->vals[o->m->n++] = *v;
	return cel_null();
}

/* Every entry of the map e into the output (transformMapEntry). */
static struct cel_value
map_out_merge(struct cel_ctx *c, const struct cel_node *n, struct map_out *o,
    const struct cel_value *e)
{
	struct cel_map_iter it;
	struct cel_value k, v, r;

	if (e->kind != CEL_MAP)
		return cel_err_at(n, "no such overload: transformMapEntry "
		    "wants a map");
	cel_map_iter_init(&it, e);
	while (cel_map_iter_next(&it, &k, c->arena)) {
		if (cel_map_get(e, &k, &v, c->arena) != 1)
			continue;
		r = map_out_put(c, n, o, &k, &v, 1);
		if (r.kind == CEL_ERROR)
			return r;
	}
	return cel_null();
}

/* Evaluate a filter; 1 keep, 0 skip, -1 error in *err. */
static int
comp_filter(struct cel_ctx *c, const struct cel_node *f, struct cel_value *err)
{
	struct cel_value r = cel_eval_node(c, f);

	if (r.kind == CEL_ERROR) {
		*err = r;
		return -1;
	}
	if (r.kind != CEL_BOOL) {
		*err = cel_err_at(f, "no matching overload");
		return -1;
	}
	return r.b;
}

static struct cel_value
comprehension(struct cel_ctx *c, const struct cel_node *n)
{
	struct cel_value range, err = { .kind = CEL_NULL };
	struct cel_map_iter it;
	struct cel_list *out = NULL;
	struct map_out mo = { NULL, 0 };
	size_t i = 0, sz, count = 0;
	int is_map, have_err = 0, two = n->name2 != NULL;

	range = cel_eval_node(c, n->a);
	if (range.kind == CEL_ERROR)
		return range;
	if (range.kind == CEL_LIST) {
		is_map = 0;
		sz = cel_list_size(&range);
	} else if (range.kind == CEL_MAP) {
		is_map = 1;
		sz = cel_map_size(&range);
		cel_map_iter_init(&it, &range);
	} else
		return no_overload(n);
	if (n->op == CEL_OP_MAPM || n->op == CEL_OP_FILTER ||
	    n->op == CEL_OP_TLIST) {
		out = cel_arena_alloc(c->arena, sizeof(*out) + sz *
		    sizeof(out->v[0]));
		if (out == NULL)
			return cel_err_at(n, "out of memory");
		out->n = 0;
	} else if (n->op == CEL_OP_TMAP || n->op == CEL_OP_TMAPENTRY) {
		mo.m = cel_arena_alloc(c->arena, sizeof(*mo.m));
		if (mo.m == NULL)
			return cel_err_at(n, "out of memory");
		mo.m->n = 0;
		mo.m->keys = mo.m->vals = NULL;
	}
	for (i = 0; i < sz; i++) {
		struct cel_value e, r;
		int keep;

		if (is_map) {
			if (!cel_map_iter_next(&it, &e, c->arena))
				break;
		} else
			e = cel_list_at(&range, i, c->arena);
		if (!two)
			c->slots[n->id] = e;
		else if (is_map) {
			c->slots[n->id] = e;
			if (cel_map_get(&range, &e, &c->slots[n->id + 1],
			    c->arena) != 1)
				c->slots[n->id + 1] = cel_null();
		} else {
			c->slots[n->id] = cel_int((int64_t)i);
			c->slots[n->id + 1] = e;
		}
		switch (n->op) {
		case CEL_OP_ALL:
		case CEL_OP_EXISTS:
			r = cel_eval_node(c, n->b);
			if (r.kind == CEL_BOOL) {
				if (r.b != (n->op == CEL_OP_ALL))
					return r;
			} else if (!have_err) {
				have_err = 1;
				err = r.kind == CEL_ERROR ? r :
				    cel_err_at(n->b, "no matching overload");
			}
			break;
		case CEL_OP_EXISTS_ONE:
		case CEL_OP_FILTER:
			keep = comp_filter(c, n->b, &r);
			if (keep == -1)
				return r;
			count += (size_t)keep;
			if (keep && n->op == CEL_OP_FILTER)
				out->v[out->n++] = e;
			break;
		case CEL_OP_MAPM:
		case CEL_OP_TLIST:
		case CEL_OP_TMAP:
		case CEL_OP_TMAPENTRY:
			if (n->c != NULL) {
				keep = comp_filter(c, n->c, &r);
				if (keep == -1)
					return r;
				if (!keep)
					break;
			}
			r = cel_eval_node(c, n->b);
			if (r.kind == CEL_ERROR)
				return r;
			if (out != NULL)
				out->v[out->n++] = r;
			else if (n->op == CEL_OP_TMAP)
				r = map_out_put(c, n, &mo, &c->slots[n->id],
				    &r, 0);
			else
				r = map_out_merge(c, n->b, &mo, &r);
			if (r.kind == CEL_ERROR)
				return r;
			break;
		default:
			break;
		}
		if (c->cost > c->max_cost)
			return cel_err_at(n, "cost limit exceeded");
	}
	switch (n->op) {
	case CEL_OP_ALL:
	case CEL_OP_EXISTS:
		if (have_err)
			return err;
		return cel_bool(n->op == CEL_OP_ALL);
	case CEL_OP_EXISTS_ONE:
		return cel_bool(count == 1);
	case CEL_OP_TMAP:
	case CEL_OP_TMAPENTRY: {
		struct cel_value v = { .kind = CEL_MAP };

		v.map = mo.m;
		return v;
	}
	default: {
		struct cel_value v = { .kind = CEL_LIST };

		v.list = out;
		return v;
	}
	}
}

/* cel.bind(x, init, body); an error in init is an error only if used. */
static struct cel_value
bind(struct cel_ctx *c, const struct cel_node *n)
{
	c->slots[n->id] = cel_eval_node(c, n->a);
	return cel_eval_node(c, n->b);
}

/* opt.optMap(x, e) and opt.optFlatMap(x, e). */
static struct cel_value
opt_map(struct cel_ctx *c, const struct cel_node *n)
{
	struct cel_value a, r;

	a = cel_eval_node(c, n->a);
	if (a.kind == CEL_ERROR)
		return a;
	if (a.kind != CEL_OPTIONAL)
		return no_overload(n);
	if (a.opt == NULL)
		return a;
	c->slots[n->id] = *a.opt;
	r = cel_eval_node(c, n->b);
	if (r.kind == CEL_ERROR)
		return r;
	if (n->op == CEL_OP_OPTMAP)
		return cel_optional_of(&r, c->arena);
	if (r.kind != CEL_OPTIONAL)
		return cel_err_at(n->b, "no such overload: optFlatMap wants "
		    "an optional");
	return r;
}

/* ------------------------------------------------------------ roots */

static struct cel_value
root_value(struct cel_ctx *c, int id)
{
	const struct policy_input *in = c->act != NULL ? c->act->input : NULL;
	static const struct policy_request no_request;

	if (in == NULL)
		return cel_null();
	switch (id) {
	case CEL_ROOT_PRINCIPAL:
		return in->principal != NULL ?
		    cel_host_value(CEL_HOST_PRINCIPAL, in->principal) :
		    cel_null();
	case CEL_ROOT_SERVICE:
		return in->service != NULL ?
		    cel_host_value(CEL_HOST_SERVICE, in->service) :
		    cel_null();
	case CEL_ROOT_ENDPOINT:
		return in->endpoint != NULL ?
		    cel_host_value(CEL_HOST_ENDPOINT, in->endpoint) :
		    cel_null();
	case CEL_ROOT_REQUEST:
		return cel_host_value(CEL_HOST_REQUEST, in->request != NULL ?
		    (const void *)in->request : (const void *)&no_request);
	case CEL_ROOT_ACTION:
		return in->action != NULL ?
		    cel_string(in->action, strlen(in->action)) : cel_null();
	}
	return cel_null();
}

/* ------------------------------------------------------------ eval */

#define MAX_ARGS	4

struct cel_value
cel_eval_node(struct cel_ctx *c, const struct cel_node *n)
{
	struct cel_value a, b;
	int cmp, r;

	if (++c->cost > c->max_cost)
		return cel_err_at(n, "cost limit exceeded");
	switch ((enum cel_op)n->op) {
	case CEL_OP_LIT:
		return n->lit;
	case CEL_OP_ERROR:
		return cel_err_at(n, n->lit.err);
	case CEL_OP_VAR:
		if (c->act == NULL || c->act->vars == NULL)
			return cel_err_at(n, "undeclared reference");
		return c->act->vars[n->id];
	case CEL_OP_ROOT:
		return root_value(c, n->id);
	case CEL_OP_LOCAL:
		return c->slots[n->id];
	case CEL_OP_HOSTFIELD:
		a = root_value(c, n->a->id);
		if (a.kind != CEL_MAP)
			return cel_err_at(n, "no such key: the variable is "
			    "null");
		r = cel_host_field_by_id(&a, n->id, &b, c->arena);
		if (r == 1)
			return b;
		if (r == -1)
			return cel_err_at(n, b.err);
		return cel_err_at(n, "no such key");
	case CEL_OP_SELECT:
	case CEL_OP_HAS:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		if (a.kind != CEL_MAP)
			return opt_select(c, n, a);
		r = cel_map_field(&a, n->name, n->len, &b, c->arena);
		if (n->op == CEL_OP_HAS)
			return cel_bool(r == 1);
		if (r == 1)
			return b;
		if (r == -1)
			return cel_err_at(n, b.err);
		return cel_err_at(n, "no such key");
	case CEL_OP_INDEX:
		if (n->a->op == CEL_OP_HOSTFIELD && n->b->op == CEL_OP_LIT &&
		    n->b->lit.kind == CEL_INT &&
		    n->a->a->id == CEL_ROOT_PRINCIPAL) {
			/* principal.segments[k]: no list is built. */
			a = root_value(c, CEL_ROOT_PRINCIPAL);
			r = a.kind == CEL_MAP ? cel_host_segment(&a, n->a->id,
			    n->b->lit.i, &b) : 0;
			if (r == 1)
				return b;
			if (r == 2 || (r == 0 && a.kind == CEL_MAP))
				return cel_err_at(r == 2 ? n : n->a, r == 2 ?
				    "invalid_argument: index out of range" :
				    "no such key");
		}
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		b = cel_eval_node(c, n->b);
		if (b.kind == CEL_ERROR)
			return b;
		return index_value(c, n, a, b);
	case CEL_OP_CALL: {
		const struct cel_func *f = cel_func_get(n->id);
		struct cel_value argv[MAX_ARGS];
		int argc = 0, i;

		if (n->a != NULL) {
			argv[argc] = cel_eval_node(c, n->a);
			if (argv[argc].kind == CEL_ERROR)
				return argv[argc];
			argc++;
		}
		if (f->lazy)
			return f->fn(c, n, argv, argc);
		for (i = 0; i < n->nargs && argc < MAX_ARGS; i++) {
			argv[argc] = cel_eval_node(c, n->args[i]);
			if (argv[argc].kind == CEL_ERROR)
				return argv[argc];
			argc++;
		}
		return f->fn(c, n, argv, argc);
	}
	case CEL_OP_LIST:
		return build_list(c, n);
	case CEL_OP_MAP:
		return build_map(c, n);
	case CEL_OP_NOT:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		if (a.kind != CEL_BOOL)
			return cel_err_at(n, "no matching overload");
		return cel_bool(!a.b);
	case CEL_OP_NEG:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		if (a.kind == CEL_INT) {
			if (a.i == INT64_MIN)
				return cel_err_at(n, "integer overflow");
			return cel_int(-a.i);
		}
		if (a.kind == CEL_DOUBLE)
			return cel_double(-a.d);
		if (a.kind == CEL_DURATION)
			return dur_from_ns(n, -to_ns(&a));
		return no_overload(n);
	case CEL_OP_AND:
	case CEL_OP_OR:
		return logic(c, n);
	case CEL_OP_COND:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		if (a.kind != CEL_BOOL)
			return cel_err_at(n, "no matching overload");
		return cel_eval_node(c, a.b ? n->b : n->c);
	case CEL_OP_EQ:
	case CEL_OP_NE:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		b = cel_eval_node(c, n->b);
		if (b.kind == CEL_ERROR)
			return b;
		if (a.kind == CEL_STRING && b.kind == CEL_STRING)
			r = a.aux == b.aux && memcmp(a.s, b.s,
			    (size_t)a.aux) == 0;
		else
			r = cel_equal(&a, &b);
		return cel_bool(n->op == CEL_OP_EQ ? r == 1 : r != 1);
	case CEL_OP_LT:
	case CEL_OP_LE:
	case CEL_OP_GT:
	case CEL_OP_GE:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		b = cel_eval_node(c, n->b);
		if (b.kind == CEL_ERROR)
			return b;
		if (cel_compare(&a, &b, &cmp) == -1)
			return no_overload(n);
		if (cmp == 2)
			return cel_bool(0);	/* NaN */
		switch (n->op) {
		case CEL_OP_LT: return cel_bool(cmp < 0);
		case CEL_OP_LE: return cel_bool(cmp <= 0);
		case CEL_OP_GT: return cel_bool(cmp > 0);
		default: return cel_bool(cmp >= 0);
		}
	case CEL_OP_IN:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		b = cel_eval_node(c, n->b);
		if (b.kind == CEL_ERROR)
			return b;
		return in_value(c, n, a, b);
	case CEL_OP_ADD:
	case CEL_OP_SUB:
	case CEL_OP_MUL:
	case CEL_OP_DIV:
	case CEL_OP_MOD:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		b = cel_eval_node(c, n->b);
		if (b.kind == CEL_ERROR)
			return b;
		return arith(c, n, a, b);
	case CEL_OP_ALL:
	case CEL_OP_EXISTS:
	case CEL_OP_EXISTS_ONE:
	case CEL_OP_MAPM:
	case CEL_OP_FILTER:
	case CEL_OP_TLIST:
	case CEL_OP_TMAP:
	case CEL_OP_TMAPENTRY:
		return comprehension(c, n);
	case CEL_OP_BIND:
		return bind(c, n);
	case CEL_OP_OPTMAP:
	case CEL_OP_OPTFLATMAP:
		return opt_map(c, n);
	case CEL_OP_OPTSELECT:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		return opt_select(c, n, a);
	case CEL_OP_OPTINDEX:
		a = cel_eval_node(c, n->a);
		if (a.kind == CEL_ERROR)
			return a;
		b = cel_eval_node(c, n->b);
		if (b.kind == CEL_ERROR)
			return b;
		return opt_index(c, n, a, b);
	case CEL_OP_OPTELEM:
		return cel_err_at(n, "optional element outside a list or "
		    "map literal");
	case CEL_OP_IDENT:
	case CEL_OP_COUNT:
		break;
	}
	return cel_err_at(n, "internal error: unresolved node");
}

/* ------------------------------------------------------------ programs */

struct cel_program *
cel_compile(const char *src, size_t len, const struct cel_env *env,
    struct policy_error *err)
{
	struct cel_program *p;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto nomem;
	p->src = malloc(len + 1);
	if (p->src == NULL)
		goto nomem;
	memcpy(p->src, src, len);
	p->src[len] = '\0';
	p->srclen = len;
	p->max_cost = env->max_cost ? env->max_cost : POLICY_DEFAULT_MAX_COST;
	p->tz = env->tz;
	if (cel_parse(p, env, err) == -1 || cel_check(p, env, err) == -1)
		goto fail;
	if (env->strict && p->cost > p->max_cost) {
		cel_program_error(p, 0, err, "estimated cost %llu exceeds "
		    "the limit of %llu", (unsigned long long)p->cost,
		    (unsigned long long)p->max_cost);
		goto fail;
	}
	return p;
nomem:
	if (err != NULL)
		snprintf(err->message, sizeof(err->message), "out of memory");
fail:
	cel_program_free(p);
	return NULL;
}

void
cel_program_free(struct cel_program *p)
{
	size_t i;

	if (p == NULL)
		return;
	cel_pool_free(p);
	for (i = 0; i < p->nregexes; i++)
		regex_free(p->regexes[i]);
	free(p->regexes);
	free(p->src);
	free(p);
}

uint64_t
cel_program_cost(const struct cel_program *p)
{
	return p->cost;
}

int
cel_program_result_kind(const struct cel_program *p)
{
	return p->root->kind;
}

struct cel_value
cel_eval(const struct cel_program *p, const struct cel_activation *act,
    struct cel_arena *arena, uint64_t *cost)
{
	struct cel_ctx c;
	struct cel_value v;

	c.prog = p;
	c.act = act;
	c.arena = arena;
	c.cost = 0;
	c.max_cost = p->max_cost;
	v = cel_eval_node(&c, p->root);
	if (v.kind != CEL_ERROR && c.cost > c.max_cost)
		v = cel_err_at(p->root, "cost limit exceeded");
	if (cost != NULL)
		*cost = c.cost;
	return v;
}
