/* SPDX-License-Identifier: MIT */
/* The checker's declarations pass: flags, targets, structs, hook sets, events, globals, variables, filters. */
#include "check_ctx.h"
#include "steps.h"
#include "version_order.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

void check_flags(struct check_ctx *ctx)
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
void resolve_flag_ref(struct check_ctx *ctx, struct flag_ref *ref, enum flag_type want, const char *what)
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

void check_targets(struct check_ctx *ctx)
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
		t->go = t->kind && strcmp(t->kind, "go") == 0;
		if (t->kind && !t->go)
			ERROR(ctx, t->kind_loc, "unknown target kind '%s' (known: go)", t->kind);
		if (!t->library && !t->override.name)
			ERROR(ctx, t->loc, "target '%s' has neither 'library' nor 'override'", t->name);
		resolve_flag_ref(ctx, &t->override, FT_PATH, "override");
		for (struct flag_ref *r = t->override.next; r; r = r->next)
			resolve_flag_ref(ctx, r, FT_PATH, "override");
		check_version_block(ctx, t);
	}
}

struct ast_struct *find_struct(struct ast_module *mod, const char *name)
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

struct ast_struct_field *find_struct_field(struct ast_struct *s, const char *name)
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
bool no_array(struct check_ctx *ctx, const struct ast_type *t, const char *what)
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
bool resolve_type(struct check_ctx *ctx, struct ast_type *t)
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

void check_structs(struct check_ctx *ctx)
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
			/* the copy is read 16 bytes at a time (accessors.c) */
			if (f->accessor_copy && (f->type->kind != SC_U8 || !f->type->array_len || f->type->array_len % 16))
				ERROR(ctx, f->accessor_copy_loc, "accessor copy needs a byte array of a multiple of 16 bytes "
				      "(u8[16], u8[32], ...)");
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
void gather_hooksets(struct check_ctx *ctx)
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

int find_hookset(struct ast_module *mod, const char *name)
{
	int i = 0;

	for (struct ast_hookset *h = mod->hooksets; h; h = h->next, i++)
		if (strcmp(h->name, name) == 0)
			return i;
	return -1;
}

/* ---- events --------------------------------------------------------------- */

struct ast_field *find_event_field(struct ast_event *ev, const char *name)
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

const char *field_type_text_in(struct arena *arena, const struct ast_field *f)
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

void check_events(struct check_ctx *ctx)
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

void check_globals_and_vars(struct check_ctx *ctx)
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

void check_filters(struct check_ctx *ctx)
{
	int n = 0;

	for (struct ast_filter *f = ctx->mod->filters; f; f = f->next, n++)
		check_filter(ctx, f);
	ctx->mod->n_filters = n;
}
