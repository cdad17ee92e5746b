/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "line_sink.h"
#include "log.h"
#include "rotate_file.h"
#include "stream_msg.h"
#include "tcp_out.h"
#include "ws_client.h"

/* Lines waiting for the thread: about 64k lines or 64 MiB, whichever first. */
#define QUEUE_LINES 65536
#define QUEUE_BYTES (64u << 20)
/* A line not ended after this many bytes is queued as it is, so that memory stays bounded. */
#define PARTIAL_MAX (QUEUE_BYTES / 4)
/* At the end, a listener that is down gets this long to come back. */
#define CLOSE_WAIT_MS 3000

struct ps_line_sink {
	const char *what;
	struct ps_stream_addr addr;
	pthread_t thread;
	pthread_mutex_t lock;       /* fifo, counters, closing */
	pthread_cond_t wake;
	struct ps_msg_fifo fifo;
	struct ps_line_sink_counters counters;
	bool closing;
	uint64_t close_deadline_ns;
	/* the stream's line not yet ended (the writer's thread only) */
	uint8_t *partial;
	size_t partial_len, partial_cap;
	/* the thread's */
	struct ps_rotate_file file;
	struct ps_tcp_out tcp;
	struct ps_ws_client *ws;
	int last_error;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void queue_line(struct ps_line_sink *s, const uint8_t *data, size_t len, bool add_newline)
{
	struct ps_stream_msg *m = ps_stream_msg_new(PS_STREAM_LOG, len + add_newline);

	pthread_mutex_lock(&s->lock);
	if (m) {
		memcpy(m->data, data, len);
		if (add_newline)
			m->data[len] = '\n';
	}
	if (!m || !ps_msg_fifo_push(&s->fifo, m))
		s->counters.lines_dropped++;
	else
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	ps_stream_msg_unref(m);
}

void ps_line_sink_line(struct ps_line_sink *s, const char *text, size_t len)
{
	queue_line(s, (const uint8_t *)text, len, true);
}

static bool partial_append(struct ps_line_sink *s, const char *data, size_t len)
{
	if (s->partial_len + len > s->partial_cap) {
		size_t cap = (s->partial_len + len) * 2;
		uint8_t *p = realloc(s->partial, cap);

		if (!p)
			return false;
		s->partial = p;
		s->partial_cap = cap;
	}
	memcpy(s->partial + s->partial_len, data, len);
	s->partial_len += len;
	return true;
}

/* The cookie's write: whole lines are queued; it never fails and never waits. */
static ssize_t stream_write(void *cookie, const char *data, size_t len)
{
	struct ps_line_sink *s = cookie;
	size_t done = 0;

	while (done < len) {
		const char *nl = memchr(data + done, '\n', len - done);
		size_t piece = nl ? (size_t)(nl - (data + done)) + 1 : len - done;

		if (!partial_append(s, data + done, piece)) {
			pthread_mutex_lock(&s->lock);
			s->counters.lines_dropped++;
			pthread_mutex_unlock(&s->lock);
			s->partial_len = 0;
		} else if (nl || s->partial_len >= PARTIAL_MAX) {
			queue_line(s, s->partial, s->partial_len, false);
			s->partial_len = 0;
		}
		done += piece;
	}
	return (ssize_t)len;
}

static int stream_close(void *cookie)
{
	struct ps_line_sink *s = cookie;

	if (s->partial_len)
		queue_line(s, s->partial, s->partial_len, true);
	s->partial_len = 0;
	return 0;
}

FILE *ps_line_sink_stream(struct ps_line_sink *s)
{
	cookie_io_functions_t io = { .write = stream_write, .close = stream_close };

	return fopencookie(s, "w", io);
}

/* 0 sent; -EAGAIN not now (keep it, wait); other: lost. */
static int deliver(struct ps_line_sink *s, const struct ps_stream_msg *m)
{
	switch (s->addr.kind) {
	case PS_ADDR_FILE:
		return ps_rotate_file_write(&s->file, m->data, m->len);
	case PS_ADDR_TCP:
		return ps_tcp_out_send(&s->tcp, m->data, m->len);
	case PS_ADDR_WS:
		return ps_ws_client_send(s->ws, m->data, m->len);
	}
	return -EINVAL;
}

static int retry_wait_ms(const struct ps_line_sink *s)
{
	if (s->addr.kind == PS_ADDR_TCP)
		return ps_tcp_out_wait_ms(&s->tcp);
	return 100;
}

static void wait_ms(struct ps_line_sink *s, int ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	until.tv_sec += ms / 1000 + until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	pthread_cond_timedwait(&s->wake, &s->lock, &until);
}

static void *sink_thread(void *arg)
{
	struct ps_line_sink *s = arg;
	struct ps_stream_msg *held = NULL;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		int err;

		if (!held) {
			while (!s->fifo.n && !s->closing)
				pthread_cond_wait(&s->wake, &s->lock);
			held = ps_msg_fifo_pop(&s->fifo);
			if (!held)
				break;  /* closing, all sent */
		}
		pthread_mutex_unlock(&s->lock);
		err = deliver(s, held);
		pthread_mutex_lock(&s->lock);
		s->counters.connects = s->addr.kind == PS_ADDR_TCP ? s->tcp.connects :
				       s->ws ? ps_ws_client_connects(s->ws) : 0;
		s->counters.rotations = s->file.rotations;
		if (err == -EAGAIN) {
			if (s->closing && mono_ns() >= s->close_deadline_ns)
				break;
			wait_ms(s, retry_wait_ms(s));
			continue;
		}
		if (err) {
			s->counters.lines_dropped++;
			if (err != s->last_error) {
				s->last_error = err;
				/* the log may come back to this sink (--logaddr): not under its lock */
				pthread_mutex_unlock(&s->lock);
				ps_debug("%s: a line lost: %s", s->what, strerror(-err));
				pthread_mutex_lock(&s->lock);
			}
		} else {
			s->counters.lines_sent++;
		}
		ps_stream_msg_unref(held);
		held = NULL;
	}
	/* the end came with the destination still away: what is left is counted */
	s->counters.lines_dropped += s->fifo.n + (held != NULL);
	pthread_mutex_unlock(&s->lock);
	ps_stream_msg_unref(held);
	return NULL;
}

