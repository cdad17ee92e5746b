/* SPDX-License-Identifier: MIT */
#include "check.h"
#include "emit.h"
#include "version_order.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ABSENT_HINT "value may be absent; use ?? to give a default"

/* Registers each ABI passes arguments in: see specs/README.md, Hooks. */
#define SYSV_MAX_PARAMS 6
#define GO_MAX_PARAMS 9
/* ps_event_header.present is 32 bits wide. */
#define MAX_OPTIONAL_FIELDS 32
#define PS_EVENT_HEADER_SIZE 104 /* sizeof(struct ps_event_header), bpf-gen/ps_event.h */
#define PS_TUPLE_SIZE 40
/* `u8[N]`: struct fields and fixed bytes event fields */
#define MAX_ARRAY_LEN 4096
#define MAX_ACCESSOR_LOAD 8   /* runtime/target/accessors.c follows this many accesses */

struct check_ctx {
	struct arena *arena;
	struct diag *diag;
	struct ast_module *mod;
	/* while checking a hook */
	struct ast_hook *hook;
	struct ast_block *block;
	struct ast_stmt **lets;        /* visible lets, entry block first */
	int n_lets, cap_lets;
};

#define ERROR(ctx, loc, ...) diag_error((ctx)->diag, (loc), __VA_ARGS__)

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

static const char *type_text(struct check_ctx *ctx, const struct ast_type *t)
{
	return type_spelling(ctx->arena, t);
}

static const char *value_text(struct check_ctx *ctx, const struct value_type *v)
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

static bool is_numeric(const struct value_type *v)
{
	return v->kind == VK_INT || v->kind == VK_PTR;
}

static bool is_c_keyword(const char *name)
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
static const char *did_you_mean(struct check_ctx *ctx, const struct suggest *s)
{
	return s->best ? arena_printf(ctx->arena, " (did you mean '%s'?)", s->best) : "";
}

/* ---- module-level items --------------------------------------------------- */

static struct ast_flag *find_flag(struct ast_module *mod, const char *name, int *index)
{
	int i = 0;

	for (struct ast_flag *f = mod->flags; f; f = f->next, i++)
		if (strcmp(f->name, name) == 0) {
			*index = i;
			return f;
		}
	return NULL;
}

static void check_flags(struct check_ctx *ctx)
{
	struct ast_module *mod = ctx->mod;

	mod->n_flags = 0;
	for (struct ast_flag *f = mod->flags; f; f = f->next) {
		mod->n_flags++;
		for (struct ast_flag *g = mod->flags; g != f; g = g->next) {
			if (strcmp(g->name, f->name) == 0)
				ERROR(ctx, f->loc, "duplicate flag '%s'", f->name);
			else if (f->short_name && g->short_name && strcmp(f->short_name, g->short_name) == 0)
				ERROR(ctx, f->short_loc, "flag '%s' takes the short name '%s' of flag '%s'", f->name,
				      f->short_name, g->name);
		}
		if (f->short_name && (strlen(f->short_name) != 1 || !isalnum((unsigned char)f->short_name[0])))
			ERROR(ctx, f->short_loc, "a short flag name is one letter or digit, not \"%s\"", f->short_name);
	}
}

static const char *flag_type_name(enum flag_type t)
{
	switch (t) {
	case FT_BOOL: return "bool";
	case FT_INT: return "int";
	case FT_STRING: return "string";
	case FT_PATH: return "path";
	}
	return "?";
}

/* `override` wants a path flag, `force` a string flag. */
static void resolve_flag_ref(struct check_ctx *ctx, struct flag_ref *ref, enum flag_type want, const char *what)
{
	struct ast_flag *flag;
	struct suggest s;

	if (!ref->name)
		return;
	flag = find_flag(ctx->mod, ref->name, &ref->index);
	if (!flag) {
		suggest_init(&s, ref->name);
		for (struct ast_flag *f = ctx->mod->flags; f; f = f->next)
			suggest_offer(&s, f->name);
		ERROR(ctx, ref->loc, "unknown flag '%s' in '%s'%s", ref->name, what, did_you_mean(ctx, &s));
		ref->index = -1;
		return;
	}
	if (flag->type != want) {
		ERROR(ctx, ref->loc, "'%s' needs %s %s flag, but '%s' is %s %s flag", what, want == FT_INT ? "an" : "a",
		      flag_type_name(want), ref->name, flag->type == FT_INT ? "an" : "a", flag_type_name(flag->type));
		ref->index = -1;
	}
}

static void check_regex(struct check_ctx *ctx, const struct ast_match *m)
{
	regex_t re;
	char message[256];
	int err = regcomp(&re, m->regex, REG_EXTENDED);

	if (err) {
		regerror(err, &re, message, sizeof(message));
		ERROR(ctx, m->loc, "invalid regex in 'match': %s", message);
		return;
	}
	if (re.re_nsub < 1)
		ERROR(ctx, m->loc, "the regex in 'match' has no capture group: group 1 must be the version");
	regfree(&re);
}

/*
 * Several banners are tried in order, so a second rule with the same regex
 * could never match; products name what tells layouts apart.
 */
static void check_matches(struct check_ctx *ctx, const struct ast_version *v)
{
	for (const struct ast_match *m = v->matches; m; m = m->next) {
		check_regex(ctx, m);
		for (const struct ast_match *k = v->matches; k != m; k = k->next)
			if (strcmp(k->regex, m->regex) == 0) {
				ERROR(ctx, m->loc, "duplicate 'match' regex in this version block");
				break;
			}
	}
}

