/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "copies.h"
#include "exec_watch.h"
#include "exec_watch_ahead.h"
#include "log.h"
#include "reach.h"
#include "reach_watch.h"

struct ps_reach_watch {
	struct ps_reach *reach;
	struct ps_exec_watch *exec_watch;
	struct ps_copies *copies;   /* discovery: every copy of the target; NULL: only the one given */
	struct ps_writer *writer;
	bool status_line;           /* a status line may sit unterminated on stderr */
	const char *module;
};

/* The status line's width, overwritten by a notice shorter than it. */
#define STATUS_LINE_WIDTH 80

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A line of its own on stderr, over the status line when one is shown; line is freed. */
static void print_line(const struct ps_reach_watch *watch, char *line)
{
	if (watch->status_line)
		fprintf(stderr, "\r%-*s\n", STATUS_LINE_WIDTH, line);
	else
		fprintf(stderr, "%s\n", line);
	free(line);
}

static void on_notice(const struct ps_notice *notice, void *arg)
{
	struct ps_reach_watch *watch = arg;
	char *line = NULL;
	int len = asprintf(&line, "plainsight: not traced: %s (pid %u): %s", notice->exe, notice->pid,
			   notice->reason);

	if (len < 0)
		return;
	print_line(watch, line);
	/* a failed output is sticky in the writer: the next record reports it */
	ps_writer_notice(watch->writer, notice);
}

/* "; also in B, C": the other files of a copy of several targets (NSS's freebl and NSPR). */
static int append_also(char **line, const struct ps_attachment *a)
{
	char *longer = NULL;
	int len = 0;

	for (size_t i = 0; i < a->n_also && len >= 0; i++) {
		len = asprintf(&longer, "%s%s%s", *line, i ? ", " : "; also in ", a->also[i]);
		free(*line);
		*line = len >= 0 ? longer : NULL;
	}
	return len;
}

/* One stderr line per new attachment (status line or not), and a json record. */
static void on_attachment(const struct ps_attachment *a, void *arg)
{
	struct ps_reach_watch *watch = arg;
	char *line = NULL;
	int len;

	if (a->released)
		len = asprintf(&line, "plainsight: released %s from %s: no process maps it any more (pid %u was the last)",
			       watch->module, a->path, a->pid);
	else if (a->version[0])
		len = asprintf(&line, "plainsight: attached %s to %s of pid %u (%s%sversion %s, layout %s), %u probes%s",
			       watch->module, a->path, a->pid, a->product ? a->product : "", a->product ? " " : "",
			       a->version, a->layout, a->n_uprobes, a->note ? a->note : "");
	else
		len = asprintf(&line, "plainsight: attached %s to %s of pid %u (version unknown, no layout), %u probes%s",
			       watch->module, a->path, a->pid, a->n_uprobes, a->note ? a->note : "");
	if (len >= 0 && a->n_also)
		len = append_also(&line, a);
	if (len < 0)
		return;
	print_line(watch, line);
	if (!a->released)
		ps_debug("attached through %s in %.1f ms", a->opened, a->attach_ns / 1e6);
	ps_writer_attachment(watch->writer, a);
}

static int attach_copy(uint32_t pid, const char *path, dev_t dev, ino_t ino, void *arg)
{
	struct ps_reach_watch *watch = arg;

	return ps_copies_attach(watch->copies, pid, path, dev, ino);
}

static bool watch_exit(uint32_t pid, void *arg)
{
	struct ps_reach_watch *watch = arg;

	return ps_exec_watch_exit_of(watch->exec_watch, pid) == 0;
}

static int on_exec_event(void *ctx, void *data, size_t size)
{
	struct ps_reach_watch *watch = ctx;
	const struct ps_exec_event *event = data;

	if (size < sizeof(*event))
		return 0;
	if (event->kind == PS_EXEC_EVENT_EXEC)
		ps_reach_exec(watch->reach, event, monotonic_ns());
	else if (event->kind == PS_EXEC_EVENT_LIBRARIES)
		ps_reach_libraries_mapped(watch->reach, event->pid, event->uid);
	else if (event->kind == PS_EXEC_EVENT_EXIT)
		ps_copies_process_exit(watch->copies, event->pid);
	return 0;
}

static struct ps_reach *reach_new(const struct ps_options *opts, const struct ps_plan *plan,
				  struct ps_reach_watch *watch)
{
	struct ps_reach_opts reach_opts = {
		.module = opts->module->name,
		.attached = plan->watch_only ? NULL : plan->targets[0].path,
		.override_flag = opts->module->targets[0].override_flag >= 0 ?
				 opts->module->flags[opts->module->targets[0].override_flag].name : "libssl",
		.self_pid = (uint32_t)getpid(),
		.has_uid = opts->has_uid,
		.uid = opts->uid,
		.notify = on_notice,
		.attach_copy = watch->copies ? attach_copy : NULL,
		.arg = watch,
	};

