/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pcap/dlt.h>
#include <string.h>
#include "wire_packet.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define IPPROTO_TCP_NUMBER 6

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Where the IP header starts, by the link layer's header; -1 when the frame carries no IP. */
static long ip_offset(int linktype, const uint8_t *f, size_t len)
{
	uint16_t ethertype;

	switch (linktype) {
	case DLT_EN10MB:
		if (len < 14)
			return -1;
		ethertype = be16(f + 12);
		if (ethertype == ETHERTYPE_VLAN) {
			if (len < 18)
				return -1;
			ethertype = be16(f + 16);
			return ethertype == ETHERTYPE_IPV4 || ethertype == ETHERTYPE_IPV6 ? 18 : -1;
		}
		return ethertype == ETHERTYPE_IPV4 || ethertype == ETHERTYPE_IPV6 ? 14 : -1;
	case DLT_NULL:
		return 4;
	case DLT_RAW:
		return 0;
	case DLT_LINUX_SLL:
		return len >= 16 && (be16(f + 14) == ETHERTYPE_IPV4 || be16(f + 14) == ETHERTYPE_IPV6) ? 16 : -1;
	default:
		return -1;
	}
}

/* The IP header: addresses, and where TCP starts and the packet ends. -EINVAL: not TCP, or cut. */
static int parse_ip(const uint8_t *p, size_t len, struct ps_wire_segment *out, size_t *tcp_off, size_t *end)
{
	if (len < 20)
		return -EINVAL;
	if (p[0] >> 4 == 4) {
		size_t header = (size_t)(p[0] & 0x0f) * 4, total = be16(p + 2);

		if (header < 20 || total < header || total > len || p[9] != IPPROTO_TCP_NUMBER ||
		    (be16(p + 6) & 0x3fff))  /* a fragment: not reassembled */
			return -EINVAL;
		out->family = 4;
		memcpy(out->src.addr, p + 12, 4);
		memcpy(out->dst.addr, p + 16, 4);
		*tcp_off = header;
		*end = total;
		return 0;
	}
	/* IPv6 with TCP as the next header: extension headers are rare on a connection, not followed */
	if (p[0] >> 4 != 6 || len < 40 || p[6] != IPPROTO_TCP_NUMBER || 40 + (size_t)be16(p + 4) > len)
		return -EINVAL;
	out->family = 6;
	memcpy(out->src.addr, p + 8, 16);
	memcpy(out->dst.addr, p + 24, 16);
	*tcp_off = 40;
	*end = 40 + (size_t)be16(p + 4);
	return 0;
}

int ps_wire_parse(int linktype, const uint8_t *frame, size_t len, struct ps_wire_segment *out)
{
	long ip = ip_offset(linktype, frame, len);
	size_t tcp, end, header;
	const uint8_t *p, *t;

	if (ip < 0 || (size_t)ip > len)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	p = frame + ip;
	if (parse_ip(p, len - (size_t)ip, out, &tcp, &end) || end < tcp + 20)
		return -EINVAL;
	t = p + tcp;
	header = (size_t)(t[12] >> 4) * 4;
	if (header < 20 || tcp + header > end)
		return -EINVAL;
	out->src.port = be16(t);
	out->dst.port = be16(t + 2);
	out->seq = be32(t + 4);
	out->fin = t[13] & 0x01;
	out->syn = t[13] & 0x02;
	out->rst = t[13] & 0x04;
	out->payload = t + header;
	out->len = end - tcp - header;
	return 0;
}
