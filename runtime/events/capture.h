/* SPDX-License-Identifier: MIT */
/* Reading events until SIGINT/SIGTERM, writing records, counting losses. */
#ifndef PS_CAPTURE_H
#define PS_CAPTURE_H

#include "cli.h"
#include "probes.h"
#include "target.h"

struct ps_exec_watch_ahead;
struct ps_outfiles;

/*
 * Writes to files (ps_outfiles_open), taking them over; runs until a stop
 * signal or an output error, then detaches, drains, writes the summary. 0,
 * or a negative errno (already reported). exec_ahead (NULL: none) is taken
 * over too (reach_watch.h).
 */
int ps_capture_run(const struct ps_options *opts, const struct ps_plan *plan, struct ps_probes *probes,
		   struct ps_outfiles *files, struct ps_exec_watch_ahead *exec_ahead);

#endif
