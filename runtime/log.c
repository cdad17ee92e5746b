/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "log.h"

/* Set once from the command line, before anything else runs. */
static bool debug_enabled;

void ps_log_set_debug(bool debug)
{
	debug_enabled = debug;
}

bool ps_log_debug_enabled(void)
{
	return debug_enabled;
}

static void log_line(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "plainsight: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ps_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void ps_warn(const char *fmt, ...)
{
	va_list ap;

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

void ps_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_enabled)
		return;
	va_start(ap, fmt);
	log_line("debug: ", fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!debug_enabled)
		return 0;
	/* libbpf starts its lines with "libbpf: " itself */
	return vfprintf(stderr, fmt, ap);
}

void ps_log_install_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
