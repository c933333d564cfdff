/*
 * cel_net.c - Kubernetes' network functions for conditions: its CEL IP,
 * CIDR and URL libraries (k8s.io/apiserver/pkg/cel/library ip.go,
 * cidr.go, urls.go), with the same names, overloads and semantics.
 *
 * Addresses and CIDRs are parsed in cel_net_ip.c (Go's net/netip), URLs
 * in cel_net_url.c (Go's net/url).
 *
 * One const table; a call resolves to an entry by name, call style and
 * argument count (cel_func.c falls back to this table), and
 * cel_net_check() checks operand kinds and folds literal operands when
 * the rule is compiled, so cidr('10.0.0.0/8') is parsed once.
 */
#include <stdio.h>
#include <string.h>

#include "cel_net.h"

/* ------------------------------------------------------------ memory */

void *
cel_net_alloc(const struct cel_net_mem *m, size_t n)
{
	if (m->p != NULL)
		return cel_pool_alloc(m->p, n);
	return cel_arena_alloc(m->a, n);
}

static struct cel_value
addr_value(int kind, const struct cel_net_addr *x)
{
	struct cel_value v = { .kind = (uint8_t)kind, .obj = x };

	return v;
}

static struct cel_value
new_addr(const struct cel_net_mem *m, int kind, const struct cel_net_addr *x,
    const struct cel_node *n)
{
	struct cel_net_addr *c;

	c = cel_net_alloc(m, sizeof(*c));
	if (c == NULL)
		return cel_err_at(n, "out of memory");
	*c = *x;
	return addr_value(kind, c);
}

static const struct cel_net_addr *
addr_of(const struct cel_value *v)
{
	return v->obj;
}

/* ------------------------------------------------------------ functions */

static struct cel_value
no_overload(const struct cel_node *n)
{
	return cel_err_at(n, "no such overload");
}

static struct cel_value
to_ip(const struct cel_net_mem *m, const struct cel_node *n, const char *s,
    size_t len)
{
	struct cel_net_addr x;
	const char *e;

	e = cel_net_ip_parse(s, len, &x);
	if (e != NULL)
		return cel_err_at(n, e);
	return new_addr(m, CEL_IP, &x, n);
}

static struct cel_value
to_cidr(const struct cel_net_mem *m, const struct cel_node *n, const char *s,
    size_t len)
{
	struct cel_net_addr x;
	const char *e;

	e = cel_net_cidr_parse(s, len, &x);
	if (e != NULL)
		return cel_err_at(n, e);
	return new_addr(m, CEL_CIDR, &x, n);
}

static struct cel_value
to_url(const struct cel_net_mem *m, const struct cel_node *n, const char *s,
    size_t len)
{
	struct cel_net_url *u;
	struct cel_value v = { .kind = CEL_URL };
	const char *e;

	e = cel_net_url_parse(m, s, len, &u);
	if (e != NULL)
		return cel_err_at(n, e);
	v.obj = u;
	return v;
}

static struct cel_value
fn_ip(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct cel_net_mem m = { NULL, c->arena };
	struct cel_net_addr x;

	(void)argc;
	if (v[0].kind == CEL_STRING)
		return to_ip(&m, n, v[0].s, (size_t)v[0].aux);
	if (v[0].kind == CEL_CIDR) {
		x = *addr_of(&v[0]);
		x.bits = x.family == 4 ? 32 : 128;
		return new_addr(&m, CEL_IP, &x, n);
	}
	return no_overload(n);
}

static struct cel_value
fn_is_ip(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct cel_net_addr x;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	return cel_bool(cel_net_ip_parse(v[0].s, (size_t)v[0].aux, &x) ==
	    NULL);
}

static struct cel_value
fn_is_canonical(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	struct cel_net_addr x;
	const char *e;
	char buf[64];
	size_t len;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	e = cel_net_ip_parse(v[0].s, (size_t)v[0].aux, &x);
	if (e != NULL)
		return cel_err_at(n, e);
	len = cel_net_ip_format(&x, buf, sizeof(buf));
	return cel_bool(len == (size_t)v[0].aux && memcmp(buf, v[0].s,
	    len) == 0);
}

