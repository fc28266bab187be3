/* Placeholder until the ncurses heatmap lands. */
#include <errno.h>

#include "watch_loop.h"

struct ps_sink *ps_tui_sink_new(int out_fd, struct ps_err *err)
{
	(void)out_fd;
	ps_errf(err, ENOTSUP, "the heatmap is not available in this build");
	return NULL;
}
