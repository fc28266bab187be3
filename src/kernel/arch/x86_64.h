/* SPDX-License-Identifier: MIT */
/* x86-64 half of the arch interface (arch.h; docs/porting.md#the-arch-header). */
#ifndef PAGESCAN_ARCH_X86_64_H
#define PAGESCAN_ARCH_X86_64_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

typedef struct user_regs_struct ps_regs_t;
/* "syscall" */
static const unsigned char ps_arch_syscall_insn[] = { 0x0f, 0x05 };
#define PS_ARCH_SYSCALL_LEN 2
#define PS_ARCH_INSN_ALIGN 1
#define PS_ARCH_EXEC_FORGETS_NR 0
#define PS_ARCH_EXEC_SAVE_AT_EVENT 0

static inline uint64_t ps_arch_ip(const ps_regs_t *r) { return r->rip; }
static inline void ps_arch_set_ip(ps_regs_t *r, uint64_t ip) { r->rip = ip; }
static inline long ps_arch_ret(const ps_regs_t *r) { return (long)r->rax; }

static inline int ps_arch_syscall_nr(pid_t tid, const ps_regs_t *r, long *nr)
{
	(void)tid;
	*nr = (long)r->orig_rax;
	return 0;
}

/* At a syscall-entry stop: skip the call (it returns -ENOSYS); the caller
 * writes the registers back. */
static inline int ps_arch_skip_syscall(pid_t tid, ps_regs_t *r)
{
	(void)tid;
	r->orig_rax = (uint64_t)-1;
	return 0;
}

static inline void ps_arch_setup_syscall(ps_regs_t *r, uint64_t gadget, long nr, const uint64_t a[6])
{
	r->rip = gadget;
	r->rax = (uint64_t)nr;
	/* -1: no syscall in progress, so the kernel does not "restart" by moving our ip back
	 * (docs/remote-syscalls.md#interrupted-system-calls-and-restart). */
	r->orig_rax = (uint64_t)-1;
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
	r->eflags &= ~0x100ull; /* TF */
}

/* x86-64 decides about restarting after the ptrace stop, from the registers
 * as they are restored: nothing to adjust. */
static inline void ps_arch_fix_saved(ps_regs_t *r, long blocked_nr, const unsigned char *insn_at_ip)
{
	(void)r;
	(void)blocked_nr;
	(void)insn_at_ip;
}

/* A syscall keeps every vector register (SSE, AVX, AVX-512): nothing beyond
 * ps_regs_t to save. */
static inline int ps_arch_extra_save(pid_t tid, void **buf, size_t *len)
{
	(void)tid;
	*buf = NULL;
	*len = 0;
	return 0;
}

static inline int ps_arch_extra_restore(pid_t tid, const void *buf, size_t len)
{
	(void)tid;
	(void)buf;
	(void)len;
	return 0;
}

#endif
