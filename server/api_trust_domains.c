/*
 * api_trust_domains.c - /v1/trust-domains: the trust domains this server
 * recognises besides its own, each with its SPIFFE bundle (DESIGN
 * sections 3 and 4).  Admin only (the routes say so).
 *
 * A stored trust domain is {"bundle","federation","registry_url",
 * "allowed_claims","accept_origin","registry_id","sequence",
 * "refreshed_at","last_error"}: the bundle, the federation settings, the
 * peer registry, the JWT claims rules may see, whether its registry may
 * state on whose behalf it calls (auth.h, auth_origin; false unless
 * given) and that registry's SPIFFE ID (default: the federation's
 * endpoint_spiffe_id; accept_origin needs one of them) come from the
 * client, the last three are kept by the server (the
 * federation module writes fetched bundles, federation.h; POST
 * .../refresh fetches one now).
 * The trust set follows the store (auth_store_event), so a PUT's bundle
 * authenticates that trust domain's workloads once the PUT is answered
 * and a DELETE stops it.  The local trust domain is not stored: its
 * bundle comes from trust-bundle, GET shows it, PUT and DELETE are 409.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "auth.h"
#include "bundle.h"
#include "federation.h"
#include "server.h"
#include "spiffe.h"
#include "trust.h"
#include "util.h"
#include "validate.h"

static const char *const trust_domains_fields[] = {
	"name", "bundle", "federation", "registry_url", "allowed_claims",
	"accept_origin", "registry_id",
	/* Read-only: kept by the server, accepted back from a GET. */
	"sequence", "refreshed_at", "last_error",
	"revision", "created_at", "updated_at", NULL
};
static const char *const trust_domains_federation_fields[] = {
	"bundle_endpoint_url", "profile", "endpoint_spiffe_id", NULL
};

/* The path's name as a trust domain name, lower-cased into td. */
static int
trust_domains_name(const char *name, char *td, struct nsreg_error *err)
{
	enum spiffe_rule	r;

	r = spiffe_td_check(name, strlen(name), td);
	if (r != SPIFFE_OK)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "name: invalid trust domain name: %s",
		    spiffe_rule_message(r));
	return 0;
}

static int
trust_domains_local_refused(struct server *srv, const char *td,
    struct nsreg_error *err)
{
	return nsreg_error_set(err, NSREG_CONFLICT, "name",
	    "%s is this server's own trust domain: its bundle comes from "
	    "trust-bundle in %s, not from the API", td,
	    srv->conf->path != NULL ? srv->conf->path : "nsregd.conf");
}

/*
 * An https:// URL: scheme https (any case), a host, an optional numeric
 * port, no userinfo, no fragment, no spaces or control characters.
 */
static int
trust_domains_https_url(const char *url, const char *field,
    struct nsreg_error *err)
{
	const char	*p, *auth, *end, *port = NULL;
	size_t		 n = strlen(url);
	long long	 v;
	char		 num[8];

	if (n == 0 || n > VALIDATE_URL_MAX)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: must have 1 to %d bytes", field, VALIDATE_URL_MAX);
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    field, "%s: spaces and control characters are "
			    "not allowed", field);
	if (strncasecmp(url, "https://", 8) != 0)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: must be an https:// URL", field);
	auth = url + 8;
	end = auth + strcspn(auth, "/?#");
	if (strchr(url, '#') != NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: a fragment is not allowed", field);
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
		    "%s: userinfo is not allowed", field);
	p = auth;
	if (*p == '[') {
		/* An IPv6 literal. */
		while (p < end && *p != ']')
			p++;
		if (p == end || p == auth + 1)
			goto badhost;
		p++;
		if (p < end && *p != ':')
			goto badhost;
	} else {
		while (p < end && *p != ':')
			p++;
		if (p == auth)
			goto badhost;
	}
	if (p < end) {
		port = p + 1;
		if ((size_t)(end - port) == 0 ||
		    (size_t)(end - port) >= sizeof(num))
			goto badport;
		memcpy(num, port, (size_t)(end - port));
		num[end - port] = '\0';
		if (strspn(num, "0123456789") != strlen(num) ||
		    util_number_parse(num, 1, 65535, &v) == -1)
			goto badport;
	}
	return 0;
badhost:
	return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
	    "%s: no host", field);
badport:
	return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, field,
	    "%s: the port must be a number from 1 to 65535", field);
}

