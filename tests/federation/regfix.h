/*
 * regfix.h - registries of any trust domain for the two-registry tests:
 * a real nsregd in a temporary directory with a development CA of its
 * own (svid_dev_ensure), its bundle refreshed every second, driven with
 * the integration harness (hreq and friends work on reg.s).
 */
#ifndef NSREG_REGFIX_H
#define NSREG_REGFIX_H

#include <jansson.h>

#include "harness.h"
#include "svid.h"

struct registry {
	struct nsregd	 s;
	char		 td[64];
	char		 server_id[128];
	char		 client_id[128];
	struct svid_ca	*ca;		/* the CA of ca.pem in s.dir */
};

/*
 * Create the directory, the identities of td (server
 * spiffe://TD/nsregd, client spiffe://TD/ns/default/sa/client), a
 * bundle.json with spiffe_sequence 1 and spiffe_refresh_hint 1, and start
 * nsregd with extra configuration lines (may be NULL).
 */
void	registry_start(struct registry *r, const char *td, const char *extra);
void	registry_cleanup(struct registry *r);

/* Write trust-bundle files (bundle.json, and bundle.pem for clients):
 * the keys and roots of cas[0..n) with sequence seq and hint 1 s. */
void	registry_write_bundle(struct registry *r, struct svid_ca *const *cas,
	    size_t n, long long seq);

/* Re-issue server.pem/server.key from ca (then SIGHUP to use it). */
void	registry_issue_server(struct registry *r, const struct svid_ca *ca);

/* A workload X.509-SVID for id from ca, written into the directory. */
void	registry_x509(struct registry *r, const struct svid_ca *ca,
	    const char *id, struct hcred *c);

/* The registry's client (spiffe://TD/ns/default/sa/client). */
void	registry_client(struct registry *r, struct hcred *c);

/*
 * One request as admin, as c (may be NULL for admin) ; body (may be NULL)
 * is stolen.  Fills resp; aborts when no answer came.
 */
void	registry_req(struct registry *r, const struct hcred *c,
	    const char *method, const char *path, json_t *body,
	    struct hresp *resp);

/* registry_federate's flags. */
#define REGISTRY_URL		0x01	/* store peer's registry_url */
#define REGISTRY_ORIGIN		0x02	/* "accept_origin": true */

/*
 * Federate r with peer: store peer's trust domain with its current
 * bundle.json as the starting bundle, the https_spiffe bundle endpoint
 * peer/v1/bundle served as peer's server ID, and with flags
 * REGISTRY_URL its registry_url, REGISTRY_ORIGIN "accept_origin": true
 * (1 is REGISTRY_URL alone).
 */
void	registry_federate(struct registry *r, struct registry *peer,
	    int flags);

/* Wait up to ms for r's stored sequence of td to be seq; 1 when it is. */
int	registry_wait_sequence(struct registry *r, const char *td,
	    long long seq, int ms);

#endif
