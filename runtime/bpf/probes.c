/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "caps.h"
#include "core_btf.h"
#include "elf_file.h"
#include "go_returns.h"
#include "keylog.h"
#include "link.h"
#include "links_teardown.h"
#include "log.h"
#include "probes.h"
#include "maps_ahead.h"
#include "rodata.h"
#include "ring_reader.h"
#include "twin_load.h"
#include "uprobe_multi.h"

#define CONFIG_VAR "ps_config"

static struct bpf_program *find_program(struct bpf_object *obj, const char *name)
{
	return name ? bpf_object__find_program_by_name(obj, name) : NULL;
}

/* Programs of hooks whose symbol is absent are not loaded at all. */
static int disable_absent_hooks(struct bpf_object *obj, const struct ps_hookset_desc *hookset, const long *sites)
{
	for (uint32_t i = 0; i < hookset->n_hooks; i++) {
		const struct ps_hook_desc *hook = &hookset->hooks[i];
		const char *names[2] = { hook->entry_prog, hook->return_prog };

		for (int k = 0; k < 2; k++) {
			struct bpf_program *prog = find_program(obj, names[k]);

			if (names[k] && !prog) {
				ps_error("internal: program %s missing from the BPF object", names[k]);
				return -ENOENT;
			}
			if (prog && sites[i] < 0)
				bpf_program__set_autoload(prog, false);
		}
	}
	return 0;
}

/*
 * Secrets are read only by the key log (-k, -m keylog), pcapng's secrets
 * blocks and --secrets; the plaintext by every mode but pcapng, whose
 * packets carry it. What nobody reads, the kernel need not emit at all.
 */
static uint32_t events_nobody_reads(const struct ps_options *opts)
{
	bool secrets_wanted = opts->keylog_path || opts->output.mode == PS_OUTPUT_KEYLOG ||
			      opts->output.mode == PS_OUTPUT_PCAPNG || opts->output.secrets || opts->from_wire;
	bool data_wanted = opts->output.mode != PS_OUTPUT_PCAPNG && !opts->from_wire;
	uint32_t off = 0;

	for (uint32_t e = 0; e < opts->module->n_events && e < 32; e++) {
		bool secrets = ps_keylog_is_secrets_event(&opts->module->events[e]);

		if (secrets ? !secrets_wanted : !data_wanted)
			off |= 1u << e;
	}
	return off;
}

static int write_config(const struct ps_options *opts, const struct ps_plan *plan, struct bpf_object *obj)
{
	const struct ps_module_desc *module = opts->module;
	uint32_t n_offsets = module->n_offsets ? module->n_offsets : 1;
	size_t want = sizeof(struct ps_filter) + n_offsets * sizeof(int32_t);
	uint32_t var_size;
	struct ps_filter filter = {
		.pid = opts->pid,
		.uid = opts->uid,
		.has_uid = opts->has_uid,
		.self_pid = (uint32_t)getpid(),
		.events_off = events_nobody_reads(opts),
		/* --from wire holds processes back by the packets' backlog (packet_queue.h), not by the ring */
		.lossless = opts->lossless && !opts->from_wire,
		.go_stack_abi = plan->layout && plan->layout->go_stack_abi,
		.ring_bytes = opts->mapsize_kib * 1024u,
	};
	int32_t *offsets;
	void *init;

	if (ps_rodata_var(obj, CONFIG_VAR, &init, &var_size)) {
		ps_error("internal: %s's BPF object has no %s", module->name, CONFIG_VAR);
		return -ENOENT;
	}
	if (var_size != want) {
		ps_error("internal: %s's BPF object and tables disagree on %s (%u bytes, want %zu)", module->name,
			 CONFIG_VAR, var_size, want);
		return -EINVAL;
	}
	memcpy(init, &filter, sizeof(filter));
	offsets = (int32_t *)((char *)init + sizeof(filter));
	for (uint32_t i = 0; i < n_offsets; i++)
		offsets[i] = plan->offsets && i < module->n_offsets ? plan->offsets[i] : -1;
	return 0;
}

