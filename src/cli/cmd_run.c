/* run: launch a command with tracking engaged at its exec, before its first
 * instruction, and watch it until it exits. pagescan stays its tracer (only
 * for PTRACE_EVENT_EXIT, so the last interval is harvested while its mm still
 * exists) and passes every signal through untouched. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "watch_loop.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/kernel/inject.h"
#include "pagescan/model/util.h"


static const unsigned long run_options = PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACESYSGOOD;

static void child_exec(char **argv, int go_fd, int err_fd)
{
	sigset_t none;
	char c;

	/* Undo what pagescan changed for itself before the program sees it. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Wait until the parent is our tracer, so the exec stop is reported. */
	while (read(go_fd, &c, 1) < 0 && errno == EINTR)
		;
	close(go_fd);
	execvp(argv[0], argv);
	int e = errno;
	while (write(err_fd, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Handle whatever stops the child reports; mark its exit. */
int ps_run_reap(struct ps_watch *w, struct ps_err *err)
{
	int status;

	for (;;) {
		pid_t p = waitpid(w->child, &status, __WALL | WNOHANG);
		if (p == 0)
			return 0;
		if (p < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			w->child_exited = true;
			w->has_exit_status = true;
			w->exit_status = status_code(status);
			ps_watch_end(w, PS_END_TARGET_EXIT, NULL);
			return 0;
		}
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status), event = status >> 16;
		if (event == PTRACE_EVENT_EXIT) {
			/* Its mm still exists: harvest the last interval now. */
			if (!w->ended) {
				int r = ps_watch_tick(w, err);
				if (r < 0 && r != -ESRCH)
					return r;
			}
			ptrace(PTRACE_CONT, w->child, NULL, NULL);
		} else if (event == PTRACE_EVENT_EXEC) {
			/* A new program image: the old mm and its tracking are gone. */
			if (!w->ended)
				ps_watch_end(w, PS_END_TARGET_EXEC, NULL);
			ptrace(PTRACE_DETACH, w->child, NULL, NULL);
			w->child_traced = false;
		} else if (event == PTRACE_EVENT_STOP) {
			/* Group-stop (job control): keep it stopped, as without us. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				ptrace(PTRACE_LISTEN, w->child, NULL, NULL);
			else
				ptrace(PTRACE_CONT, w->child, NULL, NULL);
		} else if (event) {
			ptrace(PTRACE_CONT, w->child, NULL, NULL);
		} else {
			/* Signal-delivery stop: deliver it unchanged. */
			ptrace(PTRACE_CONT, w->child, NULL, (void *)(long)sig);
		}
	}
}

bool ps_run_forward(struct ps_watch *w, const struct signalfd_siginfo *si)
{
	if (w->child_exited)
		return false;
	/* Terminal signals (Ctrl-C) reach the whole process group already; a
	 * signal sent to pagescan alone is passed on. Either way the watch ends
	 * when the command does. */
	if (si->ssi_code == SI_USER || si->ssi_code == SI_QUEUE) {
		if ((pid_t)si->ssi_pid != w->child)
			kill(w->child, (int)si->ssi_signo);
	}
	return true;
}

static int wait_exec_stop(struct ps_watch *w, int err_fd, struct ps_err *err)
{
	int status;
	for (;;) {
		pid_t p = waitpid(w->child, &status, __WALL);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			return ps_errf(err, errno, "waiting for the command failed: %s", strerror(errno));
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			int e = 0;
			w->child_exited = true;
			if (read(err_fd, &e, sizeof(e)) == (ssize_t)sizeof(e))
				return ps_errf(err, e, "cannot run %s: %s", w->o->argv[0], strerror(e));
			return ps_errf(err, ECHILD, "the command exited before it started");
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_EXEC)
			return 0;
		/* Anything before the exec: pass signals through. */
		int sig = (status >> 16) ? 0 : WSTOPSIG(status);
		ptrace(PTRACE_CONT, w->child, NULL, (void *)(long)sig);
	}
}

