// SPDX-License-Identifier: MIT
/*
 * Two floors for bench/run.sh, attached where plainsight attaches its data
 * hooks.
 *
 * floor_entry / floor_return do nothing: the throughput left is the cost
 * of the uprobe traps alone, the floor every uprobe-based capture sits on.
 *
 * copy_entry / copy_return do the least a capture must do on top of the
 * traps: remember the buffer at entry, and at return copy the bytes the
 * call moved into a ring buffer that user space empties and throws away.
 * The gap between the two floors is the price of getting the bytes out at
 * all, before any tool formats or writes them.
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define COPY_CHUNK 16384
#define COPY_MAX_CHUNKS 64


/* what the entry saw: the buffer and, for an _ex-style call, where the count goes */
struct copy_call {
	__u64 buf;
	__u64 count_at;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct copy_call);
} copy_pending SEC(".maps");

/* max_entries is set by uprobe_floor.c before the load */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
} copy_ring SEC(".maps");

/* the ring's size, written by uprobe_floor.c before the load */
const volatile __u64 copy_ring_bytes = 0;

/* [0]: bytes that found no room in the ring */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} copy_lost SEC(".maps");

SEC("uprobe")
int floor_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_return(void *ctx)
{
	return 0;
}

/* SSL_write(ssl, buf, num): the count is the return value */
SEC("uprobe")
int copy_entry(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct copy_call call = { .buf = PT_REGS_PARM2(ctx) };

	bpf_map_update_elem(&copy_pending, &tid, &call, BPF_ANY);
	return 0;
}

/*
 * SSL_write_ex(ssl, buf, num, &written), and OpenSSL 3's ssl_write_internal
 * and ssl_read_internal, where plainsight hooks: the return value says
 * success, the count goes through the fourth argument.
 */
SEC("uprobe")
int copy_entry_ex(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct copy_call call = { .buf = PT_REGS_PARM2(ctx), .count_at = PT_REGS_PARM4(ctx) };

	bpf_map_update_elem(&copy_pending, &tid, &call, BPF_ANY);
	return 0;
}

/* Wakes the reader only once the ring is a sixteenth full, as plainsight does. */
static __always_inline __u64 wakeup_flags(void)
{
	__u64 pending = bpf_ringbuf_query(&copy_ring, BPF_RB_AVAIL_DATA);

	return pending >= copy_ring_bytes / 16 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

struct copy_walk {
	__u64 src;
	__u64 moved;
	__u64 off;
};

/*
 * Records come in three sizes, as plainsight's do (bpf-gen/plainsight.bpf.h),
 * so a 100-byte read does not take a 16 KiB record; each size is its own
 * function because bpf_ringbuf_reserve wants a constant.
 */
#define DEFINE_COPY_CLASS(cls)                                                             \
	static __noinline int copy_class_##cls(__u64 src, __u64 n)                         \
	{                                                                                  \
		struct {                                                                   \
			__u32 len;                                                         \
			__u32 pad;                                                         \
			__u8 data[cls];                                                    \
		} *rec = bpf_ringbuf_reserve(&copy_ring, sizeof(*rec), 0);                 \
                                                                                           \
		if (!rec)                                                                  \
			return -1;                                                         \
		asm volatile("" : "+r"(n));                                                \
		if (n > (cls))                                                             \
			n = (cls);                                                         \
		rec->len = n;                                                              \
		bpf_probe_read_user(rec->data, n, (void *)src);                            \
		bpf_ringbuf_submit(rec, wakeup_flags());                                   \
		return 0;                                                                  \
	}
DEFINE_COPY_CLASS(512)
DEFINE_COPY_CLASS(4096)
DEFINE_COPY_CLASS(COPY_CHUNK)

/* one bpf_loop step: the next chunk of at most COPY_CHUNK bytes */
static long copy_chunk(__u64 index, struct copy_walk *walk)
{
	__u32 zero = 0;
	__u64 n, *lost;
	int err;

	if (walk->off >= walk->moved)
		return 1;
	n = walk->moved - walk->off;
	if (n > COPY_CHUNK)
		n = COPY_CHUNK;
	if (n <= 512)
		err = copy_class_512(walk->src + walk->off, n);
	else if (n <= 4096)
		err = copy_class_4096(walk->src + walk->off, n);
	else
		err = copy_class_COPY_CHUNK(walk->src + walk->off, n);
	if (err) {
		lost = bpf_map_lookup_elem(&copy_lost, &zero);
		if (lost)
			__sync_fetch_and_add(lost, n);
	}
	walk->off += n;
	return 0;
}

SEC("uretprobe")
int copy_return(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	/* these functions return int: the upper half of rax is not theirs */
	long moved = (int)PT_REGS_RC(ctx);
	struct copy_call *call = bpf_map_lookup_elem(&copy_pending, &tid);
	struct copy_walk walk = {};
	__u64 count_at;

	if (!call)
		return 0;
	walk.src = call->buf;
	count_at = call->count_at;
	bpf_map_delete_elem(&copy_pending, &tid);
	if (moved <= 0)
		return 0;
	if (count_at && bpf_probe_read_user(&moved, sizeof(moved), (void *)count_at))
		return 0;
	if (moved <= 0)
		return 0;
	walk.moved = moved;
	bpf_loop(COPY_MAX_CHUNKS, copy_chunk, &walk, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
