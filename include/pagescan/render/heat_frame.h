/* SPDX-License-Identifier: MIT */
/* The heatmap drawn into a character frame: a grid of cells per mapping
 * (pagescan/model/heat.h) with a header, a scale line, a legend and the
 * hottest mappings. No terminal, no ncurses: the ncurses view
 * (src/cli/tui.c) paints the frame, and the text frames
 * (`watch --heatmap=text`) print it; both draw the same frame.
 *
 * Each grid row is labelled with its start address and the mapping's name;
 * '[' opens a mapping's cells, ']' closes them. A cell shows its value's
 * level as a glyph, and the frame gives it that level's style, which the
 * ncurses view turns into a colour. */
#ifndef PAGESCAN_RENDER_HEAT_FRAME_H
#define PAGESCAN_RENDER_HEAT_FRAME_H

#include <stdbool.h>

#include "pagescan/model/heat.h"
#include "pagescan/model/watch.h"
#include "pagescan/render/sink.h"
#include "pagescan/render/outbuf.h"

/* ---- styles and colours ------------------------------------------------------- */

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
 * a "too small" message below PS_HEAT_MIN_W x PS_HEAT_MIN_H. Fits the view
 * to the grid drawn (ps_heat_view_fit): its geometry fields and scroll
 * position. */
void ps_heat_render(const struct ps_heat *h, struct ps_heat_view *v, struct ps_heat_frame *f);

/* Line y without trailing spaces, into buf (>= f->w + 1 bytes). */
const char *ps_heat_frame_line(const struct ps_heat_frame *f, int y, char *buf);
/* All lines, each ending with '\n'. */
void ps_heat_frame_text(const struct ps_heat_frame *f, struct ps_out *o);

/* ---- text output ---------------------------------------------------------------------- */

/* One summary line for the end of a heatmap watch ("end: ... \n"). */
void ps_heat_summary(struct ps_out *o, const struct ps_watch_end *e);

/* `watch --heatmap=text`: one frame per interval on o (COLUMNS x LINES when
 * set, else 100 x 30), flushed each time; a summary line at the end. */
struct ps_sink *ps_sink_heattext_new(struct ps_out *o);

#endif
