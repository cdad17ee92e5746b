/* SPDX-License-Identifier: MIT */
/*
 * Pass 2a, shared steps: `steps NAME(a, b) { ... }` and `do NAME(x, y);`.
 * Each `do` in a hook is replaced by a copy of the steps' statements, with
 * every parameter replaced by its argument, before the hook is checked; the
 * copies remember the `do` they came from (done_by, expanded_by) so that the
 * checker points at both places and refuses a steps' read of a hook name it
 * was not given (check.c, steps_read_given).
 */
#include "steps.h"

#include <string.h>

struct steps_ctx {
	struct arena *arena;
	struct diag *diag;
	struct ast_module *mod;
};

#define ERROR(ctx, loc, ...) diag_error((ctx)->diag, (loc), __VA_ARGS__)

/* One expansion: the `do`, and the arguments its steps' parameters stand for. */
struct expansion {
	const struct ast_stmt *use;
	const struct ast_name *params;
	const struct ast_expr *args;
};

static struct ast_expr *clone_expr(struct steps_ctx *ctx, const struct ast_expr *e, const struct expansion *x);

/* The argument a parameter named `name` stands for, or NULL. */
static const struct ast_expr *argument_for(const struct expansion *x, const char *name)
{
	const struct ast_expr *arg = x ? x->args : NULL;

	for (const struct ast_name *p = x ? x->params : NULL; p && arg; p = p->next, arg = arg->next)
		if (strcmp(p->name, name) == 0)
			return arg;
	return NULL;
}

/* A copy of one argument, alone: its own `next` is the next argument, not part of it. */
static struct ast_expr *clone_argument(struct steps_ctx *ctx, const struct ast_expr *arg)
{
	struct ast_expr one = *arg;

	one.next = NULL;
	return clone_expr(ctx, &one, NULL);
}

/* x: the expansion the copy is made for (its parameters replaced); NULL: a plain copy. */
static struct ast_expr *clone_expr(struct steps_ctx *ctx, const struct ast_expr *e, const struct expansion *x)
{
	const struct ast_expr *arg;
	struct ast_expr *c;

	if (!e)
		return NULL;
	arg = e->kind == EX_IDENT ? argument_for(x, e->name) : NULL;
	if (arg) {
		c = clone_argument(ctx, arg);
		c->next = clone_expr(ctx, e->next, x);
		return c;
	}
	c = ARENA_NEW(ctx->arena, struct ast_expr);
	*c = *e;
	if (x)
		c->done_by = x->use;
	c->a = clone_expr(ctx, e->a, x);
	c->b = clone_expr(ctx, e->b, x);
	c->c = clone_expr(ctx, e->c, x);
	c->next = clone_expr(ctx, e->next, x);
	return c;
}

static struct ast_assign *clone_assigns(struct steps_ctx *ctx, const struct ast_assign *a, const struct expansion *x)
{
	struct ast_assign *c;

	if (!a)
		return NULL;
	c = ARENA_NEW(ctx->arena, struct ast_assign);
	*c = *a;
	c->value = clone_expr(ctx, a->value, x);
	c->next = clone_assigns(ctx, a->next, x);
	return c;
}

/* The definitions are never checked themselves: each copy is, where it stands. */
static struct ast_stmt *clone_stmts(struct steps_ctx *ctx, const struct ast_stmt *st, const struct expansion *x)
{
	struct ast_stmt *c;

	if (!st)
		return NULL;
	c = ARENA_NEW(ctx->arena, struct ast_stmt);
	*c = *st;
	if (x)
		c->expanded_by = x->use;
	c->value = clone_expr(ctx, st->value, x);
	c->body = clone_stmts(ctx, st->body, x);
	c->assigns = clone_assigns(ctx, st->assigns, x);
	c->next = clone_stmts(ctx, st->next, x);
	return c;
}

static struct ast_steps *find_steps(struct steps_ctx *ctx, const struct ast_stmt *use)
{
	struct suggest s;

	for (struct ast_steps *steps = ctx->mod->steps; steps; steps = steps->next)
		if (strcmp(steps->name, use->name) == 0)
			return steps;
	suggest_init(&s, use->name);
	for (struct ast_steps *steps = ctx->mod->steps; steps; steps = steps->next)
		suggest_offer(&s, steps->name);
	ERROR(ctx, use->name_loc, "unknown steps '%s'%s%s%s", use->name, s.best ? " (did you mean '" : "",
	      s.best ? s.best : "", s.best ? "'?)" : "");
	return NULL;
}

