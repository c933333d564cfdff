/*
 * test_bundle.c - SPIFFE bundles (bundle.h) driven by
 * tests/spiffe/bundles/cases.txt, base64 (RFC 4648 vectors), rendering,
 * and the trust set (trust.h) including concurrent use.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "bundle.h"
#include "identity_int.h"
#include "svid.h"
#include "trust.h"
#include "util.h"

#define DOC_MAX		(64 * 1024)

struct bundle_case {
	char	 file[64];
	char	 format[8];
	char	 result[256];	/* "ok ..." or "error TEXT" */
	char	*doc;		/* the file, markers replaced */
	size_t	 len;
};

struct marker {
	const char	*name;
	char		*value;
};

static const char *
srcdir(void)
{
	const char	*dir = getenv("NSREG_SRCDIR");

	return dir != NULL ? dir : ".";
}

/* A JWK member of a new key, as a new string. */
static char *
jwk_member(const struct svid_key *k, const char *name)
{
	json_t	*jwk = svid_key_jwk(k, NULL, NULL);
	char	*v;

	cr_assert_not_null(jwk);
	v = strdup(json_string_value(json_object_get(jwk, name)));
	json_decref(jwk);
	return v;
}

/* Markers of the CA: x5c, x, y, PEM. */
static void
ca_markers(struct svid_ca *ca, char **x5c, char **x, char **y, char **pem)
{
	json_t	*doc = svid_ca_bundle_json(ca, -1, -1), *k;

	cr_assert_not_null(doc);
	k = json_array_get(json_object_get(doc, "keys"), 0);
	*x5c = strdup(json_string_value(json_array_get(
	    json_object_get(k, "x5c"), 0)));
	if (x != NULL)
		*x = strdup(json_string_value(json_object_get(k, "x")));
	if (y != NULL)
		*y = strdup(json_string_value(json_object_get(k, "y")));
	*pem = svid_ca_bundle_pem(ca);
	json_decref(doc);
}

/* Replace every marker of src into dst (at most max bytes). */
static size_t
substitute(const char *src, const struct marker *m, size_t nm, char *dst,
    size_t max)
{
	size_t	n = 0, i, l;

	while (*src != '\0') {
		for (i = 0; i < nm; i++) {
			l = strlen(m[i].name);
			if (strncmp(src, m[i].name, l) == 0)
				break;
		}
		if (i < nm) {
			l = strlen(m[i].value);
			cr_assert_lt(n + l, max);
			memcpy(dst + n, m[i].value, l);
			n += l;
			src += strlen(m[i].name);
		} else {
			cr_assert_lt(n + 1, max);
			dst[n++] = *src++;
		}
	}
	dst[n] = '\0';
	return n;
}

static void
free_cases(struct criterion_test_params *crp)
{
	struct bundle_case	*c = crp->params;
	size_t			 i;

	for (i = 0; i < crp->length; i++)
		cr_free(c[i].doc);
	cr_free(crp->params);
}

