/*
 * grants.c - the grant engine (grants.h): the signing key and the
 * published keys, the active grants per endpoint that order the
 * candidates, and the making, refreshing, revoking and introspecting of
 * connection grants (DESIGN section 4, "Grants").  No HTTP: the
 * handlers are in api_grants.c.
 *
 * Who sees what: a grant is read by its principal, by the owner of its
 * endpoint (the token's audience: the forwarder side) and by admins.
 * Only the principal or an admin revokes; only the principal refreshes
 * (admission then decides for the principal, never for an admin).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "admission.h"
#include "conf.h"
#include "grant.h"
#include "grants.h"
#include "hashmap.h"
#include "ipam.h"
#include "log.h"
#include "select.h"
#include "util.h"
#include "validate.h"

/*
 * Published keys are read again from the store at least this often (ms):
 * another instance of a cluster may have rotated the grant key.
 */
#define GRANTS_KEYS_FRESH_MS	500

/* Write attempts when a record moves under a grant being made. */
#define GRANTS_ATTEMPTS		8

/* Active grants of one endpoint. */
struct grants_load {
	char			*name;
	int64_t			 n;
};

struct grants {
	struct store		*store;
	struct admission	*admission;
	char			*server_id;	/* the tokens' issuer */
	int			 dev;		/* write a missing grant-key */
	pthread_mutex_t		 lock;		/* the fields below */
	struct grant_key	*key;		/* NULL: no grant-key */
	struct grant_keyset	*keyset;	/* published keys */
	char			*jwks;		/* {"keys":[...]} text */
	size_t			 jwks_len;
	int64_t			 jwks_until;	/* rebuild then (0: never) */
	int64_t			 keys_read;	/* when (ms) */
	int			 keys_reading;	/* a refresh runs */
	int			 key_warned;	/* another key is current */
	int64_t			 ttl;		/* grant-ttl, ms */
	pthread_mutex_t		 load_lock;
	struct hashmap		*loads;		/* struct grants_load */
};

/* ---- active grants per endpoint ------------------------------------------ */

/* Add d to name's count (load_lock held). */
static void
grants_load_add_locked(struct grants *g, const char *name, int64_t d)
{
	struct grants_load	*l;

	if ((l = hashmap_get(g->loads, name)) == NULL) {
		if (d <= 0 || (l = calloc(1, sizeof(*l))) == NULL)
			return;
		if ((l->name = strdup(name)) == NULL ||
		    hashmap_put(g->loads, l->name, l, NULL) == -1) {
			free(l->name);
			free(l);
			return;
		}
	}
	l->n += d;
	if (l->n <= 0) {
		hashmap_remove(g->loads, l->name);
		free(l->name);
		free(l);
	}
}

static void
grants_load_set(const char *name, int64_t n, void *arg)
{
	struct grants	*g = arg;

	pthread_mutex_lock(&g->load_lock);
	grants_load_add_locked(g, name, n);
	pthread_mutex_unlock(&g->load_lock);
}

static int64_t
grants_load_get(const char *name, void *arg)
{
	struct grants		*g = arg;
	struct grants_load	*l;
	int64_t			 n = 0;

	pthread_mutex_lock(&g->load_lock);
	if ((l = hashmap_get(g->loads, name)) != NULL)
		n = l->n;
	pthread_mutex_unlock(&g->load_lock);
	return n;
}

/* ---- service records ----------------------------------------------------- */

/*
 * The service name as rendered (new reference) and its revision: the
 * admission engine's record unless fresh (or unknown to it), else read
 * from the store.
 */
