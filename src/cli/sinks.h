/* SPDX-License-Identifier: MIT */
/* Sinks that live in the front end (they own terminals or files). */
#ifndef PAGESCAN_CLI_SINKS_H
#define PAGESCAN_CLI_SINKS_H

#include "pagescan/model/error.h"
#include "pagescan/model/watch.h"
#include "pagescan/render/sink.h"

struct ps_sink *ps_tui_sink_new(int out_fd, struct ps_err *err);      /* tui.c */
struct ps_sink *ps_sink_prom_new(const char *path, struct ps_err *err); /* sink_prom.c */

#endif
