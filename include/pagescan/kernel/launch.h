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

/* The ptrace options of a launched command. */
#define PS_LAUNCH_PTRACE_OPTIONS (PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACESYSGOOD)

struct ps_launch {
	pid_t child;          /* 0 until started */
	bool traced;          /* we are its tracer */
	bool exited;          /* reaped */
	int exit_status;      /* once exited: 0..255, 128+N for signal N */
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

/* What the command did (ps_launch_reap). */
enum ps_launch_event {
	PS_LAUNCH_EXIT_STOP,  /* about to exit, its address space still there: harvest now */
	PS_LAUNCH_EXEC,       /* a new program image, stopped before its first instruction: the old
	                       * tracking is gone; fn returns 1 when it engaged the new image and
	                       * resumed it under trace (ps_engage_launched), else it is detached */
	PS_LAUNCH_EXITED,     /* gone; exit_status is set */
};
typedef int (*ps_launch_fn)(void *ctx, enum ps_launch_event ev, struct ps_err *err);

/* Handle every pending ptrace stop or exit of the command without waiting
 * (call on SIGCHLD): job-control stops stay stopped, signals are delivered
 * unchanged, and fn hears of the events above (its error ends the call). */
int ps_launch_reap(struct ps_launch *l, ps_launch_fn fn, void *ctx, struct ps_err *err);

/* A signal sent to pagescan: passed on to the command when someone else sent
 * it to pagescan alone (terminal signals reach the whole process group
 * already). Returns false once the command has exited (the signal is
 * pagescan's own then). */
bool ps_launch_forward(struct ps_launch *l, int signo, int code, pid_t sender);

/* The watch is over: stop tracing (the command runs on) and wait for it to
 * exit. Returns its exit status. */
int ps_launch_wait(struct ps_launch *l);

/* Something failed: kill the command and reap it. */
void ps_launch_kill(struct ps_launch *l);

#endif
