/* SPDX-License-Identifier: MIT */
/* libFuzzer: -r RANGE arguments. Address ranges come back page aligned and
 * non-empty; selectors NUL-terminated inside their buffer. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/range.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_rangespec rs;
	struct ps_err err = { 0 };
	char *s;
	int r;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&rs, 0xa5, sizeof(rs));
	r = ps_rangespec_parse(s, &rs, &err);
	if (r < 0) {
		CHECK(err.code == -r && err.msg[0] != '\0');
	} else {
		CHECK(r == 0);
		if (rs.kind == PS_RANGE_ADDR) {
			CHECK(rs.start < rs.end);
			CHECK(rs.start % 4096 == 0 && rs.end % 4096 == 0);
		} else {
			CHECK(rs.kind == PS_RANGE_SELECTOR);
			CHECK(memchr(rs.selector, '\0', sizeof(rs.selector)) != NULL);
			CHECK(rs.selector[0] != '\0');
			/* the selector is the argument, never silently cut */
			CHECK(strcmp(rs.selector, s) == 0);
		}
	}
	free(s);
	return 0;
}
