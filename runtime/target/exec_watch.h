/* SPDX-License-Identifier: MIT */
/* Exec events from the kernel (exec_watch.bpf.c): which processes just became new programs. */
#ifndef PS_EXEC_WATCH_H
#define PS_EXEC_WATCH_H

#include <stdint.h>
#include "exec_event.h"

struct ps_exec_watch;

/*
 * Loads and attaches the tracepoint program, with the minimal kernel types
 * cached in btf_cache_dir (core_btf.h; NULL: none). NULL and a warning said
 * on failure.
 */
struct ps_exec_watch *ps_exec_watch_start(const char *btf_cache_dir);
/* No more events; the ring buffer stays readable until stopped. */
void ps_exec_watch_detach(struct ps_exec_watch *watch);
void ps_exec_watch_stop(struct ps_exec_watch *watch);

/* An exit event (PS_EXEC_EVENT_EXIT) when process pid's last thread exits; -ENOTSUP: none will come. */
int ps_exec_watch_exit_of(struct ps_exec_watch *watch, uint32_t pid);

/* The ring buffer of struct ps_exec_event records, for ring_buffer__add. */
int ps_exec_watch_ring_fd(const struct ps_exec_watch *watch);

/* Execs the ring buffer had no room for. */
uint64_t ps_exec_watch_lost(const struct ps_exec_watch *watch);

#endif
