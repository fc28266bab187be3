/* SPDX-License-Identifier: MIT */
/* Launching a command under trace (see launch.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pagescan/kernel/launch.h"
#include "pagescan/kernel/proctree.h"
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
	ps_nofile_restore();
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

	bool follow = l->follow_forks;
	*l = (struct ps_launch){ .follow_forks = follow,
	                         .options = follow ? PS_LAUNCH_PTRACE_FORK_OPTIONS : PS_LAUNCH_PTRACE_OPTIONS };
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
	if (ptrace(PTRACE_SEIZE, l->child, NULL, (void *)l->options) < 0) {
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

/* ---- the tracees besides the command (following forks) ---- */

static ssize_t tracee_index(const struct ps_launch *l, pid_t pid)
{
	for (size_t i = 0; i < l->ntracees; i++)
		if (l->tracees[i] == pid)
			return (ssize_t)i;
	return -1;
}

/* 0, or -1 when out of memory (it is then detached: never left traced
 * without pagescan knowing). */
static int tracee_add(struct ps_launch *l, pid_t pid)
{
	if (tracee_index(l, pid) >= 0)
		return 0;
	if (l->ntracees == l->tracees_cap) {
		size_t cap = l->tracees_cap ? l->tracees_cap * 2 : 16;
		pid_t *v = realloc(l->tracees, cap * sizeof(*v));
		if (!v)
			return -1;
		l->tracees = v;
		l->tracees_cap = cap;
	}
	l->tracees[l->ntracees++] = pid;
	return 0;
}

static void tracee_del(struct ps_launch *l, pid_t pid)
{
	ssize_t i = tracee_index(l, pid);
	if (i >= 0)
		l->tracees[i] = l->tracees[--l->ntracees];
}

/* Tgid and PPid of a task from /proc/TID/status: 0, or -1 when it is gone. */
static int task_ids(pid_t tid, pid_t *tgid, pid_t *ppid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	*tgid = *ppid = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Tgid:", 5) == 0)
			*tgid = (pid_t)strtol(line + 5, NULL, 10);
		else if (strncmp(line, "PPid:", 5) == 0)
			*ppid = (pid_t)strtol(line + 5, NULL, 10);
	}
	fclose(f);
	return *tgid > 0 ? 0 : -1;
}

static int on_known(struct ps_launch *l, pid_t p, int status, ps_launch_fn fn, void *ctx, struct ps_err *err);

/* A task pagescan did not know, at its first stop (auto-attached after a
 * fork, vfork or clone, before its first instruction): a thread runs on; a
 * process sharing its creator's address space runs on (its creator's
 * tracking covers it; its exec comes later as an exec of a pid fn does not
 * track); a process with its own address space is fn's to engage.
 * parent_first: its parent's pending stop is handled before (it is met
 * here before its parent's fork event); not when that event brought it
 * here (adopt_child: the parent runs already). */
// NOLINTNEXTLINE(misc-no-recursion): bounded, see adopt_child()
static int new_tracee(struct ps_launch *l, pid_t pid, bool parent_first, ps_launch_fn fn, void *ctx,
                      struct ps_err *err)
{
	pid_t tgid, ppid;
	if (tracee_add(l, pid) < 0) {
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return 0;
	}
	if (task_ids(pid, &tgid, &ppid) < 0 || tgid != pid || ps_proc_same_mm(pid, ppid) == 1) {
		ptrace(PTRACE_CONT, pid, NULL, NULL);
		return 0;
	}
	/* Its parent waits in its fork stop until it is resumed, and waitpid
	 * lists the newest tracee first: without this, a parent that is not
	 * the command (make under sh, ...) stayed stopped for the child's whole
	 * engagement (bench/results/forkrun.md). Its stop first, if it is in
	 * one (a stop only: its exit keeps its place, after this child's
	 * engagement). */
	siginfo_t si = { 0 };
	int st;
	if (parent_first && (ppid == l->child || tracee_index(l, ppid) >= 0) &&
	    waitid(P_PID, (id_t)ppid, &si, WSTOPPED | WNOHANG | WNOWAIT | __WALL) == 0 && si.si_pid == ppid &&
	    waitpid(ppid, &st, __WALL | WNOHANG) == ppid) {
		int r = on_known(l, ppid, st, fn, ctx, err);
		if (r < 0)
			return r;
	}
	int r = fn(ctx, PS_LAUNCH_FORK, pid, err);
	if (r != 1 && ptrace(PTRACE_DETACH, pid, NULL, NULL) == 0)
		tracee_del(l, pid);
	return r < 0 ? r : 0;
}

