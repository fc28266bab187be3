/* SPDX-License-Identifier: MIT */
/* Strict parsers and small helpers (pure; libbsd where it saves code). */
#ifndef PAGESCAN_UTIL_H
#define PAGESCAN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/model/error.h"

/* The page size is the kernel's, known at run time: 4 KiB on x86-64, 4, 16
 * or 64 KiB on arm64 (docs/porting.md#page-size). main() sets it once from
 * sysconf(_SC_PAGESIZE) before anything else; report sets it to the
 * recording's page_size. Until set it is 4096. Code that needs a constant
 * (an array's size, an alignment) uses PS_PAGE_SIZE_MAX. */
#define PS_PAGE_SIZE_MIN 4096ull
#define PS_PAGE_SIZE_MAX 65536ull
extern uint64_t ps_page_size_v;
extern unsigned ps_page_shift_v;
#define PS_PAGE_SIZE ((uint64_t)ps_page_size_v)
#define PS_PAGE_SHIFT ((unsigned)ps_page_shift_v)
/* What one page of page table maps, the size of a PMD-mapped (THP) huge
 * page: 2 MiB with 4 KiB pages, 32 MiB with 16 KiB, 512 MiB with 64 KiB. */
#define PS_PMD_SIZE (PS_PAGE_SIZE * (PS_PAGE_SIZE / 8))

/* A page size pagescan supports: a power of two in [PS_PAGE_SIZE_MIN, PS_PAGE_SIZE_MAX]. */
static inline bool ps_page_size_ok(uint64_t size)
{
	return size >= PS_PAGE_SIZE_MIN && size <= PS_PAGE_SIZE_MAX && (size & (size - 1)) == 0;
}

/* Set the page size (and shift) for the whole program; -EINVAL (and no
 * change) unless ps_page_size_ok(size). */
int ps_page_size_set(uint64_t size);

/* Decimal integer in [min, max] (libbsd strtonum). */
int ps_parse_int(const char *s, long long min, long long max, long long *ret, struct ps_err *err);

/* Decimal integer in [0, max], up to UINT64_MAX; the text ps_parse_int
 * takes (digits only: no blanks, '+' or base prefix) and its messages. */
int ps_parse_uint(const char *s, uint64_t max, uint64_t *ret, struct ps_err *err);

/* A pid: decimal, 1..INT_MAX ("pid must be ..." messages). */
int ps_parse_pid(const char *s, pid_t *ret, struct ps_err *err);

/* Address: "0x..." hex or decimal, full 64-bit range, no suffix, no sign, no junk. */
int ps_parse_addr(const char *s, uint64_t *ret, struct ps_err *err);

/* Size: decimal or 0x hex with an optional K/M/G/T/P/E suffix (powers of 1024,
 * libbsd expand_number; "KiB"/"MiB"/"k"/"kB" accepted as 1024 multiples too). */
int ps_parse_size(const char *s, uint64_t *ret, struct ps_err *err);

/* Duration: NUMBER[UNIT], UNIT one of ns us ms s m h (default s); decimals
 * allowed ("1.5s", "0.25"); must be > 0 and <= 1 day. Returns nanoseconds. */
int ps_parse_duration(const char *s, uint64_t *ret_ns, struct ps_err *err);

/* Human size of bytes ("1.5M", "512K", "0B") via libbsd humanize_number; buf >= 16. */
const char *ps_human_bytes(uint64_t bytes, char *buf, size_t n);

/* An ASCII decimal digit (isdigit() follows the locale). */
static inline bool ps_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The value of an ASCII hex digit (either case), or -1. */
static inline int ps_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* reallocarray-based growth of an array to hold at least need elements. */
int ps_grow(void **arr, size_t *cap, size_t need, size_t elem);

#endif
