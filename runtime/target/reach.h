/* SPDX-License-Identifier: MIT */
/*
 * What the running module cannot see: programs whose TLS goes through a stack
 * no running module probes (Go's crypto/tls, GnuTLS, NSS), through OpenSSL
 * linked into the executable, or through another copy of the library than
 * the one attached. Said once per program (executable and library), when
 * plainsight starts (every running process) and as programs are executed.
 */
#ifndef PS_REACH_H
#define PS_REACH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "exec_event.h"
#include "tls_stacks.h"

struct ps_notice {
	uint32_t pid;                    /* the first process seen running the program */
	const char *exe;                 /* the program's path, as /proc/PID/exe names it */
	const struct ps_tls_stack *stack;
	const char *library;             /* the library out of reach; NULL: inside the executable */
	const char *reason;              /* one sentence: what is not traced and why */
};

typedef void (*ps_notice_fn)(const struct ps_notice *notice, void *arg);

/*
 * Discovery: another copy of the module's own library (or OpenSSL linked
 * into an executable) that pid maps: 0 or more when it is attached (now or
 * before), a negative errno when it cannot be (then it is said out of reach).
 */
typedef int (*ps_copy_fn)(uint32_t pid, const char *path, dev_t dev, ino_t ino, void *arg);

struct ps_reach_opts {
	const char *module;              /* the running module's name */
	const char *attached;            /* the file its probes are in; NULL: none yet (gotls watching) */
	const char *override_flag;       /* the flag that names another file to attach to ("libssl") */
	uint32_t self_pid;               /* never looked at */
	bool has_uid;                    /* only processes of uid are looked at */
	uint32_t uid;
	ps_notice_fn notify;
	ps_copy_fn attach_copy;          /* NULL: no discovery (--libssl given, -p) */
	void *arg;
};

struct ps_reach;

/* NULL and errno set when out of memory or the attached file cannot be stat'ed. */
struct ps_reach *ps_reach_new(const struct ps_reach_opts *opts);
void ps_reach_free(struct ps_reach *reach);

/* Looks at every process running now. */
void ps_reach_scan_running(struct ps_reach *reach);

/*
 * A process has just executed a program: the program is read now (the
 * first time), the process looked at once the dynamic loader has mapped its
 * libraries (ps_reach_poll).
 */
void ps_reach_exec(struct ps_reach *reach, const struct ps_exec_event *event, uint64_t now_ns);

/* The process's dynamic loader has just mapped libraries: it is looked at now. */
void ps_reach_libraries_mapped(struct ps_reach *reach, uint32_t pid, uint32_t uid);

/* Looks at the processes whose wait is over (all of them, for the last time, with flush). */
void ps_reach_poll(struct ps_reach *reach, uint64_t now_ns, bool flush);

/* Nanoseconds until the next process is to be looked at; -1: none waits. */
int64_t ps_reach_next_look_ns(const struct ps_reach *reach, uint64_t now_ns);

/* Programs with something out of reach so far. */
uint64_t ps_reach_unreachable_programs(const struct ps_reach *reach);

/* Processes gone, their program with them, before it could be read. */
uint64_t ps_reach_unchecked(const struct ps_reach *reach);

#endif
