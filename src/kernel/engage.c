/* SPDX-License-Identifier: MIT */
/* Engaging tracking and ending it (see engage.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pagescan/kernel/compat.h"
#include "pagescan/kernel/engage.h"
#include "pagescan/kernel/inject.h"
#include "pagescan/kernel/kwarn.h"
#include "pagescan/kernel/scan.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/model/category.h"
#include "pagescan/model/util.h"

/* ---- checks ------------------------------------------------------------------- */

int ps_check_kernel(const struct ps_target *t, struct ps_err *err)
{
	uint64_t cats, features;
	int r = ps_scan_probe(t->pagemap_fd, &cats, err);
	if (r < 0)
		return r;
	r = ps_uffd_probe(&features, err);
	if (r < 0)
		return r;
	if (!(features & UFFD_FEATURE_WP_ASYNC))
		return ps_errf(err, EOPNOTSUPP, "this kernel lacks userfaultfd asynchronous write-protect (needs Linux 6.7+ with CONFIG_PTE_MARKER_UFFD_WP)");
	return 0;
}

int ps_check_untracked(const struct ps_target *t, struct ps_err *err)
{
	bool tracked;
	int fds[4];
	uint64_t inos[4];
	struct ps_maps maps = { 0 };

	int r = ps_maps_read(t->mmfd, &maps, err);
	if (r < 0)
		return r;
	r = ps_tracked_anywhere(t->pagemap_fd, &maps, &tracked, err);
	ps_maps_free(&maps);
	if (r < 0)
		return r;
	if (!tracked)
		return 0;
	int n = ps_find_engaged(t, fds, inos, 4, false, NULL);
	if (n > 0)
		return ps_errf(err, EBUSY, "process %d is already tracked by pagescan engage (userfaultfd fd %d in it); run `pagescan release %d` first",
		               t->pid, fds[0], t->pid);
	return ps_errf(err, EBUSY, "process %d is already tracked by another userfaultfd (another pagescan watch, or the program's own); stop that first",
	               t->pid);
}

int ps_check_categories(int pagemap_fd, uint64_t used, uint64_t *ret_supported, struct ps_err *err)
{
	uint64_t ok;
	int r = ps_scan_probe(pagemap_fd, &ok, err);
	if (r < 0)
		return r;
	*ret_supported = ok;
	for (size_t i = 0; i < ps_ncategories; i++)
		if ((used & ps_categories[i].bit) && !(ok & ps_categories[i].bit))
			return ps_errf(err, EOPNOTSUPP, "this kernel does not know the \"%s\" category (needs Linux %s or later)",
			               ps_categories[i].name, ps_categories[i].since);
	return 0;
}

/* pagemap, kernel, nothing tracked yet. */
static int preflight(struct ps_target *t, struct ps_err *err)
{
	if (ps_target_open_pagemap(t, err) < 0 || ps_check_kernel(t, err) < 0 ||
	    ps_check_untracked(t, err) < 0)
		return -err->code;
	return 0;
}

static void note_warning(struct ps_notes *notes, const char *warning)
{
	if (warning[0])
		ps_note(notes, "%s", warning);
}

/* ---- attach ------------------------------------------------------------------- */

static struct ps_tracker *attach_once(struct ps_target *t, const struct ps_rangespec *specs, size_t nspecs,
                                      struct ps_notes *notes, struct ps_err *err)
{
	char warning[256] = "";
	int local = -1;

	if (preflight(t, err) < 0)
		return NULL;
	if (ps_remote_userfaultfd(t, NULL, false, &local, NULL, warning, sizeof(warning), err) < 0)
		return NULL;
	note_warning(notes, warning);
	struct ps_tracker *tr = ps_tracker_new(t, local, specs, nspecs, err);
	if (!tr)
		close(local);
	return tr;
}

struct ps_tracker *ps_engage_attach(struct ps_target *t, const struct ps_rangespec *specs, size_t nspecs,
                                    struct ps_notes *notes, struct ps_err *err)
{
	struct ps_tracker *tr = attach_once(t, specs, nspecs, notes, err);
	/* It called exec between pagescan's first look and the stop
	 * (PS_EEXECED): nothing was changed, its new program is there now: t
	 * opened anew (its pagemap and maps belong to an address space), up to
	 * three times. (An exec during the injection is an error: ESRCH.) */
	for (int tries = 1; !tr && err->code == PS_EEXECED && tries < 3; tries++) {
		pid_t pid = t->pid;
		ps_target_close(t);
		*err = (struct ps_err){ 0 };
		if (ps_target_open(t, pid, err) < 0)
			break; /* what stopped it now (it exited): said, not the exec */
		tr = attach_once(t, specs, nspecs, notes, err);
	}
	return tr;
}

