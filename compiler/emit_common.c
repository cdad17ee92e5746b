/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emit.h"

struct buf *gen_output_file(struct gen_output *out, const char *name)
{
	struct gen_file *f = ARENA_NEW(out->arena, struct gen_file);
	struct gen_file **tail = &out->files;

	f->name = arena_strdup(out->arena, name);
	while (*tail)
		tail = &(*tail)->next;
	*tail = f;
	return &f->text;
}

void gen_output_free(struct gen_output *out)
{
	for (struct gen_file *f = out->files; f; f = f->next)
		buf_free(&f->text);
	out->files = NULL;
}

const char *upper_name(struct arena *arena, const char *name)
{
	char *s = arena_strdup(arena, name);

	for (char *p = s; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	return s;
}

const char *c_scalar_type(enum scalar s)
{
	switch (s) {
	case SC_I8: return "__s8";
	case SC_I16: return "__s16";
	case SC_I32: return "__s32";
	case SC_I64: return "__s64";
	case SC_U8: return "__u8";
	case SC_U16: return "__u16";
	case SC_U32: return "__u32";
	case SC_U64: case SC_PTR: return "__u64";
	case SC_NONE: break;
	}
	return "__s64";
}

void put_c_string(struct buf *b, const char *s)
{
	if (!s) {
		buf_puts(b, "NULL");
		return;
	}
	buf_puts(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' || c == '"')
			buf_printf(b, "\\%c", c);
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "\\%03o", c);  /* octal: hex escapes would swallow following digits */
		else
			buf_printf(b, "%c", c);
	}
	buf_puts(b, "\"");
}

static const char *op_text(enum op op)
{
	static const char *const text[] = {
		[OP_NOT] = "!", [OP_NEG] = "-", [OP_DEREF] = "*", [OP_COALESCE] = "??", [OP_OR] = "||",
		[OP_AND] = "&&", [OP_EQ] = "==", [OP_NE] = "!=", [OP_LT] = "<", [OP_LE] = "<=", [OP_GT] = ">",
		[OP_GE] = ">=", [OP_BITOR] = "|", [OP_BITAND] = "&", [OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*",
	};
	return text[op];
}

/* A cast's type as written: "ptr S", "ptr u64", "ptr" (check.c allows no other). */
static const char *cast_text(const struct ast_type *t)
{
	static char text[160];

	if (t->struct_name)
		snprintf(text, sizeof(text), "ptr %s", t->struct_name);
	else if (t->pointee)
		snprintf(text, sizeof(text), "ptr %s", scalar_name(t->pointee->kind));
	else
		snprintf(text, sizeof(text), "ptr");
	return text;
}

static void put_expr(struct buf *b, const struct ast_expr *e, bool nested)
{
	switch (e->kind) {
	case EX_INT:
		if (e->int_unsigned)
			buf_printf(b, "%llu", (unsigned long long)e->int_value);
		else
			buf_printf(b, "%lld", e->int_value);
		break;
	case EX_IDENT:
		buf_puts(b, e->name);
		break;
	case EX_CALL:
		buf_printf(b, "%s(", e->name);
		for (const struct ast_expr *a = e->a; a; a = a->next) {
			put_expr(b, a, false);
			if (a->next)
				buf_puts(b, ", ");
		}
		buf_puts(b, ")");
		break;
	case EX_UNARY:
		buf_puts(b, op_text(e->op));
		put_expr(b, e->a, true);
		break;
	case EX_BINARY:
		if (nested)
			buf_puts(b, "(");
		put_expr(b, e->a, true);
		buf_printf(b, " %s ", op_text(e->op));
		put_expr(b, e->b, true);
		if (nested)
			buf_puts(b, ")");
		break;
	case EX_ARROW:
		put_expr(b, e->a, true);
		buf_printf(b, "->%s", e->name);
		break;
	case EX_ABSENT:
		buf_puts(b, "absent");
		break;
	case EX_COND:
		if (nested)
			buf_puts(b, "(");
		put_expr(b, e->a, true);
		buf_puts(b, " ? ");
		put_expr(b, e->b, true);
		buf_puts(b, " : ");
		put_expr(b, e->c, true);
		if (nested)
			buf_puts(b, ")");
		break;
	case EX_CAST:
		if (nested)
			buf_puts(b, "(");
		buf_printf(b, "(%s) ", cast_text(e->cast));
		put_expr(b, e->a, true);
		if (nested)
			buf_puts(b, ")");
		break;
	case EX_INDEX:
		put_expr(b, e->a, true);
		buf_puts(b, "[");
		put_expr(b, e->b, false);
		buf_puts(b, "]");
		break;
	}
}

/* The expression as the spec would write it: for comments and for telling equal reads apart. */
const char *expr_text(struct arena *arena, const struct ast_expr *e)
{
	struct buf b = { 0 };
	const char *s;

	put_expr(&b, e, false);
	s = arena_strdup(arena, buf_str(&b));
	buf_free(&b);
	return s;
}

const char *event_struct_name(struct arena *arena, const struct ast_module *mod, const struct ast_event *ev)
{
	return arena_printf(arena, "struct ps_%s_%s", mod->name, ev->name);
}

const char *member_const(struct arena *arena, const struct ast_module *mod, const struct ast_event *ev,
			 const struct ast_field *f, int member)
{
	const struct ast_name *m = f->members;

	for (int i = 0; i < member; i++)
		m = m->next;
	return arena_printf(arena, "PS_%s_%s_%s_%s", upper_name(arena, mod->name), upper_name(arena, ev->name),
			    upper_name(arena, f->name), upper_name(arena, m->name));
}

const char *present_const(struct arena *arena, const struct ast_module *mod, const struct ast_event *ev,
			  const struct ast_field *f)
{
	return arena_printf(arena, "PS_%s_%s_PRESENT_%s", upper_name(arena, mod->name), upper_name(arena, ev->name),
			    upper_name(arena, f->name));
}
