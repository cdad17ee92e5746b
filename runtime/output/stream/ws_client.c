/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libwebsockets.h>
#include "log.h"
#include "ws_client.h"
#include "lws_lib.h"
#include "ws_context.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 2000
#define SEND_TIMEOUT_MS 5000
/* lws_service waits for an event or a timer: a timer this often bounds each wait. */
#define TICK_US (50 * LWS_US_PER_MS)

enum ws_state { WS_DOWN, WS_CONNECTING, WS_UP };

struct ps_ws_client {
	const char *what, *host, *path;
	uint16_t port;
	struct lws_context *ctx;
	struct lws *wsi;
	enum ws_state state;
	lws_sorted_usec_list_t tick;
	uint8_t *buf;               /* LWS_PRE bytes, then the line being sent */
	size_t buf_cap, pending;    /* pending: bytes waiting for the writable callback; 0: none */
	int write_error;
	bool binary;                /* of the message pending */
	uint64_t retry_at_ns, connects;
	uint32_t backoff_ms;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct ps_ws_client *c = ps_lws_lib()->context_user(ps_lws_lib()->get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->state = WS_UP;
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c->wsi == wsi || c->state == WS_CONNECTING) {
			c->state = WS_DOWN;
			c->wsi = NULL;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!c->pending)
			return 0;
		if (ps_lws_lib()->write(wsi, c->buf + LWS_PRE, c->pending, c->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) <
		    (int)c->pending)
			c->write_error = -EPIPE;
		c->pending = 0;
		return c->write_error ? -1 : 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{ .name = "plainsight", .callback = on_lws },
	{ 0 },
};

static void on_tick(lws_sorted_usec_list_t *sul)
{
	(void)sul;
}

/* Services the context until done() or timeout_ms pass. */
static void serve_until(struct ps_ws_client *c, bool (*done)(const struct ps_ws_client *), int timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;

	while (!done(c) && mono_ns() < deadline) {
		ps_lws_lib()->sul_schedule(c->ctx, 0, &c->tick, on_tick, TICK_US);
		if (ps_lws_lib()->service(c->ctx, 0) < 0)
			break;
	}
}

static bool not_connecting(const struct ps_ws_client *c)
{
	return c->state != WS_CONNECTING;
}

/* lws keeps what the socket did not take of a write (a partial send) and sends it first: it is not sent yet. */
static bool sent_or_down(const struct ps_ws_client *c)
{
	return (!c->pending && !(c->wsi && ps_lws_lib()->partial_buffered(c->wsi))) || c->state != WS_UP;
}

static void backoff(struct ps_ws_client *c)
{
	c->retry_at_ns = mono_ns() + (uint64_t)c->backoff_ms * 1000000ull;
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static int connect_now(struct ps_ws_client *c)
{
	struct lws_client_connect_info info;

	if (mono_ns() < c->retry_at_ns)
		return -EAGAIN;
	memset(&info, 0, sizeof(info));
	info.context = c->ctx;
	info.address = c->host;
	info.port = c->port;
	info.path = c->path;
	info.host = c->host;
	info.origin = c->host;
	info.protocol = NULL;
	info.local_protocol_name = protocols[0].name;
	c->state = WS_CONNECTING;
	c->wsi = ps_lws_lib()->client_connect_via_info(&info);
	if (c->wsi)
		serve_until(c, not_connecting, CONNECT_TIMEOUT_MS);
	if (c->state != WS_UP) {
		c->state = WS_DOWN;
		c->wsi = NULL;
		backoff(c);
		return -EAGAIN;
	}
	c->connects++;
	c->backoff_ms = BACKOFF_FIRST_MS;
	return 0;
}

/*
 * What the server sent is read before a send: its close frame, its FIN or
 * its reset. Without this, a line written after the server went away is
 * taken by the kernel and lost to the reset that answers it, yet looks sent
 * (tcp_out.c reads for the same reason). A server that sends and sends is
 * read a bounded number of times.
 */
#define INCOMING_ROUNDS 16

static void take_incoming(struct ps_ws_client *c)
{
	for (int i = 0; i < INCOMING_ROUNDS && c->state == WS_UP && c->wsi; i++) {
		struct pollfd pfd = { .fd = ps_lws_lib()->get_socket_fd(c->wsi), .events = POLLIN | POLLRDHUP };

		if (pfd.fd < 0 || poll(&pfd, 1, 0) != 1)
			return;
		ps_lws_lib()->sul_schedule(c->ctx, 0, &c->tick, on_tick, TICK_US);
		if (ps_lws_lib()->service(c->ctx, 0) < 0)
			return;
	}
}

int ps_ws_client_ready(struct ps_ws_client *c)
{
	if (c->state == WS_UP)
		take_incoming(c);
	return c->state == WS_UP ? 0 : connect_now(c);
}

int ps_ws_client_send(struct ps_ws_client *c, const uint8_t *data, size_t len, bool binary)
{
	int err;

	/* a line's newline is the message's end: a message carries the line alone */
	if (!binary && len && data[len - 1] == '\n')
		len--;
	if ((err = ps_ws_client_ready(c)) != 0)
		return err;
	if (LWS_PRE + len > c->buf_cap) {
		uint8_t *buf = realloc(c->buf, LWS_PRE + len);

		if (!buf)
			return -ENOMEM;
		c->buf = buf;
		c->buf_cap = LWS_PRE + len;
	}
	if (!len)
		return 0;   /* an empty line carries nothing to send */
	memcpy(c->buf + LWS_PRE, data, len);
	c->pending = len;
	c->binary = binary;
	c->write_error = 0;
	ps_lws_lib()->callback_on_writable(c->wsi);
	serve_until(c, sent_or_down, SEND_TIMEOUT_MS);
	if (!sent_or_down(c) || c->pending || c->write_error || c->state != WS_UP) {
		c->pending = 0;
		if (c->state == WS_UP && c->wsi)
			ps_lws_lib()->set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		c->state = WS_DOWN;
		c->wsi = NULL;
		backoff(c);
		return -ECONNRESET;
	}
	return 0;
}

uint64_t ps_ws_client_connects(const struct ps_ws_client *c)
{
	return c->connects;
}

struct ps_ws_client *ps_ws_client_new(const char *what, const char *host, uint16_t port, const char *path)
{
	struct ps_ws_client *c = calloc(1, sizeof(*c));

	if (!c) {
		ps_error("%s: out of memory", what);
		return NULL;
	}
	*c = (struct ps_ws_client){ .what = what, .host = host, .path = path, .port = port,
				    .backoff_ms = BACKOFF_FIRST_MS };
	c->ctx = ps_ws_context_new(CONTEXT_PORT_NO_LISTEN, NULL, protocols, c);
	if (!c->ctx) {
		ps_error("%s: cannot set up a WebSocket client", what);
		free(c);
		return NULL;
	}
	return c;
}

void ps_ws_client_free(struct ps_ws_client *c)
{
	if (!c)
		return;
	ps_lws_lib()->sul_cancel(&c->tick);
	ps_lws_lib()->context_destroy(c->ctx);
	free(c->buf);
	free(c);
}
