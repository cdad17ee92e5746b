/* SPDX-License-Identifier: MIT */
/*
 * Tells user space which process has just executed a new program, so that
 * runtime/target/reach.c can look at the program off the traced calls' path. A raw
 * tracepoint: no kprobes on the kernels we meet, and unlike a tracepoint no
 * tracefs to look its id up in. The program's inode and name travel too: a
 * process may be gone, /proc/PID/exe with it, before user space looks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "exec_event.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} ps_exec_events SEC(".maps");

/* Execs the ring buffer had no room for: user space counts them as unseen. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ps_exec_lost SEC(".maps");

/*
 * Processes whose exit user space wants to hear of (those using a copy of
 * the target that discovery attached to: runtime/bpf/copies.c), by pid.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	/* filled one pid at a time: preallocating 65536 elements cost ~15 ms of start-up */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u8);
} ps_exit_watched SEC(".maps");

static __always_inline struct ps_exec_event *reserve_event(__u32 kind)
{
	struct ps_exec_event *event = bpf_ringbuf_reserve(&ps_exec_events, sizeof(*event), 0);
	__u32 zero = 0;
	__u64 *lost;

	if (!event) {
		lost = bpf_map_lookup_elem(&ps_exec_lost, &zero);
		if (lost)
			__sync_fetch_and_add(lost, 1);
		return NULL;
	}
	event->kind = kind;
	/* after exec the calling thread is the group leader: its tgid is the pid */
	event->pid = bpf_get_current_pid_tgid() >> 32;
	event->uid = (__u32)bpf_get_current_uid_gid();
	return event;
}

SEC("raw_tp/sched_process_exec")
int ps_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct ps_exec_event *event = reserve_event(PS_EXEC_EVENT_EXEC);
	struct linux_binprm *bprm;
	struct inode *inode;
	long len;

	if (!event)
		return 0;
	/* args: (struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
	bprm = (struct linux_binprm *)ctx->args[2];
	inode = BPF_CORE_READ(bprm, file, f_inode);
	event->ino = BPF_CORE_READ(inode, i_ino);
	event->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	/* interp: the interpreter of a script, else the name exec was given */
	len = bpf_probe_read_kernel_str(event->path, sizeof(event->path), BPF_CORE_READ(bprm, interp));
	event->path_truncated = len < 0 || len >= (long)sizeof(event->path);
	bpf_ringbuf_submit(event, 0);
	return 0;
}

/* An event about no file: no inode, and an empty path marked cut, so no one takes it for a name. */
static __always_inline void submit_without_file(struct ps_exec_event *event)
{
	event->ino = 0;
	event->dev = 0;
	event->path_truncated = 1;
	event->path[0] = '\0';
	bpf_ringbuf_submit(event, 0);
}

/*
 * The dynamic loader calls _dl_debug_state (the r_debug hook debuggers
 * break on) once the libraries a program needs are mapped, and after each
 * dlopen: the moment /proc/PID/maps shows them, however short the program.
 */
SEC("uprobe")
int ps_libraries_mapped(void *ctx)
{
	struct ps_exec_event *event = reserve_event(PS_EXEC_EVENT_LIBRARIES);

	if (!event)
		return 0;
	submit_without_file(event);
	return 0;
}

/*
 * A process's last thread exits (signal->live has dropped to 0 before this
 * tracepoint, in do_exit): its mappings go, and a copy no process maps any
 * more can be released.
 */
SEC("raw_tp/sched_process_exit")
int ps_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct ps_exec_event *event;
	__u32 pid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, signal, live.counter) != 0 || !bpf_map_lookup_elem(&ps_exit_watched, &pid))
		return 0;
	bpf_map_delete_elem(&ps_exit_watched, &pid);
	event = reserve_event(PS_EXEC_EVENT_EXIT);
	if (!event)
		return 0;
	event->pid = pid;
	submit_without_file(event);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
