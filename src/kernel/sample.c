/* SPDX-License-Identifier: MIT */
/* Sampled write tracking, the kernel side; see include/pagescan/kernel/sample.h
 * and docs/sampling.md. */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "pagescan/kernel/compat.h"
#include "pagescan/kernel/sample.h"
#include "pagescan/model/category.h"
#include "pagescan/model/util.h"

struct blk {
	uint64_t start, end;
	bool dead;                      /* its mapping changed since it was drawn */
};

struct ps_sampler {
	double fraction;
	uint64_t seed;
	struct ps_rng rng;
	uint32_t block_pages;
	bool have;                      /* a sample is protected */
	/* the current sample: its blocks (by address) and their merged runs */
	struct blk *blk;
	size_t nblk, blk_cap;
	struct ps_rangeset runs;
	uint64_t pop_pages, pop_blocks;
	/* ranges that need uffd-wp markers (file-backed, shared) */
	struct ps_rangeset markers;
	/* the last harvest */
	struct ps_sample_block *res;
	size_t nres, res_cap;
	uint64_t last_pop_pages, last_pop_blocks;
	uint32_t last_block_pages;
	uint64_t ioctls, last_ioctls;
	struct ps_rangeset scratch;
	struct ps_regions got;
};

struct ps_sampler *ps_sampler_new(double fraction, uint64_t seed)
{
	struct ps_sampler *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->fraction = fraction;
	s->seed = seed;
	ps_rng_seed(&s->rng, seed);
	s->block_pages = PS_SAMPLE_MIN_BLOCK_PAGES;
	return s;
}

void ps_sampler_free(struct ps_sampler *s)
{
	if (!s)
		return;
	free(s->blk);
	free(s->res);
	ps_rangeset_free(&s->runs);
	ps_rangeset_free(&s->markers);
	ps_rangeset_free(&s->scratch);
	ps_regions_free(&s->got);
	free(s);
}

/* UFFDIO_WRITEPROTECT [a,b) off; errors (a range unmapped or replaced since)
 * are ignored: nothing of it is harvested any more. */
static void unprotect(struct ps_sampler *s, int uffd, uint64_t a, uint64_t b)
{
	struct uffdio_writeprotect wp = { .range = { .start = a, .len = b - a }, .mode = 0 };
	(void)ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
	s->ioctls++;
}

/* Protect the sample: populated pages of private anonymous memory (holes
 * stay holes, as the exact arming pass leaves them), every entry of
 * file-backed and shared memory (markers). */
static int protect(struct ps_sampler *s, struct ps_classify *c, struct ps_err *err)
{
	ps_rangeset_clear(&c->holes);
	for (size_t i = 0; i < s->runs.n; i++) {
		uint64_t a = s->runs.r[i].start, b = s->runs.r[i].end;
		uint64_t mk = ps_rangeset_overlap(&s->markers, a, b);
		int r = 0;
		if (mk == 0 || mk == b - a) {
			r = ps_classify_arm(c, a, b, mk != 0, err);
			s->ioctls += 2;
		} else {
			/* mixed: block by block */
			uint64_t bb = (uint64_t)s->block_pages << PS_PAGE_SHIFT;
			for (uint64_t x = a; x < b && r == 0;) {
				uint64_t y = (x / bb + 1) * bb;
				if (y > b)
					y = b;
				r = ps_classify_arm(c, x, y, ps_rangeset_overlap(&s->markers, x, y) != 0, err);
				s->ioctls += 2;
				x = y;
			}
		}
		if (r < 0 && err->code != ESRCH && err->code != ENOMEM)
			r = 0; /* a mapping changed under us: that block reads nothing written */
		if (r < 0)
			return r;
	}
	return 0;
}

/* Draw the next sample from armed: each aligned block (a range's first and
 * last may be partial) chosen with probability fraction. */
static int draw(struct ps_sampler *s, const struct ps_rangeset *armed)
{
	uint64_t pages = ps_rangeset_total(armed) >> PS_PAGE_SHIFT;
	s->block_pages = ps_sample_block_pages(pages, s->fraction);
	uint64_t bb = (uint64_t)s->block_pages << PS_PAGE_SHIFT;
	uint64_t next = ps_rng_skip(&s->rng, s->fraction), nblocks = 0;

	s->nblk = 0;
	ps_rangeset_clear(&s->runs);
	for (size_t i = 0; i < armed->n; i++) {
		uint64_t a = armed->r[i].start, e = armed->r[i].end;
		uint64_t first = a / bb, nb = (e + bb - 1) / bb - first;
		nblocks += nb;
		while (next < nb) {
			uint64_t bs = (first + next) * bb, be = bs + bb;
			if (bs < a)
				bs = a;
			if (be > e)
				be = e;
			if (ps_grow((void **)&s->blk, &s->blk_cap, s->nblk + 1, sizeof(*s->blk)) < 0 ||
			    ps_rangeset_add(&s->runs, bs, be) < 0)
				return -ENOMEM;
			s->blk[s->nblk++] = (struct blk){ .start = bs, .end = be };
			next += 1 + ps_rng_skip(&s->rng, s->fraction);
		}
		next -= nb;
	}
	s->pop_pages = pages;
	s->pop_blocks = nblocks;
	return 0;
}

