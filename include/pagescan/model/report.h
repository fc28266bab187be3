/* Recordings and reports (pure; no I/O, no printing).
 *
 * A recording is the JSON Lines that `pagescan watch -f json` writes
 * (docs/FORMAT.md). The reader takes it line by line and keeps, for every
 * interval, the exact page set as a sorted list of page runs. The analysis
 * answers the questions of the people who size live migration and
 * checkpoints: dirty-rate statistics, the write working set against window
 * length, per-mapping write statistics and an iterative pre-copy
 * simulation. Formatters write text, JSON and SVG into a struct ps_out.
 *
 * Problems that do not stop the analysis (a line cut off, an unknown field,
 * an inconsistent count) are collected as warnings for the caller to show;
 * nothing here prints. Fatal problems (not a recording, a newer
 * format_version, limits, memory) return -errno with err filled. */
#ifndef PAGESCAN_REPORT_H
#define PAGESCAN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/error.h"
#include "pagescan/render/outbuf.h"
#include "pagescan/model/stats.h"

/* ---- warnings ----------------------------------------------------------- */

/* At most PS_WARNINGS_KEEP messages are kept; later ones are only counted. */
#define PS_WARNINGS_KEEP 64

struct ps_warnings {
	char **msg;          /* one line each, no "warning:" prefix */
	size_t n, cap;
	size_t suppressed;   /* warnings beyond PS_WARNINGS_KEEP */
};

