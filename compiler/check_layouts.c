/* SPDX-License-Identifier: MIT */
/*
 * The checker's layouts pass: each layout's version range (in the one order,
 * common/version_order.h), its offsets and constants, and that every field
 * of every struct is placed or absent in every layout.
 */
#include "check_ctx.h"
#include "steps.h"
#include "version_order.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- layouts -------------------------------------------------------------- */

/* False, with one error at loc, when version cannot bound a range (version_order.h says what can). */
static bool check_version_bound(struct check_ctx *ctx, const char *version, struct loc loc)
{
	const char *problem = version_order_spec_problem(version);

	if (problem)
		ERROR(ctx, loc, "invalid version \"%s\" (%s)", version, problem);
	return !problem;
}

static void check_layout_range(struct check_ctx *ctx, struct ast_layout *l)
{
	bool ok = check_version_bound(ctx, l->min_version, l->min_loc);

	if (l->max_version)
		ok = check_version_bound(ctx, l->max_version, l->max_loc) && ok;
	if (ok && l->max_version && version_order_compare(l->min_version, l->max_version) > 0)
		ERROR(ctx, l->min_loc, "empty version range: \"%s\" is above \"%s\"", l->min_version, l->max_version);
}

static bool layout_range_usable(const struct ast_layout *l)
{
	return !version_order_spec_problem(l->min_version) &&
	       (!l->max_version || (!version_order_spec_problem(l->max_version) &&
				    version_order_compare(l->min_version, l->max_version) <= 0));
}

/*
 * Two spellings of one version ("3.0" and "3.0.0") would read as two bounds
 * while the runtime sees one: each version is written one way in a module.
 */
static bool check_version_spelling(struct check_ctx *ctx, const char *version, struct loc loc,
				   const struct ast_layout *upto)
{
	if (!version)
		return true;    /* an open end */
	for (const struct ast_layout *k = ctx->mod->layouts; k; k = k->next) {
		const char *bounds[2] = { k->min_version, k->max_version };

		for (int i = 0; i < 2; i++) {
			if (k == upto && bounds[i] == version)
				return true; /* only bounds written before this one */
			if (bounds[i] && version_order_compare(bounds[i], version) == 0 && strcmp(bounds[i], version) != 0) {
				ERROR(ctx, loc, "version \"%s\" is \"%s\" (layout '%s') spelled another way: write it one way",
				      version, bounds[i], k->name);
				return false;
			}
		}
	}
	return true;
}

