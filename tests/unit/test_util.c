/* SPDX-License-Identifier: MIT */
/* Strict parsers, human sizes, file reading, growth, and struct ps_err. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pagescan/kernel/sys.h"
#include "pagescan/model/error.h"
#include "pagescan/model/util.h"
#include "tap.h"

/* Huge allocations must fail with NULL under ASan too, not abort. The name
 * is ASan's documented hook, hence reserved. */
const char *__asan_default_options(void); // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): ASan's hook
const char *__asan_default_options(void) // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): ASan's hook
{
	return "allocator_may_return_null=1";
}

#define E_OK 0

/* ---- struct ps_err ---------------------------------------------------- */

static void test_err(void)
{
	struct ps_err err = { 0 };
	char big[1000];

	errno = 1234;
	is_int(ps_errf(&err, EINVAL, "bad %s %d", "thing", 7), -EINVAL, "ps_errf returns -code");
	is_int(err.code, EINVAL, "code stored");
	is_str(err.msg, "bad thing 7", "message formatted");
	is_int(errno, 1234, "errno preserved by ps_errf");
	is_int(ps_errf(NULL, ENOENT, "x"), -ENOENT, "err == NULL tolerated");
	is_int(ps_errf(&err, -EPERM, "negative"), -EPERM, "a negative code is normalised");
	is_int(err.code, EPERM, "normalised code stored positive");
	is_int(ps_errf(&err, ENOMEM, "second"), -ENOMEM, "later call overwrites");
	is_str(err.msg, "second", "later message wins");

	is_int(ps_err_prefix(&err, "reading %s", "maps"), -ENOMEM, "prefix keeps and returns the code");
	is_str(err.msg, "reading maps: second", "prefix prepended");
	ps_err_prefix(&err, "pid %d", 42);
	is_str(err.msg, "pid 42: reading maps: second", "prefixes nest");
	is_int(ps_err_prefix(NULL, "x"), -EIO, "prefix with err == NULL returns -EIO");

	memset(&err, 0, sizeof(err));
	is_int(ps_err_prefix(&err, "context"), -EIO, "prefix of an unset error gives EIO");
	is_str(err.msg, "context", "prefix of an empty message has no dangling colon");
	err.code = -EACCES;
	is_int(ps_err_prefix(&err, "more"), -EACCES, "prefix normalises a negative stored code");
	is_int(err.code, EACCES, "normalised stored code is positive");

	/* An error is never "success", even from a stale errno of 0. */
	errno = 0;
	is_int(ps_errf(&err, errno, "no errno"), -EIO, "ps_errf with code 0 returns -EIO");
	is_int(err.code, EIO, "code 0 is stored as EIO");
	is_int(ps_errf(NULL, 0, "x"), -EIO, "code 0 with err == NULL returns -EIO");
	is_int(ps_errf(&err, INT_MIN, "x"), -EIO, "INT_MIN (no positive form) becomes EIO");

	/* Truncation is visible. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ps_errf(&err, E2BIG, "%s", big);
	is_int(strlen(err.msg), sizeof(err.msg) - 1, "long message fills the buffer");
	is_str(err.msg + sizeof(err.msg) - 4, "...", "long message ends in ...");
	ps_errf(&err, EINVAL, "short");
	ps_err_prefix(&err, "%s", big);
	is_str(err.msg + strlen(err.msg) - 3, "...", "long prefix ends in ...");
	ok(strlen(err.msg) < sizeof(err.msg), "prefixed message fits");

	/* A cut inside a multi-byte character drops the whole character. */
	{
		char utf[600];
		size_t i;

		memset(utf, 'b', 507);
		/* "é" = c3 a9 at bytes 507-508 straddles the cut at 508 */
		utf[507] = (char)0xc3;
		utf[508] = (char)0xa9;
		memset(utf + 509, 'c', 50);
		utf[559] = '\0';
		ps_errf(&err, EINVAL, "%s", utf);
		i = strlen(err.msg);
		is_str(err.msg + i - 3, "...", "UTF-8 cut ends in ...");
		ok((unsigned char)err.msg[i - 4] < 0x80, "no partial UTF-8 sequence before the ... (byte 0x%02x)",
		   (unsigned char)err.msg[i - 4]);
	}
}

/* ---- ps_parse_int / ps_parse_pid -------------------------------------- */

