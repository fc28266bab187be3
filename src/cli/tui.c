/* SPDX-License-Identifier: MIT */
/* The live heatmap: a full-screen ncurses view that paints the frames
 * src/render/heat_frame.c lays out. The watch loop feeds it intervals and polls its
 * input_fd: an epoll set of the terminal (keys) and a signalfd for SIGWINCH
 * (resizes wake the loop at once). The only file that includes <curses.h>.
 *
 * The terminal is restored on every way out: end() (q, count, duration,
 * Ctrl-C/SIGTERM through the loop's signalfd, target exit, error),
 * destroy() (always called), and an atexit handler for anything else. */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <term.h>
#include <unistd.h>

#include "cli.h"
#include "sinks.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/model/heat.h"
#include "pagescan/render/heat_frame.h"
#include "pagescan/model/util.h"
#include "pagescan/render/sink.h"

#define KEY_ESC 27
#define KEY_CTRL_L 12

struct tui {
	struct ps_sink s;
	int out_fd;                 /* borrowed from the watch */
	int tty_fd;                 /* the same terminal, for keys */
	int sig_fd, ep_fd;
	FILE *out, *in;
	SCREEN *scr;
	bool active;                /* curses mode on */
	bool mask_saved;
	sigset_t old_mask;
	enum ps_heat_colors colors;
	chtype attr[PS_HS_COUNT];
	chtype *line;
	int line_cap;
	struct ps_heat live, frozen;
	struct ps_heat_view v;
	struct ps_heat_frame f;
	const char *hold;           /* the target is gone: this replaces the key line */
	/* Warnings that came while on screen (ps_tui_hold_warning): the last
	 * one replaces the key line until a key is pressed; all are printed
	 * when the heatmap closes. */
	struct ps_notes held;
	bool note_on;
};

static struct tui *current; /* the view in curses mode, for atexit */

static void leave(struct tui *t)
{
	if (t->active) {
		t->active = false;
		curs_set(1);
		endwin();
		if (t->out)
			fflush(t->out);
	}
	if (t->mask_saved) {
		sigprocmask(SIG_SETMASK, &t->old_mask, NULL);
		t->mask_saved = false;
	}
	if (current == t)
		current = NULL;
}

static void leave_at_exit(void)
{
	if (current)
		leave(current);
}

static void setup_colors(struct tui *t)
{
	const char *no_color = getenv("NO_COLOR");
	int ncolors = 0;
	bool defaults = false;

	if (!(no_color && *no_color) && has_colors() && start_color() == OK) {
		defaults = use_default_colors() == OK;
		ncolors = COLORS;
	}
	t->colors = ps_heat_colors_pick(ncolors, no_color);
	for (int s = 0; s < PS_HS_COUNT; s++) {
		struct ps_heat_attr a;
		chtype at = A_NORMAL;
		ps_heat_attr_of((enum ps_heat_style)s, t->colors, &a);
		if (t->colors != PS_HEAT_MONO && (a.fg >= 0 || a.bg >= 0) && s + 1 < COLOR_PAIRS) {
			short fg = a.fg, bg = a.bg;
			if (!defaults) {
				/* No "default colour" on this terminal: plain white on black. */
				fg = fg < 0 ? COLOR_WHITE : fg;
				bg = bg < 0 ? COLOR_BLACK : bg;
			}
			if (fg < COLORS && bg < COLORS && init_pair((short)(s + 1), fg, bg) == OK)
				at |= COLOR_PAIR(s + 1);
		}
		if (a.bold)
			at |= A_BOLD;
		if (a.reverse)
			at |= A_REVERSE;
		if (a.dim)
			at |= A_DIM;
		t->attr[s] = at;
	}
}

/* Replace the frame's last line (the key line) with head and text, cut at the edge. */
static void last_line(struct tui *t, const char *head, const char *text)
{
	if (t->f.h <= 0)
		return;
	char *ch = t->f.ch + (size_t)(t->f.h - 1) * (size_t)t->f.w;
	unsigned char *st = t->f.st + (size_t)(t->f.h - 1) * (size_t)t->f.w;
	size_t nh = strlen(head), n = nh + strlen(text);
	for (int x = 0; x < t->f.w; x++) {
		size_t i = (size_t)x;
		unsigned char c = i < nh ? (unsigned char)head[i] : i < n ? (unsigned char)text[i - nh] : ' ';
		ch[x] = (char)(c < 0x20 || c > 0x7e ? '?' : c);
		st[x] = PS_HS_ALERT;
	}
}