void ps_warnings_add(struct ps_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ps_warnings_free(struct ps_warnings *w);

/* ---- the JSON reader -------------------------------------------------------
 * Strict RFC 8259 for one document held in memory: objects, arrays, strings
 * (all escapes, \uXXXX with surrogate pairs), numbers, true, false, null.
 * The tree lives in arrays reused from one parse to the next. Strings are
 * decoded to NUL-terminated UTF-8; a lone surrogate, an escaped NUL and
 * invalid UTF-8 bytes become U+FFFD and are counted in `replaced`. */

enum ps_json_type { PS_JSON_NULL, PS_JSON_FALSE, PS_JSON_TRUE, PS_JSON_NUMBER, PS_JSON_STRING,
                    PS_JSON_ARRAY, PS_JSON_OBJECT };

struct ps_json_node {
	uint8_t type;       /* enum ps_json_type */
	uint32_t next;      /* next member or element, 0 = last */
	uint32_t key;       /* object members: offset of the key in str */
	uint32_t a, b;      /* string: offset in str, length; number: offset in
	                     * the source, length; array/object: first child
	                     * (0 = empty), number of children */
};

struct ps_json {
	struct ps_json_node *node;  /* node[0] is the root */
	size_t n, cap;
	char *str;                  /* decoded strings and keys, NUL-terminated */
	size_t slen, scap;
	const char *src;            /* the parsed text (borrowed) */
	size_t replaced;            /* characters replaced by U+FFFD */
	size_t err_pos;             /* byte offset of a syntax error */
	char err[96];               /* what was wrong there */
};

#define PS_JSON_MAX_DEPTH 64
#define PS_JSON_MAX_NODES ((size_t)1 << 26)

/* 0; -EINVAL on a syntax error (err and err_pos say where and why);
 * -E2BIG past PS_JSON_MAX_NODES or 4 GiB; -ENOMEM. */
int ps_json_parse(struct ps_json *j, const char *s, size_t len);
void ps_json_free(struct ps_json *j);

/* Member of object node o named key: its index, 0 when absent (or when o is
 * not an object). The first of duplicate keys wins. */
uint32_t ps_json_get(const struct ps_json *j, uint32_t o, const char *key);
/* Conversions: 0, or -EINVAL when the node has another type or (u64/i64)
 * is not an integer literal in range. */
int ps_json_u64(const struct ps_json *j, uint32_t n, uint64_t *ret);
int ps_json_i64(const struct ps_json *j, uint32_t n, int64_t *ret);
int ps_json_double(const struct ps_json *j, uint32_t n, double *ret);
/* The decoded string (NUL-terminated) or NULL when not a string. */
const char *ps_json_str(const struct ps_json *j, uint32_t n, size_t *len);

/* ---- recordings ------------------------------------------------------------ */

/* The format_version this reader understands; newer recordings are refused. */
#define PS_REC_FORMAT_VERSION 1
/* Limits against runaway input. */
#define PS_REC_MAX_LINE ((size_t)256 << 20)
#define PS_REC_MAX_INTERVALS ((size_t)10 << 20)
#define PS_REC_MAX_RUNS ((size_t)1 << 31)
#define PS_REC_MAX_SPANS ((size_t)1 << 22)

/* A run of pages: page numbers (address / 4096), [start, end). */
struct ps_rec_run {
	uint64_t start, end;
};

struct ps_rec_interval {
	uint64_t seq;
	double time_s;           /* end of the interval, since the watch started */
	double elapsed_s;        /* its length; it began at time_s - elapsed_s */
	uint64_t harvest_us;
	uint64_t tracked_pages;  /* as recorded (0 when absent) */
	uint64_t pages;          /* pages in its set */
	size_t run0, nruns;      /* its set: runs[run0 .. run0 + nruns) */
};

/* A tracked range engaged (at the start or later) or dropped. */
struct ps_rec_span {
	uint64_t start, end;     /* pages */
	char *mapping;
	uint64_t seq;            /* interval that reported it, 0 = the start record */
	bool dropped;
};

struct ps_recording {
	int64_t format_version;
	char *pagescan;          /* version that recorded it */
	int64_t pid;
	char *command;
	double interval_s;
	bool accumulate;         /* recorded with --accumulate (see the reader) */
	uint64_t tracked_pages;  /* at the start */
	size_t nskipped;         /* mappings the watch could not track */
	struct ps_rec_span *spans; size_t nspans, spans_cap;
	struct ps_rec_interval *iv; size_t niv, iv_cap;
	struct ps_rec_run *runs; size_t nruns, runs_cap;
	/* The end record, when there is one. */
	bool has_end;
	char *end_reason;
	double end_duration_s;
	bool end_has_wss;
	uint64_t end_wss_pages;
};

struct ps_rec_reader;

struct ps_rec_reader *ps_rec_reader_new(void);
/* One line without its newline; complete: it ended with a newline (a line
 * without one is the last, possibly cut off). 0, or -errno when the
 * recording is refused (then stop feeding). */
int ps_rec_reader_line(struct ps_rec_reader *r, const char *line, size_t len, bool complete,
                       struct ps_warnings *w, struct ps_err *err);
/* After the last line: hands over the recording (caller frees it). Fails
 * when there was no start record or no interval. */
int ps_rec_reader_finish(struct ps_rec_reader *r, struct ps_recording **ret, struct ps_warnings *w,
                         struct ps_err *err);
void ps_rec_reader_free(struct ps_rec_reader *r);

/* A whole recording in memory (tests, small inputs). */
int ps_recording_parse(const char *buf, size_t len, struct ps_recording **ret, struct ps_warnings *w,
                       struct ps_err *err);
void ps_recording_free(struct ps_recording *rec);

/* ---- analysis -------------------------------------------------------------- */

#define PS_PRECOPY_DEFAULT_ROUNDS 30

struct ps_report_opts {
	uint64_t bandwidth;      /* bytes/s; 0 = no pre-copy simulation */
	uint64_t downtime_ns;    /* acceptable final downtime */
	uint64_t max_rounds;     /* live rounds, round 0 included; 0 = default */
};

/* Write working set over windows of len consecutive intervals. */
struct ps_report_window {
	uint64_t len;            /* intervals */
	double seconds;          /* len x the recording's nominal interval */
	double mean_pages;       /* mean over all windows of distinct pages written */
	uint64_t max_pages;
	uint64_t max_seq;        /* seq of the first interval of a largest window */
};

/* One tracked mapping: engaged ranges with the same name that touch or
 * overlap are one mapping (a heap growing in steps stays one). */
struct ps_report_mapping {
	uint64_t start, end;     /* pages */
	const char *mapping;     /* borrowed from the recording */
	uint64_t tracked_pages;  /* pages of the range that were tracked at some point */
	uint64_t written_pages;  /* distinct pages written */
	uint64_t page_writes;    /* sum over intervals of its pages written */
	uint64_t once_pages;     /* pages written in exactly one interval */
	bool dropped;            /* (partly) unmapped during the watch */
};

struct ps_precopy_round {
	double start_s, duration_s;
	uint64_t pages;
};

enum ps_precopy_outcome {
	PS_PRECOPY_CONVERGED,       /* the pending set fits the downtime budget */
	PS_PRECOPY_MAX_ROUNDS,      /* still too big after max_rounds rounds */
	PS_PRECOPY_OUT_OF_DATA,     /* a round runs past the end of the recording */
};

struct ps_precopy {
	bool done;               /* simulated (bandwidth given) */
	uint64_t bandwidth;      /* bytes/s */
	double downtime_s;       /* budget */
	uint64_t max_rounds;
	struct ps_precopy_round *rounds; size_t nrounds;  /* live rounds */
	enum ps_precopy_outcome outcome;
	uint64_t pending_pages;  /* dirty when the live rounds stop: the stop-and-copy */
	double downtime_est_s;   /* pending / bandwidth */
	uint64_t total_bytes;    /* live rounds + stop-and-copy */
	double data_end_s;       /* OUT_OF_DATA: the recording's end ... */
	double needed_until_s;   /* ... and when the last round would have ended */
	bool short_rounds;       /* some round was shorter than an interval */
	double needed_bandwidth; /* not converged: smallest bandwidth found at which
	                          * the simulation converges within the recording and
	                          * max_rounds (bytes/s), 0 = none found */
};

struct ps_report_pair;

struct ps_report {
	double duration_s;
	uint64_t intervals;
	uint64_t first_seq, last_seq;
	uint64_t tracked_pages;      /* at the start */
	uint64_t tracked_pages_max;
	uint64_t unique_pages;       /* union of all interval sets */
	uint64_t page_writes;        /* sum of the interval set sizes */
	uint64_t once_pages;         /* pages written in exactly one interval */
	struct ps_summary rate;      /* pages/s over intervals */
	struct ps_report_window *win; size_t nwin;
	struct ps_report_mapping *map; size_t nmap;  /* by address */
	struct ps_precopy precopy;
	/* Private: first-write-in-window index, see report.c. */
	struct ps_report_pair *pair; size_t npair;
	size_t *pair_at;             /* pairs of interval i: pair[pair_at[i] .. pair_at[i+1]) */
	double *iv_start, *iv_end;   /* interval bounds in seconds */
};

int ps_report_analyse(const struct ps_recording *rec, const struct ps_report_opts *o,
                      struct ps_report **ret, struct ps_warnings *w, struct ps_err *err);
void ps_report_free(struct ps_report *r);

/* Distinct pages written in intervals first..last (0-based indexes into
 * rec->iv, inclusive), exactly. */
uint64_t ps_report_distinct(const struct ps_report *r, size_t first, size_t last);

/* Pages dirtied during [start_s, start_s + len_s): the union of the sets of
 * all intervals overlapping that span (an interval partly inside counts
 * whole). Returns false when the span runs past the recording's end. */
bool ps_report_dirtied(const struct ps_report *r, double start_s, double len_s, uint64_t *ret_pages);

/* ---- output ------------------------------------------------------------------ */

/* v rounded to the nearest integer and clamped to [0, UINT64_MAX] (NaN: 0):
 * doubles computed from a recording can be anything. */
uint64_t ps_report_u64(double v);

void ps_report_text(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r);
/* One JSON document on one line (docs/FORMAT.md, "report -f json"). */
void ps_report_json(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r,
                    const struct ps_warnings *w);
/* One self-contained SVG document (src/out/svg.c). */
void ps_report_svg(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r);

/* ---- Prometheus text exposition (src/out/prom.c) ------------------------------ */

struct ps_prom_state {
	int64_t pid;
	const char *command;
	bool running;
	uint64_t intervals;
	double interval_s;         /* length of the last interval */
	uint64_t written_pages;    /* last interval */
	double rate_pages_s;       /* last interval */
	uint64_t written_pages_total;
	uint64_t wss_pages;
	uint64_t tracked_pages;
	uint64_t harvest_us;       /* last interval */
	uint64_t harvest_us_total;
};

/* The whole file for one state (HELP and TYPE lines included). */
void ps_prom_render(struct ps_out *o, const struct ps_prom_state *st);
/* The watch sink for `watch --prom-file PATH`: after every interval (and at
 * the start and the end) PATH is rewritten atomically: PATH.tmp is written,
 * fsync'ed and renamed over PATH, so readers never see a partial file.
 * NULL with err set when PATH.tmp cannot be created. */
struct ps_sink;
struct ps_sink *ps_sink_prom_new(const char *path, struct ps_err *err);
/* A label value escaped per the exposition format (\\, \", \n), invalid
 * UTF-8 replaced by U+FFFD; without quotes. */
void ps_prom_label_value(struct ps_out *o, const char *s);

#endif
