/* SPDX-License-Identifier: MIT */
/* report: read a recording (file or standard input), analyse it, print the
 * report as text or JSON, and optionally write the SVG. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pagescan/model/report.h"
#include "pagescan/render/report_fmt.h"

#define CHUNK ((size_t)1 << 20)

/* Feed the reader line by line; lines are capped at PS_REC_MAX_LINE. */
static int read_recording(int fd, const char *name, struct ps_recording **ret, struct ps_warnings *w,
                          struct ps_err *err)
{
	struct ps_rec_reader *rr = ps_rec_reader_new();
	char *buf = NULL;
	size_t cap = 0, len = 0, scan = 0;
	int r = 0;

	if (!rr)
		return ps_errf(err, ENOMEM, "out of memory");
	for (;;) {
		size_t start = 0;
		char *nl;
		while (len > scan && (nl = memchr(buf + scan, '\n', len - scan)) != NULL) {
			size_t end = (size_t)(nl - buf);
			r = ps_rec_reader_line(rr, buf + start, end - start, true, w, err);
			if (r < 0)
				goto out;
			start = scan = end + 1;
		}
		if (start)
			memmove(buf, buf + start, len - start);
		len -= start;
		scan = len;
		if (len > PS_REC_MAX_LINE) {
			r = ps_errf(err, E2BIG, "%s: a line is longer than %zu MiB", name, PS_REC_MAX_LINE >> 20);
			goto out;
		}
		if (cap - len < CHUNK) {
			char *p = realloc(buf, len + CHUNK);
			if (!p) {
				r = ps_errf(err, ENOMEM, "out of memory");
				goto out;
			}
			buf = p;
			cap = len + CHUNK;
		}
		ssize_t got = read(fd, buf + len, CHUNK);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = ps_errf(err, errno, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len && (r = ps_rec_reader_line(rr, buf, len, false, w, err)) < 0)
		goto out;
	r = ps_rec_reader_finish(rr, ret, w, err);
out:
	if (r < 0 && strncmp(err->msg, name, strlen(name)) != 0)
		ps_err_prefix(err, "%s", name);
	free(buf);
	ps_rec_reader_free(rr);
	return r;
}

static int write_svg(const char *path, const struct ps_recording *rec, const struct ps_report *rep,
                     struct ps_err *err)
{
	struct ps_out so;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r;

	if (fd < 0)
		return ps_errf(err, errno, "cannot create %s: %s", path, strerror(errno));
	ps_out_init(&so, fd);
	ps_report_svg(&so, rec, rep);
	r = ps_out_flush(&so);
	if (!r && so.error)
		r = -so.error;
	ps_out_free(&so);
	/* Close exactly once; a failed close after a clean flush is a write error. */
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r) {
		unlink(path);
		return ps_errf(err, -r, "cannot write %s: %s", path, strerror(-r));
	}
	return 0;
}

/* The reader's and the analysis's warnings, on standard error through ps_warn. */
static void show_warnings(const struct ps_warnings *w)
{
	for (size_t i = 0; i < w->n; i++)
		ps_warn("%s", w->msg[i]);
	if (w->suppressed)
		ps_warn("%zu more warnings not shown", w->suppressed);
}

int ps_cmd_report(const struct ps_report_args *o, struct ps_err *err)
{
	const char *name = o->file && strcmp(o->file, "-") != 0 ? o->file : NULL;
	struct ps_warnings w = { 0 };
	struct ps_recording *rec = NULL;
	struct ps_report *rep = NULL;
	struct ps_out out;
	int fd = STDIN_FILENO, ret = PS_EXIT_FAIL;
	bool shown = false;

	if (name) {
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ps_errf(err, errno, "cannot open %s: %s", name, strerror(errno));
			return PS_EXIT_FAIL;
		}
	}
	int r = read_recording(fd, name ? name : "standard input", &rec, &w, err);
	if (name)
		close(fd);
	if (r < 0)
		goto out;
	struct ps_report_opts ro = { .bandwidth = o->bandwidth, .downtime_ns = o->downtime_ns,
	                             .max_rounds = o->max_rounds };
	if (ps_report_analyse(rec, &ro, &rep, &w, err) < 0)
		goto out;
	if (o->svg_out && write_svg(o->svg_out, rec, rep, err) < 0)
		goto out;

	/* Warnings first (stderr), so that they are not lost behind a long report. */
	show_warnings(&w);
	shown = true;
	ps_out_init(&out, STDOUT_FILENO);
	if (o->format == PS_OUT_JSON)
		ps_report_json(&out, rec, rep, &w);
	else
		ps_report_text(&out, rec, rep);
	r = ps_out_flush(&out);
	if (!r && out.error)
		r = -out.error;
	ps_out_free(&out);
	if (r < 0 && r != -EPIPE) {
		ps_errf(err, -r, "cannot write the report: %s", strerror(-r));
		goto out;
	}
	ret = PS_EXIT_OK;
out:
	/* A recording refused: what was wrong with its lines, before main's
	 * error (the error alone names only the first problem). */
	if (!shown)
		show_warnings(&w);
	ps_report_free(rep);
	ps_recording_free(rec);
	ps_warnings_free(&w);
	return ret;
}
