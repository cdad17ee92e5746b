/* SPDX-License-Identifier: MIT */
/* M.tables.c: the module's descriptors (runtime/module.h) the runtime interprets. */
#include "emit.h"
#include "field_reads.h"
#include "version_rule.h"

static const char *flag_type_const(enum flag_type t)
{
	switch (t) {
	case FT_BOOL: return "PS_FLAG_BOOL";
	case FT_INT: return "PS_FLAG_INT";
	case FT_STRING: return "PS_FLAG_STRING";
	case FT_PATH: return "PS_FLAG_PATH";
	}
	return "PS_FLAG_BOOL";
}

static const char *field_kind_const(const struct ast_field *f)
{
	switch (f->kind) {
	case FK_INT: return f->scalar >= SC_U8 ? "PS_FIELD_UINT" : "PS_FIELD_INT";
	case FK_ENUM: return "PS_FIELD_ENUM";
	case FK_TUPLE: return "PS_FIELD_TUPLE";
	case FK_BYTES: return "PS_FIELD_BYTES";
	case FK_STRING: return "PS_FIELD_STRING";
	case FK_ARRAY: return "PS_FIELD_FIXED_BYTES";
	}
	return "PS_FIELD_INT";
}

/* `.name = "value",` on its own line, the string escaped for C. */
static void put_str_member(struct buf *b, const char *indent, const char *name, const char *value)
{
	buf_printf(b, "%s.%s = ", indent, name);
	put_c_string(b, value);
	buf_puts(b, ",\n");
}

static void put_flags(struct buf *b, const struct ast_module *mod)
{
	if (!mod->flags)
		return;
	buf_printf(b, "static const struct ps_flag_desc %s_flags[] = {\n", mod->name);
	for (const struct ast_flag *f = mod->flags; f; f = f->next) {
		buf_puts(b, "\t{\n");
		put_str_member(b, "\t\t", "name", f->name);
		if (f->short_name)
			buf_printf(b, "\t\t.short_name = '%c',\n", f->short_name[0]);
		else
			buf_puts(b, "\t\t.short_name = 0,\n");
		buf_printf(b, "\t\t.type = %s,\n", flag_type_const(f->type));
		put_str_member(b, "\t\t", "default_value", f->default_value);
		put_str_member(b, "\t\t", "help", f->help);
		buf_puts(b, "\t},\n");
	}
	buf_puts(b, "};\n\n");
}

static void put_version_rule(struct buf *b, const char *indent, const struct ast_version *v,
			     const struct ast_match *m)
{
	put_str_member(b, indent, "section", m->file_name ? PS_VERSION_FILE_NAME : v->section);
	put_str_member(b, indent, "regex", m->regex);
	put_str_member(b, indent, "product", m->product);
	put_str_member(b, indent, "needed_prefix", v->needed);
	buf_printf(b, "%s.force_flag = %d,\n", indent, v->force.name ? v->force.index : -1);
}

static void put_targets(struct buf *b, const struct ast_module *mod)
{
	buf_printf(b, "static const struct ps_target_desc %s_targets[] = {\n", mod->name);
	for (const struct ast_target *t = mod->targets; t; t = t->next) {
		const struct ast_match *first = t->version->matches;

		buf_puts(b, "\t{\n");
		put_str_member(b, "\t\t", "name", t->name);
		put_str_member(b, "\t\t", "library", t->library);
		buf_printf(b, "\t\t.override_flag = %d,\n", t->override.name ? t->override.index : -1);
		if (t->go)
			buf_puts(b, "\t\t.go = true,\n");
		buf_puts(b, "\t\t.version = {\n");
		put_version_rule(b, "\t\t\t", t->version, first);
		buf_puts(b, "\t\t},\n");
		if (first->next) {
			int n = 0;

			buf_puts(b, "\t\t.more_versions = (const struct ps_version_rule[]){\n");
			for (const struct ast_match *m = first->next; m; m = m->next, n++) {
				buf_puts(b, "\t\t\t{\n");
				put_version_rule(b, "\t\t\t\t", t->version, m);
				buf_puts(b, "\t\t\t},\n");
			}
			buf_printf(b, "\t\t},\n\t\t.n_more_versions = %d,\n", n);
		}
		if (t->override.next) {
			int n = 0;

			buf_puts(b, "\t\t.more_overrides = (const int32_t[]){");
			for (const struct flag_ref *r = t->override.next; r; r = r->next, n++)
				buf_printf(b, " %d,", r->index);
			buf_printf(b, " },\n\t\t.n_more_overrides = %d,\n", n);
		}
		buf_puts(b, "\t},\n");
	}
	buf_puts(b, "};\n\n");
}

