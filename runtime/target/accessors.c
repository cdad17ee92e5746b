/* SPDX-License-Identifier: MIT */
/*
 * Accessor checks (accessors.h): disassemble an exported getter with capstone
 * and read which offset from its first argument it uses. Kept deliberately
 * simple: one straight-line path, the argument register and its copies; any
 * other shape is "cannot tell", never a guess. `copy` accessors are the one
 * whole-function sweep: an inline memcpy of the field, which only an exact
 * 16-byte-piece pattern matches (ps_accessor_copy_decode).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accessors.h"
#include "capstone_lib.h"
#include "elf_file.h"
#include "log.h"

#define CODE_BYTES 512          /* an accessor is short; the walk stops long before */
#define MAX_INSNS 64

/* The 64-bit register a register id is part of; X86_REG_INVALID for others. */
static x86_reg full_reg(unsigned reg)
{
	static const x86_reg map[][5] = {
		{ X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH },
		{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH },
		{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH },
		{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH },
		{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, X86_REG_INVALID },
		{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, X86_REG_INVALID },
		{ X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, X86_REG_INVALID },
		{ X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, X86_REG_INVALID },
		{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, X86_REG_INVALID },
		{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, X86_REG_INVALID },
		{ X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B, X86_REG_INVALID },
		{ X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B, X86_REG_INVALID },
		{ X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, X86_REG_INVALID },
		{ X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, X86_REG_INVALID },
		{ X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, X86_REG_INVALID },
		{ X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, X86_REG_INVALID },
	};

	if (reg == X86_REG_INVALID)
		return X86_REG_INVALID;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		for (size_t j = 0; j < 5; j++)
			if (map[i][j] == reg)
				return map[i][0];
	return X86_REG_INVALID;
}

/* The set of registers holding the argument, as a bit per 64-bit register id. */
struct regset {
	x86_reg regs[16];
	unsigned n;
};

static bool has(const struct regset *s, unsigned reg)
{
	x86_reg r = full_reg(reg);

	for (unsigned i = 0; r != X86_REG_INVALID && i < s->n; i++)
		if (s->regs[i] == r)
			return true;
	return false;
}

static void drop(struct regset *s, unsigned reg)
{
	x86_reg r = full_reg(reg);

	for (unsigned i = 0; i < s->n; i++)
		if (s->regs[i] == r) {
			s->regs[i] = s->regs[--s->n];
			return;
		}
}

static void add(struct regset *s, unsigned reg)
{
	x86_reg r = full_reg(reg);

	if (r != X86_REG_INVALID && !has(s, r) && s->n < 16)
		s->regs[s->n++] = r;
}

static bool ends_path(const cs_insn *insn)
{
	for (uint8_t i = 0; i < insn->detail->groups_count; i++) {
		switch (insn->detail->groups[i]) {
		case CS_GRP_RET:
		case CS_GRP_CALL:
		case CS_GRP_INT:
		case CS_GRP_IRET:
			return true;
		default:
			break;
		}
	}
	return insn->id == X86_INS_JMP || insn->id == X86_INS_HLT || insn->id == X86_INS_UD2 ||
	       insn->id == X86_INS_INVALID;
}

/*
 * The registers being followed: `arg` holds the first argument; with a
 * `through` offset, `inner` holds what was loaded from [arg + through], and
 * the accesses counted are those through inner instead of arg.
 */
struct walk {
	struct regset arg, inner;
	int64_t through;           /* -1: count the accesses through arg */
	unsigned n, seen;
	bool pointer_load;         /* the n-th access is `mov reg64, [...]`: it loads a pointer-sized value */
};

static struct regset *counted(struct walk *w)
{
	return w->through < 0 ? &w->arg : &w->inner;
}

/* `mov reg64, [arg + through]`: reg now holds the pointer the field is reached through. */
static bool loads_through(const struct walk *w, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	return w->through >= 0 && insn->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	       x->operands[0].size == 8 && x->operands[1].type == X86_OP_MEM &&
	       x->operands[1].mem.segment == X86_REG_INVALID && x->operands[1].mem.index == X86_REG_INVALID &&
	       has(&w->arg, x->operands[1].mem.base) && x->operands[1].mem.disp == w->through;
}

/* `mov %rdi,%rax`: the copy holds what the source held. */
static void follow_copy(struct regset *s, const cs_x86 *x)
{
	if (has(s, x->operands[1].reg))
		add(s, x->operands[0].reg);
}

