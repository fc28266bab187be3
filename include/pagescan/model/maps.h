/* SPDX-License-Identifier: MIT */
/* /proc/PID/maps: a snapshot of the target's mappings (the pure parser and
 * look-ups; kernel/sys.h reads it). */
#ifndef PAGESCAN_MAPS_H
#define PAGESCAN_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/error.h"

enum ps_vma_prot {
	PS_VMA_READ = 1u << 0,
	PS_VMA_WRITE = 1u << 1,
	PS_VMA_EXEC = 1u << 2,
	PS_VMA_SHARED = 1u << 3, /* 's' instead of 'p' */
};

enum ps_vma_kind {
	PS_VMA_ANON,     /* no name */
	PS_VMA_FILE,     /* a path (possibly " (deleted)") */
	PS_VMA_HEAP,     /* [heap] */
	PS_VMA_STACK,    /* [stack] */
	PS_VMA_VDSO,     /* [vdso] */
	PS_VMA_VVAR,     /* [vvar], [vvar_vclock] */
	PS_VMA_VSYSCALL, /* [vsyscall] */
	PS_VMA_SHMEM,    /* /dev/zero (deleted), /SYSV..., /memfd:..., /dev/shm/... */
	PS_VMA_SPECIAL,  /* any other [name] or [anon:name] */
};

struct ps_vma {
	uint64_t start, end;  /* [start, end), page aligned */
	uint64_t offset;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	unsigned prot;        /* enum ps_vma_prot */
	enum ps_vma_kind kind;
	const char *name;     /* as the kernel prints it (raw bytes; "\n" shown as "\012"); "" for anon. Points into the snapshot. */
};

struct ps_maps {
	struct ps_vma *v;     /* sorted by start, non-overlapping */
	size_t n;
	char *text;           /* owned copy of the text the names point into */
};

/* Parse maps text (len bytes, need not be NUL-terminated). Strict: a malformed
 * line is EINVAL naming the line number. At most PS_MAPS_MAX entries (E2BIG). */
#define PS_MAPS_MAX (1u << 22)
int ps_maps_parse(const char *text, size_t len, struct ps_maps *ret, struct ps_err *err);

/* The same, taking text (NUL-terminated at len, from malloc) over: owned by
 * ret on success, freed by the caller on failure. */
#define PS_MAPS_TEXT_MAX ((size_t)1 << 30)
int ps_maps_parse_owned(char *text, size_t len, struct ps_maps *ret, struct ps_err *err);

void ps_maps_free(struct ps_maps *m);

/* Index of the VMA containing addr, or -1. Binary search. */
long ps_maps_find(const struct ps_maps *m, uint64_t addr);

/* Index of the first VMA with end > addr, or m->n. */
size_t ps_maps_lower_bound(const struct ps_maps *m, uint64_t addr);

/* Display name: name, or "[anon]" for anonymous mappings. */
const char *ps_vma_label(const struct ps_vma *v);

/* Selector match: "[heap]", "[stack]", "[vdso]" etc. exactly; "anon" or "[anon]"
 * = unnamed anonymous; "shm" = PS_VMA_SHMEM; a path starting with '/' = exact
 * name; anything else = basename of a file mapping ("libc.so.6"). */
bool ps_vma_match(const struct ps_vma *v, const char *selector);

#endif
