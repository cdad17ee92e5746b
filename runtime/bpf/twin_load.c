/* SPDX-License-Identifier: MIT */
/* Verifying a module's programs on two cores: see twin_load.h. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "twin_load.h"

struct twin_job {
	struct bpf_object *obj;
	int err;
};

/* Programs the object would load, biggest first. */
static int by_size_descending(const void *a, const void *b)
{
	size_t x = bpf_program__insn_cnt(*(struct bpf_program *const *)a);
	size_t y = bpf_program__insn_cnt(*(struct bpf_program *const *)b);

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Greedy: each program, biggest first, goes to the side with fewer
 * instructions so far. Verification time grows with a program's size,
 * roughly, which is all this needs.
 */
static int divide(struct bpf_object *obj, struct bpf_object *twin)
{
	struct bpf_program *prog, **progs;
	size_t n = 0, sizes[2] = { 0, 0 };

	bpf_object__for_each_program(prog, obj)
		n++;
	progs = calloc(n ? n : 1, sizeof(*progs));
	if (!progs)
		return -ENOMEM;
	n = 0;
	bpf_object__for_each_program(prog, obj)
		if (bpf_program__autoload(prog))
			progs[n++] = prog;
	qsort(progs, n, sizeof(*progs), by_size_descending);
	bpf_object__for_each_program(prog, twin)
		bpf_program__set_autoload(prog, false);
	for (size_t i = 0; i < n; i++) {
		int side = sizes[1] < sizes[0];
		struct bpf_program *copy = bpf_object__find_program_by_name(twin, bpf_program__name(progs[i]));

		if (!copy) {
			free(progs);
			return -ENOENT;
		}
		sizes[side] += bpf_program__insn_cnt(progs[i]);
		bpf_program__set_autoload(side ? copy : progs[i], true);
		bpf_program__set_autoload(side ? progs[i] : copy, false);
	}
	free(progs);
	return 0;
}

static void *load_job(void *arg)
{
	struct twin_job *job = arg;

	job->err = bpf_object__load(job->obj);
	return NULL;
}

int ps_twin_load(struct bpf_object *obj, struct bpf_object *twin)
{
	struct twin_job job = { .obj = twin };
	sigset_t all, old;
	pthread_t thread;
	int err;

	if (!twin || divide(obj, twin) != 0)
		return bpf_object__load(obj);
	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&thread, NULL, load_job, &job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		load_job(&job);
		err = bpf_object__load(obj);
	} else {
		err = bpf_object__load(obj);
		pthread_join(thread, NULL);
	}
	return err ? err : job.err;
}

struct bpf_program *ps_twin_program(struct bpf_object *obj, struct bpf_object *twin, const char *name)
{
	struct bpf_program *prog = name ? bpf_object__find_program_by_name(obj, name) : NULL;

	if (prog && bpf_program__fd(prog) < 0 && twin)
		prog = bpf_object__find_program_by_name(twin, name);
	return prog;
}
