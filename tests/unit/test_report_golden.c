/* SPDX-License-Identifier: MIT */
/* `pagescan report` on a small fixed recording, byte for byte:
 * tests/data/report-small.jsonl (6 intervals of 0.5 s, three mappings, one
 * engaged during the watch, rates all different) analysed with
 * --bandwidth 48K --downtime 100ms must give exactly
 * tests/data/report-small.json (-f json; "@PAGESCAN_VERSION@" stands for the
 * version) and tests/data/report-small.txt (text).
 *
 * The numbers in them were checked by hand: 13 unique pages (9 [anon], 3
 * /lib/libx.so, 1 [heap]), 26 page writes, 6 written once; windows of 1, 2,
 * 5, 6 intervals: mean 26/6, 39/5, 25/2, 13, max 10 (seq 4), 11 (seq 4), 13
 * (seq 2), 13; rates 10, 7.9984, 0, 20, 1.9992, 12.0048 pages/s (mean 8.667,
 * p50 8.999, p95 18.001, p99 19.600); pre-copy at 12 pages/s: rounds of 24,
 * 11 and 7 pages, then the recording runs out at 3.0 s (round 3 would end
 * at 3.5 s).
 *
 * After an intended change of the output, regenerate both files with the
 * built binary (see tests/data/README.md) and check the difference. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/recording.h"
#include "pagescan/model/report.h"
#include "pagescan/render/report_fmt.h"
#include "helpers.h"
#include "tap.h"

/* tests/data/NAME, found from this file's path (CMake compiles it by its
 * absolute path). */
static char *slurp(const char *name, size_t *len)
{
	char *path = data_path(name), *buf = NULL;
	FILE *fp = path ? fopen(path, "r") : NULL;
	if (!fp) {
		printf("# cannot open %s\n", path ? path : name);
		free(path);
		return NULL;
	}
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (cap - *len < 4096) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				break;
			buf = nb;
		}
		size_t n = fread(buf + *len, 1, cap - *len, fp);
		if (n == 0)
			break;
		*len += n;
	}
	fclose(fp);
	free(path);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

/* want with every "@PAGESCAN_VERSION@" replaced by the version. */
static char *with_version(const char *want)
{
	static const char tok[] = "@PAGESCAN_VERSION@";
	const size_t toklen = sizeof(tok) - 1, vlen = strlen(PAGESCAN_VERSION);
	size_t n = strlen(want) + 1;
	for (const char *p = want; (p = strstr(p, tok)); p += toklen)
		n += vlen;
	char *out = malloc(n), *o = out;
	if (!out)
		return NULL;
	for (const char *p = want;;) {
		const char *q = strstr(p, tok);
		size_t keep = q ? (size_t)(q - p) : strlen(p);
		memcpy(o, p, keep);
		o += keep;
		if (!q)
			break;
		memcpy(o, PAGESCAN_VERSION, vlen);
		o += vlen;
		p = q + toklen;
	}
	*o = '\0';
	return out;
}

/* Whole-output comparison; on a difference, where it starts. */
static void same_bytes(const char *got, size_t glen, const char *want, const char *what)
{
	size_t wlen = strlen(want), i = 0;
	while (i < glen && i < wlen && got[i] == want[i])
		i++;
	if (!ok(glen == wlen && i == wlen, "%s: byte for byte (%zu bytes)", what, wlen)) {
		size_t from = i > 60 ? i - 60 : 0;
		printf("#   first difference at byte %zu of %zu (got %zu)\n", i, wlen, glen);
		printf("#   got  ...%.*s\n", (int)((glen - from) < 160 ? glen - from : 160), got + from);
		printf("#   want ...%.*s\n", (int)((wlen - from) < 160 ? wlen - from : 160), want + from);
	}
}

int main(void)
{
	size_t len, jlen, tlen;
	char *rec_text = slurp("report-small.jsonl", &len);
	char *json_want = slurp("report-small.json", &jlen);
	char *text_want = slurp("report-small.txt", &tlen);
	if (!ok(rec_text && json_want && text_want, "the recording and the expected reports are readable"))
		return tap_done();

	struct ps_warnings w = { 0 };
	struct ps_recording *rec = NULL;
	struct ps_report *rep = NULL;
	struct ps_err err = { 0 };
	/* --bandwidth 48K --downtime 100ms, default rounds */
	struct ps_report_opts o = { .bandwidth = 48 * 1024, .downtime_ns = 100000000 };
	int r = ps_recording_parse(rec_text, len, &rec, &w, &err);
	if (!ok(r == 0, "the recording parses (%s)", err.msg))
		return tap_done();
	r = ps_report_analyse(rec, &o, &rep, &w, &err);
	if (!ok(r == 0 && rep, "the recording is analysed (%s)", err.msg))
		return tap_done();
	is_u64(w.n, 0, "no warnings");

	struct ps_out out;
	ps_out_init(&out, -1);
	ps_report_json(&out, rec, rep, &w);
	char *want = with_version(json_want);
	same_bytes(out.buf, out.len, want, "report -f json");
	free(want);
	ps_out_free(&out);

	ps_out_init(&out, -1);
	ps_report_text(&out, rec, rep);
	same_bytes(out.buf, out.len, text_want, "report (text)");
	ps_out_free(&out);

	ps_report_free(rep);
	ps_recording_free(rec);
	ps_warnings_free(&w);
	free(rec_text);
	free(json_want);
	free(text_want);
	return tap_done();
}
