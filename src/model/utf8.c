/* SPDX-License-Identifier: MIT */
/* UTF-8 validation and encoding (pure). */
#include <stdbool.h>

#include "pagescan/model/utf8.h"

/* Bytes of the sequence at s[0..n) that belong to it: all of them when it is
 * valid (*valid set), else its maximal subpart. The second byte's range
 * depends on the lead byte: it is narrowed after E0 and F0 (the value would
 * have a shorter form), ED (surrogates) and F4 (past U+10FFFF); the other
 * bytes are plain continuation bytes (80..BF). n >= 1. */
static size_t scan(const unsigned char *s, size_t n, bool *valid)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	*valid = false;
	if (c < 0x80) {
		*valid = true;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4)
		return 1;               /* continuation byte, overlong C0/C1, > U+10FFFF */
	if (c < 0xe0) {
		need = 1;
	} else if (c < 0xf0) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* surrogates */
	} else {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* > U+10FFFF */
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return i;
		lo = 0x80;
		hi = 0xbf;
	}
	*valid = true;
	return need + 1;
}

/* What scan() counts at s[0..n) when the sequence's validity is `valid`,
 * else 0. */
static size_t scan_if(const unsigned char *s, size_t n, bool valid)
{
	bool v;
	size_t k;

	if (n == 0)
		return 0;
	k = scan(s, n, &v);
	return v == valid ? k : 0;
}

size_t ps_utf8_seq(const unsigned char *s, size_t n)
{
	return scan_if(s, n, true);
}

size_t ps_utf8_bad(const unsigned char *s, size_t n)
{
	return scan_if(s, n, false);
}

size_t ps_utf8_put(char *d, uint32_t c)
{
	if (c < 0x80) {
		d[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (char)(0xc0 | (c >> 6));
		d[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		d[0] = (char)(0xe0 | (c >> 12));
		d[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		d[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (c >> 18));
	d[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	d[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}
