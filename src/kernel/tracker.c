/* SPDX-License-Identifier: MIT */
/* Userfaultfd write-protect tracking of another process's mm; see
 * include/pagescan/kernel/tracker.h and docs/kernel-interfaces.md#registration. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pagescan/kernel/sys.h"
#include "pagescan/model/category.h"
#include "pagescan/kernel/compat.h"
#include "pagescan/kernel/tracker.h"
#include "pagescan/model/session.h"
#include "pagescan/model/util.h"

struct ps_tracker {
	const struct ps_target *t;
	int uffd;                       /* pagescan's copy */
	uint64_t features;              /* negotiated */
	const struct ps_rangespec *specs; /* selection, borrowed; none = whole address space */
	size_t nspecs;
	struct ps_rangeset armed;       /* registered and write-protected byte ranges */
	struct ps_rangeset refused;     /* the kernel refused these; not retried while they exist */
	struct ps_rangeset known;       /* everything mapped at the last sync */
	uint64_t readonly_vmas;         /* read-only mappings left out at the last sync */
	struct ps_regions scratch;
};

/* ---- API ---------------------------------------------------------------- */

int ps_uffd_probe(uint64_t *ret_features, struct ps_err *err)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0) {
		int e = errno;
		if (e == ENOSYS)
			return ps_errf(err, e, "this kernel has no userfaultfd (CONFIG_USERFAULTFD off); pagescan needs Linux 6.7+ with userfaultfd");
		return ps_errf(err, e, "cannot create a userfaultfd to probe the kernel: %s", strerror(e));
	}
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int r = ioctl(fd, UFFDIO_API, &api);
	int e = errno;
	close(fd);
	if (r < 0)
		return ps_errf(err, e, "UFFDIO_API failed: %s", strerror(e));
	*ret_features = api.features;
	return 0;
}

static const uint64_t needed_features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;

/* Our mark: THREAD_ID only changes fault messages, which async write-protect
 * never sends, so no program needs it with WP_ASYNC. ps_find_engaged() takes
 * a userfaultfd for pagescan's only when it carries both, so release never
 * closes a program's own write-tracking userfaultfd. */
#define PS_UFFD_MARK UFFD_FEATURE_THREAD_ID

struct ps_tracker *ps_tracker_new(const struct ps_target *t, int uffd, const struct ps_rangespec *specs,
                                  size_t nspecs, struct ps_err *err)
{
	uint64_t avail;

	if (ps_uffd_probe(&avail, err) < 0)
		return NULL;
	if ((avail & needed_features) != needed_features) {
		ps_errf(err, EOPNOTSUPP,
		        "this kernel lacks userfaultfd asynchronous write-protect (UFFD_FEATURE_WP_ASYNC, Linux 6.7+, needs CONFIG_PTE_MARKER_UFFD_WP)");
		return NULL;
	}
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = needed_features | PS_UFFD_MARK | (avail & UFFD_FEATURE_WP_HUGETLBFS_SHMEM),
	};
	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		ps_errf(err, errno, "UFFDIO_API on the target's userfaultfd failed: %s", strerror(errno));
		return NULL;
	}
	struct ps_tracker *tr = calloc(1, sizeof(*tr));
	if (!tr) {
		ps_errf(err, ENOMEM, "out of memory");
		return NULL;
	}
	tr->t = t;
	tr->specs = specs;
	tr->nspecs = nspecs;
	tr->features = api.features;
	tr->uffd = uffd; /* taken over only now: on failure the caller closes it */
	return tr;
}

const struct ps_rangeset *ps_tracker_armed(const struct ps_tracker *tr)
{
	return &tr->armed;
}

uint64_t ps_tracker_readonly_vmas(const struct ps_tracker *tr)
{
	return tr->readonly_vmas;
}

/* Closing the last copy of a userfaultfd un-protects every registered page
 * in one pass under the target's mmap write lock (~25 ms per populated GiB
 * here, so seconds for a big process): its page faults and mmap calls wait
 * that long. Undoing the registration piece by piece first holds the lock
 * only a millisecond or two at a time and leaves the close nothing to do.
 * Best effort: a piece the kernel refuses (a mapping that changed, or one
 * of another userfaultfd) is left to the close. */
#define UNREGISTER_CHUNK (64ull << 20)

