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
	CEL_OP_ALL,		/* a.all(slot, b) */
	CEL_OP_EXISTS,
	CEL_OP_EXISTS_ONE,
	CEL_OP_MAPM,		/* a.map(slot, b) or a.map(slot, c, b) */
	CEL_OP_FILTER,		/* a.filter(slot, b) */
	CEL_OP_ERROR,		/* lit: an error raised when evaluated */
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
