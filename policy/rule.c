/*
 * rule.c - rule validation, rule sets and the decision function
 * (DESIGN section 5): Cedar's combining rules over CEL conditions.
 *
 * A set keeps, for every action, the rules that apply to any service and,
 * in a hash table keyed by service name, the rules that name that
 * service; each list is split into enforcing forbids, enforcing permits
 * and audit rules.  A request touches only the lists of its action and
 * service.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel.h"

enum { B_FORBID = 0, B_PERMIT, B_AUDIT, B_COUNT };

struct rule {
	char			*name;
	int			 forbid;
	int			 audit;
	unsigned int		 actions;	/* bit per enum policy_action */
	char			**services;
	size_t			 nservices;
	struct cel_program	*prog;		/* NULL: always holds */
};

struct rule_list {
	uint32_t	*ids;
	size_t		 n;
};

struct bucket {
	struct rule_list	lists[POLICY_ACTION_COUNT][B_COUNT];
};

struct svc_slot {
	const char	*name;		/* NULL: empty slot */
	struct bucket	 b;
};

struct policy_set {
	atomic_long		 refs;
	struct rule		*rules;
	size_t			 n;
	struct bucket		 any;
	struct svc_slot		*svc;
	size_t			 svc_cap;	/* power of two, or 0 */
};

static const char *const action_names[POLICY_ACTION_COUNT] = {
	[POLICY_ACTION_FIND] = "find",
	[POLICY_ACTION_REGISTER] = "register",
	[POLICY_ACTION_UNREGISTER] = "unregister",
	[POLICY_ACTION_PUBLISH] = "publish",
	[POLICY_ACTION_CONNECT] = "connect",
};

int
policy_action_parse(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	/* The first letter tells the candidate apart. */
	switch (name[0]) {
	case 'f': i = POLICY_ACTION_FIND; break;
	case 'r': i = POLICY_ACTION_REGISTER; break;
	case 'u': i = POLICY_ACTION_UNREGISTER; break;
	case 'p': i = POLICY_ACTION_PUBLISH; break;
	case 'c': i = POLICY_ACTION_CONNECT; break;
	default: return -1;
	}
	return strcmp(name, action_names[i]) == 0 ? i : -1;
}

const char *
policy_action_name(enum policy_action a)
{
	if ((int)a < 0 || a >= POLICY_ACTION_COUNT)
		return "?";
	return action_names[a];
}

/* ------------------------------------------------------------ errors */

