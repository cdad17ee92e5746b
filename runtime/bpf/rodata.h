/* SPDX-License-Identifier: MIT */
/* The read-only variables a BPF object takes from the runtime before loading. */
#ifndef PS_RODATA_H
#define PS_RODATA_H

#include <stdint.h>

struct bpf_object;

/*
 * Points *data at the initial value of the .rodata variable `name` of an
 * opened (not yet loaded) object, found through its BTF, and sets *size.
 * -ENOENT when the object has no such variable.
 */
int ps_rodata_var(struct bpf_object *obj, const char *name, void **data, uint32_t *size);

#endif
