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
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pagescan/kernel/sys.h"
#include "pagescan/kernel/classify.h"
#include "pagescan/model/category.h"
#include "pagescan/kernel/compat.h"
#include "pagescan/kernel/sample.h"
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
	/* footprint (tracker.h): unregistered tails of growing mappings, the map-count limit */
	struct ps_tail *tails;          /* by start up to tails_sorted, then as added */
	size_t ntails, tails_cap, tails_sorted;
	struct ps_tail_read *reads;     /* this sync's tail page reads, done in one batch at its end */
	size_t nreads, reads_cap;
	unsigned char *rbuf;            /* their pages (PS_TAIL_BATCH_BYTES at most) */
	struct ps_grow_site *sites;     /* growth past the tails' cap, engaged less and less often;
	                                 * by edge up to sites_sorted, then as added */
	size_t nsites, sites_cap, sites_sorted;
	struct ps_rangeset pend, pend_data; /* this sync's unengaged growth, and its pages that hold data */
	uint64_t syncs;                 /* syncs so far */
	bool vanished;                  /* a tracked mapping vanished at this sync: no learning */
	struct ps_rangeset shown;       /* what the session is told is tracked: armed and the tail pages */
	struct ps_footprint fp;
	struct ps_notes notes;
	/* huge pages: PMD-mapped when armed and still so at the last check; split since */
	struct ps_rangeset huge, split;
	struct ps_rangeset huge_wrote;  /* of huge, the 2 MiB pages harvests found written since */
	struct ps_scan_pace huge_pace;  /* the checks' pieces */
	struct ps_huge_stats hs;
	struct ps_classify cls;         /* harvest classification (classify.h) */
	bool holes_unarmed;             /* a session harvests: arm populated pages only */
	bool huge_all;                  /* the next huge page check looks at all of huge */
	/* mremap (docs/memory-events.md#mremap): the armed private anonymous
	 * writable mappings at the last sync, and the present pages the last
	 * sync found moved into a new mapping (not counted as written). */
	struct ps_was { uint64_t start, end; unsigned prot; } *was;
	size_t nwas, was_cap;
	uint64_t remapped;
	bool remap_noted;
	struct ps_sampler *sampler;      /* --sample: a rotating subset protected (kernel/sample.h) */
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

/* One growing mapping's unregistered last page(s) [start, end_seen). */
struct ps_tail {
	uint64_t start, end_seen;       /* one page after each sync, unless held */
	bool down;                      /* a head: the first page, growth below it */
	bool had_data;                  /* its page held data at the last sync (reported then) */
	bool seen;                      /* found at this sync */
	unsigned char *snap;            /* its PS_PAGE_SIZE bytes when last reported */
};

/* A tail (head) page to read at the end of the sync, with all the others. */
struct ps_tail_read {
	size_t tail;                    /* index in tr->tails */
	uint64_t addr;
	bool first;                     /* its first data? (else: changed since its snapshot?) */
};

/* A mapping that grows at edge (up: its armed part ends there; down: begins
 * there) without a tail, past PS_TAILS_MAX: its unregistered growth is
 * engaged at sync due, then less and less often (docs/kernel-interfaces.md#merging). */
struct ps_grow_site {
	uint64_t edge;
	uint64_t ps, pe;                /* the growth left unengaged at the last sync that saw it */
	uint64_t due;                   /* engaged at this sync or later */
	unsigned pieces;                /* growth pieces engaged so far */
	bool down, seen, dead;
};

static void tails_forget(struct ps_tracker *tr)
{
	for (size_t i = 0; i < tr->ntails; i++)
		free(tr->tails[i].snap);
	tr->ntails = tr->tails_sorted = 0;
	tr->nreads = 0;
	tr->nsites = tr->sites_sorted = 0;
	ps_rangeset_clear(&tr->pend);
	ps_rangeset_clear(&tr->pend_data);
}

static uint64_t read_max_map_count(void)
{
	char *buf = NULL;
	size_t len;
	long long v = 0;
	if (ps_read_file_at(AT_FDCWD, "/proc/sys/vm/max_map_count", 64, &buf, &len) < 0)
		return 0;
	buf[strcspn(buf, "\n")] = 0;
	if (ps_parse_int(buf, 1, INT64_MAX, &v, NULL) < 0)
		v = 0;
	free(buf);
	return (uint64_t)v;
}

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
	tr->fp.max_map_count = read_max_map_count();
	ps_classify_init(&tr->cls, t->pagemap_fd, t->mmfd);
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
 * about a millisecond at a time, leaves it free between pieces, and leaves
 * the close nothing to do. Best effort: a piece the kernel refuses (a
 * mapping that changed, or one of another userfaultfd) is left to the close. */

static bool never_trackable(const struct ps_vma *v)
{
	/* The kernel refuses these (VM_IO/VM_PFNMAP/special); don't even try. */
	return v->kind == PS_VMA_VVAR || v->kind == PS_VMA_VSYSCALL || v->kind == PS_VMA_VDSO;
}

