/*
 * cel_host.c - the admission variables (principal, service, endpoint,
 * request) seen as CEL maps, read in place from the structs of policy.h;
 * request.origin is a principal map of its own.
 * A NULL string or a zero time is an absent key; NULL JSON labels are an
 * empty map.
 */
#include <string.h>

#include "cel_ast.h"

struct host_field {
	const char	*name;
	int		 kind;
};

enum {
	PR_ID, PR_TD, PR_PATH, PR_SEGMENTS, PR_AUTH, PR_CLAIMS, PR_EXPIRES,
	PR_COUNT
};
enum { SV_NAME, SV_PAYLOAD, SV_LABELS, SV_VL3, SV_COUNT };
enum { EP_NAME, EP_URL, EP_ADDRESS, EP_LABELS, EP_NSN, EP_OWNER, EP_EXPIRES,
    EP_COUNT };
enum { RQ_LABELS, RQ_TIME, RQ_ADDR, RQ_ORIGIN, RQ_PROTOCOL, RQ_NSM_PATH,
    RQ_COUNT };

static const struct host_field principal_fields[PR_COUNT] = {
	[PR_ID] = { "id", CEL_STRING },
	[PR_TD] = { "trust_domain", CEL_STRING },
	[PR_PATH] = { "path", CEL_STRING },
	[PR_SEGMENTS] = { "segments", CEL_LIST },
	[PR_AUTH] = { "auth", CEL_STRING },
	[PR_CLAIMS] = { "claims", CEL_MAP },
	[PR_EXPIRES] = { "expires_at", CEL_TIMESTAMP },
};

static const struct host_field service_fields[SV_COUNT] = {
	[SV_NAME] = { "name", CEL_STRING },
	[SV_PAYLOAD] = { "payload", CEL_STRING },
	[SV_LABELS] = { "labels", CEL_MAP },
	[SV_VL3] = { "vl3", CEL_MAP },
};

static const struct host_field endpoint_fields[EP_COUNT] = {
	[EP_NAME] = { "name", CEL_STRING },
	[EP_URL] = { "url", CEL_STRING },
	[EP_ADDRESS] = { "address", CEL_STRING },
	[EP_LABELS] = { "labels", CEL_MAP },
	[EP_NSN] = { "network_service_names", CEL_LIST },
	[EP_OWNER] = { "owner", CEL_STRING },
	[EP_EXPIRES] = { "expiration_time", CEL_TIMESTAMP },
};

static const struct host_field request_fields[RQ_COUNT] = {
	[RQ_LABELS] = { "labels", CEL_MAP },
	[RQ_TIME] = { "time", CEL_TIMESTAMP },
	[RQ_ADDR] = { "remote_addr", CEL_STRING },
	[RQ_ORIGIN] = { "origin", CEL_MAP },
	[RQ_PROTOCOL] = { "protocol", CEL_STRING },
	[RQ_NSM_PATH] = { "nsm_path", CEL_LIST },
};

static const struct {
	const struct host_field	*fields;
	int			 n;
} hosts[CEL_HOST_COUNT] = {
	[CEL_HOST_PRINCIPAL] = { principal_fields, PR_COUNT },
	[CEL_HOST_SERVICE] = { service_fields, SV_COUNT },
	[CEL_HOST_ENDPOINT] = { endpoint_fields, EP_COUNT },
	[CEL_HOST_REQUEST] = { request_fields, RQ_COUNT },
};

struct cel_value
cel_host_value(enum cel_host h, const void *obj)
{
	struct cel_value v = { .kind = CEL_MAP, .rep = CEL_REP_HOST,
	    .host = (uint8_t)h, .obj = obj };

	return v;
}

int
cel_host_field_count(enum cel_host h)
{
	return hosts[h].n;
}

const char *
cel_host_field_name(enum cel_host h, int id)
{
	return hosts[h].fields[id].name;
}

int
cel_host_field_kind(enum cel_host h, int id)
{
	return hosts[h].fields[id].kind;
}

int
cel_host_field_id(enum cel_host h, const char *name, size_t len)
{
	int i;

	for (i = 0; i < hosts[h].n; i++)
		if (strlen(hosts[h].fields[i].name) == len &&
		    memcmp(hosts[h].fields[i].name, name, len) == 0)
			return i;
	return -1;
}

static int
str_field(const char *s, struct cel_value *out)
{
	if (s == NULL)
		return 0;
	*out = cel_string(s, strlen(s));
	return 1;
}

static int
map_field(const json_t *j, struct cel_value *out)
{
	static const struct cel_map empty = { 0, NULL, NULL };

	if (j != NULL && json_is_object(j))
		*out = cel_json(j, CEL_MAP);
	else {
		struct cel_value v = { .kind = CEL_MAP, .map = &empty };

		*out = v;
	}
	return 1;
}

/* An object that is absent when NULL (service.vl3). */
static int
object_field(const json_t *j, struct cel_value *out)
{
	if (j == NULL || !json_is_object(j))
		return 0;
	*out = cel_json(j, CEL_MAP);
	return 1;
}

/* The host of url when it is an IP literal, a slice of url. */
static int
address_field(const char *url, struct cel_value *out)
{
	const char *h;
	size_t n;

	if (url == NULL || !cel_net_url_address(url, strlen(url), &h, &n))
		return 0;
	*out = cel_string(h, n);
	return 1;
}

