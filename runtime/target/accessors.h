/* SPDX-License-Identifier: MIT */
/*
 * Checking a layout against the machine code of the library's exported
 * accessors (`accessor SYM [load N]` on a struct field in a spec): SSL_get_session
 * reads ssl->session, so its code shows the offset of that field in this very
 * build. Nothing here knows one library: the pairs come from the spec.
 */
#ifndef PS_ACCESSORS_H
#define PS_ACCESSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "capstone_lib.h"
#include "elf_file.h"
#include "module.h"

/*
 * Decodes x86-64 code starting at a function's entry: the displacement of the
 * n-th (1-based) memory access (a load, a store, a compare or an lea) whose
 * base register holds the first argument (rdi, or a register it was copied
 * to), following the straight-line path (conditional branches fall through)
 * until ret, jmp, call or the end of code. With through >= 0, the accesses
 * counted are instead those through the register loaded by
 * `mov reg, [argument + through]` (a field reached through a pointer field).
 * 0 and *offset on success, with *pointer_load (when not NULL) telling
 * whether that access is `mov reg64, [...]`, the load of a pointer; -ENOENT
 * when the pattern is not that simple ("cannot tell") or disasm is NULL (no
 * capstone); -EINVAL on bad input.
 */
int ps_accessor_decode(struct ps_disasm *disasm, const uint8_t *code, size_t size, uint64_t address, unsigned n,
		       int64_t through, int64_t *offset, bool *pointer_load);

/* Reads the symbol's code from elf and decodes it as above; -ENOENT also when absent. */
int ps_accessor_offset(struct ps_elf *elf, struct ps_disasm *disasm, const char *symbol, unsigned n, int64_t through,
		       int64_t *offset, bool *pointer_load);

/*
 * `accessor SYM copy`: decodes the whole function for an inline copy of a
 * byte array of `length` bytes (a multiple of 16) to the start of a buffer,
 * 16 bytes at a time through xmm registers: [src + D + 16k] -> [dst + 16k]
 * for every k. 0 and *offset = D when every such copy agrees on D; -ENOENT
 * when there is none, when two disagree, or without disasm; -EINVAL on bad
 * input.
 */
int ps_accessor_copy_decode(struct ps_disasm *disasm, const uint8_t *code, size_t size, uint64_t address,
			    uint32_t length, int64_t *offset);

/* Reads the function symbol's code (up to 16 KiB of it) from elf and decodes it as above. */
int ps_accessor_copy_offset(struct ps_elf *elf, struct ps_disasm *disasm, const char *symbol, uint32_t length,
			    int64_t *offset);

struct ps_accessor_result {
	uint32_t checked;          /* fields whose accessor confirmed the layout */
	uint32_t mismatches;       /* fields whose accessor disagrees with the layout */
	uint32_t first_mismatch;   /* the offset index of the first of them */
	char message[512];         /* the first mismatch, one line; "" when none */
};

/*
 * Compares every field with an accessor that the layout places with what the
 * accessor in elf (the plan's opened target) reveals. offsets (module->n_offsets, the
 * layout's on entry) then hold the accessor's offset for each field it
 * contradicts: the machine code of this very build is the ground truth.
 * shown[i] is set for each field an accessor confirmed or gave; a pointer
 * field whose accessor does not load it as a pointer (an lea: the build holds
 * something inline there) is contradicted but left unknown. Fields placed
 * through a pointer field (`through`) are checked after it, at its offset
 * as corrected. Confirmations and "cannot tell" are debug lines; the first
 * mismatch is described in result->message. Without disasm (capstone
 * cannot be loaded) nothing is checked, and a warning says so.
 */
void ps_accessors_check(const struct ps_module_desc *module, const struct ps_layout_desc *layout, struct ps_elf *elf,
			struct ps_disasm *disasm, int32_t *offsets, bool *shown, struct ps_accessor_result *result);

#endif
