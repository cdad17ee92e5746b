/* SPDX-License-Identifier: MIT */
/*
 * Joins the ring-buffer chunks of one call back into one record.
 *
 * The kernel emits a call's chunks in one loop on one thread, so per thread
 * they arrive in order, but chunks of different threads interleave freely.
 * A thread therefore has at most one call in flight: its pending call, keyed
 * by tid, identified by (mono_ns, event_id). Anything else arriving on that
 * tid means the pending call will never get its last chunk.
 *
 * The emitted record's fixed part is that of the first chunk that arrived;
 * its header's var_* and flags describe that chunk, not the call: the
 * ps_record fields (data_len, gaps, lost_bytes, incomplete, read_failed) do.
 *
 * Bytes that did not arrive (a chunk the ring buffer had no room for, a tail
 * that never came, a chunk the kernel could not read from the process) are
 * gaps: named by offset and length, never stood in for by zeros. The kernel
 * counts those bytes already (enum ps_loss_kind); gap_bytes says how many of
 * them the records show.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "assemble.h"

/*
 * The kernel never sends more than PS_CALL_MAX_CHUNKS * PS_CHUNK_MAX (1 GiB,
 * plainsight.bpf.h) of one call; it counts the rest as truncated. An offset
 * past that is a broken record, and must not make us allocate terabytes.
 */
#define ASSEMBLE_MAX_CALL_BYTES ((uint64_t)PS_CALL_MAX_CHUNKS * PS_CHUNK_MAX)

#define ASSEMBLE_MIN_BUCKETS 64

struct pending_call {
	struct pending_call *next;  /* hash chain */
	uint32_t tid;
	uint16_t event_id;
	uint64_t mono_ns;
	uint64_t var_total;         /* last non-zero var_total seen; 0: unknown yet */
	uint64_t call_len;          /* where the next chunk goes: data_len plus the gaps so far */
	uint64_t lost_bytes;
	bool read_failed;
	uint8_t *data;              /* the bytes that arrived, without the gaps */
	size_t data_len;
	size_t data_cap;
	struct ps_gap *gaps;
	size_t n_gaps, cap_gaps;
	/* the fixed part of the first chunk that arrived */
	uint8_t fixed[] __attribute__((aligned(8)));
};

struct ps_assembler {
	const struct ps_module_desc *module;
	int64_t mono_to_wall_ns;
	struct ps_counters *counters;
	ps_record_fn emit;
	void *emit_arg;
	struct pending_call **buckets;
	size_t n_buckets;           /* a power of two */
	size_t n_pending;
};

/* Stands in for the data of a variable event that carried none. */
static const uint8_t empty_data[1];

struct ps_assembler *ps_assembler_new(const struct ps_module_desc *module, int64_t mono_to_wall_ns,
				      struct ps_counters *counters, ps_record_fn emit, void *arg)
{
	struct ps_assembler *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->buckets = calloc(ASSEMBLE_MIN_BUCKETS, sizeof(*a->buckets));
	if (!a->buckets) {
		free(a);
		return NULL;
	}
	a->n_buckets = ASSEMBLE_MIN_BUCKETS;
	a->module = module;
	a->mono_to_wall_ns = mono_to_wall_ns;
	a->counters = counters;
	a->emit = emit;
	a->emit_arg = arg;
	return a;
}

/* tids are small and dense; mix them so that neighbours spread. */
static size_t tid_bucket(uint32_t tid, size_t n_buckets)
{
	uint32_t h = tid;

	h ^= h >> 16;
	h *= 0x45d9f3bU;
	h ^= h >> 16;
	return h & (n_buckets - 1);
}

static struct pending_call **pending_slot(struct ps_assembler *a, uint32_t tid)
{
	struct pending_call **slot = &a->buckets[tid_bucket(tid, a->n_buckets)];

	while (*slot && (*slot)->tid != tid)
		slot = &(*slot)->next;
	return slot;
}

