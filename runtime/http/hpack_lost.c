/* SPDX-License-Identifier: MIT */
/* See hpack_lost.h. Integers: RFC 7541 5.1; strings: 5.2; representations: 6.1-6.3. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "hpack_lost.h"

#define STATIC_ENTRIES 61   /* RFC 7541 Appendix A */

struct walker {
	const uint8_t *p, *end;
};

/* An N-bit-prefix integer; -1 when cut short or past 2^32. */
static int64_t read_int(struct walker *w, int prefix_bits)
{
	uint64_t max = (1u << prefix_bits) - 1, v;
	int shift = 0;

	if (w->p >= w->end)
		return -1;
	v = *w->p++ & max;
	if (v < max)
		return (int64_t)v;
	for (;;) {
		uint8_t b;

		if (w->p >= w->end || shift > 28)
			return -1;
		b = *w->p++;
		v += (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	return v > UINT32_MAX ? -1 : (int64_t)v;
}

/* Skips one string literal; -1 when it runs past the block. */
static int skip_string(struct walker *w)
{
	int64_t len = read_int(w, 7);

	if (len < 0 || len > w->end - w->p)
		return -1;
	w->p += len;
	return 0;
}

static int mark_add(struct hpack_lost_plan *plan, size_t *cap, enum hpack_mark m)
{
	if (plan->n_marks == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		enum hpack_mark *v = realloc(plan->marks, n * sizeof(*v));

		if (!v)
			return -1;
		plan->marks = v;
		*cap = n;
	}
	plan->marks[plan->n_marks++] = m;
	return 0;
}

/* Appends to the rewritten copy, which starts as the input's first `upto` bytes. */
static int out_append(uint8_t **out, size_t *len, size_t *cap, const uint8_t *data, size_t n)
{
	if (!n)
		return 0;
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 256;
		uint8_t *p;

		while (c < *len + n)
			c *= 2;
		p = realloc(*out, c);
		if (!p)
			return -1;
		*out = p;
		*cap = c;
	}
	memcpy(*out + *len, data, n);
	*len += n;
	return 0;
}

int hpack_lost_rewrite(const uint8_t *block, size_t len, size_t known_entries, struct hpack_lost_plan *plan)
{
	static const uint8_t empty[1];
	struct walker w;
	size_t known = known_entries, mark_cap = 0, out_len = 0, out_cap = 0;
	uint8_t *out = NULL;
	bool rewriting = false;

	memset(plan, 0, sizeof(*plan));
	if (!block)
		block = empty;  /* an empty block (HEADERS with no fragment) is valid HPACK */
	w.p = block;
	w.end = block + len;
	while (w.p < w.end) {
		const uint8_t *start = w.p;
		uint8_t b = *w.p;
		int prefix = (b & 0x80) ? 7 : (b & 0x40) ? 6 : (b & 0x20) ? 5 : 4;
		bool indexing = !(b & 0x80) && (b & 0x40);
		int64_t index = read_int(&w, prefix);
		enum hpack_mark m = HPACK_MARK_NONE;

		if (index < 0)
			goto bad;
		if (prefix == 5)
			goto copy;  /* a dynamic table size update: no field */
		if (prefix != 7 && (index == 0 ? skip_string(&w) : 0) != 0)
			goto bad;
		if (prefix != 7 && skip_string(&w) != 0)
			goto bad;
		if (index > (int64_t)known)
			m = prefix == 7 ? HPACK_MARK_DROPPED : HPACK_MARK_LOST_NAME;
		if (mark_add(plan, &mark_cap, m) != 0)
			goto bad;
		if (indexing)
			known++;
		if (m != HPACK_MARK_NONE && !rewriting) {
			rewriting = true;
			if (out_append(&out, &out_len, &out_cap, block, (size_t)(start - block)))
				goto bad;
		}
		if (m == HPACK_MARK_DROPPED)
			continue;
		if (m == HPACK_MARK_LOST_NAME) {
			/* same representation, index 0, name "?", the value's bytes as they were */
			struct walker name = { start, w.end };
			uint8_t head[2] = { (uint8_t)(b & ~((1u << prefix) - 1)), 0x01 }, q = '?';

			read_int(&name, prefix);
			if (out_append(&out, &out_len, &out_cap, head, 2) || out_append(&out, &out_len, &out_cap, &q, 1) ||
			    out_append(&out, &out_len, &out_cap, name.p, (size_t)(w.p - name.p)))
				goto bad;
			continue;
		}
copy:
		if (rewriting && out_append(&out, &out_len, &out_cap, start, (size_t)(w.p - start)))
			goto bad;
	}
	plan->rewritten = out;
	plan->block = rewriting ? (out ? out : (const uint8_t *)"") : block;
	plan->block_len = rewriting ? out_len : len;
	return 0;
bad:
	free(out);
	hpack_lost_plan_free(plan);
	return -1;
}

void hpack_lost_plan_free(struct hpack_lost_plan *plan)
{
	free(plan->rewritten);
	free(plan->marks);
	memset(plan, 0, sizeof(*plan));
}
