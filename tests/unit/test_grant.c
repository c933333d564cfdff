/*
 * test_grant.c - grant tokens: the grant-key file rules, ES256 tokens
 * checked by an independent verifier (OpenSSL on the raw JWS, in process
 * and with the openssl command), tampered tokens refused, key sets, and
 * the store's signing keys (rotation keeps a retired key published until
 * its last grant expires).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "grant.h"
#include "jose.h"
#include "store.h"
#include "util.h"

#define T0	1700000000000LL

static char	dir[256];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nsreg-grant-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char	cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(grant, .init = setup, .fini = teardown, .timeout = 60);

static const char *
path_of(const char *file)
{
	static char	buf[8][512];
	static int	i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, file);
	return buf[i];
}

/* Write a private key of the kind ("P-256", "P-384", "RSA") to file. */
static EVP_PKEY *
write_key(const char *file, const char *kind, int mode)
{
	EVP_PKEY	*pk;
	FILE		*f;

	pk = strcmp(kind, "RSA") == 0 ? EVP_RSA_gen(2048) : EVP_EC_gen(kind);
	cr_assert_not_null(pk);
	cr_assert_not_null(f = fopen(path_of(file), "w"));
	cr_assert(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	cr_assert_eq(chmod(path_of(file), (mode_t)mode), 0);
	return pk;
}

/* ---- the key file -------------------------------------------------------- */

Test(grant, key_file_must_be_private_p256)
{
	struct nsreg_error	 err;
	struct grant_key	*k;
	EVP_PKEY		*pk;

	pk = write_key("open.key", "P-256", 0644);
	cr_expect_null(grant_key_load(path_of("open.key"), 0, &err));
	cr_expect(strstr(err.message, "chmod 600") != NULL, "%s",
	    err.message);
	cr_assert_eq(chmod(path_of("open.key"), 0640), 0);
	cr_expect_null(grant_key_load(path_of("open.key"), 0, &err));
	cr_assert_eq(chmod(path_of("open.key"), 0604), 0);
	cr_expect_null(grant_key_load(path_of("open.key"), 0, &err));
	cr_assert_eq(chmod(path_of("open.key"), 0600), 0);
	cr_assert_not_null(k = grant_key_load(path_of("open.key"), 0, &err),
	    "%s", err.message);
	cr_expect_eq(strlen(grant_key_kid(k)), 43);
	grant_key_unref(k);
	cr_assert_eq(chmod(path_of("open.key"), 0400), 0);
	cr_assert_not_null(k = grant_key_load(path_of("open.key"), 0, &err));
	grant_key_unref(k);
	EVP_PKEY_free(pk);

	EVP_PKEY_free(write_key("p384.key", "P-384", 0600));
	cr_expect_null(grant_key_load(path_of("p384.key"), 0, &err));
	cr_expect(strstr(err.message, "P-256") != NULL, "%s", err.message);
	EVP_PKEY_free(write_key("rsa.key", "RSA", 0600));
	cr_expect_null(grant_key_load(path_of("rsa.key"), 0, &err));
	cr_expect_eq(util_file_write(path_of("junk.key"), "not a key\n", 10,
	    0600), 0);
	cr_expect_null(grant_key_load(path_of("junk.key"), 0, &err));
	cr_expect(strstr(err.message, "not a PEM private key") != NULL);
	cr_expect_null(grant_key_load(path_of("missing.key"), 0, &err));
	cr_expect_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_expect_null(grant_key_load(dir, 0, &err));
	cr_expect(strstr(err.message, "regular file") != NULL);
}

Test(grant, dev_mode_creates_a_private_key_once)
{
	struct nsreg_error	 err;
	struct grant_key	*a, *b;
	struct stat		 sb;
	char			 kid[GRANT_KID_MAX];

	cr_assert_not_null(a = grant_key_load(path_of("grant.key"), 1, &err),
	    "%s", err.message);
	cr_assert_eq(stat(path_of("grant.key"), &sb), 0);
	cr_expect_eq(sb.st_mode & 0777, 0600);
	snprintf(kid, sizeof(kid), "%s", grant_key_kid(a));
	/* Loaded again, not replaced. */
	cr_assert_not_null(b = grant_key_load(path_of("grant.key"), 1, &err));
	cr_expect_str_eq(grant_key_kid(b), kid);
	grant_key_unref(a);
	grant_key_unref(b);
}

/* ---- an independent verifier --------------------------------------------- */

/* base64url to bytes with OpenSSL's base64 decoder. */
static unsigned char *
ub64(const char *s, size_t n, size_t *outlen)
{
	char		*b = malloc(n + 4);
	unsigned char	*out = malloc(n + 4);
	size_t		 i, m = n;
	int		 len;

	for (i = 0; i < n; i++)
		b[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (m % 4 != 0)
		b[m++] = '=';
	len = EVP_DecodeBlock(out, (unsigned char *)b, (int)m);
	cr_assert_geq(len, 0);
	*outlen = (size_t)len - (m - n);
	free(b);
	return out;
}

/*
 * Check token against pk with OpenSSL alone: header and payload JSON,
 * r || s to DER, EVP_DigestVerify over "header.payload".
 */
static json_t *
independent_verify(const char *token, EVP_PKEY *pk, json_t **header)
{
	const char	*d1 = strchr(token, '.'), *d2;
	unsigned char	*h, *p, *sig, *der = NULL;
	size_t		 hl, pl, sl;
	ECDSA_SIG	*es;
	EVP_MD_CTX	*ctx;
	json_t		*claims;
	int		 derlen, ok;

	cr_assert_not_null(d1);
	cr_assert_not_null(d2 = strchr(d1 + 1, '.'));
	h = ub64(token, (size_t)(d1 - token), &hl);
	p = ub64(d1 + 1, (size_t)(d2 - d1 - 1), &pl);
	sig = ub64(d2 + 1, strlen(d2 + 1), &sl);
	cr_assert_eq(sl, 64);
	*header = json_loadb((char *)h, hl, 0, NULL);
	claims = json_loadb((char *)p, pl, 0, NULL);
	cr_assert_not_null(*header);
	cr_assert_not_null(claims);
	es = ECDSA_SIG_new();
	cr_assert(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
	    BN_bin2bn(sig + 32, 32, NULL)));
	derlen = i2d_ECDSA_SIG(es, &der);
	ctx = EVP_MD_CTX_new();
	cr_assert_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk),
	    1);
	ok = EVP_DigestVerify(ctx, der, (size_t)derlen,
	    (const unsigned char *)token, (size_t)(d2 - token));
	cr_expect_eq(ok, 1, "OpenSSL does not verify the token");
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	free(h);
	free(p);
	free(sig);
	return claims;
}

