/* SPDX-License-Identifier: MIT */
/* Finding the processes of a workload: the descendants of processes
 * (/proc/PID/task/TID/children), the members of a cgroup v2 (cgroup.procs),
 * and whether two processes share one address space (kcmp KCMP_VM). No
 * printing. */
#ifndef PAGESCAN_PROCTREE_H
#define PAGESCAN_PROCTREE_H

#include <stddef.h>
#include <sys/types.h>

#include "pagescan/model/error.h"

/* A growing list of pids. */
struct ps_pids {
	pid_t *v;
	size_t n, cap;
};
int ps_pids_add(struct ps_pids *p, pid_t pid);      /* 0 or -ENOMEM */
int ps_pids_has(const struct ps_pids *p, pid_t pid); /* 1 or 0 */
void ps_pids_free(struct ps_pids *p);

/* out = roots and all their descendants (children of any of their threads,
 * theirs, ...), each once, roots first; processes that vanish meanwhile are
 * left out. Stops adding past max (returns 1 then, else 0; -ENOMEM). */
int ps_proc_descendants(const pid_t *roots, size_t nroots, size_t max, struct ps_pids *out);

/* The path is a cgroup v2 directory (on a cgroup2 file system, with
 * cgroup.procs): 0, or an error naming the fix. */
int ps_cgroup_check(const char *path, struct ps_err *err);
/* out = the processes in the cgroup (cgroup.procs: thread-group ids; not
 * those of its child cgroups), appended. */
int ps_cgroup_procs(const char *path, struct ps_pids *out, struct ps_err *err);

/* 1 when a and b share one address space (CLONE_VM: vfork, a thread-like
 * clone), 0 when not, -errno when kcmp cannot tell (not permitted, gone, or
 * no kcmp). */
int ps_proc_same_mm(pid_t a, pid_t b);

#endif