ParameterizedTestParameters(bundle, cases)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca, *ca2;
	struct svid_key		*ec, *ec384, *rsa, *rsa1024;
	struct marker		 m[16];
	struct bundle_case	*cases;
	char			 path[4096], line[1024], *raw, *buf;
	FILE			*fp;
	size_t			 n = 0, i, nm = 0;
	int64_t			 now = util_now_ms();

	ca = svid_ca_generate("bundle.test", now, 0, &err);
	ca2 = svid_ca_generate("bundle.test", now, 0, &err);
	ec = svid_key_generate(SVID_KEY_EC_P256, &err);
	ec384 = svid_key_generate(SVID_KEY_EC_P384, &err);
	rsa = svid_key_generate(SVID_KEY_RSA_2048, &err);
	rsa1024 = svid_key_generate(SVID_KEY_RSA_1024, &err);
	cr_assert(ca && ca2 && ec && ec384 && rsa && rsa1024);

	m[nm].name = "@CA_X5C@";
	ca_markers(ca, &m[nm].value, &m[nm + 1].value, &m[nm + 2].value,
	    &m[nm + 3].value);
	m[nm + 1].name = "@CA_X@";
	m[nm + 2].name = "@CA_Y@";
	m[nm + 3].name = "@CA_PEM@";
	nm += 4;
	m[nm].name = "@CA2_X5C@";
	m[nm + 1].name = "@CA2_PEM@";
	ca_markers(ca2, &m[nm].value, NULL, NULL, &m[nm + 1].value);
	nm += 2;
	m[nm].name = "@EC_X@";
	m[nm++].value = jwk_member(ec, "x");
	m[nm].name = "@EC_Y@";
	m[nm++].value = jwk_member(ec, "y");
	m[nm].name = "@EC384_X@";
	m[nm++].value = jwk_member(ec384, "x");
	m[nm].name = "@EC384_Y@";
	m[nm++].value = jwk_member(ec384, "y");
	m[nm].name = "@RSA_N@";
	m[nm++].value = jwk_member(rsa, "n");
	m[nm].name = "@RSA_E@";
	m[nm++].value = jwk_member(rsa, "e");
	m[nm].name = "@RSA1024_N@";
	m[nm++].value = jwk_member(rsa1024, "n");

	cases = cr_malloc(128 * sizeof(*cases));
	buf = malloc(DOC_MAX);
	snprintf(path, sizeof(path), "%s/tests/spiffe/bundles/cases.txt",
	    srcdir());
	fp = fopen(path, "r");
	cr_assert_not_null(fp, "%s", path);
	while (fgets(line, sizeof(line), fp) != NULL && n < 128) {
		struct bundle_case	*c = &cases[n];
		char			*file, *fmt, *rest, *save;

		line[strcspn(line, "\n")] = '\0';
		file = strtok_r(line, " \t", &save);
		if (file == NULL || file[0] == '#')
			continue;
		fmt = strtok_r(NULL, " \t", &save);
		rest = save;
		while (rest != NULL && (*rest == ' ' || *rest == '\t'))
			rest++;
		memset(c, 0, sizeof(*c));
		snprintf(c->file, sizeof(c->file), "%s", file);
		snprintf(c->format, sizeof(c->format), "%s",
		    fmt != NULL ? fmt : "?");
		snprintf(c->result, sizeof(c->result), "%s",
		    rest != NULL ? rest : "?");
		snprintf(path, sizeof(path), "%s/tests/spiffe/bundles/%s",
		    srcdir(), file);
		raw = util_file_read(path, DOC_MAX / 2, NULL);
		if (raw == NULL) {
			snprintf(c->result, sizeof(c->result),
			    "missing file");
			raw = strdup("");
		}
		c->len = substitute(raw, m, nm, buf, DOC_MAX);
		c->doc = cr_malloc(c->len + 1);
		memcpy(c->doc, buf, c->len + 1);
		free(raw);
		n++;
	}
	fclose(fp);
	free(buf);
	for (i = 0; i < nm; i++)
		free(m[i].value);
	svid_ca_free(ca);
	svid_ca_free(ca2);
	svid_key_free(ec);
	svid_key_free(ec384);
	svid_key_free(rsa);
	svid_key_free(rsa1024);
	return cr_make_param_array(struct bundle_case, cases, n, free_cases);
}

/* "name=N" among the words of s; -1 when absent. */
static long long
expect_num(const char *s, const char *name)
{
	char		 key[32];
	const char	*p;

	snprintf(key, sizeof(key), "%s=", name);
	if ((p = strstr(s, key)) == NULL)
		return -1;
	return strtoll(p + strlen(key), NULL, 10);
}

