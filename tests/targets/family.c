/* SPDX-License-Identifier: MIT */
/*
 * family: a scriptable parent that forks children, for the workload tests
 * (tests/e2e/workload.bats). Every member of the family writes what it is
 * told into one of two mappings made before any fork:
 *   anon    private anonymous, PAGES pages, left unpopulated (after a fork
 *           each process's writes are its own pages)
 *   shared  a memfd of PAGES pages mapped MAP_SHARED (one page per file
 *           offset, whoever writes it)
 *
 * Usage: family CMDFIFO REPLYFIFO PAGES
 *   One command per line on CMDFIFO, one reply line on REPLYFIFO: "ok ..."
 *   or "err ...". WHO is 0 for the parent, K for the K-th child forked
 *   (from 1), whether it still runs or not.
 *
 *   where                  -> ok 0xANON 0xSHARED   the two mappings' addresses
 *                                           (the same in every member)
 *   fork                   -> ok PID K      a new child (it blocks reading
 *                                           its own command pipe)
 *   write WHO MAP FIRST N  -> ok N          WHO stores one byte into pages
 *                                           FIRST..FIRST+N-1 of MAP
 *   exit WHO               -> ok            child WHO exits 0, and is reaped
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
#include <spawn.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 256
#define PAGE 4096ul

static unsigned char *anon, *shared;
static unsigned long pages;
static unsigned char stamp = 1;

struct child {
	pid_t pid;
	FILE *to, *from;
};
static struct child kids[MAX_CHILDREN + 1];
static int nkids;
static int vm_pipe[2] = { -1, -1 };  /* the CLONE_VM process's */
static pid_t vm_pid;

/* Store into pages [first, first + n) of the mapping: "ok N" or "err ...". */
static void do_write(const char *map, unsigned long first, unsigned long n, char *reply, size_t len)
{
	unsigned char *base = strcmp(map, "anon") == 0 ? anon : strcmp(map, "shared") == 0 ? shared : NULL;
	if (!base || first > pages || n > pages - first) {
		snprintf(reply, len, "err bad write %s %lu %lu", map, first, n);
		return;
	}
	if (!++stamp)
		stamp = 1;
	for (unsigned long i = first; i < first + n; i++)
		base[i * PAGE + (i * 67) % PAGE] = stamp;
	snprintf(reply, len, "ok %lu", n);
}

/* A child: commands from the parent over a pipe, "write MAP FIRST N" or "exit". */
static void child_loop(FILE *in, FILE *out)
{
	char line[256], reply[128], map[32];
	unsigned long first, n;
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "exit", 4) == 0)
			_exit(0);
		if (sscanf(line, "write %31s %lu %lu", map, &first, &n) == 3)
			do_write(map, first, n, reply, sizeof(reply));
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
	if (argc != 4) {
		fprintf(stderr, "usage: family CMDFIFO REPLYFIFO PAGES\n");
		return 2;
	}
	pages = strtoul(argv[3], NULL, 10);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	anon = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = memfd_create("family", MFD_CLOEXEC);
	if (anon == MAP_FAILED || fd < 0 || ftruncate(fd, (off_t)(pages * PAGE)) < 0)
		return 1;
	shared = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shared == MAP_FAILED)
		return 1;
	/* No huge pages: the page counts stay exact. */
	madvise(anon, pages * PAGE, MADV_NOHUGEPAGE);
	FILE *cmd = fopen(argv[1], "r");
	FILE *rep = cmd ? fopen(argv[2], "w") : NULL;
	if (!rep)
		return 1;
	char line[256], reply[256], map[32];
	unsigned long first, n;
	int who;
	while (fgets(line, sizeof(line), cmd)) {
		line[strcspn(line, "\n")] = 0;
		if (strcmp(line, "quit") == 0)
			quit();
		if (strcmp(line, "where") == 0) {
			snprintf(reply, sizeof(reply), "ok %p %p", (void *)anon, (void *)shared);
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
		} else {
			snprintf(reply, sizeof(reply), "err unknown command: %.200s", line);
		}
		fprintf(rep, "%s\n", reply);
		fflush(rep);
	}
	quit();
}