static void test_parse_int(void)
{
	static const struct {
		const char *s;
		long long min, max;
		int ret;
		long long want;
	} t[] = {
		{ "0", 0, 10, 0, 0 },
		{ "-0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "007", 0, 10, 0, 7 },
		{ "11", 0, 10, -ERANGE, 0 },
		{ "-1", 0, 10, -ERANGE, 0 },
		{ "-42", -100, 100, 0, -42 },
		{ "9223372036854775807", LLONG_MIN, LLONG_MAX, 0, LLONG_MAX },
		{ "-9223372036854775808", LLONG_MIN, LLONG_MAX, 0, LLONG_MIN },
		{ "9223372036854775808", LLONG_MIN, LLONG_MAX, -ERANGE, 0 },
		{ "-9223372036854775809", LLONG_MIN, LLONG_MAX, -ERANGE, 0 },
		{ "99999999999999999999999", LLONG_MIN, LLONG_MAX, -ERANGE, 0 },
		{ "", 0, 10, -EINVAL, 0 },
		{ " 1", 0, 10, -EINVAL, 0 },
		{ "1 ", 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 },
		{ "0x10", 0, 100, -EINVAL, 0 },
		{ "1e3", 0, 10000, -EINVAL, 0 },
		{ "1.0", 0, 10, -EINVAL, 0 },
		{ "abc", 0, 10, -EINVAL, 0 },
		{ "-", 0, 10, -EINVAL, 0 },
		{ "--1", -10, 10, -EINVAL, 0 },
		{ "1K", 0, 10000, -EINVAL, 0 },
		{ "5", 10, 0, -EINVAL, 0 },   /* min > max is a caller bug */
	};
	struct ps_err err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long long v = 777;
		int r;

		memset(&err, 0, sizeof(err));
		r = ps_parse_int(t[i].s, t[i].min, t[i].max, &v, &err);
		is_int(r, t[i].ret, "ps_parse_int(\"%s\", %lld, %lld)", t[i].s, t[i].min, t[i].max);
		if (t[i].ret == 0)
			is_int(v, t[i].want, "ps_parse_int(\"%s\") value", t[i].s);
		else
			ok(v == 777 && err.code == -t[i].ret && err.msg[0], "\"%s\" leaves *ret alone, sets err (%s)",
			   t[i].s, err.msg);
	}
	ps_parse_int("abc", 0, 10, &(long long){ 0 }, &err);
	is_str(err.msg, "invalid number \"abc\": expected a decimal integer", "invalid number message");
	ps_parse_int("11", 0, 10, &(long long){ 0 }, &err);
	is_str(err.msg, "number 11 is too large (maximum 10)", "too large message");
	ps_parse_int("-3", 0, 10, &(long long){ 0 }, &err);
	is_str(err.msg, "number -3 is too small (minimum 0)", "too small message");
	is_int(ps_parse_int(NULL, 0, 10, &(long long){ 0 }, NULL), -EINVAL, "NULL string, NULL err");
}

/* ps_parse_uint: ps_parse_int's text (decimal digits only) over 0..UINT64_MAX. */
static void test_parse_uint(void)
{
	static const struct {
		const char *s;
		uint64_t max;
		int ret;
		uint64_t want;
	} t[] = {
		{ "0", 10, 0, 0 },
		{ "10", 10, 0, 10 },
		{ "010", 100, 0, 10 },      /* decimal, not octal */
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999", UINT64_MAX, -ERANGE, 0 },
		{ "11", 10, -ERANGE, 0 },
		{ "-1", UINT64_MAX, -ERANGE, 0 },
		{ "", 10, -EINVAL, 0 },
		{ " 5", 10, -EINVAL, 0 },
		{ "5 ", 10, -EINVAL, 0 },
		{ "+5", 10, -EINVAL, 0 },
		{ "0x10", 100, -EINVAL, 0 },
		{ "1e3", 10000, -EINVAL, 0 },
		{ "-", 10, -EINVAL, 0 },
	};
	struct ps_err err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 777;
		memset(&err, 0, sizeof(err));
		int r = ps_parse_uint(t[i].s, t[i].max, &v, &err);
		is_int(r, t[i].ret, "ps_parse_uint(\"%s\")", t[i].s);
		if (t[i].ret == 0)
			ok(v == t[i].want, "ps_parse_uint(\"%s\") value", t[i].s);
		else
			ok(v == 777 && err.code == -t[i].ret && err.msg[0], "\"%s\" leaves *ret alone, sets err (%s)",
			   t[i].s, err.msg);
	}
	ps_parse_uint("0x10", 100, &(uint64_t){ 0 }, &err);
	is_str(err.msg, "invalid number \"0x10\": expected a decimal integer", "ps_parse_uint: invalid number message");
	ps_parse_uint("18446744073709551616", UINT64_MAX, &(uint64_t){ 0 }, &err);
	is_str(err.msg, "number 18446744073709551616 is too large (maximum 18446744073709551615)",
	       "ps_parse_uint: too large message");
	ps_parse_uint("-3", 10, &(uint64_t){ 0 }, &err);
	is_str(err.msg, "number -3 is too small (minimum 0)", "ps_parse_uint: too small message");
}

