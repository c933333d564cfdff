/*
 * auth.c - resolve each request's principal: admin token, JWT-SVID or
 * X.509-SVID client certificate (DESIGN section 3).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "bundle.h"
#include "hashmap.h"
#include "jwtsvid.h"
#include "log.h"
#include "origin.h"
#include "spiffe.h"
#include "store.h"
#include "tokcache.h"
#include "trust.h"
#include "util.h"
#include "x509svid.h"

#define AUTH_TOKEN_MAX	4096

struct auth {
	struct trust		*trust;
	struct tokcache	*jwt_cache;	/* JWT-SVIDs and X.509 chains */
	pthread_rwlock_t	 lock;		/* everything below */
	char			*admin_token;
	size_t			 admin_token_len;
	char			*admins[CONF_ADMIN_MAX];
	size_t			 nadmins;
	char			*readers[CONF_ADMIN_MAX];
	size_t			 nreaders;
	char			*audience;
	char			*trust_pem;
	int64_t			 local_loaded_at;	/* ms */
	uint64_t		 generation;	/* (re)loads; atomic */
	/*
	 * The stored trust domains (not the local one) and the claims of
	 * their JWT-SVIDs that rules may see (struct auth_claims).
	 */
	pthread_mutex_t		 claims_lock;
	/* Stored trust domains applied one at a time (events, loads). */
	pthread_mutex_t		 follow_lock;
	struct hashmap		*claims;
};

/* A stored trust domain's "allowed_claims". */
struct auth_claims {
	char	*td;
	json_t	*allowed;	/* own copy of the array, NULL: none */
	char	*origin_from;	/* whose statements of origin are taken */
};

/* Claims of a foreign JWT-SVID every rule may see. */
static const char *const auth_base_claims[] = {
	"sub", "aud", "exp", "iat", "nbf", NULL
};

/*
 * A connection's verified client certificate: TLS proves possession once
 * per connection, so the chain is verified once and reused while the
 * trust domain's bundle is the same and the certificate still valid.
 */
struct auth_conn {
	struct principal	p;
	uint64_t		serial;		/* of p's trust domain bundle */
	uint64_t		generation;	/* of struct auth (admins) */
	int			ok;
};

static void
auth_clear_locked(struct auth *a)
{
	size_t	i;

	if (a->admin_token != NULL) {
		explicit_bzero(a->admin_token, a->admin_token_len);
		free(a->admin_token);
	}
	a->admin_token = NULL;
	a->admin_token_len = 0;
	for (i = 0; i < a->nadmins; i++)
		free(a->admins[i]);
	a->nadmins = 0;
	for (i = 0; i < a->nreaders; i++)
		free(a->readers[i]);
	a->nreaders = 0;
	free(a->audience);
	a->audience = NULL;
	free(a->trust_pem);
	a->trust_pem = NULL;
}

/* Read the admin token: the file's first line, without blanks around. */
static char *
auth_read_token(const char *path, size_t *lenp, struct nsreg_error *err)
{
	char	*s, *start, *end;
	size_t	 len, i;

	if ((s = util_file_read(path, AUTH_TOKEN_MAX, &len)) == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "admin-token-file %s: %s", path,
		    util_file_strerror(errno));
		return NULL;
	}
	for (start = s; *start != '\0' && isspace((unsigned char)*start);
	    start++)
		;
	for (end = start; *end != '\0' && *end != '\n' && *end != '\r';
	    end++)
		;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - start);
	/* A bearer token is printable ASCII: anything else is no token. */
	for (i = 0; i < len; i++)
		if (start[i] < '!' || start[i] > '~')
			break;
	if (i < len) {
		explicit_bzero(s, strlen(s));
		free(s);
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "admin-token-file %s: the token has a character outside "
		    "printable ASCII", path);
		return NULL;
	}
	if (len < 16) {
		explicit_bzero(s, strlen(s));
		free(s);
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "admin-token-file %s: the token must have at least 16 "
		    "characters", path);
		return NULL;
	}
	memmove(s, start, len);
	explicit_bzero(s + len, strlen(s + len));
	s[len] = '\0';
	*lenp = len;
	return s;
}