/* Keeps chains short as threads come and go; failing to grow is harmless. */
static void pending_table_grow(struct ps_assembler *a)
{
	size_t n_buckets = a->n_buckets * 2;
	struct pending_call **buckets = calloc(n_buckets, sizeof(*buckets));

	if (!buckets)
		return;
	for (size_t i = 0; i < a->n_buckets; i++) {
		struct pending_call *p = a->buckets[i], *next;

		for (; p; p = next) {
			size_t b = tid_bucket(p->tid, n_buckets);

			next = p->next;
			p->next = buckets[b];
			buckets[b] = p;
		}
	}
	free(a->buckets);
	a->buckets = buckets;
	a->n_buckets = n_buckets;
}

static void pending_unlink(struct ps_assembler *a, struct pending_call *p)
{
	struct pending_call **slot = pending_slot(a, p->tid);

	if (*slot == p) {
		*slot = p->next;
		a->n_pending--;
	}
}

static void pending_free(struct pending_call *p)
{
	free(p->data);
	free(p->gaps);
	free(p);
}

static int malformed(struct ps_assembler *a)
{
	a->counters->malformed++;
	return -EINVAL;
}

/* What one call's data came to: the bytes that arrived and the gaps between them. */
struct call_data {
	const uint8_t *data;
	size_t data_len;
	const struct ps_gap *gaps;
	size_t n_gaps;
	uint64_t lost_bytes;
};

static void emit_record(struct ps_assembler *a, const struct ps_event_desc *ev, const void *fixed,
			uint64_t mono_ns, const struct call_data *call, bool incomplete, bool read_failed)
{
	struct ps_record rec = {
		.module = a->module,
		.event = ev,
		.fixed = fixed,
		.data = ev->var_field >= 0 ? (call->data ? call->data : empty_data) : NULL,
		.data_len = call->data_len,
		.time_ns = (uint64_t)((int64_t)mono_ns + a->mono_to_wall_ns),
		.gaps = call->gaps,
		.n_gaps = call->n_gaps,
		.lost_bytes = call->lost_bytes,
		.incomplete = incomplete,
		.read_failed = read_failed,
	};

	a->counters->gap_bytes += call->lost_bytes;
	a->emit(&rec, a->emit_arg);
}

/*
 * Bytes [call_len, call_len + length) of the call are missing: one more gap,
 * or a longer last one when it ends where this begins.
 */
static int pending_add_gap(struct pending_call *p, uint64_t length)
{
	struct ps_gap *last = p->n_gaps ? &p->gaps[p->n_gaps - 1] : NULL;

	if (!length)
		return 0;
	if (last && last->offset + last->length == p->call_len) {
		last->length += length;
	} else {
		if (p->n_gaps == p->cap_gaps) {
			size_t cap = p->cap_gaps ? p->cap_gaps * 2 : 4;
			struct ps_gap *gaps = realloc(p->gaps, cap * sizeof(*gaps));

			if (!gaps)
				return -ENOMEM;
			p->gaps = gaps;
			p->cap_gaps = cap;
		}
		p->gaps[p->n_gaps++] = (struct ps_gap){ .offset = p->call_len, .length = length };
	}
	p->call_len += length;
	p->lost_bytes += length;
	return 0;
}

/* Emits a pending call, then forgets it. */
static void pending_emit(struct ps_assembler *a, struct pending_call *p, bool incomplete)
{
	const struct ps_event_desc *ev = &a->module->events[p->event_id];
	struct call_data call;

	/* What var_total promised but never came is a gap at the end. */
	if (p->var_total > p->call_len && pending_add_gap(p, p->var_total - p->call_len) != 0)
		incomplete = true;      /* no memory to say where: the record says it is not whole */
	if (incomplete)
		a->counters->incomplete++;
	call = (struct call_data){ .data = p->data, .data_len = p->data_len, .gaps = p->gaps, .n_gaps = p->n_gaps,
				   .lost_bytes = p->lost_bytes };
	emit_record(a, ev, p->fixed, p->mono_ns, &call, incomplete, p->read_failed);
	pending_unlink(a, p);
	pending_free(p);
}