static void test_parse_pid(void)
{
	static const struct {
		const char *s;
		int ret;
		pid_t want;
	} t[] = {
		{ "1", 0, 1 },
		{ "42", 0, 42 },
		{ "0042", 0, 42 },
		{ "2147483647", 0, INT_MAX },
		{ "2147483648", -ERANGE, 0 },
		{ "4294967297", -ERANGE, 0 },
		{ "0", -ERANGE, 0 },
		{ "-1", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "12a", -EINVAL, 0 },
	};
	struct ps_err err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pid_t pid = 777;
		int r;

		memset(&err, 0, sizeof(err));
		r = ps_parse_pid(t[i].s, &pid, &err);
		is_int(r, t[i].ret, "ps_parse_pid(\"%s\")", t[i].s);
		if (t[i].ret == 0)
			is_int(pid, t[i].want, "ps_parse_pid(\"%s\") value", t[i].s);
		else
			ok(pid == 777 && strncmp(err.msg, "pid must be", 11) == 0 && strstr(err.msg, t[i].s),
			   "\"%s\": %s", t[i].s, err.msg);
	}
	ps_parse_pid("0", &(pid_t){ 0 }, &err);
	is_str(err.msg, "pid must be between 1 and 2147483647, got 0", "pid range message");
	ps_parse_pid("abc", &(pid_t){ 0 }, &err);
	is_str(err.msg, "pid must be a positive decimal number, got \"abc\"", "pid syntax message");
	is_int(ps_parse_pid(NULL, &(pid_t){ 0 }, NULL), -EINVAL, "NULL pid string");
}

/* ---- ps_parse_addr ---------------------------------------------------- */

static void test_parse_addr(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t want;
	} t[] = {
		{ "0", 0, 0 },
		{ "0x0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "010", 0, 10 },                    /* decimal, never octal */
		{ "0x1000", 0, 0x1000 },
		{ "0X1F", 0, 0x1f },
		{ "0xdeadBEEF", 0, 0xdeadbeef },
		{ "0x7fffffffffff", 0, 0x7fffffffffffull },
		{ "0xffffffffffffffff", 0, UINT64_MAX },
		{ "0x0000000000000000000000001", 0, 1 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "000000000000000000000018446744073709551615", 0, UINT64_MAX },
		{ "0x10000000000000000", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "0x", -EINVAL, 0 },
		{ "0X", -EINVAL, 0 },
		{ "x10", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1K", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "0x1g", -EINVAL, 0 },
		{ "ff", -EINVAL, 0 },
		{ "0x-1", -EINVAL, 0 },
		{ "0x 1", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 },
		{ "0b101", -EINVAL, 0 },
	};
	struct ps_err err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 777;
		int r;

		memset(&err, 0, sizeof(err));
		r = ps_parse_addr(t[i].s, &v, &err);
		is_int(r, t[i].ret, "ps_parse_addr(\"%s\")", t[i].s);
		if (t[i].ret == 0)
			is_u64(v, t[i].want, "ps_parse_addr(\"%s\") value", t[i].s);
		else
			ok(v == 777 && err.code == -t[i].ret && strstr(err.msg, t[i].s), "\"%s\": %s", t[i].s, err.msg);
	}
	ps_parse_addr("0xzz", &(uint64_t){ 0 }, &err);
	is_str(err.msg, "invalid address \"0xzz\": expected 0x-prefixed hex or decimal", "address message");
	ps_parse_addr("0x10000000000000000", &(uint64_t){ 0 }, &err);
	is_str(err.msg, "address \"0x10000000000000000\" is out of range (maximum 0xffffffffffffffff)",
	       "address overflow message");
	is_int(ps_parse_addr(NULL, &(uint64_t){ 0 }, NULL), -EINVAL, "NULL address");
}

