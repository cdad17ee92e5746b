/* SPDX-License-Identifier: MIT */
/* Joining ring-buffer chunks into calls: runtime/events/assemble.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "assemble.h"
#include "check.h"

#include "test_events.h"

#define WALL_OFFSET 1700000000000000000LL
#define MAX_COLLECTED 4096

/* What the emit callback saw, copied: the record's pointers die with the call. */
struct collected {
	uint32_t tid;
	uint16_t event_id;
	uint64_t time_ns;
	uint8_t *data;
	size_t data_len;
	bool has_data;
	uint64_t lost_bytes;
	struct ps_gap gaps[8];
	size_t n_gaps;
	bool incomplete;
	bool read_failed;
	int32_t first_field;
};

static struct collected got[MAX_COLLECTED];
static size_t n_got;
static struct ps_counters counters;

static void collect(const struct ps_record *rec, void *arg)
{
	struct collected *c = &got[n_got++];
	const struct ps_event_header *hdr = ps_record_header(rec);

	(void)arg;
	c->tid = hdr->tid;
	c->event_id = hdr->event_id;
	c->time_ns = rec->time_ns;
	c->has_data = rec->data != NULL;
	c->data_len = rec->data_len;
	c->data = malloc(rec->data_len ? rec->data_len : 1);
	if (rec->data_len)
		memcpy(c->data, rec->data, rec->data_len);
	c->lost_bytes = rec->lost_bytes;
	c->n_gaps = rec->n_gaps;
	for (size_t i = 0; i < rec->n_gaps && i < 8; i++)
		c->gaps[i] = rec->gaps[i];
	c->incomplete = rec->incomplete;
	c->read_failed = rec->read_failed;
	memcpy(&c->first_field, (const uint8_t *)rec->fixed + PS_TEST_HDR, sizeof(c->first_field));
}

static void reset(void)
{
	for (size_t i = 0; i < n_got; i++)
		free(got[i].data);
	n_got = 0;
	memset(&counters, 0, sizeof(counters));
}

static struct ps_assembler *new_assembler(void)
{
	reset();
	return ps_assembler_new(&test_module, WALL_OFFSET, &counters, collect, NULL);
}

struct chunk_spec {
	uint16_t event_id;
	uint32_t tid;
	uint64_t mono_ns;
	uint64_t var_off;
	uint64_t var_total;
	uint16_t flags;
	int32_t first_field;
};

/* Records are reserved in size classes, so they come longer than their data. */
static size_t size_class(size_t n)
{
	static const size_t classes[] = { 128, 512, 2048, 8192, 32768 };

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (n <= classes[i])
			return classes[i];
	return n;
}

/* Pushes one chunk built as the kernel would; returns what push returned. */
static int push_chunk(struct ps_assembler *a, const struct chunk_spec *spec, const uint8_t *data,
		      uint32_t len)
{
	uint16_t fixed_size = test_events[spec->event_id % N_EVENTS].fixed_size;
	size_t raw_size = fixed_size + size_class(len);
	uint8_t *raw = calloc(1, raw_size);
	struct ps_event_header hdr = {
		.mono_ns = spec->mono_ns,
		.var_off = spec->var_off,
		.var_total = spec->var_total,
		.pid = 1000,
		.tid = spec->tid,
		.uid = 0,
		.var_len = len,
		.event_id = spec->event_id,
		.flags = spec->flags,
		.fixed_size = fixed_size,
		.comm = "curl",
	};
	int err;

	memcpy(raw, &hdr, sizeof(hdr));
	memcpy(raw + PS_TEST_HDR, &spec->first_field, sizeof(spec->first_field));
	if (len)
		memcpy(raw + fixed_size, data, len);
	err = ps_assembler_push(a, raw, raw_size);
	free(raw);
	return err;
}

/* Data no two calls share: a call's bytes depend on its seed and offset. */
static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *data = malloc(len);

	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 13)) % 251);
	return data;
}

