/* SPDX-License-Identifier: MIT */
/* How much memory the buffers may take: sized from what the machine has free. */
#ifndef PS_MEMINFO_H
#define PS_MEMINFO_H

#include <stdint.h>

/* MemAvailable from /proc/meminfo, in KiB; 0 when it cannot be read. */
uint64_t ps_mem_available_kib(void);

#endif