/* The RFC 7638 thumbprint of pk, computed here from its coordinates. */
static void
thumbprint(EVP_PKEY *pk, char *out, size_t len, char *xo, char *yo)
{
	BIGNUM		*x = NULL, *y = NULL;
	unsigned char	 bx[32], by[32], md[32];
	char		*ex, *ey, canon[256];
	unsigned int	 mdlen;

	cr_assert(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x));
	cr_assert(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y));
	BN_bn2binpad(x, bx, 32);
	BN_bn2binpad(y, by, 32);
	ex = jose_b64_encode(bx, 32, 1);
	ey = jose_b64_encode(by, 32, 1);
	snprintf(xo, 64, "%s", ex);
	snprintf(yo, 64, "%s", ey);
	snprintf(canon, sizeof(canon),
	    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", ex,
	    ey);
	EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL);
	free(ex);
	ex = jose_b64_encode(md, 32, 1);
	snprintf(out, len, "%s", ex);
	free(ex);
	free(ey);
	BN_free(x);
	BN_free(y);
}

static json_t *
sample_claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:s, "
	    "s:{s:s, s:s, s:s, s:s, s:s}}",
	    "iss", "spiffe://example.org/nsregd",
	    "sub", "spiffe://example.org/ns/db/sa/pg",
	    "aud", "spiffe://example.org/ns/db/sa/db-east",
	    "iat", 1700000000, "nbf", 1700000000, "exp", 1700000600,
	    "jti", "01hzzzzzzzabcdefghjkmnpqrs",
	    "nsreg", "service", "db-replication", "endpoint", "db-east",
	    "url", "tcp://10.1.0.5:5432", "address", "10.60.0.1/32",
	    "network", "10.60.0.0/16");
}