static int add_link(struct ps_probes *probes, struct bpf_link *link)
{
	struct bpf_link **grown = realloc(probes->links, (probes->n_links + 1) * sizeof(*grown));

	if (!grown) {
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	probes->links = grown;
	probes->links[probes->n_links++] = link;
	return 0;
}

static int add_link_fd(struct ps_probes *probes, int fd)
{
	int *grown = realloc(probes->link_fds, (probes->n_link_fds + 1) * sizeof(*grown));

	if (!grown) {
		close(fd);
		return -ENOMEM;
	}
	probes->link_fds = grown;
	probes->link_fds[probes->n_link_fds++] = fd;
	return 0;
}

/* One link at offsets[0..n): a multi link, or (older kernels) a perf-event uprobe for the one offset. */
static int link_uprobe(const struct ps_probes *programs, struct ps_probes *probes, struct bpf_program *prog,
		       bool retprobe, pid_t pid, const char *path, const unsigned long *offsets, size_t n)
{
	struct bpf_link *link;
	int fd;

	if (programs->uprobe_multi) {
		fd = ps_uprobe_multi_attach(bpf_program__fd(prog), path, offsets, n, retprobe, pid);
		return fd < 0 ? fd : add_link_fd(probes, fd);
	}
	if (n != 1)
		return -EINVAL;
	link = bpf_program__attach_uprobe(prog, retprobe, pid, path, (size_t)offsets[0]);
	return link ? add_link(probes, link) : -errno;
}

/*
 * programs: the probes whose loaded object has the program; probes: those
 * the link is added to. One link for all offsets[0..n) where the kernel
 * allows it, else one each.
 */
static int attach_uprobe(const struct ps_options *opts, const struct ps_probes *programs, struct ps_probes *probes,
			 const char *prog_name, bool retprobe, const char *path, const char *symbol,
			 const unsigned long *offsets, size_t n)
{
	struct bpf_program *prog = ps_twin_program(programs->obj, programs->twin, prog_name);
	pid_t pid = opts->pid ? (pid_t)opts->pid : -1;
	size_t done = 0;
	int err = 0;

	if (!prog)
		return 0;
	if (programs->uprobe_multi) {
		err = link_uprobe(programs, probes, prog, retprobe, pid, path, offsets, n);
		done = err ? 0 : n;
	} else {
		while (done < n && !(err = link_uprobe(programs, probes, prog, retprobe, pid, path, &offsets[done], 1)))
			done++;
	}
	probes->n_uprobes += done;
	if (err) {
		/*
		 * The kernel refuses a uprobe where another tracer's differs in kind;
		 * and some kernels (6.18 here) refuse perf_event_open's uprobes, the
		 * kind before multi links, to CAP_PERFMON without CAP_SYS_ADMIN.
		 */
		ps_error("%s: cannot attach %s to %s in %s: %s%s", opts->module->name,
			 retprobe ? "a uretprobe" : "a uprobe", symbol, path, strerror(-err),
			 err == -EINVAL ? " (is another tracer holding a probe on it?)" :
			 (err == -EACCES || err == -EPERM) && !ps_cap_effective(PS_CAP_SYS_ADMIN) ?
			 " (missing CAP_SYS_ADMIN: this kernel refuses uprobes to CAP_BPF and CAP_PERFMON alone)" : "");
		return err;
	}
	return 0;
}

/* A Go function's return: a uprobe at each of its RETs (go_returns.h says why). */
static int attach_go_returns(const struct ps_options *opts, struct ps_resolved_target *target,
			     const struct ps_probes *programs, struct ps_probes *probes, const struct ps_hook_desc *hook)
{
	long *offsets;
	size_t n;
	int err = ps_go_return_sites(target, hook->symbol, &offsets, &n);

	if (err) {
		ps_error("%s: cannot find the returns of %s in %s: %s", opts->module->name, hook->symbol,
			 target->path, err == -ENOEXEC ? "its code does not decode, or has no RET" : strerror(-err));
		return err;
	}
	ps_debug("%s: %s returns at %zu RET%s", opts->module->name, hook->symbol, n, n == 1 ? "" : "s");
	err = attach_uprobe(opts, programs, probes, hook->return_prog, false, target->path, hook->symbol,
			    (const unsigned long *)offsets, n);
	free(offsets);
	return err;
}

/* A hook set with no per-thread state has no ps_thread_exit program. */
static int attach_thread_exit(const struct ps_options *opts, const struct ps_probes *programs,
			      struct ps_probes *probes)
{
	struct bpf_program *prog = ps_twin_program(programs->obj, programs->twin, "ps_thread_exit");
	struct bpf_link *link;

	if (!prog)
		return 0;
	link = bpf_program__attach(prog);
	if (!link) {
		int err = -errno;

		ps_error("%s: cannot attach the thread-exit cleanup to the sched_process_exit tracepoint: %s",
			 opts->module->name, strerror(-err));
		return err;
	}
	return add_link(probes, link);
}

/*
 * socket_tracker: attach the hook set's sys_enter tracker too (a copy sharing the primary's has none of its own).
 * attach_target[t] false: target t's file has its probes already (another copy's): its hooks are left out.
 */
static int attach_all(const struct ps_options *opts, const struct ps_plan *plan,
		      const struct ps_hookset_desc *hookset, const long *sites, const struct ps_probes *programs,
		      struct ps_probes *probes, bool socket_tracker, const bool *attach_target)
{
	int err;

	/* the socket tracker names the fd of reads and writes: wire mode has none */
	if (hookset->track_socket && socket_tracker && !opts->from_wire) {
		struct bpf_program *prog = ps_twin_program(programs->obj, programs->twin, "ps_sys_enter");
		struct bpf_link *link = prog ? bpf_program__attach(prog) : NULL;

		if (!link) {
			ps_error("%s: cannot attach the socket tracker to the sys_enter tracepoint: %s",
				 opts->module->name, strerror(prog ? errno : ENOENT));
			return -ENOENT;
		}
		err = add_link(probes, link);
		if (err)
			return err;
	}
	/* an object of its own: its thread-exit cleanup too (ps_thread_exit, emit_bpf.c) */
	if (programs == probes && (err = attach_thread_exit(opts, programs, probes)) != 0)
		return err;
	for (uint32_t i = 0; i < hookset->n_hooks; i++) {
		const struct ps_hook_desc *hook = &hookset->hooks[i];
		const char *path = plan->targets[hook->target].path;

		if (sites[i] < 0 || (attach_target && !attach_target[hook->target]))
			continue;
		const unsigned long site = (unsigned long)sites[i];

		err = attach_uprobe(opts, programs, probes, hook->entry_prog, false, path, hook->symbol, &site, 1);
		if (!err && hook->abi == PS_ABI_GO && hook->return_prog)
			err = attach_go_returns(opts, &plan->targets[hook->target], programs, probes, hook);
		else if (!err)
			err = attach_uprobe(opts, programs, probes, hook->return_prog, true, path, hook->symbol, &site, 1);
		if (err)
			return err;
	}
	return 0;
}

/* core_btf_path: the kernel types for CO-RE; NULL: libbpf reads the kernel's own. */
static int open_object(const struct ps_options *opts, const struct ps_hookset_desc *hookset,
		       const char *core_btf_path, struct bpf_object **obj)
{
	char name[64];
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = name, .btf_custom_path = core_btf_path);
	int err;

	snprintf(name, sizeof(name), "%s_%s", opts->module->name, hookset->name);
	*obj = bpf_object__open_mem(hookset->bpf_obj, (size_t)(hookset->bpf_obj_end - hookset->bpf_obj), &open_opts);
	if (!*obj) {
		err = -errno;
		ps_error("internal: cannot open %s's embedded BPF object: %s", name, strerror(-err));
		return err;
	}
	return 0;
}