static int
set_error(struct policy_error *err, const char *prefix, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fill err: field is "<prefix><field>", message "<field>: <text>". */
static int
set_error(struct policy_error *err, const char *prefix, const char *field,
    const char *fmt, ...)
{
	char msg[POLICY_ERROR_MESSAGE_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err->field, sizeof(err->field), "%s%s", prefix, field);
	if (*field == '\0' && *prefix != '\0')
		err->field[strlen(err->field) - 1] = '\0';	/* "[3]." */
	if (err->field[0] != '\0')
		snprintf(err->message, sizeof(err->message), "%s: %s",
		    err->field, msg);
	else
		snprintf(err->message, sizeof(err->message), "%s", msg);
	err->line = err->column = 0;
	return -1;
}

/* ------------------------------------------------------------ names */

/* [a-z0-9][a-z0-9._-]{0,252}, DESIGN section 4. */
static int
valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > POLICY_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

/* A service name, optionally "name@trust.domain". */
static int
valid_service(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	size_t i;

	if (at == NULL)
		return valid_name(s, n);
	if (!valid_name(s, (size_t)(at - s)))
		return 0;
	n -= (size_t)(at - s) + 1;
	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++) {
		char c = at[1 + i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ one rule */

static const char *const rule_fields[] = {
	"name", "effect", "actions", "services", "condition", "description",
	"mode",
	/* Metadata the server stores with every object; ignored here. */
	"revision", "created_at", "updated_at",
	NULL
};

static void
rule_clear(struct rule *r)
{
	size_t i;

	free(r->name);
	for (i = 0; i < r->nservices; i++)
		free(r->services[i]);
	free(r->services);
	cel_program_free(r->prog);
	memset(r, 0, sizeof(*r));
}

/*
 * Validate rule (borrowed) and, when out is not NULL, compile it into
 * out.  prefix ("" or "[3].") goes before field names.
 */
static int
rule_parse(const json_t *rule, const struct policy_options *opts,
    const char *prefix, struct rule *out, struct policy_error *err)
{
	const json_t *v, *e;
	const char *key;
	json_t *val;
	struct rule r;
	struct cel_env env;
	size_t i, j;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (!json_is_object(rule))
		return set_error(err, prefix, "", "a rule must be a JSON "
		    "object");
	json_object_foreach((json_t *)(uintptr_t)rule, key, val) {
		const char *const *f;

		for (f = rule_fields; *f != NULL; f++)
			if (strcmp(*f, key) == 0)
				break;
		if (*f == NULL)
			return set_error(err, prefix, key, "unknown field");
	}

	v = json_object_get(rule, "name");
	if (v == NULL)
		return set_error(err, prefix, "name", "required");
	if (!json_is_string(v))
		return set_error(err, prefix, "name", "must be a string");
	if (!valid_name(json_string_value(v), json_string_length(v)))
		return set_error(err, prefix, "name", "invalid name '%.*s': "
		    "want [a-z0-9][a-z0-9._-]{0,252}",
		    (int)(json_string_length(v) > 64 ? 64 :
		    json_string_length(v)), json_string_value(v));

	v = json_object_get(rule, "effect");
	if (v == NULL)
		return set_error(err, prefix, "effect", "required");
	if (!json_is_string(v) || (strcmp(json_string_value(v),
	    "permit") != 0 && strcmp(json_string_value(v), "forbid") != 0))
		return set_error(err, prefix, "effect", "must be \"permit\" "
		    "or \"forbid\"");
	r.forbid = strcmp(json_string_value(v), "forbid") == 0;

	v = json_object_get(rule, "actions");
	if (v == NULL)
		return set_error(err, prefix, "actions", "required");
	if (!json_is_array(v) || json_array_size(v) == 0)
		return set_error(err, prefix, "actions", "must be a non-empty "
		    "array of find, register, unregister, publish, connect");
	json_array_foreach(v, i, e) {
		char field[32];
		int a;

		snprintf(field, sizeof(field), "actions[%zu]", i);
		a = json_is_string(e) ? policy_action_parse(
		    json_string_value(e)) : -1;
		if (a < 0)
			return set_error(err, prefix, field, "unknown action: "
			    "want find, register, unregister, publish or "
			    "connect");
		if (r.actions & (1u << a))
			return set_error(err, prefix, field, "duplicate "
			    "action '%s'", action_names[a]);
		r.actions |= 1u << a;
	}

	v = json_object_get(rule, "services");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return set_error(err, prefix, "services", "must be an "
			    "array of service names");
		if (json_array_size(v) == 0)
			return set_error(err, prefix, "services", "empty: "
			    "omit the field to match every service");
		if (json_array_size(v) > POLICY_SERVICES_MAX)
			return set_error(err, prefix, "services", "more than "
			    "%d entries", POLICY_SERVICES_MAX);
		json_array_foreach(v, i, e) {
			char field[32];

			snprintf(field, sizeof(field), "services[%zu]", i);
			if (!json_is_string(e) || !valid_service(
			    json_string_value(e), json_string_length(e)))
				return set_error(err, prefix, field, "invalid "
				    "service name");
			for (j = 0; j < i; j++)
				if (json_equal(e, json_array_get(v, j)))
					return set_error(err, prefix, field,
					    "duplicate service '%s'",
					    json_string_value(e));
		}
	}

	v = json_object_get(rule, "description");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return set_error(err, prefix, "description", "must be "
			    "a string");
		if (json_string_length(v) > POLICY_DESCRIPTION_MAX)
			return set_error(err, prefix, "description", "longer "
			    "than %d bytes", POLICY_DESCRIPTION_MAX);
	}

	v = json_object_get(rule, "mode");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || (strcmp(json_string_value(v),
		    "enforce") != 0 && strcmp(json_string_value(v),
		    "audit") != 0))
			return set_error(err, prefix, "mode", "must be "
			    "\"enforce\" or \"audit\"");
		r.audit = strcmp(json_string_value(v), "audit") == 0;
	}

	v = json_object_get(rule, "condition");
	memset(&env, 0, sizeof(env));
	env.strict = 1;
	env.admission = 1;
	env.max_cost = opts != NULL ? opts->max_cost : 0;
	env.tz = opts != NULL ? opts->tz : NULL;
	if (v != NULL && !json_is_null(v)) {
		struct policy_error cerr;

		if (!json_is_string(v))
			return set_error(err, prefix, "condition", "must be a "
			    "string (a CEL expression)");
		if (json_string_length(v) > POLICY_CONDITION_MAX)
			return set_error(err, prefix, "condition", "longer "
			    "than %d bytes", POLICY_CONDITION_MAX);
		r.prog = cel_compile(json_string_value(v),
		    json_string_length(v), &env, &cerr);
		if (r.prog == NULL) {
			set_error(err, prefix, "condition", "%s",
			    cerr.message);
			if (err != NULL) {
				err->line = cerr.line;
				err->column = cerr.column;
			}
			goto done;
		}
	}
	if (out == NULL) {
		rc = 0;
		goto done;
	}
	v = json_object_get(rule, "name");
	r.name = strdup(json_string_value(v));
	if (r.name == NULL)
		goto nomem;
	v = json_object_get(rule, "services");
	if (json_is_array(v)) {
		r.services = calloc(json_array_size(v), sizeof(char *));
		if (r.services == NULL)
			goto nomem;
		json_array_foreach(v, i, e) {
			r.services[i] = strdup(json_string_value(e));
			if (r.services[i] == NULL)
				goto nomem;
			r.nservices++;
		}
	}
	*out = r;
	return 0;
