/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the benchmark programs (header only: each bench
 * program is one .c file and links nothing of pagescan's, so what they
 * measure is independent of pagescan's own code). */
#ifndef PAGESCAN_BENCH_COMMON_H
#define PAGESCAN_BENCH_COMMON_H

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pagescan/kernel/compat.h" /* PAGEMAP_SCAN ABI, guarded for old UAPI headers */

/* The kernel's page size (4, 16 or 64 KiB), at run time. */
#define BPAGE ((uint64_t)sysconf(_SC_PAGESIZE))
#define BPAGE_SHIFT ((unsigned)__builtin_ctzll(BPAGE))

extern char **environ;

static inline void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* Unsigned decimal with an optional K/M/G/T suffix (powers of 1024); strict. */
static inline uint64_t parse_size(const char *s, const char *what)
{
	char *end;
	if (!s || !isdigit((unsigned char)s[0]))
		die("bad %s: \"%s\"", what, s ? s : "");
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		die("bad %s: \"%s\"", what, s);
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' && shift)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		die("bad %s: \"%s\"", what, s);
	return (uint64_t)v << shift;
}

static inline uint64_t parse_u64(const char *s, uint64_t min, uint64_t max, const char *what)
{
	char *end;
	if (!s || !isdigit((unsigned char)s[0]))
		die("bad %s: \"%s\"", what, s ? s : "");
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		die("bad %s: \"%s\" (%" PRIu64 "..%" PRIu64 ")", what, s, min, max);
	return v;
}

/* Duration: NUMBER followed by ms or s (default s), e.g. 100ms, 2s, 1.5s. */
static inline uint64_t parse_dur_ns(const char *s, const char *what)
{
	char *end;
	if (!s || !isdigit((unsigned char)s[0]))
		die("bad %s: \"%s\"", what, s ? s : "");
	errno = 0;
	double v = strtod(s, &end);
	if (errno || v < 0 || v > 86400.0 * 1000)
		die("bad %s: \"%s\"", what, s);
	if (strcmp(end, "ms") == 0)
		return (uint64_t)(v * 1e6);
	if (strcmp(end, "us") == 0)
		return (uint64_t)(v * 1e3);
	if (*end == 0 || strcmp(end, "s") == 0)
		return (uint64_t)(v * 1e9);
	die("bad %s: \"%s\"", what, s);
}

/* One raw result row: bench,case,metric,unit,round,value. */
static inline void emit(const char *bench, const char *cas, const char *metric, const char *unit, int round,
                        double value)
{
	printf("%s,%s,%s,%s,%d,%.6g\n", bench, cas, metric, unit, round, value);
	fflush(stdout);
}

/* The minimal harvest of [start, end) of pagemap fd pm: the written pages,
 * protected again (PM_SCAN_WP_MATCHING), in calls of vec_len regions. */
static inline uint64_t raw_harvest_range(int pm, uint64_t start, uint64_t end, struct page_region *vec,
                                         size_t vec_len)
{
	uint64_t pages = 0;
	while (start < end) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.flags = PM_SCAN_WP_MATCHING,
			.start = start,
			.end = end,
			.vec = (uintptr_t)vec,
			.vec_len = vec_len,
			.category_mask = PAGE_IS_WRITTEN,
			.return_mask = PAGE_IS_WRITTEN,
		};
		int n = ioctl(pm, PAGEMAP_SCAN, &arg);
		if (n < 0)
			die("PAGEMAP_SCAN: %s", strerror(errno));
		for (int k = 0; k < n; k++)
			pages += (vec[k].end - vec[k].start) / BPAGE;
		if ((size_t)n < vec_len || arg.walk_end >= end)
			break;
		start = arg.walk_end;
	}
	return pages;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline double median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- child processes ----------------------------------------------------- */

/* Spawn argv with the given fds as 0, 1, 2 (-1: /dev/null). Every fd of ours
 * is O_CLOEXEC, so the child gets exactly these three. */
