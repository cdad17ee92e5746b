/* SPDX-License-Identifier: MIT */
/*
 * Pass 2c, expressions and statements: names resolved, types worked out,
 * absent values tracked, `emit` checked against its event. Run by check.c
 * on each hook's blocks after the steps pass (steps.c) copied them in.
 */
#include "check_ctx.h"

#include <stdlib.h>
#include <string.h>

static struct value_type check_expr(struct check_ctx *ctx, struct ast_expr *e);

/* ---- expressions ---------------------------------------------------------- */

static struct value_type value_error(void)
{
	return (struct value_type){ .kind = VK_ERROR };
}

static struct value_type value_of_type(const struct ast_type *t)
{
	if (t->array_len)
		return (struct value_type){ .kind = VK_ARRAY, .array_len = t->array_len };
	if (t->kind == SC_PTR)
		return (struct value_type){ .kind = VK_PTR, .scalar = SC_PTR, .ptr = t };
	return (struct value_type){ .kind = VK_INT, .scalar = t->kind };
}

static struct ast_param *find_param(struct ast_hook *hook, const char *name)
{
	for (struct ast_param *p = hook->params; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static struct ast_stmt *find_let(struct check_ctx *ctx, const char *name)
{
	for (int i = ctx->n_lets - 1; i >= 0; i--)
		if (strcmp(ctx->lets[i]->name, name) == 0)
			return ctx->lets[i];
	return NULL;
}

static bool let_is_from_entry(struct check_ctx *ctx, const struct ast_stmt *let)
{
	if (!ctx->hook->entry || ctx->block == ctx->hook->entry)
		return false;
	for (struct ast_stmt *s = ctx->hook->entry->stmts; s; s = s->next)
		if (s == let)
			return true;
	return false;
}

static bool at_return(struct check_ctx *ctx)
{
	return ctx->block && ctx->block->at_return;
}


static const char *target_name(struct ast_module *mod, int index)
{
	struct ast_target *t = mod->targets;

	for (int i = 0; t && i < index; i++)
		t = t->next;
	return t ? t->name : "?";
}

/* Whether a statement was copied in by `use`, directly or through steps `use`'s steps do. */
static bool expanded_by(const struct ast_stmt *st, const struct ast_stmt *use)
{
	for (const struct ast_stmt *s = st->expanded_by; s; s = s->expanded_by)
		if (s == use)
			return true;
	return false;
}

/* Steps read only what they are given: a parameter or let of the hook, not passed, is a mistake. */
static bool steps_read_given(struct check_ctx *ctx, const struct ast_expr *e, const struct ast_stmt *let)
{
	const char *key;

	if (!e->done_by || (let && expanded_by(let, e->done_by)))
		return true;
	/* once per steps and name, not once per hook that does them */
	key = arena_printf(ctx->arena, "%s.%s", e->done_by->name, e->name);
	for (int i = 0; i < ctx->n_not_given; i++)
		if (strcmp(ctx->not_given[i], key) == 0)
			return false;
	ctx->not_given = xrealloc(ctx->not_given, (size_t)(ctx->n_not_given + 1) * sizeof(*ctx->not_given));
	ctx->not_given[ctx->n_not_given++] = key;
	ERROR(ctx, e->loc, "steps '%s' read '%s', which they are not given (add it to their parameters and pass it)",
	      e->done_by->name, e->name);
	return false;
}

static struct value_type check_ident(struct check_ctx *ctx, struct ast_expr *e)
{
	struct ast_hook *hook = ctx->hook;
	struct ast_param *param = find_param(hook, e->name);
	struct ast_stmt *let;
	struct suggest s;

	if (param) {
		e->ref = REF_PARAM;
		e->param = param;
		if (!steps_read_given(ctx, e, NULL))
			return value_error();
		if (at_return(ctx))
			param->saved = true;
		else
			param->used_at_entry = true;
		return value_of_type(param->type);
	}
	let = find_let(ctx, e->name);
	if (let) {
		struct value_type t = let->let_type;

		e->ref = REF_LET;
		e->let = let;
		if (!steps_read_given(ctx, e, let))
			return value_error();
		if (let_is_from_entry(ctx, let)) {
			let->saved = true;
			/* an entry block guarded by `when` may not have run */
			let->saved_optional = t.optional || ctx->hook->entry->when;
			t.optional = let->saved_optional;
		}
		return t;
	}
	if (strcmp(e->name, "ret") == 0) {
		e->ref = REF_RET;
		if (!at_return(ctx)) {
			ERROR(ctx, e->loc, "'ret' is only known in 'on return'");
			return value_error();
		}
		if (!hook->ret_type) {
			ERROR(ctx, e->loc, "'ret' needs the hook's return type: declare it with '-> TYPE' after the parameters");
			return value_error();
		}
		return value_of_type(hook->ret_type);
	}
	if (strcmp(e->name, "socket_fd") == 0) {
		e->ref = REF_SOCKET_FD;
		if (!hook->track) {
			ERROR(ctx, e->loc, "'socket_fd' needs 'track socket by KEY;' in this hook");
			return value_error();
		}
		if (!at_return(ctx)) {
			ERROR(ctx, e->loc, "'socket_fd' is only known in 'on return'");
			return value_error();
		}
		return (struct value_type){ .kind = VK_INT, .scalar = SC_I32, .optional = true };
	}
	for (struct ast_global *g = ctx->mod->globals; g; g = g->next) {
		struct value_type t;

		if (strcmp(g->name, e->name) != 0)
			continue;
		e->ref = REF_GLOBAL;
		e->global = g;
		if (!ctx->block || at_return(ctx)) {
			ERROR(ctx, e->loc,
			      "global '%s' can be read in 'on entry' only (its address comes from the entry's instruction pointer)",
			      g->name);
			return value_error();
		}
		if (g->target != hook->target) {
			ERROR(ctx, e->loc, "global '%s' is in target '%s', but hook '%s' is not: read it from a hook in '%s'",
			      g->name, target_name(ctx->mod, g->target), hook->symbol, target_name(ctx->mod, g->target));
			return value_error();
		}
		hook->reads_globals = true;
		t = value_of_type(g->type);
		t.optional = true;
		return t;
	}
	for (struct ast_var *v = ctx->mod->vars; v; v = v->next) {
		if (strcmp(v->name, e->name) != 0)
			continue;
		e->ref = REF_VAR;
		e->var = v;
		return (struct value_type){ .kind = VK_INT, .scalar = v->type, .optional = true };
	}
	e->konst = find_const(ctx->mod, e->name);
	if (e->konst) {
		/* absent where no layout applies */
		e->ref = REF_CONST;
		return (struct value_type){ .kind = VK_INT, .scalar = SC_I32, .optional = true };
	}
	suggest_init(&s, e->name);
	for (struct ast_param *p = hook->params; p; p = p->next)
		suggest_offer(&s, p->name);
	for (struct ast_global *g = ctx->mod->globals; g; g = g->next)
		suggest_offer(&s, g->name);
	for (struct ast_var *v = ctx->mod->vars; v; v = v->next)
		suggest_offer(&s, v->name);
	for (struct ast_const *c = ctx->mod->consts; c; c = c->next)
		suggest_offer(&s, c->name);
	for (int i = 0; i < ctx->n_lets; i++)
		suggest_offer(&s, ctx->lets[i]->name);
	if (at_return(ctx) && hook->ret_type)
		suggest_offer(&s, "ret");
	if (at_return(ctx) && hook->track)
		suggest_offer(&s, "socket_fd");
	ERROR(ctx, e->loc, "unknown identifier '%s'%s", e->name, did_you_mean(ctx, &s));
	return value_error();
}

/* A value a built-in or an emitter needs whole: numeric, never absent. */
bool require_present_number(struct check_ctx *ctx, struct ast_expr *e, const char *what)
{
	struct value_type t = check_expr(ctx, e);

	if (t.kind == VK_ERROR)
		return false;
	if (!is_numeric(&t)) {
		ERROR(ctx, e->loc, "%s must be an integer or pointer, not %s", what, value_text(ctx, &t));
		return false;
	}
	if (t.optional) {
		ERROR(ctx, e->loc, ABSENT_HINT);
		return false;
	}
	return true;
}

static struct value_type check_call(struct check_ctx *ctx, struct ast_expr *e)
{
	int n = 0;
	bool tuple = strcmp(e->name, "tuple") == 0, cstr = strcmp(e->name, "cstr") == 0;

	for (struct ast_expr *a = e->a; a; a = a->next)
		n++;
	if (!tuple && !cstr) {
		ERROR(ctx, e->name_loc, "unknown function '%s' (the built-ins are tuple(fd) and cstr(ptr))", e->name);
		for (struct ast_expr *a = e->a; a; a = a->next)
			check_expr(ctx, a);
		return value_error();
	}
	if (n != 1) {
		ERROR(ctx, e->loc, "%s() takes one argument, not %d", e->name, n);
		return value_error();
	}
	if (tuple)
		return require_present_number(ctx, e->a, "the argument of tuple()")
			       ? (struct value_type){ .kind = VK_TUPLE }
			       : value_error();
	return require_present_number(ctx, e->a, "the argument of cstr()") ? (struct value_type){ .kind = VK_CSTR }
									    : value_error();
}

static struct value_type check_deref(struct check_ctx *ctx, struct ast_expr *e, struct value_type p)
{
	if (p.kind != VK_PTR || !p.ptr || !p.ptr->pointee) {
		ERROR(ctx, e->loc, "'*' reads through a pointer to an integer ('ptr u64', ...), not %s",
		      value_text(ctx, &p));
		return value_error();
	}
	p = value_of_type(p.ptr->pointee);
	p.optional = true;
	return p;
}

static struct value_type check_unary(struct check_ctx *ctx, struct ast_expr *e)
{
	struct value_type a = check_expr(ctx, e->a);

	if (a.kind == VK_ERROR)
		return a;
	if (e->op == OP_DEREF)
		return check_deref(ctx, e, a);
	if (!is_numeric(&a)) {
		ERROR(ctx, e->a->loc, "'%s' needs an integer, not %s", e->op == OP_NOT ? "!" : "-", value_text(ctx, &a));
		return value_error();
	}
	return (struct value_type){ .kind = VK_INT, .scalar = SC_I64, .optional = a.optional };
}

static bool is_comparison(enum op op)
{
	return op == OP_EQ || op == OP_NE || op == OP_LT || op == OP_LE || op == OP_GT || op == OP_GE ||
	       op == OP_AND || op == OP_OR;
}

static struct value_type check_binary(struct check_ctx *ctx, struct ast_expr *e)
{
	struct value_type a = check_expr(ctx, e->a), b = check_expr(ctx, e->b), r = { .kind = VK_INT };

	if (a.kind == VK_ERROR || b.kind == VK_ERROR)
		return value_error();
	if (e->op == OP_COALESCE && (a.kind == VK_ARRAY || b.kind == VK_ARRAY)) {
		/* the first read that works fills the field */
		if (a.kind != VK_ARRAY || b.kind != VK_ARRAY || a.array_len != b.array_len) {
			ERROR(ctx, e->loc, "'?\?' on arrays needs two arrays of one length, not %s and %s",
			      value_text(ctx, &a), value_text(ctx, &b));
			return value_error();
		}
		r = a;
		r.optional = b.optional;
		return r;
	}
	if (!is_numeric(&a) || !is_numeric(&b)) {
		struct ast_expr *bad = is_numeric(&a) ? e->b : e->a;

		ERROR(ctx, bad->loc, "expected an integer, found %s", value_text(ctx, is_numeric(&a) ? &b : &a));
		return value_error();
	}
	if (e->op == OP_COALESCE) {
		/* `x ?? 0` keeps x's type: the default only fills a hole */
		r = a;
		if (e->b->kind != EX_INT && (b.kind != a.kind || b.scalar != a.scalar)) {
			bool u = a.scalar == SC_U64 || a.scalar == SC_PTR || b.scalar == SC_U64 || b.scalar == SC_PTR;

			r = (struct value_type){ .kind = VK_INT, .scalar = u ? SC_U64 : SC_I64 };
		}
		r.optional = b.optional;
		return r;
	}
	if (is_comparison(e->op))
		r.scalar = SC_I64;
	else if (a.scalar == SC_U64 || a.scalar == SC_PTR || b.scalar == SC_U64 || b.scalar == SC_PTR)
		r.scalar = SC_U64;
	else
		r.scalar = SC_I64;
	r.optional = a.optional || b.optional;
	return r;
}

static struct value_type check_arrow(struct check_ctx *ctx, struct ast_expr *e)
{
	struct value_type p = check_expr(ctx, e->a);
	struct ast_struct *s;
	struct suggest sg;

	if (p.kind == VK_ERROR)
		return p;
	if (p.kind == VK_PTR && p.ptr && p.ptr->struct_name && !p.ptr->strct)
		return value_error();   /* its unknown struct type has been reported */
	if (p.kind != VK_PTR || !p.ptr || !p.ptr->strct) {
		ERROR(ctx, e->loc, "'->' needs a pointer to a struct, but this is %s", value_text(ctx, &p));
		return value_error();
	}
	s = p.ptr->strct;
	e->field = find_struct_field(s, e->name);
	if (!e->field) {
		suggest_init(&sg, e->name);
		for (struct ast_struct_field *f = s->fields; f; f = f->next)
			suggest_offer(&sg, f->name);
		ERROR(ctx, e->name_loc, "struct '%s' has no field '%s'%s", s->name, e->name, did_you_mean(ctx, &sg));
		return value_error();
	}
	p = value_of_type(e->field->type);
	p.optional = true;
	return p;
}

static struct value_type check_index(struct check_ctx *ctx, struct ast_expr *e)
{
	struct value_type p = check_expr(ctx, e->a), n = check_expr(ctx, e->b);

	if (p.kind == VK_ERROR || n.kind == VK_ERROR)
		return value_error();
	if (p.kind != VK_PTR) {
		ERROR(ctx, e->a->loc, "'[...]' takes bytes at a pointer, not at %s", value_text(ctx, &p));
		return value_error();
	}
	if (!is_numeric(&n)) {
		ERROR(ctx, e->b->loc, "a length must be an integer, not %s", value_text(ctx, &n));
		return value_error();
	}
	/* a constant length may also fill a `u8[N]` field: N bytes read straight into the event */
	return (struct value_type){ .kind = VK_SLICE, .optional = p.optional || n.optional,
				    .array_len = e->b->kind == EX_INT && e->b->int_value >= 1 &&
						 e->b->int_value <= MAX_ARRAY_LEN ? (unsigned)e->b->int_value : 0 };
}

/* c ? a : b: a where c holds, else b; an absent c counts as false, like in `when`. */
static struct value_type check_cond(struct check_ctx *ctx, struct ast_expr *e)
{
	struct value_type c = check_expr(ctx, e->a), a = check_expr(ctx, e->b), b = check_expr(ctx, e->c);
	struct value_type r = { .kind = VK_INT, .scalar = SC_I64 };

	if (c.kind == VK_ERROR || a.kind == VK_ERROR || b.kind == VK_ERROR)
		return value_error();
	if (!is_numeric(&c)) {
		ERROR(ctx, e->a->loc, "a condition needs an integer, not %s", value_text(ctx, &c));
		return value_error();
	}
	if (!is_numeric(&a) || !is_numeric(&b)) {
		struct ast_expr *bad = is_numeric(&a) ? e->c : e->b;

		ERROR(ctx, bad->loc, "'?:' gives integers only, not %s", value_text(ctx, is_numeric(&a) ? &b : &a));
		return value_error();
	}
	if (e->b->kind == EX_ABSENT)
		r.scalar = b.scalar;
	else if (e->c->kind == EX_ABSENT || (a.scalar == b.scalar))
		r.scalar = a.scalar;
	else if (a.scalar == SC_U64 || a.scalar == SC_PTR || b.scalar == SC_U64 || b.scalar == SC_PTR)
		r.scalar = SC_U64;
	r.optional = a.optional || b.optional;
	return r;
}

/* `(ptr S) p`: the same address, read as another struct (OpenSSL 3.2's SSL * is an ssl_connection_st). */
static struct value_type check_cast(struct check_ctx *ctx, struct ast_expr *e)
{
	struct value_type a = check_expr(ctx, e->a), r;
	bool type_ok = e->cast->kind == SC_PTR && no_array(ctx, e->cast, "a cast") && resolve_type(ctx, e->cast);

	if (e->cast->kind != SC_PTR) {
		ERROR(ctx, e->cast->loc, "a cast gives a pointer, as in '(ptr S) p', not %s", type_text(ctx, e->cast));
		return value_error();
	}
	if (!type_ok || a.kind == VK_ERROR)
		return value_error();
	if (!is_numeric(&a)) {
		ERROR(ctx, e->a->loc, "a cast takes an integer or pointer, not %s", value_text(ctx, &a));
		return value_error();
	}
	r = value_of_type(e->cast);
	r.optional = a.optional;
	return r;
}

static struct value_type check_expr(struct check_ctx *ctx, struct ast_expr *e)
{
	struct value_type t = value_error();

	switch (e->kind) {
	case EX_INT:
		t = (struct value_type){ .kind = VK_INT, .scalar = e->int_unsigned ? SC_U64 : SC_I64 };
		break;
	case EX_IDENT: t = check_ident(ctx, e); break;
	case EX_CALL: t = check_call(ctx, e); break;
	case EX_UNARY: t = check_unary(ctx, e); break;
	case EX_BINARY: t = check_binary(ctx, e); break;
	case EX_ARROW: t = check_arrow(ctx, e); break;
	case EX_INDEX: t = check_index(ctx, e); break;
	case EX_COND: t = check_cond(ctx, e); break;
	case EX_CAST: t = check_cast(ctx, e); break;
	case EX_ABSENT:
		/* a value that is never there: only where absence is allowed */
		t = (struct value_type){ .kind = VK_INT, .scalar = SC_I64, .optional = true };
		break;
	}
	e->type = t;
	return t;
}

/* ---- emit statements ------------------------------------------------------ */

static const char *member_list(struct check_ctx *ctx, const struct ast_field *f)
{
	struct buf b = { 0 };
	const char *s;

	for (struct ast_name *m = f->members; m; m = m->next)
		buf_printf(&b, "%s%s", m->name, m->next ? ", " : "");
	s = arena_strdup(ctx->arena, buf_str(&b));
	buf_free(&b);
	return s;
}

static void check_enum_value(struct check_ctx *ctx, struct ast_event *ev, struct ast_field *f, struct ast_expr *e)
{
	struct suggest s;
	int i = 0;

	if (e->kind != EX_IDENT) {
		struct value_type t = check_expr(ctx, e);

		if (t.kind != VK_ERROR)
			ERROR(ctx, e->loc, "type mismatch: '%s' is an enum field but the value is %s (write one of: %s)",
			      f->name, value_text(ctx, &t), member_list(ctx, f));
		return;
	}
	for (struct ast_name *m = f->members; m; m = m->next, i++)
		if (strcmp(m->name, e->name) == 0) {
			e->ref = REF_MEMBER;
			e->member = i;
			e->type = (struct value_type){ .kind = VK_MEMBER };
			return;
		}
	suggest_init(&s, e->name);
	for (struct ast_name *m = f->members; m; m = m->next)
		suggest_offer(&s, m->name);
	ERROR(ctx, e->loc, "'%s' is no member of enum '%s.%s'%s (members: %s)", e->name, ev->name, f->name,
	      did_you_mean(ctx, &s), member_list(ctx, f));
}

/* `p[N]` with N a number: N bytes at p, which may fill a `u8[N]` field as a struct field's array does. */
static bool is_fixed_read(const struct ast_expr *e, unsigned array_len)
{
	return e->kind == EX_INDEX && e->b->kind == EX_INT && e->b->int_value == (long long)array_len;
}

static bool value_fits_field(const struct value_type *t, const struct ast_field *f, const struct ast_expr *e)
{
	if (f->kind == FK_ARRAY && t->kind == VK_SLICE && is_fixed_read(e, f->array_len))
		return true;
	switch (f->kind) {
	case FK_INT: return is_numeric(t);
	case FK_TUPLE: return t->kind == VK_TUPLE;
	case FK_BYTES: return t->kind == VK_SLICE;
	case FK_STRING: return t->kind == VK_CSTR;
	case FK_ARRAY: return (t->kind == VK_ARRAY || t->kind == VK_SLICE) && t->array_len == f->array_len;
	case FK_ENUM: break;
	}
	return false;
}

static const char *field_hint(const struct ast_field *f)
{
	switch (f->kind) {
	case FK_TUPLE: return " (write tuple(FD))";
	case FK_BYTES: return " (write PTR[LENGTH])";
	case FK_STRING: return " (write cstr(PTR))";
	case FK_ARRAY: return " (write P->FIELD, a struct field of that array type, or PTR[N])";
	default: return "";
	}
}

static void check_assign(struct check_ctx *ctx, struct ast_event *ev, struct ast_assign *a)
{
	struct ast_field *f = a->field;
	struct value_type t;

	if (f->kind == FK_ENUM) {
		check_enum_value(ctx, ev, f, a->value);
		return;
	}
	t = check_expr(ctx, a->value);
	if (t.kind == VK_ERROR)
		return;
	if (!value_fits_field(&t, f, a->value)) {
		ERROR(ctx, a->value->loc, "type mismatch: '%s' is %s %s field but the value is %s%s", f->name,
		      f->kind == FK_INT && scalar_signed(f->scalar) ? "an" : "a", field_type_text(f), value_text(ctx, &t),
		      field_hint(f));
		return;
	}
	if (f->kind == FK_ARRAY) {
		if ((t.optional || t.kind == VK_SLICE) && !f->optional)
			ERROR(ctx, a->value->loc, "reading '%s' from memory may fail: declare field '%s' 'optional'",
			      expr_text(ctx->arena, a->value), f->name);
		return;
	}
	/* bytes: a pointer and a length the emitter cannot do without */
	if (t.optional && (!f->optional || f->kind == FK_BYTES))
		ERROR(ctx, a->value->loc, ABSENT_HINT);
}

static void check_emit(struct check_ctx *ctx, struct ast_stmt *st)
{
	struct ast_event *ev = NULL;
	struct suggest s;

	for (struct ast_event *e = ctx->mod->events; e && !ev; e = e->next)
		if (strcmp(e->name, st->name) == 0)
			ev = e;
	st->event = ev;
	if (!ev) {
		suggest_init(&s, st->name);
		for (struct ast_event *e = ctx->mod->events; e; e = e->next)
			suggest_offer(&s, e->name);
		ERROR(ctx, st->name_loc, "unknown event '%s'%s", st->name, did_you_mean(ctx, &s));
		for (struct ast_assign *a = st->assigns; a; a = a->next)
			if (a->value->kind != EX_IDENT)
				check_expr(ctx, a->value);
		return;
	}
	for (struct ast_assign *a = st->assigns; a; a = a->next) {
		a->field = find_event_field(ev, a->name);
		if (!a->field) {
			suggest_init(&s, a->name);
			for (struct ast_field *f = ev->fields; f; f = f->next)
				suggest_offer(&s, f->name);
			ERROR(ctx, a->loc, "event '%s' has no field '%s'%s", ev->name, a->name, did_you_mean(ctx, &s));
			continue;
		}
		for (struct ast_assign *b = st->assigns; b != a; b = b->next)
			if (b->field == a->field) {
				ERROR(ctx, a->loc, "field '%s' set twice", a->name);
				break;
			}
		if (a->field->collect_event) {
			ERROR(ctx, a->loc, "field '%s' is filled by 'collect' in user space; an emit does not set it",
			      a->name);
			continue;
		}
		check_assign(ctx, ev, a);
	}
	for (struct ast_field *f = ev->fields; f; f = f->next) {
		bool set = false;

		for (struct ast_assign *a = st->assigns; a && !set; a = a->next)
			set = a->field == f;
		/* a duplicate field has been reported already */
		for (struct ast_field *g = ev->fields; g != f && !set; g = g->next)
			set = strcmp(g->name, f->name) == 0;
		if (!set && !f->optional && !f->collect_event)
			ERROR(ctx, st->name_loc, "emit of '%s' does not set field '%s' (it is not optional)", ev->name,
			      f->name);
	}
}

static void push_let(struct check_ctx *ctx, struct ast_stmt *let)
{
	if (ctx->n_lets == ctx->cap_lets) {
		ctx->cap_lets = ctx->cap_lets ? ctx->cap_lets * 2 : 8;
		ctx->lets = xrealloc(ctx->lets, (size_t)ctx->cap_lets * sizeof(*ctx->lets));
	}
	ctx->lets[ctx->n_lets++] = let;
}

static void check_let(struct check_ctx *ctx, struct ast_stmt *st)
{
	struct value_type t = check_expr(ctx, st->value);

	if (find_param(ctx->hook, st->name))
		ERROR(ctx, st->name_loc, "'let %s' has the name of a parameter", st->name);
	else if (find_let(ctx, st->name))
		ERROR(ctx, st->name_loc, "duplicate let '%s'", st->name);
	else if (strcmp(st->name, "ret") == 0 || strcmp(st->name, "socket_fd") == 0)
		ERROR(ctx, st->name_loc, "'%s' is built in; choose another name", st->name);
	if (t.kind != VK_ERROR && !is_numeric(&t)) {
		ERROR(ctx, st->value->loc, "'let' binds integers and pointers, not %s", value_text(ctx, &t));
		t = value_error();
	}
	st->let_type = t;
	push_let(ctx, st);
}

static struct ast_var *find_var(struct check_ctx *ctx, struct ast_stmt *st)
{
	struct suggest s;

	for (struct ast_var *v = ctx->mod->vars; v; v = v->next)
		if (strcmp(v->name, st->name) == 0)
			return v;
	suggest_init(&s, st->name);
	for (struct ast_var *v = ctx->mod->vars; v; v = v->next)
		suggest_offer(&s, v->name);
	ERROR(ctx, st->name_loc, "'%s' is no variable (declare it with 'var %s: i64 per thread;')%s",
	      st->name, st->name, did_you_mean(ctx, &s));
	return NULL;
}

static void check_set(struct check_ctx *ctx, struct ast_stmt *st)
{
	st->var = find_var(ctx, st);
	if (st->kind == ST_SET)
		require_present_number(ctx, st->value, "the value of 'set'");
}

static void check_condition(struct check_ctx *ctx, struct ast_expr *e, const char *what)
{
	struct value_type t = check_expr(ctx, e);

	if (t.kind != VK_ERROR && !is_numeric(&t))
		ERROR(ctx, e->loc, "'%s' needs an integer condition, not %s", what, value_text(ctx, &t));
}

static void check_stmts(struct check_ctx *ctx, struct ast_stmt *stmts)
{
	for (struct ast_stmt *st = stmts; st; st = st->next) {
		int errors = ctx->diag->errors;

		if (st->kind == ST_LET) {
			check_let(ctx, st);
		} else if (st->kind == ST_SET || st->kind == ST_CLEAR) {
			check_set(ctx, st);
		} else if (st->kind == ST_IF) {
			/* the lets of an `if` are its own: after it they may not have run */
			int lets = ctx->n_lets;

			check_condition(ctx, st->value, "if");
			check_stmts(ctx, st->body);
			ctx->n_lets = lets;
		} else {
			check_emit(ctx, st);
		}
		for (const struct ast_stmt *st_do = st->done_by; st_do && ctx->diag->errors > errors; st_do = st_do->done_by)
			diag_note(ctx->diag, st_do->name_loc, "in steps '%s', done here by hook '%s'", st_do->name,
				  ctx->hook->symbol);
	}
}

void check_block(struct check_ctx *ctx, struct ast_block *block)
{
	ctx->block = block;
	if (block->when)
		check_condition(ctx, block->when, "when");
	check_stmts(ctx, block->stmts);
}
