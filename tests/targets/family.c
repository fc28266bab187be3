/* SPDX-License-Identifier: MIT */
/*
 * family: a scriptable parent that forks children, for the workload tests
 * (tests/e2e/workload.bats). Every member of the family writes what it is
 * told into one of the mappings made before any fork:
 *   anon    private anonymous, PAGES pages, left unpopulated (after a fork
 *           each process's writes are its own pages)
 *   shared  a memfd of PAGES pages mapped MAP_SHARED (one page per file
 *           offset, whoever writes it)
 *   file    with FILE: that regular file, created (emptied) with PAGES
 *           pages, mapped MAP_SHARED (one page per file offset too)
 *   file2   after "mapfile WHO": the same file mapped again by WHO alone,
 *           at an address of its own
 *
 * Usage: family CMDFIFO REPLYFIFO PAGES [FILE]
 *   One command per line on CMDFIFO, one reply line on REPLYFIFO: "ok ..."
 *   or "err ...". WHO is 0 for the parent, K for the K-th child forked
 *   (from 1), whether it still runs or not.
 *
 *   where                  -> ok 0xANON 0xSHARED [0xFILE]   the mappings'
 *                                           addresses (the same in every member)
 *   fork                   -> ok PID K      a new child (it blocks reading
 *                                           its own command pipe)
 *   write WHO MAP FIRST N  -> ok N          WHO stores one byte into pages
 *                                           FIRST..FIRST+N-1 of MAP
 *   truth WHO              -> ok N 0xS-0xE,...   the truth: the pages WHO
 *                                           wrote since its last truth (or its
 *                                           fork), N pages in all, as address
 *                                           ranges over every mapping, sorted
 *                                           ("ok 0 -" for none); then forgotten
 *   exit WHO               -> ok            child WHO exits 0, and is reaped
 *   mapfile WHO            -> ok 0xFILE2    WHO maps FILE again (MAP_SHARED,
 *                                           all of it) at a new address: its
 *                                           "file2" (once per member)
 *   die WHO                -> ok            child WHO exits 0 and is left a
 *                                           zombie: not reaped (the reply comes
 *                                           once it has exited)
 *   reap WHO               -> ok            the zombie child WHO is reaped
 *   clonevm                -> ok PID        a process sharing the parent's
 *                                           address space (clone CLONE_VM
 *                                           without CLONE_THREAD, as vfork
 *                                           makes), blocked until quit
 *   spawn PROG ARG...      -> ok STATUS     posix_spawn(PROG, up to 6 ARGs)
 *                                           (glibc: clone CLONE_VM|CLONE_VFORK,
 *                                           the child on the parent's memory
 *                                           until its exec), waited for: its
 *                                           exit status (`run` follow-fork
 *                                           tests, tests/e2e/run.bats)
 *   quit                   -> (no reply)    every child exits, then the parent
 *
 * Children die with the parent (PR_SET_PDEATHSIG). Every member allows any
 * process to ptrace it (PR_SET_PTRACER_ANY), like tests/targets/victim.c.
 * EOF on CMDFIFO is "quit".
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 256
static unsigned long page_size; /* sysconf(_SC_PAGESIZE) */
#define NMAPS 4
#define REPLY 16384

static unsigned char *anon, *shared, *filemap, *filemap2;
static const char *file_path;
static unsigned long pages;
static unsigned char stamp = 1;
/* The truth of this process: wrote[M][i] is 1 when it stored into page i
 * of mapping M (anon, shared, file) since its last truth (or its fork). */
static unsigned char *wrote[NMAPS];

struct child {
	FILE *to, *from;
	pid_t pid;
	int zombie; /* exited, not reaped (die) */
};
static struct child kids[MAX_CHILDREN + 1];
static int nkids;
static int vm_pipe[2] = { -1, -1 };  /* the CLONE_VM process's */
static pid_t vm_pid;