/* Everything a (re)load installs, read and checked, not yet in use. */
struct auth_staged {
	struct bundle	*bundle;
	char		*token;
	size_t		 token_len;
	char		*pem;
	char		*aud;
	char		*admins[CONF_ADMIN_MAX];
	size_t		 nadmins;
	char		*readers[CONF_ADMIN_MAX];
	size_t		 nreaders;
};

void
auth_staged_free(struct auth_staged *st)
{
	size_t	i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nadmins; i++)
		free(st->admins[i]);
	for (i = 0; i < st->nreaders; i++)
		free(st->readers[i]);
	if (st->token != NULL) {
		explicit_bzero(st->token, st->token_len);
		free(st->token);
	}
	free(st->pem);
	free(st->aud);
	bundle_unref(st->bundle);
	free(st);
}

struct auth_staged *
auth_stage(const struct conf *conf, struct nsreg_error *err)
{
	struct auth_staged	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		goto oom;
	if (conf->admin_token_file != NULL &&
	    (st->token = auth_read_token(conf->admin_token_file,
	    &st->token_len, err)) == NULL)
		goto fail;
	if ((st->bundle = bundle_load_file(conf->trust_domain,
	    conf->trust_bundle, BUNDLE_FORMAT_AUTO, err)) == NULL) {
		nsreg_error_prefix(err, "trust-bundle");
		goto fail;
	}
	if ((st->pem = bundle_to_pem(st->bundle, NULL)) == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "trust-bundle %s has no X.509 authority",
		    conf->trust_bundle);
		goto fail;
	}
	if ((st->aud = strdup(conf->jwt_audience)) == NULL)
		goto oom;
	for (; st->nadmins < conf->nadmins; st->nadmins++)
		if ((st->admins[st->nadmins] =
		    strdup(conf->admins[st->nadmins])) == NULL)
			goto oom;
	for (; st->nreaders < conf->nmetrics_readers; st->nreaders++)
		if ((st->readers[st->nreaders] =
		    strdup(conf->metrics_readers[st->nreaders])) == NULL)
			goto oom;
	return st;
oom:
	nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
fail:
	auth_staged_free(st);
	return NULL;
}

int
auth_commit(struct auth *a, struct auth_staged *st, struct nsreg_error *err)
{
	if (trust_set(a->trust, st->bundle, err) == -1) {
		auth_staged_free(st);
		return -1;
	}
	pthread_rwlock_wrlock(&a->lock);
	auth_clear_locked(a);
	a->admin_token = st->token;
	a->admin_token_len = st->token_len;
	st->token = NULL;
	a->trust_pem = st->pem;
	st->pem = NULL;
	a->audience = st->aud;
	st->aud = NULL;
	memcpy(a->admins, st->admins, sizeof(st->admins));
	a->nadmins = st->nadmins;
	st->nadmins = 0;
	memcpy(a->readers, st->readers, sizeof(st->readers));
	a->nreaders = st->nreaders;
	st->nreaders = 0;
	a->local_loaded_at = util_now_ms();
	__atomic_add_fetch(&a->generation, 1, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&a->lock);
	auth_staged_free(st);
	/* Tokens verified with a removed key must be checked again. */
	if (a->jwt_cache != NULL)
		tokcache_flush(a->jwt_cache);
	return 0;
}

int
auth_check_reload(struct auth *a, const struct conf *conf,
    struct nsreg_error *err)
{
	/* The trust set is keyed by the local trust domain for its life. */
	if (!trust_is_local(a->trust, conf->trust_domain))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "trust-domain cannot change from %s to %s on reload: "
		    "restart nsregd", trust_local_domain(a->trust),
		    conf->trust_domain);
	return 0;
}

static int
auth_load(struct auth *a, const struct conf *conf, struct nsreg_error *err)
{
	struct auth_staged	*st;

	if ((st = auth_stage(conf, err)) == NULL)
		return -1;
	return auth_commit(a, st, err);
}

