/*
 * regex.c - regular expressions for CEL's matches(): RE2 syntax, matched
 * by a Thompson NFA simulation (a Pike VM without captures), so time is
 * O(pattern x text) whatever the pattern: no backtracking, no
 * backreferences.  Text and patterns are UTF-8 and match code point by
 * code point.  The dialect is documented in nsreg-policy(7).
 *
 * A pattern is parsed into a small tree, then compiled into instructions:
 *   CLASS  consume one code point inside a set of ranges (or outside it)
 *   ANY    consume any code point (but \n unless the s flag)
 *   SPLIT  continue at x and y
 *   JMP    continue at x
 *   ASSERT zero-width test (^ $ \A \z \b \B)
 *   MATCH
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel.h"

#define RE_MAX_INST	20000	/* compiled size bound */
#define RE_MAX_REPEAT	1000	/* {n,m} bound, as RE2 */
#define RE_MAX_DEPTH	200	/* nesting of groups */

enum { I_CLASS, I_ANY, I_SPLIT, I_JMP, I_ASSERT, I_MATCH };
enum { A_BOL, A_EOL, A_BOT, A_EOT, A_WORDB, A_NWORDB };

struct rinst {
	uint8_t		 op;
	uint8_t		 neg;		/* CLASS: negated */
	uint8_t		 arg;		/* ASSERT kind; ANY: dotall */
	uint32_t	 nranges;
	int		 x, y;
	uint32_t	*ranges;	/* lo, hi pairs */
};

struct regex {
	struct rinst	*inst;
	int		 n;
};

/* ------------------------------------------------------------ syntax tree */

enum { N_CLASS, N_ANY, N_ASSERT, N_CAT, N_ALT, N_REP, N_EMPTY };

struct rnode {
	int		 type;
	int		 neg;
	int		 arg;		/* assert kind, dotall */
	int		 min, max;	/* REP; max -1 = unbounded */
	uint32_t	*ranges;
	uint32_t	 nranges;
	struct rnode	**kids;
	int		 nkids;
};

struct rparse {
	const char	*s;
	size_t		 n;
	size_t		 i;
	int		 fold;		/* i flag */
	int		 dotall;	/* s flag */
	int		 multiline;	/* m flag */
	int		 depth;
	char		*err;
	size_t		 errcap;
	int		 failed;
	struct rnode	**all;		/* every node, for freeing */
	size_t		 nall, capall;
};

static void
rfail(struct rparse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
rfail(struct rparse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	if (p->err != NULL && p->errcap > 0) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errcap, fmt, ap);
		va_end(ap);
	}
}

static struct rnode *
rnew(struct rparse *p, int type)
{
	struct rnode *n;

	if (p->nall == p->capall) {
		size_t cap = p->capall ? p->capall * 2 : 32;
		struct rnode **t = realloc(p->all, cap * sizeof(*t));

		if (t == NULL) {
			rfail(p, "out of memory");
			return NULL;
		}
		p->all = t;
		p->capall = cap;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		rfail(p, "out of memory");
		return NULL;
	}
	n->type = type;
	p->all[p->nall++] = n;
	return n;
}

static int
rkid(struct rparse *p, struct rnode *n, struct rnode *k)
{
	struct rnode **t;

	t = realloc(n->kids, (size_t)(n->nkids + 1) * sizeof(*t));
	if (t == NULL) {
		rfail(p, "out of memory");
		return -1;
	}
	n->kids = t;
	n->kids[n->nkids++] = k;
	return 0;
}

static int
radd_range(struct rparse *p, struct rnode *n, uint32_t lo, uint32_t hi)
{
	uint32_t *t;

	t = realloc(n->ranges, (n->nranges + 1) * 2 * sizeof(*t));
	if (t == NULL) {
		rfail(p, "out of memory");
		return -1;
	}
	n->ranges = t;
	t[n->nranges * 2] = lo;
	t[n->nranges * 2 + 1] = hi;
	n->nranges++;
	return 0;
}

/* Add a range, with its ASCII case variants under the i flag. */
static int
radd(struct rparse *p, struct rnode *n, uint32_t lo, uint32_t hi)
{
	uint32_t a, b;

	if (radd_range(p, n, lo, hi) == -1)
		return -1;
	if (!p->fold)
		return 0;
	a = lo > 'a' ? lo : 'a';
	b = hi < 'z' ? hi : 'z';
	if (a <= b && radd_range(p, n, a - 32, b - 32) == -1)
		return -1;
	a = lo > 'A' ? lo : 'A';
	b = hi < 'Z' ? hi : 'Z';
	if (a <= b && radd_range(p, n, a + 32, b + 32) == -1)
		return -1;
	return 0;
}

