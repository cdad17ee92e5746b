/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "meminfo.h"

uint64_t ps_mem_available_kib(void)
{
	unsigned long long kib = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}
