/*
 * nsregd.c - the daemon's main: options, configuration, signals.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "dev.h"
#include "grant.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define NSREGD_CONF_DEFAULT	"/etc/nsreg/nsregd.conf"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: nsregd [-dn] [-f file]\n"
	    "       nsregd [-f file] --backup FILE\n"
	    "       nsregd [-f file] --import URL\n"
	    "       nsregd --dev [DIR] [--port N]\n"
	    "  -f file     configuration (default %s)\n"
	    "  -d          stay in the foreground, log to stderr\n"
	    "  -n          check the configuration and exit\n"
	    "  --backup FILE  copy the database, while it is served, to FILE\n"
	    "  --import URL   copy everything from the database at URL into\n"
	    "              the configuration's database, which must be empty\n"
	    "  --dev [DIR] development server with generated identities in\n"
	    "              DIR (default %s), https://127.0.0.1:8443\n"
	    "  --port N    listen on port N instead (with --dev)\n"
	    "  -V          print the version\n",
	    NSREGD_CONF_DEFAULT, DEV_DIR_DEFAULT);
}

/*
 * Check the files the configuration names (for -n): the same code the
 * start runs (server_check), so that -n passes only what would start.
 */
static int
nsregd_check_files(const struct conf *conf, int dev, char *errbuf,
    size_t len)
{
	struct nsreg_error	err;

	if (server_check(conf, dev, &err) == -1) {
		snprintf(errbuf, len, "%s:0: %s", conf->path, err.message);
		return -1;
	}
	return 0;
}

/* nsregd --backup FILE: a consistent copy of the served database. */
static int
nsregd_backup(struct conf *conf, const char *file)
{
	struct store_backup_info	 info;
	struct nsreg_error		 err;
	int				 ret = 1;

	if (store_backup(conf->database, file, &info, &err) == -1) {
		fprintf(stderr, "nsregd: --backup: %s\n", err.message);
		goto done;
	}
	printf("nsregd: %s at revision %lld (schema %d) copied to %s\n",
	    conf->database, (long long)info.revision, info.schema, file);
	ret = 0;
done:
	conf_free(conf);
	return ret;
}

/*
 * nsregd --import URL: everything stored at URL copied into the empty
 * database of the configuration, and what was copied.
 */
