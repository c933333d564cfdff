/*
 * test_x509svid.c - X.509-SVID verification on certificates the fixture
 * mints (svid.h): every rule of X509-SVID section 5 broken once, path
 * validation, and the choice of the bundle by the leaf's trust domain.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "identity_int.h"
#include "jwtsvid.h"
#include "principal.h"
#include "svid.h"
#include "tokcache.h"
#include "trust.h"
#include "util.h"
#include "x509svid.h"

static struct svid_ca	*ca_a;		/* a.test, in the trust set */
static struct svid_ca	*ca_b;		/* b.test, in the trust set */
static struct svid_ca	*ca_c;		/* c.test, unknown */
static struct svid_ca	*ca_a_rogue;	/* a.test too, but not trusted */
static struct trust	*trust;
static int64_t		 now;

static void
add_bundle(struct svid_ca *ca)
{
	struct nsreg_error	 err;
	struct bundle		*b = svid_ca_bundle(ca, &err);

	cr_assert_not_null(b, "%s", err.message);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	bundle_unref(b);
}

static void
setup(void)
{
	struct nsreg_error	err;

	now = util_now_ms();
	ca_a = svid_ca_generate("a.test", now, 0, &err);
	ca_b = svid_ca_generate("b.test", now, 0, &err);
	ca_c = svid_ca_generate("c.test", now, 0, &err);
	ca_a_rogue = svid_ca_generate("a.test", now, 0, &err);
	cr_assert(ca_a && ca_b && ca_c && ca_a_rogue);
	trust = trust_new("a.test", &err);
	cr_assert_not_null(trust);
	add_bundle(ca_a);
	add_bundle(ca_b);
}

static void
teardown(void)
{
	trust_free(trust);
	svid_ca_free(ca_a);
	svid_ca_free(ca_b);
	svid_ca_free(ca_c);
	svid_ca_free(ca_a_rogue);
}

TestSuite(x509svid, .init = setup, .fini = teardown);

/* Mint a chain with ca for id and flags. */
static void
mint(struct svid_ca *ca, const char *id, unsigned int flags,
    struct svid_chain *chain)
{
	struct nsreg_error	 err;
	struct svid_x509_req	 req;
	char			*pem, *key;

	memset(&req, 0, sizeof(req));
	req.id = id;
	req.flags = flags;
	cr_assert_eq(svid_x509_issue(ca, &req, now, &pem, &key, &err), 0,
	    "%s", err.message);
	cr_assert_eq(svid_chain_from_pem(pem, strlen(pem), chain, &err), 0,
	    "%s", err.message);
	free(pem);
	free(key);
}

static void
mint_req(struct svid_ca *ca, const struct svid_x509_req *req,
    struct svid_chain *chain)
{
	struct nsreg_error	 err;
	char			*pem, *key;

	cr_assert_eq(svid_x509_issue(ca, req, now, &pem, &key, &err), 0,
	    "%s", err.message);
	cr_assert_eq(svid_chain_from_pem(pem, strlen(pem), chain, &err), 0,
	    "%s", err.message);
	free(pem);
	free(key);
}

/* Verify and expect the message (NULL: success). */
static void
expect(const struct svid_chain *chain, const char *message)
{
	struct nsreg_error	 err;
	struct principal	 p;
	int			 rc;

	memset(&p, 0, sizeof(p));
	nsreg_error_clear(&err);
	rc = x509svid_verify(trust, chain->certs, chain->n, now,
	    X509SVID_PURPOSE_CLIENT, &p, &err);
	if (message == NULL) {
		cr_assert_eq(rc, 0, "rejected: %s", err.message);
		cr_assert_eq(p.auth, PRINCIPAL_X509);
	} else {
		cr_assert_eq(rc, -1, "accepted, want \"%s\"", message);
		cr_assert_eq(err.code, NSREG_UNAUTHENTICATED);
		cr_assert_str_eq(err.message, message);
		cr_assert_eq(p.auth, PRINCIPAL_ANONYMOUS);
		cr_assert_str_eq(p.id, "");
	}
	principal_clear(&p);
}

static void
expect_mint(struct svid_ca *ca, const char *id, unsigned int flags,
    const char *message)
{
	struct svid_chain	chain;

	mint(ca, id, flags, &chain);
	expect(&chain, message);
	svid_chain_free(&chain);
}

/* ---- accepted ---------------------------------------------------------- */

