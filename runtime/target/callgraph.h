/* SPDX-License-Identifier: MIT */
/*
 * Following the direct calls out of a library's functions (capstone,
 * x86-64): to find a function the library does not export from the exported
 * ones that call it (`called by` in a spec), and to tell whether a function's
 * code reaches another one (`unless calls`). Nothing here knows one library.
 */
#ifndef PS_CALLGRAPH_H
#define PS_CALLGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "capstone_lib.h"
#include "elf_file.h"

/*
 * The direct callees of a function of code [vaddr, vaddr + size): targets of
 * its direct calls and jumps that leave it (a jump out is a tail call). A
 * linear sweep of the whole function; code that does not decode, or no
 * decoder (disasm NULL: no capstone), is -ENOEXEC.
 * *targets is malloc'd (free it); 0 on success, else a negative errno.
 */
int ps_callgraph_decode(struct ps_disasm *disasm, const uint8_t *code, size_t size, uint64_t vaddr,
			uint64_t **targets, size_t *n_targets);

/*
 * The function the exported functions callers[0 .. n) all call directly and
 * that is neither exported nor a PLT stub: the one candidate, at *vaddr.
 * -ENOENT when a caller is absent (then *n_candidates is 0); -EMLINK when the
 * callers share no such callee or more than one (*n_candidates says how many);
 * other negative errnos when a caller's code cannot be read or decoded.
 */
int ps_callgraph_locate(struct ps_elf *elf, struct ps_disasm *disasm, const char *const *callers, size_t n_callers,
			uint64_t *vaddr, size_t *n_candidates);

/*
 * The function each of the string literals strings[0 .. n) is passed to: for
 * every place .text takes the address of one (a `lea reg, [rip + string]`,
 * the string in .rodata, alone or as the tail of a longer one), the target of
 * the first direct call (or tail-calling jump) after it in straight-line code,
 * not a PLT stub. The
 * one target all the strings share is the function, at *vaddr. -ENOENT when a
 * string is not in .rodata or its address is never taken (then *n_candidates
 * is 0); -EMLINK when the strings share no such target or more than one
 * (*n_candidates says how many); other negative errnos when the file cannot
 * be read or decoded.
 */
int ps_callgraph_locate_passed(struct ps_elf *elf, struct ps_disasm *disasm, const char *const *strings,
			       size_t n_strings, uint64_t *vaddr, size_t *n_candidates);

/*
 * The address the exported function symbol returns, a table of its file:
 * where it returns (`ret`, in a linear sweep of its code), rax holds the
 * address a `lea reg, [rip + X]` loaded, followed through moves between
 * registers and conditional moves between it and NULL (clang's `cmove`),
 * with no later write, or call, replacing it. Every return that has one must
 * agree (a return of NULL on failure has none). -ENOENT without the symbol, -EMLINK when no return or two disagree,
 * other negative errnos when its code cannot be read or decoded.
 */
int ps_callgraph_returned_address(struct ps_elf *elf, struct ps_disasm *disasm, const char *symbol,
				  uint64_t *vaddr);

/*
 * Whether the function symbol's code reaches one of goals[0 .. n_goals)
 * (link-time addresses): directly, through a PLT stub bound to it, or through
 * the code of functions it calls that the file defines and exports (one level).
 * 1 yes, 0 no, negative errno when it cannot tell.
 */
int ps_callgraph_reaches(struct ps_elf *elf, struct ps_disasm *disasm, const char *symbol, const uint64_t *goals,
			 size_t n_goals);

#endif
