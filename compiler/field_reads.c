/* SPDX-License-Identifier: MIT */
/*
 * Which offsets an event field's value depends on, in every hook that emits
 * it (through the lets it names): the runtime leaves the field out where one
 * of them cannot be trusted. A planning question on the checked tree, asked
 * by the tables' emitter (emit_tables.c, `.reads`).
 */
#include "field_reads.h"

#include <stddef.h>

/* Marks in reads[] every offset an expression reads, through the lets it names. */
static void expr_reads(const struct ast_expr *e, bool *reads, int depth)
{
	if (!e || depth > 64)
		return;
	if (e->kind == EX_ARROW && e->field)
		reads[e->field->offset_id] = true;
	if (e->kind == EX_IDENT && e->ref == REF_LET && e->let)
		expr_reads(e->let->value, reads, depth + 1);
	expr_reads(e->a, reads, depth + 1);
	expr_reads(e->b, reads, depth + 1);
	expr_reads(e->c, reads, depth + 1);
	if (e->kind == EX_CALL)
		for (const struct ast_expr *arg = e->a ? e->a->next : NULL; arg; arg = arg->next)
			expr_reads(arg, reads, depth + 1);
}

static void stmts_reads(const struct ast_stmt *st, const struct ast_field *f, bool *reads)
{
	for (; st; st = st->next) {
		if (st->kind == ST_IF)
			stmts_reads(st->body, f, reads);
		if (st->kind != ST_EMIT)
			continue;
		for (const struct ast_assign *as = st->assigns; as; as = as->next)
			if (as->field == f)
				expr_reads(as->value, reads, 0);
	}
}

void field_reads(const struct ast_module *mod, const struct ast_field *f, bool *reads)
{
	for (const struct ast_hookset *set = mod->hooksets; set; set = set->next)
		for (const struct ast_hook *h = set->hooks; h; h = h->next) {
			if (h->entry)
				stmts_reads(h->entry->stmts, f, reads);
			if (h->ret)
				stmts_reads(h->ret->stmts, f, reads);
		}
}
