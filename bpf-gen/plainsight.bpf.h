/* SPDX-License-Identifier: MIT */
/*
 * The hand-written kernel half that every generated module builds on: the
 * ring buffer, the loss counters, the process filter, socket tracking and
 * chunked emission of variable-length data. Generated code (see
 * compiler/emit_bpf.c) defines `ps_config` and calls only what is here.
 */
#ifndef PLAINSIGHT_BPF_H
#define PLAINSIGHT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "ps_event.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define PS_AF_INET 2
#define PS_AF_INET6 10
#define PS_S_IFMT 00170000
#define PS_S_IFSOCK 0140000

/* The runtime resizes it from --mapsize before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} ps_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_LOSS_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} ps_loss SEC(".maps");

/*
 * Waking the reader costs an interrupt and a context switch per record.
 * Under load, wake it only once a sixteenth of the ring has filled; the
 * reader also polls on a short timeout (runtime/events/capture.c), so a lone
 * record waits at most that long.
 */
/*
 * --lossless: processes stopped because the ring passed a quarter full while they
 * wrote to it. The reader sends each a SIGCONT once it has emptied the ring
 * (runtime/events/backpressure.c). Not preallocated: most runs never use it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u32);
} ps_stopped SEC(".maps");

#define PS_SIGSTOP 19   /* x86-64 Linux; the kernel headers' macro is not in vmlinux.h */

/*
 * The signal takes effect when the thread leaves the probe for user space,
 * or a little later when the kernel has to queue it from interrupt context
 * (bpf_send_signal's irq_work): this call's records are already in the
 * ring, and the process makes at most a few more before it stops. Three
 * quarters of the ring stay for those, and for the records other processes
 * and threads make before their own stop (a 256 KiB ring with half left
 * lost five 16 KiB records to that delay under load).
 */
static __always_inline void ps_hold_back(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 one = 1;

	if (bpf_map_update_elem(&ps_stopped, &tgid, &one, BPF_ANY) == 0)
		bpf_send_signal(PS_SIGSTOP);
}