struct auth *
auth_new(const struct conf *conf, struct nsreg_error *err)
{
	struct auth	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	pthread_rwlock_init(&a->lock, NULL);
	pthread_mutex_init(&a->claims_lock, NULL);
	pthread_mutex_init(&a->follow_lock, NULL);
	if ((a->claims = hashmap_new()) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	if ((a->trust = trust_new(conf->trust_domain, err)) == NULL)
		goto fail;
	if ((a->jwt_cache = tokcache_new(TOKCACHE_DEFAULT)) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	if (auth_load(a, conf, err) == -1)
		goto fail;
	return a;
fail:
	auth_free(a);
	return NULL;
}

int
auth_reload(struct auth *a, const struct conf *conf, struct nsreg_error *err)
{
	if (auth_check_reload(a, conf, err) == -1)
		return -1;
	return auth_load(a, conf, err);
}

static void
auth_claims_free(struct auth_claims *c)
{
	if (c == NULL)
		return;
	json_decref(c->allowed);
	free(c->origin_from);
	free(c->td);
	free(c);
}

/* hashmap_filter: free every entry. */
static int
auth_claims_drop(const char *td, void *c, void *arg)
{
	(void)td;
	(void)arg;
	auth_claims_free(c);
	return 0;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	if (a->claims != NULL)
		hashmap_filter(a->claims, auth_claims_drop, NULL);
	hashmap_free(a->claims);
	pthread_mutex_destroy(&a->claims_lock);
	pthread_mutex_destroy(&a->follow_lock);
	auth_clear_locked(a);
	if (a->jwt_cache != NULL)
		tokcache_free(a->jwt_cache);
	if (a->trust != NULL)
		trust_free(a->trust);
	pthread_rwlock_destroy(&a->lock);
	free(a);
}

struct trust *
auth_trust(struct auth *a)
{
	return a->trust;
}

const char *
auth_trust_pem(struct auth *a)
{
	return a->trust_pem;
}

void
auth_conn_free(void *slot)
{
	struct auth_conn	*c = slot;

	if (c == NULL)
		return;
	principal_clear(&c->p);
	free(c);
}

/* Lock held (read). */
static void
auth_mark_admin(struct auth *a, struct principal *p)
{
	size_t	i;

	for (i = 0; i < a->nadmins; i++)
		if (strcmp(a->admins[i], p->id) == 0) {
			p->admin = 1;
			return;
		}
}

int
auth_may_read_metrics(struct auth *a, const struct principal *p)
{
	size_t	i;
	int	yes = 0;

	if (p->admin)
		return 1;
	if (p->id[0] == '\0')
		return 0;
	pthread_rwlock_rdlock(&a->lock);
	for (i = 0; i < a->nreaders && !yes; i++)
		yes = strcmp(a->readers[i], p->id) == 0;
	pthread_rwlock_unlock(&a->lock);
	return yes;
}

static int
auth_bearer(struct auth *a, struct http_request *req, const char *hdr,
    struct nsreg_error *err)
{
	const char	*tok;
	size_t		 len;
	int		 rc;

	if (strncasecmp(hdr, "Bearer ", 7) != 0)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "authorization: expected \"Bearer <token>\"");
	for (tok = hdr + 7; *tok == ' '; tok++)
		;
	len = strlen(tok);
	while (len > 0 && tok[len - 1] == ' ')
		len--;
	if (len == 0)
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "authorization: empty bearer token");
	pthread_rwlock_rdlock(&a->lock);
	if (a->admin_token != NULL && util_secret_equal(tok, len,
	    a->admin_token, a->admin_token_len)) {
		pthread_rwlock_unlock(&a->lock);
		req->principal.auth = PRINCIPAL_ADMIN_TOKEN;
		req->principal.admin = 1;
		return 0;
	}
	if (memchr(tok, '.', len) == NULL) {
		pthread_rwlock_unlock(&a->lock);
		return nsreg_error_set(err, NSREG_UNAUTHENTICATED, NULL,
		    "authorization: the bearer token is neither the admin "
		    "token nor a JWT-SVID");
	}
	rc = jwtsvid_verify(a->jwt_cache, a->trust, a->audience, tok, len,
	    req->now, &req->principal, err);
	if (rc == 0)
		auth_mark_admin(a, &req->principal);
	pthread_rwlock_unlock(&a->lock);
	return rc;
}

