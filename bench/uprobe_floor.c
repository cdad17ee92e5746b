// SPDX-License-Identifier: MIT
/*
 * uprobe_floor OBJECT LIBRARY PID FUNCTION...: attaches uprobe_floor.bpf.o's
 * empty entry and return programs to each FUNCTION of LIBRARY (PID 0: every
 * process), says "ready" on stdout once all are attached and holds them
 * until SIGINT or SIGTERM.  The bench's floor: see bench/README.md.
 * A FUNCTION written +NAME gets the entry program only: what a hook with
 * no return probe would cost.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int attach_one(struct bpf_object *obj, struct bpf_link **links, const char *prog_name, bool retprobe,
		      const char *library, pid_t pid, const char *function)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe, .func_name = function);
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, prog_name);

	*links = prog ? bpf_program__attach_uprobe_opts(prog, pid, library, 0, &opts) : NULL;
	if (!*links) {
		fprintf(stderr, "uprobe_floor: cannot attach %s to %s in %s: %s\n", prog_name, function, library,
			strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_link **links;
	struct bpf_object *obj;
	sigset_t stopping, waiting;
	int n_funcs = argc - 4, n_links = 0, i, status = 1;
	pid_t pid;

	if (argc < 5) {
		fprintf(stderr, "usage: uprobe_floor OBJECT LIBRARY PID FUNCTION...\n");
		return 2;
	}
	pid = atoi(argv[3]) > 0 ? atoi(argv[3]) : -1;
	links = calloc((size_t)n_funcs * 2, sizeof(*links));
	obj = bpf_object__open_file(argv[1], NULL);
	if (!links || !obj || bpf_object__load(obj)) {
		fprintf(stderr, "uprobe_floor: cannot load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < n_funcs; i++) {
		const char *function = argv[4 + i];
		bool entry_only = function[0] == '+';

		function += entry_only;
		if (attach_one(obj, &links[n_links++], "floor_entry", false, argv[2], pid, function) ||
		    (!entry_only && attach_one(obj, &links[n_links++], "floor_return", true, argv[2], pid, function)))
			goto out;
	}
	/* blocked until sigsuspend, so a signal cannot slip in between the check and the wait */
	sigemptyset(&stopping);
	sigaddset(&stopping, SIGINT);
	sigaddset(&stopping, SIGTERM);
	sigprocmask(SIG_BLOCK, &stopping, &waiting);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop_requested)
		sigsuspend(&waiting);
	status = 0;
out:
	for (i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	free(links);
	return status;
}