/* Returns 1 and *offset at the n-th access, 0 to go on, -ENOENT when the shape is not simple. */
static int scan_insn(struct ps_disasm *disasm, struct walk *w, int64_t *offset)
{
	const cs_insn *insn = disasm->insn;
	const cs_x86 *x = &insn->detail->x86;
	struct regset *count = counted(w);
	bool loaded = loads_through(w, insn);
	cs_regs rd, wr;
	uint8_t n_rd = 0, n_wr = 0;

	for (uint8_t i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if (op->type != X86_OP_MEM)
			continue;
		if (op->mem.index != X86_REG_INVALID && has(count, op->mem.index))
			return -ENOENT;   /* the pointer as an index: not a field access */
		if (op->mem.segment != X86_REG_INVALID || op->mem.base == X86_REG_INVALID || !has(count, op->mem.base))
			continue;
		if (op->mem.index != X86_REG_INVALID)
			return -ENOENT;   /* base + index: an array, not one field */
		if (++w->seen == w->n) {
			*offset = op->mem.disp;
			w->pointer_load = insn->id == X86_INS_MOV && i == 1 && x->operands[0].type == X86_OP_REG &&
					  x->operands[0].size == 8 && op->size == 8;
			return 1;
		}
	}
	if (insn->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	    x->operands[1].type == X86_OP_REG && x->operands[0].size == 8) {
		follow_copy(&w->arg, x);
		follow_copy(&w->inner, x);
		return 0;
	}
	/* other writes end a register's part */
	if (disasm->lib->regs_access(disasm->cs, insn, rd, &n_rd, wr, &n_wr) != CS_ERR_OK)
		return -ENOENT;
	for (uint8_t i = 0; i < n_wr; i++) {
		drop(&w->arg, wr[i]);
		drop(&w->inner, wr[i]);
	}
	if (loaded)
		add(&w->inner, x->operands[0].reg);
	return count->n || (w->through >= 0 && w->arg.n) ? 0 : -ENOENT;
}

int ps_accessor_decode(struct ps_disasm *disasm, const uint8_t *code, size_t size, uint64_t address, unsigned n,
		       int64_t through, int64_t *offset, bool *pointer_load)
{
	struct walk w = { .arg = { .regs = { X86_REG_RDI }, .n = 1 }, .through = through, .n = n };
	unsigned count = 0;
	int ret = -ENOENT;

	if (!code || !n || !offset)
		return -EINVAL;
	if (!disasm)
		return -ENOENT;
	while (count++ < MAX_INSNS && ps_disasm_next(disasm, &code, &size, &address)) {
		int r = scan_insn(disasm, &w, offset);

		if (r != 0) {
			ret = r > 0 ? 0 : r;
			break;
		}
		if (ends_path(disasm->insn))
			break;
	}
	if (pointer_load)
		*pointer_load = ret == 0 && w.pointer_load;
	return ret;
}

int ps_accessor_offset(struct ps_elf *elf, struct ps_disasm *disasm, const char *symbol, unsigned n, int64_t through,
		       int64_t *offset, bool *pointer_load)
{
	uint8_t code[CODE_BYTES];
	uint64_t vaddr = 0;
	ssize_t got;
	int err = ps_elf_symbol_vaddr(elf, symbol, false, &vaddr);

	if (err)
		return err == -ENODATA ? -ENOENT : err;
	got = ps_elf_read_code(elf, vaddr, code, sizeof(code));
	if (got < 0)
		return (int)got;
	if (got == 0)
		return -ENOENT;
	return ps_accessor_decode(disasm, code, (size_t)got, vaddr, n, through, offset, pointer_load);
}

/*
 * `accessor SYM copy`: an inline memcpy of a byte array, as compilers emit
 * one of 32 bytes: each 16-byte piece loaded into an xmm register from
 * [src + D + 16k] and stored to [dst + 16k]. The function is swept whole
 * (every branch), so the copy is found wherever it is; only pieces stored
 * from the start of a buffer count, and every complete copy must agree.
 */
#define COPY_MAX_BYTES 16384     /* a getter-sized function is far smaller; a longer one is read this far */
#define COPY_MAX_PIECES 64

struct copy_piece {
	x86_reg src, dst;
	int64_t src_disp, dst_disp;
};

