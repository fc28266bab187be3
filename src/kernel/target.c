/* SPDX-License-Identifier: MIT */
/* Target handle: pidfd first, then /proc/PID, then a liveness check through
 * the pidfd, so the directory cannot belong to a recycled pid. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pagescan/kernel/sys.h"
#include "pagescan/kernel/target.h"
#include "pagescan/model/util.h"

int ps_target_alive(const struct ps_target *t)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

	/* A pidfd becomes readable when the process exits (zombie or reaped). */
	if (poll(&p, 1, 0) < 0)
		return 1;
	return !(p.revents & (POLLIN | POLLHUP));
}

int ps_status_field(const char *status, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	const char *p = status;

	while (p && *p) {
		/* "Key:\tvalue" (status, fdinfo) or "key value" (ksm_stat) */
		if (strncmp(p, key, kl) == 0 && (p[kl] == ':' || p[kl] == ' ')) {
			const char *v = p + kl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *e = strchrnul(v, '\n');
			size_t l = (size_t)(e - v);
			if (l >= n)
				l = n - 1;
			memcpy(out, v, l);
			out[l] = 0;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

int ps_target_read(const struct ps_target *t, const char *name, char **ret_buf,
                   size_t *ret_len, struct ps_err *err)
{
	int r = ps_read_file_at(t->procfd, name, 64u << 20, ret_buf, ret_len);
	if (r < 0) {
		if (r == -ESRCH || r == -ENOENT || !ps_target_alive(t))
			return ps_errf(err, ESRCH, "process %d exited", t->pid);
		if (r == -EACCES || r == -EPERM)
			return ps_errf(err, -r, "cannot read /proc/%d/%s: permission denied; run as root or with CAP_SYS_PTRACE over the target", t->pid, name);
		return ps_errf(err, -r, "cannot read /proc/%d/%s: %s", t->pid, name, strerror(-r));
	}
	if (!ps_target_alive(t)) {
		free(*ret_buf);
		*ret_buf = NULL;
		return ps_errf(err, ESRCH, "process %d exited", t->pid);
	}
	return 0;
}

int ps_target_threads(const struct ps_target *t, pid_t **ret, size_t *ret_n, struct ps_err *err)
{
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	int fd = openat(t->procfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ps_errf(err, errno, "cannot list the threads of process %d: %s", t->pid, strerror(errno));
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return ps_errf(err, ENOMEM, "out of memory");
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		long long tid;
		char path[64], *stat = NULL;
		size_t len;
		if (de->d_name[0] == '.' || ps_parse_int(de->d_name, 1, INT32_MAX, &tid, NULL) < 0 || tid == t->pid)
			continue;
		snprintf(path, sizeof(path), "task/%lld/stat", tid);
		if (ps_read_file_at(t->procfd, path, 4096, &stat, &len) < 0)
			continue;
		const char *p = strrchr(stat, ')');
		bool live = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
		free(stat);
		if (!live)
			continue;
		if (ps_grow((void **)&v, &cap, n + 1, sizeof(*v)) < 0) {
			closedir(d);
			free(v);
			return ps_errf(err, ENOMEM, "out of memory");
		}
		v[n++] = (pid_t)tid;
	}
	closedir(d);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The leader called pthread_exit(): its /proc/PID/maps and fd are empty and
 * its pagemap gives ESRCH, although the mm and fd table live on in the
 * other threads. Read those through /proc/PID/task/TID of a live one. */
static int open_live_task(struct ps_target *t, struct ps_err *err)
{
	pid_t *tids = NULL;
	size_t n = 0;
	int r = ps_target_threads(t, &tids, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && t->mmfd < 0; i++) {
		char path[64];
		snprintf(path, sizeof(path), "task/%d", tids[i]);
		t->mmfd = openat(t->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	free(tids);
	if (t->mmfd < 0)
		return ps_errf(err, ESRCH, "process %d has no live thread left", t->pid);
	return 0;
}

/* Field 9 of /proc/PID/stat: PF_KTHREAD marks kernel threads, PF_EXITING
 * a task inside do_exit(). */
#define PS_PF_KTHREAD 0x00200000u
#define PS_PF_EXITING 0x00000004u

/* State (field 3) and flags (field 9) of /proc/PID/stat text (modified).
 * comm may contain spaces and parentheses: fields start after the last ')'. */
static int parse_stat(char *buf, char *ret_state, unsigned long long *ret_flags)
{
	char *p = strrchr(buf, ')');
	char *save = NULL, *f = p ? strtok_r(p + 1, " ", &save) : NULL;
	long long v;

	if (!f || !f[0] || f[1])
		return -EPROTO;
	*ret_state = f[0];
	for (int field = 3; f && field < 9; field++)
		f = strtok_r(NULL, " ", &save);
	if (!f || ps_parse_int(f, 0, UINT_MAX, &v, NULL) < 0)
		return -EPROTO;
	*ret_flags = (unsigned long long)v;
	return 0;
}

int ps_target_exiting(const struct ps_target *t)
{
	char *buf = NULL;
	size_t len;
	char state = 0;
	unsigned long long flags = 0;

	if (!ps_target_alive(t))
		return 1;
	/* A zombie leader's own stat says Z while its threads live on. */
	if (ps_read_file_at(t->mmfd >= 0 ? t->mmfd : t->procfd, "stat", 4096, &buf, &len) < 0)
		return 1;
	int r = parse_stat(buf, &state, &flags);
	free(buf);
	if (r < 0)
		return 1;
	return state == 'Z' || state == 'X' || (flags & PS_PF_EXITING) ? 1 : 0;
}

static int check_kind(struct ps_target *t, struct ps_err *err)
{
	char *buf = NULL;
	size_t len;
	int r = ps_target_read(t, "stat", &buf, &len, err);
	if (r < 0)
		return r;
	char state = 0;
	unsigned long long flags = 0;
	if (parse_stat(buf, &state, &flags) < 0) {
		free(buf);
		return ps_errf(err, EPROTO, "cannot parse /proc/%d/stat", t->pid);
	}
	free(buf);
	if (flags & PS_PF_KTHREAD)
		return ps_errf(err, EINVAL, "process %d is a kernel thread; it has no user memory to track", t->pid);
	if (state == 'Z' || state == 'X') {
		/* A zombie leader may still have live threads. */
		buf = NULL;
		r = ps_target_read(t, "status", &buf, &len, err);
		if (r < 0)
			return r;
		char threads[32] = "";
		ps_status_field(buf, "Threads", threads, sizeof(threads));
		free(buf);
		if (strcmp(threads, "1") == 0 || strcmp(threads, "0") == 0 || !threads[0])
			return ps_errf(err, ESRCH, "process %d is a zombie (it exited and was not reaped); there is nothing to track", t->pid);
		return open_live_task(t, err);
	}
	return 0;
}

/* The thread group (process) of thread tid, from /proc/TID/status (a
 * thread's directory is there, though not listed), or 0 when unknown. */
static pid_t thread_group(pid_t tid)
{
	char path[48], tgid[32] = "", *buf = NULL;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (ps_read_file_at(AT_FDCWD, path, 64 << 10, &buf, &len) < 0)
		return 0;
	int r = ps_status_field(buf, "Tgid", tgid, sizeof(tgid));
	free(buf);
	long v = r == 0 ? strtol(tgid, NULL, 10) : 0;
	return v > 0 && v <= INT_MAX ? (pid_t)v : 0;
}

int ps_target_open(struct ps_target *t, pid_t pid, struct ps_err *err)
{
	char path[32];
	int r;

	*t = (struct ps_target)PS_TARGET_INIT;
	t->pid = pid;
	t->pidfd = pidfd_open(pid, 0);
	if (t->pidfd < 0) {
		r = errno;
		if (r == ESRCH)
			return ps_errf(err, ESRCH, "no such process %d", pid);
		/* A thread that does not lead its group: EINVAL before Linux
		 * 6.9, ENOENT since (pidfd_open without PIDFD_THREAD). */
		if (r == EINVAL || r == ENOENT) {
			pid_t tgid = thread_group(pid);
			if (tgid > 0 && tgid != pid)
				return ps_errf(err, ESRCH, "%d is a thread of process %d, not a process: give %d", pid, tgid, tgid);
			if (r == EINVAL)
				return ps_errf(err, ESRCH, "%d is a thread, not a process; give the process id (see /proc/%d/status Tgid)", pid, pid);
		}
		if (r == ENOSYS)
			return ps_errf(err, ENOSYS, "this kernel lacks pidfd_open(); pagescan needs Linux 6.7 or later");
		return ps_errf(err, r, "cannot open process %d: %s", pid, strerror(r));
	}
	snprintf(path, sizeof(path), "/proc/%d", pid);
	t->procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->procfd < 0) {
		r = errno;
		ps_target_close(t);
		if (r == ENOENT)
			return ps_errf(err, ESRCH, "no such process %d in this pid namespace's /proc", pid);
		return ps_errf(err, r, "cannot open %s: %s", path, strerror(r));
	}
	if (!ps_target_alive(t)) {
		/* Exited: a zombie until its parent reaps it. */
		char *stat = NULL;
		size_t len;
		bool zombie = ps_read_file_at(t->procfd, "stat", 4096, &stat, &len) == 0 && strrchr(stat, ')') &&
		              strrchr(stat, ')')[1] == ' ' && strrchr(stat, ')')[2] == 'Z';
		free(stat);
		ps_target_close(t);
		if (zombie)
			return ps_errf(err, ESRCH, "process %d is a zombie (it exited and its parent has not reaped it); there is nothing to track", pid);
		return ps_errf(err, ESRCH, "process %d exited", pid);
	}
	r = check_kind(t, err);
	if (r < 0) {
		ps_target_close(t);
		return r;
	}
	if (t->mmfd < 0)
		t->mmfd = t->procfd;
	char *comm = NULL;
	size_t len = 0;
	if (ps_read_file_at(t->procfd, "comm", 256, &comm, &len) == 0) {
		while (len && comm[len - 1] == '\n')
			comm[--len] = 0;
		snprintf(t->comm, sizeof(t->comm), "%s", comm);
		free(comm);
	}
	return 0;
}

int ps_target_open_pagemap(struct ps_target *t, struct ps_err *err)
{
	if (t->pagemap_fd >= 0)
		return 0;
	t->pagemap_fd = openat(t->mmfd, "pagemap", O_RDONLY | O_CLOEXEC);
	if (t->pagemap_fd < 0) {
		int r = errno;
		if (r == EACCES || r == EPERM)
			return ps_errf(err, r, "cannot read the page tables of process %d: permission denied; run pagescan as root or with CAP_SYS_PTRACE, or as the user who owns the process (this works only while the process is dumpable)", t->pid);
		if (r == ESRCH || r == ENOENT)
			return ps_errf(err, ESRCH, "process %d exited", t->pid);
		return ps_errf(err, r, "cannot open /proc/%d/pagemap: %s", t->pid, strerror(r));
	}
	if (!ps_target_alive(t))
		return ps_errf(err, ESRCH, "process %d exited", t->pid);
	/* Read every tick: kept open, two system calls a tick fewer. Best
	 * effort: without a descriptor to spare (ps_fd_spare), each read opens
	 * the file. */
	if (t->maps_fd < 0)
		t->maps_fd = ps_fd_spare(openat(t->mmfd, "maps", O_RDONLY | O_CLOEXEC));
	if (t->stat_fd < 0)
		t->stat_fd = ps_fd_spare(openat(t->procfd, "stat", O_RDONLY | O_CLOEXEC));
	return 0;
}

int ps_target_maps(const struct ps_target *t, struct ps_maps *ret, struct ps_err *err)
{
	return ps_maps_read_fd(t->mmfd, t->maps_fd, ret, err);
}

int ps_target_stat(const struct ps_target *t, char **ret_buf, size_t *ret_len)
{
	if (t->stat_fd < 0)
		return ps_read_file_at(t->procfd, "stat", 4096, ret_buf, ret_len);
	/* One read, not two (the second would only say end of file): a
	 * process's stat is one record of a few hundred bytes. */
	char *buf = malloc(4096);
	ssize_t got = buf ? ps_pread_text(t->stat_fd, buf, 4096) : -ENOMEM;
	if (got >= 0 && got < 4095) {
		*ret_buf = buf;
		*ret_len = (size_t)got;
		return 0;
	}
	free(buf);
	return got < 0 ? (int)got : ps_pread_all(t->stat_fd, 4096, ret_buf, ret_len);
}

/* Append to pids (n found so far) the children of every thread of the
 * process whose /proc directory is dfd. */
static size_t add_children(int dfd, pid_t *pids, size_t max, size_t n)
{
	int fd = openat(dfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return n;
	}
	while ((de = readdir(d))) {
		char path[300], *buf = NULL, *e;
		size_t len;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "task/%s/children", de->d_name);
		if (ps_read_file_at(dfd, path, 1 << 20, &buf, &len) < 0)
			continue;
		for (char *p = buf;; p = e) {
			long v = strtol(p, &e, 10);
			if (e == p)
				break;
			if (v > 0 && n++ < max)
				pids[n - 1] = (pid_t)v;
		}
		free(buf);
	}
	closedir(d);
	return n;
}

size_t ps_target_descendants(const struct ps_target *t, pid_t *pids, size_t max)
{
	size_t n = add_children(t->procfd, pids, max, 0);
	for (size_t i = 0; i < n && i < max; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/proc/%d", (int)pids[i]);
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		n = add_children(dfd, pids, max, n);
		close(dfd);
	}
	return n;
}

void ps_target_close(struct ps_target *t)
{
	ps_close(&t->maps_fd);
	ps_close(&t->stat_fd);
	ps_close(&t->pagemap_fd);
	if (t->mmfd != t->procfd)
		ps_close(&t->mmfd);
	t->mmfd = -1;
	ps_close(&t->procfd);
	ps_close(&t->pidfd);
}
