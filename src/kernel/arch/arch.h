/* SPDX-License-Identifier: MIT */
/* The architecture-specific pieces of syscall injection, one header per
 * architecture behind one interface (docs/porting.md#the-arch-header):
 *
 *   ps_regs_t                     the NT_PRSTATUS register set
 *   ps_arch_syscall_insn[], PS_ARCH_SYSCALL_LEN, PS_ARCH_INSN_ALIGN
 *                                 the syscall instruction and where it may start
 *   ps_arch_ip/set_ip/ret         program counter and return value
 *   ps_arch_syscall_nr()          the syscall a thread is in, at a syscall stop
 *   ps_arch_skip_syscall()        at a syscall-entry stop: do not run it
 *   ps_arch_setup_syscall()       load a call into a copy of the saved registers
 *   ps_arch_fix_saved()           adjust the saved registers of a thread stopped
 *                                 out of an interrupted syscall, so that restoring
 *                                 them restarts it as the kernel would have
 *   ps_arch_extra_save/restore()  register state beyond ps_regs_t that an injected
 *                                 syscall would destroy (aarch64: live SVE
 *                                 registers, SME streaming mode with its
 *                                 registers, ZA/ZT0), saved with it and given
 *                                 back with it
 *   PS_ARCH_EXEC_FORGETS_NR       1: at PTRACE_EVENT_EXEC the syscall number reads -1
 *   PS_ARCH_EXEC_SAVE_AT_EVENT    1: registers read at a syscall stop are not the
 *                                 thread's own (aarch64's x7), save at an event stop
 */
#ifndef PAGESCAN_ARCH_H
#define PAGESCAN_ARCH_H

#if defined(__x86_64__)
#include "x86_64.h"
#elif defined(__aarch64__)
#include "aarch64.h"
#else
#error "pagescan: syscall injection is implemented for x86-64 and aarch64 (docs/porting.md)"
#endif

#endif
