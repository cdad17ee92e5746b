/* SPDX-License-Identifier: MIT */
/*
 * Opening the files a run writes (-w, -k). They hold plaintext and keys, so
 * each is made private before a byte goes in, and a path that someone else
 * could have prepared (a symbolic link, a file of another user) is refused.
 * All of them are opened before the probes attach: a bad path costs nothing,
 * and a run that fails before capture leaves no file it created behind.
 */
#ifndef PS_OUTFILE_H
#define PS_OUTFILE_H

#include <stdbool.h>
#include "cli.h"

struct ps_stream;

struct ps_outfile {
	const char *path;           /* NULL: stdout */
	int fd;                     /* -1: not open */
	bool created;               /* this run created the file */
	bool regular;               /* a regular file: emptied when writing starts */
};

/*
 * Opens path for writing (NULL: a duplicate of stdout), creating it with mode
 * 0600 or making an existing file of ours 0600; its old content stays until
 * ps_outfile_begin. 0, or a negative errno after one error line.
 */
int ps_outfile_open(struct ps_outfile *file, const char *path);

/* Writing starts: a regular file loses its old content. 0 or a negative errno. */
int ps_outfile_begin(struct ps_outfile *file);

/* The run failed before writing: closes, and removes the file if this run created it. */
void ps_outfile_discard(struct ps_outfile *file);

/* Every file one run writes: the records (-w or stdout) and the key log (-k). */
struct ps_outfiles {
	struct ps_outfile records;
	struct ps_outfile keylog;   /* fd -1 without -k */
	struct ps_stream *stream;   /* --ecaptureq, --eventaddr, --logaddr (stream.h); NULL: none; not owned */
};

/* Opens them all, or none: on failure, what was opened is discarded. */
int ps_outfiles_open(const struct ps_options *opts, struct ps_outfiles *files);
void ps_outfiles_discard(struct ps_outfiles *files);

#endif
