/*
 * dev.c - the development directory and the ready-to-paste banner.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "dev.h"
#include "log.h"
#include "store.h"
#include "svid.h"
#include "util.h"

static int
dev_mkdirs(const char *dir, struct nsreg_error *err)
{
	char	buf[PATH_MAX], *p;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", dir) >= sizeof(buf))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: path too long", dir);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return nsreg_error_set(err, NSREG_INTERNAL, NULL,
			    "mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0700) == -1 && errno != EEXIST)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "mkdir %s: %s", buf, strerror(errno));
	return 0;
}

static int
dev_admin_token(const char *dir, struct nsreg_error *err)
{
	unsigned char	rnd[24];
	char		path[PATH_MAX], tok[sizeof(rnd) * 2 + 2];
	size_t		i;
	int		rc;

	snprintf(path, sizeof(path), "%s/admin.token", dir);
	if (access(path, F_OK) == 0)
		return 0;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL,
		    "no randomness for the admin token");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(tok + 2 * i, 3, "%02x", rnd[i]);
	tok[2 * sizeof(rnd)] = '\n';
	rc = util_file_write(path, tok, 2 * sizeof(rnd) + 1, 0600);
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(rnd, sizeof(rnd));
	if (rc == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s",
		    path, strerror(errno));
	return 0;
}

static int
dev_conf(const char *dir, const char *path, struct nsreg_error *err)
{
	char	text[4096];
	int	n;

	if (access(path, F_OK) == 0)
		return 0;
	/* Relative paths in the file are taken from the file's folder. */
	n = snprintf(text, sizeof(text),
	    "# nsregd --dev configuration, written once; edit freely.\n"
	    "listen https 127.0.0.1:%d\n"
	    "trust-domain %s\n"
	    "server-id %s\n"
	    "tls-cert server.pem\n"
	    "tls-key server.key\n"
	    "trust-bundle bundle.json\n"
	    "jwt-audience %s\n"
	    "grant-key grant.key\n"
	    "database sqlite:nsreg.db\n"
	    "admin-token-file admin.token\n"
	    "endpoint-default-ttl 60s\n"
	    "endpoint-max-ttl 1h\n"
	    "grant-ttl 10m\n"
	    "log-level info\n",
	    DEV_PORT_DEFAULT, DEV_TRUST_DOMAIN, DEV_SERVER_ID, DEV_SERVER_ID);
	(void)dir;
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    util_file_write(path, text, (size_t)n, 0644) == -1)
		return nsreg_error_set(err, NSREG_INTERNAL, NULL, "%s: %s",
		    path, strerror(errno));
	return 0;
}

int
dev_prepare(const char *dir, char *confpath, size_t len,
    struct nsreg_error *err)
{
	struct svid_dev	dev;

	if (dev_mkdirs(dir, err) == -1)
		return -1;
	memset(&dev, 0, sizeof(dev));
	dev.dir = dir;
	dev.trust_domain = DEV_TRUST_DOMAIN;
	dev.server_id = DEV_SERVER_ID;
	dev.client_id = DEV_CLIENT_ID;
	dev.audience = DEV_SERVER_ID;
	if (svid_dev_ensure(&dev, util_now_ms(), err) == -1)
		return -1;
	if (dev_admin_token(dir, err) == -1)
		return -1;
	if ((size_t)snprintf(confpath, len, "%s/nsregd.conf", dir) >= len)
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, NULL,
		    "%s: path too long", dir);
	return dev_conf(dir, confpath, err);
}

