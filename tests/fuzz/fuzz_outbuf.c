/* SPDX-License-Identifier: MIT */
/* libFuzzer: JSON and CSV string escaping, number formatting. JSON output
 * must be valid UTF-8 without raw controls and decode back to the input with
 * invalid sequences replaced; the CSV field must decode to the same text. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/render/outbuf.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* Strict UTF-8 by code point (independent of the escaper's byte tables). */
static bool valid_utf8(const unsigned char *s, size_t n, bool allow_ctl)
{
	static const uint32_t minimum[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], len;
		uint32_t cp;

		if (c < 0x80) {
			if (!allow_ctl && (c < 0x20 || c == 0x7f))
				return false;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			len = 2, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			len = 3, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3fu);
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

/* JSON string literal -> bytes (the escaper's \u escapes are ASCII only). */
static size_t json_decode(const unsigned char *s, size_t n, unsigned char *out)
{
	size_t i = 1, k = 0;

	CHECK(n >= 2 && s[0] == '"' && s[n - 1] == '"');
	while (i < n - 1) {
		CHECK(s[i] != '"');
		if (s[i] != '\\') {
			out[k++] = s[i++];
			continue;
		}
		CHECK(i + 1 < n - 1);
		switch (s[i + 1]) {
		case '"': out[k++] = '"'; break;
		case '\\': out[k++] = '\\'; break;
		case 'b': out[k++] = '\b'; break;
		case 'f': out[k++] = '\f'; break;
		case 'n': out[k++] = '\n'; break;
		case 'r': out[k++] = '\r'; break;
		case 't': out[k++] = '\t'; break;
		case 'u': {
			int v = 0;

			CHECK(i + 6 <= n - 1);
			for (int j = 2; j < 6; j++) {
				int h = hexnib(s[i + j]);

				CHECK(h >= 0);
				v = v << 4 | h;
			}
			CHECK(v < 0x20 || v == 0x7f);
			out[k++] = (unsigned char)v;
			i += 6;
			continue;
		}
		default:
			abort();
		}
		i += 2;
	}
	return k;
}

/* RFC 4180 field -> bytes. */
static size_t csv_decode(const unsigned char *s, size_t n, unsigned char *out)
{
	size_t k = 0;

	if (n == 0 || s[0] != '"') {
		for (size_t i = 0; i < n; i++) {
			CHECK(s[i] != '"' && s[i] != ',' && s[i] >= 0x20 && s[i] != 0x7f);
			out[k++] = s[i];
		}
		CHECK(n == 0 || (s[0] != ' ' && s[n - 1] != ' '));
		return k;
	}
	CHECK(n >= 2 && s[n - 1] == '"');
	for (size_t i = 1; i < n - 1; i++) {
		if (s[i] == '"') {
			CHECK(i + 1 < n - 1 && s[i + 1] == '"');
			i++;
		}
		out[k++] = s[i];
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_out j, c;
	unsigned char *dj, *dc;
	size_t nj, nc;
	char want[32];

	if (size > 65536)
		return 0;
	ps_out_init(&j, -1);
	ps_out_init(&c, -1);
	ps_out_json_str(&j, (const char *)data, size);
	ps_out_csv_str(&c, (const char *)data, size);
	CHECK(j.error == 0 && c.error == 0);
	CHECK(valid_utf8((const unsigned char *)j.buf, j.len, false));
	CHECK(valid_utf8((const unsigned char *)c.buf, c.len, true));

	/* worst case 3 bytes of U+FFFD per input byte */
	dj = malloc(3 * size + 1);
	dc = malloc(3 * size + 1);
	nj = json_decode((const unsigned char *)j.buf, j.len, dj);
	nc = csv_decode((const unsigned char *)c.buf, c.len, dc);
	CHECK(valid_utf8(dj, nj, true));
	CHECK(nj == nc && memcmp(dj, dc, nj) == 0);
	if (valid_utf8(data, size, true))
		CHECK(nj == size && memcmp(dj, data, size) == 0);
	else
		CHECK(memmem(dj, nj, "\xef\xbf\xbd", 3) != NULL);
	free(dj);
	free(dc);

	/* numbers from the first 8 bytes */
	if (size >= 8) {
		uint64_t v;

		memcpy(&v, data, sizeof(v));
		j.len = 0;
		ps_out_u64(&j, v);
		snprintf(want, sizeof(want), "%" PRIu64, v);
		CHECK(j.len == strlen(want) && memcmp(j.buf, want, j.len) == 0);
		j.len = 0;
		ps_out_hex(&j, v);
		snprintf(want, sizeof(want), "0x%" PRIx64, v);
		CHECK(j.len == strlen(want) && memcmp(j.buf, want, j.len) == 0);
		j.len = 0;
		ps_out_i64(&j, (int64_t)v);
		snprintf(want, sizeof(want), "%" PRId64, (int64_t)v);
		CHECK(j.len == strlen(want) && memcmp(j.buf, want, j.len) == 0);
	}
	ps_out_free(&j);
	ps_out_free(&c);
	return 0;
}
