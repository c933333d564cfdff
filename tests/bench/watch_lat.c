/*
 * watch_lat.c - how long a write takes to reach a watcher: reads one
 * watch stream for a while and, for each ADDED or MODIFIED event, takes
 * the time it arrived minus the object's updated_at (the time the
 * writing instance took the request; same machine, same clock).
 *
 * watch_lat URL PATH TOKEN CACERT SECONDS
 *
 * Prints one JSON line {"events","p50_ms","p99_ms","max_ms"}.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "util.h"

#define WL_MAX	(1 << 20)

struct wl {
	char	*buf;
	size_t	 len, cap;
	double	*lat;
	size_t	 n;
};

static void
wl_line(struct wl *w, const char *line, size_t len)
{
	json_t		*e;
	const char	*type, *ts;
	int64_t		 at, now = util_now_ms();

	if ((e = json_loadb(line, len, 0, NULL)) == NULL)
		return;
	type = json_string_value(json_object_get(e, "type"));
	ts = json_string_value(json_object_get(json_object_get(e, "object"),
	    "updated_at"));
	if (type != NULL && ts != NULL && (strcmp(type, "ADDED") == 0 ||
	    strcmp(type, "MODIFIED") == 0) &&
	    util_rfc3339_parse(ts, &at) == 0 && w->n < WL_MAX)
		w->lat[w->n++] = (double)(now - at);
	json_decref(e);
}

static size_t
wl_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct wl	*w = arg;
	size_t		 n = size * nmemb, start, i;
	char		*nb;

	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2;
		if ((nb = realloc(w->buf, w->cap)) == NULL)
			return 0;
		w->buf = nb;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
	start = 0;
	for (i = 0; i < w->len; i++)
		if (w->buf[i] == '\n') {
			wl_line(w, w->buf + start, i - start);
			start = i + 1;
		}
	memmove(w->buf, w->buf + start, w->len - start);
	w->len -= start;
	return n;
}

static int
wl_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	struct wl		 w;
	struct curl_slist	*h = NULL;
	CURL			*c;
	char			 url[2048], auth[1024];
	double			 p50 = 0, p99 = 0, max = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: watch_lat URL PATH TOKEN CACERT "
		    "SECONDS\n");
		return 2;
	}
	memset(&w, 0, sizeof(w));
	if ((w.lat = calloc(WL_MAX, sizeof(double))) == NULL)
		return 2;
	snprintf(url, sizeof(url), "%s%s", argv[1], argv[2]);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", argv[3]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	h = curl_slist_append(h, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CAINFO, argv[4]);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    (long)(strtod(argv[5], NULL) * 1000));
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (w.n > 0) {
		qsort(w.lat, w.n, sizeof(double), wl_cmp);
		p50 = w.lat[w.n / 2];
		p99 = w.lat[w.n * 99 / 100];
		max = w.lat[w.n - 1];
	}
	printf("{\"events\":%zu,\"p50_ms\":%.0f,\"p99_ms\":%.0f,"
	    "\"max_ms\":%.0f}\n", w.n, p50, p99, max);
	free(w.lat);
	free(w.buf);
	curl_global_cleanup();
	return 0;
}
