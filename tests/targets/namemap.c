/* SPDX-License-Identifier: MIT */
/*
 * namemap: maps files with arbitrary names (quotes, backslashes, newlines,
 * invalid UTF-8, ...) so tests can check how pagescan prints mapping names.
 *
 * Usage: namemap CMDFIFO REPLYFIFO FILE...
 *   Maps each FILE (1..32 of them; created by the caller, any bytes in the
 *   name) MAP_SHARED read-write, 8 pages each (the file is extended to
 *   32 KiB), populated by reads. Then opens CMDFIFO for reading and
 *   REPLYFIFO for writing; one command per line, one reply line each:
 *
 *     addr I   -> ok 0xSTART 0xEND   mapping of FILE number I (from 0)
 *     write I  -> ok                 one byte into each of its 8 pages
 *     exit     -> ok                 then exit 0
 *
 *   Nothing else is written between commands but the stack and the reply.
 * Calls prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY). EOF on CMDFIFO exits 3;
 * usage or setup errors exit 120 with a message on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define PAGE ((unsigned long)sysconf(_SC_PAGESIZE)) /* the kernel's: 4, 16 or 64 KiB */
#define NPAGES 8
#define MAXFILES 32

static unsigned char *base[MAXFILES];
static int reply_fd = -1;

static int die(const char *msg)
{
	fprintf(stderr, "namemap: %s: %s\n", msg, strerror(errno));
	return 120;
}

static void reply(const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w = write(reply_fd, s + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(4);
		off += (size_t)w;
	}
}

/* Index argument: 0..nfiles-1, digits only. */
static int parse_index(const char *s, int nfiles)
{
	int v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v < nfiles ? v : -1;
}

int main(int argc, char **argv)
{
	char line[256], out[128];
	size_t len = 0;
	int nfiles = argc - 3, cmd_fd;
	unsigned gen = 0;

	if (argc < 4 || nfiles > MAXFILES) {
		fprintf(stderr, "usage: namemap CMDFIFO REPLYFIFO FILE... (1..%d files)\n", MAXFILES);
		return 120;
	}
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	for (int i = 0; i < nfiles; i++) {
		int fd = open(argv[3 + i], O_RDWR | O_CLOEXEC);

		if (fd < 0)
			return die("open");
		if (ftruncate(fd, (off_t)(NPAGES * PAGE)))
			return die("ftruncate");
		base[i] = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (base[i] == MAP_FAILED)
			return die("mmap");
		close(fd);
		for (size_t p = 0; p < NPAGES; p++)
			(void)((volatile unsigned char *)base[i])[p * PAGE];
	}
	cmd_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (cmd_fd < 0)
		return die("open CMDFIFO");
	reply_fd = open(argv[2], O_WRONLY | O_CLOEXEC);
	if (reply_fd < 0)
		return die("open REPLYFIFO");

	for (;;) {
		char c;
		ssize_t r = read(cmd_fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 3;
		if (c != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = c;
			continue;
		}
		line[len] = 0;
		len = 0;
		int i;
		if (strncmp(line, "addr ", 5) == 0 && (i = parse_index(line + 5, nfiles)) >= 0) {
			snprintf(out, sizeof(out), "ok 0x%" PRIxPTR " 0x%" PRIxPTR "\n", (uintptr_t)base[i],
				 (uintptr_t)(base[i] + NPAGES * PAGE));
			reply(out);
		} else if (strncmp(line, "write ", 6) == 0 && (i = parse_index(line + 6, nfiles)) >= 0) {
			gen++;
			for (size_t p = 0; p < NPAGES; p++)
				((volatile unsigned char *)base[i])[p * PAGE + p] = (unsigned char)(1 + gen % 250);
			reply("ok\n");
		} else if (strcmp(line, "exit") == 0) {
			reply("ok\n");
			return 0;
		} else {
			reply("err unknown command\n");
		}
	}
}
