/* SPDX-License-Identifier: MIT */
/* Growable output buffer with direct formatters and JSON/CSV escaping.
 * Regions are formatted by the million, so numbers are converted by hand
 * instead of through printf. The one file of the render layer that makes
 * system calls: writing the buffer to the fd its caller gave it. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagescan/model/utf8.h"
#include "pagescan/model/util.h"
#include "pagescan/render/outbuf.h"

/* A runaway in-memory buffer is an error, not an OOM kill. */
#define OUT_MAX ((size_t)1 << 30)
/* With an fd, a completed line is pushed out once this much is pending. */
#define OUT_AUTOFLUSH ((size_t)64 << 10)

static const char digits2[201] =
	"00010203040506070809" "10111213141516171819"
	"20212223242526272829" "30313233343536373839"
	"40414243444546474849" "50515253545556575859"
	"60616263646566676869" "70717273747576777879"
	"80818283848586878889" "90919293949596979899";

static const char hexdig[] = "0123456789abcdef";

void ps_out_init(struct ps_out *o, int fd)
{
	o->buf = NULL;
	o->len = 0;
	o->cap = 0;
	o->fd = fd;
	o->error = 0;
	o->write = NULL;
	o->write_ctx = NULL;
}

void ps_out_free(struct ps_out *o)
{
	if (!o)
		return;
	free(o->buf);
	o->buf = NULL;
	o->len = 0;
	o->cap = 0;
}

/* Room for n more bytes; false (and a sticky ENOMEM) when impossible.
 * After an error nothing is buffered any more. */
static bool reserve(struct ps_out *o, size_t n)
{
	size_t need, cap;
	char *p;

	if (o->error)
		return false;
	if (n <= o->cap - o->len)
		return true;
	if (n > OUT_MAX - o->len) {
		o->error = ENOMEM;
		return false;
	}
	need = o->len + n;
	cap = o->cap ? o->cap : 4096;
	while (cap < need)
		cap = cap > OUT_MAX / 2 ? OUT_MAX : cap * 2;
	p = realloc(o->buf, cap);
	if (!p) {
		o->error = ENOMEM;
		return false;
	}
	o->buf = p;
	o->cap = cap;
	return true;
}

/* A line just ended: hand a large backlog to the fd (mid-line positions,
 * which ps_out_pad() relies on, are never moved). */
static void line_done(struct ps_out *o)
{
	if (o->fd >= 0 && o->len >= OUT_AUTOFLUSH)
		(void)ps_out_flush(o);
}

int ps_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* a non-blocking stdout: wait rather than drop output */
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return -errno;
				continue;
			}
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ps_out_flush(struct ps_out *o)
{
	if (!o->error && o->fd >= 0 && o->len > 0) {
		int e = o->write ? o->write(o->write_ctx, o->buf, o->len) : ps_write_all(o->fd, o->buf, o->len);

		if (e)
			o->error = -e;
		o->len = 0;
	}
	if (o->error) {
		o->len = 0;
		return -o->error;
	}
	return 0;
}

