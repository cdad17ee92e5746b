/* SPDX-License-Identifier: MIT */
/*
 * Pass 2, the checker's driver (check_modules, at the end), and the small
 * helpers its passes share. The passes, in the order the driver runs them:
 * declarations (check_decls.c: flags, targets, structs, hook sets, events,
 * globals, variables, filters), layouts and their constants
 * (check_layouts.c), the steps each hook does copied in (steps.c), its
 * expressions and statements (check_stmts.c), then its programs planned and
 * named (check_hooks.c).
 */
#include "check_ctx.h"
#include "steps.h"
#include "version_order.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small helpers -------------------------------------------------------- */

const char *scalar_name(enum scalar s)
{
	static const char *const names[] = {
		[SC_NONE] = "none", [SC_I8] = "i8", [SC_I16] = "i16", [SC_I32] = "i32", [SC_I64] = "i64",
		[SC_U8] = "u8", [SC_U16] = "u16", [SC_U32] = "u32", [SC_U64] = "u64", [SC_PTR] = "ptr",
	};
	return names[s];
}

unsigned scalar_size(enum scalar s)
{
	switch (s) {
	case SC_I8: case SC_U8: return 1;
	case SC_I16: case SC_U16: return 2;
	case SC_I32: case SC_U32: return 4;
	case SC_I64: case SC_U64: case SC_PTR: return 8;
	case SC_NONE: break;
	}
	return 0;
}

bool scalar_signed(enum scalar s)
{
	return s == SC_I8 || s == SC_I16 || s == SC_I32 || s == SC_I64;
}

/* The type as a spec writes it: "i32", "ptr bio_st", "ptr u64", "u8[32]". */
const char *type_spelling(struct arena *arena, const struct ast_type *t)
{
	if (!t)
		return "none";
	if (t->array_len)
		return arena_printf(arena, "%s[%u]", scalar_name(t->kind), t->array_len);
	if (t->kind != SC_PTR)
		return scalar_name(t->kind);
	if (t->struct_name)
		return arena_printf(arena, "ptr %s", t->struct_name);
	if (t->pointee)
		return arena_printf(arena, "ptr %s", type_spelling(arena, t->pointee));
	return "ptr";
}

const char *type_text(struct check_ctx *ctx, const struct ast_type *t)
{
	return type_spelling(ctx->arena, t);
}

const char *value_text(struct check_ctx *ctx, const struct value_type *v)
{
	switch (v->kind) {
	case VK_INT: return scalar_name(v->scalar);
	case VK_PTR: return v->ptr ? type_text(ctx, v->ptr) : "ptr";
	case VK_TUPLE: return "a tuple";
	case VK_SLICE: return "a bytes slice";
	case VK_CSTR: return "a string";
	case VK_MEMBER: return "an enum member";
	case VK_ARRAY: return arena_printf(ctx->arena, "u8[%u]", v->array_len);
	case VK_ERROR: break;
	}
	return "an invalid value";
}

bool is_numeric(const struct value_type *v)
{
	return v->kind == VK_INT || v->kind == VK_PTR;
}

bool is_c_keyword(const char *name)
{
	static const char *const words[] = {
		"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
		"enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
		"restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
		"union", "unsigned", "void", "volatile", "while", "_Bool", "asm", "typeof", NULL,
	};
	for (int i = 0; words[i]; i++)
		if (strcmp(words[i], name) == 0)
			return true;
	return false;
}

/* " (did you mean 'x'?)" or "". */
const char *did_you_mean(struct check_ctx *ctx, const struct suggest *s)
{
	return s->best ? arena_printf(ctx->arena, " (did you mean '%s'?)", s->best) : "";
}

/* ---- modules -------------------------------------------------------------- */

static void check_module(struct check_ctx *ctx, struct ast_module *mod)
{
	ctx->mod = mod;
	if (!mod->help)
		ERROR(ctx, mod->loc, "module '%s' has no help: add 'help \"what it traces\";'", mod->name);
	check_flags(ctx);
	check_targets(ctx);
	check_structs(ctx);
	check_accessors_through(ctx);
	gather_hooksets(ctx);
	check_layouts(ctx);
	check_events(ctx);
	check_globals_and_vars(ctx);
	check_filters(ctx);
	steps_check_declarations(ctx->diag, ctx->mod);
	check_hooks(ctx);
	steps_check_unused(ctx->diag, ctx->mod);
}

int check_modules(struct arena *arena, struct diag *diag, struct ast_module *modules)
{
	struct check_ctx ctx = { .arena = arena, .diag = diag };
	int before = diag->errors;

	for (struct ast_module *mod = modules; mod; mod = mod->next) {
		for (struct ast_module *m = modules; m != mod; m = m->next) {
			if (strcmp(m->name, mod->name) == 0)
				diag_error(diag, mod->loc, "duplicate module '%s' (also in %s:%d)", mod->name, m->src->path,
					   m->loc.line);
			if (m->alias && strcmp(m->alias, mod->name) == 0)
				diag_error(diag, mod->loc, "module '%s' has the name module '%s' takes as its alias (%s:%d)",
					   mod->name, m->name, m->src->path, m->alias_loc.line);
			if (mod->alias && (strcmp(mod->alias, m->name) == 0 || (m->alias && strcmp(mod->alias, m->alias) == 0)))
				diag_error(diag, mod->alias_loc, "alias '%s' is taken by module '%s' (%s:%d)", mod->alias,
					   m->name, m->src->path, m->loc.line);
		}
		if (mod->alias && strcmp(mod->alias, mod->name) == 0)
			diag_error(diag, mod->alias_loc, "alias '%s' is the module's own name", mod->alias);
		else if (mod->alias && (!mod->alias[0] ||
					strspn(mod->alias, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(mod->alias)))
			diag_error(diag, mod->alias_loc, "alias '%s' must be a command name: lower-case letters, "
				   "digits, '_' and '-'", mod->alias);
		check_module(&ctx, mod);
	}
	free(ctx.lets);
	free(ctx.not_given);
	return diag->errors - before;
}
