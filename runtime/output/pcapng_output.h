/* SPDX-License-Identifier: MIT */
/*
 * -m pcapng: one file with the packets of the chosen interfaces and the TLS
 * secrets the probes found, in Decryption Secrets Blocks, so that Wireshark
 * and tshark decrypt it with no key file. Secrets are written before each
 * batch of packets: a packet that needs a secret comes after it in the file
 * (its connection's keys exist before its first encrypted byte is sent).
 */
#ifndef PS_PCAPNG_OUTPUT_H
#define PS_PCAPNG_OUTPUT_H

#include "cli.h"
#include "record.h"

struct ps_pcapng_output;
struct ps_outfile;
struct ps_line_sink;

/*
 * Opens the interfaces, writes the section and interface blocks to file
 * (taking its descriptor), or with sink (--eventaddr, line_sink.h) sends
 * every batch there instead, the section, interface and secrets blocks
 * becoming the preamble of each of its files and connections. 0, or a
 * negative errno after one error line.
 */
int ps_pcapng_output_open(struct ps_outfile *file, struct ps_line_sink *sink, const struct ps_options *opts,
			  struct ps_pcapng_output **out);

/* Each packet as it is captured, before it is held (--ecaptureq decrypts them: capture.c). */
typedef void (*ps_pcapng_packet_tap)(void *arg, int linktype, const uint8_t *frame, size_t len, uint64_t wall_ns);
void ps_pcapng_output_tap(struct ps_pcapng_output *out, ps_pcapng_packet_tap tap, void *arg);

/* Secrets records give key log lines for the next batch; other records are not for this file. */
int ps_pcapng_output_record(struct ps_pcapng_output *out, const struct ps_record *rec);

/*
 * Waits up to timeout_ms for packets or for other_fd (the ring buffer's
 * epoll descriptor) to be readable. -EINTR when a signal came.
 */
int ps_pcapng_output_wait(struct ps_pcapng_output *out, int other_fd, int timeout_ms);

/* Writes the secrets found so far, then the waiting packets, and flushes. 0 or a negative errno. */
int ps_pcapng_output_packets(struct ps_pcapng_output *out);

/* The last packets (those the kernel still holds in a young block), then the counters. */
int ps_pcapng_output_finish(struct ps_pcapng_output *out);

void ps_pcapng_output_counters(struct ps_pcapng_output *out, struct ps_counters *counters);

/* Closes; a negative errno when the file had failed. */
int ps_pcapng_output_close(struct ps_pcapng_output *out);

#endif
