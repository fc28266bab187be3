/* SPDX-License-Identifier: MIT */
/* UTF-8 (pure): the one validator of the project, and an encoder.
 *
 * Valid means well-formed as Unicode defines it: the shortest form only (no
 * overlong encodings), no surrogates (U+D800..U+DFFF), nothing past
 * U+10FFFF. */
#ifndef PAGESCAN_UTF8_H
#define PAGESCAN_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* U+FFFD REPLACEMENT CHARACTER, encoded (3 bytes). */
#define PS_UTF8_REPLACEMENT "\xef\xbf\xbd"
#define PS_UTF8_REPLACEMENT_LEN 3

/* Length (1 to 4) of the valid sequence at s, looking at no more than the n
 * bytes there; 0 when they do not start with one (a stray continuation
 * byte, an overlong form, a surrogate, a value past U+10FFFF, a sequence cut
 * short by n or by a byte that does not continue it), or when n is 0. */
size_t ps_utf8_seq(const unsigned char *s, size_t n);

/* Where ps_utf8_seq() returns 0: how many bytes make up the invalid
 * sequence's maximal subpart (the lead byte and the continuation bytes that
 * were acceptable so far; at least 1 when n > 0). Replacing each maximal
 * subpart by one U+FFFD is the practice Unicode recommends. 0 when a valid
 * sequence starts at s. */
size_t ps_utf8_bad(const unsigned char *s, size_t n);

/* Code point c (at most U+10FFFF, not a surrogate) encoded at d, which has
 * room for 4 bytes; returns the number of bytes written (1 to 4). */
size_t ps_utf8_put(char *d, uint32_t c);

#endif
