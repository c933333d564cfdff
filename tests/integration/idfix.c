/*
 * idfix.c - identity fixtures for the integration tests (idfix.h).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "idfix.h"
#include "util.h"

struct svid_ca *
idfix_server_ca(const struct nsregd *s)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca;

	ca = svid_ca_load(s->dir, &err);
	cr_assert_not_null(ca, "%s", err.message);
	return ca;
}

struct svid_ca *
idfix_ca(const char *td)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca;

	ca = svid_ca_generate(td, util_now_ms(), 0, &err);
	cr_assert_not_null(ca, "%s", err.message);
	return ca;
}

static void
idfix_write(const char *path, const char *text, int mode)
{
	cr_assert_eq(util_file_write(path, text, strlen(text), mode), 0,
	    "write %s: %s", path, strerror(errno));
}

void
idfix_x509(const struct nsregd *s, const struct svid_ca *ca,
    const struct svid_x509_req *req, struct hcred *c)
{
	struct nsreg_error	 err;
	char			*chain = NULL, *key = NULL;
	static int		 seq;

	cr_assert_eq(svid_x509_issue(ca, req, util_now_ms(), &chain, &key,
	    &err), 0, "%s", err.message);
	hcred_none(c);
	seq++;
	snprintf(c->cert, sizeof(c->cert), "%s/idfix-%d-%d.pem", s->dir,
	    (int)getpid(), seq);
	snprintf(c->key, sizeof(c->key), "%s/idfix-%d-%d.key", s->dir,
	    (int)getpid(), seq);
	idfix_write(c->cert, chain, 0644);
	idfix_write(c->key, key, 0600);
	free(chain);
	free(key);
}

void
idfix_x509_id(const struct nsregd *s, const struct svid_ca *ca,
    const char *id, struct hcred *c)
{
	struct svid_x509_req	req;

	memset(&req, 0, sizeof(req));
	req.id = id;
	idfix_x509(s, ca, &req, c);
}

void
idfix_jwt(const struct svid_ca *ca, const char *id, const char *aud,
    int64_t now_ms, int64_t ttl_ms, struct hcred *c)
{
	struct svid_jwt_req	 req;
	struct nsreg_error	 err;
	const char		*auds[1];
	char			*tok = NULL;

	auds[0] = aud;
	memset(&req, 0, sizeof(req));
	req.id = id;
	req.aud = auds;
	req.naud = 1;
	req.ttl_ms = ttl_ms;
	cr_assert_eq(svid_jwt_issue(ca, &req, now_ms, &tok, &err), 0, "%s",
	    err.message);
	hcred_none(c);
	cr_assert_lt(strlen(tok), sizeof(c->bearer));
	snprintf(c->bearer, sizeof(c->bearer), "%s", tok);
	free(tok);
}

char *
idfix_b64url(const void *data, size_t len)
{
	char	*out, *p;
	int	 n;

	out = malloc(4 * ((len + 2) / 3) + 1);
	cr_assert_not_null(out);
	n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (p = out; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return out;
}

char *
idfix_jws_raw(const json_t *header, const json_t *claims, const char *sig)
{
	char	*h, *c, *hb, *cb, *tok;
	size_t	 n;

	h = json_dumps(header, JSON_COMPACT);
	c = json_dumps(claims, JSON_COMPACT);
	cr_assert(h != NULL && c != NULL);
	hb = idfix_b64url(h, strlen(h));
	cb = idfix_b64url(c, strlen(c));
	n = strlen(hb) + strlen(cb) + strlen(sig) + 3;
	tok = malloc(n);
	cr_assert_not_null(tok);
	snprintf(tok, n, "%s.%s.%s", hb, cb, sig);
	free(h);
	free(c);
	free(hb);
	free(cb);
	return tok;
}

json_t *
idfix_td_body(const struct svid_ca *ca)
{
	json_t	*b;

	b = svid_ca_bundle_json(ca, 7, 300);
	cr_assert_not_null(b);
	return json_pack("{s:o}", "bundle", b);
}

void
idfix_td_put(const struct nsregd *s, const char *td, json_t *body,
    long want)
{
	struct hcred	admin;
	struct hresp	r;
	char		path[512];

	hcred_admin(s, &admin);
	snprintf(path, sizeof(path), "/v1/trust-domains/%s", td);
	cr_assert_eq(hreq_json(s, &admin, "PUT", path, body, &r), 0);
	cr_assert_eq(r.status, want, "PUT %s: %ld, want %ld: %s", path,
	    r.status, want, r.body);
	hresp_free(&r);
}

void
idfix_td_delete(const struct nsregd *s, const char *td, long want)
{
	struct hcred	admin;
	struct hresp	r;
	char		path[512];

	hcred_admin(s, &admin);
	snprintf(path, sizeof(path), "/v1/trust-domains/%s", td);
	cr_assert_eq(hreq(s, &admin, "DELETE", path, NULL, NULL, NULL, &r),
	    0);
	cr_assert_eq(r.status, want, "DELETE %s: %ld, want %ld: %s", path,
	    r.status, want, r.body);
	hresp_free(&r);
}

const char *
idfix_message(const struct hresp *r)
{
	const char	*m;

	m = json_string_value(json_object_get(json_object_get(r->json,
	    "error"), "message"));
	return m != NULL ? m : "";
}

json_t *
idfix_whoami(const struct nsregd *s, const struct hcred *c, long want,
    const char *reason)
{
	struct hresp	 r;
	json_t		*o = NULL;
	const char	*h;

	cr_assert_eq(hreq(s, c, "GET", "/v1/whoami", NULL, NULL, NULL, &r),
	    0, "no answer (TLS handshake refused?)");
	cr_assert_eq(r.status, want, "whoami: %ld, want %ld: %s", r.status,
	    want, r.body);
	if (want == 200) {
		o = json_incref(r.json);
		cr_assert_not_null(o);
	} else if (want == 401) {
		cr_expect_str_eq(hresp_error(&r), "unauthenticated");
		if (reason != NULL)
			cr_expect_str_eq(idfix_message(&r), reason,
			    "got \"%s\", want \"%s\"", idfix_message(&r),
			    reason);
		h = hresp_header(&r, "WWW-Authenticate");
		cr_expect(h != NULL && strncmp(h, "Bearer", 6) == 0,
		    "WWW-Authenticate: %s", h != NULL ? h : "(none)");
	}
	hresp_free(&r);
	return o;
}

static size_t
idfix_collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	char	**buf = arg;
	size_t	  n = size * nmemb, have;
	char	 *nb;

	have = *buf != NULL ? strlen(*buf) : 0;
	if ((nb = realloc(*buf, have + n + 1)) == NULL)
		return 0;
	memcpy(nb + have, ptr, n);
	nb[have + n] = '\0';
	*buf = nb;
	return n;
}

void
idfix_conn_open(struct idfix_conn *k, const struct nsregd *s,
    const struct hcred *c)
{
	char	ca[PATH_MAX];
	CURL	*h;

	k->s = s;
	k->curl = h = curl_easy_init();
	cr_assert_not_null(h);
	curl_easy_setopt(h, CURLOPT_CAINFO, nsregd_path(s, "bundle.pem", ca,
	    sizeof(ca)));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
	harness_curl_version(s, h);
	curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
	curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, idfix_collect);
}

long
idfix_conn_whoami(struct idfix_conn *k, char *msg, size_t len, int *reused)
{
	char	 url[256], *body = NULL;
	long	 status = 0, conns = -1;
	json_t	*j;
	CURL	*h = k->curl;

	snprintf(url, sizeof(url), "%s/v1/whoami", k->s->url);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	cr_assert_eq(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
	*reused = conns == 0;
	msg[0] = '\0';
	j = body != NULL ? json_loads(body, 0, NULL) : NULL;
	snprintf(msg, len, "%s", json_string_value(json_object_get(
	    json_object_get(j, "error"), "message")) != NULL ?
	    json_string_value(json_object_get(json_object_get(j, "error"),
	    "message")) : "");
	json_decref(j);
	free(body);
	return status;
}

void
idfix_conn_close(struct idfix_conn *k)
{
	curl_easy_cleanup(k->curl);
	k->curl = NULL;
}
