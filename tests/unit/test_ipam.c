/*
 * test_ipam.c - vL3 pools (ipam.c) and the store's grant verbs: leases
 * lowest free first, one block per principal and service, exhaustion,
 * release on revoke, expiry and cascades, restart, IPv6, the vl3 guard,
 * and 2 x 500 concurrent grants that never share a block.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipam.h"
#include "store.h"
#include "store_backend.h"
#include "store_lease.h"

#define T0	1700000000000LL
#define HOUR	(3600LL * 1000)

/* ---- pools --------------------------------------------------------------- */

static void
pool(struct ipam_pool *p, const char *prefix, int len)
{
	struct nsreg_error	err;

	cr_assert_eq(ipam_pool_init(p, prefix, len, "vl3", &err), 0,
	    "%s/%d: %s", prefix, len, err.message);
}

static void
addr_is(const struct ipam_pool *p, int64_t block, const char *want)
{
	char	buf[IPAM_TEXT_MAX];
	int64_t	back;

	cr_assert_eq(ipam_block_address(p, block, buf, sizeof(buf)), 0,
	    "block %lld of %s", (long long)block, p->prefix);
	cr_expect_str_eq(buf, want);
	cr_expect_eq(ipam_address_block(p, buf, &back), 0, "%s", buf);
	cr_expect_eq(back, block, "%s", buf);
}

Test(ipam, ipv4_skips_network_and_broadcast)
{
	struct ipam_pool	p;

	pool(&p, "10.60.0.0/16", 32);
	cr_expect_eq(p.family, 4);
	cr_expect_eq(p.first, 1);
	cr_expect_eq(p.last, 65534);
	cr_expect_eq(ipam_pool_size(&p), 65534);
	cr_expect_str_eq(p.prefix, "10.60.0.0/16");
	addr_is(&p, 1, "10.60.0.1/32");
	addr_is(&p, 7, "10.60.0.7/32");
	addr_is(&p, 256, "10.60.1.0/32");
	addr_is(&p, 65534, "10.60.255.254/32");

	pool(&p, "192.168.4.0/30", 32);
	cr_expect_eq(p.first, 1);
	cr_expect_eq(p.last, 2);
	pool(&p, "192.168.4.0/31", 32);		/* RFC 3021 */
	cr_expect_eq(p.first, 0);
	cr_expect_eq(p.last, 1);
	addr_is(&p, 0, "192.168.4.0/32");
	addr_is(&p, 1, "192.168.4.1/32");
}

Test(ipam, ipv4_client_blocks)
{
	struct ipam_pool	p;

	pool(&p, "10.0.0.0/24", 30);
	cr_expect_eq(p.first, 1);
	cr_expect_eq(p.last, 62);
	addr_is(&p, 1, "10.0.0.4/30");
	addr_is(&p, 62, "10.0.0.248/30");
	pool(&p, "10.0.0.0/24", 25);
	cr_expect_eq(ipam_pool_size(&p), 0);
	pool(&p, "10.0.0.0/8", 24);
	addr_is(&p, 65534, "10.255.254.0/24");
}

Test(ipam, ipv6_skips_the_subnet_router_anycast)
{
	struct ipam_pool	p;

	pool(&p, "fd00:0:0::/112", 128);
	cr_expect_eq(p.family, 6);
	cr_expect_str_eq(p.prefix, "fd00::/112");
	cr_expect_eq(p.first, 1);
	cr_expect_eq(p.last, 65535);
	addr_is(&p, 1, "fd00::1/128");
	addr_is(&p, 65535, "fd00::ffff/128");
	pool(&p, "fd00:1:2:3::/64", 120);
	cr_expect_eq(p.last, (1LL << 56) - 1);
	addr_is(&p, 1, "fd00:1:2:3::100/120");
	addr_is(&p, (1LL << 56) - 1, "fd00:1:2:3:ffff:ffff:ffff:ff00/120");
	pool(&p, "2001:db8::/32", 64);
	addr_is(&p, 1, "2001:db8:0:1::/64");
	addr_is(&p, 0x12345678, "2001:db8:1234:5678::/64");
	pool(&p, "fd00::/127", 128);
	cr_expect_eq(p.first, 0);
	cr_expect_eq(p.last, 1);
}

/*
 * IPv6 pools from /48 to /120: their first and last leasable blocks
 * (the first block holds the Subnet-Router anycast address; pools of
 * 2^63 blocks or more lease up to block INT64_MAX, ipam.h), and
 * addresses that are not leasable blocks.
 */
static const struct v6_case {
	const char	*prefix;
	int		 client_len;
	const char	*canonical;
	int64_t		 last;
	const char	*first_addr;	/* block 1 */
	const char	*last_addr;	/* block last */
	const char	*not_blocks[4];	/* NULL-terminated */
} v6_cases[] = {
	{ "fd00:0:0::/48", 128, "fd00::/48", INT64_MAX, "fd00::1/128",
	    "fd00::7fff:ffff:ffff:ffff/128",
	    { "fd00::8000:0:0:0/128", "fd00:0:0:1::/128",
	    "fd00:0:0:ffff:ffff:ffff:ffff:ffff/128", NULL } },
	{ "fd00:1::/48", 64, "fd00:1::/48", 65535, "fd00:1:0:1::/64",
	    "fd00:1:0:ffff::/64",
	    { "fd00:1:0:1::1/64", "fd00:1:1::/64", "fd00:1::/128", NULL } },
	{ "2001:db8:1:2::/64", 128, "2001:db8:1:2::/64", INT64_MAX,
	    "2001:db8:1:2::1/128", "2001:db8:1:2:7fff:ffff:ffff:ffff/128",
	    { "2001:db8:1:2:8000::/128",
	    "2001:db8:1:2:ffff:ffff:ffff:ffff/128", "2001:db8:1:3::/128",
	    NULL } },
	{ "fd00::/64", 126, "fd00::/64", (1LL << 62) - 1, "fd00::4/126",
	    "fd00::ffff:ffff:ffff:fffc/126",
	    { "fd00::5/126", "fd00::4/128", NULL } },
	{ "fd00:0:0:0:0:1::/96", 128, "fd00::1:0:0/96", 4294967295LL,
	    "fd00::1:0:1/128", "fd00::1:ffff:ffff/128",
	    { "fd00::2:0:0/128", "fd00::1:0:1/127", NULL } },
	{ "fd00::aa00/120", 128, "fd00::aa00/120", 255, "fd00::aa01/128",
	    "fd00::aaff/128", { "fd00::ab00/128", "fd00::a9ff/128", NULL } },
};

Test(ipam, ipv6_pools_from_48_to_120)
{
	const struct v6_case	*c;
	struct ipam_pool	 p;
	char			 buf[IPAM_TEXT_MAX];
	int64_t			 b;
	size_t			 i, j;

	for (i = 0; i < sizeof(v6_cases) / sizeof(v6_cases[0]); i++) {
		c = &v6_cases[i];
		pool(&p, c->prefix, c->client_len);
		cr_expect_str_eq(p.prefix, c->canonical);
		cr_expect_eq(p.first, 1, "%s", c->prefix);
		cr_expect_eq(p.last, c->last, "%s: %lld", c->prefix,
		    (long long)p.last);
		cr_expect_eq(ipam_pool_size(&p), c->last, "%s", c->prefix);
		addr_is(&p, 1, c->first_addr);
		addr_is(&p, c->last, c->last_addr);
		cr_expect_eq(ipam_block_address(&p, -1, buf, sizeof(buf)), -1);
		for (j = 0; c->not_blocks[j] != NULL; j++)
			cr_expect_eq(ipam_address_block(&p, c->not_blocks[j],
			    &b), -1, "%s in %s/%d", c->not_blocks[j],
			    c->prefix, c->client_len);
	}
}

