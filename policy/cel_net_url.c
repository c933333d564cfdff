/*
 * cel_net_url.c - URLs as Kubernetes' url() reads them: Go's net/url,
 * url.ParseRequestURI to accept (an absolute URI or an absolute path),
 * url.Parse to read the parts; the escaped path, the query as url.Values,
 * and the address of an endpoint's URL.
 */
#include <string.h>

#include "cel_net.h"

enum url_err {
	URE_OK = 0,
	URE_CTL,
	URE_EMPTY,
	URE_SCHEME,
	URE_REQUEST,
	URE_COLON,
	URE_BRACKET,
	URE_PORT,
	URE_ESCAPE,
	URE_HOST,
	URE_USERINFO,
	URE_COUNT
};

#define URL_MSG(text)	"URL parse error during conversion from string: " text

static const char *const url_msgs[URE_COUNT] = {
	[URE_CTL] = URL_MSG("net/url: invalid control character in URL"),
	[URE_EMPTY] = URL_MSG("empty url"),
	[URE_SCHEME] = URL_MSG("missing protocol scheme"),
	[URE_REQUEST] = URL_MSG("invalid URI for request"),
	[URE_COLON] = URL_MSG("first path segment in URL cannot contain "
	    "colon"),
	[URE_BRACKET] = URL_MSG("missing ']' in host"),
	[URE_PORT] = URL_MSG("invalid port after host"),
	[URE_ESCAPE] = URL_MSG("invalid URL escape"),
	[URE_HOST] = URL_MSG("invalid character in host name"),
	[URE_USERINFO] = URL_MSG("net/url: invalid userinfo"),
};

enum url_mode { ENC_PATH, ENC_HOST, ENC_QUERY, ENC_USER, ENC_FRAGMENT };

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Go's shouldEscape for the modes used here. */
static int
should_escape(int c, enum url_mode m)
{
	if (is_alnum(c))
		return 0;
	if (m == ENC_HOST && c != 0 && strchr("!$&'()*+,;=:[]<>\"", c) !=
	    NULL)
		return 0;
	switch (c) {
	case '-': case '_': case '.': case '~':
		return 0;
	case '$': case '&': case '+': case ',': case '/': case ':': case ';':
	case '=': case '?': case '@':
		switch (m) {
		case ENC_PATH:
			return c == '?';
		case ENC_USER:
			return c == '@' || c == '/' || c == '?' || c == ':';
		case ENC_QUERY:
			return 1;
		case ENC_FRAGMENT:
			return 0;
		default:
			break;
		}
		break;
	default:
		break;
	}
	if (m == ENC_FRAGMENT && (c == '!' || c == '(' || c == ')' ||
	    c == '*'))
		return 0;
	return 1;
}

static int
hex_at(const char *s, size_t i)
{
	return cel_net_hexval((unsigned char)s[i]);
}

/* Go's unescape, checking only (no output): 0 or an error. */
static enum url_err
unescape_check(const char *s, size_t n, enum url_mode m)
{
	size_t i = 0;

	while (i < n) {
		if (s[i] == '%') {
			if (i + 2 >= n || hex_at(s, i + 1) < 0 ||
			    hex_at(s, i + 2) < 0)
				return URE_ESCAPE;
			if (m == ENC_HOST && hex_at(s, i + 1) < 8 &&
			    memcmp(s + i, "%25", 3) != 0)
				return URE_ESCAPE;
			i += 3;
			continue;
		}
		if (m == ENC_HOST && (unsigned char)s[i] < 0x80 &&
		    should_escape((unsigned char)s[i], m))
			return URE_HOST;
		i++;
	}
	return URE_OK;
}

/* Decode a checked escaped string into out (n bytes at most). */
static size_t
unescape(const char *s, size_t n, enum url_mode m, char *out)
{
	size_t i = 0, len = 0;

	while (i < n) {
		if (s[i] == '%' && i + 2 < n) {
			out[len++] = (char)(hex_at(s, i + 1) << 4 |
			    hex_at(s, i + 2));
			i += 3;
		} else if (s[i] == '+' && m == ENC_QUERY) {
			out[len++] = ' ';
			i++;
		} else
			out[len++] = s[i++];
	}
	return len;
}

/* Go's validEncoded for paths. */
static int
valid_encoded(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strchr("!$&'()*+,;=:@[]%", s[i]) != NULL && s[i] != '\0')
			continue;
		if (should_escape((unsigned char)s[i], ENC_PATH))
			return 0;
	}
	return 1;
}

