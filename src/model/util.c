/* SPDX-License-Identifier: MIT */
/* Strict parsers and small pure helpers.
 *
 * Parsing decisions (documented in the man page):
 *  - no parser accepts leading/trailing blanks or a '+' sign;
 *  - addresses: "0x"/"0X" + hex digits, or decimal (leading zeros are decimal,
 *    never octal), up to 2^64-1;
 *  - sizes: the same number forms plus an optional suffix B, K, M, G, T, P, E
 *    (letter case-insensitive, powers of 1024), also written KB/kB or KiB;
 *    in hex the digits win, so "0x1E" is 30 and "0x1B" is 27;
 *  - durations: DIGITS[.DIGITS] or .DIGITS, then ns, us, ms, s, m or h
 *    (default s); computed exactly in integers, so a value that is not a
 *    whole number of nanoseconds ("1.0000000001s") is rejected. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libutil.h>

#include "pagescan/model/util.h"

/* Longest user input echoed back in an error message. */
#define TOKEN_MAX 64
#define TOK(s) (int)(strlen(s) > TOKEN_MAX ? TOKEN_MAX : strlen(s)), (s), (strlen(s) > TOKEN_MAX ? "..." : "")

/* Leading "0x" hex or decimal digits at s: the value and where it stopped.
 * 0 on success, -EINVAL when no digit, -ERANGE past 2^64-1. */
static int scan_u64(const char *s, uint64_t *ret, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		int d;

		p += 2;
		if (ps_hex_value(*p) < 0)
			return -EINVAL;
		for (; (d = ps_hex_value(*p)) >= 0; p++) {
			if (v > UINT64_MAX >> 4)
				return -ERANGE;
			v = v << 4 | (uint64_t)d;
		}
	} else {
		if (!ps_is_digit(*p))
			return -EINVAL;
		for (; ps_is_digit(*p); p++) {
			unsigned d = (unsigned)(*p - '0');

			if (v > (UINT64_MAX - d) / 10)
				return -ERANGE;
			v = v * 10 + d;
		}
	}
	*ret = v;
	*end = p;
	return 0;
}

int ps_parse_int(const char *s, long long min, long long max, long long *ret, struct ps_err *err)
{
	const char *errstr = NULL;
	long long v;

	if (min > max)
		return ps_errf(err, EINVAL, "internal error: empty range %lld..%lld", min, max);
	if (!s || !*s)
		return ps_errf(err, EINVAL, "empty number");
	/* strtonum would skip blanks and take '+'. */
	if (!ps_is_digit(s[0]) && !(s[0] == '-' && ps_is_digit(s[1])))
		return ps_errf(err, EINVAL, "invalid number \"%.*s%s\": expected a decimal integer", TOK(s));
	v = strtonum(s, min, max, &errstr);
	if (errstr) {
		if (strcmp(errstr, "too small") == 0)
			return ps_errf(err, ERANGE, "number %.*s%s is too small (minimum %lld)", TOK(s), min);
		if (strcmp(errstr, "too large") == 0)
			return ps_errf(err, ERANGE, "number %.*s%s is too large (maximum %lld)", TOK(s), max);
		return ps_errf(err, EINVAL, "invalid number \"%.*s%s\": expected a decimal integer", TOK(s));
	}
	*ret = v;
	return 0;
}

int ps_parse_uint(const char *s, uint64_t max, uint64_t *ret, struct ps_err *err)
{
	uint64_t v = 0;
	bool over = false;
	const char *p;

	if (!s || !*s)
		return ps_errf(err, EINVAL, "empty number");
	/* The same text as ps_parse_int: decimal digits, no blanks, no '+',
	 * no base prefix ("010" is ten); a negative number is too small. */
	if (s[0] == '-' && ps_is_digit(s[1]))
		return ps_errf(err, ERANGE, "number %.*s%s is too small (minimum 0)", TOK(s));
	for (p = s; ps_is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			over = true;
		else
			v = v * 10 + d;
	}
	if (p == s || *p)
		return ps_errf(err, EINVAL, "invalid number \"%.*s%s\": expected a decimal integer", TOK(s));
	if (over || v > max)
		return ps_errf(err, ERANGE, "number %.*s%s is too large (maximum %llu)", TOK(s), (unsigned long long)max);
	*ret = v;
	return 0;
}

