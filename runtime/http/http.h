/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x, HTTP/2 and gRPC from plaintext records: the processor groups a
 * source's records per connection and direction (streams.c) and hands each
 * stream's bytes to a parser (http1.c, http2.c); the parsers emit messages
 * (struct ps_http_message), which the writers format (output_http.c).
 *
 * The processor reads only struct ps_http_chunk: a call-mode record, a
 * packet of wire mode, or a test's bytes all arrive the same way.
 */
#ifndef PS_HTTP_H
#define PS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ps_event.h"

enum ps_http_dir { PS_HTTP_WRITE, PS_HTTP_READ };

/* One run of plaintext bytes of one connection and direction, in order. */
struct ps_http_chunk {
	uint32_t pid, tid, uid;
	char comm[PS_COMM_LEN + 1];
	int32_t fd;
	struct ps_tuple tuple;      /* family 0: unknown */
	enum ps_http_dir dir;       /* as the traced process sees it */
	uint64_t mono_ns;           /* when the call happened (CLOCK_MONOTONIC) */
	uint64_t time_ns;           /* the same, wall clock */
	const uint8_t *data;
	size_t len;
	uint64_t lost_before;       /* bytes of this direction lost before data (the source's gaps) */
};

struct ps_http_header {
	char *name, *value;         /* NUL-terminated; may hold NULs of their own */
	size_t name_len, value_len;
	/* HTTP/2: its HPACK index pointed into the part of the dynamic table the capture never saw */
	bool lost;
};

struct ps_http_headers {
	struct ps_http_header *v;
	size_t n, cap;
};

struct ps_grpc_message {
	bool compressed;
	uint32_t declared_len;      /* the prefix's length */
	const uint8_t *data;        /* the bytes present: as sent, or decompressed (encoding) */
	size_t len;
	const char *encoding;       /* grpc-encoding undone for a compressed message; NULL: as sent */
	const char *decode_error;   /* a compressed message that would not decompress: as sent */
	uint8_t *owned;             /* the decompressed bytes */
};

enum ps_http_proto { PS_PROTO_HTTP1, PS_PROTO_HTTP2, PS_PROTO_GRPC, PS_PROTO_RAW };
enum ps_http_kind { PS_MSG_REQUEST, PS_MSG_RESPONSE, PS_MSG_CONTROL, PS_MSG_RAW };

struct ps_http_message {
	enum ps_http_proto proto;
	enum ps_http_kind kind;
	const struct ps_http_chunk *conn;   /* process and connection fields (data, len unused) */
	enum ps_http_dir dir;               /* the message's, as the traced process sees it */
	const char *method, *path, *authority;  /* a response: its request's; NULL: unknown */
	const char *version;                /* http1: "HTTP/1.1" */
	int status;                         /* responses; 0: none */
	const char *reason;                 /* http1 responses */
	const struct ps_http_headers *headers;
	const struct ps_http_headers *trailers;
	const uint8_t *body;                /* decoded, at most the body limit */
	size_t body_len;
	uint64_t body_total;                /* decoded length, truncated or not */
	uint64_t body_truncated;            /* bytes past the body limit, not shown */
	const char *content_encoding;       /* the coding undone, NULL: none */
	const char *decode_error;           /* the coding could not be undone: body is as sent */
	int64_t stream_id;                  /* http2; -1: none */
	bool push_promise;                  /* a request the server promised (PUSH_PROMISE) */
	uint64_t first_ns, last_ns;         /* wall clock of the calls with the first and last byte */
	const char *control;                /* PS_MSG_CONTROL: "GOAWAY", "RST_STREAM" */
	uint32_t error_code;                /* GOAWAY, RST_STREAM */
	int64_t last_stream_id;             /* GOAWAY */
	const char *note;                   /* why it is raw, incomplete or reset; NULL: nothing to say */
	/* gRPC */
	const char *grpc_service, *grpc_method;
	const char *grpc_status, *grpc_message;
	const struct ps_grpc_message *grpc_messages;
	size_t n_grpc_messages;
};

typedef void (*ps_http_emit_fn)(const struct ps_http_message *msg, void *arg);

struct ps_http_limits {
	uint64_t body_max;          /* decoded body bytes shown per message (-t/--tsize); 0: all */
	size_t stream_buffer_max;   /* bytes one direction may hold unparsed */
	size_t max_connections;
	uint64_t idle_ns;           /* a connection silent this long is evicted */
};

void ps_http_limits_default(struct ps_http_limits *limits);

struct ps_http_counters {
	uint64_t messages;          /* messages emitted */
	uint64_t raw_fallbacks;     /* streams given up as not (or no longer) HTTP */
	uint64_t skipped_bytes;     /* bytes of recognised streams not shown (lost, cut, unparsable) */
	uint64_t truncated_bytes;   /* decoded body bytes past the limit */
	uint64_t evicted;           /* connections dropped: idle, or the table was full */
	uint64_t hpack_lost;        /* HTTP/2 header fields that referred to entries never seen */
	uint64_t stream_errors;     /* HTTP/2 streams ended by a protocol error of their own */
};

struct ps_http_processor;

struct ps_http_processor *ps_http_processor_new(const struct ps_http_limits *limits, ps_http_emit_fn emit, void *arg);
/*
 * Takes one chunk. True: the processor owns it (parsed, buffered, or counted
 * as skipped); false: the connection is not HTTP, and the caller shows the
 * record as it is. Detection never consumes or alters bytes.
 */
bool ps_http_push(struct ps_http_processor *p, const struct ps_http_chunk *chunk);
/* Emits whatever is buffered (messages cut short say so) and forgets every connection. */
void ps_http_flush(struct ps_http_processor *p);
const struct ps_http_counters *ps_http_counters(const struct ps_http_processor *p);
void ps_http_processor_free(struct ps_http_processor *p);

/* What a stream's bytes begin with, by the parsers' detection (http_start.c). */
enum ps_http_start {
	PS_HTTP_START_NONE,
	PS_HTTP_START_H1_REQUEST,   /* a request line */
	PS_HTTP_START_H1_RESPONSE,  /* a status line */
	PS_HTTP_START_H2_PREFACE,   /* the client's HTTP/2 preface */
	PS_HTTP_START_H2_FRAMES,    /* HTTP/2 frames */
};
enum ps_http_start ps_http_start_of(const uint8_t *data, size_t len);

/* The writers (output_http.c). */
void ps_http_write_json(FILE *f, const struct ps_http_message *msg);
void ps_http_write_text(FILE *f, const struct ps_http_message *msg);
void ps_http_write_json_counters(FILE *f, const struct ps_http_counters *c);

#endif