Test(ipam, addresses_outside_or_unaligned_are_not_blocks)
{
	struct ipam_pool	p;
	int64_t			b;
	char			buf[IPAM_TEXT_MAX];

	pool(&p, "10.0.0.0/24", 30);
	cr_expect_eq(ipam_address_block(&p, "10.0.0.5/30", &b), -1);
	cr_expect_eq(ipam_address_block(&p, "10.0.0.4/32", &b), -1);
	cr_expect_eq(ipam_address_block(&p, "10.0.1.4/30", &b), -1);
	cr_expect_eq(ipam_address_block(&p, "10.0.0.4", &b), -1);
	cr_expect_eq(ipam_address_block(&p, "fd00::4/30", &b), -1);
	cr_expect_eq(ipam_address_block(&p, "10.0.0.4/3x", &b), -1);
	cr_expect_eq(ipam_block_address(&p, 64, buf, sizeof(buf)), -1);
	cr_expect_eq(ipam_block_address(&p, -1, buf, sizeof(buf)), -1);
	cr_expect_eq(ipam_block_address(&p, 1, buf, 5), -1);
}

Test(ipam, bad_pools_are_refused)
{
	struct ipam_pool	p;
	struct nsreg_error	err;

	cr_expect_eq(ipam_pool_init(&p, "10.60.0.1/16", 32, "vl3", &err), -1);
	cr_expect_eq(err.code, NSREG_INVALID_ARGUMENT);
	cr_expect_eq(ipam_pool_init(&p, "10.60.0.0/16", 15, "vl3", &err), -1);
	cr_expect_eq(ipam_pool_init(&p, "10.60.0.0/16", 33, "vl3", &err), -1);
	cr_expect_eq(ipam_pool_init(&p, "fd00::/32", 128, "vl3", &err), -1);
	cr_expect(strstr(err.message, "2^80") != NULL, "%s", err.message);
	cr_expect_eq(ipam_pool_init(&p, "fd00::/47", 128, "vl3", &err), -1);
	cr_expect_eq(ipam_pool_init(&p, "::/0", 81, "vl3", &err), -1);
	cr_expect_eq(ipam_pool_init(&p, "nonsense", 32, "vl3", &err), -1);
	cr_expect_eq(ipam_pool_init(&p, NULL, 32, "vl3", &err), -1);
}

/* ---- the lease choice (store_lease.c), as any backend makes it --------- */

static const struct lease_pick_case {
	const char	*what;
	int64_t		 first, last;
	int		 has_freed;
	int64_t		 freed;		/* the lowest returned block */
	int		 has_top;
	int64_t		 top;		/* the highest leased block */
	int64_t		 want;		/* -1: exhausted */
} lease_pick_cases[] = {
	{ "an empty pool starts at first", 1, 254, 0, 0, 0, 0, 1 },
	{ "a /31 starts at block 0", 0, 1, 0, 0, 0, 0, 0 },
	{ "after the highest leased", 1, 254, 0, 0, 1, 7, 8 },
	{ "a returned block below it first", 1, 254, 1, 3, 1, 7, 3 },
	{ "a returned block above it (the top went) later", 1, 254, 1, 9,
	    1, 7, 8 },
	{ "the returned top block itself", 1, 254, 1, 8, 1, 7, 8 },
	{ "the last block", 1, 4, 0, 0, 1, 3, 4 },
	{ "exhausted", 1, 4, 0, 0, 1, 4, -1 },
	{ "full but one returned", 1, 4, 1, 2, 1, 4, 2 },
	{ "a returned block outside the pool is not taken", 1, 4, 1, 9, 1,
	    4, -1 },
	{ "a huge pool (2^63 - 1 blocks)", 1, INT64_MAX, 0, 0, 1, 3, 4 },
	{ "the top of a huge pool", 1, INT64_MAX, 0, 0, 1, INT64_MAX - 1,
	    INT64_MAX },
	{ "a huge pool full up to INT64_MAX", 1, INT64_MAX, 0, 0, 1,
	    INT64_MAX, -1 },
	{ "a huge pool full but one returned", 1, INT64_MAX, 1, 5, 1,
	    INT64_MAX, 5 },
};

Test(lease, pick_takes_the_lowest_free_usable_block)
{
	const struct lease_pick_case	*c;
	struct store_grant		 g;
	struct nsreg_error		 err;
	int64_t				 block;
	size_t				 i;
	int				 rc;

	for (i = 0; i < sizeof(lease_pick_cases) /
	    sizeof(lease_pick_cases[0]); i++) {
		c = &lease_pick_cases[i];
		memset(&g, 0, sizeof(g));
		g.service = "s";
		g.pool = "fd00::/64";
		g.client_len = 128;
		g.first = c->first;
		g.last = c->last;
		nsreg_error_clear(&err);
		rc = store_lease_pick(&g, c->has_freed, c->freed, c->has_top,
		    c->top, &block, &err);
		if (c->want < 0) {
			cr_expect_eq(rc, -1, "%s", c->what);
			cr_expect_eq(err.code, NSREG_RESOURCE_EXHAUSTED, "%s",
			    c->what);
			cr_expect_eq(block, -1, "%s", c->what);
		} else {
			cr_expect_eq(rc, 0, "%s: %s", c->what, err.message);
			cr_expect_eq(block, c->want, "%s: %lld", c->what,
			    (long long)block);
		}
	}
}

Test(lease, pool_same_compares_prefix_and_client_length)
{
	json_t	*doc;

	doc = json_pack("{s:{s:s, s:i}}", "vl3", "prefix", "fd00::/64",
	    "client_prefix_len", 128);
	cr_assert_not_null(doc);
	cr_expect_eq(store_lease_pool_same(doc, "fd00::/64", 128), 1);
	cr_expect_eq(store_lease_pool_same(doc, "fd00::/64", 120), 0);
	cr_expect_eq(store_lease_pool_same(doc, "fd01::/64", 128), 0);
	json_object_del(doc, "vl3");
	cr_expect_eq(store_lease_pool_same(doc, "fd00::/64", 128), 0);
	json_decref(doc);
}

/*
 * The lease walk (store_lease_take, store_lease_pool_check) over rows
 * kept in memory: what it asks of a backend, in order, and what it
 * answers.
 */
struct fake_rows {
	struct store_lease_pool	 pool;		/* as stored */
	int64_t			 live;		/* its live leases */
	int64_t			 held;		/* the principal's; -1: none */
	int			 has_freed;
	int64_t			 freed;
	int			 has_top;
	int64_t			 top;
	char			 calls[256];	/* what was asked, in order */
};

static void
fake_call(struct fake_rows *f, const char *what)
{
	size_t	n = strlen(f->calls);

	snprintf(f->calls + n, sizeof(f->calls) - n, "%s%s", n > 0 ? " " :
	    "", what);
}

static int
fake_pool_get(void *conn, const char *service, struct store_lease_pool *p,
    struct nsreg_error *err)
{
	(void)service;
	(void)err;
	fake_call(conn, "get");
	*p = ((struct fake_rows *)conn)->pool;
	return 0;
}

static int
fake_pool_put(void *conn, const struct store_grant *g,
    struct nsreg_error *err)
{
	struct fake_rows	*f = conn;

	(void)err;
	fake_call(f, "put");
	f->pool.found = 1;
	snprintf(f->pool.prefix, sizeof(f->pool.prefix), "%s", g->pool);
	f->pool.client_len = g->client_len;
	return 0;
}

static int
fake_pool_drop(void *conn, const char *service, struct nsreg_error *err)
{
	struct fake_rows	*f = conn;

	(void)service;
	(void)err;
	fake_call(f, "drop");
	memset(&f->pool, 0, sizeof(f->pool));
	f->has_freed = f->has_top = 0;
	return 0;
}

static int
fake_leases_live(void *conn, const char *service, int64_t now,
    int64_t *live, struct nsreg_error *err)
{
	(void)service;
	(void)now;
	(void)err;
	fake_call(conn, "live");
	*live = ((struct fake_rows *)conn)->live;
	return 0;
}

static int
fake_lease_hold(void *conn, const char *service, const char *principal,
    int64_t expires, int64_t *block, int64_t *lease,
    struct nsreg_error *err)
{
	struct fake_rows	*f = conn;