Test(x509svid, valid_leaf)
{
	struct nsreg_error	 err;
	struct svid_chain	 chain;
	struct principal	 p;

	memset(&p, 0, sizeof(p));
	mint(ca_a, "spiffe://a.test/ns/default/sa/client", 0, &chain);
	cr_assert_eq(chain.n, 1);
	cr_assert_eq(x509svid_verify(trust, chain.certs, chain.n, now,
	    X509SVID_PURPOSE_CLIENT, &p, &err), 0, "%s", err.message);
	cr_assert_eq(p.auth, PRINCIPAL_X509);
	cr_assert_str_eq(p.id, "spiffe://a.test/ns/default/sa/client");
	cr_assert_str_eq(p.trust_domain, "a.test");
	cr_assert_str_eq(principal_path(&p), "/ns/default/sa/client");
	cr_assert_null(p.claims);
	cr_assert_eq(p.admin, 0);
	/* The leaf expires first: now + 1 h, to the second. */
	cr_assert_eq(p.expires_at, (now + SVID_X509_TTL_DEFAULT) / 1000 *
	    1000);
	svid_chain_free(&chain);
}

Test(x509svid, leaf_with_intermediate)
{
	struct svid_chain	chain;

	mint(ca_a, "spiffe://a.test/w", SVID_X509_INTERMEDIATE, &chain);
	cr_assert_eq(chain.n, 2);
	expect(&chain, NULL);
	/* Without the intermediate the path cannot be built. */
	chain.n = 1;
	expect(&chain, "x509: not signed by an authority of trust domain "
	    "a.test");
	chain.n = 2;
	svid_chain_free(&chain);
}

Test(x509svid, second_trust_domain_is_recognised)
{
	struct nsreg_error	 err;
	struct svid_chain	 chain;
	struct principal	 p;

	memset(&p, 0, sizeof(p));
	mint(ca_b, "spiffe://b.test/partner/app", 0, &chain);
	cr_assert_eq(x509svid_verify(trust, chain.certs, chain.n, now,
	    X509SVID_PURPOSE_CLIENT, &p, &err), 0, "%s", err.message);
	cr_assert_str_eq(p.trust_domain, "b.test");
	cr_assert_str_eq(principal_path(&p), "/partner/app");
	svid_chain_free(&chain);
}

Test(x509svid, trust_domain_case_is_folded)
{
	struct nsreg_error	 err;
	struct svid_chain	 chain;
	struct principal	 p;

	memset(&p, 0, sizeof(p));
	mint(ca_a, "SPIFFE://A.Test/Mixed/Case", 0, &chain);
	cr_assert_eq(x509svid_verify(trust, chain.certs, chain.n, now,
	    X509SVID_PURPOSE_CLIENT, &p, &err), 0, "%s", err.message);
	cr_assert_str_eq(p.id, "spiffe://a.test/Mixed/Case");
	svid_chain_free(&chain);
}

Test(x509svid, any_root_of_the_bundle_anchors)
{
	struct nsreg_error	 err;
	struct svid_ca		*next;
	json_t			*doc, *doc2;
	struct bundle		*b;

	/* Root rotation: the bundle holds the old and the new root. */
	next = svid_ca_generate("a.test", now, 0, &err);
	doc = svid_ca_bundle_json(ca_a, 2, 300);
	doc2 = svid_ca_bundle_json(next, -1, -1);
	json_array_append(json_object_get(doc, "keys"),
	    json_array_get(json_object_get(doc2, "keys"), 0));
	b = bundle_from_json("a.test", doc, &err);
	cr_assert_not_null(b, "%s", err.message);
	cr_assert_eq(bundle_x509_count(b), 2);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	expect_mint(ca_a, "spiffe://a.test/old", 0, NULL);
	expect_mint(next, "spiffe://a.test/new", 0, NULL);
	bundle_unref(b);
	json_decref(doc);
	json_decref(doc2);
	svid_ca_free(next);
}

Test(x509svid, pem_bundle_for_the_local_domain)
{
	struct nsreg_error	 err;
	char			*pem = svid_ca_bundle_pem(ca_a);
	struct bundle		*b;

	b = bundle_parse("a.test", pem, strlen(pem), BUNDLE_FORMAT_PEM, &err);
	cr_assert_not_null(b, "%s", err.message);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	expect_mint(ca_a, "spiffe://a.test/w", 0, NULL);
	bundle_unref(b);
	free(pem);
}