/* ---- ps_parse_size ---------------------------------------------------- */

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t want;
	} t[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "4096", 0, 4096 },
		{ "010", 0, 10 },
		{ "0x10", 0, 16 },
		{ "0x10K", 0, 16384 },
		{ "0x1E", 0, 30 },                  /* hex digits win over the E suffix */
		{ "0x1B", 0, 27 },
		{ "1B", 0, 1 },
		{ "4096B", 0, 4096 },
		{ "1K", 0, 1024 },
		{ "1k", 0, 1024 },
		{ "1KB", 0, 1024 },
		{ "1kB", 0, 1024 },
		{ "1KiB", 0, 1024 },
		{ "1kiB", 0, 1024 },
		{ "4K", 0, 4096 },
		{ "1M", 0, 1ull << 20 },
		{ "1m", 0, 1ull << 20 },
		{ "2MiB", 0, 2ull << 20 },
		{ "1MB", 0, 1ull << 20 },
		{ "1G", 0, 1ull << 30 },
		{ "3GiB", 0, 3ull << 30 },
		{ "1T", 0, 1ull << 40 },
		{ "1P", 0, 1ull << 50 },
		{ "1E", 0, 1ull << 60 },
		{ "1EiB", 0, 1ull << 60 },
		{ "15E", 0, 15ull << 60 },
		{ "16383P", 0, 16383ull << 50 },
		{ "17179869183G", 0, 17179869183ull << 30 },
		{ "18014398509481983K", 0, 18014398509481983ull << 10 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551615B", 0, UINT64_MAX },
		{ "0xffffffffffffffff", 0, UINT64_MAX },
		{ "0K", 0, 0 },
		{ "16E", -ERANGE, 0 },
		{ "16384P", -ERANGE, 0 },
		{ "17179869184G", -ERANGE, 0 },
		{ "18014398509481984K", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "0x10000000000000000", -ERANGE, 0 },
		{ "0x4000000000000000K", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "-1K", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1 K", -EINVAL, 0 },
		{ "1.5K", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "1KK", -EINVAL, 0 },
		{ "1Kb", -EINVAL, 0 },
		{ "1KIB", -EINVAL, 0 },
		{ "1Ki", -EINVAL, 0 },
		{ "1iB", -EINVAL, 0 },
		{ "1BB", -EINVAL, 0 },
		{ "1b", -EINVAL, 0 },
		{ "1X", -EINVAL, 0 },
		{ "1Z", -EINVAL, 0 },
		{ "0x", -EINVAL, 0 },
		{ "0xK", -EINVAL, 0 },
		{ "0x1EiB", -EINVAL, 0 },
		{ "ten", -EINVAL, 0 },
	};
	struct ps_err err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 777;
		int r;

		memset(&err, 0, sizeof(err));
		r = ps_parse_size(t[i].s, &v, &err);
		is_int(r, t[i].ret, "ps_parse_size(\"%s\")", t[i].s);
		if (t[i].ret == 0)
			is_u64(v, t[i].want, "ps_parse_size(\"%s\") value", t[i].s);
		else
			ok(v == 777 && err.code == -t[i].ret && strstr(err.msg, t[i].s), "\"%s\": %s", t[i].s, err.msg);
	}
	ps_parse_size("1Q", &(uint64_t){ 0 }, &err);
	is_str(err.msg, "invalid size \"1Q\": expected a number (0x hex or decimal) with an optional K, M, G, T, P or E suffix",
	       "size message");
	ps_parse_size("16E", &(uint64_t){ 0 }, &err);
	is_str(err.msg, "size \"16E\" is too large (maximum 16E - 1)", "size overflow message");
	is_int(ps_parse_size(NULL, &(uint64_t){ 0 }, NULL), -EINVAL, "NULL size");
}

/* ---- ps_parse_duration ------------------------------------------------ */

#define NS 1ull
#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull
#define MIN (60 * SEC)
#define HOUR (3600 * SEC)