static int
valid_port(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 1;
	if (s[0] != ':')
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
valid_userinfo(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) &&
		    strchr("-._:~!$&'()*+,;=%@", s[i]) == NULL)
			return 0;
	return 1;
}

/* The parts of a URL, as slices of the input. */
struct url_parts {
	const char	*scheme, *host, *path, *query;
	size_t		 nscheme, nhost, npath, nquery;
};

/* Go's parseHost: checks host; 0 or an error. */
static enum url_err
check_host(const char *h, size_t n)
{
	const char *c;

	if (n > 0 && h[0] == '[') {
		c = cel_net_memrchr(h, ']', n);
		if (c == NULL)
			return URE_BRACKET;
		if (!valid_port(c + 1, (size_t)(h + n - c - 1)))
			return URE_PORT;
	} else if ((c = cel_net_memrchr(h, ':', n)) != NULL) {
		if (!valid_port(c, (size_t)(h + n - c)))
			return URE_PORT;
	}
	return unescape_check(h, n, ENC_HOST);
}

/* Go's url.parse (via_request: ParseRequestURI's rules). */
static enum url_err
url_parse_parts(const char *s, size_t n, int via_request,
    struct url_parts *u)
{
	const char *rest, *q, *slash, *at;
	size_t nrest, i, nq = 0;
	enum url_err e;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return URE_CTL;
	if (n == 0 && via_request)
		return URE_EMPTY;
	if (n == 1 && s[0] == '*') {
		u->path = s;
		u->npath = 1;
		return URE_OK;
	}
	/* The scheme: letters, then letters, digits, + - . up to ':'. */
	rest = s;
	nrest = n;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			continue;
		if ((c >= '0' && c <= '9') || c == '+' || c == '-' ||
		    c == '.') {
			if (i == 0)
				break;
			continue;
		}
		if (c == ':') {
			if (i == 0)
				return URE_SCHEME;
			u->scheme = s;
			u->nscheme = i;
			rest = s + i + 1;
			nrest = n - i - 1;
		}
		break;
	}
	for (i = 0; i < nrest; i++)
		nq += rest[i] == '?';
	if (nrest > 0 && rest[nrest - 1] == '?' && nq == 1)
		nrest--;
	else if ((q = memchr(rest, '?', nrest)) != NULL) {
		u->query = q + 1;
		u->nquery = (size_t)(rest + nrest - q - 1);
		nrest = (size_t)(q - rest);
	}
	if (nrest == 0 || rest[0] != '/') {
		if (u->nscheme > 0)
			return URE_OK;	/* opaque: mailto:x@y */
		if (via_request)
			return URE_REQUEST;
		slash = memchr(rest, '/', nrest);
		if (memchr(rest, ':', slash != NULL ? (size_t)(slash - rest) :
		    nrest) != NULL)
			return URE_COLON;
	}
	if ((u->nscheme > 0 || (!via_request && !(nrest >= 3 &&
	    memcmp(rest, "///", 3) == 0))) && nrest >= 2 &&
	    memcmp(rest, "//", 2) == 0) {
		const char *auth = rest + 2;
		size_t nauth = nrest - 2;

		slash = memchr(auth, '/', nauth);
		if (slash != NULL)
			nauth = (size_t)(slash - auth);
		rest = auth + nauth;
		nrest -= nauth + 2;
		at = cel_net_memrchr(auth, '@', nauth);
		if (at != NULL) {
			size_t nu = (size_t)(at - auth);

			if (!valid_userinfo(auth, nu))
				return URE_USERINFO;
			if (unescape_check(auth, nu, ENC_USER) != URE_OK)
				return URE_ESCAPE;
			nauth -= nu + 1;
			auth = at + 1;
		}
		e = check_host(auth, nauth);
		if (e != URE_OK)
			return e;
		u->host = auth;
		u->nhost = nauth;
	}
	e = unescape_check(rest, nrest, ENC_PATH);
	if (e != URE_OK)
		return e;
	u->path = rest;
	u->npath = nrest;
	return URE_OK;
}

/* A string value: a slice of the input, or a copy when it must change. */
static struct cel_value
slice(const char *s, size_t n)
{
	return cel_string(n > 0 ? s : "", n);
}

