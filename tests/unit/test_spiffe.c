/*
 * test_spiffe.c - SPIFFE IDs and trust domain names, driven by the table
 * tests/spiffe/ids.txt (one Criterion case per line).  The same table
 * drives every place a SPIFFE ID comes in: the configuration (admin,
 * server-id, metrics-reader) and the sub of a JWT-SVID, so that they all
 * accept, refuse and canonicalise alike.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "jwtsvid.h"
#include "principal.h"
#include "spiffe.h"
#include "svid.h"
#include "trust.h"
#include "util.h"

#define CASE_MAX	4096	/* bytes of an expanded field */

struct id_case {
	int		 line;
	int		 is_td;
	char		 expect[32];
	char		*input;
	size_t		 input_len;
	char		*normal;	/* NULL: same as input */
	size_t		 normal_len;
	char		 text[128];	/* the line, for messages */
};

static const char *
ids_path(void)
{
	static char	 path[4096];
	const char	*dir = getenv("NSREG_SRCDIR");

	snprintf(path, sizeof(path), "%s/tests/spiffe/ids.txt",
	    dir != NULL ? dir : ".");
	return path;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Expand \xHH, \\ and <N:c> of f into out; returns the length or -1. */
static long
expand(const char *f, char *out, size_t max)
{
	size_t	n = 0;

	while (*f != '\0') {
		if (f[0] == '\\' && f[1] == '\\') {
			if (n >= max)
				return -1;
			out[n++] = '\\';
			f += 2;
		} else if (f[0] == '\\' && f[1] == 'x') {
			int	hi = hexval(f[2]), lo;

			lo = hi < 0 ? -1 : hexval(f[3]);
			if (lo < 0 || n >= max)
				return -1;
			out[n++] = (char)(hi * 16 + lo);
			f += 4;
		} else if (f[0] == '<') {
			char	*end;
			long	 rep = strtol(f + 1, &end, 10);

			if (end == f + 1 || end[0] != ':' || end[1] == '\0' ||
			    end[2] != '>' || rep < 0 || (size_t)rep > max - n)
				return -1;
			memset(out + n, end[1], (size_t)rep);
			n += (size_t)rep;
			f = end + 3;
		} else {
			if (n >= max)
				return -1;
			out[n++] = *f++;
		}
	}
	return (long)n;
}

/*
 * Parameters live in Criterion's shared memory (cr_malloc), which only
 * the runner process can allocate; plain tests use malloc.
 */
struct alloc {
	void	*(*malloc)(size_t);
	void	 (*free)(void *);
};
static const struct alloc cr_alloc = { cr_malloc, cr_free };
static const struct alloc std_alloc = { malloc, free };

static char *
dup_bytes(const struct alloc *a, const char *s, size_t len)
{
	char	*p = a->malloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void
free_cases(struct criterion_test_params *crp)
{
	struct id_case	*c = crp->params;
	size_t		 i;

	for (i = 0; i < crp->length; i++) {
		cr_free(c[i].input);
		if (c[i].normal != NULL)
			cr_free(c[i].normal);
	}
	cr_free(crp->params);
}

/* Read every case of the given kind ("id" or "td"). */
static struct id_case *
load_cases(const struct alloc *a, const char *kind, size_t *np)
{
	FILE		*fp;
	char		 line[CASE_MAX], buf[CASE_MAX];
	struct id_case	*cases;
	size_t		 n = 0, cap = 256;
	int		 lineno = 0;

	cases = a->malloc(cap * sizeof(*cases));
	fp = fopen(ids_path(), "r");
	if (fp == NULL) {
		*np = 0;
		return cases;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char		*k, *e, *in, *arrow, *norm, *save;
		long		 len;
		struct id_case	*c;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		k = strtok_r(line, " \t", &save);
		if (k == NULL || k[0] == '#' || strcmp(k, kind) != 0)
			continue;
		e = strtok_r(NULL, " \t", &save);
		in = strtok_r(NULL, " \t", &save);
		arrow = strtok_r(NULL, " \t", &save);
		norm = strtok_r(NULL, " \t", &save);
		if (e == NULL || in == NULL)
			continue;
		if (n == cap) {
			struct id_case	*nc;

			nc = a->malloc(2 * cap * sizeof(*cases));
			memcpy(nc, cases, n * sizeof(*cases));
			a->free(cases);
			cases = nc;
			cap *= 2;
		}
		c = &cases[n++];
		memset(c, 0, sizeof(*c));
		c->line = lineno;
		c->is_td = strcmp(kind, "td") == 0;
		snprintf(c->expect, sizeof(c->expect), "%s", e);
		snprintf(c->text, sizeof(c->text), "line %d: %s", lineno, in);
		len = expand(in, buf, sizeof(buf));
		if (len < 0) {
			/* A broken table line fails its case. */
			snprintf(c->expect, sizeof(c->expect), "bad-line");
			len = 0;
		}
		c->input = dup_bytes(a, buf, (size_t)len);
		c->input_len = (size_t)len;
		if (arrow != NULL && strcmp(arrow, "=>") == 0 && norm != NULL) {
			len = expand(norm, buf, sizeof(buf));
			if (len < 0) {
				snprintf(c->expect, sizeof(c->expect),
				    "bad-line");
				len = 0;
			}
			c->normal = dup_bytes(a, buf, (size_t)len);
			c->normal_len = (size_t)len;
		}
	}
	fclose(fp);
	*np = n;
	return cases;
}

ParameterizedTestParameters(spiffe, id_table)
{
	size_t		 n;
	struct id_case	*cases = load_cases(&cr_alloc, "id", &n);

	return cr_make_param_array(struct id_case, cases, n, free_cases);
}

ParameterizedTest(struct id_case *c, spiffe, id_table)
{
	struct spiffe_id	 id;
	enum spiffe_rule	 rule, want;
	const char		*normal;
	size_t			 normal_len;

	want = spiffe_rule_from_name(c->expect);
	cr_assert_neq(want, SPIFFE_RULE_MAX, "%s: unknown rule %s", c->text,
	    c->expect);
	rule = spiffe_id_check(c->input, c->input_len, &id);
	cr_assert_eq(rule, want, "%s: got %s, want %s", c->text,
	    spiffe_rule_name(rule), c->expect);
	/* The verdict does not depend on asking for the normal form. */
	cr_assert_eq(spiffe_id_check(c->input, c->input_len, NULL), want);
	if (rule != SPIFFE_OK)
		return;
	normal = c->normal != NULL ? c->normal : c->input;
	normal_len = c->normal != NULL ? c->normal_len : c->input_len;
	cr_assert_eq(id.len, normal_len, "%s", c->text);
	cr_assert_eq(memcmp(id.id, normal, normal_len), 0, "%s: got %s",
	    c->text, id.id);
	cr_assert_eq(id.id[id.len], '\0');
	cr_assert_eq(id.path_off, SPIFFE_SCHEME_LEN + id.td_len);
	/* Normal forms are fixed points. */
	cr_assert_eq(spiffe_id_check(id.id, id.len, NULL), SPIFFE_OK);
}

ParameterizedTestParameters(spiffe, td_table)
{
	size_t		 n;
	struct id_case	*cases = load_cases(&cr_alloc, "td", &n);

	return cr_make_param_array(struct id_case, cases, n, free_cases);
}

ParameterizedTest(struct id_case *c, spiffe, td_table)
{
	char			 td[SPIFFE_TD_MAX + 1];
	enum spiffe_rule	 rule, want;
	const char		*normal;

	want = spiffe_rule_from_name(c->expect);
	cr_assert_neq(want, SPIFFE_RULE_MAX, "%s: unknown rule %s", c->text,
	    c->expect);
	rule = spiffe_td_check(c->input, c->input_len, td);
	cr_assert_eq(rule, want, "%s: got %s, want %s", c->text,
	    spiffe_rule_name(rule), c->expect);
	if (rule != SPIFFE_OK)
		return;
	normal = c->normal != NULL ? c->normal : c->input;
	cr_assert_str_eq(td, normal, "%s", c->text);
}

/* The table is big enough and names every rule at least once. */
Test(spiffe, table_covers_every_rule)
{
	size_t		 n, i;
	struct id_case	*cases = load_cases(&std_alloc, "id", &n);
	int		 seen[SPIFFE_RULE_MAX] = { 0 };
	int		 r, valid = 0, invalid = 0;

	cr_assert_geq(n, 100, "only %zu cases in %s", n, ids_path());
	for (i = 0; i < n; i++) {
		enum spiffe_rule	rule;

		rule = spiffe_rule_from_name(cases[i].expect);
		cr_assert_lt(rule, SPIFFE_RULE_MAX, "%s", cases[i].text);
		seen[rule] = 1;
		if (rule == SPIFFE_OK)
			valid++;
		else
			invalid++;
	}
	for (r = 0; r < SPIFFE_RULE_MAX; r++)
		cr_assert(seen[r], "no case for rule %s",
		    spiffe_rule_name((enum spiffe_rule)r));
	cr_assert_geq(valid, 30);
	cr_assert_geq(invalid, 70);
	for (i = 0; i < n; i++) {
		free(cases[i].input);
		free(cases[i].normal);
	}
	free(cases);
}

Test(spiffe, parse_splits_trust_domain_and_path)
{
	struct spiffe_id	 id;
	struct nsreg_error	 err;
	char			 td[SPIFFE_TD_MAX + 1];

	cr_assert_eq(spiffe_id_parse("SPIFFE://Example.ORG/ns/Default",
	    &id, &err), 0);
	cr_assert_str_eq(id.id, "spiffe://example.org/ns/Default");
	spiffe_id_trust_domain(&id, td);
	cr_assert_str_eq(td, "example.org");
	cr_assert_str_eq(spiffe_id_path(&id), "/ns/Default");
	cr_assert_eq(id.td_len, 11);

	cr_assert_eq(spiffe_id_parse("spiffe://example.org", &id, &err), 0);
	cr_assert_str_eq(spiffe_id_path(&id), "");
}

Test(spiffe, parse_error_names_the_rule)
{
	struct spiffe_id	 id;
	struct nsreg_error	 err;

	cr_assert_eq(spiffe_id_parse("spiffe://example.org/a/../b", &id,
	    &err), -1);
	cr_assert_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_assert_str_eq(err.message,
	    "invalid SPIFFE ID: path has a . or .. segment");
	cr_assert_eq(spiffe_id_parse(NULL, &id, &err), -1);
	cr_assert_eq(spiffe_td_parse("a:1", NULL, &err), -1);
	cr_assert_str_eq(err.message,
	    "invalid trust domain name: port is not allowed");
}

Test(spiffe, path_is_case_sensitive)
{
	struct spiffe_id	a, b;

	cr_assert_eq(spiffe_id_check("spiffe://EX/Path", 16, &a), SPIFFE_OK);
	cr_assert_eq(spiffe_id_check("spiffe://ex/path", 16, &b), SPIFFE_OK);
	cr_assert_str_neq(a.id, b.id);
	cr_assert_str_eq(a.id, "spiffe://ex/Path");
}

Test(spiffe, rule_names_round_trip)
{
	int	r;

	for (r = 0; r < SPIFFE_RULE_MAX; r++) {
		const char	*name = spiffe_rule_name((enum spiffe_rule)r);

		cr_assert_not_null(name);
		cr_assert_eq(spiffe_rule_from_name(name), r);
		cr_assert_str_neq(spiffe_rule_message((enum spiffe_rule)r),
		    "unknown rule");
	}
	cr_assert_null(spiffe_rule_name(SPIFFE_RULE_MAX));
	cr_assert_eq(spiffe_rule_from_name("nonsense"), SPIFFE_RULE_MAX);
}

/* ---- the same table through the configuration and JWT-SVIDs ----------- */

/*
 * What every entry point must do with a case: SPIFFE_OK and a path, the
 * canonical form kept; SPIFFE_OK without a path, refused for having none;
 * otherwise refused for the rule of the table.
 */
static int
case_has_path(const struct id_case *c)
{
	struct spiffe_id	id;

	return spiffe_id_check(c->input, c->input_len, &id) == SPIFFE_OK &&
	    spiffe_id_has_path(&id);
}

static const char *
case_normal(const struct id_case *c)
{
	return c->normal != NULL ? c->normal : c->input;
}

/* 1 when the input can be written in a configuration file at all. */
static int
case_fits_a_config_line(const struct id_case *c)
{
	size_t	i;

	for (i = 0; i < c->input_len; i++)
		if (c->input[i] == '\0' || c->input[i] == '\n' ||
		    c->input[i] == '\r')
			return 0;
	return c->input_len > 0;
}

/*
 * 1 when the input is plain ASCII without NUL: what a JSON string (a
 * JWT claim) and a configuration line carry as is.  Other bytes are
 * refused earlier, as invalid UTF-8 or malformed JSON.
 */
static int
case_is_ascii(const struct id_case *c)
{
	size_t	i;

	for (i = 0; i < c->input_len; i++)
		if (c->input[i] == '\0' || (unsigned char)c->input[i] >= 0x80)
			return 0;
	return 1;
}

ParameterizedTestParameters(spiffe, config_table)
{
	size_t		 n;
	struct id_case	*cases = load_cases(&cr_alloc, "id", &n);

	return cr_make_param_array(struct id_case, cases, n, free_cases);
}

ParameterizedTest(struct id_case *c, spiffe, config_table)
{
	static const char *const kws[] = { "admin", "metrics-reader" };
	char		 text[3 * CASE_MAX], err[CONF_ERROR_MAX], *w;
	struct conf	*conf;
	size_t		 i, k;
	enum spiffe_rule want;

	if (!case_fits_a_config_line(c))
		return;
	want = spiffe_rule_from_name(c->expect);
	for (k = 0; k < sizeof(kws) / sizeof(kws[0]); k++) {
		w = text + snprintf(text, sizeof(text), "trust-domain "
		    "example.org\nlisten http 127.0.0.1:8080\n"
		    "trust-bundle /b.json\n%s \"", kws[k]);
		for (i = 0; i < c->input_len; i++) {
			if (c->input[i] == '"' || c->input[i] == '\\')
				*w++ = '\\';
			*w++ = c->input[i];
		}
		snprintf(w, sizeof(text) - (size_t)(w - text), "\"\n");
		conf = conf_parse("mem", text, NULL, err, sizeof(err));
		if (!case_is_ascii(c)) {
			cr_assert_null(conf, "%s: %s accepted", c->text,
			    kws[k]);
		} else if (want != SPIFFE_OK) {
			cr_assert_null(conf, "%s: %s accepted", c->text,
			    kws[k]);
			cr_assert(strstr(err, "is not a SPIFFE ID: ") != NULL &&
			    strstr(err, spiffe_rule_message(want)) != NULL,
			    "%s: %s", c->text, err);
		} else if (!case_has_path(c)) {
			cr_assert_null(conf, "%s: %s accepted", c->text,
			    kws[k]);
			cr_assert(strstr(err, "has no path") != NULL, "%s: %s",
			    c->text, err);
		} else {
			char	**ids;

			cr_assert_not_null(conf, "%s: %s", c->text, err);
			ids = k == 0 ? conf->admins : conf->metrics_readers;
			cr_assert_str_eq(ids[0], case_normal(c), "%s",
			    c->text);
			conf_free(conf);
		}
	}
}

/* The server-id directive too, for a handful of the table's neighbours. */
Test(spiffe, config_server_id_through_the_parser)
{
	static const struct {
		const char	*in;
		const char	*want;	/* stored form, or error fragment */
		int		 ok;
	} v[] = {
		{ "SPIFFE://EXAMPLE.org/Srv", "spiffe://example.org/Srv", 1 },
		{ "spiffe://example.org/../x", "path has a . or .. segment",
		    0 },
		{ "spiffe://example.org/a/", "trailing", 0 },
		{ "spiffe://example.org", "has no path", 0 },
		{ "spiffe://example.org:8/x", "port is not allowed", 0 },
		{ "spiffe://ex%41mple.org/x", "percent", 0 },
		{ "spiffe://other.org/x", "is not in trust domain", 0 },
	};
	char		 text[512], err[CONF_ERROR_MAX];
	struct conf	*conf;
	size_t		 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(text, sizeof(text), "trust-domain example.org\n"
		    "listen http 127.0.0.1:8080\ntrust-bundle /b.json\n"
		    "server-id \"%s\"\n", v[i].in);
		conf = conf_parse("mem", text, NULL, err, sizeof(err));
		if (v[i].ok) {
			cr_assert_not_null(conf, "%s: %s", v[i].in, err);
			cr_assert_str_eq(conf->server_id, v[i].want);
			conf_free(conf);
		} else {
			cr_assert_null(conf, "%s accepted", v[i].in);
			cr_assert(strstr(err, v[i].want) != NULL, "%s: %s",
			    v[i].in, err);
		}
	}
}

#define JWT_AUD	"spiffe://example.org/nsregd"

static struct svid_ca	*jwt_ca;
static struct trust	*jwt_trust;

static void
jwt_setup(void)
{
	struct nsreg_error	 err;
	struct bundle		*b;

	jwt_ca = svid_ca_generate("example.org", util_now_ms(), 0, &err);
	cr_assert_not_null(jwt_ca, "%s", err.message);
	jwt_trust = trust_new("example.org", &err);
	cr_assert_not_null(jwt_trust, "%s", err.message);
	b = svid_ca_bundle(jwt_ca, &err);
	cr_assert_eq(trust_set(jwt_trust, b, &err), 0, "%s", err.message);
	bundle_unref(b);
}

static void
jwt_teardown(void)
{
	trust_free(jwt_trust);
	svid_ca_free(jwt_ca);
}

ParameterizedTestParameters(spiffe, jwt_table)
{
	size_t		 n;
	struct id_case	*cases = load_cases(&cr_alloc, "id", &n);

	return cr_make_param_array(struct id_case, cases, n, free_cases);
}

ParameterizedTest(struct id_case *c, spiffe, jwt_table, .init = jwt_setup,
    .fini = jwt_teardown)
{
	struct nsreg_error	 err;
	struct principal	 p;
	struct spiffe_id	 id;
	json_t			*h, *cl;
	char			*tok = NULL, td[SPIFFE_TD_MAX + 1];
	char			 want[SPIFFE_TD_MAX + 64];
	int64_t			 now = util_now_ms();
	enum spiffe_rule	 rule;
	int			 rc;

	if (!case_is_ascii(c))
		return;
	h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid",
	    svid_ca_jwt_kid(jwt_ca), "typ", "JWT");
	cl = json_pack("{s:s%, s:s, s:I}", "sub", c->input, c->input_len,
	    "aud", JWT_AUD, "exp", (json_int_t)(now / 1000 + 300));
	cr_assert(h != NULL && cl != NULL);
	cr_assert_eq(svid_jws_sign(svid_ca_jwt_key(jwt_ca), "ES256", h, cl,
	    &tok, &err), 0, "%s", err.message);
	json_decref(h);
	json_decref(cl);
	memset(&p, 0, sizeof(p));
	nsreg_error_clear(&err);
	rc = jwtsvid_verify(NULL, jwt_trust, JWT_AUD, tok, strlen(tok), now,
	    &p, &err);
	free(tok);
	rule = spiffe_rule_from_name(c->expect);
	if (rule != SPIFFE_OK) {
		cr_assert_eq(rc, -1, "%s accepted", c->text);
		snprintf(want, sizeof(want),
		    "jwt: sub is not a valid SPIFFE ID: %s",
		    spiffe_rule_message(rule));
		cr_assert_str_eq(err.message, want, "%s", c->text);
		return;
	}
	if (!case_has_path(c)) {
		cr_assert_eq(rc, -1, "%s accepted", c->text);
		cr_assert_str_eq(err.message, "jwt: sub has no path", "%s",
		    c->text);
		return;
	}
	spiffe_id_check(c->input, c->input_len, &id);
	spiffe_id_trust_domain(&id, td);
	if (strcmp(td, "example.org") != 0) {
		/* The bundle is looked up by the canonical trust domain. */
		cr_assert_eq(rc, -1, "%s accepted", c->text);
		snprintf(want, sizeof(want),
		    "jwt: no bundle for trust domain %s", td);
		cr_assert_str_eq(err.message, want, "%s", c->text);
		return;
	}
	cr_assert_eq(rc, 0, "%s: %s", c->text, err.message);
	/* The principal and the claims rules see: the canonical form. */
	cr_assert_str_eq(p.id, case_normal(c), "%s", c->text);
	cr_assert_str_eq(p.trust_domain, "example.org");
	cr_assert_str_eq(json_string_value(json_object_get(p.claims, "sub")),
	    case_normal(c), "%s", c->text);
	principal_clear(&p);
}
