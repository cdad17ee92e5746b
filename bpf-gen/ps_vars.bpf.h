/* SPDX-License-Identifier: MIT */
/*
 * `var NAME: TYPE per thread|process;` (specs/README.md): the map and helpers
 * generated code calls (ps_var_get, ps_var_set, ps_var_clear). Included by a
 * generated .bpf.c after plainsight.bpf.h, only when its module has variables.
 */
#ifndef PS_VARS_BPF_H
#define PS_VARS_BPF_H

/* `var NAME ... per thread|process`: one slot per variable and thread or process. */
struct ps_var_key {
	__u32 var;
	__u32 id;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ps_var_key);
	__type(value, __s64);
} ps_vars SEC(".maps");

static __always_inline struct ps_var_key ps_var_key(__u32 var, int per_process)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ps_var_key key = { .var = var, .id = per_process ? pid_tgid >> 32 : (__u32)pid_tgid };

	return key;
}

static __always_inline int ps_var_get(__u32 var, int per_process, __s64 *value)
{
	struct ps_var_key key = ps_var_key(var, per_process);
	__s64 *slot = bpf_map_lookup_elem(&ps_vars, &key);

	if (!slot)
		return -1;
	*value = *slot;
	return 0;
}

static __always_inline void ps_var_set(__u32 var, int per_process, __s64 value)
{
	struct ps_var_key key = ps_var_key(var, per_process);

	bpf_map_update_elem(&ps_vars, &key, &value, BPF_ANY);
}

static __always_inline void ps_var_clear(__u32 var, int per_process)
{
	struct ps_var_key key = ps_var_key(var, per_process);

	bpf_map_delete_elem(&ps_vars, &key);
}

#endif
