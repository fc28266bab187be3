/* SPDX-License-Identifier: MIT */
/* Remote system calls through ptrace; see include/pagescan/kernel/inject.h
 * and docs/remote-syscalls.md for the algorithm and its pitfalls. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/kernel/compat.h"
#include "pagescan/kernel/inject.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/util.h"

#ifndef PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG
#define PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG 0x4211 /* Linux 6.4 */
struct ptrace_sud_config {
	__u64 mode;
	__u64 selector;
	__u64 offset;
	__u64 len;
};
#endif

/* struct ptrace_rseq_configuration (Linux 5.13), struct rseq_cs (uapi/linux/rseq.h). */
struct ps_rseq_conf {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};
struct ps_rseq_cs {
	uint32_t version;
	uint32_t flags;
	uint64_t start_ip;
	uint64_t post_commit_offset;
	uint64_t abort_ip;
};

#define DEFAULT_TIMEOUT_MS 3000

static long pt(enum __ptrace_request req, pid_t tid, void *addr, void *data)
{
	return ptrace(req, tid, addr, data);
}

/* ---- waiting ---------------------------------------------------------- */

enum stop_kind { STOP_NONE, STOP_SYSCALL, STOP_EVENT, STOP_SIGNAL, STOP_EXITED };

struct stop {
	enum stop_kind kind;
	int sig;      /* STOP_SIGNAL: the signal; STOP_EVENT: stop signal */
	int event;    /* STOP_EVENT: PTRACE_EVENT_* */
	int status;
};

static int wait_stop(struct ps_inject *s, struct stop *st, struct ps_err *err)
{
	uint64_t deadline = ps_now_ns() + (uint64_t)s->timeout_ms * 1000000ull;
	sigset_t chld;
	int status;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t w = waitpid(s->tid, &status, __WALL | WNOHANG);
		if (w == s->tid)
			break;
		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->dead = true;
			return ps_errf(err, ESRCH, "process %d exited or called exec during injection", s->t->pid);
		}
		uint64_t now = ps_now_ns();
		if (now >= deadline && s->in_call)
			return ps_errf(err, ETIMEDOUT,
			               "thread %d of process %d stopped but did not run pagescan's system call within %d ms (a frozen cgroup?); nothing was changed, try again later",
			               s->tid, s->t->pid, s->timeout_ms);
		if (now >= deadline)
			return ps_errf(err, ETIMEDOUT,
			               "thread %d of process %d did not stop within %d ms (uninterruptible: a vfork parent, a frozen cgroup, or blocked I/O); nothing was changed, try again later",
			               s->tid, s->t->pid, s->timeout_ms);
		uint64_t left = deadline - now;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000ull), .tv_nsec = (long)(left % 1000000000ull) };
		/* SIGCHLD is blocked: a notification that raced the waitpid above stays pending. */
		if (sigtimedwait(&chld, NULL, &ts) < 0 && errno != EAGAIN && errno != EINTR)
			return ps_errf(err, errno, "waiting for the target failed: %s", strerror(errno));
	}
	st->status = status;
	st->event = 0;
	st->sig = 0;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		st->kind = STOP_EXITED;
		s->dead = true;
		s->stopped = false;
		if (WIFSIGNALED(status))
			return ps_errf(err, ESRCH, "process %d was killed by signal %d (%s) during injection",
			               s->t->pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
		return ps_errf(err, ESRCH, "process %d exited (status %d) during injection", s->t->pid, WEXITSTATUS(status));
	}
	if (!WIFSTOPPED(status))
		return ps_errf(err, EPROTO, "unexpected wait status 0x%x", status);
	s->stopped = true;
	int sig = WSTOPSIG(status);
	if (sig == (SIGTRAP | 0x80)) {
		st->kind = STOP_SYSCALL;
	} else if (status >> 16) {
		st->kind = STOP_EVENT;
		st->event = status >> 16;
		st->sig = sig;
	} else {
		st->kind = STOP_SIGNAL;
		st->sig = sig;
	}
	return 0;
}

static int ptrace_fail(struct ps_inject *s, const char *what, struct ps_err *err)
{
	int e = errno;
	if (e == ESRCH) {
		/* Usually SIGKILL while stopped: collect the exit status (it
		 * follows shortly) so the message says the target died, and how. */
		if (!s->dead && s->seized) {
			struct stop st;
			int keep = s->timeout_ms;
			s->timeout_ms = 500;
			int r = wait_stop(s, &st, err);
			s->timeout_ms = keep;
			if (r < 0 && s->dead)
				return r;
		}
		s->dead = !ps_target_alive(s->t) || s->dead;
		return ps_errf(err, ESRCH, "process %d exited or changed during injection (%s)", s->t->pid, what);
	}
	return ps_errf(err, e, "%s on thread %d failed: %s", what, s->tid, strerror(e));
}

static int get_regs(struct ps_inject *s, ps_regs_t *r, struct ps_err *err)
{
	struct iovec iov = { .iov_base = r, .iov_len = sizeof(*r) };
	if (pt(PTRACE_GETREGSET, s->tid, (void *)NT_PRSTATUS, &iov) < 0)
		return ptrace_fail(s, "PTRACE_GETREGSET", err);
	if (iov.iov_len != sizeof(*r))
		return ps_errf(err, EOPNOTSUPP, "process %d is a 32-bit program; pagescan supports 64-bit targets only", s->t->pid);
	return 0;
}

static int set_regs(struct ps_inject *s, const ps_regs_t *r, struct ps_err *err)
{
	struct iovec iov = { .iov_base = (void *)r, .iov_len = sizeof(*r) };
	if (pt(PTRACE_SETREGSET, s->tid, (void *)NT_PRSTATUS, &iov) < 0)
		return ptrace_fail(s, "PTRACE_SETREGSET", err);
	return 0;
}

/* Save R0's companion state (ps_arch_extra_save) after R0 itself. */
static int save_extra(struct ps_inject *s, struct ps_err *err)
{
	free(s->saved_extra);
	int r = ps_arch_extra_save(s->tid, &s->saved_extra, &s->saved_extra_len);
	if (r < 0)
		return ps_errf(err, -r, "cannot save the vector registers of thread %d: %s", s->tid, strerror(-r));
	return 0;
}

