/*
 * test_check.c - nsregd -n checks every file the configuration names the
 * way the start reads it (server_check, the code the start and SIGHUP
 * run): each file directive x each way a file can be wrong, through the
 * function and through the nsregd binary, and no special file ever makes
 * either block.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "dev.h"
#include "grant.h"
#include "server.h"
#include "util.h"

static char	dir[PATH_MAX];
static char	confpath[PATH_MAX];

static void
setup(void)
{
	struct nsreg_error	 err;
	char			 tmpl[] = "/tmp/nsreg-check-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/dev", tmpl);
	struct grant_key	*k;
	char			 key[PATH_MAX];

	cr_assert_eq(dev_prepare(dir, confpath, sizeof(confpath), &err), 0,
	    "%s", err.message);
	/* nsregd --dev makes its grant key at the first start. */
	snprintf(key, sizeof(key), "%s/grant.key", dir);
	cr_assert_not_null(k = grant_key_load(key, 1, &err), "%s",
	    err.message);
	grant_key_unref(k);
}

static void
teardown(void)
{
	char	cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/..'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(check, .init = setup, .fini = teardown, .timeout = 60);

enum bad {
	BAD_MISSING, BAD_DIRECTORY, BAD_FIFO, BAD_DEV_ZERO, BAD_EMPTY,
	BAD_GARBAGE, BAD_OTHER_KEY, BAD_TOO_BIG, BAD_MAX
};

static const char *const bad_names[BAD_MAX] = {
	[BAD_MISSING] = "missing", [BAD_DIRECTORY] = "directory",
	[BAD_FIFO] = "FIFO", [BAD_DEV_ZERO] = "/dev/zero",
	[BAD_EMPTY] = "empty", [BAD_GARBAGE] = "garbage",
	[BAD_OTHER_KEY] = "mismatched pair", [BAD_TOO_BIG] = "too big",
};

static const char *const directives[] = {
	"tls-cert", "tls-key", "trust-bundle", "grant-key",
	"admin-token-file",
};
#define NDIRECTIVES	(sizeof(directives) / sizeof(directives[0]))

/* Make the bad file for case b; its path into path. 0, or -1: n/a. */
static int
make_bad(const char *kw, enum bad b, char *path, size_t len)
{
	FILE	*fp;
	size_t	 i;

	snprintf(path, len, "%s/bad-%s", dir, kw);
	switch (b) {
	case BAD_MISSING:
		snprintf(path, len, "%s/no-such-file", dir);
		return 0;
	case BAD_DIRECTORY:
		cr_assert_eq(mkdir(path, 0700), 0);
		return 0;
	case BAD_FIFO:
		cr_assert_eq(mkfifo(path, 0600), 0);
		return 0;
	case BAD_DEV_ZERO:
		snprintf(path, len, "/dev/zero");
		return 0;
	case BAD_OTHER_KEY:
		/* Only a key has a certificate to match. */
		if (strcmp(kw, "tls-key") != 0)
			return -1;
		snprintf(path, len, "%s/client.key", dir);
		return 0;
	default:
		break;
	}
	cr_assert_not_null(fp = fopen(path, "w"));
	if (b == BAD_GARBAGE)
		fputs("\x01\x02garbage\xff\xfe, not a key, not a cert\n", fp);
	else if (b == BAD_TOO_BIG)
		/* Past every file's limit: 4 MiB for a bundle. */
		for (i = 0; i < 60000; i++)
			fputs("0123456789abcdef0123456789abcdef0123456789abcdef"
			    "0123456789abcdef0123456789abcde\n", fp);
	fclose(fp);
	chmod(path, 0600);
	return 0;
}

/* The dev configuration with kw pointing at path, written next to it. */
static void
write_conf(const char *kw, const char *path, char *out, size_t len)
{
	char	*text, *line, *save, buf[8192];
	size_t	 n = 0;

	text = util_file_read(confpath, 65536, NULL);
	cr_assert_not_null(text);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t	kl = strlen(kw);

		if (strncmp(line, kw, kl) == 0 && line[kl] == ' ')
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    "%s \"%s\"\n", kw, path);
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\n",
			    line);
	}
	free(text);
	snprintf(out, len, "%s/bad.conf", dir);
	cr_assert_eq(util_file_write(out, buf, n, 0600), 0);
}

