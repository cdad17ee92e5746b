/* SPDX-License-Identifier: MIT */
/*
 * M.H.bpf.c: one uprobe/uretprobe pair per hook of hook set H, calling only
 * what bpf-gen/plainsight.bpf.h provides.
 *
 * Expressions compile to C values. A value that can be absent carries an
 * `ok` flag; reads through offsets or pointers put the read itself in the
 * flag (`v2_ok = ps_read_field(&p1, ...) == 0 && ps_read_field(&v2, ...) == 0;`)
 * so a chain stops at its first failure, as the DSL says absent values do.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emit.h"

/* Where generated C goes: declarations at the top of a C block, statements after. */
struct scope {
	struct buf decls;
	struct buf stmts;
	int depth;                 /* tabs before a statement */
	int memo_mark;             /* memo entries made before this scope */
};

/*
 * A compiled value. `ok` is NULL when the value is always present; while
 * ok_pending, ok still holds the reads that make the value, not yet run.
 */
struct cval {
	const char *val;
	const char *ok;
	bool ok_pending;
	bool compound;             /* needs parentheses inside another operator */
	enum scalar ctype;
};

/* Reads already made in this C block, so that `ssl->wbio` twice reads once. */
struct memo {
	const char *text;
	struct cval value;
};

struct gen {
	struct arena *arena;
	struct ast_module *mod;
	struct ast_hookset *set;
	struct ast_hook *hook;
	const char *M;             /* module name, upper case */
	bool at_return;
	bool uses_read_field;
	const char *ev_dot;        /* how the event being built is reached: "ev." or, in a map, "ev->" */
	const char *ev_ptr;        /* and its address: "&ev" or "ev" */
	int temps;
	struct memo *memo;
	int n_memo, cap_memo;
};

/* '\1' in generated text marks where a long condition may break: next line, one tab deeper. */
#define BREAK "\1"

static void put_indented(struct buf *b, int depth, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p != '\1') {
			buf_printf(b, "%c", *p);
			continue;
		}
		buf_puts(b, "\n");
		for (int i = 0; i <= depth; i++)
			buf_puts(b, "\t");
		while (p[1] == ' ')
			p++;
	}
}