/* Maps the object makes itself only if nobody made them: all but its data sections. */
static int count_shareable_maps(struct bpf_object *obj)
{
	struct bpf_map *map;
	int n = 0;

	bpf_object__for_each_map(map, obj)
		n += !bpf_map__is_internal(map);
	return n;
}

/*
 * A copy's object takes over each map of the primary's of the same name and
 * kind: the ring and the loss counters above all, so that one reader sees
 * every copy's records. Returns how many.
 */
static int share_primary_maps(const struct ps_probes *primary, struct bpf_object *obj)
{
	struct bpf_map *map;
	int n = 0;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map *theirs;

		if (bpf_map__is_internal(map))
			continue;
		theirs = bpf_object__find_map_by_name(primary->obj, bpf_map__name(map));
		if (!theirs || bpf_map__type(theirs) != bpf_map__type(map) ||
		    bpf_map__key_size(theirs) != bpf_map__key_size(map) ||
		    bpf_map__value_size(theirs) != bpf_map__value_size(map) ||
		    bpf_map__set_max_entries(map, bpf_map__max_entries(theirs)) ||
		    bpf_map__reuse_fd(map, bpf_map__fd(theirs)))
			continue;
		n++;
	}
	return n;
}

/*
 * The maps made ahead when there are some (libbpf keeps copies of their
 * fds), else a ring of the size asked. *all_shared: every map of the object
 * is one made ahead, so a twin can share them.
 */