Test(grant, tokens_verify_with_openssl_alone)
{
	struct nsreg_error	 err;
	struct grant_key	*k;
	EVP_PKEY		*pk;
	json_t			*claims, *got, *hdr, *jwk;
	char			*tok, kid[64], x[64], y[64];

	pk = write_key("grant.key", "P-256", 0600);
	cr_assert_not_null(k = grant_key_load(path_of("grant.key"), 0, &err));
	thumbprint(pk, kid, sizeof(kid), x, y);
	cr_expect_str_eq(grant_key_kid(k), kid);
	jwk = grant_key_jwk(k);
	cr_expect_str_eq(json_string_value(json_object_get(jwk, "x")), x);
	cr_expect_str_eq(json_string_value(json_object_get(jwk, "y")), y);
	cr_expect_str_eq(json_string_value(json_object_get(jwk, "kid")), kid);
	cr_expect_str_eq(json_string_value(json_object_get(jwk, "alg")),
	    "ES256");
	cr_expect_str_eq(json_string_value(json_object_get(jwk, "kty")), "EC");
	cr_expect_str_eq(json_string_value(json_object_get(jwk, "crv")),
	    "P-256");
	claims = sample_claims();
	cr_assert_not_null(tok = grant_sign(k, claims, &err), "%s",
	    err.message);
	got = independent_verify(tok, pk, &hdr);
	cr_expect(json_equal(got, claims));
	cr_expect_str_eq(json_string_value(json_object_get(hdr, "alg")),
	    "ES256");
	cr_expect_str_eq(json_string_value(json_object_get(hdr, "kid")), kid);
	cr_expect_str_eq(json_string_value(json_object_get(hdr, "typ")), "JWT");
	cr_expect_eq(json_object_size(hdr), 3);
	json_decref(got);
	json_decref(hdr);
	json_decref(claims);
	json_decref(jwk);
	free(tok);
	grant_key_unref(k);
	EVP_PKEY_free(pk);
}

Test(grant, tokens_verify_with_the_openssl_command)
{
	struct nsreg_error	 err;
	struct grant_key	*k;
	EVP_PKEY		*pk;
	json_t			*claims;
	char			*tok, cmd[2048];
	const char		*d2;
	unsigned char		*sig, *der = NULL;
	size_t			 sl;
	ECDSA_SIG		*es;
	FILE			*f;
	int			 derlen;

	pk = write_key("grant.key", "P-256", 0600);
	cr_assert_not_null(k = grant_key_load(path_of("grant.key"), 0, &err));
	claims = sample_claims();
	cr_assert_not_null(tok = grant_sign(k, claims, &err));
	d2 = strrchr(tok, '.');
	cr_assert_not_null(f = fopen(path_of("input"), "w"));
	fwrite(tok, 1, (size_t)(d2 - tok), f);
	fclose(f);
	sig = ub64(d2 + 1, strlen(d2 + 1), &sl);
	es = ECDSA_SIG_new();
	ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32,
	    NULL));
	derlen = i2d_ECDSA_SIG(es, &der);
	cr_assert_not_null(f = fopen(path_of("sig.der"), "w"));
	fwrite(der, 1, (size_t)derlen, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -pubout -out %s && "
	    "openssl dgst -sha256 -verify %s -signature %s %s >/dev/null",
	    path_of("grant.key"), path_of("pub.pem"), path_of("pub.pem"),
	    path_of("sig.der"), path_of("input"));
	cr_expect_eq(system(cmd), 0, "%s", cmd);
	/* And the command does refuse a changed input. */
	cr_assert_not_null(f = fopen(path_of("input"), "a"));
	fputc('x', f);
	fclose(f);
	cr_expect_neq(system(cmd), 0);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	free(sig);
	free(tok);
	json_decref(claims);
	grant_key_unref(k);
	EVP_PKEY_free(pk);
}

