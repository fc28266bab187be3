/* SPDX-License-Identifier: MIT */
/* Opening and atomically replacing output files (see files.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "pagescan/render/outbuf.h"

int ps_open_output(const char *path, struct ps_err *err)
{
	/* A name the user gave: the shell's `>` (follows a symbolic link). */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return ps_errf(err, errno, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

/* 64 unpredictable bits; getrandom() cannot fail for 8 bytes once the pool
 * is initialised, the fallback only matters in early boot. */
static uint64_t random_u64(void)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 16) ^ (uintptr_t)&v;
}

/* A new, empty file in r's directory under a fresh name
 * ".BASE.<16 hex digits>.tmp" (written into name, NAME_MAX + 1 bytes):
 * O_EXCL|O_NOFOLLOW, so nothing that already exists there (a planted
 * symbolic link, a hard link, a fifo) is ever opened. The fd, or -errno. */
static int create_temp(const struct ps_replace *r, char *name)
{
	for (int tries = 0; tries < 100; tries++) {
		/* The base is cut to keep the name within NAME_MAX; the name is
		 * only ever seen while the file is being written. */
		snprintf(name, NAME_MAX + 1, ".%.200s.%016" PRIx64 ".tmp", r->base, random_u64());
		int fd = openat(r->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

void ps_replace_close(struct ps_replace *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
	free(r->path);
	free(r->base);
	r->path = r->base = NULL;
}

int ps_replace_open(struct ps_replace *r, const char *path, struct ps_err *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL, name[NAME_MAX + 1];
	int e, fd;

	*r = (struct ps_replace){ .dirfd = -1 };
	const char *base = slash ? slash + 1 : path;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return ps_errf(err, EISDIR, "%s is not a file name", *path ? path : "\"\"");
	if (strlen(base) > NAME_MAX)
		return ps_errf(err, ENAMETOOLONG, "cannot write %s: the file name is too long", path);
	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	r->path = strdup(path);
	r->base = strdup(base);
	if (!dir || !r->path || !r->base) {
		free(dir);
		ps_replace_close(r);
		return ps_errf(err, ENOMEM, "out of memory");
	}
	/* The directory is the user's choice (a symbolic link in it is
	 * followed, as by `>`); once open, it is the only way in. */
	r->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		e = errno;
		ps_errf(err, e, "cannot open the directory %s: %s", dir, strerror(e));
		free(dir);
		ps_replace_close(r);
		return -e;
	}
	/* A directory at PATH cannot be renamed over: say so now, before
	 * attaching, not at the first write. */
	struct stat st;
	if (fstatat(r->dirfd, r->base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		ps_errf(err, EISDIR, "%s is a directory; give a file name in it (e.g. %s/metrics.prom)", path, path);
		free(dir);
		ps_replace_close(r);
		return -EISDIR;
	}
	/* Fail now, not at the first interval, when no file can be made there. */
	fd = create_temp(r, name);
	if (fd < 0) {
		e = -fd;
		ps_errf(err, e, "cannot create a file in %s: %s", dir, strerror(e));
		free(dir);
		ps_replace_close(r);
		return -e;
	}
	close(fd);
	unlinkat(r->dirfd, name, 0);
	free(dir);
	return 0;
}

int ps_replace_write(struct ps_replace *r, const void *data, size_t len, struct ps_err *err)
{
	char name[NAME_MAX + 1];
	int fd, e;

	if (r->dirfd < 0)
		return ps_errf(err, EBADF, "cannot write %s: not open", r->path ? r->path : "");
	fd = create_temp(r, name);
	if (fd < 0)
		return ps_errf(err, -fd, "cannot create a temporary file for %s: %s", r->path, strerror(-fd));
	e = -ps_write_all(fd, data, len);
	if (!e && fsync(fd) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	if (e) {
		unlinkat(r->dirfd, name, 0);
		return ps_errf(err, e, "cannot write %s: %s", r->path, strerror(e));
	}
	/* renameat replaces the name PATH itself: a symbolic link there is
	 * replaced, never followed. */
	if (renameat(r->dirfd, name, r->dirfd, r->base) < 0) {
		e = errno;
		unlinkat(r->dirfd, name, 0);
		return ps_errf(err, e, "cannot replace %s: %s", r->path, strerror(e));
	}
	return 0;
}
