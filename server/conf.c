/*
 * conf.c - nsregd.conf parsing and checking.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "h2_guard.h"
#include "log.h"
#include "spiffe.h"
#include "util.h"

#define CONF_ARGS_MAX	8
#define CONF_LINE_MAX	4096

struct conf_parser {
	const char	*name;		/* file name for messages */
	const char	*basedir;
	int		 line;
	char		*errbuf;
	size_t		 errlen;
	unsigned int	 seen[64];	/* per-keyword count */
};

typedef int (*conf_fn)(struct conf_parser *, struct conf *, char **, int);

struct conf_keyword {
	const char	*name;
	int		 minargs;
	int		 maxargs;
	int		 repeatable;
	conf_fn		 fn;
};

static int
conf_error(struct conf_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
conf_error(struct conf_parser *p, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(p->errbuf, p->errlen, "%s:%d: ", p->name, p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->errbuf + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A path made absolute against the configuration file's directory. */
static char *
conf_path(struct conf_parser *p, const char *arg)
{
	char	buf[PATH_MAX];

	if (arg[0] == '/' || p->basedir == NULL || p->basedir[0] == '\0')
		return strdup(arg);
	if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", p->basedir, arg) >=
	    sizeof(buf))
		return NULL;
	return strdup(buf);
}

static int
conf_set_string(struct conf_parser *p, char **dst, const char *arg)
{
	free(*dst);
	if ((*dst = strdup(arg)) == NULL)
		return conf_error(p, "out of memory");
	return 0;
}

static int
conf_set_path(struct conf_parser *p, char **dst, const char *arg)
{
	if (arg[0] == '\0')
		return conf_error(p, "empty path");
	free(*dst);
	if ((*dst = conf_path(p, arg)) == NULL)
		return conf_error(p, "path too long");
	return 0;
}

static int
conf_set_duration(struct conf_parser *p, int64_t *dst, const char *kw,
    const char *arg, int64_t min)
{
	int64_t	ms;

	if (util_duration_parse(arg, &ms) == -1)
		return conf_error(p, "%s: bad duration \"%s\" (use e.g. 30s, "
		    "5m, 1h, 7d)", kw, arg);
	if (ms < min) {
		char	b[32];

		return conf_error(p, "%s: %s is below the minimum of %s", kw,
		    arg, util_duration_format(min, b, sizeof(b)));
	}
	*dst = ms;
	return 0;
}

static int
conf_kw_listen(struct conf_parser *p, struct conf *c, char **av, int ac)
{
	struct conf_listen	*l;
	struct in6_addr		 a6;
	struct in_addr		 a4;
	long long		 port;
	char			 host[64], *colon;
	const char		*hp;

	(void)ac;
	if (c->nlisten == CONF_LISTEN_MAX)
		return conf_error(p, "listen: at most %d listen directives",
		    CONF_LISTEN_MAX);
	l = &c->listen[c->nlisten];
	if (strcmp(av[0], "https") == 0)
		l->scheme = CONF_HTTPS;
	else if (strcmp(av[0], "http") == 0)
		l->scheme = CONF_HTTP;
	else if (strcmp(av[0], "h2") == 0)
		l->scheme = CONF_H2;
	else if (strcmp(av[0], "h2c") == 0)
		l->scheme = CONF_H2C;
	else
		return conf_error(p, "listen: scheme must be https, http, h2 "
		    "or h2c, not \"%s\"", av[0]);
	hp = av[1];
	if (hp[0] == '[') {
		const char	*end = strchr(hp, ']');

		if (end == NULL || end[1] != ':' ||
		    (size_t)(end - hp - 1) >= sizeof(host))
			return conf_error(p, "listen: bad address \"%s\" "
			    "(use ADDR:PORT or [IPv6]:PORT)", hp);
		memcpy(host, hp + 1, end - hp - 1);
		host[end - hp - 1] = '\0';
		colon = (char *)end + 1;
	} else {
		if ((colon = strrchr(hp, ':')) == NULL ||
		    (size_t)(colon - hp) >= sizeof(host))
			return conf_error(p, "listen: bad address \"%s\" "
			    "(use ADDR:PORT or [IPv6]:PORT)", hp);
		memcpy(host, hp, colon - hp);
		host[colon - hp] = '\0';
	}
	if (util_number_parse(colon + 1, 1, 65535, &port) == -1)
		return conf_error(p, "listen: bad port \"%s\"", colon + 1);
	if (strcmp(host, "*") == 0)
		snprintf(host, sizeof(host), "0.0.0.0");
	if (inet_pton(AF_INET, host, &a4) != 1 &&
	    inet_pton(AF_INET6, host, &a6) != 1)
		return conf_error(p, "listen: \"%s\" is not a numeric IPv4 or "
		    "IPv6 address", host);
	if ((l->scheme == CONF_HTTP || l->scheme == CONF_H2C) &&
	    strncmp(host, "127.", 4) != 0 && strcmp(host, "::1") != 0)
		return conf_error(p, "listen: plain %s is allowed only on "
		    "loopback (127.0.0.0/8 or ::1), not %s",
		    l->scheme == CONF_HTTP ? "http" : "h2c", host);
	snprintf(l->addr, sizeof(l->addr), "%s", host);
	l->port = (unsigned short)port;
	c->nlisten++;
	return 0;
}

static int
conf_kw_trust_domain(struct conf_parser *p, struct conf *c, char **av,
    int ac)
{
	const char	*s;
	size_t		 n;

	(void)ac;
	n = strlen(av[0]);
	if (n == 0 || n > 255)
		return conf_error(p, "trust-domain: must be 1 to 255 bytes");
	for (s = av[0]; *s != '\0'; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		    *s == '.' || *s == '-' || *s == '_'))
			return conf_error(p, "trust-domain: \"%s\" has a "
			    "character outside [a-z0-9._-]", av[0]);
	return conf_set_string(p, &c->trust_domain, av[0]);
}

/*
 * Every SPIFFE ID of the configuration goes through the one parser of
 * the identity library, and is kept in its canonical form (scheme and
 * trust domain lower-cased) so that it compares equal to the principals
 * verified from certificates and tokens.  An ID without a path names a
 * trust domain, not a workload: no principal can ever have it.
 */
static int
conf_kw_spiffe(struct conf_parser *p, char **dst, const char *kw,
    const char *arg)
{
	struct spiffe_id	id;
	enum spiffe_rule	rule;

	rule = spiffe_id_check(arg, strlen(arg), &id);
	if (rule != SPIFFE_OK)
		return conf_error(p, "%s: \"%.256s\" is not a SPIFFE ID: %s",
		    kw, arg, spiffe_rule_message(rule));
	if (!spiffe_id_has_path(&id))
		return conf_error(p, "%s: \"%.256s\" has no path: it names a "
		    "trust domain, not a workload", kw, arg);
	return conf_set_string(p, dst, id.id);
}

static int
conf_kw_server_id(struct conf_parser *p, struct conf *c, char **av, int ac)
{
	(void)ac;
	return conf_kw_spiffe(p, &c->server_id, "server-id", av[0]);
}

static int
conf_kw_admin(struct conf_parser *p, struct conf *c, char **av, int ac)
{
	(void)ac;
	if (c->nadmins == CONF_ADMIN_MAX)
		return conf_error(p, "admin: at most %d admins",
		    CONF_ADMIN_MAX);
	c->admins[c->nadmins] = NULL;
	if (conf_kw_spiffe(p, &c->admins[c->nadmins], "admin", av[0]) == -1)
		return -1;
	c->nadmins++;
	return 0;
}

static int
conf_kw_metrics_reader(struct conf_parser *p, struct conf *c, char **av,
    int ac)
{
	(void)ac;
	if (c->nmetrics_readers == CONF_ADMIN_MAX)
		return conf_error(p, "metrics-reader: at most %d principals",
		    CONF_ADMIN_MAX);
	c->metrics_readers[c->nmetrics_readers] = NULL;
	if (conf_kw_spiffe(p, &c->metrics_readers[c->nmetrics_readers],
	    "metrics-reader", av[0]) == -1)
		return -1;
	c->nmetrics_readers++;
	return 0;
}

#define CONF_PATH_KW(fn, field)						\
static int								\
fn(struct conf_parser *p, struct conf *c, char **av, int ac)		\
{									\
	(void)ac;							\
	return conf_set_path(p, &c->field, av[0]);			\
}
CONF_PATH_KW(conf_kw_tls_cert, tls_cert)
CONF_PATH_KW(conf_kw_tls_key, tls_key)
CONF_PATH_KW(conf_kw_trust_bundle, trust_bundle)
CONF_PATH_KW(conf_kw_grant_key, grant_key)
CONF_PATH_KW(conf_kw_admin_token_file, admin_token_file)
CONF_PATH_KW(conf_kw_federation_ca_file, federation_ca_file)

static int
conf_kw_jwt_audience(struct conf_parser *p, struct conf *c, char **av,
    int ac)
{
	(void)ac;
	if (av[0][0] == '\0')
		return conf_error(p, "jwt-audience: empty audience");
	return conf_set_string(p, &c->jwt_audience, av[0]);
}

#define CONF_DURATION_KW(fn, field, kw, min)				\
static int								\
fn(struct conf_parser *p, struct conf *c, char **av, int ac)		\
{									\
	(void)ac;							\
	return conf_set_duration(p, &c->field, kw, av[0], min);	\
}
CONF_DURATION_KW(conf_kw_grant_ttl, grant_ttl, "grant-ttl", 1000)
CONF_DURATION_KW(conf_kw_endpoint_default_ttl, endpoint_default_ttl,
    "endpoint-default-ttl", 1000)
CONF_DURATION_KW(conf_kw_endpoint_max_ttl, endpoint_max_ttl,
    "endpoint-max-ttl", 1000)
CONF_DURATION_KW(conf_kw_decision_log_retention, decision_log_retention,
    "decision-log-retention", 60000)
CONF_DURATION_KW(conf_kw_connection_timeout, connection_timeout,
    "connection-timeout", 1000)
CONF_DURATION_KW(conf_kw_header_timeout, header_timeout, "header-timeout",
    1000)
CONF_DURATION_KW(conf_kw_policy_budget, policy_budget, "policy-budget", 1)
CONF_DURATION_KW(conf_kw_watch_bookmark, watch_bookmark, "watch-bookmark",
    100)
CONF_DURATION_KW(conf_kw_federation_timeout, federation_timeout,
    "federation-timeout", 100)
CONF_DURATION_KW(conf_kw_federation_refresh_min, federation_refresh_min,
    "federation-refresh-min", 1000)
CONF_DURATION_KW(conf_kw_federation_refresh_default,
    federation_refresh_default, "federation-refresh-default", 1000)
CONF_DURATION_KW(conf_kw_interdomain_timeout, interdomain_timeout,
    "interdomain-timeout", 100)
CONF_DURATION_KW(conf_kw_interdomain_backoff, interdomain_backoff,
    "interdomain-backoff", 0)

static int
conf_kw_database(struct conf_parser *p, struct conf *c, char **av, int ac)
{
	char	 buf[PATH_MAX + 8], *path;

	(void)ac;
	if (strncmp(av[0], "sqlite:", 7) == 0) {
		if (av[0][7] == '\0')
			return conf_error(p, "database: sqlite: needs a path");
		if ((path = conf_path(p, av[0] + 7)) == NULL)
			return conf_error(p, "database: path too long");
		snprintf(buf, sizeof(buf), "sqlite:%s", path);
		free(path);
		return conf_set_string(p, &c->database, buf);
	}
	if (strncmp(av[0], "postgresql://", 13) == 0 ||
	    strncmp(av[0], "postgres://", 11) == 0)
		return conf_set_string(p, &c->database, av[0]);
	return conf_error(p, "database: \"%s\" is neither sqlite:PATH nor "
	    "postgresql://...", av[0]);
}

static int
conf_kw_max_body(struct conf_parser *p, struct conf *c, char **av, int ac)
{
	size_t	n;

	(void)ac;
	if (util_size_parse(av[0], &n) == -1 || n < 1024 ||
	    n > 64 * 1024 * 1024)
		return conf_error(p, "max-body: \"%s\" is not a size between "
		    "1k and 64M", av[0]);
	c->max_body = n;
	return 0;
}

static int
conf_kw_h2_max_streams(struct conf_parser *p, struct conf *c, char **av,
    int ac)
{
	long long	n;

	(void)ac;
	if (util_number_parse(av[0], 1, 65536, &n) == -1)
		return conf_error(p, "h2-max-streams: \"%s\" is not a number "
		    "from 1 to 65536", av[0]);
	c->h2_max_streams = (unsigned int)n;
	return 0;
}

static int
conf_kw_h2_max_header_list(struct conf_parser *p, struct conf *c,
    char **av, int ac)
{
	size_t	n;

	(void)ac;
	if (util_size_parse(av[0], &n) == -1 || n < 1024 ||
	    n > 1024 * 1024)
		return conf_error(p, "h2-max-header-list: \"%s\" is not a "
		    "size between 1k and 1M", av[0]);
	c->h2_max_header_list = n;
	return 0;
}

/* SECONDS, or a duration (30s, 5m); at least a second. */
static int
conf_kw_h2_idle_timeout(struct conf_parser *p, struct conf *c, char **av,
    int ac)
{
	long long	n;

	(void)ac;
	if (util_number_parse(av[0], 1, 86400 * 365, &n) == 0) {
		c->h2_idle_timeout = (int64_t)n * 1000;
		return 0;
	}
	return conf_set_duration(p, &c->h2_idle_timeout, "h2-idle-timeout",
	    av[0], 1000);
}

static int
conf_kw_threads(struct conf_parser *p, struct conf *c, char **av, int ac)
{
	long long	n;

	(void)ac;
	if (util_number_parse(av[0], 1, 256, &n) == -1)
		return conf_error(p, "threads: \"%s\" is not a number from 1 "
		    "to 256", av[0]);
	c->threads = (int)n;
	return 0;
}

static int
conf_kw_watch_history(struct conf_parser *p, struct conf *c, char **av,
    int ac)
{
	long long	n;

	(void)ac;
	if (util_number_parse(av[0], 16, 10000000, &n) == -1)
		return conf_error(p, "watch-history: \"%s\" is not a number "
		    "from 16 to 10000000", av[0]);
	c->watch_history = (size_t)n;
	return 0;
}

static int
conf_kw_watch_history_bytes(struct conf_parser *p, struct conf *c,
    char **av, int ac)
{
	size_t	n;

	(void)ac;
	if (util_size_parse(av[0], &n) == -1 || n < 64 * 1024 ||
	    n > (size_t)4 * 1024 * 1024 * 1024)
		return conf_error(p, "watch-history-bytes: \"%s\" is not a "
		    "size between 64k and 4G", av[0]);
	c->watch_history_bytes = n;
	return 0;
}

static int
conf_kw_max_connections(struct conf_parser *p, struct conf *c, char **av,
    int ac)
{
	long long	n;

	(void)ac;
	if (strcmp(av[0], "auto") == 0) {
		c->max_connections = 0;
		return 0;
	}
	if (util_number_parse(av[0], 4, 1000000, &n) == -1)
		return conf_error(p, "max-connections: \"%s\" is neither auto "
		    "nor a number from 4 to 1000000", av[0]);
	c->max_connections = (unsigned int)n;
	return 0;
}

static int
conf_kw_max_connections_per_address(struct conf_parser *p, struct conf *c,
    char **av, int ac)
{
	long long	n;

	(void)ac;
	if (util_number_parse(av[0], 1, 1000000, &n) == -1)
		return conf_error(p, "max-connections-per-address: \"%s\" is "
		    "not a number from 1 to 1000000", av[0]);
	c->max_connections_per_address = (unsigned int)n;
	return 0;
}

/* HTTP/2 abuse limits (server/h2_guard.h), per connection per second. */
static int
conf_kw_h2_max_resets(struct conf_parser *p, struct conf *c, char **av,
    int ac)
{
	long long	n;

	(void)ac;
	if (util_number_parse(av[0], 1, 1000000, &n) == -1)
		return conf_error(p, "h2-max-resets: \"%s\" is not a number "
		    "from 1 to 1000000", av[0]);
	c->h2_max_resets = (unsigned int)n;
	return 0;
}

static int
conf_kw_h2_max_control_frames(struct conf_parser *p, struct conf *c,
    char **av, int ac)
{
	long long	n;

	(void)ac;
	if (util_number_parse(av[0], 10, 1000000, &n) == -1)
		return conf_error(p, "h2-max-control-frames: \"%s\" is not a "
		    "number from 10 to 1000000", av[0]);
	c->h2_max_control_frames = (unsigned int)n;
	return 0;
}

static int
conf_kw_log_level(struct conf_parser *p, struct conf *c, char **av, int ac)
{
	static const char *const names[] = { "debug", "info", "warn",
	    "error" };
	size_t	i;

	(void)ac;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(av[0], names[i]) == 0) {
			c->log_level = (int)i;
			return 0;
		}
	return conf_error(p, "log-level: \"%s\" is not debug, info, warn or "
	    "error", av[0]);
}

