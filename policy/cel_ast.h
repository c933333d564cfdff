/*
 * cel_ast.h - the syntax tree shared by the parser, the checker and the
 * evaluator.  Internal to policy/.
 */
#ifndef NSREG_CEL_AST_H
#define NSREG_CEL_AST_H

#include "cel.h"

enum cel_op {
	CEL_OP_LIT = 0,		/* lit */
	CEL_OP_IDENT,		/* name: unresolved identifier */
	CEL_OP_VAR,		/* id: index into activation vars */
	CEL_OP_ROOT,		/* id: admission root (enum cel_root) */
	CEL_OP_LOCAL,		/* id: comprehension slot */
	CEL_OP_SELECT,		/* a.name */
	CEL_OP_HOSTFIELD,	/* a is a root; id: host field */
	CEL_OP_HAS,		/* has(a.name) */
	CEL_OP_INDEX,		/* a[b] */
	CEL_OP_CALL,		/* id: function; a: target or NULL; args */
	CEL_OP_LIST,		/* args */
	CEL_OP_MAP,		/* args: k0, v0, k1, v1, ... */
	CEL_OP_NOT,		/* !a */
	CEL_OP_NEG,		/* -a */
	CEL_OP_AND,		/* a && b */
	CEL_OP_OR,		/* a || b */
	CEL_OP_COND,		/* a ? b : c */
	CEL_OP_EQ,
	CEL_OP_NE,
	CEL_OP_LT,
	CEL_OP_LE,
	CEL_OP_GT,
	CEL_OP_GE,
	CEL_OP_IN,
	CEL_OP_ADD,
	CEL_OP_SUB,
	CEL_OP_MUL,
	CEL_OP_DIV,
	CEL_OP_MOD,
	CEL_OP_ALL,		/* a.all(slot, b), a.all(slot, slot+1, b) */
	CEL_OP_EXISTS,
	CEL_OP_EXISTS_ONE,
	CEL_OP_MAPM,		/* a.map(slot, b) or a.map(slot, c, b) */
	CEL_OP_FILTER,		/* a.filter(slot, b) */
	CEL_OP_ERROR,		/* lit: an error raised when evaluated */
	CEL_OP_OPTSELECT,	/* a.?name */
	CEL_OP_OPTINDEX,	/* a[?b] */
	CEL_OP_OPTELEM,		/* ?a in a list literal, ?k: a in a map */
	CEL_OP_BIND,		/* cel.bind(slot, a, b) */
	CEL_OP_TLIST,		/* a.transformList(slot, slot+1, [c,] b) */
	CEL_OP_TMAP,		/* a.transformMap(slot, slot+1, [c,] b) */
	CEL_OP_TMAPENTRY,	/* a.transformMapEntry(slot, slot+1, [c,] b) */
	CEL_OP_OPTMAP,		/* a.optMap(slot, b) */
	CEL_OP_OPTFLATMAP,	/* a.optFlatMap(slot, b) */
	CEL_OP_COUNT
};

/* Admission roots. */
enum cel_root {
	CEL_ROOT_PRINCIPAL = 0,
	CEL_ROOT_SERVICE,
	CEL_ROOT_ENDPOINT,
	CEL_ROOT_REQUEST,
	CEL_ROOT_ACTION,
	CEL_ROOT_COUNT
};

#define CEL_DYN		CEL_KIND_COUNT	/* static kind unknown */
#define CEL_MAX_DEPTH	200		/* tree depth */
#define CEL_MAX_SLOTS	16		/* nested comprehensions */

struct cel_node {
	uint8_t			 op;		/* enum cel_op */
	uint8_t			 kind;		/* static kind or CEL_DYN */
	uint16_t		 nargs;
	int32_t			 pos;		/* byte offset in the source */
	int32_t			 id;
	uint32_t		 len;		/* name length */
	const char		*name;
	const char		*name2;		/* two-variable macros */
	uint32_t		 len2;
	struct cel_node		*a, *b, *c;
	struct cel_node		**args;
	struct regex		*re;		/* precompiled matches() */
	struct cel_value	 lit;
};

struct cel_pool_block;

struct cel_program {
	char			*src;		/* copy, NUL-terminated */
	size_t			 srclen;
	struct cel_node		*root;
	struct cel_pool_block	*blocks;	/* nodes, strings, literals */
	struct regex		**regexes;
	size_t			 nregexes;
	uint64_t		 cost;		/* estimate */
	uint64_t		 max_cost;
	int			 nslots;
	const struct policy_tz	*tz;
};

/* Memory owned by a program (cel_parse.c). */
void	*cel_pool_alloc(struct cel_program *p, size_t n);
void	 cel_pool_free(struct cel_program *p);
int	 cel_program_add_regex(struct cel_program *p, struct regex *re);

/* Parse src into p->root; -1 with err (cel_parse.c). */
int	 cel_parse(struct cel_program *p, const struct cel_env *env,
	    struct policy_error *err);
/* Resolve, check and estimate (cel_check.c). */
int	 cel_check(struct cel_program *p, const struct cel_env *env,
	    struct policy_error *err);
