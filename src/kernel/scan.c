/* SPDX-License-Identifier: MIT */
/* The PAGEMAP_SCAN loop.
 *
 * Exactness rules (docs/kernel-interfaces.md#the-scan-loop):
 *  - vec_len <= 512: past one bounce buffer (512 regions) the kernel can leave
 *    walk_end at a stale restart point; a smaller vector never refills.
 *  - resume at walk_end only after success; on error walk_end is meaningless.
 *  - a call that returned fewer regions than asked for, without reaching
 *    max_pages, walked to the end of its range.
 *  - regions are merged across call boundaries (the kernel may cut one at
 *    max_pages, when the vector is full, or at a piece boundary).
 *  - no call covers more than a piece (#scanning-in-pieces): the target's
 *    mmap, munmap, mprotect and brk wait for a call's whole walk; and after
 *    about a millisecond of calls back to back the lock is left free for a
 *    moment (#leaving-the-lock-free). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "pagescan/kernel/scan.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/model/category.h"
#include "pagescan/model/util.h"

static int real_ioctl(int fd, struct pm_scan_arg *arg, void *ctx)
{
	(void)ctx;
	return ioctl(fd, PAGEMAP_SCAN, arg);
}

static int scan_error(struct ps_err *err, int e)
{
	switch (e) {
	case ENOTTY:
		return ps_errf(err, e, "this kernel lacks the PAGEMAP_SCAN ioctl; pagescan needs Linux 6.7 or later");
	case ESRCH:
		return ps_errf(err, e, "the target's address space is gone (it exited or called exec)");
	case EINTR:
		return ps_errf(err, e, "page scan interrupted by a fatal signal");
	case ENOMEM:
		return ps_errf(err, e, "page scan ran out of memory in the kernel");
	case EPERM:
		return ps_errf(err, e, "page scan refused: a range is not write-protect tracked");
	case EINVAL:
		return ps_errf(err, e, "the kernel rejected the page scan arguments (a category this kernel does not know?)");
	default:
		return ps_errf(err, e, "page scan failed: %s", strerror(e));
	}
}

/* The address at which [start, ...) holds piece bytes of memory: of the
 * mappings of m, holes not counted (the walk skips them for free), or of
 * any kind without m. end if the rest holds less. */
static uint64_t piece_span(const struct ps_maps *m, uint64_t start, uint64_t piece, uint64_t end)
{
	if (!m)
		return end - start <= piece ? end : start + piece;
	for (size_t i = ps_maps_lower_bound(m, start); i < m->n && m->v[i].start < end; i++) {
		uint64_t a = m->v[i].start > start ? m->v[i].start : start;
		uint64_t b = m->v[i].end < end ? m->v[i].end : end;
		if (b - a >= piece)
			return b - a == piece ? b : a + piece;
		piece -= b - a;
	}
	return end;
}

/* End of a call's range from start: a piece, ending on a PMD boundary. */
static uint64_t piece_end(const struct ps_maps *m, uint64_t start, uint64_t piece, uint64_t end)
{
	uint64_t e = piece_span(m, start, piece, end);
	if (e >= end)
		return end;
	e &= ~(PS_SCAN_PIECE_MIN - 1);
	if (e <= start)
		e = (start | (PS_SCAN_PIECE_MIN - 1)) + 1;
	return e < end ? e : end;
}

uint64_t ps_scan_piece_end(uint64_t start, uint64_t piece, uint64_t end)
{
	return piece_end(NULL, start, piece, end);
}

/* ---- mappings with pages larger than a piece's alignment ----------------- */

/* Per pagemap fd, the mappings that can have large pages (hugetlb
 * candidates: ps_vma_page_sizes()), sorted, with their page size; 0 when
 * unknown (then treated as the base page). Usually none. */
struct big_range {
	uint64_t start, end, inode, page;
};
struct big_fd {
	int fd;
	size_t n;
	struct big_range *v;
};
static struct big_fd *bigs;
static size_t nbigs;

static struct big_fd *big_find(int fd)
{
	for (size_t i = 0; i < nbigs; i++)
		if (bigs[i].fd == fd)
			return &bigs[i];
	return NULL;
}

static bool big_candidate(const struct ps_vma *v)
{
	return v->dev_major == 0 && v->inode != 0;
}

static int real_page_sizes(void *ctx, const struct ps_vma *v, size_t n, uint64_t *ret)
{
	return ps_vma_page_sizes(*(const int *)ctx, v, n, ret);
}

int ps_scan_note_maps(int pagemap_fd, int procfd, const struct ps_maps *maps)
{
	return ps_scan_note_maps_with(real_page_sizes, &procfd, pagemap_fd, maps);
}