static void put_offsets_and_layouts(struct buf *b, struct arena *a, const struct ast_module *mod, const char *M)
{
	int i = 0;
	bool has_slots = mod->n_offsets + mod->n_consts > 0;

	if (has_slots) {
		buf_printf(b, "static const struct ps_offset_desc %s_offsets[] = {\n", mod->name);
		for (const struct ast_struct *s = mod->structs; s; s = s->next)
			for (const struct ast_struct_field *f = s->fields; f; f = f->next) {
				buf_printf(b, "\t[PS_%s_OFF_%s_%s] = { \"%s\", \"%s\"", M, upper_name(a, s->name),
					   upper_name(a, f->name), s->name, f->name);
				if (f->accessor) {
					buf_puts(b, ", ");
					put_c_string(b, f->accessor);
					buf_printf(b, ", %d", f->accessor_load);
				}
				if (f->through_field)
					buf_printf(b, ", .has_through = true, .through = %d", f->through_field->offset_id);
				if (f->accessor && !f->type->array_len && f->type->kind == SC_PTR)
					buf_puts(b, ", .pointer = true");
				if (f->accessor_copy)
					buf_printf(b, ", .copy_length = %u", f->type->array_len);
				if (s->abi)
					buf_puts(b, ", .abi = true");
				buf_puts(b, " },\n");
			}
		/* a constant is no struct's field: no accessor checks it */
		for (const struct ast_const *c = mod->consts; c; c = c->next)
			buf_printf(b, "\t[PS_%s_CONST_%s] = { \"const\", \"%s\" },\n", M, upper_name(a, c->name), c->name);
		buf_puts(b, "};\n\n");
	}
	for (const struct ast_layout *l = mod->layouts; l; l = l->next, i++) {
		if (!has_slots)
			break;
		buf_printf(b, "/* layout \"%s\": -1 where the field does not exist */\n", l->name);
		buf_printf(b, "static const int32_t %s_layout%d_offsets[PS_%s_N_OFFSETS] = {\n", mod->name, i, M);
		for (const struct ast_struct *s = mod->structs; s; s = s->next)
			for (const struct ast_struct_field *f = s->fields; f; f = f->next)
				buf_printf(b, "\t[PS_%s_OFF_%s_%s] = %d,\n", M, upper_name(a, s->name), upper_name(a, f->name),
					   l->values[f->offset_id]);
		for (const struct ast_const *c = mod->consts; c; c = c->next)
			buf_printf(b, "\t[PS_%s_CONST_%s] = %d,\n", M, upper_name(a, c->name), l->values[c->id]);
		buf_puts(b, "};\n\n");
	}
	if (!mod->layouts)
		return;
	i = 0;
	buf_printf(b, "static const struct ps_layout_desc %s_layouts[] = {\n", mod->name);
	for (const struct ast_layout *l = mod->layouts; l; l = l->next, i++) {
		buf_puts(b, "\t{\n");
		put_str_member(b, "\t\t", "name", l->name);
		put_str_member(b, "\t\t", "product", l->product);
		put_str_member(b, "\t\t", "min_version", l->min_version);
		put_str_member(b, "\t\t", "max_version", l->max_version);
		if (l->below_version)
			put_str_member(b, "\t\t", "below_version", l->below_version);
		put_str_member(b, "\t\t", "source", l->source);
		if (has_slots)
			buf_printf(b, "\t\t.offsets = %s_layout%d_offsets,\n", mod->name, i);
		else
			buf_puts(b, "\t\t.offsets = NULL,\n");
		buf_printf(b, "\t\t.hookset = %d,\n", l->hookset);
		if (l->go_stack_abi)
			buf_puts(b, "\t\t.go_stack_abi = true,\n");
		buf_puts(b, "\t},\n");
	}
	buf_puts(b, "};\n\n");
}

/* `.NAME = (const char *const[]){ "a", "b" }, .n_NAME = 2,`; nothing for an empty list. */
static void put_name_list(struct buf *b, const char *member, const struct ast_name *list)
{
	int n = 0;

	if (!list)
		return;
	buf_printf(b, "\t\t.%s = (const char *const[]){", member);
	for (; list; list = list->next, n++) {
		buf_puts(b, n ? ", " : " ");
		put_c_string(b, list->name);
	}
	buf_printf(b, " },\n\t\t.n_%s = %d,\n", member, n);
}

