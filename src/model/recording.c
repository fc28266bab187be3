/* SPDX-License-Identifier: MIT */
/* The recording reader: JSON Lines from `pagescan watch -f json`, line by
 * line, into struct ps_recording (every interval's page set as sorted,
 * merged runs); refuses what is not a recording, warns about the rest. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/json.h"
#include "pagescan/model/recording.h"
#include "pagescan/model/util.h"

/* Pages in a 64-bit address space: no page count can be larger. */
#define MAX_PAGES (UINT64_MAX >> PS_PAGE_SHIFT)

struct ps_rec_reader {
	struct ps_recording *rec;
	struct ps_json j;
	size_t lineno;
	bool started, ended, stopped;
	uint64_t last_seq;
	double last_time;
	struct ps_rec_run *cum, *tmp;   /* --accumulate: the previous cumulative set */
	size_t ncum, cumcap, ntmp, tmpcap;
	char **seen;                    /* "context\0key" of unknown fields warned about */
	size_t nseen, seencap;
	size_t bad_lines, replaced;
	/* records after the start left out (interval records ignored, unknown
	 * record types, lines that are not JSON): how many, and the first one's
	 * reason, for the error when no interval is left */
	size_t nskipped;
	char first_skipped[256];
	bool warned_after_end, warned_count, warned_shrink, warned_tracked;
	/* format_version 2: the processes still running (indexes into rec->procs,
	 * -1: gone) and the objects backing shared pages. */
	struct rec_obj { char *dev; uint64_t inode; char *name; uint64_t lo, hi; } *obj;
	size_t nobj, objcap;
	bool warned_noshared, warned_wl_count, warned_key;
	/* run following forks: the command's process, made when the records
	 * turned into a workload's, until its own start event is read (1 +
	 * its index; 0: none pending) */
	size_t cmd_pending;
};

struct ps_rec_reader *ps_rec_reader_new(void)
{
	struct ps_rec_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->rec = calloc(1, sizeof(*r->rec));
	if (!r->rec) {
		free(r);
		return NULL;
	}
	return r;
}

/* Everything but the processes (a process's own recording has none). */
static void rec_free_fields(struct ps_recording *rec)
{
	free(rec->pagescan);
	free(rec->command);
	for (size_t i = 0; i < rec->nspans; i++)
		free(rec->spans[i].mapping);
	free(rec->spans);
	free(rec->iv);
	free(rec->runs);
	free(rec->end_reason);
	for (size_t i = 0; i < rec->nsd_maps; i++)
		free(rec->sd_maps[i].mapping);
	free(rec->sd_maps);
	free(rec->workload_kind);
	free(rec->cgroup);
	free(rec);
}

void ps_recording_free(struct ps_recording *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->nprocs; i++) {
		free(rec->procs[i].command);
		free(rec->procs[i].exit_reason);
		if (rec->procs[i].rec)
			rec_free_fields(rec->procs[i].rec);
	}
	free(rec->procs);
	rec_free_fields(rec);
}

void ps_rec_reader_free(struct ps_rec_reader *r)
{
	if (!r)
		return;
	ps_recording_free(r->rec);
	ps_json_free(&r->j);
	free(r->cum);
	free(r->tmp);
	for (size_t i = 0; i < r->nseen; i++)
		free(r->seen[i]);
	free(r->seen);
	for (size_t i = 0; i < r->nobj; i++) {
		free(r->obj[i].dev);
		free(r->obj[i].name);
	}
	free(r->obj);
	free(r);
}

/* True the first time a (context, name) pair is seen: warn once each. */
static bool first_time(struct ps_rec_reader *r, const char *ctx, const char *key)
{
	size_t cl = strlen(ctx), kl = strlen(key);

	for (size_t i = 0; i < r->nseen; i++)
		if (strcmp(r->seen[i], ctx) == 0 && strcmp(r->seen[i] + cl + 1, key) == 0)
			return false;
	if (r->nseen >= 256)
		return false; /* enough said */
	char *e = malloc(cl + kl + 2);
	if (!e || ps_grow((void **)&r->seen, &r->seencap, r->nseen + 1, sizeof(*r->seen)) < 0) {
		free(e);
		return false;
	}
	memcpy(e, ctx, cl + 1);
	memcpy(e + cl + 1, key, kl + 1);
	r->seen[r->nseen++] = e;
	return true;
}

/* A record after the start that is left out: warned (unless warn is false:
 * said already), counted, and the first one's reason kept for the error
 * when no interval record is left. suffix follows the reason in the warning. */
static void __attribute__((format(printf, 5, 6)))
skip_record(struct ps_rec_reader *r, struct ps_warnings *w, bool warn, const char *suffix, const char *fmt, ...)
{
	char msg[sizeof(r->first_skipped)];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = 0;
	else if ((size_t)n >= sizeof(msg)) {
		/* cut: not inside a UTF-8 sequence, and say so */
		size_t k = sizeof(msg) - 4;
		while (k && ((unsigned char)msg[k] & 0xc0) == 0x80)
			k--;
		memcpy(msg + k, "...", 4);
	}
	if (r->nskipped++ == 0)
		memcpy(r->first_skipped, msg, sizeof(msg));
	if (warn)
		ps_warnings_add(w, "%s%s", msg, suffix);
}

static void unknown_field(struct ps_rec_reader *r, const char *ctx, const char *key, struct ps_warnings *w)
{
	if (first_time(r, ctx, key))
		ps_warnings_add(w, "line %zu: unknown field \"%s\" in %s (ignored; recorded by a newer pagescan?)",
		                r->lineno, key, ctx);
}

static void check_keys(struct ps_rec_reader *r, uint32_t o, const char *const *known, const char *ctx,
                       struct ps_warnings *w)
{
	const struct ps_json *j = &r->j;

	for (uint32_t c = j->node[o].a; c; c = j->node[c].next) {
		const char *k = j->str + j->node[c].key;
		size_t i;
		for (i = 0; known[i]; i++)
			if (strcmp(known[i], k) == 0)
				break;
		if (!known[i])
			unknown_field(r, ctx, k, w);
	}
}

/* "0x..." lowercase or uppercase hex, 1..16 digits, to a number. */
static int parse_hex(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2])
		return -EINVAL;
	for (i = 2; s[i]; i++) {
		char c = s[i];
		unsigned d;
		if (i >= 18)
			return -EINVAL;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*ret = v;
	return 0;
}

/* start/end of a region or span object, in pages. msg says what is wrong. */
static int parse_range(const struct ps_json *j, uint32_t o, uint64_t *start, uint64_t *end, const char **msg)
{
	uint64_t s, e, pages;
	uint32_t pn;

	if (j->node[o].type != PS_JSON_OBJECT) {
		*msg = "not an object";
		return -EINVAL;
	}
	if (parse_hex(ps_json_str(j, ps_json_get(j, o, "start"), NULL), &s) < 0 ||
	    parse_hex(ps_json_str(j, ps_json_get(j, o, "end"), NULL), &e) < 0) {
		*msg = "start or end is not a \"0x...\" address";
		return -EINVAL;
	}
	if ((s | e) & (PS_PAGE_SIZE - 1)) {
		*msg = "start or end is not page-aligned";
		return -EINVAL;
	}
	if (e <= s) {
		*msg = "end is not above start";
		return -EINVAL;
	}
	pn = ps_json_get(j, o, "pages");
	if (pn && (ps_json_u64(j, pn, &pages) < 0 || pages != (e - s) >> PS_PAGE_SHIFT)) {
		*msg = "pages does not match start and end";
		return -EINVAL;
	}
	*start = s >> PS_PAGE_SHIFT;
	*end = e >> PS_PAGE_SHIFT;
	return 0;
}

static char *dup_str(const struct ps_json *j, uint32_t n, const char *dflt)
{
	const char *s = ps_json_str(j, n, NULL);
	return strdup(s ? s : dflt);
}

static const char *const span_keys[] = { "start", "end", "pages", "mapping", "reason", NULL };

enum span_kind { SPAN_ENGAGED, SPAN_DROPPED, SPAN_READONLY_WRITTEN };