/* Pushes chunk i of a bytes call split into PS_CHUNK_MAX pieces. */
static int push_bytes_chunk(struct ps_assembler *a, uint32_t tid, uint64_t mono_ns, const uint8_t *data,
			    size_t len, size_t i)
{
	size_t off = i * PS_CHUNK_MAX;
	size_t n = len - off < PS_CHUNK_MAX ? len - off : PS_CHUNK_MAX;
	struct chunk_spec spec = {
		.event_id = EV_TLS_DATA, .tid = tid, .mono_ns = mono_ns, .var_off = off, .var_total = len,
		.flags = off + n < len ? PS_EV_MORE : 0, .first_field = (int32_t)tid,
	};

	return push_chunk(a, &spec, data + off, (uint32_t)n);
}

static size_t n_chunks(size_t len)
{
	return len ? (len + PS_CHUNK_MAX - 1) / PS_CHUNK_MAX : 1;
}

static void single_chunk_call(void)
{
	struct ps_assembler *a = new_assembler();
	struct chunk_spec spec = { .event_id = EV_TLS_DATA, .tid = 7, .mono_ns = 5000, .var_total = 5,
				   .first_field = 3 };

	CHECK_INT(push_chunk(a, &spec, (const uint8_t *)"hello", 5), 0);
	CHECK_INT(n_got, 1);
	CHECK_INT(got[0].data_len, 5);
	CHECK(memcmp(got[0].data, "hello", 5) == 0);
	CHECK_INT(got[0].time_ns, WALL_OFFSET + 5000);
	CHECK_INT(got[0].first_field, 3);
	CHECK_INT(got[0].lost_bytes, 0);
	CHECK(!got[0].incomplete);
	CHECK(!got[0].read_failed);
	CHECK_INT(counters.chunks, 1);
	CHECK_INT(counters.gap_bytes, 0);
	ps_assembler_flush(a);
	CHECK_INT(n_got, 1);
	ps_assembler_free(a);
}

static void empty_call_has_data_pointer(void)
{
	struct ps_assembler *a = new_assembler();
	struct chunk_spec spec = { .event_id = EV_TLS_DATA, .tid = 7, .mono_ns = 1 };

	CHECK_INT(push_chunk(a, &spec, NULL, 0), 0);
	CHECK_INT(n_got, 1);
	CHECK(got[0].has_data);
	CHECK_INT(got[0].data_len, 0);
	ps_assembler_free(a);
}

static void interleaved_4mib_calls(void)
{
	const size_t len = 4 << 20;
	uint8_t *data_a = pattern(len, 1), *data_b = pattern(len, 2);
	struct ps_assembler *a = new_assembler();

	CHECK_INT(n_chunks(len), 128);
	for (size_t i = 0; i < n_chunks(len); i++) {
		CHECK_INT(push_bytes_chunk(a, 100, 1000, data_a, len, i), 0);
		CHECK_INT(push_bytes_chunk(a, 200, 1001, data_b, len, i), 0);
	}
	CHECK_INT(n_got, 2);
	for (size_t i = 0; i < n_got && i < 2; i++) {
		const uint8_t *want = got[i].tid == 100 ? data_a : data_b;

		CHECK_INT(got[i].data_len, len);
		CHECK(got[i].data_len == len && memcmp(got[i].data, want, len) == 0);
		CHECK_INT(got[i].lost_bytes, 0);
		CHECK(!got[i].incomplete);
		CHECK_INT(got[i].first_field, got[i].tid);
	}
	CHECK_INT(counters.chunks, 256);
	CHECK_INT(counters.gap_bytes, 0);
	CHECK_INT(counters.incomplete, 0);
	free(data_a);
	free(data_b);
	ps_assembler_free(a);
}

/* The whole of a big call must come out: nothing caps the join buffer. */
static void call_of_64mib(void)
{
	const size_t len = (64 << 20) + 123;
	uint8_t *data = pattern(len, 3);
	struct ps_assembler *a = new_assembler();

	for (size_t i = 0; i < n_chunks(len); i++)
		CHECK_INT(push_bytes_chunk(a, 300, 9, data, len, i), 0);
	CHECK_INT(n_got, 1);
	CHECK_INT(got[0].data_len, len);
	CHECK(got[0].data_len == len && memcmp(got[0].data, data, len) == 0);
	CHECK_INT(got[0].lost_bytes, 0);
	free(data);
	ps_assembler_free(a);
}

