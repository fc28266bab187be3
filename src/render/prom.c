/* `watch --prom-file PATH`: the Prometheus text exposition format, in the
 * style of node_exporter's textfile collector. After every interval the
 * whole file is written to PATH.tmp in the same directory, fsync'ed and
 * renamed over PATH: a reader sees the previous file or the new one, never
 * a partial one. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagescan/model/report.h"
#include "pagescan/model/util.h"
#include "pagescan/model/watch.h"

/* Valid UTF-8 sequence length at s (n bytes left), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void ps_prom_label_value(struct ps_out *o, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			ps_out_str(o, "\\\\");
			i++;
		} else if (c == '"') {
			ps_out_str(o, "\\\"");
			i++;
		} else if (c == '\n') {
			ps_out_str(o, "\\n");
			i++;
		} else {
			size_t l = utf8_seq((const unsigned char *)s + i, n - i);
			if (l == 0) {
				ps_out_str(o, "\xef\xbf\xbd");
				i++;
			} else {
				ps_out_mem(o, s + i, l);
				i += l;
			}
		}
	}
}

static void labels(struct ps_out *o, const struct ps_prom_state *st)
{
	ps_out_str(o, "{pid=\"");
	ps_out_i64(o, st->pid);
	ps_out_str(o, "\",command=\"");
	ps_prom_label_value(o, st->command ? st->command : "");
	ps_out_str(o, "\"} ");
}

static void head(struct ps_out *o, const char *name, const char *type, const char *help)
{
	ps_out_str(o, "# HELP ");
	ps_out_str(o, name);
	ps_out_chr(o, ' ');
	ps_out_str(o, help);
	ps_out_str(o, "\n# TYPE ");
	ps_out_str(o, name);
	ps_out_chr(o, ' ');
	ps_out_str(o, type);
	ps_out_chr(o, '\n');
	ps_out_str(o, name);
}

static void metric_u64(struct ps_out *o, const struct ps_prom_state *st, const char *name, const char *type,
                       const char *help, uint64_t v)
{
	head(o, name, type, help);
	labels(o, st);
	ps_out_u64(o, v);
	ps_out_chr(o, '\n');
}

static void metric_dbl(struct ps_out *o, const struct ps_prom_state *st, const char *name, const char *type,
                       const char *help, double v, int decimals)
{
	head(o, name, type, help);
	labels(o, st);
	ps_out_fixed(o, v, decimals);
	ps_out_chr(o, '\n');
}

void ps_prom_render(struct ps_out *o, const struct ps_prom_state *st)
{
	metric_u64(o, st, "pagescan_watch_running", "gauge",
	           "1 while the pagescan watch writing this file runs, 0 after it ended.", st->running);
	metric_u64(o, st, "pagescan_intervals_total", "counter", "Intervals harvested since the watch started.",
	           st->intervals);
	metric_dbl(o, st, "pagescan_interval_seconds", "gauge", "Length of the last interval.", st->interval_s, 6);
	metric_u64(o, st, "pagescan_written_pages", "gauge",
	           "Pages (4 KiB) written during the last interval (cumulative with --accumulate).",
	           st->written_pages);
	metric_u64(o, st, "pagescan_written_bytes", "gauge",
	           "Bytes of the pages written during the last interval (cumulative with --accumulate).",
	           st->written_pages * PS_PAGE_SIZE);
	metric_u64(o, st, "pagescan_written_pages_total", "counter",
	           "Pages written, summed over intervals (a page written in two intervals counts twice).",
	           st->written_pages_total);
	metric_dbl(o, st, "pagescan_dirty_rate_pages_per_second", "gauge",
	           "Pages written per second during the last interval.", st->rate_pages_s, 3);
	metric_dbl(o, st, "pagescan_dirty_rate_bytes_per_second", "gauge",
	           "Bytes of pages written per second during the last interval.",
	           st->rate_pages_s * (double)PS_PAGE_SIZE, 3);
	metric_u64(o, st, "pagescan_write_working_set_pages", "gauge",
	           "Distinct pages written since the watch started.", st->wss_pages);
	metric_u64(o, st, "pagescan_write_working_set_bytes", "gauge",
	           "Bytes of the distinct pages written since the watch started.", st->wss_pages * PS_PAGE_SIZE);
	metric_u64(o, st, "pagescan_tracked_pages", "gauge", "Pages under write tracking.", st->tracked_pages);
	metric_u64(o, st, "pagescan_tracked_bytes", "gauge", "Bytes under write tracking.",
	           st->tracked_pages * PS_PAGE_SIZE);
	metric_dbl(o, st, "pagescan_harvest_seconds", "gauge",
	           "Time the last harvest of written pages took (PAGEMAP_SCAN and re-arming).",
	           (double)st->harvest_us / 1e6, 6);
	metric_dbl(o, st, "pagescan_harvest_seconds_total", "counter",
	           "Time spent harvesting written pages since the watch started.",
	           (double)st->harvest_us_total / 1e6, 6);
}

/* ---- the sink ---------------------------------------------------------------------- */