/* ---- X509-SVID section 5, one rule each -------------------------------- */

Test(x509svid, ca_leaf)
{
	expect_mint(ca_a, "spiffe://a.test/w", SVID_X509_CA,
	    "x509: leaf is a CA");
}

Test(x509svid, missing_digital_signature)
{
	expect_mint(ca_a, "spiffe://a.test/w", SVID_X509_NO_DIGITAL_SIGNATURE,
	    "x509: leaf lacks digitalSignature");
}

Test(x509svid, missing_key_usage)
{
	expect_mint(ca_a, "spiffe://a.test/w", SVID_X509_NO_KEY_USAGE,
	    "x509: leaf has no key usage");
}

Test(x509svid, key_cert_sign)
{
	expect_mint(ca_a, "spiffe://a.test/w", SVID_X509_KEY_CERT_SIGN,
	    "x509: leaf has keyCertSign");
}

Test(x509svid, crl_sign)
{
	expect_mint(ca_a, "spiffe://a.test/w", SVID_X509_CRL_SIGN,
	    "x509: leaf has cRLSign");
}

Test(x509svid, two_uri_sans)
{
	struct svid_x509_req	req;
	struct svid_chain	chain;

	memset(&req, 0, sizeof(req));
	req.id = "spiffe://a.test/w";
	req.extra_uri = "spiffe://a.test/other";
	mint_req(ca_a, &req, &chain);
	expect(&chain, "x509: more than one URI SAN");
	svid_chain_free(&chain);
}

Test(x509svid, no_uri_san)
{
	static const char *const dns[] = { "w.a.test" };
	struct svid_x509_req	 req;
	struct svid_chain	 chain;

	expect_mint(ca_a, "spiffe://a.test/w", SVID_X509_NO_URI,
	    "x509: no URI SAN");
	/* A SAN extension with DNS names only is no better. */
	memset(&req, 0, sizeof(req));
	req.id = "spiffe://a.test/w";
	req.flags = SVID_X509_NO_URI;
	req.dns = dns;
	req.ndns = 1;
	mint_req(ca_a, &req, &chain);
	expect(&chain, "x509: no URI SAN");
	svid_chain_free(&chain);
}

Test(x509svid, root_path)
{
	expect_mint(ca_a, "spiffe://a.test", 0,
	    "x509: leaf SPIFFE ID has no path");
}

Test(x509svid, uri_san_not_spiffe)
{
	expect_mint(ca_a, "https://a.test/w", 0,
	    "x509: URI SAN is not a valid SPIFFE ID: scheme must be spiffe "
	    "followed by //");
	expect_mint(ca_a, "spiffe://a.test/a/../b", 0,
	    "x509: URI SAN is not a valid SPIFFE ID: path has a . or .. "
	    "segment");
	expect_mint(ca_a, "spiffe://a.test:443/w", 0,
	    "x509: URI SAN is not a valid SPIFFE ID: port is not allowed");
}

Test(x509svid, expired)
{
	struct svid_x509_req	req;
	struct svid_chain	chain;

	memset(&req, 0, sizeof(req));
	req.id = "spiffe://a.test/w";
	req.not_before_ms = now - 7200 * 1000;
	req.not_after_ms = now - 3600 * 1000;
	mint_req(ca_a, &req, &chain);
	expect(&chain, "x509: certificate expired");
	svid_chain_free(&chain);
}

Test(x509svid, not_yet_valid)
{
	struct svid_x509_req	req;
	struct svid_chain	chain;

	memset(&req, 0, sizeof(req));
	req.id = "spiffe://a.test/w";
	req.not_before_ms = now + 3600 * 1000;
	req.not_after_ms = now + 7200 * 1000;
	mint_req(ca_a, &req, &chain);
	expect(&chain, "x509: certificate not yet valid");
	svid_chain_free(&chain);
}

Test(x509svid, verified_at_the_time_given)
{
	struct nsreg_error	 err;
	struct svid_chain	 chain;
	struct principal	 p;

	memset(&p, 0, sizeof(p));
	mint(ca_a, "spiffe://a.test/w", 0, &chain);
	cr_assert_eq(x509svid_verify(trust, chain.certs, chain.n,
	    now + 2 * SVID_X509_TTL_DEFAULT, X509SVID_PURPOSE_CLIENT, &p,
	    &err), -1);
	cr_assert_str_eq(err.message, "x509: certificate expired");
	svid_chain_free(&chain);
}

