/*
 * test_svid.c - the development CA (svid.h): CA directories, X.509 and
 * JWT minting, bundles, the dev directory, and the nsreg-svid program.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "identity_int.h"
#include "jose.h"
#include "jwtsvid.h"
#include "svid.h"
#include "trust.h"
#include "util.h"
#include "x509svid.h"

static char	tmp[256];
static int64_t	now;

static void
setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/nsreg-test-svid.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	now = util_now_ms();
}

static void
teardown(void)
{
	char	cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", tmp);
}

TestSuite(svid, .init = setup, .fini = teardown);

static char *
path_of(const char *file)
{
	static char	p[512];

	snprintf(p, sizeof(p), "%s/%s", tmp, file);
	return p;
}

static int
mode_of(const char *file)
{
	struct stat	st;

	cr_assert_eq(stat(path_of(file), &st), 0, "%s", path_of(file));
	return (int)(st.st_mode & 0777);
}

static char *
slurp(const char *file)
{
	char	*s = util_file_read(path_of(file), 1 << 20, NULL);

	cr_assert_not_null(s, "%s", path_of(file));
	return s;
}

static X509 *
pem_cert(const char *pem)
{
	BIO	*bio = BIO_new_mem_buf(pem, -1);
	X509	*x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	cr_assert_not_null(x);
	return x;
}

/* ---- the CA ------------------------------------------------------------ */

Test(svid, ca_directory_round_trip)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca, *again;
	char			 dir[512];

	snprintf(dir, sizeof(dir), "%s/ca/nested", tmp);
	ca = svid_ca_generate("Example.ORG", now, 0, &err);
	cr_assert_not_null(ca, "%s", err.message);
	cr_assert_str_eq(svid_ca_trust_domain(ca), "example.org");
	cr_assert_eq(strlen(svid_ca_jwt_kid(ca)), 43);
	cr_assert_eq(svid_ca_save(ca, dir, &err), 0, "%s", err.message);
	cr_assert_eq(mode_of("ca/nested"), 0700);
	cr_assert_eq(mode_of("ca/nested/ca.key"), 0600);
	cr_assert_eq(mode_of("ca/nested/jwt.key"), 0600);
	cr_assert_eq(mode_of("ca/nested/ca.pem"), 0644);
	cr_assert_eq(mode_of("ca/nested/bundle.pem"), 0644);
	cr_assert_eq(mode_of("ca/nested/bundle.json"), 0644);

	again = svid_ca_load(dir, &err);
	cr_assert_not_null(again, "%s", err.message);
	cr_assert_str_eq(svid_ca_trust_domain(again), "example.org");
	cr_assert_str_eq(svid_ca_jwt_kid(again), svid_ca_jwt_kid(ca));

	/* Never overwritten. */
	cr_assert_eq(svid_ca_save(ca, dir, &err), -1);
	cr_assert_eq(err.code, NSREG_ALREADY_EXISTS);
	svid_ca_free(ca);
	svid_ca_free(again);
}

Test(svid, ca_certificate_is_an_svid_signing_certificate)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca = svid_ca_generate("a.test", now, 0, &err);
	char			*pem = svid_ca_bundle_pem(ca);
	char			 uri[SPIFFE_ID_MAX + 1];
	X509			*x = pem_cert(pem);

	/* X509-SVID 3.2, 4.1, 4.3: cA true, keyCertSign, ID without path. */
	cr_assert(X509_get_extension_flags(x) & EXFLAG_CA);
	cr_assert(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	cr_assert(X509_get_key_usage(x) & KU_CRL_SIGN);
	cr_assert_not(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	cr_assert_eq(x509svid_check_one_uri(x, uri, sizeof(uri), &err), 15);
	cr_assert_str_eq(uri, "spiffe://a.test");
	cr_assert(X509_get_extension_flags(x) & EXFLAG_SS);
	cr_assert_eq(x509svid_check_validity(x, 0, now / 1000 +
	    9LL * 365 * 86400, &err), 0);
	X509_free(x);
	free(pem);
	svid_ca_free(ca);
}

Test(svid, ca_load_errors)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca, *other;
	char			 dir[512];

	cr_assert_null(svid_ca_load(path_of("none"), &err));
	cr_assert_eq(err.code, NSREG_NOT_FOUND);

	/* A key that is not the certificate's. */
	snprintf(dir, sizeof(dir), "%s/a", tmp);
	ca = svid_ca_generate("a.test", now, 0, &err);
	other = svid_ca_generate("a.test", now, 0, &err);
	cr_assert_eq(svid_ca_save(ca, dir, &err), 0);
	snprintf(dir, sizeof(dir), "%s/b", tmp);
	cr_assert_eq(svid_ca_save(other, dir, &err), 0);
	{
		char	from[512];

		snprintf(from, sizeof(from), "%s", path_of("b/ca.key"));
		cr_assert_eq(rename(from, path_of("a/ca.key")), 0);
	}
	snprintf(dir, sizeof(dir), "%s/a", tmp);
	cr_assert_null(svid_ca_load(dir, &err));
	cr_assert_not_null(strstr(err.message, "ca.key is not the key of "
	    "ca.pem"), "%s", err.message);
	svid_ca_free(ca);
	svid_ca_free(other);
}

