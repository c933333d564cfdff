/*
 * dev.h - "nsregd --dev [DIR]": the zero-configuration start (DESIGN
 * section 2).
 */
#ifndef NSREG_DEV_H
#define NSREG_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "error.h"

struct store;

#define DEV_DIR_DEFAULT		"./var/dev"
#define DEV_PORT_DEFAULT	8443
#define DEV_TRUST_DOMAIN	"example.org"
#define DEV_SERVER_ID		"spiffe://example.org/nsregd"
#define DEV_CLIENT_ID		"spiffe://example.org/ns/default/sa/client"

/*
 * Create or reuse dir: identities, admin token, configuration file.
 * Writes the path of dir/nsregd.conf into confpath.  Returns 0 or -1.
 */
int	dev_prepare(const char *dir, char *confpath, size_t len,
	    struct nsreg_error *err);

/*
 * The starter rule set, written when the database holds no policy at
 * all: principals of trust_domain may find, register, unregister and
 * connect (DEV_STARTER_POLICY).  Returns 0 or -1.
 */
#define DEV_STARTER_POLICY	"same-trust-domain"
int	dev_install_policies(struct store *store, const char *trust_domain,
	    int64_t now, struct nsreg_error *err);

/*
 * Dev mode serves HTTP/2 on the port after the first listener's (8444,
 * or --port N + 1): add `listen h2` there unless the configuration has
 * an h2 listener already (moved to port + 1 when port is not 0).
 */
void	dev_listen_h2(struct conf *conf, unsigned short port);

/* Print what a developer can paste, for a server on port. */
void	dev_banner(const char *dir, const struct conf *conf);

#endif
