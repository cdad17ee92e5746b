/* SPDX-License-Identifier: MIT */
/* Pass 1b: the layouts a module keeps in files of their own (`layouts "DIR";`). */
#ifndef PROBEC_LAYOUTS_DIR_H
#define PROBEC_LAYOUTS_DIR_H

#include "ast.h"
#include "diag.h"
#include "util.h"

/*
 * Parses DIR/NAME.spec of every module that names one and appends their layouts
 * to its own; errors go to diag. Their sources are numbered from first_index
 * on, after the specs given, for the order of diagnostics.
 */
void load_layouts_dirs(struct arena *arena, struct diag *diag, struct ast_module *modules, int first_index);

#endif
