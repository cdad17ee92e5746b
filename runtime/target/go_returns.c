/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include "go_returns.h"

/* Past this a Go "function" is no function the specs hook: cannot tell. */
#define MAX_FUNCTION_BYTES (1u << 20)

static int add_offset(long **offsets, size_t *n, long offset)
{
	long *grown = realloc(*offsets, (*n + 1) * sizeof(**offsets));

	if (!grown)
		return -ENOMEM;
	*offsets = grown;
	(*offsets)[(*n)++] = offset;
	return 0;
}

/* Go pads between functions with INT3, which decodes: the sweep runs to the next function's entry. */
static int sweep(struct ps_resolved_target *target, struct ps_disasm *disasm, const uint8_t *code, size_t size,
		 uint64_t vaddr, long **offsets, size_t *n)
{
	uint64_t address = vaddr;
	int err = 0;

	while (!err && size) {
		if (!ps_disasm_next(disasm, &code, &size, &address))
			return -ENOEXEC;
		if (disasm->insn->id == X86_INS_RET) {
			long offset = ps_elf_vaddr_offset(target->elf, disasm->insn->address);

			err = offset < 0 ? (int)offset : add_offset(offsets, n, offset);
		}
	}
	return err;
}

int ps_go_return_sites(struct ps_resolved_target *target, const char *symbol, long **offsets, size_t *n_offsets)
{
	struct ps_disasm *disasm = ps_target_disasm(target);
	uint64_t entry, end;
	uint8_t *code;
	ssize_t got;
	int err;

	*offsets = NULL;
	*n_offsets = 0;
	err = ps_go_function(&target->go, symbol, &entry, &end);
	if (err)
		return err;
	if (!disasm || end - entry > MAX_FUNCTION_BYTES)
		return -ENOEXEC;
	code = malloc(end - entry);
	if (!code)
		return -ENOMEM;
	got = ps_elf_read_code(target->elf, entry, code, end - entry);
	err = got == (ssize_t)(end - entry) ? sweep(target, disasm, code, (size_t)got, entry, offsets, n_offsets)
	      : -ENOEXEC;
	free(code);
	if (!err && !*n_offsets)
		err = -ENOEXEC;
	if (err) {
		free(*offsets);
		*offsets = NULL;
		*n_offsets = 0;
	}
	return err;
}

/*
 * Where the prologue finds g: R14 under the register ABI; under the stack
 * ABI, the register its first instruction loads from the TLS slot
 * (`MOV RCX, FS:[-8]`).
 */
static unsigned g_register(const cs_insn *insn, unsigned g_reg)
{
	const cs_x86 *x = &insn->detail->x86;

	if (insn->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	    x->operands[1].type == X86_OP_MEM && x->operands[1].mem.segment == X86_REG_FS)
		return x->operands[0].reg;
	return g_reg;
}

/* `CMP reg, [g + disp]`: the comparison with the goroutine's stack guard. */
static bool compares_stack_guard(const cs_insn *insn, unsigned g_reg)
{
	const cs_x86 *x = &insn->detail->x86;

	if (insn->id != X86_INS_CMP)
		return false;
	for (uint8_t i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == g_reg)
			return true;
	return false;
}

/* The stack check's branch: SP below (or at) the guard, compared unsigned. */
static bool is_unsigned_jcc(unsigned id)
{
	return id == X86_INS_JBE || id == X86_INS_JB || id == X86_INS_JA || id == X86_INS_JAE;
}

/*
 * The prologue is at most LEA, CMP, Jcc after g is found: in R14 (register
 * ABI), or loaded from FS:-8 by one MOV, or two in a PIE (stack ABI, Go 1.15:
 * MOV RCX, -8; MOV RCX, FS:[RCX]).
 */
#define PROLOGUE_BYTES 32
#define PROLOGUE_INSNS 5

int ps_go_entry_site(struct ps_resolved_target *target, const char *symbol, long *offset)
{
	struct ps_disasm *disasm = ps_target_disasm(target);
	uint8_t code[PROLOGUE_BYTES];
	const uint8_t *at = code;
	uint64_t entry, end, address;
	size_t size;
	unsigned g_reg = X86_REG_R14;
	bool guard = false;
	ssize_t got;
	int err = ps_go_function(&target->go, symbol, &entry, &end);

	if (err)
		return err;
	*offset = ps_elf_vaddr_offset(target->elf, entry);
	if (*offset < 0)
		return (int)*offset;
	size = end - entry < sizeof(code) ? end - entry : sizeof(code);
	got = disasm ? ps_elf_read_code(target->elf, entry, code, size) : -1;
	if (got != (ssize_t)size)
		return 0;   /* cannot tell: the entry itself */
	address = entry;
	for (int i = 0; i < PROLOGUE_INSNS && ps_disasm_next(disasm, &at, &size, &address); i++) {
		const cs_insn *insn = disasm->insn;

		g_reg = g_register(insn, g_reg);
		if (compares_stack_guard(insn, g_reg)) {
			guard = true;
		} else if (guard && is_unsigned_jcc(insn->id)) {
			long past = ps_elf_vaddr_offset(target->elf, insn->address + insn->size);

			if (past >= 0)
				*offset = past;
			return 0;
		}
	}
	return 0;
}