/* Un-protect the current sample, draw and protect the next. */
static int rotate(struct ps_sampler *s, struct ps_classify *c, int uffd, const struct ps_rangeset *armed,
                  struct ps_err *err)
{
	for (size_t i = 0; s->have && i < s->runs.n; i++)
		unprotect(s, uffd, s->runs.r[i].start, s->runs.r[i].end);
	s->have = false;
	if (draw(s, armed) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	int r = protect(s, c, err);
	if (r < 0)
		return r;
	s->have = true;
	return 0;
}

/* scratch = the runs of the sample that are still armed. */
static int still_armed(struct ps_sampler *s, const struct ps_rangeset *armed)
{
	ps_rangeset_clear(&s->scratch);
	size_t k = 0;
	for (size_t i = 0; i < s->runs.n; i++) {
		uint64_t a = s->runs.r[i].start, b = s->runs.r[i].end;
		while (k < armed->n && armed->r[k].end <= a)
			k++;
		for (size_t q = k; q < armed->n && armed->r[q].start < b; q++) {
			uint64_t x = armed->r[q].start > a ? armed->r[q].start : a;
			uint64_t y = armed->r[q].end < b ? armed->r[q].end : b;
			if (x < y && ps_rangeset_add(&s->scratch, x, y) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int ps_sampler_harvest(struct ps_sampler *s, struct ps_classify *c, int uffd, const struct ps_rangeset *armed,
                       struct ps_regions *out, struct ps_scan_stats *stats, struct ps_err *err)
{
	int r;

	s->ioctls = 0;
	s->nres = 0;
	if (stats)
		*stats = (struct ps_scan_stats){ 0 };
	if (!s->have)
		return rotate(s, c, uffd, armed, err);
	/* Blocks whose mapping changed are left out; the rest are read. */
	for (size_t i = 0; i < s->nblk; i++)
		if (s->blk[i].dead)
			ps_rangeset_remove(&s->runs, s->blk[i].start, s->blk[i].end);
	if (still_armed(s, armed) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	ps_regions_clear(&s->got);
	r = ps_classify_harvest(c, &s->scratch, false, &s->got, stats, err);
	if (r < 0)
		return r;
	s->ioctls += stats ? stats->calls : 0;
	/* Per block: pages still armed (m) and written (y). */
	if (ps_grow((void **)&s->res, &s->res_cap, s->nblk ? s->nblk : 1, sizeof(*s->res)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	size_t g = 0;
	for (size_t i = 0; i < s->nblk; i++) {
		struct blk *b = &s->blk[i];
		uint64_t m = b->dead ? 0 : ps_rangeset_overlap(&s->scratch, b->start, b->end) >> PS_PAGE_SHIFT, y = 0;
		while (g < s->got.n && s->got.r[g].end <= b->start)
			g++;
		for (size_t q = g; m && q < s->got.n && s->got.r[q].start < b->end; q++) {
			uint64_t x = s->got.r[q].start > b->start ? s->got.r[q].start : b->start;
			uint64_t z = s->got.r[q].end < b->end ? s->got.r[q].end : b->end;
			y += (z - x) >> PS_PAGE_SHIFT;
		}
		s->res[s->nres++] = (struct ps_sample_block){ .m = (uint32_t)m, .y = (uint32_t)y };
	}
	for (size_t i = 0; i < s->got.n; i++)
		if (ps_regions_push(out, s->got.r[i].start, s->got.r[i].end, s->got.r[i].cats) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
	s->last_pop_pages = s->pop_pages;
	s->last_pop_blocks = s->pop_blocks;
	s->last_block_pages = s->block_pages;
	r = rotate(s, c, uffd, armed, err);
	s->last_ioctls = s->ioctls;
	return r;
}

/* Private anonymous memory needs no markers (kernel/classify.h). */
static bool private_anon(const struct ps_vma *v)
{
	return !(v->prot & PS_VMA_SHARED) &&
	       (v->kind == PS_VMA_ANON || v->kind == PS_VMA_HEAP || v->kind == PS_VMA_STACK ||
	        (v->kind == PS_VMA_SPECIAL && strncmp(v->name, "[anon:", 6) == 0));
}

int ps_sampler_follow(struct ps_sampler *s, struct ps_classify *c, int uffd, const struct ps_rangeset *armed,
                      const struct ps_maps *maps, const struct ps_sync_result *res, struct ps_err *err)
{
	ps_rangeset_clear(&s->markers);
	for (size_t i = 0; i < maps->n; i++)
		if (ps_classify_needs_markers(private_anon(&maps->v[i])) &&
		    ps_rangeset_add(&s->markers, maps->v[i].start, maps->v[i].end) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
	/* Newly engaged mappings were armed whole: off again, but for the
	 * sample. A sampled block they overlap (a mapping replaced in place)
	 * is left out of this interval's estimate. */
	for (size_t i = 0; i < res->engaged.n; i++) {
		uint64_t a = res->engaged.v[i].start, b = res->engaged.v[i].end;
		if (!s->have)
			break; /* the first draw below un-protects nothing: all of it then */
		unprotect(s, uffd, a, b);
		for (size_t k = 0; k < s->nblk; k++)
			if (s->blk[k].start < b && a < s->blk[k].end)
				s->blk[k].dead = true;
	}
	if (s->have)
		return 0;
	/* The first sample: everything armed by the first sync is protected. */
	for (size_t i = 0; i < armed->n; i++)
		unprotect(s, uffd, armed->r[i].start, armed->r[i].end);
	return rotate(s, c, uffd, armed, err);
}

void ps_sampler_last(const struct ps_sampler *s, struct ps_sampler_result *ret)
{
	*ret = (struct ps_sampler_result){
		.blocks = s->res, .nblocks = s->nres,
		.population_pages = s->last_pop_pages, .population_blocks = s->last_pop_blocks,
		.block_pages = s->last_block_pages ? s->last_block_pages : s->block_pages,
		.fraction = s->fraction, .seed = s->seed, .ioctls = s->last_ioctls,
	};
}