int ps_scan_note_maps_with(ps_page_sizes_fn sizes, void *ctx, int pagemap_fd, const struct ps_maps *maps)
{
	struct big_fd *b = big_find(pagemap_fd);
	if (!maps) {
		if (b) {
			free(b->v);
			*b = bigs[--nbigs];
			if (!nbigs) {
				free(bigs);
				bigs = NULL;
			}
		}
		return 0;
	}
	size_t n = 0, nq = 0;
	for (size_t i = 0; i < maps->n; i++)
		n += big_candidate(&maps->v[i]);
	if (!n && !b)
		return 0; /* the common case: nothing to note, nothing noted */
	struct big_range *v = n ? calloc(n, sizeof(*v)) : NULL;
	struct ps_vma *q = n ? calloc(n, sizeof(*q)) : NULL;
	uint64_t *qs = n ? calloc(n, sizeof(*qs)) : NULL;
	size_t *qi = n ? calloc(n, sizeof(*qi)) : NULL;
	int r = 0;
	if (n && (!v || !q || !qs || !qi)) {
		r = -ENOMEM;
		goto out;
	}
	/* Known page sizes are kept (a mapping's page size never changes);
	 * only new candidates are asked. */
	size_t k = 0, j = 0;
	for (size_t i = 0; i < maps->n; i++) {
		const struct ps_vma *m = &maps->v[i];
		if (!big_candidate(m))
			continue;
		v[k] = (struct big_range){ .start = m->start, .end = m->end, .inode = m->inode };
		while (b && j < b->n && b->v[j].start < m->start)
			j++;
		if (b && j < b->n && b->v[j].start == m->start && b->v[j].end == m->end && b->v[j].inode == m->inode) {
			v[k].page = b->v[j].page;
		} else {
			q[nq] = *m;
			qi[nq++] = k;
		}
		k++;
	}
	if (nq) {
		r = sizes(ctx, q, nq, qs);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < nq; i++)
			v[qi[i]].page = qs[i];
	}
	size_t bi = b ? (size_t)(b - bigs) : nbigs;
	if (!b) {
		struct big_fd *nb = realloc(bigs, (nbigs + 1) * sizeof(*bigs));
		if (!nb) {
			r = -ENOMEM;
			goto out;
		}
		bigs = nb;
		bigs[nbigs++] = (struct big_fd){ .fd = pagemap_fd };
	}
	free(bigs[bi].v);
	bigs[bi].v = v;
	bigs[bi].n = n;
	v = NULL;
out:
	free(v);
	free(q);
	free(qs);
	free(qi);
	return r;
}

/* e moved to a page boundary of a large-page mapping of b it falls inside:
 * down, or up to the end of that page when down leaves nothing after start
 * (a page is never cut, even when it is larger than a piece). */
static uint64_t big_end(const struct big_fd *b, uint64_t start, uint64_t e, uint64_t end)
{
	if (!b || e >= end)
		return e;
	size_t lo = 0, hi = b->n;
	while (lo < hi) { /* the first range with end > e */
		size_t mid = lo + (hi - lo) / 2;
		if (b->v[mid].end <= e)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == b->n)
		return e;
	const struct big_range *g = &b->v[lo];
	if (g->page <= PS_SCAN_PIECE_MIN || e <= g->start || (g->page & (g->page - 1)))
		return e;
	uint64_t a = g->start + ((e - g->start) & ~(g->page - 1));
	if (a <= start)
		a += g->page;
	return a < end ? a : end;
}

uint64_t ps_scan_page_end(int pagemap_fd, uint64_t start, uint64_t piece_end, uint64_t end)
{
	return big_end(big_find(pagemap_fd), start, piece_end, end);
}

/* Bytes of [a, b) a call walked: of m's mappings, or all without m. */
static uint64_t walked(const struct ps_maps *m, uint64_t a, uint64_t b)
{
	if (!m)
		return b - a;
	uint64_t n = 0;
	for (size_t i = ps_maps_lower_bound(m, a); i < m->n && m->v[i].start < b; i++)
		n += (m->v[i].end < b ? m->v[i].end : b) - (m->v[i].start > a ? m->v[i].start : a);
	return n;
}

/* Resize the piece after a call that walked bytes in ns: aim at
 * PS_SCAN_PIECE_NS, shrink at once, grow at most p->growth times
 * per call (the memory ahead may cost more per page than what was
 * measured), within [MIN, MAX].
 * Only a call that walked at least half a piece or took at least half the
 * aim teaches anything: a short cheap one (the end of a range, a small
 * mapping, a full vector) is mostly the fixed cost of a call. */
