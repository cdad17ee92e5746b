/* SPDX-License-Identifier: MIT */
/* The files a process maps as code, from /proc/PID/maps: the one reader of that file. */
#ifndef PS_PROC_MAPS_H
#define PS_PROC_MAPS_H

#include <stdint.h>
#include <sys/types.h>

struct ps_code_map {
	dev_t dev;
	ino_t ino;
	const char *path;   /* as the process's maps name it (from our root); valid during the call */
};

typedef int (*ps_code_map_fn)(const struct ps_code_map *map, void *arg);

/*
 * Calls fn for each file pid maps executable, in the order of its maps
 * (a library's code is one line among its others), until fn returns
 * non-zero, which is returned. Only code counts: a file mapped to be read
 * (plainsight reading an ELF file) is not in use. -errno when the maps
 * cannot be read; a process gone while being read shows none.
 */
int ps_proc_code_maps(uint32_t pid, ps_code_map_fn fn, void *arg);

#endif
