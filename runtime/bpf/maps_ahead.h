/* SPDX-License-Identifier: MIT */
/*
 * The probes' maps, made on a thread of their own while start-up reads the
 * target and checks its layout. Making them is kernel work the main thread
 * would otherwise wait for: the kernel zeroes every page of a new ring (tens
 * of milliseconds for the default size on a VM) and fills every preallocated
 * LRU map's free list. The object then takes each one over (bpf_map__reuse_fd)
 * instead of making its own; a map the object defines differently after all
 * (another hook set, a resized map) is made by the object as before.
 */
#ifndef PS_MAPS_AHEAD_H
#define PS_MAPS_AHEAD_H

#include <stdint.h>

struct bpf_object;
struct ps_hookset_desc;
struct ps_maps_ahead;
struct ps_ring_reader;

/* The default ring size: a 256th of the memory available, 8 to 64 MiB, a power of two. */
uint32_t ps_ring_default_kib(void);

/*
 * Starts making the ring (ring_kib) and the other maps of the hook set's
 * object; NULL when no thread could be started (the object makes its own).
 */
struct ps_maps_ahead *ps_maps_ahead_start(uint32_t ring_kib, const struct ps_hookset_desc *hookset);

/*
 * Waits for the thread and hands each map made ahead whose definition
 * matches to obj (opened, not loaded); returns how many, or a negative errno
 * when the ring could not be made (the caller then lets the object make it).
 */
int ps_maps_ahead_use(struct ps_maps_ahead *ahead, struct bpf_object *obj);

/*
 * The ring made ahead, mapped for reading (ring_reader.h), once
 * ps_maps_ahead_use gave it to the object; the caller's from then on. NULL:
 * it could not be mapped ahead.
 */
struct ps_ring_reader *ps_maps_ahead_take_reader(struct ps_maps_ahead *ahead);

/* Waits for the thread and closes what it made (the object keeps copies). NULL is fine. */
void ps_maps_ahead_free(struct ps_maps_ahead *ahead);

#endif
