/* SPDX-License-Identifier: MIT */
/* The workload's totals over several processes' interval records: private
 * pages are each process's own (the same address in two processes is two
 * pages), pages of shared mappings are one page per (device, inode, file
 * offset) whoever writes them and at whatever address; the working set
 * keeps a member's pages after it leaves; accumulate makes written the
 * working set. */
#include <stdint.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/workload.h"
#include "tap.h"

#define P 4096ull

/* A process: its maps and what it wrote this tick. */
struct proc {
	struct ps_maps maps;
	struct ps_regions written;
	struct ps_interval iv;
};

static void proc_init(struct proc *p, const char *maps)
{
	struct ps_err err = { 0 };
	memset(p, 0, sizeof(*p));
	if (ps_maps_parse(maps, strlen(maps), &p->maps, &err) < 0)
		ok(0, "maps parse: %s", err.msg);
}

/* This tick it wrote pages [first, first + n) of the mapping starting at
 * base (in address order: the records' regions are sorted). */
static void wrote(struct proc *p, uint64_t base, uint64_t first, uint64_t n)
{
	ps_regions_push(&p->written, base + first * P, base + (first + n) * P, PS_CAT_WRITTEN);
}

static struct ps_interval *record(struct proc *p, uint64_t wss)
{
	p->iv = (struct ps_interval){ .written = &p->written, .maps = &p->maps,
	                              .written_pages = ps_regions_pages(&p->written), .wss_pages = wss };
	return &p->iv;
}

static void proc_next(struct proc *p)
{
	ps_regions_clear(&p->written);
}

static void proc_free(struct proc *p)
{
	ps_maps_free(&p->maps);
	ps_regions_free(&p->written);
}

/* A parent and its forked child: the same private anonymous mapping at the
 * same address, a memfd both map (the child at another address and from
 * file page 2), a MAP_SHARED file, and a private mapping of that file. */
static const char *const MAPS_A =
	"01000000-01100000 rw-p 00000000 00:00 0 \n"
	"07000000-07010000 rw-s 00000000 00:01 100                              /memfd:buf (deleted)\n"
	"08000000-08010000 rw-s 00000000 08:01 555                              /data/file\n"
	"0a000000-0a010000 rw-p 00000000 08:01 555                              /data/file\n";
static const char *const MAPS_B =
	"01000000-01100000 rw-p 00000000 00:00 0 \n"
	"09000000-0900e000 rw-s 00002000 00:01 100                              /memfd:buf (deleted)\n"
	"0b000000-0b010000 rw-s 00000000 08:02 555                              /other/dev\n"
	"0c000000-0c010000 rw-s 00000000 00:01 101                              /memfd:other (deleted)\n";

