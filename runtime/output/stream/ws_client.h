/* SPDX-License-Identifier: MIT */
/*
 * --eventaddr/--logaddr ws://HOST:PORT/PATH: a WebSocket client
 * (libwebsockets) driven synchronously by the sink's thread, which owns its
 * context: one text message per line (or one binary message per batch of
 * pcapng blocks), reconnecting with the same backoff as tcp_out.h.
 */
#ifndef PS_WS_CLIENT_H
#define PS_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ps_ws_client;

/* NULL after one error line. */
struct ps_ws_client *ps_ws_client_new(const char *what, const char *host, uint16_t port, const char *path);
/*
 * As ps_tcp_out_send: 0, -EAGAIN (not connected, try later) or another
 * negative errno (lost). A text line's newline is not sent.
 */
int ps_ws_client_send(struct ps_ws_client *c, const uint8_t *data, size_t len, bool binary);
/* As ps_tcp_out_ready: a server's close is noticed here, and a new connection made when due. */
int ps_ws_client_ready(struct ps_ws_client *c);
uint64_t ps_ws_client_connects(const struct ps_ws_client *c);
void ps_ws_client_free(struct ps_ws_client *c);

#endif