/* Put R0 back, with its companion state. */
static int restore_saved(struct ps_inject *s, struct ps_err *err)
{
	if (ps_arch_extra_restore(s->tid, s->saved_extra, s->saved_extra_len) < 0)
		return ptrace_fail(s, "PTRACE_SETREGSET (vector registers)", err);
	return set_regs(s, &s->saved, err);
}

static int set_options(struct ps_inject *s, unsigned long opts, struct ps_err *err)
{
	if (opts == s->options)
		return 0;
	if (pt(PTRACE_SETOPTIONS, s->tid, NULL, (void *)opts) < 0)
		return ptrace_fail(s, "PTRACE_SETOPTIONS", err);
	s->options = opts;
	return 0;
}

/* ---- preflight -------------------------------------------------------- */

static int find_gadget(struct ps_inject *s, struct ps_err *err);

static int read_task_file(const struct ps_target *t, pid_t tid, const char *name, char **buf)
{
	char path[64];
	size_t len;
	snprintf(path, sizeof(path), "task/%d/%s", tid, name);
	return ps_read_file_at(t->procfd, path, 1 << 16, buf, &len);
}

static char task_state(const struct ps_target *t, pid_t tid)
{
	char *buf = NULL, st[32] = "";
	if (read_task_file(t, tid, "status", &buf) < 0)
		return 0;
	ps_status_field(buf, "State", st, sizeof(st));
	free(buf);
	return st[0];
}

/* The syscall thread tid is blocked in, or -1. */
static long blocked_syscall(const struct ps_target *t, pid_t tid)
{
	char *buf = NULL;
	long nr = -1;
	long long v;
	if (read_task_file(t, tid, "syscall", &buf) < 0)
		return -1;
	/* "NR args... sp pc", "-1 sp pc" (blocked, not in a syscall) or "running" */
	buf[strcspn(buf, " \n")] = '\0';
	if (ps_parse_int(buf, -1, INT_MAX, &v, NULL) == 0)
		nr = (long)v;
	free(buf);
	return nr;
}

/* Syscalls that any ptrace stop makes return EINTR (signal(7)). */
static bool eintr_prone(const struct ps_target *t, pid_t tid, long *ret_nr)
{
	long nr = blocked_syscall(t, tid);

	*ret_nr = nr;
	switch (nr) {
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
#endif
	case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
	case SYS_rt_sigtimedwait:
	case SYS_semop:
	case SYS_semtimedop:
#ifdef SYS_io_uring_enter
	case SYS_io_uring_enter:
#endif
#ifdef SYS_io_getevents
	case SYS_io_getevents:
#endif
		return true;
	default:
		return false;
	}
}

static const char *syscall_name(long nr)
{
	switch (nr) {
#ifdef SYS_epoll_wait
	case SYS_epoll_wait: return "epoll_wait";
#endif
	case SYS_epoll_pwait: return "epoll_pwait";
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2: return "epoll_pwait2";
#endif
	case SYS_rt_sigtimedwait: return "sigtimedwait";
	case SYS_semop: return "semop";
	case SYS_semtimedop: return "semtimedop";
#ifdef SYS_io_uring_enter
	case SYS_io_uring_enter: return "io_uring_enter";
#endif
#ifdef SYS_io_getevents
	case SYS_io_getevents: return "io_getevents";
#endif
	default: return "a system call";
	}
}

/* Pick the thread: the leader unless it is a zombie or sits in a wait that a
 * ptrace stop would break with EINTR and another thread does not. */
static int choose_thread(struct ps_inject *s, struct ps_err *err)
{
	const struct ps_target *t = s->t;
	long nr = -1;
	bool leader_zombie = task_state(t, t->pid) == 'Z';
	bool leader_eintr = !leader_zombie && eintr_prone(t, t->pid, &nr);

	s->tid = t->pid;
	if (!leader_zombie && !leader_eintr)
		return 0;

	pid_t *tids = NULL, best = 0;
	size_t n = 0;
	int r = ps_target_threads(t, &tids, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		long tnr;
		if (!best)
			best = tids[i];
		if (!eintr_prone(t, tids[i], &tnr)) {
			best = tids[i];
			break;
		}
	}
	free(tids);
	if (leader_zombie) {
		if (!best)
			return ps_errf(err, ESRCH, "process %d has no live thread left", t->pid);
		s->tid = best;
	} else if (best && !eintr_prone(t, best, &nr)) {
		s->tid = best;
	} else {
		snprintf(s->warning, sizeof(s->warning),
		         "process %d is blocked in %s, which returns EINTR after any ptrace stop; it may see one spurious EINTR",
		         t->pid, syscall_name(nr));
	}
	return 0;
}

static int preflight(struct ps_inject *s, struct ps_err *err)
{
	char *status = NULL;
	size_t len;
	char val[64], name[64];
	/* The thread that will make the call first: its own tracer and its own
	 * seccomp filters are what count (a filter installed by one thread
	 * without TSYNC is that thread's alone; the leader's status does not
	 * show it). */
	int r = choose_thread(s, err);
	if (r < 0)
		return r;
	if (s->tid == s->t->pid)
		snprintf(name, sizeof(name), "status");
	else
		snprintf(name, sizeof(name), "task/%d/status", (int)s->tid);
	r = ps_target_read(s->t, name, &status, &len, err);
	if (r < 0)
		return r;
	if (ps_status_field(status, "TracerPid", val, sizeof(val)) == 0 && strcmp(val, "0") != 0) {
		char comm[64] = "?", path[80];
		char *c = NULL;
		size_t cl;
		snprintf(path, sizeof(path), "/proc/%s", val);
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0 && ps_read_file_at(dfd, "comm", 64, &c, &cl) == 0) {
			while (cl && c[cl - 1] == '\n')
				c[--cl] = 0;
			snprintf(comm, sizeof(comm), "%s", c);
			free(c);
		}
		if (dfd >= 0)
			close(dfd);
		free(status);
		return ps_errf(err, EBUSY, "process %d is already traced by process %s (%s); detach that debugger or tracer first",
		               s->t->pid, val, comm);
	}
	/* Any seccomp mode can turn an injected userfaultfd() into a SIGSYS kill;
	 * suspend it for the injection (needs CAP_SYS_ADMIN) or refuse. */
	if (ps_status_field(status, "Seccomp", val, sizeof(val)) == 0 && strcmp(val, "0") != 0)
		s->suspend_seccomp = true;
	free(status);
	/* Find the syscall instruction before stopping anything: the vDSO does
	 * not move, and the target's stop stays as short as possible. Failure
	 * here is not final (ptrace access may be needed): retried once stopped. */
	if (find_gadget(s, NULL) < 0)
		s->gadget = 0;
	return 0;
}