void ps_uffd_unregister_gently(int uffd, uint64_t start, uint64_t end)
{
	/* Paced by time like the scans (docs/kernel-interfaces.md#unregistering-in-pieces):
	 * from the smallest piece, each sized from the CPU time per byte of
	 * the one before to take PS_SCAN_PIECE_NS, at most twice as large; on
	 * PMD boundaries (a cut through a THP would split it). Memory that was
	 * never populated (ASan's terabytes of shadow) costs next to nothing,
	 * so the pieces grow there instead of making hundreds of thousands of
	 * calls. */
	struct ps_scan_pace pace = { .piece = PS_SCAN_PIECE_MIN, .growth = PS_UNREGISTER_GROWTH };
	for (uint64_t s = start; s < end;) {
		uint64_t e = ps_scan_piece_end(s, pace.piece, end);
		struct uffdio_range r = { .start = s, .len = e - s };
		uint64_t w0 = ps_now_ns(), t0 = ps_scan_pace_now(&pace);
		int rc = ioctl(uffd, UFFDIO_UNREGISTER, &r), en = errno;
		uint64_t ns = ps_scan_pace_now(&pace) - t0;
		ps_lock_breathe(w0, ps_now_ns());
		if (rc < 0 && en == ESRCH)
			return; /* the address space is gone: nothing to undo */
		ps_scan_pace_learn(&pace, e - s, ns);
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

static void recollapse(struct ps_tracker *tr);
static int huge_check(struct ps_tracker *tr, bool all, struct ps_err *err);

void ps_tracker_disarm(struct ps_tracker *tr)
{
	if (!tr || tr->uffd < 0)
		return;
	/* The last look at every huge page, whatever split it: the count and
	 * the collapse below are complete (an error: the target is gone). */
	struct ps_err e;
	(void)huge_check(tr, true, &e);
	for (size_t i = 0; i < tr->armed.n; i++)
		ps_uffd_unregister_gently(tr->uffd, tr->armed.r[i].start, tr->armed.r[i].end);
	ps_rangeset_clear(&tr->armed);
	tails_forget(tr);
	/* Only now: the kernel never collapses a range with uffd-wp entries. */
	recollapse(tr);
}

void ps_tracker_free(struct ps_tracker *tr)
{
	if (!tr)
		return;
	ps_scan_note_maps(tr->t->pagemap_fd, -1, NULL);
	ps_close(&tr->uffd);
	ps_rangeset_free(&tr->armed);
	ps_rangeset_free(&tr->refused);
	ps_rangeset_free(&tr->known);
	ps_rangeset_free(&tr->shown);
	ps_rangeset_free(&tr->huge);
	ps_rangeset_free(&tr->split);
	ps_rangeset_free(&tr->huge_wrote);
	tails_forget(tr);
	free(tr->tails);
	free(tr->reads);
	free(tr->rbuf);
	free(tr->sites);
	ps_rangeset_free(&tr->pend);
	ps_rangeset_free(&tr->pend_data);
	free(tr->was);
	ps_regions_free(&tr->scratch);
	ps_classify_free(&tr->cls);
	ps_sampler_free(tr->sampler);
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

/* Private anonymous memory: what arm() protects without markers, and what
 * mremap detection follows. */
static bool private_anon(const struct ps_vma *v)
{
	return !(v->prot & PS_VMA_SHARED) &&
	       (v->kind == PS_VMA_ANON || v->kind == PS_VMA_HEAP || v->kind == PS_VMA_STACK ||
	        (v->kind == PS_VMA_SPECIAL && strncmp(v->name, "[anon:", 6) == 0));
}

static int arm(struct ps_tracker *tr, const struct ps_vma *v, uint64_t start, uint64_t end, struct ps_err *err)
{
	/* REGISTER protects nothing. Private anonymous memory: protect the
	 * populated pages only, holes stay holes (no page tables, no markers);
	 * file-backed and shared memory: every entry gets a marker, as a read
	 * fault there would map a page that reads written
	 * (docs/kernel-interfaces.md#the-arming-pass). Only when the harvest
	 * classifies (a session: ps_tracker_source); engage leaves markers
	 * everywhere, as `dump -m written` reads the kernel's categories raw. */
	bool markers = !tr->holes_unarmed || ps_classify_needs_markers(private_anon(v));
	return ps_classify_arm(&tr->cls, start, end, markers, err);
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

static void huge_note_armed(struct ps_tracker *tr, uint64_t a, uint64_t b);

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
	huge_note_armed(tr, start, end);
	/* Arm first, then count what was written before: counting first
	 * would lose a page written between the count and the arming pass. */
	int r = arm(tr, v, start, end, err);
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

/* ---- footprint: tails of growing mappings, the map-count limit ------------ */

/* Registering a range sets VM_UFFD_WP and the userfaultfd context on its
 * VMA. brk (do_brk_flags) extends the top VMA in place only when its flags
 * and context equal a fresh brk's, so growth above a registered heap becomes
 * a VMA of its own; its first write gives it an anon_vma of its own too
 * (anon_vma_compatible() wants equal flags, VM_UFFD_WP differs), and VMAs
 * with two different anon_vmas never merge again (is_mergeable_anon_vma()),
 * registered or not: before pagescan kept a tail, each sync that engaged
 * growth left one more [heap] line for good. With the heap's last page left
 * unregistered (split from the rest, it shares the rest's anon_vma), brk
 * extends that tail instead, and registering all but its last page merges
 * into the registered part: the heap stays two VMAs while tracked and one
 * after (docs/kernel-interfaces.md#merging). The same holds for a mapping
 * that grows into a PROT_NONE reservation above it (mprotect, mmap
 * MAP_FIXED: malloc arenas, JIT heaps), and, once seen to grow, for one
 * grown by mmaps right after its end (a tail) or right below its start (a
 * "head": its first page kept out, growth below merges into it). */

/* The tails are sorted by start at the start of a sync (sites_begin()),
 * and those added since come in address order (the maps are): two sorted
 * runs, each searched by halves, so that hundreds of tails cost little
 * with tens of thousands of mappings. */
static struct ps_tail *tail_in(struct ps_tracker *tr, const struct ps_vma *v)
{
	size_t run[3] = { 0, tr->tails_sorted, tr->ntails };
	for (int j = 0; j < 2; j++) {
		size_t lo = run[j], hi = run[j + 1];
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (tr->tails[mid].start < v->start)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < run[j + 1] && tr->tails[lo].start < v->end)
			return &tr->tails[lo];
	}
	return NULL;
}

/* Does a page of [req->start, req->end) match req (max_pages 1)? Errors
 * count as yes. */
static bool any_match(struct ps_tracker *tr, struct ps_scan_req req)
{
	struct ps_regions out = { 0 };
	struct ps_err e;
	req.max_pages = 1;
	int r = ps_scan(tr->t->pagemap_fd, &req, &out, NULL, &e);
	bool any = r < 0 || out.n > 0;
	ps_regions_free(&out);
	return any;
}

/* Private data (present, not file-backed, not the zero page) in [a,b)? */
static bool range_has_data(struct ps_tracker *tr, uint64_t a, uint64_t b)
{
	return any_match(tr, (struct ps_scan_req){
		.start = a, .end = b,
		.mask = PAGE_IS_PRESENT | PAGE_IS_FILE | PAGE_IS_PFNZERO,
		.inverted = PAGE_IS_FILE | PAGE_IS_PFNZERO,
		.ret = PAGE_IS_PRESENT,
	});
}

/* Does the private anonymous page at a hold data: present (not the zero
 * page) or swapped out? Not: never written, or discarded since
 * (MADV_DONTNEED, MADV_FREE and reclaim, unmapped and mapped anew), which
 * a read would fault in as zeros. */
static bool page_holds_data(struct ps_tracker *tr, uint64_t a)
{
	return any_match(tr, (struct ps_scan_req){
		.start = a, .end = a + PS_PAGE_SIZE,
		.mask = PAGE_IS_PFNZERO, .inverted = PAGE_IS_PFNZERO,
		.anyof = PAGE_IS_PRESENT | PAGE_IS_SWAPPED, .ret = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	});
}

/* The VMA the program break ends: the last [heap] one. */
static bool brk_top(const struct ps_maps *maps, size_t i)
{
	const struct ps_vma *v = &maps->v[i];
	return v->kind == PS_VMA_HEAP && !(v->prot & PS_VMA_SHARED) &&
	       (i + 1 >= maps->n || maps->v[i + 1].kind != PS_VMA_HEAP);
}

static int tail_new(struct ps_tracker *tr, uint64_t start, uint64_t end)
{
	unsigned char *snap = calloc(1, PS_PAGE_SIZE);
	if (!snap || ps_grow((void **)&tr->tails, &tr->tails_cap, tr->ntails + 1, sizeof(*tr->tails)) < 0) {
		free(snap);
		return -ENOMEM;
	}
	tr->tails[tr->ntails++] = (struct ps_tail){ .start = start, .end_seen = end, .seen = true, .snap = snap };
	return 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Read tail t's page at addr at the end of this sync, with all the others
 * (tails_read_all): first, its first data (into its snapshot when not all
 * zeros); else, was it written since its snapshot (it held data then)? */
static int tail_queue(struct ps_tracker *tr, const struct ps_tail *t, uint64_t addr, bool first)
{
	if (ps_grow((void **)&tr->reads, &tr->reads_cap, tr->nreads + 1, sizeof(*tr->reads)) < 0)
		return -ENOMEM;
	tr->reads[tr->nreads++] = (struct ps_tail_read){ .tail = (size_t)(t - tr->tails), .addr = addr, .first = first };
	return 0;
}

/* The pages of one process_vm_readv: at most IOV_MAX, and this many bytes
 * (the buffer is kept from sync to sync). */
#define PS_TAIL_BATCH_BYTES (1u << 20)
#define PS_TAIL_BATCH_IOV 1024 /* IOV_MAX */

/* Read the pages of rd[0..n) into buf (n at most a batch): one
 * process_vm_readv for all of them. A page it cannot read (unmapped since)
 * ends the call there (transfers stop at an iovec); the rest are read by
 * the next. ok[k]: rd[k] read. */
static void tail_read_batch(pid_t pid, const struct ps_tail_read *rd, size_t n, unsigned char *buf, bool *ok)
{
	struct iovec rv[PS_TAIL_BATCH_IOV];
	size_t i = 0;
	while (i < n) {
		size_t m = n - i;
		for (size_t k = 0; k < m; k++)
			rv[k] = (struct iovec){ .iov_base = (void *)(uintptr_t)rd[i + k].addr, .iov_len = PS_PAGE_SIZE };
		struct iovec l = { .iov_base = buf + i * PS_PAGE_SIZE, .iov_len = m * PS_PAGE_SIZE };
		ssize_t got = process_vm_readv(pid, &l, 1, rv, (unsigned long)m, 0);
		size_t done = got > 0 ? (size_t)got / PS_PAGE_SIZE : 0;
		for (size_t k = 0; k < done; k++)
			ok[i + k] = true;
		if (done < m)
			ok[i + done++] = false;
		i += done;
	}
}

/* After this sync's engaging: the tail pages it asked for, read in batches
 * of one process_vm_readv each (one call per sync up to PS_TAIL_BATCH_BYTES
 * of pages: about 1 us a page, 5-10 us with a call each; docs/kernel-interfaces.md#merging).
 * An old tail page engaged now is read after its arming pass: a write
 * before it changed the bytes, a write after it is in the next harvest.
 * A page changed since its snapshot was written (a write of the same bytes
 * is not seen, the one blind spot of a tail); a page holding data for the
 * first time was written since it became the tail, unless it was mapped
 * at the last sync (see engage_writable). */
static int tails_read_all(struct ps_tracker *tr, bool count_prewritten, struct ps_sync_result *res)
{
	size_t per = PS_TAIL_BATCH_BYTES / PS_PAGE_SIZE;
	bool ok[PS_TAIL_BATCH_IOV];
	int r = 0;

	if (per > PS_TAIL_BATCH_IOV)
		per = PS_TAIL_BATCH_IOV;
	if (tr->nreads && !tr->rbuf && !(tr->rbuf = malloc(per * PS_PAGE_SIZE)))
		r = -ENOMEM;
	for (size_t b = 0; b < tr->nreads && r == 0; b += per) {
		size_t n = tr->nreads - b < per ? tr->nreads - b : per;
		tail_read_batch(tr->t->pid, tr->reads + b, n, tr->rbuf, ok);
		for (size_t k = 0; k < n && r == 0; k++) {
			const struct ps_tail_read *rd = &tr->reads[b + k];
			struct ps_tail *t = &tr->tails[rd->tail];
			const unsigned char *now = tr->rbuf + k * PS_PAGE_SIZE;
			if (!ok[k])
				continue;
			if (rd->first) {
				/* A page that reads all zeros may be one whose first
				 * store has not landed yet (mapped by the fault,
				 * stored after it): left for the next sync, or
				 * counted with the new pages when the mapping grows
				 * past it. */
				if (all_zero(now, PS_PAGE_SIZE))
					continue;
				memcpy(t->snap, now, PS_PAGE_SIZE);
				t->had_data = true;
				if (count_prewritten && !rs_covering(&tr->known, rd->addr, &(uint64_t){ 0 }))
					r = ps_regions_insert(&res->prewritten, rd->addr, rd->addr + PS_PAGE_SIZE, PS_CAT_WRITTEN);
			} else if (memcmp(now, t->snap, PS_PAGE_SIZE) != 0) {
				memcpy(t->snap, now, PS_PAGE_SIZE);
				r = ps_regions_insert(&res->prewritten, rd->addr, rd->addr + PS_PAGE_SIZE, PS_CAT_WRITTEN);
			}
		}
	}
	tr->nreads = 0;
	return r < 0 ? -ENOMEM : 0;
}

/* Tail (head) t is lost at this sync while its page stays mapped, not
 * registered (made read-only or PROT_NONE, cut off by mprotect): written
 * since the last sync? Compared once more, through /proc/PID/mem, which
 * reads a PROT_NONE page too (process_vm_readv does not). */
static int tail_last_look(struct ps_tracker *tr, const struct ps_tail *t, struct ps_sync_result *res)
{
	if (!page_holds_data(tr, t->start))
		return 0;
	unsigned char *now = malloc(PS_PAGE_SIZE);
	int fd = ps_fd_spare(openat(tr->t->mmfd, "mem", O_RDONLY | O_CLOEXEC)), r = 0;
	if (now && fd >= 0 && pread(fd, now, PS_PAGE_SIZE, (off_t)t->start) == (ssize_t)PS_PAGE_SIZE &&
	    (t->had_data ? memcmp(now, t->snap, PS_PAGE_SIZE) != 0 : !all_zero(now, PS_PAGE_SIZE)))
		r = ps_regions_insert(&res->prewritten, t->start, t->start + PS_PAGE_SIZE, PS_CAT_WRITTEN);
	if (fd >= 0)
		close(fd);
	free(now);
	return !now ? -ENOMEM : r;
}

/* At most this many tails and heads per process: each costs a scan or a
 * page read and compare per sync, and a page of memory for its snapshot
 * (docs/kernel-interfaces.md#merging). */
#ifndef PS_TAILS_MAX
#define PS_TAILS_MAX 256
#endif
/* Past that, growth without a tail (a site): at most this many growing
 * mappings followed so (each costs a scan per sync while it has growth
 * left unengaged), each engaged at most this many times. */
#ifndef PS_SITES_MAX
#define PS_SITES_MAX 1024
#endif
#ifndef PS_SITE_PIECES
#define PS_SITE_PIECES 16
#endif

/* Does tail (head) t still fit its VMA v and the selection [s,e)? */
static bool tail_fits(const struct ps_tail *t, const struct ps_vma *v, uint64_t s, uint64_t e)
{
	if (t->end_seen != t->start + PS_PAGE_SIZE || t->start < s || e != v->end)
		return false;
	return !t->down || (s == v->start && v->end == t->end_seen);
}

/* n: a private anonymous mapping with v's protection whose page at edge is armed. */
static bool armed_like(struct ps_tracker *tr, const struct ps_vma *n, const struct ps_vma *v, uint64_t edge)
{
	return private_anon(n) && n->prot == v->prot && rs_covering(&tr->armed, edge, &(uint64_t){ 0 });
}

/* Should the writable piece [s,e) of maps->v[i] keep its last page out of
 * registration (1, a tail) or its first page (-1, a head)? 0: neither.
 * Tails: the heap's top (brk), and a mapping right below a PROT_NONE
 * reservation of 16 pages or more (malloc arenas and JIT heaps grow into it
 * by mprotect or mmap MAP_FIXED; a thread stack's guard page is smaller).
 * Learned, from the second sync on: a new mapping right above (below) an
 * armed one like it is growth that could not merge; its next growth will
 * merge into its tail (head). Not when a tracked mapping vanished in the
 * same tick (it may be a move, for remap_detect() to tell). Only when that page holds no data or is new
 * (its data is then counted): a page that held data before could not be
 * told written. */
static int tail_wanted(struct ps_tracker *tr, const struct ps_maps *maps, size_t i, uint64_t s, uint64_t e,
                       bool count_prewritten)
{
	const struct ps_vma *v = &maps->v[i];
	const struct ps_vma *prev = i > 0 ? &maps->v[i - 1] : NULL;
	const struct ps_vma *next = i + 1 < maps->n ? &maps->v[i + 1] : NULL;
	bool learn = tr->known.n > 0 && !tr->vanished && s == v->start &&
	             !ps_rangeset_overlap(&tr->known, v->start, v->end);
	int dir = 0;

	/* Only a session follows a tail's bytes at every sync: engage's
	 * tracking ends with its one sync, and a tail page would stay unseen. */
	if (!tr->holes_unarmed || tr->ntails >= PS_TAILS_MAX || e != v->end || e - s < PS_PAGE_SIZE ||
	    !private_anon(v))
		return 0;
	bool below_reserve = next && next->start == v->end && private_anon(next) &&
	                     !(next->prot & (PS_VMA_READ | PS_VMA_WRITE | PS_VMA_EXEC)) &&
	                     next->end - next->start >= 16 * PS_PAGE_SIZE;
	bool above_armed = learn && prev && prev->end == v->start &&
	                   armed_like(tr, prev, v, prev->end - PS_PAGE_SIZE);
	if (brk_top(maps, i) || below_reserve || above_armed)
		dir = 1;
	else if (learn && next && next->start == v->end && armed_like(tr, next, v, next->start))
		dir = -1;
	if (!dir)
		return 0;
	uint64_t p = dir > 0 ? e - PS_PAGE_SIZE : s;
	if (rs_covering(&tr->armed, p, &(uint64_t){ 0 }))
		return 0;
	if (range_has_data(tr, p, p + PS_PAGE_SIZE) &&
	    !(count_prewritten && !rs_covering(&tr->known, p, &(uint64_t){ 0 })))
		return 0;
	return dir;
}

/* ---- growth past the tails' cap: engaged less and less often ----
 *
 * A growing mapping without a tail (PS_TAILS_MAX reached) adds one mapping
 * for good at each sync that engages its growth (docs/kernel-interfaces.md#merging,
 * rules 4-5). Unregistered, its growth steps merge with each other: a site
 * leaves the growth unengaged, a mapping of its own, and engages it at
 * the next sync, then 2, 4, 8... syncs after the one before, at most
 * PS_SITE_PIECES times: at most 1 + PS_SITE_PIECES mappings more per growing
 * mapping, while tracked and after. Meanwhile the growth is followed by
 * its pages: one that holds data for the first time is reported written at
 * the sync that finds it (the growth is listed as engaged); a page written
 * again before its piece is engaged is not reported again (the sites' blind
 * spot); from the engaging sync on it is tracked as any other. */

/* The site whose unengaged growth [s,e) of maps->v[i] is (the whole VMA
 * right past an armed part's edge), or NULL. A site whose edge holds
 * something else is dropped (dead). */
static struct ps_grow_site *site_at(struct ps_tracker *tr, const struct ps_maps *maps, size_t i, uint64_t s,
                                    uint64_t e)
{
	const struct ps_vma *v = &maps->v[i];
	size_t run[3] = { 0, tr->sites_sorted, tr->nsites }; /* as the tails (tail_in()) */
	for (int j = 0; j < 2; j++) {
		size_t lo = run[j], hi = run[j + 1];
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (tr->sites[mid].edge < v->start)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo; k < run[j + 1] && tr->sites[k].edge <= v->end; k++) {
			struct ps_grow_site *g = &tr->sites[k];
			if (g->dead || (g->down ? v->end != g->edge : v->start != g->edge))
				continue;
			const struct ps_vma *n = g->down ? (i + 1 < maps->n ? &maps->v[i + 1] : NULL) : (i > 0 ? &maps->v[i - 1] : NULL);
			if (s == v->start && e == v->end && private_anon(v) && n &&
			    (g->down ? n->start == v->end : n->end == v->start) &&
			    armed_like(tr, n, v, g->down ? n->start : n->end - PS_PAGE_SIZE) &&
			    !ps_rangeset_overlap(&tr->armed, v->start, v->end))
				return g;
			g->dead = true;
			return NULL;
		}
	}
	return NULL;
}

/* A new mapping [s,e) = maps->v[i] right above (1) or below (-1) an armed
 * one like it: growth that could not merge (as tail_wanted() learns). */
static int growth_dir(struct ps_tracker *tr, const struct ps_maps *maps, size_t i, uint64_t s, uint64_t e)
{
	const struct ps_vma *v = &maps->v[i];
	const struct ps_vma *prev = i > 0 ? &maps->v[i - 1] : NULL;
	const struct ps_vma *next = i + 1 < maps->n ? &maps->v[i + 1] : NULL;
	if (!tr->holes_unarmed || !private_anon(v) || s != v->start || e != v->end || !tr->known.n || tr->vanished ||
	    ps_rangeset_overlap(&tr->known, v->start, v->end))
		return 0;
	if (prev && prev->end == v->start && armed_like(tr, prev, v, prev->end - PS_PAGE_SIZE))
		return 1;
	if (next && next->start == v->end && armed_like(tr, next, v, next->start))
		return -1;
	return 0;
}

/* Site g's growth v now (nothing while held): engaged when due, else left
 * unengaged, listed as engaged where new, its pages that hold data for the
 * first time reported (new since the last sync, and not known then). */
static int site_follow(struct ps_tracker *tr, struct ps_grow_site *g, const struct ps_vma *v, bool count_prewritten,
                       struct ps_sync_result *res, struct ps_err *err)
{
	bool listed = g->pe > g->ps;
	int r;

	g->seen = true;
	if (tr->fp.held)
		return 0; /* nothing new near the map-count limit: its writes meanwhile are not reported */
	if (tr->syncs >= g->due) {
		r = engage_uncovered(tr, v, v->start, v->end, count_prewritten, res, err);
		if (r < 0)
			return r;
		/* listed as engaged when it appeared: not a second time */
		if (listed && ps_spans_cut(&res->engaged, g->ps, g->pe) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		g->pieces++;
		g->due = g->pieces >= PS_SITE_PIECES ? UINT64_MAX : tr->syncs + (1ull << g->pieces);
		g->edge = g->down ? v->start : v->end;
		g->ps = g->pe = 0;
		return 0;
	}
	/* the part not listed yet */
	uint64_t a = v->start, b = v->end;
	if (listed && g->down)
		b = g->ps < b ? g->ps : b;
	else if (listed)
		a = g->pe > a ? g->pe : a;
	if (a < b && ps_spans_add(&res->engaged, a, b, ps_vma_label(v), NULL) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	g->ps = v->start;
	g->pe = v->end;
	struct ps_regions got = { 0 };
	r = prewritten(tr, v->start, v->end, false, &got, err);
	for (size_t k = 0; k < got.n && r == 0; k++) {
		uint64_t x = got.r[k].start, y = got.r[k].end;
		if (ps_rangeset_add(&tr->pend_data, x, y) < 0) {
			r = ps_errf(err, ENOMEM, "out of memory");
			break;
		}
		while (count_prewritten && x < y && r == 0) {
			uint64_t next = UINT64_MAX, c = rs_covering(&tr->known, x, &next);
			if (c) {
				x = c;
				continue;
			}
			uint64_t z = next < y ? next : y;
			if (ps_regions_insert(&res->prewritten, x, z, PS_CAT_WRITTEN) < 0)
				r = ps_errf(err, ENOMEM, "out of memory");
			x = z;
		}
	}
	ps_regions_free(&got);
	if (r == 0 && ps_rangeset_add(&tr->pend, v->start, v->end) < 0)
		r = ps_errf(err, ENOMEM, "out of memory");
	return r;
}

/* A new site for the growth maps->v[i] in direction dir, followed now. */
static int site_new(struct ps_tracker *tr, const struct ps_maps *maps, size_t i, int dir, bool count_prewritten,
                    struct ps_sync_result *res, struct ps_err *err)
{
	const struct ps_vma *v = &maps->v[i];
	if (ps_grow((void **)&tr->sites, &tr->sites_cap, tr->nsites + 1, sizeof(*tr->sites)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	struct ps_grow_site *g = &tr->sites[tr->nsites++];
	*g = (struct ps_grow_site){ .edge = dir > 0 ? v->start : v->end, .down = dir < 0, .due = tr->syncs + 1 };
	return site_follow(tr, g, v, count_prewritten, res, err);
}

static int tail_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct ps_tail *)a)->start, y = ((const struct ps_tail *)b)->start;
	return x < y ? -1 : x > y;
}

static int site_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct ps_grow_site *)a)->edge, y = ((const struct ps_grow_site *)b)->edge;
	return x < y ? -1 : x > y;
}

/* At the start of a sync: the tails and sites sorted for their look-ups. */
static void sites_begin(struct ps_tracker *tr)
{
	if (tr->ntails > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(tr->tails, tr->ntails, sizeof(*tr->tails), tail_cmp);
	tr->tails_sorted = tr->ntails;
	if (tr->nsites > 1)
		qsort(tr->sites, tr->nsites, sizeof(*tr->sites), site_cmp);
	tr->sites_sorted = tr->nsites;
	tr->syncs++;
	tr->nreads = 0;
	ps_rangeset_clear(&tr->pend);
	ps_rangeset_clear(&tr->pend_data);
	for (size_t k = 0; k < tr->nsites; k++)
		tr->sites[k].seen = false;
}

/* At the end of a sync, with known made: unengaged growth is known only
 * where it held data (whatever the rest holds at the next sync, or when it
 * is engaged, was written since); sites whose armed edge is gone are
 * dropped, and so is growth left unengaged that was not found again. */
static int sites_end(struct ps_tracker *tr, const struct ps_maps *maps, struct ps_sync_result *res)
{
	for (size_t k = 0; k < tr->pend.n; k++)
		if (ps_rangeset_remove(&tr->known, tr->pend.r[k].start, tr->pend.r[k].end) < 0)
			return -ENOMEM;
	for (size_t k = 0; k < tr->pend_data.n; k++)
		if (ps_rangeset_add(&tr->known, tr->pend_data.r[k].start, tr->pend_data.r[k].end) < 0)
			return -ENOMEM;
	size_t n = 0;
	for (size_t k = 0; k < tr->nsites; k++) {
		struct ps_grow_site *g = &tr->sites[k];
		if (!g->seen && g->pe > g->ps && !ps_rangeset_contains(&tr->armed, g->ps, g->pe)) {
			long mk = ps_maps_find(maps, g->ps);
			if (ps_spans_add(&res->dropped, g->ps, g->pe, mk >= 0 ? ps_vma_label(&maps->v[mk]) : "(unmapped)",
			                 NULL) < 0)
				return -ENOMEM;
		}
		if (!g->seen)
			g->ps = g->pe = 0;
		uint64_t in = g->down ? g->edge : g->edge - PS_PAGE_SIZE;
		if (!g->dead && rs_covering(&tr->armed, in, &(uint64_t){ 0 }))
			tr->sites[n++] = *g;
	}
	tr->nsites = n;
	return 0;
}

/* Engage the writable piece [s,e) of maps->v[i], keeping or moving the
 * tail or head of a growing mapping; nothing new near the map-count limit
 * (held). The tail (head) page is followed by its contents: it is reported
 * written when it first holds data, and when its bytes change (also in the
 * sync that engages it when the mapping has grown past it). */
static int engage_writable(struct ps_tracker *tr, const struct ps_maps *maps, size_t i, uint64_t s, uint64_t e,
                           bool count_prewritten, struct ps_sync_result *res, struct ps_err *err)
{
	const struct ps_vma *v = &maps->v[i];
	struct ps_tail *t = tail_in(tr, v), *was = t;
	struct ps_grow_site *g;
	uint64_t lo = s, hi = e, old = 0;
	bool old_data = false, fresh = false; /* fresh: its page is new, engaged now */
	int r;

	if (t && !tail_fits(t, v, s, e)) {
		/* The selection cuts it, or it changed under us: no tail (it is
		 * engaged whole below, its bytes compared once more; forgotten
		 * at the end of this sync). */
		old = t->start;
		old_data = t->had_data;
		t = NULL;
	} else if (t) {
		t->seen = true;
		if (!t->down)
			hi = t->start;
		else
			lo = t->start + PS_PAGE_SIZE;
		if (!tr->fp.held && (t->down ? v->start < t->start : v->end > t->end_seen)) {
			/* grew: engage all but the new last (first) page */
			old = t->start;
			old_data = t->had_data;
			if (!t->down)
				hi = v->end - PS_PAGE_SIZE;
			else
				lo = v->start + PS_PAGE_SIZE;
			t->had_data = false;
			fresh = true;
		}
	} else if ((g = site_at(tr, maps, i, s, e))) {
		return site_follow(tr, g, v, count_prewritten, res, err);
	} else if (!tr->fp.held) {
		int dir = tail_wanted(tr, maps, i, s, e, count_prewritten);
		if (!dir && tr->ntails >= PS_TAILS_MAX && tr->nsites < PS_SITES_MAX &&
		    (dir = growth_dir(tr, maps, i, s, e)))
			return site_new(tr, maps, i, dir, count_prewritten, res, err);
		if (dir) {
			uint64_t p = dir > 0 ? e - PS_PAGE_SIZE : s;
			if (tail_new(tr, p, p + PS_PAGE_SIZE) < 0)
				return ps_errf(err, ENOMEM, "out of memory");
			t = &tr->tails[tr->ntails - 1];
			t->down = dir < 0;
			fresh = true;
			if (dir > 0)
				hi = p;
			else
				lo = p + PS_PAGE_SIZE;
		}
	}
	if (tr->fp.held)
		return 0; /* nothing new; a tail or head grows on unregistered */
	if (hi > lo) {
		r = engage_uncovered(tr, v, lo, hi, count_prewritten, res, err);
		if (r < 0)
			return r;
		/* The old tail page, engaged now: written since its snapshot?
		 * Read right after arming (with the reads queued so far): a
		 * write before the arming pass changed the bytes, a write after
		 * it is in the next harvest; the later the read, the more such
		 * writes would be counted twice. */
		if (old_data && count_prewritten && old >= lo && old < hi && page_holds_data(tr, old) &&
		    (tail_queue(tr, was, old, false) < 0 || tails_read_all(tr, count_prewritten, res) < 0))
			return ps_errf(err, ENOMEM, "out of memory");
		/* It was listed as engaged when it became the tail: tracked all
		 * along, not engaged a second time. */
		if (was && old >= lo && old < hi && ps_spans_cut(&res->engaged, old, old + PS_PAGE_SIZE) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
	}
	if (!t)
		return 0;
	t->start = t->down ? lo - PS_PAGE_SIZE : hi;
	t->end_seen = t->start + PS_PAGE_SIZE;
	/* tracked from now on, by its bytes: listed as engaged, in one span
	 * with the rest of the mapping engaged now */
	struct ps_span *last = res->engaged.n ? &res->engaged.v[res->engaged.n - 1] : NULL;
	if (fresh && last && !last->reason && last->end == t->start && last->start >= v->start)
		last->end = t->end_seen;
	else if (fresh && last && !last->reason && last->start == t->end_seen && last->end <= v->end)
		last->start = t->start;
	else if (fresh && ps_spans_add(&res->engaged, t->start, t->end_seen, ps_vma_label(v), NULL) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	if (t->had_data && !page_holds_data(tr, t->start)) {
		/* discarded: not a write; what it holds next is (first data) */
		t->had_data = false;
	} else if (t->had_data) {
		if (count_prewritten && tail_queue(tr, t, t->start, false) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
	} else if (range_has_data(tr, t->start, t->end_seen) && tail_queue(tr, t, t->start, true) < 0) {
		/* first data: written since it became the tail (tails_read_all()).
		 * A page that was mapped at the last sync (the reservation the
		 * mapping grew into held data then) is not new: made writable and
		 * written after that sync read the maps, it was counted by that
		 * sync's read-only pass, or its data is older; its bytes are
		 * compared from now on. */
		return ps_errf(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* Map count and the limit; a note when the sync starts or stops being held. */
static void footprint_update(struct ps_tracker *tr, const struct ps_maps *maps)
{
	struct ps_footprint *fp = &tr->fp;
	uint64_t n = 0;
	sites_begin(tr); /* once per sync, before engaging */
	for (size_t i = 0; i < maps->n; i++)
		n += maps->v[i].kind != PS_VMA_VSYSCALL; /* no VMA */
	if (!fp->map_count_first)
		fp->map_count_first = n;
	if (n > fp->map_count_max)
		fp->map_count_max = n;
	fp->map_count = n;
	if (!fp->max_map_count)
		return;
	uint64_t reserve = fp->max_map_count / 16 > 32 ? fp->max_map_count / 16 : 32;
	fp->hold_at = fp->max_map_count > reserve ? fp->max_map_count - reserve : 0;
	bool held = n >= fp->hold_at;
	if (held && !fp->held)
		ps_note(&tr->notes,
		        "process %d has %llu mappings, close to vm.max_map_count (%llu): pagescan engages no new mappings or growth while it has %llu or more (their writes are not reported), so that its own mmap calls keep succeeding",
		        tr->t->pid, (unsigned long long)n, (unsigned long long)fp->max_map_count,
		        (unsigned long long)fp->hold_at);
	else if (!held && fp->held)
		ps_note(&tr->notes, "process %d is down to %llu mappings: pagescan engages new mappings again",
		        tr->t->pid, (unsigned long long)n);
	fp->held = held;
	fp->held_syncs += held;
}

void ps_tracker_footprint(const struct ps_tracker *tr, struct ps_footprint *ret)
{
	*ret = tr->fp;
	ret->tails = tr->ntails;
}

void ps_tracker_take_notes(struct ps_tracker *tr, struct ps_notes *out)
{
	size_t shown = tr->notes.n < PS_NOTES_MAX ? tr->notes.n : PS_NOTES_MAX;
	for (size_t i = 0; i < shown; i++)
		ps_note(out, "%s", tr->notes.msg[i]);
	if (tr->notes.n > shown)
		out->n += tr->notes.n - shown;
	tr->notes.n = 0;
}

/* ---- huge pages ------------------------------------------------------------ */

#define PS_HUGE_SIZE PS_PMD_SIZE

/* Append to out the PMD-mapped huge pages in [a,b), in pieces sized by
 * pace (NULL: afresh). */
static int huge_in(struct ps_tracker *tr, uint64_t a, uint64_t b, struct ps_scan_pace *pace, struct ps_regions *out,
                   struct ps_err *err)
{
	struct ps_scan_req req = { .start = a, .end = b, .mask = PAGE_IS_HUGE, .ret = PAGE_IS_HUGE, .pace = pace };
	return ps_scan(tr->t->pagemap_fd, &req, out, NULL, err);
}

/* Before arming [a,b): remember its PMD-mapped huge pages (best effort). */
static void huge_note_armed(struct ps_tracker *tr, uint64_t a, uint64_t b)
{
	struct ps_regions h = { 0 };
	struct ps_err e;
	if (huge_in(tr, a, b, NULL, &h, &e) == 0) {
		for (size_t i = 0; i < h.n; i++) {
			uint64_t hs = (h.r[i].start + PS_HUGE_SIZE - 1) & ~(PS_HUGE_SIZE - 1);
			uint64_t he = h.r[i].end & ~(PS_HUGE_SIZE - 1);
			if (he <= hs || ps_rangeset_contains(&tr->huge, hs, he))
				continue;
			tr->hs.huge_armed += (he - hs) / PS_HUGE_SIZE;
			tr->huge_all = true; /* looked at whole once after arming */
			if (ps_rangeset_add(&tr->huge, hs, he) < 0)
				break;
		}
	}
	ps_regions_free(&h);
}

/* Huge pages looked at in one call when they are this close: walking
 * the 4 KiB entries between them (split pages, 512 each) costs no more
 * than a call of its own. */
#define HUGE_BRIDGE (4ull << 20)

/* The harvest reported out->r[from..] written: the huge pages noted at
 * arming that they touch may be split now (a write to one splits it), and
 * the next check looks at them. */
static void huge_note_writes(struct ps_tracker *tr, const struct ps_regions *out, size_t from)
{
	for (size_t i = from; i < out->n && tr->huge.n && !tr->huge_all; i++) {
		uint64_t a = out->r[i].start & ~(PS_HUGE_SIZE - 1);
		uint64_t b = (out->r[i].end + PS_HUGE_SIZE - 1) & ~(PS_HUGE_SIZE - 1);
		if (ps_rangeset_overlap(&tr->huge, a, b) && ps_rangeset_add(&tr->huge_wrote, a, b) < 0)
			tr->huge_all = true; /* out of memory: all of them next time */
	}
}

/* Of the huge pages noted at arming, which are split now: moved from huge
 * to split. Ranges no longer armed are forgotten. Looked at: all of them
 * (all), or those the harvests found written since the last check. A
 * write splits a protected huge page and the harvest reports it, so
 * between whole looks (after arming, every sync while sampling, at
 * disarm) a sync of an idle or little-written target costs no call here. */
static int huge_check(struct ps_tracker *tr, bool all, struct ps_err *err)
{
	struct ps_rangeset gone = { 0 }, look = { 0 };
	struct ps_regions still = { 0 };
	int r = 0;

	for (size_t i = 0; i < tr->huge.n; i++)
		if (!ps_rangeset_contains(&tr->armed, tr->huge.r[i].start, tr->huge.r[i].end) &&
		    ps_rangeset_add(&gone, tr->huge.r[i].start, tr->huge.r[i].end) < 0)
			goto nomem;
	for (size_t i = 0; i < gone.n; i++)
		ps_rangeset_remove(&tr->huge, gone.r[i].start, gone.r[i].end);
	/* look: the huge pages to look at, all of huge or its written part */
	bool whole = all || tr->huge_all;
	const struct ps_rangeset *from = whole ? &tr->huge : &tr->huge_wrote;
	for (size_t i = 0, k = 0; i < from->n; i++) {
		while (k < tr->huge.n && tr->huge.r[k].end <= from->r[i].start)
			k++;
		for (size_t q = k; q < tr->huge.n && tr->huge.r[q].start < from->r[i].end; q++) {
			uint64_t a = tr->huge.r[q].start > from->r[i].start ? tr->huge.r[q].start : from->r[i].start;
			uint64_t b = tr->huge.r[q].end < from->r[i].end ? tr->huge.r[q].end : from->r[i].end;
			if (ps_rangeset_add(&look, a, b) < 0)
				goto nomem;
		}
	}
	/* still: those PMD-mapped now, looked for in one call over those close together */
	for (size_t i = 0; i < look.n;) {
		size_t j = i + 1;
		while (j < look.n && look.r[j].start - look.r[j - 1].end <= HUGE_BRIDGE)
			j++;
		r = huge_in(tr, look.r[i].start, look.r[j - 1].end, &tr->huge_pace, &still, err);
		if (r < 0)
			goto out;
		i = j;
	}
	/* the rest of look was split; each leaves huge before it is counted
	 * (a check that fails half way never counts one twice) */
	for (size_t g = 0; g < still.n; g++)
		if (ps_rangeset_remove(&look, still.r[g].start, still.r[g].end) < 0)
			goto nomem;
	for (size_t i = 0; i < look.n; i++) {
		if (ps_rangeset_add(&tr->split, look.r[i].start, look.r[i].end) < 0 ||
		    ps_rangeset_remove(&tr->huge, look.r[i].start, look.r[i].end) < 0)
			goto nomem;
		tr->hs.split += (look.r[i].end - look.r[i].start) / PS_HUGE_SIZE;
	}
	ps_rangeset_clear(&tr->huge_wrote);
	if (whole)
		tr->huge_all = false;
	goto out;
nomem:
	r = ps_errf(err, ENOMEM, "out of memory");
out:
	ps_rangeset_free(&gone);
	ps_rangeset_free(&look);
	ps_regions_free(&still);
	return r;
}

void ps_tracker_set_recollapse(struct ps_tracker *tr, bool on)
{
	tr->hs.recollapse_off = !on;
}

const struct ps_huge_stats *ps_tracker_huge(const struct ps_tracker *tr)
{
	return &tr->hs;
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/* After disarm: MADV_COLLAPSE, from here, over each 2 MiB page that was
 * PMD-mapped when armed, was split while tracked and is still mapped and
 * split. The kernel collapses synchronously in the caller's context:
 * pagescan pays the CPU time (copying up to 2 MiB per page), the target
 * only waits on the page-table lock of the range being collapsed. */
static void recollapse(struct ps_tracker *tr)
{
	struct ps_regions h = { 0 };
	struct ps_err e;

	if (tr->hs.recollapse_off || tr->split.n == 0 || tr->t->pidfd < 0) {
		ps_rangeset_clear(&tr->split);
		return;
	}
	uint64_t w0 = ps_now_ns(), c0 = ps_thread_cpu_ns();
	for (size_t i = 0; i < tr->split.n; i++) {
		for (uint64_t a = tr->split.r[i].start; a < tr->split.r[i].end; a += PS_HUGE_SIZE) {
			ps_regions_clear(&h);
			if (huge_in(tr, a, a + PS_HUGE_SIZE, NULL, &h, &e) < 0) {
				if (e.code == ESRCH || e.code == ENOMEM)
					goto done; /* the target is gone */
				continue; /* unmapped since */
			}
			if (h.n)
				continue; /* huge again already (khugepaged) */
			struct iovec iov = { .iov_base = (void *)(uintptr_t)a, .iov_len = PS_HUGE_SIZE };
			tr->hs.recollapse_asked++;
			long r = syscall(SYS_process_madvise, tr->t->pidfd, &iov, 1, MADV_COLLAPSE, 0);
			if (r < 0) {
				int en = errno;
				if (!tr->hs.recollapse_errno)
					tr->hs.recollapse_errno = en;
				if (en == ESRCH || en == EPERM || en == ENOSYS)
					goto done; /* gone, not allowed, or no process_madvise: no use going on */
				continue;
			}
			ps_regions_clear(&h);
			if (huge_in(tr, a, a + PS_HUGE_SIZE, NULL, &h, &e) == 0 && h.n)
				tr->hs.recollapsed++;
		}
	}
done:
	tr->hs.recollapse_wall_ns = ps_now_ns() - w0;
	tr->hs.recollapse_cpu_ns = ps_thread_cpu_ns() - c0;
	ps_regions_free(&h);
	ps_rangeset_clear(&tr->split);
}

/* ---- mremap ---------------------------------------------------------------
 *
 * Without UFFD_FEATURE_EVENT_REMAP (which would make the program's mremap
 * wait until pagescan read an event) the kernel's move clears the
 * write-protect bit of every moved entry and drops the registration
 * (mm/mremap.c move_ptes(), mremap_userfaultfd_prep()); the new mapping is
 * engaged at the next sync like any new one, and its present pages would
 * read as already written. A move is recognised when, in one sync, a
 * tracked private anonymous mapping vanished (wholly or in part) and a new
 * private anonymous mapping with the same protection, at least as long,
 * holds a present (or swapped) page at every offset where the vanished one
 * was populated at its last harvest. Those pages are "remapped": present
 * when moved, whether written in this interval unknown; not counted as
 * written. The other pages of the new mapping were holes before the move,
 * or lie past the old length: present now, they were written (before or
 * after the move) and stay counted. The kernel shows no trace of a move
 * (an anonymous mapping's vm_pgoff, kept across the move, is printed as 0
 * in /proc/PID/maps and PROCMAP_QUERY), hence the populated-offsets test:
 * a fresh mmap in the same tick as an munmap is taken for a move only if
 * the program wrote every page the unmapped one held. */

/* v = v minus the byte ranges of cut; *removed += the pages taken out. */
static int regions_subtract(struct ps_regions *v, const struct ps_rangeset *cut, uint64_t *removed)
{
	struct ps_regions out = { 0 };
	size_t k = 0;
	for (size_t i = 0; i < v->n; i++) {
		uint64_t a = v->r[i].start, e = v->r[i].end;
		while (k < cut->n && cut->r[k].end <= a)
			k++;
		for (size_t q = k; a < e; q++) {
			uint64_t b = q < cut->n && cut->r[q].start < e ? cut->r[q].start : e;
			if (b > a && ps_regions_push(&out, a, b, v->r[i].cats) < 0) {
				ps_regions_free(&out);
				return -ENOMEM;
			}
			if (q >= cut->n || cut->r[q].start >= e)
				break;
			uint64_t ce = cut->r[q].end < e ? cut->r[q].end : e;
			uint64_t cs = cut->r[q].start > a ? cut->r[q].start : a;
			*removed += (ce - cs) >> PS_PAGE_SHIFT;
			a = ce;
		}
	}
	ps_regions_free(v);
	*v = out;
	return 0;
}

/* Of the vanished [a,b), moved to start at to: the pages populated at the
 * last harvest that saw it (all but that harvest's holes) into pop, moved
 * too, given have, the present and swapped pages at the new place. The
 * harvest in this tick ran after the move and found nothing there: the
 * holes are those of the harvest before (and this one's, for a move
 * between the harvest and the sync). Holes are the empty entries the
 * WRITTEN fast path returns, in page tables only: a 2 MiB stretch that had
 * no page table has none, and is taken as unpopulated when nothing is
 * present at its new place either. */
static int populated_then(struct ps_tracker *tr, uint64_t a, uint64_t b, uint64_t to,
                          const struct ps_rangeset *have, struct ps_rangeset *pop)
{
	const struct ps_rangeset *h[2] = { &tr->cls.prev_holes, &tr->cls.holes };
	int r = ps_rangeset_add(pop, to, to + (b - a));
	for (int j = 0; j < 2 && r == 0; j++)
		for (size_t i = 0; i < h[j]->n && r == 0; i++) {
			uint64_t s = h[j]->r[i].start > a ? h[j]->r[i].start : a;
			uint64_t e = h[j]->r[i].end < b ? h[j]->r[i].end : b;
			if (s < e)
				r = ps_rangeset_remove(pop, s - a + to, e - a + to);
		}
	for (uint64_t c = a & ~(PS_HUGE_SIZE - 1); c < b && r == 0; c += PS_HUGE_SIZE) {
		uint64_t s = c > a ? c : a, e = c + PS_HUGE_SIZE < b ? c + PS_HUGE_SIZE : b;
		if (!ps_rangeset_overlap(h[0], s, e) && !ps_rangeset_overlap(h[1], s, e) &&
		    !ps_rangeset_overlap(have, s - a + to, e - a + to))
			r = ps_rangeset_remove(pop, s - a + to, e - a + to);
	}
	return r;
}

/* have = the present and swapped pages of [s,e). */
static int present_in(struct ps_tracker *tr, uint64_t s, uint64_t e, struct ps_rangeset *have, struct ps_err *err)
{
	struct ps_regions got = { 0 };
	struct ps_scan_req req = {
		.start = s, .end = e, .anyof = PAGE_IS_PRESENT | PAGE_IS_SWAPPED, .ret = PAGE_IS_PRESENT,
	};
	int r = ps_scan(tr->t->pagemap_fd, &req, &got, NULL, err);
	for (size_t i = 0; i < got.n && r == 0; i++)
		if (ps_rangeset_add(have, got.r[i].start, got.r[i].end) < 0)
			r = ps_errf(err, ENOMEM, "out of memory");
	ps_regions_free(&got);
	return r;
}

/* The vanished piece [a,b) of a tracked private anonymous mapping with
 * protection prot: find the one new mapping it moved to, and take its
 * moved pages out of res->prewritten. */
static int remap_piece(struct ps_tracker *tr, const struct ps_maps *maps, unsigned prot, uint64_t a, uint64_t b,
                       struct ps_sync_result *res, struct ps_err *err)
{
	struct ps_rangeset pop = { 0 }, have = { 0 }, found = { 0 };
	size_t matches = 0;
	int r = 0;

	for (size_t i = 0; i < maps->n && r == 0 && matches < 2; i++) {
		const struct ps_vma *v = &maps->v[i];
		if (!private_anon(v) || v->prot != prot || v->end - v->start < b - a ||
		    ps_rangeset_overlap(&tr->known, v->start, v->end) ||
		    !ps_rangeset_contains(&tr->armed, v->start, v->start + (b - a)))
			continue; /* not a new tracked mapping of its kind, or too short */
		ps_rangeset_clear(&pop);
		ps_rangeset_clear(&have);
		r = present_in(tr, v->start, v->start + (b - a), &have, err);
		if (r == 0 && populated_then(tr, a, b, v->start, &have, &pop) < 0)
			r = ps_errf(err, ENOMEM, "out of memory");
		if (r < 0)
			break;
		if (pop.n == 0)
			break; /* nothing was populated: whatever is present now was written */
		bool all = true;
		for (size_t k = 0; k < pop.n && all; k++)
			all = ps_rangeset_contains(&have, pop.r[k].start, pop.r[k].end);
		if (all) {
			matches++;
			ps_rangeset_free(&found);
			found = pop;
			pop = (struct ps_rangeset){ 0 };
		}
	}
	/* Exactly one candidate: a move. None or several: counted as written
	 * (several cannot be told apart). */
	if (r == 0 && matches == 1 && regions_subtract(&res->prewritten, &found, &tr->remapped) < 0)
		r = ps_errf(err, ENOMEM, "out of memory");
	ps_rangeset_free(&pop);
	ps_rangeset_free(&have);
	ps_rangeset_free(&found);
	return r;
}

/* The next part of [*a, e) that no mapping of maps covers: true with it in
 * [*a, *b), false when none is left. */
static bool next_unmapped(const struct ps_maps *maps, uint64_t *a, uint64_t e, uint64_t *b)
{
	while (*a < e) {
		long k = ps_maps_find(maps, *a);
		if (k < 0) {
			size_t j = ps_maps_lower_bound(maps, *a);
			*b = j < maps->n && maps->v[j].start < e ? maps->v[j].start : e;
			return true;
		}
		*a = maps->v[k].end < e ? maps->v[k].end : e;
	}
	return false;
}

/* After engaging: the vanished parts of the mappings of the last sync. */
static int remap_detect(struct ps_tracker *tr, const struct ps_maps *maps, struct ps_sync_result *res,
                        struct ps_err *err)
{
	for (size_t w = 0; w < tr->nwas && res->prewritten.n; w++) {
		uint64_t e = tr->was[w].end;
		for (uint64_t a = tr->was[w].start, b; next_unmapped(maps, &a, e, &b); a = b) {
			int r = remap_piece(tr, maps, tr->was[w].prot, a, b, res, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The data pages (present, not the zero page) of v, an anonymous mapping
 * nobody can write, into nk (known from now on), and, with count, those of
 * them not known at the last sync and selected (want) into res->prewritten:
 * written before the mapping lost its write permission. One scan for both,
 * so that a page made writable and written while this sync runs (a malloc
 * arena grown by mprotect) is either counted and known now, or neither and
 * counted when it is engaged. A scan that fails for another reason than the
 * target's end leaves the whole mapping known (nothing is invented). */
static int unwritable_data(struct ps_tracker *tr, const struct ps_vma *v, const struct ps_rangeset *want, bool count,
                           struct ps_rangeset *nk, struct ps_sync_result *res, struct ps_err *err)
{
	struct ps_regions got = { 0 };
	struct ps_err e;
	int r = prewritten(tr, v->start, v->end, false, &got, &e);
	if (r < 0) {
		ps_regions_free(&got);
		if (e.code == ESRCH || e.code == ENOMEM)
			return ps_errf(err, ESRCH, "process %d exited or called exec", tr->t->pid);
		return ps_rangeset_add(nk, v->start, v->end) < 0 ? ps_errf(err, ENOMEM, "out of memory") : 0;
	}
	for (size_t i = 0; i < got.n && r == 0; i++) {
		uint64_t a = got.r[i].start, b = got.r[i].end;
		if (ps_rangeset_add(nk, a, b) < 0) {
			r = ps_errf(err, ENOMEM, "out of memory");
			break;
		}
		for (uint64_t x = a; count && x < b && r == 0;) {
			uint64_t next = UINT64_MAX, c = rs_covering(&tr->known, x, &next);
			if (c) {
				x = c;
				continue;
			}
			uint64_t y = next < b ? next : b;
			for (size_t k = rs_lower(want, x); k < want->n && want->r[k].start < y && r == 0; k++) {
				uint64_t ws = want->r[k].start > x ? want->r[k].start : x;
				uint64_t we = want->r[k].end < y ? want->r[k].end : y;
				if (ws < we && ps_regions_insert(&res->prewritten, ws, we, PS_CAT_WRITTEN) < 0)
					r = ps_errf(err, ENOMEM, "out of memory");
			}
			x = y;
		}
	}
	ps_regions_free(&got);
	return r;
}

/* Remember the tracked private anonymous writable mappings of this sync. */
static int remap_remember(struct ps_tracker *tr, const struct ps_maps *maps)
{
	tr->nwas = 0;
	for (size_t i = 0; i < maps->n; i++) {
		const struct ps_vma *v = &maps->v[i];
		if (!private_anon(v) || !(v->prot & PS_VMA_WRITE) || !ps_rangeset_overlap(&tr->armed, v->start, v->end))
			continue;
		if (ps_grow((void **)&tr->was, &tr->was_cap, tr->nwas + 1, sizeof(*tr->was)) < 0)
			return -ENOMEM;
		tr->was[tr->nwas++] = (struct ps_was){ .start = v->start, .end = v->end, .prot = v->prot };
	}
	return 0;
}

/* Armed ranges whose registration is gone although they are mapped: a new
 * mapping in the place of a tracked one (mmap MAP_FIXED over it, munmap and
 * an mmap landing there between two syncs, mremap onto it). The kernel
 * gives a new VMA no userfaultfd context: its pages would never be
 * protected again, and its writes never seen. Found by PAGE_IS_WPALLOWED,
 * a per-VMA category (the walk skips registered VMAs whole: one call per
 * armed range). Forgotten here, also as known: engaged again below as new
 * mappings, their pages counted as written since they appeared. */
static int lost_registrations(struct ps_tracker *tr, const struct ps_maps *maps, struct ps_sync_result *res,
                              struct ps_err *err)
{
	struct ps_regions lost = { 0 };
	int r = 0;
	for (size_t i = 0; i < tr->armed.n && r == 0; i++) {
		struct ps_scan_req req = {
			.start = tr->armed.r[i].start, .end = tr->armed.r[i].end,
			.mask = PAGE_IS_WPALLOWED, .inverted = PAGE_IS_WPALLOWED, .ret = PAGE_IS_WPALLOWED,
		};
		r = ps_scan(tr->t->pagemap_fd, &req, &lost, NULL, err);
	}
	for (size_t i = 0; i < lost.n && r == 0; i++) {
		uint64_t a = lost.r[i].start, b = lost.r[i].end;
		long k = ps_maps_find(maps, a);
		if (ps_rangeset_remove(&tr->armed, a, b) < 0 || ps_rangeset_remove(&tr->known, a, b) < 0 ||
		    ps_spans_add(&res->dropped, a, b, k >= 0 ? ps_vma_label(&maps->v[k]) : "(unmapped)",
		                 "replaced by a new mapping") < 0)
			r = ps_errf(err, ENOMEM, "out of memory");
	}
	ps_regions_free(&lost);
	return r;
}

int ps_tracker_sync(struct ps_tracker *tr, const struct ps_maps *maps, bool count_prewritten,
                    struct ps_sync_result *res, struct ps_err *err)
{
	struct ps_rangeset wantall = { 0 };
	int r = 0;

	/* The scans end their pieces on the pages of hugetlb mappings larger
	 * than a PMD (1 GiB): the kernel skips a hugetlb page a piece covers
	 * only in part, so its writes would be missed. On an error the sizes
	 * noted before are kept. */
	(void)ps_scan_note_maps(tr->t->pagemap_fd, tr->t->mmfd, maps);

	/* Everything the selection covers, clipped to VMAs. */
	r = ps_rangespec_resolve(tr->specs, tr->nspecs, maps, &wantall);
	if (r < 0)
		return ps_errf(err, -r, "out of memory");
	tr->remapped = 0;

	/* Forget armed ranges that are no longer mapped (munmap, mremap away). */
	for (size_t i = 0; i < tr->armed.n;) {
		uint64_t e = tr->armed.r[i].end;
		bool changed = false;
		for (uint64_t a = tr->armed.r[i].start, b; next_unmapped(maps, &a, e, &b); a = b) {
			if (ps_rangeset_remove(&tr->armed, a, b) < 0 || ps_spans_add(&res->dropped, a, b, "(unmapped)", NULL) < 0) {
				r = ps_errf(err, ENOMEM, "out of memory");
				goto out;
			}
			changed = true;
		}
		if (!changed)
			i++;
	}
	r = lost_registrations(tr, maps, res, err);
	if (r < 0)
		goto out;
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

	footprint_update(tr, maps);
	/* A new mapping next to a tracked one is taken for growth (a tail or
	 * head learned) unless a tracked mapping vanished in the same tick: it
	 * may have moved there (mremap), and a move is told by its pages. */
	tr->vanished = false;
	for (size_t w = 0; w < tr->nwas && !tr->vanished; w++) {
		uint64_t a = tr->was[w].start, b;
		tr->vanished = next_unmapped(maps, &a, tr->was[w].end, &b);
	}
	for (size_t i = 0; i < tr->ntails; i++)
		tr->tails[i].seen = false;
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
				 * it was made read-only (relocations under RELRO). An
				 * anonymous one: below, with what is known. */
				if (count_prewritten && v->kind != PS_VMA_ANON) {
					r = count_new(tr, s, e, false, res, err);
					if (r < 0)
						goto out;
				}
				tr->readonly_vmas += !counted;
				counted = true;
				continue;
			}
			r = engage_writable(tr, maps, i, s, e, count_prewritten, res, err);
			if (r < 0)
				goto out;
		}
	}
	/* The tail pages this sync asked for, in one batch. */
	if (tails_read_all(tr, count_prewritten, res) < 0) {
		r = ps_errf(err, ENOMEM, "out of memory");
		goto out;
	}
	/* Tails not found again (unmapped, shrunk, closed) are forgotten; a
	 * page that is not registered now is no longer tracked. */
	size_t nt = 0;
	for (size_t i = 0; i < tr->ntails; i++) {
		struct ps_tail *t = &tr->tails[i];
		if (t->seen) {
			tr->tails[nt++] = *t;
			continue;
		}
		if (!ps_rangeset_contains(&tr->armed, t->start, t->end_seen)) {
			long mk = ps_maps_find(maps, t->start);
			if (count_prewritten && mk >= 0 && private_anon(&maps->v[mk]) && tail_last_look(tr, t, res) < 0) {
				r = ps_errf(err, ENOMEM, "out of memory");
				goto out;
			}
			if (ps_spans_add(&res->dropped, t->start, t->end_seen,
			                 mk >= 0 ? ps_vma_label(&maps->v[mk]) : "(unmapped)", NULL) < 0) {
				r = ps_errf(err, ENOMEM, "out of memory");
				goto out;
			}
		}
		free(t->snap);
	}
	tr->ntails = nt;
	if (count_prewritten && tr->nwas) {
		r = remap_detect(tr, maps, res, err);
		if (r < 0)
			goto out;
	}
	if (tr->remapped && !tr->remap_noted) {
		tr->remap_noted = true;
		ps_note(&tr->notes,
		        "process %d moved a tracked mapping (mremap): the kernel drops its tracking and write-protection, so whether its %llu present page%s were written in this interval is unknown; pagescan counts them as remapped_pages, not written, and tracks the new place from now on (docs/memory-events.md)",
		        tr->t->pid, (unsigned long long)tr->remapped, tr->remapped == 1 ? "" : "s");
	}
	/* While sampling, un-protecting a block can split a huge page too. */
	r = huge_check(tr, tr->sampler != NULL, err);
	if (r < 0)
		goto out;
	/* Remember what was mapped, to tell new mappings at the next sync. Of
	 * an anonymous mapping nobody can write (a PROT_NONE reservation:
	 * malloc arenas and JIT heaps grow by mprotect) only the pages that
	 * hold data: whatever the rest holds at the next sync was written since. */
	struct ps_rangeset nk = { 0 };
	for (size_t i = 0; i < maps->n && r == 0; i++) {
		const struct ps_vma *v = &maps->v[i];
		if (v->kind == PS_VMA_VSYSCALL)
			continue;
		if (!(v->prot & PS_VMA_WRITE) && v->kind == PS_VMA_ANON)
			r = unwritable_data(tr, v, &wantall, count_prewritten, &nk, res, err);
		else if (ps_rangeset_add(&nk, v->start, v->end) < 0)
			r = ps_errf(err, ENOMEM, "out of memory");
	}
	ps_rangeset_free(&tr->known);
	tr->known = nk;
	/* A tail page without data is not "known": what it holds when engaged
	 * was written since. One with data was reported and is compared by its
	 * bytes instead. */
	for (size_t i = 0; i < tr->ntails && r == 0; i++)
		if (!tr->tails[i].had_data &&
		    ps_rangeset_remove(&tr->known, tr->tails[i].start, tr->tails[i].end_seen) < 0)
			r = ps_errf(err, ENOMEM, "out of memory");
	if (r == 0 && sites_end(tr, maps, res) < 0)
		r = ps_errf(err, ENOMEM, "out of memory");
	if (r == 0 && remap_remember(tr, maps) < 0)
		r = ps_errf(err, ENOMEM, "out of memory");
out:
	ps_rangeset_free(&wantall);
	return r;
}

/* ---- harvest ------------------------------------------------------------ */

int ps_tracker_harvest(struct ps_tracker *tr, bool clear, struct ps_regions *out,
                       struct ps_scan_stats *stats, struct ps_err *err)
{
	/* The WRITTEN fast path per armed range finds candidates, one generic
	 * pass over just those classifies them and (clear) re-protects the
	 * populated ones: the zero page, zapped entries, holes and KSM merges
	 * are not writes (docs/kernel-interfaces.md#classifying-the-harvest). */
	size_t from = out->n ? out->n - 1 : 0; /* (the last region may grow) */
	int r = tr->sampler ? ps_sampler_harvest(tr->sampler, &tr->cls, tr->uffd, &tr->armed, out, stats, err)
	                    : ps_classify_harvest(&tr->cls, &tr->armed, clear, out, stats, err);
	if (r == 0)
		huge_note_writes(tr, out, from);
	else
		tr->huge_all = true; /* what it wrote is not all known: look at all next time */
	return r;
}

const struct ps_harvest_class *ps_tracker_last_class(const struct ps_tracker *tr)
{
	return &tr->cls.last;
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
	int r = ps_target_maps(tr->t, maps, err);
	if (r < 0)
		return r;
	r = ps_tracker_sync(tr, maps, count_prewritten, res, err);
	if (r == 0 && tr->sampler)
		r = ps_sampler_follow(tr->sampler, &tr->cls, tr->uffd, &tr->armed, maps, res, err);
	return r;
}

int ps_tracker_set_sample(struct ps_tracker *tr, double fraction, uint64_t seed)
{
	ps_sampler_free(tr->sampler);
	tr->sampler = fraction > 0 ? ps_sampler_new(fraction, seed) : NULL;
	return fraction > 0 && !tr->sampler ? -ENOMEM : 0;
}

const struct ps_sampler *ps_tracker_sampler(const struct ps_tracker *tr)
{
	return tr->sampler;
}

static const struct ps_rangeset *source_tracked(void *ctx)
{
	/* The tail pages too: followed by their bytes, reported from there. */
	struct ps_tracker *tr = ctx;
	ps_rangeset_clear(&tr->shown);
	for (size_t i = 0; i < tr->armed.n; i++)
		if (ps_rangeset_add(&tr->shown, tr->armed.r[i].start, tr->armed.r[i].end) < 0)
			return &tr->armed;
	for (size_t i = 0; i < tr->ntails; i++)
		if (ps_rangeset_add(&tr->shown, tr->tails[i].start, tr->tails[i].end_seen) < 0)
			return &tr->armed;
	/* and growth left unengaged, followed by its pages (sites_end()) */
	for (size_t i = 0; i < tr->pend.n; i++)
		if (ps_rangeset_add(&tr->shown, tr->pend.r[i].start, tr->pend.r[i].end) < 0)
			return &tr->armed;
	return &tr->shown;
}

static uint64_t source_now_ns(void *ctx)
{
	(void)ctx;
	return ps_now_ns();
}

static void source_harvest_counts(void *ctx, struct ps_harvest_counts *ret)
{
	const struct ps_harvest_class *c = ps_tracker_last_class(ctx);
	*ret = (struct ps_harvest_counts){
		.discarded_pages = c->discarded,
		.zero_read_pages = c->zero,
		.ksm_merged_pages = c->ksm,
		.thp_filled_pages = c->thp_filled,
		.remapped_pages = ((const struct ps_tracker *)ctx)->remapped,
	};
}

void ps_tracker_source(struct ps_tracker *tr, struct ps_session_source *ret)
{
	tr->holes_unarmed = true; /* the session's harvest classifies */
	*ret = (struct ps_session_source){
		.harvest = source_harvest,
		.follow = source_follow,
		.tracked = source_tracked,
		.now_ns = source_now_ns,
		.harvest_counts = source_harvest_counts,
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
		.mask = PAGE_IS_WPALLOWED, .ret = PAGE_IS_WPALLOWED, .max_pages = 1, .maps = maps,
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