static int use_maps_made_ahead(const struct ps_options *opts, struct ps_probes *probes, struct bpf_object *obj,
			       bool *all_shared)
{
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "ps_events");
	int used;

	*all_shared = false;
	if (!events) {
		ps_error("internal: %s's BPF object has no ps_events ring buffer", opts->module->name);
		return -ENOENT;
	}
	if (probes->share_from) {
		used = share_primary_maps(probes->share_from, obj);
		*all_shared = used == count_shareable_maps(obj);
		return bpf_map__fd(events) >= 0 || used > 0 ? 0 : -ENOENT;
	}
	used = ps_maps_ahead_use(probes->ahead, obj);
	if (used > 0) {
		*all_shared = used == count_shareable_maps(obj);
		probes->ring_made_ahead = true;
		return 0;
	}
	if (probes->ahead)
		ps_debug("the ring made ahead is not there (%s): the object makes its own", strerror(-used));
	return bpf_map__set_max_entries(events, opts->mapsize_kib * 1024u);
}

/* quiet: a failure is retried, so only -d shows it. */
static int load_object(const struct ps_options *opts, const struct ps_hookset_desc *hookset,
		       struct ps_probes *probes, bool quiet)
{
	int err;

	probes->uprobe_multi = ps_uprobe_multi_supported();
	if (probes->uprobe_multi) {
		ps_uprobe_multi_prepare(probes->obj);
		if (probes->twin)
			ps_uprobe_multi_prepare(probes->twin);
	}
	err = ps_twin_load(probes->obj, probes->twin);
	if (err && quiet) {
		ps_debug("%s: the kernel refused the BPF programs of hook set '%s' with the cached CO-RE types: %s",
			 opts->module->name, hookset->name, strerror(-err));
		return err;
	}
	if (err) {
		ps_error("%s: the kernel refused the BPF programs of hook set '%s': %s%s", opts->module->name,
			 hookset->name, strerror(-err),
			 ps_log_debug_enabled() ? "" : " (run with -d for the verifier log)");
		return err;
	}
	probes->events_fd = bpf_object__find_map_fd_by_name(probes->obj, "ps_events");
	probes->stopped_fd = bpf_object__find_map_fd_by_name(probes->obj, "ps_stopped");
	probes->loss_fd = bpf_object__find_map_fd_by_name(probes->obj, "ps_loss");
	if (probes->events_fd < 0 || probes->loss_fd < 0) {
		ps_error("internal: %s's BPF object lacks its maps", opts->module->name);
		return -ENOENT;
	}
	return 0;
}

/* Opens the object and writes into it all the plan decides but its maps. */
static int open_configured(const struct ps_options *opts, const struct ps_plan *plan,
			   const struct ps_hookset_desc *hookset, const long *sites, const char *core_btf_path,
			   struct bpf_object **obj)
{
	int err = open_object(opts, hookset, core_btf_path, obj);

	if (!err)
		err = disable_absent_hooks(*obj, hookset, sites);
	if (!err)
		err = write_config(opts, plan, *obj);
	if (!err)
		err = ps_link_write(opts, plan, hookset, sites, *obj);
	return err;
}

static void close_objects(struct ps_probes *probes)
{
	bpf_object__close(probes->twin);
	bpf_object__close(probes->obj);
	probes->twin = probes->obj = NULL;
}