Test(svid, ca_without_jwt_key_signs_tokens_with_ca_key)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca, *loaded;
	struct bundle		*b;
	json_t			*doc, *k0, *k1;
	char			 dir[512];

	snprintf(dir, sizeof(dir), "%s/ca", tmp);
	ca = svid_ca_generate("a.test", now, 0, &err);
	cr_assert_eq(svid_ca_save(ca, dir, &err), 0);
	cr_assert_eq(unlink(path_of("ca/jwt.key")), 0);
	loaded = svid_ca_load(dir, &err);
	cr_assert_not_null(loaded, "%s", err.message);
	cr_assert_str_neq(svid_ca_jwt_kid(loaded), svid_ca_jwt_kid(ca));
	/* Both bundle keys are then the CA key. */
	doc = svid_ca_bundle_json(loaded, 1, 300);
	k0 = json_array_get(json_object_get(doc, "keys"), 0);
	k1 = json_array_get(json_object_get(doc, "keys"), 1);
	cr_assert(json_equal(json_object_get(k0, "x"),
	    json_object_get(k1, "x")));
	b = bundle_from_json("a.test", doc, &err);
	cr_assert_not_null(b, "%s", err.message);
	cr_assert(bundle_has_kid(b, svid_ca_jwt_kid(loaded)));
	bundle_unref(b);
	json_decref(doc);
	svid_ca_free(ca);
	svid_ca_free(loaded);
}

Test(svid, bundle_files_parse)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca = svid_ca_generate("a.test", now, 0, &err);
	struct bundle		*b;
	char			 dir[512];
	int64_t			 v;

	snprintf(dir, sizeof(dir), "%s/ca", tmp);
	cr_assert_eq(svid_ca_save(ca, dir, &err), 0);
	b = bundle_load_file("a.test", path_of("ca/bundle.json"),
	    BUNDLE_FORMAT_AUTO, &err);
	cr_assert_not_null(b, "%s", err.message);
	cr_assert_eq(bundle_x509_count(b), 1);
	cr_assert_eq(bundle_jwt_count(b), 1);
	cr_assert_eq(bundle_ignored_count(b), 0);
	cr_assert(bundle_has_kid(b, svid_ca_jwt_kid(ca)));
	cr_assert(bundle_sequence(b, &v) && v == 1);
	cr_assert(bundle_refresh_hint(b, &v) &&
	    v == SVID_REFRESH_HINT_DEFAULT);
	bundle_unref(b);
	b = bundle_load_file("a.test", path_of("ca/bundle.pem"),
	    BUNDLE_FORMAT_AUTO, &err);
	cr_assert_not_null(b, "%s", err.message);
	cr_assert_eq(bundle_x509_count(b), 1);
	cr_assert_eq(bundle_jwt_count(b), 0);
	bundle_unref(b);
	svid_ca_free(ca);
}

/* ---- keys and JWS ------------------------------------------------------ */

