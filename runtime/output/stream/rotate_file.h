/* SPDX-License-Identifier: MIT */
/*
 * --eventaddr FILE with --eventroratesize MB and --eventroratetime S: lines
 * into FILE until it would pass the size, or has been open that long; then
 * FILE becomes FILE.1 (FILE.2, ... the next times) and a new FILE starts.
 * Rotation happens between lines, never inside one.
 */
#ifndef PS_ROTATE_FILE_H
#define PS_ROTATE_FILE_H

#include <stddef.h>
#include <stdint.h>

struct ps_rotate_file {
	const char *path;
	int fd;
	uint64_t size;              /* bytes in the current file */
	uint64_t opened_ns;         /* CLOCK_MONOTONIC */
	uint64_t max_bytes, max_ns; /* 0: no limit */
	uint64_t rotations;
};

/* Opens path as -w does (outfile.h); 0, or a negative errno after one error line. */
int ps_rotate_file_open(struct ps_rotate_file *f, const char *path, uint64_t max_bytes, uint64_t max_ns);
/* One whole line (or lines); 0 or a negative errno. */
int ps_rotate_file_write(struct ps_rotate_file *f, const uint8_t *data, size_t len);
void ps_rotate_file_close(struct ps_rotate_file *f);

#endif
