/*
 * test_federation.c - the federation directives of nsregd.conf (values,
 * defaults, minimums, conf_dump) and the allowed_claims check.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "federation.h"

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
