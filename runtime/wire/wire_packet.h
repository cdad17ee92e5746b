/* SPDX-License-Identifier: MIT */
/* A captured frame's TCP segment: addresses, ports, sequence number, flags and payload. */
#ifndef PS_WIRE_PACKET_H
#define PS_WIRE_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ps_wire_endpoint {
	uint8_t addr[16];           /* IPv4 in the first 4 bytes, the rest zero */
	uint16_t port;              /* host order */
};

struct ps_wire_segment {
	uint8_t family;             /* 4 or 6 */
	struct ps_wire_endpoint src, dst;
	uint32_t seq;
	bool syn, fin, rst;
	const uint8_t *payload;
	size_t len;
};

/*
 * Parses a frame of linktype (a DLT_ value: Ethernet, with one VLAN tag or
 * none, BSD loopback, raw IP, Linux cooked v1). 0, or -EINVAL when it is no
 * TCP segment (or is cut short: captured_len < the IP packet's length).
 */
int ps_wire_parse(int linktype, const uint8_t *frame, size_t len, struct ps_wire_segment *out);

#endif
