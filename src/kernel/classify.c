/* SPDX-License-Identifier: MIT */
/* The harvest with its classification pass; see
 * include/pagescan/kernel/classify.h and docs/kernel-interfaces.md#classifying-the-harvest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pagescan/kernel/classify.h"
#include "pagescan/kernel/compat.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/kernel/target.h"
#include "pagescan/model/category.h"
#include "pagescan/model/util.h"

/* Candidates closer than this are classified in one call. A bridged gap
 * costs the generic walk ~50 ns per populated entry (holes: nothing, and
 * they are never protected); a call of its own costs an ioctl, a TLB flush
 * and an mmu notifier round. Measured (1 GiB, one write per 100 pages,
 * docs/kernel-interfaces.md#classifying-the-harvest): 64 pages 3.9x the
 * old harvest, 512 pages 1.2x, no limit 0.9x but unbounded walking. */
#define GAP_PAGES 512

/* A harvest classifies about this many candidate runs at a time: the
 * candidate and classification vectors hold one batch, not all the written
 * runs of a large mapping (random writes over 4 GiB: ~70,000 runs a
 * second, 24 bytes each in each vector). The next batch's candidate pass
 * goes on from where the last one stopped: a call more per batch, none for
 * an idle or little-written range (runs, not pages: an unpopulated range
 * is one run of any size). */
#define CLASSIFY_BATCH_RUNS 16384

/* The candidate pass's collector: stops the scan (-ECANCELED) once a
 * batch is full. */
struct cand_batch {
	struct ps_regions *out;
	bool full;
};

static int collect_cand(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	struct cand_batch *b = ctx;
	for (size_t i = 0; i < n; i++)
		if (ps_regions_push(b->out, vec[i].start, vec[i].end, vec[i].categories) < 0)
			return ps_errf(err, ENOMEM, "out of memory collecting regions");
	if (b->out->n < CLASSIFY_BATCH_RUNS)
		return 0;
	b->full = true;
	return -ECANCELED;
}

/* Whether KSM can be involved: asked once a harvest, when there are
 * candidates. */
struct ksm_ask {
	bool asked, ksm;
};

/* /proc/kpageflags bit of KSM pages (include/uapi/linux/kernel-page-flags.h). */
#define KPF_KSM 21

/* Does /proc/kpageflags tell KSM pages apart? Some kernels (6.9 to 6.12 at
 * least: "mapping & PAGE_MAPPING_KSM" in stable_page_flags()) set KPF_KSM on
 * every anonymous page, which would make every write look like a merge.
 * Checked on a page of our own that is certainly not a KSM page. */