	(void)service;
	(void)principal;
	(void)expires;
	(void)err;
	fake_call(f, "hold");
	*block = f->held;
	*lease = f->held >= 0 ? 7 : 0;
	return 0;
}

static int
fake_lease_bounds(void *conn, const char *service, int *has_freed,
    int64_t *freed, int *has_top, int64_t *top, struct nsreg_error *err)
{
	struct fake_rows	*f = conn;

	(void)service;
	(void)err;
	fake_call(f, "bounds");
	*has_freed = f->has_freed;
	*freed = f->freed;
	*has_top = f->has_top;
	*top = f->top;
	return 0;
}

static int
fake_lease_insert(void *conn, const char *service, int64_t block,
    const char *principal, int64_t gen, int64_t expires, int was_freed,
    struct nsreg_error *err)
{
	char	what[64];

	(void)service;
	(void)principal;
	(void)gen;
	(void)expires;
	(void)err;
	snprintf(what, sizeof(what), "insert:%lld%s", (long long)block,
	    was_freed ? ":freed" : "");
	fake_call(conn, what);
	return 0;
}

static const struct store_lease_rows fake_lease_rows = {
	.pool_get = fake_pool_get,
	.pool_put = fake_pool_put,
	.pool_drop = fake_pool_drop,
	.leases_live = fake_leases_live,
	.lease_hold = fake_lease_hold,
	.lease_bounds = fake_lease_bounds,
	.lease_insert = fake_lease_insert,
};

static const struct lease_take_case {
	const char	*what;
	struct fake_rows rows;
	int64_t		 want_block;	/* -1: refused */
	int64_t		 want_lease;
	enum nsreg_code	 want_code;
	const char	*want_calls;
} lease_take_cases[] = {
	{ "the block held already, one holder more",
	    { .pool = { 1, "10.60.0.0/16", 24 }, .held = 5 }, 5, 7, 0,
	    "hold" },
	{ "a new pool is stored, then its first block leased",
	    { .held = -1 }, 1, 42, 0, "hold get put bounds insert:1" },
	{ "the same pool: the block after the highest leased",
	    { .pool = { 1, "10.60.0.0/16", 24 }, .held = -1, .has_top = 1,
	    .top = 3 }, 4, 42, 0, "hold get bounds insert:4" },
	{ "a returned block below the top is taken out of the returned",
	    { .pool = { 1, "10.60.0.0/16", 24 }, .held = -1, .has_freed = 1,
	    .freed = 2, .has_top = 1, .top = 3 }, 2, 42, 0,
	    "hold get bounds insert:2:freed" },
	{ "a pool the service changed, its leases gone: replaced",
	    { .pool = { 1, "10.61.0.0/16", 24 }, .held = -1, .has_top = 1,
	    .top = 9 }, 1, 42, 0, "hold get live drop put bounds insert:1" },
	{ "a pool the service changed, its leases live: refused",
	    { .pool = { 1, "10.60.0.0/16", 28 }, .live = 2, .held = -1 },
	    -1, 0, NSREG_CONFLICT, "hold get live" },
	{ "every block leased: exhausted",
	    { .pool = { 1, "10.60.0.0/16", 24 }, .held = -1, .has_top = 1,
	    .top = 254 }, -1, 0, NSREG_RESOURCE_EXHAUSTED, "hold get bounds" },
};

Test(lease, take_asks_the_rows_in_order_and_leases_one_block)
{
	const struct lease_take_case	*c;
	struct fake_rows		 f;
	struct store_grant		 g;
	struct nsreg_error		 err;
	int64_t				 block, lease;
	size_t				 i;
	int				 rc;

	for (i = 0; i < sizeof(lease_take_cases) /
	    sizeof(lease_take_cases[0]); i++) {
		c = &lease_take_cases[i];
		f = c->rows;
		memset(&g, 0, sizeof(g));
		g.service = "s";
		g.pool = "10.60.0.0/16";
		g.client_len = 24;
		g.first = 1;
		g.last = 254;
		block = lease = -2;
		nsreg_error_clear(&err);
		rc = store_lease_take(&fake_lease_rows, &f, &g, "p", 42, 100,
		    10, &block, &lease, &err);
		cr_expect_str_eq(f.calls, c->want_calls, "%s", c->what);
		if (c->want_block < 0) {
			cr_expect_eq(rc, -1, "%s", c->what);
			cr_expect_eq(err.code, c->want_code, "%s: %s", c->what,
			    err.message);
			cr_expect_str_eq(err.field, "vl3", "%s", c->what);
		} else {
			cr_expect_eq(rc, 0, "%s: %s", c->what, err.message);
			cr_expect_eq(block, c->want_block, "%s: %lld", c->what,
			    (long long)block);
			cr_expect_eq(lease, c->want_lease, "%s", c->what);
		}
	}
}

Test(lease, pool_check_keeps_drops_or_refuses)
{
	struct fake_rows	 f;
	struct store_object	 obj;
	struct nsreg_error	 err;

	memset(&obj, 0, sizeof(obj));
	obj.kind = STORE_SERVICE;
	obj.name = "s";
	obj.doc = json_pack("{s:{s:s, s:i}}", "vl3", "prefix",
	    "10.60.0.0/16", "client_prefix_len", 24);
	cr_assert_not_null(obj.doc);

	/* No pool stored, or the same one: nothing to do. */
	memset(&f, 0, sizeof(f));
	cr_expect_eq(store_lease_pool_check(&fake_lease_rows, &f, &obj, 10,
	    &err), 0);
	cr_expect_str_eq(f.calls, "get");
	memset(&f, 0, sizeof(f));
	f.pool = (struct store_lease_pool){ 1, "10.60.0.0/16", 24 };
	cr_expect_eq(store_lease_pool_check(&fake_lease_rows, &f, &obj, 10,
	    &err), 0);
	cr_expect_str_eq(f.calls, "get");

	/* Another pool: dropped when no lease lives, else refused. */
	memset(&f, 0, sizeof(f));
	f.pool = (struct store_lease_pool){ 1, "10.61.0.0/16", 24 };
	cr_expect_eq(store_lease_pool_check(&fake_lease_rows, &f, &obj, 10,
	    &err), 0);
	cr_expect_str_eq(f.calls, "get live drop");
	memset(&f, 0, sizeof(f));
	f.pool = (struct store_lease_pool){ 1, "10.61.0.0/16", 24 };
	f.live = 1;
	nsreg_error_clear(&err);
	cr_expect_eq(store_lease_pool_check(&fake_lease_rows, &f, &obj, 10,
	    &err), -1);
	cr_expect_str_eq(f.calls, "get live");
	cr_expect_eq(err.code, NSREG_CONFLICT);
	cr_expect(strstr(err.message, "while 1 live grant holds") != NULL,
	    "%s", err.message);
	json_decref(obj.doc);
}

/* The services whose grants store_lease_dropped revokes, comma-joined. */
struct dropped_seen {
	char	 names[128];
	int	 fail_at;	/* the call that fails (1-based); 0: none */
	int	 calls;
};

static int
dropped_revoke(void *arg, const char *endpoint, const char *service,
    struct nsreg_error *err)
{
	struct dropped_seen	*d = arg;
	size_t			 n = strlen(d->names);

	cr_expect_str_eq(endpoint, "e");
	snprintf(d->names + n, sizeof(d->names) - n, "%s%s", n > 0 ? "," :
	    "", service);
	if (++d->calls == d->fail_at)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL, "boom");
	return 0;
}

static json_t *
dropped_parse(const char *text, size_t len)
{
	return json_loadb(text, len, 0, NULL);
}