/* Gap i of record r is [offset, offset + length). */
static bool has_gap(const struct collected *r, size_t i, uint64_t offset, uint64_t length)
{
	return i < r->n_gaps && r->gaps[i].offset == offset && r->gaps[i].length == length;
}

static void lost_middle_chunk(void)
{
	const size_t len = 4 * PS_CHUNK_MAX + 10;
	uint8_t *data = pattern(len, 4);
	struct ps_assembler *a = new_assembler();

	for (size_t i = 0; i < n_chunks(len); i++)
		if (i != 2)
			CHECK_INT(push_bytes_chunk(a, 42, 77, data, len, i), 0);
	CHECK_INT(n_got, 1);
	/* the bytes that came, and only those: no stand-in for the lost chunk */
	CHECK_INT(got[0].data_len, len - PS_CHUNK_MAX);
	CHECK_INT(got[0].lost_bytes, PS_CHUNK_MAX);
	CHECK_INT(got[0].n_gaps, 1);
	CHECK(has_gap(&got[0], 0, 2 * PS_CHUNK_MAX, PS_CHUNK_MAX));
	CHECK(!got[0].incomplete);
	CHECK_INT(counters.gap_bytes, PS_CHUNK_MAX);
	CHECK_INT(counters.chunks, 4);
	if (got[0].data_len == len - PS_CHUNK_MAX) {
		CHECK(memcmp(got[0].data, data, 2 * PS_CHUNK_MAX) == 0);
		CHECK(memcmp(got[0].data + 2 * PS_CHUNK_MAX, data + 3 * PS_CHUNK_MAX,
			     len - 3 * PS_CHUNK_MAX) == 0);
	}
	free(data);
	ps_assembler_free(a);
}

static void lost_first_chunk(void)
{
	const size_t len = 2 * PS_CHUNK_MAX;
	uint8_t *data = pattern(len, 5);
	struct ps_assembler *a = new_assembler();

	CHECK_INT(push_bytes_chunk(a, 42, 77, data, len, 1), 0);
	CHECK_INT(n_got, 1);
	CHECK_INT(got[0].data_len, PS_CHUNK_MAX);
	CHECK_INT(got[0].lost_bytes, PS_CHUNK_MAX);
	CHECK_INT(got[0].n_gaps, 1);
	CHECK(has_gap(&got[0], 0, 0, PS_CHUNK_MAX));
	CHECK_INT(counters.gap_bytes, PS_CHUNK_MAX);
	if (got[0].data_len == PS_CHUNK_MAX)
		CHECK(memcmp(got[0].data, data + PS_CHUNK_MAX, PS_CHUNK_MAX) == 0);
	free(data);
	ps_assembler_free(a);
}

static void last_chunk_never_comes(void)
{
	const size_t len = 3 * PS_CHUNK_MAX;
	uint8_t *data = pattern(len, 6);
	struct ps_assembler *a = new_assembler();
	struct chunk_spec next = { .event_id = EV_TLS_DATA, .tid = 9, .mono_ns = 600, .var_total = 2,
				   .first_field = 2 };

	CHECK_INT(push_bytes_chunk(a, 9, 500, data, len, 0), 0);
	CHECK_INT(push_bytes_chunk(a, 9, 500, data, len, 1), 0);
	CHECK_INT(n_got, 0);
	CHECK_INT(push_chunk(a, &next, (const uint8_t *)"ok", 2), 0);
	CHECK_INT(n_got, 2);
	CHECK(got[0].incomplete);
	CHECK_INT(got[0].time_ns, WALL_OFFSET + 500);
	/* the missing tail is a gap at the end: data_len + lost_bytes is the call's length */
	CHECK_INT(got[0].data_len, 2 * PS_CHUNK_MAX);
	CHECK(memcmp(got[0].data, data, 2 * PS_CHUNK_MAX) == 0);
	CHECK_INT(got[0].lost_bytes, PS_CHUNK_MAX);
	CHECK_INT(got[0].n_gaps, 1);
	CHECK(has_gap(&got[0], 0, 2 * PS_CHUNK_MAX, PS_CHUNK_MAX));
	CHECK(!got[1].incomplete);
	CHECK_INT(got[1].data_len, 2);
	CHECK_INT(got[1].time_ns, WALL_OFFSET + 600);
	CHECK_INT(counters.incomplete, 1);
	CHECK_INT(counters.gap_bytes, PS_CHUNK_MAX);
	free(data);
	ps_assembler_free(a);
}

