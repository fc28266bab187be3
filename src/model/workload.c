/* SPDX-License-Identifier: MIT */
/* A workload's totals over its processes (see workload.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/model/pageset.h"
#include "pagescan/model/util.h"
#include "pagescan/model/workload.h"

/* A process: its private pages, by address. */
struct member {
	uint64_t id;
	struct ps_pageset priv;
};

/* What backs shared pages: a file (or shmem inode). Its sets hold page
 * offsets in the file, as byte ranges. */
struct object {
	unsigned dev_major, dev_minor;
	uint64_t inode;
	struct ps_pageset wss;   /* since the start */
	struct ps_pageset tick;  /* this tick */
};

/* A run of shared pages written by the member being added. */
struct piece {
	size_t obj;
	uint64_t start, end;     /* byte offsets in the object */
};

struct ps_workload {
	bool accumulate;
	struct member *m;
	size_t nm, mcap;
	struct object *o;
	size_t no, ocap;
	size_t last_obj;
	uint64_t private_wss;    /* distinct private pages: the members' sets and those dropped */
	uint64_t shared_wss;     /* distinct shared pages */
	uint64_t tick_private, tick_shared, tick_members;
	/* The member being added: its private pieces and shared pieces. */
	struct ps_regions priv;
	struct piece *pc;
	size_t npc, pccap;
	struct ps_regions tmp;
	uint64_t shared_by_addr;
	int walk_err;
};

struct ps_workload *ps_workload_new(bool accumulate)
{
	struct ps_workload *w = calloc(1, sizeof(*w));
	if (w)
		w->accumulate = accumulate;
	return w;
}

void ps_workload_free(struct ps_workload *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nm; i++)
		ps_pageset_free(&w->m[i].priv);
	for (size_t i = 0; i < w->no; i++) {
		ps_pageset_free(&w->o[i].wss);
		ps_pageset_free(&w->o[i].tick);
	}
	free(w->m);
	free(w->o);
	free(w->pc);
	ps_regions_free(&w->priv);
	ps_regions_free(&w->tmp);
	free(w);
}

static struct member *member_get(struct ps_workload *w, uint64_t id, bool create)
{
	for (size_t i = 0; i < w->nm; i++)
		if (w->m[i].id == id)
			return &w->m[i];
	if (!create || ps_grow((void **)&w->m, &w->mcap, w->nm + 1, sizeof(*w->m)) < 0)
		return NULL;
	w->m[w->nm] = (struct member){ .id = id };
	return &w->m[w->nm++];
}

/* The index of the object backing vma, added if new; -1: no memory. */
static long object_get(struct ps_workload *w, const struct ps_vma *v)
{
	if (w->last_obj < w->no) {
		const struct object *o = &w->o[w->last_obj];
		if (o->inode == v->inode && o->dev_major == v->dev_major && o->dev_minor == v->dev_minor)
			return (long)w->last_obj;
	}
	for (size_t i = 0; i < w->no; i++) {
		const struct object *o = &w->o[i];
		if (o->inode == v->inode && o->dev_major == v->dev_major && o->dev_minor == v->dev_minor) {
			w->last_obj = i;
			return (long)i;
		}
	}
	if (ps_grow((void **)&w->o, &w->ocap, w->no + 1, sizeof(*w->o)) < 0)
		return -1;
	w->o[w->no] = (struct object){ .dev_major = v->dev_major, .dev_minor = v->dev_minor, .inode = v->inode };
	w->last_obj = w->no;
	return (long)w->no++;
}

/* ps_region_fn: one piece of the member's written set, in one mapping. */
static int classify_piece(void *ctx, const struct ps_region *piece, const struct ps_vma *vma)
{
	struct ps_workload *w = ctx;
	if (vma && (vma->prot & PS_VMA_SHARED)) {
		long k = object_get(w, vma);
		if (k < 0 || ps_grow((void **)&w->pc, &w->pccap, w->npc + 1, sizeof(*w->pc)) < 0) {
			w->walk_err = -ENOMEM;
			return -ENOMEM;
		}
		uint64_t off = vma->offset + (piece->start - vma->start);
		w->pc[w->npc++] = (struct piece){ .obj = (size_t)k, .start = off, .end = off + (piece->end - piece->start) };
		w->shared_by_addr += (piece->end - piece->start) >> PS_PAGE_SHIFT;
		return 0;
	}
	if (ps_regions_push(&w->priv, piece->start, piece->end, PS_CAT_WRITTEN) < 0) {
		w->walk_err = -ENOMEM;
		return -ENOMEM;
	}
	return 0;
}