static bool never_trackable(const struct ps_vma *v)
{
	/* The kernel refuses these (VM_IO/VM_PFNMAP/special); don't even try. */
	return v->kind == PS_VMA_VVAR || v->kind == PS_VMA_VSYSCALL || v->kind == PS_VMA_VDSO;
}

void ps_uffd_unregister_gently(int uffd, uint64_t start, uint64_t end)
{
	for (uint64_t s = start; s < end;) {
		uint64_t e = end - s > UNREGISTER_CHUNK ? s + UNREGISTER_CHUNK : end;
		struct uffdio_range r = { .start = s, .len = e - s };
		if (ioctl(uffd, UFFDIO_UNREGISTER, &r) < 0 && errno == ESRCH)
			return; /* the address space is gone: nothing to undo */
		s = e;
	}
}

int ps_remote_unregister_gently(const struct ps_target *t, int remote_fd, uint64_t expect_ino)
{
	int ufd = pidfd_getfd(t->pidfd, remote_fd, 0);
	if (ufd < 0)
		return -errno;
	struct stat st;
	if (expect_ino && (fstat(ufd, &st) < 0 || (uint64_t)st.st_ino != expect_ino)) {
		close(ufd); /* the number now names another file: leave it alone */
		return -ESTALE;
	}
	struct ps_maps maps = { 0 };
	int r = ps_maps_read(t->mmfd, &maps, NULL);
	if (r == 0) {
		/* Every mapping but the kernel's own: one made read-only since
		 * engage is still registered. Unregistered ones cost a lookup. */
		for (size_t i = 0; i < maps.n; i++)
			if (!never_trackable(&maps.v[i]))
				ps_uffd_unregister_gently(ufd, maps.v[i].start, maps.v[i].end);
		ps_maps_free(&maps);
	}
	close(ufd);
	return r;
}

void ps_tracker_disarm(struct ps_tracker *tr)
{
	if (!tr || tr->uffd < 0)
		return;
	for (size_t i = 0; i < tr->armed.n; i++)
		ps_uffd_unregister_gently(tr->uffd, tr->armed.r[i].start, tr->armed.r[i].end);
	ps_rangeset_clear(&tr->armed);
}

void ps_tracker_free(struct ps_tracker *tr)
{
	if (!tr)
		return;
	ps_close(&tr->uffd);
	ps_rangeset_free(&tr->armed);
	ps_rangeset_free(&tr->refused);
	ps_rangeset_free(&tr->known);
	ps_regions_free(&tr->scratch);
	free(tr);
}

/* ---- sync --------------------------------------------------------------- */

static const char *register_reason(int e, char *buf, size_t n)
{
	switch (e) {
	case EBUSY:
		return "already tracked by another userfaultfd (the program's own, or another tracker)";
	case EPERM:
		return "shared mapping of a file opened read-only: it can never be written";
	case EINVAL:
		return "the kernel cannot write-protect this kind of mapping (EINVAL)";
	default:
		snprintf(buf, n, "registration failed: %s", strerror(e));
		return buf;
	}
}

static int arm(struct ps_tracker *tr, uint64_t start, uint64_t end, struct ps_err *err)
{
	/* REGISTER protects nothing; one WP_MATCHING pass on the WRITTEN fast
	 * path protects every page, populated or not (docs/kernel-interfaces.md#the-arming-pass). */
	struct ps_scan_req req = {
		.start = start, .end = end,
		.mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .wp = true,
	};
	ps_regions_clear(&tr->scratch);
	int r = ps_scan(tr->t->pagemap_fd, &req, &tr->scratch, NULL, err);
	ps_regions_clear(&tr->scratch);
	return r;
}

static int prewritten(struct ps_tracker *tr, uint64_t start, uint64_t end, bool armed,
                      struct ps_regions *out, struct ps_err *err)
{
	/* Present, not file-backed, not the zero page: anonymous memory that
	 * was written (or copied on write) since the mapping appeared. Just
	 * armed: and not written since the arming pass (the next harvest
	 * reports those), so that a page written meanwhile is counted once,
	 * never lost. */
	struct ps_scan_req req = {
		.start = start, .end = end,
		.mask = PAGE_IS_PRESENT | PAGE_IS_FILE | PAGE_IS_PFNZERO | (armed ? PAGE_IS_WRITTEN : 0),
		.inverted = PAGE_IS_FILE | PAGE_IS_PFNZERO | (armed ? PAGE_IS_WRITTEN : 0),
		.ret = PAGE_IS_PRESENT,
	};
	return ps_scan(tr->t->pagemap_fd, &req, out, NULL, err);
}