void ps_scan_pace_learn(struct ps_scan_pace *p, uint64_t bytes, uint64_t ns)
{
	if (bytes < p->piece / 2 && ns < PS_SCAN_PIECE_NS / 2)
		return;
	uint64_t growth = p->growth ? p->growth : PS_SCAN_PIECE_GROWTH;
	uint64_t want = ns ? bytes / ns * PS_SCAN_PIECE_NS + bytes % ns * PS_SCAN_PIECE_NS / ns : UINT64_MAX;
	if (want / growth > p->piece)
		want = growth * p->piece;
	if (want > PS_SCAN_PIECE_MAX)
		want = PS_SCAN_PIECE_MAX;
	want &= ~(PS_SCAN_PIECE_MIN - 1);
	p->piece = want > PS_SCAN_PIECE_MIN ? want : PS_SCAN_PIECE_MIN;
}

/* The calls are timed in this thread's CPU time: the kernel's work per
 * page, not the machine's load (a call preempted midway would otherwise
 * shrink the piece for no gain: preemption strikes any piece alike). */
uint64_t ps_scan_pace_now(const struct ps_scan_pace *p)
{
	return p->clock ? p->clock(p->clock_ctx) : ps_thread_cpu_ns();
}

/* The current run of calls without a gap: from run_start to run_end (0:
 * none), on the lock of the address space behind run_fd (-1: unknown). */
static _Thread_local uint64_t run_start, run_end;
static _Thread_local int run_fd = -1;

/* ps_lock_breathe() for a call through fd (a target's pagemap; -1: the
 * same lock as the calls before). A call on another target's lock begins
 * a new run: a watch of many processes harvests one after the other, and
 * the calls of one never kept another's mmap lock. */
static void breathe_on(int fd, uint64_t start_ns, uint64_t end_ns)
{
	if (!run_end || start_ns - run_end >= PS_LOCK_FREE_NS || (fd >= 0 && fd != run_fd))
		run_start = start_ns; /* the lock was free long enough before this call */
	if (fd >= 0)
		run_fd = fd;
	run_end = end_ns;
	if (end_ns - run_start + (end_ns - start_ns) <= PS_LOCK_RUN_NS)
		return; /* one more call like this one still fits in the run */
	struct timespec ts = { .tv_nsec = (long)PS_LOCK_SLEEP_NS };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	run_end = 0;
}

void ps_lock_breathe(uint64_t start_ns, uint64_t end_ns)
{
	breathe_on(-1, start_ns, end_ns);
}

