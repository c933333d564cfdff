/*
 * harness.c - start nsregd for a test and talk to it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "svid.h"
#include "util.h"

#define HARNESS_TD	"example.org"
#define HARNESS_SERVER	"spiffe://example.org/nsregd"
#define HARNESS_CLIENT	"spiffe://example.org/ns/default/sa/client"

static const char *
harness_builddir(void)
{
	const char	*s = getenv("NSREG_BUILDDIR");

	return s != NULL ? s : ".";
}

const char *
nsregd_path(const struct nsregd *s, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", s->dir, file);
	return buf;
}

unsigned short
harness_free_port(void)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof(sa);
	int			fd;
	unsigned short		port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

void
harness_write(const char *path, const char *text, int mode)
{
	cr_assert_eq(util_file_write(path, text, strlen(text), mode), 0,
	    "write %s: %s", path, strerror(errno));
}

void
harness_grant_key(const char *path)
{
	EVP_PKEY	*pk;
	BIO		*bio;
	char		*mem, *text;
	long		 len;

	cr_assert_not_null(pk = EVP_EC_gen("P-256"));
	cr_assert_not_null(bio = BIO_new(BIO_s_mem()));
	cr_assert(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL,
	    NULL));
	len = BIO_get_mem_data(bio, &mem);
	cr_assert_gt(len, 0);
	cr_assert_not_null(text = strndup(mem, (size_t)len));
	harness_write(path, text, 0600);
	free(text);
	BIO_free(bio);
	EVP_PKEY_free(pk);
}

void
nsregd_spawn(struct nsregd *s)
{
	char		 conf[PATH_MAX], log[PATH_MAX], bin[PATH_MAX];
	struct hcred	 none;
	struct hresp	 r;
	int		 i, fd, status;

	snprintf(bin, sizeof(bin), "%s/server/nsregd", harness_builddir());
	nsregd_path(s, "nsregd.conf", conf, sizeof(conf));
	nsregd_path(s, "nsregd.log", log, sizeof(log));
	s->pid = fork();
	cr_assert_geq(s->pid, 0);
	if (s->pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		execl(bin, "nsregd", "-d", "-f", conf, (char *)NULL);
		_exit(127);
	}
	hcred_none(&none);
	for (i = 0; i < 200; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			cr_assert_fail("nsregd exited at start (status %d); "
			    "see %s", status, log);
		}
		if (hreq(s, &none, "GET", "/healthz", NULL, NULL, NULL,
		    &r) == 0 && r.status == 200) {
			hresp_free(&r);
			return;
		}
		hresp_free(&r);
		usleep(50 * 1000);
	}
	cr_assert_fail("nsregd did not become healthy; see %s", log);
}

/*
 * The database of a new nsregd: its own SQLite file, or, when
 * NSREG_TEST_STORE is "postgresql", its own schema of the database at
 * NSREG_TEST_PG (the integration suites on PostgreSQL).
 */
static void
harness_database(char *buf, size_t len)
{
	static int	 n;
	const char	*be = getenv("NSREG_TEST_STORE");
	const char	*pg = getenv("NSREG_TEST_PG");

	if (be != NULL && strcmp(be, "postgresql") == 0 && pg != NULL &&
	    pg[0] != '\0')
		snprintf(buf, len,
		    "%s%soptions=-csearch_path%%3Dnsregd_%d_%ld_%d", pg,
		    strchr(pg, '?') != NULL ? "&" : "?", (int)getpid(),
		    (long)time(NULL), n++);
	else
		snprintf(buf, len, "sqlite:nsreg.db");
}

void
nsregd_start(struct nsregd *s, const char *extra)
{
	nsregd_start_on(s, extra, NULL);
}

/*
 * NSREG_TEST_PROTO=h2 runs a suite over HTTP/2: every server gets a
 * "listen h2" beside its https listener, and url (so every hreq, hwatch
 * and idfix connection) names the h2 one; port stays the HTTP/1.1
 * listener's, for the tests of HTTP/1.1's own framing.
 */
static int
harness_proto_h2(void)
{
	const char	*p = getenv("NSREG_TEST_PROTO");

	return p != NULL && strcmp(p, "h2") == 0;
}

void
harness_curl_version(const struct nsregd *s, void *curl)
{
	if (s->http2)
		curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
		    strncmp(s->url, "http:", 5) == 0 ?
		    CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE :
		    CURL_HTTP_VERSION_2TLS);
}

