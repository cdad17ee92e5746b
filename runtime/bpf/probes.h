/* SPDX-License-Identifier: MIT */
/* Loading a module's BPF object and attaching its probes. */
#ifndef PS_PROBES_H
#define PS_PROBES_H

#include <stdbool.h>
#include <stdint.h>
#include "cli.h"
#include "ps_event.h"
#include "target.h"

struct bpf_object;
struct bpf_link;
struct ps_ring_reader;

struct ps_probes {
	struct bpf_object *obj;
	struct bpf_object *twin;    /* obj's twin, verifying half its programs (twin_load.h); NULL: none */
	struct bpf_link **links;
	uint32_t n_links;
	int *link_fds;              /* multi uprobe links (uprobe_multi.h), which libbpf 1.1 cannot hold */
	uint32_t n_link_fds;
	bool uprobe_multi;          /* its uprobe programs were loaded for multi links */
	uint32_t n_uprobes;         /* uprobes and uretprobes attached */
	uint32_t n_missing;         /* optional hooks whose symbol is absent */
	struct ps_maps_ahead *ahead; /* maps being made ahead (maps_ahead.h); NULL: none */
	int events_fd;              /* the ring buffer */
	bool ring_made_ahead;       /* events_fd is ahead's ring, which it maps for reading too */
	int loss_fd;                /* per-CPU loss counters */
	int stopped_fd;             /* --lossless: processes stopped to let the ring drain */
	uint32_t hookset;           /* the plan's */
	long *sites;                /* where each of its hooks went (< 0: not attached) */
	const struct ps_probes *share_from; /* a copy's: the probes whose maps (ring, loss) it writes to */
};

/* Opens, configures, loads and attaches; reports failures itself. */
int ps_probes_start(const struct ps_options *opts, const struct ps_plan *plan, struct ps_probes *probes);

/*
 * Attaches the module to another copy of its target, plan made for that
 * file, into copy. Uprobes are per file, so the primary's programs serve the
 * copy when they would be configured alike: the same hook set, the same
 * hooks absent and the same read-only data byte for byte (offsets, link-time
 * addresses). Otherwise (another version's layout, another build) the copy
 * gets an object of its own, writing to the primary's maps: one ring, one
 * loss count. attach_target[t] false (NULL: none is): target t's file has
 * probes already (the primary's, or another copy's: NSS's libnspr4 shared
 * by Firefox's bundled NSS), so its hooks are not attached twice. Reports
 * failures itself.
 */
int ps_probes_attach_copy(const struct ps_options *opts, const struct ps_plan *plan, const struct ps_probes *primary,
			  const bool *attach_target, struct ps_probes *copy);

/*
 * The ring buffer mapped for reading (ring_reader.h): mapped during start-up
 * when the ring was made ahead, else now. The caller's; NULL and errno on
 * failure.
 */
struct ps_ring_reader *ps_probes_take_reader(struct ps_probes *probes);

/* Detaches every probe (further events stop) but keeps the maps readable. */
void ps_probes_detach(struct ps_probes *probes);
void ps_probes_destroy(struct ps_probes *probes);

/* Probe runs the kernel skipped (it does so on recursion), over all programs. */
uint64_t ps_probes_missed_runs(const struct ps_probes *probes);

/*
 * A call whose process died inside it (killed, exited from another thread,
 * exec) never returns: its entry state stays in the kernel's maps. Removes
 * that of processes gone and of threads gone from a process that goes on (a
 * goroutine's stays until its process ends), and returns the calls so
 * interrupted. Cheap: the maps hold the calls in flight.
 */
uint64_t ps_probes_sweep_gone(const struct ps_probes *probes);

/*
 * A copy about to be released (no process maps it any more): each call
 * still in its object's own ps_saved map never returned (a goroutine's,
 * whose process ended before the sweep saw it gone). Removes and returns
 * them; 0 when the copy writes to the primary's map, whose sweep has them.
 */
uint64_t ps_probes_release_leftovers(const struct ps_probes *copy);

/* Sums the per-CPU loss counters. */
int ps_probes_read_loss(const struct ps_probes *probes, uint64_t loss[PS_LOSS_KINDS]);

#endif
