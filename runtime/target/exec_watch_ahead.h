/* SPDX-License-Identifier: MIT */
/*
 * The exec watch (exec_watch.h) started on a thread of its own, so that its
 * object verifies and attaches while the target is read and the probes'
 * object loads: ~8 ms of start-up that no longer come before the attached
 * line. Execs from then on wait in its ring until the reader takes it.
 */
#ifndef PS_EXEC_WATCH_AHEAD_H
#define PS_EXEC_WATCH_AHEAD_H

#include "exec_watch.h"

struct ps_exec_watch_ahead;

/* NULL when no thread could be started: ps_exec_watch_take then starts the watch itself. */
struct ps_exec_watch_ahead *ps_exec_watch_start_ahead(const char *btf_cache_dir);

/*
 * Waits for the thread and hands over its watch (NULL: it failed, and said
 * so); with ahead NULL, starts the watch here. Frees ahead.
 */
struct ps_exec_watch *ps_exec_watch_take(struct ps_exec_watch_ahead *ahead, const char *btf_cache_dir);

/* A watch never taken: waited for and stopped. NULL is fine. */
void ps_exec_watch_ahead_free(struct ps_exec_watch_ahead *ahead);

#endif
