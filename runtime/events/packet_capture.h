/* SPDX-License-Identifier: MIT */
/*
 * Packets from the network interfaces, through libpcap's own capture: one
 * handle per interface, each a TPACKET_V3 ring with the filter compiled by
 * pcap_compile and run in the kernel as classic BPF (SO_ATTACH_FILTER), so a
 * packet the filter rejects is never copied to user space.
 *
 * Why not TC clsact programs with the filter translated to eBPF: libpcap's
 * ring costs one copy per matched packet as well, needs no translator of
 * its own to trust, and sees both directions of every device (lo included,
 * each packet once: libpcap drops the outgoing copy on loopback) with the
 * link type the kernel reports.
 */
#ifndef PS_PACKET_CAPTURE_H
#define PS_PACKET_CAPTURE_H

#include <stddef.h>
#include <poll.h>
#include <stdint.h>

/* Whole packets: larger than any MTU, loopback's 64 KiB included. */
#define PS_PACKET_SNAPLEN 262144

struct ps_packet_capture;

struct ps_packet {
	uint32_t interface;         /* index into the capture's interfaces */
	uint64_t wall_ns;           /* CLOCK_REALTIME, as the kernel stamped it */
	const uint8_t *data;
	uint32_t captured_len, original_len;
};

/*
 * Checks a filter's syntax, as pcap_compile sees it; NULL or "" is no filter.
 * 0, or -EINVAL with libpcap's message in err.
 */
int ps_packet_filter_check(const char *filter, char *err, size_t err_size);

/*
 * Opens names (each an interface, or "any": every interface that is up;
 * no names at all: as "any"), with filter. 0, or a negative errno after one
 * error line.
 */
int ps_packet_capture_open(const char *const *names, size_t n_names, const char *filter,
			   struct ps_packet_capture **out);
void ps_packet_capture_close(struct ps_packet_capture *pc);

size_t ps_packet_capture_count(const struct ps_packet_capture *pc);
const char *ps_packet_capture_name(const struct ps_packet_capture *pc, size_t i);
/* The interface's DLT_ value, as libpcap and its headers name it. */
int ps_packet_capture_linktype(const struct ps_packet_capture *pc, size_t i);
/* The same as a LINKTYPE_ value, the number a capture file holds. */
uint16_t ps_packet_capture_file_linktype(const struct ps_packet_capture *pc, size_t i);

/* Descriptors that become readable when packets wait (poll(2)); fds holds count entries. */
/*
 * One pollfd per interface (POLLIN) and one more, last, left for the
 * caller's own descriptor: *n counts them all. -ENOMEM (said) or 0.
 */
int ps_packet_capture_pollfds(const struct ps_packet_capture *pc, struct pollfd **pollfds, size_t *n);

/*
 * Hands every packet waiting in the rings to on_packet, without blocking.
 * The number of packets, or a negative errno after one error line.
 */
typedef int (*ps_packet_fn)(const struct ps_packet *packet, void *arg);
int ps_packet_capture_dispatch(struct ps_packet_capture *pc, ps_packet_fn on_packet, void *arg);

/* Packets the kernel dropped because a ring was full, summed over interfaces. */
uint64_t ps_packet_capture_dropped(struct ps_packet_capture *pc);

#endif
