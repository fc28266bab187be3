/* SPDX-License-Identifier: MIT */
/* Small system helpers shared by the kernel layer and the CLI. */
#ifndef PAGESCAN_SYS_H
#define PAGESCAN_SYS_H

#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/error.h"
#include "pagescan/model/maps.h"

/* Monotonic clock in nanoseconds. */
uint64_t ps_now_ns(void);
/* CPU time of the calling thread (user + system) in nanoseconds: what a
 * system call cost, without the time it was preempted. */
uint64_t ps_thread_cpu_ns(void);

/* Close *fd if >= 0 and set it to -1 (errno preserved). */
void ps_close(int *fd);

/* Read a whole file relative to a directory fd (O_CLOEXEC). *ret_buf is
 * NUL-terminated, caller frees. Fails with EFBIG past max bytes. */
int ps_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len);
/* The same from an open descriptor, from offset 0 (pread: a /proc file kept
 * open reads anew). */
int ps_pread_all(int fd, size_t max, char **ret_buf, size_t *ret_len);
/* One pread from offset 0 into buf (n bytes, NUL-terminated): a file kept
 * open reads anew there, and a file of one record (/proc/PID/stat,
 * ksm_stat, a sysfs attribute) is made whole at that read, so a result
 * under n - 1 is all of it. The length read, or -errno. */
ssize_t ps_pread_text(int fd, char *buf, size_t n);

/* Read and parse "maps" relative to the /proc/PID directory fd (re-read when
 * the target changed its mappings during the read); _fd: from maps_fd, that
 * file kept open, when it is >= 0. */
int ps_maps_read(int procfd, struct ps_maps *ret, struct ps_err *err);
int ps_maps_read_fd(int procfd, int maps_fd, struct ps_maps *ret, struct ps_err *err);

/* The page size of the mappings in v[0..n) that can have pages larger than
 * the base page (hugetlb: memory of an internal filesystem, device 0:N with
 * an inode; 0 for the others), from PROCMAP_QUERY (6.11) on "maps" relative
 * to the /proc/PID directory fd, or smaps' KernelPageSize without it. A
 * mapping that vanished meanwhile reads 0. ret[i] for v[i]. */
int ps_vma_page_sizes(int procfd, const struct ps_vma *v, size_t n, uint64_t *ret);

/* Processes created since boot ("processes" in /proc/stat): a cheap way to
 * tell whether anything forked during a window. 0 when unreadable. */
uint64_t ps_forks_since_boot(void);

/* pagescan's own descriptors. It keeps several per tracked process (the
 * pidfd, /proc directories, pagemap, the userfaultfd, maps and stat) and
 * waits with poll(), never select(): ps_nofile_raise() lifts its soft
 * RLIMIT_NOFILE to the hard limit (once, at the start), and
 * ps_nofile_restore() puts the soft limit it found back, for a command
 * pagescan launches (async-signal-safe: between fork and exec). */
void ps_nofile_raise(void);
void ps_nofile_restore(void);
/* The descriptors pagescan keeps free below its limit for what it must
 * open (one more process's, the watch's own): kept-for-speed descriptors
 * and new processes do not take them. */
#define PS_NOFILE_RESERVE 32
/* fd, a descriptor kept only to save system calls (a /proc file re-read
 * each tick): itself, or closed and -1 (errno EMFILE) when it took one of
 * the reserved slots; the caller then opens the file each time. fd < 0 is
 * passed through. */
int ps_fd_spare(int fd);
/* Has pagescan room for reserve more descriptors? 0, or EMFILE (its own
 * limit: the top reserve slots below it are taken; descriptors are given
 * lowest first, so this is about "reserve are free") or ENFILE (the
 * system's). Four system calls; *limit: its soft RLIMIT_NOFILE. */
int ps_nofile_room(unsigned reserve, uint64_t *limit);

#endif
