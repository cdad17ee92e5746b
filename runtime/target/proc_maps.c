/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "proc_maps.h"

/* "start-end perms offset major:minor inode path"; anonymous and pseudo mappings have inode 0 and no '/'. */
static bool parse_code_line(char *line, struct ps_code_map *map)
{
	unsigned int major, minor;
	unsigned long long inode;
	char perms[8];
	int path_at = 0;

	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%*s %7s %*s %x:%x %llu %n", perms, &major, &minor, &inode, &path_at) < 4 || !path_at ||
	    !inode || line[path_at] != '/' || perms[2] != 'x')
		return false;
	*map = (struct ps_code_map){ makedev(major, minor), (ino_t)inode, line + path_at };
	return true;
}

int ps_proc_code_maps(uint32_t pid, ps_code_map_fn fn, void *arg)
{
	char maps[64], *line = NULL;
	struct ps_code_map map;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (!ret && getline(&line, &cap, f) > 0)
		if (parse_code_line(line, &map))
			ret = fn(&map, arg);
	free(line);
	fclose(f);
	return ret;
}
