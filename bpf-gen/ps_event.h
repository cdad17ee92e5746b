/* SPDX-License-Identifier: MIT */
/*
 * Types shared by the kernel half (every generated *.bpf.c) and the user half
 * (runtime/) of plainsight. Both sides include this file, so every record in
 * the ring buffer has one definition. Generated event structs embed
 * struct ps_event_header first and are checked with _Static_assert.
 */
#ifndef PS_EVENT_H
#define PS_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PS_COMM_LEN 16
#define PS_TTY_LEN 16

/*
 * Variable-length data (a bytes or string field) travels in chunks of at most
 * PS_CHUNK_MAX bytes, one ring-buffer record each, so that one 4 MiB SSL_write
 * becomes 128 records that user space joins again. Records are sized by
 * class (see ps_chunk_class in plainsight.bpf.h), not all PS_CHUNK_MAX.
 */
#define PS_CHUNK_MAX 32768
/* Bound on one call's data: 32768 chunks of 32 KiB = 1 GiB; the rest is counted as truncated. */
#define PS_CALL_MAX_CHUNKS 32768

/*
 * Key of a call's saved entry state (the ps_saved map): one slot per thread
 * (C) or goroutine (Go: its g pointer, for a goroutine may resume on another
 * thread between entry and return), per process and hook. A process that
 * dies inside a call leaves its slot: the runtime removes it once the process
 * is gone, and counts the call as interrupted (probes.h).
 */
struct ps_saved_key {
	__u64 thread;
	__u32 tgid;
	__u32 hook;
};

/* ps_event_header.flags */
#define PS_EV_MORE      0x1 /* another chunk of this call's data follows */
#define PS_EV_READ_FAIL 0x2 /* the data could not be read from user memory */

struct ps_event_header {
	__u64 mono_ns;      /* bpf_ktime_get_ns() at the call: chunks of one call share it */
	__u64 var_off;      /* where this chunk starts in the call's data */
	__u64 var_total;    /* whole length of the call's data; 0 for strings */
	__u32 pid;          /* tgid */
	__u32 tid;
	__u32 uid;
	__u32 var_len;      /* bytes of data following the fixed part */
	__u32 present;      /* bit n set: optional field n has a value */
	__u16 event_id;     /* index into the module's event table */
	__u16 hook_id;      /* index into the module's hook table */
	__u16 flags;        /* PS_EV_* */
	__u16 fixed_size;   /* size of the event struct before the data */
	__u32 cpu;          /* where the record was made, for debugging */
	char comm[PS_COMM_LEN];     /* the process's name: its thread group leader's comm */
	char thread[PS_COMM_LEN];   /* the calling thread's own name ("MainThread" in Node.js) */
	char tty[PS_TTY_LEN];       /* the controlling terminal's line name ("pts3"); "" when none */
};

/* A TCP/UDP connection as the kernel's struct sock_common sees it. */
struct ps_tuple {
	__u16 family;       /* AF_INET, AF_INET6, or 0 when unknown */
	__u16 sport;        /* host byte order */
	__u16 dport;        /* host byte order */
	__u16 proto;        /* IPPROTO_TCP, IPPROTO_UDP */
	__u8 saddr[16];     /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
};

/* Indices into the per-CPU loss counters (map ps_loss). */
enum ps_loss_kind {
	PS_LOSS_RINGBUF_EVENTS = 0, /* records the ring buffer had no room for */
	PS_LOSS_RINGBUF_BYTES,      /* data bytes in those records */
	PS_LOSS_READ_FAIL,          /* data that user memory did not yield */
	PS_LOSS_SAVE_FULL,          /* calls whose entry state found no map slot */
	PS_LOSS_TRUNC_BYTES,        /* data beyond PS_CALL_MAX_CHUNKS chunks in one call */
	PS_LOSS_NO_ENTRY,           /* returns without entry state: reported, not a loss */
	PS_LOSS_INTERRUPTED,        /* calls whose thread ended inside them (ps_thread_exit): not a loss */
	PS_LOSS_KINDS
};

/*
 * The part of every module's configuration that the runtime always fills;
 * generated modules append their offsets table after it.
 */
struct ps_filter {
	__u32 pid;          /* 0: all processes */
	__u32 uid;          /* only when has_uid */
	__u32 has_uid;
	__u32 self_pid;     /* never trace plainsight itself */
	__u32 events_off;   /* a bit per event id below 32: nothing reads it, so it is not emitted */
	__u32 lossless;     /* --lossless: stop a process that fills the ring past a quarter (ps_stopped) */
	__u32 go_stack_abi; /* the layout's `abi stack;`: `abi go` hooks read Go's stack ABI (bpf-gen/plainsight.bpf.h) */
	__u32 ring_bytes;   /* the ring's size (--mapsize), fixed at load; 0: ask the ring */
};

#endif /* PS_EVENT_H */