/* Store into pages [first, first + n) of the mapping: "ok N" or "err ...". */
static void do_write(const char *map, unsigned long first, unsigned long n, char *reply, size_t len)
{
	static const char *const names[NMAPS] = { "anon", "shared", "file", "file2" };
	unsigned char *const bases[NMAPS] = { anon, shared, filemap, filemap2 };
	int k = 0;
	while (k < NMAPS && strcmp(map, names[k]) != 0)
		k++;
	unsigned char *base = k < NMAPS ? bases[k] : NULL;
	if (!base || first > pages || n > pages - first) {
		snprintf(reply, len, "err bad write %s %lu %lu", map, first, n);
		return;
	}
	if (!++stamp)
		stamp = 1;
	for (unsigned long i = first; i < first + n; i++) {
		base[i * page_size + (i * 67) % page_size] = stamp;
		wrote[k][i] = 1;
	}
	snprintf(reply, len, "ok %lu", n);
}

/* "ok N 0xS-0xE,...": the pages this process wrote since its last truth,
 * by address (the mappings in address order), then forgotten. */
static void do_truth(char *reply, size_t len)
{
	unsigned char *base[NMAPS] = { anon, shared, filemap, filemap2 };
	int order[NMAPS] = { 0, 1, 2, 3 };
	for (int a = 0; a < NMAPS; a++)
		for (int b = a + 1; b < NMAPS; b++)
			if ((uintptr_t)base[order[b]] < (uintptr_t)base[order[a]]) {
				int t = order[a];
				order[a] = order[b];
				order[b] = t;
			}
	static char list[REPLY];
	size_t off = 0;
	unsigned long total = 0;
	list[0] = 0;
	for (int o = 0; o < NMAPS; o++) {
		int k = order[o];
		if (!base[k])
			continue;
		for (unsigned long i = 0; i < pages;) {
			if (!wrote[k][i]) {
				i++;
				continue;
			}
			unsigned long j = i;
			while (j < pages && wrote[k][j])
				wrote[k][j++] = 0;
			total += j - i;
			int w = snprintf(list + off, sizeof(list) - off, "%s%#lx-%#lx", off ? "," : "",
			                 (unsigned long)(uintptr_t)(base[k] + i * page_size),
			                 (unsigned long)(uintptr_t)(base[k] + j * page_size));
			if (w < 0 || (size_t)w >= sizeof(list) - off) {
				snprintf(reply, len, "err truth too long");
				return;
			}
			off += (size_t)w;
			i = j;
		}
	}
	snprintf(reply, len, "ok %lu %s", total, off ? list : "-");
}

/* "mapfile": the file mapped again, at a new address. */
static void do_mapfile(char *reply, size_t len)
{
	int fd = file_path && !filemap2 ? open(file_path, O_RDWR | O_CLOEXEC) : -1;
	void *p = fd >= 0 ? mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED) {
		snprintf(reply, len, "err mapfile");
		return;
	}
	filemap2 = p;
	snprintf(reply, len, "ok %p", p);
}

/* A child: commands from the parent over a pipe, "write MAP FIRST N",
 * "truth", "mapfile" or "exit". */
static void child_loop(FILE *in, FILE *out)
{
	static char reply[REPLY];
	char line[256], map[32];
	unsigned long first, n;
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "exit", 4) == 0)
			_exit(0);
		if (sscanf(line, "write %31s %lu %lu", map, &first, &n) == 3)
			do_write(map, first, n, reply, sizeof(reply));
		else if (strncmp(line, "truth", 5) == 0)
			do_truth(reply, sizeof(reply));
		else if (strncmp(line, "mapfile", 7) == 0)
			do_mapfile(reply, sizeof(reply));
		else
			snprintf(reply, sizeof(reply), "err unknown child command");
		fprintf(out, "%s\n", reply);
		fflush(out);
	}
	_exit(0);
}

