/* SPDX-License-Identifier: MIT */
/* The renderings of a report (render/report_fmt.c, render/svg.c): text for
 * people, one JSON document for programs, one SVG picture; all written into
 * a struct ps_out. */
#ifndef PAGESCAN_REPORT_FMT_H
#define PAGESCAN_REPORT_FMT_H

#include <stdint.h>

#include "pagescan/model/recording.h"
#include "pagescan/model/report.h"
#include "pagescan/model/warnings.h"
#include "pagescan/render/outbuf.h"

/* v rounded to the nearest integer and clamped to [0, UINT64_MAX] (NaN: 0):
 * doubles computed from a recording can be anything. */
uint64_t ps_report_u64(double v);

void ps_report_text(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r);
/* One JSON document on one line (docs/FORMAT.md, "report -f json"). */
void ps_report_json(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r,
                    const struct ps_warnings *w);
/* One self-contained SVG document. */
void ps_report_svg(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r);

#endif