/* A 16-byte move between an xmm register and memory: movups, movdqu and kin. */
static bool is_move16(const cs_insn *insn)
{
	switch (insn->id) {
	case X86_INS_MOVUPS:
	case X86_INS_MOVDQU:
	case X86_INS_MOVAPS:
	case X86_INS_MOVDQA:
	case X86_INS_VMOVUPS:
	case X86_INS_VMOVDQU:
	case X86_INS_VMOVAPS:
	case X86_INS_VMOVDQA:
		return insn->detail->x86.op_count == 2;
	default:
		return false;
	}
}

static bool plain_mem(const cs_x86_op *op)
{
	return op->type == X86_OP_MEM && op->size == 16 && op->mem.segment == X86_REG_INVALID &&
	       op->mem.index == X86_REG_INVALID && op->mem.base != X86_REG_INVALID && op->mem.base != X86_REG_RIP;
}

/* xmm0 .. xmm15 as 0 .. 15; -1 for any other register. */
static int xmm_index(unsigned reg)
{
	return reg >= X86_REG_XMM0 && reg <= X86_REG_XMM15 ? (int)(reg - X86_REG_XMM0) : -1;
}

/* The source displacement of the copy of `length` bytes that starts at piece p, or -1. */
static int64_t copy_from(const struct copy_piece *pieces, unsigned n, unsigned p, uint32_t length)
{
	const struct copy_piece *first = &pieces[p];

	for (uint32_t k = 16; k < length; k += 16) {
		bool found = false;

		for (unsigned q = 0; q < n && !found; q++)
			found = pieces[q].src == first->src && pieces[q].dst == first->dst &&
				pieces[q].src_disp == first->src_disp + k && pieces[q].dst_disp == (int64_t)k;
		if (!found)
			return -1;
	}
	return first->src_disp;
}

int ps_accessor_copy_decode(struct ps_disasm *disasm, const uint8_t *code, size_t size, uint64_t address,
			    uint32_t length, int64_t *offset)
{
	struct { bool known; x86_reg base; int64_t disp; } xmm[16] = { { 0 } };
	struct copy_piece pieces[COPY_MAX_PIECES];
	unsigned n = 0;
	int64_t found = -1;

	if (!code || !offset || !length || length % 16)
		return -EINVAL;
	if (!disasm)
		return -ENOENT;
	while (ps_disasm_next(disasm, &code, &size, &address)) {
		const cs_insn *insn = disasm->insn;
		const cs_x86 *x = &insn->detail->x86;
		int to = x->op_count ? (x->operands[0].type == X86_OP_REG ? xmm_index(x->operands[0].reg) : -1) : -1;

		if (is_move16(insn) && to >= 0 && plain_mem(&x->operands[1])) {
			xmm[to].known = true;
			xmm[to].base = full_reg(x->operands[1].mem.base);
			xmm[to].disp = x->operands[1].mem.disp;
			continue;
		}
		if (is_move16(insn) && plain_mem(&x->operands[0]) && x->operands[1].type == X86_OP_REG) {
			int from = xmm_index(x->operands[1].reg);

			if (from >= 0 && xmm[from].known && n < COPY_MAX_PIECES && x->operands[0].mem.disp % 16 == 0 &&
			    x->operands[0].mem.disp >= 0 && x->operands[0].mem.disp < (int64_t)length)
				pieces[n++] = (struct copy_piece){ xmm[from].base, full_reg(x->operands[0].mem.base),
								   xmm[from].disp, x->operands[0].mem.disp };
			continue;
		}
		if (to >= 0)
			xmm[to].known = false;   /* anything else written to it */
	}
	for (unsigned p = 0; p < n; p++) {
		int64_t from = pieces[p].dst_disp == 0 ? copy_from(pieces, n, p, length) : -1;

		if (from < 0)
			continue;
		if (found >= 0 && from != found)
			return -ENOENT;      /* two copies of different places: cannot tell which */
		found = from;
	}
	if (found < 0)
		return -ENOENT;
	*offset = found;
	return 0;
}

