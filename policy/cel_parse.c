/*
 * cel_parse.c - lexer and recursive-descent parser for CEL expressions.
 *
 * Grammar (CEL spec, "Syntax"), lowest precedence first:
 *   Expr    = ConditionalOr ["?" ConditionalOr ":" Expr]
 *   ConditionalOr  = ConditionalAnd {"||" ConditionalAnd}
 *   ConditionalAnd = Relation {"&&" Relation}
 *   Relation = Addition {Relop Addition}      Relop = < <= >= > == != in
 *   Addition = Multiplication {("+"|"-") Multiplication}
 *   Multiplication = Unary {("*"|"/"|"%") Unary}
 *   Unary   = Member | "!" {"!"} Member | "-" {"-"} Member
 *   Member  = Primary | Member "." IDENT ["(" [ExprList] ")"]
 *           | Member "[" Expr "]"
 *   Primary = ["."] IDENT ["(" [ExprList] ")"] | "(" Expr ")"
 *           | "[" [ExprList] [","] "]" | "{" [MapInits] [","] "}"
 *           | LITERAL
 * Macros (has, all, exists, exists_one, map, filter) become dedicated
 * nodes here.  Every error carries the byte offset of the token at fault.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel_ast.h"

enum tok {
	T_EOF = 0,
	T_IDENT,
	T_INT,
	T_UINT,
	T_DOUBLE,
	T_STRING,
	T_BYTES,
	T_TRUE,
	T_FALSE,
	T_NULL,
	T_IN,
	T_RESERVED,
	T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_LBRACE, T_RBRACE,
	T_DOT, T_COMMA, T_COLON, T_QUESTION,
	T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PERCENT,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
	T_AND, T_OR, T_NOT,
	T_QUOTED_IDENT		/* `name` after a dot */
};

struct token {
	enum tok	 t;
	int32_t		 pos;
	const char	*s;		/* identifier, or decoded literal */
	size_t		 n;
	uint64_t	 u;		/* integer magnitude */
	double		 d;
	int		 big;		/* int literal equal to 2^63 */
};

struct parser {
	struct cel_program	*p;
	const struct cel_env	*env;
	struct policy_error	*err;
	const char		*src;
	size_t			 len;
	size_t			 off;
	struct token		 tok;
	int			 failed;
	int			 depth;
	int			 slots;		/* comprehension nesting now */
};

struct cel_pool_block {
	struct cel_pool_block	*next;
	size_t			 len;
	size_t			 cap;
	_Alignas(16) char	 data[];
};

void *
cel_pool_alloc(struct cel_program *p, size_t n)
{
	struct cel_pool_block *b = p->blocks;
	void *r;

	n = (n + 15) & ~(size_t)15;
	if (b == NULL || b->cap - b->len < n) {
		/* Small first: a rule set holds thousands of programs. */
		size_t cap = b == NULL ? 1024 : b->cap < 8192 ? b->cap * 2 :
		    8192;

		if (cap < n)
			cap = n;

		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->next = p->blocks;
		b->len = 0;
		b->cap = cap;
		p->blocks = b;
	}
	r = b->data + b->len;
	b->len += n;
	memset(r, 0, n);
	return r;
}

void
cel_pool_free(struct cel_program *p)
{
	struct cel_pool_block *b, *next;

	for (b = p->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	p->blocks = NULL;
}

int
cel_program_add_regex(struct cel_program *p, struct regex *re)
{
	struct regex **r;

	r = realloc(p->regexes, (p->nregexes + 1) * sizeof(*r));
	if (r == NULL)
		return -1;
	p->regexes = r;
	r[p->nregexes++] = re;
	return 0;
}

void
cel_program_position(const struct cel_program *p, int32_t offset, int *line,
    int *column)
{
	size_t i;
	int l = 1, c = 1;

	if (offset < 0)
		offset = 0;
	for (i = 0; i < (size_t)offset && i < p->srclen; i++) {
		unsigned char ch = (unsigned char)p->src[i];

		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xC0) != 0x80)
			c++;
	}
	*line = l;
	*column = c;
}

int
cel_program_error(const struct cel_program *p, int32_t pos,
    struct policy_error *err, const char *fmt, ...)
{
	char msg[POLICY_ERROR_MESSAGE_MAX];
	va_list ap;
	int line, col;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cel_program_position(p, pos, &line, &col);
	err->line = line;
	err->column = col;
	err->field[0] = '\0';
	snprintf(err->message, sizeof(err->message), "%d:%d: %s", line, col,
	    msg);
	return -1;
}

static void
parse_fail(struct parser *ps, int32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
parse_fail(struct parser *ps, int32_t pos, const char *fmt, ...)
{
	char msg[POLICY_ERROR_MESSAGE_MAX];
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cel_program_error(ps->p, pos, ps->err, "%s", msg);
}

/* ------------------------------------------------------------ lexer */

static const char *const reserved[] = {
	"as", "break", "const", "continue", "else", "for", "function", "if",
	"import", "let", "loop", "package", "namespace", "return", "var",
	"void", "while", NULL
};

static int
is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A growable buffer for decoding literals into the program's pool. */
struct sbuf {
	char	*s;
	size_t	 n;
	size_t	 cap;
};

static int
sbuf_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *t;

		while (cap < b->n + n + 1)
			cap *= 2;
		t = realloc(b->s, cap);
		if (t == NULL)
			return -1;
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
	return 0;
}

