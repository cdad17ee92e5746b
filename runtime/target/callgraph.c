/* SPDX-License-Identifier: MIT */
/*
 * Call following (callgraph.h). A function's code is swept linearly from its
 * symbol's address over its st_size: compilers put x86-64 jump tables in
 * .rodata, so every byte there is an instruction. Only direct calls and
 * jumps count; an indirect one (a method table) names no function.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "callgraph.h"
#include "capstone_lib.h"

/* Past this a "function" is no wrapper worth following: cannot tell. */
#define MAX_FUNCTION_BYTES (1u << 20)
/*
 * Levels of code searched: the function's own and that of the exported
 * functions it calls. SSL_write_ex -> SSL_write_ex2 (through the PLT) ->
 * ssl_write_internal is two; each level more multiplies the work (Node.js
 * exports nearly everything its SSL_read calls).
 */
#define MAX_REACH_DEPTH 2
#define PLT_STUB_BYTES 16

static bool is_direct_branch(const cs_insn *insn, uint64_t *target)
{
	const cs_x86 *x = &insn->detail->x86;
	bool branch = false;

	for (uint8_t i = 0; i < insn->detail->groups_count; i++)
		branch |= insn->detail->groups[i] == CS_GRP_CALL || insn->detail->groups[i] == CS_GRP_JUMP;
	if (!branch || x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
		return false;
	*target = (uint64_t)x->operands[0].imm;
	return true;
}

static int add_target(uint64_t **targets, size_t *n, uint64_t target)
{
	uint64_t *grown;

	for (size_t i = 0; i < *n; i++)
		if ((*targets)[i] == target)
			return 0;
	grown = realloc(*targets, (*n + 1) * sizeof(**targets));
	if (!grown)
		return -ENOMEM;
	*targets = grown;
	(*targets)[(*n)++] = target;
	return 0;
}

int ps_callgraph_decode(struct ps_disasm *disasm, const uint8_t *code, size_t size, uint64_t vaddr,
			uint64_t **targets, size_t *n_targets)
{
	uint64_t address = vaddr, end = vaddr + size;
	int err = 0;

	*targets = NULL;
	*n_targets = 0;
	if (!code || !size)
		return -EINVAL;
	if (!disasm)
		return -ENOEXEC;
	while (!err && size) {
		uint64_t target;

		if (!ps_disasm_next(disasm, &code, &size, &address)) {
			err = -ENOEXEC;   /* bytes that are no instruction: not a plain function */
			break;
		}
		if (is_direct_branch(disasm->insn, &target) && (target < vaddr || target >= end))
			err = add_target(targets, n_targets, target);
	}
	if (err) {
		free(*targets);
		*targets = NULL;
		*n_targets = 0;
	}
	return err;
}

/* The direct callees of the function at vaddr of size bytes in elf. */
static int function_callees(struct ps_elf *elf, struct ps_disasm *disasm, uint64_t vaddr, uint64_t size,
			    uint64_t **targets, size_t *n)
{
	uint8_t *code;
	ssize_t got;
	int err;

	if (size == 0 || size > MAX_FUNCTION_BYTES)
		return -EFBIG;
	code = malloc(size);
	if (!code)
		return -ENOMEM;
	got = ps_elf_read_code(elf, vaddr, code, size);
	err = got < 0 ? (int)got : (uint64_t)got != size ? -EIO : 0;
	if (!err)
		err = ps_callgraph_decode(disasm, code, size, vaddr, targets, n);
	free(code);
	return err;
}

static bool in_plt(struct ps_elf *elf, uint64_t vaddr)
{
	const char *section = ps_elf_section_name_at(elf, vaddr);

	return section && strncmp(section, ".plt", 4) == 0;
}

/*
 * The symbol a PLT stub jumps to: its `jmp *slot(%rip)` reads a GOT slot that
 * a relocation binds to the symbol. Lazy .plt, .plt.sec (endbr64 first) and
 * .plt.got stubs all have that jump within their first bytes.
 */
static const char *plt_stub_symbol(struct ps_elf *elf, struct ps_disasm *disasm, uint64_t vaddr)
{
	uint8_t bytes[PLT_STUB_BYTES];
	const uint8_t *code = bytes;
	uint64_t address = vaddr;
	ssize_t got = ps_elf_read_code(elf, vaddr, bytes, sizeof(bytes));
	size_t size = got > 0 ? (size_t)got : 0;

	if (!size || !disasm)
		return NULL;
	while (ps_disasm_next(disasm, &code, &size, &address)) {
		const cs_insn *insn = disasm->insn;
		const cs_x86 *x = &insn->detail->x86;

		if (insn->id != X86_INS_JMP)
			continue;
		if (x->op_count == 1 && x->operands[0].type == X86_OP_MEM && x->operands[0].mem.base == X86_REG_RIP &&
		    x->operands[0].mem.index == X86_REG_INVALID)
			return ps_elf_relocation_symbol(elf, insn->address + insn->size + (uint64_t)x->operands[0].mem.disp);
		break;
	}
	return NULL;
}

static bool is_internal_callee(struct ps_elf *elf, uint64_t vaddr)
{
	uint64_t size;

	return !in_plt(elf, vaddr) && ps_elf_exported_function_at(elf, vaddr, &size) != 0;
}

/* Keeps in *common only the addresses also in more[0 .. n_more). */
static void intersect(uint64_t *common, size_t *n_common, const uint64_t *more, size_t n_more)
{
	size_t kept = 0;

	for (size_t i = 0; i < *n_common; i++)
		for (size_t j = 0; j < n_more; j++)
			if (common[i] == more[j]) {
				common[kept++] = common[i];
				break;
			}
	*n_common = kept;
}

/* The addresses every set handed to narrow_common so far holds. */
struct common_set {
	uint64_t *vaddrs;
	size_t n;
	bool started;
};

/* The first set is kept as it is; each later one narrows it and is freed. */
static void narrow_common(struct common_set *common, uint64_t *set, size_t n)
{
	if (!common->started) {
		common->vaddrs = set;
		common->n = n;
		common->started = true;
		return;
	}
	intersect(common->vaddrs, &common->n, set, n);
	free(set);
}

/* Unless err: the one address every set shares, -EMLINK when none or several do. Frees common. */
static int single_common(struct common_set *common, int err, uint64_t *vaddr, size_t *n_candidates)
{
	if (!err) {
		*n_candidates = common->n;
		if (common->n == 1)
			*vaddr = common->vaddrs[0];
		else
			err = -EMLINK;
	}
	free(common->vaddrs);
	return err;
}

int ps_callgraph_locate(struct ps_elf *elf, struct ps_disasm *disasm, const char *const *callers, size_t n_callers,
			uint64_t *vaddr, size_t *n_candidates)
{
	struct common_set common = { 0 };
	int err = 0;

	*n_candidates = 0;
	if (!n_callers)
		return -EINVAL;
	for (size_t i = 0; i < n_callers && !err; i++) {
		uint64_t start, size, *callees = NULL;
		size_t n_callees = 0, kept = 0;

		err = ps_elf_function(elf, callers[i], &start, &size);
		if (err == -ENODATA)
			err = -ENOENT;
		if (!err)
			err = function_callees(elf, disasm, start, size, &callees, &n_callees);
		if (err)
			break;
		for (size_t j = 0; j < n_callees; j++)
			if (is_internal_callee(elf, callees[j]))
				callees[kept++] = callees[j];
		narrow_common(&common, callees, kept);
	}
	return single_common(&common, err, vaddr, n_candidates);
}

static bool is_goal(uint64_t vaddr, const uint64_t *goals, size_t n_goals)
{
	for (size_t i = 0; i < n_goals; i++)
		if (goals[i] == vaddr)
			return true;
	return false;
}

/* Where a callee's own code is, to follow it: an exported function, or a PLT stub bound to one defined here. */
static bool followable(struct ps_elf *elf, struct ps_disasm *disasm, uint64_t *vaddr, uint64_t *size)
{
	const char *name;

	if (!in_plt(elf, *vaddr))
		return ps_elf_exported_function_at(elf, *vaddr, size) == 0;
	name = plt_stub_symbol(elf, disasm, *vaddr);
	return name && ps_elf_function(elf, name, vaddr, size) == 0;
}

static int reaches(struct ps_elf *elf, struct ps_disasm *disasm, uint64_t vaddr, uint64_t size,
		   const uint64_t *goals, size_t n_goals, int depth)
{
	uint64_t *callees = NULL;
	size_t n_callees = 0;
	int err = function_callees(elf, disasm, vaddr, size, &callees, &n_callees), found = 0;

	if (err)
		return err;
	/* found: 1 reached, 0 not (yet), negative: cannot tell; 1 or an error ends the search */
	for (size_t i = 0; i < n_callees && !found; i++) {
		uint64_t callee = callees[i], callee_size;
		int r;

		if (is_goal(callee, goals, n_goals))
			found = 1;
		else if (!followable(elf, disasm, &callee, &callee_size))
			continue;
		else if (is_goal(callee, goals, n_goals))   /* a PLT stub bound to the goal */
			found = 1;
		else if (depth > 1 && (r = reaches(elf, disasm, callee, callee_size, goals, n_goals, depth - 1)) != -EFBIG)
			found = r;   /* -EFBIG: no size, or too big for a wrapper; not followed */
	}
	free(callees);
	return found;
}

int ps_callgraph_reaches(struct ps_elf *elf, struct ps_disasm *disasm, const char *symbol, const uint64_t *goals,
			 size_t n_goals)
{
	uint64_t vaddr, size;
	int err = ps_elf_function(elf, symbol, &vaddr, &size);

	if (err)
		return err;
	if (is_goal(vaddr, goals, n_goals))
		return 1;
	return reaches(elf, disasm, vaddr, size, goals, n_goals, MAX_REACH_DEPTH);
}

/* ---- called with: the function string literals are passed to ---------------- */

/*
 * Instructions followed after a string's address is taken, looking for the
 * call it is passed to: the arguments of one call are set up in a few
 * instructions (gnutls: lea rsi, [label]; mov rdi, rbx; call).
 */
#define MAX_ARGUMENT_SETUP 16
#define LEA_RIP_BYTES 7   /* REX.W 8d modrm(rip) disp32 */

struct string_sites {
	const uint8_t *rodata;
	size_t rodata_size;
	uint64_t rodata_vaddr;
	const uint8_t *text;
	size_t text_size;
	uint64_t text_vaddr;
};

/* Whether the NUL-terminated string s sits at vaddr in .rodata (alone or as a longer string's tail). */
static bool string_at(const struct string_sites *f, uint64_t vaddr, const char *s, size_t len)
{
	uint64_t at;

	if (vaddr < f->rodata_vaddr)
		return false;
	at = vaddr - f->rodata_vaddr;
	return at < f->rodata_size && f->rodata_size - at > len && memcmp(f->rodata + at, s, len) == 0 &&
	       f->rodata[at + len] == '\0';
}

/*
 * The first direct call after the instruction at vaddr in straight-line code,
 * or a direct jump there (a tail call: `lea rsi, [label]; jmp f`), not to a
 * PLT stub; 0 when none. A jump that only joins two branches of one function
 * gives a target the other strings' sites do not share.
 */
static uint64_t call_after(struct ps_elf *elf, struct ps_disasm *disasm, const struct string_sites *f,
			   uint64_t vaddr)
{
	const uint8_t *code = f->text + (vaddr - f->text_vaddr);
	size_t size = f->text_size - (size_t)(vaddr - f->text_vaddr);
	uint64_t address = vaddr, target;

	for (int i = 0; i < MAX_ARGUMENT_SETUP && ps_disasm_next(disasm, &code, &size, &address); i++) {
		const cs_insn *insn = disasm->insn;

		if (i == 0 && insn->id != X86_INS_LEA)
			return 0;   /* the bytes only looked like one, inside another instruction */
		if (insn->id == X86_INS_CALL || insn->id == X86_INS_JMP)
			return is_direct_branch(insn, &target) && !in_plt(elf, target) ? target : 0;
		for (uint8_t g = 0; g < insn->detail->groups_count; g++)
			if (insn->detail->groups[g] == CS_GRP_JUMP || insn->detail->groups[g] == CS_GRP_RET)
				return 0;
	}
	return 0;
}

/* The call targets every place that takes the address of s leads to: *targets (malloc'd), *n. */
static int string_callees(struct ps_elf *elf, struct ps_disasm *disasm, const struct string_sites *f,
			  const char *s, uint64_t **targets, size_t *n)
{
	size_t len = strlen(s);
	bool in_rodata = false;
	int err = 0;

	*targets = NULL;
	*n = 0;
	for (size_t at = 0; !in_rodata && at + len < f->rodata_size; at++)
		in_rodata = string_at(f, f->rodata_vaddr + at, s, len);
	if (!in_rodata)
		return -ENOENT;
	for (size_t i = 0; !err && i + LEA_RIP_BYTES <= f->text_size; i++) {
		const uint8_t *b = f->text + i;
		int32_t disp;
		uint64_t next = f->text_vaddr + i + LEA_RIP_BYTES, callee;

		/* lea r64, [rip + disp32]: REX.W (0x48 .. 0x4f), 0x8d, mod 00 r/m 101 */
		if ((b[0] & 0xf8) != 0x48 || b[1] != 0x8d || (b[2] & 0xc7) != 0x05)
			continue;
		memcpy(&disp, b + 3, sizeof(disp));
		if (!string_at(f, next + (uint64_t)(int64_t)disp, s, len))
			continue;
		callee = call_after(elf, disasm, f, f->text_vaddr + i);
		if (callee)
			err = add_target(targets, n, callee);
	}
	if (!err && !*n)
		err = -ENOENT;
	if (err) {
		free(*targets);
		*targets = NULL;
		*n = 0;
	}
	return err;
}

int ps_callgraph_locate_passed(struct ps_elf *elf, struct ps_disasm *disasm, const char *const *strings,
			       size_t n_strings, uint64_t *vaddr, size_t *n_candidates)
{
	struct string_sites f;
	const void *rodata, *text;
	struct common_set common = { 0 };
	int err;

	*n_candidates = 0;
	if (!n_strings)
		return -EINVAL;
	if (!disasm)
		return -ENOEXEC;
	err = ps_elf_section(elf, ".rodata", &rodata, &f.rodata_size);
	if (!err)
		err = ps_elf_section_vaddr(elf, ".rodata", &f.rodata_vaddr);
	if (!err)
		err = ps_elf_section(elf, ".text", &text, &f.text_size);
	if (!err)
		err = ps_elf_section_vaddr(elf, ".text", &f.text_vaddr);
	if (err)
		return err == -ENODATA ? -ENOENT : err;
	f.rodata = rodata;
	f.text = text;
	for (size_t i = 0; i < n_strings && !err; i++) {
		uint64_t *callees;
		size_t n_callees;

		err = string_callees(elf, disasm, &f, strings[i], &callees, &n_callees);
		if (err)
			break;
		narrow_common(&common, callees, n_callees);
	}
	return single_common(&common, err, vaddr, n_candidates);
}

/*
 * What a general-purpose register is known to hold while sweeping a function
 * for the address it returns: nothing known, zero (NULL), or an address a
 * `lea reg, [rip + X]` loaded. A conditional move between NULL and X holds
 * "X or NULL", which is still X for a table's address: a NULL returned on
 * failure names no other table.
 */
enum held_kind { HELD_UNKNOWN, HELD_ZERO, HELD_ADDRESS };

struct held {
	enum held_kind kind;
	uint64_t address;
};

#define N_GPRS 16

/* The 64-bit register (0 .. 15) a register name is part of; -1 for others. */
static int gpr_index(unsigned reg)
{
	static const unsigned names[N_GPRS][5] = {
		{ X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH },
		{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH },
		{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH },
		{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH },
		{ X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, X86_REG_SPL },
		{ X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, X86_REG_BPL },
		{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, X86_REG_SIL },
		{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, X86_REG_DIL },
		{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, X86_REG_R8B },
		{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, X86_REG_R9B },
		{ X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B, X86_REG_R10B },
		{ X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B, X86_REG_R11B },
		{ X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, X86_REG_R12B },
		{ X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, X86_REG_R13B },
		{ X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, X86_REG_R14B },
		{ X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, X86_REG_R15B },
	};

	for (int i = 0; i < N_GPRS; i++)
		for (int j = 0; j < 5; j++)
			if (names[i][j] == reg)
				return i;
	return -1;
}

static bool is_reg64(unsigned reg)
{
	int i = gpr_index(reg);
	static const unsigned full[N_GPRS] = {
		X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP, X86_REG_RSI, X86_REG_RDI,
		X86_REG_R8, X86_REG_R9, X86_REG_R10, X86_REG_R11, X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15,
	};

	return i >= 0 && full[i] == reg;
}

static bool is_cmov(unsigned id)
{
	switch (id) {
	case X86_INS_CMOVA: case X86_INS_CMOVAE: case X86_INS_CMOVB: case X86_INS_CMOVBE: case X86_INS_CMOVE:
	case X86_INS_CMOVG: case X86_INS_CMOVGE: case X86_INS_CMOVL: case X86_INS_CMOVLE: case X86_INS_CMOVNE:
	case X86_INS_CMOVNO: case X86_INS_CMOVNP: case X86_INS_CMOVNS: case X86_INS_CMOVO: case X86_INS_CMOVP:
	case X86_INS_CMOVS:
		return true;
	default:
		return false;
	}
}

/* Either of two values: equal ones, or NULL and an address (the address). */
static struct held held_either(struct held a, struct held b)
{
	if (a.kind == b.kind && (a.kind != HELD_ADDRESS || a.address == b.address))
		return a;
	if (a.kind == HELD_ZERO && b.kind == HELD_ADDRESS)
		return b;
	if (b.kind == HELD_ZERO && a.kind == HELD_ADDRESS)
		return a;
	return (struct held){ HELD_UNKNOWN, 0 };
}

/*
 * One instruction's effect on what the registers hold: lea rip-relative,
 * xor of a register with itself, moves and conditional moves between 64-bit
 * registers are followed; a call clobbers the caller-saved registers (SysV);
 * any other write makes its registers unknown.
 */
static void held_step(struct ps_disasm *disasm, const cs_insn *insn, struct held *regs)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *op = x->operands;
	cs_regs rd, wr;
	uint8_t n_rd = 0, n_wr = 0;
	int dst = x->op_count >= 1 && op[0].type == X86_OP_REG ? gpr_index(op[0].reg) : -1;
	int src = x->op_count == 2 && op[1].type == X86_OP_REG ? gpr_index(op[1].reg) : -1;

	if (insn->id == X86_INS_LEA && dst >= 0 && is_reg64(op[0].reg) && op[1].type == X86_OP_MEM &&
	    op[1].mem.base == X86_REG_RIP && op[1].mem.index == X86_REG_INVALID) {
		regs[dst] = (struct held){ HELD_ADDRESS, insn->address + insn->size + (uint64_t)op[1].mem.disp };
		return;
	}
	if (insn->id == X86_INS_XOR && dst >= 0 && src == dst && op[0].reg == op[1].reg && op[0].size >= 4) {
		regs[dst] = (struct held){ HELD_ZERO, 0 };
		return;
	}
	if (insn->id == X86_INS_MOV && dst >= 0 && src >= 0 && is_reg64(op[0].reg) && is_reg64(op[1].reg)) {
		regs[dst] = regs[src];
		return;
	}
	if (is_cmov(insn->id) && dst >= 0 && src >= 0 && is_reg64(op[0].reg) && is_reg64(op[1].reg)) {
		regs[dst] = held_either(regs[dst], regs[src]);
		return;
	}
	if (insn->id == X86_INS_CALL) {
		static const int clobbered[] = { 0, 1, 2, 6, 7, 8, 9, 10, 11 };   /* rax rcx rdx rsi rdi r8-r11 */

		for (size_t i = 0; i < sizeof(clobbered) / sizeof(clobbered[0]); i++)
			regs[clobbered[i]] = (struct held){ HELD_UNKNOWN, 0 };
		return;
	}
	if (disasm->lib->regs_access(disasm->cs, insn, rd, &n_rd, wr, &n_wr) != CS_ERR_OK) {
		for (int i = 0; i < N_GPRS; i++)
			regs[i] = (struct held){ HELD_UNKNOWN, 0 };
		return;
	}
	for (uint8_t i = 0; i < n_wr; i++) {
		int w = gpr_index(wr[i]);

		if (w >= 0)
			regs[w] = (struct held){ HELD_UNKNOWN, 0 };
	}
}

