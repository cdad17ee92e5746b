/* SPDX-License-Identifier: MIT */
/* Joining the chunks of one call's data back together, per thread. */
#ifndef PS_ASSEMBLE_H
#define PS_ASSEMBLE_H

#include <stddef.h>
#include <stdint.h>
#include "record.h"

struct ps_assembler;

typedef void (*ps_record_fn)(const struct ps_record *rec, void *arg);

/*
 * mono_to_wall_ns is added to header.mono_ns to get wall time. Counters are
 * updated in place (chunks, gap_bytes, incomplete, malformed).
 */
struct ps_assembler *ps_assembler_new(const struct ps_module_desc *module, int64_t mono_to_wall_ns,
				      struct ps_counters *counters, ps_record_fn emit, void *arg);

/*
 * Takes one ring-buffer record. A record without PS_EV_MORE completes its call
 * and is emitted at once; chunks of a call (same tid and mono_ns) are joined.
 * A chunk that does not continue its thread's pending call flushes that call
 * as incomplete. Returns 0, or -EINVAL for a record that makes no sense
 * (counted as malformed, nothing emitted).
 */
int ps_assembler_push(struct ps_assembler *a, const void *raw, size_t raw_size);

/* Emits every pending call as incomplete (at exit). */
void ps_assembler_flush(struct ps_assembler *a);
void ps_assembler_free(struct ps_assembler *a);

#endif
