/* SPDX-License-Identifier: MIT */
/* Pass 1: a spec's text to its tree (parser.y, lexer.l). */
#ifndef PROBEC_PARSE_H
#define PROBEC_PARSE_H

#include "ast.h"
#include "diag.h"
#include "util.h"

/* Everything the reentrant scanner and parser share, passed to both. */
struct parse_ctx {
	struct arena *arena;
	struct diag *diag;
	const struct source *src;
	struct ast_module *modules;    /* what the spec defines, in order */
	struct ast_layout *layouts;    /* a layouts file's */
	int start_token;               /* the first token to return: LAYOUTS_FILE for a layouts file */
	int line, col;                 /* where the scanner is */
};

/*
 * Parses src; errors go to diag. Returns the modules, possibly incomplete.
 * With layouts, src is a layouts file (nothing but layouts): *layouts gets them.
 */
struct ast_module *parse_source(struct arena *arena, struct diag *diag, const struct source *src,
				struct ast_layout **layouts);

/* Called by the scanner for every token: fills its location. */
void parse_track_location(struct parse_ctx *ctx, struct loc *loc, const char *text, int len);

#endif
