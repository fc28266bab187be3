/* SPDX-License-Identifier: MIT */
/* Opening and atomically replacing output files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "pagescan/render/outbuf.h"

/* PATH created or truncated for writing: an fd, or -1 with errno set. */
static int create(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/* PATH.tmp (its name into tmp, PATH_MAX bytes) created or truncated for
 * writing: an fd, or -errno. */
static int create_tmp(const char *path, char *tmp, struct ps_err *err)
{
	int n = snprintf(tmp, PATH_MAX, "%s.tmp", path), fd;

	if (n < 0 || n >= PATH_MAX)
		return ps_errf(err, ENAMETOOLONG, "cannot write %s: the file name is too long", path);
	fd = create(tmp);
	if (fd < 0)
		return ps_errf(err, errno, "cannot create %s: %s", tmp, strerror(errno));
	return fd;
}

int ps_open_output(const char *path, struct ps_err *err)
{
	int fd = create(path);

	if (fd < 0)
		return ps_errf(err, errno, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

int ps_file_replace(const char *path, const void *data, size_t len, struct ps_err *err)
{
	char tmp[PATH_MAX];
	int fd, r;

	if ((fd = create_tmp(path, tmp, err)) < 0)
		return fd;
	r = ps_write_all(fd, data, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r) {
		unlink(tmp);
		return ps_errf(err, -r, "cannot write %s: %s", tmp, strerror(-r));
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return ps_errf(err, -r, "cannot rename %s to %s: %s", tmp, path, strerror(-r));
	}
	return 0;
}

int ps_file_replace_check(const char *path, struct ps_err *err)
{
	char tmp[PATH_MAX];
	int fd = create_tmp(path, tmp, err);

	if (fd < 0)
		return fd;
	close(fd);
	unlink(tmp);
	return 0;
}