nomem:
	set_error(err, prefix, "", "out of memory");
done:
	rule_clear(&r);
	return rc;
}

int
policy_rule_check(const json_t *rule, const struct policy_options *opts,
    struct policy_error *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	return rule_parse(rule, opts, "", NULL, err);
}

/* ------------------------------------------------------------ sets */

static uint64_t
hash_name(const char *s)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct svc_slot *
svc_find(const struct policy_set *set, const char *name)
{
	size_t i, mask;

	if (set->svc_cap == 0 || name == NULL)
		return NULL;
	mask = set->svc_cap - 1;
	for (i = (size_t)hash_name(name) & mask; set->svc[i].name != NULL;
	    i = (i + 1) & mask)
		if (strcmp(set->svc[i].name, name) == 0)
			return &set->svc[i];
	return NULL;
}

static struct svc_slot *
svc_insert(struct policy_set *set, const char *name)
{
	size_t i, mask = set->svc_cap - 1;

	for (i = (size_t)hash_name(name) & mask; set->svc[i].name != NULL;
	    i = (i + 1) & mask)
		if (strcmp(set->svc[i].name, name) == 0)
			return &set->svc[i];
	set->svc[i].name = name;
	return &set->svc[i];
}

static int
list_add(struct rule_list *l, uint32_t id)
{
	uint32_t *t = realloc(l->ids, (l->n + 1) * sizeof(*t));

	if (t == NULL)
		return -1;
	l->ids = t;
	l->ids[l->n++] = id;
	return 0;
}

static void
bucket_free(struct bucket *b)
{
	int a, k;

	for (a = 0; a < POLICY_ACTION_COUNT; a++)
		for (k = 0; k < B_COUNT; k++)
			free(b->lists[a][k].ids);
}

static void
set_destroy(struct policy_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		rule_clear(&set->rules[i]);
	free(set->rules);
	bucket_free(&set->any);
	for (i = 0; i < set->svc_cap; i++)
		if (set->svc[i].name != NULL)
			bucket_free(&set->svc[i].b);
	free(set->svc);
	free(set);
}

