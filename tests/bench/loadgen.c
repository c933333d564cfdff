/*
 * loadgen.c - a keep-alive HTTPS load generator with client certificates
 * (wrk cannot present one).  One blocking TLS connection per thread; each
 * sends a request, reads the whole answer, and records the latency.
 *
 * loadgen -u https://127.0.0.1:8443 -c CONNS -d SECONDS [-n REQUESTS]
 *     [-m METHOD] -p PATH [-b BODY] [--cacert F] [--cert F --key F]
 *     [-H "Header: value"] [--mod N] [--lines FILE] [--rate R]
 *
 * PATH, BODY and headers may hold {i} (a unique sequence number), {s}
 * ({i} modulo --mod), {r} (a random number below --mod) and {t} (line
 * {i} modulo the number of lines of --lines FILE, e.g. one bearer token
 * of many per request).  --rate R paces the requests: request {i} leaves
 * no earlier than i/R seconds after the start (R per second in all).
 * Prints one JSON line:
 * {"requests","seconds","rps","p50_ms","p99_ms","max_ms","status":{...},
 *  "errors"}.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LG_THREADS_MAX	512
#define LG_LAT_MAX	(1 << 22)

static const char	*lg_host = "127.0.0.1";
static int		 lg_port = 8443;
static const char	*lg_method = "GET";
static const char	*lg_path = "/healthz";
static const char	*lg_body;
static const char	*lg_headers[16];
static int		 lg_nheaders;
static long		 lg_mod = 1;
static char		**lg_lines;		/* --lines */
static size_t		 lg_nlines;
static long long	 lg_limit;		/* total requests, 0: none */
static double		 lg_seconds = 5;
static double		 lg_rate;		/* --rate, 0: none */
static double		 lg_start;
static SSL_CTX		*lg_ctx;
static atomic_llong	 lg_seq;
static atomic_llong	 lg_done;
static atomic_llong	 lg_errors;
static atomic_llong	 lg_status[600];
static volatile int	 lg_stop;

struct lg_thread {
	pthread_t	 t;
	unsigned int	 seed;
	double		*lat;
	size_t		 nlat;
	size_t		 cap;
};

static double
lg_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Expand {i}, {s}, {r} in tmpl into out. */
static void
lg_expand(const char *tmpl, long long i, unsigned int *seed, char *out,
    size_t len)
{
	size_t	o = 0;

	while (*tmpl != '\0' && o + 24 < len) {
		if (tmpl[0] == '{' && tmpl[1] == 't' && tmpl[2] == '}' &&
		    lg_nlines > 0) {
			const char	*l = lg_lines[i % (long long)lg_nlines];
			size_t		 n = strlen(l);

			if (o + n >= len)
				break;
			memcpy(out + o, l, n);
			o += n;
			tmpl += 3;
		} else if (tmpl[0] == '{' && tmpl[2] == '}' &&
		    (tmpl[1] == 'i' || tmpl[1] == 's' || tmpl[1] == 'r')) {
			long long	v = tmpl[1] == 'i' ? i :
			    tmpl[1] == 's' ? i % lg_mod :
			    (long long)(rand_r(seed) % lg_mod);

			o += (size_t)snprintf(out + o, len - o, "%lld", v);
			tmpl += 3;
		} else
			out[o++] = *tmpl++;
	}
	out[o] = '\0';
}

