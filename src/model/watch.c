/* SPDX-License-Identifier: MIT */
/* The watch records (see watch.h). */
#include "pagescan/model/watch.h"

const char *ps_end_reason_name(enum ps_end_reason r)
{
	static const char *const names[] = {
		[PS_END_COUNT] = "count", [PS_END_DURATION] = "duration", [PS_END_SIGNAL] = "signal",
		[PS_END_TARGET_EXIT] = "target-exit", [PS_END_TARGET_EXEC] = "target-exec",
		[PS_END_QUIT] = "quit", [PS_END_ERROR] = "error",
	};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "error";
}