/* *refused: the kernel (or libbpf's relocation) refused the programs; other failures were reported. */
static int open_and_load(const struct ps_options *opts, const struct ps_plan *plan,
			 const struct ps_hookset_desc *hookset, const long *sites,
			 const char *core_btf_path, struct ps_probes *probes, bool *refused)
{
	bool all_shared = false, twin_shared = false;
	int err = open_configured(opts, plan, hookset, sites, core_btf_path, &probes->obj);

	/*
	 * The twin is opened before the maps are taken over: until the maps
	 * made ahead are ready, this thread would only wait. A twin that cannot
	 * be had is no failure: the object then loads alone.
	 */
	if (!err && (probes->ahead || probes->share_from) &&
	    open_configured(opts, plan, hookset, sites, core_btf_path, &probes->twin)) {
		bpf_object__close(probes->twin);
		probes->twin = NULL;
	}
	if (!err)
		err = use_maps_made_ahead(opts, probes, probes->obj, &all_shared);
	if (!err && probes->twin &&
	    (!all_shared || use_maps_made_ahead(opts, probes, probes->twin, &twin_shared) || !twin_shared)) {
		bpf_object__close(probes->twin);
		probes->twin = NULL;
	}
	ps_debug_phase(probes->twin ? "BPF object and its twin configured" : "BPF object configured");
	if (!err) {
		err = load_object(opts, hookset, probes, core_btf_path != NULL);
		*refused = err != 0;
	}
	return err;
}

/*
 * With the cached minimal kernel types when there are some (core_btf.c),
 * else, or when the kernel refuses the programs so relocated, with the
 * kernel's whole BTF.
 */
static int load_with_core_types(const struct ps_options *opts, const struct ps_plan *plan,
				const struct ps_hookset_desc *hookset, const long *sites,
				struct ps_probes *probes)
{
	struct ps_core_btf core;
	bool refused = false;
	char name[64];
	int err;

	snprintf(name, sizeof(name), "%s_%s", opts->module->name, hookset->name);
	if (ps_core_btf_get(opts->btf_cache_dir, name, hookset->bpf_obj,
			    (size_t)(hookset->bpf_obj_end - hookset->bpf_obj), &core) == 0) {
		ps_debug_phase("CO-RE types found");
		err = open_and_load(opts, plan, hookset, sites, core.path, probes, &refused);
		if (!refused) {
			ps_core_btf_close(&core);
			return err;
		}
		ps_debug("CO-RE types: dropping %s, retrying with the kernel's whole BTF", core.entry);
		ps_core_btf_forget(&core);
		close_objects(probes);
	}
	return open_and_load(opts, plan, hookset, sites, NULL, probes, &refused);
}

/*
 * A plan of no file (watch_only): every hook's program is loaded, so that a
 * program found later that would be configured alike shares them
 * (ps_probes_attach_copy), and no uprobe is attached; the tracepoints are
 * (the thread-exit cleanup of the maps those copies write to).
 */
static int load_unattached(const struct ps_options *opts, const struct ps_plan *plan,
			   const struct ps_hookset_desc *hookset, struct ps_probes *probes)
{
	long *none = malloc((hookset->n_hooks ? hookset->n_hooks : 1) * sizeof(*none));
	int err;

	if (!none)
		return -ENOMEM;
	for (uint32_t i = 0; i < hookset->n_hooks; i++) {
		probes->sites[i] = 0;
		none[i] = -1;
	}
	err = load_with_core_types(opts, plan, hookset, probes->sites, probes);
	ps_debug_phase("BPF object loaded, no file to attach it to yet");
	if (!err)
		err = attach_all(opts, plan, hookset, none, probes, probes, true, NULL);
	free(none);
	return err;
}

int ps_probes_start(const struct ps_options *opts, const struct ps_plan *plan, struct ps_probes *probes)
{
	const struct ps_hookset_desc *hookset = &opts->module->hooksets[plan->hookset];
	/* Where each hook goes, found before loading so absent symbols load nothing. */
	long *sites = calloc(hookset->n_hooks ? hookset->n_hooks : 1, sizeof(*sites));
	struct ps_maps_ahead *ahead = probes->ahead;   /* made ahead by the caller, if at all */
	int err;

	memset(probes, 0, sizeof(*probes));
	probes->ahead = ahead;
	probes->events_fd = probes->loss_fd = probes->stopped_fd = -1;
	probes->hookset = plan->hookset;
	probes->sites = sites;
	if (!sites)
		return -ENOMEM;
	if (plan->watch_only)
		return load_unattached(opts, plan, hookset, probes);
	err = ps_hook_sites(opts, plan, hookset, sites, &probes->n_missing);
	ps_debug_phase("hook sites found");
	if (!err)
		err = load_with_core_types(opts, plan, hookset, sites, probes);
	ps_debug_phase("BPF object loaded");
	if (!err)
		err = attach_all(opts, plan, hookset, sites, probes, probes, true, NULL);
	ps_debug_phase("probes attached");
	return err;
}

