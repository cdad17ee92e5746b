/* SPDX-License-Identifier: MIT */
/* Messages to the user: one line each, on stderr, prefixed "plainsight: ". */
#ifndef PS_LOG_H
#define PS_LOG_H

#include <stdbool.h>

void ps_log_set_debug(int level);
bool ps_log_debug_enabled(void);

/* An error the user must act on. */
void ps_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Something degraded but capture goes on. */
void ps_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Progress worth one line (attached, summary). */
void ps_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -d. */
void ps_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * How many errors and warnings were said so far: a step whose result is kept
 * for later runs (verdict_cache.h) keeps it only when it said none, since a
 * run that reuses it would not say them again.
 */
unsigned long ps_log_warnings_said(void);

/* Only with -d: time since ps_log_set_debug (the start) and what just ended. */
void ps_debug_phase(const char *what);

/*
 * Each message line also to fn (--logaddr, --ecaptureq: stream.h), as
 * written to stderr, without its newline; NULL: stderr alone. fn may be
 * called from any thread that logs.
 */
typedef void (*ps_log_tap_fn)(void *arg, const char *line);
void ps_log_set_tap(ps_log_tap_fn fn, void *arg);

/* Routes libbpf's messages to stderr: warnings and info with -d, its debug lines with -dd. */
void ps_log_install_libbpf(void);

#endif
