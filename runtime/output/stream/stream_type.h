/* SPDX-License-Identifier: MIT */
/*
 * Event.type for each captured call: what the HTTP parsers' detection
 * (http_start.c) makes of the first bytes of a connection's direction,
 * remembered per connection so that a body's later calls keep the type of
 * the message they belong to. The table is bounded: a connection pushed out
 * starts again at its next message.
 */
#ifndef PS_STREAM_TYPE_H
#define PS_STREAM_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ecaptureq_encode.h"

#define PS_STREAM_TYPE_SLOTS 4096

struct ps_stream_type_slot {
	uint64_t key;               /* pid << 32 | fd, 0: empty */
	uint8_t type[2];            /* by direction: 0 written, 1 read */
	int8_t h2_client_dir;       /* the direction that carried the HTTP/2 preface; -1: none seen */
};

struct ps_stream_types {
	struct ps_stream_type_slot slot[PS_STREAM_TYPE_SLOTS];
};

enum ps_stream_type ps_stream_type_of(struct ps_stream_types *t, uint32_t pid, int32_t fd, bool read,
				      const uint8_t *data, size_t len);

#endif