/* ---- verification and tampering ------------------------------------------ */

/* A key set of k's public JWK. */
static struct grant_keyset *
keyset_of(struct grant_key *k)
{
	struct nsreg_error	 err;
	struct grant_keyset	*ks;
	json_t			*a = json_pack("[o]", grant_key_jwk(k));

	cr_assert_not_null(ks = grant_keyset_new(a, &err), "%s", err.message);
	json_decref(a);
	return ks;
}

/* Sign header.payload (both JSON texts) with pk, as an attacker may. */
static char *
forge(EVP_PKEY *pk, const char *header, const char *payload)
{
	EVP_MD_CTX		*ctx = EVP_MD_CTX_new();
	ECDSA_SIG		*es;
	const BIGNUM		*r, *s;
	const unsigned char	*p;
	unsigned char		 der[128], raw[64];
	size_t			 dl = sizeof(der);
	char			*h, *c, *sg, *out;
	size_t			 n;

	h = jose_b64_encode((unsigned char *)header, strlen(header), 1);
	c = jose_b64_encode((unsigned char *)payload, strlen(payload), 1);
	n = strlen(h) + strlen(c) + 100;
	out = malloc(n);
	snprintf(out, n, "%s.%s", h, c);
	cr_assert_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
	cr_assert_eq(EVP_DigestSign(ctx, der, &dl, (unsigned char *)out,
	    strlen(out)), 1);
	p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, raw, 32);
	BN_bn2binpad(s, raw + 32, 32);
	sg = jose_b64_encode(raw, 64, 1);
	snprintf(out + strlen(out), n - strlen(out), ".%s", sg);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	free(h);
	free(c);
	free(sg);
	return out;
}

static void
refused(const struct grant_keyset *ks, const char *tok, const char *why)
{
	json_t	*c;
	char	 reason[128], kid[GRANT_KID_MAX];

	c = grant_verify(ks, tok, kid, reason, sizeof(reason));
	cr_expect_null(c, "accepted: %s", tok);
	json_decref(c);
	cr_expect_str_eq(kid, "");
	if (why != NULL)
		cr_expect(strstr(reason, why) != NULL, "%s: want \"%s\", got "
		    "\"%s\"", tok, why, reason);
}

