/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: ring-buffer chunks into records (runtime/events/assemble.c),
 * with a module's real event table. The input's first byte picks the
 * module; then each chunk is a header taken from the input, its fields
 * folded into small ranges so that threads, calls and offsets meet (a few
 * tids and start times, offsets under 64 KiB), and its data. Every record
 * emitted must hold what it says: its data readable, its gaps in order,
 * apart, and adding up to lost_bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assemble.h"

#define CHUNK_DATA_MAX 4096

static void check_record(const struct ps_record *rec, void *arg)
{
	uint64_t lost = 0, end = 0;
	uint8_t sum = 0;   /* every byte read, so that ASan sees each one */

	for (size_t i = 0; i < rec->event->fixed_size; i++)
		sum += ((const uint8_t *)rec->fixed)[i];
	for (size_t i = 0; i < rec->data_len; i++)
		sum += rec->data[i];
	for (size_t i = 0; i < rec->n_gaps; i++) {
		const struct ps_gap *gap = &rec->gaps[i];

		if (!gap->length || (i && gap->offset <= end))
			abort();
		end = gap->offset + gap->length;
		lost += gap->length;
	}
	*(volatile uint8_t *)arg += sum;
	if (lost != rec->lost_bytes || end > rec->data_len + rec->lost_bytes)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ps_module_desc *module;
	struct ps_counters counters = { 0 };
	struct ps_assembler *a;
	uint8_t *record, sum = 0;

	if (size < 1)
		return 0;
	module = ps_modules[data[0] % ps_n_modules];
	data++;
	size--;
	if (!module->n_events)
		return 0;
	a = ps_assembler_new(module, 0, &counters, check_record, &sum);
	record = malloc(UINT16_MAX + CHUNK_DATA_MAX);
	if (!a || !record)
		abort();
	while (size >= sizeof(struct ps_event_header)) {
		struct ps_event_header hdr;
		const struct ps_event_desc *ev;
		size_t fixed_size, raw_size;

		memcpy(&hdr, data, sizeof(hdr));
		data += sizeof(hdr);
		size -= sizeof(hdr);
		hdr.event_id %= module->n_events;
		ev = &module->events[hdr.event_id];
		hdr.tid &= 3;
		hdr.mono_ns &= 3;
		hdr.var_off &= 0xffff;
		hdr.var_total &= 0x1ffff;
		/* now and then a fixed size that is wrong: the record is refused */
		if (hdr.cpu & 0xf)
			hdr.fixed_size = ev->fixed_size;
		hdr.var_len %= CHUNK_DATA_MAX;
		if (hdr.var_len > size)
			hdr.var_len = size;
		fixed_size = hdr.fixed_size > sizeof(hdr) ? hdr.fixed_size : sizeof(hdr);
		memset(record, 0, fixed_size);
		memcpy(record, &hdr, sizeof(hdr));
		memcpy(record + fixed_size, data, hdr.var_len);
		/* records come in size classes: some slack after the data, or (rarely) too little */
		raw_size = fixed_size + hdr.var_len + (hdr.uid & 0x3f);
		if ((hdr.uid >> 8 & 0x1f) == 0x1f)
			raw_size--;
		ps_assembler_push(a, record, raw_size);
		data += hdr.var_len;
		size -= hdr.var_len;
	}
	ps_assembler_flush(a);
	ps_assembler_free(a);
	free(record);
	return 0;
}
