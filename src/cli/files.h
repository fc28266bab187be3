/* SPDX-License-Identifier: MIT */
/* Output files of the front end: opening one for writing, replacing one
 * atomically. Errors come back as -errno with a message in err.
 *
 * Two kinds of files (docs/threat-model.md):
 * - a file the user names (-o FILE, --svg FILE) is opened like the shell's
 *   `>` would: created or truncated, following a symbolic link;
 * - a file whose name pagescan invents (the temporary file of an atomic
 *   replacement) is never opened through an existing name: it is created
 *   with O_CREAT|O_EXCL|O_NOFOLLOW under a fresh random name, in a
 *   directory opened once, and only ever reached through that directory
 *   (openat, renameat, unlinkat). A symbolic link or any file planted in
 *   the directory is never followed, truncated or written. */
#ifndef PAGESCAN_CLI_FILES_H
#define PAGESCAN_CLI_FILES_H

#include <stddef.h>

#include "pagescan/model/error.h"

/* PATH opened for writing, created (mode 0644 before the umask) or
 * truncated, close-on-exec, following symbolic links as `>` does: the fd,
 * or -errno ("cannot open PATH: ..."). */
int ps_open_output(const char *path, struct ps_err *err);

/* A file that is replaced atomically, again and again (--prom-file). */
struct ps_replace {
	int dirfd;      /* PATH's directory, opened once (O_PATH), or -1 */
	char *path;     /* PATH as given, for messages */
	char *base;     /* PATH's last component */
};

/* Open PATH's directory (following the user's path as given) and check that
 * a file can be created in it: one is created and removed again; PATH
 * must not be a directory. 0, or -errno with a message ("cannot create a
 * file in DIR: ...", "PATH is a directory; ...") and r closed. */
int ps_replace_open(struct ps_replace *r, const char *path, struct ps_err *err);

/* PATH's content replaced by data[0..len) so that a reader sees the old
 * file or the new one, never a part: a new file (random name, O_EXCL,
 * O_NOFOLLOW, in PATH's directory) is written, fsync'ed and renamed over
 * PATH. A symbolic link at PATH is replaced, never followed. 0, or -errno
 * with the temporary file removed. */
int ps_replace_write(struct ps_replace *r, const void *data, size_t len, struct ps_err *err);

/* Close the directory and free r (no-op on a closed one). */
void ps_replace_close(struct ps_replace *r);

#endif