static void do_fork(char *reply, size_t len)
{
	int down[2], up[2];
	if (nkids >= MAX_CHILDREN || pipe(down) < 0 || pipe(up) < 0) {
		snprintf(reply, len, "err cannot fork");
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(reply, len, "err fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		close(down[1]);
		close(up[0]);
		/* Its truth starts empty: what it writes itself. */
		for (int k = 0; k < NMAPS; k++)
			memset(wrote[k], 0, pages);
		/* The siblings' pipes are the parent's business. */
		if (vm_pipe[1] >= 0)
			close(vm_pipe[1]);
		for (int k = 1; k <= nkids; k++) {
			if (kids[k].to)
				close(fileno(kids[k].to));
			if (kids[k].from)
				close(fileno(kids[k].from));
		}
		child_loop(fdopen(down[0], "r"), fdopen(up[1], "w"));
	}
	close(down[0]);
	close(up[1]);
	nkids++;
	kids[nkids] = (struct child){ .pid = pid, .to = fdopen(down[1], "w"), .from = fdopen(up[0], "r") };
	snprintf(reply, len, "ok %d %d", (int)pid, nkids);
}

/* The CLONE_VM process: blocks reading its pipe, exits at EOF. */
static char vm_stack[64 * 1024] __attribute__((aligned(16)));

static int vm_main(void *arg)
{
	char c;
	(void)arg;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(vm_pipe[1]); /* its own copy of the fd table */
	while (read(vm_pipe[0], &c, 1) > 0) {
	}
	return 0;
}

static void do_clonevm(char *reply, size_t len)
{
	if (vm_pid || pipe(vm_pipe) < 0) {
		snprintf(reply, len, "err clonevm");
		return;
	}
	vm_pid = clone(vm_main, vm_stack + sizeof(vm_stack), CLONE_VM | SIGCHLD, NULL);
	if (vm_pid < 0) {
		snprintf(reply, len, "err clone: %s", strerror(errno));
		vm_pid = 0;
		return;
	}
	snprintf(reply, len, "ok %d", (int)vm_pid);
}

/* posix_spawn PROG ARG... (words of line after "spawn "), and wait for it. */
static void do_spawn(char *args, char *reply, size_t len)
{
	char *argv[8] = { 0 };
	int n = 0, status;
	pid_t pid;
	for (char *w = strtok(args, " "); w && n < 7; w = strtok(NULL, " "))
		argv[n++] = w;
	if (!n) {
		snprintf(reply, len, "err spawn what");
		return;
	}
	int e = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
	if (e) {
		snprintf(reply, len, "err posix_spawn: %s", strerror(e));
		return;
	}
	if (waitpid(pid, &status, 0) < 0) {
		snprintf(reply, len, "err waitpid: %s", strerror(errno));
		return;
	}
	snprintf(reply, len, "ok %d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static void to_child(int k, const char *cmd, char *reply, size_t len)
{
	if (k < 1 || k > nkids || !kids[k].to) {
		snprintf(reply, len, "err no child %d", k);
		return;
	}
	fprintf(kids[k].to, "%s\n", cmd);
	fflush(kids[k].to);
	if (!fgets(reply, (int)len, kids[k].from)) {
		snprintf(reply, len, "err child %d does not answer", k);
		return;
	}
	reply[strcspn(reply, "\n")] = 0;
}

static void quit(void)
{
	for (int k = 1; k <= nkids; k++) {
		if (kids[k].zombie)
			waitpid(kids[k].pid, NULL, 0);
		if (!kids[k].to)
			continue;
		fprintf(kids[k].to, "exit\n");
		fflush(kids[k].to);
		waitpid(kids[k].pid, NULL, 0);
	}
	if (vm_pid) {
		close(vm_pipe[1]);
		waitpid(vm_pid, NULL, 0);
	}
	exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: family CMDFIFO REPLYFIFO PAGES [FILE]\n");
		return 2;
	}
	page_size = (unsigned long)sysconf(_SC_PAGESIZE);
	pages = strtoul(argv[3], NULL, 10);
	for (int k = 0; k < NMAPS; k++)
		if (!(wrote[k] = calloc(pages ? pages : 1, 1)))
			return 1;
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	anon = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = memfd_create("family", MFD_CLOEXEC);
	if (anon == MAP_FAILED || fd < 0 || ftruncate(fd, (off_t)(pages * page_size)) < 0)
		return 1;
	shared = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shared == MAP_FAILED)
		return 1;
	if (argc == 5) {
		int ffd = open(argv[4], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (ffd < 0 || ftruncate(ffd, (off_t)(pages * page_size)) < 0) {
			fprintf(stderr, "family: %s: %s\n", argv[4], strerror(errno));
			return 1;
		}
		file_path = argv[4];
		filemap = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0);
		if (filemap == MAP_FAILED)
			return 1;
		close(ffd);
	}
	/* No huge pages: the page counts stay exact. */
	madvise(anon, pages * page_size, MADV_NOHUGEPAGE);
	FILE *cmd = fopen(argv[1], "r");
	FILE *rep = cmd ? fopen(argv[2], "w") : NULL;
	if (!rep)
		return 1;
	static char reply[REPLY];
	char line[256], map[32];
	unsigned long first, n;
	int who;
	while (fgets(line, sizeof(line), cmd)) {
		line[strcspn(line, "\n")] = 0;
		if (strcmp(line, "quit") == 0)
			quit();
		if (strcmp(line, "where") == 0) {
			snprintf(reply, sizeof(reply), "ok %p %p", (void *)anon, (void *)shared);
			if (filemap)
				snprintf(reply + strlen(reply), sizeof(reply) - strlen(reply), " %p", (void *)filemap);
		} else if (sscanf(line, "truth %d", &who) == 1) {
			if (who == 0)
				do_truth(reply, sizeof(reply));
			else
				to_child(who, "truth", reply, sizeof(reply));
		} else if (sscanf(line, "mapfile %d", &who) == 1) {
			if (who == 0)
				do_mapfile(reply, sizeof(reply));
			else
				to_child(who, "mapfile", reply, sizeof(reply));
		} else if (strcmp(line, "clonevm") == 0) {
			do_clonevm(reply, sizeof(reply));
		} else if (strcmp(line, "fork") == 0) {
			do_fork(reply, sizeof(reply));
		} else if (strncmp(line, "spawn ", 6) == 0) {
			do_spawn(line + 6, reply, sizeof(reply));
		} else if (sscanf(line, "write %d %31s %lu %lu", &who, map, &first, &n) == 4) {
			if (who == 0) {
				do_write(map, first, n, reply, sizeof(reply));
			} else {
				char sub[128];
				snprintf(sub, sizeof(sub), "write %s %lu %lu", map, first, n);
				to_child(who, sub, reply, sizeof(reply));
			}
		} else if (sscanf(line, "exit %d", &who) == 1 && who >= 1 && who <= nkids && kids[who].to) {
			fprintf(kids[who].to, "exit\n");
			fclose(kids[who].to);
			fclose(kids[who].from);
			kids[who].to = kids[who].from = NULL;
			waitpid(kids[who].pid, NULL, 0);
			snprintf(reply, sizeof(reply), "ok");
		} else if (sscanf(line, "die %d", &who) == 1 && who >= 1 && who <= nkids && kids[who].to) {
			siginfo_t si;
			fprintf(kids[who].to, "exit\n");
			fclose(kids[who].to);
			fclose(kids[who].from);
			kids[who].to = kids[who].from = NULL;
			/* Exited, left unreaped (WNOWAIT): a zombie. */
			if (waitid(P_PID, (id_t)kids[who].pid, &si, WEXITED | WNOWAIT) < 0) {
				snprintf(reply, sizeof(reply), "err waitid: %s", strerror(errno));
			} else {
				kids[who].zombie = 1;
				snprintf(reply, sizeof(reply), "ok");
			}
		} else if (sscanf(line, "reap %d", &who) == 1 && who >= 1 && who <= nkids && kids[who].zombie) {
			waitpid(kids[who].pid, NULL, 0);
			kids[who].zombie = 0;
			snprintf(reply, sizeof(reply), "ok");
		} else {
			snprintf(reply, sizeof(reply), "err unknown command: %.200s", line);
		}
		fprintf(rep, "%s\n", reply);
		fflush(rep);
	}
	quit();
}
