/*
 * test_validate.c - names, labels, fields and prefixes of DESIGN
 * section 4.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "validate.h"

Test(validate, names)
{
	struct nsreg_error	err;
	char			long_name[300];

	cr_expect_eq(validate_name("db", 0, "name", &err), 0);
	cr_expect_eq(validate_name("0a.b_c-d", 0, "name", &err), 0);
	cr_expect_eq(validate_name("", 0, "name", &err), -1);
	cr_expect_str_eq(err.message, "name: empty name");
	cr_expect_eq(validate_name("-db", 0, "name", &err), -1);
	cr_expect_eq(validate_name("Db", 0, "name", &err), -1);
	cr_expect_eq(validate_name("db@a.test", 0, "name", &err), -1);
	cr_expect_eq(validate_name("db@a.test", 1, "name", &err), 0);
	cr_expect_eq(validate_name("db@", 1, "name", &err), -1);
	cr_expect_eq(validate_name("db@A.test", 1, "name", &err), -1);
	memset(long_name, 'a', 253);
	long_name[253] = '\0';
	cr_expect_eq(validate_name(long_name, 0, "name", &err), 0);
	long_name[253] = 'a';
	long_name[254] = '\0';
	cr_expect_eq(validate_name(long_name, 0, "name", &err), -1);
	cr_expect_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_expect_str_eq(err.field, "name");
}

Test(validate, labels_limits)
{
	struct nsreg_error	 err;
	json_t			*l;
	char			 k[80], v[300];
	int			 i;

	l = json_pack("{s:s, s:s}", "app", "pg", "k8s.io/zone", "a");
	cr_expect_eq(validate_labels(l, "labels", &err), 0);
	json_object_set_new(l, "bad key", json_string("x"));
	cr_expect_eq(validate_labels(l, "labels", &err), -1);
	cr_expect_str_eq(err.field, "labels");
	json_decref(l);

	l = json_object();
	for (i = 0; i < 64; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		json_object_set_new(l, k, json_string("v"));
	}
	cr_expect_eq(validate_labels(l, "labels", &err), 0);
	json_object_set_new(l, "one-more", json_string("v"));
	cr_expect_eq(validate_labels(l, "labels", &err), -1);
	json_decref(l);

	memset(k, 'k', 64);
	k[64] = '\0';
	l = json_pack("{s:s}", k, "v");
	cr_expect_eq(validate_labels(l, "labels", &err), -1);
	json_decref(l);
	memset(v, 'v', 254);
	v[254] = '\0';
	l = json_pack("{s:s}", "k", v);
	cr_expect_eq(validate_labels(l, "labels", &err), -1);
	v[253] = '\0';
	json_object_set_new(l, "k", json_string(v));
	cr_expect_eq(validate_labels(l, "labels", &err), 0);
	json_object_set_new(l, "n", json_integer(3));
	cr_expect_eq(validate_labels(l, "labels", &err), -1);
	json_decref(l);
}

Test(validate, unknown_fields_are_named)
{
	static const char *const allowed[] = { "a", "b", NULL };
	struct nsreg_error	 err;
	json_t			*o;

	o = json_pack("{s:i, s:i}", "a", 1, "zzz", 2);
	cr_expect_eq(validate_fields(o, allowed, "x.", &err), -1);
	cr_expect_str_eq(err.field, "x.zzz");
	cr_expect_str_eq(err.message, "x.zzz: unknown field");
	json_decref(o);
}

Test(validate, prefixes)
{
	struct nsreg_error	err;
	int			fam, len;

	cr_expect_eq(validate_prefix("10.60.0.0/16", &fam, &len, "p", &err),
	    0);
	cr_expect_eq(fam, 4);
	cr_expect_eq(len, 16);
	cr_expect_eq(validate_prefix("fd00:60::/64", &fam, &len, "p", &err),
	    0);
	cr_expect_eq(fam, 6);
	cr_expect_eq(len, 64);
	cr_expect_eq(validate_prefix("10.60.0.1/16", &fam, &len, "p", &err),
	    -1);
	cr_expect(strstr(err.message, "host bits") != NULL);
	cr_expect_eq(validate_prefix("10.60.0.0/33", &fam, &len, "p", &err),
	    -1);
	cr_expect_eq(validate_prefix("10.60.0.0", &fam, &len, "p", &err), -1);
	cr_expect_eq(validate_prefix("10.60.0.0/016", &fam, &len, "p", &err),
	    -1);
	cr_expect_eq(validate_prefix("x/8", &fam, &len, "p", &err), -1);
}

Test(validate, selectors)
{
	json_t	*sel, *labels, *empty;

	sel = json_pack("{s:s}", "app", "pg");
	labels = json_pack("{s:s, s:s}", "app", "pg", "zone", "a");
	empty = json_object();
	cr_expect_eq(validate_selector_matches(sel, labels), 1);
	cr_expect_eq(validate_selector_matches(empty, labels), 1);
	json_decref(empty);
	json_object_set_new(sel, "zone", json_string("b"));
	cr_expect_eq(validate_selector_matches(sel, labels), 0);
	json_decref(sel);
	json_decref(labels);
}

/* Page tokens: base64 of the last name (a record or a trust domain) of
 * the previous page, or refused with one message. */
Test(validate, page_tokens)
{
	static const struct {
		const char	*token;
		const char	*name;		/* NULL: refused */
	} v[] = {
		{ .token = "d2ViLTE=", .name = "web-1" },
		{ .token = "ZXhhbXBsZS5vcmc=", .name = "example.org" },
		{ .token = "YQ==", .name = "a" },
		{ .token = "d2ViLTE", .name = NULL },	/* not 4n */
		{ .token = "d2ViLTE=x", .name = NULL },
		{ .token = "d2V!LTE=", .name = NULL },
		{ .token = "V0VC", .name = "WEB" },	/* a trust domain */
		{ .token = "IQ==", .name = NULL },	/* "!": neither */
		{ .token = "AA==", .name = NULL },	/* a NUL byte */
		{ .token = "====", .name = NULL },
	};
	struct nsreg_error	 err;
	char			 after[512], big[1024];
	size_t			 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (v[i].name != NULL) {
			cr_expect_eq(validate_page_token(v[i].token, after,
			    sizeof(after), &err), 0, "%s", v[i].token);
			cr_expect_str_eq(after, v[i].name);
		} else {
			cr_expect_eq(validate_page_token(v[i].token, after,
			    sizeof(after), &err), -1, "%s", v[i].token);
			cr_expect_str_eq(after, "");
			cr_expect_str_eq(err.message,
			    "page_token: not a token this server issued");
			cr_expect_str_eq(err.field, "page_token");
		}
	}
	/* Longer than the room for the decoded name. */
	memset(big, 'Q', 12);
	big[12] = '\0';
	cr_expect_eq(validate_page_token(big, after, 8, &err), -1);
	memset(big, 'Y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_expect_eq(validate_page_token(big, after, sizeof(after), &err), -1);
}
