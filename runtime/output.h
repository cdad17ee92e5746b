/* SPDX-License-Identifier: MIT */
/* Writers: how records leave plainsight (text, json). */
#ifndef PS_OUTPUT_H
#define PS_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "record.h"

enum ps_output_mode {
	PS_OUTPUT_TEXT,
	PS_OUTPUT_JSON,
	PS_OUTPUT_KEYLOG,           /* SSLKEYLOGFILE lines from secrets events (keylog.h) */
	PS_OUTPUT_PCAPNG,           /* packets and secrets in one file (pcapng_output.h) */
};

struct ps_output_opts {
	enum ps_output_mode mode;
	bool hex;                   /* text: hex dump instead of escaped text */
};

struct ps_writer;
struct ps_outfile;

/*
 * Writes to a file ps_outfile_open opened (outfile.h), and takes its
 * descriptor. NULL and errno set on failure; the file stays the caller's.
 */
struct ps_writer *ps_writer_open(struct ps_outfile *file, const struct ps_output_opts *opts);

/* Writes one record; a negative errno when the output failed (disk full, ...). */
int ps_writer_record(struct ps_writer *w, const struct ps_record *rec);

/* json: a final {"summary": {...}} line; text: nothing (the summary goes to stderr). */
int ps_writer_summary(struct ps_writer *w, const struct ps_counters *counters);

/* Flushes and closes; a negative errno when the last bytes could not be written. */
int ps_writer_close(struct ps_writer *w);

/* Format helpers, shared by the writers and tested on their own. */
/*
 * Data as lines that each start with prefix: printable ASCII and tab as they
 * are, the backslash as two, any other byte as \xNN; a newline in the data
 * ends a line, so data ending in one ends with an empty line (prefix only).
 */
void ps_format_escaped_lines(FILE *f, const char *prefix, const uint8_t *data, size_t len);
/* `hexdump -C` lines, each starting with prefix. */
void ps_format_hexdump(FILE *f, const char *prefix, const uint8_t *data, size_t len);
void ps_format_base64(FILE *f, const uint8_t *data, size_t len);
void ps_format_hex(FILE *f, const uint8_t *data, size_t len);   /* lowercase, no spaces */
void ps_format_json_string(FILE *f, const uint8_t *data, size_t len);
bool ps_format_utf8_valid(const uint8_t *data, size_t len);
/*
 * The terminal's name as a user knows it: the kernel's line name "pts3" is
 * /dev/pts/3, so "pts/3"; "" when the process has no terminal.
 */
const char *ps_format_tty(const char tty[PS_TTY_LEN], char *buf, size_t size);
/* "127.0.0.1" or "::1" from a tuple address; buf holds at least 46 bytes. */
const char *ps_format_addr(const struct ps_tuple *t, const uint8_t addr[16], char *buf, size_t size);

/* The per-mode writers behind ps_writer_record and ps_writer_summary. */
void ps_output_text_record(FILE *f, const struct ps_output_opts *opts, const struct ps_record *rec);
void ps_output_json_record(FILE *f, const struct ps_record *rec);
void ps_output_json_summary(FILE *f, const struct ps_counters *counters);

#endif