/*
 * Lex a quoted literal at ps->off (the quote).  raw: no escapes.  bytes:
 * \x and octal escapes are bytes, otherwise they are code points.
 */
static int
lex_quoted(struct parser *ps, int raw, int bytes, int32_t start)
{
	const char *s = ps->src;
	size_t i = ps->off, end = ps->len;
	char q = s[i];
	int triple = 0;
	struct sbuf b = { NULL, 0, 0 };
	char *copy;

	if (i + 2 < end && s[i + 1] == q && s[i + 2] == q) {
		triple = 1;
		i += 3;
	} else
		i++;
	sbuf_put(&b, "", 0);
	for (;;) {
		char c;

		if (i >= end) {
			parse_fail(ps, start, "unterminated string literal");
			goto fail;
		}
		c = s[i];
		if (triple) {
			if (c == q && i + 2 < end && s[i + 1] == q &&
			    s[i + 2] == q) {
				i += 3;
				break;
			}
		} else {
			if (c == q) {
				i++;
				break;
			}
			if (c == '\n' || c == '\r') {
				parse_fail(ps, (int32_t)i,
				    "newline in string literal");
				goto fail;
			}
		}
		if (c != '\\' || raw) {
			if (sbuf_put(&b, &c, 1) == -1)
				goto nomem;
			i++;
			continue;
		}
		/* An escape sequence. */
		if (i + 1 >= end) {
			parse_fail(ps, (int32_t)i, "unterminated escape");
			goto fail;
		}
		c = s[i + 1];
		{
			char out[8];
			size_t on = 0;
			uint32_t cp = 0;
			int ndig = 0, k, is_cp = 0;

			switch (c) {
			case 'a': out[on++] = '\a'; break;
			case 'b': out[on++] = '\b'; break;
			case 'f': out[on++] = '\f'; break;
			case 'n': out[on++] = '\n'; break;
			case 'r': out[on++] = '\r'; break;
			case 't': out[on++] = '\t'; break;
			case 'v': out[on++] = '\v'; break;
			case '\\': out[on++] = '\\'; break;
			case '?': out[on++] = '?'; break;
			case '"': out[on++] = '"'; break;
			case '\'': out[on++] = '\''; break;
			case '`': out[on++] = '`'; break;
			case 'x': case 'X': ndig = 2; break;
			case 'u': ndig = 4; is_cp = 1; break;
			case 'U': ndig = 8; is_cp = 1; break;
			default:
				if (c >= '0' && c <= '3') {
					for (k = 0; k < 3; k++) {
						int d = i + 1 + k < end ?
						    s[i + 1 + k] : 0;

						if (d < '0' || d > '7') {
							parse_fail(ps,
							    (int32_t)i,
							    "invalid octal "
							    "escape");
							goto fail;
						}
						cp = cp * 8 + (uint32_t)(d -
						    '0');
					}
					i += 4;
					goto emit_num;
				}
				parse_fail(ps, (int32_t)i,
				    "invalid escape sequence '\\%c'", c);
				goto fail;
			}
			if (ndig == 0) {
				if (sbuf_put(&b, out, on) == -1)
					goto nomem;
				i += 2;
				continue;
			}
			for (k = 0; k < ndig; k++) {
				int h = i + 2 + k < end ?
				    hexval((unsigned char)s[i + 2 + k]) : -1;

				if (h < 0) {
					parse_fail(ps, (int32_t)i,
					    "invalid hex escape");
					goto fail;
				}
				cp = cp * 16 + (uint32_t)h;
			}
			i += 2 + (size_t)ndig;
			if (is_cp && ((cp >= 0xD800 && cp <= 0xDFFF) ||
			    cp > 0x10FFFF)) {
				parse_fail(ps, (int32_t)i,
				    "invalid code point in escape");
				goto fail;
			}
emit_num:
			if (bytes && !is_cp) {
				out[0] = (char)cp;
				on = 1;
			} else
				on = cel_utf8_encode(cp, out);
			if (sbuf_put(&b, out, on) == -1)
				goto nomem;
		}
	}
	if (!bytes && !cel_utf8_valid(b.s, b.n)) {
		parse_fail(ps, start, "string literal is not valid UTF-8");
		goto fail;
	}
	copy = cel_pool_alloc(ps->p, b.n + 1);
	if (copy == NULL)
		goto nomem;
	memcpy(copy, b.s, b.n);
	copy[b.n] = '\0';
	ps->tok.t = bytes ? T_BYTES : T_STRING;
	ps->tok.s = copy;
	ps->tok.n = b.n;
	ps->off = i;
	free(b.s);
	return 0;
nomem:
	parse_fail(ps, start, "out of memory");
fail:
	free(b.s);
	return -1;
}