/*
 * Verify the connection's client certificate chain, or take the verdict
 * cached on the connection.  Returns the principal it proves (borrowed
 * from the connection, valid while it lives) or NULL with err.
 */
static const struct principal *
auth_x509(struct auth *a, struct http_request *req, size_t n,
    const unsigned char **der, const size_t *len, struct nsreg_error *err)
{
	struct x509svid_der	 chain[X509SVID_CHAIN_MAX + 1];
	struct auth_conn	*c;
	void			**slot;
	uint64_t		 gen;
	size_t			 i;

	slot = http_conn_slot(req);
	c = *slot;
	gen = __atomic_load_n(&a->generation, __ATOMIC_ACQUIRE);
	if (c != NULL && c->ok && c->p.expires_at > req->now &&
	    c->generation == gen &&
	    trust_serial(a->trust, c->p.trust_domain) == c->serial)
		return &c->p;
	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			return NULL;
		}
		*slot = c;
	}
	principal_clear(&c->p);
	for (i = 0; i < n; i++) {
		chain[i].data = der[i];
		chain[i].len = len[i];
	}
	/* Only successes are kept: a failure is checked again each time. */
	c->ok = x509svid_verify_cached(a->jwt_cache, a->trust, chain, n,
	    req->now, X509SVID_PURPOSE_CLIENT, &c->p, err) == 0;
	if (!c->ok) {
		principal_clear(&c->p);
		return NULL;
	}
	c->serial = trust_serial(a->trust, c->p.trust_domain);
	pthread_rwlock_rdlock(&a->lock);
	auth_mark_admin(a, &c->p);
	c->generation = gen;
	pthread_rwlock_unlock(&a->lock);
	return &c->p;
}

int
auth_request(struct auth *a, struct http_request *req,
    struct nsreg_error *err)
{
	const unsigned char	*der[X509SVID_CHAIN_MAX + 1];
	const struct principal	*cert = NULL;
	size_t			 len[X509SVID_CHAIN_MAX + 1], n;
	const char		*hdr;

	principal_clear(&req->principal);
	hdr = http_header(req, "Authorization");
	/*
	 * Every credential presented must hold, whichever names the
	 * principal: a client certificate is checked even when a bearer
	 * token comes with it.
	 */
	/*
	 * One slot more than a chain may hold, so that a longer chain is
	 * refused for its length rather than cut and judged on a part.
	 */
	n = http_peer_chain(req, der, len, X509SVID_CHAIN_MAX + 1);
	if (n > 0 && (cert = auth_x509(a, req, n, der, len, err)) == NULL)
		return -1;
	if (hdr == NULL) {
		if (cert != NULL && principal_copy(&req->principal,
		    cert) == -1)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
		return 0;
	}
	if (auth_bearer(a, req, hdr, err) == -1)
		return -1;
	/* The token names the principal; it lasts no longer than both. */
	if (cert != NULL && (req->principal.expires_at == 0 ||
	    cert->expires_at < req->principal.expires_at))
		req->principal.expires_at = cert->expires_at;
	return 0;
}

int64_t
auth_local_loaded_at(struct auth *a)
{
	int64_t	t;

	pthread_rwlock_rdlock(&a->lock);
	t = a->local_loaded_at;
	pthread_rwlock_unlock(&a->lock);
	return t;
}

/* ---- claims shown to rules ---------------------------------------------- */

/*
 * The one principal of a trust domain that accepts origins whose
 * statements are taken: "registry_id", else the federation's
 * endpoint_spiffe_id (nsregd serves its bundle endpoint itself).
 */
