/* SPDX-License-Identifier: MIT */
/* libFuzzer: category mask expressions. A parsed mask formats to text that
 * parses back to the same mask (format is canonical and complete). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_mask m, m2;
	struct ps_err err = { 0 };
	char *s, text[2048];
	size_t n;
	int r;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&m, 0xa5, sizeof(m));
	r = ps_mask_parse(s, &m, &err);
	free(s);
	if (r < 0) {
		CHECK(err.code == -r && err.msg[0] != '\0');
		return 0;
	}
	CHECK(r == 0);
	CHECK(((m.mask | m.inverted | m.anyof) & ~(uint64_t)PS_CAT_ALL) == 0);
	CHECK((ps_mask_bits(&m) & ~(uint64_t)PS_CAT_ALL) == 0);

	n = ps_mask_format(&m, text, sizeof(text));
	CHECK(n < sizeof(text) && strlen(text) == n);
	memset(&m2, 0x5a, sizeof(m2));
	r = ps_mask_parse(text, &m2, &err);
	CHECK(r == 0);
	CHECK(m2.mask == m.mask && m2.inverted == m.inverted && m2.anyof == m.anyof);
	for (uint64_t cats = 0; cats <= PS_CAT_ALL; cats += 1 + (cats & 7))
		CHECK(ps_mask_match(&m, cats) == ps_mask_match(&m2, cats));
	return 0;
}
