/* SPDX-License-Identifier: MIT */
/* The kernel types a BPF object's CO-RE relocations need, cached on disk. */
#ifndef PS_CORE_BTF_H
#define PS_CORE_BTF_H

#include <stddef.h>

#define PS_CORE_BTF_DEFAULT_DIR "/var/cache/plainsight"

struct ps_core_btf {
	int fd;                     /* memfd holding the verified BTF; -1: none */
	char path[64];              /* what libbpf opens: /proc/self/fd/N */
	char entry[4096];           /* the cache file it came from */
};

/*
 * Finds, or builds with `bpftool gen min_core_btf`, the minimal BTF of the
 * running kernel for the object obj[0..size) (named name) in cache_dir.
 * Returns 0 with core->path set, or a negative errno when libbpf must read
 * the kernel's whole BTF instead (says why with -d).
 */
int ps_core_btf_get(const char *cache_dir, const char *name, const void *obj, size_t size,
		    struct ps_core_btf *core);

/* libbpf refused it: removes the cache entry, so the next start rebuilds it. */
void ps_core_btf_forget(struct ps_core_btf *core);

void ps_core_btf_close(struct ps_core_btf *core);

#endif
