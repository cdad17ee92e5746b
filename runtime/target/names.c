/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include "names.h"

char *ps_names_join(const char *const *names, size_t n, const char *quote, const char *separator,
		    const char *last_separator)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s%s%s", i == 0 ? "" : i + 1 == n ? last_separator : separator, quote, names[i], quote);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
