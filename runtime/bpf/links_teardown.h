/* SPDX-License-Identifier: MIT */
/*
 * Detaching many probes at once. Each multi uprobe link (uprobe_multi.h)
 * waits for RCU grace periods as it goes; links closed on threads of their
 * own at the same time wait on the same grace periods instead of one after
 * the other.
 */
#ifndef PS_LINKS_TEARDOWN_H
#define PS_LINKS_TEARDOWN_H

#include <stddef.h>

struct bpf_link;

/* Destroys links[0..n_links) and closes the link fds fds[0..n_fds), on up to 16 threads; returns when all are gone. */
void ps_links_teardown(struct bpf_link **links, size_t n_links, const int *fds, size_t n_fds);

#endif
