/* A writer on a path, opened the way plainsight opens its outputs: for the unit tests. */
#ifndef PS_TEST_WRITER_H
#define PS_TEST_WRITER_H

#include "outfile.h"
#include "output.h"

/* path NULL: stdout. NULL when the file cannot be opened. */
static inline struct ps_writer *open_writer(const char *path, const struct ps_output_opts *opts)
{
	struct ps_outfile file;
	struct ps_writer *w;

	if (ps_outfile_open(&file, path) != 0)
		return NULL;
	w = ps_outfile_begin(&file) == 0 ? ps_writer_open(&file, opts) : NULL;
	if (!w)
		ps_outfile_discard(&file);
	return w;
}

#endif
