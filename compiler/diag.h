/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics: `file:line:col: error: message`, the line, and a caret under
 * the place. They are collected and printed sorted by place, so that one run
 * reports every mistake in the order a reader meets them.
 */
#ifndef PROBEC_DIAG_H
#define PROBEC_DIAG_H

#include <stdio.h>

#include "ast.h"

struct diag_entry;

struct diag {
	struct diag_entry *entries;
	int n, cap;
	int errors;
};

void diag_error(struct diag *diag, struct loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(struct diag *diag, struct loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Where an error just reported came from (e.g. the `do` that copied the statement in). */
void diag_note(struct diag *diag, struct loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prints what was collected, sorted, each message once, and forgets it. */
void diag_flush(struct diag *diag, FILE *out);
void diag_free(struct diag *diag);

#endif