static bool kpageflags_ksm_sane(int kpageflags_fd)
{
	static uint64_t own[PS_PAGE_SIZE_MAX / sizeof(uint64_t)] __attribute__((aligned(PS_PAGE_SIZE_MAX)));
	uint64_t pme = 0, flags = 0;
	bool ok = false;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	own[0] = (uint64_t)getpid() | 1; /* populate it: an anonymous page of ours */
	if (fd >= 0 && pread(fd, &pme, sizeof(pme), (off_t)(((uintptr_t)own >> PS_PAGE_SHIFT) * 8)) == sizeof(pme) &&
	    (pme & PM_PRESENT_BIT) && (pme & PM_PFN_MASK) &&
	    pread(kpageflags_fd, &flags, sizeof(flags), (off_t)((pme & PM_PFN_MASK) * 8)) == sizeof(flags))
		ok = !((flags >> KPF_KSM) & 1);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* /proc/kpageflags, one descriptor for every process pagescan tracks (it
 * describes the machine's pages), opened and checked once and kept until
 * exit; -1 when unreadable (not root) or unusable. Out of descriptors:
 * asked again next time. */
static int shared_kpageflags(void)
{
	static int fd = -2;

	if (fd != -2)
		return fd;
	int k = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (k < 0)
		return errno == EMFILE || errno == ENFILE ? -1 : (fd = -1);
	if (!kpageflags_ksm_sane(k)) {
		/* KSM merges then read as writes, as without root. */
		close(k);
		k = -1;
	}
	return fd = k;
}

void ps_classify_init(struct ps_classify *c, int pagemap_fd, int procfd)
{
	memset(c, 0, sizeof(*c));
	c->pagemap_fd = pagemap_fd;
	c->procfd = procfd;
	c->ksm_stat_fd = -2;
	c->kpageflags_fd = shared_kpageflags();
	/* The guard category (6.16+): a zero-length scan that names it fails
	 * with EINVAL on kernels that do not know it. */
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = 0x10000, .end = 0x10000,
		.category_mask = PAGE_IS_GUARD, .return_mask = PAGE_IS_GUARD,
	};
	if (ioctl(pagemap_fd, PAGEMAP_SCAN, &a) == 0)
		c->guard_bit = PAGE_IS_GUARD;
}

void ps_classify_free(struct ps_classify *c)
{
	c->kpageflags_fd = -1; /* shared, kept */
	if (c->ksm_stat_fd >= 0)
		close(c->ksm_stat_fd);
	c->ksm_stat_fd = -2;
	ps_rangeset_free(&c->holes);
	ps_rangeset_free(&c->prev_holes);
	ps_rangeset_free(&c->marked);
	ps_regions_free(&c->cand);
	ps_regions_free(&c->got);
	ps_regions_free(&c->cand2);
}

bool ps_classify_needs_markers(bool private_anon)
{
	return !private_anon;
}

static int add_holes(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	struct ps_rangeset *h = ctx;
	for (size_t i = 0; i < n; i++)
		if (ps_rangeset_add(h, vec[i].start, vec[i].end) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
	return 0;
}

static int discard_batch(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	(void)ctx, (void)vec, (void)n, (void)err;
	return 0;
}

int ps_classify_arm(struct ps_classify *c, uint64_t start, uint64_t end, bool markers, struct ps_err *err)
{
	if ((markers ? ps_rangeset_add(&c->marked, start, end) : ps_rangeset_remove(&c->marked, start, end)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	if (markers) {
		/* Every entry, holes included: a uffd-wp marker per page. */
		struct ps_scan_req req = {
			.start = start, .end = end,
			.mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .wp = true,
		};
		return ps_scan_each(c->pagemap_fd, &req, discard_batch, NULL, NULL, err);
	}
	/* Populated pages only (a vector is passed: without one the kernel
	 * protects every entry of a page table whatever the masks say). */
	struct ps_scan_req req = {
		.start = start, .end = end,
		.anyof = PAGE_IS_PRESENT | PAGE_IS_SWAPPED, .ret = PAGE_IS_PRESENT, .wp = true,
	};
	int r = ps_scan_each(c->pagemap_fd, &req, discard_batch, NULL, NULL, err);
	if (r < 0)
		return r;
	/* What still reads written now is empty (or written this instant:
	 * then the next harvest finds it present and reports it). */
	struct ps_scan_req get = {
		.start = start, .end = end, .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN,
	};
	return ps_scan_each(c->pagemap_fd, &get, add_holes, &c->holes, NULL, err);
}

/* Pages of [s,e) covered by the rangeset h. */
static uint64_t covered(const struct ps_rangeset *h, uint64_t s, uint64_t e)
{
	return ps_rangeset_overlap(h, s, e) >> PS_PAGE_SHIFT;
}

/* Is there a KSM page anywhere? /sys/kernel/mm/ksm/pages_shared, read at
 * most every 10 ms for all the processes a watch harvests in a tick: 0 (KSM
 * never ran, or unmerged everything) spares each of them its ksm_stat.
 * Unreadable (no CONFIG_KSM): none. A first merge in the 10 ms after a read
 * of 0 is missed as a merge that lands between a process's ksm_stat and its
 * classification always is (the page then reads written). */
static bool ksm_pages_anywhere(void)
{
	static uint64_t at;
	static bool any;
	static int fd = -2; /* -2: not opened yet, -1: not there */
	uint64_t now = ps_now_ns();
	char buf[64];

	if (at && now - at < 10000000ull)
		return any;
	at = now;
	if (fd == -2)
		fd = open("/sys/kernel/mm/ksm/pages_shared", O_RDONLY | O_CLOEXEC);
	any = fd >= 0 && ps_pread_text(fd, buf, sizeof(buf)) >= 0 && strtoull(buf, NULL, 10) > 0;
	return any;
}

/* Can KSM have merged pages of the target? /proc/PID/ksm_stat (6.1+,
 * lines "ksm_merging_pages N") counts them; unreadable or without that
 * line: no (every kernel pagescan runs on has it). */
static bool ksm_possible(struct ps_classify *c)
{
	char buf[1024], v[32] = "";

	if (c->kpageflags_fd < 0 || !ksm_pages_anywhere())
		return false;
	if (c->ksm_stat_fd == -2) { /* opened once, kept: re-read each harvest */
		c->ksm_stat_fd = ps_fd_spare(openat(c->procfd, "ksm_stat", O_RDONLY | O_CLOEXEC));
		if (c->ksm_stat_fd < 0 && (errno == EMFILE || errno == ENFILE))
			c->ksm_stat_fd = -2; /* no descriptor to keep now: asked again next time */
	}
	char *once = NULL;
	size_t len;
	const char *text = NULL;
	if (c->ksm_stat_fd != -2) {
		if (c->ksm_stat_fd >= 0 && ps_pread_text(c->ksm_stat_fd, buf, sizeof(buf)) >= 0)
			text = buf;
	} else if (ps_read_file_at(c->procfd, "ksm_stat", sizeof(buf), &once, &len) == 0) {
		text = once; /* not kept: meanwhile read once */
	}
	bool merged = text && ps_status_field(text, "ksm_merging_pages", v, sizeof(v)) == 0 && strtoull(v, NULL, 10) > 0;
	free(once);
	return merged;
}

/* Is the page at addr (present) a KSM page? Errors: no. */
static bool is_ksm(struct ps_classify *c, uint64_t addr)
{
	uint64_t pme, flags;
	if (pread(c->pagemap_fd, &pme, sizeof(pme), (off_t)((addr >> PS_PAGE_SHIFT) * 8)) != sizeof(pme) ||
	    !(pme & PM_PRESENT_BIT) || (pme & PM_PFN_MASK) == 0)
		return false;
	if (pread(c->kpageflags_fd, &flags, sizeof(flags), (off_t)((pme & PM_PFN_MASK) * 8)) != sizeof(flags))
		return false;
	return (flags >> KPF_KSM) & 1;
}

/* Append the written pages of one classified region to out, leaving out
 * KSM pages when KSM may be involved. */
static int emit_written(struct ps_classify *c, uint64_t s, uint64_t e, bool ksm, struct ps_regions *out,
                        struct ps_err *err)
{
	if (!ksm) {
		c->last.written += (e - s) >> PS_PAGE_SHIFT;
		if (ps_regions_push(out, s, e, PS_CAT_WRITTEN) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		return 0;
	}
	for (uint64_t a = s; a < e; a += PS_PAGE_SIZE) {
		if (is_ksm(c, a)) {
			c->last.ksm++;
			continue;
		}
		c->last.written++;
		if (ps_regions_push(out, a, a + PS_PAGE_SIZE, PS_CAT_WRITTEN) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* Add to lost the part of the empty run [a, b) in memory armed with
 * markers (file-backed, shared). */
static int lost_markers(const struct ps_classify *c, uint64_t a, uint64_t b, struct ps_rangeset *lost)
{
	for (size_t i = 0; i < c->marked.n && c->marked.r[i].start < b; i++) {
		uint64_t s = c->marked.r[i].start > a ? c->marked.r[i].start : a;
		uint64_t e = c->marked.r[i].end < b ? c->marked.r[i].end : b;
		if (s < e && ps_rangeset_add(lost, s, e) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Empty entries of file-backed or shared memory have lost their uffd-wp
 * marker: the kernel leaves one only in an entry it zaps while protected
 * (a page written, then zapped by MADV_DONTNEED), and none where a mapping
 * shrank and grew back in place (mremap). A read fault there would map a
 * page that reads written: they are protected again (the WRITTEN fast path
 * puts a marker in every entry it protects). A page populated since the
 * classification is protected too: reported (written since, or read in
 * those microseconds). */
static int remark(struct ps_classify *c, const struct ps_rangeset *lost, struct ps_regions *out,
                  struct ps_scan_stats *total, struct ps_err *err)
{
	struct ps_scan_stats st;
	int r = 0;
	for (size_t i = 0; i < lost->n && r == 0; i++) {
		struct ps_scan_req mark = {
			.start = lost->r[i].start, .end = lost->r[i].end,
			.mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .wp = true,
		};
		ps_regions_clear(&c->cand2);
		r = ps_scan(c->pagemap_fd, &mark, &c->cand2, &st, err);
		total->calls += st.calls;
		if (r < 0 || c->cand2.n == 0)
			continue;
		struct ps_scan_req now = {
			.start = lost->r[i].start, .end = lost->r[i].end,
			.anyof = PAGE_IS_PRESENT, .ret = PAGE_IS_PRESENT | PAGE_IS_PFNZERO,
		};
		ps_regions_clear(&c->cand2);
		r = ps_scan(c->pagemap_fd, &now, &c->cand2, &st, err);
		total->calls += st.calls;
		for (size_t k = 0; k < c->cand2.n && r == 0; k++) {
			const struct ps_region *g = &c->cand2.r[k];
			if (g->cats & PAGE_IS_PFNZERO)
				continue;
			c->last.written += (g->end - g->start) >> PS_PAGE_SHIFT;
			if (ps_regions_insert(out, g->start, g->end, PS_CAT_WRITTEN) < 0)
				r = ps_errf(err, ENOMEM, "out of memory");
		}
	}
	return r;
}

/* One batch of an armed range [as, ae): its first CLASSIFY_BATCH_RUNS
 * candidate runs, their classification (and re-protection), the written pages
 * to out, the empty entries to holes; *next: where the next batch begins
 * (ae when this one reached it). */
static int classify_batch(struct ps_classify *c, uint64_t as, uint64_t ae, bool clear, struct ksm_ask *ka,
                          struct ps_rangeset *holes, struct ps_regions *out, struct ps_scan_stats *total,
                          uint64_t *next, struct ps_err *err)
{
	struct ps_scan_stats st;
	/* 1. Candidates: the WRITTEN fast path, nothing re-protected.
	 * Per armed range: outside them every present page reads written.
	 * (One call over neighbouring ranges, the walk of the unarmed
	 * mappings between them cut off, cost as much: measured,
	 * bench/results/workload.md.) */
	uint64_t t0 = ps_now_ns();
	ps_regions_clear(&c->cand);
	struct ps_scan_req get = { .start = as, .end = ae, .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN };
	struct cand_batch cb = { .out = &c->cand };
	int r = ps_scan_each(c->pagemap_fd, &get, collect_cand, &cb, &st, err);
	total->calls += st.calls;
	uint64_t t1 = ps_now_ns();
	c->last.get_ns += t1 - t0;
	*next = ae;
	if (r == -ECANCELED && cb.full) {
		r = 0;
		/* The batch ends before its last candidate's end, on a page
		 * boundary of the largest pages there may be: a huge page cut
		 * by a write-protecting call is left unprotected (hugetlb:
		 * docs/kernel-interfaces.md#scanning-in-pieces). The
		 * candidates past it are the next batch's. One huge page
		 * holding more candidates than a batch: no limit. */
		uint64_t last = c->cand.r[c->cand.n - 1].end, be = last & ~(PS_SCAN_PIECE_MIN - 1);
		if (be > as)
			be = ps_scan_page_end(c->pagemap_fd, as, be, ae);
		if (be > as && be <= last && be < ae) {
			while (c->cand.n && c->cand.r[c->cand.n - 1].start >= be)
				c->cand.n--;
			if (c->cand.n && c->cand.r[c->cand.n - 1].end > be)
				c->cand.r[c->cand.n - 1].end = be;
			ae = *next = be;
		} else {
			ps_regions_clear(&c->cand);
			r = ps_scan(c->pagemap_fd, &get, &c->cand, &st, err);
			total->calls += st.calls;
		}
	}
	if (r < 0 || c->cand.n == 0)
		return r;
	c->last.candidates += ps_regions_pages(&c->cand);
	if (!ka->asked) {
		ka->ksm = ksm_possible(c);
		ka->asked = true;
	}
	/* 2. Classify the candidates (and re-protect the populated ones):
	 * generic path, only over candidate runs. Empty entries are
	 * neither matched nor protected: no marker, no page table. */
	ps_regions_clear(&c->got);
	for (size_t k = 0; k < c->cand.n && r == 0;) {
		uint64_t s = c->cand.r[k].start, e = c->cand.r[k].end;
		size_t j = k + 1;
		while (j < c->cand.n && c->cand.r[j].start - e <= GAP_PAGES * PS_PAGE_SIZE)
			e = c->cand.r[j++].end;
		struct ps_scan_req req = {
			.start = s, .end = e,
			.mask = PAGE_IS_WRITTEN | c->guard_bit, .inverted = c->guard_bit,
			.anyof = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			.ret = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO | PAGE_IS_HUGE,
			.wp = clear,
		};
		r = ps_scan(c->pagemap_fd, &req, &c->got, &st, err);
		total->calls += st.calls;
		k = j;
	}
	if (r < 0)
		return r;
	/* 3. Populated: written unless the zero page (or a KSM page). A
	 * huge page where the last harvest saw a hole was allocated whole
	 * by a fault (or khugepaged) into unarmed memory: the kernel does
	 * not say which 4 KiB were stored to. Report it whole (no write is
	 * lost) and arm this range's holes from now on, so that it never
	 * happens there again (docs/memory-events.md#thp). */
	bool thp_fill = false;
	for (size_t k = 0; k < c->got.n; k++) {
		const struct ps_region *g = &c->got.r[k];
		if (g->cats & PAGE_IS_PFNZERO) {
			c->last.zero += (g->end - g->start) >> PS_PAGE_SHIFT;
		} else if ((g->cats & PAGE_IS_HUGE) && covered(&c->holes, g->start, g->end)) {
			c->last.thp_filled += (g->end - g->start) >> PS_PAGE_SHIFT;
			thp_fill = true;
		}
	}
	if (thp_fill && clear) {
		/* The marker pass: every entry of the range protected; what
		 * it finds populated and not yet protected was written since
		 * the classification. Merged with the classified pages. */
		struct ps_rangeset wr = { 0 };
		for (size_t k = 0; k < c->got.n && r == 0; k++) {
			const struct ps_region *g = &c->got.r[k];
			if (!(g->cats & PAGE_IS_PFNZERO) && ps_rangeset_add(&wr, g->start, g->end) < 0)
				r = ps_errf(err, ENOMEM, "out of memory");
		}
		ps_regions_clear(&c->cand2);
		struct ps_scan_req req = {
			.start = as, .end = ae, .mask = PAGE_IS_WRITTEN, .wp = true,
			.ret = PAGE_IS_WRITTEN | PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO,
		};
		if (r == 0) {
			r = ps_scan(c->pagemap_fd, &req, &c->cand2, &st, err);
			total->calls += st.calls;
		}
		for (size_t k = 0; k < c->cand2.n && r == 0; k++) {
			const struct ps_region *g = &c->cand2.r[k];
			if ((g->cats & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED)) && !(g->cats & PAGE_IS_PFNZERO) &&
			    ps_rangeset_add(&wr, g->start, g->end) < 0)
				r = ps_errf(err, ENOMEM, "out of memory");
		}
		for (size_t k = 0; k < wr.n && r == 0; k++)
			r = emit_written(c, wr.r[k].start, wr.r[k].end, ka->ksm, out, err);
		ps_rangeset_free(&wr);
	} else {
		/* In address order already: straight out (adjacent runs merge
		 * in ps_regions_push). */
		for (size_t k = 0; k < c->got.n && r == 0; k++) {
			const struct ps_region *g = &c->got.r[k];
			if (!(g->cats & PAGE_IS_PFNZERO))
				r = emit_written(c, g->start, g->end, ka->ksm, out, err);
		}
	}
	/* 4. Candidates that were not populated are empty: unpopulated
	 * (unarmed holes) or zapped. New since the last clearing
	 * harvest: discarded. In marked memory: marked again. */
	struct ps_rangeset lost = { 0 };
	for (size_t k = 0, g = 0; k < c->cand.n && r == 0; k++) {
		uint64_t a = c->cand.r[k].start, e = c->cand.r[k].end;
		while (a < e) {
			while (g < c->got.n && c->got.r[g].end <= a)
				g++;
			uint64_t b = e;
			if (g < c->got.n && c->got.r[g].start <= a) {
				a = c->got.r[g].end < e ? c->got.r[g].end : e;
				continue;
			}
			if (g < c->got.n && c->got.r[g].start < b)
				b = c->got.r[g].start;
			c->last.discarded += ((b - a) >> PS_PAGE_SHIFT) - covered(&c->holes, a, b);
			if (ps_rangeset_add(holes, a, b) < 0 || (clear && lost_markers(c, a, b, &lost) < 0))
				r = ps_errf(err, ENOMEM, "out of memory");
			a = b;
		}
	}
	if (r == 0 && lost.n)
		r = remark(c, &lost, out, total, err);
	ps_rangeset_free(&lost);
	c->last.classify_ns += ps_now_ns() - t1;
	return r;
}

int ps_classify_harvest(struct ps_classify *c, const struct ps_rangeset *armed, bool clear,
                        struct ps_regions *out, struct ps_scan_stats *stats, struct ps_err *err)
{
	struct ps_scan_stats total = { 0 };
	struct ps_rangeset holes = { 0 };
	struct ksm_ask ka = { 0 }; /* ksm_stat read at most once a harvest */
	int r = 0;

	memset(&c->last, 0, sizeof(c->last));
	for (size_t i = 0; i < armed->n && r == 0; i++) {
		uint64_t ae = armed->r[i].end;
		for (uint64_t as = armed->r[i].start; as < ae && r == 0;)
			r = classify_batch(c, as, ae, clear, &ka, &holes, out, &total, &as, err);
	}
	if (r == 0 && clear) {
		/* What is empty now is the baseline of the next harvest. */
		ps_rangeset_free(&c->prev_holes);
		c->prev_holes = c->holes;
		c->holes = holes;
	} else {
		ps_rangeset_free(&holes);
	}
	total.pages = c->last.written;
	if (stats)
		*stats = total;
	return r;
}
