/* SPDX-License-Identifier: MIT */
/* Private to the watch and report formatters: the --compare soft-dirty
 * parts of the records (docs/soft-dirty.md, docs/FORMAT.md#soft-dirty). */
#ifndef PAGESCAN_RENDER_SOFTDIRTY_FMT_H
#define PAGESCAN_RENDER_SOFTDIRTY_FMT_H

#include <stdbool.h>

#include "pagescan/model/softdirty.h"
#include "pagescan/render/outbuf.h"

/* JSON: ,"soft_dirty":{...}: an interval's counts, mappings and (regions)
 * its false-positive and race regions; the end's counts, worst mappings
 * and the cost note. */
void ps_sd_json(struct ps_out *o, const struct ps_sd_report *r, bool end, bool regions);
/* JSON: "written_pages":N,"soft_dirty_pages":N,"false_pages":N,"race_pages":N */
void ps_sd_json_counts(struct ps_out *o, const struct ps_sd_counts *c);
/* CSV: the header's extra columns, and a row's. */
void ps_sd_csv_header(struct ps_out *o);
void ps_sd_csv_row(struct ps_out *o, const struct ps_sd_report *r);
/* Text: the start's note, an interval's line (per mapping unless quiet),
 * the end's summary. */
void ps_sd_text_start(struct ps_out *o);
/* Text: "soft-dirty N pages, M not written (false positives)[, R in the
 * read-to-clear race]" (the heatmap's summary line has it too). */
void ps_sd_text_counts(struct ps_out *o, const struct ps_sd_counts *c);
void ps_sd_text_interval(struct ps_out *o, const struct ps_sd_report *r, bool quiet);
void ps_sd_text_end(struct ps_out *o, const struct ps_sd_report *r);

#endif