static int
nsregd_import(struct conf *conf, const char *from)
{
	struct store_import_info	 info;
	struct nsreg_error		 err;
	int				 ret = 1;

	if (store_import(from, conf->database, &info, &err) == -1) {
		fprintf(stderr, "nsregd: --import: %s\n", err.message);
		goto done;
	}
	printf("nsregd: imported %s into %s at revision %lld: %lld "
	    "services, %lld endpoints, %lld policies, %lld trust domains, "
	    "%lld grants, %lld vL3 leases, %lld grant keys, %lld decisions, "
	    "%lld events\n", from, conf->database, (long long)info.revision,
	    (long long)info.objects[STORE_SERVICE],
	    (long long)info.objects[STORE_ENDPOINT],
	    (long long)info.objects[STORE_POLICY],
	    (long long)info.objects[STORE_TRUST_DOMAIN],
	    (long long)info.objects[STORE_GRANT], (long long)info.leases,
	    (long long)info.keys, (long long)info.decisions,
	    (long long)info.events);
	ret = 0;
done:
	conf_free(conf);
	return ret;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dev", optional_argument, NULL, 'D' },
		{ "port", required_argument, NULL, 'P' },
		{ "backup", required_argument, NULL, 'B' },
		{ "import", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct server		 srv;
	struct conf		*conf, *newconf;
	struct nsreg_error	 err;
	const char		*conffile = NSREGD_CONF_DEFAULT, *devdir = NULL;
	const char		*backup = NULL, *import = NULL;
	char			 errbuf[CONF_ERROR_MAX], devconf[PATH_MAX];
	sigset_t		 set;
	long long		 port = 0;
	int			 ch, foreground = 0, check = 0, dev = 0, sig;

	while ((ch = getopt_long(argc, argv, "df:nhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'B':
			backup = optarg;
			break;
		case 'I':
			import = optarg;
			break;
		case 'D':
			dev = 1;
			devdir = optarg;
			break;
		case 'P':
			if (util_number_parse(optarg, 1, 65535, &port) == -1) {
				fprintf(stderr, "nsregd: --port: \"%s\" is "
				    "not a port number\n", optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("nsregd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	/* "--dev DIR" as well as "--dev=DIR". */
	if (dev && devdir == NULL && optind < argc && argv[optind][0] != '-')
		devdir = argv[optind++];
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (port != 0 && !dev) {
		fprintf(stderr, "nsregd: --port goes with --dev\n");
		return 1;
	}
	log_init(1, LOG_LEVEL_INFO);
	if (dev) {
		if (devdir == NULL)
			devdir = DEV_DIR_DEFAULT;
		if (dev_prepare(devdir, devconf, sizeof(devconf), &err) == -1) {
			fprintf(stderr, "nsregd: --dev %s: %s\n", devdir,
			    err.message);
			return 1;
		}
		conffile = devconf;
		foreground = 1;
	}
	if ((conf = conf_load(conffile, errbuf, sizeof(errbuf))) == NULL) {
		fprintf(stderr, "%s\n", errbuf);
		return 1;
	}
	log_set_instance(conf->instance_name);
	if (port != 0)
		conf->listen[0].port = (unsigned short)port;
	if (dev)
		dev_listen_h2(conf, (unsigned short)port);
	if (backup != NULL && import != NULL) {
		fprintf(stderr, "nsregd: --backup or --import, not both\n");
		conf_free(conf);
		return 1;
	}
	if (backup != NULL)
		return nsregd_backup(conf, backup);
	if (import != NULL)
		return nsregd_import(conf, import);
	if (check) {
		if (nsregd_check_files(conf, dev, errbuf, sizeof(errbuf)) ==
		    -1) {
			fprintf(stderr, "%s\n", errbuf);
			conf_free(conf);
			return 1;
		}
		fprintf(stderr, "%s: configuration OK\n", conffile);
		conf_free(conf);
		return 0;
	}
	log_set_level((enum log_level)conf->log_level);
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit fails the write (EFBIG), as a full disk does:
	 * it must not kill the server. */
	signal(SIGXFSZ, SIG_IGN);
	/* Every thread inherits the mask; main takes signals with sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!foreground) {
		if (daemon(0, 0) == -1) {
			fprintf(stderr, "nsregd: daemon: %s\n",
			    strerror(errno));
			return 1;
		}
		log_init(0, (enum log_level)conf->log_level);
	}
	memset(&srv, 0, sizeof(srv));
	srv.conf = conf;
	srv.dev = dev;
	if (server_start(&srv, &err) == -1) {
		log_warnx("msg=\"cannot start\" error=%s detail=\"%s\"",
		    nsreg_code_name(err.code), err.message);
		fprintf(stderr, "nsregd: %s\n", err.message);
		server_stop(&srv);
		conf_free(conf);
		return 1;
	}
	log_info("msg=started version=%s trust_domain=%s listen=%s:%u "
	    "database=%s", PACKAGE_VERSION, conf->trust_domain,
	    conf->listen[0].addr, conf->listen[0].port, conf->database);
	if (dev)
		dev_banner(devdir, conf);
	/* Listeners, database and keys are up: systemd may go on. */
	notify_send("READY=1\nSTATUS=serving");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		notify_reloading();
		newconf = conf_load(conffile, errbuf, sizeof(errbuf));
		if (newconf == NULL) {
			log_warnx("msg=\"reload failed, keeping the running "
			    "configuration\" error=\"%s\"", errbuf);
			notify_send("READY=1\nSTATUS=serving (reload failed)");
			continue;
		}
		if (server_reload(&srv, newconf, &err) == -1)
			log_warnx("msg=\"reload failed, keeping the running "
			    "configuration\" error=\"%s\"", err.message);
		else
			log_info("msg=reloaded");
		conf_free(newconf);
		notify_send("READY=1\nSTATUS=serving");
	}
	log_info("msg=stopping signal=%s", sig == SIGINT ? "INT" : "TERM");
	notify_send("STOPPING=1");
	server_stop(&srv);
	conf_free(conf);
	log_info("msg=stopped");
	return 0;
}