/*
 * The instance name goes bare into log lines, label values and JSON:
 * the characters of a host name, so that nothing needs quoting.
 */
static int
conf_instance_name_valid(const char *s)
{
	size_t	n = 0;

	for (; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '.' &&
		    s[n] != '-' && s[n] != '_')
			return 0;
	return n > 0 && n <= CONF_INSTANCE_NAME_MAX;
}

static int
conf_kw_instance_name(struct conf_parser *p, struct conf *c, char **av,
    int ac)
{
	(void)ac;
	if (!conf_instance_name_valid(av[0]))
		return conf_error(p, "instance-name: \"%.256s\" is not 1 to %d "
		    "characters of [A-Za-z0-9._-]", av[0],
		    CONF_INSTANCE_NAME_MAX);
	return conf_set_string(p, &c->instance_name, av[0]);
}

/*
 * The default instance name: the host name, or "nsregd" when the host
 * name cannot be had or holds characters an instance name may not.
 */
static char *
conf_default_instance_name(void)
{
	char	host[CONF_INSTANCE_NAME_MAX + 2];

	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) == -1 ||
	    !conf_instance_name_valid(host))
		snprintf(host, sizeof(host), "nsregd");
	return strdup(host);
}

static const struct conf_keyword conf_keywords[] = {
	{ .name = "listen", .minargs = 2, .maxargs = 2, .repeatable = 1,
	    .fn = conf_kw_listen },
	{ .name = "trust-domain", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_trust_domain },
	{ .name = "server-id", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_server_id },
	{ .name = "tls-cert", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_tls_cert },
	{ .name = "tls-key", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_tls_key },
	{ .name = "trust-bundle", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_trust_bundle },
	{ .name = "jwt-audience", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_jwt_audience },
	{ .name = "grant-key", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_grant_key },
	{ .name = "grant-ttl", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_grant_ttl },
	{ .name = "endpoint-default-ttl", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_endpoint_default_ttl },
	{ .name = "endpoint-max-ttl", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_endpoint_max_ttl },
	{ .name = "database", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_database },
	{ .name = "admin", .minargs = 1, .maxargs = 1, .repeatable = 1,
	    .fn = conf_kw_admin },
	{ .name = "admin-token-file", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_admin_token_file },
	{ .name = "metrics-reader", .minargs = 1, .maxargs = 1,
	    .repeatable = 1, .fn = conf_kw_metrics_reader },
	{ .name = "max-body", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_max_body },
	{ .name = "decision-log-retention", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_decision_log_retention },
	{ .name = "threads", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_threads },
	{ .name = "watch-history", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_watch_history },
	{ .name = "watch-history-bytes", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_watch_history_bytes },
	{ .name = "watch-bookmark", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_watch_bookmark },
	{ .name = "connection-timeout", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_connection_timeout },
	{ .name = "max-connections", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_max_connections },
	{ .name = "max-connections-per-address", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_max_connections_per_address },
	{ .name = "h2-max-resets", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_h2_max_resets },
	{ .name = "h2-max-control-frames", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_h2_max_control_frames },
	{ .name = "header-timeout", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_header_timeout },
	{ .name = "policy-budget", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_policy_budget },
	{ .name = "log-level", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_log_level },
	{ .name = "federation-ca-file", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_federation_ca_file },
	{ .name = "federation-timeout", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_federation_timeout },
	{ .name = "federation-refresh-min", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_federation_refresh_min },
	{ .name = "federation-refresh-default", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_federation_refresh_default },
	{ .name = "interdomain-timeout", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_interdomain_timeout },
	{ .name = "instance-name", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_instance_name },
	{ .name = "interdomain-backoff", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_interdomain_backoff },
	{ .name = "h2-max-streams", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_h2_max_streams },
	{ .name = "h2-max-header-list", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_h2_max_header_list },
	{ .name = "h2-idle-timeout", .minargs = 1, .maxargs = 1,
	    .fn = conf_kw_h2_idle_timeout },
};