static int
set_index(struct policy_set *set)
{
	size_t nsvc = 0, i, j;
	int a;

	for (i = 0; i < set->n; i++)
		nsvc += set->rules[i].nservices;
	if (nsvc > 0) {
		set->svc_cap = 8;
		while (set->svc_cap < nsvc * 2)
			set->svc_cap *= 2;
		set->svc = calloc(set->svc_cap, sizeof(*set->svc));
		if (set->svc == NULL)
			return -1;
	}
	for (i = 0; i < set->n; i++) {
		const struct rule *r = &set->rules[i];
		int k = r->audit ? B_AUDIT : r->forbid ? B_FORBID : B_PERMIT;

		for (a = 0; a < POLICY_ACTION_COUNT; a++) {
			if (!(r->actions & (1u << a)))
				continue;
			if (r->nservices == 0) {
				if (list_add(&set->any.lists[a][k],
				    (uint32_t)i) == -1)
					return -1;
				continue;
			}
			for (j = 0; j < r->nservices; j++) {
				struct svc_slot *s = svc_insert(set,
				    r->services[j]);

				if (list_add(&s->b.lists[a][k],
				    (uint32_t)i) == -1)
					return -1;
			}
		}
	}
	return 0;
}

struct policy_set *
policy_set_build(const json_t *rules, const struct policy_options *opts,
    struct policy_error *err)
{
	struct policy_set *set;
	const json_t *r;
	size_t i, j;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (!json_is_array(rules)) {
		set_error(err, "", "", "a rule set must be a JSON array of "
		    "rules");
		return NULL;
	}
	set = calloc(1, sizeof(*set));
	if (set == NULL)
		goto nomem;
	atomic_init(&set->refs, 1);
	set->rules = calloc(json_array_size(rules) + 1, sizeof(*set->rules));
	if (set->rules == NULL)
		goto nomem;
	json_array_foreach(rules, i, r) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "[%zu].", i);
		if (rule_parse(r, opts, prefix, &set->rules[i], err) == -1)
			goto fail;
		set->n++;
		for (j = 0; j < i; j++)
			if (strcmp(set->rules[j].name,
			    set->rules[i].name) == 0) {
				set_error(err, prefix, "name", "duplicate "
				    "rule name '%s' (also [%zu])",
				    set->rules[i].name, j);
				goto fail;
			}
	}
	if (set_index(set) == -1)
		goto nomem;
	return set;
nomem:
	set_error(err, "", "", "out of memory");
fail:
	if (set != NULL)
		set_destroy(set);
	return NULL;
}

struct policy_set *
policy_set_ref(struct policy_set *set)
{
	if (set != NULL)
		atomic_fetch_add(&set->refs, 1);
	return set;
}

void
policy_set_free(struct policy_set *set)
{
	if (set == NULL)
		return;
	if (atomic_fetch_sub(&set->refs, 1) == 1)
		set_destroy(set);
}

size_t
policy_set_count(const struct policy_set *set)
{
	return set != NULL ? set->n : 0;
}

/* ------------------------------------------------------------ deciding */

#define EVAL_STACK	4096

/* 1 holds, 0 does not, -1 error (message in msg). */
static int
rule_eval(const struct rule *r, const struct cel_activation *act,
    char *msg, size_t cap)
{
	_Alignas(16) char stack[EVAL_STACK];
	struct cel_arena arena;
	struct cel_value v;
	int rc, line, col;

	if (r->prog == NULL)
		return 1;
	cel_arena_init(&arena, stack, sizeof(stack));
	v = cel_eval(r->prog, act, &arena, NULL);
	if (v.kind == CEL_BOOL)
		rc = v.b;
	else if (v.kind == CEL_ERROR) {
		cel_program_position(r->prog, v.aux, &line, &col);
		snprintf(msg, cap, "%d:%d: %s", line, col, v.err);
		rc = -1;
	} else {
		snprintf(msg, cap, "condition is a %s, not a bool",
		    cel_kind_name(v.kind));
		rc = -1;
	}
	cel_arena_release(&arena);
	return rc;
}

