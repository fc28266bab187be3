/* SPDX-License-Identifier: MIT */
/* Output buffer: exact bytes of the formatters, escaping, flushing. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pagescan/render/fmt.h"
#include "pagescan/render/outbuf.h"
#include "tap.h"

/* The buffer's content as a C string (tests only write NUL-free text). */
static const char *str(struct ps_out *o)
{
	ps_out_chr(o, '\0');
	o->len--;
	return o->buf;
}

static void reset(struct ps_out *o)
{
	o->len = 0;
}

/* xorshift64*: deterministic across libcs, unlike rand(). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_numbers(void)
{
	struct ps_out o;
	char want[64];
	bool all = true;

	ps_out_init(&o, -1);
	ps_out_u64(&o, 0);
	is_str(str(&o), "0", "u64 0");
	reset(&o);
	ps_out_u64(&o, UINT64_MAX);
	is_str(str(&o), "18446744073709551615", "u64 max");
	reset(&o);
	ps_out_u64(&o, 9);
	ps_out_chr(&o, ' ');
	ps_out_u64(&o, 10);
	ps_out_chr(&o, ' ');
	ps_out_u64(&o, 99);
	ps_out_chr(&o, ' ');
	ps_out_u64(&o, 100);
	ps_out_chr(&o, ' ');
	ps_out_u64(&o, 1000000007);
	is_str(str(&o), "9 10 99 100 1000000007", "u64 digit-count boundaries");

	/* every power of ten and its neighbours, then random values */
	for (uint64_t p = 1; ; p *= 10) {
		uint64_t vals[3] = { p - 1, p, p + 1 };

		for (int i = 0; i < 3; i++) {
			reset(&o);
			ps_out_u64(&o, vals[i]);
			snprintf(want, sizeof(want), "%" PRIu64, vals[i]);
			if (strcmp(str(&o), want) != 0) {
				all = false;
				printf("# u64 %s -> %s\n", want, str(&o));
			}
		}
		if (p > UINT64_MAX / 10)
			break;
	}
	for (int i = 0; i < 20000; i++) {
		uint64_t v = rnd() >> (rnd() % 64);

		reset(&o);
		ps_out_u64(&o, v);
		snprintf(want, sizeof(want), "%" PRIu64, v);
		if (strcmp(str(&o), want) != 0) {
			all = false;
			printf("# u64 %s -> %s\n", want, str(&o));
			break;
		}
	}
	ok(all, "u64 matches printf at powers of ten and 20000 random values");

	reset(&o);
	ps_out_i64(&o, INT64_MIN);
	ps_out_chr(&o, ' ');
	ps_out_i64(&o, -1);
	ps_out_chr(&o, ' ');
	ps_out_i64(&o, 0);
	ps_out_chr(&o, ' ');
	ps_out_i64(&o, INT64_MAX);
	is_str(str(&o), "-9223372036854775808 -1 0 9223372036854775807", "i64 extremes");

	reset(&o);
	ps_out_hex(&o, 0);
	ps_out_chr(&o, ' ');
	ps_out_hex(&o, 0xf);
	ps_out_chr(&o, ' ');
	ps_out_hex(&o, 0x10);
	ps_out_chr(&o, ' ');
	ps_out_hex(&o, 0x7f12a000);
	ps_out_chr(&o, ' ');
	ps_out_hex(&o, 0xffffffffff600000ull);
	ps_out_chr(&o, ' ');
	ps_out_hex(&o, UINT64_MAX);
	is_str(str(&o), "0x0 0xf 0x10 0x7f12a000 0xffffffffff600000 0xffffffffffffffff", "hex");
	all = true;
	for (int i = 0; i < 20000; i++) {
		uint64_t v = rnd() >> (rnd() % 64);

		reset(&o);
		ps_out_hex(&o, v);
		snprintf(want, sizeof(want), "0x%" PRIx64, v);
		if (strcmp(str(&o), want) != 0) {
			all = false;
			printf("# hex %s -> %s\n", want, str(&o));
			break;
		}
	}
	ok(all, "hex matches printf for 20000 random values");
	ps_out_free(&o);
}

