/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p) {
		fprintf(stderr, "probec: out of memory\n");
		exit(1);
	}
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p) {
		fprintf(stderr, "probec: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- arena ---------------------------------------------------------------- */

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK_MIN (64 * 1024)

void *arena_alloc(struct arena *arena, size_t size)
{
	struct arena_block *block = arena->blocks;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (!block || block->cap - block->used < size) {
		size_t cap = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;

		block = xmalloc(sizeof(*block) + cap);
		block->next = arena->blocks;
		block->used = 0;
		block->cap = cap;
		arena->blocks = block;
	}
	p = block->data + block->used;
	block->used += size;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(struct arena *arena, const char *s, size_t n)
{
	char *copy = arena_alloc(arena, n + 1);

	memcpy(copy, s, n);
	copy[n] = '\0';
	return copy;
}

char *arena_strdup(struct arena *arena, const char *s)
{
	return arena_strndup(arena, s, strlen(s));
}

char *arena_printf(struct arena *arena, const char *fmt, ...)
{
	struct buf buf = { 0 };
	va_list ap;
	char *s;

	va_start(ap, fmt);
	buf_vprintf(&buf, fmt, ap);
	va_end(ap);
	s = arena_strdup(arena, buf_str(&buf));
	buf_free(&buf);
	return s;
}

void arena_free(struct arena *arena)
{
	while (arena->blocks) {
		struct arena_block *next = arena->blocks->next;

		free(arena->blocks);
		arena->blocks = next;
	}
}

/* ---- buf ------------------------------------------------------------------ */

static void buf_reserve(struct buf *buf, size_t more)
{
	size_t need = buf->len + more + 1;

	if (need <= buf->cap)
		return;
	buf->cap = buf->cap ? buf->cap : 256;
	while (buf->cap < need)
		buf->cap *= 2;
	buf->data = xrealloc(buf->data, buf->cap);
}

void buf_vprintf(struct buf *buf, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	buf_reserve(buf, (size_t)n);
	vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
	buf->len += (size_t)n;
}

void buf_printf(struct buf *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(buf, fmt, ap);
	va_end(ap);
}

void buf_puts(struct buf *buf, const char *s)
{
	size_t n = strlen(s);

	buf_reserve(buf, n);
	memcpy(buf->data + buf->len, s, n + 1);
	buf->len += n;
}

void buf_append(struct buf *buf, const struct buf *other)
{
	if (other->len)
		buf_puts(buf, other->data);
}

const char *buf_str(struct buf *buf)
{
	return buf->data ? buf->data : "";
}

void buf_free(struct buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

/* ---- names ---------------------------------------------------------------- */

int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int *row = xmalloc((lb + 1) * sizeof(*row));
	int result;

	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diagonal = row[0];

		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int above = row[j];
			int best = diagonal + (a[i - 1] != b[j - 1]);

			if (above + 1 < best)
				best = above + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diagonal = above;
		}
	}
	result = row[lb];
	free(row);
	return result;
}

void suggest_init(struct suggest *s, const char *wanted)
{
	s->wanted = wanted;
	s->best = NULL;
	s->best_distance = 0;
}

/* Close enough: a third of the name may be wrong, and at least one letter. */
void suggest_offer(struct suggest *s, const char *candidate)
{
	int limit = (int)strlen(s->wanted) / 3;
	int d;

	if (limit < 1)
		limit = 1;
	if (!candidate || strcmp(candidate, s->wanted) == 0)
		return;
	d = edit_distance(s->wanted, candidate);
	if (d > limit)
		return;
	if (!s->best || d < s->best_distance) {
		s->best = candidate;
		s->best_distance = d;
	}
}

/* Reads a whole file; NULL with errno set on failure. */
char *read_whole_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf text = { 0 };
	char chunk[8192];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk) - 1, f)) > 0) {
		chunk[n] = '\0';
		if (memchr(chunk, '\0', n)) {
			fclose(f);
			buf_free(&text);
			errno = EINVAL;
			return NULL;
		}
		buf_puts(&text, chunk);
	}
	if (ferror(f)) {
		int err = errno;

		fclose(f);
		buf_free(&text);
		errno = err;
		return NULL;
	}
	fclose(f);
	if (!text.data)
		buf_puts(&text, "");
	return text.data;
}
