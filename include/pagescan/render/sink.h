/* SPDX-License-Identifier: MIT */
/* Where the watch records go: an output format (text, JSON Lines, CSV, the
 * heatmap's text frames, Prometheus) or the interactive heatmap. Sinks never
 * read /proc and never call the kernel. */
#ifndef PAGESCAN_SINK_H
#define PAGESCAN_SINK_H

#include "pagescan/model/watch.h"

/* A sink: output format or UI. Return 0, or -errno to stop the watch
 * (e.g. -EPIPE when the reader went away). */
struct ps_sink {
	int (*start)(struct ps_sink *s, const struct ps_watch_start *w);
	int (*interval)(struct ps_sink *s, const struct ps_interval *iv);
	int (*end)(struct ps_sink *s, const struct ps_watch_end *e);
	/* A workload's process joining, leaving or left out (NULL: ignored);
	 * between the start record and the end record. */
	int (*event)(struct ps_sink *s, const struct ps_process_event *ev);
	void (*destroy)(struct ps_sink *s);
	/* Interactive sinks only (NULL otherwise): an fd to poll for input and
	 * its handler; the handler returns PS_SINK_QUIT to end the watch. */
	int input_fd;
	int (*input)(struct ps_sink *s);
};
#define PS_SINK_QUIT 1

#endif