/* How long a task just made may take to reach its first stop (it is
 * runnable and stops before its first instruction: at once, unless its
 * cgroup is frozen). */
#define FIRST_STOP_MS 1000

/* pid, a task a tracee has just made (its fork, vfork or clone event named
 * it, and the creator runs on), at its first stop: handled now, so that
 * fn hears of a parent's children in the order it made them. waitpid lists
 * the newest tracee first and the child's first stop may come after its
 * parent's event: a parent resumed there forks again at once (a shell, a
 * fork bomb), and its second child was met, and engaged, before its first
 * (over --max-processes, the first was the one left untracked). Bounded: one
 * that does not stop in time is met later by ps_launch_reap, as before.
 * The recursion is bounded too: new_tracee (from ps_launch_reap) ->
 * on_known (its parent's stop) -> adopt_child -> new_tracee without its
 * parent first, or on_known of a child killed before its first stop (no
 * event): at most five frames. */
// NOLINTNEXTLINE(misc-no-recursion): bounded, see adopt_child()
static int adopt_child(struct ps_launch *l, pid_t pid, ps_launch_fn fn, void *ctx, struct ps_err *err)
{
	uint64_t deadline = ps_now_ns() + FIRST_STOP_MS * 1000000ull;
	sigset_t chld;
	int status;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t w = waitpid(pid, &status, __WALL | WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		uint64_t now = ps_now_ns();
		if (w < 0 || now >= deadline)
			return 0; /* not a tracee (any more: detached at its first stop), or not stopped yet */
		uint64_t left = deadline - now;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000ull), .tv_nsec = (long)(left % 1000000000ull) };
		/* SIGCHLD is blocked: one that raced the waitpid above stays
		 * pending. One taken here is not lost: ps_launch_reap, under
		 * which this runs, waits for every tracee again before it
		 * returns. */
		(void)sigtimedwait(&chld, NULL, &ts);
	}
	if (!WIFSTOPPED(status))
		return on_known(l, pid, status, fn, ctx, err); /* killed before its first stop */
	return new_tracee(l, pid, false, fn, ctx, err);
}

/* What waitpid said of p, the command or a tracee pagescan knows (not a
 * new one at its first stop): 0, or negative when fn failed. */