/* Strings go in chunks of PS_STRING_CHUNK - 1 with var_total 0 until the last. */
static void string_over_several_chunks(void)
{
	const size_t piece = 4095, len = 3 * piece + 17;
	char *path = malloc(len + 1);
	struct ps_assembler *a = new_assembler();

	for (size_t i = 0; i < len; i++)
		path[i] = (char)('a' + i % 26);
	path[len] = 0;
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		bool last = off + n == len;
		struct chunk_spec spec = {
			.event_id = EV_OPEN_PATH, .tid = 11, .mono_ns = 800, .var_off = off,
			.var_total = last ? len : 0, .flags = last ? 0 : PS_EV_MORE, .first_field = -100,
		};

		CHECK_INT(push_chunk(a, &spec, (const uint8_t *)path + off, (uint32_t)n), 0);
		CHECK_INT(n_got, last ? 1 : 0);
	}
	CHECK_INT(got[0].event_id, EV_OPEN_PATH);
	CHECK_INT(got[0].data_len, len);
	CHECK(got[0].data_len == len && memcmp(got[0].data, path, len) == 0);
	CHECK_INT(got[0].first_field, -100);
	CHECK_INT(got[0].lost_bytes, 0);
	CHECK_INT(counters.chunks, 4);
	free(path);
	ps_assembler_free(a);
}

static void read_failure_marks_call(void)
{
	struct ps_assembler *a = new_assembler();
	uint8_t zeros[16] = { 0 };
	struct chunk_spec first = { .event_id = EV_TLS_DATA, .tid = 5, .mono_ns = 1, .var_total = 32,
				    .flags = PS_EV_MORE | PS_EV_READ_FAIL };
	struct chunk_spec second = { .event_id = EV_TLS_DATA, .tid = 5, .mono_ns = 1, .var_off = 16,
				     .var_total = 32 };

	CHECK_INT(push_chunk(a, &first, zeros, 16), 0);
	CHECK_INT(push_chunk(a, &second, (const uint8_t *)"0123456789abcdef", 16), 0);
	CHECK_INT(n_got, 1);
	CHECK(got[0].read_failed);
	/* what the kernel sent for the unreadable bytes is no data: a gap */
	CHECK_INT(got[0].data_len, 16);
	CHECK(got[0].data_len == 16 && memcmp(got[0].data, "0123456789abcdef", 16) == 0);
	CHECK_INT(got[0].lost_bytes, 16);
	CHECK(has_gap(&got[0], 0, 0, 16));
	ps_assembler_free(a);
}

