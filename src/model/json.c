/* SPDX-License-Identifier: MIT */
/* The strict JSON reader: one document in memory to a tree of nodes held
 * in arrays (no recursion: open containers live on an explicit stack). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/json.h"
#include "pagescan/model/utf8.h"
#include "pagescan/model/util.h"

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

/* Code point c encoded at the end of j->str (room reserved by the caller). */
static void jput_utf8(struct ps_json *j, uint32_t c)
{
	j->slen += ps_utf8_put(j->str + j->slen, c);
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
			size_t l = ps_utf8_seq((const unsigned char *)p->s + p->pos, p->len - p->pos);
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

static int jnumber(struct jp *p, uint32_t *ret)
{
	size_t start = p->pos;
	int r;

	if (p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || !ps_is_digit(p->s[p->pos]))
		return jerr(p, "invalid number");
	if (p->s[p->pos] == '0') {
		p->pos++;
	} else {
		while (p->pos < p->len && ps_is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || !ps_is_digit(p->s[p->pos]))
			return jerr(p, "invalid number: digits must follow '.'");
		while (p->pos < p->len && ps_is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || !ps_is_digit(p->s[p->pos]))
			return jerr(p, "invalid number: digits must follow the exponent");
		while (p->pos < p->len && ps_is_digit(p->s[p->pos]))
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
		if (p->s[p->pos] == '-' || ps_is_digit(p->s[p->pos]))
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
		if (!ps_is_digit(s[i]))
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
	for (; i < len && ps_is_digit(s[i]); i++) {
		if (digits < 19) {
			m = m * 10 + (uint64_t)(s[i] - '0');
			if (m)
				digits++;
		} else {
			e10++;
		}
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && ps_is_digit(s[i]); i++) {
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
		for (; i < len && ps_is_digit(s[i]); i++)
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
