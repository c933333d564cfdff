/*
 * grants.h - the grant engine (DESIGN section 4, "Grants"): the signing
 * key and the keys it publishes (/v1/jwks), the active grants per
 * endpoint that order the candidates, and the making, refreshing,
 * revoking and introspection of connection grants: endpoint selection,
 * admission per candidate, vL3 addresses and signed tokens.
 *
 * An engine: no HTTP.  Its caller (api_grants.c) parses requests and
 * writes replies; what a grant needs of a request comes as a struct
 * admission_caller.  The store listener keeps the per-endpoint counts
 * (grants_store_event); service records come from the admission engine,
 * which follows the store too.  All functions are thread-safe.
 */
#ifndef NSREG_GRANTS_H
#define NSREG_GRANTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "admission.h"
#include "error.h"
#include "principal.h"
#include "store.h"

/* A grant id: 10 characters of milliseconds, 16 of randomness. */
#define GRANTS_ID_LEN		26

struct conf;
struct grants;

/*
 * The grant engine (after store_set_listener): loads grant-key (written
 * first when missing and dev is set, as under nsregd --dev), makes it the
 * store's signing key (retiring the previous one), reads the published
 * keys and the active grants per endpoint.  store and admission are
 * borrowed and must outlive it; of conf it keeps copies.  NULL with err
 * when the key file is bad.
 */
struct grants	*grants_new(struct store *store, struct admission *admission,
		    const struct conf *conf, int dev,
		    struct nsreg_error *err);

/* SIGHUP: grant-ttl, and grant-key when the file holds another key. */
int		 grants_reload(struct grants *g, const struct conf *conf,
		    struct nsreg_error *err);

/*
 * The same with the key already loaded (grant_key_load; k NULL when conf
 * has no grant-key), reference stolen: the step of a reload that cannot
 * fail for a bad file.  0, or -1 with err when the store refuses the key.
 */
struct grant_key;
int		 grants_reload_key(struct grants *g, const struct conf *conf,
		    struct grant_key *k, struct nsreg_error *err);
void		 grants_free(struct grants *g);

/*
 * Count every endpoint's live grants again from the store (after it
 * missed events).  The counts steer least-loaded selection: a grant
 * written while they are read may be counted once too often or too few
 * until it ends.  0, or -1 with err.
 */
int		 grants_loads_reload(struct grants *g, int64_t now,
		    struct nsreg_error *err);

/* The store listener's part for grants (pass the grants as arg). */
void		 grants_store_event(const struct store_event *ev, void *arg);

/*
 * A service write of name with doc (its new document) is refused with
 * NSREG_CONFLICT when it changes the vl3 pool that live grants hold
 * addresses of.
 */
int		 grants_check_service(struct grants *g, const char *name,
		    const json_t *doc, int64_t now, struct nsreg_error *err);

/*
 * Grants go to workloads: -1 with err NSREG_PERMISSION_DENIED when p has
 * no SPIFFE ID (the admin token), else 0.
 */
int		 grants_issuable(const struct principal *p,
		    struct nsreg_error *err);

/* A grant made or refreshed, or the decision that refused it. */
struct grants_issued {
	struct store_object	 obj;		/* the stored grant */
	char			*token;		/* its signed token */
	json_t			*decision;	/* a denial's decision */
};

/* Release what out holds (the token is wiped). */
void		 grants_issued_clear(struct grants_issued *out);

/*
 * POST /v1/grants (steps 1-5 of DESIGN section 4): choose an endpoint of
 * service (endpoint, when not NULL, pins one), admit the caller, assign a
 * vL3 address, store the grant and sign its token.  service, endpoint
 * and labels (borrowed; NULL: {}) are checked by the caller.  Returns 0
 * with out->obj and out->token, or -1 with err, and out->decision (a new
 * reference) when admission denied it.  Clear out either way.
 */
int		 grants_issue(struct grants *g,
		    const struct admission_caller *caller, const char *service,
		    const char *endpoint, const json_t *labels,
		    struct grants_issued *out, struct nsreg_error *err);

/*
 * Take back the stored grant id that could not be handed out (its reply
 * failed after grants_issue); a failure is logged.
 */
void		 grants_withdraw(struct grants *g, const char *id,
		    int64_t now);

/*
 * Decide grant id again for its principal under today's rules and sign a
 * fresh token.  Returns 0 with out->obj and out->token, or -1 with err;
 * when admission now denies it, the grant is revoked and out->decision
 * holds the decision.  Clear out either way.
 */
int		 grants_refresh(struct grants *g,
		    const struct admission_caller *caller, const char *id,
		    struct grants_issued *out, struct nsreg_error *err);

/*
 * Fetch grant id into obj (cleared by the caller) with *rendered (a new
 * reference) when p may read it: its principal, its audience, an admin.
 * Returns 0, or -1 with err (NSREG_NOT_FOUND, NSREG_PERMISSION_DENIED).
 */
int		 grants_fetch(struct grants *g, const struct principal *p,
		    const char *id, int64_t now, struct store_object *obj,
		    json_t **rendered, struct nsreg_error *err);

/*
 * Revoke grant id: p is its principal or an admin; if_match as from
 * api_if_match (0: any revision).  Returns 0 or -1 with err.
 */
int		 grants_revoke(struct grants *g, const struct principal *p,
		    const char *id, int64_t if_match, int64_t now,
		    struct nsreg_error *err);

/*
 * RFC 7662: 1 when token is a grant token signed by a published key, in
 * its validity, whose claims agree with the live grant they name and
 * whose endpoint is live; *claims is then its claims (a new reference).
 * 0 otherwise (*claims NULL; the reason is logged at debug level).
 */
int		 grants_introspect(struct grants *g, const char *token,
		    int64_t now, json_t **claims);

/*
 * The /v1/jwks document: *text (a new buffer, *len bytes) as of now.
 * Returns 0 or -1 with err (out of memory).
 */
int		 grants_jwks(struct grants *g, int64_t now, char **text,
		    size_t *len, struct nsreg_error *err);

#endif