/* ---- state save ------------------------------------------------------- */

static int mem_read(const struct ps_inject *s, uint64_t addr, void *buf, size_t n)
{
	struct iovec l = { .iov_base = buf, .iov_len = n };
	struct iovec r = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n };
	/* The thread, not the process: a zombie leader has no mm. */
	ssize_t got = process_vm_readv(s->tid, &l, 1, &r, 1, 0);
	return got == (ssize_t)n ? 0 : -EFAULT;
}

/* A thread stopped inside an rseq critical section must resume at its abort
 * handler: our injected call runs elsewhere and the kernel clears rseq_cs on
 * the way, so the section would continue without the abort
 * (docs/remote-syscalls.md#rseq-critical-sections). */
static void rseq_fixup(struct ps_inject *s)
{
	struct ps_rseq_conf conf;
	uint64_t cs_ptr;
	struct ps_rseq_cs cs;

	if (pt(PTRACE_GET_RSEQ_CONFIGURATION, s->tid, (void *)sizeof(conf), &conf) != (long)sizeof(conf))
		return;
	if (!conf.rseq_abi_pointer)
		return;
	if (mem_read(s, conf.rseq_abi_pointer + 8, &cs_ptr, sizeof(cs_ptr)) < 0 || !cs_ptr)
		return;
	if (mem_read(s, cs_ptr, &cs, sizeof(cs)) < 0)
		return;
	uint64_t ip = ps_arch_ip(&s->saved);
	if (ip >= cs.start_ip && ip - cs.start_ip < cs.post_commit_offset)
		ps_arch_set_ip(&s->saved, cs.abort_ip);
}

static int find_gadget_in(struct ps_inject *s, const struct ps_vma *v, bool present_only)
{
	size_t n = v->end - v->start;
	if (n > (64u << 20))
		n = 64u << 20;
	unsigned char *buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	int r = -ENOENT;
	/* present_only: only pages present in the target's page tables (a
	 * page left out reads as zeros; see find_gadget()): their pagemap
	 * entries in one read (none read: nothing is present). */
	size_t npages = n / PS_PAGE_SIZE, have = 0;
	uint64_t *pme = NULL;
	if (present_only && s->t->pagemap_fd >= 0) {
		pme = calloc(npages ? npages : 1, sizeof(*pme));
		if (!pme) {
			free(buf);
			return -ENOMEM;
		}
		ssize_t got = pread(s->t->pagemap_fd, pme, npages * sizeof(*pme),
		                    (off_t)((v->start >> PS_PAGE_SHIFT) * sizeof(*pme)));
		have = got > 0 ? (size_t)got / sizeof(*pme) : 0;
	}
	/* Read page by page: a file mapping may extend past its file's end. */
	for (size_t off = 0; off < n && r < 0; off += PS_PAGE_SIZE) {
		size_t pg = off / PS_PAGE_SIZE;
		if (pme && (pg >= have || !(pme[pg] & PM_PRESENT_BIT))) {
			memset(buf + off, 0, PS_PAGE_SIZE);
			continue;
		}
		if (mem_read(s, v->start + off, buf + off, PS_PAGE_SIZE) < 0)
			break;
		size_t lim = off + PS_PAGE_SIZE;
		/* An x86-64 "syscall" may straddle the page boundary; aligned
		 * instructions cannot. */
		for (size_t i = off ? off - (PS_ARCH_SYSCALL_LEN - PS_ARCH_INSN_ALIGN) : 0;
		     i + PS_ARCH_SYSCALL_LEN <= lim; i += PS_ARCH_INSN_ALIGN) {
			if (memcmp(buf + i, ps_arch_syscall_insn, PS_ARCH_SYSCALL_LEN) == 0) {
				s->gadget = v->start + i;
				r = 0;
				break;
			}
		}
	}
	free(pme);
	free(buf);
	return r;
}

static int find_gadget(struct ps_inject *s, struct ps_err *err)
{
	struct ps_maps maps = { 0 };
	int r = ps_maps_read(s->t->mmfd, &maps, err);
	if (r < 0)
		return r;
	r = -ENOENT;
	/* First the pages present in the target's page tables: reading any
	 * other faults it in (a change to the target), and in memory the
	 * target registered with a userfaultfd of its own (missing or minor
	 * mode: anonymous memory, shmem, hugetlbfs) the read would wait for
	 * its handler, or forever. Then, for a program at its first
	 * instruction (run, exec), whose pages are not yet there: the vDSO and
	 * files on disk, which no userfaultfd can register. In each pass the
	 * vDSO first (its clock_gettime/getrandom fallbacks contain
	 * "syscall"), then libc, then any executable mapping. */
	for (int pass = 0; pass < 2 && r < 0; pass++) {
		bool present_only = pass == 0;
		for (size_t i = 0; i < maps.n && r < 0; i++)
			if (maps.v[i].kind == PS_VMA_VDSO)
				r = find_gadget_in(s, &maps.v[i], present_only);
		for (size_t i = 0; i < maps.n && r < 0; i++)
			if (maps.v[i].kind == PS_VMA_FILE && (maps.v[i].prot & PS_VMA_EXEC) && strstr(maps.v[i].name, "libc"))
				r = find_gadget_in(s, &maps.v[i], present_only);
		for (size_t i = 0; i < maps.n && r < 0; i++)
			if ((maps.v[i].prot & PS_VMA_EXEC) && maps.v[i].kind != PS_VMA_VSYSCALL &&
			    (present_only || (maps.v[i].kind == PS_VMA_FILE && !(maps.v[i].prot & PS_VMA_SHARED) &&
			                      strncmp(maps.v[i].name, "/memfd:", 7) != 0 &&
			                      strncmp(maps.v[i].name, "/dev/shm/", 9) != 0)))
				r = find_gadget_in(s, &maps.v[i], present_only);
	}
	ps_maps_free(&maps);
	if (r < 0)
		return ps_errf(err, ENOEXEC, "no system call instruction found in the executable mappings of process %d", s->t->pid);
	return 0;
}

