/* SPDX-License-Identifier: MIT */
/*
 * What start-up reads out of a library (its version, what its accessors
 * show of the layout, where the hooks go), kept per library file beside the
 * kernel types in the cache directory (--btf-cache), so that a later start
 * on the same file reads no .rodata and loads no capstone.
 *
 * An entry is named after the module, the target files' paths and the
 * options that steer the verdicts, and holds plainsight's build id and each
 * file's device, inode, size and modification time: a new build, or a
 * library replaced or upgraded in place, misses and is read again. A
 * damaged entry, or one others could have written, is ignored and rewritten.
 * -d says which was used, and why an entry was not.
 */
#ifndef PS_VERDICT_CACHE_H
#define PS_VERDICT_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include "accessors.h"
#include "cli.h"
#include "target.h"

struct ps_verdict_cache;

/* After the plan's targets are opened; NULL when nothing is cached (--btf-cache none, a Go program, no memory). */
struct ps_verdict_cache *ps_verdict_cache_open(const struct ps_options *opts, const struct ps_plan *plan);

/* Whether the entry holds every verdict: then no code needs decoding (capstone stays unloaded). */
bool ps_verdict_cache_complete(const struct ps_verdict_cache *cache);

/*
 * The target's version from the entry into resolved (version, product,
 * version_from): 0, or -ENOENT when the library was found to hold none;
 * -ESRCH when the entry has no version (read it, then keep it).
 */
int ps_verdict_cache_version(struct ps_verdict_cache *cache, const struct ps_target_desc *target,
			     struct ps_resolved_target *resolved);
/* matched: the rule that found the version; NULL when none did. */
void ps_verdict_cache_keep_version(struct ps_verdict_cache *cache, const struct ps_target_desc *target,
				   const struct ps_resolved_target *resolved, const struct ps_version_rule *matched);

/* For layout: offsets, shown and result as ps_accessors_check leaves them; false when not in the entry. */
bool ps_verdict_cache_accessors(struct ps_verdict_cache *cache, const struct ps_module_desc *module,
				const struct ps_layout_desc *layout, int32_t *offsets, bool *shown,
				struct ps_accessor_result *result);
void ps_verdict_cache_keep_accessors(struct ps_verdict_cache *cache, const struct ps_module_desc *module,
				     const struct ps_layout_desc *layout, const int32_t *offsets, const bool *shown,
				     const struct ps_accessor_result *result);

/* The hook set's sites and its optional hooks absent (added to *n_missing); false when not in the entry. */
bool ps_verdict_cache_sites(struct ps_verdict_cache *cache, uint32_t hookset, uint32_t n_hooks, long *sites,
			    uint32_t *n_missing);
void ps_verdict_cache_keep_sites(struct ps_verdict_cache *cache, uint32_t hookset, uint32_t n_hooks,
				 const long *sites, uint32_t n_missing);

/*
 * Writes the entry when a verdict was read from the library this time, and
 * no warning was said meanwhile (a start that reuses the verdicts would not
 * say it again).
 */
void ps_verdict_cache_save(struct ps_verdict_cache *cache);

void ps_verdict_cache_free(struct ps_verdict_cache *cache);

#endif
