/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: an ld.so cache (runtime/target/ldcache.c) of any bytes, in
 * each layout it reads. The input is the cache file, written to a memfd
 * the reader opens by path; a soname found must come out NUL-terminated
 * within the buffer given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ldcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sonames[] = { "libssl.so.3", "libc.so.6", "libgnutls.so.30" };
	static int fd = -1;
	static char path[64];
	char out[64];

	if (fd < 0) {
		fd = memfd_create("ldcache_fuzz", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]); i++)
		if (ps_ldcache_resolve_in(path, sonames[i], out, sizeof(out)) == 0 && !memchr(out, '\0', sizeof(out)))
			abort();
	return 0;
}
