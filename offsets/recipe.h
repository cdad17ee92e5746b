/* SPDX-License-Identifier: MIT */
/*
 * A recipe: how the offsets tool reads one library other than OpenSSL, as a
 * spec-level fact (specs/<lib>/offsets.recipe), never C code per library.
 * One `key value` a line, `#` comments; offsets/README.md lists the keys.
 */
#ifndef OFFSETS_RECIPE_H
#define OFFSETS_RECIPE_H

#include <stddef.h>

struct recipe_list {
	char **v;
	size_t n;
};

struct recipe {
	char *path;              /* as given, for the layout file's header */
	char *dir;               /* its directory: spec and layouts are relative to it */
	char *library;           /* "GnuTLS", for the source line */
	char *spec, *module;     /* the spec resolved against dir */
	char *name, *versions, *product, *hooks;
	char *language;          /* "c" (default) or "c++" */
	char *banner_macro, *banner_header;
	char *installed;         /* headers installed here (no copy), or NULL for a source tree */
	char *package;           /* the Debian package that installs them (its version goes in the header) */
	struct recipe_list marks;    /* files the tree must hold */
	struct recipe_list prepare;  /* commands run in the scratch copy, in order */
	struct recipe_list includes; /* headers the translation unit includes, in order */
	struct recipe_list incdirs;  /* -I, relative to the tree */
	struct recipe_list defines;  /* -D */
	struct recipe_list renames;  /* "SPEC_NAME C_NAME": the spec's struct is the C (C++) type so named */
};

/* Reads a recipe. Returns 0, or -1 after one line "offsets: FILE:LINE: ..." on stderr. */
int recipe_read(const char *path, struct recipe *r);
void recipe_free(struct recipe *r);

#endif