static void
conf_defaults(struct conf *c)
{
	long	ncpu;

	c->grant_ttl = 10 * 60 * 1000;
	c->endpoint_default_ttl = 60 * 1000;
	c->endpoint_max_ttl = 3600 * 1000;
	c->max_body = 1024 * 1024;
	c->decision_log_retention = 7LL * 86400 * 1000;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	c->threads = ncpu < 1 ? 2 : ncpu > 16 ? 16 : (int)ncpu;
	c->watch_history = 10000;
	c->watch_history_bytes = 16 * 1024 * 1024;
	c->watch_bookmark = 10 * 1000;
	c->connection_timeout = 60 * 1000;
	c->header_timeout = 10 * 1000;
	c->policy_budget = 100;
	c->max_connections = 0;
	c->max_connections_per_address = 256;
	c->h2_max_resets = H2_GUARD_MAX_RESETS;
	c->h2_max_control_frames = H2_GUARD_MAX_CONTROL;
	c->log_level = LOG_LEVEL_INFO;
	c->federation_timeout = 10 * 1000;
	c->federation_refresh_min = 30 * 1000;
	c->federation_refresh_default = 5 * 60 * 1000;
	c->interdomain_timeout = 5 * 1000;
	c->interdomain_backoff = 2 * 1000;
	c->h2_max_streams = 128;
	c->h2_max_header_list = 16384;
	c->h2_idle_timeout = 120 * 1000;
}

