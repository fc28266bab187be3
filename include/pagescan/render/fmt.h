/* SPDX-License-Identifier: MIT */
/* Output formatters: dump regions, engage reports and the watch sinks
 * (text, JSON Lines, CSV). They write into a struct ps_out only. */
#ifndef PAGESCAN_FMT_H
#define PAGESCAN_FMT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/model/maps.h"
#include "pagescan/render/outbuf.h"
#include "pagescan/model/region.h"
#include "pagescan/model/watch.h"
#include "pagescan/render/sink.h"

enum ps_fmt_kind { PS_OUT_TEXT, PS_OUT_JSON, PS_OUT_CSV };

/* The escaped name of the last mapping a formatter saw (regions come in
 * address order, so a run of them shares one mapping). Keyed by the VMA's
 * address and the escaping: reset it whenever the maps snapshot changes. */
struct ps_label_cache {
	struct ps_out buf;
	const struct ps_vma *vma;
	bool valid, json;
};

/* The label of vma ("[unmapped]" for NULL), escaped for JSON (json) or a
 * terminal, from the cache. */
const struct ps_out *ps_label_cache_get(struct ps_label_cache *c, const struct ps_vma *vma, bool json);
void ps_label_cache_reset(struct ps_label_cache *c);
void ps_label_cache_free(struct ps_label_cache *c);

struct ps_dump_fmt {
	struct ps_out *o;
	enum ps_fmt_kind kind;
	uint64_t regions, pages;
	struct ps_label_cache label; /* private */
};

/* One region piece (inside one mapping, or vma NULL). */
void ps_fmt_dump_region(struct ps_dump_fmt *f, const struct ps_region *piece, const struct ps_vma *vma);
void ps_fmt_dump_summary(struct ps_dump_fmt *f, bool truncated);
void ps_fmt_dump_done(struct ps_dump_fmt *f); /* frees the private cache */

/* Engage report: engaged and skipped spans. */
void ps_fmt_engage(struct ps_out *o, enum ps_fmt_kind kind, pid_t pid, const char *comm,
                   const struct ps_span *engaged, size_t nengaged,
                   const struct ps_span *skipped, size_t nskipped, uint64_t readonly_vmas);

/* Release report: the userfaultfd closed in the target, and the copies
 * closed in children forked while engaged. */
void ps_fmt_release(struct ps_out *o, enum ps_fmt_kind kind, pid_t pid, const char *comm, int fd,
                    const pid_t *copies, size_t ncopies);

/* Building blocks shared by the formatters. */
/* A mapping name for a terminal: control bytes as \\ooo, like /proc does. */
void ps_fmt_label_text(struct ps_out *o, const char *s);
void ps_fmt_spans_json(struct ps_out *o, const struct ps_span *v, size_t n, bool with_reason);
void ps_fmt_span_text(struct ps_out *o, const char *prefix, const struct ps_span *s);
/* Skipped spans; the kernel's special mappings condensed into one line,
 * or left out (specials false: every process has them, said once). True
 * when that line was written. */
bool ps_fmt_skipped_text(struct ps_out *o, const struct ps_span *v, size_t n, bool specials);

/* Watch sinks writing to o (borrowed; the caller flushes nothing: sinks
 * flush after every record so `| jq` and `tail -f` see it live). */
struct ps_sink *ps_sink_text_new(struct ps_out *o, bool quiet);
struct ps_sink *ps_sink_json_new(struct ps_out *o, bool quiet); /* quiet: no region lists */
struct ps_sink *ps_sink_csv_new(struct ps_out *o);

#endif
