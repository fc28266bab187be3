/* SPDX-License-Identifier: MIT */
/* Private to the formatters: building one output line in a local buffer
 * (a region line is written hundreds of thousands of times, so it is put
 * together with these and appended with one ps_out_mem call). */
#ifndef PAGESCAN_OUT_LINE_H
#define PAGESCAN_OUT_LINE_H

#include <stdint.h>
#include <string.h>

/* "0x" and the lowercase hex digits of v, zero-padded to pad digits. */
static inline char *ps_put_hex(char *p, uint64_t v, int pad)
{
	static const char dig[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = dig[v & 15];
		v >>= 4;
	} while (v);
	*p++ = '0';
	*p++ = 'x';
	for (int i = n; i < pad; i++)
		*p++ = '0';
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* Decimal v, right-aligned in width columns (0: no padding). */
static inline char *ps_put_u64(char *p, uint64_t v, int width)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (int i = n; i < width; i++)
		*p++ = ' ';
	while (n)
		*p++ = tmp[--n];
	return p;
}

static inline char *ps_put_mem(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* A string literal, without its terminating NUL. */
#define PS_PUT_LIT(p, lit) ps_put_mem((p), (lit), sizeof(lit) - 1)

#endif
