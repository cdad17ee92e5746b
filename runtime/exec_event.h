/* SPDX-License-Identifier: MIT */
/* The record exec_watch.bpf.c sends for each exec; both halves include this file. */
#ifndef PS_EXEC_EVENT_H
#define PS_EXEC_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct ps_exec_event {
	__u32 pid;                  /* the process that has just become a new program */
	__u32 uid;
};

#endif
