/* SPDX-License-Identifier: MIT */
/*
 * One direction of a TCP connection put back in order: segments in any
 * order, repeated or overlapping, become the byte stream the receiver read.
 * Bytes that never arrived are a gap: counted, told to the sink, never
 * filled in. A stream joined mid-way (its SYN not seen) starts at the first
 * segment seen.
 */
#ifndef PS_TCP_REASSEMBLY_H
#define PS_TCP_REASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Out-of-order bytes held per direction; past this the stream gives up on the hole (a gap). */
#define PS_TCP_HOLD_MAX (8u << 20)

struct ps_tcp_sink {
	void (*data)(void *arg, const uint8_t *data, size_t len);
	void (*gap)(void *arg, uint64_t len);  /* len bytes of the stream never arrived */
	void *arg;
};

struct ps_tcp_held;

struct ps_tcp_stream {
	bool started;               /* next_seq is known */
	bool from_syn;              /* it started at the SYN: its first byte is the stream's first */
	bool fin;                   /* the sender's FIN was seen */
	uint32_t next_seq;          /* the sequence number of the next byte to deliver */
	uint32_t fin_seq;           /* where the FIN is */
	struct ps_tcp_held *held;   /* segments ahead of next_seq, by sequence number */
	size_t held_bytes;
	uint64_t delivered;         /* bytes handed to the sink */
	uint64_t repeated;          /* bytes that came again (retransmits, overlaps) */
	uint64_t gaps, gap_bytes;   /* holes given up on, and their bytes */
};

struct ps_tcp_segment {
	uint32_t seq;
	bool syn, fin;
	const uint8_t *data;
	size_t len;
};

void ps_tcp_stream_init(struct ps_tcp_stream *s);
void ps_tcp_stream_free(struct ps_tcp_stream *s);

/* Takes one segment; delivers what is now in order. 0, or -ENOMEM (the segment's bytes become a gap later). */
int ps_tcp_stream_segment(struct ps_tcp_stream *s, const struct ps_tcp_segment *seg, const struct ps_tcp_sink *sink);

/* The end (FIN, RST, or plainsight stopping): the held bytes past each hole, the holes as gaps. */
void ps_tcp_stream_flush(struct ps_tcp_stream *s, const struct ps_tcp_sink *sink);

/* Every byte up to the FIN delivered. */
bool ps_tcp_stream_finished(const struct ps_tcp_stream *s);

#endif