static void check_version_block(struct check_ctx *ctx, struct ast_target *t)
{
	struct ast_version *v = t->version;

	if (!v) {
		ERROR(ctx, t->loc, "target '%s' has no 'version' block", t->name);
		return;
	}
	if (!v->section)
		ERROR(ctx, v->loc, "version block has no 'section' (where the version string is, e.g. \".rodata\")");
	if (!v->matches)
		ERROR(ctx, v->loc, "version block has no 'match' (a regex whose group 1 is the version)");
	else
		check_matches(ctx, v);
	resolve_flag_ref(ctx, &v->force, FT_STRING, "force");
}

static void check_targets(struct check_ctx *ctx)
{
	struct ast_module *mod = ctx->mod;

	mod->n_targets = 0;
	if (!mod->targets)
		ERROR(ctx, mod->loc, "module '%s' has no target", mod->name);
	for (struct ast_target *t = mod->targets; t; t = t->next) {
		mod->n_targets++;
		for (struct ast_target *u = mod->targets; u != t; u = u->next)
			if (strcmp(u->name, t->name) == 0)
				ERROR(ctx, t->loc, "duplicate target '%s'", t->name);
		if (!t->library && !t->override.name)
			ERROR(ctx, t->loc, "target '%s' has neither 'library' nor 'override'", t->name);
		resolve_flag_ref(ctx, &t->override, FT_PATH, "override");
		for (struct flag_ref *r = t->override.next; r; r = r->next)
			resolve_flag_ref(ctx, r, FT_PATH, "override");
		check_version_block(ctx, t);
	}
}