static inline pid_t spawn(char *const argv[], int in, int out, int errfd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid;
	int fds[3] = { in, out, errfd };

	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 3; i++) {
		if (fds[i] < 0)
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
		else
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	}
	/* Default signal dispositions and an empty mask in the child. */
	posix_spawnattr_init(&at);
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	int r = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r)
		die("cannot run %s: %s", argv[0], strerror(r));
	return pid;
}

static inline int wait_child(pid_t pid, struct rusage *ru)
{
	int st;
	struct rusage dummy;
	while (wait4(pid, &st, 0, ru ? ru : &dummy) < 0)
		if (errno != EINTR)
			die("wait4 %d: %s", (int)pid, strerror(errno));
	return st;
}

static inline double rusage_cpu_s(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
	       ru->ru_stime.tv_usec / 1e6;
}

static inline void make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
}

/* ---- line reader: keeps the head of each line (JSON interval records can be
 * megabytes; the fields we need come first) ----------------------------------- */

#define LR_HEAD 4096

struct lreader {
	int fd;
	bool eof;
	char head[LR_HEAD];
	size_t hlen;
	char buf[1 << 16];
	size_t pos, len;
};

static inline void lr_init(struct lreader *lr, int fd)
{
	lr->fd = fd;
	lr->eof = false;
	lr->hlen = lr->pos = lr->len = 0;
}

/* Next complete line (head only, NUL terminated) from what is buffered;
 * reads when the buffer is empty and block is true. Returns the line, or
 * NULL (no full line buffered without blocking, or EOF: check lr->eof). */
static inline const char *lr_next(struct lreader *lr, bool block)
{
	for (;;) {
		if (lr->pos < lr->len) {
			char *s = lr->buf + lr->pos;
			size_t n = lr->len - lr->pos;
			char *nl = memchr(s, '\n', n);
			size_t take = nl ? (size_t)(nl - s) : n;
			size_t room = LR_HEAD - 1 - lr->hlen;
			memcpy(lr->head + lr->hlen, s, take < room ? take : room);
			lr->hlen += take < room ? take : room;
			lr->pos += nl ? take + 1 : take;
			if (nl) {
				lr->head[lr->hlen] = 0;
				lr->hlen = 0;
				return lr->head;
			}
		}
		if (lr->eof)
			return NULL;
		if (!block) {
			struct pollfd p = { .fd = lr->fd, .events = POLLIN };
			if (poll(&p, 1, 0) <= 0)
				return NULL;
		}
		ssize_t r = read(lr->fd, lr->buf, sizeof(lr->buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			lr->eof = true;
			if (lr->hlen) {
				lr->head[lr->hlen] = 0;
				lr->hlen = 0;
				return lr->head;
			}
			return NULL;
		}
		lr->pos = 0;
		lr->len = (size_t)r;
	}
}

/* A line reader for fd on the heap (its buffer is too large for every
 * caller's stack); lr_free closes fd and frees it. */
static inline struct lreader *lr_new(int fd)
{
	struct lreader *lr = malloc(sizeof(*lr));
	if (!lr)
		die("out of memory");
	lr_init(lr, fd);
	return lr;
}

static inline void lr_free(struct lreader *lr)
{
	close(lr->fd);
	free(lr);
}

/* argv started with its standard output into a pipe (*pid), read line by
 * line. */
static inline struct lreader *spawn_reader(char *const argv[], pid_t *pid)
{
	int p[2];
	make_pipe(p);
	*pid = spawn(argv, -1, p[1], STDERR_FILENO);
	close(p[1]);
	return lr_new(p[0]);
}

/* Value of "key": in a JSON line head (number), or -1 when missing. */
static inline double json_num(const char *line, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(line, pat);
	if (!p)
		return -1;
	return strtod(p + strlen(pat), NULL);
}

static inline bool json_type(const char *line, const char *type)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "{\"type\":\"%s\"", type);
	return strncmp(line, pat, strlen(pat)) == 0;
}

/* ---- /proc readers -------------------------------------------------------- */

