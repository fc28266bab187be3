/* SPDX-License-Identifier: MIT */
/* Finding the processes of a workload (see proctree.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pagescan/kernel/proctree.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/model/util.h"

int ps_pids_add(struct ps_pids *p, pid_t pid)
{
	if (ps_grow((void **)&p->v, &p->cap, p->n + 1, sizeof(*p->v)) < 0)
		return -ENOMEM;
	p->v[p->n++] = pid;
	return 0;
}

int ps_pids_has(const struct ps_pids *p, pid_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == pid)
			return 1;
	return 0;
}

void ps_pids_free(struct ps_pids *p)
{
	free(p->v);
	*p = (struct ps_pids){ 0 };
}

/* Append the pids listed in buf (space-separated decimal) not in out yet. */
static int add_listed(const char *buf, size_t max, struct ps_pids *out, int *full)
{
	for (const char *p = buf;;) {
		char *e;
		long v = strtol(p, &e, 10);
		if (e == p)
			return 0;
		p = e;
		if (v <= 0 || ps_pids_has(out, (pid_t)v))
			continue;
		if (out->n >= max) {
			*full = 1;
			continue;
		}
		if (ps_pids_add(out, (pid_t)v) < 0)
			return -ENOMEM;
	}
}

/* Append the children of every thread of pid. */
static int add_children(pid_t pid, size_t max, struct ps_pids *out, int *full)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	int r = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0; /* gone */
	}
	while (r == 0 && (de = readdir(d))) {
		char *buf = NULL;
		size_t len;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%.20s/children", de->d_name);
		if (ps_read_file_at(dirfd(d), path, 1 << 20, &buf, &len) < 0)
			continue;
		r = add_listed(buf, max, out, full);
		free(buf);
	}
	closedir(d);
	return r;
}

int ps_proc_descendants(const pid_t *roots, size_t nroots, size_t max, struct ps_pids *out)
{
	int full = 0;
	out->n = 0;
	for (size_t i = 0; i < nroots; i++) {
		if (ps_pids_has(out, roots[i]))
			continue;
		if (out->n >= max) {
			full = 1;
			continue;
		}
		if (ps_pids_add(out, roots[i]) < 0)
			return -ENOMEM;
	}
	/* Breadth first: out grows behind i. */
	for (size_t i = 0; i < out->n; i++)
		if (add_children(out->v[i], max, out, &full) < 0)
			return -ENOMEM;
	return full;
}

int ps_cgroup_check(const char *path, struct ps_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return ps_errf(err, errno, "cannot use --cgroup %s: %s; give a cgroup v2 directory, e.g. "
		               "/sys/fs/cgroup/system.slice/NAME.service", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ps_errf(err, ENOTDIR, "--cgroup %s is not a directory; give a cgroup v2 directory, e.g. "
		               "/sys/fs/cgroup/system.slice/NAME.service", path);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ps_errf(err, errno, "cannot open --cgroup %s: %s", path, strerror(errno));
	/* Only cgroup v2: a v1 hierarchy's cgroup.procs lists the processes of
	 * one controller's grouping, and every process of the system is in
	 * its root. */
	struct statfs sf;
	if (fstatfs(dfd, &sf) < 0) {
		int e = errno;
		close(dfd);
		return ps_errf(err, e, "cannot use --cgroup %s: %s", path, strerror(e));
	}
	if (sf.f_type != CGROUP2_SUPER_MAGIC) {
		close(dfd);
		return ps_errf(err, ENOTDIR, "--cgroup %s is not a cgroup v2 directory (%s): give a directory under the "
		               "cgroup v2 mount (type cgroup2, see /proc/mounts)", path,
		               sf.f_type == CGROUP_SUPER_MAGIC ? "it is in a cgroup v1 hierarchy" : "not on a cgroup2 file system");
	}
	int r = faccessat(dfd, "cgroup.procs", R_OK, 0);
	int e = errno;
	close(dfd);
	if (r < 0)
		return ps_errf(err, e == ENOENT ? ENOTDIR : e, "--cgroup %s has no readable cgroup.procs (%s): give a "
		               "directory under the cgroup v2 mount (/sys/fs/cgroup)", path, strerror(e));
	return 0;
}

int ps_cgroup_procs(const char *path, struct ps_pids *out, struct ps_err *err)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ps_errf(err, errno, "cannot open the cgroup %s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len;
	int r = ps_read_file_at(dfd, "cgroup.procs", 16 << 20, &buf, &len);
	close(dfd);
	if (r < 0)
		return ps_errf(err, -r, "cannot read %s/cgroup.procs: %s", path, strerror(-r));
	int full = 0;
	r = add_listed(buf, (size_t)-1, out, &full);
	free(buf);
	return r < 0 ? ps_errf(err, ENOMEM, "out of memory") : 0;
}

int ps_proc_same_mm(pid_t a, pid_t b)
{
	long r = syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0);
	if (r < 0)
		return -errno;
	return r == 0;
}
