/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include "caps.h"

bool ps_cap_effective(enum ps_cap cap)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned long long caps = ~0ull;
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	if (f)
		fclose(f);
	return caps & (1ull << cap);
}
