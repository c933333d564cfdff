/*
 * test_metrics.c - /metrics (DESIGN sections 3 and 4): who may read it,
 * a strictly valid Prometheus text exposition with the standard process
 * series, 405 and 413 counted under their route, and nsreg_watchers
 * following streams whose client left within seconds.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

static struct nsregd	srv;

static void
setup(void)
{
	nsregd_start(&srv, "metrics-reader SPIFFE://EXAMPLE.org/prometheus\n"
	    "max-body 4k\nwatch-bookmark 15s\n");
}

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(metrics, .init = setup, .fini = teardown, .timeout = 90);

Test(metrics, only_admins_and_metrics_readers_may_read)
{
	static const struct {
		const char	*who;	/* "none", "admin", or x509:/jwt: ID */
		long		 status;
	} v[] = {
		{ "none", 401 },
		{ "admin", 200 },
		{ "x509:spiffe://example.org/prometheus", 200 },
		{ "jwt:spiffe://example.org/prometheus", 200 },
		{ "x509:spiffe://example.org/ns/default/sa/client", 403 },
		{ "jwt:spiffe://example.org/ns/default/sa/client", 403 },
		/* The path is case-sensitive, the trust domain is not. */
		{ "jwt:spiffe://example.org/Prometheus", 403 },
		{ "jwt:spiffe://example.org/prometheus/x", 403 },
	};
	struct hcred	c;
	struct hresp	r;
	size_t		i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (strcmp(v[i].who, "none") == 0)
			hcred_none(&c);
		else if (strcmp(v[i].who, "admin") == 0)
			hcred_admin(&srv, &c);
		else if (strncmp(v[i].who, "x509:", 5) == 0)
			hcred_issue_x509(&srv, v[i].who + 5, 0, &c);
		else
			hcred_issue_jwt(&srv, v[i].who + 4, 0, &c);
		cr_assert_eq(hreq(&srv, &c, "GET", "/metrics", NULL, NULL,
		    NULL, &r), 0);
		cr_expect_eq(r.status, v[i].status, "%s: %ld %s", v[i].who,
		    r.status, r.body);
		if (v[i].status == 200)
			cr_expect(strstr(r.body, "nsreg_watchers ") != NULL);
		else
			cr_expect_str_eq(hresp_error(&r), v[i].status == 401 ?
			    "unauthenticated" : "permission_denied");
		hresp_free(&r);
	}
}

static char *
scrape(void)
{
	struct hcred	 c;
	struct hresp	 r;
	char		*s;

	hcred_admin(&srv, &c);
	cr_assert_eq(hreq(&srv, &c, "GET", "/metrics", NULL, NULL, NULL, &r),
	    0);
	cr_assert_eq(r.status, 200);
	cr_expect(strncmp(hresp_header(&r, "Content-Type"), "text/plain", 10)
	    == 0);
	s = strdup(r.body);
	hresp_free(&r);
	return s;
}

/* The value of the sample "series" (name with labels), -1 if absent. */
static double
sample(const char *text, const char *series)
{
	const char	*p;
	size_t		 n = strlen(series);

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return -1;
}

static int
name_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' ||
	    s[0] == ':'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' ||
		    s[i] == ':'))
			return 0;
	return 1;
}

/*
 * The text exposition format, strictly: HELP and TYPE once per family and
 * before its samples, names and label names by the grammar, label values
 * quoted with only \\, \" and \n escapes, a float value, every series
 * once, histogram families only with _bucket (le), _sum and _count.
 */