/* ---- launched ------------------------------------------------------------------- */

struct ps_tracker *ps_engage_launched(const struct ps_launch *l, pid_t pid, struct ps_target *t,
                                      const struct ps_rangespec *specs, size_t nspecs,
                                      ps_engage_armed_fn armed, void *ctx, struct ps_err *err)
{
	struct ps_tracker *tr = NULL;
	struct ps_inject s;
	sigset_t all, old_mask;
	int local = -1;

	/* Stopped at the exec (new image loaded) or at a new process's first
	 * stop (its own copy of its parent's address space): not one
	 * instruction run yet. */
	if (ps_target_open(t, pid, err) < 0 || ps_target_open_pagemap(t, err) < 0 ||
	    ps_check_kernel(t, err) < 0)
		return NULL;
	/* No signal may end pagescan while the command holds injection
	 * registers (EXITKILL would kill it): block them until finished. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old_mask);
	if (ps_inject_adopt(&s, t, pid, l->options ? l->options : PS_LAUNCH_PTRACE_OPTIONS, NULL, err) < 0)
		goto out;
	if (ps_inject_userfaultfd(&s, false, &local, NULL, err) < 0)
		goto fail;
	tr = ps_tracker_new(t, local, specs, nspecs, err);
	if (!tr) {
		close(local);
		goto fail;
	}
	if (armed(ctx, tr, err) < 0 || ps_inject_finish(&s, false, err) < 0) {
		ps_tracker_free(tr);
		tr = NULL;
		goto fail;
	}
	goto out;
fail:
	{
		/* Registers back, even after a failed finish (it may have
		 * failed before restoring them). */
		struct ps_err e2;
		ps_inject_finish(&s, false, &e2);
	}
out:
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return tr;
}

/* ---- persistent ----------------------------------------------------------------- */

void ps_engagement_free(struct ps_engagement *e)
{
	ps_sync_result_free(&e->res);
	ps_maps_free(&e->maps);
}

int ps_engage_persistent(struct ps_target *t, const struct ps_rangespec *specs, size_t nspecs,
                         struct ps_engagement *ret, struct ps_notes *notes, struct ps_err *err)
{
	struct ps_tracker *tr = NULL;
	char warning[256] = "";
	int local = -1, remote = -1;

	*ret = (struct ps_engagement){ .remote_fd = -1 };
	if (preflight(t, err) < 0)
		return -err->code;
	if (ps_remote_userfaultfd(t, NULL, true, &local, &remote, warning, sizeof(warning), err) < 0)
		return -err->code;
	note_warning(notes, warning);
	tr = ps_tracker_new(t, local, specs, nspecs, err);
	if (!tr)
		goto undo;
	local = -1; /* the tracker owns it */
	if (ps_maps_read(t->mmfd, &ret->maps, err) < 0 || ps_tracker_sync(tr, &ret->maps, false, &ret->res, err) < 0)
		goto undo;
	ret->readonly_vmas = ps_tracker_readonly_vmas(tr);
	if (ret->res.engaged.n == 0) {
		ps_errf(err, ENOENT, "nothing in process %d could be tracked (%zu mappings refused, %llu read-only)%s",
		        t->pid, ret->res.skipped.n, (unsigned long long)ret->readonly_vmas,
		        nspecs ? "; check the -r ranges" : "");
		goto undo;
	}
	ret->remote_fd = remote;
	ps_note_kernel_bugs(notes); /* tracking began: a failure says only why */
	/* The target's copy goes on tracking; pagescan's closes here. */
	ps_tracker_free(tr);
	return 0;
undo:
	{
		/* Leave the target as it was: close the copy we put there. */
		struct ps_err e2 = { 0 };
		ps_tracker_disarm(tr);
		if (ps_remote_close(t, NULL, remote, 0, NULL, 0, &e2) < 0)
			ps_note(notes, "could not remove the userfaultfd (fd %d) from process %d: %s", remote, t->pid, e2.msg);
	}
	ps_tracker_free(tr);
	ps_close(&local);
	ps_engagement_free(ret);
	return -err->code;
}

/* ---- release -------------------------------------------------------------------- */

