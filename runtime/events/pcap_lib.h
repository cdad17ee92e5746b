/* SPDX-License-Identifier: MIT */
/*
 * libpcap, loaded when a packet is first captured or a filter compiled.
 * Debian's libpcap brings ten libraries with it (D-Bus, systemd, gcrypt,
 * lzma, zstd, lz4, ...), ~4 ms of every start on a VM, while most runs
 * capture no packet: linked, it would cost every start that.
 */
#ifndef PS_PCAP_LIB_H
#define PS_PCAP_LIB_H

#include <pcap/pcap.h>

struct ps_pcap {
	__typeof__(pcap_create) *create;
	__typeof__(pcap_activate) *activate;
	__typeof__(pcap_close) *close;
	__typeof__(pcap_compile) *compile;
	__typeof__(pcap_freecode) *freecode;
	__typeof__(pcap_setfilter) *setfilter;
	__typeof__(pcap_setnonblock) *setnonblock;
	__typeof__(pcap_set_snaplen) *set_snaplen;
	__typeof__(pcap_set_buffer_size) *set_buffer_size;
	__typeof__(pcap_set_timeout) *set_timeout;
	__typeof__(pcap_set_tstamp_precision) *set_tstamp_precision;
	__typeof__(pcap_datalink) *datalink;
	__typeof__(pcap_dispatch) *dispatch;
	__typeof__(pcap_get_selectable_fd) *get_selectable_fd;
	__typeof__(pcap_stats) *stats;
	__typeof__(pcap_geterr) *geterr;
	__typeof__(pcap_statustostr) *statustostr;
	__typeof__(pcap_open_dead_with_tstamp_precision) *open_dead_with_tstamp_precision;
};

/* libpcap's functions, loaded at the first call and kept; NULL when it cannot be loaded (ps_pcap_lib_error says why). */
const struct ps_pcap *ps_pcap_lib(void);
const char *ps_pcap_lib_error(void);

#endif