/* Fill err with "line:column: message" at byte offset pos. */
int	 cel_program_error(const struct cel_program *p, int32_t pos,
	    struct policy_error *err, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* Functions (cel_func.c). */
struct cel_ctx;
typedef struct cel_value (*cel_fn)(struct cel_ctx *c,
    const struct cel_node *n, struct cel_value *argv, int argc);

struct cel_func {
	const char	*name;
	int		 receiver;	/* 1: x.f(...), 0: f(x, ...), 2: both */
	int		 min_args;	/* counting the receiver */
	int		 max_args;
	int		 result;	/* static kind or CEL_DYN */
	uint32_t	 cost;		/* base cost */
	cel_fn		 fn;
	int		 first;		/* static kind the first argument
					   must have, 0: any */
	int		 lazy;		/* fn gets the receiver only and
					   evaluates n->args itself */
};
extern const struct cel_func cel_funcs[];
extern const size_t cel_nfuncs;
int	 cel_func_lookup(const char *name, size_t len, int receiver,
	    int argc);
int	 cel_func_exists(const char *name, size_t len);
/* The function a resolved call's id names; NULL for an unknown id. */
const struct cel_func *cel_func_get(int id);

/*
 * Network functions (cel_net.c): Kubernetes' IP, CIDR and URL libraries.
 * Their ids start at CEL_NET_FUNC_BASE.  An IP or CIDR value points to a
 * struct cel_net_addr, a URL to a struct cel_net_url, in the program (a
 * literal folded when the rule was compiled) or the evaluation's arena.
 */
#define CEL_NET_FUNC_BASE	1024

struct cel_net_addr {
	uint8_t		family;		/* 4 or 6 */
	uint8_t		bits;		/* CIDR: the prefix length */
	uint8_t		a[16];		/* IPv4 in a[0..3] */
};

struct cel_net_url {
	struct cel_value	raw;		/* the string parsed */
	struct cel_value	scheme;		/* lowercase */
	struct cel_value	host;		/* "[::1]:80", unescaped */
	struct cel_value	path;		/* escaped */
	struct cel_value	query;		/* raw, without '?' */
};

/* Index into the network table of a call, or -1 (as cel_func_lookup). */
int	 cel_net_lookup(const char *name, size_t len, int receiver,
	    int argc);
int	 cel_net_exists(const char *name, size_t len);
const struct cel_func *cel_net_func(int i);	/* NULL when out of range */
/*
 * Check a resolved network call's operand kinds and fold its literal
 * operands (cidr('10.0.0.0/8') becomes a CIDR literal, parsed once).
 * Returns 0, or -1 with msg filled when the call cannot succeed: operands
 * of the wrong kind, or (strict) a literal that does not parse.
 */
int	 cel_net_check(struct cel_program *p, struct cel_node *n, int strict,
	    char *msg, size_t cap);
/* 1 when two IPs, CIDRs or URLs are equal, else 0. */
int	 cel_net_equal(const struct cel_value *a, const struct cel_value *b);
/* string(ip), string(cidr): a new string in the arena. */
struct cel_value cel_net_string(struct cel_ctx *c, const struct cel_node *n,
		    const struct cel_value *v);
/*
 * The host of a URL when it is an IP literal (endpoint.address): 1 with
 * *host and *hlen a slice of url ("10.0.0.1", "fd00::1"), else 0.
 */
int	 cel_net_url_address(const char *url, size_t len, const char **host,
	    size_t *hlen);

/*
 * The extension libraries' functions, entries of cel_funcs: strings
 * (cel_strings.c), math (cel_math.c), optional values (cel_optional.c).
 */
/* Go's strconv.FormatFloat(d, 'g', -1, 64) into buf; its length. */
size_t	 cel_format_double(double d, char *buf, size_t cap);
#define CEL_FN(name) struct cel_value name(struct cel_ctx *, \
    const struct cel_node *, struct cel_value *, int)
CEL_FN(cel_fn_char_at);
CEL_FN(cel_fn_index_of);
CEL_FN(cel_fn_last_index_of);
CEL_FN(cel_fn_lower_ascii);
CEL_FN(cel_fn_upper_ascii);
CEL_FN(cel_fn_replace);
CEL_FN(cel_fn_split);
CEL_FN(cel_fn_substring);
CEL_FN(cel_fn_trim);
CEL_FN(cel_fn_join);
CEL_FN(cel_fn_reverse);
CEL_FN(cel_fn_quote);
CEL_FN(cel_fn_format);
CEL_FN(cel_fn_math_greatest);
CEL_FN(cel_fn_math_least);
CEL_FN(cel_fn_math_abs);
CEL_FN(cel_fn_math_sign);
CEL_FN(cel_fn_math_ceil);
CEL_FN(cel_fn_math_floor);
CEL_FN(cel_fn_math_round);
CEL_FN(cel_fn_math_trunc);
CEL_FN(cel_fn_math_is_nan);
CEL_FN(cel_fn_math_is_inf);
CEL_FN(cel_fn_math_is_finite);
CEL_FN(cel_fn_math_bit_and);
CEL_FN(cel_fn_math_bit_or);
CEL_FN(cel_fn_math_bit_xor);
CEL_FN(cel_fn_math_bit_not);
CEL_FN(cel_fn_math_shift_left);
CEL_FN(cel_fn_math_shift_right);
CEL_FN(cel_fn_opt_of);
CEL_FN(cel_fn_opt_none);
CEL_FN(cel_fn_opt_of_non_zero);
CEL_FN(cel_fn_opt_has_value);
CEL_FN(cel_fn_opt_value);
CEL_FN(cel_fn_opt_or);
CEL_FN(cel_fn_opt_or_value);
#undef CEL_FN

/* Evaluation context (cel_eval.c). */
struct cel_ctx {
	const struct cel_program	*prog;
	const struct cel_activation	*act;
	struct cel_arena		*arena;
	uint64_t			 cost;
	uint64_t			 max_cost;
	struct cel_value		 slots[CEL_MAX_SLOTS];
};
struct cel_value cel_eval_node(struct cel_ctx *c, const struct cel_node *n);
struct cel_value cel_err_at(const struct cel_node *n, const char *msg);
/* Copy s into the arena as a new string/bytes value. */
struct cel_value cel_arena_string(struct cel_ctx *c, int kind, const char *s,
		    size_t n);

#endif
