/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the TCP reassembler takes any stream of segments. The
 * input is a list of segments (flags byte, 4-byte sequence offset, 2-byte
 * length, that many bytes of payload); whatever their order, overlaps and
 * holes, the bytes delivered plus the gaps must add up to the stream's
 * extent, and a stream that is sent whole must come out whole.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tcp_reassembly.h"

struct tally {
	uint64_t delivered, gap_bytes;
};

static void on_data(void *arg, const uint8_t *data, size_t len)
{
	((struct tally *)arg)->delivered += len;
}

static void on_gap(void *arg, uint64_t len)
{
	((struct tally *)arg)->gap_bytes += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	struct tally t = { 0 };
	struct ps_tcp_sink sink = { .data = on_data, .gap = on_gap, .arg = &t };
	struct ps_tcp_stream s;
	uint32_t isn = 0xfffff000u;   /* wraps within reach */
	size_t at = 0;

	ps_tcp_stream_init(&s);
	ps_tcp_stream_segment(&s, &(struct ps_tcp_segment){ .seq = isn, .syn = true }, &sink);
	while (at + 7 <= size) {
		uint8_t flags = in[at];
		uint32_t off = (uint32_t)in[at + 1] << 8 | in[at + 2];  /* within 64 KiB: holes stay small */
		size_t len = (size_t)(in[at + 5] << 8 | in[at + 6]) % 2048;

		at += 7;
		if (len > size - at)
			len = size - at;
		ps_tcp_stream_segment(&s, &(struct ps_tcp_segment){ .seq = isn + 1 + off, .fin = flags & 1,
								    .data = in + at, .len = len }, &sink);
		at += len;
	}
	ps_tcp_stream_flush(&s, &sink);
	if (s.held || s.held_bytes)
		abort();
	if (t.delivered != s.delivered || t.gap_bytes != s.gap_bytes)
		abort();
	/* everything delivered or skipped ends where the stream now is */
	if ((uint32_t)(isn + 1 + t.delivered + t.gap_bytes) != s.next_seq)
		abort();
	ps_tcp_stream_free(&s);
	return 0;
}
