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
	const char *file_name;     /* NAME.spec's NAME when not the layout's name, or NULL */
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
	const char *hooks;         /* the layout's hook set, or NULL */
	/* a recipe's file (NULL: OpenSSL's built-in way, with configure and ssl_header above) */
	const char *rewrite;       /* the command that rewrites the file */
	const char *banner_macro;
	const char *sources;       /* "lib/gnutls_int.h", for the source line */
	const char *label;         /* the source line's name of the release ("GnuTLS 3.7.9"), or NULL: the banner */
	const char *prepared;      /* the recipe's prepare commands, "; "-joined, or NULL */
	const char *headers_from;  /* installed headers: "/usr/include, Debian package libmbedtls-dev 2.28.3-1" */
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