static int
lex_number(struct parser *ps, int32_t start)
{
	const char *s = ps->src;
	size_t i = ps->off, end = ps->len;
	int isfloat = 0;
	char buf[128];
	size_t n;

	if (s[i] == '0' && i + 1 < end && (s[i + 1] == 'x' ||
	    s[i + 1] == 'X')) {
		uint64_t v = 0;
		size_t j = i + 2;
		int over = 0;

		if (j >= end || hexval((unsigned char)s[j]) < 0) {
			parse_fail(ps, start, "invalid hex literal");
			return -1;
		}
		while (j < end && hexval((unsigned char)s[j]) >= 0) {
			if (v > (UINT64_MAX >> 4))
				over = 1;
			v = (v << 4) | (uint64_t)hexval((unsigned char)s[j]);
			j++;
		}
		if (over) {
			parse_fail(ps, start, "integer literal out of range");
			return -1;
		}
		ps->tok.u = v;
		i = j;
		goto suffix;
	}
	while (i < end && is_digit((unsigned char)s[i]))
		i++;
	if (i + 1 < end && s[i] == '.' && is_digit((unsigned char)s[i + 1])) {
		isfloat = 1;
		i++;
		while (i < end && is_digit((unsigned char)s[i]))
			i++;
	}
	if (i < end && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;

		if (j < end && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < end && is_digit((unsigned char)s[j])) {
			isfloat = 1;
			while (j < end && is_digit((unsigned char)s[j]))
				j++;
			i = j;
		} else {
			parse_fail(ps, start, "invalid exponent");
			return -1;
		}
	}
	n = i - ps->off;
	if (n >= sizeof(buf)) {
		parse_fail(ps, start, "numeric literal too long");
		return -1;
	}
	memcpy(buf, s + ps->off, n);
	buf[n] = '\0';
	if (isfloat) {
		errno = 0;
		ps->tok.d = strtod(buf, NULL);
		ps->tok.t = T_DOUBLE;
		ps->off = i;
		return 0;
	}
	errno = 0;
	ps->tok.u = strtoull(buf, NULL, 10);
	if (errno == ERANGE) {
		parse_fail(ps, start, "integer literal out of range");
		return -1;
	}
suffix:
	if (i < end && (s[i] == 'u' || s[i] == 'U')) {
		ps->tok.t = T_UINT;
		i++;
	} else {
		ps->tok.t = T_INT;
		ps->tok.big = 0;
		if (ps->tok.u > (uint64_t)INT64_MAX) {
			if (ps->tok.u == (uint64_t)INT64_MAX + 1)
				ps->tok.big = 1;
			else {
				parse_fail(ps, start,
				    "integer literal out of range");
				return -1;
			}
		}
	}
	if (i < end && (is_ident_start((unsigned char)s[i]) ||
	    is_digit((unsigned char)s[i]))) {
		parse_fail(ps, (int32_t)i, "invalid character after number");
		return -1;
	}
	ps->off = i;
	return 0;
}

/* Read the next token into ps->tok. */
static int
lex(struct parser *ps)
{
	const char *s = ps->src;
	size_t end = ps->len;
	int32_t start;
	char c;

	memset(&ps->tok, 0, sizeof(ps->tok));
	for (;;) {
		while (ps->off < end && (s[ps->off] == ' ' ||
		    s[ps->off] == '\t' || s[ps->off] == '\n' ||
		    s[ps->off] == '\r' || s[ps->off] == '\f'))
			ps->off++;
		if (ps->off + 1 < end && s[ps->off] == '/' &&
		    s[ps->off + 1] == '/') {
			while (ps->off < end && s[ps->off] != '\n')
				ps->off++;
			continue;
		}
		break;
	}
	start = (int32_t)ps->off;
	ps->tok.pos = start;
	if (ps->off >= end) {
		ps->tok.t = T_EOF;
		return 0;
	}
	c = s[ps->off];
	/* String and bytes literals with their prefixes. */
	{
		size_t j = ps->off;
		int raw = 0, bytes = 0;

		while (j < end && j - ps->off < 2 && (s[j] == 'r' ||
		    s[j] == 'R' || s[j] == 'b' || s[j] == 'B')) {
			if (s[j] == 'r' || s[j] == 'R') {
				if (raw)
					break;
				raw = 1;
			} else {
				if (bytes)
					break;
				bytes = 1;
			}
			j++;
		}
		if (j < end && (s[j] == '"' || s[j] == '\'')) {
			ps->off = j;
			return lex_quoted(ps, raw, bytes, start);
		}
	}
	if (is_ident_start((unsigned char)c)) {
		size_t j = ps->off;
		const char *const *r;

		while (j < end && (is_ident_start((unsigned char)s[j]) ||
		    is_digit((unsigned char)s[j])))
			j++;
		ps->tok.s = s + ps->off;
		ps->tok.n = j - ps->off;
		ps->off = j;
		ps->tok.t = T_IDENT;
#define KW(w) (ps->tok.n == sizeof(w) - 1 && \
    memcmp(ps->tok.s, w, sizeof(w) - 1) == 0)
		if (KW("true"))
			ps->tok.t = T_TRUE;
		else if (KW("false"))
			ps->tok.t = T_FALSE;
		else if (KW("null"))
			ps->tok.t = T_NULL;
		else if (KW("in"))
			ps->tok.t = T_IN;
#undef KW
		for (r = reserved; *r != NULL; r++)
			if (strlen(*r) == ps->tok.n &&
			    memcmp(*r, ps->tok.s, ps->tok.n) == 0)
				ps->tok.t = T_RESERVED;
		return 0;
	}
	if (is_digit((unsigned char)c) || (c == '.' && ps->off + 1 < end &&
	    is_digit((unsigned char)s[ps->off + 1])))
		return lex_number(ps, start);
	if (c == '`') {
		size_t j = ps->off + 1;

		while (j < end && s[j] != '`' && s[j] != '\n')
			j++;
		if (j >= end || s[j] != '`' || j == ps->off + 1) {
			parse_fail(ps, start, "invalid quoted identifier");
			return -1;
		}
		ps->tok.t = T_QUOTED_IDENT;
		ps->tok.s = s + ps->off + 1;
		ps->tok.n = j - ps->off - 1;
		ps->off = j + 1;
		return 0;
	}
	ps->off++;