/* Write DIR/nsregd.conf for s (extra, database: as nsregd_start_on). */
static void
harness_configure(struct nsregd *s, const char *extra, const char *database)
{
	char		path[PATH_MAX], text[8192], db[1024], h2[64] = "";
	size_t		n;
	unsigned short	p2;

	s->port = harness_free_port();
	snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%u", s->port);
	if (harness_proto_h2()) {
		while ((p2 = harness_free_port()) == s->port)
			;
		snprintf(h2, sizeof(h2), "listen h2 127.0.0.1:%u\n", p2);
		snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%u", p2);
		s->http2 = 1;
	}
	if (extra != NULL)
		snprintf(s->extra, sizeof(s->extra), "%s", extra);
	if (database != NULL)
		snprintf(db, sizeof(db), "%s", database);
	else
		harness_database(db, sizeof(db));
	n = (size_t)snprintf(text, sizeof(text),
	    "listen https 127.0.0.1:%u\n%s"
	    "trust-domain " HARNESS_TD "\n"
	    "server-id " HARNESS_SERVER "\n"
	    "tls-cert server.pem\n"
	    "tls-key server.key\n"
	    "trust-bundle bundle.json\n"
	    "grant-key grant.key\n"
	    "database %s\n"
	    "admin-token-file admin.token\n"
	    "threads 2\n"
	    "log-level debug\n"
	    "%s\n", s->port, h2, db, s->extra);
	cr_assert_lt(n, sizeof(text));
	harness_write(nsregd_path(s, "nsregd.conf", path, sizeof(path)), text,
	    0644);
}

void
nsregd_start_on(struct nsregd *s, const char *extra, const char *database)
{
	struct svid_dev		 dev;
	struct nsreg_error	 err;
	char			 path[PATH_MAX], text[256];

	memset(s, 0, sizeof(s[0]));
	snprintf(s->dir, sizeof(s->dir), "/tmp/nsreg-test-XXXXXX");
	cr_assert_not_null(mkdtemp(s->dir));
	memset(&dev, 0, sizeof(dev));
	dev.dir = s->dir;
	dev.trust_domain = HARNESS_TD;
	dev.server_id = HARNESS_SERVER;
	dev.client_id = HARNESS_CLIENT;
	dev.audience = HARNESS_SERVER;
	cr_assert_eq(svid_dev_ensure(&dev, util_now_ms(), &err), 0, "%s",
	    err.message);
	snprintf(s->admin_token, sizeof(s->admin_token),
	    "test-admin-token-%ld-0123456789", (long)getpid());
	snprintf(text, sizeof(text), "%s\n", s->admin_token);
	harness_write(nsregd_path(s, "admin.token", path, sizeof(path)), text,
	    0600);
	harness_grant_key(nsregd_path(s, "grant.key", path, sizeof(path)));
	harness_configure(s, extra, database);
	nsregd_spawn(s);
}

/* The files another instance of like's cluster shares with it. */
static const char *const harness_shared[] = {
	"ca.pem", "ca.key", "bundle.pem", "bundle.json", "server.pem",
	"server.key", "client.pem", "client.key", "client.jwt",
	"admin.token", "grant.key",
};

void
nsregd_start_like(struct nsregd *s, const struct nsregd *like,
    const char *extra, const char *database)
{
	char	from[PATH_MAX], to[PATH_MAX], *text;
	size_t	i, len;

	memset(s, 0, sizeof(s[0]));
	snprintf(s->dir, sizeof(s->dir), "/tmp/nsreg-test-XXXXXX");
	cr_assert_not_null(mkdtemp(s->dir));
	for (i = 0; i < sizeof(harness_shared) / sizeof(harness_shared[0]);
	    i++) {
		nsregd_path(like, harness_shared[i], from, sizeof(from));
		if ((text = util_file_read(from, 1 << 20, &len)) == NULL)
			continue;
		harness_write(nsregd_path(s, harness_shared[i], to,
		    sizeof(to)), text, 0600);
		free(text);
	}
	snprintf(s->admin_token, sizeof(s->admin_token), "%s",
	    like->admin_token);
	harness_configure(s, extra, database);
	nsregd_spawn(s);
}

/*
 * Print the end of the server's log (its stdout and stderr: where a
 * sanitizer reports a leak or undefined behaviour) to our stderr.
 * nsregd_spawn logs to DIR/nsregd.log; a server a test started by hand
 * may log to DIR.log.
 */