static int check_sud(struct ps_inject *s, struct ps_err *err)
{
	struct ptrace_sud_config c;
	if (pt(PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG, s->tid, (void *)sizeof(c), &c) < 0)
		return 0; /* older kernel: no SUD to worry about */
	if (c.mode != 0)
		return ps_errf(err, EOPNOTSUPP,
		               "thread %d uses Syscall User Dispatch (Wine/Proton-style); pagescan refuses to inject into it", s->tid);
	return 0;
}

/* Is the stopped thread still in the address space pagescan looked at
 * before stopping it? An exec can land between the gadget search (before
 * the stop, preflight()) and the stop: the thread then stops at the new
 * program's first instruction, where the gadget's address means nothing
 * (jumping there killed it with SIGSEGV). The target's pagemap, opened
 * before, reads nothing once its address space is gone; the gadget must
 * still read as a system call instruction (an exec of a vfork child leaves
 * the old address space to its parent). Nothing is changed yet. */
static int same_image(struct ps_inject *s, struct ps_err *err)
{
	unsigned char insn[PS_ARCH_SYSCALL_LEN];
	uint64_t pme;
	bool gone = s->t->pagemap_fd >= 0 && pread(s->t->pagemap_fd, &pme, sizeof(pme), 0) != (ssize_t)sizeof(pme);

	if (!gone && s->gadget &&
	    (mem_read(s, s->gadget, insn, sizeof(insn)) < 0 || memcmp(insn, ps_arch_syscall_insn, sizeof(insn)) != 0))
		gone = true;
	if (gone)
		return ps_errf(err, PS_EEXECED, "process %d called exec while pagescan was attaching to it (nothing was changed); run pagescan again for its new program", s->t->pid);
	return 0;
}

/* R0 saved at the first event stop. blocked_nr: the syscall the thread was
 * blocked in before the stop (-1 if none or unknown), for the architectures
 * that handle its restart before the stop (ps_arch_fix_saved()). */
static int after_stop(struct ps_inject *s, long blocked_nr, struct ps_err *err)
{
	unsigned char insn[PS_ARCH_SYSCALL_LEN];
	int r = get_regs(s, &s->saved, err);
	if (r < 0 || (r = same_image(s, err)) < 0 || (r = save_extra(s, err)) < 0)
		return r;
	if (blocked_nr >= 0 && mem_read(s, ps_arch_ip(&s->saved), insn, sizeof(insn)) == 0)
		ps_arch_fix_saved(&s->saved, blocked_nr, insn);
	rseq_fixup(s);
	r = check_sud(s, err);
	if (r < 0)
		return r;
	return s->gadget ? 0 : find_gadget(s, err);
}

static int open_getfd_pidfd(struct ps_inject *s, struct ps_err *err)
{
	s->getfd_pidfd = s->t->pidfd;
	if (s->tid == s->t->pid)
		return 0;
	/* A tgid pidfd of a zombie leader fails pidfd_getfd with ESRCH although
	 * the fd table lives on in the other threads
	 * (docs/remote-syscalls.md#choosing-the-thread). */
	int fd = pidfd_open(s->tid, PIDFD_THREAD);
	if (fd < 0)
		return ps_errf(err, errno == EINVAL ? EOPNOTSUPP : errno,
		               "cannot pin thread %d of process %d (PIDFD_THREAD needs Linux 6.9): %s",
		               s->tid, s->t->pid, strerror(errno));
	s->getfd_pidfd = fd;
	return 0;
}
/* After PTRACE_INTERRUPT: wait for its event stop (PTRACE_EVENT_STOP, a trap
 * or group-stop, which stays stopped after a detach). A signal being
 * delivered first: queue our trap again, then let the signal proceed; the
 * trap fires before any handler code runs. A syscall stop cannot happen: we
 * never ask for one. */
static int wait_interrupt_stop(struct ps_inject *s, struct ps_err *err)
{
	struct stop st;
	for (;;) {
		int r = wait_stop(s, &st, err);
		if (r < 0)
			return r;
		if (st.kind == STOP_EVENT)
			return 0;
		if (st.kind != STOP_SIGNAL)
			return ps_errf(err, EPROTO, "unexpected stop 0x%x of thread %d", st.status, s->tid);
		if (pt(PTRACE_INTERRUPT, s->tid, NULL, NULL) < 0 ||
		    pt(PTRACE_CONT, s->tid, NULL, (void *)(long)st.sig) < 0)
			return ptrace_fail(s, "PTRACE_CONT", err);
		s->stopped = false;
	}
}


static void test_hook_preseize(void);

