/* SPDX-License-Identifier: MIT */
/* Field offsets out of a prepared source tree, with libclang. */
#ifndef OFFSETS_LAYOUT_H
#define OFFSETS_LAYOUT_H

#include <stdio.h>

#include "spec_fields.h"

struct layout_request {
	const char *root;        /* the prepared tree: its headers are generated */
	const char **headers;    /* relative to root, or <on the include path>, included in this order */
	size_t n_headers;
	const char *banner_macro; /* a string macro naming the version, e.g. OPENSSL_VERSION_TEXT */
	const char *banner_header; /* the header that defines it, e.g. <openssl/opensslv.h> */
	const char **extra_args; /* more compiler arguments */
	size_t n_extra_args;
	const char *tu_path;     /* where to write the generated translation unit */
	const char *language;    /* "c" (NULL: c) or "c++" */
	char *const *renames;    /* "SPEC_NAME C_NAME": where the spec's struct has another C name */
	size_t n_renames;
};

enum field_status { FIELD_OK, FIELD_ABSENT };

struct field_result {
	enum field_status status;
	long long offset;        /* bytes, when FIELD_OK */
	char *note;              /* why absent, or a warning; NULL if none */
};

struct layout_result {
	char *banner;            /* the macro's value */
	char *clang_version;     /* libclang's own words, e.g. "Debian clang version 14.0.6" */
	struct field_result *fields; /* one per spec field, same order */
	char **config_notes;     /* "ssl_st: #ifndef OPENSSL_NO_PSK (kept) at ssl/ssl_local.h:589", ... */
	size_t n_config_notes;
};

/*
 * Parses the translation unit and computes every field. Returns 0, or -1 after
 * printing the reason (one line, then compiler errors indented) to stderr.
 */
int layout_compute(const struct layout_request *req, const struct spec_fields *fields,
		   struct layout_result *out);
void layout_result_free(struct layout_result *r, size_t n_fields);

#endif
