/*
 * origin.c - the on-behalf-of statement between registries (origin.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jose.h"
#include "origin.h"
#include "spiffe.h"
#include "util.h"

char *
origin_encode(const struct principal *p)
{
	json_t	*o = NULL;
	char	 ts[UTIL_RFC3339_MAX];
	char	*s = NULL;

	if ((p->auth != PRINCIPAL_X509 && p->auth != PRINCIPAL_JWT) ||
	    p->id[0] == '\0')
		goto out;
	if ((o = json_pack("{s:s, s:s}", "id", p->id, "auth",
	    principal_auth_name(p->auth))) == NULL)
		goto out;
	if (p->expires_at > 0 && json_object_set_new(o, "expires_at",
	    json_string(util_rfc3339_format(p->expires_at, ts,
	    sizeof(ts)))) == -1)
		goto out;
	if (json_is_object(p->claims) && json_object_size(p->claims) > 0 &&
	    json_object_set(o, "claims", p->claims) == -1)
		goto out;
	if ((s = jose_b64url_json(o)) != NULL &&
	    strlen(s) > ORIGIN_HEADER_MAX) {
		free(s);
		s = NULL;
	}
out:
	json_decref(o);
	return s;
}

static int
origin_bad(struct nsreg_error *err, const char *why)
{
	return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, ORIGIN_HEADER,
	    "%s: %s", ORIGIN_HEADER, why);
}

int
origin_decode(const char *value, struct principal *out,
    struct nsreg_error *err)
{
	static const char *const known[] = { "id", "auth", "expires_at",
	    "claims", NULL };
	struct spiffe_id	 sid;
	struct nsreg_error	 e2;
	json_t			*o = NULL, *v;
	const char		*k, *auth, *exp;
	size_t			 len = strlen(value), i;
	int			 rc = -1;

	principal_clear(out);
	if (len == 0 || len > ORIGIN_HEADER_MAX) {
		origin_bad(err, len == 0 ? "empty" : "too long");
		goto out;
	}
	if ((o = jose_b64url_object(value, len)) == NULL) {
		origin_bad(err, "not the base64url of a JSON object");
		goto out;
	}
	json_object_foreach(o, k, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			nsreg_error_set(err, NSREG_INVALID_ARGUMENT,
			    ORIGIN_HEADER, "%s: unknown member \"%.64s\"",
			    ORIGIN_HEADER, k);
			goto out;
		}
	}
	if (!json_is_string(v = json_object_get(o, "id"))) {
		origin_bad(err, "id: required (a SPIFFE ID)");
		goto out;
	}
	nsreg_error_clear(&e2);
	if (spiffe_id_parse(json_string_value(v), &sid, &e2) == -1 ||
	    !spiffe_id_has_path(&sid)) {
		nsreg_error_set(err, NSREG_INVALID_ARGUMENT, ORIGIN_HEADER,
		    "%s: id: %s", ORIGIN_HEADER, e2.message[0] != '\0' ?
		    e2.message : "a workload's ID has a path");
		goto out;
	}
	auth = json_string_value(json_object_get(o, "auth"));
	if (auth != NULL && strcmp(auth, "x509") == 0)
		out->auth = PRINCIPAL_X509;
	else if (auth != NULL && strcmp(auth, "jwt") == 0)
		out->auth = PRINCIPAL_JWT;
	else {
		origin_bad(err, "auth: \"x509\" or \"jwt\"");
		goto out;
	}
	if ((v = json_object_get(o, "expires_at")) != NULL) {
		exp = json_string_value(v);
		if (exp == NULL || util_rfc3339_parse(exp,
		    &out->expires_at) == -1) {
			origin_bad(err, "expires_at: an RFC 3339 time");
			goto out;
		}
	}
	if ((v = json_object_get(o, "claims")) != NULL) {
		if (!json_is_object(v)) {
			origin_bad(err, "claims: an object");
			goto out;
		}
		out->claims = json_incref(v);
	}
	memcpy(out->id, sid.id, sid.len + 1);
	spiffe_id_trust_domain(&sid, out->trust_domain);
	out->path_off = sid.path_off;
	out->admin = 0;
	rc = 0;
out:
	if (rc == -1)
		principal_clear(out);
	json_decref(o);
	return rc;
}
