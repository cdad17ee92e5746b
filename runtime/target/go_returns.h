/* SPDX-License-Identifier: MIT */
/*
 * Where a Go function returns. Go moves a goroutine's stack when it grows, and
 * a uretprobe replaces the return address on the stack with its trampoline,
 * which the copy would carry to the new stack and the runtime's unwinder
 * cannot read: a return is probed instead by a uprobe at each RET.
 */
#ifndef PS_GO_RETURNS_H
#define PS_GO_RETURNS_H

#include <stddef.h>
#include "target.h"

/*
 * The file offsets of every RET of the Go function `symbol` of target, found
 * by disassembling it from its entry to the next function's (capstone). The
 * caller frees *offsets. -ENOENT: no such function; -ENOEXEC: its code does
 * not decode, or has no RET.
 */
int ps_go_return_sites(struct ps_resolved_target *target, const char *symbol, long **offsets, size_t *n_offsets);

/*
 * Where a Go function's entry is probed: past its stack check. A function
 * whose frame does not fit calls runtime.morestack, which grows the stack and
 * starts the function again from its first instruction: a probe there would
 * see such a call twice. The check is `CMP SP (or LEA -N(SP) into R12), 16(R14)`
 * then a conditional jump (Go 1.17+, src/cmd/internal/obj/x86/obj6.go), or
 * under the stack ABI (before 1.17) the same compare with 16(RCX) after g is
 * loaded from FS:-8 into RCX; the site is the instruction after that jump,
 * where every argument is still in its register or stack slot, and SP as at
 * entry. A function without the check (NOSPLIT) is probed at entry.
 */
int ps_go_entry_site(struct ps_resolved_target *target, const char *symbol, long *offset);

#endif /* PS_GO_RETURNS_H */
