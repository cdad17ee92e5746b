/* SPDX-License-Identifier: MIT */
/* A traced process's name, when its main thread renamed itself. */
#ifndef PS_PROCNAME_H
#define PS_PROCNAME_H

#include <stdint.h>
#include "ps_event.h"

/*
 * The kernel names a process after the file it executed, in the thread group
 * leader's comm; records carry that comm (plainsight.bpf.h). But the leader is
 * the main thread, and a main thread may rename itself: Node.js 24 calls its
 * "MainThread". Then the name the program was started as is gone from the
 * kernel; the executable's file name is the nearest fact left. The leader's
 * comm stays when it names the executable, argv[0] (a symlink, a multi-call
 * binary: "sh" for dash, "vi") or argv[1] (a script run by its interpreter).
 */
struct ps_procnames;

struct ps_procnames *ps_procnames_new(void);
void ps_procnames_free(struct ps_procnames *names);

/*
 * The name of process pid whose leader's comm is leader, from /proc once per
 * pid and comm; the leader's comm when /proc has nothing (the process is gone).
 * Valid until the next call.
 */
const char *ps_procname(struct ps_procnames *names, uint32_t pid, const char leader[PS_COMM_LEN]);

/*
 * The rule above on its own: out gets the process's name (at most
 * PS_COMM_LEN - 1 bytes, as the kernel truncates a comm). exe, argv0 and argv1
 * are paths or names; "" when unknown.
 */
void ps_procname_choose(char out[PS_COMM_LEN], const char *leader, const char *exe, const char *argv0,
			const char *argv1);

#endif
