/* Recordings: a strict JSON reader, the recording reader, and the analysis
 * (working set over windows, per-mapping statistics, pre-copy simulation).
 * Formatting is in report_fmt.c and svg.c. Pure: no I/O, no printing. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/report.h"
#include "pagescan/model/util.h"

/* ---- warnings ------------------------------------------------------------------ */

void ps_warnings_add(struct ps_warnings *w, const char *fmt, ...)
{
	va_list ap;
	char *m;
	int r;

	if (!w)
		return;
	if (w->n >= PS_WARNINGS_KEEP) {
		w->suppressed++;
		return;
	}
	va_start(ap, fmt);
	r = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (r < 0) {
		w->suppressed++;
		return;
	}
	if (ps_grow((void **)&w->msg, &w->cap, w->n + 1, sizeof(*w->msg)) < 0) {
		free(m);
		w->suppressed++;
		return;
	}
	w->msg[w->n++] = m;
}

void ps_warnings_free(struct ps_warnings *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->msg[i]);
	free(w->msg);
	memset(w, 0, sizeof(*w));
}

/* ---- JSON reader ------------------------------------------------------------------ */

struct jp {
	struct ps_json *j;
	const char *s;
	size_t len, pos;
};

static int jerr(struct jp *p, const char *msg)
{
	snprintf(p->j->err, sizeof(p->j->err), "%s", msg);
	p->j->err_pos = p->pos;
	return -EINVAL;
}

