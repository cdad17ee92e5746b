/* SPDX-License-Identifier: MIT */
/* Memory and text helpers every pass shares. */
#ifndef PROBEC_UTIL_H
#define PROBEC_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/*
 * The tree, its strings and the checker's tables all live until probec exits,
 * so they come from one arena freed at the end: error recovery can drop a
 * half-built node without leaking it.
 */
struct arena {
	struct arena_block *blocks;
};

void *arena_alloc(struct arena *arena, size_t size);   /* zeroed */
char *arena_strndup(struct arena *arena, const char *s, size_t n);
char *arena_strdup(struct arena *arena, const char *s);
char *arena_printf(struct arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *arena);

#define ARENA_NEW(arena, type) ((type *)arena_alloc((arena), sizeof(type)))

/* A growing text buffer: generated files are built whole, then written. */
struct buf {
	char *data;
	size_t len, cap;
};

void buf_printf(struct buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *buf, const char *fmt, va_list ap);
void buf_puts(struct buf *buf, const char *s);
void buf_append(struct buf *buf, const struct buf *other);
const char *buf_str(struct buf *buf);   /* "" when empty */
void buf_free(struct buf *buf);

/* Reads a whole text file (malloc'd, NUL-free); NULL with errno set on failure. */
char *read_whole_file(const char *path);

/* Levenshtein distance, for "did you mean". */
int edit_distance(const char *a, const char *b);

/* Collects the closest name to `wanted` among those offered, if close enough. */
struct suggest {
	const char *wanted;
	const char *best;
	int best_distance;
};

void suggest_init(struct suggest *s, const char *wanted);
void suggest_offer(struct suggest *s, const char *candidate);

void *xmalloc(size_t size);
void *xrealloc(void *p, size_t size);

#endif