static int
list_field(const json_t *j, struct cel_value *out)
{
	static const struct cel_list empty = { 0 };

	if (j != NULL && json_is_array(j))
		*out = cel_json(j, CEL_LIST);
	else {
		struct cel_value v = { .kind = CEL_LIST, .list = &empty };

		*out = v;
	}
	return 1;
}

static int
time_field(int64_t ms, struct cel_value *out)
{
	int64_t sec;
	int32_t msec;

	if (ms == 0)
		return 0;
	sec = ms / 1000;
	msec = (int32_t)(ms % 1000);
	if (msec < 0) {
		msec += 1000;
		sec--;
	}
	*out = cel_timestamp(sec, msec * 1000000);
	return 1;
}

/* The path's segments as a list of strings (needs the arena). */
static int
segments(const char *path, struct cel_value *out, struct cel_arena *a)
{
	struct cel_list *l;
	size_t n = 0, i, len;
	const char *p;

	if (path == NULL)
		return 0;
	len = strlen(path);
	for (i = 0; i < len; i++)
		if (path[i] != '/' && (i == 0 || path[i - 1] == '/'))
			n++;
	if (a == NULL) {
		/* Only presence was asked (has(), key iteration). */
		out->kind = CEL_LIST;
		return 1;
	}
	l = cel_arena_alloc(a, sizeof(*l) + n * sizeof(l->v[0]));
	if (l == NULL) {
		*out = cel_error("out of memory");
		return -1;
	}
	l->n = 0;
	p = path;
	while (*p != '\0') {
		const char *e;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if (l->n < n)
			l->v[l->n++] = cel_string(p, (size_t)(e - p));
		p = e;
	}
	out->kind = CEL_LIST;
	out->rep = CEL_REP_ARENA;
	out->list = l;
	return 1;
}

int
cel_host_field_by_id(const struct cel_value *h, int id,
    struct cel_value *out, struct cel_arena *a)
{
	switch (h->host) {
	case CEL_HOST_PRINCIPAL: {
		const struct policy_principal *p = h->obj;

		switch (id) {
		case PR_ID: return str_field(p->id, out);
		case PR_TD: return str_field(p->trust_domain, out);
		case PR_PATH: return str_field(p->path, out);
		case PR_SEGMENTS: return segments(p->path, out, a);
		case PR_AUTH: return str_field(p->auth, out);
		case PR_CLAIMS: return map_field(p->claims, out);
		case PR_EXPIRES: return time_field(p->expires_at, out);
		}
		break;
	}
	case CEL_HOST_SERVICE: {
		const struct policy_service *s = h->obj;

		switch (id) {
		case SV_NAME: return str_field(s->name, out);
		case SV_PAYLOAD: return str_field(s->payload, out);
		case SV_LABELS: return map_field(s->labels, out);
		case SV_VL3: return object_field(s->vl3, out);
		}
		break;
	}
	case CEL_HOST_ENDPOINT: {
		const struct policy_endpoint *e = h->obj;

		switch (id) {
		case EP_NAME: return str_field(e->name, out);
		case EP_URL: return str_field(e->url, out);
		case EP_ADDRESS: return address_field(e->url, out);
		case EP_LABELS: return map_field(e->labels, out);
		case EP_NSN: return list_field(e->network_service_names, out);
		case EP_OWNER: return str_field(e->owner, out);
		case EP_EXPIRES: return time_field(e->expiration_time, out);
		}
		break;
	}
	case CEL_HOST_REQUEST: {
		const struct policy_request *r = h->obj;

		switch (id) {
		case RQ_LABELS: return map_field(r->labels, out);
		case RQ_TIME: return time_field(r->time, out);
		case RQ_ADDR: return str_field(r->remote_addr, out);
		case RQ_ORIGIN:
			/* A principal of its own: origin.segments and all. */
			if (r->origin == NULL)
				return 0;
			*out = cel_host_value(CEL_HOST_PRINCIPAL, r->origin);
			return 1;
		case RQ_PROTOCOL: return str_field(r->protocol, out);
		case RQ_NSM_PATH:
			/* Absent unless NSM's "path" metadata came. */
			if (r->nsm_path == NULL || !json_is_array(r->nsm_path))
				return 0;
			*out = cel_json(r->nsm_path, CEL_LIST);
			return 1;
		}
		break;
	}
	}
	return 0;
}

int
cel_host_segment(const struct cel_value *h, int id, int64_t i,
    struct cel_value *out)
{
	const struct policy_principal *p;
	const char *s, *e;

	if (h->kind != CEL_MAP || h->rep != CEL_REP_HOST ||
	    h->host != CEL_HOST_PRINCIPAL || id != PR_SEGMENTS)
		return -1;
	p = h->obj;
	if (p->path == NULL)
		return 0;
	for (s = p->path; *s != '\0'; s = e) {
		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e != '\0' && *e != '/'; e++)
			;
		if (i-- == 0) {
			*out = cel_string(s, (size_t)(e - s));
			return 1;
		}
	}
	return 2;	/* out of range */
}

int
cel_host_field(const struct cel_value *h, const char *name, size_t len,
    struct cel_value *out, struct cel_arena *a)
{
	int id = cel_host_field_id((enum cel_host)h->host, name, len);

	if (id < 0)
		return 0;
	return cel_host_field_by_id(h, id, out, a);
}
