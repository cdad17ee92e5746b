/* SPDX-License-Identifier: MIT */
/*
 * Uprobes as multi links (BPF_TRACE_UPROBE_MULTI, Linux 6.6), beside
 * libbpf's perf-event uprobes. A perf-event uprobe is let go of under the
 * kernel's event_mutex, with several RCU grace periods waited inside it:
 * the tls module's 12 took 1.2-2 s to detach at every Ctrl-C here, one
 * after the other. A multi link waits its grace periods without that lock,
 * so links closed on several threads wait on the same ones; and one link
 * carries every offset of a program (a Go function's RETs). The program
 * must be loaded for it (ps_uprobe_multi_prepare). bookworm's libbpf (1.1)
 * and kernel headers (6.1) know nothing of it: the attribute layout below is
 * the kernel's (include/uapi/linux/bpf.h, union bpf_attr.link_create).
 */
#ifndef PS_UPROBE_MULTI_H
#define PS_UPROBE_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct bpf_object;

/* Whether the running kernel has multi uprobe links (6.6 and later). */
bool ps_uprobe_multi_supported(void);

/* Marks every uprobe and uretprobe program of obj (not yet loaded) for multi links. */
void ps_uprobe_multi_prepare(struct bpf_object *obj);

/*
 * Attaches prog_fd (prepared) at offsets[0..n) of path, at the function's
 * return if retprobe, in process pid only if pid > 0. The link's fd, or -errno.
 */
int ps_uprobe_multi_attach(int prog_fd, const char *path, const unsigned long *offsets, size_t n, bool retprobe,
			   pid_t pid);

#endif
