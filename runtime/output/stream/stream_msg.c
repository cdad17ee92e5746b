/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include "stream_msg.h"

struct ps_stream_msg *ps_stream_msg_new(enum ps_stream_msg_kind kind, size_t len)
{
	struct ps_stream_msg *m = malloc(sizeof(*m) + len + 1);

	if (!m)
		return NULL;
	m->refs = 1;
	m->kind = kind;
	m->len = len;
	return m;
}

struct ps_stream_msg *ps_stream_msg_ref(struct ps_stream_msg *m)
{
	__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	return m;
}

void ps_stream_msg_unref(struct ps_stream_msg *m)
{
	if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(m);
}

int ps_msg_fifo_init(struct ps_msg_fifo *q, size_t cap, size_t max_bytes)
{
	*q = (struct ps_msg_fifo){ .cap = cap, .max_bytes = max_bytes };
	q->v = calloc(cap, sizeof(*q->v));
	return q->v ? 0 : -ENOMEM;
}

bool ps_msg_fifo_push(struct ps_msg_fifo *q, struct ps_stream_msg *m)
{
	/* one message larger than the byte bound still goes into an empty fifo: it would never fit otherwise */
	if (q->n == q->cap || (q->n && q->bytes + m->len > q->max_bytes))
		return false;
	q->v[(q->head + q->n) % q->cap] = ps_stream_msg_ref(m);
	q->n++;
	q->bytes += m->len;
	return true;
}

struct ps_stream_msg *ps_msg_fifo_pop(struct ps_msg_fifo *q)
{
	struct ps_stream_msg *m;

	if (!q->n)
		return NULL;
	m = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	q->bytes -= m->len;
	return m;
}

void ps_msg_fifo_free(struct ps_msg_fifo *q)
{
	struct ps_stream_msg *m;

	while ((m = ps_msg_fifo_pop(q)))
		ps_stream_msg_unref(m);
	free(q->v);
	q->v = NULL;
}