static void draw(struct tui *t)
{
	int rows, cols;

	if (!t->active)
		return;
	getmaxyx(stdscr, rows, cols);
	if (rows < 1 || cols < 1 || ps_heat_frame_size(&t->f, cols, rows) < 0)
		return;
	if (t->line_cap < t->f.w + 1) {
		chtype *l = realloc(t->line, (size_t)(t->f.w + 1) * sizeof(*l));
		if (!l)
			return;
		t->line = l;
		t->line_cap = t->f.w + 1;
	}
	ps_heat_render(t->v.paused ? &t->frozen : &t->live, &t->v, &t->f);
	if (t->hold) {
		/* The last line: how to leave, then the summary (cut at the edge). */
		last_line(t, "", t->hold);
	} else if (t->note_on && t->held.n) {
		size_t k = (t->held.n < PS_NOTES_MAX ? t->held.n : PS_NOTES_MAX) - 1;
		last_line(t, "warning (repeated when the heatmap closes): ", t->held.msg[k]);
	}
	for (int y = 0; y < t->f.h; y++) {
		const char *ch = t->f.ch + y * t->f.w;
		const unsigned char *st = t->f.st + y * t->f.w;
		for (int x = 0; x < t->f.w; x++)
			t->line[x] = (chtype)(unsigned char)ch[x] | t->attr[st[x] < PS_HS_COUNT ? st[x] : 0];
		t->line[t->f.w] = 0;
		/* addchnstr never wraps or scrolls, so the last cell is safe too. */
		mvaddchnstr(y, 0, t->line, t->f.w);
	}
	wnoutrefresh(stdscr);
	doupdate();
}

