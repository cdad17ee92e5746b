/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include "exec_watch.h"
#include "exec_watch_ahead.h"

/* The least a thread can ask for: it runs only where no other work would. */
#define AHEAD_NICE 19

struct ps_exec_watch_ahead {
	pthread_t thread;
	const char *btf_cache_dir;
	struct ps_exec_watch *watch;
};

static void *load_thread(void *arg)
{
	struct ps_exec_watch_ahead *ahead = arg;

	/* a thread's own nice value (setpriority takes a thread id on Linux); raising it needs no privilege */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), AHEAD_NICE);
	ahead->watch = ps_exec_watch_start(ahead->btf_cache_dir);
	return NULL;
}

/* With every signal blocked: a Ctrl-C during start-up is the main thread's to see. */
struct ps_exec_watch_ahead *ps_exec_watch_ahead_start(const char *btf_cache_dir)
{
	struct ps_exec_watch_ahead *ahead = calloc(1, sizeof(*ahead));
	sigset_t all, old;
	int err;

	if (!ahead)
		return NULL;
	ahead->btf_cache_dir = btf_cache_dir;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&ahead->thread, NULL, load_thread, ahead);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(ahead);
		return NULL;
	}
	return ahead;
}

struct ps_exec_watch *ps_exec_watch_ahead_take(struct ps_exec_watch_ahead *ahead, const char *btf_cache_dir)
{
	struct ps_exec_watch *watch;

	if (!ahead)
		return ps_exec_watch_start(btf_cache_dir);
	pthread_join(ahead->thread, NULL);
	watch = ahead->watch;
	free(ahead);
	return watch;
}

void ps_exec_watch_ahead_cancel(struct ps_exec_watch_ahead *ahead)
{
	if (ahead)
		ps_exec_watch_stop(ps_exec_watch_ahead_take(ahead, NULL));
}
