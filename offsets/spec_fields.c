/* SPDX-License-Identifier: MIT */
/* A minimal reader of a spec's struct blocks (see spec_fields.h). */
#include "spec_fields.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind { T_END, T_IDENT, T_INT, T_STRING, T_PUNCT };

struct tok {
	enum tok_kind kind;
	const char *start;
	size_t len;
	int line;
};

struct lexer {
	const char *path;
	const char *at;
	int line;
	struct tok cur;
	int error;
};

static void lex_error(struct lexer *lx, int line, const char *what)
{
	if (!lx->error)
		fprintf(stderr, "offsets: %s:%d: %s\n", lx->path, line, what);
	lx->error = 1;
}

static void next(struct lexer *lx)
{
	const char *p = lx->at;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			if (*p == '\n')
				lx->line++;
			p++;
		}
		if (*p != '#')
			break;
		while (*p && *p != '\n')
			p++;
	}
	lx->cur.start = p;
	lx->cur.line = lx->line;
	if (!*p) {
		lx->cur.kind = T_END;
		lx->cur.len = 0;
	} else if (isalpha((unsigned char)*p) || *p == '_') {
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		lx->cur.kind = T_IDENT;
	} else if (isdigit((unsigned char)*p) || (*p == '-' && isdigit((unsigned char)p[1]))) {
		p++;
		while (isalnum((unsigned char)*p))
			p++;
		lx->cur.kind = T_INT;
	} else if (*p == '"') {
		p++;
		while (*p && *p != '"' && *p != '\n') {
			if (*p == '\\' && p[1])
				p++;
			p++;
		}
		if (*p != '"') {
			lex_error(lx, lx->line, "unterminated string");
			lx->cur.kind = T_END;
			lx->cur.len = 0;
			lx->at = p;
			return;
		}
		p++;
		lx->cur.kind = T_STRING;
	} else {
		/* Two-character operators matter only as "not a brace"; one byte is enough. */
		p++;
		lx->cur.kind = T_PUNCT;
	}
	lx->cur.len = p - lx->cur.start;
	lx->at = p;
}

static int is(const struct lexer *lx, const char *text)
{
	return (lx->cur.kind == T_IDENT || lx->cur.kind == T_PUNCT) && lx->cur.len == strlen(text) &&
	       memcmp(lx->cur.start, text, lx->cur.len) == 0;
}

static char *dup_tok(const struct tok *t)
{
	char *s = malloc(t->len + 1);

	if (!s) {
		perror("offsets");
		exit(1);
	}
	memcpy(s, t->start, t->len);
	s[t->len] = '\0';
	return s;
}

/* Appends `len` bytes at `s` to the growing string *buf (with a space before, unless empty). */
static void append(char **buf, const char *s, size_t len, int space)
{
	size_t old = *buf ? strlen(*buf) : 0;
	char *n = realloc(*buf, old + len + 2);

	if (!n) {
		perror("offsets");
		exit(1);
	}
	if (old && space)
		n[old++] = ' ';
	memcpy(n + old, s, len);
	n[old + len] = '\0';
	*buf = n;
}

/* Skips a balanced { ... } block; the current token is its "{". */
static void skip_block(struct lexer *lx)
{
	int depth = 0;
	int line = lx->cur.line;

	do {
		if (is(lx, "{"))
			depth++;
		else if (is(lx, "}"))
			depth--;
		else if (lx->cur.kind == T_END) {
			lex_error(lx, line, "'{' never closed");
			return;
		}
		next(lx);
	} while (depth > 0 && !lx->error);
}

static void add_field(struct spec_fields *out, const char *strct, char *path, char *type, int line)
{
	struct spec_field *v = realloc(out->v, (out->n + 1) * sizeof(*v));

	if (!v) {
		perror("offsets");
		exit(1);
	}
	out->v = v;
	v[out->n].strct = strdup(strct);
	v[out->n].path = path;
	v[out->n].type = type;
	v[out->n].line = line;
	out->n++;
}