/* The userfaultfd to release: fd, or the only one pagescan left. */
static int pick_fd(const struct ps_target *t, int want, int *ret_fd, uint64_t *ret_ino, struct ps_err *err)
{
	int fds[16];
	uint64_t inos[16];

	int n = ps_find_engaged(t, fds, inos, 16, want >= 0, err);
	if (n < 0)
		return n;
	if (want >= 0) {
		for (int i = 0; i < n && i < 16; i++)
			if (fds[i] == want) {
				*ret_fd = fds[i];
				*ret_ino = inos[i];
				return 0;
			}
		char name[32], link[64];
		snprintf(name, sizeof(name), "fd/%d", want);
		if (readlinkat(t->procfd, name, link, sizeof(link)) < 0 && errno == ENOENT)
			return ps_errf(err, ENOENT, "process %d has no fd %d", t->pid, want);
		return ps_errf(err, ENOENT, "fd %d of process %d is not a userfaultfd", want, t->pid);
	}
	if (n == 0)
		return ps_errf(err, ENOENT, "process %d is not engaged: it holds no write-tracking userfaultfd", t->pid);
	if (n > 1) {
		char list[128] = "";
		size_t l = 0;
		for (int i = 0; i < n && i < 16 && l < sizeof(list) - 12; i++)
			l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%d", i ? ", " : "", fds[i]);
		return ps_errf(err, EEXIST, "process %d holds %d write-tracking userfaultfds (fds %s); choose one with --fd",
		               t->pid, n, list);
	}
	*ret_fd = fds[0];
	*ret_ino = inos[0];
	return 0;
}

int ps_release(const struct ps_target *t, int want, struct ps_release *ret, struct ps_notes *notes,
               struct ps_err *err)
{
	char warning[256] = "";
	uint64_t ino = 0;
	int fd = -1;

	*ret = (struct ps_release){ .fd = -1 };
	if (pick_fd(t, want, &fd, &ino, err) < 0)
		return -err->code;
	/* Undo the registrations from here first, a little at a time, so the
	 * close in the target has nothing left to un-protect (best effort:
	 * what is left, the close undoes in one go). Only once the target has
	 * shown it can be stopped for the close: when it cannot (a vfork
	 * parent, a frozen cgroup), release gives up with tracking intact. */
	if (ps_inject_probe(t, NULL, warning, sizeof(warning), err) < 0)
		return -err->code;
	bool unregistered = ps_remote_unregister_gently(t, fd, ino) == 0;
	if (ps_remote_close(t, NULL, fd, ino, warning, sizeof(warning), err) < 0) {
		if (unregistered) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err->msg);
			ps_errf(err, err->code,
			        "%s; its mappings were already unregistered, so tracking has stopped, but the userfaultfd stays in process %d as fd %d: run `pagescan release %d` again",
			        why, t->pid, fd, t->pid);
		}
		return -err->code;
	}
	ret->fd = fd;
	note_warning(notes, warning);
	/* Children forked while engaged hold copies of the same userfaultfd,
	 * which keep the pages write-protected: close those too. */
	pid_t hp[PS_RELEASE_COPIES_MAX];
	int hf[PS_RELEASE_COPIES_MAX];
	int nh = ino ? ps_find_uffd_holders(ino, t->pid, hp, hf, PS_RELEASE_COPIES_MAX) : 0;
	for (int i = 0; i < nh && i < PS_RELEASE_COPIES_MAX; i++) {
		struct ps_target ct;
		struct ps_err e2 = { 0 };
		if (ps_target_open(&ct, hp[i], &e2) < 0 || ps_remote_close(&ct, NULL, hf[i], ino, NULL, 0, &e2) < 0)
			ps_note(notes, "process %d, forked from %d while engaged, keeps a copy of its userfaultfd (fd %d): %s",
			        hp[i], t->pid, hf[i], e2.msg);
		else
			ret->copies[ret->ncopies++] = hp[i];
		ps_target_close(&ct);
	}
	if (nh > PS_RELEASE_COPIES_MAX)
		ps_note(notes, "%d more processes forked from %d while engaged may keep copies of its userfaultfd: run `pagescan release` on each",
		        nh - PS_RELEASE_COPIES_MAX, t->pid);
	return 0;
}

/* ---- huge pages after release ------------------------------------------------------ */

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#define HUGE_SIZE PS_PMD_SIZE
#define KPF_COMPOUND_HEAD 15
#define KPF_THP 22

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The frame of the page at a (0: not present, or hidden). */
static uint64_t pfn_at(const struct ps_target *t, uint64_t a)
{
	uint64_t e;
	if (pread(t->pagemap_fd, &e, sizeof(e), (off_t)(a >> PS_PAGE_SHIFT) * 8) != (ssize_t)sizeof(e) ||
	    !(e & PM_PRESENT_BIT))
		return 0;
	return e & PM_PFN_MASK;
}

static uint64_t kflags(int kfd, uint64_t pfn)
{
	uint64_t f = 0;
	if (pread(kfd, &f, sizeof(f), (off_t)pfn * 8) != (ssize_t)sizeof(f))
		return 0;
	return f;
}

