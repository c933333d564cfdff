/*
 * cel_math.c - the math extension (cel-go's ext.Math): math.greatest and
 * math.least over numbers or a list of numbers, math.abs and math.sign,
 * the rounding functions of a double, the floating-point predicates and
 * the bit operations on int and uint.
 */
#include <math.h>

#include "cel_ast.h"

static struct cel_value
no_overload(const struct cel_node *n)
{
	return cel_err_at(n, "no such overload");
}

static int
is_number(const struct cel_value *v)
{
	return v->kind == CEL_INT || v->kind == CEL_UINT ||
	    v->kind == CEL_DOUBLE;
}

/*
 * The greatest (want = 1) or least (want = -1) of the arguments, or of
 * the elements of a single list argument.  The arguments are evaluated
 * here: their number is not bounded by the evaluator's argument array.
 */
static struct cel_value
extreme(struct cel_ctx *c, const struct cel_node *n, int want)
{
	struct cel_value best = { .kind = CEL_NULL }, x, list;
	size_t i, count;
	int cmp, is_list = 0;

	if (n->nargs == 0)
		return cel_err_at(n, "math.greatest() and math.least() need "
		    "an argument");
	if (n->nargs == 1) {
		list = cel_eval_node(c, n->args[0]);
		if (list.kind == CEL_ERROR)
			return list;
		is_list = list.kind == CEL_LIST;
	}
	count = is_list ? cel_list_size(&list) : n->nargs;
	if (count == 0)
		return cel_err_at(n, "math.greatest() and math.least() of an "
		    "empty list");
	c->cost += count / 4;
	for (i = 0; i < count; i++) {
		if (is_list)
			x = cel_list_at(&list, i, c->arena);
		else if (n->nargs == 1)
			x = list;
		else {
			x = cel_eval_node(c, n->args[i]);
			if (x.kind == CEL_ERROR)
				return x;
		}
		if (!is_number(&x))
			return no_overload(n);
		if (i == 0) {
			best = x;
			continue;
		}
		if (cel_compare(&x, &best, &cmp) == 0 && cmp == want)
			best = x;
	}
	return best;
}

struct cel_value
cel_fn_math_greatest(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)v;
	(void)argc;
	return extreme(c, n, 1);
}

struct cel_value
cel_fn_math_least(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)v;
	(void)argc;
	return extreme(c, n, -1);
}

struct cel_value
cel_fn_math_abs(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	switch (v[0].kind) {
	case CEL_INT:
		if (v[0].i == INT64_MIN)
			return cel_err_at(n, "integer overflow");
		return cel_int(v[0].i < 0 ? -v[0].i : v[0].i);
	case CEL_UINT:
		return v[0];
	case CEL_DOUBLE:
		return cel_double(fabs(v[0].d));
	default:
		return no_overload(n);
	}
}

struct cel_value
cel_fn_math_sign(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	switch (v[0].kind) {
	case CEL_INT:
		return cel_int(v[0].i > 0 ? 1 : v[0].i < 0 ? -1 : 0);
	case CEL_UINT:
		return cel_uint(v[0].u > 0);
	case CEL_DOUBLE:
		if (isnan(v[0].d))
			return v[0];
		return cel_double(v[0].d > 0 ? 1.0 : v[0].d < 0 ? -1.0 : 0.0);
	default:
		return no_overload(n);
	}
}

enum round_mode {
	ROUND_CEIL, ROUND_FLOOR, ROUND_NEAREST, ROUND_TRUNC
};

static struct cel_value
round_double(const struct cel_node *n, const struct cel_value *v,
    enum round_mode mode)
{
	if (v->kind != CEL_DOUBLE)
		return no_overload(n);
	switch (mode) {
	case ROUND_CEIL:
		return cel_double(ceil(v->d));
	case ROUND_FLOOR:
		return cel_double(floor(v->d));
	case ROUND_NEAREST:
		return cel_double(round(v->d));	/* ties away from zero */
	case ROUND_TRUNC:
		return cel_double(trunc(v->d));
	}
	return no_overload(n);
}

#define ROUNDING(fname, mode)						\
struct cel_value							\
fname(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,	\
    int argc)								\
{									\
	(void)c;							\
	(void)argc;							\
	return round_double(n, &v[0], mode);				\
}
ROUNDING(cel_fn_math_ceil, ROUND_CEIL)
ROUNDING(cel_fn_math_floor, ROUND_FLOOR)
ROUNDING(cel_fn_math_round, ROUND_NEAREST)
ROUNDING(cel_fn_math_trunc, ROUND_TRUNC)

struct cel_value
cel_fn_math_is_nan(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	if (v[0].kind != CEL_DOUBLE)
		return no_overload(n);
	return cel_bool(isnan(v[0].d));
}

struct cel_value
cel_fn_math_is_inf(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	if (v[0].kind != CEL_DOUBLE)
		return no_overload(n);
	return cel_bool(isinf(v[0].d));
}

struct cel_value
cel_fn_math_is_finite(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	if (v[0].kind != CEL_DOUBLE)
		return no_overload(n);
	return cel_bool(isfinite(v[0].d));
}

enum bit_op {
	BIT_AND, BIT_OR, BIT_XOR
};

static struct cel_value
bit2(const struct cel_node *n, const struct cel_value *v, enum bit_op op)
{
	uint64_t a, b, r;

	if (v[0].kind != v[1].kind || (v[0].kind != CEL_INT &&
	    v[0].kind != CEL_UINT))
		return no_overload(n);
	a = v[0].u;
	b = v[1].u;
	r = op == BIT_AND ? a & b : op == BIT_OR ? a | b : a ^ b;
	return v[0].kind == CEL_INT ? cel_int((int64_t)r) : cel_uint(r);
}

#define BITWISE(fname, op)						\
struct cel_value							\
fname(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,	\
    int argc)								\
{									\
	(void)c;							\
	(void)argc;							\
	return bit2(n, v, op);						\
}
BITWISE(cel_fn_math_bit_and, BIT_AND)
BITWISE(cel_fn_math_bit_or, BIT_OR)
BITWISE(cel_fn_math_bit_xor, BIT_XOR)

struct cel_value
cel_fn_math_bit_not(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	if (v[0].kind == CEL_INT)
		return cel_int(~v[0].i);
	if (v[0].kind == CEL_UINT)
		return cel_uint(~v[0].u);
	return no_overload(n);
}

/* Shifts move zeros in from either side; 64 bits or more give 0. */
static struct cel_value
shift(const struct cel_node *n, const struct cel_value *v, int left)
{
	uint64_t x, r;

	if ((v[0].kind != CEL_INT && v[0].kind != CEL_UINT) ||
	    v[1].kind != CEL_INT)
		return no_overload(n);
	if (v[1].i < 0)
		return cel_err_at(n, "math.bitShift: negative offset");
	x = v[0].u;
	if (v[1].i >= 64)
		r = 0;
	else
		r = left ? x << v[1].i : x >> v[1].i;
	return v[0].kind == CEL_INT ? cel_int((int64_t)r) : cel_uint(r);
}

struct cel_value
cel_fn_math_shift_left(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	return shift(n, v, 1);
}

struct cel_value
cel_fn_math_shift_right(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	return shift(n, v, 0);
}
