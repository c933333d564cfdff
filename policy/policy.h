/*
 * policy.h - admission rules: a CEL subset and Cedar-style rule sets
 * (DESIGN section 5).  This is the only header the server includes from
 * policy/.
 *
 * The library is pure: no I/O, no clock (the request time is an input), no
 * globals, no locks.  A rule set is compiled once by policy_set_build(),
 * is immutable afterwards and may be evaluated by any number of threads at
 * once with policy_set_decide().  Evaluation does not parse and keeps
 * nothing after it returns: temporary values live in a per-call arena
 * (a stack buffer, spilling to the heap only for large intermediate lists
 * or strings, freed before return).
 *
 * Ownership follows jansson's conventions and is stated for each function:
 * "borrowed" json_t arguments are only read during the call (or, for the
 * input structs, for the duration of policy_set_decide()); returned
 * json_t values are new references.
 *
 * Errors: functions that can fail return -1 (or NULL) and fill a caller's
 * struct policy_error, which may be NULL when the caller does not care.
 */
#ifndef NSREG_POLICY_H
#define NSREG_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Limits of a rule (DESIGN section 4 names, section 5 conditions). */
#define POLICY_NAME_MAX		253	/* [a-z0-9][a-z0-9._-]{0,252} */
#define POLICY_CONDITION_MAX	8192	/* bytes of CEL source */
#define POLICY_DESCRIPTION_MAX	1024	/* bytes */
#define POLICY_SERVICES_MAX	64	/* entries of "services" */
#define POLICY_DEFAULT_MAX_COST	100000	/* cost units, see nsreg-policy(7) */

/*
 * An error with enough detail for a 400 answer.  message is the complete
 * human-readable text, already prefixed with the field and, for condition
 * errors, "line:column: " (e.g.
 * "condition: 1:17: syntax error: unexpected ')'").  field names the JSON
 * field at fault ("name", "actions[1]", "condition", "[3].effect" when a
 * whole array of rules is checked); "" when none.  line and column are
 * 1-based positions inside the condition (column counts characters), 0
 * when the error is not about the condition text.
 */
#define POLICY_ERROR_MESSAGE_MAX	384
#define POLICY_ERROR_FIELD_MAX		96
struct policy_error {
	char	message[POLICY_ERROR_MESSAGE_MAX];
	char	field[POLICY_ERROR_FIELD_MAX];
	int	line;
	int	column;
};

/*
 * Time zones.  CEL's timestamp accessors take an optional zone:
 * "UTC", fixed offsets ("+05:30", "-02:00") need nothing; IANA names
 * ("Europe/Paris") are resolved through this optional callback, which
 * stores in *offset_sec the zone's UTC offset at the instant utc_sec and
 * returns 0, or returns -1 for an unknown zone.  It is called from
 * evaluating threads concurrently and must be thread-safe.  policy_tz.h
 * provides one backed by the system's zoneinfo files (that file does
 * I/O and lives outside this pure library).
 */
struct policy_tz {
	int	(*offset)(void *arg, const char *name, int64_t utc_sec,
		    int32_t *offset_sec);
	void	*arg;
};

/* Options for building rule sets and compiling expressions. */
struct policy_options {
	uint64_t		 max_cost;	/* 0: POLICY_DEFAULT_MAX_COST */
	const struct policy_tz	*tz;		/* NULL: UTC and offsets only */
};

/*
 * The request, as the condition sees it (DESIGN section 5).  Every
 * pointer is borrowed for the duration of policy_set_decide() and may be
 * NULL: a NULL string is absent from its map (has() is false), a NULL
 * json_t labels/claims is an empty map, a NULL list an empty list.  Times
 * are milliseconds since the Unix epoch; 0 means "none" (the field is
 * absent).  Building an input copies nothing.
 */
struct policy_principal {
	const char	*id;		/* spiffe://td/path */
	const char	*trust_domain;
	const char	*path;		/* "/ns/x/sa/y"; segments derive from it */
	const char	*auth;		/* "x509", "jwt", "admin" */
	const json_t	*claims;	/* object */
	int64_t		 expires_at;	/* ms */
};

struct policy_service {
	const char	*name;
	const char	*payload;	/* "IP" or "ETHERNET" */
	const json_t	*labels;	/* object of strings */
	const json_t	*vl3;		/* {prefix, client_prefix_len}; NULL */
};

struct policy_endpoint {
	const char	*name;
	const char	*url;		/* endpoint.address derives from it */
	const json_t	*labels;	/* the labels for the requested service */
	const json_t	*network_service_names;	/* array of strings */
	const char	*owner;
	int64_t		 expiration_time;	/* ms */
};

struct policy_request {
	const json_t	*labels;	/* object */
	int64_t		 time;		/* ms; "now" for the condition */
	const char	*remote_addr;
	/*
	 * request.origin: on whose behalf a peer registry calls, when this
	 * server accepts that peer's statement (DESIGN section 5); NULL:
	 * absent.  Seen by rules with the fields of principal.
	 */
	const struct policy_principal	*origin;
	const char	*protocol;	/* "http/1.1", "h2", "grpc"; NULL */
	const json_t	*nsm_path;	/* [{name, id}] or NULL: absent */
};

struct policy_input {
	const struct policy_principal	*principal;	/* NULL: null */
	const char			*action;	/* required */
	const struct policy_service	*service;	/* NULL: null */
	const struct policy_endpoint	*endpoint;	/* NULL: null */
	const struct policy_request	*request;	/* NULL: all absent */
};