static void
add_error(struct policy_decision *d, const char *policy, const char *msg)
{
	if (d->n_errors < POLICY_DECISION_ITEMS) {
		struct policy_decision_error *e = &d->errors[d->n_errors];

		e->policy = policy;
		snprintf(e->message, sizeof(e->message), "%s", msg);
	}
	d->n_errors++;
}

static void
add_reason(struct policy_decision *d, const char *policy)
{
	if (d->n_reasons < POLICY_DECISION_ITEMS)
		d->reasons[d->n_reasons] = policy;
	d->n_reasons++;
}

/*
 * Evaluate the rules of one kind from the two lists (any service, this
 * service), in rule order.  Returns how many held.  Forbids and audit
 * rules are all evaluated (every forbid that holds is a reason, every
 * audit rule is reported); permits stop at the first that holds, which
 * is enough to decide and names the rule that did.
 */
static size_t
eval_lists(const struct policy_set *set, const struct rule_list *l1,
    const struct rule_list *l2, int kind, const struct cel_activation *act,
    struct policy_decision *d)
{
	size_t i = 0, j = 0, held = 0;

	while (i < l1->n || (l2 != NULL && j < l2->n)) {
		uint32_t id;
		const struct rule *r;
		char msg[POLICY_DECISION_MESSAGE_MAX];
		int h;

		if (l2 == NULL || j >= l2->n || (i < l1->n &&
		    l1->ids[i] < l2->ids[j]))
			id = l1->ids[i++];
		else
			id = l2->ids[j++];
		r = &set->rules[id];
		h = rule_eval(r, act, msg, sizeof(msg));
		d->n_evaluated++;
		if (h == -1) {
			add_error(d, r->name, msg);
			h = r->forbid;	/* fail closed */
		}
		if (kind == B_AUDIT) {
			if (d->n_audit < POLICY_DECISION_ITEMS) {
				struct policy_decision_audit *au =
				    &d->audit[d->n_audit];

				au->policy = r->name;
				au->forbid = r->forbid;
				au->matched = h;
			}
			d->n_audit++;
			continue;
		}
		if (h) {
			add_reason(d, r->name);
			held++;
			if (kind == B_PERMIT)
				break;
		}
	}
	return held;
}

int
policy_set_decide(const struct policy_set *set, const struct policy_input *in,
    struct policy_decision *out)
{
	static const struct rule_list empty = { NULL, 0 };
	const struct bucket *svc = NULL;
	const struct svc_slot *slot;
	struct cel_activation act;
	int a;

	/* Only the counters: the arrays are read up to them. */
	out->allow = 0;
	out->n_reasons = out->n_errors = out->n_audit = 0;
	out->n_evaluated = 0;
	if (set == NULL || in == NULL) {
		add_error(out, "", "no rule set or no request");
		return -1;
	}
	a = policy_action_parse(in->action);
	if (a < 0) {
		add_error(out, "", "unknown action");
		return -1;
	}
	if (in->service != NULL && in->service->name != NULL) {
		slot = svc_find(set, in->service->name);
		if (slot != NULL)
			svc = &slot->b;
	}
	act.input = in;
	act.vars = NULL;
	if (eval_lists(set, &set->any.lists[a][B_FORBID], svc != NULL ?
	    &svc->lists[a][B_FORBID] : &empty, B_FORBID, &act, out) == 0) {
		out->allow = eval_lists(set, &set->any.lists[a][B_PERMIT],
		    svc != NULL ? &svc->lists[a][B_PERMIT] : &empty, B_PERMIT,
		    &act, out) > 0;
	}
	eval_lists(set, &set->any.lists[a][B_AUDIT], svc != NULL ?
	    &svc->lists[a][B_AUDIT] : &empty, B_AUDIT, &act, out);
	return 0;
}