/*
 * Split line into arguments: whitespace-separated words, double-quoted
 * strings with \" and \\ escapes, '#' to the end of the line outside
 * quotes.  Returns the count or -1.
 */
static int
conf_split(struct conf_parser *p, char *line, char **av)
{
	char	*r = line, *w;
	int	 ac = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\r')
			r++;
		if (*r == '\0' || *r == '#' || *r == '\n')
			break;
		if (ac == CONF_ARGS_MAX)
			return conf_error(p, "too many arguments");
		av[ac++] = w = r;
		if (*r == '"') {
			av[ac - 1] = w = ++r;
			for (;;) {
				if (*r == '\0' || *r == '\n')
					return conf_error(p,
					    "unterminated quoted string");
				if (*r == '"')
					break;
				if (*r == '\\' && (r[1] == '"' ||
				    r[1] == '\\'))
					r++;
				*w++ = *r++;
			}
			r++;
			if (*r != '\0' && *r != ' ' && *r != '\t' &&
			    *r != '\n' && *r != '\r' && *r != '#')
				return conf_error(p, "text right after a "
				    "closing quote");
			if (*r != '\0')
				r++;
			*w = '\0';
			continue;
		}
		while (*r != '\0' && *r != ' ' && *r != '\t' && *r != '\n' &&
		    *r != '\r' && *r != '#') {
			if (*r == '"')
				return conf_error(p, "quote inside a word");
			r++;
		}
		if (*r == '#') {
			*r = '\0';
			break;
		}
		if (*r != '\0')
			*r++ = '\0';
	}
	return ac;
}