/* Append without the line-end check (pieces of escaped strings). */
static void put(struct ps_out *o, const void *p, size_t n)
{
	if (n == 0 || !reserve(o, n))
		return;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void ps_out_mem(struct ps_out *o, const void *p, size_t n)
{
	put(o, p, n);
	if (n > 0 && ((const char *)p)[n - 1] == '\n')
		line_done(o);
}

void ps_out_str(struct ps_out *o, const char *s)
{
	ps_out_mem(o, s, strlen(s));
}

void ps_out_chr(struct ps_out *o, char c)
{
	if (!reserve(o, 1))
		return;
	o->buf[o->len++] = c;
	if (c == '\n')
		line_done(o);
}

/* Decimal digits of v written backwards ending at end; returns the start. */
static char *fmt_u64(char *end, uint64_t v)
{
	char *p = end;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		*--p = digits2[d + 1];
		*--p = digits2[d];
	}
	if (v >= 10) {
		unsigned d = (unsigned)v * 2;

		*--p = digits2[d + 1];
		*--p = digits2[d];
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

void ps_out_human(struct ps_out *o, uint64_t bytes)
{
	char h[16];
	ps_out_str(o, ps_human_bytes(bytes, h, sizeof(h)));
}

void ps_out_u64(struct ps_out *o, uint64_t v)
{
	char tmp[20], *end = tmp + sizeof(tmp);
	char *p = fmt_u64(end, v);

	ps_out_mem(o, p, (size_t)(end - p));
}

void ps_out_i64(struct ps_out *o, int64_t v)
{
	char tmp[21], *end = tmp + sizeof(tmp);
	/* negate in unsigned arithmetic: INT64_MIN has no positive twin */
	char *p = fmt_u64(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);

	if (v < 0)
		*--p = '-';
	ps_out_mem(o, p, (size_t)(end - p));
}

void ps_out_hex(struct ps_out *o, uint64_t v)
{
	char tmp[18], *end = tmp + sizeof(tmp), *p = end;

	do {
		*--p = hexdig[v & 0xf];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	ps_out_mem(o, p, (size_t)(end - p));
}

void ps_out_fixed(struct ps_out *o, double v, int decimals)
{
	static const uint64_t pow10[] = {
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
		100000000, 1000000000,
	};
	char tmp[48], *end = tmp + sizeof(tmp), *p = end;
	uint64_t scaled, ip, fp;
	double a;
	bool neg;

	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	if (!isfinite(v))
		v = 0;
	neg = signbit(v);
	a = fabs(v) * (double)pow10[decimals];
	/* Beyond 2^53 doubles are not exact integers any more: rare, use printf. */
	if (a >= 9007199254740992.0) {
		ps_out_printf(o, "%.*f", decimals, v);
		return;
	}
	scaled = (uint64_t)(a + 0.5);
	ip = scaled / pow10[decimals];
	fp = scaled % pow10[decimals];
	if (decimals > 0) {
		for (int i = 0; i < decimals; i++) {
			*--p = (char)('0' + fp % 10);
			fp /= 10;
		}
		*--p = '.';
	}
	p = fmt_u64(p, ip);
	if (neg && scaled != 0) /* no "-0.00" */
		*--p = '-';
	ps_out_mem(o, p, (size_t)(end - p));
}

void ps_out_printf(struct ps_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->error)
		return;
	/* try in the current spare room first, grow once if it did not fit */
	if (!reserve(o, 64))
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->error = EINVAL;
		return;
	}
	if ((size_t)n >= o->cap - o->len) {
		if (!reserve(o, (size_t)n + 1))
			return;
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n >= o->cap - o->len) {
			o->error = EINVAL;
			return;
		}
	}
	o->len += (size_t)n;
	if (n > 0 && o->buf[o->len - 1] == '\n')
		line_done(o);
}

void ps_out_pad(struct ps_out *o, size_t from_len, size_t width)
{
	size_t have, n;

	if (o->error || o->len < from_len)
		return;
	have = o->len - from_len;
	if (have >= width)
		return;
	n = width - have;
	if (!reserve(o, n))
		return;
	memset(o->buf + o->len, ' ', n);
	o->len += n;
}

/* The UTF-8 sequence at s[0..n) (n >= 1): copied when valid, else its
 * maximal subpart becomes one U+FFFD. Returns the bytes consumed. */
static size_t put_utf8(struct ps_out *o, const unsigned char *s, size_t n)
{
	size_t k = ps_utf8_seq(s, n);

	if (k) {
		put(o, s, k);
		return k;
	}
	put(o, PS_UTF8_REPLACEMENT, PS_UTF8_REPLACEMENT_LEN);
	return ps_utf8_bad(s, n);
}

/* Bytes that go through a JSON string unchanged. */
static inline bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void ps_out_json_str(struct ps_out *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	put(o, "\"", 1);
	while (i < n && !o->error) {
		size_t j = i;
		unsigned char c;

		while (j < n && json_plain(s[j]))
			j++;
		if (j > i) {
			put(o, s + i, j - i);
			i = j;
			continue;
		}
		c = s[i];
		if (c >= 0x80) {
			i += put_utf8(o, s + i, n - i);
			continue;
		}
		switch (c) {
		case '"':  put(o, "\\\"", 2); break;
		case '\\': put(o, "\\\\", 2); break;
		case '\b': put(o, "\\b", 2); break;
		case '\f': put(o, "\\f", 2); break;
		case '\n': put(o, "\\n", 2); break;
		case '\r': put(o, "\\r", 2); break;
		case '\t': put(o, "\\t", 2); break;
		default: {
			/* other C0 controls and DEL */
			char u[6] = { '\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 0xf] };

			put(o, u, sizeof(u));
			break;
		}
		}
		i++;
	}
	put(o, "\"", 1);
}

/* Does a CSV field need quotes? Separators, quotes, line breaks, other
 * control characters, or leading/trailing spaces (some readers trim them). */
static bool csv_needs_quotes(const unsigned char *s, size_t n)
{
	if (n == 0)
		return false;
	if (s[0] == ' ' || s[n - 1] == ' ')
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

void ps_out_csv_str(struct ps_out *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	bool quote = csv_needs_quotes(s, n);
	size_t i = 0;

	if (quote)
		put(o, "\"", 1);
	while (i < n && !o->error) {
		size_t j = i;

		while (j < n && s[j] < 0x80 && s[j] != '"')
			j++;
		if (j > i) {
			put(o, s + i, j - i);
			i = j;
			continue;
		}
		if (s[i] == '"') {
			put(o, "\"\"", 2);
			i++;
		} else {
			i += put_utf8(o, s + i, n - i);
		}
	}
	if (quote)
		put(o, "\"", 1);
}
