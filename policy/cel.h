/*
 * cel.h - the CEL subset behind admission rules: values, syntax tree,
 * compiler and evaluator.  Internal to policy/ (the server uses policy.h).
 *
 * A program is compiled once (cel_compile) into a checked tree whose
 * identifiers, functions and field selections are resolved; evaluating it
 * (cel_eval) walks the tree with values that are small structs passed by
 * value.  Lists, maps and strings built during evaluation live in a
 * caller's arena (struct cel_arena), usually on the caller's stack.  Input
 * data stays where it is: JSON documents (jansson) and the request structs
 * of policy.h are read in place.
 */
#ifndef NSREG_CEL_H
#define NSREG_CEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "policy.h"

enum cel_kind {
	CEL_NULL = 0,
	CEL_BOOL,
	CEL_INT,
	CEL_UINT,
	CEL_DOUBLE,
	CEL_STRING,
	CEL_BYTES,
	CEL_LIST,
	CEL_MAP,
	CEL_TYPE,
	CEL_TIMESTAMP,
	CEL_DURATION,
	CEL_IP,			/* net.IP, Kubernetes' IP library */
	CEL_CIDR,		/* net.CIDR */
	CEL_URL,		/* kubernetes.URL */
	CEL_OPTIONAL,		/* opt: the value, NULL when none */
	CEL_ERROR,
	CEL_KIND_COUNT
};

/* How a list or map is stored. */
enum cel_rep {
	CEL_REP_ARENA = 0,	/* struct cel_list / struct cel_map */
	CEL_REP_JSON,		/* a jansson array / object, read in place */
	CEL_REP_HOST		/* one of the policy_input structs */
};

/* Host objects: the variables of an admission request. */
enum cel_host {
	CEL_HOST_PRINCIPAL = 0,
	CEL_HOST_SERVICE,
	CEL_HOST_ENDPOINT,
	CEL_HOST_REQUEST,
	CEL_HOST_COUNT
};

/* Type values (type(x), int, google.protobuf.Timestamp, ...). */
enum cel_type {
	CEL_T_NULL = 0,
	CEL_T_BOOL,
	CEL_T_INT,
	CEL_T_UINT,
	CEL_T_DOUBLE,
	CEL_T_STRING,
	CEL_T_BYTES,
	CEL_T_LIST,
	CEL_T_MAP,
	CEL_T_TYPE,
	CEL_T_TIMESTAMP,
	CEL_T_DURATION,
	CEL_T_IP,
	CEL_T_CIDR,
	CEL_T_URL,
	CEL_T_OPTIONAL,
	CEL_T_COUNT
};

/*
 * A value, 16 bytes.  Strings and bytes point to memory that outlives the
 * value (program, input or arena); they carry their length and need not
 * be NUL-terminated (a path segment is a slice of the path).  Timestamps are seconds since the epoch plus
 * nanoseconds in [0, 1e9); durations are seconds plus nanoseconds of the
 * same sign.  An error carries a static message and the source offset of
 * the node that failed.
 */
struct cel_value {
	uint8_t		kind;		/* enum cel_kind */
	uint8_t		rep;		/* enum cel_rep, lists and maps */
	uint8_t		host;		/* enum cel_host when rep is HOST */
	uint8_t		pad;
	int32_t		aux;		/* length, nanos, error offset */
	union {
		int		 b;
		int64_t		 i;
		uint64_t	 u;
		double		 d;
		const char	*s;
		const struct cel_list *list;
		const struct cel_map *map;
		const json_t	*json;
		const void	*obj;
		const char	*err;
		const struct cel_value *opt;
	};
};

struct cel_list {
	size_t			n;
	struct cel_value	v[];
};

struct cel_map {
	size_t			 n;
	struct cel_value	*keys;
	struct cel_value	*vals;
};

/*
 * A bump allocator for one evaluation.  Start it on a buffer (usually on
 * the stack); it spills to malloc'ed chunks when full, up to a bound, and
 * cel_arena_release() frees the chunks.
 */
struct cel_arena_chunk;
struct cel_arena {
	char			*buf;
	size_t			 len;
	size_t			 cap;
	size_t			 spilled;	/* bytes malloc'ed so far */
	struct cel_arena_chunk	*chunks;
};
#define CEL_ARENA_MAX	(16u << 20)	/* bytes one evaluation may use */

void	 cel_arena_init(struct cel_arena *a, void *buf, size_t cap);
void	*cel_arena_alloc(struct cel_arena *a, size_t n);	/* NULL: full */
void	 cel_arena_release(struct cel_arena *a);