static __always_inline __u64 ps_wakeup_flags(const volatile struct ps_filter *filter)
{
	__u64 pending = bpf_ringbuf_query(&ps_events, BPF_RB_AVAIL_DATA);
	/*
	 * The size is fixed at load: a second query costs as much as the first
	 * (~110 ns on this project's VM, measured with kernel.bpf_stats_enabled),
	 * once per record.
	 */
	__u64 size = filter->ring_bytes ? filter->ring_bytes : bpf_ringbuf_query(&ps_events, BPF_RB_RING_SIZE);

	if (filter->lossless && pending >= size / 4)
		ps_hold_back();
	return pending >= size / 16 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void ps_loss_add(enum ps_loss_kind kind, __u64 n)
{
	__u32 key = kind;
	__u64 *count = bpf_map_lookup_elem(&ps_loss, &key);

	if (count)
		*count += n;
}

static __always_inline int ps_filter_pass(const volatile struct ps_filter *filter, __u64 pid_tgid)
{
	__u32 pid = pid_tgid >> 32;

	if (pid == filter->self_pid)
		return 0;
	if (filter->pid && pid != filter->pid)
		return 0;
	if (filter->has_uid && (__u32)bpf_get_current_uid_gid() != filter->uid)
		return 0;
	return 1;
}

/*
 * A return that finds no saved state: a call nested in itself replaced it, or
 * the call began before we attached and returns through another tracer's
 * uretprobe on the same function. Counted apart from losses (capture.c).
 */
static __always_inline void ps_note_missing_entry(const volatile struct ps_filter *filter, __u64 pid_tgid)
{
	if (ps_filter_pass(filter, pid_tgid))
		ps_loss_add(PS_LOSS_NO_ENTRY, 1);
}

/* struct ps_saved_key: ps_event.h, for the runtime sweeps what processes gone left behind. */
static __always_inline struct ps_saved_key ps_saved_key(__u64 pid_tgid, __u64 thread, __u16 hook_id)
{
	struct ps_saved_key key = { .thread = thread, .tgid = pid_tgid >> 32, .hook = hook_id };

	return key;
}

/*
 * Go's calling conventions on amd64 (hooks of `abi go`). From Go 1.17 the
 * register ABI: arguments in RAX, RBX, RCX, RDI, RSI, R8 .. R11, the first
 * result in RAX, the goroutine (g) in R14 (src/cmd/compile/abi-internal.md).
 * Before it the stack ABI, ABI0, which a layout names with `abi stack;`:
 * arguments from 8(SP) on, one word each as the specs declare them, the
 * results right after them, and g in the thread's TLS slot, 8 bytes below
 * the FS base (runtime.tlsg on linux/amd64: the prologue's stack check reads
 * it as FS:-8). stack_abi is ps_config.filter.go_stack_abi, fixed at load.
 */
static __always_inline __u64 ps_go_stack_word(struct pt_regs *ctx, int index)
{
	__u64 word = 0;

	bpf_probe_read_user(&word, sizeof(word), (const void *)(ctx->sp + 8 * (index + 1)));
	/* a value, not the stack slot: else clang may load from "slot or &ctx->reg", which the verifier refuses */
	barrier_var(word);
	return word;
}

static __always_inline __u64 ps_go_arg(struct pt_regs *ctx, __u32 stack_abi, int index)
{
	if (stack_abi)
		return ps_go_stack_word(ctx, index);
	switch (index) {
	case 0: return ctx->ax;
	case 1: return ctx->bx;
	case 2: return ctx->cx;
	case 3: return ctx->di;
	case 4: return ctx->si;
	case 5: return ctx->r8;
	case 6: return ctx->r9;
	case 7: return ctx->r10;
	case 8: return ctx->r11;
	}
	return 0;
}

/* The first result, at a RET: after the n_params argument words under the stack ABI. */
static __always_inline __u64 ps_go_result(struct pt_regs *ctx, __u32 stack_abi, int n_params)
{
	return stack_abi ? ps_go_stack_word(ctx, n_params) : ctx->ax;
}

static __always_inline __u64 ps_go_g(struct pt_regs *ctx, __u32 stack_abi)
{
	struct task_struct *task;
	__u64 g = 0;

	if (!stack_abi)
		return ctx->r14;
	task = bpf_get_current_task_btf();
	bpf_probe_read_user(&g, sizeof(g), (const void *)(BPF_CORE_READ(task, thread.fsbase) - 8));
	barrier_var(g);   /* as in ps_go_stack_word */
	return g;
}

/* Who typed it: audit records name the terminal, as login records do. */
static __always_inline void ps_read_tty(char tty[PS_TTY_LEN])
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tty_struct *term = BPF_CORE_READ(task, signal, tty);

	if (term)
		bpf_probe_read_kernel_str(tty, PS_TTY_LEN, &term->name);
}

/*
 * A thread may rename itself (prctl PR_SET_NAME, pthread_setname_np): Node.js
 * names its main thread "MainThread", so the current task's comm names the
 * thread, not the program. The thread group leader's comm names the program.
 */
static __always_inline void ps_read_process_name(char comm[PS_COMM_LEN])
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (!leader || bpf_probe_read_kernel_str(comm, PS_COMM_LEN, &leader->comm) < 0)
		bpf_get_current_comm(comm, PS_COMM_LEN);
}

/* Whether anything reads event id (ps_filter.events_off has a bit for each id below 32). */
static __always_inline int ps_event_wanted(const volatile struct ps_filter *filter, __u16 id)
{
	return id >= 32 || !((filter->events_off >> id) & 1);
}

static __always_inline void ps_event_init(struct ps_event_header *hdr, __u16 event_id, __u16 hook_id,
					  __u16 fixed_size)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	hdr->mono_ns = bpf_ktime_get_ns();
	hdr->pid = pid_tgid >> 32;
	hdr->tid = (__u32)pid_tgid;
	hdr->uid = (__u32)bpf_get_current_uid_gid();
	hdr->event_id = event_id;
	hdr->hook_id = hook_id;
	hdr->fixed_size = fixed_size;
	hdr->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(hdr->thread, sizeof(hdr->thread));
	ps_read_process_name(hdr->comm);
	ps_read_tty(hdr->tty);
}

/* ---- Sockets: which fd a call used, and its connection ---------------- */

