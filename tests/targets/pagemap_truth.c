/* SPDX-License-Identifier: MIT */
/*
 * pagemap_truth: the reference answer for "which pages are present", read
 * page by page from /proc/PID/pagemap (bit 63), independent of PAGEMAP_SCAN.
 *
 * Usage: pagemap_truth [-b BIT] [-x NAME]... PID [START END]
 *   Prints merged ranges "0xSTART 0xEND" (end exclusive, lowercase hex),
 *   sorted, of the pages whose pagemap entry has BIT set (default 63,
 *   present; 62 is swapped). Ranges of adjacent mappings are merged, the
 *   same way the tests merge pagescan's regions.
 *   With START END (0x hex or decimal, page aligned): only that range.
 *   Without: every mapping of /proc/PID/maps except [vsyscall] and the
 *   mappings named by -x (e.g. -x [vvar]).
 * Exit status: 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE ((unsigned long long)sysconf(_SC_PAGESIZE))
#define BATCH 4096
#define MAX_EXCLUDE 16

static uint64_t run_start, run_end;
static bool run_open;

static void emit(uint64_t a)
{
	if (run_open && a == run_end) {
		run_end = a + PAGE;
		return;
	}
	if (run_open)
		printf("0x%" PRIx64 " 0x%" PRIx64 "\n", run_start, run_end);
	run_start = a;
	run_end = a + PAGE;
	run_open = true;
}

static int parse_addr(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*ret = v;
	return 0;
}

static int scan(int fd, uint64_t start, uint64_t end, int bit)
{
	static uint64_t ent[BATCH];

	for (uint64_t a = start; a < end;) {
		uint64_t n = (end - a) / PAGE;
		ssize_t r;

		if (n > BATCH)
			n = BATCH;
		r = pread(fd, ent, n * 8, (off_t)(a / PAGE * 8));
		if (r < 0) {
			fprintf(stderr, "pagemap_truth: pread at 0x%" PRIx64 ": %s\n",
				a, strerror(errno));
			return -1;
		}
		if (r == 0 || r % 8) {
			fprintf(stderr, "pagemap_truth: short read at 0x%" PRIx64 "\n", a);
			return -1;
		}
		for (ssize_t i = 0; i < r / 8; i++)
			if (ent[i] >> bit & 1)
				emit(a + (uint64_t)i * PAGE);
		a += (uint64_t)(r / 8) * PAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *exclude[MAX_EXCLUDE];
	int nexclude = 0, bit = 63, opt, fd;
	char path[64];
	uint64_t pid;

	while ((opt = getopt(argc, argv, "b:x:")) != -1) {
		uint64_t v;

		switch (opt) {
		case 'b':
			if (parse_addr(optarg, &v) || v > 63) {
				fprintf(stderr, "pagemap_truth: bad bit %s\n", optarg);
				return 1;
			}
			bit = (int)v;
			break;
		case 'x':
			if (nexclude == MAX_EXCLUDE) {
				fprintf(stderr, "pagemap_truth: too many -x\n");
				return 1;
			}
			exclude[nexclude++] = optarg;
			break;
		default:
			return 1;
		}
	}
	if (argc - optind != 1 && argc - optind != 3) {
		fprintf(stderr, "usage: pagemap_truth [-b BIT] [-x NAME]... PID [START END]\n");
		return 1;
	}
	if (parse_addr(argv[optind], &pid) || pid == 0 || pid > INT32_MAX) {
		fprintf(stderr, "pagemap_truth: bad pid %s\n", argv[optind]);
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/%" PRIu64 "/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "pagemap_truth: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (argc - optind == 3) {
		uint64_t s, e;

		if (parse_addr(argv[optind + 1], &s) ||
		    parse_addr(argv[optind + 2], &e) || s % PAGE || e % PAGE ||
		    e < s) {
			fprintf(stderr, "pagemap_truth: bad range\n");
			return 1;
		}
		if (scan(fd, s, e, bit))
			return 1;
	} else {
		char *line = NULL;
		size_t cap = 0;
		FILE *maps;

		snprintf(path, sizeof(path), "/proc/%" PRIu64 "/maps", pid);
		maps = fopen(path, "re");
		if (!maps) {
			fprintf(stderr, "pagemap_truth: %s: %s\n", path, strerror(errno));
			return 1;
		}
		while (getline(&line, &cap, maps) > 0) {
			unsigned long long s, e;
			char name[4096] = "";
			bool skip = false;

			if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %4095[^\n]",
				   &s, &e, name) < 2) {
				fprintf(stderr, "pagemap_truth: bad maps line %s", line);
				return 1;
			}
			if (strcmp(name, "[vsyscall]") == 0)
				skip = true;
			for (int i = 0; i < nexclude; i++)
				if (strcmp(name, exclude[i]) == 0)
					skip = true;
			if (!skip && scan(fd, s, e, bit))
				return 1;
		}
		free(line);
		fclose(maps);
	}
	if (run_open)
		printf("0x%" PRIx64 " 0x%" PRIx64 "\n", run_start, run_end);
	if (fflush(stdout) || ferror(stdout))
		return 1;
	return 0;
}