Test(metrics, exposition_is_strictly_valid)
{
	char		*text = scrape(), *line, *save, *copy;
	char		 types[256][128], seen[2048][256];
	size_t		 ntypes = 0, nseen = 0, i, n;
	int		 lineno = 0;

	copy = strdup(text);
	cr_assert_eq(copy[strlen(copy) - 1], '\n', "no final newline");
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char	*p = line, *name, *fam_type = NULL;
		char		 fam[128], *end;
		size_t		 k;

		lineno++;
		if (strncmp(p, "# HELP ", 7) == 0 ||
		    strncmp(p, "# TYPE ", 7) == 0) {
			name = p + 7;
			n = strcspn(name, " ");
			cr_assert(name_ok(name, n), "line %d: %s", lineno,
			    line);
			cr_assert_eq(name[n], ' ', "line %d", lineno);
			if (p[2] == 'T') {
				const char *t = name + n + 1;

				cr_assert(strcmp(t, "counter") == 0 ||
				    strcmp(t, "gauge") == 0 ||
				    strcmp(t, "histogram") == 0,
				    "line %d: type %s", lineno, t);
				for (k = 0; k < ntypes; k++)
					cr_assert(strncmp(types[k], name, n) != 0 ||
					    types[k][n] != ' ',
					    "line %d: TYPE twice", lineno);
				cr_assert_lt(ntypes, 256);
				snprintf(types[ntypes++], 128, "%.*s %s",
				    (int)n, name, t);
			}
			continue;
		}
		cr_assert_neq(p[0], '#', "line %d: stray comment", lineno);
		n = strcspn(p, "{ ");
		cr_assert(name_ok(p, n), "line %d: %s", lineno, line);
		/* The family: strip histogram suffixes when declared so. */
		snprintf(fam, sizeof(fam), "%.*s", (int)n, p);
		for (k = 0; k < ntypes && fam_type == NULL; k++) {
			size_t	fl = strcspn(types[k], " ");
			const char *t = types[k] + fl + 1;

			if (strncmp(types[k], fam, fl) != 0)
				continue;
			if (fam[fl] == '\0' && strcmp(t, "histogram") != 0)
				fam_type = t;
			else if (strcmp(t, "histogram") == 0 &&
			    (strcmp(fam + fl, "_bucket") == 0 ||
			    strcmp(fam + fl, "_sum") == 0 ||
			    strcmp(fam + fl, "_count") == 0))
				fam_type = t;
		}
		cr_assert_not_null(fam_type, "line %d: %s has no TYPE before "
		    "it", lineno, fam);
		p += n;
		if (*p == '{') {
			p++;
			while (*p != '}') {
				k = strcspn(p, "=");
				cr_assert(name_ok(p, k), "line %d: label", lineno);
				p += k;
				cr_assert(p[0] == '=' && p[1] == '"', "line %d",
				    lineno);
				p += 2;
				while (*p != '"') {
					cr_assert_neq(*p, '\0', "line %d",
					    lineno);
					if (*p == '\\') {
						cr_assert(p[1] == '\\' ||
						    p[1] == '"' || p[1] == 'n',
						    "line %d: escape", lineno);
						p++;
					}
					p++;
				}
				p++;
				if (*p == ',')
					p++;
				else
					cr_assert_eq(*p, '}', "line %d",
					    lineno);
			}
			p++;
		}
		cr_assert_eq(*p, ' ', "line %d: %s", lineno, line);
		strtod(p + 1, &end);
		cr_assert(end != p + 1 && *end == '\0', "line %d: value in %s",
		    lineno, line);
		n = (size_t)(p - line);
		for (i = 0; i < nseen; i++)
			cr_assert(strncmp(seen[i], line, n) != 0 ||
			    seen[i][n] != '\0', "line %d: series twice: %s",
			    lineno, line);
		if (nseen < 2048)
			snprintf(seen[nseen++], 256, "%.*s", (int)n, line);
	}
	free(copy);
	free(text);
}

Test(metrics, process_series_are_there_and_sane)
{
	char	*t = scrape();
	double	 start, now = (double)util_now_ms() / 1000.0;

	start = sample(t, "process_start_time_seconds");
	cr_expect(start > now - 120 && start <= now + 1, "start %f", start);
	cr_expect_geq(sample(t, "process_cpu_seconds_total"), 0);
	cr_expect_gt(sample(t, "process_resident_memory_bytes"), 1e6);
	cr_expect_gt(sample(t, "process_virtual_memory_bytes"), 1e6);
	cr_expect_gt(sample(t, "process_open_fds"), 3);
	cr_expect_geq(sample(t, "process_max_fds"),
	    sample(t, "process_open_fds"));
	cr_expect_eq(sample(t, "nsreg_decisions_dropped_total"), 0);
	free(t);
}

/*
 * Every reason the HTTP/2 abuse limits close a connection for is a
 * series from the start, so alerts see it go from 0 to 1.
 */