/* RFC 7638 section 3.1: the example RSA key and its thumbprint. */
Test(svid, jws_sign_refuses_what_it_cannot_do)
{
	struct nsreg_error	 err;
	struct svid_key		*ec = svid_key_generate(SVID_KEY_EC_P256, &err);
	json_t			*h = json_object(), *c = json_object();
	char			*tok;

	cr_assert_eq(svid_jws_sign(ec, "HS256", h, c, &tok, &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_assert_eq(svid_jws_sign(ec, "none", h, c, &tok, &err), -1);
	cr_assert_eq(svid_jws_sign(ec, "RS256", h, c, &tok, &err), -1);
	cr_assert_str_eq(err.message, "svid: cannot sign RS256 with this key");
	cr_assert_null(tok);
	cr_assert_eq(svid_jws_sign(ec, "ES256", h, c, &tok, &err), 0);
	/* "e30" (that is {}) twice, then 64 bytes of r||s. */
	cr_assert_eq(strlen(tok), 3 + 1 + 3 + 1 + 86);
	cr_assert_eq(strncmp(tok, "e30.e30.", 8), 0);
	free(tok);
	json_decref(h);
	json_decref(c);
	svid_key_free(ec);
}

/* ---- X.509 ------------------------------------------------------------- */

Test(svid, x509_sans_and_key)
{
	static const char *const dns[] = { "localhost", "w.a.test" };
	static const char *const ip[] = { "127.0.0.1", "::1" };
	struct nsreg_error	 err;
	struct svid_ca		*ca = svid_ca_generate("a.test", now, 0, &err);
	struct svid_x509_req	 req;
	char			*chain, *key;
	X509			*x;
	BIO			*bio;
	EVP_PKEY		*pk;

	memset(&req, 0, sizeof(req));
	req.id = "spiffe://a.test/w";
	req.dns = dns;
	req.ndns = 2;
	req.ip = ip;
	req.nip = 2;
	req.ttl_ms = 600 * 1000;
	cr_assert_eq(svid_x509_issue(ca, &req, now, &chain, &key, &err), 0,
	    "%s", err.message);
	x = pem_cert(chain);
	cr_assert_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	cr_assert_eq(X509_check_host(x, "w.a.test", 0, 0, NULL), 1);
	cr_assert_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	cr_assert_eq(X509_check_ip_asc(x, "::1", 0), 1);
	cr_assert_eq(X509_check_ip_asc(x, "10.0.0.1", 0), 0);
	cr_assert_eq(x509svid_check_validity(x, 1, now / 1000 + 590, &err), 0);
	cr_assert_eq(x509svid_check_validity(x, 1, now / 1000 + 610, &err),
	    -1);
	bio = BIO_new_mem_buf(key, -1);
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	cr_assert_not_null(pk);
	cr_assert_eq(X509_check_private_key(x, pk), 1);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	X509_free(x);
	free(chain);
	free(key);

	req.ip = (const char *const[]){ "not-an-ip" };
	req.nip = 1;
	cr_assert_eq(svid_x509_issue(ca, &req, now, &chain, &key, &err), -1);
	cr_assert_str_eq(err.message, "svid: invalid IP address not-an-ip");
	cr_assert_null(chain);
	svid_ca_free(ca);
}

Test(svid, chain_from_pem_limits)
{
	struct nsreg_error	 err;
	struct svid_chain	 c;
	struct svid_ca		*ca = svid_ca_generate("a.test", now, 0, &err);
	char			*pem = svid_ca_bundle_pem(ca), *many;
	size_t			 i, n = strlen(pem);

	cr_assert_eq(svid_chain_from_pem("junk", 4, &c, &err), -1);
	cr_assert_str_eq(err.message, "svid: no PEM certificate");
	many = malloc(n * (X509SVID_CHAIN_MAX + 1) + 1);
	for (i = 0; i <= X509SVID_CHAIN_MAX; i++)
		memcpy(many + i * n, pem, n);
	cr_assert_eq(svid_chain_from_pem(many, n * X509SVID_CHAIN_MAX, &c,
	    &err), 0);
	cr_assert_eq(c.n, X509SVID_CHAIN_MAX);
	svid_chain_free(&c);
	cr_assert_eq(svid_chain_from_pem(many, n * (X509SVID_CHAIN_MAX + 1),
	    &c, &err), -1);
	cr_assert_eq(c.n, 0);
	free(many);
	free(pem);
	svid_ca_free(ca);
}

/* ---- JWT --------------------------------------------------------------- */

static json_t *
token_part(const char *tok, int which)
{
	const char	*start = tok, *end;
	unsigned char	*raw;
	size_t		 len;
	json_t		*j;

	while (which-- > 0)
		start = strchr(start, '.') + 1;
	end = strchr(start, '.');
	cr_assert_eq(jose_b64_decode(start, (size_t)(end - start), 1, &raw,
	    &len), 0);
	j = json_loadb((char *)raw, len, 0, NULL);
	free(raw);
	cr_assert_not_null(j);
	return j;
}

Test(svid, jwt_header_and_claims)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca = svid_ca_generate("a.test", now, 0, &err);
	struct svid_jwt_req	 req;
	const char		*aud[] = { "one", "two" };
	json_t			*h, *c;
	char			*tok;

	memset(&req, 0, sizeof(req));
	req.id = "spiffe://a.test/w";
	req.aud = aud;
	req.naud = 1;
	cr_assert_eq(svid_jwt_issue(ca, &req, now, &tok, &err), 0);
	h = token_part(tok, 0);
	c = token_part(tok, 1);
	cr_assert_str_eq(json_string_value(json_object_get(h, "alg")),
	    "ES256");
	cr_assert_str_eq(json_string_value(json_object_get(h, "typ")), "JWT");
	cr_assert_str_eq(json_string_value(json_object_get(h, "kid")),
	    svid_ca_jwt_kid(ca));
	cr_assert_eq(json_object_size(h), 3);
	cr_assert_str_eq(json_string_value(json_object_get(c, "sub")),
	    "spiffe://a.test/w");
	cr_assert_str_eq(json_string_value(json_object_get(c, "aud")), "one");
	cr_assert_eq(json_integer_value(json_object_get(c, "exp")),
	    (now + SVID_JWT_TTL_DEFAULT) / 1000);
	cr_assert_eq(json_integer_value(json_object_get(c, "iat")),
	    now / 1000);
	json_decref(h);
	json_decref(c);
	free(tok);

	req.naud = 2;
	req.ttl_ms = 60 * 1000;
	req.kid = "chosen";
	cr_assert_eq(svid_jwt_issue(ca, &req, now, &tok, &err), 0);
	h = token_part(tok, 0);
	c = token_part(tok, 1);
	cr_assert_str_eq(json_string_value(json_object_get(h, "kid")),
	    "chosen");
	cr_assert_eq(json_array_size(json_object_get(c, "aud")), 2);
	cr_assert_eq(json_integer_value(json_object_get(c, "exp")),
	    (now + 60000) / 1000);
	json_decref(h);
	json_decref(c);
	free(tok);

	req.naud = 0;
	cr_assert_eq(svid_jwt_issue(ca, &req, now, &tok, &err), -1);
	svid_ca_free(ca);
}

/* ---- the development directory ----------------------------------------- */

static const struct svid_dev dev_template = {
	.trust_domain = "example.org",
	.server_id = "spiffe://example.org/nsregd",
	.client_id = "spiffe://example.org/ns/default/sa/client",
	.audience = "spiffe://example.org/nsregd",
};

/* Verify dir's files with the real verifiers. */
static void
check_dev(const char *dir, int64_t at)
{
	struct nsreg_error	 err;
	struct trust		*t = trust_new("example.org", &err);
	struct bundle		*b;
	struct svid_chain	 chain;
	struct principal	 p;
	char			 path[512], *pem, *tok;
	X509			*x;

	memset(&p, 0, sizeof(p));
	snprintf(path, sizeof(path), "%s/bundle.json", dir);
	b = bundle_load_file("example.org", path, BUNDLE_FORMAT_AUTO, &err);
	cr_assert_not_null(b, "%s", err.message);
	cr_assert_eq(trust_set(t, b, &err), 0);
	bundle_unref(b);

	snprintf(path, sizeof(path), "%s/server.pem", dir);
	pem = util_file_read(path, 1 << 20, NULL);
	cr_assert_not_null(pem);
	cr_assert_eq(svid_chain_from_pem(pem, strlen(pem), &chain, &err), 0);
	cr_assert_eq(x509svid_verify(t, chain.certs, chain.n, at,
	    X509SVID_PURPOSE_SERVER, &p, &err), 0, "%s", err.message);
	cr_assert_str_eq(p.id, "spiffe://example.org/nsregd");
	x = pem_cert(pem);
	cr_assert_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	cr_assert_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	X509_free(x);
	svid_chain_free(&chain);
	free(pem);

	snprintf(path, sizeof(path), "%s/client.pem", dir);
	pem = util_file_read(path, 1 << 20, NULL);
	cr_assert_not_null(pem);
	cr_assert_eq(svid_chain_from_pem(pem, strlen(pem), &chain, &err), 0);
	cr_assert_eq(x509svid_verify(t, chain.certs, chain.n, at,
	    X509SVID_PURPOSE_CLIENT, &p, &err), 0, "%s", err.message);
	cr_assert_str_eq(p.id, "spiffe://example.org/ns/default/sa/client");
	svid_chain_free(&chain);
	free(pem);

	snprintf(path, sizeof(path), "%s/client.jwt", dir);
	tok = util_file_read(path, 1 << 20, NULL);
	cr_assert_not_null(tok);
	cr_assert_eq(jwtsvid_verify(NULL, t, "spiffe://example.org/nsregd",
	    tok, strcspn(tok, "\n"), at, &p, &err), 0, "%s", err.message);
	cr_assert_str_eq(p.id, "spiffe://example.org/ns/default/sa/client");
	principal_clear(&p);
	free(tok);
	trust_free(t);
}

Test(svid, dev_directory_is_created_and_reused)
{
	static const char *const files[] = { "ca.pem", "bundle.pem",
	    "bundle.json", "server.pem", "server.key", "client.pem",
	    "client.key", "client.jwt" };
	struct nsreg_error	 err;
	struct svid_dev		 dev = dev_template;
	char			 dir[512], *before[8], *after;
	size_t			 i;

	snprintf(dir, sizeof(dir), "%s/var/dev", tmp);
	dev.dir = dir;
	cr_assert_eq(svid_dev_ensure(&dev, now, &err), 0, "%s", err.message);
	cr_assert_eq(mode_of("var/dev"), 0700);
	cr_assert_eq(mode_of("var/dev/ca.key"), 0600);
	cr_assert_eq(mode_of("var/dev/server.key"), 0600);
	cr_assert_eq(mode_of("var/dev/client.key"), 0600);
	cr_assert_eq(mode_of("var/dev/client.jwt"), 0600);
	check_dev(dir, now);

	/* A restart reuses everything. */
	for (i = 0; i < 8; i++) {
		char	f[64];

		snprintf(f, sizeof(f), "var/dev/%s", files[i]);
		before[i] = slurp(f);
	}
	cr_assert_eq(svid_dev_ensure(&dev, now + 1000, &err), 0);
	for (i = 0; i < 8; i++) {
		char	f[64];

		snprintf(f, sizeof(f), "var/dev/%s", files[i]);
		after = slurp(f);
		cr_assert_str_eq(after, before[i], "%s changed", files[i]);
		free(after);
	}

	/* A lost token is minted again, and nothing else changes. */
	cr_assert_eq(unlink(path_of("var/dev/client.jwt")), 0);
	cr_assert_eq(svid_dev_ensure(&dev, now + 2000, &err), 0);
	after = slurp("var/dev/server.pem");
	cr_assert_str_eq(after, before[3]);
	free(after);
	check_dev(dir, now + 2000);

	/* Another audience: a new token. */
	dev.audience = "other";
	cr_assert_eq(svid_dev_ensure(&dev, now + 3000, &err), 0);
	after = slurp("var/dev/client.jwt");
	cr_assert_str_neq(after, before[7]);
	free(after);
	for (i = 0; i < 8; i++)
		free(before[i]);
}

Test(svid, dev_directory_renews_what_expires)
{
	struct nsreg_error	 err;
	struct svid_dev		 dev = dev_template;
	char			 dir[512], *server, *client, *after;
	int64_t			 later = now + SVID_DEV_X509_TTL -
				    SVID_DEV_X509_TTL / 20;

	snprintf(dir, sizeof(dir), "%s/dev", tmp);
	dev.dir = dir;
	cr_assert_eq(svid_dev_ensure(&dev, now, &err), 0, "%s", err.message);
	server = slurp("dev/server.pem");
	client = slurp("dev/client.jwt");
	/* Close to the end of the certificates' life: both renewed. */
	cr_assert_eq(svid_dev_ensure(&dev, later, &err), 0, "%s",
	    err.message);
	after = slurp("dev/server.pem");
	cr_assert_str_neq(after, server);
	free(after);
	after = slurp("dev/client.jwt");
	cr_assert_str_neq(after, client);
	free(after);
	check_dev(dir, later);
	free(server);
	free(client);
}

Test(svid, dev_directory_of_another_trust_domain)
{
	struct nsreg_error	 err;
	struct svid_dev		 dev = dev_template;
	char			 dir[512];

	snprintf(dir, sizeof(dir), "%s/dev", tmp);
	dev.dir = dir;
	cr_assert_eq(svid_dev_ensure(&dev, now, &err), 0, "%s", err.message);
	dev.trust_domain = "other.org";
	cr_assert_eq(svid_dev_ensure(&dev, now, &err), -1);
	cr_assert_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_assert_not_null(strstr(err.message, "the CA is for trust domain "
	    "example.org, not other.org"), "%s", err.message);
}

/* ---- nsreg-svid -------------------------------------------------------- */

/* Run nsreg-svid with args (a shell word list); its exit status. */
static int
tool(const char *args)
{
	const char	*bd = getenv("NSREG_BUILDDIR");
	char		 cmd[2048];
	int		 st;

	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s/server/nsreg-svid' %s "
	    ">out 2>err", tmp, bd != NULL ? bd : ".", args);
	st = system(cmd);
	cr_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

Test(svid, tool_exit_codes)
{
	cr_assert_eq(tool(""), 2);
	cr_assert_eq(tool("frobnicate"), 2);
	cr_assert_eq(tool("--no-such-option ca"), 2);
	cr_assert_eq(tool("-d ca x509 spiffe://a.test/w"), 1);
	cr_assert_eq(tool("-d ca ca a.test"), 0);
	cr_assert_eq(tool("-d ca ca a.test"), 1);
	cr_assert_eq(tool("-d ca ca 'not a name'"), 1);
	cr_assert_eq(tool("-d ca x509"), 2);
	cr_assert_eq(tool("-d ca x509 spiffe://a.test/../x"), 1);
	cr_assert_eq(tool("-d ca x509 spiffe://a.test/w --ttl forever"), 2);
	cr_assert_eq(tool("-d ca jwt spiffe://a.test/w"), 2);
	cr_assert_eq(tool("-d ca bundle --format xml"), 2);
	cr_assert_eq(tool("-h"), 0);
}

Test(svid, tool_mints_what_verifiers_accept)
{
	struct nsreg_error	 err;
	struct trust		*t;
	struct bundle		*b;
	struct svid_chain	 chain;
	struct principal	 p;
	char			*pem, *tok;

	memset(&p, 0, sizeof(p));
	cr_assert_eq(tool("ca example.org -d ca"), 0);
	cr_assert_eq(mode_of("ca/ca.key"), 0600);
	cr_assert_eq(tool("-d ca x509 spiffe://example.org/w --dns localhost "
	    "--ip 127.0.0.1 --intermediate -o w.pem -k w.key"), 0);
	cr_assert_eq(mode_of("w.key"), 0600);
	cr_assert_eq(tool("-d ca jwt spiffe://example.org/w --aud me "
	    "--ttl 10m -o w.jwt"), 0);
	cr_assert_eq(tool("-d ca bundle --format spiffe -o b.json"), 0);
	cr_assert_eq(tool("-d ca bundle --format pem"), 0);
	pem = slurp("out");
	cr_assert_not_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	free(pem);

	t = trust_new("example.org", &err);
	b = bundle_load_file("example.org", path_of("b.json"),
	    BUNDLE_FORMAT_AUTO, &err);
	cr_assert_not_null(b, "%s", err.message);
	trust_set(t, b, &err);
	bundle_unref(b);
	pem = slurp("w.pem");
	cr_assert_eq(svid_chain_from_pem(pem, strlen(pem), &chain, &err), 0);
	cr_assert_eq(chain.n, 2);
	cr_assert_eq(x509svid_verify(t, chain.certs, chain.n, util_now_ms(),
	    X509SVID_PURPOSE_CLIENT, &p, &err), 0, "%s", err.message);
	svid_chain_free(&chain);
	free(pem);
	tok = slurp("w.jwt");
	cr_assert_eq(jwtsvid_verify(NULL, t, "me", tok, strcspn(tok, "\n"),
	    util_now_ms(), &p, &err), 0, "%s", err.message);
	cr_assert(llabs(p.expires_at - (util_now_ms() + 600000)) < 3000,
	    "exp %lld", (long long)p.expires_at);
	principal_clear(&p);
	free(tok);

	/* A test certificate that verifiers must refuse. */
	cr_assert_eq(tool("-d ca x509 spiffe://example.org/w --ca-leaf"), 0);
	pem = slurp("out");
	cr_assert_eq(svid_chain_from_pem(pem, strlen(pem), &chain, &err), 0);
	cr_assert_eq(x509svid_verify(t, chain.certs, chain.n, util_now_ms(),
	    X509SVID_PURPOSE_CLIENT, &p, &err), -1);
	cr_assert_str_eq(err.message, "x509: leaf is a CA");
	svid_chain_free(&chain);
	free(pem);
	trust_free(t);
}
