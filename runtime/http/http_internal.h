/* SPDX-License-Identifier: MIT */
/* What the processor (streams.c) and the parsers (http1.c, http2.c) share. */
#ifndef PS_HTTP_INTERNAL_H
#define PS_HTTP_INTERNAL_H

#include "http.h"

/* A byte buffer that grows up to a bound its user checks. */
struct http_buf {
	uint8_t *p;
	size_t len, cap;
};

int http_buf_append(struct http_buf *b, const uint8_t *data, size_t len);
void http_buf_consume(struct http_buf *b, size_t n);
void http_buf_free(struct http_buf *b);

int http_headers_add(struct ps_http_headers *h, const uint8_t *name, size_t name_len, const uint8_t *value,
		     size_t value_len, bool lost);
void http_headers_clear(struct ps_http_headers *h);
/* The first field named name (ASCII case ignored), or NULL. */
const struct ps_http_header *http_headers_find(const struct ps_http_headers *h, const char *name);

/*
 * A message's body as it arrives: stored up to BODY_STORE_MAX bytes, the
 * rest counted. Decoding happens once, at the end (body.c).
 */
#define BODY_STORE_MAX (16u << 20)

struct http_body {
	struct http_buf raw;
	uint64_t received;          /* bytes of body seen, stored or not */
};

void http_body_add(struct http_body *b, const uint8_t *data, size_t len);

/* A decoded body, ready for a message. */
struct http_body_view {
	uint8_t *owned;             /* the decoded bytes when a coding was undone */
	const uint8_t *data;
	size_t len;
	uint64_t total, truncated;
	const char *coding, *error;
};

/* Undoes content_coding (NULL, identity, gzip, x-gzip, deflate, br) and applies the limit. */
void http_body_decode(const struct http_body *b, const char *content_coding, uint64_t limit,
		      struct http_body_view *view);
void http_body_view_free(struct http_body_view *view);
/* Fills msg's body fields from view; counts what the limit cut. */
void http_body_view_to_message(const struct http_body_view *view, struct ps_http_message *msg);

/* The stream of one direction of a connection. */
struct http_dir {
	struct http_buf in;         /* received, not yet parsed */
	bool raw;                   /* given up on: its chunks go out as records */
	uint64_t in_time;           /* wall clock of the call whose bytes lead `in` */
	void *parser;               /* http1_dir or h2_dir */
};

/* A request the other direction is answering, oldest first (HTTP/1.x pairing). */
struct http_pending {
	char *method, *path, *authority;
	struct http_pending *next;
};

enum http_conn_proto { CONN_UNKNOWN, CONN_HTTP1, CONN_HTTP2, CONN_RAW };

struct http_conn {
	struct ps_http_chunk info;  /* the key and the process fields; data unused */
	enum http_conn_proto proto;
	struct http_dir dir[2];     /* indexed by enum ps_http_dir */
	struct http_pending *pending, **pending_tail;
	void *h2;                   /* http2.c's connection state */
	uint64_t last_mono_ns;
	struct http_conn *prev, *next;   /* most recently used first */
};

struct ps_http_processor {
	struct ps_http_limits limits;
	ps_http_emit_fn emit;
	void *emit_arg;
	struct ps_http_counters counters;
	struct http_conn *conns;    /* most recently used first */
	struct http_conn *lru_tail;
	size_t n_conns;
	/*
	 * The direction being fed holds exactly the current call's bytes, none
	 * parsed: a fallback then hands the call back to be written as the
	 * record it is, not as a raw message.
	 */
	struct http_dir *whole_dir;
	size_t whole_len;
	bool handed_back;
};

/* Hands a message out and counts it. */
void http_emit(struct ps_http_processor *p, struct http_conn *c, struct ps_http_message *msg);
/* Gives a direction up: what it held goes out as one raw message saying why. */
void http_dir_fallback(struct ps_http_processor *p, struct http_conn *c, enum ps_http_dir d, const char *why);
void http_message_init(struct ps_http_message *msg, struct http_conn *c, enum ps_http_proto proto);

/* How a connection's records stop. */
enum http_end {
	HTTP_END_SEEN,              /* its fd now holds another connection: this one closed */
	HTTP_END_EXIT,              /* plainsight stops with the connection still open */
	HTTP_END_EVICTED,           /* idle too long, or the table was full */
};

/* HTTP/1.x (http1.c): parse what dir d holds. */
void http1_feed(struct ps_http_processor *p, struct http_conn *c, enum ps_http_dir d, uint64_t now);
void http1_finish(struct ps_http_processor *p, struct http_conn *c, enum ps_http_dir d, enum http_end end);
/* chunk begins a request while the other direction's response runs until the close (see http1.c). */
bool http1_starts_new_connection(const struct http_conn *c, const struct ps_http_chunk *chunk);
void http1_dir_free(struct http_dir *dir);
bool http1_looks_like(const uint8_t *data, size_t len);

/* HTTP/2 (http2.c). */
void h2_feed(struct ps_http_processor *p, struct http_conn *c, enum ps_http_dir d, uint64_t now);
void h2_finish(struct ps_http_processor *p, struct http_conn *c);
void h2_conn_free(struct http_conn *c);
bool h2_looks_like(const uint8_t *data, size_t len);
/* Whether direction d of the connection has begun (its preface, if any, is behind it). */
bool h2_dir_started(const struct http_conn *c, enum ps_http_dir d);

/* gRPC (grpc.c): fills the grpc fields of an HTTP/2 message whose content-type says gRPC. */
bool grpc_is(const struct ps_http_headers *headers);
/* The caller frees *messages with grpc_messages_free. */
void grpc_messages_free(struct ps_grpc_message *messages, size_t n);
void grpc_describe(struct ps_http_message *msg, const struct ps_http_headers *req_headers,
		   struct ps_grpc_message **messages, char **service, char **method);

char *http_strndup(const uint8_t *s, size_t len);
bool http_ascii_eq(const char *a, size_t a_len, const char *b);

#endif
