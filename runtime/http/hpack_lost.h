/* SPDX-License-Identifier: MIT */
/*
 * A capture that starts mid-connection lacks the HPACK dynamic table the
 * peers built before. This walks a header block's representations (RFC 7541
 * section 6) without decoding any string, and rewrites each that refers to
 * an entry the decoder never saw: an indexed field is left out (the caller
 * shows a field marked lost in its place), a literal whose name is such an
 * entry gets the literal name "?" and keeps its value and its indexing, so
 * that the decoder's table stays aligned with the peers' for later blocks.
 * Decoding itself is nghttp2's.
 */
#ifndef PS_HPACK_LOST_H
#define PS_HPACK_LOST_H

#include <stddef.h>
#include <stdint.h>

enum hpack_mark {
	HPACK_MARK_NONE,        /* decodes as it is */
	HPACK_MARK_LOST_NAME,   /* decodes, its name unknown */
	HPACK_MARK_DROPPED,     /* left out: its whole field is unknown */
};

struct hpack_lost_plan {
	const uint8_t *block;   /* what to decode: the input, or the rewritten copy */
	size_t block_len;
	uint8_t *rewritten;     /* owned; NULL when nothing needed rewriting */
	enum hpack_mark *marks; /* one per field representation (size updates have none) */
	size_t n_marks;
};

/*
 * known_entries: nghttp2_hd_inflate_get_num_table_entries (static + dynamic).
 * 0, or -1 when the block is not HPACK (a truncated integer or string).
 */
int hpack_lost_rewrite(const uint8_t *block, size_t len, size_t known_entries, struct hpack_lost_plan *plan);
void hpack_lost_plan_free(struct hpack_lost_plan *plan);

#endif
