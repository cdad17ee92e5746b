/* SPDX-License-Identifier: MIT */
/* Pass 2a: shared steps expanded into the hooks that do them (steps.c). */
#ifndef PROBEC_STEPS_H
#define PROBEC_STEPS_H

#include "ast.h"
#include "diag.h"
#include "util.h"

/* Replaces every `do` in the hook's blocks by a copy of the steps it names. */
void steps_expand_hook(struct arena *arena, struct diag *diag, struct ast_module *mod, struct ast_hook *hook);
/* Steps declared twice, parameters named twice. */
void steps_check_declarations(struct diag *diag, struct ast_module *mod);
/* A warning for steps no hook does (never checked). Run after every hook's expansion. */
void steps_check_unused(struct diag *diag, struct ast_module *mod);

#endif
