/* SPDX-License-Identifier: MIT */
/* Library versions: reading them out of binaries and choosing a layout. */
#ifndef PS_VERSION_H
#define PS_VERSION_H

#include <stddef.h>
#include "elf_file.h"
#include "module.h"

/*
 * What follows the release in a version ("+quic" in "1.1.1v+quic", "-dev" in
 * "3.2.0-dev"): a patched or unreleased build, NULL for a plain release such
 * as "3.0.19" or "1.0.2za". Versions order by common/version_order.h.
 */
const char *ps_version_suffix(const char *version);

/*
 * Runs rule->regex over the NUL-separated strings of rule->section in elf
 * (the plan's opened target), then in its DT_NEEDED libraries starting with
 * rule->needed_prefix. On success writes group 1 to version, the file it was
 * found in to found_in (may be NULL), and returns 0; -ENOENT when no string
 * matched, or another negative errno (file unreadable, bad regex).
 */
int ps_version_detect(struct ps_elf *elf, const struct ps_version_rule *rule, char *version,
		      size_t version_size, char *found_in, size_t found_in_size);

/* Matches a forced version ("openssl 3.0.13") against the regex, case-insensitively. */
int ps_version_parse_forced(const char *forced, const struct ps_version_rule *rule, char *version,
			    size_t version_size);

/* A target's version rules in order: `version`, then `more_versions`; NULL past the last. */
const struct ps_version_rule *ps_target_version_rule(const struct ps_target_desc *target, uint32_t index);

/*
 * ps_version_detect with each of the target's rules in turn: the first rule
 * that finds its banner gives the version and, in *matched, the product it
 * names. -ENOENT when none does.
 */
int ps_target_version_detect(struct ps_elf *elf, const struct ps_target_desc *target, char *version,
			     size_t version_size, char *found_in, size_t found_in_size,
			     const struct ps_version_rule **matched);

/* ps_version_parse_forced with each rule in turn; -EINVAL when none reads it. */
int ps_target_version_parse_forced(const char *forced, const struct ps_target_desc *target, char *version,
				   size_t version_size, const struct ps_version_rule **matched);

enum ps_layout_match {
	PS_LAYOUT_EXACT,   /* the version lies in the layout's range */
	PS_LAYOUT_NEAREST, /* no range holds it: the nearest lower layout */
	PS_LAYOUT_NONE,    /* below every layout: run without offsets */
};

/*
 * Chooses the layout for product (NULL: unnamed) and version; sets *layout
 * (NULL for PS_LAYOUT_NONE). Only layouts of that product, or of none, apply;
 * one of the product comes before one of none.
 */
enum ps_layout_match ps_layout_select(const struct ps_module_desc *module, const char *product,
				      const char *version, const struct ps_layout_desc **layout);

#endif