int ps_scan_each_with(ps_scan_ioctl_fn fn, void *ctx, int fd, const struct ps_scan_req *req,
                      ps_scan_batch_fn batch, void *bctx, struct ps_scan_stats *stats, struct ps_err *err)
{
	struct page_region vec[PS_SCAN_VEC_MAX];
	struct ps_scan_stats st = { 0 };
	struct ps_scan_pace fresh = { 0 }, *pace = req->pace ? req->pace : &fresh;
	uint64_t start = req->start;
	int r = 0;

	if (req->start & (PS_PAGE_SIZE - 1))
		return ps_errf(err, EINVAL, "scan start 0x%llx is not page aligned", (unsigned long long)req->start);
	if (pace->piece < PS_SCAN_PIECE_MIN)
		pace->piece = PS_SCAN_PIECE_START;
	const struct big_fd *big = big_find(fd);

	while (start < req->end) {
		uint64_t left = 0, end = big_end(big, start, piece_end(req->maps, start, pace->piece, req->end), req->end);
		bool probe = false;
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.flags = req->wp ? PM_SCAN_WP_MATCHING : 0,
			.start = start,
			.end = end,
			.vec = (uintptr_t)vec,
			.vec_len = PS_SCAN_VEC_MAX,
			.category_inverted = req->inverted,
			.category_mask = req->mask,
			.category_anyof_mask = req->anyof,
			.return_mask = req->ret,
		};
		if (req->max_pages) {
			left = req->max_pages - st.pages;
			/* The limit was met exactly at a piece boundary. One call
			 * would have walked on to the next match to tell whether
			 * pages were left out; ask the rest the same, piece by
			 * piece, reporting and re-protecting nothing. */
			probe = left == 0;
			arg.max_pages = probe ? 1 : left;
			if (probe)
				arg.flags = 0;
		}
		st.calls++;
		/* A call over less than half a piece teaches the pace nothing
		 * unless it is slow (ps_scan_pace_learn()); its wall time, which
		 * the lock accounting reads anyway, bounds its CPU time. That
		 * saves two clock reads a call: a process's small mappings are
		 * most of the calls of an idle watch, many processes' more so. */
		bool small = !pace->clock && end - start < pace->piece / 2;
		uint64_t w0 = ps_now_ns(), t0 = small ? 0 : ps_scan_pace_now(pace);
		int n = fn(fd, &arg, ctx);
		uint64_t w1 = ps_now_ns();
		uint64_t ns = small ? w1 - w0 : ps_scan_pace_now(pace) - t0;
		int e = errno;
		breathe_on(fd, w0, w1);
		errno = e;
		if (ns > st.longest_ns)
			st.longest_ns = ns;
		if (n < 0) {
			r = scan_error(err, errno);
			break;
		}
		if ((size_t)n > PS_SCAN_VEC_MAX) {
			r = ps_errf(err, EPROTO, "kernel returned %d regions for a vector of %d", n, PS_SCAN_VEC_MAX);
			break;
		}
		uint64_t got = 0, prev_end = start;
		for (int i = 0; i < n; i++) {
			if (vec[i].end <= vec[i].start || vec[i].start < prev_end || vec[i].end > end) {
				r = ps_errf(err, EPROTO, "kernel returned an invalid region 0x%llx-0x%llx",
				            (unsigned long long)vec[i].start, (unsigned long long)vec[i].end);
				goto out;
			}
			prev_end = vec[i].end;
			got += (vec[i].end - vec[i].start) >> PS_PAGE_SHIFT;
		}
		if (probe) {
			if (n > 0) {
				st.truncated = true;
				break;
			}
			ps_scan_pace_learn(pace, walked(req->maps, start, end), ns);
			start = end;
			continue;
		}
		if (n > 0) {
			r = batch(bctx, vec, (size_t)n, err);
			if (r < 0)
				goto out;
		}
		st.pages += got;
		if (req->max_pages && got >= left) {
			/* max_pages reached. The kernel walked on to the next match
			 * in this call's range (walk_end there: pages were left out)
			 * or to its end (then the next piece probes). */
			if (arg.walk_end < end) {
				st.truncated = true;
				break;
			}
			ps_scan_pace_learn(pace, walked(req->maps, start, end), ns);
			start = end;
			continue;
		}
		if ((size_t)n < PS_SCAN_VEC_MAX) {
			/* The walk reached the end of this call's range. */
			ps_scan_pace_learn(pace, walked(req->maps, start, end), ns);
			start = end;
			continue;
		}
		if (arg.walk_end <= start || arg.walk_end > end) {
			r = ps_errf(err, EPROTO, "kernel made no progress (walk_end 0x%llx)", (unsigned long long)arg.walk_end);
			break;
		}
		ps_scan_pace_learn(pace, walked(req->maps, start, arg.walk_end), ns);
		start = arg.walk_end;
	}
out:
	if (stats)
		*stats = st;
	return r;
}

static int collect(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	struct ps_regions *out = ctx;
	for (size_t i = 0; i < n; i++) {
		int r = ps_regions_push(out, vec[i].start, vec[i].end, vec[i].categories);
		if (r < 0)
			return ps_errf(err, -r, "out of memory collecting regions");
	}
	return 0;
}

int ps_scan_with(ps_scan_ioctl_fn fn, void *ctx, int fd, const struct ps_scan_req *req,
                 struct ps_regions *out, struct ps_scan_stats *stats, struct ps_err *err)
{
	return ps_scan_each_with(fn, ctx, fd, req, collect, out, stats, err);
}

int ps_scan_each(int pagemap_fd, const struct ps_scan_req *req, ps_scan_batch_fn batch, void *bctx,
                 struct ps_scan_stats *stats, struct ps_err *err)
{
	return ps_scan_each_with(real_ioctl, NULL, pagemap_fd, req, batch, bctx, stats, err);
}

int ps_scan(int pagemap_fd, const struct ps_scan_req *req, struct ps_regions *out,
            struct ps_scan_stats *stats, struct ps_err *err)
{
	return ps_scan_with(real_ioctl, NULL, pagemap_fd, req, out, stats, err);
}

int ps_scan_probe(int pagemap_fd, uint64_t *ret_supported, struct ps_err *err)
{
	uint64_t ok = 0;

	/* A zero-length scan checks the arguments and walks nothing: unknown
	 * category bits give EINVAL (probe, don't compare versions:
	 * docs/kernel-interfaces.md#minimum-kernel-and-probing). */
	for (size_t i = 0; i < ps_ncategories; i++) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.start = 0x10000,
			.end = 0x10000,
			.category_mask = ps_categories[i].bit,
			.return_mask = ps_categories[i].bit,
		};
		if (ioctl(pagemap_fd, PAGEMAP_SCAN, &arg) == 0)
			ok |= ps_categories[i].bit;
		else if (errno == ENOTTY)
			return scan_error(err, ENOTTY);
		else if (errno != EINVAL)
			return scan_error(err, errno);
	}
	*ret_supported = ok;
	return 0;
}
