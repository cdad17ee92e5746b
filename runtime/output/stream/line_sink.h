/* SPDX-License-Identifier: MIT */
/*
 * --eventaddr and --logaddr: lines to a file (rotated), a TCP listener, or a
 * WebSocket server, sent by a thread of their own. The capture only queues
 * whole lines; when the bounded queue is full (the network is down, or
 * slower than the capture) a line is dropped and counted, never waited for.
 *
 * In binary mode (-m pcapng) a "line" is a batch of whole pcapng blocks, a
 * WebSocket message is binary, and a preamble (the section, interface and
 * secrets blocks) starts every file and every connection, so that each one
 * read alone is a whole capture.
 */
#ifndef PS_LINE_SINK_H
#define PS_LINE_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "stream_addr.h"

struct ps_line_sink_counters {
	uint64_t lines_sent;
	uint64_t lines_dropped;     /* queue full, connection broken mid-line, or still queued at the end */
	uint64_t connects;          /* tcp, ws: connections made (the first and each reconnection) */
	uint64_t rotations;         /* file: files rotated */
};

struct ps_line_sink;

/*
 * what names the option in messages ("--eventaddr"). A file is opened (and
 * a bad path reported) here; a connection is made by the thread. NULL after
 * one error line.
 */
struct ps_line_sink *ps_line_sink_open(const char *what, const struct ps_stream_addr *addr, uint64_t rotate_bytes,
				       uint64_t rotate_ns, bool binary);
/* A stdio stream onto the sink: every line written becomes one queued line. fclose leaves the sink open. */
FILE *ps_line_sink_stream(struct ps_line_sink *s);
/* One line, without its newline; safe from any thread. */
void ps_line_sink_line(struct ps_line_sink *s, const char *text, size_t len);
/* Binary mode: bytes sent as they are, in one piece (one file write, one message). */
void ps_line_sink_bytes(struct ps_line_sink *s, const uint8_t *data, size_t len);
/*
 * Binary mode: bytes added to the preamble. It grows (the secrets of the
 * whole run stay in it: a connection in a later file needs them); 0 or -ENOMEM.
 */
int ps_line_sink_preamble_add(struct ps_line_sink *s, const uint8_t *data, size_t len);
void ps_line_sink_counters(struct ps_line_sink *s, struct ps_line_sink_counters *out);
/* Sends what is queued (giving a broken connection a few seconds), stops, and says what it did. */
void ps_line_sink_close(struct ps_line_sink *s, struct ps_line_sink_counters *final);

#endif