/* A bit per event id (the first 32) that the statements can emit, in either branch of an `if`. */
static uint32_t stmts_emits(const struct ast_stmt *st)
{
	uint32_t bits = 0;

	for (; st; st = st->next) {
		if (st->kind == ST_IF)
			bits |= stmts_emits(st->body);
		if (st->kind == ST_EMIT && st->event && st->event->id < 32)
			bits |= 1u << st->event->id;
	}
	return bits;
}

static uint32_t hook_emits(const struct ast_hook *h)
{
	return (h->entry ? stmts_emits(h->entry->stmts) : 0) | (h->ret ? stmts_emits(h->ret->stmts) : 0);
}

static void put_hooksets(struct buf *b, const struct ast_module *mod)
{
	for (const struct ast_hookset *set = mod->hooksets; set; set = set->next) {
		buf_printf(b, "extern const unsigned char ps_bpf_%s_%s[], ps_bpf_%s_%s_end[];\n\n", mod->name, set->name,
			   mod->name, set->name);
		buf_printf(b, "/* Indexed by hook id (PS_HOOK_* in %s.%s.bpf.c). */\n", mod->name, set->name);
		buf_printf(b, "static const struct ps_hook_desc %s_%s_hooks[] = {\n", mod->name, set->name);
		for (const struct ast_hook *h = set->hooks; h; h = h->next) {
			buf_puts(b, "\t{\n");
			put_str_member(b, "\t\t", "symbol", h->symbol);
			buf_printf(b, "\t\t.target = %d,\n", h->target);
			if (h->has_entry_prog)
				buf_printf(b, "\t\t.entry_prog = \"entry_%s\",\n", h->c_name);
			else
				buf_puts(b, "\t\t.entry_prog = NULL,\n");
			if (h->has_return_prog)
				buf_printf(b, "\t\t.return_prog = \"return_%s\",\n", h->c_name);
			else
				buf_puts(b, "\t\t.return_prog = NULL,\n");
			buf_printf(b, "\t\t.optional = %s,\n", h->optional ? "true" : "false");
			buf_printf(b, "\t\t.abi = %s,\n", h->abi == ABI_GO ? "PS_ABI_GO" : "PS_ABI_SYSV");
			buf_printf(b, "\t\t.emits = 0x%xu,\n", hook_emits(h));
			if (h->unless)
				put_str_member(b, "\t\t", "unless", h->unless);
			put_name_list(b, "called_by", h->called_by);
			put_name_list(b, "called_with", h->called_with);
			put_name_list(b, "unless_calls", h->unless_calls);
			if (h->wire_only)
				buf_puts(b, "\t\t.wire_only = true,\n");
			if (h->slot_field) {
				put_str_member(b, "\t\t", "slot_of", h->slot_of);
				buf_printf(b, "\t\t.slot = %d,\n", h->slot_field->offset_id);
			}
			buf_printf(b, "\t\t.symbol_flag = %d,\n", h->symbol_flag.name ? h->symbol_flag.index : -1);
			buf_printf(b, "\t\t.offset_flag = %d,\n", h->offset_flag.name ? h->offset_flag.index : -1);
			buf_puts(b, "\t},\n");
		}
		buf_puts(b, "};\n\n");
	}
	buf_printf(b, "static const struct ps_hookset_desc %s_hooksets[] = {\n", mod->name);
	for (const struct ast_hookset *set = mod->hooksets; set; set = set->next) {
		int n = 0;

		for (const struct ast_hook *h = set->hooks; h; h = h->next)
			n++;
		buf_puts(b, "\t{\n");
		put_str_member(b, "\t\t", "name", set->name);
		buf_printf(b, "\t\t.bpf_obj = ps_bpf_%s_%s,\n", mod->name, set->name);
		buf_printf(b, "\t\t.bpf_obj_end = ps_bpf_%s_%s_end,\n", mod->name, set->name);
		buf_printf(b, "\t\t.hooks = %s_%s_hooks,\n", mod->name, set->name);
		buf_printf(b, "\t\t.n_hooks = %d,\n", n);
		buf_printf(b, "\t\t.track_socket = %s,\n", set->track_socket ? "true" : "false");
		buf_puts(b, "\t},\n");
	}
	buf_puts(b, "};\n\n");
}

/*
 * The offsets an event field's value is read through, in every hook that
 * emits it: the runtime drops the field when one of them cannot be trusted
 * (a layout its accessors contradict). Written as `.reads`; none: nothing.
 */
