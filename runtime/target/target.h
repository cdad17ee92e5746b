/* SPDX-License-Identifier: MIT */
/* Finding what a module attaches to: the binary, its version, its layout. */
#ifndef PS_TARGET_H
#define PS_TARGET_H

#include <limits.h>
#include "capstone_lib.h"
#include "cli.h"
#include "elf_file.h"
#include "gopclntab.h"
#include "module.h"
#include "trust.h"
#include "version.h"

struct ps_resolved_target {
	char path[PATH_MAX];        /* the binary the probes go into */
	struct ps_elf *elf;         /* path, opened once: every step reads it through this */
	struct ps_disasm disasm;    /* its decoder, shared by every step that disassembles (ps_target_disasm) */
	bool disasm_tried;
	struct ps_go_pclntab go;    /* a Go target's function table (is_go) */
	bool is_go;
	char version[64];           /* "" when unknown */
	const char *product;        /* what the matching banner names (a spec string); NULL: unnamed */
	char version_from[PATH_MAX]; /* the file the version was read from */
	bool version_forced;        /* the version was given on the command line */
};

struct ps_verdict_cache;

struct ps_plan {
	struct ps_resolved_target *targets;   /* one per module target */
	uint32_t n_targets;
	const struct ps_layout_desc *layout;  /* NULL: no offsets */
	enum ps_layout_match layout_match;
	uint32_t hookset;
	int32_t *offsets;                     /* the layout's, as the accessors corrected them; NULL: no layout */
	struct ps_trust trust;                /* what the offsets rest on, and what is refused */
	char **warnings;                      /* shown once the probes are attached */
	size_t n_warnings;
	/*
	 * No file yet (a Go program's module with neither -e nor -p): the
	 * probes are loaded, configured for the newest layout, and attached to
	 * nothing; discovery gives each Go program found a plan of its own
	 * (ps_plan_make_at). targets[0].path is "".
	 */
	bool watch_only;
	struct ps_verdict_cache *verdicts;    /* what earlier starts read from these files (verdict_cache.h); NULL: none */
	struct ps_capstone_warm *capstone_warm; /* capstone loading ahead, when the verdicts must be read */
};

/*
 * Resolves every target of the module (flag overrides, the ld.so cache),
 * reads the first target's version and chooses the layout and hook set.
 * Reports the one line a failure needs and returns a negative errno. A Go
 * program's module given no program (-e) nor process (-p) gets a
 * watch_only plan.
 */
int ps_plan_make(const struct ps_options *opts, struct ps_plan *plan);

/* The same for the copy of the first target at path (another process's libssl, found by discovery). */
int ps_plan_make_at(const struct ps_options *opts, const char *path, struct ps_plan *plan);
/*
 * The same for a copy of several targets (NSS's libssl3, freebl and NSPR
 * from one process): paths[i] is target i's file; NULL, or i >= n_paths,
 * resolves it as ps_plan_make does.
 */
int ps_plan_make_files(const struct ps_options *opts, const char *const *paths, uint32_t n_paths,
		       struct ps_plan *plan);

/* "libssl.so.3" and "/x/libssl.so.1.1" are the same library: the name up to ".so." (or ".so") matches. */
bool ps_target_same_library(const char *wanted, const char *path);
void ps_plan_free(struct ps_plan *plan);

/*
 * The target's decoder, opened at the first use; NULL when capstone cannot be
 * loaded (said with -d). Accessor checks and hook-site searches share it.
 */
struct ps_disasm *ps_target_disasm(struct ps_resolved_target *target);

/*
 * Closes the targets' files (their ELFs) and decoders, and waits for capstone's
 * loading ahead: start-up steps read
 * them, the capture does not, and a mapped 100 MB executable or capstone's
 * tables would stay resident.
 */
void ps_plan_close_files(struct ps_plan *plan);

/*
 * A plan's warnings (no version found, nearest layout, ...) wait until the
 * plan has worked: a run that fails says one line, the failure.
 */
void ps_plan_print_warnings(const struct ps_plan *plan);

#endif