static enum url_err
url_parse(const struct cel_net_mem *m, const char *s, size_t n,
    struct cel_net_url **out)
{
	struct url_parts u;
	struct cel_net_url *r;
	const char *hash;
	enum url_err e;
	size_t i, len;
	char *b;

	*out = NULL;
	/*
	 * ParseRequestURI decides; then Parse reads the parts, with the
	 * fragment cut off (it may still fail: url('//a:b:c/') does).
	 */
	e = url_parse_parts(s, n, 1, &u);
	if (e != URE_OK)
		return e;
	hash = memchr(s, '#', n);
	if (hash != NULL) {
		e = unescape_check(hash + 1, (size_t)(s + n - hash - 1),
		    ENC_FRAGMENT);
		if (e != URE_OK)
			return e;
	}
	e = url_parse_parts(s, hash != NULL ? (size_t)(hash - s) : n, 0, &u);
	if (e != URE_OK)
		return e;
	r = cel_net_alloc(m, sizeof(*r));
	if (r == NULL)
		return URE_COUNT;
	r->raw = slice(s, n);
	r->scheme = slice(u.scheme, u.nscheme);
	for (i = 0; i < u.nscheme; i++)
		if (u.scheme[i] >= 'A' && u.scheme[i] <= 'Z')
			break;
	if (i < u.nscheme) {
		b = cel_net_alloc(m, u.nscheme + 1);
		if (b == NULL)
			return URE_COUNT;
		for (i = 0; i < u.nscheme; i++)
			b[i] = (char)(u.scheme[i] >= 'A' && u.scheme[i] <= 'Z' ?
			    u.scheme[i] - 'A' + 'a' : u.scheme[i]);
		r->scheme = cel_string(b, u.nscheme);
	}
	r->host = slice(u.host, u.nhost);
	if (u.nhost > 0 && memchr(u.host, '%', u.nhost) != NULL) {
		b = cel_net_alloc(m, u.nhost + 1);
		if (b == NULL)
			return URE_COUNT;
		r->host = cel_string(b, unescape(u.host, u.nhost, ENC_HOST, b));
	}
	/* EscapedPath: the raw path when validly encoded, else escaped. */
	r->path = slice(u.path, u.npath);
	if (!valid_encoded(u.path, u.npath)) {
		char *d = cel_net_alloc(m, u.npath + 1);

		b = cel_net_alloc(m, 3 * u.npath + 1);
		if (b == NULL || d == NULL)
			return URE_COUNT;
		len = unescape(u.path, u.npath, ENC_PATH, d);
		r->path = cel_string(b, 0);
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)d[i];

			if (should_escape(c, ENC_PATH)) {
				b[r->path.aux++] = '%';
				b[r->path.aux++] = "0123456789ABCDEF"[c >> 4];
				b[r->path.aux++] = "0123456789ABCDEF"[c & 15];
			} else
				b[r->path.aux++] = (char)c;
		}
	}
	r->query = slice(u.query, u.nquery);
	*out = r;
	return URE_OK;
}

