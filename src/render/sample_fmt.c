/* SPDX-License-Identifier: MIT */
/* The --sample parts of the watch records; see sample_fmt.h. */
#include <math.h>
#include <stdio.h>

#include "sample_fmt.h"

void ps_sample_fraction_str(char *b, size_t n, double fraction)
{
	double inv = fraction > 0 ? 1.0 / fraction : 0;
	if (inv > 0 && fabs(inv - round(inv)) < 1e-9 * inv)
		snprintf(b, n, "1/%.0f", inv);
	else
		snprintf(b, n, "%g%%", fraction * 100);
}

void ps_sample_fraction_text(struct ps_out *o, double fraction)
{
	char b[32];
	ps_sample_fraction_str(b, sizeof(b), fraction);
	ps_out_str(o, b);
}

static void pair(struct ps_out *o, double lo, double hi, int decimals)
{
	ps_out_chr(o, '[');
	ps_out_fixed(o, lo, decimals);
	ps_out_chr(o, ',');
	ps_out_fixed(o, hi, decimals);
	ps_out_chr(o, ']');
}

void ps_sample_json_start(struct ps_out *o, double fraction, uint64_t seed)
{
	ps_out_str(o, ",\"estimated\":true,\"sample\":{\"fraction\":");
	ps_out_fixed(o, fraction, 6);
	ps_out_str(o, ",\"seed\":");
	ps_out_u64(o, seed);
	ps_out_chr(o, '}');
}

void ps_sample_json_interval(struct ps_out *o, const struct ps_sample_iv *s)
{
	ps_out_str(o, ",\"estimated\":true,\"written_pages_ci95\":");
	pair(o, s->written_lo, s->written_hi, 0);
	ps_out_str(o, ",\"rate_pages_s_ci95\":");
	pair(o, s->rate_lo, s->rate_hi, 1);
	ps_out_str(o, ",\"wss_pages_bounds\":");
	pair(o, s->wss_lo, s->wss_hi, 0);
	ps_out_str(o, ",\"sample\":{\"fraction\":");
	ps_out_fixed(o, s->fraction, 6);
	ps_out_str(o, ",\"block_pages\":");
	ps_out_u64(o, s->block_pages);
	ps_out_str(o, ",\"sampled_pages\":");
	ps_out_u64(o, s->sampled_pages);
	ps_out_str(o, ",\"seen_written_pages\":");
	ps_out_u64(o, s->seen_written);
	ps_out_str(o, ",\"seen_wss_pages\":");
	ps_out_u64(o, s->wss_seen);
	ps_out_chr(o, '}');
}

void ps_sample_json_end(struct ps_out *o, const struct ps_sample_iv *s)
{
	ps_out_str(o, ",\"estimated\":true,\"wss_pages_bounds\":");
	pair(o, s->wss_lo, s->wss_hi, 0);
	ps_out_str(o, ",\"sample\":{\"fraction\":");
	ps_out_fixed(o, s->fraction, 6);
	ps_out_str(o, ",\"seen_wss_pages\":");
	ps_out_u64(o, s->wss_seen);
	ps_out_chr(o, '}');
}

void ps_sample_csv_header(struct ps_out *o)
{
	ps_out_str(o, ",estimated,written_pages_ci95_lo,written_pages_ci95_hi,sampled_pages,seen_written_pages");
}

void ps_sample_csv_row(struct ps_out *o, const struct ps_sample_iv *s)
{
	ps_out_str(o, s->estimated ? ",1," : ",0,");
	ps_out_fixed(o, s->written_lo, 0);
	ps_out_chr(o, ',');
	ps_out_fixed(o, s->written_hi, 0);
	ps_out_chr(o, ',');
	ps_out_u64(o, s->sampled_pages);
	ps_out_chr(o, ',');
	ps_out_u64(o, s->seen_written);
}

void ps_sample_text_start(struct ps_out *o, double fraction, uint64_t seed)
{
	ps_out_str(o, "sampling ");
	ps_sample_fraction_text(o, fraction);
	ps_out_printf(o, " of the tracked pages each interval (seed %llu): written pages, rates and the write working set are estimates (~), with 95%% confidence intervals\n",
	              (unsigned long long)seed);
}

void ps_sample_text_interval(struct ps_out *o, const struct ps_sample_iv *s)
{
	ps_out_printf(o, "  ~estimated: written 95%% CI %.0f..%.0f pages, %llu seen in a sample of %llu", s->written_lo,
	              s->written_hi, (unsigned long long)s->seen_written, (unsigned long long)s->sampled_pages);
}

void ps_sample_text_end(struct ps_out *o, const struct ps_sample_iv *s)
{
	ps_out_str(o, "estimated from a ");
	ps_sample_fraction_text(o, s->fraction);
	ps_out_printf(o, " sample: the write working set lies between %.0f pages (pages written in every interval) and %.0f (each written once); %llu seen\n",
	              s->wss_lo, s->wss_hi, (unsigned long long)s->wss_seen);
}
