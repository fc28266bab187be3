/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for recordings: the JSON reader, the recording reader,
 * the analysis (with a pre-copy simulation) and all three outputs. The JSON
 * report must always parse again with the reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/json.h"
#include "pagescan/model/recording.h"
#include "pagescan/model/report.h"
#include "pagescan/render/report_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_recording *rec = NULL;
	struct ps_report *rep = NULL;
	struct ps_warnings w = { 0 };
	struct ps_err err = { 0 };
	struct ps_report_opts o = { .bandwidth = 1 << 20, .downtime_ns = 100000000, .max_rounds = 50 };

	if (size > 1 << 16)
		return 0;
	if (size && data[0] == '#') /* a first byte '#': vary the simulation */
		o.bandwidth = size > 1 ? (uint64_t)data[1] * 4096 + 1 : 1;
	if (ps_recording_parse((const char *)data, size, &rec, &w, &err) == 0) {
		if (ps_report_analyse(rec, &o, &rep, &w, &err) == 0) {
			struct ps_out out;
			struct ps_json j = { 0 };
			ps_out_init(&out, -1);
			ps_report_json(&out, rec, rep, &w);
			if (!out.error && ps_json_parse(&j, out.buf, out.len) != 0)
				abort(); /* our own JSON must read back */
			ps_json_free(&j);
			out.len = 0;
			ps_report_text(&out, rec, rep);
			out.len = 0;
			ps_report_svg(&out, rec, rep);
			ps_out_free(&out);
			ps_report_free(rep);
		}
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
	return 0;
}