static __always_inline struct file *ps_fd_file(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **files;
	struct file *file = NULL;

	if (fd < 0 || !fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	files = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &files[fd]);
	return file;
}

static __always_inline struct sock *ps_fd_sock(int fd)
{
	struct file *file = ps_fd_file(fd);
	struct socket *socket;

	if (!file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & PS_S_IFMT) != PS_S_IFSOCK)
		return NULL;
	socket = BPF_CORE_READ(file, private_data);
	return socket ? BPF_CORE_READ(socket, sk) : NULL;
}

/* Fills *tuple from the socket behind fd; returns 0 when fd is an inet socket. */
static __always_inline int ps_tuple_of_fd(struct ps_tuple *tuple, int fd)
{
	struct sock *sk = ps_fd_sock(fd);
	__u16 family;

	if (!sk)
		return -1;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	/* explicit sizes: the destinations are byte arrays, the sources are not */
	if (family == PS_AF_INET) {
		bpf_core_read(tuple->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(tuple->daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (family == PS_AF_INET6) {
		bpf_core_read(tuple->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(tuple->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		return -1;
	}
	tuple->family = family;
	tuple->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	tuple->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	tuple->proto = BPF_CORE_READ(sk, sk_protocol);
	return 0;
}

/* The socket's inode number, which no other live socket shares; 0 when fd is no socket. */
static __always_inline __u64 ps_socket_ino(int fd)
{
	struct file *file = ps_fd_file(fd);

	if (!file || (BPF_CORE_READ(file, f_inode, i_mode) & PS_S_IFMT) != PS_S_IFSOCK)
		return 0;
	return BPF_CORE_READ(file, f_inode, i_ino);
}

/*
 * `track socket by KEY`: while a tracked call runs, the socket syscalls its
 * thread makes tell which fd the call used. The plaintext's connection thus
 * never depends on struct offsets. A call served from the library's buffer
 * makes no syscall; it gets the fd last seen for the same KEY.
 *
 * A call on a memory BIO (Node.js, Python's SSLObject) makes no socket
 * syscall at all: the program moves the ciphertext between the BIO and the
 * socket itself, on the same thread, around the call. So a call that made
 * none leaves its KEY pending on its thread, and the thread's next socket
 * send, before it waits for events again, binds KEY to that socket; a call
 * whose KEY is not bound yet takes the socket its thread last received from
 * in the same turn of its event loop (the ciphertext the call decrypted).
 */
struct ps_incall {
	__u64 key;
	__s32 fd;
	__u32 pad;
};

struct ps_key_pid {
	__u64 key;
	__u32 pid;
	__u32 pad;
};

/* How a KEY's socket was learned. */
enum ps_fd_source {
	PS_FD_IN_CALL = 1,  /* a syscall inside a call with this KEY: certain */
	PS_FD_NEXT_SEND,    /* the send that followed a call on the same thread */
	PS_FD_LAST_RECV,    /* the receive that preceded a call on the same thread */
};

struct ps_key_socket {
	__s32 fd;
	__u32 source;       /* enum ps_fd_source */
	__u64 ino;          /* the socket's inode when bound: a closed fd's number may come back */
};

/* A thread's memory-BIO traffic, between two waits of its event loop. */
struct ps_thread_io {
	__u64 pending_key;  /* a tracked call that made no socket syscall: its ciphertext is to be sent */
	__u32 pid;
	__u32 has_pending;
	__s32 recv_fd;      /* the socket last received from, or -1 */
	__u32 pad;
};

/*
 * A plain hash, not an LRU one: an LRU map may evict a live entry before it
 * is full, which would lose a call's socket without a trace. A thread that
 * dies inside a call leaves a stale entry that its tid's next call replaces.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	/* allocated as used: preallocating 64 Ki entries slows every start */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct ps_incall);
} ps_incall SEC(".maps");

/* A cache: losing an entry costs at most the fd of a call with no syscall. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ps_key_pid);
	__type(value, struct ps_key_socket);
} ps_key_fd SEC(".maps");

/* By tid, only for threads that made tracked calls. A cache, as ps_key_fd. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct ps_thread_io);
} ps_thread_io SEC(".maps");

/*
 * Which KEY a socket (by inode) was bound to from outside a call. A socket
 * already bound to another KEY is not taken by a call that happened to run
 * before its send: that call produced no ciphertext.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u64);
} ps_socket_key SEC(".maps");

static __always_inline void ps_track_begin(__u64 key)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ps_incall call = { .key = key, .fd = -1 };

	bpf_map_update_elem(&ps_incall, &tid, &call, BPF_ANY);
}

/* A binding made outside a call that still names the socket it was made for. */
static __always_inline int ps_binding_live(const struct ps_key_socket *bound)
{
	return bound->source == PS_FD_IN_CALL || (bound->ino && ps_socket_ino(bound->fd) == bound->ino);
}

/*
 * Binds kp's KEY to socket fd, learned by source outside a call, unless the
 * KEY already has a live socket (a connection keeps its socket) or the socket
 * belongs to another KEY. Returns the binding made, or NULL.
 */
static __always_inline struct ps_key_socket *ps_bind_adjacent(struct ps_key_pid *kp, int fd, __u32 source)
{
	struct ps_key_socket *bound = bpf_map_lookup_elem(&ps_key_fd, kp);
	struct ps_key_socket fresh = { .fd = fd, .source = source };
	__u64 *owner;

	/* the usual case, every write of a connection: nothing new, and no socket to read */
	if (bound && bound->fd == fd)
		return bound;
	if (bound && ps_binding_live(bound))
		return NULL;
	fresh.ino = ps_socket_ino(fd);
	if (!fresh.ino)
		return NULL;
	owner = bpf_map_lookup_elem(&ps_socket_key, &fresh.ino);
	if (owner && *owner != kp->key)
		return NULL;
	bpf_map_update_elem(&ps_socket_key, &fresh.ino, &kp->key, BPF_ANY);
	bpf_map_update_elem(&ps_key_fd, kp, &fresh, BPF_ANY);
	return bpf_map_lookup_elem(&ps_key_fd, kp);
}

/*
 * A call that made no socket syscall: its KEY waits for the thread's next
 * send, and, if it has no socket yet, takes the one the thread last
 * received from. Returns the KEY's binding (known, if any), or NULL.
 */
static __always_inline struct ps_key_socket *ps_track_adjacent(struct ps_key_pid *kp, __u32 tid,
							     struct ps_key_socket *known)
{
	struct ps_thread_io fresh = { .recv_fd = -1 };
	struct ps_thread_io *io = bpf_map_lookup_elem(&ps_thread_io, &tid);
	struct ps_key_socket *bound;

	if (!io) {
		bpf_map_update_elem(&ps_thread_io, &tid, &fresh, BPF_ANY);
		io = bpf_map_lookup_elem(&ps_thread_io, &tid);
		if (!io)
			return known;
	}
	io->pending_key = kp->key;
	io->pid = kp->pid;
	io->has_pending = 1;
	if (known || io->recv_fd < 0)
		return known;
	bound = ps_bind_adjacent(kp, io->recv_fd, PS_FD_LAST_RECV);
	return bound;
}

/* Ends tracking; returns 0 and sets *fd when the call's socket is known. */
static __always_inline int ps_track_end(__u64 key, __s32 *fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct ps_key_pid kp = { .key = key, .pid = pid_tgid >> 32 };
	struct ps_incall *call = bpf_map_lookup_elem(&ps_incall, &tid);
	struct ps_key_socket *known;
	__s32 seen = -1;

	if (call) {
		seen = call->fd;
		bpf_map_delete_elem(&ps_incall, &tid);
	}
	if (seen >= 0) {
		struct ps_key_socket in_call = { .fd = seen, .source = PS_FD_IN_CALL };

		bpf_map_update_elem(&ps_key_fd, &kp, &in_call, BPF_ANY);
		*fd = seen;
		return 0;
	}
	known = bpf_map_lookup_elem(&ps_key_fd, &kp);
	if (!known || known->source != PS_FD_IN_CALL)
		known = ps_track_adjacent(&kp, tid, known);
	if (!known)
		return -1;
	*fd = known->fd;
	return 0;
}

#ifdef PS_TRACK_SOCKET
/* x86-64 syscall numbers whose first argument is a socket fd. */
static __always_inline int ps_is_socket_send(long nr)
{
	switch (nr) {
	case 1:   /* write */
	case 20:  /* writev */
	case 44:  /* sendto */
	case 46:  /* sendmsg */
		return 1;
	}
	return 0;
}

static __always_inline int ps_is_socket_recv(long nr)
{
	switch (nr) {
	case 0:   /* read */
	case 19:  /* readv */
	case 45:  /* recvfrom */
	case 47:  /* recvmsg */
		return 1;
	}
	return 0;
}

/* x86-64 syscalls an event loop waits in: a turn of the loop ends there. */
static __always_inline int ps_is_event_wait(long nr)
{
	switch (nr) {
	case 7:   /* poll */
	case 23:  /* select */
	case 232: /* epoll_wait */
	case 270: /* pselect6 */
	case 271: /* ppoll */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
		return 1;
	}
	return 0;
}

/* A socket syscall outside any tracked call: maybe a memory BIO's ciphertext. */
static __always_inline void ps_note_adjacent_io(__u32 tid, int fd, int send)
{
	struct ps_thread_io *io = bpf_map_lookup_elem(&ps_thread_io, &tid);
	struct ps_key_pid kp = {};

	if (!io)
		return;
	if (!send) {
		if (ps_fd_sock(fd))
			io->recv_fd = fd;
		return;
	}
	if (!io->has_pending)
		return;
	/* only the first send after the call: later ones are the program's own */
	io->has_pending = 0;
	kp.key = io->pending_key;
	kp.pid = io->pid;
	ps_bind_adjacent(&kp, fd, PS_FD_NEXT_SEND);
}

static __always_inline void ps_note_event_wait(__u32 tid)
{
	struct ps_thread_io *io = bpf_map_lookup_elem(&ps_thread_io, &tid);

	if (!io)
		return;
	io->has_pending = 0;
	io->recv_fd = -1;
}

/*
 * A raw tracepoint needs no tracefs and no kprobes, which this project may
 * not have, and unlike tp_btf it attaches by name: libbpf then needs no
 * kernel BTF to attach it, only for CO-RE (see runtime/bpf/core_btf.c).
 */
SEC("raw_tp/sys_enter")
int BPF_PROG(ps_sys_enter, struct pt_regs *regs, long nr)
{
	int send = ps_is_socket_send(nr);
	__u32 tid;
	struct ps_incall *call;
	int fd;

	if (!send && !ps_is_socket_recv(nr)) {
		if (ps_is_event_wait(nr))
			ps_note_event_wait((__u32)bpf_get_current_pid_tgid());
		return 0;
	}
	tid = (__u32)bpf_get_current_pid_tgid();
	fd = (int)BPF_CORE_READ(regs, di);
	call = bpf_map_lookup_elem(&ps_incall, &tid);
	if (!call) {
		ps_note_adjacent_io(tid, fd, send);
		return 0;
	}
	if (ps_fd_sock(fd))
		call->fd = fd;
	return 0;
}
#endif

/* ---- Variable-length data: one ring-buffer record per chunk ------------ */

struct ps_chunk_ctx {
	void *fixed;        /* the event's fixed part, on the caller's stack */
	__u64 src;          /* user address of the data */
	__u64 len;          /* bytes in all; 0 for a string */
	__u32 chunks;       /* loop count */
	__u32 done;         /* a string's terminating NUL was found */
};

/*
 * Records are reserved by size class, since bpf_ringbuf_reserve wants a
 * constant size: short reads cost a small record, long ones 32 KiB. Three
 * classes (512 B, 4 KiB, 32 KiB): each class is one more subprogram the
 * verifier walks in every program that emits, and five classes doubled the
 * load time (measured: 15 ms against 7.5 ms per return program).
 */
#define PS_STRING_CHUNK 4096

/*
 * PS_DEFINE_EMITTER(name, type) defines ps_emit_<name>(ev, src, len) and
 * ps_emit_str_<name>(ev, src) for an event struct `type` whose last member is
 * `__u8 data[]`. One instance per event keeps every size constant, which is
 * what the verifier needs.
 */
/*
 * One subprogram per size class: with the class a constant inside its own
 * function, the compiler cannot merge the classes into one path, and the
 * verifier sees the read bounded by the record it reserved.
 */
#define PS_DEFINE_CHUNK_CLASS(name, type, cls)                                                    \
	static __noinline int ps_chunk_##name##_##cls(struct ps_chunk_ctx *c, __u64 off, __u64 n,  \
						      int more)                                   \
	{                                                                                         \
		type *rec = bpf_ringbuf_reserve(&ps_events, sizeof(type) + (cls), 0);             \
                                                                                                  \
		if (!rec)                                                                         \
			return -1;                                                                \
		/* opaque to the optimizer, which knows the callers' bound */                     \
		asm volatile("" : "+r"(n));                                                       \
		if (n > (cls))                                                                    \
			n = (cls);                                                                \
		__builtin_memcpy(rec, (const type *)c->fixed, sizeof(type)); /* aligned: word copies */ \
		rec->hdr.var_off = off;                                                           \
		rec->hdr.var_total = c->len;                                                      \
		rec->hdr.var_len = n;                                                             \
		if (more)                                                                         \
			rec->hdr.flags |= PS_EV_MORE;                                             \
		if (bpf_probe_read_user(rec->data, n, (void *)(c->src + off))) {                  \
			rec->hdr.flags |= PS_EV_READ_FAIL;                                        \
			ps_loss_add(PS_LOSS_READ_FAIL, n);                                        \
		}                                                                                 \
		bpf_ringbuf_submit(rec, ps_wakeup_flags(&ps_config.filter));                                      \
		return 0;                                                                         \
	}

/*
 * ps_emit_fixed_<name>(ev): an event with no variable part is one record.
 * (An event nobody reads never gets here: the generated code asks
 * ps_event_wanted before building it.)
 */
/*
 * The emitters are global functions (not static, not inlined): the verifier
 * checks a global function once, on its own, instead of again for every
 * state the caller reaches the call in. The tls module's data return
 * programs went from 15,400 instructions verified (12.5 ms each) to 5,700
 * (3.4 ms). A global function's pointer argument may be NULL, hence the checks.
 */
#define PS_DEFINE_FIXED_EMITTER(name, type)                                                       \
	__noinline int ps_emit_fixed_##name(type *ev)                                             \
	{                                                                                         \
		type *rec;                                                                        \
                                                                                                  \
		if (!ev)                                                                          \
			return 0;                                                                 \
		rec = bpf_ringbuf_reserve(&ps_events, sizeof(type), 0);                           \
		if (!rec) {                                                                       \
			ps_loss_add(PS_LOSS_RINGBUF_EVENTS, 1);                                   \
			return 0;                                                                 \
		}                                                                                 \
		__builtin_memcpy(rec, ev, sizeof(type));                                          \
		bpf_ringbuf_submit(rec, ps_wakeup_flags(&ps_config.filter));                      \
		return 0;                                                                         \
	}

#define PS_DEFINE_EMITTER(name, type)                                                             \
	PS_DEFINE_CHUNK_CLASS(name, type, 512)                                                    \
	PS_DEFINE_CHUNK_CLASS(name, type, 4096)                                                   \
	PS_DEFINE_CHUNK_CLASS(name, type, 32768)                                                  \
                                                                                                  \
	static long ps_chunk_##name(__u32 i, void *arg)                                           \
	{                                                                                         \
		struct ps_chunk_ctx *c = arg;                                                     \
		__u64 off = (__u64)i * PS_CHUNK_MAX;                                              \
		__u32 n = PS_CHUNK_MAX;                                                           \
		int more, err;                                                                    \
                                                                                                  \
		if (c->len - off < PS_CHUNK_MAX)                                                  \
			n = c->len - off;                                                         \
		more = off + n < c->len && i + 1 < c->chunks;                                     \
		if (n <= 512)                                                                     \
			err = ps_chunk_##name##_512(c, off, n, more);                             \
		else if (n <= 4096)                                                               \
			err = ps_chunk_##name##_4096(c, off, n, more);                            \
		else                                                                              \
			err = ps_chunk_##name##_32768(c, off, n, more);                           \
		if (err) {                                                                        \
			ps_loss_add(PS_LOSS_RINGBUF_EVENTS, 1);                                   \
			ps_loss_add(PS_LOSS_RINGBUF_BYTES, n);                                    \
		}                                                                                 \
		return 0;                                                                         \
	}                                                                                         \
                                                                                                  \
	__noinline int ps_emit_##name(type *ev, __u64 src, __u64 len)                             \
	{                                                                                         \
		struct ps_chunk_ctx c = { .fixed = ev, .src = src, .len = len };                  \
		__u64 chunks = (len + PS_CHUNK_MAX - 1) / PS_CHUNK_MAX;                           \
                                                                                                  \
		if (!ev)                                                                          \
			return 0;                                                                 \
		if (chunks == 0)                                                                  \
			chunks = 1;                                                               \
		if (chunks > PS_CALL_MAX_CHUNKS) {                                                \
			ps_loss_add(PS_LOSS_TRUNC_BYTES, len - (__u64)PS_CALL_MAX_CHUNKS * PS_CHUNK_MAX); \
			chunks = PS_CALL_MAX_CHUNKS;                                              \
			c.len = (__u64)PS_CALL_MAX_CHUNKS * PS_CHUNK_MAX;                         \
		}                                                                                 \
		c.chunks = chunks;                                                                \
		bpf_loop(chunks, ps_chunk_##name, &c, 0);                                         \
		return 0;                                                                         \
	}                                                                                         \
                                                                                                  \
	static long ps_str_chunk_##name(__u32 i, void *arg)                                       \
	{                                                                                         \
		struct ps_chunk_ctx *c = arg;                                                     \
		__u64 off = (__u64)i * (PS_STRING_CHUNK - 1);                                     \
		type *rec;                                                                        \
		long got;                                                                         \
                                                                                                  \
		rec = bpf_ringbuf_reserve(&ps_events, sizeof(type) + PS_STRING_CHUNK, 0);         \
		if (!rec) {                                                                       \
			ps_loss_add(PS_LOSS_RINGBUF_EVENTS, 1);                                   \
			return 1;                                                                 \
		}                                                                                 \
		__builtin_memcpy(rec, (const type *)c->fixed, sizeof(type)); /* aligned: word copies */ \
		got = bpf_probe_read_user_str(rec->data, PS_STRING_CHUNK, (void *)(c->src + off)); \
		rec->hdr.var_off = off;                                                           \
		if (got <= 0) {                                                                   \
			rec->hdr.flags |= PS_EV_READ_FAIL;                                        \
			rec->hdr.var_len = 0;                                                     \
			ps_loss_add(PS_LOSS_READ_FAIL, 1);                                        \
			c->done = 1;                                                              \
		} else if (got == PS_STRING_CHUNK) {                                              \
			/* no NUL yet: the string goes on past this chunk */                      \
			rec->hdr.var_len = PS_STRING_CHUNK - 1;                                   \
			rec->hdr.flags |= PS_EV_MORE;                                             \
		} else {                                                                          \
			rec->hdr.var_len = got - 1;                                               \
			rec->hdr.var_total = off + got - 1;                                       \
			c->done = 1;                                                              \
		}                                                                                 \
		if (!c->done && i + 1 >= c->chunks) {                                             \
			rec->hdr.flags &= ~PS_EV_MORE;                                            \
			ps_loss_add(PS_LOSS_TRUNC_BYTES, 1);                                      \
		}                                                                                 \
		bpf_ringbuf_submit(rec, ps_wakeup_flags(&ps_config.filter));                                      \
		return c->done != 0;                                                              \
	}                                                                                         \
                                                                                                  \
	__noinline int ps_emit_str_##name(type *ev, __u64 src)                                    \
	{                                                                                         \
		struct ps_chunk_ctx c = { .fixed = ev, .src = src, .chunks = 4096 };              \
                                                                                                  \
		if (!ev)                                                                          \
			return 0;                                                                 \
		bpf_loop(c.chunks, ps_str_chunk_##name, &c, 0);                                   \
		return 0;                                                                         \
	}                                                                                         \
                                                                                                  \
	PS_DEFINE_FIXED_EMITTER(name, type)

#endif /* PLAINSIGHT_BPF_H */