static struct cel_value
ip_pred_call(const struct cel_node *n, const struct cel_value *v,
    enum cel_net_pred p)
{
	if (v[0].kind != CEL_IP)
		return no_overload(n);
	if (p == CEL_NET_FAMILY)
		return cel_int(addr_of(&v[0])->family);
	return cel_bool(cel_net_ip_is(addr_of(&v[0]), p));
}

#define IP_PRED(fname, which)						\
static struct cel_value							\
fname(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,	\
    int argc)								\
{									\
	(void)c;							\
	(void)argc;							\
	return ip_pred_call(n, v, which);				\
}
IP_PRED(fn_family, CEL_NET_FAMILY)
IP_PRED(fn_is_unspecified, CEL_NET_UNSPECIFIED)
IP_PRED(fn_is_loopback, CEL_NET_LOOPBACK)
IP_PRED(fn_is_ll_multicast, CEL_NET_LL_MULTICAST)
IP_PRED(fn_is_ll_unicast, CEL_NET_LL_UNICAST)
IP_PRED(fn_is_global_unicast, CEL_NET_GLOBAL_UNICAST)

static struct cel_value
fn_cidr(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct cel_net_mem m = { NULL, c->arena };

	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	return to_cidr(&m, n, v[0].s, (size_t)v[0].aux);
}

static struct cel_value
fn_is_cidr(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct cel_net_addr x;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	return cel_bool(cel_net_cidr_parse(v[0].s, (size_t)v[0].aux, &x) ==
	    NULL);
}

/* The hot path: no allocation, a string argument parsed on the stack. */
static struct cel_value
fn_contains_ip(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	const struct cel_net_addr *p;
	struct cel_net_addr x;
	const char *e;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_CIDR)
		return no_overload(n);
	p = addr_of(&v[0]);
	if (v[1].kind == CEL_IP)
		return cel_bool(cel_net_prefix_contains(p, addr_of(&v[1]),
		    p->bits));
	if (v[1].kind != CEL_STRING)
		return no_overload(n);
	e = cel_net_ip_parse(v[1].s, (size_t)v[1].aux, &x);
	if (e != NULL)
		return cel_err_at(n, e);
	return cel_bool(cel_net_prefix_contains(p, &x, p->bits));
}

static struct cel_value
fn_contains_cidr(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	const struct cel_net_addr *p, *q;
	struct cel_net_addr x;
	const char *e;

	(void)c;
	(void)argc;
	if (v[0].kind != CEL_CIDR)
		return no_overload(n);
	p = addr_of(&v[0]);
	if (v[1].kind == CEL_CIDR)
		q = addr_of(&v[1]);
	else if (v[1].kind == CEL_STRING) {
		e = cel_net_cidr_parse(v[1].s, (size_t)v[1].aux, &x);
		if (e != NULL)
			return cel_err_at(n, e);
		q = &x;
	} else
		return no_overload(n);
	/* Kubernetes 1.33 (PR 130450): both masked to p's length. */
	return cel_bool(p->bits <= q->bits &&
	    cel_net_prefix_contains(p, q, p->bits));
}

static struct cel_value
fn_masked(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct cel_net_mem m = { NULL, c->arena };
	struct cel_net_addr x;

	(void)argc;
	if (v[0].kind != CEL_CIDR)
		return no_overload(n);
	x = *addr_of(&v[0]);
	cel_net_mask(&x);
	if (memcmp(&x, addr_of(&v[0]), sizeof(x)) == 0)
		return v[0];
	return new_addr(&m, CEL_CIDR, &x, n);
}

static struct cel_value
fn_prefix_length(struct cel_ctx *c, const struct cel_node *n,
    struct cel_value *v, int argc)
{
	(void)c;
	(void)argc;
	if (v[0].kind != CEL_CIDR)
		return no_overload(n);
	return cel_int(addr_of(&v[0])->bits);
}

static struct cel_value
fn_url(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	struct cel_net_mem m = { NULL, c->arena };

	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	c->cost += (uint64_t)v[0].aux / 16;
	return to_url(&m, n, v[0].s, (size_t)v[0].aux);
}

static struct cel_value
fn_is_url(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,
    int argc)
{
	(void)argc;
	if (v[0].kind != CEL_STRING)
		return no_overload(n);
	c->cost += (uint64_t)v[0].aux / 16;
	return cel_bool(cel_net_url_valid(v[0].s, (size_t)v[0].aux));
}

