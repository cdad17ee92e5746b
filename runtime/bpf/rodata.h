/* SPDX-License-Identifier: MIT */
/* The read-only variables a BPF object takes from the runtime before loading. */
#ifndef PS_RODATA_H
#define PS_RODATA_H

#include <stdbool.h>
#include <stdint.h>

struct bpf_object;

/*
 * Points *data at the initial value of the .rodata variable `name` of an
 * opened (not yet loaded) object, found through its BTF, and sets *size.
 * -ENOENT when the object has no such variable.
 */
int ps_rodata_var(struct bpf_object *obj, const char *name, void **data, uint32_t *size);

/*
 * Whether two objects' .rodata images are the same bytes: configured (opened)
 * or loaded (libbpf keeps the image mapped), they then read the same offsets,
 * addresses and filter. false when either has none.
 */
bool ps_rodata_equal(struct bpf_object *a, struct bpf_object *b);

#endif
