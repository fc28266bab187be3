/* SPDX-License-Identifier: MIT */
/* libFuzzer: /proc/PID/maps parser. On success the snapshot must be sorted,
 * non-overlapping, page aligned, and every name must be the exact bytes of
 * its line, inside the snapshot's text. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/maps.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static const char *const selectors[] = {
	"[heap]", "[stack]", "[vdso]", "anon", "[anon]", "shm", "/bin/x", "libc.so.6", "x", "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_maps m = { 0 };
	struct ps_err err = { 0 };
	int r = ps_maps_parse((const char *)data, size, &m, &err);

	if (r < 0) {
		CHECK(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
		CHECK(err.code == -r);
		CHECK(strncmp(err.msg, "maps line ", 10) == 0 || strncmp(err.msg, "maps: ", 6) == 0);
		CHECK(m.v == NULL && m.text == NULL && m.n == 0);
		return 0;
	}
	CHECK(r == 0 && m.text != NULL);
	CHECK(m.n == 0 || m.v != NULL);
	for (size_t i = 0; i < m.n; i++) {
		const struct ps_vma *v = &m.v[i];
		size_t off, len;

		CHECK(v->start < v->end);
		CHECK(v->start % 4096 == 0 && v->end % 4096 == 0);
		CHECK(i == 0 || m.v[i - 1].end <= v->start);
		CHECK(v->name >= m.text && v->name <= m.text + size);
		off = (size_t)(v->name - m.text);
		len = strlen(v->name);
		CHECK(off + len <= size);
		CHECK(memcmp(data + off, v->name, len) == 0);
		CHECK(off + len == size || data[off + len] == '\n');
		CHECK(len == 0 || v->name[0] != ' ');
		CHECK((v->kind == PS_VMA_ANON) == (len == 0));
		CHECK(v->name[0] != '[' || (v->kind != PS_VMA_FILE && v->kind != PS_VMA_SHMEM));
		CHECK(v->prot <= 0xf);
		CHECK(strcmp(ps_vma_label(v), len ? v->name : "[anon]") == 0);

		CHECK(ps_maps_find(&m, v->start) == (long)i);
		CHECK(ps_maps_find(&m, v->end - 1) == (long)i);
		CHECK(ps_maps_lower_bound(&m, v->start) == i);
		if (i + 1 == m.n || m.v[i + 1].start > v->end) {
			CHECK(ps_maps_find(&m, v->end) == -1);
			CHECK(ps_maps_lower_bound(&m, v->end) == i + 1);
		}
		/* a mapping matches its own exact name ("[anon]" is the
		 * selector for unnamed memory, never a kernel name) */
		if (len == 0)
			CHECK(ps_vma_match(v, "anon"));
		else if ((v->name[0] == '[' || v->name[0] == '/') && strcmp(v->name, "[anon]") != 0)
			CHECK(ps_vma_match(v, v->name));
		for (size_t k = 0; k < sizeof(selectors) / sizeof(selectors[0]); k++)
			(void)ps_vma_match(v, selectors[k]);
	}
	if (m.n)
		CHECK(ps_maps_find(&m, m.v[0].start - 1) == -1 || m.v[0].start == 0);
	ps_maps_free(&m);
	return 0;
}
