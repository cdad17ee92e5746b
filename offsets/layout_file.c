/* SPDX-License-Identifier: MIT */
#include "layout_file.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

char *debian_version_of(const char *src)
{
	char *path = NULL, *line = NULL, *open, *close, *version = NULL;
	size_t cap = 0;
	FILE *f;

	if (asprintf(&path, "%s/debian/changelog", src) < 0)
		return NULL;
	f = fopen(path, "r");
	free(path);
	if (!f)
		return NULL;
	/* "openssl (3.0.20-1~deb12u2) bookworm-security; urgency=medium" */
	if (getline(&line, &cap, f) > 0 && (open = strchr(line, '(')) && (close = strchr(open, ')')))
		version = strndup(open + 1, (size_t)(close - open - 1));
	free(line);
	fclose(f);
	return version;
}

/* The header of a recipe's file: where the headers came from and how they were read. */
static void write_recipe_header(FILE *out, const struct layout_file *lf, const struct layout_result *res)
{
	fprintf(out, "# Layout \"%s\" of module %s, written by build/offsets: do not edit.\n", lf->name, lf->module);
	fprintf(out, "# To rewrite it: %s\n", lf->rewrite);
	if (lf->headers_from) {
		fprintf(out, "# Installed headers: %s\n", lf->headers_from);
	} else {
		fprintf(out, "# Source tree: %s", lf->tree);
		if (lf->debian_version)
			fprintf(out, ", Debian package version %s", lf->debian_version);
		if (lf->origin)
			fprintf(out, ", %s", lf->origin);
		fprintf(out, "\n");
	}
	fprintf(out, "#   %s \"%s\"\n", lf->banner_macro, res->banner);
	fprintf(out, "# Tool: build/offsets with libclang (%s), x86-64\n", res->clang_version);
	if (lf->prepared)
		fprintf(out, "# Prepared with: %s\n", lf->prepared);
	if (res->n_config_notes) {
		fprintf(out, "# Laid out by this configuration (another may differ):\n");
		for (size_t i = 0; i < res->n_config_notes; i++)
			fprintf(out, "#   %s\n", res->config_notes[i]);
	}
}

static void write_header(FILE *out, const struct layout_file *lf, const struct layout_result *res)
{
	if (lf->rewrite) {
		write_recipe_header(out, lf, res);
		return;
	}
	fprintf(out, "# Layout \"%s\" of module %s, written by build/offsets: do not edit.\n", lf->name, lf->module);
	if (lf->options)
		fprintf(out, "# To rewrite it: make offsets SRC=<this source tree> OPTIONS='%s'\n", lf->options);
	else
		fprintf(out, "# To rewrite it: make offsets SRC=<this source tree>\n");
	fprintf(out, "# Source tree: %s", lf->tree);
	if (lf->debian_version)
		fprintf(out, ", Debian package version %s", lf->debian_version);
	if (lf->origin)
		fprintf(out, ", %s", lf->origin);
	fprintf(out, "\n#   OPENSSL_VERSION_TEXT \"%s\"\n", res->banner);
	fprintf(out, "# Tool: build/offsets with libclang (%s), x86-64\n", res->clang_version);
	fprintf(out, "# Configured with: %s%s%s\n", lf->configure, *lf->configure_args ? " " : " (no options)",
		lf->configure_args);
	if (res->n_config_notes) {
		fprintf(out, "# Laid out by this configuration (another may differ):\n");
		for (size_t i = 0; i < res->n_config_notes; i++)
			fprintf(out, "#   %s\n", res->config_notes[i]);
	}
}

/* Fields i .. end-1 are one struct's (the spec lists them struct by struct). */
static size_t struct_end(const struct spec_fields *fields, size_t i)
{
	size_t end = i;

	while (end < fields->n && strcmp(fields->v[end].strct, fields->v[i].strct) == 0)
		end++;
	return end;
}

static bool all_absent(const struct layout_result *res, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (res->fields[i].status != FIELD_ABSENT)
			return false;
	return true;
}

/* One note for a struct none of whose fields is here: theirs, when they all say the same. */
static const char *struct_absent_note(const struct layout_result *res, size_t from, size_t to)
{
	for (size_t i = from + 1; i < to; i++)
		if (strcmp(res->fields[i].note, res->fields[from].note) != 0)
			return "none of the fields the spec reads is in it in this version";
	return res->fields[from].note;
}

int layout_file_write(FILE *out, const struct layout_file *lf, const struct spec_fields *fields,
		      const struct layout_result *res)
{
	int absent = 0;

	write_header(out, lf, res);
	fprintf(out, "layout \"%s\"", lf->name);
	if (lf->product)
		fprintf(out, " product %s", lf->product);
	fprintf(out, " versions \"%s\" ..", lf->min_version);
	if (lf->max_version)
		fprintf(out, " \"%s\"", lf->max_version);
	if (lf->hooks)
		fprintf(out, " hooks %s", lf->hooks);
	if (lf->sources)
		fprintf(out, " {\n    source \"%s: %s, derived by build/offsets\";\n", lf->label ? lf->label : res->banner,
			lf->sources);
	else
		fprintf(out, " {\n    source \"%s: %s%s%s, derived by build/offsets\";\n", res->banner, lf->ssl_header,
			lf->bio_header ? " and " : "", lf->bio_header ? lf->bio_header : "");
	for (size_t i = 0; i < fields->n;) {
		size_t end = struct_end(fields, i);

		if (all_absent(res, i, end)) {
			fprintf(out, "    struct %s absent; # %s\n", fields->v[i].strct, struct_absent_note(res, i, end));
			for (; i < end; i++, absent++)
				fprintf(stderr, "offsets: %s: %s.%s is absent: %s\n", res->banner, fields->v[i].strct,
					fields->v[i].path, res->fields[i].note);
			continue;
		}
		for (; i < end; i++) {
			const struct spec_field *f = &fields->v[i];
			const struct field_result *r = &res->fields[i];

			if (r->status == FIELD_OK) {
				fprintf(out, "    %s.%s = %lld;", f->strct, f->path, r->offset);
				if (r->note) {
					fprintf(out, " # %s", r->note);
					fprintf(stderr, "offsets: %s: %s.%s: %s\n", res->banner, f->strct, f->path, r->note);
				}
				fprintf(out, "\n");
			} else {
				absent++;
				fprintf(out, "    %s.%s = absent; # %s\n", f->strct, f->path, r->note);
				fprintf(stderr, "offsets: %s: %s.%s is absent: %s\n", res->banner, f->strct, f->path, r->note);
			}
		}
	}
	fprintf(out, "}\n");
	return absent;
}