static int
conf_line(struct conf_parser *p, struct conf *c, char *line)
{
	char				*av[CONF_ARGS_MAX];
	const struct conf_keyword	*kw = NULL;
	size_t				 i;
	int				 ac;

	if (!util_utf8_valid(line, strlen(line)))
		return conf_error(p, "invalid UTF-8");
	if ((ac = conf_split(p, line, av)) <= 0)
		return ac;
	for (i = 0; i < sizeof(conf_keywords) / sizeof(conf_keywords[0]); i++)
		if (strcmp(conf_keywords[i].name, av[0]) == 0) {
			kw = &conf_keywords[i];
			break;
		}
	if (kw == NULL)
		return conf_error(p, "unknown keyword \"%s\"", av[0]);
	if (ac - 1 < kw->minargs || ac - 1 > kw->maxargs)
		return conf_error(p, "%s: needs %d argument%s, got %d",
		    kw->name, kw->minargs, kw->minargs == 1 ? "" : "s",
		    ac - 1);
	if (!kw->repeatable && p->seen[i]++ > 0)
		return conf_error(p, "%s: given twice", kw->name);
	return kw->fn(p, c, av + 1, ac - 1);
}

/* Checks across directives; p->line is the last line. */
static int
conf_check(struct conf_parser *p, struct conf *c)
{
	char	buf[PATH_MAX];
	size_t	i;
	int	https = 0;

	if (c->trust_domain == NULL)
		return conf_error(p, "trust-domain is required");
	if (c->nlisten == 0) {
		c->listen[0].scheme = CONF_HTTPS;
		snprintf(c->listen[0].addr, sizeof(c->listen[0].addr),
		    "0.0.0.0");
		c->listen[0].port = 8443;
		c->nlisten = 1;
	}
	for (i = 0; i < c->nlisten; i++)
		if (c->listen[i].scheme == CONF_HTTPS ||
		    c->listen[i].scheme == CONF_H2)
			https = 1;
	if (https && (c->tls_cert == NULL || c->tls_key == NULL))
		return conf_error(p, "tls-cert and tls-key are required to "
		    "listen with https or h2");
	if (c->trust_bundle == NULL)
		return conf_error(p, "trust-bundle is required");
	if (c->server_id == NULL) {
		snprintf(buf, sizeof(buf), "spiffe://%s/nsregd",
		    c->trust_domain);
		if ((c->server_id = strdup(buf)) == NULL)
			return conf_error(p, "out of memory");
	} else if (strncmp(c->server_id + 9, c->trust_domain,
	    strlen(c->trust_domain)) != 0 ||
	    (c->server_id[9 + strlen(c->trust_domain)] != '/' &&
	    c->server_id[9 + strlen(c->trust_domain)] != '\0'))
		return conf_error(p, "server-id %s is not in trust domain %s",
		    c->server_id, c->trust_domain);
	if (c->jwt_audience == NULL &&
	    (c->jwt_audience = strdup(c->server_id)) == NULL)
		return conf_error(p, "out of memory");
	if (c->database == NULL &&
	    (c->database = strdup("sqlite:/var/lib/nsreg/nsreg.db")) == NULL)
		return conf_error(p, "out of memory");
	if (c->instance_name == NULL &&
	    (c->instance_name = conf_default_instance_name()) == NULL)
		return conf_error(p, "out of memory");
	if (c->watch_bookmark > 15 * 1000)
		return conf_error(p, "watch-bookmark must be at most 15s");
	if (c->endpoint_default_ttl > c->endpoint_max_ttl)
		return conf_error(p, "endpoint-default-ttl is longer than "
		    "endpoint-max-ttl");
	return 0;
}

