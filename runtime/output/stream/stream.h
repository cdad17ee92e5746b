/* SPDX-License-Identifier: MIT */
/*
 * The live outputs, besides the writer: --ecaptureq (ws_server.h), the
 * records to --eventaddr and the log lines to --logaddr (line_sink.h). They
 * open before the probes attach, so that a bad address costs nothing and
 * the log lines from the start are kept for eCaptureQ's late clients; they
 * close after the summary.
 */
#ifndef PS_STREAM_H
#define PS_STREAM_H

#include <stdbool.h>
#include <stdio.h>
#include "cli.h"
#include "record.h"

struct ps_line_sink;

struct ps_stream;

/* *out NULL when none was asked for; 0, or a negative errno after one error line. */
int ps_stream_open(const struct ps_options *opts, struct ps_stream **out);
/* --eventaddr's stdio stream, for the writer (ps_writer_open_stream); NULL: none. */
FILE *ps_stream_events(struct ps_stream *s);
/* --eventaddr's sink itself, for -m pcapng (pcapng_output.h); NULL: none. */
struct ps_line_sink *ps_stream_event_sink(struct ps_stream *s);
/* Whether --ecaptureq serves: pcapng mode then decrypts its packets for it (capture.c). */
bool ps_stream_wants_records(const struct ps_stream *s);
/* A record to eCaptureQ's clients, as one Event; nothing without --ecaptureq. */
void ps_stream_record(struct ps_stream *s, const struct ps_record *rec);
/* "; ecaptureq: ..." for the status line. */
void ps_stream_status(struct ps_stream *s, FILE *f);
/* Drains and stops them, then one summary line each. NULL is fine. */
void ps_stream_close(struct ps_stream *s);

#endif
