/* The heatmap: where in the address space a process writes and how hot each
 * area is, as a grid model and its rendering into a character frame. Pure:
 * no terminal, no ncurses, no system calls. The ncurses view (src/cli/tui.c)
 * and the text frames (`watch --heatmap=text`) both draw the same frame.
 *
 * Layout. Each tracked mapping (a tracked range inside one VMA) is a
 * "segment"; segments are laid out in address order, each starting a new row
 * labelled with the row's start address and the mapping name, so a row never
 * mixes two mappings. '[' opens a mapping's cells, ']' closes them.
 *
 * Cells aggregate, never sample: a cell covers a run of 2^zoom pages (the
 * last cell of a mapping may be shorter) and its value is the share of those
 * pages written. History is kept per bin, a run of 2^bin_shift pages (1 page
 * unless the process tracks more than max_bins of them), so changing the zoom
 * keeps it. Per bin, every interval:
 *     heat = max(written_now / pages, heat_before * decay)
 * with heat_before * decay dropped to 0 below PS_HEAT_FLOOR. A cell's value
 * is the page-weighted mean of its bins: the interval view shows heat, the
 * cumulative view the share of the cell's pages written since the start (or
 * the last reset). */
#ifndef PAGESCAN_HEAT_H
#define PAGESCAN_HEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/model/maps.h"
#include "pagescan/render/outbuf.h"
#include "pagescan/model/range.h"
#include "pagescan/model/region.h"
#include "pagescan/model/watch.h"

/* ---- values, glyphs, colours ------------------------------------------------ */

/* Level 0: nothing written; level k (1..8): share in ((k-1)/8, k/8]. */
#define PS_HEAT_LEVELS 9
#define PS_HEAT_FLOOR (1.0 / 16)   /* faded heat below this is dropped */
#define PS_HEAT_DECAY 0.5          /* default fade per interval */

int ps_heat_level(double v);       /* 0..8; v is a share of the hottest */
char ps_heat_glyph(int level);     /* ".:-=+*#%@"[level] */

/* Frame cell styles; the view maps each to terminal attributes. */
enum ps_heat_style {
	PS_HS_TEXT,      /* plain text */
	PS_HS_TITLE,     /* header: bold */
	PS_HS_DIM,       /* secondary: continuation labels, borders, hints */
	PS_HS_LABEL,     /* first row of a mapping */
	PS_HS_FOCUS,     /* the focused mapping's labels */
	PS_HS_ALERT,     /* PAUSED, ended, too small */
	PS_HS_HELP,      /* help overlay */
	PS_HS_HEAT0,     /* PS_HS_HEAT0 + level: heat cells and legend glyphs */
	PS_HS_COUNT = PS_HS_HEAT0 + PS_HEAT_LEVELS,
};

enum ps_heat_colors { PS_HEAT_MONO, PS_HEAT_8, PS_HEAT_256 };

/* Colour numbers: 0..7 are the ANSI colours (black red green yellow blue
 * magenta cyan white, as in curses), 8..255 the xterm-256 palette, -1 the
 * terminal's default. */
struct ps_heat_attr {
	short fg, bg;
	bool bold, reverse, dim;
};

/* How a terminal with ncolors colours (0 = none) shows heat; no_color is
 * getenv("NO_COLOR"): present and not empty means monochrome. */
enum ps_heat_colors ps_heat_colors_pick(int ncolors, const char *no_color);
void ps_heat_attr_of(enum ps_heat_style s, enum ps_heat_colors c, struct ps_heat_attr *a);

/* ---- the model ------------------------------------------------------------------ */

struct ps_heat_bin {
	float heat;          /* fading share written (interval view) */
	uint32_t now;        /* pages written in the last interval */
	uint32_t ever;       /* distinct pages written since the start or reset */
};

struct ps_heat_seg {
	uint64_t start, end; /* bytes */
	uint64_t pages;
	char *label;         /* ps_vma_label() of its VMA (owned copy) */
	struct ps_heat_bin *bin;
	size_t nbins;
	uint64_t now_pages, ever_pages; /* sums over the bins */
};

struct ps_heat {
	/* the watch */
	pid_t pid;
	char command[64];
	uint64_t interval_ns;
	bool accumulate;
	bool started, ended, reset;
	char end_reason[32];
	/* the last interval */
	uint64_t seq;
	double time_s, elapsed_s, rate_pages_s;
	uint64_t written_pages, harvest_us, tracked_pages, wss_pages;
	/* the grid */
	struct ps_heat_seg *seg;     /* by address */
	size_t nseg;
	unsigned bin_shift;          /* pages per bin = 1 << bin_shift */
	size_t max_bins;             /* cap on all bins (default 1 << 20; a bin holds <= 2^31 pages) */
	double decay;                /* fade per interval (PS_HEAT_DECAY) */
	struct ps_regions seen;      /* written since start/reset, inside segments (bytes) */
};