/* Whether the primary's loaded programs are what an object configured for the copy would load. */
static bool same_programs(const struct ps_options *opts, const struct ps_plan *plan,
			  const struct ps_hookset_desc *hookset, const long *sites, const struct ps_probes *primary)
{
	struct bpf_object *obj = NULL;
	bool same = plan->hookset == primary->hookset && primary->sites && primary->obj;

	for (uint32_t i = 0; same && i < hookset->n_hooks; i++)
		same = (sites[i] < 0) == (primary->sites[i] < 0);
	if (same)
		same = open_object(opts, hookset, NULL, &obj) == 0 && disable_absent_hooks(obj, hookset, sites) == 0 &&
		       write_config(opts, plan, obj) == 0 && ps_link_write(opts, plan, hookset, sites, obj) == 0 &&
		       ps_rodata_equal(obj, primary->obj);
	bpf_object__close(obj);
	return same;
}

int ps_probes_attach_copy(const struct ps_options *opts, const struct ps_plan *plan, const struct ps_probes *primary,
			  const bool *attach_target, struct ps_probes *copy)
{
	const struct ps_hookset_desc *hookset = &opts->module->hooksets[plan->hookset];
	const struct ps_hookset_desc *primary_hookset = &opts->module->hooksets[primary->hookset];
	int err;

	memset(copy, 0, sizeof(*copy));
	copy->events_fd = copy->loss_fd = copy->stopped_fd = -1;
	copy->hookset = plan->hookset;
	copy->share_from = primary;
	copy->sites = calloc(hookset->n_hooks ? hookset->n_hooks : 1, sizeof(*copy->sites));
	if (!copy->sites)
		return -ENOMEM;
	err = ps_hook_sites(opts, plan, hookset, copy->sites, &copy->n_missing);
	if (err)
		return err;
	if (same_programs(opts, plan, hookset, copy->sites, primary)) {
		ps_debug("%s: %s: the attached programs serve it", opts->module->name, plan->targets[0].path);
		return attach_all(opts, plan, hookset, copy->sites, primary, copy, false, attach_target);
	}
	ps_debug("%s: %s: an object of its own (hook set '%s')", opts->module->name, plan->targets[0].path,
		 hookset->name);
	err = load_with_core_types(opts, plan, hookset, copy->sites, copy);
	if (!err)
		err = attach_all(opts, plan, hookset, copy->sites, copy, copy, !primary_hookset->track_socket,
				 attach_target);
	return err;
}

void ps_probes_detach(struct ps_probes *probes)
{
	ps_links_teardown(probes->links, probes->n_links, probes->link_fds, probes->n_link_fds);
	free(probes->links);
	probes->links = NULL;
	probes->n_links = 0;
	free(probes->link_fds);
	probes->link_fds = NULL;
	probes->n_link_fds = 0;
}

struct ps_ring_reader *ps_probes_take_reader(struct ps_probes *probes)
{
	struct ps_ring_reader *reader = probes->ring_made_ahead ? ps_maps_ahead_take_reader(probes->ahead) : NULL;

	return reader ? reader : ps_ring_reader_new(probes->events_fd);
}

void ps_probes_destroy(struct ps_probes *probes)
{
	ps_probes_detach(probes);
	close_objects(probes);
	free(probes->sites);
	probes->sites = NULL;
	ps_maps_ahead_free(probes->ahead);
	probes->ahead = NULL;
}

static uint64_t missed_runs(struct bpf_object *obj)
{
	struct bpf_program *prog;
	uint64_t missed = 0;

	if (!obj)
		return 0;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		memset(&info, 0, sizeof(info));
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			missed += info.recursion_misses;
	}
	return missed;
}

uint64_t ps_probes_missed_runs(const struct ps_probes *probes)
{
	return missed_runs(probes->obj) + missed_runs(probes->twin);
}

