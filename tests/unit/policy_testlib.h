/*
 * policy_testlib.h - helpers shared by the policy unit tests: compile and
 * evaluate an expression in one call.
 */
#ifndef NSREG_POLICY_TESTLIB_H
#define NSREG_POLICY_TESTLIB_H

#include <string.h>

#include "cel.h"

struct tl_result {
	struct cel_value	 v;
	struct cel_arena	 arena;
	struct cel_program	*p;
	struct policy_error	 err;	/* compile error when p is NULL */
	char			 buf[4096];
};

/* Compile (lenient unless strict) and evaluate src against in. */
static inline int
tl_eval(struct tl_result *r, const char *src, int strict,
    const struct policy_input *in)
{
	struct cel_env env;
	struct cel_activation act;

	memset(&env, 0, sizeof(env));
	env.strict = strict;
	env.admission = 1;
	memset(r, 0, sizeof(*r));
	r->p = cel_compile(src, strlen(src), &env, &r->err);
	if (r->p == NULL)
		return -1;
	act.input = in;
	act.vars = NULL;
	cel_arena_init(&r->arena, r->buf, sizeof(r->buf));
	r->v = cel_eval(r->p, &act, &r->arena, NULL);
	return 0;
}

static inline void
tl_done(struct tl_result *r)
{
	cel_arena_release(&r->arena);
	cel_program_free(r->p);
	r->p = NULL;
}

#endif
