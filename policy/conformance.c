/*
 * conformance.c - "nsreg-policy conformance": the JSON-lines protocol of
 * the CEL conformance harness (tests/cel-conformance/README.md).  Each
 * request line holds an expression and its bindings as cel.expr.Value
 * proto-JSON; the answer line holds the value, an error or "unsupported".
 * Expressions are compiled in lenient mode (unknown names are runtime
 * errors, no static type errors), as the suite's unchecked cases need.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel.h"
#include "cli.h"

/* ------------------------------------------------------------ base64 */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64val(int c)
{
	const char *p;

	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	p = c != 0 ? strchr(b64, c) : NULL;
	return p != NULL ? (int)(p - b64) : -1;
}

static char *
b64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s), i, o = 0;
	unsigned int acc = 0;
	int bits = 0;
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		int v;

		if (s[i] == '=')
			break;
		v = b64val((unsigned char)s[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xFF);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static char *
b64_encode(const char *s, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i += 3) {
		unsigned int v = (unsigned char)s[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* ------------------------------------------------------------ decoding */

/*
 * A cel.expr.Value from proto-JSON into v; memory from the arena (which
 * outlives the request).  -1 when unsupported or malformed.
 */
static int
value_decode(const json_t *j, struct cel_value *v, struct cel_arena *a)
{
	const json_t *x;
	const char *key;
	json_t *val;

	if (!json_is_object(j) || json_object_size(j) != 1)
		return -1;
	json_object_foreach((json_t *)(uintptr_t)j, key, val) {
		x = val;
		if (strcmp(key, "nullValue") == 0) {
			*v = cel_null();
			return 0;
		}
		if (strcmp(key, "boolValue") == 0) {
			*v = cel_bool(json_is_true(x));
			return 0;
		}
		if (strcmp(key, "int64Value") == 0) {
			if (json_is_integer(x))
				*v = cel_int(json_integer_value(x));
			else if (json_is_string(x))
				*v = cel_int(strtoll(json_string_value(x),
				    NULL, 10));
			else
				return -1;
			return 0;
		}
		if (strcmp(key, "uint64Value") == 0) {
			if (json_is_integer(x))
				*v = cel_uint((uint64_t)json_integer_value(x));
			else if (json_is_string(x))
				*v = cel_uint(strtoull(json_string_value(x),
				    NULL, 10));
			else
				return -1;
			return 0;
		}
		if (strcmp(key, "doubleValue") == 0) {
			if (json_is_number(x))
				*v = cel_double(json_number_value(x));
			else if (json_is_string(x)) {
				const char *s = json_string_value(x);

				*v = cel_double(strcmp(s, "NaN") == 0 ? NAN :
				    strcmp(s, "-Infinity") == 0 ? -INFINITY :
				    strcmp(s, "Infinity") == 0 ? INFINITY :
				    strtod(s, NULL));
			} else
				return -1;
			return 0;
		}
		if (strcmp(key, "stringValue") == 0) {
			if (!json_is_string(x))
				return -1;
			*v = cel_string(json_string_value(x),
			    json_string_length(x));
			return 0;
		}
		if (strcmp(key, "bytesValue") == 0) {
			size_t n;
			char *d, *p;

			if (!json_is_string(x))
				return -1;
			d = b64_decode(json_string_value(x), &n);
			if (d == NULL)
				return -1;
			p = cel_arena_alloc(a, n + 1);
			if (p == NULL) {
				free(d);
				return -1;
			}
			memcpy(p, d, n + 1);
			free(d);
			*v = cel_bytes(p, n);
			return 0;
		}
		if (strcmp(key, "listValue") == 0) {
			const json_t *vals = json_object_get(x, "values");
			size_t n = json_array_size(vals), i;
			struct cel_list *l;

			l = cel_arena_alloc(a, sizeof(*l) + n *
			    sizeof(l->v[0]));
			if (l == NULL)
				return -1;
			l->n = n;
			for (i = 0; i < n; i++)
				if (value_decode(json_array_get(vals, i),
				    &l->v[i], a) == -1)
					return -1;
			memset(v, 0, sizeof(*v));
			v->kind = CEL_LIST;
			v->list = l;
			return 0;
		}
		if (strcmp(key, "mapValue") == 0) {
			const json_t *ents = json_object_get(x, "entries");
			size_t n = json_array_size(ents), i;
			struct cel_map *m;

			m = cel_arena_alloc(a, sizeof(*m));
			if (m == NULL)
				return -1;
			m->keys = cel_arena_alloc(a, (n + 1) *
			    sizeof(*m->keys));
			m->vals = cel_arena_alloc(a, (n + 1) *
			    sizeof(*m->vals));
			if (m->keys == NULL || m->vals == NULL)
				return -1;
			m->n = n;
			for (i = 0; i < n; i++) {
				const json_t *e = json_array_get(ents, i);

				if (value_decode(json_object_get(e, "key"),
				    &m->keys[i], a) == -1 ||
				    value_decode(json_object_get(e, "value"),
				    &m->vals[i], a) == -1)
					return -1;
			}
			memset(v, 0, sizeof(*v));
			v->kind = CEL_MAP;
			v->map = m;
			return 0;
		}
		if (strcmp(key, "objectValue") == 0) {
			const char *type = json_string_value(
			    json_object_get(x, "@type"));
			const char *s = json_string_value(
			    json_object_get(x, "value"));
			int64_t sec;
			int32_t nsec;

			if (type == NULL || s == NULL)
				return -1;
			if (strcmp(type, "type.googleapis.com/"
			    "google.protobuf.Timestamp") == 0) {
				if (cel_ts_parse(s, strlen(s), &sec,
				    &nsec) != 0)
					return -1;
				*v = cel_timestamp(sec, nsec);
				return 0;
			}
			if (strcmp(type, "type.googleapis.com/"
			    "google.protobuf.Duration") == 0) {
				if (cel_dur_parse(s, strlen(s), &sec,
				    &nsec) != 0)
					return -1;
				*v = cel_duration(sec, nsec);
				return 0;
			}
			return -1;
		}
		return -1;
	}
	return -1;
}

/* ------------------------------------------------------------ encoding */

static json_t *
value_encode(const struct cel_value *v, struct cel_arena *a)
{
	char buf[64];
	json_t *o = NULL, *x;

	switch (v->kind) {
	case CEL_NULL:
		return json_pack("{s:n}", "nullValue");
	case CEL_BOOL:
		return json_pack("{s:b}", "boolValue", v->b);
	case CEL_INT:
		snprintf(buf, sizeof(buf), "%lld", (long long)v->i);
		return json_pack("{s:s}", "int64Value", buf);
	case CEL_UINT:
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v->u);
		return json_pack("{s:s}", "uint64Value", buf);
	case CEL_DOUBLE:
		if (isnan(v->d))
			return json_pack("{s:s}", "doubleValue", "NaN");
		if (isinf(v->d))
			return json_pack("{s:s}", "doubleValue", v->d > 0 ?
			    "Infinity" : "-Infinity");
		return json_pack("{s:f}", "doubleValue", v->d);
	case CEL_STRING:
		return json_pack("{s:s%}", "stringValue", v->s,
		    (size_t)v->aux);
	case CEL_BYTES: {
		char *e = b64_encode(v->s, (size_t)v->aux);

		if (e == NULL)
			return NULL;
		o = json_pack("{s:s}", "bytesValue", e);
		free(e);
		return o;
	}
	case CEL_TYPE:
		return json_pack("{s:s}", "typeValue",
		    cel_type_name((enum cel_type)v->i));
	case CEL_TIMESTAMP:
		cel_ts_format(v->i, v->aux, buf, sizeof(buf));
		return json_pack("{s:{s:s,s:s}}", "objectValue", "@type",
		    "type.googleapis.com/google.protobuf.Timestamp", "value",
		    buf);
	case CEL_DURATION:
		cel_dur_format(v->i, v->aux, buf, sizeof(buf));
		return json_pack("{s:{s:s,s:s}}", "objectValue", "@type",
		    "type.googleapis.com/google.protobuf.Duration", "value",
		    buf);
	case CEL_LIST: {
		json_t *vals = json_array();
		size_t i, n = cel_list_size(v);

		for (i = 0; i < n; i++) {
			struct cel_value e = cel_list_at(v, i, a);

			x = value_encode(&e, a);
			if (x == NULL) {
				json_decref(vals);
				return NULL;
			}
			json_array_append_new(vals, x);
		}
		return json_pack("{s:{s:o}}", "listValue", "values", vals);
	}
	case CEL_MAP: {
		json_t *ents = json_array();
		struct cel_map_iter it;
		struct cel_value k, val;

		cel_map_iter_init(&it, v);
		while (cel_map_iter_next(&it, &k, a)) {
			json_t *jk, *jv;

			if (cel_map_get(v, &k, &val, a) != 1)
				continue;
			jk = value_encode(&k, a);
			jv = value_encode(&val, a);
			if (jk == NULL || jv == NULL) {
				json_decref(jk);
				json_decref(jv);
				json_decref(ents);
				return NULL;
			}
			json_array_append_new(ents, json_pack("{s:o,s:o}",
			    "key", jk, "value", jv));
		}
		return json_pack("{s:{s:o}}", "mapValue", "entries", ents);
	}
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------ protocol */

static json_t *
handle(const json_t *req, const struct policy_tz *tz)
{
	const json_t *jexpr = json_object_get(req, "expr");
	const char *expr = json_string_value(jexpr);
	const json_t *bindings = json_object_get(req, "bindings");
	const json_t *tenv = json_object_get(req, "typeEnv");
	struct cel_env env;
	struct cel_activation act;
	struct cel_program *p = NULL;
	struct policy_error err;
	struct cel_arena arena;
	const char **names = NULL;
	struct cel_value *vals = NULL, r;
	size_t nn = 0, i;
	const char *key;
	json_t *val, *out = NULL, *jv;
	char stack[8192];

	cel_arena_init(&arena, NULL, 0);
	if (json_is_true(json_object_get(req, "checkOnly")))
		return json_pack("{s:s}", "unsupported", "type checker");
	if (expr == NULL)
		return json_pack("{s:s}", "error", "request without expr");
	names = calloc(json_object_size(bindings) + json_array_size(tenv) +
	    1, sizeof(*names));
	vals = calloc(json_object_size(bindings) + json_array_size(tenv) +
	    1, sizeof(*vals));
	if (names == NULL || vals == NULL) {
		out = json_pack("{s:s}", "error", "out of memory");
		goto done;
	}
	json_object_foreach((json_t *)(uintptr_t)bindings, key, val) {
		names[nn] = key;
		if (value_decode(val, &vals[nn], &arena) == -1) {
			out = json_pack("{s:s}", "unsupported",
			    "binding value kind");
			goto done;
		}
		nn++;
	}
	for (i = 0; i < json_array_size(tenv); i++) {
		const char *name = json_string_value(json_object_get(
		    json_array_get(tenv, i), "name"));
		size_t k;

		if (name == NULL)
			continue;
		for (k = 0; k < nn; k++)
			if (strcmp(names[k], name) == 0)
				break;
		if (k < nn)
			continue;
		names[nn] = name;
		vals[nn] = cel_error("unbound variable");
		nn++;
	}
	memset(&env, 0, sizeof(env));
	env.strict = 0;
	env.vars = names;
	env.nvars = nn;
	env.disable_macros = json_is_true(json_object_get(req,
	    "disableMacros"));
	env.max_cost = 10000000;
	env.tz = tz;
	p = cel_compile(expr, json_string_length(jexpr), &env, &err);
	if (p == NULL) {
		out = json_pack("{s:s}", "error", err.message);
		goto done;
	}
	act.input = NULL;
	act.vars = vals;
	{
		struct cel_arena ea;

		cel_arena_init(&ea, stack, sizeof(stack));
		r = cel_eval(p, &act, &ea, NULL);
		if (r.kind == CEL_ERROR) {
			char msg[256];
			int line, col;

			cel_program_position(p, r.aux, &line, &col);
			snprintf(msg, sizeof(msg), "%d:%d: %s", line, col,
			    r.err);
			out = json_pack("{s:s}", "error", msg);
		} else {
			jv = value_encode(&r, &ea);
			out = jv != NULL ? json_pack("{s:o}", "value", jv) :
			    json_pack("{s:s}", "unsupported", "result kind");
		}
		cel_arena_release(&ea);
	}
done:
	cel_program_free(p);
	cel_arena_release(&arena);
	free(names);
	free(vals);
	return out;
}

int
cli_conformance(const struct policy_tz *tz)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) != -1) {
		json_t *req, *resp;
		json_error_t jerr;
		char *s;

		if (n <= 1)
			continue;
		req = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &jerr);
		if (req == NULL) {
			printf("{\"error\":\"bad request line: %s\"}\n",
			    "unparseable JSON");
			fflush(stdout);
			continue;
		}
		resp = handle(req, tz);
		if (resp == NULL)
			resp = json_pack("{s:s}", "error", "internal error");
		json_object_set(resp, "id", json_object_get(req, "id"));
		s = json_dumps(resp, JSON_COMPACT);
		if (s != NULL) {
			fputs(s, stdout);
			fputc('\n', stdout);
			free(s);
		}
		fflush(stdout);
		json_decref(resp);
		json_decref(req);
	}
	free(line);
	return 0;
}