#define NEXT_IS(ch) (ps->off < end && s[ps->off] == (ch))
	switch (c) {
	case '(': ps->tok.t = T_LPAREN; return 0;
	case ')': ps->tok.t = T_RPAREN; return 0;
	case '[': ps->tok.t = T_LBRACK; return 0;
	case ']': ps->tok.t = T_RBRACK; return 0;
	case '{': ps->tok.t = T_LBRACE; return 0;
	case '}': ps->tok.t = T_RBRACE; return 0;
	case '.': ps->tok.t = T_DOT; return 0;
	case ',': ps->tok.t = T_COMMA; return 0;
	case ':': ps->tok.t = T_COLON; return 0;
	case '?': ps->tok.t = T_QUESTION; return 0;
	case '+': ps->tok.t = T_PLUS; return 0;
	case '-': ps->tok.t = T_MINUS; return 0;
	case '*': ps->tok.t = T_STAR; return 0;
	case '/': ps->tok.t = T_SLASH; return 0;
	case '%': ps->tok.t = T_PERCENT; return 0;
	case '=':
		if (NEXT_IS('=')) {
			ps->off++;
			ps->tok.t = T_EQ;
			return 0;
		}
		break;
	case '!':
		if (NEXT_IS('=')) {
			ps->off++;
			ps->tok.t = T_NE;
		} else
			ps->tok.t = T_NOT;
		return 0;
	case '<':
		if (NEXT_IS('=')) {
			ps->off++;
			ps->tok.t = T_LE;
		} else
			ps->tok.t = T_LT;
		return 0;
	case '>':
		if (NEXT_IS('=')) {
			ps->off++;
			ps->tok.t = T_GE;
		} else
			ps->tok.t = T_GT;
		return 0;
	case '&':
		if (NEXT_IS('&')) {
			ps->off++;
			ps->tok.t = T_AND;
			return 0;
		}
		break;
	case '|':
		if (NEXT_IS('|')) {
			ps->off++;
			ps->tok.t = T_OR;
			return 0;
		}
		break;
	default:
		break;
	}
#undef NEXT_IS
	if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
		parse_fail(ps, start, "unexpected character '%c'", c);
	else
		parse_fail(ps, start, "unexpected character 0x%02x",
		    (unsigned char)c);
	return -1;
}

static const char *
tok_name(enum tok t)
{
	switch (t) {
	case T_EOF: return "end of expression";
	case T_IDENT: return "identifier";
	case T_INT: case T_UINT: case T_DOUBLE: return "number";
	case T_STRING: return "string";
	case T_BYTES: return "bytes";
	case T_TRUE: return "'true'";
	case T_FALSE: return "'false'";
	case T_NULL: return "'null'";
	case T_IN: return "'in'";
	case T_RESERVED: return "reserved word";
	case T_LPAREN: return "'('";
	case T_RPAREN: return "')'";
	case T_LBRACK: return "'['";
	case T_RBRACK: return "']'";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	case T_DOT: return "'.'";
	case T_COMMA: return "','";
	case T_COLON: return "':'";
	case T_QUESTION: return "'?'";
	case T_PLUS: return "'+'";
	case T_MINUS: return "'-'";
	case T_STAR: return "'*'";
	case T_SLASH: return "'/'";
	case T_PERCENT: return "'%'";
	case T_EQ: return "'=='";
	case T_NE: return "'!='";
	case T_LT: return "'<'";
	case T_LE: return "'<='";
	case T_GT: return "'>'";
	case T_GE: return "'>='";
	case T_AND: return "'&&'";
	case T_OR: return "'||'";
	case T_NOT: return "'!'";
	case T_QUOTED_IDENT: return "quoted identifier";
	}
	return "token";
}

/* ------------------------------------------------------------ parser */

static struct cel_node *
node_new(struct parser *ps, enum cel_op op, int32_t pos)
{
	struct cel_node *n;

	n = cel_pool_alloc(ps->p, sizeof(*n));
	if (n == NULL) {
		parse_fail(ps, pos, "out of memory");
		return NULL;
	}
	n->op = (uint8_t)op;
	n->kind = CEL_DYN;
	n->pos = pos;
	return n;
}

static int
advance(struct parser *ps)
{
	if (ps->failed)
		return -1;
	return lex(ps);
}

static int
expect(struct parser *ps, enum tok t, const char *what)
{
	if (ps->failed)
		return -1;
	if (ps->tok.t != t) {
		parse_fail(ps, ps->tok.pos, "syntax error: expected %s, "
		    "found %s", what, tok_name(ps->tok.t));
		return -1;
	}
	return advance(ps);
}

static struct cel_node *parse_expr(struct parser *);

static struct cel_node *
binary(struct parser *ps, enum cel_op op, int32_t pos, struct cel_node *a,
    struct cel_node *b)
{
	struct cel_node *n;

	if (a == NULL || b == NULL)
		return NULL;
	n = node_new(ps, op, pos);
	if (n == NULL)
		return NULL;
	n->a = a;
	n->b = b;
	return n;
}

/*
 * Parse "a, b, c" up to the closing token; fills args.  A list or map
 * literal (literal = 1) allows a trailing comma and optional elements.
 */