static void test_parse_duration(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t want;
	} t[] = {
		{ "1", 0, SEC },
		{ "1s", 0, SEC },
		{ "2", 0, 2 * SEC },
		{ "0.25", 0, SEC / 4 },
		{ ".5", 0, SEC / 2 },
		{ "1.5s", 0, 3 * SEC / 2 },
		{ "0.1s", 0, 100000000 },
		{ "0.1", 0, 100000000 },
		{ "0.3s", 0, 300000000 },
		{ "0.7s", 0, 700000000 },
		{ "2.675s", 0, 2675000000ull },
		{ "0.000000001s", 0, 1 },
		{ "1.000000001s", 0, SEC + 1 },
		{ "1ns", 0, NS },
		{ "999ns", 0, 999 },
		{ "1us", 0, US },
		{ "1.5us", 0, 1500 },
		{ "0.001us", 0, 1 },
		{ "1ms", 0, MS },
		{ "100ms", 0, 100 * MS },
		{ "0.1ms", 0, 100 * US },
		{ "1m", 0, MIN },
		{ "0.1m", 0, 6 * SEC },
		{ "1.5m", 0, 90 * SEC },
		{ "1h", 0, HOUR },
		{ "0.0000001h", 0, 360000 },
		{ "1.1h", 0, 3960 * SEC },
		{ "24h", 0, 24 * HOUR },
		{ "1440m", 0, 24 * HOUR },
		{ "86400", 0, 86400 * SEC },
		{ "86400s", 0, 86400 * SEC },
		{ "86400000ms", 0, 86400 * SEC },
		{ "86400000000000ns", 0, 86400 * SEC },
		{ "000000000000000000000000000001s", 0, SEC },
		{ "1.0000000000000000000000000000000000s", 0, SEC },
		{ "0010.50", 0, 10 * SEC + SEC / 2 },
		/* too long */
		{ "86400000000001ns", -ERANGE, 0 },
		{ "86400.000000001s", -ERANGE, 0 },
		{ "86401", -ERANGE, 0 },
		{ "1441m", -ERANGE, 0 },
		{ "24.5h", -ERANGE, 0 },
		{ "25h", -ERANGE, 0 },
		{ "99999999999999999999999999h", -ERANGE, 0 },
		{ "18446744073709551616ns", -ERANGE, 0 },
		/* zero */
		{ "0", -EINVAL, 0 },
		{ "0s", -EINVAL, 0 },
		{ "0.0", -EINVAL, 0 },
		{ "0ns", -EINVAL, 0 },
		{ ".0h", -EINVAL, 0 },
		/* not whole nanoseconds */
		{ "0.5ns", -EINVAL, 0 },
		{ "1.5ns", -EINVAL, 0 },
		{ "0.0001us", -EINVAL, 0 },
		{ "1.0000000001s", -EINVAL, 0 },
		{ "0.333333333333m", -EINVAL, 0 },
		{ "0.00000000000000000000000000000001s", -EINVAL, 0 },
		/* syntax */
		{ "", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ ".", -EINVAL, 0 },
		{ ".s", -EINVAL, 0 },
		{ "5.", -EINVAL, 0 },
		{ "5.s", -EINVAL, 0 },
		{ "1.5.5", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1 s", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "1S", -EINVAL, 0 },
		{ "1sec", -EINVAL, 0 },
		{ "1min", -EINVAL, 0 },
		{ "1d", -EINVAL, 0 },
		{ "1ss", -EINVAL, 0 },
		{ "1ms5", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "1,5s", -EINVAL, 0 },
		{ "inf", -EINVAL, 0 },
		{ "nan", -EINVAL, 0 },
	};
	struct ps_err err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 777;
		int r;

		memset(&err, 0, sizeof(err));
		r = ps_parse_duration(t[i].s, &v, &err);
		is_int(r, t[i].ret, "ps_parse_duration(\"%s\")", t[i].s);
		if (t[i].ret == 0)
			is_u64(v, t[i].want, "ps_parse_duration(\"%s\") value", t[i].s);
		else
			ok(v == 777 && err.code == -t[i].ret && strstr(err.msg, t[i].s), "\"%s\": %s", t[i].s, err.msg);
	}
	/* Every n/10 and n/100 second is exact (binary floating point would not be). */
	{
		int bad = 0;

		for (unsigned n = 1; n <= 9999; n++) {
			char s[32];
			uint64_t v = 0;

			snprintf(s, sizeof(s), "%u.%02u", n / 100, n % 100);
			if (ps_parse_duration(s, &v, NULL) != 0 || v != (uint64_t)n * 10000000ull) {
				if (bad++ < 3)
					printf("#   \"%s\" -> %llu\n", s, (unsigned long long)v);
			}
		}
		ok(bad == 0, "0.01 .. 99.99 s in steps of 0.01 are exact (%d wrong)", bad);
	}
	ps_parse_duration("5x", &(uint64_t){ 0 }, &err);
	is_str(err.msg, "invalid duration \"5x\": expected a number with an optional unit ns, us, ms, s, m or h (e.g. 1.5s, 250ms)",
	       "duration syntax message");
	ps_parse_duration("0", &(uint64_t){ 0 }, &err);
	is_str(err.msg, "duration \"0\" must be greater than 0", "duration zero message");
	ps_parse_duration("25h", &(uint64_t){ 0 }, &err);
	is_str(err.msg, "duration \"25h\" is too long (maximum 1 day, 24h)", "duration max message");
	ps_parse_duration("0.5ns", &(uint64_t){ 0 }, &err);
	is_str(err.msg, "duration \"0.5ns\" is not a whole number of nanoseconds", "duration precision message");
	is_int(ps_parse_duration(NULL, &(uint64_t){ 0 }, NULL), -EINVAL, "NULL duration");
}

