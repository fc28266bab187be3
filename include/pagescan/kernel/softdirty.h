/* SPDX-License-Identifier: MIT */
/* The kernel's soft-dirty bits, for --compare soft-dirty (docs/soft-dirty.md):
 * whether this kernel has them, the pages whose bit is set (PAGEMAP_SCAN,
 * PAGE_IS_SOFT_DIRTY: the page table bit, or the mapping's VM_SOFTDIRTY),
 * and clearing them (/proc/PID/clear_refs "4", which write-protects every
 * present page of the target: each first write after it costs the target a
 * fault, tracked or not). */
#ifndef PAGESCAN_SOFTDIRTY_KERNEL_H
#define PAGESCAN_SOFTDIRTY_KERNEL_H

#include "pagescan/kernel/target.h"
#include "pagescan/model/error.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/region.h"

/* Does this kernel keep soft-dirty bits? Tried on a page of pagescan's own:
 * written, it must read soft-dirty. ENOTSUP with the reason when not
 * (CONFIG_MEM_SOFT_DIRTY off, or an architecture without it, e.g. arm64). */
int ps_softdirty_probe(struct ps_err *err);

/* Append the target's soft-dirty pages of the user address space up to the
 * end of maps' last mapping (below [vsyscall]) to out, sorted: present or
 * swapped pages, not the zero page, whose entry has the bit or whose mapping
 * has VM_SOFTDIRTY (docs/soft-dirty.md#what-is-compared). */
int ps_softdirty_get(const struct ps_target *t, const struct ps_maps *maps, struct ps_regions *out,
                     struct ps_err *err);

/* Clear every soft-dirty bit of the target (clear_refs "4"). */
int ps_softdirty_clear(const struct ps_target *t, struct ps_err *err);

/* The soft-dirty part of a session's source (model/session.h) on the target
 * t (borrowed: must outlive the session's use of src). */
struct ps_session_source;
void ps_softdirty_source(const struct ps_target *t, struct ps_session_source *src);

#endif
