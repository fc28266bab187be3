/* SPDX-License-Identifier: MIT */
/* run's output queue: a writer thread drains it to the output fd, so that a
 * reader that does not read (a pipe nobody drains) blocks that thread, never
 * the event loop that answers the command's ptrace stops. Appending never
 * blocks; past a cap it fails with -ENOBUFS instead of growing further.
 *
 * Start it only after the command is launched: a second thread at fork time
 * could leave a lock of malloc held in the child between its fork and exec. */
#ifndef PAGESCAN_CLI_ASYNCOUT_H
#define PAGESCAN_CLI_ASYNCOUT_H

#include <stdbool.h>
#include <stddef.h>

/* The default cap of queued bytes (64 MiB). */
#define PS_ASYNCOUT_CAP ((size_t)64 << 20)

struct ps_asyncout;

/* A queue and its writer thread for fd, at most cap bytes queued (0: the
 * default): NULL with errno set on failure. */
struct ps_asyncout *ps_asyncout_start(int fd, size_t cap);
/* Queue n bytes (ps_out's writer hook; ctx is the queue): 0; the writer's
 * first error (-EPIPE when the reader went away, -errno); or -ENOBUFS when
 * more than the cap would be waiting (nothing of buf is queued then). */
int ps_asyncout_write(void *ctx, const void *buf, size_t n);
/* No cap from now on: the last records (the end record) are queued
 * whatever is waiting, as tracking is over and nothing can be held up. */
void ps_asyncout_uncap(struct ps_asyncout *q);
/* Was a write refused for the cap (the reader stopped reading)? */
bool ps_asyncout_refused(struct ps_asyncout *q);
/* Bytes queued or being written, not written yet. */
size_t ps_asyncout_pending(struct ps_asyncout *q);
/* Wait until everything queued is written (or the writer failed; this
 * blocks for as long as the reader does not read), join the thread and
 * free q: 0 or the first write error (-errno). q may be NULL. */
int ps_asyncout_finish(struct ps_asyncout *q);

#endif
