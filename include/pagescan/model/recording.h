/* SPDX-License-Identifier: MIT */
/* Recordings (pure; no I/O, no printing).
 *
 * A recording is the JSON Lines that `pagescan watch -f json` writes
 * (docs/FORMAT.md). The reader takes it line by line and keeps, for every
 * interval, the exact page set as a sorted list of page runs.
 *
 * Problems that do not stop the reading (a line cut off, an unknown field,
 * an inconsistent count) are collected as warnings for the caller to show.
 * Fatal problems (not a recording, a newer format_version, limits, memory)
 * return -errno with err filled. */
#ifndef PAGESCAN_RECORDING_H
#define PAGESCAN_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/error.h"
#include "pagescan/model/softdirty.h"
#include "pagescan/model/warnings.h"

/* The newest format_version this reader understands (1: one process, 2: a
 * workload); newer recordings are refused. */
#define PS_REC_FORMAT_VERSION 2
/* Limits against runaway input. */
#define PS_REC_MAX_LINE ((size_t)256 << 20)
#define PS_REC_MAX_INTERVALS ((size_t)10 << 20)
#define PS_REC_MAX_RUNS ((size_t)1 << 31)
#define PS_REC_MAX_SPANS ((size_t)1 << 22)
/* Times a recording can hold, in seconds: an interval (interval_s,
 * elapsed_s) is above 0 and at most PS_REC_MAX_INTERVAL_S (115 days); a
 * time since the watch started (time_s, duration_s) at least 0 and at most
 * PS_REC_MAX_TIME_S (31 years). Anything else is not a watch's: the record
 * is ignored (warned), the start record refused. */
#define PS_REC_MAX_INTERVAL_S 1e7
#define PS_REC_MAX_TIME_S 1e9

/* A workload recording (format_version 2) keeps the workload's interval
 * sets in a page key space where a page is one page of the workload:
 *   private page of process instance k (from 1):  k << PS_REC_KEY_PROC_SHIFT | page
 *   shared page (a region with "shared"):          PS_REC_KEY_SHARED | object << 40 | file page
 * (object: the index of its (dev, inode), from 0). Keys of one process
 * keep its address order. */
#define PS_REC_KEY_PROC_SHIFT 44
#define PS_REC_KEY_SHARED ((uint64_t)1 << 63)
#define PS_REC_MAX_PROCESSES (((size_t)1 << 19) - 1)

/* A run of pages: page numbers (address / page_size), [start, end). */
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
	uint64_t est_pages;      /* recorded with --sample: its estimate of the pages
	                          * written (written_pages; the set holds only the
	                          * pages seen); else pages */
	size_t run0, nruns;      /* its set: runs[run0 .. run0 + nruns) */
	uint64_t shared_pages;   /* a workload's: of pages, those of shared mappings */
	uint64_t nprocesses;     /* a workload's: processes in the record */
	/* --compare soft-dirty (docs/soft-dirty.md): the record's soft_dirty
	 * counts, and its mappings: sd_maps[sd_map0 .. sd_map0 + nsd_maps). */
	bool has_sd;
	struct ps_sd_counts sd;
	size_t sd_map0, nsd_maps;
};

/* One mapping of an interval's soft_dirty.mappings. */
struct ps_rec_sd_mapping {
	uint64_t start;          /* page */
	char *mapping;
	struct ps_sd_counts c;
};

/* A tracked range engaged (at the start or later) or dropped, or a mapping
 * found read-only that already held written pages (readonly_written: its
 * early writes are in the interval's set; it was never tracked). */
struct ps_rec_span {
	uint64_t start, end;     /* pages */
	char *mapping;
	uint64_t seq;            /* interval that reported it, 0 = the start record */
	bool dropped;
	bool readonly_written;
};

struct ps_recording;

/* A process of a workload recording: one program of one process, from its
 * start event to its exit event (or the end of the recording). */
struct ps_rec_process {
	int64_t pid;
	char *command;
	double start_s;              /* its start event's time_s */
	struct ps_recording *rec;    /* its own recording (by address, its intervals only) */
	bool exited;                 /* an exit event was read */
	char *exit_reason;           /* NULL unless exited */
	uint64_t recorded_wss_pages; /* wss_pages of its last entry (or its exit event) */
	uint64_t written_pages;      /* sum of its entries' written_pages as recorded */
	uint64_t shared_written_pages; /* sum of its entries' shared_written_pages */
};

struct ps_recording {
	int64_t format_version;
	/* format_version 2: a workload. iv/runs are the workload's sets in the
	 * key space above; spans are empty (each process has its own). */
	bool workload;
	char *workload_kind;     /* "pids", "tree", "cgroup" */
	char *cgroup;            /* NULL unless "cgroup" */
	struct ps_rec_process *procs; size_t nprocs, procs_cap;  /* in order of their start events */
	uint64_t skipped_processes;  /* skipped events */
	uint64_t end_shared_wss_pages; /* the end record's (when end_has_wss) */
	char *pagescan;          /* version that recorded it */
	int64_t pid;
	char *command;
	double interval_s;
	/* page_size, in bytes (4096 when absent). Reading the start record sets
	 * the program's page size to it (ps_page_size_set), so that report,
	 * its JSON and SVG count in the recording's pages, not this machine's. */
	uint64_t page_size;
	bool accumulate;         /* recorded with --accumulate (see the reader) */
	/* recorded with --sample (docs/sampling.md): the share sampled; 0 =
	 * exact. Then written_pages and rates are estimates, and the regions
	 * only the pages seen in the samples. */
	double sample_fraction;
	uint64_t tracked_pages;  /* at the start */
	size_t nskipped;         /* mappings the watch could not track */
	struct ps_rec_span *spans; size_t nspans, spans_cap;
	struct ps_rec_interval *iv; size_t niv, iv_cap;
	struct ps_rec_run *runs; size_t nruns, runs_cap;
	/* Recorded with --compare soft-dirty (the start record's "compare"):
	 * the intervals' comparisons (has_sd) and their mappings. */
	bool soft_dirty;
	struct ps_rec_sd_mapping *sd_maps; size_t nsd_maps, sd_maps_cap;
	/* The end record, when there is one. */
	bool has_end;
	char *end_reason;
	double end_duration_s;
	bool end_has_wss;
	uint64_t end_wss_pages;
	bool end_has_sd;         /* the end record's soft_dirty sums */
	struct ps_sd_counts end_sd;
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

#endif