/* The five actions a rule may name. */
enum policy_action {
	POLICY_ACTION_FIND = 0,
	POLICY_ACTION_REGISTER,
	POLICY_ACTION_UNREGISTER,
	POLICY_ACTION_PUBLISH,
	POLICY_ACTION_CONNECT,
	POLICY_ACTION_COUNT
};

/* "find" ... "connect" -> enum; -1 for anything else. */
int		 policy_action_parse(const char *name);
const char	*policy_action_name(enum policy_action a);

/*
 * A decision (DESIGN section 4 "Decisions").  Names point into the rule
 * set and stay valid while the set lives (hold a reference while using
 * them); messages are copied.  Lists are capped at POLICY_DECISION_ITEMS
 * entries; the n_* counters keep the true totals so a renderer can say how
 * many were left out.  Entries past the (capped) counters are undefined:
 * policy_set_decide() sets the counters, not the whole struct.
 */
#define POLICY_DECISION_ITEMS		32
#define POLICY_DECISION_MESSAGE_MAX	160

struct policy_decision_error {
	const char	*policy;
	char		 message[POLICY_DECISION_MESSAGE_MAX];
};

struct policy_decision_audit {
	const char	*policy;
	int		 forbid;	/* effect: 1 forbid, 0 permit */
	int		 matched;	/* condition held (errors: forbid 1, permit 0) */
};

struct policy_decision {
	int				 allow;		/* 1 allow, 0 deny */
	size_t				 n_reasons;
	const char			*reasons[POLICY_DECISION_ITEMS];
	size_t				 n_errors;
	struct policy_decision_error	 errors[POLICY_DECISION_ITEMS];
	size_t				 n_audit;
	struct policy_decision_audit	 audit[POLICY_DECISION_ITEMS];
	size_t				 n_evaluated;	/* conditions evaluated */
};

/* An immutable, compiled rule set.  Opaque. */
struct policy_set;

/*
 * Validate and compile a JSON array of rules
 * [{name, effect, actions, services, condition, description, mode}, ...]
 * (see nsreg-policy(7)).  rules is borrowed.  Returns a new set with one
 * reference, or NULL with err filled (field like "[2].condition" and the
 * condition's line:column).  Duplicate names are an error.  The empty
 * array is a valid set that denies everything.
 */
struct policy_set	*policy_set_build(const json_t *rules,
			    const struct policy_options *opts,
			    struct policy_error *err);

/* Take another reference (atomic; returns set). */
struct policy_set	*policy_set_ref(struct policy_set *set);

/* Drop a reference (atomic); the last one frees the set.  NULL is a no-op. */
void			 policy_set_free(struct policy_set *set);

/* Number of rules in the set. */
size_t			 policy_set_count(const struct policy_set *set);

/*
 * Validate one rule object (borrowed) exactly as policy_set_build() would:
 * what PUT /v1/policies/{name} calls before storing.  Returns 0 or -1 with
 * err filled (field "condition" plus line:column, "actions[1]", or the
 * name of an unknown field).
 */
int			 policy_rule_check(const json_t *rule,
			    const struct policy_options *opts,
			    struct policy_error *err);

/*
 * Decide a request: the enforcing rules whose actions contain in->action
 * and whose services (when given) contain in->service->name are evaluated;
 * any forbid that holds denies, else any permit that holds allows, else
 * deny.  Reasons: every forbid that held (deny), or the first permit in
 * rule order that held (allow; later permits are not evaluated).  A permit whose condition errors (or exceeds its cost limit) does
 * not hold; a forbid that errors holds.  Audit rules that apply are
 * evaluated and reported in out->audit, never enforced.  Thread-safe;
 * allocates nothing that outlives the call.  Returns 0, or -1 (out filled
 * with a deny and an error entry) when in or in->action is invalid.
 * Admins bypass rules: that is the caller's business, not this function's.
 */
int			 policy_set_decide(const struct policy_set *set,
			    const struct policy_input *in,
			    struct policy_decision *out);

/*
 * The decision as
 * {"decision":"allow|deny","reasons":[...],"errors":[{"policy","message"}],
 *  "audit":[{"policy","effect","matched"}]}.  Returns a new reference, or
 * NULL on allocation failure.
 */
json_t			*policy_decision_json(const struct policy_decision *d);

/*
 * Parse a request from JSON as nsreg-policy eval reads it (see
 * nsreg-policy(1)): {"principal":{...},"action","service":{...}|null,
 * "endpoint":{...}|null,"request":{...},"now"} with times as RFC 3339
 * strings.  A principal (and request.origin, which has the same fields)
 * with an "id" but no "trust_domain" or "path" gets them from the SPIFFE
 * ID.  Unknown fields are errors.  The strings and
 * json_t pointers of the filled input are borrowed from doc, which must
 * outlive them; storage holds the structs the input points to.  "now",
 * when present, sets request.time when the request gives none.  Returns 0
 * or -1 with err (field names the offending member).
 */
struct policy_input_storage {
	struct policy_principal	principal;
	struct policy_service	service;
	struct policy_endpoint	endpoint;
	struct policy_request	request;
	struct policy_principal	origin;		/* request.origin */
	char			scratch[2304];	/* derived strings */
	char			origin_scratch[2304];
};
int			 policy_input_from_json(const json_t *doc,
			    struct policy_input *in,
			    struct policy_input_storage *storage,
			    struct policy_error *err);

/*
 * Parse an RFC 3339 time ("2025-01-02T03:04:05.123Z", offsets allowed)
 * into milliseconds since the epoch.  Returns 0 or -1.
 */
int			 policy_time_parse(const char *s, int64_t *ms);

#endif