static void stmt(struct scope *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stmt(struct scope *s, const char *fmt, ...)
{
	struct buf line = { 0 };
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	for (int i = 0; i < s->depth; i++)
		buf_puts(&s->stmts, "\t");
	put_indented(&s->stmts, s->depth, buf_str(&line));
	buf_puts(&s->stmts, "\n");
	buf_free(&line);
}

static void decl(struct scope *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void decl(struct scope *s, const char *fmt, ...)
{
	va_list ap;

	for (int i = 0; i < s->depth; i++)
		buf_puts(&s->decls, "\t");
	va_start(ap, fmt);
	buf_vprintf(&s->decls, fmt, ap);
	va_end(ap);
	buf_puts(&s->decls, "\n");
}

static void scope_open(struct gen *g, struct scope *s, int depth)
{
	memset(s, 0, sizeof(*s));
	s->depth = depth;
	s->memo_mark = g->n_memo;
}

/* Writes the scope's declarations, a blank line, its statements; frees it. */
static void scope_close(struct gen *g, struct scope *s, struct buf *out)
{
	buf_append(out, &s->decls);
	if (s->decls.len && s->stmts.len)
		buf_puts(out, "\n");
	buf_append(out, &s->stmts);
	buf_free(&s->decls);
	buf_free(&s->stmts);
	g->n_memo = s->memo_mark;
}

static const char *fmt(struct gen *g, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(struct gen *g, const char *f, ...)
{
	struct buf b = { 0 };
	const char *s;
	va_list ap;

	va_start(ap, f);
	buf_vprintf(&b, f, ap);
	va_end(ap);
	s = arena_strdup(g->arena, buf_str(&b));
	buf_free(&b);
	return s;
}

static const char *paren(struct gen *g, const struct cval *v)
{
	return v->compound ? fmt(g, "(%s)", v->val) : v->val;
}

static bool is_wide(enum scalar s)
{
	return s == SC_I64 || s == SC_U64 || s == SC_PTR || s == SC_NONE;
}

/* Integers compute as 64-bit: narrow operands (all fit in __s64) are widened before arithmetic. */
static const char *wide(struct gen *g, const struct cval *v)
{
	if (is_wide(v->ctype))
		return paren(g, v);
	return fmt(g, "(__s64)%s", paren(g, v));
}

/* Runs a pending read once, into `<temp>_ok`; the value is then a plain variable. */
static struct cval materialize(struct gen *g, struct scope *s, struct cval v, const struct ast_expr *e)
{
	const char *ok_name;

	if (!v.ok || !v.ok_pending)
		return v;
	ok_name = fmt(g, "%s_ok", v.val);
	decl(s, "int %s;", ok_name);
	stmt(s, "%s = %s;", ok_name, v.ok);
	v.ok = ok_name;
	v.ok_pending = false;
	if (e) {
		if (g->n_memo == g->cap_memo) {
			g->cap_memo = g->cap_memo ? g->cap_memo * 2 : 16;
			g->memo = xrealloc(g->memo, (size_t)g->cap_memo * sizeof(*g->memo));
		}
		g->memo[g->n_memo++] = (struct memo){ expr_text(g->arena, e), v };
	}
	return v;
}

static const struct cval *memo_find(struct gen *g, const struct ast_expr *e)
{
	const char *text = expr_text(g->arena, e);

	for (int i = g->n_memo - 1; i >= 0; i--)
		if (strcmp(g->memo[i].text, text) == 0)
			return &g->memo[i].value;
	return NULL;
}

/* Both flags, for a value made of two. */
static const char *ok_and(struct gen *g, const char *a, const char *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return fmt(g, "%s && %s", a, b);
}

static const char *new_temp(struct gen *g, struct scope *s, enum scalar type)
{
	const char *name = fmt(g, "%c%d", type == SC_PTR ? 'p' : 'v', g->temps++);

	decl(s, "%s %s;", c_scalar_type(type), name);
	return name;
}

static struct cval gen_expr(struct gen *g, struct scope *s, const struct ast_expr *e);

static struct cval param_value(struct gen *g, const struct ast_param *p)
{
	const char *var = p->saved ? fmt(g, "saved.%s", p->name) : fmt(g, "arg_%s", p->name);
	enum scalar t = p->type->kind;

	if (t == SC_U64 || t == SC_PTR)
		return (struct cval){ .val = var, .ctype = SC_U64 };
	/* registers hold 64 bits: the declared type says which of them count */
	return (struct cval){ .val = fmt(g, "(%s)%s", c_scalar_type(t), var), .ctype = t };
}

static struct cval let_value(struct gen *g, const struct ast_stmt *let)
{
	enum scalar t = let->let_type.scalar;
	struct cval v = { .ctype = t };

	if (let->saved) {
		/* saved as __u64 at entry: cast back to the let's own type */
		v.val = t == SC_U64 || t == SC_PTR ? fmt(g, "saved.%s", let->name)
						   : fmt(g, "(%s)saved.%s", c_scalar_type(t), let->name);
		if (let->saved_optional)
			v.ok = fmt(g, "saved.%s_ok", let->name);
		return v;
	}
	v.val = fmt(g, "let_%s", let->name);
	if (let->let_type.optional)
		v.ok = fmt(g, "let_%s_ok", let->name);
	return v;
}

static struct cval gen_ident(struct gen *g, const struct ast_expr *e)
{
	switch (e->ref) {
	case REF_PARAM:
		return param_value(g, e->param);
	case REF_LET:
		return let_value(g, e->let);
	case REF_RET:
		return (struct cval){ .val = "ret", .ctype = e->type.scalar == SC_U64 || e->type.scalar == SC_PTR ? SC_U64 : SC_I64 };
	case REF_SOCKET_FD:
		return (struct cval){ .val = "socket_fd", .ok = "socket_fd_ok", .ctype = SC_I32 };
	case REF_CONST:
		return (struct cval){
			.val = fmt(g, "ps_config.off[PS_%s_CONST_%s]", g->M, upper_name(g->arena, e->konst->name)),
			.ok = fmt(g, "(ps_config.off[PS_%s_CONST_%s] >= 0)", g->M, upper_name(g->arena, e->konst->name)),
			.ctype = SC_I32,
		};
	case REF_GLOBAL:
	case REF_VAR:
	case REF_MEMBER:
	case REF_NONE:
		break;
	}
	return (struct cval){ .val = "0", .ctype = SC_I64 };
}

/* A global: st_value plus the load bias the entry computed from its instruction pointer. */
static struct cval gen_global(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	enum scalar t = e->global->type->kind;
	const char *temp = new_temp(g, s, t);
	const char *addr = fmt(g, "ps_link.global_vaddr[%d]", e->global->index);

	return (struct cval){
		.val = temp,
		.ok = fmt(g, "%s != 0 &&" BREAK " bpf_probe_read_user(&%s, sizeof(%s), (void *)(load_bias + %s)) == 0", addr,
			  temp, temp, addr),
		.ok_pending = true,
		.ctype = t == SC_PTR ? SC_U64 : t,
	};
}

/* A per-thread or per-process variable: absent until set. */
static struct cval gen_var(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	const char *temp = new_temp(g, s, SC_I64);

	return (struct cval){
		.val = temp,
		.ok = fmt(g, "ps_var_get(%d, %d, &%s) == 0", e->var->index, e->var->per_process, temp),
		.ok_pending = true,
		.ctype = SC_I64,
	};
}

/* p->f: ps_read_field at the layout's offset of f; absent when p is, or the read fails. */
static struct cval gen_arrow(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	struct cval base = gen_expr(g, s, e->a);
	const struct ast_type *ft = e->field->type;
	enum scalar t = ft->kind;
	const char *temp = new_temp(g, s, t);
	const char *owner = e->a->type.ptr->strct->name;
	const char *read = fmt(g, "ps_read_field(&%s, sizeof(%s), %s, PS_%s_OFF_%s_%s) == 0", temp, temp, base.val,
			       g->M, upper_name(g->arena, owner), upper_name(g->arena, e->field->name));

	g->uses_read_field = true;
	return (struct cval){
		.val = temp,
		.ok = base.ok ? fmt(g, "%s &&" BREAK " %s", base.ok, read) : read,
		.ok_pending = true,
		.ctype = t == SC_PTR ? SC_U64 : t,
	};
}

/* *p: the integer p points to, read from user memory. */
static struct cval gen_deref(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	struct cval base = gen_expr(g, s, e->a);
	enum scalar t = e->a->type.ptr->pointee->kind;
	const char *temp = new_temp(g, s, t);
	const char *read = fmt(g, "%s && bpf_probe_read_user(&%s, sizeof(%s), (void *)%s) == 0", paren(g, &base), temp,
			       temp, paren(g, &base));

	return (struct cval){
		.val = temp,
		.ok = base.ok ? fmt(g, "%s &&" BREAK " %s", base.ok, read) : read,
		.ok_pending = true,
		.ctype = t == SC_PTR ? SC_U64 : t,
	};
}

static const char *c_op(enum op op)
{
	switch (op) {
	case OP_OR: return "||";
	case OP_AND: return "&&";
	case OP_EQ: return "==";
	case OP_NE: return "!=";
	case OP_LT: return "<";
	case OP_LE: return "<=";
	case OP_GT: return ">";
	case OP_GE: return ">=";
	case OP_BITOR: return "|";
	case OP_BITAND: return "&";
	case OP_ADD: return "+";
	case OP_SUB: return "-";
	case OP_MUL: return "*";
	default: break;
	}
	return "?";
}

static bool is_arithmetic(enum op op)
{
	return op == OP_BITOR || op == OP_BITAND || op == OP_ADD || op == OP_SUB || op == OP_MUL;
}

/* a ?? b: b where a is absent. */
static struct cval gen_coalesce(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	struct cval a = materialize(g, s, gen_expr(g, s, e->a), e->a);
	struct cval b = materialize(g, s, gen_expr(g, s, e->b), e->b);

	if (!a.ok)
		return a;
	return (struct cval){
		.val = fmt(g, "%s ? %s : %s", a.ok, paren(g, &a), paren(g, &b)),
		.ok = b.ok ? fmt(g, "(%s || %s)", a.ok, b.ok) : NULL,
		.compound = true,
		.ctype = e->type.scalar,
	};
}

static const char *gen_condition(struct gen *g, struct scope *s, const struct ast_expr *e);

/* c ? a : b. All three are computed: user-memory reads that are not needed cost a failed read at most. */
static struct cval gen_cond(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	const char *cond = gen_condition(g, s, e->a);
	const char *temp = new_temp(g, s, SC_I32);
	struct cval a = materialize(g, s, gen_expr(g, s, e->b), e->b);
	struct cval b = materialize(g, s, gen_expr(g, s, e->c), e->c);

	stmt(s, "%s = %s;", temp, cond);
	return (struct cval){
		.val = fmt(g, "%s ? %s : %s", temp, wide(g, &a), wide(g, &b)),
		.ok = a.ok || b.ok ? fmt(g, "(%s ? %s : %s)", temp, a.ok ? a.ok : "1", b.ok ? b.ok : "1") : NULL,
		.compound = true,
		.ctype = e->type.scalar,
	};
}

static struct cval gen_binary(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	struct cval a, b;
	bool arith = is_arithmetic(e->op);

	if (e->op == OP_COALESCE)
		return gen_coalesce(g, s, e);
	a = materialize(g, s, gen_expr(g, s, e->a), e->a);
	b = materialize(g, s, gen_expr(g, s, e->b), e->b);
	return (struct cval){
		.val = fmt(g, "%s %s %s", arith ? wide(g, &a) : paren(g, &a), c_op(e->op), arith ? wide(g, &b) : paren(g, &b)),
		.ok = ok_and(g, a.ok, b.ok),
		.compound = true,
		.ctype = e->type.scalar,
	};
}

static struct cval gen_unary(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	struct cval a;

	if (e->op == OP_DEREF)
		return gen_deref(g, s, e);
	a = materialize(g, s, gen_expr(g, s, e->a), e->a);
	return (struct cval){
		.val = fmt(g, "%s%s", e->op == OP_NOT ? "!" : "-", e->op == OP_NOT ? paren(g, &a) : wide(g, &a)),
		.ok = a.ok,
		.ctype = SC_I64,
	};
}

static struct cval gen_expr(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	const struct cval *known;

	switch (e->kind) {
	case EX_INT:
		if (e->int_unsigned)
			return (struct cval){ .val = fmt(g, "%lluULL", (unsigned long long)e->int_value), .ctype = SC_U64 };
		return (struct cval){ .val = fmt(g, "%lld", e->int_value), .ctype = SC_I64 };
	case EX_IDENT:
		if (e->ref == REF_GLOBAL)
			return gen_global(g, s, e);
		if (e->ref == REF_VAR)
			return gen_var(g, s, e);
		return gen_ident(g, e);
	case EX_ARROW:
	case EX_UNARY:
		known = memo_find(g, e);
		if (known)
			return *known;
		return e->kind == EX_ARROW ? gen_arrow(g, s, e) : gen_unary(g, s, e);
	case EX_BINARY:
		return gen_binary(g, s, e);
	case EX_COND:
		return gen_cond(g, s, e);
	case EX_ABSENT:
		return (struct cval){ .val = "0", .ok = "0", .ctype = SC_I64 };
	case EX_CAST: {
		/* the same address, another struct: only the type changes, which check.c tracks */
		struct cval v = gen_expr(g, s, e->a);

		v.ctype = SC_U64;
		return v;
	}
	case EX_CALL:
	case EX_INDEX:
		break;   /* only as a field's whole value: see gen_emit */
	}
	return (struct cval){ .val = "0", .ctype = SC_I64 };
}

/* A value that must be there (check.c made sure) as a plain C expression. */
static struct cval gen_present(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	return materialize(g, s, gen_expr(g, s, e), e);
}

/* A condition: false when any part of it is absent. */
static const char *gen_condition(struct gen *g, struct scope *s, const struct ast_expr *e)
{
	struct cval v = materialize(g, s, gen_expr(g, s, e), e);

	return v.ok ? fmt(g, "%s && %s", v.ok, paren(g, &v)) : v.val;
}

/* ---- emit ----------------------------------------------------------------- */

static void set_present(struct gen *g, struct scope *s, const struct ast_event *ev, const struct ast_field *f)
{
	if (f->optional)
		stmt(s, "%shdr.present |= 1u << %s;", g->ev_dot, present_const(g->arena, g->mod, ev, f));
}

static void gen_int_field(struct gen *g, struct scope *s, const struct ast_event *ev, const struct ast_assign *a)
{
	struct cval v = gen_present(g, s, a->value);

	if (!v.ok) {
		stmt(s, "%s%s = %s;", g->ev_dot, a->field->name, v.val);
		set_present(g, s, ev, a->field);
		return;
	}
	/* check.c allows an absent value only in an optional field */
	stmt(s, "if (%s) {", v.ok);
	s->depth++;
	stmt(s, "%s%s = %s;", g->ev_dot, a->field->name, v.val);
	set_present(g, s, ev, a->field);
	s->depth--;
	stmt(s, "}");
}

/*
 * An array straight into the event: `p->f` reads the field's bytes into dest;
 * `a ?? b` tries b when a's read fails. The result is the condition that ran them.
 */
static const char *gen_array_read(struct gen *g, struct scope *s, const struct ast_expr *e, const char *dest,
				  unsigned size)
{
	struct cval base;
	const char *read;

	if (e->kind == EX_BINARY && e->op == OP_COALESCE)
		return fmt(g, "(%s) ||" BREAK " (%s)", gen_array_read(g, s, e->a, dest, size),
			   gen_array_read(g, s, e->b, dest, size));
	if (e->kind == EX_INDEX) {
		/* `p[N]`: N bytes at p, no offset involved */
		base = materialize(g, s, gen_expr(g, s, e->a), e->a);
		read = fmt(g, "bpf_probe_read_user(%s, %u, (const void *)(%s)) == 0", dest, size, base.val);
		return base.ok ? fmt(g, "%s && %s", base.ok, read) : read;
	}
	/* check.c: an array value is a struct field read, `p[N]`, or `??` of two */
	base = materialize(g, s, gen_expr(g, s, e->a), e->a);
	read = fmt(g, "ps_read_field(%s, %u, %s, PS_%s_OFF_%s_%s) == 0", dest, size, base.val, g->M,
		   upper_name(g->arena, e->a->type.ptr->strct->name), upper_name(g->arena, e->field->name));
	g->uses_read_field = true;
	return base.ok ? fmt(g, "%s && %s", base.ok, read) : read;
}

static void gen_fixed_field(struct gen *g, struct scope *s, const struct ast_event *ev, const struct ast_assign *a)
{
	const struct ast_field *f = a->field;

	if (f->kind == FK_ENUM) {
		stmt(s, "%s%s = %s;", g->ev_dot, f->name, member_const(g->arena, g->mod, ev, f, a->value->member));
		set_present(g, s, ev, f);
		return;
	}
	stmt(s, "/* %s = %s */", a->name, expr_text(g->arena, a->value));
	if (f->kind == FK_TUPLE) {
		struct cval fd = gen_present(g, s, a->value->a);

		stmt(s, "ps_tuple_of_fd(&%s%s, (int)%s);", g->ev_dot, f->name, paren(g, &fd));
		set_present(g, s, ev, f);
		return;
	}
	if (f->kind == FK_ARRAY) {
		const char *read = gen_array_read(g, s, a->value, fmt(g, "%s%s", g->ev_dot, f->name), f->array_len);

		if (!f->optional) {
			stmt(s, "(void)(%s);", read);
			return;
		}
		stmt(s, "if (%s)", read);
		s->depth++;
		set_present(g, s, ev, f);
		s->depth--;
		return;
	}
	gen_int_field(g, s, ev, a);
}

/* The variable part goes last: its emitter copies the fixed part into every chunk. */
static void gen_var_field(struct gen *g, struct scope *s, const struct ast_event *ev, const struct ast_assign *a)
{
	struct cval src, len;
	const char *length;

	if (!a) {
		stmt(s, "ps_emit_fixed_%s(%s);", ev->name, g->ev_ptr);
		return;
	}
	set_present(g, s, ev, a->field);
	stmt(s, "/* %s = %s */", a->name, expr_text(g->arena, a->value));
	if (a->field->kind == FK_STRING) {
		src = gen_present(g, s, a->value->a);
		stmt(s, "ps_emit_str_%s(%s, %s);", ev->name, g->ev_ptr, src.val);
		return;
	}
	src = gen_present(g, s, a->value->a);
	len = gen_present(g, s, a->value->b);
	/* a negative length (an error return, say) sends nothing */
	length = scalar_signed(len.ctype) ? fmt(g, "%s > 0 ? (__u64)%s : 0", paren(g, &len), paren(g, &len)) : len.val;
	stmt(s, "ps_emit_%s(%s, %s, %s);", ev->name, g->ev_ptr, src.val, length);
}

static void gen_emit_fields(struct gen *g, struct scope *s, const struct ast_stmt *st);

/* A big event is built in its per-CPU scratch slot (see put_scratch_maps), a small one on the stack. */
static void gen_emit_built(struct gen *g, struct scope *s, const struct ast_stmt *st)
{
	const struct ast_event *ev = st->event;
	struct scope inner;

	if (ev->fixed_size <= BIG_EVENT_SIZE) {
		g->ev_dot = "ev.";
		g->ev_ptr = "&ev";
		decl(s, "%s ev = {};", event_struct_name(g->arena, g->mod, ev));
		gen_emit_fields(g, s, st);
		return;
	}
	g->ev_dot = "ev->";
	g->ev_ptr = "ev";
	decl(s, "%s *ev;", event_struct_name(g->arena, g->mod, ev));
	decl(s, "__u32 ev_key = 0;");
	stmt(s, "ev = bpf_map_lookup_elem(&ps_scratch_%s, &ev_key);", ev->name);
	stmt(s, "if (ev) {");
	scope_open(g, &inner, s->depth + 1);
	stmt(&inner, "__builtin_memset(ev, 0, sizeof(*ev));");
	gen_emit_fields(g, &inner, st);
	scope_close(g, &inner, &s->stmts);
	stmt(s, "}");
}

/*
 * An event nobody reads (ps_filter.events_off, read-only data the verifier
 * knows) is neither built nor sent: the verifier walks none of the code
 * that would build it, which shortens every start that does not want it.
 */
static void gen_emit(struct gen *g, struct scope *s, const struct ast_stmt *st)
{
	struct scope wanted;

	stmt(s, "if (ps_event_wanted(&ps_config.filter, PS_%s_EV_%s)) {", g->M, upper_name(g->arena, st->event->name));
	scope_open(g, &wanted, s->depth + 1);
	gen_emit_built(g, &wanted, st);
	scope_close(g, &wanted, &s->stmts);
	stmt(s, "}");
}

static void gen_emit_fields(struct gen *g, struct scope *s, const struct ast_stmt *st)
{
	const struct ast_event *ev = st->event;
	const struct ast_assign *var = NULL;

	stmt(s, "ps_event_init(&%shdr, PS_%s_EV_%s, PS_HOOK_%s, sizeof(%s));", g->ev_dot, g->M,
	     upper_name(g->arena, ev->name), upper_name(g->arena, g->hook->c_name),
	     ev->fixed_size <= BIG_EVENT_SIZE ? "ev" : "*ev");
	for (const struct ast_assign *a = st->assigns; a; a = a->next) {
		if (a->field == ev->var_field)
			var = a;
		else
			gen_fixed_field(g, s, ev, a);
	}
	if (ev->var_field || var)
		gen_var_field(g, s, ev, var);
	else
		stmt(s, "ps_emit_fixed_%s(%s);", ev->name, g->ev_ptr);
}

static void gen_let(struct gen *g, struct scope *s, const struct ast_stmt *st)
{
	struct cval v = materialize(g, s, gen_expr(g, s, st->value), st->value);

	stmt(s, "/* let %s = %s */", st->name, expr_text(g->arena, st->value));
	if (st->saved) {
		stmt(s, "saved.%s = %s;", st->name, v.val);
		if (st->saved_optional)
			stmt(s, "saved.%s_ok = %s;", st->name, v.ok ? v.ok : "1");
		return;
	}
	decl(s, "%s let_%s;", c_scalar_type(st->let_type.scalar), st->name);
	stmt(s, "let_%s = %s;", st->name, v.val);
	if (st->let_type.optional) {
		decl(s, "int let_%s_ok;", st->name);
		stmt(s, "let_%s_ok = %s;", st->name, v.ok ? v.ok : "1");
	}
}

static void gen_set(struct gen *g, struct scope *s, const struct ast_stmt *st)
{
	struct cval v;

	if (st->kind == ST_CLEAR) {
		stmt(s, "/* clear %s */", st->name);
		stmt(s, "ps_var_clear(%d, %d);", st->var->index, st->var->per_process);
		return;
	}
	v = gen_present(g, s, st->value);
	stmt(s, "/* set %s = %s */", st->name, expr_text(g->arena, st->value));
	if (st->var->type == SC_I64)
		stmt(s, "ps_var_set(%d, %d, (__s64)%s);", st->var->index, st->var->per_process, paren(g, &v));
	else
		stmt(s, "ps_var_set(%d, %d, (__s64)(%s)%s);", st->var->index, st->var->per_process,
		     c_scalar_type(st->var->type), paren(g, &v));
}

/* An emit among other statements gets its own C block, so each has its own `ev`. */
static void gen_stmt(struct gen *g, struct scope *s, const struct ast_stmt *st, bool alone)
{
	struct scope inner;

	if (st->kind == ST_LET) {
		gen_let(g, s, st);
		return;
	}
	if (st->kind == ST_SET || st->kind == ST_CLEAR) {
		gen_set(g, s, st);
		return;
	}
	if (st->kind == ST_IF) {
		bool body_alone = st->body && !st->body->next;

		stmt(s, "/* if %s */", expr_text(g->arena, st->value));
		stmt(s, "if (%s) {", gen_condition(g, s, st->value));
		scope_open(g, &inner, s->depth + 1);
		for (const struct ast_stmt *b = st->body; b; b = b->next)
			gen_stmt(g, &inner, b, body_alone);
		scope_close(g, &inner, &s->stmts);
		stmt(s, "}");
		return;
	}
	if (alone) {
		gen_emit(g, s, st);
		return;
	}
	stmt(s, "{");
	scope_open(g, &inner, s->depth + 1);
	gen_emit(g, &inner, st);
	scope_close(g, &inner, &s->stmts);
	stmt(s, "}");
}

/* `on entry|return [when C] { ... }` inside the program's body scope `fn`. */
static void gen_block(struct gen *g, struct scope *fn, const struct ast_block *block)
{
	struct scope body;
	bool alone = block->stmts && !block->stmts->next;

	g->at_return = block->at_return;
	if (!block->stmts && !block->when)
		return;
	buf_puts(&fn->stmts, "\n");
	if (block->when)
		stmt(fn, "if (%s) {", gen_condition(g, fn, block->when));
	else
		stmt(fn, "{");
	scope_open(g, &body, fn->depth + 1);
	for (const struct ast_stmt *st = block->stmts; st; st = st->next)
		gen_stmt(g, &body, st, alone);
	scope_close(g, &body, &fn->stmts);
	stmt(fn, "}");
}

/* ---- programs ------------------------------------------------------------- */

static const char *arg_register(struct gen *g, const struct ast_hook *hook, int index)
{
	if (hook->abi == ABI_GO)
		return fmt(g, "ps_go_arg(ctx, ps_config.filter.go_stack_abi, %d)", index);
	return fmt(g, "PT_REGS_PARM%d(ctx)", index + 1);
}

/* Whose call it is: the thread, or under Go's ABIs the goroutine (g: bpf-gen/plainsight.bpf.h). */
static const char *saved_thread(const struct ast_hook *hook)
{
	return hook->abi == ABI_GO ? "ps_go_g(ctx, ps_config.filter.go_stack_abi)" : "(__u32)pid_tgid";
}

/* The first result, at a return: Go's stack ABI puts it after the arguments. */
static const char *return_value(struct gen *g, const struct ast_hook *hook)
{
	int n = 0;

	if (hook->abi != ABI_GO)
		return "PT_REGS_RC(ctx)";
	for (const struct ast_param *p = hook->params; p; p = p->next)
		n++;
	return fmt(g, "ps_go_result(ctx, ps_config.filter.go_stack_abi, %d)", n);
}

static const char *track_key(struct gen *g, const struct ast_hook *hook)
{
	return hook->save_track_key ? "saved.track_key" : fmt(g, "saved.%s", hook->track->param->name);
}

static void gen_entry_prog(struct gen *g, struct buf *out, struct ast_hook *hook)
{
	const char *H = upper_name(g->arena, hook->c_name);
	struct scope fn;

	g->at_return = false;
	buf_printf(out, "SEC(\"uprobe\")\nint entry_%s(struct pt_regs *ctx)\n{\n", hook->c_name);
	scope_open(g, &fn, 1);
	decl(&fn, "__u64 pid_tgid = bpf_get_current_pid_tgid();");
	if (hook->saves) {
		decl(&fn, "struct ps_saved_key key = ps_saved_key(pid_tgid, %s, PS_HOOK_%s);", saved_thread(hook), H);
		decl(&fn, "struct ps_saved_%s saved = {};", hook->c_name);
	}
	if (hook->reads_globals)
		decl(&fn, "__u64 load_bias = (PT_REGS_IP(ctx) - ps_link.hook_vaddr[PS_HOOK_%s]) & ~0xfffULL;", H);
	stmt(&fn, "if (!ps_filter_pass(&ps_config.filter, pid_tgid))");
	stmt(&fn, "\treturn 0;");
	for (const struct ast_param *p = hook->params; p; p = p->next) {
		if (p->saved) {
			stmt(&fn, "saved.%s = (__u64)%s;", p->name, arg_register(g, hook, p->index));
		} else if (p->used_at_entry) {
			decl(&fn, "__u64 arg_%s;", p->name);
			stmt(&fn, "arg_%s = (__u64)%s;", p->name, arg_register(g, hook, p->index));
		}
	}
	if (hook->track) {
		if (hook->save_track_key)
			stmt(&fn, "saved.track_key = %s;", gen_present(g, &fn, hook->track).val);
		stmt(&fn, "ps_track_begin(%s);", track_key(g, hook));
	}
	if (hook->entry)
		gen_block(g, &fn, hook->entry);
	if (hook->saves) {
		if (hook->entry && (hook->entry->stmts || hook->entry->when))
			buf_puts(&fn.stmts, "\n");
		/*
		 * A goroutine's slot still there: its earlier call never came back
		 * through a RET (a panic unwound it, or runtime.Goexit). The runtime
		 * reuses a goroutine's g for the next one, so such a slot is met by
		 * the next call on it, counted then, and replaced: what is left stays
		 * bounded by the goroutines alive at once, and goes with the process.
		 */
		if (hook->abi == ABI_GO) {
			stmt(&fn, "if (bpf_map_lookup_elem(&ps_saved, &key))");
			stmt(&fn, "\tps_loss_add(PS_LOSS_INTERRUPTED, 1);");
		}
		stmt(&fn, "if (bpf_map_update_elem(&ps_saved, &key, &saved, BPF_ANY))");
		stmt(&fn, "\tps_loss_add(PS_LOSS_SAVE_FULL, 1);");
	}
	stmt(&fn, "return 0;");
	scope_close(g, &fn, out);
	buf_puts(out, "}\n\n");
}

static bool expr_uses(const struct ast_expr *e, enum ref_kind ref)
{
	if (!e)
		return false;
	if (e->kind == EX_IDENT && e->ref == ref)
		return true;
	/* next: the following argument of a call */
	return expr_uses(e->a, ref) || expr_uses(e->b, ref) || expr_uses(e->c, ref) || expr_uses(e->next, ref);
}

static bool stmts_use(const struct ast_stmt *stmts, enum ref_kind ref)
{
	for (const struct ast_stmt *st = stmts; st; st = st->next) {
		if (expr_uses(st->value, ref) || stmts_use(st->body, ref))
			return true;
		for (const struct ast_assign *a = st->assigns; a; a = a->next)
			if (expr_uses(a->value, ref))
				return true;
	}
	return false;
}

static bool block_uses(const struct ast_block *block, enum ref_kind ref)
{
	if (!block)
		return false;
	return expr_uses(block->when, ref) || stmts_use(block->stmts, ref);
}

static void gen_return_prologue(struct gen *g, struct scope *fn, struct ast_hook *hook)
{
	const char *H = upper_name(g->arena, hook->c_name);

	decl(fn, "__u64 pid_tgid = bpf_get_current_pid_tgid();");
	if (hook->saves) {
		decl(fn, "struct ps_saved_key key = ps_saved_key(pid_tgid, %s, PS_HOOK_%s);", saved_thread(hook), H);
		decl(fn, "struct ps_saved_%s saved;", hook->c_name);
		decl(fn, "struct ps_saved_%s *slot;", hook->c_name);
	}
	if (block_uses(hook->ret, REF_RET)) {
		enum scalar t = hook->ret_type->kind;

		/* the cast through the declared type sign- or zero-extends what the register holds */
		decl(fn, "%s ret = (%s)%s;", t == SC_U64 || t == SC_PTR ? "__u64" : "__s64", c_scalar_type(t),
		     return_value(g, hook));
	}
	if (hook->track) {
		decl(fn, "__s32 socket_fd = -1;");
		if (block_uses(hook->ret, REF_SOCKET_FD))
			decl(fn, "int socket_fd_ok;");
	}
	if (hook->saves) {
		stmt(fn, "slot = bpf_map_lookup_elem(&ps_saved, &key);");
		stmt(fn, "if (!slot) {");
		stmt(fn, "\tps_note_missing_entry(&ps_config.filter, pid_tgid);");
		stmt(fn, "\treturn 0;");
		stmt(fn, "}");
		stmt(fn, "saved = *slot;");
		stmt(fn, "bpf_map_delete_elem(&ps_saved, &key);");
	} else {
		stmt(fn, "if (!ps_filter_pass(&ps_config.filter, pid_tgid))");
		stmt(fn, "\treturn 0;");
	}
	if (hook->track) {
		if (block_uses(hook->ret, REF_SOCKET_FD))
			stmt(fn, "socket_fd_ok = ps_track_end(%s, &socket_fd) == 0;", track_key(g, hook));
		else
			stmt(fn, "ps_track_end(%s, &socket_fd);", track_key(g, hook));
	}
}

static void gen_return_prog(struct gen *g, struct buf *out, struct ast_hook *hook)
{
	struct scope fn;

	g->at_return = true;
	/* Go moves goroutine stacks, which a uretprobe's return address breaks: its RETs get uprobes instead */
	buf_printf(out, "SEC(\"%s\")\nint return_%s(struct pt_regs *ctx)\n{\n", hook->abi == ABI_GO ? "uprobe" : "uretprobe",
		   hook->c_name);
	scope_open(g, &fn, 1);
	gen_return_prologue(g, &fn, hook);
	if (hook->ret)
		gen_block(g, &fn, hook->ret);
	stmt(&fn, "return 0;");
	scope_close(g, &fn, out);
	buf_puts(out, "}\n\n");
}

/* ---- the file ------------------------------------------------------------- */

static bool set_saves(const struct ast_hookset *set)
{
	for (const struct ast_hook *h = set->hooks; h; h = h->next)
		if (h->saves)
			return true;
	return false;
}

static void put_saved_structs(struct buf *b, const struct ast_hookset *set)
{
	if (!set_saves(set))
		return;
	buf_puts(b, "/* What each hook's return needs from its entry. */\n");
	for (const struct ast_hook *h = set->hooks; h; h = h->next) {
		if (!h->saves)
			continue;
		buf_printf(b, "struct ps_saved_%s {\n", h->c_name);
		for (const struct ast_param *p = h->params; p; p = p->next)
			if (p->saved)
				buf_printf(b, "\t__u64 %s;\n", p->name);
		if (h->entry)
			for (const struct ast_stmt *st = h->entry->stmts; st; st = st->next) {
				if (!st->saved)
					continue;
				buf_printf(b, "\t__u64 %s;\n", st->name);
				if (st->saved_optional)
					buf_printf(b, "\t__u32 %s_ok;\n", st->name);
			}
		if (h->save_track_key)
			buf_puts(b, "\t__u64 track_key;\n");
		buf_puts(b, "};\n");
	}
	buf_puts(b, "\nunion ps_saved {\n");
	for (const struct ast_hook *h = set->hooks; h; h = h->next)
		if (h->saves)
			buf_printf(b, "\tstruct ps_saved_%s %s;\n", h->c_name, h->c_name);
	buf_puts(b, "};\n\n");
	buf_puts(b, "struct {\n"
		    "\t__uint(type, BPF_MAP_TYPE_HASH);\n"
		    "\t__uint(max_entries, 65536);\n"
		    "\t__uint(map_flags, BPF_F_NO_PREALLOC);\n"
		    "\t__type(key, struct ps_saved_key);\n"
		    "\t__type(value, union ps_saved);\n"
		    "} ps_saved SEC(\".maps\");\n\n");
}

/* Where hooks and globals are: the runtime writes each st_value before loading (runtime/target/link.c). */
static void put_link(struct buf *b, const struct ast_module *mod, const struct ast_hookset *set)
{
	int n = 0;

	if (!mod->n_globals)
		return;
	for (const struct ast_hook *h = set->hooks; h; h = h->next)
		n++;
	buf_puts(b, "/* Link-time addresses (st_value): hooks by id, then globals; the runtime fills them. */\n");
	buf_printf(b, "const volatile struct {\n\t__u64 hook_vaddr[%d];\n\t__u64 global_vaddr[%d];\n} ps_link = {};\n\n",
		   n, mod->n_globals);
}

static bool stmts_emit(const struct ast_stmt *stmts, const struct ast_event *ev)
{
	for (const struct ast_stmt *st = stmts; st; st = st->next)
		if ((st->kind == ST_EMIT && st->event == ev) || stmts_emit(st->body, ev))
			return true;
	return false;
}

static bool set_emits(const struct ast_hookset *set, const struct ast_event *ev)
{
	for (const struct ast_hook *h = set->hooks; h; h = h->next) {
		const struct ast_block *blocks[] = { h->entry, h->ret };

		for (int i = 0; i < 2; i++)
			if (blocks[i] && stmts_emit(blocks[i]->stmts, ev))
				return true;
	}
	return false;
}

/* One per-CPU slot per big event: BPF programs have 512 bytes of stack. */
static void put_scratch_maps(struct buf *b, struct gen *g)
{
	for (const struct ast_event *ev = g->mod->events; ev; ev = ev->next) {
		if (ev->fixed_size <= BIG_EVENT_SIZE || !set_emits(g->set, ev))
			continue;
		buf_printf(b, "/* %s is %u bytes: built here, not on the stack. */\n", ev->name, ev->fixed_size);
		buf_printf(b, "struct {\n\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n\t__uint(max_entries, 1);\n"
			      "\t__type(key, __u32);\n\t__type(value, %s);\n} ps_scratch_%s SEC(\".maps\");\n\n",
			   event_struct_name(g->arena, g->mod, ev), ev->name);
	}
}

static void put_emitters(struct buf *b, struct gen *g)
{
	bool any = false;

	for (const struct ast_event *ev = g->mod->events; ev; ev = ev->next) {
		if (!set_emits(g->set, ev))
			continue;
		any = true;
		buf_printf(b, "%s(%s, %s)\n", ev->var_field ? "PS_DEFINE_EMITTER" : "PS_DEFINE_FIXED_EMITTER",
			   ev->name, event_struct_name(g->arena, g->mod, ev));
	}
	if (any)
		buf_puts(b, "\n");
}

/*
 * A thread that ends inside a call (killed, or an exit or exec on another
 * thread) never returns from it. Its entry state goes as it ends, before
 * its tid can be given to another thread, whose calls would otherwise meet
 * it; the call is counted as interrupted, once: whichever of this program
 * and the runtime's sweep (probes.c) deletes the slot counts it. A
 * goroutine's state is not its thread's: the runtime sweeps that.
 */
static void put_thread_exit(struct gen *g, struct buf *b)
{
	const struct ast_hookset *set = g->set;
	bool any = false;

	for (const struct ast_hook *h = set->hooks; h; h = h->next)
		any |= h->saves && h->abi != ABI_GO;
	if (!any && !set->track_socket)
		return;
	buf_puts(b, "SEC(\"raw_tp/sched_process_exit\")\n"
		    "int ps_thread_exit(void *ctx)\n"
		    "{\n"
		    "\t__u64 pid_tgid = bpf_get_current_pid_tgid();\n"
		    "\t__u32 tid = (__u32)pid_tgid;\n");
	if (any)
		buf_puts(b, "\tstruct ps_saved_key key;\n");
	buf_puts(b, "\n");
	if (set->track_socket)
		buf_puts(b, "\tbpf_map_delete_elem(&ps_incall, &tid);\n"
			    "\tbpf_map_delete_elem(&ps_thread_io, &tid);\n");
	for (const struct ast_hook *h = set->hooks; h; h = h->next) {
		if (!h->saves || h->abi == ABI_GO)
			continue;
		buf_printf(b, "\tkey = ps_saved_key(pid_tgid, tid, PS_HOOK_%s);\n"
			      "\tif (bpf_map_delete_elem(&ps_saved, &key) == 0)\n"
			      "\t\tps_loss_add(PS_LOSS_INTERRUPTED, 1);\n", upper_name(g->arena, h->c_name));
	}
	buf_puts(b, "\treturn 0;\n}\n\n");
}

void emit_bpf_c(struct gen_output *out, struct ast_module *mod, struct ast_hookset *set)
{
	struct gen g = { .arena = out->arena, .mod = mod, .set = set, .M = upper_name(out->arena, mod->name) };
	struct buf *b = gen_output_file(out, arena_printf(out->arena, "%s.%s.bpf.c", mod->name, set->name));
	struct buf progs = { 0 };

	for (struct ast_hook *h = set->hooks; h; h = h->next) {
		g.hook = h;
		g.temps = 0;
		if (h->has_entry_prog)
			gen_entry_prog(&g, &progs, h);
		if (h->has_return_prog)
			gen_return_prog(&g, &progs, h);
	}
	put_thread_exit(&g, &progs);

	buf_printf(b, "/* Generated by probec from %s (module %s, hook set %s); do not edit. */\n", mod->src->path,
		   mod->name, set->name);
	if (set->track_socket)
		buf_puts(b, "#define PS_TRACK_SOCKET 1\n");
	buf_printf(b, "#include \"plainsight.bpf.h\"\n#include \"%s.events.h\"\n\n", mod->name);
	buf_printf(b, "const volatile struct ps_%s_config ps_config = {};\n\n", mod->name);
	put_emitters(b, &g);
	put_scratch_maps(b, &g);
	buf_puts(b, "/* Hook ids: index into this hook set's table. */\n");
	for (const struct ast_hook *h = set->hooks; h; h = h->next)
		buf_printf(b, "#define PS_HOOK_%s %d\n", upper_name(g.arena, h->c_name), h->id);
	buf_puts(b, "\n");
	put_saved_structs(b, set);
	put_link(b, mod, set);
	/* code that never changes: bpf-gen/, included where it is needed */
	if (mod->n_vars)
		buf_puts(b, "#include \"ps_vars.bpf.h\"\n\n");
	if (g.uses_read_field)
		buf_puts(b, "#include \"ps_read_field.bpf.h\"\n\n");
	/* the programs end with a blank line; the file with one newline */
	if (progs.len)
		progs.data[--progs.len] = '\0';
	buf_append(b, &progs);
	buf_free(&progs);
	free(g.memo);
}
