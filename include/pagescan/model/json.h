/* SPDX-License-Identifier: MIT */
/* A strict JSON reader (pure): RFC 8259 for one document held in memory:
 * objects, arrays, strings (all escapes, \uXXXX with surrogate pairs),
 * numbers, true, false, null. The tree lives in arrays reused from one parse
 * to the next. Strings are decoded to NUL-terminated UTF-8; a lone
 * surrogate, an escaped NUL and each byte of invalid UTF-8 become U+FFFD and
 * are counted in `replaced`. Numbers are converted without the locale. */
#ifndef PAGESCAN_JSON_H
#define PAGESCAN_JSON_H

#include <stddef.h>
#include <stdint.h>

enum ps_json_type { PS_JSON_NULL, PS_JSON_FALSE, PS_JSON_TRUE, PS_JSON_NUMBER, PS_JSON_STRING,
                    PS_JSON_ARRAY, PS_JSON_OBJECT };

struct ps_json_node {
	uint8_t type;       /* enum ps_json_type */
	uint32_t next;      /* next member or element, 0 = last */
	uint32_t key;       /* object members: offset of the key in str */
	uint32_t a, b;      /* string: offset in str, length; number: offset in
	                     * the source, length; array/object: first child
	                     * (0 = empty), number of children */
};

struct ps_json {
	struct ps_json_node *node;  /* node[0] is the root */
	size_t n, cap;
	char *str;                  /* decoded strings and keys, NUL-terminated */
	size_t slen, scap;
	const char *src;            /* the parsed text (borrowed) */
	size_t replaced;            /* characters replaced by U+FFFD */
	size_t err_pos;             /* byte offset of a syntax error */
	char err[96];               /* what was wrong there */
};

#define PS_JSON_MAX_DEPTH 64
#define PS_JSON_MAX_NODES ((size_t)1 << 26)

/* 0; -EINVAL on a syntax error (err and err_pos say where and why);
 * -E2BIG past PS_JSON_MAX_NODES or 4 GiB; -ENOMEM. */
int ps_json_parse(struct ps_json *j, const char *s, size_t len);
void ps_json_free(struct ps_json *j);

/* Member of object node o named key: its index, 0 when absent (or when o is
 * not an object). The first of duplicate keys wins. */
uint32_t ps_json_get(const struct ps_json *j, uint32_t o, const char *key);
/* Conversions: 0, or -EINVAL when the node has another type or (u64/i64)
 * is not an integer literal in range. */
int ps_json_u64(const struct ps_json *j, uint32_t n, uint64_t *ret);
int ps_json_i64(const struct ps_json *j, uint32_t n, int64_t *ret);
int ps_json_double(const struct ps_json *j, uint32_t n, double *ret);
/* The decoded string (NUL-terminated) or NULL when not a string. */
const char *ps_json_str(const struct ps_json *j, uint32_t n, size_t *len);

#endif
