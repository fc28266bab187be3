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

/* The head of the NT_ARM_SVE and NT_ARM_SSVE register sets (struct
 * user_sve_header); NT_ARM_ZA's (struct user_za_header) has the same layout. */
struct ps_sve_header {
	uint32_t size;      /* bytes of the whole set in its current form */
	uint32_t max_size;
	uint16_t vl, max_vl, flags, reserved;
};
#define PS_SVE_PT_REGS_SVE 1 /* flags: Z/P/FFR follow (else the FPSIMD form) */
#define PS_ZT_SIZE 64        /* NT_ARM_ZT: ZT0, 512 bits (SME2) */

/*
 * What a syscall destroys beyond the general registers
 * (docs/porting.md#aarch64-bti-sve-and-sme):
 *  - SVE: everything beyond the 128-bit FPSIMD part of Z0-Z31, P0-P15 and
 *    FFR, when the thread has live SVE state (NT_ARM_SVE in its SVE form);
 *  - SME streaming mode: a syscall clears PSTATE.SM, and leaving streaming
 *    mode zeroes all of Z, P and FFR (the FPSIMD V registers too) and resets
 *    FPSR. NT_ARM_SSVE has register data only while the thread is in
 *    streaming mode; writing it back enters streaming mode again with those
 *    values (and FPSR/FPCR), writing NT_ARM_SVE would leave it.
 *  - ZA and ZT0: a syscall keeps them (PSTATE.ZA=1 stays), but they are
 *    saved with the rest while PSTATE.ZA=1 (NT_ARM_ZA has data), so that
 *    the thread gets back exactly what it had whatever the injected calls
 *    do; ZT0 (NT_ARM_ZT) only exists with SME2.
 * A kernel or CPU without SVE or SME refuses the GETREGSET (EINVAL, ENODEV,
 * or no such set on older kernels): nothing to save then, never an error.
 * The saved state is one allocation: the sets in the order they are
 * written back (SSVE or SVE first, then ZA, then ZT: writing NT_ARM_ZT
 * would enable a disabled ZA, writing NT_ARM_SSVE keeps ZA).
 */
#ifndef NT_ARM_SSVE
#define NT_ARM_SSVE 0x40b
#endif
#ifndef NT_ARM_ZA
#define NT_ARM_ZA 0x40c
#endif
#ifndef NT_ARM_ZT
#define NT_ARM_ZT 0x40d
#endif

/* One saved register set: its note type, its length, its bytes (then
 * padding to 8). */
struct ps_a64_set {
	uint32_t type;
	uint32_t len;
	unsigned char data[];
};
#define PS_A64_SET_SPACE(n) (sizeof(struct ps_a64_set) + (((size_t)(n) + 7) & ~(size_t)7))

/* The header of register set TYPE; 0 when the kernel and CPU have it. */
static inline int ps_a64_header(pid_t tid, unsigned int type, struct ps_sve_header *h)
{
	struct iovec iov = { .iov_base = h, .iov_len = sizeof(*h) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)type, &iov) < 0 || iov.iov_len < sizeof(*h))
		return -1;
	return 0;
}

static inline int ps_arch_extra_save(pid_t tid, void **buf, size_t *len)
{
	struct ps_a64_want { unsigned int type; size_t size; int optional; } want[3];
	struct ps_sve_header h;
	size_t total = 0, off = 0;
	int n = 0, streaming = 0;
	unsigned char *b;

	*buf = NULL;
	*len = 0;
	if (ps_a64_header(tid, NT_ARM_SSVE, &h) == 0 && (h.flags & PS_SVE_PT_REGS_SVE) && h.size > sizeof(h)) {
		want[n++] = (struct ps_a64_want){ NT_ARM_SSVE, h.size, 0 };
		streaming = 1;
	}
	if (!streaming && ps_a64_header(tid, NT_ARM_SVE, &h) == 0 && (h.flags & PS_SVE_PT_REGS_SVE) &&
	    h.size > sizeof(h))
		want[n++] = (struct ps_a64_want){ NT_ARM_SVE, h.size, 0 };
	if (ps_a64_header(tid, NT_ARM_ZA, &h) == 0 && h.size > sizeof(h)) {
		want[n++] = (struct ps_a64_want){ NT_ARM_ZA, h.size, 0 };
		want[n++] = (struct ps_a64_want){ NT_ARM_ZT, PS_ZT_SIZE, 1 };
	}
	if (n == 0)
		return 0;
	for (int i = 0; i < n; i++)
		total += PS_A64_SET_SPACE(want[i].size);
	b = calloc(1, total);
	if (!b)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct ps_a64_set *set = (struct ps_a64_set *)(b + off);
		struct iovec iov = { .iov_base = set->data, .iov_len = want[i].size };

		if (ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)want[i].type, &iov) < 0) {
			int e = errno;

			if (want[i].optional)
				continue; /* no SME2: no ZT0 */
			free(b);
			return -e;
		}
		set->type = want[i].type;
		set->len = (uint32_t)iov.iov_len;
		off += PS_A64_SET_SPACE(set->len);
	}
	*buf = b;
	*len = off;
	return 0;
}

static inline int ps_arch_extra_restore(pid_t tid, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	for (size_t off = 0; buf && off + sizeof(struct ps_a64_set) <= len;) {
		const struct ps_a64_set *set = (const struct ps_a64_set *)(b + off);
		struct iovec iov = { .iov_base = (void *)set->data, .iov_len = set->len };

		if (ptrace(PTRACE_SETREGSET, tid, (void *)(uintptr_t)set->type, &iov) < 0)
			return -errno;
		off += PS_A64_SET_SPACE(set->len);
	}
	return 0;
}

#endif