struct ps_line_sink *ps_line_sink_open(const char *what, const struct ps_stream_addr *addr, uint64_t rotate_bytes,
				       uint64_t rotate_ns)
{
	struct ps_line_sink *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	int err;

	if (!s || ps_msg_fifo_init(&s->fifo, QUEUE_LINES, QUEUE_BYTES)) {
		ps_error("%s: out of memory", what);
		free(s);
		return NULL;
	}
	s->what = what;
	s->addr = *addr;
	s->file.fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	if (addr->kind == PS_ADDR_FILE && ps_rotate_file_open(&s->file, addr->file, rotate_bytes, rotate_ns))
		goto fail;
	if (addr->kind == PS_ADDR_TCP)
		ps_tcp_out_init(&s->tcp, s->addr.host, s->addr.port);
	if (addr->kind == PS_ADDR_WS && !(s->ws = ps_ws_client_new(what, s->addr.host, s->addr.port, s->addr.path)))
		goto fail;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&s->thread, NULL, sink_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		ps_error("%s: cannot start its thread: %s", what, strerror(err));
		goto fail;
	}
	return s;
fail:
	ps_rotate_file_close(&s->file);
	ps_ws_client_free(s->ws);
	ps_msg_fifo_free(&s->fifo);
	free(s);
	return NULL;
}

void ps_line_sink_counters(struct ps_line_sink *s, struct ps_line_sink_counters *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->counters;
	pthread_mutex_unlock(&s->lock);
}

void ps_line_sink_close(struct ps_line_sink *s, struct ps_line_sink_counters *final)
{
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	s->close_deadline_ns = mono_ns() + CLOSE_WAIT_MS * 1000000ull;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	*final = s->counters;
	ps_rotate_file_close(&s->file);
	ps_tcp_out_close(&s->tcp);
	ps_ws_client_free(s->ws);
	ps_msg_fifo_free(&s->fifo);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->partial);
	free(s);
}
