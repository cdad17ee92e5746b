/* SPDX-License-Identifier: MIT */
/*
 * What an `attached` line says about the probes, alike for the first copy
 * of a library and every copy discovery attaches later: optional symbols
 * absent, and in wire mode the hooks attached by name, so that the line
 * itself shows none is on a read or a write.
 */
#ifndef PS_ATTACHED_NOTE_H
#define PS_ATTACHED_NOTE_H

#include "cli.h"
#include "probes.h"

/* "", or the note with its leading space; the caller frees it. NULL: out of memory. */
char *ps_attached_note(const struct ps_options *opts, const struct ps_probes *probes);

#endif