int ps_parse_pid(const char *s, pid_t *ret, struct ps_err *err)
{
	const char *errstr = NULL;
	long long v;

	if (!s || !*s)
		return ps_errf(err, EINVAL, "pid must be a positive decimal number, got an empty string");
	if (!ps_is_digit(s[0]) && !(s[0] == '-' && ps_is_digit(s[1])))
		return ps_errf(err, EINVAL, "pid must be a positive decimal number, got \"%.*s%s\"", TOK(s));
	v = strtonum(s, 1, INT_MAX, &errstr);
	if (errstr) {
		if (strcmp(errstr, "invalid") == 0)
			return ps_errf(err, EINVAL, "pid must be a positive decimal number, got \"%.*s%s\"", TOK(s));
		return ps_errf(err, ERANGE, "pid must be between 1 and %d, got %.*s%s", INT_MAX, TOK(s));
	}
	*ret = (pid_t)v;
	return 0;
}

int ps_parse_addr(const char *s, uint64_t *ret, struct ps_err *err)
{
	const char *end;
	uint64_t v;
	int r;

	if (!s || !*s)
		return ps_errf(err, EINVAL, "empty address");
	r = scan_u64(s, &v, &end);
	if (r == -ERANGE)
		return ps_errf(err, ERANGE, "address \"%.*s%s\" is out of range (maximum 0xffffffffffffffff)", TOK(s));
	if (r < 0 || *end)
		return ps_errf(err, EINVAL, "invalid address \"%.*s%s\": expected 0x-prefixed hex or decimal", TOK(s));
	*ret = v;
	return 0;
}

int ps_parse_size(const char *s, uint64_t *ret, struct ps_err *err)
{
	char norm[32];
	const char *end;
	uint64_t v, scaled;
	char unit = '\0';
	int r;

	if (!s || !*s)
		return ps_errf(err, EINVAL, "empty size");
	r = scan_u64(s, &v, &end);
	if (r == -ERANGE)
		return ps_errf(err, ERANGE, "size \"%.*s%s\" is too large (maximum 16E - 1)", TOK(s));
	if (r < 0)
		goto invalid;
	/* Suffix: "", "B", or L, LB, LiB with L one of KMGTPE in any case. */
	if (*end && strchr("kKmMgGtTpPeE", *end)) {
		unit = *end++;
		if (end[0] == 'i' && end[1] == 'B')
			end += 2;
		else if (end[0] == 'B')
			end++;
	} else if (end[0] == 'B') {
		end++;
	}
	if (*end)
		goto invalid;

	/* expand_number() itself would read "010" as octal, wrap "-1" and skip
	 * blanks: hand it only a validated decimal number and a plain suffix. */
	if (unit)
		snprintf(norm, sizeof(norm), "%" PRIu64 "%c", v, unit);
	else
		snprintf(norm, sizeof(norm), "%" PRIu64, v);
	if (expand_number(norm, &scaled) < 0) {
		if (errno == ERANGE)
			return ps_errf(err, ERANGE, "size \"%.*s%s\" is too large (maximum 16E - 1)", TOK(s));
		goto invalid;
	}
	*ret = scaled;
	return 0;

invalid:
	return ps_errf(err, EINVAL,
		"invalid size \"%.*s%s\": expected a number (0x hex or decimal) with an optional K, M, G, T, P or E suffix",
		TOK(s));
}

#define NS_PER_S 1000000000ull
#define DURATION_MAX_NS (86400ull * NS_PER_S)
/* Past this many significant fraction digits no unit (at most 3.6e12 ns,
 * with few factors 2 and 5) can yield whole nanoseconds; it also bounds the
 * 128-bit arithmetic below (10^25 * 3.6e12 < 2^128). */
#define FRACTION_DIGITS_MAX 25
/* An integer part this long is way past one day in any unit. */
#define INTEGER_DIGITS_MAX 20

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "ms", 1000000 },
	{ "s", NS_PER_S },
	{ "m", 60 * NS_PER_S },
	{ "h", 3600 * NS_PER_S },
};

