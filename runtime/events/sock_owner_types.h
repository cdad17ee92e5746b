/* SPDX-License-Identifier: MIT */
/*
 * The socket owner map, shared by sock_owner.bpf.c and sock_owner.c: a TCP
 * connection's local and remote address and port -> the process that made
 * or accepted it. Plain C types: the kernel half has no libc headers.
 */
#ifndef PS_SOCK_OWNER_TYPES_H
#define PS_SOCK_OWNER_TYPES_H

#define PS_SOCK_FAMILY_IPV4 4
#define PS_SOCK_FAMILY_IPV6 6
#define PS_SOCK_COMM_LEN 16
/* The command line's first bytes: enough to tell one curl from another. */
#define PS_SOCK_CMDLINE_LEN 256

/* IPv4 addresses in the first 4 bytes, the rest zero; ports in host order. */
struct ps_sock_tuple {
	unsigned char family;       /* PS_SOCK_FAMILY_*: an IPv4-mapped IPv6 socket is IPv4 */
	unsigned char pad;
	unsigned short local_port, remote_port;
	unsigned char pad2[2];
	unsigned char local_addr[16], remote_addr[16];
};

struct ps_sock_owner {
	unsigned int pid, tid, uid;
	unsigned int cmdline_len;   /* the whole length: past PS_SOCK_CMDLINE_LEN, cmdline is cut */
	char comm[PS_SOCK_COMM_LEN];
	char cmdline[PS_SOCK_CMDLINE_LEN]; /* arguments, each ending in a NUL byte */
};

#endif
