/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libwebsockets.h>
#include "ecaptureq_encode.h"
#include "log.h"
#include "lws_lib.h"
#include "ws_context.h"
#include "ws_server.h"

/* lws_write needs LWS_PRE writable bytes before the message: the message's room. */
_Static_assert(PS_STREAM_MSG_PRE >= LWS_PRE, "ps_stream_msg room smaller than LWS_PRE");
_Static_assert(offsetof(struct ps_stream_msg, data) - offsetof(struct ps_stream_msg, room) == PS_STREAM_MSG_PRE,
	       "room must sit right before data");

/* eCaptureQ's interval (issue 16). */
#define HEARTBEAT_US (15 * LWS_USEC_PER_SEC)
/*
 * A client's backlog: about 65536 records or 16 MiB, whichever first; past
 * it the client is dropped. With the kernel's socket buffers in front, a
 * client that reads at all keeps up; small events fill the count first, so
 * it allows a few seconds of a high rate (bench/README.md, issue 16).
 */
#define CLIENT_QUEUE_MSGS 65536
#define CLIENT_QUEUE_BYTES (16u << 20)
/* Log lines kept for later clients: the start of the run, where the useful lines are. */
#define REPLAY_LINES 1024
#define REPLAY_BYTES (256u << 10)
#define DRAIN_WAIT_MS 2000

struct ws_client {
	struct lws *wsi;
	struct ps_msg_fifo fifo;
	bool too_slow;
	struct ws_client *next;
};

struct ps_ws_server {
	struct lws_context *ctx;
	pthread_t thread;
	pthread_mutex_t lock;       /* clients, replay, counters */
	struct ws_client *clients;
	struct ps_msg_fifo replay;
	struct ps_ws_counters counters;
	int64_t heartbeats;
	lws_sorted_usec_list_t heartbeat_timer;
	int stop;                   /* atomic */
};

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t events_in(const struct ps_msg_fifo *q)
{
	uint64_t n = 0;

	for (size_t i = 0; i < q->n; i++)
		n += q->v[(q->head + i) % q->cap]->kind == PS_STREAM_EVENT;
	return n;
}

/*
 * Under the lock: m to one client, which is dropped when its queue is full.
 * True when its queue was empty: no write is asked for it yet.
 */
static bool client_push(struct ps_ws_server *s, struct ws_client *c, struct ps_stream_msg *m)
{
	bool was_empty = !c->fifo.n;

	if (c->too_slow || ps_msg_fifo_push(&c->fifo, m))
		return was_empty && !c->too_slow;
	c->too_slow = true;
	s->counters.clients_dropped++;
	s->counters.events_dropped += events_in(&c->fifo) + (m->kind == PS_STREAM_EVENT);
	return false;
}

static void broadcast(struct ps_ws_server *s, struct ps_stream_msg *m)
{
	bool wake = false;

	pthread_mutex_lock(&s->lock);
	for (struct ws_client *c = s->clients; c; c = c->next)
		wake |= client_push(s, c, m);
	pthread_mutex_unlock(&s->lock);
	/*
	 * The one libwebsockets call safe from another thread: the service loop
	 * wakes and asks for writes. A client whose queue held messages already
	 * has a write asked for (client_write asks again while more wait), so only
	 * an empty queue needs it: a system call per event otherwise, and none
	 * with no client connected.
	 */
	if (wake)
		ps_lws_lib()->cancel_service(s->ctx);
}

void ps_ws_server_send(struct ps_ws_server *s, struct ps_stream_msg *m)
{
	broadcast(s, m);
}

void ps_ws_server_log(struct ps_ws_server *s, struct ps_stream_msg *m)
{
	pthread_mutex_lock(&s->lock);
	if (!ps_msg_fifo_push(&s->replay, m))
		s->counters.log_lines_unkept++;
	pthread_mutex_unlock(&s->lock);
	broadcast(s, m);
}

static struct ps_stream_msg *next_heartbeat(struct ps_ws_server *s)
{
	return ps_ecaptureq_heartbeat(wall_ns(), ++s->heartbeats, "plainsight");
}

/* A new client: a heartbeat, then the log lines so far. */
static void client_join(struct ps_ws_server *s, struct ws_client *c, struct lws *wsi)
{
	struct ps_stream_msg *hb;

	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	if (ps_msg_fifo_init(&c->fifo, CLIENT_QUEUE_MSGS, CLIENT_QUEUE_BYTES)) {
		c->too_slow = true;
		return;
	}
	pthread_mutex_lock(&s->lock);
	hb = next_heartbeat(s);
	if (hb)
		ps_msg_fifo_push(&c->fifo, hb);
	ps_stream_msg_unref(hb);
	for (size_t i = 0; i < s->replay.n; i++)
		client_push(s, c, s->replay.v[(s->replay.head + i) % s->replay.cap]);
	c->next = s->clients;
	s->clients = c;
	s->counters.clients++;
	s->counters.clients_total++;
	pthread_mutex_unlock(&s->lock);
	ps_lws_lib()->callback_on_writable(wsi);
}

