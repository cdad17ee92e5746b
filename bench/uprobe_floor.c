// SPDX-License-Identifier: MIT
/*
 * uprobe_floor [--copy RING_MIB] OBJECT LIBRARY PID FUNCTION...: attaches
 * uprobe_floor.bpf.o's entry and return programs to each FUNCTION of
 * LIBRARY (PID 0: every process), says "ready" on stdout once all are
 * attached and holds them until SIGINT or SIGTERM.  The bench's floors:
 * see bench/README.md.
 *
 * Without --copy the programs are empty: the traps alone.  With --copy the
 * return program copies the bytes each call moved (its return value, from
 * its second argument's buffer) into a ring of RING_MIB MiB that this
 * process empties and throws away; at the end it prints
 * "copied BYTES lost BYTES".
 *
 * A FUNCTION is a symbol name or a hexadecimal offset in LIBRARY (0x...,
 * as plainsight -d reports the internal functions it hooks).  Written
 * +FUNCTION it gets the entry program only: what a hook with no return
 * probe would cost.  Written FUNCTION/ex, --copy takes the count from the
 * fourth argument (SSL_write_ex, ssl_write_internal) instead of the
 * return value.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_MS 100

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* one FUNCTION argument, taken apart */
struct floor_target {
	char name[256];
	size_t offset;   /* when name is empty */
	bool entry_only; /* +FUNCTION */
	bool count_arg4; /* FUNCTION/ex */
};

static int parse_target(const char *arg, struct floor_target *t)
{
	const char *end;
	size_t len;

	memset(t, 0, sizeof(*t));
	t->entry_only = arg[0] == '+';
	arg += t->entry_only;
	end = strchr(arg, '/');
	len = end ? (size_t)(end - arg) : strlen(arg);
	if (end && strcmp(end, "/ex") != 0)
		return -1;
	t->count_arg4 = end != NULL;
	if (len == 0 || len >= sizeof(t->name))
		return -1;
	if (strncmp(arg, "0x", 2) == 0) {
		char *stop;

		t->offset = strtoull(arg, &stop, 16);
		return stop == arg + len ? 0 : -1;
	}
	memcpy(t->name, arg, len);
	return 0;
}

static int attach_one(struct bpf_object *obj, struct bpf_link **links, const char *prog_name, bool retprobe,
		      const char *library, pid_t pid, const struct floor_target *t)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe, .func_name = t->name[0] ? t->name : NULL);
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, prog_name);

	*links = prog ? bpf_program__attach_uprobe_opts(prog, pid, library, t->offset, &opts) : NULL;
	if (!*links) {
		fprintf(stderr, "uprobe_floor: cannot attach %s to %s (offset 0x%zx) in %s: %s\n", prog_name,
			t->name, t->offset, library, strerror(errno));
		return -1;
	}
	return 0;
}

static int count_copied(void *ctx, void *data, size_t size)
{
	(void)size;
	*(uint64_t *)ctx += *(const uint32_t *)data;
	return 0;
}

/* Empties the ring until a signal asks to stop, then once more. */
static int drain_copies(struct bpf_object *obj)
{
	struct bpf_map *lost_map = bpf_object__find_map_by_name(obj, "copy_lost");
	uint64_t copied = 0, lost = 0;
	uint32_t zero = 0;
	struct ring_buffer *rb;

	rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "copy_ring")), count_copied, &copied,
			      NULL);
	if (!rb) {
		fprintf(stderr, "uprobe_floor: cannot map the ring: %s\n", strerror(errno));
		return -1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop_requested) {
		/* the kernel side wakes this reader only under load, as plainsight's does */
		if (ring_buffer__poll(rb, POLL_MS) == 0)
			ring_buffer__consume(rb);
	}
	ring_buffer__consume(rb);
	bpf_map_lookup_elem(bpf_map__fd(lost_map), &zero, &lost);
	printf("copied %llu lost %llu\n", (unsigned long long)copied, (unsigned long long)lost);
	ring_buffer__free(rb);
	return 0;
}

