/* SPDX-License-Identifier: MIT */
/* aarch64 half of the arch interface (arch.h; docs/porting.md#aarch64). */
#ifndef PAGESCAN_ARCH_AARCH64_H
#define PAGESCAN_ARCH_AARCH64_H

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <time.h>

#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif
#ifndef NT_ARM_SVE
#define NT_ARM_SVE 0x405
#endif

/* x0-x30, sp, pc, pstate */
typedef struct user_regs_struct ps_regs_t;
/* "svc #0" = 0xd4000001, little-endian */
static const unsigned char ps_arch_syscall_insn[] = { 0x01, 0x00, 0x00, 0xd4 };
#define PS_ARCH_SYSCALL_LEN 4
#define PS_ARCH_INSN_ALIGN 4
/* At syscall stops the tracer sees x7 = 0 (entry) or 1 (exit), not the
 * thread's own (docs/porting.md#aarch64-registers-at-syscall-stops). */
/* At PTRACE_EVENT_EXEC the new image has already forgotten the syscall
 * number (-1); execve still returns 0 into x0 after the stop. */
#define PS_ARCH_EXEC_FORGETS_NR 1
#define PS_ARCH_EXEC_SAVE_AT_EVENT 1

static inline uint64_t ps_arch_ip(const ps_regs_t *r) { return r->pc; }
static inline void ps_arch_set_ip(ps_regs_t *r, uint64_t ip) { r->pc = ip; }
static inline long ps_arch_ret(const ps_regs_t *r) { return (long)r->regs[0]; }

/* No orig_x0/syscall number in NT_PRSTATUS: it has a register set of its own. */
static inline int ps_arch_syscall_nr(pid_t tid, const ps_regs_t *r, long *nr)
{
	int v;
	struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };

	(void)r;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_SYSTEM_CALL, &iov) < 0)
		return -1;
	*nr = v;
	return 0;
}

static inline int ps_arch_skip_syscall(pid_t tid, ps_regs_t *r)
{
	int v = -1;
	struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };

	(void)r;
	return ptrace(PTRACE_SETREGSET, tid, (void *)NT_ARM_SYSTEM_CALL, &iov) < 0 ? -1 : 0;
}

static inline void ps_arch_setup_syscall(ps_regs_t *r, uint64_t gadget, long nr, const uint64_t a[6])
{
	r->pc = gadget;
	r->regs[8] = (uint64_t)nr;
	for (int i = 0; i < 6; i++)
		r->regs[i] = a[i];
	/* x7 stays the thread's own; PSTATE.BTYPE (bits 11:10) cleared, or a
	 * BTI-guarded gadget page raises SIGILL. */
	r->pstate &= ~(3ull << 10);
}

/* arm64 handles an interrupted syscall before the ptrace stop: pc is back on
 * the svc, x0 is the first argument again, and for -ERESTART_RESTARTBLOCK it
 * would switch x8 to restart_syscall only after the stop, if pc was still
 * there -- which our injection prevents. So a relative sleep would start
 * again from its full length. For the calls that return
 * -ERESTART_RESTARTBLOCK when interrupted (nanosleep, relative
 * clock_nanosleep) do the switch here: the kernel's restart block, untouched
 * by the calls pagescan injects, then sleeps only what was left
 * (docs/porting.md#aarch64-restart-rules). blocked_nr is the call
 * /proc/TID/syscall showed before the stop, insn_at_ip the 4 bytes at pc. */
static inline void ps_arch_fix_saved(ps_regs_t *r, long blocked_nr, const unsigned char *insn_at_ip)
{
	long nr = (long)r->regs[8];

	if (blocked_nr != nr || memcmp(insn_at_ip, ps_arch_syscall_insn, PS_ARCH_SYSCALL_LEN) != 0)
		return;
	if (nr == SYS_nanosleep || (nr == SYS_clock_nanosleep && !(r->regs[1] & TIMER_ABSTIME)))
		r->regs[8] = SYS_restart_syscall;
}

/* The head of the NT_ARM_SVE register set (struct user_sve_header). */
struct ps_sve_header {
	uint32_t size;      /* bytes of the whole set in its current form */
	uint32_t max_size;
	uint16_t vl, max_vl, flags, reserved;
};
#define PS_SVE_PT_REGS_SVE 1 /* flags: Z/P/FFR follow (else the FPSIMD form) */

/* A syscall discards the SVE state beyond the 128-bit FPSIMD registers; a
 * thread stopped in user mode may hold live SVE state, which an injected
 * call would destroy. Save it (NT_ARM_SVE) when it is live; *buf is
 * allocated then (NULL otherwise: a kernel or CPU without SVE, or only the
 * FPSIMD form, which syscalls keep). docs/porting.md#aarch64-bti-sve-and-sme */
static inline int ps_arch_extra_save(pid_t tid, void **buf, size_t *len)
{
	struct ps_sve_header h;
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	void *b;

	*buf = NULL;
	*len = 0;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_SVE, &iov) < 0 || iov.iov_len < sizeof(h) ||
	    !(h.flags & PS_SVE_PT_REGS_SVE) || h.size <= sizeof(h))
		return 0;
	b = malloc(h.size);
	if (!b)
		return -ENOMEM;
	iov = (struct iovec){ .iov_base = b, .iov_len = h.size };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_SVE, &iov) < 0) {
		int e = errno;
		free(b);
		return -e;
	}
	*buf = b;
	*len = iov.iov_len;
	return 0;
}

static inline int ps_arch_extra_restore(pid_t tid, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (!buf)
		return 0;
	return ptrace(PTRACE_SETREGSET, tid, (void *)NT_ARM_SVE, &iov) < 0 ? -errno : 0;
}

#endif