static int cmp_piece(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;
	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* ps_pageset_fresh_fn counting pages into the uint64_t ctx. */
static int count_fresh(void *ctx, uint64_t start, uint64_t end)
{
	*(uint64_t *)ctx += (end - start) >> PS_PAGE_SHIFT;
	return 0;
}

/* Add the member's shared pieces (sorted by object, then offset) to their
 * objects' sets. */
static int add_shared(struct ps_workload *w)
{
	if (w->npc)
		qsort(w->pc, w->npc, sizeof(*w->pc), cmp_piece);
	for (size_t i = 0; i < w->npc;) {
		size_t k = w->pc[i].obj;
		ps_regions_clear(&w->tmp);
		for (; i < w->npc && w->pc[i].obj == k; i++) {
			struct ps_region *last = w->tmp.n ? &w->tmp.r[w->tmp.n - 1] : NULL;
			if (last && w->pc[i].start <= last->end) {
				if (w->pc[i].end > last->end)
					last->end = w->pc[i].end;
				continue;
			}
			if (ps_regions_push(&w->tmp, w->pc[i].start, w->pc[i].end, PS_CAT_WRITTEN) < 0)
				return -ENOMEM;
		}
		if (ps_pageset_add(&w->o[k].wss, &w->tmp, count_fresh, &w->shared_wss) < 0 ||
		    ps_pageset_add(&w->o[k].tick, &w->tmp, count_fresh, &w->tick_shared) < 0)
			return -ENOMEM;
	}
	return 0;
}

void ps_workload_begin_tick(struct ps_workload *w)
{
	w->tick_private = w->tick_shared = w->tick_members = 0;
	for (size_t i = 0; i < w->no; i++)
		ps_pageset_free(&w->o[i].tick);
}

int ps_workload_add(struct ps_workload *w, uint64_t id, const struct ps_interval *iv, struct ps_workload_member *ret)
{
	struct member *m = member_get(w, id, true);
	if (!m)
		return -ENOMEM;
	ps_regions_clear(&w->priv);
	w->npc = 0;
	w->shared_by_addr = 0;
	w->walk_err = 0;
	if (iv->written && iv->maps) {
		int r = ps_regions_walk(iv->written, iv->maps, classify_piece, w);
		if (w->walk_err || r < 0)
			return -ENOMEM;
	} else if (iv->written) {
		for (size_t i = 0; i < iv->written->n; i++)
			if (ps_regions_push(&w->priv, iv->written->r[i].start, iv->written->r[i].end, PS_CAT_WRITTEN) < 0)
				return -ENOMEM;
	}
	w->tick_private += ps_regions_pages(&w->priv);
	if (ps_pageset_add(&m->priv, &w->priv, count_fresh, &w->private_wss) < 0 || add_shared(w) < 0)
		return -ENOMEM;
	w->tick_members++;
	if (ret)
		*ret = (struct ps_workload_member){ .written_pages = iv->written_pages,
		                                    .shared_written_pages = w->shared_by_addr,
		                                    .wss_pages = iv->wss_pages };
	return 0;
}

void ps_workload_end_tick(struct ps_workload *w, struct ps_workload_totals *ret)
{
	uint64_t wss = w->private_wss + w->shared_wss;
	*ret = (struct ps_workload_totals){
		.written_pages = w->accumulate ? wss : w->tick_private + w->tick_shared,
		.shared_written_pages = w->tick_shared,
		.wss_pages = wss,
		.shared_wss_pages = w->shared_wss,
		.members = w->tick_members,
	};
}

void ps_workload_drop(struct ps_workload *w, uint64_t id)
{
	for (size_t i = 0; i < w->nm; i++) {
		if (w->m[i].id != id)
			continue;
		/* Its pages stay counted in private_wss. */
		ps_pageset_free(&w->m[i].priv);
		w->m[i] = w->m[--w->nm];
		return;
	}
}

uint64_t ps_workload_wss_pages(const struct ps_workload *w)
{
	return w->private_wss + w->shared_wss;
}