/* copy_ring_bytes, the only variable in the object's .rodata */
static int set_ring_bytes(struct bpf_object *obj, uint64_t bytes)
{
	struct bpf_map *rodata = NULL, *map;
	size_t size = 0;
	uint64_t *value;

	bpf_object__for_each_map(map, obj)
		if (strstr(bpf_map__name(map), ".rodata"))
			rodata = map;
	/* libbpf 1.1 hands it out const; the bytes are ours until the load */
	value = rodata ? (uint64_t *)bpf_map__initial_value(rodata, &size) : NULL;
	if (!value || size < sizeof(*value)) {
		fprintf(stderr, "uprobe_floor: the object has no copy_ring_bytes\n");
		return -1;
	}
	*value = bytes;
	return 0;
}

static void wait_for_stop(void)
{
	sigset_t stopping, waiting;

	/* blocked until sigsuspend, so a signal cannot slip in between the check and the wait */
	sigemptyset(&stopping);
	sigaddset(&stopping, SIGINT);
	sigaddset(&stopping, SIGTERM);
	sigprocmask(SIG_BLOCK, &stopping, &waiting);
	printf("ready\n");
	fflush(stdout);
	while (!stop_requested)
		sigsuspend(&waiting);
}

int main(int argc, char **argv)
{
	const char *return_prog = "floor_return";
	unsigned long ring_mib = 0;
	bool copy = false;
	struct bpf_link **links;
	struct bpf_object *obj;
	int first = 1, n_funcs, n_links = 0, i, status = 1;
	pid_t pid;

	if (argc > 2 && strcmp(argv[1], "--copy") == 0) {
		ring_mib = strtoul(argv[2], NULL, 10);
		copy = true;
		return_prog = "copy_return";
		first = 3;
	}
	n_funcs = argc - first - 3;
	if (n_funcs < 1 || (first > 1 && (ring_mib == 0 || ring_mib > 2048 || (ring_mib & (ring_mib - 1))))) {
		fprintf(stderr, "usage: uprobe_floor [--copy RING_MIB (a power of 2, at most 2048)] "
				"OBJECT LIBRARY PID FUNCTION...\n");
		return 2;
	}
	pid = atoi(argv[first + 2]) > 0 ? atoi(argv[first + 2]) : -1;
	links = calloc((size_t)n_funcs * 2, sizeof(*links));
	obj = bpf_object__open_file(argv[first], NULL);
	if (!links || !obj) {
		fprintf(stderr, "uprobe_floor: cannot open %s: %s\n", argv[first], strerror(errno));
		return 1;
	}
	/* the empty floor never uses the ring: one page keeps it loadable */
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "copy_ring"),
				 ring_mib ? (uint32_t)(ring_mib << 20) : (uint32_t)getpagesize());
	if (set_ring_bytes(obj, (uint64_t)ring_mib << 20))
		return 1;
	if (bpf_object__load(obj)) {
		fprintf(stderr, "uprobe_floor: cannot load %s: %s\n", argv[first], strerror(errno));
		return 1;
	}
	for (i = 0; i < n_funcs; i++) {
		struct floor_target t;
		const char *entry_prog;

		if (parse_target(argv[first + 3 + i], &t)) {
			fprintf(stderr, "uprobe_floor: cannot read FUNCTION '%s' (NAME or 0xOFFSET, with + or /ex)\n",
				argv[first + 3 + i]);
			goto out;
		}
		entry_prog = !copy ? "floor_entry" : t.count_arg4 ? "copy_entry_ex" : "copy_entry";
		if (attach_one(obj, &links[n_links++], entry_prog, false, argv[first + 1], pid, &t) ||
		    (!t.entry_only && attach_one(obj, &links[n_links++], return_prog, true, argv[first + 1], pid, &t)))
			goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (ring_mib) {
		if (drain_copies(obj))
			goto out;
	} else {
		wait_for_stop();
	}
	status = 0;
out:
	for (i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	free(links);
	return status;
}
