/* SPDX-License-Identifier: MIT */
/*
 * The events ring buffer, created on a thread of its own while start-up
 * reads the target and checks its layout: the kernel zeroes every page of
 * a new ring, tens of milliseconds for the default size on a VM, and the
 * probes' object then takes it over instead of making its own.
 */
#ifndef PS_RING_PREALLOC_H
#define PS_RING_PREALLOC_H

#include <stdint.h>

struct ps_ring_prealloc;

/* The default ring size: a 256th of the memory available, 8 to 64 MiB, a power of two. */
uint32_t ps_ring_default_kib(void);

/* Starts creating a ring of size_kib; NULL when no thread could be started (the object makes its own). */
struct ps_ring_prealloc *ps_ring_prealloc_start(uint32_t size_kib);

/* Waits for the ring: its fd (still the ring's: dup it to keep it), or a negative errno. */
int ps_ring_prealloc_fd(struct ps_ring_prealloc *ring);

/* Waits for the thread and closes the ring's fd. NULL is fine. */
void ps_ring_prealloc_free(struct ps_ring_prealloc *ring);

#endif
