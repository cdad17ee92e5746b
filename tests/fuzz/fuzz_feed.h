/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: the input's first 4 bytes seed the cuts (a
 * small PRNG picks each piece's length and direction), the rest are the
 * stream's bytes, fed to one processor whose messages go through the json
 * and text writers into /dev/null. A crash, a sanitizer report or a leak is
 * a finding; the output is not checked (tests/unit/http_test.c does that).
 */
#ifndef PS_FUZZ_FEED_H
#define PS_FUZZ_FEED_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "http.h"

static FILE *fuzz_sink;

static void fuzz_emit(const struct ps_http_message *msg, void *arg)
{
	(void)arg;
	ps_http_write_json(fuzz_sink, msg);
	ps_http_write_text(fuzz_sink, msg);
}

static uint32_t fuzz_next(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* prefix: bytes the client's direction starts with (the HTTP/2 preface), or NULL */
static void fuzz_feed(const uint8_t *data, size_t size, const char *prefix, uint64_t body_max)
{
	struct ps_http_limits limits;
	struct ps_http_processor *p;
	struct ps_http_chunk c = { .pid = 1, .tid = 1, .comm = "fuzz", .fd = 3, .time_ns = 1 };
	uint32_t state = 0x9e3779b9;

	if (!fuzz_sink)
		fuzz_sink = fopen("/dev/null", "w");
	if (size >= 4) {
		state ^= (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
		data += 4;
		size -= 4;
	}
	if (!state)
		state = 1;
	ps_http_limits_default(&limits);
	limits.body_max = body_max;
	limits.stream_buffer_max = 1u << 20;
	p = ps_http_processor_new(&limits, fuzz_emit, NULL);
	if (prefix) {
		c.dir = PS_HTTP_WRITE;
		c.data = (const uint8_t *)prefix;
		c.len = strlen(prefix);
		ps_http_push(p, &c);
	}
	while (size) {
		uint32_t r = fuzz_next(&state);
		size_t len = 1 + r % 300;

		if (len > size)
			len = size;
		c.dir = (r >> 16) & 1 ? PS_HTTP_READ : PS_HTTP_WRITE;
		c.mono_ns += 1000;
		c.data = data;
		c.len = len;
		c.lost_before = (r >> 20) % 97 == 0;    /* now and then, a gap */
		ps_http_push(p, &c);
		data += len;
		size -= len;
	}
	ps_http_processor_free(p);
}

#endif
