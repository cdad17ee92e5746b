/* SPDX-License-Identifier: MIT */
/*
 * A ring buffer reader that can be made before anyone reads: mapping a
 * big ring takes milliseconds of kernel work (every page of it mapped
 * twice), which start-up does on the thread that makes the ring
 * (maps_ahead.h), while the main thread has other work. Whoever reads says
 * later which function gets the records.
 */
#ifndef PS_RING_READER_H
#define PS_RING_READER_H

#include <stddef.h>

struct ring_buffer;
struct ps_ring_reader;

typedef int (*ps_ring_record_fn)(void *ctx, void *data, size_t size);

/* Maps the ring buffer map ring_fd; NULL and errno on failure. */
struct ps_ring_reader *ps_ring_reader_new(int ring_fd);

/* From now on each record goes to fn(ctx, ...); returns the reader's ring_buffer, to poll and add rings to. */
struct ring_buffer *ps_ring_reader_start(struct ps_ring_reader *reader, ps_ring_record_fn fn, void *ctx);

void ps_ring_reader_free(struct ps_ring_reader *reader);

#endif