/* ---- ps_human_bytes ----------------------------------------------------- */

static void test_human_bytes(void)
{
	static const struct {
		uint64_t v;
		const char *want;
	} t[] = {
		{ 0, "0B" },
		{ 1, "1B" },
		{ 512, "512B" },
		{ 999, "999B" },
		{ 1023, "1.0K" },
		{ 1024, "1.0K" },
		{ 1536, "1.5K" },
		{ 4096, "4.0K" },
		{ 10240, "10K" },
		{ 512 * 1024, "512K" },
		{ 1048575, "1.0M" },
		{ 1572864, "1.5M" },
		{ 10ull << 20, "10M" },
		{ 1ull << 30, "1.0G" },
		{ 3ull << 39, "1.5T" },
		{ 1ull << 50, "1.0P" },
		{ 1ull << 60, "1.0E" },
		{ (1ull << 63) - 1, "8.0E" },
		{ 1ull << 63, "8.0E" },
		{ 9ull << 60, "9.0E" },
		{ 10ull << 60, "10E" },
		{ UINT64_MAX, "16E" },
	};
	char buf[16], tiny[3];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(buf, 'X', sizeof(buf));
		is_str(ps_human_bytes(t[i].v, buf, sizeof(buf)), t[i].want, "human %llu", (unsigned long long)t[i].v);
	}
	ok(ps_human_bytes(1, buf, sizeof(buf)) == buf, "returns buf");
	memset(tiny, 'X', sizeof(tiny));
	ps_human_bytes(1572864, tiny, 2);
	is_str(tiny, "1", "too small a buffer is cut, terminated");
	ok(tiny[2] == 'X', "no write past n");
}

/* ---- ps_now_ns, ps_close ---------------------------------------------- */

