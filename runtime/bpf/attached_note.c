/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include "attached_note.h"

static void list_hooks(FILE *f, const struct ps_options *opts, const struct ps_probes *probes)
{
	const struct ps_hookset_desc *hookset = &opts->module->hooksets[probes->hookset];
	const char *sep = "";

	for (uint32_t i = 0; i < hookset->n_hooks && probes->sites; i++) {
		if (probes->sites[i] < 0)
			continue;
		fprintf(f, "%s%s", sep, hookset->hooks[i].symbol);
		sep = ", ";
	}
}

char *ps_attached_note(const struct ps_options *opts, const struct ps_probes *probes)
{
	char *note = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&note, &len);

	if (!f)
		return NULL;
	if (probes->n_missing)
		fputs(" (some optional symbols absent)", f);
	if (opts->from_wire) {
		fputs(" (--from wire: secrets hooks only, none on reads and writes: ", f);
		list_hooks(f, opts, probes);
		fputc(')', f);
	}
	if (fclose(f) != 0) {
		free(note);
		return NULL;
	}
	return note;
}
