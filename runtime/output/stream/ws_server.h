/* SPDX-License-Identifier: MIT */
/*
 * --ecaptureq: a WebSocket server (libwebsockets) on a thread of its own,
 * sending eCaptureQ's LogEntry messages to every client. The capture only
 * queues: each client has a bounded queue, and a client whose queue is full
 * (it stopped reading) is dropped and counted, never waited for.
 */
#ifndef PS_WS_SERVER_H
#define PS_WS_SERVER_H

#include <stdint.h>
#include "stream_msg.h"

struct ps_ws_counters {
	uint64_t clients;           /* connected now */
	uint64_t clients_total;     /* ever connected */
	uint64_t clients_dropped;   /* dropped as too slow */
	uint64_t events_sent;       /* event messages written, summed over the clients */
	uint64_t events_dropped;    /* event messages a dropped client never got */
	uint64_t log_lines_unkept;  /* log lines past the replay bound, not replayed to later clients */
};

struct ps_ws_server;

/* Listens on host:port; NULL after one error line. */
struct ps_ws_server *ps_ws_server_start(const char *host, uint16_t port);
/* To every client connected now; events and heartbeats only, from any thread. */
void ps_ws_server_send(struct ps_ws_server *s, struct ps_stream_msg *m);
/* A log line: to every client, and kept (bounded) for those that connect later. */
void ps_ws_server_log(struct ps_ws_server *s, struct ps_stream_msg *m);
void ps_ws_server_counters(struct ps_ws_server *s, struct ps_ws_counters *out);
/* Gives the clients up to two seconds to take what is queued, stops, and says what it did. */
void ps_ws_server_stop(struct ps_ws_server *s, struct ps_ws_counters *final);

#endif
