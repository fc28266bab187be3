/* SPDX-License-Identifier: MIT */
/* Known kernel bugs of the running kernel as notes; see kernel/kwarn.h. */
#include <stdlib.h>
#include <sys/utsname.h>

#include "pagescan/kernel/kwarn.h"
#include "pagescan/model/kbugs.h"

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
}
