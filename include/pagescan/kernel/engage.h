/* SPDX-License-Identifier: MIT */
/* Engaging tracking in a target, and ending it: the one place where the
 * steps are put together (pagemap, kernel checks, the target's userfaultfd,
 * the tracker), for a running process (attach), a command pagescan launched
 * (launched) and persistent tracking (persistent, release). */
#ifndef PAGESCAN_ENGAGE_H
#define PAGESCAN_ENGAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/kernel/launch.h"
#include "pagescan/kernel/target.h"
#include "pagescan/kernel/tracker.h"
#include "pagescan/model/error.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/range.h"
#include "pagescan/model/spans.h"

/* The kernel has PAGEMAP_SCAN and userfaultfd asynchronous write-protect
 * (needs the pagemap open). */
int ps_check_kernel(const struct ps_target *t, struct ps_err *err);
/* PAGEMAP_SCAN knows every category in used (else EOPNOTSUPP naming the
 * category and the Linux version that added it); *ret_supported gets the
 * categories it knows. */
int ps_check_categories(int pagemap_fd, uint64_t used, uint64_t *ret_supported, struct ps_err *err);
/* Nothing in the target is write-protect tracked already (by engage,
 * another watch or the program itself): EBUSY saying which. */
int ps_check_untracked(const struct ps_target *t, struct ps_err *err);

/* A running process (watch, demo): open its pagemap, check the kernel and
 * that nothing tracks it yet, make it create a userfaultfd, take a copy and
 * close its own (pagescan then holds the only one, so tracking ends however
 * pagescan ends), and set up a tracker on the copy. specs are borrowed by
 * the tracker. Nothing is registered yet (ps_tracker_sync does that).
 * notes get this process's own (a fork during the injection), not the
 * kernel's: ps_note_kernel_bugs() once per command is the caller's. */
struct ps_tracker *ps_engage_attach(struct ps_target *t, const struct ps_rangespec *specs, size_t nspecs,
                                    struct ps_notes *notes, struct ps_err *err);

/* A command launched with ps_launch_start, stopped at its exec (the first,
 * or a later one: close t first, its pagemap is the old address space's),
 * or, following forks, process pid it made, stopped at its exec or at its
 * first stop after fork/clone (its own address space: never a process that
 * shares its creator's, which runs on its creator's stack): open the target
 * t for pid, create the userfaultfd through the stopped thread, and call
 * armed(ctx, tracker) while it is still stopped (it registers and arms the
 * mappings), then let it go on under trace. No signal can end pagescan
 * meanwhile. On failure the caller kills the command (first exec) or
 * releases it (a later one: run goes on untracked). */
typedef int (*ps_engage_armed_fn)(void *ctx, struct ps_tracker *tr, struct ps_err *err);
struct ps_tracker *ps_engage_launched(const struct ps_launch *l, pid_t pid, struct ps_target *t,
                                      const struct ps_rangespec *specs, size_t nspecs,
                                      ps_engage_armed_fn armed, void *ctx, struct ps_err *err);

/* Persistent tracking (engage): the userfaultfd stays in the target, with
 * every selected writable mapping registered and armed; pagescan keeps
 * nothing. On failure the target is left as it was (a note says so when the
 * userfaultfd could not be removed again). */
struct ps_engagement {
	struct ps_maps maps;          /* the snapshot the spans' labels point into */
	struct ps_sync_result res;    /* engaged and skipped */
	uint64_t readonly_vmas;       /* read-only mappings left out */
	int remote_fd;                /* the userfaultfd's number in the target */
};
int ps_engage_persistent(struct ps_target *t, const struct ps_rangespec *specs, size_t nspecs,
                         struct ps_engagement *ret, struct ps_notes *notes, struct ps_err *err);
void ps_engagement_free(struct ps_engagement *e);

/* End persistent tracking (release): close in the target the userfaultfd
 * that engage left (want: its fd number, or -1 to find the only one), after
 * unregistering its mappings from outside a little at a time, and the
 * copies that children forked while engaged inherited. Only once an
 * injected getpid() shows the target can run the close: otherwise tracking
 * stays as it was. */
#define PS_RELEASE_COPIES_MAX 16
struct ps_release {
	int fd;                                /* closed in the target */
	pid_t copies[PS_RELEASE_COPIES_MAX];   /* children whose copies were closed too */
	size_t ncopies;
};
int ps_release(const struct ps_target *t, int want, struct ps_release *ret, struct ps_notes *notes,
               struct ps_err *err);
/* After release: collapse again the transparent huge pages that tracking
 * split. release cannot know what was huge when engage armed it; it takes
 * every 2 MiB-aligned range of a private anonymous mapping that is one
 * whole transparent huge page (its first 4 KiB page is the head of a THP in
 * /proc/kpageflags, the last is 511 frames on) mapped by 4 KiB entries: a
 * PMD mapping that a write split. Fills ret (split: such ranges found; the
 * recollapse_* fields: what MADV_COLLAPSE did and cost). 0, or -errno when
 * the frames cannot be read (not root: /proc/kpageflags). */
int ps_release_recollapse(struct ps_target *t, struct ps_huge_stats *ret);

#endif