int ps_accessor_copy_offset(struct ps_elf *elf, struct ps_disasm *disasm, const char *symbol, uint32_t length,
			    int64_t *offset)
{
	uint64_t vaddr = 0, size = 0;
	uint8_t *code;
	ssize_t got;
	int err = ps_elf_function(elf, symbol, &vaddr, &size);

	if (err)
		return err == -ENODATA ? -ENOENT : err;
	if (size == 0)
		return -ENOENT;
	if (size > COPY_MAX_BYTES)
		size = COPY_MAX_BYTES;
	code = malloc(size);
	if (!code)
		return -ENOMEM;
	got = ps_elf_read_code(elf, vaddr, code, size);
	err = got < 0 ? (int)got : got == 0 ? -ENOENT
	      : ps_accessor_copy_decode(disasm, code, (size_t)got, vaddr, length, offset);
	free(code);
	return err;
}

/* One field: confirmed, contradicted (its offset replaced), or "cannot tell" (left alone). */
static void check_one(const struct ps_module_desc *module, const struct ps_layout_desc *layout, struct ps_elf *elf,
		      struct ps_disasm *disasm, uint32_t i, int32_t *offsets, bool *shown, struct ps_accessor_result *result)
{
	const struct ps_offset_desc *o = &module->offsets[i];
	int32_t want = offsets[i];
	int64_t through = -1, got;
	bool pointer_load = false;
	int err;

	if (o->has_through) {
		through = o->through < module->n_offsets ? offsets[o->through] : -1;
		if (through < 0)
			return;   /* the pointer it goes through does not exist here */
	}
	if (o->copy_length)
		err = ps_accessor_copy_offset(elf, disasm, o->accessor, o->copy_length, &got);
	else
		err = ps_accessor_offset(elf, disasm, o->accessor, o->accessor_load, through, &got, &pointer_load);
	if (err) {
		ps_debug("%s: %s.%s: cannot tell from %s (%s)", module->name, o->strct, o->field, o->accessor,
			 err == -ENOENT ? "absent, or not a simple accessor" : strerror(-err));
		return;
	}
	if (got == want) {
		result->checked++;
		shown[i] = true;
		ps_debug("%s: %s.%s at %d in layout '%s': %s confirms it", module->name, o->strct, o->field, want,
			 layout->name, o->accessor);
		return;
	}
	if (result->mismatches++ == 0) {
		result->first_mismatch = i;
		snprintf(result->message, sizeof(result->message),
			 "layout '%s' puts %s.%s at %d but %s in %s reads it at %lld", layout->name, o->strct, o->field,
			 want, o->accessor, ps_elf_path(elf), (long long)got);
	}
	/*
	 * A pointer field is read by loading 8 bytes; any other access (an lea:
	 * the address of something held inline) says the build's struct differs
	 * in kind here, not just in place, so no offset of the layout's fits.
	 */
	if (o->pointer && !pointer_load) {
		ps_debug("%s: %s.%s: %s accesses offset %lld, but not as a pointer load: left unknown", module->name,
			 o->strct, o->field, o->accessor, (long long)got);
		return;
	}
	ps_debug("%s: %s.%s: %s reads it at %lld, not at %d as layout '%s' says: using %lld", module->name, o->strct,
		 o->field, o->accessor, (long long)got, want, layout->name, (long long)got);
	if (got >= 0 && got <= INT32_MAX) {
		offsets[i] = (int32_t)got;
		shown[i] = true;
	}
}

void ps_accessors_check(const struct ps_module_desc *module, const struct ps_layout_desc *layout, struct ps_elf *elf,
			struct ps_disasm *disasm, int32_t *offsets, bool *shown, struct ps_accessor_result *result)
{
	memset(result, 0, sizeof(*result));
	if (!layout || !layout->offsets)
		return;
	if (!disasm) {
		ps_warn("%s: capstone cannot be loaded (is libcapstone4 installed?): layout '%s' is not checked against the accessors in %s",
			module->name, layout->name, ps_elf_path(elf));
		return;
	}
	/* a public ABI's fields are known whatever the accessors say of other structs */
	for (uint32_t i = 0; i < module->n_offsets; i++)
		if (module->offsets[i].abi && offsets[i] >= 0)
			shown[i] = true;
	/* fields reached through a pointer field come second: that field's offset may change first */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < module->n_offsets; i++) {
			const struct ps_offset_desc *o = &module->offsets[i];

			if (o->accessor && offsets[i] >= 0 && o->has_through == (pass == 1))
				check_one(module, layout, elf, disasm, i, offsets, shown, result);
		}
}