/* federation: {bundle_endpoint_url, profile, endpoint_spiffe_id}. */
static json_t *
trust_domains_federation(const json_t *fed, struct nsreg_error *err)
{
	const json_t		*url, *profile, *eid;
	struct spiffe_id	 id;
	const char		*p;
	char			 why[NSREG_ERROR_MESSAGE_MAX];

	if (validate_fields(fed, trust_domains_federation_fields,
	    "federation.", err) == -1 ||
	    validate_member(fed, "bundle_endpoint_url", JSON_STRING,
	    "federation.", &url, err) == -1 ||
	    validate_member(fed, "profile", JSON_STRING, "federation.",
	    &profile, err) == -1 ||
	    validate_member(fed, "endpoint_spiffe_id", JSON_STRING,
	    "federation.", &eid, err) == -1)
		return NULL;
	if (url == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "federation.bundle_endpoint_url",
		    "federation.bundle_endpoint_url: required");
		return NULL;
	}
	if (trust_domains_https_url(json_string_value(url),
	    "federation.bundle_endpoint_url", err) == -1)
		return NULL;
	if (profile == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "federation.profile", "federation.profile: required "
		    "(https_web or https_spiffe)");
		return NULL;
	}
	p = json_string_value(profile);
	if (strcmp(p, "https_web") == 0) {
		if (eid != NULL) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    "federation.endpoint_spiffe_id",
			    "federation.endpoint_spiffe_id: only with profile "
			    "https_spiffe");
			return NULL;
		}
		return json_pack("{s:O, s:s, s:n}", "bundle_endpoint_url", url,
		    "profile", p, "endpoint_spiffe_id");
	}
	if (strcmp(p, "https_spiffe") != 0) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "federation.profile", "federation.profile: must be "
		    "https_web or https_spiffe");
		return NULL;
	}
	if (eid == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "federation.endpoint_spiffe_id",
		    "federation.endpoint_spiffe_id: required with profile "
		    "https_spiffe");
		return NULL;
	}
	if (spiffe_id_parse(json_string_value(eid), &id, err) == -1) {
		snprintf(why, sizeof(why), "%s", err->message);
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
		    "federation.endpoint_spiffe_id",
		    "federation.endpoint_spiffe_id: %s", why);
		return NULL;
	}
	return json_pack("{s:O, s:s, s:s}", "bundle_endpoint_url", url,
	    "profile", p, "endpoint_spiffe_id", id.id);
}

/* The stored document of a PUT body for trust domain td, or NULL. */
static json_t *
trust_domains_doc(const char *td, const json_t *body, int64_t now,
    struct nsreg_error *err)
{
	const json_t	*name, *bdoc, *fed, *rurl, *claims, *accept, *rid;
	json_t		*doc = NULL, *f = NULL, *c = NULL;
	struct bundle	*b = NULL;
	struct spiffe_id sid;
	const char	*from = NULL;
	char		 ntd[SPIFFE_TD_MAX + 1], ts[UTIL_RFC3339_MAX];
	int64_t		 seq;
	int		 has_seq = 0;

