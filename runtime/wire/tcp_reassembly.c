/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tcp_reassembly.h"

struct ps_tcp_held {
	struct ps_tcp_held *next;
	uint32_t seq;
	size_t len;
	uint8_t data[];
};

/* Sequence numbers wrap at 2^32 (RFC 9293 section 3.4): compared by their signed distance. */
static int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

void ps_tcp_stream_init(struct ps_tcp_stream *s)
{
	memset(s, 0, sizeof(*s));
}

void ps_tcp_stream_free(struct ps_tcp_stream *s)
{
	while (s->held) {
		struct ps_tcp_held *next = s->held->next;

		free(s->held);
		s->held = next;
	}
	s->held_bytes = 0;
}

/* Hands over the part of [seq, seq + len) past next_seq, when it starts at or before next_seq. */
static void deliver_from(struct ps_tcp_stream *s, uint32_t seq, const uint8_t *data, size_t len,
			 const struct ps_tcp_sink *sink)
{
	int32_t behind = seq_diff(s->next_seq, seq);

	if (behind < 0)
		return;
	if ((size_t)behind >= len) {
		s->repeated += len;
		return;
	}
	s->repeated += (uint64_t)behind;
	data += behind;
	len -= (size_t)behind;
	s->next_seq += (uint32_t)len;
	s->delivered += len;
	sink->data(sink->arg, data, len);
}

/* The held segments that next_seq has reached, in order. */
static void deliver_held(struct ps_tcp_stream *s, const struct ps_tcp_sink *sink)
{
	while (s->held && seq_diff(s->held->seq, s->next_seq) <= 0) {
		struct ps_tcp_held *h = s->held;

		s->held = h->next;
		s->held_bytes -= h->len;
		deliver_from(s, h->seq, h->data, h->len, sink);
		free(h);
	}
}

static int hold(struct ps_tcp_stream *s, uint32_t seq, const uint8_t *data, size_t len)
{
	struct ps_tcp_held **at = &s->held;
	struct ps_tcp_held *h;

	while (*at && seq_diff((*at)->seq, seq) < 0)
		at = &(*at)->next;
	/* the same segment again: once is enough */
	if (*at && (*at)->seq == seq && (*at)->len >= len) {
		s->repeated += len;
		return 0;
	}
	h = malloc(sizeof(*h) + len);
	if (!h)
		return -ENOMEM;
	h->seq = seq;
	h->len = len;
	memcpy(h->data, data, len);
	h->next = *at;
	*at = h;
	s->held_bytes += len;
	return 0;
}

/* Gives up on the hole before the first held segment. */
static void skip_hole(struct ps_tcp_stream *s, const struct ps_tcp_sink *sink)
{
	uint32_t missing = (uint32_t)seq_diff(s->held->seq, s->next_seq);

	s->gaps++;
	s->gap_bytes += missing;
	s->next_seq = s->held->seq;
	sink->gap(sink->arg, missing);
	deliver_held(s, sink);
}

int ps_tcp_stream_segment(struct ps_tcp_stream *s, const struct ps_tcp_segment *seg, const struct ps_tcp_sink *sink)
{
	uint32_t seq = seg->syn ? seg->seq + 1 : seg->seq;   /* SYN takes one sequence number */
	int err = 0;

	if (!s->started && (seg->syn || seg->len)) {
		s->started = true;
		s->from_syn = seg->syn;
		s->next_seq = seq;
	}
	if (seg->fin && !s->fin) {
		s->fin = true;
		s->fin_seq = seq + (uint32_t)seg->len;
	}
	if (!s->started || !seg->len)
		return 0;
	if (seq_diff(seq, s->next_seq) <= 0) {
		deliver_from(s, seq, seg->data, seg->len, sink);
		deliver_held(s, sink);
		return 0;
	}
	err = hold(s, seq, seg->data, seg->len);
	while (s->held && s->held_bytes > PS_TCP_HOLD_MAX)
		skip_hole(s, sink);
	return err;
}

void ps_tcp_stream_flush(struct ps_tcp_stream *s, const struct ps_tcp_sink *sink)
{
	deliver_held(s, sink);
	while (s->held)
		skip_hole(s, sink);
}

bool ps_tcp_stream_finished(const struct ps_tcp_stream *s)
{
	return s->fin && !s->held && seq_diff(s->next_seq, s->fin_seq) >= 0;
}
