/* SPDX-License-Identifier: MIT */
/* Small system helpers: the monotonic clock, closing, reading a /proc file
 * whole, the maps snapshot read from it, the system's fork counter. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pagescan/kernel/sys.h"
#include "pagescan/model/util.h"

#define NS_PER_S 1000000000ull

uint64_t ps_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t ps_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void ps_close(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	errno = saved;
}

int ps_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	/* Never more room than max data bytes, one more to detect overflow, and the NUL. */
	size_t limit = max < SIZE_MAX - 2 ? max + 2 : SIZE_MAX;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int fd, r;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;

	/* /proc files report st_size 0: read until EOF, growing as needed. */
	for (;;) {
		ssize_t got;

		if (cap - len < 2) {
			size_t need = limit < 4096 ? limit : 4096;
			void *p = buf;

			if (need < len + 2)
				need = len + 2;
			r = ps_grow(&p, &cap, need, 1);
			if (r < 0)
				goto fail;
			buf = p;
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > max) {
			r = -EFBIG;
			goto fail;
		}
	}
	ps_close(&fd);
	buf[len] = '\0';
	*ret_buf = buf;
	if (ret_len)
		*ret_len = len;
	return 0;

fail:
	ps_close(&fd);
	free(buf);
	return r;
}

int ps_maps_read(int procfd, struct ps_maps *ret, struct ps_err *err)
{
	int r = 0;

	/* A read is not atomic: reads resume at an address, so a target that
	 * maps or unmaps meanwhile can produce overlapping lines. Re-read a
	 * couple of times before calling the text malformed. */
	for (int attempt = 0; attempt < 3; attempt++) {
		char *buf = NULL;
		size_t len = 0;

		r = ps_read_file_at(procfd, "maps", PS_MAPS_TEXT_MAX, &buf, &len);
		if (r < 0)
			break;
		r = ps_maps_parse_owned(buf, len, ret, err);
		if (r == 0)
			return 0;
		free(buf);
		if (r != -EINVAL)
			return r;
	}
	if (r == -EINVAL)
		return r;
	if (r == -ESRCH || r == -ENOENT)
		return ps_errf(err, -r, "cannot read maps: %s (the process exited)", strerror(-r));
	if (r == -EACCES || r == -EPERM)
		return ps_errf(err, -r, "cannot read maps: %s (needs ptrace access to the process: same user and kernel.yama.ptrace_scope, or root)",
			       strerror(-r));
	return ps_errf(err, -r, "cannot read maps: %s", strerror(-r));
}

uint64_t ps_forks_since_boot(void)
{
	char *buf = NULL, *p;
	size_t len;
	uint64_t v = 0;

	if (ps_read_file_at(AT_FDCWD, "/proc/stat", 1 << 20, &buf, &len) < 0 || !buf)
		return 0;
	p = strstr(buf, "\nprocesses ");
	if (p)
		v = strtoull(p + 11, NULL, 10);
	free(buf);
	return v;
}
