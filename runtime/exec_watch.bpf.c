/* SPDX-License-Identifier: MIT */
/*
 * Tells user space which process has just executed a new program, so that
 * runtime/reach.c can look at the program off the traced calls' path. A raw
 * tracepoint: no kprobes on the kernels we meet, and unlike a tracepoint no
 * tracefs to look its id up in. Only the pid and uid travel: the program
 * itself is read from /proc/PID/exe.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "exec_event.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} ps_exec_events SEC(".maps");

/* Execs the ring buffer had no room for: user space counts them as unseen. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ps_exec_lost SEC(".maps");

SEC("raw_tp/sched_process_exec")
int ps_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct ps_exec_event *event = bpf_ringbuf_reserve(&ps_exec_events, sizeof(*event), 0);
	__u32 zero = 0;
	__u64 *lost;

	if (!event) {
		lost = bpf_map_lookup_elem(&ps_exec_lost, &zero);
		if (lost)
			__sync_fetch_and_add(lost, 1);
		return 0;
	}
	/* after exec the calling thread is the group leader: its tgid is the pid */
	event->pid = bpf_get_current_pid_tgid() >> 32;
	event->uid = (__u32)bpf_get_current_uid_gid();
	bpf_ringbuf_submit(event, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
