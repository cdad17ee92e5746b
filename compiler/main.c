/* SPDX-License-Identifier: MIT */
/*
 * probec: specs/ to eBPF C, event headers and runtime tables.
 *
 *   parse (parser.y, lexer.l; layouts_dir.c for `layouts "DIR";`) -> check (check.c) -> emit (emit_*.c)
 *
 * Outputs are built in memory and written only when every spec checked
 * clean, so a mistake never leaves half a set of generated files behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "emit.h"
#include "layouts_dir.h"
#include "parse.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: probec [-o OUTDIR] SPEC...\n"
		"       probec --list-fields MODULE SPEC...\n"
		"Compiles plainsight specs (see specs/README.md) into, for each module M and hook set H:\n"
		"  M.events.h, M.H.bpf.c, M.H.embed.S, M.tables.c, and modules.gen.c, gen.mk.\n"
		"  -o OUTDIR   where to write them (default: .); nothing is written on error\n"
		"  --list-fields MODULE\n"
		"              print the struct fields MODULE declares, one \"STRUCT PATH TYPE\" a line\n"
		"              (the spec is parsed, not checked: struct blocks alone will do)\n"
		"  -h, --help  this text\n");
}

static int write_file(const char *dir, const struct gen_file *file)
{
	struct buf path = { 0 };
	FILE *f;
	int ok;

	buf_printf(&path, "%s/%s", dir, file->name);
	f = fopen(buf_str(&path), "w");
	if (!f) {
		fprintf(stderr, "probec: cannot write %s: %s\n", buf_str(&path), strerror(errno));
		buf_free(&path);
		return -1;
	}
	ok = fwrite(buf_str((struct buf *)&file->text), 1, file->text.len, f) == file->text.len;
	ok = (fclose(f) == 0) && ok;
	if (!ok)
		fprintf(stderr, "probec: cannot write %s: %s\n", buf_str(&path), strerror(errno));
	buf_free(&path);
	return ok ? 0 : -1;
}

static int write_outputs(const char *dir, const struct gen_output *out)
{
	if (mkdir(dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "probec: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (const struct gen_file *f = out->files; f; f = f->next)
		if (write_file(dir, f))
			return -1;
	return 0;
}

struct options {
	const char *outdir;
	const char *list_module;   /* --list-fields MODULE */
	const char **specs;
	int n_specs;
};

/* 0 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct options *opt)
{
	opt->outdir = ".";
	opt->list_module = NULL;
	opt->specs = xmalloc((size_t)argc * sizeof(*opt->specs));
	opt->n_specs = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(arg, "-o") == 0) {
			if (++i == argc) {
				fprintf(stderr, "probec: -o needs a directory\n");
				usage(stderr);
				return 2;
			}
			opt->outdir = argv[i];
		} else if (strcmp(arg, "--list-fields") == 0) {
			if (++i == argc) {
				fprintf(stderr, "probec: --list-fields needs a module name\n");
				usage(stderr);
				return 2;
			}
			opt->list_module = argv[i];
		} else if (arg[0] == '-' && arg[1]) {
			fprintf(stderr, "probec: unknown option '%s'\n", arg);
			usage(stderr);
			return 2;
		} else {
			opt->specs[opt->n_specs++] = arg;
		}
	}
	if (!opt->n_specs) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* Parses every spec; returns the modules of those that parsed clean. */
static struct ast_module *parse_all(struct arena *arena, struct diag *diag, struct source *sources, int n)
{
	struct ast_module *all = NULL, **tail = &all;

	for (int i = 0; i < n; i++) {
		int before = diag->errors;
		struct ast_module *mods = parse_source(arena, diag, &sources[i], NULL);

		if (diag->errors != before)
			continue;   /* a broken tree would only add confusing check errors */
		*tail = mods;
		while (*tail)
			tail = &(*tail)->next;
	}
	return all;
}

/*
 * --list-fields: what the offsets tool measures. One line per struct field of
 * the module, in spec order: "ssl_st s3.client_random u8[32]".
 */
static int list_fields(struct arena *arena, struct ast_module *modules, const char *name)
{
	for (struct ast_module *m = modules; m; m = m->next) {
		if (strcmp(m->name, name) != 0)
			continue;
		for (struct ast_struct *s = m->structs; s; s = s->next)
			for (struct ast_struct_field *f = s->fields; f; f = f->next)
				printf("%s %s %s\n", s->name, f->name, type_spelling(arena, f->type));
		return fflush(stdout) == 0 ? 0 : 1;
	}
	fprintf(stderr, "probec: no module '%s' in the specs given\n", name);
	return 1;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct arena arena = { 0 };
	struct diag diag = { 0 };
	struct gen_output out = { .arena = &arena };
	struct source *sources;
	struct ast_module *modules;
	int status = parse_args(argc, argv, &opt);

	if (status) {
		free(opt.specs);
		return status;
	}
	sources = xmalloc((size_t)opt.n_specs * sizeof(*sources));
	for (int i = 0; i < opt.n_specs; i++) {
		char *text = read_whole_file(opt.specs[i]);

		if (!text) {
			fprintf(stderr, "probec: cannot open %s: %s\n", opt.specs[i], strerror(errno));
			status = 1;
		}
		sources[i] = (struct source){ .path = opt.specs[i], .text = text ? arena_strdup(&arena, text) : "",
					      .index = i };
		free(text);
	}
	if (status == 0) {
		modules = parse_all(&arena, &diag, sources, opt.n_specs);
		if (opt.list_module) {
			diag_flush(&diag, stderr);
			status = diag.errors ? 1 : list_fields(&arena, modules, opt.list_module);
			goto done;
		}
		if (diag.errors == 0)
			load_layouts_dirs(&arena, &diag, modules, opt.n_specs);
		if (diag.errors == 0)
			check_modules(&arena, &diag, modules);
		diag_flush(&diag, stderr);
		if (diag.errors)
			status = 1;
		else
			emit_all(&out, modules, sources, opt.n_specs);
	}
	if (status == 0 && write_outputs(opt.outdir, &out))
		status = 1;
done:
	gen_output_free(&out);
	diag_free(&diag);
	arena_free(&arena);
	free(sources);
	free(opt.specs);
	return status;
}
