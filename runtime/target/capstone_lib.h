/* SPDX-License-Identifier: MIT */
/*
 * capstone, loaded only while something disassembles, and the one decoder
 * session every disassembling step of a target shares (accessors, call graph,
 * PLT stubs): one handle, x86-64 with instruction details, one instruction.
 */
#ifndef PS_CAPSTONE_LIB_H
#define PS_CAPSTONE_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <capstone/capstone.h>

struct ps_capstone {
	__typeof__(cs_open) *open;
	__typeof__(cs_option) *option;
	__typeof__(cs_malloc) *malloc;
	__typeof__(cs_disasm_iter) *disasm_iter;
	__typeof__(cs_free) *free;
	__typeof__(cs_close) *close;
	__typeof__(cs_regs_access) *regs_access;
};

struct ps_disasm {
	const struct ps_capstone *lib;
	csh cs;
	cs_insn *insn;    /* the instruction ps_disasm_next decoded last */
};

/*
 * Loads capstone (on the first of nested sessions) and opens a decoder;
 * -ENOEXEC (said with -d) when capstone cannot be loaded, -ENOMEM.
 */
int ps_disasm_open(struct ps_disasm *disasm);
/* Closes the decoder; capstone is unloaded after the last session. */
void ps_disasm_close(struct ps_disasm *disasm);

/*
 * Loading capstone costs ~10 ms on a VM (77,000 relocations, each on a fresh
 * page): a thread loads it while start-up reads the target's version, so the
 * first ps_disasm_open finds it mapped. NULL when no thread could start
 * (ps_disasm_open then loads it itself). ps_capstone_warm_end waits for the
 * thread and drops its reference: capstone stays only while sessions are open.
 */
struct ps_capstone_warm;
struct ps_capstone_warm *ps_capstone_warm_start(void);
void ps_capstone_warm_end(struct ps_capstone_warm *warm);

/* Decodes the instruction at *code into disasm->insn and moves past it, as cs_disasm_iter. */
static inline bool ps_disasm_next(struct ps_disasm *disasm, const uint8_t **code, size_t *size, uint64_t *address)
{
	return disasm->lib->disasm_iter(disasm->cs, code, size, address, disasm->insn);
}

#endif