static struct pending_call *pending_new(struct ps_assembler *a, const void *raw,
					const struct ps_event_header *hdr)
{
	struct pending_call *p = calloc(1, sizeof(*p) + hdr->fixed_size);

	if (!p)
		return NULL;
	p->tid = hdr->tid;
	p->event_id = hdr->event_id;
	p->mono_ns = hdr->mono_ns;
	memcpy(p->fixed, raw, hdr->fixed_size);
	if (a->n_pending >= a->n_buckets)
		pending_table_grow(a);
	struct pending_call **slot = &a->buckets[tid_bucket(p->tid, a->n_buckets)];
	p->next = *slot;
	*slot = p;
	a->n_pending++;
	return p;
}

/* Room for need bytes; when the call's length is known, all of it at once. */
static int pending_reserve(struct pending_call *p, size_t need)
{
	size_t cap;
	uint8_t *data;

	if (need <= p->data_cap)
		return 0;
	cap = p->data_cap ? p->data_cap * 2 : 4096;
	/*
	 * A chunk without var_total (0) may lie past the one seen before: a
	 * broken record, whose gaps can outgrow that total. Only a total that
	 * still holds the data is room to take.
	 */
	if (p->var_total <= ASSEMBLE_MAX_CALL_BYTES && p->var_total >= p->lost_bytes &&
	    p->var_total - p->lost_bytes >= need)
		cap = p->var_total - p->lost_bytes;
	if (cap < need)
		cap = need;
	data = realloc(p->data, cap);
	if (!data)
		return -ENOMEM;
	p->data = data;
	p->data_cap = cap;
	return 0;
}

static int pending_append(struct ps_assembler *a, struct pending_call *p,
			  const struct ps_event_header *hdr, const uint8_t *chunk)
{
	int err;

	if (hdr->var_total)
		p->var_total = hdr->var_total;
	/* Chunks the ring buffer had no room for. */
	err = pending_add_gap(p, hdr->var_off - p->call_len);
	if (err)
		return err;
	/* The kernel could not read these bytes; what it sent in their place is not data. */
	if (hdr->flags & PS_EV_READ_FAIL) {
		p->read_failed = true;
		return pending_add_gap(p, hdr->var_len);
	}
	/* An empty chunk (a call's last, its data all sent before) adds nothing, and p->data may be NULL. */
	if (!hdr->var_len)
		return 0;
	err = pending_reserve(p, p->data_len + hdr->var_len);
	if (err)
		return err;
	memcpy(p->data + p->data_len, chunk, hdr->var_len);
	p->data_len += hdr->var_len;
	p->call_len += hdr->var_len;
	return 0;
}

/* The thread has moved on: its pending call, if any, will not complete. */
static void flush_tid(struct ps_assembler *a, uint32_t tid)
{
	struct pending_call *p = *pending_slot(a, tid);

	if (p)
		pending_emit(a, p, true);
}

static bool continues(const struct pending_call *p, const struct ps_event_header *hdr)
{
	return p->mono_ns == hdr->mono_ns && p->event_id == hdr->event_id;
}

