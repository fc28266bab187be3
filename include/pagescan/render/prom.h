/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition format (render/prom.c), in the style of
 * node_exporter's textfile collector: the metrics of a running watch,
 * written into a struct ps_out. */
#ifndef PAGESCAN_PROM_H
#define PAGESCAN_PROM_H

#include <stdbool.h>
#include <stdint.h>

#include "pagescan/model/softdirty.h"
#include "pagescan/render/outbuf.h"

#define PS_PROM_SD_MAPPINGS 5

struct ps_prom_state {
	int64_t pid;
	const char *command;
	bool running;
	uint64_t intervals;
	double interval_s;         /* length of the last interval */
	uint64_t written_pages;    /* last interval */
	double rate_pages_s;       /* last interval */
	uint64_t written_pages_total;
	uint64_t wss_pages;
	uint64_t tracked_pages;
	uint64_t harvest_us;       /* last interval */
	uint64_t harvest_us_total;
	/* What the last harvest classified (model/watch.h) */
	uint64_t discarded_pages, zero_read_pages, ksm_merged_pages, thp_filled_pages, remapped_pages;
	/* The observer effect (model/overhead.h): the last interval's estimate,
	 * the sum, and the interval the budget asked for. */
	double overhead_share;     /* of the last interval */
	double overhead_s_total;   /* estimated fault time since the start */
	double asked_interval_s;   /* -i, or longer when stretched */
	bool stretched;
	bool over_budget;          /* over the budget at the longest stretch */
	uint64_t over_budget_total; /* such intervals since the start */
	/* --compare soft-dirty (docs/soft-dirty.md): the last interval's
	 * comparison and the sums since the start. */
	bool soft_dirty;
	struct ps_sd_counts sd, sd_total;
	/* and per mapping: the last interval's (at most PS_PROM_SD_MAPPINGS)
	 * mappings with soft-dirty pages, worst first (ps_sd_worst); names
	 * owned by the caller */
	struct ps_prom_sd_mapping {
		const char *mapping;
		uint64_t start;
		struct ps_sd_counts c;
	} sd_map[PS_PROM_SD_MAPPINGS];
	size_t nsd_map;
	/* --sample (docs/sampling.md): written_pages, rate_pages_s and
	 * wss_pages are estimates; the last interval's 95 % interval. */
	bool estimated;
	double written_lo, written_hi;
};

/* The whole file for one state (HELP and TYPE lines included). */
void ps_prom_render(struct ps_out *o, const struct ps_prom_state *st);
/* A label value escaped per the exposition format (\\, \", \n), each byte
 * that is not part of valid UTF-8 replaced by U+FFFD; without quotes. */
void ps_prom_label_value(struct ps_out *o, const char *s);
/* A metric's HELP and TYPE lines. */
void ps_prom_head(struct ps_out *o, const char *name, const char *type, const char *help);
/* One sample of it, labelled with a pid and a command. */
void ps_prom_sample_u64(struct ps_out *o, const char *name, int64_t pid, const char *command, uint64_t v);
/* One metric with its HELP and TYPE lines, labelled with st's pid and
 * command (the series ps_prom_render writes). */
void ps_prom_metric_u64(struct ps_out *o, const struct ps_prom_state *st, const char *name, const char *type,
                        const char *help, uint64_t v);

#endif