static void fixed_is(double v, int d, const char *want)
{
	struct ps_out o;

	ps_out_init(&o, -1);
	ps_out_fixed(&o, v, d);
	is_str(str(&o), want, "fixed(%g, %d)", v, d);
	ps_out_free(&o);
}

static void test_fixed(void)
{
	struct ps_out o;
	char want[64];
	bool all = true;

	fixed_is(0, 2, "0.00");
	fixed_is(0, 0, "0");
	fixed_is(12.345, 3, "12.345");
	fixed_is(1.5, 1, "1.5");
	fixed_is(1.0, 1, "1.0");
	fixed_is(0.05, 3, "0.050");
	fixed_is(2.5, 0, "3");          /* half away from zero */
	fixed_is(-2.5, 0, "-3");
	fixed_is(0.999, 2, "1.00");     /* carry into the integer part */
	fixed_is(9.9996, 3, "10.000");
	fixed_is(-1.25, 3, "-1.250");
	fixed_is(-0.001, 2, "0.00");    /* never "-0.00" */
	fixed_is(-0.0, 1, "0.0");
	fixed_is(123456789.123, 2, "123456789.12");
	fixed_is(NAN, 2, "0.00");
	fixed_is(INFINITY, 1, "0.0");
	fixed_is(-INFINITY, 0, "0");
	fixed_is(1.5, -3, "2");         /* decimals clamped to 0..9 */
	fixed_is(0.1234567891234, 12, "0.123456789");
	fixed_is(1e20, 2, "100000000000000000000.00");
	fixed_is(-1e20, 0, "-100000000000000000000");
	fixed_is(4096.0 * 1024 * 1024 * 1024, 1, "4398046511104.0");

	/* Values with an exact short decimal form agree with printf. */
	ps_out_init(&o, -1);
	for (int i = 0; i < 10000; i++) {
		int64_t units = (int64_t)(rnd() % 2000000000) - 1000000000;
		double v = (double)units / 64.0; /* exact in binary */

		reset(&o);
		ps_out_fixed(&o, v, 6);
		snprintf(want, sizeof(want), "%.6f", v);
		if (strcmp(str(&o), want) != 0) {
			all = false;
			printf("# fixed %.17g,6 -> %s want %s\n", v, str(&o), want);
			break;
		}
	}
	ok(all, "fixed(v/64, 6) matches printf for 10000 values");
	ps_out_free(&o);
}

static void test_printf_pad(void)
{
	struct ps_out o;
	char big[10000];

	ps_out_init(&o, -1);
	ps_out_printf(&o, "%s=%d", "x", 42);
	is_str(str(&o), "x=42", "printf");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	reset(&o);
	ps_out_str(&o, "<");
	ps_out_printf(&o, "%s>", big);
	is_u64(o.len, sizeof(big) + 1, "printf longer than the buffer grows it");
	ok(o.buf[0] == '<' && o.buf[1] == 'a' && o.buf[o.len - 1] == '>' && o.buf[o.len - 2] == 'a',
	   "printf output intact after growth");

	reset(&o);
	ps_out_str(&o, "ab");
	{
		size_t mark = o.len;

		ps_out_str(&o, "cd");
		ps_out_pad(&o, mark, 5);
		ps_out_chr(&o, '|');
		mark = o.len;
		ps_out_str(&o, "toolong");
		ps_out_pad(&o, mark, 3);
		ps_out_chr(&o, '|');
		mark = o.len;
		ps_out_pad(&o, mark, 0);
		ps_out_pad(&o, mark, 2);
	}
	is_str(str(&o), "abcd   |toolong|  ", "pad to width, never cut");

	reset(&o);
	ps_out_mem(&o, "x\0y", 3);
	ok(o.len == 3 && memcmp(o.buf, "x\0y", 3) == 0, "mem keeps NUL bytes");
	ps_out_free(&o);
}