static int add_spans(struct ps_rec_reader *r, uint32_t arr, uint64_t seq, enum span_kind kind, const char *ctx,
                     struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;

	if (!arr)
		return 0;
	if (j->node[arr].type != PS_JSON_ARRAY) {
		ps_warnings_add(w, "line %zu: \"%s\" is not an array (ignored)", r->lineno, ctx);
		return 0;
	}
	for (uint32_t c = j->node[arr].a; c; c = j->node[c].next) {
		uint64_t s, e;
		const char *msg;
		if (parse_range(j, c, &s, &e, &msg) < 0) {
			ps_warnings_add(w, "line %zu: an entry of \"%s\": %s (ignored)", r->lineno, ctx, msg);
			continue;
		}
		check_keys(r, c, span_keys, ctx, w);
		if (rec->nspans >= PS_REC_MAX_SPANS)
			return ps_errf(err, E2BIG, "line %zu: more than %zu engaged, dropped or read-only ranges", r->lineno,
			               PS_REC_MAX_SPANS);
		if (ps_grow((void **)&rec->spans, &rec->spans_cap, rec->nspans + 1, sizeof(*rec->spans)) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		char *m = dup_str(j, ps_json_get(j, c, "mapping"), "[unnamed]");
		if (!m)
			return ps_errf(err, ENOMEM, "out of memory");
		rec->spans[rec->nspans++] = (struct ps_rec_span){ .start = s, .end = e, .mapping = m, .seq = seq,
		                                                  .dropped = kind == SPAN_DROPPED,
		                                                  .readonly_written = kind == SPAN_READONLY_WRITTEN };
	}
	return 0;
}

static const char *const start_keys[] = { "type", "format_version", "pagescan", "pid", "command", "interval_s",
                                          "page_size", "mode", "region_lists", "tracked_pages", "engaged",
                                          "skipped", "max_overhead", "wp_fault_ns", "wp_fault_calibrated",
                                          "workload", "cgroup", "processes", "max_processes", "estimated",
                                          "sample", "compare", NULL };

static int rec_start(struct ps_rec_reader *r, uint32_t root, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	uint32_t n;
	int64_t v;

	n = ps_json_get(j, root, "format_version");
	if (!n || ps_json_i64(j, n, &v) < 0 || v < 1)
		return ps_errf(err, EINVAL, "line %zu: the start record has no valid format_version: "
		               "not a pagescan recording", r->lineno);
	if (v > PS_REC_FORMAT_VERSION)
		return ps_errf(err, EPROTONOSUPPORT, "the recording has format_version %lld, newer than this "
		               "pagescan reads (%d): report it with the pagescan that recorded it, or a newer one",
		               (long long)v, PS_REC_FORMAT_VERSION);
	rec->format_version = v;
	check_keys(r, root, start_keys, "the start record", w);
	if (v >= 2) {
		rec->workload = true;
		rec->workload_kind = dup_str(j, ps_json_get(j, root, "workload"), "pids");
		if (!rec->workload_kind)
			return ps_errf(err, ENOMEM, "out of memory");
		if ((n = ps_json_get(j, root, "cgroup")) && !(rec->cgroup = dup_str(j, n, "?")))
			return ps_errf(err, ENOMEM, "out of memory");
		const char *m = ps_json_str(j, ps_json_get(j, root, "mode"), NULL);
		if (m && strcmp(m, "accumulate") == 0)
			return ps_errf(err, EINVAL, "the workload was recorded with --accumulate: report reads a "
			               "workload's recording only without it; record again without --accumulate");
	}

	/* The recording's pages, whatever this machine's: every count and
	 * address that follows is read, and reported, in them. Without
	 * page_size (never written so far) 4 KiB. */
	n = ps_json_get(j, root, "page_size");
	uint64_t ps = 4096;
	if (n && (ps_json_u64(j, n, &ps) < 0 || !ps_page_size_ok(ps)))
		return ps_errf(err, EINVAL, "line %zu: page_size is not 4096, 8192, 16384, 32768 or 65536: not supported",
		               r->lineno);
	ps_page_size_set(ps);
	rec->page_size = ps;
	n = ps_json_get(j, root, "mode");
	const char *mode = ps_json_str(j, n, NULL);
	if (!mode) {
		ps_warnings_add(w, "line %zu: the start record has no mode; assuming \"interval\"", r->lineno);
	} else if (strcmp(mode, "accumulate") == 0) {
		rec->accumulate = true;
		ps_warnings_add(w, "recorded with --accumulate: each interval shows only pages written for the "
		                "first time, so working sets over windows and the pre-copy estimate are lower bounds");
	} else if (strcmp(mode, "interval") != 0) {
		return ps_errf(err, EINVAL, "line %zu: unknown mode \"%s\" (expected interval or accumulate)",
		               r->lineno, mode);
	}
	/* --sample: the figures are estimates, the regions the pages seen. */
	n = ps_json_get(j, root, "sample");
	if (n && (ps_json_double(j, ps_json_get(j, n, "fraction"), &rec->sample_fraction) < 0 ||
	          !(rec->sample_fraction > 0 && rec->sample_fraction < 1)))
		rec->sample_fraction = 0;
	if (rec->sample_fraction > 0)
		ps_warnings_add(w, "recorded with --sample %g: written pages and dirty rates are estimates; unique "
		                "pages, working sets over windows, per-mapping counts and the pre-copy estimate count "
		                "only the pages seen in the samples (docs/sampling.md)", rec->sample_fraction);
	n = ps_json_get(j, root, "region_lists");
	if (n && j->node[n].type == PS_JSON_FALSE)
		return ps_errf(err, EINVAL, "the recording was made with watch -q and has no region lists: working "
		               "sets over windows need them; record again without -q");
	const char *cmp = ps_json_str(j, ps_json_get(j, root, "compare"), NULL);
	rec->soft_dirty = cmp && strcmp(cmp, "soft-dirty") == 0;
	rec->pagescan = dup_str(j, ps_json_get(j, root, "pagescan"), "?");
	rec->command = dup_str(j, ps_json_get(j, root, "command"), "?");
	if (!rec->pagescan || !rec->command)
		return ps_errf(err, ENOMEM, "out of memory");
	if (ps_json_i64(j, ps_json_get(j, root, "pid"), &rec->pid) < 0)
		ps_warnings_add(w, "line %zu: the start record has no valid pid", r->lineno);
	n = ps_json_get(j, root, "interval_s");
	if (ps_json_double(j, n, &rec->interval_s) < 0 || rec->interval_s <= 0) {
		ps_warnings_add(w, "line %zu: the start record has no valid interval_s; using the first "
		                "interval's length", r->lineno);
		rec->interval_s = 0;
	} else if (!(rec->interval_s <= PS_REC_MAX_INTERVAL_S)) {
		return ps_errf(err, EINVAL, "line %zu: the start record's interval_s %g is out of range (above 0, at "
		               "most %.0f s): not a pagescan recording", r->lineno, rec->interval_s, PS_REC_MAX_INTERVAL_S);
	}
	if (ps_json_u64(j, ps_json_get(j, root, "tracked_pages"), &rec->tracked_pages) < 0 ||
	    rec->tracked_pages > MAX_PAGES) {
		ps_warnings_add(w, "line %zu: the start record has no valid tracked_pages", r->lineno);
		rec->tracked_pages = 0;
	}
	n = ps_json_get(j, root, "skipped");
	if (n && j->node[n].type == PS_JSON_ARRAY)
		rec->nskipped = j->node[n].b;
	return add_spans(r, ps_json_get(j, root, "engaged"), 0, SPAN_ENGAGED, "engaged", w, err);
}

static int cmp_run(const void *a, const void *b)
{
	const struct ps_rec_run *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort and merge runs[0..n) in place; returns the new count. */
static size_t normalize_runs(struct ps_rec_run *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), cmp_run);
	for (size_t i = 0; i < n; i++) {
		if (k && v[i].start <= v[k - 1].end) {
			if (v[i].end > v[k - 1].end)
				v[k - 1].end = v[i].end;
		} else {
			v[k++] = v[i];
		}
	}
	return k;
}

/* --accumulate: turn the cumulative set in rec->runs[from..] into the pages
 * new since the previous one; keep the cumulative set for the next. */