ParameterizedTest(struct bundle_case *c, bundle, cases)
{
	struct nsreg_error	 err;
	struct bundle		*b;
	enum bundle_format	 fmt;
	int64_t			 v;
	long long		 want;

	fmt = strcmp(c->format, "spiffe") == 0 ? BUNDLE_FORMAT_SPIFFE :
	    strcmp(c->format, "pem") == 0 ? BUNDLE_FORMAT_PEM :
	    BUNDLE_FORMAT_AUTO;
	cr_assert(strncmp(c->result, "ok", 2) == 0 ||
	    strncmp(c->result, "error ", 6) == 0, "%s: result %s", c->file,
	    c->result);
	nsreg_error_clear(&err);
	b = bundle_parse("Bundle.Test", c->doc, c->len, fmt, &err);
	if (strncmp(c->result, "error ", 6) == 0) {
		cr_assert_null(b, "%s: accepted, want %s", c->file,
		    c->result + 6);
		cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT, "%s", c->file);
		cr_assert_not_null(strstr(err.message, c->result + 6),
		    "%s: got \"%s\", want \"%s\"", c->file, err.message,
		    c->result + 6);
		return;
	}
	cr_assert_not_null(b, "%s: %s", c->file, err.message);
	cr_assert_str_eq(bundle_trust_domain(b), "bundle.test");
	cr_assert_eq((long long)bundle_x509_count(b),
	    expect_num(c->result, "x509"), "%s: x509 %zu", c->file,
	    bundle_x509_count(b));
	cr_assert_eq((long long)bundle_jwt_count(b),
	    expect_num(c->result, "jwt"), "%s: jwt %zu", c->file,
	    bundle_jwt_count(b));
	cr_assert_eq((long long)bundle_ignored_count(b),
	    expect_num(c->result, "ignored"), "%s: ignored %zu", c->file,
	    bundle_ignored_count(b));
	want = expect_num(c->result, "seq");
	cr_assert_eq(bundle_sequence(b, &v), want >= 0, "%s", c->file);
	if (want >= 0)
		cr_assert_eq(v, want, "%s", c->file);
	want = expect_num(c->result, "hint");
	cr_assert_eq(bundle_refresh_hint(b, &v), want >= 0, "%s", c->file);
	if (want >= 0)
		cr_assert_eq(v, want, "%s", c->file);
	bundle_unref(b);
}

/* ---- rendering --------------------------------------------------------- */

static struct svid_ca *
new_ca(const char *td)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca;

	ca = svid_ca_generate(td, util_now_ms(), 0, &err);
	cr_assert_not_null(ca, "%s", err.message);
	return ca;
}

Test(bundle, renders_what_it_parsed)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca = new_ca("render.test");
	json_t			*orig, *out;
	struct bundle		*b, *b2;
	char			*text;
	int64_t			 v;

	orig = svid_ca_bundle_json(ca, 42, 600);
	b = bundle_from_json("render.test", orig, &err);
	cr_assert_not_null(b, "%s", err.message);
	out = bundle_to_json(b);
	cr_assert_not_null(out);
	/* Same keys (member order aside), same sequence and hint. */
	cr_assert(json_equal(json_object_get(orig, "keys"),
	    json_object_get(out, "keys")));
	cr_assert_eq(json_integer_value(json_object_get(out,
	    "spiffe_sequence")), 42);
	cr_assert_eq(json_integer_value(json_object_get(out,
	    "spiffe_refresh_hint")), 600);
	/* And it parses again to the same bundle. */
	text = json_dumps(out, 0);
	b2 = bundle_parse("render.test", text, strlen(text),
	    BUNDLE_FORMAT_SPIFFE, &err);
	cr_assert_not_null(b2, "%s", err.message);
	cr_assert_eq(bundle_x509_count(b2), 1);
	cr_assert_eq(bundle_jwt_count(b2), 1);
	cr_assert(bundle_has_kid(b2, svid_ca_jwt_kid(ca)));
	cr_assert(bundle_sequence(b2, &v) && v == 42);
	free(text);
	json_decref(orig);
	json_decref(out);
	bundle_unref(b);
	bundle_unref(b2);
	svid_ca_free(ca);
}

Test(bundle, renders_pem_roots)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca = new_ca("pem.test");
	char			*pem = svid_ca_bundle_pem(ca), *out;
	struct bundle		*b;
	json_t			*doc, *key;
	size_t			 len;

	b = bundle_parse("pem.test", pem, strlen(pem), BUNDLE_FORMAT_AUTO,
	    &err);
	cr_assert_not_null(b, "%s", err.message);
	out = bundle_to_pem(b, &len);
	cr_assert_str_eq(out, pem);
	cr_assert_eq(len, strlen(pem));
	/* A PEM bundle has no sequence or hint until the server sets them. */
	doc = bundle_to_json(b);
	cr_assert_null(json_object_get(doc, "spiffe_sequence"));
	key = json_array_get(json_object_get(doc, "keys"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(key, "use")),
	    "x509-svid");
	cr_assert_str_eq(json_string_value(json_object_get(key, "kty")),
	    "EC");
	cr_assert_str_eq(json_string_value(json_object_get(key, "crv")),
	    "P-256");
	cr_assert_null(json_object_get(key, "kid"));
	json_decref(doc);
	bundle_set_sequence(b, 3);
	bundle_set_refresh_hint(b, 300);
	doc = bundle_to_json(b);
	cr_assert_eq(json_integer_value(json_object_get(doc,
	    "spiffe_sequence")), 3);
	cr_assert_eq(json_integer_value(json_object_get(doc,
	    "spiffe_refresh_hint")), 300);
	json_decref(doc);
	bundle_set_sequence(b, -1);
	cr_assert_eq(bundle_sequence(b, NULL), 0);
	free(out);
	free(pem);
	bundle_unref(b);
	svid_ca_free(ca);
}

