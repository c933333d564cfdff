/*
 * test_origin.c - the statement of origin between registries (origin.h):
 * what is sent for whom, and every malformed statement refused with its
 * reason.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "jose.h"
#include "origin.h"

/* A principal as auth.c leaves it. */
static void
principal_of(struct principal *p, enum principal_auth auth, const char *id,
    int64_t exp, json_t *claims)
{
	const char	*slash;

	memset(p, 0, sizeof(*p));
	p->auth = auth;
	snprintf(p->id, sizeof(p->id), "%s", id);
	if (strncmp(id, "spiffe://", 9) == 0) {
		slash = strchr(id + 9, '/');
		snprintf(p->trust_domain, sizeof(p->trust_domain), "%.*s",
		    (int)(slash != NULL ? slash - id - 9 : (long)strlen(id + 9)),
		    id + 9);
		p->path_off = slash != NULL ? (size_t)(slash - id) : strlen(id);
	}
	p->expires_at = exp;
	p->claims = claims;
}

Test(origin, what_is_stated_comes_back_the_same)
{
	struct principal	 p, q;
	struct nsreg_error	 err;
	char			*v;

	principal_of(&p, PRINCIPAL_JWT, "spiffe://b.test/ns/db/sa/pg",
	    1795803305000LL, json_pack("{s:s, s:[s]}", "sub",
	    "spiffe://b.test/ns/db/sa/pg", "groups", "dba"));
	cr_assert_not_null(v = origin_encode(&p));
	cr_expect(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789-_") == strlen(v), "not base64url: %s", v);
	memset(&q, 0, sizeof(q));
	cr_assert_eq(origin_decode(v, &q, &err), 0, "%s", err.message);
	cr_expect_str_eq(q.id, p.id);
	cr_expect_str_eq(q.trust_domain, "b.test");
	cr_expect_str_eq(principal_path(&q), "/ns/db/sa/pg");
	cr_expect_eq(q.auth, PRINCIPAL_JWT);
	cr_expect_eq(q.admin, 0);
	cr_expect_eq(q.expires_at, 1795803305000LL);
	cr_expect(json_equal(q.claims, p.claims));
	cr_expect_null(q.origin);
	free(v);
	principal_clear(&p);
	principal_clear(&q);
}

Test(origin, nothing_is_stated_for_the_admin_token_or_nobody)
{
	struct principal	p;
	char			*big;

	principal_of(&p, PRINCIPAL_ADMIN_TOKEN, "", 0, NULL);
	cr_expect_null(origin_encode(&p));
	principal_of(&p, PRINCIPAL_ANONYMOUS, "", 0, NULL);
	cr_expect_null(origin_encode(&p));
	/* Claims too large for a header: not stated at all. */
	cr_assert_not_null(big = calloc(1, 9000));
	memset(big, 'a', 8999);
	principal_of(&p, PRINCIPAL_JWT, "spiffe://b.test/x", 0,
	    json_pack("{s:s}", "big", big));
	free(big);
	cr_expect_null(origin_encode(&p));
	principal_clear(&p);
}

/* base64url of text, for the table. */
static char *
b64(const char *text)
{
	return jose_b64_encode((const unsigned char *)text, strlen(text), 1);
}

Test(origin, malformed_statements_are_refused_with_their_reason)
{
	static const struct {
		const char	*json;	/* NULL: raw is the header value */
		const char	*raw;
		const char	*why;
	} bad[] = {
		{ NULL, "", "empty" },
		{ NULL, "not base64!", "not the base64url of a JSON object" },
		{ "[1]", NULL, "not the base64url of a JSON object" },
		{ "{\"id\":1}", NULL, "id: required" },
		{ "{\"auth\":\"x509\"}", NULL, "id: required" },
		{ "{\"id\":\"spiffe://b.test/x\"}", NULL,
		    "auth: \"x509\" or \"jwt\"" },
		{ "{\"id\":\"spiffe://b.test/x\",\"auth\":\"admin\"}", NULL,
		    "auth: \"x509\" or \"jwt\"" },
		{ "{\"id\":\"https://b.test/x\",\"auth\":\"x509\"}", NULL,
		    "id: invalid SPIFFE ID" },
		{ "{\"id\":\"spiffe://b.test\",\"auth\":\"x509\"}", NULL,
		    "a workload's ID has a path" },
		{ "{\"id\":\"spiffe://b.test/x\",\"auth\":\"x509\","
		    "\"claims\":[]}", NULL, "claims: an object" },
		{ "{\"id\":\"spiffe://b.test/x\",\"auth\":\"x509\","
		    "\"expires_at\":\"soon\"}", NULL, "expires_at" },
		{ "{\"id\":\"spiffe://b.test/x\",\"auth\":\"x509\","
		    "\"admin\":true}", NULL, "unknown member \"admin\"" },
		{ "{\"id\":\"spiffe://b.test/x\",\"id\":\"spiffe://b.test/y\","
		    "\"auth\":\"x509\"}", NULL,
		    "not the base64url of a JSON object" },
	};
	struct principal	 q;
	struct nsreg_error	 err;
	char			*v;
	size_t			 i;

	memset(&q, 0, sizeof(q));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = bad[i].json != NULL ? b64(bad[i].json) :
		    strdup(bad[i].raw);
		cr_assert_not_null(v);
		nsreg_error_clear(&err);
		cr_expect_eq(origin_decode(v, &q, &err), -1, "case %zu", i);
		cr_expect_eq(err.code, NSREG_INVALID_ARGUMENT, "case %zu", i);
		cr_expect_str_eq(err.field, ORIGIN_HEADER, "case %zu", i);
		cr_expect(strstr(err.message, bad[i].why) != NULL,
		    "case %zu: %s", i, err.message);
		cr_expect_eq(q.id[0], '\0', "case %zu", i);
		free(v);
	}
	/* Upper case in the trust domain: normalised as every SPIFFE ID. */
	v = b64("{\"id\":\"spiffe://B.Test/ns/x\",\"auth\":\"x509\"}");
	cr_assert_eq(origin_decode(v, &q, &err), 0, "%s", err.message);
	cr_expect_str_eq(q.id, "spiffe://b.test/ns/x");
	cr_expect_str_eq(q.trust_domain, "b.test");
	free(v);
	principal_clear(&q);
}

Test(origin, a_copied_principal_owns_its_own_origin)
{
	struct principal	 p, c;

	principal_of(&p, PRINCIPAL_X509, "spiffe://b.test/nsregd", 0, NULL);
	cr_assert_not_null(p.origin = calloc(1, sizeof(*p.origin)));
	principal_of(p.origin, PRINCIPAL_X509, "spiffe://b.test/ns/db/sa/pg",
	    0, json_object());
	memset(&c, 0, sizeof(c));
	cr_assert_eq(principal_copy(&c, &p), 0);
	cr_assert_not_null(c.origin);
	cr_expect_neq(c.origin, p.origin);
	cr_expect_str_eq(c.origin->id, "spiffe://b.test/ns/db/sa/pg");
	principal_clear(&p);
	cr_expect_null(p.origin);
	cr_expect_str_eq(c.origin->id, "spiffe://b.test/ns/db/sa/pg");
	/* Copying over a principal with an origin replaces it. */
	principal_of(&p, PRINCIPAL_X509, "spiffe://a.test/x", 0, NULL);
	cr_assert_eq(principal_copy(&c, &p), 0);
	cr_expect_null(c.origin);
	principal_clear(&c);
}