struct prom_sink {
	struct ps_sink s;
	char *path, *tmp;
	char *command;
	bool accumulate;
	struct ps_prom_state st;
	struct ps_out out;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int publish(struct prom_sink *ps)
{
	int fd, r;

	ps->out.len = 0;
	ps_prom_render(&ps->out, &ps->st);
	if (ps->out.error)
		return -ps->out.error;
	fd = open(ps->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = write_all(fd, ps->out.buf, ps->out.len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(ps->tmp, ps->path) < 0)
		r = -errno;
	if (r)
		unlink(ps->tmp);
	return r;
}

static int prom_start(struct ps_sink *s, const struct ps_watch_start *w)
{
	struct prom_sink *ps = (struct prom_sink *)s;

	free(ps->command);
	ps->command = strdup(w->command ? w->command : "");
	if (!ps->command)
		return -ENOMEM;
	ps->accumulate = w->accumulate;
	ps->st = (struct ps_prom_state){ .pid = w->pid, .command = ps->command, .running = true,
	                                 .tracked_pages = w->tracked_pages };
	return publish(ps);
}

static int prom_interval(struct ps_sink *s, const struct ps_interval *iv)
{
	struct prom_sink *ps = (struct prom_sink *)s;
	struct ps_prom_state *st = &ps->st;

	st->intervals = iv->seq;
	st->interval_s = iv->elapsed_s;
	st->written_pages = iv->written_pages;
	st->rate_pages_s = iv->rate_pages_s;
	/* With --accumulate written_pages is the cumulative set: the sum of
	 * per-interval writes is then not known, the distinct count is. */
	st->written_pages_total = ps->accumulate ? iv->wss_pages : st->written_pages_total + iv->written_pages;
	st->wss_pages = iv->wss_pages;
	st->tracked_pages = iv->tracked_pages;
	st->harvest_us = iv->harvest_us;
	st->harvest_us_total += iv->harvest_us;
	return publish(ps);
}

static int prom_end(struct ps_sink *s, const struct ps_watch_end *e)
{
	struct prom_sink *ps = (struct prom_sink *)s;

	(void)e;
	ps->st.running = false;
	return publish(ps);
}

static void prom_destroy(struct ps_sink *s)
{
	struct prom_sink *ps = (struct prom_sink *)s;

	ps_out_free(&ps->out);
	free(ps->path);
	free(ps->tmp);
	free(ps->command);
	free(ps);
}

struct ps_sink *ps_sink_prom_new(const char *path, struct ps_err *err)
{
	struct prom_sink *ps;
	int fd;

	if (!path || !*path || strlen(path) > PATH_MAX - 8) {
		ps_errf(err, EINVAL, "--prom-file needs a file name (at most %d bytes)", PATH_MAX - 8);
		return NULL;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps || !(ps->path = strdup(path)) || asprintf(&ps->tmp, "%s.tmp", path) < 0) {
		if (ps) {
			ps->tmp = NULL;
			prom_destroy(&ps->s);
		}
		ps_errf(err, ENOMEM, "out of memory");
		return NULL;
	}
	/* Fail now, before attaching, when the directory is not writable. */
	fd = open(ps->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ps_errf(err, errno, "cannot write --prom-file %s: cannot create %s: %s", path, ps->tmp, strerror(errno));
		prom_destroy(&ps->s);
		return NULL;
	}
	close(fd);
	unlink(ps->tmp);
	ps_out_init(&ps->out, -1);
	ps->s.start = prom_start;
	ps->s.interval = prom_interval;
	ps->s.end = prom_end;
	ps->s.destroy = prom_destroy;
	ps->s.input_fd = -1;
	return &ps->s;
}
