/*
 * fuzz_watch.c - libFuzzer target: the tokens a client hands back to
 * page through a list or resume a watch.  page_token must decode to a
 * name or nothing; a name the server would hand out must come back from
 * its own token unchanged; since= must be a revision or nothing.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"
#include "validate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nsreg_error	 err;
	long long		 v;
	char			*s, after[512], tok[1024];
	size_t			 n;

	if (size > 2048 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* since=: a revision, or refused. */
	if (util_number_parse(s, 0, INT64_MAX, &v) == 0 && v < 0)
		abort();
	/* page_token as a client sends it back. */
	if (s[0] != '\0' && validate_page_token(s, after, sizeof(after),
	    &err) == 0 && strlen(after) >= sizeof(after))
		abort();
	/* A record name's token (api.c: base64 of the last name) round
	 * trips. */
	n = strlen(s);
	if (n > 0 && n < 700 && validate_name(s, 0, "name", &err) == 0) {
		EVP_EncodeBlock((unsigned char *)tok, (unsigned char *)s,
		    (int)n);
		if (validate_page_token(tok, after, sizeof(after),
		    &err) == -1 || strcmp(after, s) != 0)
			abort();
	}
	free(s);
	return 0;
}