static int
grants_service(struct grants *g, const char *name, int64_t now, int fresh,
    json_t **rendered, int64_t *revision, struct nsreg_error *err)
{
	struct store_object	o;

	if (!fresh && admission_service(g->admission, name, rendered,
	    revision, err) == 0)
		return 0;
	memset(&o, 0, sizeof(o));
	if (store_fetch(g->store, STORE_SERVICE, name, now, &o, err) == -1) {
		if (err->code == NSREG_NOT_FOUND)
			nsreg_error_set(err, NSREG_NOT_FOUND, "service",
			    "service %s not found", name);
		return -1;
	}
	*revision = o.revision;
	*rendered = store_object_render(&o);
	store_object_clear(&o);
	if (*rendered == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	return 0;
}

void
grants_store_event(const struct store_event *ev, void *arg)
{
	struct grants	*g = arg;
	const char	*ep;

	if (g == NULL || ev->kind != STORE_GRANT ||
	    (ev->type != STORE_ADDED && ev->type != STORE_DELETED))
		return;
	ep = json_string_value(json_object_get(json_object_get(ev->object,
	    "endpoint"), "name"));
	if (ep == NULL)
		return;
	pthread_mutex_lock(&g->load_lock);
	grants_load_add_locked(g, ep, ev->type == STORE_ADDED ? 1 : -1);
	pthread_mutex_unlock(&g->load_lock);
}

/* ---- keys ---------------------------------------------------------------- */

/*
 * Say so when the store's current signing key is not this instance's
 * (g->lock held): another instance of the cluster has another grant-key,
 * and the store refuses this one's grants.  Said once per key.
 */
static void
grants_keys_compare(struct grants *g, const json_t *keys)
{
	const json_t	*k;
	const char	*cur = NULL, *mine;
	size_t		 i;

	if (g->key == NULL)
		return;
	json_array_foreach(keys, i, k)
		if (!json_is_integer(json_object_get(k, "retired_at")))
			cur = json_string_value(json_object_get(k, "kid"));
	mine = grant_key_kid(g->key);
	if (cur == NULL || strcmp(cur, mine) == 0) {
		g->key_warned = 0;
		return;
	}
	if (!g->key_warned)
		log_warnx("msg=\"the store signs with another grant key: "
		    "give every instance the same grant-key\" kid=%s "
		    "current=%s", mine, cur);
	g->key_warned = 1;
}

/*
 * Read the keys to publish from the store: the key set for
 * introspection and the /v1/jwks text, good until the first retired key
 * is no longer needed.
 */
static int
grants_keys_refresh(struct grants *g, int64_t now, struct nsreg_error *err)
{
	struct grant_keyset	*ks = NULL;
	json_t			*keys = NULL, *jwks = NULL, *doc = NULL;
	json_t			*k;
	char			*text = NULL;
	int64_t			 until = 0, exp;
	size_t			 i;
	int			 rc = -1;

	if (store_grant_keys(g->store, now, &keys, err) == -1)
		return -1;
	if ((jwks = json_array()) == NULL)
		goto oom;
	json_array_foreach(keys, i, k) {
		if (json_array_append(jwks, json_object_get(k, "jwk")) == -1)
			goto oom;
		exp = json_integer_value(json_object_get(k, "expires_at"));
		if (json_is_integer(json_object_get(k, "retired_at")) &&
		    (until == 0 || exp < until))
			until = exp;
	}
	if ((ks = grant_keyset_new(jwks, err)) == NULL)
		goto out;
	if ((doc = json_pack("{s:O}", "keys", jwks)) == NULL ||
	    (text = json_dumps(doc, JSON_COMPACT)) == NULL)
		goto oom;
	pthread_mutex_lock(&g->lock);
	grant_keyset_unref(g->keyset);
	g->keyset = ks;
	ks = NULL;
	free(g->jwks);
	g->jwks = text;
	g->jwks_len = strlen(text);
	text = NULL;
	g->jwks_until = until;
	g->keys_read = now;
	grants_keys_compare(g, keys);
	pthread_mutex_unlock(&g->lock);
	rc = 0;
	goto out;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
out:
	grant_keyset_unref(ks);
	json_decref(doc);
	json_decref(jwks);
	json_decref(keys);
	free(text);
	return rc;
}

/*
 * Bring the published keys up to date when a retired one ran out, and
 * every GRANTS_KEYS_FRESH_MS: another instance may have changed them
 * (within a second, as DESIGN section 6 asks, with room to spare).
 */
static void
grants_keys_check(struct grants *g, int64_t now)
{
	struct nsreg_error	err;
	int			due;

	/* One caller reads; the others go on with the keys held. */
	pthread_mutex_lock(&g->lock);
	due = !g->keys_reading && ((g->jwks_until != 0 &&
	    now >= g->jwks_until) || now - g->keys_read >=
	    GRANTS_KEYS_FRESH_MS);
	if (due)
		g->keys_reading = 1;
	pthread_mutex_unlock(&g->lock);
	if (!due)
		return;
	if (grants_keys_refresh(g, now, &err) == -1)
		log_warnx("msg=\"grant keys refresh failed\" error=%s "
		    "detail=\"%s\"", nsreg_code_name(err.code), err.message);
	pthread_mutex_lock(&g->lock);
	g->keys_reading = 0;
	pthread_mutex_unlock(&g->lock);
}

/*
 * Make k (stolen; NULL: none) the signing key: record it in the store
 * (retiring the previous one) and publish.
 */
static int
grants_key_install(struct grants *g, struct grant_key *k, int64_t now,
    struct nsreg_error *err)
{
	struct grant_key	*old;
	json_t			*jwk = NULL;
	char			*text = NULL;
	int			 rc = -1;

	if (k != NULL && ((jwk = grant_key_jwk(k)) == NULL ||
	    (text = json_dumps(jwk, JSON_COMPACT)) == NULL)) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (store_grant_key_use(g->store, k != NULL ? grant_key_kid(k) :
	    NULL, text, now, err) == -1)
		goto out;
	pthread_mutex_lock(&g->lock);
	old = g->key;
	g->key = k;
	k = NULL;
	pthread_mutex_unlock(&g->lock);
	grant_key_unref(old);
	rc = grants_keys_refresh(g, now, err);
out:
	grant_key_unref(k);
	json_decref(jwk);
	free(text);
	return rc;
}

/*
 * After the last attempt: 1 when the store refused k (err's field
 * "kid") and k is still this instance's signing key: another instance of
 * the cluster made another key the current one, and trying again cannot
 * help.  err then says so (503).
 */
static int
grants_key_refused(struct grants *g, const struct grant_key *k,
    struct nsreg_error *err)
{
	int	mine;

	if (k == NULL || strcmp(err->field, "kid") != 0)
		return 0;
	pthread_mutex_lock(&g->lock);
	mine = g->key == k;
	pthread_mutex_unlock(&g->lock);
	if (!mine)
		return 0;
	nsreg_error_set(err, NSREG_UNAVAILABLE, "grant-key",
	    "grant key %s is not the current signing key of the registry: "
	    "another instance uses another grant-key; give every instance "
	    "the same one", grant_key_kid(k));
	return 1;
}

/* The signing key (a new reference) or NULL. */
static struct grant_key *
grants_key_get(struct grants *g)
{
	struct grant_key	*k;

	pthread_mutex_lock(&g->lock);
	k = grant_key_ref(g->key);
	pthread_mutex_unlock(&g->lock);
	return k;
}

struct grants *
grants_new(struct store *store, struct admission *admission,
    const struct conf *conf, int dev, struct nsreg_error *err)
{
	struct grants		*g;
	struct grant_key	*k = NULL;
	int64_t			 now = util_now_ms();

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	g->store = store;
	g->admission = admission;
	g->dev = dev;
	g->ttl = conf->grant_ttl;
	pthread_mutex_init(&g->lock, NULL);
	pthread_mutex_init(&g->load_lock, NULL);
	if ((g->loads = hashmap_new()) == NULL ||
	    (g->server_id = strdup(conf->server_id)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	if (conf->grant_key != NULL &&
	    (k = grant_key_load(conf->grant_key, dev, err)) == NULL)
		goto fail;
	if (grants_key_install(g, k, now, err) == -1)
		goto fail;
	if (store_grant_loads(store, now, grants_load_set, g, err) == -1)
		goto fail;
	if (g->key == NULL)
		log_info("msg=\"no grant-key: grants are not issued\"");
	else
		log_info("msg=\"grant key\" kid=%s", grant_key_kid(g->key));
	return g;
fail:
	grants_free(g);
	return NULL;
}

int
grants_reload(struct grants *g, const struct conf *conf,
    struct nsreg_error *err)
{
	struct grant_key	*k = NULL;

	if (conf->grant_key != NULL && (k = grant_key_load(conf->grant_key,
	    g->dev, err)) == NULL)
		return -1;
	return grants_reload_key(g, conf, k, err);
}

int
grants_reload_key(struct grants *g, const struct conf *conf,
    struct grant_key *k, struct nsreg_error *err)
{
	struct grant_key	*cur;
	int			 same;

	cur = grants_key_get(g);
	same = (k == NULL && cur == NULL) || (k != NULL && cur != NULL &&
	    strcmp(grant_key_kid(k), grant_key_kid(cur)) == 0);
	grant_key_unref(cur);
	if (same)
		grant_key_unref(k);
	else {
		log_info("msg=\"grant key rotated\" kid=%s",
		    k != NULL ? grant_key_kid(k) : "-");
		if (grants_key_install(g, k, util_now_ms(), err) == -1)
			return -1;
	}
	/* The TTL only once the key is in: all or nothing. */
	pthread_mutex_lock(&g->lock);
	g->ttl = conf->grant_ttl;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

/* hashmap_filter: free every count. */
static int
grants_load_drop(const char *name, void *l, void *arg)
{
	(void)name;
	(void)arg;
	free(((struct grants_load *)l)->name);
	free(l);
	return 0;
}

int
grants_loads_reload(struct grants *g, int64_t now, struct nsreg_error *err)
{
	pthread_mutex_lock(&g->load_lock);
	hashmap_filter(g->loads, grants_load_drop, NULL);
	pthread_mutex_unlock(&g->load_lock);
	return store_grant_loads(g->store, now, grants_load_set, g, err);
}

void
grants_free(struct grants *g)
{
	if (g == NULL)
		return;
	if (g->loads != NULL)
		hashmap_filter(g->loads, grants_load_drop, NULL);
	hashmap_free(g->loads);
	grant_key_unref(g->key);
	grant_keyset_unref(g->keyset);
	free(g->jwks);
	free(g->server_id);
	pthread_mutex_destroy(&g->lock);
	pthread_mutex_destroy(&g->load_lock);
	free(g);
}

/* ---- small helpers ------------------------------------------------------- */

/* A new id: time-ordered (appends to the store's keys), 80 random bits. */
static int
grants_new_id(int64_t now, char *id, struct nsreg_error *err)
{
	static const char	 digits[] = "0123456789abcdefghjkmnpqrstvwxyz";
	unsigned char		 rnd[10];
	uint64_t		 t = (uint64_t)now, bits = 0;
	int			 i, nbits = 0;
	size_t			 r = 0;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "no randomness for a grant id");
	for (i = 9; i >= 0; i--) {
		id[i] = digits[t & 31];
		t >>= 5;
	}
	for (i = 10; i < GRANTS_ID_LEN; i++) {
		if (nbits < 5) {
			bits = (bits << 8) | rnd[r++];
			nbits += 8;
		}
		nbits -= 5;
		id[i] = digits[(bits >> nbits) & 31];
	}
	id[GRANTS_ID_LEN] = '\0';
	return 0;
}

/* 1 when the caller may read the grant (rendered): principal, audience. */
static int
grants_visible(const struct principal *p, const json_t *grant)
{
	const char	*v;

	if (p->admin)
		return 1;
	if (p->id[0] == '\0')
		return 0;
	v = json_string_value(json_object_get(grant, "principal"));
	if (v != NULL && strcmp(v, p->id) == 0)
		return 1;
	v = json_string_value(json_object_get(grant, "audience"));
	return v != NULL && strcmp(v, p->id) == 0;
}

/* Reply 403 (or err's status) with {"error":{...},"decision":{...}}. */
/*
 * The token expiry for a grant issued at now (seconds): now + grant-ttl,
 * capped by the caller's credential.  NSREG_UNAUTHENTICATED when the
 * credential ends within the second.
 */
static int
grants_expiry(struct grants *g, const struct admission_caller *c,
    int64_t *iat, int64_t *exp, struct nsreg_error *err)
{
	int64_t	ttl;

	pthread_mutex_lock(&g->lock);
	ttl = g->ttl;
	pthread_mutex_unlock(&g->lock);
	*iat = c->now / 1000;
	*exp = *iat + (ttl + 999) / 1000;
	if (c->principal->expires_at != 0 &&
	    *exp > c->principal->expires_at / 1000)
		*exp = c->principal->expires_at / 1000;
	/* On a workload's behalf: no longer than its credential either. */
	if (c->principal->origin != NULL &&
	    c->principal->origin->expires_at != 0 &&
	    *exp > c->principal->origin->expires_at / 1000)
		*exp = c->principal->origin->expires_at / 1000;
	if (*exp <= *iat)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "the credential expires too soon for a grant: present a "
		    "fresh SVID");
	return 0;
}

/* The claims of a grant's token (rendered grant, borrowed): new ref. */
static json_t *
grants_claims(struct grants *g, const json_t *grant, int64_t iat,
    int64_t exp)
{
	const json_t	*ep = json_object_get(grant, "endpoint");
	const json_t	*actor = json_object_get(grant, "actor");
	json_t		*c;

	c = json_pack("{s:s, s:O, s:O, s:I, s:I, s:I, s:O, "
	    "s:{s:O, s:O, s:O, s:O, s:O}}",
	    "iss", g->server_id,
	    "sub", json_object_get(grant, "principal"),
	    "aud", json_object_get(grant, "audience"),
	    "iat", (json_int_t)iat, "nbf", (json_int_t)iat,
	    "exp", (json_int_t)exp,
	    "jti", json_object_get(grant, "id"),
	    "nsreg",
	    "service", json_object_get(grant, "service"),
	    "endpoint", json_object_get(ep, "name"),
	    "url", json_object_get(ep, "url"),
	    "address", json_object_get(grant, "address"),
	    "network", json_object_get(grant, "network"));
	/* Asked for by a peer registry: RFC 8693's actor claim names it. */
	if (c != NULL && json_is_string(actor) && json_object_set_new(c,
	    "act", json_pack("{s:O}", "sub", actor)) == -1) {
		json_decref(c);
		c = NULL;
	}
	return c;
}


/* Sign the token of the grant obj (its document holds every claim). */
static int
grants_sign(struct grants *g, struct grant_key *k,
    const struct store_object *obj, int64_t iat, int64_t exp, char **token,
    struct nsreg_error *err)
{
	json_t	*claims;

	if ((claims = grants_claims(g, obj->doc, iat, exp)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	*token = grant_sign(k, claims, err);
	json_decref(claims);
	return *token != NULL ? 0 : -1;
}

void
grants_issued_clear(struct grants_issued *out)
{
	store_object_clear(&out->obj);
	if (out->token != NULL) {
		explicit_bzero(out->token, strlen(out->token));
		free(out->token);
	}
	json_decref(out->decision);
	memset(out, 0, sizeof(*out));
}

void
grants_withdraw(struct grants *g, const char *id, int64_t now)
{
	/* Persisted but not handed out: take it back rather than leave it. */
	if (store_grant_delete(g->store, id, 0, STORE_REASON_REVOKED, now,
	    NULL, NULL) == -1)
		log_warnx("msg=\"cannot withdraw an unsigned grant\" "
		    "grant=%s", id);
}

/* Put the address of block into the grant's document (store callback). */
static int
grants_assign(struct store_object *obj, int64_t block, void *arg,
    struct nsreg_error *err)
{
	const struct ipam_pool	*pool = arg;
	char			 addr[IPAM_TEXT_MAX];

	if (ipam_block_address(pool, block, addr, sizeof(addr)) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "block %lld is not in %s", (long long)block,
		    pool->prefix);
	if (json_object_set_new(obj->doc, "address", json_string(addr)) ==
	    -1 || json_object_set_new(obj->doc, "network",
	    json_string(pool->prefix)) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	return 0;
}

/* The service's pool, or 0 in *has when it has no vl3. */
static int
grants_pool(const json_t *service, struct ipam_pool *pool, int *has,
    struct nsreg_error *err)
{
	const json_t	*vl3 = json_object_get(service, "vl3");

	*has = 0;
	if (!json_is_object(vl3))
		return 0;
	if (ipam_pool_init(pool, json_string_value(json_object_get(vl3,
	    "prefix")), (int)json_integer_value(json_object_get(vl3,
	    "client_prefix_len")), "vl3", err) == -1)
		return -1;
	*has = 1;
	return 0;
}

/* ---- POST /v1/grants ----------------------------------------------------- */

/* What one attempt at a grant found and chose. */
struct grants_try {
	int64_t			 service_rev;
	json_t			*service;	/* rendered */
	json_t			*endpoints;	/* rendered, offering it */
	struct select_result	 sel;
	const json_t		*chosen;	/* an endpoint of endpoints */
	json_t			*decision;	/* of the chosen, or first */
	struct nsreg_error	 denial;	/* the first denial */
	char			 denied[256];	/* names denied */
};

static void
grants_try_clear(struct grants_try *t)
{
	json_decref(t->service);
	json_decref(t->endpoints);
	select_result_free(&t->sel);
	json_decref(t->decision);
	memset(t, 0, sizeof(*t));
}

/*
 * Steps 1-3 of DESIGN section 4: the service, selection, admission per
 * candidate.  Returns 0 with t->chosen set, or -1 with err (and
 * t->decision when admission denied every candidate).
 */
static int
grants_choose(struct grants *g, const struct admission_caller *c,
    const char *id, const char *service, const char *pinned,
    const json_t *labels, int fresh, struct grants_try *t,
    struct nsreg_error *err)
{
	struct admission_subject subj;
	struct store_query	 q;
	struct nsreg_error	 e;
	const char		*svcs[1] = { service }, *name;
	json_t			*d;
	int64_t			 rev;
	size_t			 i, off = 0;
	int			 more, n;

	memset(t, 0, sizeof(*t));
	t->sel.match = -1;
	if (grants_service(g, service, c->now, fresh, &t->service,
	    &t->service_rev, err) == -1)
		return -1;
	memset(&q, 0, sizeof(q));
	q.kind = STORE_ENDPOINT;
	q.services = svcs;
	q.nservices = 1;
	if (store_list(g->store, &q, c->now, &t->endpoints, &rev, &more,
	    err) == -1)
		return -1;
	if (json_array_size(t->endpoints) == 0)
		return nsreg_error_set(err, NSREG_CONFLICT, "service",
		    "service %s has no live endpoint", service);
	if (pinned != NULL) {
		/* NSM: a named endpoint is taken as is, without matches. */
		if ((t->sel.v = calloc(1, sizeof(*t->sel.v))) == NULL)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
		json_array_foreach(t->endpoints, i, d) {
			name = json_string_value(json_object_get(d, "name"));
			if (name != NULL && strcmp(name, pinned) == 0) {
				t->sel.v[0].endpoint = d;
				t->sel.v[0].name = name;
				t->sel.n = 1;
				break;
			}
		}
		if (t->sel.n == 0)
			return nsreg_error_set(err, NSREG_NOT_FOUND,
			    "endpoint", "endpoint %s does not exist, has "
			    "expired or does not offer service %s", pinned,
			    service);
	} else {
		if (select_endpoints(t->service, labels, t->endpoints,
		    &t->sel, err) == -1)
			return -1;
		if (t->sel.n == 0)
			return nsreg_error_set(err, NSREG_CONFLICT, "labels",
			    "service %s: matches[%d] selects none of its %zu "
			    "live endpoints for these labels", service,
			    t->sel.match, json_array_size(t->endpoints));
		select_order(&t->sel, grants_load_get, g);
	}
	for (i = 0; i < t->sel.n; i++) {
		memset(&subj, 0, sizeof(subj));
		subj.service = service;
		subj.service_obj = t->service;
		subj.endpoint = t->sel.v[i].name;
		subj.endpoint_obj = t->sel.v[i].endpoint;
		subj.labels = labels;
		subj.grant = id;
		d = NULL;
		nsreg_error_clear(&e);
		if (admission_authorize(g->admission, c,
		    ADMISSION_ACTION_CONNECT, &subj, &d, &e) == 0) {
			json_decref(t->decision);
			t->decision = d;
			t->chosen = t->sel.v[i].endpoint;
			return 0;
		}
		if (e.code != NSREG_PERMISSION_DENIED) {
			json_decref(d);
			*err = e;
			return -1;
		}
		if (t->decision == NULL) {
			t->decision = d;
			t->denial = e;
		} else
			json_decref(d);
		n = snprintf(t->denied + off, sizeof(t->denied) - off, "%s%s",
		    off > 0 ? ", " : "", t->sel.v[i].name);
		if (n > 0 && (size_t)n < sizeof(t->denied) - off)
			off += (size_t)n;
	}
	if (t->sel.n == 1)
		*err = t->denial;
	else
		nsreg_error_set(err, NSREG_PERMISSION_DENIED, NULL,
		    "connect to %s denied on each of its %zu candidate "
		    "endpoints (%s); first: %s", service, t->sel.n, t->denied,
		    t->denial.message);
	return -1;
}

/* The grant document of a choice. */
static json_t *
grants_doc(const char *id, const struct principal *p, const char *actor,
    const char *service, const json_t *endpoint, const json_t *labels,
    const json_t *decision, int64_t iat)
{
	const json_t	*owner = json_object_get(endpoint, "owner");
	char		 ts[UTIL_RFC3339_MAX];

	/*
	 * The audience is the endpoint's owner, who checks the token; one
	 * registered with the admin token has none, and is named by URL.
	 */
	if (!json_is_string(owner))
		owner = json_object_get(endpoint, "url");
	return json_pack("{s:s, s:s, s:s*, s:s, s:{s:O, s:O}, s:O, s:n, "
	    "s:n, s:O, s:s, s:O?}",
	    "id", id, "principal", p->id, "actor", actor, "service", service,
	    "endpoint", "name", json_object_get(endpoint, "name"),
	    "url", json_object_get(endpoint, "url"),
	    "audience", owner, "address", "network",
	    "labels", labels,
	    "issued_at", util_rfc3339_format(iat * 1000, ts, sizeof(ts)),
	    "decision", decision);
}


int
grants_issuable(const struct principal *p, struct nsreg_error *err)
{
	if (p->id[0] == '\0')
		return nsreg_error_set(err, NSREG_PERMISSION_DENIED, NULL,
		    "grants are issued to workloads: present an X.509-SVID "
		    "or a JWT-SVID (the admin token has no SPIFFE ID)");
	return 0;
}

int
grants_issue(struct grants *g, const struct admission_caller *c,
    const char *service, const char *endpoint, const json_t *labels,
    struct grants_issued *out, struct nsreg_error *err)
{
	struct grants_try	 t;
	struct store_object	*obj = &out->obj;
	struct store_grant	 sg;
	struct ipam_pool	 pool;
	struct grant_key	*k = NULL;
	const struct principal	*p = c->principal;
	const char		*actor = NULL;
	json_t			*empty = NULL;
	char			 id[GRANTS_ID_LEN + 1];
	int64_t			 iat, exp;
	int			 attempt, has_pool, rc = -1;

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	/*
	 * A peer registry asking on a workload's behalf (accepted, auth.h):
	 * the grant is the workload's, the registry its actor.
	 */
	if (p->origin != NULL) {
		actor = p->id;
		p = p->origin;
	}
	if (grants_issuable(p, err) == -1)
		goto out;
	if (labels == NULL && (labels = empty = json_object()) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (grants_expiry(g, c, &iat, &exp, err) == -1 ||
	    grants_new_id(c->now, id, err) == -1)
		goto out;
	for (attempt = 0; attempt < GRANTS_ATTEMPTS; attempt++) {
		grant_key_unref(k);
		if ((k = grants_key_get(g)) == NULL) {
			nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
			    "grant-key is not configured: this nsregd issues "
			    "no grants");
			goto out;
		}
		grants_try_clear(&t);
		store_object_clear(obj);
		if (grants_choose(g, c, id, service, endpoint, labels,
		    attempt > 0, &t, err) == -1) {
			out->decision = t.decision;
			t.decision = NULL;
			goto out;
		}
		if (grants_pool(t.service, &pool, &has_pool, err) == -1)
			goto out;
		obj->kind = STORE_GRANT;
		obj->expires_at = exp * 1000;
		if ((obj->name = strdup(id)) == NULL ||
		    (obj->owner = strdup(p->id)) == NULL ||
		    (obj->doc = grants_doc(id, p, actor, service, t.chosen,
		    labels, t.decision, iat)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		memset(&sg, 0, sizeof(sg));
		sg.service = service;
		sg.service_rev = t.service_rev;
		sg.endpoint = json_string_value(json_object_get(t.chosen,
		    "name"));
		sg.endpoint_rev = json_integer_value(json_object_get(t.chosen,
		    "revision"));
		sg.kid = grant_key_kid(k);
		if (has_pool) {
			sg.pool = pool.prefix;
			sg.client_len = pool.client_len;
			sg.first = pool.first;
			sg.last = pool.last;
			sg.assign = grants_assign;
			sg.assign_arg = &pool;
		}
		if (store_grant_create(g->store, obj, &sg, c->now, err) == 0) {
			if (grants_sign(g, k, obj, iat, exp, &out->token,
			    err) == -1) {
				grants_withdraw(g, obj->name, c->now);
				goto out;
			}
			rc = 0;
			goto out;
		}
		/* A record moved or the key rotated: choose again. */
		if (err->code != NSREG_FAILED_PRECONDITION)
			goto out;
	}
	if (grants_key_refused(g, k, err))
		goto out;
	nsreg_error_set(err, NSREG_CONFLICT, NULL,
	    "service %s kept changing while the grant was made; try again",
	    service);
out:
	if (rc == -1) {
		store_object_clear(obj);
		memset(obj, 0, sizeof(*obj));
	}
	grant_key_unref(k);
	grants_try_clear(&t);
	json_decref(empty);
	return rc;
}

int
grants_fetch(struct grants *g, const struct principal *p, const char *id,
    int64_t now, struct store_object *obj, json_t **rendered,
    struct nsreg_error *err)
{
	*rendered = NULL;
	if (validate_name(id, 0, "id", err) == -1)
		return nsreg_error_set(err, NSREG_NOT_FOUND, "id",
		    "grant %s not found", id);
	if (store_fetch(g->store, STORE_GRANT, id, now, obj, err) == -1) {
		if (err->code == NSREG_NOT_FOUND)
			nsreg_error_set(err, NSREG_NOT_FOUND, "id",
			    "grant %s not found", id);
		return -1;
	}
	if ((*rendered = store_object_render(obj)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	if (!grants_visible(p, *rendered))
		return nsreg_error_set(err, NSREG_PERMISSION_DENIED, NULL,
		    "grant %s belongs to another principal", id);
	return 0;
}

int
grants_revoke(struct grants *g, const struct principal *p, const char *id,
    int64_t if_match, int64_t now, struct nsreg_error *err)
{
	struct store_object	 obj;
	json_t			*r = NULL;
	int			 rc = -1;

	memset(&obj, 0, sizeof(obj));
	if (grants_fetch(g, p, id, now, &obj, &r, err) == -1)
		goto out;
	if (!p->admin && (obj.owner == NULL || strcmp(obj.owner, p->id) != 0)) {
		nsreg_error_set(err, NSREG_PERMISSION_DENIED, NULL,
		    "grant %s is revoked by its principal or an admin",
		    obj.name);
		goto out;
	}
	if (store_grant_delete(g->store, obj.name, if_match > 0 ? if_match :
	    0, STORE_REASON_REVOKED, now, NULL, err) == -1)
		goto out;
	log_info("msg=\"grant revoked\" grant=%s by=%s", obj.name,
	    p->id[0] != '\0' ? p->id : "admin");
	rc = 0;
out:
	json_decref(r);
	store_object_clear(&obj);
	return rc;
}

int
grants_refresh(struct grants *g, const struct admission_caller *c,
    const char *id, struct grants_issued *out, struct nsreg_error *err)
{
	struct store_object	*obj = &out->obj, svc, epo;
	struct admission_subject subj;
	struct grant_key	*k = NULL;
	const struct principal	*p = c->principal;
	const char		*sname, *ename;
	json_t			*r = NULL, *service = NULL;
	json_t			*endpoint = NULL;
	json_t			*decision = NULL;
	char			 ts[UTIL_RFC3339_MAX];
	int64_t			 iat, exp;
	int			 attempt, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&svc, 0, sizeof(svc));
	memset(&epo, 0, sizeof(epo));
	for (attempt = 0; attempt < GRANTS_ATTEMPTS; attempt++) {
		store_object_clear(obj);
		store_object_clear(&svc);
		store_object_clear(&epo);
		json_decref(r);
		json_decref(service);
		json_decref(endpoint);
		json_decref(decision);
		grant_key_unref(k);
		r = service = endpoint = decision = NULL;
		k = NULL;
		if (grants_fetch(g, p, id, c->now, obj, &r, err) == -1)
			goto out;
		if (obj->owner == NULL || strcmp(obj->owner, p->id) != 0) {
			nsreg_error_set(err, NSREG_PERMISSION_DENIED, NULL,
			    "grant %s is refreshed by its principal only",
			    obj->name);
			goto out;
		}
		if ((k = grants_key_get(g)) == NULL) {
			nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
			    "grant-key is not configured: this nsregd issues "
			    "no grants");
			goto out;
		}
		if (grants_expiry(g, c, &iat, &exp, err) == -1)
			goto out;
		sname = json_string_value(json_object_get(r, "service"));
		ename = json_string_value(json_object_get(json_object_get(r,
		    "endpoint"), "name"));
		if (sname == NULL || ename == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "grant %s: unreadable", obj->name);
			goto out;
		}
		/* Gone records revoke their grants: only a race lands here. */
		if (store_fetch(g->store, STORE_SERVICE, sname, c->now, &svc,
		    err) == -1 || store_fetch(g->store, STORE_ENDPOINT, ename,
		    c->now, &epo, err) == -1)
			goto out;
		if ((service = store_object_render(&svc)) == NULL ||
		    (endpoint = store_object_render(&epo)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		memset(&subj, 0, sizeof(subj));
		subj.service = sname;
		subj.service_obj = service;
		subj.endpoint = ename;
		subj.endpoint_obj = endpoint;
		subj.labels = json_object_get(r, "labels");
		subj.grant = obj->name;
		if (admission_authorize(g->admission, c,
		    ADMISSION_ACTION_CONNECT, &subj, &decision, err) == -1) {
			if (err->code != NSREG_PERMISSION_DENIED)
				goto out;
			/* Today's rules deny it: the grant goes. */
			if (store_grant_delete(g->store, obj->name, 0,
			    STORE_REASON_DENIED, c->now, NULL, NULL) == 0)
				log_info("msg=\"grant revoked on refresh\" "
				    "grant=%s", obj->name);
			out->decision = decision;
			decision = NULL;
			goto out;
		}
		if (json_object_set_new(obj->doc, "issued_at",
		    json_string(util_rfc3339_format(iat * 1000, ts,
		    sizeof(ts)))) == -1 ||
		    json_object_set_new(obj->doc, "decision", decision !=
		    NULL ? json_incref(decision) : json_null()) == -1) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		obj->expires_at = exp * 1000;
		if (store_grant_update(g->store, obj, grant_key_kid(k),
		    obj->revision, c->now, err) == 0) {
			if (grants_sign(g, k, obj, iat, exp, &out->token,
			    err) == 0)
				rc = 0;
			goto out;
		}
		if (err->code != NSREG_FAILED_PRECONDITION)
			goto out;
	}
	if (grants_key_refused(g, k, err))
		goto out;
	nsreg_error_set(err, NSREG_CONFLICT, NULL,
	    "grant %s kept changing while it was refreshed; try again", id);
out:
	if (rc == -1) {
		store_object_clear(obj);
		memset(obj, 0, sizeof(*obj));
	}
	grant_key_unref(k);
	json_decref(r);
	json_decref(service);
	json_decref(endpoint);
	json_decref(decision);
	store_object_clear(&svc);
	store_object_clear(&epo);
	return rc;
}

/* ---- introspection and keys ---------------------------------------------- */

/* 1 when the token's claims agree with the live grant they name. */
static int
grants_claims_match(const json_t *claims, const json_t *grant,
    const char *iss)
{
	const json_t	*n = json_object_get(claims, "nsreg");
	const json_t	*ep = json_object_get(grant, "endpoint");

	return json_is_string(json_object_get(claims, "iss")) &&
	    strcmp(json_string_value(json_object_get(claims, "iss")),
	    iss) == 0 &&
	    json_equal(json_object_get(claims, "sub"),
	    json_object_get(grant, "principal")) &&
	    json_equal(json_object_get(claims, "aud"),
	    json_object_get(grant, "audience")) &&
	    json_equal(json_object_get(n, "service"),
	    json_object_get(grant, "service")) &&
	    json_equal(json_object_get(n, "endpoint"),
	    json_object_get(ep, "name")) &&
	    json_equal(json_object_get(n, "url"), json_object_get(ep, "url")) &&
	    json_equal(json_object_get(n, "address"),
	    json_object_get(grant, "address")) &&
	    json_equal(json_object_get(n, "network"),
	    json_object_get(grant, "network"));
}

/* The keys to verify with (a new reference) or NULL. */
static struct grant_keyset *
grants_keyset_get(struct grants *g, int64_t now)
{
	struct grant_keyset	*ks;

	grants_keys_check(g, now);
	pthread_mutex_lock(&g->lock);
	ks = grant_keyset_ref(g->keyset);
	pthread_mutex_unlock(&g->lock);
	return ks;
}


int
grants_introspect(struct grants *g, const char *token, int64_t now,
    json_t **claims)
{
	struct grant_keyset	*ks;
	struct store_object	 obj;
	struct nsreg_error	 err;
	const json_t		*exp, *nbf, *jti;
	json_t			*grant = NULL;
	char			 why[128];
	int64_t			 now_s = now / 1000;
	int			 active = 0;

	memset(&obj, 0, sizeof(obj));
	ks = grants_keyset_get(g, now);
	if ((*claims = grant_verify(ks, token, NULL, why, sizeof(why))) ==
	    NULL)
		goto out;
	exp = json_object_get(*claims, "exp");
	nbf = json_object_get(*claims, "nbf");
	jti = json_object_get(*claims, "jti");
	if (!json_is_integer(exp) || json_integer_value(exp) <= now_s) {
		snprintf(why, sizeof(why), "expired");
		goto out;
	}
	if (nbf != NULL && (!json_is_integer(nbf) ||
	    json_integer_value(nbf) > now_s)) {
		snprintf(why, sizeof(why), "not yet valid");
		goto out;
	}
	/* Revoked grants are gone from the store, so are expired ones. */
	if (!json_is_string(jti) || validate_name(json_string_value(jti), 0,
	    "jti", NULL) == -1 || store_fetch(g->store, STORE_GRANT,
	    json_string_value(jti), now, &obj, &err) == -1) {
		snprintf(why, sizeof(why), "no live grant");
		goto out;
	}
	if ((grant = store_object_render(&obj)) == NULL ||
	    !grants_claims_match(*claims, grant, g->server_id)) {
		snprintf(why, sizeof(why), "claims differ from the grant");
		goto out;
	}
	/*
	 * An endpoint that expired takes its grants along when swept,
	 * within about a second; until then they are not active either.
	 */
	store_object_clear(&obj);
	if (store_fetch(g->store, STORE_ENDPOINT, json_string_value(
	    json_object_get(json_object_get(grant, "endpoint"), "name")),
	    now, &obj, &err) == -1) {
		snprintf(why, sizeof(why), "the endpoint is gone");
		goto out;
	}
	active = 1;
out:
	if (!active) {
		log_debug("msg=\"introspection: inactive\" reason=\"%s\"",
		    why);
		json_decref(*claims);
		*claims = NULL;
	}
	grant_keyset_unref(ks);
	json_decref(grant);
	store_object_clear(&obj);
	return active;
}

int
grants_jwks(struct grants *g, int64_t now, char **text, size_t *len,
    struct nsreg_error *err)
{
	*text = NULL;
	*len = 0;
	grants_keys_check(g, now);
	pthread_mutex_lock(&g->lock);
	if (g->jwks != NULL && (*text = malloc(g->jwks_len + 1)) != NULL) {
		memcpy(*text, g->jwks, g->jwks_len + 1);
		*len = g->jwks_len;
	}
	pthread_mutex_unlock(&g->lock);
	if (*text == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	return 0;
}

/* ---- services ------------------------------------------------------------ */

int
grants_check_service(struct grants *g, const char *name,
    const json_t *doc, int64_t now, struct nsreg_error *err)
{
	const json_t	*vl3 = json_object_get(doc, "vl3");
	const char	*prefix;
	char		 pool[128];
	int64_t		 live;
	int		 cpl;

	if (store_ipam_usage(g->store, name, now, pool, sizeof(pool), &cpl,
	    &live, err) == -1)
		return -1;
	prefix = json_string_value(json_object_get(vl3, "prefix"));
	if (pool[0] == '\0' || live == 0 || (prefix != NULL &&
	    strcmp(prefix, pool) == 0 && cpl == json_integer_value(
	    json_object_get(vl3, "client_prefix_len"))))
		return 0;
	return nsreg_error_set(err, NSREG_CONFLICT, "vl3",
	    "service %s: vl3 cannot change from %s (client_prefix_len %d) "
	    "while %lld live grant%s hold%s addresses from it; revoke %s "
	    "(DELETE /v1/grants/{id}) or wait until %s expire%s", name, pool,
	    cpl, (long long)live, live == 1 ? "" : "s", live == 1 ? "s" : "",
	    live == 1 ? "it" : "them", live == 1 ? "it" : "they",
	    live == 1 ? "s" : "");
}
