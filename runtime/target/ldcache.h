/* SPDX-License-Identifier: MIT */
/* Finding a shared library by soname the way the dynamic loader does. */
#ifndef PS_LDCACHE_H
#define PS_LDCACHE_H

#include <stddef.h>

/*
 * Resolves a soname ("libssl.so.3") through /etc/ld.so.cache (x86-64 entries
 * only), then the default directories. A name containing '/' is a path and is
 * returned as is if it exists. Writes into out; 0 on success, -ENOENT when
 * nothing is found, -ENAMETOOLONG when the path does not fit in out. Like
 * ld.so, a missing or damaged system cache falls back to the directories.
 */
int ps_ldcache_resolve(const char *soname, char *out, size_t out_size);

/*
 * The same with another cache file, for tests; a damaged cache file is
 * reported (-EBADMSG) instead of being passed over.
 */
int ps_ldcache_resolve_in(const char *cache_path, const char *soname, char *out, size_t out_size);

/*
 * Finds a DT_NEEDED name of the library at `from`: first the directory of
 * `from` (for libraries shipped together, e.g. in a debootstrap'd root or
 * beside a test build), then as ps_ldcache_resolve.
 */
int ps_ldcache_resolve_needed(const char *from, const char *needed, char *out, size_t out_size);

#endif