/* struct NAME { path : type ; ... }; the current token is NAME. */
static void read_struct(struct lexer *lx, struct spec_fields *out)
{
	char *name;

	if (lx->cur.kind != T_IDENT) {
		lex_error(lx, lx->cur.line, "expected a struct name after 'struct'");
		return;
	}
	name = dup_tok(&lx->cur);
	next(lx);
	if (!is(lx, "{")) {
		lex_error(lx, lx->cur.line, "expected '{' after the struct name");
		free(name);
		return;
	}
	next(lx);
	while (!lx->error && !is(lx, "}")) {
		char *path = NULL, *type = NULL;
		int line = lx->cur.line;

		/* field path: IDENT { "." IDENT } */
		for (;;) {
			if (lx->cur.kind != T_IDENT) {
				lex_error(lx, lx->cur.line, "expected a field name in the struct block");
				break;
			}
			append(&path, lx->cur.start, lx->cur.len, 0);
			next(lx);
			if (!is(lx, "."))
				break;
			append(&path, ".", 1, 0);
			next(lx);
		}
		if (!lx->error && !is(lx, ":"))
			lex_error(lx, lx->cur.line, "expected ':' after the field name");
		if (!lx->error)
			next(lx);
		while (!lx->error && !is(lx, ";")) {
			if (lx->cur.kind == T_END || is(lx, "}") || is(lx, "{")) {
				lex_error(lx, lx->cur.line, "expected ';' after the field type");
				break;
			}
			/* "u8 [ 32 ]" reads back as "u8[32]" */
			append(&type, lx->cur.start, lx->cur.len,
			       !(is(lx, "[") || is(lx, "]") || (type && type[strlen(type) - 1] == '[')));
			next(lx);
		}
		if (lx->error || !type) {
			if (!lx->error)
				lex_error(lx, lx->cur.line, "expected a type after ':'");
			free(path);
			free(type);
			break;
		}
		next(lx);
		add_field(out, name, path, type, line);
	}
	if (!lx->error)
		next(lx);
	free(name);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *n = realloc(buf, cap = cap * 2 + 4096);
			if (!n) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = n;
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int spec_fields_read(const char *path, const char *module, struct spec_fields *out)
{
	struct lexer lx = { .path = path, .line = 1 };
	char *text = slurp(path);
	int found = 0;

	out->v = NULL;
	out->n = 0;
	if (!text) {
		fprintf(stderr, "offsets: cannot read spec %s: %s\n", path, strerror(errno));
		return -1;
	}
	lx.at = text;
	next(&lx);
	while (!lx.error && lx.cur.kind != T_END) {
		int wanted;

		if (!is(&lx, "module")) {
			lex_error(&lx, lx.cur.line, "expected 'module'");
			break;
		}
		next(&lx);
		if (lx.cur.kind != T_IDENT) {
			lex_error(&lx, lx.cur.line, "expected a module name");
			break;
		}
		wanted = lx.cur.len == strlen(module) && memcmp(lx.cur.start, module, lx.cur.len) == 0;
		next(&lx);
		if (!is(&lx, "{")) {
			lex_error(&lx, lx.cur.line, "expected '{' after the module name");
			break;
		}
		if (!wanted) {
			skip_block(&lx);
			continue;
		}
		found = 1;
		next(&lx);
		/* Module items: struct blocks are read, everything else skipped by braces and ';'. */
		while (!lx.error && !is(&lx, "}")) {
			if (lx.cur.kind == T_END) {
				lex_error(&lx, lx.cur.line, "module block never closed");
				break;
			}
			if (is(&lx, "struct")) {
				next(&lx);
				read_struct(&lx, out);
				continue;
			}
			while (!lx.error && !is(&lx, ";") && !is(&lx, "{") && !is(&lx, "}") && lx.cur.kind != T_END)
				next(&lx);
			if (is(&lx, ";"))
				next(&lx);
			else if (is(&lx, "{"))
				skip_block(&lx);
		}
		if (!lx.error)
			next(&lx);
	}
	free(text);
	if (lx.error) {
		spec_fields_free(out);
		return -1;
	}
	if (!found) {
		fprintf(stderr, "offsets: %s: no module '%s'\n", path, module);
		return -1;
	}
	if (out->n == 0) {
		fprintf(stderr, "offsets: %s: module '%s' declares no struct fields\n", path, module);
		return -1;
	}
	return 0;
}

void spec_fields_free(struct spec_fields *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].strct);
		free(f->v[i].path);
		free(f->v[i].type);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}
