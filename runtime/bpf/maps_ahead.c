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
#include "ring_reader.h"
#include "module.h"

#define RING_MIN_KIB (8u << 10)
#define RING_MAX_KIB (64u << 10)
#define RING_NAME "ps_events"

/* One map made ahead, with the definition it was made from. */
struct made_map {
	char *name;                /* whole: the kernel keeps only 15 characters */
	enum bpf_map_type type;
	uint32_t key_size, value_size, max_entries, flags;
	int fd;                    /* or a negative errno: not made */
};

struct ps_maps_ahead {
	pthread_t thread;
	bool joined;
	uint32_t ring_kib;
	const struct ps_hookset_desc *hookset;
	int ring_fd;               /* or a negative errno */
	struct ps_ring_reader *reader; /* the ring mapped for reading; NULL: not done (the capture maps it) */
	struct made_map *maps;     /* the definitions, then the maps as made */
	size_t n_maps;
	/*
	 * The thread publishes the definitions first (defined, release), then
	 * makes the ring, then the maps. Each map goes to whoever claims its
	 * index first (next_map): a main thread that is ready before the thread
	 * is done makes the rest itself, both cores at work instead of one
	 * waiting (a LRU map's free list takes a millisecond or more to fill).
	 */
	bool defined;
	size_t next_map;
	/* the thread's maps are made: they can be used while it maps the ring for reading */
	pthread_mutex_t lock;
	pthread_cond_t made_changed;
	bool made;
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

static void make_map(struct made_map *m)
{
	LIBBPF_OPTS(bpf_map_create_opts, create, .map_flags = m->flags);

	m->fd = bpf_map_create(m->type, m->name, m->key_size, m->value_size, m->max_entries, &create);
	if (m->fd < 0) {
		m->fd = -errno;
		ps_debug("map %s not made ahead: %s", m->name, strerror(-m->fd));
	}
}

/* The hook set's own maps as its object defines them before any configuration; none made yet. */
static void define_object_maps(struct ps_maps_ahead *ahead)
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
	bpf_object__for_each_map(map, obj) {
		struct made_map *m = ahead->maps ? &ahead->maps[ahead->n_maps] : NULL;

		if (!m || made_by_object(map) || !(m->name = strdup(bpf_map__name(map))))
			continue;
		m->type = bpf_map__type(map);
		m->key_size = bpf_map__key_size(map);
		m->value_size = bpf_map__value_size(map);
		m->max_entries = bpf_map__max_entries(map);
		m->flags = bpf_map__map_flags(map);
		m->fd = -EAGAIN;
		ahead->n_maps++;
	}
	bpf_object__close(obj);
}

/* Makes the maps nobody has claimed yet, one claim at a time. */
static void make_unclaimed_maps(struct ps_maps_ahead *ahead)
{
	size_t i;

	while ((i = __atomic_fetch_add(&ahead->next_map, 1, __ATOMIC_RELAXED)) < ahead->n_maps)
		make_map(&ahead->maps[i]);
}

static void *make_maps(void *arg)
{
	struct ps_maps_ahead *ahead = arg;
	int fd;

	if (ahead->hookset)
		define_object_maps(ahead);
	__atomic_store_n(&ahead->defined, true, __ATOMIC_RELEASE);
	fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, RING_NAME, 0, 0, ahead->ring_kib * 1024u, NULL);
	ahead->ring_fd = fd < 0 ? -errno : fd;
	make_unclaimed_maps(ahead);
	pthread_mutex_lock(&ahead->lock);
	ahead->made = true;
	pthread_cond_broadcast(&ahead->made_changed);
	pthread_mutex_unlock(&ahead->lock);
	/* mapping the ring is kernel work too, done while the main thread has the programs verified */
	if (fd >= 0)
		ahead->reader = ps_ring_reader_new(fd);
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
	pthread_mutex_init(&ahead->lock, NULL);
	pthread_cond_init(&ahead->made_changed, NULL);
	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&ahead->thread, NULL, make_maps, ahead);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&ahead->made_changed);
		pthread_mutex_destroy(&ahead->lock);
		free(ahead);
		return NULL;
	}
	return ahead;
}

static void wait_for_maps(struct ps_maps_ahead *ahead)
{
	pthread_mutex_lock(&ahead->lock);
	while (!ahead->made)
		pthread_cond_wait(&ahead->made_changed, &ahead->lock);
	pthread_mutex_unlock(&ahead->lock);
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
			if (ahead->maps[i].fd < 0 || !same_definition(&ahead->maps[i], map))
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
	/* the thread is still at work: this thread makes the maps it has not come to yet */
	if (__atomic_load_n(&ahead->defined, __ATOMIC_ACQUIRE))
		make_unclaimed_maps(ahead);
	wait_for_maps(ahead);
	if (ahead->ring_fd < 0 || !ring)
		return ahead->ring_fd < 0 ? ahead->ring_fd : -ENOENT;
	err = bpf_map__reuse_fd(ring, ahead->ring_fd);
	if (err)
		return err;
	return 1 + use_object_maps(ahead, obj);
}

struct ps_ring_reader *ps_maps_ahead_take_reader(struct ps_maps_ahead *ahead)
{
	struct ps_ring_reader *reader;

	if (!ahead)
		return NULL;
	wait_for_thread(ahead);
	reader = ahead->reader;
	ahead->reader = NULL;
	return reader;
}

void ps_maps_ahead_free(struct ps_maps_ahead *ahead)
{
	if (!ahead)
		return;
	wait_for_thread(ahead);
	ps_ring_reader_free(ahead->reader);
	if (ahead->ring_fd >= 0)
		close(ahead->ring_fd);
	for (size_t i = 0; i < ahead->n_maps; i++) {
		if (ahead->maps[i].fd >= 0)
			close(ahead->maps[i].fd);
		free(ahead->maps[i].name);
	}
	free(ahead->maps);
	pthread_cond_destroy(&ahead->made_changed);
	pthread_mutex_destroy(&ahead->lock);
	free(ahead);
}
