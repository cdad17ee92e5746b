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

#endif /* PS_GO_RETURNS_H */
