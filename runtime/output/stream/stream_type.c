/* SPDX-License-Identifier: MIT */
#include "http.h"
#include "stream_type.h"

static struct ps_stream_type_slot *slot_of(struct ps_stream_types *t, uint32_t pid, int32_t fd)
{
	uint64_t key = (uint64_t)pid << 32 | (uint32_t)fd | 1ull << 63;
	struct ps_stream_type_slot *s = &t->slot[(key * 0x9E3779B97F4A7C15ull) >> 52 & (PS_STREAM_TYPE_SLOTS - 1)];

	if (s->key != key)
		*s = (struct ps_stream_type_slot){ .key = key, .h2_client_dir = -1 };
	return s;
}

static enum ps_stream_type h2_type(const struct ps_stream_type_slot *s, int dir)
{
	return s->h2_client_dir == dir ? PS_STREAM_TYPE_HTTP2_REQUEST : PS_STREAM_TYPE_HTTP2_RESPONSE;
}

enum ps_stream_type ps_stream_type_of(struct ps_stream_types *t, uint32_t pid, int32_t fd, bool read,
				      const uint8_t *data, size_t len)
{
	struct ps_stream_type_slot *s = slot_of(t, pid, fd);
	int dir = read;

	switch (ps_http_start_of(data, len)) {
	case PS_HTTP_START_H1_REQUEST:
		s->type[dir] = PS_STREAM_TYPE_HTTP1_REQUEST;
		break;
	case PS_HTTP_START_H1_RESPONSE:
		s->type[dir] = PS_STREAM_TYPE_HTTP1_RESPONSE;
		break;
	case PS_HTTP_START_H2_PREFACE:
		s->h2_client_dir = (int8_t)dir;
		s->type[dir] = PS_STREAM_TYPE_HTTP2_REQUEST;
		s->type[!dir] = PS_STREAM_TYPE_HTTP2_RESPONSE;
		break;
	case PS_HTTP_START_H2_FRAMES:
		/* frames with no preface seen: the process is a client when it writes first, which is unknown here */
		if (s->h2_client_dir >= 0)
			s->type[dir] = h2_type(s, dir);
		break;
	case PS_HTTP_START_NONE:
		break;
	}
	return (enum ps_stream_type)s->type[dir];
}
