/* SPDX-License-Identifier: MIT */
/* Why a TLS record seen on the wire gave no plaintext (the summary counts each cause), and whom its plaintext is for. */
#ifndef PS_WIRE_CAUSES_H
#define PS_WIRE_CAUSES_H

enum ps_wire_cause {
	PS_WIRE_NO_SECRET,          /* its connection's secrets never arrived */
	PS_WIRE_NO_HANDSHAKE,       /* the connection's hellos were not seen (it began before the capture) */
	PS_WIRE_UNSUPPORTED,        /* a version or cipher suite wire mode does not read */
	PS_WIRE_BAD_RECORD,         /* tag, MAC or padding wrong: the keys do not fit */
	PS_WIRE_AFTER_GAP,          /* after missing bytes, no sequence number in reach fits */
	PS_WIRE_PENDING_FULL,       /* waiting for its secrets with the connection's bound reached */
	PS_WIRE_CAUSES
};

/*
 * Whose record a run of plaintext makes: the sender's write, the
 * receiver's read, or both. 0-RTT data the server refuses was written by
 * the client and read by no one (RFC 8446 section 4.2.10), and whether it
 * is taken is known only after it was sent.
 */
enum ps_wire_ends {
	PS_WIRE_WRITER = 1,
	PS_WIRE_READER = 2,
	PS_WIRE_BOTH_ENDS = PS_WIRE_WRITER | PS_WIRE_READER,
};

#endif
