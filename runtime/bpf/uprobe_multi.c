/* SPDX-License-Identifier: MIT */
/* Uprobes as multi links: see uprobe_multi.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "uprobe_multi.h"

/* enum bpf_attach_type and the link's return flag, as Linux 6.6 numbers them */
#define ATTACH_UPROBE_MULTI 48
#define UPROBE_MULTI_RETURN 1u

/* union bpf_attr's link_create for BPF_LINK_CREATE, with its uprobe_multi member (64 bytes) */
struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags;
	uint32_t pid;
	uint32_t pad;
};

bool ps_uprobe_multi_supported(void)
{
	struct utsname u;
	unsigned major, minor;

	return uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	       (major > 6 || (major == 6 && minor >= 6));
}

void ps_uprobe_multi_prepare(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *section = bpf_program__section_name(prog);

		if (strncmp(section, "uprobe", 6) == 0 || strncmp(section, "uretprobe", 9) == 0)
			bpf_program__set_expected_attach_type(prog, (enum bpf_attach_type)ATTACH_UPROBE_MULTI);
	}
}

int ps_uprobe_multi_attach(int prog_fd, const char *path, const unsigned long *offsets, size_t n, bool retprobe,
			   pid_t pid)
{
	struct link_create_uprobe_multi attr;
	long fd;

	if (n == 0 || n > UINT32_MAX)
		return -EINVAL;
	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (uint32_t)prog_fd;
	attr.attach_type = ATTACH_UPROBE_MULTI;
	attr.path = (uint64_t)(uintptr_t)path;
	attr.offsets = (uint64_t)(uintptr_t)offsets;
	attr.cnt = (uint32_t)n;
	attr.multi_flags = retprobe ? UPROBE_MULTI_RETURN : 0;
	attr.pid = pid > 0 ? (uint32_t)pid : 0;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : (int)fd;
}
