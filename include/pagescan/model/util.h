/* SPDX-License-Identifier: MIT */
/* Strict parsers and small helpers (pure; libbsd where it saves code). */
#ifndef PAGESCAN_UTIL_H
#define PAGESCAN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/model/error.h"

#define PS_PAGE_SIZE 4096ull
#define PS_PAGE_SHIFT 12

/* Decimal integer in [min, max] (libbsd strtonum). */
int ps_parse_int(const char *s, long long min, long long max, long long *ret, struct ps_err *err);

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
