/* SPDX-License-Identifier: MIT */
/* Continuing the processes --lossless stopped: see backpressure.h. */
#include <bpf/bpf.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include "backpressure.h"
#include "log.h"

/* The map's size: more would mean processes stopped again as fast as they are continued. */
#define RELEASES_PER_CALL_MAX 4096

uint64_t ps_backpressure_release(int stopped_fd)
{
	uint64_t released = 0;
	uint32_t pid;

	if (stopped_fd < 0)
		return 0;
	/*
	 * Deleted before it is continued: a process the kernel side stops
	 * again at once is in the map again, not lost from it with no one to
	 * continue it.
	 */
	while (released < RELEASES_PER_CALL_MAX && bpf_map_get_next_key(stopped_fd, NULL, &pid) == 0) {
		bpf_map_delete_elem(stopped_fd, &pid);
		if (kill((pid_t)pid, SIGCONT) != 0 && errno != ESRCH)
			ps_debug("--lossless: cannot continue pid %u: %s", pid, strerror(errno));
		released++;
	}
	return released;
}