/* Constructors. */
static inline struct cel_value
cel_null(void)
{
	struct cel_value v = { .kind = CEL_NULL };
	return v;
}
static inline struct cel_value
cel_bool(int b)
{
	struct cel_value v = { .kind = CEL_BOOL, .b = b != 0 };
	return v;
}
static inline struct cel_value
cel_int(int64_t i)
{
	struct cel_value v = { .kind = CEL_INT, .i = i };
	return v;
}
static inline struct cel_value
cel_uint(uint64_t u)
{
	struct cel_value v = { .kind = CEL_UINT, .u = u };
	return v;
}
static inline struct cel_value
cel_double(double d)
{
	struct cel_value v = { .kind = CEL_DOUBLE, .d = d };
	return v;
}
static inline struct cel_value
cel_string(const char *s, size_t n)
{
	struct cel_value v = { .kind = CEL_STRING, .aux = (int32_t)n, .s = s };
	return v;
}
static inline struct cel_value
cel_bytes(const char *s, size_t n)
{
	struct cel_value v = { .kind = CEL_BYTES, .aux = (int32_t)n, .s = s };
	return v;
}
static inline struct cel_value
cel_type_value(enum cel_type t)
{
	struct cel_value v = { .kind = CEL_TYPE, .i = t };
	return v;
}
static inline struct cel_value
cel_error(const char *msg)
{
	struct cel_value v = { .kind = CEL_ERROR, .aux = -1, .err = msg };
	return v;
}
static inline struct cel_value
cel_json(const json_t *j, int kind)
{
	struct cel_value v = { .kind = (uint8_t)kind, .rep = CEL_REP_JSON,
	    .json = j };
	return v;
}

static inline struct cel_value
cel_optional_none(void)
{
	struct cel_value v = { .kind = CEL_OPTIONAL, .opt = NULL };
	return v;
}

/* Value operations (cel_value.c). */
/*
 * optional.of(v): the value is copied into the arena; an error value
 * ("out of memory") when the arena is full.
 */
struct cel_value cel_optional_of(const struct cel_value *v,
		    struct cel_arena *a);
/* 1 when v is its type's zero value (optional.ofNonZeroValue). */
int		 cel_is_zero(const struct cel_value *v);
const char	*cel_kind_name(int kind);
const char	*cel_type_name(enum cel_type t);
enum cel_type	 cel_type_of(const struct cel_value *v);
/* Convert a jansson value into a CEL value in place (no copy). */
struct cel_value cel_from_json(const json_t *j);
/* -1 error (*out set), 0/1 equality. */
int		 cel_equal(const struct cel_value *a, const struct cel_value *b);
/* Ordering: -1/0/1 in *cmp, returns -1 when not comparable (no overload). */
int		 cel_compare(const struct cel_value *a,
		    const struct cel_value *b, int *cmp);
size_t		 cel_list_size(const struct cel_value *l);
struct cel_value cel_list_at(const struct cel_value *l, size_t i,
		    struct cel_arena *a);
size_t		 cel_map_size(const struct cel_value *m);
/* Look a key up: 1 found (*out), 0 absent, -1 error (*out is the error). */
int		 cel_map_get(const struct cel_value *m,
		    const struct cel_value *key, struct cel_value *out,
		    struct cel_arena *a);
/* Look a string key up (field selection). */
int		 cel_map_field(const struct cel_value *m, const char *name,
		    size_t len, struct cel_value *out, struct cel_arena *a);

/* Iterating over a map's keys (host, json or arena maps). */
struct cel_map_iter {
	const struct cel_value	*map;
	size_t			 i;
	void			*jit;
};
void		 cel_map_iter_init(struct cel_map_iter *it,
		    const struct cel_value *m);
int		 cel_map_iter_next(struct cel_map_iter *it,
		    struct cel_value *key, struct cel_arena *a);

/* Host objects (cel_host.c). */
struct cel_value cel_host_value(enum cel_host h, const void *obj);
int		 cel_host_field(const struct cel_value *h, const char *name,
		    size_t len, struct cel_value *out, struct cel_arena *a);
int		 cel_host_field_id(enum cel_host h, const char *name,
		    size_t len);
int		 cel_host_field_by_id(const struct cel_value *h, int id,
		    struct cel_value *out, struct cel_arena *a);
const char	*cel_host_field_name(enum cel_host h, int id);
int		 cel_host_field_count(enum cel_host h);
/*
 * principal.segments[i] without building the list: 1 found (*out), 0 no
 * path, 2 index out of range, -1 when h/id is not principal.segments.
 */