/* ---- the bundle of the leaf's trust domain, and no other --------------- */

Test(x509svid, wrong_trust_domains_ca)
{
	/* b.test's leaf signed by a.test's CA, both trusted: rejected. */
	expect_mint(ca_a, "spiffe://b.test/x", 0,
	    "x509: not signed by an authority of trust domain b.test");
	expect_mint(ca_b, "spiffe://a.test/x", 0,
	    "x509: not signed by an authority of trust domain a.test");
}

Test(x509svid, signed_by_another_ca)
{
	expect_mint(ca_a_rogue, "spiffe://a.test/x", 0,
	    "x509: not signed by an authority of trust domain a.test");
	expect_mint(ca_a_rogue, "spiffe://a.test/x", SVID_X509_INTERMEDIATE,
	    "x509: not signed by an authority of trust domain a.test");
}

Test(x509svid, unknown_trust_domain)
{
	expect_mint(ca_c, "spiffe://c.test/x", 0,
	    "x509: no bundle for trust domain c.test");
}

Test(x509svid, trust_domain_without_x509_roots)
{
	struct nsreg_error	 err;
	json_t			*doc = svid_ca_bundle_json(ca_c, 1, 300);
	struct bundle		*b;

	/* c.test publishes its JWT key only. */
	json_array_remove(json_object_get(doc, "keys"), 0);
	b = bundle_from_json("c.test", doc, &err);
	cr_assert_not_null(b, "%s", err.message);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	expect_mint(ca_c, "spiffe://c.test/x", 0,
	    "x509: trust domain c.test has no X.509 authorities");
	bundle_unref(b);
	json_decref(doc);
}

Test(x509svid, removed_trust_domain_is_unknown)
{
	struct nsreg_error	err;

	expect_mint(ca_b, "spiffe://b.test/x", 0, NULL);
	cr_assert_eq(trust_remove(trust, "b.test", &err), 0);
	expect_mint(ca_b, "spiffe://b.test/x", 0,
	    "x509: no bundle for trust domain b.test");
}

/* ---- purpose ----------------------------------------------------------- */

Test(x509svid, extended_key_usage_must_allow_the_purpose)
{
	struct nsreg_error	 err;
	struct svid_chain	 chain;
	struct principal	 p;

	memset(&p, 0, sizeof(p));
	mint(ca_a, "spiffe://a.test/server", SVID_X509_SERVER_ONLY, &chain);
	expect(&chain, "x509: leaf extended key usage lacks clientAuth");
	cr_assert_eq(x509svid_verify(trust, chain.certs, chain.n, now,
	    X509SVID_PURPOSE_SERVER, &p, &err), 0, "%s", err.message);
	cr_assert_eq(x509svid_verify(trust, chain.certs, chain.n, now,
	    X509SVID_PURPOSE_ANY, &p, &err), 0, "%s", err.message);
	principal_clear(&p);
	svid_chain_free(&chain);
	/* Without the extension, any purpose. */
	expect_mint(ca_a, "spiffe://a.test/w", SVID_X509_NO_EKU, NULL);
}

/* ---- input ------------------------------------------------------------- */

Test(x509svid, malformed_input)
{
	struct svid_chain	 chain;
	struct x509svid_der	 bad[X509SVID_CHAIN_MAX + 1];
	unsigned char		*copy;
	size_t			 i;

	mint(ca_a, "spiffe://a.test/w", 0, &chain);
	expect(&(struct svid_chain){ .n = 0 }, "x509: no certificate");

	/* Garbage, a truncated certificate, trailing bytes. */
	bad[0].data = "not a certificate";
	bad[0].len = 17;
	expect(&(struct svid_chain){ .n = 1, .certs = { bad[0] } },
	    "x509: malformed certificate");
	bad[0].data = chain.certs[0].data;
	bad[0].len = chain.certs[0].len - 1;
	expect(&(struct svid_chain){ .n = 1, .certs = { bad[0] } },
	    "x509: malformed certificate");
	copy = malloc(chain.certs[0].len + 1);
	memcpy(copy, chain.certs[0].data, chain.certs[0].len);
	copy[chain.certs[0].len] = 0;
	bad[0].data = copy;
	bad[0].len = chain.certs[0].len + 1;
	expect(&(struct svid_chain){ .n = 1, .certs = { bad[0] } },
	    "x509: malformed certificate");
	free(copy);

	/* One certificate too many. */
	{
		struct nsreg_error	err;
		struct principal	p;

		memset(&p, 0, sizeof(p));
		for (i = 0; i <= X509SVID_CHAIN_MAX; i++)
			bad[i] = chain.certs[0];
		cr_assert_eq(x509svid_verify(trust, bad,
		    X509SVID_CHAIN_MAX + 1, now, X509SVID_PURPOSE_CLIENT, &p,
		    &err), -1);
		cr_assert_str_eq(err.message, "x509: chain longer than 8 certificates");
		/* Repeated certificates within the limit are harmless. */
		cr_assert_eq(x509svid_verify(trust, bad, 3, now,
		    X509SVID_PURPOSE_CLIENT, &p, &err), 0, "%s", err.message);
		principal_clear(&p);
	}
	svid_chain_free(&chain);
}

