/* SPDX-License-Identifier: MIT */
/* How much memory the machine can spare: buffers sized from it. */
#ifndef PS_SYSMEM_H
#define PS_SYSMEM_H

#include <stdint.h>

/* /proc/meminfo's MemAvailable in KiB; 0 when it cannot be read. */
uint64_t ps_mem_available_kib(void);

#endif
