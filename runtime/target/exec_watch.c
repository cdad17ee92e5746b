/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "core_btf.h"
#include "elf_file.h"
#include "exec_watch.h"
#include "log.h"

/* exec_watch.embed.S */
extern const unsigned char ps_bpf_exec_watch[], ps_bpf_exec_watch_end[];

/* The dynamic loader of this machine's x86-64 programs. */
#define DYNAMIC_LOADER "/lib64/ld-linux-x86-64.so.2"

struct ps_exec_watch {
	struct bpf_object *obj;
	struct bpf_link *link;
	struct bpf_link *loader_link;   /* NULL: no uprobe in the dynamic loader, only the timed looks */
	struct bpf_link *exit_link;     /* NULL: no exit events (copies are then released at the end only) */
	int exit_watched_fd;
	int ring_fd;
	int lost_fd;
};

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

/* core_btf_path: the kernel types for CO-RE; NULL: libbpf reads the kernel's own. */
static int load(struct ps_exec_watch *watch, const char *core_btf_path)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "exec_watch", .btf_custom_path = core_btf_path);

	watch->obj = bpf_object__open_mem(ps_bpf_exec_watch, (size_t)(ps_bpf_exec_watch_end - ps_bpf_exec_watch),
					  &open_opts);
	if (!watch->obj)
		return -errno;
	return bpf_object__load(watch->obj);
}

/* As probes.c does: the cached minimal kernel types first, the kernel's whole BTF when they fail. */
static int load_with_core_types(struct ps_exec_watch *watch, const char *btf_cache_dir)
{
	struct ps_core_btf core;
	int err;

	if (ps_core_btf_get(btf_cache_dir, "exec_watch", ps_bpf_exec_watch,
			    (size_t)(ps_bpf_exec_watch_end - ps_bpf_exec_watch), &core) == 0) {
		err = load(watch, core.path);
		if (!err) {
			ps_core_btf_close(&core);
			return 0;
		}
		ps_debug("CO-RE types: dropping %s, retrying with the kernel's whole BTF", core.entry);
		ps_core_btf_forget(&core);
		bpf_object__close(watch->obj);
		watch->obj = NULL;
	}
	return load(watch, NULL);
}

/* Optional: without it, reach.c's timed looks still find the libraries of all but the shortest programs. */
static void attach_loader(struct ps_exec_watch *watch)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(watch->obj, "ps_libraries_mapped");
	struct ps_elf *elf = ps_elf_open(DYNAMIC_LOADER);
	long offset = elf ? ps_elf_symbol_offset(elf, "_dl_debug_state") : -ENOENT;

	ps_elf_close(elf);
	if (!prog || offset < 0) {
		ps_debug("no uprobe on %s's _dl_debug_state: %s", DYNAMIC_LOADER, strerror(prog ? (int)-offset : ENOENT));
		return;
	}
	watch->loader_link = bpf_program__attach_uprobe(prog, false, -1, DYNAMIC_LOADER, (size_t)offset);
	if (!watch->loader_link)
		ps_debug("no uprobe on %s's _dl_debug_state: %s", DYNAMIC_LOADER, strerror(errno));
}

static int load_and_attach(struct ps_exec_watch *watch, const char *btf_cache_dir)
{
	struct bpf_program *prog;
	int err = load_with_core_types(watch, btf_cache_dir);

	if (err)
		return err;
	prog = bpf_object__find_program_by_name(watch->obj, "ps_exec");
	if (!prog)
		return -ENOENT;
	watch->link = bpf_program__attach(prog);
	if (!watch->link)
		return -errno;
	attach_loader(watch);
	prog = bpf_object__find_program_by_name(watch->obj, "ps_exit");
	watch->exit_link = prog ? bpf_program__attach(prog) : NULL;
	if (!watch->exit_link)
		ps_debug("no exit events (raw tracepoint sched_process_exit): %s", strerror(prog ? errno : ENOENT));
	watch->exit_watched_fd = map_fd(watch->obj, "ps_exit_watched");
	watch->ring_fd = map_fd(watch->obj, "ps_exec_events");
	watch->lost_fd = map_fd(watch->obj, "ps_exec_lost");
	return watch->ring_fd < 0 ? watch->ring_fd : watch->lost_fd < 0 ? watch->lost_fd : 0;
}

struct ps_exec_watch *ps_exec_watch_start(const char *btf_cache_dir)
{
	struct ps_exec_watch *watch = calloc(1, sizeof(*watch));
	int err;

	if (!watch) {
		ps_warn("cannot watch execs: %s", strerror(ENOMEM));
		return NULL;
	}
	err = load_and_attach(watch, btf_cache_dir);
	if (err) {
		ps_warn("cannot watch execs (raw tracepoint sched_process_exec): %s; "
			"programs started from now on are not checked for what is out of reach", strerror(-err));
		ps_exec_watch_stop(watch);
		return NULL;
	}
	return watch;
}

void ps_exec_watch_detach(struct ps_exec_watch *watch)
{
	bpf_link__destroy(watch->link);
	bpf_link__destroy(watch->loader_link);
	bpf_link__destroy(watch->exit_link);
	watch->link = watch->loader_link = watch->exit_link = NULL;
}

int ps_exec_watch_exit_of(struct ps_exec_watch *watch, uint32_t pid)
{
	uint8_t one = 1;

	if (!watch || !watch->exit_link)
		return -ENOTSUP;
	return bpf_map_update_elem(watch->exit_watched_fd, &pid, &one, BPF_ANY) ? -errno : 0;
}

void ps_exec_watch_stop(struct ps_exec_watch *watch)
{
	if (!watch)
		return;
	bpf_link__destroy(watch->link);
	bpf_link__destroy(watch->loader_link);
	bpf_link__destroy(watch->exit_link);
	bpf_object__close(watch->obj);
	free(watch);
}

int ps_exec_watch_ring_fd(const struct ps_exec_watch *watch)
{
	return watch->ring_fd;
}

uint64_t ps_exec_watch_lost(const struct ps_exec_watch *watch)
{
	uint32_t zero = 0;
	uint64_t lost = 0;

	if (bpf_map_lookup_elem(watch->lost_fd, &zero, &lost) != 0)
		return 0;
	return lost;
}
