/* SPDX-License-Identifier: MIT */
/* The heatmap grid model and view (src/model/heat.c) and its frames
 * (src/render/heat_frame.c): bucketing pages into cells, partial cells,
 * labels and mapping boundaries, zoom, history decay, cumulative counts,
 * layout changes, the view's keys, glyphs and colours, and whole frames
 * compared line by line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/heat.h"
#include "pagescan/render/heat_frame.h"
#include "pagescan/model/util.h"
#include "tap.h"

#define P 4096ull

/* ---- fixtures ---------------------------------------------------------------------- */

/* prog: 1 page, [heap]: 16 pages, anon: 101 pages (a partial last cell at 4 pages per cell). */
static const char maps3[] =
	"00400000-00401000 rw-p 00000000 08:01 123 /usr/bin/prog\n"
	"01000000-01010000 rw-p 00000000 00:00 0 [heap]\n"
	"7f0000000000-7f0000065000 rw-p 00000000 00:00 0 \n";
#define HEAP 0x01000000ull
#define ANON 0x7f0000000000ull

struct fx {
	struct ps_maps m;
	struct ps_rangeset t;
	struct ps_heat h;
	struct ps_heat_view v;
	struct ps_heat_frame f;
	uint64_t seq;
};

static void fx_maps(struct fx *x, const char *text)
{
	struct ps_err e;
	ps_maps_free(&x->m);
	ps_rangeset_clear(&x->t);
	if (ps_maps_parse(text, strlen(text), &x->m, &e) < 0) {
		printf("# maps: %s\n", e.msg);
		exit(1);
	}
	for (size_t i = 0; i < x->m.n; i++)
		ps_rangeset_add(&x->t, x->m.v[i].start, x->m.v[i].end);
}

static void fx_init(struct fx *x, const char *maps, bool interactive)
{
	memset(x, 0, sizeof(*x));
	fx_maps(x, maps);
	ps_heat_init(&x->h);
	ps_heat_view_init(&x->v, interactive);
	/* The drawing tests below read frames in address order (key o); the
	 * default order, busiest first with idle small mappings folded, has
	 * its own tests (test_order). */
	x->v.by_address = true;
	struct ps_watch_start ws = { .pid = 42, .command = "prog", .interval_ns = 1000000000ull,
	                             .tracked_pages = ps_rangeset_total(&x->t) / P, .maps = &x->m, .tracked = &x->t };
	is_int(ps_heat_start(&x->h, &ws), 0, "start");
}

static void fx_free(struct fx *x)
{
	ps_heat_free(&x->h);
	ps_heat_view_free(&x->v);
	ps_heat_frame_free(&x->f);
	ps_maps_free(&x->m);
	ps_rangeset_free(&x->t);
}

/* One interval: pairs of [start, end) byte addresses, 0-terminated. */
static void fx_interval(struct fx *x, ...)
{
	struct ps_regions w = { 0 };
	va_list ap;
	va_start(ap, x);
	for (;;) {
		uint64_t s = va_arg(ap, uint64_t);
		if (!s)
			break;
		uint64_t e = va_arg(ap, uint64_t);
		ps_regions_push(&w, s, e, 0);
	}
	va_end(ap);
	uint64_t pages = ps_regions_pages(&w);
	struct ps_interval iv = {
		.seq = ++x->seq, .time_s = (double)x->seq, .elapsed_s = 1.0, .written_pages = pages,
		.rate_pages_s = (double)pages, .harvest_us = 50, .tracked_pages = ps_rangeset_total(&x->t) / P,
		.wss_pages = pages, .maps = &x->m, .tracked = &x->t, .written = &w,
	};
	is_int(ps_heat_interval(&x->h, &iv), 0, "interval %llu", (unsigned long long)x->seq);
	ps_regions_free(&w);
}

#define PG(base, a, b) (uint64_t)((base) + (a) * P), (uint64_t)((base) + (b) * P)
#define END (uint64_t)0

static void render(struct fx *x, int w, int h)
{
	ps_heat_frame_size(&x->f, w, h);
	ps_heat_render(&x->h, &x->v, &x->f);
}

/* Compare a frame with the expected lines (trailing spaces trimmed). */
static void is_frame(const struct ps_heat_frame *f, const char *const *want, int n, const char *what)
{
	char buf[PS_HEAT_MAX_DIM + 1];
	int bad = -1;
	for (int y = 0; y < f->h; y++) {
		const char *w = y < n ? want[y] : "";
		if (strcmp(ps_heat_frame_line(f, y, buf), w) != 0) {
			bad = y;
			break;
		}
	}
	if (!ok(bad < 0 && n == f->h, "frame: %s", what)) {
		{
			printf("#   first difference at line %d; got:\n", bad);
			for (int y = 0; y < f->h; y++)
				printf("#   \"%s\",\n", ps_heat_frame_line(f, y, buf));
		}
	}
}