static void
auth_origin_from(struct auth_claims *c, const json_t *obj)
{
	const char	*id;

	id = json_string_value(json_object_get(obj, "registry_id"));
	if (id == NULL)
		id = json_string_value(json_object_get(json_object_get(obj,
		    "federation"), "endpoint_spiffe_id"));
	if (id != NULL && (c->origin_from = strdup(id)) == NULL)
		log_warnx("msg=\"out of memory: accept_origin not "
		    "followed\" trust_domain=%s", c->td);
}

/* Follow stored trust domain td's "allowed_claims" (obj NULL: deleted). */
static void
auth_claims_follow(struct auth *a, const char *td, const json_t *obj)
{
	struct auth_claims	*c = NULL, *old;
	const json_t		*allowed;

	if (obj != NULL) {
		allowed = json_object_get(obj, "allowed_claims");
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->td = strdup(td)) == NULL || (json_is_array(allowed) &&
		    (c->allowed = json_deep_copy(allowed)) == NULL)) {
			auth_claims_free(c);
			log_warnx("msg=\"out of memory: allowed_claims not "
			    "followed\" trust_domain=%s", td);
			return;
		}
		if (json_is_true(json_object_get(obj, "accept_origin")))
			auth_origin_from(c, obj);
	}
	pthread_mutex_lock(&a->claims_lock);
	old = hashmap_remove(a->claims, td);
	if (c != NULL && hashmap_put(a->claims, c->td, c, NULL) == -1) {
		log_warnx("msg=\"out of memory: allowed_claims not "
		    "followed\" trust_domain=%s", td);
		auth_claims_free(c);
	}
	pthread_mutex_unlock(&a->claims_lock);
	auth_claims_free(old);
}

