/* SPDX-License-Identifier: MIT */
/*
 * What start-up learns from a library file (its version, what the accessors
 * showed of the chosen layout, where the hooks go), as bytes for the cache
 * (verdict_cache.c), and back. Decoding trusts nothing: any bytes either
 * decode whole, every count and length within the file, or are refused.
 */
#ifndef PS_VERDICT_FORMAT_H
#define PS_VERDICT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PS_VERDICTS_MAGIC "PSVERD1\n"

/* A file the verdicts were read from, as stat(2) saw it then. */
struct ps_verdict_file {
	char *path;
	uint64_t dev, ino, size, mtime_ns;
};

struct ps_verdicts {
	uint64_t build;                 /* digest of plainsight's build id: its specs, tables and code */
	uint64_t options;               /* digest of the options that steer the verdicts */
	struct ps_verdict_file *files;  /* every file read for them, the target first */
	uint32_t n_files;

	bool has_version;
	int32_t version_rule;           /* which of the target's rules matched; -1: no banner found */
	char *version;
	char *version_from;

	bool has_accessors;             /* what the accessors showed of layout layout_index */
	uint32_t layout_index;
	uint32_t n_offsets;
	int32_t *offsets;               /* as the accessors corrected them */
	uint8_t *shown;                 /* 1: an accessor confirmed or gave it */
	uint32_t checked, mismatches, first_mismatch;
	char *message;                  /* the first mismatch; "" when none */

	bool has_sites;                 /* the file offset of each hook of hook set hookset */
	uint32_t hookset;
	uint32_t n_sites;
	int64_t *sites;                 /* < 0: not attached (absent, or its `unless` holds) */
	uint32_t n_missing;             /* optional hooks absent */
};

/* The bytes of v (magic, digest, size, body) in a malloc'ed *out. */
int ps_verdicts_encode(const struct ps_verdicts *v, uint8_t **out, size_t *size);

/*
 * Fills v (zeroed first) from data[0..size): 0, or -EBADMSG when the bytes
 * are not a whole entry of this format (wrong magic, digest, a count or
 * length past the end, bytes left over), -ENOMEM. v is then empty.
 */
int ps_verdicts_decode(const uint8_t *data, size_t size, struct ps_verdicts *v);

void ps_verdicts_free(struct ps_verdicts *v);

#endif