enum url_part { UP_SCHEME, UP_HOST, UP_HOSTNAME, UP_PORT, UP_PATH,
    UP_QUERY };

static struct cel_value
url_part(struct cel_ctx *c, const struct cel_node *n, const struct cel_value *v,
    enum url_part which)
{
	const struct cel_net_url *u;
	struct cel_value host, port;

	if (v[0].kind != CEL_URL)
		return no_overload(n);
	u = v[0].obj;
	switch (which) {
	case UP_SCHEME:
		return u->scheme;
	case UP_HOST:
		return u->host;
	case UP_HOSTNAME:
	case UP_PORT:
		cel_net_split_host_port(&u->host, &host, &port);
		return which == UP_HOSTNAME ? host : port;
	case UP_PATH:
		return u->path;
	case UP_QUERY:
		return cel_net_url_query(c, n, &u->query);
	}
	return no_overload(n);
}

#define URL_PART(fname, which)						\
static struct cel_value							\
fname(struct cel_ctx *c, const struct cel_node *n, struct cel_value *v,	\
    int argc)								\
{									\
	(void)argc;							\
	return url_part(c, n, v, which);				\
}
URL_PART(fn_get_scheme, UP_SCHEME)
URL_PART(fn_get_host, UP_HOST)
URL_PART(fn_get_hostname, UP_HOSTNAME)
URL_PART(fn_get_port, UP_PORT)
URL_PART(fn_get_path, UP_PATH)
URL_PART(fn_get_query, UP_QUERY)

/* ------------------------------------------------------------ the table */

/*
 * Each entry with the operand kinds it takes, as bit masks: first, the
 * kinds of the receiver (x.f()) or, for global calls, of the first
 * argument (glob); second, of the argument of a member call with one.
 */
#define KM(k)	(1u << (k))

struct net_func {
	struct cel_func	f;
	unsigned int	recv;		/* receiver kinds; 0: no member form */
	unsigned int	glob;		/* argument kinds; 0: no global form */
	unsigned int	arg;		/* kinds of a member call's argument */
};

#define PRED(nm, fun, k, res) { .f = { .name = nm, .receiver = 1,	\
	.min_args = 1, .max_args = 1, .result = res, .cost = 1,		\
	.fn = fun }, .recv = KM(k) }
#define CONV(nm, fun, res, c) { .f = { .name = nm, .receiver = 0,	\
	.min_args = 1, .max_args = 1, .result = res, .cost = c,		\
	.fn = fun }, .glob = KM(CEL_STRING) }

static const struct net_func net_funcs[] = {
	/* IP */
	{ .f = { .name = "ip", .receiver = 2, .min_args = 1, .max_args = 1,
	    .result = CEL_IP, .cost = 4, .fn = fn_ip },
	    .glob = KM(CEL_STRING), .recv = KM(CEL_CIDR) },
	CONV("isIP", fn_is_ip, CEL_BOOL, 4),
	CONV("ip.isCanonical", fn_is_canonical, CEL_BOOL, 6),
	PRED("family", fn_family, CEL_IP, CEL_INT),
	PRED("isUnspecified", fn_is_unspecified, CEL_IP, CEL_BOOL),
	PRED("isLoopback", fn_is_loopback, CEL_IP, CEL_BOOL),
	PRED("isLinkLocalMulticast", fn_is_ll_multicast, CEL_IP, CEL_BOOL),
	PRED("isLinkLocalUnicast", fn_is_ll_unicast, CEL_IP, CEL_BOOL),
	PRED("isGlobalUnicast", fn_is_global_unicast, CEL_IP, CEL_BOOL),
	/* CIDR */
	CONV("cidr", fn_cidr, CEL_CIDR, 4),
	CONV("isCIDR", fn_is_cidr, CEL_BOOL, 4),
	{ .f = { .name = "containsIP", .receiver = 1, .min_args = 2,
	    .max_args = 2, .result = CEL_BOOL, .cost = 4,
	    .fn = fn_contains_ip },
	    .recv = KM(CEL_CIDR), .arg = KM(CEL_STRING) | KM(CEL_IP) },
	{ .f = { .name = "containsCIDR", .receiver = 1, .min_args = 2,
	    .max_args = 2, .result = CEL_BOOL, .cost = 4,
	    .fn = fn_contains_cidr },
	    .recv = KM(CEL_CIDR), .arg = KM(CEL_STRING) | KM(CEL_CIDR) },
	PRED("masked", fn_masked, CEL_CIDR, CEL_CIDR),
	PRED("prefixLength", fn_prefix_length, CEL_CIDR, CEL_INT),
	/* URL: parsing costs by the string's length (16 bytes a unit). */
	CONV("url", fn_url, CEL_URL, 20),
	CONV("isURL", fn_is_url, CEL_BOOL, 20),
	PRED("getScheme", fn_get_scheme, CEL_URL, CEL_STRING),
	PRED("getHost", fn_get_host, CEL_URL, CEL_STRING),
	PRED("getHostname", fn_get_hostname, CEL_URL, CEL_STRING),
	PRED("getPort", fn_get_port, CEL_URL, CEL_STRING),
	PRED("getEscapedPath", fn_get_path, CEL_URL, CEL_STRING),
	{ .f = { .name = "getQuery", .receiver = 1, .min_args = 1,
	    .max_args = 1, .result = CEL_MAP, .cost = 40,
	    .fn = fn_get_query }, .recv = KM(CEL_URL) },
};
#define NET_NFUNCS	(sizeof(net_funcs) / sizeof(net_funcs[0]))