int ps_callgraph_returned_address(struct ps_elf *elf, struct ps_disasm *disasm, const char *symbol,
				  uint64_t *vaddr)
{
	uint64_t start, size, address, found = 0;
	struct held regs[N_GPRS] = { 0 };
	bool any = false;
	const uint8_t *code;
	uint8_t *bytes;
	ssize_t got;
	size_t left;
	int err = ps_elf_function(elf, symbol, &start, &size);

	if (err)
		return err == -ENODATA ? -ENOENT : err;
	if (!disasm)
		return -ENOEXEC;
	if (size == 0 || size > MAX_FUNCTION_BYTES)
		return -EFBIG;
	bytes = malloc(size);
	if (!bytes)
		return -ENOMEM;
	got = ps_elf_read_code(elf, start, bytes, size);
	err = got < 0 ? (int)got : (uint64_t)got != size ? -EIO : 0;
	code = bytes;
	left = size;
	address = start;
	while (!err && left) {
		const cs_insn *insn;

		if (!ps_disasm_next(disasm, &code, &left, &address)) {
			err = -ENOEXEC;
			break;
		}
		insn = disasm->insn;
		if (insn->id == X86_INS_RET) {
			if (regs[0].kind == HELD_ADDRESS) {
				if (any && found != regs[0].address)
					err = -EMLINK;
				found = regs[0].address;
				any = true;
			}
		} else {
			held_step(disasm, insn, regs);
		}
	}
	free(bytes);
	if (!err && !any)
		err = -EMLINK;
	if (!err)
		*vaddr = found;
	return err;
}
