/*
 * regfix.c - registries of any trust domain (regfix.h).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regfix.h"
#include "util.h"

void
registry_start(struct registry *r, const char *td, const char *extra)
{
	struct svid_dev		 dev;
	struct nsreg_error	 err;
	struct svid_ca		*cas[1];
	char			 path[PATH_MAX], text[8192];

	memset(r, 0, sizeof(*r));
	snprintf(r->td, sizeof(r->td), "%s", td);
	snprintf(r->server_id, sizeof(r->server_id), "spiffe://%s/nsregd",
	    td);
	snprintf(r->client_id, sizeof(r->client_id),
	    "spiffe://%s/ns/default/sa/client", td);
	snprintf(r->s.dir, sizeof(r->s.dir), "/tmp/nsreg-fed-XXXXXX");
	cr_assert_not_null(mkdtemp(r->s.dir));
	memset(&dev, 0, sizeof(dev));
	dev.dir = r->s.dir;
	dev.trust_domain = td;
	dev.server_id = r->server_id;
	dev.client_id = r->client_id;
	dev.audience = r->server_id;
	cr_assert_eq(svid_dev_ensure(&dev, util_now_ms(), &err), 0, "%s",
	    err.message);
	cr_assert_not_null(r->ca = svid_ca_load(r->s.dir, &err), "%s",
	    err.message);
	cas[0] = r->ca;
	registry_write_bundle(r, cas, 1, 1);
	snprintf(r->s.admin_token, sizeof(r->s.admin_token),
	    "fed-admin-%s-%ld-0123456789", td, (long)getpid());
	snprintf(text, sizeof(text), "%s\n", r->s.admin_token);
	harness_write(nsregd_path(&r->s, "admin.token", path, sizeof(path)),
	    text, 0600);
	harness_grant_key(nsregd_path(&r->s, "grant.key", path, sizeof(path)));
	r->s.port = harness_free_port();
	snprintf(r->s.url, sizeof(r->s.url), "https://127.0.0.1:%u",
	    r->s.port);
	snprintf(text, sizeof(text),
	    "listen https 127.0.0.1:%u\n"
	    "trust-domain %s\n"
	    "server-id %s\n"
	    "tls-cert server.pem\n"
	    "tls-key server.key\n"
	    "trust-bundle bundle.json\n"
	    "grant-key grant.key\n"
	    "database sqlite:nsreg.db\n"
	    "admin-token-file admin.token\n"
	    "threads 4\n"
	    "log-level debug\n"
	    "federation-refresh-min 1s\n"
	    "federation-timeout 3s\n"
	    "interdomain-timeout 3s\n"
	    "%s\n", r->s.port, td, r->server_id, extra != NULL ? extra : "");
	harness_write(nsregd_path(&r->s, "nsregd.conf", path, sizeof(path)),
	    text, 0644);
	nsregd_spawn(&r->s);
}

void
registry_cleanup(struct registry *r)
{
	nsregd_cleanup(&r->s);
	svid_ca_free(r->ca);
	r->ca = NULL;
}

void
registry_write_bundle(struct registry *r, struct svid_ca *const *cas,
    size_t n, long long seq)
{
	char	 path[PATH_MAX], *s, *pem, *all = NULL;
	json_t	*b = NULL, *o;
	size_t	 i, len = 0;

	for (i = 0; i < n; i++) {
		o = svid_ca_bundle_json(cas[i], seq, 1);
		cr_assert_not_null(o);
		if (b == NULL)
			b = o;
		else {
			json_array_extend(json_object_get(b, "keys"),
			    json_object_get(o, "keys"));
			json_decref(o);
		}
		pem = svid_ca_bundle_pem(cas[i]);
		cr_assert_not_null(pem);
		all = realloc(all, len + strlen(pem) + 1);
		cr_assert_not_null(all);
		memcpy(all + len, pem, strlen(pem) + 1);
		len += strlen(pem);
		free(pem);
	}
	s = json_dumps(b, JSON_INDENT(1));
	harness_write(nsregd_path(&r->s, "bundle.json", path, sizeof(path)),
	    s, 0644);
	harness_write(nsregd_path(&r->s, "bundle.pem", path, sizeof(path)),
	    all, 0644);
	free(s);
	free(all);
	json_decref(b);
}

void
registry_issue_server(struct registry *r, const struct svid_ca *ca)
{
	struct svid_x509_req	 req;
	struct nsreg_error	 err;
	const char		*dns[] = { "localhost" };
	const char		*ip[] = { "127.0.0.1" };
	char			*chain = NULL, *key = NULL, path[PATH_MAX];

	memset(&req, 0, sizeof(req));
	req.id = r->server_id;
	req.dns = dns;
	req.ndns = 1;
	req.ip = ip;
	req.nip = 1;
	req.ttl_ms = 3600 * 1000;
	cr_assert_eq(svid_x509_issue(ca, &req, util_now_ms(), &chain, &key,
	    &err), 0, "%s", err.message);
	harness_write(nsregd_path(&r->s, "server.pem", path, sizeof(path)),
	    chain, 0644);
	harness_write(nsregd_path(&r->s, "server.key", path, sizeof(path)),
	    key, 0600);
	free(chain);
	free(key);
}

void
registry_x509(struct registry *r, const struct svid_ca *ca, const char *id,
    struct hcred *c)
{
	struct svid_x509_req	 req;
	struct nsreg_error	 err;
	char			*chain = NULL, *key = NULL;
	static int		 seq;

	memset(&req, 0, sizeof(req));
	req.id = id;
	cr_assert_eq(svid_x509_issue(ca, &req, util_now_ms(), &chain, &key,
	    &err), 0, "%s", err.message);
	hcred_none(c);
	seq++;
	snprintf(c->cert, sizeof(c->cert), "%s/w%d.pem", r->s.dir, seq);
	snprintf(c->key, sizeof(c->key), "%s/w%d.key", r->s.dir, seq);
	harness_write(c->cert, chain, 0644);
	harness_write(c->key, key, 0600);
	free(chain);
	free(key);
}

void
registry_client(struct registry *r, struct hcred *c)
{
	hcred_x509(&r->s, c);
}

void
registry_req(struct registry *r, const struct hcred *c, const char *method,
    const char *path, json_t *body, struct hresp *resp)
{
	struct hcred	 admin;
	char		*s = NULL;

	if (c == NULL) {
		hcred_admin(&r->s, &admin);
		c = &admin;
	}
	if (body != NULL) {
		s = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		cr_assert_not_null(s);
	}
	cr_assert_eq(hreq(&r->s, c, method, path, s, NULL, NULL, resp), 0,
	    "%s %s (%s): no answer", method, path, r->td);
	free(s);
}

void
registry_federate(struct registry *r, struct registry *peer,
    int flags)
{
	struct hresp	 resp;
	json_error_t	 jerr;
	json_t		*bundle, *body;
	char		 path[PATH_MAX], url[128];

	bundle = json_load_file(nsregd_path(&peer->s, "bundle.json", path,
	    sizeof(path)), 0, &jerr);
	cr_assert_not_null(bundle, "%s", jerr.text);
	snprintf(url, sizeof(url), "%s/v1/bundle", peer->s.url);
	body = json_pack("{s:o, s:{s:s, s:s, s:s}}", "bundle", bundle,
	    "federation", "bundle_endpoint_url", url, "profile",
	    "https_spiffe", "endpoint_spiffe_id", peer->server_id);
	if (flags & REGISTRY_URL)
		json_object_set_new(body, "registry_url",
		    json_string(peer->s.url));
	if (flags & REGISTRY_ORIGIN)
		json_object_set_new(body, "accept_origin", json_true());
	snprintf(path, sizeof(path), "/v1/trust-domains/%s", peer->td);
	registry_req(r, NULL, "PUT", path, body, &resp);
	cr_assert(resp.status == 201 || resp.status == 200,
	    "%s: PUT %s: %ld %s", r->td, path, resp.status, resp.body);
	hresp_free(&resp);
}

int
registry_wait_sequence(struct registry *r, const char *td, long long seq,
    int ms)
{
	struct hresp	resp;
	char		path[300];
	long long	have;

	snprintf(path, sizeof(path), "/v1/trust-domains/%s", td);
	for (; ms > 0; ms -= 100) {
		registry_req(r, NULL, "GET", path, NULL, &resp);
		have = json_integer_value(json_object_get(resp.json,
		    "sequence"));
		hresp_free(&resp);
		if (have == seq)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}
