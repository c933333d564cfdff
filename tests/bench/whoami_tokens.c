/*
 * whoami_tokens.c - mint many JWT-SVIDs for the whoami benchmark, one a
 * line, for loadgen --lines.  Each has its own subject, so no two are
 * alike.  nsreg-svid mints one per run; the benchmark wants thousands.
 *
 * whoami_tokens -d CADIR -n COUNT -a AUDIENCE [-t TTL_SECONDS] [-p PREFIX]
 *
 * Subjects are spiffe://<the CA's trust domain>/PREFIX/<k> (PREFIX
 * defaults to "bench").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svid.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: whoami_tokens -d cadir -n count -a audience "
	    "[-t ttl-seconds] [-p prefix]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct svid_jwt_req	 req;
	struct nsreg_error	 err;
	struct svid_ca		*ca;
	const char		*dir = NULL, *aud = NULL, *prefix = "bench";
	const char		*auds[1];
	char			 id[512], *tok;
	long long		 n = 0, ttl = 3600, k;
	int64_t			 now;
	int			 ch;

	while ((ch = getopt(argc, argv, "d:n:a:t:p:")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			if (util_number_parse(optarg, 1, 10000000, &n) == -1)
				usage();
			break;
		case 'a':
			aud = optarg;
			break;
		case 't':
			if (util_number_parse(optarg, 61, 86400 * 365,
			    &ttl) == -1)
				usage();
			break;
		case 'p':
			prefix = optarg;
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || aud == NULL || n == 0)
		usage();
	if ((ca = svid_ca_load(dir, &err)) == NULL) {
		fprintf(stderr, "whoami_tokens: %s\n", err.message);
		return 1;
	}
	auds[0] = aud;
	now = util_now_ms();
	for (k = 0; k < n; k++) {
		snprintf(id, sizeof(id), "spiffe://%s/%s/%lld",
		    svid_ca_trust_domain(ca), prefix, k);
		memset(&req, 0, sizeof(req));
		req.id = id;
		req.aud = auds;
		req.naud = 1;
		req.ttl_ms = ttl * 1000;
		if (svid_jwt_issue(ca, &req, now, &tok, &err) == -1) {
			fprintf(stderr, "whoami_tokens: %s\n", err.message);
			svid_ca_free(ca);
			return 1;
		}
		puts(tok);
		free(tok);
	}
	svid_ca_free(ca);
	return fflush(stdout) == 0 ? 0 : 1;
}