/* Several gaps, a lost chunk next to an unreadable one made one: every range exact, data + gaps = the call. */
static void gaps_are_exact(void)
{
	const size_t len = 7 * PS_CHUNK_MAX + 100;
	uint8_t *data = pattern(len, 8), *want = malloc(len);
	struct ps_assembler *a = new_assembler();
	size_t kept = 0;

	for (size_t i = 0; i < n_chunks(len); i++) {
		size_t off = i * PS_CHUNK_MAX, n = len - off < PS_CHUNK_MAX ? len - off : PS_CHUNK_MAX;
		struct chunk_spec spec = {
			.event_id = EV_TLS_DATA, .tid = 1, .mono_ns = 2, .var_off = off, .var_total = len,
			.flags = (off + n < len ? PS_EV_MORE : 0) | (i == 4 ? PS_EV_READ_FAIL : 0),
		};

		if (i == 1 || i == 3 || i == 7)
			continue;   /* no room in the ring buffer; 7 is the last, so the call ends incomplete */
		CHECK_INT(push_chunk(a, &spec, data + off, (uint32_t)n), 0);
		if (i != 4) {
			memcpy(want + kept, data + off, n);
			kept += n;
		}
	}
	ps_assembler_flush(a);
	CHECK_INT(n_got, 1);
	CHECK(got[0].incomplete);
	CHECK_INT(got[0].n_gaps, 3);
	CHECK(has_gap(&got[0], 0, PS_CHUNK_MAX, PS_CHUNK_MAX));
	CHECK(has_gap(&got[0], 1, 3 * PS_CHUNK_MAX, 2 * PS_CHUNK_MAX));
	CHECK(has_gap(&got[0], 2, 7 * PS_CHUNK_MAX, 100));
	CHECK_INT(got[0].lost_bytes, 3 * PS_CHUNK_MAX + 100);
	CHECK_INT(got[0].data_len + got[0].lost_bytes, len);
	CHECK_INT(got[0].data_len, kept);
	CHECK(got[0].data_len == kept && memcmp(got[0].data, want, kept) == 0);
	CHECK_INT(counters.gap_bytes, 3 * PS_CHUNK_MAX + 100);
	free(want);
	free(data);
	ps_assembler_free(a);
}

static void fixed_event_passes_through(void)
{
	struct ps_assembler *a = new_assembler();
	struct chunk_spec exit_ev = { .event_id = EV_EXIT, .tid = 3, .mono_ns = 50, .first_field = 1 };
	struct chunk_spec partial = { .event_id = EV_TLS_DATA, .tid = 3, .mono_ns = 40, .var_total = 8,
				      .flags = PS_EV_MORE };

	CHECK_INT(push_chunk(a, &exit_ev, NULL, 0), 0);
	CHECK_INT(n_got, 1);
	CHECK(!got[0].has_data);
	CHECK_INT(got[0].first_field, 1);
	CHECK_INT(got[0].time_ns, WALL_OFFSET + 50);

	/* A thread that reports its exit will not finish the call it had open. */
	CHECK_INT(push_chunk(a, &partial, (const uint8_t *)"abcd", 4), 0);
	CHECK_INT(push_chunk(a, &exit_ev, NULL, 0), 0);
	CHECK_INT(n_got, 3);
	CHECK(got[1].incomplete);
	CHECK_INT(got[1].lost_bytes, 4);
	CHECK_INT(got[2].event_id, EV_EXIT);
	CHECK_INT(counters.incomplete, 1);
	ps_assembler_free(a);
}

static void malformed_records(void)
{
	struct ps_assembler *a = new_assembler();
	uint8_t raw[256] = { 0 };
	struct ps_event_header hdr = { .tid = 1, .fixed_size = PS_TEST_HDR + 56, .var_len = 16 };
	struct chunk_spec bad_id = { .event_id = N_EVENTS + 3, .tid = 1 };

	/* shorter than a header */
	CHECK_INT(ps_assembler_push(a, raw, 40), -EINVAL);
	/* event id beyond the module's table */
	CHECK_INT(push_chunk(a, &bad_id, (const uint8_t *)"x", 1), -EINVAL);
	/* data said to run past the end of the record */
	memcpy(raw, &hdr, sizeof(hdr));
	CHECK_INT(ps_assembler_push(a, raw, PS_TEST_HDR + 56 + 15), -EINVAL);
	/* fixed part shorter than the event's */
	hdr.fixed_size = PS_TEST_HDR + 48;
	memcpy(raw, &hdr, sizeof(hdr));
	CHECK_INT(ps_assembler_push(a, raw, sizeof(raw)), -EINVAL);
	/* a record shorter than its own fixed part */
	hdr.fixed_size = PS_TEST_HDR + 56;
	hdr.var_len = 0;
	memcpy(raw, &hdr, sizeof(hdr));
	CHECK_INT(ps_assembler_push(a, raw, 100), -EINVAL);
	/* a chunk past its call's stated length */
	hdr.var_len = 16;
	hdr.var_off = 8;
	hdr.var_total = 20;
	memcpy(raw, &hdr, sizeof(hdr));
	CHECK_INT(ps_assembler_push(a, raw, sizeof(raw)), -EINVAL);

	CHECK_INT(n_got, 0);
	CHECK_INT(counters.malformed, 6);
	CHECK_INT(counters.chunks, 6);

	/* the same record, whole, is fine: the size is not what tripped it */
	hdr.var_off = 0;
	hdr.var_total = 16;
	memcpy(raw, &hdr, sizeof(hdr));
	CHECK_INT(ps_assembler_push(a, raw, sizeof(raw)), 0);
	CHECK_INT(n_got, 1);
	CHECK_INT(counters.malformed, 6);
	ps_assembler_free(a);
}