struct conf *
conf_parse(const char *name, const char *text, const char *basedir,
    char *errbuf, size_t errlen)
{
	struct conf_parser	 p;
	struct conf		*c;
	char			 line[CONF_LINE_MAX];
	const char		*s = text, *nl;
	size_t			 n;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.basedir = basedir;
	p.errbuf = errbuf;
	p.errlen = errlen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conf_error(&p, "out of memory");
		return NULL;
	}
	conf_defaults(c);
	while (*s != '\0') {
		p.line++;
		nl = strchr(s, '\n');
		n = nl != NULL ? (size_t)(nl - s) : strlen(s);
		if (n >= sizeof(line)) {
			conf_error(&p, "line longer than %d bytes",
			    CONF_LINE_MAX - 1);
			goto fail;
		}
		memcpy(line, s, n);
		line[n] = '\0';
		if (conf_line(&p, c, line) == -1)
			goto fail;
		s += n + (nl != NULL);
	}
	/* Errors across directives point at the last line. */
	if (conf_check(&p, c) == -1)
		goto fail;
	return c;
fail:
	conf_free(c);
	return NULL;
}

struct conf *
conf_load(const char *path, char *errbuf, size_t errlen)
{
	struct conf	*c = NULL;
	char		*text, *dir, *slash;
	size_t		 len;

	if ((text = util_file_read(path, 1024 * 1024, &len)) == NULL) {
		snprintf(errbuf, errlen, "%s:0: %s", path,
		    util_file_strerror(errno));
		return NULL;
	}
	if (strlen(text) != len) {
		snprintf(errbuf, errlen, "%s:0: file contains a NUL byte",
		    path);
		free(text);
		return NULL;
	}
	if ((dir = strdup(path)) == NULL) {
		free(text);
		snprintf(errbuf, errlen, "%s:0: out of memory", path);
		return NULL;
	}
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		dir[0] = '\0';
	c = conf_parse(path, text, dir[0] != '\0' ? dir : NULL, errbuf,
	    errlen);
	if (c != NULL && (c->path = strdup(path)) == NULL) {
		conf_free(c);
		c = NULL;
		snprintf(errbuf, errlen, "%s:0: out of memory", path);
	}
	free(dir);
	free(text);
	return c;
}

