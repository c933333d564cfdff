/*
 * harness.h - integration tests: a real nsregd on 127.0.0.1 with a free
 * port and a temporary directory, driven over HTTPS with libcurl.
 */
#ifndef NSREG_HARNESS_H
#define NSREG_HARNESS_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <jansson.h>

struct nsregd {
	char		dir[PATH_MAX];
	char		url[64];
	unsigned short	port;
	pid_t		pid;
	char		admin_token[128];
	char		extra[4096];	/* extra configuration lines */
	/*
	 * Requests over HTTP/2: ALPN h2 for an https url, prior knowledge
	 * for an http url (h2c).  A copy of a started server with url set
	 * to its h2 listener drives the same server over HTTP/2.
	 */
	int		http2;
};

/* Who calls: files in the server's directory, or a bearer token. */
struct hcred {
	char	cert[PATH_MAX];
	char	key[PATH_MAX];
	char	bearer[8192];
};

struct hresp {
	long	 status;
	char	*body;
	size_t	 len;
	json_t	*json;		/* parsed body or NULL */
	char	*headers;	/* raw response headers */
	long	 version;	/* CURL_HTTP_VERSION_* the answer came in */
};

/*
 * Create a temporary directory with development identities, write
 * nsregd.conf (defaults plus extra, which may be NULL) and start nsregd.
 * Aborts the test on failure.
 */
void	nsregd_start(struct nsregd *s, const char *extra);
/*
 * nsregd_start on the database URL database (NULL: its own), so that
 * several instances share one (tests of a PostgreSQL cluster).
 */
void	nsregd_start_on(struct nsregd *s, const char *extra,
	    const char *database);
/*
 * nsregd_start_on in a directory of its own holding like's CA, server
 * and client identities, admin token and grant key: another instance of
 * like's cluster.
 */
void	nsregd_start_like(struct nsregd *s, const struct nsregd *like,
	    const char *extra, const char *database);
/*
 * SIGTERM and wait; the directory stays.  Fails the test unless nsregd
 * exits with status 0 (under the sanitizer build: no leak, no undefined
 * behaviour), printing the end of its log on stderr.
 */
void	nsregd_stop(struct nsregd *s);
/* kill -9 and wait (the exit status is not checked). */
void	nsregd_kill(struct nsregd *s);
/* Start again on the same directory and port. */
void	nsregd_restart(struct nsregd *s);
/*
 * Stop if running (SIGTERM, checked like nsregd_stop) and remove the
 * directory.  When nsregd does not exit 0 this aborts the test process
 * (the binary exits non-zero, failing the suite): called from a .fini, a
 * failed assertion would not count.
 */
void	nsregd_cleanup(struct nsregd *s);
/* Send a signal. */
void	nsregd_signal(struct nsregd *s, int sig);
/*
 * Store the admission rule rule_json (a JSON object) as policy name
 * through the admin API; aborts the test unless it was stored.
 */
void	nsregd_put_policy(const struct nsregd *s, const char *name,
	    const char *rule_json);
/*
 * The rule the registry tests run under (nsregd denies every non-admin
 * request without rules): principals of the test trust domain may find,
 * register, unregister and publish.
 */
#define NSREGD_LOCAL_POLICY	"test-local-trust-domain"
void	nsregd_allow_local(const struct nsregd *s);
/*
 * Start nsregd -d -f DIR/nsregd.conf (logging to DIR/nsregd.log) and wait
 * until /healthz answers; aborts the test if it exits or stays silent.
 */
void	nsregd_spawn(struct nsregd *s);
/*
 * Set the HTTP version of a libcurl easy handle (a CURL *) for requests
 * to s: HTTP/2 when s->http2 (see NSREG_TEST_PROTO in harness.c).
 */
void	harness_curl_version(const struct nsregd *s, void *curl);
/* A free loopback TCP port. */
unsigned short harness_free_port(void);
/* Write text to path with mode; aborts the test on failure. */
void	harness_write(const char *path, const char *text, int mode);
/* A grant signing key (EC P-256, PKCS#8 PEM, mode 0600) at path. */
void	harness_grant_key(const char *path);
/* Path of a file in the server's directory. */
const char *nsregd_path(const struct nsregd *s, const char *file, char *buf,
	    size_t len);

void	hcred_none(struct hcred *c);
void	hcred_admin(const struct nsregd *s, struct hcred *c);
void	hcred_x509(const struct nsregd *s, struct hcred *c);
void	hcred_jwt(const struct nsregd *s, struct hcred *c);
/* A new X.509-SVID for id from the server's CA (ttl_ms 0: default). */
void	hcred_issue_x509(const struct nsregd *s, const char *id,
	    long long ttl_ms, struct hcred *c);
/* A new JWT-SVID for id with the server's audience. */
void	hcred_issue_jwt(const struct nsregd *s, const char *id,
	    long long ttl_ms, struct hcred *c);

/*
 * One request.  body may be NULL; ctype NULL means application/json when
 * there is a body.  extra_header ("If-Match: \"3\"") may be NULL.
 * Returns 0 (any status) or -1 when no answer came.
 */
int	hreq(const struct nsregd *s, const struct hcred *c, const char *method,
	    const char *path, const char *body, const char *ctype,
	    const char *extra_header, struct hresp *r);
/* Like hreq for a JSON body built with json_pack (stolen). */
int	hreq_json(const struct nsregd *s, const struct hcred *c,
	    const char *method, const char *path, json_t *body,
	    struct hresp *r);
/* Value of a response header (case-insensitive) in a static buffer. */
const char *hresp_header(const struct hresp *r, const char *name);
/* The error code of an error body, or "". */
const char *hresp_error(const struct hresp *r);
void	hresp_free(struct hresp *r);
/*
 * A libcurl handle for path on s as c (NULL: none): its CA, timeout,
 * HTTP version and client certificate set; c's bearer header appended to
 * *hdrs (the caller sets CURLOPT_HTTPHEADER and frees the list).
 */
CURL	*harness_curl(const struct nsregd *s, const struct hcred *c,
	    const char *path, struct curl_slist **hdrs);

/* A watch stream read on its own thread. */
struct hwatch {
	const struct nsregd	*s;
	struct hcred		 cred;
	char			 path[1024];
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	char			*buf;
	size_t			 len;
	size_t			 cap;
	json_t			*events;	/* parsed lines */
	long			 status;
	int			 done;
	int			 stop;
};

void	hwatch_start(struct hwatch *w, const struct nsregd *s,
	    const struct hcred *c, const char *path);
/* Wait until n events arrived or timeout_ms passed; returns the count. */
size_t	hwatch_wait(struct hwatch *w, size_t n, long timeout_ms);
/* Event i (borrowed), NULL past the end. */
json_t	*hwatch_event(struct hwatch *w, size_t i);
void	hwatch_stop(struct hwatch *w);

#endif
