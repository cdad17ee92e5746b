/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
#include "line_sink.h"
#include "log.h"
#include "rotate_file.h"
#include "stream_msg.h"
#include "tcp_out.h"
#include "ws_client.h"
#include "write_full.h"

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
	bool binary;
	uint64_t close_deadline_ns;
	/* binary mode: what starts each file and connection (under lock) */
	uint8_t *preamble;
	size_t preamble_len, preamble_cap;
	/* the stream's line not yet ended (the writer's thread only) */
	uint8_t *partial;
	size_t partial_len, partial_cap;
	/* the thread's */
	struct ps_rotate_file file;
	struct ps_tcp_out tcp;
	struct ps_ws_client *ws;
	int last_error;
	uint8_t *preamble_copy;     /* the thread's copy, taken under lock, written without it */
	size_t preamble_copy_cap;
	uint64_t preamble_sent_on;  /* tcp, ws: the connection (its number) that had it */
	bool file_has_preamble;
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

void ps_line_sink_bytes(struct ps_line_sink *s, const uint8_t *data, size_t len)
{
	queue_line(s, data, len, false);
}

int ps_line_sink_preamble_add(struct ps_line_sink *s, const uint8_t *data, size_t len)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (s->preamble_len + len > s->preamble_cap) {
		size_t cap = (s->preamble_len + len) * 2;
		uint8_t *p = realloc(s->preamble, cap);

		if (p) {
			s->preamble = p;
			s->preamble_cap = cap;
		} else {
			err = -ENOMEM;
		}
	}
	if (!err) {
		memcpy(s->preamble + s->preamble_len, data, len);
		s->preamble_len += len;
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* The preamble as it is now, into the thread's copy; its length, or a negative errno. */
static ssize_t take_preamble(struct ps_line_sink *s)
{
	ssize_t len;

	pthread_mutex_lock(&s->lock);
	len = (ssize_t)s->preamble_len;
	if (s->preamble_len > s->preamble_copy_cap) {
		uint8_t *p = realloc(s->preamble_copy, s->preamble_len);

		if (p) {
			s->preamble_copy = p;
			s->preamble_copy_cap = s->preamble_len;
		} else {
			len = -ENOMEM;
		}
	}
	if (len > 0)
		memcpy(s->preamble_copy, s->preamble, (size_t)len);
	pthread_mutex_unlock(&s->lock);
	return len;
}

/* rotate_file.h's preamble: each new file starts with it. */
static int file_preamble(void *arg, int fd, uint64_t *written)
{
	struct ps_line_sink *s = arg;
	ssize_t len = take_preamble(s);
	int err = len < 0 ? (int)len : ps_write_full(fd, s->preamble_copy, (size_t)len, NULL);

	*written = err ? 0 : (uint64_t)len;
	return err;
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

static void wait_ms(struct ps_line_sink *s, int ms);

static uint64_t connection_number(const struct ps_line_sink *s)
{
	return s->addr.kind == PS_ADDR_TCP ? s->tcp.connects : s->ws ? ps_ws_client_connects(s->ws) : 0;
}

static int send_now(struct ps_line_sink *s, const uint8_t *data, size_t len)
{
	if (s->addr.kind == PS_ADDR_TCP)
		return ps_tcp_out_send(&s->tcp, data, len);
	return ps_ws_client_send(s->ws, data, len, s->binary);
}

/*
 * A new connection gets the preamble before anything else. When it cannot
 * be sent whole, the message waiting behind it was not sent either: it is
 * kept for the next connection (-EAGAIN).
 */
static int send_preamble(struct ps_line_sink *s)
{
	int err = s->addr.kind == PS_ADDR_TCP ? ps_tcp_out_ready(&s->tcp) : ps_ws_client_ready(s->ws);
	ssize_t len;

	if (err || connection_number(s) == s->preamble_sent_on)
		return err;
	len = take_preamble(s);
	if (len < 0)
		return (int)len;
	if (len && send_now(s, s->preamble_copy, (size_t)len) != 0)
		return -EAGAIN;
	s->preamble_sent_on = connection_number(s);
	return 0;
}

/* A file or ws:// (tcp:// goes by batches, deliver_batch): 0 sent; -EAGAIN not now (keep it, wait); other: lost. */
static int deliver_one(struct ps_line_sink *s, const struct ps_stream_msg *m)
{
	int err;

	if (s->addr.kind == PS_ADDR_FILE) {
		if (s->binary && !s->file_has_preamble) {
			s->file_has_preamble = true;
			if ((err = ps_rotate_file_set_preamble(&s->file, file_preamble, s)) != 0)
				return err;
		}
		return ps_rotate_file_write(&s->file, m->data, m->len);
	}
	if (s->binary && (err = send_preamble(s)) != 0)
		return err;
	return send_now(s, m->data, m->len);
}

/* --eventroratetime: with no line coming, the file is still closed on time. */
static void wait_for_work(struct ps_line_sink *s)
{
	uint64_t due;
	int err;

	if (s->addr.kind != PS_ADDR_FILE || (due = ps_rotate_file_due_in_ns(&s->file)) == UINT64_MAX) {
		pthread_cond_wait(&s->wake, &s->lock);
		return;
	}
	if (due) {
		wait_ms(s, (int)(due / 1000000 + 1 > INT32_MAX ? INT32_MAX : due / 1000000 + 1));
		return;
	}
	pthread_mutex_unlock(&s->lock);
	err = ps_rotate_file_tick(&s->file);
	pthread_mutex_lock(&s->lock);
	s->counters.rotations = s->file.rotations;
	if (err) {
		s->last_error = err;
		pthread_mutex_unlock(&s->lock);
		ps_warn("%s: cannot rotate %s: %s", s->what, s->addr.file, strerror(-err));
		pthread_mutex_lock(&s->lock);
	}
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

/*
 * tcp: the lines queued while the thread was busy go in one sendmsg. At a
 * high rate, a line at a time is a wakeup and two system calls (the peer's
 * close looked for, the send) each; a batch pays them once (bench/README.md,
 * "Issue 16: stream overhead").
 */
#define BATCH_LINES 256             /* iovecs: below IOV_MAX (1024) */
#define BATCH_BYTES (256u << 10)

struct batch {
	struct ps_stream_msg *msgs[BATCH_LINES];
	size_t n;
};

/* Under the lock: the next messages; tcp takes several, the others one. */
static void batch_fill(struct ps_line_sink *s, struct batch *b)
{
	size_t bytes = 0, max = s->addr.kind == PS_ADDR_TCP ? BATCH_LINES : 1;

	while (b->n < max && s->fifo.n && bytes < BATCH_BYTES) {
		b->msgs[b->n] = ps_msg_fifo_pop(&s->fifo);
		bytes += b->msgs[b->n++]->len;
	}
}

static void batch_release(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		ps_stream_msg_unref(b->msgs[i]);
	b->n = 0;
}

/* 0: all sent; -EAGAIN: none sent (keep them, wait); other: the first *sent went whole, the rest are lost. */
static int deliver_batch(struct ps_line_sink *s, const struct batch *b, size_t *sent)
{
	struct iovec iov[BATCH_LINES];
	size_t accepted = 0, end = 0;
	int err;

	*sent = 0;
	if (s->addr.kind != PS_ADDR_TCP) {
		err = deliver_one(s, b->msgs[0]);
		*sent = !err;
		return err;
	}
	if (s->binary && (err = send_preamble(s)) != 0)
		return err;
	for (size_t i = 0; i < b->n; i++)
		iov[i] = (struct iovec){ .iov_base = b->msgs[i]->data, .iov_len = b->msgs[i]->len };
	err = ps_tcp_out_sendv(&s->tcp, iov, (int)b->n, &accepted);
	for (size_t i = 0; i < b->n && (end += b->msgs[i]->len) <= accepted; i++)
		(*sent)++;
	return err;
}

static void *sink_thread(void *arg)
{
	struct ps_line_sink *s = arg;
	struct batch batch = { .n = 0 };

	pthread_mutex_lock(&s->lock);
	for (;;) {
		size_t sent;
		int err;

		if (!batch.n) {
			while (!s->fifo.n && !s->closing)
				wait_for_work(s);
			batch_fill(s, &batch);
			if (!batch.n)
				break;  /* closing, all sent */
		}
		pthread_mutex_unlock(&s->lock);
		err = deliver_batch(s, &batch, &sent);
		pthread_mutex_lock(&s->lock);
		s->counters.connects = connection_number(s);
		s->counters.rotations = s->file.rotations;
		if (err == -EAGAIN && !sent) {
			if (s->closing && mono_ns() >= s->close_deadline_ns)
				break;
			wait_ms(s, retry_wait_ms(s));
			continue;
		}
		s->counters.lines_sent += sent;
		s->counters.lines_dropped += batch.n - sent;
		if (err && err != s->last_error) {
			s->last_error = err;
			/* the log may come back to this sink (--logaddr): not under its lock */
			pthread_mutex_unlock(&s->lock);
			ps_debug("%s: %zu lines lost: %s", s->what, batch.n - sent, strerror(-err));
			pthread_mutex_lock(&s->lock);
		}
		batch_release(&batch);
	}
	/* the end came with the destination still away: what is left is counted */
	s->counters.lines_dropped += s->fifo.n + batch.n;
	pthread_mutex_unlock(&s->lock);
	batch_release(&batch);
	return NULL;
}

struct ps_line_sink *ps_line_sink_open(const char *what, const struct ps_stream_addr *addr, uint64_t rotate_bytes,
				       uint64_t rotate_ns, bool binary)
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
	s->binary = binary;
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
	/* a pcapng file that got no packet is still a capture: its section and interfaces */
	if (s->binary && s->addr.kind == PS_ADDR_FILE && !s->file_has_preamble && s->preamble_len)
		ps_rotate_file_set_preamble(&s->file, file_preamble, s);
	*final = s->counters;
	ps_rotate_file_close(&s->file);
	ps_tcp_out_close(&s->tcp);
	ps_ws_client_free(s->ws);
	ps_msg_fifo_free(&s->fifo);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->partial);
	free(s->preamble);
	free(s->preamble_copy);
	free(s);
}