int ps_parse_duration(const char *s, uint64_t *ret_ns, struct ps_err *err)
{
	const char *p = s, *ip, *fp = NULL, *unit;
	size_t ilen = 0, flen = 0;
	unsigned __int128 ival = 0, fval = 0, pow10 = 1, total, unit_ns = 0;

	if (!s || !*s)
		return ps_errf(err, EINVAL, "empty duration");

	ip = p;
	while (ps_is_digit(*p))
		p++;
	ilen = (size_t)(p - ip);
	if (*p == '.') {
		fp = ++p;
		while (ps_is_digit(*p))
			p++;
		flen = (size_t)(p - fp);
		if (flen == 0)
			goto invalid;  /* "5." */
	}
	if (ilen == 0 && flen == 0)
		goto invalid;
	unit = p;
	if (!*unit) {
		unit_ns = NS_PER_S;
	} else {
		for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
			if (strcmp(unit, duration_units[i].name) == 0)
				unit_ns = duration_units[i].ns;
		if (!unit_ns)
			goto invalid;
	}

	/* Leading zeros of the integer and trailing zeros of the fraction carry
	 * no value but must not count against the digit limits. */
	while (ilen > 0 && *ip == '0') {
		ip++;
		ilen--;
	}
	while (flen > 0 && fp[flen - 1] == '0')
		flen--;
	if (ilen > INTEGER_DIGITS_MAX)
		goto too_long;
	if (flen > FRACTION_DIGITS_MAX)
		goto inexact;
	for (size_t i = 0; i < ilen; i++)
		ival = ival * 10 + (unsigned)(ip[i] - '0');
	for (size_t i = 0; i < flen; i++) {
		fval = fval * 10 + (unsigned)(fp[i] - '0');
		pow10 *= 10;
	}

	if (fval * unit_ns % pow10)
		goto inexact;
	total = ival * unit_ns + fval * unit_ns / pow10;
	if (total == 0)
		return ps_errf(err, EINVAL, "duration \"%.*s%s\" must be greater than 0", TOK(s));
	if (total > DURATION_MAX_NS)
		goto too_long;
	*ret_ns = (uint64_t)total;
	return 0;

too_long:
	return ps_errf(err, ERANGE, "duration \"%.*s%s\" is too long (maximum 1 day, 24h)", TOK(s));
inexact:
	return ps_errf(err, EINVAL, "duration \"%.*s%s\" is not a whole number of nanoseconds", TOK(s));
invalid:
	return ps_errf(err, EINVAL,
		"invalid duration \"%.*s%s\": expected a number with an optional unit ns, us, ms, s, m or h (e.g. 1.5s, 250ms)",
		TOK(s));
}

const char *ps_human_bytes(uint64_t bytes, char *buf, size_t n)
{
	/* Width 4 + NUL gives "1.5M", "512K", "0B" (one decimal below 10). */
	char tmp[32];

	if (n == 0)
		return buf;
	if (bytes > INT64_MAX) {
		/* humanize_number() takes int64_t; these are all 8E..16E. */
		double e = (double)bytes / (double)(1ull << 60);

		if (e < 9.95)
			snprintf(tmp, sizeof(tmp), "%.1fE", e);
		else
			snprintf(tmp, sizeof(tmp), "%.0fE", e);
	} else if (humanize_number(tmp, 5, (int64_t)bytes, "", HN_AUTOSCALE,
	                           HN_B | HN_DECIMAL | HN_NOSPACE) < 0) {
		snprintf(tmp, sizeof(tmp), "%" PRIu64 "B", bytes);
	}
	snprintf(buf, n, "%s", tmp);
	return buf;
}

uint64_t ps_page_size_v = 4096;
unsigned ps_page_shift_v = 12;

int ps_page_size_set(uint64_t size)
{
	if (!ps_page_size_ok(size))
		return -EINVAL;
	ps_page_size_v = size;
	ps_page_shift_v = (unsigned)__builtin_ctzll(size);
	return 0;
}

int ps_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	if (elem == 0)
		return -EINVAL;
	ncap = *cap < 8 ? 8 : *cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	p = reallocarray(*arr, ncap, elem);
	if (!p && ncap > need) {
		/* Doubling may ask for more than is available; try the minimum. */
		ncap = need;
		p = reallocarray(*arr, ncap, elem);
	}
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}