int ps_inject_seize(struct ps_inject *s, const struct ps_target *t,
                    const struct ps_inject_opts *o, struct ps_err *err)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->t = t;
	s->getfd_pidfd = -1;
	s->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	/* A process cannot ptrace itself (the kernel says EPERM, which would
	 * read as a lack of privilege). */
	if (t->pid == getpid())
		return ps_errf(err, EINVAL, "cannot track pagescan itself (process %d is this pagescan)", t->pid);
	r = preflight(s, err);
	if (r < 0)
		return r;
	test_hook_preseize();

	unsigned long opts = PTRACE_O_TRACESYSGOOD;
	if (s->suspend_seccomp)
		opts |= PTRACE_O_SUSPEND_SECCOMP;
	if (pt(PTRACE_SEIZE, s->tid, NULL, (void *)opts) < 0) {
		int e = errno;
		/* The kernel refuses to attach to an exiting task with EPERM. */
		if (e == ESRCH || (e == EPERM && ps_target_exiting(t) == 1))
			return ps_errf(err, ESRCH, "process %d exited", t->pid);
		if (s->suspend_seccomp && (e == EPERM || e == EINVAL))
			return ps_errf(err, EPERM,
			               "process %d runs under seccomp, which could kill it when pagescan injects userfaultfd(); suspending seccomp for the injection needs CAP_SYS_ADMIN (run as root)",
			               t->pid);
		if (e == EPERM)
			return ps_errf(err, EPERM,
			               "cannot attach to process %d: permission denied; run as root or with CAP_SYS_PTRACE, or as its owner when it is dumpable and kernel.yama.ptrace_scope allows it",
			               t->pid);
		return ps_errf(err, e, "cannot attach to process %d: %s", t->pid, strerror(e));
	}
	s->seized = true;
	s->options = opts;
	long blocked_nr = blocked_syscall(t, s->tid);
	if (pt(PTRACE_INTERRUPT, s->tid, NULL, NULL) < 0)
		return ptrace_fail(s, "PTRACE_INTERRUPT", err);
	r = wait_interrupt_stop(s, err);
	if (r < 0)
		return r;
	r = open_getfd_pidfd(s, err);
	if (r < 0)
		return r;
	return after_stop(s, blocked_nr, err);
}

int ps_inject_adopt(struct ps_inject *s, const struct ps_target *t, pid_t tid,
                    unsigned long options, const struct ps_inject_opts *o, struct ps_err *err)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->tid = tid;
	s->getfd_pidfd = t->pidfd;
	s->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	s->seized = true;
	s->stopped = true;
	s->options = options;

	ps_regs_t regs;
	long nr = -1;
	int r = get_regs(s, &regs, err);
	if (r < 0)
		return r;
	if (ps_arch_syscall_nr(s->tid, &regs, &nr) < 0)
		return ptrace_fail(s, "PTRACE_GETREGSET", err);
	if (nr == SYS_execve || nr == SYS_execveat || (PS_ARCH_EXEC_FORGETS_NR && nr == -1)) {
		/* At PTRACE_EVENT_EXEC the thread is still inside execve, whose
		 * return value is stored on the way out (over any register we
		 * set now): step to its syscall-exit stop and start from there. */
		struct stop st;
		for (;;) {
			if (pt(PTRACE_SYSCALL, s->tid, NULL, NULL) < 0)
				return ptrace_fail(s, "PTRACE_SYSCALL", err);
			s->stopped = false;
			r = wait_stop(s, &st, err);
			if (r < 0)
				return r;
			if (st.kind == STOP_SYSCALL)
				break;
			if (st.kind == STOP_SIGNAL)
				s->deliver_sig = st.sig; /* handed back at the end */
		}
		if (PS_ARCH_EXEC_SAVE_AT_EVENT) {
			/* Registers read at a syscall stop are not all the thread's
			 * own here: save them at an event stop instead. */
			if (pt(PTRACE_INTERRUPT, s->tid, NULL, NULL) < 0 || pt(PTRACE_CONT, s->tid, NULL, NULL) < 0)
				return ptrace_fail(s, "PTRACE_CONT", err);
			s->stopped = false;
			r = wait_interrupt_stop(s, err);
			if (r < 0)
				return r;
		}
	}
	return after_stop(s, -1, err);
}

/* ---- one call --------------------------------------------------------- */

