/* SPDX-License-Identifier: MIT */
/*
 * Where a module's hooks go and what they read, beyond one symbol per hook:
 * override flags tried in order, `symbol`/`offset` flags, `unless`, `called
 * by` and `unless calls`, and the link-time addresses of hooks and globals
 * the BPF programs turn into run-time addresses (see `global` in
 * specs/README.md).
 */
#ifndef PS_LINK_H
#define PS_LINK_H

#include "cli.h"
#include "elf_file.h"
#include "module.h"
#include "target.h"

struct bpf_object;

/* The override flag of a target that was given (the first of `override a, b;`), or its first one. */
int ps_target_override_flag(const struct ps_options *opts, const struct ps_target_desc *target);

/*
 * The file offset of each hook of the hook set (sites[i] < 0: not attached):
 * its `offset` flag, else its symbol (or its `symbol` flag's value), else for
 * `called by` the function its callers share (runtime/target/callgraph.c); -ESRCH
 * when its `unless` symbol is present or its code reaches a hook named by
 * `unless calls`. In order, so that `unless calls H` sees where H went.
 * Reports what is wrong itself; optional hooks not found count in *n_missing.
 */
/* Whether a hook can emit an event other than secrets (not attached with --from wire). */
bool ps_hook_emits_data(const struct ps_module_desc *module, const struct ps_hook_desc *hook);

int ps_hook_sites(const struct ps_options *opts, const struct ps_plan *plan, const struct ps_hookset_desc *hookset,
		  long *sites, uint32_t *n_missing);

/* Writes ps_link (hook and global addresses, from sites) into the object's .rodata; 0 when it has none. */
int ps_link_write(const struct ps_options *opts, const struct ps_plan *plan, const struct ps_hookset_desc *hookset,
		  const long *sites, struct bpf_object *obj);

#endif