static void chunk_going_backwards_is_malformed(void)
{
	const size_t len = 3 * PS_CHUNK_MAX;
	uint8_t *data = pattern(len, 8);
	struct ps_assembler *a = new_assembler();

	CHECK_INT(push_bytes_chunk(a, 4, 4, data, len, 0), 0);
	CHECK_INT(push_bytes_chunk(a, 4, 4, data, len, 1), 0);
	CHECK_INT(push_bytes_chunk(a, 4, 4, data, len, 0), -EINVAL);
	CHECK_INT(counters.malformed, 1);
	CHECK_INT(push_bytes_chunk(a, 4, 4, data, len, 2), 0);
	CHECK_INT(n_got, 1);
	CHECK(got[0].data_len == len && memcmp(got[0].data, data, len) == 0);
	free(data);
	ps_assembler_free(a);
}

static void flush_emits_pending_in_time_order(void)
{
	const size_t len = 2 * PS_CHUNK_MAX;
	uint8_t *data = pattern(len, 9);
	struct ps_assembler *a = new_assembler();
	struct chunk_spec text = { .event_id = EV_OPEN_PATH, .tid = 22, .mono_ns = 20, .flags = PS_EV_MORE };

	CHECK_INT(push_bytes_chunk(a, 21, 30, data, len, 0), 0);
	CHECK_INT(push_chunk(a, &text, (const uint8_t *)"/etc/", 5), 0);
	CHECK_INT(push_bytes_chunk(a, 23, 10, data, len, 0), 0);
	CHECK_INT(n_got, 0);
	ps_assembler_flush(a);
	CHECK_INT(n_got, 3);
	CHECK_INT(got[0].tid, 23);
	CHECK_INT(got[1].tid, 22);
	CHECK_INT(got[2].tid, 21);
	for (size_t i = 0; i < n_got; i++)
		CHECK(got[i].incomplete);
	/* the bytes calls miss their second chunk; the string's length is unknown */
	CHECK_INT(got[0].lost_bytes, PS_CHUNK_MAX);
	CHECK_INT(got[1].lost_bytes, 0);
	CHECK_INT(got[1].data_len, 5);
	CHECK_INT(counters.incomplete, 3);
	CHECK_INT(counters.gap_bytes, 2 * PS_CHUNK_MAX);
	/* nothing is left to flush twice */
	ps_assembler_flush(a);
	CHECK_INT(n_got, 3);
	free(data);
	ps_assembler_free(a);
}

/* Many threads in flight at once make the table grow; none may get lost. */
static void many_threads_interleaved(void)
{
	const size_t len = PS_CHUNK_MAX + 100, threads = 1000;
	uint8_t *data = pattern(len, 10);
	struct ps_assembler *a = new_assembler();
	bool seen[1000] = { false };

	for (size_t i = 0; i < 2; i++)
		for (uint32_t t = 0; t < threads; t++)
			CHECK_INT(push_bytes_chunk(a, 5000 + t, 1, data, len, i), 0);
	CHECK_INT(n_got, threads);
	for (size_t i = 0; i < n_got; i++) {
		CHECK(got[i].data_len == len && memcmp(got[i].data, data, len) == 0);
		if (got[i].tid >= 5000 && got[i].tid < 5000 + threads)
			seen[got[i].tid - 5000] = true;
	}
	for (size_t t = 0; t < threads; t++)
		CHECK(seen[t]);
	free(data);
	ps_assembler_free(a);
}