void ps_heat_init(struct ps_heat *h);
void ps_heat_free(struct ps_heat *h);
/* Deep copy (a frozen picture for pause). dst must be initialised (or a
 * previous copy); it is freed first. -ENOMEM. */
int ps_heat_copy(struct ps_heat *dst, const struct ps_heat *src);

/* Feeding from the watch loop (borrowed data is copied). -ENOMEM. */
int ps_heat_start(struct ps_heat *h, const struct ps_watch_start *w);
int ps_heat_interval(struct ps_heat *h, const struct ps_interval *iv);
void ps_heat_end(struct ps_heat *h, const struct ps_watch_end *e);

/* The building blocks of ps_heat_interval, for tests. layout: segments =
 * tracked ranges split at VMA boundaries; heat is carried over by address
 * when the layout changes, cumulative counts are kept where the same
 * mapping stays. apply: one interval's written regions (bytes, sorted). */
int ps_heat_layout(struct ps_heat *h, const struct ps_rangeset *tracked, const struct ps_maps *maps);
int ps_heat_apply(struct ps_heat *h, const struct ps_regions *written);

/* Forget the fading heat and the cumulative counts (key r). */
void ps_heat_reset(struct ps_heat *h);

enum ps_heat_mode { PS_HEAT_INTERVAL, PS_HEAT_CUMULATIVE };

/* The value (0..1) of pages [first, first + npages) of segment s. */
double ps_heat_value(const struct ps_heat *h, size_t s, uint64_t first, uint64_t npages,
                     enum ps_heat_mode mode);

/* ---- the view ---------------------------------------------------------------------- */

struct ps_heat_view {
	enum ps_heat_mode mode;
	bool zoom_auto;           /* fit the grid (default) */
	unsigned zoom;            /* log2(pages per cell) when !zoom_auto */
	uint64_t top;             /* first grid row shown */
	bool has_focus;
	uint64_t focus;           /* start address of the focused segment */
	bool interactive;         /* key hints line, help overlay */
	bool help;
	bool paused;
	uint64_t live_seq;        /* paused: newest interval received */
	/* set by ps_heat_render: what was drawn */
	unsigned shown_zoom;
	uint64_t rows;            /* grid rows in total */
	int grid_rows, cells;     /* grid rows on screen, cells per row */
	bool too_small;
};

void ps_heat_view_init(struct ps_heat_view *v, bool interactive);

enum ps_heat_action {
	PS_HA_ZOOM_IN, PS_HA_ZOOM_OUT, PS_HA_ZOOM_AUTO,
	PS_HA_UP, PS_HA_DOWN, PS_HA_PGUP, PS_HA_PGDN, PS_HA_HOME, PS_HA_END,
	PS_HA_FOCUS_NEXT, PS_HA_FOCUS_PREV, PS_HA_UNFOCUS,
	PS_HA_TOGGLE_MODE, PS_HA_HELP,
};

/* Apply a key's action to the view, using the geometry of the last render.
 * Returns true when the frame must be redrawn. */
bool ps_heat_action(const struct ps_heat *h, struct ps_heat_view *v, enum ps_heat_action a);

/* ---- the frame ------------------------------------------------------------------------ */

#define PS_HEAT_MIN_W 60
#define PS_HEAT_MIN_H 12
#define PS_HEAT_MAX_DIM 4096

struct ps_heat_frame {
	int w, h;
	char *ch;            /* w * h printable ASCII bytes */
	unsigned char *st;   /* w * h enum ps_heat_style */
};

/* (Re)size and blank; w and h are clamped to 1..PS_HEAT_MAX_DIM. -ENOMEM. */
int ps_heat_frame_size(struct ps_heat_frame *f, int w, int h);
void ps_heat_frame_free(struct ps_heat_frame *f);

/* Draw the whole frame (sized with ps_heat_frame_size): header, scale line,
 * grid, legend, hottest mappings, key hints (interactive), help overlay, or
 * a "too small" message below PS_HEAT_MIN_W x PS_HEAT_MIN_H. Updates the
 * view's geometry fields and clamps its scroll position. */
void ps_heat_render(const struct ps_heat *h, struct ps_heat_view *v, struct ps_heat_frame *f);

/* Line y without trailing spaces, into buf (>= f->w + 1 bytes). */
const char *ps_heat_frame_line(const struct ps_heat_frame *f, int y, char *buf);
/* All lines, each ending with '\n'. */
void ps_heat_frame_text(const struct ps_heat_frame *f, struct ps_out *o);

/* One summary line for the end of a heatmap watch ("end: ... \n"). */
void ps_heat_summary(struct ps_out *o, const struct ps_watch_end *e);

/* `watch --heatmap=text`: one frame per interval on o (COLUMNS x LINES when
 * set, else 100 x 30), flushed each time; a summary line at the end. */
struct ps_sink *ps_sink_heattext_new(struct ps_out *o);

#endif
