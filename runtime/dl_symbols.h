/* SPDX-License-Identifier: MIT */
/* Filling a table of function pointers from a library opened with dlopen. */
#ifndef PS_DL_SYMBOLS_H
#define PS_DL_SYMBOLS_H

#include <stddef.h>

struct ps_dl_symbol {
	void **slot;
	const char *name;
};

/* Fills every slot from handle: NULL, or the name of the first symbol it lacks. */
const char *ps_dl_symbols(void *handle, const struct ps_dl_symbol *syms, size_t n);

#endif
