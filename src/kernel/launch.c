/* SPDX-License-Identifier: MIT */
/* Launching a command under trace (see launch.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pagescan/kernel/launch.h"
#include "pagescan/kernel/sys.h"

int ps_wait_status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static void mark_exited(struct ps_launch *l, int status)
{
	l->exited = true;
	l->traced = false;
	l->exit_status = ps_wait_status_code(status);
}

/* What the child reports through its error pipe before it dies: the step
 * that failed and the errno. */
enum child_step { STEP_EXEC, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_REGAIN };
struct child_fail {
	int step;
	int err;
};

static const char *const step_name[] = {
	[STEP_EXEC] = "exec",
	[STEP_SETGROUPS] = "setgroups",
	[STEP_SETGID] = "setresgid",
	[STEP_SETUID] = "setresuid",
	[STEP_REGAIN] = "dropping root",
};

static _Noreturn void child_fail(int err_fd, int step, int e)
{
	struct child_fail f = { step, e };
	while (write(err_fd, &f, sizeof(f)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* In the child: the user's ids, groups first (they need privilege), the
 * uid last; then make sure root cannot be got back. Async-signal-safe
 * calls only (the parent may have threads). */
static void child_drop(const struct ps_launch_opts *o, int err_fd)
{
	if (setgroups(o->ngroups, o->groups) < 0)
		child_fail(err_fd, STEP_SETGROUPS, errno);
	if (setresgid(o->gid, o->gid, o->gid) < 0)
		child_fail(err_fd, STEP_SETGID, errno);
	if (setresuid(o->uid, o->uid, o->uid) < 0)
		child_fail(err_fd, STEP_SETUID, errno);
	if (o->uid != 0 && (setuid(0) == 0 || geteuid() != o->uid || getegid() != o->gid))
		child_fail(err_fd, STEP_REGAIN, EPERM);
}

static void child_exec(char *const argv[], const struct ps_launch_opts *o, int go_fd, int err_fd)
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
	/* Then (the parent's write cannot meet a closed pipe) become the user. */
	if (o && o->set_ids)
		child_drop(o, err_fd);
	if (o && o->envp)
		execvpe(argv[0], argv, o->envp);
	else
		execvp(argv[0], argv);
	child_fail(err_fd, STEP_EXEC, errno);
}

static int wait_exec_stop(struct ps_launch *l, const char *cmd, const struct ps_launch_opts *o, int err_fd,
                          struct ps_err *err)
{
	int status;
	for (;;) {
		pid_t p = waitpid(l->child, &status, __WALL);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			return ps_errf(err, errno, "waiting for the command failed: %s", strerror(errno));
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			struct child_fail f = { 0 };
			mark_exited(l, status);
			if (read(err_fd, &f, sizeof(f)) != (ssize_t)sizeof(f))
				return ps_errf(err, ECHILD, "the command exited before it started");
			if (f.step == STEP_EXEC)
				return ps_errf(err, f.err, "cannot run %s%s%s: %s", cmd, o && o->set_ids ? " as " : "",
				               o && o->set_ids && o->who ? o->who : "", strerror(f.err));
			if (f.step < 0 || f.step > STEP_REGAIN)
				f.step = STEP_REGAIN;
			return ps_errf(err, f.err, "cannot run %s as %s: %s failed: %s%s", cmd, o && o->who ? o->who : "another user",
			               step_name[f.step], strerror(f.err),
			               f.err == EPERM && f.step != STEP_REGAIN ? " (switching users needs root, or CAP_SETUID and CAP_SETGID)" : "");
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_EXEC)
			return 0;
		/* Anything before the exec: pass signals through. */
		int sig = (status >> 16) ? 0 : WSTOPSIG(status);
		ptrace(PTRACE_CONT, l->child, NULL, (void *)(long)sig);
	}
}

int ps_launch_start(struct ps_launch *l, char *const argv[], const struct ps_launch_opts *o,
                    struct ps_err *err)
{
	int go[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int r = -1;

	*l = (struct ps_launch){ 0 };
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		r = ps_errf(err, errno, "pipe: %s", strerror(errno));
		goto out;
	}
	l->child = fork();
	if (l->child < 0) {
		r = ps_errf(err, errno, "fork: %s", strerror(errno));
		l->child = 0;
		goto out;
	}
	if (l->child == 0) {
		close(go[1]);
		close(ep[0]);
		child_exec(argv, o, go[0], ep[1]);
	}
	ps_close(&go[0]);
	ps_close(&ep[1]);
	if (ptrace(PTRACE_SEIZE, l->child, NULL, (void *)(unsigned long)PS_LAUNCH_PTRACE_OPTIONS) < 0) {
		r = ps_errf(err, errno, "cannot trace the command: %s", strerror(errno));
		ps_launch_kill(l);
		goto out;
	}
	l->traced = true;
	if (write(go[1], "g", 1) != 1) {
		r = ps_errf(err, errno, "cannot start the command: %s", strerror(errno));
		ps_launch_kill(l);
		goto out;
	}
	ps_close(&go[1]);
	r = wait_exec_stop(l, argv[0], o, ep[0], err);
	if (r < 0)
		ps_launch_kill(l);
out:
	ps_close(&go[0]);
	ps_close(&go[1]);
	ps_close(&ep[0]);
	ps_close(&ep[1]);
	return r;
}

int ps_launch_reap(struct ps_launch *l, ps_launch_fn fn, void *ctx, struct ps_err *err)
{
	int status;

	for (;;) {
		pid_t p = waitpid(l->child, &status, __WALL | WNOHANG);
		if (p == 0)
			return 0;
		if (p < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			mark_exited(l, status);
			return fn(ctx, PS_LAUNCH_EXITED, err);
		}
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status), event = status >> 16;
		if (event == PTRACE_EVENT_EXIT) {
			int r = fn(ctx, PS_LAUNCH_EXIT_STOP, err);
			if (r < 0)
				return r;
			ptrace(PTRACE_CONT, l->child, NULL, NULL);
		} else if (event == PTRACE_EVENT_EXEC) {
			/* fn answers 1 when it engaged the new image and let it go on
			 * under trace; else it is released here. A detach that fails
			 * (ESRCH: fn resumed it under trace before it failed) leaves it
			 * traced for ps_launch_wait to release. */
			int r = fn(ctx, PS_LAUNCH_EXEC, err);
			if (r != 1 && ptrace(PTRACE_DETACH, l->child, NULL, NULL) == 0)
				l->traced = false;
			if (r < 0)
				return r;
		} else if (event == PTRACE_EVENT_STOP) {
			/* Group-stop (job control): keep it stopped, as without us. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				ptrace(PTRACE_LISTEN, l->child, NULL, NULL);
			else
				ptrace(PTRACE_CONT, l->child, NULL, NULL);
		} else if (event) {
			ptrace(PTRACE_CONT, l->child, NULL, NULL);
		} else {
			/* Signal-delivery stop: deliver it unchanged. */
			ptrace(PTRACE_CONT, l->child, NULL, (void *)(long)sig);
		}
	}
}