Test(x509svid, failure_leaves_an_anonymous_principal)
{
	struct nsreg_error	 err;
	struct svid_chain	 chain;
	struct principal	 p;

	memset(&p, 0, sizeof(p));
	p.auth = PRINCIPAL_JWT;
	p.claims = json_object();
	snprintf(p.id, sizeof(p.id), "spiffe://x/y");
	mint(ca_a, "spiffe://a.test/w", SVID_X509_CA, &chain);
	cr_assert_eq(x509svid_verify(trust, chain.certs, chain.n, now,
	    X509SVID_PURPOSE_CLIENT, &p, &err), -1);
	cr_assert_eq(p.auth, PRINCIPAL_ANONYMOUS);
	cr_assert_null(p.claims);
	cr_assert_str_eq(p.id, "");
	svid_chain_free(&chain);
}

/* ---- the named rule functions, directly -------------------------------- */

static X509 *
leaf_x509(unsigned int flags, const char *id)
{
	struct svid_chain	 chain;
	const unsigned char	*d;
	X509			*x;

	mint(ca_a, id, flags, &chain);
	d = chain.certs[0].data;
	x = d2i_X509(NULL, &d, (long)chain.certs[0].len);
	cr_assert_not_null(x);
	svid_chain_free(&chain);
	return x;
}

Test(x509svid, check_one_uri)
{
	struct nsreg_error	 err;
	char			 uri[SPIFFE_ID_MAX + 1];
	X509			*good = leaf_x509(0, "spiffe://a.test/w");
	X509			*none = leaf_x509(SVID_X509_NO_URI,
				    "spiffe://a.test/w");

	cr_assert_eq(x509svid_check_one_uri(good, uri, sizeof(uri), &err),
	    17);
	cr_assert_str_eq(uri, "spiffe://a.test/w");
	cr_assert_eq(x509svid_check_one_uri(none, uri, sizeof(uri), &err),
	    -1);
	cr_assert_str_eq(err.message, "x509: no URI SAN");
	/* A buffer too small for the URI is a too-long ID, not overflow. */
	cr_assert_eq(x509svid_check_one_uri(good, uri, 10, &err), -1);
	X509_free(good);
	X509_free(none);
}

Test(x509svid, check_spiffe_id_and_non_root)
{
	struct nsreg_error	err;
	struct spiffe_id	id;

	cr_assert_eq(x509svid_check_spiffe_id("spiffe://a.test/w", 17, &id,
	    &err), 0);
	cr_assert_eq(x509svid_check_non_root(&id, &err), 0);
	cr_assert_eq(x509svid_check_spiffe_id("spiffe://a.test", 15, &id,
	    &err), 0);
	cr_assert_eq(x509svid_check_non_root(&id, &err), -1);
	cr_assert_eq(x509svid_check_spiffe_id("spiffe://a.test/\0w", 18, &id,
	    &err), -1);
	cr_assert_str_eq(err.message, "x509: URI SAN is not a valid SPIFFE "
	    "ID: path has a character outside [A-Za-z0-9._-]");
}

