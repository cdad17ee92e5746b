/* SPDX-License-Identifier: MIT */
/* A stream written by a thread of its own: see async_sink.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "async_sink.h"
#include "caps.h"

/*
 * Written blocks are kept for reuse, up to this many bytes: fresh memory
 * costs a page fault per 4 KiB (much more on some VMs), so a steady stream
 * should cycle through the same few blocks.
 */
#define SPARE_BYTES_MAX (4u << 20)

struct sink_block {
	struct sink_block *next;
	size_t len;
	size_t capacity;
	char data[];
};

struct async_sink {
	int fd;
	size_t max_queued;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;        /* a block was queued or written, or the sink is closing */
	struct sink_block *head, *tail;
	struct sink_block *spare;      /* written blocks kept for reuse */
	size_t spare_bytes;
	size_t queued;                 /* bytes in the queue and in the block being written */
	bool closing;
	int error;                     /* first write failure, an errno; sticky */
	struct ps_sink_progress *progress;  /* the caller's, or a private one */
	struct ps_sink_progress own_progress;
};

/* Counts in progress->written what reaches the file, a short write's part included. */
static int write_all(int fd, const char *data, size_t len, struct ps_sink_progress *progress)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;
		__atomic_store_n(&progress->written, progress->written + (uint64_t)n, __ATOMIC_RELEASE);
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static struct sink_block *next_block(struct async_sink *s)
{
	struct sink_block *b;

	while (!s->head && !s->closing)
		pthread_cond_wait(&s->changed, &s->lock);
	b = s->head;
	if (b) {
		s->head = b->next;
		if (!s->head)
			s->tail = NULL;
	}
	return b;
}

/* Called with the lock held. */
static void keep_or_free(struct async_sink *s, struct sink_block *b)
{
	if (s->spare_bytes + b->capacity > SPARE_BYTES_MAX) {
		free(b);
		return;
	}
	b->next = s->spare;
	s->spare = b;
	s->spare_bytes += b->capacity;
}

/* A block for len bytes: a spare one that is big enough, else a new one. */
static struct sink_block *take_block(struct async_sink *s, size_t len)
{
	struct sink_block **link, *b = NULL;

	pthread_mutex_lock(&s->lock);
	for (link = &s->spare; *link; link = &(*link)->next) {
		if ((*link)->capacity >= len) {
			b = *link;
			*link = b->next;
			s->spare_bytes -= b->capacity;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (!b) {
		b = malloc(sizeof(*b) + len);
		if (!b)
			return NULL;
		b->capacity = len;
	}
	b->next = NULL;
	b->len = len;
	return b;
}

static void *writer_thread(void *arg)
{
	struct async_sink *s = arg;
	struct sink_block *b;

	/* it writes to a descriptor opened before: no capability of the reader's is its business */
	ps_caps_keep_only(0);
	pthread_mutex_lock(&s->lock);
	while ((b = next_block(s)) != NULL) {
		int err = 0;

		/* after a failure the rest is dropped: the stream already reports the error */
		if (!s->error) {
			pthread_mutex_unlock(&s->lock);
			err = write_all(s->fd, b->data, b->len, s->progress);
			pthread_mutex_lock(&s->lock);
		}
		if (err && !s->error)
			s->error = err;
		s->queued -= b->len;
		keep_or_free(s, b);
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static ssize_t sink_write(void *cookie, const char *data, size_t len)
{
	struct async_sink *s = cookie;
	struct sink_block *b = take_block(s, len);
	int err;

	if (!b)
		return -1;
	memcpy(b->data, data, len);
	pthread_mutex_lock(&s->lock);
	/* a block bigger than the bound still goes through, alone */
	while (!s->error && s->queued && s->queued + len > s->max_queued)
		pthread_cond_wait(&s->changed, &s->lock);
	err = s->error;
	if (!err) {
		if (s->tail)
			s->tail->next = b;
		else
			s->head = b;
		s->tail = b;
		s->queued += len;
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->lock);
	if (err) {
		pthread_mutex_lock(&s->lock);
		keep_or_free(s, b);
		pthread_mutex_unlock(&s->lock);
		errno = err;
		return -1;
	}
	s->progress->accepted += len;
	return (ssize_t)len;
}

static void sink_free(struct async_sink *s)
{
	while (s->spare) {
		struct sink_block *b = s->spare;

		s->spare = b->next;
		free(b);
	}
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Waits until every queued byte is written or refused, then closes the file. */
static int sink_close(void *cookie)
{
	struct async_sink *s = cookie;
	int err;

	pthread_mutex_lock(&s->lock);
	s->closing = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	err = s->error;
	if (close(s->fd) != 0 && !err)
		err = errno;
	sink_free(s);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* With every signal blocked: a Ctrl-C must interrupt the reader's poll, not a write. */
static int start_writer_thread(struct async_sink *s)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->thread, NULL, writer_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

FILE *ps_async_sink_open(int fd, size_t max_queued, struct ps_sink_progress *progress)
{
	cookie_io_functions_t io = { .write = sink_write, .close = sink_close };
	struct async_sink *s = calloc(1, sizeof(*s));
	FILE *stream;
	int err;

	if (!s)
		return NULL;
	s->fd = fd;
	s->max_queued = max_queued;
	s->progress = progress ? progress : &s->own_progress;
	*s->progress = (struct ps_sink_progress){ 0 };
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	err = start_writer_thread(s);
	if (err) {
		sink_free(s);
		errno = err;
		return NULL;
	}
	stream = fopencookie(s, "w", io);
	if (!stream) {
		err = errno;
		/* nothing was queued: the thread ends at once; the fd stays the caller's */
		s->fd = -1;
		sink_close(s);
		errno = err;
	}
	return stream;
}