int
dev_install_policies(struct store *store, const char *trust_domain,
    int64_t now, struct nsreg_error *err)
{
	struct store_object	 obj;
	char			 cond[512];
	int64_t			 n;
	int			 rc = -1;

	memset(&obj, 0, sizeof(obj));
	if ((n = store_count(store, STORE_POLICY, now)) != 0) {
		if (n > 0)
			return 0;
		return nsreg_error_set(err, NSREG_UNAVAILABLE, "database",
		    "cannot count the stored policies");
	}
	/* Trust domain names are [a-z0-9._-]: safe in a CEL string. */
	snprintf(cond, sizeof(cond), "principal.trust_domain == '%s'",
	    trust_domain);
	obj.kind = STORE_POLICY;
	if ((obj.name = strdup(DEV_STARTER_POLICY)) == NULL ||
	    (obj.doc = json_pack("{s:s, s:[s,s,s,s], s:s, s:s, s:s}",
	    "effect", "permit", "actions", "find", "register", "unregister",
	    "connect", "condition", cond, "description", "nsregd --dev "
	    "starter rule: workloads of the local trust domain may find, "
	    "register and unregister endpoints and connect to services; "
	    "publishing services stays with admins.", "mode",
	    "enforce")) == NULL) {
		nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (store_create(store, &obj, now, err) == -1) {
		if (err->code == NSREG_ALREADY_EXISTS)
			rc = 0;	/* another instance was faster */
		goto out;
	}
	log_info("msg=\"installed the starter policy\" policy=%s "
	    "condition=\"%s\"", DEV_STARTER_POLICY, cond);
	rc = 0;
out:
	store_object_clear(&obj);
	return rc;
}

void
dev_listen_h2(struct conf *conf, unsigned short port)
{
	struct conf_listen	*l;
	size_t			 i;

	for (i = 0; i < conf->nlisten; i++)
		if (conf->listen[i].scheme == CONF_H2) {
			if (port != 0 && port < 65535)
				conf->listen[i].port = port + 1;
			return;
		}
	if (conf->nlisten == CONF_LISTEN_MAX || conf->listen[0].port == 65535)
		return;
	l = &conf->listen[conf->nlisten++];
	l->scheme = CONF_H2;
	snprintf(l->addr, sizeof(l->addr), "%s", conf->listen[0].addr);
	l->port = conf->listen[0].port + 1;
}

void
dev_banner(const char *dir, const struct conf *conf)
{
	char	url[128], h2url[128];
	size_t	i;

	snprintf(url, sizeof(url), "https://%s:%u", conf->listen[0].addr,
	    conf->listen[0].port);
	h2url[0] = '\0';
	for (i = 0; i < conf->nlisten; i++)
		if (conf->listen[i].scheme == CONF_H2) {
			snprintf(h2url, sizeof(h2url), "https://%s:%u",
			    conf->listen[i].addr, conf->listen[i].port);
			break;
		}
	printf("nsregd --dev: serving %s for trust domain %s\n"
	    "state in %s (remove it to start afresh). Try:\n\n"
	    "  curl --cacert %s/bundle.pem %s/healthz\n"
	    "  curl --cacert %s/bundle.pem --cert %s/client.pem "
	    "--key %s/client.key %s/v1/whoami\n"
	    "  curl --cacert %s/bundle.pem "
	    "-H \"Authorization: Bearer $(cat %s/client.jwt)\" %s/v1/whoami\n"
	    "  curl --cacert %s/bundle.pem "
	    "-H \"Authorization: Bearer $(cat %s/admin.token)\" "
	    "-X PUT -H 'Content-Type: application/json' "
	    "-d '{\"payload\":\"IP\",\"vl3\":{\"prefix\":\"10.60.0.0/16\"}}' "
	    "%s/v1/services/db\n"
	    "  curl --cacert %s/bundle.pem --cert %s/client.pem "
	    "--key %s/client.key -X PUT -H 'Content-Type: application/json' "
	    "-d '{\"url\":\"tcp://10.0.0.1:5002\","
	    "\"network_service_names\":[\"db\"]}' %s/v1/endpoints/db-1\n"
	    "  curl --cacert %s/bundle.pem --cert %s/client.pem "
	    "--key %s/client.key '%s/v1/endpoints?service=db'\n\n",
	    url, conf->trust_domain, dir,
	    dir, url,
	    dir, dir, dir, url,
	    dir, dir, url,
	    dir, dir, url,
	    dir, dir, dir, url,
	    dir, dir, dir, url);
	if (h2url[0] != '\0')
		printf("HTTP/2 (the same API) on %s:\n\n"
		    "  curl --http2 --cacert %s/bundle.pem --cert %s/client.pem "
		    "--key %s/client.key '%s/v1/endpoints?service=db'\n\n",
		    h2url, dir, dir, dir, h2url);
	printf("Admission rules: workloads of %s may find, register, "
	    "unregister and connect\n(policy %s); other callers are denied "
	    "unless an admin adds rules. See them, and\nwhy a request was "
	    "denied:\n\n"
	    "  curl --cacert %s/bundle.pem "
	    "-H \"Authorization: Bearer $(cat %s/admin.token)\" "
	    "%s/v1/policies\n"
	    "  curl --cacert %s/bundle.pem "
	    "-H \"Authorization: Bearer $(cat %s/admin.token)\" "
	    "'%s/v1/decisions?decision=deny'\n\n",
	    conf->trust_domain, DEV_STARTER_POLICY,
	    dir, dir, url,
	    dir, dir, url);
	printf("The console: open %s/ui/ in a browser (the CA is %s/ca.pem)"
	    "\nand sign in with the admin token in %s/admin.token.\n\n",
	    url, dir, dir);
	fflush(stdout);
}
