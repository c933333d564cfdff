/*
 * cel_check.c - the light checker: resolves identifiers (loop variables,
 * the admission variables, declared variables, type names, qualified
 * names), functions and host fields; folds constant lists and maps;
 * infers static kinds where they are certain; rejects, in strict mode,
 * unknown variables and functions, wrong arities and operator or function
 * applications whose operand kinds are known not to fit; and estimates
 * the worst-case cost.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel_ast.h"

/* Sizes assumed for data of unknown size when estimating cost. */
#define ASSUMED_LIST	64	/* DESIGN: at most 64 labels per map */
#define ASSUMED_STRING	256

struct scope {
	const char	*name;
	size_t		 len;
	int		 slot;
};

struct checker {
	struct cel_program	*p;
	const struct cel_env	*env;
	struct policy_error	*err;
	int			 strict;
	int			 failed;
	struct scope		 scopes[CEL_MAX_SLOTS];
	int			 nscopes;
};

static const char *const root_names[CEL_ROOT_COUNT] = {
	[CEL_ROOT_PRINCIPAL] = "principal",
	[CEL_ROOT_SERVICE] = "service",
	[CEL_ROOT_ENDPOINT] = "endpoint",
	[CEL_ROOT_REQUEST] = "request",
	[CEL_ROOT_ACTION] = "action",
};

static const struct {
	const char	*name;
	enum cel_type	 type;
} type_idents[] = {
	{ "int", CEL_T_INT },
	{ "uint", CEL_T_UINT },
	{ "double", CEL_T_DOUBLE },
	{ "bool", CEL_T_BOOL },
	{ "string", CEL_T_STRING },
	{ "bytes", CEL_T_BYTES },
	{ "list", CEL_T_LIST },
	{ "map", CEL_T_MAP },
	{ "null_type", CEL_T_NULL },
	{ "type", CEL_T_TYPE },
	{ "google.protobuf.Timestamp", CEL_T_TIMESTAMP },
	{ "google.protobuf.Duration", CEL_T_DURATION },
	{ "net.IP", CEL_T_IP },
	{ "net.CIDR", CEL_T_CIDR },
	{ "kubernetes.URL", CEL_T_URL },
	{ "optional_type", CEL_T_OPTIONAL },
};