/* [a, a+2 MiB) is one THP mapped by 4 KiB entries (all present, not huge). */
static bool split_thp_at(const struct ps_target *t, int kfd, uint64_t a)
{
	struct ps_regions r = { 0 };
	struct ps_err e;
	struct ps_scan_req req = {
		.start = a, .end = a + HUGE_SIZE,
		.mask = PAGE_IS_PRESENT | PAGE_IS_HUGE, .inverted = PAGE_IS_HUGE, .ret = PAGE_IS_PRESENT,
	};
	bool whole = ps_scan(t->pagemap_fd, &req, &r, NULL, &e) == 0 && r.n == 1 && r.r[0].start == a &&
	             r.r[0].end == a + HUGE_SIZE;
	ps_regions_free(&r);
	if (!whole)
		return false;
	uint64_t p0 = pfn_at(t, a), p1 = pfn_at(t, a + HUGE_SIZE - PS_PAGE_SIZE);
	if (!p0 || p0 % (HUGE_SIZE / PS_PAGE_SIZE) || p1 != p0 + HUGE_SIZE / PS_PAGE_SIZE - 1)
		return false;
	uint64_t f = kflags(kfd, p0);
	return (f & (1ull << KPF_THP)) && (f & (1ull << KPF_COMPOUND_HEAD));
}

static bool is_huge_now(const struct ps_target *t, uint64_t a)
{
	struct ps_regions r = { 0 };
	struct ps_err e;
	struct ps_scan_req req = { .start = a, .end = a + HUGE_SIZE, .mask = PAGE_IS_HUGE, .ret = PAGE_IS_HUGE };
	bool h = ps_scan(t->pagemap_fd, &req, &r, NULL, &e) == 0 && r.n > 0;
	ps_regions_free(&r);
	return h;
}

int ps_release_recollapse(struct ps_target *t, struct ps_huge_stats *ret)
{
	struct ps_maps maps = { 0 };
	struct ps_regions present = { 0 };
	struct ps_err e;

	*ret = (struct ps_huge_stats){ 0 };
	if (ps_target_open_pagemap(t, &e) < 0)
		return -e.code;
	int kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (kfd < 0)
		return -errno;
	if (ps_maps_read(t->mmfd, &maps, &e) < 0) {
		close(kfd);
		return -e.code;
	}
	uint64_t w0 = ps_now_ns(), c0 = cpu_now_ns();
	for (size_t i = 0; i < maps.n; i++) {
		const struct ps_vma *v = &maps.v[i];
		if (!(v->prot & PS_VMA_WRITE) || (v->prot & PS_VMA_SHARED) ||
		    !(v->kind == PS_VMA_ANON || v->kind == PS_VMA_HEAP || v->kind == PS_VMA_STACK ||
		      (v->kind == PS_VMA_SPECIAL && strncmp(v->name, "[anon:", 6) == 0)))
			continue;
		uint64_t s = (v->start + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1), end = v->end & ~(HUGE_SIZE - 1);
		if (end <= s)
			continue;
		/* present 4 KiB-mapped memory only: holes cost nothing to skip */
		struct ps_scan_req req = {
			.start = s, .end = end,
			.mask = PAGE_IS_PRESENT | PAGE_IS_HUGE, .inverted = PAGE_IS_HUGE, .ret = PAGE_IS_PRESENT,
		};
		ps_regions_clear(&present);
		if (ps_scan(t->pagemap_fd, &req, &present, NULL, &e) < 0)
			continue;
		for (size_t k = 0; k < present.n; k++) {
			uint64_t a = (present.r[k].start + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
			for (; a + HUGE_SIZE <= present.r[k].end; a += HUGE_SIZE) {
				if (!split_thp_at(t, kfd, a))
					continue;
				ret->split++;
				ret->recollapse_asked++;
				struct iovec iov = { .iov_base = (void *)(uintptr_t)a, .iov_len = HUGE_SIZE };
				if (syscall(SYS_process_madvise, t->pidfd, &iov, 1, MADV_COLLAPSE, 0) < 0) {
					int en = errno;
					if (!ret->recollapse_errno)
						ret->recollapse_errno = en;
					if (en == ESRCH || en == EPERM || en == ENOSYS)
						goto done;
					continue;
				}
				ret->recollapsed += is_huge_now(t, a);
			}
		}
	}
done:
	ret->recollapse_wall_ns = ps_now_ns() - w0;
	ret->recollapse_cpu_ns = cpu_now_ns() - c0;
	ps_regions_free(&present);
	ps_maps_free(&maps);
	close(kfd);
	return 0;
}