static struct ast_struct *find_struct(struct ast_module *mod, const char *name)
{
	for (struct ast_struct *s = mod->structs; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* The offset macro's part for a field: s3.client_random and s3_client_random clash. */
static const char *upper_c_name(struct check_ctx *ctx, const char *name)
{
	char *u = arena_strdup(ctx->arena, name);

	for (char *p = u; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	return u;
}

static struct ast_struct_field *find_struct_field(struct ast_struct *s, const char *name)
{
	for (struct ast_struct_field *f = s->fields; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* `u8[N]` with N in range; arrays of other types are not read. */
static bool check_array_type(struct check_ctx *ctx, const struct ast_type *t)
{
	if (!t->array_len)
		return true;
	if (t->kind != SC_U8) {
		ERROR(ctx, t->loc, "array type '%s': only byte arrays (u8[N]) are supported", type_text(ctx, t));
		return false;
	}
	if (t->array_len > MAX_ARRAY_LEN) {
		ERROR(ctx, t->loc, "array length out of range (1 .. %d)", MAX_ARRAY_LEN);
		return false;
	}
	return true;
}

/* Only a struct field holds an array: a register or a global read as one is a mistake. */
static bool no_array(struct check_ctx *ctx, const struct ast_type *t, const char *what)
{
	for (const struct ast_type *u = t; u; u = u->pointee)
		if (u->array_len) {
			ERROR(ctx, u->loc, "array type '%s' in %s: arrays are struct fields and event fields only",
			      type_text(ctx, u), what);
			return false;
		}
	return true;
}

/* Resolves `ptr S` anywhere in a type. Returns false after an error. */
static bool resolve_type(struct check_ctx *ctx, struct ast_type *t)
{
	struct suggest s;

	if (t->pointee)
		return resolve_type(ctx, t->pointee);
	if (!t->struct_name)
		return true;
	t->strct = find_struct(ctx->mod, t->struct_name);
	if (t->strct)
		return true;
	suggest_init(&s, t->struct_name);
	for (struct ast_struct *st = ctx->mod->structs; st; st = st->next)
		suggest_offer(&s, st->name);
	ERROR(ctx, t->struct_loc, "unknown struct type '%s' in 'ptr %s'%s", t->struct_name, t->struct_name,
	      did_you_mean(ctx, &s));
	return false;
}

static void check_structs(struct check_ctx *ctx)
{
	struct ast_module *mod = ctx->mod;
	int n = 0, id = 0;

	for (struct ast_struct *s = mod->structs; s; s = s->next) {
		for (struct ast_struct *t = mod->structs; t != s; t = t->next)
			if (strcmp(t->name, s->name) == 0)
				ERROR(ctx, s->loc, "duplicate struct '%s'", s->name);
		for (struct ast_struct_field *f = s->fields; f; f = f->next) {
			for (struct ast_struct_field *g = s->fields; g != f; g = g->next) {
				if (strcmp(g->name, f->name) == 0)
					ERROR(ctx, f->loc, "duplicate field '%s' in struct '%s'", f->name, s->name);
				else if (strcmp(upper_c_name(ctx, g->name), upper_c_name(ctx, f->name)) == 0)
					ERROR(ctx, f->loc, "fields '%s' and '%s' of struct '%s' make one C name; rename one",
					      g->name, f->name, s->name);
			}
			if (f->accessor && (f->accessor_load < 1 || f->accessor_load > MAX_ACCESSOR_LOAD))
				ERROR(ctx, f->accessor_load_loc, "accessor load %d out of range (1 .. %d)", f->accessor_load,
				      MAX_ACCESSOR_LOAD);
			if (f->type->array_len) {
				check_array_type(ctx, f->type);
			} else if (no_array(ctx, f->type, "a pointer type")) {
				resolve_type(ctx, f->type);
			}
			n++;
		}
	}
	mod->offsets = arena_alloc(ctx->arena, (size_t)(n ? n : 1) * sizeof(*mod->offsets));
	for (struct ast_struct *s = mod->structs; s; s = s->next)
		for (struct ast_struct_field *f = s->fields; f; f = f->next) {
			f->offset_id = id;
			mod->offsets[id++] = f;
		}
	mod->n_offsets = n;
}

/* ---- hook sets ------------------------------------------------------------ */

/* The hooks outside any hookset become the set `default`, first in the table. */
static void gather_hooksets(struct check_ctx *ctx)
{
	struct ast_module *mod = ctx->mod;

	if (mod->hooks) {
		struct ast_hookset *def = ARENA_NEW(ctx->arena, struct ast_hookset);

		def->name = "default";
		def->loc = mod->hooks->loc;
		def->hooks = mod->hooks;
		def->is_default = true;
		def->next = mod->hooksets;
		mod->hooksets = def;
		mod->hooks = NULL;
	}
	mod->n_hooksets = 0;
	if (!mod->hooksets)
		ERROR(ctx, mod->loc, "module '%s' has no hooks", mod->name);
	for (struct ast_hookset *h = mod->hooksets; h; h = h->next) {
		mod->n_hooksets++;
		for (struct ast_hookset *g = mod->hooksets; g != h; g = g->next)
			if (strcmp(g->name, h->name) == 0)
				ERROR(ctx, h->loc, "duplicate hook set '%s'%s", h->name,
				      g->is_default ? " (the hooks outside any hookset form 'default')" : "");
		if (!h->hooks)
			ERROR(ctx, h->loc, "hook set '%s' has no hooks", h->name);
	}
}

static int find_hookset(struct ast_module *mod, const char *name)
{
	int i = 0;

	for (struct ast_hookset *h = mod->hooksets; h; h = h->next, i++)
		if (strcmp(h->name, name) == 0)
			return i;
	return -1;
}

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

	ok = check_version_bound(ctx, l->max_version, l->max_loc) && ok;
	if (ok && version_order_compare(l->min_version, l->max_version) > 0)
		ERROR(ctx, l->min_loc, "empty version range: \"%s\" is above \"%s\"", l->min_version, l->max_version);
}

static bool layout_range_usable(const struct ast_layout *l)
{
	return !version_order_spec_problem(l->min_version) && !version_order_spec_problem(l->max_version) &&
	       version_order_compare(l->min_version, l->max_version) <= 0;
}

/*
 * Two spellings of one version ("3.0" and "3.0.0") would read as two bounds
 * while the runtime sees one: each version is written one way in a module.
 */
static bool check_version_spelling(struct check_ctx *ctx, const char *version, struct loc loc,
				   const struct ast_layout *upto)
{
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

static void check_layout_overlaps(struct check_ctx *ctx, struct ast_layout *l)
{
	if (!layout_range_usable(l))
		return;
	for (struct ast_layout *k = ctx->mod->layouts; k != l; k = k->next) {
		if (!layout_range_usable(k) || !same_product(k->product, l->product))
			continue;
		if (version_order_compare(k->min_version, l->min_version) == 0 &&
		    version_order_compare(k->max_version, l->max_version) == 0) {
			ERROR(ctx, l->min_loc, "duplicate version range \"%s\" .. \"%s\" (layout '%s' has it)",
			      l->min_version, l->max_version, k->name);
			return;
		}
		if (version_order_compare(k->min_version, l->max_version) <= 0 &&
		    version_order_compare(l->min_version, k->max_version) <= 0) {
			ERROR(ctx, l->min_loc,
			      "versions \"%s\" .. \"%s\" overlap layout '%s' (\"%s\" .. \"%s\")", l->min_version,
			      l->max_version, k->name, k->min_version, k->max_version);
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

static void check_accessors_through(struct check_ctx *ctx)
{
	for (struct ast_struct *s = ctx->mod->structs; s; s = s->next)
		for (struct ast_struct_field *f = s->fields; f; f = f->next)
			if (f->accessor && f->accessor_through)
				check_accessor_through(ctx, s, f);
}

static void check_layout_offsets(struct check_ctx *ctx, struct ast_layout *l)
{
	struct ast_module *mod = ctx->mod;
	bool *given = arena_alloc(ctx->arena, (size_t)(mod->n_offsets ? mod->n_offsets : 1));

	l->values = arena_alloc(ctx->arena, (size_t)(mod->n_offsets ? mod->n_offsets : 1) * sizeof(int32_t));
	for (struct ast_offset *o = l->offsets; o; o = o->next) {
		struct ast_struct *s = find_struct(mod, o->strct);
		struct ast_struct_field *f = s ? find_struct_field(s, o->field) : NULL;

		if (!f) {
			const char *full = arena_printf(ctx->arena, "%s.%s", o->strct, o->field);
			struct suggest sg;

			suggest_init(&sg, full);
			suggest_offsets(mod, &sg, ctx->arena);
			ERROR(ctx, o->loc, "unknown offset '%s'%s", full, did_you_mean(ctx, &sg));
			continue;
		}
		if (given[f->offset_id]) {
			ERROR(ctx, o->loc, "offset '%s.%s' given twice in layout '%s'", o->strct, o->field, l->name);
			continue;
		}
		given[f->offset_id] = true;
		if (!o->absent && (o->value < 0 || o->value > 0x7fffffff))
			ERROR(ctx, o->value_loc, "offset %lld out of range (0 .. 2147483647, or 'absent')", o->value);
		l->values[f->offset_id] = o->absent ? -1 : (int32_t)o->value;
	}
	for (struct ast_struct *s = mod->structs; s; s = s->next)
		for (struct ast_struct_field *f = s->fields; f; f = f->next)
			if (!given[f->offset_id])
				ERROR(ctx, l->loc,
				      "layout '%s' does not give offset '%s.%s' (write '%s.%s = absent;' if the field does not exist in these versions)",
				      l->name, s->name, f->name, s->name, f->name);
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

static void check_layouts(struct check_ctx *ctx)
{
	struct ast_module *mod = ctx->mod;

	mod->n_layouts = 0;
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

/* ---- events --------------------------------------------------------------- */

static struct ast_field *find_event_field(struct ast_event *ev, const char *name)
{
	for (struct ast_field *f = ev->fields; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static void field_size_align(struct ast_field *f)
{
	switch (f->kind) {
	case FK_INT:
		f->size = f->align = scalar_size(f->scalar);
		break;
	case FK_ENUM:
		f->size = f->align = 4;
		break;
	case FK_TUPLE:
		f->size = PS_TUPLE_SIZE;
		f->align = 2;
		break;
	case FK_ARRAY:
		f->size = f->array_len;
		f->align = 1;
		break;
	case FK_BYTES:
	case FK_STRING:
		f->size = 0;
		f->align = 8;   /* __u8 data[] __attribute__((aligned(8))) */
		break;
	}
}

static unsigned align_up(unsigned n, unsigned a)
{
	return (n + a - 1) / a * a;
}

/* C's rules on x86-64 and BPF alike: each field at its alignment, the struct at 8. */
static void layout_event(struct ast_event *ev)
{
	unsigned end = PS_EVENT_HEADER_SIZE;

	for (struct ast_field *f = ev->fields; f; f = f->next) {
		field_size_align(f);
		if (f == ev->var_field)
			continue;
		f->offset = align_up(end, f->align);
		end = f->offset + f->size;
	}
	ev->fixed_size = align_up(end, 8);
	if (ev->var_field)
		ev->var_field->offset = ev->fixed_size;
}

static bool same_field_type(const struct ast_field *a, const struct ast_field *b)
{
	return a->kind == b->kind && (a->kind != FK_INT || a->scalar == b->scalar);
}

static const char *field_type_text_in(struct arena *arena, const struct ast_field *f)
{
	switch (f->kind) {
	case FK_ARRAY: return arena_printf(arena, "%s[%u]", scalar_name(f->scalar), f->array_len);
	case FK_INT: return scalar_name(f->scalar);
	case FK_ENUM: return "enum";
	case FK_TUPLE: return "tuple";
	case FK_BYTES: return "bytes";
	case FK_STRING: return "string";
	}
	return "?";
}

#define field_type_text(f) field_type_text_in(ctx->arena, (f))

static void check_field_names(struct check_ctx *ctx, struct ast_event *ev, struct ast_field *f)
{
	for (struct ast_field *g = ev->fields; g != f; g = g->next)
		if (strcmp(g->name, f->name) == 0)
			ERROR(ctx, f->loc, "duplicate field '%s' in event '%s'", f->name, ev->name);
	if (strcmp(f->name, "hdr") == 0 || strcmp(f->name, "data") == 0 || is_c_keyword(f->name))
		ERROR(ctx, f->loc, "field name '%s' is reserved in the generated C; choose another", f->name);
	for (struct ast_name *m = f->members; m; m = m->next)
		for (struct ast_name *n = f->members; n != m; n = n->next)
			if (strcmp(n->name, m->name) == 0)
				ERROR(ctx, m->loc, "duplicate member '%s' in enum '%s.%s'", m->name, ev->name, f->name);
}

static void check_field_check(struct check_ctx *ctx, struct ast_event *ev, struct ast_field *f)
{
	struct ast_field *other;
	struct suggest s;
	int i = 0;

	if (!f->check_name)
		return;
	other = find_event_field(ev, f->check_name);
	if (!other) {
		suggest_init(&s, f->check_name);
		for (struct ast_field *g = ev->fields; g; g = g->next)
			suggest_offer(&s, g->name);
		ERROR(ctx, f->check_loc, "'check' names unknown field '%s' of event '%s'%s", f->check_name, ev->name,
		      did_you_mean(ctx, &s));
		return;
	}
	if (other == f) {
		ERROR(ctx, f->check_loc, "field '%s' cannot check itself", f->name);
		return;
	}
	if (!same_field_type(f, other) || f->kind == FK_BYTES || f->kind == FK_STRING || f->kind == FK_ARRAY) {
		ERROR(ctx, f->check_loc, "'check %s' compares %s field '%s' with %s field '%s'; they must have one integer type",
		      f->check_name, field_type_text(f), f->name, field_type_text(other), other->name);
		return;
	}
	for (struct ast_field *g = ev->fields; g != other; g = g->next)
		i++;
	f->check_index = i;
}

static struct ast_event *find_event(struct ast_module *mod, const char *name)
{
	for (struct ast_event *e = mod->events; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* `collect E.F [joined "SEP"]` and `unescape B xor M` on one field. */
static void check_field_text_mods(struct check_ctx *ctx, struct ast_event *ev, struct ast_field *f)
{
	bool text = f->kind == FK_STRING || f->kind == FK_BYTES;
	struct ast_event *src;
	struct ast_field *sf;
	struct suggest s;

	if (f->unescape && f->kind != FK_STRING)
		ERROR(ctx, f->unescape_loc, "'unescape' applies to string fields only, and '%s' is %s", f->name,
		      field_type_text(f));
	if (f->text && !text)
		ERROR(ctx, f->text_loc, "'text' applies to string and bytes fields, and '%s' is %s", f->name,
		      field_type_text(f));
	if (f->joined && !f->collect_event)
		ERROR(ctx, f->loc, "'joined' goes with 'collect' (field '%s' collects nothing)", f->name);
	if (!f->collect_event)
		return;
	if (!text) {
		ERROR(ctx, f->collect_loc, "'collect' fills a string or bytes field, and '%s' is %s", f->name,
		      field_type_text(f));
		return;
	}
	if (ev->buffer) {
		ERROR(ctx, f->collect_loc, "buffered event '%s' cannot collect", ev->name);
		return;
	}
	src = find_event(ctx->mod, f->collect_event);
	if (!src) {
		suggest_init(&s, f->collect_event);
		for (struct ast_event *e = ctx->mod->events; e; e = e->next)
			if (e->buffer_by)
				suggest_offer(&s, e->name);
		ERROR(ctx, f->collect_loc, "'collect' names unknown event '%s'%s", f->collect_event,
		      did_you_mean(ctx, &s));
		return;
	}
	if (!src->buffer_by) {
		ERROR(ctx, f->collect_loc,
		      "'collect' takes from a buffered event, and '%s' is not one (write 'event %s buffered by pid')",
		      src->name, src->name);
		return;
	}
	sf = find_event_field(src, f->collect_field);
	if (!sf || (sf->kind != FK_STRING && sf->kind != FK_BYTES)) {
		ERROR(ctx, f->collect_loc, "'collect' needs the string or bytes field of '%s', and '%s' is %s",
		      src->name, f->collect_field, sf ? "not one" : "no field of it");
		return;
	}
	f->collect_ev = src;
}

static void check_event_buffer(struct check_ctx *ctx, struct ast_event *ev)
{
	ev->buffer = BUF_NONE;
	if (!ev->buffer_by)
		return;
	if (strcmp(ev->buffer_by, "pid") == 0)
		ev->buffer = BUF_PID;
	else if (strcmp(ev->buffer_by, "tid") == 0)
		ev->buffer = BUF_TID;
	else
		ERROR(ctx, ev->buffer_loc, "'buffered by' takes pid or tid, not '%s'", ev->buffer_by);
}

static void check_event(struct check_ctx *ctx, struct ast_event *ev)
{
	int present = 0, index = 0;

	if (!ev->fields)
		ERROR(ctx, ev->loc, "event '%s' has no fields", ev->name);
	for (struct ast_field *f = ev->fields; f; f = f->next) {
		f->index = index++;
		check_field_names(ctx, ev, f);
		if (f->kind == FK_ARRAY) {
			struct ast_type t = { .kind = f->scalar, .array_len = f->array_len, .loc = f->type_loc };

			check_array_type(ctx, &t);
		}
		if (f->kind == FK_BYTES || f->kind == FK_STRING) {
			if (ev->var_field)
				ERROR(ctx, f->loc, "event '%s' has two variable fields, '%s' and '%s' (one bytes or string field at most)",
				      ev->name, ev->var_field->name, f->name);
			else
				ev->var_field = f;
		}
		if (f->optional) {
			if (present == MAX_OPTIONAL_FIELDS)
				ERROR(ctx, f->loc, "more than %d optional fields in event '%s'", MAX_OPTIONAL_FIELDS, ev->name);
			f->present_bit = present++;
		}
	}
	ev->n_fields = index;
	for (struct ast_field *f = ev->fields; f; f = f->next)
		check_field_check(ctx, ev, f);
	layout_event(ev);
}

static void check_event_text_mods(struct check_ctx *ctx)
{
	for (struct ast_event *ev = ctx->mod->events; ev; ev = ev->next)
		for (struct ast_field *f = ev->fields; f; f = f->next)
			check_field_text_mods(ctx, ev, f);
}

static void check_events(struct check_ctx *ctx)
{
	int id = 0;

	for (struct ast_event *ev = ctx->mod->events; ev; ev = ev->next) {
		for (struct ast_event *e = ctx->mod->events; e != ev; e = e->next)
			if (strcmp(e->name, ev->name) == 0)
				ERROR(ctx, ev->loc, "duplicate event '%s'", ev->name);
		ev->id = id++;
		check_event_buffer(ctx, ev);
		check_event(ctx, ev);
	}
	ctx->mod->n_events = id;
	check_event_text_mods(ctx);
}

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

static struct value_type check_expr(struct check_ctx *ctx, struct ast_expr *e);

static const char *target_name(struct ast_module *mod, int index)
{
	struct ast_target *t = mod->targets;

	for (int i = 0; t && i < index; i++)
		t = t->next;
	return t ? t->name : "?";
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
	suggest_init(&s, e->name);
	for (struct ast_param *p = hook->params; p; p = p->next)
		suggest_offer(&s, p->name);
	for (struct ast_global *g = ctx->mod->globals; g; g = g->next)
		suggest_offer(&s, g->name);
	for (struct ast_var *v = ctx->mod->vars; v; v = v->next)
		suggest_offer(&s, v->name);
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
static bool require_present_number(struct check_ctx *ctx, struct ast_expr *e, const char *what)
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
	return (struct value_type){ .kind = VK_SLICE, .optional = p.optional || n.optional };
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

static bool value_fits_field(const struct value_type *t, const struct ast_field *f)
{
	switch (f->kind) {
	case FK_INT: return is_numeric(t);
	case FK_TUPLE: return t->kind == VK_TUPLE;
	case FK_BYTES: return t->kind == VK_SLICE;
	case FK_STRING: return t->kind == VK_CSTR;
	case FK_ARRAY: return t->kind == VK_ARRAY && t->array_len == f->array_len;
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
	case FK_ARRAY: return " (write P->FIELD, a struct field of that array type)";
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
	if (!value_fits_field(&t, f)) {
		ERROR(ctx, a->value->loc, "type mismatch: '%s' is %s %s field but the value is %s%s", f->name,
		      f->kind == FK_INT && scalar_signed(f->scalar) ? "an" : "a", field_type_text(f), value_text(ctx, &t),
		      field_hint(f));
		return;
	}
	if (f->kind == FK_ARRAY) {
		if (t.optional && !f->optional)
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

static void check_block(struct check_ctx *ctx, struct ast_block *block)
{
	ctx->block = block;
	if (block->when)
		check_condition(ctx, block->when, "when");
	check_stmts(ctx, block->stmts);
}

/* ---- hooks ---------------------------------------------------------------- */

static void check_abi(struct check_ctx *ctx, struct ast_hook *hook)
{
	hook->abi = ABI_SYSV;
	if (!hook->abi_name || strcmp(hook->abi_name, "sysv") == 0)
		return;
	if (strcmp(hook->abi_name, "go") == 0) {
		hook->abi = ABI_GO;
		return;
	}
	ERROR(ctx, hook->abi_loc, "unknown abi '%s' (known: sysv, go)", hook->abi_name);
}

static void check_go_limits(struct check_ctx *ctx, struct ast_hook *hook)
{
	static const char why[] =
		"not supported yet: Go returns are probed at RET instructions, not by uretprobes (Go moves stacks); "
		"see specs/README.md, \"abi go\"";

	if (hook->abi != ABI_GO)
		return;
	if (hook->ret)
		ERROR(ctx, hook->ret->loc, "'on return' with 'abi go': %s", why);
	if (hook->track)
		ERROR(ctx, hook->track_loc, "'track socket' with 'abi go': %s", why);
}

static void check_params(struct check_ctx *ctx, struct ast_hook *hook)
{
	int max = hook->abi == ABI_GO ? GO_MAX_PARAMS : SYSV_MAX_PARAMS, i = 0;

	for (struct ast_param *p = hook->params; p; p = p->next, i++) {
		p->index = i;
		if (i == max)
			ERROR(ctx, p->loc, "too many parameters: abi %s passes %d in registers", hook->abi == ABI_GO ? "go" : "sysv",
			      max);
		for (struct ast_param *q = hook->params; q != p; q = q->next)
			if (strcmp(q->name, p->name) == 0)
				ERROR(ctx, p->loc, "duplicate parameter '%s'", p->name);
		if (is_c_keyword(p->name) || strcmp(p->name, "track_key") == 0)
			ERROR(ctx, p->loc, "parameter name '%s' is reserved in the generated C; choose another", p->name);
		if (no_array(ctx, p->type, "a parameter"))
			resolve_type(ctx, p->type);
	}
	if (hook->ret_type && no_array(ctx, hook->ret_type, "a return type"))
		resolve_type(ctx, hook->ret_type);
}

static void check_hook_target(struct check_ctx *ctx, struct ast_hook *hook)
{
	struct suggest s;
	int i = 0;

	hook->target = 0;
	if (!hook->target_name)
		return;
	for (struct ast_target *t = ctx->mod->targets; t; t = t->next, i++)
		if (strcmp(t->name, hook->target_name) == 0) {
			hook->target = i;
			return;
		}
	suggest_init(&s, hook->target_name);
	for (struct ast_target *t = ctx->mod->targets; t; t = t->next)
		suggest_offer(&s, t->name);
	ERROR(ctx, hook->target_loc, "unknown target '%s'%s", hook->target_name, did_you_mean(ctx, &s));
}

static void check_track(struct check_ctx *ctx, struct ast_hook *hook)
{
	if (!hook->track)
		return;
	ctx->block = NULL;  /* the key is taken at entry */
	if (!require_present_number(ctx, hook->track, "the key of 'track socket'"))
		return;
	/* the return needs the key again: a parameter is saved anyway, anything else as track_key */
	if (hook->track->kind == EX_IDENT && hook->track->ref == REF_PARAM)
		hook->track->param->saved = true;
	else
		hook->save_track_key = true;
}

/* ---- shared steps (`steps NAME { ... }`, `do NAME;`) ------------------------ */

static struct ast_expr *clone_expr(struct check_ctx *ctx, const struct ast_expr *e)
{
	struct ast_expr *c;

	if (!e)
		return NULL;
	c = ARENA_NEW(ctx->arena, struct ast_expr);
	*c = *e;
	c->a = clone_expr(ctx, e->a);
	c->b = clone_expr(ctx, e->b);
	c->c = clone_expr(ctx, e->c);
	c->next = clone_expr(ctx, e->next);
	return c;
}

static struct ast_assign *clone_assigns(struct check_ctx *ctx, const struct ast_assign *a)
{
	struct ast_assign *c;

	if (!a)
		return NULL;
	c = ARENA_NEW(ctx->arena, struct ast_assign);
	*c = *a;
	c->value = clone_expr(ctx, a->value);
	c->next = clone_assigns(ctx, a->next);
	return c;
}

/* The definitions are never checked themselves: each copy is, where it stands. */
static struct ast_stmt *clone_stmts(struct check_ctx *ctx, const struct ast_stmt *st)
{
	struct ast_stmt *c;

	if (!st)
		return NULL;
	c = ARENA_NEW(ctx->arena, struct ast_stmt);
	*c = *st;
	c->value = clone_expr(ctx, st->value);
	c->body = clone_stmts(ctx, st->body);
	c->assigns = clone_assigns(ctx, st->assigns);
	c->next = clone_stmts(ctx, st->next);
	return c;
}

static struct ast_steps *find_steps(struct check_ctx *ctx, const struct ast_stmt *use)
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

/* Replaces each `do NAME;` in *list (and in its ifs) by a copy of NAME's statements. */
static void expand_steps(struct check_ctx *ctx, struct ast_stmt **list)
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
		} else if (steps) {
			steps->used = true;
			steps->expanding = true;
			copy = clone_stmts(ctx, steps->stmts);
			for (struct ast_stmt *c = copy; c; c = c->next)
				c->done_by = st;
			expand_steps(ctx, &copy);
			steps->expanding = false;
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

static void check_hook_body(struct check_ctx *ctx, struct ast_hook *hook)
{
	if (hook->entry)
		expand_steps(ctx, &hook->entry->stmts);
	if (hook->ret)
		expand_steps(ctx, &hook->ret->stmts);
	ctx->hook = hook;
	ctx->n_lets = 0;
	check_track(ctx, hook);
	if (hook->entry)
		check_block(ctx, hook->entry);
	if (hook->ret)
		check_block(ctx, hook->ret);
	ctx->block = NULL;
	if (!hook->track && !hook->entry && !hook->ret)
		ERROR(ctx, hook->loc, "hook '%s' does nothing: give it 'track socket', 'on entry' or 'on return'",
		      hook->symbol);
}

static void plan_programs(struct ast_hook *hook)
{
	bool saves_something = hook->save_track_key;

	for (struct ast_param *p = hook->params; p; p = p->next)
		saves_something |= p->saved;
	if (hook->entry)
		for (struct ast_stmt *s = hook->entry->stmts; s; s = s->next)
			saves_something |= s->saved;
	hook->saves = hook->track || saves_something;
	hook->has_entry_prog = hook->track || hook->entry || hook->saves;
	hook->has_return_prog = hook->track || hook->ret;
}

/* A C identifier for the symbol, unique in its hook set even upper-cased: entry_<name>, PS_HOOK_<NAME>. */
static void name_hook(struct check_ctx *ctx, struct ast_hookset *set, struct ast_hook *hook)
{
	size_t n = strlen(hook->symbol);
	char *name = arena_alloc(ctx->arena, n + 2);
	char *p = name;

	if (isdigit((unsigned char)hook->symbol[0]))
		*p++ = '_';
	for (size_t i = 0; i < n; i++)
		*p++ = isalnum((unsigned char)hook->symbol[i]) ? hook->symbol[i] : '_';
	hook->c_name = name;
	for (int k = 2;; k++) {
		bool taken = false;

		for (struct ast_hook *h = set->hooks; h != hook; h = h->next)
			taken |= strcasecmp(h->c_name, hook->c_name) == 0;   /* PS_HOOK_<NAME> is upper case */
		if (!taken)
			break;
		hook->c_name = arena_printf(ctx->arena, "%s_%d", name, k);
	}
}

static bool names_has(const struct ast_name *list, const char *name)
{
	for (; list; list = list->next)
		if (strcmp(list->name, name) == 0)
			return true;
	return false;
}

/*
 * Two hooks on one symbol never attach together when one needs S (in its
 * `called by`: a binary without S has no such function) and the other is
 * `unless S`: a function whose signature changed, told apart by its caller.
 */
static bool exclusive_hooks(const struct ast_hook *a, const struct ast_hook *b)
{
	return (a->unless && names_has(b->called_by, a->unless)) || (b->unless && names_has(a->called_by, b->unless));
}

static void check_called_by(struct check_ctx *ctx, const struct ast_hook *hook)
{
	for (const struct ast_name *n = hook->called_by; n; n = n->next) {
		if (strcmp(n->name, hook->symbol) == 0)
			ERROR(ctx, n->loc, "hook '%s' cannot be 'called by' itself", hook->symbol);
		for (const struct ast_name *m = hook->called_by; m != n; m = m->next)
			if (strcmp(m->name, n->name) == 0)
				ERROR(ctx, n->loc, "'%s' named twice in 'called by'", n->name);
	}
}

/* `unless calls H`: H must be a hook declared before, of the same target, so sites resolve in order. */
static void check_unless_calls(struct check_ctx *ctx, const struct ast_hookset *set, const struct ast_hook *hook)
{
	for (const struct ast_name *n = hook->unless_calls; n; n = n->next) {
		bool found = false;

		for (const struct ast_hook *h = set->hooks; h != hook; h = h->next)
			if (strcmp(h->symbol, n->name) == 0) {
				found = true;
				if (h->target != hook->target)
					ERROR(ctx, n->loc, "'unless calls %s': hook '%s' is in another target", n->name,
					      n->name);
			}
		if (strcmp(n->name, hook->symbol) == 0)
			ERROR(ctx, n->loc, "hook '%s' cannot be 'unless calls' itself", hook->symbol);
		else if (!found)
			ERROR(ctx, n->loc, "'unless calls %s' names no hook declared before it in hook set '%s'", n->name,
			      set->name);
	}
}

static void check_hooks(struct check_ctx *ctx)
{
	for (struct ast_hookset *set = ctx->mod->hooksets; set; set = set->next) {
		int id = 0;

		for (struct ast_hook *hook = set->hooks; hook; hook = hook->next) {
			hook->id = id++;
			for (struct ast_hook *h = set->hooks; h != hook; h = h->next)
				if (strcmp(h->symbol, hook->symbol) == 0 && !exclusive_hooks(h, hook)) {
					ERROR(ctx, hook->loc, "duplicate hook '%s' in hook set '%s'%s", hook->symbol, set->name,
					      h->called_by || hook->called_by ?
					      " (two hooks on one symbol need 'unless S' on one and S in the other's 'called by')" : "");
					break;
				}
			check_abi(ctx, hook);
			check_go_limits(ctx, hook);
			check_params(ctx, hook);
			check_hook_target(ctx, hook);
			resolve_flag_ref(ctx, &hook->symbol_flag, FT_STRING, "symbol");
			resolve_flag_ref(ctx, &hook->offset_flag, FT_INT, "offset");
			if (hook->unless && strcmp(hook->unless, hook->symbol) == 0)
				ERROR(ctx, hook->unless_loc, "hook '%s' cannot be 'unless' itself", hook->symbol);
			check_called_by(ctx, hook);
			check_unless_calls(ctx, set, hook);
			check_hook_body(ctx, hook);
			plan_programs(hook);
			name_hook(ctx, set, hook);
			set->track_socket |= hook->track != NULL;
		}
	}
}

static void check_duplicate_steps(struct check_ctx *ctx)
{
	for (struct ast_steps *steps = ctx->mod->steps; steps; steps = steps->next)
		for (struct ast_steps *s = ctx->mod->steps; s != steps; s = s->next)
			if (strcmp(s->name, steps->name) == 0) {
				ERROR(ctx, steps->loc, "duplicate steps '%s' (also at line %d)", steps->name, s->loc.line);
				break;
			}
}

/* Steps no hook does are never checked: say so rather than let their mistakes hide. */
static void check_unused_steps(struct check_ctx *ctx)
{
	for (struct ast_steps *steps = ctx->mod->steps; steps; steps = steps->next)
		if (!steps->used)
			diag_warning(ctx->diag, steps->loc, "steps '%s' are never done (no hook has 'do %s;'): not checked",
				     steps->name, steps->name);
}

/* ---- globals, variables, filters ------------------------------------------ */

static int find_target_index(struct check_ctx *ctx, const char *name, struct loc loc)
{
	struct suggest s;
	int i = 0;

	if (!name)
		return 0;
	for (struct ast_target *t = ctx->mod->targets; t; t = t->next, i++)
		if (strcmp(t->name, name) == 0)
			return i;
	suggest_init(&s, name);
	for (struct ast_target *t = ctx->mod->targets; t; t = t->next)
		suggest_offer(&s, t->name);
	ERROR(ctx, loc, "unknown target '%s'%s", name, did_you_mean(ctx, &s));
	return 0;
}

static void check_globals_and_vars(struct check_ctx *ctx)
{
	struct ast_module *mod = ctx->mod;
	int n = 0;

	for (struct ast_global *g = mod->globals; g; g = g->next) {
		g->index = n++;
		for (struct ast_global *h = mod->globals; h != g; h = h->next)
			if (strcmp(h->name, g->name) == 0)
				ERROR(ctx, g->loc, "duplicate global '%s'", g->name);
		if (no_array(ctx, g->type, "a global"))
			resolve_type(ctx, g->type);
		g->target = find_target_index(ctx, g->target_name, g->target_loc);
	}
	mod->n_globals = n;
	n = 0;
	for (struct ast_var *v = mod->vars; v; v = v->next) {
		v->index = n++;
		for (struct ast_var *w = mod->vars; w != v; w = w->next)
			if (strcmp(w->name, v->name) == 0)
				ERROR(ctx, v->loc, "duplicate variable '%s'", v->name);
		for (struct ast_global *g = mod->globals; g; g = g->next)
			if (strcmp(g->name, v->name) == 0) {
				ERROR(ctx, v->loc, "variable '%s' has the name of a global", v->name);
				break;
			}
		if (strcmp(v->per, "process") == 0)
			v->per_process = true;
		else if (strcmp(v->per, "thread") != 0)
			ERROR(ctx, v->per_loc, "a variable is 'per thread' or 'per process', not 'per %s'", v->per);
	}
	mod->n_vars = n;
}

static void check_filter(struct check_ctx *ctx, struct ast_filter *flt)
{
	struct ast_field *found = NULL;
	struct ast_flag *flag;
	struct suggest s;

	for (struct ast_event *ev = ctx->mod->events; ev && !found; ev = ev->next)
		if (!ev->buffer)
			found = find_event_field(ev, flt->field);
	if (!found) {
		suggest_init(&s, flt->field);
		for (struct ast_event *ev = ctx->mod->events; ev; ev = ev->next)
			for (struct ast_field *f = ev->fields; f; f = f->next)
				suggest_offer(&s, f->name);
		ERROR(ctx, flt->loc, "'filter' names no field of an output event: '%s'%s", flt->field,
		      did_you_mean(ctx, &s));
		return;
	}
	if (found->kind == FK_TUPLE || found->kind == FK_BYTES || found->kind == FK_ARRAY) {
		ERROR(ctx, flt->loc, "'filter' compares integer and string fields, and '%s' is %s", flt->field,
		      field_type_text(found));
		return;
	}
	flt->string_field = found->kind == FK_STRING;
	if (flt->string_field && flt->op != OP_EQ && flt->op != OP_NE)
		ERROR(ctx, flt->op_loc, "text compares with == and != only");
	flt->flag = -1;
	if (flt->kind == FV_FLAG) {
		flag = find_flag(ctx->mod, flt->str_value, &flt->flag);
		if (!flag) {
			suggest_init(&s, flt->str_value);
			for (struct ast_flag *f = ctx->mod->flags; f; f = f->next)
				suggest_offer(&s, f->name);
			ERROR(ctx, flt->value_loc, "unknown flag '%s' in 'filter'%s", flt->str_value, did_you_mean(ctx, &s));
			return;
		}
		if (flag->type != (flt->string_field ? FT_STRING : FT_INT))
			ERROR(ctx, flt->value_loc, "'filter' on %s field '%s' needs %s flag, but '%s' is %s %s flag",
			      flt->string_field ? "string" : "integer", flt->field, flt->string_field ? "a string" : "an int",
			      flag->name, flag->type == FT_INT ? "an" : "a", flag_type_name(flag->type));
		return;
	}
	if ((flt->kind == FV_STRING) != flt->string_field)
		ERROR(ctx, flt->value_loc, "'filter' compares %s field '%s' with %s", flt->string_field ? "string" : "integer",
		      flt->field, flt->kind == FV_STRING ? "a string" : "an integer");
}

static void check_filters(struct check_ctx *ctx)
{
	int n = 0;

	for (struct ast_filter *f = ctx->mod->filters; f; f = f->next, n++)
		check_filter(ctx, f);
	ctx->mod->n_filters = n;
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
	check_duplicate_steps(ctx);
	check_hooks(ctx);
	check_unused_steps(ctx);
}

int check_modules(struct arena *arena, struct diag *diag, struct ast_module *modules)
{
	struct check_ctx ctx = { .arena = arena, .diag = diag };
	int before = diag->errors;

	for (struct ast_module *mod = modules; mod; mod = mod->next) {
		for (struct ast_module *m = modules; m != mod; m = m->next)
			if (strcmp(m->name, mod->name) == 0)
				diag_error(diag, mod->loc, "duplicate module '%s' (also in %s:%d)", mod->name, m->src->path,
					   m->loc.line);
		check_module(&ctx, mod);
	}
	free(ctx.lets);
	return diag->errors - before;
}
