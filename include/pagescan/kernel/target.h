/* SPDX-License-Identifier: MIT */
/* A target process pinned by a pidfd, with its /proc directory and pagemap. */
#ifndef PAGESCAN_TARGET_H
#define PAGESCAN_TARGET_H

#include <stdbool.h>
#include <sys/types.h>

#include "pagescan/model/error.h"
#include "pagescan/model/maps.h"

struct ps_target {
	pid_t pid;
	int pidfd;        /* pidfd_open(pid) */
	int procfd;       /* /proc/PID, O_DIRECTORY */
	int mmfd;         /* where maps, pagemap, fd and fdinfo are read: procfd, or
	                   * /proc/PID/task/TID of a live thread when the leader is
	                   * a zombie (its own are empty or ESRCH) */
	int pagemap_fd;   /* /proc/PID/pagemap, -1 until ps_target_open_pagemap() */
	/* maps and stat kept open by ps_target_open_pagemap() for the reads of
	 * every tick (pread from 0); -1 when they could not be (no descriptor
	 * left): each read then opens the file */
	int maps_fd, stat_fd;
	char comm[64];    /* from /proc/PID/comm, without newline */
};

#define PS_TARGET_INIT { .pid = 0, .pidfd = -1, .procfd = -1, .mmfd = -1, .pagemap_fd = -1, .maps_fd = -1, .stat_fd = -1 }

/* Open pidfd, then /proc/PID, then verify the pidfd still names a live
 * process (so the directory is the same process). Refuses kernel threads
 * and zombie processes (all threads gone). ESRCH "no such process". */
int ps_target_open(struct ps_target *t, pid_t pid, struct ps_err *err);

/* Open pagemap (needs PTRACE_MODE_READ over the target: EACCES -> message),
 * and keep maps and stat open. */
int ps_target_open_pagemap(struct ps_target *t, struct ps_err *err);

/* The target's maps, from the kept descriptor when there is one. */
int ps_target_maps(const struct ps_target *t, struct ps_maps *ret, struct ps_err *err);
/* Its /proc/PID/stat, the same way (ps_read_file_at's contract). */
int ps_target_stat(const struct ps_target *t, char **ret_buf, size_t *ret_len);

/* 1 while the process lives (pidfd not readable), 0 once it exited. */
int ps_target_alive(const struct ps_target *t);

/* 1 when it exited or is exiting (its thread-group leader is inside exit,
 * PF_EXITING, or a zombie), 0 otherwise. Tells an exit from an exec when the
 * address space disappears: exec replaces it in a live, non-exiting task. */
int ps_target_exiting(const struct ps_target *t);

/* Read /proc/PID/<name> and then check the process is still alive. */
int ps_target_read(const struct ps_target *t, const char *name, char **ret_buf,
                   size_t *ret_len, struct ps_err *err);

/* Value of "Key:" in a status-like buffer (trimmed), into out; 0 or -ENOENT. */
int ps_status_field(const char *status, const char *key, char *out, size_t n);

/* The live threads other than the leader (not zombies), in /proc order.
 * *ret is allocated (free it); may be empty. */
int ps_target_threads(const struct ps_target *t, pid_t **ret, size_t *ret_n, struct ps_err *err);

/* The descendants of the process (children of any of its threads, theirs,
 * ...; /proc/PID/task/TID/children), at most max of them into pids.
 * Returns how many were found (may exceed max), or 0 when none or
 * unreadable: best effort, for finding what a fork copied. */
size_t ps_target_descendants(const struct ps_target *t, pid_t *pids, size_t max);

void ps_target_close(struct ps_target *t);

#endif
