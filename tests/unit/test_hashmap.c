/*
 * test_hashmap.c - the string map (server/hashmap.h): the standard FNV-1a
 * vectors, and a long random run of puts, removes, filters and walks
 * checked against a plain array, so that deletion by shifting back and
 * growth keep every key findable.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

/* Published FNV-1a 64 test vectors (draft-eastlake-fnv). */
static const struct {
	const char	*s;
	uint64_t	 h;
} fnv_vectors[] = {
	{ "", 0xcbf29ce484222325ULL },
	{ "a", 0xaf63dc4c8601ec8cULL },
	{ "foobar", 0x85944171f73967e8ULL },
};

Test(hashmap, hashes_are_standard_fnv1a_64)
{
	size_t	i;

	for (i = 0; i < sizeof(fnv_vectors) / sizeof(fnv_vectors[0]); i++)
		cr_expect_eq(hashmap_hash(fnv_vectors[i].s), fnv_vectors[i].h,
		    "\"%s\"", fnv_vectors[i].s);
}

Test(hashmap, put_get_replace_remove)
{
	struct hashmap	*m;
	void		*old;
	int		 a = 1, b = 2;

	cr_assert_not_null(m = hashmap_new());
	cr_expect_null(hashmap_get(m, "x"));
	cr_expect_null(hashmap_remove(m, "x"));
	cr_assert_eq(hashmap_put(m, "x", &a, &old), 0);
	cr_expect_null(old);
	cr_expect_eq(hashmap_get(m, "x"), &a);
	cr_assert_eq(hashmap_put(m, "x", &b, &old), 0);
	cr_expect_eq(old, &a);
	cr_expect_eq(hashmap_get(m, "x"), &b);
	cr_expect_eq(hashmap_count(m), 1);
	cr_expect_eq(hashmap_remove(m, "x"), &b);
	cr_expect_null(hashmap_get(m, "x"));
	cr_expect_eq(hashmap_count(m), 0);
	hashmap_free(m);
	hashmap_free(NULL);
}

#define KEYS	3000

static char	keys[KEYS][16];
static int	present[KEYS];

static int
keep_even(const char *key, void *value, void *arg)
{
	int	*calls = arg;
	size_t	 i = (size_t)((char (*)[16])value - keys);

	(*calls)++;
	cr_assert_str_eq(key, keys[i]);
	return i % 2 == 0;
}

Test(hashmap, a_random_run_agrees_with_a_plain_array)
{
	struct hashmap	*m;
	const char	*k;
	void		*v, *old;
	size_t		 i, n, pos, seen;
	unsigned int	 seed = 12345;
	int		 step, calls = 0;

	cr_assert_not_null(m = hashmap_new());
	for (i = 0; i < KEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
	memset(present, 0, sizeof(present));
	for (step = 0; step < 200000; step++) {
		i = (size_t)rand_r(&seed) % KEYS;
		if (rand_r(&seed) % 3 != 0) {
			cr_assert_eq(hashmap_put(m, keys[i], keys[i], &old), 0);
			cr_assert_eq(old, present[i] ? keys[i] : NULL);
			present[i] = 1;
		} else {
			v = hashmap_remove(m, keys[i]);
			cr_assert_eq(v, present[i] ? keys[i] : NULL,
			    "step %d key %zu", step, i);
			present[i] = 0;
		}
	}
	for (i = 0, n = 0; i < KEYS; i++) {
		cr_expect_eq(hashmap_get(m, keys[i]),
		    present[i] ? keys[i] : NULL, "key %zu", i);
		n += present[i];
	}
	cr_expect_eq(hashmap_count(m), n);
	/* A walk sees each entry once. */
	pos = 0;
	seen = 0;
	while (hashmap_next(m, &pos, &k, &v)) {
		i = (size_t)((char (*)[16])v - keys);
		cr_assert(present[i] == 1, "%s seen twice or absent", k);
		present[i] = 2;
		seen++;
	}
	cr_expect_eq(seen, n);
	/* Filter out the odd keys. */
	hashmap_filter(m, keep_even, &calls);
	cr_expect_geq((size_t)calls, n);
	for (i = 0, n = 0; i < KEYS; i++) {
		cr_expect_eq(hashmap_get(m, keys[i]), present[i] != 0 &&
		    i % 2 == 0 ? keys[i] : NULL, "key %zu", i);
		n += present[i] != 0 && i % 2 == 0;
	}
	cr_expect_eq(hashmap_count(m), n);
	hashmap_free(m);
}