static SSL *
lg_connect(void)
{
	struct sockaddr_in	 sa;
	SSL			*ssl;
	int			 fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(lg_port);
	inet_pton(AF_INET, lg_host, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ssl = SSL_new(lg_ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	return ssl;
}

static void
lg_close(SSL *ssl)
{
	int	fd;

	if (ssl == NULL)
		return;
	fd = SSL_get_fd(ssl);
	SSL_free(ssl);
	close(fd);
}

/* Read one response; returns the status or -1.  *keep 0 on close. */
static int
lg_read_response(SSL *ssl, int *keep)
{
	char	buf[65536], *hend, *p;
	size_t	have = 0, need;
	long	clen = -1;
	int	n, status;

	*keep = 1;
	for (;;) {
		n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have));
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if ((hend = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (have >= sizeof(buf) - 1)
			return -1;
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	for (p = buf; p < hend; p = strstr(p, "\r\n") + 2) {
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			clen = strtol(p + 15, NULL, 10);
		if (strncasecmp(p, "Connection: close", 17) == 0)
			*keep = 0;
		if (strstr(p, "\r\n") == NULL)
			break;
	}
	if (clen < 0)
		return -1;
	need = (size_t)(hend + 4 - buf) + (size_t)clen;
	while (have < need) {
		char	skip[65536];
		size_t	want = need - have;

		n = SSL_read(ssl, skip, (int)(want < sizeof(skip) ? want :
		    sizeof(skip)));
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
	return status;
}

static void *
lg_run(void *arg)
{
	struct lg_thread	*th = arg;
	SSL			*ssl = NULL;
	char			 path[4096], body[65536], req[72000];
	char			 hdr[16384];
	double			 t0;
	long long		 i;
	int			 n, status, keep, h;

	while (!lg_stop) {
		i = atomic_fetch_add(&lg_seq, 1);
		if (lg_limit > 0 && i >= lg_limit)
			break;
		if (lg_rate > 0 && (t0 = lg_start + (double)i / lg_rate -
		    lg_now()) > 0)
			usleep((useconds_t)(t0 * 1e6));
		if (ssl == NULL && (ssl = lg_connect()) == NULL) {
			atomic_fetch_add(&lg_errors, 1);
			usleep(10000);
			continue;
		}
		lg_expand(lg_path, i, &th->seed, path, sizeof(path));
		n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\n"
		    "Host: %s:%d\r\n", lg_method, path, lg_host, lg_port);
		for (h = 0; h < lg_nheaders; h++) {
			lg_expand(lg_headers[h], i, &th->seed, hdr,
			    sizeof(hdr));
			n += snprintf(req + n, sizeof(req) - n, "%s\r\n", hdr);
		}
		if (lg_body != NULL) {
			lg_expand(lg_body, i, &th->seed, body, sizeof(body));
			n += snprintf(req + n, sizeof(req) - n,
			    "Content-Type: application/json\r\n"
			    "Content-Length: %zu\r\n\r\n%s", strlen(body),
			    body);
		} else
			n += snprintf(req + n, sizeof(req) - n, "\r\n");
		t0 = lg_now();
		if (SSL_write(ssl, req, n) != n ||
		    (status = lg_read_response(ssl, &keep)) < 0) {
			atomic_fetch_add(&lg_errors, 1);
			lg_close(ssl);
			ssl = NULL;
			continue;
		}
		if (th->nlat < th->cap)
			th->lat[th->nlat++] = lg_now() - t0;
		if (status >= 0 && status < 600)
			atomic_fetch_add(&lg_status[status], 1);
		atomic_fetch_add(&lg_done, 1);
		if (!keep) {
			lg_close(ssl);
			ssl = NULL;
		}
	}
	lg_close(ssl);
	return NULL;
}

/* Read --lines: every non-empty line of path. */
static int
lg_read_lines(const char *path)
{
	FILE	*f;
	char	*line = NULL, **v;
	size_t	 cap = 0;
	ssize_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if ((v = realloc(lg_lines, (lg_nlines + 1) *
		    sizeof(*v))) == NULL || (v[lg_nlines] = strdup(line)) ==
		    NULL) {
			fclose(f);
			return -1;
		}
		lg_lines = v;
		lg_nlines++;
	}
	free(line);
	fclose(f);
	return lg_nlines > 0 ? 0 : -1;
}

static int
lg_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "cacert", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "mod", required_argument, NULL, 'M' },
		{ "lines", required_argument, NULL, 'L' },
		{ "rate", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	struct lg_thread	*th;
	const char		*cacert = NULL, *cert = NULL, *key = NULL;
	double			*all, t0, secs;
	size_t			 nall = 0, k;
	int			 ch, conns = 16, i, first = 1;

	while ((ch = getopt_long(argc, argv, "u:c:d:n:m:p:b:H:", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'u':
			if (sscanf(optarg, "https://%*[^:]:%d", &lg_port) != 1)
				return 2;
			break;
		case 'c':
			conns = (int)strtol(optarg, NULL, 10);
			break;
		case 'd':
			lg_seconds = strtod(optarg, NULL);
			break;
		case 'n':
			lg_limit = strtoll(optarg, NULL, 10);
			break;
		case 'm':
			lg_method = optarg;
			break;
		case 'p':
			lg_path = optarg;
			break;
		case 'b':
			lg_body = optarg;
			break;
		case 'H':
			if (lg_nheaders < 16)
				lg_headers[lg_nheaders++] = optarg;
			break;
		case 'A':
			cacert = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'M':
			lg_mod = strtol(optarg, NULL, 10);
			break;
		case 'R':
			lg_rate = strtod(optarg, NULL);
			break;
		case 'L':
			if (lg_read_lines(optarg) == -1) {
				fprintf(stderr, "loadgen: %s: no lines\n",
				    optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: see loadgen.c\n");
			return 2;
		}
	}
	if (conns < 1 || conns > LG_THREADS_MAX || lg_mod < 1)
		return 2;
	lg_ctx = SSL_CTX_new(TLS_client_method());
	if (cacert != NULL) {
		SSL_CTX_load_verify_locations(lg_ctx, cacert, NULL);
		SSL_CTX_set_verify(lg_ctx, SSL_VERIFY_PEER, NULL);
	}
	if (cert != NULL && (SSL_CTX_use_certificate_chain_file(lg_ctx,
	    cert) != 1 || SSL_CTX_use_PrivateKey_file(lg_ctx, key,
	    SSL_FILETYPE_PEM) != 1)) {
		ERR_print_errors_fp(stderr);
		return 2;
	}
	th = calloc((size_t)conns, sizeof(*th));
	t0 = lg_start = lg_now();
	for (i = 0; i < conns; i++) {
		th[i].seed = (unsigned int)i * 7919u + 1;
		th[i].cap = LG_LAT_MAX / (size_t)conns;
		th[i].lat = malloc(th[i].cap * sizeof(double));
		pthread_create(&th[i].t, NULL, lg_run, &th[i]);
	}
	if (lg_limit == 0) {
		usleep((useconds_t)(lg_seconds * 1e6));
		lg_stop = 1;
	}
	for (i = 0; i < conns; i++)
		pthread_join(th[i].t, NULL);
	secs = lg_now() - t0;
	all = malloc(LG_LAT_MAX * sizeof(double));
	for (i = 0; i < conns; i++) {
		memcpy(all + nall, th[i].lat, th[i].nlat * sizeof(double));
		nall += th[i].nlat;
	}
	qsort(all, nall, sizeof(double), lg_cmp);
	printf("{\"requests\":%lld,\"seconds\":%.3f,\"rps\":%.0f,"
	    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%lld,"
	    "\"status\":{", (long long)lg_done, secs, lg_done / secs,
	    nall ? all[nall / 2] * 1e3 : 0, nall ? all[nall * 99 / 100] * 1e3 :
	    0, nall ? all[nall - 1] * 1e3 : 0, (long long)lg_errors);
	for (k = 0; k < 600; k++)
		if (lg_status[k] > 0) {
			printf("%s\"%zu\":%lld", first ? "" : ",", k,
			    (long long)lg_status[k]);
			first = 0;
		}
	printf("}}\n");
	return 0;
}
