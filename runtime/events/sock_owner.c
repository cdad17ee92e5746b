/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/dlt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "sock_owner.h"
#include "sock_owner_types.h"

extern const char ps_bpf_sock_owner[], ps_bpf_sock_owner_end[];

struct ps_sock_owners {
	struct bpf_object *obj;
	struct bpf_link *link;
	int map_fd;
};

static int attach(struct ps_sock_owners *so)
{
	struct bpf_program *prog;
	int err;

	so->obj = bpf_object__open_mem(ps_bpf_sock_owner, (size_t)(ps_bpf_sock_owner_end - ps_bpf_sock_owner), NULL);
	if (!so->obj)
		return -errno;
	err = bpf_object__load(so->obj);
	if (err)
		return err;
	prog = bpf_object__find_program_by_name(so->obj, "ps_sock_owner_sys_exit");
	if (!prog)
		return -ENOENT;
	so->link = bpf_program__attach(prog);
	if (!so->link)
		return -errno;
	so->map_fd = bpf_object__find_map_fd_by_name(so->obj, "ps_sock_owners");
	return so->map_fd < 0 ? so->map_fd : 0;
}

/* /proc/net/tcp prints each 32-bit word of an address as the host sees it, in hex. */
static int parse_proc_addr(const char *text, unsigned char addr[16], unsigned short *port)
{
	size_t hex_len = strcspn(text, ":");
	size_t words = hex_len / 8;
	char word[9] = { 0 };

	if ((words != 1 && words != 4) || text[hex_len] != ':')
		return -EINVAL;
	memset(addr, 0, 16);
	for (size_t i = 0; i < words; i++) {
		uint32_t value;

		memcpy(word, text + 8 * i, 8);
		value = (uint32_t)strtoul(word, NULL, 16);
		memcpy(addr + 4 * i, &value, 4);
	}
	*port = (unsigned short)strtoul(text + hex_len + 1, NULL, 16);
	return (int)words;
}

static bool is_v4_mapped(const unsigned char a[16])
{
	static const unsigned char prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, prefix, 12) == 0;
}

static void unmap_v4(unsigned char a[16])
{
	memmove(a, a + 12, 4);
	memset(a + 4, 0, 12);
}

struct seed_socket {
	unsigned long inode;
	struct ps_sock_tuple tuple;
};

struct seed {
	struct seed_socket *sockets;
	size_t n;
};

static void read_proc_net(struct seed *seed, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], local[80], remote[80];
	unsigned int state;
	unsigned long inode;

	if (!f)
		return;
	if (!fgets(line, sizeof(line), f)) { /* the header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		struct seed_socket s = { 0 };
		struct seed_socket *grown;
		int words;

		if (sscanf(line, " %*d: %79s %79s %x %*s %*s %*s %*u %*u %lu", local, remote, &state, &inode) != 4 ||
		    !inode)
			continue;
		words = parse_proc_addr(local, s.tuple.local_addr, &s.tuple.local_port);
		if (words < 0 || parse_proc_addr(remote, s.tuple.remote_addr, &s.tuple.remote_port) != words ||
		    !s.tuple.remote_port)
			continue; /* listening sockets have no peer */
		s.tuple.family = words == 1 ? PS_SOCK_FAMILY_IPV4 : PS_SOCK_FAMILY_IPV6;
		if (words == 4 && is_v4_mapped(s.tuple.local_addr) && is_v4_mapped(s.tuple.remote_addr)) {
			s.tuple.family = PS_SOCK_FAMILY_IPV4;
			unmap_v4(s.tuple.local_addr);
			unmap_v4(s.tuple.remote_addr);
		}
		s.inode = inode;
		grown = realloc(seed->sockets, (seed->n + 1) * sizeof(*grown));
		if (!grown)
			break;
		seed->sockets = grown;
		seed->sockets[seed->n++] = s;
	}
	fclose(f);
}