static const struct dropped_case {
	const char	*what;
	const char	*old;		/* as stored; NULL: none */
	const char	*now;		/* the services offered now */
	int		 fail_at;
	int		 want_rc;
	const char	*want;		/* the services revoked */
} dropped_cases[] = {
	{ "nothing stored", NULL, "[\"a\"]", 0, 0, "" },
	{ "all kept", "[\"a\",\"b\"]", "[\"b\",\"a\"]", 0, 0, "" },
	{ "the ones no longer offered", "[\"a\",\"b\",\"c\"]", "[\"b\"]", 0,
	    0, "a,c" },
	{ "all dropped", "[\"a\"]", "[]", 0, 0, "a" },
	{ "a stored non-string is passed over", "[1,\"a\"]", "[]", 0, 0,
	    "a" },
	{ "a failed revoke stops the walk", "[\"a\",\"b\"]", "[]", 1, -1,
	    "a" },
	{ "an unreadable stored list", "[\"a\"", "[]", 0, -1, "" },
};

Test(lease, dropped_revokes_each_service_no_longer_offered)
{
	const struct dropped_case	*c;
	struct dropped_seen		 d;
	struct nsreg_error		 err;
	json_t				*now;
	size_t				 i;

	for (i = 0; i < sizeof(dropped_cases) / sizeof(dropped_cases[0]);
	    i++) {
		c = &dropped_cases[i];
		memset(&d, 0, sizeof(d));
		d.fail_at = c->fail_at;
		now = json_loads(c->now, 0, NULL);
		cr_assert_not_null(now, "%s", c->what);
		nsreg_error_clear(&err);
		cr_expect_eq(store_lease_dropped("e", c->old, now,
		    dropped_parse, dropped_revoke, &d, &err), c->want_rc, "%s",
		    c->what);
		cr_expect_str_eq(d.names, c->want, "%s", c->what);
		if (c->want_rc == -1)
			cr_expect_eq(err.code, NSREG_INTERNAL, "%s", c->what);
		json_decref(now);
	}
}

Test(lease, grant_checks_name_what_is_wrong)
{
	struct nsreg_error	err;

	cr_expect_eq(store_lease_source(STORE_SERVICE, "db", 1, 4, 4, &err),
	    0);
	nsreg_error_clear(&err);
	cr_expect_eq(store_lease_source(STORE_SERVICE, "db", 0, 4, 4, &err),
	    -1);
	cr_expect_eq(err.code, NSREG_NOT_FOUND);
	cr_expect_str_eq(err.field, "service");
	cr_expect_str_eq(err.message, "service db not found");
	nsreg_error_clear(&err);
	cr_expect_eq(store_lease_source(STORE_ENDPOINT, "e1", 1, 5, 4, &err),
	    -1);
	cr_expect_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_expect_str_eq(err.field, "endpoint");
	cr_expect_str_eq(err.message,
	    "endpoint e1 changed while the grant was made");

	cr_expect_eq(store_lease_grant_check("g1", 1, 9, 0, &err), 0);
	cr_expect_eq(store_lease_grant_check("g1", 1, 9, 9, &err), 0);
	nsreg_error_clear(&err);
	cr_expect_eq(store_lease_grant_check("g1", 0, 9, 0, &err), -1);
	cr_expect_eq(err.code, NSREG_NOT_FOUND);
	cr_expect_str_eq(err.field, "id");
	nsreg_error_clear(&err);
	cr_expect_eq(store_lease_grant_check("g1", 1, 9, 8, &err), -1);
	cr_expect_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_expect_str_eq(err.message, "grant g1 is at revision 9, not 8");

	/* found: 0 no row, 1 a retired key, 2 the current one. */
	cr_expect_eq(store_lease_key_current("k", 2, &err), 0);
	cr_expect_eq(store_lease_key_current("k", 1, &err), -1);
	cr_expect_eq(store_lease_key_current("k", 0, &err), -1);
	cr_expect_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_expect_str_eq(err.field, "kid");

	cr_expect_str_eq(store_lease_cascade_reason(STORE_ENDPOINT),
	    STORE_REASON_ENDPOINT_GONE);
	cr_expect_str_eq(store_lease_cascade_reason(STORE_SERVICE),
	    STORE_REASON_SERVICE_GONE);
}

Test(lease, key_entries_have_their_times_or_null)
{
	const int64_t	 t[3] = { 10, 20, 30 };
	const int	 none[3] = { 0, 1, 0 };
	json_t		*k;
	char		*text;

	k = store_lease_key_steal("k1", json_pack("{s:s}", "kty", "EC"), t,
	    none);
	cr_assert_not_null(k);
	text = json_dumps(k, JSON_SORT_KEYS | JSON_COMPACT);
	cr_expect_str_eq(text, "{\"created_at\":10,\"expires_at\":30,"
	    "\"jwk\":{\"kty\":\"EC\"},\"kid\":\"k1\",\"retired_at\":null}");
	free(text);
	json_decref(k);
	/* An unreadable JWK makes no entry. */
	cr_expect_null(store_lease_key_steal("k1", NULL, t, none));
}

/* ---- the store's leases -------------------------------------------------- */

static char		 test_dir[256];
static char		 test_url[512];
static struct store	*st;

#define EVENTS_MAX	4096
static struct {
	pthread_mutex_t	 lock;
	size_t		 n;
	int		 type[EVENTS_MAX];
	int		 kind[EVENTS_MAX];
	char		 name[EVENTS_MAX][40];
	char		 reason[EVENTS_MAX][20];
	int64_t		 rev[EVENTS_MAX];
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
record(const struct store_event *ev, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&seen.lock);
	if (seen.n < EVENTS_MAX) {
		seen.type[seen.n] = ev->type;
		seen.kind[seen.n] = ev->kind;
		seen.rev[seen.n] = ev->revision;
		snprintf(seen.name[seen.n], sizeof(seen.name[0]), "%s",
		    ev->name);
		snprintf(seen.reason[seen.n], sizeof(seen.reason[0]), "%s",
		    ev->reason != NULL ? ev->reason : "");
		seen.n++;
	}
	pthread_mutex_unlock(&seen.lock);
}

static void
store_up(void)
{
	struct store_options	opt;
	struct nsreg_error	err;

	memset(&opt, 0, sizeof(opt));
	opt.url = test_url;
	st = store_open(&opt, &err);
	cr_assert_not_null(st, "open: %s", err.message);
	store_set_listener(st, record, NULL);
}

/*
 * The leases suite is part of the storage suite: SQLite, or PostgreSQL
 * (a schema per test) when NSREG_TEST_STORE is "postgresql"
 * (tests/pg/store.sh).
 */
static int
test_pg(void)
{
	const char	*be = getenv("NSREG_TEST_STORE");

	return be != NULL && strcmp(be, "postgresql") == 0;
}

static void
test_url_set(void)
{
	static int	 n;
	const char	*pg = getenv("NSREG_TEST_PG");

	if (test_pg()) {
		cr_assert(pg != NULL && pg[0] != '\0',
		    "NSREG_TEST_STORE=postgresql without NSREG_TEST_PG");
		snprintf(test_url, sizeof(test_url),
		    "%s%soptions=-csearch_path%%3Dnsreg_leases_%d_%ld_%d", pg,
		    strchr(pg, '?') != NULL ? "&" : "?", (int)getpid(),
		    (long)time(NULL), n++);
		return;
	}
	snprintf(test_url, sizeof(test_url), "sqlite:%s/nsreg.db", test_dir);
}

static void
setup(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/nsreg-ipam-XXXXXX");
	cr_assert_not_null(mkdtemp(test_dir));
	test_url_set();
	seen.n = 0;
	store_up();
}