int ps_assembler_push(struct ps_assembler *a, const void *raw, size_t raw_size)
{
	const struct ps_event_desc *ev;
	struct ps_event_header hdr;
	struct pending_call *p;
	const uint8_t *chunk;
	int err;

	a->counters->chunks++;
	if (raw_size < sizeof(hdr))
		return malformed(a);
	memcpy(&hdr, raw, sizeof(hdr));
	if (hdr.event_id >= a->module->n_events)
		return malformed(a);
	ev = &a->module->events[hdr.event_id];
	/* Records come in size classes, so raw_size may exceed what they hold. */
	if (hdr.fixed_size != ev->fixed_size || hdr.fixed_size < sizeof(hdr) ||
	    (uint64_t)hdr.fixed_size + hdr.var_len > raw_size)
		return malformed(a);

	if (ev->var_field < 0) {
		if (hdr.var_len || (hdr.flags & PS_EV_MORE))
			return malformed(a);
		flush_tid(a, hdr.tid);
		emit_record(a, ev, raw, hdr.mono_ns, &(struct call_data){ 0 }, false, hdr.flags & PS_EV_READ_FAIL);
		return 0;
	}

	if (hdr.var_off > ASSEMBLE_MAX_CALL_BYTES || hdr.var_off + hdr.var_len > ASSEMBLE_MAX_CALL_BYTES)
		return malformed(a);
	if (hdr.var_total && hdr.var_off + hdr.var_len > hdr.var_total)
		return malformed(a);
	chunk = (const uint8_t *)raw + hdr.fixed_size;

	p = *pending_slot(a, hdr.tid);
	if (p && !continues(p, &hdr)) {
		pending_emit(a, p, true);
		p = NULL;
	}
	/* Chunks of one call arrive in order: going back means a broken record. */
	if (p && hdr.var_off < p->call_len)
		return malformed(a);

	if (!p) {
		/* The common case, one chunk for the whole call: no copy. */
		if (!(hdr.flags & PS_EV_MORE) && hdr.var_off == 0 && !(hdr.flags & PS_EV_READ_FAIL)) {
			uint64_t tail = hdr.var_total > hdr.var_len ? hdr.var_total - hdr.var_len : 0;
			struct ps_gap gap = { .offset = hdr.var_len, .length = tail };
			struct call_data call = { .data = chunk, .data_len = hdr.var_len, .gaps = &gap,
						  .n_gaps = tail ? 1 : 0, .lost_bytes = tail };

			emit_record(a, ev, raw, hdr.mono_ns, &call, false, false);
			return 0;
		}
		p = pending_new(a, raw, &hdr);
		if (!p)
			return -ENOMEM;
	}
	err = pending_append(a, p, &hdr, chunk);
	if (err)
		return err;
	if (!(hdr.flags & PS_EV_MORE))
		pending_emit(a, p, false);
	return 0;
}

static int by_start_time(const void *l, const void *r)
{
	const struct pending_call *pl = *(struct pending_call *const *)l;
	const struct pending_call *pr = *(struct pending_call *const *)r;

	if (pl->mono_ns != pr->mono_ns)
		return pl->mono_ns < pr->mono_ns ? -1 : 1;
	return pl->tid < pr->tid ? -1 : pl->tid > pr->tid;
}

void ps_assembler_flush(struct ps_assembler *a)
{
	size_t n = a->n_pending, i = 0;
	struct pending_call **calls;

	if (!n)
		return;
	/* In the order the calls began, so the output reads in time order. */
	calls = malloc(n * sizeof(*calls));
	if (calls) {
		for (size_t b = 0; b < a->n_buckets; b++)
			for (struct pending_call *p = a->buckets[b]; p; p = p->next)
				calls[i++] = p;
		qsort(calls, n, sizeof(*calls), by_start_time);
		for (i = 0; i < n; i++)
			pending_emit(a, calls[i], true);
		free(calls);
		return;
	}
	/* Out of memory for the sort: emitting in table order beats losing them. */
	for (size_t b = 0; b < a->n_buckets; b++)
		while (a->buckets[b])
			pending_emit(a, a->buckets[b], true);
}

void ps_assembler_free(struct ps_assembler *a)
{
	if (!a)
		return;
	for (size_t b = 0; b < a->n_buckets; b++) {
		struct pending_call *p = a->buckets[b], *next;

		for (; p; p = next) {
			next = p->next;
			pending_free(p);
		}
	}
	free(a->buckets);
	free(a);
}
