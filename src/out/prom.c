/* Placeholder until the Prometheus sink lands. */
#include <errno.h>
#include <stddef.h>

#include "pagescan/error.h"
#include "pagescan/watch.h"

struct ps_sink *ps_sink_prom_new(const char *path, struct ps_err *err);
struct ps_sink *ps_sink_prom_new(const char *path, struct ps_err *err)
{
	(void)path;
	ps_errf(err, ENOTSUP, "--prom-file is not available in this build");
	return NULL;
}
