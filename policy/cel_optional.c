/*
 * cel_optional.c - optional values (cel-go's OptionalTypes): the
 * constructors optional.of, optional.none and optional.ofNonZeroValue,
 * and the methods hasValue, value, or and orValue.  Selection (a.?f),
 * indexing (a[?k]), optional literal elements and optMap/optFlatMap are
 * syntax, in the parser and the evaluator.
 */
#include "cel_ast.h"

static struct cel_value
no_overload(const struct cel_node *n)
{
	return cel_err_at(n, "no such overload");
}

struct cel_value
cel_fn_opt_of(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	struct cel_value r;

	(void)argc;
	r = cel_optional_of(&v[0], c->arena);
	if (r.kind == CEL_ERROR)
		r = cel_err_at(n, r.err);
	return r;
}

struct cel_value
cel_fn_opt_none(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)n;
	(void)v;
	(void)argc;
	return cel_optional_none();
}

struct cel_value
cel_fn_opt_of_non_zero(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	if (cel_is_zero(&v[0]))
		return cel_optional_none();
	return cel_fn_opt_of(c, n, v, argc);
}

struct cel_value
cel_fn_opt_has_value(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	if (v[0].kind != CEL_OPTIONAL)
		return no_overload(n);
	return cel_bool(v[0].opt != NULL);
}

struct cel_value
cel_fn_opt_value(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	if (v[0].kind != CEL_OPTIONAL)
		return no_overload(n);
	if (v[0].opt == NULL)
		return cel_err_at(n, "optional.none() dereference");
	return *v[0].opt;
}

/* a.or(b): a when it has a value, else b (evaluated only then). */
struct cel_value
cel_fn_opt_or(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	struct cel_value b;

	(void)argc;
	if (v[0].kind != CEL_OPTIONAL)
		return no_overload(n);
	if (v[0].opt != NULL)
		return v[0];
	b = cel_eval_node(c, n->args[0]);
	if (b.kind != CEL_ERROR && b.kind != CEL_OPTIONAL)
		return no_overload(n);
	return b;
}

/* a.orValue(b): a's value when it has one, else b. */
struct cel_value
cel_fn_opt_or_value(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)argc;
	if (v[0].kind != CEL_OPTIONAL)
		return no_overload(n);
	if (v[0].opt != NULL)
		return *v[0].opt;
	return cel_eval_node(c, n->args[0]);
}
