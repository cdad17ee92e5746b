/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <bpf/libbpf.h>
#include "ring_reader.h"

struct ps_ring_reader {
	struct ring_buffer *rb;
	ps_ring_record_fn fn;
	void *ctx;
};

/*
 * libbpf binds a callback when it maps the ring; the reader's is set later,
 * hence this hop. Nothing polls before it is set: the ring_buffer is only
 * handed out by ps_ring_reader_start.
 */
static int forward(void *ctx, void *data, size_t size)
{
	struct ps_ring_reader *reader = ctx;

	return reader->fn(reader->ctx, data, size);
}

struct ps_ring_reader *ps_ring_reader_new(int ring_fd)
{
	struct ps_ring_reader *reader = calloc(1, sizeof(*reader));
	int err;

	if (!reader)
		return NULL;
	reader->rb = ring_buffer__new(ring_fd, forward, reader, NULL);
	if (!reader->rb) {
		err = errno;
		free(reader);
		errno = err;
		return NULL;
	}
	return reader;
}

struct ring_buffer *ps_ring_reader_start(struct ps_ring_reader *reader, ps_ring_record_fn fn, void *ctx)
{
	reader->fn = fn;
	reader->ctx = ctx;
	return reader->rb;
}

void ps_ring_reader_free(struct ps_ring_reader *reader)
{
	if (!reader)
		return;
	ring_buffer__free(reader->rb);
	free(reader);
}
