/* SPDX-License-Identifier: MIT */
/* The --compare soft-dirty parts of the watch records (softdirty_fmt.h). */
#include <string.h>

#include "pagescan/render/fmt.h"
#include "pagescan/model/util.h"
#include "softdirty_fmt.h"

/* What clearing costs the target, said in the start and end records. */
#define SD_COST_NOTE                                                                                       \
	"clear_refs write-protects every present page of the target each interval: each page's first write " \
	"after it costs the target a fault, tracked pages or not"

void ps_sd_json_counts(struct ps_out *o, const struct ps_sd_counts *c)
{
	ps_out_str(o, "\"written_pages\":");
	ps_out_u64(o, c->written_pages);
	ps_out_str(o, ",\"soft_dirty_pages\":");
	ps_out_u64(o, c->soft_dirty_pages);
	ps_out_str(o, ",\"false_pages\":");
	ps_out_u64(o, c->false_pages);
	ps_out_str(o, ",\"race_pages\":");
	ps_out_u64(o, c->race_pages);
}

/* ,"NAME":[{"start":"0x…","end":"0x…","pages":N}…]: the pieces whose cats
 * are exactly cats, or cats2 (0: none). */
static void json_pieces(struct ps_out *o, const char *name, const struct ps_regions *p, uint64_t cats, uint64_t cats2)
{
	bool first = true;
	ps_out_str(o, ",\"");
	ps_out_str(o, name);
	ps_out_str(o, "\":[");
	for (size_t i = 0; p && i < p->n; i++) {
		if (p->r[i].cats != cats && (!cats2 || p->r[i].cats != cats2))
			continue;
		ps_out_str(o, first ? "{\"start\":\"" : ",{\"start\":\"");
		first = false;
		ps_out_hex(o, p->r[i].start);
		ps_out_str(o, "\",\"end\":\"");
		ps_out_hex(o, p->r[i].end);
		ps_out_str(o, "\",\"pages\":");
		ps_out_u64(o, (p->r[i].end - p->r[i].start) / PS_PAGE_SIZE);
		ps_out_chr(o, '}');
	}
	ps_out_chr(o, ']');
}

void ps_sd_json(struct ps_out *o, const struct ps_sd_report *r, bool end, bool regions)
{
	ps_out_str(o, ",\"soft_dirty\":{");
	ps_sd_json_counts(o, &r->c);
	ps_out_str(o, end ? ",\"worst_mappings\":[" : ",\"mappings\":[");
	for (size_t i = 0; i < r->nper_mapping; i++) {
		const struct ps_sd_mapping *m = &r->per_mapping[i];
		if (i)
			ps_out_chr(o, ',');
		ps_out_str(o, "{\"mapping\":");
		ps_out_json_str(o, m->mapping, strlen(m->mapping));
		ps_out_str(o, ",\"start\":\"");
		ps_out_hex(o, m->start);
		ps_out_str(o, "\",");
		ps_sd_json_counts(o, &m->c);
		ps_out_chr(o, '}');
	}
	ps_out_chr(o, ']');
	if (!end && regions) {
		json_pieces(o, "false_regions", r->pieces, PS_SD_S, 0);
		json_pieces(o, "race_regions", r->pieces, PS_SD_W, PS_SD_S | PS_SD_R);
	}
	if (end) {
		ps_out_str(o, ",\"cost\":");
		ps_out_json_str(o, SD_COST_NOTE, strlen(SD_COST_NOTE));
	}
	ps_out_chr(o, '}');
}

void ps_sd_csv_header(struct ps_out *o)
{
	ps_out_str(o, ",soft_dirty_pages,soft_dirty_false_pages,soft_dirty_race_pages,"
	              "soft_dirty_worst_mapping,soft_dirty_worst_false_pages");
}

void ps_sd_csv_row(struct ps_out *o, const struct ps_sd_report *r)
{
	/* The mapping with the most false positives (empty when none had one). */
	const struct ps_sd_mapping *w = NULL;
	if (r && (!ps_sd_worst(r, &w, 1) || !w->c.false_pages))
		w = NULL;
	ps_out_chr(o, ',');
	if (r)
		ps_out_u64(o, r->c.soft_dirty_pages);
	ps_out_chr(o, ',');
	if (r)
		ps_out_u64(o, r->c.false_pages);
	ps_out_chr(o, ',');
	if (r)
		ps_out_u64(o, r->c.race_pages);
	ps_out_chr(o, ',');
	if (w)
		ps_out_csv_str(o, w->mapping, strlen(w->mapping));
	ps_out_chr(o, ',');
	if (w)
		ps_out_u64(o, w->c.false_pages);
}

void ps_sd_text_start(struct ps_out *o)
{
	ps_out_str(o, "comparing with soft-dirty (--compare soft-dirty): " SD_COST_NOTE "\n");
}

void ps_sd_text_counts(struct ps_out *o, const struct ps_sd_counts *c)
{
	ps_out_printf(o, "soft-dirty %llu page%s, %llu not written (false positives)",
	              (unsigned long long)c->soft_dirty_pages, c->soft_dirty_pages == 1 ? "" : "s",
	              (unsigned long long)c->false_pages);
	if (c->race_pages)
		ps_out_printf(o, ", %llu in the read-to-clear race", (unsigned long long)c->race_pages);
}

void ps_sd_text_interval(struct ps_out *o, const struct ps_sd_report *r, bool quiet)
{
	ps_out_str(o, "  ");
	ps_sd_text_counts(o, &r->c);
	if (!quiet && r->nper_mapping) {
		ps_out_str(o, "; per mapping (soft-dirty/false):");
		for (size_t i = 0; i < r->nper_mapping; i++) {
			const struct ps_sd_mapping *m = &r->per_mapping[i];
			if (!m->c.soft_dirty_pages)
				continue;
			ps_out_chr(o, ' ');
			ps_fmt_label_text(o, m->mapping);
			ps_out_chr(o, '@');
			ps_out_hex(o, m->start);
			ps_out_printf(o, "=%llu/%llu", (unsigned long long)m->c.soft_dirty_pages,
			              (unsigned long long)m->c.false_pages);
		}
	}
	ps_out_chr(o, '\n');
}

void ps_sd_text_end(struct ps_out *o, const struct ps_sd_report *r)
{
	const struct ps_sd_counts *c = &r->c;
	ps_out_printf(o, "soft-dirty compared: %llu written page%s, ", (unsigned long long)c->written_pages,
	              c->written_pages == 1 ? "" : "s");
	ps_sd_text_counts(o, c);
	if (c->soft_dirty_pages)
		ps_out_printf(o, " (%.1f%% of soft-dirty)", 100.0 * (double)c->false_pages / (double)c->soft_dirty_pages);
	ps_out_chr(o, '\n');
	for (size_t i = 0; i < r->nper_mapping; i++) {
		const struct ps_sd_mapping *m = &r->per_mapping[i];
		ps_out_printf(o, "  %10llu false  %10llu soft-dirty  %10llu written  ",
		              (unsigned long long)m->c.false_pages, (unsigned long long)m->c.soft_dirty_pages,
		              (unsigned long long)m->c.written_pages);
		ps_out_hex(o, m->start);
		ps_out_chr(o, ' ');
		ps_fmt_label_text(o, m->mapping);
		ps_out_chr(o, '\n');
	}
	ps_out_str(o, "  note: " SD_COST_NOTE "\n");
}