static int
parse_list(struct parser *ps, enum tok close, int literal,
    struct cel_node ***argsp, uint16_t *nargsp, int pairs)
{
	struct cel_node **args = NULL, **t;
	size_t n = 0, cap = 0;

	while (ps->tok.t != close) {
		struct cel_node *e, *v = NULL, *o = NULL;

		/* [?e] and {?k: e}: an element only when e has a value. */
		if (literal && ps->tok.t == T_QUESTION) {
			o = node_new(ps, CEL_OP_OPTELEM, ps->tok.pos);
			if (o == NULL || advance(ps) == -1)
				goto fail;
		}
		e = parse_expr(ps);
		if (e == NULL)
			goto fail;
		if (pairs) {
			if (expect(ps, T_COLON, "':'") == -1)
				goto fail;
			v = parse_expr(ps);
			if (v == NULL)
				goto fail;
			if (o != NULL) {
				o->a = v;
				v = o;
			}
		} else if (o != NULL) {
			o->a = e;
			e = o;
		}
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 8;
			t = realloc(args, cap * sizeof(*args));
			if (t == NULL) {
				parse_fail(ps, ps->tok.pos, "out of memory");
				goto fail;
			}
			args = t;
		}
		args[n++] = e;
		if (pairs)
			args[n++] = v;
		if (n > 60000) {
			parse_fail(ps, ps->tok.pos, "too many elements");
			goto fail;
		}
		if (ps->tok.t == T_COMMA) {
			if (advance(ps) == -1)
				goto fail;
			if (ps->tok.t == close && !literal) {
				parse_fail(ps, ps->tok.pos, "syntax error: "
				    "unexpected %s", tok_name(close));
				goto fail;
			}
			continue;
		}
		if (ps->tok.t != close) {
			parse_fail(ps, ps->tok.pos, "syntax error: expected "
			    "',' or %s, found %s", tok_name(close),
			    tok_name(ps->tok.t));
			goto fail;
		}
	}
	if (advance(ps) == -1)
		goto fail;
	*nargsp = (uint16_t)n;
	*argsp = NULL;
	if (n > 0) {
		*argsp = cel_pool_alloc(ps->p, n * sizeof(**argsp));
		if (*argsp == NULL) {
			parse_fail(ps, ps->tok.pos, "out of memory");
			goto fail;
		}
		memcpy(*argsp, args, n * sizeof(*args));
	}
	free(args);
	return 0;
fail:
	free(args);
	return -1;
}

static int
is_macro_name(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(s, name, n) == 0;
}

/* One of the macros' loop variables: an identifier, or NULL. */
static struct cel_node *
macro_var(struct parser *ps, const struct cel_node *call, int i)
{
	struct cel_node *var = call->args[i];

	if (var->op != CEL_OP_IDENT) {
		parse_fail(ps, var->pos, "argument is not an identifier: "
		    "argument %d of %.*s() names a variable", i + 1,
		    (int)call->len, call->name);
		return NULL;
	}
	return var;
}

/*
 * ns.name(args) where ns is a plain identifier: cel.bind() becomes a
 * binding node, a namespaced function (math.abs, strings.quote,
 * optional.of) a global call of "ns.name".  Returns call unchanged
 * otherwise, NULL on error.
 */
static struct cel_node *
qualified_call(struct parser *ps, struct cel_node *call)
{
	const struct cel_node *ns = call->a;
	struct cel_node *n, *var;
	size_t len = (size_t)ns->len + 1 + call->len;
	char buf[64], *q;

	if (ns->len == 3 && memcmp(ns->name, "cel", 3) == 0 &&
	    is_macro_name(call->name, call->len, "bind") &&
	    call->nargs == 3) {
		var = macro_var(ps, call, 0);
		if (var == NULL)
			return NULL;
		n = node_new(ps, CEL_OP_BIND, call->pos);
		if (n == NULL)
			return NULL;
		n->name = var->name;
		n->len = var->len;
		n->a = call->args[1];
		n->b = call->args[2];
		return n;
	}
	if (len >= sizeof(buf))
		return call;
	memcpy(buf, ns->name, ns->len);
	buf[ns->len] = '.';
	memcpy(buf + ns->len + 1, call->name, call->len);
	buf[len] = '\0';
	if (!cel_func_exists(buf, len))
		return call;
	q = cel_pool_alloc(ps->p, len + 1);
	if (q == NULL) {
		parse_fail(ps, call->pos, "out of memory");
		return NULL;
	}
	memcpy(q, buf, len + 1);
	call->a = NULL;
	call->name = q;
	call->len = (uint32_t)len;
	return call;
}