/* A "Name:   N kB" field of /proc/PID/status, in KiB; -1 if missing. */
static inline long proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long v = -1;
	size_t fl = strlen(field);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* CPU time a process used so far, in ns (first field of /proc/PID/schedstat:
 * time on CPU, all threads). -1 if gone. */
static inline double proc_cpu_ns(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	unsigned long long v;
	int ok = fscanf(f, "%llu", &v);
	fclose(f);
	return ok == 1 ? (double)v : -1;
}

/* utime and stime (seconds) from /proc/PID/stat. */
static inline int proc_utime_stime(pid_t pid, double *ut, double *st)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long long u, s;
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &u, &s) != 2)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	*ut = (double)u / (double)hz;
	*st = (double)s / (double)hz;
	return 0;
}

static inline long mem_available_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long v = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "MemAvailable:", 13) == 0)
			v = strtol(line + 13, NULL, 10);
	fclose(f);
	return v;
}

/* One mode of a bench's --modes list, "none" or KIND:INTERVAL. */
struct mode_spec {
	char name[32];     /* none, KIND_INTERVAL */
	char kind[16];     /* none, KIND */
	char interval[16]; /* as given: 1s, 100ms ("" for none) */
	uint64_t interval_ns;
};

/* Parse the comma-separated list into at most max specs; each KIND must be
 * one of kinds (NULL-terminated) and carry an interval. Returns how many;
 * *none: the index of "none", the baseline (dies without it). */
static inline int parse_modes(const char *modes, const char *const *kinds, struct mode_spec *out, int max, int *none)
{
	int n = 0;
	char *list = strdup(modes), *save = NULL;
	if (!list)
		die("out of memory");
	*none = -1;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == max)
			die("too many modes");
		struct mode_spec *m = &out[n];
		memset(m, 0, sizeof(*m));
		char *colon = strchr(t, ':');
		if (colon) {
			*colon = 0;
			snprintf(m->interval, sizeof(m->interval), "%.15s", colon + 1);
			m->interval_ns = parse_dur_ns(colon + 1, "interval");
			snprintf(m->name, sizeof(m->name), "%.12s_%.12s", t, colon + 1);
		} else {
			snprintf(m->name, sizeof(m->name), "%.12s", t);
		}
		snprintf(m->kind, sizeof(m->kind), "%.12s", t);
		bool known = false;
		for (const char *const *k = kinds; *k; k++)
			known |= strcmp(t, *k) == 0;
		if (strcmp(t, "none") == 0)
			*none = n;
		else if (!known)
			die("unknown mode %s", t);
		else if (!colon || !m->interval_ns)
			die("mode %s needs an interval (e.g. %s:1s)", t, t);
		n++;
	}
	free(list);
	if (*none < 0)
		die("the modes must include none (the baseline)");
	return n;
}

/* The spec's fields into a bench's own mode struct (same names and sizes). */
#define MODE_FROM_SPEC(m, s)                                                  \
	do {                                                                   \
		memcpy((m)->name, (s)->name, sizeof((m)->name));               \
		memcpy((m)->kind, (s)->kind, sizeof((m)->kind));               \
		memcpy((m)->interval, (s)->interval, sizeof((m)->interval));   \
		(m)->interval_ns = (s)->interval_ns;                           \
	} while (0)

/* Call tick(arg) every interval_ns until stopfd becomes readable (an
 * in-process tracker's harvesting thread), on a fixed schedule: after a
 * late tick, the ones it delayed follow at once. */
static inline void every_until(int stopfd, uint64_t interval_ns, void (*tick)(void *), void *arg)
{
	uint64_t next = now_ns() + interval_ns;
	for (;;) {
		uint64_t t = now_ns();
		int ms = next > t ? (int)((next - t + 999999) / 1000000) : 0;
		struct pollfd p = { .fd = stopfd, .events = POLLIN };
		if (poll(&p, 1, ms) > 0)
			return;
		if (now_ns() < next)
			continue;
		tick(arg);
		next += interval_ns;
	}
}

/* Write a whole string to fd. */
static inline void put(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write to a child: %s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

#endif
