/*
 * fuzz_body.c - libFuzzer target: a request body of the registry API as
 * server.c takes it (valid UTF-8, JSON without duplicate members, an
 * object), then the validators of server/validate.c over its members as
 * the handlers apply them (DESIGN section 4).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"
#include "validate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fuzz_fields[] = {
	"name", "labels", "url", "service", "selector", "matches", "prefix",
	"prefixes", "expires_at", "ttl", NULL
};

/* Every validator over one object (a body, or one of its matches). */
static void
fuzz_object(const json_t *obj, const char *prefix)
{
	struct nsreg_error	 err;
	const json_t		*name, *labels, *selector, *pfx, *v;
	size_t			 i;
	int			 family, len;

	(void)validate_fields(obj, fuzz_fields, prefix, &err);
	if (validate_member(obj, "name", JSON_STRING, prefix, &name,
	    &err) == 0 && name != NULL) {
		(void)validate_name(json_string_value(name), 0, "name", &err);
		(void)validate_name(json_string_value(name), 1, "name", &err);
	}
	labels = NULL;
	if (validate_member(obj, "labels", JSON_OBJECT, prefix, &labels,
	    &err) == 0 && labels != NULL)
		(void)validate_labels(labels, "labels", &err);
	if (validate_member(obj, "selector", JSON_OBJECT, prefix, &selector,
	    &err) == 0 && selector != NULL) {
		(void)validate_labels(selector, "selector", &err);
		if (labels != NULL)
			(void)validate_selector_matches(selector, labels);
	}
	if (validate_member(obj, "prefix", JSON_STRING, prefix, &pfx,
	    &err) == 0 && pfx != NULL)
		(void)validate_prefix(json_string_value(pfx), &family, &len,
		    "prefix", &err);
	if (validate_member(obj, "prefixes", JSON_ARRAY, prefix, &pfx,
	    &err) == 0 && pfx != NULL)
		json_array_foreach(pfx, i, v)
			if (json_is_string(v))
				(void)validate_prefix(json_string_value(v),
				    &family, &len, "prefixes", &err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t		*body, *matches, *m;
	json_error_t	 jerr;
	size_t		 i;

	if (!util_utf8_valid((const char *)data, size))
		return 0;
	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (body == NULL)
		return 0;
	if (json_is_object(body)) {
		fuzz_object(body, "");
		matches = json_object_get(body, "matches");
		if (json_is_array(matches))
			json_array_foreach(matches, i, m)
				if (json_is_object(m))
					fuzz_object(m, "matches[0].");
	}
	json_decref(body);
	return 0;
}