	return ps_reach_new(&reach_opts);
}

bool ps_reach_watch_wanted(const struct ps_options *opts)
{
	return !opts->pid && opts->module->n_targets && ps_tls_stacks_probed_by(opts->module->name);
}

struct ps_reach_watch *ps_reach_watch_start(const struct ps_options *opts, const struct ps_plan *plan,
					    const struct ps_probes *probes, struct ring_buffer *rb,
					    struct ps_writer *writer, bool status_line,
					    struct ps_exec_watch_ahead *exec_ahead)
{
	struct ps_reach_watch *watch = ps_reach_watch_wanted(opts) ? calloc(1, sizeof(*watch)) : NULL;

	if (!watch) {
		ps_exec_watch_ahead_cancel(exec_ahead);
		return NULL;
	}
	watch->writer = writer;
	watch->status_line = status_line;
	watch->module = opts->module->name;
	watch->copies = ps_copies_new(opts, plan, probes, on_attachment, watch_exit, watch);
	watch->reach = reach_new(opts, plan, watch);
	if (!watch->reach) {
		ps_warn("cannot check what is out of reach of %s: %s", plan->watch_only ? opts->module->name :
			plan->targets[0].path, strerror(errno));
		ps_copies_free(watch->copies);
		free(watch);
		ps_exec_watch_ahead_cancel(exec_ahead);
		return NULL;
	}
	watch->exec_watch = ps_exec_watch_ahead_take(exec_ahead, opts->btf_cache_dir);
	if (watch->exec_watch &&
	    ring_buffer__add(rb, ps_exec_watch_ring_fd(watch->exec_watch), on_exec_event, watch) != 0) {
		ps_warn("cannot read exec events: %s; programs started from now on are not checked for what is "
			"out of reach", strerror(errno));
		ps_exec_watch_stop(watch->exec_watch);
		watch->exec_watch = NULL;
	}
	ps_debug_phase("exec watch attached");
	return watch;
}

void ps_reach_watch_scan(struct ps_reach_watch *watch)
{
	if (!watch)
		return;
	ps_reach_scan_running(watch->reach);
	ps_debug_phase("looked at the running processes");
}

void ps_reach_watch_poll(struct ps_reach_watch *watch)
{
	if (watch)
		ps_reach_poll(watch->reach, monotonic_ns(), false);
}

int ps_reach_watch_timeout_ms(const struct ps_reach_watch *watch, int max_ms)
{
	int64_t next_ns = watch ? ps_reach_next_look_ns(watch->reach, monotonic_ns()) : -1;

	if (next_ns < 0)
		return max_ms;
	/* rounded up: woken before it is due, the process would wait a whole poll more */
	return next_ns / 1000000 + 1 < max_ms ? (int)(next_ns / 1000000 + 1) : max_ms;
}

void ps_reach_watch_detach(struct ps_reach_watch *watch)
{
	if (watch)
		ps_copies_detach(watch->copies);
	if (watch && watch->exec_watch)
		ps_exec_watch_detach(watch->exec_watch);
}

bool ps_reach_watch_discovers(const struct ps_reach_watch *watch)
{
	return watch && watch->copies;
}

uint64_t ps_reach_watch_sweep_gone(struct ps_reach_watch *watch)
{
	return watch ? ps_copies_sweep_gone(watch->copies) : 0;
}

uint32_t ps_reach_watch_targets(const struct ps_reach_watch *watch, bool ever)
{
	return watch ? ps_copies_targets(watch->copies, ever) : 1;
}

void ps_reach_watch_finish(struct ps_reach_watch *watch)
{
	uint64_t unchecked;

	if (!watch)
		return;
	ps_reach_poll(watch->reach, monotonic_ns(), true);
	unchecked = ps_reach_unchecked(watch->reach);
	if (watch->exec_watch)
		unchecked += ps_exec_watch_lost(watch->exec_watch);
	if (unchecked)
		ps_warn("%llu executed programs not checked for what is out of reach (gone before they could be "
			"read, or no room in the ring buffer)", (unsigned long long)unchecked);
	/* before the summary's "stopped:" line, which stays the last */
	if (ps_reach_unreachable_programs(watch->reach))
		ps_info("unreachable programs: %llu (their TLS goes where no probe is)",
			(unsigned long long)ps_reach_unreachable_programs(watch->reach));
}

uint64_t ps_reach_watch_unreachable(const struct ps_reach_watch *watch)
{
	return watch ? ps_reach_unreachable_programs(watch->reach) : 0;
}

void ps_reach_watch_free(struct ps_reach_watch *watch)
{
	if (!watch)
		return;
	ps_exec_watch_stop(watch->exec_watch);
	ps_reach_free(watch->reach);
	ps_copies_free(watch->copies);
	free(watch);
}