int ps_cmd_run(struct ps_opts *o, struct ps_err *err)
{
	struct ps_watch w;
	struct ps_inject s;
	int go[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int rc = PS_EXIT_FAIL, local = -1;
	bool injecting = false, masked = false;
	sigset_t all, old_mask;

	if (ps_watch_init(&w, o, err) < 0)
		return PS_EXIT_FAIL;
	if (ps_watch_make_sinks(&w, err) < 0)
		goto out;
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		ps_errf(err, errno, "pipe: %s", strerror(errno));
		goto out;
	}
	w.child = fork();
	if (w.child < 0) {
		ps_errf(err, errno, "fork: %s", strerror(errno));
		goto out;
	}
	if (w.child == 0) {
		close(go[1]);
		close(ep[0]);
		child_exec(o->argv, go[0], ep[1]);
	}
	close(go[0]);
	close(ep[1]);
	go[0] = ep[1] = -1;
	if (ptrace(PTRACE_SEIZE, w.child, NULL, (void *)run_options) < 0) {
		ps_errf(err, errno, "cannot trace the command: %s", strerror(errno));
		kill(w.child, SIGKILL);
		goto reap;
	}
	w.child_traced = true;
	if (write(go[1], "g", 1) != 1) {
		ps_errf(err, errno, "cannot start the command: %s", strerror(errno));
		kill(w.child, SIGKILL);
		goto reap;
	}
	close(go[1]);
	go[1] = -1;
	if (wait_exec_stop(&w, ep[0], err) < 0)
		goto reap;

	/* Stopped at the exec: new image loaded, not one instruction run yet. */
	if (ps_target_open(&w.t, w.child, err) < 0 || ps_target_open_pagemap(&w.t, err) < 0 ||
	    ps_check_kernel(&w.t, err) < 0)
		goto kill;
	/* No signal may end pagescan while the child holds injection
	 * registers (EXITKILL would kill it): block them until finished. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old_mask);
	masked = true;
	if (ps_inject_adopt(&s, &w.t, w.child, run_options, NULL, err) < 0)
		goto kill;
	injecting = true;
	if (ps_inject_userfaultfd(&s, false, &local, NULL, err) < 0)
		goto kill;
	if (ps_tracker_init(&w.tr, &w.t, local, o->ranges, o->nranges, err) < 0) {
		close(local);
		goto kill;
	}
	if (ps_watch_engage_first(&w, err) < 0)
		goto kill;
	if (ps_inject_finish(&s, false, err) < 0)
		goto kill;
	injecting = false;
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	masked = false;
	if (ps_watch_loop(&w, err) < 0) {
		ps_watch_end(&w, PS_END_ERROR, err->msg);
		goto kill;
	}
	/* The watch may end early (count, duration): the command runs on, and
	 * pagescan waits for it to propagate its status. */
	if (w.child_traced && !w.child_exited) {
		/* Stop tracing: detach needs a stopped tracee. */
		ptrace(PTRACE_INTERRUPT, w.child, NULL, NULL);
		int status;
		while (!w.child_exited) {
			pid_t p = waitpid(w.child, &status, __WALL);
			if (p < 0 && errno == EINTR)
				continue;
			if (p < 0)
				break;
			if (WIFEXITED(status) || WIFSIGNALED(status)) {
				w.child_exited = true;
				w.exit_status = status_code(status);
				break;
			}
			if (WIFSTOPPED(status)) {
				int sig = (status >> 16) ? 0 : WSTOPSIG(status);
				if ((status >> 16) == PTRACE_EVENT_STOP || (status >> 16) == PTRACE_EVENT_EXIT) {
					ptrace(PTRACE_DETACH, w.child, NULL, NULL);
					break;
				}
				ptrace(PTRACE_CONT, w.child, NULL, (void *)(long)sig);
			}
		}
	}
	while (!w.child_exited) {
		int status;
		pid_t p = waitpid(w.child, &status, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			w.child_exited = true;
			w.exit_status = status_code(status);
		}
	}
	rc = w.exit_status;
	goto out;
kill:
	if (injecting) {
		struct ps_err e2;
		ps_inject_finish(&s, false, &e2);
	}
	if (masked)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	kill(w.child, SIGKILL);
reap:
	while (!w.child_exited && waitpid(w.child, NULL, __WALL) < 0 && errno == EINTR)
		;
out:
	ps_close(&go[0]);
	ps_close(&go[1]);
	ps_close(&ep[0]);
	ps_close(&ep[1]);
	ps_watch_free(&w);
	return rc;
}
