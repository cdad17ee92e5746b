/* SPDX-License-Identifier: MIT */
/*
 * Packets to plaintext: TCP segments put in order per connection and
 * direction (tcp_reassembly.h), TLS records read and decrypted
 * (tls_session.h) with the secrets the probes found (wire_secrets.h). No
 * capture and no output here: frames in, plaintext out through a callback.
 */
#ifndef PS_WIRE_H
#define PS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keylog.h"
#include "wire_causes.h"
#include "wire_packet.h"

/* A closed connection whose records wait for secrets is kept this long for them. */
#define PS_WIRE_LINGER_NS (2000ull * 1000000)
/* Records wait this long for their secrets; then they, and the connection's later ones, are counted. */
#define PS_WIRE_SECRET_WAIT_NS (5000ull * 1000000)
/* A connection with no packet for this long is forgotten (its records after that cannot be read). */
#define PS_WIRE_IDLE_NS (600ull * 1000000000)

struct ps_wire_counters {
	uint64_t packets;           /* TCP segments taken */
	uint64_t not_tcp;           /* frames that were no TCP segment (or were cut short) */
	uint64_t connections;       /* connections seen */
	uint64_t not_tls;           /* of them, connections whose first bytes were no TLS record: left alone */
	uint64_t gaps, gap_bytes;   /* stream bytes never captured */
	uint64_t records;           /* TLS records that gave plaintext or handshake */
	uint64_t undecryptable[PS_WIRE_CAUSES];
};

/* Application data of one direction: from src to dst. user: the caller's slot for this connection. */
struct ps_wire_flow {
	uint8_t family;             /* 4 or 6 */
	const struct ps_wire_endpoint *src, *dst;
	void **user;
};

struct ps_wire_ops {
	/* ends: the sender's write, the receiver's read, or both (wire_causes.h) */
	void (*plaintext)(void *arg, const struct ps_wire_flow *flow, enum ps_wire_ends ends, const uint8_t *data,
			  size_t len, uint64_t wall_ns);
	void (*free_user)(void *arg, void *user);   /* a connection goes: its user slot */
	void *arg;
};

struct ps_wire;

/* NULL after one warning line (libcrypto missing, out of memory). */
struct ps_wire *ps_wire_new(const struct ps_wire_ops *ops);
/* Every connection ends (their held bytes and waiting records counted). */
void ps_wire_free(struct ps_wire *w);

/* One captured frame of linktype (a DLT_ value), stamped wall_ns. */
void ps_wire_frame(struct ps_wire *w, int linktype, const uint8_t *frame, size_t len, uint64_t wall_ns);
/* One parsed segment (what ps_wire_frame does after parsing). */
void ps_wire_segment(struct ps_wire *w, const struct ps_wire_segment *seg, uint64_t wall_ns);
/* Secrets the probes found: records that waited for them are read now. */
void ps_wire_secrets(struct ps_wire *w, const struct ps_secrets *secrets);
/* Forgets connections closed or idle long enough, as of wall_ns. */
void ps_wire_sweep(struct ps_wire *w, uint64_t wall_ns);
/* Ends every connection: what is held is delivered past its holes, what waits is counted. */
void ps_wire_finish(struct ps_wire *w);

const struct ps_wire_counters *ps_wire_counters(const struct ps_wire *w);
const char *ps_wire_cause_name(enum ps_wire_cause cause);

#endif
