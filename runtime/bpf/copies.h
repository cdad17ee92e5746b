/* SPDX-License-Identifier: MIT */
/*
 * Every copy of the module's target on this machine, not only the one the
 * ld.so cache names: another libssl.so.3 loaded through LD_LIBRARY_PATH, the
 * one inside a container's root, OpenSSL linked into an executable
 * (Node.js). Discovery (runtime/target/reach.c) finds each as a process
 * maps it; this file attaches to it once per file (device and inode), with
 * that copy's own version and layout (its own plan).
 */
#ifndef PS_COPIES_H
#define PS_COPIES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli.h"
#include "probes.h"
#include "target.h"

/* One new attachment, as said on stderr and in the json output. */
struct ps_attachment {
	uint32_t pid;               /* the process it was found in */
	const char *path;           /* the file as that process names it */
	const char *opened;         /* the name the probes were attached through (/proc/PID/root/...) */
	const char *product;        /* NULL: unnamed */
	const char *version;        /* "": unknown */
	const char *layout;         /* "none": no offsets */
	uint32_t n_uprobes;
	const char *note;           /* what the attached line says of the probes (attached_note.h); "": nothing */
	uint64_t attach_ns;         /* how long attaching took (reading the file, loading, attaching) */
	const char **also;          /* the other files of a copy of several targets (NSS's freebl, NSPR), as named there */
	size_t n_also;
	bool released;              /* not a new attachment: the last process mapping the copy is gone */
};

typedef void (*ps_attachment_fn)(const struct ps_attachment *attachment, void *arg);
/* Asks to hear when process pid exits (ps_copies_process_exit); false: that cannot be. */
typedef bool (*ps_exit_watch_fn)(uint32_t pid, void *arg);

struct ps_copies;

/*
 * Copies of primary_plan's targets, for a module whose targets are
 * libraries (or a program linking one in) with no path given for any on the
 * command line. A module of several targets (NSS: libssl3, freebl,
 * libnspr4) has as a copy the files one process maps for them, each file
 * probed once: a copy's file the primary or an earlier copy probes already
 * keeps those probes. A watch_only plan (a Go program's module given
 * neither -e nor -p) has no file of its own: every Go program found is a
 * copy. NULL when discovery does not apply (errno 0) or out of memory.
 */
struct ps_copies *ps_copies_new(const struct ps_options *opts, const struct ps_plan *primary_plan,
				const struct ps_probes *primary, ps_attachment_fn announce, ps_exit_watch_fn watch_exit,
				void *arg);

/*
 * The file process pid maps as path (from our root, as /proc/PID/maps
 * says it), dev and ino: attached now (1), before or it is the primary's
 * (0), or it cannot be (a negative errno; said once, then remembered). For
 * a module of several targets, path is one library of the stack (NSS's
 * libnss3 or libssl3) and the copy is every target's file the process maps
 * now, or else the one beside path, which it will map (freebl, dlopened
 * when NSS starts), or else the primary's.
 */
int ps_copies_attach(struct ps_copies *copies, uint32_t pid, const char *path, dev_t dev, ino_t ino);

/*
 * Process pid has exited: a copy it was the last known user of is looked
 * for in every process's maps once (a child forked without exec maps it
 * too, unannounced), and released when none maps it: one more line.
 */
void ps_copies_process_exit(struct ps_copies *copies, uint32_t pid);

/* Files attached now (ever: over the run, those released since too), the primary's included. */
uint32_t ps_copies_targets(const struct ps_copies *copies, bool ever);

/* No more events from any copy (the maps stay). */
void ps_copies_detach(struct ps_copies *copies);

/*
 * ps_probes_sweep_gone over the copies' own objects (those sharing the
 * primary's maps find nothing), plus the calls left in the objects of the
 * copies released since the last call (ps_probes_release_leftovers).
 */
uint64_t ps_copies_sweep_gone(struct ps_copies *copies);
void ps_copies_free(struct ps_copies *copies);

#endif
