/*
 * metrics.c - request counters by route, method and code; latency
 * histograms by route; decisions by action and outcome.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics.h"
#include "metrics_http.h"
#include "route.h"
#include "util.h"

#define METRICS_ROUTES_MAX	64
#define METRICS_TD_MAX		32

static const unsigned int metrics_codes[] = {
	200, 201, 204, 400, 401, 403, 404, 405, 409, 410, 412, 413, 415,
	499, 500, 502, 503, 504
};
#define METRICS_NCODES	(sizeof(metrics_codes) / sizeof(metrics_codes[0]))

/* Upper bounds of the latency buckets, microseconds. */
static const int64_t metrics_buckets[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 2500000
};
#define METRICS_NBUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

static const char *const metrics_actions[] = {
	"find", "register", "unregister", "publish", "connect"
};
#define METRICS_NACTIONS (sizeof(metrics_actions) / sizeof(metrics_actions[0]))

struct metrics_route {
	/* [method][code]; the extra code slot counts anything else. */
	atomic_uint_fast64_t	count[HTTP_OTHER + 1][METRICS_NCODES + 1];
	atomic_uint_fast64_t	bucket[METRICS_NBUCKETS + 1];
	atomic_uint_fast64_t	sum_us;
};

struct metrics_td {
	char			name[256];
	atomic_uint_fast64_t	ok;
	atomic_uint_fast64_t	error;
	int64_t			refreshed_ms;	/* 0: no age shown */
	/* Interdomain calls to this trust domain's registry (peer.h). */
	atomic_uint_fast64_t	peer_conns;
	atomic_uint_fast64_t	peer_result[3];	/* ok, error, backoff */
};

static const char *const metrics_peer_results[] = {
	"ok", "error", "backoff"
};

struct metrics {
	/* Slot 0 is "no route matched"; route i is slot i + 1. */
	struct metrics_route	routes[METRICS_ROUTES_MAX + 1];
	atomic_uint_fast64_t	decisions[METRICS_NACTIONS][2];
	atomic_uint_fast64_t	h2_goaway[H2_GUARD_NREASONS];
	pthread_mutex_t		lock;		/* tds */
	struct metrics_td	tds[METRICS_TD_MAX];
	size_t			ntds;
	atomic_uint_fast64_t	connections;	/* accepted */
	atomic_uint_fast64_t	protos[HTTP_PROTO_2 + 1];	/* requests */
};

struct metrics *
metrics_new(void)
{
	struct metrics	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void
metrics_request(struct metrics *m, const struct route *r,
    enum http_method method, unsigned int status, int64_t dur_us)
{
	struct metrics_route	*mr;
	size_t			 slot = 0, c, b;

	if (m == NULL)
		return;
	if (r != NULL && route_index(r) < METRICS_ROUTES_MAX)
		slot = route_index(r) + 1;
	mr = &m->routes[slot];
	for (c = 0; c < METRICS_NCODES; c++)
		if (metrics_codes[c] == status)
			break;
	atomic_fetch_add_explicit(&mr->count[method][c], 1,
	    memory_order_relaxed);
	for (b = 0; b < METRICS_NBUCKETS; b++)
		if (dur_us <= metrics_buckets[b])
			break;
	atomic_fetch_add_explicit(&mr->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&mr->sum_us, (uint64_t)(dur_us < 0 ? 0 :
	    dur_us), memory_order_relaxed);
}

void
metrics_request_proto(struct metrics *m, enum http_proto proto)
{
	if (m == NULL || proto > HTTP_PROTO_2)
		return;
	atomic_fetch_add_explicit(&m->protos[proto], 1, memory_order_relaxed);
}

void
metrics_decision(struct metrics *m, const char *action, int allow)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < METRICS_NACTIONS; i++)
		if (strcmp(metrics_actions[i], action) == 0) {
			atomic_fetch_add_explicit(&m->decisions[i][allow != 0],
			    1, memory_order_relaxed);
			return;
		}
}

void
metrics_h2_goaway(struct metrics *m, enum h2_guard_reason r)
{
	if (m == NULL || (unsigned int)r >= H2_GUARD_NREASONS)
		return;
	atomic_fetch_add_explicit(&m->h2_goaway[r], 1, memory_order_relaxed);
}

