/* SPDX-License-Identifier: MIT */
/*
 * Which process sent a packet: TCP connections mapped to the process that
 * made or accepted them (sock_owner.bpf.c: the end of connect(2) and
 * accept(2)), seeded at start from /proc for the connections that
 * already exist (/proc/net/tcp{,6} give each socket's inode, /proc/PID/fd
 * the processes holding it).
 */
#ifndef PS_SOCK_OWNER_H
#define PS_SOCK_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ps_sock_owners;

/* Loads and attaches, then seeds. 0, or a negative errno after one warning line. */
int ps_sock_owners_start(struct ps_sock_owners **out);
void ps_sock_owners_stop(struct ps_sock_owners *so);

struct ps_sock_tuple;
struct ps_sock_owner;

/* The process that made or accepted the connection whose local end is t's local one. 0, or -ENOENT. */
int ps_sock_owners_lookup(struct ps_sock_owners *so, const struct ps_sock_tuple *t, struct ps_sock_owner *owner);

/* -p and -u: a packet is kept when its sender or its receiver matches. */
struct ps_packet_process_filter {
	uint32_t pid;               /* 0: any */
	uint32_t uid;
	bool has_uid;
};

/*
 * The EPB comment for a packet of linktype (a DLT_ value):
 * `pid=4242 comm=curl cmd="curl -s https://..."`, and the receiving process
 * after " -> " when it is known. 0; -ENOENT when the sender is unknown
 * (not TCP, or a connection no hook saw); -ESRCH when neither end passes
 * the filter.
 */
int ps_sock_owners_comment(struct ps_sock_owners *so, int linktype, const uint8_t *packet, uint32_t len,
			   const struct ps_packet_process_filter *filter, char *buf, size_t size);

#endif