static void test_private_and_shared(void)
{
	struct ps_workload *w = ps_workload_new(false);
	struct proc a, b;
	struct ps_workload_member ma, mb;
	struct ps_workload_totals t;
	proc_init(&a, MAPS_A);
	proc_init(&b, MAPS_B);

	/* Tick 1: both write private pages 0-3 at the same address (a fork's
	 * copy-on-write pages: each its own); A writes memfd pages 0-4, B its
	 * pages 0-2, which are the memfd's pages 2-4 (shared: 5 in all). */
	ps_workload_begin_tick(w);
	wrote(&a, 0x01000000, 0, 4);
	wrote(&a, 0x07000000, 0, 5);
	wrote(&b, 0x01000000, 0, 4);
	wrote(&b, 0x09000000, 0, 3);
	ok(ps_workload_add(w, 1, record(&a, 9), &ma) == 0, "add A");
	ok(ps_workload_add(w, 2, record(&b, 7), &mb) == 0, "add B");
	ps_workload_end_tick(w, &t);
	is_u64(ma.written_pages, 9, "A wrote 9 (its own view, shared included)");
	is_u64(ma.shared_written_pages, 5, "5 of them shared");
	is_u64(ma.wss_pages, 9, "A's wss is its record's");
	is_u64(mb.written_pages, 7, "B wrote 7");
	is_u64(mb.shared_written_pages, 3, "3 of them shared");
	is_u64(t.written_pages, 4 + 4 + 5, "total: private 4 + 4, shared 5 once");
	is_u64(t.shared_written_pages, 5, "5 distinct shared pages this tick");
	is_u64(t.wss_pages, 13, "wss 13");
	is_u64(t.shared_wss_pages, 5, "of which shared 5");
	is_u64(t.members, 2, "two members");

	/* Tick 2: A rewrites memfd page 3 (B's page 1: already in the wss),
	 * B writes memfd page 2 (B's 0: the same page) and a new private page;
	 * A writes its private mapping of /data/file (copy-on-write: private)
	 * at file page 0, and its MAP_SHARED mapping of /data/file page 0: the
	 * same inode, but the shared one is a new page and the private copy its
	 * own. */
	proc_next(&a);
	proc_next(&b);
	ps_workload_begin_tick(w);
	wrote(&a, 0x07000000, 3, 1);
	wrote(&a, 0x08000000, 0, 1);
	wrote(&a, 0x0a000000, 0, 1);
	wrote(&b, 0x01000000, 10, 1);
	wrote(&b, 0x09000000, 0, 1);
	ok(ps_workload_add(w, 1, record(&a, 11), &ma) == 0, "add A again");
	ok(ps_workload_add(w, 2, record(&b, 8), &mb) == 0, "add B again");
	ps_workload_end_tick(w, &t);
	is_u64(t.written_pages, 1 + 1 + 1 + 2, "tick 2: shared 3 distinct (memfd 3 and 2, file 0), private 2");
	is_u64(t.shared_written_pages, 3, "3 shared this tick");
	is_u64(t.wss_pages, 13 + 1 + 1 + 1, "wss: + A's private copy, the shared file page, B's new page");
	is_u64(t.shared_wss_pages, 6, "shared wss 6");

	/* Tick 3: the same inode on another device, another memfd inode at
	 * the same offset: different pages. */
	proc_next(&a);
	proc_next(&b);
	ps_workload_begin_tick(w);
	wrote(&b, 0x0b000000, 0, 1);
	wrote(&b, 0x0c000000, 0, 1);
	ok(ps_workload_add(w, 1, record(&a, 11), &ma) == 0, "A wrote nothing");
	ok(ps_workload_add(w, 2, record(&b, 10), &mb) == 0, "add B");
	ps_workload_end_tick(w, &t);
	is_u64(ma.written_pages, 0, "A: 0");
	is_u64(t.written_pages, 2, "two new shared pages: other device, other inode");
	is_u64(t.wss_pages, 18, "wss 18");

	/* B leaves: its pages stay in the wss; a new member under a new id
	 * starts its own private set (the same addresses are new pages). */
	ps_workload_drop(w, 2);
	ps_workload_drop(w, 99); /* unknown: ignored */
	proc_next(&b);
	ps_workload_begin_tick(w);
	wrote(&b, 0x01000000, 0, 4);
	ok(ps_workload_add(w, 3, record(&b, 4), &mb) == 0, "add C");
	ps_workload_end_tick(w, &t);
	is_u64(t.written_pages, 4, "C's 4 private pages");
	is_u64(t.wss_pages, 22, "wss 18 + 4: B's pages stay");
	is_u64(ps_workload_wss_pages(w), 22, "wss_pages() agrees");
	is_u64(t.members, 1, "one member this tick");

	proc_free(&a);
	proc_free(&b);
	ps_workload_free(w);
}

static void test_accumulate(void)
{
	struct ps_workload *w = ps_workload_new(true);
	struct proc a, b;
	struct ps_workload_totals t;
	proc_init(&a, MAPS_A);
	proc_init(&b, MAPS_B);

	/* Cumulative records: every tick repeats what was written before. */
	ps_workload_begin_tick(w);
	wrote(&a, 0x07000000, 0, 2);
	wrote(&b, 0x09000000, 0, 2); /* memfd pages 2-3 */
	ok(ps_workload_add(w, 1, record(&a, 2), NULL) == 0 && ps_workload_add(w, 2, record(&b, 2), NULL) == 0,
	   "tick 1");
	ps_workload_end_tick(w, &t);
	is_u64(t.written_pages, 4, "accumulate: written is the wss (4 distinct memfd pages)");
	ps_workload_begin_tick(w);
	wrote(&a, 0x07000000, 2, 1); /* memfd page 2: B's */
	ok(ps_workload_add(w, 1, record(&a, 3), NULL) == 0 && ps_workload_add(w, 2, record(&b, 2), NULL) == 0,
	   "tick 2");
	ps_workload_end_tick(w, &t);
	is_u64(t.written_pages, 4, "still 4");
	is_u64(t.wss_pages, 4, "wss 4");

	proc_free(&a);
	proc_free(&b);
	ps_workload_free(w);
}

/* A record without a maps snapshot (a source that gives none): every page
 * is the process's own. */
static void test_no_maps(void)
{
	struct ps_workload *w = ps_workload_new(false);
	struct ps_regions r = { 0 };
	struct ps_workload_totals t;
	ps_regions_push(&r, 0x1000, 0x5000, PS_CAT_WRITTEN);
	struct ps_interval iv = { .written = &r, .written_pages = 4 };
	ps_workload_begin_tick(w);
	ok(ps_workload_add(w, 1, &iv, NULL) == 0 && ps_workload_add(w, 2, &iv, NULL) == 0, "two without maps");
	ps_workload_end_tick(w, &t);
	is_u64(t.written_pages, 8, "8 private pages");
	ps_regions_free(&r);
	ps_workload_free(w);
}

int main(void)
{
	test_private_and_shared();
	test_accumulate();
	test_no_maps();
	return tap_done();
}
