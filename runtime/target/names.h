/* SPDX-License-Identifier: MIT */
/* Lists of names in messages: the one way plainsight joins them. */
#ifndef PS_NAMES_H
#define PS_NAMES_H

#include <stddef.h>

/*
 * names[0 .. n) in one string, each inside quote ("" for none), separated by
 * separator except the last two, by last_separator: ("", ", ", " and ") gives
 * "a, b and c", ("'", " or ", " or ") gives "'a' or 'b'". The caller frees
 * it; NULL when out of memory. Nothing is cut.
 */
char *ps_names_join(const char *const *names, size_t n, const char *quote, const char *separator,
		    const char *last_separator);

#endif