/* Found by tests/fuzz/assemble_fuzz.c: a last chunk with no data after only unreadable ones (no buffer yet). */
static void empty_last_chunk_after_read_failure(void)
{
	struct ps_assembler *a = new_assembler();
	struct chunk_spec first = { .event_id = EV_TLS_DATA, .tid = 3, .mono_ns = 9, .var_total = 4,
				    .flags = PS_EV_READ_FAIL | PS_EV_MORE };
	struct chunk_spec last = { .event_id = EV_TLS_DATA, .tid = 3, .mono_ns = 9, .var_off = 4, .var_total = 4 };

	CHECK_INT(push_chunk(a, &first, (const uint8_t *)"\0\0\0\0", 4), 0);
	CHECK_INT(push_chunk(a, &last, NULL, 0), 0);
	CHECK_INT(n_got, 1);
	CHECK_INT(got[0].data_len, 0);
	CHECK_INT(got[0].lost_bytes, 4);
	CHECK(got[0].read_failed);
	CHECK(!got[0].incomplete);
	ps_assembler_free(a);
}

/*
 * Found by tests/fuzz/assemble_fuzz.c: a broken call whose later chunks
 * (var_total 0) lie past the total an earlier one gave; its gaps outgrew
 * that total, and the buffer's size was computed below zero.
 */
static void gaps_past_an_earlier_total(void)
{
	struct ps_assembler *a = new_assembler();
	struct chunk_spec first = { .event_id = EV_TLS_DATA, .tid = 4, .mono_ns = 9, .var_total = 100,
				    .flags = PS_EV_READ_FAIL | PS_EV_MORE };
	struct chunk_spec last = { .event_id = EV_TLS_DATA, .tid = 4, .mono_ns = 9, .var_off = 200 };
	uint8_t *unread = calloc(1, 50);

	CHECK_INT(push_chunk(a, &first, unread, 50), 0);
	CHECK_INT(push_chunk(a, &last, (const uint8_t *)"0123456789", 10), 0);
	CHECK_INT(n_got, 1);
	CHECK_INT(got[0].data_len, 10);
	CHECK(got[0].data_len == 10 && memcmp(got[0].data, "0123456789", 10) == 0);
	CHECK_INT(got[0].lost_bytes, 200);
	CHECK_INT(got[0].n_gaps, 1);
	free(unread);
	ps_assembler_free(a);
}

static void free_with_pending_calls(void)
{
	const size_t len = 2 * PS_CHUNK_MAX;
	uint8_t *data = pattern(len, 11);
	struct ps_assembler *a = new_assembler();

	CHECK_INT(push_bytes_chunk(a, 1, 1, data, len, 0), 0);
	ps_assembler_free(a); /* the sanitizer build checks nothing leaks */
	CHECK_INT(n_got, 0);
	free(data);
}

int main(void)
{
	TEST(single_chunk_call);
	TEST(empty_call_has_data_pointer);
	TEST(interleaved_4mib_calls);
	TEST(call_of_64mib);
	TEST(lost_middle_chunk);
	TEST(lost_first_chunk);
	TEST(last_chunk_never_comes);
	TEST(string_over_several_chunks);
	TEST(read_failure_marks_call);
	TEST(gaps_are_exact);
	TEST(fixed_event_passes_through);
	TEST(malformed_records);
	TEST(chunk_going_backwards_is_malformed);
	TEST(flush_emits_pending_in_time_order);
	TEST(many_threads_interleaved);
	TEST(free_with_pending_calls);
	TEST(empty_last_chunk_after_read_failure);
	TEST(gaps_past_an_earlier_total);
	reset();
	return TEST_EXIT();
}