static int count_names(const struct ast_name *n)
{
	int count = 0;

	for (; n; n = n->next)
		count++;
	return count;
}

static int count_exprs(const struct ast_expr *e)
{
	int count = 0;

	for (; e; e = e->next)
		count++;
	return count;
}

/* "(ssl, conn)" */
static const char *param_list(struct steps_ctx *ctx, const struct ast_name *n)
{
	const char *text = "(";

	for (; n; n = n->next)
		text = arena_printf(ctx->arena, "%s%s%s", text, n->name, n->next ? ", " : "");
	return arena_printf(ctx->arena, "%s)", text);
}

static bool arguments_fit(struct steps_ctx *ctx, const struct ast_steps *steps, const struct ast_stmt *use)
{
	int want = count_names(steps->params), given = count_exprs(use->value);

	if (want == given)
		return true;
	ERROR(ctx, use->name_loc, "steps '%s' take %d argument%s %s, given %d", steps->name, want,
	      want == 1 ? "" : "s", param_list(ctx, steps->params), given);
	return false;
}

/* Replaces each `do NAME(...);` in *list (and in its ifs) by a copy of NAME's statements. */
static void expand_steps(struct steps_ctx *ctx, struct ast_stmt **list)
{
	while (*list) {
		struct ast_stmt *st = *list, *copy = NULL, *last;
		struct ast_steps *steps;

		if (st->kind == ST_IF)
			expand_steps(ctx, &st->body);
		if (st->kind != ST_DO) {
			list = &st->next;
			continue;
		}
		steps = find_steps(ctx, st);
		if (steps && steps->expanding) {
			ERROR(ctx, st->name_loc, "steps '%s' use themselves", steps->name);
		} else if (steps && arguments_fit(ctx, steps, st)) {
			struct expansion x = { .use = st, .params = steps->params, .args = st->value };

			steps->used = true;
			steps->expanding = true;
			copy = clone_stmts(ctx, steps->stmts, &x);
			for (struct ast_stmt *c = copy; c; c = c->next)
				c->done_by = st;
			expand_steps(ctx, &copy);
			steps->expanding = false;
		} else if (steps) {
			steps->used = true;
		}
		/* the copy (or nothing, after an error) takes the `do`'s place */
		if (!copy) {
			*list = st->next;
			continue;
		}
		for (last = copy; last->next; last = last->next)
			;
		last->next = st->next;
		*list = copy;
		list = &last->next;
	}
}

static void check_steps_params(struct steps_ctx *ctx, const struct ast_steps *steps)
{
	for (const struct ast_name *p = steps->params; p; p = p->next)
		for (const struct ast_name *q = steps->params; q != p; q = q->next)
			if (strcmp(p->name, q->name) == 0) {
				ERROR(ctx, p->loc, "duplicate parameter '%s' of steps '%s'", p->name, steps->name);
				break;
			}
}

static void check_duplicate_steps(struct steps_ctx *ctx)
{
	for (struct ast_steps *steps = ctx->mod->steps; steps; steps = steps->next) {
		check_steps_params(ctx, steps);
		for (struct ast_steps *s = ctx->mod->steps; s != steps; s = s->next)
			if (strcmp(s->name, steps->name) == 0) {
				ERROR(ctx, steps->loc, "duplicate steps '%s' (also at line %d)", steps->name, s->loc.line);
				break;
			}
	}
}

/* Steps no hook does are never checked: say so rather than let their mistakes hide. */
static void check_unused_steps(struct steps_ctx *ctx)
{
	for (struct ast_steps *steps = ctx->mod->steps; steps; steps = steps->next)
		if (!steps->used)
			diag_warning(ctx->diag, steps->loc, "steps '%s' are never done (no hook has 'do %s;'): not checked",
				     steps->name, steps->name);
}

void steps_expand_hook(struct arena *arena, struct diag *diag, struct ast_module *mod, struct ast_hook *hook)
{
	struct steps_ctx ctx = { .arena = arena, .diag = diag, .mod = mod };

	if (hook->entry)
		expand_steps(&ctx, &hook->entry->stmts);
	if (hook->ret)
		expand_steps(&ctx, &hook->ret->stmts);
}

void steps_check_declarations(struct diag *diag, struct ast_module *mod)
{
	struct steps_ctx ctx = { .diag = diag, .mod = mod };

	check_duplicate_steps(&ctx);
}

void steps_check_unused(struct diag *diag, struct ast_module *mod)
{
	struct steps_ctx ctx = { .diag = diag, .mod = mod };

	check_unused_steps(&ctx);
}
