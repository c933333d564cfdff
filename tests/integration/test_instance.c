/*
 * test_instance.c - instance-name (DESIGN section 2): the name, or the
 * host name by default, in /readyz, /metrics and every log line, so that
 * the instances of a cluster can be told apart.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

static struct nsregd	srv;

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(instance, .fini = teardown, .timeout = 60);

/* /readyz's instance, nsreg_instance_info and the log all say name. */
static void
expect_instance(const char *name)
{
	struct hcred	 none, admin;
	struct hresp	 r;
	char		 want[512], path[PATH_MAX], *log, *line, *save;
	int		 nlines = 0, started = 0;

	hcred_none(&none);
	hcred_admin(&srv, &admin);
	cr_assert_eq(hreq(&srv, &none, "GET", "/readyz", NULL, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "status")),
	    "ready");
	cr_expect_str_eq(json_string_value(json_object_get(r.json,
	    "instance")), name);
	cr_expect_eq(json_object_size(r.json), 2, "%s", r.body);
	hresp_free(&r);

	cr_assert_eq(hreq(&srv, &admin, "GET", "/metrics", NULL, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	snprintf(want, sizeof(want), "\n# TYPE nsreg_instance_info gauge\n"
	    "nsreg_instance_info{instance_name=\"%s\"} 1\n", name);
	cr_expect(strstr(r.body, want) != NULL, "no %s in\n%s", want, r.body);
	/* One series: the name of this instance only. */
	cr_expect_eq(strstr(strstr(r.body, want) + 1, "nsreg_instance_info{"),
	    strstr(r.body, want) + strlen("\n# TYPE nsreg_instance_info "
	    "gauge\n"));
	hresp_free(&r);

	/* Every line nsregd wrote since it read its configuration. */
	log = util_file_read(nsregd_path(&srv, "nsregd.log", path,
	    sizeof(path)), 16 * 1024 * 1024, NULL);
	cr_assert_not_null(log);
	snprintf(want, sizeof(want), " instance=%s msg=", name);
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "ts=", 3) != 0)
			continue;
		cr_expect(strstr(line, want) != NULL &&
		    strstr(line, want) == strchr(strstr(line, " level=") + 1,
		    ' '), "%s", line);
		started |= strstr(line, "msg=started ") != NULL;
		nlines++;
	}
	cr_expect(started, "no msg=started line");
	cr_expect_geq(nlines, 2);
	free(log);
}

Test(instance, named_in_readyz_metrics_and_log)
{
	nsregd_start(&srv, "instance-name nsreg-a.eu-west_1\n");
	expect_instance("nsreg-a.eu-west_1");
}

Test(instance, host_name_by_default)
{
	char	host[256];

	memset(host, 0, sizeof(host));
	cr_assert_eq(gethostname(host, sizeof(host) - 1), 0);
	nsregd_start(&srv, NULL);
	expect_instance(host);
}
