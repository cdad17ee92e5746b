/* SPDX-License-Identifier: MIT */
/* Planning: the offsets an event field's value is read through (field_reads.c). */
#ifndef PROBEC_FIELD_READS_H
#define PROBEC_FIELD_READS_H

#include <stdbool.h>

#include "ast.h"

/* Sets reads[id] for every offset id (of mod->n_offsets) that f's value reads in any hook. */
void field_reads(const struct ast_module *mod, const struct ast_field *f, bool *reads);

#endif