static void
harness_log_tail(const struct nsregd *s)
{
	char	 path[PATH_MAX], buf[8192];
	FILE	*f;
	long	 size, skip;
	size_t	 n;
	char	*start;

	nsregd_path(s, "nsregd.log", path, sizeof(path));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(path, sizeof(path), "%s.log", s->dir);
		if ((f = fopen(path, "r")) == NULL)
			goto out;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0)
		goto out;
	skip = size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 :
	    0;
	if (fseek(f, skip, SEEK_SET) != 0)
		goto out;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	/* From the first whole line. */
	start = buf;
	if (skip > 0 && (start = strchr(buf, '\n')) != NULL)
		start++;
	else
		start = buf;
	fprintf(stderr, "--- end of %s ---\n%s--- (end) ---\n", path, start);
out:
	if (f != NULL)
		fclose(f);
}

/*
 * Send sig and reap the server.  After SIGTERM (a graceful stop) it must
 * exit with status 0: under the sanitizer build a leak or undefined
 * behaviour makes it exit otherwise.  SIGKILL (a test killing on purpose)
 * is not checked.  Returns 0, or -1 with why in msg and the end of the
 * server's log printed on stderr.
 */
static int
harness_reap(struct nsregd *s, int sig, char *msg, size_t len)
{
	int	status, done = 0, rc = -1;
	int64_t	end;

	if (s->pid <= 0) {
		rc = 0;
		goto out;
	}
	kill(s->pid, sig);
	/* Up to 30 s: the sanitizer build checks for leaks at exit. */
	end = util_now_ms() + 30 * 1000;
	while (!(done = waitpid(s->pid, &status, WNOHANG) == s->pid) &&
	    util_now_ms() < end)
		usleep(10 * 1000);
	if (!done) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
		snprintf(msg, len, "nsregd did not stop on signal %d", sig);
	} else if (sig == SIGKILL || (WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0))
		rc = 0;
	else if (WIFEXITED(status))
		snprintf(msg, len, "nsregd exited with status %d on signal %d "
		    "(the end of its log is on stderr)", WEXITSTATUS(status),
		    sig);
	else
		snprintf(msg, len, "nsregd died of signal %d on signal %d "
		    "(the end of its log is on stderr)", WTERMSIG(status),
		    sig);
	s->pid = 0;
	if (rc != 0)
		harness_log_tail(s);
out:
	return rc;
}

static void
harness_wait(struct nsregd *s, int sig)
{
	char	msg[256];

	if (harness_reap(s, sig, msg, sizeof(msg)) != 0)
		cr_assert_fail("%s", msg);
}

void
nsregd_stop(struct nsregd *s)
{
	harness_wait(s, SIGTERM);
}

void
nsregd_kill(struct nsregd *s)
{
	harness_wait(s, SIGKILL);
}

void
nsregd_restart(struct nsregd *s)
{
	if (s->pid > 0)
		nsregd_stop(s);
	nsregd_spawn(s);
}

void
nsregd_put_policy(const struct nsregd *s, const char *name,
    const char *rule_json)
{
	struct hcred	admin;
	struct hresp	r;
	char		path[512];

	hcred_admin(s, &admin);
	snprintf(path, sizeof(path), "/v1/policies/%s", name);
	cr_assert_eq(hreq(s, &admin, "PUT", path, rule_json, NULL, NULL, &r),
	    0, "PUT %s: no answer", path);
	cr_assert(r.status == 200 || r.status == 201, "PUT %s: %ld %s", path,
	    r.status, r.body);
	hresp_free(&r);
}

void
nsregd_allow_local(const struct nsregd *s)
{
	nsregd_put_policy(s, NSREGD_LOCAL_POLICY,
	    "{\"effect\":\"permit\",\"actions\":[\"find\",\"register\","
	    "\"unregister\",\"publish\"],\"condition\":"
	    "\"principal.trust_domain == '" HARNESS_TD "'\"}");
}

void
nsregd_signal(struct nsregd *s, int sig)
{
	if (s->pid > 0)
		kill(s->pid, sig);
}

void
nsregd_cleanup(struct nsregd *s)
{
	char	cmd[PATH_MAX + 32], msg[256];
	int	rc;

	/* A graceful stop: the server must exit 0 (harness_reap). */
	rc = harness_reap(s, SIGTERM, msg, sizeof(msg));
	if (s->dir[0] != '\0' && getenv("NSREG_KEEP_TEST_DIRS") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", s->dir);
	}
	/*
	 * Mostly called from a suite's .fini, where Criterion 2.4.1 reports
	 * a failed assertion but does not count it: abort instead, which
	 * makes the test binary, and so the suite, fail.
	 */
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", criterion_current_test != NULL ?
		    criterion_current_test->name : "nsregd_cleanup", msg);
		abort();
	}
}

