/* SPDX-License-Identifier: MIT */
/* Private to the watch formatters and the heatmap's header: the --sample parts of the records
 * (docs/sampling.md, docs/FORMAT.md#sampling). */
#ifndef PAGESCAN_RENDER_SAMPLE_FMT_H
#define PAGESCAN_RENDER_SAMPLE_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/sample.h"
#include "pagescan/render/outbuf.h"

/* "1/16" when 1/fraction is a whole number, else "6.25%": into o, or
 * into b (n bytes). */
void ps_sample_fraction_text(struct ps_out *o, double fraction);
void ps_sample_fraction_str(char *b, size_t n, double fraction);
/* JSON: the start record's ,"estimated":true,"sample":{...}; an interval's
 * and the end record's estimate fields. */
void ps_sample_json_start(struct ps_out *o, double fraction, uint64_t seed);
void ps_sample_json_interval(struct ps_out *o, const struct ps_sample_iv *s);
void ps_sample_json_end(struct ps_out *o, const struct ps_sample_iv *s);
/* CSV: the header's extra columns, and a row's. */
void ps_sample_csv_header(struct ps_out *o);
void ps_sample_csv_row(struct ps_out *o, const struct ps_sample_iv *s);
/* Text: the start's note, an interval's "  ~ est." part, the end's lines. */
void ps_sample_text_start(struct ps_out *o, double fraction, uint64_t seed);
void ps_sample_text_interval(struct ps_out *o, const struct ps_sample_iv *s);
void ps_sample_text_end(struct ps_out *o, const struct ps_sample_iv *s);

#endif
