/* SPDX-License-Identifier: MIT */
/*
 * A message bound for the network or a file, shared by every queue that
 * holds it (each WebSocket client's), and freed by the last.
 */
#ifndef PS_STREAM_MSG_H
#define PS_STREAM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libwebsockets wants this much room before a message's bytes (LWS_PRE); sized here so the header is lws-free. */
#define PS_STREAM_MSG_PRE 16

enum ps_stream_msg_kind { PS_STREAM_EVENT, PS_STREAM_LOG, PS_STREAM_HEARTBEAT };

struct ps_stream_msg {
	int refs;                   /* atomic */
	enum ps_stream_msg_kind kind;
	size_t len;
	uint8_t room[PS_STREAM_MSG_PRE];
	uint8_t data[];
};

/* len bytes of room after the header; one reference. NULL when out of memory. */
struct ps_stream_msg *ps_stream_msg_new(enum ps_stream_msg_kind kind, size_t len);
struct ps_stream_msg *ps_stream_msg_ref(struct ps_stream_msg *m);
void ps_stream_msg_unref(struct ps_stream_msg *m);

/*
 * A bounded FIFO of messages, by count and by bytes. It does not lock:
 * its owner's lock covers it.
 */
struct ps_msg_fifo {
	struct ps_stream_msg **v;
	size_t head, n, cap;
	size_t bytes, max_bytes;
};

int ps_msg_fifo_init(struct ps_msg_fifo *q, size_t cap, size_t max_bytes);
/* Takes a new reference to m; false (and nothing taken) when the fifo is full. */
bool ps_msg_fifo_push(struct ps_msg_fifo *q, struct ps_stream_msg *m);
/* The oldest message, its reference now the caller's; NULL when empty. */
struct ps_stream_msg *ps_msg_fifo_pop(struct ps_msg_fifo *q);
void ps_msg_fifo_free(struct ps_msg_fifo *q);

#endif
