/* SPDX-License-Identifier: MIT */
/* Architecture-specific pieces of syscall injection. x86-64 only for now;
 * an aarch64 port adds a branch here (svc #0 = d4 00 00 01, x8 = nr,
 * keep x7, clear PSTATE.BTYPE; its restart rules differ): see
 * docs/porting.md#the-arch-header and docs/porting.md#aarch64. */
#ifndef PAGESCAN_ARCH_H
#define PAGESCAN_ARCH_H

#include <stdint.h>
#include <sys/user.h>

#if defined(__x86_64__)
typedef struct user_regs_struct ps_regs_t;
/* "syscall" */
static const unsigned char ps_arch_syscall_insn[] = { 0x0f, 0x05 };
#define PS_ARCH_SYSCALL_LEN 2

static inline uint64_t ps_arch_ip(const ps_regs_t *r) { return r->rip; }
static inline void ps_arch_set_ip(ps_regs_t *r, uint64_t ip) { r->rip = ip; }
static inline long ps_arch_orig_nr(const ps_regs_t *r) { return (long)r->orig_rax; }
static inline long ps_arch_ret(const ps_regs_t *r) { return (long)r->rax; }
static inline void ps_arch_set_ret(ps_regs_t *r, long v) { r->rax = (uint64_t)v; }

/* At a syscall-entry stop: skip the call (it returns -ENOSYS). */
static inline void ps_arch_skip_syscall(ps_regs_t *r) { r->orig_rax = (uint64_t)-1; }

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
#else
#error "pagescan: syscall injection is implemented for x86-64 only"
#endif

#endif
