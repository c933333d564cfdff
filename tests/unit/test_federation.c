/*
 * test_federation.c - the federation directives of nsregd.conf (values,
 * defaults, minimums, conf_dump), the allowed_claims check, and what
 * every HTTPS client transfer shares (federation_curl.c).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "federation.h"
#include "federation_curl.h"

#define BASE	"trust-domain example.org\ntls-cert /c.pem\ntls-key /c.key\n" \
		"trust-bundle /b.json\n"

Test(federation, directives_have_their_documented_defaults)
{
	char		 err[CONF_ERROR_MAX];
	struct conf	*c;

	c = conf_parse("mem", BASE, NULL, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_null(c->federation_ca_file);
	cr_expect_eq(c->federation_timeout, 10 * 1000);
	cr_expect_eq(c->federation_refresh_min, 30 * 1000);
	cr_expect_eq(c->federation_refresh_default, 5 * 60 * 1000);
	cr_expect_eq(c->interdomain_timeout, 5 * 1000);
	conf_free(c);
}

Test(federation, directives_are_read_and_dumped)
{
	char		 err[CONF_ERROR_MAX], *text = NULL;
	size_t		 len = 0;
	struct conf	*c;
	FILE		*f;

	c = conf_parse("mem", BASE "federation-ca-file roots.pem\n"
	    "federation-timeout 2500ms\nfederation-refresh-min 1s\n"
	    "federation-refresh-default 2m\ninterdomain-timeout 700ms\n",
	    "/etc/nsreg", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->federation_ca_file, "/etc/nsreg/roots.pem");
	cr_expect_eq(c->federation_timeout, 2500);
	cr_expect_eq(c->federation_refresh_min, 1000);
	cr_expect_eq(c->federation_refresh_default, 120 * 1000);
	cr_expect_eq(c->interdomain_timeout, 700);
	f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	conf_dump(c, f);
	fclose(f);
	cr_expect(strstr(text, "federation-ca-file \"/etc/nsreg/roots.pem\"\n")
	    != NULL, "%s", text);
	cr_expect(strstr(text, "federation-refresh-min 1s\n") != NULL, "%s",
	    text);
	cr_expect(strstr(text, "interdomain-timeout 700ms\n") != NULL, "%s",
	    text);
	free(text);
	conf_free(c);
}

Test(federation, directives_are_not_repeatable)
{
	char		 err[CONF_ERROR_MAX];
	struct conf	*c;

	c = conf_parse("mem", BASE "federation-timeout 1s\n"
	    "federation-timeout 2s\n", NULL, err, sizeof(err));
	cr_expect_null(c);
	cr_expect_str_eq(err, "mem:6: federation-timeout: given twice");
	conf_free(c);
}

static json_t *
check(const char *text, char *field, size_t len)
{
	struct nsreg_error	 err;
	json_t			*v, *out;

	v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	cr_assert_not_null(v, "%s", text);
	nsreg_error_clear(&err);
	out = federation_claims_check(v, &err);
	json_decref(v);
	if (out == NULL) {
		cr_expect_eq(err.code, NSREG_INVALID_ARGUMENT);
		snprintf(field, len, "%s", err.field);
	}
	return out;
}

Test(federation, allowed_claims_are_distinct_bounded_names)
{
	struct nsreg_error	 err;
	char			 field[NSREG_ERROR_FIELD_MAX], long_name[300];
	json_t			*out, *many;
	int			 i;

	out = check("[]", field, sizeof(field));
	cr_expect_eq(json_array_size(out), 0);
	json_decref(out);
	out = check("[\"team\",\"https://x/role\",\"sub\"]", field,
	    sizeof(field));
	cr_expect_eq(json_array_size(out), 3);
	json_decref(out);
	cr_expect_null(check("{}", field, sizeof(field)));
	cr_expect_str_eq(field, "allowed_claims");
	cr_expect_null(check("[true]", field, sizeof(field)));
	cr_expect_str_eq(field, "allowed_claims[0]");
	cr_expect_null(check("[\"a\",\"\"]", field, sizeof(field)));
	cr_expect_str_eq(field, "allowed_claims[1]");
	cr_expect_null(check("[\"a\",\"a\"]", field, sizeof(field)));
	cr_expect_str_eq(field, "allowed_claims[1]");
	cr_expect_null(check("[\"a\\u0000b\"]", field, sizeof(field)));
	cr_expect_str_eq(field, "allowed_claims[0]");
	cr_expect_null(check("[\"tab\\there\"]", field, sizeof(field)));
	/* Names of at most FEDERATION_CLAIM_MAX bytes. */
	snprintf(long_name, sizeof(long_name), "[\"%0*d\"]",
	    FEDERATION_CLAIM_MAX + 1, 7);
	cr_expect_null(check(long_name, field, sizeof(field)));
	cr_expect_str_eq(field, "allowed_claims[0]");
	/* At most FEDERATION_CLAIMS_MAX names. */
	many = json_array();
	for (i = 0; i <= FEDERATION_CLAIMS_MAX; i++) {
		snprintf(long_name, sizeof(long_name), "c%d", i);
		json_array_append_new(many, json_string(long_name));
	}
	cr_expect_null(federation_claims_check(many, &err));
	cr_expect_str_eq(err.field, "allowed_claims");
	json_array_remove(many, 0);
	out = federation_claims_check(many, &err);
	cr_expect_eq(json_array_size(out), FEDERATION_CLAIMS_MAX);
	json_decref(out);
	json_decref(many);
}

