/* SPDX-License-Identifier: MIT */
/* The capabilities plainsight runs with: root is not needed, these are (README.md, "Without root"). */
#ifndef PS_CAPS_H
#define PS_CAPS_H

#include <stdbool.h>

/* Capability numbers (linux/capability.h); CAP_PERFMON and CAP_BPF are from Linux 5.8. */
enum ps_cap {
	PS_CAP_DAC_READ_SEARCH = 2,
	PS_CAP_SYS_PTRACE = 19,
	PS_CAP_SYS_ADMIN = 21,
	PS_CAP_PERFMON = 38,
	PS_CAP_BPF = 39,
};

/* Whether the effective set holds cap (read from /proc/self/status; true when it cannot be read). */
bool ps_cap_effective(enum ps_cap cap);

#endif
