/* SPDX-License-Identifier: MIT */
/* run's output queue (src/cli/asyncout.c): everything queued is written in
 * order; a write over the cap is refused whole; uncapped, the end record
 * always goes in; a reader that went away is the writer's error. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../src/cli/asyncout.h"
#include "tap.h"

/* Fill the pipe's buffer from its write end: how many bytes it took. */
static size_t fill(int wfd)
{
	static const char junk[4096];
	size_t n = 0;
	int fl = fcntl(wfd, F_GETFL);
	fcntl(wfd, F_SETFL, fl | O_NONBLOCK);
	for (ssize_t w; (w = write(wfd, junk, sizeof(junk))) > 0;)
		n += (size_t)w;
	fcntl(wfd, F_SETFL, fl);
	return n;
}

/* Read exactly n bytes into buf (NULL: drop them). */
static bool read_n(int fd, char *buf, size_t n)
{
	char tmp[4096] = { 0 }; /* a sink: initialised for the analysers only */
	while (n) {
		ssize_t r = read(fd, buf ? buf : tmp, buf || n < sizeof(tmp) ? n : sizeof(tmp));
		if (r <= 0)
			return false;
		n -= (size_t)r;
		if (buf)
			buf += r;
	}
	return true;
}

/* Until the writer has nothing left (it is blocked or done), bounded. */
static bool wait_pending(struct ps_asyncout *q, size_t want)
{
	for (int i = 0; i < 5000; i++) {
		if (ps_asyncout_pending(q) == want)
			return true;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return false;
}

static void test_order(void)
{
	int p[2];
	char got[16] = { 0 };
	if (pipe(p) < 0)
		return;
	struct ps_asyncout *q = ps_asyncout_start(p[1], 0);
	ok(q != NULL, "a queue starts");
	is_int(ps_asyncout_write(q, "abc", 3), 0, "write queued");
	is_int(ps_asyncout_write(q, "def", 3), 0, "... and another");
	is_int(ps_asyncout_finish(q), 0, "finish: written");
	ok(read_n(p[0], got, 6) && memcmp(got, "abcdef", 6) == 0, "in order: %s", got);
	close(p[0]);
	close(p[1]);
}

static void test_cap(void)
{
	int p[2];
	char got[128];
	if (pipe(p) < 0)
		return;
	size_t pre = fill(p[1]);
	struct ps_asyncout *q = ps_asyncout_start(p[1], 100);
	char a[60], b[50];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	is_int(ps_asyncout_write(q, a, sizeof(a)), 0, "60 bytes under a cap of 100");
	ok(wait_pending(q, sizeof(a)), "... the writer holds them, the pipe full");
	ok(!ps_asyncout_refused(q), "... nothing refused yet");
	is_int(ps_asyncout_write(q, b, sizeof(b)), -ENOBUFS, "50 more: over the cap, refused");
	ok(ps_asyncout_refused(q), "... and said so");
	is_u64(ps_asyncout_pending(q), sizeof(a), "... nothing of them queued");
	ps_asyncout_uncap(q);
	is_int(ps_asyncout_write(q, b, sizeof(b)), 0, "uncapped (the end record): queued");
	ok(read_n(p[0], NULL, pre), "the reader reads again");
	is_int(ps_asyncout_finish(q), 0, "finish: all written");
	ok(read_n(p[0], got, sizeof(a) + sizeof(b)) && memcmp(got, a, sizeof(a)) == 0 &&
	           memcmp(got + sizeof(a), b, sizeof(b)) == 0,
	   "the first 60, then the 50, whole");
	close(p[0]);
	close(p[1]);
}

static void test_epipe(void)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	close(p[0]);
	struct ps_asyncout *q = ps_asyncout_start(p[1], 0);
	is_int(ps_asyncout_write(q, "x", 1), 0, "queued before the writer knows");
	ok(wait_pending(q, 0), "the writer tried");
	is_int(ps_asyncout_write(q, "y", 1), -EPIPE, "the next write: the reader went away");
	ok(!ps_asyncout_refused(q), "... not a refusal");
	is_int(ps_asyncout_finish(q), -EPIPE, "finish: EPIPE");
	close(p[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_order();
	test_cap();
	test_epipe();
	return tap_done();
}
