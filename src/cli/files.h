/* SPDX-License-Identifier: MIT */
/* Output files of the front end: opening one for writing, replacing one
 * atomically. Errors come back as -errno with a message in err. */
#ifndef PAGESCAN_CLI_FILES_H
#define PAGESCAN_CLI_FILES_H

#include <stddef.h>

#include "pagescan/model/error.h"

/* PATH opened for writing, created (mode 0644 before the umask) or
 * truncated, close-on-exec: the fd, or -errno ("cannot open PATH: ..."). */
int ps_open_output(const char *path, struct ps_err *err);

/* PATH's content replaced by data[0..len) so that a reader sees the old
 * file or the new one, never a part: PATH.tmp (same directory) is written,
 * fsync'ed and renamed over PATH. 0, or -errno with PATH.tmp removed. */
int ps_file_replace(const char *path, const void *data, size_t len, struct ps_err *err);

/* Whether ps_file_replace(path) can create PATH.tmp: it is created and
 * removed again. 0, or -errno ("cannot create PATH.tmp: ..."). */
int ps_file_replace_check(const char *path, struct ps_err *err);

#endif