static void test_clock_close(void)
{
	struct timespec ts;
	uint64_t a, b, ref;
	int fds[2], fd;

	a = ps_now_ns();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ref = (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
	b = ps_now_ns();
	ok(a > 0 && a <= ref && ref <= b, "ps_now_ns is CLOCK_MONOTONIC (%llu <= %llu <= %llu)",
	   (unsigned long long)a, (unsigned long long)ref, (unsigned long long)b);
	{
		int mono = 1;

		for (int i = 0; i < 100000; i++) {
			uint64_t c = ps_now_ns();

			if (c < b)
				mono = 0;
			b = c;
		}
		ok(mono, "ps_now_ns never goes back");
	}

	ok(pipe2(fds, O_CLOEXEC) == 0, "pipe");
	fd = fds[0];
	errno = 4321;
	ps_close(&fd);
	is_int(fd, -1, "ps_close sets -1");
	is_int(errno, 4321, "ps_close preserves errno");
	ok(fcntl(fds[0], F_GETFD) < 0 && errno == EBADF, "fd really closed");
	ps_close(&fd);
	is_int(fd, -1, "ps_close(-1) is a no-op");
	fd = -5;
	ps_close(&fd);
	is_int(fd, -1, "negative fd normalised to -1");
	close(fds[1]);
}

/* ---- ps_read_file_at -------------------------------------------------- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void write_file(int dirfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;

	while (fd >= 0 && off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (fd < 0 || off != len)
		printf("# could not write %s\n", name);
	if (fd >= 0)
		close(fd);
}

static void test_read_file(void)
{
	char tmpl[] = "/tmp/pagescan-test-util-XXXXXX";
	char *dir = mkdtemp(tmpl), *buf = NULL, *big;
	size_t len = 0, bigsz = 3 * 1024 * 1024 + 17;
	int dfd, r, fds_before;

	ok(dir != NULL, "mkdtemp");
	if (!dir)
		return;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(dfd >= 0, "open temp dir");
	fds_before = count_fds();

	write_file(dfd, "empty", "", 0);
	write_file(dfd, "small", "hello\nworld\n", 12);
	big = malloc(bigsz);
	for (size_t i = 0; i < bigsz; i++)
		big[i] = (char)('a' + (i * 7) % 26);
	write_file(dfd, "big", big, bigsz);

	r = ps_read_file_at(dfd, "empty", 100, &buf, &len);
	ok(r == 0 && buf && len == 0 && buf[0] == '\0', "empty file: \"\", length 0");
	free(buf);
	buf = NULL;

	r = ps_read_file_at(dfd, "small", 100, &buf, &len);
	ok(r == 0 && len == 12 && strcmp(buf, "hello\nworld\n") == 0, "small file read and terminated");
	free(buf);
	buf = NULL;

	r = ps_read_file_at(dfd, "small", 12, &buf, &len);
	ok(r == 0 && len == 12 && buf[12] == '\0', "exactly max bytes is fine");
	free(buf);
	buf = NULL;

	buf = (char *)"untouched";
	r = ps_read_file_at(dfd, "small", 11, &buf, &len);
	is_int(r, -EFBIG, "max + 1 bytes is EFBIG");
	is_str(buf, "untouched", "output untouched on failure");
	buf = NULL;

	r = ps_read_file_at(dfd, "small", 0, &buf, &len);
	is_int(r, -EFBIG, "max 0 with data is EFBIG");
	r = ps_read_file_at(dfd, "empty", 0, &buf, &len);
	ok(r == 0 && len == 0 && buf[0] == '\0', "max 0, empty file is fine");
	free(buf);
	buf = NULL;

	r = ps_read_file_at(dfd, "big", SIZE_MAX, &buf, &len);
	ok(r == 0 && len == bigsz && memcmp(buf, big, bigsz) == 0 && buf[bigsz] == '\0',
	   "3 MiB file read whole with max SIZE_MAX (%zu bytes)", len);
	free(buf);
	buf = NULL;
	r = ps_read_file_at(dfd, "big", bigsz, &buf, NULL);
	ok(r == 0 && memcmp(buf, big, bigsz) == 0, "big file at exactly max, ret_len NULL");
	free(buf);
	buf = NULL;
	is_int(ps_read_file_at(dfd, "big", bigsz - 1, &buf, &len), -EFBIG, "big file one past max");
	is_int(ps_read_file_at(dfd, "big", 4096, &buf, &len), -EFBIG, "big file, small max");

	is_int(ps_read_file_at(dfd, "missing", 100, &buf, &len), -ENOENT, "missing file is -ENOENT");
	is_int(ps_read_file_at(dfd, ".", 100, &buf, &len), -EISDIR, "directory is -EISDIR");

	/* /proc reports size 0 but has content. */
	r = ps_read_file_at(AT_FDCWD, "/proc/self/maps", 1 << 24, &buf, &len);
	ok(r == 0 && len > 0 && strlen(buf) == len && strstr(buf, "[stack]"),
	   "/proc/self/maps (st_size 0) read in full: %zu bytes", len);

	/* A kept descriptor reads anew each time (from offset 0): a mapping
	 * made between two reads of one open /proc/self/maps is in the
	 * second, none in the first. */
	{
		int mfd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
		char *b1 = NULL, *b2 = NULL, *b3 = NULL, hex[32];
		size_t l1 = 0, l2 = 0, l3 = 0;
		is_int(ps_pread_all(mfd, 1 << 24, &b1, &l1), 0, "kept maps: first read");
		/* shared: it cannot merge with a neighbour */
		void *m = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		snprintf(hex, sizeof(hex), "%lx-", (unsigned long)(uintptr_t)m);
		is_int(ps_pread_all(mfd, 1 << 24, &b2, &l2), 0, "kept maps: second read");
		ok(b1 && !strstr(b1, hex) && b2 && strstr(b2, hex), "kept maps: the new mapping in the second read only");
		munmap(m, 3 * 4096);
		is_int(ps_pread_all(mfd, 1 << 24, &b3, &l3), 0, "kept maps: third read");
		ok(b3 && !strstr(b3, hex) && strstr(b3, "[stack]"), "kept maps: gone again, read whole");
		free(b1);
		free(b2);
		free(b3);
		close(mfd);
	}
	free(buf);
	buf = NULL;
	{
		int pfd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		r = ps_read_file_at(pfd, "status", 1 << 20, &buf, &len);
		ok(r == 0 && strncmp(buf, "Name:", 5) == 0 && buf[len - 1] == '\n', "status relative to a /proc dirfd");
		free(buf);
		buf = NULL;
		close(pfd);
	}

	is_int(count_fds(), fds_before, "no fd leaked");

	unlinkat(dfd, "empty", 0);
	unlinkat(dfd, "small", 0);
	unlinkat(dfd, "big", 0);
	close(dfd);
	rmdir(dir);
	free(big);
}

