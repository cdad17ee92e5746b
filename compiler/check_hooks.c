/* SPDX-License-Identifier: MIT */
/*
 * The checker's hooks pass: each hook's ABI, parameters, target and socket
 * tracking, its body (steps.c, check_stmts.c), then its programs planned
 * and named.
 */
#include "check_ctx.h"
#include "steps.h"
#include "version_order.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	/* a goroutine may block and resume on another thread between entry and return */
	static const char why[] =
		"a goroutine's syscalls are not its thread's; read the fd from the connection's fields instead";

	if (hook->abi != ABI_GO)
		return;
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

static void check_hook_body(struct check_ctx *ctx, struct ast_hook *hook)
{
	steps_expand_hook(ctx->arena, ctx->diag, ctx->mod, hook);
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
	for (const struct ast_name *n = hook->called_with; n; n = n->next) {
		if (!n->name[0])
			ERROR(ctx, n->loc, "'called with' needs a string with text in it");
		for (const struct ast_name *m = hook->called_with; m != n; m = m->next)
			if (strcmp(m->name, n->name) == 0)
				ERROR(ctx, n->loc, "\"%s\" named twice in 'called with'", n->name);
	}
	if (hook->called_by && hook->called_with)
		ERROR(ctx, hook->called_with->loc, "hook '%s' is found either by its callers or by the strings passed "
		      "to it: 'called by' and 'called with' exclude each other", hook->symbol);
}

/*
 * `slot S.F of T`: F, a pointer field of a struct the spec declares, is the
 * slot of the table the exported function T returns (its layouts give F's
 * offset); the hook is the function the slot holds.
 */
static void check_slot(struct check_ctx *ctx, struct ast_hook *hook)
{
	const char *dot;
	struct ast_struct *s;
	struct ast_struct_field *f = NULL;

	if (!hook->slot)
		return;
	if (hook->called_by || hook->called_with)
		ERROR(ctx, hook->slot_loc, "hook '%s' is found either in a table ('slot') or by the calls to it "
		      "('called by', 'called with'), not both", hook->symbol);
	if (strcmp(hook->slot_of, hook->symbol) == 0)
		ERROR(ctx, hook->slot_of_loc, "hook '%s' cannot be in a table '%s' itself returns", hook->symbol,
		      hook->symbol);
	dot = strchr(hook->slot, '.');
	s = dot ? find_struct(ctx->mod, arena_printf(ctx->arena, "%.*s", (int)(dot - hook->slot), hook->slot)) : NULL;
	if (s)
		f = find_struct_field(s, dot + 1);
	if (!f) {
		ERROR(ctx, hook->slot_loc, "unknown offset '%s' in 'slot': name a pointer field of a struct of the "
		      "module (STRUCT.FIELD)", hook->slot);
		return;
	}
	if (f->type->array_len || f->type->kind != SC_PTR) {
		ERROR(ctx, hook->slot_loc, "slot '%s' must be a 'ptr' field: it holds the function's address",
		      hook->slot);
		return;
	}
	hook->slot_field = f;
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

void check_hooks(struct check_ctx *ctx)
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
			check_slot(ctx, hook);
			check_unless_calls(ctx, set, hook);
			check_hook_body(ctx, hook);
			plan_programs(hook);
			name_hook(ctx, set, hook);
			set->track_socket |= hook->track != NULL;
		}
	}
}
