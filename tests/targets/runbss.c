/* SPDX-License-Identifier: MIT */
/*
 * runbss: a short command for `pagescan run` tests whose first writes go to
 * memory that exists from its exec on (.bss and .data of the executable),
 * so they are only right if tracking was engaged before its first
 * instruction. Records the truth itself.
 *
 * Usage: runbss TRUTHFILE WINDOWFILE
 *   1. at once writes one non-zero byte into every 2nd page (0, 2, 4, ...)
 *      of a 64-page page-aligned zeroed array (.bss), and into pages 1 and
 *      5..7 of a 16-page page-aligned initialised array (.data);
 *   2. writes those pages to TRUTHFILE as merged sorted ranges
 *      "0xSTART 0xEND" (end exclusive, lowercase hex), and the two arrays'
 *      extents to WINDOWFILE in the form "0xSTART-0xEND", one per line;
 *   3. exits 0.
 * Exit status 120 on a usage or setup error, with a message on stderr.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Pages of the kernel's size (4, 16 or 64 KiB): the arrays are sized and
 * aligned for the largest, and the first BSS_PAGES (DATA_PAGES) pages of
 * each are used. */
#define PAGE_MAX 65536UL
#define BSS_PAGES 64
#define DATA_PAGES 16

static unsigned char bss[BSS_PAGES * PAGE_MAX] __attribute__((aligned(PAGE_MAX)));
/* Non-zero initialiser: lands in .data, file-backed until written. */
static unsigned char data[DATA_PAGES * PAGE_MAX] __attribute__((aligned(PAGE_MAX))) = { 1 };

static const int data_written[] = { 1, 5, 6, 7 };

int main(int argc, char **argv)
{
	volatile unsigned char *b = bss, *d = data;
	const size_t PAGE = (size_t)sysconf(_SC_PAGESIZE);
	FILE *f;

	for (size_t i = 0; i < BSS_PAGES; i += 2)
		b[i * PAGE + i] = (unsigned char)(1 + i);
	for (size_t k = 0; k < sizeof(data_written) / sizeof(data_written[0]); k++)
		d[(size_t)data_written[k] * PAGE + 7] = 0x5a;

	if (argc != 3) {
		fprintf(stderr, "usage: runbss TRUTHFILE WINDOWFILE\n");
		return 120;
	}
	/* Two arrays, written ranges sorted by address. */
	struct { uintptr_t s, e; } r[BSS_PAGES + DATA_PAGES];
	size_t n = 0;
	for (size_t i = 0; i < BSS_PAGES; i += 2)
		r[n++] = (typeof(r[0])){ (uintptr_t)bss + i * PAGE, (uintptr_t)bss + (i + 1) * PAGE };
	size_t nb = n;
	for (size_t k = 0; k < sizeof(data_written) / sizeof(data_written[0]); k++) {
		uintptr_t s = (uintptr_t)data + (size_t)data_written[k] * PAGE;
		if (n > nb && r[n - 1].e == s)
			r[n - 1].e = s + PAGE;
		else
			r[n++] = (typeof(r[0])){ s, s + PAGE };
	}
	if ((uintptr_t)data < (uintptr_t)bss) {
		/* .data first: rotate the data ranges to the front */
		typeof(r[0]) tmp[BSS_PAGES + DATA_PAGES];
		size_t m = 0;
		for (size_t i = nb; i < n; i++)
			tmp[m++] = r[i];
		for (size_t i = 0; i < nb; i++)
			tmp[m++] = r[i];
		for (size_t i = 0; i < n; i++)
			r[i] = tmp[i];
	}
	f = fopen(argv[1], "we");
	if (!f) {
		perror("runbss: TRUTHFILE");
		return 120;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "0x%" PRIxPTR " 0x%" PRIxPTR "\n", r[i].s, r[i].e);
	if (fclose(f)) {
		perror("runbss: TRUTHFILE");
		return 120;
	}
	f = fopen(argv[2], "we");
	if (!f) {
		perror("runbss: WINDOWFILE");
		return 120;
	}
	fprintf(f, "0x%" PRIxPTR "-0x%" PRIxPTR "\n", (uintptr_t)bss, (uintptr_t)bss + BSS_PAGES * PAGE);
	fprintf(f, "0x%" PRIxPTR "-0x%" PRIxPTR "\n", (uintptr_t)data, (uintptr_t)data + DATA_PAGES * PAGE);
	if (fclose(f)) {
		perror("runbss: WINDOWFILE");
		return 120;
	}
	return 0;
}
