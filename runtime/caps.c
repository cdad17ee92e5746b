/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "caps.h"

bool ps_cap_effective(enum ps_cap cap)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned long long caps = ~0ull;
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	if (f)
		fclose(f);
	return caps & (1ull << cap);
}

/* The three 64-bit sets, as capget/capset take them (two 32-bit halves; glibc has no wrapper). */
struct cap_sets {
	uint64_t effective, permitted, inheritable;
};

static int caps_get(struct cap_sets *sets)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &header, data) != 0)
		return -errno;
	sets->effective = data[0].effective | (uint64_t)data[1].effective << 32;
	sets->permitted = data[0].permitted | (uint64_t)data[1].permitted << 32;
	sets->inheritable = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
	return 0;
}

static int caps_set(const struct cap_sets *sets)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
		{ (uint32_t)sets->effective, (uint32_t)sets->permitted, (uint32_t)sets->inheritable },
		{ (uint32_t)(sets->effective >> 32), (uint32_t)(sets->permitted >> 32),
		  (uint32_t)(sets->inheritable >> 32) },
	};

	return syscall(SYS_capset, &header, data) == 0 ? 0 : -errno;
}

/* The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap). */
static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = 63;

	if (f && fscanf(f, "%d", &last) != 1)
		last = 63;
	if (f)
		fclose(f);
	return last;
}

int ps_caps_keep_only(uint64_t keep)
{
	struct cap_sets sets;
	int err = caps_get(&sets);

	if (err)
		return err;
	/* the bounding set first: dropping from it takes CAP_SETPCAP, which goes below */
	for (int cap = 0; cap <= cap_last(); cap++)
		if (!(keep & PS_CAP_BIT(cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EPERM)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -errno;
	sets.permitted &= keep;
	sets.effective &= sets.permitted;
	sets.inheritable &= sets.permitted;
	err = caps_set(&sets);
	if (err)
		return err;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : -errno;
}

bool ps_caps_bpf_usable_with(uint64_t keep, int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	struct cap_sets sets, lowered;
	bool usable;

	if (caps_get(&sets) != 0)
		return true;
	lowered = sets;
	lowered.effective &= keep;
	if (caps_set(&lowered) != 0)
		return true;
	memset(&info, 0, sizeof(info));
	usable = bpf_obj_get_info_by_fd(fd, &info, &len) == 0;
	caps_set(&sets);
	return usable;
}
