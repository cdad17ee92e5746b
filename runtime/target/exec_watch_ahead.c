/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include "exec_watch_ahead.h"

struct ps_exec_watch_ahead {
	pthread_t thread;
	const char *btf_cache_dir;
	struct ps_exec_watch *watch;
};

static void *start_watch(void *arg)
{
	struct ps_exec_watch_ahead *ahead = arg;

	ahead->watch = ps_exec_watch_start(ahead->btf_cache_dir);
	return NULL;
}

struct ps_exec_watch_ahead *ps_exec_watch_start_ahead(const char *btf_cache_dir)
{
	struct ps_exec_watch_ahead *ahead = calloc(1, sizeof(*ahead));
	sigset_t all, old;
	int err;

	if (!ahead)
		return NULL;
	ahead->btf_cache_dir = btf_cache_dir;
	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&ahead->thread, NULL, start_watch, ahead);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(ahead);
		return NULL;
	}
	return ahead;
}

struct ps_exec_watch *ps_exec_watch_take(struct ps_exec_watch_ahead *ahead, const char *btf_cache_dir)
{
	struct ps_exec_watch *watch;

	if (!ahead)
		return ps_exec_watch_start(btf_cache_dir);
	pthread_join(ahead->thread, NULL);
	watch = ahead->watch;
	free(ahead);
	return watch;
}

void ps_exec_watch_ahead_free(struct ps_exec_watch_ahead *ahead)
{
	if (ahead)
		ps_exec_watch_stop(ps_exec_watch_take(ahead, NULL));
}