static int accumulate_diff(struct ps_rec_reader *r, size_t from, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	size_t n = rec->nruns - from, i = 0;
	struct ps_rec_run *cur = n ? rec->runs + from : NULL;
	uint64_t lost = 0;

	if (ps_grow((void **)&r->tmp, &r->tmpcap, n ? n : 1, sizeof(*r->tmp)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	if (n)
		memcpy(r->tmp, cur, n * sizeof(*cur));
	r->ntmp = n;
	/* out = cur \ cum (both sorted and merged), built apart: a run of cur
	 * can split into many pieces. */
	struct ps_rec_run *out = NULL;
	size_t nout = 0, outcap = 0;
	for (size_t a = 0; a < n; a++) {
		uint64_t s = r->tmp[a].start, e = r->tmp[a].end;
		while (i < r->ncum && r->cum[i].end <= s)
			i++;
		size_t q = i;
		while (s < e) {
			if (q >= r->ncum || r->cum[q].start >= e) {
				if (ps_grow((void **)&out, &outcap, nout + 1, sizeof(*out)) < 0)
					goto oom;
				out[nout++] = (struct ps_rec_run){ s, e };
				break;
			}
			if (r->cum[q].start > s) {
				if (ps_grow((void **)&out, &outcap, nout + 1, sizeof(*out)) < 0)
					goto oom;
				out[nout++] = (struct ps_rec_run){ s, r->cum[q].start };
			}
			s = r->cum[q].end > s ? r->cum[q].end : s;
			if (r->cum[q].end <= e)
				q++;
			else
				break;
		}
	}
	/* Pages of the previous cumulative set missing now (unmapped, or not a
	 * cumulative recording after all). */
	for (size_t a = 0, b = 0; a < r->ncum; a++) {
		uint64_t s = r->cum[a].start, e = r->cum[a].end;
		while (b < n && r->tmp[b].end <= s)
			b++;
		for (size_t q = b; q < n && r->tmp[q].start < e && s < e; q++) {
			if (r->tmp[q].start > s)
				lost += r->tmp[q].start - s;
			s = r->tmp[q].end > s ? r->tmp[q].end : s;
		}
		if (s < e)
			lost += e - s;
	}
	if (lost && !r->warned_shrink) {
		r->warned_shrink = true;
		ps_warnings_add(w, "line %zu: the cumulative set lost %llu pages (unmapped?)", r->lineno,
		                (unsigned long long)lost);
	}
	rec->nruns = from;
	if (nout && ps_grow((void **)&rec->runs, &rec->runs_cap, from + nout, sizeof(*rec->runs)) < 0)
		goto oom;
	if (nout)
		memcpy(rec->runs + from, out, nout * sizeof(*out));
	rec->nruns = from + nout;
	free(out);
	/* The new cumulative set. */
	struct ps_rec_run *t = r->cum;
	size_t tc = r->cumcap;
	r->cum = r->tmp;
	r->cumcap = r->tmpcap;
	r->ncum = n;
	r->tmp = t;
	r->tmpcap = tc;
	return 0;
oom:
	free(out);
	return ps_errf(err, ENOMEM, "out of memory");
}

/* A record's written_pages into *wp: 1 when valid, 0 when absent, -1 when
 * there but not a page count (too large, negative, not a whole number, not
 * a number); then *shown is what it says, for a warning. */
static int written_pages(const struct ps_json *j, uint32_t root, uint64_t *wp, char *shown, size_t n)
{
	uint32_t c = ps_json_get(j, root, "written_pages");

	if (!c)
		return 0;
	if (ps_json_u64(j, c, wp) == 0 && *wp <= MAX_PAGES)
		return 1;
	if (j->node[c].type == PS_JSON_NUMBER)
		snprintf(shown, n, "%.*s", (int)(j->node[c].b < 40 ? j->node[c].b : 40), j->src + j->node[c].a);
	else
		snprintf(shown, n, "a non-number");
	return -1;
}

static const char *const interval_keys[] = { "type", "seq", "time_s", "elapsed_s", "written_pages",
                                             "written_bytes", "rate_pages_s", "rate_mib_s", "harvest_us",
                                             "tracked_pages", "wss_pages", "regions", "mappings", "engaged",
                                             "dropped", "readonly_written", "discarded_pages",
                                             "zero_read_pages", "ksm_merged_pages", "thp_filled_pages", "remapped_pages",
                                             "exec",
                                             "interval_s", "stretched", "over_budget", "target_overhead", "estimated",
                                             "written_pages_ci95", "rate_pages_s_ci95", "wss_pages_bounds",
                                             "sample", "soft_dirty", NULL };
static const char *const region_keys[] = { "start", "end", "pages", "mapping", "shared", NULL };

static int iv_body(struct ps_rec_reader *r, uint32_t root, uint32_t regs, struct ps_rec_interval *ivp, bool check_seq,
                   struct ps_warnings *w, struct ps_err *err);

/* An interval record's seq, time_s and elapsed_s into iv; false (warned:
 * the record is ignored) when one is missing or out of range. */
static bool iv_clock(struct ps_rec_reader *r, uint32_t root, struct ps_rec_interval *iv, struct ps_warnings *w)
{
	const struct ps_json *j = &r->j;
	uint32_t tn = ps_json_get(j, root, "time_s"), en = ps_json_get(j, root, "elapsed_s");

	if (ps_json_u64(j, ps_json_get(j, root, "seq"), &iv->seq) < 0 || iv->seq == 0) {
		skip_record(r, w, true, " (ignored)", "line %zu: an interval record without a valid seq", r->lineno);
		return false;
	}
	if (ps_json_double(j, tn, &iv->time_s) < 0 || ps_json_double(j, en, &iv->elapsed_s) < 0) {
		skip_record(r, w, true, " (ignored)", "line %zu: interval %llu has no valid %s", r->lineno,
		            (unsigned long long)iv->seq, ps_json_double(j, tn, &iv->time_s) < 0 ? "time_s" : "elapsed_s");
		return false;
	}
	/* (negated: NaN is out of range too) */
	if (!(iv->time_s >= 0 && iv->time_s <= PS_REC_MAX_TIME_S)) {
		skip_record(r, w, true, " (ignored)", "line %zu: interval %llu: time_s %g is out of range (0 to %.0f s)",
		            r->lineno, (unsigned long long)iv->seq, iv->time_s, PS_REC_MAX_TIME_S);
		return false;
	}
	if (!(iv->elapsed_s > 0 && iv->elapsed_s <= PS_REC_MAX_INTERVAL_S)) {
		skip_record(r, w, true, " (ignored)", "line %zu: interval %llu: elapsed_s %g is out of range (above 0, "
		            "at most %.0f s)", r->lineno, (unsigned long long)iv->seq, iv->elapsed_s, PS_REC_MAX_INTERVAL_S);
		return false;
	}
	return true;
}

static const char *const sd_keys[] = { "written_pages", "soft_dirty_pages", "false_pages", "race_pages",
                                       "missed_pages", "mappings", "worst_mappings", "false_regions",
                                       "race_regions", "missed_regions", "cost", NULL };
static const char *const sd_mapping_keys[] = { "mapping", "start", "written_pages", "soft_dirty_pages",
                                               "false_pages", "race_pages", "missed_pages", NULL };

/* The counts of a soft_dirty object or of one of its mappings; false when
 * one is missing. Recordings of development builds before race_pages have
 * missed_pages instead (the written pages that were not soft-dirty). */
static bool sd_counts(const struct ps_json *j, uint32_t o, struct ps_sd_counts *c)
{
	uint32_t race = ps_json_get(j, o, "race_pages");
	if (!race)
		race = ps_json_get(j, o, "missed_pages");
	return ps_json_u64(j, ps_json_get(j, o, "written_pages"), &c->written_pages) == 0 &&
	       ps_json_u64(j, ps_json_get(j, o, "soft_dirty_pages"), &c->soft_dirty_pages) == 0 &&
	       ps_json_u64(j, ps_json_get(j, o, "false_pages"), &c->false_pages) == 0 &&
	       ps_json_u64(j, race, &c->race_pages) == 0 && c->false_pages <= c->soft_dirty_pages;
}

/* An interval record's soft_dirty comparison (--compare soft-dirty) into
 * iv and rec->sd_maps; an interval without one, or with a bad one, is
 * reported without it (warned once). 0 or -errno. */
static int rec_sd(struct ps_rec_reader *r, uint32_t root, struct ps_rec_interval *iv, struct ps_warnings *w,
                  struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	uint32_t sd = ps_json_get(j, root, "soft_dirty");

	iv->sd_map0 = rec->nsd_maps;
	if (!sd || j->node[sd].type != PS_JSON_OBJECT || !sd_counts(j, sd, &iv->sd)) {
		if (first_time(r, "soft_dirty", "invalid"))
			ps_warnings_add(w, "line %zu: interval %llu has no valid soft_dirty comparison (the recording "
			                "was made with --compare soft-dirty; the interval is left out of it)", r->lineno,
			                (unsigned long long)iv->seq);
		return 0;
	}
	check_keys(r, sd, sd_keys, "soft_dirty", w);
	uint32_t ms = ps_json_get(j, sd, "mappings");
	if (ms && j->node[ms].type == PS_JSON_ARRAY) {
		size_t k = 0;
		for (uint32_t c = j->node[ms].a; c; c = j->node[c].next, k++) {
			struct ps_sd_counts mc;
			uint64_t start;
			if (j->node[c].type != PS_JSON_OBJECT ||
			    parse_hex(ps_json_str(j, ps_json_get(j, c, "start"), NULL), &start) < 0 || !sd_counts(j, c, &mc)) {
				if (first_time(r, "soft_dirty", "mapping"))
					ps_warnings_add(w, "line %zu: interval %llu: soft_dirty mapping %zu is not valid (left out)",
					                r->lineno, (unsigned long long)iv->seq, k + 1);
				continue;
			}
			if (k < 4)
				check_keys(r, c, sd_mapping_keys, "soft_dirty mappings", w);
			if (ps_grow((void **)&rec->sd_maps, &rec->sd_maps_cap, rec->nsd_maps + 1, sizeof(*rec->sd_maps)) < 0)
				return ps_errf(err, ENOMEM, "out of memory");
			char *m = dup_str(j, ps_json_get(j, c, "mapping"), "[unnamed]");
			if (!m)
				return ps_errf(err, ENOMEM, "out of memory");
			rec->sd_maps[rec->nsd_maps++] =
				(struct ps_rec_sd_mapping){ .start = start >> PS_PAGE_SHIFT, .mapping = m, .c = mc };
		}
	}
	iv->has_sd = true;
	iv->nsd_maps = rec->nsd_maps - iv->sd_map0;
	return 0;
}

static int rec_interval(struct ps_rec_reader *r, uint32_t root, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	struct ps_rec_interval iv = { 0 };
	uint32_t regs;
	int ret;

	if (!iv_clock(r, root, &iv, w))
		return 0;
	regs = ps_json_get(j, root, "regions");
	if (!regs || j->node[regs].type != PS_JSON_ARRAY) {
		skip_record(r, w, true, " (ignored)", "line %zu: interval %llu has no \"regions\" array", r->lineno,
		            (unsigned long long)iv.seq);
		return 0;
	}
	if (iv.seq <= r->last_seq) {
		skip_record(r, w, true, " (ignored)", "line %zu: interval %llu does not follow interval %llu",
		            r->lineno, (unsigned long long)iv.seq, (unsigned long long)r->last_seq);
		return 0;
	}
	if (iv.time_s + 1e-6 < r->last_time) {
		skip_record(r, w, true, " (ignored)", "line %zu: interval %llu ends at %.6fs, before the previous one",
		            r->lineno, (unsigned long long)iv.seq, iv.time_s);
		return 0;
	}
	if (rec->niv >= PS_REC_MAX_INTERVALS)
		return ps_errf(err, E2BIG, "line %zu: more than %zu intervals", r->lineno, PS_REC_MAX_INTERVALS);
	check_keys(r, root, interval_keys, "interval records", w);
	ret = iv_body(r, root, regs, &iv, true, w, err);
	if (ret)
		return ret < 0 ? ret : 0;
	if (rec->soft_dirty && (ret = rec_sd(r, root, &iv, w, err)) < 0)
		return ret;
	if (ps_grow((void **)&rec->iv, &rec->iv_cap, rec->niv + 1, sizeof(*rec->iv)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	rec->iv[rec->niv++] = iv;
	r->last_seq = iv.seq;
	r->last_time = iv.time_s;
	return 0;
}

/* One process's record of an interval (root: the interval record, or a
 * workload's processes entry) into r->rec: its page set, counts and spans;
 * iv has seq, time_s, elapsed_s. 0: iv filled in (not yet appended), 1:
 * ignored (warned), -errno. check_seq: warn about missing intervals. */
static int iv_body(struct ps_rec_reader *r, uint32_t root, uint32_t regs, struct ps_rec_interval *ivp, bool check_seq,
                   struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	struct ps_rec_interval iv = *ivp;
	int ret;

	/* The page set. */
	size_t from = rec->nruns, nregs = j->node[regs].b;
	bool sorted = true;
	if (nregs > PS_REC_MAX_RUNS - rec->nruns)
		return ps_errf(err, E2BIG, "line %zu: more than %zu regions in the recording", r->lineno,
		               PS_REC_MAX_RUNS);
	if (ps_grow((void **)&rec->runs, &rec->runs_cap, rec->nruns + nregs, sizeof(*rec->runs)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	size_t k = 0;
	for (uint32_t c = j->node[regs].a; c; c = j->node[c].next, k++) {
		uint64_t s, e;
		const char *msg;
		if (parse_range(j, c, &s, &e, &msg) < 0) {
			if (check_seq)
				skip_record(r, w, true, " (interval ignored)", "line %zu: interval %llu, region %zu: %s",
				            r->lineno, (unsigned long long)iv.seq, k + 1, msg);
			else
				ps_warnings_add(w, "line %zu: interval %llu, region %zu: %s (the process's entry ignored)",
				                r->lineno, (unsigned long long)iv.seq, k + 1, msg);
			rec->nruns = from;
			return 1;
		}
		if (k < 4) /* the same keys every time: look at a few */
			check_keys(r, c, region_keys, "regions", w);
		if (rec->nruns > from && s < rec->runs[rec->nruns - 1].end)
			sorted = false;
		if (rec->nruns > from && s == rec->runs[rec->nruns - 1].end) {
			rec->runs[rec->nruns - 1].end = e; /* adjacent mappings: one run */
			continue;
		}
		rec->runs[rec->nruns++] = (struct ps_rec_run){ s, e };
	}
	if (!sorted) {
		ps_warnings_add(w, "line %zu: interval %llu: regions out of order or overlapping (sorted and merged)",
		                r->lineno, (unsigned long long)iv.seq);
		rec->nruns = from + normalize_runs(rec->runs + from, rec->nruns - from);
	}
	uint64_t setpages = 0;
	for (size_t i = from; i < rec->nruns; i++)
		setpages += rec->runs[i].end - rec->runs[i].start;
	uint64_t wp;
	char wps[48];
	int wpv = written_pages(j, root, &wp, wps, sizeof(wps));
	bool has_wp = wpv > 0;
	if (wpv > 0 && !(rec->sample_fraction > 0) && wp != setpages && !r->warned_count) {
		r->warned_count = true;
		ps_warnings_add(w, "line %zu: interval %llu says written_pages %llu but its regions hold %llu pages "
		                "(the regions are used)", r->lineno, (unsigned long long)iv.seq,
		                (unsigned long long)wp, (unsigned long long)setpages);
	} else if (wpv < 0 && !r->warned_count) {
		r->warned_count = true;
		ps_warnings_add(w, "line %zu: interval %llu says written_pages %s, not a page count, and its regions "
		                "hold %llu pages (the regions are used)", r->lineno, (unsigned long long)iv.seq, wps,
		                (unsigned long long)setpages);
	}
	if (rec->accumulate && (ret = accumulate_diff(r, from, w, err)) < 0)
		return ret;
	iv.run0 = from;
	iv.nruns = rec->nruns - from;
	iv.pages = 0;
	for (size_t i = from; i < rec->nruns; i++)
		iv.pages += rec->runs[i].end - rec->runs[i].start;
	/* sampled: written_pages is the estimate, the regions the pages seen */
	iv.est_pages = rec->sample_fraction > 0 && has_wp ? wp : iv.pages;
	ps_json_u64(j, ps_json_get(j, root, "harvest_us"), &iv.harvest_us);
	if (ps_json_u64(j, ps_json_get(j, root, "tracked_pages"), &iv.tracked_pages) < 0 ||
	    iv.tracked_pages > MAX_PAGES) {
		iv.tracked_pages = 0;
		if (!r->warned_tracked)
			ps_warnings_add(w, "line %zu: interval %llu has no valid tracked_pages", r->lineno,
			                (unsigned long long)iv.seq);
		r->warned_tracked = true;
	}
	if (check_seq && r->last_seq && iv.seq != r->last_seq + 1)
		ps_warnings_add(w, "line %zu: intervals %llu to %llu are missing from the recording", r->lineno,
		                (unsigned long long)r->last_seq + 1, (unsigned long long)iv.seq - 1);

	if ((ret = add_spans(r, ps_json_get(j, root, "engaged"), iv.seq, SPAN_ENGAGED, "engaged", w, err)) < 0 ||
	    (ret = add_spans(r, ps_json_get(j, root, "dropped"), iv.seq, SPAN_DROPPED, "dropped", w, err)) < 0 ||
	    (ret = add_spans(r, ps_json_get(j, root, "readonly_written"), iv.seq, SPAN_READONLY_WRITTEN,
	                     "readonly_written", w, err)) < 0)
		return ret;
	/* run followed an exec: the new program's ranges are engaged from here
	 * on, in another address space that this report does not tell apart. */
	uint32_t ex = ps_json_get(j, root, "exec");
	if (ex) {
		if ((ret = add_spans(r, ps_json_get(j, ex, "engaged"), iv.seq, SPAN_ENGAGED, "exec engaged", w, err)) < 0)
			return ret;
		ps_warnings_add(w, "line %zu: the command exec'd another program during interval %llu: the report treats the programs' address spaces as one (a page at the same address in both counts once); the recording's wss_pages counts them apart",
		                r->lineno, (unsigned long long)iv.seq);
	}
	*ivp = iv;
	return 0;
}


/* ---- format_version 2: a workload ------------------------------------------ */

/* a + b, at most UINT64_MAX */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The negative errno new_proc left in err. */
static int err_ret(const struct ps_err *err)
{
	return err && err->code ? -err->code : -ENOMEM;
}

/* The process of pid still running in the recording, or NULL. */
static struct ps_rec_process *find_active(struct ps_recording *rec, int64_t pid)
{
	for (size_t i = rec->nprocs; i-- > 0;)
		if (rec->procs[i].pid == pid)
			return rec->procs[i].exited ? NULL : &rec->procs[i];
	return NULL;
}

static struct ps_rec_process *new_proc(struct ps_rec_reader *r, int64_t pid, const char *command, double time_s,
                                       struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	if (rec->nprocs >= PS_REC_MAX_PROCESSES) {
		ps_errf(err, E2BIG, "line %zu: more than %zu processes", r->lineno, PS_REC_MAX_PROCESSES);
		return NULL;
	}
	if (ps_grow((void **)&rec->procs, &rec->procs_cap, rec->nprocs + 1, sizeof(*rec->procs)) < 0)
		goto oom;
	struct ps_rec_process *p = &rec->procs[rec->nprocs];
	*p = (struct ps_rec_process){ .pid = pid, .start_s = time_s };
	p->command = strdup(command);
	p->rec = calloc(1, sizeof(*p->rec));
	if (!p->command || !p->rec)
		goto oom_p;
	p->rec->format_version = 1;
	p->rec->pid = pid;
	p->rec->interval_s = rec->interval_s;
	p->rec->pagescan = strdup(rec->pagescan ? rec->pagescan : "?");
	p->rec->command = strdup(command);
	if (!p->rec->pagescan || !p->rec->command)
		goto oom_p;
	rec->nprocs++;
	return p;
oom_p:
	free(p->command);
	if (p->rec)
		rec_free_fields(p->rec);
oom:
	ps_errf(err, ENOMEM, "out of memory");
	return NULL;
}

static int key_spans(struct ps_rec_reader *r, const struct ps_rec_process *p, size_t from, struct ps_err *err);

static const char *const process_keys[] = { "type", "event", "pid", "command", "time_s", "tracked_pages", "engaged",
                                            "skipped", "reason", "intervals", "wss_pages", NULL };

static int rec_process(struct ps_rec_reader *r, uint32_t root, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	const char *ev = ps_json_str(j, ps_json_get(j, root, "event"), NULL);
	const char *command = ps_json_str(j, ps_json_get(j, root, "command"), NULL);
	int64_t pid;
	double t = 0;

	if (!rec->workload) {
		if (first_time(r, "record types", "process"))
			ps_warnings_add(w, "line %zu: a process event in a recording of one process (ignored)", r->lineno);
		return 0;
	}
	check_keys(r, root, process_keys, "process events", w);
	if (!ev || ps_json_i64(j, ps_json_get(j, root, "pid"), &pid) < 0) {
		ps_warnings_add(w, "line %zu: a process event without a valid event or pid (ignored)", r->lineno);
		return 0;
	}
	if (ps_json_double(j, ps_json_get(j, root, "time_s"), &t) == 0 && !(t >= 0 && t <= PS_REC_MAX_TIME_S)) {
		ps_warnings_add(w, "line %zu: process event: time_s %g is out of range (0 to %.0f s) (ignored)", r->lineno,
		                t, PS_REC_MAX_TIME_S);
		return 0;
	}
	if (strcmp(ev, "start") == 0) {
		struct ps_rec_process *p = find_active(rec, pid);
		if (p && r->cmd_pending && p == &rec->procs[r->cmd_pending - 1]) {
			/* the command's own start event, after to_workload() made it */
			r->cmd_pending = 0;
			return 0;
		}
		if (p) {
			ps_warnings_add(w, "line %zu: process %lld starts again without an exit event (taken as a new "
			                "program)", r->lineno, (long long)pid);
			p->exited = true;
			if (!(p->exit_reason = strdup("no exit event")))
				return ps_errf(err, ENOMEM, "out of memory");
		}
		if (!(p = new_proc(r, pid, command ? command : "?", t, err)))
			return err_ret(err);
		if (ps_json_u64(j, ps_json_get(j, root, "tracked_pages"), &p->rec->tracked_pages) < 0 ||
		    p->rec->tracked_pages > MAX_PAGES)
			p->rec->tracked_pages = 0;
		uint32_t n = ps_json_get(j, root, "skipped");
		if (n && j->node[n].type == PS_JSON_ARRAY)
			p->rec->nskipped = j->node[n].b;
		r->rec = p->rec;
		int ret = add_spans(r, ps_json_get(j, root, "engaged"), 0, SPAN_ENGAGED, "engaged", w, err);
		r->rec = rec;
		return ret < 0 ? ret : key_spans(r, p, 0, err);
	}
	if (strcmp(ev, "exit") == 0) {
		struct ps_rec_process *p = find_active(rec, pid);
		if (!p) {
			ps_warnings_add(w, "line %zu: an exit event for process %lld, which is not running in the "
			                "recording (ignored)", r->lineno, (long long)pid);
			return 0;
		}
		p->exited = true;
		p->exit_reason = dup_str(j, ps_json_get(j, root, "reason"), "?");
		if (!p->exit_reason)
			return ps_errf(err, ENOMEM, "out of memory");
		ps_json_u64(j, ps_json_get(j, root, "wss_pages"), &p->recorded_wss_pages);
		return 0;
	}
	if (strcmp(ev, "skipped") == 0) {
		rec->skipped_processes++;
		return 0;
	}
	if (first_time(r, "process events", ev))
		ps_warnings_add(w, "line %zu: unknown process event \"%s\" (ignored; recorded by a newer pagescan?)",
		                r->lineno, ev);
	return 0;
}

/* The index of a shared object (dev, inode), added if new; -1: no memory. */
static long obj_get(struct ps_rec_reader *r, const char *dev, uint64_t inode, const char *name)
{
	for (size_t i = 0; i < r->nobj; i++)
		if (r->obj[i].inode == inode && strcmp(r->obj[i].dev, dev) == 0)
			return (long)i;
	if (ps_grow((void **)&r->obj, &r->objcap, r->nobj + 1, sizeof(*r->obj)) < 0)
		return -1;
	struct rec_obj *o = &r->obj[r->nobj];
	*o = (struct rec_obj){ .inode = inode, .lo = UINT64_MAX };
	o->dev = strdup(dev);
	size_t nl = strlen(name);
	o->name = malloc(nl + sizeof("shared "));
	if (!o->dev || !o->name) {
		free(o->dev);
		free(o->name);
		return -1;
	}
	memcpy(o->name, "shared ", sizeof("shared ") - 1);
	memcpy(o->name + sizeof("shared ") - 1, name, nl + 1);
	return (long)r->nobj++;
}

/* Copies of the process's spans sub->spans[from..] into the workload's,
 * in the key space, named "PID NAME". */
static int key_spans(struct ps_rec_reader *r, const struct ps_rec_process *p, size_t from, struct ps_err *err)
{
	struct ps_recording *rec = r->rec, *sub = p->rec;
	uint64_t base = (uint64_t)(p - rec->procs + 1) << PS_REC_KEY_PROC_SHIFT;
	char pid[24];
	int pl = snprintf(pid, sizeof(pid), "%lld ", (long long)p->pid);

	for (size_t i = from; i < sub->nspans; i++) {
		const struct ps_rec_span *s = &sub->spans[i];
		if (s->end > (uint64_t)1 << PS_REC_KEY_PROC_SHIFT)
			continue;
		if (rec->nspans >= PS_REC_MAX_SPANS)
			return ps_errf(err, E2BIG, "line %zu: more than %zu engaged, dropped or read-only ranges",
			               r->lineno, PS_REC_MAX_SPANS);
		if (ps_grow((void **)&rec->spans, &rec->spans_cap, rec->nspans + 1, sizeof(*rec->spans)) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		char *m = malloc((size_t)pl + strlen(s->mapping) + 1);
		if (!m)
			return ps_errf(err, ENOMEM, "out of memory");
		memcpy(m, pid, (size_t)pl);
		memcpy(m + pl, s->mapping, strlen(s->mapping) + 1);
		rec->spans[rec->nspans] = *s;
		rec->spans[rec->nspans].start = base | s->start;
		rec->spans[rec->nspans].end = base | s->end;
		rec->spans[rec->nspans++].mapping = m;
	}
	return 0;
}

/* A process entry's regions into the workload's set, as keys (recording.h):
 * a region with "shared" by what backs it, any other as the process's own. */
static int add_keyed(struct ps_rec_reader *r, uint32_t regs, size_t pidx, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;

	for (uint32_t c = j->node[regs].a; c; c = j->node[c].next) {
		uint64_t s, e, ks, ke;
		const char *msg;
		if (parse_range(j, c, &s, &e, &msg) < 0)
			continue; /* iv_body said so */
		uint32_t sh = ps_json_get(j, c, "shared");
		if (sh) {
			const char *dev = ps_json_str(j, ps_json_get(j, sh, "dev"), NULL);
			uint64_t inode, off;
			long k;
			if (!dev || ps_json_u64(j, ps_json_get(j, sh, "inode"), &inode) < 0 ||
			    parse_hex(ps_json_str(j, ps_json_get(j, sh, "offset"), NULL), &off) < 0 ||
			    (off & (PS_PAGE_SIZE - 1)) || (off >> PS_PAGE_SHIFT) + (e - s) >= (uint64_t)1 << 40) {
				if (!r->warned_key) {
					r->warned_key = true;
					ps_warnings_add(w, "line %zu: a region's \"shared\" is not {dev, inode, offset} or "
					                "out of range (counted as the process's own pages)", r->lineno);
				}
				goto own;
			}
			const char *name = ps_json_str(j, ps_json_get(j, c, "mapping"), NULL);
			if ((k = obj_get(r, dev, inode, name ? name : "[unnamed]")) < 0)
				return ps_errf(err, ENOMEM, "out of memory");
			if ((uint64_t)k >= (uint64_t)1 << 23)
				return ps_errf(err, E2BIG, "line %zu: more than %u shared files", r->lineno, 1u << 23);
			ks = PS_REC_KEY_SHARED | (uint64_t)k << 40 | off >> PS_PAGE_SHIFT;
			ke = ks + (e - s);
			if (ks < r->obj[k].lo)
				r->obj[k].lo = ks;
			if (ke > r->obj[k].hi)
				r->obj[k].hi = ke;
		} else {
own:
			if (e > (uint64_t)1 << PS_REC_KEY_PROC_SHIFT) {
				if (!r->warned_key) {
					r->warned_key = true;
					ps_warnings_add(w, "line %zu: a region beyond 2^56 (ignored in the workload's "
					                "figures)", r->lineno);
				}
				continue;
			}
			ks = (uint64_t)(pidx + 1) << PS_REC_KEY_PROC_SHIFT | s;
			ke = ks + (e - s);
		}
		if (rec->nruns >= PS_REC_MAX_RUNS)
			return ps_errf(err, E2BIG, "line %zu: more than %zu regions in the recording", r->lineno,
			               PS_REC_MAX_RUNS);
		if (ps_grow((void **)&rec->runs, &rec->runs_cap, rec->nruns + 1, sizeof(*rec->runs)) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		rec->runs[rec->nruns++] = (struct ps_rec_run){ ks, ke };
	}
	return 0;
}

/* run following forks writes one process's records (format_version 1)
 * until the command first forks, and a workload's from there on (process
 * events, intervals with "processes"). At the first of those the recording
 * becomes a workload's: what was read so far is the command's own
 * recording, and its intervals the workload's, its pages as its own keys
 * (a process alone shares pages with no one). 0 or -errno. */
static int to_workload(struct ps_rec_reader *r, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	if (rec->accumulate)
		return ps_errf(err, EINVAL, "line %zu: the command forked and the recording became a workload's, "
		               "recorded with --accumulate: report reads a workload's recording only without it; "
		               "record again without --accumulate", r->lineno);
	char *kind = strdup("run");
	if (!kind)
		return ps_errf(err, ENOMEM, "out of memory");
	struct ps_rec_process *p = new_proc(r, rec->pid, rec->command ? rec->command : "?", 0, err);
	if (!p) {
		free(kind);
		return err_ret(err);
	}
	struct ps_recording *sub = p->rec;
	/* The command's pages, intervals and ranges move to its own recording. */
	sub->spans = rec->spans, sub->nspans = rec->nspans, sub->spans_cap = rec->spans_cap;
	sub->iv = rec->iv, sub->niv = rec->niv, sub->iv_cap = rec->iv_cap;
	sub->runs = rec->runs, sub->nruns = rec->nruns, sub->runs_cap = rec->runs_cap;
	sub->tracked_pages = rec->tracked_pages;
	sub->nskipped = rec->nskipped;
	rec->spans = NULL, rec->nspans = rec->spans_cap = 0;
	rec->iv = NULL, rec->niv = rec->iv_cap = 0;
	rec->runs = NULL, rec->nruns = rec->runs_cap = 0;
	rec->workload = true;
	rec->workload_kind = kind;
	r->cmd_pending = 1 + (size_t)(p - rec->procs);
	uint64_t base = (uint64_t)(p - rec->procs + 1) << PS_REC_KEY_PROC_SHIFT;
	for (size_t k = 0; k < sub->niv; k++) {
		struct ps_rec_interval iv = sub->iv[k];
		if (ps_grow((void **)&rec->runs, &rec->runs_cap, rec->nruns + iv.nruns, sizeof(*rec->runs)) < 0 ||
		    ps_grow((void **)&rec->iv, &rec->iv_cap, rec->niv + 1, sizeof(*rec->iv)) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		size_t from = rec->nruns;
		for (size_t i = iv.run0; i < iv.run0 + iv.nruns; i++)
			if (sub->runs[i].end <= (uint64_t)1 << PS_REC_KEY_PROC_SHIFT)
				rec->runs[rec->nruns++] = (struct ps_rec_run){ base | sub->runs[i].start, base | sub->runs[i].end };
		iv.run0 = from;
		iv.nruns = rec->nruns - from;
		iv.shared_pages = 0;
		iv.nprocesses = 1;
		rec->iv[rec->niv++] = iv;
		p->written_pages += iv.pages;
	}
	return key_spans(r, p, 0, err);
}

static const char *const wl_interval_keys[] = { "type", "seq", "time_s", "elapsed_s", "written_pages",
                                                "written_bytes", "rate_pages_s", "rate_mib_s", "harvest_us",
                                                "tracked_pages", "wss_pages", "discarded_pages",
                                                "zero_read_pages", "ksm_merged_pages", "thp_filled_pages",
                                                "remapped_pages", "interval_s", "stretched", "over_budget", "target_overhead",
                                                "shared_written_pages", "shared_wss_pages", "processes",
                                                "soft_dirty", NULL };
static const char *const proc_entry_keys[] = { "pid", "command", "written_pages", "shared_written_pages",
                                               "wss_pages", "tracked_pages", "harvest_us", "discarded_pages",
                                               "zero_read_pages", "ksm_merged_pages", "thp_filled_pages",
                                               "remapped_pages", "regions", "mappings", "engaged", "dropped",
                                               "readonly_written", "exec", "interval_s", "stretched",
                                               "over_budget", "target_overhead", "soft_dirty", NULL };

static int rec_interval_v2(struct ps_rec_reader *r, uint32_t root, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	struct ps_rec_interval iv = { 0 };
	uint32_t procs;
	int ret;

	if (!iv_clock(r, root, &iv, w))
		return 0;
	procs = ps_json_get(j, root, "processes");
	if (!procs || j->node[procs].type != PS_JSON_ARRAY) {
		skip_record(r, w, true, " (ignored)", "line %zu: interval %llu of a workload has no \"processes\" array",
		            r->lineno, (unsigned long long)iv.seq);
		return 0;
	}
	if (iv.seq <= r->last_seq) {
		skip_record(r, w, true, " (ignored)", "line %zu: interval %llu does not follow interval %llu",
		            r->lineno, (unsigned long long)iv.seq, (unsigned long long)r->last_seq);
		return 0;
	}
	if (iv.time_s + 1e-6 < r->last_time) {
		skip_record(r, w, true, " (ignored)", "line %zu: interval %llu ends at %.6fs, before the previous one",
		            r->lineno, (unsigned long long)iv.seq, iv.time_s);
		return 0;
	}
	if (rec->niv >= PS_REC_MAX_INTERVALS)
		return ps_errf(err, E2BIG, "line %zu: more than %zu intervals", r->lineno, PS_REC_MAX_INTERVALS);
	check_keys(r, root, wl_interval_keys, "interval records", w);
	if (r->last_seq && iv.seq != r->last_seq + 1)
		ps_warnings_add(w, "line %zu: intervals %llu to %llu are missing from the recording", r->lineno,
		                (unsigned long long)r->last_seq + 1, (unsigned long long)iv.seq - 1);

	size_t from = rec->nruns;
	for (uint32_t c = j->node[procs].a; c; c = j->node[c].next) {
		int64_t pid;
		if (j->node[c].type != PS_JSON_OBJECT || ps_json_i64(j, ps_json_get(j, c, "pid"), &pid) < 0) {
			ps_warnings_add(w, "line %zu: interval %llu: a processes entry without a valid pid (ignored)",
			                r->lineno, (unsigned long long)iv.seq);
			continue;
		}
		check_keys(r, c, proc_entry_keys, "processes entries", w);
		struct ps_rec_process *p = find_active(rec, pid);
		if (!p) {
			ps_warnings_add(w, "line %zu: interval %llu: process %lld without a start event (tracked from "
			                "here)", r->lineno, (unsigned long long)iv.seq, (long long)pid);
			const char *cmd = ps_json_str(j, ps_json_get(j, c, "command"), NULL);
			if (!(p = new_proc(r, pid, cmd ? cmd : "?", iv.time_s - iv.elapsed_s, err)))
				return err_ret(err);
		}
		size_t pidx = (size_t)(p - rec->procs);
		uint32_t regs = ps_json_get(j, c, "regions");
		if (!regs || j->node[regs].type != PS_JSON_ARRAY) {
			ps_warnings_add(w, "line %zu: interval %llu: process %lld has no \"regions\" array (ignored)",
			                r->lineno, (unsigned long long)iv.seq, (long long)pid);
			continue;
		}
		struct ps_recording *sub = p->rec;
		struct ps_rec_interval piv = { .seq = iv.seq, .time_s = iv.time_s, .elapsed_s = iv.elapsed_s };
		size_t span0 = sub->nspans;
		r->rec = sub;
		ret = iv_body(r, c, regs, &piv, false, w, err);
		if (ret == 0 && ps_grow((void **)&sub->iv, &sub->iv_cap, sub->niv + 1, sizeof(*sub->iv)) < 0)
			ret = ps_errf(err, ENOMEM, "out of memory");
		if (ret == 0)
			sub->iv[sub->niv++] = piv;
		r->rec = rec;
		if (ret < 0 || (ret = key_spans(r, p, span0, err)) < 0)
			return ret;
		if (ret > 0)
			continue;
		uint64_t v;
		if (ps_json_u64(j, ps_json_get(j, c, "written_pages"), &v) == 0 && v <= MAX_PAGES)
			p->written_pages = sat_add(p->written_pages, v);
		if (ps_json_u64(j, ps_json_get(j, c, "shared_written_pages"), &v) == 0 && v <= MAX_PAGES)
			p->shared_written_pages = sat_add(p->shared_written_pages, v);
		ps_json_u64(j, ps_json_get(j, c, "wss_pages"), &p->recorded_wss_pages);
		iv.nprocesses++;
		if ((ret = add_keyed(r, regs, pidx, w, err)) < 0)
			return ret;
	}
	if (rec->nruns > from)
		rec->nruns = from + normalize_runs(rec->runs + from, rec->nruns - from);
	iv.run0 = from;
	iv.nruns = rec->nruns - from;
	for (size_t i = from; i < rec->nruns; i++) {
		iv.pages += rec->runs[i].end - rec->runs[i].start;
		if (rec->runs[i].start & PS_REC_KEY_SHARED)
			iv.shared_pages += rec->runs[i].end - rec->runs[i].start;
	}
	uint64_t wp;
	char wps[48];
	int wpv = written_pages(j, root, &wp, wps, sizeof(wps));
	bool has_wp = wpv > 0;
	iv.est_pages = rec->sample_fraction > 0 && has_wp ? wp : iv.pages;
	if (has_wp && !(rec->sample_fraction > 0) && wp != iv.pages && !r->warned_wl_count) {
		r->warned_wl_count = true;
		ps_warnings_add(w, "line %zu: interval %llu says the workload wrote %llu pages but its processes' "
		                "regions hold %llu distinct pages (the regions are used%s)", r->lineno,
		                (unsigned long long)iv.seq, (unsigned long long)wp, (unsigned long long)iv.pages,
		                iv.shared_pages || r->nobj ? "" : "; recorded without \"shared\" on regions, so "
		                "pages of shared mappings count once per process");
	} else if (wpv < 0 && !r->warned_wl_count) {
		r->warned_wl_count = true;
		ps_warnings_add(w, "line %zu: interval %llu says the workload wrote %s pages, not a page count, and its "
		                "processes' regions hold %llu distinct pages (the regions are used)", r->lineno,
		                (unsigned long long)iv.seq, wps, (unsigned long long)iv.pages);
	}
	ps_json_u64(j, ps_json_get(j, root, "harvest_us"), &iv.harvest_us);
	if (ps_json_u64(j, ps_json_get(j, root, "tracked_pages"), &iv.tracked_pages) < 0 ||
	    iv.tracked_pages > MAX_PAGES)
		iv.tracked_pages = 0;
	/* --compare soft-dirty: the workload's sums (each process's own
	 * comparison is in its entry; its mappings there) */
	if (rec->soft_dirty && (ret = rec_sd(r, root, &iv, w, err)) < 0)
		return ret;
	if (ps_grow((void **)&rec->iv, &rec->iv_cap, rec->niv + 1, sizeof(*rec->iv)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	rec->iv[rec->niv++] = iv;
	r->last_seq = iv.seq;
	r->last_time = iv.time_s;
	return 0;
}

static const char *const end_keys[] = { "type", "reason", "detail", "intervals", "duration_s", "wss_pages",
                                        "wss_bytes", "rate_pages_s", "hottest", "hottest_by", "exit_status",
                                        "discarded_pages", "zero_read_pages", "ksm_merged_pages",
                                        "thp_filled_pages", "remapped_pages", "target_overhead",
                                        "shared_wss_pages", "processes", "untracked_processes", "estimated",
                                        "wss_pages_bounds", "sample", "soft_dirty", NULL };

static int rec_end(struct ps_rec_reader *r, uint32_t root, struct ps_warnings *w, struct ps_err *err)
{
	struct ps_recording *rec = r->rec;
	const struct ps_json *j = &r->j;
	uint64_t n;

	check_keys(r, root, end_keys, "the end record", w);
	rec->has_end = true;
	rec->end_reason = dup_str(j, ps_json_get(j, root, "reason"), "?");
	if (!rec->end_reason)
		return ps_errf(err, ENOMEM, "out of memory");
	if (ps_json_double(j, ps_json_get(j, root, "duration_s"), &rec->end_duration_s) < 0) {
		rec->end_duration_s = -1;
	} else if (!(rec->end_duration_s >= 0 && rec->end_duration_s <= PS_REC_MAX_TIME_S)) {
		ps_warnings_add(w, "line %zu: the end record's duration_s %g is out of range (0 to %.0f s; ignored: the "
		                "last interval's end is used)", r->lineno, rec->end_duration_s, PS_REC_MAX_TIME_S);
		rec->end_duration_s = -1;
	}
	rec->end_has_wss = ps_json_u64(j, ps_json_get(j, root, "wss_pages"), &rec->end_wss_pages) == 0;
	if (rec->workload)
		ps_json_u64(j, ps_json_get(j, root, "shared_wss_pages"), &rec->end_shared_wss_pages);
	uint32_t sd = ps_json_get(j, root, "soft_dirty");
	rec->end_has_sd = rec->soft_dirty && sd && j->node[sd].type == PS_JSON_OBJECT && sd_counts(j, sd, &rec->end_sd);
	if (ps_json_u64(j, ps_json_get(j, root, "intervals"), &n) == 0 && n != r->last_seq)
		ps_warnings_add(w, "line %zu: the end record counts %llu intervals, the last one read is %llu",
		                r->lineno, (unsigned long long)n, (unsigned long long)r->last_seq);
	return 0;
}

int ps_rec_reader_line(struct ps_rec_reader *r, const char *line, size_t len, bool complete,
                       struct ps_warnings *w, struct ps_err *err)
{
	struct ps_json *j = &r->j;
	int ret;

	r->lineno++;
	if (r->stopped)
		return 0;
	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0) {
		if (complete)
			ps_warnings_add(w, "line %zu is empty (ignored)", r->lineno);
		return 0;
	}
	if (len > PS_REC_MAX_LINE)
		return ps_errf(err, E2BIG, "line %zu is longer than %zu MiB", r->lineno, PS_REC_MAX_LINE >> 20);
	ret = ps_json_parse(j, line, len);
	if (ret == -ENOMEM)
		return ps_errf(err, ENOMEM, "out of memory");
	if (ret == -EINVAL && !r->started && !complete && j->err_pos >= len)
		return ps_errf(err, EINVAL, "the recording ends inside its first line (cut off?)");
	if (ret < 0 && !r->started)
		return ps_errf(err, EINVAL, "not a pagescan recording: line %zu is not JSON (%s at byte %zu)",
		               r->lineno, j->err, j->err_pos + 1);
	if (ret == -E2BIG)
		return ps_errf(err, E2BIG, "line %zu: %s", r->lineno, j->err);
	if (ret < 0) {
		r->bad_lines++;
		if (!complete)
			skip_record(r, w, true, ": ignored", "line %zu is cut off (the recording ends in the middle of "
			            "a record; was the watch killed?)", r->lineno);
		else
			skip_record(r, w, true, ": ignored", "line %zu is not valid JSON (%s at byte %zu)", r->lineno,
			            j->err, j->err_pos + 1);
		return 0;
	}
	if (j->replaced) {
		r->replaced += j->replaced;
		ps_warnings_add(w, "line %zu: invalid UTF-8 or escapes replaced by U+FFFD", r->lineno);
	}
	const char *type = ps_json_str(j, ps_json_get(j, 0, "type"), NULL);
	if (!r->started) {
		if (!type || strcmp(type, "start") != 0)
			return ps_errf(err, EINVAL, "not a pagescan recording: the first record is not a start record "
			               "(record it with pagescan watch -f json -o FILE)");
		r->started = true;
		return rec_start(r, 0, w, err);
	}
	if (!type) {
		skip_record(r, w, true, " (ignored)", "line %zu: a record without a \"type\"", r->lineno);
		return 0;
	}
	if (strcmp(type, "start") == 0) {
		ps_warnings_add(w, "line %zu: a second start record (recordings concatenated?): the rest of the "
		                "input is ignored", r->lineno);
		r->stopped = true;
		return 0;
	}
	if (r->ended) {
		if (!r->warned_after_end)
			ps_warnings_add(w, "line %zu: records after the end record (ignored)", r->lineno);
		r->warned_after_end = true;
		return 0;
	}
	if (!r->rec->workload && r->rec->format_version == 1 &&
	    (strcmp(type, "process") == 0 || (strcmp(type, "interval") == 0 && ps_json_get(j, 0, "processes"))) &&
	    (ret = to_workload(r, err)) < 0)
		return ret;
	if (strcmp(type, "interval") == 0)
		return r->rec->workload ? rec_interval_v2(r, 0, w, err) : rec_interval(r, 0, w, err);
	if (strcmp(type, "process") == 0 && r->rec->workload)
		return rec_process(r, 0, w, err);
	if (strcmp(type, "end") == 0) {
		r->ended = true;
		return rec_end(r, 0, w, err);
	}
	skip_record(r, w, first_time(r, "record types", type), " (ignored; recorded by a newer pagescan?)",
	            "line %zu: unknown record type \"%s\"", r->lineno, type);
	return 0;
}

int ps_rec_reader_finish(struct ps_rec_reader *r, struct ps_recording **ret, struct ps_warnings *w,
                         struct ps_err *err)
{
	struct ps_recording *rec = r->rec;

	if (!r->started)
		return ps_errf(err, EINVAL, "the recording is empty");
	if (rec->niv == 0 && r->nskipped) {
		char more[64] = "";
		if (r->nskipped > 1)
			snprintf(more, sizeof(more), "; %zu more record%s left out", r->nskipped - 1,
			         r->nskipped == 2 ? "" : "s");
		return ps_errf(err, ENODATA, "the recording has no valid interval records: nothing to report "
		               "(%s%s)", r->first_skipped, more);
	}
	if (rec->niv == 0)
		return ps_errf(err, ENODATA, "the recording has no interval records: nothing to report");
	if (!rec->has_end)
		ps_warnings_add(w, "the recording has no end record: it was cut off (or the watch is still running); "
		                "reporting the %zu intervals it has", rec->niv);
	if (rec->interval_s <= 0)
		rec->interval_s = rec->iv[0].elapsed_s > 0 ? rec->iv[0].elapsed_s : 1;
	/* The shared objects, as one range each: from the first to the last page written. */
	for (size_t i = 0; i < r->nobj; i++) {
		if (r->obj[i].lo >= r->obj[i].hi)
			continue;
		if (ps_grow((void **)&rec->spans, &rec->spans_cap, rec->nspans + 1, sizeof(*rec->spans)) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		rec->spans[rec->nspans++] = (struct ps_rec_span){ .start = r->obj[i].lo, .end = r->obj[i].hi,
		                                                  .mapping = r->obj[i].name };
		r->obj[i].name = NULL;
	}
	for (size_t i = 0; i < rec->nprocs; i++) {
		struct ps_rec_process *p = &rec->procs[i];
		struct ps_recording *sub = p->rec;
		sub->interval_s = rec->interval_s;
		sub->has_end = p->exited || rec->has_end;
		sub->end_reason = strdup(p->exit_reason ? p->exit_reason : rec->has_end ? rec->end_reason : "?");
		if (!sub->end_reason)
			return ps_errf(err, ENOMEM, "out of memory");
		sub->end_duration_s = -1;
		sub->end_has_wss = false; /* the report compares recorded_wss_pages itself */
	}
	*ret = rec;
	r->rec = NULL;
	return 0;
}

int ps_recording_parse(const char *buf, size_t len, struct ps_recording **ret, struct ps_warnings *w,
                       struct ps_err *err)
{
	struct ps_rec_reader *r = ps_rec_reader_new();
	size_t pos = 0;
	int rc = 0;

	if (!r)
		return ps_errf(err, ENOMEM, "out of memory");
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		rc = ps_rec_reader_line(r, buf + pos, end - pos, nl != NULL, w, err);
		if (rc < 0)
			goto out;
		pos = nl ? end + 1 : len;
	}
	rc = ps_rec_reader_finish(r, ret, w, err);
out:
	ps_rec_reader_free(r);
	return rc;
}