void
hcred_none(struct hcred *c)
{
	memset(c, 0, sizeof(*c));
}

void
hcred_admin(const struct nsregd *s, struct hcred *c)
{
	hcred_none(c);
	snprintf(c->bearer, sizeof(c->bearer), "%s", s->admin_token);
}

void
hcred_x509(const struct nsregd *s, struct hcred *c)
{
	hcred_none(c);
	nsregd_path(s, "client.pem", c->cert, sizeof(c->cert));
	nsregd_path(s, "client.key", c->key, sizeof(c->key));
}

void
hcred_jwt(const struct nsregd *s, struct hcred *c)
{
	char	path[PATH_MAX], *tok;
	size_t	n;

	hcred_none(c);
	tok = util_file_read(nsregd_path(s, "client.jwt", path, sizeof(path)),
	    sizeof(c->bearer) - 1, &n);
	cr_assert_not_null(tok);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		tok[--n] = '\0';
	snprintf(c->bearer, sizeof(c->bearer), "%s", tok);
	free(tok);
}

void
hcred_issue_x509(const struct nsregd *s, const char *id, long long ttl_ms,
    struct hcred *c)
{
	struct svid_x509_req	 req;
	struct nsreg_error	 err;
	struct svid_ca		*ca;
	char			*chain = NULL, *key = NULL, base[64];
	static int		 seq;

	cr_assert_not_null(ca = svid_ca_load(s->dir, &err), "%s",
	    err.message);
	memset(&req, 0, sizeof(req));
	req.id = id;
	req.ttl_ms = ttl_ms;
	cr_assert_eq(svid_x509_issue(ca, &req, util_now_ms(), &chain, &key,
	    &err), 0, "%s", err.message);
	svid_ca_free(ca);
	hcred_none(c);
	snprintf(base, sizeof(base), "issued-%d-%d", (int)getpid(), ++seq);
	snprintf(c->cert, sizeof(c->cert), "%s/%s.pem", s->dir, base);
	snprintf(c->key, sizeof(c->key), "%s/%s.key", s->dir, base);
	harness_write(c->cert, chain, 0644);
	harness_write(c->key, key, 0600);
	free(chain);
	free(key);
}

void
hcred_issue_jwt(const struct nsregd *s, const char *id, long long ttl_ms,
    struct hcred *c)
{
	struct svid_jwt_req	 req;
	struct nsreg_error	 err;
	struct svid_ca		*ca;
	const char		*aud[] = { HARNESS_SERVER };
	char			*tok = NULL;

	cr_assert_not_null(ca = svid_ca_load(s->dir, &err), "%s",
	    err.message);
	memset(&req, 0, sizeof(req));
	req.id = id;
	req.aud = aud;
	req.naud = 1;
	req.ttl_ms = ttl_ms;
	cr_assert_eq(svid_jwt_issue(ca, &req, util_now_ms(), &tok, &err), 0,
	    "%s", err.message);
	svid_ca_free(ca);
	hcred_none(c);
	snprintf(c->bearer, sizeof(c->bearer), "%s", tok);
	free(tok);
}

struct harness_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static size_t
harness_collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct harness_buf	*b = arg;
	size_t			 n = size * nmemb;

	if (b->len + n + 1 > b->cap) {
		size_t	 cap = b->cap ? b->cap * 2 : 4096;
		char	*ns;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((ns = realloc(b->s, cap)) == NULL)
			return 0;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, ptr, n);
	b->len += n;
	b->s[b->len] = '\0';
	return n;
}

CURL *
harness_curl(const struct nsregd *s, const struct hcred *c, const char *path,
    struct curl_slist **hdrs)
{
	CURL	*h;
	char	 url[4096], ca[PATH_MAX], auth[8300];

