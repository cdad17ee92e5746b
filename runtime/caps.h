/* SPDX-License-Identifier: MIT */
/* The capabilities plainsight runs with: root is not needed, these are (README.md, "Without root"). */
#ifndef PS_CAPS_H
#define PS_CAPS_H

#include <stdbool.h>
#include <stdint.h>

/* Capability numbers (linux/capability.h); CAP_PERFMON and CAP_BPF are from Linux 5.8. */
enum ps_cap {
	PS_CAP_DAC_READ_SEARCH = 2,
	PS_CAP_SYS_PTRACE = 19,
	PS_CAP_SYS_ADMIN = 21,
	PS_CAP_PERFMON = 38,
	PS_CAP_BPF = 39,
};

#define PS_CAP_BIT(cap) (1ull << (cap))

/* Whether the effective set holds cap (read from /proc/self/status; true when it cannot be read). */
bool ps_cap_effective(enum ps_cap cap);

/*
 * Keeps of the calling thread's capabilities only those in keep: the
 * others leave the effective, permitted, inheritable and bounding sets, the
 * ambient set is emptied, and no_new_privs is set, so that nothing the thread
 * executes can gain any back. Capabilities are per thread: threads started
 * before keep theirs. Returns 0 or a negative errno.
 */
int ps_caps_keep_only(uint64_t keep);

/*
 * Whether a bpf(2) command on an object already made (fd: a map) still works
 * with only keep effective: before Linux 6.5, kernel.unprivileged_bpf_disabled
 * refused every command to a thread without CAP_BPF. The effective set is
 * restored afterwards.
 */
bool ps_caps_bpf_usable_with(uint64_t keep, int fd);

#endif
