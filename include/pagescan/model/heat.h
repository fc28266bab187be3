/* SPDX-License-Identifier: MIT */
/* The heatmap model: where in the address space a process writes and how
 * hot each area is, as a grid of cells, and the view state (zoom, scroll,
 * focus) the keys change. Pure: no terminal, no output, no system calls.
 * pagescan/render/heat_frame.h draws it into a character frame.
 *
 * Layout. Each tracked mapping (a tracked range inside one VMA) is a
 * "segment" and is drawn as a band of grid rows, each band starting a new
 * row, so a row never mixes two mappings. A band takes as many rows as its
 * segment's cells need at the view's cells per row. By default the bands
 * are ordered busiest first (distinct pages written since the start or
 * reset, then pages written in the last interval, then address), and idle
 * small mappings (nothing written, at most PS_HEAT_FOLD_PAGES pages) are
 * folded into one row at the end when there are two or more; the view's
 * by_address puts every band in address order, none folded.
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
#ifndef PAGESCAN_MODEL_HEAT_H
#define PAGESCAN_MODEL_HEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/model/maps.h"
#include "pagescan/model/range.h"
#include "pagescan/model/region.h"
#include "pagescan/model/watch.h"

/* ---- values and glyphs -------------------------------------------------------- */

/* Level 0: nothing written; level k (1..8): share in ((k-1)/8, k/8]. */
#define PS_HEAT_LEVELS 9
#define PS_HEAT_FLOOR (1.0 / 16)   /* faded heat below this is dropped */
#define PS_HEAT_DECAY 0.5          /* default fade per interval */

int ps_heat_level(double v);       /* 0..8; v is a share of the hottest */
char ps_heat_glyph(int level);     /* ".:-=+*#%@"[level] */

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
	/* --compare soft-dirty (one process): its mapping's comparison in the
	 * last interval, and summed since the start or reset (kept where the
	 * same mapping stays). A mapping of several segments: on its first. */
	struct ps_sd_counts sd_now, sd_sum;
};

/* A workload (watch PID PID..., --tree, --cgroup): every process's tracked
 * ranges in one grid, each at the key (slot + 1) << PS_HEAT_KEY_SHIFT |
 * address, so that a process's segments sort together; slot indexes
 * ps_heat.proc (one per pid seen, never reused). Ranges at or above
 * 2^PS_HEAT_KEY_SHIFT are left out. The view groups the bands by process
 * (busiest first), each under a header band. */
#define PS_HEAT_KEY_SHIFT 48
#define PS_HEAT_ADDR(key) ((uint64_t)(key) & (((uint64_t)1 << PS_HEAT_KEY_SHIFT) - 1))
#define PS_HEAT_MAX_PROCS ((1u << 15) - 1)

