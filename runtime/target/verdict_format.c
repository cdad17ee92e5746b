/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cache_file.h"
#include "verdict_format.h"

/* Far above any real library's: a count beyond them is damage, not a bigger library. */
#define MAX_FILES 64u
#define MAX_ITEMS 65536u
#define MAX_STRING 65536u
#define HEADER_SIZE (8 + 8 + 8)   /* magic, digest of the body, body size */

struct writer {
	uint8_t *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct writer *w, const void *data, size_t size)
{
	if (w->failed)
		return;
	if (w->len + size > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *grown;

		while (cap < w->len + size)
			cap *= 2;
		grown = realloc(w->buf, cap);
		if (!grown) {
			w->failed = true;
			return;
		}
		w->buf = grown;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, data, size);
	w->len += size;
}

static void put_u8(struct writer *w, uint8_t v) { put(w, &v, sizeof(v)); }
static void put_u32(struct writer *w, uint32_t v) { put(w, &v, sizeof(v)); }
static void put_u64(struct writer *w, uint64_t v) { put(w, &v, sizeof(v)); }

static void put_string(struct writer *w, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len > MAX_STRING) {
		w->failed = true;
		return;
	}
	put_u32(w, (uint32_t)len);
	put(w, s, len);
}

int ps_verdicts_encode(const struct ps_verdicts *v, uint8_t **out, size_t *size)
{
	struct writer w = { 0 };
	uint64_t digest, body_size;

	if (v->n_files > MAX_FILES || (v->has_accessors && v->n_offsets > MAX_ITEMS) ||
	    (v->has_sites && v->n_sites > MAX_ITEMS))
		return -EINVAL;
	put(&w, PS_VERDICTS_MAGIC, 8);
	put_u64(&w, 0);   /* digest and size, filled in below */
	put_u64(&w, 0);
	put_u64(&w, v->build);
	put_u64(&w, v->options);
	put_u32(&w, v->n_files);
	for (uint32_t i = 0; i < v->n_files; i++) {
		put_string(&w, v->files[i].path);
		put_u64(&w, v->files[i].dev);
		put_u64(&w, v->files[i].ino);
		put_u64(&w, v->files[i].size);
		put_u64(&w, v->files[i].mtime_ns);
	}
	put_u8(&w, v->has_version);
	if (v->has_version) {
		put_u32(&w, (uint32_t)v->version_rule);
		put_string(&w, v->version);
		put_string(&w, v->version_from);
	}
	put_u8(&w, v->has_accessors);
	if (v->has_accessors) {
		put_u32(&w, v->layout_index);
		put_u32(&w, v->n_offsets);
		put(&w, v->offsets, v->n_offsets * sizeof(*v->offsets));
		put(&w, v->shown, v->n_offsets);
		put_u32(&w, v->checked);
		put_u32(&w, v->mismatches);
		put_u32(&w, v->first_mismatch);
		put_string(&w, v->message);
	}
	put_u8(&w, v->has_sites);
	if (v->has_sites) {
		put_u32(&w, v->hookset);
		put_u32(&w, v->n_sites);
		put(&w, v->sites, v->n_sites * sizeof(*v->sites));
		put_u32(&w, v->n_missing);
	}
	if (w.failed) {
		free(w.buf);
		return -ENOMEM;
	}
	body_size = w.len - HEADER_SIZE;
	digest = ps_fnv1a(PS_FNV_OFFSET, w.buf + HEADER_SIZE, body_size);
	memcpy(w.buf + 8, &digest, 8);
	memcpy(w.buf + 16, &body_size, 8);
	*out = w.buf;
	*size = w.len;
	return 0;
}

struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static bool take(struct reader *r, void *out, size_t size)
{
	if (r->bad || (size_t)(r->end - r->p) < size) {
		r->bad = true;
		memset(out, 0, size);
		return false;
	}
	memcpy(out, r->p, size);
	r->p += size;
	return true;
}

static uint8_t take_u8(struct reader *r) { uint8_t v; take(r, &v, sizeof(v)); return v; }
static uint32_t take_u32(struct reader *r) { uint32_t v; take(r, &v, sizeof(v)); return v; }
static uint64_t take_u64(struct reader *r) { uint64_t v; take(r, &v, sizeof(v)); return v; }

static bool take_bool(struct reader *r)
{
	uint8_t v = take_u8(r);

	if (v > 1)
		r->bad = true;
	return v == 1;
}

