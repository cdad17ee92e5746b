/* SPDX-License-Identifier: MIT */
/* The probes' maps, made ahead: see maps_ahead.h. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "maps_ahead.h"
#include "meminfo.h"
#include "module.h"

#define RING_MIN_KIB (8u << 10)
#define RING_MAX_KIB (64u << 10)
#define RING_NAME "ps_events"

/* One map made ahead, with the definition it was made from. */
struct made_map {
	char *name;                /* whole: the kernel keeps only 15 characters */
	enum bpf_map_type type;
	uint32_t key_size, value_size, max_entries, flags;
	int fd;
};

struct ps_maps_ahead {
	pthread_t thread;
	bool joined;
	uint32_t ring_kib;
	const struct ps_hookset_desc *hookset;
	int ring_fd;               /* or a negative errno */
	struct made_map *maps;
	size_t n_maps;
};

/*
 * Big enough to ride out the reader losing its CPU for a while during a
 * bulk transfer on both ends of a small machine (bench P2), small enough
 * to go unnoticed beside what is available.
 */
uint32_t ps_ring_default_kib(void)
{
	uint64_t want = ps_mem_available_kib() / 256;
	uint32_t kib = RING_MIN_KIB;

	while (kib < RING_MAX_KIB && (uint64_t)kib * 2 <= want)
		kib *= 2;
	return kib;
}

/* Data sections (.rodata) need their contents, which the plan decides: the object makes those. */
static bool made_by_object(const struct bpf_map *map)
{
	return bpf_map__is_internal(map) || strcmp(bpf_map__name(map), RING_NAME) == 0;
}

static void make_map(struct ps_maps_ahead *ahead, const struct bpf_map *map)
{
	struct made_map *m = &ahead->maps[ahead->n_maps];
	LIBBPF_OPTS(bpf_map_create_opts, create, .map_flags = bpf_map__map_flags(map));

	m->name = strdup(bpf_map__name(map));
	if (!m->name)
		return;
	m->type = bpf_map__type(map);
	m->key_size = bpf_map__key_size(map);
	m->value_size = bpf_map__value_size(map);
	m->max_entries = bpf_map__max_entries(map);
	m->flags = bpf_map__map_flags(map);
	m->fd = bpf_map_create(m->type, m->name, m->key_size, m->value_size, m->max_entries, &create);
	if (m->fd >= 0) {
		ahead->n_maps++;
		return;
	}
	ps_debug("map %s not made ahead: %s", m->name, strerror(errno));
	free(m->name);
}

/* The hook set's own maps, as its object defines them before any configuration. */
static void make_object_maps(struct ps_maps_ahead *ahead)
{
	const struct ps_hookset_desc *hs = ahead->hookset;
	struct bpf_object *obj = bpf_object__open_mem(hs->bpf_obj, (size_t)(hs->bpf_obj_end - hs->bpf_obj), NULL);
	struct bpf_map *map;
	size_t n = 0;

	if (!obj)
		return;
	bpf_object__for_each_map(map, obj)
		n++;
	ahead->maps = calloc(n ? n : 1, sizeof(*ahead->maps));
	if (ahead->maps)
		bpf_object__for_each_map(map, obj)
			if (!made_by_object(map))
				make_map(ahead, map);
	bpf_object__close(obj);
}

static void *make_maps(void *arg)
{
	struct ps_maps_ahead *ahead = arg;
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, RING_NAME, 0, 0, ahead->ring_kib * 1024u, NULL);

	ahead->ring_fd = fd < 0 ? -errno : fd;
	if (ahead->hookset)
		make_object_maps(ahead);
	return NULL;
}

struct ps_maps_ahead *ps_maps_ahead_start(uint32_t ring_kib, const struct ps_hookset_desc *hookset)
{
	struct ps_maps_ahead *ahead = calloc(1, sizeof(*ahead));
	sigset_t all, old;
	int err;

	if (!ahead)
		return NULL;
	ahead->ring_kib = ring_kib;
	ahead->hookset = hookset;
	ahead->ring_fd = -EAGAIN;
	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&ahead->thread, NULL, make_maps, ahead);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(ahead);
		return NULL;
	}
	return ahead;
}

static void wait_for_thread(struct ps_maps_ahead *ahead)
{
	if (!ahead->joined) {
		pthread_join(ahead->thread, NULL);
		ahead->joined = true;
	}
}

static bool same_definition(const struct made_map *m, const struct bpf_map *map)
{
	return strcmp(m->name, bpf_map__name(map)) == 0 && m->type == bpf_map__type(map) &&
	       m->key_size == bpf_map__key_size(map) && m->value_size == bpf_map__value_size(map) &&
	       m->max_entries == bpf_map__max_entries(map) && m->flags == bpf_map__map_flags(map);
}

static int use_object_maps(struct ps_maps_ahead *ahead, struct bpf_object *obj)
{
	struct bpf_map *map;
	int used = 0;

	bpf_object__for_each_map(map, obj) {
		for (size_t i = 0; i < ahead->n_maps; i++) {
			if (!same_definition(&ahead->maps[i], map))
				continue;
			if (bpf_map__reuse_fd(map, ahead->maps[i].fd) == 0)
				used++;
			break;
		}
	}
	return used;
}

int ps_maps_ahead_use(struct ps_maps_ahead *ahead, struct bpf_object *obj)
{
	struct bpf_map *ring = bpf_object__find_map_by_name(obj, RING_NAME);
	int err;

	if (!ahead)
		return -ENOENT;
	wait_for_thread(ahead);
	if (ahead->ring_fd < 0 || !ring)
		return ahead->ring_fd < 0 ? ahead->ring_fd : -ENOENT;
	err = bpf_map__reuse_fd(ring, ahead->ring_fd);
	if (err)
		return err;
	return 1 + use_object_maps(ahead, obj);
}

void ps_maps_ahead_free(struct ps_maps_ahead *ahead)
{
	if (!ahead)
		return;
	wait_for_thread(ahead);
	if (ahead->ring_fd >= 0)
		close(ahead->ring_fd);
	for (size_t i = 0; i < ahead->n_maps; i++) {
		close(ahead->maps[i].fd);
		free(ahead->maps[i].name);
	}
	free(ahead->maps);
	free(ahead);
}