static void read_cmdline(uint32_t pid, struct ps_sock_owner *owner)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, owner->cmdline, sizeof(owner->cmdline));
	owner->cmdline_len = n > 0 ? (unsigned int)n : 0;
	/* longer than the bound: say so as the probe does (its length is not in /proc) */
	if (n == (ssize_t)sizeof(owner->cmdline) && read(fd, path, 1) == 1)
		owner->cmdline_len = PS_SOCK_CMDLINE_LEN + 1;
	close(fd);
}

static void read_comm(uint32_t pid, char comm[PS_SOCK_COMM_LEN])
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, comm, PS_SOCK_COMM_LEN - 1) : -1;
	if (fd >= 0)
		close(fd);
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* The sockets' owners: each process's descriptors that are one of the seed's sockets. */
static void seed_process(struct ps_sock_owners *so, const struct seed *seed, uint32_t pid)
{
	char path[64], link[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir)) != NULL) {
		char fd_path[64 + sizeof(d->d_name)];
		unsigned long inode;
		ssize_t n;

		snprintf(fd_path, sizeof(fd_path), "%s/%s", path, d->d_name);
		n = readlink(fd_path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		for (size_t i = 0; i < seed->n; i++) {
			struct ps_sock_owner owner = { .pid = pid, .tid = pid };

			if (seed->sockets[i].inode != inode)
				continue;
			read_comm(pid, owner.comm);
			read_cmdline(pid, &owner);
			/* a connection the hooks saw since they attached is known better */
			bpf_map_update_elem(so->map_fd, &seed->sockets[i].tuple, &owner, BPF_NOEXIST);
		}
	}
	closedir(dir);
}

static void seed_from_proc(struct ps_sock_owners *so)
{
	struct seed seed = { 0 };
	struct dirent *d;
	DIR *proc;

	read_proc_net(&seed, "/proc/net/tcp");
	read_proc_net(&seed, "/proc/net/tcp6");
	proc = seed.n ? opendir("/proc") : NULL;
	while (proc && (d = readdir(proc)) != NULL)
		if (isdigit((unsigned char)d->d_name[0]))
			seed_process(so, &seed, (uint32_t)strtoul(d->d_name, NULL, 10));
	if (proc)
		closedir(proc);
	free(seed.sockets);
}

int ps_sock_owners_start(struct ps_sock_owners **out)
{
	struct ps_sock_owners *so = calloc(1, sizeof(*so));
	int err;

	if (!so)
		return -ENOMEM;
	err = attach(so);
	if (err) {
		ps_warn("packets will not name their process: cannot attach the socket owner probes "
			"(tracepoint sys_exit): %s", strerror(-err));
		ps_sock_owners_stop(so);
		return err;
	}
	seed_from_proc(so);
	*out = so;
	return 0;
}

void ps_sock_owners_stop(struct ps_sock_owners *so)
{
	if (!so)
		return;
	bpf_link__destroy(so->link);
	bpf_object__close(so->obj);
	free(so);
}

/* The packet's TCP addresses and ports, as the sender sees them (local = source). */
static int packet_tuple(int linktype, const uint8_t *p, uint32_t len, struct ps_sock_tuple *t)
{
	uint32_t off = 0, ip_len, version;
	uint16_t ethertype;
	uint8_t proto;

	if (linktype == DLT_EN10MB) {
		if (len < 14)
			return -EINVAL;
		ethertype = (uint16_t)(p[12] << 8 | p[13]);
		off = 14;
		if (ethertype == 0x8100 && len >= 18) { /* one VLAN tag */
			ethertype = (uint16_t)(p[16] << 8 | p[17]);
			off = 18;
		}
		if (ethertype != 0x0800 && ethertype != 0x86dd)
			return -EINVAL;
	} else if (linktype == DLT_NULL) {
		off = 4;
	} else if (linktype != DLT_RAW) {
		return -EINVAL;
	}
	if (len < off + 20)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	version = p[off] >> 4;
	if (version == 4) {
		ip_len = (uint32_t)(p[off] & 0x0f) * 4;
		proto = p[off + 9];
		t->family = PS_SOCK_FAMILY_IPV4;
		memcpy(t->local_addr, p + off + 12, 4);
		memcpy(t->remote_addr, p + off + 16, 4);
	} else if (version == 6 && len >= off + 40) {
		ip_len = 40; /* extension headers before TCP are rare on a connection: not followed */
		proto = p[off + 6];
		t->family = PS_SOCK_FAMILY_IPV6;
		memcpy(t->local_addr, p + off + 8, 16);
		memcpy(t->remote_addr, p + off + 24, 16);
	} else {
		return -EINVAL;
	}
	off += ip_len;
	if (proto != 6 || len < off + 4)
		return -EINVAL;
	t->local_port = (uint16_t)(p[off] << 8 | p[off + 1]);
	t->remote_port = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
	return 0;
}

