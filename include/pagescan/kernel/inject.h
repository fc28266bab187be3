/* SPDX-License-Identifier: MIT */
/* Running one system call inside another process (docs/remote-syscalls.md).
 *
 * PTRACE_SEIZE + PTRACE_INTERRUPT of one thread, registers saved at the
 * event stop, the program counter pointed at an existing syscall instruction
 * of the target (vDSO, else libc text: target memory is never written),
 * orig_rax = -1, entry and exit stops confirmed with PTRACE_GET_SYSCALL_INFO,
 * and the saved registers restored at a final PTRACE_INTERRUPT stop so the
 * kernel's own restart logic resumes an interrupted system call exactly.
 *
 * The caller must keep SIGCHLD blocked in every thread (waits use
 * sigtimedwait). All calls on one session must come from one thread (the
 * ptrace link belongs to it); ps_inject_in_thread() provides that thread and
 * gives up cleanly when the target never stops: the thread exits, which
 * detaches the kernel's pending trap and leaves the target running. */
#ifndef PAGESCAN_INJECT_H
#define PAGESCAN_INJECT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "pagescan/model/error.h"
#include "pagescan/kernel/target.h"

/* The error code of an injection that found the process running another
 * program than the one pagescan looked at before stopping it (an exec in
 * between: a shell's child about to run its command). Nothing was changed;
 * its new program can be engaged anew. */
#define PS_EEXECED ESTALE

struct ps_inject_opts {
	int timeout_ms;      /* bound on every wait for a stop; 0 = default (3000) */
};

struct ps_inject {
	const struct ps_target *t;
	pid_t tid;                 /* the thread that runs the calls */
	int getfd_pidfd;           /* pidfd usable with pidfd_getfd (owned when != t->pidfd) */
	int timeout_ms;
	bool seized;               /* we are its tracer */
	bool stopped;              /* in a ptrace stop now */
	bool dead;                 /* it died or exec'd: never write registers again */
	bool suspend_seccomp;
	bool in_call;              /* running our call (registers not its own) */
	unsigned long options;     /* current PTRACE_SETOPTIONS value */
	struct user_regs_struct saved; /* R0 */
	void *saved_extra;         /* with R0: state a syscall would destroy (arch: live SVE), or NULL */
	size_t saved_extra_len;
	uint64_t gadget;           /* address of a syscall instruction */
	int deliver_sig;           /* signal to hand back at detach */
	char warning[256];         /* non-fatal note for the user ("" if none) */
};

/* Preflight (tracer, seccomp, thread choice), seize, stop, save, find gadget. */
int ps_inject_seize(struct ps_inject *s, const struct ps_target *t,
                    const struct ps_inject_opts *o, struct ps_err *err);

/* Adopt a thread this thread already traces and that sits in a ptrace stop
 * (e.g. PTRACE_EVENT_EXEC of a child pagescan launched). */
int ps_inject_adopt(struct ps_inject *s, const struct ps_target *t, pid_t tid,
                    unsigned long options, const struct ps_inject_opts *o, struct ps_err *err);

/* Run syscall nr with up to 6 arguments in the target thread; *ret gets its
 * raw return value (negative errno on failure). */
int ps_inject_syscall(struct ps_inject *s, long nr, const uint64_t args[6], long *ret,
                      struct ps_err *err);

/* Restore the saved registers at a final interrupt stop, then detach
 * (detach = true) or leave it running under our trace (detach = false). */
int ps_inject_finish(struct ps_inject *s, bool detach, struct ps_err *err);

/* Seize, call fn(s, ctx), finish+detach, all on a private thread. */
typedef int (*ps_inject_fn)(struct ps_inject *s, void *ctx, struct ps_err *err);
int ps_inject_in_thread(const struct ps_target *t, const struct ps_inject_opts *o,
                        ps_inject_fn fn, void *ctx, char *warning, size_t nwarning,
                        struct ps_err *err);

/* Make the target run getpid(): whether an injected call can run in it
 * now (not a vfork parent, not in a frozen cgroup), changing nothing. */
int ps_inject_probe(const struct ps_target *t, const struct ps_inject_opts *o, char *warning,
                    size_t nwarning, struct ps_err *err);

/* Convenience: create a userfaultfd(O_CLOEXEC|O_NONBLOCK|UFFD_USER_MODE_ONLY)
 * in the target, copy it here with pidfd_getfd (checked with kcmp), and close
 * the target's copy unless keep_remote. *ret_remote gets its number there. */
int ps_remote_userfaultfd(const struct ps_target *t, const struct ps_inject_opts *o,
                          bool keep_remote, int *ret_local, int *ret_remote,
                          char *warning, size_t nwarning, struct ps_err *err);

/* The same on an adopted session (run mode). */
int ps_inject_userfaultfd(struct ps_inject *s, bool keep_remote, int *ret_local,
                          int *ret_remote, struct ps_err *err);

/* Close fd remote_fd inside the target, after checking (pidfd_getfd + kcmp)
 * that it still is the file expect_ino refers to (0: no check). */
int ps_remote_close(const struct ps_target *t, const struct ps_inject_opts *o,
                    int remote_fd, uint64_t expect_ino, char *warning, size_t nwarning,
                    struct ps_err *err);

#endif
