/* SPDX-License-Identifier: MIT */
/*
 * What happens to a whole record before output, as the spec says: string
 * fields are unescaped, records of `buffered` events wait per process or
 * thread until a record with a `collect` field takes (and joins) them, and
 * `filter`s decide what is written.
 */
#ifndef PS_COLLECT_H
#define PS_COLLECT_H

#include "assemble.h"
#include "cli.h"

struct ps_collect;

struct ps_collect *ps_collect_new(const struct ps_options *opts);

/* Passes rec on to emit (perhaps changed), keeps it for later, or drops it. */
void ps_collect_record(struct ps_collect *c, const struct ps_record *rec, ps_record_fn emit, void *arg);

/*
 * Writes what still waits, per process or thread, as records of the event
 * that collects it, marked incomplete and unfinished (record.h): a command
 * still running at exit, a query whose dispatch never returned. Filters
 * apply; an absent field passes none. Called once, at the end.
 */
void ps_collect_flush(struct ps_collect *c, ps_record_fn emit, void *arg);

/* Records still buffered (never collected) at the end. */
size_t ps_collect_pending(const struct ps_collect *c);

/*
 * Buffered records that no later record took: still waiting, pushed out by
 * the bound, or written unfinished by the bound or by ps_collect_flush.
 */
uint64_t ps_collect_uncollected(const struct ps_collect *c);

void ps_collect_free(struct ps_collect *c);

#endif
