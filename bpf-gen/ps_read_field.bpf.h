/* SPDX-License-Identifier: MIT */
/*
 * Reads through a layout's offsets: included by a generated .bpf.c after its
 * `ps_config` (whose off[] the runtime writes before loading), only when a
 * hook reads a struct field.
 */
#ifndef PS_READ_FIELD_BPF_H
#define PS_READ_FIELD_BPF_H

/* Reads a value of `size` bytes at user address base + off[off_id]; 0 on success. */
static __always_inline int ps_read_field(void *dst, __u32 size, __u64 base, __u32 off_id)
{
	__s32 off = ps_config.off[off_id];

	if (off < 0 || base == 0)
		return -1;
	return bpf_probe_read_user(dst, size, (void *)(base + off));
}

#endif
