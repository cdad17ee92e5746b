/* SPDX-License-Identifier: MIT */
/*
 * A layout file, specs/<lib>/layouts/<name>.spec: a header naming where the
 * numbers came from, then one `layout` block. Written whole by the tool,
 * never edited by hand (a test regenerates one and compares).
 */
#ifndef OFFSETS_LAYOUT_FILE_H
#define OFFSETS_LAYOUT_FILE_H

#include <stdio.h>

#include "layout.h"
#include "spec_fields.h"

struct layout_file {
	const char *name;          /* "3.0", "3.0+quic" */
	const char *product;       /* NULL: any */
	const char *min_version;
	const char *max_version;   /* NULL: open (`versions "3.0.0" ..`) */
	const char *module;
	const char *tree;          /* the source tree's directory name */
	const char *origin;        /* where the tree came from (--origin), or NULL */
	const char *debian_version; /* from its debian/changelog, or NULL */
	const char *configure;     /* "./config" or "./Configure" */
	const char *configure_args; /* "" for none */
	const char *ssl_header, *bio_header;
	const char *options;       /* the tool's options that shaped it ("--name 3.2.3 ..."), or NULL */
};

/*
 * Writes the file to out; each absent field or note also goes to stderr as
 * "offsets: BANNER: ...". Returns how many fields are absent.
 */
int layout_file_write(FILE *out, const struct layout_file *lf, const struct spec_fields *fields,
		      const struct layout_result *res);

/* The package version in SRC/debian/changelog's first line ("3.0.20-1~deb12u2"), or NULL. */
char *debian_version_of(const char *src);

#endif
