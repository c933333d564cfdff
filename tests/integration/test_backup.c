/*
 * test_backup.c - nsregd --backup copies the database while nsregd
 * serves writes; restoring the copy (stop, copy it over the database,
 * start: nsregd(8)) brings back every write acknowledged before the
 * backup began, and the copy is one snapshot: the writes it holds are a
 * prefix of the writes made, with no hole.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct nsregd	srv;

static void
teardown(void)
{
	nsregd_cleanup(&srv);
}

TestSuite(backup, .fini = teardown, .timeout = 180);

struct writer {
	pthread_mutex_t	 lock;
	int		 acked;		/* services 0..acked-1 stored */
	int		 stop;
	int		 failed;
};

static void
service_name(int i, char *buf, size_t len)
{
	snprintf(buf, len, "/v1/services/bk-%05d", i);
}

static void *
writer_run(void *arg)
{
	struct writer	*w = arg;
	struct hcred	 admin;
	struct hresp	 r;
	char		 path[64], body[64];
	int		 i, stop;

	hcred_admin(&srv, &admin);
	for (i = 0;; i++) {
		pthread_mutex_lock(&w->lock);
		stop = w->stop;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			break;
		service_name(i, path, sizeof(path));
		snprintf(body, sizeof(body), "{\"labels\":{\"i\":\"%d\"}}", i);
		if (hreq(&srv, &admin, "PUT", path, body, NULL, NULL,
		    &r) != 0 || r.status != 201) {
			hresp_free(&r);
			pthread_mutex_lock(&w->lock);
			w->failed = 1;
			pthread_mutex_unlock(&w->lock);
			break;
		}
		hresp_free(&r);
		pthread_mutex_lock(&w->lock);
		w->acked = i + 1;
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

static int
writer_acked(struct writer *w)
{
	int	n;

	pthread_mutex_lock(&w->lock);
	n = w->acked;
	pthread_mutex_unlock(&w->lock);
	return n;
}

/* Run nsregd with args on the test's configuration; its exit status. */
static int
run_nsregd(const char *args, char *out, size_t outlen)
{
	char	 cmd[PATH_MAX * 3], conf[PATH_MAX], log[PATH_MAX];
	char	*b = getenv("NSREG_BUILDDIR");
	FILE	*f;
	size_t	 n;
	int	 rc;

	nsregd_path(&srv, "nsregd.conf", conf, sizeof(conf));
	nsregd_path(&srv, "backup.out", log, sizeof(log));
	snprintf(cmd, sizeof(cmd), "'%s/server/nsregd' -f '%s' %s >'%s' 2>&1",
	    b != NULL ? b : ".", conf, args, log);
	rc = system(cmd);
	out[0] = '\0';
	if ((f = fopen(log, "r")) != NULL) {
		n = fread(out, 1, outlen - 1, f);
		out[n] = '\0';
		fclose(f);
	}
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
copy_file(const char *from, const char *to)
{
	char	buf[65536];
	ssize_t	n;
	int	in, out;

	in = open(from, O_RDONLY);
	cr_assert_neq(in, -1, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_neq(out, -1, "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	cr_assert_eq(n, 0);
	close(in);
	cr_assert_eq(close(out), 0);
}

/* 1 when service i is stored with its label, 0 when absent. */
static int
service_present(int i)
{
	struct hcred	 admin;
	struct hresp	 r;
	char		 path[64], want[16];
	json_t		*l;
	int		 ret;

	hcred_admin(&srv, &admin);
	service_name(i, path, sizeof(path));
	cr_assert_eq(hreq(&srv, &admin, "GET", path, NULL, NULL, NULL, &r),
	    0);
	cr_assert(r.status == 200 || r.status == 404, "%s: %ld %s", path,
	    r.status, r.body);
	ret = r.status == 200;
	if (ret) {
		snprintf(want, sizeof(want), "%d", i);
		l = json_object_get(json_object_get(r.json, "labels"), "i");
		cr_expect_str_eq(json_string_value(l), want, "%s", path);
	}
	hresp_free(&r);
	return ret;
}

Test(backup, under_write_load_restores_every_acknowledged_write)
{
	struct writer	 w = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t	 t;
	char		 out[4096], args[PATH_MAX + 32], bak[PATH_MAX];
	char		 db[PATH_MAX], side[PATH_MAX];
	long long	 rev;
	int		 before, after, total, i, n, rc;

	nsregd_start(&srv, NULL);
	nsregd_path(&srv, "backup.db", bak, sizeof(bak));
	cr_assert_eq(pthread_create(&t, NULL, writer_run, &w), 0);
	for (i = 0; i < 600 && writer_acked(&w) < 100; i++)
		usleep(50 * 1000);
	before = writer_acked(&w);
	cr_assert_geq(before, 100, "the writer is too slow: %d", before);

	snprintf(args, sizeof(args), "--backup '%s'", bak);
	rc = run_nsregd(args, out, sizeof(out));
	after = writer_acked(&w);
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect_eq(sscanf(strstr(out, "revision ") != NULL ?
	    strstr(out, "revision ") : "", "revision %lld", &rev), 1, "%s",
	    out);
	cr_expect_geq(rev, before, "%s", out);
	/* Writes went on during the backup. */
	for (i = 0; i < 200 && writer_acked(&w) < after + 20; i++)
		usleep(50 * 1000);
	pthread_mutex_lock(&w.lock);
	w.stop = 1;
	pthread_mutex_unlock(&w.lock);
	pthread_join(t, NULL);
	cr_assert_not(w.failed, "a write failed during the backup");
	total = writer_acked(&w);
	cr_expect_gt(total, after, "no write was acknowledged after the "
	    "backup");

	/* Restore as nsregd(8) says: stop, copy over, start. */
	nsregd_stop(&srv);
	nsregd_path(&srv, "nsreg.db", db, sizeof(db));
	nsregd_path(&srv, "nsreg.db-wal", side, sizeof(side));
	unlink(side);
	nsregd_path(&srv, "nsreg.db-shm", side, sizeof(side));
	unlink(side);
	copy_file(bak, db);
	nsregd_spawn(&srv);

	for (i = 0; i < before; i++)
		cr_assert(service_present(i), "acknowledged write %d of %d "
		    "before the backup is missing", i, before);
	/* A prefix: what the copy holds past that has no hole. */
	for (n = before; n < total && service_present(n); n++)
		;
	for (i = n; i < total; i++)
		cr_assert_not(service_present(i), "write %d is in the copy but "
		    "%d is not", i, n);
	cr_expect_lt(n, total, "the copy holds writes acknowledged after "
	    "it was taken");
	cr_log_info("backup: %d writes before, %d when done, %d in the copy, "
	    "%d in all", before, after, n, total);
}

Test(backup, failures_leave_no_file)
{
	char	out[4096], args[PATH_MAX + 64], path[PATH_MAX];
	struct stat st;

	nsregd_start(&srv, NULL);
	/* A folder that does not exist. */
	nsregd_path(&srv, "no/such/dir/backup.db", path, sizeof(path));
	snprintf(args, sizeof(args), "--backup '%s'", path);
	cr_expect_neq(run_nsregd(args, out, sizeof(out)), 0, "%s", out);
	cr_expect_not_null(strstr(out, "nsregd: --backup: "), "%s", out);
	/* A good backup is mode 0600 and replaces an older file whole. */
	nsregd_path(&srv, "backup.db", path, sizeof(path));
	harness_write(path, "not a database\n", 0644);
	snprintf(args, sizeof(args), "--backup '%s'", path);
	cr_assert_eq(run_nsregd(args, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600);
	cr_expect_gt(st.st_size, 4096);
	/* No database: an error, and nothing created. */
	nsregd_stop(&srv);
	nsregd_path(&srv, "nsregd.conf", path, sizeof(path));
	{
		char	 text[8192], *p;
		FILE	*f = fopen(path, "r");
		size_t	 n;

		cr_assert_not_null(f);
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		p = strstr(text, "sqlite:nsreg.db");
		cr_assert_not_null(p);
		memcpy(p, "sqlite:gone1.db", strlen("sqlite:gone1.db"));
		harness_write(path, text, 0644);
	}
	nsregd_path(&srv, "backup2.db", path, sizeof(path));
	snprintf(args, sizeof(args), "--backup '%s'", path);
	cr_expect_neq(run_nsregd(args, out, sizeof(out)), 0, "%s", out);
	cr_expect_not_null(strstr(out, "gone1.db"), "%s", out);
	cr_expect_neq(access(path, F_OK), 0);
	nsregd_path(&srv, "gone1.db", path, sizeof(path));
	cr_expect_neq(access(path, F_OK), 0, "the backup created the "
	    "database it was to copy");
}
