/* SPDX-License-Identifier: MIT */
/* The events ring buffer, made ahead: see ring_prealloc.h. */
#include <bpf/bpf.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "ring_prealloc.h"

#define RING_MIN_KIB (8u << 10)
#define RING_MAX_KIB (64u << 10)

struct ps_ring_prealloc {
	pthread_t thread;
	uint32_t size_kib;
	bool joined;
	int fd;                    /* the ring, or a negative errno */
};

static uint64_t mem_available_kib(void)
{
	unsigned long long kib = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * Big enough to ride out the reader losing its CPU for a while during a
 * bulk transfer on both ends of a small machine (bench P2), small enough
 * to go unnoticed beside what is available.
 */
uint32_t ps_ring_default_kib(void)
{
	uint64_t want = mem_available_kib() / 256;
	uint32_t kib = RING_MIN_KIB;

	while (kib < RING_MAX_KIB && (uint64_t)kib * 2 <= want)
		kib *= 2;
	return kib;
}

static void *create_ring(void *arg)
{
	struct ps_ring_prealloc *ring = arg;
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ps_events", 0, 0, ring->size_kib * 1024u, NULL);

	ring->fd = fd < 0 ? -errno : fd;
	return NULL;
}

struct ps_ring_prealloc *ps_ring_prealloc_start(uint32_t size_kib)
{
	struct ps_ring_prealloc *ring = calloc(1, sizeof(*ring));
	sigset_t all, old;
	int err;

	if (!ring)
		return NULL;
	ring->size_kib = size_kib;
	ring->fd = -EAGAIN;
	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&ring->thread, NULL, create_ring, ring);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(ring);
		return NULL;
	}
	return ring;
}

static void wait_for_ring(struct ps_ring_prealloc *ring)
{
	if (!ring->joined) {
		pthread_join(ring->thread, NULL);
		ring->joined = true;
	}
}

int ps_ring_prealloc_fd(struct ps_ring_prealloc *ring)
{
	if (!ring)
		return -ENOENT;
	wait_for_ring(ring);
	return ring->fd;
}

void ps_ring_prealloc_free(struct ps_ring_prealloc *ring)
{
	if (!ring)
		return;
	wait_for_ring(ring);
	if (ring->fd >= 0)
		close(ring->fd);
	free(ring);
}
