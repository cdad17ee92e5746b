/* SPDX-License-Identifier: MIT */
/* reach.c wired into the capture: exec events in, notices out (stderr, and the json output). */
#ifndef PS_REACH_WATCH_H
#define PS_REACH_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include "cli.h"
#include "output.h"
#include "probes.h"
#include "target.h"

struct ring_buffer;
struct ps_exec_watch_ahead;
struct ps_reach_watch;

/* Whether ps_reach_watch_start watches execs for these options: a TLS stack's module, every process. */
bool ps_reach_watch_wanted(const struct ps_options *opts);

/*
 * Starts watching execs into rb, when the module probes a TLS stack
 * (tls_stacks.h) and traces every process (no -p). NULL when it has nothing
 * to watch, or could not (a warning said why: capture goes on). The exec
 * watch is exec_ahead's (exec_watch_ahead.h), taken or cancelled here; NULL:
 * loaded now.
 */
/*
 * Without a path for the target on the command line, it also attaches to
 * every other copy of it that a process maps (copies.h), each said in one
 * line; probes are the primary's, whose maps the copies share.
 */
struct ps_reach_watch *ps_reach_watch_start(const struct ps_options *opts, const struct ps_plan *plan,
					    const struct ps_probes *probes, struct ring_buffer *rb,
					    struct ps_writer *writer, bool status_line,
					    struct ps_exec_watch_ahead *exec_ahead);

/* Whether it attaches to copies found later (no path given): it loads and attaches probes as it runs. */
bool ps_reach_watch_discovers(const struct ps_reach_watch *watch);

/* Calls interrupted by their process's end in the copies' own objects (ps_probes_sweep_gone). */
uint64_t ps_reach_watch_sweep_gone(struct ps_reach_watch *watch);

/* Files the module is attached to now, or (ever) was over the run; 1 without discovery. */
uint32_t ps_reach_watch_targets(const struct ps_reach_watch *watch, bool ever);

/* Looks at every process running now: once the probes are attached, so that none is missed. */
void ps_reach_watch_scan(struct ps_reach_watch *watch);

/* Looks at the processes executed long enough ago. */
void ps_reach_watch_poll(struct ps_reach_watch *watch);

/* How long a poll may sleep before the next process is due: at most max_ms. */
int ps_reach_watch_timeout_ms(const struct ps_reach_watch *watch, int max_ms);

/* Stops the exec events (what the ring buffer holds still counts once consumed). */
void ps_reach_watch_detach(struct ps_reach_watch *watch);

/*
 * Once the ring buffer is consumed: looks at every process left, says what
 * went unchecked and how many programs are out of reach.
 */
void ps_reach_watch_finish(struct ps_reach_watch *watch);

/* Programs said to be out of reach. */
uint64_t ps_reach_watch_unreachable(const struct ps_reach_watch *watch);

void ps_reach_watch_free(struct ps_reach_watch *watch);

#endif