	if (validate_fields(body, trust_domains_fields, "", err) == -1 ||
	    validate_member(body, "name", JSON_STRING, "", &name,
	    err) == -1 ||
	    validate_member(body, "bundle", JSON_OBJECT, "", &bdoc,
	    err) == -1 ||
	    validate_member(body, "federation", JSON_OBJECT, "", &fed,
	    err) == -1 ||
	    validate_member(body, "registry_url", JSON_STRING, "", &rurl,
	    err) == -1 ||
	    validate_member(body, "allowed_claims", JSON_ARRAY, "", &claims,
	    err) == -1 ||
	    validate_member(body, "accept_origin", JSON_TRUE, "", &accept,
	    err) == -1 ||
	    validate_member(body, "registry_id", JSON_STRING, "", &rid,
	    err) == -1)
		goto out;
	if (name != NULL && (spiffe_td_check(json_string_value(name),
	    json_string_length(name), ntd) != SPIFFE_OK ||
	    strcmp(ntd, td) != 0)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "name",
		    "name: \"%s\" does not match the path's \"%s\"",
		    json_string_value(name), td);
		goto out;
	}
	if (bdoc == NULL && fed == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "bundle",
		    "bundle: required (a SPIFFE bundle) unless federation "
		    "is given");
		goto out;
	}
	if (bdoc != NULL) {
		/* The dispatcher decoded the body rejecting duplicates. */
		if ((b = bundle_from_json(td, bdoc, err)) == NULL) {
			if (err->code == NSREG_INVALID_ARGUMENT)
				snprintf(err->field, sizeof(err->field),
				    "bundle");
			goto out;
		}
		has_seq = bundle_sequence(b, &seq);
	}
	if (fed != NULL && (f = trust_domains_federation(fed, err)) == NULL)
		goto out;
	if (rurl != NULL && trust_domains_https_url(json_string_value(rurl),
	    "registry_url", err) == -1)
		goto out;
	if (claims != NULL && (c = federation_claims_check(claims,
	    err)) == NULL)
		goto out;
	if (rid != NULL) {
		if (spiffe_id_parse(json_string_value(rid), &sid, err) == -1 ||
		    sid.td_len != strlen(td) || strncmp(sid.id +
		    SPIFFE_SCHEME_LEN, td, sid.td_len) != 0) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    "registry_id", "registry_id: the SPIFFE ID of %s's "
			    "registry (spiffe://%s/...)", td, td);
			goto out;
		}
		from = sid.id;
	} else if (f != NULL)
		from = json_string_value(json_object_get(f,
		    "endpoint_spiffe_id"));
	/* Whose word is taken: one registry's, never any workload's. */
	if (json_is_true(accept) && from == NULL) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "accept_origin",
		    "accept_origin: needs registry_id (the SPIFFE ID of %s's "
		    "registry), or federation with profile https_spiffe "
		    "whose endpoint_spiffe_id is that registry", td);
		goto out;
	}
	doc = json_pack("{s:O?, s:o?, s:O?, s:o?, s:b, s:s?, s:o, s:o, "
	    "s:n}", "bundle", bdoc, "federation", f, "registry_url", rurl,
	    "allowed_claims", c, "accept_origin", json_is_true(accept),
	    "registry_id", rid != NULL ? from : NULL,
	    "sequence", has_seq ? json_integer(seq) : json_null(),
	    "refreshed_at", bdoc != NULL ?
	    json_string(util_rfc3339_format(now, ts, sizeof(ts))) :
	    json_null(), "last_error");
	f = c = NULL;
	if (doc == NULL)
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
out:
	json_decref(f);
	json_decref(c);
	bundle_unref(b);
	return doc;
}

/* Copy key from cur's document into obj's (absent: null). */
static void
trust_domains_keep(const struct store_object *cur, struct store_object *obj,
    const char *key)
{
	const json_t	*v = json_object_get(cur->doc, key);

	json_object_set_new(obj->doc, key, v != NULL ? json_deep_copy(v) :
	    json_null());
}

/*
 * Before the write, inside the store's write transaction (so no store
 * calls): a new bundle must fit in the trust set; a replaced trust domain
 * keeps what the server maintains while it still holds - a fetched
 * bundle when only the federation settings were sent, the time of an
 * unchanged bundle, the error of unchanged federation settings.
 */
static int
trust_domains_check(const struct store_object *cur, struct store_object *obj,
    void *arg, struct nsreg_error *err)
{
	struct trust	*trust = arg;
	const json_t	*cb, *cf;
	json_t		*nb, *nf;

	nb = json_object_get(obj->doc, "bundle");
	nf = json_object_get(obj->doc, "federation");
	cb = cur != NULL ? json_object_get(cur->doc, "bundle") : NULL;
	if (json_is_object(nb) && !json_is_object(cb) &&
	    trust_count(trust) >= TRUST_DOMAINS_MAX)
		return nsreg_error_set(err, NSREG_RESOURCE_EXHAUSTED, NULL,
		    "at most %d trust domains with a bundle besides the "
		    "local one", TRUST_DOMAINS_MAX - 1);
	if (cur == NULL)
		return 0;
	cf = json_object_get(cur->doc, "federation");
	if (json_is_null(nb) && !json_is_null(nf) && json_is_object(cb)) {
		trust_domains_keep(cur, obj, "bundle");
		trust_domains_keep(cur, obj, "sequence");
		trust_domains_keep(cur, obj, "refreshed_at");
	} else if (json_is_object(nb) && json_equal(nb, cb))
		trust_domains_keep(cur, obj, "refreshed_at");
	if (!json_is_null(nf) && json_equal(nf, cf))
		trust_domains_keep(cur, obj, "last_error");
	return 0;
}

