/* SPDX-License-Identifier: MIT */
/* UTF-8: the validator against a decoder written from the definition (all
 * sequences of up to 3 bytes, a large share of the 4-byte ones), maximal
 * subparts, and the encoder over every code point. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pagescan/model/utf8.h"
#include "tap.h"

/* From the definition: the lead byte's high bits give the length, every
 * other byte is 10xxxxxx, and the value must need that length, not be a
 * surrogate, not pass U+10FFFF. Length of the valid sequence, or 0. */
static size_t ref_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len;
	uint32_t v;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		len = 1, v = s[0];
	else if ((s[0] & 0xe0) == 0xc0)
		len = 2, v = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, v = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, v = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min[len] || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
		return 0;
	*cp = v;
	return len;
}

static void test_cases(void)
{
	static const struct {
		const char *s;
		size_t n, seq, bad;
		const char *what;
	} c[] = {
		{ "A", 1, 1, 0, "ASCII" },
		{ "\x7f", 1, 1, 0, "DEL is ASCII" },
		{ "\xc2\x80", 2, 2, 0, "U+0080, the smallest 2-byte" },
		{ "\xc3\xa9", 2, 2, 0, "U+00E9" },
		{ "\xdf\xbf", 2, 2, 0, "U+07FF, the largest 2-byte" },
		{ "\xe0\xa0\x80", 3, 3, 0, "U+0800, the smallest 3-byte" },
		{ "\xe2\x82\xac", 3, 3, 0, "U+20AC" },
		{ "\xed\x9f\xbf", 3, 3, 0, "U+D7FF, just below the surrogates" },
		{ "\xee\x80\x80", 3, 3, 0, "U+E000, just above the surrogates" },
		{ "\xef\xbf\xbf", 3, 3, 0, "U+FFFF" },
		{ "\xf0\x90\x80\x80", 4, 4, 0, "U+10000, the smallest 4-byte" },
		{ "\xf0\x9f\x98\x80", 4, 4, 0, "U+1F600" },
		{ "\xf4\x8f\xbf\xbf", 4, 4, 0, "U+10FFFF, the largest" },
		{ "\xc3\xa9z", 3, 2, 0, "only the sequence is counted" },
		/* overlong forms */
		{ "\xc0\x80", 2, 0, 1, "overlong NUL (C0 80)" },
		{ "\xc1\xbf", 2, 0, 1, "overlong U+007F (C1 BF)" },
		{ "\xe0\x80\x80", 3, 0, 1, "overlong 3-byte (E0 80 80)" },
		{ "\xe0\x9f\xbf", 3, 0, 1, "overlong U+07FF (E0 9F BF)" },
		{ "\xf0\x80\x80\x80", 4, 0, 1, "overlong 4-byte (F0 80 80 80)" },
		{ "\xf0\x8f\xbf\xbf", 4, 0, 1, "overlong U+FFFF (F0 8F BF BF)" },
		/* surrogates */
		{ "\xed\xa0\x80", 3, 0, 1, "U+D800 (a high surrogate)" },
		{ "\xed\xbf\xbf", 3, 0, 1, "U+DFFF (a low surrogate)" },
		/* past U+10FFFF */
		{ "\xf4\x90\x80\x80", 4, 0, 1, "U+110000" },
		{ "\xf5\x80\x80\x80", 4, 0, 1, "lead byte F5" },
		{ "\xf7\xbf\xbf\xbf", 4, 0, 1, "lead byte F7 (U+1FFFFF)" },
		{ "\xf8\x88\x80\x80\x80", 5, 0, 1, "5-byte form" },
		{ "\xff", 1, 0, 1, "FF" },
		/* cut short */
		{ "\xc3", 1, 0, 1, "2-byte cut after 1" },
		{ "\xe2\x82", 2, 0, 2, "3-byte cut after 2" },
		{ "\xf0\x9f\x98", 3, 0, 3, "4-byte cut after 3" },
		{ "\xe2\x82\xac", 2, 0, 2, "n ends a valid sequence early" },
		{ "\xe2\x82" "A", 3, 0, 2, "3-byte interrupted by ASCII" },
		{ "\xf0\x9f" "\xc3\xa9", 4, 0, 2, "4-byte interrupted by a lead byte" },
		{ "\x80", 1, 0, 1, "a lone continuation byte" },
		{ "\xbf\xbf", 2, 0, 1, "continuation bytes one at a time" },
		{ "", 0, 0, 0, "nothing (n = 0)" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const unsigned char *s = (const unsigned char *)c[i].s;
		is_u64(ps_utf8_seq(s, c[i].n), c[i].seq, "seq: %s", c[i].what);
		is_u64(ps_utf8_bad(s, c[i].n), c[i].bad, "bad: %s", c[i].what);
	}
}

/* Every string of 1, 2 and 3 bytes, and 4-byte ones with every lead byte
 * F0..F7, every second and third byte and some fourth bytes. */
static void test_exhaustive(void)
{
	static const unsigned char last[] = { 0x00, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xff };
	unsigned char s[4];
	size_t bad = 0, checked = 0;
	uint32_t cp;

	for (uint32_t v = 0; v < 1u << 24; v++) {
		s[0] = (unsigned char)(v >> 16);
		s[1] = (unsigned char)(v >> 8);
		s[2] = (unsigned char)v;
		for (size_t n = 1; n <= 3; n++) {
			if (n < 3 && (v & ((1u << (8 * (3 - n))) - 1)) != 0)
				continue; /* each shorter string once */
			size_t got = ps_utf8_seq(s, n), want = ref_seq(s, n, &cp);
			size_t sub = ps_utf8_bad(s, n);
			checked++;
			if (got != want || (got == 0) != (sub != 0) || sub > n) {
				if (bad++ < 5)
					printf("# %02x %02x %02x (n=%zu): seq %zu want %zu, bad %zu\n", s[0], s[1], s[2], n,
					       got, want, sub);
			}
		}
	}
	for (uint32_t v = 0; v < 8u << 16; v++) {
		s[0] = (unsigned char)(0xf0 + (v >> 16));
		s[1] = (unsigned char)(v >> 8);
		s[2] = (unsigned char)v;
		for (size_t k = 0; k < sizeof(last); k++) {
			s[3] = last[k];
			size_t got = ps_utf8_seq(s, 4), want = ref_seq(s, 4, &cp);
			checked++;
			if (got != want || (got == 0) != (ps_utf8_bad(s, 4) != 0)) {
				if (bad++ < 5)
					printf("# %02x %02x %02x %02x: seq %zu want %zu\n", s[0], s[1], s[2], s[3], got, want);
			}
		}
	}
	is_u64(bad, 0, "the validator agrees with the definition on %zu strings", checked);
}

/* Every scalar value encodes to a sequence the validator takes whole and
 * the definition decodes back to the same value; lengths 1 to 4 at the
 * boundaries. */
static void test_encoder(void)
{
	static const struct {
		uint32_t cp;
		const char *want;
	} e[] = {
		{ 0x41, "A" }, { 0x7f, "\x7f" }, { 0x80, "\xc2\x80" }, { 0x7ff, "\xdf\xbf" },
		{ 0x800, "\xe0\xa0\x80" }, { 0xfffd, "\xef\xbf\xbd" }, { 0xffff, "\xef\xbf\xbf" },
		{ 0x10000, "\xf0\x90\x80\x80" }, { 0x1f600, "\xf0\x9f\x98\x80" }, { 0x10ffff, "\xf4\x8f\xbf\xbf" },
	};
	char d[5];
	size_t bad = 0;

	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		size_t n = ps_utf8_put(d, e[i].cp);
		d[n] = '\0';
		is_str(d, e[i].want, "put U+%04X", (unsigned)e[i].cp);
	}
	for (uint32_t c = 0; c <= 0x10ffff; c++) {
		uint32_t back = UINT32_MAX;
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		size_t n = ps_utf8_put(d, c);
		if (ps_utf8_seq((const unsigned char *)d, n) != n || ref_seq((const unsigned char *)d, n, &back) != n ||
		    back != c) {
			if (bad++ < 5)
				printf("# U+%04X: %zu bytes, not read back\n", (unsigned)c, n);
		}
	}
	is_u64(bad, 0, "every scalar value encodes and reads back");
	is_str(PS_UTF8_REPLACEMENT, "\xef\xbf\xbd", "the replacement character is U+FFFD");
	is_u64(strlen(PS_UTF8_REPLACEMENT), PS_UTF8_REPLACEMENT_LEN, "... of PS_UTF8_REPLACEMENT_LEN bytes");
}

int main(void)
{
	test_cases();
	test_exhaustive();
	test_encoder();
	return tap_done();
}