Test(x509svid, check_not_ca)
{
	struct nsreg_error	 err;
	X509			*good = leaf_x509(0, "spiffe://a.test/w");
	X509			*bad = leaf_x509(SVID_X509_CA,
				    "spiffe://a.test/w");

	cr_assert_eq(x509svid_check_not_ca(good, &err), 0);
	cr_assert_eq(x509svid_check_not_ca(bad, &err), -1);
	cr_assert_str_eq(err.message, "x509: leaf is a CA");
	/* The other rules do not see a problem in the CA leaf. */
	cr_assert_eq(x509svid_check_no_key_cert_sign(bad, &err), 0);
	cr_assert_eq(x509svid_check_digital_signature(bad, &err), 0);
	X509_free(good);
	X509_free(bad);
}

Test(x509svid, check_digital_signature)
{
	struct nsreg_error	 err;
	X509			*good = leaf_x509(0, "spiffe://a.test/w");
	X509			*bad = leaf_x509(
				    SVID_X509_NO_DIGITAL_SIGNATURE,
				    "spiffe://a.test/w");
	X509			*none = leaf_x509(SVID_X509_NO_KEY_USAGE,
				    "spiffe://a.test/w");

	cr_assert_eq(x509svid_check_digital_signature(good, &err), 0);
	cr_assert_eq(x509svid_check_digital_signature(bad, &err), -1);
	cr_assert_str_eq(err.message, "x509: leaf lacks digitalSignature");
	cr_assert_eq(x509svid_check_digital_signature(none, &err), -1);
	cr_assert_str_eq(err.message, "x509: leaf has no key usage");
	cr_assert_eq(x509svid_check_not_ca(bad, &err), 0);
	X509_free(good);
	X509_free(bad);
	X509_free(none);
}

Test(x509svid, check_no_key_cert_sign)
{
	struct nsreg_error	 err;
	X509			*good = leaf_x509(0, "spiffe://a.test/w");
	X509			*bad = leaf_x509(SVID_X509_KEY_CERT_SIGN,
				    "spiffe://a.test/w");

	cr_assert_eq(x509svid_check_no_key_cert_sign(good, &err), 0);
	cr_assert_eq(x509svid_check_no_key_cert_sign(bad, &err), -1);
	cr_assert_str_eq(err.message, "x509: leaf has keyCertSign");
	cr_assert_eq(x509svid_check_no_crl_sign(bad, &err), 0);
	X509_free(good);
	X509_free(bad);
}

Test(x509svid, check_no_crl_sign)
{
	struct nsreg_error	 err;
	X509			*good = leaf_x509(0, "spiffe://a.test/w");
	X509			*bad = leaf_x509(SVID_X509_CRL_SIGN,
				    "spiffe://a.test/w");

	cr_assert_eq(x509svid_check_no_crl_sign(good, &err), 0);
	cr_assert_eq(x509svid_check_no_crl_sign(bad, &err), -1);
	cr_assert_str_eq(err.message, "x509: leaf has cRLSign");
	cr_assert_eq(x509svid_check_no_key_cert_sign(bad, &err), 0);
	X509_free(good);
	X509_free(bad);
}

Test(x509svid, check_validity)
{
	struct nsreg_error	 err;
	X509			*x = leaf_x509(0, "spiffe://a.test/w");

	cr_assert_eq(x509svid_check_validity(x, 1, now / 1000, &err), 0);
	cr_assert_eq(x509svid_check_validity(x, 1, now / 1000 - 3600, &err),
	    -1);
	cr_assert_str_eq(err.message, "x509: certificate not yet valid");
	cr_assert_eq(x509svid_check_validity(x, 0, now / 1000 + 7200, &err),
	    -1);
	cr_assert_str_eq(err.message, "x509: CA certificate expired");
	X509_free(x);
}

/* ---- the cache --------------------------------------------------------- */