/* Turn target.name(args) into a macro node when it is one. */
static struct cel_node *
macro_or_call(struct parser *ps, struct cel_node *call)
{
	struct cel_node *n, *var, *var2 = NULL;
	enum cel_op op;
	int nargs = call->nargs, two = 0;

	if (call->a != NULL && call->a->op == CEL_OP_IDENT) {
		call = qualified_call(ps, call);
		if (call == NULL || call->op != CEL_OP_CALL)
			return call;
	}
	if (ps->env != NULL && ps->env->disable_macros)
		return call;
	if (call->a == NULL) {
		if (is_macro_name(call->name, call->len, "has") &&
		    nargs == 1) {
			struct cel_node *sel = call->args[0];

			if (sel->op != CEL_OP_SELECT) {
				parse_fail(ps, sel->pos, "invalid argument "
				    "to has() macro: want a field selection");
				return NULL;
			}
			sel->op = CEL_OP_HAS;
			return sel;
		}
		return call;
	}
#define IS(w) is_macro_name(call->name, call->len, (w))
	if (IS("all") && (nargs == 2 || nargs == 3)) {
		op = CEL_OP_ALL;
		two = nargs == 3;
	} else if (IS("exists") && (nargs == 2 || nargs == 3)) {
		op = CEL_OP_EXISTS;
		two = nargs == 3;
	} else if ((IS("exists_one") || IS("existsOne")) &&
	    (nargs == 2 || nargs == 3)) {
		op = CEL_OP_EXISTS_ONE;
		two = nargs == 3;
	} else if (IS("map") && (nargs == 2 || nargs == 3))
		op = CEL_OP_MAPM;
	else if (IS("filter") && nargs == 2)
		op = CEL_OP_FILTER;
	else if (IS("transformList") && (nargs == 3 || nargs == 4)) {
		op = CEL_OP_TLIST;
		two = 1;
	} else if (IS("transformMap") && (nargs == 3 || nargs == 4)) {
		op = CEL_OP_TMAP;
		two = 1;
	} else if (IS("transformMapEntry") && (nargs == 3 || nargs == 4)) {
		op = CEL_OP_TMAPENTRY;
		two = 1;
	} else if (IS("optMap") && nargs == 2)
		op = CEL_OP_OPTMAP;
	else if (IS("optFlatMap") && nargs == 2)
		op = CEL_OP_OPTFLATMAP;
	else
		return call;
#undef IS
	var = macro_var(ps, call, 0);
	if (var == NULL)
		return NULL;
	if (two) {
		var2 = macro_var(ps, call, 1);
		if (var2 == NULL)
			return NULL;
		if (var2->len == var->len &&
		    memcmp(var2->name, var->name, var->len) == 0) {
			parse_fail(ps, var2->pos, "duplicate variable name "
			    "'%.*s'", (int)var->len, var->name);
			return NULL;
		}
	}
	n = node_new(ps, op, call->pos);
	if (n == NULL)
		return NULL;
	n->a = call->a;
	n->name = var->name;
	n->len = var->len;
	if (var2 != NULL) {
		n->name2 = var2->name;
		n->len2 = var2->len;
	}
	if (nargs == 3 + two) {
		n->c = call->args[1 + two];	/* filter */
		n->b = call->args[2 + two];	/* transform */
	} else
		n->b = call->args[1 + two];
	return n;
}

static struct cel_node *
parse_primary(struct parser *ps)
{
	struct cel_node *n = NULL;
	int32_t pos = ps->tok.pos;

	switch (ps->tok.t) {
	case T_INT:
		n = node_new(ps, CEL_OP_LIT, pos);
		if (n == NULL)
			return NULL;
		if (ps->tok.big) {
			parse_fail(ps, pos, "integer literal out of range");
			return NULL;
		}
		n->lit = cel_int((int64_t)ps->tok.u);
		n->kind = CEL_INT;
		break;
	case T_UINT:
		n = node_new(ps, CEL_OP_LIT, pos);
		if (n == NULL)
			return NULL;
		n->lit = cel_uint(ps->tok.u);
		n->kind = CEL_UINT;
		break;
	case T_DOUBLE:
		n = node_new(ps, CEL_OP_LIT, pos);
		if (n == NULL)
			return NULL;
		n->lit = cel_double(ps->tok.d);
		n->kind = CEL_DOUBLE;
		break;
	case T_STRING:
	case T_BYTES:
		n = node_new(ps, CEL_OP_LIT, pos);
		if (n == NULL)
			return NULL;
		if (ps->tok.t == T_STRING)
			n->lit = cel_string(ps->tok.s, ps->tok.n);
		else
			n->lit = cel_bytes(ps->tok.s, ps->tok.n);
		n->kind = n->lit.kind;
		break;
	case T_TRUE:
	case T_FALSE:
		n = node_new(ps, CEL_OP_LIT, pos);
		if (n == NULL)
			return NULL;
		n->lit = cel_bool(ps->tok.t == T_TRUE);
		n->kind = CEL_BOOL;
		break;
	case T_NULL:
		n = node_new(ps, CEL_OP_LIT, pos);
		if (n == NULL)
			return NULL;
		n->lit = cel_null();
		n->kind = CEL_NULL;
		break;
	case T_DOT:
	case T_IDENT: {
		int leading_dot = ps->tok.t == T_DOT;

		if (leading_dot) {
			if (advance(ps) == -1)
				return NULL;
			if (ps->tok.t != T_IDENT) {
				parse_fail(ps, ps->tok.pos, "syntax error: "
				    "expected identifier after '.'");
				return NULL;
			}
		}
		n = node_new(ps, CEL_OP_IDENT, pos);
		if (n == NULL)
			return NULL;
		n->name = ps->tok.s;
		n->len = (uint32_t)ps->tok.n;
		if (advance(ps) == -1)
			return NULL;
		if (ps->tok.t == T_LPAREN) {
			n->op = CEL_OP_CALL;
			if (advance(ps) == -1)
				return NULL;
			if (parse_list(ps, T_RPAREN, 0, &n->args, &n->nargs,
			    0) == -1)
				return NULL;
			return macro_or_call(ps, n);
		}
		return n;
	}
	case T_LPAREN:
		if (advance(ps) == -1)
			return NULL;
		n = parse_expr(ps);
		if (n == NULL)
			return NULL;
		if (expect(ps, T_RPAREN, "')'") == -1)
			return NULL;
		return n;
	case T_LBRACK:
		n = node_new(ps, CEL_OP_LIST, pos);
		if (n == NULL || advance(ps) == -1)
			return NULL;
		if (parse_list(ps, T_RBRACK, 1, &n->args, &n->nargs, 0) == -1)
			return NULL;
		return n;
	case T_LBRACE:
		n = node_new(ps, CEL_OP_MAP, pos);
		if (n == NULL || advance(ps) == -1)
			return NULL;
		if (parse_list(ps, T_RBRACE, 1, &n->args, &n->nargs, 1) == -1)
			return NULL;
		return n;
	case T_RESERVED:
		parse_fail(ps, pos, "syntax error: reserved identifier "
		    "'%.*s'", (int)ps->tok.n, ps->tok.s);
		return NULL;
	default:
		parse_fail(ps, pos, "syntax error: unexpected %s",
		    tok_name(ps->tok.t));
		return NULL;
	}
	if (advance(ps) == -1)
		return NULL;
	return n;
}

