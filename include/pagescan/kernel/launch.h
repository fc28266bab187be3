/* SPDX-License-Identifier: MIT */
/* Launching a command under pagescan's trace (`run`): fork, PTRACE_SEIZE,
 * exec, and a stop at PTRACE_EVENT_EXEC before the new program's first
 * instruction, where tracking is engaged (engage.h). pagescan stays the
 * tracer for every later exec (tracking engaged again in the new image, at
 * the same stop) and for PTRACE_EVENT_EXIT, so the last interval is
 * harvested while the address space still exists; it passes every signal
 * through untouched.
 *
 * All calls from the thread that started the command (it is the tracer). */
#ifndef PAGESCAN_LAUNCH_H
#define PAGESCAN_LAUNCH_H

#include <stdbool.h>
#include <sys/ptrace.h>
#include <sys/types.h>

#include "pagescan/model/error.h"

/* The ptrace options of a launched command. Never PTRACE_O_EXITKILL: when
 * pagescan dies, every process it traces runs on. */
#define PS_LAUNCH_PTRACE_OPTIONS (PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACESYSGOOD)
/* run following forks (the default): also every new process and thread the
 * command, or any process it made, creates; the kernel attaches them to
 * pagescan with these same options before their first instruction. */
#define PS_LAUNCH_PTRACE_FORK_OPTIONS \
	(PS_LAUNCH_PTRACE_OPTIONS | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE)

struct ps_launch {
	pid_t child;          /* 0 until started */
	bool traced;          /* we are its tracer */
	bool exited;          /* reaped */
	int exit_status;      /* once exited: 0..255, 128+N for signal N */
	bool follow_forks;    /* set before ps_launch_start: trace what the command creates */
	unsigned long options; /* the ptrace options every tracee has */
	/* Following forks: every task traced besides the command (processes
	 * and threads), to detach them all at the end. */
	pid_t *tracees;
	size_t ntracees, tracees_cap;
};

/* Exit status as a shell reports it: 0..255, or 128+N for signal N. */
int ps_wait_status_code(int status);

/* Who the command runs as, and with what environment (run --user). */
struct ps_launch_opts {
	bool set_ids;         /* switch to uid, gid and groups below before the exec */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;  /* supplementary groups (setgroups), ngroups of them */
	size_t ngroups;
	const char *who;      /* for messages: "user nobody" */
	char *const *envp;    /* the command's environment; NULL: pagescan's */
};

/* Fork and exec argv (PATH searched, with pagescan's PATH) with the signal
 * mask and SIGPIPE disposition of a fresh process, traced from before the
 * exec. With o->set_ids the child, after the fork and before the exec,
 * sets its supplementary groups, then its real, effective and saved gid,
 * then uid (and checks it cannot get root back); pagescan keeps its own
 * privileges and stays the tracer. Returns with the command stopped at its
 * exec, not one instruction run; or fails ("cannot run CMD: ...", "cannot
 * run CMD as user U: setuid: ...") with the command reaped. o may be NULL. */
int ps_launch_start(struct ps_launch *l, char *const argv[], const struct ps_launch_opts *o,
                    struct ps_err *err);

/* What the command (or, following forks, a process it made) did
 * (ps_launch_reap); pid says which. */
enum ps_launch_event {
	PS_LAUNCH_EXIT_STOP,  /* about to exit, its address space still there: harvest now */
	PS_LAUNCH_EXEC,       /* a new program image, stopped before its first instruction: the old
	                       * tracking is gone; fn returns 1 when it engaged the new image and
	                       * resumed it under trace (ps_engage_launched), else it is detached */
	PS_LAUNCH_EXITED,     /* gone; for the command, exit_status is set */
	PS_LAUNCH_FORK,       /* following forks: a new process with its own address space,
	                       * stopped before its first instruction; fn returns 1 when it
	                       * engaged it and resumed it under trace, else it is detached
	                       * (never left stopped). Threads, and processes sharing their
	                       * creator's address space (vfork, posix_spawn, CLONE_VM), are not
	                       * announced: they run on under trace, and such a process's exec
	                       * comes as PS_LAUNCH_EXEC of a pid fn does not track yet. */
};
typedef int (*ps_launch_fn)(void *ctx, enum ps_launch_event ev, pid_t pid, struct ps_err *err);

/* Handle every pending ptrace stop or exit of the command (and, following
 * forks, of every task it made) without waiting (call on SIGCHLD):
 * job-control stops stay stopped, signals are delivered unchanged, and fn
 * hears of the events above (its error ends the call). */
int ps_launch_reap(struct ps_launch *l, ps_launch_fn fn, void *ctx, struct ps_err *err);

/* A signal sent to pagescan: passed on to the command when someone else sent
 * it to pagescan alone (terminal signals reach the whole process group
 * already). Returns false once the command has exited (the signal is
 * pagescan's own then). */
bool ps_launch_forward(struct ps_launch *l, int signo, int code, pid_t sender);

/* The watch is over: stop tracing (the command and every process it made
 * run on, none left stopped) and wait for the command to exit. Returns its
 * exit status. */
int ps_launch_wait(struct ps_launch *l);

/* Something failed: kill the command and reap it. */
void ps_launch_kill(struct ps_launch *l);

#endif
