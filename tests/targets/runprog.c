/* SPDX-License-Identifier: MIT */
/*
 * runprog: a short-lived command for `pagescan run` tests that writes a
 * known pattern the moment it starts and records the truth itself.
 *
 * Usage: runprog TRUTHFILE PAGES [EXITCODE|sig:N]
 *   1. maps PAGES (1..1048576) private anonymous pages (the kernel's size);
 *   2. at once writes one non-zero byte into every 3rd page (indexes 0, 3,
 *      6, ...), before anything else touches memory it owns;
 *   3. writes those pages to TRUTHFILE as merged ranges "0xSTART 0xEND"
 *      (end exclusive, lowercase hex, sorted), the format of victim's
 *      `truth FILE`;
 *   4. if the environment has RUNPROG_HOLD=FIFO, opens FIFO for reading
 *      and waits for one line or EOF (so a test can harvest before exit);
 *   5. exits with EXITCODE (0..255, default 0), or with sig:N raises
 *      signal N (1..64) with its default action, unblocked.
 * Exit status 120 on a usage or setup error, with a message on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE ((unsigned long)sysconf(_SC_PAGESIZE))

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*ret = v;
	return 0;
}

static int die(const char *msg)
{
	fprintf(stderr, "runprog: %s\n", msg);
	return 120;
}

int main(int argc, char **argv)
{
	uint64_t pages, code = 0, sig = 0;
	const char *hold;
	unsigned char *p;
	FILE *f;

	if (argc != 3 && argc != 4)
		return die("usage: runprog TRUTHFILE PAGES [EXITCODE|sig:N]");
	if (parse_u64(argv[2], 1UL << 20, &pages) || pages == 0)
		return die("bad PAGES");
	if (argc == 4) {
		if (strncmp(argv[3], "sig:", 4) == 0) {
			if (parse_u64(argv[3] + 4, 64, &sig) || sig == 0)
				return die("bad signal");
		} else if (parse_u64(argv[3], 255, &code)) {
			return die("bad EXITCODE");
		}
	}
	p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return die("mmap failed");
	for (uint64_t i = 0; i < pages; i += 3)
		((volatile unsigned char *)p)[i * PAGE + (i * 64) % PAGE] =
			(unsigned char)(1 + i % 251);

	f = fopen(argv[1], "we");
	if (!f)
		return die("cannot create TRUTHFILE");
	/* Every 3rd page: no two written pages are adjacent, one range each. */
	for (uint64_t i = 0; i < pages; i += 3)
		fprintf(f, "0x%" PRIxPTR " 0x%" PRIxPTR "\n",
			(uintptr_t)(p + i * PAGE), (uintptr_t)(p + (i + 1) * PAGE));
	if (fclose(f))
		return die("cannot write TRUTHFILE");

	hold = getenv("RUNPROG_HOLD");
	if (hold && *hold) {
		char buf[64];
		int fd = open(hold, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return die("cannot open RUNPROG_HOLD");
		while (read(fd, buf, sizeof(buf)) < 0 && errno == EINTR)
			;
		close(fd);
	}
	if (sig) {
		sigset_t set;

		signal((int)sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, (int)sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise((int)sig);
		return die("signal did not end the process");
	}
	return (int)code;
}