int ps_probes_read_loss(const struct ps_probes *probes, uint64_t loss[PS_LOSS_KINDS])
{
	int n_cpus = libbpf_num_possible_cpus();
	uint64_t *per_cpu;

	if (n_cpus <= 0)
		return -EINVAL;
	per_cpu = calloc((size_t)n_cpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	for (uint32_t kind = 0; kind < PS_LOSS_KINDS; kind++) {
		loss[kind] = 0;
		if (bpf_map_lookup_elem(probes->loss_fd, &kind, per_cpu))
			continue;
		for (int cpu = 0; cpu < n_cpus; cpu++)
			loss[kind] += per_cpu[cpu];
	}
	free(per_cpu);
	return 0;
}

static bool process_gone(uint32_t pid)
{
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/*
 * Linux's PID_MAX_LIMIT (include/linux/threads.h): a C hook's slot is keyed
 * by a tid, never above it; a Go hook's by a goroutine's address, above it.
 */
#define PID_MAX_LIMIT (4 * 1024 * 1024)

/*
 * The slot's call can never return: its process is gone, or (C) its thread,
 * ended by an exec or exit on another thread while the process goes on.
 */
static bool call_gone(const struct ps_saved_key *key)
{
	char task[64];

	if (process_gone(key->tgid))
		return true;
	if (key->thread > PID_MAX_LIMIT)
		return false;
	snprintf(task, sizeof(task), "/proc/%u/task/%llu", key->tgid, (unsigned long long)key->thread);
	return access(task, F_OK) != 0 && errno == ENOENT;
}

/*
 * Removes from the ps_saved map of obj the entries of calls gone, and
 * from ps_incall those of threads gone; returns the ps_saved entries removed.
 * The next key is taken before an entry is removed: the walk goes on from it.
 */
static uint64_t sweep_gone(const struct bpf_object *obj)
{
	int saved_fd = obj ? bpf_object__find_map_fd_by_name(obj, "ps_saved") : -1;
	int incall_fd = obj ? bpf_object__find_map_fd_by_name(obj, "ps_incall") : -1;
	struct ps_saved_key key, next;
	uint32_t tid, next_tid;
	uint64_t removed = 0;
	bool more;

	more = saved_fd >= 0 && bpf_map_get_next_key(saved_fd, NULL, &key) == 0;
	while (more) {
		more = bpf_map_get_next_key(saved_fd, &key, &next) == 0;
		if (call_gone(&key) && bpf_map_delete_elem(saved_fd, &key) == 0)
			removed++;
		key = next;
	}
	more = incall_fd >= 0 && bpf_map_get_next_key(incall_fd, NULL, &tid) == 0;
	while (more) {
		more = bpf_map_get_next_key(incall_fd, &tid, &next_tid) == 0;
		if (process_gone(tid))
			bpf_map_delete_elem(incall_fd, &tid);
		tid = next_tid;
	}
	return removed;
}

uint64_t ps_probes_sweep_gone(const struct ps_probes *probes)
{
	return sweep_gone(probes->obj) + sweep_gone(probes->twin);
}

static bool same_map(int fd_a, int fd_b)
{
	struct bpf_map_info a = { 0 }, b = { 0 };
	uint32_t len_a = sizeof(a), len_b = sizeof(b);

	return bpf_obj_get_info_by_fd(fd_a, &a, &len_a) == 0 && bpf_obj_get_info_by_fd(fd_b, &b, &len_b) == 0 &&
	       a.id == b.id;
}

/* Removes every entry of the ps_saved map of obj; returns how many. */
static uint64_t remove_all_saved(int saved_fd)
{
	struct ps_saved_key key, next;
	uint64_t removed = 0;
	bool more = bpf_map_get_next_key(saved_fd, NULL, &key) == 0;

	while (more) {
		more = bpf_map_get_next_key(saved_fd, &key, &next) == 0;
		if (bpf_map_delete_elem(saved_fd, &key) == 0)
			removed++;
		key = next;
	}
	return removed;
}

uint64_t ps_probes_release_leftovers(const struct ps_probes *copy)
{
	int saved_fd = copy->obj ? bpf_object__find_map_fd_by_name(copy->obj, "ps_saved") : -1;
	int primary_fd = copy->share_from && copy->share_from->obj ?
			 bpf_object__find_map_fd_by_name(copy->share_from->obj, "ps_saved") : -1;

	if (saved_fd < 0 || (primary_fd >= 0 && same_map(saved_fd, primary_fd)))
		return 0;
	return remove_all_saved(saved_fd);
}
