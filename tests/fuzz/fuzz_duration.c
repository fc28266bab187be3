/* SPDX-License-Identifier: MIT */
/* libFuzzer: --interval/--duration and size arguments. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#define NS_PER_DAY (86400ull * 1000000000ull)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_err err = { 0 };
	uint64_t v;
	char *s;
	int r;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	v = 0xdeadbeef;
	r = ps_parse_duration(s, &v, &err);
	if (r < 0)
		CHECK(err.code == -r && err.msg[0] != '\0' && v == 0xdeadbeef);
	else
		CHECK(r == 0 && v > 0 && v <= NS_PER_DAY);

	memset(&err, 0, sizeof(err));
	v = 0xdeadbeef;
	r = ps_parse_size(s, &v, &err);
	if (r < 0)
		CHECK(err.code == -r && err.msg[0] != '\0' && v == 0xdeadbeef);
	else
		CHECK(r == 0);
	free(s);
	return 0;
}