/* The grid line of the frame whose label starts with address addr. */
static const char *grid_of(const struct ps_heat_frame *f, uint64_t addr, char *buf)
{
	char hex[32];
	snprintf(hex, sizeof(hex), "0x%llx ", (unsigned long long)addr);
	for (int y = 3; y < f->h; y++) {
		ps_heat_frame_line(f, y, buf);
		const char *p = buf;
		while (*p == ' ' || *p == '>')
			p++;
		if (strncmp(p, hex, strlen(hex)) == 0) {
			const char *g = strchr(p + strlen(hex), '[');
			/* skip a "[anon]"/"[heap]" label: the grid bracket comes after */
			while (g && (strncmp(g, "[anon]", 6) == 0 || strncmp(g, "[heap]", 6) == 0))
				g = strchr(g + 1, '[');
			return g ? g : "";
		}
	}
	return "(no such row)";
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_levels(void)
{
	is_int(ps_heat_level(0), 0, "level of 0");
	is_int(ps_heat_level(-1), 0, "level of a negative value");
	is_int(ps_heat_level(1e-12), 1, "any write at all is level 1");
	is_int(ps_heat_level(0.125), 1, "1/8 is level 1");
	is_int(ps_heat_level(0.126), 2, "just above 1/8 is level 2");
	is_int(ps_heat_level(0.25), 2, "1/4 is level 2");
	is_int(ps_heat_level(0.5), 4, "1/2 is level 4");
	is_int(ps_heat_level(0.75), 6, "3/4 is level 6");
	is_int(ps_heat_level(0.875), 7, "7/8 is level 7");
	is_int(ps_heat_level(0.9), 8, "above 7/8 is level 8");
	is_int(ps_heat_level(1), 8, "1 is level 8");
	is_int(ps_heat_level(2), 8, "clamped above 1");
	char g[PS_HEAT_LEVELS + 1];
	for (int l = 0; l < PS_HEAT_LEVELS; l++)
		g[l] = ps_heat_glyph(l);
	g[PS_HEAT_LEVELS] = 0;
	is_str(g, ".:-=+*#%@", "glyph ramp");
	is_int((unsigned char)ps_heat_glyph(-3), '.', "glyph clamps low");
	is_int((unsigned char)ps_heat_glyph(99), '@', "glyph clamps high");
}

static void test_colors(void)
{
	struct ps_heat_attr a;

	is_int(ps_heat_colors_pick(256, NULL), PS_HEAT_256, "256 colours");
	is_int(ps_heat_colors_pick(88, NULL), PS_HEAT_8, "88 colours use the 8-colour ramp");
	is_int(ps_heat_colors_pick(8, NULL), PS_HEAT_8, "8 colours");
	is_int(ps_heat_colors_pick(2, NULL), PS_HEAT_MONO, "2 colours: monochrome");
	is_int(ps_heat_colors_pick(0, NULL), PS_HEAT_MONO, "no colours: monochrome");
	is_int(ps_heat_colors_pick(256, "1"), PS_HEAT_MONO, "NO_COLOR=1: monochrome");
	is_int(ps_heat_colors_pick(256, ""), PS_HEAT_256, "NO_COLOR empty: ignored");

	ps_heat_attr_of(PS_HS_HEAT0 + 8, PS_HEAT_256, &a);
	ok(a.bg == 196 && a.fg == 231 && a.bold, "256: hottest is bold white on red (%d on %d)", a.fg, a.bg);
	ps_heat_attr_of(PS_HS_HEAT0 + 1, PS_HEAT_256, &a);
	ok(a.bg == 17 && !a.bold, "256: level 1 on dark blue (%d)", a.bg);
	ps_heat_attr_of(PS_HS_HEAT0, PS_HEAT_256, &a);
	ok(a.bg == -1 && a.fg == 242, "256: cold cells grey on the default background");
	ps_heat_attr_of(PS_HS_HEAT0 + 8, PS_HEAT_8, &a);
	ok(a.bg == 1 && a.fg == 7 && a.bold, "8: hottest is bold white on red");
	ps_heat_attr_of(PS_HS_HEAT0 + 5, PS_HEAT_8, &a);
	ok(a.bg == 2 && a.fg == 0, "8: level 5 black on green");
	ps_heat_attr_of(PS_HS_HEAT0 + 1, PS_HEAT_8, &a);
	ok(a.bg == 4, "8: level 1 on blue");
	ps_heat_attr_of(PS_HS_HEAT0 + 8, PS_HEAT_MONO, &a);
	ok(a.fg == -1 && a.bg == -1 && a.reverse && a.bold, "mono: hottest reverse bold, no colour");
	ps_heat_attr_of(PS_HS_HEAT0 + 5, PS_HEAT_MONO, &a);
	ok(a.fg == -1 && a.bg == -1 && a.bold && !a.reverse, "mono: level 5 bold");
	ps_heat_attr_of(PS_HS_HEAT0, PS_HEAT_MONO, &a);
	ok(a.dim && !a.bold, "mono: cold dim");
	int colored = 0;
	for (int s = 0; s < PS_HS_COUNT; s++) {
		ps_heat_attr_of((enum ps_heat_style)s, PS_HEAT_MONO, &a);
		colored += a.fg != -1 || a.bg != -1;
	}
	is_int(colored, 0, "mono: no style uses a colour");
	ps_heat_attr_of(PS_HS_FOCUS, PS_HEAT_8, &a);
	ok(a.reverse, "focus is reverse video");
}

static void test_layout(void)
{
	struct fx x;
	/* Two adjacent VMAs tracked as one range, a VMA tracked in part, an
	 * untracked one. */
	static const char maps[] =
		"10000000-10004000 rw-p 00000000 00:00 0 [heap]\n"
		"10004000-10008000 rw-p 00000000 00:00 0 \n"
		"20000000-20010000 rw-p 00000000 08:01 7 /lib/libfoo.so\n"
		"30000000-30001000 rw-p 00000000 00:00 0 \n";
	fx_init(&x, maps, false);
	ps_rangeset_clear(&x.t);
	ps_rangeset_add(&x.t, 0x10000000, 0x10008000);
	ps_rangeset_add(&x.t, 0x20002000, 0x20005000);
	is_int(ps_heat_layout(&x.h, &x.t, &x.m), 0, "layout");
	is_int(x.h.nseg, 3, "one segment per VMA part: the merged range splits at the VMA boundary");
	ok(x.h.seg[0].start == 0x10000000 && x.h.seg[0].end == 0x10004000 && !strcmp(x.h.seg[0].label, "[heap]"),
	   "segment 0: [heap]");
	ok(x.h.seg[1].start == 0x10004000 && x.h.seg[1].pages == 4 && !strcmp(x.h.seg[1].label, "[anon]"),
	   "segment 1: [anon], 4 pages");
	ok(x.h.seg[2].start == 0x20002000 && x.h.seg[2].pages == 3 && !strcmp(x.h.seg[2].label, "/lib/libfoo.so"),
	   "segment 2: the tracked part of libfoo");
	is_int(x.h.bin_shift, 0, "1 page per bin");

	render(&x, 60, 12);
	static const char *const want[] = {
		"pagescan heatmap  pid 42 (prog)  every 1s",
		"tracking 25 pages (100K) in 3 mappings",
		"1 cell = 1 page, auto | interval x0.5 | 3 rows",
		"     0x10000000 [heap]     [....]",
		"     0x10004000 [anon]     [....]",
		"     0x20002000 libfoo.so  [...]",
		"",
		"",
		"",
		".:-=+*#%@ = 0 to 100% of a cell written",
		"  pages/s since start  address        hottest (now)",
		"",
	};
	/* Header line 0 carries "waiting ..." on the right at this width? */
	char buf[128];
	ok(strstr(ps_heat_frame_line(&x.f, 0, buf), "waiting for the first interval") != NULL,
	   "before the first interval the header says so");
	for (int y = 1; y < 12; y++)
		is_str(ps_heat_frame_line(&x.f, y, buf), want[y], "layout frame line %d", y);
	fx_free(&x);
}

static void test_names(void)
{
	struct fx x;
	char buf[128];
	/* Control bytes and non-ASCII in a name never reach the frame raw; long
	 * names are cut with '~'; file names lose their directory. */
	fx_init(&x,
	        "10000000-10001000 rw-p 00000000 08:01 7 /tmp/a\033[2J\tb\n"
	        "10002000-10003000 rw-p 00000000 08:01 8 /opt/lib/libverylongname-1.2.3.so\n"
	        "10004000-10005000 rw-p 00000000 08:01 9 /tmp/caf\xc3\xa9\n",
	        false);
	render(&x, 60, 12);
	is_str(ps_heat_frame_line(&x.f, 3, buf), "     0x10000000 a?[2J?b    [.]", "control bytes shown as '?'");
	is_str(ps_heat_frame_line(&x.f, 4, buf), "     0x10002000 libverylo~ [.]", "long name cut with '~'");
	is_str(ps_heat_frame_line(&x.f, 5, buf), "     0x10004000 caf??      [.]", "non-ASCII bytes shown as '?'");
	for (int i = 0; i < x.f.w * x.f.h; i++)
		if (x.f.ch[i] < 0x20 || x.f.ch[i] > 0x7e) {
			ok(0, "frame byte %d is not printable ASCII (%d)", i, x.f.ch[i]);
			break;
		}
	fx_free(&x);
}

static void test_bucketing(void)
{
	struct fx x;
	char buf[256];

	fx_init(&x, maps3, false);
	/* heap: first half; anon: pages 31..40 and the last page, 100. */
	fx_interval(&x, PG(HEAP, 0, 8), PG(ANON, 31, 41), PG(ANON, 100, 101), END);
	is_u64(x.h.seg[1].now_pages, 8, "heap: 8 pages now");
	is_u64(x.h.seg[2].now_pages, 11, "anon: 11 pages now");
	is_u64(x.h.seg[2].ever_pages, 11, "anon: 11 pages ever");
	is_dbl(ps_heat_value(&x.h, 2, 28, 4, PS_HEAT_INTERVAL), 0.25, 1e-9, "pages 28..31: 1 of 4");
	is_dbl(ps_heat_value(&x.h, 2, 32, 4, PS_HEAT_INTERVAL), 1.0, 1e-9, "pages 32..35: all");
	is_dbl(ps_heat_value(&x.h, 2, 100, 4, PS_HEAT_INTERVAL), 1.0, 1e-9,
	       "the partial last cell counts only its own page");
	is_dbl(ps_heat_value(&x.h, 2, 96, 8, PS_HEAT_INTERVAL), 0.2, 1e-9, "pages 96..100: 1 of 5");

	/* 1 page per cell fits: 31 cells per row at 60 columns. */
	render(&x, 60, 12);
	static const char *const want1[] = {
		"pagescan heatmap  pid 42 (prog)  every 1s  #1 at 1.0s",
		"written 76K 0.1 MiB/s | wss 76K | harvest 50us",
		"1 cell = 1 page, auto | interval x0.5 | 6 rows",
		"       0x400000 prog       [.]",
		"      0x1000000 [heap]     [@@@@@@@@........]",
		" 0x7f0000000000 [anon]     [...............................",
		" 0x7f000001f000 [anon]      @@@@@@@@@@.....................",
		" 0x7f000003e000 [anon]      ...............................",
		" 0x7f000005d000 [anon]      .......@]",
		".:-=+*#%@ = 0 to 100% of a cell written",
		"  pages/s since start  address        hottest (now)",
		"       11          11  0x7f0000000000 [anon]",
	};
	is_frame(&x.f, want1, 12, "60x12, 1 page per cell: rows wrap, each labelled with its address");

	/* 4 pages per cell: 26 cells for 101 pages, the last one partial. */
	x.v.zoom_auto = false;
	x.v.zoom = 2;
	render(&x, 60, 12);
	is_str(grid_of(&x.f, ANON, buf), "[.......-@@-..............@]", "anon at 4 pages per cell");
	is_str(grid_of(&x.f, HEAP, buf), "[@@..]", "heap at 4 pages per cell");
	is_str(grid_of(&x.f, 0x400000, buf), "[.]", "1-page mapping: one partial cell");
	is_str(ps_heat_frame_line(&x.f, 2, buf), "1 cell = 4 pages | interval x0.5 | 3 rows", "scale line");
	/* Zooming out stops where every mapping fits one row. */
	x.v.zoom = 3;
	render(&x, 60, 12);
	is_int(x.v.shown_zoom, 2, "zoom 3 clamped to 2");
	x.v.zoom = 40;
	render(&x, 60, 12);
	is_int(x.v.shown_zoom, 2, "zoom clamped: 4 pages per cell already fits 101 pages in 31 cells");

	/* Styles: labels, borders and heat cells. */
	x.v.zoom_auto = true;
	render(&x, 60, 12);
	int y_first = 5, y_cont = 6, gx = 27;
	is_int(x.f.st[y_first * 60 + 1], PS_HS_LABEL, "first row of a mapping: label style");
	is_int(x.f.st[y_cont * 60 + 1], PS_HS_DIM, "continuation row: dim label");
	is_int(x.f.st[y_first * 60 + gx], PS_HS_DIM, "'[' border is dim");
	is_int(x.f.st[y_cont * 60 + gx + 1], PS_HS_HEAT0 + 8, "written cell: heat level 8 style");
	is_int(x.f.st[y_cont * 60 + gx + 20], PS_HS_HEAT0, "cold cell: heat level 0 style");
	is_int(x.f.st[9 * 60 + 0], PS_HS_HEAT0, "legend glyph '.' in its own heat style");
	is_int(x.f.st[9 * 60 + 8], PS_HS_HEAT0 + 8, "legend glyph '@' in its own heat style");
	fx_free(&x);
}

/* "[" + first + 30 dots: the first row of a mapping of more than 31 cells at 60 columns. */
static const char *row31(char first)
{
	static char b[40];
	b[0] = '[';
	b[1] = first;
	memset(b + 2, '.', 30);
	b[32] = 0;
	return b;
}

static void test_decay(void)
{
	struct fx x;
	char buf[256];
	static const char maps[] = "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"; /* 256 pages */
	static const int want_level[] = { 8, 4, 2, 1, 1, 0, 0 };
	static const double want_heat[] = { 1, 0.5, 0.25, 0.125, 0.0625, 0, 0 };

	fx_init(&x, maps, false);
	is_dbl(PS_HEAT_DECAY, 0.5, 0, "default decay: history halves every interval");
	fx_interval(&x, PG(ANON, 0, 1), END);
	for (int i = 0; i < 7; i++) {
		if (i)
			fx_interval(&x, END);
		double v = ps_heat_value(&x.h, 0, 0, 1, PS_HEAT_INTERVAL);
		is_dbl(v, want_heat[i], 1e-9, "heat after %d quiet intervals", i);
		is_int(ps_heat_level(v), want_level[i], "level after %d quiet intervals", i);
		is_dbl(ps_heat_value(&x.h, 0, 0, 1, PS_HEAT_CUMULATIVE), 1, 1e-9, "cumulative stays 1 (%d)", i);
	}
	x.v.zoom_auto = false;
	x.v.zoom = 0;
	render(&x, 60, 12);
	is_str(grid_of(&x.f, ANON, buf), row31('.'), "faded out completely");
	/* max(share now, faded): page 0 written at t, page 1 at t+1, shown
	 * 2 pages per cell: (0.5 + 1) / 2. */
	fx_interval(&x, PG(ANON, 0, 1), END);
	render(&x, 60, 12);
	is_str(grid_of(&x.f, ANON, buf), row31('@'), "1 page per cell: written now");
	fx_interval(&x, PG(ANON, 1, 2), END);
	is_dbl(ps_heat_value(&x.h, 0, 0, 2, PS_HEAT_INTERVAL), 0.75, 1e-9, "fresh share and faded history mix");
	x.v.zoom = 1;
	render(&x, 60, 12);
	is_str(grid_of(&x.f, ANON, buf), row31('#'), "2 pages per cell: 0.75 is '#'");
	/* Zoom changes keep history: the same bins seen at 1 page per cell. */
	x.v.zoom = 0;
	render(&x, 60, 12);
	is_str(grid_of(&x.f, ANON, buf), "[+@.............................", "1 page per cell: 0.5 and 1");
	/* 8 pages per cell: bins 0, 1 and 7 at 0.25, 0.5 and 1. */
	x.v.zoom = 3;
	fx_interval(&x, PG(ANON, 7, 8), END);
	render(&x, 60, 12);
	is_dbl(ps_heat_value(&x.h, 0, 0, 8, PS_HEAT_INTERVAL), (0.25 + 0.5 + 1) / 8, 1e-9, "8 pages per cell");
	is_str(grid_of(&x.f, ANON, buf), row31('-'), "1.75 / 8 is '-'");
	is_str(ps_heat_frame_line(&x.f, 2, buf), "1 cell = 8 pages | interval x0.5 | 2 rows", "scale: 8 pages per cell");
	for (int i = 0; i < 4; i++)
		fx_interval(&x, END);
	is_dbl(ps_heat_value(&x.h, 0, 0, 8, PS_HEAT_INTERVAL), 0.0625 / 8, 1e-9,
	       "after 4 quiet intervals only page 7 is left (1/16)");
	render(&x, 60, 12);
	is_str(grid_of(&x.f, ANON, buf), row31(':'), "still visible: any heat is at least ':'");
	fx_interval(&x, END);
	render(&x, 60, 12);
	is_str(grid_of(&x.f, ANON, buf), row31('.'), "all faded after 5 quiet intervals");
	x.v.mode = PS_HEAT_CUMULATIVE;
	render(&x, 60, 12);
	is_str(grid_of(&x.f, ANON, buf), row31('='), "cumulative: 3 of 8 pages ever written");
	fx_free(&x);
}

static void test_cumulative_reset(void)
{
	struct fx x;
	char buf[256];
	static const char maps[] = "7f0000000000-7f0000010000 rw-p 00000000 00:00 0 \n"; /* 16 pages */

	fx_init(&x, maps, false);
	fx_interval(&x, PG(ANON, 0, 4), END);
	fx_interval(&x, PG(ANON, 2, 6), END);
	is_u64(x.h.seg[0].ever_pages, 6, "pages 0..3 then 2..5: 6 distinct");
	is_u64(x.h.seg[0].now_pages, 4, "4 this interval");
	ok(x.h.seen.n == 1 && x.h.seen.r[0].start == ANON && x.h.seen.r[0].end == ANON + 6 * P, "seen = [0, 6)");
	is_dbl(ps_heat_value(&x.h, 0, 0, 8, PS_HEAT_CUMULATIVE), 0.75, 1e-9, "cumulative [0,8): 6 of 8");
	is_dbl(ps_heat_value(&x.h, 0, 0, 8, PS_HEAT_INTERVAL), (0.5 + 0.5 + 1 + 1 + 1 + 1) / 8, 1e-9,
	       "interval [0,8): pages 0,1 faded to 0.5");
	x.v.mode = PS_HEAT_CUMULATIVE;
	render(&x, 60, 12);
	is_str(ps_heat_frame_line(&x.f, 2, buf), "1 cell = 1 page, auto | cumulative | 1 row", "scale: cumulative");
	is_str(grid_of(&x.f, ANON, buf), "[@@@@@@..........]", "cumulative grid");
	is_str(ps_heat_frame_line(&x.f, 9, buf), ".:-=+*#%@ = 0 to 100% of a cell ever written", "legend: ever written");
	render(&x, 100, 30);
	is_str(ps_heat_frame_line(&x.f, 2, buf), "1 cell = 1 page (4.0K), auto | cumulative view, since start | all 1 row",
	       "scale: since start");
	is_str(ps_heat_frame_line(&x.f, 23, buf),
	       ". 0%  : >0%  - >12.5%  = >25%  + >37.5%  * >50%  # >62.5%  % >75%  @ >87.5% of a cell ever written",
	       "wide legend fits 100 columns");
	render(&x, 60, 12);
	/* Hottest table, interval view ranks by pages now; cumulative by ever. */
	is_str(ps_heat_frame_line(&x.f, 11, buf), "        4           6  0x7f0000000000 [anon]", "table row");

	ps_heat_reset(&x.h);
	is_u64(x.h.seg[0].ever_pages, 0, "reset: cumulative counts gone");
	is_int(x.h.seen.n, 0, "reset: seen set empty");
	is_dbl(ps_heat_value(&x.h, 0, 0, 16, PS_HEAT_INTERVAL), 0, 0, "reset: heat gone");
	render(&x, 100, 30);
	is_str(ps_heat_frame_line(&x.f, 2, buf), "1 cell = 1 page (4.0K), auto | cumulative view, since reset | all 1 row",
	       "scale: since reset");
	fx_interval(&x, PG(ANON, 4, 5), END);
	is_u64(x.h.seg[0].ever_pages, 1, "after reset, a page written before counts again");
	fx_free(&x);
}

static void test_relayout(void)
{
	struct fx x;

	/* A heap of 16 pages with max 4 bins: 4 pages per bin. */
	fx_init(&x, "", false);
	x.h.max_bins = 4;
	fx_maps(&x, "01000000-01010000 rw-p 00000000 00:00 0 [heap]\n");
	is_int(ps_heat_layout(&x.h, &x.t, &x.m), 0, "layout with 4 bins");
	is_int(x.h.bin_shift, 2, "16 pages in 4 bins: 4 pages per bin");
	fx_interval(&x, PG(HEAP, 0, 2), END);
	is_dbl(ps_heat_value(&x.h, 0, 0, 4, PS_HEAT_INTERVAL), 0.5, 1e-9, "bin 0: 2 of 4");
	is_dbl(ps_heat_value(&x.h, 0, 0, 1, PS_HEAT_INTERVAL), 0.5, 1e-9, "finer than a bin: the bin's value");
	render(&x, 60, 12);
	is_int(x.v.shown_zoom, 2, "zoom never finer than a bin");

	/* The heap grows to 32 pages: 8 pages per bin; heat carried by
	 * address, cumulative counts recounted exactly. */
	fx_maps(&x, "01000000-01020000 rw-p 00000000 00:00 0 [heap]\n");
	fx_interval(&x, PG(HEAP, 20, 21), END);
	is_int(x.h.bin_shift, 3, "32 pages in 4 bins: 8 pages per bin");
	is_dbl(ps_heat_value(&x.h, 0, 0, 8, PS_HEAT_INTERVAL), 0.125, 1e-9, "old heat 0.5 over 4 of 8 pages, faded");
	is_u64(x.h.seg[0].ever_pages, 3, "cumulative: 2 old pages + 1 new");
	is_dbl(ps_heat_value(&x.h, 0, 0, 8, PS_HEAT_CUMULATIVE), 0.25, 1e-9, "cumulative bin 0: 2 of 8");
	is_dbl(ps_heat_value(&x.h, 0, 16, 8, PS_HEAT_INTERVAL), 0.125, 1e-9, "bin 2: 1 of 8 now");

	/* The mapping is replaced by another one at the same address: no
	 * history is carried into it. */
	fx_maps(&x, "01000000-01020000 rw-s 00000000 00:01 9 /memfd:other (deleted)\n");
	fx_interval(&x, END);
	is_u64(x.h.seg[0].ever_pages, 0, "a different mapping starts with no cumulative count");
	is_dbl(ps_heat_value(&x.h, 0, 0, 32, PS_HEAT_INTERVAL), 0, 0, "and no heat");
	is_int(x.h.seen.n, 0, "seen pages of the old mapping forgotten");

	/* Unmapped: the segment goes away. */
	fx_maps(&x, "");
	fx_interval(&x, END);
	is_int(x.h.nseg, 0, "no segments left");
	render(&x, 60, 12);
	char buf[128];
	is_str(ps_heat_frame_line(&x.f, 3, buf), " no tracked mappings", "empty grid says so");
	fx_free(&x);
}

static void test_copy(void)
{
	struct fx x;
	struct ps_heat c;

	fx_init(&x, maps3, false);
	fx_interval(&x, PG(HEAP, 0, 8), END);
	ps_heat_init(&c);
	is_int(ps_heat_copy(&c, &x.h), 0, "copy");
	fx_interval(&x, PG(HEAP, 8, 16), END);
	is_dbl(ps_heat_value(&c, 1, 0, 8, PS_HEAT_INTERVAL), 1, 0, "the copy keeps its own bins");
	is_dbl(ps_heat_value(&c, 1, 8, 8, PS_HEAT_INTERVAL), 0, 0, "and does not see later writes");
	is_dbl(ps_heat_value(&x.h, 1, 8, 8, PS_HEAT_INTERVAL), 1, 0, "the original moved on");
	ok(c.seg[1].label != x.h.seg[1].label && !strcmp(c.seg[1].label, "[heap]"), "labels copied");
	ps_heat_free(&c);
	fx_free(&x);
}

static void test_actions(void)
{
	struct fx x;
	char buf[256];
	/* 8 mappings of 64 pages: at 80x16 (interactive) 9 grid rows of 51 cells. */
	static const char maps[] =
		"10000000-10040000 rw-p 00000000 00:00 0 \n"
		"10041000-10081000 rw-p 00000000 00:00 0 \n"
		"10082000-100c2000 rw-p 00000000 00:00 0 \n"
		"100c3000-10103000 rw-p 00000000 00:00 0 \n"
		"10104000-10144000 rw-p 00000000 00:00 0 \n"
		"10145000-10185000 rw-p 00000000 00:00 0 \n"
		"10186000-101c6000 rw-p 00000000 00:00 0 \n"
		"101c7000-10207000 rw-p 00000000 00:00 0 \n";

	fx_init(&x, maps, true);
	ok(!ps_heat_action(&x.h, &x.v, PS_HA_DOWN), "no geometry before the first render: nothing to do");
	fx_interval(&x, PG(0x10000000ull, 0, 64), PG(0x101c7000ull, 32, 64), END);
	render(&x, 80, 16);
	is_int(x.v.grid_rows, 9, "80x16 interactive: 9 grid rows");
	is_int(x.v.cells, 51, "80 columns: 51 cells per row");
	is_int(x.v.shown_zoom, 1, "auto: 2 pages per cell fits 8 mappings in 8 rows");
	is_u64(x.v.rows, 8, "8 rows");

	ok(ps_heat_action(&x.h, &x.v, PS_HA_ZOOM_IN), "zoom in");
	ok(!x.v.zoom_auto && x.v.zoom == 0, "manual zoom 1 page per cell");
	render(&x, 80, 16);
	is_u64(x.v.rows, 16, "1 page per cell: 2 rows per mapping");
	is_str(ps_heat_frame_line(&x.f, 2, buf), "1 cell = 1 page (4.0K) | interval view, fading x0.5 | rows 1-9 of 16",
	       "scale line shows the rows on screen");
	ps_heat_action(&x.h, &x.v, PS_HA_ZOOM_IN);
	render(&x, 80, 16);
	is_int(x.v.shown_zoom, 0, "cannot zoom in below a page");

	ps_heat_action(&x.h, &x.v, PS_HA_END);
	is_u64(x.v.top, 7, "End: last screen");
	render(&x, 80, 16);
	is_str(ps_heat_frame_line(&x.f, 2, buf), "1 cell = 1 page (4.0K) | interval view, fading x0.5 | rows 8-16 of 16",
	       "scrolled to the end");
	is_str(grid_of(&x.f, 0x101c7000ull, buf), "[................................@@@@@@@@@@@@@@@@@@@", "last mapping, first row");
	ps_heat_action(&x.h, &x.v, PS_HA_DOWN);
	is_u64(x.v.top, 7, "Down at the end stays");
	ps_heat_action(&x.h, &x.v, PS_HA_UP);
	is_u64(x.v.top, 6, "Up");
	ps_heat_action(&x.h, &x.v, PS_HA_PGUP);
	is_u64(x.v.top, 0, "PgUp (8 rows) stops at the top");
	ps_heat_action(&x.h, &x.v, PS_HA_DOWN);
	ps_heat_action(&x.h, &x.v, PS_HA_DOWN);
	is_u64(x.v.top, 2, "Down twice");
	ps_heat_action(&x.h, &x.v, PS_HA_PGDN);
	is_u64(x.v.top, 7, "PgDn: 8 rows (one kept), clamped to the last screen");
	ps_heat_action(&x.h, &x.v, PS_HA_HOME);
	is_u64(x.v.top, 0, "Home");

	/* Focus: Tab from nothing picks the first mapping; Shift-Tab wraps. */
	ps_heat_action(&x.h, &x.v, PS_HA_FOCUS_PREV);
	ok(x.v.has_focus && x.v.focus == 0x101c7000ull, "previous from nothing: the last mapping");
	is_u64(x.v.top, 7, "and it is scrolled into view");
	ps_heat_action(&x.h, &x.v, PS_HA_FOCUS_NEXT);
	ok(x.v.focus == 0x10000000ull, "next wraps to the first");
	is_u64(x.v.top, 0, "scrolled back");
	ps_heat_action(&x.h, &x.v, PS_HA_FOCUS_NEXT);
	ok(x.v.focus == 0x10041000ull, "next");
	render(&x, 80, 16);
	is_str(ps_heat_frame_line(&x.f, 5, buf), ">    0x10041000 [anon]     [...................................................",
	       "focused rows are marked");
	is_int(x.f.st[5 * 80 + 3], PS_HS_FOCUS, "focused label style");
	is_str(ps_heat_frame_line(&x.f, 14, buf), ">       0           0      0x10041000 [anon]",
	       "the focused mapping leads the table");

	/* Zooming keeps the focused mapping in view. */
	ps_heat_action(&x.h, &x.v, PS_HA_FOCUS_PREV);
	ps_heat_action(&x.h, &x.v, PS_HA_FOCUS_PREV);
	ok(x.v.focus == 0x101c7000ull, "focus the last mapping");
	ps_heat_action(&x.h, &x.v, PS_HA_ZOOM_OUT);
	is_int(x.v.shown_zoom, 1, "zoom out: 2 pages per cell");
	is_u64(x.v.top, 0, "8 rows fit: top");
	ps_heat_action(&x.h, &x.v, PS_HA_ZOOM_IN);
	is_u64(x.v.top, 7, "zoom in: the focused mapping's row (14) comes into view");
	ps_heat_action(&x.h, &x.v, PS_HA_UNFOCUS);
	ok(!x.v.has_focus, "Esc: no focus");
	ps_heat_action(&x.h, &x.v, PS_HA_ZOOM_AUTO);
	ok(x.v.zoom_auto && x.v.shown_zoom == 1, "auto zoom again");
	ps_heat_action(&x.h, &x.v, PS_HA_TOGGLE_MODE);
	is_int(x.v.mode, PS_HEAT_CUMULATIVE, "c: cumulative");
	ps_heat_action(&x.h, &x.v, PS_HA_TOGGLE_MODE);
	is_int(x.v.mode, PS_HEAT_INTERVAL, "c again: interval");

	/* Interactive frame: key hints, pause, help. */
	x.v.paused = true;
	x.v.live_seq = 9;
	render(&x, 80, 16);
	static const char *const want[] = {
		"pagescan heatmap  pid 42 (prog)  every 1s  #1 at 1.0s           PAUSED (live #9)",
		"written 384K  96 pages/s  0.4 MiB/s | wss 384K | harvest 50us (0.01%)",
		"1 cell = 2 pages (8.0K), auto | interval view, fading x0.5 | all 8 rows",
		"     0x10000000 [anon]     [@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@]",
		"     0x10041000 [anon]     [................................]",
		"     0x10082000 [anon]     [................................]",
		"     0x100c3000 [anon]     [................................]",
		"     0x10104000 [anon]     [................................]",
		"     0x10145000 [anon]     [................................]",
		"     0x10186000 [anon]     [................................]",
		"     0x101c7000 [anon]     [................@@@@@@@@@@@@@@@@]",
		"",
		".:-=+*#%@ = 0 to 100% of a cell written",
		"  pages/s since start  address        hottest (now)",
		"       64          64      0x10000000 [anon]",
		"q quit  space pause  +/- zoom  arrows scroll  Tab focus  o order  ? help",
	};
	is_frame(&x.f, want, 16, "80x16 interactive, paused");
	is_int(x.f.st[0 * 80 + 70], PS_HS_ALERT, "PAUSED in alert style");
	ps_heat_action(&x.h, &x.v, PS_HA_HELP);
	ok(x.v.help, "? shows the help");
	render(&x, 80, 16);
	ok(strstr(ps_heat_frame_line(&x.f, 0, buf), "pagescan heatmap keys") != NULL ||
	   strstr(ps_heat_frame_line(&x.f, 1, buf), "pagescan heatmap keys") != NULL, "help title on top");
	int help = 0;
	for (int y = 0; y < 16; y++)
		help += strstr(ps_heat_frame_line(&x.f, y, buf), "r          reset") != NULL;
	is_int(help, 1, "help lists the keys");
	is_int(x.f.st[8 * 80 + 40], PS_HS_HELP, "help box style");
	fx_free(&x);
}

/* The view on the model alone: no frame is drawn. */
static void test_view_fit(void)
{
	struct fx x;
	/* 2 mappings of 64 pages. */
	static const char maps[] =
		"10000000-10040000 rw-p 00000000 00:00 0 \n"
		"10041000-10081000 rw-p 00000000 00:00 0 \n";

	fx_init(&x, maps, true);
	ps_heat_view_fit(&x.h, &x.v, 16, 4);
	ok(!x.v.too_small && x.v.cells == 16 && x.v.grid_rows == 4, "fit: 4 rows of 16 cells");
	is_int(x.v.shown_zoom, 1, "auto: 2 pages per cell fits 2 mappings in 4 rows");
	is_u64(x.v.rows, 4, "2 rows per mapping");
	is_u64(ps_heat_seg_cells(&x.h.seg[0], 3), 8, "64 pages: 8 cells of 8 pages");
	is_u64(ps_heat_seg_rows(&x.h.seg[0], 0, 16), 4, "64 pages: 4 rows of 16 cells");
	is_int(ps_heat_seg_index(&x.h, 0x10041000ull), 1, "segment by start address");
	is_int(ps_heat_seg_index(&x.h, 0x10042000ull), -1, "no segment starts there");

	ok(ps_heat_action(&x.h, &x.v, PS_HA_FOCUS_PREV) && x.v.focus == 0x10041000ull, "focus the last mapping");
	is_u64(x.v.top, 0, "already in view");
	ps_heat_action(&x.h, &x.v, PS_HA_ZOOM_IN);
	ok(!x.v.zoom_auto && x.v.shown_zoom == 0, "zoom in: 1 page per cell");
	is_u64(x.v.rows, 8, "4 rows per mapping");
	is_u64(x.v.top, 4, "the focused mapping's first row on top");

	x.v.top = 99;
	x.v.focus = 0x20000000ull;
	ps_heat_view_fit(&x.h, &x.v, 16, 4);
	is_u64(x.v.top, 4, "fit clamps the scroll position");
	ok(!x.v.has_focus, "fit drops a focus whose mapping is gone");

	ps_heat_view_fit(&x.h, &x.v, 0, 0);
	ok(x.v.too_small && x.v.cells == 0 && x.v.grid_rows == 0, "fit without room: too small");
	ok(!ps_heat_action(&x.h, &x.v, PS_HA_DOWN), "no scrolling without a grid");
	fx_free(&x);
}

static void test_too_small(void)
{
	struct fx x;

	fx_init(&x, maps3, true);
	render(&x, 40, 8);
	static const char *const want[] = {
		"terminal too small: 40x8",
		"the heatmap needs at least 60x12;",
		"enlarge the window, or press q to quit",
		"", "", "", "", "",
	};
	is_frame(&x.f, want, 8, "too small: a message instead of the grid");
	ok(x.v.too_small && x.v.cells == 0, "view knows it is too small");
	ok(!ps_heat_action(&x.h, &x.v, PS_HA_PGDN), "no scrolling without a grid");
	render(&x, 20, 3);
	static const char *const want2[] = { "terminal too small:", "20x3", "the heatmap needs at" };
	is_frame(&x.f, want2, 3, "tiny: the message wraps");
	render(&x, 60, 12);
	ok(!x.v.too_small, "big enough again");
	fx_free(&x);
}

/* The figures line of x's frame rendered w columns wide (30 lines). */
static const char *header_at(struct fx *x, int w, char *buf)
{
	render(x, w, 30);
	return ps_heat_frame_line(&x->f, 1, buf);
}

static void test_wide_frame(void)
{
	struct fx x;

	fx_init(&x, maps3, false);
	fx_interval(&x, PG(HEAP, 0, 8), PG(ANON, 31, 41), PG(ANON, 100, 101), END);
	fx_interval(&x, PG(HEAP, 0, 4), PG(ANON, 0, 1), END);
	render(&x, 100, 30);
	static const char *const want[] = {
		"pagescan heatmap  pid 42 (prog)  every 1s  #2 at 2.0s",
		"written 5 pages (20K)  5 pages/s  0.0 MiB/s | wss 5 pages (20K) | harvest 50us (0.01%)",
		"1 cell = 1 page (4.0K), auto | interval view, fading x0.5 | all 4 rows",
		"       0x400000 prog             [.]",
		"      0x1000000 [heap]           [@@@@++++........]",
		" 0x7f0000000000 [anon]           [@..............................++++++++++........................",
		" 0x7f0000041000 [anon]            ...................................+]",
		"", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
		". 0%  : >0%  - >12.5%  = >25%  + >37.5%  * >50%  # >62.5%  % >75%  @ >87.5% of a cell written",
		"   pages/s     MiB/s        now  since start % of map  address        hottest mappings (pages now)",
		"         4      0.02          4            8    50.0%       0x1000000 [heap]",
		"         1      0.00          1           12    11.9%  0x7f0000000000 [anon]",
		"", "", "",
	};
	is_frame(&x.f, want, 30, "100x30 text frame");
	/* The observer effect's estimate ends the line, marked when the
	 * --max-overhead budget could not be kept (docs/overhead.md). */
	x.h.overhead = (struct ps_overhead){ .known = true, .share = 0.42, .over_budget = true };
	render(&x, 120, 30);
	char buf[512];
	is_str(ps_heat_frame_line(&x.f, 1, buf),
	       "written 5 pages (20K)  5 pages/s  0.0 MiB/s | wss 5 pages (20K) | harvest 50us (0.01%) | overhead ~42.0% over budget",
	       "header: the estimate, over the budget");
	/* --compare soft-dirty: soft-dirty's pages and its false positives
	 * (docs/soft-dirty.md), kept before the estimate when room is short. */
#define HDR "written 5 pages (20K)  5 pages/s  0.0 MiB/s | wss 5 pages (20K) | harvest 50us (0.01%)"
	x.h.soft_dirty = true;
	x.h.sd = (struct ps_sd_counts){ .written_pages = 5, .soft_dirty_pages = 12, .false_pages = 7 };
	is_str(header_at(&x, 160, buf), HDR " | soft-dirty 12, 7 not written | overhead ~42.0% over budget",
	       "header: soft-dirty's pages and false positives, then the estimate");
	is_str(header_at(&x, 120, buf), HDR " | soft-dirty 12, 7 not written",
	       "header: short of room, the estimate goes, soft-dirty stays");
	x.h.sd.race_pages = 2;
	is_str(header_at(&x, 180, buf), HDR " | soft-dirty 12, 7 not written, 2 in the race | overhead ~42.0% over budget",
	       "header: the read-to-clear race when there was one");
	is_str(header_at(&x, 80, buf), "written 20K 0.0 MiB/s | wss 20K | harvest 50us | soft-dirty 12/7 false",
	       "header: narrow, the short form");
#undef HDR
	fx_free(&x);
}

/* The heatmap's summary line of e, in buf. */
static const char *summary(const struct ps_watch_end *e, char *buf, size_t n)
{
	struct ps_out o;
	ps_out_init(&o, -1);
	ps_heat_summary(&o, e);
	snprintf(buf, n, "%.*s", (int)o.len, o.buf);
	ps_out_free(&o);
	return buf;
}

static void test_sink(void)
{
	struct fx x;
	struct ps_out o;

	fx_init(&x, maps3, false);
	setenv("COLUMNS", "60", 1);
	setenv("LINES", "12", 1);
	ps_out_init(&o, -1);
	struct ps_sink *s = ps_sink_heattext_new(&o);
	ok(s && s->input_fd == -1 && !s->input, "heattext sink: not interactive");
	struct ps_watch_start ws = { .pid = 42, .command = "prog", .interval_ns = 250000000ull, .tracked_pages = 118,
	                             .maps = &x.m, .tracked = &x.t };
	is_int(s->start(s, &ws), 0, "sink start");
	is_u64(o.len, 0, "nothing printed at start");
	struct ps_regions w = { 0 };
	ps_regions_push(&w, HEAP, HEAP + 16 * P, 0);
	struct ps_interval iv = { .seq = 1, .time_s = 0.25, .elapsed_s = 0.25, .written_pages = 16, .rate_pages_s = 64,
	                          .harvest_us = 7, .tracked_pages = 118, .wss_pages = 16, .maps = &x.m,
	                          .tracked = &x.t, .written = &w };
	is_int(s->interval(s, &iv), 0, "sink interval");
	iv.seq = 2;
	iv.time_s = 0.5;
	is_int(s->interval(s, &iv), 0, "sink interval 2");
	struct ps_mapping_count hot = { .start = HEAP, .end = HEAP + 16 * P, .mapping = "[heap]", .written_pages = 32,
	                             .distinct_pages = 16, .page_writes = 32 };
	struct ps_watch_end e = { .reason = PS_END_COUNT, .intervals = 2, .duration_s = 0.5, .wss_pages = 16,
	                          .rate = { .n = 2, .mean = 64, .p50 = 64, .p95 = 64, .max = 64 },
	                          .hottest = &hot, .nhottest = 1 };
	is_int(s->end(s, &e), 0, "sink end");
	s->destroy(s);
	ps_out_chr(&o, 0);
	int lines = 0, frames = 0;
	const char *last = NULL;
	for (const char *p = o.buf; *p; p = strchr(p, '\n') + 1) {
		if (!strncmp(p, "pagescan heatmap  pid 42 (prog)  every 250ms", 44))
			frames++;
		last = p;
		lines++;
		if (!strchr(p, '\n'))
			break;
	}
	is_int(frames, 2, "one frame per interval");
	is_int(lines, 2 * 12 + 1, "COLUMNS x LINES frames (12 lines) and a summary line");
	is_str(last, "end: count after 2 intervals (0.5s); write working set 16 pages (64K); dirty rate mean 64 p95 64 "
	             "max 64 pages/s; hottest [heap] (16 distinct pages written)\n",
	       "summary line");
	ok(strstr(o.buf, "      0x1000000 [heap]     [@@@@@@@@@@@@@@@@]\n") != NULL, "frame shows the heap written");
	ps_out_free(&o);
	unsetenv("COLUMNS");
	unsetenv("LINES");

	/* Defaults without COLUMNS/LINES, and bad values ignored. */
	setenv("COLUMNS", "12x", 1);
	ps_out_init(&o, -1);
	s = ps_sink_heattext_new(&o);
	is_int(s->start(s, &ws), 0, "start");
	is_int(s->interval(s, &iv), 0, "interval");
	s->destroy(s);
	ps_out_chr(&o, 0);
	int n = 0;
	size_t longest = 0;
	for (char *p = o.buf; *p;) {
		char *nl = strchr(p, '\n');
		longest = (size_t)(nl - p) > longest ? (size_t)(nl - p) : longest;
		n++;
		p = nl + 1;
	}
	is_int(n, 30, "default frame: 30 lines");
	ok(longest <= 100 && longest > 90, "default frame: 100 columns (longest line %zu)", longest);
	ps_out_free(&o);
	unsetenv("COLUMNS");

	struct ps_watch_end e2 = { .reason = PS_END_SIGNAL, .detail = "Interrupt", .intervals = 1, .duration_s = 1,
	                           .has_exit_status = true, .exit_status = 3 };
	char line[512];
	is_str(summary(&e2, line, sizeof(line)),
	       "end: signal (Interrupt) after 1 interval (1.0s); write working set 0 pages (0B); dirty rate "
	       "mean 0 p95 0 max 0 pages/s; exit status 3\n",
	       "summary with detail and exit status");
	/* control bytes in a mapping name cannot reach the terminal raw */
	struct ps_mapping_count bad = { .start = HEAP, .mapping = "/tmp/a\033[2Jb\tc", .written_pages = 1,
	                                .distinct_pages = 1 };
	struct ps_watch_end e3 = { .reason = PS_END_QUIT, .hottest = &bad, .nhottest = 1 };
	ok(strstr(summary(&e3, line, sizeof(line)), "; hottest /tmp/a\\033[2Jb\\011c (1 distinct page written)\n") != NULL,
	   "summary escapes control bytes: %s", line);
	/* --compare soft-dirty: the watch's sums end the summary (before the
	 * exit status) */
	struct ps_sd_report sdr = { .c = { .written_pages = 40, .soft_dirty_pages = 52, .false_pages = 12 } };
	struct ps_watch_end e4 = { .reason = PS_END_COUNT, .intervals = 3, .duration_s = 3, .soft_dirty = &sdr,
	                           .has_exit_status = true, .exit_status = 0 };
	is_str(summary(&e4, line, sizeof(line)),
	       "end: count after 3 intervals (3.0s); write working set 0 pages (0B); dirty rate mean 0 p95 0 max 0 "
	       "pages/s; soft-dirty 52 pages, 12 not written (false positives); exit status 0\n",
	       "summary with soft-dirty's sums");
	ps_regions_free(&w);
	fx_free(&x);
}

/* One interval of x with soft-dirty's comparison rep (--compare soft-dirty):
 * written pages [HEAP, HEAP + wheap pages). */
static void fx_sd_interval(struct fx *x, uint64_t wheap, const struct ps_sd_report *rep)
{
	struct ps_regions w = { 0 };
	if (wheap)
		ps_regions_push(&w, HEAP, HEAP + wheap * P, 0);
	struct ps_interval iv = {
		.seq = ++x->seq, .time_s = (double)x->seq, .elapsed_s = 1.0, .written_pages = wheap,
		.rate_pages_s = (double)wheap, .harvest_us = 50, .tracked_pages = ps_rangeset_total(&x->t) / P,
		.wss_pages = wheap, .maps = &x->m, .tracked = &x->t, .written = &w, .soft_dirty = rep,
	};
	is_int(ps_heat_interval(&x->h, &iv), 0, "interval %llu", (unsigned long long)x->seq);
	ps_regions_free(&w);
}

/* The table line of x's frame (w x 30) that ends with the mapping at addr,
 * trailing spaces trimmed, in buf (n_buf bytes); "" when there is none. */
static const char *table_row(struct fx *x, int w, const char *addr_label, char *buf, size_t n_buf)
{
	char line[512];
	render(x, w, 30);
	for (int y = 0; y < 30; y++) {
		ps_heat_frame_line(&x->f, y, line);
		size_t n = strlen(line);
		while (n && line[n - 1] == ' ')
			line[--n] = '\0';
		size_t k = strlen(addr_label);
		if (n >= k && !strcmp(line + n - k, addr_label) && strchr(line, '%') != line + n) {
			snprintf(buf, n_buf, "%s", line);
			return buf;
		}
	}
	buf[0] = '\0';
	return buf;
}

/* --compare soft-dirty per mapping: the table's "sd false" column (the
 * interval's false positives of each mapping, or since start/reset in the
 * cumulative view), a mapping with false positives and no writes listed,
 * the sums kept across a new layout and cleared by reset; the summary
 * names the mapping with the most. */
static void test_softdirty_table(void)
{
	struct fx x;
	char buf[512];

	fx_init(&x, maps3, false);
	struct ps_sd_mapping m1[] = {
		{ .start = HEAP, .end = HEAP + 16 * P, .mapping = "[heap]",
		  .c = { .written_pages = 4, .soft_dirty_pages = 6, .false_pages = 2 } },
		{ .start = ANON, .end = ANON + 101 * P, .mapping = "[anon]",
		  .c = { .written_pages = 0, .soft_dirty_pages = 3, .false_pages = 3 } },
	};
	struct ps_sd_report r1 = { .c = { .written_pages = 4, .soft_dirty_pages = 9, .false_pages = 5 },
	                           .per_mapping = m1, .nper_mapping = 2 };
	fx_sd_interval(&x, 4, &r1);
	render(&x, 100, 30);
	is_str(ps_heat_frame_line(&x.f, 24, buf),
	       "   pages/s     MiB/s        now  since start % of map  sd false  address        hottest (now)",
	       "wide table: an sd false column (the title's short form)");
	is_str(table_row(&x, 100, "0x1000000 [heap]", buf, sizeof(buf)),
	       "         4      0.02          4            4    25.0%         2       0x1000000 [heap]",
	       "the heap: 2 false positives this interval");
	is_str(table_row(&x, 100, "0x7f0000000000 [anon]", buf, sizeof(buf)),
	       "         0      0.00          0            0     0.0%         3  0x7f0000000000 [anon]",
	       "a mapping not written but with false positives is listed");
	is_str(table_row(&x, 70, "0x1000000 [heap]", buf, sizeof(buf)), "        4           4         2       0x1000000 [heap]",
	       "narrow table: the column too");

	/* the next interval: only the heap, 1 more */
	struct ps_sd_mapping m2[] = { { .start = HEAP, .end = HEAP + 16 * P, .mapping = "[heap]",
		                        .c = { .written_pages = 2, .soft_dirty_pages = 3, .false_pages = 1 } } };
	struct ps_sd_report r2 = { .c = m2[0].c, .per_mapping = m2, .nper_mapping = 1 };
	fx_sd_interval(&x, 2, &r2);
	ok(strstr(table_row(&x, 100, "0x1000000 [heap]", buf, sizeof(buf)), " 1       0x1000000 [heap]") != NULL,
	   "interval view: this interval's 1: %s", buf);
	is_str(table_row(&x, 100, "0x7f0000000000 [anon]", buf, sizeof(buf)), "", "interval view: the idle anon's 0 is not listed");
	x.v.mode = PS_HEAT_CUMULATIVE;
	ok(strstr(table_row(&x, 100, "0x1000000 [heap]", buf, sizeof(buf)), " 3       0x1000000 [heap]") != NULL,
	   "cumulative view: 2 + 1 since start: %s", buf);
	ok(strstr(table_row(&x, 100, "0x7f0000000000 [anon]", buf, sizeof(buf)), " 3  0x7f0000000000 [anon]") != NULL,
	   "cumulative view: the anon's 3 since start: %s", buf);

	/* the heap grows: a new layout keeps the sums of the mappings that stay */
	fx_maps(&x, "00400000-00401000 rw-p 00000000 08:01 123 /usr/bin/prog\n"
	            "01000000-01020000 rw-p 00000000 00:00 0 [heap]\n"
	            "7f0000000000-7f0000065000 rw-p 00000000 00:00 0 \n");
	fx_sd_interval(&x, 0, &(struct ps_sd_report){ 0 });
	ok(strstr(table_row(&x, 100, "0x1000000 [heap]", buf, sizeof(buf)), " 3       0x1000000 [heap]") != NULL,
	   "after a new layout the heap's sum stays: %s", buf);
	ok(strstr(table_row(&x, 100, "0x7f0000000000 [anon]", buf, sizeof(buf)), " 3  0x7f0000000000 [anon]") != NULL,
	   "after a new layout the anon's sum stays: %s", buf);
	ps_heat_reset(&x.h);
	is_str(table_row(&x, 100, "0x7f0000000000 [anon]", buf, sizeof(buf)), "", "reset clears the sums");

	/* the summary: the mapping with the most false positives */
	struct ps_sd_mapping top[] = { { .start = ANON, .mapping = "[anon]", .c = { .false_pages = 3 } } };
	struct ps_sd_report sdr = { .c = { .written_pages = 6, .soft_dirty_pages = 12, .false_pages = 6 },
	                            .per_mapping = top, .nper_mapping = 1 };
	struct ps_watch_end e = { .reason = PS_END_COUNT, .intervals = 3, .duration_s = 3, .soft_dirty = &sdr };
	ok(strstr(summary(&e, buf, sizeof(buf)), "soft-dirty 12 pages, 6 not written (false positives), most in [anon] (3)\n"),
	   "summary: the mapping with the most false positives: %s", buf);
	fx_free(&x);
}

/* The default order: busiest first, idle small mappings folded into one
 * row at the end; o (by_address) shows every mapping in address order. A
 * process like node: 30 small idle mappings below one big buffer that takes
 * all the writes. */
static void test_order(void)
{
	struct fx x;
	char maps[64 * 80], *p = maps, buf[256];
	for (int i = 0; i < 30; i++) /* 30 idle mappings of 4 pages, 64K apart */
		p += sprintf(p, "%llx-%llx rw-p 00000000 00:00 0 \n", 0x10000000ull + (uint64_t)i * 0x10000,
		             0x10000000ull + (uint64_t)i * 0x10000 + 4 * P);
	p += sprintf(p, "20000000-20400000 rw-p 00000000 00:00 0 \n");            /* 1024 pages: the buffer */
	p += sprintf(p, "30000000-30041000 rw-p 00000000 00:00 0 \n");            /* 65 pages, idle, not small */
	sprintf(p, "40000000-40001000 rw-p 00000000 08:01 3 /lib/libsmall.so\n"); /* 1 page, written once */
	fx_init(&x, maps, true);
	x.v.by_address = false; /* the default */
	fx_interval(&x, PG(0x20000000, 0, 1024), PG(0x40000000, 0, 1), END);
	fx_interval(&x, PG(0x20000000, 0, 1024), END);

	is_int(ps_heat_view_order(&x.h, &x.v), 0, "order");
	is_u64(ps_heat_view_nbands(&x.h, &x.v), 4, "4 bands: buffer, libsmall, the idle big one, the fold row");
	long b0 = ps_heat_view_band(&x.v, 0), b1 = ps_heat_view_band(&x.v, 1), b2 = ps_heat_view_band(&x.v, 2);
	ok(b0 >= 0 && x.h.seg[b0].start == 0x20000000, "the busiest mapping (the buffer) is the first band");
	ok(b1 >= 0 && x.h.seg[b1].start == 0x40000000, "then the one written less");
	ok(b2 >= 0 && x.h.seg[b2].start == 0x30000000, "then the idle mapping too big to fold");
	is_int((int)ps_heat_view_band(&x.v, 3), (int)PS_HEAT_BAND_FOLD, "the fold row last");
	ok(x.v.nfolded == 30 && x.v.folded_pages == 120, "30 idle small mappings folded, 120 pages");

	/* On screen: the buffer's band right under the header, the fold row at the end. */
	render(&x, 100, 30);
	ok(strncmp(ps_heat_frame_line(&x.f, 3, buf), " 0x20000000 [anon]", 18) == 0 ||
	   strstr(ps_heat_frame_line(&x.f, 3, buf), "0x20000000 [anon]") != NULL,
	   "the first grid row is the buffer: %s", ps_heat_frame_line(&x.f, 3, buf));
	ok(x.v.rows <= (uint64_t)x.v.grid_rows, "everything fits one screen (%llu rows)", (unsigned long long)x.v.rows);
	bool fold = false;
	for (int y = 3; y < x.f.h; y++)
		fold |= strstr(ps_heat_frame_line(&x.f, y, buf), "... 30 idle mappings of <= 64 pages folded (120 pages, 480K; o: all)") != NULL;
	if (!ok(fold, "the fold row says how many mappings it holds"))
		for (int y = 0; y < x.f.h; y++)
			printf("#   %s\n", ps_heat_frame_line(&x.f, y, buf));
	ok(strstr(ps_heat_frame_line(&x.f, 29, buf), "o order") != NULL, "the key line names o");

	/* Tab walks the bands in display order: the buffer first. */
	ps_heat_action(&x.h, &x.v, PS_HA_FOCUS_NEXT);
	ok(x.v.has_focus && x.v.focus == 0x20000000, "Tab: the busiest mapping first");
	ps_heat_action(&x.h, &x.v, PS_HA_FOCUS_PREV);
	ok(x.v.focus == 0x30000000, "Shift-Tab from the first: the last shown band (the fold row is skipped)");

	/* o: address order, nothing folded; the focused mapping stays in view. */
	ps_heat_action(&x.h, &x.v, PS_HA_TOGGLE_ORDER);
	ok(x.v.by_address, "o: address order");
	is_u64(ps_heat_view_nbands(&x.h, &x.v), 33, "o: every mapping has its band");
	ok(ps_heat_view_band(&x.v, 0) == 0 && ps_heat_view_band(&x.v, 32) == 32, "o: bands by address");
	is_u64(x.v.nfolded, 0, "o: nothing folded");
	render(&x, 100, 30);
	bool shown = false;
	for (int y = 3; y < 3 + x.v.grid_rows; y++)
		shown |= strncmp(ps_heat_frame_line(&x.f, y, buf), ">", 1) == 0 && strstr(buf, "0x30000000") != NULL;
	ok(shown, "o: the focused mapping stays on screen");
	ps_heat_action(&x.h, &x.v, PS_HA_UNFOCUS);
	ps_heat_action(&x.h, &x.v, PS_HA_HOME);
	render(&x, 100, 30);
	ok(strstr(ps_heat_frame_line(&x.f, 3, buf), "0x10000000 [anon]") != NULL, "o: the lowest address first");
	ps_heat_action(&x.h, &x.v, PS_HA_TOGGLE_ORDER);
	ok(!x.v.by_address, "o again: busiest first");

	/* The focused mapping keeps its band even when idle and small. */
	x.v.has_focus = true;
	x.v.focus = 0x10000000;
	ps_heat_view_order(&x.h, &x.v);
	ok(x.v.nfolded == 29 && ps_heat_view_band(&x.v, 2) >= 0 && x.h.seg[ps_heat_view_band(&x.v, 2)].start == 0x10000000,
	   "focused: not folded (29 folded), its band after the written ones, by address");
	x.v.has_focus = false;

	/* A folded mapping that gets written leaves the fold. */
	fx_interval(&x, PG(0x10050000, 0, 1), END);
	ps_heat_view_order(&x.h, &x.v);
	ok(x.v.nfolded == 29, "written: no longer folded (29 left)");
	fx_free(&x);

	/* One idle small mapping alone is not folded (a row for a row). */
	fx_init(&x, "10000000-10001000 rw-p 00000000 00:00 0 \n20000000-20010000 rw-p 00000000 00:00 0 \n", false);
	x.v.by_address = false;
	fx_interval(&x, PG(0x20000000, 0, 2), END);
	ps_heat_view_order(&x.h, &x.v);
	ok(x.v.nfolded == 0 && ps_heat_view_nbands(&x.h, &x.v) == 2 && x.h.seg[ps_heat_view_band(&x.v, 0)].start == 0x20000000,
	   "a single idle mapping keeps its band, after the busy one");
	fx_free(&x);
}

/* A workload: two processes at the same addresses (forked), each one's
 * mappings in its own group under a header band, the busiest process
 * first; ps_heat_copy keeps the processes. */
static void test_workload(void)
{
	static const char mapsw[] = "01000000-01010000 rw-p 00000000 00:00 0 [heap]\n"
	                            "7f0000000000-7f0000004000 rw-s 00000000 00:05 9 /memfd:m (deleted)\n";
	struct ps_maps m = { 0 };
	struct ps_rangeset t = { 0 };
	struct ps_err e;
	struct ps_heat h, c;
	struct ps_heat_view v;
	struct ps_heat_frame f = { 0 };
	char buf[256];

	if (ps_maps_parse(mapsw, strlen(mapsw), &m, &e) < 0) {
		ok(false, "maps: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < m.n; i++)
		ps_rangeset_add(&t, m.v[i].start, m.v[i].end);
	ps_heat_init(&h);
	ps_heat_init(&c);
	ps_heat_view_init(&v, false);
	struct ps_watch_start ws = { .pid = 10, .command = "par", .interval_ns = 1000000000ull, .tracked_pages = 40,
	                             .workload = "tree", .nprocesses = 2 };
	is_int(ps_heat_start(&h, &ws), 0, "workload start");
	ok(h.workload && h.nseg == 0, "no segments before the first interval");

	/* 10 wrote nothing; 11 wrote 3 heap pages and 2 memfd pages. */
	struct ps_regions w10 = { 0 }, w11 = { 0 };
	ps_regions_push(&w11, HEAP, HEAP + 3 * P, 0);
	ps_regions_push(&w11, 0x7f0000000000ull, 0x7f0000000000ull + 2 * P, 0);
	struct ps_interval i10 = { .seq = 1, .maps = &m, .tracked = &t, .written = &w10 };
	struct ps_interval i11 = { .seq = 1, .written_pages = 5, .maps = &m, .tracked = &t, .written = &w11 };
	struct ps_process_interval procs[] = { { .pid = 10, .command = "par", .iv = &i10 },
	                                       { .pid = 11, .command = "kid", .written_pages = 5, .wss_pages = 5,
	                                         .iv = &i11 } };
	struct ps_interval iv = { .seq = 1, .time_s = 1, .elapsed_s = 1, .written_pages = 5, .tracked_pages = 40,
	                          .wss_pages = 5, .processes = procs, .nprocesses = 2 };
	is_int(ps_heat_interval(&h, &iv), 0, "workload interval");
	is_u64(h.nseg, 4, "2 mappings x 2 processes");
	is_u64(h.nproc, 2, "2 processes");

	is_int(ps_heat_view_order(&h, &v), 0, "order");
	is_u64(ps_heat_view_nbands(&h, &v), 6, "a header and 2 bands per process");
	long b[6];
	for (size_t k = 0; k < 6; k++)
		b[k] = ps_heat_view_band(&v, k);
	ok(b[0] < 0 && h.proc[PS_HEAT_BAND_PROC_SLOT(b[0])].pid == 11, "the busiest process (11) first");
	ok(b[1] >= 0 && PS_HEAT_ADDR(h.seg[b[1]].start) == HEAP && h.seg[b[1]].ever_pages == 3,
	   "its heap (3 pages) first");
	ok(b[2] >= 0 && PS_HEAT_ADDR(h.seg[b[2]].start) == 0x7f0000000000ull && h.seg[b[2]].ever_pages == 2,
	   "then its memfd (2)");
	ok(b[3] < 0 && h.proc[PS_HEAT_BAND_PROC_SLOT(b[3])].pid == 10, "then process 10");
	ok(b[4] >= 0 && b[5] >= 0 && !h.seg[b[4]].ever_pages && !h.seg[b[5]].ever_pages, "its idle bands");
	is_u64(ps_heat_band_rows(&h, &v, 0, 0, 16), 1, "a header takes one row");

	ps_heat_frame_size(&f, 80, 20);
	ps_heat_render(&h, &v, &f);
	ok(strstr(ps_heat_frame_line(&f, 3, buf), "pid 11 (kid): written 5 pages, wss 5 pages") == buf,
	   "header row: %s", ps_heat_frame_line(&f, 3, buf));
	ok(strstr(ps_heat_frame_line(&f, 4, buf), " 0x1000000 [heap]") != NULL, "its heap band at its address: %s",
	   ps_heat_frame_line(&f, 4, buf));
	ok(strstr(ps_heat_frame_line(&f, 6, buf), "pid 10 (par): written 0 pages") == buf, "then 10: %s",
	   ps_heat_frame_line(&f, 6, buf));

	is_int(ps_heat_copy(&c, &h), 0, "copy");
	ok(c.nproc == 2 && c.proc != h.proc && c.proc[1].pid == 11, "the copy has its own processes");

	/* 11 leaves: its bands go, its header too. */
	struct ps_interval iv2 = { .seq = 2, .time_s = 2, .elapsed_s = 1, .processes = procs, .nprocesses = 1 };
	is_int(ps_heat_interval(&h, &iv2), 0, "interval without 11");
	ps_heat_view_order(&h, &v);
	is_u64(ps_heat_view_nbands(&h, &v), 3, "only 10 left");

	ps_heat_frame_free(&f);
	ps_heat_view_free(&v);
	ps_heat_free(&h);
	ps_heat_free(&c);
	ps_regions_free(&w10);
	ps_regions_free(&w11);
	ps_maps_free(&m);
	ps_rangeset_free(&t);
}

int main(void)
{
	test_levels();
	test_colors();
	test_layout();
	test_names();
	test_bucketing();
	test_decay();
	test_cumulative_reset();
	test_relayout();
	test_copy();
	test_actions();
	test_view_fit();
	test_too_small();
	test_wide_frame();
	test_sink();
	test_softdirty_table();
	test_order();
	test_workload();
	return tap_done();
}