static uint32_t
rnext_cp(struct rparse *p)
{
	uint32_t cp;
	size_t k;

	k = cel_utf8_decode(p->s + p->i, p->n - p->i, &cp);
	p->i += k;
	return cp;
}

static int
is_wordc(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* Perl classes \d \s \w (ASCII, as RE2). */
static int
perl_class(struct rparse *p, struct rnode *n, char c)
{
	switch (c) {
	case 'd': case 'D':
		return radd_range(p, n, '0', '9');
	case 's': case 'S':
		if (radd_range(p, n, '\t', '\n') == -1 ||
		    radd_range(p, n, '\f', '\r') == -1)
			return -1;
		return radd_range(p, n, ' ', ' ');
	case 'w': case 'W':
		if (radd_range(p, n, '0', '9') == -1 ||
		    radd_range(p, n, 'A', 'Z') == -1 ||
		    radd_range(p, n, '_', '_') == -1)
			return -1;
		return radd_range(p, n, 'a', 'z');
	}
	return -1;
}

static const struct {
	const char	*name;
	const char	*ranges;	/* pairs of characters */
} posix_classes[] = {
	{ "alnum", "09AZaz" },
	{ "alpha", "AZaz" },
	{ "ascii", "\x01\x7f" },
	{ "blank", "\t\t  " },
	{ "cntrl", "\x01\x1f\x7f\x7f" },
	{ "digit", "09" },
	{ "graph", "!~" },
	{ "lower", "az" },
	{ "print", " ~" },
	{ "punct", "!/:@[`{~" },
	{ "space", "\t\r  " },
	{ "upper", "AZ" },
	{ "word", "09AZ__az" },
	{ "xdigit", "09AFaf" },
};

/*
 * Parse an escape after the backslash into a single code point (*cp,
 * returns 1), or a class added to cls (returns 2), or an assertion for
 * the caller (returns 3 with *cp the kind).  -1 on error.
 */
static int
rescape(struct rparse *p, struct rnode *cls, uint32_t *cp, int in_class)
{
	char c;

	if (p->i >= p->n) {
		rfail(p, "trailing backslash at end of expression");
		return -1;
	}
	c = p->s[p->i++];
	switch (c) {
	case 'a': *cp = 7; return 1;
	case 'f': *cp = '\f'; return 1;
	case 'n': *cp = '\n'; return 1;
	case 'r': *cp = '\r'; return 1;
	case 't': *cp = '\t'; return 1;
	case 'v': *cp = '\v'; return 1;
	case 'd': case 's': case 'w':
	case 'D': case 'S': case 'W':
		if (cls == NULL) {
			rfail(p, "internal: class escape");
			return -1;
		}
		if (perl_class(p, cls, c) == -1)
			return -1;
		return 2;
	case 'x': {
		uint32_t v = 0;
		int k = 0;

		if (p->i < p->n && p->s[p->i] == '{') {
			p->i++;
			while (p->i < p->n && p->s[p->i] != '}') {
				char h = p->s[p->i++];
				int d = (h >= '0' && h <= '9') ? h - '0' :
				    (h >= 'a' && h <= 'f') ? h - 'a' + 10 :
				    (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;

				if (d < 0 || ++k > 8) {
					rfail(p, "invalid escape sequence: "
					    "\\x{...}");
					return -1;
				}
				v = v * 16 + (uint32_t)d;
			}
			if (p->i >= p->n || k == 0 || v > 0x10FFFF) {
				rfail(p, "invalid escape sequence: \\x{...}");
				return -1;
			}
			p->i++;
			*cp = v;
			return 1;
		}
		for (k = 0; k < 2; k++) {
			char h = p->i < p->n ? p->s[p->i++] : 0;
			int d = (h >= '0' && h <= '9') ? h - '0' :
			    (h >= 'a' && h <= 'f') ? h - 'a' + 10 :
			    (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;

			if (d < 0) {
				rfail(p, "invalid escape sequence: \\x");
				return -1;
			}
			v = v * 16 + (uint32_t)d;
		}
		*cp = v;
		return 1;
	}
	case '0': case '1': case '2': case '3':
	case '4': case '5': case '6': case '7': {
		uint32_t v = (uint32_t)(c - '0');
		int k;

		if (c != '0' && (p->i >= p->n || p->s[p->i] < '0' ||
		    p->s[p->i] > '7')) {
			rfail(p, "invalid escape sequence: backreferences "
			    "are not supported");
			return -1;
		}
		for (k = 0; k < 2 && p->i < p->n && p->s[p->i] >= '0' &&
		    p->s[p->i] <= '7'; k++)
			v = v * 8 + (uint32_t)(p->s[p->i++] - '0');
		*cp = v;
		return 1;
	}
	case 'b': case 'B': case 'A': case 'z':
		if (in_class) {
			rfail(p, "invalid escape sequence in class: \\%c", c);
			return -1;
		}
		*cp = c == 'b' ? A_WORDB : c == 'B' ? A_NWORDB :
		    c == 'A' ? A_BOT : A_EOT;
		return 3;
	case 'p': case 'P':
		rfail(p, "invalid escape sequence: Unicode classes "
		    "(\\p) are not supported");
		return -1;
	default:
		if ((unsigned char)c < 0x80 && !is_wordc((unsigned char)c)) {
			*cp = (unsigned char)c;
			return 1;
		}
		rfail(p, "invalid escape sequence: \\%c", c);
		return -1;
	}
}

static struct rnode *
rclass(struct rparse *p)
{
	struct rnode *n = rnew(p, N_CLASS);
	int first = 1;

	if (n == NULL)
		return NULL;
	if (p->i < p->n && p->s[p->i] == '^') {
		n->neg = 1;
		p->i++;
	}
	for (;;) {
		uint32_t lo, hi;
		int r;

		if (p->i >= p->n) {
			rfail(p, "missing closing ]");
			return NULL;
		}
		if (p->s[p->i] == ']' && !first) {
			p->i++;
			break;
		}
		first = 0;
		if (p->s[p->i] == '[' && p->i + 1 < p->n &&
		    p->s[p->i + 1] == ':') {
			size_t k, e;
			int neg = 0, found = 0;

			e = p->i + 2;
			if (e < p->n && p->s[e] == '^') {
				neg = 1;
				e++;
			}
			for (k = 0; k < sizeof(posix_classes) /
			    sizeof(posix_classes[0]); k++) {
				size_t l = strlen(posix_classes[k].name);
				const char *r2;

				if (e + l + 2 > p->n || memcmp(p->s + e,
				    posix_classes[k].name, l) != 0 ||
				    p->s[e + l] != ':' || p->s[e + l + 1] != ']')
					continue;
				if (neg) {
					rfail(p, "negated POSIX classes are "
					    "not supported");
					return NULL;
				}
				for (r2 = posix_classes[k].ranges; *r2 != '\0';
				    r2 += 2)
					if (radd(p, n, (unsigned char)r2[0],
					    (unsigned char)r2[1]) == -1)
						return NULL;
				p->i = e + l + 2;
				found = 1;
				break;
			}
			if (found)
				continue;
		}
		if (p->s[p->i] == '\\') {
			p->i++;
			r = rescape(p, n, &lo, 1);
			if (r == -1)
				return NULL;
			if (r == 2)
				continue;
		} else
			lo = rnext_cp(p);
		hi = lo;
		if (p->i + 1 < p->n && p->s[p->i] == '-' &&
		    p->s[p->i + 1] != ']') {
			p->i++;
			if (p->s[p->i] == '\\') {
				p->i++;
				r = rescape(p, NULL, &hi, 1);
				if (r != 1) {
					if (r != -1)
						rfail(p, "invalid class "
						    "range");
					return NULL;
				}
			} else
				hi = rnext_cp(p);
			if (hi < lo) {
				rfail(p, "invalid character class range");
				return NULL;
			}
		}
		if (radd(p, n, lo, hi) == -1)
			return NULL;
	}
	return n;
}

static struct rnode *ralt(struct rparse *p);

static int
rflags(struct rparse *p, int *fold, int *dotall, int *multiline)
{
	int neg = 0;

	while (p->i < p->n) {
		char c = p->s[p->i];

		if (c == ')' || c == ':')
			return 0;
		p->i++;
		switch (c) {
		case '-':
			if (neg) {
				rfail(p, "invalid flags");
				return -1;
			}
			neg = 1;
			break;
		case 'i': *fold = !neg; break;
		case 's': *dotall = !neg; break;
		case 'm': *multiline = !neg; break;
		case 'U': break;	/* ungreedy: no effect on matching */
		default:
			rfail(p, "invalid or unsupported Perl syntax: (?%c",
			    c);
			return -1;
		}
	}
	rfail(p, "missing closing )");
	return -1;
}

static struct rnode *
ratom(struct rparse *p)
{
	struct rnode *n;
	uint32_t cp;
	char c = p->s[p->i];

	switch (c) {
	case '(': {
		int fold = p->fold, dotall = p->dotall, ml = p->multiline;

		p->i++;
		if (++p->depth > RE_MAX_DEPTH) {
			rfail(p, "expression nests too deeply");
			return NULL;
		}
		if (p->i < p->n && p->s[p->i] == '?') {
			p->i++;
			if (p->i < p->n && (p->s[p->i] == 'P' ||
			    p->s[p->i] == '<')) {
				/* Named group: skip the name. */
				if (p->s[p->i] == 'P')
					p->i++;
				if (p->i >= p->n || p->s[p->i] != '<') {
					rfail(p, "invalid named capture");
					return NULL;
				}
				while (p->i < p->n && p->s[p->i] != '>')
					p->i++;
				if (p->i >= p->n) {
					rfail(p, "invalid named capture");
					return NULL;
				}
				p->i++;
			} else {
				if (rflags(p, &p->fold, &p->dotall,
				    &p->multiline) == -1)
					return NULL;
				if (p->s[p->i] == ')') {
					/* (?i) applies to the rest. */
					p->i++;
					p->depth--;
					return rnew(p, N_EMPTY);
				}
				p->i++;	/* ':' */
			}
		}
		n = ralt(p);
		if (n == NULL)
			return NULL;
		if (p->i >= p->n || p->s[p->i] != ')') {
			rfail(p, "missing closing )");
			return NULL;
		}
		p->i++;
		p->depth--;
		p->fold = fold;
		p->dotall = dotall;
		p->multiline = ml;
		return n;
	}
	case '[':
		p->i++;
		return rclass(p);
	case '.':
		p->i++;
		n = rnew(p, N_ANY);
		if (n != NULL)
			n->arg = p->dotall;
		return n;
	case '^':
	case '$':
		p->i++;
		n = rnew(p, N_ASSERT);
		if (n != NULL)
			n->arg = c == '^' ? (p->multiline ? A_BOL : A_BOT) :
			    (p->multiline ? A_EOL : A_EOT);
		return n;
	case '\\':
		p->i++;
		if (p->i < p->n && p->s[p->i] == 'Q') {
			/* \Q...\E: literal text. */
			struct rnode *cat = rnew(p, N_CAT);

			p->i++;
			if (cat == NULL)
				return NULL;
			while (p->i < p->n && !(p->s[p->i] == '\\' &&
			    p->i + 1 < p->n && p->s[p->i + 1] == 'E')) {
				n = rnew(p, N_CLASS);
				if (n == NULL)
					return NULL;
				cp = rnext_cp(p);
				if (radd(p, n, cp, cp) == -1 ||
				    rkid(p, cat, n) == -1)
					return NULL;
			}
			if (p->i < p->n)
				p->i += 2;
			return cat;
		}
		n = rnew(p, N_CLASS);
		if (n == NULL)
			return NULL;
		switch (rescape(p, n, &cp, 0)) {
		case 1:
			if (radd(p, n, cp, cp) == -1)
				return NULL;
			return n;
		case 2:
			if (p->s[p->i - 1] >= 'A' && p->s[p->i - 1] <= 'Z')
				n->neg = 1;
			return n;
		case 3:
			n->type = N_ASSERT;
			n->arg = (int)cp;
			return n;
		default:
			return NULL;
		}
	case '*': case '+': case '?':
		rfail(p, "missing argument to repetition operator: %c", c);
		return NULL;
	default:
		n = rnew(p, N_CLASS);
		if (n == NULL)
			return NULL;
		cp = rnext_cp(p);
		if (radd(p, n, cp, cp) == -1)
			return NULL;
		return n;
	}
}

/* {n}, {n,}, {n,m}: 1 parsed, 0 not a repetition (literal brace). */
static int
rbraces(struct rparse *p, int *min, int *max)
{
	size_t i = p->i + 1;
	long a = 0, b;
	int digits = 0;

	while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') {
		a = a * 10 + (p->s[i++] - '0');
		if (a > 100000)
			a = 100000;
		digits++;
	}
	if (digits == 0 || i >= p->n)
		return 0;
	b = a;
	if (p->s[i] == ',') {
		i++;
		if (i < p->n && p->s[i] == '}')
			b = -1;
		else {
			b = 0;
			digits = 0;
			while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') {
				b = b * 10 + (p->s[i++] - '0');
				if (b > 100000)
					b = 100000;
				digits++;
			}
			if (digits == 0)
				return 0;
		}
	}
	if (i >= p->n || p->s[i] != '}')
		return 0;
	if (a > RE_MAX_REPEAT || b > RE_MAX_REPEAT || (b != -1 && b < a)) {
		rfail(p, "invalid repeat count");
		return -1;
	}
	p->i = i + 1;
	*min = (int)a;
	*max = (int)b;
	return 1;
}

static struct rnode *
rrepeat(struct rparse *p)
{
	struct rnode *n = ratom(p);

	while (n != NULL && p->i < p->n) {
		char c = p->s[p->i];
		int min, max;
		struct rnode *r;

		if (c == '*') {
			min = 0;
			max = -1;
			p->i++;
		} else if (c == '+') {
			min = 1;
			max = -1;
			p->i++;
		} else if (c == '?') {
			min = 0;
			max = 1;
			p->i++;
		} else if (c == '{') {
			int k = rbraces(p, &min, &max);

			if (k == -1)
				return NULL;
			if (k == 0)
				break;
		} else
			break;
		if (n->type == N_REP && n->arg == 1) {
			rfail(p, "bad repetition operator: %c", c);
			return NULL;
		}
		r = rnew(p, N_REP);
		if (r == NULL || rkid(p, r, n) == -1)
			return NULL;
		r->min = min;
		r->max = max;
		r->arg = 1;	/* a repetition applied directly */
		n = r;
		if (p->i < p->n && p->s[p->i] == '?')
			p->i++;	/* non-greedy: same language */
	}
	if (n != NULL && n->type == N_REP)
		n->arg = 0;
	return n;
}

static struct rnode *
rcat(struct rparse *p)
{
	struct rnode *cat = rnew(p, N_CAT);

	if (cat == NULL)
		return NULL;
	while (p->i < p->n && p->s[p->i] != '|' && p->s[p->i] != ')') {
		struct rnode *k = rrepeat(p);

		if (k == NULL || rkid(p, cat, k) == -1)
			return NULL;
	}
	return cat;
}

static struct rnode *
ralt(struct rparse *p)
{
	struct rnode *alt = NULL, *c;

	c = rcat(p);
	if (c == NULL)
		return NULL;
	while (p->i < p->n && p->s[p->i] == '|') {
		p->i++;
		if (alt == NULL) {
			alt = rnew(p, N_ALT);
			if (alt == NULL || rkid(p, alt, c) == -1)
				return NULL;
		}
		c = rcat(p);
		if (c == NULL || rkid(p, alt, c) == -1)
			return NULL;
	}
	return alt != NULL ? alt : c;
}

/* ------------------------------------------------------------ compiler */

struct rcomp {
	struct rinst	*inst;
	int		 n, cap;
	int		 failed;
	struct rparse	*p;
};

static int
emit(struct rcomp *c, int op)
{
	if (c->failed)
		return -1;
	if (c->n >= RE_MAX_INST) {
		rfail(c->p, "expression too large");
		c->failed = 1;
		return -1;
	}
	if (c->n == c->cap) {
		int cap = c->cap ? c->cap * 2 : 64;
		struct rinst *t = realloc(c->inst, (size_t)cap * sizeof(*t));

		if (t == NULL) {
			rfail(c->p, "out of memory");
			c->failed = 1;
			return -1;
		}
		c->inst = t;
		c->cap = cap;
	}
	memset(&c->inst[c->n], 0, sizeof(c->inst[0]));
	c->inst[c->n].op = (uint8_t)op;
	return c->n++;
}

static void
gen(struct rcomp *c, const struct rnode *n)
{
	int i, k, l1, l2;

	if (c->failed)
		return;
	switch (n->type) {
	case N_EMPTY:
		break;
	case N_CLASS:
		k = emit(c, I_CLASS);
		if (k < 0)
			return;
		c->inst[k].neg = (uint8_t)n->neg;
		c->inst[k].nranges = n->nranges;
		c->inst[k].ranges = NULL;
		if (n->nranges > 0) {
			c->inst[k].ranges = malloc(n->nranges * 2 *
			    sizeof(uint32_t));
			if (c->inst[k].ranges == NULL) {
				rfail(c->p, "out of memory");
				c->failed = 1;
				return;
			}
			memcpy(c->inst[k].ranges, n->ranges, n->nranges * 2 *
			    sizeof(uint32_t));
		}
		break;
	case N_ANY:
		k = emit(c, I_ANY);
		if (k >= 0)
			c->inst[k].arg = (uint8_t)n->arg;
		break;
	case N_ASSERT:
		k = emit(c, I_ASSERT);
		if (k >= 0)
			c->inst[k].arg = (uint8_t)n->arg;
		break;
	case N_CAT:
		for (i = 0; i < n->nkids; i++)
			gen(c, n->kids[i]);
		break;
	case N_ALT: {
		int *jmps = calloc((size_t)n->nkids + 1, sizeof(int));

		if (jmps == NULL) {
			rfail(c->p, "out of memory");
			c->failed = 1;
			return;
		}
		for (i = 0; i < n->nkids && !c->failed; i++) {
			if (i + 1 < n->nkids) {
				k = emit(c, I_SPLIT);
				if (k < 0)
					break;
				c->inst[k].x = k + 1;
				gen(c, n->kids[i]);
				jmps[i] = emit(c, I_JMP);
				if (jmps[i] < 0)
					break;
				c->inst[k].y = c->n;
			} else
				gen(c, n->kids[i]);
		}
		for (i = 0; i + 1 < n->nkids && !c->failed; i++)
			c->inst[jmps[i]].x = c->n;
		free(jmps);
		break;
	}
	case N_REP: {
		const struct rnode *kid = n->kids[0];

		for (i = 0; i < n->min; i++)
			gen(c, kid);
		if (n->max == -1) {
			/* L1: split L2, L3; L2: kid; jmp L1; L3: */
			l1 = emit(c, I_SPLIT);
			if (l1 < 0)
				return;
			c->inst[l1].x = l1 + 1;
			gen(c, kid);
			l2 = emit(c, I_JMP);
			if (l2 < 0)
				return;
			c->inst[l2].x = l1;
			c->inst[l1].y = c->n;
		} else {
			int opt = n->max - n->min;
			int *splits = calloc((size_t)opt + 1, sizeof(int));

			if (splits == NULL) {
				rfail(c->p, "out of memory");
				c->failed = 1;
				return;
			}
			for (i = 0; i < opt && !c->failed; i++) {
				splits[i] = emit(c, I_SPLIT);
				if (splits[i] < 0)
					break;
				c->inst[splits[i]].x = splits[i] + 1;
				gen(c, kid);
			}
			for (i = 0; i < opt && !c->failed; i++)
				c->inst[splits[i]].y = c->n;
			free(splits);
		}
		break;
	}
	}
}

static void
rparse_free(struct rparse *p)
{
	size_t i;

	for (i = 0; i < p->nall; i++) {
		free(p->all[i]->ranges);
		free(p->all[i]->kids);
		free(p->all[i]);
	}
	free(p->all);
}

void
regex_free(struct regex *re)
{
	int i;

	if (re == NULL)
		return;
	for (i = 0; i < re->n; i++)
		free(re->inst[i].ranges);
	free(re->inst);
	free(re);
}

struct regex *
regex_compile(const char *pat, size_t len, char *errbuf, size_t errcap)
{
	struct rparse p;
	struct rcomp c;
	struct rnode *root;
	struct regex *re = NULL;
	int k;

	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	p.s = pat;
	p.n = len;
	p.err = errbuf;
	p.errcap = errcap;
	c.p = &p;
	if (!cel_utf8_valid(pat, len)) {
		rfail(&p, "invalid UTF-8");
		goto done;
	}
	root = ralt(&p);
	if (root == NULL || p.failed)
		goto done;
	if (p.i < p.n) {
		rfail(&p, "unexpected ): missing opening (");
		goto done;
	}
	gen(&c, root);
	k = emit(&c, I_MATCH);
	if (k < 0 || c.failed)
		goto done;
	re = malloc(sizeof(*re));
	if (re == NULL) {
		rfail(&p, "out of memory");
		goto done;
	}
	re->inst = c.inst;
	re->n = c.n;
	c.inst = NULL;
	c.n = 0;
done:
	if (c.inst != NULL) {
		for (k = 0; k < c.n; k++)
			free(c.inst[k].ranges);
		free(c.inst);
	}
	rparse_free(&p);
	return re;
}

size_t
regex_size(const struct regex *re)
{
	return (size_t)re->n;
}

/* ------------------------------------------------------------ matcher */

struct tlist {
	int	*dense;
	int	*sparse;
	int	 n;
};

static int
tl_has(const struct tlist *l, int pc)
{
	int k = l->sparse[pc];

	return k >= 0 && k < l->n && l->dense[k] == pc;
}

static int
assert_ok(int kind, const char *s, size_t n, size_t at)
{
	int wb, wa;

	switch (kind) {
	case A_BOT:
		return at == 0;
	case A_EOT:
		return at == n;
	case A_BOL:
		return at == 0 || s[at - 1] == '\n';
	case A_EOL:
		return at == n || s[at] == '\n';
	case A_WORDB:
	case A_NWORDB:
		wb = at > 0 && is_wordc((unsigned char)s[at - 1]);
		wa = at < n && is_wordc((unsigned char)s[at]);
		return kind == A_WORDB ? wb != wa : wb == wa;
	}
	return 0;
}

/* Follow empty transitions from pc, adding consumers and MATCH to l. */
static void
addthread(const struct regex *re, struct tlist *l, int *stack, int pc,
    const char *s, size_t n, size_t at)
{
	int sp = 0;

	stack[sp++] = pc;
	while (sp > 0) {
		const struct rinst *in;

		pc = stack[--sp];
		if (tl_has(l, pc))
			continue;
		l->sparse[pc] = l->n;
		l->dense[l->n++] = pc;
		in = &re->inst[pc];
		switch (in->op) {
		case I_JMP:
			stack[sp++] = in->x;
			break;
		case I_SPLIT:
			stack[sp++] = in->y;
			stack[sp++] = in->x;
			break;
		case I_ASSERT:
			if (assert_ok(in->arg, s, n, at))
				stack[sp++] = pc + 1;
			break;
		default:
			break;
		}
	}
}

static int
class_has(const struct rinst *in, uint32_t cp)
{
	uint32_t i;
	int in_set = 0;

	for (i = 0; i < in->nranges; i++)
		if (cp >= in->ranges[2 * i] && cp <= in->ranges[2 * i + 1]) {
			in_set = 1;
			break;
		}
	return in->neg ? !in_set : in_set;
}

int
regex_search(const struct regex *re, const char *s, size_t n,
    struct cel_arena *a, uint64_t *cost)
{
	struct tlist l1, l2, *cl = &l1, *nl = &l2, *t;
	int *mem, *stack, i;
	size_t at = 0, m = (size_t)re->n;

	/* Each pc may be pushed once per SPLIT arm: 2n bounds the stack. */
	mem = cel_arena_alloc(a, (4 * m + 2 * m + 2) * sizeof(int));
	if (mem == NULL)
		return -1;
	l1.dense = mem;
	l1.sparse = mem + m;
	l2.dense = mem + 2 * m;
	l2.sparse = mem + 3 * m;
	stack = mem + 4 * m;
	for (i = 0; i < (int)m; i++) {
		l1.sparse[i] = -1;
		l2.sparse[i] = -1;
	}
	l1.n = l2.n = 0;
	addthread(re, cl, stack, 0, s, n, 0);
	for (;;) {
		uint32_t cp = 0;
		size_t k = 0;

		if (cost != NULL)
			*cost += (uint64_t)cl->n + 1;
		for (i = 0; i < cl->n; i++)
			if (re->inst[cl->dense[i]].op == I_MATCH)
				return 1;
		if (at >= n)
			return 0;
		k = cel_utf8_decode(s + at, n - at, &cp);
		nl->n = 0;
		for (i = 0; i < cl->n; i++) {
			const struct rinst *in = &re->inst[cl->dense[i]];
			int ok = 0;

			if (in->op == I_CLASS)
				ok = class_has(in, cp);
			else if (in->op == I_ANY)
				ok = in->arg || cp != '\n';
			if (ok)
				addthread(re, nl, stack, cl->dense[i] + 1, s, n,
				    at + k);
		}
		at += k;
		/* Unanchored: a new thread starts at every position. */
		addthread(re, nl, stack, 0, s, n, at);
		t = cl;
		cl = nl;
		nl = t;
	}
}
