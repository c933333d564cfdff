/*
 * identity_bench.c - benchmark of the identity library: JWT-SVID
 * verifications per second on cache misses and on cache hits, the bare
 * OpenSSL ECDSA P-256 verify they are built on, and X.509-SVID chain
 * verifications.
 * tests/bench/identity.sh runs it next to `openssl speed ecdsap256'.
 * Rates are per second of CPU time, as openssl speed counts them (the
 * _wall_ lines give wall-clock rates).
 *
 * usage: identity_bench [-m] [-s seconds] [-n tokens]
 *   -m  cache misses only (the script pairs it with openssl speed)
 * Prints "name value" lines.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "identity_int.h"
#include "jwtsvid.h"
#include "principal.h"
#include "svid.h"
#include "tokcache.h"
#include "trust.h"
#include "util.h"
#include "x509svid.h"

#define AUD	"spiffe://bench.test/nsregd"

static double	seconds = 2.0;

/* CPU time of this process in microseconds (user and system). */
static int64_t
cpu_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double	last_wall_rate;

/*
 * Run fn(i, arg) for the given seconds of CPU time; calls per CPU second
 * (what `openssl speed' reports: it counts user time, so a busy machine
 * does not skew the comparison).  last_wall_rate gets calls per second of
 * wall time.
 */
static double
bench(int (*fn)(size_t, void *), void *arg, size_t *count)
{
	int64_t	c0 = cpu_us(), w0 = util_mono_us(), end;
	size_t	i = 0, j;

	end = c0 + (int64_t)(seconds * 1e6);
	for (;;) {
		/* Check the clock every 64 calls. */
		for (j = 0; j < 64; j++, i++)
			if (fn(i, arg) != 0) {
				fprintf(stderr,
				    "identity_bench: call %zu failed\n", i);
				exit(1);
			}
		if (cpu_us() >= end)
			break;
	}
	if (count != NULL)
		*count = i;
	last_wall_rate = (double)i * 1e6 / (double)(util_mono_us() - w0);
	return (double)i * 1e6 / (double)(cpu_us() - c0);
}

struct jwt_bench {
	struct trust		*trust;
	struct tokcache	*cache;
	char			**toks;
	size_t			 *lens;
	size_t			  n;
	int64_t			  now;
};

static int
jwt_one(size_t i, void *arg)
{
	struct jwt_bench	*b = arg;
	struct nsreg_error	 err;
	struct principal	 p;
	int			 rc;

	memset(&p, 0, sizeof(p));
	rc = jwtsvid_verify(b->cache, b->trust, AUD, b->toks[i % b->n],
	    b->lens[i % b->n], b->now, &p, &err);
	if (rc != 0)
		fprintf(stderr, "identity_bench: %s\n", err.message);
	principal_clear(&p);
	return rc;
}

struct ecdsa_bench {
	EVP_PKEY	*pkey;
	unsigned char	 sig[128];
	size_t		 siglen;
	unsigned char	 msg[32];
};