#ifdef PAGESCAN_TEST_HOOKS
static int test_hook(void)
{
	/* Fault-injection hook for the test suite: delay or die while the
	 * target holds injection registers. Compiled only into the test twin
	 * of the binary (CMake option PAGESCAN_TEST_HOOKS, cmake/TestHooks.cmake);
	 * the installed and packaged pagescan has no such code. */
	const char *h = getenv("PAGESCAN_TEST_INJECT_HOOK");
	if (!h)
		return 0;
	if (strcmp(h, "exit") == 0)
		_exit(99);
	long long ms;
	if (strncmp(h, "delay:", 6) == 0 && ps_parse_int(h + 6, 0, 60000, &ms, NULL) == 0) {
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	return 0;
}
/* PAGESCAN_TEST_INJECT_HOOK=preseize:MS: sleep MS ms between the first
 * look at the target (its gadget) and seizing it, for the test of an exec
 * in between (fault_blocked.bats). */
static void test_hook_preseize(void)
{
	const char *h = getenv("PAGESCAN_TEST_INJECT_HOOK");
	long long ms;
	if (h && strncmp(h, "preseize:", 9) == 0 && ps_parse_int(h + 9, 0, 60000, &ms, NULL) == 0) {
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}
#else
static int test_hook(void)
{
	return 0;
}

static void test_hook_preseize(void)
{
}
#endif

static int syscall_info(struct ps_inject *s, struct __ptrace_syscall_info *info, struct ps_err *err)
{
	long n = pt(PTRACE_GET_SYSCALL_INFO, s->tid, (void *)sizeof(*info), info);
	if (n < 0)
		return ptrace_fail(s, "PTRACE_GET_SYSCALL_INFO", err);
	return 0;
}

/* The thread was about to take signal sig with injection registers loaded:
 * put the real registers back and let the signal be delivered exactly as
 * without us; our queued trap stops it again at handler entry. */
static int deliver_pending(struct ps_inject *s, int sig, struct ps_err *err)
{
	int r;
	siginfo_t si;

	if (sig == SIGSYS && pt(PTRACE_GETSIGINFO, s->tid, NULL, &si) == 0 && (si.si_code == 1 || si.si_code == 2)) {
		/* Our own call was trapped by seccomp (1) or syscall user dispatch (2): never deliver it. */
		restore_saved(s, err);
		return ps_errf(err, EPERM, "process %d blocks userfaultfd() with a seccomp filter or syscall user dispatch; run pagescan as root so it can suspend seccomp, or track it from inside", s->t->pid);
	}
	r = restore_saved(s, err);
	if (r < 0)
		return r;
	if (pt(PTRACE_INTERRUPT, s->tid, NULL, NULL) < 0 ||
	    pt(PTRACE_CONT, s->tid, NULL, (void *)(long)sig) < 0)
		return ptrace_fail(s, "PTRACE_CONT", err);
	s->stopped = false;
	r = wait_interrupt_stop(s, err);
	if (r < 0)
		return r;
	if (get_regs(s, &s->saved, err) < 0)
		return -ESRCH;
	/* at the handler's entry: what the signal frame left live */
	r = save_extra(s, err);
	if (r < 0)
		return r;
	rseq_fixup(s);
	return 0;
}

int ps_inject_syscall(struct ps_inject *s, long nr, const uint64_t args[6], long *ret,
                      struct ps_err *err)
{
	struct __ptrace_syscall_info info;
	ps_regs_t regs;
	struct stop st;
	int r, attempts = 0;

	*ret = -ENOSYS; /* set on every path: "the call did not run" until it did */
	if (s->dead || !s->stopped)
		return ps_errf(err, ESRCH, "process %d is not stopped for injection", s->t->pid);
retry:
	if (++attempts > 16)
		return ps_errf(err, EAGAIN, "process %d keeps receiving signals; injection gave up", s->t->pid);
	regs = s->saved;
	ps_arch_setup_syscall(&regs, s->gadget, nr, args);
	/* Fail-stop only while the thread holds foreign registers: if pagescan
	 * dies now the kernel kills the target rather than letting it run
	 * with them (docs/remote-syscalls.md#the-exitkill-window). */
	r = set_options(s, s->options | PTRACE_O_EXITKILL, err);
	if (r < 0)
		return r;
	r = set_regs(s, &regs, err);
	if (r < 0)
		return r;
	test_hook();
	bool entered = false;
	for (;;) {
		if (pt(PTRACE_SYSCALL, s->tid, NULL, NULL) < 0)
			return ptrace_fail(s, "PTRACE_SYSCALL", err);
		s->stopped = false;
		s->in_call = true;
		r = wait_stop(s, &st, err);
		s->in_call = false;
		if (r < 0)
			return r;
		if (st.kind == STOP_SIGNAL) {
			if (entered) {
				/* Delivered after our call completed: hand it back at detach. */
				s->deliver_sig = st.sig;
				continue;
			}
			r = deliver_pending(s, st.sig, err);
			if (r < 0)
				return r;
			goto retry;
		}
		if (st.kind == STOP_EVENT)
			continue; /* group-stop while running our call: finish it; the stop is re-instated at detach */
		r = syscall_info(s, &info, err);
		if (r < 0)
			return r;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			if ((long)info.entry.nr != nr || info.instruction_pointer != s->gadget + PS_ARCH_SYSCALL_LEN)
				return ps_errf(err, EPROTO, "thread %d entered syscall %lld at 0x%llx, not ours", s->tid,
				               (long long)info.entry.nr, (unsigned long long)info.instruction_pointer);
			entered = true;
			continue;
		}
		if (info.op == PTRACE_SYSCALL_INFO_EXIT && entered)
			break;
		if (info.op == PTRACE_SYSCALL_INFO_SECCOMP)
			continue;
		return ps_errf(err, EPROTO, "unexpected syscall stop (op %d) of thread %d", info.op, s->tid);
	}
	*ret = (long)info.exit.rval;
	if (!info.exit.is_error && *ret == nr && s->suspend_seccomp == false) {
		/* Rolled back by a seccomp RET_TRAP/KILL
		 * (docs/remote-syscalls.md#seccomp-and-syscall-user-dispatch). Cannot
		 * happen when seccomp is suspended; preflight suspends whenever a
		 * filter exists. */
		return ps_errf(err, EPERM, "process %d's seccomp filter blocked the injected call", s->t->pid);
	}
	return 0;
}

/* ---- restore ---------------------------------------------------------- */

int ps_inject_finish(struct ps_inject *s, bool detach, struct ps_err *err)
{
	struct stop st;
	int r = 0;

	if (!s->seized || s->dead)
		goto out;
	if (!s->stopped) {
		/* We gave up waiting while it ran with our registers: a cgroup v2
		 * freezer parks a thread in get_signal() after a ptrace stop, so
		 * it never reaches our call. A ptrace trap still gets through:
		 * stop it and put R0 back, rather than leave with our registers
		 * loaded and PTRACE_O_EXITKILL armed (which kills it). */
		if (pt(PTRACE_INTERRUPT, s->tid, NULL, NULL) < 0) {
			r = ptrace_fail(s, "PTRACE_INTERRUPT", err);
			goto out;
		}
	} else if (pt(PTRACE_INTERRUPT, s->tid, NULL, NULL) < 0 || pt(PTRACE_CONT, s->tid, NULL, NULL) < 0) {
		/* Final interrupt: restore R0 at an event stop taken in get_signal()
		 * on the way out, so the kernel's restart logic sees the original
		 * syscall state (not at a syscall-exit stop, where it would not). */
		r = ptrace_fail(s, "PTRACE_CONT", err);
		goto out;
	}
	s->stopped = false;
	for (;;) {
		r = wait_stop(s, &st, err);
		if (r < 0)
			goto out;
		if (st.kind == STOP_EVENT)
			break;
		if (st.kind == STOP_SIGNAL) {
			/* A real signal came first: it will be delivered against R0 at detach. */
			s->deliver_sig = st.sig;
			break;
		}
		/* A syscall stop: only after a PTRACE_SYSCALL step we gave up on;
		 * at its entry, skip our call. */
		struct __ptrace_syscall_info info;
		ps_regs_t regs;
		if (syscall_info(s, &info, err) == 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY &&
		    get_regs(s, &regs, err) == 0 && ps_arch_skip_syscall(s->tid, &regs) == 0)
			set_regs(s, &regs, err);
		if (pt(PTRACE_CONT, s->tid, NULL, NULL) < 0) {
			r = ptrace_fail(s, "PTRACE_CONT", err);
			goto out;
		}
	}
	r = restore_saved(s, err);
	if (r < 0)
		goto out;
	r = set_options(s, s->options & ~(unsigned long)PTRACE_O_EXITKILL, err);
	if (r < 0)
		goto out;
	if (detach) {
		if (pt(PTRACE_DETACH, s->tid, NULL, (void *)(long)s->deliver_sig) < 0) {
			r = ptrace_fail(s, "PTRACE_DETACH", err);
			goto out;
		}
		s->seized = false;
	} else {
		if (pt(PTRACE_CONT, s->tid, NULL, (void *)(long)s->deliver_sig) < 0) {
			r = ptrace_fail(s, "PTRACE_CONT", err);
			goto out;
		}
	}
	s->stopped = false;
	s->deliver_sig = 0;
out:
	if (s->getfd_pidfd >= 0 && s->getfd_pidfd != s->t->pidfd)
		close(s->getfd_pidfd);
	s->getfd_pidfd = -1;
	free(s->saved_extra);
	s->saved_extra = NULL;
	return r;
}

/* ---- private tracer thread -------------------------------------------- */

struct thread_job {
	const struct ps_target *t;
	const struct ps_inject_opts *o;
	ps_inject_fn fn;
	void *ctx;
	struct ps_err err;
	char warning[256];
	int r;
};

static void *inject_thread(void *p)
{
	struct thread_job *j = p;
	struct ps_inject s;
	sigset_t set;

	/* Whatever pagescan's main thread does with signals, this one only waits
	 * for SIGCHLD and must not be interrupted by the rest. */
	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	j->r = ps_inject_seize(&s, j->t, j->o, &j->err);
	snprintf(j->warning, sizeof(j->warning), "%s", s.warning);
	if (j->r == 0) {
		struct ps_err ferr = { 0 };
		j->r = j->fn(&s, j->ctx, &j->err);
		int r2 = ps_inject_finish(&s, true, &ferr);
		if (j->r == 0 && r2 < 0) {
			j->r = r2;
			j->err = ferr;
		}
	} else if (s.getfd_pidfd >= 0 && s.getfd_pidfd != j->t->pidfd) {
		close(s.getfd_pidfd);
	}
	/* Leaving the thread detaches anything still attached, including a
	 * trap still pending on a thread that never stopped. */
	return NULL;
}

int ps_inject_in_thread(const struct ps_target *t, const struct ps_inject_opts *o,
                        ps_inject_fn fn, void *ctx, char *warning, size_t nwarning,
                        struct ps_err *err)
{
	struct thread_job j = { .t = t, .o = o, .fn = fn, .ctx = ctx };
	sigset_t all, old;
	pthread_t th;

	/* While the target holds injection registers, a signal that kills
	 * pagescan makes PTRACE_O_EXITKILL kill the target. The injection
	 * thread blocks every signal; a process-directed one (SIGUSR1,
	 * SIGALRM, ...) would still be taken by this thread: block them here
	 * too, so they wait until the target is restored. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&th, NULL, inject_thread, &j);
	if (r) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return ps_errf(err, r, "cannot start the injection thread: %s", strerror(r));
	}
	pthread_join(th, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (warning && nwarning)
		snprintf(warning, nwarning, "%s", j.warning);
	if (j.r < 0 && err)
		*err = j.err;
	return j.r;
}

/* ---- userfaultfd and close -------------------------------------------- */

static int kcmp_same(pid_t a, int fa, pid_t b, int fb)
{
	return syscall(SYS_kcmp, a, b, KCMP_FILE, fa, fb) == 0;
}

static int remote_errmsg(struct ps_inject *s, long ret, struct ps_err *err)
{
	int e = (int)-ret;
	switch (e) {
	case EPERM:
		return ps_errf(err, EPERM, "process %d may not create a userfaultfd (EPERM: an LSM or seccomp policy denies it)", s->t->pid);
	case EMFILE:
		return ps_errf(err, EMFILE, "process %d has no free file descriptor (at its RLIMIT_NOFILE limit); raise it (prlimit --nofile) and retry", s->t->pid);
	case ENFILE:
		return ps_errf(err, ENFILE, "the system file table is full");
	case ENOSYS:
		return ps_errf(err, ENOSYS, "this kernel has no userfaultfd (CONFIG_USERFAULTFD off); pagescan needs Linux 6.7+ with userfaultfd");
	case EINVAL:
		return ps_errf(err, EINVAL, "this kernel rejected userfaultfd(UFFD_USER_MODE_ONLY) (needs Linux 5.11+; pagescan needs 6.7+)");
	default:
		return ps_errf(err, e, "userfaultfd() failed in process %d: %s", s->t->pid, strerror(e));
	}
}

static int do_close(struct ps_inject *s, int fd, struct ps_err *err)
{
	uint64_t a[6] = { (uint64_t)fd };
	long ret;
	int r = ps_inject_syscall(s, SYS_close, a, &ret, err);
	if (r < 0)
		return r;
	if (ret < 0)
		return ps_errf(err, (int)-ret, "close(%d) in process %d failed: %s", fd, s->t->pid, strerror((int)-ret));
	return 0;
}

int ps_inject_userfaultfd(struct ps_inject *s, bool keep_remote, int *ret_local,
                          int *ret_remote, struct ps_err *err)
{
	uint64_t a[6] = { O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY };
	long remote;
	int r = ps_inject_syscall(s, SYS_userfaultfd, a, &remote, err);
	if (r < 0)
		return r;
	if (remote < 0)
		return remote_errmsg(s, remote, err);

	int local = pidfd_getfd(s->getfd_pidfd, (int)remote, 0);
	if (local < 0) {
		int e = errno;
		struct ps_err ignored;
		do_close(s, (int)remote, &ignored); /* never leave it behind */
		if (e == EPERM)
			return ps_errf(err, EPERM, "cannot copy the userfaultfd out of process %d: permission denied (pidfd_getfd needs ptrace access; run as root or with CAP_SYS_PTRACE)", s->t->pid);
		return ps_errf(err, e, "pidfd_getfd() failed: %s", strerror(e));
	}
	if (!kcmp_same(getpid(), local, s->tid, (int)remote)) {
		struct ps_err ignored;
		close(local);
		do_close(s, (int)remote, &ignored);
		return ps_errf(err, EAGAIN, "file descriptor %ld of process %d changed under pagescan (a thread called dup2?); try again", remote, s->t->pid);
	}
	if (!keep_remote) {
		r = do_close(s, (int)remote, err);
		if (r < 0) {
			close(local);
			return r;
		}
	}
	*ret_local = local;
	if (ret_remote)
		*ret_remote = (int)remote;
	return 0;
}

struct uffd_job {
	bool keep;
	int local, remote;
};

static int uffd_fn(struct ps_inject *s, void *ctx, struct ps_err *err)
{
	struct uffd_job *j = ctx;
	return ps_inject_userfaultfd(s, j->keep, &j->local, &j->remote, err);
}

/* Another thread of the target may fork between the injected userfaultfd()
 * and close(): the child then holds a copy, which keeps the userfaultfd and
 * every registration made through pagescan's copy alive after pagescan has
 * gone (docs/remote-syscalls.md#forks-during-the-injection). Find such
 * copies among the target's descendants (the same file: kcmp) and close
 * them there; what cannot be closed is said in warning. */
#define FORKED_MAX 1024
static void close_forked_copies(const struct ps_target *t, const struct ps_inject_opts *o, int local,
                                char *warning, size_t nwarning)
{
	pid_t kids[FORKED_MAX];
	struct stat st;

	if (fstat(local, &st) < 0)
		return;
	size_t n = ps_target_descendants(t, kids, FORKED_MAX);
	for (size_t i = 0; i < n && i < FORKED_MAX; i++) {
		char path[32], link[64];
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)kids[i]);
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;
		if (!d) {
			ps_close(&dfd);
			continue;
		}
		while ((de = readdir(d))) {
			long long fd;
			ssize_t l;
			if (ps_parse_int(de->d_name, 0, INT32_MAX, &fd, NULL) < 0 ||
			    (l = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1)) < 0)
				continue;
			link[l] = 0;
			if (strcmp(link, "anon_inode:[userfaultfd]") != 0 || !kcmp_same(getpid(), local, kids[i], (int)fd))
				continue;
			struct ps_target ct = PS_TARGET_INIT;
			struct ps_err e2 = { 0 };
			if ((ps_target_open(&ct, kids[i], &e2) < 0 ||
			     ps_remote_close(&ct, o, (int)fd, (uint64_t)st.st_ino, NULL, 0, &e2) < 0) && nwarning) {
				size_t used = strlen(warning);
				snprintf(warning + used, nwarning - used,
				         "%sprocess %d, forked by process %d during the injection, keeps a copy of pagescan's userfaultfd (fd %lld): %s",
				         used ? "; " : "", (int)kids[i], t->pid, fd, e2.msg);
			}
			ps_target_close(&ct);
		}
		closedir(d);
	}
}