Test(x509svid, cached_verification)
{
	struct nsreg_error	 err;
	struct tokcache	*c = tokcache_new(16);
	struct svid_chain	 chain;
	struct principal	 p;
	struct svid_ca		*rotated;
	struct bundle		*b;
	uint64_t		 hits, misses;
	int			 i;

	memset(&p, 0, sizeof(p));
	mint(ca_a, "spiffe://a.test/w", SVID_X509_INTERMEDIATE, &chain);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(x509svid_verify_cached(c, trust, chain.certs,
		    chain.n, now, X509SVID_PURPOSE_CLIENT, &p, &err), 0,
		    "%s", err.message);
		cr_assert_eq(p.auth, PRINCIPAL_X509);
		cr_assert_str_eq(p.id, "spiffe://a.test/w");
		cr_assert_str_eq(p.trust_domain, "a.test");
		cr_assert_str_eq(principal_path(&p), "/w");
		cr_assert_eq(p.expires_at, (now + SVID_X509_TTL_DEFAULT) /
		    1000 * 1000);
	}
	tokcache_stats(c, &hits, &misses);
	cr_assert_eq(hits, 2);
	cr_assert_eq(misses, 1);

	/* The purpose is part of the key. */
	cr_assert_eq(x509svid_verify_cached(c, trust, chain.certs, chain.n,
	    now, X509SVID_PURPOSE_SERVER, &p, &err), 0, "%s", err.message);
	tokcache_stats(c, &hits, &misses);
	cr_assert_eq(misses, 2);

	/* Not past the chain's notAfter. */
	cr_assert_eq(x509svid_verify_cached(c, trust, chain.certs, chain.n,
	    now + 2 * SVID_X509_TTL_DEFAULT, X509SVID_PURPOSE_CLIENT, &p,
	    &err), -1);
	cr_assert_str_eq(err.message, "x509: certificate expired");
	cr_assert_eq(p.auth, PRINCIPAL_ANONYMOUS);

	/* A new bundle for a.test: verified again, and now refused. */
	cr_assert_eq(x509svid_verify_cached(c, trust, chain.certs, chain.n,
	    now, X509SVID_PURPOSE_CLIENT, &p, &err), 0, "%s", err.message);
	rotated = svid_ca_generate("a.test", now, 0, &err);
	b = svid_ca_bundle(rotated, &err);
	cr_assert_eq(trust_set(trust, b, &err), 0);
	cr_assert_eq(x509svid_verify_cached(c, trust, chain.certs, chain.n,
	    now, X509SVID_PURPOSE_CLIENT, &p, &err), -1);
	cr_assert_str_eq(err.message, "x509: not signed by an authority of "
	    "trust domain a.test");
	cr_assert_str_eq(p.id, "");

	/* Failures are not cached; malformed input is not hashed. */
	expect_mint(ca_a, "spiffe://a.test/w", SVID_X509_CA,
	    "x509: leaf is a CA");
	cr_assert_eq(x509svid_verify_cached(c, trust, NULL, 0, now,
	    X509SVID_PURPOSE_CLIENT, &p, &err), -1);
	cr_assert_str_eq(err.message, "x509: no certificate");
	cr_assert_eq(x509svid_verify_cached(NULL, trust, chain.certs,
	    chain.n, now, X509SVID_PURPOSE_CLIENT, &p, &err), -1);

	principal_clear(&p);
	bundle_unref(b);
	svid_ca_free(rotated);
	svid_chain_free(&chain);
	tokcache_free(c);
}

Test(x509svid, one_cache_for_both_credentials)
{
	struct nsreg_error	 err;
	struct tokcache	*c = tokcache_new(16);
	struct svid_jwt_req	 req;
	struct svid_chain	 chain;
	struct principal	 p;
	const char		*aud[] = { "me" };
	char			*tok;
	uint64_t		 hits, misses;

	memset(&p, 0, sizeof(p));
	memset(&req, 0, sizeof(req));
	req.id = "spiffe://a.test/w";
	req.aud = aud;
	req.naud = 1;
	cr_assert_eq(svid_jwt_issue(ca_a, &req, now, &tok, &err), 0);
	mint(ca_a, "spiffe://a.test/w", 0, &chain);
	cr_assert_eq(jwtsvid_verify(c, trust, "me", tok, strlen(tok), now,
	    &p, &err), 0, "%s", err.message);
	cr_assert_eq(x509svid_verify_cached(c, trust, chain.certs, chain.n,
	    now, X509SVID_PURPOSE_CLIENT, &p, &err), 0, "%s", err.message);
	cr_assert_eq(p.auth, PRINCIPAL_X509);
	cr_assert_null(p.claims);
	cr_assert_eq(jwtsvid_verify(c, trust, "me", tok, strlen(tok), now,
	    &p, &err), 0, "%s", err.message);
	cr_assert_eq(p.auth, PRINCIPAL_JWT);
	cr_assert_not_null(p.claims);
	tokcache_stats(c, &hits, &misses);
	cr_assert_eq(hits, 1);
	cr_assert_eq(misses, 2);
	principal_clear(&p);
	svid_chain_free(&chain);
	free(tok);
	tokcache_free(c);
}