static void client_leave(struct ps_ws_server *s, struct ws_client *c)
{
	pthread_mutex_lock(&s->lock);
	for (struct ws_client **p = &s->clients; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			s->counters.clients--;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	ps_msg_fifo_free(&c->fifo);
}

/*
 * Messages while the socket takes them (lws_send_pipe_choked, the check
 * libwebsockets gives for writing again in one writable callback), at most
 * WRITES_PER_CALLBACK: one message per callback is a poll round per event,
 * slower than the capture at tens of thousands of events a second. -1
 * closes the client.
 */
#define WRITES_PER_CALLBACK 64

static int client_write(struct ps_ws_server *s, struct ws_client *c)
{
	bool more = true;

	for (int i = 0; more && i < WRITES_PER_CALLBACK; i++) {
		struct ps_stream_msg *m;
		int n;

		if (i && ps_lws_lib()->send_pipe_choked(c->wsi))
			break;
		pthread_mutex_lock(&s->lock);
		if (c->too_slow) {
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
		m = ps_msg_fifo_pop(&c->fifo);
		more = c->fifo.n > 0;
		pthread_mutex_unlock(&s->lock);
		if (!m)
			return 0;
		/* the room before data is written by lws_write; only this thread writes, one message at a time */
		n = ps_lws_lib()->write(c->wsi, m->data, m->len, LWS_WRITE_BINARY);
		if (n >= 0 && (size_t)n >= m->len && m->kind == PS_STREAM_EVENT) {
			pthread_mutex_lock(&s->lock);
			s->counters.events_sent++;
			pthread_mutex_unlock(&s->lock);
		}
		ps_stream_msg_unref(m);
		if (n < 0)
			return -1;
	}
	if (more)
		ps_lws_lib()->callback_on_writable(c->wsi);
	return 0;
}

/*
 * On the service thread, the only one that adds or removes clients: it
 * walks the list without the lock, so that no libwebsockets call (which may
 * log, and the log comes back here: ps_ws_server_log) runs under it. A
 * client with nothing queued just finds nothing to write.
 */
static void ask_writes(struct ps_ws_server *s)
{
	for (struct ws_client *c = s->clients; c; c = c->next)
		ps_lws_lib()->callback_on_writable(c->wsi);
}

static void on_heartbeat(lws_sorted_usec_list_t *sul)
{
	struct ps_ws_server *s = lws_container_of(sul, struct ps_ws_server, heartbeat_timer);
	struct ps_stream_msg *hb;

	pthread_mutex_lock(&s->lock);
	hb = next_heartbeat(s);
	pthread_mutex_unlock(&s->lock);
	if (hb) {
		broadcast(s, hb);
		ps_stream_msg_unref(hb);
	}
	ps_lws_lib()->sul_schedule(s->ctx, 0, &s->heartbeat_timer, on_heartbeat, HEARTBEAT_US);
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct ps_ws_server *s = ps_lws_lib()->context_user(ps_lws_lib()->get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		client_join(s, user, wsi);
		return 0;
	case LWS_CALLBACK_CLOSED:
		client_leave(s, user);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return client_write(s, user);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (s)
			ask_writes(s);
		return 0;
	default:
		return 0;   /* what clients send is not read: the stream goes one way */
	}
}

static const struct lws_protocols protocols[] = {
	{ .name = "ecaptureq", .callback = on_lws, .per_session_data_size = sizeof(struct ws_client) },
	{ 0 },
};

static void *service_thread(void *arg)
{
	struct ps_ws_server *s = arg;

	ps_lws_lib()->sul_schedule(s->ctx, 0, &s->heartbeat_timer, on_heartbeat, HEARTBEAT_US);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
		if (ps_lws_lib()->service(s->ctx, 0) < 0)
			break;
	return NULL;
}

struct ps_ws_server *ps_ws_server_start(const char *host, uint16_t port)
{
	struct ps_ws_server *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	int err;

	if (!s || ps_msg_fifo_init(&s->replay, REPLAY_LINES, REPLAY_BYTES)) {
		ps_error("--ecaptureq: out of memory");
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->ctx = ps_ws_context_new(port, host, protocols, s);
	if (!s->ctx) {
		ps_error("--ecaptureq: cannot listen on %s port %u (in use, or not an address of this host)", host, port);
		goto fail;
	}
	/* the signals stay the capture thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&s->thread, NULL, service_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		ps_error("--ecaptureq: cannot start its thread: %s", strerror(err));
		ps_lws_lib()->context_destroy(s->ctx);
		goto fail;
	}
	return s;
fail:
	ps_msg_fifo_free(&s->replay);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

void ps_ws_server_counters(struct ps_ws_server *s, struct ps_ws_counters *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->counters;
	pthread_mutex_unlock(&s->lock);
}

static bool anything_queued(struct ps_ws_server *s)
{
	bool queued = false;

	pthread_mutex_lock(&s->lock);
	for (struct ws_client *c = s->clients; c; c = c->next)
		queued |= !c->too_slow && c->fifo.n > 0;
	pthread_mutex_unlock(&s->lock);
	return queued;
}

void ps_ws_server_stop(struct ps_ws_server *s, struct ps_ws_counters *final)
{
	struct timespec pause = { .tv_nsec = 10 * 1000000 };

	if (!s)
		return;
	for (int waited = 0; waited < DRAIN_WAIT_MS && anything_queued(s); waited += 10)
		nanosleep(&pause, NULL);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	ps_lws_lib()->cancel_service(s->ctx);
	pthread_join(s->thread, NULL);
	ps_lws_lib()->sul_cancel(&s->heartbeat_timer);
	/* what the clients never got is counted as theirs; the clients themselves are libwebsockets' to free */
	for (struct ws_client *c = s->clients; c; c = c->next) {
		s->counters.events_dropped += events_in(&c->fifo);
		ps_msg_fifo_free(&c->fifo);
	}
	ps_lws_lib()->context_destroy(s->ctx);
	*final = s->counters;
	ps_msg_fifo_free(&s->replay);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
