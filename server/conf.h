/*
 * conf.h - nsregd.conf: one directive per line, "keyword argument...",
 * '#' comments, double-quoted arguments (DESIGN section 2).  Every
 * directive and its default is documented in nsregd.conf(5).
 */
#ifndef NSREG_CONF_H
#define NSREG_CONF_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define CONF_LISTEN_MAX		8
#define CONF_ADMIN_MAX		64
#define CONF_ERROR_MAX		1024
#define CONF_INSTANCE_NAME_MAX	253	/* bytes, as a DNS name */

enum conf_scheme {
	CONF_HTTPS = 0,
	CONF_HTTP,		/* plain HTTP, loopback only */
	CONF_H2,		/* HTTP/2 over TLS, ALPN h2 */
	CONF_H2C		/* cleartext HTTP/2, loopback only */
};

struct conf_listen {
	enum conf_scheme	 scheme;
	char			 addr[64];	/* numeric IPv4 or IPv6 */
	unsigned short		 port;
};

struct conf {
	char			*path;		/* the file read, or NULL */
	struct conf_listen	 listen[CONF_LISTEN_MAX];
	size_t			 nlisten;
	char			*trust_domain;
	char			*server_id;
	char			*tls_cert;
	char			*tls_key;
	char			*trust_bundle;
	char			*jwt_audience;
	char			*grant_key;
	int64_t			 grant_ttl;		/* ms */
	int64_t			 endpoint_default_ttl;	/* ms */
	int64_t			 endpoint_max_ttl;	/* ms */
	char			*database;
	char			*admins[CONF_ADMIN_MAX];
	size_t			 nadmins;
	char			*admin_token_file;
	char			*metrics_readers[CONF_ADMIN_MAX];
	size_t			 nmetrics_readers;
	size_t			 max_body;		/* bytes */
	int64_t			 decision_log_retention;	/* ms */
	int			 threads;
	size_t			 watch_history;		/* events */
	size_t			 watch_history_bytes;
	int64_t			 watch_bookmark;	/* ms */
	int64_t			 connection_timeout;	/* ms */
	int64_t			 header_timeout;	/* ms */
	int64_t			 policy_budget;		/* ms per list */
	unsigned int		 max_connections;	/* 0: from the fd limit */
	unsigned int		 max_connections_per_address;
	unsigned int		 h2_max_resets;		/* per second */
	unsigned int		 h2_max_control_frames;	/* per second */
	int			 log_level;	/* enum log_level */
	char			*federation_ca_file;	/* NULL: system */
	int64_t			 federation_timeout;	/* ms */
	int64_t			 federation_refresh_min;	/* ms */
	int64_t			 federation_refresh_default;	/* ms */
	int64_t			 interdomain_timeout;	/* ms */
	char			*instance_name;	/* default: the host name */
	int64_t			 interdomain_backoff;	/* ms, 0: none */
	unsigned int		 h2_max_streams;	/* per connection */
	size_t			 h2_max_header_list;	/* bytes */
	int64_t			 h2_idle_timeout;	/* ms */
};

/*
 * Read path into a new configuration with defaults for what the file does
 * not set, and check it.  Relative paths in the file are taken relative to
 * the file's directory.  On error returns NULL and writes
 * "file:line: message" into errbuf.
 */
struct conf	*conf_load(const char *path, char *errbuf, size_t errlen);

/* Parse a configuration held in memory (name is used in messages). */
struct conf	*conf_parse(const char *name, const char *text,
		    const char *basedir, char *errbuf, size_t errlen);

void		 conf_free(struct conf *c);

/* Print the effective configuration, one directive per line. */
void		 conf_dump(const struct conf *c, FILE *f);

#endif
