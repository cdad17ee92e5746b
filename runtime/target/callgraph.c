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

int ps_callgraph_locate(struct ps_elf *elf, struct ps_disasm *disasm, const char *const *callers, size_t n_callers,
			uint64_t *vaddr, size_t *n_candidates)
{
	uint64_t *common = NULL;
	size_t n_common = 0;
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
		if (i == 0) {
			common = callees;
			n_common = kept;
			continue;
		}
		intersect(common, &n_common, callees, kept);
		free(callees);
	}
	if (!err) {
		*n_candidates = n_common;
		if (n_common == 1)
			*vaddr = common[0];
		else
			err = -EMLINK;
	}
	free(common);
	return err;
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
	uint64_t *common = NULL;
	size_t n_common = 0;
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
		if (i == 0) {
			common = callees;
			n_common = n_callees;
			continue;
		}
		intersect(common, &n_common, callees, n_callees);
		free(callees);
	}
	if (!err) {
		*n_candidates = n_common;
		if (n_common == 1)
			*vaddr = common[0];
		else
			err = -EMLINK;
	}
	free(common);
	return err;
}

static bool writes_rax(struct ps_disasm *disasm, const cs_insn *insn)
{
	cs_regs rd, wr;
	uint8_t n_rd = 0, n_wr = 0;

	if (disasm->lib->regs_access(disasm->cs, insn, rd, &n_rd, wr, &n_wr) != CS_ERR_OK)
		return true;   /* cannot tell: it no longer holds a known address */
	for (uint8_t i = 0; i < n_wr; i++)
		if (wr[i] == X86_REG_RAX || wr[i] == X86_REG_EAX || wr[i] == X86_REG_AX || wr[i] == X86_REG_AL ||
		    wr[i] == X86_REG_AH)
			return true;
	return false;
}

/* `lea rax, [rip + X]`: X in *address. */
static bool loads_rax_address(const cs_insn *insn, uint64_t *address)
{
	const cs_x86 *x = &insn->detail->x86;

	if (insn->id != X86_INS_LEA || x->op_count != 2 || x->operands[0].type != X86_OP_REG ||
	    x->operands[0].reg != X86_REG_RAX || x->operands[1].type != X86_OP_MEM ||
	    x->operands[1].mem.base != X86_REG_RIP || x->operands[1].mem.index != X86_REG_INVALID)
		return false;
	*address = insn->address + insn->size + (uint64_t)x->operands[1].mem.disp;
	return true;
}

int ps_callgraph_returned_address(struct ps_elf *elf, struct ps_disasm *disasm, const char *symbol,
				  uint64_t *vaddr)
{
	uint64_t start, size, address, held = 0, found = 0;
	bool holds = false, any = false;
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
		uint64_t loaded;

		if (!ps_disasm_next(disasm, &code, &left, &address)) {
			err = -ENOEXEC;
			break;
		}
		insn = disasm->insn;
		if (insn->id == X86_INS_RET) {
			if (holds && any && found != held)
				err = -EMLINK;
			if (holds) {
				found = held;
				any = true;
			}
		} else if (loads_rax_address(insn, &loaded)) {
			held = loaded;
			holds = true;
		} else if (insn->id == X86_INS_CALL || writes_rax(disasm, insn)) {
			holds = false;   /* a call returns its own rax */
		}
	}
	free(bytes);
	if (!err && !any)
		err = -EMLINK;
	if (!err)
		*vaddr = found;
	return err;
}
