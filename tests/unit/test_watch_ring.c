/*
 * test_watch_ring.c - the watch streams' in-memory ring of recent events
 * is bounded by bytes as well as by count: big events push the oldest
 * out, an event bigger than the whole budget empties it (streams read
 * such events from the store's history), and the ring never holds more
 * than the budget whatever the mix of sizes.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "watch.h"

/* An endpoint-like object whose text is about size bytes. */
static json_t *
object_of(size_t size)
{
	json_t	*o;
	char	*pad;

	pad = malloc(size + 1);
	cr_assert_not_null(pad);
	memset(pad, 'x', size);
	pad[size] = '\0';
	o = json_pack("{s:s, s:s}", "name", "e", "url", pad);
	free(pad);
	return o;
}

static void
publish(struct watch *w, int64_t rev, size_t size)
{
	struct store_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.revision = rev;
	ev.kind = STORE_ENDPOINT;
	ev.type = STORE_MODIFIED;
	ev.name = "e";
	ev.object = object_of(size);
	watch_publish(&ev, w);
	json_decref(ev.object);
}

Test(watch_ring, bounded_by_bytes_for_every_size)
{
	static const struct {
		size_t	budget;
		size_t	event;		/* bytes of each event's text */
		int	count;
	} v[] = {
		{ 64 * 1024, 100, 2000 },
		{ 64 * 1024, 3000, 200 },
		{ 64 * 1024, 5000, 200 },	/* not kept rendered */
		{ 64 * 1024, 20000, 50 },
		{ 1024 * 1024, 300000, 20 },
		{ 1024 * 1024, 1, 5000 },
	};
	struct watch	*w;
	size_t		 i, events, bytes;
	int		 k;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		w = watch_new(NULL, 8192, v[i].budget, 10000);
		cr_assert_not_null(w);
		for (k = 1; k <= v[i].count; k++) {
			publish(w, k, v[i].event);
			watch_ring_usage(w, &events, &bytes);
			cr_assert_leq(bytes, v[i].budget, "case %zu: %zu bytes "
			    "after %d events", i, bytes, k);
			cr_assert_leq(events, 8192);
		}
		/* The ring is still used: the newest events are in it. */
		cr_expect_gt(events, 0, "case %zu", i);
		cr_expect_geq(bytes, v[i].event * 2, "case %zu: %zu bytes "
		    "counted for %zu events", i, bytes, events);
		watch_free(w);
	}
}

Test(watch_ring, an_event_bigger_than_the_budget_empties_it)
{
	struct watch	*w;
	size_t		 events, bytes;

	w = watch_new(NULL, 100, 64 * 1024, 10000);
	publish(w, 1, 100);
	publish(w, 2, 100);
	watch_ring_usage(w, &events, &bytes);
	cr_assert_eq(events, 2);
	publish(w, 3, 1024 * 1024);
	watch_ring_usage(w, &events, &bytes);
	cr_expect_eq(events, 0);
	cr_expect_eq(bytes, 0);
	publish(w, 4, 100);
	watch_ring_usage(w, &events, &bytes);
	cr_expect_eq(events, 1);
	watch_free(w);
}

Test(watch_ring, count_still_bounds_small_events)
{
	struct watch	*w;
	size_t		 events, bytes;
	int		 k;

	w = watch_new(NULL, 16, 16 * 1024 * 1024, 10000);
	for (k = 1; k <= 100; k++)
		publish(w, k, 10);
	watch_ring_usage(w, &events, &bytes);
	cr_expect_eq(events, 16);
	watch_free(w);
}
