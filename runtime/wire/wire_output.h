/* SPDX-License-Identifier: MIT */
/*
 * --from wire: the interfaces' packets decrypted into the same records as
 * call mode's (the module's data event: pid, comm, dir, 4-tuple, payload),
 * each process named by the socket owner probes (sock_owner.h). A
 * connection between two local processes gives each its record: the
 * sender's write and the receiver's read, as their calls would.
 */
#ifndef PS_WIRE_OUTPUT_H
#define PS_WIRE_OUTPUT_H

#include "cli.h"
#include "keylog.h"
#include "record.h"

struct ps_wire_output;

typedef void (*ps_wire_record_fn)(void *arg, const struct ps_record *rec);

/* Opens the interfaces (-i, default any) with the filter. 0, or a negative errno after one error line. */
int ps_wire_output_open(const struct ps_options *opts, ps_wire_record_fn on_record, void *arg,
			struct ps_wire_output **out);

/*
 * -m pcapng with --ecaptureq: the same records from packets another capture
 * took (pcapng_output.h's tap), handed in by ps_wire_output_frame; the
 * rest (wait, packets) is not for this one.
 */
int ps_wire_output_open_fed(const struct ps_options *opts, ps_wire_record_fn on_record, void *arg,
			    struct ps_wire_output **out);
void ps_wire_output_frame(struct ps_wire_output *out, int linktype, const uint8_t *frame, size_t len,
			  uint64_t wall_ns);

/* Secrets the probes found, for the connections that need them. */
void ps_wire_output_secrets(struct ps_wire_output *out, const struct ps_secrets *secrets);

/* Waits up to timeout_ms for packets or for other_fd. -EINTR when a signal came. */
int ps_wire_output_wait(struct ps_wire_output *out, int other_fd, int timeout_ms);

/* Reads the waiting packets. 0, or a negative errno after one error line. */
int ps_wire_output_packets(struct ps_wire_output *out);

/* The last packets, then every connection ends. */
int ps_wire_output_finish(struct ps_wire_output *out);

void ps_wire_output_counters(struct ps_wire_output *out, struct ps_counters *counters);
void ps_wire_output_close(struct ps_wire_output *out);

#endif
