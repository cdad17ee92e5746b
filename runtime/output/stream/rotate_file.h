/* SPDX-License-Identifier: MIT */
/*
 * --eventaddr FILE with --eventroratesize MB and --eventroratetime S: lines
 * into FILE until it would pass the size, or S seconds after its first line; then
 * FILE becomes FILE.1 (FILE.2, ... the next times) and a new FILE starts.
 * Rotation happens between lines (or pcapng batches), never inside one; the
 * time limit is also checked with no line coming (ps_rotate_file_tick), so an
 * idle file is closed on time.
 *
 * A preamble (pcapng's section, interface and secrets blocks) starts every
 * file, so that each file read alone is whole; it does not make a file
 * count as written to: a file with the preamble alone is not rotated.
 */
#ifndef PS_ROTATE_FILE_H
#define PS_ROTATE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The bytes every new file starts with; 0 or a negative errno. NULL: none. */
typedef int (*ps_rotate_preamble_fn)(void *arg, int fd, uint64_t *written);

struct ps_rotate_file {
	const char *path;
	int fd;
	uint64_t size;              /* bytes in the current file */
	uint64_t preamble_size;     /* of them, the preamble's */
	uint64_t opened_ns;         /* CLOCK_MONOTONIC: its first line (its opening until then) */
	uint64_t max_bytes, max_ns; /* 0: no limit */
	uint64_t rotations;
	ps_rotate_preamble_fn preamble;
	void *preamble_arg;
};

/* Opens path as -w does (outfile.h); 0, or a negative errno after one error line. */
int ps_rotate_file_open(struct ps_rotate_file *f, const char *path, uint64_t max_bytes, uint64_t max_ns);
/* From now on, each file starts with what fn writes (the current one too, if nothing is in it yet). */
int ps_rotate_file_set_preamble(struct ps_rotate_file *f, ps_rotate_preamble_fn fn, void *arg);
/* One whole line (or lines); 0 or a negative errno. */
int ps_rotate_file_write(struct ps_rotate_file *f, const uint8_t *data, size_t len);
/* Rotates when the time limit has passed and the file holds something; 0 or a negative errno. */
int ps_rotate_file_tick(struct ps_rotate_file *f);
/* Nanoseconds until the time limit is due; UINT64_MAX: none (no limit, or nothing in the file). */
uint64_t ps_rotate_file_due_in_ns(const struct ps_rotate_file *f);
void ps_rotate_file_close(struct ps_rotate_file *f);

#endif