static int
name_is(const char *a, const char *name, size_t len)
{
	return strlen(a) == len && memcmp(a, name, len) == 0;
}

int
cel_net_exists(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NET_NFUNCS; i++)
		if (name_is(net_funcs[i].f.name, name, len))
			return 1;
	return 0;
}

int
cel_net_lookup(const char *name, size_t len, int receiver, int argc)
{
	size_t i;

	for (i = 0; i < NET_NFUNCS; i++) {
		const struct cel_func *f = &net_funcs[i].f;

		if (!name_is(f->name, name, len))
			continue;
		if (f->receiver != 2 && f->receiver != receiver)
			continue;
		if (argc < f->min_args || argc > f->max_args)
			continue;
		return (int)i;
	}
	return -1;
}

const struct cel_func *
cel_net_func(int i)
{
	if (i < 0 || (size_t)i >= NET_NFUNCS)
		return NULL;
	return &net_funcs[i].f;
}

/* ------------------------------------------------------------ checking */

static int
kind_fits(int k, unsigned int mask)
{
	return k == CEL_DYN || (mask & KM(k)) != 0;
}

/* Parse a string literal operand into a net literal (folding). */
static int
fold_operand(struct cel_program *p, struct cel_node *o, int kind,
    int strict, const char *fname, char *msg, size_t cap)
{
	struct cel_net_mem m = { p, NULL };
	struct cel_value v;

	if (o->op != CEL_OP_LIT || o->lit.kind != CEL_STRING)
		return 0;
	if (kind == CEL_IP)
		v = to_ip(&m, o, o->lit.s, (size_t)o->lit.aux);
	else if (kind == CEL_CIDR)
		v = to_cidr(&m, o, o->lit.s, (size_t)o->lit.aux);
	else
		v = to_url(&m, o, o->lit.s, (size_t)o->lit.aux);
	if (v.kind == CEL_ERROR) {
		if (strict) {
			snprintf(msg, cap, "invalid argument to %s: %s",
			    fname, v.err);
			return -1;
		}
		o->op = CEL_OP_ERROR;
		o->lit = v;
		o->kind = CEL_DYN;
		return 0;
	}
	o->op = CEL_OP_LIT;
	o->lit = v;
	o->kind = (uint8_t)kind;
	return 0;
}

/* Evaluate a call whose operands are all literals, when that is safe. */
static void
fold_call(struct cel_program *p, struct cel_node *n, const struct cel_func *f)
{
	struct cel_value argv[2], r;
	struct cel_ctx c;
	struct cel_arena arena;
	char buf[256];
	int argc = 0, i;

	if (f->result != CEL_BOOL && f->result != CEL_INT)
		return;
	if (n->a != NULL) {
		if (n->a->op != CEL_OP_LIT)
			return;
		argv[argc++] = n->a->lit;
	}
	for (i = 0; i < n->nargs && argc < 2; i++) {
		if (n->args[i]->op != CEL_OP_LIT)
			return;
		argv[argc++] = n->args[i]->lit;
	}
	memset(&c, 0, sizeof(c));
	cel_arena_init(&arena, buf, sizeof(buf));
	c.prog = p;
	c.arena = &arena;
	c.max_cost = UINT64_MAX;
	r = f->fn(&c, n, argv, argc);
	cel_arena_release(&arena);
	if (r.kind != CEL_BOOL && r.kind != CEL_INT)
		return;		/* errors stay run-time errors */
	n->op = CEL_OP_LIT;
	n->lit = r;
	n->kind = r.kind;
	n->a = NULL;
	n->nargs = 0;
}

