/* SPDX-License-Identifier: MIT */
/* What the checker's passes share (check*.c): not for the emitters. */
#ifndef PROBEC_CHECK_CTX_H
#define PROBEC_CHECK_CTX_H

#include "check.h"
#include "emit.h"

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
	const char **not_given;        /* "steps.name" already reported as read without being given */
	int n_not_given;
};

#define ERROR(ctx, loc, ...) diag_error((ctx)->diag, (loc), __VA_ARGS__)

/* check.c: lookups and wording */
bool is_c_keyword(const char *name);
const char *did_you_mean(struct check_ctx *ctx, const struct suggest *s);
struct ast_const *find_const(struct ast_module *mod, const char *name);
struct ast_field *find_event_field(struct ast_event *ev, const char *name);
struct ast_struct_field *find_struct_field(struct ast_struct *s, const char *name);
const char *type_text(struct check_ctx *ctx, const struct ast_type *t);
const char *value_text(struct check_ctx *ctx, const struct value_type *v);
bool is_numeric(const struct value_type *v);
bool no_array(struct check_ctx *ctx, const struct ast_type *t, const char *what);
bool resolve_type(struct check_ctx *ctx, struct ast_type *t);
const char *field_type_text_in(struct arena *arena, const struct ast_field *f);
#define field_type_text(f) field_type_text_in(ctx->arena, (f))
struct ast_struct *find_struct(struct ast_module *mod, const char *name);

/* check_stmts.c: a hook's expressions and statements */
bool require_present_number(struct check_ctx *ctx, struct ast_expr *e, const char *what);
void check_block(struct check_ctx *ctx, struct ast_block *block);

/* check_decls.c: the declarations pass */
void check_flags(struct check_ctx *ctx);
void check_targets(struct check_ctx *ctx);
void check_structs(struct check_ctx *ctx);
void gather_hooksets(struct check_ctx *ctx);
void check_events(struct check_ctx *ctx);
void check_globals_and_vars(struct check_ctx *ctx);
void check_filters(struct check_ctx *ctx);
int find_hookset(struct ast_module *mod, const char *name);
void resolve_flag_ref(struct check_ctx *ctx, struct flag_ref *ref, enum flag_type want, const char *what);

/* check_layouts.c: the layouts pass */
void check_layouts(struct check_ctx *ctx);
void check_accessors_through(struct check_ctx *ctx);

/* check_hooks.c: the hooks pass, programs planned and named */
void check_hooks(struct check_ctx *ctx);

#endif