static const char *json(const char *s, size_t n)
{
	static struct ps_out o;
	static bool init;

	if (!init) {
		ps_out_init(&o, -1);
		init = true;
	}
	reset(&o);
	ps_out_json_str(&o, s, n);
	return str(&o);
}

#define JSON_IS(lit, want, ...) is_str(json(lit, sizeof(lit) - 1), want, __VA_ARGS__)

static void test_json(void)
{
	char in[2], want[16];
	bool all = true;

	JSON_IS("", "\"\"", "json empty");
	JSON_IS("/usr/lib/libc.so.6", "\"/usr/lib/libc.so.6\"", "json plain");
	JSON_IS("a\"b\\c/d", "\"a\\\"b\\\\c/d\"", "json quote and backslash");
	JSON_IS("/tmp/x\\012y", "\"/tmp/x\\\\012y\"", "json kernel octal escape kept literally");
	JSON_IS("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"", "json short escapes");
	JSON_IS("a\0b", "\"a\\u0000b\"", "json NUL");
	JSON_IS("\x7f", "\"\\u007f\"", "json DEL");

	for (int c = 0; c < 0x20; c++) {
		const char *got;

		in[0] = (char)c;
		switch (c) {
		case '\b': strcpy(want, "\"\\b\""); break;
		case '\f': strcpy(want, "\"\\f\""); break;
		case '\n': strcpy(want, "\"\\n\""); break;
		case '\r': strcpy(want, "\"\\r\""); break;
		case '\t': strcpy(want, "\"\\t\""); break;
		default: snprintf(want, sizeof(want), "\"\\u%04x\"", c); break;
		}
		got = json(in, 1);
		if (strcmp(got, want) != 0) {
			all = false;
			printf("# control 0x%02x -> %s want %s\n", c, got, want);
		}
	}
	ok(all, "json: every control character escaped exactly");
	all = true;
	for (int c = 0x20; c < 0x7f; c++) {
		in[0] = (char)c;
		if (c == '"' || c == '\\')
			continue;
		snprintf(want, sizeof(want), "\"%c\"", c);
		if (strcmp(json(in, 1), want) != 0)
			all = false;
	}
	ok(all, "json: other printable ASCII unchanged");

	/* valid UTF-8 passes through */
	JSON_IS("caf\xc3\xa9", "\"caf\xc3\xa9\"", "json 2-byte");
	JSON_IS("\xe2\x82\xac", "\"\xe2\x82\xac\"", "json 3-byte (euro)");
	JSON_IS("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", "json 4-byte (emoji)");
	JSON_IS("\xc2\x80", "\"\xc2\x80\"", "json U+0080");
	JSON_IS("\xef\xbf\xbf", "\"\xef\xbf\xbf\"", "json U+FFFF");
	JSON_IS("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", "json U+10FFFF");
	JSON_IS("\xed\x9f\xbf", "\"\xed\x9f\xbf\"", "json U+D7FF (below surrogates)");
	JSON_IS("\xee\x80\x80", "\"\xee\x80\x80\"", "json U+E000 (above surrogates)");

#define R "\xef\xbf\xbd"
	/* invalid: one U+FFFD per maximal subpart */
	JSON_IS("\x80", "\"" R "\"", "json lone continuation");
	JSON_IS("\xbf\x80", "\"" R R "\"", "json two continuations");
	JSON_IS("\xc0\x80", "\"" R R "\"", "json overlong NUL (C0 80)");
	JSON_IS("\xc1\xbf", "\"" R R "\"", "json overlong C1");
	JSON_IS("\xe0\x80\x80", "\"" R R R "\"", "json overlong 3-byte");
	JSON_IS("\xe0\x9f\xbf", "\"" R R R "\"", "json overlong 3-byte (E0 9F)");
	JSON_IS("\xf0\x8f\xbf\xbf", "\"" R R R R "\"", "json overlong 4-byte");
	JSON_IS("\xed\xa0\x80", "\"" R R R "\"", "json high surrogate D800");
	JSON_IS("\xed\xbf\xbf", "\"" R R R "\"", "json low surrogate DFFF");
	JSON_IS("\xf4\x90\x80\x80", "\"" R R R R "\"", "json U+110000");
	JSON_IS("\xf5\x80\x80\x80", "\"" R R R R "\"", "json F5 lead");
	JSON_IS("\xfe\xff", "\"" R R "\"", "json FE FF");
	JSON_IS("\xe2\x82", "\"" R "\"", "json truncated 3-byte at end");
	JSON_IS("\xe2\x82" "A", "\"" R "A\"", "json truncated 3-byte before ASCII");
	JSON_IS("\xf0\x9f\x98", "\"" R "\"", "json truncated 4-byte");
	JSON_IS("\xf0\x9f\x98\"", "\"" R "\\\"\"", "json truncated 4-byte before a quote");
	JSON_IS("\xc3" "\xc3\xa9", "\"" R "\xc3\xa9\"", "json truncated 2-byte before a valid one");
	JSON_IS("a\xff" "b\x01", "\"a" R "b\\u0001\"", "json mixed");
	JSON_IS("/usr/lib/caf\xe9 (deleted)", "\"/usr/lib/caf" R " (deleted)\"", "json Latin-1 file name");
#undef R
}

/*
 * Strict UTF-8 check written independently of the escaper: decode to code
 * points, then reject overlongs, surrogates and values past U+10FFFF. Also
 * rejects raw C0 controls and DEL, which must never appear unescaped.
 */
static bool valid_utf8_noctl(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], len, cp;
		static const unsigned minimum[5] = { 0, 0, 0x80, 0x800, 0x10000 };

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < minimum[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static int hexnib(unsigned char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode the JSON string literal in s[0..n) into out; false if malformed. */
static bool json_decode(const unsigned char *s, size_t n, unsigned char *out, size_t *outlen)
{
	size_t i = 1, k = 0;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return false;
	while (i < n - 1) {
		if (s[i] == '"')
			return false;
		if (s[i] != '\\') {
			out[k++] = s[i++];
			continue;
		}
		if (i + 1 >= n - 1)
			return false;
		switch (s[i + 1]) {
		case '"': out[k++] = '"'; break;
		case '\\': out[k++] = '\\'; break;
		case '/': out[k++] = '/'; break;
		case 'b': out[k++] = '\b'; break;
		case 'f': out[k++] = '\f'; break;
		case 'n': out[k++] = '\n'; break;
		case 'r': out[k++] = '\r'; break;
		case 't': out[k++] = '\t'; break;
		case 'u': {
			int v = 0;

			if (i + 6 > n - 1)
				return false;
			for (int j = 2; j < 6; j++) {
				int h = hexnib(s[i + j]);

				if (h < 0)
					return false;
				v = v << 4 | h;
			}
			/* the escaper only uses \u for ASCII controls */
			if (v >= 0x80)
				return false;
			out[k++] = (unsigned char)v;
			i += 6;
			continue;
		}
		default:
			return false;
		}
		i += 2;
	}
	*outlen = k;
	return true;
}

/* Append a random valid UTF-8 character (any length, controls included). */
static size_t rand_char(unsigned char *p)
{
	uint32_t cp;

	switch (rnd() % 4) {
	case 0: cp = (uint32_t)(rnd() % 0x80); break;
	case 1: cp = 0x80 + (uint32_t)(rnd() % (0x800 - 0x80)); break;
	case 2:
		do
			cp = 0x800 + (uint32_t)(rnd() % (0x10000 - 0x800));
		while (cp >= 0xd800 && cp <= 0xdfff);
		break;
	default: cp = 0x10000 + (uint32_t)(rnd() % (0x110000 - 0x10000)); break;
	}
	if (cp < 0x80) {
		p[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (unsigned char)(0xc0 | cp >> 6);
		p[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (unsigned char)(0xe0 | cp >> 12);
		p[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		p[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (unsigned char)(0xf0 | cp >> 18);
	p[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	p[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	p[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static void test_json_random(void)
{
	struct ps_out o;
	unsigned char in[200], dec[2000];
	size_t declen;
	int bad_utf8 = 0, bad_decode = 0, bad_roundtrip = 0, fffd_seen = 0;

	ps_out_init(&o, -1);
	/* Arbitrary bytes, biased to the interesting high and control ranges. */
	for (int t = 0; t < 10000; t++) {
		size_t n = rnd() % 64;

		for (size_t i = 0; i < n; i++) {
			uint64_t r = rnd();

			switch (r % 4) {
			case 0: in[i] = (unsigned char)(r >> 8); break;
			case 1: in[i] = (unsigned char)(0x80 | (r >> 8 & 0x7f)); break;
			case 2: in[i] = (unsigned char)(0xc0 | (r >> 8 & 0x3f)); break;
			default: in[i] = (unsigned char)(r >> 8 & 0x7f); break;
			}
		}
		reset(&o);
		ps_out_json_str(&o, (const char *)in, n);
		if (!valid_utf8_noctl((const unsigned char *)o.buf, o.len)) {
			if (!bad_utf8++)
				printf("# invalid output for random input #%d\n", t);
		}
		if (!json_decode((const unsigned char *)o.buf, o.len, dec, &declen))
			bad_decode++;
		else if (memmem(dec, declen, "\xef\xbf\xbd", 3))
			fffd_seen++;
	}
	is_int(bad_utf8, 0, "json: output of 10000 random byte strings is valid UTF-8, no raw controls");
	is_int(bad_decode, 0, "json: every output is a well-formed JSON string");
	ok(fffd_seen > 1000, "json: random inputs did exercise the replacement (%d)", fffd_seen);

	/* Valid UTF-8 (controls included) must round-trip exactly. */
	for (int t = 0; t < 10000; t++) {
		size_t n = 0, cnt = rnd() % 30;

		for (size_t i = 0; i < cnt; i++)
			n += rand_char(in + n);
		reset(&o);
		ps_out_json_str(&o, (const char *)in, n);
		if (!valid_utf8_noctl((const unsigned char *)o.buf, o.len))
			bad_utf8++;
		if (!json_decode((const unsigned char *)o.buf, o.len, dec, &declen) ||
		    declen != n || memcmp(dec, in, n) != 0) {
			if (!bad_roundtrip++)
				printf("# round trip failed for random valid input #%d\n", t);
		}
	}
	is_int(bad_roundtrip, 0, "json: 10000 random valid UTF-8 strings round-trip");
	is_int(bad_utf8, 0, "json: their output is valid UTF-8 too");
	ps_out_free(&o);
}

static const char *csv(const char *s, size_t n)
{
	static struct ps_out o;
	static bool init;

	if (!init) {
		ps_out_init(&o, -1);
		init = true;
	}
	reset(&o);
	ps_out_csv_str(&o, s, n);
	return str(&o);
}

#define CSV_IS(lit, want, ...) is_str(csv(lit, sizeof(lit) - 1), want, __VA_ARGS__)

static void test_csv(void)
{
	CSV_IS("", "", "csv empty");
	CSV_IS("libc.so.6", "libc.so.6", "csv plain");
	CSV_IS("[anon]", "[anon]", "csv brackets unquoted");
	CSV_IS("a,b", "\"a,b\"", "csv comma");
	CSV_IS("say \"hi\"", "\"say \"\"hi\"\"\"", "csv quotes doubled");
	CSV_IS("\"", "\"\"\"\"", "csv lone quote");
	CSV_IS("a\nb", "\"a\nb\"", "csv LF");
	CSV_IS("a\r\nb", "\"a\r\nb\"", "csv CRLF");
	CSV_IS(" lead", "\" lead\"", "csv leading space");
	CSV_IS("trail ", "\"trail \"", "csv trailing space");
	CSV_IS("in side", "in side", "csv inner space unquoted");
	CSV_IS("tab\there", "\"tab\there\"", "csv control character quoted");
	CSV_IS("del\x7f", "\"del\x7f\"", "csv DEL quoted");
	CSV_IS("\x01", "\"\x01\"", "csv C0 quoted");
	CSV_IS("/x\\012y (deleted)", "/x\\012y (deleted)", "csv backslash unquoted");
	CSV_IS("caf\xc3\xa9", "caf\xc3\xa9", "csv valid UTF-8 kept");
	CSV_IS("caf\xe9", "caf\xef\xbf\xbd", "csv invalid UTF-8 replaced");
	CSV_IS("\xed\xa0\x80,\"", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd,\"\"\"", "csv surrogate and quoting");
	CSV_IS("\xe2\x82", "\xef\xbf\xbd", "csv truncated sequence at end");
}

/* Everything readable from fd until EOF, into buf (cap bytes at most). */
static size_t drain(int fd, char *buf, size_t cap)
{
	size_t have = 0;

	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	return have;
}

/* The fd side: partial writes on a tiny non-blocking pipe, sticky EPIPE. */
static void test_flush(void)
{
	enum { N = 300000 };
	struct ps_out o;
	int p[2];
	pid_t pid;
	char *got;
	size_t have = 0;
	int st;
	bool same = true;

	if (pipe2(p, O_CLOEXEC) < 0) {
		ok(0, "pipe2: %s", strerror(errno));
		return;
	}
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		ps_out_init(&o, p[1]);
		for (int i = 0; i < N; i++)
			ps_out_chr(&o, (char)('a' + i % 26));
		_exit(ps_out_flush(&o) == 0 && o.len == 0 ? 0 : 1);
	}
	close(p[1]);
	got = malloc(N + 1);
	have = drain(p[0], got, N + 1);
	close(p[0]);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "flush through a 4 KiB non-blocking pipe returns 0");
	is_u64(have, N, "every byte arrived");
	for (size_t i = 0; i < have; i++)
		if (got[i] != (char)('a' + i % 26))
			same = false;
	ok(same, "in order");
	free(got);

	/* EPIPE: sticky, buffer dropped, later output ignored */
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	close(p[0]);
	ps_out_init(&o, p[1]);
	ps_out_str(&o, "hello\n");
	is_int(ps_out_flush(&o), -EPIPE, "flush to a closed pipe: -EPIPE");
	is_int(o.error, EPIPE, "error recorded");
	ps_out_str(&o, "more");
	ps_out_u64(&o, 5);
	ps_out_json_str(&o, "x", 1);
	is_u64(o.len, 0, "nothing buffered after an error");
	is_int(ps_out_flush(&o), -EPIPE, "error is sticky");
	close(p[1]);
	ps_out_free(&o);

	/* In-memory buffers never flush; fd buffers push complete lines past 64 KiB. */
	ps_out_init(&o, -1);
	ps_out_str(&o, "keep\n");
	is_int(ps_out_flush(&o), 0, "memory flush is a no-op");
	is_u64(o.len, 5, "and keeps the content");
	ps_out_free(&o);

	{
		int fd = memfd_create("outbuf", MFD_CLOEXEC);
		struct stat sb;
		char line[1000];

		memset(line, 'x', sizeof(line));
		ps_out_init(&o, fd);
		for (int i = 0; i < 70; i++)
			ps_out_mem(&o, line, sizeof(line));
		fstat(fd, &sb);
		is_u64((uint64_t)sb.st_size, 0, "no flush in the middle of a line");
		ps_out_chr(&o, '\n');
		fstat(fd, &sb);
		is_u64((uint64_t)sb.st_size, 70001, "a line end past 64 KiB flushes");
		is_u64(o.len, 0, "buffer empty after the automatic flush");
		ps_out_str(&o, "tail\n");
		is_int(ps_out_flush(&o), 0, "explicit flush");
		fstat(fd, &sb);
		is_u64((uint64_t)sb.st_size, 70006, "tail written");
		ps_out_free(&o);
		close(fd);
	}
}

/* ps_write_all: a non-blocking pipe that fills up (EAGAIN: wait, do not
 * drop), then the errors it returns as -errno. */
static void test_write_all(void)
{
	enum { N = 200000 };
	char *data = malloc(N), *got = malloc(N + 1);
	int p[2], st;
	pid_t pid;

	if (!data || !got || pipe2(p, O_CLOEXEC) < 0) {
		ok(0, "setup: %s", strerror(errno));
		free(data);
		free(got);
		return;
	}
	for (size_t i = 0; i < N; i++)
		data[i] = (char)rnd();
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(ps_write_all(p[1], data, N) == 0 ? 0 : 1);
	}
	close(p[1]);
	size_t have = drain(p[0], got, N + 1);
	close(p[0]);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "write_all through a 4 KiB non-blocking pipe returns 0");
	is_u64(have, N, "write_all: every byte arrived");
	ok(have == N && memcmp(got, data, N) == 0, "write_all: in order, unchanged");
	free(data);
	free(got);

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	close(p[0]);
	is_int(ps_write_all(p[1], "x", 1), -EPIPE, "write_all to a closed pipe: -EPIPE");
	close(p[1]);
	is_int(ps_write_all(-1, "x", 1), -EBADF, "write_all to a bad fd: -EBADF");
	is_int(ps_write_all(-1, "", 0), 0, "write_all of nothing: 0, no write");
}

/* Names in text output: controls and bytes that are not UTF-8 as \ooo,
 * valid UTF-8 (but the C1 controls) as it is. */
#define LABEL_IS(in, want, what)                \
	do {                                    \
		reset(&o);                      \
		ps_fmt_label_text(&o, in);      \
		is_str(str(&o), want, what);    \
	} while (0)

static void test_label_text(void)
{
	struct ps_out o;

	ps_out_init(&o, -1);
	LABEL_IS("", "", "label empty");
	LABEL_IS("/usr/lib/libc.so.6", "/usr/lib/libc.so.6", "label plain");
	LABEL_IS("a\tb\nc\x7f", "a\\011b\\012c\\177", "label C0 and DEL");
	LABEL_IS("osc\x1b]0;x\a", "osc\\033]0;x\\007", "label OSC");
	LABEL_IS("c1\xc2\x9b" "31m", "c1\\302\\23331m", "label C1 CSI (UTF-8)");
	LABEL_IS("\xc2\xa0nbsp \xc3\xa9t\xc3\xa9", "\xc2\xa0nbsp \xc3\xa9t\xc3\xa9", "label valid 2-byte UTF-8");
	LABEL_IS("\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x82\xac \xf0\x9f\x98\x80", "label valid 3- and 4-byte UTF-8");
	LABEL_IS("bad\xff\xfe\xc0", "bad\\377\\376\\300", "label invalid bytes");
	LABEL_IS("lone\x9b", "lone\\233", "label lone C1 byte");
	LABEL_IS("cut\xe2\x82", "cut\\342\\202", "label sequence cut by the end");
	LABEL_IS("over\xc0\xaf", "over\\300\\257", "label overlong");
	LABEL_IS("sur\xed\xa0\x80", "sur\\355\\240\\200", "label surrogate");
	LABEL_IS("mix\xe2\x82x", "mix\\342\\202x", "label sequence cut by ASCII");
	ps_out_free(&o);
}

int main(void)
{
	test_label_text();
	test_numbers();
	test_fixed();
	test_printf_pad();
	test_json();
	test_json_random();
	test_csv();
	test_flush();
	test_write_all();
	return tap_done();
}
