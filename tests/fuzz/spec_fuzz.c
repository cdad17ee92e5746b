/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: probec's passes (compiler/) on a spec, as main.c runs them:
 * parse, check, and when it checked clean, emit into memory. The input is
 * the spec's text; after a NUL byte, if any, one layouts file's text, which
 * stands for the files of the first module's `layouts "DIR";` (the
 * filesystem is not read). Diagnostics are printed to /dev/null, so their
 * rendering (the line shown, the caret) runs too.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "emit.h"
#include "parse.h"

static struct source spec_source(struct arena *arena, const char *path, const uint8_t *text, size_t len,
				       int index)
{
	return (struct source){ .path = path, .text = arena_strndup(arena, (const char *)text, len), .index = index };
}

/* What load_layouts_dirs does with a directory of one file: its layouts go after the module's own. */
static void add_layouts_file(struct arena *arena, struct diag *diag, struct ast_module *modules,
			     const struct source *src)
{
	struct ast_layout *layouts = NULL, **tail;
	struct ast_module *mod = modules;

	while (mod && !mod->layouts_dir)
		mod = mod->next;
	if (!mod)
		return;
	parse_source(arena, diag, src, &layouts);
	for (tail = &mod->layouts; *tail; tail = &(*tail)->next)
		;
	*tail = layouts;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct arena arena = { 0 };
	struct diag diag = { 0 };
	struct gen_output out = { .arena = &arena };
	const uint8_t *nul = memchr(data, '\0', size);
	size_t spec_len = nul ? (size_t)(nul - data) : size;
	struct source sources[2];
	struct ast_module *modules;

	if (!sink)
		sink = fopen("/dev/null", "w");
	sources[0] = spec_source(&arena, "fuzz/fuzz.spec", data, spec_len, 0);
	modules = parse_source(&arena, &diag, &sources[0], NULL);
	if (nul) {
		sources[1] = spec_source(&arena, "fuzz/layouts/1.0.spec", nul + 1, size - spec_len - 1, 1);
		if (!diag.errors)
			add_layouts_file(&arena, &diag, modules, &sources[1]);
	}
	if (!diag.errors)
		check_modules(&arena, &diag, modules);
	if (!diag.errors)
		emit_all(&out, modules, sources, 1);
	diag_flush(&diag, sink);
	gen_output_free(&out);
	diag_free(&diag);
	arena_free(&arena);
	return 0;
}