Test(metrics, h2_goaway_reasons_are_all_there_at_zero)
{
	static const char *const reasons[] = { "rapid_reset",
	    "control_flood", "continuation_flood", "header_list",
	    "slow_read", "header_timeout" };
	char	*t = scrape(), series[128];
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		snprintf(series, sizeof(series),
		    "nsreg_h2_goaway_total{reason=\"%s\"}", reasons[i]);
		cr_expect_eq(sample(t, series), 0, "%s", series);
	}
	cr_expect(strstr(t, "# TYPE nsreg_h2_goaway_total counter\n") != NULL);
	free(t);
}

Test(metrics, refused_requests_count_under_their_route)
{
	static const struct {
		const char	*method;
		const char	*path;
		size_t		 body;
		const char	*series;
	} v[] = {
		{ "DELETE", "/healthz", 0, "nsreg_http_requests_total{route="
		    "\"/healthz\",method=\"DELETE\",code=\"405\"}" },
		{ "POST", "/v1/endpoints/x", 0, "nsreg_http_requests_total{"
		    "route=\"/v1/endpoints/{name}\",method=\"POST\","
		    "code=\"405\"}" },
		{ "PUT", "/v1/endpoints/x", 8192, "nsreg_http_requests_total{"
		    "route=\"/v1/endpoints/{name}\",method=\"PUT\","
		    "code=\"413\"}" },
		{ "POST", "/v1/grants", 8192, "nsreg_http_requests_total{"
		    "route=\"/v1/grants\",method=\"POST\",code=\"413\"}" },
	};
	struct hcred	 c;
	struct hresp	 r;
	char		*body, *t;
	int64_t		 end;
	size_t		 i;

	hcred_x509(&srv, &c);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		body = NULL;
		if (v[i].body > 0) {
			body = malloc(v[i].body + 1);
			memset(body, ' ', v[i].body);
			body[0] = '{';
			body[v[i].body - 1] = '}';
			body[v[i].body] = '\0';
		}
		hreq(&srv, &c, v[i].method, v[i].path, body, NULL, NULL, &r);
		cr_expect_eq(r.status, strstr(v[i].series, "413") != NULL ?
		    413 : 405, "%s %s: %ld", v[i].method, v[i].path, r.status);
		hresp_free(&r);
		free(body);
	}
	/*
	 * A request counts once MHD has ended it, which may be after the
	 * client read a reply refused before its body: wait for that.
	 */
	end = util_now_ms() + 3000;
	for (;;) {
		t = scrape();
		for (i = 0; i < sizeof(v) / sizeof(v[0]) &&
		    sample(t, v[i].series) == 1; i++)
			;
		if (i == sizeof(v) / sizeof(v[0]) || util_now_ms() > end)
			break;
		free(t);
		usleep(20 * 1000);
	}
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cr_expect_eq(sample(t, v[i].series), 1, "%s", v[i].series);
	free(t);
}

/* nsreg_watchers, polled until it is want or 5 s passed. */
static double
watchers_become(double want)
{
	double	v = -1;
	char	*t;
	int	i;

	for (i = 0; i < 50; i++) {
		t = scrape();
		v = sample(t, "nsreg_watchers");
		free(t);
		if (v == want)
			break;
		usleep(100 * 1000);
	}
	return v;
}

Test(metrics, watchers_follow_clients_that_leave)
{
	struct hcred	c;
	struct hwatch	w[3];
	int		i;

	nsregd_allow_local(&srv);
	hcred_x509(&srv, &c);
	for (i = 0; i < 3; i++) {
		hwatch_start(&w[i], &srv, &c, "/v1/endpoints?watch=true");
		cr_assert_eq(hwatch_wait(&w[i], 1, 5000), 1);
	}
	cr_expect_eq(watchers_become(3), 3);
	hwatch_stop(&w[0]);
	hwatch_stop(&w[1]);
	/* watch-bookmark is 15 s: only the hang-up can tell. */
	cr_expect_eq(watchers_become(1), 1, "nsreg_watchers lags");
	hwatch_stop(&w[2]);
	cr_expect_eq(watchers_become(0), 0, "nsreg_watchers lags");
}