Test(grant, tampered_tokens_are_refused)
{
	struct nsreg_error	 err;
	struct grant_key	*k, *other;
	struct grant_keyset	*ks;
	EVP_PKEY		*pk, *opk;
	json_t			*claims, *c;
	char			*tok, *t2, *d1, *d2, hdr[256], reason[128];
	char			 kid[GRANT_KID_MAX];
	size_t			 n;

	pk = write_key("grant.key", "P-256", 0600);
	opk = write_key("other.key", "P-256", 0600);
	cr_assert_not_null(k = grant_key_load(path_of("grant.key"), 0, &err));
	cr_assert_not_null(other = grant_key_load(path_of("other.key"), 0,
	    &err));
	ks = keyset_of(k);
	claims = sample_claims();
	tok = grant_sign(k, claims, &err);
	c = grant_verify(ks, tok, kid, reason, sizeof(reason));
	cr_assert_not_null(c, "%s", reason);
	cr_expect(json_equal(c, claims));
	cr_expect_str_eq(kid, grant_key_kid(k));
	json_decref(c);
	n = strlen(tok);
	t2 = malloc(n + 2);

	/* One character of the payload changed. */
	snprintf(t2, n + 2, "%s", tok);
	d1 = strchr(t2, '.');
	d1[5] = d1[5] == 'A' ? 'B' : 'A';
	refused(ks, t2, "bad signature");
	/* One character of the signature changed. */
	snprintf(t2, n + 2, "%s", tok);
	t2[n - 10] = t2[n - 10] == 'A' ? 'B' : 'A';
	refused(ks, t2, "bad signature");
	/* The last character's unused bits set: same bytes, not canonical. */
	snprintf(t2, n + 2, "%s", tok);
	t2[n - 1] = t2[n - 1] == 'A' ? 'B' : t2[n - 1] ^ 1;
	refused(ks, t2, NULL);
	/* Padding, parts, sizes. */
	snprintf(t2, n + 2, "%s=", tok);
	refused(ks, t2, "base64url");
	snprintf(t2, n + 2, "%s", tok);
	d2 = strrchr(t2, '.');
	*d2 = '\0';
	refused(ks, t2, "three parts");
	refused(ks, "a.b.c.d", "three parts");
	refused(ks, "", "no token");
	refused(ks, "..", NULL);
	refused(ks, "e30.e30.", "alg");
	/* Signed by a key nobody published. */
	free(t2);
	t2 = grant_sign(other, claims, &err);
	refused(ks, t2, "unknown kid");
	free(t2);
	/* Algorithm games, each validly signed with the real key. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"none\",\"kid\":\"%s\"}",
	    grant_key_kid(k));
	t2 = forge(pk, hdr, "{\"sub\":\"x\"}");
	refused(ks, t2, "alg");
	free(t2);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\"}",
	    grant_key_kid(k));
	t2 = forge(pk, hdr, "{\"sub\":\"x\"}");
	refused(ks, t2, "alg");
	free(t2);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\","
	    "\"crit\":[\"exp\"]}", grant_key_kid(k));
	t2 = forge(pk, hdr, "{\"sub\":\"x\"}");
	refused(ks, t2, "crit");
	free(t2);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\","
	    "\"typ\":\"at+jwt\"}", grant_key_kid(k));
	t2 = forge(pk, hdr, "{\"sub\":\"x\"}");
	refused(ks, t2, "typ");
	free(t2);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}",
	    grant_key_kid(k));
	t2 = forge(pk, hdr, "[1,2]");
	refused(ks, t2, "claims");
	free(t2);
	t2 = forge(pk, hdr, "{\"sub\":\"a\",\"sub\":\"b\"}");
	refused(ks, t2, "claims");
	free(t2);
	t2 = forge(pk, "{\"alg\":\"ES256\"}", "{\"sub\":\"x\"}");
	refused(ks, t2, "no kid");
	free(t2);
	/* The same forgery with a proper header verifies: the test is fair. */
	t2 = forge(pk, hdr, "{\"sub\":\"x\"}");
	c = grant_verify(ks, t2, NULL, reason, sizeof(reason));
	cr_expect_not_null(c, "%s", reason);
	json_decref(c);
	free(t2);
	/* Another key's signature under this kid. */
	t2 = forge(opk, hdr, "{\"sub\":\"x\"}");
	refused(ks, t2, "bad signature");
	free(t2);
	/* No key set at all. */
	refused(NULL, tok, "unknown kid");

	free(tok);
	json_decref(claims);
	grant_keyset_unref(ks);
	grant_key_unref(k);
	grant_key_unref(other);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(opk);
}

Test(grant, key_sets_take_ec_p256_jwks_only)
{
	struct nsreg_error	 err;
	struct grant_keyset	*ks;
	json_t			*a;

	a = json_pack("[{s:s, s:s, s:s}]", "kty", "RSA", "kid", "r", "n", "x");
	cr_expect_null(grant_keyset_new(a, &err));
	json_decref(a);
	a = json_pack("[{s:s, s:s, s:s, s:s}]", "kty", "EC", "crv", "P-256",
	    "x", "AAAA", "y", "AAAA");
	cr_expect_null(grant_keyset_new(a, &err));
	json_decref(a);
	a = json_pack("{}");
	cr_expect_null(grant_keyset_new(a, &err));
	json_decref(a);
	a = json_array();
	ks = grant_keyset_new(a, &err);
	cr_expect_eq(grant_keyset_size(ks), 0);
	grant_keyset_unref(ks);
	json_decref(a);
}

