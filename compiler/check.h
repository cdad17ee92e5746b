/* SPDX-License-Identifier: MIT */
/*
 * Pass 2: names, types and ranges. Walks every module, reports every mistake
 * it finds, and annotates the tree (offset ids, event layouts, hook ids, what
 * each hook saves) for the emitters.
 */
#ifndef PROBEC_CHECK_H
#define PROBEC_CHECK_H

#include "ast.h"
#include "diag.h"
#include "util.h"

/* Returns the number of errors found; the tree is fit to emit only when 0. */
int check_modules(struct arena *arena, struct diag *diag, struct ast_module *modules);

/* Shared with the emitters. */
const char *scalar_name(enum scalar s);
unsigned scalar_size(enum scalar s);
bool scalar_signed(enum scalar s);
const char *type_spelling(struct arena *arena, const struct ast_type *t);
/* Event structs bigger than this are built in a per-CPU map: the BPF stack has 512 bytes. */
#define BIG_EVENT_SIZE 256

#endif