/* ---- ps_grow ------------------------------------------------------------ */

static void test_grow(void)
{
	int *arr = NULL;
	size_t cap = 0;
	void *p = NULL;
	int reallocs = 0, r;

	r = ps_grow(&p, &cap, 1, sizeof(int));
	arr = p;
	ok(r == 0 && arr && cap >= 1, "grow from empty (cap %zu)", cap);
	{
		size_t old = cap;

		is_int(ps_grow(&p, &cap, old, sizeof(int)), 0, "need <= cap is a no-op");
		ok(p == arr && cap == old, "no-op keeps pointer and cap");
		is_int(ps_grow(&p, &cap, 0, sizeof(int)), 0, "need 0 is a no-op");
	}
	for (size_t need = 1; need <= 1000000; need++) {
		size_t old = cap;

		if (ps_grow(&p, &cap, need, sizeof(int)) != 0) {
			ok(0, "grow to %zu", need);
			break;
		}
		arr = p;
		arr[need - 1] = (int)need;
		if (cap != old) {
			reallocs++;
			if (cap < 2 * old) {
				ok(0, "growth doubles (%zu -> %zu)", old, cap);
				break;
			}
		}
	}
	ok(reallocs <= 20, "1e6 one-by-one appends take %d reallocations", reallocs);
	{
		int good = 1;

		for (size_t i = 0; i < 1000000; i++)
			good &= arr[i] == (int)(i + 1);
		ok(good, "contents survive growth");
	}
	{
		size_t old = cap;
		void *oldp = p;

		is_int(ps_grow(&p, &cap, SIZE_MAX, sizeof(int)), -ENOMEM, "need * elem overflow is -ENOMEM");
		ok(p == oldp && cap == old, "failure leaves array and cap alone");
		is_int(ps_grow(&p, &cap, SIZE_MAX / 2, 2), -ENOMEM, "impossible allocation is -ENOMEM");
		ok(p == oldp && cap == old, "still untouched");
		is_int(ps_grow(&p, &cap, old + 1, 0), -EINVAL, "elem 0 is -EINVAL");
	}
	free(p);

	/* Doubling that would overflow falls back to exactly need. */
	{
		size_t c = SIZE_MAX / 2 + 10;
		void *q = NULL;

		is_int(ps_grow(&q, &c, SIZE_MAX - 1, 1), -ENOMEM, "cap near SIZE_MAX: no wrap, just -ENOMEM");
		ok(q == NULL && c == SIZE_MAX / 2 + 10, "untouched");
	}
}

int main(void)
{
	test_err();
	test_parse_int();
	test_parse_uint();
	test_parse_pid();
	test_parse_addr();
	test_parse_size();
	test_parse_duration();
	test_human_bytes();
	test_clock_close();
	test_read_file();
	test_grow();
	return tap_done();
}