Test(bundle, rsa_keys_render_n_and_e)
{
	struct nsreg_error	 err;
	struct svid_key		*k = svid_key_generate(SVID_KEY_RSA_2048, &err);
	json_t			*doc, *jwk, *out;
	struct bundle		*b;

	cr_assert_not_null(k);
	jwk = svid_key_jwk(k, "jwt-svid", "r1");
	doc = json_pack("{s:[o]}", "keys", jwk);
	b = bundle_from_json("rsa.test", doc, &err);
	cr_assert_not_null(b, "%s", err.message);
	out = bundle_to_json(b);
	cr_assert(json_equal(json_object_get(doc, "keys"),
	    json_object_get(out, "keys")));
	json_decref(out);
	json_decref(doc);
	bundle_unref(b);
	svid_key_free(k);
}

/* A self-signed root with key pk, as PEM (test only). */
static char *
self_signed_pem(EVP_PKEY *pk, const EVP_MD *md)
{
	X509		*x = X509_new();
	X509_NAME	*name = X509_NAME_new();
	BIO		*bio = BIO_new(BIO_s_mem());
	char		*mem, *out;
	long		 len;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"root", -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	cr_assert_gt(X509_sign(x, pk, md), 0);
	PEM_write_bio_X509(bio, x);
	len = BIO_get_mem_data(bio, &mem);
	out = strndup(mem, (size_t)len);
	BIO_free(bio);
	X509_NAME_free(name);
	X509_free(x);
	return out;
}

/* PEM roots of every key type a JWK can carry render; others refused. */
Test(bundle, pem_roots_of_other_key_types)
{
	struct nsreg_error	 err;
	EVP_PKEY		*rsa = EVP_RSA_gen(2048);
	EVP_PKEY		*ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY		*k1 = EVP_EC_gen("secp256k1");
	char			*pem;
	struct bundle		*b;
	json_t			*doc, *key;

	cr_assert(rsa != NULL && ed != NULL && k1 != NULL);
	pem = self_signed_pem(rsa, EVP_sha256());
	b = bundle_parse("a.test", pem, strlen(pem), BUNDLE_FORMAT_PEM, &err);
	cr_assert_not_null(b, "%s", err.message);
	doc = bundle_to_json(b);
	key = json_array_get(json_object_get(doc, "keys"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(key, "kty")),
	    "RSA");
	cr_assert_str_eq(json_string_value(json_object_get(key, "e")),
	    "AQAB");
	json_decref(doc);
	bundle_unref(b);
	free(pem);

	pem = self_signed_pem(ed, NULL);
	b = bundle_parse("a.test", pem, strlen(pem), BUNDLE_FORMAT_PEM, &err);
	cr_assert_not_null(b, "%s", err.message);
	doc = bundle_to_json(b);
	key = json_array_get(json_object_get(doc, "keys"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(key, "kty")),
	    "OKP");
	cr_assert_str_eq(json_string_value(json_object_get(key, "crv")),
	    "Ed25519");
	cr_assert_eq(strlen(json_string_value(json_object_get(key, "x"))),
	    43);
	json_decref(doc);
	bundle_unref(b);
	free(pem);

	pem = self_signed_pem(k1, EVP_sha256());
	cr_assert_null(bundle_parse("a.test", pem, strlen(pem),
	    BUNDLE_FORMAT_PEM, &err));
	cr_assert_str_eq(err.message, "bundle: certificate 1: a key type a "
	    "SPIFFE bundle cannot carry");
	free(pem);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(k1);
}