struct ps_heat_proc {
	pid_t pid;
	char command[64];
	bool live;               /* in the last interval */
	uint64_t written_pages;  /* in the last interval, as its record counts them */
	uint64_t wss_pages;      /* its distinct pages since it joined */
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
	struct ps_overhead overhead; /* the estimate (model/overhead.h) */
	uint64_t asked_ns;           /* the interval asked: interval_ns, or longer when stretched */
	struct ps_sample_iv sample;  /* --sample: written_pages and wss_pages are estimates */
	bool soft_dirty;             /* --compare soft-dirty: sd holds the last interval's comparison */
	struct ps_sd_counts sd;
	/* the grid */
	struct ps_heat_seg *seg;     /* by address */
	size_t nseg;
	unsigned bin_shift;          /* pages per bin = 1 << bin_shift */
	size_t max_bins;             /* cap on all bins (default 1 << 20; a bin holds <= 2^31 pages) */
	double decay;                /* fade per interval (PS_HEAT_DECAY) */
	struct ps_regions seen;      /* written since start/reset, inside segments (bytes) */
	/* a workload: segments' addresses are keys (above) */
	bool workload;
	struct ps_heat_proc *proc;
	size_t nproc, proc_cap;
	size_t nlive;                /* processes in the last interval */
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

/* ---- grid geometry ------------------------------------------------------------- */

/* Cells of segment s at 2^z pages per cell, and the grid rows they take at
 * wc cells per row (at least 1). */
uint64_t ps_heat_seg_cells(const struct ps_heat_seg *s, unsigned z);
uint64_t ps_heat_seg_rows(const struct ps_heat_seg *s, unsigned z, int wc);
/* The index of the segment starting at address start, or -1. */
long ps_heat_seg_index(const struct ps_heat *h, uint64_t start);

/* ---- the view ---------------------------------------------------------------------- */

/* Idle mappings of at most this many pages (256 KiB) are folded. */
#define PS_HEAT_FOLD_PAGES 64
/* The band of the fold row in ps_heat_view_band(). */
#define PS_HEAT_BAND_FOLD (-1L)
/* A workload: the header band of process slot k, and back. */
#define PS_HEAT_BAND_PROC(k) (-2L - (long)(k))
#define PS_HEAT_BAND_PROC_SLOT(b) ((size_t)(-2L - (b)))

struct ps_heat_view {
	enum ps_heat_mode mode;
	bool by_address;          /* bands in address order, none folded (key o) */
	bool zoom_auto;           /* fit the grid (default) */
	unsigned zoom;            /* log2(pages per cell) when !zoom_auto */
	uint64_t top;             /* first grid row shown */
	bool has_focus;
	uint64_t focus;           /* start address of the focused segment */
	bool interactive;         /* key hints line, help overlay */
	bool help;
	bool paused;
	uint64_t live_seq;        /* paused: newest interval received */
	/* set by ps_heat_view_fit (each render): what was drawn */
	unsigned shown_zoom;
	uint64_t rows;            /* grid rows in total */
	int grid_rows, cells;     /* grid rows on screen, cells per row */
	bool too_small;
	/* set by ps_heat_view_order (fit and action call it): the bands in
	 * display order; NULL (no memory): address order */
	long *band;               /* segment index, or PS_HEAT_BAND_FOLD */
	size_t nbands, band_cap;
	size_t nfolded;           /* idle small mappings in the fold row */
	uint64_t folded_pages;
};

void ps_heat_view_init(struct ps_heat_view *v, bool interactive);
void ps_heat_view_free(struct ps_heat_view *v);

/* Order the bands of h for v (see Layout). 0, or -ENOMEM (then address
 * order, nothing folded). */
int ps_heat_view_order(const struct ps_heat *h, struct ps_heat_view *v);
/* The k-th band as ordered by the last ps_heat_view_order: a segment index
 * or PS_HEAT_BAND_FOLD; and the number of bands. */
size_t ps_heat_view_nbands(const struct ps_heat *h, const struct ps_heat_view *v);
long ps_heat_view_band(const struct ps_heat_view *v, size_t k);
/* Grid rows of band k at 2^z pages per cell, wc cells per row. */
uint64_t ps_heat_band_rows(const struct ps_heat *h, const struct ps_heat_view *v, size_t k, unsigned z, int wc);

/* Fit the view to a grid of grid_rows rows of `cells` cells (0, 0: too
 * small for a grid): picks the zoom shown (automatic, or the chosen one
 * clamped), counts the rows, clamps the scroll position and drops a focus
 * whose mapping went away. */
void ps_heat_view_fit(const struct ps_heat *h, struct ps_heat_view *v, int cells, int grid_rows);

enum ps_heat_action {
	PS_HA_ZOOM_IN, PS_HA_ZOOM_OUT, PS_HA_ZOOM_AUTO,
	PS_HA_UP, PS_HA_DOWN, PS_HA_PGUP, PS_HA_PGDN, PS_HA_HOME, PS_HA_END,
	PS_HA_FOCUS_NEXT, PS_HA_FOCUS_PREV, PS_HA_UNFOCUS,
	PS_HA_TOGGLE_MODE, PS_HA_HELP,
	PS_HA_TOGGLE_ORDER,       /* busiest first / address order */
};

/* Apply a key's action to the view, using the geometry of the last fit.
 * Returns true when the frame must be redrawn. */
bool ps_heat_action(const struct ps_heat *h, struct ps_heat_view *v, enum ps_heat_action a);

#endif
