// SPDX-License-Identifier: MIT
/*
 * Which process owns a TCP connection, learned where the kernel runs in
 * that process's context: the end of connect(2) and accept(2).
 * Entries are never deleted: a packet is attributed after its connection
 * closed too; the LRU forgets the oldest.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sock_owner_types.h"

#define AF_INET 2
#define AF_INET6 10

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ps_sock_tuple);
	__type(value, struct ps_sock_owner);
} ps_sock_owners SEC(".maps");

static __always_inline bool is_v4_mapped(const unsigned char a[16])
{
	for (int i = 0; i < 10; i++)
		if (a[i])
			return false;
	return a[10] == 0xff && a[11] == 0xff;
}

static __always_inline void unmap_v4(unsigned char a[16])
{
	__builtin_memcpy(a, a + 12, 4);
	__builtin_memset(a + 4, 0, 12);
}

/*
 * The process's arguments, read now: by the time the packet is written
 * (sock_owner.c) a short-lived client may be gone from /proc.
 */
static __always_inline void read_cmdline(struct ps_sock_owner *owner)
{
	struct task_struct *task = bpf_get_current_task_btf();
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long len = BPF_CORE_READ(task, mm, arg_end) - start;

	/* a constant size the verifier accepts; the bytes past len (the environment) are not used */
	if (bpf_probe_read_user(owner->cmdline, sizeof(owner->cmdline), (const void *)start) == 0)
		owner->cmdline_len = len;
}

/* Map values are too big for the BPF stack: built in a per-CPU scratch slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_sock_owner);
} ps_sock_owner_scratch SEC(".maps");

static __always_inline void remember(struct sock *sk)
{
	struct ps_sock_tuple key = {};
	__u32 zero = 0;
	struct ps_sock_owner *owner = bpf_map_lookup_elem(&ps_sock_owner_scratch, &zero);
	unsigned short family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u64 id = bpf_get_current_pid_tgid();

	if (family == AF_INET) {
		key.family = PS_SOCK_FAMILY_IPV4;
		__u32 local = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 remote = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(key.local_addr, &local, 4);
		__builtin_memcpy(key.remote_addr, &remote, 4);
	} else if (family == AF_INET6) {
		key.family = PS_SOCK_FAMILY_IPV6;
		BPF_CORE_READ_INTO(&key.local_addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&key.remote_addr, sk, __sk_common.skc_v6_daddr);
		if (is_v4_mapped(key.local_addr) && is_v4_mapped(key.remote_addr)) {
			key.family = PS_SOCK_FAMILY_IPV4;
			unmap_v4(key.local_addr);
			unmap_v4(key.remote_addr);
		}
	} else {
		return;
	}
	if (!owner)
		return;
	key.local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	key.remote_port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	owner->pid = id >> 32;
	owner->tid = (__u32)id;
	owner->uid = (__u32)bpf_get_current_uid_gid();
	owner->cmdline_len = 0;
	bpf_get_current_comm(owner->comm, sizeof(owner->comm));
	read_cmdline(owner);
	bpf_map_update_elem(&ps_sock_owners, &key, owner, BPF_ANY);
}

/* x86_64 system call numbers (the BPF objects are built for __TARGET_ARCH_x86). */
#define NR_CONNECT 42
#define NR_ACCEPT 43
#define NR_ACCEPT4 288
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define SOCK_STREAM 1

/* The socket behind descriptor fd of the current process, or NULL. */
static __always_inline struct sock *socket_of_fd(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	unsigned int max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
	struct file *file = NULL;
	struct socket *sock;

	if (fd < 0 || fd >= max_fds)
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	if (!file || (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock || BPF_CORE_READ(sock, type) != SOCK_STREAM)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/*
 * At the end of connect(2) the kernel has chosen the local address and
 * port (also for a non-blocking connect, which returns EINPROGRESS); at the
 * end of accept(2) the new connection is the returned descriptor. Both run
 * in the owner's context. fentry on tcp_connect would be simpler, but this
 * kernel refuses fentry programs (EPERM): the raw system call tracepoint is
 * what the syscall tracker uses too.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(ps_sock_owner_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;
	struct sock *sk;

	if (nr == NR_CONNECT) {
		if (ret != 0 && ret != -115 /* EINPROGRESS */)
			return 0;
		sk = socket_of_fd((long)regs->di);
	} else if (nr == NR_ACCEPT || nr == NR_ACCEPT4) {
		sk = socket_of_fd(ret);
	} else {
		return 0;
	}
	if (sk)
		remember(sk);
	return 0;
}
