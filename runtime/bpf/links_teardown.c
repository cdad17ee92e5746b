/* SPDX-License-Identifier: MIT */
/* Detaching many probes at once: see links_teardown.h. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "links_teardown.h"

#define MAX_THREADS 16

struct teardown {
	struct bpf_link **links;
	size_t n_links;
	const int *fds;
	size_t n_fds;
	size_t next; /* the next item to let go of, taken with __atomic_fetch_add */
};

static void *let_go(void *arg)
{
	struct teardown *t = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED)) < t->n_links + t->n_fds) {
		if (i < t->n_links)
			bpf_link__destroy(t->links[i]);
		else
			close(t->fds[i - t->n_links]);
	}
	return NULL;
}

void ps_links_teardown(struct bpf_link **links, size_t n_links, const int *fds, size_t n_fds)
{
	struct teardown t = { .links = links, .n_links = n_links, .fds = fds, .n_fds = n_fds };
	size_t total = n_links + n_fds;
	size_t want = total < MAX_THREADS ? total : MAX_THREADS;
	pthread_t threads[MAX_THREADS];
	size_t started = 0;
	pthread_attr_t attr;
	sigset_t all, old;

	/* no thread to be had: the caller's does it all */
	if (want > 1 && pthread_attr_init(&attr) == 0) {
		pthread_attr_setstacksize(&attr, 64 << 10);
		/* signals stay with the main thread */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		while (started + 1 < want && pthread_create(&threads[started], &attr, let_go, &t) == 0)
			started++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	let_go(&t);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}