/* Does v hold private anonymous data (a present page that is not the zero
 * page)? Errors count as yes: then its pages are never reported. */
static bool holds_data(struct ps_tracker *tr, const struct ps_vma *v)
{
	struct ps_scan_req req = {
		.start = v->start, .end = v->end,
		.mask = PAGE_IS_PRESENT | PAGE_IS_FILE | PAGE_IS_PFNZERO,
		.inverted = PAGE_IS_FILE | PAGE_IS_PFNZERO,
		.ret = PAGE_IS_PRESENT, .max_pages = 1,
	};
	struct ps_err e;
	ps_regions_clear(&tr->scratch);
	int r = ps_scan(tr->t->pagemap_fd, &req, &tr->scratch, NULL, &e);
	bool any = r < 0 || tr->scratch.n > 0;
	ps_regions_clear(&tr->scratch);
	return any;
}

static int target_gone(struct ps_tracker *tr, int e, struct ps_err *err)
{
	if (e == ENOMEM || e == ESRCH)
		return ps_errf(err, ESRCH, "process %d exited or called exec", tr->t->pid);
	return 0;
}

static uint64_t rs_covering(const struct ps_rangeset *s, uint64_t a, uint64_t *next);

/* Pages already written in the parts of [start,end) that were not mapped at
 * the previous sync (new mappings). Parts that existed but were not tracked
 * (read-only until an mprotect) are not counted: their anonymous pages may be
 * old, and pagescan never reports a write it cannot vouch for. */
static int count_new(struct ps_tracker *tr, uint64_t start, uint64_t end, bool armed,
                     struct ps_sync_result *res, struct ps_err *err)
{
	uint64_t a = start;
	while (a < end) {
		uint64_t next = UINT64_MAX;
		uint64_t c = rs_covering(&tr->known, a, &next);
		if (c) {
			a = c;
			continue;
		}
		uint64_t b = next < end ? next : end;
		int r = prewritten(tr, a, b, armed, &res->prewritten, err);
		if (r < 0)
			return r;
		a = b;
	}
	return 0;
}