/* ---- details ----------------------------------------------------------- */

Test(bundle, refuses_a_bad_trust_domain_name)
{
	struct nsreg_error	 err;

	cr_assert_null(bundle_parse("bad name", "{\"keys\":[]}", 11,
	    BUNDLE_FORMAT_SPIFFE, &err));
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_assert_str_eq(err.message, "bundle: invalid trust domain name: "
	    "trust domain has a character outside [a-z0-9._-]");
	cr_assert_null(bundle_parse(NULL, "{\"keys\":[]}", 11,
	    BUNDLE_FORMAT_SPIFFE, &err));
}

Test(bundle, refuses_documents_over_the_limit)
{
	struct nsreg_error	 err;

	cr_assert_null(bundle_parse("a.test", "{}", BUNDLE_DOC_MAX + 1,
	    BUNDLE_FORMAT_SPIFFE, &err));
	cr_assert_str_eq(err.message, "bundle: larger than 4194304 bytes");
}

Test(bundle, load_file_names_the_file)
{
	struct nsreg_error	 err;

	cr_assert_null(bundle_load_file("a.test", "/nonexistent/b.json",
	    BUNDLE_FORMAT_AUTO, &err));
	cr_assert_eq(err.code, NSREG_NOT_FOUND);
	cr_assert_not_null(strstr(err.message, "/nonexistent/b.json"));
}

Test(bundle, load_file_reads_a_bundle)
{
	struct nsreg_error	 err;
	struct bundle		*b;
	char			 path[4096];

	snprintf(path, sizeof(path), "%s/tests/spiffe/bundles/truncated.json",
	    srcdir());
	b = bundle_load_file("a.test", path, BUNDLE_FORMAT_AUTO, &err);
	cr_assert_null(b);
	cr_assert_not_null(strstr(err.message, "truncated.json: bundle: "
	    "not JSON"), "%s", err.message);
	snprintf(path, sizeof(path), "%s/tests/spiffe/bundles/empty-keys.json",
	    srcdir());
	b = bundle_load_file("a.test", path, BUNDLE_FORMAT_AUTO, &err);
	cr_assert_not_null(b, "%s", err.message);
	bundle_unref(b);
}

Test(bundle, serials_are_unique_and_references_counted)
{
	struct nsreg_error	 err;
	struct bundle		*a, *b;

	a = bundle_parse("a.test", "{\"keys\":[]}", 11, BUNDLE_FORMAT_AUTO,
	    &err);
	b = bundle_parse("a.test", "{\"keys\":[]}", 11, BUNDLE_FORMAT_AUTO,
	    &err);
	cr_assert(a != NULL && b != NULL);
	cr_assert_neq(bundle_serial(a), bundle_serial(b));
	cr_assert_neq(bundle_serial(a), 0);
	cr_assert_eq(bundle_ref(a), a);
	bundle_unref(a);
	cr_assert_str_eq(bundle_trust_domain(a), "a.test");
	bundle_unref(a);
	bundle_unref(b);
	bundle_unref(NULL);
}

/* ---- the trust set ----------------------------------------------------- */

static struct bundle *
empty_bundle(const char *td)
{
	struct nsreg_error	 err;
	struct bundle		*b;

	b = bundle_parse(td, "{\"keys\":[]}", 11, BUNDLE_FORMAT_SPIFFE, &err);
	cr_assert_not_null(b, "%s", err.message);
	return b;
}

struct names {
	char	buf[256];
	size_t	len;
};

static int
collect(struct bundle *b, void *arg)
{
	struct names	*n = arg;

	n->len += (size_t)snprintf(n->buf + n->len, sizeof(n->buf) - n->len,
	    "%s ", bundle_trust_domain(b));
	return 0;
}

static int
stop_at_second(struct bundle *b, void *arg)
{
	int	*n = arg;

	(void)b;
	return ++*n == 2 ? 7 : 0;
}