/* ---- the store's signing keys -------------------------------------------- */

Test(grant, a_retired_key_is_published_until_its_last_grant_expires)
{
	struct store_options	 opt;
	struct store_object	 o, svc, ep;
	struct store_grant	 sg;
	struct nsreg_error	 err;
	struct store		*st;
	json_t			*keys;
	char			 url[300];
	int			 created;

	snprintf(url, sizeof(url), "sqlite:%s/nsreg.db", dir);
	memset(&opt, 0, sizeof(opt));
	opt.url = url;
	cr_assert_not_null(st = store_open(&opt, &err), "%s", err.message);
	cr_assert_eq(store_grant_key_use(st, "A", "{\"kid\":\"A\"}", T0,
	    &err), 0);
	memset(&svc, 0, sizeof(svc));
	svc.kind = STORE_SERVICE;
	svc.name = strdup("db");
	svc.doc = json_object();
	cr_assert_eq(store_put(st, &svc, 0, NULL, NULL, T0, &created, &err),
	    0);
	memset(&ep, 0, sizeof(ep));
	ep.kind = STORE_ENDPOINT;
	ep.name = strdup("db-1");
	ep.doc = json_pack("{s:[s]}", "network_service_names", "db");
	cr_assert_eq(store_put(st, &ep, 0, NULL, NULL, T0, &created, &err),
	    0);
	memset(&o, 0, sizeof(o));
	o.kind = STORE_GRANT;
	o.name = strdup("g1");
	o.owner = strdup("spiffe://example.org/a");
	o.expires_at = T0 + 600000;
	o.doc = json_object();
	memset(&sg, 0, sizeof(sg));
	sg.service = "db";
	sg.service_rev = svc.revision;
	sg.endpoint = "db-1";
	sg.endpoint_rev = ep.revision;
	sg.kid = "A";
	cr_assert_eq(store_grant_create(st, &o, &sg, T0, &err), 0, "%s",
	    err.message);
	cr_expect_eq(sg.block, -1);
	store_object_clear(&o);
	/* B takes over at T0 + 1000: A stays until g1 expires. */
	cr_assert_eq(store_grant_key_use(st, "B", "{\"kid\":\"B\"}",
	    T0 + 1000, &err), 0);
	cr_assert_eq(store_grant_keys(st, T0 + 1000, &keys, &err), 0);
	cr_assert_eq(json_array_size(keys), 2);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(keys,
	    0), "kid")), "B");
	cr_expect(json_is_null(json_object_get(json_array_get(keys, 0),
	    "retired_at")));
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(keys,
	    1), "kid")), "A");
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(keys,
	    1), "expires_at")), T0 + 600000);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(
	    json_array_get(keys, 1), "jwk"), "kid")), "A");
	json_decref(keys);
	/* Once g1 has expired, only B. */
	cr_assert_eq(store_grant_keys(st, T0 + 600000, &keys, &err), 0);
	cr_expect_eq(json_array_size(keys), 1);
	json_decref(keys);
	cr_assert_geq(store_prune(st, T0 + 600001, &err), 0);
	/* No key at all: B is retired at once (it signed nothing). */
	cr_assert_eq(store_grant_key_use(st, NULL, NULL, T0 + 700000, &err),
	    0);
	cr_assert_eq(store_grant_keys(st, T0 + 700000, &keys, &err), 0);
	cr_expect_eq(json_array_size(keys), 0);
	json_decref(keys);
	/* A coming back is current again. */
	cr_assert_eq(store_grant_key_use(st, "A", "{\"kid\":\"A\"}",
	    T0 + 800000, &err), 0);
	cr_assert_eq(store_grant_keys(st, T0 + 800000, &keys, &err), 0);
	cr_expect_eq(json_array_size(keys), 1);
	cr_expect(json_is_null(json_object_get(json_array_get(keys, 0),
	    "retired_at")));
	json_decref(keys);
	store_object_clear(&svc);
	store_object_clear(&ep);
	store_close(st);
}