/* What openssl speed measures, with our key: one ECDSA verify. */
static int
ecdsa_one(size_t i, void *arg)
{
	struct ecdsa_bench	*b = arg;
	EVP_PKEY_CTX		*ctx;
	int			 ok;

	(void)i;
	ctx = EVP_PKEY_CTX_new(b->pkey, NULL);
	ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_verify(ctx, b->sig, b->siglen, b->msg,
	    sizeof(b->msg)) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

struct x509_bench {
	struct tokcache	*cache;
	struct trust		*trust;
	struct svid_chain	 chain;
	int64_t			 now;
};

static int
x509_one(size_t i, void *arg)
{
	struct x509_bench	*b = arg;
	struct nsreg_error	 err;
	struct principal	 p;
	int			 rc;

	(void)i;
	memset(&p, 0, sizeof(p));
	rc = x509svid_verify_cached(b->cache, b->trust, b->chain.certs,
	    b->chain.n, b->now, X509SVID_PURPOSE_CLIENT, &p, &err);
	if (rc != 0)
		fprintf(stderr, "identity_bench: %s\n", err.message);
	principal_clear(&p);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct nsreg_error	 err;
	struct svid_ca		*ca;
	struct bundle		*b;
	struct jwt_bench	 jb;
	struct ecdsa_bench	 eb;
	struct x509_bench	 xb;
	struct svid_jwt_req	 req;
	struct svid_x509_req	 xreq;
	const char		*aud[] = { AUD };
	EVP_PKEY_CTX		*sctx;
	char			 sub[64], *pem, *key;
	double			 miss, hit, ecdsa, x509;
	size_t			 i, n = 2000, count;
	int			 ch, miss_only = 0;

	while ((ch = getopt(argc, argv, "ms:n:")) != -1) {
		switch (ch) {
		case 'm':
			miss_only = 1;
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		case 'n':
			n = (size_t)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: identity_bench [-m] "
			    "[-s seconds] [-n tokens]\n");
			return 2;
		}
	}
	if (seconds <= 0 || n == 0) {
		fprintf(stderr, "identity_bench: bad -s or -n\n");
		return 2;
	}

	memset(&jb, 0, sizeof(jb));
	jb.now = util_now_ms();
	if ((ca = svid_ca_generate("bench.test", jb.now, 0, &err)) == NULL ||
	    (jb.trust = trust_new("bench.test", &err)) == NULL ||
	    (b = svid_ca_bundle(ca, &err)) == NULL ||
	    trust_set(jb.trust, b, &err) == -1) {
		fprintf(stderr, "identity_bench: %s\n", err.message);
		return 1;
	}
	bundle_unref(b);

	/* n distinct ES256 tokens, as n workloads would present them. */
	jb.toks = calloc(n, sizeof(*jb.toks));
	jb.lens = calloc(n, sizeof(*jb.lens));
	jb.n = n;
	memset(&req, 0, sizeof(req));
	req.aud = aud;
	req.naud = 1;
	req.ttl_ms = 3600 * 1000;
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "spiffe://bench.test/ns/w/sa/%zu",
		    i);
		req.id = sub;
		if (svid_jwt_issue(ca, &req, jb.now, &jb.toks[i], &err) == -1) {
			fprintf(stderr, "identity_bench: %s\n", err.message);
			return 1;
		}
		jb.lens[i] = strlen(jb.toks[i]);
	}
	/* Misses: no cache, every call checks a signature. */
	jb.cache = NULL;
	miss = bench(jwt_one, &jb, &count);
	printf("jwt_verify_miss_per_s %.0f\n", miss);
	printf("jwt_verify_miss_per_wall_s %.0f\n", last_wall_rate);
	if (miss_only)
		goto done;
	printf("token_bytes %zu\n", jb.lens[0]);

	/* Hits: a 1000-entry cache, warm with the tokens in use. */
	jb.cache = tokcache_new(1000);
	jb.n = n < 1000 ? n : 1000;
	for (i = 0; i < jb.n; i++)
		jwt_one(i, &jb);
	hit = bench(jwt_one, &jb, &count);
	printf("jwt_verify_hit_per_s %.0f\n", hit);
	printf("jwt_verify_hit_per_wall_s %.0f\n", last_wall_rate);
	printf("jwt_verify_hit_ns %.0f\n", 1e9 / hit);
	{
		uint64_t	h, m;

		tokcache_stats(jb.cache, &h, &m);
		printf("jwt_cache_hit_ratio %.4f\n", (double)h /
		    (double)(h + m));
	}

	/* The bare ECDSA P-256 verify, in this process, pre-parsed key. */
	memset(&eb, 0, sizeof(eb));
	eb.pkey = EVP_EC_gen("P-256");
	memset(eb.msg, 0x5a, sizeof(eb.msg));
	eb.siglen = sizeof(eb.sig);
	sctx = EVP_PKEY_CTX_new(eb.pkey, NULL);
	if (sctx == NULL || EVP_PKEY_sign_init(sctx) != 1 ||
	    EVP_PKEY_sign(sctx, eb.sig, &eb.siglen, eb.msg,
	    sizeof(eb.msg)) != 1) {
		fprintf(stderr, "identity_bench: cannot sign\n");
		return 1;
	}
	EVP_PKEY_CTX_free(sctx);
	ecdsa = bench(ecdsa_one, &eb, NULL);
	printf("ecdsa_p256_verify_per_s %.0f\n", ecdsa);
	printf("jwt_miss_vs_inprocess_ecdsa %.3f\n", miss / ecdsa);

	/* X.509-SVID: leaf + intermediate to the bundle's root. */
	memset(&xb, 0, sizeof(xb));
	xb.trust = jb.trust;
	xb.now = jb.now;
	memset(&xreq, 0, sizeof(xreq));
	xreq.id = "spiffe://bench.test/ns/w/sa/x";
	xreq.flags = SVID_X509_INTERMEDIATE;
	if (svid_x509_issue(ca, &xreq, jb.now, &pem, &key, &err) == -1 ||
	    svid_chain_from_pem(pem, strlen(pem), &xb.chain, &err) == -1) {
		fprintf(stderr, "identity_bench: %s\n", err.message);
		return 1;
	}
	x509 = bench(x509_one, &xb, NULL);
	printf("x509_verify_chain2_per_s %.0f\n", x509);
	xb.cache = jb.cache;
	x509 = bench(x509_one, &xb, NULL);
	printf("x509_verify_chain2_cached_per_s %.0f\n", x509);

	svid_chain_free(&xb.chain);
	free(pem);
	free(key);
	EVP_PKEY_free(eb.pkey);
done:
	tokcache_free(jb.cache);
	for (i = 0; i < n; i++)
		free(jb.toks[i]);
	free(jb.toks);
	free(jb.lens);
	trust_free(jb.trust);
	svid_ca_free(ca);
	return 0;
}
