/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include "dl_symbols.h"

const char *ps_dl_symbols(void *handle, const struct ps_dl_symbol *syms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*syms[i].slot = dlsym(handle, syms[i].name);
		if (!*syms[i].slot)
			return syms[i].name;
	}
	return NULL;
}
