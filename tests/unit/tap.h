/* SPDX-License-Identifier: MIT */
/* Minimal TAP for unit tests: ok(), typed comparisons printing both sides. */
#ifndef PAGESCAN_TAP_H
#define PAGESCAN_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* The result is visibly the condition (evaluated once): static analysers
 * don't look into variadic tap_ok(), and `if (!ok(p)) return;` must guard
 * what follows for them too. */
#define ok(cond, ...) ((cond) ? tap_is(1, tap_ok(1, __FILE__, __LINE__, __VA_ARGS__)) \
			      : tap_is(0, tap_ok(0, __FILE__, __LINE__, __VA_ARGS__)))
static inline int tap_is(int c, int printed)
{
	(void)printed;
	return c;
}
static inline __attribute__((format(printf, 4, 5))) int tap_ok(int c, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	printf("%sok %d - ", c ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!c) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return c;
}

#define is_u64(got, want, ...) do { uint64_t g_ = (got), w_ = (want); \
	if (!ok(g_ == w_, __VA_ARGS__)) printf("#   got  %" PRIu64 " (0x%" PRIx64 ")\n#   want %" PRIu64 " (0x%" PRIx64 ")\n", g_, g_, w_, w_); } while (0)
#define is_int(got, want, ...) do { long long g_ = (got), w_ = (want); \
	if (!ok(g_ == w_, __VA_ARGS__)) printf("#   got  %lld\n#   want %lld\n", g_, w_); } while (0)
#define is_str(got, want, ...) do { const char *g_ = (got), *w_ = (want); \
	if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__)) printf("#   got  \"%s\"\n#   want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } while (0)
#define is_dbl(got, want, eps, ...) do { double g_ = (got), w_ = (want); \
	if (!ok(g_ - w_ <= (eps) && w_ - g_ <= (eps), __VA_ARGS__)) printf("#   got  %.9g\n#   want %.9g\n", g_, w_); } while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