// NOLINTNEXTLINE(misc-no-recursion): bounded, see adopt_child()
static int on_known(struct ps_launch *l, pid_t p, int status, ps_launch_fn fn, void *ctx, struct ps_err *err)
{
	bool cmd = p == l->child;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		if (cmd)
			mark_exited(l, status);
		else
			tracee_del(l, p);
		return fn(ctx, PS_LAUNCH_EXITED, p, err);
	}
	if (!WIFSTOPPED(status))
		return 0;
	int sig = WSTOPSIG(status), event = status >> 16;
	if (event == PTRACE_EVENT_EXIT) {
		int r = fn(ctx, PS_LAUNCH_EXIT_STOP, p, err);
		ptrace(PTRACE_CONT, p, NULL, NULL);
		if (r < 0)
			return r;
	} else if (event == PTRACE_EVENT_EXEC) {
		/* fn answers 1 when it engaged the new image and let it go on
		 * under trace; else it is released here. A detach that fails
		 * (ESRCH: fn resumed it under trace before it failed) leaves it
		 * traced for ps_launch_wait to release. A thread that exec'd
		 * took its process's pid: its own is gone. */
		unsigned long former = 0;
		if (!ptrace(PTRACE_GETEVENTMSG, p, NULL, &former) && (pid_t)former != p)
			tracee_del(l, (pid_t)former);
		int r = fn(ctx, PS_LAUNCH_EXEC, p, err);
		if (r != 1 && ptrace(PTRACE_DETACH, p, NULL, NULL) == 0) {
			if (cmd)
				l->traced = false;
			else
				tracee_del(l, p);
		}
		if (r < 0)
			return r;
	} else if (event == PTRACE_EVENT_STOP) {
		/* Group-stop (job control): keep it stopped, as without us. */
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			ptrace(PTRACE_LISTEN, p, NULL, NULL);
		else
			ptrace(PTRACE_CONT, p, NULL, NULL);
	} else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
		/* The new task reports its own first stop: it goes on, the
		 * creator first (not held up by the child's engagement), then
		 * the child, unless it was met already (its first stop came
		 * first: new_tracee). */
		unsigned long nw = 0;
		if (ptrace(PTRACE_GETEVENTMSG, p, NULL, &nw) < 0)
			nw = 0;
		ptrace(PTRACE_CONT, p, NULL, NULL);
		if (nw > 0 && (pid_t)nw != l->child && tracee_index(l, (pid_t)nw) < 0)
			return adopt_child(l, (pid_t)nw, fn, ctx, err);
	} else if (event) {
		/* vfork-done, ...: go on. */
		ptrace(PTRACE_CONT, p, NULL, NULL);
	} else {
		/* Signal-delivery stop: deliver it unchanged. */
		ptrace(PTRACE_CONT, p, NULL, (void *)(long)sig);
	}
	return 0;
}

int ps_launch_reap(struct ps_launch *l, ps_launch_fn fn, void *ctx, struct ps_err *err)
{
	int status;

	for (;;) {
		/* Following forks, any tracee (pagescan has no other child in run). */
		pid_t p = waitpid(l->follow_forks ? -1 : l->child, &status, __WALL | WNOHANG);
		if (p == 0)
			return 0;
		if (p < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		/* New: its first stop (PTRACE_EVENT_STOP). */
		int r = WIFSTOPPED(status) && p != l->child && tracee_index(l, p) < 0 ? new_tracee(l, p, true, fn, ctx, err)
		                                                                     : on_known(l, p, status, fn, ctx, err);
		if (r < 0)
			return r;
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

/* Following forks: detach every tracee, the command too (each needs a stop
 * first; one in a fork stop brings its new task, detached in turn, as is
 * one found at its first stop). None is left stopped. */
static void detach_tracees(struct ps_launch *l)
{
	struct ps_pids gone = { 0 }; /* detached already: not waited for again */
	int status;

	if (l->traced && !l->exited && tracee_add(l, l->child) == 0)
		l->traced = false;
	for (size_t i = 0; i < l->ntracees; i++)
		ptrace(PTRACE_INTERRUPT, l->tracees[i], NULL, NULL);
	while (l->ntracees) {
		pid_t p = waitpid(-1, &status, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (p == l->child)
				mark_exited(l, status);
			tracee_del(l, p);
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		int event = status >> 16;
		if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
			unsigned long nw = 0;
			if (!ptrace(PTRACE_GETEVENTMSG, p, NULL, &nw) && nw && !ps_pids_has(&gone, (pid_t)nw))
				tracee_add(l, (pid_t)nw);
		}
		/* A signal-delivery stop hands its signal on. */
		ptrace(PTRACE_DETACH, p, NULL, (void *)(long)(event ? 0 : WSTOPSIG(status)));
		tracee_del(l, p);
		ps_pids_add(&gone, p);
	}
	ps_pids_free(&gone);
	free(l->tracees);
	l->tracees = NULL;
	l->ntracees = l->tracees_cap = 0;
}

int ps_launch_wait(struct ps_launch *l)
{
	int status;

	if (l->follow_forks)
		detach_tracees(l);
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
	if (l->follow_forks) {
		/* The processes it made run on, released; the command's end
		 * is seen on the way. */
		detach_tracees(l);
		if (l->exited)
			return;
	}
	int status;
	pid_t p;
	while ((p = waitpid(l->child, &status, __WALL)) < 0 && errno == EINTR)
		;
	if (p == l->child)
		mark_exited(l, status);
	else
		l->exited = true;
}
