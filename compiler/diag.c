/* SPDX-License-Identifier: MIT */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct diag_entry {
	struct loc loc;
	const char *severity;
	char *message;
	int seq;                   /* keeps messages at one place in the order made */
};

static void diag_add(struct diag *diag, struct loc loc, const char *severity, const char *fmt, va_list ap)
{
	struct buf message = { 0 };
	struct diag_entry *e;

	buf_vprintf(&message, fmt, ap);
	if (diag->n == diag->cap) {
		diag->cap = diag->cap ? diag->cap * 2 : 16;
		diag->entries = xrealloc(diag->entries, (size_t)diag->cap * sizeof(*diag->entries));
	}
	e = &diag->entries[diag->n];
	e->loc = loc;
	e->severity = severity;
	e->message = message.data ? message.data : calloc(1, 1);
	e->seq = diag->n++;
}

void diag_error(struct diag *diag, struct loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(diag, loc, "error", fmt, ap);
	va_end(ap);
	diag->errors++;
}

void diag_warning(struct diag *diag, struct loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(diag, loc, "warning", fmt, ap);
	va_end(ap);
}

void diag_note(struct diag *diag, struct loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(diag, loc, "note", fmt, ap);
	va_end(ap);
}

static bool same_entry(const struct diag_entry *a, const struct diag_entry *b)
{
	return a->loc.src == b->loc.src && a->loc.line == b->loc.line && a->loc.col == b->loc.col &&
	       strcmp(a->severity, b->severity) == 0 && strcmp(a->message, b->message) == 0;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct diag_entry *a = pa, *b = pb;
	int ia = a->loc.src ? a->loc.src->index : -1, ib = b->loc.src ? b->loc.src->index : -1;

	if (ia != ib)
		return ia < ib ? -1 : 1;
	if (a->loc.line != b->loc.line)
		return a->loc.line < b->loc.line ? -1 : 1;
	if (a->loc.col != b->loc.col)
		return a->loc.col < b->loc.col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Line `line` (1-based) of the source, and its length. */
static const char *source_line(const struct source *src, int line, int *len)
{
	const char *p = src->text;

	for (int n = 1; n < line && *p; p++)
		if (*p == '\n')
			n++;
	*len = (int)strcspn(p, "\n");
	return p;
}

/*
 *    42 |     fd = ssl->wbi->num;
 *       |               ^~~
 * Tabs before the caret are copied so that it lines up however they expand.
 */
static void print_excerpt(FILE *out, const struct loc *loc)
{
	int len, end;
	const char *text;

	if (!loc->src || loc->line <= 0)
		return;
	text = source_line(loc->src, loc->line, &len);
	fprintf(out, "%5d | %.*s\n", loc->line, len, text);
	fprintf(out, "      | ");
	for (int i = 1; i < loc->col && i <= len; i++)
		fputc(text[i - 1] == '\t' ? '\t' : ' ', out);
	fputc('^', out);
	end = loc->end_line == loc->line ? loc->end_col : len;
	if (end > len)
		end = len;
	for (int i = loc->col + 1; i <= end; i++)
		fputc('~', out);
	fputc('\n', out);
}

void diag_flush(struct diag *diag, FILE *out)
{
	if (!diag->n)
		return;   /* qsort wants a real array, even of none */
	qsort(diag->entries, (size_t)diag->n, sizeof(*diag->entries), entry_cmp);
	for (int i = 0; i < diag->n; i++) {
		struct diag_entry *e = &diag->entries[i];

		/* steps copied into several hooks make the same mistake once each */
		if (i > 0 && same_entry(e, &diag->entries[i - 1]))
			continue;
		if (e->loc.src)
			fprintf(out, "%s:%d:%d: %s: %s\n", e->loc.src->path, e->loc.line, e->loc.col, e->severity,
				e->message);
		else
			fprintf(out, "probec: %s: %s\n", e->severity, e->message);
		print_excerpt(out, &e->loc);
	}
	for (int i = 0; i < diag->n; i++)
		free(diag->entries[i].message);
	diag->n = 0;
}

void diag_free(struct diag *diag)
{
	for (int i = 0; i < diag->n; i++)
		free(diag->entries[i].message);
	free(diag->entries);
	diag->entries = NULL;
	diag->n = diag->cap = 0;
}