/* What the message must say besides the directive, per case. */
static const char *
want_reason(const char *kw, enum bad b)
{
	switch (b) {
	case BAD_MISSING:
		return "No such file or directory";
	case BAD_DIRECTORY:
		return strcmp(kw, "grant-key") == 0 ? "not a regular file" :
		    "is a directory";
	case BAD_FIFO:
	case BAD_DEV_ZERO:
		return "not a regular file";
	case BAD_TOO_BIG:
		return "larger than the limit";
	case BAD_OTHER_KEY:
		return "does not match";
	case BAD_EMPTY:
		return strcmp(kw, "admin-token-file") == 0 ?
		    "at least 16 characters" : "";
	default:
		return "";
	}
}

Test(check, every_file_directive_times_every_bad_file)
{
	char			 bad[PATH_MAX], conf2[PATH_MAX], err2[CONF_ERROR_MAX];
	char			 cmd[3 * PATH_MAX], out[4096];
	struct nsreg_error	 err;
	struct conf		*c;
	size_t			 k;
	int			 b, st;
	FILE			*p;
	int64_t			 t0;

	/* The good configuration passes, both ways. */
	c = conf_load(confpath, err2, sizeof(err2));
	cr_assert_not_null(c, "%s", err2);
	cr_assert_eq(server_check(c, 0, &err), 0, "%s", err.message);
	conf_free(c);

	for (k = 0; k < NDIRECTIVES; k++) {
		for (b = 0; b < BAD_MAX; b++) {
			if (make_bad(directives[k], (enum bad)b, bad,
			    sizeof(bad)) == -1)
				continue;
			write_conf(directives[k], bad, conf2, sizeof(conf2));
			c = conf_load(conf2, err2, sizeof(err2));
			cr_assert_not_null(c, "%s", err2);
			t0 = util_mono_us();
			cr_expect_eq(server_check(c, 0, &err), -1,
			    "%s %s passed", directives[k], bad_names[b]);
			cr_expect_lt(util_mono_us() - t0, 2000000,
			    "%s %s: blocked", directives[k], bad_names[b]);
			cr_expect(strstr(err.message, directives[k]) != NULL,
			    "%s %s: %s", directives[k], bad_names[b],
			    err.message);
			cr_expect(strstr(err.message, bad) != NULL,
			    "%s %s: the path is not named: %s", directives[k],
			    bad_names[b], err.message);
			cr_expect(strstr(err.message, want_reason(directives[k],
			    (enum bad)b)) != NULL, "%s %s: %s", directives[k],
			    bad_names[b], err.message);
			conf_free(c);

			/* nsregd -n: the same verdict, exit 1. */
			snprintf(cmd, sizeof(cmd), "timeout 10 %s/server/nsregd "
			    "-n -f '%s' 2>&1", getenv("NSREG_BUILDDIR") ?
			    getenv("NSREG_BUILDDIR") : ".", conf2);
			cr_assert_not_null(p = popen(cmd, "r"));
			out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
			st = pclose(p);
			cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1,
			    "nsregd -n with %s %s: status %d: %s",
			    directives[k], bad_names[b], st, out);
			cr_expect(strstr(out, directives[k]) != NULL,
			    "nsregd -n: %s", out);

			/* Put the directory back in shape. */
			snprintf(cmd, sizeof(cmd), "rm -rf '%s/bad-%s'", dir,
			    directives[k]);
			cr_assert_eq(system(cmd), 0);
		}
	}
}

/* The key of another certificate is refused at start and by -n. */
Test(check, tls_key_of_another_certificate)
{
	char			 conf2[PATH_MAX], path[PATH_MAX];
	char			 err2[CONF_ERROR_MAX];
	struct nsreg_error	 err;
	struct conf		*c;

	snprintf(path, sizeof(path), "%s/client.key", dir);
	write_conf("tls-key", path, conf2, sizeof(conf2));
	cr_assert_not_null(c = conf_load(conf2, err2, sizeof(err2)));
	cr_assert_eq(server_check(c, 0, &err), -1);
	cr_expect(strstr(err.message, "tls-key does not match the tls-cert "
	    "certificate") != NULL, "%s", err.message);
	conf_free(c);
}