json_t *
auth_claims(struct auth *a, const char *td, const json_t *claims)
{
	struct auth_claims	*e;
	const json_t		*v, *name;
	json_t			*out = NULL, *c;
	const char		*k;
	size_t			 i;
	int			 keep;

	if (claims == NULL)
		return NULL;
	if (td == NULL || trust_is_local(a->trust, td))
		return json_deep_copy(claims);
	if ((out = json_object()) == NULL)
		return NULL;
	pthread_mutex_lock(&a->claims_lock);
	e = hashmap_get(a->claims, td);
	json_object_foreach((json_t *)claims, k, v) {
		keep = 0;
		for (i = 0; auth_base_claims[i] != NULL; i++)
			if (strcmp(k, auth_base_claims[i]) == 0)
				keep = 1;
		if (!keep && e != NULL)
			json_array_foreach(e->allowed, i, name)
				if (strcmp(json_string_value(name), k) == 0) {
					keep = 1;
					break;
				}
		if (!keep)
			continue;
		if ((c = json_deep_copy(v)) == NULL ||
		    json_object_set_new(out, k, c) == -1) {
			json_decref(out);
			out = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&a->claims_lock);
	return out;
}

int
auth_principal_claims(struct auth *a, struct principal *p,
    struct nsreg_error *err)
{
	json_t	*c;

	if (p->claims == NULL || p->trust_domain[0] == '\0' ||
	    trust_is_local(a->trust, p->trust_domain))
		return 0;
	if ((c = auth_claims(a, p->trust_domain, p->claims)) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	/* p's reference may be shared with the token cache: only dropped. */
	json_decref(p->claims);
	p->claims = c;
	return 0;
}

int
auth_accepts_origin(struct auth *a, const struct principal *p)
{
	struct auth_claims	*e;
	int			 yes;

	pthread_mutex_lock(&a->claims_lock);
	e = hashmap_get(a->claims, p->trust_domain);
	yes = e != NULL && e->origin_from != NULL &&
	    strcmp(e->origin_from, p->id) == 0;
	pthread_mutex_unlock(&a->claims_lock);
	return yes;
}

int
auth_origin(struct auth *a, struct principal *p, const char *value,
    struct nsreg_error *err)
{
	struct principal	*o = NULL;
	json_t			*c;
	int			 rc = -1;

	if (value == NULL || p->auth != PRINCIPAL_X509 ||
	    p->trust_domain[0] == '\0' ||
	    trust_is_local(a->trust, p->trust_domain) ||
	    !auth_accepts_origin(a, p)) {
		if (value != NULL)
			log_debug("msg=\"statement of origin ignored\" "
			    "principal=%s", p->id[0] != '\0' ? p->id : "-");
		return 0;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (origin_decode(value, o, err) == -1)
		goto out;
	if (strcmp(o->trust_domain, p->trust_domain) != 0) {
		log_warnx("msg=\"a registry stated an origin of another "
		    "trust domain: refused\" principal=%s origin=%s",
		    p->id, o->id);
		nsreg_error_set(err, NSREG_PERMISSION_DENIED, ORIGIN_HEADER,
		    "%s: %s may speak only for workloads of %s, not for %s",
		    ORIGIN_HEADER, p->id, p->trust_domain, o->id);
		goto out;
	}
	if (o->claims != NULL) {
		if ((c = auth_claims(a, o->trust_domain, o->claims)) ==
		    NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		json_decref(o->claims);
		o->claims = c;
	}
	if (p->origin != NULL) {
		principal_clear(p->origin);
		free(p->origin);
	}
	p->origin = o;
	o = NULL;
	rc = 0;
out:
	if (o != NULL) {
		principal_clear(o);
		free(o);
	}
	return rc;
}

int
auth_evaluate_claims(struct auth *a, json_t *body, struct nsreg_error *err)
{
	struct spiffe_id	 id;
	const json_t		*claims;
	const char		*s;
	char			 td[SPIFFE_TD_MAX + 1];
	json_t			*c;
	int			 known;

	s = json_string_value(json_object_get(body, "principal"));
	claims = json_object_get(body, "claims");
	if (s == NULL || !json_is_object(claims) ||
	    spiffe_id_parse(s, &id, NULL) == -1)
		return 0;
	spiffe_id_trust_domain(&id, td);
	/*
	 * A trust domain this server does not know could not authenticate:
	 * nothing to apply, the hypothesis is taken as given.
	 */
	if (trust_is_local(a->trust, td))
		return 0;
	pthread_mutex_lock(&a->claims_lock);
	known = hashmap_get(a->claims, td) != NULL;
	pthread_mutex_unlock(&a->claims_lock);
	if (!known)
		return 0;
	if ((c = auth_claims(a, td, claims)) == NULL ||
	    json_object_set_new(body, "claims", c) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	return 0;
}

/*
 * Make the trust set follow one stored trust domain: obj is its rendered
 * object, or NULL when it was deleted.  A stored object carries a SPIFFE
 * bundle in "bundle" (null while a federated one was never fetched); the
 * local trust domain is never taken from the store.
 */
static void
auth_trust_domain_apply(struct auth *a, const char *name, const json_t *obj)
{
	struct nsreg_error	 err;
	struct bundle		*b = NULL;
	const json_t		*doc;
	char			 td[SPIFFE_TD_MAX + 1];

	nsreg_error_clear(&err);
	if (name == NULL || spiffe_td_check(name, strlen(name), td) !=
	    SPIFFE_OK) {
		log_warnx("msg=\"stored trust domain has an invalid name, "
		    "ignored\"");
		return;
	}
	if (trust_is_local(a->trust, td)) {
		if (obj != NULL)
			log_warnx("msg=\"stored trust domain is the local one, "
			    "ignored: its bundle comes from trust-bundle\" "
			    "trust_domain=%s", td);
		return;
	}
	auth_claims_follow(a, td, obj);
	doc = obj != NULL ? json_object_get(obj, "bundle") : NULL;
	if (doc != NULL && json_is_object(doc)) {
		if ((b = bundle_from_json(td, doc, &err)) == NULL ||
		    trust_set(a->trust, b, &err) == -1) {
			log_warnx("msg=\"stored trust domain bundle not "
			    "loaded\" trust_domain=%s error=\"%s\"", td,
			    err.message);
			bundle_unref(b);
			b = NULL;
		} else {
			log_info("msg=\"trust domain bundle loaded\" "
			    "trust_domain=%s x509_authorities=%zu "
			    "jwt_keys=%zu", td, bundle_x509_count(b),
			    bundle_jwt_count(b));
			bundle_unref(b);
			return;
		}
	}
	/* Deleted, no bundle or a bad one: nobody of td is recognised. */
	if (trust_remove(a->trust, td, &err) == 0)
		log_info("msg=\"trust domain bundle removed\" trust_domain=%s",
		    td);
}

void
auth_store_event(const struct store_event *ev, void *arg)
{
	struct auth	*a = arg;

	if (ev->kind != STORE_TRUST_DOMAIN)
		return;
	pthread_mutex_lock(&a->follow_lock);
	switch (ev->type) {
	case STORE_ADDED:
	case STORE_MODIFIED:
		auth_trust_domain_apply(a, ev->name, ev->object);
		break;
	case STORE_DELETED:
		auth_trust_domain_apply(a, ev->name, NULL);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&a->follow_lock);
}

/*
 * Forget the stored trust domains known here (every one has its claims
 * entry) that a load did not list (listed: names as keys) and the store
 * no longer holds: deleted while events were missed.  follow_lock held,
 * so that no event applies one meanwhile.
 */
static void
auth_trust_domains_sweep(struct auth *a, struct store *s, json_t *listed,
    int64_t now)
{
	struct store_object	 o;
	struct nsreg_error	 err;
	json_t			*gone;
	const char		*td;
	void			*v;
	size_t			 pos = 0, i;
	json_t			*n;

	if ((gone = json_array()) == NULL)
		return;
	pthread_mutex_lock(&a->claims_lock);
	while (hashmap_next(a->claims, &pos, &td, &v)) {
		if (json_object_get(listed, td) == NULL)
			json_array_append_new(gone, json_string(td));
	}
	pthread_mutex_unlock(&a->claims_lock);
	json_array_foreach(gone, i, n) {
		memset(&o, 0, sizeof(o));
		if (store_fetch(s, STORE_TRUST_DOMAIN, json_string_value(n),
		    now, &o, &err) == 0) {
			store_object_clear(&o);
			continue;
		}
		if (err.code == NSREG_NOT_FOUND)
			auth_trust_domain_apply(a, json_string_value(n), NULL);
	}
	json_decref(gone);
}

int
auth_load_trust_domains(struct auth *a, struct store *s, int64_t now,
    struct nsreg_error *err)
{
	struct store_query	 q;
	json_t			*items = NULL, *o, *listed;
	const char		*name;
	char			*after = NULL;
	int64_t			 rev;
	size_t			 i;
	int			 more = 1, rc = -1;

	if ((listed = json_object()) == NULL)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	pthread_mutex_lock(&a->follow_lock);
	while (more) {
		memset(&q, 0, sizeof(q));
		q.kind = STORE_TRUST_DOMAIN;
		q.after_name = after;
		q.limit = 256;
		if (store_list(s, &q, now, &items, &rev, &more, err) == -1)
			goto out;
		if (json_array_size(items) == 0)
			more = 0;
		json_array_foreach(items, i, o) {
			name = json_string_value(json_object_get(o, "name"));
			auth_trust_domain_apply(a, name, o);
			if (name != NULL &&
			    json_object_set(listed, name, json_true()) == -1) {
				nsreg_error_set(err, NSREG_INTERNAL, NULL,
				    "out of memory");
				goto out;
			}
		}
		name = json_string_value(json_object_get(json_array_get(items,
		    json_array_size(items) - 1), "name"));
		free(after);
		after = NULL;
		if (more && name == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "a stored trust domain has no name");
			goto out;
		}
		if (more && (after = strdup(name)) == NULL) {
			nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "out of memory");
			goto out;
		}
		json_decref(items);
		items = NULL;
	}
	/* Again after missed events: what was deleted meanwhile goes. */
	auth_trust_domains_sweep(a, s, listed, now);
	rc = 0;
out:
	pthread_mutex_unlock(&a->follow_lock);
	json_decref(listed);
	free(after);
	json_decref(items);
	return rc;
}