static void put_field_reads(struct buf *b, struct arena *a, const struct ast_module *mod, const struct ast_field *f)
{
	bool *reads = arena_alloc(a, (size_t)(mod->n_offsets ? mod->n_offsets : 1));
	int n = 0;

	field_reads(mod, f, reads);
	for (int i = 0; i < mod->n_offsets; i++)
		n += reads[i];
	if (!n)
		return;
	buf_puts(b, "\t\t.reads = (const uint32_t[]){");
	for (int i = 0; i < mod->n_offsets; i++)
		if (reads[i])
			buf_printf(b, " %d,", i);
	buf_printf(b, " },\n\t\t.n_reads = %d,\n", n);
}

static void put_event_fields(struct buf *b, struct arena *a, const struct ast_module *mod, const struct ast_event *ev)
{
	const char *type = event_struct_name(a, mod, ev);

	for (const struct ast_field *f = ev->fields; f; f = f->next) {
		if (f->kind != FK_ENUM)
			continue;
		buf_printf(b, "static const char *const %s_%s_%s_names[] = {", mod->name, ev->name, f->name);
		for (const struct ast_name *m = f->members; m; m = m->next)
			buf_printf(b, " \"%s\",", m->name);
		buf_puts(b, " };\n");
	}
	buf_printf(b, "static const struct ps_field_desc %s_%s_fields[] = {\n", mod->name, ev->name);
	for (const struct ast_field *f = ev->fields; f; f = f->next) {
		buf_puts(b, "\t{\n");
		put_str_member(b, "\t\t", "name", f->name);
		buf_printf(b, "\t\t.kind = %s,\n", field_kind_const(f));
		if (f == ev->var_field) {
			buf_printf(b, "\t\t.offset = sizeof(%s),\n", type);
			buf_puts(b, "\t\t.size = 0,\n");
		} else {
			buf_printf(b, "\t\t.offset = offsetof(%s, %s),\n", type, f->name);
			buf_printf(b, "\t\t.size = PS_MEMBER_SIZE(%s, %s),\n", type, f->name);
		}
		if (f->optional)
			buf_printf(b, "\t\t.present_bit = %s,\n", present_const(a, mod, ev, f));
		else
			buf_puts(b, "\t\t.present_bit = -1,\n");
		if (f->kind == FK_ENUM) {
			int n = 0;

			for (const struct ast_name *m = f->members; m; m = m->next)
				n++;
			buf_printf(b, "\t\t.enum_names = %s_%s_%s_names,\n", mod->name, ev->name, f->name);
			buf_printf(b, "\t\t.n_enum = %d,\n", n);
		}
		buf_printf(b, "\t\t.hidden = %s,\n", f->hidden ? "true" : "false");
		if (f->text)
			buf_puts(b, "\t\t.text = true,\n");
		buf_printf(b, "\t\t.check_field = %d,\n", f->check_index);
		if (f->collect_ev) {
			buf_printf(b, "\t\t.collect = true,\n\t\t.collect_event = %d,\n", f->collect_ev->id);
			if (f->joined)
				put_str_member(b, "\t\t", "joined", f->joined);
		}
		put_field_reads(b, a, mod, f);
		if (f->unescape)
			buf_printf(b, "\t\t.unescape = true,\n\t\t.unescape_byte = 0x%02llx,\n\t\t.unescape_xor = 0x%02llx,\n",
				   f->unescape_byte, f->unescape_xor);
		buf_puts(b, "\t},\n");
	}
	buf_puts(b, "};\n\n");
}

static void put_events(struct buf *b, struct arena *a, const struct ast_module *mod)
{
	if (!mod->events)
		return;
	for (const struct ast_event *ev = mod->events; ev; ev = ev->next)
		put_event_fields(b, a, mod, ev);
	buf_printf(b, "static const struct ps_event_desc %s_events[] = {\n", mod->name);
	for (const struct ast_event *ev = mod->events; ev; ev = ev->next) {
		buf_puts(b, "\t{\n");
		put_str_member(b, "\t\t", "name", ev->name);
		buf_printf(b, "\t\t.fixed_size = sizeof(%s),\n", event_struct_name(a, mod, ev));
		buf_printf(b, "\t\t.fields = %s_%s_fields,\n", mod->name, ev->name);
		buf_printf(b, "\t\t.n_fields = %d,\n", ev->n_fields);
		buf_printf(b, "\t\t.var_field = %d,\n", ev->var_field ? ev->var_field->index : -1);
		if (ev->buffer)
			buf_printf(b, "\t\t.buffer = %s,\n", ev->buffer == BUF_PID ? "PS_BUFFER_PID" : "PS_BUFFER_TID");
		buf_puts(b, "\t},\n");
	}
	buf_puts(b, "};\n\n");
}