static int
name_eq(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

static void
cfail(struct checker *ck, const struct cel_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cfail(struct checker *ck, const struct cel_node *n, const char *fmt, ...)
{
	char msg[POLICY_ERROR_MESSAGE_MAX];
	va_list ap;

	if (ck->failed)
		return;
	ck->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cel_program_error(ck->p, n->pos, ck->err, "%s", msg);
}

/* Turn n into a node that raises msg when evaluated (lenient mode). */
static void
make_error(struct cel_node *n, const char *msg)
{
	n->op = CEL_OP_ERROR;
	n->lit = cel_error(msg);
	n->a = n->b = n->c = NULL;
	n->nargs = 0;
	n->kind = CEL_DYN;
}

static int
lookup_var(struct checker *ck, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ck->env->nvars; i++)
		if (name_eq(name, len, ck->env->vars[i]))
			return (int)i;
	return -1;
}

static int
lookup_local(struct checker *ck, const char *name, size_t len)
{
	int i;

	for (i = ck->nscopes - 1; i >= 0; i--)
		if (ck->scopes[i].len == len &&
		    memcmp(ck->scopes[i].name, name, len) == 0)
			return ck->scopes[i].slot;
	return -1;
}

/*
 * The dotted name of a chain of selections over an identifier
 * ("a.b.c"), or -1 when n is not such a chain.
 */
static int
dotted(const struct cel_node *n, char *buf, size_t cap, size_t *len)
{
	size_t l;

	if (n->op == CEL_OP_IDENT) {
		if (n->len >= cap)
			return -1;
		memcpy(buf, n->name, n->len);
		*len = n->len;
		return 0;
	}
	if (n->op != CEL_OP_SELECT)
		return -1;
	if (dotted(n->a, buf, cap, &l) == -1 || l + 1 + n->len >= cap)
		return -1;
	buf[l] = '.';
	memcpy(buf + l + 1, n->name, n->len);
	*len = l + 1 + n->len;
	return 0;
}

static const struct cel_node *
chain_root(const struct cel_node *n)
{
	while (n->op == CEL_OP_SELECT)
		n = n->a;
	return n;
}

static void check(struct checker *ck, struct cel_node *n);

static void
resolve_ident(struct checker *ck, struct cel_node *n)
{
	int k;
	size_t i;

	k = lookup_local(ck, n->name, n->len);
	if (k >= 0) {
		n->op = CEL_OP_LOCAL;
		n->id = k;
		return;
	}
	if (ck->env->admission)
		for (k = 0; k < CEL_ROOT_COUNT; k++)
			if (name_eq(n->name, n->len, root_names[k])) {
				n->op = CEL_OP_ROOT;
				n->id = k;
				n->kind = k == CEL_ROOT_ACTION ? CEL_STRING :
				    CEL_DYN;
				return;
			}
	k = lookup_var(ck, n->name, n->len);
	if (k >= 0) {
		n->op = CEL_OP_VAR;
		n->id = k;
		return;
	}
	for (i = 0; i < sizeof(type_idents) / sizeof(type_idents[0]); i++)
		if (name_eq(n->name, n->len, type_idents[i].name)) {
			n->op = CEL_OP_LIT;
			n->lit = cel_type_value(type_idents[i].type);
			n->kind = CEL_TYPE;
			return;
		}
	if (ck->strict) {
		cfail(ck, n, "undeclared reference to '%.*s'", (int)n->len,
		    n->name);
		return;
	}
	make_error(n, "undeclared reference");
}

/* Kinds that fit a binary arithmetic operator; result or -1. */
static int
arith_kind(enum cel_op op, int a, int b)
{
	if (a == CEL_DYN || b == CEL_DYN)
		return CEL_DYN;
	switch (op) {
	case CEL_OP_ADD:
		if (a == b && (a == CEL_INT || a == CEL_UINT ||
		    a == CEL_DOUBLE || a == CEL_STRING || a == CEL_BYTES ||
		    a == CEL_LIST || a == CEL_DURATION))
			return a;
		if ((a == CEL_TIMESTAMP && b == CEL_DURATION) ||
		    (a == CEL_DURATION && b == CEL_TIMESTAMP))
			return CEL_TIMESTAMP;
		return -1;
	case CEL_OP_SUB:
		if (a == b && (a == CEL_INT || a == CEL_UINT ||
		    a == CEL_DOUBLE || a == CEL_DURATION))
			return a;
		if (a == CEL_TIMESTAMP && b == CEL_TIMESTAMP)
			return CEL_DURATION;
		if (a == CEL_TIMESTAMP && b == CEL_DURATION)
			return CEL_TIMESTAMP;
		return -1;
	case CEL_OP_MUL:
	case CEL_OP_DIV:
		if (a == b && (a == CEL_INT || a == CEL_UINT ||
		    a == CEL_DOUBLE))
			return a;
		return -1;
	case CEL_OP_MOD:
		if (a == b && (a == CEL_INT || a == CEL_UINT))
			return a;
		return -1;
	default:
		return -1;
	}
}

static int
is_numeric(int k)
{
	return k == CEL_INT || k == CEL_UINT || k == CEL_DOUBLE;
}

static const char *const op_names[CEL_OP_COUNT] = {
	[CEL_OP_ADD] = "_+_", [CEL_OP_SUB] = "_-_", [CEL_OP_MUL] = "_*_",
	[CEL_OP_DIV] = "_/_", [CEL_OP_MOD] = "_%_", [CEL_OP_EQ] = "_==_",
	[CEL_OP_NE] = "_!=_", [CEL_OP_LT] = "_<_", [CEL_OP_LE] = "_<=_",
	[CEL_OP_GT] = "_>_", [CEL_OP_GE] = "_>=_", [CEL_OP_IN] = "@in",
	[CEL_OP_AND] = "_&&_", [CEL_OP_OR] = "_||_", [CEL_OP_NOT] = "!_",
	[CEL_OP_NEG] = "-_", [CEL_OP_COND] = "_?_:_",
};

static void
no_overload2(struct checker *ck, struct cel_node *n, int a, int b)
{
	cfail(ck, n, "found no matching overload for '%s' applied to "
	    "'(%s, %s)'", op_names[n->op], cel_kind_name(a),
	    cel_kind_name(b));
}

/* Fold a list or map literal whose parts are all constants. */
static void
fold_literal(struct checker *ck, struct cel_node *n)
{
	int i;

	for (i = 0; i < n->nargs; i++)
		if (n->args[i]->op != CEL_OP_LIT)
			return;
	if (n->op == CEL_OP_LIST) {
		struct cel_list *l;

		l = cel_pool_alloc(ck->p, sizeof(*l) + (size_t)n->nargs *
		    sizeof(l->v[0]));
		if (l == NULL)
			return;
		l->n = n->nargs;
		for (i = 0; i < n->nargs; i++)
			l->v[i] = n->args[i]->lit;
		n->lit.kind = CEL_LIST;
		n->lit.rep = CEL_REP_ARENA;
		n->lit.list = l;
	} else {
		struct cel_map *m;
		int j, np = n->nargs / 2;

		/* Leave invalid maps to the evaluator, which reports them. */
		for (i = 0; i < np; i++) {
			const struct cel_value *k = &n->args[2 * i]->lit;

			if (k->kind != CEL_INT && k->kind != CEL_UINT &&
			    k->kind != CEL_STRING && k->kind != CEL_BOOL)
				return;
			for (j = 0; j < i; j++)
				if (cel_equal(k, &n->args[2 * j]->lit) == 1)
					return;
		}
		m = cel_pool_alloc(ck->p, sizeof(*m));
		if (m == NULL)
			return;
		m->n = (size_t)np;
		m->keys = cel_pool_alloc(ck->p, (size_t)(np + 1) *
		    sizeof(*m->keys));
		m->vals = cel_pool_alloc(ck->p, (size_t)(np + 1) *
		    sizeof(*m->vals));
		if (m->keys == NULL || m->vals == NULL)
			return;
		for (i = 0; i < np; i++) {
			m->keys[i] = n->args[2 * i]->lit;
			m->vals[i] = n->args[2 * i + 1]->lit;
		}
		n->lit.kind = CEL_MAP;
		n->lit.rep = CEL_REP_ARENA;
		n->lit.map = m;
	}
	n->op = CEL_OP_LIT;
}

static void
check_select(struct checker *ck, struct cel_node *n)
{
	char buf[512];
	size_t len;
	const struct cel_node *r;
	int k;

	/* A qualified name declared as a whole ("a.b.c") wins. */
	r = chain_root(n);
	if (n->op == CEL_OP_SELECT && r->op == CEL_OP_IDENT &&
	    lookup_local(ck, r->name, r->len) < 0 &&
	    dotted(n, buf, sizeof(buf), &len) == 0) {
		size_t i;

		k = lookup_var(ck, buf, len);
		if (k >= 0) {
			n->op = CEL_OP_VAR;
			n->id = k;
			n->a = NULL;
			return;
		}
		for (i = 0; i < sizeof(type_idents) / sizeof(type_idents[0]);
		    i++)
			if (name_eq(buf, len, type_idents[i].name)) {
				n->op = CEL_OP_LIT;
				n->lit = cel_type_value(type_idents[i].type);
				n->kind = CEL_TYPE;
				n->a = NULL;
				return;
			}
	}
	check(ck, n->a);
	if (ck->failed)
		return;
	if (n->a->op == CEL_OP_ROOT && n->a->id != CEL_ROOT_ACTION) {
		enum cel_host h = (enum cel_host)n->a->id;

		k = cel_host_field_id(h, n->name, n->len);
		if (k < 0) {
			if (ck->strict) {
				cfail(ck, n, "%s has no field '%.*s'",
				    root_names[n->a->id], (int)n->len,
				    n->name);
				return;
			}
		} else if (n->op == CEL_OP_SELECT) {
			n->op = CEL_OP_HOSTFIELD;
			n->id = k;
			n->kind = (uint8_t)cel_host_field_kind(h, k);
			return;
		}
	}
	if (n->op == CEL_OP_HAS)
		n->kind = CEL_BOOL;
	else if (n->op == CEL_OP_OPTSELECT || n->a->kind == CEL_OPTIONAL)
		n->kind = CEL_OPTIONAL;
	if (ck->strict && n->a->kind != CEL_DYN && n->a->kind != CEL_MAP &&
	    n->a->kind != CEL_OPTIONAL)
		cfail(ck, n, "type '%s' does not support field selection",
		    cel_kind_name(n->a->kind));
}

/*
 * A call on a plain identifier that is no variable may be a qualified
 * function name: ip.isCanonical(s) calls "ip.isCanonical".
 */
static void
qualify_call(struct checker *ck, struct cel_node *n)
{
	const struct cel_node *t = n->a;
	size_t len;
	char *name;

	if (t == NULL || t->op != CEL_OP_IDENT ||
	    lookup_local(ck, t->name, t->len) >= 0 ||
	    lookup_var(ck, t->name, t->len) >= 0)
		return;
	len = t->len + 1 + n->len;
	name = cel_pool_alloc(ck->p, len + 1);
	if (name == NULL)
		return;
	memcpy(name, t->name, t->len);
	name[t->len] = '.';
	memcpy(name + t->len + 1, n->name, n->len);
	if (!cel_func_exists(name, len))
		return;
	n->name = name;
	n->len = (uint32_t)len;
	n->a = NULL;
}

static void
check_call(struct checker *ck, struct cel_node *n)
{
	int argc, i, f;
	const struct cel_func *fn;
	char why[POLICY_ERROR_MESSAGE_MAX];

	qualify_call(ck, n);
	argc = n->nargs + (n->a != NULL ? 1 : 0);
	if (n->a != NULL)
		check(ck, n->a);
	for (i = 0; i < n->nargs; i++)
		check(ck, n->args[i]);
	if (ck->failed)
		return;
	f = cel_func_lookup(n->name, n->len, n->a != NULL, argc);
	if (f < 0) {
		if (ck->strict) {
			if (cel_func_exists(n->name, n->len))
				cfail(ck, n, "no overload of '%.*s' takes "
				    "%d argument%s%s", (int)n->len, n->name,
				    n->nargs, n->nargs == 1 ? "" : "s",
				    n->a != NULL ? " with a receiver" : "");
			else
				cfail(ck, n, "undeclared reference to "
				    "function '%.*s'", (int)n->len, n->name);
			return;
		}
		make_error(n, "unbound function");
		return;
	}
	n->id = f;
	fn = cel_func_get(f);
	n->kind = (uint8_t)fn->result;
	if (f >= CEL_NET_FUNC_BASE) {
		if (cel_net_check(ck->p, n, ck->strict, why,
		    sizeof(why)) == -1)
			cfail(ck, n, "%s", why);
		return;
	}
	if (name_eq(n->name, n->len, "dyn"))
		n->kind = CEL_DYN;
	if (name_eq(n->name, n->len, "matches")) {
		const struct cel_node *pat = n->args[n->nargs - 1];

		if (pat->op == CEL_OP_LIT && pat->lit.kind == CEL_STRING) {
			char msg[160];
			struct regex *re;

			re = regex_compile(pat->lit.s, (size_t)pat->lit.aux,
			    msg, sizeof(msg));
			if (re == NULL) {
				if (ck->strict) {
					cfail(ck, pat, "invalid regular "
					    "expression: %s", msg);
					return;
				}
			} else if (cel_program_add_regex(ck->p, re) == -1) {
				regex_free(re);
				cfail(ck, n, "out of memory");
				return;
			} else
				n->re = re;
		}
	}
	if (ck->strict) {
		const struct cel_node *first = n->a != NULL ? n->a :
		    n->nargs > 0 ? n->args[0] : NULL;
		int k = first != NULL ? first->kind : CEL_DYN;
		int ok = 1;

		if (k == CEL_DYN)
			return;
		if (fn->first != 0)
			ok = k == fn->first;
		else if (name_eq(n->name, n->len, "contains") ||
		    name_eq(n->name, n->len, "startsWith") ||
		    name_eq(n->name, n->len, "endsWith") ||
		    name_eq(n->name, n->len, "matches"))
			ok = k == CEL_STRING;
		else if (name_eq(n->name, n->len, "size"))
			ok = k == CEL_STRING || k == CEL_BYTES ||
			    k == CEL_LIST || k == CEL_MAP;
		else if (n->len > 3 && memcmp(n->name, "get", 3) == 0)
			ok = k == CEL_TIMESTAMP || k == CEL_DURATION;
		if (!ok)
			cfail(ck, n, "found no matching overload for '%.*s' "
			    "applied to '%s'", (int)n->len, n->name,
			    cel_kind_name(k));
	}
}

/* Declare a macro's variable in the innermost scope; its slot. */
static int
push_scope(struct checker *ck, const struct cel_node *n, const char *name,
    size_t len)
{
	int slot = ck->nscopes;

	if (slot >= CEL_MAX_SLOTS) {
		cfail(ck, n, "comprehensions nest too deeply (more than %d)",
		    CEL_MAX_SLOTS);
		return -1;
	}
	ck->scopes[slot].name = name;
	ck->scopes[slot].len = len;
	ck->scopes[slot].slot = slot;
	ck->nscopes++;
	if (slot + 1 > ck->p->nslots)
		ck->p->nslots = slot + 1;
	return slot;
}

static void
check_comprehension(struct checker *ck, struct cel_node *n)
{
	int slot, k, want_bool, opt;

	check(ck, n->a);
	if (ck->failed)
		return;
	k = n->a->kind;
	opt = n->op == CEL_OP_OPTMAP || n->op == CEL_OP_OPTFLATMAP;
	if (ck->strict && k != CEL_DYN && n->op != CEL_OP_BIND &&
	    (opt ? k != CEL_OPTIONAL : k != CEL_LIST && k != CEL_MAP)) {
		cfail(ck, n, "cannot iterate over '%s'", cel_kind_name(k));
		return;
	}
	slot = push_scope(ck, n, n->name, n->len);
	if (slot < 0)
		return;
	if (n->name2 != NULL && push_scope(ck, n, n->name2, n->len2) < 0)
		return;
	n->id = slot;
	check(ck, n->b);
	if (n->c != NULL)
		check(ck, n->c);
	ck->nscopes = slot;
	if (ck->failed)
		return;
	switch (n->op) {
	case CEL_OP_MAPM:
	case CEL_OP_FILTER:
	case CEL_OP_TLIST:
		n->kind = CEL_LIST;
		break;
	case CEL_OP_TMAP:
	case CEL_OP_TMAPENTRY:
		n->kind = CEL_MAP;
		break;
	case CEL_OP_OPTMAP:
	case CEL_OP_OPTFLATMAP:
		n->kind = CEL_OPTIONAL;
		break;
	case CEL_OP_BIND:
		n->kind = n->b->kind;
		break;
	default:
		n->kind = CEL_BOOL;
		break;
	}
	want_bool = n->op == CEL_OP_ALL || n->op == CEL_OP_EXISTS ||
	    n->op == CEL_OP_EXISTS_ONE || n->op == CEL_OP_FILTER;
	if (ck->strict && want_bool && n->b->kind != CEL_DYN &&
	    n->b->kind != CEL_BOOL)
		cfail(ck, n->b, "predicate must be a bool, is '%s'",
		    cel_kind_name(n->b->kind));
	else if (ck->strict && n->c != NULL && n->c->kind != CEL_DYN &&
	    n->c->kind != CEL_BOOL)
		cfail(ck, n->c, "filter must be a bool, is '%s'",
		    cel_kind_name(n->c->kind));
	else if (ck->strict && n->op == CEL_OP_TMAPENTRY &&
	    n->b->kind != CEL_DYN && n->b->kind != CEL_MAP)
		cfail(ck, n->b, "transformMapEntry wants a map, is '%s'",
		    cel_kind_name(n->b->kind));
}

static void
check(struct checker *ck, struct cel_node *n)
{
	int a, b, r, i;

	if (ck->failed || n == NULL)
		return;
	switch (n->op) {
	case CEL_OP_LIT:
		n->kind = n->lit.kind;
		return;
	case CEL_OP_IDENT:
		resolve_ident(ck, n);
		return;
	case CEL_OP_SELECT:
	case CEL_OP_HAS:
		check_select(ck, n);
		return;
	case CEL_OP_CALL:
		check_call(ck, n);
		return;
	case CEL_OP_LIST:
	case CEL_OP_MAP:
		for (i = 0; i < n->nargs; i++)
			check(ck, n->args[i]);
		n->kind = n->op == CEL_OP_LIST ? CEL_LIST : CEL_MAP;
		if (!ck->failed)
			fold_literal(ck, n);
		return;
	case CEL_OP_ALL:
	case CEL_OP_EXISTS:
	case CEL_OP_EXISTS_ONE:
	case CEL_OP_MAPM:
	case CEL_OP_FILTER:
	case CEL_OP_BIND:
	case CEL_OP_TLIST:
	case CEL_OP_TMAP:
	case CEL_OP_TMAPENTRY:
	case CEL_OP_OPTMAP:
	case CEL_OP_OPTFLATMAP:
		check_comprehension(ck, n);
		return;
	case CEL_OP_OPTSELECT:
		check_select(ck, n);
		return;
	default:
		break;
	}
	check(ck, n->a);
	check(ck, n->b);
	check(ck, n->c);
	if (ck->failed)
		return;
	a = n->a != NULL ? n->a->kind : CEL_DYN;
	b = n->b != NULL ? n->b->kind : CEL_DYN;
	switch (n->op) {
	case CEL_OP_NOT:
		n->kind = CEL_BOOL;
		if (ck->strict && a != CEL_DYN && a != CEL_BOOL)
			cfail(ck, n, "found no matching overload for '!_' "
			    "applied to '%s'", cel_kind_name(a));
		break;
	case CEL_OP_NEG:
		n->kind = (uint8_t)a;
		if (ck->strict && a != CEL_DYN && a != CEL_INT &&
		    a != CEL_DOUBLE && a != CEL_DURATION)
			cfail(ck, n, "found no matching overload for '-_' "
			    "applied to '%s'", cel_kind_name(a));
		break;
	case CEL_OP_AND:
	case CEL_OP_OR:
		n->kind = CEL_BOOL;
		if (ck->strict && ((a != CEL_DYN && a != CEL_BOOL) ||
		    (b != CEL_DYN && b != CEL_BOOL)))
			no_overload2(ck, n, a, b);
		break;
	case CEL_OP_COND:
		if (ck->strict && a != CEL_DYN && a != CEL_BOOL)
			cfail(ck, n, "condition of '?:' must be a bool, is "
			    "'%s'", cel_kind_name(a));
		n->kind = n->b->kind == n->c->kind ? n->b->kind : CEL_DYN;
		break;
	case CEL_OP_EQ:
	case CEL_OP_NE:
		n->kind = CEL_BOOL;
		if (ck->strict && a != CEL_DYN && b != CEL_DYN && a != b &&
		    !(is_numeric(a) && is_numeric(b)) && a != CEL_NULL &&
		    b != CEL_NULL)
			cfail(ck, n, "comparing '%s' with '%s' is always %s",
			    cel_kind_name(a), cel_kind_name(b),
			    n->op == CEL_OP_EQ ? "false" : "true");
		break;
	case CEL_OP_LT:
	case CEL_OP_LE:
	case CEL_OP_GT:
	case CEL_OP_GE:
		n->kind = CEL_BOOL;
		if (ck->strict && a != CEL_DYN && b != CEL_DYN &&
		    !(is_numeric(a) && is_numeric(b)) && (a != b ||
		    (a != CEL_BOOL && a != CEL_STRING && a != CEL_BYTES &&
		    a != CEL_TIMESTAMP && a != CEL_DURATION)))
			no_overload2(ck, n, a, b);
		break;
	case CEL_OP_IN:
		n->kind = CEL_BOOL;
		if (ck->strict && b != CEL_DYN && b != CEL_LIST &&
		    b != CEL_MAP)
			no_overload2(ck, n, a, b);
		break;
	case CEL_OP_INDEX:
	case CEL_OP_OPTINDEX:
		if (ck->strict && a != CEL_DYN && a != CEL_LIST &&
		    a != CEL_MAP && a != CEL_OPTIONAL)
			cfail(ck, n, "type '%s' cannot be indexed",
			    cel_kind_name(a));
		if (n->op == CEL_OP_OPTINDEX || a == CEL_OPTIONAL)
			n->kind = CEL_OPTIONAL;
		break;
	case CEL_OP_ADD:
	case CEL_OP_SUB:
	case CEL_OP_MUL:
	case CEL_OP_DIV:
	case CEL_OP_MOD:
		r = arith_kind((enum cel_op)n->op, a, b);
		if (r == -1) {
			if (ck->strict)
				no_overload2(ck, n, a, b);
			r = CEL_DYN;
		}
		n->kind = (uint8_t)r;
		break;
	default:
		break;
	}
}

/* Worst-case cost of evaluating n, saturating. */
static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t
sat_mul(uint64_t a, uint64_t b)
{
	if (a != 0 && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

static uint64_t
range_size(const struct cel_node *n)
{
	if (n->op == CEL_OP_LIT && n->lit.kind == CEL_LIST &&
	    n->lit.rep == CEL_REP_ARENA)
		return n->lit.list->n;
	if (n->op == CEL_OP_LIT && n->lit.kind == CEL_MAP &&
	    n->lit.rep == CEL_REP_ARENA)
		return n->lit.map->n;
	if (n->op == CEL_OP_LIST)
		return n->nargs;
	if (n->op == CEL_OP_MAP)
		return (uint64_t)n->nargs / 2;
	return ASSUMED_LIST;
}

static uint64_t
estimate(const struct cel_node *n)
{
	uint64_t c = 1;
	int i;

	if (n == NULL)
		return 0;
	switch (n->op) {
	case CEL_OP_ALL:
	case CEL_OP_EXISTS:
	case CEL_OP_EXISTS_ONE:
	case CEL_OP_MAPM:
	case CEL_OP_FILTER:
	case CEL_OP_TLIST:
	case CEL_OP_TMAP:
	case CEL_OP_TMAPENTRY: {
		uint64_t body = sat_add(sat_add(estimate(n->b),
		    estimate(n->c)), 2);

		return sat_add(sat_add(c, estimate(n->a)),
		    sat_mul(range_size(n->a), body));
	}
	case CEL_OP_CALL:
		if (n->name != NULL && name_eq(n->name, n->len, "matches"))
			c = sat_add(c, sat_mul(ASSUMED_STRING,
			    n->re != NULL ? regex_size(n->re) + 1 : 64));
		else if (cel_func_get(n->id) != NULL)
			c = sat_add(c, cel_func_get(n->id)->cost);
		break;
	case CEL_OP_EQ:
	case CEL_OP_NE:
	case CEL_OP_IN:
		/* Comparing or searching lists and strings. */
		c = sat_add(c, ASSUMED_STRING / 16);
		if (n->op == CEL_OP_IN)
			c = sat_add(c, range_size(n->b));
		break;
	case CEL_OP_ADD:
		if (n->kind == CEL_STRING || n->kind == CEL_LIST ||
		    n->kind == CEL_BYTES || n->kind == CEL_DYN)
			c = sat_add(c, ASSUMED_STRING / 16);
		break;
	default:
		break;
	}
	c = sat_add(c, estimate(n->a));
	c = sat_add(c, estimate(n->b));
	c = sat_add(c, estimate(n->c));
	for (i = 0; i < n->nargs; i++)
		c = sat_add(c, estimate(n->args[i]));
	return c;
}

int
cel_check(struct cel_program *p, const struct cel_env *env,
    struct policy_error *err)
{
	struct checker ck;

	memset(&ck, 0, sizeof(ck));
	ck.p = p;
	ck.env = env;
	ck.err = err;
	ck.strict = env->strict;
	check(&ck, p->root);
	if (ck.failed)
		return -1;
	if (ck.strict && p->root->kind != CEL_DYN &&
	    p->root->kind != CEL_BOOL) {
		cfail(&ck, p->root, "a condition must be a bool, this "
		    "expression is '%s'", cel_kind_name(p->root->kind));
		return -1;
	}
	p->cost = estimate(p->root);
	return 0;
}
