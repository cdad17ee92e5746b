/* SPDX-License-Identifier: MIT */
/*
 * The exec watch loaded and attached on a thread of its own, at the lowest
 * priority, while start-up loads the probes. Start-up is CPU-bound on a
 * small machine: a thread at the same priority takes the CPU the main path
 * needs (the maps being made, the target being read) and gains nothing. At
 * nice 19 it runs where a core would sit idle, chiefly while the kernel
 * verifies the probes' programs on the main thread.
 */
#ifndef PS_EXEC_WATCH_AHEAD_H
#define PS_EXEC_WATCH_AHEAD_H

struct ps_exec_watch;
struct ps_exec_watch_ahead;

/* Starts loading (exec_watch.h); NULL when no thread could be started (take then loads it there). */
struct ps_exec_watch_ahead *ps_exec_watch_ahead_start(const char *btf_cache_dir);

/*
 * Waits for the thread and returns its exec watch, as ps_exec_watch_start
 * would (NULL and a warning said on failure); with no thread, loads it now.
 * Frees ahead.
 */
struct ps_exec_watch *ps_exec_watch_ahead_take(struct ps_exec_watch_ahead *ahead, const char *btf_cache_dir);

/* Waits for the thread and stops what it started. NULL is fine. */
void ps_exec_watch_ahead_cancel(struct ps_exec_watch_ahead *ahead);

#endif
