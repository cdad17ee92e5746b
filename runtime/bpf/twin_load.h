/* SPDX-License-Identifier: MIT */
/*
 * Verifying a module's programs on two cores. The kernel verifies one
 * program at a time per bpf() call, and libbpf loads an object's programs
 * one after the other: the tls module's two data return programs take ~10
 * ms each, most of its start-up. Two instances of the same object, opened
 * and configured alike and sharing every map (maps_ahead.h), split the
 * programs between them, and each is loaded on a thread of its own.
 */
#ifndef PS_TWIN_LOAD_H
#define PS_TWIN_LOAD_H

struct bpf_object;

/*
 * Loads obj, with twin (NULL: obj alone) taking about half of the
 * instructions to verify. A program stays in the object that loads it:
 * ps_twin_program finds it. 0, or the first failure's negative errno.
 */
int ps_twin_load(struct bpf_object *obj, struct bpf_object *twin);

/* The loaded instance of the program called name, from either object; NULL: not loaded. */
struct bpf_program *ps_twin_program(struct bpf_object *obj, struct bpf_object *twin, const char *name);

#endif
