/* SPDX-License-Identifier: MIT */
/*
 * Pass 3: the checked tree to C. Every output is built in memory first;
 * main.c writes them only when every spec checked clean.
 *
 *   emit_events.c  M.events.h     event structs shared by both halves
 *   emit_bpf.c     M.H.bpf.c      one BPF object per hook set
 *   emit_tables.c  M.tables.c     the descriptors of runtime/module.h
 *   emit_build.c   M.H.embed.S, modules.gen.c, gen.mk
 */
#ifndef PROBEC_EMIT_H
#define PROBEC_EMIT_H

#include "ast.h"
#include "util.h"

struct gen_file {
	const char *name;          /* relative to the output directory */
	struct buf text;
	struct gen_file *next;
};

struct gen_output {
	struct arena *arena;
	struct gen_file *files;
};

/* A new, empty file at the end of the output. */
struct buf *gen_output_file(struct gen_output *out, const char *name);
void gen_output_free(struct gen_output *out);

void emit_events_h(struct gen_output *out, struct ast_module *mod);
void emit_bpf_c(struct gen_output *out, struct ast_module *mod, struct ast_hookset *set);
void emit_tables_c(struct gen_output *out, struct ast_module *mod);
void emit_build_files(struct gen_output *out, struct ast_module *modules, const struct source *sources, int n_sources);
/* All of the above for every module of the checked tree: what probec writes. */
void emit_all(struct gen_output *out, struct ast_module *modules, const struct source *sources, int n_sources);

/* Helpers the emitters share (emit_common.c). */
const char *upper_name(struct arena *arena, const char *name);
const char *c_scalar_type(enum scalar s);   /* __s32, __u64, ... */
void put_c_string(struct buf *b, const char *s);   /* a C string literal, or NULL */
const char *expr_text(struct arena *arena, const struct ast_expr *e);
const char *event_struct_name(struct arena *arena, const struct ast_module *mod, const struct ast_event *ev);
/* PS_<M>_<EVENT>_<FIELD>_<MEMBER> and PS_<M>_<EVENT>_PRESENT_<FIELD> */
const char *member_const(struct arena *arena, const struct ast_module *mod, const struct ast_event *ev,
			 const struct ast_field *f, int member);
const char *present_const(struct arena *arena, const struct ast_module *mod, const struct ast_event *ev,
			  const struct ast_field *f);

#endif