void
api_trust_domains_put(struct server *srv, struct http_request *req)
{
	struct store_object	 obj;
	struct nsreg_error	 err;
	char			 td[SPIFFE_TD_MAX + 1];
	int64_t			 if_match;

	memset(&obj, 0, sizeof(obj));
	nsreg_error_clear(&err);
	if (trust_domains_name(req->params[0], td, &err) == -1)
		goto fail;
	if (trust_is_local(auth_trust(srv->auth), td)) {
		trust_domains_local_refused(srv, td, &err);
		goto fail;
	}
	if (api_if_match(req, &if_match, &err) == -1)
		goto fail;
	obj.kind = STORE_TRUST_DOMAIN;
	if ((obj.doc = trust_domains_doc(td, req->json, req->now,
	    &err)) == NULL)
		goto fail;
	if ((obj.name = strdup(td)) == NULL) {
		nsreg_error_set(&err, NSREG_INTERNAL, NULL, "out of memory");
		goto fail;
	}
	api_put_object(srv, req, &obj, if_match, trust_domains_check,
	    auth_trust(srv->auth));
	return;
fail:
	store_object_clear(&obj);
	http_reply_error(req, &err);
}

/*
 * The local trust domain as a trust-domain object (new reference): its
 * bundle as /v1/bundle serves it, loaded from trust-bundle at refreshed_at.
 */
static json_t *
trust_domains_local(struct server *srv, struct nsreg_error *err)
{
	struct bundle	*b;
	json_t		*doc, *o = NULL;
	char		 ts[UTIL_RFC3339_MAX];
	int64_t		 seq;
	int		 has_seq;

	if ((b = trust_get_local(auth_trust(srv->auth))) == NULL) {
		nsreg_error_set(err, NSREG_UNAVAILABLE, NULL,
		    "no trust bundle loaded");
		return NULL;
	}
	has_seq = bundle_sequence(b, &seq);
	if ((doc = bundle_to_json(b)) != NULL)
		o = json_pack("{s:s, s:o, s:n, s:n, s:n, s:b, s:n, s:o, "
		    "s:s, s:n}", "name", bundle_trust_domain(b), "bundle",
		    doc, "federation", "registry_url", "allowed_claims",
		    "accept_origin", 0, "registry_id",
		    "sequence", has_seq ? json_integer(seq) : json_null(),
		    "refreshed_at", util_rfc3339_format(
		    auth_local_loaded_at(srv->auth), ts, sizeof(ts)),
		    "last_error");
	bundle_unref(b);
	if (o == NULL)
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
	return o;
}

void
api_trust_domains_get(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	char			 td[SPIFFE_TD_MAX + 1];
	json_t			*o;
	char			 etag[48];

	if (trust_domains_name(req->params[0], td, &err) == -1)
		goto fail;
	if (trust_is_local(auth_trust(srv->auth), td)) {
		if ((o = trust_domains_local(srv, &err)) == NULL)
			goto fail;
		/*
		 * Not stored, so no revision: the representation changes when
		 * trust-bundle is loaded again, and the tag with it.
		 */
		snprintf(etag, sizeof(etag), "\"local-%lld\"",
		    (long long)auth_local_loaded_at(srv->auth));
		http_add_header(req, "ETag", etag);
		http_reply_json(req, HTTP_OK, o);
		return;
	}
	api_get_object(srv, req, STORE_TRUST_DOMAIN, td);
	return;
fail:
	http_reply_error(req, &err);
}

void
api_trust_domains_delete(struct server *srv, struct http_request *req)
{
	struct nsreg_error	 err;
	char			 td[SPIFFE_TD_MAX + 1];

	if (trust_domains_name(req->params[0], td, &err) == -1)
		goto fail;
	if (trust_is_local(auth_trust(srv->auth), td)) {
		trust_domains_local_refused(srv, td, &err);
		goto fail;
	}
	api_delete_object(srv, req, STORE_TRUST_DOMAIN, td, NULL, NULL);
	return;
fail:
	http_reply_error(req, &err);
}

/*
 * POST /v1/trust-domains/{name}/refresh: fetch the bundle now.  200 with
 * the object as stored; a failed fetch answers its error (502, 504) with
 * the object as stored, last_error recorded, beside it.
 */