/* A count of items of item_size bytes each, at most max, that the rest of the input can hold. */
static uint32_t take_count(struct reader *r, uint32_t max, size_t item_size)
{
	uint32_t n = take_u32(r);

	if (n > max || (size_t)(r->end - r->p) / item_size < n)
		r->bad = true;
	return r->bad ? 0 : n;
}

/* A length-prefixed string, NUL-terminated in memory; one holding a NUL is damage. */
static char *take_string(struct reader *r)
{
	uint32_t len = take_count(r, MAX_STRING, 1);
	char *s;

	if (r->bad)
		return NULL;
	if (memchr(r->p, '\0', len)) {
		r->bad = true;
		return NULL;
	}
	s = malloc((size_t)len + 1);
	if (!s) {
		r->bad = true;
		return NULL;
	}
	memcpy(s, r->p, len);
	s[len] = '\0';
	r->p += len;
	return s;
}

/* n items of size bytes each into a new array (one byte at least, so that 0 items is no failure). */
static void *take_array(struct reader *r, uint32_t n, size_t size)
{
	void *a = r->bad ? NULL : malloc(n ? (size_t)n * size : 1);

	if (!a) {
		r->bad = true;
		return NULL;
	}
	take(r, a, (size_t)n * size);
	return a;
}

static void decode_body(struct reader *r, struct ps_verdicts *v)
{
	v->build = take_u64(r);
	v->options = take_u64(r);
	v->n_files = take_count(r, MAX_FILES, 4 + 4 * 8);
	v->files = calloc(v->n_files ? v->n_files : 1, sizeof(*v->files));
	if (!v->files) {
		r->bad = true;
		v->n_files = 0;
		return;
	}
	for (uint32_t i = 0; i < v->n_files && !r->bad; i++) {
		v->files[i].path = take_string(r);
		v->files[i].dev = take_u64(r);
		v->files[i].ino = take_u64(r);
		v->files[i].size = take_u64(r);
		v->files[i].mtime_ns = take_u64(r);
	}
	v->has_version = take_bool(r);
	if (v->has_version && !r->bad) {
		v->version_rule = (int32_t)take_u32(r);
		v->version = take_string(r);
		v->version_from = take_string(r);
	}
	v->has_accessors = take_bool(r);
	if (v->has_accessors && !r->bad) {
		v->layout_index = take_u32(r);
		v->n_offsets = take_count(r, MAX_ITEMS, sizeof(int32_t) + 1);
		v->offsets = take_array(r, v->n_offsets, sizeof(*v->offsets));
		v->shown = take_array(r, v->n_offsets, 1);
		v->checked = take_u32(r);
		v->mismatches = take_u32(r);
		v->first_mismatch = take_u32(r);
		v->message = take_string(r);
		for (uint32_t i = 0; v->shown && i < v->n_offsets && !r->bad; i++)
			if (v->shown[i] > 1)
				r->bad = true;
	}
	v->has_sites = take_bool(r);
	if (v->has_sites && !r->bad) {
		v->hookset = take_u32(r);
		v->n_sites = take_count(r, MAX_ITEMS, sizeof(int64_t));
		v->sites = take_array(r, v->n_sites, sizeof(*v->sites));
		v->n_missing = take_u32(r);
	}
	if (r->p != r->end)
		r->bad = true;
}

int ps_verdicts_decode(const uint8_t *data, size_t size, struct ps_verdicts *v)
{
	struct reader r = { data, data + size, false };
	uint64_t digest, body_size;
	char magic[8];

	memset(v, 0, sizeof(*v));
	if (size < HEADER_SIZE)
		return -EBADMSG;
	take(&r, magic, sizeof(magic));
	digest = take_u64(&r);
	body_size = take_u64(&r);
	if (memcmp(magic, PS_VERDICTS_MAGIC, sizeof(magic)) || body_size != size - HEADER_SIZE ||
	    digest != ps_fnv1a(PS_FNV_OFFSET, data + HEADER_SIZE, size - HEADER_SIZE))
		return -EBADMSG;
	decode_body(&r, v);
	if (!r.bad)
		return 0;
	ps_verdicts_free(v);
	return -EBADMSG;
}

void ps_verdicts_free(struct ps_verdicts *v)
{
	for (uint32_t i = 0; v->files && i < v->n_files; i++)
		free(v->files[i].path);
	free(v->files);
	free(v->version);
	free(v->version_from);
	free(v->offsets);
	free(v->shown);
	free(v->message);
	free(v->sites);
	memset(v, 0, sizeof(*v));
}