/* Register [start,end) inside VMA v; record the outcome. */
static int engage_piece(struct ps_tracker *tr, const struct ps_vma *v, uint64_t start, uint64_t end,
                        bool count_prewritten, struct ps_sync_result *res, struct ps_err *err)
{
	struct uffdio_register reg = {
		.range = { .start = start, .len = end - start },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	const char *label = ps_vma_label(v);
	char buf[128];

	if (ioctl(tr->uffd, UFFDIO_REGISTER, &reg) < 0) {
		int e = errno;
		int r = target_gone(tr, e, err);
		if (r < 0)
			return r;
		if (ps_rangeset_add(&tr->refused, start, end) < 0 ||
		    ps_spans_add(&res->skipped, start, end, label, register_reason(e, buf, sizeof(buf))) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		return 0;
	}
	/* Arm first, then count what was written before: counting first
	 * would lose a page written between the count and the arming pass. */
	int r = arm(tr, start, end, err);
	if (r < 0)
		return r;
	if (count_prewritten) {
		r = count_new(tr, start, end, true, res, err);
		if (r < 0)
			return r;
	}
	if (ps_rangeset_add(&tr->armed, start, end) < 0 || ps_spans_add(&res->engaged, start, end, label, NULL) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	return 0;
}

/* First range of s with end > a (binary search). */
static size_t rs_lower(const struct ps_rangeset *s, uint64_t a)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->r[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* If a is inside a range of s, its end; else 0 and *next = start of the next range (or UINT64_MAX). */
static uint64_t rs_covering(const struct ps_rangeset *s, uint64_t a, uint64_t *next)
{
	size_t i = rs_lower(s, a);
	if (i < s->n && s->r[i].start <= a)
		return s->r[i].end;
	*next = i < s->n ? s->r[i].start : UINT64_MAX;
	return 0;
}

/* Engage [s,e) of v minus what is armed or refused already. */
static int engage_uncovered(struct ps_tracker *tr, const struct ps_vma *v, uint64_t s, uint64_t e,
                            bool count_prewritten, struct ps_sync_result *res, struct ps_err *err)
{
	uint64_t a = s;
	while (a < e) {
		uint64_t na = UINT64_MAX, nr = UINT64_MAX;
		uint64_t ca = rs_covering(&tr->armed, a, &na);
		uint64_t cr = rs_covering(&tr->refused, a, &nr);
		if (ca || cr) {
			a = ca > cr ? ca : cr;
			continue;
		}
		uint64_t b = e;
		if (na < b)
			b = na;
		if (nr < b)
			b = nr;
		int r = engage_piece(tr, v, a, b, count_prewritten, res, err);
		if (r < 0)
			return r;
		a = b;
	}
	return 0;
}

int ps_tracker_sync(struct ps_tracker *tr, const struct ps_maps *maps, bool count_prewritten,
                    struct ps_sync_result *res, struct ps_err *err)
{
	struct ps_rangeset wantall = { 0 };
	int r = 0;

	/* Everything the selection covers, clipped to VMAs. */
	r = ps_rangespec_resolve(tr->specs, tr->nspecs, maps, &wantall);
	if (r < 0)
		return ps_errf(err, -r, "out of memory");

	/* Forget armed ranges that are no longer mapped (munmap, mremap away). */
	for (size_t i = 0; i < tr->armed.n;) {
		uint64_t s = tr->armed.r[i].start, e = tr->armed.r[i].end;
		uint64_t a = s;
		bool changed = false;
		while (a < e) {
			long k = ps_maps_find(maps, a);
			if (k >= 0) {
				a = maps->v[k].end < e ? maps->v[k].end : e;
				continue;
			}
			size_t j = ps_maps_lower_bound(maps, a);
			uint64_t b = j < maps->n && maps->v[j].start < e ? maps->v[j].start : e;
			if (ps_rangeset_remove(&tr->armed, a, b) < 0 || ps_spans_add(&res->dropped, a, b, "(unmapped)", NULL) < 0) {
				r = ps_errf(err, ENOMEM, "out of memory");
				goto out;
			}
			changed = true;
			a = b;
		}
		if (!changed)
			i++;
	}
	/* Forget refusals whose mapping went away, so a new mapping there is tried. */
	for (size_t i = 0; i < tr->refused.n;) {
		uint64_t s = tr->refused.r[i].start, e = tr->refused.r[i].end;
		long k = ps_maps_find(maps, s);
		if (k < 0 || maps->v[k].start != s || maps->v[k].end < e) {
			ps_rangeset_remove(&tr->refused, s, e);
			continue;
		}
		i++;
	}

	tr->readonly_vmas = 0;
	size_t k = 0;
	for (size_t i = 0; i < maps->n; i++) {
		const struct ps_vma *v = &maps->v[i];
		bool counted = false;
		while (k < wantall.n && wantall.r[k].end <= v->start)
			k++;
		for (size_t q = k; q < wantall.n && wantall.r[q].start < v->end; q++) {
			uint64_t s = wantall.r[q].start > v->start ? wantall.r[q].start : v->start;
			uint64_t e = wantall.r[q].end < v->end ? wantall.r[q].end : v->end;
			if (never_trackable(v)) {
				if (!counted && !ps_rangeset_contains(&tr->refused, v->start, v->end)) {
					if (ps_rangeset_add(&tr->refused, v->start, v->end) < 0 ||
					    ps_spans_add(&res->skipped, v->start, v->end, ps_vma_label(v),
					                 "special kernel mapping: it cannot be write-protected") < 0) {
						r = ps_errf(err, ENOMEM, "out of memory");
						goto out;
					}
				}
				counted = true;
				continue;
			}
			if (!(v->prot & PS_VMA_WRITE)) {
				/* Not tracked; but a new one may hold pages written before
				 * it was made read-only (relocations under RELRO). */
				if (count_prewritten) {
					r = count_new(tr, s, e, false, res, err);
					if (r < 0)
						goto out;
				}
				tr->readonly_vmas += !counted;
				counted = true;
				continue;
			}
			r = engage_uncovered(tr, v, s, e, count_prewritten, res, err);
			if (r < 0)
				goto out;
		}
	}
	/* Remember what was mapped, to tell new mappings at the next sync. An
	 * anonymous mapping nobody can write that holds no data (a PROT_NONE
	 * reservation: malloc arenas and JIT heaps grow by mprotect) is left
	 * out: whatever it holds at the next sync was written since. */
	ps_rangeset_clear(&tr->known);
	for (size_t i = 0; i < maps->n; i++) {
		const struct ps_vma *v = &maps->v[i];
		if (v->kind == PS_VMA_VSYSCALL || (!(v->prot & PS_VMA_WRITE) && v->kind == PS_VMA_ANON && !holds_data(tr, v)))
			continue;
		if (ps_rangeset_add(&tr->known, v->start, v->end) < 0) {
			r = ps_errf(err, ENOMEM, "out of memory");
			break;
		}
	}
out:
	ps_rangeset_free(&wantall);
	return r;
}

/* ---- harvest ------------------------------------------------------------ */

int ps_tracker_harvest(struct ps_tracker *tr, bool clear, struct ps_regions *out,
                       struct ps_scan_stats *stats, struct ps_err *err)
{
	struct ps_scan_stats total = { 0 }, st;
	int r = 0;

	if (tr->armed.n == 0)
		goto done;
	if (clear) {
		/* One get-and-clear over the whole span on the WRITTEN fast path;
		 * WP_MATCHING skips every mapping not registered for asynchronous
		 * write-protect (docs/kernel-interfaces.md#harvesting). */
		struct ps_scan_req req = {
			.start = tr->armed.r[0].start, .end = tr->armed.r[tr->armed.n - 1].end,
			.mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .wp = true,
		};
		r = ps_scan(tr->t->pagemap_fd, &req, out, &total, err);
	} else {
		/* Without WP_MATCHING the kernel reports unarmed mappings as written:
		 * scan only what we armed. */
		for (size_t i = 0; i < tr->armed.n && r == 0; i++) {
			struct ps_scan_req req = {
				.start = tr->armed.r[i].start, .end = tr->armed.r[i].end,
				.mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN,
			};
			r = ps_scan(tr->t->pagemap_fd, &req, out, &st, err);
			total.calls += st.calls;
			total.pages += st.pages;
		}
	}
done:
	if (stats)
		*stats = total;
	return r;
}

/* ---- the session's source ------------------------------------------------ */

static int source_harvest(void *ctx, bool clear, struct ps_regions *out, struct ps_err *err)
{
	struct ps_scan_stats st;
	return ps_tracker_harvest(ctx, clear, out, &st, err);
}

static int source_follow(void *ctx, bool count_prewritten, struct ps_maps *maps, struct ps_sync_result *res,
                         struct ps_err *err)
{
	struct ps_tracker *tr = ctx;
	int r = ps_maps_read(tr->t->mmfd, maps, err);
	if (r < 0)
		return r;
	return ps_tracker_sync(tr, maps, count_prewritten, res, err);
}

static const struct ps_rangeset *source_tracked(void *ctx)
{
	return ps_tracker_armed(ctx);
}

static uint64_t source_now_ns(void *ctx)
{
	(void)ctx;
	return ps_now_ns();
}

void ps_tracker_source(struct ps_tracker *tr, struct ps_session_source *ret)
{
	*ret = (struct ps_session_source){
		.harvest = source_harvest,
		.follow = source_follow,
		.tracked = source_tracked,
		.now_ns = source_now_ns,
		.ctx = tr,
	};
}

uint64_t ps_maps_user_end(const struct ps_maps *m)
{
	for (size_t i = m->n; i-- > 0;)
		if (m->v[i].kind != PS_VMA_VSYSCALL)
			return m->v[i].end;
	return 0;
}

int ps_tracked_anywhere(int pagemap_fd, const struct ps_maps *maps, bool *ret, struct ps_err *err)
{
	struct ps_regions v = { 0 };
	*ret = false;
	if (maps->n == 0)
		return 0;
	struct ps_scan_req req = {
		.start = maps->v[0].start, .end = ps_maps_user_end(maps),
		.mask = PAGE_IS_WPALLOWED, .ret = PAGE_IS_WPALLOWED, .max_pages = 1,
	};
	int r = ps_scan(pagemap_fd, &req, &v, NULL, err);
	*ret = v.n > 0;
	ps_regions_free(&v);
	return r;
}

/* ---- engaged userfaultfds in the target --------------------------------- */

/* The inode of userfaultfd fd in the process directory dfd, or 0. */
static uint64_t uffd_ino_at(int dfd, int fd)
{
	char link[64], path[64], ino[32] = "", *info = NULL;
	size_t il;
	long long v = 0;

	snprintf(path, sizeof(path), "fd/%d", fd);
	ssize_t l = readlinkat(dfd, path, link, sizeof(link) - 1);
	if (l < 0)
		return 0;
	link[l] = 0;
	if (strcmp(link, "anon_inode:[userfaultfd]") != 0)
		return 0;
	snprintf(path, sizeof(path), "fdinfo/%d", fd);
	if (ps_read_file_at(dfd, path, 4096, &info, &il) < 0)
		return 0;
	ps_status_field(info, "ino", ino, sizeof(ino));
	free(info);
	return ps_parse_int(ino, 1, INT64_MAX, &v, NULL) < 0 ? 0 : (uint64_t)v;
}

int ps_find_uffd_holders(uint64_t ino, pid_t exclude, pid_t *pids, int *fds, int max)
{
	DIR *proc = opendir("/proc");
	int n = 0;
	struct dirent *pe;

	if (!proc)
		return 0;
	while ((pe = readdir(proc))) {
		long long pid;
		if (ps_parse_int(pe->d_name, 1, INT32_MAX, &pid, NULL) < 0 || (pid_t)pid == exclude)
			continue;
		int dfd = openat(dirfd(proc), pe->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		int ffd = openat(dfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *fdd = ffd >= 0 ? fdopendir(ffd) : NULL;
		if (!fdd && ffd >= 0)
			close(ffd);
		struct dirent *fe;
		while (fdd && (fe = readdir(fdd))) {
			long long fd;
			if (ps_parse_int(fe->d_name, 0, INT32_MAX, &fd, NULL) < 0 || uffd_ino_at(dfd, (int)fd) != ino)
				continue;
			if (n < max) {
				pids[n] = (pid_t)pid;
				fds[n] = (int)fd;
			}
			n++;
		}
		if (fdd)
			closedir(fdd);
		close(dfd);
	}
	closedir(proc);
	return n;
}

/* FEATURES of a userfaultfd's fdinfo "API:" value, "aa:FEATURES:IOCTLS" in hex. */
static bool uffd_api_features(const char *api, unsigned long long *ret)
{
	const char *hex = strchr(api, ':');
	char *end = NULL;

	if (!hex || !isxdigit((unsigned char)hex[1]))
		return false;
	errno = 0;
	*ret = strtoull(hex + 1, &end, 16);
	return errno == 0 && *end == ':';
}

int ps_find_engaged(const struct ps_target *t, int *fds, uint64_t *inos, int max, bool any,
                    struct ps_err *err)
{
	int dfd = openat(t->mmfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == EACCES || errno == EPERM)
			return ps_errf(err, errno, "cannot list the file descriptors of process %d: permission denied; run as root or with CAP_SYS_PTRACE", t->pid);
		return ps_errf(err, errno, "cannot list /proc/%d/fd: %s", t->pid, strerror(errno));
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return ps_errf(err, ENOMEM, "out of memory");
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		long long fd;
		char link[64], path[64];
		if (ps_parse_int(de->d_name, 0, INT32_MAX, &fd, NULL) < 0)
			continue;
		ssize_t l = readlinkat(dfd, de->d_name, link, sizeof(link) - 1);
		if (l < 0)
			continue;
		link[l] = 0;
		if (strcmp(link, "anon_inode:[userfaultfd]") != 0)
			continue;
		char *info = NULL;
		size_t il;
		snprintf(path, sizeof(path), "fdinfo/%lld", fd);
		if (ps_read_file_at(t->mmfd, path, 4096, &info, &il) < 0)
			continue;
		char api[64] = "", ino[32] = "";
		unsigned long long features = 0;
		ps_status_field(info, "API", api, sizeof(api));
		ps_status_field(info, "ino", ino, sizeof(ino));
		free(info);
		/* ours negotiated WP_ASYNC and the mark */
		if (!any && (!uffd_api_features(api, &features) ||
		             (features & (UFFD_FEATURE_WP_ASYNC | PS_UFFD_MARK)) != (UFFD_FEATURE_WP_ASYNC | PS_UFFD_MARK)))
			continue;
		if (n < max) {
			fds[n] = (int)fd;
			long long iv = 0;
			ps_parse_int(ino, 0, INT64_MAX, &iv, NULL);
			inos[n] = (uint64_t)iv;
		}
		n++;
	}
	closedir(d);
	return n;
}