Test(trust, sets_gets_replaces_removes)
{
	struct nsreg_error	 err;
	struct trust		*t;
	struct bundle		*a, *a2, *b, *l, *got;
	struct names		 names = { "", 0 };
	int			 n = 0;

	t = trust_new("Local.Test", &err);
	cr_assert_not_null(t, "%s", err.message);
	cr_assert_str_eq(trust_local_domain(t), "local.test");
	cr_assert(trust_is_local(t, "LOCAL.test"));
	cr_assert_not(trust_is_local(t, "a.test"));
	cr_assert_null(trust_get_local(t));

	a = empty_bundle("a.test");
	b = empty_bundle("b.test");
	l = empty_bundle("local.test");
	cr_assert_eq(trust_set(t, b, &err), 0);
	cr_assert_eq(trust_set(t, a, &err), 0);
	cr_assert_eq(trust_set(t, l, &err), 0);
	cr_assert_eq(trust_count(t), 3);

	got = trust_get(t, "A.TEST");
	cr_assert_eq(got, a);
	bundle_unref(got);
	got = trust_get_local(t);
	cr_assert_eq(got, l);
	bundle_unref(got);
	cr_assert_null(trust_get(t, "c.test"));
	cr_assert_null(trust_get(t, "not a name"));
	cr_assert_eq(trust_serial(t, "a.test"), bundle_serial(a));
	cr_assert_eq(trust_serial(t, "c.test"), 0);

	/* Replacing: readers holding the old bundle keep it. */
	got = trust_get(t, "a.test");
	a2 = empty_bundle("a.test");
	cr_assert_eq(trust_set(t, a2, &err), 0);
	cr_assert_eq(trust_count(t), 3);
	cr_assert_eq(trust_serial(t, "a.test"), bundle_serial(a2));
	cr_assert_str_eq(bundle_trust_domain(got), "a.test");
	bundle_unref(got);

	cr_assert_eq(trust_foreach(t, collect, &names), 0);
	cr_assert_str_eq(names.buf, "a.test b.test local.test ");
	cr_assert_eq(trust_foreach(t, stop_at_second, &n), 7);

	cr_assert_eq(trust_remove(t, "local.test", &err), -1);
	cr_assert_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_assert_eq(trust_remove(t, "c.test", &err), -1);
	cr_assert_eq(err.code, NSREG_NOT_FOUND);
	cr_assert_eq(trust_remove(t, "B.test", &err), 0);
	cr_assert_null(trust_get(t, "b.test"));
	cr_assert_eq(trust_count(t), 2);

	bundle_unref(a);
	bundle_unref(a2);
	bundle_unref(b);
	bundle_unref(l);
	trust_free(t);
}

Test(trust, refuses_a_bad_local_name)
{
	struct nsreg_error	err;

	cr_assert_null(trust_new("spiffe://x", &err));
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_assert_null(trust_new(NULL, &err));
}

struct reader {
	struct trust	*t;
	int		 bad;
};

static void *
reader_run(void *arg)
{
	struct reader	*r = arg;
	struct bundle	*b;
	int		 i;

	for (i = 0; i < 20000; i++) {
		b = trust_get(r->t, i % 2 ? "a.test" : "b.test");
		if (b == NULL || strcmp(bundle_trust_domain(b),
		    i % 2 ? "a.test" : "b.test") != 0)
			r->bad++;
		bundle_unref(b);
		(void)trust_serial(r->t, "a.test");
	}
	return NULL;
}

/* Lookups stay consistent while another thread replaces bundles (ASan
 * and the sanitizer build catch use-after-free here). */
Test(trust, lookups_survive_concurrent_replacement)
{
	struct nsreg_error	 err;
	struct trust		*t = trust_new("a.test", &err);
	struct reader		 r[4];
	pthread_t		 th[4];
	struct bundle		*b;
	int			 i;

	b = empty_bundle("a.test");
	trust_set(t, b, &err);
	bundle_unref(b);
	b = empty_bundle("b.test");
	trust_set(t, b, &err);
	bundle_unref(b);
	for (i = 0; i < 4; i++) {
		r[i].t = t;
		r[i].bad = 0;
		pthread_create(&th[i], NULL, reader_run, &r[i]);
	}
	for (i = 0; i < 2000; i++) {
		b = empty_bundle(i % 2 ? "a.test" : "b.test");
		cr_assert_eq(trust_set(t, b, &err), 0);
		bundle_unref(b);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(r[i].bad, 0);
	}
	trust_free(t);
}
