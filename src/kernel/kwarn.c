/* SPDX-License-Identifier: MIT */
/* Known kernel bugs of the running kernel as notes; see kernel/kwarn.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pagescan/kernel/compat.h"
#include "pagescan/kernel/kwarn.h"
#include "pagescan/kernel/scan.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/model/kbugs.h"

/* The kernel command line's word that mentions the zero page (a
 * paravirtualised guest's pvm_no_zero_page=1), as " (kernel command line:
 * WORD)", or "". */
static void zero_page_param(char *out, size_t n)
{
	char *buf = NULL, *save = NULL;
	size_t len;
	*out = 0;
	if (ps_read_file_at(AT_FDCWD, "/proc/cmdline", 1 << 16, &buf, &len) < 0 || !buf)
		return;
	for (char *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		if (strstr(w, "zero_page")) {
			snprintf(out, n, " (kernel command line: %s)", w);
			break;
		}
	free(buf);
}

/* Does a read fault of never-touched private anonymous memory map the
 * zero page? Asked of a page of our own: 1 yes, 0 no, -1 cannot tell.
 * Some kernels allocate a zeroed page instead (mm_forbids_zeropage(); a
 * guest booted with pvm_no_zero_page=1), and that page, in a hole armed
 * without markers, reads written (docs/memory-events.md#reads-that-allocate). */
static int zero_page_on_read(void)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	volatile unsigned char *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r = -1;

	if (fd >= 0 && p != MAP_FAILED) {
		struct ps_regions zero = { 0 };
		struct ps_err err = { 0 };
		(void)p[0]; /* the read fault */
		struct ps_scan_req req = { .start = (uintptr_t)p, .end = (uintptr_t)p + page, .mask = PAGE_IS_PFNZERO,
			                   .ret = PAGE_IS_PFNZERO };
		if (ps_scan(fd, &req, &zero, NULL, &err) == 0)
			r = zero.n > 0;
		ps_regions_free(&zero);
	}
	if (p != MAP_FAILED)
		munmap((void *)p, page);
	ps_close(&fd);
	return r;
}

void ps_note_kernel_bugs(struct ps_notes *notes)
{
	struct utsname u;
	const char *release = uname(&u) == 0 ? u.release : NULL;
#ifdef PAGESCAN_TEST_HOOKS
	const char *o = getenv("PAGESCAN_TEST_KERNEL_RELEASE");
	if (o && *o)
		release = o;
#endif
	const struct ps_kbug *b[8];
	size_t n = ps_kbugs_affecting(release, b, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		ps_note(notes, "Linux %s has a known kernel bug: %s; fixed by %s", release, b[i]->effect, b[i]->fix);

	int zp = zero_page_on_read();
#ifdef PAGESCAN_TEST_HOOKS
	const char *z = getenv("PAGESCAN_TEST_NO_ZERO_PAGE");
	if (z && *z)
		zp = 0;
#endif
	if (zp == 0) {
		char param[256];
		zero_page_param(param, sizeof(param));
		ps_note(notes,
		        "this kernel maps no zero page on a read fault%s: a read of never-touched private memory "
		        "allocates a page, and pagescan reports it as written (docs/memory-events.md#reads-that-allocate)",
		        param);
	}
}
