/* SPDX-License-Identifier: MIT */
/*
 * The struct fields one module of a spec names, as `probec --list-fields`
 * prints them: probec owns the language, this runs it (spec_fields.c).
 */
#ifndef OFFSETS_SPEC_FIELDS_H
#define OFFSETS_SPEC_FIELDS_H

#include <stddef.h>

struct spec_field {
	char *strct;   /* the C struct tag, e.g. "ssl_st" */
	char *path;    /* the field, or a dotted path through embedded structs: "s3.client_random" */
	char *type;    /* the spec's type as written, tokens joined by one space: "ptr bio_st", "i32" */
	int line;      /* where it is declared */
};

struct spec_fields {
	struct spec_field *v;
	size_t n;
};

/*
 * Reads the struct fields of module `module` from the spec file `path`.
 * Returns 0, or -1 after printing one line "offsets: ..." to stderr.
 */
int spec_fields_read(const char *path, const char *module, struct spec_fields *out);
void spec_fields_free(struct spec_fields *f);

#endif