static void reverse(const struct ps_sock_tuple *t, struct ps_sock_tuple *r)
{
	*r = *t;
	r->local_port = t->remote_port;
	r->remote_port = t->local_port;
	memcpy(r->local_addr, t->remote_addr, 16);
	memcpy(r->remote_addr, t->local_addr, 16);
}

/* The command line as one quoted string's inside: arguments joined by spaces, quotes and odd bytes escaped. */
static void format_cmdline(const struct ps_sock_owner *o, char *buf, size_t size)
{
	size_t len = o->cmdline_len < PS_SOCK_CMDLINE_LEN ? o->cmdline_len : PS_SOCK_CMDLINE_LEN;
	size_t w = 0;

	while (len > 0 && o->cmdline[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len && w + 5 < size; i++) {
		unsigned char c = (unsigned char)o->cmdline[i];

		if (c == '\0')
			buf[w++] = ' ';
		else if (c == '"' || c == '\\')
			w += (size_t)snprintf(buf + w, size - w, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			w += (size_t)snprintf(buf + w, size - w, "\\x%02x", c);
		else
			buf[w++] = (char)c;
	}
	buf[w] = '\0';
	/* cut by the probe's bound: said, not hidden */
	if (o->cmdline_len > PS_SOCK_CMDLINE_LEN && w + 4 <= size)
		memcpy(buf + w, "...", 4);
}

static size_t describe(const struct ps_sock_owner *o, char *buf, size_t size)
{
	char cmd[PS_SOCK_CMDLINE_LEN * 4 + 4];
	int n;

	format_cmdline(o, cmd, sizeof(cmd));
	if (cmd[0])
		n = snprintf(buf, size, "pid=%u comm=%.16s cmd=\"%s\"", o->pid, o->comm, cmd);
	else
		n = snprintf(buf, size, "pid=%u comm=%.16s", o->pid, o->comm);
	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

static bool owner_matches(const struct ps_sock_owner *o, const struct ps_packet_process_filter *filter)
{
	return (!filter->pid || o->pid == filter->pid) && (!filter->has_uid || o->uid == filter->uid);
}

int ps_sock_owners_comment(struct ps_sock_owners *so, int linktype, const uint8_t *packet, uint32_t len,
			   const struct ps_packet_process_filter *filter, char *buf, size_t size)
{
	struct ps_sock_tuple sender, receiver;
	struct ps_sock_owner from, to;
	bool receiver_known;
	size_t n;

	if (packet_tuple(linktype, packet, len, &sender) != 0 ||
	    bpf_map_lookup_elem(so->map_fd, &sender, &from) != 0)
		return -ENOENT;
	reverse(&sender, &receiver);
	receiver_known = bpf_map_lookup_elem(so->map_fd, &receiver, &to) == 0;
	if (!owner_matches(&from, filter) && !(receiver_known && owner_matches(&to, filter)))
		return -ESRCH;
	n = describe(&from, buf, size);
	if (receiver_known && n + 8 < size) {
		memcpy(buf + n, " -> ", 5);
		describe(&to, buf + n + 4, size - n - 4);
	}
	return 0;
}

int ps_sock_owners_lookup(struct ps_sock_owners *so, const struct ps_sock_tuple *t, struct ps_sock_owner *owner)
{
	return bpf_map_lookup_elem(so->map_fd, t, owner) == 0 ? 0 : -ENOENT;
}