void
api_trust_domains_refresh(struct server *srv, struct http_request *req)
{
	struct store_object	 obj;
	struct nsreg_error	 err;
	char			 td[SPIFFE_TD_MAX + 1];
	json_t			*body;

	memset(&obj, 0, sizeof(obj));
	nsreg_error_clear(&err);
	if (trust_domains_name(req->params[0], td, &err) == -1)
		goto fail;
	if (trust_is_local(auth_trust(srv->auth), td)) {
		nsreg_error_set(&err, NSREG_CONFLICT, "name",
		    "%s is this server's own trust domain: its bundle is "
		    "reloaded from trust-bundle on SIGHUP", td);
		goto fail;
	}
	if (federation_refresh(srv->federation, td, req->now, &obj,
	    &err) == 0) {
		api_reply_object(req, HTTP_OK, &obj);
		store_object_clear(&obj);
		return;
	}
	if (obj.name == NULL)
		goto fail;
	if ((body = nsreg_error_json(&err)) != NULL)
		json_object_set_new(body, "trust_domain",
		    store_object_render(&obj));
	req->error_code = nsreg_code_name(err.code);
	http_reply_json(req, nsreg_code_status(err.code), body);
	store_object_clear(&obj);
	return;
fail:
	store_object_clear(&obj);
	http_reply_error(req, &err);
}

static int
trust_domains_query_check(const char *key, const char *value, void *arg)
{
	struct nsreg_error	*err = arg;
	static const char *const known[] = { "limit", "page_token", "watch",
	    "since", NULL };
	size_t			 i;

	(void)value;
	for (i = 0; known[i] != NULL; i++)
		if (strcmp(key, known[i]) == 0)
			return 0;
	nsreg_error_set(err, NSREG_INVALID_ARGUMENT, key,
	    "%s: unknown query parameter", key);
	return -1;
}

/*
 * Put the local trust domain into a page of stored ones (items, in name
 * order, from after "after") where its name falls, keeping at most limit
 * items.  A stored object with the local name (left from a time when the
 * server had another trust domain) is not shown: it is not in force.
 */
static int
trust_domains_merge_local(struct server *srv, json_t *items,
    const char *after, size_t limit, int *more, struct nsreg_error *err)
{
	const char	*local = trust_local_domain(auth_trust(srv->auth));
	const char	*name;
	json_t		*o;
	size_t		 i, n, at;

	for (i = 0; i < json_array_size(items); i++) {
		name = json_string_value(json_object_get(json_array_get(items,
		    i), "name"));
		if (name != NULL && strcmp(name, local) == 0)
			json_array_remove(items, i--);
	}
	if (after != NULL && strcmp(local, after) <= 0)
		return 0;
	n = json_array_size(items);
	for (at = 0; at < n; at++) {
		name = json_string_value(json_object_get(json_array_get(items,
		    at), "name"));
		if (name != NULL && strcmp(local, name) < 0)
			break;
	}
	/* Past the page's last item while more follow: a later page's. */
	if (at == n && *more)
		return 0;
	if ((o = trust_domains_local(srv, err)) == NULL)
		return -1;
	if (json_array_insert_new(items, at, o) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "out of memory");
	if (json_array_size(items) > limit) {
		json_array_remove(items, json_array_size(items) - 1);
		*more = 1;
	}
	return 0;
}

void
api_trust_domains_list(struct server *srv, struct http_request *req)
{
	struct store_query	 q;
	struct nsreg_error	 err;
	struct api_page		 pg;
	const char		*w;
	json_t			*items = NULL;
	int64_t			 rev;
	int			 more = 0;

	nsreg_error_clear(&err);
	if (http_query_each(req, trust_domains_query_check, &err) == -1)
		goto fail;
	memset(&q, 0, sizeof(q));
	q.kind = STORE_TRUST_DOMAIN;
	w = http_query(req, "watch");
	if (w != NULL && strcmp(w, "false") != 0 && strcmp(w, "0") != 0) {
		/* Streams carry the stored trust domains' changes. */
		api_list_or_watch(srv, req, &q, NULL);
		return;
	}
	if (http_query(req, "since") != NULL) {
		nsreg_error_set(&err, NSREG_INVALID_ARGUMENT, "since",
		    "since: only with watch=true");
		goto fail;
	}
	if (api_page_parse(req, &pg, &err) == -1)
		goto fail;
	q.after_name = pg.after[0] != '\0' ? pg.after : NULL;
	q.limit = pg.limit;
	if (store_list(srv->store, &q, req->now, &items, &rev, &more,
	    &err) == -1)
		goto fail;
	if (trust_domains_merge_local(srv, items, q.after_name, pg.limit,
	    &more, &err) == -1)
		goto fail;
	api_reply_list(req, items, rev, more);
	return;
fail:
	json_decref(items);
	http_reply_error(req, &err);
}
