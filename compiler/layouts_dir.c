/* SPDX-License-Identifier: MIT */
/*
 * `layouts "DIR";` in a module: its per-version layouts live in DIR/NAME.spec
 * (relative to the spec), one layout a file as the offsets tool writes them,
 * read in version order of their names (strverscmp: 1.1.1 < 3.0 < 3.10).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layouts_dir.h"
#include "parse.h"

static int is_spec_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".spec") == 0;
}

/* The directory a module's spec names, relative to the spec's own directory. */
static const char *layouts_path(struct arena *arena, const struct ast_module *mod)
{
	const char *slash = strrchr(mod->src->path, '/');

	if (mod->layouts_dir[0] == '/' || !slash)
		return mod->layouts_dir;
	return arena_printf(arena, "%.*s/%s", (int)(slash - mod->src->path), mod->src->path, mod->layouts_dir);
}

/* Parses one layouts file; its layouts go to the end of the module's. */
static void load_one(struct arena *arena, struct diag *diag, struct ast_module *mod, const char *path, int index)
{
	struct source *src = ARENA_NEW(arena, struct source);
	struct ast_layout *layouts = NULL, **tail = &mod->layouts;
	char *text = read_whole_file(path);

	if (!text) {
		diag_error(diag, mod->layouts_dir_loc, "cannot read %s: %s", path, strerror(errno));
		return;
	}
	*src = (struct source){ .path = path, .text = arena_strdup(arena, text), .index = index };
	free(text);
	parse_source(arena, diag, src, &layouts);
	while (*tail)
		tail = &(*tail)->next;
	*tail = layouts;
}

static void load_module_layouts(struct arena *arena, struct diag *diag, struct ast_module *mod, int *index)
{
	const char *dir = layouts_path(arena, mod);
	struct dirent **names;
	int n = scandir(dir, &names, is_spec_file, versionsort);

	if (n < 0) {
		diag_error(diag, mod->layouts_dir_loc, "cannot read the layouts directory %s: %s", dir, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		load_one(arena, diag, mod, arena_printf(arena, "%s/%s", dir, names[i]->d_name), (*index)++);
		free(names[i]);
	}
	free(names);
}

void load_layouts_dirs(struct arena *arena, struct diag *diag, struct ast_module *modules, int first_index)
{
	int index = first_index;

	for (struct ast_module *mod = modules; mod; mod = mod->next)
		if (mod->layouts_dir)
			load_module_layouts(arena, diag, mod, &index);
}