void
metrics_bundle_refresh(struct metrics *m, const char *trust_domain, int ok)
{
	size_t	i;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->ntds; i++)
		if (strcmp(m->tds[i].name, trust_domain) == 0)
			break;
	if (i == m->ntds && m->ntds < METRICS_TD_MAX) {
		snprintf(m->tds[i].name, sizeof(m->tds[i].name), "%s",
		    trust_domain);
		m->ntds++;
	}
	if (i < m->ntds) {
		if (ok)
			atomic_fetch_add(&m->tds[i].ok, 1);
		else
			atomic_fetch_add(&m->tds[i].error, 1);
	}
	pthread_mutex_unlock(&m->lock);
}

void
metrics_bundle_age(struct metrics *m, const char *trust_domain,
    int64_t refreshed_ms)
{
	size_t	i;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->ntds; i++)
		if (strcmp(m->tds[i].name, trust_domain) == 0)
			break;
	if (i == m->ntds && refreshed_ms != 0 && m->ntds < METRICS_TD_MAX) {
		snprintf(m->tds[i].name, sizeof(m->tds[i].name), "%s",
		    trust_domain);
		m->ntds++;
	}
	if (i < m->ntds)
		m->tds[i].refreshed_ms = refreshed_ms;
	pthread_mutex_unlock(&m->lock);
}

/* The slot of trust_domain, added when missing; m->lock held. */
static struct metrics_td *
metrics_td_slot(struct metrics *m, const char *trust_domain)
{
	struct metrics_td	*t = NULL;
	size_t			 i;

	for (i = 0; i < m->ntds; i++)
		if (strcmp(m->tds[i].name, trust_domain) == 0) {
			t = &m->tds[i];
			goto out;
		}
	if (m->ntds < METRICS_TD_MAX) {
		t = &m->tds[m->ntds++];
		snprintf(t->name, sizeof(t->name), "%s", trust_domain);
	}
out:
	return t;
}

void
metrics_peer_connections(struct metrics *m, const char *trust_domain,
    uint64_t n)
{
	struct metrics_td	*t;

	if (m == NULL || n == 0)
		return;
	pthread_mutex_lock(&m->lock);
	if ((t = metrics_td_slot(m, trust_domain)) != NULL)
		atomic_fetch_add(&t->peer_conns, n);
	pthread_mutex_unlock(&m->lock);
}

void
metrics_peer_request(struct metrics *m, const char *trust_domain,
    enum metrics_peer_result result)
{
	struct metrics_td	*t;

	if (m == NULL || (size_t)result >= sizeof(metrics_peer_results) /
	    sizeof(metrics_peer_results[0]))
		return;
	pthread_mutex_lock(&m->lock);
	if ((t = metrics_td_slot(m, trust_domain)) != NULL)
		atomic_fetch_add(&t->peer_result[result], 1);
	pthread_mutex_unlock(&m->lock);
}

void
metrics_connection(struct metrics *m)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->connections, 1,
		    memory_order_relaxed);
}

struct metrics_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

static void
metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char	*ns = realloc(b->s, b->cap * 2 + (size_t)n);

		if (ns == NULL) {
			b->failed = 1;
			return;
		}
		b->s = ns;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

/* Open file descriptors of this process, -1 when unknown. */
static long
metrics_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