/* Layouts of different products may share version numbers (MariaDB 10 and MySQL 8 never meet). */
static bool same_product(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * An open range (`versions "3.0.0" ..`) ends below the first version of the
 * next layout that may apply to its versions: one of its product, or of none.
 */
static void close_open_range(struct ast_module *mod, struct ast_layout *l)
{
	l->below_version = NULL;
	if (l->max_version || !layout_range_usable(l))
		return;
	for (struct ast_layout *k = mod->layouts; k; k = k->next) {
		if (k == l || !layout_range_usable(k) || (k->product && !same_product(k->product, l->product)))
			continue;
		if (version_order_compare(k->min_version, l->min_version) <= 0)
			continue;
		if (!l->below_version || version_order_compare(k->min_version, l->below_version) < 0)
			l->below_version = k->min_version;
	}
}

/* "\"3.0.0\" .. \"3.0.9\"", "\"3.0.0\" .. (below \"3.1.0\")" or "\"3.6.0\" ..". */
static const char *range_text(struct check_ctx *ctx, const struct ast_layout *l)
{
	if (l->max_version)
		return arena_printf(ctx->arena, "\"%s\" .. \"%s\"", l->min_version, l->max_version);
	if (l->below_version)
		return arena_printf(ctx->arena, "\"%s\" .. (below \"%s\")", l->min_version, l->below_version);
	return arena_printf(ctx->arena, "\"%s\" ..", l->min_version);
}

/* Whether version v is at or above the end of l's range. */
static bool above_range(const struct ast_layout *l, const char *v)
{
	if (l->max_version)
		return version_order_compare(v, l->max_version) > 0;
	return l->below_version && version_order_compare(v, l->below_version) >= 0;
}

static bool ranges_overlap(const struct ast_layout *k, const struct ast_layout *l)
{
	return !above_range(k, l->min_version) && !above_range(l, k->min_version);
}

static void check_layout_overlaps(struct check_ctx *ctx, struct ast_layout *l)
{
	if (!layout_range_usable(l))
		return;
	for (struct ast_layout *k = ctx->mod->layouts; k != l; k = k->next) {
		if (!layout_range_usable(k) || !same_product(k->product, l->product))
			continue;
		if (version_order_compare(k->min_version, l->min_version) == 0 && !k->max_version == !l->max_version &&
		    (!l->max_version || version_order_compare(k->max_version, l->max_version) == 0)) {
			ERROR(ctx, l->min_loc, "duplicate version range %s (layout '%s' has it)", range_text(ctx, l), k->name);
			return;
		}
		if (ranges_overlap(k, l)) {
			ERROR(ctx, l->min_loc, "versions %s overlap layout '%s' (%s)", range_text(ctx, l), k->name,
			      range_text(ctx, k));
			return;
		}
	}
}

static void suggest_offsets(struct ast_module *mod, struct suggest *s, struct arena *arena)
{
	for (int i = 0; i < mod->n_offsets; i++) {
		struct ast_struct_field *f = mod->offsets[i];
		struct ast_struct *owner = NULL;

		for (struct ast_struct *st = mod->structs; st && !owner; st = st->next)
			for (struct ast_struct_field *g = st->fields; g; g = g->next)
				if (g == f)
					owner = st;
		suggest_offer(s, arena_printf(arena, "%s.%s", owner->name, f->name));
	}
}

/*
 * `accessor SYM through S.F`: SYM takes an S * and reads F, a pointer to the
 * field's own struct, before the field; the runtime follows that pointer.
 */
static void check_accessor_through(struct check_ctx *ctx, struct ast_struct *owner, struct ast_struct_field *f)
{
	struct ast_module *mod = ctx->mod;
	const char *dot = strchr(f->accessor_through, '.');
	struct ast_struct *s = NULL;
	struct ast_struct_field *g = NULL;

	if (dot) {
		s = find_struct(mod, arena_printf(ctx->arena, "%.*s", (int)(dot - f->accessor_through),
						  f->accessor_through));
		g = s ? find_struct_field(s, dot + 1) : NULL;
	}
	if (!g) {
		struct suggest sg;

		suggest_init(&sg, f->accessor_through);
		suggest_offsets(mod, &sg, ctx->arena);
		ERROR(ctx, f->accessor_through_loc, "unknown offset '%s' in 'accessor ... through'%s",
		      f->accessor_through, did_you_mean(ctx, &sg));
		return;
	}
	if (g->type->array_len || g->type->kind != SC_PTR || g->type->strct != owner) {
		ERROR(ctx, f->accessor_through_loc, "accessor through '%s': it must be a 'ptr %s', the struct of '%s'",
		      f->accessor_through, owner->name, f->name);
		return;
	}
	f->through_field = g;
}

void check_accessors_through(struct check_ctx *ctx)
{
	for (struct ast_struct *s = ctx->mod->structs; s; s = s->next)
		for (struct ast_struct_field *f = s->fields; f; f = f->next)
			if (f->accessor && f->accessor_through)
				check_accessor_through(ctx, s, f);
}

/* How a layout gave an offset: nothing yet, by the field, or by `struct S absent;`. */
enum given_by { GIVEN_NOT, GIVEN_FIELD, GIVEN_STRUCT };

static void unknown_offset(struct check_ctx *ctx, const struct ast_offset *o)
{
	const char *full = arena_printf(ctx->arena, "%s.%s", o->strct, o->field);
	struct suggest sg;

	suggest_init(&sg, full);
	suggest_offsets(ctx->mod, &sg, ctx->arena);
	ERROR(ctx, o->loc, "unknown offset '%s'%s", full, did_you_mean(ctx, &sg));
}

static void unknown_layout_struct(struct check_ctx *ctx, const struct ast_offset *o)
{
	struct suggest sg;

	suggest_init(&sg, o->strct);
	for (struct ast_struct *s = ctx->mod->structs; s; s = s->next)
		suggest_offer(&sg, s->name);
	ERROR(ctx, o->loc, "unknown struct '%s'%s", o->strct, did_you_mean(ctx, &sg));
}

/* Records that f's offset is given; false (after an error) when it was already. */
static bool give_offset(struct check_ctx *ctx, struct ast_layout *l, const struct ast_offset *o,
			const struct ast_struct_field *f, enum given_by *given)
{
	enum given_by now = o->whole_struct ? GIVEN_STRUCT : GIVEN_FIELD;
	enum given_by before = given[f->offset_id];

	if (before == GIVEN_NOT) {
		given[f->offset_id] = now;
		return true;
	}
	if (before == GIVEN_STRUCT && now == GIVEN_STRUCT)
		ERROR(ctx, o->loc, "struct '%s' is absent twice in layout '%s'", o->strct, l->name);
	else if (before == GIVEN_STRUCT || now == GIVEN_STRUCT)
		ERROR(ctx, o->loc, "layout '%s' gives '%s.%s' and says struct '%s' is absent", l->name, o->strct,
		      f->name, o->strct);
	else
		ERROR(ctx, o->loc, "offset '%s.%s' given twice in layout '%s'", o->strct, o->field, l->name);
	return false;
}

struct ast_const *find_const(struct ast_module *mod, const char *name)
{
	for (struct ast_const *c = mod->consts; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Every name a layout gives a constant, in the order first given; each must not name a variable or a global. */
static void gather_consts(struct check_ctx *ctx)
{
	struct ast_module *mod = ctx->mod;

	mod->consts = NULL;
	mod->n_consts = 0;
	for (struct ast_layout *l = mod->layouts; l; l = l->next)
		for (struct ast_offset *o = l->offsets; o; o = o->next) {
			struct ast_const *c, **tail = &mod->consts;

			if (!o->constant || find_const(mod, o->strct))
				continue;
			c = ARENA_NEW(ctx->arena, struct ast_const);
			c->name = o->strct;
			c->loc = o->loc;
			c->id = mod->n_offsets + mod->n_consts++;
			while (*tail)
				tail = &(*tail)->next;
			*tail = c;
			for (struct ast_var *v = mod->vars; v; v = v->next)
				if (strcmp(v->name, c->name) == 0)
					ERROR(ctx, o->loc, "constant '%s' has the name of a variable", c->name);
			for (struct ast_global *g = mod->globals; g; g = g->next)
				if (strcmp(g->name, c->name) == 0)
					ERROR(ctx, o->loc, "constant '%s' has the name of a global", c->name);
		}
}

/* `const NAME = N;`: given once, in range. */
static void give_const(struct check_ctx *ctx, struct ast_layout *l, const struct ast_offset *o, bool *given)
{
	struct ast_const *c = find_const(ctx->mod, o->strct);

	if (given[c->id]) {
		ERROR(ctx, o->loc, "constant '%s' given twice in layout '%s'", c->name, l->name);
		return;
	}
	given[c->id] = true;
	if (o->value < 0 || o->value > 0x7fffffff)
		ERROR(ctx, o->value_loc, "constant %lld out of range (0 .. 2147483647)", o->value);
	l->values[c->id] = (int32_t)o->value;
}

static void check_layout_consts(struct check_ctx *ctx, struct ast_layout *l)
{
	size_t n = (size_t)(ctx->mod->n_offsets + ctx->mod->n_consts);
	bool *given = arena_alloc(ctx->arena, n ? n : 1);

	for (struct ast_offset *o = l->offsets; o; o = o->next)
		if (o->constant)
			give_const(ctx, l, o, given);
	for (struct ast_const *c = ctx->mod->consts; c; c = c->next)
		if (!given[c->id])
			ERROR(ctx, l->loc, "layout '%s' does not give constant '%s' (every layout must: %s:%d gives it)",
			      l->name, c->name, c->loc.src->path, c->loc.line);
}

static void check_layout_offsets(struct check_ctx *ctx, struct ast_layout *l)
{
	struct ast_module *mod = ctx->mod;
	size_t n_values = (size_t)(mod->n_offsets + mod->n_consts);
	enum given_by *given = arena_alloc(ctx->arena, (size_t)(mod->n_offsets ? mod->n_offsets : 1) * sizeof(*given));

	l->values = arena_alloc(ctx->arena, (n_values ? n_values : 1) * sizeof(int32_t));
	check_layout_consts(ctx, l);
	for (struct ast_offset *o = l->offsets; o; o = o->next) {
		struct ast_struct *s = find_struct(mod, o->strct);
		struct ast_struct_field *f = s && !o->whole_struct ? find_struct_field(s, o->field) : NULL;

		if (o->constant)
			continue;
		if (o->whole_struct) {
			if (!s)
				unknown_layout_struct(ctx, o);
			for (struct ast_struct_field *g = s ? s->fields : NULL; g; g = g->next)
				if (give_offset(ctx, l, o, g, given))
					l->values[g->offset_id] = -1;
			continue;
		}
		if (!f) {
			unknown_offset(ctx, o);
			continue;
		}
		if (!give_offset(ctx, l, o, f, given))
			continue;
		if (!o->absent && (o->value < 0 || o->value > 0x7fffffff))
			ERROR(ctx, o->value_loc, "offset %lld out of range (0 .. 2147483647, or 'absent')", o->value);
		l->values[f->offset_id] = o->absent ? -1 : (int32_t)o->value;
	}
	for (struct ast_struct *s = mod->structs; s; s = s->next)
		for (struct ast_struct_field *f = s->fields; f; f = f->next)
			if (!given[f->offset_id])
				ERROR(ctx, l->loc,
				      "layout '%s' does not give offset '%s.%s' (write '%s.%s = absent;' or 'struct %s absent;' where it does not exist)",
				      l->name, s->name, f->name, s->name, f->name, s->name);
}

/* A layout's product must be one the first target's banners can name: layouts choose by its version. */
static void check_layout_product(struct check_ctx *ctx, struct ast_layout *l)
{
	const struct ast_target *t = ctx->mod->targets;
	struct suggest s;

	if (!l->product || !t || !t->version)
		return;
	suggest_init(&s, l->product);
	for (const struct ast_match *m = t->version->matches; m; m = m->next) {
		if (m->product && strcmp(m->product, l->product) == 0)
			return;
		if (m->product)
			suggest_offer(&s, m->product);
	}
	ERROR(ctx, l->product_loc, "layout '%s' names product '%s', which no 'match' of target '%s' gives%s", l->name,
	      l->product, t->name, did_you_mean(ctx, &s));
}

/*
 * `abi stack;`: the versions of this layout pass a Go function's arguments
 * and results on the stack (Go's ABI0, before the register ABI of 1.17 on
 * amd64). It says where every `abi go` hook of the layout's hook set reads.
 */
static void check_layout_abi(struct check_ctx *ctx, struct ast_layout *l)
{
	const struct ast_hookset *set = ctx->mod->hooksets;

	l->go_stack_abi = false;
	if (!l->abi_name)
		return;
	if (strcmp(l->abi_name, "stack") != 0 && strcmp(l->abi_name, "registers") != 0) {
		ERROR(ctx, l->abi_loc, "unknown layout abi '%s' (known: registers, stack)", l->abi_name);
		return;
	}
	l->go_stack_abi = strcmp(l->abi_name, "stack") == 0;
	while (set && strcmp(set->name, l->hookset_name ? l->hookset_name : "default") != 0)
		set = set->next;
	for (const struct ast_hook *h = set ? set->hooks : NULL; h; h = h->next)
		if (h->abi_name && strcmp(h->abi_name, "go") == 0)
			return;
	ERROR(ctx, l->abi_loc, "layout '%s' gives an abi, but its hook set has no 'abi go' hook", l->name);
}

void check_layouts(struct check_ctx *ctx)
{
	struct ast_module *mod = ctx->mod;

	mod->n_layouts = 0;
	gather_consts(ctx);
	for (struct ast_layout *l = mod->layouts; l; l = l->next)
		close_open_range(mod, l);
	for (struct ast_layout *l = mod->layouts; l; l = l->next) {
		mod->n_layouts++;
		for (struct ast_layout *k = mod->layouts; k != l; k = k->next)
			if (strcmp(k->name, l->name) == 0)
				ERROR(ctx, l->loc, "duplicate layout '%s'", l->name);
		check_layout_product(ctx, l);
		check_layout_range(ctx, l);
		/* One report for one mistake: a second spelling also overlaps the first. */
		if (layout_range_usable(l) && check_version_spelling(ctx, l->min_version, l->min_loc, l) &&
		    check_version_spelling(ctx, l->max_version, l->max_loc, l))
			check_layout_overlaps(ctx, l);
		check_layout_offsets(ctx, l);
		check_layout_abi(ctx, l);
		l->hookset = find_hookset(mod, l->hookset_name ? l->hookset_name : "default");
		if (l->hookset >= 0)
			continue;
		if (l->hookset_name) {
			struct suggest s;

			suggest_init(&s, l->hookset_name);
			for (struct ast_hookset *h = mod->hooksets; h; h = h->next)
				suggest_offer(&s, h->name);
			ERROR(ctx, l->hookset_loc, "unknown hook set '%s'%s", l->hookset_name, did_you_mean(ctx, &s));
		} else if (mod->hooksets) {
			ERROR(ctx, l->loc, "layout '%s' names no hook set ('hooks NAME') and no hooks are outside a hookset",
			      l->name);
		}
	}
}