static struct cel_node *
parse_member(struct parser *ps)
{
	struct cel_node *n;

	n = parse_primary(ps);
	while (n != NULL && !ps->failed) {
		int32_t pos = ps->tok.pos;

		if (ps->tok.t == T_DOT) {
			struct cel_node *m;
			int quoted, opt = 0;

			if (advance(ps) == -1)
				return NULL;
			if (ps->tok.t == T_QUESTION) {
				opt = 1;
				if (advance(ps) == -1)
					return NULL;
			}
			if (ps->tok.t != T_IDENT && ps->tok.t != T_RESERVED &&
			    ps->tok.t != T_QUOTED_IDENT && ps->tok.t != T_IN &&
			    ps->tok.t != T_TRUE && ps->tok.t != T_FALSE &&
			    ps->tok.t != T_NULL) {
				parse_fail(ps, ps->tok.pos, "syntax error: "
				    "expected field name after '.', found %s",
				    tok_name(ps->tok.t));
				return NULL;
			}
			quoted = ps->tok.t == T_QUOTED_IDENT;
			m = node_new(ps, opt ? CEL_OP_OPTSELECT :
			    CEL_OP_SELECT, pos);
			if (m == NULL)
				return NULL;
			m->a = n;
			m->name = ps->tok.s;
			m->len = (uint32_t)ps->tok.n;
			if (advance(ps) == -1)
				return NULL;
			if (ps->tok.t == T_LPAREN && !quoted && !opt) {
				m->op = CEL_OP_CALL;
				if (advance(ps) == -1)
					return NULL;
				if (parse_list(ps, T_RPAREN, 0, &m->args,
				    &m->nargs, 0) == -1)
					return NULL;
				m = macro_or_call(ps, m);
				if (m == NULL)
					return NULL;
			}
			n = m;
		} else if (ps->tok.t == T_LBRACK) {
			struct cel_node *idx;
			enum cel_op op = CEL_OP_INDEX;

			if (advance(ps) == -1)
				return NULL;
			if (ps->tok.t == T_QUESTION) {
				op = CEL_OP_OPTINDEX;
				if (advance(ps) == -1)
					return NULL;
			}
			idx = parse_expr(ps);
			if (idx == NULL)
				return NULL;
			if (expect(ps, T_RBRACK, "']'") == -1)
				return NULL;
			n = binary(ps, op, pos, n, idx);
		} else
			break;
	}
	return ps->failed ? NULL : n;
}

static struct cel_node *
parse_unary(struct parser *ps)
{
	int32_t pos = ps->tok.pos;
	struct cel_node *n, *a;

	if (ps->tok.t == T_NOT || ps->tok.t == T_MINUS) {
		enum cel_op op = ps->tok.t == T_NOT ? CEL_OP_NOT : CEL_OP_NEG;

		if (++ps->depth > CEL_MAX_DEPTH) {
			parse_fail(ps, pos, "expression nests too deeply");
			return NULL;
		}
		if (advance(ps) == -1)
			return NULL;
		/* "-" directly before a number is a negative literal. */
		if (op == CEL_OP_NEG && (ps->tok.t == T_INT ||
		    ps->tok.t == T_DOUBLE)) {
			struct token t = ps->tok;
			size_t save = ps->off;

			n = node_new(ps, CEL_OP_LIT, pos);
			if (n == NULL || advance(ps) == -1)
				return NULL;
			if (ps->tok.t == T_DOT || ps->tok.t == T_LBRACK) {
				/* -1.foo(): member binds tighter; reparse. */
				ps->off = save;
				ps->tok = t;
				goto general;
			}
			if (t.t == T_INT) {
				n->lit = cel_int(t.big ? INT64_MIN :
				    -(int64_t)t.u);
				n->kind = CEL_INT;
			} else {
				n->lit = cel_double(-t.d);
				n->kind = CEL_DOUBLE;
			}
			ps->depth--;
			return n;
		}
general:
		a = parse_unary(ps);
		if (a == NULL)
			return NULL;
		n = node_new(ps, op, pos);
		if (n == NULL)
			return NULL;
		n->a = a;
		ps->depth--;
		return n;
	}
	return parse_member(ps);
}