/* url.Values of the raw query, as a map of lists (Go's parseQuery). */
struct cel_value
cel_net_url_query(struct cel_ctx *c, const struct cel_node *n,
    const struct cel_value *q)
{
	struct pair { struct cel_value k, v; } *pairs;
	struct cel_map *m;
	struct cel_value out = { .kind = CEL_MAP };
	const char *s = q->s, *end = q->s + q->aux;
	size_t np = 0, cap = 1, i, j, nk = 0;
	int32_t k;

	c->cost += (uint64_t)q->aux / 8;
	for (k = 0; k < q->aux; k++)
		cap += s[k] == '&';
	pairs = cel_arena_alloc(c->arena, cap * sizeof(*pairs));
	m = cel_arena_alloc(c->arena, sizeof(*m));
	if (pairs == NULL || m == NULL)
		return cel_err_at(n, "out of memory");
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *e = amp != NULL ? amp : end, *eq;
		size_t nkey, nval;
		char *kb, *vb;

		if (memchr(s, ';', (size_t)(e - s)) != NULL || e == s)
			goto next;
		eq = memchr(s, '=', (size_t)(e - s));
		nkey = eq != NULL ? (size_t)(eq - s) : (size_t)(e - s);
		nval = eq != NULL ? (size_t)(e - eq - 1) : 0;
		if (unescape_check(s, nkey, ENC_QUERY) != URE_OK ||
		    (eq != NULL && unescape_check(eq + 1, nval,
		    ENC_QUERY) != URE_OK))
			goto next;
		kb = cel_arena_alloc(c->arena, nkey + nval + 2);
		if (kb == NULL)
			return cel_err_at(n, "out of memory");
		vb = kb + nkey + 1;
		pairs[np].k = cel_string(kb, unescape(s, nkey, ENC_QUERY, kb));
		pairs[np].v = cel_string(vb, eq != NULL ? unescape(eq + 1,
		    nval, ENC_QUERY, vb) : 0);
		np++;
next:
		s = amp != NULL ? amp + 1 : end;
	}
	m->keys = cel_arena_alloc(c->arena, (np + 1) * sizeof(*m->keys));
	m->vals = cel_arena_alloc(c->arena, (np + 1) * sizeof(*m->vals));
	if (m->keys == NULL || m->vals == NULL)
		return cel_err_at(n, "out of memory");
	/* Keys in order of first appearance, each with all its values. */
	for (i = 0; i < np; i++) {
		struct cel_list *l;
		size_t cnt = 0;

		for (j = 0; j < nk; j++)
			if (cel_equal(&m->keys[j], &pairs[i].k) == 1)
				break;
		if (j < nk)
			continue;
		for (j = i; j < np; j++)
			cnt += cel_equal(&pairs[j].k, &pairs[i].k) == 1;
		l = cel_arena_alloc(c->arena, sizeof(*l) + cnt *
		    sizeof(l->v[0]));
		if (l == NULL)
			return cel_err_at(n, "out of memory");
		l->n = 0;
		for (j = i; j < np; j++)
			if (cel_equal(&pairs[j].k, &pairs[i].k) == 1)
				l->v[l->n++] = pairs[j].v;
		m->keys[nk] = pairs[i].k;
		m->vals[nk].kind = CEL_LIST;
		m->vals[nk].rep = CEL_REP_ARENA;
		m->vals[nk].list = l;
		nk++;
	}
	c->cost += (uint64_t)(np * np) / 4;
	m->n = nk;
	out.map = m;
	return out;
}

/* host and port of a URL's host (Go's splitHostPort). */
void
cel_net_split_host_port(const struct cel_value *h, struct cel_value *host,
    struct cel_value *port)
{
	const char *s = h->s, *colon;
	size_t n = (size_t)h->aux;

	*port = cel_string("", 0);
	colon = cel_net_memrchr(s, ':', n);
	if (colon != NULL && valid_port(colon, (size_t)(s + n - colon))) {
		*port = cel_string(colon + 1, (size_t)(s + n - colon - 1));
		n = (size_t)(colon - s);
	}
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	*host = slice(s, n);
}

int
cel_net_url_address(const char *url, size_t len, const char **host,
    size_t *hlen)
{
	struct cel_net_addr x;
	const char *s, *e, *at, *colon;
	size_t i;

	/* scheme "://" authority: the hostname of Go's url.Parse. */
	s = NULL;
	for (i = 0; i + 2 < len; i++) {
		if (url[i] == ':') {
			if (url[i + 1] == '/' && url[i + 2] == '/')
				s = url + i + 3;
			break;
		}
		if (url[i] == '/' || url[i] == '?' || url[i] == '#')
			break;
	}
	if (s == NULL)
		return 0;
	for (e = s; e < url + len && *e != '/' && *e != '?' && *e != '#'; e++)
		;
	at = cel_net_memrchr(s, '@', (size_t)(e - s));
	if (at != NULL)
		s = at + 1;
	colon = cel_net_memrchr(s, ':', (size_t)(e - s));
	if (colon != NULL && valid_port(colon, (size_t)(e - colon)))
		e = colon;
	if (e - s >= 2 && s[0] == '[' && e[-1] == ']') {
		s++;
		e--;
	}
	if (cel_net_ip_parse(s, (size_t)(e - s), &x) != NULL)
		return 0;
	*host = s;
	*hlen = (size_t)(e - s);
	return 1;
}

const char *
cel_net_url_parse(const struct cel_net_mem *m, const char *s, size_t n,
    struct cel_net_url **out)
{
	enum url_err e = url_parse(m, s, n, out);

	if (e == URE_COUNT)
		return "out of memory";
	return e == URE_OK ? NULL : url_msgs[e];
}

int
cel_net_url_valid(const char *s, size_t n)
{
	struct url_parts u;

	return url_parse_parts(s, n, 1, &u) == URE_OK;
}
