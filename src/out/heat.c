/* Placeholder until the heatmap grid lands. */
#include <stddef.h>

#include "pagescan/outbuf.h"
#include "pagescan/watch.h"

struct ps_sink *ps_sink_heattext_new(struct ps_out *o);
struct ps_sink *ps_sink_heattext_new(struct ps_out *o)
{
	(void)o;
	return NULL;
}