static void resize(struct tui *t)
{
	struct winsize ws;
	/* resizeterm() queues a KEY_RESIZE for getch(); that one only redraws. */
	if (ioctl(t->tty_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
	    is_term_resized(ws.ws_row, ws.ws_col))
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

static int enter(struct tui *t)
{
	sigset_t winch;
	int fd;

	/* SIGWINCH through a signalfd: a resize then wakes the loop's poll. */
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &winch, &t->old_mask) < 0)
		return -errno;
	t->mask_saved = true;
	t->sig_fd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
	t->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (t->sig_fd < 0 || t->ep_fd < 0)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = t->tty_fd };
	if (epoll_ctl(t->ep_fd, EPOLL_CTL_ADD, t->tty_fd, &ev) < 0)
		return -errno;
	ev.data.fd = t->sig_fd;
	if (epoll_ctl(t->ep_fd, EPOLL_CTL_ADD, t->sig_fd, &ev) < 0)
		return -errno;

	fd = fcntl(t->out_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || !(t->out = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	fd = fcntl(t->tty_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || !(t->in = fdopen(fd, "r"))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	/* The window size comes from the terminal, even when LINES/COLUMNS are set. */
	use_tioctl(TRUE);
	t->scr = newterm(NULL, t->out, t->in);
	if (!t->scr)
		return -ENOTTY;
	set_term(t->scr);
	t->active = true;
	current = t;
	static bool registered;
	if (!registered && atexit(leave_at_exit) == 0)
		registered = true;
	cbreak(); /* keeps ISIG: Ctrl-C reaches the loop's signalfd as SIGINT */
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	setup_colors(t);
	t->s.input_fd = t->ep_fd;
	return 0;
}

static int tui_start(struct ps_sink *s, const struct ps_watch_start *w)
{
	struct tui *t = (struct tui *)s;
	int r = ps_heat_start(&t->live, w);
	if (r < 0)
		return r;
	r = enter(t);
	if (r < 0) {
		leave(t);
		return r;
	}
	draw(t);
	return 0;
}

static int tui_interval(struct ps_sink *s, const struct ps_interval *iv)
{
	struct tui *t = (struct tui *)s;
	int r = ps_heat_interval(&t->live, iv);
	if (r < 0)
		return r;
	t->v.live_seq = iv->seq;
	/* Paused: the grid stays frozen; the header still counts live intervals. */
	draw(t);
	return 0;
}

static void toggle_pause(struct tui *t)
{
	if (t->v.paused) {
		t->v.paused = false;
		ps_heat_free(&t->frozen);
		ps_heat_init(&t->frozen);
	} else if (ps_heat_copy(&t->frozen, &t->live) == 0) {
		t->v.paused = true;
	}
}

/* One key; returns PS_SINK_QUIT for q. */
static int key(struct tui *t, int ch)
{
	const struct ps_heat *h = t->v.paused ? &t->frozen : &t->live;
	enum ps_heat_action a;

	if (ch == 'q' || ch == 'Q')
		return PS_SINK_QUIT;
	if (ch != KEY_RESIZE)
		t->note_on = false; /* a key hides the warning line */
	if (t->v.help && ch != KEY_RESIZE) {
		t->v.help = false; /* any key closes the help */
		return 0;
	}
	switch (ch) {
	case ' ':
		toggle_pause(t);
		return 0;
	case 'r':
	case 'R':
		ps_heat_reset(&t->live);
		if (t->v.paused)
			ps_heat_reset(&t->frozen);
		return 0;
	case KEY_RESIZE:
		return 0; /* resized already: redrawn below */
	case KEY_CTRL_L:
		clearok(curscr, TRUE);
		return 0;
	case '+': case '=': a = PS_HA_ZOOM_IN; break;
	case '-': case '_': a = PS_HA_ZOOM_OUT; break;
	case 'a': case 'A': a = PS_HA_ZOOM_AUTO; break;
	case KEY_UP: case 'k': a = PS_HA_UP; break;
	case KEY_DOWN: case 'j': a = PS_HA_DOWN; break;
	case KEY_PPAGE: a = PS_HA_PGUP; break;
	case KEY_NPAGE: a = PS_HA_PGDN; break;
	case KEY_HOME: case 'g': a = PS_HA_HOME; break;
	case KEY_END: case 'G': a = PS_HA_END; break;
	case '\t': case KEY_RIGHT: a = PS_HA_FOCUS_NEXT; break;
	case KEY_BTAB: case KEY_LEFT: a = PS_HA_FOCUS_PREV; break;
	case KEY_ESC: a = PS_HA_UNFOCUS; break;
	case 'c': case 'C': a = PS_HA_TOGGLE_MODE; break;
	case 'o': case 'O': a = PS_HA_TOGGLE_ORDER; break;
	case '?': case 'h': case KEY_F(1): a = PS_HA_HELP; break;
	default:
		return 0;
	}
	ps_heat_action(h, &t->v, a);
	return 0;
}

static int tui_input(struct ps_sink *s)
{
	struct tui *t = (struct tui *)s;
	struct epoll_event ev[4];
	bool tty_gone = false, got_key = false;

	if (!t->active)
		return PS_SINK_QUIT;
	int n = epoll_wait(t->ep_fd, ev, 4, 0);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == t->sig_fd) {
			struct signalfd_siginfo si;
			while (read(t->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
			resize(t);
		} else if (ev[i].events & (EPOLLHUP | EPOLLERR)) {
			tty_gone = true;
		}
	}
	int ch;
	while ((ch = getch()) != ERR) {
		got_key = true;
		if (key(t, ch) == PS_SINK_QUIT)
			return PS_SINK_QUIT;
	}
	if (tty_gone && !got_key)
		return PS_SINK_QUIT; /* the terminal went away */
	draw(t);
	return 0;
}

/* The target is gone: keep the last frame, with the summary in the key
 * line, until q (or Ctrl-C, SIGINT/SIGTERM/SIGHUP, or the terminal going
 * away). The other keys still scroll, zoom and focus the last picture. */
static void hold_last_frame(struct tui *t, const struct ps_watch_end *e)
{
	struct ps_out o;
	sigset_t stop;
	int sfd;

	ps_out_init(&o, -1);
	ps_out_str(&o, "press q to quit | ");
	ps_heat_summary(&o, e);
	if (o.len && o.buf[o.len - 1] == '\n')
		o.len--;
	ps_out_chr(&o, '\0');
	t->hold = o.error ? NULL : o.buf;
	/* The loop blocks these and reads them from its own signalfd; it is
	 * not polling now, so this wait reads them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	sfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = sfd };
		epoll_ctl(t->ep_fd, EPOLL_CTL_ADD, sfd, &ev);
	}
	raw(); /* Ctrl-C arrives as a key here */
	if (t->v.paused)
		toggle_pause(t);
	t->v.help = false;
	draw(t);
	for (bool done = false; !done && t->active;) {
		struct epoll_event ev[4];
		int n = epoll_wait(t->ep_fd, ev, 4, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == t->sig_fd && ev[i].data.fd != sfd) {
				struct signalfd_siginfo si;
				while (read(t->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					;
				resize(t);
			} else if (ev[i].data.fd == sfd || (ev[i].events & (EPOLLHUP | EPOLLERR))) {
				done = true; /* a signal to end, or the terminal went away */
			}
		}
		int ch;
		while (!done && (ch = getch()) != ERR) {
			if (ch == 3) /* Ctrl-C */
				done = true;
			else if (ch != ' ') /* nothing to pause: the picture is the last one */
				done = key(t, ch) == PS_SINK_QUIT;
		}
		if (!done)
			draw(t);
	}
	if (sfd >= 0)
		close(sfd); /* a signal that ended the wait has done its job */
	t->hold = NULL;
	ps_out_free(&o);
}

/* Off screen now: the warnings that came while on it, to stderr. */
static void flush_held(struct tui *t)
{
	if (!t->held.n)
		return;
	ps_warn_notes(&t->held);
	t->held.n = 0;
	t->note_on = false;
}

bool ps_tui_hold_warning(const char *msg)
{
	struct tui *t = current;
	if (!t || !t->active)
		return false;
	ps_note(&t->held, "%s", msg);
	t->note_on = true;
	draw(t);
	return true;
}

static int tui_end(struct ps_sink *s, const struct ps_watch_end *e)
{
	struct tui *t = (struct tui *)s;
	struct ps_out o;
	ps_heat_end(&t->live, e);
	if (t->active && (e->reason == PS_END_TARGET_EXIT || e->reason == PS_END_TARGET_EXEC))
		hold_last_frame(t, e);
	leave(t);
	/* Back on the normal screen: the summary stays visible. */
	ps_out_init(&o, t->out_fd);
	ps_heat_summary(&o, e);
	int r = ps_out_flush(&o);
	ps_out_free(&o);
	flush_held(t);
	return r;
}

static void tui_destroy(struct ps_sink *s)
{
	struct tui *t = (struct tui *)s;

	leave(t);
	flush_held(t);
	if (t->scr)
		delscreen(t->scr);
	if (t->out)
		fclose(t->out);
	if (t->in)
		fclose(t->in);
	ps_close(&t->tty_fd);
	ps_close(&t->sig_fd);
	ps_close(&t->ep_fd);
	ps_heat_free(&t->live);
	ps_heat_free(&t->frozen);
	ps_heat_view_free(&t->v);
	ps_heat_frame_free(&t->f);
	free(t->line);
	free(t);
}

struct ps_sink *ps_tui_sink_new(int out_fd, struct ps_err *err)
{
	int e = 0;

	if (!isatty(out_fd)) {
		ps_errf(err, ENOTTY, "--heatmap needs a terminal on standard output; use --heatmap=text or -f json");
		return NULL;
	}
	/* Check the terminal type now, before anything is engaged. */
	if (setupterm(NULL, out_fd, &e) != OK) {
		const char *term = getenv("TERM");
		ps_errf(err, EINVAL, "cannot drive terminal type \"%s\" (%s); set TERM, or use --heatmap=text",
		        term ? term : "", e == 0 ? "not in the terminfo database" : e < 0 ? "no terminfo database" : "a hardcopy terminal");
		return NULL;
	}
	del_curterm(cur_term);

	/* Keys come from the terminal the heatmap is drawn on. */
	char name[PATH_MAX] = "";
	int te = ttyname_r(out_fd, name, sizeof(name)); /* reentrant: the injection uses a thread */
	int tty = te == 0 ? open(name, O_RDONLY | O_NOCTTY | O_CLOEXEC) : -1;
	if (tty < 0) {
		int terr = te ? te : errno ? errno : ENOTTY;
		ps_errf(err, terr, "cannot open the terminal %s for keyboard input: %s",
		        te == 0 ? name : "of standard output", strerror(terr));
		return NULL;
	}
	struct tui *t = calloc(1, sizeof(*t));
	if (!t) {
		close(tty);
		ps_errf(err, ENOMEM, "out of memory");
		return NULL;
	}
	t->out_fd = out_fd;
	t->tty_fd = tty;
	t->sig_fd = t->ep_fd = -1;
	ps_heat_init(&t->live);
	ps_heat_init(&t->frozen);
	ps_heat_view_init(&t->v, true);
	t->s.start = tui_start;
	t->s.interval = tui_interval;
	t->s.end = tui_end;
	t->s.destroy = tui_destroy;
	t->s.input_fd = -1;
	t->s.input = tui_input;
	return &t->s;
}