static void
teardown(void)
{
	char	cmd[300];

	store_close(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", test_dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(leases, .init = setup, .fini = teardown, .timeout = 120);

/* Write kind/name with doc (stolen); returns its revision. */
static int64_t
put(enum store_kind kind, const char *name, json_t *doc, int64_t now,
    int64_t expires)
{
	struct store_object	o;
	struct nsreg_error	err;
	int			created;
	int64_t			rev;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.name = strdup(name);
	o.doc = doc;
	o.expires_at = expires;
	cr_assert_eq(store_put(st, &o, 0, NULL, NULL, now, &created, &err), 0,
	    "put %s: %s", name, err.message);
	rev = o.revision;
	store_object_clear(&o);
	return rev;
}

static int64_t
put_service_at(const char *name, const char *prefix, int len, int64_t now)
{
	json_t	*doc = json_pack("{s:s}", "payload", "IP");

	if (prefix != NULL)
		json_object_set_new(doc, "vl3", json_pack("{s:s, s:i}",
		    "prefix", prefix, "client_prefix_len", len));
	return put(STORE_SERVICE, name, doc, now, 0);
}

static int64_t
put_service(const char *name, const char *prefix, int len)
{
	return put_service_at(name, prefix, len, T0);
}

static int64_t
put_endpoint(const char *name, const char *svc, int64_t expires)
{
	return put(STORE_ENDPOINT, name, json_pack("{s:s, s:[s]}", "url",
	    "tcp://10.0.0.1:1", "network_service_names", svc), T0, expires);
}

static void
use_key(const char *kid, int64_t now)
{
	struct nsreg_error	err;

	cr_assert_eq(store_grant_key_use(st, kid, "{\"kty\":\"EC\"}", now,
	    &err), 0, "%s", err.message);
}

static int
assign(struct store_object *obj, int64_t block, void *arg,
    struct nsreg_error *err)
{
	char	buf[IPAM_TEXT_MAX];

	if (ipam_block_address(arg, block, buf, sizeof(buf)) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL, "block");
	json_object_set_new(obj->doc, "address", json_string(buf));
	return 0;
}

struct gctx {
	const char	*service;
	const char	*endpoint;
	int64_t		 service_rev;
	int64_t		 endpoint_rev;
	struct ipam_pool pool;
	int		 has_pool;
};

static void
gctx_init(struct gctx *g, const char *service, const char *prefix, int len,
    const char *endpoint)
{
	struct store_object	o;
	struct nsreg_error	err;

	memset(g, 0, sizeof(*g));
	g->service = service;
	g->endpoint = endpoint;
	memset(&o, 0, sizeof(o));
	/* A service already written is taken as it is. */
	if (store_fetch(st, STORE_SERVICE, service, T0, &o, &err) == 0)
		g->service_rev = o.revision;
	else
		g->service_rev = put_service(service, prefix, len);
	store_object_clear(&o);
	if (prefix != NULL) {
		pool(&g->pool, prefix, len);
		g->has_pool = 1;
	}
	if (store_fetch(st, STORE_ENDPOINT, endpoint, T0, &o, &err) == 0)
		g->endpoint_rev = o.revision;
	else
		g->endpoint_rev = put_endpoint(endpoint, service, 0);
	store_object_clear(&o);
}

/*
 * A grant id for principal at now until expires: 0 and the address into
 * addr, or -1 with err.
 */
static int
grant(struct gctx *g, const char *id, const char *principal, int64_t now,
    int64_t expires, char *addr, size_t len, struct nsreg_error *err)
{
	struct store_object	o;
	struct store_grant	sg;
	int			rc;

	memset(&o, 0, sizeof(o));
	o.kind = STORE_GRANT;
	o.name = strdup(id);
	o.owner = strdup(principal);
	o.expires_at = expires;
	o.doc = json_pack("{s:s, s:s, s:s, s:{s:s}}", "id", id, "principal",
	    principal, "service", g->service, "endpoint", "name",
	    g->endpoint);
	memset(&sg, 0, sizeof(sg));
	sg.service = g->service;
	sg.service_rev = g->service_rev;
	sg.endpoint = g->endpoint;
	sg.endpoint_rev = g->endpoint_rev;
	sg.kid = "k1";
	if (g->has_pool) {
		sg.pool = g->pool.prefix;
		sg.client_len = g->pool.client_len;
		sg.first = g->pool.first;
		sg.last = g->pool.last;
		sg.assign = assign;
		sg.assign_arg = &g->pool;
	}
	rc = store_grant_create(st, &o, &sg, now, err);
	if (rc == 0 && addr != NULL)
		snprintf(addr, len, "%s", json_string_value(json_object_get(
		    o.doc, "address")) != NULL ? json_string_value(
		    json_object_get(o.doc, "address")) : "");
	if (rc == 0 && g->has_pool)
		cr_expect_geq(sg.block, g->pool.first);
	store_object_clear(&o);
	return rc;
}

static void
grant_ok(struct gctx *g, const char *id, const char *principal,
    const char *want)
{
	struct nsreg_error	err;
	char			addr[IPAM_TEXT_MAX];

	cr_assert_eq(grant(g, id, principal, T0, T0 + HOUR, addr,
	    sizeof(addr), &err), 0, "grant %s: %s", id, err.message);
	if (want != NULL)
		cr_expect_str_eq(addr, want, "grant %s", id);
}

static void
grant_revoke(const char *id, int64_t now)
{
	struct nsreg_error	err;

	cr_assert_eq(store_grant_delete(st, id, 0, STORE_REASON_REVOKED, now,
	    NULL, &err), 0, "revoke %s: %s", id, err.message);
}

static int64_t
live_leases(const char *service, int64_t now)
{
	struct nsreg_error	err;
	char			p[128];
	int			len;
	int64_t			live;

	cr_assert_eq(store_ipam_usage(st, service, now, p, sizeof(p), &len,
	    &live, &err), 0, "%s", err.message);
	return live;
}

/* The DELETED event of name, or NULL. */
static const char *
deleted_reason(const char *name)
{
	size_t	i;

	for (i = 0; i < seen.n; i++)
		if (seen.type[i] == STORE_DELETED &&
		    strcmp(seen.name[i], name) == 0)
			return seen.reason[i];
	return NULL;
}

Test(leases, lowest_free_first_then_exhausted_then_released)
{
	struct gctx		g;
	struct nsreg_error	err;
	char			id[16], who[64], want[32];
	int			i;

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/29", 32, "db-1");
	for (i = 1; i <= 6; i++) {
		snprintf(id, sizeof(id), "g%d", i);
		snprintf(who, sizeof(who), "spiffe://example.org/w%d", i);
		snprintf(want, sizeof(want), "10.60.0.%d/32", i);
		grant_ok(&g, id, who, want);
	}
	cr_expect_eq(live_leases("db", T0), 6);
	cr_assert_eq(grant(&g, "g7", "spiffe://example.org/w7", T0, T0 + HOUR,
	    NULL, 0, &err), -1);
	cr_expect_eq(err.code, NSREG_RESOURCE_EXHAUSTED);
	cr_expect(strstr(err.message, "10.60.0.0/29") != NULL, "%s",
	    err.message);
	/* Nothing of the refused grant was written. */
	cr_expect_eq(store_count(st, STORE_GRANT, T0), 6);
	grant_revoke("g3", T0);
	cr_expect_str_eq(deleted_reason("g3"), "revoked");
	grant_revoke("g5", T0);
	grant_ok(&g, "g8", "spiffe://example.org/w8", "10.60.0.3/32");
	grant_ok(&g, "g9", "spiffe://example.org/w9", "10.60.0.5/32");
}

Test(leases, one_block_per_principal_and_service)
{
	struct gctx	g, h;

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/16", 32, "db-1");
	gctx_init(&h, "cache", "10.60.0.0/16", 32, "cache-1");
	grant_ok(&g, "a1", "spiffe://example.org/a", "10.60.0.1/32");
	grant_ok(&g, "b1", "spiffe://example.org/b", "10.60.0.2/32");
	grant_ok(&g, "a2", "spiffe://example.org/a", "10.60.0.1/32");
	/* Another service is another network: its own pool. */
	grant_ok(&h, "a3", "spiffe://example.org/a", "10.60.0.1/32");
	cr_expect_eq(live_leases("db", T0), 2);
	/* The block stays while one of its grants does. */
	grant_revoke("a1", T0);
	grant_ok(&g, "c1", "spiffe://example.org/c", "10.60.0.3/32");
	grant_revoke("a2", T0);
	grant_ok(&g, "d1", "spiffe://example.org/d", "10.60.0.1/32");
	grant_ok(&g, "a4", "spiffe://example.org/a", "10.60.0.4/32");
}

Test(leases, expired_grants_return_their_blocks_when_swept)
{
	struct gctx		g;
	struct nsreg_error	err;
	char			addr[IPAM_TEXT_MAX];

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/30", 32, "db-1");
	cr_assert_eq(grant(&g, "s1", "spiffe://example.org/s", T0,
	    T0 + 1000, addr, sizeof(addr), &err), 0, "%s", err.message);
	cr_expect_str_eq(addr, "10.60.0.1/32");
	grant_ok(&g, "l1", "spiffe://example.org/l", "10.60.0.2/32");
	cr_expect_eq(live_leases("db", T0 + 2000), 1);
	cr_assert_geq(store_prune(st, T0 + 2000, &err), 1, "%s", err.message);
	cr_expect_str_eq(deleted_reason("s1"), "expired");
	cr_assert_eq(grant(&g, "n1", "spiffe://example.org/n", T0 + 2000,
	    T0 + HOUR, addr, sizeof(addr), &err), 0, "%s", err.message);
	cr_expect_str_eq(addr, "10.60.0.1/32");
}

/*
 * IPv6 pools of every size lease as IPv4 ones do: lowest free first
 * (block 0, the Subnet-Router anycast address, never), the same address
 * again for the same principal, a released address first to go again,
 * across a restart; a small pool runs out.
 */
static const struct v6_lease_case {
	const char	*service;
	const char	*prefix;
	int		 client_len;
	const char	*addr[4];	/* blocks 1, 2, 3, 4 */
	int		 usable;	/* 3: the pool has blocks 1..3 only */
} v6_lease_cases[] = {
	{ "v48", "fd00:48::/48", 128, { "fd00:48::1/128", "fd00:48::2/128",
	    "fd00:48::3/128", "fd00:48::4/128" }, 0 },
	{ "v48n", "fd00:4a::/48", 64, { "fd00:4a:0:1::/64",
	    "fd00:4a:0:2::/64", "fd00:4a:0:3::/64", "fd00:4a:0:4::/64" }, 0 },
	{ "v64", "2001:db8:64:1::/64", 128, { "2001:db8:64:1::1/128",
	    "2001:db8:64:1::2/128", "2001:db8:64:1::3/128",
	    "2001:db8:64:1::4/128" }, 0 },
	{ "v96", "fd00::96:0:0/96", 128, { "fd00::96:0:1/128",
	    "fd00::96:0:2/128", "fd00::96:0:3/128", "fd00::96:0:4/128" }, 0 },
	{ "v120", "fd00::1:200/120", 128, { "fd00::1:201/128",
	    "fd00::1:202/128", "fd00::1:203/128", "fd00::1:204/128" }, 0 },
	{ "v126", "fd00::1:300/126", 128, { "fd00::1:301/128",
	    "fd00::1:302/128", "fd00::1:303/128", NULL }, 3 },
};

Test(leases, ipv6_pools_from_48_to_126_lease_lowest_free_first)
{
	const struct v6_lease_case	*c;
	struct gctx			 g;
	struct nsreg_error		 err;
	char				 ep[32], addr[IPAM_TEXT_MAX];
	size_t				 i;

	use_key("k1", T0);
	for (i = 0; i < sizeof(v6_lease_cases) / sizeof(v6_lease_cases[0]);
	    i++) {
		c = &v6_lease_cases[i];
		snprintf(ep, sizeof(ep), "ep-%s", c->service);
		gctx_init(&g, c->service, c->prefix, c->client_len, ep);
		grant_ok(&g, "a1", "spiffe://example.org/a", c->addr[0]);
		grant_ok(&g, "b1", "spiffe://example.org/b", c->addr[1]);
		grant_ok(&g, "c1", "spiffe://example.org/c", c->addr[2]);
		/* The same principal keeps its address. */
		grant_ok(&g, "b2", "spiffe://example.org/b", c->addr[1]);
		if (c->usable == 3) {
			cr_expect_eq(grant(&g, "d1", "spiffe://example.org/d",
			    T0, T0 + HOUR, NULL, 0, &err), -1, "%s",
			    c->prefix);
			cr_expect_eq(err.code, NSREG_RESOURCE_EXHAUSTED, "%s",
			    c->prefix);
		} else
			grant_ok(&g, "d1", "spiffe://example.org/d",
			    c->addr[3]);
		/* Released (both of b's grants), lowest again, restarted. */
		grant_revoke("b1", T0);
		grant_revoke("b2", T0);
		store_close(st);
		store_up();
		grant_ok(&g, "e1", "spiffe://example.org/e", c->addr[1]);
		cr_expect_eq(grant(&g, "f1", "spiffe://example.org/f", T0,
		    T0 + HOUR, addr, sizeof(addr), &err), c->usable == 3 ?
		    -1 : 0, "%s: %s", c->prefix, err.message);
		/* Clean for the next pool: ids are reused. */
		cr_assert_eq(store_delete(st, STORE_SERVICE, c->service, 0, T0,
		    NULL, &err), 0, "%s", err.message);
	}
}

/*
 * Leases and releases in random order, in a /64 of /128s: every new
 * lease takes the lowest free block, as a model of the pool says.
 */
Test(leases, churn_always_takes_the_lowest_free_block)
{
	enum { PRINCIPALS = 40, STEPS = 600 };
	struct gctx		g;
	char			ids[PRINCIPALS][16], who[64], want[IPAM_TEXT_MAX];
	int64_t			held[PRINCIPALS], b;
	unsigned char		used[PRINCIPALS + 2];
	unsigned int		seed = 12345;
	int			i, step, p;

	use_key("k1", T0);
	gctx_init(&g, "churn", "fd00:c::/64", 128, "churn-1");
	memset(used, 0, sizeof(used));
	for (i = 0; i < PRINCIPALS; i++)
		held[i] = -1;
	for (step = 0; step < STEPS; step++) {
		seed = seed * 1103515245u + 12345u;
		p = (int)((seed >> 16) % PRINCIPALS);
		if (held[p] >= 0) {
			grant_revoke(ids[p], T0);
			used[held[p]] = 0;
			held[p] = -1;
			continue;
		}
		for (b = 1; used[b]; b++)
			;
		cr_assert_eq(ipam_block_address(&g.pool, b, want,
		    sizeof(want)), 0);
		snprintf(ids[p], sizeof(ids[p]), "c%d", step);
		snprintf(who, sizeof(who), "spiffe://example.org/c/%d", p);
		grant_ok(&g, ids[p], who, want);
		used[b] = 1;
		held[p] = b;
	}
}

/*
 * A database written before 0003_ipam_free (leases found by a walk from
 * the pool's low mark) goes on leasing the lowest free blocks after the
 * upgrade: the migration returns the gaps below the highest lease.
 */
Test(leases, pools_written_before_0003_keep_their_gaps)
{
	struct store_migration	 mig[3];
	struct store_options	 opt;
	struct nsreg_error	 err;
	struct gctx		 g;
	sqlite3			*db;
	sqlite3_stmt		*q;
	char			 path[300], *msg = NULL;
	int			 n;

	if (test_pg())
		cr_skip_test("SQLite files only");
	store_close(st);
	snprintf(path, sizeof(path), "%s/nsreg.db", test_dir);
	unlink(path);
	mig[0] = schema_sqlite[0];
	mig[1] = schema_sqlite[1];
	cr_assert_eq(mig[1].version, 2);
	memset(&mig[2], 0, sizeof(mig[2]));
	memset(&opt, 0, sizeof(opt));
	opt.url = test_url;
	st = store_open_migrations(&opt, mig, &err);
	cr_assert_not_null(st, "%s", err.message);
	store_close(st);
	st = NULL;
	/* As 0002 left them: 1, 2, 4, 5 and 7 leased, low at 3. */
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "INSERT INTO ipam_pools VALUES "
	    "('db', '10.60.0.0/24', 32, 3);"
	    "INSERT INTO ipam_leases VALUES ('db', 1, 'p1', 1, 1, 0),"
	    "('db', 2, 'p2', 2, 1, 0), ('db', 4, 'p4', 4, 1, 0),"
	    "('db', 5, 'p5', 5, 1, 0), ('db', 7, 'p7', 7, 1, 0);",
	    NULL, NULL, &msg), SQLITE_OK, "%s", msg != NULL ? msg : "");
	sqlite3_close(db);
	store_up();
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT group_concat(slot) FROM "
	    "(SELECT slot FROM ipam_free WHERE service = 'db' ORDER BY slot)",
	    -1, &q, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(q, 0), "3,6");
	sqlite3_finalize(q);
	sqlite3_close(db);
	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/24", 32, "db-1");
	grant_ok(&g, "a", "spiffe://example.org/a", "10.60.0.3/32");
	grant_ok(&g, "b", "spiffe://example.org/b", "10.60.0.6/32");
	grant_ok(&g, "c", "spiffe://example.org/c", "10.60.0.8/32");
	n = (int)live_leases("db", T0);
	cr_expect_eq(n, 3, "live leases %d", n);
}