void
conf_free(struct conf *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->trust_domain);
	free(c->server_id);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->trust_bundle);
	free(c->jwt_audience);
	free(c->grant_key);
	free(c->database);
	for (i = 0; i < c->nadmins; i++)
		free(c->admins[i]);
	for (i = 0; i < c->nmetrics_readers; i++)
		free(c->metrics_readers[i]);
	free(c->admin_token_file);
	free(c->federation_ca_file);
	free(c->instance_name);
	free(c);
}

static const char *
conf_scheme_name(enum conf_scheme s)
{
	static const char *const names[] = {
		[CONF_HTTPS] = "https",
		[CONF_HTTP] = "http",
		[CONF_H2] = "h2",
		[CONF_H2C] = "h2c",
	};

	return names[s];
}

void
conf_dump(const struct conf *c, FILE *f)
{
	char	b[32];
	size_t	i;

	for (i = 0; i < c->nlisten; i++)
		fprintf(f, "listen %s %s%s%s:%u\n",
		    conf_scheme_name(c->listen[i].scheme),
		    strchr(c->listen[i].addr, ':') ? "[" : "",
		    c->listen[i].addr,
		    strchr(c->listen[i].addr, ':') ? "]" : "",
		    c->listen[i].port);
	fprintf(f, "trust-domain %s\n", c->trust_domain);
	fprintf(f, "server-id %s\n", c->server_id);
	fprintf(f, "instance-name %s\n", c->instance_name);
	if (c->tls_cert != NULL)
		fprintf(f, "tls-cert \"%s\"\n", c->tls_cert);
	if (c->tls_key != NULL)
		fprintf(f, "tls-key \"%s\"\n", c->tls_key);
	fprintf(f, "trust-bundle \"%s\"\n", c->trust_bundle);
	fprintf(f, "jwt-audience \"%s\"\n", c->jwt_audience);
	if (c->grant_key != NULL)
		fprintf(f, "grant-key \"%s\"\n", c->grant_key);
	fprintf(f, "grant-ttl %s\n", util_duration_format(c->grant_ttl, b,
	    sizeof(b)));
	fprintf(f, "endpoint-default-ttl %s\n",
	    util_duration_format(c->endpoint_default_ttl, b, sizeof(b)));
	fprintf(f, "endpoint-max-ttl %s\n",
	    util_duration_format(c->endpoint_max_ttl, b, sizeof(b)));
	fprintf(f, "database \"%s\"\n", c->database);
	for (i = 0; i < c->nadmins; i++)
		fprintf(f, "admin %s\n", c->admins[i]);
	for (i = 0; i < c->nmetrics_readers; i++)
		fprintf(f, "metrics-reader %s\n", c->metrics_readers[i]);
	if (c->admin_token_file != NULL)
		fprintf(f, "admin-token-file \"%s\"\n", c->admin_token_file);
	fprintf(f, "max-body %zu\n", c->max_body);
	fprintf(f, "decision-log-retention %s\n",
	    util_duration_format(c->decision_log_retention, b, sizeof(b)));
	fprintf(f, "threads %d\n", c->threads);
	fprintf(f, "watch-history %zu\n", c->watch_history);
	fprintf(f, "watch-history-bytes %zu\n", c->watch_history_bytes);
	fprintf(f, "watch-bookmark %s\n",
	    util_duration_format(c->watch_bookmark, b, sizeof(b)));
	fprintf(f, "connection-timeout %s\n",
	    util_duration_format(c->connection_timeout, b, sizeof(b)));
	fprintf(f, "header-timeout %s\n",
	    util_duration_format(c->header_timeout, b, sizeof(b)));
	fprintf(f, "policy-budget %s\n",
	    util_duration_format(c->policy_budget, b, sizeof(b)));
	if (c->max_connections == 0)
		fprintf(f, "max-connections auto\n");
	else
		fprintf(f, "max-connections %u\n", c->max_connections);
	fprintf(f, "max-connections-per-address %u\n",
	    c->max_connections_per_address);
	fprintf(f, "h2-max-resets %u\n", c->h2_max_resets);
	fprintf(f, "h2-max-control-frames %u\n", c->h2_max_control_frames);
	fprintf(f, "h2-max-streams %u\n", c->h2_max_streams);
	fprintf(f, "h2-max-header-list %zu\n", c->h2_max_header_list);
	fprintf(f, "h2-idle-timeout %s\n",
	    util_duration_format(c->h2_idle_timeout, b, sizeof(b)));
	if (c->federation_ca_file != NULL)
		fprintf(f, "federation-ca-file \"%s\"\n",
		    c->federation_ca_file);
	fprintf(f, "federation-timeout %s\n",
	    util_duration_format(c->federation_timeout, b, sizeof(b)));
	fprintf(f, "federation-refresh-min %s\n",
	    util_duration_format(c->federation_refresh_min, b, sizeof(b)));
	fprintf(f, "federation-refresh-default %s\n",
	    util_duration_format(c->federation_refresh_default, b, sizeof(b)));
	fprintf(f, "interdomain-timeout %s\n",
	    util_duration_format(c->interdomain_timeout, b, sizeof(b)));
	fprintf(f, "interdomain-backoff %s\n",
	    util_duration_format(c->interdomain_backoff, b, sizeof(b)));
}