int ps_remote_userfaultfd(const struct ps_target *t, const struct ps_inject_opts *o,
                          bool keep_remote, int *ret_local, int *ret_remote,
                          char *warning, size_t nwarning, struct ps_err *err)
{
	struct uffd_job j = { .keep = keep_remote, .local = -1, .remote = -1 };
	/* Nothing forked anywhere meanwhile (the usual case): no copies to hunt. */
	uint64_t forks = ps_forks_since_boot();
	int r = ps_inject_in_thread(t, o, uffd_fn, &j, warning, nwarning, err);
	if (r < 0)
		return r;
	if (!keep_remote && ps_forks_since_boot() != forks)
		close_forked_copies(t, o, j.local, warning, nwarning);
	*ret_local = j.local;
	if (ret_remote)
		*ret_remote = j.remote;
	return 0;
}

struct close_job {
	int fd;
	uint64_t ino;
};

static int close_fn(struct ps_inject *s, void *ctx, struct ps_err *err)
{
	struct close_job *j = ctx;
	if (j->ino) {
		/* Re-check while the thread is stopped: the number may have been reused. */
		int fd = pidfd_getfd(s->getfd_pidfd, j->fd, 0);
		struct stat st;
		if (fd < 0)
			return ps_errf(err, errno, "file descriptor %d of process %d is gone", j->fd, s->t->pid);
		int same = fstat(fd, &st) == 0 && (uint64_t)st.st_ino == j->ino;
		close(fd);
		if (!same)
			return ps_errf(err, EAGAIN, "file descriptor %d of process %d changed under pagescan; try again", j->fd, s->t->pid);
	}
	return do_close(s, j->fd, err);
}

static int getpid_fn(struct ps_inject *s, void *ctx, struct ps_err *err)
{
	uint64_t a[6] = { 0 };
	long ret;
	(void)ctx;
	int r = ps_inject_syscall(s, SYS_getpid, a, &ret, err);
	if (r < 0)
		return r;
	if (ret <= 0)
		return ps_errf(err, EPROTO, "getpid() in process %d returned %ld", s->t->pid, ret);
	return 0;
}

int ps_inject_probe(const struct ps_target *t, const struct ps_inject_opts *o, char *warning,
                    size_t nwarning, struct ps_err *err)
{
	return ps_inject_in_thread(t, o, getpid_fn, NULL, warning, nwarning, err);
}

int ps_remote_close(const struct ps_target *t, const struct ps_inject_opts *o,
                    int remote_fd, uint64_t expect_ino, char *warning, size_t nwarning,
                    struct ps_err *err)
{
	struct close_job j = { .fd = remote_fd, .ino = expect_ino };
	return ps_inject_in_thread(t, o, close_fn, &j, warning, nwarning, err);
}
