/* SPDX-License-Identifier: MIT */
/* A workload: several processes watched together (watch PID PID..., --tree,
 * --cgroup). Each tick the loop hands over every member's interval record
 * (model/watch.h: its written regions and the maps snapshot they are named
 * against); the workload sums them into totals with the pages of shared
 * mappings counted once.
 *
 * What is one page of the workload:
 *   - a page of a mapping with the shared flag (MAP_SHARED files, shmem,
 *     memfd, SysV shm, shared anonymous memory): keyed by what backs it,
 *     (device, inode, page offset in the file), whichever process and
 *     address wrote it;
 *   - any other page (private anonymous memory, the copy-on-write pages a
 *     fork leaves, private file mappings): the process's own, keyed by
 *     (process, virtual address). Two processes' private pages are never
 *     the same page, even where a fork made them equal.
 *
 * Per interval: written pages per process (as its own record counts them,
 * shared pages included) and in total (shared pages once); the write working
 * set since the start: the distinct private pages of every process plus the
 * distinct shared pages once. A member that leaves keeps its pages in the
 * working set (as a count). Pure logic. */
#ifndef PAGESCAN_WORKLOAD_H
#define PAGESCAN_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "pagescan/model/watch.h"

struct ps_workload;

/* accumulate: the records are cumulative (watch --accumulate), so a tick's
 * total written is the working set itself. NULL: no memory. */
struct ps_workload *ps_workload_new(bool accumulate);
void ps_workload_free(struct ps_workload *w);

/* What one member contributed to the tick just added. */
struct ps_workload_member {
	uint64_t written_pages;         /* as its record counts them */
	uint64_t shared_written_pages;  /* of those, pages of shared mappings (by address) */
	uint64_t wss_pages;             /* its own distinct pages since it joined, by
	                                 * address (its record's wss_pages) */
};

struct ps_workload_totals {
	uint64_t written_pages;         /* this tick, shared pages once (accumulate: wss_pages) */
	uint64_t shared_written_pages;  /* distinct shared pages written this tick */
	uint64_t wss_pages;             /* distinct pages since the start, shared once */
	uint64_t shared_wss_pages;      /* of those, shared pages */
	uint64_t members;               /* members added this tick */
};

/* A tick: begin, add every member's record, end. id names a member over the
 * watch (pids may be reused: the caller's own numbering). The record is read
 * during the call only. */
void ps_workload_begin_tick(struct ps_workload *w);
int ps_workload_add(struct ps_workload *w, uint64_t id, const struct ps_interval *iv,
                    struct ps_workload_member *ret);
void ps_workload_end_tick(struct ps_workload *w, struct ps_workload_totals *ret);

/* The member left (exited, left the cgroup): its pages stay in the working
 * set as a count; its own set is freed. Unknown ids are ignored. */
void ps_workload_drop(struct ps_workload *w, uint64_t id);

/* The working set now (as in the last end_tick). */
uint64_t ps_workload_wss_pages(const struct ps_workload *w);

#endif
