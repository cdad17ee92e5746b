/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: hpack_lost.c's walk and rewrite on any block, then nghttp2's
 * inflater on the result: as http2.c uses them, with a table of any size.
 */
#include <nghttp2/nghttp2.h>
#include "hpack_lost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hpack_lost_plan plan;
	nghttp2_hd_inflater *inf;
	size_t known;

	if (size < 1)
		return 0;
	known = 61 + data[0] % 8;
	if (hpack_lost_rewrite(data + 1, size - 1, known, &plan) != 0)
		return 0;
	if (nghttp2_hd_inflate_new(&inf) == 0) {
		const uint8_t *in = plan.block;
		size_t inlen = plan.block_len;

		nghttp2_hd_inflate_change_table_size(inf, 1u << 30);
		for (;;) {
			nghttp2_nv nv;
			int flags = 0;
			ssize_t rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, inlen, 1);

			if (rv < 0)
				break;
			in += rv;
			inlen -= (size_t)rv;
			if (flags & NGHTTP2_HD_INFLATE_FINAL) {
				nghttp2_hd_inflate_end_headers(inf);
				break;
			}
			if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && inlen == 0)
				break;
		}
		nghttp2_hd_inflate_del(inf);
	}
	hpack_lost_plan_free(&plan);
	return 0;
}
