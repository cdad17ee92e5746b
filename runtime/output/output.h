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
	bool secrets;               /* text, json: secrets records too (keylog mode: only them) */
	bool raw;                   /* --raw: data records as captured, no HTTP messages (runtime/http) */
	uint64_t tsize;             /* -t: decoded body bytes shown per HTTP message; 0: all */
};

struct ps_writer;
struct ps_outfile;

/*
 * Writes to a file ps_outfile_open opened (outfile.h), and takes its
 * descriptor. NULL and errno set on failure; the file stays the caller's.
 */
struct ps_writer *ps_writer_open(struct ps_outfile *file, const struct ps_output_opts *opts);

/*
 * Writes to stream (--eventaddr: line_sink.h), which it takes; each record
 * flushed as written. NULL and errno set on failure (stream still the caller's).
 */
struct ps_writer *ps_writer_open_stream(FILE *stream, const struct ps_output_opts *opts);

/*
 * Writes one record; a negative errno when the output failed (disk full, ...).
 * Keylog mode takes none: secrets go through ps_writer_secrets.
 */
int ps_writer_record(struct ps_writer *w, const struct ps_record *rec);

struct ps_secrets;

/*
 * A connection's secrets not delivered before (keylog.h), from the secrets
 * record rec: key log lines in keylog mode, else one record of them when
 * opts.secrets, else nothing. 1 when written, 0 when not, or a negative errno.
 */
int ps_writer_secrets(struct ps_writer *w, const struct ps_record *rec, const struct ps_secrets *secrets);

/* json: a final {"summary": {...}} line; text: nothing (the summary goes to stderr). */
int ps_writer_summary(struct ps_writer *w, const struct ps_counters *counters);

struct ps_notice;
/* json: a {"notice": "unreachable", ...} line (reach.h); other modes: nothing. */
int ps_writer_notice(struct ps_writer *w, const struct ps_notice *notice);
struct ps_attachment;
/* json: a {"notice": "attached", ...} line (copies.h): one more copy of the target probed; other modes: nothing. */
int ps_writer_attachment(struct ps_writer *w, const struct ps_attachment *attachment);

/* Flushes and closes; a negative errno when the last bytes could not be written. */
int ps_writer_close(struct ps_writer *w);

/* Records a failed file writer had taken, and the caller counted as written, that never reached the file. */
struct ps_unwritten {
	uint64_t records;
	uint64_t data_bytes;
	bool unknown;       /* too many to keep track of (no memory): some may be among the written */
};

/* ps_writer_close, and when the output failed, what of it did not reach the file. */
int ps_writer_close_counted(struct ps_writer *w, struct ps_unwritten *unwritten);

/* Format helpers, shared by the writers and tested on their own. */
/*
 * Data as lines that each start with prefix: printable ASCII and tab as they
 * are, the backslash as two, any other byte as \xNN; a newline in the data
 * ends a line, so data ending in one ends with an empty line (prefix only).
 */
void ps_format_escaped_lines(FILE *f, const char *prefix, const uint8_t *data, size_t len);
/* The same within a line begun by the caller: prefix only after each newline, none at the ends. */
void ps_format_escaped_run(FILE *f, const char *prefix, const uint8_t *data, size_t len);
/* `hexdump -C` lines, each starting with prefix. */
void ps_format_hexdump(FILE *f, const char *prefix, const uint8_t *data, size_t len);
/* The same, its offsets counted from base: a piece of a call's data. */
void ps_format_hexdump_at(FILE *f, const char *prefix, const uint8_t *data, size_t len, uint64_t base);
/*
 * A record's data in call order: write_piece for each run of bytes that
 * arrived (call_offset: where it starts in the call), ps_format_gap_marker
 * for each gap: inline when marker_line_prefix is NULL, else on a line of
 * its own that starts with it.
 */
typedef void (*ps_piece_fn)(FILE *f, const uint8_t *data, size_t len, uint64_t call_offset);
void ps_format_with_gaps(FILE *f, const struct ps_record *rec, ps_piece_fn write_piece, const char *marker_line_prefix);
void ps_format_gap_marker(FILE *f, const struct ps_gap *gap);
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

struct ps_http_chunk;
/*
 * A record of a stream's bytes (fd, dir, conn and a bytes payload, as every
 * TLS module's data event) as the HTTP processor takes it; false for others.
 */
bool ps_output_record_chunk(const struct ps_record *rec, struct ps_http_chunk *chunk);

/* The per-mode writers behind ps_writer_record and ps_writer_summary. */
void ps_output_text_record(FILE *f, const struct ps_output_opts *opts, const struct ps_record *rec);
void ps_output_json_record(FILE *f, const struct ps_record *rec);
void ps_output_json_summary(FILE *f, const struct ps_counters *counters);
void ps_output_json_notice(FILE *f, const struct ps_notice *notice);
void ps_output_json_attachment(FILE *f, const struct ps_attachment *attachment);

#endif