Test(leases, leases_survive_a_restart)
{
	struct gctx	g;

	use_key("k1", T0);
	gctx_init(&g, "db", "fd00:60::/120", 128, "db-1");
	grant_ok(&g, "a1", "spiffe://example.org/a", "fd00:60::1/128");
	grant_ok(&g, "b1", "spiffe://example.org/b", "fd00:60::2/128");
	grant_revoke("a1", T0);
	store_close(st);
	store_up();
	cr_expect_eq(live_leases("db", T0), 1);
	grant_ok(&g, "b2", "spiffe://example.org/b", "fd00:60::2/128");
	grant_ok(&g, "c1", "spiffe://example.org/c", "fd00:60::1/128");
	grant_ok(&g, "d1", "spiffe://example.org/d", "fd00:60::3/128");
}

Test(leases, the_database_refuses_a_block_leased_twice)
{
	struct gctx	 g;
	sqlite3		*db;
	char		 path[300], *msg = NULL;
	int		 rc;

	if (test_pg())
		cr_skip_test("SQLite files only");
	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/16", 32, "db-1");
	grant_ok(&g, "a1", "spiffe://example.org/a", "10.60.0.1/32");
	snprintf(path, sizeof(path), "%s/nsreg.db", test_dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	/* Another principal on the same block. */
	rc = sqlite3_exec(db, "INSERT INTO ipam_leases (service, slot, "
	    "principal, lease, grants, expires_at) VALUES ('db', 1, "
	    "'spiffe://example.org/x', 99, 1, 0)", NULL, NULL, &msg);
	cr_expect_eq(rc & 0xff, SQLITE_CONSTRAINT, "%s", msg ? msg : "");
	sqlite3_free(msg);
	msg = NULL;
	/* The same principal on a second block. */
	rc = sqlite3_exec(db, "INSERT INTO ipam_leases (service, slot, "
	    "principal, lease, grants, expires_at) VALUES ('db', 2, "
	    "'spiffe://example.org/a', 99, 1, 0)", NULL, NULL, &msg);
	cr_expect_eq(rc & 0xff, SQLITE_CONSTRAINT, "%s", msg ? msg : "");
	sqlite3_free(msg);
	sqlite3_close(db);
}

struct racer {
	struct gctx	*g;
	int		 id;
	int		 n;
	int		 failed;
};

static void *
race_main(void *arg)
{
	struct racer		*r = arg;
	struct nsreg_error	 err;
	char			 id[32], who[64];
	int			 i;

	for (i = 0; i < r->n; i++) {
		snprintf(id, sizeof(id), "r%d-%d", r->id, i);
		snprintf(who, sizeof(who), "spiffe://example.org/r%d/%d",
		    r->id, i);
		if (grant(r->g, id, who, T0, T0 + HOUR, NULL, 0, &err) == -1)
			r->failed++;
	}
	return NULL;
}

/*
 * Through the store alone (any backend): the 1000 grants name 1000
 * distinct addresses, the lowest blocks of 10.60.0.0/22: .0.1 to .3.232.
 */
static void
race_addresses_distinct(void)
{
	struct store_query	 q = { .kind = STORE_GRANT };
	struct nsreg_error	 err;
	json_t			*items, *seen_addr;
	const json_t		*o;
	const char		*a;
	int64_t			 rev;
	size_t			 i;
	int			 more;

	cr_assert_eq(store_list(st, &q, T0, &items, &rev, &more, &err), 0,
	    "%s", err.message);
	cr_assert_eq(json_array_size(items), 1000);
	seen_addr = json_object();
	json_array_foreach(items, i, o) {
		a = json_string_value(json_object_get(o, "address"));
		cr_assert_not_null(a);
		cr_expect_null(json_object_get(seen_addr, a), "%s twice", a);
		json_object_set_new(seen_addr, a, json_true());
	}
	cr_expect_eq(json_object_size(seen_addr), 1000);
	cr_expect_not_null(json_object_get(seen_addr, "10.60.0.1/32"));
	cr_expect_not_null(json_object_get(seen_addr, "10.60.3.232/32"));
	cr_expect_null(json_object_get(seen_addr, "10.60.3.233/32"));
	json_decref(seen_addr);
	json_decref(items);
}

Test(leases, two_times_five_hundred_racing_grants_never_share_a_block)
{
	struct gctx	 g;
	struct racer	 r[2];
	pthread_t	 t[2];
	sqlite3		*db;
	sqlite3_stmt	*q;
	char		 path[300];
	int		 i;

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/22", 32, "db-1");
	for (i = 0; i < 2; i++) {
		r[i].g = &g;
		r[i].id = i;
		r[i].n = 500;
		r[i].failed = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, race_main, &r[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(r[i].failed, 0);
	}
	cr_expect_eq(live_leases("db", T0), 1000);
	if (test_pg()) {
		race_addresses_distinct();
		return;
	}
	/* 1000 distinct blocks, and the lowest ones: 1 to 1000. */
	snprintf(path, sizeof(path), "%s/nsreg.db", test_dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(DISTINCT slot), "
	    "min(slot), max(slot), count(*) FROM ipam_leases", -1, &q, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	cr_expect_eq(sqlite3_column_int(q, 0), 1000);
	cr_expect_eq(sqlite3_column_int(q, 1), 1);
	cr_expect_eq(sqlite3_column_int(q, 2), 1000);
	cr_expect_eq(sqlite3_column_int(q, 3), 1000);
	sqlite3_finalize(q);
	/* Every grant's object names the address of its lease. */
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM grants g "
	    "JOIN objects o ON o.kind = 4 AND o.name = g.id "
	    "WHERE json_extract(o.object, '$.address') = "
	    "'10.60.' || ((g.slot >> 8) & 255) || '.' || (g.slot & 255) || "
	    "'/32'", -1, &q, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	cr_expect_eq(sqlite3_column_int(q, 0), 1000);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

Test(leases, an_endpoint_going_away_revokes_its_grants)
{
	struct gctx		g, h;
	struct store_object	o;
	struct nsreg_error	err;
	size_t			i, n;

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/16", 32, "db-1");
	gctx_init(&h, "db", "10.60.0.0/16", 32, "db-2");
	grant_ok(&g, "a1", "spiffe://example.org/a", "10.60.0.1/32");
	grant_ok(&h, "b1", "spiffe://example.org/b", "10.60.0.2/32");
	n = seen.n;
	cr_assert_eq(store_delete(st, STORE_ENDPOINT, "db-1", 0, T0, NULL,
	    &err), 0, "%s", err.message);
	cr_expect_str_eq(deleted_reason("a1"), "endpoint_gone");
	/* The endpoint's event comes first, the grant's right after it. */
	cr_assert_eq(seen.n, n + 2);
	cr_expect_str_eq(seen.name[n], "db-1");
	cr_expect_str_eq(seen.name[n + 1], "a1");
	cr_expect_eq(seen.rev[n + 1], seen.rev[n] + 1);
	memset(&o, 0, sizeof(o));
	cr_expect_eq(store_fetch(st, STORE_GRANT, "a1", T0, &o, &err), -1);
	cr_expect_eq(store_fetch(st, STORE_GRANT, "b1", T0, &o, &err), 0);
	store_object_clear(&o);
	cr_expect_eq(live_leases("db", T0), 1);
	/* An endpoint that expires takes its grants along when swept. */
	h.endpoint_rev = put_endpoint("db-2", "db", T0 + 1000);
	cr_assert_geq(store_prune(st, T0 + 2000, &err), 1);
	cr_expect_str_eq(deleted_reason("b1"), "endpoint_gone");
	cr_expect_eq(live_leases("db", T0), 0);
	for (i = 0; i < seen.n; i++)
		cr_expect(seen.kind[i] != STORE_GRANT ||
		    seen.type[i] != STORE_DELETED ||
		    seen.reason[i][0] != '\0');
}

Test(leases, an_endpoint_dropping_a_service_revokes_its_grants_there)
{
	struct gctx	g, h;

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/16", 32, "both");
	h.service = "web";
	gctx_init(&h, "web", NULL, 0, "both");
	g.endpoint_rev = h.endpoint_rev = put(STORE_ENDPOINT, "both",
	    json_pack("{s:s, s:[s, s]}", "url", "tcp://10.0.0.1:1",
	    "network_service_names", "db", "web"), T0, 0);
	grant_ok(&g, "d1", "spiffe://example.org/a", "10.60.0.1/32");
	grant_ok(&h, "w1", "spiffe://example.org/a", "");
	put(STORE_ENDPOINT, "both", json_pack("{s:s, s:[s]}", "url",
	    "tcp://10.0.0.1:1", "network_service_names", "web"), T0, 0);
	cr_expect_str_eq(deleted_reason("d1"), "endpoint_gone");
	cr_expect_null(deleted_reason("w1"));
	cr_expect_eq(live_leases("db", T0), 0);
}

Test(leases, vl3_cannot_change_under_live_grants)
{
	struct gctx		g;
	struct store_object	o;
	struct nsreg_error	err;
	int			created;

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/16", 32, "db-1");
	grant_ok(&g, "a1", "spiffe://example.org/a", "10.60.0.1/32");
	/* The same vl3 is fine. */
	put_service("db", "10.60.0.0/16", 32);
	memset(&o, 0, sizeof(o));
	o.kind = STORE_SERVICE;
	o.name = strdup("db");
	o.doc = json_pack("{s:s, s:{s:s, s:i}}", "payload", "IP", "vl3",
	    "prefix", "10.61.0.0/16", "client_prefix_len", 32);
	cr_expect_eq(store_put(st, &o, 0, NULL, NULL, T0, &created, &err), -1);
	cr_expect_eq(err.code, NSREG_CONFLICT);
	cr_expect(strstr(err.message, "10.60.0.0/16") != NULL, "%s",
	    err.message);
	json_object_del(o.doc, "vl3");
	cr_expect_eq(store_put(st, &o, 0, NULL, NULL, T0, &created, &err), -1);
	cr_expect_eq(err.code, NSREG_CONFLICT);
	store_object_clear(&o);
	grant_revoke("a1", T0);
	g.service_rev = put_service("db", "10.61.0.0/16", 32);
	pool(&g.pool, "10.61.0.0/16", 32);
	grant_ok(&g, "a2", "spiffe://example.org/a", "10.61.0.1/32");
	/* A grant made from the old record is told to read again. */
	g.service_rev--;
	cr_expect_eq(grant(&g, "a3", "spiffe://example.org/b", T0, T0 + HOUR,
	    NULL, 0, &err), -1);
	cr_expect_eq(err.code, NSREG_FAILED_PRECONDITION);
}

Test(leases, a_newer_lease_survives_the_sweep_of_an_older_one)
{
	struct gctx		g;
	struct nsreg_error	err;
	char			addr[IPAM_TEXT_MAX];

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/16", 32, "db-1");
	cr_assert_eq(grant(&g, "old", "spiffe://example.org/a", T0, T0 + 1000,
	    addr, sizeof(addr), &err), 0, "%s", err.message);
	/* Expired, not swept: the pool may change and start over. */
	g.service_rev = put_service_at("db", "10.70.0.0/16", 32, T0 + 2000);
	pool(&g.pool, "10.70.0.0/16", 32);
	cr_assert_eq(grant(&g, "new", "spiffe://example.org/a", T0 + 2000,
	    T0 + HOUR, addr, sizeof(addr), &err), 0, "%s", err.message);
	cr_expect_str_eq(addr, "10.70.0.1/32");
	cr_assert_geq(store_prune(st, T0 + 2000, &err), 1);
	cr_expect_str_eq(deleted_reason("old"), "expired");
	cr_expect_eq(live_leases("db", T0 + 2000), 1);
	cr_assert_eq(grant(&g, "other", "spiffe://example.org/b", T0 + 2000,
	    T0 + HOUR, addr, sizeof(addr), &err), 0, "%s", err.message);
	cr_expect_str_eq(addr, "10.70.0.2/32");
}

Test(leases, a_deleted_service_revokes_its_grants)
{
	struct gctx		g;
	struct nsreg_error	err;

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/16", 32, "db-1");
	grant_ok(&g, "a1", "spiffe://example.org/a", "10.60.0.1/32");
	cr_assert_eq(store_delete(st, STORE_SERVICE, "db", 0, T0, NULL, &err),
	    0);
	cr_expect_str_eq(deleted_reason("a1"), "service_gone");
	cr_expect_eq(live_leases("db", T0), 0);
	cr_expect_eq(grant(&g, "a2", "spiffe://example.org/a", T0, T0 + HOUR,
	    NULL, 0, &err), -1);
	cr_expect_eq(err.code, NSREG_NOT_FOUND);
}

Test(leases, grants_without_vl3_have_no_address)
{
	struct gctx	g;

	use_key("k1", T0);
	gctx_init(&g, "l7", NULL, 0, "l7-1");
	grant_ok(&g, "x1", "spiffe://example.org/a", "");
	grant_ok(&g, "x2", "spiffe://example.org/a", "");
	grant_revoke("x1", T0);
}

Test(leases, a_retired_key_signs_no_more_grants)
{
	struct gctx		g;
	struct nsreg_error	err;

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/16", 32, "db-1");
	grant_ok(&g, "a1", "spiffe://example.org/a", "10.60.0.1/32");
	use_key("k2", T0);
	cr_expect_eq(grant(&g, "a2", "spiffe://example.org/a", T0, T0 + HOUR,
	    NULL, 0, &err), -1);
	cr_expect_eq(err.code, NSREG_FAILED_PRECONDITION);
	cr_expect_eq(store_grant_delete(st, "a1", 0, "nonsense", T0, NULL,
	    &err), -1);
	cr_expect_eq(err.code, NSREG_INVALID_ARGUMENT);
}

static void
load_cb(const char *endpoint, int64_t n, void *arg)
{
	json_object_set_new(arg, endpoint, json_integer(n));
}

Test(leases, loads_count_live_grants_per_endpoint)
{
	struct gctx		g, h;
	struct nsreg_error	err;
	char			addr[IPAM_TEXT_MAX];
	json_t			*loads;

	use_key("k1", T0);
	gctx_init(&g, "db", "10.60.0.0/16", 32, "db-1");
	gctx_init(&h, "db", "10.60.0.0/16", 32, "db-2");
	grant_ok(&g, "a1", "spiffe://example.org/a", NULL);
	grant_ok(&g, "b1", "spiffe://example.org/b", NULL);
	grant_ok(&h, "c1", "spiffe://example.org/c", NULL);
	cr_assert_eq(grant(&h, "d1", "spiffe://example.org/d", T0, T0 + 10,
	    addr, sizeof(addr), &err), 0);
	loads = json_object();
	cr_assert_eq(store_grant_loads(st, T0 + 100, load_cb, loads, &err), 0);
	cr_expect_eq(json_integer_value(json_object_get(loads, "db-1")), 2);
	cr_expect_eq(json_integer_value(json_object_get(loads, "db-2")), 1);
	cr_expect_eq(json_object_size(loads), 2);
	json_decref(loads);
}