static void put_globals_and_filters(struct buf *b, const struct ast_module *mod)
{
	static const char *const ops[] = {
		[OP_EQ] = "PS_FILTER_EQ", [OP_NE] = "PS_FILTER_NE", [OP_LT] = "PS_FILTER_LT",
		[OP_LE] = "PS_FILTER_LE", [OP_GT] = "PS_FILTER_GT", [OP_GE] = "PS_FILTER_GE",
	};

	if (mod->globals) {
		buf_printf(b, "/* Indexed like ps_link.global_vaddr[] in the BPF objects. */\n");
		buf_printf(b, "static const struct ps_global_desc %s_globals[] = {\n", mod->name);
		for (const struct ast_global *g = mod->globals; g; g = g->next) {
			buf_puts(b, "\t{ ");
			put_c_string(b, g->name);
			buf_printf(b, ", %d, %s },\n", g->target, g->optional ? "true" : "false");
		}
		buf_puts(b, "};\n\n");
	}
	if (mod->filters) {
		buf_printf(b, "static const struct ps_filter_desc %s_filters[] = {\n", mod->name);
		for (const struct ast_filter *f = mod->filters; f; f = f->next) {
			buf_puts(b, "\t{\n");
			put_str_member(b, "\t\t", "field", f->field);
			buf_printf(b, "\t\t.op = %s,\n", ops[f->op]);
			buf_printf(b, "\t\t.text = %s,\n", f->string_field ? "true" : "false");
			buf_printf(b, "\t\t.flag = %d,\n", f->kind == FV_FLAG ? f->flag : -1);
			buf_printf(b, "\t\t.value = %lldLL,\n", f->kind == FV_INT ? f->int_value : 0);
			put_str_member(b, "\t\t", "text_value", f->kind == FV_STRING ? f->str_value : NULL);
			buf_puts(b, "\t},\n");
		}
		buf_puts(b, "};\n\n");
	}
}

static void put_table_ref(struct buf *b, const char *member, bool present, const char *mod, const char *table,
			  int n)
{
	if (present)
		buf_printf(b, "\t.%s = %s_%s,\n", member, mod, table);
	else
		buf_printf(b, "\t.%s = NULL,\n", member);
	buf_printf(b, "\t.n_%s = %d,\n", member, present ? n : 0);
}

void emit_tables_c(struct gen_output *out, struct ast_module *mod)
{
	struct arena *a = out->arena;
	const char *M = upper_name(a, mod->name);
	struct buf *b = gen_output_file(out, arena_printf(a, "%s.tables.c", mod->name));

	buf_printf(b, "/* Generated by probec from %s (module %s); do not edit. */\n", mod->src->path, mod->name);
	buf_printf(b, "#include <stddef.h>\n\n#include \"module.h\"\n#include \"%s.events.h\"\n\n", mod->name);
	buf_puts(b, "#define PS_MEMBER_SIZE(type, member) sizeof(((type *)0)->member)\n\n");
	put_flags(b, mod);
	put_targets(b, mod);
	put_offsets_and_layouts(b, a, mod, M);
	put_hooksets(b, mod);
	put_events(b, a, mod);
	put_globals_and_filters(b, mod);

	buf_printf(b, "const struct ps_module_desc ps_module_%s = {\n", mod->name);
	put_str_member(b, "\t", "name", mod->name);
	put_str_member(b, "\t", "help", mod->help);
	if (mod->alias)
		put_str_member(b, "\t", "alias", mod->alias);
	put_str_member(b, "\t", "spec_path", mod->src->path);
	put_table_ref(b, "flags", mod->flags, mod->name, "flags", mod->n_flags);
	put_table_ref(b, "targets", true, mod->name, "targets", mod->n_targets);
	put_table_ref(b, "offsets", mod->n_offsets + mod->n_consts > 0, mod->name, "offsets",
		      mod->n_offsets + mod->n_consts);
	put_table_ref(b, "layouts", mod->layouts, mod->name, "layouts", mod->n_layouts);
	put_table_ref(b, "hooksets", true, mod->name, "hooksets", mod->n_hooksets);
	put_table_ref(b, "events", mod->events, mod->name, "events", mod->n_events);
	if (mod->globals)
		put_table_ref(b, "globals", true, mod->name, "globals", mod->n_globals);
	if (mod->filters)
		put_table_ref(b, "filters", true, mod->name, "filters", mod->n_filters);
	buf_puts(b, "};\n");
}
