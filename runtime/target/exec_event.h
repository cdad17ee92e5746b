/* SPDX-License-Identifier: MIT */
/* The record exec_watch.bpf.c sends for each exec; both halves include this file. */
#ifndef PS_EXEC_EVENT_H
#define PS_EXEC_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Longer names are cut: path_truncated says so, and user space does not open them. */
#define PS_EXEC_PATH_MAX 512

enum ps_exec_event_kind {
	PS_EXEC_EVENT_EXEC,         /* the process has just become a new program */
	PS_EXEC_EVENT_LIBRARIES,    /* its dynamic loader has just mapped libraries (only pid and uid are set) */
	PS_EXEC_EVENT_EXIT,         /* a process user space asked about has exited, its last thread (pid, uid) */
};

struct ps_exec_event {
	__u32 kind;                 /* enum ps_exec_event_kind */
	__u32 pid;
	__u32 uid;
	__u32 pad;
	__u64 ino;                  /* the program's file (the interpreter of a script) */
	__u32 dev;                  /* the kernel's encoding: major << 20 | minor */
	__u32 path_truncated;
	char path[PS_EXEC_PATH_MAX]; /* its name as exec was given it: may be relative */
};

#endif