static struct cel_node *
parse_mul(struct parser *ps)
{
	struct cel_node *n = parse_unary(ps);

	while (n != NULL && (ps->tok.t == T_STAR || ps->tok.t == T_SLASH ||
	    ps->tok.t == T_PERCENT)) {
		enum cel_op op = ps->tok.t == T_STAR ? CEL_OP_MUL :
		    ps->tok.t == T_SLASH ? CEL_OP_DIV : CEL_OP_MOD;
		int32_t pos = ps->tok.pos;

		if (advance(ps) == -1)
			return NULL;
		n = binary(ps, op, pos, n, parse_unary(ps));
	}
	return n;
}

static struct cel_node *
parse_add(struct parser *ps)
{
	struct cel_node *n = parse_mul(ps);

	while (n != NULL && (ps->tok.t == T_PLUS || ps->tok.t == T_MINUS)) {
		enum cel_op op = ps->tok.t == T_PLUS ? CEL_OP_ADD : CEL_OP_SUB;
		int32_t pos = ps->tok.pos;

		if (advance(ps) == -1)
			return NULL;
		n = binary(ps, op, pos, n, parse_mul(ps));
	}
	return n;
}

static struct cel_node *
parse_rel(struct parser *ps)
{
	struct cel_node *n = parse_add(ps);

	for (;;) {
		enum cel_op op;
		int32_t pos = ps->tok.pos;

		if (n == NULL)
			return NULL;
		switch (ps->tok.t) {
		case T_EQ: op = CEL_OP_EQ; break;
		case T_NE: op = CEL_OP_NE; break;
		case T_LT: op = CEL_OP_LT; break;
		case T_LE: op = CEL_OP_LE; break;
		case T_GT: op = CEL_OP_GT; break;
		case T_GE: op = CEL_OP_GE; break;
		case T_IN: op = CEL_OP_IN; break;
		default:
			return n;
		}
		if (advance(ps) == -1)
			return NULL;
		n = binary(ps, op, pos, n, parse_add(ps));
	}
}

static struct cel_node *
parse_and(struct parser *ps)
{
	struct cel_node *n = parse_rel(ps);

	while (n != NULL && ps->tok.t == T_AND) {
		int32_t pos = ps->tok.pos;

		if (advance(ps) == -1)
			return NULL;
		n = binary(ps, CEL_OP_AND, pos, n, parse_rel(ps));
	}
	return n;
}

static struct cel_node *
parse_or(struct parser *ps)
{
	struct cel_node *n = parse_and(ps);

	while (n != NULL && ps->tok.t == T_OR) {
		int32_t pos = ps->tok.pos;

		if (advance(ps) == -1)
			return NULL;
		n = binary(ps, CEL_OP_OR, pos, n, parse_and(ps));
	}
	return n;
}

static struct cel_node *
parse_expr(struct parser *ps)
{
	struct cel_node *n, *t, *f, *c;
	int32_t pos;

	if (++ps->depth > CEL_MAX_DEPTH) {
		parse_fail(ps, ps->tok.pos, "expression nests too deeply");
		return NULL;
	}
	n = parse_or(ps);
	if (n == NULL)
		return NULL;
	if (ps->tok.t == T_QUESTION) {
		pos = ps->tok.pos;
		if (advance(ps) == -1)
			return NULL;
		t = parse_or(ps);
		if (t == NULL || expect(ps, T_COLON, "':'") == -1)
			return NULL;
		f = parse_expr(ps);
		if (f == NULL)
			return NULL;
		c = node_new(ps, CEL_OP_COND, pos);
		if (c == NULL)
			return NULL;
		c->a = n;
		c->b = t;
		c->c = f;
		n = c;
	}
	ps->depth--;
	return n;
}

/* Depth of the tree, bounded so evaluation cannot exhaust the stack. */
static int
tree_depth(const struct cel_node *n, int limit)
{
	int d = 0, k, i;

	if (n == NULL)
		return 0;
	if (limit <= 0)
		return 1;
	k = tree_depth(n->a, limit - 1);
	if (k > d)
		d = k;
	k = tree_depth(n->b, limit - 1);
	if (k > d)
		d = k;
	k = tree_depth(n->c, limit - 1);
	if (k > d)
		d = k;
	for (i = 0; i < n->nargs && d < limit; i++) {
		k = tree_depth(n->args[i], limit - 1);
		if (k > d)
			d = k;
	}
	return d + 1;
}

int
cel_parse(struct cel_program *p, const struct cel_env *env,
    struct policy_error *err)
{
	struct parser ps;

	memset(&ps, 0, sizeof(ps));
	ps.p = p;
	ps.env = env;
	ps.err = err;
	ps.src = p->src;
	ps.len = p->srclen;
	if (advance(&ps) == -1)
		return -1;
	if (ps.tok.t == T_EOF) {
		parse_fail(&ps, 0, "syntax error: empty expression");
		return -1;
	}
	p->root = parse_expr(&ps);
	if (p->root == NULL || ps.failed)
		return -1;
	if (ps.tok.t != T_EOF) {
		parse_fail(&ps, ps.tok.pos, "syntax error: unexpected %s",
		    tok_name(ps.tok.t));
		return -1;
	}
	if (tree_depth(p->root, CEL_MAX_DEPTH + 1) > CEL_MAX_DEPTH) {
		parse_fail(&ps, 0, "expression nests too deeply (more than "
		    "%d levels)", CEL_MAX_DEPTH);
		return -1;
	}
	return 0;
}