Test(federation_curl, body_grows_up_to_its_bound_and_stays_terminated)
{
	struct federation_curl_body	b = { .max = 10 };

	cr_expect_eq(federation_curl_body_add(&b, 4, "abcdef", 6), 6);
	cr_expect_str_eq(b.buf, "abcdef");
	/* Never more room than the bound and its NUL. */
	cr_expect_leq(b.cap, 11);
	cr_expect_eq(federation_curl_body_add(&b, 4, "ghij", 4), 4);
	cr_expect_str_eq(b.buf, "abcdefghij");
	cr_expect_eq(b.len, 10);
	cr_expect_eq(b.too_large, 0);
	/* One byte past the bound fails the transfer and says why. */
	cr_expect_eq(federation_curl_body_add(&b, 4, "k", 1), 0);
	cr_expect_eq(b.too_large, 1);
	cr_expect_str_eq(b.buf, "abcdefghij");
	free(b.buf);
}

static const struct curl_error_case {
	CURLcode	 rc;
	int		 too_large;
	int		 want;		/* 1: the transfer's own failure */
	enum nsreg_code	 code;
	const char	*message;
} curl_error_cases[] = {
	{ CURLE_OPERATION_TIMEDOUT, 0, 1, NSREG_DEADLINE_EXCEEDED,
	    "peer https://x/: no answer within 250 ms" },
	{ CURLE_FILESIZE_EXCEEDED, 0, 1, NSREG_BAD_GATEWAY,
	    "peer https://x/: the answer is larger than 64 bytes" },
	{ CURLE_WRITE_ERROR, 1, 1, NSREG_BAD_GATEWAY,
	    "peer https://x/: the answer is larger than 64 bytes" },
	{ CURLE_WRITE_ERROR, 0, 1, NSREG_INTERNAL,
	    "peer https://x/: out of memory" },
	{ CURLE_OUT_OF_MEMORY, 0, 1, NSREG_INTERNAL,
	    "peer https://x/: out of memory" },
	/* The peer's failures are the caller's to word. */
	{ CURLE_COULDNT_CONNECT, 0, 0, NSREG_OK, "" },
	{ CURLE_PEER_FAILED_VERIFICATION, 0, 0, NSREG_OK, "" },
};

Test(federation_curl, own_failures_are_worded_once)
{
	const struct curl_error_case	*c;
	struct nsreg_error		 err;
	size_t				 i;

	for (i = 0; i < sizeof(curl_error_cases) /
	    sizeof(curl_error_cases[0]); i++) {
		c = &curl_error_cases[i];
		nsreg_error_clear(&err);
		cr_expect_eq(federation_curl_error(c->rc, "peer", "https://x/",
		    250, 64, c->too_large, &err), c->want, "case %zu", i);
		cr_expect_eq(err.code, c->code, "case %zu", i);
		cr_expect_str_eq(err.message, c->message, "case %zu", i);
	}
}
