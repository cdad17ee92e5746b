/* SPDX-License-Identifier: MIT */
/*
 * eCaptureQ's messages (ecaptureq.proto): one LogEntry per message, packed
 * with protobuf-c into a ps_stream_msg ready for the WebSocket.
 */
#ifndef PS_ECAPTUREQ_ENCODE_H
#define PS_ECAPTUREQ_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include "stream_msg.h"

/* Event.type: what the HTTP parsers make of the bytes (stream_type.h). */
enum ps_stream_type {
	PS_STREAM_TYPE_UNKNOWN = 0,
	PS_STREAM_TYPE_HTTP1_REQUEST = 1,
	PS_STREAM_TYPE_HTTP2_REQUEST = 2,
	PS_STREAM_TYPE_HTTP1_RESPONSE = 3,
	PS_STREAM_TYPE_HTTP2_RESPONSE = 4,
};

/* One captured call's bytes, every field of eCaptureQ's Event. */
struct ps_stream_event {
	int64_t time_ns;            /* wall clock, Unix nanoseconds */
	const char *uuid;           /* the connection's */
	const char *src_ip, *dst_ip;    /* the bytes went from src to dst; "" unknown */
	uint32_t src_port, dst_port;
	int64_t pid;
	const char *pname;
	enum ps_stream_type type;
	const uint8_t *payload;
	size_t len;
};

struct ps_stream_msg *ps_ecaptureq_event(const struct ps_stream_event *ev);
/* A heartbeat: time_ns, its sequence number and a word. */
struct ps_stream_msg *ps_ecaptureq_heartbeat(int64_t time_ns, int64_t count, const char *message);
/* One log line (run_log, PROCESS_LOG). */
struct ps_stream_msg *ps_ecaptureq_log(const char *line);

#endif