	h = curl_easy_init();
	cr_assert_not_null(h);
	snprintf(url, sizeof(url), "%s%s", s->url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, nsregd_path(s, "bundle.pem", ca,
	    sizeof(ca)));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
	harness_curl_version(s, h);
	if (c != NULL && c->cert[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	}
	if (c != NULL && c->bearer[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    c->bearer);
		*hdrs = curl_slist_append(*hdrs, auth);
	}
	return h;
}

int
hreq(const struct nsregd *s, const struct hcred *c, const char *method,
    const char *path, const char *body, const char *ctype,
    const char *extra_header, struct hresp *r)
{
	struct curl_slist	*hdrs = NULL;
	struct harness_buf	 b, hb;
	char			 ct[256];
	CURL			*h;
	CURLcode		 rc;

	memset(r, 0, sizeof(*r));
	memset(&b, 0, sizeof(b));
	memset(&hb, 0, sizeof(hb));
	h = harness_curl(s, c, path, &hdrs);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		snprintf(ct, sizeof(ct), "Content-Type: %s",
		    ctype != NULL ? ctype : "application/json");
		hdrs = curl_slist_append(hdrs, ct);
	} else if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, ct);
	}
	if (extra_header != NULL)
		hdrs = curl_slist_append(hdrs, extra_header);
	/* No "Expect: 100-continue" round trip. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, harness_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, harness_collect);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &r->version);
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	r->body = b.s != NULL ? b.s : strdup("");
	r->len = b.len;
	r->headers = hb.s != NULL ? hb.s : strdup("");
	if (r->len > 0)
		r->json = json_loadb(r->body, r->len, 0, NULL);
	return rc == CURLE_OK ? 0 : -1;
}

int
hreq_json(const struct nsregd *s, const struct hcred *c, const char *method,
    const char *path, json_t *body, struct hresp *r)
{
	char	*text;
	int	 rc;

	cr_assert_not_null(body);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	rc = hreq(s, c, method, path, text, NULL, NULL, r);
	free(text);
	return rc;
}

const char *
hresp_header(const struct hresp *r, const char *name)
{
	static __thread char	 val[1024];
	const char		*p = r->headers, *eol;
	size_t			 n = strlen(name), m;

	while (p != NULL && *p != '\0') {
		eol = strstr(p, "\r\n");
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			m = eol != NULL ? (size_t)(eol - p) : strlen(p);
			if (m >= sizeof(val))
				m = sizeof(val) - 1;
			memcpy(val, p, m);
			val[m] = '\0';
			return val;
		}
		p = eol != NULL ? eol + 2 : NULL;
	}
	return NULL;
}

const char *
hresp_error(const struct hresp *r)
{
	const char	*c;

	c = json_string_value(json_object_get(json_object_get(r->json,
	    "error"), "code"));
	return c != NULL ? c : "";
}

void
hresp_free(struct hresp *r)
{
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static size_t
hwatch_collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct hwatch	*w = arg;
	size_t		 n = size * nmemb, i, start = 0;
	json_t		*ev;

	pthread_mutex_lock(&w->lock);
	if (w->stop) {
		pthread_mutex_unlock(&w->lock);
		return 0;
	}
	if (w->len + n + 1 > w->cap) {
		w->cap = (w->len + n + 1) * 2;
		w->buf = realloc(w->buf, w->cap);
	}
	memcpy(w->buf + w->len, ptr, n);
	w->len += n;
	for (i = 0; i < w->len; i++)
		if (w->buf[i] == '\n') {
			ev = json_loadb(w->buf + start, i - start, 0, NULL);
			json_array_append_new(w->events, ev != NULL ? ev :
			    json_string("unparsable line"));
			start = i + 1;
		}
	memmove(w->buf, w->buf + start, w->len - start);
	w->len -= start;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return n;
}

static int
hwatch_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
    curl_off_t d)
{
	struct hwatch	*w = arg;
	int		 stop;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

static void *
hwatch_run(void *arg)
{
	struct hwatch		*w = arg;
	struct curl_slist	*hdrs = NULL;
	CURL			*h;
	long			 status = 0;

	h = harness_curl(w->s, &w->cred, w->path, &hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, hwatch_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, hwatch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	pthread_mutex_lock(&w->lock);
	w->status = status;
	w->done = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void
hwatch_start(struct hwatch *w, const struct nsregd *s, const struct hcred *c,
    const char *path)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	w->cred = *c;
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->events = json_array();
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	cr_assert_eq(pthread_create(&w->thread, NULL, hwatch_run, w), 0);
}

size_t
hwatch_wait(struct hwatch *w, size_t n, long timeout_ms)
{
	struct timespec	ts;
	size_t		got;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (json_array_size(w->events) < n && !w->done)
		if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) != 0)
			break;
	got = json_array_size(w->events);
	pthread_mutex_unlock(&w->lock);
	return got;
}

json_t *
hwatch_event(struct hwatch *w, size_t i)
{
	json_t	*e;

	pthread_mutex_lock(&w->lock);
	e = json_array_get(w->events, i);
	pthread_mutex_unlock(&w->lock);
	return e;
}

void
hwatch_stop(struct hwatch *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	json_decref(w->events);
	free(w->buf);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}