int
cel_net_check(struct cel_program *p, struct cel_node *n, int strict,
    char *msg, size_t cap)
{
	const struct net_func *nf;
	struct cel_node *first, *second;
	unsigned int mask;
	int i = n->id - CEL_NET_FUNC_BASE;

	if (i < 0 || (size_t)i >= NET_NFUNCS)
		return 0;
	nf = &net_funcs[i];
	first = n->a != NULL ? n->a : n->args[0];
	second = n->a != NULL ? (n->nargs > 0 ? n->args[0] : NULL) :
	    (n->nargs > 1 ? n->args[1] : NULL);
	mask = n->a != NULL ? nf->recv : nf->glob;
	if (strict && (!kind_fits(first->kind, mask) || (second != NULL &&
	    !kind_fits(second->kind, nf->arg)))) {
		if (n->a != NULL)
			snprintf(msg, cap, "found no matching overload for "
			    "'%s' applied to '%s.(%s)'", nf->f.name,
			    cel_kind_name(first->kind), second != NULL ?
			    cel_kind_name(second->kind) : "");
		else
			snprintf(msg, cap, "found no matching overload for "
			    "'%s' applied to '(%s)'", nf->f.name,
			    cel_kind_name(first->kind));
		return -1;
	}
	/* ip('...'), cidr('...'), url('...'): parsed once, here. */
	if (n->a == NULL && (nf->f.result == CEL_IP ||
	    nf->f.result == CEL_CIDR || nf->f.result == CEL_URL)) {
		if (fold_operand(p, first, nf->f.result, strict, nf->f.name,
		    msg, cap) == -1)
			return -1;
		if (first->op == CEL_OP_LIT) {
			n->op = CEL_OP_LIT;
			n->lit = first->lit;
			n->kind = first->kind;
			n->nargs = 0;
		}
		return 0;
	}
	/* x.containsIP('10.0.0.1'): the literal argument parsed once. */
	if (second != NULL && (nf->arg & KM(CEL_IP)) != 0 &&
	    fold_operand(p, second, CEL_IP, strict, nf->f.name, msg,
	    cap) == -1)
		return -1;
	if (second != NULL && (nf->arg & KM(CEL_CIDR)) != 0 &&
	    fold_operand(p, second, CEL_CIDR, strict, nf->f.name, msg,
	    cap) == -1)
		return -1;
	fold_call(p, n, &nf->f);
	return 0;
}

/* ------------------------------------------------------------ values */

int
cel_net_equal(const struct cel_value *a, const struct cel_value *b)
{
	const struct cel_net_addr *x, *y;
	const struct cel_net_url *u, *w;

	if (a->kind != b->kind)
		return 0;
	if (a->kind == CEL_URL) {
		u = a->obj;
		w = b->obj;
		return cel_equal(&u->raw, &w->raw);
	}
	x = addr_of(a);
	y = addr_of(b);
	if (x->family != y->family)
		return 0;
	if (a->kind == CEL_CIDR && x->bits != y->bits)
		return 0;
	return memcmp(x->a, y->a, (size_t)cel_net_addr_len(x)) == 0;
}

struct cel_value
cel_net_string(struct cel_ctx *c, const struct cel_node *n,
    const struct cel_value *v)
{
	const struct cel_net_addr *x;
	char buf[64];
	size_t len;

	if (v->kind != CEL_IP && v->kind != CEL_CIDR)
		return no_overload(n);
	x = addr_of(v);
	len = cel_net_ip_format(x, buf, sizeof(buf));
	if (v->kind == CEL_CIDR)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "/%u",
		    x->bits);
	return cel_arena_string(c, CEL_STRING, buf, len);
}