int		 cel_host_segment(const struct cel_value *h, int id, int64_t i,
		    struct cel_value *out);
/* Static kind of a host field (CEL_KIND_COUNT when dynamic). */
int		 cel_host_field_kind(enum cel_host h, int id);

/* Time (cel_time.c). */
#define CEL_TS_MIN	(-62135596800LL)	/* 0001-01-01T00:00:00Z */
#define CEL_TS_MAX	(253402300799LL)	/* 9999-12-31T23:59:59Z */
/* Durations are int64 nanoseconds (about +-292 years), as in cel-go. */
#define CEL_DUR_MAX_NS	INT64_MAX
int		 cel_ts_parse(const char *s, size_t n, int64_t *sec,
		    int32_t *nsec);
size_t		 cel_ts_format(int64_t sec, int32_t nsec, char *buf,
		    size_t cap);
int		 cel_dur_parse(const char *s, size_t n, int64_t *sec,
		    int32_t *nsec);
size_t		 cel_dur_format(int64_t sec, int32_t nsec, char *buf,
		    size_t cap);
struct cel_value cel_timestamp(int64_t sec, int32_t nsec);
struct cel_value cel_duration(int64_t sec, int32_t nsec);
/* Broken-down fields of a timestamp in a zone ("" = UTC). */
struct cel_tm {
	int64_t	year;
	int	month;		/* 0-11 */
	int	mday;		/* 1-31 */
	int	yday;		/* 0-365 */
	int	wday;		/* 0 = Sunday */
	int	hour, min, sec;
	int	msec;
};
int		 cel_ts_fields(int64_t sec, int32_t nsec, const char *tz,
		    size_t tzlen, const struct policy_tz *zones,
		    struct cel_tm *tm);
void		 cel_civil_from_days(int64_t days, int64_t *y, int *m,
		    int *d);
int64_t		 cel_days_from_civil(int64_t y, int m, int d);

/* Regular expressions (regex.c): RE2 syntax, linear-time matching. */
struct regex;
struct regex	*regex_compile(const char *pat, size_t len, char *errbuf,
		    size_t errcap);
void		 regex_free(struct regex *re);
/*
 * Unanchored search (RE2 PartialMatch).  1 match, 0 none, -1 when the
 * scratch space (arena) ran out.  cost is increased by the work done.
 */
int		 regex_search(const struct regex *re, const char *s, size_t n,
		    struct cel_arena *a, uint64_t *cost);
size_t		 regex_size(const struct regex *re);

/* UTF-8 helpers (cel_value.c). */
int		 cel_utf8_valid(const char *s, size_t n);
size_t		 cel_utf8_count(const char *s, size_t n);
/* Decode one code point; returns bytes used (>=1), *cp = 0xFFFD on bad. */
size_t		 cel_utf8_decode(const char *s, size_t n, uint32_t *cp);
size_t		 cel_utf8_encode(uint32_t cp, char *out);

/*
 * Compile and evaluate.
 */
struct cel_program;

struct cel_env {
	int			 strict;	/* checker errors stop compiling */
	int			 admission;	/* declare principal ... request */
	int			 disable_macros;
	const char *const	*vars;		/* extra variables, by name */
	size_t			 nvars;
	uint64_t		 max_cost;	/* 0: POLICY_DEFAULT_MAX_COST */
	const struct policy_tz	*tz;
};

struct cel_activation {
	const struct policy_input	*input;		/* admission variables */
	const struct cel_value		*vars;		/* env->vars values */
};

/*
 * Compile src (len bytes, need not be NUL-terminated).  Returns a program
 * or NULL with err filled ("line:column: message", line and column set).
 */
struct cel_program	*cel_compile(const char *src, size_t len,
			    const struct cel_env *env, struct policy_error *err);
void			 cel_program_free(struct cel_program *p);
/* The checker's cost estimate (upper bound, in cost units). */
uint64_t		 cel_program_cost(const struct cel_program *p);
/* 1 when the checker knows the result is a bool (or dyn). */
int			 cel_program_result_kind(const struct cel_program *p);

/*
 * Evaluate.  The result (possibly an error value) may point into the
 * arena, the program and the activation.  *cost receives the work done;
 * exceeding the program's limit yields the error "cost limit exceeded".
 */
struct cel_value	 cel_eval(const struct cel_program *p,
			    const struct cel_activation *act,
			    struct cel_arena *arena, uint64_t *cost);
/* "line:column" of an error value's offset, into buf. */
void			 cel_program_position(const struct cel_program *p,
			    int32_t offset, int *line, int *column);

#endif