static void jws(struct jp *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int jnode(struct jp *p, uint8_t type, uint32_t *ret)
{
	struct ps_json *j = p->j;

	if (j->n >= PS_JSON_MAX_NODES)
		return -E2BIG;
	if (ps_grow((void **)&j->node, &j->cap, j->n + 1, sizeof(*j->node)) < 0)
		return -ENOMEM;
	j->node[j->n] = (struct ps_json_node){ .type = type };
	*ret = (uint32_t)j->n++;
	return 0;
}

/* Room for n more decoded bytes. */
static int jstr_reserve(struct ps_json *j, size_t n)
{
	if (j->slen + n <= j->scap)
		return 0;
	if (j->slen + n > UINT32_MAX)
		return -E2BIG;
	return ps_grow((void **)&j->str, &j->scap, j->slen + n, 1) < 0 ? -ENOMEM : 0;
}

static void jput_utf8(struct ps_json *j, uint32_t c)
{
	char *d = j->str + j->slen;

	if (c < 0x80) {
		d[0] = (char)c;
		j->slen += 1;
	} else if (c < 0x800) {
		d[0] = (char)(0xc0 | (c >> 6));
		d[1] = (char)(0x80 | (c & 0x3f));
		j->slen += 2;
	} else if (c < 0x10000) {
		d[0] = (char)(0xe0 | (c >> 12));
		d[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		d[2] = (char)(0x80 | (c & 0x3f));
		j->slen += 3;
	} else {
		d[0] = (char)(0xf0 | (c >> 18));
		d[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		d[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		d[3] = (char)(0x80 | (c & 0x3f));
		j->slen += 4;
	}
}

static int hex4(const char *s, uint32_t *ret)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*ret = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0;
		if (c == 0xed && s[1] >= 0xa0)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/* A string at p->pos (the opening quote), decoded into j->str. */
static int jstring(struct jp *p, uint32_t *ret_off, uint32_t *ret_len)
{
	struct ps_json *j = p->j;
	size_t off = j->slen;
	int r;

	p->pos++;
	for (;;) {
		if (p->pos >= p->len)
			return jerr(p, "unterminated string");
		/* Plain bytes up to the next special one, copied in one go. */
		size_t q = p->pos;
		while (q < p->len) {
			unsigned char c = (unsigned char)p->s[q];
			if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
				break;
			q++;
		}
		if (q > p->pos) {
			if ((r = jstr_reserve(j, q - p->pos + 1)) < 0)
				return r;
			memcpy(j->str + j->slen, p->s + p->pos, q - p->pos);
			j->slen += q - p->pos;
			p->pos = q;
			continue;
		}
		unsigned char c = (unsigned char)p->s[p->pos];
		if ((r = jstr_reserve(j, 8)) < 0)
			return r;
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20)
			return jerr(p, "control character in string");
		if (c >= 0x80) {
			size_t l = utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
			if (l == 0) {
				jput_utf8(j, 0xfffd);
				j->replaced++;
				p->pos++;
			} else {
				memcpy(j->str + j->slen, p->s + p->pos, l);
				j->slen += l;
				p->pos += l;
			}
			continue;
		}
		/* An escape. */
		if (p->pos + 1 >= p->len)
			return jerr(p, "unterminated string");
		char e = p->s[p->pos + 1];
		uint32_t cp;
		switch (e) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (p->pos + 6 > p->len || hex4(p->s + p->pos + 2, &cp) < 0) {
				p->pos++;
				return jerr(p, "invalid \\u escape");
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t lo;
				if (p->pos + 12 <= p->len && p->s[p->pos + 6] == '\\' && p->s[p->pos + 7] == 'u' &&
				    hex4(p->s + p->pos + 8, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p->pos += 6;
				} else {
					cp = 0xfffd; /* lone high surrogate */
					j->replaced++;
				}
			} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
				/* Lone low surrogate; NUL cannot live in a C string. */
				cp = 0xfffd;
				j->replaced++;
			}
			p->pos += 6;
			jput_utf8(j, cp);
			continue;
		default:
			p->pos++;
			return jerr(p, "invalid escape in string");
		}
		p->pos += 2;
		jput_utf8(j, cp);
	}
	if ((r = jstr_reserve(j, 1)) < 0)
		return r;
	j->str[j->slen++] = '\0';
	*ret_off = (uint32_t)off;
	*ret_len = (uint32_t)(j->slen - off - 1);
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int jnumber(struct jp *p, uint32_t *ret)
{
	size_t start = p->pos;
	int r;

	if (p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || !is_digit(p->s[p->pos]))
		return jerr(p, "invalid number");
	if (p->s[p->pos] == '0') {
		p->pos++;
	} else {
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
			return jerr(p, "invalid number: digits must follow '.'");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
			return jerr(p, "invalid number: digits must follow the exponent");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	if ((r = jnode(p, PS_JSON_NUMBER, ret)) < 0)
		return r;
	p->j->node[*ret].a = (uint32_t)start;
	p->j->node[*ret].b = (uint32_t)(p->pos - start);
	return 0;
}

static int jliteral(struct jp *p, const char *word, uint8_t type, uint32_t *ret)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return jerr(p, "invalid literal");
	p->pos += n;
	return jnode(p, type, ret);
}

/* A value that is not an array or object, at p->pos. */
static int jscalar(struct jp *p, uint32_t *ret)
{
	int r;

	switch (p->s[p->pos]) {
	case '"': {
		uint32_t off, len, self;
		if ((r = jnode(p, PS_JSON_STRING, &self)) < 0)
			return r;
		if ((r = jstring(p, &off, &len)) < 0)
			return r;
		p->j->node[self].a = off;
		p->j->node[self].b = len;
		*ret = self;
		return 0;
	}
	case 't':
		return jliteral(p, "true", PS_JSON_TRUE, ret);
	case 'f':
		return jliteral(p, "false", PS_JSON_FALSE, ret);
	case 'n':
		return jliteral(p, "null", PS_JSON_NULL, ret);
	default:
		if (p->s[p->pos] == '-' || is_digit(p->s[p->pos]))
			return jnumber(p, ret);
		return jerr(p, "unexpected character");
	}
}

/* A member name and its ':', at p->pos (whitespace skipped). */
static int jkey(struct jp *p, uint32_t *koff)
{
	uint32_t klen;
	int r;

	if (p->pos >= p->len)
		return jerr(p, "unexpected end inside an object");
	if (p->s[p->pos] != '"')
		return jerr(p, "expected a member name in quotes");
	if ((r = jstring(p, koff, &klen)) < 0)
		return r;
	jws(p);
	if (p->pos >= p->len || p->s[p->pos] != ':')
		return jerr(p, "expected ':' after a member name");
	p->pos++;
	jws(p);
	return 0;
}

/* An open array or object. */
struct jlevel {
	uint32_t node, last, count;
	bool object;
};

/* One value with everything inside it; open containers live on an explicit
 * stack (depth capped) rather than in recursion. */
static int jdocument(struct jp *p)
{
	struct jlevel st[PS_JSON_MAX_DEPTH];
	struct ps_json *j = p->j;
	uint32_t key = 0, self;
	int depth = 0, r;

	for (;;) {
		/* A value starts at p->pos. */
		if (p->pos >= p->len)
			return jerr(p, "unexpected end: a value is missing");
		char c = p->s[p->pos];
		bool open = c == '{' || c == '[';
		if (open) {
			if (depth >= PS_JSON_MAX_DEPTH)
				return jerr(p, "nested too deeply");
			if ((r = jnode(p, c == '{' ? PS_JSON_OBJECT : PS_JSON_ARRAY, &self)) < 0)
				return r;
		} else if ((r = jscalar(p, &self)) < 0) {
			return r;
		}
		if (depth) {
			struct jlevel *l = &st[depth - 1];
			j->node[self].key = key;
			if (l->last)
				j->node[l->last].next = self;
			else
				j->node[l->node].a = self;
			l->last = self;
			l->count++;
		}
		if (open) {
			st[depth++] = (struct jlevel){ .node = self, .object = c == '{' };
			p->pos++;
			jws(p);
			if (p->pos < p->len && p->s[p->pos] == (c == '{' ? '}' : ']')) {
				p->pos++; /* empty */
				depth--;
			} else {
				if (c == '{' && (r = jkey(p, &key)) < 0)
					return r;
				continue;
			}
		}
		/* After a value: close containers, or on to the next element. */
		for (;;) {
			if (depth == 0)
				return 0;
			struct jlevel *l = &st[depth - 1];
			jws(p);
			if (p->pos >= p->len)
				return jerr(p, l->object ? "unexpected end inside an object" : "unexpected end inside an array");
			if (p->s[p->pos] == ',') {
				p->pos++;
				jws(p);
				if (l->object && (r = jkey(p, &key)) < 0)
					return r;
				break;
			}
			if (p->s[p->pos] == (l->object ? '}' : ']')) {
				p->pos++;
				j->node[l->node].b = l->count;
				depth--;
				continue;
			}
			return jerr(p, l->object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
}

int ps_json_parse(struct ps_json *j, const char *s, size_t len)
{
	struct jp p = { .j = j, .s = s, .len = len };
	int r;

	j->n = 0;
	j->slen = 0;
	j->src = s;
	j->replaced = 0;
	j->err[0] = '\0';
	j->err_pos = 0;
	if (len >= UINT32_MAX) {
		snprintf(j->err, sizeof(j->err), "document too large");
		return -E2BIG;
	}
	jws(&p);
	if (p.pos >= len)
		return jerr(&p, "empty document");
	r = jdocument(&p);
	if (r == -E2BIG)
		snprintf(j->err, sizeof(j->err), "too many values (more than %zu)", PS_JSON_MAX_NODES);
	if (r < 0)
		return r;
	jws(&p);
	if (p.pos != len)
		return jerr(&p, "unexpected characters after the value");
	return 0;
}

void ps_json_free(struct ps_json *j)
{
	if (!j)
		return;
	free(j->node);
	free(j->str);
	memset(j, 0, sizeof(*j));
}

uint32_t ps_json_get(const struct ps_json *j, uint32_t o, const char *key)
{
	if (o >= j->n || j->node[o].type != PS_JSON_OBJECT)
		return 0;
	for (uint32_t c = j->node[o].a; c; c = j->node[c].next) {
		const char *k = j->str + j->node[c].key;
		if (k[0] == key[0] && strcmp(k, key) == 0)
			return c;
	}
	return 0;
}

/* Digits of an integer literal: 0 and the magnitude, or -EINVAL. */
static int jint(const struct ps_json *j, uint32_t n, bool *neg, uint64_t *mag)
{
	if (n >= j->n || j->node[n].type != PS_JSON_NUMBER)
		return -EINVAL;
	const char *s = j->src + j->node[n].a;
	size_t len = j->node[n].b, i = 0;
	uint64_t v = 0;

	*neg = false;
	if (s[0] == '-') {
		*neg = true;
		i = 1;
	}
	for (; i < len; i++) {
		if (!is_digit(s[i]))
			return -EINVAL; /* fraction or exponent */
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*mag = v;
	return 0;
}

int ps_json_u64(const struct ps_json *j, uint32_t n, uint64_t *ret)
{
	bool neg;
	uint64_t v;

	if (jint(j, n, &neg, &v) < 0 || (neg && v != 0))
		return -EINVAL;
	*ret = v;
	return 0;
}

int ps_json_i64(const struct ps_json *j, uint32_t n, int64_t *ret)
{
	bool neg;
	uint64_t v;

	if (jint(j, n, &neg, &v) < 0)
		return -EINVAL;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -EINVAL;
		*ret = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -EINVAL;
		*ret = (int64_t)v;
	}
	return 0;
}

/* Decimal to double without the locale (strtod follows LC_NUMERIC).
 * Up to 19 significant digits and a power of ten up to 22 this is exact
 * (one correctly rounded operation); beyond, within an ulp or so. */
int ps_json_double(const struct ps_json *j, uint32_t n, double *ret)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	                              1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	if (n >= j->n || j->node[n].type != PS_JSON_NUMBER)
		return -EINVAL;
	const char *s = j->src + j->node[n].a;
	size_t len = j->node[n].b, i = 0;
	uint64_t m = 0;
	int digits = 0;
	long e10 = 0;
	bool neg = false;

	if (s[0] == '-') {
		neg = true;
		i++;
	}
	for (; i < len && is_digit(s[i]); i++) {
		if (digits < 19) {
			m = m * 10 + (uint64_t)(s[i] - '0');
			if (m)
				digits++;
		} else {
			e10++;
		}
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++) {
			if (digits < 19) {
				m = m * 10 + (uint64_t)(s[i] - '0');
				if (m)
					digits++;
				e10--;
			}
		}
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		bool eneg = false;
		long x = 0;
		i++;
		if (s[i] == '+' || s[i] == '-')
			eneg = s[i++] == '-';
		for (; i < len && is_digit(s[i]); i++)
			if (x < 100000)
				x = x * 10 + (s[i] - '0');
		e10 += eneg ? -x : x;
	}
	double v;
	if (m == 0)
		v = 0;
	else if (m < (1ull << 53) && e10 >= 0 && e10 <= 22)
		v = (double)m * p10[e10];
	else if (m < (1ull << 53) && e10 < 0 && e10 >= -22)
		v = (double)m / p10[-e10];
	else
		v = (double)m * pow(10.0, (double)e10);
	if (!isfinite(v))
		return -EINVAL;
	*ret = neg ? -v : v;
	return 0;
}

const char *ps_json_str(const struct ps_json *j, uint32_t n, size_t *len)
{
	if (n >= j->n || j->node[n].type != PS_JSON_STRING)
		return NULL;
	if (len)
		*len = j->node[n].b;
	return j->str + j->node[n].a;
}

/* ---- recording reader ------------------------------------------------------------- */

/* Pages in a 64-bit address space: no page count can be larger. */
#define MAX_PAGES (UINT64_MAX >> PS_PAGE_SHIFT)

struct ps_rec_reader {
	struct ps_recording *rec;
	struct ps_json j;
	size_t lineno;
	bool started, ended, stopped;
	uint64_t last_seq;
	double last_time;
	struct ps_rec_run *cum, *tmp;   /* --accumulate: the previous cumulative set */
	size_t ncum, cumcap, ntmp, tmpcap;
	char **seen;                    /* "context\0key" of unknown fields warned about */
	size_t nseen, seencap;
	size_t bad_lines, replaced;
	bool warned_after_end, warned_count, warned_shrink, warned_tracked;
};

struct ps_rec_reader *ps_rec_reader_new(void)
{
	struct ps_rec_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->rec = calloc(1, sizeof(*r->rec));
	if (!r->rec) {
		free(r);
		return NULL;
	}
	return r;
}

void ps_recording_free(struct ps_recording *rec)
{
	if (!rec)
		return;
	free(rec->pagescan);
	free(rec->command);
	for (size_t i = 0; i < rec->nspans; i++)
		free(rec->spans[i].mapping);
	free(rec->spans);
	free(rec->iv);
	free(rec->runs);
	free(rec->end_reason);
	free(rec);
}

void ps_rec_reader_free(struct ps_rec_reader *r)
{
	if (!r)
		return;
	ps_recording_free(r->rec);
	ps_json_free(&r->j);
	free(r->cum);
	free(r->tmp);
	for (size_t i = 0; i < r->nseen; i++)
		free(r->seen[i]);
	free(r->seen);
	free(r);
}

/* True the first time a (context, name) pair is seen: warn once each. */
static bool first_time(struct ps_rec_reader *r, const char *ctx, const char *key)
{
	size_t cl = strlen(ctx), kl = strlen(key);

	for (size_t i = 0; i < r->nseen; i++)
		if (strcmp(r->seen[i], ctx) == 0 && strcmp(r->seen[i] + cl + 1, key) == 0)
			return false;
	if (r->nseen >= 256)
		return false; /* enough said */
	char *e = malloc(cl + kl + 2);
	if (!e || ps_grow((void **)&r->seen, &r->seencap, r->nseen + 1, sizeof(*r->seen)) < 0) {
		free(e);
		return false;
	}
	memcpy(e, ctx, cl + 1);
	memcpy(e + cl + 1, key, kl + 1);
	r->seen[r->nseen++] = e;
	return true;
}

static void unknown_field(struct ps_rec_reader *r, const char *ctx, const char *key, struct ps_warnings *w)
{
	if (first_time(r, ctx, key))
		ps_warnings_add(w, "line %zu: unknown field \"%s\" in %s (ignored; recorded by a newer pagescan?)",
		                r->lineno, key, ctx);
}

static void check_keys(struct ps_rec_reader *r, uint32_t o, const char *const *known, const char *ctx,
                       struct ps_warnings *w)
{
	const struct ps_json *j = &r->j;

	for (uint32_t c = j->node[o].a; c; c = j->node[c].next) {
		const char *k = j->str + j->node[c].key;
		size_t i;
		for (i = 0; known[i]; i++)
			if (strcmp(known[i], k) == 0)
				break;
		if (!known[i])
			unknown_field(r, ctx, k, w);
	}
}

/* "0x..." lowercase or uppercase hex, 1..16 digits, to a number. */
static int parse_hex(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2])
		return -EINVAL;
	for (i = 2; s[i]; i++) {
		char c = s[i];
		unsigned d;
		if (i >= 18)
			return -EINVAL;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*ret = v;
	return 0;
}

/* start/end of a region or span object, in pages. msg says what is wrong. */
static int parse_range(const struct ps_json *j, uint32_t o, uint64_t *start, uint64_t *end, const char **msg)
{
	uint64_t s, e, pages;
	uint32_t pn;

	if (j->node[o].type != PS_JSON_OBJECT) {
		*msg = "not an object";
		return -EINVAL;
	}
	if (parse_hex(ps_json_str(j, ps_json_get(j, o, "start"), NULL), &s) < 0 ||
	    parse_hex(ps_json_str(j, ps_json_get(j, o, "end"), NULL), &e) < 0) {
		*msg = "start or end is not a \"0x...\" address";
		return -EINVAL;
	}
	if ((s | e) & (PS_PAGE_SIZE - 1)) {
		*msg = "start or end is not page-aligned";
		return -EINVAL;
	}
	if (e <= s) {
		*msg = "end is not above start";
		return -EINVAL;
	}
	pn = ps_json_get(j, o, "pages");
	if (pn && (ps_json_u64(j, pn, &pages) < 0 || pages != (e - s) >> PS_PAGE_SHIFT)) {
		*msg = "pages does not match start and end";
		return -EINVAL;
	}
	*start = s >> PS_PAGE_SHIFT;
	*end = e >> PS_PAGE_SHIFT;
	return 0;
}

static char *dup_str(const struct ps_json *j, uint32_t n, const char *dflt)
{
	const char *s = ps_json_str(j, n, NULL);
	return strdup(s ? s : dflt);
}

static const char *const span_keys[] = { "start", "end", "pages", "mapping", "reason", NULL };

static int add_spans(struct ps_rec_reader *r, uint32_t arr, uint64_t seq, bool dropped, const char *ctx,
                     struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;

	if (!arr)
		return 0;
	if (j->node[arr].type != PS_JSON_ARRAY) {
		ps_warnings_add(w, "line %zu: \"%s\" is not an array (ignored)", r->lineno, ctx);
		return 0;
	}
	for (uint32_t c = j->node[arr].a; c; c = j->node[c].next) {
		uint64_t s, e;
		const char *msg;
		if (parse_range(j, c, &s, &e, &msg) < 0) {
			ps_warnings_add(w, "line %zu: an entry of \"%s\": %s (ignored)", r->lineno, ctx, msg);
			continue;
		}
		check_keys(r, c, span_keys, ctx, w);
		if (rec->nspans >= PS_REC_MAX_SPANS)
			return ps_errf(err, E2BIG, "line %zu: more than %zu engaged or dropped ranges", r->lineno,
			               PS_REC_MAX_SPANS);
		if (ps_grow((void **)&rec->spans, &rec->spans_cap, rec->nspans + 1, sizeof(*rec->spans)) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		char *m = dup_str(j, ps_json_get(j, c, "mapping"), "[unnamed]");
		if (!m)
			return ps_errf(err, ENOMEM, "out of memory");
		rec->spans[rec->nspans++] = (struct ps_rec_span){ .start = s, .end = e, .mapping = m, .seq = seq,
		                                                  .dropped = dropped };
	}
	return 0;
}

static const char *const start_keys[] = { "type", "format_version", "pagescan", "pid", "command", "interval_s",
                                          "page_size", "mode", "region_lists", "tracked_pages", "engaged",
                                          "skipped", NULL };

static int rec_start(struct ps_rec_reader *r, uint32_t root, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	uint32_t n;
	int64_t v;

	n = ps_json_get(j, root, "format_version");
	if (!n || ps_json_i64(j, n, &v) < 0 || v < 1)
		return ps_errf(err, EINVAL, "line %zu: the start record has no valid format_version: "
		               "not a pagescan recording", r->lineno);
	if (v > PS_REC_FORMAT_VERSION)
		return ps_errf(err, EPROTONOSUPPORT, "the recording has format_version %lld, newer than this "
		               "pagescan reads (%d): report it with the pagescan that recorded it, or a newer one",
		               (long long)v, PS_REC_FORMAT_VERSION);
	rec->format_version = v;
	check_keys(r, root, start_keys, "the start record", w);

	n = ps_json_get(j, root, "page_size");
	uint64_t ps;
	if (n && (ps_json_u64(j, n, &ps) < 0 || ps != PS_PAGE_SIZE))
		return ps_errf(err, EINVAL, "line %zu: page_size is not %llu: not supported", r->lineno,
		               (unsigned long long)PS_PAGE_SIZE);
	n = ps_json_get(j, root, "mode");
	const char *mode = ps_json_str(j, n, NULL);
	if (!mode) {
		ps_warnings_add(w, "line %zu: the start record has no mode; assuming \"interval\"", r->lineno);
	} else if (strcmp(mode, "accumulate") == 0) {
		rec->accumulate = true;
		ps_warnings_add(w, "recorded with --accumulate: each interval shows only pages written for the "
		                "first time, so working sets over windows and the pre-copy estimate are lower bounds");
	} else if (strcmp(mode, "interval") != 0) {
		return ps_errf(err, EINVAL, "line %zu: unknown mode \"%s\" (expected interval or accumulate)",
		               r->lineno, mode);
	}
	n = ps_json_get(j, root, "region_lists");
	if (n && j->node[n].type == PS_JSON_FALSE)
		return ps_errf(err, EINVAL, "the recording was made with watch -q and has no region lists: working "
		               "sets over windows need them; record again without -q");
	rec->pagescan = dup_str(j, ps_json_get(j, root, "pagescan"), "?");
	rec->command = dup_str(j, ps_json_get(j, root, "command"), "?");
	if (!rec->pagescan || !rec->command)
		return ps_errf(err, ENOMEM, "out of memory");
	if (ps_json_i64(j, ps_json_get(j, root, "pid"), &rec->pid) < 0)
		ps_warnings_add(w, "line %zu: the start record has no valid pid", r->lineno);
	if (ps_json_double(j, ps_json_get(j, root, "interval_s"), &rec->interval_s) < 0 || rec->interval_s <= 0) {
		ps_warnings_add(w, "line %zu: the start record has no valid interval_s; using the first "
		                "interval's length", r->lineno);
		rec->interval_s = 0;
	}
	if (ps_json_u64(j, ps_json_get(j, root, "tracked_pages"), &rec->tracked_pages) < 0 ||
	    rec->tracked_pages > MAX_PAGES) {
		ps_warnings_add(w, "line %zu: the start record has no valid tracked_pages", r->lineno);
		rec->tracked_pages = 0;
	}
	n = ps_json_get(j, root, "skipped");
	if (n && j->node[n].type == PS_JSON_ARRAY)
		rec->nskipped = j->node[n].b;
	return add_spans(r, ps_json_get(j, root, "engaged"), 0, false, "engaged", w, err);
}

static int cmp_run(const void *a, const void *b)
{
	const struct ps_rec_run *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort and merge runs[0..n) in place; returns the new count. */
static size_t normalize_runs(struct ps_rec_run *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), cmp_run);
	for (size_t i = 0; i < n; i++) {
		if (k && v[i].start <= v[k - 1].end) {
			if (v[i].end > v[k - 1].end)
				v[k - 1].end = v[i].end;
		} else {
			v[k++] = v[i];
		}
	}
	return k;
}

/* --accumulate: turn the cumulative set in rec->runs[from..] into the pages
 * new since the previous one; keep the cumulative set for the next. */
static int accumulate_diff(struct ps_rec_reader *r, size_t from, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	size_t n = rec->nruns - from, i = 0;
	struct ps_rec_run *cur = n ? rec->runs + from : NULL;
	uint64_t lost = 0;

	if (ps_grow((void **)&r->tmp, &r->tmpcap, n ? n : 1, sizeof(*r->tmp)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	if (n)
		memcpy(r->tmp, cur, n * sizeof(*cur));
	r->ntmp = n;
	/* out = cur \ cum (both sorted and merged), built apart: a run of cur
	 * can split into many pieces. */
	struct ps_rec_run *out = NULL;
	size_t nout = 0, outcap = 0;
	for (size_t a = 0; a < n; a++) {
		uint64_t s = r->tmp[a].start, e = r->tmp[a].end;
		while (i < r->ncum && r->cum[i].end <= s)
			i++;
		size_t q = i;
		while (s < e) {
			if (q >= r->ncum || r->cum[q].start >= e) {
				if (ps_grow((void **)&out, &outcap, nout + 1, sizeof(*out)) < 0)
					goto oom;
				out[nout++] = (struct ps_rec_run){ s, e };
				break;
			}
			if (r->cum[q].start > s) {
				if (ps_grow((void **)&out, &outcap, nout + 1, sizeof(*out)) < 0)
					goto oom;
				out[nout++] = (struct ps_rec_run){ s, r->cum[q].start };
			}
			s = r->cum[q].end > s ? r->cum[q].end : s;
			if (r->cum[q].end <= e)
				q++;
			else
				break;
		}
	}
	/* Pages of the previous cumulative set missing now (unmapped, or not a
	 * cumulative recording after all). */
	for (size_t a = 0, b = 0; a < r->ncum; a++) {
		uint64_t s = r->cum[a].start, e = r->cum[a].end;
		while (b < n && r->tmp[b].end <= s)
			b++;
		for (size_t q = b; q < n && r->tmp[q].start < e && s < e; q++) {
			if (r->tmp[q].start > s)
				lost += r->tmp[q].start - s;
			s = r->tmp[q].end > s ? r->tmp[q].end : s;
		}
		if (s < e)
			lost += e - s;
	}
	if (lost && !r->warned_shrink) {
		r->warned_shrink = true;
		ps_warnings_add(w, "line %zu: the cumulative set lost %llu pages (unmapped?)", r->lineno,
		                (unsigned long long)lost);
	}
	rec->nruns = from;
	if (nout && ps_grow((void **)&rec->runs, &rec->runs_cap, from + nout, sizeof(*rec->runs)) < 0)
		goto oom;
	if (nout)
		memcpy(rec->runs + from, out, nout * sizeof(*out));
	rec->nruns = from + nout;
	free(out);
	/* The new cumulative set. */
	struct ps_rec_run *t = r->cum;
	size_t tc = r->cumcap;
	r->cum = r->tmp;
	r->cumcap = r->tmpcap;
	r->ncum = n;
	r->tmp = t;
	r->tmpcap = tc;
	return 0;
oom:
	free(out);
	return ps_errf(err, ENOMEM, "out of memory");
}

static const char *const interval_keys[] = { "type", "seq", "time_s", "elapsed_s", "written_pages",
                                             "written_bytes", "rate_pages_s", "rate_mib_s", "harvest_us",
                                             "tracked_pages", "wss_pages", "regions", "mappings", "engaged",
                                             "dropped", NULL };
static const char *const region_keys[] = { "start", "end", "pages", "mapping", NULL };

static int rec_interval(struct ps_rec_reader *r, uint32_t root, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	struct ps_rec_interval iv = { 0 };
	uint32_t regs;
	int ret;

	if (ps_json_u64(j, ps_json_get(j, root, "seq"), &iv.seq) < 0 || iv.seq == 0 ||
	    ps_json_double(j, ps_json_get(j, root, "time_s"), &iv.time_s) < 0 ||
	    ps_json_double(j, ps_json_get(j, root, "elapsed_s"), &iv.elapsed_s) < 0 || iv.elapsed_s < 0 ||
	    iv.time_s < 0) {
		ps_warnings_add(w, "line %zu: interval record without a valid seq, time_s or elapsed_s (ignored)",
		                r->lineno);
		return 0;
	}
	regs = ps_json_get(j, root, "regions");
	if (!regs || j->node[regs].type != PS_JSON_ARRAY) {
		ps_warnings_add(w, "line %zu: interval %llu has no \"regions\" array (ignored)", r->lineno,
		                (unsigned long long)iv.seq);
		return 0;
	}
	if (iv.seq <= r->last_seq) {
		ps_warnings_add(w, "line %zu: interval %llu does not follow interval %llu (ignored)", r->lineno,
		                (unsigned long long)iv.seq, (unsigned long long)r->last_seq);
		return 0;
	}
	if (iv.time_s + 1e-6 < r->last_time) {
		ps_warnings_add(w, "line %zu: interval %llu ends at %.6fs, before the previous one (ignored)",
		                r->lineno, (unsigned long long)iv.seq, iv.time_s);
		return 0;
	}
	if (rec->niv >= PS_REC_MAX_INTERVALS)
		return ps_errf(err, E2BIG, "line %zu: more than %zu intervals", r->lineno, PS_REC_MAX_INTERVALS);
	check_keys(r, root, interval_keys, "interval records", w);

	/* The page set. */
	size_t from = rec->nruns, nregs = j->node[regs].b;
	bool sorted = true;
	if (nregs > PS_REC_MAX_RUNS - rec->nruns)
		return ps_errf(err, E2BIG, "line %zu: more than %zu regions in the recording", r->lineno,
		               PS_REC_MAX_RUNS);
	if (ps_grow((void **)&rec->runs, &rec->runs_cap, rec->nruns + nregs, sizeof(*rec->runs)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	size_t k = 0;
	for (uint32_t c = j->node[regs].a; c; c = j->node[c].next, k++) {
		uint64_t s, e;
		const char *msg;
		if (parse_range(j, c, &s, &e, &msg) < 0) {
			ps_warnings_add(w, "line %zu: interval %llu, region %zu: %s (interval ignored)", r->lineno,
			                (unsigned long long)iv.seq, k + 1, msg);
			rec->nruns = from;
			return 0;
		}
		if (k < 4) /* the same keys every time: look at a few */
			check_keys(r, c, region_keys, "regions", w);
		if (rec->nruns > from && s < rec->runs[rec->nruns - 1].end)
			sorted = false;
		if (rec->nruns > from && s == rec->runs[rec->nruns - 1].end) {
			rec->runs[rec->nruns - 1].end = e; /* adjacent mappings: one run */
			continue;
		}
		rec->runs[rec->nruns++] = (struct ps_rec_run){ s, e };
	}
	if (!sorted) {
		ps_warnings_add(w, "line %zu: interval %llu: regions out of order or overlapping (sorted and merged)",
		                r->lineno, (unsigned long long)iv.seq);
		rec->nruns = from + normalize_runs(rec->runs + from, rec->nruns - from);
	}
	uint64_t setpages = 0;
	for (size_t i = from; i < rec->nruns; i++)
		setpages += rec->runs[i].end - rec->runs[i].start;
	uint64_t wp;
	if (ps_json_u64(j, ps_json_get(j, root, "written_pages"), &wp) == 0 && wp != setpages && !r->warned_count) {
		r->warned_count = true;
		ps_warnings_add(w, "line %zu: interval %llu says written_pages %llu but its regions hold %llu pages "
		                "(the regions are used)", r->lineno, (unsigned long long)iv.seq,
		                (unsigned long long)wp, (unsigned long long)setpages);
	}
	if (rec->accumulate && (ret = accumulate_diff(r, from, w, err)) < 0)
		return ret;
	iv.run0 = from;
	iv.nruns = rec->nruns - from;
	iv.pages = 0;
	for (size_t i = from; i < rec->nruns; i++)
		iv.pages += rec->runs[i].end - rec->runs[i].start;
	ps_json_u64(j, ps_json_get(j, root, "harvest_us"), &iv.harvest_us);
	if ((ps_json_u64(j, ps_json_get(j, root, "tracked_pages"), &iv.tracked_pages) < 0 ||
	     iv.tracked_pages > MAX_PAGES) && !r->warned_tracked) {
		iv.tracked_pages = 0;
		r->warned_tracked = true;
		ps_warnings_add(w, "line %zu: interval %llu has no valid tracked_pages", r->lineno,
		                (unsigned long long)iv.seq);
	}
	if (r->last_seq && iv.seq != r->last_seq + 1)
		ps_warnings_add(w, "line %zu: intervals %llu to %llu are missing from the recording", r->lineno,
		                (unsigned long long)r->last_seq + 1, (unsigned long long)iv.seq - 1);

	if ((ret = add_spans(r, ps_json_get(j, root, "engaged"), iv.seq, false, "engaged", w, err)) < 0 ||
	    (ret = add_spans(r, ps_json_get(j, root, "dropped"), iv.seq, true, "dropped", w, err)) < 0)
		return ret;
	if (ps_grow((void **)&rec->iv, &rec->iv_cap, rec->niv + 1, sizeof(*rec->iv)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	rec->iv[rec->niv++] = iv;
	r->last_seq = iv.seq;
	r->last_time = iv.time_s;
	return 0;
}

static const char *const end_keys[] = { "type", "reason", "detail", "intervals", "duration_s", "wss_pages",
                                        "wss_bytes", "rate_pages_s", "hottest", "exit_status", NULL };

static int rec_end(struct ps_rec_reader *r, uint32_t root, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	uint64_t n;

	check_keys(r, root, end_keys, "the end record", w);
	rec->has_end = true;
	rec->end_reason = dup_str(j, ps_json_get(j, root, "reason"), "?");
	if (!rec->end_reason)
		return ps_errf(err, ENOMEM, "out of memory");
	if (ps_json_double(j, ps_json_get(j, root, "duration_s"), &rec->end_duration_s) < 0)
		rec->end_duration_s = -1;
	rec->end_has_wss = ps_json_u64(j, ps_json_get(j, root, "wss_pages"), &rec->end_wss_pages) == 0;
	if (ps_json_u64(j, ps_json_get(j, root, "intervals"), &n) == 0 && n != r->last_seq)
		ps_warnings_add(w, "line %zu: the end record counts %llu intervals, the last one read is %llu",
		                r->lineno, (unsigned long long)n, (unsigned long long)r->last_seq);
	return 0;
}

int ps_rec_reader_line(struct ps_rec_reader *r, const char *line, size_t len, bool complete,
                       struct ps_warnings *w, struct ps_err *err)
{
	struct ps_json *j = &r->j;
	int ret;

	r->lineno++;
	if (r->stopped)
		return 0;
	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0) {
		if (complete)
			ps_warnings_add(w, "line %zu is empty (ignored)", r->lineno);
		return 0;
	}
	if (len > PS_REC_MAX_LINE)
		return ps_errf(err, E2BIG, "line %zu is longer than %zu MiB", r->lineno, PS_REC_MAX_LINE >> 20);
	ret = ps_json_parse(j, line, len);
	if (ret == -ENOMEM)
		return ps_errf(err, ENOMEM, "out of memory");
	if (ret == -EINVAL && !r->started && !complete && j->err_pos >= len)
		return ps_errf(err, EINVAL, "the recording ends inside its first line (cut off?)");
	if (ret < 0 && !r->started)
		return ps_errf(err, EINVAL, "not a pagescan recording: line %zu is not JSON (%s at byte %zu)",
		               r->lineno, j->err, j->err_pos + 1);
	if (ret == -E2BIG)
		return ps_errf(err, E2BIG, "line %zu: %s", r->lineno, j->err);
	if (ret < 0) {
		r->bad_lines++;
		if (!complete)
			ps_warnings_add(w, "line %zu is cut off (the recording ends in the middle of a record; "
			                "was the watch killed?): ignored", r->lineno);
		else
			ps_warnings_add(w, "line %zu is not valid JSON (%s at byte %zu): ignored", r->lineno, j->err,
			                j->err_pos + 1);
		return 0;
	}
	if (j->replaced) {
		r->replaced += j->replaced;
		ps_warnings_add(w, "line %zu: invalid UTF-8 or escapes replaced by U+FFFD", r->lineno);
	}
	const char *type = ps_json_str(j, ps_json_get(j, 0, "type"), NULL);
	if (!r->started) {
		if (!type || strcmp(type, "start") != 0)
			return ps_errf(err, EINVAL, "not a pagescan recording: the first record is not a start record "
			               "(record it with pagescan watch -f json -o FILE)");
		r->started = true;
		return rec_start(r, 0, w, err);
	}
	if (!type) {
		ps_warnings_add(w, "line %zu: a record without a \"type\" (ignored)", r->lineno);
		return 0;
	}
	if (strcmp(type, "start") == 0) {
		ps_warnings_add(w, "line %zu: a second start record (recordings concatenated?): the rest of the "
		                "input is ignored", r->lineno);
		r->stopped = true;
		return 0;
	}
	if (r->ended) {
		if (!r->warned_after_end)
			ps_warnings_add(w, "line %zu: records after the end record (ignored)", r->lineno);
		r->warned_after_end = true;
		return 0;
	}
	if (strcmp(type, "interval") == 0)
		return rec_interval(r, 0, w, err);
	if (strcmp(type, "end") == 0) {
		r->ended = true;
		return rec_end(r, 0, w, err);
	}
	if (first_time(r, "record types", type))
		ps_warnings_add(w, "line %zu: unknown record type \"%s\" (ignored; recorded by a newer pagescan?)",
		                r->lineno, type);
	return 0;
}

int ps_rec_reader_finish(struct ps_rec_reader *r, struct ps_recording **ret, struct ps_warnings *w,
                         struct ps_err *err)
{
	struct ps_recording *rec = r->rec;

	if (!r->started)
		return ps_errf(err, EINVAL, "the recording is empty");
	if (rec->niv == 0)
		return ps_errf(err, ENODATA, "the recording has no interval records: nothing to report");
	if (!rec->has_end)
		ps_warnings_add(w, "the recording has no end record: it was cut off (or the watch is still running); "
		                "reporting the %zu intervals it has", rec->niv);
	if (rec->interval_s <= 0)
		rec->interval_s = rec->iv[0].elapsed_s > 0 ? rec->iv[0].elapsed_s : 1;
	*ret = rec;
	r->rec = NULL;
	return 0;
}

int ps_recording_parse(const char *buf, size_t len, struct ps_recording **ret, struct ps_warnings *w,
                       struct ps_err *err)
{
	struct ps_rec_reader *r = ps_rec_reader_new();
	size_t pos = 0;
	int rc = 0;

	if (!r)
		return ps_errf(err, ENOMEM, "out of memory");
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		rc = ps_rec_reader_line(r, buf + pos, end - pos, nl != NULL, w, err);
		if (rc < 0)
			goto out;
		pos = nl ? end + 1 : len;
	}
	rc = ps_rec_reader_finish(r, ret, w, err);
out:
	ps_rec_reader_free(r);
	return rc;
}

/* ---- analysis ---------------------------------------------------------------------
 *
 * Coordinate compression: every run boundary of every interval (and every
 * mapping boundary) cuts the address space into elements; an element is
 * written in an interval either entirely or not at all. Walking the
 * intervals in order and painting their runs over the elements gives, for
 * each piece of an interval's set, the interval in which those pages were
 * last written before ("prev"). Aggregated per interval as pairs
 * (prev, pages), this answers exactly:
 *
 *   distinct pages in intervals i..j = sum over t in i..j of the pages of
 *   pairs of t whose prev lies before i (or never written before).
 *
 * Cost: sorting the boundaries, plus one step per element covered by a run
 * (a run covers one element unless other intervals cut it), plus pairs. */

struct ps_report_pair {
	uint32_t prev;     /* 0: never written before; k: last written in interval k-1 */
	uint64_t pages;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* LSD radix sort by 16-bit digits; digits equal for all values are skipped. */
static int sort_u64(uint64_t *v, size_t n)
{
	if (n < 4096) {
		qsort(v, n, sizeof(*v), cmp_u64);
		return 0;
	}
	uint64_t *tmp = malloc(n * sizeof(*v)), *src = v, *dst = tmp;
	size_t *cnt = malloc(65536 * sizeof(*cnt));
	if (!tmp || !cnt) {
		free(tmp);
		free(cnt);
		return -ENOMEM;
	}
	for (unsigned shift = 0; shift < 64; shift += 16) {
		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (size_t i = 0; i < n; i++)
			cnt[(src[i] >> shift) & 0xffff]++;
		if (cnt[(src[0] >> shift) & 0xffff] == n)
			continue;
		size_t sum = 0;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = cnt[d];
			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i] >> shift) & 0xffff]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	free(cnt);
	return 0;
}

/* First index in e[lo..n) with e[idx] >= x, galloping from lo. */
static size_t gallop(const uint64_t *e, size_t n, size_t lo, uint64_t x)
{
	size_t step = 1, hi;

	if (lo >= n || e[lo] >= x)
		return lo;
	/* e[lo] < x: find hi with e[hi] >= x (or n). */
	hi = lo + 1;
	while (hi < n && e[hi] < x) {
		lo = hi;
		step *= 2;
		hi = lo + step;
	}
	if (hi > n)
		hi = n;
	/* e[lo] < x <= e[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (e[mid] < x)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

struct row {
	uint64_t start, end;
	const char *label;
};

static int cmp_row_label(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->label, y->label);
	if (c)
		return c;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_map_addr(const void *a, const void *b)
{
	const struct ps_report_mapping *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->mapping, y->mapping);
}

/* Mappings: engaged ranges merged per name when they touch or overlap. */
static int build_mappings(const struct ps_recording *rec, struct ps_report *rep)
{
	struct row *rows = NULL;
	size_t n = 0;

	for (size_t i = 0; i < rec->nspans; i++)
		n += !rec->spans[i].dropped;
	if (n) {
		rows = malloc(n * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
	}
	n = 0;
	for (size_t i = 0; i < rec->nspans; i++)
		if (!rec->spans[i].dropped)
			rows[n++] = (struct row){ rec->spans[i].start, rec->spans[i].end, rec->spans[i].mapping };
	if (n)
		qsort(rows, n, sizeof(*rows), cmp_row_label);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && strcmp(rows[k - 1].label, rows[i].label) == 0 && rows[i].start <= rows[k - 1].end) {
			if (rows[i].end > rows[k - 1].end)
				rows[k - 1].end = rows[i].end;
		} else {
			rows[k++] = rows[i];
		}
	}
	rep->map = calloc(k ? k : 1, sizeof(*rep->map));
	if (!rep->map) {
		free(rows);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++)
		rep->map[i] = (struct ps_report_mapping){ .start = rows[i].start, .end = rows[i].end,
		                                          .mapping = rows[i].label,
		                                          .tracked_pages = rows[i].end - rows[i].start };
	rep->nmap = k;
	free(rows);
	if (rep->nmap)
		qsort(rep->map, rep->nmap, sizeof(*rep->map), cmp_map_addr);
	/* Unmapped during the watch: a dropped range with the same name inside.
	 * Mappings are sorted by start; none is longer than maxlen. */
	uint64_t maxlen = 0;
	for (size_t m = 0; m < rep->nmap; m++)
		if (rep->map[m].end - rep->map[m].start > maxlen)
			maxlen = rep->map[m].end - rep->map[m].start;
	for (size_t i = 0; i < rec->nspans; i++) {
		const struct ps_rec_span *s = &rec->spans[i];
		size_t lo = 0, hi = rep->nmap;
		if (!s->dropped)
			continue;
		while (lo < hi) { /* first mapping starting at or after s->end */
			size_t mid = lo + (hi - lo) / 2;
			if (rep->map[mid].start < s->end)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t m = lo; m-- > 0 && rep->map[m].start + maxlen > s->start;)
			if (s->start < rep->map[m].end && strcmp(rep->map[m].mapping, s->mapping) == 0)
				rep->map[m].dropped = true;
	}
	return 0;
}

/* Index of the mapping holding [s, e), or SIZE_MAX; *hint walks forward. */
static size_t find_mapping(const struct ps_report *rep, size_t *hint, uint64_t s, uint64_t e)
{
	size_t k = *hint;

	while (k + 1 < rep->nmap && rep->map[k + 1].start <= s)
		k++;
	*hint = k;
	/* Mappings of different names may overlap (an address reused): look back a little. */
	for (size_t b = 0; b < 32 && b <= k && k < rep->nmap; b++) {
		const struct ps_report_mapping *m = &rep->map[k - b];
		if (m->start <= s && e <= m->end)
			return k - b;
	}
	return SIZE_MAX;
}

static int paint(const struct ps_recording *rec, struct ps_report *rep, struct ps_warnings *w)
{
	size_t nb = 2 * rec->nruns + 2 * rep->nmap, ne;
	uint64_t *e = NULL, *acc = NULL;
	struct elem { uint32_t last, cnt; } *el = NULL; /* together: one cache miss per element */
	uint32_t *touched = NULL;
	size_t ntouched = 0, paircap = 0;
	int r = -ENOMEM;

	rep->pair_at = calloc(rec->niv + 1, sizeof(*rep->pair_at));
	e = malloc((nb ? nb : 1) * sizeof(*e));
	acc = calloc(rec->niv + 1, sizeof(*acc));
	touched = malloc((rec->niv + 1) * sizeof(*touched));
	if (!rep->pair_at || !e || !acc || !touched)
		goto out;
	nb = 0;
	for (size_t i = 0; i < rec->nruns; i++) {
		e[nb++] = rec->runs[i].start;
		e[nb++] = rec->runs[i].end;
	}
	for (size_t i = 0; i < rep->nmap; i++) {
		e[nb++] = rep->map[i].start;
		e[nb++] = rep->map[i].end;
	}
	if (sort_u64(e, nb) < 0)
		goto out;
	ne = 0;
	for (size_t i = 0; i < nb; i++)
		if (!ne || e[i] != e[ne - 1])
			e[ne++] = e[i];
	/* Elements are [e[k], e[k+1]) for k < ne - 1. */
	el = calloc(ne ? ne : 1, sizeof(*el));
	if (!el)
		goto out;

	for (size_t t = 0; t < rec->niv; t++) {
		const struct ps_rec_interval *iv = &rec->iv[t];
		size_t hint = 0;
		rep->pair_at[t] = rep->npair;
		for (size_t q = iv->run0; q < iv->run0 + iv->nruns; q++) {
			size_t a = gallop(e, ne, hint, rec->runs[q].start);
			/* most runs cover one element */
			size_t b = a + 1 < ne && e[a + 1] == rec->runs[q].end ? a + 1 : gallop(e, ne, a, rec->runs[q].end);
			for (size_t k = a; k < b; k++) {
				uint32_t p = el[k].last;
				if (!acc[p])
					touched[ntouched++] = p;
				acc[p] += e[k + 1] - e[k];
				el[k].last = (uint32_t)(t + 1);
				if (el[k].cnt != UINT32_MAX)
					el[k].cnt++;
			}
			hint = b;
		}
		if (ps_grow((void **)&rep->pair, &paircap, rep->npair + ntouched, sizeof(*rep->pair)) < 0)
			goto out;
		for (size_t i = 0; i < ntouched; i++) {
			rep->pair[rep->npair++] = (struct ps_report_pair){ touched[i], acc[touched[i]] };
			acc[touched[i]] = 0;
		}
		ntouched = 0;
	}
	rep->pair_at[rec->niv] = rep->npair;

	/* Totals and per-mapping figures from the elements. */
	size_t hint = 0;
	uint64_t outside = 0;
	for (size_t k = 0; k + 1 < ne; k++) {
		uint32_t c = el[k].cnt;
		if (!c)
			continue;
		uint64_t len = e[k + 1] - e[k];
		rep->unique_pages += len;
		rep->page_writes += (uint64_t)c * len;
		if (c == 1)
			rep->once_pages += len;
		size_t m = find_mapping(rep, &hint, e[k], e[k + 1]);
		if (m == SIZE_MAX) {
			outside += len;
			continue;
		}
		rep->map[m].written_pages += len;
		rep->map[m].page_writes += (uint64_t)c * len;
		if (c == 1)
			rep->map[m].once_pages += len;
	}
	if (outside)
		ps_warnings_add(w, "%llu written pages lie outside every engaged range of the recording "
		                "(counted in the totals, not per mapping)", (unsigned long long)outside);
	r = 0;
out:
	free(e);
	free(acc);
	free(touched);
	free(el);
	return r;
}

uint64_t ps_report_distinct(const struct ps_report *r, size_t first, size_t last)
{
	uint64_t sum = 0;

	if (first > last || last >= r->intervals)
		return 0;
	for (size_t p = r->pair_at[first]; p < r->pair_at[last + 1]; p++)
		if (r->pair[p].prev <= first) /* never, or last written before interval `first` */
			sum += r->pair[p].pages;
	return sum;
}

/* Window lengths: 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, ... and the whole recording. */
static uint64_t next_window(uint64_t w)
{
	static const uint64_t steps[] = { 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 18000, 36000,
	                                  86400 };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] > w)
			return steps[i];
	return w * 2;
}

static int windows(const struct ps_recording *rec, struct ps_report *rep)
{
	size_t n = rec->niv, cap = 0;
	/* Unsigned: sums wrap harmlessly, every true prefix sum is a page count. */
	uint64_t *d = calloc(n + 1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	for (uint64_t len = 1;; len = next_window(len)) {
		if (len > n)
			len = n;
		/* A first write in interval t of pages last written in prev counts in
		 * the windows that contain t but not prev: starts in
		 * [max(prev_idx + 1, t - len + 1), min(t, n - len)]. */
		memset(d, 0, (n + 1) * sizeof(*d));
		for (size_t t = 0; t < n; t++) {
			for (size_t p = rep->pair_at[t]; p < rep->pair_at[t + 1]; p++) {
				uint64_t lo = rep->pair[p].prev; /* = prev index + 1, or 0 */
				if (t + 1 >= len && t + 1 - len > lo)
					lo = t + 1 - len;
				uint64_t hi = t < n - len ? t : n - len;
				if (lo > hi)
					continue;
				d[lo] += rep->pair[p].pages;
				d[hi + 1] -= rep->pair[p].pages;
			}
		}
		struct ps_report_window win = { .len = len, .seconds = (double)len * rec->interval_s };
		uint64_t cur = 0;
		double sum = 0;
		for (size_t i = 0; i + len <= n; i++) {
			cur += d[i];
			sum += (double)cur;
			if (cur > win.max_pages || i == 0) {
				win.max_pages = cur;
				win.max_seq = rec->iv[i].seq;
			}
		}
		win.mean_pages = sum / (double)(n - len + 1);
		if (ps_grow((void **)&rep->win, &cap, rep->nwin + 1, sizeof(*rep->win)) < 0) {
			free(d);
			return -ENOMEM;
		}
		rep->win[rep->nwin++] = win;
		if (len == n)
			break;
	}
	free(d);
	return 0;
}

/* Times in a recording have microsecond resolution: boundaries closer than
 * half of that touch, they do not overlap. */
#define TIME_EPS 5e-7

bool ps_report_dirtied(const struct ps_report *r, double start_s, double len_s, uint64_t *ret_pages)
{
	size_t n = r->intervals, lo, hi, first;
	double end = start_s + len_s, eps = TIME_EPS;

	*ret_pages = 0;
	if (end > r->iv_end[n - 1] + eps)
		return false;
	if (len_s <= 0)
		return true;
	if (eps > len_s / 4)
		eps = len_s / 4;
	/* first interval ending after start_s */
	lo = 0;
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->iv_end[mid] > start_s + eps)
			hi = mid;
		else
			lo = mid + 1;
	}
	first = lo;
	/* one past the last interval beginning before end */
	lo = 0;
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->iv_start[mid] < end - eps)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || first >= lo)
		return true;
	*ret_pages = ps_report_distinct(r, first, lo - 1);
	return true;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Iterative pre-copy on the recorded page sets. */
static int simulate(const struct ps_recording *rec, const struct ps_report *r, double bw, double downtime,
                    uint64_t max_rounds, struct ps_precopy *pc, bool keep)
{
	double t = r->iv_start[0], budget = bw * downtime;
	uint64_t pages = rec->tracked_pages;
	size_t cap = 0;

	pc->outcome = PS_PRECOPY_MAX_ROUNDS;
	pc->total_bytes = 0;
	pc->nrounds = 0;
	pc->short_rounds = false;
	for (uint64_t k = 0;; k++) {
		double dur = (double)pages * (double)PS_PAGE_SIZE / bw;
		uint64_t next;
		if (keep) {
			if (ps_grow((void **)&pc->rounds, &cap, pc->nrounds + 1, sizeof(*pc->rounds)) < 0)
				return -ENOMEM;
			pc->rounds[pc->nrounds] = (struct ps_precopy_round){ t, dur, pages };
		}
		pc->nrounds++;
		pc->total_bytes = sat_add(pc->total_bytes, pages * PS_PAGE_SIZE);
		if (dur > 0 && dur < rec->interval_s)
			pc->short_rounds = true;
		if (!ps_report_dirtied(r, t, dur, &next)) {
			pc->outcome = PS_PRECOPY_OUT_OF_DATA;
			pc->data_end_s = r->iv_end[r->intervals - 1];
			pc->needed_until_s = t + dur;
			pc->pending_pages = 0;
			pc->downtime_est_s = 0;
			return 0;
		}
		t += dur;
		pc->pending_pages = next;
		pc->downtime_est_s = (double)next * (double)PS_PAGE_SIZE / bw;
		if ((double)next * (double)PS_PAGE_SIZE <= budget) {
			pc->outcome = PS_PRECOPY_CONVERGED;
			pc->total_bytes = sat_add(pc->total_bytes, next * PS_PAGE_SIZE);
			return 0;
		}
		if (k + 1 >= max_rounds) {
			pc->total_bytes = sat_add(pc->total_bytes, next * PS_PAGE_SIZE);
			return 0;
		}
		pages = next;
	}
}

static int precopy(const struct ps_recording *rec, struct ps_report *r, const struct ps_report_opts *o)
{
	struct ps_precopy *pc = &r->precopy;
	int ret;

	pc->done = true;
	pc->bandwidth = o->bandwidth;
	pc->downtime_s = (double)o->downtime_ns / 1e9;
	pc->max_rounds = o->max_rounds ? o->max_rounds : PS_PRECOPY_DEFAULT_ROUNDS;
	ret = simulate(rec, r, (double)o->bandwidth, pc->downtime_s, pc->max_rounds, pc, true);
	if (ret < 0 || pc->outcome == PS_PRECOPY_CONVERGED)
		return ret;

	/* The smallest bandwidth at which it converges within the recording:
	 * double until it does, then bisect on a log scale. */
	struct ps_precopy t = { 0 };
	double lo = (double)o->bandwidth, hi = lo;
	bool found = false;
	while (hi < 1e15) {
		hi *= 2;
		if ((ret = simulate(rec, r, hi, pc->downtime_s, pc->max_rounds, &t, false)) < 0)
			return ret;
		if (t.outcome == PS_PRECOPY_CONVERGED) {
			found = true;
			break;
		}
		lo = hi;
	}
	if (!found)
		return 0;
	for (int i = 0; i < 40 && hi / lo > 1.001; i++) {
		double mid = sqrt(lo * hi);
		if ((ret = simulate(rec, r, mid, pc->downtime_s, pc->max_rounds, &t, false)) < 0)
			return ret;
		if (t.outcome == PS_PRECOPY_CONVERGED)
			hi = mid;
		else
			lo = mid;
	}
	pc->needed_bandwidth = hi;
	return 0;
}

int ps_report_analyse(const struct ps_recording *rec, const struct ps_report_opts *o, struct ps_report **ret,
                      struct ps_warnings *w, struct ps_err *err)
{
	struct ps_report *r = calloc(1, sizeof(*r));
	struct ps_samples rates = { 0 };
	size_t n = rec->niv;

	if (!r)
		return ps_errf(err, ENOMEM, "out of memory");
	if (n == 0 || n > UINT32_MAX - 1) {
		free(r);
		return ps_errf(err, EINVAL, "no intervals to analyse");
	}
	r->intervals = n;
	r->first_seq = rec->iv[0].seq;
	r->last_seq = rec->iv[n - 1].seq;
	r->duration_s = rec->has_end && rec->end_duration_s >= 0 ? rec->end_duration_s : rec->iv[n - 1].time_s;
	r->tracked_pages = r->tracked_pages_max = rec->tracked_pages;
	r->iv_start = malloc(n * sizeof(*r->iv_start));
	r->iv_end = malloc(n * sizeof(*r->iv_end));
	if (!r->iv_start || !r->iv_end)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const struct ps_rec_interval *iv = &rec->iv[i];
		r->iv_end[i] = iv->time_s;
		r->iv_start[i] = iv->time_s - iv->elapsed_s;
		if (r->iv_start[i] < 0)
			r->iv_start[i] = 0;
		/* Rounding in the recording (microseconds) must not make neighbours overlap. */
		if (i && r->iv_start[i] < r->iv_end[i - 1])
			r->iv_start[i] = r->iv_end[i - 1];
		if (iv->tracked_pages > r->tracked_pages_max)
			r->tracked_pages_max = iv->tracked_pages;
		if (iv->elapsed_s > 0 && ps_samples_add(&rates, (double)iv->pages / iv->elapsed_s) < 0)
			goto oom;
	}
	ps_summarize(&rates, &r->rate);
	ps_samples_free(&rates);

	if (build_mappings(rec, r) < 0 || paint(rec, r, w) < 0 || windows(rec, r) < 0)
		goto oom;
	if (rec->end_has_wss && !rec->accumulate && rec->end_wss_pages != r->unique_pages)
		ps_warnings_add(w, "the end record says %llu distinct pages were written, the intervals hold %llu "
		                "(intervals missing from the recording?)", (unsigned long long)rec->end_wss_pages,
		                (unsigned long long)r->unique_pages);
	if (o && o->bandwidth && precopy(rec, r, o) < 0)
		goto oom;
	*ret = r;
	return 0;
oom:
	ps_samples_free(&rates);
	ps_report_free(r);
	return ps_errf(err, ENOMEM, "out of memory");
}

uint64_t ps_report_u64(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= 0x1p64)
		return UINT64_MAX;
	return (uint64_t)(v + 0.5); /* below 2^64 - 2048 + 0.5: rounds within range */
}

void ps_report_free(struct ps_report *r)
{
	if (!r)
		return;
	free(r->win);
	free(r->map);
	free(r->precopy.rounds);
	free(r->pair);
	free(r->pair_at);
	free(r->iv_start);
	free(r->iv_end);
	free(r);
}