bool ps_launch_forward(struct ps_launch *l, int signo, int code, pid_t sender)
{
	if (l->exited)
		return false;
	if ((code == SI_USER || code == SI_QUEUE) && sender != l->child)
		kill(l->child, signo);
	return true;
}

int ps_launch_wait(struct ps_launch *l)
{
	int status;

	if (l->traced && !l->exited) {
		/* Stop tracing: detach needs a stopped tracee. */
		ptrace(PTRACE_INTERRUPT, l->child, NULL, NULL);
		while (!l->exited) {
			pid_t p = waitpid(l->child, &status, __WALL);
			if (p < 0 && errno == EINTR)
				continue;
			if (p < 0)
				break;
			if (WIFEXITED(status) || WIFSIGNALED(status)) {
				mark_exited(l, status);
				break;
			}
			if (WIFSTOPPED(status)) {
				int event = status >> 16;
				if (event == PTRACE_EVENT_STOP || event == PTRACE_EVENT_EXIT) {
					ptrace(PTRACE_DETACH, l->child, NULL, NULL);
					l->traced = false;
					break;
				}
				ptrace(PTRACE_CONT, l->child, NULL, (void *)(long)(event ? 0 : WSTOPSIG(status)));
			}
		}
	}
	while (!l->exited) {
		pid_t p = waitpid(l->child, &status, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			mark_exited(l, status);
	}
	return l->exit_status;
}

void ps_launch_kill(struct ps_launch *l)
{
	if (l->child <= 0 || l->exited)
		return;
	kill(l->child, SIGKILL);
	int status;
	pid_t p;
	while ((p = waitpid(l->child, &status, __WALL)) < 0 && errno == EINTR)
		;
	if (p == l->child)
		mark_exited(l, status);
	else
		l->exited = true;
}