/* The standard process collector's series (Prometheus client_golang). */
static void
metrics_render_process(struct metrics_buf *b, int64_t started_ms)
{
	struct rusage	ru;
	struct rlimit	rl;
	FILE		*fp;
	unsigned long	 vsz = 0, rss = 0;
	long		 page = sysconf(_SC_PAGESIZE), fds;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		metrics_printf(b, "# HELP process_cpu_seconds_total Total user "
		    "and system CPU time spent in seconds.\n"
		    "# TYPE process_cpu_seconds_total counter\n"
		    "process_cpu_seconds_total %.6f\n",
		    (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		    ((double)ru.ru_utime.tv_usec +
		    (double)ru.ru_stime.tv_usec) / 1e6);
	if ((fp = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(fp, "%lu %lu", &vsz, &rss) == 2 && page > 0)
			metrics_printf(b, "# HELP "
			    "process_resident_memory_bytes "
			    "Resident memory size in bytes.\n"
			    "# TYPE process_resident_memory_bytes gauge\n"
			    "process_resident_memory_bytes %llu\n"
			    "# HELP process_virtual_memory_bytes Virtual "
			    "memory size in bytes.\n"
			    "# TYPE process_virtual_memory_bytes gauge\n"
			    "process_virtual_memory_bytes %llu\n",
			    (unsigned long long)rss * (unsigned long long)page,
			    (unsigned long long)vsz *
			    (unsigned long long)page);
		fclose(fp);
	}
	if ((fds = metrics_open_fds()) >= 0)
		metrics_printf(b, "# HELP process_open_fds Number of open file "
		    "descriptors.\n# TYPE process_open_fds gauge\n"
		    "process_open_fds %ld\n", fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		metrics_printf(b, "# HELP process_max_fds Maximum number of "
		    "open file descriptors.\n# TYPE process_max_fds gauge\n"
		    "process_max_fds %llu\n",
		    (unsigned long long)rl.rlim_cur);
	if (started_ms > 0)
		metrics_printf(b, "# HELP process_start_time_seconds "
		    "Start time of the process since unix epoch in seconds.\n"
		    "# TYPE process_start_time_seconds gauge\n"
		    "process_start_time_seconds %.3f\n",
		    (double)started_ms / 1000.0);
}

char *
metrics_render(struct metrics *m, const struct metrics_gauges *g,
    size_t *len)
{
	struct metrics_buf	 b;
	const struct route	*tab;
	const char		*label;
	size_t			 nroutes, slot, meth, c, k, i;
	uint64_t		 v, cum;
	int64_t			 now = util_now_ms();

	memset(&b, 0, sizeof(b));
	b.cap = 16384;
	if ((b.s = malloc(b.cap)) == NULL)
		return NULL;
	tab = route_table(&nroutes);
	if (nroutes > METRICS_ROUTES_MAX)
		nroutes = METRICS_ROUTES_MAX;

	metrics_printf(&b, "# HELP nsreg_http_requests_total HTTP requests "
	    "by route, method and status code.\n"
	    "# TYPE nsreg_http_requests_total counter\n");
	for (slot = 0; slot <= nroutes; slot++) {
		label = slot == 0 ? "unmatched" : tab[slot - 1].pattern;
		for (meth = 0; meth <= HTTP_OTHER; meth++)
			for (c = 0; c <= METRICS_NCODES; c++) {
				v = atomic_load_explicit(
				    &m->routes[slot].count[meth][c],
				    memory_order_relaxed);
				if (v == 0)
					continue;
				if (c == METRICS_NCODES)
					metrics_printf(&b,
					    "nsreg_http_requests_total{route=\""
					    "%s\",method=\"%s\",code=\"other\"}"
					    " %llu\n", label,
					    route_method_name(meth),
					    (unsigned long long)v);
				else
					metrics_printf(&b,
					    "nsreg_http_requests_total{route=\""
					    "%s\",method=\"%s\",code=\"%u\"} "
					    "%llu\n", label,
					    route_method_name(meth),
					    metrics_codes[c],
					    (unsigned long long)v);
			}
	}
	metrics_printf(&b, "# HELP nsreg_http_request_duration_seconds "
	    "Time from request arrival to the end of the reply.\n"
	    "# TYPE nsreg_http_request_duration_seconds histogram\n");
	for (slot = 0; slot <= nroutes; slot++) {
		label = slot == 0 ? "unmatched" : tab[slot - 1].pattern;
		cum = 0;
		for (k = 0; k <= METRICS_NBUCKETS; k++)
			cum += atomic_load_explicit(&m->routes[slot].bucket[k],
			    memory_order_relaxed);
		if (cum == 0)
			continue;
		cum = 0;
		for (k = 0; k < METRICS_NBUCKETS; k++) {
			cum += atomic_load_explicit(&m->routes[slot].bucket[k],
			    memory_order_relaxed);
			metrics_printf(&b,
			    "nsreg_http_request_duration_seconds_bucket{route="
			    "\"%s\",le=\"%g\"} %llu\n", label,
			    (double)metrics_buckets[k] / 1e6,
			    (unsigned long long)cum);
		}
		cum += atomic_load_explicit(
		    &m->routes[slot].bucket[METRICS_NBUCKETS],
		    memory_order_relaxed);
		metrics_printf(&b, "nsreg_http_request_duration_seconds_bucket"
		    "{route=\"%s\",le=\"+Inf\"} %llu\n", label,
		    (unsigned long long)cum);
		metrics_printf(&b, "nsreg_http_request_duration_seconds_sum"
		    "{route=\"%s\"} %.6f\n", label, (double)atomic_load(
		    &m->routes[slot].sum_us) / 1e6);
		metrics_printf(&b, "nsreg_http_request_duration_seconds_count"
		    "{route=\"%s\"} %llu\n", label, (unsigned long long)cum);
	}
	metrics_printf(&b, "# HELP nsreg_decisions_total Admission decisions "
	    "by action and outcome.\n"
	    "# TYPE nsreg_decisions_total counter\n");
	for (i = 0; i < METRICS_NACTIONS; i++)
		for (k = 0; k < 2; k++)
			metrics_printf(&b, "nsreg_decisions_total{action=\"%s\","
			    "decision=\"%s\"} %llu\n", metrics_actions[i],
			    k ? "allow" : "deny", (unsigned long long)
			    atomic_load(&m->decisions[i][k]));
	metrics_printf(&b, "# HELP nsreg_decisions_dropped_total Admission "
	    "decisions that could not be written to the decision log.\n"
	    "# TYPE nsreg_decisions_dropped_total counter\n"
	    "nsreg_decisions_dropped_total %llu\n", (unsigned long long)
	    g->decisions_dropped);
	metrics_printf(&b, "# HELP nsreg_h2_goaway_total HTTP/2 connections "
	    "closed with GOAWAY by the abuse limits, by reason.\n"
	    "# TYPE nsreg_h2_goaway_total counter\n");
	for (i = H2_GUARD_NONE + 1; i < H2_GUARD_NREASONS; i++)
		metrics_printf(&b, "nsreg_h2_goaway_total{reason=\"%s\"} %llu\n",
		    h2_guard_reason_name(i), (unsigned long long)atomic_load(
		    &m->h2_goaway[i]));
	pthread_mutex_lock(&m->lock);
	for (i = k = 0; i < m->ntds; i++) {
		if (atomic_load(&m->tds[i].ok) + atomic_load(&m->tds[i].error) ==
		    0)
			continue;
		if (k++ == 0)
			metrics_printf(&b, "# HELP nsreg_bundle_refresh_total "
			    "Federated bundle fetches by trust domain and "
			    "result.\n"
			    "# TYPE nsreg_bundle_refresh_total counter\n");
		metrics_printf(&b, "nsreg_bundle_refresh_total{trust_domain="
		    "\"%s\",result=\"ok\"} %llu\n", m->tds[i].name,
		    (unsigned long long)atomic_load(&m->tds[i].ok));
		metrics_printf(&b, "nsreg_bundle_refresh_total{trust_domain="
		    "\"%s\",result=\"error\"} %llu\n", m->tds[i].name,
		    (unsigned long long)atomic_load(&m->tds[i].error));
	}
	for (i = k = 0; i < m->ntds; i++) {
		if (m->tds[i].refreshed_ms == 0)
			continue;
		if (k++ == 0)
			metrics_printf(&b, "# HELP nsreg_bundle_age_seconds "
			    "Time since a federated trust domain's bundle was "
			    "last fetched.\n"
			    "# TYPE nsreg_bundle_age_seconds gauge\n");
		metrics_printf(&b, "nsreg_bundle_age_seconds{trust_domain="
		    "\"%s\"} %.3f\n", m->tds[i].name, (double)(now -
		    m->tds[i].refreshed_ms) / 1000.0);
	}
	for (i = k = 0; i < m->ntds; i++) {
		if (atomic_load(&m->tds[i].peer_result[0]) +
		    atomic_load(&m->tds[i].peer_result[1]) +
		    atomic_load(&m->tds[i].peer_result[2]) == 0 &&
		    atomic_load(&m->tds[i].peer_conns) == 0)
			continue;
		if (k++ == 0)
			metrics_printf(&b, "# HELP nsreg_peer_requests_total "
			    "Interdomain calls by trust domain and result.\n"
			    "# TYPE nsreg_peer_requests_total counter\n");
		for (c = 0; c < 3; c++)
			metrics_printf(&b, "nsreg_peer_requests_total{"
			    "trust_domain=\"%s\",result=\"%s\"} %llu\n",
			    m->tds[i].name, metrics_peer_results[c],
			    (unsigned long long)atomic_load(
			    &m->tds[i].peer_result[c]));
	}
	for (i = k = 0; i < m->ntds; i++) {
		if (atomic_load(&m->tds[i].peer_result[0]) +
		    atomic_load(&m->tds[i].peer_result[1]) +
		    atomic_load(&m->tds[i].peer_result[2]) == 0 &&
		    atomic_load(&m->tds[i].peer_conns) == 0)
			continue;
		if (k++ == 0)
			metrics_printf(&b, "# HELP nsreg_peer_connections_total "
			    "Connections opened to a trust domain's registry."
			    "\n# TYPE nsreg_peer_connections_total counter\n");
		metrics_printf(&b, "nsreg_peer_connections_total{trust_domain="
		    "\"%s\"} %llu\n", m->tds[i].name, (unsigned long long)
		    atomic_load(&m->tds[i].peer_conns));
	}
	pthread_mutex_unlock(&m->lock);
	metrics_printf(&b, "# HELP nsreg_http_protocol_requests_total HTTP "
	    "requests by protocol (listen https|http: HTTP/1.1, "
	    "h2|h2c: HTTP/2).\n"
	    "# TYPE nsreg_http_protocol_requests_total counter\n"
	    "nsreg_http_protocol_requests_total{proto=\"HTTP/1.1\"} %llu\n"
	    "nsreg_http_protocol_requests_total{proto=\"HTTP/2\"} %llu\n",
	    (unsigned long long)atomic_load(&m->protos[HTTP_PROTO_1_1]),
	    (unsigned long long)atomic_load(&m->protos[HTTP_PROTO_2]));
	metrics_printf(&b, "# HELP nsreg_http_connections_total Connections "
	    "accepted (on a TLS listener, each is a handshake).\n"
	    "# TYPE nsreg_http_connections_total counter\n"
	    "nsreg_http_connections_total %llu\n", (unsigned long long)
	    atomic_load(&m->connections));
	if (g->endpoints >= 0)
		metrics_printf(&b, "# HELP nsreg_endpoints Live network "
		    "service endpoints.\n# TYPE nsreg_endpoints gauge\n"
		    "nsreg_endpoints %lld\n", (long long)g->endpoints);
	if (g->grants >= 0)
		metrics_printf(&b, "# HELP nsreg_grants Live connection "
		    "grants.\n# TYPE nsreg_grants gauge\n"
		    "nsreg_grants %lld\n", (long long)g->grants);
	metrics_printf(&b, "# HELP nsreg_watchers Open watch streams.\n"
	    "# TYPE nsreg_watchers gauge\nnsreg_watchers %lld\n",
	    (long long)g->watchers);
	metrics_printf(&b, "# HELP nsreg_store_revision The store's last "
	    "revision.\n# TYPE nsreg_store_revision gauge\n"
	    "nsreg_store_revision %lld\n", (long long)g->revision);
	metrics_printf(&b, "# HELP nsreg_store_service_lists_total "
	    "Endpoint lists by service answered from memory or reading the "
	    "database.\n"
	    "# TYPE nsreg_store_service_lists_total counter\n"
	    "nsreg_store_service_lists_total{source=\"memory\"} %llu\n"
	    "nsreg_store_service_lists_total{source=\"database\"} %llu\n",
	    (unsigned long long)g->lists_memory,
	    (unsigned long long)g->lists_database);
	metrics_printf(&b, "# HELP nsreg_uptime_seconds Seconds since start."
	    "\n# TYPE nsreg_uptime_seconds gauge\nnsreg_uptime_seconds %lld\n",
	    (long long)g->uptime_s);
	/*
	 * The label is instance_name, not instance: Prometheus gives every
	 * target an instance label of its own (host:port) and would rename
	 * ours to exported_instance.  The name needs no escaping (conf.c).
	 */
	if (g->instance != NULL)
		metrics_printf(&b, "# HELP nsreg_instance_info The "
		    "instance-name of this nsregd, telling the instances of a "
		    "cluster apart.\n# TYPE nsreg_instance_info gauge\n"
		    "nsreg_instance_info{instance_name=\"%s\"} 1\n",
		    g->instance);
	metrics_render_process(&b, g->started_ms);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	*len = b.len;
	return b.s;
}
