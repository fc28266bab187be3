/* SPDX-License-Identifier: MIT */
/* Small system helpers: the monotonic clock, closing, reading a /proc file
 * whole, the maps snapshot read from it, the system's fork counter. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
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

ssize_t ps_pread_text(int fd, char *buf, size_t n)
{
	ssize_t got;
	while ((got = pread(fd, buf, n - 1, 0)) < 0 && errno == EINTR)
		;
	if (got < 0)
		return -errno;
	buf[got] = '\0';
	return got;
}

int ps_pread_all(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
	/* Never more room than max data bytes, one more to detect overflow, and the NUL. */
	size_t limit = max < SIZE_MAX - 2 ? max + 2 : SIZE_MAX;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int r;

	/* /proc files report st_size 0: read until EOF, growing (doubling)
	 * before the room left is small, so that no read asks for a few
	 * bytes only. A seq_file read returns about a page at most (maps:
	 * one read per 4 KiB, each taking the target's mmap lock); one read
	 * from offset 0 starts it over, so a kept descriptor reads anew. */
	for (;;) {
		ssize_t got;

		if (cap - len < 1024 && cap < limit) {
			size_t need = len + 1024 > 4096 ? len + 1024 : 4096;
			void *p = buf;

			if (need > limit)
				need = limit;
			if (need < len + 2)
				need = len + 2;
			r = ps_grow(&p, &cap, need, 1);
			if (r < 0)
				goto fail;
			buf = p;
		}
		got = pread(fd, buf + len, cap - len - 1, (off_t)len);
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
	buf[len] = '\0';
	*ret_buf = buf;
	if (ret_len)
		*ret_len = len;
	return 0;

fail:
	free(buf);
	return r;
}

int ps_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	int r = ps_pread_all(fd, max, ret_buf, ret_len);
	ps_close(&fd);
	return r;
}

int ps_maps_read(int procfd, struct ps_maps *ret, struct ps_err *err)
{
	return ps_maps_read_fd(procfd, -1, ret, err);
}

int ps_maps_read_fd(int procfd, int maps_fd, struct ps_maps *ret, struct ps_err *err)
{
	int r = 0;

	/* A read is not atomic: reads resume at an address, so a target that
	 * maps or unmaps meanwhile can produce overlapping lines. Re-read a
	 * couple of times before calling the text malformed. */
	for (int attempt = 0; attempt < 3; attempt++) {
		char *buf = NULL;
		size_t len = 0;

		r = maps_fd >= 0 ? ps_pread_all(maps_fd, PS_MAPS_TEXT_MAX, &buf, &len)
		                 : ps_read_file_at(procfd, "maps", PS_MAPS_TEXT_MAX, &buf, &len);
		if (r == 0 && maps_fd >= 0 && len == 0) {
			/* A kept maps reads the address space it was opened on:
			 * nothing once that is gone (an exit, or an exec). */
			free(buf);
			r = -ESRCH;
		}
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

#ifndef PROCMAP_QUERY
struct procmap_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#endif

static bool maybe_huge(const struct ps_vma *v)
{
	return v->dev_major == 0 && v->inode != 0;
}

/* Without PROCMAP_QUERY: KernelPageSize of the smaps entries that start
 * where a candidate starts. */
static int page_sizes_smaps(int procfd, const struct ps_vma *v, size_t n, uint64_t *ret)
{
	char *buf = NULL;
	size_t len = 0, i = 0;
	int r = ps_read_file_at(procfd, "smaps", PS_MAPS_TEXT_MAX, &buf, &len);
	if (r < 0)
		return r;
	uint64_t cur = UINT64_MAX;
	for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		static const char kps[] = "KernelPageSize:";
		char *end;
		size_t hex = strspn(p, "0123456789abcdef");
		if (hex && p[hex] == '-') {
			cur = strtoull(p, NULL, 16);
		} else if (strncmp(p, kps, sizeof(kps) - 1) == 0) {
			unsigned long long kib = strtoull(p + sizeof(kps) - 1, &end, 10);
			if (end == p + sizeof(kps) - 1)
				continue;
			while (i < n && v[i].start < cur)
				i++;
			if (i < n && v[i].start == cur && maybe_huge(&v[i]))
				ret[i] = (uint64_t)kib << 10;
		}
	}
	free(buf);
	return 0;
}

int ps_vma_page_sizes(int procfd, const struct ps_vma *v, size_t n, uint64_t *ret)
{
	size_t want = 0;
	for (size_t i = 0; i < n; i++) {
		ret[i] = 0;
		want += maybe_huge(&v[i]);
	}
	if (!want)
		return 0;
	int fd = openat(procfd, "maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		if (!maybe_huge(&v[i]))
			continue;
		struct procmap_query q = { .size = sizeof(q), .query_addr = v[i].start };
		if (ioctl(fd, PROCMAP_QUERY, &q) == 0) {
			ret[i] = q.vma_start == v[i].start ? q.vma_page_size : 0;
			continue;
		}
		if (errno == ENOENT)
			continue; /* unmapped meanwhile */
		int e = errno;
		close(fd);
		return e == ENOTTY || e == EINVAL ? page_sizes_smaps(procfd, v, n, ret) : -e;
	}
	close(fd);
	return 0;
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

/* The soft limit found at the start, for ps_nofile_restore(); valid once
 * raised. */
static struct rlimit nofile_found;
static bool nofile_raised;

void ps_nofile_raise(void)
{
	struct rlimit rl;

	if (nofile_raised || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	nofile_found = rl;
	rl.rlim_cur = rl.rlim_max;
	nofile_raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

void ps_nofile_restore(void)
{
	if (nofile_raised)
		(void)setrlimit(RLIMIT_NOFILE, &nofile_found);
}

int ps_fd_spare(int fd)
{
	struct rlimit rl;

	if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    (uint64_t)fd + PS_NOFILE_RESERVE < (uint64_t)rl.rlim_cur)
		return fd;
	close(fd);
	errno = EMFILE;
	return -1;
}

int ps_nofile_room(unsigned reserve, uint64_t *limit)
{
	struct rlimit rl;
	int r = 0;

	*limit = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0; /* cannot tell: try */
	*limit = (uint64_t)rl.rlim_cur;
	int fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? errno : 0;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > reserve && rl.rlim_cur <= INT32_MAX) {
		/* The lowest free slot from there on: that slot itself when it
		 * and every one above it are free. */
		int at = (int)(rl.rlim_cur - reserve), top = fcntl(fd, F_DUPFD_CLOEXEC, at);
		if (top != at && (top >= 0 || errno == EMFILE))
			r = EMFILE;
		if (top >= 0)
			close(top);
	} else if (rl.rlim_cur <= reserve) {
		r = EMFILE;
	}
	close(fd);
	return r;
}
