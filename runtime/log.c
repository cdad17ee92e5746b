/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "log.h"

/* Set once from the command line, before anything else runs: 0, 1 (-d) or 2 (-dd). */
static int debug_level;
/* Set once when the outputs open, cleared when they close (ps_log_set_tap). */
static ps_log_tap_fn tap;
static void *tap_arg;
/* Errors and warnings said so far (ps_log_warnings_said); relaxed: a count to compare, not to order by. */
static unsigned long warnings_said;

/* Milliseconds since the process started, by the monotonic clock (for -d). */
static double ms_since_start(void)
{
	static struct timespec start;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!start.tv_sec && !start.tv_nsec)
		start = now;
	return (double)(now.tv_sec - start.tv_sec) * 1e3 + (double)(now.tv_nsec - start.tv_nsec) / 1e6;
}

void ps_log_set_debug(int level)
{
	debug_level = level;
	ms_since_start();
}

bool ps_log_debug_enabled(void)
{
	return debug_level > 0;
}

void ps_log_set_tap(ps_log_tap_fn fn, void *arg)
{
	tap = fn;
	tap_arg = arg;
}

static void log_line(const char *prefix, const char *fmt, va_list ap)
{
	char *message = NULL, *line = NULL;

	if (!tap) {
		fprintf(stderr, "plainsight: %s", prefix);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		return;
	}
	/* one formatting for both: the tap gets the line exactly as stderr does */
	if (vasprintf(&message, fmt, ap) < 0 || asprintf(&line, "plainsight: %s%s", prefix, message) < 0) {
		free(message);
		fprintf(stderr, "plainsight: %s(a message lost: out of memory)\n", prefix);
		return;
	}
	fprintf(stderr, "%s\n", line);
	tap(tap_arg, line);
	free(message);
	free(line);
}

unsigned long ps_log_warnings_said(void)
{
	return __atomic_load_n(&warnings_said, __ATOMIC_RELAXED);
}

void ps_error(const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&warnings_said, 1, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void ps_warn(const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&warnings_said, 1, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	log_line("warning: ", fmt, ap);
	va_end(ap);
}

void ps_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void ps_debug_phase(const char *what)
{
	if (debug_level)
		ps_debug("%.1f ms: %s", ms_since_start(), what);
}

void ps_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_level)
		return;
	va_start(ap, fmt);
	log_line("debug: ", fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* A thousand relocation lines per object would bury the phases: those need -dd. */
	if (!debug_level || (level == LIBBPF_DEBUG && debug_level < 2))
		return 0;
	/* libbpf starts its lines with "libbpf: " itself */
	return vfprintf(stderr, fmt, ap);
}

void ps_log_install_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
